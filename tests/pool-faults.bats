#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The task pool under faults (issue 22): every item runs exactly once,
# a broken task stops, fail-fast and timeouts mean the same in every
# mode, records stream.  The test plugin task-faulty.c logs each call
# ("N PID") to $FAULTY_LOG.
load helper

setup() {
	: "${FAULTY_PLUGIN:?FAULTY_PLUGIN must point at tests/plugins/.libs/task-faulty.so}"
	export FAULTY_LOG="$BATS_TEST_TMPDIR/calls"
	: > "$FAULTY_LOG"
}

# Items [0] .. [N-1], item k as "[k, WHAT]" for each "k:WHAT" argument.
items() {
	local n=$1
	shift
	python3 - "$n" "$@" <<-'EOF'
	import json, sys
	what = dict(a.split(":") for a in sys.argv[2:])
	for k in range(int(sys.argv[1])):
	    print(json.dumps([k, what[str(k)]]) if str(k) in what else json.dumps([k]))
	EOF
}

# The log says items 0 .. N-1 each ran exactly once.
ran_once() {
	local n=$1 dups
	dups=$(cut -d' ' -f1 "$FAULTY_LOG" | sort -n | uniq -d | head -5 | paste -sd,)
	[ -z "$dups" ] || { echo "ran more than once: $dups"; return 1; }
	[ "$(cut -d' ' -f1 "$FAULTY_LOG" | sort -n | uniq | wc -l)" -eq "$n" ] ||
		{ echo "ran: $(wc -l < "$FAULTY_LOG") of $n"; return 1; }
}

@test "22.1: a worker that crashes on item 13 of 394 costs that item; none runs twice" {
	items 394 13:crash > "$BATS_TEST_TMPDIR/items"
	pr pool --task-plugin "$FAULTY_PLUGIN:faulty" --mode process -j 2 --items "$BATS_TEST_TMPDIR/items"
	assert_failure 1
	ran_once 394
	[ "$(jqo '.summary | [.ok, .error] | @json')" = '[393,1]' ]
	[ "$(jqo '.items[13].error')" = "the worker was killed by SIGSEGV" ]
	[ "$(jqo '[.items[] | select(.index != 13) | .result == .index * 2] | all')" = true ]
}

@test "22.1: a hanging item killed at its timeout costs that item; none of 1000 runs twice" {
	items 1000 400:hang > "$BATS_TEST_TMPDIR/items"
	pr pool --task-plugin "$FAULTY_PLUGIN:faulty" --mode process -j 2 --timeout 0.5 \
		--items "$BATS_TEST_TMPDIR/items" -o text
	assert_failure 1
	ran_once 1000
	assert_line --regexp '^ +400  error +timed out$'
	assert_line --regexp '^1000 items: 999 ok, 1 error, 0 skipped; process, 2 workers, '
}

@test "22.2: a task whose init() crashes fails the run's items with the reason, and forks no more" {
	items 50 > "$BATS_TEST_TMPDIR/items"
	run --separate-stderr timeout 30 "$PIPERUN" pool --task-plugin "$FAULTY_PLUGIN:initcrash" \
		--mode process -j 2 --items "$BATS_TEST_TMPDIR/items"
	assert_failure 1 # not 124: it ended by itself
	[ "$(jqo '.summary | [.ok, .error] | @json')" = '[0,50]' ]
	[ "$(jqo '[.items[].error] | unique | length')" = 1 ]
	jqo '.items[0].error' | grep -q 'died before its first item (the worker was killed by SIGSEGV'
	[ ! -s "$FAULTY_LOG" ] # no item ran
}

@test "22.3: --fail-fast stops process mode as it stops the others: 1 error, 99 skipped" {
	{ echo 0 5; for _ in $(seq 99); do echo 12 18; done; } > "$BATS_TEST_TMPDIR/items"
	for m in serial thread process async; do
		pr pool --task gcd --mode "$m" -j 1 --fail-fast --items "$BATS_TEST_TMPDIR/items" -o summary
		assert_failure 1
		[ "$(jqo '.summary | [.ok, .error, .skipped] | @json')" = '[0,1,99]' ] || {
			echo "$m: $output"
			false
		}
	done
}

