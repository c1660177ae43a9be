#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# timeout-compat.bats - `piperun timeout` as a drop-in for coreutils
# timeout(1): a port of every case of current coreutils' own tests
# (tests/timeout/timeout.sh, timeout-parameters.sh,
# timeout-large-parameters.sh, timeout-group.sh, init-parent.sh,
# timeout-blocked.pl, and the timeout parts of tests/help/help-version.sh)
# and of the statements and examples of its manual (info node "timeout
# invocation"), asserting CURRENT coreutils behaviour (9.10 and later).
#
# Each case is a function c_NAME run by one @test per implementation:
#   [piperun]           "$PIPERUN" timeout ...   messages "piperun: timeout: "
#   [symlink]           a `timeout -> $PIPERUN` symlink first on PATH
#   [/usr/bin/timeout]  the system's coreutils (Debian 12: 9.1) through a
#                       `timeout` symlink on PATH, as a control that the
#                       case itself is right: only where 9.1 agrees.
# Cases without a control say why 9.1 differs.  Upstream's durations are
# kept (but for one 3 s sleep, 1 s here); the manual's examples are scaled
# down (seconds to tenths).  Nothing asserts on wall time: where a timeout
# must happen at a chosen moment, the case sends the outside SIGALRM that
# means "time out now" once the command is ready.
load helper

setup() {
	# as coreutils' tests/lang-default: messages in the C locale
	export LC_ALL=C
	cd "$BATS_TEST_TMPDIR"
}

# impl NAME: choose the implementation under test: TMO (the command
# words), PFX (its message prefix), TRY (its usage-error hint).
impl() {
	local bin=$BATS_TEST_TMPDIR/bin
	mkdir -p "$bin"
	case $1 in
	piperun)
		TMO=("$PIPERUN" timeout)
		PFX='piperun: timeout: '
		TRY="Try 'piperun timeout --help' for more information."
		;;
	symlink | coreutils)
		if [ "$1" = symlink ]; then
			ln -s "$PIPERUN" "$bin/timeout"
		else
			[ -x /usr/bin/timeout ] || skip "no /usr/bin/timeout"
			ln -s /usr/bin/timeout "$bin/timeout"
		fi
		export PATH="$bin:$PATH"
		TMO=(timeout)
		PFX='timeout: '
		TRY="Try 'timeout --help' for more information."
		;;
	esac
	IMPL=$1
}

# coreutils 9.1's timeout takes a signal that comes before fork() has
# returned in the parent as "no command yet" and _exits 128+SIG without
# passing it on (fixed upstream later).  The command being ready does not
# mean the parent is past fork() on a loaded machine, so before the
# control sends timeout a signal, wait until the parent sleeps in its
# sigsuspend.  piperun blocks the signals it reads (signalfd) from the
# start, so for it there is nothing to wait for.
settled() {
	local i
	[ "$IMPL" = coreutils ] || return 0
	for i in $(seq 200); do
		case $(cat "/proc/$1/wchan" 2>/dev/null) in
		*sigsuspend*) return 0 ;;
		esac
		sleep 0.05
	done
	echo "timeout $1 never waits in sigsuspend"
	return 1
}

# The implementation under test, as a command.
tmo() {
	"${TMO[@]}" "$@"
}

# The version piperun's timeout must report (the last word of the first
# line of `piperun --version`).
piperun_version() {
	"$PIPERUN" --version | sed -n '1s/.* //p;q'
}

# ------------------------------------------------------------ timeout.sh

c_no_timeout() {
	run tmo 10 true
	[ "$status" = 0 ]
}
@test "timeout.sh: no timeout [piperun]" { impl piperun; c_no_timeout; }
@test "timeout.sh: no timeout [symlink]" { impl symlink; c_no_timeout; }
@test "timeout.sh: no timeout [/usr/bin/timeout]" { impl coreutils; c_no_timeout; }

c_no_timeout_suffix() {
	run tmo 1d true
	[ "$status" = 0 ]
}
@test "timeout.sh: no timeout (suffix check) [piperun]" { impl piperun; c_no_timeout_suffix; }
@test "timeout.sh: no timeout (suffix check) [symlink]" { impl symlink; c_no_timeout_suffix; }
@test "timeout.sh: no timeout (suffix check) [/usr/bin/timeout]" { impl coreutils; c_no_timeout_suffix; }

c_disabled() {
	run tmo 0 true
	[ "$status" = 0 ]
}
@test "timeout.sh: disabled timeout [piperun]" { impl piperun; c_disabled; }
@test "timeout.sh: disabled timeout [symlink]" { impl symlink; c_disabled; }
@test "timeout.sh: disabled timeout [/usr/bin/timeout]" { impl coreutils; c_disabled; }

c_exit_status() {
	run tmo 10 sh -c 'echo ran; exit 2'
	[ "$status" = 2 ]
	[ "$output" = ran ]
}
@test "timeout.sh: exit status propagation [piperun]" { impl piperun; c_exit_status; }
@test "timeout.sh: exit status propagation [symlink]" { impl symlink; c_exit_status; }
@test "timeout.sh: exit status propagation [/usr/bin/timeout]" { impl coreutils; c_exit_status; }

c_timeout() {
	run tmo .1 sleep 10
	[ "$status" = 124 ]
}
@test "timeout.sh: timeout [piperun]" { impl piperun; c_timeout; }
@test "timeout.sh: timeout [symlink]" { impl symlink; c_timeout; }
@test "timeout.sh: timeout [/usr/bin/timeout]" { impl coreutils; c_timeout; }

# "exit status should be 128+TERM" (upstream only checks it is not 124)
c_preserve_status() {
	run tmo --preserve-status .1 sleep 10
	[ "$status" = 143 ]
}
@test "timeout.sh: exit status propagation even on timeout [piperun]" { impl piperun; c_preserve_status; }
@test "timeout.sh: exit status propagation even on timeout [symlink]" { impl symlink; c_preserve_status; }
@test "timeout.sh: exit status propagation even on timeout [/usr/bin/timeout]" { impl coreutils; c_preserve_status; }

# -p, the POSIX short option (coreutils 9.6; no control: 9.1 rejects it)
c_preserve_status_short() {
	run tmo -p .1 sleep 10
	[ "$status" = 143 ]
}
@test "timeout.sh: exit status propagation even on timeout, -p [piperun]" { impl piperun; c_preserve_status_short; }
@test "timeout.sh: exit status propagation even on timeout, -p [symlink]" { impl symlink; c_preserve_status_short; }

# kill delay: "exit status should be 128+KILL" (upstream: not 124)
c_kill_delay() {
	run tmo -s0 -k1 .1 sleep 10
	[ "$status" = 137 ]
}
@test "timeout.sh: kill delay [piperun]" { impl piperun; c_kill_delay; }
@test "timeout.sh: kill delay [symlink]" { impl symlink; c_kill_delay; }
@test "timeout.sh: kill delay [/usr/bin/timeout]" { impl coreutils; c_kill_delay; }

c_kill_delay_foreground() {
	run tmo --foreground -s0 -k1 .1 sleep 10
	[ "$status" = 137 ]
}
@test "timeout.sh: consistent kill delay status with --foreground [piperun]" { impl piperun; c_kill_delay_foreground; }
@test "timeout.sh: consistent kill delay status with --foreground [symlink]" { impl symlink; c_kill_delay_foreground; }
@test "timeout.sh: consistent kill delay status with --foreground [/usr/bin/timeout]" { impl coreutils; c_kill_delay_foreground; }

c_sigchld_ignored() {
	run bash -c 'trap "" CHLD; exec "$@"' bash "${TMO[@]}" 10 true
	[ "$status" = 0 ]
}
@test "timeout.sh: immune to the parent's ignored SIGCHLD [piperun]" { impl piperun; c_sigchld_ignored; }
@test "timeout.sh: immune to the parent's ignored SIGCHLD [symlink]" { impl symlink; c_sigchld_ignored; }
@test "timeout.sh: immune to the parent's ignored SIGCHLD [/usr/bin/timeout]" { impl coreutils; c_sigchld_ignored; }

# Bug#9098: started by a process that already has a child
c_child_at_start() {
	setsid true || skip "setsid is unavailable"
	local out rc=0
	out=$(setsid sleep .1 & exec "${TMO[@]}" .5 sh -c 'sleep 2; echo foo') || rc=$?
	[ "$out" = "" ]
	[ "$rc" = 124 ]
}
@test "timeout.sh: not confused by a child it did not start (Bug#9098) [piperun]" { impl piperun; c_child_at_start; }
@test "timeout.sh: not confused by a child it did not start (Bug#9098) [symlink]" { impl symlink; c_child_at_start; }
@test "timeout.sh: not confused by a child it did not start (Bug#9098) [/usr/bin/timeout]" { impl coreutils; c_child_at_start; }

# no control: 9.1 calls signal 0 "EXIT"
c_verbose() {
	local opt
	printf '%s\n' "${PFX}sending signal 0 to command 'sleep'" \
		"${PFX}sending signal KILL to command 'sleep'" > exp
	for opt in -v --verbose; do
		# (not through tmo: the shell's "Killed" would land in errt)
		"${TMO[@]}" $opt -s0 -k .1 .1 sleep 10 2> errt || true
		sed '/^Killed/d' < errt > err
		diff -u exp err
	done
}
@test "timeout.sh: --verbose output [piperun]" { impl piperun; c_verbose; }
@test "timeout.sh: --verbose output [symlink]" { impl symlink; c_verbose; }

