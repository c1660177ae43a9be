#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# `piperun show` (issue 19): one job's field of a results document or of
# JSONL, raw; --failed; run-level fields; the exact bytes of captured
# output whatever its encoding; missing jobs and fields (1), bad input (2).
load helper

setup() {
	D="$BATS_TEST_TMPDIR"
}

# A run of a spec with a binary job (base64, digest), text, a NUL in
# forced utf-8 text, a failing job, repeat and foreach copies; its
# results document in $D/r.json and its JSONL in $D/r.jsonl.
mixed_run() {
	f=$(spec <<'EOF'
{"name": "mixed", "jobs": [
 {"name": "bin", "run": ["head", "-c", "65536", "/dev/urandom"], "digest": true},
 {"name": "hello", "run": ["echo", "Hello from the child!"], "digest": true},
 {"name": "nul", "run": ["printf", "a\\000b\\n"], "encoding": "utf-8"},
 {"name": "bad", "run": ["sh", "-c", "echo oops >&2; exit 3"]},
 {"name": "r", "run": ["sh", "-c", "echo {#}"], "repeat": 2},
 {"name": "each", "run": ["echo", "{}"], "foreach": ["a b", "x.csv"]},
 {"name": "quiet", "run": ["true"], "stdout": "null"}
]}
EOF
)
	local rc=0
	"$PIPERUN" run "$f" -o json > "$D/r.json" || rc=$?
	[ "$rc" -eq 1 ]
	rc=0
	"$PIPERUN" run "$f" -o jsonl > "$D/r.jsonl" || rc=$?
	[ "$rc" -eq 1 ]
}

@test "show --field stdout: a binary stdout's exact bytes (base64 decoded), sha256 equal to stdout_sha256" {
	mixed_run
	[ "$(jq -r '.jobs[] | select(.name == "bin") | .stdout_encoding' "$D/r.json")" = base64 ]
	"$PIPERUN" show "$D/r.json" --job bin --field stdout > "$D/bin"
	[ "$(stat -c %s "$D/bin")" -eq 65536 ]
	want=$(jq -r '.jobs[] | select(.name == "bin") | .stdout_sha256' "$D/r.json")
	[ "$(sha256sum < "$D/bin" | cut -d' ' -f1)" = "$want" ]
	[ "$("$PIPERUN" show "$D/r.json" --job bin --field stdout_sha256)" = "$want" ]
	# the same from the JSONL of another run, and from stdin
	"$PIPERUN" show - --job bin --field stdout < "$D/r.jsonl" > "$D/bin2"
	want2=$("$PIPERUN" show "$D/r.jsonl" --job bin --field stdout_sha256)
	[ "$(sha256sum < "$D/bin2" | cut -d' ' -f1)" = "$want2" ]
}

@test "show --field stdout: utf-8 text as its bytes, nothing added; a NUL kept" {
	mixed_run
	"$PIPERUN" show "$D/r.json" --job hello --field stdout > "$D/o"
	printf 'Hello from the child!\n' | cmp - "$D/o"
	"$PIPERUN" show "$D/r.jsonl" --job nul --field stdout > "$D/o"
	printf 'a\000b\n' | cmp - "$D/o"
	"$PIPERUN" show "$D/r.json" --job bad --field stderr > "$D/o"
	printf 'oops\n' | cmp - "$D/o"
	# a stream not captured (null) prints nothing
	"$PIPERUN" show "$D/r.json" --job quiet --field stdout > "$D/o"
	[ ! -s "$D/o" ]
}

@test "show --field: numbers as written, strings as text, null as nothing, objects as compact JSON" {
	mixed_run
	for r in r.json r.jsonl; do
		pr show "$D/$r" --job bad --field returncode
		assert_success
		[ "$output" = 3 ]
		pr show "$D/$r" --job bad --field status
		[ "$output" = failed ]
		pr show "$D/$r" --job bad --field duration_ms
		[[ "$output" =~ ^[0-9]+(\.[0-9]+)?$ ]]
		pr show "$D/$r" --job bad --field timed_out
		[ "$output" = false ]
		"$PIPERUN" show "$D/$r" --job bad --field signal > "$D/o"
		[ ! -s "$D/o" ]
		pr show "$D/$r" --job bad --field stages.0.argv
		[ "$output" = '["sh","-c","echo oops >&2; exit 3"]' ]
		pr show "$D/$r" --job bad --field stages.0.exit_code
		[ "$output" = 3 ]
	done
	# the number as the record writes it
	want=$(grep '"name":"bad"' "$D/r.jsonl" | grep -o '"duration_ms":[^,]*' | head -1 | cut -d: -f2)
	[ "$("$PIPERUN" show "$D/r.jsonl" --job bad --field duration_ms)" = "$want" ]
	# with a newline after each value
	"$PIPERUN" show "$D/r.json" --job bad --field returncode | od -c | grep -q '3  *\\n'
}

