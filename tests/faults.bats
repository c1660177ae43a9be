#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# faults.bats - fault injection (issue 9): resource shortage, spawn
# failures, results that cannot be written, hostile children, and the
# runner itself interrupted or killed at random moments.  Each test says
# what must hold: no crash, no hang, every job's record exactly once,
# nothing of the run left running.
# FAULT_TRIALS / KILL_TRIALS set the random-moment trial counts
# (default 50 and 20, as RELIABILITY.md reports).
load helper

@test "fd shortage: ulimit -n 40, 120 captured jobs at -j 120: jobs wait for fds, all ok" {
	f=$(spec <<EOF
{"jobs": [{"name": "j", "run": ["$QUICK", "out"], "repeat": 120}]}
EOF
)
	run --separate-stderr bash -c 'ulimit -n 40 && exec "$0" run -j 120 "$1"' "$PIPERUN" "$f"
	[ "$status" -eq 0 ]
	[ "$(jqo '.summary.ok')" -eq 120 ]
	[ "$(jqo '[.jobs[].stdout] | unique | @json')" = '["out\n"]' ]
	[ "$(jqo '.runner | .fds_end == .fds_start')" = true ]
}

# LeakSanitizer (the sanitizer build of scripts/check) stops the world
# at exit with a clone of its own: under a process limit that fails at
# random and it ends the process with status 1 (a pipeline host, a
# steps host); the two process-limit tests run without it.
no_lsan() {
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0"
}

@test "process shortage: ulimit -u 12 as an unprivileged user, 60 jobs at -j 60: all ok" {
	# root is exempt from RLIMIT_NPROC: run as nobody (setpriv)
	no_lsan
	local d
	d=$(mktemp -d) && chmod 755 "$d"
	cat > "$d/spec.json" <<EOF
{"jobs": [{"name": "j", "run": ["$QUICK", "-s", "0.02", "x"], "repeat": 60}]}
EOF
	chmod 644 "$d/spec.json"
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		bash -c 'ulimit -u 12 && exec "$0" run -j 60 "$1"' "$PIPERUN" "$d/spec.json"
	rm -rf "$d"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(jqo '.summary.ok')" -eq 60 ]
	[ "$(jqo '[.jobs[] | select(.throttled)] | length')" -gt 0 ]
}

@test "process shortage: pipeline hosts that cannot fork wait for running jobs (ulimit -u 12, 30 pipelines, async and thread)" {
	# the host starts, then its fork fails: the job must wait like a
	# start that found no headroom, not be lost
	no_lsan
	local d
	d=$(mktemp -d) && chmod 755 "$d"
	cat > "$d/spec.json" <<EOF
{"jobs": [{"name": "p", "pipeline": [["sleep", "0.05"], ["cat"]], "repeat": 30}]}
EOF
	chmod 644 "$d/spec.json"
	for m in async thread; do
		run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
			bash -c 'ulimit -u 12 && exec "$0" run --mode "$2" -j 4 "$1"' "$PIPERUN" "$d/spec.json" "$m"
		echo "$m: $stderr"
		[ "$status" -eq 0 ]
		[ "$(jqo '.summary | [.total, .ok] | @json')" = '[30,30]' ]
	done
	rm -rf "$d"
}

@test "process shortage with nothing else running: the start is tried again for a moment before it is an error" {
	# two sleeps of the same user hold the last slots for 0.3 s (the
	# runner, its guardian and, in thread mode, its one worker take the
	# rest): the one job's first start finds none, with no job to wait
	# for; it starts once they are gone
	no_lsan
	local d
	d=$(mktemp -d) && chmod 755 "$d"
	echo '{"jobs": [{"name": "t", "run": ["true"]}]}' > "$d/one.json"
	chmod 644 "$d/one.json"
	for m in async:4 thread:5; do
		run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
			bash -c 'ulimit -u "$3"; sleep 0.3 & sleep 0.3 & exec "$0" run --mode "$2" -j 1 "$1"' \
			"$PIPERUN" "$d/one.json" "${m%:*}" "${m#*:}"
		echo "$m: $stderr"
		[ "$status" -eq 0 ]
		[ "$(jqo -c '.jobs[0] | [.status, .attempts]')" = '["ok",1]' ]
	done
	rm -rf "$d"
}

