#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# fds.bats - fd headroom (issue 13, item 11): a job waits for what it
# really needs (job.c fd_need), not a fixed reserve; jobs wait for fds
# while others run; and a run that cannot even set itself up exits 3
# with a clear message and leaves nothing behind (no cgroup, no
# guardian).
load helper

# Run piperun under `ulimit -n $1` (soft and hard) with the rest as its
# arguments; sets status, output (stdout), stderr and pid (piperun's).
run_limited() {
	local n=$1
	shift
	# fds the test harness holds open are closed first: the limit is
	# piperun's alone (the dynamic loader needs a few to start it)
	bash -c 'for f in /proc/$$/fd/*; do f=${f##*/}; [ "$f" -gt 2 ] && eval "exec $f>&-"; done
		 ulimit -n "$0" && exec "$@"' "$n" "$PIPERUN" "$@" \
		> "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
	pid=$!
	status=0
	wait $pid || status=$?
	output=$(cat "$BATS_TEST_TMPDIR/out")
	stderr=$(cat "$BATS_TEST_TMPDIR/err")
}

# Nothing of run $pid is left: its cgroup is gone, and no process has
# the spec path $1 in its argv (the guardian has piperun's argv).
nothing_left() {
	local cg
	cg=$(cgroup_parent)
	if [ -n "$cg" ] && [ -e "$cg/piperun.$pid" ]; then
		echo "left behind: $cg/piperun.$pid"
		return 1
	fi
	gone "$1"
}

@test "ulimit -n 24: hello.json, a pipeline and a steps job are ok" {
	cp "$PIPELINES/hello.json" "$BATS_TEST_TMPDIR/hello.json"
	for m in async thread; do
		run_limited 24 run --mode $m "$BATS_TEST_TMPDIR/hello.json"
		echo "$m: $stderr"
		[ "$status" -eq 0 ]
		[ "$(jqo '.jobs[0] | [.status, .stdout] | @json')" = '["ok","Hello from the child!\n"]' ]
		nothing_left "$BATS_TEST_TMPDIR/hello.json"
	done
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "p", "pipeline": [["printf", "a\\nb\\n"], ["tr", "a-z", "A-Z"]]},
  {"name": "s", "items": {"count": 20}, "steps": [
     {"name": "say", "workers": 2, "run": ["sh", "-c", "echo \"got-$1\"", "sh", "{}"], "stdin": null},
     {"name": "up", "workers": 2, "run": ["tr", "a-z", "A-Z"]}]}]}
EOF
)
	run_limited 24 run "$f"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(jqo '.jobs[0].stdout')" = "$(printf 'A\nB')" ]
	[ "$(jqo '.jobs[1].stdout' | grep -c '^GOT-[0-9]*$')" -eq 20 ]
}

@test "ulimit -n 24: captured jobs wait for fds while others run, spill files included; all ok" {
	# each writes 200 kB, beyond what a capture keeps in memory
	f=$(spec <<'EOF'
{"max_parallel": 8, "jobs": [{"name": "big", "shell": "sleep 0.05; head -c 200000 /dev/zero | tr '\\0' x",
                              "repeat": 8}]}
EOF
)
	run_limited 24 run "$f"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(jqo '[.jobs[] | .status] | unique | @json')" = '["ok"]' ]
	[ "$(jqo '[.jobs[] | .stdout_bytes, (.stdout | length)] | unique | @json')" = '[200000]' ]
	[ "$(jqo '[.jobs[].throttled // 0] | add > 0')" = true ]
	[ "$(jqo '.runner | .fds_end == .fds_start')" = true ]
}

@test "ulimit -n 5: exit 3 with a clear message; no cgroup and no guardian left behind" {
	cp "$PIPELINES/hello.json" "$BATS_TEST_TMPDIR/hello.json"
	for i in 1 2 3; do
		run_limited 5 run "$BATS_TEST_TMPDIR/hello.json"
		[ "$status" -eq 3 ]
		[ -z "$output" ]
		[[ "$stderr" =~ ^piperun:\ .*:\ Too\ many\ open\ files$ ]]
		nothing_left "$BATS_TEST_TMPDIR/hello.json"
	done
}

