#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Timeouts, signals, retries, fail-fast, the run timeout, the runner's own
# signals, progress.
load helper

@test "67f: sleep 10 with timeout 0.1: returncode -15, status timeout, TERM at 0.1 s" {
	pr run "$PIPELINES/timeout.json"
	assert_failure 1
	[ "$(jqo '.jobs[0] | [.status, .returncode, .exit_code, .signal, .timed_out] | @json')" = '["timeout",-15,null,"SIGTERM",true]' ]
	[ "$(jqo '.jobs[0].termination | length')" = 1 ]
	[ "$(jqo '.jobs[0].termination[0].signal')" = SIGTERM ]
	# the signal went out at the deadline, not before
	[ "$(jqo '.jobs[0].termination[0].at_ms >= 100')" = true ]
	[ "$(jqo '.summary.timeout')" = 1 ]
}

@test "signal chooses what the timeout sends first" {
	f=$(spec <<<'{"jobs": [{"run": ["sleep", "10"], "timeout": "50ms", "signal": "INT"}]}')
	pr run "$f"
	assert_failure 1
	[ "$(jqo '.jobs[0] | [.status, .returncode, .termination[0].signal] | @json')" = '["timeout",-2,"SIGINT"]' ]
}

@test "a job ignoring its signal is killed after kill_after" {
	f=$(spec <<EOF
{"jobs": [{"run": ["$PROBE", "ignore-term", "30"], "timeout": 1, "kill_after": 0.2}]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '.jobs[0] | [.status, .returncode, .timed_out] | @json')" = '["timeout",-9,true]' ]
	[ "$(jqo '[.jobs[0].termination[].signal] | @json')" = '["SIGTERM","SIGKILL"]' ]
	[ "$(jqo '.jobs[0].termination[1].at_ms - .jobs[0].termination[0].at_ms >= 200')" = true ]
}

@test "a stopped job acts on its timeout signal: SIGCONT follows it, no KILL needed (every mode, pipelines too)" {
	# a stopped process keeps TERM pending until continued: without the
	# SIGCONT it would wait for the KILL, kill_after later.  The job must
	# have stopped itself when its timeout comes: a TERM before the STOP
	# is caught, and the STOP that follows the SIGCONT holds it until the
	# KILL; 1 s was too little under the ASan phase's load (twice).
	f=$(spec <<'EOF'
{"jobs": [{"name": "s", "shell": "trap 'exit 7' TERM; kill -STOP $$", "timeout": 3, "kill_after": 5},
          {"name": "p", "pipeline": [["sh", "-c", "trap 'exit 7' TERM; kill -STOP $$"], ["cat"]],
           "timeout": 3, "kill_after": 5}]}
EOF
)
	for mode in async thread serial; do
		pr run --mode "$mode" "$f"
		assert_failure 1
		# (the pipeline's cat dies of the TERM: its returncode is -15)
		[ "$(jqo '[.jobs[] | [.status, .returncode, (.termination | map(.signal)), .stages[0].returncode]] | @json')" = \
		  '[["timeout",7,["SIGTERM"],7],["timeout",-15,["SIGTERM"],7]]' ]
	done
}

@test "a grandchild that ignores TERM: both gone after timeout + kill_after; nothing of the run remains" {
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [{"shell": "sh -c 'trap \"\" TERM; sleep 30; :' $m & sleep 30", "timeout": 1, "kill_after": 0.3}]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '.jobs[0].status')" = timeout ]
	[ "$(jqo '[.jobs[0].termination[].signal] | @json')" = '["SIGTERM","SIGKILL"]' ]
	[ -z "$(procs_with "$m")" ]
}

@test "timeouts apply to pipelines as one job" {
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [{"pipeline": [["sh", "-c", "sleep 30; : $m"], ["sh", "-c", "cat; : $m"]], "timeout": 1}]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '.jobs[0] | [.status, .returncode] | @json')" = '["timeout",-15]' ]
	[ "$(jqo '[.jobs[0].stages[].returncode] | @json')" = '[-15,-15]' ]
	[ -z "$(procs_with "$m")" ]
}

