#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Item pipelines: steps jobs (seed 70), in async and thread mode.
load helper

# Every step of job $1 (in $output): received = processed + failed.
# every step: received = processed + failed; the job: every item read is
# out, failed, or (only when the job stopped) cancelled
assert_accounted() {
	[ "$(jqo --arg j "$1" '[.jobs[] | select(.name == $j) | .steps[] | .received == .processed + .failed] | all')" = true ]
	[ "$(jqo --arg j "$1" '.jobs[] | select(.name == $j) | .items_in == .items_out + .items_failed + .items_cancelled')" = true ]
	[ "$(jqo --arg j "$1" '.jobs[] | select(.name == $j) | .stopped != null or .items_cancelled == 0')" = true ]
}

@test "70: 1000 items through 1/1/1 workers, then 2000 through 3/4/5 with queues of 100: every item once" {
	for m in async thread; do
		pr run --mode "$m" "$PIPELINES/assembly.json"
		assert_success
		for j in line-1000:1000 line-2000:2000; do
			n=${j#*:}
			[ "$(jqo --arg j "${j%:*}" '.jobs[] | select(.name == $j) | [.status, .items_in, .items_out, .items_failed] | @json')" = "[\"ok\",$n,$n,0]" ]
			# each item passed each step exactly once, none lost, none twice
			jqo --arg j "${j%:*}" -r '.jobs[] | select(.name == $j) | .stdout' | sed '/^$/d' | sort > "$BATS_TEST_TMPDIR/got"
			seq "$n" | sed 's/.*/got-&-resized/' | sort > "$BATS_TEST_TMPDIR/want"
			cmp "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
			[ "$(jqo --arg j "${j%:*}" '[.jobs[] | select(.name == $j) | .steps[] | [.received, .processed, .failed] == [($n|tonumber), ($n|tonumber), 0]] | all' --arg n "$n")" = true ]
			[ "$(jqo --arg j "${j%:*}" '[.jobs[] | select(.name == $j) | .steps[] | .max_queue_depth <= 100] | all')" = true ]
		done
		[ "$(jqo '.jobs[1].steps | map([.name, .kind, .workers]) | @json')" = '[["download","coprocess",3],["resize","coprocess",4],["upload","task",5]]' ]
		[ "$(jqo '.jobs[1].steps_mode')" = "$m" ]
		[ "$(jqo '[.jobs[1].steps[] | has("busy_ms") and has("idle_ms") and has("restarts")] | all')" = true ]
	done
}

@test "70 with a process per item: run steps get the item as {} and on stdin" {
	for m in async thread; do
		pr run --mode "$m" "$PIPELINES/assembly-run.json"
		assert_success
		[ "$(jqo '.jobs[0] | [.items_in, .items_out] | @json')" = '[60,60]' ]
		[ "$(jqo '.jobs[0].stdout' | sed '/^$/d' | sort | md5sum)" = "$(seq 60 | sed 's/.*/got-&-resized/' | sort | md5sum)" ]
		assert_accounted assembly
	done
}

@test "run steps: {#}, stdin null, exit status and multi-line output fail just that item" {
	f=$(spec <<'EOF'
{"jobs":[{"name":"s","items":["a","b","bad","two","c"],"ordered":true,"steps":[
  {"name":"first","run":["sh","-c","read -r l; case $l in bad) exit 3;; two) printf 'x\\ny\\n';; *) echo \"$l:$1\";; esac","sh","{#}"]},
  {"name":"second","run":["echo","[{}]"],"stdin":null}]}]}
EOF
)
	for m in async thread; do
		pr run --mode "$m" "$f"
		assert_failure 1
		[ "$(jqo '.jobs[0].stdout')" = "$(printf '[a:1]\n[b:2]\n[c:5]')" ]
		[ "$(jqo '.jobs[0] | [.status, .returncode, .items_in, .items_out, .items_failed] | @json')" = '["failed",1,5,3,2]' ]
		[ "$(jqo '.jobs[0].failed_items | sort_by(.index) | map([.step, .index, .item, .returncode, .error]) | @json')" = \
		  '[["first",2,"bad",3,"exit status 3"],["first",3,"two",0,"its output is more than one line (an item is one line)"]]' ]
		[ "$(jqo '.jobs[0].error')" = '2 of 5 items failed (first: step first, item "bad": exit status 3)' ] ||
		[ "$(jqo '.jobs[0].error')" = '2 of 5 items failed (first: step first, item "two": its output is more than one line (an item is one line))' ]
		assert_accounted s
	done
}

@test "ordered: true gives input order; the default is completion order, same items" {
	f=$(spec <<'EOF'
{"jobs":[
 {"name":"o","items":{"count":40},"ordered":true,"queue":4,"steps":[
  {"name":"jitter","workers":8,"run":["sh","-c","sleep 0.0$(( $1 % 4 * 3 )); echo $1","sh","{}"],"stdin":null}]},
 {"name":"u","items":{"count":40},"queue":4,"steps":[
  {"name":"jitter","workers":8,"run":["sh","-c","sleep 0.0$(( $1 % 4 * 3 )); echo $1","sh","{}"],"stdin":null}]}]}
EOF
)
	for m in async thread; do
		pr run --mode "$m" "$f"
		assert_success
		[ "$(jqo '.jobs[0].stdout')" = "$(seq 40)" ]
		[ "$(jqo '.jobs[1].stdout' | sed '/^$/d' | sort -n)" = "$(seq 40)" ]
		[ "$(jqo '.jobs[1].stdout')" != "$(seq 40)" ]
	done
}

@test "70c: a coprocess that crashes on one item: only that item fails, the worker restarts" {
	for m in async thread; do
		pr run --mode "$m" "$PIPELINES/assembly-crash.json"
		assert_failure 1
		[ "$(jqo '.jobs[0] | [.status, .items_in, .items_out, .items_failed] | @json')" = '["failed",200,199,1]' ]
		[ "$(jqo '.jobs[0].failed_items | map([.step, .item, .signal, .returncode, .error]) | @json')" = \
		  '[["filter","13","SIGSEGV",-11,"the coprocess ended (killed by SIGSEGV)"]]' ]
		[ "$(jqo '.jobs[0].steps[0].restarts')" -ge 1 ]
		[ "$(jqo '.jobs[0].stdout' | sed '/^$/d' | sort | md5sum)" = "$(seq 200 | grep -vx 13 | sed 's/^/ok-/' | sort | md5sum)" ]
		assert_accounted crashy
	done
}

@test "coprocess pty: a stdio-buffered filter answers line by line; over pipes it times out" {
	f=$(spec <<'EOF'
{"jobs":[
 {"name":"tty","items":["1","2","3"],"ordered":true,"item_timeout":5,"steps":[
  {"name":"sed","coprocess":["sed","s/^/tty-/"],"pty":true},
  {"name":"isatty","coprocess":["sh","-c","while read -r l; do if [ -t 0 ]; then echo \"$l yes\"; else echo \"$l no\"; fi; done"],"pty":true}]},
 {"name":"pipes","items":["1","2","3"],"steps":[
  {"name":"hold","coprocess":["sh","-c","while read -r l; do [ \"$l\" = 3 ] && sleep 1; echo \"$l\"; done"]},
  {"name":"sed","coprocess":["sed","s/^/x/"],"item_timeout":0.3}]}]}
EOF
)
	for m in async thread; do
		pr run --mode "$m" "$f"
		assert_failure 1
		[ "$(jqo '.jobs[0] | [.status, .stdout] | @json')" = '["ok","tty-1 yes\ntty-2 yes\ntty-3 yes\n"]' ]
		# over pipes sed answers only when its input ends: 1 and 2 time
		# out while 3 is held upstream; 3 comes with the end of input
		[ "$(jqo '.jobs[1] | [.status, .items_out, .items_failed, .stdout] | @json')" = '["failed",1,2,"x3\n"]' ]
		[ "$(jqo '[.jobs[1].failed_items[] | .error] | unique | @json')" = '["timed out after 0.3s"]' ]
		assert_accounted pipes
	done
}

@test "a coprocess that buffers its answers (awk) is said once, in the job's record and stderr; sed -u and a slow answerer are not" {
	# the input stays open (item 4 held upstream): awk's answers wait
	f=$(spec <<'EOF'
{"jobs":[
 {"name":"awk","items":["1","2","3","4"],"timeout":1.5,"steps":[
  {"name":"hold","coprocess":["sh","-c","while read -r l; do [ \"$l\" = 4 ] && sleep 5; echo \"$l\"; done"],"stall_warning":0},
  {"name":"buffered","workers":2,"coprocess":["awk","{print}"],"stall_warning":0.3}]},
 {"name":"sed","items":["1","2","3"],"steps":[
  {"name":"unbuffered","coprocess":["sed","-u","s/^/x/"],"stall_warning":0.3}]},
 {"name":"slow","items":["1","2","3","4","5","6","7","8"],"steps":[
  {"name":"slow","coprocess":["sh","-c","while read -r l; do sleep 0.2; echo $l; done"],"stall_warning":1}]},
 {"name":"off","items":["1","2"],"timeout":1,"steps":[
  {"name":"hold","coprocess":["sh","-c","while read -r l; do [ \"$l\" = 2 ] && sleep 5; echo \"$l\"; done"],"stall_warning":0},
  {"name":"buffered","coprocess":["awk","{print}"],"stall_warning":0}]}]}
EOF
)
	for m in async thread; do
		pr run --mode "$m" "$f"
		assert_failure 1
		# one warning for the step (two workers stalled), pointing to the remedies.
		# The timeout's TERM ends hold, which ends awk's input: awk's
		# stdin is then closed (it flushes) unless the TERM reached awk
		# first, so its answers (three at most) may come out at the stop
		[ "$(jqo '.jobs[0].status')" = timeout ]
		[[ "$(jqo '.jobs[0].items_out')" =~ ^[0-3]$ ]]
		[ "$(jqo '.jobs[0].warnings | map([.step, .kind, (.index | type)]) | @json')" = '[["buffered","stall","number"]]' ]
		msg=$(jqo '.jobs[0].warnings[0].message')
		[[ $msg == *"has had an item for 0.3s without an answer"* ]]
		for hint in '"pty": true' 'sed -u' 'python3 -u' 'stdbuf -oL' 'fflush()'; do
			[[ $msg == *"$hint"* ]]
		done
		# the same line in the job's stderr, once; piperun's own stderr stays clean
		[ "$(jqo '.jobs[0].stderr')" = "piperun: step buffered: $msg" ]
		[[ $stderr != *"without an answer"* ]]
		# a line-buffered filter, a slow one that answers, a disabled warning: nothing
		[ "$(jqo '.jobs[1:] | map([.name, .status, .warnings, .stderr]) | @json')" = \
		  '[["sed","ok",[],""],["slow","ok",[],""],["off","timeout",[],""]]' ]
	done
}

@test "stall_warning: a duration, coprocess steps only, shown by plan (default 5s, 0 = never)" {
	f=$(spec <<'EOF'
{"jobs":[{"name":"x","items":["a"],"steps":[
  {"name":"a","coprocess":["cat"],"stall_warning":"soon"},
  {"name":"b","run":["cat"],"stall_warning":1},
  {"name":"c","coprocess":["cat"],"stall_warning":-1}]}]}
EOF
)
	pr validate "$f"
	assert_failure 2
	for want in \
		'jobs\[0\]\.steps\[0\]\.stall_warning: expected a duration like "1\.5s", got "soon"' \
		'jobs\[0\]\.steps\[1\]\.stall_warning: "stall_warning" belongs to coprocess steps' \
		'jobs\[0\]\.steps\[2\]\.stall_warning: expected a duration like "1\.5s", got -1'; do
		grep -E "^piperun: .*: $want" <<<"$stderr"
	done
	f=$(spec <<'EOF'
{"jobs":[{"name":"x","items":["a"],"steps":[
  {"name":"a","coprocess":["cat"]},
  {"name":"b","coprocess":["cat"],"stall_warning":"250ms"},
  {"name":"c","coprocess":["cat"],"stall_warning":0}]}]}
EOF
)
	pr plan "$f"
	assert_success
	[ "$(jqo '.jobs[0].steps | map(.stall_warning) | @json')" = '[5,0.25,null]' ]
}

@test "back-pressure: 1,000,000 items from stdin, a slow last step: memory and queues stay bounded" {
	asan_small_quarantine
	seq 1000000 > "$BATS_TEST_TMPDIR/items"
	run --separate-stderr "$PIPERUN" run "$PIPELINES/assembly-backpressure.json" < "$BATS_TEST_TMPDIR/items"
	assert_success
	[ "$(jqo '.jobs[0] | [.items_in, .items_out] | @json')" = '[1000000,1000000]' ]
	# the first step never runs more than its queue ahead of the slow one
	[ "$(jqo '[.jobs[0].steps[] | .max_queue_depth <= .queue] | all')" = true ]
	[ "$(jqo '.jobs[0].steps[1].max_queue_depth')" -eq 100 ]
	# runner and steps host: under 32 MB each
	small() { seq 100 | "$PIPERUN" run "$PIPELINES/assembly-backpressure.json"; }
	[ "$(jqo '.runner.peak_rss_kb')" -lt "$(RSS_JQ=.runner.peak_rss_kb rss_budget_kb small)" ]
	[ "$(jqo '.jobs[0].stages[0].maxrss_kb')" -lt "$(RSS_JQ=.jobs[0].stages[0].maxrss_kb rss_budget_kb small)" ]
}

@test "back-pressure in thread mode, from a pipe: the same bounds" {
	asan_small_quarantine
	# the seed spec with a 4x slower last step, so that even under TSan
	# (every memory access instrumented) the fast step's wait dominates
	f=$BATS_TEST_TMPDIR/bp.json
	jq '.jobs[0].steps[1].args = [6000, 5999]' "$PIPELINES/assembly-backpressure.json" > "$f"
	run --separate-stderr bash -c 'seq 100000 | "$1" run --mode thread "$2"' _ "$PIPERUN" "$f"
	assert_success
	[ "$(jqo '.jobs[0] | [.items_in, .items_out] | @json')" = '[100000,100000]' ]
	[ "$(jqo '[.jobs[0].steps[] | .max_queue_depth <= .queue] | all')" = true ]
	# the fast step's threads spend their time waiting for room, not working
	[ "$(jqo '.jobs[0].steps[0] | .blocked_ms > 10 * .busy_ms')" = true ]
	small() { seq 100 | "$PIPERUN" run --mode thread "$f"; }
	[ "$(jqo '.jobs[0].stages[0].maxrss_kb')" -lt "$(RSS_JQ=.jobs[0].stages[0].maxrss_kb rss_budget_kb small)" ]
}

@test "an endless input is read lazily: bounded memory until the job's timeout ends it" {
	f=$(spec <<'EOF'
{"jobs":[{"name":"endless","items":{"lines":"-"},"timeout":1,"stdout":"null","steps":[
  {"name":"slow","task":"sleep","args":[0.001],"workers":2}]}]}
EOF
)
	for m in async thread; do
		run --separate-stderr bash -c 'yes 123456789 | "$1" run --mode "$2" "$3"' _ "$PIPERUN" "$m" "$f"
		assert_failure 1
		[ "$(jqo '.jobs[0] | [.status, .stopped] | @json')" = '["timeout","SIGTERM"]' ]
		[ "$(jqo '.jobs[0].items_in')" -lt 20000 ]
		[ "$(jqo '.jobs[0].stages[0].maxrss_kb')" -lt 32768 ]
		assert_accounted endless
	done
}

@test "on_error stop: the first failure stops the job, counts still add up" {
	f=$(spec <<'EOF'
{"jobs":[{"name":"stop","items":{"count":100000},"on_error":"stop","queue":10,"steps":[
  {"name":"check","coprocess":["sh","-c","while read -r x; do [ \"$x\" = 50 ] && exit 7; echo $x; done"]},
  {"name":"pass","task":"gcd","args":[4,6]}]}]}
EOF
)
	for m in async thread; do
		pr run --mode "$m" "$f"
		assert_failure 1
		[ "$(jqo '.jobs[0] | [.status, .stopped] | @json')" = '["failed","on_error"]' ]
		[[ "$(jqo '.jobs[0].error')" == "stopped (on_error: stop): "* ]]
		[ "$(jqo '.jobs[0].items_out')" -lt 100 ]
		[ "$(jqo '.jobs[0].items_in')" -lt 1000 ]
		[ "$(jqo '.jobs[0].failed_items[0] | [.item, .returncode] | @json')" = '["50",7]' ]
		assert_accounted stop
	done
}

@test "a stop reaches busy task steps: async never holds off the job's signal, thread interrupts a long sleep" {
	# async: a hundred million items of in-process work; the timeout's
	# TERM is seen between batches, so the record still has every count
	f=$(spec <<'EOF'
{"jobs":[{"name":"busy","items":{"count":100000000},"timeout":0.5,"stdout":"null","steps":[
  {"name":"a","task":"gcd","args":[12,18]},{"name":"b","task":"gcd","args":[4,6]}]}]}
EOF
)
	pr run --mode async "$f"
	assert_failure 1
	[ "$(jqo '.jobs[0] | [.status, .stopped, (.steps | length)] | @json')" = '["timeout","SIGTERM",2]' ]
	[ "$(jqo '.jobs[0].items_in')" -gt 0 ]
	assert_accounted busy
	# thread: one item fails at once, on_error stops the job; the
	# workers asleep for a minute give up instead of holding the host
	f=$(spec <<'EOF'
{"jobs":[{"name":"nap","items":["60","bad","60"],"on_error":"stop","timeout":30,"steps":[
  {"name":"sleep","task":"sleep","workers":3}]}]}
EOF
)
	pr run --mode thread "$f"
	assert_failure 1
	[ "$(jqo '.jobs[0] | [.status, .stopped, .items_out] | @json')" = '["failed","on_error",0]' ]
	[ "$(jqo '.jobs[0].failed_items[0] | [.item, .error] | @json')" = '["bad","not arguments for sleep: expected numbers or a JSON array, got \"bad\""]' ]
	# the sleepers: cancelled in their workers' hands, or still queued
	[ "$(jqo '[.jobs[0].failed_items[1:][] | .error == "cancelled: the job stopped"] | all')" = true ]
	assert_accounted nap
}

@test "a job timeout ends every step's children; records are complete" {
	m=$(marker)
	f=$(spec <<EOF
{"jobs":[{"name":"t","items":{"count":1000},"timeout":0.8,"steps":[
  {"name":"a","workers":2,"run":["sh","-c","sleep 30; : $m"]},
  {"name":"b","coprocess":["sh","-c","while read -r l; do echo \$l; done; sleep 30 # $m"]}]}]}
EOF
)
	for mode in async thread; do
		pr run --mode "$mode" "$f"
		assert_failure 1
		[ "$(jqo '.jobs[0] | [.status, .stopped] | @json')" = '["timeout","SIGTERM"]' ]
		assert_accounted t
		gone "$m"
	done
}

@test "item_timeout: one slow item fails (TERM, then KILL), the others pass" {
	f=$(spec <<'EOF'
{"jobs":[{"name":"it","items":["0","5","0"],"kill_after":0.2,"steps":[
  {"name":"nap","workers":3,"item_timeout":0.3,"run":["sh","-c","trap '' TERM; sleep $1; echo done-$1","sh","{}"],"stdin":null}]}]}
EOF
)
	for m in async thread; do
		pr run --mode "$m" "$f"
		assert_failure 1
		[ "$(jqo '.jobs[0].stdout')" = "$(printf 'done-0\ndone-0')" ]
		[ "$(jqo '.jobs[0].failed_items | map([.item, .signal, .error]) | @json')" = '[["5","SIGKILL","timed out after 0.3s"]]' ]
		[ "$(jqo '.jobs[0].duration_ms < 3000')" = true ]
	done
}

@test "item_timeout reaches a stopped step child: SIGCONT follows the signal, no KILL needed" {
	f=$(spec <<'EOF'
{"jobs":[{"name":"st","items":["x","y"],"kill_after":5,"steps":[
  {"name":"nap","workers":2,"item_timeout":1,"stdin":null,
   "run":["sh","-c","trap 'exit 7' TERM; kill -STOP $$"]}]}]}
EOF
)
	for m in async thread; do
		pr run --mode "$m" "$f"
		assert_failure 1
		[ "$(jqo '.jobs[0].failed_items | sort_by(.item) | map([.item, .signal, .returncode]) | @json')" = \
		  '[["x",null,7],["y",null,7]]' ]
	done
}

@test "task steps: the item as the task's arguments, or fixed args with the item passed on" {
	f=$(spec <<'EOF'
{"jobs":[{"name":"t","items":["12 18","[100, 75]","oops","9 6"],"ordered":true,"steps":[
  {"name":"gcd","task":"gcd","workers":2},
  {"name":"factors","task":"factorize"},
  {"name":"pause","task":"sleep","args":[0.001],"workers":3}]}]}
EOF
)
	for m in async thread; do
		pr run --mode "$m" "$f"
		assert_failure 1
		# a JSON result goes on compact (one line, as RFC 8259 allows no other)
		[ "$(jqo '.jobs[0].stdout')" = "$(printf '[1,2,3,6]\n[1,5,25]\n[1,3]')" ]
		[ "$(jqo '.jobs[0].failed_items | map([.step, .item, .error]) | @json')" = \
		  '[["gcd","oops","not arguments for gcd: expected numbers or a JSON array, got \"oops\""]]' ]
	done
}

@test "a plugin task as a step" {
	f=$(spec <<EOF
{"jobs":[{"name":"p","items":["27","1"],"ordered":true,"steps":[
  {"name":"collatz","plugin":"$EXAMPLE_PLUGIN:collatz","workers":2}]}]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(jqo '.jobs[0].stdout')" = "$(printf '111\n0')" ]
}

@test "a plugin timer that refuses an item: its text goes back to the task's free_result" {
	f=$(spec <<EOF
{"jobs":[{"name":"p","items":["1","2"],"steps":[{"name":"w","plugin":"$CRASHY_PLUGIN:badwait"}]}]}
EOF
)
	for m in async thread; do
		pr run --mode "$m" "$f"
		assert_failure 1
		[ "$(jqo '.jobs[0] | [.signal, .stderr] | @json')" = '[null,""]' ]
		[ "$(jqo '.jobs[0].failed_items | map([.step, .error]) | @json')" = '[["w","no waiting here"],["w","no waiting here"]]' ]
	done
}

@test "items from a file, from stdin (-), from another job; a missing file is the job's error" {
	printf 'a\nb\n\nc' > "$BATS_TEST_TMPDIR/lines"
	f=$(spec <<EOF
{"jobs":[
 {"name":"file","items":{"lines":"$BATS_TEST_TMPDIR/lines"},"ordered":true,"steps":[{"run":["echo","<{}>"],"stdin":null}]},
 {"name":"gen","run":["seq","3"]},
 {"name":"from","items":{"from":"gen"},"ordered":true,"steps":[{"coprocess":["cat"]}]},
 {"name":"stdin","items":{"lines":"-"},"ordered":true,"steps":[{"coprocess":["cat"]}]},
 {"name":"missing","items":{"lines":"$BATS_TEST_TMPDIR/nope"},"steps":[{"coprocess":["cat"]}]}]}
EOF
)
	run --separate-stderr "$PIPERUN" run "$f" <<<"x y"
	assert_failure 1
	[ "$(jqo '.jobs[0].stdout')" = "$(printf '<a>\n<b>\n<>\n<c>')" ]
	[ "$(jqo '.jobs[2].stdout')" = "$(seq 3)" ]
	[ "$(jqo '.jobs[3].stdout')" = "x y" ]
	[ "$(jqo '.jobs[4] | [.status, .error] | @json')" = "[\"error\",\"items file $BATS_TEST_TMPDIR/nope: No such file or directory\"]" ]
}

@test "a line of input holding a NUL fails as that item (line N), the others run; no step output holds one" {
	printf 'a\nb\000c\nd\n' > "$BATS_TEST_TMPDIR/lines"
	f=$(spec <<EOF
{"jobs":[
 {"name":"file","items":{"lines":"$BATS_TEST_TMPDIR/lines"},"ordered":true,"steps":[{"name":"echo","run":["echo","<{}>"],"stdin":null}]},
 {"name":"gen","run":["cat","$BATS_TEST_TMPDIR/lines"]},
 {"name":"from","items":{"from":"gen"},"ordered":true,"steps":[{"name":"cat","coprocess":["cat"]}]},
 {"name":"stdin","items":{"lines":"-"},"ordered":true,"steps":[{"name":"cat","coprocess":["cat"]}]},
 {"name":"task","items":["[27, \"peak\\\\u0000x\"]","[27, \"a\\\\\\\\u0000\"]"],"ordered":true,"steps":[
   {"name":"collatz","plugin":"$EXAMPLE_PLUGIN:collatz"}]}]}
EOF
)
	g=$(spec made.json <<'EOF'
{"jobs":[{"name":"made","items":["1","2","3"],"ordered":true,"steps":[
  {"name":"run","run":["sh","-c","if [ $1 = 2 ]; then printf 'x\\0y\\n'; else echo $1; fi","sh","{}"],"stdin":null},
  {"name":"co","coprocess":["sh","-c","while read -r l; do if [ $l = 3 ]; then printf 'z\\0\\n'; else echo $l; fi; done"]}]}]}
EOF
)
	for m in async thread; do
		run --separate-stderr "$PIPERUN" run --mode "$m" "$f" < "$BATS_TEST_TMPDIR/lines"
		assert_failure 1
		for j in file from stdin; do
			[ "$(jqo --arg j "$j" '.jobs[] | select(.name == $j) | [.status, .items_in, .items_out, .items_failed] | @json')" = '["failed",3,2,1]' ]
			[ "$(jqo --arg j "$j" '.jobs[] | select(.name == $j) | .failed_items | map([.step, .index, .item == "b\ufffdc", .error]) | @json')" = \
			  '[[null,1,true,"line 2: a NUL byte (an item is a line of text)"]]' ]
			[ "$(jqo --arg j "$j" '.jobs[] | select(.name == $j) | .error == "1 of 3 items failed (first: item \"b\ufffdc\": line 2: a NUL byte (an item is a line of text))"')" = true ]
			assert_accounted "$j"
		done
		[ "$(jqo '.jobs[0].stdout')" = "$(printf '<a>\n<d>')" ]
		[ "$(jqo '.jobs[2].stdout')" = "$(printf 'a\nd')" ]
		[ "$(jqo '.jobs[3].stdout')" = "$(printf 'a\nd')" ]
		# \u0000 in a task item's JSON string fails it; an escaped backslash does not
		[ "$(jqo '.jobs[4] | [.stdout, (.failed_items | map([.index, .error]))] | @json')" = \
		  '["111\n",[[0,"not arguments for '"$EXAMPLE_PLUGIN"':collatz: a NUL byte (\\u0000) in a string"]]]' ]
		pr run --mode "$m" "$g"
		assert_failure 1
		[ "$(jqo '.jobs[0].stdout')" = 1 ]
		[ "$(jqo '.jobs[0].failed_items | map([.step, .index, .item, .error]) | @json')" = \
		  '[["run",1,"2","its output holds a NUL byte (an item is a line of text)"],["co",2,"3","its answer holds a NUL byte (an item is a line of text)"]]' ]
		assert_accounted made
	done
}

@test "async and thread modes give the same items and counts" {
	f=$(spec <<'EOF'
{"jobs":[{"name":"same","items":{"count":300},"steps":[
  {"name":"a","workers":3,"coprocess":["sed","-u","s/$/a/"]},
  {"name":"b","workers":2,"run":["sh","-c","read -r l; [ \"$l\" = 77a ] && exit 1; echo ${l}b"]},
  {"name":"c","workers":4,"task":"sleep","args":[0]}]}]}
EOF
)
	pr run --mode async "$f"
	a_out=$(jqo '.jobs[0].stdout' | sort)
	a_counts=$(jqo '[.jobs[0].steps[] | [.received, .processed, .failed]] | @json')
	pr run --mode thread "$f"
	[ "$(jqo '.jobs[0].stdout' | sort)" = "$a_out" ]
	[ "$(jqo '[.jobs[0].steps[] | [.received, .processed, .failed]] | @json')" = "$a_counts" ]
	[ "$a_counts" = '[[300,300,0],[300,299,1],[299,299,0]]' ]
}

@test "step children see exactly fds 0-2" {
	f=$(spec <<EOF
{"jobs":[{"name":"fds","items":["x"],"steps":[
  {"name":"run","run":["$PROBE","fds"],"stdin":null},
  {"name":"co","coprocess":["sh","-c","read -r l; $PROBE fds"]}]}]}
EOF
)
	for m in async thread; do
		pr run --mode "$m" "$f"
		assert_success
		[ "$(jqo '.jobs[0].stdout')" = "0 1 2" ]
	done
}

@test "steps jobs: validation names every mistake with its path" {
	f=$(spec <<'EOF'
{"jobs":[{"name":"x","items":{"count":-1},"queue":0,"on_error":"boom","stdin":{"text":"a"},
 "steps":[{"name":"a","run":[]},{"name":"a","task":"nope","workers":0},{"coprocess":["cat"],"args":[1],"window":0},{"run":["x"],"task":"gcd"}]},
 {"name":"y","run":["true"],"queue":3}]}
EOF
)
	pr validate "$f"
	assert_failure 2
	for want in \
		'jobs\[0\]\.steps\[0\]\.run: expected a non-empty argv array of strings' \
		'jobs\[0\]\.steps\[1\]\.workers: expected an integer from 1 to 1024, got 0' \
		'jobs\[0\]\.steps\[1\]\.task: expected gcd, factorize or sleep' \
		'jobs\[0\]\.steps\[1\]: a step named "a" comes earlier' \
		'jobs\[0\]\.steps\[2\]\.args: "args" belongs to task steps' \
		'jobs\[0\]\.steps\[2\]\.window: expected an integer from 1 to 4096, got 0' \
		'jobs\[0\]\.steps\[3\]: expected exactly one of run, coprocess, task, plugin' \
		'jobs\[0\]\.items\.count: expected an integer' \
		'jobs\[0\]\.queue: expected an integer from 1 to 1000000, got 0' \
		'jobs\[0\]\.on_error: expected "drop" \(the default\) or "stop", got "boom"' \
		'jobs\[0\]\.stdin: a steps job reads its items from "items"' \
		'jobs\[1\]\.queue: "queue" belongs to steps jobs'; do
		grep -E "^piperun: .*: $want" <<<"$stderr"
	done
}

@test "a step's program that is not on PATH fails the job before anything starts (127)" {
	f=$(spec <<'EOF'
{"jobs":[{"name":"np","items":["a"],"steps":[{"name":"co","coprocess":["no-such-program-xyz"]}]}]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '.jobs[0] | [.status, .returncode, .error] | @json')" = '["error",127,"step co: no-such-program-xyz: not found"]' ]
}

@test "plan shows a steps job resolved: items, queues, each step's program" {
	pr plan "$PIPELINES/assembly.json"
	assert_success
	[ "$(jqo '.jobs[1].items | @json')" = '{"kind":"count","count":2000}' ]
	[ "$(jqo '.jobs[1].steps | map([.name, .kind, .workers, .queue]) | @json')" = \
	  '[["download","coprocess",3,100],["resize","coprocess",4,100],["upload","task",5,100]]' ]
	[ "$(jqo '.jobs[1].steps[0].path')" = "$(command -v sed)" ]
	[ "$(jqo '.jobs[1].steps[0].window')" = 16 ]
}

@test "--progress shows each step's count and queue depth" {
	pr run --progress always --mode thread "$PIPELINES/assembly.json"
	assert_success
	grep -E 'download [0-9]+ q[0-9]+ \| resize [0-9]+ q[0-9]+ \| upload [0-9]+ q[0-9]+' <<<"$stderr"
}

@test "an item of exactly 16 MiB, the item limit, goes through run and coprocess steps whole; an output one byte longer fails its item" {
	local d=$BATS_TEST_TMPDIR
	head -c 16777216 /dev/zero | tr '\0' a > "$d/big"
	echo >> "$d/big"
	f=$(spec <<EOF
{"jobs": [
 {"name": "r", "items": {"lines": "$d/big"}, "steps": [{"run": ["cat"]}], "stdout": {"file": "$d/r.out"}},
 {"name": "c", "items": {"lines": "$d/big"}, "steps": [{"coprocess": ["cat"]}], "stdout": {"file": "$d/c.out"}},
 {"name": "over", "items": {"count": 1}, "steps": [{"run": ["sh", "-c", "head -c 16777217 /dev/zero | tr '\\\\0' a"], "stdin": null}]}
]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo -c '[.jobs[] | [.name, .status, .items_out, .items_failed]]')" = '[["r","ok",1,0],["c","ok",1,0],["over","failed",0,1]]' ]
	cmp "$d/big" "$d/r.out"
	cmp "$d/big" "$d/c.out"
	[ "$(jqo -r '.jobs[2].failed_items[0].error')" = "its output is over 16777216 bytes" ]
}

@test "items.from a pool job is refused: its stdout is a JSON document, not lines of items" {
	# red1 finding 14: the document's lines became items, no warning
	f=$(spec <<'EOF'
{"jobs":[{"name":"p","pool":{"task":"gcd","items":[[4,6]]}},
 {"name":"s","items":{"from":"p"},"steps":[{"name":"c","coprocess":["cat"]}]},
 {"name":"r","stdin":{"from":"p"},"run":["cat"]}]}
EOF
)
	pr validate "$f"
	assert_failure 2
	[[ "$stderr" == *'jobs[1].items.from: job "p" is a pool job: its stdout is the pool'"'"'s JSON document, not lines of items'* ]]
	# stdin.from a pool job (a run job reading the document) stays fine
	[[ "$stderr" != *"jobs[2]"* ]]
}

@test "under a hard fd limit, run and coprocess steps get the workers the limit allows, said in warnings; every item ok" {
	# red1 finding 14: async failed most items with EMFILE, thread failed
	# the job ("steps: epoll: Too many open files")
	f=$(spec <<'EOF'
{"jobs":[{"name":"w","items":{"count":400},"timeout":120,"steps":[
 {"name":"r","workers":300,"run":["sh","-c","echo $1","sh","{}"],"stdin":null},
 {"name":"c","workers":300,"coprocess":["cat"]},
 {"name":"t","workers":300,"task":"gcd","args":[4,6]}]}]}
EOF
)
	for m in async thread; do
		run --separate-stderr bash -c 'ulimit -n 64 && exec "$@"' sh "$PIPERUN" run --mode "$m" "$f"
		assert_success
		[ "$(jqo -c '.jobs[0] | [.status, .items_out, .items_failed]')" = '["ok",400,0]' ]
		[ "$(jqo -c '.jobs[0] | [.warnings[] | [.step, .kind]]')" = '[["r","fd_limit"],["c","fd_limit"]]' ]
		[ "$(jqo -c '.jobs[0].steps | [.[0].workers < 300, .[1].workers < 300, .[2].workers]')" = '[true,true,300]' ]
		[[ "$(jqo -r '.jobs[0].warnings[0].message')" == "300 workers asked for, "*" run: the fd limit (64) does not allow more"* ]]
		[[ "$(jqo -r '.jobs[0].stderr')" == *"piperun: step r: 300 workers asked for"* ]]
	done
}
