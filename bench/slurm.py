# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 18 benchmark: --executor slurm against local, through one
allocation.  N x `true` at -j 8 (jobs/s; goal >= 50 on a 2-CPU VM) and
N_SLURM_SLEEP x `sleep 0.5` at -j 8 (wall against local; goal: within
1.2 x the local time plus srun's start-up, measured as a one-job run on
slurm minus the same run locally and counted once for each of the
ceil(N/8) steps a slot runs one after another), interleaved rounds.  Side by side, what users do without piperun, each
8 at once:

  - one `sbatch --wait` per job (xargs -P 8): every job through the
    scheduler, N_SBATCH of each (default 24, not 40, to keep the bench
    near 2 minutes: 8 such jobs take about 2 s here, where the issue
    measured 54 s for 40 short jobs on a cluster with Slurm's default
    scheduler ticks; this one schedules at once, sched_min_interval=0);
    its rate is compared with piperun's over N and N_SLURM_SLEEP jobs;
  - GNU parallel running `srun --jobid=J --overlap -n1` per job inside
    one allocation (salloc --no-shell before, scancel after, both timed,
    as piperun's own are), N and N_SLURM_SLEEP jobs.

Ratios are piperun's jobs/s over the other's (higher: piperun faster).
BENCH_RUNS defaults to 3 here (a round takes about 30 s).  Needs a Slurm
cluster: scripts/slurm-up (root) brings up the single-node one of the
tests; SLURM_CONF is taken from /tmp/slurm-ci/env when not set.  Without
srun it says so and measures nothing.

    python3 bench/slurm.py
    N_SLURM=500 N_SLURM_SLEEP=40 N_SBATCH=20 BENCH_RUNS=3 python3 bench/slurm.py
"""
import json
import os
import shutil
import tempfile

from _bench import fig, goal, have, piperun_bin, piperun_record, ratio, round_robin, timed

N = int(os.environ.get("N_SLURM", "200"))
N_SLEEP = int(os.environ.get("N_SLURM_SLEEP", "40"))
N_SBATCH = int(os.environ.get("N_SBATCH", "24"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
# salloc, the jobs through GNU parallel as steps, scancel (the allocation
# is released however parallel ends)
PAR = r'''
j=$(salloc --no-shell -n8 -J piperun-bench 2>&1 |
    sed -n 's/.*Granted job allocation \([0-9]*\).*/\1/p')
[ -n "$j" ] || exit 3
seq "$1" | parallel --will-cite -j 8 -N0 srun --jobid="$j" --overlap -n1 --quiet -- "${@:2}"
rc=$?
scancel "$j"
exit $rc
'''


def slurm_env():
    env = os.environ.get("SLURM_CI_DIR", "/tmp/slurm-ci") + "/env"
    if "SLURM_CONF" not in os.environ and os.path.exists(env):
        line = open(env).read().strip()
        if line.startswith("export SLURM_CONF="):
            os.environ["SLURM_CONF"] = line.split("=", 1)[1]


def main():
    slurm_env()
    if not have("srun"):
        print("# bench/slurm: skipped: no srun on PATH (scripts/slurm-up brings up a cluster)")
        return
    pr = piperun_bin()
    tmp = tempfile.mkdtemp(prefix="piperun-bench-")
    specs = {}
    for name, argv, n in [("true", ["true"], N), ("sleep", ["sleep", "0.5"], N_SLEEP),
                          ("one", ["true"], 1)]:
        specs[name] = os.path.join(tmp, f"{name}.json")
        json.dump({"jobs": [{"run": argv, "repeat": n}]}, open(specs[name], "w"))
    print(f"# bench/slurm: N={N} N_SLURM_SLEEP={N_SLEEP} N_SBATCH={N_SBATCH} runs={RUNS} "
          f"cores={os.cpu_count()} (interleaved rounds; slurm: one allocation per run, "
          "salloc included)")

    def rate(dt, n):
        return {"wall": (dt, "s"), "jobs_per_s": (n / dt, "jobs/s")}

    def piperun(what, n, executor):
        def f():
            dt, r = timed([pr, "run", "-j", "8", "-o", "jsonl", "--executor", executor,
                           specs[what]])
            piperun_record(r, n)
            return rate(dt, n)
        return f

    def sbatch(n, cmd):
        def f():
            dt, _ = timed(f"seq {n} | xargs -P 8 -I{{}} sbatch --wait --quiet -o /dev/null "
                          f"-n1 -J piperun-bench --wrap='{cmd}'")
            return rate(dt, n)
        return f

    def parallel(n, argv):
        def f():
            dt, _ = timed(["bash", "-c", PAR, "par", str(n), *argv])
            return rate(dt, n)
        return f

    configs = [
        ("slurm_true", piperun("true", N, "slurm")),
        ("local_true", piperun("true", N, "local")),
        ("slurm_sleep", piperun("sleep", N_SLEEP, "slurm")),
        ("local_sleep", piperun("sleep", N_SLEEP, "local")),
        # srun's start-up: a run of one `true` on slurm (allocation,
        # one step, release) minus the same run locally
        ("slurm_one", piperun("one", 1, "slurm")),
        ("local_one", piperun("one", 1, "local")),
        ("sbatch_true", sbatch(N_SBATCH, "true")),
        ("sbatch_sleep", sbatch(N_SBATCH, "sleep 0.5")),
    ]
    if have("parallel"):
        configs += [("parallel_true", parallel(N, ["true"])),
                    ("parallel_sleep", parallel(N_SLEEP, ["sleep", "0.5"]))]
    m = round_robin(configs, runs=RUNS)
    js = "jobs_per_s"
    goal("slurm_true_rate", m["slurm_true_jobs_per_s"], "jobs/s",
         f"{N} x true through one allocation, -j 8", ">= 50",
         workload=f"{N} x true, --executor slurm -j 8",
         piperun=fig("slurm_true", js, "--executor slurm"),
         peers=[("other", fig("local_true", js, "piperun, local"))])
    # srun's start-up is paid by every step; 8 at once, a slot runs
    # ceil(N/8) steps one after another, so that many start-ups lie on
    # the run's critical path (the local run pays none)
    startup = max(m["slurm_one_wall"] - m["local_one_wall"], 0.0)
    waves = -(-N_SLEEP // 8)
    print(f"# srun's start-up (one-job run on slurm minus local): {startup:.3f} s; "
          f"{waves} steps in a row per slot")
    ratio("slurm_sleep_startup", m["slurm_sleep_wall"] - waves * startup, m["local_sleep_wall"],
          "(wall on slurm - srun's start-up for each step in a row) / wall local: the "
          "issue's goal, within 1.2 x the local time plus srun's start-up", "<= 1.2",
          workload=f"{N_SLEEP} x sleep 0.5, -j 8",
          piperun=fig("slurm_sleep", "wall", "--executor slurm"),
          peers=[("other", fig("local_sleep", "wall", "piperun, local"))])
    ratio("slurm_sleep", m["slurm_sleep_wall"], m["local_sleep_wall"],
          "wall, --executor slurm / local (lower is better; informational)", None,
          workload=f"{N_SLEEP} x sleep 0.5, -j 8",
          piperun=fig("slurm_sleep", "wall", "--executor slurm"),
          peers=[("other", fig("local_sleep", "wall", "piperun, local"))])
    for w, n, nb in (("true", N, N_SBATCH), ("sleep", N_SLEEP, N_SBATCH)):
        what = "true" if w == "true" else "sleep 0.5"
        ratio(f"slurm_vs_sbatch_{w}", m[f"slurm_{w}_{js}"], m[f"sbatch_{w}_{js}"],
              "piperun --executor slurm / one sbatch --wait per job (xargs -P 8), jobs/s",
              workload=f"x {what}, 8 at once: piperun {n} jobs, sbatch {nb}",
              piperun=fig(f"slurm_{w}", js, "--executor slurm"),
              peers=[("other", fig(f"sbatch_{w}", js, "sbatch --wait per job"))])
        if f"parallel_{w}_{js}" in m:
            ratio(f"slurm_vs_parallel_{w}", m[f"slurm_{w}_{js}"], m[f"parallel_{w}_{js}"],
                  "piperun --executor slurm / GNU parallel -j 8 srun --overlap in one "
                  "allocation, jobs/s",
                  workload=f"{n} x {what}, 8 at once, one allocation each",
                  piperun=fig(f"slurm_{w}", js, "--executor slurm"),
                  peers=[("parallel", fig(f"parallel_{w}", js, "srun steps"))])
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
