# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 3 benchmarks: spawn throughput and one-job overhead, side by side
with the peers in one run.

    python3 bench/spawn.py            # N=2000, 5 interleaved rounds
    N=1000 BENCH_RUNS=3 python3 bench/spawn.py

  - 2000 `true` jobs, -j 2, stdout/stderr null: piperun vs a bare C spawn
    loop (shared/anchors/spawnbench.c, posix_spawn), xargs -P 2 and GNU
    parallel (500 jobs; it is ~10x slower, jobs/s compared)
  - 2000 `echo x` jobs, -j 2, captured: piperun vs spawnbench -c
  - `piperun run` of a one-job spec vs running the command directly
Each command is timed whole (process start, spec parsing, results) from
the same Python driver.
"""
import json
import os
import tempfile

from _bench import RUNS, anchor_tool, have, piperun_bin, ratio, round_robin, timed

N = int(os.environ.get("N", "2000"))
N_PAR = int(os.environ.get("N_PARALLEL", "500"))


def main():
    pr = piperun_bin()
    sb = anchor_tool("spawnbench")
    tmp = tempfile.mkdtemp(prefix="piperun-bench-")
    t_spec = os.path.join(tmp, "true.json")
    e_spec = os.path.join(tmp, "echo.json")
    one = os.path.join(tmp, "one.json")
    json.dump({"jobs": [{"run": ["true"], "stdout": "null", "stderr": "null", "repeat": N}]},
              open(t_spec, "w"))
    json.dump({"jobs": [{"run": ["echo", "x"], "repeat": N}]}, open(e_spec, "w"))
    json.dump({"jobs": [{"run": ["true"]}]}, open(one, "w"))
    true_bin = "/bin/true"
    echo_bin = "/bin/echo"
    print(f"# bench/spawn: N={N} N_PARALLEL={N_PAR} runs={RUNS} cores={os.cpu_count()} "
          f"(interleaved rounds, whole commands timed)")

    def per(n, cmd):
        def f():
            dt, _ = timed(cmd)
            return {"jobs_per_s": (n / dt, "jobs/s")}
        return f

    def piperun_echo(binary):
        def f():
            dt, r = timed([binary, "run", "-j", "2", "-o", "jsonl", e_spec])
            last = json.loads(r.stdout.splitlines()[-1])
            assert last["summary"]["ok"] == N, last
            return {"jobs_per_s": (N / dt, "jobs/s")}
        return f

    configs = [
        ("c_spawn_P2_true", per(N, [sb, "-n", str(N), "-P", "2", "--", true_bin])),
        ("xargs_P2_true", per(N, f"seq {N} | xargs -P 2 -I{{}} true")),
        ("piperun_P2_true", per(N, [pr, "run", "-j", "2", "-o", "none", t_spec])),
        ("c_spawn_P2_echo_captured", per(N, [sb, "-c", "-n", str(N), "-P", "2", "--", echo_bin, "x"])),
        ("piperun_P2_echo_captured", piperun_echo(pr)),
    ]
    # PIPERUN_BASE: an earlier build, in the same interleaved rounds (a
    # refactor's before and after)
    base = os.environ.get("PIPERUN_BASE")
    if base:
        configs += [
            ("base_P2_true", per(N, [base, "run", "-j", "2", "-o", "none", t_spec])),
            ("base_P2_echo_captured", piperun_echo(base)),
        ]
    if have("parallel"):
        configs.append(("parallel_P2_true",
                        per(N_PAR, f"seq {N_PAR} | parallel --will-cite -j 2 -N0 true")))
    m = round_robin(configs)
    ratio("piperun_vs_c_spawn_true", m["piperun_P2_true_jobs_per_s"],
          m["c_spawn_P2_true_jobs_per_s"], "piperun / bare C loop, jobs/s", ">= 0.9")
    ratio("piperun_vs_xargs_true", m["piperun_P2_true_jobs_per_s"],
          m["xargs_P2_true_jobs_per_s"], "piperun / xargs -P 2, jobs/s", ">= 1.0")
    if "parallel_P2_true_jobs_per_s" in m:
        ratio("piperun_vs_parallel_true", m["piperun_P2_true_jobs_per_s"],
              m["parallel_P2_true_jobs_per_s"], "piperun / GNU parallel, jobs/s", ">= 5")
    ratio("piperun_vs_c_spawn_echo_captured", m["piperun_P2_echo_captured_jobs_per_s"],
          m["c_spawn_P2_echo_captured_jobs_per_s"], "piperun / bare C loop with capture",
          ">= 0.85")
    if base:
        ratio("base_vs_c_spawn_true", m["base_P2_true_jobs_per_s"],
              m["c_spawn_P2_true_jobs_per_s"], "PIPERUN_BASE / bare C loop, jobs/s", ">= 0.9")
        ratio("base_vs_c_spawn_echo_captured", m["base_P2_echo_captured_jobs_per_s"],
              m["c_spawn_P2_echo_captured_jobs_per_s"], "PIPERUN_BASE / bare C loop with capture",
              ">= 0.85")
        ratio("piperun_vs_base_true", m["piperun_P2_true_jobs_per_s"],
              m["base_P2_true_jobs_per_s"], "piperun / PIPERUN_BASE, jobs/s", ">= 1.0")
        ratio("piperun_vs_base_echo_captured", m["piperun_P2_echo_captured_jobs_per_s"],
              m["base_P2_echo_captured_jobs_per_s"], "piperun / PIPERUN_BASE with capture",
              ">= 1.0")

    # one-job overhead: many short runs, alternating.  The difference
    # includes one more exec (piperun's own); --version isolates that.
    reps = 100
    def overhead():
        a = b = c = 0.0
        for _ in range(reps):
            a += timed([true_bin])[0]
            b += timed([pr, "--version"])[0]
            c += timed([pr, "run", "-o", "none", one])[0]
        return {"direct_ms": (a / reps * 1e3, "ms"),
                "piperun_version_ms": (b / reps * 1e3, "ms"),
                "piperun_run_ms": (c / reps * 1e3, "ms"),
                "overhead_ms": ((c - a) / reps * 1e3, "ms")}
    o = round_robin([("one_job", overhead)])
    print(f"ratio one_job_overhead: {o['one_job_overhead_ms']:.3f} ms  # piperun run of a one-job "
          f"spec minus running the command directly (target <= 1 ms)"
          f"{'  MET' if o['one_job_overhead_ms'] <= 1 else '  NOT MET'}")
    print(f"# of which starting piperun itself (--version minus direct): "
          f"{o['one_job_piperun_version_ms'] - o['one_job_direct_ms']:.3f} ms; "
          f"an exec of a dynamic binary costs {o['one_job_direct_ms']:.3f} ms here")


if __name__ == "__main__":
    main()
