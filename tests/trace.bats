#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# `piperun run --trace FILE`: a Chrome Trace Event Format document that
# follows the format's rules and tells what the records tell.
load helper

CHECK="$TESTS_DIR/helpers/trace-check.py"

# run jobs, a pipeline (a secret in its env and argv), a timeout, a
# retry and a dependency
mixed_spec() {
	spec <<-'EOF'
	{ "name": "mixed",
	  "jobs": [
	    { "name": "quick", "run": ["true"], "repeat": 6 },
	    { "name": "pipe",
	      "pipeline": [["sh", "-c", "sleep 0.2; echo $0", "hunter2-secret"], ["cat"], ["sleep", "0.05"]],
	      "env": { "TOKEN": "hunter2-secret" }, "secret_env": ["TOKEN"] },
	    { "name": "slow", "run": ["sleep", "5"], "timeout": 0.3 },
	    { "name": "flaky", "run": ["sh", "-c", "exit 3"], "retries": 2, "retry_delay": 0.05 },
	    { "name": "after", "run": ["sleep", "0.05"], "after": ["pipe"] }
	  ] }
	EOF
}

@test "--trace: a mixed run's trace follows the Trace Event Format and matches its records, in every mode" {
	s=$(mixed_spec)
	for m in async thread serial; do
		t="$BATS_TEST_TMPDIR/$m.trace.json" r="$BATS_TEST_TMPDIR/$m.results.json"
		run "$PIPERUN" run "$s" -j 3 --mode "$m" --trace "$t" --results "$r" -o none
		[ "$status" = 1 ] # slow timed out, flaky failed
		run python3 "$CHECK" "$t" --results "$r" --absent hunter2-secret
		echo "$m: $output"
		[ "$status" = 0 ]
		# what the format asks for beyond the checker's rules: a track per
		# slot, the stages on their own, the instants and the counters
		jq -e '[.traceEvents[] | select(.ph == "X" and .cat == "stage")] | length == 3' "$t"
		jq -e '[.traceEvents[] | select(.ph == "i") | .name] | index("timeout") and index("retry") and index("SIGTERM sent")' "$t"
		jq -e '[.traceEvents[] | select(.ph == "i" and .name == "retry")] | length == 2' "$t"
		jq -e '[.traceEvents[] | select(.ph == "C") | .name] | index("jobs") and index("runner RSS")' "$t"
		jq -e '[.traceEvents[] | select(.ph == "M" and .name == "thread_name") | .args.name] | index("slot 0") and index("stages 0") and index("runner")' "$t"
		jq -e '[.traceEvents[] | select(.ph == "M" and .name == "process_name")] | length == 1' "$t"
	done
	# serial: one slot; -j 3: at most three
	jq -e '[.traceEvents[] | select(.ph == "X" and .cat != "stage") | .tid] | unique == [1]' "$BATS_TEST_TMPDIR/serial.trace.json"
	jq -e '[.traceEvents[] | select(.ph == "X" and .cat != "stage") | .tid] | max <= 3' "$BATS_TEST_TMPDIR/async.trace.json"
}

@test "--trace: the checker refuses what the format forbids" {
	t="$BATS_TEST_TMPDIR/t.json"
	bad() {
		printf '%s' "$1" > "$t"
		run python3 "$CHECK" "$t"
		echo "$1 -> $output"
		[ "$status" = 1 ]
	}
	name='{"name":"thread_name","ph":"M","pid":1,"tid":1,"args":{"name":"slot 0"}}'
	printf '{"traceEvents":[%s,{"name":"a","ph":"X","pid":1,"tid":1,"ts":0,"dur":5}]}' "$name" > "$t"
	run python3 "$CHECK" "$t"
	[ "$output" = ok ]
	bad "{\"traceEvents\":[$name,{\"name\":\"a\",\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":0,\"dur\":5},{\"name\":\"b\",\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":3,\"dur\":5}]}"
	bad "{\"traceEvents\":[$name,{\"name\":\"a\",\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":0}]}"
	bad "{\"traceEvents\":[$name,{\"name\":\"a\",\"pid\":1,\"tid\":1,\"ts\":0,\"dur\":1}]}"
	bad "{\"traceEvents\":[$name,{\"name\":\"a\",\"ph\":\"X\",\"tid\":1,\"ts\":0,\"dur\":1}]}"
	bad "{\"traceEvents\":[$name,{\"name\":\"a\",\"ph\":\"X\",\"pid\":1,\"ts\":0,\"dur\":1}]}"
	bad "{\"traceEvents\":[$name,{\"name\":\"a\",\"ph\":\"B\",\"pid\":1,\"tid\":1,\"ts\":0}]}"
	bad "{\"traceEvents\":[{\"name\":\"a\",\"ph\":\"X\",\"pid\":1,\"tid\":2,\"ts\":0,\"dur\":1}]}"
}