@test "spawn failures (exec format error, a directory, a program removed after validation): that job's error, the others run" {
	printf '\x7fELF-not-really' > "$BATS_TEST_TMPDIR/garbage"
	chmod +x "$BATS_TEST_TMPDIR/garbage"
	mkdir "$BATS_TEST_TMPDIR/adir"
	cp "$QUICK" "$BATS_TEST_TMPDIR/vanishing"
	f=$(spec <<EOF
{"jobs": [
  {"name": "garbage", "run": ["$BATS_TEST_TMPDIR/garbage"]},
  {"name": "dir", "run": ["$BATS_TEST_TMPDIR/adir"]},
  {"name": "remove", "run": ["rm", "$BATS_TEST_TMPDIR/vanishing"]},
  {"name": "vanished", "run": ["$BATS_TEST_TMPDIR/vanishing"], "after": ["remove"]},
  {"name": "fine", "run": ["$QUICK", "ok"]}
]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '[.jobs[] | .name + "=" + .status] | join(" ")')" = \
	  "garbage=error dir=error remove=ok vanished=error fine=ok" ]
	[[ "$(jqo '.jobs[0].error')" == *"Exec format error"* ]]
	[ "$(jqo '.jobs[0].returncode')" = 126 ]
	[ "$(jqo '.jobs[1].returncode')" = 126 ]
	[ "$(jqo '.jobs[3].returncode')" = 127 ]
	[[ "$(jqo '.jobs[3].error')" == *"No such file"* ]]
	[ "$(jqo '.jobs[4].stdout')" = ok ]
}

@test "a missing stdin file or cwd: that job's error with the path, returncode null; the others run" {
	f=$(spec <<EOF
{"jobs": [
  {"name": "nostdin", "run": ["cat"], "stdin": {"file": "$BATS_TEST_TMPDIR/no-such-input"}},
  {"name": "nocwd", "run": ["pwd"], "cwd": "$BATS_TEST_TMPDIR/no-such-dir"},
  {"name": "fine", "run": ["$QUICK", "ok"]}
]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '[.jobs[] | .status] | join(" ")')" = "error error ok" ]
	[ "$(jqo '[.jobs[0,1].returncode] | map(tostring) | join(" ")')" = "null null" ]
	[[ "$(jqo '.jobs[0].error')" == *"no-such-input"* ]]
	[[ "$(jqo '.jobs[1].error')" == *"no-such-dir"* ]]
}

@test "--results /dev/full: a clear error, exit 3, running jobs stopped, nothing left" {
	local m
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [
  {"name": "first", "run": ["$QUICK", "x"]},
  {"name": "slow", "run": ["$QUICK", "-s", "30", "$m"]},
  {"name": "later", "run": ["$QUICK"], "after": ["slow"]}
]}
EOF
)
	pr run "$f" --results /dev/full
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"piperun: writing results to /dev/full: No space left on device"* ]]
	# stdout still carries what could be written
	[ "$(jqo '[.status, .stopped] | join(" ")')" = "error output" ]
	[ "$(jqo '[.jobs[].status] | join(" ")')" = "ok cancelled skipped" ]
	gone "$m"
}

