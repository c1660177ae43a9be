#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The bats helper library lib/bats/piperun (issue 19, piperun-bats(7)):
# piperun_run keeps the results and sets $status like `run`; each
# assertion passes on what is true and fails, in bats-assert's style,
# with expected / actual and the job's stderr; and a failing assertion
# in a real suite shows the same.
load helper
bats_load_library piperun

setup() {
	D="$BATS_TEST_TMPDIR"
	S=$(spec <<'EOF'
{"name": "lib", "jobs": [
 {"name": "hello", "run": ["echo", "Hello from the child!"]},
 {"name": "bad", "run": ["sh", "-c", "echo out; echo 'it went wrong' >&2; exit 3"]},
 {"name": "bin", "run": ["printf", "\\001\\000\\377\\n"]},
 {"name": "r", "run": ["sh", "-c", "printf 'copy %s' {#}"], "repeat": 2},
 {"name": "each", "run": ["echo", "{}"], "foreach": ["a b"]}
]}
EOF
)
}

@test "piperun_run: \$status, \$output (stderr), and the results kept in \$PIPERUN_RESULTS" {
	piperun_run "$S"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$(jq -r .name "$PIPERUN_RESULTS")" = lib ]
	first=$PIPERUN_RESULTS
	piperun_run "$S" -j 1
	[ "$PIPERUN_RESULTS" != "$first" ]
	[ -s "$first" ]
	piperun_run "$D/missing.json"
	[ "$status" -eq 2 ]
	[[ "$output" == *"missing.json"* ]]
	[ "${#lines[@]}" -ge 1 ]
}

@test "the assertions pass on what is true" {
	piperun_run "$S"
	assert_job_ok hello
	assert_job_status bad failed
	assert_job_returncode bad 3
	assert_job_returncode hello 0
	assert_job_stdout hello $'Hello from the child!\n'
	assert_job_stdout 'r#2' 'copy 2'
	assert_job_stdout 'each[a b]' $'a b\n'
	assert_job_stdout_matches hello '^Hello .* child!$'
	assert_job_stdout_matches bin $'\001'
	refute_job nope
	refute_job 'r#3'
	ok=$(spec ok.json <<<'{"jobs": [{"name": "a", "run": ["true"]}]}')
	piperun_run "$ok"
	assert_all_ok
}

@test "assert_job_stdout compares exact bytes: a NUL, a trailing newline" {
	piperun_run "$S"
	# bash cannot hold a NUL: bin's stdout never equals a string
	run assert_job_stdout bin $'\001\377\n'
	[ "$status" -eq 1 ]
	run assert_job_stdout hello 'Hello from the child!'
	[ "$status" -eq 1 ]
	[[ "$output" == *"-- job stdout differs (in its trailing newlines) --"* ]]
	[[ "$output" == *'expected : Hello from the child!'$'\n'* ]]
	[[ "$output" == *'actual   : Hello from the child!\n'$'\n'* ]]
}

@test "a failing assertion says expected and actual, and shows the job's stderr" {
	piperun_run "$S"
	run assert_job_stdout bad $'all fine\n'
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- job stdout differs --' ]
	[ "${lines[1]}" = 'job      : bad' ]
	[ "${lines[2]}" = 'expected : all fine' ]
	[ "${lines[3]}" = 'actual   : out' ]
	[ "${lines[4]}" = 'stderr   : it went wrong' ]
	[ "${lines[5]}" = '--' ]
	run assert_job_ok bad
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- job status differs --' ]
	[[ "$output" == *'expected   : ok'* ]]
	[[ "$output" == *'actual     : failed'* ]]
	[[ "$output" == *'returncode : 3'* ]]
	[[ "$output" == *'stderr     : it went wrong'* ]]
	run assert_job_status hello failed
	[ "$status" -eq 1 ]
	[[ "$output" == *'actual     : ok'* ]]
	run assert_job_returncode bad 0
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- job returncode differs --' ]
	[[ "$output" == *'expected : 0'* ]]
	[[ "$output" == *'actual   : 3'* ]]
	[[ "$output" == *'stderr   : it went wrong'* ]]
	run assert_job_stdout_matches hello '^Bye'
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- job stdout does not match --' ]
	[[ "$output" == *'regexp (1 lines):'* || "$output" == *'regexp : ^Bye'* ]]
	run assert_all_ok
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- 1 job(s) not ok --' ]
	[[ "$output" == *'bad        : failed'* ]]
	[[ "$output" == *'bad stderr : it went wrong'* ]]
	run refute_job hello
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- job exists, but it should not --' ]
}

