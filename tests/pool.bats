#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The task pool: `piperun pool` and pool jobs (CONTRACT §5).
load helper

gcd_euclid() {
	python3 -c 'import math,sys
for l in sys.stdin: a,b = map(int, l.split()); print(math.gcd(a, b))'
}

@test "79: the 10 gcd pairs in all four modes: identical and correct (Euclid)" {
	want=$(gcd_euclid < "$PIPELINES/gcd-items.txt" | paste -sd,)
	for m in serial thread process async; do
		pr pool --task gcd --mode "$m" -j 2 --items "$PIPELINES/gcd-items.txt"
		assert_success
		[ "$(jqo '[.items[].result] | map(tostring) | join(",")')" = "$want" ]
		[ "$(jqo '[.task, .mode, .summary.total, .summary.ok] | @json')" = "[\"gcd\",\"$m\",10,10]" ]
		[ "$(jqo '[.items[].index] == [range(10)]')" = true ]
		[ "$(jqo '.items[0].input | @json')" = '[19633090,22659730]' ]
	done
}

@test "79 as a spec: pool jobs in every mode give the same results" {
	pr run "$PIPELINES/gcd-modes.json"
	assert_success
	[ "$(jqo '[.jobs[] | [.items[].result]] | unique | length')" = 1 ]
	[ "$(jqo '[.jobs[] | .kind] | unique | @json')" = '["pool"]' ]
	[ "$(jqo '[.jobs[] | .mode] | @json')" = '["serial","thread","process","async"]' ]
}

