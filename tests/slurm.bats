#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# --executor slurm against the private single-node cluster of
# scripts/slurm-up (issue 18).  As root the suite brings the cluster up
# itself (idempotent; scripts/check starts it before and stops it after)
# and a cluster that cannot start fails every test; as another user it
# is skipped, saying so.
load helper

SLURM_UP="$TESTS_DIR/../scripts/slurm-up"
SLURM_DIR=${SLURM_CI_DIR:-/tmp/slurm-ci}

setup_file() {
	if [ "$(id -u)" != 0 ]; then
		export SLURM_SKIP="not root: the single-node Slurm cluster needs root (scripts/slurm-up)"
		return 0
	fi
	"$SLURM_UP" >"$BATS_FILE_TMPDIR/slurm-up.log" 2>&1 || {
		cat "$BATS_FILE_TMPDIR/slurm-up.log" >&2
		echo "scripts/slurm-up failed: the Slurm suite cannot run" >&2
		return 1
	}
}

setup() {
	[ -z "${SLURM_SKIP:-}" ] || return 0
	. "$SLURM_DIR/env"
	export SLURM_CONF
}

# First thing in a test that needs the cluster (the spec's checks do not).
needs_cluster() {
	[ -z "${SLURM_SKIP:-}" ] || skip "$SLURM_SKIP"
}

# Jobs of this cluster still in squeue (none: empty).
squeue_ids() {
	timeout 10 squeue -h -o %i 2>/dev/null || true
}

@test "the cluster is up: a step runs in an allocation" {
	needs_cluster
	local name; name=$(marker)
	run timeout 30 salloc --no-shell -n1 -Q -J "$name"
	[ "$status" = 0 ]
	jobid=$(timeout 10 squeue -h -o %i -n "$name")
	[ -n "$jobid" ]
	run timeout 30 srun --jobid="$jobid" --overlap -n1 --quiet echo hi
	scancel "$jobid"
	[ "$status" = 0 ]
	[ "$output" = hi ]
}

# The record fields that differ between executors by nature: pids, times,
# containment, and the "slurm" block (and a pool's item times, and so the
# length of its output).
MASK='del(.jobs[].slurm) | del(.jobs[].stages[].pid, .jobs[].stages[].user_ms,
  .jobs[].stages[].sys_ms, .jobs[].stages[].maxrss_kb, .jobs[].started_ms,
  .jobs[].duration_ms, .jobs[].attempt_history[]?.duration_ms,
  .jobs[].slot, .jobs[].attempt_history[]?.slot, .jobs[].attempt_history[]?.started_ms,
  .jobs[].stages[]?.started_ms, .jobs[].stages[]?.ended_ms,
  .jobs[].termination[]?.at_ms, .jobs[].containment, .duration_ms, .started_at,
  .runner, .job_cgroups, .max_parallel, .containment)
  | del(.jobs[].items[]?.duration_ms)
  | del(.jobs[].steps[]?.busy_ms, .jobs[].steps[]?.idle_ms, .jobs[].steps[]?.blocked_ms,
    .jobs[].steps[]?.max_queue_depth)
  | del(.jobs[] | select(.kind == "pool") | .stdout_bytes)'

# The allocations piperun made (named piperun-<16 hex digits>) that are
# still in squeue, within 30 s (a cancelled one lingers a moment as
# COMPLETING).
ours_in_squeue() {
	timeout 10 squeue -h -o '%j %i %T' 2>/dev/null | grep -E '^piperun-[0-9a-f]{16} ' || true
}
allocations_gone() {
	local i left
	for i in $(seq 150); do
		left=$(ours_in_squeue)
		[ -z "$left" ] && return 0
		sleep 0.2
	done
	echo "still in squeue: $left"
	return 1
}