# timeout -v writes to a closed pipe: it must handle the SIGPIPE (not die
# of it, leaving the sleep running).  No control: 9.1 dies (141).
c_sigpipe_handled() {
	{
		rc=0
		tmo -v .1 sleep 10 2>&1 || rc=$?
		echo $rc > timeout.status
	} | :
	[ "$(cat timeout.status)" = 124 ]
}
@test "timeout.sh: SIGPIPE is handled and passed on [piperun]" { impl piperun; c_sigpipe_handled; }
@test "timeout.sh: SIGPIPE is handled and passed on [symlink]" { impl symlink; c_sigpipe_handled; }

c_ignored_sigpipe() {
	(trap '' PIPE && tmo 10 yes | :) 2>&1 | grep 'Broken pipe' > /dev/null
}
@test "timeout.sh: an ignored SIGPIPE is not caught or passed on [piperun]" { impl piperun; c_ignored_sigpipe; }
@test "timeout.sh: an ignored SIGPIPE is not caught or passed on [symlink]" { impl symlink; c_ignored_sigpipe; }
@test "timeout.sh: an ignored SIGPIPE is not caught or passed on [/usr/bin/timeout]" { impl coreutils; c_ignored_sigpipe; }

# ------------------------------------------------- timeout-parameters.sh
# internal errors are 125, distinct from execution failure

c_invalid_timeouts() {
	run tmo invalid sleep 0
	[ "$status" = 125 ]
	run tmo ' -0.1' sleep 0
	[ "$status" = 125 ]
}
@test "timeout-parameters.sh: invalid timeouts [piperun]" { impl piperun; c_invalid_timeouts; }
@test "timeout-parameters.sh: invalid timeouts [symlink]" { impl symlink; c_invalid_timeouts; }
@test "timeout-parameters.sh: invalid timeouts [/usr/bin/timeout]" { impl coreutils; c_invalid_timeouts; }

# a negative value that underflows is still negative.  No control: 9.1
# takes ' -1e-10000' as 0 (no limit).
c_invalid_negative_underflow() {
	run tmo ' -1e-10000' sleep 0
	[ "$status" = 125 ]
}
@test "timeout-parameters.sh: invalid timeouts, negative underflow [piperun]" { impl piperun; c_invalid_negative_underflow; }
@test "timeout-parameters.sh: invalid timeouts, negative underflow [symlink]" { impl symlink; c_invalid_negative_underflow; }

c_invalid_kill_delay() {
	run tmo --kill-after=invalid 1 sleep 0
	[ "$status" = 125 ]
}
@test "timeout-parameters.sh: invalid kill delay [piperun]" { impl piperun; c_invalid_kill_delay; }
@test "timeout-parameters.sh: invalid kill delay [symlink]" { impl symlink; c_invalid_kill_delay; }
@test "timeout-parameters.sh: invalid kill delay [/usr/bin/timeout]" { impl coreutils; c_invalid_kill_delay; }

c_invalid_suffix() {
	run tmo 42D sleep 0
	[ "$status" = 125 ]
}
@test "timeout-parameters.sh: invalid timeout suffix [piperun]" { impl piperun; c_invalid_suffix; }
@test "timeout-parameters.sh: invalid timeout suffix [symlink]" { impl symlink; c_invalid_suffix; }
@test "timeout-parameters.sh: invalid timeout suffix [/usr/bin/timeout]" { impl coreutils; c_invalid_suffix; }

c_float() {
	run tmo 10.34 sleep 0
	[ "$status" = 0 ]
}
@test "timeout-parameters.sh: floating point notation [piperun]" { impl piperun; c_float; }
@test "timeout-parameters.sh: floating point notation [symlink]" { impl symlink; c_float; }
@test "timeout-parameters.sh: floating point notation [/usr/bin/timeout]" { impl coreutils; c_float; }

c_nanoseconds() {
	run tmo 9.999999999 sleep 0
	[ "$status" = 0 ]
}
@test "timeout-parameters.sh: nanoseconds potentially supported [piperun]" { impl piperun; c_nanoseconds; }
@test "timeout-parameters.sh: nanoseconds potentially supported [symlink]" { impl symlink; c_nanoseconds; }
@test "timeout-parameters.sh: nanoseconds potentially supported [/usr/bin/timeout]" { impl coreutils; c_nanoseconds; }

# no control: 9.1 takes 1e-10000 as 0 (no limit)
c_underflow() {
	run tmo 1e-10000 sleep 10
	[ "$status" = 124 ]
}
@test "timeout-parameters.sh: round underflow up to 1 ns [piperun]" { impl piperun; c_underflow; }
@test "timeout-parameters.sh: round underflow up to 1 ns [symlink]" { impl symlink; c_underflow; }

c_invalid_signal() {
	run tmo --signal=invalid 1 sleep 0
	[ "$status" = 125 ]
}
@test "timeout-parameters.sh: invalid signal spec [piperun]" { impl piperun; c_invalid_signal; }
@test "timeout-parameters.sh: invalid signal spec [symlink]" { impl symlink; c_invalid_signal; }
@test "timeout-parameters.sh: invalid signal spec [/usr/bin/timeout]" { impl coreutils; c_invalid_signal; }

c_invalid_command() {
	run env .
	[ "$status" = 126 ] || skip "env . is not 126 here"
	run tmo 10 .
	[ "$status" = 126 ]
}
@test "timeout-parameters.sh: invalid command [piperun]" { impl piperun; c_invalid_command; }
@test "timeout-parameters.sh: invalid command [symlink]" { impl symlink; c_invalid_command; }
@test "timeout-parameters.sh: invalid command [/usr/bin/timeout]" { impl coreutils; c_invalid_command; }

c_no_such_command() {
	run -127 tmo 10 no_such
	[ "$status" = 127 ]
}
@test "timeout-parameters.sh: no such command [piperun]" { impl piperun; c_no_such_command; }
@test "timeout-parameters.sh: no such command [symlink]" { impl symlink; c_no_such_command; }
@test "timeout-parameters.sh: no such command [/usr/bin/timeout]" { impl coreutils; c_no_such_command; }

# ------------------------------------------- timeout-large-parameters.sh

# coreutils' getlimits, for the values these cases use: each type's
# maximum and that plus one (_OFLOW), and LDBL_MAX as the shortest
# decimal that reads back as it (as gnulib's ftoastr prints it).
getlimits_() {
	local g=$BATS_FILE_TMPDIR/getlimits
	if [ ! -x "$g" ]; then
		cc -o "$g.$$" -x c - <<'EOF'
#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* NAME_MAX=MAX and NAME_OFLOW=MAX+1, in decimal */
static void lim(const char *name, uintmax_t max)
{
	char b[32], *p;
	snprintf(b + 1, sizeof b - 1, "%ju", max);
	printf("%s_MAX=%s\n", name, b + 1);
	b[0] = '0';
	for (p = b + strlen(b) - 1; *p == '9'; p--)
		*p = '0';
	++*p;
	printf("%s_OFLOW=%s\n", name, b[0] == '0' ? b + 1 : b);
}

int main(void)
{
	char buf[64];
	lim("INT", INT_MAX);
	lim("UINT", UINT_MAX);
	lim("TIME_T", (uintmax_t)(((uintmax_t)1 << (sizeof(time_t) * CHAR_BIT - 1)) - 1));
	for (int prec = LDBL_DIG;; prec++) {
		snprintf(buf, sizeof buf, "%.*Lg", prec, LDBL_MAX);
		if (strtold(buf, NULL) == LDBL_MAX)
			break;
	}
	printf("LDBL_MAX=%s\n", buf);
	return 0;
}
EOF
		mv "$g.$$" "$g"
	fi
	eval "$("$g")"
	[ -n "$INT_MAX" ]
}

# upstream skips when the kernel fires an overflowing timer at once (32
# bit HPPA); here that is a failure.  (upstream sleeps 3 s; 1 s is enough
# to see the timer did not fire at once)
c_time_t_oflow_not_immediate() {
	getlimits_
	run tmo "$TIME_T_OFLOW" sleep 1
	[ "$status" = 0 ]
}
@test "timeout-large-parameters.sh: a time_t overflow does not fire at once [piperun]" { impl piperun; c_time_t_oflow_not_immediate; }
@test "timeout-large-parameters.sh: a time_t overflow does not fire at once [symlink]" { impl symlink; c_time_t_oflow_not_immediate; }
@test "timeout-large-parameters.sh: a time_t overflow does not fire at once [/usr/bin/timeout]" { impl coreutils; c_time_t_oflow_not_immediate; }

c_uint_oflow() {
	getlimits_
	run tmo "$UINT_OFLOW" sleep 0
	[ "$status" = 0 ]
}
@test "timeout-large-parameters.sh: timeout overflow, UINT_MAX+1 [piperun]" { impl piperun; c_uint_oflow; }
@test "timeout-large-parameters.sh: timeout overflow, UINT_MAX+1 [symlink]" { impl symlink; c_uint_oflow; }
@test "timeout-large-parameters.sh: timeout overflow, UINT_MAX+1 [/usr/bin/timeout]" { impl coreutils; c_uint_oflow; }

