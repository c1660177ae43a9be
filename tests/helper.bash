# SPDX-License-Identifier: GPL-3.0-or-later
# helper.bash - shared set-up for the bats suites.
bats_require_minimum_version 1.7.0
# bats-support and bats-assert: found by configure, whose BATS_LIB_PATH
# make check passes on (bats itself defaults it to /usr/lib/bats).
#
# bats sources this file again for every test, and the libraries'
# load.bash files source each of their files through a
# `$(dirname "${BASH_SOURCE[0]}")`: 18 forks and execs of dirname per
# test, 0.13 s of CPU, a fifth of the check's time.  piperun_load_library
# sources the files such a line names itself, with no process; a
# load.bash with any other line is the library's own business
# (bats_load_library).
piperun_load_library() {
	local name=$1 dir line prefix='source "$(dirname "${BASH_SOURCE[0]}")/' files=()
	local -a path
	IFS=: read -ra path <<< "$BATS_LIB_PATH"
	for dir in "${path[@]}"; do
		[[ -f $dir/$name/load.bash ]] || continue
		while IFS= read -r line; do
			case $line in
			"$prefix"*'"') line=${line#"$prefix"}; files+=("$dir/$name/${line%'"'}") ;;
			'' | '#'*) ;;
			*) bats_load_library "$name"; return ;;
			esac
		done < "$dir/$name/load.bash"
		for line in "${files[@]}"; do
			source "$line" || return
		done
		return
	done
	bats_load_library "$name"
}
piperun_load_library bats-support
piperun_load_library bats-assert

: "${PIPERUN:?PIPERUN must point at the piperun binary (make check sets it)}"
: "${PROBE:?PROBE must point at tests/helpers/probe}"
: "${QUICK:?QUICK must point at tests/helpers/quick}"
: "${PIPELINES:?PIPELINES must point at pipelines/}"

# Background jobs of a non-interactive shell start with SIGINT and SIGQUIT
# ignored, and piperun leaves signals ignored at start alone (CONTRACT
# §8.3, like `nohup`): a test that interrupts a background piperun with
# SIGINT starts it the way a terminal would, with them at their default.
INTERRUPTIBLE=(env --default-signal=INT,QUIT)

# Write a spec (from stdin) to $BATS_TEST_TMPDIR/NAME (default spec.json)
# and print its path.
spec() {
	local f="$BATS_TEST_TMPDIR/${1:-spec.json}"
	cat > "$f"
	printf '%s' "$f"
}

# Run piperun with stdout and stderr apart ($output / $stderr).
pr() {
	run --separate-stderr "$PIPERUN" "$@"
}

# jq over $output.
jqo() {
	jq -r "$@" <<<"$output"
}

# The cgroup v2 directory piperun makes its run cgroups in (piperun.PID):
# this shell's own cgroup under the cgroup2 mount (from mountinfo, as
# piperun finds it); empty when there is none.
cgroup_parent() {
	local mnt own
	mnt=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
	own=$(sed -n 's/^0:://p' /proc/self/cgroup)
	[ -n "$mnt" ] && printf '%s%s' "$mnt" "${own%/}"
}

# True when the run cgroup of the piperun with pid $1 (piperun.PID) is
# gone, within two seconds (the guardian removes it once the run's
# processes are gone).
cgroup_gone() {
	local d i
	d=$(cgroup_parent)
	[ -n "$d" ] || return 0
	for i in $(seq 40); do
		[ ! -e "$d/piperun.$1" ] && return 0
		sleep 0.05
	done
	echo "left: $d/piperun.$1"
	return 1
}

# A word no other process on the machine has in its argv.
marker() {
	printf 'piperun-test-%s-%s-%s' "$$" "$BATS_TEST_NUMBER" "$RANDOM"
}

# Processes whose command line contains $1 (none: empty).
procs_with() {
	pgrep -f -- "$1" || true
}

# True when no process has PATTERN in its argv, within a second: a
# process sent SIGKILL is gone only once the kernel has torn it down,
# which a loaded machine takes its time over.
gone() {
	local i
	for i in $(seq 20); do
		[ -z "$(procs_with "$1")" ] && return 0
		sleep 0.05
	done
	[ -z "$(procs_with "$1")" ]
}

# A peak-RSS budget in KiB for the bounded-memory checks: 32 MiB in a
# normal build.  Under ASan or TSan the runtime's shadow memory and
# quarantine add a fixed cost that says nothing about the code, so there
# the 32 MiB come on top of what "$@" (the same command on a tiny input)
# reaches: the check still fails if memory grows with the input.
# The command prints the results document; JQ ($RSS_JQ) picks the figure.
rss_budget_kb() {
	if ldd "$PIPERUN" 2>/dev/null | grep -q 'lib[at]san'; then
		echo $(( $("$@" | jq -r "$RSS_JQ") + 32768 ))
	else
		echo 32768
	fi
}

# ASan keeps freed blocks in a quarantine (256 MiB by default) to catch
# use-after-free; a million items freed one by one fill it, which reads as
# growth.  Memory tests shrink it (no effect outside an ASan build).
asan_small_quarantine() {
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=1"
}

# Wait up to $2 seconds (default 10) for the file $1 to appear.
wait_file() {
	local i
	for i in $(seq $(( ${2:-10} * 20 ))); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	echo "no $1 after ${2:-10}s"
	return 1
}

# wait_line FILE [SECS]: like wait_file, for a file a shell writes with
# `echo ... > FILE`: the file exists from the open on, before the write,
# so wait until it holds a whole line (its last byte a newline).
wait_line() {
	local i
	local text
	for i in $(seq $(( ${2:-10} * 20 ))); do
		# (read, not $(tail -c 1): a poll with no process)
		[ -s "$1" ] && { IFS= read -rd '' text < "$1" || :; } && [[ $text == *$'\n' ]] && return 0
		sleep 0.05
	done
	echo "no whole line in $1 after ${2:-10}s"
	return 1
}

# Like gone, but waiting up to $2 seconds: for a KILL that only comes
# after a grace period.
gone_within() {
	local i
	for i in $(seq $(( $2 * 20 ))); do
		[ -z "$(procs_with "$1")" ] && return 0
		sleep 0.05
	done
	echo "left: $(procs_with "$1")"
	return 1
}

# The status of "$@" as a parent's waitpid sees it: N for exit(N), -N
# when it died of signal N (a shell's $? says 128+N for both).
raw_status() {
	python3 -c 'import subprocess, sys; print(subprocess.run(sys.argv[1:]).returncode)' "$@"
}
