#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Steps jobs resumed item by item (issue 17): with a journal, a steps job
# killed halfway and resumed does not process again the items it sank,
# in async and thread mode (this suite also runs under TSan), ordered
# or not; an item whose input changed runs again; a secret a job uses
# stays out of its items lines.
load helper

setup() {
	D="$BATS_TEST_TMPDIR"
	J="$D/j.jsonl"
	mkdir -p "$D/m"
}

# The number of times item $1 was processed (one marker line each).
runs() {
	if [ -e "$D/m/$1" ]; then wc -l < "$D/m/$1"; else echo 0; fi
}

# The item numbers (1-based) the journal says steps job $1 sank.
sunk_items() {
	jq -r --arg j "$1" 'select(.sunk and .name == $j) | .sunk[][0] + 1' "$J" | sort -n | uniq
}

# Wait (up to 20 s) until the journal says steps job $1 sank $2 items.
wait_sunk() {
	local i
	for i in $(seq 200); do
		[ -e "$J" ] && [ "$(sunk_items "$1" | wc -l)" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "the journal says $(sunk_items "$1" | wc -l) items sunk, not $2"
	return 1
}

# A steps job s over 40 items (mode $1, ordered $2) whose run step marks
# each item it processes ($D/m/N) and, while $D/block exists, hangs on
# item 20.
steps_resume_spec() {
	spec <<EOF
{"mode": "$1", "jobs": [{"name": "s", "items": {"count": 40}, "ordered": $2,
 "steps": [{"name": "a", "workers": 2, "run": ["sh", "-c", "echo x >> $D/m/\$1; if [ \$1 = 20 ] && [ -e $D/block ]; then sleep 300; fi; echo out-\$1", "sh", "{}"]}]}]}
EOF
}

@test "--resume: a steps job killed halfway does not process again the items it sank; their output comes from the journal (async, thread; ordered or not)" {
	local mode ord f pid n before want
	for mode in async thread; do
		for ord in true false; do
			rm -rf "$D/m" "$J" && mkdir "$D/m" && touch "$D/block"
			f=$(steps_resume_spec "$mode" "$ord")
			# ordered, the items after 20 wait for it; unordered they
			# are sunk
			want=19
			[ "$ord" = false ] && want=39
			"$PIPERUN" run "$f" --journal "$J" > /dev/null 2>&1 & pid=$!
			wait_sunk s "$want"
			kill -KILL "$pid"
			wait "$pid" || true
			before=$(sunk_items s)
			[ "$(wc -l <<<"$before")" -eq "$want" ]
			rm "$D/block"
			pr run "$f" --resume "$J"
			assert_success
			# no item the journal had as sunk ran again
			for n in $before; do
				[ "$(wc -l < "$D/m/$n")" -eq 1 ] || { echo "$mode $ord: item $n ran again"; return 1; }
			done
			# every item ran, and every output is there once
			for n in $(seq 40); do [ -e "$D/m/$n" ]; done
			[ "$(jqo -c '.jobs[0] | [.status, .items_in, .items_out, .items_resumed, .resumed // false]')" = \
			  "[\"ok\",40,40,$want,false]" ]
			if [ "$ord" = true ]; then
				[ "$(jqo '.jobs[0].stdout')" = "$(seq -f 'out-%g' 40)" ]
			else
				[ "$(jqo -j '.jobs[0].stdout' | sort -V)" = "$(seq -f 'out-%g' 40)" ]
			fi
			# the items of this session are journaled too
			[ "$(sunk_items s | wc -l)" -eq 40 ]
		done
	done
}

@test "--resume: a steps item whose input line changed since it was sunk runs again; plan --resume counts the items sunk before" {
	printf '%s\n' a b c d e f > "$D/items.txt"
	f=$(spec <<EOF
{"jobs": [{"name": "s", "items": {"lines": "$D/items.txt"}, "ordered": true,
 "steps": [{"run": ["sh", "-c", "echo x >> $D/m/\$1; if [ \$1 = e ] && [ -e $D/block ]; then sleep 300; fi; echo \"<\$1>\"", "sh", "{}"]}]}]}
EOF
)
	touch "$D/block"
	"$PIPERUN" run "$f" --journal "$J" > /dev/null 2>&1 & pid=$!
	wait_sunk s 4
	kill -KILL "$pid"
	wait "$pid" || true
	sed -i 's/^b$/B/' "$D/items.txt"
	rm "$D/block"
	pr plan "$f" --resume "$J"
	assert_success
	[ "$(jqo -c '.resume.jobs[0] | [.action, .items_sunk_before]')" = '["run",4]' ]
	pr run "$f" --resume "$J"
	assert_success
	[ "$(jqo '.jobs[0].stdout')" = "$(printf '<%s>\n' a B c d e f)" ]
	[ "$(jqo '.jobs[0].items_resumed')" = 3 ]
	[ "$(runs a)$(runs B)$(runs c)$(runs d)$(runs e)$(runs f)" = 111121 ]
}

@test "items lines: a secret a job uses but does not print is not in them; the resume restores its items like any job's" {
	f=$(spec <<EOF
{"jobs": [{"name": "s", "env": {"PW": "hunter2"}, "secret_env": ["PW"], "items": {"count": 6}, "ordered": true,
 "steps": [{"run": ["sh", "-c", "echo x >> $D/m/\$1; test \"\$PW\" = hunter2 || exit 9; if [ \$1 = 4 ] && [ -e $D/block ]; then sleep 300; fi; echo ok-\$1", "sh", "{}"]}]}]}
EOF
)
	touch "$D/block"
	"$PIPERUN" run "$f" --journal "$J" > /dev/null 2>&1 & pid=$!
	wait_sunk s 3
	kill -KILL "$pid"
	wait "$pid" || true
	run grep -c -e hunter2 -e "$(printf hunter2 | base64)" "$J"
	[ "$output" = 0 ]
	rm "$D/block"
	pr run "$f" --resume "$J"
	assert_success
	[ "$(jqo '.jobs[0].stdout')" = "$(seq -f 'ok-%g' 6)" ]
	[ "$(jqo '.jobs[0].items_resumed')" = 3 ]
	[ "$(runs 1)$(runs 2)$(runs 3)$(runs 5)$(runs 6)" = 11111 ]
	run grep -c -e hunter2 -e "$(printf hunter2 | base64)" "$J"
	[ "$output" = 0 ]
}
