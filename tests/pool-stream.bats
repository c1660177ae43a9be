#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# pool-stream.bats - piperun pool holds a chunk of items at a time
# (--chunk N, 262,144 by default), not the whole input (issue 21): every item of an
# input of several chunks is run and reported exactly once, in order where
# the output has an order; a bad line past the first chunk ends the pool
# after the items before it; a fail-fast stop and an init() that hung
# carry over to the chunks after.  (Memory is measured in bench/pool.py.)
load helper

# --chunk 1000 and 2500 items: three chunks (one test runs the default)
C=(--chunk 1000)
N=2500

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# items N: item i is [6k, 4k] with k = i % 50 + 1, so its gcd is 2k
items() {
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) print (i % 50 + 1) * 6, (i % 50 + 1) * 4 }'
}

# check FORMAT N FILE: the results of items N in FILE (-o FORMAT) are
# every item once, each right; json and text in input order
check() {
	python3 - "$@" <<'EOF'
import json, sys
fmt, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def right(i, inp, res):
    k = i % 50 + 1
    assert inp == [6 * k, 4 * k] and res == 2 * k, (i, inp, res)
if fmt == "json":
    d = json.load(open(path))
    assert d["summary"] == {"total": n, "ok": n, "error": 0, "skipped": 0}, d["summary"]
    assert [x["index"] for x in d["items"]] == list(range(n)), "order"
    for x in d["items"]:
        right(x["index"], x["input"], x["result"])
elif fmt == "jsonl":
    lines = open(path).read().splitlines()
    recs, last = [json.loads(l) for l in lines[:-1]], json.loads(lines[-1])
    assert last["summary"] == {"total": n, "ok": n, "error": 0, "skipped": 0}, last
    assert sorted(x["index"] for x in recs) == list(range(n)), "each once"
    for x in recs:
        right(x["index"], x["input"], x["result"])
else:
    lines = open(path).read().splitlines()
    assert len(lines) == n + 1 and lines[-1].startswith(f"{n} items: {n} ok, 0 error"), lines[-1]
    for i, l in enumerate(lines[:-1]):
        f = l.split()
        assert int(f[0]) == i and f[1] == "ok" and int(f[2]) == 2 * (i % 50 + 1), l
EOF
}

@test "three chunks of items: each item once and right, in every mode (-o jsonl)" {
	items $N > items
	for m in serial thread process async; do
		timeout 120 "$PIPERUN" pool --task gcd "${C[@]}" --mode "$m" -j 2 --items items -o jsonl > out
		check jsonl "$N" out || { echo "mode $m"; false; }
	done
}

@test "three chunks of items: -o json is one document in input order, -o text one line each (from a file and from a pipe)" {
	items $N > items
	timeout 120 "$PIPERUN" pool --task gcd "${C[@]}" --mode thread -j 2 --items items > out.json
	check json "$N" out.json
	items $N | timeout 120 "$PIPERUN" pool --task gcd "${C[@]}" --mode process -j 2 -o text > out.txt
	check text "$N" out.txt
	# the document is what the one writer of every other document writes:
	# the pretty form (two-space indent, one item a line)
	[ "$(sed -n '8p' out.json)" = '  "items": [' ]
	[ "$(tail -2 out.json)" = "$(printf '  ]\n}')" ]
	[ "$(grep -c '^    {"index": ' out.json)" -eq "$N" ]
}

@test "the default chunk (262,144 items): 300,000 items, each once, in order (-o json)" {
	items 300000 > items
	timeout 300 "$PIPERUN" pool --task gcd --mode thread -j 2 --items items > out.json
	check json 300000 out.json
}

@test "--chunk: a whole number from 1 to 67108864; not with --compare" {
	for v in 0 -1 x 1.5 67108865 ''; do
		run --separate-stderr "$PIPERUN" pool --task gcd --chunk "$v" < /dev/null
		assert_failure 2
		[[ "$stderr" == "piperun: pool: --chunk: expected an integer from 1 to 67108864, got \"$v\""* ]] ||
			{ echo "$v: $stderr"; false; }
	done
	run --separate-stderr "$PIPERUN" pool --task gcd --chunk 5 --compare < /dev/null
	assert_failure 2
	[[ "$stderr" == "piperun: pool: --compare reads every item at once: it takes no --chunk"* ]]
	# one item a chunk is a chunk like any other
	printf '4 6\n6 9\n8 12\n' > three
	run --separate-stderr "$PIPERUN" pool --task gcd --chunk 1 --items three -o jsonl
	assert_success
	[ "$(jq -sc 'map(.result)' <<<"$output")" = '[2,3,4,null]' ]
}

