#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# `piperun validate` and spec errors: every error reported with its file
# and JSON path, exit 2, and nothing started by `run`.
load helper

# Assert that validate and run reject the spec in $1 with exit 2, that
# stderr holds $2, and that the toucher job did not run.
rejected() {
	local f=$1 want=$2
	pr validate "$f"
	assert_failure 2
	assert_output ''
	[[ $stderr == *"$want"* ]] || { echo "stderr: $stderr"; return 1; }
	pr run "$f"
	assert_failure 2
	assert_output ''
	[[ $stderr == *"$want"* ]] || { echo "run stderr: $stderr"; return 1; }
	[ ! -e "$BATS_TEST_TMPDIR/started" ] || { echo "a job was started"; return 1; }
}

# A job that leaves a trace if anything runs.
toucher() {
	printf '{"name": "toucher", "run": ["touch", "%s/started"]}' "$BATS_TEST_TMPDIR"
}

@test "a valid spec: nothing printed, exit 0" {
	f=$(spec <<<'{"jobs": [{"run": ["true"]}]}')
	pr validate "$f"
	assert_success
	assert_output ''
	[ -z "$stderr" ]
}

@test "not JSON: line and column, exit 2, nothing started" {
	f=$(spec <<EOF
{"jobs": [
  $(toucher),
  {"run": ["true"]
]}
EOF
)
	rejected "$f" "$f: line 4, column 1: malformed JSON"
}

@test "truncated JSON names where the document ends" {
	f=$(spec <<<'{"jobs": [')
	rejected "$f" "malformed JSON: unexpected end of input ('[' at line 1, column 10 is never closed)"
}

@test "wrong types name the JSON path, what was expected and what was found" {
	f=$(spec <<EOF
{"jobs": [$(toucher), {"run": ["true"], "digest": "yes", "max_output": -5, "env": {"A": 1}}]}
EOF
)
	rejected "$f" "$f: jobs[1].digest: expected true or false, got \"yes\""
	[[ $stderr == *"$f: jobs[1].max_output: expected a size like 1048576 or \"16M\", got -5"* ]]
	[[ $stderr == *"$f: jobs[1].env.A: expected a string, got a number"* ]]
}

@test "an unknown key is an error (a typo must not change behaviour)" {
	f=$(spec <<EOF
{"jobs": [$(toucher), {"run": ["true"], "tiemout": "1s"}]}
EOF
)
	rejected "$f" "$f: jobs[1].tiemout: unknown key (not a job field)"
}

@test "an unknown top-level key is an error" {
	f=$(spec <<EOF
{"paralel": 3, "jobs": [$(toucher)]}
EOF
)
	rejected "$f" "$f: paralel: unknown key (not a top-level field)"
}

@test "a duplicate key is an error" {
	f=$(spec <<EOF
{"jobs": [$(toucher), {"run": ["true"], "timeout": 1, "timeout": 2}]}
EOF
)
	rejected "$f" "$f: jobs[1].timeout: duplicate key \"timeout\""
}

@test "duplicate job names are an error, including expanded names" {
	f=$(spec <<EOF
{"jobs": [$(toucher), {"name": "toucher", "run": ["true"]}]}
EOF
)
	rejected "$f" "$f: jobs[1].name: duplicate job name \"toucher\" (also jobs[0])"
	f=$(spec <<EOF
{"jobs": [$(toucher), {"name": "a", "run": ["true"], "repeat": 2}, {"name": "a#2", "run": ["true"]}]}
EOF
)
	rejected "$f" "duplicate job name \"a#2\""
}

@test "a dependency cycle is an error" {
	f=$(spec <<EOF
{"jobs": [$(toucher),
  {"name": "a", "run": ["true"], "after": ["c"]},
  {"name": "b", "run": ["true"], "after": ["a"]},
  {"name": "c", "run": ["true"], "after": ["b"]}]}
EOF
)
	rejected "$f" "dependency cycle: "
	[[ $stderr == *"a -> c -> b -> a"* || $stderr == *"c -> b -> a -> c"* || $stderr == *"b -> a -> c -> b"* ]]
}

@test "a dependency on an unknown job is an error" {
	f=$(spec <<EOF
{"jobs": [$(toucher), {"run": ["true"], "after": ["ghost"]}]}
EOF
)
	rejected "$f" "$f: jobs[1].after[0]: no job named \"ghost\""
}

@test "empty jobs is an error" {
	f=$(spec <<<'{"jobs": []}')
	rejected "$f" "$f: jobs: expected a non-empty array of jobs, got an array"
	f=$(spec <<<'{"name": "x"}')
	rejected "$f" "\"jobs\" is missing"
}

@test "negative max_parallel is an error" {
	f=$(spec <<EOF
{"max_parallel": -1, "jobs": [$(toucher)]}
EOF
)
	rejected "$f" "$f: max_parallel: expected an integer from 0 to 1000000, got -1"
}

@test "a bad duration is an error, in a job or in defaults" {
	f=$(spec <<EOF
{"jobs": [$(toucher), {"run": ["true"], "timeout": "soon"}]}
EOF
)
	rejected "$f" "$f: jobs[1].timeout: expected a duration like \"1.5s\", got \"soon\""
	f=$(spec <<EOF
{"defaults": {"kill_after": "2 s"}, "jobs": [$(toucher), {"run": ["true"]}]}
EOF
)
	rejected "$f" "$f: defaults.kill_after: expected a duration like \"1.5s\", got \"2 s\""
	# reported once, not once per job
	[ "$(grep -c 'defaults.kill_after' <<<"$stderr")" -eq 1 ]
}

@test "a job needs exactly one of run, shell, pipeline, pool, steps" {
	f=$(spec <<EOF
{"jobs": [$(toucher), {"name": "x"}, {"run": ["a"], "shell": "b"}]}
EOF
)
	rejected "$f" "$f: jobs[1]: expected one of run, shell, pipeline, pool, steps; found none"
	[[ $stderr == *"$f: jobs[2]: expected exactly one of run, shell, pipeline, pool, steps; found both \"run\" and \"shell\""* ]]
}

@test "every error is reported, not just the first" {
	f=$(spec <<<'{"mode": "fast", "jobs": [{"run": ["a"], "timeout": "x"}, {"run": ["b"], "bogus": 1}, {"shell": 5}]}')
	pr validate "$f"
	assert_failure 2
	[ "$(wc -l <<<"$stderr")" -eq 4 ]
	[[ $stderr == *"$f: mode: expected"*"got \"fast\""* ]]
	[[ $stderr == *"$f: jobs[0].timeout"* ]]
	[[ $stderr == *"$f: jobs[1].bogus: unknown key"* ]]
	[[ $stderr == *"$f: jobs[2].shell: expected a string, got 5"* ]]
}

@test "validate checks several files and reports each" {
	good=$(spec good.json <<<'{"jobs": [{"run": ["true"]}]}')
	bad=$(spec bad.json <<<'{"jobs": [{"run": []}]}')
	pr validate "$good" "$bad"
	assert_failure 2
	[[ $stderr == *"$bad: jobs[0].run: expected a non-empty argv array, got an array"* ]]
	[[ $stderr != *"$good"* ]]
}

@test "validate reads stdin with -" {
	run --separate-stderr "$PIPERUN" validate - <<<'{"jobs": [{"run": ["true"], "stdout": "loud"}]}'
	assert_failure 2
	[[ $stderr == *"<stdin>: jobs[0].stdout: expected"* ]]
}

@test "every example spec in pipelines/ is valid, without a warning" {
	for f in "$PIPELINES"/*.json; do
		run --separate-stderr "$PIPERUN" validate "$f"
		[ "$status" -eq 0 ] || { echo "$f: $stderr"; return 1; }
		[ -z "$stderr" ] || { echo "$f: $stderr"; return 1; }
	done
}

@test "a \\u0000 in a string is an error naming its path, wherever it cannot be kept (validate, plan, run)" {
	f=$(spec <<EOF
{"jobs": [$(toucher),
  {"name": "a", "run": ["tr\u0000ue"]},
  {"name": "b", "shell": "echo hi\u0000; touch x"},
  {"name": "c", "run": ["true"], "timeout\u0000": 5},
  {"name": "d", "run": ["true"], "env": {"A\u0000B": "x", "C": "y\u0000z"}, "cwd": "/tmp\u0000x"},
  {"name": "e\u0000f", "run": ["true"], "foreach": ["v\u0000w"], "signal": "TERM\u0000"},
  {"name": "g", "run": ["true"], "secret_env": ["S\u0000"], "after": ["a\u0000"], "stdout": {"file": "o\u0000"}},
  {"name": "h", "pool": {"task": "gcd", "items": [[1, "x\u0000y"]]}},
  {"name": "i", "steps": [{"run": ["cat"]}], "items": ["p\u0000q"]}
]}
EOF
)
	rejected "$f" "$f: jobs[1].run[0]: a NUL character (\\u0000) cannot be used here (only stdin.text can hold one)"
	for p in 'jobs[2].shell' 'jobs[4].env.C' 'jobs[4].cwd' 'jobs[5].name' 'jobs[5].foreach[0]' \
		 'jobs[5].signal' 'jobs[6].secret_env[0]' 'jobs[6].after[0]' 'jobs[6].stdout.file' \
		 'jobs[7].pool.items[0][1]' 'jobs[8].items[0]'; do
		[[ $stderr == *"$f: $p: a NUL character (\\u0000) cannot be used here"* ]] || { echo "no error for $p"; return 1; }
	done
	[[ $stderr == *"$f: jobs[3][\"timeout\\u0000\"]: a key cannot hold a NUL character (\\u0000)"* ]]
	[[ $stderr == *"$f: jobs[4].env[\"A\\u0000B\"]: a key cannot hold a NUL character"* ]]
	[ "$(wc -l <<<"$stderr")" -eq 14 ]
	pr plan "$f"
	assert_failure 2
	[[ $stderr == *"$f: jobs[1].run[0]: a NUL character"* ]]
	# a raw NUL byte (not escaped) is malformed JSON, with line and column
	printf '{"jobs": [{"run": ["tr\0ue"]}]}' > "$BATS_TEST_TMPDIR/raw.json"
	rejected "$BATS_TEST_TMPDIR/raw.json" "raw.json: line 1, column 23: malformed JSON: NUL byte"
}

@test "numbers a spec cannot keep exactly are errors naming the path: beyond 2^53, 1e400, too close to 0" {
	f=$(spec <<EOF
{"jobs": [$(toucher),
  {"run": ["true"], "foreach": [9007199254740992, 9007199254740993, -17334600000000000001],
   "stdin": {"random": 10, "seed": 9007199254740993}},
  {"run": ["true"], "timeout": 1e400, "max_output": 1e-400, "retries": 1.5e300}
]}
EOF
)
	rejected "$f" "$f: jobs[1].foreach[1]: 9007199254740993 is out of range: a spec keeps numbers exactly up to 2^53 (9007199254740992) in magnitude"
	[[ $stderr == *"$f: jobs[1].foreach[2]: -17334600000000000001 is out of range"* ]]
	[[ $stderr == *"$f: jobs[1].stdin.seed: 9007199254740993 is out of range"* ]]
	[[ $stderr == *"$f: jobs[2].timeout: 1e400 is out of range"* ]]
	[[ $stderr == *"$f: jobs[2].max_output: 1e-400 is out of range: it is too close to 0"* ]]
	[[ $stderr == *"$f: jobs[2].retries: 1.5e300 is out of range"* ]]
	[[ $stderr != *"foreach[0]"* ]]
	[[ $stderr != *"got null"* ]]
}

@test "JSON nested deeper than the limit says so, with the limit and where" {
	open=$(printf '[%.0s' {1..1100})
	close=$(printf ']%.0s' {1..1100})
	f=$(spec <<EOF
{"jobs": [$(toucher), {"run": ["true"], "x": $open$close}]}
EOF
)
	# level 1001: the document, jobs and the job are 3, so x's 998th bracket
	col=$(( $(printf '{"jobs": [%s, {"run": ["true"], "x": ' "$(toucher)" | wc -c) + 998 ))
	rejected "$f" "$f: line 1, column $col: JSON nested more than 1000 levels deep (the limit)"
}

@test "a duration over the limit names the limit" {
	f=$(spec <<EOF
{"defaults": {"kill_after": "20000000m"}, "jobs": [$(toucher), {"run": ["true"], "timeout": 2000000000}]}
EOF
)
	rejected "$f" "$f: jobs[1].timeout: expected a duration of at most 1000000000s (about 31 years), got 2000000000"
	[[ $stderr == *"$f: defaults.kill_after: expected a duration of at most 1000000000s (about 31 years), got \"20000000m\""* ]]
}

@test "validate warns (exit 0) about {} inside the script of an sh -c argv; run and plan do not" {
	f=$(spec <<'EOF'
{"defaults": {"stdout": "null"},
 "jobs": [
  {"name": "r", "run": ["sh", "-c", "echo got-{} \"<{}>\""], "foreach": ["a"]},
  {"name": "p", "pipeline": [["true"], ["/bin/bash", "-ec", "echo {} >/dev/null"],
                             {"run": ["dash", "-o", "errexit", "-c", "echo {}", "dash", "x"]}],
   "foreach": ["a"]},
  {"name": "ok", "run": ["sh", "-c", "echo \"$1\"", "sh", "{}"], "foreach": ["a"]},
  {"name": "argv", "run": ["echo", "{}"], "foreach": ["a"]},
  {"name": "lit", "run": ["sh", "-c", "echo {{}} {#}"], "foreach": ["a"]},
  {"name": "nocopies", "run": ["sh", "-c", "echo {}"]},
  {"name": "s", "items": ["1"],
   "steps": [{"run": ["busybox", "sh", "-c", "echo got-{}"], "stdin": null},
             {"coprocess": ["sh", "-xc", "sed -u s/{}/x/"]},
             {"run": ["sh", "-c", "echo \"$1\"", "sh", "{}"], "stdin": null}]}
 ]}
EOF
)
	pr validate "$f"
	assert_success
	assert_output ''
	local w="piperun: $f" code='warning: {} is spliced into this shell script as code (a value like $(rm -rf ~) would run it); pass the value as an argument instead:'
	[ "$stderr" = "$w: jobs[0].run[2]: $code [\"sh\",\"-c\",\"echo got-\\\"\$1\\\" \\\"<\$1>\\\"\",\"sh\",\"{}\"]
$w: jobs[1].pipeline[1][2]: $code [\"/bin/bash\",\"-ec\",\"echo \\\"\$1\\\" >/dev/null\",\"sh\",\"{}\"]
$w: jobs[1].pipeline[2].run[4]: $code [\"sh\", \"-c\", \"... \\\"\$1\\\" ...\", \"sh\", \"{}\"]
$w: jobs[6].steps[0].run[3]: $code [\"busybox\",\"sh\",\"-c\",\"echo got-\\\"\$1\\\"\",\"sh\",\"{}\"]
$w: jobs[6].steps[1].coprocess[2]: warning: {} is not replaced in a coprocess's argv (its items come on its stdin, one a line): this script sees a literal {}" ]
	# a spec with errors gets its warnings as well; the status is 2
	g=$(spec bad.json <<'EOF'
{"jobs": [{"run": ["sh", "-c", "echo {}"], "foreach": ["a"], "timeout": "soon"}]}
EOF
)
	pr validate "$g"
	assert_failure 2
	[[ $stderr == *"jobs[0].timeout: expected a duration"*"jobs[0].run[2]: warning: {} is spliced"* ]]
	# run and plan say nothing of it
	pr plan "$f"
	assert_success
	[ -z "$stderr" ]
	pr run "$f" -o none
	[ -z "$stderr" ]
}

@test "the README's steps example passes the item as data: validate is silent on it, warns on the old form" {
	block=$(awk '/^```json/ { on = 1; b = ""; next }
		on && /^```/ { on = 0; if (b ~ /"assembly"/) printf "%s", b; next }
		on { b = b $0 "\n" }' "$TESTS_DIR/../README.md")
	[[ $block == *'"run": ["sh", "-c", "echo \"got-$1\"", "sh", "{}"]'* ]]
	f=$(spec <<<"{\"jobs\": [$block]}")
	pr validate "$f"
	assert_success
	[ -z "$stderr" ]
	pr run "$f"
	assert_success
	[ "$(jqo '.jobs[0] | [.items_in, .items_out] | @json')" = '[2000,2000]' ]
	[ "$(jqo '.jobs[0].stdout' | sed '/^$/d' | sort | md5sum)" = "$(seq 2000 | sed 's/.*/got-& resized/' | sort | md5sum)" ]
	# the form the README had before
	old=${block/'"echo \"got-$1\"", "sh", "{}"'/'"echo got-{}"'}
	[ "$old" != "$block" ]
	g=$(spec old.json <<<"{\"jobs\": [$old]}")
	pr validate "$g"
	assert_success
	[[ $stderr == *"jobs[0].steps[0].run[2]: warning: {} is spliced into this shell script as code"* ]]
}

@test "validate warns (exit 0) about a placeholder in a foreach command source: it runs as written" {
	f=$(spec <<'EOF2'
{"defaults": {"foreach": {"command": ["printf", "%s\\n", "{#}"]}},
 "jobs": [
  {"name": "a", "run": ["echo", "{}"], "foreach": {"command": ["echo", "{}", "x{{}}y"]}},
  {"name": "b", "run": ["echo", "{}"], "foreach": {"command": ["printf", "a\\nb\\n"]}},
  {"name": "c", "run": ["echo", "{}"]}
 ]}
EOF2
)
	pr validate "$f"
	assert_success
	local w='warning: placeholders are not replaced in a foreach command source (it runs before there are values): the command gets this item as written'
	[ "$stderr" = "piperun: $f: defaults.foreach.command[2]: $w
piperun: $f: jobs[0].foreach.command[1]: $w
piperun: $f: jobs[0].foreach.command[2]: $w" ]
}
