#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The seed workloads (../shared/SEED-EXAMPLES.md), one spec each in
# pipelines/.  Asserts by job name with the bats helper library
# (piperun-bats(7)).
load helper
bats_load_library piperun

# The names of the jobs of the last piperun_run, comma-separated.
job_names() {
	"$PIPERUN" show "$PIPERUN_RESULTS" | paste -sd,
}

@test "67a hello: stdout \"Hello from the child!\\n\", status ok" {
	piperun_run "$PIPELINES/hello.json"
	assert_success
	[ "$(job_names)" = hello ]
	assert_job_stdout hello $'Hello from the child!\n'
	assert_job_ok hello
}

@test "67c ten sleep 1 jobs run together, not one after another" {
	pr run "$PIPELINES/sleep-fanout.json"
	assert_success
	[ "$(jqo '.summary.ok')" = 10 ]
	[ "$(jqo '[.jobs[].name] | @json')" = '["sleep#1","sleep#2","sleep#3","sleep#4","sleep#5","sleep#6","sleep#7","sleep#8","sleep#9","sleep#10"]' ]
	# every job started before any job ended: all ten overlapped
	[ "$(jqo '([.jobs[].started_ms] | max) < ([.jobs[] | .started_ms + .duration_ms] | min)')" = true ]
}

@test "67d three openssl enc jobs: binary stdout, password nowhere" {
	piperun_run "$PIPELINES/openssl-enc.json"
	assert_success
	[ "$(job_names)" = 'enc#1,enc#2,enc#3' ]
	assert_all_ok
	for j in 'enc#1' 'enc#2' 'enc#3'; do
		# "Salted__" + 8 salt bytes + 16 bytes of DES3 ciphertext for 10 bytes
		assert_job_field "$j" stdout_encoding base64
		assert_job_field "$j" stdout_bytes 32
		[ "$("$PIPERUN" show "$PIPERUN_RESULTS" --job "$j" --field stdout | head -c 8)" = Salted__ ]
	done
	# neither in the results nor on stderr
	[[ $(< "$PIPERUN_RESULTS") != *zf7ShyBhZOraQDdE* ]]
	[[ $output != *zf7ShyBhZOraQDdE* ]]
	pr plan "$PIPELINES/openssl-enc.json"
	[[ $output != *zf7ShyBhZOraQDdE* ]]
	[ "$(jqo '.jobs[0].env.set.password')" = '***' ]
}

@test "the seed demo spec runs: every job ok" {
	# (show reads JSONL too: the run's status from the trailer line)
	piperun_run "$PIPELINES/seed-demo.json" --output jsonl
	assert_success
	assert_all_ok
	[ "$("$PIPERUN" show "$PIPERUN_RESULTS" --field status)" = ok ]
}

@test "the README's tour spec runs as the README says" {
	piperun_run "$PIPELINES/tour.json"
	assert_success
	[ "$(job_names)" = 'hello,sleep#1,sleep#2,sleep#3,enc,count' ]
	assert_job_field enc stdout_encoding base64
	assert_job_stdout count $'32\n'
	[[ $(< "$PIPERUN_RESULTS") != *s3cret* ]]
	[[ $output != *s3cret* ]]
}

@test "scripts/demo runs the seed demo and prints its results" {
	run --separate-stderr "$TESTS_DIR/../scripts/demo"
	assert_success
	assert_line --regexp '^NAME +STATUS +RC +DURATION +ERROR'
	assert_line --regexp '^hello +ok +0 '
	assert_line --regexp '^enc#3 +ok +0 '
	assert_line --partial 'jobs: 14 ok'
	assert_line --partial '"name":"hello","status":"ok","returncode":0'
	[[ $output != *zf7ShyBhZOraQDdE* ]]
}
