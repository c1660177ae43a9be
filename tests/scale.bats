#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Scale: thousands of jobs, a thousand at once, fd shortage.  (The
# thread-mode behaviour tests are in modes.bats, which also runs under
# ThreadSanitizer.)
load helper

@test "68b/75: 1000 x sleep 0.1 at -j 1000, async and thread: every job ok, many at once" {
	for m in async thread; do
		pr run --mode "$m" -o jsonl "$PIPELINES/fanout-1000.json"
		assert_success
		[ "$(tail -1 <<<"$output" | jq -c '.summary | [.total, .ok]')" = '[1000,1000]' ]
		# the jobs overlapped: at the busiest moment, dozens ran at once
		# (how many depends on how fast this machine can spawn)
		head -n -1 <<<"$output" | jq -s -e '[.[] | [.started_ms, 1], [.started_ms + .duration_ms, -1]]
			| sort | reduce .[] as $e ({n: 0, max: 0}; .n += $e[1] | .max = ([.max, .n] | max)) | .max >= 10' >/dev/null
	done
}

@test "10,000 jobs queued at -j 64: each accounted exactly once; no fd growth, no child left" {
	f=$(spec <<<'{"jobs": [{"name": "t", "run": ["'"$QUICK"'"], "stdout": "null", "stderr": "null", "repeat": 10000}]}')
	pr run -j 64 -o jsonl "$f"
	assert_success
	last=$(tail -1 <<<"$output")
	[ "$(jq -c '.summary | [.total, .ok]' <<<"$last")" = '[10000,10000]' ]
	[ "$(head -n -1 <<<"$output" | jq -r .name | sort -u | wc -l)" = 10000 ]
	[ "$(jq '.run.runner.fds_end == .run.runner.fds_start' <<<"$last")" = true ]
	[ "$(jq '.run.runner.children_left' <<<"$last")" = 0 ]
}

@test "ulimit -n 256 (soft and hard) with 500 concurrent jobs: all ok" {
	f=$(spec <<<'{"jobs": [{"name": "s", "run": ["'"$QUICK"'", "-s", "0.2", "{#}"], "repeat": 500}]}')
	for m in async thread; do
		run --separate-stderr bash -c "ulimit -n 256 && exec \"$PIPERUN\" run --mode $m -j 500 -o jsonl \"$f\""
		assert_success
		[ "$(tail -1 <<<"$output" | jq -c '.summary | [.total, .ok]')" = '[500,500]' ]
	done
}

@test "--tag under load: 1000 jobs writing at once, no torn or interleaved line" {
	f=$(spec <<'EOF'
{"jobs": [{"name": "w", "shell": "for i in 1 2 3 4 5 6 7 8 9 10; do echo \"{#}:$i:abcdefghijklmnopqrstuvwxyz0123456789\"; done", "repeat": 1000, "stdout": "inherit"}]}
EOF
)
	pr run --tag -j 1000 -o none "$f"
	assert_success
	[ "${#lines[@]}" = 10000 ]
	[ "$(grep -cvE '^w#([0-9]+)\| \1:([0-9]+):abcdefghijklmnopqrstuvwxyz0123456789$' <<<"$output")" = 0 ]
}

# The adaptive default (CONTRACT §8.4) backs off on short jobs but must
# never serialise jobs that sit idle: here 100 short jobs teach it that
# jobs are short, then 200 jobs each write a file and wait (a bounded
# loop, no fork) until all 200 files exist, which happens only if all
# 200 run at once.
@test "default -j: 200 jobs that wait for each other all run at once after short jobs" {
	d="$BATS_TEST_TMPDIR/meet"
	mkdir "$d" && mkfifo "$d/.tick"
	wait_all=': > "$D/f$1"; exec 3<>"$D/.tick"
for ((i = 0; i < 1200; i++)); do
	set -- "$D"/f*; [ $# -ge 200 ] && exit 0
	read -t 0.05 -u 3 _
done; exit 1'
	f=$(spec <<EOF
{"defaults": {"stdout": "null", "stderr": "null", "env": {"D": "$d"}},
 "jobs": [{"name": "q", "run": ["$QUICK"], "repeat": 100},
	  {"name": "w", "after": "q", "run": ["bash", "-c", $(jq -Rs . <<<"$wait_all"), "_", "{#}"],
	   "repeat": 200}]}
EOF
)
	pr run -o jsonl "$f"
	assert_success
	last=$(tail -1 <<<"$output")
	[ "$(jq -c '.summary | [.total, .ok]' <<<"$last")" = '[300,300]' ]
	[ "$(jq -r '.run.runner.parallelism' <<<"$last")" = adaptive ]
	[ "$(jq '.run.runner.peak_parallel >= 200' <<<"$last")" = true ]
}

@test "-j 3 and thread mode are fixed limits: the results say so and the peak never exceeds -j" {
	f=$(spec <<<'{"jobs": [{"name": "s", "run": ["'"$QUICK"'", "-s", "0.1"], "repeat": 12}]}')
	for m in async thread; do
		pr run --mode "$m" -j 3 -o jsonl "$f"
		assert_success
		last=$(tail -1 <<<"$output")
		[ "$(jq -c '.run | [.max_parallel, .runner.parallelism, .runner.peak_parallel]' <<<"$last")" = '[3,"fixed",3]' ]
	done
	pr run --mode thread -o jsonl "$f"
	assert_success
	[ "$(tail -1 <<<"$output" | jq -r '.run.runner.parallelism')" = fixed ]
	pr run -o jsonl "$f"
	assert_success
	[ "$(tail -1 <<<"$output" | jq -r '.run.runner.parallelism')" = adaptive ]
}
