#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# pipeline jobs: stages joined by kernel pipes, built by libpipeline in a
# per-job pipeline host, with per-stage accounting.  Per-job checks by
# name with the bats helper library (piperun-bats(7)).
load helper
bats_load_library piperun

# jq over the last piperun_run's results.
jqr() {
	jq -r "$@" "$PIPERUN_RESULTS"
}

@test "67e: three openssl enc | dgst -whirlpool pipelines: 64-byte digests, both stages 0, password nowhere" {
	pr run "$PIPELINES/openssl-pipeline.json"
	assert_success
	[ "$(jqo '[.jobs[] | .status] | @json')" = '["ok","ok","ok"]' ]
	[ "$(jqo '[.jobs[] | .kind] | unique | @json')" = '["pipeline"]' ]
	[ "$(jqo '[.jobs[] | .stdout_bytes] | @json')" = '[64,64,64]' ]
	[ "$(jqo '[.jobs[].stages[] | .returncode] | @json')" = '[0,0,0,0,0,0]' ]
	[ "$(jqo '[.jobs[].stages[] | .pid > 0] | all')" = true ]
	# 100 random bytes each: three different digests
	[ "$(jqo '[.jobs[].stdout] | unique | length')" = 3 ]
	[[ $output != *zf7ShyBhZOraQDdE* ]]
	[[ $stderr != *zf7ShyBhZOraQDdE* ]]
	pr plan "$PIPELINES/openssl-pipeline.json"
	[[ $output != *zf7ShyBhZOraQDdE* ]]
}

@test "67e (sha256 variant): 32-byte digests" {
	pr run "$PIPELINES/openssl-pipeline-sha256.json"
	assert_success
	[ "$(jqo '[.jobs[] | .stdout_bytes] | @json')" = '[32,32,32]' ]
	[ "$(jqo '[.jobs[].stages[] | .returncode] | @json')" = '[0,0,0,0,0,0]' ]
}

@test "yes | head -n 1: ok, stage 1 shown as killed by SIGPIPE" {
	piperun_run "$PIPELINES/yes-head.json"
	assert_success
	assert_job_ok yes-head
	assert_job_returncode yes-head 0
	assert_job_stdout yes-head $'y\n'
	assert_job_field yes-head stages.0.returncode -13
	assert_job_field yes-head stages.0.exit_code null
	assert_job_field yes-head stages.0.signal SIGPIPE
	assert_job_field yes-head stages.1.returncode 0
	assert_job_field yes-head stages.1.signal null
	[ "$(jqr '.jobs[0].stages[] | [.user_ms, .sys_ms, .maxrss_kb] | map(. != null) | all' | sort -u)" = true ]
}

@test "1 GiB through head | cat | wc -c: the count is exact" {
	piperun_run "$PIPELINES/gigabyte.json"
	assert_success
	assert_job_stdout count $'1073741824\n'
	[ "$(jqr '[.jobs[0].stages[].returncode] | @json')" = '[0,0,0]' ]
}

@test "pipefail: the rightmost failing stage; without it, the last stage" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "mid", "pipeline": [["echo", "x"], ["sh", "-c", "cat; exit 3"], ["cat"]]},
  {"name": "mid-nopf", "pipeline": [["echo", "x"], ["sh", "-c", "cat; exit 3"], ["cat"]], "pipefail": false},
  {"name": "last", "pipeline": [["sh", "-c", "exit 2"], ["sh", "-c", "exit 5"]]},
  {"name": "expected", "pipeline": [["false"], ["true"]], "expect": [1]}
]}
EOF
)
	piperun_run "$f"
	assert_failure 1
	assert_job_status mid failed
	assert_job_returncode mid 3
	assert_job_ok mid-nopf
	assert_job_returncode mid-nopf 0
	assert_job_status last failed
	assert_job_returncode last 5
	assert_job_ok expected
	assert_job_returncode expected 1
	[ "$(jqr '[.jobs[0].stages[].returncode] | @json')" = '[0,3,0]' ]
}

@test "openssl-style: a writer that exits 1 on a broken pipe is reported faithfully" {
	f=$(spec <<'EOF'
{"jobs": [{"name": "enc", "pipeline": [["openssl", "enc", "-des3", "-pbkdf2", "-pass", "pass:x"], ["head", "-c", "1"]],
           "stdin": {"random": "4M"}}]}
EOF
)
	piperun_run "$f"
	assert_failure 1
	assert_job_status enc failed
	assert_job_field enc stages.0.exit_code 1
	assert_job_field enc stages.0.signal null
	assert_job_field enc stages.1.returncode 0
	# openssl says so on its stderr ("error writing output file" here)
	[ -n "$("$PIPERUN" show "$PIPERUN_RESULTS" --job enc --field stderr)" ]
}