@test "22.3: --fail-fast after a crash in process mode: the rest is skipped, nothing runs twice" {
	items 200 5:crash > "$BATS_TEST_TMPDIR/items"
	pr pool --task-plugin "$FAULTY_PLUGIN:faulty" --mode process -j 1 --fail-fast \
		--items "$BATS_TEST_TMPDIR/items" -o summary
	assert_failure 1
	[ "$(jqo '.summary | [.ok, .error, .skipped] | @json')" = '[5,1,194]' ]
	ran_once 6
}

@test "22.4: --max-items-per-worker N: a fresh worker process after every N items" {
	items 40 > "$BATS_TEST_TMPDIR/items"
	pr pool --task-plugin "$FAULTY_PLUGIN:faulty" --mode process -j 2 --max-items-per-worker 5 \
		--items "$BATS_TEST_TMPDIR/items" -o summary
	assert_success
	ran_once 40
	# no process ran more than 5 items, so at least 8 ran them
	[ "$(cut -d' ' -f2 "$FAULTY_LOG" | sort | uniq -c | awk '$1 > 5' | wc -l)" -eq 0 ]
	[ "$(cut -d' ' -f2 "$FAULTY_LOG" | sort -u | wc -l)" -ge 8 ]
	# without it, the two workers run everything
	: > "$FAULTY_LOG"
	pr pool --task-plugin "$FAULTY_PLUGIN:faulty" --mode process -j 2 --items "$BATS_TEST_TMPDIR/items"
	assert_success
	[ "$(cut -d' ' -f2 "$FAULTY_LOG" | sort -u | wc -l)" -le 2 ]
}

@test "22.4: a pool job's max_items_per_worker: the same, from the spec; refused without mode process" {
	items 20 > "$BATS_TEST_TMPDIR/items"
	f=$(spec <<EOF
{"jobs": [{"name": "p", "pool": {"plugin": "$FAULTY_PLUGIN:faulty", "mode": "process", "workers": 2,
           "max_items_per_worker": 4, "items_file": "$BATS_TEST_TMPDIR/items"}}]}
EOF
)
	pr run "$f"
	assert_success
	ran_once 20
	[ "$(cut -d' ' -f2 "$FAULTY_LOG" | sort | uniq -c | awk '$1 > 4' | wc -l)" -eq 0 ]
	[ "$(cut -d' ' -f2 "$FAULTY_LOG" | sort -u | wc -l)" -ge 5 ]
	g=$(spec <<<'{"jobs": [{"pool": {"task": "gcd", "mode": "thread", "max_items_per_worker": 4}}]}')
	pr validate "$g"
	assert_failure 2
	[[ "$stderr" == *'max_items_per_worker is for "mode": "process"'* ]]
}

@test "22.4: --max-items-per-worker is refused outside process mode, allowed with --compare" {
	for m in serial thread async; do
		pr pool --task gcd --mode "$m" --max-items-per-worker 3 <<<'4 6'
		assert_failure 2
		[[ "$stderr" == *"--max-items-per-worker is for --mode process"* ]]
	done
	pr pool --task gcd --compare --max-items-per-worker 1 -j 2 < "$PIPELINES/gcd-items.txt"
	assert_success
	[ "$(grep -c ' yes$' <<<"$output")" = 4 ]
}

@test "22.6: one timeout rule at the boundary: sleep 0.2 with --timeout 0.2 times out in every mode" {
	for m in serial thread process async; do
		pr pool --task sleep --mode "$m" --timeout 0.2 <<<'0.2'
		assert_failure 1
		[ "$(jqo '.items[0] | [.status, .error] | @json')" = '["error","timed out"]' ] || {
			echo "$m: $output"
			false
		}
	done
	pr pool --task sleep --timeout 0.2 --compare <<<'0.2'
	assert_success
	[ "$(grep -c ' yes$' <<<"$output")" = 4 ]
	# well inside it, every mode is ok
	pr pool --task sleep --timeout 0.5 --compare <<<'0.05'
	assert_success
}