c_time_t_oflow_days() {
	getlimits_
	run tmo "${TIME_T_OFLOW}d" sleep 0
	[ "$status" = 0 ]
}
@test "timeout-large-parameters.sh: timeout overflow, TIME_T_MAX+1 days [piperun]" { impl piperun; c_time_t_oflow_days; }
@test "timeout-large-parameters.sh: timeout overflow, TIME_T_MAX+1 days [symlink]" { impl symlink; c_time_t_oflow_days; }
@test "timeout-large-parameters.sh: timeout overflow, TIME_T_MAX+1 days [/usr/bin/timeout]" { impl coreutils; c_time_t_oflow_days; }

c_float_days() {
	run tmo 2.34e+5d sleep 0
	[ "$status" = 0 ]
}
@test "timeout-large-parameters.sh: floating point notation, 2.34e+5d [piperun]" { impl piperun; c_float_days; }
@test "timeout-large-parameters.sh: floating point notation, 2.34e+5d [symlink]" { impl symlink; c_float_days; }
@test "timeout-large-parameters.sh: floating point notation, 2.34e+5d [/usr/bin/timeout]" { impl coreutils; c_float_days; }

c_ldbl_max() {
	getlimits_
	run tmo "$LDBL_MAX" sleep 0
	[ "$status" = 0 ]
	run tmo -- "-$LDBL_MAX" sleep 0
	[ "$status" = 125 ]
}
@test "timeout-large-parameters.sh: floating point overflow, LDBL_MAX [piperun]" { impl piperun; c_ldbl_max; }
@test "timeout-large-parameters.sh: floating point overflow, LDBL_MAX [symlink]" { impl symlink; c_ldbl_max; }
@test "timeout-large-parameters.sh: floating point overflow, LDBL_MAX [/usr/bin/timeout]" { impl coreutils; c_ldbl_max; }

# ----------------------------------------------------- timeout-group.sh

# upstream's timeout.cmd: a USR1 trap, then up to $1 seconds of waiting
write_timeout_cmd() {
	cat > timeout.cmd <<'EOF'
#!/bin/sh
trap 'touch sig.received; exit' USR1
trap
touch timeout.running
count=$1
until test -e sig.received || test $count = 0; do
  sleep 1
  count=$(expr $count - 1)
done
EOF
	chmod a+x timeout.cmd
}

# A terminating signal sent to the (foreground) group timeout runs in,
# like a Ctrl-C: timeout passes it on and exits in good time.  group.sh
# ignores USR1 so that its wait is not interrupted; env puts it back to
# the default for timeout.  No control: 9.1 does not handle USR1, it dies
# of it at once, and the command's trap may not have run when group.sh's
# wait returns (the check races).
c_group_signal() {
	setsid true || skip "setsid required to control groups"
	write_timeout_cmd
	{
		echo '#!/bin/sh'
		echo "trap '' USR1"
		echo "env --default-signal=USR1 $(printf '%q ' "${TMO[@]}") -v --foreground 25 ./timeout.cmd 20 &"
		echo 'wait'
	} > group.sh
	chmod a+x group.sh
	setsid ./group.sh 3>&- & pid=$!
	wait_file timeout.running
	kill -USR1 -- "-$pid"
	wait "$pid" || true
	[ -e sig.received ]
}
@test "timeout-group.sh: a signal to the foreground group ends the command [piperun]" { impl piperun; c_group_signal; }
@test "timeout-group.sh: a signal to the foreground group ends the command [symlink]" { impl symlink; c_group_signal; }

# HAVE_PRCTL: the command gets the signal even when timeout is killed
# (SIGKILL).  No control: 9.1 has no parent-death signal.
c_group_timeout_killed() {
	write_timeout_cmd
	"${TMO[@]}" -sUSR1 25 ./timeout.cmd 20 3>&- & pid=$!
	wait_file timeout.running
	kill -KILL -- "$pid"
	wait "$pid" || true
	wait_file sig.received
}
@test "timeout-group.sh: timeout killed by SIGKILL, the command gets its signal [piperun]" { impl piperun; c_group_timeout_killed; }
@test "timeout-group.sh: timeout killed by SIGKILL, the command gets its signal [symlink]" { impl symlink; c_group_timeout_killed; }

# Cascaded timeouts: the inner one makes a group of its own; the outer
# one's signal (ALRM, which the inner handles) reaches it.  upstream
# skips when this is not 124 or takes 20 s; here it fails (the command
# only writes sig.received on USR1, before its 20 s are up).
c_group_cascade() {
	write_timeout_cmd
	"${TMO[@]}" -sALRM 30 "${TMO[@]}" -sUSR1 25 ./timeout.cmd 20 3>&- & pid=$!
	wait_file timeout.running
	settled "$pid"
	kill -ALRM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 124 ]
	[ -e sig.received ]
}
@test "timeout-group.sh: cascaded timeouts [piperun]" { impl piperun; c_group_cascade; }
@test "timeout-group.sh: cascaded timeouts [symlink]" { impl symlink; c_group_cascade; }
@test "timeout-group.sh: cascaded timeouts [/usr/bin/timeout]" { impl coreutils; c_group_cascade; }

# -------------------------------------------------------- init-parent.sh

# timeout as pid 1 of a pid namespace (a Docker entrypoint).  As
# upstream, this skips where unshare cannot make the namespace (no user
# namespaces); on CI (root, Debian) it runs.
c_init_parent() {
	unshare --pid --fork --map-root-user true ||
		skip "unshare --pid --fork --map-root-user is unavailable"
	run unshare --pid --fork --map-root-user "${TMO[@]}" .1 sleep 10
	[ "$status" = 124 ]
}
@test "init-parent.sh: timeout as init of a pid namespace [piperun]" { impl piperun; c_init_parent; }
@test "init-parent.sh: timeout as init of a pid namespace [symlink]" { impl symlink; c_init_parent; }
@test "init-parent.sh: timeout as init of a pid namespace [/usr/bin/timeout]" { impl coreutils; c_init_parent; }

# ---------------------------------------------------- timeout-blocked.pl

# SIGALRM blocked by the parent: still timed out; no output at all
c_blocked_alrm() {
	run --separate-stderr perl -MPOSIX=:signal_h -e '
		sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGALRM)) or exit 99;
		exec @ARGV or exit 98' -- "${TMO[@]}" .1 sleep 10
	[ "$status" = 124 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
}
@test "timeout-blocked.pl: block-alrm [piperun]" { impl piperun; c_blocked_alrm; }
@test "timeout-blocked.pl: block-alrm [symlink]" { impl symlink; c_blocked_alrm; }
@test "timeout-blocked.pl: block-alrm [/usr/bin/timeout]" { impl coreutils; c_blocked_alrm; }

# ------------------------------------------------------- help-version.sh

# the first line of --version ends with $VERSION; here: the word piperun
# --version ends its first line with
c_version() {
	run env "${TMO[@]}" --version
	[ "$status" = 0 ]
	if [ "$IMPL" = coreutils ]; then
		[[ ${lines[0]} == "timeout (GNU coreutils) "* ]]
	else
		[ "${lines[0]}" = "timeout (piperun) $(piperun_version)" ]
	fi
	[ "$(env "${TMO[@]}" --version | sed -n '1s/.* //p;q')" = "$(sed -n '1s/.* //p;q' <<<"${lines[0]}")" ]
}
@test "help-version.sh: --version names the version [piperun]" { impl piperun; c_version; }
@test "help-version.sh: --version names the version [symlink]" { impl symlink; c_version; }
@test "help-version.sh: --version names the version [/usr/bin/timeout]" { impl coreutils; c_version; }

c_help_version_succeed() {
	echo 2147483647 0 > in
	env "${TMO[@]}" --help > help
	grep -q DURATION help
	env "${TMO[@]}" --version > /dev/null
	# "works" (timeout_setup: args=--version), stdin a file
	env "${TMO[@]}" --version < in > out
}
@test "help-version.sh: --help and --version succeed [piperun]" { impl piperun; c_help_version_succeed; }
@test "help-version.sh: --help and --version succeed [symlink]" { impl symlink; c_help_version_succeed; }
@test "help-version.sh: --help and --version succeed [/usr/bin/timeout]" { impl coreutils; c_help_version_succeed; }

c_dev_full() {
	[ -w /dev/full ] && [ -c /dev/full ] && ! printf x > /dev/full 2> /dev/null ||
		skip "no /dev/full"
	local rc=0
	env "${TMO[@]}" --help > /dev/full 2> /dev/null || rc=$?
	[ "$rc" = 125 ]
	rc=0
	env "${TMO[@]}" --version > /dev/full 2> /dev/null || rc=$?
	[ "$rc" = 125 ]
}
@test "help-version.sh: --help and --version to a full disk: 125 [piperun]" { impl piperun; c_dev_full; }
@test "help-version.sh: --help and --version to a full disk: 125 [symlink]" { impl symlink; c_dev_full; }
@test "help-version.sh: --help and --version to a full disk: 125 [/usr/bin/timeout]" { impl coreutils; c_dev_full; }

# --------------------------------------- the manual: "timeout invocation"