@test "--trace: a pipeline's stages overlap in time, each on a track of its own" {
	s=$(spec <<-'EOF'
	{ "jobs": [ { "name": "p", "pipeline": [["sleep", "0.3"], ["sleep", "0.1"], ["true"]] } ] }
	EOF
	)
	t="$BATS_TEST_TMPDIR/t.json" r="$BATS_TEST_TMPDIR/r.json"
	run "$PIPERUN" run "$s" --trace "$t" --results "$r" -o none
	[ "$status" = 0 ]
	run python3 "$CHECK" "$t" --results "$r"
	[ "$output" = ok ]
	# the stages end as they end (the host reaps them in that order)
	jq -e '.jobs[0].stages | (.[2].ended_ms < .[1].ended_ms) and (.[1].ended_ms < .[0].ended_ms)' "$r"
	jq -e '[.traceEvents[] | select(.cat == "stage") | .tid] | unique | length == 3' "$t"
}

@test "--trace: an unwritable FILE is a usage error and nothing runs; a run that goes on replaces FILE whole" {
	s=$(spec <<-EOF
	{ "jobs": [ { "name": "a", "run": ["touch", "$BATS_TEST_TMPDIR/ran"] } ] }
	EOF
	)
	pr run "$s" --trace "$BATS_TEST_TMPDIR/no/such/dir/t.json"
	[ "$status" = 2 ]
	[[ "$stderr" == *"--trace"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
	echo old > "$BATS_TEST_TMPDIR/t.json"
	run "$PIPERUN" run "$s" --trace "$BATS_TEST_TMPDIR/t.json" -o none
	[ "$status" = 0 ]
	jq -e '.traceEvents | length > 0' "$BATS_TEST_TMPDIR/t.json"
}

@test "--trace: a run interrupted by SIGINT still writes its trace" {
	s=$(spec <<-'EOF'
	{ "jobs": [ { "name": "long", "run": ["sleep", "30"], "repeat": 2 } ] }
	EOF
	)
	t="$BATS_TEST_TMPDIR/t.json"
	"${INTERRUPTIBLE[@]}" "$PIPERUN" run "$s" --trace "$t" --results "$BATS_TEST_TMPDIR/r.json" -o none &
	pid=$!
	for i in $(seq 100); do
		[ "$(pgrep -c -P "$pid" 2>/dev/null || echo 0)" -ge 1 ] && break
		sleep 0.05
	done
	sleep 0.2
	kill -INT "$pid"
	wait "$pid" || true
	run python3 "$CHECK" "$t" --results "$BATS_TEST_TMPDIR/r.json"
	[ "$output" = ok ]
	jq -e '[.traceEvents[] | select(.ph == "X") | .args.status] | unique == ["cancelled"]' "$t"
}

@test "records: each attempt's slot is below -j and no two attempts in one slot overlap, in every mode" {
	s=$(spec <<-'EOF'
	{ "jobs": [ { "name": "s", "run": ["sh", "-c", "sleep 0.0$(($1 % 5))", "sh", "{}"],
	              "foreach": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
	                          "13", "14", "15", "16", "17", "18", "19", "20"] },
	            { "name": "r", "run": ["false"], "retries": 2, "retry_delay": 0.01, "repeat": 3 } ] }
	EOF
	)
	for m in async thread serial; do
		r="$BATS_TEST_TMPDIR/$m.json"
		run "$PIPERUN" run "$s" -j 4 --mode "$m" --results "$r" -o none
		[ "$status" = 1 ]
		run python3 - "$r" "$m" <<-'PY'
		import json, sys
		doc = json.load(open(sys.argv[1]))
		lim = 1 if sys.argv[2] == "serial" else 4
		per = {}
		for j in doc["jobs"]:
		    atts = j.get("attempt_history") or [j]
		    assert len(atts) == j["attempts"], j["name"]
		    for a in atts:
		        assert isinstance(a["slot"], int) and 0 <= a["slot"] < lim, (j["name"], a)
		        per.setdefault(a["slot"], []).append((a["started_ms"], a["started_ms"] + a["duration_ms"]))
		for slot, iv in per.items():
		    iv.sort()
		    for (s0, e0), (s1, e1) in zip(iv, iv[1:]):
		        assert s1 >= e0 - 0.002, (slot, (s0, e0), (s1, e1))
		print("ok", sorted(per))
		PY
		echo "$m: $output"
		[ "$status" = 0 ]
	done
}

@test "pool --trace: per worker its first 100 and slowest 100 items, counters, in every mode" {
	items="$BATS_TEST_TMPDIR/items.txt"
	# 1500 quick items; three slow ones well after the first hundred
	for i in $(seq 0 1499); do
		case $i in 700 | 900 | 1400) echo 0.05 ;; *) echo 0 ;; esac
	done > "$items"
	for m in serial thread process async; do
		t="$BATS_TEST_TMPDIR/$m.json" r="$BATS_TEST_TMPDIR/$m.results.json"
		run "$PIPERUN" pool --task sleep --mode "$m" -j 2 --items "$items" --trace "$t"
		[ "$status" = 0 ]
		printf '%s\n' "$output" > "$r"
		run python3 "$CHECK" "$t"
		echo "$m: $output"
		[ "$output" = ok ]
		# the cap: at most 200 items a worker, all of them counted
		jq -e '[.traceEvents[] | select(.ph == "X")] | group_by(.args.worker) | map(length) | max <= 200' "$t"
		jq -e '.otherData.items == 1500 and .otherData.items_traced == ([.traceEvents[] | select(.ph == "X")] | length)' "$t"
		# the slow ones are there, on their worker's track, as long as the results say
		for i in 700 900 1400; do
			jq -e --argjson i $i --slurpfile r "$r" '[.traceEvents[] | select(.ph == "X" and .args.index == $i)] as $e
				| ($e | length) == 1 and $e[0].args.worker == $r[0].items[$i].worker
				  and ($e[0].dur / 1000 - $r[0].items[$i].duration_ms | fabs) < 1' "$t"
		done
		jq -e '[.traceEvents[] | select(.ph == "C" and .name == "items")] | last | .args.done == 1500' "$t"
	done
	run "$PIPERUN" pool --task sleep --compare --items "$items" --trace "$BATS_TEST_TMPDIR/c.json"
	[ "$status" = 2 ]
}

