#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# `piperun run`: statuses, return codes, errors in records, output
# formats, exit statuses, modes.  A job's record is checked by name with
# the bats helper library (piperun-bats(7)) where that reads better; an
# unnamed job is job-N (its position).
load helper
bats_load_library piperun

# The run's status, and job $1's error, in the last piperun_run's results.
run_status() {
	"$PIPERUN" show "$PIPERUN_RESULTS" --field status
}
job_error() {
	"$PIPERUN" show "$PIPERUN_RESULTS" --job "$1" --field error
}

@test "a job's stdout is captured exactly; status ok; exit 0" {
	f=$(spec <<<'{"jobs": [{"name": "hello", "run": ["echo", "Hello from the child!"]}]}')
	pr run "$f"
	assert_success
	[ -z "$stderr" ]
	[ "$(jqo '.status')" = ok ]
	[ "$(jq '.jobs[0].stdout' <<<"$output")" = '"Hello from the child!\n"' ]
	[ "$(jqo '.jobs[0] | [.status, .returncode, .exit_code, .signal, .kind, .attempts] | @json')" = '["ok",0,0,null,"run",1]' ]
	[ "$(jqo '.jobs[0].stages[0].pid > 0')" = true ]
	[ "$(jqo '.jobs[0].stages[0].argv | @json')" = '["echo","Hello from the child!"]' ]
	[ "$(jqo '.summary | @json')" = '{"total":1,"ok":1,"failed":0,"timeout":0,"error":0,"skipped":0,"cancelled":0}' ]
}

@test "a failing job: status failed, its exit code, run exits 1, stderr silent" {
	f=$(spec <<<'{"jobs": [{"shell": "echo oops >&2; exit 3"}, {"run": ["true"]}]}')
	piperun_run "$f"
	assert_failure 1
	# (piperun_run's $output is piperun's stderr)
	[ -z "$output" ]
	[ "$(run_status)" = failed ]
	assert_job_status job-1 failed
	assert_job_returncode job-1 3
	assert_job_field job-1 exit_code 3
	assert_job_stderr job-1 $'oops\n'
	assert_job_ok job-2
}

@test "a job killed by a signal: returncode -N, signal name" {
	f=$(spec <<<'{"jobs": [{"shell": "kill -9 $$"}]}')
	piperun_run "$f"
	assert_failure 1
	assert_job_status job-1 failed
	assert_job_returncode job-1 -9
	assert_job_field job-1 exit_code null
	assert_job_field job-1 signal SIGKILL
	assert_job_field job-1 stages.0.signal SIGKILL
}

@test "expect lists the exit codes that count as ok" {
	f=$(spec <<<'{"jobs": [{"shell": "exit 1", "expect": [0, 1]}, {"shell": "exit 0", "expect": [1]}]}')
	piperun_run "$f"
	assert_failure 1
	assert_job_ok job-1
	assert_job_status job-2 failed
	refute_job job-3
}

@test "not found: error 127 naming the program; the other jobs still run" {
	f=$(spec <<<'{"jobs": [{"run": ["no-such-program-4711", "x"]}, {"run": ["echo", "still here"]}]}')
	piperun_run "$f"
	assert_failure 1
	[ -z "$output" ]
	assert_job_status job-1 error
	assert_job_returncode job-1 127
	[[ "$(job_error job-1)" == *"no-such-program-4711"*"not found"* ]]
	assert_job_ok job-2
	assert_job_stdout job-2 $'still here\n'
}

@test "not executable: error 126" {
	printf '#!/bin/sh\necho hi\n' > "$BATS_TEST_TMPDIR/script"
	chmod 644 "$BATS_TEST_TMPDIR/script"
	f=$(spec <<<"{\"jobs\": [{\"run\": [\"$BATS_TEST_TMPDIR/script\"]}]}")
	piperun_run "$f"
	assert_failure 1
	assert_job_status job-1 error
	assert_job_returncode job-1 126
	[[ "$(job_error job-1)" == *"script: not executable"* ]]
}