@test "68a: factorize the 16 numbers, serial and threads: identical, every divisor" {
	pr run "$PIPELINES/factorize.json"
	assert_success
	[ "$(jqo '.jobs[0].items == .jobs[1].items | not')" = true ] # worker and time differ
	[ "$(jqo '[.jobs[0].items[].result] == [.jobs[1].items[].result]')" = true ]
	# every divisor, found independently by pairs up to the square root
	want=$(python3 -c 'import math, sys
for l in open(sys.argv[1]):
    n = int(l)
    d = {x for i in range(1, math.isqrt(n) + 1) if n % i == 0 for x in (i, n // i)}
    print(",".join(map(str, sorted(d))))' "$PIPELINES/factorize-items.txt" | md5sum)
	[ "$(jqo '.jobs[0].items[].result | map(tostring) | join(",")' | md5sum)" = "$want" ]
}

@test "75: 10,000 sleep 0.1 items in async mode: every one ok" {
	cd "$PIPELINES"
	pr run "$PIPELINES/sleeps-async.json"
	assert_success
	[ "$(jqo '.jobs[0].summary | [.total, .ok] | @json')" = '[10000,10000]' ]
	[ "$(jqo '[.jobs[0].items[].result] | unique | @json')" = '[0.1]' ]
}

@test "the example plugin gives identical results in every mode (--compare)" {
	seq 1 3000 > "$BATS_TEST_TMPDIR/n"
	pr pool --task-plugin "$EXAMPLE_PLUGIN:collatz" --compare -j 2 --items "$BATS_TEST_TMPDIR/n"
	assert_success
	assert_line --regexp '^MODE +WORKERS +WALL s +CPU s +SPEEDUP +IDENTICAL$'
	for m in serial thread process async; do
		assert_line --regexp "^$m +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+x +yes$"
	done
	# and right: 27 takes 111 steps; JSON results work too
	pr pool --task-plugin "$EXAMPLE_PLUGIN:collatz" --mode process <<<'[27, "peak"]'
	assert_success
	[ "$(jqo '.items[0].result | @json')" = '{"steps":111,"peak":9232}' ]
}

@test "a plugin built for task ABI 1 still loads, in every mode, and its context says ABI 1" {
	seq 1 200 > "$BATS_TEST_TMPDIR/n"
	pr pool --task-plugin "$ABI1_PLUGIN:abi1" --compare -j 2 --items "$BATS_TEST_TMPDIR/n"
	assert_success
	for m in serial thread process async; do
		assert_line --regexp "^$m +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+x +yes$"
	done
	pr pool --task-plugin "$ABI1_PLUGIN:abi1" --mode async <<<'41'
	assert_success
	[ "$(jqo '.items[0].result')" = 42 ]
}

@test "a plugin task without run() is refused for that, not for its ABI" {
	pr pool --task-plugin "$CRASHY_PLUGIN:norun" </dev/null
	assert_failure 2
	[[ $stderr == *'task "norun" has no run()' ]]
}

@test "task errors are reported with their item index; the others complete; exit 1" {
	printf '12 18\n0 5\n100 75\n1.5 3\n99999999999999999999 4\n[12, "x"]\n' > "$BATS_TEST_TMPDIR/i"
	for m in serial thread process async; do
		pr pool --task gcd --mode "$m" --items "$BATS_TEST_TMPDIR/i"
		assert_failure 1
		[ -z "$stderr" ]
		[ "$(jqo '[.items[] | [.index, .status, .result]] | @json')" = '[[0,"ok",6],[1,"error",null],[2,"ok",25],[3,"error",null],[4,"error",null],[5,"error",null]]' ]
		[[ "$(jqo '.items[1].error')" == *"gcd of 0 is undefined"* ]]
		[[ "$(jqo '.items[3].error')" == *"integers"* ]]
		[[ "$(jqo '.items[4].error')" == *"integers"* ]]
		[ "$(jqo '.summary | [.ok, .error] | @json')" = '[2,4]' ]
	done
}

@test "--fail-fast: the first failing item stops the rest (skipped)" {
	printf '12 18\n0 5\n100 75\n14 21\n' > "$BATS_TEST_TMPDIR/i"
	pr pool --task gcd --fail-fast --items "$BATS_TEST_TMPDIR/i"
	assert_failure 1
	[ "$(jqo '[.items[].status] | @json')" = '["ok","error","skipped","skipped"]' ]
}

@test "unparseable input names line N (1-based) and exits 2" {
	printf '1 2\n\n3 4\nfive 6\n' > "$BATS_TEST_TMPDIR/i"
	pr pool --task gcd --items "$BATS_TEST_TMPDIR/i"
	assert_failure 2
	assert_output ''
	[[ $stderr == "piperun: pool: $BATS_TEST_TMPDIR/i: line 4: expected numbers or a JSON array, got \"five\"" ]]
	run --separate-stderr "$PIPERUN" pool --task gcd <<<'[1, 2'
	assert_failure 2
	[[ $stderr == *"<stdin>: line 1: malformed JSON array"* ]]
	pr pool --task nope
	assert_failure 2
	pr pool --task gcd --task-plugin x.so:y
	assert_failure 2
	pr pool --task-plugin /nonexistent.so:x </dev/null
	assert_failure 2
	[[ $stderr == *"cannot load /nonexistent.so"* ]]
}

@test "integers beyond 2^53 stay exact on JSON array lines and in a pool job's record; 1e400 is out of range" {
	# a line the number-only fast path leaves to the JSON parser (a string in it)
	printf '9223372036854775783 4\n[9007199254740993, 4, "x"]\n[[9007199254740993], 1]\n' > "$BATS_TEST_TMPDIR/i"
	pr pool --task gcd --items "$BATS_TEST_TMPDIR/i"
	assert_failure 1
	# (jq reads numbers as doubles: look at the text)
	exact() {
		[[ $(tr -d ' \n' <<<"$output") == *'"input":[9223372036854775783,4]'*'"input":[9007199254740993,4,"x"]'*'"input":[[9007199254740993],1]'* ]]
	}
	exact
	# a pool job: its record keeps the pool's numbers as the pool wrote them
	f=$(spec <<EOF
{"jobs": [{"name": "p", "pool": {"task": "gcd", "items_file": "$BATS_TEST_TMPDIR/i"}}]}
EOF
)
	pr run "$f"
	assert_failure 1
	exact
	run --separate-stderr "$PIPERUN" pool --task gcd <<<'[1e400, 2, "x"]'
	assert_failure 2
	[[ $stderr == *"<stdin>: line 1: argument 1: 1e400 is out of range"* ]]
}

@test "a NUL byte in an item line, raw or as \\u0000 in a JSON string, is an input error naming the line (exit 2)" {
	printf '1 2\n3\000 4\n' > "$BATS_TEST_TMPDIR/raw"
	printf '%s\n' '[27]' '[27, "peak\u0000junk"]' > "$BATS_TEST_TMPDIR/esc"
	pr pool --task gcd --items "$BATS_TEST_TMPDIR/raw"
	assert_failure 2
	assert_output ''
	[[ $stderr == "piperun: pool: $BATS_TEST_TMPDIR/raw: line 2: a NUL byte" ]]
	pr pool --task-plugin "$EXAMPLE_PLUGIN:collatz" --items "$BATS_TEST_TMPDIR/esc"
	assert_failure 2
	assert_output ''
	[[ $stderr == "piperun: pool: $BATS_TEST_TMPDIR/esc: line 2: a NUL byte (\\u0000) in a string" ]]
	run --separate-stderr "$PIPERUN" pool --task-plugin "$EXAMPLE_PLUGIN:collatz" < "$BATS_TEST_TMPDIR/esc"
	assert_failure 2
	[[ $stderr == "piperun: pool: <stdin>: line 2: a NUL byte (\\u0000) in a string" ]]
	# an escaped backslash before u0000 is no NUL
	pr pool --task-plugin "$EXAMPLE_PLUGIN:collatz" <<<'[27, "a\\u0000"]'
	assert_success
	[ "$(jqo '.items[0] | [.input[1], .result] | @json')" = '["a\\u0000",111]' ]
	# a pool job: its items file or stdin, the same error
	f=$(spec <<EOF
{"jobs":[{"name":"file","pool":{"plugin":"$EXAMPLE_PLUGIN:collatz","items_file":"$BATS_TEST_TMPDIR/esc"}},
 {"name":"stdin","pool":{"plugin":"$EXAMPLE_PLUGIN:collatz"},"stdin":{"file":"$BATS_TEST_TMPDIR/raw"}}]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '.jobs | map([.status, .returncode]) | @json')" = '[["error",2],["error",2]]' ]
	[[ "$(jqo '.jobs[0].error')" == *"esc: line 2: a NUL byte (\\u0000) in a string" ]]
	[[ "$(jqo '.jobs[1].error')" == *"<stdin>: line 2: a NUL byte" ]]
}

@test "a plugin that crashes in process mode costs only that item" {
	printf '1\n2\n13\n4\n5\n6\n' > "$BATS_TEST_TMPDIR/i"
	pr pool --task-plugin "$CRASHY_PLUGIN:crashy" --mode process -j 2 --items "$BATS_TEST_TMPDIR/i"
	assert_failure 1
	[ "$(jqo '[.items[] | [.status, .result]] | @json')" = '[["ok",2],["ok",4],["error",null],["ok",8],["ok",10],["ok",12]]' ]
	[ "$(jqo '.items[2].error')" = "the worker was killed by SIGSEGV" ]
}

@test "a worker SIGKILLed mid-run: that item is an error, the others correct, no worker left" {
	# 2 workers x 2 items of 1.5 s: the kill comes well inside the first item
	yes 1.5 | head -n 4 > "$BATS_TEST_TMPDIR/items-$$"
	"$PIPERUN" pool --task sleep --mode process -j 2 --items "$BATS_TEST_TMPDIR/items-$$" > "$BATS_TEST_TMPDIR/o.json" &
	pid=$!
	for i in $(seq 100); do [ "$(pgrep -c -P "$pid")" = 2 ] && break; sleep 0.02; done
	sleep 0.3 # each worker is inside its first item
	victim=$(pgrep -P "$pid" | head -1)
	[ -n "$victim" ]
	kill -KILL "$victim"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 1 ]
	o=$BATS_TEST_TMPDIR/o.json
	[ "$(jq '.summary | [.ok, .error] | @json' -r "$o")" = '[3,1]' ]
	[ "$(jq -r '[.items[] | select(.status == "error") | .error][0]' "$o")" = "the worker was killed by SIGKILL" ]
	[ -z "$(pgrep -f "items-$$")" ]
}

@test "per-item timeout: serial and thread modes poll it; process mode kills the stuck worker" {
	printf '1\n99\n3\n' > "$BATS_TEST_TMPDIR/i"
	pr pool --task-plugin "$CRASHY_PLUGIN:crashy" --mode process --timeout 0.3 --items "$BATS_TEST_TMPDIR/i"
	assert_failure 1
	[ "$(jqo '[.items[] | [.status, .result]] | @json')" = '[["ok",2],["error",null],["ok",6]]' ]
	[ "$(jqo '.items[1].error')" = "timed out" ]
	printf '1000000007 1000000009\n12 18\n' > "$BATS_TEST_TMPDIR/g"
	for m in serial thread; do
		pr pool --task gcd --mode "$m" --timeout 0.1 --items "$BATS_TEST_TMPDIR/g"
		assert_failure 1
		[ "$(jqo '[.items[] | [.status, .error]] | @json')" = '[["error","timed out"],["ok",null]]' ]
	done
	printf '5\n0.05\n' > "$BATS_TEST_TMPDIR/s"
	pr pool --task sleep --mode async --timeout 0.2 --items "$BATS_TEST_TMPDIR/s"
	assert_failure 1
	[ "$(jqo '[.items[] | .status] | @json')" = '["error","ok"]' ]
}

@test "--output jsonl streams item records as they finish, then the summary; text is a table" {
	printf '0.3\n0.01\n' > "$BATS_TEST_TMPDIR/s"
	pr pool --task sleep --mode async -o jsonl --items "$BATS_TEST_TMPDIR/s"
	assert_success
	[ "${#lines[@]}" = 3 ]
	[ "$(jq -r .index <<<"${lines[0]}")" = 1 ]
	[ "$(jq -c .summary <<<"${lines[2]}")" = '{"total":2,"ok":2,"error":0,"skipped":0}' ]
	pr pool --task gcd -o text <<<'12 18'
	assert_success
	assert_line --regexp '^ +0 +ok +6$'
	assert_line --partial '1 items: 1 ok, 0 error'
}

@test "--max-inflight bounds the async items in flight" {
	yes 0.2 | head -n 4 > "$BATS_TEST_TMPDIR/s"
	pr pool --task sleep --mode async --max-inflight 2 -o none --items "$BATS_TEST_TMPDIR/s"
	assert_success
	pr pool --task sleep --mode async --max-inflight 0 --items "$BATS_TEST_TMPDIR/s"
	assert_failure 2
}

@test "pool jobs: status and timeout semantics of other jobs; errors from the pool" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "good", "pool": {"task": "gcd", "items": [[12, 18], [100, 75]]}},
  {"name": "bad-item", "pool": {"task": "gcd", "mode": "thread", "items": [[12, 18], [0, 1]]}},
  {"name": "slow", "pool": {"task": "sleep", "mode": "process", "items": [[30], [30]]}, "timeout": 0.5},
  {"name": "from-stdin", "pool": {"task": "gcd"}, "stdin": {"text": "8 12\n"}},
  {"name": "garbage", "pool": {"task": "gcd"}, "stdin": {"text": "x y\n"}}
]}
EOF
)
	# (a mark in the environment: other suites run pool workers too)
	mark=$(marker)
	PIPERUN_TEST_MARK=$mark pr run "$f"
	assert_failure 1
	[ "$(jqo '[.jobs[] | [.name, .status, .returncode]] | @json')" = '[["good","ok",0],["bad-item","failed",1],["slow","timeout",-15],["from-stdin","ok",0],["garbage","error",2]]' ]
	[ "$(jqo '.jobs[0] | [.task, .summary.ok, [.items[].result]] | @json')" = '["gcd",2,[6,25]]' ]
	[ "$(jqo '.jobs[1].items[1].status')" = error ]
	[ "$(jqo '.jobs[3].items[0].result')" = 4 ]
	[[ "$(jqo '.jobs[4].error')" == *"line 1: expected numbers"* ]]
	# no pool worker outlived its job
	for p in $(pgrep -f 'pool --task sleep --mode process' || true); do
		! grep -qz "^PIPERUN_TEST_MARK=$mark\$" "/proc/$p/environ" 2>/dev/null
	done
}

