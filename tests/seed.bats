#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The seed workloads (../shared/SEED-EXAMPLES.md), one spec each in
# pipelines/.
load helper

@test "67a hello: stdout \"Hello from the child!\\n\", status ok" {
	pr run "$PIPELINES/hello.json"
	assert_success
	[ "$(jq '.jobs[0].stdout' <<<"$output")" = '"Hello from the child!\n"' ]
	[ "$(jqo '.jobs[0].status')" = ok ]
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
	pr run "$PIPELINES/openssl-enc.json"
	assert_success
	[ "$(jqo '[.jobs[].status] | @json')" = '["ok","ok","ok"]' ]
	for i in 0 1 2; do
		# "Salted__" + 8 salt bytes + 16 bytes of DES3 ciphertext for 10 bytes
		[ "$(jqo ".jobs[$i].stdout_encoding")" = base64 ]
		[ "$(jqo ".jobs[$i].stdout_bytes")" = 32 ]
		[ "$(jqo ".jobs[$i].stdout" | base64 -d | head -c 8)" = Salted__ ]
	done
	[[ $output != *zf7ShyBhZOraQDdE* ]]
	[[ $stderr != *zf7ShyBhZOraQDdE* ]]
	pr plan "$PIPELINES/openssl-enc.json"
	[[ $output != *zf7ShyBhZOraQDdE* ]]
	[ "$(jqo '.jobs[0].env.set.password')" = '***' ]
}

@test "the seed demo spec runs: every job ok" {
	pr run --output jsonl "$PIPELINES/seed-demo.json"
	assert_success
	[ "$(tail -1 <<<"$output" | jq -r '.run.status')" = ok ]
}

@test "the README's tour spec runs as the README says" {
	pr run "$PIPELINES/tour.json"
	assert_success
	[ "$(jqo '[.jobs[].name] | @json')" = '["hello","sleep#1","sleep#2","sleep#3","enc","count"]' ]
	[ "$(jqo '.jobs[4].stdout_encoding')" = base64 ]
	[ "$(jqo '.jobs[5].stdout')" = 32 ]
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
