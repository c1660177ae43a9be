#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# foreach sources: {"glob"}, {"lines"}, {"lines0"}, {"range"}, {"command"}
# as a job's foreach; what run, plan and validate do with them.
load helper

setup() {
	D=$BATS_TEST_TMPDIR
	cd "$D"
}

# The names of the jobs in the results (or plan) in $output, as JSON.
names() {
	jqo '[.jobs[].name] | @json'
}

@test "glob: matches sorted by bytes, relative to piperun's directory, dot files left out" {
	mkdir -p w/data
	touch w/data/b.csv w/data/a.csv w/data/B.csv w/data/.hidden.csv w/data/c.txt
	f=$(spec <<'EOF'
{"jobs": [{"name": "g", "run": ["echo", "{}"], "foreach": {"glob": "data/*.csv"}}]}
EOF
)
	cd w
	pr run "$f"
	assert_success
	[ "$(names)" = '["g[data/B.csv]","g[data/a.csv]","g[data/b.csv]"]' ]
	[ "$(jqo '.jobs[1].stdout')" = data/a.csv ]
}

@test "glob: a pattern that matches nothing is an error naming it" {
	f=$(spec <<<'{"jobs": [{"run": ["true"], "foreach": {"glob": "nothing-here/*.csv"}}]}')
	pr run "$f"
	assert_failure 2
	[[ $stderr == *'jobs[0].foreach.glob: "nothing-here/*.csv" matches no file'* ]]
}

