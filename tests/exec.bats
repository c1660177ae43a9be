#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# `piperun exec` next to coreutils timeout(1), case by case.
load helper

# Run a command line under both and compare exit statuses.
both() {
	run timeout "$@"
	t_status=$status
	run "$PIPERUN" exec "${EXEC_OPTS[@]}" "${@:2}"
	p_status=$status
}

@test "normal exit: the command's status, like timeout(1)" {
	run timeout 5 sh -c 'exit 7'
	[ "$status" = 7 ]
	run "$PIPERUN" exec -t 5 -- sh -c 'exit 7'
	[ "$status" = 7 ]
	run "$PIPERUN" exec -- true
	[ "$status" = 0 ]
}

@test "timed out: 124, like timeout(1)" {
	run timeout 0.1 sleep 5
	[ "$status" = 124 ]
	run "$PIPERUN" exec -t 0.1 -- sleep 5
	[ "$status" = 124 ]
}

@test "-s KILL: 124 (coreutils says 137 here: the deliberate difference)" {
	run timeout -s KILL 0.1 sleep 5
	[ "$status" = 137 ]
	run "$PIPERUN" exec -t 0.1 -s KILL -- sleep 5
	[ "$status" = 124 ]
}

@test "a command ignoring TERM needs -k; piperun still says 124 (coreutils: 137)" {
	run timeout -k 0.2 1 "$PROBE" ignore-term 5
	[ "$status" = 137 ]
	run "$PIPERUN" exec -t 1 -k 0.2 -- "$PROBE" ignore-term 5
	[ "$status" = 124 ]
}

@test "--preserve-status: the command's status even on timeout, like timeout(1)" {
	run timeout --preserve-status 0.1 sleep 5
	[ "$status" = 143 ]
	run "$PIPERUN" exec --preserve-status -t 0.1 -- sleep 5
	[ "$status" = 143 ]
}

@test "not found: 127; not executable: 126, like timeout(1)" {
	run timeout 5 no-such-command-xyz
	[ "$status" = 127 ]
	run --separate-stderr "$PIPERUN" exec -- no-such-command-xyz
	[ "$status" = 127 ]
	[[ $stderr == *"no-such-command-xyz"* ]]
	run timeout 5 /etc/passwd
	[ "$status" = 126 ]
	run "$PIPERUN" exec -- /etc/passwd
	[ "$status" = 126 ]
}

@test "killed by a signal: 128+N, and piperun dies of the same signal" {
	run timeout 5 sh -c 'kill -USR1 $$'
	[ "$status" = 138 ]
	run "$PIPERUN" exec -t 5 -- sh -c 'kill -USR1 $$'
	[ "$status" = 138 ]
	# seen by a parent that reads the raw status: killed by USR1
	run python3 -c 'import subprocess,sys; print(subprocess.run(sys.argv[1:]).returncode)' "$PIPERUN" exec -- sh -c 'kill -USR1 $$'
	[ "$output" = -10 ]
}

@test "usage errors and piperun's own failures: 125, like timeout(1)" {
	run timeout --bogus 1 true
	[ "$status" = 125 ]
	run "$PIPERUN" exec --bogus -- true
	[ "$status" = 125 ]
	run "$PIPERUN" exec -t soon -- true
	[ "$status" = 125 ]
	run "$PIPERUN" exec
	[ "$status" = 125 ]
	run "$PIPERUN" exec -s NOPE -- true
	[ "$status" = 125 ]
}

@test "stdin and stdout pass through" {
	run bash -c "printf 'in\n' | \"$PIPERUN\" exec -t 5 -- tr a-z A-Z"
	assert_success
	[ "$output" = IN ]
}

@test "a timeout kills the command's whole group (grandchildren too)" {
	m=$(marker)
	run "$PIPERUN" exec -t 0.1 -- sh -c "sh -c 'sleep 30; :' $m & sleep 30"
	[ "$status" = 124 ]
	gone "$m"
}

@test "signals sent to piperun exec reach the command" {
	ready=$BATS_TEST_TMPDIR/ready
	"$PIPERUN" exec -- sh -c 'trap "echo got-term; exit 3" TERM; : > "$1"; while :; do sleep 0.05; done' sh "$ready" > "$BATS_TEST_TMPDIR/o" &
	pid=$!
	# the trap is set (and piperun forwards signals before it starts the
	# command): no guess at how long a loaded machine takes to get there
	for i in $(seq 200); do [ -e "$ready" ] && break; sleep 0.05; done
	[ -e "$ready" ]
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 3 ]
	[ "$(cat "$BATS_TEST_TMPDIR/o")" = got-term ]
}

