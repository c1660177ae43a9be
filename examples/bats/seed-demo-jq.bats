#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# seed-demo-jq.bats - the five tests of seed-demo.bats written the way
# they were before the piperun bats library: jq, base64 and bats-assert
# by hand.  Kept to compare (tests/bats-lib.bats counts both); use the
# library (seed-demo.bats, piperun-bats(7)).
bats_load_library bats-support
bats_load_library bats-assert

setup_file() {
	RESULTS=$BATS_FILE_TMPDIR/results.json
	RUN_STATUS=0
	"${PIPERUN:-piperun}" run -o json \
		"${PIPELINES:-$BATS_TEST_DIRNAME/../../pipelines}/seed-demo.json" \
		> "$RESULTS" 2> "$BATS_FILE_TMPDIR/stderr" || RUN_STATUS=$?
	export RESULTS RUN_STATUS
}

# the field $2 of the job named $1 (raw), or "absent"
job() {
	jq -r --arg n "$1" --arg f "$2" \
		'[.jobs[] | select(.name == $n)] | if length == 0 then "absent" else .[0][$f] end' "$RESULTS"
}

# the job's stdout as bytes, whatever its encoding
job_stdout() {
	local enc
	enc=$(job "$1" stdout_encoding)
	if [ "$enc" = base64 ]; then
		jq -r --arg n "$1" '.jobs[] | select(.name == $n) | .stdout' "$RESULTS" | base64 -d
	else
		jq -j --arg n "$1" '.jobs[] | select(.name == $n) | .stdout' "$RESULTS"
	fi
}

@test "the run succeeds and every job is ok" {
	[ "$RUN_STATUS" -eq 0 ]
	run jq -r '[.jobs[] | select(.status != "ok") | .name] | join(" ")' "$RESULTS"
	assert_output ""
}

@test "hello greets on stdout, exactly" {
	[ "$(job hello status)" = ok ]
	[ "$(job_stdout hello; echo .)" = $'Hello from the child!\n.' ]
	[ "$(job hello returncode)" = 0 ]
}

@test "repeat gives ten sleep copies, named sleep#1 to sleep#10" {
	[ "$(job 'sleep#1' status)" = ok ]
	[ "$(job 'sleep#10' status)" = ok ]
	[ "$(job 'sleep#11' status)" = absent ]
	[ "$(job sleep status)" = absent ]
}

@test "each encryption writes a Salted__ header and some ciphertext" {
	for k in 1 2 3; do
		[ "$(job "enc#$k" status)" = ok ]
		[ "$(job_stdout "enc#$k" | head -c 8)" = Salted__ ]
	done
}

@test "the secret password never shows in the results" {
	! grep -q 'zf7ShyBhZOraQDdE' "$RESULTS"
}