@test "every fd limit from 5 to 24: ok, or a clear reason and nothing left behind; once ok, ok above" {
	cp "$PIPELINES/hello.json" "$BATS_TEST_TMPDIR/hello.json"
	for m in async thread; do
		local first_ok=
		for n in $(seq 5 24); do
			run_limited $n run --mode $m -o jsonl "$BATS_TEST_TMPDIR/hello.json"
			echo "$m $n: status $status, $stderr"
			case $status in
			0)
				[ "$(tail -1 <<<"$output" | jq -c '.summary | [.total, .ok]')" = '[1,1]' ]
				first_ok=${first_ok:-$n} ;;
			1)
				# set up, but the job itself cannot have what it needs
				[ -z "$first_ok" ]
				[ "$(head -1 <<<"$output" | jq -r '.error')" = "cannot start: Too many open files (and no other job is running)" ] ;;
			3)
				# the runner cannot even set itself up
				[ -z "$first_ok" ]
				[ -z "$output" ]
				[[ "$stderr" =~ ^piperun:\ .*:\ Too\ many\ open\ files$ ]] ;;
			*)
				false ;;
			esac
			nothing_left "$BATS_TEST_TMPDIR/hello.json"
		done
		echo "$m: first ok at ulimit -n $first_ok"
		[ -n "$first_ok" ]
	done
}

@test "a stop while jobs wait for fds: the waiting ones are skipped, never started after it (async and thread)" {
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [{"name": "s", "run": ["sh", "-c", "sleep 30; : $m"], "repeat": 20}]}
EOF
)
	for mode in async thread; do
		res=$BATS_TEST_TMPDIR/res-$mode.json
		# room for a few jobs at once: the others wait for fds (18 fds
		# piperun inherits take room its thread-mode worker count,
		# made from the limit, did not foresee: workers wait too)
		bash -c 'for f in /proc/$$/fd/*; do f=${f##*/}; [ "$f" -gt 2 ] && eval "exec $f>&-"; done
			 for f in $(seq 10 27); do eval "exec $f</dev/null"; done
			 ulimit -n 48 && exec "$@"' sh "$PIPERUN" run --mode "$mode" -j 20 --results "$res" -o none "$f" &
		pid=$!
		# the jobs that could start are running: the count settles (the
		# same three times in a row)
		n=0 same=0
		for i in $(seq 100); do
			c=$(procs_with "$m" | wc -l)
			if [ "$c" -gt 0 ] && [ "$c" = "$n" ]; then
				same=$((same + 1))
				[ "$same" -ge 2 ] && break
			else
				same=0
			fi
			n=$c
			sleep 0.1
		done
		[ "$n" -gt 0 ] && [ "$n" -lt 20 ]
		kill -TERM "$pid"
		rc=0
		wait "$pid" || rc=$?
		[ "$rc" = 143 ]
		# exactly the jobs running at the signal were cancelled; none
		# of the waiting ones started after it
		[ "$(jq -c '[([.jobs[] | select(.status == "cancelled")] | length), ([.jobs[].status] - ["cancelled", "skipped"] | length)]' "$res")" = "[$n,0]" ] ||
			{ echo "$mode: $n running: $(jq -c '[.jobs[] | [.status, .error]]' "$res")"; return 1; }
		gone "$m"
	done
}

# Kept job cgroups hold an fd each: under a tight limit they are given
# back before a job is refused, and a job that takes one needs no new fd
# for its cgroup (nor cgroup.procs, with clone3).
@test "cgroup mode, ulimit -n 18: kept job cgroups never cost a job its start" {
	f=$(spec <<<'{"jobs": [{"run": ["sh", "-c", "cat; echo err >&2"], "stdin": {"text": "x"}, "repeat": 100}]}')
	PIPERUN_CONTAINMENT=cgroup run_limited 18 run "$f"
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	[ "$(jqo '.containment')" = cgroup ]
	[ "$(jqo '[.jobs[] | select(.status == "ok" and .stdout == "x" and .stderr == "err\n")] | length')" = 100 ]
}