@test "assert_job_stderr compares exact bytes; assert_job_field a record's field as show prints it" {
	piperun_run "$S"
	assert_job_stderr bad $'it went wrong\n'
	assert_job_stderr hello ''
	run assert_job_stderr bad 'it went wrong'
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- job stderr differs (in its trailing newlines) --' ]
	[[ "$output" == *'actual   : it went wrong\n'* ]]
	run assert_job_stderr bad $'fine\n'
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- job stderr differs --' ]
	[ "${lines[2]}" = 'expected : fine' ]
	[ "${lines[3]}" = 'actual   : it went wrong' ]
	# a number, a string, a boolean, null, an array, a path into them
	assert_job_field bad returncode 3
	assert_job_field bad status failed
	assert_job_field bad timed_out false
	assert_job_field hello signal null
	assert_job_field 'r#2' stdout 'copy 2'
	assert_job_field bin stdout_encoding base64
	assert_job_field hello error null
	assert_job_field hello stages.0.argv '["echo","Hello from the child!"]'
	p=$(spec p.json <<<'{"jobs": [{"name": "p", "pipeline": [["echo", "x"], ["sh", "-c", "cat; exit 4"]]}]}')
	piperun_run "$p"
	assert_job_field p stages.1.returncode 4
	assert_job_field p stages.0.argv '["echo","x"]'
	run assert_job_field p stages.1.returncode 0
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- job field differs --' ]
	[[ "$output" == *'field    : stages.1.returncode'* ]]
	[[ "$output" == *'expected : 0'* ]]
	[[ "$output" == *'actual   : 4'* ]]
	[[ "$output" == *'status   : failed'* ]]
	run assert_job_field p no_such_field x
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- job has no such field --' ]
	run assert_job_field p error ''
	[ "$status" -eq 1 ]
	[[ "$output" == *'actual   : null'* ]]
	# null is null, not the string "null" (a job's name here)
	n=$(spec n.json <<<'{"jobs": [{"name": "null", "run": ["true"]}]}')
	piperun_run "$n"
	assert_job_field null signal null
	run assert_job_field null name null
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- job field differs (the string "null", not null) --' ]
	run assert_job_field nope status ok
	[ "${lines[0]}" = '-- no such job --' ]
}

@test "a multi-line value switches the message to the \"KEY (N lines):\" form" {
	m=$(spec m.json <<<'{"jobs": [{"name": "m", "run": ["sh", "-c", "printf \"one\\ntwo\\n\"; printf \"e1\\ne2\\n\" >&2"]}]}')
	piperun_run "$m"
	run assert_job_stdout m $'one\nthree\n'
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- job stdout differs --' ]
	[[ "$output" == *$'expected (2 lines):\n  one\n  three\n'* ]]
	[[ "$output" == *$'actual (2 lines):\n  one\n  two\n'* ]]
	[[ "$output" == *$'stderr (2 lines):\n  e1\n  e2\n'* ]]
}

@test "an assertion on a job that does not exist, or before any run, fails and says so" {
	piperun_run "$S"
	run assert_job_ok nope
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- no such job --' ]
	[[ "$output" == *'job     : nope'* ]]
	[[ "$output" == *'jobs    : hello bad bin r#1 r#2 each[a b]'* ]]
	run assert_job_stdout nope x
	[ "$status" -eq 1 ]
	unset PIPERUN_RESULTS
	run assert_all_ok
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- no piperun results --' ]
}

@test "in a suite: a failing assertion fails its test with expected vs actual and the job's stderr" {
	# (TEST, not the keyword: bats would take it for a test of this file)
	sed 's/^TEST/@test/' > "$D/user.bats" <<EOF
bats_load_library piperun
TEST "greets" {
	piperun_run "$S"
	assert_job_ok hello
	assert_job_stdout bad \$'fine\\n'
}
EOF
	# a bats of its own, not one that believes it is inside this test
	# (PATH without the libexec directory bats put first)
	path=$(tr : '\n' <<<"$PATH" | grep -v 'libexec/bats' | paste -sd :)
	run env -i PATH="$path" HOME="$HOME" PIPERUN="$PIPERUN" BATS_LIB_PATH="$BATS_LIB_PATH" \
		bats --tap "$D/user.bats" 3>&-
	[ "$status" -eq 1 ]
	[[ "$output" == *"not ok 1 greets"* ]] || { echo "$output"; false; }
	[[ "$output" == *"-- job stdout differs --"* ]]
	[[ "$output" == *"expected : fine"* ]]
	[[ "$output" == *"actual   : out"* ]]
	[[ "$output" == *"stderr   : it went wrong"* ]]
}

