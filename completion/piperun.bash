# SPDX-License-Identifier: GPL-3.0-or-later
# piperun.bash - bash completion for piperun(1): its commands, each
# command's options (as src/cmd-*.c parse them), the values an option
# takes (modes, output formats, signals, tasks), spec files (*.json) as
# operands, and job names for `run --only` (from `piperun plan
# --no-commands SPEC`: a TAB never runs a foreach command source) and
# `show --job` (from `piperun show RESULTS`).  Plain bash: it needs
# neither the bash-completion package nor jq (it uses bash-completion's
# _command_offset for exec's and timeout's COMMAND when that is loaded).
#
# Installed into bash-completion's completionsdir, where it is loaded on
# first use; or `source completion/piperun.bash` from a source tree.
# tests/completion.bats keeps the tables below in step with the program.

# ------------------------------------------------------------ tables

__piperun_commands='run validate plan journal show schema timeline exec timeout pool help'

# The options of each command: every spelling getopt_long accepts, and
# (the second list) those that take a value, which the operand scan
# skips when it is the next word.
__piperun_opts() {
	case $1 in
	run) printf '%s\n' -j --max-parallel --mode --timeout --fail-fast \
		--executor --slurm-wait -o --output --results --journal --resume \
		--only -q --quiet --progress --tag --timestamps --trace -h --help ;;
	validate) printf '%s\n' -h --help ;;
	plan) printf '%s\n' --resume --no-commands -h --help ;;
	schema) printf '%s\n' -h --help ;;
	timeline) printf '%s\n' --svg --html -w --width -h --help ;;
	journal) printf '%s\n' -o --output -h --help ;;
	show) printf '%s\n' -j --job -f --field --failed -z --null -h --help ;;
	exec) printf '%s\n' -t --timeout -k --kill-after -s --signal \
		--preserve-status --foreground -v --verbose --json --trace -h --help ;;
	timeout) printf '%s\n' -f --foreground -k --kill-after -p \
		--preserve-status -s --signal -v --verbose --json --trace --help \
		--version ;;
	pool) printf '%s\n' --task --task-plugin --mode -j --workers --items \
		--timeout --fail-fast --max-inflight --max-items-per-worker \
		-o --output --compare --chunk --trace -h --help ;;
	esac
}

__piperun_opts_with_value() {
	case $1 in
	run) printf '%s\n' -j --max-parallel --mode --timeout --executor \
		--slurm-wait -o --output --results --journal --resume --only \
		--progress --trace ;;
	plan) printf '%s\n' --resume ;;
	timeline) printf '%s\n' --svg --html -w --width ;;
	journal) printf '%s\n' -o --output ;;
	show) printf '%s\n' -j --job -f --field ;;
	exec) printf '%s\n' -t --timeout -k --kill-after -s --signal --json --trace ;;
	timeout) printf '%s\n' -k --kill-after -s --signal --json --trace ;;
	pool) printf '%s\n' --task --task-plugin --mode -j --workers --items \
		--timeout --max-inflight --max-items-per-worker -o --output --chunk \
		--trace ;;
	esac
}

# The signal names -s/--signal takes (cu-args.c; a number, lower case
# and a SIG prefix are accepted too).
__piperun_signals='HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2
PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM
PROF WINCH IO PWR SYS RTMIN RTMAX'

# The fields `show --field` names most: a job's record, or the run's.
__piperun_job_fields='name status returncode exit_code signal stdout stderr
stdout_bytes stderr_bytes stdout_encoding stderr_encoding stdout_truncated
stderr_truncated stdout_sha256 stderr_sha256 duration_ms started_ms
attempts error timed_out termination kind stages containment escaped
resumed'
__piperun_run_fields='name status duration_ms started_at mode max_parallel
stopped runner containment piperun summary summary.total summary.ok
summary.failed summary.timeout summary.error summary.skipped
summary.cancelled'

