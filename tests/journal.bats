#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The journal (--journal, "journal" in the spec), --resume, plan --resume
# and `piperun journal` (issue 17): what is written, what a resume runs
# and what it restores, bad journals, and the SIGKILL fault test.
load helper

setup() {
	D="$BATS_TEST_TMPDIR"
	J="$D/j.jsonl"
	mkdir -p "$D/m"
}

# The number of times job $1 ran (one marker line per execution).
runs() {
	local l=()
	[ ! -e "$D/m/$1" ] || mapfile -t l < "$D/m/$1"
	echo "${#l[@]}"
}

# "NAME N" for each name $@: runs of each, with no process per name (the
# fault trials count hundreds of jobs each).
runs_each() {
	local j l
	for j in "$@"; do
		l=()
		[ ! -e "$D/m/$j" ] || mapfile -t l < "$D/m/$j"
		echo "$j ${#l[@]}"
	done
}

# A job of name $1 that marks each execution, then runs the shell $2.
mjob() {
	printf '{"name": "%s", "run": ["sh", "-c", "echo x >> \\"$0\\"; %s", "%s/m/%s"]}' \
		"$1" "$2" "$D" "$1"
}

# A spec: a passes, b fails until $D/fix exists, c after b, d after a,
# w: foreach (two copies), r: repeat (two copies).
small_spec() {
	spec <<EOF
{"name": "small", "jobs": [
 $(mjob a 'echo A'),
 $(mjob b 'test -e '"$D"'/fix'),
 $(mjob c 'echo C' | sed 's/}$/, "after": ["b"]}/'),
 $(mjob d 'echo D' | sed 's/}$/, "after": ["a"]}/'),
 {"name": "w", "run": ["sh", "-c", "echo x >> \"\$0\"-{}", "$D/m/w"], "foreach": ["x", "y"]},
 {"name": "r", "run": ["sh", "-c", "echo x >> \"\$0\"-{#}", "$D/m/r"], "repeat": 2}
]}
EOF
}

@test "--journal: a header, then one line per job with its results record and identity" {
	f=$(small_spec)
	pr run "$f" --journal "$J" --results "$D/r.json"
	assert_failure 1
	[ "$(wc -l < "$J")" -eq 9 ]
	run jq -r 'select(.journal) | [.journal, .format, .spec, (.jobs | length), (.key | length)] | @tsv' "$J"
	[ "$output" = "piperun	2	$f	8	64" ]
	# each job line's record is the results document's record
	diff <(jq -S -c 'select(.job) | .job' "$J" | sort) <(jq -S -c '.jobs[]' "$D/r.json" | sort)
	# identities: 64 hex digits, one per job, as in the header
	diff <(jq -r 'select(.job) | .identity' "$J" | sort) \
	     <(jq -r 'select(.journal) | .jobs[].identity' "$J" | sort)
	[ "$(jq -r 'select(.job) | .identity' "$J" | grep -c '^[0-9a-f]\{64\}$')" -eq 8 ]
	[ "$(stat -c %a "$J")" = 600 ]
}

@test "--journal: a line per attempt (retries), in every mode; --resume in every mode" {
	f=$(spec <<<'{"jobs": [{"name": "t", "retries": 2, "retry_delay": 0, "run": ["sh", "-c", "echo try; exit 1"]}]}')
	for m in async thread serial; do
		rm -f "$J"
		pr run -q "$f" --mode "$m" --journal "$J"
		assert_failure 1
		[ "$(jq -r 'select(.job) | "\(.job.status) \(.job.attempts)"' "$J" | tr '\n' ,)" = \
		  "failed 1,failed 2,failed 3," ]
		pr journal "$J"
		[ "$(jqo '.jobs[0].attempt_history | length')" -eq 3 ]
	done
	g=$(small_spec)
	for m in async thread serial; do
		rm -rf "$J" "$D/m" "$D/fix"
		mkdir "$D/m"
		pr run -q "$g" --mode "$m" --journal "$J"
		touch "$D/fix"
		pr run "$g" --mode "$m" --resume "$J"
		assert_success
		[ "$(jqo '[.jobs[] | select(.resumed)] | length')" -eq 6 ]
		[ "$(runs a) $(runs b) $(runs c)" = "1 2 1" ]
	done
}

@test "\"journal\" in the spec journals like --journal; a bad value is a spec error" {
	f=$(spec <<EOF
{"journal": "$J", "jobs": [{"name": "a", "run": ["true"]}]}
EOF
)
	pr run -q "$f"
	assert_success
	[ "$(jq -r 'select(.job) | .job.name' "$J")" = a ]
	pr plan "$f"
	[ "$(jqo .journal)" = "$J" ]
	f=$(spec <<<'{"journal": 3, "jobs": [{"run": ["true"]}]}')
	pr run -q "$f"
	[ "$status" -eq 2 ]
	[[ $stderr == *"journal: expected a file name (a non-empty string), got"* ]]
	f=$(spec <<<'{"journal": "", "jobs": [{"run": ["true"]}]}')
	pr validate "$f"
	[ "$status" -eq 2 ]
}