@test "pool job specs are validated" {
	f=$(spec <<<'{"jobs": [{"pool": {"task": "fft", "items": [[1]]}}, {"pool": {"task": "gcd", "mode": "gpu"}}, {"pool": {"items": []}}]}')
	pr validate "$f"
	assert_failure 2
	[[ $stderr == *'jobs[0].pool.task: expected gcd, factorize or sleep, got "fft"'* ]]
	[[ $stderr == *'jobs[1].pool.mode: expected serial, thread, process or async, got "gpu"'* ]]
	[[ $stderr == *'jobs[2].pool: expected "task"'* ]]
}

@test "control characters in a bad item line or a task name are escaped in the error line" {
	run --separate-stderr bash -c 'printf "ab\033[2Jc\n" | "$0" pool --task gcd' "$PIPERUN"
	assert_failure 2
	[ "$stderr" = 'piperun: pool: <stdin>: line 1: expected numbers or a JSON array, got "ab\x1b[2Jc"' ]
	pr pool --task $'g\ncd' </dev/null
	assert_failure 2
	[ "$stderr" = 'piperun: pool: unknown task "g\ncd" (built in: gcd, factorize, sleep)' ]
}

@test "pool -o jsonl | head -1: the pool stops at once and dies of SIGPIPE (141), nothing on stderr" {
	# 2000 items of 0.05 s: 100 s one by one, if a closed stdout did not stop it
	for i in $(seq 2000); do echo 0.05; done > "$BATS_TEST_TMPDIR/items"
	for m in serial thread async; do
		# one item in flight in async mode too (--max-inflight is for it alone)
		run --separate-stderr bash -c 'timeout 20 "$1" pool --task sleep --mode "$2" -j 1 ${4:+--max-inflight "$4"} -o jsonl --items "$3" | head -1 > /dev/null; echo "${PIPESTATUS[0]}"' \
			sh "$PIPERUN" "$m" "$BATS_TEST_TMPDIR/items" "$([ "$m" = async ] && echo 1)"
		[ "$output" = 141 ] || { echo "$m: $output"; return 1; }
		[ -z "$stderr" ]
	done
}

