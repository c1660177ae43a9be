#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# `piperun plan`: the resolved plan, secrets hidden, nothing run.
load helper

@test "plan resolves defaults, copies, placeholders, PATH and dependencies" {
	f=$(spec <<'EOF'
{"name": "p", "defaults": {"timeout": "1.5s", "env": {"LEVEL": "2"}},
 "jobs": [
  {"name": "sq", "run": ["echo", "{}^2"], "foreach": ["3", "4"]},
  {"name": "sum", "shell": "echo {} done", "repeat": 2, "after": ["sq"]},
  {"name": "gone", "run": ["no-such-tool-xyz"]}
]}
EOF
)
	pr plan "$f"
	assert_success
	[ "$(jqo '[.jobs[].name] | @json')" = '["sq[3]","sq[4]","sum#1","sum#2","gone"]' ]
	[ "$(jqo '.jobs[0].argv | @json')" = '["echo","3^2"]' ]
	[ "$(jqo '.jobs[0].path')" = "$(type -P echo)" ]
	[ "$(jqo '.jobs[0].timeout')" = 1.5 ]
	[ "$(jqo '.jobs[0].env.set.LEVEL')" = 2 ]
	[ "$(jqo '.jobs[2].argv | @json')" = '["/bin/sh","-c","echo 1 done"]' ]
	[ "$(jqo '.jobs[3].after | @json')" = '["sq[3]","sq[4]"]' ]
	[ "$(jqo '.jobs[4] | [.path, .error] | @json')" = '[null,"no-such-tool-xyz: not found"]' ]
	[ "$(jqo '[.jobs[0].signal, .jobs[0].kill_after, .jobs[0].stdout, .jobs[0].max_output] | @json')" = '["SIGTERM",2,"capture",16777216]' ]
}

@test "plan shows secret_env values as *** and never the value" {
	f=$(spec <<'EOF'
{"jobs": [{"name": "enc", "run": ["openssl", "enc", "-des3", "-pbkdf2", "-pass", "env:password"],
  "env": {"password": "zf7ShyBhZOraQDdE/FiZpm/m/8f9X+M1", "USER_VISIBLE": "fine"},
  "secret_env": ["password"], "stdin": {"random": 10}}]}
EOF
)
	pr plan "$f"
	assert_success
	[ "$(jqo '.jobs[0].env.set.password')" = '***' ]
	[ "$(jqo '.jobs[0].env.set.USER_VISIBLE')" = fine ]
	[[ $output != *zf7ShyBhZOraQDdE* ]]
}

@test "a secret inherited from piperun's environment is hidden too" {
	export PIPERUN_T_TOKEN=s3cr3t-token-value
	f=$(spec <<'EOF'
{"jobs": [{"run": ["echo", "token is s3cr3t-token-value"], "secret_env": ["PIPERUN_T_TOKEN"]}]}
EOF
)
	pr plan "$f"
	assert_success
	[ "$(jqo '.jobs[0].argv[1]')" = 'token is ***' ]
	[[ $output != *s3cr3t-token-value* ]]
}

@test "plan runs nothing" {
	f=$(spec <<<"{\"jobs\": [{\"run\": [\"touch\", \"$BATS_TEST_TMPDIR/ran\"]}]}")
	pr plan "$f"
	assert_success
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "plan of a bad spec: the errors, exit 2" {
	f=$(spec <<<'{"jobs": [{"run": ["true"], "timeout": "later"}]}')
	pr plan "$f"
	assert_failure 2
	assert_output ''
	[[ $stderr == *"jobs[0].timeout: expected a duration"* ]]
}

@test "plan's effective_max_parallel is what run uses, thread mode too" {
	for m in async serial; do
		f=$(spec "$m.json" <<<"{\"mode\": \"$m\", \"jobs\": [{\"run\": [\"true\"]}]}")
		pr plan "$f"
		assert_success
		planned=$(jqo '.effective_max_parallel')
		pr run "$f"
		assert_success
		[ "$planned" = "$(jqo '.max_parallel')" ]
	done
	# thread mode's "as many as the limits allow" stops at 1024 (a thread
	# per slot); plan said the unbounded figure.  Run shows its workers,
	# at most one per job and what the fds feed (9 a worker, 6 a job):
	# with fds for more than 1536 at once, 1100 jobs get 1024 workers
	f=$(spec thread.json <<<'{"mode": "thread", "jobs": [{"name": "t", "run": ["true"], "repeat": 1100}]}')
	run --separate-stderr bash -c 'ulimit -n 20000 && exec "$@"' _ "$PIPERUN" plan "$f"
	assert_success
	planned=$(jqo '.effective_max_parallel')
	[ "$planned" -eq 1024 ]
	run --separate-stderr bash -c 'ulimit -n 20000 && exec "$@"' _ "$PIPERUN" run "$f"
	assert_success
	[ "$planned" = "$(jqo '.max_parallel')" ]
}

@test "plan: after lists the jobs in the order they were named, stdin.from's last, each once" {
	f=$(spec <<'EOF'
{"jobs": [{"name": "a", "run": ["echo", "a"]}, {"name": "b", "run": ["true"]},
 {"name": "c", "run": ["cat"], "after": ["b", "a"], "stdin": {"from": "a"}},
 {"name": "w", "run": ["true"], "repeat": 2},
 {"name": "d", "run": ["true"], "after": ["b", "w", "a", "w#2"], "stdin": {"from": "w#1"}}]}
EOF
)
	pr plan "$f"
	assert_success
	[ "$(jqo -c '[.jobs[] | select(.name == "c" or .name == "d") | .after]')" = '[["b","a"],["b","w#1","w#2","a"]]' ]
}