@test "a bad cwd: error with the path, returncode null; others run" {
	f=$(spec <<<'{"jobs": [{"run": ["pwd"], "cwd": "/nonexistent/dir"}, {"run": ["true"]}]}')
	piperun_run "$f"
	assert_failure 1
	assert_job_status job-1 error
	assert_job_field job-1 returncode null
	assert_job_field job-1 exit_code null
	[[ "$(job_error job-1)" == *"/nonexistent/dir"*"No such file or directory"* ]]
	assert_job_ok job-2
}

@test "an unreadable stdin file: error with the path, returncode null" {
	f=$(spec <<<'{"jobs": [{"run": ["cat"], "stdin": {"file": "/nonexistent/input"}}, {"run": ["true"]}]}')
	piperun_run "$f"
	assert_failure 1
	assert_job_status job-1 error
	assert_job_field job-1 returncode null
	[[ "$(job_error job-1)" == *"/nonexistent/input"* ]]
	assert_job_ok job-2
}

@test "jobs appear in spec order whatever order they ran in" {
	f=$(spec <<<'{"jobs": [{"name": "slow", "run": ["sleep", "0.3"]}, {"name": "fast", "run": ["true"]}]}')
	pr run "$f"
	assert_success
	[ "$(jqo '[.jobs[].name] | @json')" = '["slow","fast"]' ]
}

@test "--output jsonl: one record per line in completion order, then the summary" {
	f=$(spec <<<'{"jobs": [{"name": "slow", "run": ["sleep", "0.3"]}, {"name": "fast", "run": ["echo", "x"]}]}')
	pr run --output jsonl "$f"
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	for l in "${lines[@]}"; do jq -e . <<<"$l" >/dev/null; done
	[ "$(jq -r .name <<<"${lines[0]}")" = fast ]
	[ "$(jq -r .name <<<"${lines[1]}")" = slow ]
	[ "$(jq -c .summary <<<"${lines[2]}")" = '{"total":2,"ok":2,"failed":0,"timeout":0,"error":0,"skipped":0,"cancelled":0}' ]
}

@test "--output jsonl: a record is out while later jobs still run, not held back to the end" {
	f=$(spec <<<'{"jobs": [{"name": "quick", "run": ["echo", "x"]}, {"name": "slow", "run": ["sleep", "30"]}]}')
	out=$BATS_TEST_TMPDIR/out.jsonl
	"$PIPERUN" run -o jsonl "$f" > "$out" &
	pid=$!
	for _ in $(seq 200); do
		grep -q '"name":"quick"' "$out" && break
		sleep 0.1
	done
	seen=$(grep -c '"name":"quick"' "$out" || true)
	running=$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)
	kill -TERM "$pid"
	wait "$pid" || true
	[ "$seen" = 1 ]
	[ "$running" = yes ]
}

@test "--output jsonl with a job's output on our stdout: each record comes right after its job" {
	f=$(spec <<'EOF'
{"max_parallel": 1, "jobs": [{"name": "a", "run": ["echo", "out-a"], "stdout": "inherit"},
                             {"name": "b", "run": ["echo", "out-b"], "stdout": "inherit"},
                             {"name": "c", "run": ["echo", "out-c"], "stdout": "inherit"}]}
EOF
)
	pr run -o jsonl "$f"
	assert_success
	order=$(sed -E 's/^\{"name":"([a-z])".*/rec-\1/; s/^\{"summary".*/summary/' <<<"$output" | paste -sd' ')
	[ "$order" = "out-a rec-a out-b rec-b out-c rec-c summary" ]
}

