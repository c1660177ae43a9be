#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# What a job reads and writes: stdin sources, stdout/stderr modes,
# encodings, limits, digests, environment, argv bytes, child settings.
# What a job wrote is checked by job name with the bats helper library
# (piperun-bats(7)): exact bytes; jq where the record's form is the point.
# An unnamed job is job-N (its position).
load helper
bats_load_library piperun

# A field of job $1 of the last piperun_run, raw (stdout as its bytes).
field() {
	"$PIPERUN" show "$PIPERUN_RESULTS" --job "$1" --field "$2"
}

@test "stdin text, base64 and null" {
	f=$(spec <<'EOF'
{"jobs": [
  {"run": ["cat"], "stdin": {"text": "line one\nline two\n"}},
  {"run": ["od", "-An", "-tx1"], "stdin": {"base64": "AAEC/w=="}},
  {"run": ["cat"]},
  {"run": ["cat"], "stdin": null}
]}
EOF
)
	piperun_run "$f"
	assert_success
	assert_job_stdout job-1 $'line one\nline two\n'
	[ "$(field job-2 stdout | tr -d ' \n')" = 000102ff ]
	assert_job_field job-3 stdout_bytes 0
	assert_job_field job-4 stdout_bytes 0
}

@test "stdin text with \\u0000 is fed exactly, NUL bytes included, in copies and in plan too" {
	f=$(spec <<'EOF'
{"defaults": {"stdin": {"text": "\u0000"}},
 "jobs": [
  {"name": "t", "run": ["od", "-An", "-tx1"], "stdin": {"text": "ab\u0000cd\u0000"}},
  {"name": "c", "run": ["od", "-An", "-tx1"], "stdin": {"text": "{}\u0000{#}"}, "foreach": ["x"]},
  {"name": "d", "run": ["od", "-An", "-tx1"]}
]}
EOF
)
	piperun_run "$f"
	assert_success
	[ "$(field t stdout | tr -s ' \n' ' ')" = ' 61 62 00 63 64 00 ' ]
	[ "$(field 'c[x]' stdout | tr -s ' \n' ' ')" = ' 78 00 31 ' ]
	[ "$(field d stdout | tr -s ' \n' ' ')" = ' 00 ' ]
	pr plan "$f"
	assert_success
	[ "$(jqo '[.jobs[].stdin.text] | @json')" = '["ab\u0000cd\u0000","x\u00001","\u0000"]' ]
}

@test "stdin from a file is the child's stdin itself" {
	printf 'from the file\n' > "$BATS_TEST_TMPDIR/in.txt"
	f=$(spec <<<"{\"jobs\": [{\"run\": [\"cat\"], \"stdin\": {\"file\": \"$BATS_TEST_TMPDIR/in.txt\"}}]}")
	piperun_run "$f"
	assert_success
	assert_job_stdout job-1 $'from the file\n'
}

@test "seeded random stdin is the contract's splitmix64 stream" {
	f=$(spec <<<'{"jobs": [{"run": ["sha256sum"], "stdin": {"random": 100, "seed": 7}}]}')
	piperun_run "$f"
	assert_success
	assert_job_stdout_matches job-1 '^30fcbf47[0-9a-f]*92af4  -'
}

@test "unseeded random stdin gives N bytes" {
	f=$(spec <<<'{"jobs": [{"run": ["wc", "-c"], "stdin": {"random": "1M"}}]}')
	piperun_run "$f"
	assert_success
	[ "$(field job-1 stdout | tr -d ' ')" = 1048576 ]
}

@test "stdin larger than a pipe is fed without blocking the runner" {
	# 8 MiB to a child that reads nothing until a job has started after
	# another one's end: a runner blocked feeding it could not see that
	# end, start the third, and big would give up (exit 9)
	local f d=$BATS_TEST_TMPDIR
	f=$(spec <<EOF
{"jobs": [
  {"name": "big", "run": ["sh", "-c", "i=0; until [ -e $d/go ]; do [ \$i -lt 2000 ] || exit 9; i=\$((i + 1)); sleep 0.01; done; wc -c"],
   "stdin": {"random": "8M", "seed": 1}},
  {"name": "other", "run": ["echo", "not blocked"]},
  {"name": "third", "run": ["touch", "$d/go"], "after": ["other"]}
]}
EOF
)
	piperun_run "$f"
	assert_success
	[ "$(field big stdout | tr -d ' ')" = 8388608 ]
	assert_job_ok big
	assert_job_ok other
	assert_job_ok third
}