@test "stdout closed by its reader (| head -c1): SIGPIPE at once, no message, no hang, nothing left" {
	local m o
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [
  {"name": "first", "run": ["$QUICK", "x"]},
  {"name": "slow", "run": ["$QUICK", "-s", "30", "$m"]}
]}
EOF
)
	# JSONL and the JSON document stream as jobs end: head takes the
	# first byte and leaves, and the run stops then, not 30 s later
	for o in jsonl json; do
		run bash -c '"$0" run -o "$2" "$1" 2>"$3" | head -c1; echo " ${PIPESTATUS[0]}"' \
			"$PIPERUN" "$f" "$o" "$BATS_TEST_TMPDIR/err"
		echo "$o: $output"
		[ "$output" = "{ 141" ]
		[ ! -s "$BATS_TEST_TMPDIR/err" ]
		gone "$m"
	done
	# the text table is written at the end: a short run, then EPIPE once
	# the table outgrows the pipe (1500 rows of ~75 bytes)
	f=$(spec short.json <<EOF
{"jobs": [{"name": "a-rather-long-job-name-for-the-table", "run": ["$QUICK", "x"], "repeat": 1500}]}
EOF
)
	run bash -c '"$0" run -o text "$1" 2>"$2" | head -c1; echo " ${PIPESTATUS[0]}"' \
		"$PIPERUN" "$f" "$BATS_TEST_TMPDIR/err"
	[ "${output#* }" = 141 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "-o jsonl | head -1: the run stops as interrupted by SIGPIPE (141), --results complete, stderr silent, nothing left" {
	local m
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [
  {"name": "first", "run": ["$QUICK", "x"]},
  {"name": "slow", "run": ["$QUICK", "-s", "30", "$m"], "repeat": 3},
  {"name": "later", "run": ["$QUICK"], "after": ["slow"]}
]}
EOF
)
	r=$BATS_TEST_TMPDIR/r.json
	run bash -c '"$0" run -o jsonl --results "$2" "$1" 2>"$3" | head -1; echo "${PIPESTATUS[0]}"' \
		"$PIPERUN" "$f" "$r" "$BATS_TEST_TMPDIR/err"
	[ "${#lines[@]}" = 2 ]
	[ "$(jq -r .name <<<"${lines[0]}")" = first ]
	[ "${lines[1]}" = 141 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	[ "$(jq -c '[.status, .stopped, .summary.total]' "$r")" = '["interrupted","SIGPIPE",5]' ]
	[ "$(jq -r '[.jobs[].status] | join(" ")' "$r")" = "ok cancelled cancelled cancelled skipped" ]
	[ "$(jq -r '.jobs[1].termination[0].signal' "$r")" = SIGTERM ]
	gone "$m"
}

# A reader that stays but stops reading must not stop the run: with
# stdout's pipe full, jobs still start and timers still fire.  The
# reader reads nothing until the last job has shown (a file) that it
# started and was stopped at its timeout; before, the loop waited in a
# write for the reader, which waited for that job: deadlock, ended here
# by the outer timeout.
@test "-o jsonl to a reader that stops reading: jobs still start and time out, every record arrives" {
	d=$BATS_TEST_TMPDIR
	line=$(printf 'x%.0s' $(seq 200))
	f=$(spec <<EOF
{"jobs": [
  {"name": "x", "run": ["echo", "$line"], "repeat": 2000},
  {"name": "t", "run": ["sh", "-c", ": > $d/started; exec sleep 30"], "timeout": 0.3,
   "after": ["x"]},
  {"name": "z", "run": ["sh", "-c", ": > $d/after"], "after": ["t"], "always": true}
]}
EOF
)
	run timeout -s KILL 60 bash -c '"$0" run -o jsonl "$1" |
		{ until [ -e "$2/after" ]; do sleep 0.05; done; cat; }; exit "${PIPESTATUS[0]}"' \
		"$PIPERUN" "$f" "$d"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" = 2003 ]
	[ "$(jq -sc '[map(select(.name == "t"))[0].status, map(select(.name == "z"))[0].status, (map(select((.name // "") | startswith("x#"))) | length)]' <<<"$output")" = '["timeout","ok",2000]' ]
}

@test "live output to a stdout whose reader went away stops the run too (-o none, tee)" {
	local m
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [
  {"name": "talk", "shell": "for i in \$(seq 500); do echo line; sleep 0.01; done # $m", "stdout": "tee"},
  {"name": "slow", "run": ["$QUICK", "-s", "10", "$m"]}
]}
EOF
)
	r=$BATS_TEST_TMPDIR/r.json
	run bash -c '"$0" run -o none --results "$2" "$1" 2>"$3" | head -1; echo "${PIPESTATUS[0]}"' \
		"$PIPERUN" "$f" "$r" "$BATS_TEST_TMPDIR/err"
	[ "${lines[0]}" = line ]
	[ "${lines[1]}" = 141 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	[ "$(jq -c '[.status, .stopped] ' "$r")" = '["interrupted","SIGPIPE"]' ]
	[ "$(jq -r '[.jobs[].status] | join(" ")' "$r")" = "cancelled cancelled" ]
	gone "$m"
}