@test "--output jsonl: select(.name) gives exactly the job records, select(.summary) the trailer with the run's fields" {
	f=$(spec <<<'{"name": "the-run", "jobs": [{"name": "a", "run": ["true"]}, {"name": "b", "shell": "exit 1"}]}')
	pr run -o jsonl --results "$BATS_TEST_TMPDIR/r.json" "$f"
	assert_failure 1
	[ "$(jq -c 'select(.name) | .name' <<<"$output" | sort | paste -sd,)" = '"a","b"' ]
	[ "$(jq -c 'select(.summary) | keys' <<<"$output")" = '["run","summary"]' ]
	trailer=$(jq -c 'select(.summary)' <<<"$output")
	[ "$trailer" = "$(tail -1 <<<"$output" | jq -c .)" ]
	[ "$(jq -c '.summary | [.total, .ok, .failed]' <<<"$trailer")" = '[2,1,1]' ]
	# the run's fields are the document's top-level fields, jobs and summary aside
	[ "$(jq -c '.run | [.piperun, .name, .status, .stopped, .mode] ' <<<"$trailer")" = '["0.1.0","the-run","failed",null,"async"]' ]
	[ "$(jq -c '.run | keys' <<<"$trailer")" = "$(jq -c 'del(.jobs, .summary) | keys' "$BATS_TEST_TMPDIR/r.json")" ]
}

@test "--output text: a table with name, status, returncode" {
	f=$(spec <<<'{"jobs": [{"name": "good", "run": ["true"]}, {"name": "bad", "shell": "exit 2"}]}')
	pr run --output text "$f"
	assert_failure 1
	assert_line --regexp '^NAME +STATUS +RC +DURATION +ERROR'
	assert_line --regexp '^good +ok +0 '
	assert_line --regexp '^bad +failed +2 '
	assert_line --partial '2 jobs: 1 ok, 1 failed'
}

@test "--output none prints nothing; the exit status still tells" {
	f=$(spec <<<'{"jobs": [{"shell": "exit 1"}]}')
	pr run --output none "$f"
	assert_failure 1
	assert_output ''
	pr run -q "$f"
	assert_failure 1
	assert_output ''
}

@test "-q wins over -o and --progress wherever it stands" {
	f=$(spec <<<'{"jobs": [{"shell": "exit 1"}]}')
	for args in "-q -o json --progress always" "--progress always -o jsonl -q" "-q --output text"; do
		# shellcheck disable=SC2086
		pr run $args "$f"
		assert_failure 1
		assert_output ''
		[ -z "$stderr" ]
	done
}

@test "progress counts cancelled and skipped jobs as the summary does, not as failed" {
	f=$(spec <<<'{"jobs": [{"name": "s", "run": ["sleep", "30"], "repeat": 2}, {"name": "later", "run": ["true"], "after": ["s"]}]}')
	pr run --timeout 0.3 --progress always -o none "$f"
	assert_failure 1
	last=$(tail -1 <<<"$stderr")
	[[ $last == "piperun: 3/3 done, 0 running, 0 failed, 2 cancelled, 1 skipped, "* ]]
	f=$(spec <<<'{"jobs": [{"name": "bad", "shell": "exit 1"}, {"name": "t", "run": ["sleep", "30"], "timeout": 0.1}]}')
	pr run --progress always -o none "$f"
	[[ $(tail -1 <<<"$stderr") == "piperun: 2/2 done, 0 running, 2 failed, "* ]]
}

@test "--results FILE writes the JSON document there as well" {
	f=$(spec <<<'{"jobs": [{"run": ["echo", "hi"]}]}')
	pr run --output none --results "$BATS_TEST_TMPDIR/r.json" "$f"
	assert_success
	assert_output ''
	PIPERUN_RESULTS=$BATS_TEST_TMPDIR/r.json
	assert_job_stdout job-1 $'hi\n'
}

@test "--results to a place that cannot be written: exit 2, nothing started" {
	f=$(spec <<<"{\"jobs\": [{\"run\": [\"touch\", \"$BATS_TEST_TMPDIR/started\"]}]}")
	pr run --results /nonexistent/dir/r.json "$f"
	assert_failure 2
	[[ $stderr == "piperun: --results /nonexistent/dir/r.json: No such file or directory" ]]
	[ ! -e "$BATS_TEST_TMPDIR/started" ]
}

