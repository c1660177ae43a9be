#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Steps jobs under faults (issue 22): a task that crashes the host, a
# coprocess that buffers or answers short or long, fail-fast's records,
# where a blocked step's time goes, unset against env.
load helper

setup() {
	# under AddressSanitizer (scripts/check's second build) its own
	# SIGSEGV handler would report and exit first: these tests are about
	# piperun's, so ASan leaves SIGSEGV alone here
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}handle_segv=0"
	[ -n "${HOSTILE_PLUGIN:-}" ] || HOSTILE_PLUGIN=$(dirname "$PIPERUN")/tests/plugins/.libs/task-hostile.so
	[ -n "${CRASHY_PLUGIN:-}" ] || CRASHY_PLUGIN=$(dirname "$PIPERUN")/tests/plugins/.libs/task-crashy.so
	[ -n "${FAULTY_PLUGIN:-}" ] || FAULTY_PLUGIN=$(dirname "$PIPERUN")/tests/plugins/.libs/task-faulty.so
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

@test "fail-fast: a job that ran is never reported skipped, even while its retry waits for a slot (every mode, -j 1 and 2)" {
	# a fails and its retry comes due while b holds the only slot; b's
	# failure stops the run: a ran once, and says how
	f=$(spec <<'EOF'
{"jobs":[{"name":"a","run":["sh","-c","exit 3"],"retries":3,"retry_delay":0.05},
 {"name":"b","run":["sh","-c","sleep 0.5; exit 1"]}]}
EOF
)
	for m in serial thread async; do
		for j in 1 2; do
			pr run --mode "$m" -j "$j" --fail-fast "$f"
			assert_failure 1
			# ran (attempts > 0) => not skipped; skipped => no attempt, no returncode
			[ "$(jqo '[.jobs[] | select(.attempts > 0 and .status == "skipped")] | length')" = 0 ]
			[ "$(jqo '[.jobs[] | select(.status == "skipped" and (.returncode != null or (.stages | length) > 0))] | length')" = 0 ]
			[ "$(jqo '.jobs[0] | .attempts > 0 and (.status == "failed" or .status == "cancelled")')" = true ]
		done
	done
	# serial, -j 1: a's one attempt failed with 3, and it is counted failed
	pr run --mode serial -j 1 --fail-fast "$f"
	[ "$(jqo -c '.jobs[0] | [.status, .attempts, .returncode]')" = '["failed",1,3]' ]
	[ "$(jqo -c '.summary | [.failed, .skipped]')" = '[2,0]' ]
}

@test "a buffering coprocess (sed, awk on a pipe) gets EOF when the input ends and answers every item" {
	f=$(spec <<'EOF'
{"jobs":[
 {"name":"sed","items":{"count":10},"ordered":true,"timeout":30,"steps":[{"name":"s","coprocess":["sed","s/$/x/"]}]},
 {"name":"awk","items":{"count":20},"timeout":30,"steps":[{"name":"a","workers":3,"window":8,"coprocess":["awk","{print $0 \"y\"}"]}]},
 {"name":"two","items":{"count":5},"ordered":true,"timeout":30,"steps":[
  {"name":"s1","coprocess":["sed","s/$/a/"]},{"name":"s2","coprocess":["sed","s/$/b/"]}]}]}
EOF
)
	for m in async thread; do
		pr run --mode "$m" "$f"
		assert_success
		[ "$(jqo -c '[.jobs[] | .status] | unique')" = '["ok"]' ]
		[ "$(jqo -r '.jobs[0].stdout')" = "$(seq 10 | sed 's/$/x/')" ]
		[ "$(jqo -r '.jobs[1].stdout' | sed '/^$/d' | sort -n)" = "$(seq 20 | sed 's/$/y/')" ]
		[ "$(jqo -r '.jobs[2].stdout')" = "$(seq 5 | sed 's/$/ab/')" ]
		[ "$(jqo -c '[.jobs[].steps[].restarts] | unique')" = '[0]' ]
	done
}

