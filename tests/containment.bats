#!/usr/bin/env bats
# What children inherit and what they leave behind (CONTRACT §6).
load helper

@test "a child sees only fds 0, 1, 2 even when piperun inherited more" {
	f=$(spec <<<"{\"jobs\": [{\"run\": [\"$PROBE\", \"fds\"]}]}")
	# bats itself hands piperun fd 3 (its TAP stream); add a few more
	exec 7</dev/null 8>/dev/null 9</dev/null
	pr run "$f"
	exec 7<&- 8>&- 9<&-
	assert_success
	[ "$(jqo '.jobs[0].stdout')" = "0 1 2" ]
}

@test "pass_fds passes exactly those fds through" {
	f=$(spec <<<"{\"jobs\": [{\"run\": [\"$PROBE\", \"fds\"], \"pass_fds\": [8]}]}")
	exec 7</dev/null 8</dev/null
	pr run "$f"
	exec 7<&- 8<&-
	assert_success
	[ "$(jqo '.jobs[0].stdout')" = "0 1 2 8" ]
}

@test "a nohup-ignored SIGHUP is still ignored in the child; other dispositions are default" {
	f=$(spec <<<"{\"jobs\": [{\"run\": [\"$PROBE\", \"sigdisp\", \"HUP\", \"PIPE\", \"INT\", \"TERM\", \"CHLD\"]}]}")
	run --separate-stderr nohup "$PIPERUN" run "$f"
	assert_success
	[ "$(jqo '.jobs[0].stdout')" = "$(printf '%s\n' 'HUP ignored unblocked' 'PIPE default unblocked' 'INT default unblocked' 'TERM default unblocked' 'CHLD default unblocked')" ]
}

@test "an ignored SIGPIPE and a blocked signal are passed on as piperun got them" {
	f=$(spec <<<"{\"jobs\": [{\"run\": [\"$PROBE\", \"sigdisp\", \"PIPE\", \"INT\"]}]}")
	run --separate-stderr python3 -c '
import os, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
os.execv(sys.argv[1], sys.argv[1:])' "$PIPERUN" run "$f"
	assert_success
	[ "$(jqo '.jobs[0].stdout')" = "$(printf '%s\n' 'PIPE ignored unblocked' 'INT default blocked')" ]
}

@test "children get the fd limit piperun was started with, not the raised one" {
	f=$(spec <<<"{\"jobs\": [{\"run\": [\"$PROBE\", \"rlimit\", \"nofile\"]}]}")
	hard=$(ulimit -Hn)
	run --separate-stderr bash -c "ulimit -Sn 256; exec \"$PIPERUN\" run \"$f\""
	assert_success
	[ "$(jqo '.jobs[0].stdout')" = "256 $hard" ]
}

@test "each job runs in its own process group" {
	f=$(spec <<<"{\"jobs\": [{\"run\": [\"$PROBE\", \"ids\"]}, {\"run\": [\"$PROBE\", \"ids\"]}]}")
	pr run "$f"
	assert_success
	for i in 0 1; do
		read -r pid ppid pgid sid <<<"$(jqo ".jobs[$i].stdout")"
		[ "$pid" = "$pgid" ]
		[ "$(jqo ".jobs[$i].stages[0].pid")" = "$pid" ]
	done
	[ "$(jqo '.jobs[0].stdout')" != "$(jqo '.jobs[1].stdout')" ]
}

@test "after run returns, no process of any job remains (grandchildren included)" {
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [
  {"name": "bg", "shell": "sh -c 'sleep 300; :' $m & sh -c 'sleep 301; :' $m & echo started"},
  {"name": "tree", "run": ["$PROBE", "spawn-tree", "5", "302", "$m"]},
  {"name": "nested", "shell": "sh -c \\"sh -c 'sleep 303; :' $m & sleep 304\\" & echo ok"},
  {"name": "quick", "run": ["true"]}
]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(jqo '.jobs[0].stdout')" = started ]
	# the main processes ended; what they left in their group was stopped
	[ "$(jqo '.jobs[0].termination[0].signal')" = SIGTERM ]
	[ "$(jqo '.jobs[1].termination[0].signal')" = SIGTERM ]
	[ "$(jqo '.jobs[3].termination')" = '[]' ]
	[ -z "$(procs_with "$m")" ] || { ps -ef | grep "$m"; return 1; }
}