@test "results that cannot be written: exit 3 with a message" {
	f=$(spec <<<'{"jobs": [{"run": ["true"]}]}')
	pr run --results /dev/full "$f"
	assert_failure 3
	[[ $stderr == *"writing results to /dev/full: No space left on device"* ]]
}

@test "serial and async modes give the same results" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "a", "run": ["echo", "a"]},
  {"name": "b", "shell": "echo b >&2; exit 4"},
  {"name": "c", "run": ["no-such-prog-xyz"]},
  {"name": "d", "run": ["cat"], "stdin": {"from": "a"}},
  {"name": "e", "run": ["sleep", "0.05"], "repeat": 3}
]}
EOF
)
	strip='del(.started_at, .duration_ms, .mode, .max_parallel, .job_cgroups, .runner) | .jobs[] |= (del(.started_ms, .duration_ms, .slot) | .stages[] |= del(.pid, .user_ms, .sys_ms, .maxrss_kb, .started_ms, .ended_ms))'
	pr run --mode serial "$f"
	assert_failure 1
	serial=$(jq -S "$strip" <<<"$output")
	pr run --mode async "$f"
	assert_failure 1
	async=$(jq -S "$strip" <<<"$output")
	[ "$serial" = "$async" ]
	pr run -j 1 "$f"
	[ "$(jq -S "$strip" <<<"$output")" = "$serial" ]
}

@test "serial mode runs one job at a time, in spec order" {
	f=$(spec <<<'{"mode": "serial", "jobs": [{"run": ["sleep", "0.1"]}, {"run": ["sleep", "0.1"]}, {"run": ["sleep", "0.1"]}]}')
	pr run "$f"
	assert_success
	# each job starts after the previous one ended
	jqo '.jobs | [range(1; length) as $i | .[$i].started_ms >= .[$i-1].started_ms + .[$i-1].duration_ms] | all' | grep -qx true
}

@test "-j N limits how many jobs run at once" {
	f=$(spec <<<'{"jobs": [{"run": ["sleep", "0.2"], "repeat": 4}]}')
	pr run -j 2 "$f"
	assert_success
	# at no job's start were more than 2 jobs running
	jqo '[.jobs[] | {s: .started_ms, e: (.started_ms + .duration_ms)}] as $j
	     | [$j[] as $a | [$j[] | select(.s <= $a.s and .e > $a.s)] | length] | max' | grep -qx 2
}

@test "max_parallel 0 means as many as the limits allow, shown in the results" {
	f=$(spec <<<'{"max_parallel": 0, "jobs": [{"run": ["true"]}]}')
	pr run "$f"
	assert_success
	[ "$(jqo '.max_parallel > 1')" = true ]
}

@test "the results document carries the header fields of the contract" {
	f=$(spec <<<'{"name": "hdr", "jobs": [{"run": ["true"]}]}')
	pr run "$f"
	assert_success
	[ "$(jqo '[.piperun, .name, .status, .mode] | @json')" = '["0.1.0","hdr","ok","async"]' ]
	[[ "$(jqo '.started_at')" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$ ]]
	[ "$(jqo '.duration_ms >= 0')" = true ]
}

@test "repeat and foreach copies run with their placeholders" {
	f=$(spec <<<'{"jobs": [{"name": "g", "run": ["echo", "{}-{#}"], "foreach": ["x", "y"]}, {"name": "s", "shell": "echo {}", "foreach": ["$(echo pwned)"]}]}')
	piperun_run "$f"
	assert_success
	[ "$("$PIPERUN" show "$PIPERUN_RESULTS" | paste -sd,)" = 'g[x],g[y],s[$(echo pwned)]' ]
	assert_job_stdout 'g[x]' $'x-1\n'
	assert_job_stdout 'g[y]' $'y-2\n'
	assert_job_stdout 's[$(echo pwned)]' $'$(echo pwned)\n'
}