# ------------------------------------------------------------ helpers

# COMP_WORDS with the words bash split at "=" (COMP_WORDBREAKS) glued
# back: "--mode", "=", "th" is "--mode=th".  Sets __pr_words, __pr_cword
# and __pr_orig (each word's index in COMP_WORDS).
__piperun_words() {
	local i n=${#COMP_WORDS[@]} w last
	__pr_words=() __pr_orig=() __pr_cword=0
	for ((i = 0; i < n; i++)); do
		w=${COMP_WORDS[i]}
		last=$((${#__pr_words[@]} - 1))
		if [[ $w == = && $last -ge 1 && ${__pr_words[last]} == --* &&
			${__pr_words[last]} != *=* ]]; then
			__pr_words[last]+==
			((i == COMP_CWORD)) && __pr_cword=$last
			# the value, when the cursor is not on the "=" itself
			if ((i < COMP_CWORD && i + 1 < n)); then
				i=$((i + 1))
				__pr_words[last]+=${COMP_WORDS[i]}
				((i == COMP_CWORD)) && __pr_cword=$last
			fi
			continue
		fi
		__pr_words+=("$w")
		__pr_orig+=("$i")
		((i == COMP_CWORD)) && __pr_cword=$((${#__pr_words[@]} - 1))
	done
	return 0
}

# A word as the shell would pass it: quotes and backslashes off, ~ home.
__piperun_dequote() {
	local w=$1
	case $w in
	\'*) w=${w#\'} w=${w%\'} ;;
	\"*) w=${w#\"} w=${w%\"} ;;
	*) w=${w//\\\\/$'\001'} w=${w//\\/} w=${w//$'\001'/\\} ;;
	esac
	[[ $w == \~/* ]] && w=$HOME/${w#\~/}
	printf '%s' "$w"
}

# The program being completed (as typed: ./build/piperun too).
# Run "$@" for at most 5 s: a TAB must never hang (a spec whose lines
# source is a FIFO nobody writes, a slow disk).
__piperun_bounded() {
	if type -P timeout > /dev/null; then
		timeout 5 "$@"
	else
		"$@"
	fi
}

__piperun_prog() {
	local p
	p=$(__piperun_dequote "${__pr_words[0]}")
	if [[ $p == */* && -x $p ]] || type -P -- "$p" > /dev/null; then
		printf '%s' "$p"
	else
		printf piperun
	fi
}

# The operands of the command word $1 (at __pr_words[1]): sets
# __pr_operands (their words, the one being completed left out),
# __pr_nbefore (how many come before the cursor) and, for exec and
# timeout, __pr_cmdat (the index of their COMMAND, where options end:
# getopt's "+"; -1 while there is none).
__piperun_operands() {
	local cmd=$1 i w skip=0 dashdash=0 n=0 last=${#__pr_words[@]}
	local -a valued
	mapfile -t valued < <(__piperun_opts_with_value "$cmd")
	__pr_operands=() __pr_nbefore=0 __pr_cmdat=-1
	for ((i = 2; i < last; i++)); do
		w=${__pr_words[i]}
		if ((skip)); then
			skip=0
			continue
		fi
		if ((!dashdash)) && [[ $w == -?* || ($i -eq $__pr_cword && $w == -*) ]]; then
			if [[ $w == -- ]] && ((i != __pr_cword)); then
				dashdash=1
			elif [[ " ${valued[*]} " == *" $w "* ]]; then
				skip=1
			fi
			continue
		fi
		n=$((n + 1))
		((i < __pr_cword)) && __pr_nbefore=$((__pr_nbefore + 1))
		((i != __pr_cword)) && __pr_operands+=("$w")
		if [[ ($cmd == exec && $n -eq 1) || ($cmd == timeout && $n -eq 2) ]]; then
			__pr_cmdat=$i
			return 0
		fi
	done
	return 0
}

# Add to COMPREPLY the words of list $1 that start with $2, each with
# prefix $3 (the "--opt=" bash did not split off), quoted for the shell.
__piperun_add() {
	local w
	while IFS= read -r w; do
		[[ -n $w && $w == "$2"* ]] || continue
		if [[ $w == *[!A-Za-z0-9_./:+#=,@%-]* ]]; then
			COMPREPLY+=("$3$(printf '%q' "$w")")
		else
			COMPREPLY+=("$3$w")
		fi
	done <<< "$1"
	return 0
}

# File names that start with $1: those matching the glob $2 (and
# directories, to go into), or every file when $2 is empty.
__piperun_files() {
	local IFS=$'\n' f
	compopt -o filenames 2> /dev/null || :
	if [[ -n $2 ]]; then
		for f in $(compgen -f -X "!$2" -- "$1") $(compgen -d -- "$1"); do
			[[ " ${COMPREPLY[*]} " == *" $f "* ]] || COMPREPLY+=("$f")
		done
	else
		COMPREPLY+=($(compgen -f -- "$1" || :))
	fi
	return 0
}

# The job names of spec $1 for --only, from `piperun plan --no-commands`
# (a TAB must never run the spec's foreach command sources; their jobs
# are left out) (its pretty
# JSON has one key per line, a job's keys indented by six spaces): each
# base name, or, once $2 has a "#" or a "[", every copy's name (sleep#3,
# conv[a.csv]), one a line still JSON-escaped (a name may hold a
# newline): __piperun_add_json decodes them.  Nothing when the spec does
# not load.
__piperun_spec_jobs() {
	local key=base
	[[ $2 == *[#[]* ]] && key=name
	[[ -n $1 && $1 != - && -f $1 && -r $1 ]] || return 0
	__piperun_bounded "$(__piperun_prog)" plan --no-commands -- "$1" 2> /dev/null |
		sed -n "s/^      \"$key\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" |
		awk '!seen[$0]++'
}

# Code point $1 as UTF-8 into __pr_u8.
__piperun_utf8() {
	local c=$1 f
	if ((c < 0x80)); then
		printf -v f '\\x%02x' "$c"
	elif ((c < 0x800)); then
		printf -v f '\\x%02x\\x%02x' $((0xC0 | c >> 6)) $((0x80 | (c & 0x3F)))
	elif ((c < 0x10000)); then
		printf -v f '\\x%02x\\x%02x\\x%02x' $((0xE0 | c >> 12)) \
			$((0x80 | (c >> 6 & 0x3F))) $((0x80 | (c & 0x3F)))
	else
		printf -v f '\\x%02x\\x%02x\\x%02x\\x%02x' $((0xF0 | c >> 18)) \
			$((0x80 | (c >> 12 & 0x3F))) $((0x80 | (c >> 6 & 0x3F))) $((0x80 | (c & 0x3F)))
	fi
	printf -v __pr_u8 "$f"
}

# The body of a JSON string, $1, decoded (every escape of RFC 8259:
# \" \\ \/ \b \f \n \r \t \uXXXX, surrogate pairs too) into __pr_str;
# status 1 for one a shell string cannot hold exactly (\u0000, a lone
# surrogate, a bad escape): such a name is not offered, rather than a
# wrong one.
__piperun_json_decode() {
	local s=$1 out= c h='[0-9A-Fa-f]' cp lo
	local LC_ALL=C
	while [[ $s == *\\* ]]; do
		out+=${s%%\\*} s=${s#*\\}
		c=${s:0:1} s=${s:1}
		case $c in
		'"' | \\ | /) out+=$c ;;
		b) out+=$'\b' ;;
		f) out+=$'\f' ;;
		n) out+=$'\n' ;;
		r) out+=$'\r' ;;
		t) out+=$'\t' ;;
		u)
			[[ ${s:0:4} == $h$h$h$h ]] || return 1
			cp=$((16#${s:0:4})) s=${s:4}
			if ((cp >= 0xD800 && cp < 0xDC00)); then
				[[ ${s:0:6} == \\u$h$h$h$h ]] || return 1
				lo=$((16#${s:2:4})) s=${s:6}
				((lo >= 0xDC00 && lo < 0xE000)) || return 1
				cp=$((0x10000 + ((cp - 0xD800) << 10) + lo - 0xDC00))
			elif ((cp == 0 || (cp >= 0xDC00 && cp < 0xE000))); then
				return 1
			fi
			__piperun_utf8 "$cp"
			out+=$__pr_u8
			;;
		*) return 1 ;;
		esac
	done
	__pr_str=$out$s
}

# Add to COMPREPLY the JSON-escaped names of list $1 (one a line),
# decoded, that start with $2 (prefix $3), each once, quoted for the
# shell (a newline or a tab as $'..').
__piperun_add_json() {
	local w __pr_str __pr_u8
	local -A seen=()
	while IFS= read -r w; do
		[[ -n $w ]] && __piperun_json_decode "$w" || continue
		[[ -z ${seen[$__pr_str]+x} && $__pr_str == "$2"* ]] || continue
		seen[$__pr_str]=1
		if [[ $__pr_str == *[!A-Za-z0-9_./:+#=,@%-]* ]]; then
			COMPREPLY+=("$3$(printf '%q' "$__pr_str")")
		else
			COMPREPLY+=("$3$__pr_str")
		fi
	done <<< "$1"
	return 0
}

# The job names of results file $1 (`piperun show RESULTS`).
__piperun_result_jobs() {
	[[ -n $1 && $1 != - && -f $1 && -r $1 ]] || return 0
	__piperun_bounded "$(__piperun_prog)" show -- "$1" 2> /dev/null
}

# The COMMAND of exec or timeout, which starts at word $1: a program
# name, then its own arguments (bash-completion's _command_offset, when
# loaded, completes them as that program would).
__piperun_command() {
	local at=$1 cur=$2
	if declare -F _command_offset > /dev/null; then
		_command_offset "${__pr_orig[at]}"
	elif ((__pr_cword == at)); then
		COMPREPLY=($(compgen -c -- "$cur" | awk '!seen[$0]++'))
	else
		__piperun_files "$cur" ''
	fi
	return 0
}

# ------------------------------------------------------------ values

# The value of option $2 of command $1 that starts with $3 (prefix $4).
__piperun_value() {
	local cmd=$1 opt=$2 cur=$3 pre=$4
	case $cmd:$opt in
	run:--mode) __piperun_add $'async\nthread\nserial' "$cur" "$pre" ;;
	pool:--mode) __piperun_add $'serial\nthread\nprocess\nasync' "$cur" "$pre" ;;
	run:--executor) __piperun_add $'local\nslurm' "$cur" "$pre" ;;
	run:-o | run:--output) __piperun_add $'json\njsonl\ntext\nnone' "$cur" "$pre" ;;
	journal:-o | journal:--output) __piperun_add $'json\njsonl\ntext' "$cur" "$pre" ;;
	pool:-o | pool:--output)
		__piperun_add $'json\njsonl\ntext\nsummary\nnone' "$cur" "$pre" ;;
	run:--progress) __piperun_add $'auto\nalways\nnever' "$cur" "$pre" ;;
	pool:--task) __piperun_add $'gcd\nfactorize\nsleep' "$cur" "$pre" ;;
	exec:-s | exec:--signal | timeout:-s | timeout:--signal)
		__piperun_add "${__piperun_signals//[[:space:]]/$'\n'}" "$cur" "$pre" ;;
	run:--only)
		__piperun_operands run
		__piperun_add_json \
			"$(__piperun_spec_jobs "$(__piperun_dequote "${__pr_operands[0]}")" "$cur")" \
			"$cur" "$pre" ;;
	show:-j | show:--job)
		__piperun_operands show
		__piperun_add "$(__piperun_result_jobs "$(__piperun_dequote "${__pr_operands[0]}")")" \
			"$cur" "$pre" ;;
	show:-f | show:--field)
		local fields=$__piperun_run_fields w
		for w in "${__pr_words[@]:2}"; do
			[[ $w == -j || $w == --job || $w == --job=* ]] && fields=$__piperun_job_fields
		done
		__piperun_add "${fields//[[:space:]]/$'\n'}" "$cur" "$pre" ;;
	run:--results | run:--journal | run:--resume | plan:--resume | \
	exec:--json | timeout:--json | pool:--items | \
	run:--trace | pool:--trace | exec:--trace | timeout:--trace | \
	timeline:--svg | timeline:--html)
		[[ -z $pre ]] && __piperun_files "$cur" '' ;;
	pool:--task-plugin)
		[[ -z $pre ]] && __piperun_files "$cur" '*.so' ;;
	*) ;; # a number or a duration: nothing to offer
	esac
	return 0
}

