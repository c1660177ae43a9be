#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Security properties: secret_env values never leak (CONTRACT §6), argv
# reaches the child byte for byte without a shell, placeholder values are
# data and never code in `shell` jobs (under dash and under bash as
# /bin/sh), and spec paths are used as given.
load helper

setup() {
	T=$BATS_TEST_TMPDIR
}

# The secret of one test: a word no output would contain by chance.
secret() {
	printf 'sEcReT-%s-%s-zq' "$$" "$RANDOM$RANDOM"
}

# Fail, saying where, if any argument contains the secret $S.
no_secret() {
	local v
	for v in "$@"; do
		if [[ $v == *"$S"* ]]; then
			printf 'the secret %s is in:\n%s\n' "$S" "$v" >&2
			return 1
		fi
	done
}

# Each argument as hex, one per line: what `probe argv-hex` prints.
hexof() {
	printf '%s\0' "$@" | od -An -v -tx1 |
		awk '{ for (i = 1; i <= NF; i++) if ($i == "00") { print l; l = "" } else l = l $i }'
}

# The arguments as a JSON array of strings.
jarr() {
	jq -cn '$ARGS.positional' --args -- "$@"
}

# vals: strings with every kind of shell metacharacter.  Run by a shell,
# some would create $T/pwned*.
meta_values() {
	vals=(
		'two  spaces' "it's" 'say "hi"' "\$(touch $T/pwned1)" "\`touch $T/pwned2\`"
		"x; touch $T/pwned3" "x && touch $T/pwned4 | cat > $T/pwned5" '*' "$T/*"
		$'line1\nline2' $'tab\there' '$HOME' '~' 'back\slash\' '' '-n' '--' '#comment'
		'a{b,c}d' '!!' "'; touch $T/pwned6; '" '"; touch '"$T"'/pwned7; "'
	)
}

nothing_pwned() {
	local f
	for f in "$T"/pwned*; do
		if [ -e "$f" ]; then
			echo "a shell ran a value: $f exists" >&2
			return 1
		fi
	done
}

# An executable file the kernel refuses to run (ENOEXEC at execve).
garbage_exe() {
	mkdir -p "${1%/*}"
	printf '\001\002 not a program\n' > "$1"
	chmod +x "$1"
}

# ---------------------------------------------------------------- secrets

# A spec whose jobs carry the secret in every string piperun reports, and
# fail in every way that yields an error message.  $1: JSON merged into
# every job; $2: the spec's defaults.
secret_spec() {
	garbage_exe "$T/dir-$S/garbage"
	jq -n --arg s "$S" --arg t "$T" --arg probe "$PROBE" --argjson sec "$1" --argjson dflt "$2" '
	{defaults: $dflt, jobs: ([
	  {name: "peek", run: [$probe, "getenv", "PIPERUN_T_PW"]},
	  {name: "argv", run: ["true", "--password=\($s)", $s]},
	  {name: "named-\($s)", run: ["true"]},
	  {name: "fe", run: ["true", "{}"], foreach: [$s, "plain"]},
	  {name: "notfound", run: ["\($t)/nodir-\($s)/prog", $s]},
	  {name: "noexec", run: ["\($t)/dir-\($s)/garbage", $s]},
	  {name: "nocwd", run: ["true"], cwd: "\($t)/nocwd-\($s)"},
	  {name: "nostdin", run: ["true"], stdin: {file: "\($t)/nostdin-\($s)"}},
	  {name: "noout", run: ["true"], stdout: {file: "\($t)/nodir-\($s)/out"}},
	  {name: "slow", run: ["sh", "-c", "sleep 5", $s], timeout: 0.1},
	  {name: "sh", shell: "true \($s)"},
	  {name: "pipe", pipeline: [["true", $s], ["cat"]]}
	] | map(. + $sec))}' | spec
}