@test "--resume: ok jobs are restored (not run), the rest runs; resumed: true; after on a restored job is satisfied" {
	f=$(small_spec)
	pr run -q "$f" --journal "$J"
	assert_failure 1
	touch "$D/fix"
	pr run "$f" --resume "$J"
	assert_success
	# a, d, w[x], w[y], r#1, r#2 ran once; b twice; c once (skipped before)
	[ "$(runs a) $(runs b) $(runs c) $(runs d) $(runs w-x) $(runs w-y) $(runs r-1) $(runs r-2)" = \
	  "1 2 1 1 1 1 1 1" ]
	run jq -r '.jobs[] | "\(.name) \(.status) \(.resumed // false)"' <<<"$output"
	[ "$output" = "$(printf '%s\n' 'a ok true' 'b ok false' 'c ok false' 'd ok true' \
		'w[x] ok true' 'w[y] ok true' 'r#1 ok true' 'r#2 ok true')" ]
	# the restored record is the first run's, stdout and all
	[ "$(jq -r 'select(.job.name == "a") | .job.stdout == "A\n"' "$J" | sort -u)" = true ]
	# the run appended: two headers, the second a resume
	[ "$(jq -r 'select(.journal) | .resume' "$J" | tr '\n' ' ')" = "false true " ]
	# a third resume runs nothing
	pr run -q "$f" --resume "$J"
	assert_success
	[ "$(runs b)" -eq 2 ]
	[ "$(runs a)" -eq 1 ]
}

@test "--resume: a job whose definition changed runs again, and plan --resume says why" {
	f=$(small_spec)
	touch "$D/fix"
	pr run -q "$f" --journal "$J"
	assert_success
	sed -i 's/echo D/echo D2/' "$f"
	pr plan "$f" --resume "$J"
	assert_success
	run jq -r '.resume | "\(.restored) \(.run)", (.jobs[] | "\(.name) \(.action) \(.why)")' <<<"$output"
	[ "${lines[0]}" = "7 1" ]
	[ "${lines[1]}" = "a restore last record: ok" ]
	[ "${lines[4]}" = "d run changed since the journal" ]
	pr run -q "$f" --resume "$J"
	assert_success
	[ "$(runs d) $(runs a)" = "2 1" ]
}

@test "--resume: the inherited environment is not part of a job's identity" {
	f=$(small_spec)
	touch "$D/fix"
	PIPERUN_T_X=one "$PIPERUN" run -q "$f" --journal "$J"
	PIPERUN_T_X=two run "$PIPERUN" plan "$f" --resume "$J"
	[ "$(jqo '.resume.run')" -eq 0 ]
}

