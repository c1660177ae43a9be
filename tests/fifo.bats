#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# fifo.bats - files a job opens by path never block the runner (issue
# 13, item 10): a FIFO (or a device) whose other end is not there yet is
# opened in the background while the job holds its slot with no
# process; its own timeout, a cancel, fail-fast, the run timeout and an
# interrupt end that wait; every other job runs on; when the other end
# comes the job starts as `cmd < fifo` would.  Every piperun runs under
# timeout -s KILL, so a runner stuck in open(2) fails the test instead
# of hanging it.
load helper

setup() {
	F=$BATS_TEST_TMPDIR/fifo
	mkfifo "$F"
}

# piperun, killed after 20 s if it ever hangs
prk() {
	run --separate-stderr timeout -s KILL 20 "$PIPERUN" "$@"
}

# Wait (up to 10 s) until file $1 exists.
wait_for() {
	local i
	for i in $(seq 1000); do
		[ -e "$1" ] && return 0
		sleep 0.01
	done
	return 1
}

@test "a FIFO stdin with no writer: its own timeout ends it (no process); the others finish or time out on their own" {
	for m in async thread; do
		f=$(spec <<EOF
{"mode": "$m", "max_parallel": 4, "jobs": [
  {"name": "fifo", "run": ["cat"], "stdin": {"file": "$F"}, "timeout": 0.5},
  {"name": "slow", "run": ["sleep", "30"], "timeout": 0.3},
  {"name": "short", "run": ["sleep", "0.1"]},
  {"name": "quick", "run": ["echo", "hi"]}]}
EOF
)
		prk run "$f"
		echo "$m: $stderr"
		[ "$status" -eq 1 ]
		[ "$(jqo '[.jobs[].status] | join(" ")')" = "timeout timeout ok ok" ]
		[ "$(jqo '.jobs[0] | [.returncode, .timed_out, .attempts, .stages[0].pid] | @json')" = '[null,true,1,null]' ]
		[ "$(jqo '.jobs[0].error')" = "stdin file $F: a FIFO with no writer yet (it opens once both ends are open)" ]
		[ "$(jqo '.jobs[1].returncode')" = -15 ]
		[ "$(jqo '.jobs[3].stdout')" = hi ]
	done
}

@test "a writer that comes late: the job gets its data (blocking reads, EOF when it closes) while the others ran" {
	for m in async thread; do
		rm -f "$BATS_TEST_TMPDIR/other"
		f=$(spec <<EOF
{"mode": "$m", "max_parallel": 2, "jobs": [
  {"name": "fifo", "run": ["cat"], "stdin": {"file": "$F"}, "timeout": 15},
  {"name": "other", "run": ["sh", "-c", "echo other ran > \$0.tmp && mv \$0.tmp \$0", "$BATS_TEST_TMPDIR/other"]}]}
EOF
)
		# (the other job's file appears whole: the writer below starts
		# once it exists and copies it)
		# the writer comes once the other job has run (or gives up on
		# it after 10 s and says so), writes in two goes and closes
		# (every other end is bounded too: a runner that never opens
		# must not leave the test waiting for it)
		(wait_for "$BATS_TEST_TMPDIR/other" || echo "other never ran" > "$BATS_TEST_TMPDIR/other"
		 timeout 20 sh -c 'exec 3> "$1"; cat "$2" >&3; sleep 0.1; echo done >&3' \
			sh "$F" "$BATS_TEST_TMPDIR/other") 3>&- &
		w=$!
		prk run "$f"
		wait $w || true
		echo "$m: $stderr"
		[ "$status" -eq 0 ]
		[ "$(jqo '.jobs[0].stdout')" = "$(printf 'other ran\ndone')" ]
	done
}

@test "stdout to a FIFO whose reader comes late: the job writes once it is there" {
	for m in async thread; do
		rm -f "$BATS_TEST_TMPDIR/other" "$BATS_TEST_TMPDIR/got"
		f=$(spec <<EOF
{"mode": "$m", "max_parallel": 2, "jobs": [
  {"name": "w", "run": ["echo", "through the fifo"], "stdout": {"file": "$F"}, "timeout": 15},
  {"name": "other", "run": ["touch", "$BATS_TEST_TMPDIR/other"]}]}
EOF
)
		(wait_for "$BATS_TEST_TMPDIR/other" && timeout 20 cat "$F" > "$BATS_TEST_TMPDIR/got") 3>&- &
		w=$!
		prk run "$f"
		wait $w || true
		[ "$status" -eq 0 ]
		[ "$(cat "$BATS_TEST_TMPDIR/got")" = "through the fifo" ]
	done
}

@test "SIGINT while a job waits for its FIFO: it is cancelled, results are written, exit 130" {
	for m in async thread; do
		rm -f "$BATS_TEST_TMPDIR/started" "$BATS_TEST_TMPDIR/r.json"
		mk=$(marker)
		f=$(spec <<EOF
{"mode": "$m", "max_parallel": 3, "jobs": [
  {"name": "in", "run": ["cat"], "stdin": {"file": "$F"}},
  {"name": "out", "run": ["echo", "x"], "stdout": {"file": "$F.out"}},
  {"name": "sleeper", "shell": "touch $BATS_TEST_TMPDIR/started; exec sleep 30 # $mk"},
  {"name": "later", "run": ["true"], "after": ["in"]}]}
EOF
)
		mkfifo "$F.out" 2>/dev/null || true
		timeout -s KILL 20 "$PIPERUN" run --results "$BATS_TEST_TMPDIR/r.json" -o none "$f" 3>&- &
		pid=$!
		wait_for "$BATS_TEST_TMPDIR/started"
		kill -INT $pid
		status=0
		wait $pid || status=$?
		[ "$status" -eq 130 ]
		r=$(cat "$BATS_TEST_TMPDIR/r.json")
		[ "$(jq -r '.status' <<<"$r")" = interrupted ]
		[ "$(jq -r '[.jobs[].status] | join(" ")' <<<"$r")" = "cancelled cancelled cancelled skipped" ]
		[ "$(jq -r '.jobs[0].error' <<<"$r")" = "stdin file $F: a FIFO with no writer yet (it opens once both ends are open)" ]
		[ "$(jq -r '.jobs[1].error' <<<"$r")" = "stdout file $F.out: a FIFO with no reader yet (it opens once both ends are open)" ]
		gone "$mk"
	done
}

