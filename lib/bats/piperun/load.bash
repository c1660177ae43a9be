# SPDX-License-Identifier: GPL-3.0-or-later
# piperun/load.bash - a bats helper library for suites that test with
# piperun: run a spec, then assert on its jobs (status, return code,
# stdout as exact bytes or by regex) without jq or base64.  Built on
# `piperun show`; failure messages in bats-assert's style (a -- title --
# line, key : value pairs, the job's stderr, a closing --).  Needs no
# other library.  See piperun-bats(7).
#
#   bats_load_library piperun      (installed, or BATS_LIB_PATH=.../lib/bats)
#   load /path/to/lib/bats/piperun/load   (from a source tree)
#
# The piperun to run is $PIPERUN when set, else `piperun` on PATH.

# ------------------------------------------------------------ internals

# The piperun binary.
_piperun_bin() {
	printf '%s' "${PIPERUN:-piperun}"
}

# Print a failure in bats-assert's style on stderr and return 1:
#   _piperun_fail TITLE KEY VALUE [KEY VALUE]...
# One value of several lines switches every pair to the "KEY (N lines):"
# form with the value indented by two spaces, as batslib does.
_piperun_fail() {
	local title=$1 multi=0 width=0 i
	shift
	local -a kv=("$@")
	for ((i = 0; i < ${#kv[@]}; i += 2)); do
		# trailing newlines are shown off, as in bats' $output
		while [[ ${kv[i + 1]} == *$'\n' ]]; do
			kv[i + 1]=${kv[i + 1]%$'\n'}
		done
		[[ ${kv[i + 1]} == *$'\n'* ]] && multi=1
		((${#kv[i]} > width)) && width=${#kv[i]}
	done
	{
		printf -- '-- %s --\n' "$title"
		for ((i = 0; i < ${#kv[@]}; i += 2)); do
			if ((multi)); then
				local v=${kv[i + 1]} n=0
				[ -n "$v" ] && n=$(printf '%s\n' "$v" | wc -l)
				printf '%s (%d lines):\n' "${kv[i]}" "$n"
				[ -n "$v" ] && printf '%s\n' "$v" | sed 's/^/  /'
			else
				printf '%-*s : %s\n' "$width" "${kv[i]}" "${kv[i + 1]}"
			fi
		done
		printf -- '--\n'
	} >&2
	return 1
}

# The results file the assertions read: $PIPERUN_RESULTS (piperun_run
# sets it).  Fails when there is none.
_piperun_results() {
	if [ -z "${PIPERUN_RESULTS:-}" ] || [ ! -r "$PIPERUN_RESULTS" ]; then
		_piperun_fail 'no piperun results' \
			results "${PIPERUN_RESULTS:-(unset: call piperun_run first)}"
		return 1
	fi
}

# A field of job $1 as text (trailing newlines kept, NUL bytes dropped)
# in the variable named $3: _piperun_get NAME FIELD VAR.  Returns what
# piperun show returned (1: no such job or field).
_piperun_get() {
	local _v _rc=0
	# (bash drops NUL bytes here, and would say so)
	{ _v=$("$(_piperun_bin)" show "$PIPERUN_RESULTS" --job "$1" --field "$2" 2>/dev/null &&
		printf x) || _rc=$?; } 2>/dev/null
	printf -v "$3" '%s' "${_v%x}"
	return "$_rc"
}

# A field of job $1 with the one newline show adds after it taken off.
_piperun_value() {
	local _t
	_piperun_get "$1" "$2" _t || return
	printf -v "$3" '%s' "${_t%$'\n'}"
}

# Fail with "no such job" unless job $1 is in the results ("piperun
# results cannot be read" when show cannot read them at all).
_piperun_need_job() {
	_piperun_results || return 1
	local err rc=0
	err=$("$(_piperun_bin)" show "$PIPERUN_RESULTS" --job "$1" 2>&1 > /dev/null) || rc=$?
	case $rc in
	0) return 0 ;;
	1) _piperun_fail 'no such job' job "$1" results "$PIPERUN_RESULTS" \
		jobs "$("$(_piperun_bin)" show "$PIPERUN_RESULTS" 2>&1 | paste -sd ' ')" ;;
	*) _piperun_fail 'piperun results cannot be read' job "$1" \
		results "$PIPERUN_RESULTS" error "$err" ;;
	esac
}

# Is field $2 of job $1 null?  show prints nothing at all for a null
# field and a newline after any other; stdout and stderr, printed bare
# (an empty one prints nothing too), are null when their _encoding is.
_piperun_is_null() {
	local f=$2 v
	case $f in stdout | stderr) f=${f}_encoding ;; esac
	v=$("$(_piperun_bin)" show "$PIPERUN_RESULTS" --job "$1" --field "$f" 2> /dev/null
		printf x)
	[ "$v" = x ]
}

# The job's stderr as text, for messages (a non-captured one: "(not
# captured)").
_piperun_stderr() {
	local t
	if _piperun_is_null "$1" stderr; then
		printf '(not captured)'
		return
	fi
	_piperun_get "$1" stderr t
	printf '%s' "${t%$'\n'}"
}

# $1 without any of its trailing newlines, into the variable named $2.
_piperun_chomp() {
	local _s=$1
	while [[ $_s == *$'\n' ]]; do
		_s=${_s%$'\n'}
	done
	printf -v "$2" '%s' "$_s"
}

# How many NUL bytes stream $2 of job $1 holds (a shell string drops
# them: _piperun_get's text cannot tell).
_piperun_nuls() {
	"$(_piperun_bin)" show "$PIPERUN_RESULTS" --job "$1" --field "$2" 2> /dev/null |
		tr -dc '\000' | wc -c
}

# A string shown with its trailing newlines visible, for messages where
# they are all that differs.
_piperun_show_nl() {
	local s=$1 tail=''
	while [[ $s == *$'\n' ]]; do
		s=${s%$'\n'}
		tail+='\n'
	done
	printf '%s%s' "$s" "$tail"
}

# ------------------------------------------------------------ the API

# piperun_run SPEC [ARGS]...: run `piperun run -o json SPEC ARGS` and keep
# its results document for the test (in $BATS_TEST_TMPDIR, path in
# $PIPERUN_RESULTS); an -o/--output among ARGS (jsonl) replaces -o json.  Like bats' `run`: always returns 0; sets $status
# (piperun's exit status), $output and $lines (piperun's stderr: its
# messages; the document is in the file).
piperun_run() {
	# (in setup_file, the file's directory: export PIPERUN_RESULTS there)
	local dir=${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-${BATS_TMPDIR:-${TMPDIR:-/tmp}}}}
	_piperun_runs=$((${_piperun_runs:-0} + 1))
	PIPERUN_RESULTS="$dir/piperun-results.$_piperun_runs.json"
	status=0
	local a fmt=(-o json)
	for a in "$@"; do
		[[ $a == -- ]] && break
		[[ $a == -o* || $a == --output || $a == --output=* ]] && fmt=()
	done
	"$(_piperun_bin)" run "${fmt[@]}" "$@" > "$PIPERUN_RESULTS" 2> "$PIPERUN_RESULTS.stderr" ||
		status=$?
	output=$(< "$PIPERUN_RESULTS.stderr")
	lines=()
	[ -n "$output" ] && mapfile -t lines <<<"$output"
	return 0
}

# assert_job_status NAME STATUS: the job's status is STATUS (ok, failed,
# timeout, error, skipped, cancelled).
assert_job_status() {
	_piperun_need_job "$1" || return 1
	local actual
	_piperun_value "$1" status actual
	[ "$actual" = "$2" ] && return 0
	local rc err
	_piperun_value "$1" returncode rc
	_piperun_value "$1" error err
	_piperun_fail 'job status differs' job "$1" expected "$2" actual "$actual" \
		returncode "${rc:-null}" error "${err:-null}" stderr "$(_piperun_stderr "$1")"
}

# assert_job_ok NAME: the job's status is ok.
assert_job_ok() {
	assert_job_status "$1" ok
}

# assert_job_returncode NAME N: the job's returncode is N (minus the
# signal's number when a signal ended it; null: never ran).
assert_job_returncode() {
	_piperun_need_job "$1" || return 1
	local actual
	_piperun_value "$1" returncode actual
	[ "${actual:-null}" = "$2" ] && return 0
	local st
	_piperun_value "$1" status st
	_piperun_fail 'job returncode differs' job "$1" expected "$2" actual "${actual:-null}" \
		status "$st" stderr "$(_piperun_stderr "$1")"
}

# Stream $2 (stdout or stderr) of job $1 is exactly the bytes of $3.
_piperun_assert_stream() {
	_piperun_need_job "$1" || return 1
	local -a more=()
	# a stdout's failure shows the job's stderr; a stderr's is its actual
	[ "$2" = stdout ] && more=(stderr "$(_piperun_stderr "$1")")
	# not captured (null) is not empty (""): no TEXT equals it
	if _piperun_is_null "$1" "$2"; then
		_piperun_fail "job $2 not captured (null)" job "$1" expected "$3" \
			actual '(null: not captured)' "${more[@]}"
		return 1
	fi
	local tmp=${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}/piperun-expected.$$.$RANDOM
	printf '%s' "$3" > "$tmp"
	if "$(_piperun_bin)" show "$PIPERUN_RESULTS" --job "$1" --field "$2" | cmp -s - "$tmp"; then
		rm -f "$tmp"
		return 0
	fi
	rm -f "$tmp"
	local actual nuls a e
	_piperun_get "$1" "$2" actual
	nuls=$(_piperun_nuls "$1" "$2")
	if ((nuls > 0)); then
		# shown with each NUL as \0; no shell string can equal it
		_piperun_fail "job $2 differs (it holds $nuls NUL byte(s), which no shell string can)" \
			job "$1" expected "$3" \
			actual "$("$(_piperun_bin)" show "$PIPERUN_RESULTS" --job "$1" --field "$2" |
				sed 's/\x00/\\0/g')" "${more[@]}"
		return 1
	fi
	_piperun_chomp "$actual" a
	_piperun_chomp "$3" e
	if [ "$a" = "$e" ]; then
		_piperun_fail "job $2 differs (in its trailing newlines)" job "$1" \
			expected "$(_piperun_show_nl "$3")" actual "$(_piperun_show_nl "$actual")" \
			"${more[@]}"
		return 1
	fi
	_piperun_fail "job $2 differs" job "$1" expected "$3" actual "$actual" "${more[@]}"
}

# assert_job_stdout NAME TEXT: the job's stdout is exactly the bytes of
# TEXT (a trailing newline included: $'hi\n').
assert_job_stdout() {
	_piperun_assert_stream "$1" stdout "$2"
}

# assert_job_stderr NAME TEXT: the job's stderr is exactly the bytes of
# TEXT.
assert_job_stderr() {
	_piperun_assert_stream "$1" stderr "$2"
}

# assert_job_field NAME FIELD VALUE: FIELD of the job's record (F.KEY and
# F.N reach into objects and arrays, as in piperun show --field) is
# VALUE as piperun show prints it, its newline off: a string's text, a
# number as written, true or false, compact JSON for an object or an
# array, null for null (not for the string "null").  stdout and
# stderr: exact bytes, as
# assert_job_stdout.
assert_job_field() {
	case $2 in
	stdout | stderr)
		_piperun_assert_stream "$1" "$2" "$3"
		return
		;;
	esac
	_piperun_need_job "$1" || return 1
	local raw actual st
	if ! _piperun_get "$1" "$2" raw; then
		_piperun_fail 'job has no such field' job "$1" field "$2" expected "$3"
		return 1
	fi
	# show prints nothing at all for null, a newline after anything
	# else: null is null, never the string "null"
	local title='job field differs'
	if [ -z "$raw" ]; then
		actual=null
		[ "$3" = null ] && return 0
	else
		actual=${raw%$'\n'}
		[ "$actual" = "$3" ] && [ "$3" != null ] && return 0
		[ "$actual" = null ] && title='job field differs (the string "null", not null)'
	fi
	_piperun_value "$1" status st
	_piperun_fail "$title" job "$1" field "$2" expected "$3" actual "$actual" \
		status "$st" stderr "$(_piperun_stderr "$1")"
}

# assert_job_stdout_matches NAME REGEX: the job's stdout (as text, its
# trailing newlines off as in bats' $output) matches the extended regular
# expression REGEX ([[ =~ ]]).
assert_job_stdout_matches() {
	_piperun_need_job "$1" || return 1
	local actual
	_piperun_get "$1" stdout actual
	while [[ $actual == *$'\n' ]]; do
		actual=${actual%$'\n'}
	done
	[[ $actual =~ $2 ]] && return 0
	_piperun_fail 'job stdout does not match' job "$1" regexp "$2" actual "$actual" \
		stderr "$(_piperun_stderr "$1")"
}

# assert_all_ok: every job of the run is ok.
assert_all_ok() {
	_piperun_results || return 1
	# the exact names (NUL-terminated: a name may hold a newline) to look
	# jobs up, and the escaped ones (one line each) to show them
	local tmp=${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}/piperun-failed.$$.$RANDOM
	local rc=0
	"$(_piperun_bin)" show "$PIPERUN_RESULTS" --failed --null > "$tmp" 2> "$tmp.err" || rc=$?
	((rc)) ||
		"$(_piperun_bin)" show "$PIPERUN_RESULTS" --failed > "$tmp.shown" 2>> "$tmp.err" ||
		rc=$?
	local -a names=() shown=()
	local err
	err=$(< "$tmp.err")
	if ((rc == 0)); then
		mapfile -d '' names < "$tmp"
		mapfile -t shown < "$tmp.shown"
	fi
	rm -f "$tmp" "$tmp.err" "$tmp.shown"
	if ((rc)); then
		_piperun_fail 'piperun results cannot be read' results "$PIPERUN_RESULTS" \
			error "$err"
		return 1
	fi
	((${#names[@]} == 0)) && return 0
	local -a kv=()
	local i st
	for i in "${!names[@]}"; do
		_piperun_value "${names[i]}" status st
		kv+=("${shown[i]}" "$st" "${shown[i]} stderr" "$(_piperun_stderr "${names[i]}")")
	done
	_piperun_fail "${#names[@]} job(s) not ok" "${kv[@]}"
}

# refute_job NAME: the run has no job named NAME (results that cannot be
# read are a failure, not a pass).
refute_job() {
	_piperun_results || return 1
	local err rc=0
	err=$("$(_piperun_bin)" show "$PIPERUN_RESULTS" --job "$1" 2>&1 > /dev/null) || rc=$?
	case $rc in
	1) return 0 ;;
	0)
		local st
		_piperun_value "$1" status st
		_piperun_fail 'job exists, but it should not' job "$1" status "$st"
		;;
	*) _piperun_fail 'piperun results cannot be read' job "$1" \
		results "$PIPERUN_RESULTS" error "$err" ;;
	esac
}