@test "22.7: --compare: a NaN or a result that is not JSON is the same error in every mode" {
	items 6 1:nan 3:badjson 4:fail > "$BATS_TEST_TMPDIR/items"
	pr pool --task-plugin "$FAULTY_PLUGIN:faulty" --compare -j 2 --items "$BATS_TEST_TMPDIR/items"
	assert_success
	[ "$(grep -c ' yes$' <<<"$output")" = 4 ]
	for m in serial process; do
		pr pool --task-plugin "$FAULTY_PLUGIN:faulty" --mode "$m" --items "$BATS_TEST_TMPDIR/items"
		[ "$(jqo '[.items[].status] | @json')" = '["ok","error","ok","error","error","ok"]' ]
	done
}

@test "22.8: time spent writing to a slow reader is not the next item's (-o jsonl, every mode)" {
	# 3000 records fill the pipe while the reader sleeps: the pool must
	# not wait for it, and no item may be charged the wait
	for _ in $(seq 3000); do echo 0; done > "$BATS_TEST_TMPDIR/items"
	for m in serial thread process async; do
		"$PIPERUN" pool --task sleep --mode "$m" -j 2 --timeout 1 -o jsonl \
			--items "$BATS_TEST_TMPDIR/items" | { sleep 2; cat; } > "$BATS_TEST_TMPDIR/out"
		run jq -r 'select(.index != null) | .status' "$BATS_TEST_TMPDIR/out"
		[ "$(sort <<<"$output" | uniq -c | awk '{print $1, $2}')" = "3000 ok" ] || {
			echo "$m: $(sort <<<"$output" | uniq -c)"
			false
		}
	done
}

@test "22.8: each jsonl record is written when its item ends, not when the next one does" {
	fifo="$BATS_TEST_TMPDIR/fifo"
	for m in serial thread process async; do
		rm -f "$fifo"
		mkfifo "$fifo"
		# two quick items, then one that runs for a minute: both records
		# come out while it runs
		printf '0\n0\n60\n' | "$PIPERUN" pool --task sleep --mode "$m" -j 1 -o jsonl > "$fifo" &
		pid=$!
		got=$({ timeout 20 head -2 || true; } < "$fifo" | jq -c '[.index, .status]' | paste -sd' ')
		kill "$pid"
		wait "$pid" || true
		[ "$got" = '[0,"ok"] [1,"ok"]' ] || {
			echo "$m: the records of items 0 and 1 were held while item 2 ran: '$got'"
			false
		}
	done
}

