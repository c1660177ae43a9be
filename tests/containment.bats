#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# What children inherit and what they leave behind (CONTRACT §6).
load helper

# The guardian of the piperun PID, once it has its name.  It names
# itself last (after its session and its stdio), in its own process, so
# under load a job can be seen running before it has.  Polls up to 5 s.
guardian_of() {
	local i g
	for i in $(seq 100); do
		g=$(pgrep -P "$1" -x piperun-guard) && { echo "$g"; return 0; }
		sleep 0.05
	done
	return 1
}

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

@test "cgroup mode: each job in its own cgroup; a double-forked setsid daemon is killed and listed" {
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [{"name": "d", "shell": "(setsid sh -c 'sleep 300; :' $m &) ; sleep 0.2; echo parent-done"}]}
EOF
)
	PIPERUN_CONTAINMENT=cgroup pr run "$f"
	assert_success
	[ "$(jqo '.containment')" = cgroup ]
	[ "$(jqo '.jobs[0].containment')" = cgroup ]
	[ "$(jqo '.jobs[0].stdout')" = parent-done ]
	[ "$(jqo '[.jobs[0].escaped[] | select(.argv | test("sleep 300"))] | length > 0')" = true ]
	[ "$(jqo '.jobs[0].escaped | map(.pid > 0) | all')" = true ]
	[ -z "$(procs_with "$m")" ]
	# and the cgroups are gone
	[ -z "$(ls /sys/fs/cgroup/unified 2>/dev/null | grep "piperun\.$$" || true)" ]
}

@test "process-group mode: the same daemon is adopted (subreaper), killed at the end and listed at run level" {
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [{"name": "d", "shell": "(setsid sh -c 'sleep 300; :' $m &) ; sleep 0.2; echo parent-done"}]}
EOF
)
	PIPERUN_CONTAINMENT=pgroup pr run "$f"
	assert_success
	[ "$(jqo '.containment')" = process-group ]
	[ "$(jqo '.jobs[0].containment')" = process-group ]
	[ "$(jqo '[.orphans[] | select(.argv | test("'"$m"'"))] | length')" = 1 ]
	[ -z "$(procs_with "$m")" ]
}

@test "PIPERUN_CONTAINMENT=cgroup where none is possible is a clear error" {
	f=$(spec <<<'{"jobs": [{"run": ["true"]}]}')
	# a read-only view of /proc/self/mountinfo without cgroup2 is hard to
	# fake; an unknown value falls back, an impossible demand fails:
	run --separate-stderr unshare -m bash -c "umount -l /sys/fs/cgroup/unified 2>/dev/null || umount -l /sys/fs/cgroup 2>/dev/null; PIPERUN_CONTAINMENT=cgroup \"$PIPERUN\" run \"$f\""
	[ "$status" = 3 ]
	[[ $stderr == "piperun: containment: PIPERUN_CONTAINMENT=cgroup: no cgroup v2 hierarchy is mounted" ]]
}

@test "kill -9 of the runner: every process of the run is gone within a second" {
	for mode in cgroup pgroup; do
		m=$(marker)-$mode
		f=$(spec <<EOF
{"jobs": [{"name": "tree", "shell": "sh -c 'sleep 300; :' $m & sh -c 'sh -c \"sleep 301; :\" $m & sleep 302' & sleep 303", "repeat": 3},
          {"name": "pl", "pipeline": [["sh", "-c", "sleep 304; : $m"], ["cat"]]}]}
EOF
)
		PIPERUN_CONTAINMENT=$mode "$PIPERUN" run "$f" > /dev/null &
		pid=$!
		for i in $(seq 100); do [ "$(procs_with "$m" | wc -l)" -ge 10 ] && break; sleep 0.05; done
		[ "$(procs_with "$m" | wc -l)" -ge 10 ]
		kill -9 "$pid"
		wait "$pid" || true
		for i in $(seq 20); do [ -z "$(procs_with "$m")" ] && break; sleep 0.05; done
		[ -z "$(procs_with "$m")" ] || { echo "$mode: left: $(procs_with "$m")"; return 1; }
	done
}