@test "the mixed spec: the same records with --executor slurm and local (but pids, times, slurm)" {
	needs_cluster
	printf 'a\0b\377\376binary\n' > "$BATS_TEST_TMPDIR/bin"
	printf 'from a file\n' > "$BATS_TEST_TMPDIR/in"
	f=$(spec <<EOF
{"jobs": [
 {"name": "run", "run": ["echo", "hello"]},
 {"name": "shell", "shell": "echo to-err >&2; echo out; exit 3"},
 {"name": "text", "run": ["cat"], "stdin": {"text": "some text"}},
 {"name": "file", "run": ["wc", "-c"], "stdin": {"file": "$BATS_TEST_TMPDIR/in"}},
 {"name": "binary", "run": ["cat", "$BATS_TEST_TMPDIR/bin"]},
 {"name": "notfound", "run": ["no-such-program-here"]},
 {"name": "signal", "shell": "kill -TERM \$\$"},
 {"name": "timeout", "shell": "$PROBE ignore-term 30", "timeout": 0.5, "kill_after": 0.5},
 {"name": "trap", "shell": "trap 'echo got; exit 7' TERM; sleep 30 & wait", "timeout": 0.5},
 {"name": "leftover", "shell": "sleep 30 & echo started"},
 {"name": "retries", "shell": "exit 1", "retries": 2, "retry_delay": 0.05},
 {"name": "dep", "run": ["echo", "after"], "after": ["run"]},
 {"name": "dep-failed", "run": ["echo", "never"], "after": ["shell"]},
 {"name": "always", "run": ["echo", "always"], "after": ["shell"], "always": true},
 {"name": "pool", "pool": {"task": "gcd", "mode": "serial", "items": [[12, 18], [7, 5]]}},
 {"name": "pipeline", "pipefail": true, "pipeline": [["cat", "$BATS_TEST_TMPDIR/bin"],
   ["sh", "-c", "cat; echo middle >&2; exit 4"],
   {"run": ["sh", "-c", "cat; echo own >&2"], "stderr": "capture"}]},
 {"name": "pipeline-timeout", "pipeline": [["sleep", "30"], ["sleep", "30"]], "timeout": 0.5},
 {"name": "pipeline-big-stderr", "pipeline": [["true"],
   {"run": ["sh", "-c", "head -c 300000 /dev/zero | tr '\\\\0' x >&2"], "stderr": "capture"}]},
 {"name": "steps", "items": {"count": 5}, "ordered": true, "steps": [
   {"name": "a", "workers": 2, "run": ["sh", "-c", "echo \$((\$1 * 4)) \$((\$1 * 6))", "sh", "{}"]},
   {"name": "b", "task": "gcd"}]}
]}
EOF
)
	run "$PIPERUN" run --executor slurm --results "$BATS_TEST_TMPDIR/slurm.json" -o none "$f"
	[ "$status" = 1 ]
	run "$PIPERUN" run --executor local --results "$BATS_TEST_TMPDIR/local.json" -o none "$f"
	[ "$status" = 1 ]
	diff <(jq -S "$MASK" "$BATS_TEST_TMPDIR/slurm.json") <(jq -S "$MASK" "$BATS_TEST_TMPDIR/local.json")
	# each job that ran did so as a step of one allocation, now gone
	run jq -r '[.jobs[] | select(.slurm) | .slurm.jobid] | unique | length' "$BATS_TEST_TMPDIR/slurm.json"
	[ "$output" = 1 ]
	run jq -r '.jobs[] | select(.name == "run") | .slurm | "\(.stepid|type) \(.node)"' \
		"$BATS_TEST_TMPDIR/slurm.json"
	[ "$output" = "number localhost" ]
	# the binary bytes came through srun unchanged
	jq -r '.jobs[] | select(.name == "binary") | .stdout' "$BATS_TEST_TMPDIR/slurm.json" |
		base64 -d | cmp - "$BATS_TEST_TMPDIR/bin"
	# the pipeline: pipefail's status of the failing middle stage, the
	# binary bytes, each stage's record and own stderr, through one step
	run jq -c '.jobs[] | select(.name == "pipeline") | [.returncode, .stdout, .stderr,
	  [.stages[] | .exit_code], .stages[2].stderr, (.slurm.stepid | type)]' \
		"$BATS_TEST_TMPDIR/slurm.json"
	[ "$output" = '[4,"YQBi//5iaW5hcnkK","middle\n",[0,4,0],"own\n","number"]' ]
	# the steps job: its output in order and its counts
	run jq -c '.jobs[] | select(.name == "steps") | [.stdout, .items_out,
	  [.steps[] | .processed], (.slurm.stepid | type)]' "$BATS_TEST_TMPDIR/slurm.json"
	[ "$output" = '["2\n4\n6\n8\n10\n",5,[5,5],"number"]' ]
	# a stage's own stderr larger than a pipe holds came whole
	run jq -r '.jobs[] | select(.name == "pipeline-big-stderr") | .stages[1].stderr_bytes' \
		"$BATS_TEST_TMPDIR/slurm.json"
	[ "$output" = 300000 ]
	allocations_gone
}