# Runs that spec with every output format and greps every channel: stdout,
# stderr and the --results file.  Only the child's own output is exempt:
# "peek" prints its environment (its business) and must see the secret.
check_run_channels() {
	local f=$1 recs   # $2: all-formats to run jsonl and text as well
	rm -f "$T/journal.jsonl"
	pr run "$f" --results "$T/results.json" --journal "$T/journal.jsonl"
	assert_failure 1
	recs=$(jqo '.jobs[] | "\(.name) \(.status) \([.stages[].argv] | @json) \(.error)"')
	[ "$recs" = "$(cat <<EOF
peek ok [["$PROBE","getenv","PIPERUN_T_PW"]] null
argv ok [["true","--password=***","***"]] null
named-*** ok [["true"]] null
fe[***] ok [["true","***"]] null
fe[plain] ok [["true","plain"]] null
notfound error [["$T/nodir-***/prog","***"]] $T/nodir-***/prog: not found
noexec error [["$T/dir-***/garbage","***"]] $T/dir-***/garbage: Exec format error
nocwd error [["true"]] cwd $T/nocwd-***: No such file or directory
nostdin error [["true"]] stdin file $T/nostdin-***: No such file or directory
noout error [["true"]] stdout file $T/nodir-***/out: No such file or directory
slow timeout [["sh","-c","sleep 5","***"]] null
sh ok [["/bin/sh","-c","true ***"]] null
pipe ok [["true","***"],["cat"]] null
EOF
)" ]
	[ "$(jq -j '.jobs[0].stdout' <(printf '%s' "$output") "$T/results.json")" = "$S"$'\n'"$S" ]
	no_secret "$(jq -c 'del(.jobs[0].stdout)' <(printf '%s' "$output") "$T/results.json")" "$stderr"
	# the journal (its header, every line; peek's stdout is its own), what
	# piperun journal and plan --resume make of it, and a resume's
	[ "$(jq -r 'select(.job.name == "peek") | .job.stdout' "$T/journal.jsonl")" = "$S" ]
	no_secret "$(jq -c 'del(.job.stdout | select(. == "'"$S"'\n"))' "$T/journal.jsonl")"
	pr journal "$T/journal.jsonl"
	no_secret "$(jq -c 'del(.jobs[0].stdout)' <<<"$output")" "$stderr"
	pr plan "$f" --resume "$T/journal.jsonl"
	no_secret "$output" "$stderr"
	pr run "$f" --resume "$T/journal.jsonl"
	no_secret "$(jq -c 'del(.jobs[0].stdout)' <<<"$output")" "$stderr"
	no_secret "$(jq -c 'del(.job.stdout | select(. == "'"$S"'\n"))' "$T/journal.jsonl")"
	[ "${2:-}" = all-formats ] || return 0

	pr run "$f" -o jsonl --results "$T/results2.json"
	assert_failure 1
	[ "$(jq -r 'select(.name == "peek") | .stdout' <<<"$output")" = "$S" ]
	no_secret "$(jq -c 'del(.stdout)' <<<"$output")" "$(jq -c 'del(.jobs[0].stdout)' "$T/results2.json")" "$stderr"

	pr run "$f" -o text
	assert_failure 1
	no_secret "$output" "$stderr"
	[[ $output == *"named-***"*"fe[***]"*"$T/nodir-***/prog: not found"* ]]
}

@test "secret_env from the spec: results (json, jsonl, text, --results) show *** for it, never the value" {
	S=$(secret)
	f=$(secret_spec "{\"env\": {\"PIPERUN_T_PW\": \"$S\"}, \"secret_env\": [\"PIPERUN_T_PW\"]}" '{}')
	check_run_channels "$f" all-formats
}

@test "secret_env inherited from piperun's environment (named in defaults): results never show the value" {
	S=$(secret)
	export PIPERUN_T_PW=$S
	f=$(secret_spec '{}' '{"secret_env": ["PIPERUN_T_PW"]}')
	check_run_channels "$f"
}

@test "secret_env: --tag, --timestamps and --progress always show *** for it, on stdout and stderr" {
	S=$(secret)
	export PIPERUN_T_PW=$S
	f=$(spec <<EOF
{"defaults": {"secret_env": ["PIPERUN_T_PW"]},
 "jobs": [{"name": "tee-$S", "run": ["echo", "line"], "stdout": "tee"},
          {"name": "inh-$S", "shell": "echo out; echo err >&2", "stdout": "inherit", "stderr": "tee"},
          {"name": "gone-$S", "run": ["no-such-program-$S"]}]}
EOF
)
	pr run "$f" -o text --tag --timestamps --progress always --results "$T/r.json"
	assert_failure 1
	no_secret "$output" "$stderr" "$(cat "$T/r.json")"
	# the prefixes are there, redacted, after a time of day (on stderr:
	# the text table has stdout)
	ts='[0-9][0-9]:[0-9][0-9]:[0-9][0-9][.0-9]* '
	[[ $stderr =~ ${ts}tee-\*\*\*\|\ line ]]
	[[ $stderr =~ ${ts}inh-\*\*\*\|\ out ]]
	[[ $stderr =~ ${ts}inh-\*\*\*\|\ err ]]
	[[ $stderr == *"piperun: "*"3/3 done"* ]]
	[[ $output == *"gone-***"*"no-such-program-***: not found"* ]]
}