@test "a coprocess that answers short or long never shifts attribution silently" {
	f=$(spec <<'EOF'
{"jobs":[
 {"name":"short","items":{"count":12},"ordered":true,"timeout":30,"steps":[{"name":"g","coprocess":["grep","--line-buffered","5"]}]},
 {"name":"long","items":{"count":3},"ordered":true,"timeout":30,"steps":[{"name":"l","coprocess":["sed","p"]}]},
 {"name":"exact","items":{"count":3},"ordered":true,"timeout":30,"steps":[{"name":"c","coprocess":["cat"]}]}]}
EOF
)
	for m in async thread; do
		pr run --mode "$m" "$f"
		assert_failure 1
		# short: 1 answer for 12 items; the 11 left fail, saying why
		[ "$(jqo -c '.jobs[0] | [.status, .items_out, .items_failed]')" = '["failed",1,11]' ]
		[ "$(jqo -c '[.jobs[0].failed_items[].index]')" = "$(seq 1 11 | jq -sc .)" ]
		[ "$(jqo -r '.jobs[0].failed_items[0].error')" = \
		  'no answer: the coprocess ended (exit status 0) after its input with 11 of the 12 items it was given unanswered (one line in, one line out: the answers it gave may belong to other items)' ]
		# long: every item out, but the job fails, naming the step and the count
		[ "$(jqo -c '.jobs[1] | [.status, .items_out, .items_failed, .steps[0].stray_lines]')" = '["failed",3,0,3]' ]
		[ "$(jqo -r '.jobs[1].error')" = \
		  'step l: the coprocess wrote 3 more lines than the items it was given (one line in, one line out: an answer may have gone to another item)' ]
		[ "$(jqo -c '.jobs[2] | [.status, .error, .stdout]')" = '["ok",null,"1\n2\n3\n"]' ]
	done
}

@test "async and thread agree on the bottleneck: a step waiting on a slow task step is blocked, not busy" {
	# a coprocess feeds a CPU-bound task step (the naive gcd) through a
	# queue of 2: the coprocess waits on the task, in async mode while
	# the loop's one thread runs the task inline
	seq 40 | awk '{print 20000003 + $1 * 2, 20000001 + $1 * 2}' > "$BATS_TEST_TMPDIR/items"
	f=$(spec <<EOF
{"jobs":[{"name":"b","items":{"lines":"$BATS_TEST_TMPDIR/items"},"queue":2,"steps":[
 {"name":"feed","coprocess":["cat"],"window":1},
 {"name":"cpu","task":"gcd"}]}]}
EOF
)
	for m in async thread; do
		pr run --mode "$m" "$f"
		assert_success
		# the task is the bottleneck; the feeder is blocked more than
		# busy (how the rest of its time splits between blocked and idle,
		# waiting for cat, is the scheduler's: under load cat answers late)
		[ "$(jqo '.jobs[0].steps | .[0].blocked_ms > .[0].busy_ms and .[1].busy_ms > .[0].busy_ms')" = true ] ||
			{ jqo -c '.jobs[0].steps'; false; }
	done
}

@test "a task step that prints to stdout never mixes into the items out" {
	f=$(spec <<EOF
{"jobs":[{"name":"p","items":["1","2","3"],"ordered":true,"steps":[{"name":"w","plugin":"$HOSTILE_PLUGIN:chatty"}]}]}
EOF
)
	for m in thread async; do
		pr run --mode "$m" "$f"
		assert_success
		[ "$(jqo -c '.jobs[0] | [.status, .stdout]')" = '["ok","2\n4\n6\n"]' ]
		[[ "$(jqo -r '.jobs[0].stderr')" == *"chatty write 2"* ]]
	done
}

@test "a coprocess killed by a signal after its input ended: that item fails, the rest go to a new one" {
	f=$(spec <<'EOF'
{"jobs":[{"name":"c","items":["1","2","3"],"ordered":true,"timeout":30,"steps":[
 {"name":"co","coprocess":["sh","-c","while read -r l; do [ \"$l\" = 2 ] && [ ! -e \"$0\" ] && : > \"$0\" && kill -SEGV $$; echo \"$l\"; done","MARK"]}]}]}
EOF
)
	for m in async thread; do
		cd "$BATS_TEST_TMPDIR" && rm -f MARK
		pr run --mode "$m" "$f"
		assert_failure 1
		[ "$(jqo -c '.jobs[0] | [.status, .stdout, .items_failed, .steps[0].restarts]')" = '["failed","1\n3\n",1,1]' ]
		[ "$(jqo -c '.jobs[0].failed_items | map([.item, .signal, .error])')" = '[["2","SIGSEGV","the coprocess ended (killed by SIGSEGV)"]]' ]
	done
}