@test "lines: one value per line, no empty last value, a last line without newline counts" {
	printf 'one\n\nthree x\r\nfour' > list
	f=$(spec <<'EOF'
{"jobs": [{"name": "l", "run": ["printf", "<%s>", "{}"], "foreach": {"lines": "list"}}]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(names)" = '["l[one]","l[]","l[three x\r]","l[four]"]' ]
	[ "$(jqo '[.jobs[].stdout] | @json')" = '["<one>","<>","<three x\r>","<four>"]' ]
	printf 'a\nb\n' > list
	pr plan "$f"
	assert_success
	[ "$(names)" = '["l[a]","l[b]"]' ]
}

@test "lines0: NUL-separated values, newlines and all" {
	printf 'a b\0c\nd\0' > list0
	f=$(spec <<<'{"jobs": [{"name": "z", "run": ["printf", "<%s>", "{}"], "foreach": {"lines0": "list0"}}]}')
	pr run "$f"
	assert_success
	[ "$(names)" = '["z[a b]","z[c\nd]"]' ]
	[ "$(jqo '.jobs[1].stdout')" = "$(printf '<c\nd>')" ]
}

@test "lines: a missing file, a NUL byte, invalid UTF-8 and an empty file are errors" {
	f=$(spec <<<'{"jobs": [{"run": ["true"], "foreach": {"lines": "missing.txt"}}]}')
	pr run "$f"
	assert_failure 2
	[[ $stderr == *'jobs[0].foreach.lines: missing.txt: cannot open: No such file or directory'* ]]
	printf 'ok\nx\0y\n' > nul.txt
	printf 'ok\n\377\n' > latin.txt
	: > empty.txt
	f=$(spec <<'EOF'
{"jobs": [{"name": "a", "run": ["true"], "foreach": {"lines": "nul.txt"}},
          {"name": "b", "run": ["true"], "foreach": {"lines": "latin.txt"}},
          {"name": "c", "run": ["true"], "foreach": {"lines": "empty.txt"}}]}
EOF
)
	pr plan "$f"
	assert_failure 2
	[[ $stderr == *'jobs[0].foreach.lines: line 2: a NUL byte (a value is text)'* ]]
	[[ $stderr == *'jobs[1].foreach.lines: line 2: not valid UTF-8 (a value is text)'* ]]
	[[ $stderr == *'jobs[2].foreach.lines: empty.txt: no values (the file is empty)'* ]]
}

@test "range: TO inclusive like seq, default step 1, negative steps, {#}" {
	f=$(spec <<'EOF'
{"jobs": [{"name": "up", "run": ["echo", "{}-{#}"], "foreach": {"range": [1, 3]}},
          {"name": "down", "run": ["echo", "{}"], "foreach": {"range": [10, 1, -4]}},
          {"name": "neg", "run": ["echo", "{}"], "foreach": {"range": [-2, 2, 2]}}]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(names)" = '["up[1]","up[2]","up[3]","down[10]","down[6]","down[2]","neg[-2]","neg[0]","neg[2]"]' ]
	[ "$(jqo '.jobs[2].stdout')" = 3-3 ]
}

@test "range: a zero step, an empty range, a fraction, too many values and a bad shape are errors" {
	f=$(spec <<'EOF'
{"jobs": [{"run": ["true"], "foreach": {"range": [1, 5, 0]}},
          {"run": ["true"], "foreach": {"range": [5, 1]}},
          {"run": ["true"], "foreach": {"range": [1, 2.5]}},
          {"run": ["true"], "foreach": {"range": [1, 2000000]}},
          {"run": ["true"], "foreach": {"range": [1]}}]}
EOF
)
	pr validate "$f"
	assert_failure 2
	[[ $stderr == *'jobs[0].foreach.range: the step cannot be 0'* ]]
	[[ $stderr == *'jobs[1].foreach.range: the range from 5 to 1 by 1 is empty'* ]]
	[[ $stderr == *'jobs[2].foreach.range[1]: expected an integer'*'got 2.5'* ]]
	[[ $stderr == *'jobs[3].foreach.range: the range has more than 1000000 values'* ]]
	[[ $stderr == *'jobs[4].foreach.range: expected [FROM, TO] or [FROM, TO, STEP]'* ]]
}

@test "command: its stdout lines are the values; its stdin is /dev/null, its stderr piperun's" {
	f=$(spec <<'EOF'
{"jobs": [{"name": "c", "run": ["echo", "{}"],
  "foreach": {"command": ["sh", "-c", "echo warn >&2; cat; printf 'x y\\nz\\n'"]}}]}
EOF
)
	pr run "$f" </dev/zero
	assert_success
	[ "$(names)" = '["c[x y]","c[z]"]' ]
	[[ $stderr == *warn* ]]
}

@test "command: a failure is a spec error naming it, and nothing runs" {
	f=$(spec <<EOF
{"jobs": [{"name": "mark", "run": ["touch", "$D/ran"]},
          {"run": ["true"], "foreach": {"command": ["sh", "-c", "exit 3"]}},
          {"run": ["true"], "foreach": {"command": ["sh", "-c", "kill -KILL \$\$"]}},
          {"run": ["true"], "foreach": {"command": ["no-such-program-xyz"]}},
          {"run": ["true"], "foreach": {"command": ["sh", "-c", "printf 'a\\\\000b\\\\n'"]}},
          {"run": ["true"], "foreach": {"command": ["true"]}}]}
EOF
)
	pr run "$f"
	assert_failure 2
	[[ $stderr == *'jobs[1].foreach.command: sh: exited with status 3'* ]]
	[[ $stderr == *'jobs[2].foreach.command: sh: killed by SIGKILL'* ]]
	[[ $stderr == *'jobs[3].foreach.command: cannot run no-such-program-xyz: not found'* ]]
	[[ $stderr == *'jobs[4].foreach.command: sh: line 1: a NUL byte (a value is text)'* ]]
	[[ $stderr == *'jobs[5].foreach.command: true: its output has no lines'* ]]
	[ ! -e ran ]
}

@test "command: what it leaves behind in its process group is stopped" {
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [{"run": ["true"], "foreach": {"command": ["sh", "-c", "sh -c 'sleep 300; :' $m >/dev/null & echo v"]}}]}
EOF
)
	pr run "$f"
	assert_success
	gone "$m"
}

@test "validate checks a source's shape and reads and runs nothing" {
	f=$(spec <<EOF
{"jobs": [{"name": "c", "run": ["true"], "foreach": {"command": ["touch", "$D/marker"]}},
          {"name": "l", "run": ["true"], "foreach": {"lines": "$D/no-such-file"}},
          {"name": "g", "run": ["true"], "foreach": {"glob": "$D/none/*"}},
          {"name": "after", "run": ["true"], "after": ["c", "l[x]"], "stdin": {"from": "g[y]"}}]}
EOF
)
	pr validate "$f"
	assert_success
	[ -z "$stderr" ]
	[ ! -e marker ]
	pr run "$f"
	assert_failure 2
	[ -e marker ]
}

@test "validate: an unknown source, two keys, an empty object or a bad value are errors" {
	f=$(spec <<'EOF'
{"jobs": [{"run": ["true"], "foreach": {"files": "x"}},
          {"run": ["true"], "foreach": {"glob": "*.c", "lines": "x"}},
          {"run": ["true"], "foreach": {}},
          {"run": ["true"], "foreach": {"command": []}},
          {"run": ["true"], "foreach": {"command": ["ls", 3]}},
          {"run": ["true"], "foreach": {"lines": ""}},
          {"run": ["true"], "foreach": {"glob": 7}},
          {"run": ["true"], "foreach": []}]}
EOF
)
	pr validate "$f"
	assert_failure 2
	[[ $stderr == *'jobs[0].foreach.files: unknown key (a foreach source is {"glob": PATTERN}'* ]]
	[[ $stderr == *'jobs[1].foreach: expected one key: '*', got several'* ]]
	[[ $stderr == *'jobs[2].foreach: expected one key: '*', got an empty object'* ]]
	[[ $stderr == *'jobs[3].foreach.command: expected a non-empty argv array'* ]]
	[[ $stderr == *'jobs[4].foreach.command[1]: expected a string, got 3'* ]]
	[[ $stderr == *'jobs[5].foreach.lines: expected a file name, got ""'* ]]
	[[ $stderr == *'jobs[6].foreach.glob: expected a string, got 7'* ]]
	[[ $stderr == *'jobs[7].foreach: expected a non-empty array or a source object'* ]]
}

@test "plan runs a command source, says so on stderr, and runs nothing else" {
	f=$(spec <<EOF
{"jobs": [{"name": "c", "run": ["touch", "$D/job-ran"],
           "foreach": {"command": ["sh", "-c", "touch $D/source-ran; echo a; echo b"]}},
          {"name": "r", "run": ["true"], "foreach": {"range": [1, 2]}}]}
EOF
)
	pr plan "$f"
	assert_success
	[ "$(names)" = '["c[a]","c[b]","r[1]","r[2]"]' ]
	[ -e source-ran ]
	[ ! -e job-ran ]
	[[ $stderr == *'jobs[0].foreach.command: note: ran for the foreach values (plan runs nothing else)'* ]]
	[ "$(grep -c note <<<"$stderr")" = 1 ]
}

@test "a defaults.foreach command runs once and every job gets its values" {
	f=$(spec <<EOF
{"defaults": {"foreach": {"command": ["sh", "-c", "echo x >> $D/count; echo p; echo q"]}},
 "jobs": [{"name": "a", "run": ["echo", "{}"]}, {"name": "b", "run": ["echo", "{}"]}]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(names)" = '["a[p]","a[q]","b[p]","b[q]"]' ]
	[ "$(wc -l < count)" = 1 ]
}

@test "values from files and commands stay inert in shell jobs and argv" {
	cat > evil.txt <<'EOF'
a b  c
it's "quoted" $(touch pwned1) `touch pwned2`
;touch pwned3 {} {{}} $HOME
EOF
	f=$(spec <<'EOF'
{"jobs": [{"name": "sh", "shell": "printf '<%s>' {}", "foreach": {"lines": "evil.txt"}},
          {"name": "argv", "run": ["printf", "<%s>", "{}"], "foreach": {"lines": "evil.txt"}},
          {"name": "cmd", "shell": "printf '<%s>' {}",
           "foreach": {"command": ["sh", "-c", "printf '%s\\n' '$(touch pwned4)'"]}}]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(jqo '.jobs[0].stdout')" = '<a b  c>' ]
	[ "$(jqo '.jobs[1].stdout')" = "<it's \"quoted\" \$(touch pwned1) \`touch pwned2\`>" ]
	[ "$(jqo '.jobs[2].stdout')" = '<;touch pwned3 {} {{}} $HOME>' ]
	[ "$(jqo '.jobs[4].stdout')" = "<it's \"quoted\" \$(touch pwned1) \`touch pwned2\`>" ]
	[ "$(jqo '.jobs[6].stdout')" = '<$(touch pwned4)>' ]
	[ "$(jqo '.jobs[1].name')" = "sh[it's \"quoted\" \$(touch pwned1) \`touch pwned2\`]" ]
	run ls
	[[ $output != *pwned* ]]
}

@test "repeat with a source: repeat copies per value" {
	f=$(spec <<<'{"jobs": [{"name": "r", "run": ["true"], "repeat": 2, "foreach": {"range": [7, 8]}}]}')
	pr plan "$f"
	assert_success
	[ "$(names)" = '["r[7]#1","r[7]#2","r[8]#1","r[8]#2"]' ]
}

# interrupted CMD SIG RC: piperun CMD gets SIG while a foreach command
# source runs: the command's whole group is stopped (not left running as
# piperun dies), stderr says so, and piperun dies of SIG (status RC)
interrupted() {
	local cmd=$1 sig=$2 want=$3 m
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [{"run": ["true"], "foreach": {"command": ["sh", "-c", "touch $D/started; sleep 300; : $m"]}}]}
EOF
)
	"${INTERRUPTIBLE[@]}" "$PIPERUN" "$cmd" "$f" > out 2> err &
	pid=$!
	for i in $(seq 200); do [ -e started ] && break; sleep 0.05; done
	[ -e started ]
	kill -"$sig" "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = "$want" ]
	grep -q "jobs\[0\].foreach.command: sh: interrupted by SIG$sig" err
	gone "$m"
}

@test "run: an interrupt while a command source runs stops it, and piperun dies of the signal" {
	interrupted run INT 130
}

@test "plan: an interrupt while a command source runs stops it, and piperun dies of the signal" {
	interrupted plan TERM 143
}

# SIGKILL of piperun (run or plan: $1) while a command source runs: the
# guardian kills what the source started (its group, and its cgroup
# where there is one)
killed_runner() {
	local m
	m=$(marker)
	rm -f started
	f=$(spec <<EOF
{"jobs": [{"run": ["true"], "foreach": {"command": ["sh", "-c", "sh -c 'sleep 300; :' $m & touch $D/started; wait"]}}]}
EOF
)
	"$PIPERUN" "$1" "$f" > out 2> err &
	pid=$!
	for i in $(seq 200); do [ -e started ] && break; sleep 0.05; done
	[ -e started ]
	[ -n "$(procs_with "$m")" ]
	kill -KILL "$pid"
	wait "$pid" || :
	gone_within "$m" 10
}

@test "plan: SIGKILL of piperun while a command source runs leaves nothing of it running" {
	killed_runner plan
}

@test "run: SIGKILL of piperun while a command source runs leaves nothing of it running (process-group mode too)" {
	killed_runner run
	PIPERUN_CONTAINMENT=pgroup killed_runner run
}

# A source that starts a daemon (setsid: outside its group) which keeps
# its stdout open, and ends once the daemon is up.
held_spec() {
	spec <<EOF
{"jobs": [{"run": ["true"], "foreach": {"command": ["sh", "-c", "setsid sh -c 'touch $D/up; sleep 300; :' $1 & until [ -e $D/up ]; do sleep 0.05; done; echo x"]}}]}
EOF
}

@test "command: a process outside its group that holds its stdout: an error after the grace, and it is killed" {
	m=$(marker)
	f=$(held_spec "$m")
	PIPERUN_CONTAINMENT=pgroup run --separate-stderr timeout 30 "$PIPERUN" plan "$f"
	[ "$status" = 2 ]
	[[ $stderr == *'jobs[0].foreach.command: sh: exited 0, but its stdout stayed open: a process it started (outside its group) still holds it'* ]]
	[[ $stderr != *'timed out'* ]]
	gone_within "$m" 10
}

@test "command: in cgroup mode such a daemon is in the source's cgroup and is stopped with it" {
	m=$(marker)
	f=$(held_spec "$m")
	PIPERUN_CONTAINMENT=cgroup run --separate-stderr timeout 30 "$PIPERUN" plan "$f"
	[[ $stderr != *'PIPERUN_CONTAINMENT=cgroup'* ]] || skip "no cgroup v2 here"
	assert_success
	gone_within "$m" 10
}

@test "plan --no-commands: a command source is not run, its copies are left out and stderr says so; files are still read" {
	m=$(marker)
	printf 'x\ny\n' > "$D/vals"
	f=$(spec <<EOF2
{"jobs": [{"name": "c", "run": ["true"], "foreach": {"command": ["sh", "-c", "touch $D/ran; echo a; : $m"]}},
          {"name": "l", "run": ["true"], "foreach": {"lines": "$D/vals"}},
          {"name": "after_c", "run": ["true"], "after": ["c"]}]}
EOF2
)
	run --separate-stderr "$PIPERUN" plan --no-commands "$f"
	assert_success
	[ ! -e "$D/ran" ]
	[ "$(jq -c '[.jobs[].name]' <<<"$output")" = '["l[x]","l[y]","after_c"]' ]
	[[ $stderr == *"jobs[0].foreach.command: note: not run (--no-commands)"* ]]
	run --separate-stderr "$PIPERUN" plan "$f"
	assert_success
	[ -e "$D/ran" ]
	[ "$(jq -c '[.jobs[].name]' <<<"$output")" = '["c[a]","l[x]","l[y]","after_c"]' ]
}

@test "a lines file that is a FIFO with no writer: TERM still ends run, plan and plan --no-commands (completion's TAB)" {
	# red2 finding 1: the open waited for a writer with the terminating
	# signals blocked, so only SIGKILL ended it
	mkfifo "$D/fifo"
	f=$(spec <<EOF
{"jobs": [{"name": "w", "run": ["echo", "{}"], "foreach": {"lines": "$D/fifo"}}]}
EOF
)
	for cmd in run plan "plan --no-commands"; do
		rc=0
		# shellcheck disable=SC2086 # the command's words
		timeout -k 10 1 "$PIPERUN" $cmd "$f" > /dev/null 2>&1 || rc=$?
		[ "$rc" = 124 ] || { echo "$cmd: $rc (137: TERM was not heard)"; return 1; }
	done
	# with a writer, the values come as from a file
	(echo hello > "$D/fifo") &
	run "$PIPERUN" plan "$f"
	[ "$status" = 0 ]
	[ "$(jq -c '[.jobs[].name]' <<<"$output")" = '["w[hello]"]' ]
}