@test "run --trace: a steps and a pool job add their items (capped per worker) and counters, never an item's text" {
	cd "$BATS_TEST_TMPDIR"
	mkdir tmp
	# 600 secret-looking items; item 450 is slow in step a (past any
	# worker's first 100: among its slowest)
	seq 0 599 | sed 's/^/s3cr3t-token-/' > items.txt
	for i in $(seq 1 1000); do echo "[$((i * 6)), $((i * 4))]"; done > pool-items.txt
	s=$(spec <<-'EOF'
	{ "jobs": [
	    { "name": "s", "items": { "lines": "items.txt" }, "queue": 4,
	      "steps": [
	        { "name": "a", "workers": 2,
	          "run": ["sh", "-c", "read l; case $l in *-450) sleep 0.3 ;; esac; printf '%s\\n' \"$l\""] },
	        { "name": "b", "coprocess": ["cat"] } ] },
	    { "name": "p", "pool": { "task": "gcd", "workers": 2, "mode": "thread", "items_file": "pool-items.txt" } },
	    { "name": "env", "run": ["sh", "-c", "env | grep -c PIPERUN_TRACE_ITEMS || true"] } ] }
	EOF
	)
	for m in async thread; do
		t="$m.trace.json" r="$m.results.json"
		TMPDIR="$PWD/tmp" run "$PIPERUN" run "$s" -j 3 --mode "$m" --trace "$t" --results "$r" -o none
		[ "$status" = 0 ]
		run python3 "$CHECK" "$t" --results "$r" --absent s3cr3t
		echo "$m: $output"
		[ "$output" = ok ]
		# the directory the jobs wrote their items into is gone, and only
		# a pool job's environment had its name
		[ -z "$(ls tmp)" ]
		jq -e '.jobs[] | select(.name == "env") | .stdout == "0\n"' "$r"
		run python3 - "$t" <<-'PY'
		import json, sys
		from collections import Counter
		ev = json.load(open(sys.argv[1]))["traceEvents"]
		procs = {e["args"]["name"]: e["pid"] for e in ev if e["ph"] == "M" and e["name"] == "process_name"}
		assert "s (steps)" in procs and "p (pool)" in procs, procs
		runner = procs[next(n for n in procs if n.startswith("piperun run"))]
		for job, pid, total in (("s", procs["s (steps)"], 600), ("p", procs["p (pool)"], 1000)):
		    (slot,) = [e for e in ev if e["ph"] == "X" and e["pid"] == runner and e["name"] == job]
		    items = [e for e in ev if e["pid"] == pid and e["ph"] == "X"]
		    assert items and all(e["cat"] == "item" for e in items), job
		    # inside the job's own slice, on the run's clock
		    for e in items:
		        assert slot["ts"] - 1000 <= e["ts"] and e["ts"] + e["dur"] <= slot["ts"] + slot["dur"] + 1000, (job, e, slot)
		    # at most the first and slowest 100 a worker
		    per = Counter((e["args"].get("step"), e["args"]["worker"]) for e in items)
		    assert max(per.values()) <= 200 and len(items) < total * (2 if job == "s" else 1), (job, per)
		    counts = [e for e in ev if e["pid"] == pid and e["ph"] == "C"]
		    if job == "s":
		        assert per[("b", 1)] == 200, per
		        assert any(e["args"]["index"] == 450 and e["args"]["step"] == "a" and e["dur"] >= 250000 for e in items)
		        for st in ("a", "b"):
		            done = [e["args"]["items"] for e in counts if e["name"] == "step %s done" % st]
		            queued = [e["args"]["items"] for e in counts if e["name"] == "step %s queue (of 4)" % st]
		            assert done[-1] == 600 and queued[-1] == 0 and max(queued) <= 4, (done, queued)
		        # step a (a process per item) is slower than its input: its queue ran full
		        assert max(e["args"]["items"] for e in counts if e["name"] == "step a queue (of 4)") == 4
		        names = {e["args"]["name"] for e in ev if e["pid"] == pid and e["name"] == "thread_name"}
		        assert {"a worker 1", "a worker 2", "b worker 1"} <= names, names
		    else:
		        assert [e for e in counts if e["name"] == "items"][-1]["args"]["done"] == 1000
		print("ok")
		PY
		echo "$output"
		[ "$output" = ok ]
	done
}

