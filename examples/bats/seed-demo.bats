#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# seed-demo.bats - an example suite over pipelines/seed-demo.json written
# with the piperun bats library (piperun-bats(7)): five tests, no jq.
#
#   BATS_LIB_PATH=/usr/lib/bats bats seed-demo.bats   (installed library)
#
# make check runs it against the source tree (PIPERUN, PIPELINES and
# BATS_LIB_PATH set).
bats_load_library piperun

# One run for the whole file (its ten `sleep 1` copies take a second):
# piperun_run in setup_file, its results and status exported to the tests.
setup_file() {
	piperun_run "${PIPELINES:-$BATS_TEST_DIRNAME/../../pipelines}/seed-demo.json"
	export PIPERUN_RESULTS RUN_STATUS=$status
}

@test "the run succeeds and every job is ok" {
	[ "$RUN_STATUS" -eq 0 ]
	assert_all_ok
}

@test "hello greets on stdout, exactly" {
	assert_job_ok hello
	assert_job_stdout hello $'Hello from the child!\n'
	assert_job_returncode hello 0
}

@test "repeat gives ten sleep copies, named sleep#1 to sleep#10" {
	assert_job_status 'sleep#1' ok
	assert_job_status 'sleep#10' ok
	refute_job 'sleep#11'
	refute_job sleep
}

@test "each encryption writes a Salted__ header and some ciphertext" {
	for k in 1 2 3; do
		assert_job_ok "enc#$k"
		assert_job_stdout_matches "enc#$k" '^Salted__'
	done
}

@test "the secret password never shows in the results" {
	! grep -q 'zf7ShyBhZOraQDdE' "$PIPERUN_RESULTS"
}