@test "a steps job with --journal on slurm: the same items lines as locally" {
	needs_cluster
	f=$(spec <<'EOF'
{"jobs": [{"name": "s", "items": {"count": 6}, "ordered": true, "steps": [
  {"name": "a", "workers": 2, "run": ["sh", "-c", "echo $(($1 * 4)) $(($1 * 6))", "sh", "{}"]},
  {"name": "b", "task": "gcd"}]}]}
EOF
)
	run "$PIPERUN" run --executor slurm --journal "$BATS_TEST_TMPDIR/slurm.jsonl" -o none "$f"
	[ "$status" = 0 ]
	run "$PIPERUN" run --journal "$BATS_TEST_TMPDIR/local.jsonl" -o none "$f"
	[ "$status" = 0 ]
	run jq -c 'select(.sunk) | .sunk[]' "$BATS_TEST_TMPDIR/slurm.jsonl"
	[ "${#lines[@]}" = 6 ]
	diff <(jq -c 'select(.sunk) | .sunk[]' "$BATS_TEST_TMPDIR/slurm.jsonl" | sort) \
	     <(jq -c 'select(.sunk) | .sunk[]' "$BATS_TEST_TMPDIR/local.jsonl" | sort)
	allocations_gone
}

@test "a steps job on slurm killed halfway: its items lines came as it ran; --resume runs only the rest" {
	needs_cluster
	local D=$BATS_TEST_TMPDIR J=$BATS_TEST_TMPDIR/j.jsonl i n
	mkdir "$D/m"
	touch "$D/block"
	f=$(spec <<EOF
{"jobs": [{"name": "s", "items": {"count": 10}, "steps": [{"name": "a", "workers": 2,
 "run": ["sh", "-c", "echo x >> $D/m/\$1; if [ \$1 = 6 ] && [ -e $D/block ]; then sleep 300; fi; echo out-\$1", "sh", "{}"]}]}]}
EOF
)
	"$PIPERUN" run --executor slurm --journal "$J" -o none "$f" > /dev/null 2>&1 & pid=$!
	# the 9 items but 6 are sunk while the step still runs
	for i in $(seq 300); do
		n=0
		[ -e "$J" ] && n=$(jq -r 'select(.sunk) | .sunk[][0]' "$J" | sort -u | wc -l)
		[ "$n" -ge 9 ] && break
		sleep 0.1
	done
	[ "$n" = 9 ]
	kill -KILL "$pid"
	wait "$pid" || true
	allocations_gone
	rm "$D/block"
	run "$PIPERUN" run --executor slurm --resume "$J" -o none --results "$D/r.json" "$f"
	[ "$status" = 0 ]
	# item 6 ran twice (killed, then again), every other once
	for i in $(seq 10); do
		n=$(wc -l < "$D/m/$i")
		if [ "$i" = 6 ]; then [ "$n" = 2 ]; else [ "$n" = 1 ]; fi
	done
	run jq -r '.jobs[0].stdout' "$D/r.json"
	[ "$(printf '%s\n' "$output" | sort | tr '\n' ' ')" = "out-1 out-10 out-2 out-3 out-4 out-5 out-6 out-7 out-8 out-9 " ]
	allocations_gone
}

