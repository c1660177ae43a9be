#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Dependencies: after, always, stdin.from, skipped jobs, --only.
load helper

@test "after: a job starts only once its dependencies ended ok" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "build", "run": ["sleep", "0.2"]},
  {"name": "test", "run": ["true"], "after": ["build"]}
]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(jqo '.jobs[1].started_ms >= .jobs[0].started_ms + .jobs[0].duration_ms')" = true ]
}

@test "a failed dependency skips the job (with the reason) and what depends on it" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "build", "shell": "exit 1"},
  {"name": "test", "run": ["true"], "after": ["build"]},
  {"name": "deploy", "run": ["true"], "after": ["test"]},
  {"name": "free", "run": ["true"]}
]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '[.jobs[].status] | @json')" = '["failed","skipped","skipped","ok"]' ]
	[ "$(jqo '.jobs[1] | [.returncode, .exit_code, .signal, .attempts, .stdout, .stages] | @json')" = '[null,null,null,0,"",[]]' ]
	[ "$(jqo '.jobs[1].error')" = 'dependency "build" failed' ]
	[ "$(jqo '.jobs[2].error')" = 'dependency "test" was skipped' ]
	[ "$(jqo '.summary.skipped')" = 2 ]
}

@test "always: a cleanup job runs once its dependencies ended, whatever their status" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "work", "shell": "exit 1"},
  {"name": "cleanup", "run": ["echo", "cleaned"], "after": ["work"], "always": true}
]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo '.jobs[1] | [.status, .stdout] | @json')" = '["ok","cleaned\n"]' ]
}

@test "a base name in after means every copy" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "part", "run": ["sleep", "0.1"], "repeat": 3},
  {"name": "join", "run": ["true"], "after": ["part"]}
]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(jqo '.jobs[3].started_ms >= ([.jobs[0:3][] | .started_ms + .duration_ms] | max)')" = true ]
}

@test "stdin.from implies after and feeds the job's stdout" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "upper", "run": ["tr", "a-z", "A-Z"], "stdin": {"from": "words"}},
  {"name": "words", "run": ["echo", "hello world"]}
]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(jqo '.jobs[0].stdout')" = 'HELLO WORLD' ]
}

@test "stdin.from: output read after its job's record is out, and from a job that never ran" {
	# "gen" ends and its record goes out (jsonl) while "sum" still
	# waits for "slow": its 200 KiB (past the 64 KiB kept in memory)
	# must still be there for "sum".  "never" is skipped and never
	# runs: an "always" reader gets empty stdin.
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "gen", "shell": "head -c 204800 /dev/zero | tr '\\0' x"},
  {"name": "slow", "run": ["sleep", "0.3"]},
  {"name": "sum", "run": ["sha256sum"], "stdin": {"from": "gen"}, "after": ["slow"]},
  {"name": "bad", "run": ["false"]},
  {"name": "never", "run": ["echo", "x"], "after": ["bad"]},
  {"name": "r", "run": ["wc", "-c"], "stdin": {"from": "never"}, "always": true}
]}
EOF
)
	want=$(head -c 204800 /dev/zero | tr '\0' x | sha256sum)
	for mode in async thread serial; do
		for o in jsonl json; do
			# (not pr: a failure would print the 200 KiB)
			rc=0
			"$PIPERUN" run --mode "$mode" -o "$o" "$f" > "$BATS_TEST_TMPDIR/o" || rc=$?
			[ "$rc" = 1 ] || { echo "$mode $o: exit $rc"; return 1; }
			got=$(jq -cs 'map(.jobs[]? // .) | map(select(.name) | {(.name): [.status, .stdout]}) | add' "$BATS_TEST_TMPDIR/o")
			[ "$(jq -r '.sum[1]' <<<"$got")" = "$want" ] || { echo "$mode $o: sum ${got:0:300}"; return 1; }
			[ "$(jq -c '[.sum[0], .never, .r]' <<<"$got")" = '["ok",["skipped",""],["ok","0\n"]]' ] || { echo "$mode $o: $(jq -c '[.sum[0], .never, .r]' <<<"$got")"; return 1; }
		done
	done
}

@test "stdin.from a job that does not capture stdout is a spec error" {
	f=$(spec <<<'{"jobs": [{"name": "a", "run": ["true"], "stdout": "null"}, {"run": ["cat"], "stdin": {"from": "a"}}]}')
	pr validate "$f"
	assert_failure 2
	[[ $stderr == *'jobs[1].stdin.from: job "a" does not capture its stdout'* ]]
}