# ------------------------------------------------------------ main

_piperun() {
	local __pr_cword __pr_nbefore __pr_cmdat=-1
	local -a __pr_words __pr_orig __pr_operands
	COMPREPLY=()
	__piperun_words
	local cur=${__pr_words[__pr_cword]} prev='' pre='' cmd=${__pr_words[1]}
	((__pr_cword > 1)) && prev=${__pr_words[__pr_cword - 1]}

	if ((__pr_cword == 1)); then
		if [[ $cur == -* ]]; then
			__piperun_add $'--help\n--version\n-h\n-V' "$cur" ''
		else
			__piperun_add "${__piperun_commands// /$'\n'}" "$cur" ''
		fi
		return 0
	fi
	[[ " $__piperun_commands " == *" $cmd "* ]] || return 0
	if [[ $cmd == help ]]; then
		((__pr_cword == 2)) && __piperun_add "${__piperun_commands// /$'\n'}" "$cur" ''
		return 0
	fi

	__piperun_operands "$cmd"
	local -a valued
	mapfile -t valued < <(__piperun_opts_with_value "$cmd")
	if ((__pr_cmdat < 0 || __pr_cmdat > __pr_cword)); then
		# --opt=VALUE (with "=" in COMP_WORDBREAKS bash replaces only
		# VALUE; without, the whole word)
		if [[ $cur == --*=* ]]; then
			[[ $COMP_WORDBREAKS == *=* ]] || pre=${cur%%=*}=
			__piperun_value "$cmd" "${cur%%=*}" "${cur#*=}" "$pre"
			return 0
		fi
		if [[ -n $prev && " ${valued[*]} " == *" $prev "* ]] &&
			! __piperun_after_dashdash; then
			__piperun_value "$cmd" "$prev" "$cur" ''
			return 0
		fi
		if [[ $cur == -* ]] && ! __piperun_after_dashdash; then
			__piperun_add "$(__piperun_opts "$cmd")" "$cur" ''
			return 0
		fi
	fi

	case $cmd in
	run | plan) ((__pr_nbefore == 0)) && __piperun_files "$cur" '*.json' ;;
	validate) __piperun_files "$cur" '*.json' ;;
	journal) ((__pr_nbefore == 0)) && __piperun_files "$cur" '' ;;
	show | timeline) ((__pr_nbefore == 0)) && __piperun_files "$cur" '*.json*' ;;
	exec | timeout)
		((__pr_cmdat >= 0 && __pr_cmdat <= __pr_cword)) &&
			__piperun_command "$__pr_cmdat" "$cur" ;;
	esac
	return 0
}

# Is there a "--" before the cursor (options end there)?
__piperun_after_dashdash() {
	local i
	for ((i = 2; i < __pr_cword; i++)); do
		[[ ${__pr_words[i]} == -- ]] && return 0
	done
	return 1
}

complete -F _piperun piperun