@test "a child that does not read its stdin costs nothing (EPIPE is normal)" {
	f=$(spec <<<'{"jobs": [{"run": ["true"], "stdin": {"random": "16M"}}, {"run": ["head", "-c", "10"], "stdin": {"random": "16M"}}]}')
	piperun_run "$f"
	assert_success
	assert_job_field job-2 stdout_bytes 10
}

@test "stdin.inherit gives the child piperun's own stdin" {
	f=$(spec <<<'{"jobs": [{"run": ["cat"], "stdin": "inherit"}]}')
	piperun_run "$f" <<<"typed in"
	assert_success
	assert_job_stdout job-1 $'typed in\n'
}

@test "stdin.from feeds another job's captured stdout" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "gen", "run": ["$PROBE", "gen", "300000", "5"]},
  {"name": "sum", "run": ["sha256sum"], "stdin": {"from": "gen"}}
]}
EOF
)
	sed -i "s|\\\$PROBE|$PROBE|" "$f"
	piperun_run "$f"
	assert_success
	assert_job_stdout sum "$("$PROBE" gen 300000 5 | sha256sum)"$'\n'
}

@test "stdout/stderr null, file, append and merge" {
	out=$BATS_TEST_TMPDIR/out.txt
	echo "old" > "$BATS_TEST_TMPDIR/app.txt"
	f=$(spec <<EOF
{"jobs": [
  {"name": "null", "shell": "echo o; echo e >&2", "stdout": "null", "stderr": "null"},
  {"name": "file", "shell": "echo to-file", "stdout": {"file": "$out"}},
  {"name": "append", "shell": "echo more", "stdout": {"file": "$BATS_TEST_TMPDIR/app.txt", "append": true}},
  {"name": "merge", "shell": "echo 1; echo 2 >&2; echo 3", "stderr": "stdout"}
]}
EOF
)
	piperun_run "$f"
	assert_success
	# not captured: null in the record, not ""
	[ "$(jq -c '.jobs[0] | [.stdout, .stdout_bytes, .stderr]' "$PIPERUN_RESULTS")" = '[null,null,null]' ]
	[ "$(cat "$out")" = to-file ]
	[ "$(cat "$BATS_TEST_TMPDIR/app.txt")" = "$(printf 'old\nmore')" ]
	assert_job_stdout merge $'1\n2\n3\n'
	[ "$(jq -c '.jobs[3].stderr' "$PIPERUN_RESULTS")" = null ]
}

@test "stdout inherit is piperun's own stdout, before the results; tee goes to stderr then" {
	f=$(spec <<<'{"jobs": [{"run": ["echo", "LIVE-INHERIT"], "stdout": "inherit"}, {"run": ["echo", "LIVE-TEE"], "stdout": "tee", "after": ["job-1"]}]}')
	pr run "$f"
	assert_success
	[ "${lines[0]}" = LIVE-INHERIT ]
	doc=$(printf '%s\n' "${lines[@]:1}")
	[ "$(jq -r '.jobs[1].stdout' <<<"$doc")" = LIVE-TEE ]
	[ "$(jq -r '.jobs[0].stdout' <<<"$doc")" = null ]
	[ "$stderr" = LIVE-TEE ]
}

@test "tee while the results use stdout: live lines on stderr, so piperun run | jq parses" {
	f=$(spec <<<'{"jobs": [{"name": "t", "shell": "echo LIVE-OUT; echo LIVE-ERR >&2", "stdout": "tee", "stderr": "tee"}]}')
	for o in json jsonl text; do
		pr run -o "$o" "$f"
		assert_success
		[ "$(grep -cx LIVE-OUT <<<"$output")" = 0 ]
		[ "$(sort <<<"$stderr" | paste -sd' ')" = "LIVE-ERR LIVE-OUT" ]
	done
	pr run "$f"
	jq -e '.jobs[0].stdout == "LIVE-OUT\n"' <<<"$output"
	pr run -o jsonl "$f"
	jq -e . <<<"$output" >/dev/null
	# a pipe, as a user has it
	run bash -c '"$0" run "$1" 2>/dev/null | jq -r ".jobs[0].stdout"' "$PIPERUN" "$f"
	assert_success
	assert_output LIVE-OUT
	# no results on stdout: tee is piperun's stdout as before
	pr run -o none "$f"
	assert_success
	assert_output LIVE-OUT
	[ "$stderr" = LIVE-ERR ]
}