# A pool job's results quote each item's arguments: an array nested
# deeper than the JSON writer's old 63 levels wrote outside its arrays
# (a crash, or invalid JSON that a journal reader then took for damage).
@test "a pool item nested 70 and 900 deep: valid results and journal, no crash" {
	for n in 70 900; do
		d=$(printf '%.0s[' $(seq "$n"))1$(printf '%.0s]' $(seq "$n"))
		f=$(spec <<EOF
{"jobs": [{"name": "p", "pool": {"task": "sleep"}, "stdin": {"text": "$d\n"}}]}
EOF
)
		pr run "$f" --journal "$BATS_TEST_TMPDIR/j$n" --results "$BATS_TEST_TMPDIR/r$n"
		[ "$status" -eq 1 ]
		python3 -c 'import json, sys; sys.setrecursionlimit(10000); [json.load(open(f)) for f in sys.argv[1:2]]; [json.loads(l) for l in open(sys.argv[2])]' \
			"$BATS_TEST_TMPDIR/r$n" "$BATS_TEST_TMPDIR/j$n"
		"$PIPERUN" journal "$BATS_TEST_TMPDIR/j$n" > /dev/null
	done
}

@test "red1 #2: a pool job's document larger than max_output is kept whole in its record" {
	python3 -c "
import json; print(json.dumps({'jobs':[{'name':'q','max_output':'1K','pool':{'task':'gcd','items':[[4,6]]*50+[[0,1]]}},
 {'name':'r','max_output':'1K','pool':{'task':'gcd','items':[[4,6]]*60}}]}))" > "$BATS_TEST_TMPDIR/spec.json"
	pr run "$BATS_TEST_TMPDIR/spec.json"
	assert_failure 1
	[ "$(jqo -c '.jobs[0] | [.status, .summary.total, .summary.error, (.items | length), .items[50].error, .stdout_truncated] | @json')" = \
	  '["failed",51,1,51,"gcd of 0 is undefined here (the naive algorithm counts down from min(a, b) > 0)",false]' ]
	[ "$(jqo -c '.jobs[1] | [.status, .summary.ok, (.items | length), .items[59].result] | @json')" = '["ok",60,60,2]' ]
}