@test "exec and timeout --trace: the command's slice, its timeout and the signals sent, as its record says" {
	cd "$BATS_TEST_TMPDIR"
	run "$PIPERUN" exec -t 0.3 --trace e.json --json e.r.json -- sleep 5
	[ "$status" = 124 ]
	run python3 "$CHECK" e.json
	[ "$output" = ok ]
	jq -e --slurpfile r e.r.json '[.traceEvents[] | select(.ph == "X")] as $x
		| ($x | length) == 1 and $x[0].args.status == "timeout" and $x[0].args.returncode == $r[0].returncode
		  and $x[0].args.pid == $r[0].stages[0].pid and ($x[0].dur / 1000 - $r[0].duration_ms | fabs) < 0.002' e.json
	jq -e '[.traceEvents[] | select(.ph == "i") | .name] == ["timeout", "SIGTERM sent"]' e.json
	run "$PIPERUN" timeout --trace=t.json 0.2 sleep 5
	[ "$status" = 124 ]
	run python3 "$CHECK" t.json
	[ "$output" = ok ]
	jq -e '.traceEvents[] | select(.ph == "M" and .name == "process_name") | .args.name == "piperun timeout"' t.json
	# a path that cannot be written: piperun's own failure, nothing runs
	run "$PIPERUN" exec --trace "$BATS_TEST_TMPDIR/no/dir/t.json" -- touch ran
	[ "$status" = 125 ]
	[ ! -e ran ]
}
