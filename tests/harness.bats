#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The check's own harness: tests/helpers/bats-bounded runs each suite
# with a deadline, so that a hung suite fails with what it still ran
# listed instead of eating CI's time, and kills what a suite leaves
# holding its output.
load helper

BOUNDED="$TESTS_DIR/helpers/bats-bounded"

# Run bats-bounded (deadline $2 s, default 3) over a suite of one test,
# body $1.
bounded() {
	printf '@test "t" {\n%s\n}\n' "$1" > "$BATS_TEST_TMPDIR/s.bats"
	run env PIPERUN_SUITE_DEADLINE="${2:-3}" bash "$BOUNDED" --tap "$BATS_TEST_TMPDIR/s.bats"
}

@test "harness: a suite that passes passes, and says only its time" {
	# (a deadline that no load reaches: a one-test suite took 7 s at
	# the start of a clean-clone check)
	bounded true 300
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line -n 0 '1..1'
	assert_line -n 1 'ok 1 t'
	# the suite's wall and CPU time (bats's own is more than nothing)
	assert_line -n 2 --regexp "^# cpu: [0-9]+ s wall, user [0-9]+\.[0-9]{2} s, sys [0-9]+\.[0-9]{2} s: $BATS_TEST_TMPDIR/s.bats\$"
	[[ ${lines[2]} != *"user 0.00 s, sys 0.00 s"* ]]
}

@test "harness: a hung suite ends at its deadline (124), what it ran listed and killed" {
	m=$(marker)
	bounded "$QUICK -s 1000 $m"
	[ "$status" -eq 124 ]
	assert_output --partial "the suite still ran after 3 s"
	assert_output --regexp "# left: .*$m"
	! pgrep -f -- "$m"
}

@test "harness: an orphan that keeps bats waiting is found outside the suite's tree and killed" {
	m=$(marker)
	bounded "($QUICK -s 1000 $m >&3 &)"
	[ "$status" -eq 124 ]
	assert_output --regexp "# left: +[0-9]+ +1 .*$m"
	! pgrep -f -- "$m"
}

@test "harness: a process left holding the driver's pipe fails the suite (1) and is killed" {
	m=$(marker)
	# a "bats" whose suite passes but leaves a process on its stdout
	printf '#!/bin/sh\necho 1..1\necho ok 1 t\n(exec %s -s 1000 %s &)\n' "$QUICK" "$m" \
		> "$BATS_TEST_TMPDIR/fake-bats"
	chmod 755 "$BATS_TEST_TMPDIR/fake-bats"
	run timeout 60 env BATS="$BATS_TEST_TMPDIR/fake-bats" bash "$BOUNDED"
	[ "$status" -eq 1 ]
	assert_output --partial "left processes that hold its output"
	assert_output --regexp "# left: .*$m"
	! pgrep -f -- "$m"
}

@test "harness: the suite's tests get the signal dispositions bats-bounded got (INT, QUIT not ignored)" {
	bounded 'grep SigIgn /proc/self/status >&3' 300
	assert_success
	# SigIgn of the test's grep: none of INT (bit 2) and QUIT (bit 3)
	mask=$(sed -n 's/^[# ]*SigIgn:[[:space:]]*//p' <<< "$output")
	[ -n "$mask" ]
	(((16#$mask & 6) == 0))
}
