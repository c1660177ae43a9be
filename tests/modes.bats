#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# serial, thread and async modes: the same results; scale; live tagged
# output; streamed results; progress on a terminal.
load helper

strip='del(.started_at, .duration_ms, .mode, .max_parallel, .job_cgroups, .runner) | .jobs[] |= (del(.started_ms, .duration_ms, .slot, .escaped, .throttled) | .stages[] |= del(.pid, .user_ms, .sys_ms, .maxrss_kb, .started_ms, .ended_ms) | .termination[] |= del(.at_ms))'

@test "a mixed spec gives the same statuses, return codes and outputs in every mode" {
	f=$(spec <<EOF
{"jobs": [
  {"name": "plain", "run": ["echo", "plain"]},
  {"name": "pipe", "pipeline": [["printf", "b\\\\na\\\\n"], ["sort"], ["tr", "a-z", "A-Z"]]},
  {"name": "fails", "shell": "echo no >&2; exit 3"},
  {"name": "slow", "run": ["sleep", "10"], "timeout": 0.3},
  {"name": "missing", "run": ["no-such-program-for-modes"]},
  {"name": "binary", "run": ["$PROBE", "gen", "5000", "2"], "digest": true},
  {"name": "dep", "run": ["wc", "-c"], "stdin": {"from": "binary"}},
  {"name": "skipped", "run": ["true"], "after": ["fails"]},
  {"name": "cleanup", "run": ["echo", "bye"], "after": ["fails"], "always": true},
  {"name": "copies", "run": ["echo", "{}"], "foreach": ["x", "y", "z"]}
]}
EOF
)
	for m in serial async thread; do
		pr run --mode "$m" -j 3 "$f"
		assert_failure 1
		jq -S "$strip" <<<"$output" > "$BATS_TEST_TMPDIR/$m.json"
	done
	diff "$BATS_TEST_TMPDIR/serial.json" "$BATS_TEST_TMPDIR/async.json"
	diff "$BATS_TEST_TMPDIR/async.json" "$BATS_TEST_TMPDIR/thread.json"
	# and they are the right results
	r=$BATS_TEST_TMPDIR/thread.json
	[ "$(jq -c '[.jobs[] | [.name, .status, .returncode]]' "$r")" = '[["plain","ok",0],["pipe","ok",0],["fails","failed",3],["slow","timeout",-15],["missing","error",127],["binary","ok",0],["dep","ok",0],["skipped","skipped",null],["cleanup","ok",0],["copies[x]","ok",0],["copies[y]","ok",0],["copies[z]","ok",0]]' ]
	[ "$(jq -r '.jobs[6].stdout' "$r")" = 5000 ]
}

@test "10 x sleep 1: together in async and thread modes, one after another in serial" {
	for m in async thread; do
		pr run --mode "$m" "$PIPELINES/sleep-fanout.json"
		assert_success
		[ "$(jqo '([.jobs[].started_ms] | max) < ([.jobs[] | .started_ms + .duration_ms] | min)')" = true ]
	done
	f=$(spec <<<'{"mode": "serial", "jobs": [{"run": ["sleep", "0.2"], "repeat": 4}]}')
	pr run "$f"
	assert_success
	[ "$(jqo '.jobs | [range(1; length) as $i | .[$i].started_ms >= .[$i-1].started_ms + .[$i-1].duration_ms] | all')" = true ]
}

