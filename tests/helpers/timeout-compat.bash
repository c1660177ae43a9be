# SPDX-License-Identifier: GPL-3.0-or-later
# timeout-compat.bash - what the suites that check `piperun timeout` as a
# drop-in for coreutils timeout(1) share (timeout-compat.bats: coreutils'
# own test scripts; timeout-manual.bats: its manual; timeout-signals.bats:
# signals, groups, stdin and what red teams found): the implementation
# under test, chosen per @test (see timeout-compat.bats), and a terminal.

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

# A terminal (a private tmux server): run the command line $1 in it.
tty_run() {
	command -v tmux > /dev/null || skip "no tmux"
	TMUX_SOCK=piperun-test-$$-$RANDOM
	tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -x 80 -y 10 -c "$PWD" "$1"
}
tty_end() {
	tmux -L "$TMUX_SOCK" kill-server 2> /dev/null || true
}