@test "a job's exec error on the node: 126 and the local message, not srun's status" {
	needs_cluster
	# executable, but no format the kernel knows (and no #!): the exec
	# itself fails, on the node, after the program was found
	printf 'garbage\n' > "$BATS_TEST_TMPDIR/noexec"
	chmod 755 "$BATS_TEST_TMPDIR/noexec"
	f=$(spec <<EOF
{"jobs": [{"name": "x", "run": ["$BATS_TEST_TMPDIR/noexec"]},
          {"name": "y", "run": ["sh", "-c", "exit 2"]}]}
EOF
)
	run "$PIPERUN" run --executor slurm "$f"
	[ "$status" = 1 ]
	[ "$(jqo '.jobs[0].status')" = error ]
	[ "$(jqo '.jobs[0].returncode')" = 126 ]
	[ "$(jqo '.jobs[0].error')" = "$BATS_TEST_TMPDIR/noexec: Exec format error" ]
	[ "$(jqo '.jobs[0].slurm.node')" = localhost ]
	[ "$(jqo '.jobs[1].returncode')" = 2 ]
	[ "$(jqo '.jobs[1].status')" = failed ]
	[ "$(jqo '.jobs[1].error')" = null ]
	local_out=$("$PIPERUN" run "$f" | jq -c '.jobs[] | [.status, .returncode, .error]')
	[ "$(jqo -c '.jobs[] | [.status, .returncode, .error]')" = "$local_out" ]
}

# A srun that waits $1 seconds before it is srun: a step that starts
# late, as on a busy cluster.
slow_srun() {
	mkdir -p "$BATS_TEST_TMPDIR/slow"
	printf '#!/bin/sh\nsleep %s\nexec %s "$@"\n' "$1" "$(command -v srun)" \
		> "$BATS_TEST_TMPDIR/slow/srun"
	chmod 755 "$BATS_TEST_TMPDIR/slow/srun"
}

@test "a step that starts late: its timeout counts from its start; a signal before it waits for it" {
	needs_cluster
	slow_srun 1.5
	# the timeout (0.5 s) passes before the step starts (1.5 s): the
	# job still gets its 0.5 s, then TERM, which its trap answers
	f=$(spec <<'EOF'
{"jobs": [{"name": "t", "shell": "trap 'echo got-term; exit 7' TERM; echo ran; sleep 5 & wait",
           "timeout": 0.5}]}
EOF
)
	PATH=$BATS_TEST_TMPDIR/slow:$PATH run "$PIPERUN" run --executor slurm "$f"
	[ "$status" = 1 ]
	[ "$(jqo '.jobs[0].status')" = timeout ]
	[ "$(jqo '.jobs[0].returncode')" = 7 ]
	[ "$(jqo '.jobs[0].stdout')" = "$(printf 'ran\ngot-term\n')" ]
	[ "$(jqo '.jobs[0].stderr')" = "" ]
	[ "$(jqo -c '[.jobs[0].termination[].signal]')" = '["SIGTERM"]' ]
	# the run's timeout ends the job before its step started: the TERM
	# waits for the step (not srun's KILL of it, with no grace), and the
	# job's own TERM handling runs
	f=$(spec <<'EOF'
{"jobs": [{"name": "c", "run": ["sh", "-c", "echo ran; exit 0"], "kill_after": 10}]}
EOF
)
	PATH=$BATS_TEST_TMPDIR/slow:$PATH run "$PIPERUN" run --executor slurm --timeout 0.3 "$f"
	[ "$(jqo '.jobs[0].error')" = null ]
	[[ "$(jqo '.jobs[0].stderr')" != *CANCELLED* ]]
	[ "$(jqo '.jobs[0].slurm.node')" = localhost ]
	[ "$(jqo -c '[.jobs[0].termination[].signal]')" = '["SIGTERM"]' ]
	allocations_gone
}

