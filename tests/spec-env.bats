#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# unset against defaults.env and a job's env (issue 22, item 12): one
# order (piperun-spec(5), unset), the same in plan and in the run.
load helper

@test "unset removes what piperun was given and what defaults.env sets; plan and run agree" {
	f=$(spec <<'EOF'
{"defaults":{"env":{"A":"da","B":"db"}},
 "jobs":[{"name":"j1","run":["sh","-c","echo A=${A-none} B=${B-none} OUTER=${OUTER-none}"],"unset":["A","OUTER"]},
         {"name":"j2","run":["sh","-c","echo A=${A-none} B=${B-none} OUTER=${OUTER-none}"],"env":{"A":"ja"}}]}
EOF
)
	for m in serial thread async; do
		OUTER=o run --separate-stderr "$PIPERUN" run --mode "$m" "$f"
		assert_success
		[ "$(jqo -c '[.jobs[].stdout]')" = '["A=none B=db OUTER=none\n","A=ja B=db OUTER=o\n"]' ]
	done
	OUTER=o run --separate-stderr "$PIPERUN" plan "$f"
	assert_success
	[ "$(jqo -c '[.jobs[].env | [.set, .unset]]')" = '[[{"B":"db"},["A","OUTER"]],[{"A":"ja","B":"db"},[]]]' ]
}

@test "a job's own env wins over defaults.unset; plan lists a name under set or unset, never both" {
	f=$(spec <<'EOF'
{"defaults":{"unset":["A","B"]},
 "jobs":[{"name":"j","run":["sh","-c","echo A=${A-none} B=${B-none}"],"env":{"A":"ja"}}]}
EOF
)
	A=oa B=ob run --separate-stderr "$PIPERUN" run "$f"
	assert_success
	[ "$(jqo -r '.jobs[0].stdout')" = 'A=ja B=none' ]
	A=oa B=ob run --separate-stderr "$PIPERUN" plan "$f"
	[ "$(jqo -c '.jobs[0].env | [.set, .unset]')" = '[{"A":"ja"},["B"]]' ]
	[ "$(jqo '[.jobs[].env | (.set | keys) - ((.set | keys) - .unset)] | add | length')" = 0 ]
}

@test "a name both in a job's own env and its own unset is an error with its path" {
	f=$(spec <<'EOF'
{"jobs":[{"name":"j","run":["true"],"env":{"A":"ja"},"unset":["B","A"]}]}
EOF
)
	pr validate "$f"
	assert_failure 2
	[[ "$stderr" == *'jobs[0].unset[1]: "A" is both set in this job'"'"'s env and unset'* ]]
	pr run "$f"
	assert_failure 2
}