@test "a bad line past the first chunk: the items before it are in the results, none after it ran, status 2" {
	{ items 1500; echo x; items 10; } > bad
	{ items 1500; printf '1 2\n3 \0 4\n5 6\n'; } > nul
	for src in file pipe; do
		for f in bad nul; do
			rc=0
			if [ "$src" = file ]; then
				timeout 120 "$PIPERUN" pool --task gcd "${C[@]}" --items "$f" -o jsonl > out 2> err || rc=$?
				name=$f
			else
				timeout 120 "$PIPERUN" pool --task gcd "${C[@]}" -o jsonl < "$f" > out 2> err || rc=$?
				name='<stdin>'
			fi
			[ "$rc" = 2 ]
			case $f in
			bad) want='line 1501: expected numbers or a JSON array, got "x" (the 1500 items' n=1500 ;;
			nul) want='line 1502: a NUL byte (the 1501 items' n=1501 ;;
			esac
			[ "$(cat err)" = "piperun: pool: $name: $want before it are in the results; none after it ran)" ] ||
				{ echo "$src $f: $(cat err)"; false; }
			[ "$(tail -1 out | jq -c .summary)" = "{\"total\":$n,\"ok\":$n,\"error\":0,\"skipped\":0}" ]
			# every item before the bad line, once, in order (serial)
			[ "$(head -n -1 out | cut -d, -f1 | uniq -c | awk '$1 != 1' | wc -l)" -eq 0 ]
			[ "$(head -n -1 out | wc -l)" -eq "$n" ]
			[ "$(head -1 out | cut -d, -f1)" = '{"index":0' ]
			[ "$(head -n -1 out | tail -1 | cut -d, -f1)" = "{\"index\":$((n - 1))" ]
		done
	done
	# in the first chunk, as ever: nothing runs, nothing is written
	{ items 10; echo x; } > early
	run --separate-stderr "$PIPERUN" pool --task gcd --items early
	assert_failure 2
	[ -z "$output" ]
	[ "$stderr" = 'piperun: pool: early: line 11: expected numbers or a JSON array, got "x"' ]
}

@test "--fail-fast in the second chunk: the rest of it is skipped, nothing after it is read, even from a pipe that never ends" {
	{ yes '[1]' | head -1500; echo '[2, "fail"]'; yes '[3]' | head -1500; } > items
	run --separate-stderr timeout 120 "$PIPERUN" pool --task-plugin "$FAULTY_PLUGIN:faulty" "${C[@]}" --fail-fast \
		--items items -o summary
	assert_failure 1
	[ "$(jq -c .summary <<<"$output")" = '{"total":2000,"ok":1500,"error":1,"skipped":499}' ]
	# the same from a writer that never stops: the pool ends (and so
	# does the writer, on SIGPIPE)
	run --separate-stderr bash -c '{ cat "$1"; yes "[4]"; } | timeout 60 "$PIPERUN" pool --task-plugin "$2" --chunk 1000 --fail-fast -o summary' _ items "$FAULTY_PLUGIN:faulty"
	assert_failure 1
	[ "$(jq -c .summary <<<"$output")" = '{"total":2000,"ok":1500,"error":1,"skipped":499}' ]
}

@test "an init() that hung in the first chunk is not waited for again: the later chunks' items fail with the same error" {
	items $N > items
	export FAULTY_INIT_LOG=$BATS_TEST_TMPDIR/inits
	run --separate-stderr timeout 120 "$PIPERUN" pool --task-plugin "$FAULTY_PLUGIN:inithang" "${C[@]}" \
		--timeout 0.2 --items items -o summary
	assert_failure 1
	[ "$(jq -c .summary <<<"$output")" = "{\"total\":$N,\"ok\":0,\"error\":$N,\"skipped\":0}" ]
	# one call, in the first chunk (three would mean each chunk waited)
	[ "$(cat inits)" = init ]
	: > inits
	timeout 120 "$PIPERUN" pool --task-plugin "$FAULTY_PLUGIN:inithang" "${C[@]}" \
		--timeout 0.2 --items items -o jsonl > out || true
	[ "$(cat inits)" = init ]
	[ "$(head -n -1 out | grep -c "\"error\":\"not run: the task's init() did not return within 0.2s\"")" -eq "$N" ]
}

@test "a writer that pauses gets the results of what it wrote while it waits (every mode), then the rest" {
	mkfifo in
	for m in serial thread process async; do
		timeout 60 "$PIPERUN" pool --task gcd --mode "$m" -j 2 -o jsonl < in > out &
		pid=$!
		exec 7> in
		echo '4 6' >&7
		# the first result comes while the input is still open (the
		# pool runs what it has once its input pauses: 100 ms)
		for i in $(seq 200); do
			grep -q '"index":0' out && break
			sleep 0.05
		done
		grep -q '^{"index":0,"input":\[4,6\],"status":"ok","result":2,' out || { echo "$m: $(cat out)"; false; }
		echo '6 9' >&7
		exec 7>&-
		wait "$pid"
		[ "$(sed -n 2p out | cut -d, -f1-4)" = '{"index":1,"input":[6,9],"status":"ok"' ]
		[ "$(tail -1 out | jq -c .summary)" = '{"total":2,"ok":2,"error":0,"skipped":0}' ]
	done
}
