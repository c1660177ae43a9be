#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# `piperun timeline RESULTS --svg FILE --html FILE`: a Gantt chart a real
# renderer draws (rsvg-convert) and XML tools read (xmllint).
load helper

setup() {
	command -v rsvg-convert >/dev/null || skip "rsvg-convert (librsvg2-bin) not installed"
	command -v xmllint >/dev/null || skip "xmllint (libxml2-utils) not installed"
}

# SVG (and HTML) well-formed, the SVG rendered to a PNG without error
render() {
	xmllint --noout "$@"
	rsvg-convert -o "${1%.svg}.png" "$1"
	[ -s "${1%.svg}.png" ]
}

@test "timeline: the seed demo's results render to PNG; a bar per job, its tooltip, the summary as title" {
	cd "$PIPELINES"
	run "$PIPERUN" run seed-demo.json --results "$BATS_TEST_TMPDIR/r.json" -o none
	[ "$status" = 0 ]
	cd "$BATS_TEST_TMPDIR"
	run "$PIPERUN" timeline r.json --svg t.svg --html t.html
	[ "$status" = 0 ]
	[ -z "$output" ]
	render t.svg t.html
	# a bar with a tooltip per job: 14 jobs, each ok
	[ "$(xmllint --xpath 'count(//*[local-name()="rect"]/*[local-name()="title"])' t.svg)" = 14 ]
	xmllint --xpath 'string(/*[local-name()="svg"]/*[local-name()="title"])' t.svg |
		grep -F 'seed-demo: ok, 14 jobs (14 ok)'
	xmllint --xpath '//*[local-name()="title"]/text()' t.svg | grep -E '^hello: ok, [0-9.]+ (µs|ms), returncode 0 \(started at'
	# one lane per slot, as many as ran at once
	slots=$(jq '[.jobs[].slot] | max + 1' r.json)
	[ "$(grep -c '>slot [0-9]*</text>' t.svg)" = "$slots" ]
	# the page: the chart inline, the summary table, nothing fetched
	grep -F '<svg xmlns=' t.html
	grep -F '<th>total</th><td>14</td>' t.html
	! grep -Ei '(src|href)=' t.html
}

@test "timeline: a 1,000-job run with failures, timeouts, retries and a pipeline renders; bars coloured by status" {
	s="$BATS_TEST_TMPDIR/spec.json"
	jq -n '{ jobs: [
	    { name: "j", run: ["sh", "-c", "exit $(($1 % 97 == 0))", "sh", "{}"], foreach: [range(0; 990)] },
	    { name: "slow", run: ["sleep", "5"], timeout: 0.2, repeat: 3 },
	    { name: "flaky", run: ["false"], retries: 2, retry_delay: 0.01 },
	    { name: "p", pipeline: [["sleep", "0.2"], ["sleep", "0.1"]] } ] }' > "$s"
	run "$PIPERUN" run "$s" -j 16 --results "$BATS_TEST_TMPDIR/r.json" -o none
	[ "$status" = 1 ]
	cd "$BATS_TEST_TMPDIR"
	[ "$(jq '.jobs | length' r.json)" -ge 994 ]
	run "$PIPERUN" timeline r.json --svg t.svg --html t.html
	[ "$status" = 0 ]
	render t.svg t.html
	bars=$(xmllint --xpath 'count(//*[local-name()="rect"]/*[local-name()="title"])' t.svg)
	# every attempt a bar (flaky's three), the pipeline's two stages
	attempts=$(jq '[.jobs[] | if .attempt_history then .attempt_history[] else . end] | length' r.json)
	[ "$bars" = $((attempts + 2)) ]
	grep -q 'fill="#e53935"[^>]*><title>j\[0\]: failed' t.svg
	grep -q 'fill="#fb8c00"[^>]*><title>slow#1: timeout' t.svg
	grep -q '<title>flaky: failed, .* (attempt 3 of 3, ' t.svg
	grep -q '<title>p stage 1 (sleep): ' t.svg
}

@test "timeline: 10,000 jobs in 200 slots aggregate, and the chart says so" {
	s=$(spec <<-EOF
	{ "jobs": [ { "name": "q", "run": ["$QUICK"], "repeat": 10000 } ] }
	EOF
	)
	run "$PIPERUN" run "$s" -j 200 --results "$BATS_TEST_TMPDIR/r.json" -o none
	[ "$status" = 0 ]
	cd "$BATS_TEST_TMPDIR"
	run "$PIPERUN" timeline r.json --svg t.svg
	[ "$status" = 0 ]
	render t.svg
	grep -q '>aggregated: 10000 attempts drawn as [0-9]* bars' t.svg
	[ "$(grep -c '<rect' t.svg)" -lt 10000 ]
}