@test "plan: a secret in argv, shell, stdin text, cwd and env is shown as ***" {
	S=$(secret)
	S2=$(secret)
	export PIPERUN_T_INHERITED=$S2
	f=$(spec <<EOF
{"jobs": [
 {"name": "a", "run": ["true", "--pw=$S", "$S2"], "cwd": "/tmp/$S",
  "env": {"PIPERUN_T_PW": "$S", "OTHER": "x$S"}, "stdin": {"text": "pw $S"},
  "secret_env": ["PIPERUN_T_PW", "PIPERUN_T_INHERITED"]},
 {"name": "b", "shell": "true $S", "env": {"PIPERUN_T_PW": "$S"}, "secret_env": ["PIPERUN_T_PW"]},
 {"name": "c", "pipeline": [["true", "$S"], {"run": ["cat"], "env": {"PIPERUN_T_PW": "$S"}}],
  "env": {"PIPERUN_T_PW": "$S"}, "secret_env": ["PIPERUN_T_PW"]}
]}
EOF
)
	pr plan "$f"
	assert_success
	no_secret "$output" "$stderr"
	[[ $output != *"$S2"* ]]
	[ "$(jqo -c '[.jobs[0] | .argv, .cwd, .stdin.text, .env.set], [.jobs[1].shell], [.jobs[2].stages[] | .argv, .env]')" = \
	  '[["true","--pw=***","***"],"/tmp/***","pw ***",{"PIPERUN_T_PW":"***","OTHER":"x***"}]
["true ***"]
[["true","***"],{},["cat"],{"PIPERUN_T_PW":"***"}]' ]
}

@test "plan: a secret in a job name, a foreach value and an after list is shown as ***" {
	S=$(secret)
	f=$(spec <<EOF
{"defaults": {"env": {"PIPERUN_T_PW": "$S"}, "secret_env": ["PIPERUN_T_PW"]},
 "jobs": [
  {"name": "named-$S", "run": ["true"]},
  {"name": "fe", "run": ["true", "{}"], "foreach": ["$S"]},
  {"name": "later", "run": ["true"], "after": ["named-$S", "fe"]}
]}
EOF
)
	pr plan "$f"
	assert_success
	[ "$(jqo -c '[.jobs[].name], .jobs[1].argv')" = '["named-***","fe[***]","later"]'$'\n''["true","***"]' ]
	no_secret "$output" "$stderr"
}

@test "plan: a secret in a file path or in the resolved program path is shown as ***" {
	S=$(secret)
	mkdir -p "$T/dir-$S"
	printf '#!/bin/sh\n' > "$T/dir-$S/prog"
	chmod +x "$T/dir-$S/prog"
	: > "$T/in-$S"
	f=$(spec <<EOF
{"defaults": {"env": {"PIPERUN_T_PW": "$S"}, "secret_env": ["PIPERUN_T_PW"]},
 "jobs": [
  {"name": "p", "run": ["$T/dir-$S/prog"]},
  {"name": "files", "run": ["true"], "stdin": {"file": "$T/in-$S"},
   "stdout": {"file": "$T/out-$S"}, "stderr": {"file": "$T/err-$S"}}
]}
EOF
)
	pr plan "$f"
	assert_success
	[ "$(jqo '.jobs[0].argv[0]')" = "$T/dir-***/prog" ]
	no_secret "$output" "$stderr"
}

@test "a secret set in a pipeline stage's env is hidden in that job's argv (results and plan)" {
	S=$(secret)
	f=$(spec <<EOF
{"jobs": [{"name": "pl", "secret_env": ["PIPERUN_T_PW"],
  "pipeline": [{"run": ["true", "$S"], "env": {"PIPERUN_T_PW": "$S"}}, ["cat"]]}]}
EOF
)
	pr run "$f"
	assert_success
	[ "$(jqo -c '.jobs[0].stages[0].argv')" = '["true","***"]' ]
	no_secret "$output" "$stderr"
	pr plan "$f"
	assert_success
	[ "$(jqo -c '.jobs[0].stages[0] | [.argv, .env]')" = '[["true","***"],{"PIPERUN_T_PW":"***"}]' ]
	no_secret "$output" "$stderr"
}

@test "steps jobs: step names and failed_items errors hide the secret (results, progress, plan)" {
	S=$(secret)
	garbage_exe "$T/dir-$S/garbage"
	f=$(spec <<EOF
{"jobs": [{"name": "s", "env": {"PIPERUN_T_PW": "$S"}, "secret_env": ["PIPERUN_T_PW"],
  "items": ["1", "2"], "ordered": true,
  "steps": [{"name": "ok-$S", "run": ["echo", "{}"], "stdin": null},
            {"name": "bad", "run": ["$T/dir-$S/garbage", "{}"], "stdin": null}]}]}
EOF
)
	pr run "$f" --progress always
	assert_failure 1
	[ "$(jqo -c '.jobs[0] | [.status, (.failed_items | length), .steps[0].name]')" = '["failed",2,"ok-***"]' ]
	no_secret "$output" "$stderr"
	pr plan "$f"
	assert_success
	no_secret "$output" "$stderr"
}

@test "what a job leaves behind is listed (escaped, orphans) without the secret in its argv" {
	S=$(secret)
	for mode in auto pgroup; do
		rm -f "$T/ready"
		f=$(spec <<EOF
{"jobs": [{"name": "d", "env": {"PIPERUN_T_PW": "$S"}, "secret_env": ["PIPERUN_T_PW"],
  "shell": "(setsid sh -c 'touch $T/ready; sleep 300; :' $S &); while [ ! -e $T/ready ]; do sleep 0.01; done"}]}
EOF
)
		PIPERUN_CONTAINMENT=$mode pr run "$f"
		assert_success
		# the daemon was found and listed (job level or run level)
		[ "$(jqo '[.jobs[0].escaped[], .orphans[]] | map(select(.argv // "" | test("sleep 300"))) | length > 0')" = true ]
		[[ "$(jqo '.jobs[0].stages[0].argv[2]')" == *"sleep 300; :' *** &)"* ]]
		no_secret "$output" "$stderr"
	done
}

@test "a secret that contains another secret is hidden whole, whatever the order" {
	S=$(secret)
	for order in '["A", "B"]' '["B", "A"]'; do
		f=$(spec <<EOF
{"jobs": [{"run": ["true", "tok-$S"], "env": {"A": "tok", "B": "tok-$S"}, "secret_env": $order}]}
EOF
)
		pr run "$f"
		assert_success
		[[ "$(jqo '.jobs[0].stages[0].argv[1]')" == *'***'* ]]
		no_secret "$output" "$stderr"
		pr plan "$f"
		assert_success
		no_secret "$output" "$stderr"
	done
}

@test "a spec error about a secret's own value does not echo the value" {
	S=482913770164
	f=$(spec <<EOF
{"jobs": [{"run": ["true"], "env": {"PIPERUN_T_PIN": $S}, "secret_env": ["PIPERUN_T_PIN"]}]}
EOF
)
	for cmd in validate plan run; do
		pr "$cmd" "$f"
		assert_failure 2
		[[ $stderr == *"jobs[0].env.PIPERUN_T_PIN"* ]]
		no_secret "$output" "$stderr"
	done
}

# ------------------------------------------------------- argv, no shell

@test "run: argv with metacharacters and non-UTF-8 bytes reaches the child unchanged, no shell" {
	meta_values
	raw=$'\xff\xfe\x80 \xc3('
	b64=$(printf '%s' "$raw" | base64 -w0)
	f=$(jq -n --arg probe "$PROBE" --argjson v "$(jarr "${vals[@]}")" --arg b "$b64" \
		'{jobs: [{run: ([$probe, "argv-hex"] + $v + [{base64: $b}, "after"])}]}' | spec)
	pr run "$f"
	assert_success
	[ "$(jqo '.jobs[0].stdout')" = "$(hexof "${vals[@]}" "$raw" after)" ]
	nothing_pwned
	# the plan runs nothing either, and shows the same argv
	pr plan "$f"
	assert_success
	[ "$(jqo -c '.jobs[0].argv[2:-2]')" = "$(jarr "${vals[@]}")" ]
	nothing_pwned
}

@test "pipeline: every stage's argv (array or object form, base64 items) reaches it unchanged" {
	meta_values
	raw=$'\x80\xff'
	b64=$(printf '%s' "$raw" | base64 -w0)
	f=$(jq -n --arg probe "$PROBE" --argjson v "$(jarr "${vals[@]}")" --arg b "$b64" '{jobs: [
	  {name: "first", pipeline: [[$probe, "argv-hex"] + $v + [{base64: $b}], ["cat"], ["cat"]]},
	  {name: "last", pipeline: [["true"], {run: ([$probe, "argv-hex", {base64: $b}] + $v)}]}
	]}' | spec)
	pr run "$f"
	assert_success
	[ "$(jq -j '.jobs[].stdout' <<<"$output")" = "$(hexof "${vals[@]}" "$raw" "$raw" "${vals[@]}")" ]
	nothing_pwned
}

