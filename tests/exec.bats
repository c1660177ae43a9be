#!/usr/bin/env bats
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