@test "a stage that is not found: job error 127 naming the stage; nothing started" {
	m=$(marker)
	f=$(spec <<EOF
{"jobs": [
  {"name": "missing", "pipeline": [["sh", "-c", "sleep 30; : $m"], ["no-such-stage-prog"]]},
  {"name": "noexec", "pipeline": [["sh", "-c", "sleep 30; : $m"], ["/etc/passwd"]]},
  {"name": "fine", "run": ["true"]}
]}
EOF
)
	piperun_run "$f"
	assert_failure 1
	assert_job_status missing error
	assert_job_returncode missing 127
	assert_job_field missing error 'stage 2: no-such-stage-prog: not found'
	assert_job_status noexec error
	assert_job_returncode noexec 126
	assert_job_field noexec error 'stage 2: /etc/passwd: not executable'
	[ "$(jqr '[.jobs[0].stages[].pid] | @json')" = '[null,null]' ]
	assert_job_ok fine
	[ -z "$(procs_with "$m")" ]
}

@test "stage objects: per-stage env; stderr captured per stage, merged, null, or to the job" {
	f=$(spec <<'EOF'
{"jobs": [{"pipeline": [
    {"run": ["sh", "-c", "echo \"$WHO\"; echo s1-err >&2"], "env": {"WHO": "stage1"}, "stderr": "capture"},
    {"run": ["sh", "-c", "cat; echo s2-err >&2"], "stderr": "stdout"},
    {"run": ["sh", "-c", "cat; echo s3-err >&2"], "stderr": "null"},
    {"run": ["sh", "-c", "cat; echo \"$WHO\"; echo s4-err >&2"]}
  ], "env": {"WHO": "job"}}]}
EOF
)
	piperun_run "$f"
	assert_success
	assert_job_stdout job-1 $'stage1\ns2-err\njob\n'
	assert_job_stderr job-1 $'s4-err\n'
	[ "$(jq -c '.jobs[0].stages[0] | [.stderr, .stderr_bytes]' "$PIPERUN_RESULTS")" = '["s1-err\n",7]' ]
	[ "$(jqr '.jobs[0].stages[1] | has("stderr")')" = false ]
}

@test "a stage's stderr to a file" {
	f=$(spec <<EOF
{"jobs": [{"pipeline": [{"run": ["sh", "-c", "echo to-file >&2"], "stderr": {"file": "$BATS_TEST_TMPDIR/e.txt"}}, ["cat"]]}]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(cat "$BATS_TEST_TMPDIR/e.txt")" = to-file ]
}

@test "stages see exactly fds 0, 1, 2, the original signal state, their own group" {
	f=$(spec <<EOF
{"jobs": [{"pipeline": [["$PROBE", "fds"], ["cat"]]},
          {"pipeline": [["true"], ["$PROBE", "sigdisp", "PIPE", "INT", "TERM", "CHLD"]]},
          {"pipeline": [["$PROBE", "ids"], ["cat"]]}]}
EOF
)
	exec 8</dev/null
	run --separate-stderr nohup "$PIPERUN" run "$f"
	exec 8<&-
	assert_success
	[ "$(jqo '.jobs[0].stdout')" = "0 1 2" ]
	[ "$(jqo '.jobs[1].stdout')" = "$(printf '%s\n' 'PIPE default unblocked' 'INT default unblocked' 'TERM default unblocked' 'CHLD default unblocked')" ]
	read -r pid ppid pgid sid <<<"$(jqo '.jobs[2].stdout')"
	[ "$pid" = "$(jqo '.jobs[2].stages[0].pid')" ]
	# a stage is a child of its host, in the host's group (the job's group)
	[ "$pgid" = "$ppid" ]
}

@test "no process keeps an inter-stage pipe end: a dead reader gives its writer EPIPE at once" {
	# if anyone else held the read end, the writer would block forever
	f=$(spec <<'EOF'
{"jobs": [{"name": "w", "pipeline": [["sh", "-c", "trap '' PIPE; while echo x; do :; done; echo writer-saw-EPIPE >&2"], ["head", "-n", "1"]]}]}
EOF
)
	piperun_run "$f"
	assert_success
	assert_job_stdout w $'x\n'
	[[ "$("$PIPERUN" show "$PIPERUN_RESULTS" --job w --field stderr)" == *writer-saw-EPIPE* ]]
}

@test "a dead first stage closes the job's stdin: the runner's writes stop at once" {
	f=$(spec <<'EOF'
{"jobs": [{"pipeline": [["true"], ["cat"]], "stdin": {"random": "64M"}}]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(jqo '.jobs[0].stdout_bytes')" = 0 ]
}

@test "pipeline jobs take stdin from a job and feed another" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "words", "run": ["printf", "b\na\nc\na\n"]},
  {"name": "uniq", "pipeline": [["sort"], ["uniq", "-c"], ["sort", "-rn"]], "stdin": {"from": "words"}},
  {"name": "top", "run": ["head", "-n", "1"], "stdin": {"from": "uniq"}}
]}
EOF
)
	piperun_run "$f"
	assert_success
	assert_job_stdout_matches top '^ +2 a$'
}