@test "foreach and repeat: {} is one argv item, verbatim, however it looks; also in every pipeline stage" {
	meta_values
	# values holding placeholders are not expanded a second time
	vals+=('{}' '{#}' '{{}}')
	f=$(jq -n --arg probe "$PROBE" --argjson v "$(jarr "${vals[@]}")" '{jobs: [
	  {name: "fe", run: [$probe, "argv-hex", "{}", "<{}>", "{#}", "{{}}", {base64: "e30="}], foreach: $v},
	  {name: "r", repeat: 2, pipeline: [[$probe, "argv-hex", "{}", "a b {#}"],
	    ["sh", "-c", "cat; \"$0\" argv-hex \"$@\"", $probe, "{}", ";{}*"]]}
	]}' | spec)
	pr run "$f"
	assert_success
	[ "$(jqo '.jobs | length')" = "$(( ${#vals[@]} + 2 ))" ]
	want=()
	for i in "${!vals[@]}"; do
		want+=("${vals[$i]}" "<${vals[$i]}>" "$((i + 1))" '{}' '{}')
	done
	want+=(1 'a b 1' 1 ';1*' 2 'a b 2' 2 ';2*')
	[ "$(jq -j '.jobs[].stdout' <<<"$output")" = "$(hexof "${want[@]}")" ]
	nothing_pwned
}