# Random items, some crashing, hanging, failing or returning a NaN or bad
# JSON, through every mode: each item runs exactly once, and the modes
# agree item by item.
@test "22: property: random faulty items through all four modes: exactly once, all agree" {
	for seed in 1 2 3; do
		python3 - "$seed" > "$BATS_TEST_TMPDIR/items" <<-'EOF'
		import json, random, sys
		r = random.Random(int(sys.argv[1]))
		n = r.randrange(50, 250)
		whats = (["crash"] * 4 + ["hang"] * 2 + ["fail"] * 4 + ["nan"] * 2 + ["badjson"] * 2
		         + ["print"] * 4)
		for k in range(n):
		    print(json.dumps([k, r.choice(whats)]) if r.random() < 0.1 else json.dumps([k]))
		EOF
		n=$(wc -l < "$BATS_TEST_TMPDIR/items")
		for m in serial thread process async; do
			: > "$FAULTY_LOG"
			# crash and hang do so only in a worker process (task-faulty.c)
			run --separate-stderr bash -c 'export FAULTY_MAIN_PID=$$; exec "$@"' - \
				"$PIPERUN" pool --task-plugin "$FAULTY_PLUGIN:faulty" --mode "$m" -j 3 \
				--timeout 0.5 --items "$BATS_TEST_TMPDIR/items"
			[ "$status" -le 1 ]
			ran_once "$n" || { echo "seed $seed, $m"; false; }
			# what tasks print stays out of the results: one valid
			# document with every item
			[ "$(jqo '.items | length')" = "$n" ]
			jqo '[.items[].status] | @json' > "$BATS_TEST_TMPDIR/status.$m"
		done
		for m in thread process async; do
			cmp -s "$BATS_TEST_TMPDIR/status.serial" "$BATS_TEST_TMPDIR/status.$m" ||
				{ echo "seed $seed: $m differs from serial"; false; }
		done
		# and --compare says so: every item ran once per mode
		: > "$FAULTY_LOG"
		run --separate-stderr bash -c 'export FAULTY_MAIN_PID=$$; exec "$@"' - \
			"$PIPERUN" pool --task-plugin "$FAULTY_PLUGIN:faulty" --compare -j 3 \
			--timeout 0.5 --items "$BATS_TEST_TMPDIR/items"
		assert_success
		[ "$(grep -c ' yes$' <<<"$output")" = 4 ]
		[ "$(cut -d' ' -f1 "$FAULTY_LOG" | sort -n | uniq -c | awk '$1 != 4' | wc -l)" -eq 0 ]
		[ "$(wc -l < "$FAULTY_LOG")" -eq $((4 * n)) ]
	done
}

@test "red1 #1: a task that calls exit(0) in serial, thread or async mode: exit status 3, never ok" {
	items 5 2:exit > "$BATS_TEST_TMPDIR/items"
	for m in serial thread async; do
		for o in json jsonl; do
			pr pool --task-plugin "$FAULTY_PLUGIN:faulty" --mode "$m" -j 2 -o "$o" \
				--items "$BATS_TEST_TMPDIR/items"
			assert_failure 3
			[ "$stderr" = "piperun: pool: a task called exit(); the results are lost" ]
			# no summary: nothing says the run was whole
			[ -z "$(jqo -c 'select(.summary)' 2>/dev/null)" ]
		done
	done
}