@test "control characters in names are escaped in tags and the text table; JSON keeps them exact" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "a\nb", "run": ["echo", "hi"]},
  {"name": "c\\d\u001b[31m", "shell": "echo x; echo y >&2; exit 3"},
  {"name": "f", "run": ["printf", "%s\\n", "{}"], "foreach": ["one\ntwo\r"]}
]}
EOF
)
	pr run -o text --tag "$f"
	assert_failure 1
	# the table: a header, one line per job, the summary
	[ "${#lines[@]}" = 5 ]
	assert_line --regexp '^a\\nb +ok +0 '
	assert_line --regexp '^c\\\\d\\x1b\[31m +failed +3 '
	assert_line --regexp '^f\[one\\ntwo\\r\] +ok +0 '
	# every tagged line carries its whole, escaped tag
	[ "$(grep -cvE '^(a\\nb|c\\\\d\\x1b\[31m|f\[one\\ntwo\\r\])\| ' <<<"$stderr")" = 0 ]
	[ "$(grep -c '' <<<"$stderr")" = 5 ]
	grep -qxF 'a\nb| hi' <<<"$stderr"
	# the records keep the names exactly
	pr run "$f"
	[ "$(jqo '.jobs[0].name')" = $'a\nb' ]
	[ "$(jqo '.jobs[2].name')" = $'f[one\ntwo\r]' ]
}

@test "control characters in names are escaped in validation errors: one error, one line" {
	f=$(spec <<'EOF'
{"jobs": [{"name": "x", "run": ["true"], "after": ["no\nsuch\u001b[2J"]}, {"name": "a\tb", "run": ["true"]}, {"name": "a\tb", "run": ["true"]}]}
EOF
)
	pr validate "$f"
	assert_failure 2
	[ "$(grep -c '' <<<"$stderr")" = 2 ]
	[[ $stderr == *'no job named "no\nsuch\x1b[2J"'* ]]
	[[ $stderr == *'duplicate job name "a\tb"'* ]]
}

@test "control characters in step names are escaped in the progress line" {
	f=$(spec <<'EOF'
{"jobs": [{"name": "s", "items": ["1", "2", "3", "4"], "steps": [{"name": "sl\u001bept", "run": ["sh", "-c", "sleep 0.3; echo \"$1\"", "sh", "{}"]}]}]}
EOF
)
	pr run --progress always -o none "$f"
	assert_success
	[ "$(grep -cv '^piperun: ' <<<"$stderr")" = 0 ]
	grep -q 'sl\\x1bept [0-9]' <<<"$stderr"
	[ "$(grep -c $'\e' <<<"$stderr")" = 0 ]
}

@test "numbers reach argv and names exactly: integers as written up to 2^53, fractions as their shortest text" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "n", "run": ["echo", "{}"],
   "foreach": [1733460000000000, 9007199254740992, -9007199254740992, 0.1, 1e15, 2.5, 1.0, 0.30000000000000004]},
  {"name": "s", "steps": [{"run": ["echo", "{}"]}], "items": [1733460000000000, 0.1], "ordered": true},
  {"name": "p", "pool": {"task": "gcd", "items": [[1733460000000000, 4]]}}
]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(jqo '[.jobs[] | select(.name | startswith("n[")) | .name + "=" + .stdout] | join("")')" = "$(printf '%s\n' \
		'n[1733460000000000]=1733460000000000' 'n[9007199254740992]=9007199254740992' \
		'n[-9007199254740992]=-9007199254740992' 'n[0.1]=0.1' 'n[1000000000000000]=1000000000000000' \
		'n[2.5]=2.5' 'n[1]=1' 'n[0.30000000000000004]=0.30000000000000004')" ]
	[ "$(jqo '.jobs[] | select(.name == "s") | .stdout')" = "$(printf '1733460000000000\n0.1')" ]
	# the pool gets the integer as an integer (not 1.73346e+15, a number gcd refuses)
	[ "$(jqo '.jobs[] | select(.name == "p") | .items[0] | [.status, .result, (.input | @json)] | @json')" = '["ok",4,"[1733460000000000,4]"]' ]
}