# no control: 9.1 says "[OPTION] DURATION"
c_help_usage() {
	run --separate-stderr tmo --help
	[ "$status" = 0 ]
	if [ "$IMPL" = piperun ]; then
		[[ ${lines[0]} == "Usage: "*"timeout [OPTION]... DURATION COMMAND [ARG]..." ]]
	else
		[ "${lines[0]}" = "Usage: timeout [OPTION]... DURATION COMMAND [ARG]..." ]
	fi
	[ -z "$stderr" ]
}
@test "manual: synopsis in --help [piperun]" { impl piperun; c_help_usage; }
@test "manual: synopsis in --help [symlink]" { impl symlink; c_help_usage; }

# the options as current --help lists them.  No control: 9.1 has no -f, -p.
c_help_options() {
	run tmo --help
	local o
	for o in '-f, --foreground' '-k, --kill-after=DURATION' '-p, --preserve-status' \
		'-s, --signal=SIGNAL' '-v, --verbose' '--help' '--version'; do
		grep -qF -e "  $o" <<<"$output" || { echo "--help lacks $o"; return 1; }
	done
	grep -qF '124  if COMMAND times out' <<<"$output"
	grep -qF '137  if COMMAND (or timeout itself) is sent the KILL (9) signal (128+9)' <<<"$output"
}
@test "manual: --help lists every option and exit status [piperun]" { impl piperun; c_help_options; }
@test "manual: --help lists every option and exit status [symlink]" { impl symlink; c_help_options; }

# "Options must precede operands": after DURATION all is the command's
c_options_precede_operands() {
	run -127 --separate-stderr tmo 10 -v true
	[ "$status" = 127 ]
	[ "$stderr" = "${PFX}failed to run command '-v': No such file or directory" ]
	run tmo 5 echo -s KILL -- x
	[ "$status" = 0 ]
	[ "$output" = "-s KILL -- x" ]
	run tmo -- 10 true
	[ "$status" = 0 ]
}
@test "manual: options must precede operands [piperun]" { impl piperun; c_options_precede_operands; }
@test "manual: options must precede operands [symlink]" { impl symlink; c_options_precede_operands; }
@test "manual: options must precede operands [/usr/bin/timeout]" { impl coreutils; c_options_precede_operands; }

# getopt_long: unambiguous abbreviations of the long options work
c_long_option_abbreviations() {
	run tmo --fore .1 sleep 10
	[ "$status" = 124 ]
	run tmo --pres .1 sleep 10
	[ "$status" = 143 ]
	run tmo --sig=KILL .1 sleep 10
	[ "$status" = 137 ]
	run tmo --sig KILL .1 sleep 10
	[ "$status" = 137 ]
	run tmo --kill=.1 -s0 .1 sleep 10
	[ "$status" = 137 ]
	run --separate-stderr tmo --verb .1 sleep 10
	[ "$status" = 124 ]
	[ "$stderr" = "${PFX}sending signal TERM to command 'sleep'" ]
	run --separate-stderr tmo --v .1 true
	[ "$status" = 125 ]
	[ "${stderr##*$'\n'}" = "$TRY" ]
}
@test "manual: long options may be abbreviated [piperun]" { impl piperun; c_long_option_abbreviations; }
@test "manual: long options may be abbreviated [symlink]" { impl symlink; c_long_option_abbreviations; }
@test "manual: long options may be abbreviated [/usr/bin/timeout]" { impl coreutils; c_long_option_abbreviations; }

# usage errors: 125, a diagnostic, then the hint
c_usage_messages() {
	run --separate-stderr tmo
	[ "$status" = 125 ]
	[ "$stderr" = "$TRY" ]
	run --separate-stderr tmo 10
	[ "$status" = 125 ]
	[ "$stderr" = "$TRY" ]
	run --separate-stderr tmo --bogus 1 true
	[ "$status" = 125 ]
	[ "$stderr" = "${PFX}unrecognized option '--bogus'"$'\n'"$TRY" ]
	run --separate-stderr tmo -x 1 true
	[ "$status" = 125 ]
	[ "$stderr" = "${PFX}invalid option -- 'x'"$'\n'"$TRY" ]
	run -127 --separate-stderr tmo 1 -k
	[ "$status" = 127 ]
	run --separate-stderr tmo -k
	[ "$status" = 125 ]
	[ "$stderr" = "${PFX}option requires an argument -- 'k'"$'\n'"$TRY" ]
	run --separate-stderr tmo invalid sleep 0
	[ "$status" = 125 ]
	[ "$stderr" = "${PFX}invalid time interval 'invalid'"$'\n'"$TRY" ]
	run --separate-stderr tmo -k 1x 1 sleep 0
	[ "$status" = 125 ]
	[ "$stderr" = "${PFX}invalid time interval '1x'"$'\n'"$TRY" ]
	run --separate-stderr tmo -s invalid 1 true
	[ "$status" = 125 ]
	[ "$stderr" = "${PFX}'invalid': invalid signal"$'\n'"$TRY" ]
}
@test "manual: usage errors exit 125 with a hint [piperun]" { impl piperun; c_usage_messages; }
@test "manual: usage errors exit 125 with a hint [symlink]" { impl symlink; c_usage_messages; }
@test "manual: usage errors exit 125 with a hint [/usr/bin/timeout]" { impl coreutils; c_usage_messages; }

# Exit status: 126 found but cannot be invoked, 127 cannot be found
c_exit_126_127() {
	printf 'echo hi\n' > notexec
	chmod a-x notexec
	run --separate-stderr tmo 10 ./notexec
	[ "$status" = 126 ]
	[ "$stderr" = "${PFX}failed to run command './notexec': Permission denied" ]
	run -127 --separate-stderr tmo 10 no_such
	[ "$status" = 127 ]
	[ "$stderr" = "${PFX}failed to run command 'no_such': No such file or directory" ]
	run -127 --separate-stderr tmo 10 ./no_such
	[ "$status" = 127 ]
}
@test "manual: exit status 126 and 127, with the reason [piperun]" { impl piperun; c_exit_126_127; }
@test "manual: exit status 126 and 127, with the reason [symlink]" { impl symlink; c_exit_126_127; }
@test "manual: exit status 126 and 127, with the reason [/usr/bin/timeout]" { impl coreutils; c_exit_126_127; }

# "the exit status of COMMAND otherwise"; a command killed by signal N
# (no timeout) makes timeout die of N itself: a parent sees the signal
c_status_otherwise() {
	run tmo 10 sh -c 'exit 42'
	[ "$status" = 42 ]
	run tmo 10 sh -c 'kill -USR1 $$'
	[ "$status" = 138 ]
	[ "$(raw_status "${TMO[@]}" 10 sh -c 'kill -USR1 $$')" = -10 ]
	[ "$(raw_status "${TMO[@]}" 10 sh -c 'kill -TERM $$')" = -15 ]
}
@test "manual: otherwise the command's exit status; its signal [piperun]" { impl piperun; c_status_otherwise; }
@test "manual: otherwise the command's exit status; its signal [symlink]" { impl symlink; c_status_otherwise; }
@test "manual: otherwise the command's exit status; its signal [/usr/bin/timeout]" { impl coreutils; c_status_otherwise; }

# "137 if COMMAND or timeout is sent the KILL(9) signal": without
# --foreground timeout sends KILL to its own group and dies of it; with
# --foreground it exits 137
c_exit_137() {
	run tmo -s KILL .1 sleep 10
	[ "$status" = 137 ]
	[ "$(raw_status "${TMO[@]}" -s KILL .1 sleep 10)" = -9 ]
	[ "$(raw_status "${TMO[@]}" --foreground -s KILL .1 sleep 10)" = 137 ]
	[ "$(raw_status "${TMO[@]}" -k .1 .1 env --ignore-signal=TERM sleep 10)" = -9 ]
	[ "$(raw_status "${TMO[@]}" --foreground -k .1 .1 env --ignore-signal=TERM sleep 10)" = 137 ]
	[ "$(raw_status "${TMO[@]}" --preserve-status -s KILL .1 sleep 10)" = -9 ]
	# KILL from elsewhere: the command's status
	run tmo 10 sh -c 'kill -KILL $$'
	[ "$status" = 137 ]
}
@test "manual: exit status 137 when KILL was needed [piperun]" { impl piperun; c_exit_137; }
@test "manual: exit status 137 when KILL was needed [symlink]" { impl symlink; c_exit_137; }
@test "manual: exit status 137 when KILL was needed [/usr/bin/timeout]" { impl coreutils; c_exit_137; }

# ... "regardless of whether that signal is sent to COMMAND or to timeout
# itself".  (What happens to the command then: timeout-group.sh above.)
c_timeout_killed_137() {
	local m rc=0
	m=$(marker)
	"${TMO[@]}" -s USR1 600 sh -c "trap 'exit 0' USR1; : > ready; while :; do sleep .1 & wait \$!; done; : $m" 3>&- & pid=$!
	wait_file ready
	settled "$pid"
	kill -KILL "$pid"
	wait "$pid" || rc=$?
	pkill -f -- "$m" || true
	[ "$rc" = 137 ]
}
@test "manual: exit status 137 when timeout itself is killed [piperun]" { impl piperun; c_timeout_killed_137; }
@test "manual: exit status 137 when timeout itself is killed [symlink]" { impl symlink; c_timeout_killed_137; }
@test "manual: exit status 137 when timeout itself is killed [/usr/bin/timeout]" { impl coreutils; c_timeout_killed_137; }