@test "-j defaults to the allocation's CPUs / cpus_per_job; the allocation is sized for -j" {
	needs_cluster
	f=$(spec <<'EOF'
{"executor": {"slurm": {"cpus_per_job": 2}},
 "jobs": [{"run": ["true"], "repeat": 5}]}
EOF
)
	run "$PIPERUN" run --executor slurm -j 2 "$f"
	[ "$status" = 0 ]
	[ "$(jqo '.max_parallel')" = 2 ]
	f=$(spec g.json <<'EOF'
{"executor": {"slurm": {"cpus_per_job": 2}}, "jobs": [{"run": ["true"], "repeat": 3}]}
EOF
)
	run "$PIPERUN" run --executor slurm "$f"
	[ "$status" = 0 ]
	[ "$(jqo '.max_parallel')" = 3 ]
	allocations_gone
}

# niced BASE N...: the JSON array of stdouts "BASE+N\n", each capped at 19
niced() {
	local b=$1 out="" n
	shift
	for n in "$@"; do
		n=$((b + n))
		[ "$n" -le 19 ] || n=19
		out+="${out:+,}\"$n\\n\""
	done
	printf '[%s]' "$out"
}

@test "nice on the node as locally: the job's processes at piperun's niceness plus the job's" {
	needs_cluster
	f=$(spec <<'EOF'
{"jobs": [{"name": "run", "run": ["awk", "{print $19}", "/proc/self/stat"], "nice": 7},
 {"name": "shell", "shell": "sh -c 'awk \"{print \\$19}\" /proc/self/stat'", "nice": 2},
 {"name": "pipeline", "pipeline": [["awk", "{print $19}", "/proc/self/stat"], ["cat"]],
  "nice": 5},
 {"name": "none", "run": ["awk", "{print $19}", "/proc/self/stat"]}]}
EOF
)
	run nice -n 3 "$PIPERUN" run --executor slurm "$f"
	[ "$status" = 0 ]
	# niceness adds up from where the suite runs (not always 0)
	local b; b=$(nice)
	[ "$(jqo -c '[.jobs[] | .stdout]')" = "$(niced "$b" 10 5 8 3)" ]
	[ "$(jqo -c '[.jobs[] | .slurm.stepid | type] | unique')" = '["number"]' ]
	slurm=$output
	run nice -n 3 "$PIPERUN" run --executor local "$f"
	[ "$(jqo -c '[.jobs[] | .stdout]')" = "$(jq -c '[.jobs[] | .stdout]' <<<"$slurm")" ]
	run "$PIPERUN" run --executor slurm "$f"
	[ "$(jqo -c '[.jobs[] | .stdout]')" = "$(niced "$b" 7 2 5 0)" ]
	allocations_gone
}

@test "an existing allocation (a job id, or SLURM_JOB_ID) is used and left alone" {
	needs_cluster
	local name; name=$(marker)
	run timeout 30 salloc --no-shell -n2 -J "$name"
	[ "$status" = 0 ]
	jobid=$(timeout 10 squeue -h -o %i -n "$name")
	[ -n "$jobid" ]
	f=$(spec <<EOF
{"executor": {"slurm": {"allocation": "$jobid"}}, "jobs": [{"run": ["true"]}]}
EOF
)
	run "$PIPERUN" run --executor slurm "$f"
	[ "$status" = 0 ]
	[ "$(jqo '.jobs[0].slurm.jobid')" = "$jobid" ]
	g=$(spec g.json <<<'{"jobs": [{"run": ["true"]}, {"run": ["true"]}]}')
	run env SLURM_JOB_ID="$jobid" "$PIPERUN" run --executor slurm "$g"
	[ "$status" = 0 ]
	[ "$(jqo '.jobs[1].slurm.jobid')" = "$jobid" ]
	[ "$(jqo '.max_parallel')" = 2 ]
	# still there, running
	[ "$(timeout 10 squeue -h -j "$jobid" -o %T)" = RUNNING ]
	scancel "$jobid"
}