@test "timeline: names are escaped for XML; without a slot in the records, lanes are packed" {
	s=$(spec <<-'EOF'
	{ "jobs": [ { "name": "a<b>&\"c'\u0001", "run": ["true"], "after": ["d"] },
	            { "name": "d", "run": ["sleep", "0.1"], "repeat": 3 } ] }
	EOF
	)
	run "$PIPERUN" run "$s" --results "$BATS_TEST_TMPDIR/r.json" -o none
	[ "$status" = 0 ]
	cd "$BATS_TEST_TMPDIR"
	run "$PIPERUN" timeline r.json --svg t.svg
	[ "$status" = 0 ]
	render t.svg
	grep -qF 'a&lt;b&gt;&amp;&quot;c&apos;' t.svg
	# results of an older piperun (no slot): three sleeps at once, then
	# the job after them: three lanes
	jq 'del(.jobs[].slot)' r.json > old.json
	run "$PIPERUN" timeline old.json --svg old.svg
	[ "$status" = 0 ]
	render old.svg
	[ "$(grep -c '>lane [0-9]*</text>' old.svg)" = 3 ]
}

@test "timeline: usage errors and unreadable input are exit 2; stdout by default" {
	run "$PIPERUN" timeline
	[ "$status" = 2 ]
	run "$PIPERUN" timeline "$BATS_TEST_TMPDIR/none.json" --svg "$BATS_TEST_TMPDIR/x.svg"
	[ "$status" = 2 ]
	[ ! -e "$BATS_TEST_TMPDIR/x.svg" ]
	echo '{"jobs": 3}' > "$BATS_TEST_TMPDIR/bad.json"
	run "$PIPERUN" timeline "$BATS_TEST_TMPDIR/bad.json"
	[ "$status" = 2 ]
	[[ "$output" == *"not a results document"* ]]
	echo '{"name": "e", "status": "ok", "summary": {"total": 0}, "jobs": []}' |
		"$PIPERUN" timeline - > "$BATS_TEST_TMPDIR/e.svg"
	render "$BATS_TEST_TMPDIR/e.svg"
}

@test "timeline: a damaged results document is exit 2 naming the field; skipped jobs and no summary are fine" {
	s=$(spec <<-'EOF2'
	{ "jobs": [ { "name": "f", "run": ["false"] },
	            { "name": "s", "run": ["true"], "after": ["f"] },
	            { "name": "p", "pipeline": [["true"], ["true"]] } ] }
	EOF2
	)
	run "$PIPERUN" run "$s" --results "$BATS_TEST_TMPDIR/r.json" -o none
	[ "$status" = 1 ]
	cd "$BATS_TEST_TMPDIR"
	# a skipped job never started: started_ms and slot null
	[ "$(jq -c '.jobs[] | select(.name == "s") | [.status, .started_ms, .slot]' r.json)" = '["skipped",null,null]' ]
	run "$PIPERUN" timeline r.json --svg t.svg
	[ "$status" = 0 ]
	render t.svg
	# no summary: counted from the jobs
	jq 'del(.summary)' r.json > nosum.json
	run "$PIPERUN" timeline nosum.json --svg nosum.svg
	[ "$status" = 0 ]
	grep -q '<title>[^<]*, 3 jobs (1 ok, 1 failed, 1 skipped)' nosum.svg
	# each damage: exit 2, "piperun: timeline: FILE: PATH: WHY", no chart
	damage() { # $1 jq filter, $2 the path named
		jq "$1" r.json > bad.json
		rm -f bad.svg
		run "$PIPERUN" timeline bad.json --svg bad.svg
		[ "$status" = 2 ] || { echo "$1: status $status"; return 1; }
		[[ $output == "piperun: timeline: bad.json: $2: "* ]] || { echo "$1: $output"; return 1; }
		[ ! -e bad.svg ]
	}
	damage '.jobs[0].started_ms = "x"' 'jobs[0].started_ms'
	damage '.jobs[0].started_ms = -1' 'jobs[0].started_ms'
	damage '.jobs[0].duration_ms = -5' 'jobs[0].duration_ms'
	damage '.jobs[0].duration_ms = null' 'jobs[0].duration_ms'
	damage '.jobs[2].status = "bogus"' 'jobs[2].status'
	damage 'del(.jobs[1].status)' 'jobs[1].status'
	damage '.jobs[1].name = 7' 'jobs[1].name'
	damage '.jobs[0].slot = -1' 'jobs[0].slot'
	damage '.jobs[0].slot = 0.5' 'jobs[0].slot'
	damage '.jobs[0].attempts = "1"' 'jobs[0].attempts'
	damage '.jobs[0].attempt_history = [{"status": "ok", "started_ms": 0, "duration_ms": "y"}]' \
		'jobs[0].attempt_history[0].duration_ms'
	damage '(.jobs[] | select(.name == "p") | .stages[1].ended_ms) = -2' 'jobs[2].stages[1].ended_ms'
	damage '(.jobs[] | select(.name == "p") | .stages[0].started_ms) = "0"' 'jobs[2].stages[0].started_ms'
	damage '.jobs[0] = 3' 'jobs[0]'
	damage '.summary = []' 'summary'
	damage '.summary.ok = -1' 'summary.ok'
	damage '.duration_ms = "long"' 'duration_ms'
}