@test "steps: a run step gets each item as one argv item, verbatim" {
	meta_values
	items=()
	for v in "${vals[@]}"; do
		[[ $v == *$'\n'* ]] || items+=("$v")   # an item is one line
	done
	items+=('{}' '{#}' '{{}}')
	f=$(jq -n --arg probe "$PROBE" --argjson v "$(jarr "${items[@]}")" '{jobs: [
	  {name: "s", items: $v, ordered: true,
	   steps: [{run: [$probe, "argv-hex", "{}"], stdin: null}]}
	]}' | spec)
	pr run "$f"
	assert_success
	[ "$(jqo '.jobs[0].items_out')" = "${#items[@]}" ]
	[ "$(jqo '.jobs[0].stdout')" = "$(hexof "${items[@]}")" ]
	nothing_pwned
}

# ---------------------------------------------- shell: values are data

@test "shell: foreach values are printed literally, never run" {
	meta_values
	# {} bare, inside a word, inside '...' and "...", and again through env
	# and stdin.text, where it is inserted verbatim: "$V" is data all the same
	cmd='printf "%s|\n" {} x{}y '\''<{}>'\'' "<{}>" "$V"; cat'
	f=$(jq -n --argjson v "$(jarr "${vals[@]}")" --arg cmd "$cmd" '{jobs: [
	  {name: "sh", shell: $cmd, foreach: $v,
	   env: {V: "{}"}, stdin: {text: "<{}>\n"}}
	]}' | spec)
	pr run "$f"
	assert_success
	[ "$(jqo '.jobs | length')" = "${#vals[@]}" ]
	want=''
	for v in "${vals[@]}"; do
		want+=$(printf '%s|\n' "$v" "x${v}y" "<$v>" "<$v>" "$v")$'\n'"<$v>"$'\n'
	done
	[ "$(jq -j '.jobs[].stdout' <<<"$output")" = "${want%$'\n'}" ]
	nothing_pwned
}