@test "the guardian: a session of its own, stdio on /dev/null; after a kill -9: -s, the grace, then KILL" {
	# piperun timeout -s TERM with a command that ignores TERM: once the
	# runner is gone the guardian TERMs it, waits the grace (-k), then
	# KILLs; meanwhile it can be looked at
	m=$(marker)
	"$PIPERUN" timeout -s TERM -k 3 300 sh -c "trap '' TERM; sleep 300; : $m" &
	pid=$!
	for i in $(seq 100); do [ -n "$(procs_with "$m")" ] && break; sleep 0.05; done
	g=$(guardian_of "$pid")
	[ -n "$g" ]
	# while the runner lives: a session of its own, stdio on /dev/null
	[ "$(ps -o sid= -p "$g" | tr -d ' ')" = "$g" ]
	[ "$(readlink "/proc/$g/fd/1")" = /dev/null ]
	kill -9 "$pid"
	wait "$pid" || true
	[ -n "$(procs_with "$m")" ]          # TERM ignored: alive during the grace
	for i in $(seq 100); do [ -z "$(procs_with "$m")" ] && break; sleep 0.05; done
	[ -z "$(procs_with "$m")" ]          # then KILLed
	for i in $(seq 100); do kill -0 "$g" 2>/dev/null || break; sleep 0.05; done
	! kill -0 "$g" 2>/dev/null
}

@test "the guardian survives the signals glibc keeps for itself (32, 33); kill -9 of the runner still cleans up" {
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [{"shell": "setsid sh -c 'sleep 300; : $m' & sleep 301; : $m"}]}
EOF
)
	"$PIPERUN" run "$f" > /dev/null &
	pid=$!
	for i in $(seq 100); do [ "$(procs_with "$m" | wc -l)" -ge 2 ] && break; sleep 0.05; done
	g=$(guardian_of "$pid")
	[ -n "$g" ]
	kill -s 32 "$g"
	kill -s 33 "$g"
	sleep 0.2
	kill -0 "$g"                         # alive
	kill -9 "$pid"
	wait "$pid" || true
	for i in $(seq 40); do [ -z "$(procs_with "$m")" ] && break; sleep 0.05; done
	[ -z "$(procs_with "$m")" ]
}

@test "a stopped guardian does not hold the run's end" {
	# the job ends only once the guardian is stopped (a fixed sleep
	# could end the run before a loaded machine found the guardian)
	go=$BATS_TEST_TMPDIR/go
	f=$(spec <<<"{\"jobs\": [{\"shell\": \"while [ ! -e '$go' ]; do sleep 0.05; done\"}]}")
	"$PIPERUN" run -o none "$f" &
	pid=$!
	g=$(guardian_of "$pid") || true
	[ -n "$g" ] || { kill -9 "$pid"; false; }
	kill -STOP "$g"
	touch "$go"
	# the run ends (bounded: a hang would be killed and fail the test)
	for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then kill -CONT "$g"; kill -9 "$pid"; false; fi
	wait "$pid"
	! kill -0 "$g" 2>/dev/null
}

@test "the guardian ignores a terminal's Ctrl-C; the runner handles it" {
	f=$(spec <<<'{"jobs": [{"run": ["sleep", "30"]}]}')
	"${INTERRUPTIBLE[@]}" "$PIPERUN" run "$f" > "$BATS_TEST_TMPDIR/o.json" &
	pid=$!
	for i in $(seq 100); do pgrep -P "$pid" sleep >/dev/null && break; sleep 0.05; done
	guard=$(guardian_of "$pid")
	[ -n "$guard" ]
	kill -INT "$guard"
	sleep 0.1
	kill -0 "$guard"
	kill -INT "$pid"
	wait "$pid" || true
	[ "$(jq -r '.jobs[0].status' "$BATS_TEST_TMPDIR/o.json")" = cancelled ]
	! kill -0 "$guard" 2>/dev/null
}

# The job of the outside report: it ignores TERM (its shell first thing,
# so that no signal comes too early), so it outlives piperun's first
# signal.
guard_spec() {
	spec <<EOF
{"jobs": [{"shell": "trap '' TERM; sh -c 'sleep 301; :' $1 & sh -c 'sleep 303; :' $1; : $1", "kill_after": "30s"}]}
EOF
}

