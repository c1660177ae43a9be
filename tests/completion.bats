#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Shell completion (issue 19): completion/piperun.bash loaded in bash
# completes commands, each command's options, option values, spec files
# and job names (--only from the spec, show --job from the results);
# its tables agree with what piperun itself accepts; and the zsh
# function completion/_piperun loads and finds the same job names.
load helper

COMPLETION="$TESTS_DIR/../completion"

setup() {
	# shellcheck source=../completion/piperun.bash
	source "$COMPLETION/piperun.bash"
}

# Complete the command line $1 as bash would: words split at blanks,
# and at "=" after an option (COMP_WORDBREAKS); a line ending in a blank
# completes an empty word.  The cursor is at the end, or in word $2 (0:
# the program, which is $PIPERUN).  Sets $reply to COMPREPLY, one per
# line, sorted.
comp() {
	local line=$1 w
	local -a words=()
	read -ra parts <<< "$line"
	for w in "${parts[@]}"; do
		if [[ $w == --*=* ]]; then
			words+=("${w%%=*}" "=")
			[ -n "${w#*=}" ] && words+=("${w#*=}")
		else
			words+=("$w")
		fi
	done
	[[ $line == *' ' ]] && words+=("")
	words[0]=$PIPERUN
	COMP_WORDS=("${words[@]}")
	COMP_CWORD=${2:-$((${#words[@]} - 1))}
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMPREPLY=()
	_piperun
	reply=$(printf '%s\n' "${COMPREPLY[@]}" | sort -u | sed '/^$/d')
}

# The words $@, one per line, sorted (to compare with $reply).
sorted() {
	printf '%s\n' "$@" | sort -u
}

@test "completion: loading it registers _piperun for piperun" {
	run complete -p piperun
	assert_success
	assert_output "complete -F _piperun piperun"
}

@test "completion: a command from its prefix; every listed command and help, no hidden one" {
	comp "piperun r"
	[ "$reply" = run ]
	comp "piperun p"
	[ "$reply" = "$(sorted plan pool)" ]
	comp "piperun "
	listed=$("$PIPERUN" --help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p' | sort -u)
	[ -n "$listed" ]
	[ "$reply" = "$listed" ]
	[[ $reply == *help* ]]
	[[ $reply != *__* ]]
	comp "piperun help j"
	[ "$reply" = journal ]
	comp "piperun -"
	[ "$reply" = "$(sorted -h -V --help --version)" ]
}

@test "completion: run's options from a prefix, and none after --" {
	comp "piperun run --ti"
	[ "$reply" = "$(sorted --timeout --timestamps)" ]
	comp "piperun run -j 4 --on"
	[ "$reply" = --only ]
	comp "piperun run -- --on"
	[ -z "$reply" ]
}

@test "completion: each command's options are the ones its help lists" {
	# (-h/--help, which some helps leave out, aside); every command
	# piperun --help lists, so a new one cannot be forgotten
	local cmds
	cmds=$("$PIPERUN" --help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p' | grep -vx help)
	[ -n "$cmds" ]
	for cmd in $cmds; do
		comp "piperun $cmd -"
		[[ $reply == *--help* ]]
		reply=$(grep -vxE -e '-h|--help' <<< "$reply" || :)
		help=$("$PIPERUN" help "$cmd" | grep -E '^ +(-[A-Za-z], )?--[a-z]' |
			grep -oE '(^|, | )-(-[a-z-]+|[A-Za-z])\b' | sed 's/^[, ]*//' |
			grep -vxE -e '-h|--help' | sort -u || :)
		if [ "$reply" != "$help" ]; then
			diff <(echo "$help") <(echo "$reply") >&2 || :
			echo "$cmd: the completion's options (>) differ from its help's (<)" >&2
			return 1
		fi
	done
}

@test "completion: --mode values, with and without =" {
	comp "piperun run --mode "
	[ "$reply" = "$(sorted async thread serial)" ]
	comp "piperun run --mode=th"
	[ "$reply" = thread ]
	comp "piperun run --mode="
	[ "$reply" = "$(sorted async thread serial)" ]
	comp "piperun pool --mode p"
	[ "$reply" = process ]
	comp "piperun run -o js"
	[ "$reply" = "$(sorted json jsonl)" ]
	comp "piperun exec -s KI"
	[ "$reply" = KILL ]
	comp "piperun timeout --signal=T"
	[ "$reply" = "$(sorted TERM TRAP TSTP TTIN TTOU)" ]
}

# The choices piperun names when option $2 of command $1 gets a value it
# does not take ("expected a, b or c"; pool's tasks "built in: a, b").
choices() {
	local cmd=$1 opt=$2
	shift 2
	run "$PIPERUN" "$cmd" "$opt=no-such-value" "$@" < /dev/null
	[ "$status" -eq 2 ]
	sed -n -e 's/.*expected \(.*\), got .*/\1/p' -e 's/.*(built in: \(.*\))$/\1/p' <<< "$output" |
		sed 's/, / /g; s/ or / /' | tr ' ' '\n' | sort -u
}

@test "completion: option values are the ones piperun accepts" {
	for c in "run --mode x.json" "run --executor x.json" "run --output x.json" \
		"run --progress x.json" "journal --output x" "pool --mode" "pool --output" \
		"pool --task"; do
		read -r cmd opt rest <<< "$c"
		# shellcheck disable=SC2086
		want=$(choices "$cmd" "$opt" $rest)
		[ -n "$want" ]
		comp "piperun $cmd $opt "
		if [ "$reply" != "$want" ]; then
			echo "$cmd $opt: completes \"$reply\", piperun takes \"$want\"" >&2
			return 1
		fi
	done
	comp "piperun exec -s "
	for sig in $reply; do
		run "$PIPERUN" exec -s "$sig" -- true
		[ "$status" -eq 0 ] || { echo "exec -s $sig: $output" >&2; return 1; }
	done
	[[ $reply == *TERM* ]]
}

@test "completion: spec files (*.json) and directories as run's operand" {
	mkdir "$BATS_TEST_TMPDIR/w" && cd "$BATS_TEST_TMPDIR/w"
	mkdir specs && : > a.json && : > b.txt && : > specs/c.json
	comp "piperun run "
	[ "$reply" = "$(sorted a.json specs)" ]
	comp "piperun run -j 2 --mode serial specs/"
	[ "$reply" = specs/c.json ]
	comp "piperun validate a.json "
	[ "$reply" = "$(sorted a.json specs)" ]
	# one spec only: after it, nothing but options
	comp "piperun plan a.json "
	[ -z "$reply" ]
	# a value's file is any file
	comp "piperun run --results b"
	[ "$reply" = b.txt ]
}

@test "completion: --only completes the job names of the spec on the line (seed-demo)" {
	spec=$PIPELINES/seed-demo.json
	comp "piperun run $spec --only "
	[ "$reply" = "$(sorted hello sleep enc)" ]
	# the spec after the cursor
	comp "piperun run --only s $spec" 3
	[ "$reply" = sleep ]
	comp "piperun run --only=s"
	[ -z "$reply" ]
	comp "piperun run -q $spec --only=e"
	[ "$reply" = enc ]
	comp "piperun run --only hello $spec --only sleep#"
	[ "$reply" = "$(sorted sleep#{1..10})" ]
	comp "piperun run $spec --only enc#"
	[ "$reply" = "$(sorted enc#1 enc#2 enc#3)" ]
}

@test "completion: --only names foreach copies and quotes names for the shell" {
	s=$(spec <<'EOF'
{"jobs": [
 {"name": "conv", "run": ["echo", "{}"], "foreach": ["a.csv", "b c"]},
 {"name": "two words", "run": ["true"]}
]}
EOF
)
	comp "piperun run $s --only "
	[ "$reply" = "$(sorted conv 'two\ words')" ]
	comp "piperun run $s --only conv["
	[ "$reply" = "$(sorted 'conv\[a.csv\]' 'conv\[b\ c\]')" ]
	# a spec that does not load: no names, no error
	echo '{"jobs": [' > "$BATS_TEST_TMPDIR/bad.json"
	comp "piperun run $BATS_TEST_TMPDIR/bad.json --only "
	[ -z "$reply" ]
}

@test "completion: show --job completes the jobs of the results, --field their fields" {
	"$PIPERUN" run -q --results "$BATS_TEST_TMPDIR/r.json" "$PIPELINES/seed-demo.json" --only hello --only enc || :
	comp "piperun show $BATS_TEST_TMPDIR/r.json --job "
	[ "$reply" = "$(sorted hello enc#1 enc#2 enc#3)" ]
	comp "piperun show --job enc $BATS_TEST_TMPDIR/r.json" 3
	[ "$reply" = "$(sorted enc#1 enc#2 enc#3)" ]
	comp "piperun show --job enc#1 --field stdout_s"
	[ "$reply" = stdout_sha256 ]
	comp "piperun show --field summary.f"
	[ "$reply" = summary.failed ]
}

@test "completion: exec and timeout complete a COMMAND, and no options of theirs after it" {
	comp "piperun exec -t 5 printen"
	[[ $reply == *printenv* ]]
	comp "piperun exec -t 5 printenv --ti"
	[[ $reply != *--timeout* ]]
	comp "piperun timeout -s KILL 5 printen"
	[[ $reply == *printenv* ]]
	# timeout's first operand is the DURATION
	comp "piperun timeout printen"
	[ -z "$reply" ]
}

@test "completion: zsh loads _piperun with compinit and finds the same job names" {
	command -v zsh
	zsh -n "$COMPLETION/_piperun"
	run zsh -fc "fpath=('$COMPLETION' \$fpath); autoload -U compinit; compinit -u -d '$BATS_TEST_TMPDIR/zcompdump'; print -r -- \$_comps[piperun]"
	assert_success
	assert_output _piperun
	run zsh -fc "source '$COMPLETION/_piperun'; __piperun_zsh_spec_jobs '$PIPERUN' '$PIPELINES/seed-demo.json' '' | tr '\\0' '\\n'"
	assert_success
	assert_output "$(printf '%s\n' hello sleep enc)"
}

# Type $2 (a line ending in tabs) into an interactive zsh with _piperun
# and $PIPERUN first on PATH, and wait (at most 30 s) until the screen
# has shown each word of $1; else print what it showed and fail.
zsh_shows() {
	python3 - "$1" "$2" "$COMPLETION" "${PIPERUN%/*}" "$BATS_TEST_TMPDIR" <<'PY'
import os, pty, select, sys, time
want, keys, comp, bindir, tmp = sys.argv[1].split(), *sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.environ.update(TERM="dumb", HOME=tmp)
    os.execvp("zsh", ["zsh", "-f", "-i"])
os.write(fd, (f"path=('{bindir}' $path); fpath=('{comp}' $fpath); "
              f"autoload -U compinit; compinit -u -d '{tmp}/zcompdump'; "
              "print RE''ADY\n").encode())
seen, typed, end = b"", False, time.time() + 30
while time.time() < end:
    if select.select([fd], [], [], 0.2)[0]:
        try:
            seen += os.read(fd, 65536)
        except OSError:
            break
    # READY as output only (the echo of the line says RE''ADY), and
    # the next prompt after it: zle is reading the terminal again
    # (keys typed earlier, while compinit runs, may be lost)
    if not typed and b"READY" in seen and seen.split(b"READY", 1)[1].rstrip(b"\r\n"):
        seen, typed = b"", True
        os.write(fd, keys.encode())
    if typed and all(w.encode() in seen for w in want):
        break
os.kill(pid, 9)
os.waitpid(pid, 0)
if not (typed and all(w.encode() in seen for w in want)):
    sys.exit("zsh showed: %r" % seen.decode(errors="replace"))
PY
}

@test "completion: zsh completes --mode values, --only job names and signals in a terminal" {
	command -v zsh
	s=$(spec <<<'{"jobs": [{"name": "alpha-job", "run": ["true"]}, {"name": "beta-job", "run": ["true"]}]}')
	zsh_shows 'async serial thread' $'piperun run --mode=\t\t'
	zsh_shows 'alpha-job beta-job' "piperun run $s --only "$'\t\t'
	zsh_shows 'KILL' $'piperun exec -s KI\t\t'
	zsh_shows 'tour.json' "piperun run $PIPELINES/to"$'\t\t'
}

@test "completion: a TAB never runs a spec's foreach command source; its job is left out" {
	spec=$BATS_TEST_TMPDIR/src.json
	cat > "$spec" <<EOF
{"jobs": [{"name": "fromcmd", "run": ["true"],
           "foreach": {"command": ["sh", "-c", "touch $BATS_TEST_TMPDIR/ran; echo a"]}},
          {"name": "plain", "run": ["true"]}]}
EOF
	comp "piperun run $spec --only "
	[ "$reply" = plain ]
	comp "piperun run $spec --only fromcmd["
	[ -z "$reply" ]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
	# plan itself does run it, and says so
	run "$PIPERUN" plan "$spec"
	[ "$status" -eq 0 ]
	[ -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "completion: --only decodes every JSON escape of a name and offers it quoted; run finds the job" {
	s=$BATS_TEST_TMPDIR/esc.json
	printf '%s\n' '{"jobs": [{"name": "q\nnl", "run": ["true"]}, {"name": "t\tab", "run": ["true"]},
	  {"name": "u\u00e9\ud83d\ude00\\b\/s\"q", "run": ["true"]}, {"name": "cr\r\b\f", "run": ["true"]}]}' > "$s"
	"$PIPERUN" validate "$s"
	comp "piperun run $s --only "
	[ "${#COMPREPLY[@]}" = 4 ]
	want=($'q\nnl' $'t\tab' $'u\xc3\xa9\xf0\x9f\x98\x80\\b/s"q' $'cr\r\b\f')
	got=()
	for w in "${COMPREPLY[@]}"; do
		eval "got+=($w)"
	done
	[ "$(printf '%s\0' "${got[@]}" | sort -z | od -c)" = "$(printf '%s\0' "${want[@]}" | sort -z | od -c)" ]
	# each offered word, as the shell passes it, names the job
	for w in "${COMPREPLY[@]}"; do
		eval "name=$w"
		run "$PIPERUN" run -o json "$s" --only "$name"
		assert_success
		[ "$(jq -r '.jobs | length' <<< "$output")" = 1 ]
	done
	# a prefix typed before the name's newline
	comp "piperun run $s --only q"
	[ "$reply" = "\$'q\\nnl'" ]
	# what a shell argument cannot hold exactly is refused, never offered
	# wrong (a spec cannot name a job so: this is the decoder's guard)
	! __piperun_json_decode 'z\u0000'
	! __piperun_json_decode 'lone\udc00x'
	! __piperun_json_decode 'half\ud83dx'
	! __piperun_json_decode 'bad\x'
	__piperun_json_decode 'a\u0041\/'
	[ "$__pr_str" = aA/ ]
	# zsh decodes the same names (NUL-separated, compadd quotes them)
	command -v zsh
	printf '%s\n' '{"jobs": [{"name": "q\nnl", "run": ["true"]}, {"name": "t\tab", "run": ["true"]},
	  {"name": "u\u00e9\ud83d\ude00\\b\/s\"q", "run": ["true"]}, {"name": "cr\r\b\f", "run": ["true"]}]}' > "$s"
	zsh -fc "source '$COMPLETION/_piperun'; __piperun_zsh_spec_jobs '$PIPERUN' '$s' ''" > "$BATS_TEST_TMPDIR/z"
	[ "$(sort -z < "$BATS_TEST_TMPDIR/z" | od -c)" = "$(printf '%s\0' "${want[@]}" | sort -z | od -c)" ]
}

# comp $1 in a bash of its own, for at most 20 s; prints $reply.
comp_bounded() {
	timeout 20 bash -c "$(declare -f comp); source '$COMPLETION/piperun.bash';
		PIPERUN='$PIPERUN'; comp \"\$1\"; printf '%s\n' \"\$reply\"" bash "$1"
}

@test "completion: a TAB never hangs: a spec or results that is a FIFO, a spec reading a FIFO" {
	mkfifo "$BATS_TEST_TMPDIR/fifo.json" "$BATS_TEST_TMPDIR/lines"
	run comp_bounded "piperun run $BATS_TEST_TMPDIR/fifo.json --only "
	assert_success
	assert_output ""
	run comp_bounded "piperun show $BATS_TEST_TMPDIR/fifo.json --job "
	assert_success
	assert_output ""
	# a regular spec whose foreach lines source is a FIFO nobody writes:
	# plan --no-commands waits for it; the TAB gives up after 5 s
	s=$BATS_TEST_TMPDIR/reads-fifo.json
	printf '%s\n' "{\"jobs\": [{\"name\": \"w\", \"run\": [\"echo\", \"{}\"],
	  \"foreach\": {\"lines\": \"$BATS_TEST_TMPDIR/lines\"}}]}" > "$s"
	run comp_bounded "piperun run $s --only "
	assert_success
	assert_output ""
	command -v zsh
	run timeout 20 zsh -fc "source '$COMPLETION/_piperun'; __piperun_zsh_spec_jobs '$PIPERUN' '$BATS_TEST_TMPDIR/fifo.json' ''"
	assert_success
	assert_output ""
	run timeout 20 zsh -fc "source '$COMPLETION/_piperun'; __piperun_zsh_spec_jobs '$PIPERUN' '$s' ''"
	assert_success
	assert_output ""
}
