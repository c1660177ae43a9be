#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The pool's JSON at its edges (issue 22, items 13-15): item arrays read
# by one strict parser, exact for int64; tasks' JSON results checked
# strictly (RFC 8259) and written compactly; a task's own printing never
# in the results.  Every mode.
load helper

MODES="serial thread process async"

setup() {
	[ -n "${HOSTILE_PLUGIN:-}" ] || HOSTILE_PLUGIN=$(dirname "$PIPERUN")/tests/plugins/.libs/task-hostile.so
}

@test "item arrays: only strict JSON, anything after the array refused, with its line" {
	local bad
	for bad in '[] garbage' '[]]' '[ ]x' '[01]' '[+1]' '[1.]' '[.5]' '[1, 2] x' \
		'[-]' '[1e]' '["a' '[1,]' '[,1]' '[tru]' '["\x"]' '["\u12"]' '["\ud800"]' \
		$'["a\tb"]' $'["\xff"]' $'["\xc0\xaf"]' '[1e400, 4]' '[-1e400, 4]'; do
		printf '12 18\n%s\n' "$bad" > "$BATS_TEST_TMPDIR/items"
		for m in $MODES; do
			pr pool --task gcd --mode "$m" --items "$BATS_TEST_TMPDIR/items"
			[ "$status" -eq 2 ] || { echo "accepted ($m): $bad"; false; }
			[[ "$stderr" == *"line 2: "* ]] || { echo "$bad: $stderr"; false; }
			[ -z "$output" ]
		done
	done
	# the message says what and where
	printf '[01]\n' > "$BATS_TEST_TMPDIR/items"
	pr pool --task gcd --items "$BATS_TEST_TMPDIR/items"
	[[ "$stderr" == *"line 1: malformed JSON array: a number with a leading zero at column 2"* ]]
	printf '[1e400, 4]\n' > "$BATS_TEST_TMPDIR/items"
	pr pool --task gcd --items "$BATS_TEST_TMPDIR/items"
	[[ "$stderr" == *"line 1: argument 1: 1e400 is out of range"* ]]
}

@test "item arrays: what the task receives is exact and the same in every form" {
	cat > "$BATS_TEST_TMPDIR/items" <<-'EOF'
	[9007199254740993, "x"]
	[9007199254740993]
	9007199254740993
	[1.0]
	[1.0, "a"]
	[-9223372036854775808, 9223372036854775807]
	[9223372036854775808]
	[-0, 0.5, 1E2]
	["\u00e9\ud83d\ude00", {"a" : [ 1, 2 ] }, true, null]
	EOF
	for m in $MODES; do
		pr pool --task-plugin "$HOSTILE_PLUGIN:types" --mode "$m" -j 2 --items "$BATS_TEST_TMPDIR/items"
		assert_success
		[ "$(jqo -c '[.items[].result]')" = '[["int:9007199254740993","string:x"],["int:9007199254740993"],["int:9007199254740993"],["number:1"],["number:1","string:a"],["int:-9223372036854775808","int:9223372036854775807"],["number:9.2233720368547758e+18"],["int:0","number:0.5","number:100"],["string:é😀","other:{\"a\":[1,2]}","other:true","other:null"]]' ]
		# and the input is echoed as read (jq 1.6 would round it)
		pr pool --task-plugin "$HOSTILE_PLUGIN:types" --mode "$m" -o jsonl --items "$BATS_TEST_TMPDIR/items"
		[[ "$(grep '"index":0,' <<<"$output")" == *'"input":[9007199254740993,"x"],'* ]]
	done
}