@test "a fatal error in the pipeline host is that job's error, never the runner's exit" {
	# the job's own fd limit leaves the host no room for libpipeline's pipes
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "starved", "pipeline": [["echo", "x"], ["cat"], ["cat"]], "rlimits": {"nofile": 7}},
  {"name": "fine", "pipeline": [["echo", "y"], ["cat"]]}
]}
EOF
)
	piperun_run "$f"
	assert_failure 1
	# (piperun_run's $output is piperun's stderr)
	[ -z "$output" ]
	assert_job_status starved error
	[[ "$("$PIPERUN" show "$PIPERUN_RESULTS" --job starved --field error)" == "pipeline host failed with exit status 2: "*"Too many open files"* ]]
	assert_job_ok fine
	assert_job_stdout fine $'y\n'
}

@test "pass_fds is rejected for pipeline jobs" {
	f=$(spec <<<'{"jobs": [{"pipeline": [["true"]], "pass_fds": [5]}]}')
	pr validate "$f"
	assert_failure 2
	[[ $stderr == *"jobs[0].pass_fds: pass_fds is not supported for pipeline jobs"* ]]
}

@test "200 jobs, half plain and half 3-stage pipelines, at -j 8: every returncode right" {
	python3 - "$BATS_TEST_TMPDIR/mixed.json" <<'EOF'
import json, sys
jobs = []
for i in range(100):
    jobs.append({"name": f"plain{i}", "shell": f"exit {i % 7}", "expect": [i % 7]})
    jobs.append({"name": f"pipe{i}", "pipeline": [["echo", str(i)], ["cat"], ["sh", "-c", f"read x; exit $(( x % 5 ))"]],
                 "expect": [i % 5]})
json.dump({"jobs": jobs}, open(sys.argv[1], "w"))
EOF
	pr run -j 8 --output jsonl "$BATS_TEST_TMPDIR/mixed.json"
	assert_success
	[ "$(tail -1 <<<"$output" | jq -c '.summary | [.total, .ok]')" = '[200,200]' ]
	# each name exactly once, and each returncode is the one its job chose
	[ "$(head -n -1 <<<"$output" | jq -r .name | sort -u | wc -l)" = 200 ]
	head -n -1 <<<"$output" | jq -e -s 'map(if (.name | startswith("plain"))
		then .returncode == ((.name[5:] | tonumber) % 7)
		else .returncode == ((.name[4:] | tonumber) % 5) end) | all' >/dev/null
}

@test "500 pipeline jobs: each accounted once, no fd growth, no zombies" {
	f=$(spec <<<'{"jobs": [{"name": "p", "pipeline": [["echo", "{#}"], ["cat"]], "repeat": 500}]}')
	pr run -j 16 --output jsonl "$f"
	assert_success
	last=$(tail -1 <<<"$output")
	[ "$(jq -c '.summary | [.total, .ok]' <<<"$last")" = '[500,500]' ]
	[ "$(head -n -1 <<<"$output" | jq -r .name | sort -u | wc -l)" = 500 ]
	[ "$(head -n -1 <<<"$output" | jq -r '(.name[2:] | tonumber | tostring) + " " + (.stdout | rtrimstr("\n"))' | awk '$1 != $2' | wc -l)" = 0 ]
	[ "$(jq '.run.runner.fds_end == .run.runner.fds_start' <<<"$last")" = true ]
	[ "$(jq '.run.runner.children_left' <<<"$last")" = 0 ]
}

@test "ulimit -n 64 with 50 pipeline jobs at -j 50: jobs wait for headroom; all complete" {
	f=$(spec <<<'{"jobs": [{"name": "p", "pipeline": [["sh", "-c", "sleep 0.2; echo {#}"], ["cat"], ["cat"]], "repeat": 50}]}')
	run --separate-stderr bash -c "ulimit -n 64 && exec \"$PIPERUN\" run -j 50 -o jsonl \"$f\""
	assert_success
	last=$(tail -1 <<<"$output")
	[ "$(jq -c '.summary | [.total, .ok]' <<<"$last")" = '[50,50]' ]
	# some starts had to wait
	[ "$(head -n -1 <<<"$output" | jq -s 'map(.throttled // 0) | add > 0')" = true ]
	[ "$(jq '.run.runner.fds_end == .run.runner.fds_start' <<<"$last")" = true ]
}

@test "pipelines and plain jobs run side by side with no lost exit status" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "pl", "pipeline": [["sleep", "0.3"], ["sh", "-c", "exit 4"]], "repeat": 5},
  {"name": "plain", "shell": "sleep 0.2; exit 6", "repeat": 5}
]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '[.jobs[] | .returncode] | @json')" = '[4,4,4,4,4,6,6,6,6,6]' ]
	[ "$(jqo '([.jobs[].started_ms] | max) < ([.jobs[] | .started_ms + .duration_ms] | min)')" = true ]
}
