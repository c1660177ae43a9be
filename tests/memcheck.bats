#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# memcheck.bats - valgrind memcheck over a representative subset: every
# subcommand, each run mode, pipeline and steps jobs, pools in all four
# modes, timeouts that kill, errors.  The runner process is checked; the
# hosts it starts for pipeline and steps jobs (piperun again, exec'd
# through an fd valgrind cannot follow) run natively, and the ASan+UBSan
# suite covers them.
# Any memcheck error or "definitely lost" block fails the test.  Run by
# scripts/check against the normal build (valgrind cannot host an ASan
# build); not part of TESTS.
load helper

setup() {
	command -v valgrind >/dev/null || fail "valgrind is not installed"
	VG_LOGS="$BATS_TEST_TMPDIR/vg"
	mkdir -p "$VG_LOGS"
}

# vg ARGS...: run piperun under memcheck, stdout/stderr apart as with pr.
vg() {
	run --separate-stderr valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --show-leak-kinds=definite \
		--child-silent-after-fork=yes --log-file="$VG_LOGS/%p" "$PIPERUN" "$@"
}

# no memcheck error and nothing definitely lost in any traced process
clean() {
	local f bad=0
	for f in "$VG_LOGS"/*; do
		[ -s "$f" ] || continue
		if grep -q 'definitely lost\|Invalid \|uninitialised\|Mismatched\|ERROR SUMMARY: [1-9]' "$f"; then
			echo "--- $f"; head -60 "$f"; bad=1
		fi
	done
	[ $bad -eq 0 ]
}

@test "memcheck: run, captures, stdin sources, secrets, deps, retries, truncation" {
	local f
	f=$(spec <<EOF
{"jobs": [
  {"name": "hello", "run": ["echo", "hello"]},
  {"name": "bin", "run": ["$PROBE", "gen", "3000", "7"], "digest": true},
  {"name": "enc", "run": ["openssl", "enc", "-aes-128-cbc", "-pbkdf2", "-pass", "env:pw"],
   "env": {"pw": "s3cret-pw"}, "secret_env": ["pw"], "stdin": {"random": 100}},
  {"name": "count", "run": ["wc", "-c"], "stdin": {"from": "enc"}},
  {"name": "text", "run": ["cat"], "stdin": {"text": "a\nb\n"}, "max_output": 2},
  {"name": "b64", "run": ["cat"], "stdin": {"base64": "AAEC/w=="}},
  {"name": "fail", "run": ["false"], "retries": 1, "retry_delay": "1ms"},
  {"name": "after", "run": ["true"], "after": ["fail"], "always": true},
  {"name": "sh", "shell": "echo {} >&2", "foreach": ["x y", "\$(z)"]},
  {"name": "stubborn", "run": ["sleep", "30"], "signal": "WINCH", "timeout": "0.2s", "kill_after": "0.1s"}
]}
EOF
)
	vg run "$f"
	[ "$status" -eq 1 ]
	[ "$(jqo '[.jobs[] | .name + "=" + .status] | join(" ")')" = \
	  "hello=ok bin=ok enc=ok count=ok text=ok b64=ok fail=failed after=ok sh[x y]=ok sh[\$(z)]=ok stubborn=timeout" ]
	[ "$(jqo '.jobs[10].termination | map(.signal) | join(",")')" = "SIGWINCH,SIGKILL" ]
	[ "$(jqo '.jobs[1].stdout_sha256')" = "$("$PROBE" gen 3000 7 | sha256sum | cut -d' ' -f1)" ]
	[ "$(jqo '.jobs[5].stdout')" = AAEC/w== ]
	clean
}

@test "memcheck: pipelines (libpipeline in the host) and jsonl/text output" {
	local f
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "p", "pipeline": [["echo", "abc"], ["tr", "a-z", "A-Z"], ["wc", "-c"]]},
  {"name": "pf", "pipeline": [["false"], ["cat"]], "pipefail": true},
  {"name": "missing", "pipeline": [["true"], ["no-such-program-x"]]}
]}
EOF
)
	vg run "$f" --output jsonl
	[ "$status" -eq 1 ]
	[ "$(jq -rs 'map(select(.name)) | sort_by(.name) | map(.name + "=" + .status) | join(" ")' <<<"$output")" = \
	  "missing=error p=ok pf=failed" ]
	[ "$(jq -rs '.[] | select(.name == "p") | .stdout' <<<"$output")" = 4 ]
	clean
	vg run "$f" -o text
	[ "$status" -eq 1 ]
	clean
}

@test "memcheck: a timeout that needs KILL, in thread mode (async: the first test)" {
	local f m
	f=$(spec <<EOF
{"jobs": [
  {"name": "stubborn", "run": ["sleep", "30"], "signal": "WINCH", "timeout": "0.2s", "kill_after": "0.1s"},
  {"name": "quick", "run": ["echo", "ok"]}
]}
EOF
)
	vg run "$f" --mode thread
	[ "$status" -eq 1 ]
	[ "$(jqo '.jobs[0].status')" = timeout ]
	[ "$(jqo '.jobs[0].termination | map(.signal) | join(",")')" = "SIGWINCH,SIGKILL" ]
	clean
}

@test "memcheck: the task pool in all four modes" {
	local m
	printf '%s\n' '12 18' '[100, 75]' '7 5' > "$BATS_TEST_TMPDIR/items"
	for m in serial thread process async; do
		vg pool --task gcd --mode "$m" -j 2 --items "$BATS_TEST_TMPDIR/items"
		[ "$status" -eq 0 ]
		[ "$(jqo '[.items[].result | tostring] | join(",")')" = "6,25,1" ]
	done
	clean
}

@test "memcheck: steps jobs (coprocess, run, task) in async and thread mode" {
	local f m
	f=$(spec <<'EOF'
{"jobs": [
  {"name": "line", "items": {"count": 20}, "queue": 4,
   "steps": [
     {"name": "co", "workers": 2, "coprocess": ["sed", "-u", "s/^/got-/"]},
     {"name": "each", "workers": 2, "run": ["echo", "{}"]},
     {"name": "t", "workers": 1, "task": "sleep", "args": [0.0001]}]}
]}
EOF
)
	for m in async thread; do
		vg run "$f" --mode "$m"
		[ "$status" -eq 0 ]
		[ "$(jqo '.jobs[0].items_out')" -eq 20 ]
	done
	clean
}

@test "memcheck: validate and plan, good and bad specs; exec with a timeout" {
	local bad
	bad=$(spec bad.json <<'EOF'
{"jobs": [{"run": [], "timeout": "soon", "bogus": 1}, {"name": "x", "after": ["nope"]}]}
EOF
)
	vg validate "$bad"
	[ "$status" -eq 2 ]
	clean
	vg plan "$PIPELINES/tour.json"
	[ "$status" -eq 0 ]
	clean
	vg exec -t 0.2s -- sleep 5
	[ "$status" -eq 124 ]
	clean
}

@test "memcheck: timeout: a timeout, --json, a bad operand, a command that ends with a child left" {
	vg timeout -v --json "$BATS_TEST_TMPDIR/t.json" 0.2 sleep 5
	[ "$status" -eq 124 ]
	clean
	vg timeout 2.5x sleep 0
	[ "$status" -eq 125 ]
	clean
	# (the child off run's pipes, or run would wait for it)
	vg timeout -s HUP 5 sh -c 'sleep 30 > /dev/null 2>&1 & echo $! > "$1"' sh "$BATS_TEST_TMPDIR/left"
	[ "$status" -eq 0 ]
	kill "$(cat "$BATS_TEST_TMPDIR/left")"
	clean
}

@test "memcheck: files by path: a FIFO that times out, one whose writer comes, a cancelled open" {
	local F="$BATS_TEST_TMPDIR/fifo" f
	mkfifo "$F" "$F.2"
	f=$(spec <<EOF
{"max_parallel": 3, "jobs": [
  {"name": "waits", "run": ["cat"], "stdin": {"file": "$F"}, "timeout": 0.3, "retries": 1},
  {"name": "fed", "run": ["cat"], "stdin": {"file": "$F.2"}, "timeout": 60},
  {"name": "file", "run": ["echo", "x"], "stdout": {"file": "$BATS_TEST_TMPDIR/out"}}]}
EOF
)
	for m in async thread; do
		# (the writer waits for the reader however slow valgrind is)
		(sleep 1; timeout 120 sh -c 'echo fed > "$1"' sh "$F.2") 3>&- &
		vg run "$f" --mode "$m"
		wait $! || true
		[ "$status" -eq 1 ]
		[ "$(jqo '[.jobs[].status] | join(" ")')" = "timeout ok ok" ]
		[ "$(jqo '.jobs[1].stdout')" = fed ]
	done
	vg run "$f" --timeout 0.2
	[ "$status" -eq 1 ]
	[ "$(jqo '[.jobs[0].status, .jobs[1].status] | join(" ")')" = "cancelled cancelled" ]
	clean
}