@test "show --job: repeat and foreach copies by the names piperun gives them" {
	mixed_run
	[ "$("$PIPERUN" show "$D/r.json" --job 'r#2' --field stdout)" = 2 ]
	[ "$("$PIPERUN" show "$D/r.json" --job 'each[a b]' --field stdout)" = "a b" ]
	[ "$("$PIPERUN" show "$D/r.jsonl" --job 'each[x.csv]' --field stdout)" = x.csv ]
	# --job alone: the record, one line of JSON
	pr show "$D/r.json" --job 'r#1'
	assert_success
	[ "$(jq -r .name <<<"$output")" = 'r#1' ]
	[ "${#lines[@]}" -eq 1 ]
}

@test "show --failed: the names of the jobs not ok, one per line; no option: every name" {
	mixed_run
	pr show "$D/r.json" --failed
	assert_success
	[ "$output" = bad ]
	pr show "$D/r.jsonl" --failed
	[ "$output" = bad ]
	pr show "$D/r.json"
	[ "$output" = "$(jq -r '.jobs[].name' "$D/r.json")" ]
	ok=$(spec ok.json <<<'{"jobs": [{"name": "a", "run": ["true"]}]}')
	"$PIPERUN" run "$ok" > "$D/ok.out"
	"$PIPERUN" show "$D/ok.out" --failed > "$D/o"
	[ ! -s "$D/o" ]
}

# red1 finding 8: a name holding a newline came out as two "names",
# neither of them a job
@test "show names: control characters and backslashes escaped one per line, -z/--null exact, --job takes either spelling" {
	f=$(spec nlspec.json <<'EOF'
{"jobs": [
 {"name": "f", "foreach": ["new\nline", "t\tab\u001b[2J", "a\\b"], "run": ["false"]},
 {"name": "plain", "run": ["true"]}
]}
EOF
)
	rc=0; "$PIPERUN" run "$f" > "$D/nl.json" || rc=$?
	[ "$rc" = 1 ]
	"$PIPERUN" run "$f" -o jsonl > "$D/nl.jsonl" || true
	local r n
	for r in nl.json nl.jsonl; do
		pr show "$D/$r" --failed
		assert_success
		[ "${#lines[@]}" = 3 ]
		assert_line 'f[new\nline]'
		assert_line 'f[t\tab\x1b[2J]'
		assert_line 'f[a\\b]'
		[ "$(grep -c $'\e' <<<"$output")" = 0 ]
		# every line read back names its job
		while IFS= read -r n; do
			[ "$("$PIPERUN" show "$D/$r" --job "$n" --field status)" = failed ]
		done <<<"$output"
		# -z: the exact names, NUL-terminated
		"$PIPERUN" show "$D/$r" --null > "$D/names"
		mapfile -d '' got < "$D/names"
		[ "${#got[@]}" = 4 ]
		[[ " ${got[*]} " == *" plain "* ]]
		[[ " ${got[*]} " == *$' f[new\nline] '* ]]
		[[ " ${got[*]} " == *$' f[t\tab\e[2J] '* ]]
		"$PIPERUN" show "$D/$r" -z --failed | xargs -0 -n1 "$PIPERUN" show "$D/$r" --field status --job > "$D/st"
		[ "$(cat "$D/st")" = $'failed\nfailed\nfailed' ]
		# the exact name works as before
		[ "$("$PIPERUN" show "$D/$r" --job $'f[new\nline]' --field status)" = failed ]
		[ "$("$PIPERUN" show "$D/$r" --job 'f[a\b]' --field status)" = failed ]
	done
	pr show "$D/nl.json" -z --job plain
	assert_failure 2
	# one job's exact name that is another's escaped one: said, exit 2
	g=$(spec ambspec.json <<'EOF'
{"jobs": [{"name": "a\nb", "run": ["true"]}, {"name": "a\\nb", "run": ["true"]}]}
EOF
)
	"$PIPERUN" run "$g" > "$D/amb.json"
	pr show "$D/amb.json" --job 'a\nb'
	assert_failure 2
	[ "$stderr" = "piperun: show: $D/amb.json: \"a\\nb\" is one job's name and another's escaped name: take exact names from show --null" ]
	[ "$("$PIPERUN" show "$D/amb.json" --job $'a\nb' --field name)" = $'a\nb' ]
	[ "$("$PIPERUN" show "$D/amb.json" --job 'a\\nb' --field name)" = 'a\nb' ]
}

@test "show --field alone: a field of the run (document or JSONL trailer)" {
	mixed_run
	[ "$("$PIPERUN" show "$D/r.json" --field status)" = failed ]
	[ "$("$PIPERUN" show "$D/r.jsonl" --field status)" = failed ]
	[ "$("$PIPERUN" show "$D/r.json" --field summary.failed)" = 1 ]
	[ "$("$PIPERUN" show "$D/r.jsonl" --field summary.total)" = 9 ]
	[ "$("$PIPERUN" show - --field name < "$D/r.jsonl")" = mixed ]
}

