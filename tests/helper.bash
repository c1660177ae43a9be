# helper.bash - shared set-up for the bats suites.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

: "${PIPERUN:?PIPERUN must point at the piperun binary (make check sets it)}"
: "${PROBE:?PROBE must point at tests/helpers/probe}"
: "${PIPELINES:?PIPELINES must point at pipelines/}"

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

# A word no other process on the machine has in its argv.
marker() {
	printf 'piperun-test-%s-%s-%s' "$$" "$BATS_TEST_NUMBER" "$RANDOM"
}

# Processes whose command line contains $1 (none: empty).
procs_with() {
	pgrep -f -- "$1" || true
}
