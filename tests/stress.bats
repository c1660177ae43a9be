#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# stress.bats - the stress figures of RELIABILITY.md (issue 9).  Not in
# `make check` (minutes of work): scripts/stress runs it and prints the
# figures.  STRESS_JOBS (default 10000) and STRESS_BYTES (default 1 GiB)
# scale it down for a quick look.
load helper

setup_file() {
	export STRESS_JOBS=${STRESS_JOBS:-10000}
	export STRESS_BYTES=${STRESS_BYTES:-1073741824}
	export FIGURES=${FIGURES:-$BATS_FILE_TMPDIR/figures}
}

figure() {
	printf '%s\n' "$*" >> "$FIGURES"
	printf '# %s\n' "$*" >&3
}

# The mixed spec: per 10 jobs, 4 plain, 1 pipeline, 1 failing, 1 timing
# out, 1 binary output, 1 with 100 KB of output, 1 with a grandchild.
mixed_spec() {
	local n=$(( STRESS_JOBS / 10 ))
	cat <<EOF
{"jobs": [
  {"name": "plain", "run": ["$QUICK", "x"], "repeat": $((4 * n))},
  {"name": "pipe", "pipeline": [["$QUICK", "p"], ["cat"]], "repeat": $n},
  {"name": "fail", "shell": "exit 3", "repeat": $n},
  {"name": "slow", "run": ["$QUICK", "-s", "5"], "timeout": "0.05s", "repeat": $n},
  {"name": "bin", "run": ["$PROBE", "gen", "1000", "{#}"], "digest": true, "repeat": $n},
  {"name": "big", "run": ["$PROBE", "gen", "102400", "7"], "encoding": "base64", "repeat": $n},
  {"name": "tree", "shell": "$QUICK -s 0.01 & wait", "repeat": $n}
]}
EOF
}

mixed_run() {
	local mode=$1 f=$BATS_FILE_TMPDIR/mixed.json out=$BATS_FILE_TMPDIR/mixed-$1.jsonl t0 t1
	mixed_spec > "$f"
	t0=$(date +%s.%N)
	run --separate-stderr "$PIPERUN" run --mode "$mode" -j 64 --output jsonl "$f"
	t1=$(date +%s.%N)
	printf '%s\n' "$output" > "$out"
	[ "$status" -eq 1 ]
	local n=$STRESS_JOBS sum
	sum=$(tail -1 "$out")
	# each job exactly once
	[ "$(head -n -1 "$out" | wc -l)" -eq "$n" ]
	[ "$(head -n -1 "$out" | jq -r .name | sort -u | wc -l)" -eq "$n" ]
	# each kind ended as it must
	[ "$(head -n -1 "$out" | jq -r '(.name | sub("#.*"; "")) + "=" + .status' | sort | uniq -c |
	     awk '{printf "%s:%s ", $2, $1}')" = \
	  "big=ok:$((n/10)) bin=ok:$((n/10)) fail=failed:$((n/10)) pipe=ok:$((n/10)) plain=ok:$((4*n/10)) slow=timeout:$((n/10)) tree=ok:$((n/10)) " ]
	# binary output came back exact
	[ "$(head -n -1 "$out" | jq -r 'select(.name == "bin#7") | .stdout' | base64 -d | cmp - <("$PROBE" gen 1000 7) && echo same)" = same ]
	[ "$(head -n -1 "$out" | jq -r 'select(.name | startswith("big")) | .stdout_bytes' | sort -u)" = 102400 ]
	# no zombies, fds back where they started, bounded memory
	[ "$(jq -r '.run.runner.children_left' <<<"$sum")" -eq 0 ]
	[ "$(jq -r '.run.runner | .fds_end == .fds_start' <<<"$sum")" = true ]
	local rss
	rss=$(jq -r '.run.runner.peak_rss_kb' <<<"$sum")
	figure "mixed $n jobs, -j 64, $mode mode: $(echo "$t1 - $t0" | bc) s, $(echo "$n / ($t1 - $t0)" | bc) jobs/s, peak RSS $rss KiB, fds $(jq -r '.run.runner | "\(.fds_start)->\(.fds_end)"' <<<"$sum"), children left $(jq -r .run.runner.children_left <<<"$sum")"
	[ "$rss" -le 65536 ]
}

@test "10,000 mixed jobs at -j 64, async mode: each once, no zombies, fds back, RSS <= 64 MB" {
	mixed_run async
}

@test "10,000 mixed jobs at -j 64, thread mode: each once, no zombies, fds back, RSS <= 64 MB" {
	mixed_run thread
}

@test "10,000 mixed jobs at -j 64, serial mode: each once, no zombies, fds back, RSS <= 64 MB" {
	mixed_run serial
}

@test "1 GiB on stdout and 1 GiB on stderr from one child, digest: exact, no deadlock, RSS flat" {
	local f small t0 t1 want_out want_err
	f=$(spec <<EOF
{"jobs": [{"name": "both", "run": ["$PROBE", "both", "$STRESS_BYTES", "11"], "digest": true, "max_output": 4096}]}
EOF
)
	small=$(spec small.json <<EOF
{"jobs": [{"name": "both", "run": ["$PROBE", "both", "1048576", "11"], "digest": true, "max_output": 4096}]}
EOF
)
	want_out=$("$PROBE" gen "$STRESS_BYTES" 11 | sha256sum | cut -d' ' -f1)
	want_err=$("$PROBE" gen "$STRESS_BYTES" 12 | sha256sum | cut -d' ' -f1)
	t0=$(date +%s.%N)
	pr run "$f"
	t1=$(date +%s.%N)
	assert_success
	[ "$(jqo '.jobs[0].stdout_sha256')" = "$want_out" ]
	[ "$(jqo '.jobs[0].stderr_sha256')" = "$want_err" ]
	[ "$(jqo '.jobs[0].stdout_bytes')" -eq "$STRESS_BYTES" ]
	[ "$(jqo '.jobs[0].stderr_bytes')" -eq "$STRESS_BYTES" ]
	local big_rss small_rss
	big_rss=$(jqo '.runner.peak_rss_kb')
	small_rss=$("$PIPERUN" run "$small" | jq -r '.runner.peak_rss_kb')
	figure "2 x $STRESS_BYTES bytes with sha256: $(echo "$t1 - $t0" | bc) s, runner peak RSS $big_rss KiB (1 MiB streams: $small_rss KiB), runner CPU $(jqo '.runner.user_ms + .runner.sys_ms') ms"
	[ "$big_rss" -le $(( small_rss + 4096 )) ]
}