@test "--only NAME runs NAME and what it depends on" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "a", "run": ["true"]},
  {"name": "b", "run": ["true"], "after": ["a"]},
  {"name": "c", "run": ["true"]}
]}
EOF
)
	pr run --only b "$f"
	assert_success
	[ "$(jqo '[.jobs[].name] | @json')" = '["a","b"]' ]
	pr run --only nope "$f"
	assert_failure 2
	[[ $stderr == *'--only: no job named "nope"'* ]]
}

@test "a long chain of dependencies settles without recursion limits" {
	python3 - "$BATS_TEST_TMPDIR/chain.json" <<'EOF'
import json, sys
jobs = [{"name": "j0", "shell": "exit 1"}]
jobs += [{"name": f"j{i}", "run": ["true"], "after": [f"j{i-1}"]} for i in range(1, 5000)]
json.dump({"jobs": jobs}, open(sys.argv[1], "w"))
EOF
	pr run --output jsonl "$BATS_TEST_TMPDIR/chain.json"
	assert_failure 1
	[ "$(tail -1 <<<"$output" | jq -c '.summary | [.failed, .skipped]')" = '[1,4999]' ]
}

@test "every name in after and stdin.from finds its own job among thousands, in any order" {
	# names shuffled through the file, each job naming the next one in
	# the chain by after or by stdin.from: every skip must name exactly
	# the job its spec names
	python3 - "$BATS_TEST_TMPDIR/names.json" <<'EOF'
import json, random, sys
n = 3000
rng = random.Random(17)
names = [f"n{rng.getrandbits(40):x}-{i}" for i in range(n)]
jobs = [{"name": names[0], "shell": "exit 1"}]
for i in range(1, n):
    if i % 2:
        jobs.append({"name": names[i], "run": ["true"], "after": [names[i - 1]]})
    else:
        jobs.append({"name": names[i], "run": ["cat"], "stdin": {"from": names[i - 1]}})
rng.shuffle(jobs)
json.dump({"jobs": jobs}, open(sys.argv[1], "w"))
EOF
	pr run --output jsonl "$BATS_TEST_TMPDIR/names.json"
	assert_failure 1
	[ "$(tail -1 <<<"$output" | jq -c '.summary | [.failed, .skipped]')" = '[1,2999]' ]
	# each skipped job's reason names its own dependency
	bad=$(python3 -c '
import json, sys
spec = {j["name"]: j for j in json.load(open(sys.argv[1]))["jobs"]}
bad = 0
for line in sys.stdin:
    r = json.loads(line)
    if r.get("status") != "skipped":
        continue
    j = spec[r["name"]]
    dep = j["after"][0] if "after" in j else j["stdin"]["from"]
    bad += not r["error"].startswith(f"dependency \"{dep}\" ")
print(bad)
' "$BATS_TEST_TMPDIR/names.json" <<<"$output")
	[ "$bad" = 0 ]
}

@test "a job's own name wins over a base name, and a base means its copies in spec order" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "x", "shell": "exit 1", "repeat": 2},
  {"name": "x", "run": ["echo", "hi"]},
  {"name": "y", "run": ["true"], "after": ["x"]},
  {"name": "z", "run": ["cat"], "stdin": {"from": "x"}}
]}
EOF
)
	pr run "$f"
	assert_failure 1
	[ "$(jqo -c '[.jobs[] | [.name, .status]]')" = '[["x#1","failed"],["x#2","failed"],["x","ok"],["y","ok"],["z","ok"]]' ]
	f=$(spec <<<'{"jobs": [{"name": "x", "run": ["true"], "repeat": 3}, {"run": ["cat"], "stdin": {"from": "x"}}]}')
	pr validate "$f"
	assert_failure 2
	[[ $stderr == *'jobs[1].stdin.from: "x" names 3 jobs; stdin.from needs exactly one (e.g. "x#1")'* ]]
}

@test "a job may wait for jobs after it in the spec, copies or not, and read a later job's stdout" {
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "first", "run": ["cat"], "stdin": {"from": "src"}, "after": ["d", "one#2"]},
  {"name": "d", "run": ["sleep", "0.1"], "repeat": 3},
  {"name": "one", "run": ["true"], "repeat": 2},
  {"name": "src", "run": ["echo", "from later"]}
]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(jqo -c '[.jobs[] | [.name, .status]]')" = '[["first","ok"],["d#1","ok"],["d#2","ok"],["d#3","ok"],["one#1","ok"],["one#2","ok"],["src","ok"]]' ]
	[ "$(jqo -r '.jobs[0].stdout')" = "from later" ]
	# it started after every job it waits for ended
	jqo -e '.jobs[0].started_ms as $s | [.jobs[1:4][], .jobs[5], .jobs[6] | .started_ms + .duration_ms <= $s + 0.001] | all'
}