@test "one timeout rule in task steps: an item that waits as long as item_timeout timed out, in every mode" {
	f=$(spec <<<'{"jobs":[{"name":"b","items":["0.2","0.05"],"steps":[{"name":"z","task":"sleep","item_timeout":0.2}]}]}')
	for m in serial thread async; do
		pr run --mode "$m" "$f"
		assert_failure 1
		[ "$(jqo -c '.jobs[0] | [.items_out, [.failed_items[] | [.item, .error]]]')" = '[1,[["0.2","timed out"]]]' ]
	done
}

@test "red1 #1: a task step that calls exit(0) or _exit(0): the job is an error, never ok, every mode" {
	: "${FAULTY_PLUGIN:=$(dirname "$PIPERUN")/tests/plugins/.libs/task-faulty.so}"
	f=$(spec <<EOF
{"jobs":[{"name":"e","items":["[1]","[2, \"exit\"]","[3]"],"steps":[{"name":"t","plugin":"$FAULTY_PLUGIN:faulty"}]},
 {"name":"u","items":["[1]","[2, \"_exit\"]","[3]"],"steps":[{"name":"t","plugin":"$FAULTY_PLUGIN:faulty"}]},
 {"name":"ok","items":["[1]","[3]"],"steps":[{"name":"t","plugin":"$FAULTY_PLUGIN:faulty"}]}]}
EOF
)
	for m in serial thread async; do
		pr run --mode "$m" "$f"
		assert_failure 1
		[ "$(jqo -c '[.jobs[] | .status] | @json')" = '["error","error","ok"]' ]
		[ "$(jqo '.jobs[0].error')" = "steps: a task called exit(); the results are lost" ]
		[ "$(jqo '.jobs[1].error')" = "the steps host ended with exit status 0 but without its counts (did a task call exit()?)" ]
		[ "$(jqo '.jobs[2].items_out')" = 2 ]
	done
}

@test "a task step that closes fds 0-2: the job goes on, its items and children's stderr intact, every mode" {
	# red1 finding 6: async hung until its timeout (epoll lost fd 0),
	# thread failed "items: cannot read: Bad file descriptor"
	f=$(spec <<EOF
{"jobs":[{"name":"c","timeout":60,"items":["1","2","3"],"ordered":true,"steps":[
 {"name":"t","plugin":"$HOSTILE_PLUGIN:closer"},
 {"name":"r","run":["sh","-c","read -r x; echo \"child \$x\" >&2; echo \"\$x\""]}]},
 {"name":"l","timeout":60,"items":{"count":300},"steps":[
 {"name":"t","plugin":"$HOSTILE_PLUGIN:closer","workers":2},
 {"name":"r","coprocess":["cat"]}]}]}
EOF
)
	for m in serial thread async; do
		pr run --mode "$m" "$f"
		assert_success
		[ "$(jqo -c '.jobs[0] | [.status, .error, .stdout, .items_out]')" = '["ok",null,"1\n2\n3\n",3]' ]
		[[ "$(jqo -r '.jobs[0].stderr')" == *"child 3"* ]]
		[ "$(jqo -c '.jobs[1] | [.status, .error, .items_out]')" = '["ok",null,300]' ]
	done
}

@test "a coprocess's last line without a newline is a line: an answer, or a stray line that fails the job" {
	# red1 finding 10: it was thrown away (the item failed "no answer",
	# or the stray line went uncounted and the job was ok)
	f=$(spec <<'EOF'
{"jobs":[
 {"name":"answer","items":{"count":2},"ordered":true,"timeout":30,"steps":[{"name":"c","coprocess":["sh","-c","read a; read b; printf '%s\\n%s' \"$a\" \"$b\""]}]},
 {"name":"stray","items":{"count":2},"ordered":true,"timeout":30,"steps":[{"name":"c","coprocess":["sh","-c","while read l; do printf '%s\\n' \"$l\"; done; printf tail"]}]}]}
EOF
)
	for m in async thread; do
		pr run --mode "$m" "$f"
		assert_failure 1
		[ "$(jqo -c '.jobs[0] | [.status, .error, .stdout, .items_out]')" = '["ok",null,"1\n2\n",2]' ]
		[ "$(jqo -c '.jobs[1] | [.status, .stdout, .steps[0].stray_lines]')" = '["failed","1\n2\n",1]' ]
		[[ "$(jqo -r '.jobs[1].error')" == "step c: the coprocess wrote 1 more line than the items it was given"* ]]
	done
}