@test "--results through a symbolic link or /dev/stdout writes where it points; the link stays" {
	f=$(spec <<<'{"jobs": [{"run": ["true"]}]}')
	d="$BATS_TEST_TMPDIR"
	echo old > "$d/real.json"
	ln -s real.json "$d/link.json"
	run --separate-stderr "$PIPERUN" run -o none --results "$d/link.json" "$f"
	assert_success
	[ -L "$d/link.json" ]
	[ "$(jq -r .status "$d/real.json")" = ok ]
	"$PIPERUN" run -o none --results /dev/stdout "$f" > "$d/out.json"
	[ "$(jq -r .status "$d/out.json")" = ok ]
}

# A first job that ends only once every other job has: their records
# must wait for it, aside, and come out in spec order after it.
aside_spec() {
	local d=$1 inherit=${2:-}
	mkdir -p "$d/m"
	cat > "$d/spec.json" <<EOF
{"jobs": [
 {"name": "first", "run": ["sh", "-c", "while [ \$(ls \"\$1\" | wc -l) -lt 44 ]; do sleep 0.02; done; echo first", "sh", "$d/m"]$inherit},
 {"name": "v", "foreach": ["a", "b \"q\"", "c\\\\d", "é ü", "tab\tx"], "run": ["sh", "-c", "printf '%s' \"\$1\"; touch \"\$2\"", "sh", "{}", "$d/m/v{#}"]},
 {"name": "big", "run": ["sh", "-c", "seq 1 30000; touch \"\$1\"", "sh", "$d/m/big"]},
 {"name": "bin", "run": ["sh", "-c", "printf '\\\\377\\\\000\\\\001'; echo err >&2; touch \"\$1\"; exit 3", "sh", "$d/m/bin"]},
 {"name": "r", "repeat": 37, "run": ["sh", "-c", "echo \$1; touch \"\$2\"", "sh", "{#}", "$d/m/r{#}"]},
 {"name": "after", "after": ["r"], "run": ["echo", "after"]}
]}
EOF
	echo "$d/spec.json"
}

# Every record of the aside spec's document $1, whole and in order.
check_aside_doc() {
	jq -e '[.jobs[].name] == ["first", "v[a]", "v[b \"q\"]", "v[c\\d]", "v[é ü]", "v[tab\tx]", "big", "bin"] + [range(1; 38) | "r#\(.)"] + ["after"]' "$1"
	jq -e '.jobs[0].stdout == "first\n" and ([.jobs[1:6][].stdout] == ["a", "b \"q\"", "c\\d", "é ü", "tab\tx"])' "$1"
	[ "$(jq -r '.jobs[6].stdout' "$1")" = "$(seq 1 30000)" ]
	jq -e '.jobs[7] | .status == "failed" and .stdout_encoding == "base64" and .stdout == "/wAB" and .stderr == "err\n"' "$1"
	jq -e '[.jobs[8:45][].stdout] == [range(1; 38) | "\(.)\n"] and .jobs[45].stdout == "after\n"' "$1"
	jq -e '.summary == {"total": 46, "ok": 45, "failed": 1, "timeout": 0, "error": 0, "skipped": 0, "cancelled": 0}' "$1"
}

@test "-o json: records that wait for an earlier job come out whole, once each, in spec order (every mode)" {
	d=$BATS_TEST_TMPDIR
	for mode in async thread serial; do
		rm -rf "$d/m"
		f=$(aside_spec "$d")
		# serial: the first job would wait for ever; it runs alone first
		[ $mode != serial ] || for i in $(seq 44); do touch "$d/m/$i"; done
		pr run --mode $mode -j 8 --results "$d/r.json" "$f"
		assert_failure 1
		printf '%s\n' "$output" > "$d/out.json"
		check_aside_doc "$d/out.json"
		diff <(jq -S 'del(.runner)' "$d/out.json") <(jq -S 'del(.runner)' "$d/r.json")
	done
}