@test "the guardian outlives a group KILL (timeout -k): every job's tree dies, the cgroups are removed" {
	for mode in cgroup pgroup; do
		m=$(marker)-$mode
		f=$(guard_spec "$m")
		# timeout(1) runs piperun in a group of its own and, after -k,
		# SIGKILLs that whole group: the guardian was in it.  Its timer
		# is a SIGALRM: sent once the job is running (its trap set), it
		# times out then, however slow the machine is to get there.
		PIPERUN_CONTAINMENT=$mode timeout -k 0.5 600 "$PIPERUN" run -o none "$f" &
		tpid=$!
		for i in $(seq 200); do [ "$(procs_with "$m" | wc -l)" -ge 3 ] && break; sleep 0.05; done
		[ "$(procs_with "$m" | wc -l)" -ge 3 ]
		pid=$(pgrep -P "$tpid" -x piperun)
		[ -n "$pid" ]
		kill -ALRM "$tpid"
		rc=0
		wait "$tpid" || rc=$?
		[ "$rc" = 137 ] || { echo "$mode: exit $rc"; return 1; }
		gone "$m" || { echo "$mode: left: $(procs_with "$m")"; return 1; }
		cgroup_gone "$pid"
	done
}

@test "the guardian outlives kill -KILL of piperun's whole process group" {
	m=$(marker)
	f=$(guard_spec "$m")
	setsid "$PIPERUN" run -o none "$f" &
	for i in $(seq 100); do [ "$(procs_with "$m" | wc -l)" -ge 3 ] && break; sleep 0.05; done
	pid=$(pgrep -f -- "run -o none $f" | head -1)
	[ -n "$pid" ]
	kill -KILL -- "-$(ps -o pgid= -p "$pid" | tr -d ' ')"
	gone "$m" || { echo "left: $(procs_with "$m")"; return 1; }
	cgroup_gone "$pid"
}

@test "a closed controlling terminal, then a KILL of the session: nothing is left, the cgroups are removed" {
	command -v script >/dev/null
	m=$(marker)
	f=$(guard_spec "$m")
	res=$BATS_TEST_TMPDIR/res.json
	# piperun in a session of its own with a terminal; the terminal goes
	# away (script's end of it closes): SIGHUP to its group, and piperun
	# starts stopping its job (TERM; the KILL is 30 s off) ...
	setsid script -qec "\"$PIPERUN\" run --results \"$res\" -o none \"$f\"" /dev/null < /dev/null > /dev/null 2>&1 &
	spid=$!
	for i in $(seq 100); do [ "$(procs_with "$m" | wc -l)" -ge 3 ] && break; sleep 0.05; done
	[ "$(procs_with "$m" | wc -l)" -ge 3 ]
	pid=$(pgrep -f -- "run --results $res" | head -1)
	[ -n "$pid" ]
	sid=$(ps -o sid= -p "$pid" | tr -d ' ')
	kill -KILL "$spid"
	# ... when the whole session is SIGKILLed (a logout, a CI runner's
	# end): the guardian was in it
	sleep 0.2
	pkill -KILL -s "$sid" || true
	gone "$m" || { echo "left: $(procs_with "$m")"; return 1; }
	cgroup_gone "$pid"
}

