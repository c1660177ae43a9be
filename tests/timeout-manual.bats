#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# timeout-manual.bats - `piperun timeout` against the statements and examples
# of coreutils' manual (info node "timeout invocation"), scaled down (seconds
# to tenths); how each case runs per implementation: timeout-compat.bats.
load helper
load helpers/timeout-compat

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