# The four examples, scaled from seconds to tenths
c_example_short_command() {
	# timeout 20 sleep 1
	run tmo 2 sleep .2
	[ "$status" = 0 ]
}
@test "manual: example, a command ending before the duration [piperun]" { impl piperun; c_example_short_command; }
@test "manual: example, a command ending before the duration [symlink]" { impl symlink; c_example_short_command; }
@test "manual: example, a command ending before the duration [/usr/bin/timeout]" { impl coreutils; c_example_short_command; }

c_example_int() {
	# timeout -s INT 5 sleep 20
	run tmo -s INT .5 sleep 20
	[ "$status" = 124 ]
}
@test "manual: example, -s INT [piperun]" { impl piperun; c_example_int; }
@test "manual: example, -s INT [symlink]" { impl symlink; c_example_int; }
@test "manual: example, -s INT [/usr/bin/timeout]" { impl coreutils; c_example_int; }

c_example_int_ignored() {
	# timeout -s INT 5s env --ignore-signal=INT sleep 20: sleep ends
	# regularly, still 124 (and the command's own 0 with -p)
	run tmo -s INT .3s env --ignore-signal=INT sleep 1
	[ "$status" = 124 ]
	run tmo --preserve-status -s INT .3s env --ignore-signal=INT sleep 1
	[ "$status" = 0 ]
}
@test "manual: example, a command ignoring the signal [piperun]" { impl piperun; c_example_int_ignored; }
@test "manual: example, a command ignoring the signal [symlink]" { impl symlink; c_example_int_ignored; }
@test "manual: example, a command ignoring the signal [/usr/bin/timeout]" { impl coreutils; c_example_int_ignored; }

c_example_kill_after() {
	# timeout -s INT -k 3s 5s env --ignore-signal=INT sleep 20
	run tmo -s INT -k .3s .5s env --ignore-signal=INT sleep 20
	[ "$status" = 137 ]
}
@test "manual: example, -k after an ignored signal [piperun]" { impl piperun; c_example_kill_after; }
@test "manual: example, -k after an ignored signal [symlink]" { impl symlink; c_example_kill_after; }
@test "manual: example, -k after an ignored signal [/usr/bin/timeout]" { impl coreutils; c_example_kill_after; }

# -k: "This option has no effect if either the main duration ... or the
# duration specified to this option, is 0."
c_kill_after_zero() {
	run tmo -k 0 .1 env --ignore-signal=TERM sleep .5
	[ "$status" = 124 ]
	run tmo -k .1 0 sleep .3
	[ "$status" = 0 ]
}
@test "manual: -k has no effect when either duration is 0 [piperun]" { impl piperun; c_kill_after_zero; }
@test "manual: -k has no effect when either duration is 0 [symlink]" { impl symlink; c_kill_after_zero; }
@test "manual: -k has no effect when either duration is 0 [/usr/bin/timeout]" { impl coreutils; c_kill_after_zero; }

# -k: "starts from the point in time when timeout sends the initial
# signal": the command is alive well after -k from the start, and KILLed
# -k after the (outside ALRM's) signal
c_kill_after_counts_from_signal() {
	local rc=0
	"${TMO[@]}" -k .5 600 sh -c 'trap ": > got-term" TERM; : > ready; while :; do sleep .1 & wait $!; done' 3>&- & pid=$!
	wait_file ready
	settled "$pid"
	sleep 1
	kill -0 "$pid"
	kill -ALRM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" = 137 ]
	[ -e got-term ]
}
@test "manual: -k counts from the first signal [piperun]" { impl piperun; c_kill_after_counts_from_signal; }
@test "manual: -k counts from the first signal [symlink]" { impl symlink; c_kill_after_counts_from_signal; }
@test "manual: -k counts from the first signal [/usr/bin/timeout]" { impl coreutils; c_kill_after_counts_from_signal; }

# -p: "Return the exit status of the managed COMMAND on timeout"
c_preserve_status_own() {
	local rc=0
	"${TMO[@]}" --preserve-status 600 sh -c 'trap "exit 7" TERM; : > ready; while :; do sleep .1 & wait $!; done' 3>&- & pid=$!
	wait_file ready
	settled "$pid"
	kill -ALRM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" = 7 ]
	run tmo --preserve-status 10 sh -c 'exit 3'
	[ "$status" = 3 ]
}
@test "manual: --preserve-status gives the command's own status [piperun]" { impl piperun; c_preserve_status_own; }
@test "manual: --preserve-status gives the command's own status [symlink]" { impl symlink; c_preserve_status_own; }
@test "manual: --preserve-status gives the command's own status [/usr/bin/timeout]" { impl coreutils; c_preserve_status_own; }

# -s: a name (any case, with or without SIG), a number, or the exit
# status of a process killed by it (128+N; ksh's 256+N)
c_signal_specs() {
	local s
	for s in INT SIGINT int sigint SiGiNt 2 130 258; do
		run --separate-stderr tmo -v -s "$s" .1 sleep 10
		[ "$status" = 124 ] || { echo "-s $s: exit $status"; return 1; }
		[ "$stderr" = "${PFX}sending signal INT to command 'sleep'" ] || { echo "-s $s: $stderr"; return 1; }
	done
	run --separate-stderr tmo -v -s rtmin+1 .1 sleep 10
	[ "$stderr" = "${PFX}sending signal RTMIN+1 to command 'sleep'" ]
	run --separate-stderr tmo -v -s 64 .1 sleep 10
	[ "$stderr" = "${PFX}sending signal RTMAX to command 'sleep'" ]
	for s in 65 -1 '' 0x2 SIGKILLX RTMAX+1 ' 2'; do
		run tmo -s "$s" 1 true
		[ "$status" = 125 ] || { echo "-s '$s': exit $status"; return 1; }
	done
}
@test "manual: signal specifications [piperun]" { impl piperun; c_signal_specs; }
@test "manual: signal specifications [symlink]" { impl symlink; c_signal_specs; }
@test "manual: signal specifications [/usr/bin/timeout]" { impl coreutils; c_signal_specs; }

# -s 0 and EXIT: "the signal 0 pseudo signal is synonymous with the name
# EXIT": nothing is sent, the command runs to its end; 124.  No
# control: 9.1 reports it as "EXIT".
c_signal_zero() {
	local s
	for s in 0 EXIT exit SIGEXIT; do
		run --separate-stderr tmo -v -s "$s" .1 sleep .5
		[ "$status" = 124 ] || { echo "-s $s: exit $status"; return 1; }
		[ "$stderr" = "${PFX}sending signal 0 to command 'sleep'" ] || { echo "-s $s: $stderr"; return 1; }
	done
	run tmo --preserve-status -s 0 .1 sh -c 'sleep .5; exit 5'
	[ "$status" = 5 ]
}
@test "manual: -s 0 and EXIT send nothing [piperun]" { impl piperun; c_signal_zero; }
@test "manual: -s 0 and EXIT send nothing [symlink]" { impl symlink; c_signal_zero; }

# -v: "Diagnose to standard error, any signal sent upon timeout"
c_verbose_term() {
	run --separate-stderr tmo -v .1 sleep 10
	[ "$status" = 124 ]
	[ "$stderr" = "${PFX}sending signal TERM to command 'sleep'" ]
	[ -z "$output" ]
	run --separate-stderr tmo -v 10 true
	[ "$status" = 0 ]
	[ -z "$stderr" ]
}
@test "manual: --verbose names the signal sent [piperun]" { impl piperun; c_verbose_term; }
@test "manual: --verbose names the signal sent [symlink]" { impl symlink; c_verbose_term; }
@test "manual: --verbose names the signal sent [/usr/bin/timeout]" { impl coreutils; c_verbose_term; }

# DURATION: floating point with an optional unit s, m, h, d
c_duration_units() {
	local d
	for d in 1s 1m 1h 1d .5 5. 10.5s inf 1e400 ' 1' 0x1p0d 0x1d; do
		run tmo "$d" true
		[ "$status" = 0 ] || { echo "'$d': exit $status"; return 1; }
	done
	for d in .1s .002m .00003h .000001d 0x1p-3 0x.2; do
		run tmo "$d" sleep 10
		[ "$status" = 124 ] || { echo "'$d': exit $status"; return 1; }
	done
	for d in '' 1x 1ss '1 ' 0x 1e nan s .; do
		run tmo "$d" true
		[ "$status" = 125 ] || { echo "'$d': exit $status"; return 1; }
	done
}
@test "manual: duration units and notation [piperun]" { impl piperun; c_duration_units; }
@test "manual: duration units and notation [symlink]" { impl symlink; c_duration_units; }
@test "manual: duration units and notation [/usr/bin/timeout]" { impl coreutils; c_duration_units; }

# -0 is not negative: it disables the timeout (0 <= -0.0 in timeout.c's
# parse_duration)
c_duration_minus_zero() {
	run tmo -- -0 true
	[ "$status" = 0 ]
	run tmo ' -0' sh -c 'sleep .2; exit 4'
	[ "$status" = 4 ]
	run tmo -k ' -0' .1 sleep 10
	[ "$status" = 124 ]
}
@test "manual: a duration of -0 is 0 [piperun]" { impl piperun; c_duration_minus_zero; }
@test "manual: a duration of -0 is 0 [symlink]" { impl symlink; c_duration_minus_zero; }
@test "manual: a duration of -0 is 0 [/usr/bin/timeout]" { impl coreutils; c_duration_minus_zero; }