@test "JSON results: checked strictly, written compactly, else the item fails" {
	# each line: the task returns the string as its JSON result
	cat > "$BATS_TEST_TMPDIR/items" <<-'EOF'
	["01"]
	["1."]
	[".5"]
	["[1,]"]
	["\"a\tb\""]
	["\"\\ud800\""]
	["hex:225aff22"]
	["hex:22c0af22"]
	["{\"a\":1} x"]
	["[1,\n2]"]
	[" { \"a\" : [ 1 , 2.5e3 ] , \"b\" : \"x y\" } "]
	["hex:225ac3a922"]
	EOF
	for m in $MODES; do
		pr pool --task-plugin "$HOSTILE_PLUGIN:rawjson" --mode "$m" -j 2 -o jsonl \
			--items "$BATS_TEST_TMPDIR/items"
		[ "$status" -eq 1 ]
		stdout_raw=$output
		# one JSON record a line: 12 items and the summary
		[ "${#lines[@]}" -eq 13 ]
		for l in "${lines[@]}"; do jq -e . <<<"$l" >/dev/null; done
		output=$(jq -c 'select(.index != null)' <<<"$output" | jq -sc 'sort_by(.index)[]')
		[ "$(jqo -sc '[.[].status]')" = '["error","error","error","error","error","error","error","error","error","ok","ok","ok"]' ]
		[ "$(jqo -sc '[.[9,10,11].result]')" = '[[1,2],{"a":[1,2500],"b":"x y"},"Zé"]' ]
		# the compact form as it went out
		[[ "$(grep '"index":10,' <<<"$stdout_raw")" == *'"result":{"a":[1,2.5e3],"b":"x y"},'* ]]
		[ "$(jqo -sr '.[0].error')" = "the task returned a result that is not JSON: a number with a leading zero at column 1" ]
		[ "$(jqo -sr '.[6].error')" = "the task returned a result that is not JSON: invalid UTF-8 in a string at column 3" ]
	done
}

@test "a task that prints to stdout never corrupts the results, in every mode" {
	seq 1 20 > "$BATS_TEST_TMPDIR/items"
	for m in $MODES; do
		for o in json jsonl; do
			pr pool --task-plugin "$HOSTILE_PLUGIN:chatty" --mode "$m" -j 2 -o "$o" \
				--items "$BATS_TEST_TMPDIR/items"
			assert_success
			[ "$(jqo -sc '[.[] | .items // [.] | .[] | select(.index) | .result] | sort')" \
				= "$(seq 2 2 40 | jq -sc 'sort')" ]
			[[ "$output" != *"chatty "* ]]
			[[ "$stderr" == *"chatty write 7"* ]]
		done
	done
	pr pool --task-plugin "$HOSTILE_PLUGIN:chatty" --compare -j 2 --items "$BATS_TEST_TMPDIR/items"
	assert_success
	[[ "$output" != *"chatty "* ]]
}

@test "property: random item arrays reach the task as Python reads them, the same in all four modes" {
	python3 - "$BATS_TEST_TMPDIR" <<'PY'
import json, random, sys
random.seed(22)
d = sys.argv[1]
def arg():
    r = random.random()
    if r < 0.3: return random.choice([0, -1, 2**53 + 1, -2**63, 2**63 - 1, random.randint(-10**18, 10**18)])
    if r < 0.5: return random.choice([0.5, -1e-7, 1e300, 123.25])
    if r < 0.8: return ''.join(random.choice('ab é😀"\\/\t') for _ in range(random.randint(0, 6)))
    return random.choice([None, True, False, [1, [2]], {"k": "v"}])
want = []
with open(d + '/items', 'w') as f:
    for _ in range(300):
        a = [arg() for _ in range(random.randint(0, 4))]
        f.write(json.dumps(a, ensure_ascii=random.random() < 0.5) + '\n')
        def t(x):
            if isinstance(x, bool) or x is None or isinstance(x, (list, dict)):
                return 'other:' + json.dumps(x, separators=(',', ':'), ensure_ascii=False)
            if isinstance(x, int): return 'int:%d' % x
            if isinstance(x, float): return 'number:%s' % ('%.17g' % x)
            return 'string:' + x
        want.append([t(x) for x in a])
with open(d + '/want', 'w') as f:
    json.dump(want, f, ensure_ascii=False)
PY
	for m in serial thread process async; do
		pr pool --task-plugin "$HOSTILE_PLUGIN:types" --mode "$m" -j 3 -o jsonl --items "$BATS_TEST_TMPDIR/items"
		assert_success
		python3 -c 'import json, sys
got = sorted((json.loads(l) for l in sys.stdin if "\"index\"" in l), key=lambda r: r["index"])
want = json.load(open(sys.argv[1]))
assert [r["result"] for r in got] == want, [(r["index"], r["result"], w) for r, w in zip(got, want) if r["result"] != w][:3]
' "$BATS_TEST_TMPDIR/want" <<<"$output"
	done
	pr pool --task-plugin "$HOSTILE_PLUGIN:types" --compare -j 3 --items "$BATS_TEST_TMPDIR/items"
	assert_success
}