@test "thread mode: fail-fast, the run timeout, retries and SIGINT behave as in async mode" {
	f=$(spec <<'EOF'
{"mode": "thread", "max_parallel": 2, "fail_fast": true, "jobs": [
  {"name": "bad", "shell": "sleep 0.2; exit 1"}, {"name": "long", "run": ["sleep", "30"]},
  {"name": "later", "run": ["true"]}, {"name": "cleanup", "run": ["true"], "after": ["bad"], "always": true}]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '[.jobs[] | .status] | @json')" = '["failed","cancelled","skipped","ok"]' ]
	f=$(spec t2.json <<'EOF'
{"mode": "thread", "timeout": "1s", "jobs": [{"run": ["sleep", "30"]}, {"run": ["true"], "after": ["job-1"]},
  {"shell": "exit 1", "retries": 2}]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '[.jobs[] | .status] | @json')" = '["cancelled","skipped","failed"]' ]
	[ "$(jqo '.jobs[2].attempts')" = 3 ]
	f=$(spec t3.json <<<'{"mode": "thread", "jobs": [{"run": ["sleep", "30"], "repeat": 5}]}')
	"${INTERRUPTIBLE[@]}" "$PIPERUN" run "$f" > "$BATS_TEST_TMPDIR/o.json" &
	pid=$!
	for i in $(seq 100); do [ "$(pgrep -c -P "$pid" sleep)" = 5 ] && break; sleep 0.05; done
	kill -INT "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 130 ]
	[ "$(jq -c '[.jobs[] | .status] | unique' "$BATS_TEST_TMPDIR/o.json")" = '["cancelled"]' ]
}

@test "thread mode: 2000 jobs, each once, no fd growth" {
	f=$(spec <<<'{"mode": "thread", "jobs": [{"name": "t", "run": ["'"$QUICK"'", "{#}"], "repeat": 2000}]}')
	pr run -j 16 -o jsonl "$f"
	assert_success
	last=$(tail -1 <<<"$output")
	[ "$(jq -c '.summary | [.total, .ok]' <<<"$last")" = '[2000,2000]' ]
	[ "$(head -n -1 <<<"$output" | jq -r '(.name[2:]) + " " + (.stdout | rtrimstr("\n"))' | awk '$1 != $2' | wc -l)" = 0 ]
	[ "$(jq '.run.runner.fds_end == .run.runner.fds_start' <<<"$last")" = true ]
}

@test "77-78: 5 producers x 10,000 lines, tagged: 50,000 intact lines, each producer's in order" {
	for m in async thread; do
		pr run --mode "$m" -o none "$PIPELINES/tail-merge.json"
		assert_success
		[ "${#lines[@]}" = 50000 ]
		# every line intact
		[ "$(grep -cvE '^producer\[([1-5])\]\| line [0-9]+ of producer \1$' <<<"$output")" = 0 ]
		for p in 1 2 3 4 5; do
			grep "^producer\[$p\]| " <<<"$output" | sed 's/.* line \([0-9]*\) .*/\1/' > "$BATS_TEST_TMPDIR/p$p"
			seq 10000 | diff - "$BATS_TEST_TMPDIR/p$p" >/dev/null
		done
	done
}

@test "--tag: a last line without newline is flushed; lines over 64 KiB are split; tee keeps the bytes" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "partial", "shell": "printf 'one\ntwo'", "stdout": "tee"},
  {"name": "long", "shell": "head -c 70000 /dev/zero | tr '\\0' x; echo", "stdout": "inherit", "after": ["partial"]}
]}
EOF
)
	pr run --tag --output jsonl "$f"
	assert_success
	# tagged lines on stderr: the records have stdout
	tagged=$stderr
	[ "$(head -2 <<<"$tagged" | paste -sd/)" = "partial| one/partial| two" ]
	[ "$(grep -c '^long| x' <<<"$tagged")" = 2 ]
	[ "$(grep '^long| ' <<<"$tagged" | awk '{print length($0)}' | paste -sd,)" = "$((65536 + 6)),$((70000 - 65536 + 6))" ]
	rec=$(grep '"name":"partial"' <<<"$output")
	[ "$(jq .stdout <<<"$rec")" = '"one\ntwo"' ]
}

@test "--tag shows captured jobs' output live too, tagged, and keeps it in the record" {
	f=$(spec <<<'{"jobs": [{"name": "c", "shell": "echo out-line; echo err-line >&2"}, {"name": "quiet", "run": ["true"]}]}')
	pr run --tag -o none "$f"
	assert_success
	assert_output "c| out-line"
	[ "$stderr" = "c| err-line" ]
	# with results on stdout, both streams' lines go to stderr
	pr run --tag "$f"
	assert_success
	[ "$(sort <<<"$stderr" | paste -sd/)" = "c| err-line/c| out-line" ]
	[ "$(jqo '.jobs[0] | [.stdout, .stderr] | @json')" = '["out-line\n","err-line\n"]' ]
}