# "in either the current or the C locale": a locale whose decimal point
# is a comma, compiled once for this file (none is installed on a
# minimal system; localedef and the sources come with libc-bin and the
# locales package)
comma_locale() {
	local dir=$BATS_FILE_TMPDIR/locale
	mkdir -p "$dir"
	[ -d "$dir/de_DE.UTF-8" ] ||
		localedef -i de_DE -f UTF-8 "$dir/de_DE.UTF-8" 2> /dev/null ||
		[ -d "$dir/de_DE.UTF-8" ] ||
		fail "cannot compile the de_DE.UTF-8 locale (package locales)"
	echo "$dir"
}
c_duration_locale() {
	local dir
	dir=$(comma_locale)
	run env LOCPATH="$dir" LC_ALL=de_DE.UTF-8 "${TMO[@]}" 0,1 sleep 10
	[ "$status" = 124 ]
	run env LOCPATH="$dir" LC_ALL=de_DE.UTF-8 "${TMO[@]}" 0.1 sleep 10
	[ "$status" = 124 ]
	# and the C locale has no comma
	run env LC_ALL=C "${TMO[@]}" 0,1 sleep 0
	[ "$status" = 125 ]
}
@test "manual: a duration in the current or the C locale [piperun]" { impl piperun; c_duration_locale; }
@test "manual: a duration in the current or the C locale [symlink]" { impl symlink; c_duration_locale; }
@test "manual: a duration in the current or the C locale [/usr/bin/timeout]" { impl coreutils; c_duration_locale; }

# --foreground: "any children of COMMAND will not be timed out"; without
# it the command's group (its children) is
c_foreground_children() {
	local m rc=0 kid
	m=$(marker)
	"${TMO[@]}" --foreground 600 sh -c "sh -c ': > ready; sleep 300; :' $m-kid > /dev/null 2>&1 & wait; : $m" 3>&- & pid=$!
	wait_file ready
	settled "$pid"
	kill -ALRM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" = 124 ]
	sleep .3
	kid=$(procs_with "$m-kid")
	[ -n "$kid" ] && { pkill -P "$kid"; kill $kid; }
	[ -n "$kid" ]
	# without --foreground
	rc=0
	"${TMO[@]}" 600 sh -c "sh -c ': > ready2; sleep 300; :' $m-kid2 > /dev/null 2>&1 & wait; : $m" 3>&- & pid=$!
	wait_file ready2
	settled "$pid"
	kill -ALRM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" = 124 ]
	gone "$m-kid2"
}
@test "manual: --foreground leaves the command's children alone [piperun]" { impl piperun; c_foreground_children; }
@test "manual: --foreground leaves the command's children alone [symlink]" { impl symlink; c_foreground_children; }
@test "manual: --foreground leaves the command's children alone [/usr/bin/timeout]" { impl coreutils; c_foreground_children; }

# --foreground: "SIGCONT will not be sent to COMMAND"; without it, it is
# (after the signal, in case the command is stopped)
sig_recorder() {
	cat > rec.py <<'EOF'
import signal, sys, time
got = set()
for s in (signal.SIGTERM, signal.SIGCONT):
    signal.signal(s, lambda n, f: got.add(signal.Signals(n).name))
open("ready", "w").close()
while "SIGTERM" not in got:
    time.sleep(0.01)
end = time.monotonic() + float(sys.argv[1])
while "SIGCONT" not in got and time.monotonic() < end:
    time.sleep(0.01)
print(" ".join(sorted(got)))
EOF
}
c_foreground_no_cont() {
	local rc=0
	sig_recorder
	"${TMO[@]}" --foreground 600 python3 rec.py 1 > got 3>&- & pid=$!
	wait_file ready
	settled "$pid"
	kill -ALRM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" = 124 ]
	[ "$(cat got)" = SIGTERM ]
	rm ready
	rc=0
	"${TMO[@]}" 600 python3 rec.py 10 > got 3>&- & pid=$!
	wait_file ready
	settled "$pid"
	kill -ALRM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" = 124 ]
	[ "$(cat got)" = "SIGCONT SIGTERM" ]
}
@test "manual: SIGCONT follows the signal, but not with --foreground [piperun]" { impl piperun; c_foreground_no_cont; }
@test "manual: SIGCONT follows the signal, but not with --foreground [symlink]" { impl symlink; c_foreground_no_cont; }
@test "manual: SIGCONT follows the signal, but not with --foreground [/usr/bin/timeout]" { impl coreutils; c_foreground_no_cont; }

# A terminal (a private tmux server): run the command line $1 in it.
tty_run() {
	command -v tmux > /dev/null || skip "no tmux"
	TMUX_SOCK=piperun-test-$$-$RANDOM
	tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -x 80 -y 10 -c "$PWD" "$1"
}
tty_end() {
	tmux -L "$TMUX_SOCK" kill-server 2> /dev/null || true
}

# --foreground: "COMMAND is interactive and needs to read from the terminal"
c_tty_foreground_reads() {
	local t
	t=$(printf '%q ' "${TMO[@]}")
	tty_run "$t --foreground 20 sh -c ': > ready; read x; echo got:\$x > got'; echo \$? > st; sleep 5"
	wait_file ready
	tmux -L "$TMUX_SOCK" send-keys hello Enter
	wait_line st
	tty_end
	[ "$(cat got)" = got:hello ]
	[ "$(cat st)" = 0 ]
}
@test "manual: --foreground lets the command read the terminal [piperun]" { impl piperun; c_tty_foreground_reads; }
@test "manual: --foreground lets the command read the terminal [symlink]" { impl symlink; c_tty_foreground_reads; }
@test "manual: --foreground lets the command read the terminal [/usr/bin/timeout]" { impl coreutils; c_tty_foreground_reads; }

# without it the command is in a background group: reading the terminal
# stops it (SIGTTIN, which timeout itself ignores) until the timeout
c_tty_background_stopped() {
	local t
	t=$(printf '%q ' "${TMO[@]}")
	tty_run "$t 3 sh -c ': > ready; read x; echo got:\$x > got'; echo \$? > st; sleep 5"
	wait_file ready
	tmux -L "$TMUX_SOCK" send-keys hello Enter
	wait_line st
	tty_end
	[ "$(cat st)" = 124 ]
	[ ! -e got ]
}
@test "manual: without --foreground a command reading the terminal is stopped, then timed out [piperun]" { impl piperun; c_tty_background_stopped; }
@test "manual: without --foreground a command reading the terminal is stopped, then timed out [symlink]" { impl symlink; c_tty_background_stopped; }
@test "manual: without --foreground a command reading the terminal is stopped, then timed out [/usr/bin/timeout]" { impl coreutils; c_tty_background_stopped; }

# --foreground: "sending signals directly to COMMAND from the terminal
# (like Ctrl-C)"
c_tty_foreground_ctrl_c() {
	local t
	t=$(printf '%q ' "${TMO[@]}")
	tty_run "$t --foreground 20 sh -c 'trap \"echo int > got; exit 5\" INT; : > ready; while :; do sleep .1 & wait \$!; done'; sleep 5"
	wait_file ready
	tmux -L "$TMUX_SOCK" send-keys C-c
	wait_line got
	tty_end
	[ "$(cat got)" = int ]
}
@test "manual: --foreground lets a terminal's Ctrl-C reach the command [piperun]" { impl piperun; c_tty_foreground_ctrl_c; }
@test "manual: --foreground lets a terminal's Ctrl-C reach the command [symlink]" { impl symlink; c_tty_foreground_ctrl_c; }
@test "manual: --foreground lets a terminal's Ctrl-C reach the command [/usr/bin/timeout]" { impl coreutils; c_tty_foreground_ctrl_c; }

# The name counts, not the path: a `timeout` named by its full path is
# timeout too (the name a script's PATH lookup or `env` gives may be a
# path)
c_invoked_by_path() {
	run "$BATS_TEST_TMPDIR/bin/timeout" .1 sleep 10
	[ "$status" = 124 ]
	run env "$BATS_TEST_TMPDIR/bin/timeout" 10 sh -c 'exit 3'
	[ "$status" = 3 ]
}
@test "invocation: a timeout symlink called by its path [symlink]" { impl symlink; c_invoked_by_path; }
@test "invocation: a timeout symlink called by its path [/usr/bin/timeout]" { impl coreutils; c_invoked_by_path; }

# ------------------------------ signals, groups and stdin, as coreutils

# Without --foreground timeout leads a process group of its own and the
# command stays in it; with --foreground the command stays in the
# caller's group
c_process_groups() {
	local pid cpid cppid cpgid csid
	"${TMO[@]}" 10 "$PROBE" ids > ids 3>&- & pid=$!
	wait "$pid"
	read -r cpid cppid cpgid csid < ids
	[ "$cpgid" = "$pid" ]
	"${TMO[@]}" --foreground 10 "$PROBE" ids > ids 3>&- & pid=$!
	wait "$pid"
	read -r cpid cppid cpgid csid < ids
	[ "$cpgid" = "$(ps -o pgid= -p "$BASHPID" | tr -d ' ')" ]
}
@test "groups: the command is in timeout's group; with --foreground in the caller's [piperun]" { impl piperun; c_process_groups; }
@test "groups: the command is in timeout's group; with --foreground in the caller's [symlink]" { impl symlink; c_process_groups; }
@test "groups: the command is in timeout's group; with --foreground in the caller's [/usr/bin/timeout]" { impl coreutils; c_process_groups; }