@test "tee jobs no longer hold back the JSON document: it streams as jobs end" {
	# "wait" finishes ok only if the reader has seen the record of "first"
	# while the run still went on: the document streamed
	local seen=$BATS_TEST_TMPDIR/seen
	f=$(spec <<EOF
{"jobs": [
  {"name": "first", "run": ["echo", "LIVE"], "stdout": "tee"},
  {"name": "wait", "run": ["sh", "-c", "i=0; while [ ! -e \"\$1\" ] && [ \$i -lt 300 ]; do sleep 0.05; i=\$((i+1)); done; test -e \"\$1\"", "sh", "$seen"], "after": ["first"]}
]}
EOF
)
	run bash -c '"$0" run "$1" 2>/dev/null | while IFS= read -r l; do printf "%s\n" "$l"; case $l in *\"first\"*) : > "$2";; esac; done' \
		"$PIPERUN" "$f" "$seen"
	assert_success
	[ "$(jqo '[.jobs[].status] | join(" ")')" = "ok ok" ]
}

@test "binary output comes back base64 and decodes to the identical bytes" {
	f=$(spec <<<"{\"jobs\": [{\"run\": [\"$PROBE\", \"gen\", \"100000\", \"9\"]}]}")
	piperun_run "$f"
	assert_success
	assert_job_field job-1 stdout_encoding base64
	assert_job_field job-1 stdout_bytes 100000
	[ "$(field job-1 stdout | sha256sum)" = "$("$PROBE" gen 100000 9 | sha256sum)" ]
}

@test "encoding: auto picks base64 for NUL bytes; utf-8 replaces invalid bytes; base64 always" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "nul", "shell": "printf 'a\\000b'"},
  {"name": "lossy", "shell": "printf 'caf\\351!'", "encoding": "utf-8"},
  {"name": "clean", "shell": "printf 'caf\\303\\251'", "encoding": "utf-8"},
  {"name": "b64", "shell": "printf hi", "encoding": "base64"},
  {"name": "text", "shell": "printf 'caf\\303\\251'"}
]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(jqo '.jobs[0] | [.stdout, .stdout_encoding] | @json')" = '["YQBi","base64"]' ]
	[ "$(jqo '.jobs[1] | [(.stdout | explode), .stdout_encoding, .stdout_lossy] | @json')" = '[[99,97,102,65533,33],"utf-8",true]' ]
	[ "$(jqo '.jobs[2] | [.stdout, .stdout_lossy] | @json')" = '["café",false]' ]
	[ "$(jqo '.jobs[3] | [.stdout, .stdout_encoding] | @json')" = '["aGk=","base64"]' ]
	[ "$(jqo '.jobs[4] | [.stdout, .stdout_encoding] | @json')" = '["café","utf-8"]' ]
}

@test "max_output keeps the first bytes, counts them all, never blocks the child" {
	f=$(spec <<<"{\"jobs\": [{\"run\": [\"$PROBE\", \"gen\", \"3000000\", \"3\"], \"max_output\": \"1K\", \"encoding\": \"base64\", \"digest\": true}]}")
	piperun_run "$f"
	assert_success
	assert_job_field job-1 stdout_bytes 3000000
	assert_job_field job-1 stdout_truncated true
	[ "$(field job-1 stdout | wc -c)" = 1024 ]
	[ "$(field job-1 stdout | sha256sum)" = "$("$PROBE" gen 3000000 3 | head -c 1024 | sha256sum)" ]
	# the digest covers every byte, kept or not
	[ "$(field job-1 stdout_sha256)  -" = "$("$PROBE" gen 3000000 3 | sha256sum)" ]
}