@test "no allocation within --slurm-wait: exit 3, nothing ran, nothing left queued" {
	needs_cluster
	local name; name=$(marker)
	# every CPU of the node taken (and the node exclusively)
	run timeout 30 salloc --no-shell --exclusive -N1 -J "$name"
	[ "$status" = 0 ]
	jobid=$(timeout 10 squeue -h -o %i -n "$name")
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [{"shell": "touch $BATS_TEST_TMPDIR/ran-$m"}]}
EOF
)
	pr run --executor slurm --slurm-wait 2 "$f"
	scancel "$jobid"
	[ "$status" = 3 ]
	[[ "$stderr" == *"no Slurm allocation within 2s"*"timed out"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/ran-$m" ]
	allocations_gone
}

@test "where Slurm is absent or refuses: exit 3 before any job starts" {
	needs_cluster
	m=$(marker)
	f=$(spec <<EOF
{"executor": {"slurm": {"partition": "no-such-partition"}},
 "jobs": [{"shell": "touch $BATS_TEST_TMPDIR/ran-$m"}]}
EOF
)
	pr run --executor slurm "$f"
	[ "$status" = 3 ]
	[[ "$stderr" == *"no Slurm allocation"*"artition"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/ran-$m" ]
	mkdir "$BATS_TEST_TMPDIR/empty"
	g=$(spec g.json <<<'{"jobs": [{"run": ["/bin/true"]}]}')
	run --separate-stderr env PATH="$BATS_TEST_TMPDIR/empty" "$PIPERUN" run --executor slurm "$g"
	[ "$status" = 3 ]
	[[ "$stderr" == *"srun not found on PATH"* ]]
	allocations_gone
}

@test "pass_fds: refused with --executor slurm (exit 2, before any allocation), saying why" {
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [{"name": "first", "shell": "touch $BATS_TEST_TMPDIR/ran-$m"},
          {"name": "p", "run": ["true"], "pass_fds": [3]}]}
EOF
)
	pr run --executor slurm "$f" 3</dev/null
	[ "$status" = 2 ]
	[ "$stderr" = "piperun: $f: job p: pass_fds (fd 3): not with --executor slurm: the job runs on a Slurm node, where piperun's open files do not exist, and srun carries only stdin, stdout and stderr; run it with --executor local" ]
	[ -z "$output" ]
	[ ! -e "$BATS_TEST_TMPDIR/ran-$m" ]
	[ -z "$(ours_in_squeue)" ]
}

@test "bad executor blocks are spec errors" {
	f=$(spec <<'EOF'
{"executor": {"slurm": {"partition": "", "cpus_per_job": 0, "mem_per_job": "lots",
   "time_limit": "soon", "allocation": "old", "extra_args": "--x", "nodes": 2},
  "kubernetes": {}},
 "jobs": [{"run": ["true"]}]}
EOF
)
	pr validate "$f"
	[ "$status" = 2 ]
	for want in "executor.kubernetes: unknown key" "executor.slurm.nodes: unknown key" \
		"executor.slurm.partition: expected a name" \
		"executor.slurm.cpus_per_job: expected an integer from 1" \
		"executor.slurm.mem_per_job: expected a memory size" \
		"executor.slurm.time_limit: expected a Slurm time limit" \
		"executor.slurm.allocation: expected \"new\" or the job id" \
		"executor.slurm.extra_args: expected an array of strings"; do
		[[ "$stderr" == *"$f: $want"* ]] || { echo "missing: $want"; return 1; }
	done
	g=$(spec g.json <<<'{"executor": [], "jobs": [{"run": ["true"]}]}')
	pr validate "$g"
	[ "$status" = 2 ]
	[[ "$stderr" == *"executor: expected an object"* ]]
	pr run --executor cloud "$g"
	[ "$status" = 2 ]
}

# A run of 4 long jobs, each a step once its shell shows.
long_run() {
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [{"shell": "sleep 300 & wait; : $m", "repeat": 4}]}
EOF
)
	"${INTERRUPTIBLE[@]}" "$PIPERUN" run --executor slurm -o none "$f" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	for i in $(seq 200); do
		[ "$(pgrep -f -x "/bin/sh -c sleep 300 & wait; : $m" | wc -l)" -ge 4 ] && break
		sleep 0.05
	done
	[ "$(pgrep -f -x "/bin/sh -c sleep 300 & wait; : $m" | wc -l)" -ge 4 ]
}