c_stdin_stdout() {
	run bash -c 'printf "in\n" | "$@" 5 tr a-z A-Z' bash "${TMO[@]}"
	[ "$status" = 0 ]
	[ "$output" = IN ]
}
@test "stdin and stdout pass through [piperun]" { impl piperun; c_stdin_stdout; }
@test "stdin and stdout pass through [symlink]" { impl symlink; c_stdin_stdout; }
@test "stdin and stdout pass through [/usr/bin/timeout]" { impl coreutils; c_stdin_stdout; }

# An outside SIGALRM means "time out now", also when timeout was started
# with SIGALRM ignored
c_outside_alrm() {
	local rc=0
	"${TMO[@]}" 600 sh -c ': > ready; exec sleep 300' 3>&- & pid=$!
	wait_file ready
	settled "$pid"
	kill -ALRM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" = 124 ]
	rm ready
	rc=0
	env --ignore-signal=ALRM "${TMO[@]}" 600 sh -c ': > ready; exec sleep 300' 3>&- & pid=$!
	wait_file ready
	settled "$pid"
	kill -ALRM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" = 124 ]
}
@test "signals: an outside SIGALRM times out now [piperun]" { impl piperun; c_outside_alrm; }
@test "signals: an outside SIGALRM times out now [symlink]" { impl symlink; c_outside_alrm; }
@test "signals: an outside SIGALRM times out now [/usr/bin/timeout]" { impl coreutils; c_outside_alrm; }

# send each signal to timeout: it reaches the command and its group (all
# die of it), and timeout then dies of it too (128+N).  The command and
# its child are sleeps under a marked name (timeout's own argv has the
# marker too: -x matches theirs only); the child, a background job,
# would start with INT and QUIT ignored: env puts them back.
forwarded() {
	local sig m rc i
	ulimit -c 0
	for sig in "$@"; do
		m=$(marker)-$sig
		ln -s "$(command -v sleep)" "$m"
		"${INTERRUPTIBLE[@]}" "${TMO[@]}" 600 sh -c "${INTERRUPTIBLE[*]} ./$m 300 & exec ./$m 301" 3>&- & pid=$!
		for i in $(seq 200); do
			pgrep -f -x "./$m 300" > /dev/null && pgrep -f -x "./$m 301" > /dev/null && break
			sleep 0.05
		done
		settled "$pid"
		kill -s "$sig" "$pid"
		rc=0
		wait "$pid" || rc=$?
		[ "$rc" = $((128 + $(kill -l "$sig"))) ] || { echo "SIG$sig: exit $rc"; return 1; }
		gone "$m" || { echo "SIG$sig: left running"; return 1; }
	done
}
c_forward_classic() {
	forwarded INT QUIT HUP TERM
}
@test "signals: INT QUIT HUP TERM are passed on [piperun]" { impl piperun; c_forward_classic; }
@test "signals: INT QUIT HUP TERM are passed on [symlink]" { impl symlink; c_forward_classic; }
@test "signals: INT QUIT HUP TERM are passed on [/usr/bin/timeout]" { impl coreutils; c_forward_classic; }

# coreutils' term_sig list (POLL is IO on Linux) and the real-time
# signals.  No control: 9.1 passes on only ALRM INT QUIT HUP TERM.
c_forward_all() {
	forwarded PIPE USR1 USR2 ILL TRAP ABRT BUS FPE SEGV XCPU XFSZ SYS VTALRM PROF IO PWR STKFLT \
		RTMIN RTMIN+1 RTMAX-1 RTMAX
}
@test "signals: every terminating signal is passed on [piperun]" { impl piperun; c_forward_all; }
@test "signals: every terminating signal is passed on [symlink]" { impl symlink; c_forward_all; }

# Signals ignored when timeout starts stay ignored in the command, but
# ALRM and the -s signal, which timeout always handles.  No control: 9.1
# resets HUP INT QUIT.
c_ignored_stay_ignored() {
	run env --ignore-signal=HUP,INT,QUIT,PIPE,USR1,USR2,TERM,ALRM "${TMO[@]}" 10 "$PROBE" sigdisp HUP INT QUIT PIPE USR1 12 TERM ALRM
	[ "$status" = 0 ]
	[ "$output" = "$(printf '%s\n' 'HUP ignored unblocked' 'INT ignored unblocked' 'QUIT ignored unblocked' \
		'PIPE ignored unblocked' 'USR1 ignored unblocked' '12 ignored unblocked' 'TERM default unblocked' 'ALRM default unblocked')" ]
	run env --ignore-signal=USR1,TERM "${TMO[@]}" -s USR1 10 "$PROBE" sigdisp USR1 TERM
	[ "$status" = 0 ]
	[ "$output" = "$(printf '%s\n' 'USR1 default unblocked' 'TERM ignored unblocked')" ]
}
@test "signals: signals ignored at start stay ignored, but ALRM and -s [piperun]" { impl piperun; c_ignored_stay_ignored; }
@test "signals: signals ignored at start stay ignored, but ALRM and -s [symlink]" { impl symlink; c_ignored_stay_ignored; }

# ... and are not passed on: the command (which takes USR1 back to the
# default, so that a USR1 passed on would end it) ends on the USR2 sent
# after it.  No control: 9.1 does not handle USR2.
c_ignored_not_forwarded() {
	local rc=0
	cat > cmd.py <<'EOF'
import signal, time
got = []
signal.signal(signal.SIGUSR1, signal.SIG_DFL)
signal.signal(signal.SIGUSR2, lambda n, f: got.append(n))
open("ready", "w").close()
while not got:
    time.sleep(0.05)
print("usr2")
EOF
	env --ignore-signal=USR1 "${TMO[@]}" 600 python3 cmd.py > out 3>&- & pid=$!
	wait_file ready
	kill -USR1 "$pid"
	kill -USR2 "$pid"
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || { echo "exit $rc, output: $(cat out)"; return 1; }
	[ "$(cat out)" = usr2 ]
}
@test "signals: a signal ignored at start is not passed on [piperun]" { impl piperun; c_ignored_not_forwarded; }
@test "signals: a signal ignored at start is not passed on [symlink]" { impl symlink; c_ignored_not_forwarded; }

# ------------------------- what an outside red team found (issue 15)
# Each case: current coreutils does this, from its source (timeout.c);
# Debian's 9.1 agrees in every one, so it runs as the control.

# execvp and nothing closed: fds timeout was started with reach the
# command (make's jobserver, a flock held on fd 9)
c_inherited_fds() {
	run "${TMO[@]}" 5 sh -c 'echo via-fd3 >&3' 3> fd3.out
	[ "$status" = 0 ]
	[ "$(cat fd3.out)" = via-fd3 ]
	run "${TMO[@]}" 5 sh -c 'ls /proc/self/fd' 7< /dev/null 9> lock
	[[ " $(echo $output) " == *" 7 "* ]]
	[[ " $(echo $output) " == *" 9 "* ]]
}
@test "red team: fds timeout inherited reach the command [piperun]" { impl piperun; c_inherited_fds; }
@test "red team: fds timeout inherited reach the command [symlink]" { impl symlink; c_inherited_fds; }
@test "red team: fds timeout inherited reach the command [/usr/bin/timeout]" { impl coreutils; c_inherited_fds; }

# closed stdio stays closed for the command; help to a closed stdout
# is a write error (close_stdout)
c_closed_stdio() {
	# (run's own capture would replace a closed stdout: close it inside)
	run --separate-stderr bash -c '"$@" >&-' sh "${TMO[@]}" 5 ls /
	[ "$status" = 2 ]
	[[ $stderr == *"write error"* ]]
	run --separate-stderr bash -c '"$@" >&-' sh "${TMO[@]}" --help
	[ "$status" = 125 ]
	[ "$stderr" = "${PFX}write error: Bad file descriptor" ]
}
@test "red team: closed stdio stays closed; --help to it fails with 125 [piperun]" { impl piperun; c_closed_stdio; }
@test "red team: closed stdio stays closed; --help to it fails with 125 [symlink]" { impl symlink; c_closed_stdio; }
@test "red team: closed stdio stays closed; --help to it fails with 125 [/usr/bin/timeout]" { impl coreutils; c_closed_stdio; }

# help to a pipe whose reader left, SIGPIPE ignored from the start: a
# write error, 125
c_help_epipe_ignored() {
	# stdout a pipe whose read end is closed before timeout starts, and
	# SIGPIPE ignored (restore_signals=False keeps it so in the child)
	run python3 -c '
import os, signal, subprocess, sys
r, w = os.pipe()
os.close(r)
signal.signal(signal.SIGPIPE, signal.SIG_IGN)
p = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.PIPE, restore_signals=False)
print("rc=%d" % p.returncode)
sys.stdout.write(p.stderr.decode())' "${TMO[@]}" --help
	[[ $output == *"${PFX}write error: Broken pipe"* ]]
	[[ $output == *"rc=125"* ]]
}
@test "red team: --help to a closed pipe with SIGPIPE ignored: 125 [piperun]" { impl piperun; c_help_epipe_ignored; }
@test "red team: --help to a closed pipe with SIGPIPE ignored: 125 [symlink]" { impl symlink; c_help_epipe_ignored; }
@test "red team: --help to a closed pipe with SIGPIPE ignored: 125 [/usr/bin/timeout]" { impl coreutils; c_help_epipe_ignored; }

