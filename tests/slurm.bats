#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# --executor slurm against the private single-node cluster of
# scripts/slurm-up (issue 18).  As root the suite brings the cluster up
# itself (idempotent; scripts/check starts it before and stops it after)
# and a cluster that cannot start fails every test; as another user it
# is skipped, saying so.
load helper

SLURM_UP="$TESTS_DIR/../scripts/slurm-up"
SLURM_DIR=${SLURM_CI_DIR:-/tmp/slurm-ci}

setup_file() {
	if [ "$(id -u)" != 0 ]; then
		export SLURM_SKIP="not root: the single-node Slurm cluster needs root (scripts/slurm-up)"
		return 0
	fi
	"$SLURM_UP" >"$BATS_FILE_TMPDIR/slurm-up.log" 2>&1 || {
		cat "$BATS_FILE_TMPDIR/slurm-up.log" >&2
		echo "scripts/slurm-up failed: the Slurm suite cannot run" >&2
		return 1
	}
}

setup() {
	[ -z "${SLURM_SKIP:-}" ] || skip "$SLURM_SKIP"
	. "$SLURM_DIR/env"
	export SLURM_CONF
}

# Jobs of this cluster still in squeue (none: empty).
squeue_ids() {
	timeout 10 squeue -h -o %i 2>/dev/null || true
}

@test "the cluster is up: a step runs in an allocation" {
	local name; name=$(marker)
	run timeout 30 salloc --no-shell -n1 -Q -J "$name"
	[ "$status" = 0 ]
	jobid=$(timeout 10 squeue -h -o %i -n "$name")
	[ -n "$jobid" ]
	run timeout 30 srun --jobid="$jobid" --overlap -n1 --quiet echo hi
	scancel "$jobid"
	[ "$status" = 0 ]
	[ "$output" = hi ]
}