@test "fail-fast and the run timeout end a job waiting for its FIFO (cancelled)" {
	f=$(spec <<EOF
{"max_parallel": 2, "jobs": [
  {"name": "fifo", "run": ["cat"], "stdin": {"file": "$F"}},
  {"name": "bad", "run": ["sh", "-c", "sleep 0.2; exit 3"]}]}
EOF
)
	prk run --fail-fast "$f"
	[ "$status" -eq 1 ]
	[ "$(jqo '[.stopped, (.jobs[].status)] | join(" ")')" = "fail_fast cancelled failed" ]
	g=$(spec g.json <<EOF
{"jobs": [{"name": "fifo", "run": ["cat"], "stdin": {"file": "$F"}}]}
EOF
)
	prk run --timeout 0.3 "$g"
	[ "$status" -eq 1 ]
	[ "$(jqo '[.stopped, .jobs[0].status, .jobs[0].returncode] | @json')" = '["timeout","cancelled",null]' ]
}

@test "a cancelled FIFO open does not disturb another job waiting on the same FIFO" {
	f=$(spec <<EOF
{"max_parallel": 3, "jobs": [
  {"name": "short", "run": ["cat"], "stdin": {"file": "$F"}, "timeout": 0.2},
  {"name": "long", "run": ["cat"], "stdin": {"file": "$F"}, "timeout": 15},
  {"name": "mark", "run": ["touch", "$BATS_TEST_TMPDIR/short-ended"], "after": ["short"], "always": true}]}
EOF
)
	# the writer comes once "short" has given up
	(wait_for "$BATS_TEST_TMPDIR/short-ended" && timeout 20 sh -c 'echo data > "$1"' sh "$F") 3>&- &
	w=$!
	prk run "$f"
	wait $w || true
	[ "$status" -eq 1 ]
	[ "$(jqo '[.jobs[].status] | join(" ")')" = "timeout ok ok" ]
	[ "$(jqo '.jobs[1].stdout')" = data ]
}

@test "each retry opens the FIFO again and waits again" {
	f=$(spec <<EOF
{"jobs": [{"name": "fifo", "run": ["cat"], "stdin": {"file": "$F"}, "timeout": 0.2, "retries": 2}]}
EOF
)
	prk run "$f"
	[ "$status" -eq 1 ]
	[ "$(jqo '.jobs[0] | [.status, .attempts, ([.attempt_history[].status] | join(" "))] | @json')" = '["timeout",3,"timeout timeout timeout"]' ]
}

@test "a pipeline stage's stderr FIFO and a steps job's items FIFO wait without blocking the run" {
	f=$(spec <<EOF
{"jobs": [
  {"name": "p", "pipeline": [{"run": ["echo", "a"], "stderr": {"file": "$F"}}, ["cat"]], "timeout": 0.3},
  {"name": "s", "items": {"lines": "$F.items"}, "steps": [{"name": "e", "run": ["cat"]}], "timeout": 0.3},
  {"name": "quick", "run": ["echo", "hi"]}]}
EOF
)
	mkfifo "$F.items"
	prk run "$f"
	[ "$status" -eq 1 ]
	[ "$(jqo '[.jobs[].status] | join(" ")')" = "timeout timeout ok" ]
	[ "$(jqo '.jobs[0].error')" = "stage 1 stderr file $F: a FIFO with no reader yet (it opens once both ends are open)" ]
	[ "$(jqo '.jobs[1].error')" = "items file $F.items: a FIFO with no writer yet (it opens once both ends are open)" ]
	# and with their other ends there, both run
	timeout 20 sh -c 'printf "one\ntwo\n" > "$1"' sh "$F.items" 3>&- &
	w1=$!
	timeout 20 cat "$F" > /dev/null 3>&- &
	w2=$!
	g=$(spec g.json <<EOF
{"jobs": [
  {"name": "p", "pipeline": [{"run": ["echo", "a"], "stderr": {"file": "$F"}}, ["cat"]], "timeout": 15},
  {"name": "s", "items": {"lines": "$F.items"}, "steps": [{"name": "e", "run": ["cat"]}], "timeout": 15}]}
EOF
)
	prk run "$g"
	wait $w1 $w2 || true
	[ "$status" -eq 0 ]
	[ "$(jqo '.jobs[0].stdout')" = a ]
}

@test "--results naming a FIFO with no reader: SIGINT still ends piperun (nothing started)" {
	timeout -s KILL 20 "$PIPERUN" run --results "$F" "$PIPELINES/hello.json" > /dev/null 3>&- &
	pid=$!
	sleep 0.3
	kill -INT $pid
	status=0
	wait $pid || status=$?
	[ "$status" -eq 130 ]
	# with a reader, the document arrives
	timeout 20 cat "$F" > "$BATS_TEST_TMPDIR/r.json" 3>&- &
	w=$!
	prk run -o none --results "$F" "$PIPELINES/hello.json"
	wait $w || true
	[ "$status" -eq 0 ]
	[ "$(jq -r '.jobs[0].stdout' "$BATS_TEST_TMPDIR/r.json")" = "Hello from the child!" ]
}