@test "a full stdout (/dev/full) stays an error: exit 3, a message, --results says error" {
	f=$(spec <<<'{"jobs": [{"name": "a", "run": ["true"]}]}')
	r=$BATS_TEST_TMPDIR/r.json
	for o in json jsonl text; do
		run --separate-stderr bash -c '"$0" run -o "$2" --results "$3" "$1" >/dev/full' "$PIPERUN" "$f" "$o" "$r"
		[ "$status" = 3 ]
		[ "$stderr" = "piperun: writing results to stdout: No space left on device" ]
		[ "$(jq -r .status "$r")" = error ]
	done
}

@test "a child that closes stdout early and keeps running: the job waits for its exit" {
	f=$(spec <<'EOF'
{"jobs": [{"name": "early", "shell": "echo before; exec >&-; sleep 0.3; echo after >&2"}]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(jqo '.jobs[0] | [.stdout, .stderr, .status] | join("|")')" = $'before\n|after\n|ok' ]
	[ "$(jqo '.jobs[0].duration_ms >= 300')" = true ]
}

@test "a child writing forever: stopped at its timeout, output bounded, runner memory flat" {
	f=$(spec <<'EOF'
{"jobs": [{"name": "yes", "run": ["yes"], "timeout": "0.5s", "max_output": 1000}]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '.jobs[0].status')" = timeout ]
	[ "$(jqo '.jobs[0].stdout | length')" -eq 1000 ]
	[ "$(jqo '.jobs[0].stdout_truncated')" = true ]
	[ "$(jqo '.jobs[0].stdout_bytes > 1000000')" = true ]
	RSS_JQ='.runner.peak_rss_kb'
	budget=$(rss_budget_kb "$PIPERUN" run "$f")
	[ "$(jqo '.runner.peak_rss_kb')" -le "$budget" ]
}

@test "a child that forks 100 grandchildren and exits: all killed, nothing left" {
	local m
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [{"name": "tree", "run": ["$PROBE", "spawn-tree", "100", "30", "$m"]}]}
EOF
)
	pr run "$f"
	assert_success
	gone "$m"
}

@test "children that change their process group or call setsid: killed with the job, nothing left" {
	local m
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [
  {"name": "setsid", "shell": "setsid -f $QUICK -s 30 $m-a; sleep 0.1"},
  {"name": "setpgid", "shell": "set -m; $QUICK -s 30 $m-b & sleep 0.1"},
  {"name": "timed", "shell": "setsid -f $QUICK -s 30 $m-c; exec sleep 30", "timeout": "0.3s"}
]}
EOF
)
	pr run "$f"
	[ "$(jqo '[.jobs[].status] | join(" ")')" = "ok ok timeout" ]
	gone "$m"
}