@test "retries: a failing job is tried again; every attempt is in attempt_history" {
	c=$BATS_TEST_TMPDIR/count
	f=$(spec <<EOF
{"jobs": [
  {"name": "flaky", "shell": "n=\$(cat $c 2>/dev/null || echo 0); n=\$((n+1)); echo \$n > $c; echo try\$n; [ \$n -ge 3 ]",
   "retries": 5, "retry_delay": "10ms", "retry_backoff": 2},
  {"name": "hopeless", "shell": "exit 4", "retries": 2},
  {"name": "slowpoke", "run": ["sleep", "5"], "timeout": 0.05, "retries": 1}
]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '.jobs[0] | [.status, .attempts, .stdout] | @json')" = '["ok",3,"try3\n"]' ]
	[ "$(jqo '[.jobs[0].attempt_history[] | [.status, .returncode]] | @json')" = '[["failed",1],["failed",1],["ok",0]]' ]
	[ "$(jqo '.jobs[1] | [.status, .attempts, (.attempt_history | length)] | @json')" = '["failed",3,3]' ]
	[ "$(jqo '.jobs[2] | [.status, .attempts, [.attempt_history[].status]] | @json')" = '["timeout",2,["timeout","timeout"]]' ]
}

@test "fail_fast true: the first job not ok cancels running jobs and skips pending ones" {
	f=$(spec <<'EOF'
{"fail_fast": true, "max_parallel": 2, "jobs": [
  {"name": "bad", "shell": "sleep 0.1; exit 1"},
  {"name": "long", "run": ["sleep", "30"]},
  {"name": "later", "run": ["true"]},
  {"name": "cleanup", "run": ["echo", "cleaned"], "after": ["bad"], "always": true}
]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '[.jobs[] | .status] | @json')" = '["failed","cancelled","skipped","ok"]' ]
	[ "$(jqo '.jobs[1] | [.timed_out, .returncode] | @json')" = '[false,-15]' ]
	[ "$(jqo '.jobs[2] | [.attempts, .error] | @json')" = '[0,"not started: fail-fast"]' ]
	[ "$(jqo '.stopped')" = fail_fast ]
}

@test "fail_fast N: stops after N jobs are not ok" {
	f=$(spec <<'EOF'
{"fail_fast": 2, "max_parallel": 1, "jobs": [
  {"shell": "exit 1"}, {"run": ["true"]}, {"shell": "exit 2"}, {"run": ["true"]}, {"run": ["true"]}
]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '[.jobs[] | .status] | @json')" = '["failed","ok","failed","skipped","skipped"]' ]
	pr run --fail-fast "$f"
	[ "$(jqo '[.jobs[] | .status] | @json')" = '["failed","skipped","skipped","skipped","skipped"]' ]
}

@test "the run timeout: running jobs cancelled, pending ones skipped (spec and --timeout)" {
	f=$(spec <<'EOF'
{"timeout": "300ms", "max_parallel": 2, "jobs": [
  {"name": "quick", "run": ["true"]},
  {"name": "long1", "run": ["sleep", "30"]},
  {"name": "long2", "run": ["sleep", "30"]},
  {"name": "never", "run": ["true"], "after": ["long1"]},
  {"name": "cleanup", "run": ["true"], "after": ["long1"], "always": true}
]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '[.jobs[] | .status] | @json')" = '["ok","cancelled","cancelled","skipped","skipped"]' ]
	[ "$(jqo '.stopped')" = timeout ]
	[ "$(jqo '.jobs[1] | [.timed_out, .returncode] | @json')" = '[false,-15]' ]
	[ "$(jqo '.jobs[3].error')" = "not started: the run timed out" ]
	f2=$(spec f2.json <<<'{"jobs": [{"run": ["sleep", "30"]}, {"run": ["true"], "after": ["job-1"]}]}')
	pr run --timeout 0.2 "$f2"
	assert_failure 1
	[ "$(jqo '[.jobs[] | .status] | @json')" = '["cancelled","skipped"]' ]
}

@test "SIGINT to piperun run with 20 running sleeps: 20 cancelled records, then killed by SIGINT (130)" {
	f=$(spec <<<'{"jobs": [{"name": "s", "run": ["sleep", "30"], "repeat": 20}, {"name": "after", "run": ["true"], "after": ["s"]}]}')
	out=$BATS_TEST_TMPDIR/out.json
	"${INTERRUPTIBLE[@]}" "$PIPERUN" run "$f" > "$out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	# wait until all 20 are running
	for i in $(seq 100); do [ "$(pgrep -c -P "$pid" sleep)" = 20 ] && break; sleep 0.05; done
	kill -INT "$pid"
	run timeout 10 bash -c "wait $pid" || true
	wait "$pid" || rc=$?
	[ "${rc:-0}" = 130 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	[ "$(jq -r '.status' "$out")" = interrupted ]
	[ "$(jq -r '.stopped' "$out")" = SIGINT ]
	[ "$(jq -c '[.jobs[] | .status] | group_by(.) | map([.[0], length])' "$out")" = '[["cancelled",20],["skipped",1]]' ]
	[ "$(jq -c '[.jobs[0:20][] | .returncode] | unique' "$out")" = '[-15]' ]
	[ "$(jq '.jobs | length' "$out")" = 21 ]
}

@test "SIGTERM and SIGHUP are re-raised too (143, 129)" {
	f=$(spec <<<'{"jobs": [{"run": ["sleep", "30"]}]}')
	for sig in TERM HUP; do
		"$PIPERUN" run -o none "$f" &
		pid=$!
		for i in $(seq 100); do pgrep -P "$pid" sleep >/dev/null && break; sleep 0.05; done
		kill -$sig "$pid"
		rc=0
		wait "$pid" || rc=$?
		want=$([ $sig = TERM ] && echo 143 || echo 129)
		[ "$rc" = "$want" ]
	done
}

@test "every terminating signal stops the run: results written, nothing left, killed by that signal" {
	# beyond INT/TERM/HUP: the rest of the signals whose default action
	# ends a process (CONTRACT 8.3, piperun(1) SIGNALS)
	for sig in QUIT USR1 USR2 ALRM PIPE XCPU XFSZ VTALRM PROF IO PWR STKFLT RTMIN RTMIN+5 RTMAX; do
		m=$(marker)-$sig
		f=$(spec "s-$sig.json" <<EOF
{"jobs": [{"name": "tree", "shell": "sh -c 'sleep 300; :' $m & sleep 301; : $m"},
          {"name": "later", "run": ["true"], "after": ["tree"]}]}
EOF
)
		out=$BATS_TEST_TMPDIR/out-$sig.json
		"${INTERRUPTIBLE[@]}" "$PIPERUN" run "$f" > "$out" 2>"$BATS_TEST_TMPDIR/err" &
		pid=$!
		for i in $(seq 100); do [ "$(procs_with "$m" | wc -l)" -ge 2 ] && break; sleep 0.05; done
		kill -s "$sig" "$pid"
		rc=0
		wait "$pid" || rc=$?
		num=$(kill -l "$sig")
		[ "$rc" = $((128 + num)) ] || { echo "SIG$sig: exit $rc"; return 1; }
		[ ! -s "$BATS_TEST_TMPDIR/err" ]
		# piperun names real-time signals SIGRTMIN+k (bash: RTMAX-k above the middle)
		name=SIG$sig
		[ "$num" -gt 34 ] && name=SIGRTMIN+$((num - 34))
		[ "$(jq -c '[.status, .stopped, [.jobs[].status]]' "$out")" = \
		  "[\"interrupted\",\"$name\",[\"cancelled\",\"skipped\"]]" ] ||
			{ echo "SIG$sig: $(jq -c '[.status, .stopped, [.jobs[].status]]' "$out")"; return 1; }
		gone "$m" || { echo "SIG$sig: left running"; return 1; }
	done
}

@test "a signal ignored when piperun started stays ignored, for piperun and its jobs (nohup)" {
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [{"name": "j", "shell": "sleep 0.6; echo still-here; : $m"}]}
EOF
)
	for sig in HUP USR1 PIPE; do
		out=$BATS_TEST_TMPDIR/out-$sig.json
		env --ignore-signal="$sig" "$PIPERUN" run "$f" > "$out" &
		pid=$!
		for i in $(seq 100); do [ -n "$(procs_with "$m")" ] && break; sleep 0.05; done
		kill -s "$sig" "$pid"
		pkill -"$sig" -f -- "$m" || true
		rc=0
		wait "$pid" || rc=$?
		[ "$rc" = 0 ] || { echo "SIG$sig: exit $rc"; return 1; }
		[ "$(jq -c '[.status, .stopped, .jobs[0].status, .jobs[0].stdout]' "$out")" = '["ok",null,"ok","still-here\n"]' ]
	done
}

@test "under timeout(1), whose signal reaches piperun twice (itself, its group), jobs get their signal, not an instant KILL" {
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [{"shell": "trap 'echo got-term; exit 3' TERM; while :; do sleep 0.05; done; : $m"}]}
EOF
)
	res=$BATS_TEST_TMPDIR/res.json
	timeout -k 10 600 "$PIPERUN" run --results "$res" -o none "$f" &
	tpid=$!
	for i in $(seq 200); do [ -n "$(procs_with "$m")" ] && break; sleep 0.05; done
	sleep 0.1
	# timeout's timer is a SIGALRM: it times out now
	kill -ALRM "$tpid"
	rc=0
	wait "$tpid" || rc=$?
	[ "$rc" = 124 ]
	[ "$(jq -c '.jobs[0] | [.status, .returncode, .stdout, (.termination | map(.signal))]' "$res")" = '["cancelled",3,"got-term\n",["SIGTERM"]]' ]
}

@test "a second SIGINT sends KILL at once" {
	f=$(spec <<EOF
{"jobs": [{"run": ["$PROBE", "ignore-term", "30"], "kill_after": "60s", "repeat": 3}]}
EOF
)
	out=$BATS_TEST_TMPDIR/out.json
	"${INTERRUPTIBLE[@]}" "$PIPERUN" run "$f" > "$out" &
	pid=$!
	for i in $(seq 100); do [ "$(pgrep -c -P "$pid" sleep)" = 3 ] && break; sleep 0.05; done
	kill -INT "$pid"
	sleep 0.3
	kill -INT "$pid"
	rc=0
	timeout 10 tail --pid="$pid" -f /dev/null
	wait "$pid" || rc=$?
	[ "$rc" = 130 ]
	[ "$(jq -c '[.jobs[] | [.status, .returncode]] | unique' "$out")" = '[["cancelled",-9]]' ]
	[ "$(jq -c '[.jobs[0].termination[].signal]' "$out")" = '["SIGTERM","SIGKILL"]' ]
}

@test "always jobs do not start after an interrupt" {
	f=$(spec <<<'{"jobs": [{"name": "w", "run": ["sleep", "30"]}, {"name": "c", "run": ["true"], "after": ["w"], "always": true}]}')
	"${INTERRUPTIBLE[@]}" "$PIPERUN" run "$f" > "$BATS_TEST_TMPDIR/out.json" &
	pid=$!
	for i in $(seq 100); do pgrep -P "$pid" sleep >/dev/null && break; sleep 0.05; done
	kill -INT "$pid"
	wait "$pid" || true
	[ "$(jq -c '[.jobs[] | .status]' "$BATS_TEST_TMPDIR/out.json")" = '["cancelled","skipped"]' ]
}

@test "67b: --progress always shows the job running and then done; JSON on stdout intact" {
	pr run --progress always "$PIPELINES/poll.json"
	assert_success
	jq -e '.jobs[0].status == "ok"' <<<"$output" >/dev/null
	[[ "$stderr" == *"0/1 done, 1 running"* ]]
	[[ "$stderr" == *"1/1 done, 0 running, 0 failed"*": ok"* ]]
}

@test "progress stays off when stderr is not a terminal, and with --progress never" {
	pr run "$PIPELINES/hello.json"
	[ -z "$stderr" ]
	pr run --progress never "$PIPELINES/hello.json"
	[ -z "$stderr" ]
	pr run --progress sometimes "$PIPELINES/hello.json"
	assert_failure 2
}

@test "piperun never signals its own process group (a canary beside it survives 200 timeouts)" {
	f=$(spec <<<'{"jobs": [{"run": ["sleep", "10"], "timeout": "20ms", "repeat": 200}]}')
	run setsid bash -c "sleep 60 & canary=\$!; \"$PIPERUN\" run -j 50 -o none \"$f\"; kill -0 \$canary && echo canary-alive; kill \$canary"
	[ "$output" = canary-alive ]
}