@test "--json FILE writes the command's record" {
	run "$PIPERUN" exec -t 0.1 --json "$BATS_TEST_TMPDIR/r.json" -- sleep 5
	[ "$status" = 124 ]
	r=$BATS_TEST_TMPDIR/r.json
	[ "$(jq -c '[.status, .returncode, .timed_out, .termination[0].signal, .stages[0].argv]' "$r")" = '["timeout",-15,true,"SIGTERM",["sleep","5"]]' ]
	run "$PIPERUN" exec --json "$BATS_TEST_TMPDIR/r2.json" -- sh -c 'exit 3'
	[ "$status" = 3 ]
	[ "$(jq -c '[.status, .returncode]' "$BATS_TEST_TMPDIR/r2.json")" = '["failed",3]' ]
}

@test "in a terminal: --foreground lets the command read it (tmux)" {
	command -v tmux >/dev/null
	s=piperun-test-$$-$RANDOM
	out=$BATS_TEST_TMPDIR/tty
	tmux new-session -d -s "$s" -x 80 -y 10 "\"$PIPERUN\" exec --foreground -t 20 -- sh -c 'read x; echo got:\$x > $out'; sleep 5"
	sleep 0.5
	tmux send-keys -t "$s" 'hello' Enter
	for i in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
	tmux kill-session -t "$s" || true
	[ "$(cat "$out")" = got:hello ]
}

@test "in a terminal without --foreground the command is not in the terminal's group (like timeout(1))" {
	command -v tmux >/dev/null
	s=piperun-test-$$-$RANDOM
	out=$BATS_TEST_TMPDIR/st
	# reading the terminal from a background group stops the command;
	# the timeout then ends it
	tmux new-session -d -s "$s" -x 80 -y 10 "\"$PIPERUN\" exec -t 1 -- sh -c 'read x; echo read-it'; echo \$? > $out; sleep 5"
	for i in $(seq 60); do [ -s "$out" ] && break; sleep 0.1; done
	tmux kill-session -t "$s" || true
	[ "$(cat "$out")" = 124 ]
}

@test "what the command leaves behind is stopped when it exits; the status stays the command's" {
	# CONTRACT 8.6: a setsid'd daemon is out of the group but not out of
	# the cgroup; in process-group mode a child left in the group goes too
	m=$(marker)
	ready=$BATS_TEST_TMPDIR/ready
	# (the command exits once the daemon has left its group)
	run "$PIPERUN" exec -t 5 --json "$BATS_TEST_TMPDIR/r.json" -- \
		sh -c "(setsid sh -c ': > $ready; sleep 300; :' $m &); while [ ! -e $ready ]; do sleep 0.01; done; echo done; exit 3"
	[ "$status" = 3 ]
	[ "$output" = done ]
	gone "$m"
	r=$BATS_TEST_TMPDIR/r.json
	[ "$(jq -c '[.status, .returncode, .containment, (.termination | map(.signal))]' "$r")" = '["failed",3,"cgroup",["SIGTERM"]]' ]
	[ "$(jq -r '[.escaped[] | select(.argv | test("sleep 300"))] | length > 0' "$r")" = true ]
	PIPERUN_CONTAINMENT=pgroup run "$PIPERUN" exec -- sh -c "sh -c 'sleep 300; :' $m & echo done"
	[ "$status" = 0 ]
	gone "$m"
}

@test "KILL goes out after -k even when the main command is gone; without -k after the default 2s" {
	m=$(marker)
	ready=$BATS_TEST_TMPDIR/ready
	# (the leftover has set its trap before the timeout)
	run "$PIPERUN" exec -t 2 -k 0.5 --json "$BATS_TEST_TMPDIR/r.json" -- \
		sh -c "(trap '' TERM; : > $ready; exec sh -c 'sleep 300; :' $m) & while [ ! -e $ready ]; do sleep 0.01; done; sleep 301; : $m"
	[ "$status" = 124 ]
	gone "$m"
	[ "$(jq -c '[.status, (.termination | map(.signal))]' "$BATS_TEST_TMPDIR/r.json")" = '["timeout",["SIGTERM","SIGKILL"]]' ]
	# (the leftover has set its trap before the command exits)
	ready=$BATS_TEST_TMPDIR/ready2
	run "$PIPERUN" exec --json "$BATS_TEST_TMPDIR/r2.json" -- \
		sh -c "(trap '' TERM; : > $ready; exec sh -c 'sleep 300; :' $m) & while [ ! -e $ready ]; do sleep 0.01; done; echo left"
	[ "$status" = 0 ]
	gone "$m"
	r=$BATS_TEST_TMPDIR/r2.json
	[ "$(jq -c '[.status, (.termination | map(.signal))]' "$r")" = '["ok",["SIGTERM","SIGKILL"]]' ]
	[ "$(jq '.termination[1].at_ms - .termination[0].at_ms >= 2000' "$r")" = true ]
	# -t without -k: the timeout's TERM, then the leftover's KILL after 2 s
	ready=$BATS_TEST_TMPDIR/ready3
	run "$PIPERUN" exec -t 2 --json "$BATS_TEST_TMPDIR/r3.json" -- \
		sh -c "(trap '' TERM; : > $ready; exec sh -c 'sleep 300; :' $m) & while [ ! -e $ready ]; do sleep 0.01; done; sleep 301; : $m"
	[ "$status" = 124 ]
	gone "$m"
	[ "$(jq -c '[.status, (.termination | map(.signal))]' "$BATS_TEST_TMPDIR/r3.json")" = '["timeout",["SIGTERM","SIGKILL"]]' ]
}