@test "--timestamps alone implies --tag" {
	f=$(spec <<<'{"jobs": [{"name": "t", "run": ["echo", "hi"], "stdout": "tee"}]}')
	pr run --timestamps -o none "$f"
	assert_success
	[[ "$output" =~ ^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\ t\|\ hi$ ]]
}

@test "--tag with --timestamps prefixes the time of day; the spec's tag: true works too" {
	f=$(spec <<<'{"tag": true, "jobs": [{"name": "t", "run": ["echo", "hi"], "stdout": "inherit"}]}')
	pr run --timestamps -o none "$f"
	assert_success
	[[ "$output" =~ ^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\ t\|\ hi$ ]]
}

@test "the JSON document streams in spec order; --results gets the same document" {
	f=$(spec <<<'{"jobs": [{"name": "slow", "run": ["sleep", "0.3"]}, {"name": "fast", "run": ["echo", "x"]}]}')
	pr run --results "$BATS_TEST_TMPDIR/r.json" "$f"
	assert_success
	[ "$(jqo '[.jobs[].name] | @json')" = '["slow","fast"]' ]
	diff <(jq -S 'del(.runner)' <<<"$output") <(jq -S 'del(.runner)' "$BATS_TEST_TMPDIR/r.json")
}

@test "progress on a real terminal: redrawn in place, a bar, then the final line (tmux)" {
	s=piperun-test-$$-$RANDOM
	out=$BATS_TEST_TMPDIR/pane
	f=$(spec <<<'{"jobs": [{"run": ["sleep", "0.3"], "repeat": 6}]}')
	tmux new-session -d -s "$s" -x 150 -y 10 "\"$PIPERUN\" run -j 2 -o none \"$f\"; sleep 5"
	sleep 2.5
	tmux capture-pane -p -t "$s" > "$out"
	tmux kill-session -t "$s" || true
	grep -qE '^\[#{20}\] 6/6 done  0 running  0 failed  [0-9.]+s  ok' "$out"
	# drawn in place: one line on the screen, not one per update
	[ "$(grep -c 'done' "$out")" = 1 ]
}

@test "thread mode: --tag keeps lines whole when workers write at once" {
	f=$(spec <<'EOF'
{"mode": "thread", "jobs": [{"name": "w", "shell": "for i in 1 2 3 4 5 6 7 8 9 10; do echo \"{#}:$i:abcdefghijklmnopqrstuvwxyz\"; done", "repeat": 100, "stdout": "inherit"}]}
EOF
)
	pr run --tag -j 16 -o none "$f"
	assert_success
	[ "${#lines[@]}" = 1000 ]
	[ "$(grep -cvE '^w#([0-9]+)\| \1:([0-9]+):abcdefghijklmnopqrstuvwxyz$' <<<"$output")" = 0 ]
}

@test "thread mode: pipelines, timeouts and stdin.from" {
	f=$(spec <<'EOF'
{"mode": "thread", "jobs": [
  {"name": "p", "pipeline": [["yes"], ["head", "-n", "3"]], "repeat": 4},
  {"name": "t", "run": ["sleep", "10"], "timeout": 0.2},
  {"name": "src", "run": ["printf", "abc"]},
  {"name": "dst", "run": ["tr", "a-c", "A-C"], "stdin": {"from": "src"}}
]}
EOF
)
	pr run -j 4 "$f"
	assert_failure 1
	[ "$(jqo '[.jobs[] | [.status, .returncode]] | @json')" = '[["ok",0],["ok",0],["ok",0],["ok",0],["timeout",-15],["ok",0],["ok",0]]' ]
	[ "$(jqo '.jobs[6].stdout')" = ABC ]
	[ "$(jqo '[.jobs[0:4][].stages[0].signal] | unique | @json')" = '["SIGPIPE"]' ]
}