@test "a child that ignores every catchable signal: TERM then KILL at the timeout" {
	f=$(spec <<EOF
{"jobs": [{"name": "deaf", "run": ["$PROBE", "ignore-all", "60"], "timeout": "2s", "kill_after": "0.2s"}]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '.jobs[0] | [.status, .signal] | join(" ")')" = "timeout SIGKILL" ]
	[ "$(jqo '.jobs[0].termination | map(.signal) | join(",")')" = "SIGTERM,SIGKILL" ]
}

@test "a child reading a stdin that is never closed: its timeout ends it, the run ends" {
	f=$(spec <<'EOF'
{"jobs": [{"name": "reader", "run": ["cat"], "stdin": "inherit", "timeout": "0.3s"},
          {"name": "fine", "run": ["true"]}]}
EOF
)
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	# hold the fifo open for writing, never write, never close
	sleep 60 > "$BATS_TEST_TMPDIR/fifo" &
	local holder=$!
	run --separate-stderr "$PIPERUN" run "$f" < "$BATS_TEST_TMPDIR/fifo"
	kill $holder
	[ "$status" -eq 1 ]
	[ "$(jqo '[.jobs[].status] | join(" ")')" = "timeout ok" ]
}

# Wait (up to 5 s) until process $1 blocks SIGINT and SIGTERM.
signals_blocked() {
	local i blk k v
	for i in $(seq 500); do
		# (read, not awk: a poll every 10 ms with no process)
		blk=
		{ while read -r k v; do [ "$k" != SigBlk: ] || blk=$v; done < "/proc/$1/status"; } 2>/dev/null ||
			return 0
		[ -n "$blk" ] && [ $(( 0x$blk & 0x4002 )) -eq $(( 0x4002 )) ] && return 0
		sleep 0.01
	done
}

# One trial: a 500-job run (400 quick, 100 sleeping 0.2 s, at -j 16),
# signal $1 a random 0-299 ms after piperun has blocked its signals
# (before that, a signal kills it like any program).  It must die of that signal
# (CONTRACT section 2) having written every job's record exactly once,
# with nothing left running.
interrupt_trial() {
	local sig=$1 m=$2 res=$BATS_TEST_TMPDIR/res.json st verdict
	rm -f "$res"
	"${INTERRUPTIBLE[@]}" "$PIPERUN" run -j 16 --results "$res" -o none "$BATS_TEST_TMPDIR/500.json" 2>/dev/null &
	local pid=$!
	# from the moment piperun takes its signals (blocked for its
	# signalfd: before that, while the loader and, under ASan, the
	# sanitizer start, a signal kills it as it would any program)
	signals_blocked $pid
	sleep "0.$(printf '%03d' $((RANDOM % 300)))"
	kill -s "$sig" $pid
	wait $pid && st=0 || st=$?
	case $sig in INT) [ "$st" -eq 130 ] ;; TERM) [ "$st" -eq 143 ] ;; esac ||
		{ echo "SIG$sig: exit $st"; return 1; }
	# one jq: 500 records, 500 names, interrupted, only ok/cancelled/skipped
	verdict=$(jq -r '[(.jobs | length), ([.jobs[].name] | unique | length), .status,
			  ([.jobs[].status] - ["ok", "cancelled", "skipped"] | length)] | @tsv' "$res")
	[ "$verdict" = $'500\t500\tinterrupted\t0' ] || { echo "SIG$sig: $verdict"; return 1; }
	gone "$m" || { echo "SIG$sig: left running"; return 1; }
}

@test "SIGINT/SIGTERM at random moments in a 500-job run (FAULT_TRIALS, default 50): results complete, nothing left" {
	local m i n=${FAULT_TRIALS:-50}
	m=$(marker)
	cat > "$BATS_TEST_TMPDIR/500.json" <<EOF
{"jobs": [{"name": "q", "run": ["$QUICK"], "repeat": 400},
          {"name": "s", "run": ["$QUICK", "-s", "0.2", "$m"], "repeat": 100}]}
EOF
	for i in $(seq "$n"); do
		if [ $((i % 2)) -eq 0 ]; then interrupt_trial INT "$m"; else interrupt_trial TERM "$m"; fi
	done
}

@test "SIGKILL of the runner at random moments (KILL_TRIALS, default 20), jobs with grandchildren: nothing left within 1 s" {
	local m i pid n=${KILL_TRIALS:-20}
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [{"name": "tree", "run": ["$PROBE", "spawn-tree", "3", "30", "$m"], "repeat": 10},
          {"name": "sleep", "run": ["$QUICK", "-s", "30", "$m"], "repeat": 10},
          {"name": "pipe", "pipeline": [["$QUICK", "-s", "30", "$m"], ["cat"]], "repeat": 5}]}
EOF
)
	for i in $(seq "$n"); do
		"$PIPERUN" run -o none "$f" 2>/dev/null &
		pid=$!
		sleep "0.$(printf '%03d' $((50 + RANDOM % 350)))"
		kill -KILL $pid
		wait $pid || true
		gone "$m" || { echo "trial $i: left running:"; ps -o pid,pgid,args -p "$(procs_with "$m" | tr '\n' ,)0"; return 1; }
	done
}