@test "50 MB on stdout and 50 MB on stderr, interleaved: complete, digests exact" {
	# the digests cover every byte; the first MiB is kept (spilled to a
	# temporary file beyond 64 KiB) and must be those very bytes
	f=$(spec <<<"{\"jobs\": [{\"run\": [\"$PROBE\", \"both\", \"52428800\", \"11\"], \"digest\": true, \"max_output\": \"1M\", \"encoding\": \"base64\"}]}")
	# (the assertions read the --results file)
	PIPERUN_RESULTS=$BATS_TEST_TMPDIR/r.json
	"$PIPERUN" run --output none --results "$PIPERUN_RESULTS" "$f"
	assert_job_ok job-1
	assert_job_field job-1 stdout_bytes 52428800
	assert_job_field job-1 stderr_bytes 52428800
	assert_job_field job-1 stdout_truncated true
	assert_job_field job-1 stdout_sha256 "$("$PROBE" gen 52428800 11 | sha256sum | cut -d' ' -f1)"
	assert_job_field job-1 stderr_sha256 "$("$PROBE" gen 52428800 12 | sha256sum | cut -d' ' -f1)"
	[ "$(field job-1 stdout | sha256sum)" = "$("$PROBE" gen 52428800 11 | head -c 1048576 | sha256sum)" ]
	[ "$(field job-1 stderr | sha256sum)" = "$("$PROBE" gen 52428800 12 | head -c 1048576 | sha256sum)" ]
}

@test "env merges over the runner's; env_clear and unset remove" {
	export PIPERUN_T_KEEP=kept PIPERUN_T_DROP=dropped
	f=$(spec <<EOF
{"defaults": {"env": {"FROM_DEFAULTS": "d", "OVER": "default"}},
 "jobs": [
  {"run": ["$PROBE", "getenv", "PIPERUN_T_KEEP"]},
  {"run": ["$PROBE", "getenv", "OVER"], "env": {"OVER": "job"}},
  {"run": ["$PROBE", "getenv", "FROM_DEFAULTS"]},
  {"run": ["$PROBE", "getenv", "PIPERUN_T_DROP"], "unset": ["PIPERUN_T_DROP"]},
  {"run": ["$PROBE", "getenv", "PIPERUN_T_KEEP"], "env_clear": true},
  {"run": ["env"], "env_clear": true, "env": {"ONLY": "this"}}
]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(jqo '[.jobs[].stdout] | @json')" = '["kept\n","job\n","d\n","(unset)\n","(unset)\n","FROM_DEFAULTS=d\nOVER=default\nONLY=this\n"]' ]
}

@test "argv bytes reach the child unchanged: spaces, quotes, \$(), newlines, non-UTF-8" {
	f=$(spec <<EOF
{"jobs": [{"run": ["$PROBE", "argv-hex", "a b", "it's \"q\"", "\$(id)", "l1\nl2", {"base64": "/v9h"}]}]}
EOF
)
	piperun_run "$f"
	assert_success
	assert_job_stdout job-1 $'612062\n6974277320227122\n2428696429\n6c310a6c32\nfeff61\n'
}

@test "an argv item with a NUL byte is a spec error" {
	f=$(spec <<<'{"jobs": [{"run": ["echo", {"base64": "YQBi"}]}]}')
	pr validate "$f"
	assert_failure 2
	[[ $stderr == *"jobs[0].run[1].base64: an argv item cannot contain a NUL byte"* ]]
}

@test "nice, umask, rlimits and cwd apply in the child" {
	f=$(spec <<EOF
{"jobs": [
  {"run": ["$PROBE", "nice"], "nice": 5},
  {"run": ["$PROBE", "umask"], "umask": "027"},
  {"run": ["$PROBE", "rlimit", "nofile"], "rlimits": {"nofile": 100}},
  {"run": ["$PROBE", "rlimit", "cpu"], "rlimits": {"cpu": "unlimited"}},
  {"run": ["$PROBE", "cwd"], "cwd": "/tmp"}
]}
EOF
)
	pr run "$f"
	assert_success
	# nice is added to piperun's own niceness (as nice(1) does), which
	# need not be 0 where the suite runs
	local n=$(($(nice) + 5))
	[ "$n" -le 19 ] || n=19
	[ "$(jqo '[.jobs[].stdout] | @json')" = "[\"$n\\n\",\"027\\n\",\"100 100\\n\",\"unlimited unlimited\\n\",\"/tmp\\n\"]" ]
}

@test "a relative program path is looked up from the job's cwd" {
	mkdir -p "$BATS_TEST_TMPDIR/d"
	printf '#!/bin/sh\necho local\n' > "$BATS_TEST_TMPDIR/d/tool"
	chmod +x "$BATS_TEST_TMPDIR/d/tool"
	f=$(spec <<<"{\"jobs\": [{\"run\": [\"./tool\"], \"cwd\": \"$BATS_TEST_TMPDIR/d\"}]}")
	piperun_run "$f"
	assert_success
	assert_job_stdout job-1 $'local\n'
}