# Each short job prints its cgroup and the command line of every other
# process in it: a job started in a reused cgroup that still held the
# previous job's leftover would list it.
@test "cgroup mode: a reused job cgroup never holds a process of an earlier job; reuse is counted" {
	m=$(marker)
	cat > "$BATS_TEST_TMPDIR/look.sh" <<'EOS'
mnt=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
cg=$(sed -n 's/^0:://p' /proc/self/cgroup)
echo "cgroup ${cg##*/}"
for p in $(cat "$mnt$cg/cgroup.procs"); do
	[ "$p" = $$ ] && continue
	a=$(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null) || continue
	echo "other $a"
done
EOS
	f=$(spec <<EOF
{"jobs": [
 {"name": "left", "kill_after": 1,
  "shell": "setsid sh -c 'trap \"\" TERM; sleep 300; : $m' & sleep 0.2; echo bye"},
 {"name": "a", "run": ["sh", "$BATS_TEST_TMPDIR/look.sh"], "repeat": 60},
 {"name": "b", "run": ["sh", "$BATS_TEST_TMPDIR/look.sh"], "repeat": 30, "after": ["left"]}
]}
EOF
)
	PIPERUN_CONTAINMENT=cgroup pr run -j 4 "$f"
	assert_success
	[ "$(jqo '.containment')" = cgroup ]
	# the leftover ignored TERM: it took the KILL, and was listed
	[ "$(jqo '.jobs[0].termination | map(.signal) | join(",")')" = SIGTERM,SIGKILL ]
	[ "$(jqo '[.jobs[0].escaped[] | select(.argv == "sleep 300")] | length')" = 1 ]
	# every other job saw only itself (and what it ran) in its cgroup
	[ "$(jqo '[.jobs[1:][] | .stdout | split("\n")[] | select(startswith("other ")) |
		select(test("^other (sh .*look.sh|tr|cat|awk|sed) ") | not)] | length')" = 0 ] ||
		{ jqo '[.jobs[1:][] | .stdout]'; return 1; }
	[ "$(jqo '[.jobs[1:][] | select(.stdout | startswith("cgroup job"))] | length')" = 90 ]
	# cgroups were reused; every attempt is counted once
	[ "$(jqo '.job_cgroups.reused')" -gt 0 ]
	[ "$(jqo '.job_cgroups.created + .job_cgroups.reused')" = 91 ]
	[ -z "$(procs_with "$m")" ]
}

# Linux 6.14-6.18 compare the kill_seq of the parent's cgroup with the
# target's on clone3(CLONE_INTO_CGROUP) and SIGKILL the child when they
# differ: under a runner whose cgroup once had a cgroup.kill, every job
# would die at birth.  spawn.c notices and falls back to cgroup.procs.
@test "cgroup mode: jobs run when piperun's own cgroup once had a cgroup.kill" {
	d=$(cgroup_parent)
	[ -n "$d" ]
	d="$d/piperun-test-killed-$$-$BATS_TEST_NUMBER"
	mkdir "$d"
	echo 1 > "$d/cgroup.kill"
	f=$(spec <<<'{"jobs": [{"run": ["echo", "hi"], "repeat": 5}]}')
	PIPERUN_CONTAINMENT=cgroup run --separate-stderr sh -c 'echo $$ > "$1/cgroup.procs" && exec "$2" run "$3"' sh "$d" "$PIPERUN" "$f"
	for i in $(seq 40); do rmdir "$d" 2>/dev/null && break; sleep 0.05; done
	[ ! -e "$d" ]
	assert_success
	[ "$(jqo '.containment')" = cgroup ]
	[ "$(jqo '[.jobs[] | select(.status == "ok" and .stdout == "hi\n" and .containment == "cgroup")] | length')" = 5 ]
}