@test "a runner SIGKILLed: the guardian cancels its allocation; no step, no process, no file is left" {
	needs_cluster
	export PIPERUN_SLURM_DIR="$BATS_TEST_TMPDIR/rundirs"
	mkdir "$PIPERUN_SLURM_DIR"
	long_run
	[ -n "$(ls "$PIPERUN_SLURM_DIR")" ]
	kill -9 "$pid"
	wait "$pid" || true
	allocations_gone
	gone_within "$m" 20
	for i in $(seq 100); do [ -z "$(ls "$PIPERUN_SLURM_DIR")" ] && break; sleep 0.1; done
	[ -z "$(ls "$PIPERUN_SLURM_DIR")" ]
}

# A salloc on PATH that runs the real one (its output: piperun's only
# source of the job id), writes its status to $1, and then holds on to
# that output for 60 s: the runner has the allocation but not its id,
# for as long as the test likes.
slow_salloc() {
	local real; real=$(command -v salloc)
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	cat > "$BATS_TEST_TMPDIR/bin/salloc" <<EOF
#!/bin/sh
"$real" "\$@"
echo \$? > "$1"
exec sleep 60
EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/salloc"
}

@test "a runner SIGKILLed after salloc granted, before it read the job id: nothing is left" {
	needs_cluster
	export PIPERUN_SLURM_DIR="$BATS_TEST_TMPDIR/rundirs"
	mkdir "$PIPERUN_SLURM_DIR"
	slow_salloc "$BATS_TEST_TMPDIR/granted"
	f=$(spec <<<'{"jobs": [{"run": ["sleep", "300"]}]}')
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" "$PIPERUN" run --executor slurm -o none "$f" \
		2>/dev/null & pid=$!
	for i in $(seq 300); do [ -s "$BATS_TEST_TMPDIR/granted" ] && break; sleep 0.1; done
	[ "$(cat "$BATS_TEST_TMPDIR/granted")" = 0 ]
	# granted and running, and piperun still waits for salloc's output
	[[ "$(ours_in_squeue)" == *RUNNING* ]]
	kill -9 "$pid"
	wait "$pid" || true
	allocations_gone
	for i in $(seq 100); do [ -z "$(ls "$PIPERUN_SLURM_DIR")" ] && break; sleep 0.1; done
	[ -z "$(ls "$PIPERUN_SLURM_DIR")" ]
}

@test "a runner SIGKILLed while its allocation is pending (salloc itself left waiting): nothing is left" {
	needs_cluster
	local name; name=$(marker)
	# the node taken, so that piperun's request waits
	run timeout 30 salloc --no-shell --exclusive -N1 -J "$name"
	[ "$status" = 0 ]
	blocker=$(timeout 10 squeue -h -o %i -n "$name")
	[ -n "$blocker" ]
	# the real salloc a child of the wrapper: the runner's death (the
	# parent-death TERM) reaches only the wrapper, and salloc stays
	# pending, as one SIGKILLed with its request made would leave it
	local real; real=$(command -v salloc)
	mkdir "$BATS_TEST_TMPDIR/bin"
	cat > "$BATS_TEST_TMPDIR/bin/salloc" <<EOF
#!/bin/sh
"$real" "\$@" < /dev/null > /dev/null 2>&1 &
echo \$! > "$BATS_TEST_TMPDIR/salloc.pid"
wait
EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/salloc"
	f=$(spec <<<'{"jobs": [{"run": ["true"]}]}')
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" "$PIPERUN" run --executor slurm -o none \
		--slurm-wait 120 "$f" 2>/dev/null & pid=$!
	for i in $(seq 300); do [[ "$(ours_in_squeue)" == *PENDING* ]] && break; sleep 0.1; done
	[[ "$(ours_in_squeue)" == *PENDING* ]]
	kill -9 "$pid"
	wait "$pid" || true
	allocations_gone
	# the node free again: piperun's request is not granted after all,
	# and its salloc, told that it was revoked, ends
	scancel "$blocker"
	gone=
	for i in $(seq 150); do
		kill -0 "$(cat "$BATS_TEST_TMPDIR/salloc.pid")" 2>/dev/null || { gone=1; break; }
		sleep 0.2
	done
	[ -n "$gone" ]
	allocations_gone
}