@test "--foreground leaves the command's children alone, as coreutils does" {
	m=$(marker)
	run "$PIPERUN" exec --foreground --json "$BATS_TEST_TMPDIR/r.json" -- \
		sh -c "(sh -c 'sleep 300; :' $m >/dev/null 2>&1 &); echo done"
	[ "$status" = 0 ]
	d=$(procs_with "$m")
	[ -n "$d" ]
	# (its sleep does not carry the marker: stop it through its parent)
	pkill -P "$d"
	kill $d
	[ "$(jq -c '[.containment, .termination]' "$BATS_TEST_TMPDIR/r.json")" = '["none",[]]' ]
}

@test "piperun exec killed by SIGKILL: the guardian kills the command's whole tree" {
	for mode in cgroup pgroup; do
		m=$(marker)-$mode
		PIPERUN_CONTAINMENT=$mode "$PIPERUN" exec -- sh -c "sh -c 'sleep 300; :' $m & sleep 301; : $m" &
		pid=$!
		for i in $(seq 100); do [ "$(procs_with "$m" | wc -l)" -ge 2 ] && break; sleep 0.05; done
		kill -KILL "$pid"
		wait "$pid" || true
		gone "$m" || { echo "$mode: left: $(procs_with "$m")"; return 1; }
	done
}

@test "every terminating signal sent to exec reaches the command's tree; exit 128+N" {
	for sig in XCPU PROF VTALRM XFSZ USR1 USR2 PIPE ALRM QUIT PWR RTMIN+3; do
		m=$(marker)-$sig
		"${INTERRUPTIBLE[@]}" "$PIPERUN" exec -- sh -c "sh -c 'sleep 300; :' $m & sleep 301; : $m" &
		pid=$!
		for i in $(seq 100); do [ "$(procs_with "$m" | wc -l)" -ge 2 ] && break; sleep 0.05; done
		kill -s "$sig" "$pid"
		rc=0
		wait "$pid" || rc=$?
		[ "$rc" = $((128 + $(kill -l "$sig"))) ] || { echo "SIG$sig: exit $rc"; return 1; }
		gone "$m" || { echo "SIG$sig: left running"; return 1; }
	done
}

@test "a signal ignored when exec started stays ignored: not passed on, the command runs to its end" {
	# (the command takes USR1 back to its default: only a USR1 passed on
	# would end it)
	run env --ignore-signal=USR1 sh -c '"$1" exec -- python3 -c "
import signal, time
signal.signal(signal.SIGUSR1, signal.SIG_DFL)
time.sleep(0.6)
print(\"finished\")" & p=$!; sleep 0.3; kill -USR1 $p; wait $p' sh "$PIPERUN"
	[ "$status" = 0 ]
	[ "$output" = finished ]
}

@test "--json: a path that cannot be opened is exit 125 with nothing run; a failed write keeps the command's status" {
	c=$BATS_TEST_TMPDIR/canary
	run --separate-stderr "$PIPERUN" exec --json /nonexistent/dir/r.json -- touch "$c"
	[ "$status" = 125 ]
	[ ! -e "$c" ]
	[[ $stderr == "piperun: exec: --json /nonexistent/dir/r.json: No such file or directory" ]]
	run --separate-stderr "$PIPERUN" exec --json /dev/full -- sh -c "touch '$c'; exit 3"
	[ "$status" = 3 ]
	[ -e "$c" ]
	[[ $stderr == "piperun: exec: --json /dev/full: No space left on device" ]]
}

@test "a tight fd limit (8 to 16) still runs the command, exec and timeout alike" {
	# the guardian used to lose its pipe below 11 fds and act as if
	# piperun had died; the pidfd used to find no fd left below 12
	# (bats's own fds closed first: only 0-2 are inherited)
	local closefds='for f in /proc/$$/fd/*; do f=${f##*/}; [ "$f" -gt 2 ] && eval "exec $f>&-"; done 2>/dev/null'
	for n in 8 9 10 11 12 13 16; do
		run bash -c "$closefds; ulimit -n $n; \"\$PIPERUN\" timeout 5 echo hi-$n"
		[ "$status" -eq 0 ] || { echo "timeout, ulimit -n $n: status $status: $output"; false; }
		[ "$output" = "hi-$n" ]
		run bash -c "$closefds; ulimit -n $n; \"\$PIPERUN\" exec -t 5 -- echo hi-$n"
		[ "$status" -eq 0 ] || { echo "exec, ulimit -n $n: status $status: $output"; false; }
		[ "$output" = "hi-$n" ]
	done
}
