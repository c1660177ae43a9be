# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 18 benchmark: --executor slurm against local, through one
allocation.  N x `true` at -j 8 (jobs/s; goal >= 50 on a 2-CPU VM) and
N_SLURM_SLEEP x `sleep 0.5` at -j 8 (wall against local; goal <= 1.2 x),
interleaved rounds.  Needs a Slurm cluster: scripts/slurm-up (root)
brings up the single-node one of the tests; SLURM_CONF is taken from
/tmp/slurm-ci/env when not set.  Without srun it says so and measures
nothing.

    python3 bench/slurm.py
    N_SLURM=500 N_SLURM_SLEEP=40 BENCH_RUNS=3 python3 bench/slurm.py
"""
import json
import os
import shutil
import tempfile

from _bench import RUNS, fig, goal, have, piperun_bin, piperun_record, ratio, round_robin, timed

N = int(os.environ.get("N_SLURM", "200"))
N_SLEEP = int(os.environ.get("N_SLURM_SLEEP", "40"))


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
    for name, argv, n in [("true", ["true"], N), ("sleep", ["sleep", "0.5"], N_SLEEP)]:
        specs[name] = os.path.join(tmp, f"{name}.json")
        json.dump({"jobs": [{"run": argv, "repeat": n}]}, open(specs[name], "w"))
    print(f"# bench/slurm: N={N} N_SLURM_SLEEP={N_SLEEP} runs={RUNS} cores={os.cpu_count()} "
          "(interleaved rounds; slurm: one allocation per run, salloc included)")

    def piperun(what, n, executor):
        def f():
            dt, r = timed([pr, "run", "-j", "8", "-o", "jsonl", "--executor", executor,
                           specs[what]])
            piperun_record(r, n)
            return {"wall": (dt, "s"), "jobs_per_s": (n / dt, "jobs/s")}
        return f

    m = round_robin([
        ("slurm_true", piperun("true", N, "slurm")),
        ("local_true", piperun("true", N, "local")),
        ("slurm_sleep", piperun("sleep", N_SLEEP, "slurm")),
        ("local_sleep", piperun("sleep", N_SLEEP, "local")),
    ])
    goal("slurm_true_rate", m["slurm_true_jobs_per_s"], "jobs/s",
         f"{N} x true through one allocation, -j 8", ">= 50",
         workload=f"{N} x true, --executor slurm -j 8",
         piperun=fig("slurm_true", "jobs_per_s", "--executor slurm"),
         peers=[("other", fig("local_true", "jobs_per_s", "piperun, local"))])
    ratio("slurm_sleep", m["slurm_sleep_wall"], m["local_sleep_wall"],
          "wall, --executor slurm / local (lower is better)", "<= 1.2",
          workload=f"{N_SLEEP} x sleep 0.5, -j 8",
          piperun=fig("slurm_sleep", "wall", "--executor slurm"),
          peers=[("other", fig("local_sleep", "wall", "piperun, local"))])
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
