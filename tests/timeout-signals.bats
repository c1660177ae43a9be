#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# timeout-signals.bats - `piperun timeout` as coreutils timeout(1) on signals,
# process groups and stdin, and what the red teams of issue 15 found; how
# each case runs per implementation: timeout-compat.bats.
load helper
load helpers/timeout-compat

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