@test "a runner SIGKILLed in an allocation it did not make: its steps are cancelled, the allocation stays" {
	needs_cluster
	local name; name=$(marker)
	run timeout 30 salloc --no-shell -n4 -J "$name"
	[ "$status" = 0 ]
	jobid=$(timeout 10 squeue -h -o %i -n "$name")
	[ -n "$jobid" ]
	export PIPERUN_SLURM_DIR="$BATS_TEST_TMPDIR/rundirs"
	mkdir "$PIPERUN_SLURM_DIR"
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [{"shell": "sleep 300 & wait; : $m", "repeat": 3}]}
EOF
)
	SLURM_JOB_ID=$jobid "$PIPERUN" run --executor slurm -o none "$f" 2>/dev/null & pid=$!
	for i in $(seq 200); do
		[ "$(pgrep -f -x "/bin/sh -c sleep 300 & wait; : $m" | wc -l)" -ge 3 ] && break
		sleep 0.05
	done
	[ "$(timeout 10 squeue -h -s -j "$jobid" -o %j | grep -c '^piperun-')" = 3 ]
	kill -9 "$pid"
	wait "$pid" || true
	gone_within "$m" 20
	for i in $(seq 150); do
		[ -z "$(timeout 10 squeue -h -s -j "$jobid" -o %i)" ] && break
		sleep 0.2
	done
	left=$(timeout 10 squeue -h -s -j "$jobid" -o '%i %j')
	state=$(timeout 10 squeue -h -j "$jobid" -o %T)
	scancel "$jobid"
	[ -z "$left" ]
	[ "$state" = RUNNING ]
	for i in $(seq 100); do [ -z "$(ls "$PIPERUN_SLURM_DIR")" ] && break; sleep 0.1; done
	[ -z "$(ls "$PIPERUN_SLURM_DIR")" ]
}

@test "the sentinel killed by someone mid-run: the run ends as usual and releases its allocation" {
	needs_cluster
	# a spec path of its own: the runner's command line, and the sentinel's
	local d; d="$BATS_TEST_TMPDIR/$(marker)"
	mkdir "$d"
	f="$d/spec.json"
	echo '{"jobs": [{"shell": "sleep 2"}]}' > "$f"
	"$PIPERUN" run --executor slurm -o none "$f" & pid=$!
	# the sentinel: a fork of the runner, by its own name
	sentry=
	for i in $(seq 100); do
		for p in $(pgrep -f -- "$f"); do
			[ "$(cat /proc/$p/comm 2>/dev/null)" = piperun-sentry ] &&
				[ "$(awk '{print $3}' /proc/$p/stat)" != Z ] && sentry=$p
		done
		[ -n "$sentry" ] && break
		sleep 0.05
	done
	[ -n "$sentry" ]
	kill -9 "$sentry"
	st=0
	wait "$pid" || st=$?
	[ "$st" = 0 ]
	allocations_gone
}

@test "Ctrl-C (SIGINT to the runner) mid-run: every step and the allocation end" {
	needs_cluster
	export PIPERUN_SLURM_DIR="$BATS_TEST_TMPDIR/rundirs"
	mkdir "$PIPERUN_SLURM_DIR"
	long_run
	kill -INT "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" = 130 ]
	allocations_gone
	gone_within "$m" 20
	for i in $(seq 100); do [ -z "$(ls "$PIPERUN_SLURM_DIR")" ] && break; sleep 0.1; done
	[ -z "$(ls "$PIPERUN_SLURM_DIR")" ]
}

@test "plan shows the executor block, defaults filled in" {
	f=$(spec <<'EOF'
{"executor": {"slurm": {"partition": "debug", "mem_per_job": "1G", "allocation": 42}},
 "jobs": [{"run": ["true"]}]}
EOF
)
	run "$PIPERUN" plan "$f"
	[ "$status" = 0 ]
	[ "$(jqo -c '.executor.slurm')" = '{"partition":"debug","account":null,"cpus_per_job":1,"mem_per_job":"1024M","time_limit":null,"allocation":"42","extra_args":[]}' ]
}