# What a job does to its own cgroup stays with it: a reused cgroup is
# one left exactly as it was made.  Each tampering job changes one thing
# (a limit or the pressure switch written without truncating: no file
# time moves); the check after it, one job at a time, takes whatever
# cgroup was kept and reports it as it finds it.
@test "cgroup mode: a job's changes to its cgroup (limits, pressure, sub-cgroups, owner, freezing, xattrs) never reach a later job" {
	cat > "$BATS_TEST_TMPDIR/check.sh" <<'EOS'
mnt=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
d=$mnt$(sed -n 's/^0:://p' /proc/self/cgroup)
mkdir "$d/mine" && rmdir "$d/mine" && echo sub-ok
echo "depth $(cat "$d/cgroup.max.depth") desc $(cat "$d/cgroup.max.descendants")"
echo "subdirs $(find "$d" -mindepth 1 -type d | wc -l)"
echo "owner $(stat -c %U "$d/cgroup.freeze") $(stat -c %U "$d")"
echo "pressure $(cat "$d/cgroup.pressure")"
grep frozen "$d/cgroup.events"
echo "xattrs $(python3 -c 'import os, sys; print(len(os.listxattr(sys.argv[1])))' "$d")"
EOS
	cat > "$BATS_TEST_TMPDIR/cg.sh" <<'EOS'
printf '%s' "$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)$(sed -n 's/^0:://p' /proc/self/cgroup)"
EOS
	cg="d=\$(sh $BATS_TEST_TMPDIR/cg.sh)"
	chk() { printf '{"name": "check%s", "run": ["sh", "%s"]}' "$1" "$BATS_TEST_TMPDIR/check.sh"; }
	f=$(spec <<EOF
{"jobs": [
 {"name": "desc", "shell": "$cg; printf 0 1<> \$d/cgroup.max.descendants"}, $(chk 1),
 {"name": "psi", "shell": "$cg; printf 0 1<> \$d/cgroup.pressure"}, $(chk 2),
 {"name": "depth", "shell": "$cg; echo 0 > \$d/cgroup.max.depth"}, $(chk 3),
 {"name": "sub", "shell": "$cg; mkdir \$d/left"}, $(chk 4),
 {"name": "chown", "shell": "$cg; chown nobody \$d/cgroup.freeze \$d"}, $(chk 5),
 {"name": "freeze", "shell": "$cg; echo 1 > \$d/cgroup.freeze; while :; do sleep 0.05; done",
  "timeout": 0.5}, $(chk 6),
 {"name": "xattr", "shell": "$cg; python3 -c 'import os, sys; os.setxattr(sys.argv[1], \"user.note\", b\"x\")' \$d"},
 $(chk 7)
]}
EOF
)
	# one at a time, in spec order: each check gets what the job before
	# it left, if it was kept (bounded: a job born into a frozen cgroup
	# would hang the runner)
	PIPERUN_CONTAINMENT=cgroup run --separate-stderr timeout -s KILL 60 "$PIPERUN" run -j 1 "$f"
	[ "$status" -eq 1 ]
	[ "$(jqo '.jobs[10].status')" = timeout ]
	[ "$(jqo '[.jobs[] | select(.name | startswith("check")) | select(.status == "ok")] | length')" = 7 ]
	[ "$(jqo '[.jobs[] | select(.name | startswith("check")) | .stdout] | unique | length')" = 1 ] ||
		{ jqo '[.jobs[] | select(.name | startswith("check")) | .stdout]'; return 1; }
	[ "$(jqo '.jobs[1].stdout')" = "$(printf '%s\n' sub-ok 'depth max desc max' 'subdirs 0' 'owner root root' 'pressure 1' 'frozen 0' 'xattrs 0')" ]
	# the checks' own cgroups, left as made, were kept and reused
	[ "$(jqo '.job_cgroups.reused')" -gt 0 ]
}

# A root job can also change an idle kept cgroup of the run, not its
# own: the job that takes that cgroup next must find it as made (a kept
# cgroup written to, chmod'ed or given a sub-cgroup since its checks is
# checked again when taken).
@test "cgroup mode: a kept cgroup another job changed is not handed on as it was left" {
	cat > "$BATS_TEST_TMPDIR/spoil.sh" <<'EOS'
me=$(sed -n 's/^0:://p' /proc/self/cgroup)
run=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)${me%/*}
n=0
for d in "$run"/job*/; do
	[ "$d" = "$run${me#${me%/*}}/" ] && continue
	[ "$(grep populated "$d/cgroup.events")" = 'populated 0' ] || continue
	printf 0 1<> "$d/cgroup.max.depth" && chown nobody "$d/cgroup.freeze" && n=$((n + 1))
done
[ "$n" -gt 0 ] || exit 3
EOS
	cat > "$BATS_TEST_TMPDIR/look.sh" <<'EOS'
d=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)$(sed -n 's/^0:://p' /proc/self/cgroup)
echo "depth $(cat "$d/cgroup.max.depth") owner $(stat -c %U "$d/cgroup.freeze")"
EOS
	f=$(spec <<EOF
{"jobs": [
 {"name": "x", "run": ["true"], "repeat": 4},
 {"name": "spoil", "run": ["bash", "$BATS_TEST_TMPDIR/spoil.sh"], "after": ["x"]},
 {"name": "look", "run": ["bash", "$BATS_TEST_TMPDIR/look.sh"], "after": ["spoil"], "repeat": 6}
]}
EOF
)
	PIPERUN_CONTAINMENT=cgroup pr run -j 2 "$f"
	assert_success
	[ "$(jqo '[.jobs[] | select(.name | startswith("look")) | select(.stdout == "depth max owner root\n")] | length')" = 6 ] ||
		{ jqo '[.jobs[] | select(.name | startswith("look")) | .stdout]'; return 1; }
}