# A shell script with {} in every context of the sh grammar where a value
# is data: bare, in a word, '...', "...", "$(...)" with quotes inside,
# backquotes (also nested, inside "..."), nested ${...} (quotes inside,
# default words, patterns), a case inside $(...), case words and patterns,
# a function, here-documents (<<, <<-, two on a line, one quoted, one
# inside $(...)).  Each prints its value between <>; want_contexts V prints
# what all of them print for V.
contexts_script() {
	local tab=$'\t'
	cat <<EOF
printf '<%s>' {} a{}b 'q{}q' "d{}d"
x="\$(printf '%s.' "{}")"; printf '<%s>' "\${x%.}"
x=\$(printf '%s.' {}); printf '<%s>' "\${x%.}"
x=\`printf '%s.' {}\`; printf '<%s>' "\${x%.}"
x="\`printf '%s.' "{}"\`"; printf '<%s>' "\${x%.}"
x=\`printf '%s.' "\\\`printf '%s.' {}\\\`"\`; printf '<%s>' "\${x%.}"
printf '<%s>' "\${u:-"{}"}" \${u:-{}} "\${u:-'{}'}" "\${u-\$(printf '%s' "{}")}"
x={}; printf '<%s>' "\${x#"{}"}" "\${x%{}}" "\${x#'{}'}"
x="\$(case a in a) printf '%s.' {};; (b|c) :;; esac)"; printf '<%s>' "\${x%.}"
case {} in {}) printf '<m>';; *) printf '<n>';; esac
f() { printf '<%s>' {} "\$#"; }; set -- a b; f c # it's {}
while IFS= read -r l; do printf '%s\n' "\$l"; done <<END
[{}] '{}' "{}" \$(printf '%s' "{}")
END
while IFS= read -r l; do printf '%s\n' "\$l"; done <<-A; while IFS= read -r l; do printf '%s\n' "\$l"; done <<'B'
${tab}({})
${tab}A
{{}}
B
x=\$(while IFS= read -r l; do printf '%s\n' "\$l"; done <<END
)'{}'
END
); printf '<%s>' "\$x"
EOF
}

want_contexts() {
	local v=$1 vs=$1    # vs: as $(...) leaves it, without trailing newlines
	while [[ $vs == *$'\n' ]]; do vs=${vs%$'\n'}; done
	printf '<%s>' "$v" "a${v}b" "q${v}q" "d${v}d" "$v" "$v" "$v" "$v" "$v." \
		"$v" "$v" "'$v'" "$vs" "" "" "" "$v" m "$v" 1
	printf '[%s] '\''%s'\'' "%s" %s\n(%s)\n{}\n' "$v" "$v" "$v" "$vs" "$v"
	printf '<)'\''%s'\''>' "$v"
}

# vals: hostile values for a shell script, all data (none has [ with $ or
# `); and a spec running contexts_script for each, and telling the shell.
contexts_spec() {
	jq -n --argjson v "$(jarr "${vals[@]}")" --arg cmd "$(contexts_script)" \
		'{jobs: [{name: "c", shell: $cmd, foreach: $v},
		         {name: "which", shell: "if [ -n \"${BASH_VERSION-}\" ]; then echo bash; else echo dash; fi"}]}' | spec
}
contexts_values() {
	meta_values
	vals+=('x[1]' ']' '{}' '{{}}' $'tail\n\n' '\' '$((1+1))' '${HOME}' "'" '"')
}

check_contexts() {
	local want='' v i=0
	[ "$(jqo '.jobs | length')" = $(( ${#vals[@]} + 1 )) ]
	for v in "${vals[@]}"; do
		[ "$(jqo --argjson i $i '.jobs[$i].stdout')" = "$(want_contexts "$v")" ] || {
			echo "value <$v>: got <$(jqo --argjson i $i '.jobs[$i].stdout')> want <$(want_contexts "$v")>"
			return 1
		}
		i=$((i + 1))
	done
	nothing_pwned
}

# Run piperun with bash mounted over /bin/sh, in a mount namespace of its
# own (root only: tests run as root in CI).
pr_bash_sh() {
	[ "$(id -u)" -eq 0 ] || skip "needs root for unshare -m and mount --bind"
	unshare -m true 2>/dev/null || skip "unshare -m does not work here"
	run --separate-stderr unshare -m sh -c 'mount --bind /bin/bash /bin/sh && exec "$0" "$@"' \
		"$PIPERUN" "$@"
}

@test "shell: a value is data in every context of the sh grammar, under dash as /bin/sh" {
	[ "$(readlink -f /bin/sh)" != "$(readlink -f /bin/bash)" ] || skip "/bin/sh is bash here"
	contexts_values
	f=$(contexts_spec)
	pr run "$f"
	assert_success
	[ "$(jqo '.jobs[-1].stdout')" = dash ]
	check_contexts
}

@test "shell: a value is data in every context of the sh grammar, under bash as /bin/sh" {
	contexts_values
	f=$(contexts_spec)
	pr_bash_sh run "$f"
	assert_success
	[ "$(jqo '.jobs[-1].stdout')" = bash ]
	check_contexts
}

# Arithmetic contexts: sh's (under dash and bash) and bash's own.
arith_spec() {
	jq -n --arg bash "$1" '{jobs: [
	  {name: "posix", foreach: ["41", "+2", "-3", "007"],
	   shell: "echo $(( {} + 1 )) \"$(( {} * 2 ))\"; x=$(( ({}) )); echo $x"},
	  {name: "bash", foreach: ["3", "+2"],
	   shell: (if $bash == "" then "true" else "(( y = {} )); let z={}+1; a[{}]=7; v=abcdef; [[ {} -eq $y ]] && echo $y $z ${a[{}]} ${v:{}:1} $[{}]" end)}]}' | spec
}

@test "shell: in arithmetic a value must be an integer, and [ with \$ or \` is refused anywhere (validate, plan, run: 2)" {
	cd "$T"
	# integers are data in arithmetic, under dash and under bash
	f=$(arith_spec "")
	pr run "$f"
	assert_success
	[ "$(jqo '[.jobs[0:4][].stdout] | join("|")')" = $'42 82\n41\n|3 4\n2\n|-2 -6\n-3\n|8 14\n7' ]
	if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
		f=$(arith_spec bash)
		pr_bash_sh run "$f"
		assert_success
		[ "$(jqo '[.jobs[4:][].stdout] | join("|")')" = $'3 4 7 d 3\n|2 3 7 c 2' ]
	fi
	# anything else there is refused before anything runs
	f=$(spec <<'EOF'
{"jobs": [
 {"name": "ar", "shell": "echo $(( {} + 1 ))", "foreach": ["1", "$(touch pwned1)", "x"]},
 {"name": "sub", "shell": "a[{}]=1; echo \"${a[{}]}\"", "foreach": ["a[$(touch pwned2)]"]},
 {"name": "cond", "shell": "[[ \"$(echo x)\" == x && {} -eq 1 ]]", "foreach": ["`touch pwned3`"]},
 {"name": "any", "shell": "n={}; echo $((n + 1))", "foreach": ["a[$(touch pwned4)]", "b[`touch pwned5`]", "[x]"]},
 {"name": "in-dq", "shell": "echo \"{}\"", "foreach": ["\"a[$(touch pwned6)]\""]}
]}
EOF
)
	for cmd in validate plan run; do
		pr "$cmd" "$f"
		assert_failure 2
		assert_output ''
		local p="piperun: $f: jobs"
		[ "$stderr" = "$p[0].foreach[1]: \"\$(touch pwned1)\": {} is read as arithmetic in \$((...)), where only an integer is data (bash runs \$(...) in a[...] there): expected digits with an optional sign
$p[0].foreach[2]: \"x\": {} is read as arithmetic in \$((...)), where only an integer is data (bash runs \$(...) in a[...] there): expected digits with an optional sign
$p[1].foreach[0]: \"a[\$(touch pwned2)]\": {} is read as arithmetic in an array subscript, where only an integer is data (bash runs \$(...) in a[...] there): expected digits with an optional sign
$p[2].foreach[0]: \"\`touch pwned3\`\": {} is read as arithmetic in [[ ... -eq ... ]], where only an integer is data (bash runs \$(...) in a[...] there): expected digits with an optional sign
$p[3].foreach[0]: \"a[\$(touch pwned4)]\": a value with '[' and '\$' or '\`' cannot be a shell script's {}: bash runs the code in it wherever the script reads it as arithmetic (a[\$(cmd)] in \$((...)), [[ -eq ]], let ...); pass it through \"env\" or as an argument of a \"run\" argv
$p[3].foreach[1]: \"b[\`touch pwned5\`]\": a value with '[' and '\$' or '\`' cannot be a shell script's {}: bash runs the code in it wherever the script reads it as arithmetic (a[\$(cmd)] in \$((...)), [[ -eq ]], let ...); pass it through \"env\" or as an argument of a \"run\" argv
$p[4].foreach[0]: \"\\\"a[\$(touch pwned6)]\\\"\": a value with '[' and '\$' or '\`' cannot be a shell script's {}: bash runs the code in it wherever the script reads it as arithmetic (a[\$(cmd)] in \$((...)), [[ -eq ]], let ...); pass it through \"env\" or as an argument of a \"run\" argv" ]
	done
	nothing_pwned
}

@test "shell: {} in a here-document whose delimiter is quoted is a spec error" {
	for d in "'EOF'" '\"EOF\"' '\\EOF'; do
		f=$(spec <<EOF
{"jobs": [{"name": "h", "shell": "cat <<$d\n{}\nEOF", "foreach": ["\$(touch $T/pwned1)"]}]}
EOF
)
		for cmd in validate plan run; do
			pr "$cmd" "$f"
			assert_failure 2
			[ "$stderr" = "piperun: $f: jobs[0].shell: {} is in a here-document whose delimiter is quoted (as in <<'EOF'), where sh expands nothing: the value cannot be put there as data; leave the delimiter unquoted or pass the value through \"env\"" ]
		done
	done
	nothing_pwned
}

@test "shell: plan and results show the argv that passes the value to sh; a secret value is ***" {
	S=$(secret)
	f=$(spec <<EOF
{"jobs": [{"name": "s", "shell": "echo {} '{}'", "foreach": ["\$(x)", "$S"],
  "env": {"PW": "$S"}, "secret_env": ["PW"]},
 {"name": "r", "shell": "echo {} {#}", "repeat": 1}]}
EOF
)
	sh_argv='"/bin/sh","-c","__piperun_v=$1; shift; echo \"${__piperun_v}\" \"${__piperun_v}\""'
	pr plan "$f"
	assert_success
	[ "$(jqo -c '.jobs[] | [.argv, .shell]')" = "[[$sh_argv,\"/bin/sh\",\"\$(x)\"],\"__piperun_v=\$1; shift; echo \\\"\${__piperun_v}\\\" \\\"\${__piperun_v}\\\"\"]
[[$sh_argv,\"/bin/sh\",\"***\"],\"__piperun_v=\$1; shift; echo \\\"\${__piperun_v}\\\" \\\"\${__piperun_v}\\\"\"]
[[\"/bin/sh\",\"-c\",\"echo 1 1\"],\"echo 1 1\"]" ]
	no_secret "$output" "$stderr"
	pr run "$f"
	assert_success
	[ "$(jqo -c '.jobs[] | .stages[0].argv')" = "[$sh_argv,\"/bin/sh\",\"\$(x)\"]
[$sh_argv,\"/bin/sh\",\"***\"]
[\"/bin/sh\",\"-c\",\"echo 1 1\"]" ]
	[ "$(jqo '.jobs[0].stdout')" = '$(x) $(x)' ]
	no_secret "$(jq -c 'del(.jobs[1].stdout)' <<<"$output")" "$stderr"
}

# ---------------------------------------------------- paths as given

@test "paths are used as given: relative to piperun's directory, not the spec's; no ~, \$VAR or glob expansion" {
	mkdir -p "$T/wd/sub/bin" "$T/wd/~" "$T/wd/\$HOME" "$T/wd/a b*" "$T/specs"
	echo top > "$T/wd/in.txt"
	echo sub > "$T/wd/sub/in.txt"
	echo star > "$T/wd/in *.txt"
	printf '#!/bin/sh\necho tool-in-sub\n' > "$T/wd/sub/tool"
	printf '#!/bin/sh\necho tool-in-top\n' > "$T/wd/tool"
	printf '#!/bin/sh\necho bin-in-sub\n' > "$T/wd/sub/bin/btool"
	chmod +x "$T/wd/sub/tool" "$T/wd/tool" "$T/wd/sub/bin/btool"
	f=$(spec specs/p.json <<'EOF'
{"jobs": [
 {"name": "cwd", "run": ["pwd"], "cwd": "sub"},
 {"name": "tilde", "run": ["pwd"], "cwd": "~"},
 {"name": "var", "run": ["pwd"], "cwd": "$HOME"},
 {"name": "glob", "run": ["pwd"], "cwd": "a b*"},
 {"name": "in", "run": ["cat"], "cwd": "sub", "stdin": {"file": "in.txt"}},
 {"name": "star", "run": ["cat"], "stdin": {"file": "in *.txt"}},
 {"name": "out", "run": ["echo", "x"], "cwd": "sub", "stdout": {"file": "out $(touch pwned).txt"}},
 {"name": "dot", "run": ["./tool"], "cwd": "sub"},
 {"name": "top", "run": ["./tool"]},
 {"name": "path", "run": ["btool"], "cwd": "sub", "env": {"PATH": "bin:/usr/bin:/bin"}}
]}
EOF
)
	cd "$T/wd"
	pr run "$f"
	assert_success
	# cwd, stdin and stdout files relative to piperun's directory; a
	# relative program path and relative PATH entries from the job's cwd
	[ "$(jqo -c '[.jobs[].stdout]')" = "$(jq -cn --arg w "$T/wd" '["\($w)/sub\n", "\($w)/~\n", "\($w)/$HOME\n", "\($w)/a b*\n", "top\n", "star\n", null, "tool-in-sub\n", "tool-in-top\n", "bin-in-sub\n"]')" ]
	[ "$(cat "$T/wd/out \$(touch pwned).txt")" = x ]
	[ ! -e "$T/wd/sub/out \$(touch pwned).txt" ]
	[ ! -e "$T/wd/pwned" ] && [ ! -e "$T/wd/sub/pwned" ]
	# the plan shows them as written
	pr plan "$f"
	assert_success
	[ "$(jqo -c '[.jobs[].cwd], .jobs[4].stdin, .jobs[6].stdout')" = '["sub","~","$HOME","a b*","sub",null,"sub","sub",null,"sub"]
{"file":"in.txt"}
{"file":"out $(touch pwned).txt","append":false}' ]
	# from the spec's own directory the same relative paths name nothing
	cd "$T/specs"
	pr run "$f"
	assert_failure 1
	[ "$(jqo -r '.jobs[0].error')" = 'cwd sub: No such file or directory' ]
}