@test "red1 #1: a pool job whose task exit()s or _exit()s is an error, never ok (the runner wants the document)" {
	f=$(spec <<EOF
{"jobs":[{"name":"e","pool":{"plugin":"$FAULTY_PLUGIN:faulty","mode":"serial","items":[[1],[2,"exit"],[3]]}},
 {"name":"u","pool":{"plugin":"$FAULTY_PLUGIN:faulty","mode":"thread","items":[[1],[2,"_exit"],[3]]}},
 {"name":"ok","pool":{"plugin":"$FAULTY_PLUGIN:faulty","mode":"async","items":[[1],[3]]}}]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo -c '[.jobs[] | .status] | @json')" = '["error","error","ok"]' ]
	[ "$(jqo '.jobs[0].error')" = "piperun: pool: a task called exit(); the results are lost" ]
	[ "$(jqo '.jobs[1].error')" = "the pool ended with exit status 0 but without its results document (did a task call exit()?)" ]
	[ "$(jqo '.jobs[2].summary.ok')" = 2 ]
}

@test "red1 #12: a task's children see exactly fds 0-2 in every mode (the worker's socket is close-on-exec)" {
	: "${HOSTILE_PLUGIN:=$(dirname "$PIPERUN")/tests/plugins/.libs/task-hostile.so}"
	echo 1 > "$BATS_TEST_TMPDIR/items"
	for m in serial thread process async; do
		# piperun started with fds 0-2 only (bats holds more): what
		# the task's process holds beyond them is piperun's
		run --separate-stderr python3 -c 'import os, sys; os.closerange(3, 65536); os.execv(sys.argv[1], sys.argv[1:])' \
			"$PIPERUN" pool --task-plugin "$HOSTILE_PLUGIN:inherit" --mode "$m" \
			--items "$BATS_TEST_TMPDIR/items"
		assert_success
		[ "$(jqo -c '.items[0].result')" = '[]' ]
	done
}

@test "red1 #14: --max-inflight is refused outside async mode, as --max-items-per-worker outside process" {
	for m in serial thread process; do
		pr pool --task gcd --mode "$m" --max-inflight 3 <<<'4 6'
		assert_failure 2
		[[ "$stderr" == *"piperun: pool: --max-inflight is for --mode async (or --compare)"* ]]
	done
	pr pool --task gcd --max-inflight 3 <<<'4 6'   # serial, the default
	assert_failure 2
	pr pool --task gcd --mode async --max-inflight 3 <<<'4 6'
	assert_success
	pr pool --task gcd --compare --max-inflight 1 -j 2 < "$PIPELINES/gcd-items.txt"
	assert_success
	f=$(spec <<'EOF'
{"jobs":[{"name":"s","pool":{"task":"gcd","mode":"serial","max_inflight":2,"items":[[4,6]]}},
 {"name":"d","pool":{"task":"gcd","max_inflight":2,"items":[[4,6]]}},
 {"name":"a","pool":{"task":"gcd","mode":"async","max_inflight":2,"items":[[4,6]]}}]}
EOF
)
	pr validate "$f"
	assert_failure 2
	[ "$stderr" = "piperun: $f: jobs[0].pool: max_inflight is for \"mode\": \"async\" (items in flight in the one event loop)
piperun: $f: jobs[1].pool: max_inflight is for \"mode\": \"async\" (items in flight in the one event loop)" ]
}

@test "red1 #14: an option that takes one value, given twice, is a usage error, not the last one kept" {
	local twice
	while IFS= read -r twice; do
		# shellcheck disable=SC2086 # the options are words
		pr pool $twice <<<'4 6'
		assert_failure 2
		[[ "$stderr" == *" given twice (it takes one value)"* ]] || { echo "$twice: $stderr"; return 1; }
	done <<-'EOF'
	--task gcd --task factorize
	--task-plugin a.so:x --task-plugin b.so:y
	--task gcd --mode serial --mode thread
	--task gcd -j 2 --workers 3
	--task gcd --items - --items -
	--task gcd --timeout 1 --timeout 2
	--task gcd --mode async --max-inflight 1 --max-inflight 2
	--task gcd --mode process --max-items-per-worker 1 --max-items-per-worker 2
	--task gcd -o json --output text
	--task gcd --trace a.json --trace b.json
	EOF
	pr pool --task gcd --task factorize <<<'4 6'
	[[ "$stderr" == "piperun: pool: --task given twice (it takes one value)"* ]]
}

@test "red1 #14: --compare refuses -o and --mode, which it would ignore" {
	pr pool --task gcd --compare -o none <<<'4 6'
	assert_failure 2
	[[ "$stderr" == "piperun: pool: --compare prints its own table: it takes no -o/--output"* ]]
	pr pool --task gcd --compare --output jsonl <<<'4 6'
	assert_failure 2
	pr pool --task gcd --compare --mode thread <<<'4 6'
	assert_failure 2
	[[ "$stderr" == "piperun: pool: --compare runs every mode: it takes no --mode"* ]]
	[ -z "$output" ]
}

@test "red1 #11: --compare with a task that crashes or exit()s: every row survives, exit 3, the reason said" {
	: "${HOSTILE_PLUGIN:=$(dirname "$PIPERUN")/tests/plugins/.libs/task-hostile.so}"
	# piperun's own fault handling is under test, not a sanitizer's
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}handle_segv=0"
	printf '1\n13\n2\n' > "$BATS_TEST_TMPDIR/items"
	pr pool --task-plugin "$HOSTILE_PLUGIN:segv" --compare -j 2 --items "$BATS_TEST_TMPDIR/items"
	assert_failure 3
	assert_line --regexp '^MODE +WORKERS +WALL s +CPU s +SPEEDUP +IDENTICAL$'
	for m in serial thread async; do
		assert_line --regexp "^$m +- +- +- +- +could not run$"
		[[ "$stderr" == *"piperun: pool: --compare: $m could not run: its process was killed by SIGSEGV (a task crashed it)"* ]]
	done
	# the process row ran: its worker's crash cost the item alone
	assert_line --regexp '^process +2 +[0-9.]+ +[0-9.]+ +[0-9.]+x +yes$'
	[ "${#lines[@]}" -eq 5 ]
	items 3 1:exit > "$BATS_TEST_TMPDIR/items"
	pr pool --task-plugin "$FAULTY_PLUGIN:faulty" --compare -j 2 --items "$BATS_TEST_TMPDIR/items"
	assert_failure 3
	assert_line --regexp '^serial +- +- +- +- +could not run$'
	[[ "$stderr" == *"piperun: pool: --compare: serial could not run: its process exited with status 3 without its results (did a task call exit()?)"* ]]
	[ "${#lines[@]}" -eq 5 ]
}