# A root job can mount another cgroup over its own cgroup's name.
# piperun works on the cgroup it made through the fd it has held since
# the mkdir, never by name: what the job left in its real cgroup is
# still stopped and listed, and no later job is started in the other.
@test "cgroup mode: a job that mounts another cgroup over its own's name changes nothing for piperun" {
	m=$(marker)
	mnt=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
	decoy="$mnt/piperun-decoy.$$"
	mkdir "$decoy"
	cat > "$BATS_TEST_TMPDIR/cover.sh" <<EOS
d=$mnt\$(sed -n 's/^0:://p' /proc/self/cgroup)
echo "\$d" > "$BATS_TEST_TMPDIR/covered"
setsid bash -c "exec -a '$m' sleep 300" &
until pgrep -f '^$m' > /dev/null; do sleep 0.01; done
mount --bind "$decoy" "\$d"
EOS
	f=$(spec <<EOF
{"jobs": [
 {"name": "a", "run": ["true"]},
 {"name": "cover", "run": ["sh", "$BATS_TEST_TMPDIR/cover.sh"], "after": ["a"]},
 {"name": "later", "run": ["sh", "-c", "sed -n 's/^0:://p' /proc/self/cgroup"], "after": ["cover"],
  "repeat": 3}
]}
EOF
)
	PIPERUN_CONTAINMENT=cgroup pr run -j 1 "$f"
	covered=$(cat "$BATS_TEST_TMPDIR/covered")
	umount "$covered" 2>/dev/null || true
	rmdir "$covered" "${covered%/*}" 2>/dev/null || true
	rmdir "$decoy"
	assert_success
	[ "$(jqo --arg m "$m" '[.jobs[1].escaped[].argv | startswith($m)] | any')" = true ] ||
		{ jqo '.jobs[1] | {escaped, termination}'; return 1; }
	[ "$(jqo '[.jobs[2:][] | .stdout | test("^/piperun\\.[0-9]+/job[0-9]+\n$")] | all')" = true ] ||
		{ jqo '[.jobs[2:][] | .stdout]'; return 1; }
	gone "$m"
}

# A root job can move a process into an idle kept cgroup of the run; the
# job that gets that cgroup next must not inherit (and be blamed for) it.
@test "cgroup mode: a process parked in a kept cgroup is not handed to the next job" {
	m=$(marker)
	cat > "$BATS_TEST_TMPDIR/park.sh" <<EOS
me=\$(sed -n 's/^0:://p' /proc/self/cgroup)
run=\$(awk '\$0 ~ / - cgroup2 / {print \$5; exit}' /proc/self/mountinfo)\${me%/*}
for d in \$run/job*/; do
	[ "\$(grep populated \$d/cgroup.events)" = 'populated 0' ] && tgt=\$d && break
done
[ -n "\$tgt" ] || exit 3
setsid bash -c "echo \\\$\\\$ > \$tgt/cgroup.procs; exec -a '$m' sleep 300" &
sleep 0.2
EOS
	f=$(spec <<EOF
{"jobs": [
 {"name": "x", "run": ["sleep", "0.2"], "repeat": 2},
 {"name": "park", "run": ["bash", "$BATS_TEST_TMPDIR/park.sh"], "after": ["x"]},
 {"name": "b", "run": ["sleep", "0.3"], "after": ["park"]},
 {"name": "c", "run": ["sleep", "0.3"], "after": ["park"]}
]}
EOF
)
	PIPERUN_CONTAINMENT=cgroup pr run -j 2 "$f"
	assert_success
	[ "$(jqo '[.jobs[3:][] | .escaped[], .termination[]] | length')" = 0 ] ||
		{ jqo '[.jobs[3:][] | {escaped, termination}]'; return 1; }
	gone "$m"
}