# red1 finding 9: odd outputs and names (each test failed on the library
# before)
odd_spec() {
	spec odd.json <<'EOF'
{"jobs": [
 {"name": "nl3", "run": ["printf", "hi\n\n\n"]},
 {"name": "nul", "run": ["printf", "a\\0b"]},
 {"name": "f", "foreach": ["new\nline", "a.b", "(x|y)"], "run": ["sh", "-c", "echo \"err $1\" >&2; exit 3", "sh", "{}"]},
 {"name": "filed", "run": ["echo", "to a file"], "stdout": {"file": "/dev/null"}},
 {"name": "empty", "run": ["true"]}
]}
EOF
}

@test "assert_job_stdout: only trailing newlines differ (several): said, and shown as \\n" {
	piperun_run "$(odd_spec)"
	run assert_job_stdout nl3 'hi'
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- job stdout differs (in its trailing newlines) --' ]
	[[ "$output" == *'expected : hi'$'\n'* ]]
	[[ "$output" == *'actual   : hi\n\n\n'$'\n'* ]]
	run assert_job_stdout nl3 $'hi\n\n\n\n'
	[ "${lines[0]}" = '-- job stdout differs (in its trailing newlines) --' ]
	assert_job_stdout nl3 $'hi\n\n\n'
}

@test "assert_job_stdout: a NUL byte is said as such, never as a trailing-newline difference" {
	piperun_run "$(odd_spec)"
	run assert_job_stdout nul 'ab'
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- job stdout differs (it holds 1 NUL byte(s), which no shell string can) --' ]
	[[ "$output" == *'actual   : a\0b'* ]]
	[[ "$output" != *"trailing newlines"* ]]
}

@test "assert_all_ok: a name with a newline is one job, looked up exactly; nothing leaks to stderr" {
	piperun_run "$(odd_spec)"
	run --separate-stderr assert_all_ok
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	echo "$stderr"
	[ "${stderr%%$'\n'*}" = '-- 3 job(s) not ok --' ]
	[[ "$stderr" == *'f[new\nline] (1 lines):'$'\n''  failed'* ]]
	[[ "$stderr" == *'f[new\nline] stderr (2 lines):'$'\n''  err new'$'\n''  line'* ]]
	[[ "$stderr" == *'f[(x|y)] stderr (1 lines):'$'\n''  err (x|y)'* ]]
	[[ "$stderr" != *"no job named"* ]]
}

@test "refute_job and the assertions on results that cannot be read fail, saying so" {
	bad=$(spec bad.json <<<'{"jobs": [{"name": "x", "run": 1}]}')
	piperun_run "$bad"
	[ "$status" -eq 2 ]
	for a in "refute_job x" "assert_job_ok x" "assert_all_ok"; do
		# shellcheck disable=SC2086
		run $a
		echo "$a: $output"
		[ "$status" -eq 1 ]
		[ "${lines[0]}" = '-- piperun results cannot be read --' ]
		[[ "$output" == *"empty: no results"* ]]
	done
	piperun_run "$(odd_spec)"
	refute_job nope
}

@test "assert_job_stdout NAME '': a stdout not captured (null) is not empty" {
	piperun_run "$(odd_spec)"
	run assert_job_stdout filed ''
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '-- job stdout not captured (null) --' ]
	[[ "$output" == *'actual   : (null: not captured)'* ]]
	assert_job_stdout empty ''
	assert_job_stderr filed ''
	assert_job_field filed stdout_bytes null
}

@test "piperun_run: an -o of the test's own replaces -o json (run takes one -o)" {
	piperun_run "$PIPELINES/hello.json" -o jsonl
	assert_success
	assert_all_ok
	[ "$(head -c 1 "$PIPERUN_RESULTS")" = "{" ]
	[ "$(wc -l < "$PIPERUN_RESULTS")" -ge 2 ]
	piperun_run "$PIPELINES/hello.json"
	assert_success
	[ "$(jq -r .piperun "$PIPERUN_RESULTS")" != null ]
}

@test "the example suite with the library is shorter than the same five tests with jq" {
	code() { grep -cvE '^[[:space:]]*(#|$)' "$1"; }
	lib=$(code "$TESTS_DIR/../examples/bats/seed-demo.bats")
	jq=$(code "$TESTS_DIR/../examples/bats/seed-demo-jq.bats")
	[ "$(grep -c '^@test' "$TESTS_DIR/../examples/bats/seed-demo.bats")" = 5 ]
	[ "$(grep -c '^@test' "$TESTS_DIR/../examples/bats/seed-demo-jq.bats")" = 5 ]
	echo "code lines: library $lib, jq $jq" >&3
	[ "$lib" -lt "$jq" ]
}