@test "--resume: failed, timeout and skipped jobs run again; a restored stdin.from source feeds its reader from its record, text or binary" {
	f=$(spec <<EOF
{"jobs": [
 $(mjob ok 'echo fine'),
 $(mjob slow 'sleep 5' | sed 's/}$/, "timeout": 0.2}/'),
 {"name": "src", "run": ["sh", "-c", "echo x >> \"\$0\"; echo data; printf '\\\\303\\\\000\\\\377'", "$D/m/src"]},
 {"name": "sink", "run": ["sh", "-c", "echo x >> $D/m/sink; test -e $D/fix && od -An -c"],
  "stdin": {"from": "src"}},
 $(mjob txt 'echo text'),
 {"name": "sink2", "run": ["sh", "-c", "echo x >> $D/m/sink2; test -e $D/fix && cat"],
  "stdin": {"from": "txt"}}
]}
EOF
)
	pr run -q "$f" --journal "$J" --results "$D/r1.json"
	assert_failure 1
	[ "$(jq -r '.jobs[2].stdout_encoding' "$D/r1.json")" = base64 ]
	touch "$D/fix"
	pr plan "$f" --resume "$J"
	[ "$(jqo '[.resume.jobs[] | .action] | join(",")')" = "restore,run,restore,run,restore,run" ]
	pr run "$f" --resume "$J"
	assert_failure 1
	[ "$(jqo '.jobs[] | "\(.name) \(.status) \(.resumed // false)"' | tr '\n' ,)" = \
	  "ok ok true,slow timeout false,src ok true,sink ok false,txt ok true,sink2 ok false," ]
	# the readers got the sources' bytes exactly, from the journal
	[ "$(jqo '.jobs[3].stdout' | tr -s ' \n' ' ')" = " d a t a \\n 303 \\0 377 " ]
	[ "$(jqo '.jobs[5].stdout')" = text ]
	[ "$(runs ok) $(runs slow) $(runs src) $(runs sink) $(runs txt) $(runs sink2)" = "1 2 1 2 1 2" ]
}

@test "--resume: a stdin.from source whose record does not hold its output whole (max_output) runs again for its reader" {
	f=$(spec <<EOF
{"jobs": [
 $(mjob src 'seq 1000' | sed 's/}$/, "max_output": 100}/'),
 {"name": "sink", "run": ["sh", "-c", "echo x >> $D/m/sink; test -e $D/fix && wc -l"],
  "stdin": {"from": "src"}}
]}
EOF
)
	pr run -q "$f" --journal "$J"
	assert_failure 1
	touch "$D/fix"
	pr plan "$f" --resume "$J"
	[ "$(jqo '.resume.jobs[0].why')" = "feeds a job that runs again (its output is not in the journal whole)" ]
	pr run "$f" --resume "$J"
	assert_success
	[ "$(jqo '.jobs[1].stdout')" = 36 ]   # what it read: the 100 bytes kept
	[ "$(runs src) $(runs sink)" = "2 2" ]
}

@test "--resume: pool and steps jobs are journaled and restored as a whole" {
	f=$(spec <<EOF
{"jobs": [
 {"name": "p", "pool": {"task": "gcd", "items": [[12, 18], [7, 5]]}},
 {"name": "s", "steps": [{"run": ["sh", "-c", "echo x >> $D/m/s; echo {}"]}], "items": {"count": 3}},
 $(mjob gate 'test -e '"$D"'/fix')
]}
EOF
)
	pr run "$f" --journal "$J" --results "$D/r1.json"
	assert_failure 1
	touch "$D/fix"
	pr run "$f" --resume "$J"
	assert_success
	[ "$(jqo '.jobs[] | "\(.name) \(.status) \(.resumed // false)"' | tr '\n' ,)" = \
	  "p ok true,s ok true,gate ok false," ]
	[ "$(runs s)" -eq 3 ]
	# the pool's results, spliced into its record, are restored with it
	diff <(jq -S '.jobs[0] | del(.resumed)' <<<"$output") <(jq -S '.jobs[0]' "$D/r1.json")
}

@test "piperun journal: the results document rebuilt (json, jsonl, text); a run killed early says which jobs have no record" {
	f=$(small_spec)
	pr run "$f" --journal "$J" --results "$D/r.json"
	pr journal "$J"
	assert_success
	diff <(jq -S '.jobs' <<<"$output") <(jq -S '.jobs' "$D/r.json")
	[ "$(jqo '"\(.status) \(.summary.total) \(.summary.ok) \(.journal.missing | length)"')" = "failed 8 6 0" ]
	pr journal -o jsonl "$J"
	[ "${#lines[@]}" -eq 9 ]
	[ "$(jq -r 'select(.summary) | .run.status' <<<"$output")" = failed ]
	pr journal -o text "$J"
	[[ $output == *"b "*"failed"*"8 jobs: 6 ok, 2 not ok, 0 without a record; failed"* ]]
	# a run killed while b is still running
	f=$(spec <<EOF
{"jobs": [{"name": "fast", "run": ["true"]},
          {"name": "slow", "run": ["sleep", "30"]}]}
EOF
)
	rm "$J"
	"$PIPERUN" run -q "$f" --journal "$J" & p=$!
	for i in $(seq 100); do
		[ "$(jq -r 'select(.job) | .job.name' "$J" 2>/dev/null)" = fast ] && break
		sleep 0.05
	done
	kill -KILL $p
	wait $p || true
	pr journal "$J"
	assert_success
	[ "$(jqo '"\(.status) \([.jobs[].name] | join(",")) \(.journal.missing | join(","))"')" = \
	  "interrupted fast slow" ]
}

@test "piperun journal after a resume killed halfway: restored jobs from their lines, the unfinished one missing, not its old failure" {
	f=$(spec <<EOF
{"jobs": [{"name": "a", "run": ["echo", "A"]},
          {"name": "b", "run": ["sh", "-c", "test -e $D/fix || exit 1; exec sleep 30"]}]}
EOF
)
	pr run -q "$f" --journal "$J"
	assert_failure 1
	touch "$D/fix"
	"$PIPERUN" run -q "$f" --resume "$J" & p=$!
	for i in $(seq 100); do
		[ "$(jq -r 'select(.job.resumed) | .job.name' "$J" 2>/dev/null)" = a ] && break
		sleep 0.05
	done
	sleep 0.2
	kill -KILL $p
	wait $p || true
	pr journal "$J"
	assert_success
	[ "$(jqo '"\(.status) \([.jobs[] | "\(.name):\(.status):\(.resumed)"] | join(",")) \(.journal.missing | join(",")) \(.journal.sessions)"')" = \
	  "interrupted a:ok:true b 2" ]
}

@test "a torn last line is ignored, and cut before the next run appends" {
	f=$(small_spec)
	pr run -q "$f" --journal "$J"
	printf '{"identity":"00","index":0,"job":{"name":"a","st' >> "$J"
	pr journal "$J"
	assert_success
	[ "$(jqo '.jobs | length')" -eq 8 ]
	touch "$D/fix"
	pr run -q "$f" --resume "$J"
	assert_success
	# every line whole: the torn one is gone
	jq -c . "$J" > /dev/null
	[ "$(grep -c '"st$' "$J" || true)" -eq 0 ]
}

@test "a damaged line (a power loss's NULs) ends the journal: records before it read, a warning, cut before the next run appends" {
	f=$(small_spec)
	touch "$D/fix"
	# one at a time: the journal's lines in spec order
	pr run -q -j 1 "$f" --journal "$J"
	assert_success
	# line 4 of 9 becomes NULs
	{ head -n 3 "$J"; printf '\0\0\0\0\n'; tail -n +5 "$J"; } > "$D/dam"
	pr journal -o jsonl "$D/dam"
	assert_success
	[ "$stderr" = "piperun: $D/dam: warning: line 4 is no journal line (damaged): it and what follows are ignored" ]
	[ "$(jq -r 'select(.name) | .name' <<<"$output" | tr '\n' ,)" = "a,b," ]
	pr run -q -j 1 "$f" --resume "$D/dam"
	assert_success
	[[ $stderr == "piperun: --resume $D/dam: warning: line 4 is no journal line (damaged)"* ]]
	# a and b were restored; the rest ran again; the damage is gone
	[ "$(runs a) $(runs b) $(runs c) $(runs w-x)" = "1 1 2 2" ]
	jq -c . "$D/dam" > /dev/null
	pr journal "$D/dam"
	assert_success
	[ -z "$stderr" ]
	[ "$(jqo .status)" = ok ]
}

@test "a real journal cut at every byte offset of its last line: piperun journal reads it without error and without a record made up" {
	f=$(spec <<<'{"jobs": [{"name": "a", "run": ["echo", "first"]}, {"name": "b", "run": ["printf", "l\u00e9\\n\\001\\n"], "after": ["a"]}]}')
	pr run -q -j 1 "$f" --journal "$J"
	assert_success
	size=$(stat -c %s "$J")
	last=$(tail -n 1 "$J" | wc -c)
	[ "$(tail -n 1 "$J" | jq -r .job.name)" = b ]
	bad=0
	for cut in $(seq $((size - last)) $((size - 1))); do
		head -c "$cut" "$J" > "$D/cut"
		out=$("$PIPERUN" journal -o jsonl "$D/cut" 2>&1) || { bad=$((bad + 1)); continue; }
		# one record, a's, and the summary line
		[[ $out == '{"name":"a",'*$'\n''{"summary":'* && $out != *'"name":"b"'* ]] ||
			bad=$((bad + 1))
	done
	[ "$bad" -eq 0 ]
	"$PIPERUN" journal -o jsonl "$J" | jq -s -e '.[1].name == "b" and .[1].stdout == "l\u00e9\n\u0001\n"'
}

@test "a journal that cannot be written stops the run (exit 3) and keeps only whole lines" {
	# RLIMIT_FSIZE with SIGXFSZ ignored (piperun leaves a signal ignored
	# at start alone): a write past 16 KiB fails with EFBIG, mid-line
	f=$(spec <<<'{"jobs": [{"name": "j", "run": ["sh", "-c", "head -c 3000 /dev/zero | tr \\0 x"], "repeat": 40}]}')
	run --separate-stderr bash -c 'trap "" XFSZ; ulimit -f 16; exec "$0" run -j 1 -o none "$1" --journal "$2"' \
		"$PIPERUN" "$f" "$J"
	[ "$status" -eq 3 ]
	[[ $stderr == *"piperun: writing journal $J: File too large"* ]]
	# whole lines only, each a journal line; fewer than 40 jobs
	[ "$(tail -c 1 "$J" | od -An -c | tr -d ' ')" = '\n' ]
	jq -e . "$J" > /dev/null
	n=$(jq -r 'select(.job) | .job.name' "$J" | wc -l)
	[ "$n" -gt 0 ] && [ "$n" -lt 40 ]
	pr journal "$J"
	assert_success
	[ "$(jqo '.status')" = interrupted ]
}

@test "bad journals: missing, unreadable, not a journal, another format, empty; --resume without a file" {
	f=$(small_spec)
	pr run -q "$f" --resume "$D/none.jsonl"
	[ "$status" -eq 2 ]
	[ "$stderr" = "piperun: --resume $D/none.jsonl: No such file or directory" ]
	[ "$(runs a)" -eq 0 ]
	printf 'just some text\n' > "$D/text"
	pr run -q "$f" --journal "$D/text"
	[ "$status" -eq 2 ]
	[ "$stderr" = "piperun: --journal $D/text: not a piperun journal (its first line is no journal header)" ]
	[ "$(cat "$D/text")" = "just some text" ]
	printf '{"journal":"piperun","format":99,"key":"00"}\n' > "$D/v99"
	pr run -q "$f" --resume "$D/v99"
	[ "$status" -eq 2 ]
	[ "$stderr" = "piperun: --resume $D/v99: journal format 99; this piperun reads formats 1 to 2" ]
	pr journal "$D/v99"
	[ "$status" -eq 2 ]
	: > "$D/empty"
	pr journal "$D/empty"
	[ "$status" -eq 2 ]
	[[ $stderr == *"an empty journal"* ]]
	pr run -q "$f" --resume
	[ "$status" -eq 2 ]
	pr run -q "$f" --resume "$J" --journal "$D/other"
	[ "$status" -eq 2 ]
	[[ $stderr == *"names another file"* ]]
	pr plan "$f" --resume "$D/none.jsonl"
	[ "$status" -eq 2 ]
	# a device or a FIFO is no journal (said so, not a stale errno)
	mkfifo "$D/fifo"
	for x in /dev/null "$D/fifo"; do
		pr run -q "$f" --journal "$x"
		[ "$status" -eq 2 ]
		[ "$stderr" = "piperun: --journal $x: not a regular file" ]
	done
	pr run -q "$f" --resume /dev/null
	[ "$stderr" = "piperun: --resume /dev/null: not a regular file" ]
	if [ "$(id -u)" -ne 0 ]; then
		pr run -q "$f" --journal "$J"
		chmod 000 "$J"
		pr run -q "$f" --resume "$J"
		[ "$status" -eq 2 ]
		[ "$stderr" = "piperun: --resume $J: Permission denied" ]
	fi
	[ "$(runs a)" -le 1 ]
}

@test "one run at a time per journal: a second --journal or --resume is refused (exit 2, nothing run); readers are not" {
	# a: done at once; h: holds the run until $D/go exists (bounded)
	hold='touch '"$D"'/held; i=0; while [ ! -e '"$D"'/go ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done'
	f=$(printf '{"jobs": [%s, %s]}' "$(mjob a true)" "$(mjob h "$hold")" | spec)
	"$PIPERUN" run -q "$f" --journal "$J" 3>&- &
	pid=$!
	wait_file "$D/held"
	# a's line is there once it is journaled (the run goes on with h)
	for i in $(seq 100); do grep -q '"name":"a"' "$J" && break; sleep 0.05; done
	cp "$J" "$D/before"
	pr run -q "$f" --journal "$J"
	[ "$status" -eq 2 ]
	[ "$stderr" = "piperun: --journal $J: in use by another run" ]
	pr run -q "$f" --resume "$J"
	[ "$status" -eq 2 ]
	[ "$stderr" = "piperun: --resume $J: in use by another run" ]
	cmp "$J" "$D/before"
	[ "$(runs a) $(runs h)" = "1 1" ]
	# reading a journal being written is allowed
	pr journal "$J"
	[ "$(jqo '.jobs[0].status')" = ok ]
	pr plan "$f" --resume "$J"
	assert_success
	[ "$(jqo '.resume.restored')" -eq 1 ]
	touch "$D/go"
	wait "$pid"
	# nothing lost: the first run's every line
	[ "$(jq -r 'select(.job) | .job.name' "$J" | tr '\n' ' ')" = "a h " ]
	pr run -q "$f" --resume "$J"
	assert_success
	[ "$(runs a) $(runs h)" = "1 1" ]
}

@test "--resume restores a job only when its latest line says ok: a later failed session runs it again; failed, failed, ok attempts restore" {
	# a: ok while $D/fix exists; t: fails its first two attempts ever
	t=$(mjob t 'test $(wc -l < $0) -ge 3' | sed 's/}$/, "retries": 2, "retry_delay": 0}/')
	f=$(printf '{"jobs": [%s, %s]}' "$(mjob a 'test -e '"$D"'/fix')" "$t" | spec)
	touch "$D/fix"
	pr run -q "$f" --journal "$J"
	assert_success
	[ "$(jq -r 'select(.job.name == "t") | .job.status' "$J" | tr '\n' ' ')" = "failed failed ok " ]
	# a second run (not a resume) on the same journal: a fails now
	rm "$D/fix"
	pr run -q "$f" --journal "$J"
	assert_failure 1
	[ "$(runs a) $(runs t)" = "2 4" ]
	pr plan "$f" --resume "$J"
	run jq -r '.resume.jobs[] | "\(.name) \(.action) \(.why)"' <<<"$output"
	[ "${lines[0]}" = "a run last record: failed" ]
	[ "${lines[1]}" = "t restore last record: ok" ]
	touch "$D/fix"
	pr run "$f" --resume "$J"
	assert_success
	[ "$(runs a) $(runs t)" = "3 4" ]
	[ "$(jqo '[.jobs[] | "\(.name):\(.resumed // false)"] | join(" ")')" = "a:false t:true" ]
	# the journal's reader agrees: a's last session line is ok now
	pr journal "$J"
	[ "$(jqo '.status')" = ok ]
}

@test "--resume whose first restored record stops the run (stdout's reader gone): every job once in --results, none restored twice" {
	# 20 jobs: the even ones ok, the odd ones fail until $D/fix exists
	f=$(jq -n --arg d "$D" '{jobs: [range(0; 20) | {name: "j\(.)",
		run: ["sh", "-c", (if . % 2 == 0 then "true" else "test -e \($d)/fix" end)]}]}' | spec)
	pr run -q "$f" --journal "$J"
	assert_failure 1
	touch "$D/fix"
	# stdout is a pipe whose reader is gone (it closed it, then said so
	# with $D/gone) before piperun starts
	run bash -c '(i=0; while [ ! -e "$3.gone" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
		exec "$0" run "$1" --resume "$2" --tag -o jsonl --results "$3") |
		sh -c '\''exec 0<&-; touch "$0"'\'' "$3.gone"' "$PIPERUN" "$f" "$J" "$D/res.json"
	[ -e "$D/res.json.gone" ]
	[ -s "$D/res.json" ]
	[ "$(jq '.jobs | length' "$D/res.json")" -eq 20 ]
	[ "$(jq '[.jobs[].name] | unique | length' "$D/res.json")" -eq 20 ]
	[ "$(jq '[.summary | .ok, .failed, .skipped, .timeout, .error, .cancelled] | add' "$D/res.json")" -eq 20 ]
	# the restored ones are there as restored, all ten
	[ "$(jq '[.jobs[] | select(.resumed)] | length' "$D/res.json")" -eq 10 ]
}

@test "a restored record is the journaled one byte for byte, a \\u0000 in its strings and all (--resume, piperun journal)" {
	f=$(spec <<<'{"name": "nul", "jobs": [{"name": "a", "run": ["printf", "a\\000b\\n"], "encoding": "utf-8"}, {"name": "b", "run": ["false"]}]}')
	pr run -q "$f" --journal "$J"
	assert_failure 1
	[ "$(jq -r 'select(.job.name == "a") | .job.stdout == "a\u0000b\n"' "$J")" = true ]
	jq -c 'select(.job.name == "a") | .job' "$J" > "$D/line"
	grep -m1 '"job":{"name":"a"' "$J" | sed 's/^.*,"job"://; s/}$//' > "$D/raw"
	pr run "$f" --resume "$J" -o jsonl
	assert_failure 1
	# the very bytes: the journal's record, then "resumed"
	[ "$(grep '"name":"a"' <<<"$output")" = "$(sed 's/}$/,"resumed":true}/' "$D/raw")" ]
	run jq -c 'select(.name == "a") | del(.resumed)' <<<"$output"
	[ "$output" = "$(cat "$D/line")" ]
	[ "$(jq -r '.stdout_bytes' "$D/line")" -eq 4 ]
	pr journal "$J" -o jsonl
	run jq -c 'select(.name == "a") | del(.resumed)' <<<"$output"
	[ "$output" = "$(cat "$D/line")" ]
	# the restored line the resume journaled too
	[ "$(jq -r 'select(.job.name == "a") | .job.stdout == "a\u0000b\n"' "$J" | sort -u)" = true ]
}

@test "plan --resume on a journal with no header keys secret jobs' identities with a fresh key; an existing journal is made 0600 before a run appends" {
	f=$(spec <<<'{"jobs": [{"name": "s", "run": ["true"], "env": {"PW": "hunter2"}, "secret_env": ["PW"]}, {"name": "p", "run": ["true"]}]}')
	: > "$D/empty"
	printf '{"journal":"piperun","format":' > "$D/torn"
	for j in "$D/empty" "$D/torn"; do
		pr plan "$f" --resume "$j"
		assert_success
		a=$(jqo '.resume.jobs | map(.identity) | join(" ")')
		pr plan "$f" --resume "$j"
		b=$(jqo '.resume.jobs | map(.identity) | join(" ")')
		# s: keyed anew each time (never one fixed key); p: no secret, the same
		[ "${a%% *}" != "${b%% *}" ]
		[ "${a#* }" = "${b#* }" ]
	done
	# a journal with group or other permissions is made private
	pr run -q "$f" --journal "$J"
	assert_success
	chmod 0644 "$J"
	pr run -q "$f" --journal "$J"
	assert_success
	[ "$(stat -c %a "$J")" = 600 ]
	chmod 0640 "$J"
	pr run -q "$f" --resume "$J"
	assert_success
	[ "$(stat -c %a "$J")" = 600 ]
}

@test "identities of a long stdin.from chain are computed without recursion (plan --resume, a 1 MiB stack)" {
	# j0 reads j1, which reads j2, ...: 8,000 deep (a recursive identity
	# needed more than 1 MiB of stack for 5,000)
	f=$(jq -n '8000 as $n | {jobs: [range(0; $n) | if . == $n - 1 then {name: "j\(.)", run: ["true"]}
		else {name: "j\(.)", run: ["cat"], stdin: {from: "j\(. + 1)"}} end]}' | spec)
	: > "$D/empty"
	run --separate-stderr bash -c 'ulimit -s 1024; exec "$0" plan "$1" --resume "$2"' "$PIPERUN" "$f" "$D/empty"
	assert_success
	[ "$(jqo '.resume.run')" -eq 8000 ]
	[ "$(jqo '[.resume.jobs[].identity] | unique | length')" -eq 8000 ]
}

@test "a line whose job name is not the job's is no record of it, whatever its identity (--resume, plan --resume, piperun journal)" {
	f=$(printf '{"jobs": [%s, %s]}' "$(mjob a 'echo A')" "$(mjob b 'echo B')" | spec)
	pr run -q "$f" --journal "$J"
	assert_success
	# a's line made to say another name, its identity kept
	sed -i 's/"job":{"name":"a"/"job":{"name":"zzz"/' "$J"
	[ "$(jq -r 'select(.job) | .job.name' "$J" | sort | tr '\n' ' ')" = "b zzz " ]
	pr plan "$f" --resume "$J"
	run jq -r '.resume.jobs[] | "\(.name) \(.action) \(.why)"' <<<"$output"
	[ "${lines[0]}" = "a run no record" ]
	[ "${lines[1]}" = "b restore last record: ok" ]
	pr journal "$J"
	[ "$(jqo '.journal.missing | join(" ")')" = a ]
	[ "$(jqo '[.jobs[].name] | join(" ")')" = b ]
	pr run "$f" --resume "$J"
	assert_success
	[ "$(runs a) $(runs b)" = "2 1" ]
	[ "$(jqo '[.jobs[] | "\(.name):\(.resumed // false)"] | join(" ")')" = "a:false b:true" ]
}

@test "--resume: a restored stdin.from source whose text stdout holds a \\u0000 feeds its reader from its record, every byte" {
	f=$(jq -n --arg d "$D" '{jobs: [
		{name: "a", encoding: "utf-8", run: ["sh", "-c", "echo x >> $0; printf \"a\\000b\\n\"", "\($d)/m/a"]},
		{name: "b", stdin: {from: "a"}, run: ["sh", "-c", "echo x >> $0; cat > \($d)/b.out; test -e \($d)/fix", "\($d)/m/b"]}]}' | spec)
	pr run -q "$f" --journal "$J"
	assert_failure 1
	[ "$(jq -r 'select(.job.name == "a") | .job.stdout == "a\u0000b\n"' "$J")" = true ]
	touch "$D/fix"
	rm "$D/b.out"
	pr plan "$f" --resume "$J"
	[ "$(jqo '.resume.jobs[0].action')" = restore ]
	pr run -q "$f" --resume "$J"
	assert_success
	[ "$(runs a) $(runs b)" = "1 2" ]
	cmp "$D/b.out" <(printf 'a\000b\n')
}

# ------------------------------------------------------------ the fault test

# 300 jobs, mixed: run and shell jobs, pipelines, retries (failing the
# first attempt of each run), timeouts, failures, dependency chains and
# jobs skipped after a failure.  Each execution appends to its marker.
fault_spec() {
	jq -n --arg d "$D" '
	def mark($n): "echo x >> \($d)/m/\($n)";
	[range(0; 60) | "r\(.)" as $n |
	  {name: $n, run: ["sh", "-c", "\(mark($n)); sleep 0.0\(. % 5); echo \($n)"]}] +
	[range(0; 60) | "s\(.)" as $n |
	  {name: $n, shell: "\(mark($n)); sleep 0.0\(. % 4); echo \($n) >&2"}] +
	[range(0; 40) | "p\(.)" as $n |
	  {name: $n, pipeline: [["sh", "-c", "\(mark($n)); echo \($n)"], ["tr", "a-z", "A-Z"]]}] +
	[range(0; 30) | "t\(.)" as $n |
	  {name: $n, retries: 1, retry_delay: 0,
	   run: ["sh", "-c", "\(mark($n)); test -e \($d)/a.\($n) || { touch \($d)/a.\($n); exit 1; }", $n]}] +
	[range(0; 10) | "o\(.)" as $n |
	  {name: $n, timeout: 0.1, run: ["sh", "-c", "\(mark($n)); exec sleep 5"]}] +
	[range(0; 20) | "f\(.)" as $n |
	  {name: $n, run: ["sh", "-c", "\(mark($n)); exit 3"]}] +
	[range(0; 20) | "x\(.)" as $n |
	  {name: $n, after: ["f\(.)"], run: ["sh", "-c", mark($n)]}] +
	[range(0; 60) | "c\(.)" as $n |
	  {name: $n, run: ["sh", "-c", "\(mark($n)); echo \($n)"]} +
	  (if . % 10 == 0 then {} else {after: ["c\(. - 1)"]} end)] |
	{name: "fault", max_parallel: 12, jobs: .}' | spec fault.json
}

# What must be equal between runs: everything but pids, times, attempts.
norm() {
	jq -S '[.jobs[] | {name, kind, status, returncode, exit_code, signal, timed_out,
		stdout, stderr, error, stages: [.stages[] | {argv, returncode}]}]' "$@"
}