@test "red1 7: a task whose init() hangs in one worker: the others run every item and the pool ends (thread, process)" {
	# process mode handed batches to that worker and never ended; thread
	# mode ran every item but never exited
	items 100 > "$BATS_TEST_TMPDIR/items"
	for m in thread process; do
		export FAULTY_FLAG="$BATS_TEST_TMPDIR/flag.$m"
		: > "$FAULTY_LOG"
		run --separate-stderr timeout 60 "$PIPERUN" pool --task-plugin "$FAULTY_PLUGIN:inithang" \
			--mode "$m" -j 2 --timeout 1 --items "$BATS_TEST_TMPDIR/items" -o jsonl
		assert_success
		[ "$(jqo -s -c '[(map(select(.index != null and .status == "ok")) | length), (last | .summary.ok)]')" = '[100,100]' ] ||
			{ echo "$m: $(tail -2 <<<"$output")"; false; }
		ran_once 100
	done
}

@test "red1 7: a task whose init() hangs in every worker: each item fails saying so, every mode ends" {
	items 10 > "$BATS_TEST_TMPDIR/items"
	unset FAULTY_FLAG
	for m in serial thread process async; do
		run --separate-stderr timeout 60 "$PIPERUN" pool --task-plugin "$FAULTY_PLUGIN:inithang" \
			--mode "$m" -j 2 --timeout 0.5 --items "$BATS_TEST_TMPDIR/items"
		assert_failure 1 # not 124
		[ "$(jqo -c '[.summary.error, ([.items[].error] | unique)]')" = \
		  '[10,["not run: the task'"'"'s init() did not return within 0.5s"]]' ] || { echo "$m: $output"; false; }
	done
	[ ! -s "$FAULTY_LOG" ]
}

@test "red1 7: a task whose fini() hangs: every mode ends with every result and says so; --max-items-per-worker too" {
	items 20 > "$BATS_TEST_TMPDIR/items"
	for m in serial thread process async; do
		run --separate-stderr timeout 60 "$PIPERUN" pool --task-plugin "$FAULTY_PLUGIN:finihang" \
			--mode "$m" -j 2 --timeout 0.5 --items "$BATS_TEST_TMPDIR/items" -o summary
		assert_success
		[ "$(jqo -c '.summary | [.ok, .error]')" = '[20,0]' ]
		[[ "$stderr" == *"the task's fini() did not return within 0.5s; left behind"* ]]
	done
	run --separate-stderr timeout 60 "$PIPERUN" pool --task-plugin "$FAULTY_PLUGIN:finihang" \
		--mode process -j 2 --max-items-per-worker 5 --timeout 0.5 --items "$BATS_TEST_TMPDIR/items" -o summary
	assert_success
	[ "$(jqo -c '.summary | [.ok, .error]')" = '[20,0]' ]
}