@test "show: a job or field that does not exist is exit 1 with a message" {
	mixed_run
	pr show "$D/r.json" --job nope --field stdout
	assert_failure 1
	[ "$stderr" = "piperun: show: $D/r.json: no job named \"nope\"" ]
	[ -z "$output" ]
	pr show "$D/r.jsonl" --job bad --field nope
	assert_failure 1
	[ "$stderr" = "piperun: show: $D/r.jsonl: job \"bad\" has no field \"nope\"" ]
	pr show "$D/r.json" --job bad --field stages.5.pid
	assert_failure 1
	pr show "$D/r.json" --field nope
	assert_failure 1
	[ "$stderr" = "piperun: show: $D/r.json: the run has no field \"nope\"" ]
	pr show "$D/r.json" --job bin --field stderr_sha256
	assert_success
	pr show "$D/r.json" --job bad --field stdout_sha256
	assert_failure 1
}

@test "show: unreadable, empty or invalid input and usage errors are exit 2" {
	pr show "$D/none.json"
	assert_failure 2
	[ "$stderr" = "piperun: show: $D/none.json: No such file or directory" ]
	: > "$D/empty"
	pr show "$D/empty"
	assert_failure 2
	[[ "$stderr" == *"empty: no results"* ]]
	printf 'not json\n' > "$D/bad"
	pr show "$D/bad"
	assert_failure 2
	[[ "$stderr" == "piperun: show: $D/bad: line 1: neither a results document nor JSONL"* ]]
	# a JSON document that is no results
	printf '{"jobs": 3}\n' | run --separate-stderr "$PIPERUN" show -
	assert_failure 2
	# a JSONL line torn in the middle
	mixed_run
	head -c 100 "$D/r.jsonl" > "$D/torn"
	pr show "$D/torn" --failed
	assert_failure 2
	# a journal: said, with the way to its results
	ok=$(spec ok.json <<<'{"jobs": [{"name": "a", "run": ["echo", "A"]}]}')
	"$PIPERUN" run "$ok" --journal "$D/j.jsonl" -o none
	pr show "$D/j.jsonl" --job a --field stdout
	assert_failure 2
	[ "$stderr" = "piperun: show: $D/j.jsonl: a journal: its results are \`piperun journal $D/j.jsonl | piperun show -\`" ]
	[ "$("$PIPERUN" journal "$D/j.jsonl" | "$PIPERUN" show - --job a --field stdout)" = A ]
	pr show
	assert_failure 2
	pr show "$D/r.json" "$D/r.json"
	assert_failure 2
	pr show --failed --job bad "$D/r.json"
	assert_failure 2
	pr show --field '' "$D/r.json"
	assert_failure 2
	pr show --bogus "$D/r.json"
	assert_failure 2
	pr show --job
	assert_failure 2
	# red1 finding 14: a second --job or --field silently won
	pr show --job bad --job hello "$D/r.json"
	assert_failure 2
	[[ $stderr == "piperun: show: --job given twice: one job at a time"* ]]
	pr show -j bad --field status -f returncode "$D/r.json"
	assert_failure 2
	[[ $stderr == "piperun: show: --field given twice: one field at a time"* ]]
	assert_output ''
}

# red1 finding 5: `run -o jsonl >> log.jsonl` twice made one file that
# show answered from either run
@test "show: JSONL with two runs appended (a line after the trailer, a job twice) is exit 2, said" {
	one=$(spec one.json <<<'{"jobs": [{"name": "x", "run": ["sh", "-c", "echo run1"]}]}')
	two=$(spec two.json <<<'{"jobs": [{"name": "x", "run": ["sh", "-c", "echo run2; exit 1"]}]}')
	"$PIPERUN" run "$one" -o jsonl >> "$D/log.jsonl"
	"$PIPERUN" run "$two" -o jsonl >> "$D/log.jsonl" || true
	local a
	for a in "--job x --field stdout" "--failed" "--field summary.failed" ""; do
		# shellcheck disable=SC2086
		pr show "$D/log.jsonl" $a
		assert_failure 2
		assert_output ''
		[ "$stderr" = "piperun: show: $D/log.jsonl: line 3: a line after the trailer line (line 2): JSONL holds one run (two runs appended to one file?)" ]
	done
	# the first run cut short (no trailer): the job's second record says it
	head -1 "$D/log.jsonl" > "$D/cut.jsonl"
	tail -2 "$D/log.jsonl" >> "$D/cut.jsonl"
	pr show "$D/cut.jsonl" --job x --field stdout
	assert_failure 2
	[ "$stderr" = "piperun: show: $D/cut.jsonl: line 2: a second record of job \"x\" (line 1): JSONL holds one run (two runs appended to one file?)" ]
	# one run still reads, its trailer last
	"$PIPERUN" run "$one" -o jsonl > "$D/one.jsonl"
	[ "$("$PIPERUN" show "$D/one.jsonl" --job x --field stdout)" = run1 ]
}

@test "show --help and piperun help show describe the options" {
	pr help show
	assert_success
	[[ "$output" == *"usage: piperun show"* || "$output" == *"show [--job NAME"* ]]
	[[ "$output" == *"--failed"* ]]
	[[ "$output" == *"base64"* ]]
	pr --help
	[[ "$output" == *"  show "* ]]
}
