#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The command line: dispatch, help, usage errors and their exit status.
load helper

@test "--version prints the version and the licence" {
	pr --version
	assert_success
	[[ ${lines[0]} =~ ^piperun\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	assert_line 'License GPLv3+: GNU GPL version 3 or later <https://gnu.org/licenses/gpl.html>.'
}

@test "the licence: COPYING is the GPL version 3, every source file says GPL-3.0-or-later" {
	top=$TESTS_DIR/..
	head -3 "$top/COPYING" | grep -q 'GNU GENERAL PUBLIC LICENSE'
	grep -q 'Version 3, 29 June 2007' "$top/COPYING"
	missing=$(cd "$top" && for f in src/*.[ch] tests/unit/*.[ch] tests/helpers/*.c tests/plugins/*.c \
			fuzz/*.[ch] examples/*.c tests/*.bats tests/helper.bash scripts/* bench/*.py \
			man/piperun.1 man/piperun-spec.5 Makefile.am configure.ac .ci/run; do
		head -3 "$f" | grep -q 'SPDX-License-Identifier: GPL-3.0-or-later' || echo "$f"
	done)
	[ -z "$missing" ] || { echo "no SPDX line: $missing"; return 1; }
}

@test "--help lists the commands on stdout" {
	pr --help
	assert_success
	assert_output --partial 'run'
	assert_output --partial 'validate'
	assert_output --partial 'plan'
}

@test "no command: usage on stderr, exit 2" {
	pr
	assert_failure 2
	assert_output ''
	[[ $stderr == *"usage: piperun"* ]]
}

@test "unknown command: usage on stderr, exit 2" {
	pr frobnicate
	assert_failure 2
	[[ $stderr == *"unknown command 'frobnicate'"* ]]
	[[ $stderr == *"usage: piperun"* ]]
}

@test "unknown option of a command: usage on stderr, exit 2" {
	pr run --bogus x.json
	assert_failure 2
	[[ $stderr == *"unknown option '--bogus'"* ]]
	[[ $stderr == *"usage: piperun run"* ]]
}

@test "an option without its value is a usage error" {
	pr run x.json --output
	assert_failure 2
	[[ $stderr == *"needs a value"* ]]
}

@test "bad option values are usage errors naming the option" {
	pr run -j many x.json
	assert_failure 2
	[[ $stderr == *"-j/--max-parallel"* ]]
	pr run --output xml x.json
	assert_failure 2
	[[ $stderr == *"--output"* ]]
	pr run --mode quantum x.json
	assert_failure 2
	[[ $stderr == *"--mode"* ]]
}

@test "a number outside an option's range names the range (run, pool, exec)" {
	pr run -j 99999999999 x.json
	assert_failure 2
	[[ $stderr == *'-j/--max-parallel: expected an integer from 0 to 1000000 (0: as many as the limits allow), got "99999999999"'* ]]
	pr run --timeout 2000000000 x.json
	assert_failure 2
	[[ $stderr == *'--timeout: expected a duration of at most 1000000000s (about 31 years), got "2000000000"'* ]]
	pr pool --task gcd --timeout 20000000m
	assert_failure 2
	[[ $stderr == *'--timeout: expected a duration of at most 1000000000s (about 31 years)'* ]]
	pr pool --task gcd -j 5000
	assert_failure 2
	[[ $stderr == *'-j/--workers: expected an integer from 1 to 4096, got "5000"'* ]]
	pr pool --task gcd --max-inflight 0
	assert_failure 2
	[[ $stderr == *'--max-inflight: expected an integer from 1 to 9223372036854775807, got "0"'* ]]
	# exec takes timeout(1)'s durations (issue 15): huge ones saturate
	# to "never" instead of failing
	pr exec -t 2000000000 true
	assert_success
	pr exec -k 99999999999s -t 1e300 true
	assert_success
	pr exec -s 99 true
	[ "$status" -eq 125 ]
	[[ $stderr == *'-s/--signal: expected a signal like TERM or a number from 0 to 64, got "99"'* ]]
	# a malformed value still says what a value looks like
	pr exec -t soon true
	[[ $stderr == *'-t/--timeout: expected a duration like 1.5s, got "soon"'* ]]
}

@test "help CMD and CMD --help show the command's options" {
	pr help run
	assert_success
	assert_output --partial '--max-parallel'
	local a=$output
	pr run --help
	assert_success
	[ "$output" = "$a" ]
	pr help validate
	assert_success
	assert_output --partial 'JSON.PATH'
}

@test "help for an unknown command is a usage error" {
	pr help nope
	assert_failure 2
}

@test "run without a spec is a usage error" {
	pr run
	assert_failure 2
	[[ $stderr == *"expected a spec file"* ]]
}

@test "run reads the spec from stdin with -" {
	run --separate-stderr "$PIPERUN" run - <<<'{"jobs": [{"run": ["echo", "via stdin"]}]}'
	assert_success
	[ "$(jqo '.jobs[0].stdout')" = "via stdin" ]
}

@test "a spec file that cannot be read is a usage error (exit 2)" {
	pr run /nonexistent/spec.json
	assert_failure 2
	[[ $stderr == "piperun: /nonexistent/spec.json: cannot open: No such file or directory" ]]
}

@test "control characters in a command-line value are escaped in the error line" {
	pr run $'--bo\ngus\e[31m' x.json
	assert_failure 2
	[ "$(head -1 <<<"$stderr")" = "piperun: run: unknown option '--bo\\ngus\\x1b[31m'" ]
	[ "$(wc -l <<<"$stderr")" = 3 ]
	pr $'fro\tb'
	assert_failure 2
	[ "$(head -1 <<<"$stderr")" = "piperun: unknown command 'fro\\tb'" ]
}

@test "a reader that left before the plan was written: killed by SIGPIPE, no message" {
	f=$(spec <<<'{"jobs": [{"run": ["true"], "repeat": 3000}]}')
	run bash -c '"$0" plan "$1" 2>"$2" | head -c1 >/dev/null; echo "${PIPESTATUS[0]}"' "$PIPERUN" "$f" "$BATS_TEST_TMPDIR/err"
	assert_output 141
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "help, usage and version output that cannot be written: exit 2 (exec: 125), a message" {
	local c
	for c in "--help" "--version" "help" "help run" "run --help" "validate --help" "plan --help" "pool --help"; do
		# shellcheck disable=SC2086
		run --separate-stderr bash -c '"$0" $1 >/dev/full' "$PIPERUN" "$c"
		echo "$c: $status $stderr"
		[ "$status" = 2 ]
		[ "$stderr" = "piperun: write error: No space left on device" ]
	done
	run --separate-stderr bash -c '"$0" exec --help >/dev/full' "$PIPERUN"
	[ "$status" = 125 ]
	[ "$stderr" = "piperun: write error: No space left on device" ]
}

@test "results and plans that cannot be written to stdout: exit 3, a message" {
	f=$(spec <<<'{"jobs": [{"run": ["true"]}]}')
	run --separate-stderr bash -c '"$0" run "$1" >/dev/full' "$PIPERUN" "$f"
	[ "$status" = 3 ]
	[[ $stderr == *"No space left on device"* ]]
	run --separate-stderr bash -c '"$0" plan "$1" >/dev/full' "$PIPERUN" "$f"
	[ "$status" = 3 ]
	[[ $stderr == *"No space left on device"* ]]
	run --separate-stderr bash -c 'echo 4 6 | "$0" pool --task gcd >/dev/full' "$PIPERUN"
	[ "$status" = 3 ]
	[[ $stderr == *"No space left on device"* ]]
	# validate prints nothing on stdout: a full one changes nothing
	run --separate-stderr bash -c '"$0" validate "$1" >/dev/full' "$PIPERUN" "$f"
	[ "$status" = 0 ]
	[ -z "$stderr" ]
}

# red1 finding 3: piperun parks /dev/null on a closed fd 1 (its own opens
# never land on 0-2), but output meant for it must fail as `ls >&-` does
@test "a closed stdout (>&-): results, plans, show and journal output fail with exit 3 and EBADF; nothing to write, no failure" {
	f=$(spec <<<'{"jobs": [{"name": "x", "run": ["echo", "hi"]}]}')
	"$PIPERUN" run "$f" --journal "$BATS_TEST_TMPDIR/j" > "$BATS_TEST_TMPDIR/r.json"
	local c
	for c in "run $f" "run -o jsonl $f" "run -o text $f" "plan $f" \
		 "show $BATS_TEST_TMPDIR/r.json --job x --field stdout" "show $BATS_TEST_TMPDIR/r.json" \
		 "journal $BATS_TEST_TMPDIR/j"; do
		# shellcheck disable=SC2086
		run --separate-stderr bash -c '"$0" $1 >&-' "$PIPERUN" "$c"
		echo "$c: $status $stderr"
		[ "$status" = 3 ]
		[[ $stderr == *"writing "*"to stdout: Bad file descriptor"* ]]
	done
	run --separate-stderr bash -c 'echo 4 6 | "$0" pool --task gcd >&-' "$PIPERUN"
	[ "$status" = 3 ]
	[ "$stderr" = "piperun: pool: writing to stdout: Bad file descriptor" ]
	run --separate-stderr bash -c '"$0" --version >&-' "$PIPERUN"
	[ "$status" = 2 ]
	[ "$stderr" = "piperun: write error: Bad file descriptor" ]
	# the record named by the closed stdout's name is refused before the
	# command runs (open would find /dev/null there)
	run --separate-stderr bash -c '"$0" exec --json /dev/stdout -- touch "$1" >&-' "$PIPERUN" "$BATS_TEST_TMPDIR/ran"
	[ "$status" = 125 ]
	[ "$stderr" = "piperun: exec: --json /dev/stdout: Bad file descriptor" ]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
	# a job that inherits the closed stdout meets it closed, as it would alone
	g=$(spec inh.json <<<'{"jobs": [{"name": "x", "run": ["echo", "hi"], "stdout": "inherit"}]}')
	run --separate-stderr bash -c '"$0" run -o none "$1" >&-' "$PIPERUN" "$g"
	[ "$status" = 1 ]
	# nothing meant for stdout: -o none, --results FILE, pool -o none, validate
	run --separate-stderr bash -c '"$0" run -o none --results "$2" "$1" >&-' "$PIPERUN" "$f" "$BATS_TEST_TMPDIR/res.json"
	[ "$status" = 0 ]
	[ -z "$stderr" ]
	[ "$("$PIPERUN" show "$BATS_TEST_TMPDIR/res.json" --job x --field stdout)" = hi ]
	run --separate-stderr bash -c 'echo 4 6 | "$0" pool --task gcd -o none >&-' "$PIPERUN"
	[ "$status" = 0 ]
	run --separate-stderr bash -c '"$0" validate "$1" >&-' "$PIPERUN" "$f"
	[ "$status" = 0 ]
	[ -z "$stderr" ]
}

@test "a closed stderr (2>&-): piperun's messages vanish, nothing fails or crashes for it" {
	f=$(spec <<<'{"jobs": [{"name": "x", "run": ["sh", "-c", "echo out; echo err >&2"]}]}')
	run bash -c '"$0" run -o jsonl "$1" 2>&-' "$PIPERUN" "$f"
	[ "$status" = 0 ]
	[[ $output == *'"stderr": "err\n"'* || $output == *'"stderr":"err\n"'* ]]
	# an error said to nowhere keeps its exit status
	run bash -c '"$0" run /nonexistent.json 2>&-' "$PIPERUN"
	[ "$status" = 2 ]
	[ -z "$output" ]
	# both closed: the failure is still the exit status
	run bash -c '"$0" run "$1" >&- 2>&-' "$PIPERUN" "$f"
	[ "$status" = 3 ]
}

@test "an option that takes one value, given twice, is a usage error in run, plan and journal (--only adds up)" {
	local twice spec=$PIPELINES/hello.json
	while IFS= read -r twice; do
		# shellcheck disable=SC2086 # the options are words
		run --separate-stderr "$PIPERUN" $twice
		[ "$status" -eq 2 ] || { echo "$twice: $status"; return 1; }
		[[ "$stderr" == *" given twice (it takes one value)"* ]] || { echo "$twice: $stderr"; return 1; }
	done <<-EOF
	run -j 1 --max-parallel 2 $spec
	run --mode async --mode thread $spec
	run --timeout 1 --timeout 2 $spec
	run -o json --output jsonl $spec
	run --results a.json --results b.json $spec
	run --journal a.jnl --journal b.jnl $spec
	run --progress never --progress auto $spec
	run --trace a.json --trace b.json $spec
	run --executor local --executor slurm $spec
	plan --resume a.jnl --resume b.jnl $spec
	journal -o json -o text a.jnl
	EOF
	run "$PIPERUN" run -q --only hello --only hello $spec
	[ "$status" -eq 0 ]
}

@test "job output piperun copies to its stdout (tee, --tag) that cannot be written: exit 3; a reader gone: SIGPIPE" {
	f=$(spec <<<'{"jobs": [{"name": "x", "run": ["echo", "hi"]}, {"name": "t", "run": ["echo", "tee"], "stdout": "tee"}]}')
	# closed stdout: the jobs are ok (not their fault), the run says it
	run --separate-stderr bash -c '"$0" run --tag -o none --results "$2" "$1" >&-' "$PIPERUN" "$f" "$BATS_TEST_TMPDIR/r.json"
	[ "$status" = 3 ]
	[ "$stderr" = "piperun: writing job output to stdout (tee, --tag): Bad file descriptor" ]
	[ "$(jq -c '[.jobs[].status]' "$BATS_TEST_TMPDIR/r.json")" = '["ok","ok"]' ]
	run --separate-stderr bash -c '"$0" run -o none "$1" >&-' "$PIPERUN" "$f"
	[ "$status" = 3 ]
	# a reader that went away: the run stops as for its results (SIGPIPE
	# is an event: the job cancelled, --results says why) and piperun
	# dies of it
	g=$(spec many.json <<<'{"jobs": [{"name": "y", "run": ["seq", "200000"]}]}')
	run bash -c '"$0" run --tag -o none --results "$2" "$1" | head -c 1 > /dev/null; echo "${PIPESTATUS[0]}"' "$PIPERUN" "$g" "$BATS_TEST_TMPDIR/r2.json"
	[ "$output" = 141 ]
	[ "$(jq -c '[.stopped, .jobs[0].status]' "$BATS_TEST_TMPDIR/r2.json")" = '["SIGPIPE","cancelled"]' ]
	# and written whole, nothing to say
	run bash -c '"$0" run --tag -o none "$1" > /dev/null' "$PIPERUN" "$f"
	[ "$status" = 0 ]
}