@test "-o json with a job that inherits stdout: its output, then the document whole and in spec order" {
	d=$BATS_TEST_TMPDIR
	f=$(aside_spec "$d" ', "stdout": "inherit"')
	pr run -j 8 --results "$d/r.json" "$f"
	assert_failure 1
	[ "${lines[0]}" = first ]
	printf '%s\n' "${lines[@]:1}" > "$d/out.json"
	jq '.jobs[0].stdout = "first\n"' "$d/out.json" > "$d/fixed.json"
	check_aside_doc "$d/fixed.json"
	diff <(jq -S 'del(.runner)' "$d/out.json") <(jq -S 'del(.runner)' "$d/r.json")
}

# $2 jobs r#1.. that print their number, behind a first job that ends
# once they all have
behind_first() {
	local d=$1 n=$2
	mkdir -p "$d/m"
	cat > "$d/behind.json" <<EOF
{"jobs": [
 {"name": "first", "run": ["sh", "-c", "while [ \$(ls \"\$1\" | wc -l) -lt $n ]; do sleep 0.02; done", "sh", "$d/m"]},
 {"name": "r", "repeat": $n, "run": ["sh", "-c", "echo \$1; touch \"\$2\"", "sh", "{#}", "$d/m/r{#}"]}
]}
EOF
	echo "$d/behind.json"
}

@test "-o json without a temporary file to be had: the records wait in memory, as before" {
	d=$BATS_TEST_TMPDIR
	f=$(behind_first "$d" 20)
	TMPDIR=$d/none pr run -j 8 "$f"
	assert_success
	jq -e '[.jobs[].name] == ["first"] + [range(1; 21) | "r#\(.)"] and [.jobs[1:][].stdout] == [range(1; 21) | "\(.)\n"]' <<<"$output"
}

@test "-o json: records aside that cannot be written: exit 3, and stderr says they were lost" {
	d=$BATS_TEST_TMPDIR
	f=$(behind_first "$d" 60)
	# RLIMIT_FSIZE with SIGXFSZ ignored: the temporary file takes 8 KiB,
	# the 60 records waiting for the first job take more
	run --separate-stderr bash -c 'trap "" XFSZ; ulimit -f 8; exec "$0" run -j 8 "$1"' "$PIPERUN" "$f"
	[ "$status" -eq 3 ]
	[[ $stderr == *"piperun: the results' temporary file: File too large: records lost"* ]]
}

@test "-o json: records that wait for an earlier job wait in a temporary file, not in the runner" {
	d=$BATS_TEST_TMPDIR
	mkdir -p "$d/m" "$d/tmp"
	# the first job, once the others are done, looks for a deleted file
	# in TMPDIR among its runner's open files (captured output this small
	# uses none)
	f=$(spec <<EOF
{"jobs": [
 {"name": "first", "run": ["sh", "-c", "while [ \$(ls \"\$1\" | wc -l) -lt 30 ]; do sleep 0.02; done; for i in \$(seq 250); do ls -l /proc/\$PPID/fd | grep -q \"\$2/.*(deleted)\" && break; sleep 0.02; done; ls -l /proc/\$PPID/fd | grep -c \"\$2/.*(deleted)\"", "sh", "$d/m", "$d/tmp"]},
 {"name": "r", "repeat": 30, "run": ["sh", "-c", "echo \$1; touch \"\$2\"", "sh", "{#}", "$d/m/r{#}"]}
]}
EOF
)
	TMPDIR=$d/tmp pr run -j 8 "$f"
	assert_success
	[ "$(jqo '.jobs[0].stdout')" = 1 ]
	jq -e '[.jobs[1:][].stdout] == [range(1; 31) | "\(.)\n"]' <<<"$output"
}