@test "SIGKILL at a random moment of a 300-job mixed run, then --resume (KILL_TRIALS, default 20; async and thread mode in turn): each job once, no ok job run again, results as if uninterrupted" {
	local n=${KILL_TRIALS:-20} t kill_ms okn mode
	f=$(fault_spec)
	# the reference: an uninterrupted run (the retried jobs' flag files
	# removed between runs, so that each run's first attempt fails)
	local t0=$(date +%s%N)
	run "$PIPERUN" run "$f" --results "$D/ref.json" -o none
	[ "$status" -eq 1 ]
	# kills fall anywhere in the run, start to end
	local span=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$(jq '.jobs | length' "$D/ref.json")" -eq 300 ]
	norm "$D/ref.json" > "$D/ref.norm"
	for t in $(seq "$n"); do
		rm -rf "$D/m" "$D"/a.* "$J" "$D/res.json"
		mkdir "$D/m"
		mode=$([ $((t % 2)) -eq 0 ] && echo thread || echo async)
		"$PIPERUN" run "$f" --mode "$mode" --journal "$J" -o none 2>/dev/null & p=$!
		kill_ms=$(( 10 + RANDOM % span ))
		sleep "$(printf '%d.%03d' $((kill_ms / 1000)) $((kill_ms % 1000)))"
		kill -KILL $p || true   # (a run that ended first: all restored)
		wait $p || true
		# what the journal holds at the kill, and the markers then (the
		# jobs it names ended: their markers are final)
		okn=$("$PIPERUN" journal -o jsonl "$J" 2>/dev/null |
		      jq -r 'select(.name and .status == "ok") | .name' | sort)
		runs_each $okn > "$D/before"
		echo "# trial $t ($mode): killed at ${kill_ms} of ${span} ms, $(wc -w <<<"$okn") ok lines" >&3
		# killed before it made the journal (--resume of a missing
		# journal is an error): resume from an empty one
		[ -e "$J" ] || : > "$J"
		run "$PIPERUN" run "$f" --mode "$mode" --resume "$J" --results "$D/res.json" -o none
		[ "$status" -eq 1 ] || { echo "trial $t: resume exit $status: $output"; return 1; }
		# every job exactly once
		[ "$(jq -r '.jobs[].name' "$D/res.json" | sort | uniq -u | wc -l)" -eq 300 ] ||
			{ echo "trial $t: jobs not once each"; return 1; }
		# no job with an ok line at the kill started again
		runs_each $okn > "$D/after"
		diff "$D/before" "$D/after" || { echo "trial $t (kill at ${kill_ms} ms): ok jobs ran again"; return 1; }
		# and those are restored, marked so
		[ "$(jq -r '.jobs[] | select(.resumed) | .name' "$D/res.json" | sort)" = "$okn" ] ||
			{ echo "trial $t: restored set differs"; return 1; }
		norm "$D/res.json" | diff "$D/ref.norm" - ||
			{ echo "trial $t (kill at ${kill_ms} ms): results differ"; return 1; }
		# and the journal holds them: piperun journal says the same
		"$PIPERUN" journal "$J" | norm | diff "$D/ref.norm" - ||
			{ echo "trial $t: piperun journal differs"; return 1; }
		rm -f "$D"/a.*
	done
}