@test "red1 #4: a NUL byte ends the items at once (/dev/zero); a line over 16 MiB is an input error" {
	# without the limit /dev/zero grows memory until timeout(1) kills it (124)
	run --separate-stderr timeout 60 "$PIPERUN" pool --task gcd --items /dev/zero -o summary
	assert_failure 2
	[ "$stderr" = "piperun: pool: /dev/zero: line 1: a NUL byte" ]
	{ printf '1 2\n'; head -c $((16 * 1024 * 1024 + 1)) /dev/zero | tr '\0' 7; printf '\n3 4\n'; } \
		> "$BATS_TEST_TMPDIR/long"
	pr pool --task gcd --items "$BATS_TEST_TMPDIR/long"
	assert_failure 2
	[ "$stderr" = "piperun: pool: $BATS_TEST_TMPDIR/long: line 2: a line of more than 16777216 bytes" ]
	# 16 MiB itself is allowed (it is one number too big for an int64: a number)
	head -c $((16 * 1024 * 1024)) /dev/zero | tr '\0' ' ' > "$BATS_TEST_TMPDIR/fits"
	printf '\n' >> "$BATS_TEST_TMPDIR/fits"
	pr pool --task gcd --items "$BATS_TEST_TMPDIR/fits" -o summary
	assert_success
	f=$(spec <<'EOF'
{"jobs":[{"name":"z","pool":{"task":"gcd","items_file":"/dev/zero"},"timeout":60}]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo -c '.jobs[0] | [.status, .error] | @json')" = '["error","piperun: pool: /dev/zero: line 1: a NUL byte"]' ]
}

@test "red1 #14: numbers are written as the shortest text that reads back (0.1, not 0.10000000000000001)" {
	printf '0.1\n[0.03]\n' > "$BATS_TEST_TMPDIR/items"
	for m in serial thread process; do
		pr pool --task sleep --mode "$m" -j 1 --items "$BATS_TEST_TMPDIR/items" -o jsonl
		assert_success
		assert_line --index 0 --regexp '^\{"index":0,"input":\[0\.1\],"status":"ok","result":0\.1,'
		assert_line --index 1 --regexp '^\{"index":1,"input":\[0\.03\],"status":"ok","result":0\.03,'
	done
	pr pool --task sleep --items "$BATS_TEST_TMPDIR/items" -o text
	assert_line --regexp '^ +1  ok +0\.03$'
	f=$(spec <<'EOF'
{"jobs":[{"name":"s","items":["0.1"],"steps":[{"name":"t","task":"sleep"}]},
 {"name":"p","pool":{"task":"sleep","items":[[0.1]]}}]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(jqo -c '.jobs[0].stdout')" = '0.1' ]
	# the record as written (jq would reformat the numbers)
	assert_line --regexp '^ *"input": \[0\.1\],$'
	assert_line --regexp '^ *"result": 0\.1,$'
}

@test "red1 #14: a pool item that is no array is refused at its path by validate, plan and run alike" {
	f=$(spec <<'EOF'
{"jobs":[{"name":"p","pool":{"task":"gcd","items":[4,[6,8],"x"]}}]}
EOF
)
	want="piperun: $f: jobs[0].pool.items[0]: expected an array of arguments (a one-argument item is [4]), got 4
piperun: $f: jobs[0].pool.items[2]: expected an array of arguments (a one-argument item is [4]), got \"x\""
	for cmd in validate plan run; do
		pr "$cmd" "$f"
		assert_failure 2
		[ "$stderr" = "$want" ] || { echo "$cmd: $stderr"; return 1; }
	done
}