@test "a line of input over 16 MiB fails as that item, the others go on; so does a task result over it" {
	# red1 finding 13: such a line ended the whole job ("items: a line
	# of more than 16777216 bytes"), and a task's result had no limit
	x="$BATS_TEST_TMPDIR/long"
	{
		echo first
		head -c $((16777216 + 10)) /dev/zero | tr '\0' x; echo   # newline in the same read
		echo second
		head -c 17000000 /dev/zero | tr '\0' y; echo              # no newline for a long while
		echo third
		head -c $((16777216 + 5)) /dev/zero | tr '\0' z           # at the end, no newline
	} > "$x"
	f=$(spec <<EOF
{"jobs":[{"name":"l","items":{"lines":"$x"},"ordered":true,"timeout":120,"steps":[{"name":"c","coprocess":["cat"]}]},
 {"name":"t","items":["16777217","3","16777214"],"ordered":true,"timeout":120,"steps":[{"name":"b","plugin":"$HOSTILE_PLUGIN:bigjson"},
  {"name":"n","run":["wc","-c"]}]}]}
EOF
)
	for m in async thread; do
		pr run --mode "$m" "$f"
		assert_failure 1
		[ "$(jqo -c '.jobs[0] | [.status, .stdout, .items_in, .items_out, .items_failed]')" = '["failed","first\nsecond\nthird\n",6,3,3]' ]
		[ "$(jqo -c '[.jobs[0].failed_items[] | [.step, .index, .error, (.item | length)]]')" = \
		  '[[null,1,"line 2: longer than 16777216 bytes (an item is at most 16 MiB)",4096],[null,3,"line 4: longer than 16777216 bytes (an item is at most 16 MiB)",4096],[null,5,"line 6: longer than 16777216 bytes (an item is at most 16 MiB)",4096]]' ]
		# a result of 16777219 bytes (quotes too) fails; one of 16 MiB exactly passes
		[ "$(jqo -c '.jobs[1] | [.status, .stdout, [.failed_items[] | [.step, .index, .error]]]')" = \
		  '["failed","6\n16777217\n",[["b",0,"its result is over 16777216 bytes"]]]' ] ||
			{ jqo -c '.jobs[1] | [.stdout, .failed_items]'; false; }
	done
}

@test "a task step whose init() or fini() hangs: bounded by the item timeout, the job ends with every item's result" {
	# red1 finding 7: a hung init() or fini() hung the job for good
	f=$(spec <<EOF
{"jobs":[{"name":"one","items":{"count":40},"timeout":60,"item_timeout":0.5,"env":{"FAULTY_FLAG":"$BATS_TEST_TMPDIR/flag"},"steps":[
  {"name":"t","plugin":"$FAULTY_PLUGIN:inithang","workers":2}]},
 {"name":"all","items":{"count":3},"timeout":60,"item_timeout":0.5,"steps":[
  {"name":"t","plugin":"$FAULTY_PLUGIN:inithang","workers":2}]},
 {"name":"fini","items":{"count":3},"timeout":60,"item_timeout":0.5,"steps":[
  {"name":"t","plugin":"$FAULTY_PLUGIN:finihang","workers":2}]}]}
EOF
)
	for m in thread async; do
		# "one": only the first init() hangs (thread: the other worker
		# runs every item; async has one worker: its items fail)
		rm -f "$BATS_TEST_TMPDIR/flag"
		run --separate-stderr timeout 60 "$PIPERUN" run --mode "$m" -j 1 "$f"
		assert_failure 1
		if [ "$m" = thread ]; then
			[ "$(jqo -c '.jobs[0] | [.status, .items_out, .items_failed]')" = '["ok",40,0]' ]
		else
			[ "$(jqo -c '.jobs[0] | [.status, .items_out, .items_failed]')" = '["failed",0,40]' ]
		fi
		[ "$(jqo -c '.jobs[1] | [.status, .items_out, .items_failed, ([.failed_items[].error] | unique)]')" = \
		  '["failed",0,3,["task '"$FAULTY_PLUGIN"':inithang: init() did not return within 0.5s"]]' ] ||
			{ jqo -c '.jobs[1] | [.status, .error, .failed_items]'; false; }
		[ "$(jqo -c '.jobs[2] | [.status, .items_out]')" = '["ok",3]' ]
		[[ "$(jqo -r '.jobs[2].stderr')" == *"step t: worker "?": the task's fini() did not return within 0.5s; left behind"* ]]
	done
}