@test "-o json: a records' file that fails under the first record loses nothing: that record stays with its job" {
	d=$BATS_TEST_TMPDIR
	mkdir -p "$d/m"
	# a record past the file's 64 KiB buffer from its argv alone (its
	# output is small, so no capture file meets the limit)
	long=$(head -c 70000 /dev/zero | tr '\0' y)
	cat > "$d/spec.json" <<EOF
{"jobs": [
 {"name": "first", "run": ["sh", "-c", "while [ ! -e \"\$1\" ]; do sleep 0.02; done", "sh", "$d/m/long"]},
 {"name": "long", "run": ["sh", "-c", "echo \${#1}; touch \"\$2\"", "sh", "$long", "$d/m/long"]}
]}
EOF
	run --separate-stderr bash -c 'trap "" XFSZ; ulimit -f 8; exec "$0" run -j 2 "$1"' "$PIPERUN" "$d/spec.json"
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	[ -z "$stderr" ]
	jq -e --arg long "$long" '[.jobs[].name] == ["first", "long"] and .jobs[1].stdout == "70000\n" and .jobs[1].stages[0].argv[4] == $long' <<<"$output"
}

@test "foreach copies are made as they start: 3,000 values with duplicates and odd bytes, every record once, in spec order, exact (every mode)" {
	d=$BATS_TEST_TMPDIR
	python3 - "$d/values" <<'PY'
import sys
vals = []
for i in range(3000):
    if i % 7 == 6:
        vals.append(vals[i // 2])          # a duplicate: named VALUE#2, #3, ...
    elif i % 11 == 0:
        vals.append('q"b\\s]#%d [x' % i)   # quotes, backslash, brackets, "]#"
    else:
        vals.append('v%d é' % i)
open(sys.argv[1], 'w').write(''.join(v + '\n' for v in vals))
PY
	cat > "$d/spec.json" <<EOF
{"jobs": [{"name": "e", "foreach": {"lines": "$d/values"}, "run": ["printf", "%s|%s", "{}", "{#}"]},
 {"name": "last", "after": ["e"], "run": ["echo", "done"]}]}
EOF
	# what the names and outputs must be, from the values alone
	python3 - "$d/values" "$d/want.json" <<'PY'
import json, sys
vals = open(sys.argv[1]).read().split('\n')[:-1]
seen, names, outs = {}, [], []
for i, v in enumerate(vals):
    seen[v] = seen.get(v, 0) + 1
    names.append('e[%s]' % v if seen[v] == 1 else 'e[%s]#%d' % (v, seen[v]))
    outs.append('%s|%d' % (v, i + 1))
json.dump({"names": names + ["last"], "outs": outs + ["done\n"]}, open(sys.argv[2], 'w'))
PY
	for mode in async thread serial; do
		pr run --mode $mode -j 4 "$d/spec.json"
		assert_success
		printf '%s\n' "$output" > "$d/out.json"
		jq -e --slurpfile w "$d/want.json" '[.jobs[].name] == $w[0].names and [.jobs[].stdout] == $w[0].outs' "$d/out.json"
		jq -e '.summary.total == 3001 and .summary.ok == 3001' "$d/out.json"
	done
	# the jobs are there by name: after, --only and stdin.from find the copies
	pr run -o jsonl --only 'e[q"b\s]#11 [x]' "$d/spec.json"
	assert_success
	[ "$(jq -rs '[.[] | select(.name) | .stdout] | @json' <<<"$output")" = '["q\"b\\s]#11 [x|12"]' ]
}

@test "a program an earlier job makes is found by the copies that start after it (looked up as each job starts)" {
	d=$BATS_TEST_TMPDIR
	cat > "$d/spec.json" <<EOF
{"jobs": [
 {"name": "mk", "cwd": "$d", "run": ["sh", "-c", "printf '#!/bin/sh\\\\necho made \$1\\\\n' > tool; chmod +x tool"]},
 {"name": "w", "cwd": "$d", "repeat": 3, "after": ["mk"], "run": ["./tool", "{}"]}
]}
EOF
	pr run "$d/spec.json"
	assert_success
	[ "$(jqo '[.jobs[] | .stdout] | @json')" = '["","made 1\n","made 2\n","made 3\n"]' ]
	# --only one copy: it and what it waits for
	rm "$d/tool"
	pr run -o jsonl --only 'w#2' "$d/spec.json"
	assert_success
	[ "$(jq -rs '[.[] | select(.name) | [.name, .status, .stdout]] | @json' <<<"$output")" = '[["mk","ok",""],["w#2","ok","made 2\n"]]' ]
}