# execvp: a script without #! runs in /bin/sh; a path's own error is
# 126 with what it is
c_execvp() {
	printf 'echo hi-from-sh "$1"\n' > nosh
	chmod +x nosh
	run "${TMO[@]}" 5 ./nosh arg
	[ "$status" = 0 ]
	[ "$output" = "hi-from-sh arg" ]
	run --separate-stderr "${TMO[@]}" 5 /etc/passwd/x
	[ "$status" = 126 ]
	[ "$stderr" = "${PFX}failed to run command '/etc/passwd/x': Not a directory" ]
	ln -s loop loop
	run --separate-stderr "${TMO[@]}" 5 ./loop
	[ "$status" = 126 ]
	[[ $stderr == *"Too many levels of symbolic links" ]]
}
@test "red team: execvp: a script without #! runs in sh, a path's error is 126 [piperun]" { impl piperun; c_execvp; }
@test "red team: execvp: a script without #! runs in sh, a path's error is 126 [symlink]" { impl symlink; c_execvp; }
@test "red team: execvp: a script without #! runs in sh, a path's error is 126 [/usr/bin/timeout]" { impl coreutils; c_execvp; }

# after a signal went out with -k (here a forwarded TERM), the timeout
# itself is the KILL (term_signal = SIGKILL in cleanup()), said once each
c_kill_after_forwarded() {
	local rc=0
	"${TMO[@]}" -v -k 20 600 sh -c 'trap "" TERM; : > ready; while :; do sleep 0.05; done' 2> err 3>&- & pid=$!
	wait_file ready
	settled "$pid"
	kill -TERM "$pid"
	sleep 0.2
	kill -ALRM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" = 137 ]
	[ "$(cat err)" = "${PFX}sending signal TERM to command 'sh'
${PFX}sending signal KILL to command 'sh'" ]
}
@test "red team: -k after a forwarded signal: the timeout is the KILL [piperun]" { impl piperun; c_kill_after_forwarded; }
@test "red team: -k after a forwarded signal: the timeout is the KILL [symlink]" { impl symlink; c_kill_after_forwarded; }
@test "red team: -k after a forwarded signal: the timeout is the KILL [/usr/bin/timeout]" { impl coreutils; c_kill_after_forwarded; }

# a deadline smaller than a start-up always times out
c_tiny_durations() {
	local i d
	for d in 1e-9 1e-320 1e-10000; do
		[ "$IMPL" = coreutils ] && [ "$d" = 1e-10000 ] && continue  # 9.1: 0
		for i in $(seq 10); do
			run "${TMO[@]}" "$d" true
			[ "$status" = 124 ] || { echo "$d: run $i: $status"; return 1; }
		done
	done
}
@test "red team: tiny durations always time out [piperun]" { impl piperun; c_tiny_durations; }
@test "red team: tiny durations always time out [symlink]" { impl symlink; c_tiny_durations; }
@test "red team: tiny durations always time out [/usr/bin/timeout]" { impl coreutils; c_tiny_durations; }

# glibc getopt's words, the option named in full
c_long_option_words() {
	run --separate-stderr "${TMO[@]}" --verbose=x 1 true
	[ "$status" = 125 ]
	[ "${stderr%%$'\n'*}" = "${PFX}option '--verbose' doesn't allow an argument" ]
	run --separate-stderr "${TMO[@]}" --kill
	[ "$status" = 125 ]
	[ "${stderr%%$'\n'*}" = "${PFX}option '--kill-after' requires an argument" ]
	run --separate-stderr "${TMO[@]}" --ver
	[ "${stderr%%$'\n'*}" = "${PFX}option '--ver' is ambiguous; possibilities: '--verbose' '--version'" ]
}
@test "red team: long options named in full in getopt's messages [piperun]" { impl piperun; c_long_option_words; }
@test "red team: long options named in full in getopt's messages [symlink]" { impl symlink; c_long_option_words; }
@test "red team: long options named in full in getopt's messages [/usr/bin/timeout]" { impl coreutils; c_long_option_words; }

# program_name is argv[0] as typed; quote() follows the locale
c_name_and_quotes() {
	run --separate-stderr "$BATS_TEST_TMPDIR/bin/timeout" -x 1 true
	[ "$status" = 125 ]
	[ "$stderr" = "$BATS_TEST_TMPDIR/bin/timeout: invalid option -- 'x'
Try '$BATS_TEST_TMPDIR/bin/timeout --help' for more information." ]
	run --separate-stderr env LC_ALL=C.UTF-8 timeout -s "it's" 1 true
	[ "$stderr" = "timeout: ‘it's’: invalid signal
Try 'timeout --help' for more information." ]
	run -127 --separate-stderr env LC_ALL=C.UTF-8 timeout 1 ./no-such-été
	[ "$stderr" = "timeout: failed to run command ‘./no-such-été’: No such file or directory" ]
}
@test "red team: the program name as typed, quotes as the locale has them [symlink]" { impl symlink; c_name_and_quotes; }
@test "red team: the program name as typed, quotes as the locale has them [/usr/bin/timeout]" { impl coreutils; c_name_and_quotes; }

# a -s signal blocked at start stays blocked in the command (the mask is
# restored but for ALRM and CHLD)
c_blocked_sig_stays() {
	run perl -e 'use POSIX qw(:signal_h); sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGUSR1)); exec @ARGV' \
		"${TMO[@]}" -s USR1 5 grep SigBlk /proc/self/status
	[ "$status" = 0 ]
	[ "$output" = "SigBlk:	0000000000000200" ]
}
@test "red team: a blocked -s signal stays blocked in the command [piperun]" { impl piperun; c_blocked_sig_stays; }
@test "red team: a blocked -s signal stays blocked in the command [symlink]" { impl symlink; c_blocked_sig_stays; }
@test "red team: a blocked -s signal stays blocked in the command [/usr/bin/timeout]" { impl coreutils; c_blocked_sig_stays; }

# ------------------------------------------ a second red team (issue 15)

# --foreground: a terminal's Ctrl-C is passed on like any signal
# (cleanup() does not ask who sent it): -v says it, the -k clock starts
# (so a command that left the group gets it too)
c_tty_foreground_ctrl_c_k() {
	local t
	t=$(printf '%q ' "${TMO[@]}")
	tty_run "$t -v --foreground -k 1 600 sh -c 'trap \"\" INT; : > ready; while :; do sleep .1; done' 2> err; echo \$? > st; sleep 5"
	wait_file ready
	tmux -L "$TMUX_SOCK" send-keys C-c
	wait_line st 20
	tty_end
	[ "$(cat st)" = 137 ]
	grep -q "sending signal INT to command 'sh'" err
	grep -q "sending signal KILL to command 'sh'" err
}
@test "red team 2: --foreground passes a terminal's Ctrl-C on, -k and -v too [piperun]" { impl piperun; c_tty_foreground_ctrl_c_k; }
@test "red team 2: --foreground passes a terminal's Ctrl-C on, -k and -v too [symlink]" { impl symlink; c_tty_foreground_ctrl_c_k; }
@test "red team 2: --foreground passes a terminal's Ctrl-C on, -k and -v too [/usr/bin/timeout]" { impl coreutils; c_tty_foreground_ctrl_c_k; }

# a command that KILLs itself after the timeout's TERM: 137, an exit
# (timeout dies of KILL only when it sent one to its group)
c_self_kill_after_timeout() {
	run raw_status "${TMO[@]}" 0.2 sh -c 'trap "kill -9 \$\$" TERM; sleep 30 & wait'
	[ "$output" = 137 ]
}
@test "red team 2: a command that KILLs itself on the timeout: exit 137 [piperun]" { impl piperun; c_self_kill_after_timeout; }
@test "red team 2: a command that KILLs itself on the timeout: exit 137 [symlink]" { impl symlink; c_self_kill_after_timeout; }
@test "red team 2: a command that KILLs itself on the timeout: exit 137 [/usr/bin/timeout]" { impl coreutils; c_self_kill_after_timeout; }

# a SIGALRM left pending by the process that exec'd timeout still means
# "time out now" (current coreutils: 143 before the command runs; 9.1
# and piperun: the command gets the signal, 124)
c_pending_alrm() {
	run python3 -c '
import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
os.kill(os.getpid(), signal.SIGALRM)
os.execvp(sys.argv[1], sys.argv[1:] + ["30", "sh", "-c", "sleep 1; echo ran"])' "${TMO[@]}"
	[ "$status" = 124 ] || [ "$status" = 143 ]
	[[ $output != *ran* ]]
}
@test "red team 2: a SIGALRM pending at start times out [piperun]" { impl piperun; c_pending_alrm; }
@test "red team 2: a SIGALRM pending at start times out [symlink]" { impl symlink; c_pending_alrm; }
@test "red team 2: a SIGALRM pending at start times out [/usr/bin/timeout]" { impl coreutils; c_pending_alrm; }