# SIGTERM to pid $1 0.2 s after it started, then wait at most 5 s for
# it to end; then SIGKILL it and fail, saying $2.  Sets $st to its
# exit status.
term_ends() {
	local i
	sleep 0.2
	kill -TERM "$1"
	for i in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1"
		fail "$2 still waits 5 s after SIGTERM"
	fi
	wait "$1" && st=0 || st=$?
}

@test "SIGTERM while the spec is still being read from a pipe: piperun stops at once (143)" {
	# (SIGTERM: a background job of a non-interactive shell ignores SIGINT)
	local m st
	m=$(marker)
	"$QUICK" -s 30 "$m" | "$PIPERUN" run - >/dev/null 2>&1 &
	# (bash waits for the whole pipeline)
	term_ends $! "piperun run -" || { pkill -f -- "$m"; false; }
	pkill -f -- "$m" || true
	[ "$st" -eq 143 ]
}

@test "SIGTERM while any command waits for an input FIFO nobody writes: it dies of it (143)" {
	# every command that reads a spec, results or a journal before it
	# starts anything; plan keeps its signals blocked for a foreach
	# command source, which once left it deaf while it waited here
	mkfifo "$BATS_TEST_TMPDIR/in"
	local f=$BATS_TEST_TMPDIR/in c st
	for c in "validate $f" "plan $f" "plan --no-commands $f" "run $f" "show $f" \
		"timeline $f --svg $BATS_TEST_TMPDIR/t.svg" "pool --task gcd --items $f"; do
		# shellcheck disable=SC2086
		"$PIPERUN" $c > /dev/null 2>&1 &
		term_ends $! "piperun $c"
		[ "$st" -eq 143 ] || fail "piperun $c: exit $st after SIGTERM"
	done
}

# The results file is replaced whole at the end, never truncated at the
# start (afile.h): a runner killed halfway leaves the previous results.
@test "SIGKILL of the runner mid-run: an existing --results file (and exec --json) stays byte-identical, nothing is left beside it" {
	d="$BATS_TEST_TMPDIR/out"
	mkdir "$d"
	printf '{"earlier": "results"}\n' > "$d/r.json"
	printf '{"earlier": "record"}\n' > "$d/e.json"
	cp "$d/r.json" "$d/r.before"
	cp "$d/e.json" "$d/e.before"
	chmod 640 "$d/r.json"
	f=$(spec <<<'{"jobs": [{"run": ["sleep", "30"]}, {"run": ["echo", "hi"]}]}')
	"$PIPERUN" run -o none --results "$d/r.json" "$f" & p=$!
	"$PIPERUN" exec --json "$d/e.json" -- sleep 30 & q=$!
	sleep 0.5
	kill -KILL $p $q
	wait $p $q || true
	cmp "$d/r.json" "$d/r.before"
	cmp "$d/e.json" "$d/e.before"
	[ "$(ls -A "$d" | sort | tr '\n' ' ')" = "e.before e.json r.before r.json " ]
	# a run that ends replaces it whole, with the old file's mode
	"$PIPERUN" run -o none --results "$d/r.json" "$(spec <<<'{"jobs": [{"run": ["true"]}]}')"
	[ "$(jq -r '.status' "$d/r.json")" = ok ]
	[ "$(stat -c %a "$d/r.json")" = 640 ]
	"$PIPERUN" exec --json "$d/e.json" -- true
	[ "$(jq -r '.status' "$d/e.json")" = ok ]
	[ "$(ls -A "$d" | sort | tr '\n' ' ')" = "e.before e.json r.before r.json " ]
	# a target that cannot be written is still an error at the start,
	# with nothing run
	run --separate-stderr "$PIPERUN" run -o none --results "$d" "$f"
	[ "$status" -eq 2 ]
	[ "$stderr" = "piperun: --results $d: Is a directory" ]
}
