#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Steps jobs under faults (issue 22): a task that crashes the host, a
# coprocess that buffers or answers short or long, fail-fast's records,
# where a blocked step's time goes, unset against env.
load helper

setup() {
	[ -n "${HOSTILE_PLUGIN:-}" ] || HOSTILE_PLUGIN=$(dirname "$PIPERUN")/tests/plugins/.libs/task-hostile.so
	[ -n "${CRASHY_PLUGIN:-}" ] || CRASHY_PLUGIN=$(dirname "$PIPERUN")/tests/plugins/.libs/task-crashy.so
}

@test "a task that segfaults in a task step: the record says which step and item, every mode" {
	f=$(spec <<EOF
{"jobs":[{"name":"p","items":["1","13","2"],"steps":[{"name":"w","plugin":"$HOSTILE_PLUGIN:segv"}]}]}
EOF
)
	for m in serial thread async; do
		pr run --mode "$m" "$f"
		assert_failure 1
		[ "$(jqo '.jobs[0] | [.status, .signal] | @json')" = '["failed","SIGSEGV"]' ]
		[ "$(jqo -r '.jobs[0].error')" = 'step w: the task crashed the steps host (SIGSEGV) on item "13"' ]
		[ "$(jqo -c '.jobs[0].failed_items | map([.step, .index, .item, .signal, .error])')" = \
		  '[["w",1,"13","SIGSEGV","the task crashed the steps host (SIGSEGV)"]]' ]
	done
}

@test "a task whose init() segfaults, or that resets SIGSEGV first: the error is never null" {
	f=$(spec <<EOF
{"jobs":[{"name":"i","items":["1"],"steps":[{"name":"w","plugin":"$HOSTILE_PLUGIN:initsegv"}]},
 {"name":"c","items":["1","13"],"steps":[{"name":"w","plugin":"$CRASHY_PLUGIN:crashy"}]}]}
EOF
)
	for m in thread async; do
		pr run --mode "$m" "$f"
		assert_failure 1
		[ "$(jqo -r '.jobs[0].error')" = "step w: the task's init() crashed the steps host (SIGSEGV)" ]
		# crashy puts back SIG_DFL before it raises: no note, but the host's end
		[ "$(jqo -r '.jobs[1].error')" = "the steps host died of SIGSEGV" ]
	done
}
