# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 3 and 16 benchmarks: spawn throughput, default parallelism and
one-job overhead, side by side with the peers in one run.

    python3 bench/spawn.py            # N=2000, N_MANY=10000, 5 interleaved rounds
    N=1000 N_MANY=2000 BENCH_RUNS=3 python3 bench/spawn.py

  - 2000 `true` jobs, -j 2, stdout/stderr null: piperun (containment
    cgroup, and again with PIPERUN_CONTAINMENT=pgroup) vs a bare C spawn
    loop (shared/anchors/spawnbench.c, posix_spawn), xargs -P 2 and GNU
    parallel (500 jobs; it is ~10x slower, jobs/s compared)
  - 2000 `echo x` jobs, -j 2, captured: piperun vs spawnbench -c, xargs
    -P 2 (all output into one pipe) and Python ThreadPoolExecutor(2) +
    subprocess.run(capture_output=True)
  - 10,000 `true` jobs at piperun's default -j vs the same spec at -j 2
    and xargs -P 0
  - `piperun run` of a one-job spec vs running the command directly
Each command is timed whole (spawn to reaped) by bench/treerss, which
also gives the peak RSS of the command's process tree; piperun's rows
read its record (-o jsonl): every job ok, and the containment it ran in.
"""
import json
import os
import tempfile

from _bench import (PY_TPE, RUNS, anchor_tool, fig, goal, have, piperun_bin, piperun_record, ratio,
                    record_metrics, round_robin, rss_metric, timed)

N = int(os.environ.get("N", "2000"))
N_PAR = int(os.environ.get("N_PARALLEL", "500"))
N_MANY = int(os.environ.get("N_MANY", "10000"))
REPS = int(os.environ.get("N_ONE", "100"))


def write(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)
    return path


def numbers(tmp, n):
    path = os.path.join(tmp, f"seq{n}.txt")
    with open(path, "w") as f:
        f.write("".join(f"{i}\n" for i in range(1, n + 1)))
    return path


def per(n, cmd, env=None):
    def f():
        dt, r = timed(cmd, env=env)
        return {"jobs_per_s": (n / dt, "jobs/s"), "wall": (dt, "s"), **rss_metric(r)}
    return f


def piperun(binary, n, args, env=None):
    """`piperun run -o jsonl ARGS`: jobs/s, wall, peak RSS, and the
    containment and max_parallel its record reports."""
    def f():
        dt, r = timed([binary, "run", "-o", "jsonl", *args], env=env)
        run = piperun_record(r, n)
        return {"jobs_per_s": (n / dt, "jobs/s"), "wall": (dt, "s"), **rss_metric(r),
                "containment": (run["containment"], "mode"),
                "max_parallel": (str(run["max_parallel"]), "jobs")}
    return f


def throughput(pr, sb, tmp):
    """Rows 1-3 of issue 16: `true` with null stdio (cgroup and pgroup
    containment) and captured `echo x`, at -j 2."""
    t_spec = write(os.path.join(tmp, "true.json"), {"jobs": [
        {"run": ["true"], "stdout": "null", "stderr": "null", "repeat": N}]})
    e_spec = write(os.path.join(tmp, "echo.json"), {"jobs": [
        {"run": ["echo", "x"], "repeat": N}]})
    seq, seq_par = numbers(tmp, N), numbers(tmp, N_PAR)
    pgroup = dict(os.environ, PIPERUN_CONTAINMENT="pgroup")
    configs = [
        ("c_spawn_P2_true", per(N, [sb, "-n", str(N), "-P", "2", "--", "/bin/true"])),
        ("xargs_P2_true", per(N, ["xargs", "-a", seq, "-P", "2", "-I{}", "true"])),
        ("piperun_P2_true", piperun(pr, N, ["-j", "2", t_spec])),
        ("piperun_P2_true_pgroup", piperun(pr, N, ["-j", "2", t_spec], pgroup)),
        ("c_spawn_P2_echo_captured", per(N, [sb, "-c", "-n", str(N), "-P", "2", "--",
                                             "/bin/echo", "x"])),
        ("xargs_P2_echo_captured", per(N, ["xargs", "-a", seq, "-P", "2", "-I{}", "echo", "x"])),
        ("python_tpe2_echo_captured", per(N, ["python3", "-c", PY_TPE, str(N)])),
        ("piperun_P2_echo_captured", piperun(pr, N, ["-j", "2", e_spec])),
    ]
    # PIPERUN_BASE: an earlier build, in the same interleaved rounds (a
    # refactor's before and after)
    base = os.environ.get("PIPERUN_BASE")
    if base:
        configs += [("base_P2_true", piperun(base, N, ["-j", "2", t_spec])),
                    ("base_P2_echo_captured", piperun(base, N, ["-j", "2", e_spec]))]
    if have("parallel"):
        configs.append(("parallel_P2_true", per(N_PAR, [
            "parallel", "--will-cite", "-j", "2", "-N0", "true", "::::", seq_par])))
    m = round_robin(configs)
    js = "jobs_per_s"
    peers = [("C", fig("c_spawn_P2_true", js, "posix_spawn -P2")),
             ("xargs", fig("xargs_P2_true", js, "-P2"))]
    if "parallel_P2_true_jobs_per_s" in m:
        peers.append(("parallel", fig("parallel_P2_true", js, f"-j2, {N_PAR} jobs")))
    ratio("piperun_vs_c_spawn_true", m["piperun_P2_true_jobs_per_s"],
          m["c_spawn_P2_true_jobs_per_s"], "piperun / bare C loop, jobs/s", ">= 0.9", row=1,
          workload=f"{N} x true, null stdio, -j 2", peers=peers,
          piperun=fig("piperun_P2_true", js, "-j 2", claim="cgroup"))
    ratio("piperun_vs_xargs_true", m["piperun_P2_true_jobs_per_s"],
          m["xargs_P2_true_jobs_per_s"], "piperun / xargs -P 2, jobs/s", ">= 1.0", row=1.1,
          workload=f"{N} x true, null stdio, -j 2",
          piperun=fig("piperun_P2_true", js, "-j 2", claim="cgroup"), peers=peers[1:2])
    if "parallel_P2_true_jobs_per_s" in m:
        ratio("piperun_vs_parallel_true", m["piperun_P2_true_jobs_per_s"],
              m["parallel_P2_true_jobs_per_s"], "piperun / GNU parallel, jobs/s", ">= 5", row=1.2,
              workload=f"{N} x true, null stdio, -j 2",
              piperun=fig("piperun_P2_true", js, "-j 2", claim="cgroup"), peers=peers[2:])
    ratio("piperun_pgroup_vs_c_spawn_true", m["piperun_P2_true_pgroup_jobs_per_s"],
          m["c_spawn_P2_true_jobs_per_s"], "piperun (pgroup) / bare C loop, jobs/s "
          "(informational: shows the cost of the cgroup)", row=2,
          workload=f"same, PIPERUN_CONTAINMENT=pgroup", peers=peers[:1],
          piperun=fig("piperun_P2_true_pgroup", js, "-j 2, pgroup", claim="process-group"))
    e_peers = [("C", fig("c_spawn_P2_echo_captured", js, "posix_spawn -P2 -c")),
               ("xargs", fig("xargs_P2_echo_captured", js, "-P2, one pipe")),
               ("python", fig("python_tpe2_echo_captured", js, "TPE(2)+run"))]
    e_fig = fig("piperun_P2_echo_captured", js, "-j 2", claim="cgroup")
    ratio("piperun_vs_c_spawn_echo_captured", m["piperun_P2_echo_captured_jobs_per_s"],
          m["c_spawn_P2_echo_captured_jobs_per_s"], "piperun / bare C loop with capture, jobs/s",
          ">= 0.85", row=3, workload=f"{N} x echo x, captured, -j 2", piperun=e_fig,
          peers=e_peers)
    ratio("piperun_vs_xargs_echo_captured", m["piperun_P2_echo_captured_jobs_per_s"],
          m["xargs_P2_echo_captured_jobs_per_s"], "piperun / xargs -P 2, jobs/s", row=3.1,
          workload=f"{N} x echo x, captured, -j 2", piperun=e_fig, peers=e_peers[1:2])
    ratio("piperun_vs_python_tpe2_echo_captured", m["piperun_P2_echo_captured_jobs_per_s"],
          m["python_tpe2_echo_captured_jobs_per_s"], "piperun / Python TPE(2), jobs/s", ">= 1.0",
          row=3.2, workload=f"{N} x echo x, captured, -j 2", piperun=e_fig, peers=e_peers[2:])
    if base:
        for w, key in (("true", "true"), ("echo_captured", "echo_captured")):
            ratio(f"piperun_vs_base_{w}", m[f"piperun_P2_{key}_jobs_per_s"],
                  m[f"base_P2_{key}_jobs_per_s"], "piperun / PIPERUN_BASE, jobs/s", ">= 1.0",
                  workload=f"{N} x {w}, -j 2: this build vs PIPERUN_BASE",
                  piperun=fig(f"piperun_P2_{key}", js, "-j 2"),
                  peers=[("other", fig(f"base_P2_{key}", js, "PIPERUN_BASE -j 2"))])


def default_j(pr, tmp):
    """Row 6: many short jobs at the default -j against the best fixed
    -j (here -j 2, the core count) and xargs -P 0."""
    spec = write(os.path.join(tmp, "many.json"), {"jobs": [
        {"run": ["true"], "stdout": "null", "stderr": "null", "repeat": N_MANY}]})
    m = round_robin([
        ("piperun_default_many", piperun(pr, N_MANY, [spec])),
        ("piperun_P2_many", piperun(pr, N_MANY, ["-j", "2", spec])),
        ("xargs_P0_many", per(N_MANY, ["xargs", "-a", numbers(tmp, N_MANY), "-P", "0", "-I{}",
                                      "true"])),
    ])
    jmax = m["piperun_default_many_max_parallel"]
    ratio("piperun_default_vs_j2_many", m["piperun_default_many_wall"], m["piperun_P2_many_wall"],
          "default -j wall / -j 2 wall (the best fixed -j measured)", "<= 1.1", row=6,
          workload=f"{N_MANY} x true, default -j",
          piperun=fig("piperun_default_many", "wall", f"default -j (max_parallel {jmax})",
                      claim="cgroup"),
          peers=[("xargs", fig("xargs_P0_many", "wall", "-P0")),
                 ("other", fig("piperun_P2_many", "wall", "piperun -j 2"))])


def overhead(pr, tmp):
    """Row 7: one-job overhead, many short runs, alternating.  The
    difference includes one more exec (piperun's own); --version
    isolates that."""
    one = write(os.path.join(tmp, "one.json"), {"jobs": [{"run": ["true"]}]})

    def f():
        a = b = c = 0.0
        rss = 0
        for _ in range(REPS):
            a += timed(["/bin/true"])[0]
            b += timed([pr, "--version"])[0]
            dt, r = timed([pr, "run", "-o", "jsonl", one])
            run = piperun_record(r, 1)
            c += dt
            rss = max(rss, r.rss_kb)
        return {"direct_ms": (a / REPS * 1e3, "ms"),
                "piperun_version_ms": (b / REPS * 1e3, "ms"),
                "piperun_run_ms": (c / REPS * 1e3, "ms"),
                "overhead_ms": ((c - a) / REPS * 1e3, "ms"),
                "piperun_run_peak_rss": (rss / 1024, "MiB"),
                **{f"piperun_run_{k}": v for k, v in record_metrics(run).items()}}
    o = round_robin([("one_job", f)])
    goal("one_job_overhead", o["one_job_overhead_ms"], "ms", "piperun run of a one-job spec "
         "minus running the command directly", "<= 1", row=7,
         workload="start-up: one-job spec minus the command alone",
         piperun=fig("one_job_piperun_run", "ms", "run of one `true`", claim="cgroup"),
         peers=[("other", fig("one_job", "direct_ms", "/bin/true alone")),
                ("other", fig("one_job", "piperun_version_ms", "piperun --version"))])
    print(f"# of which starting piperun itself (--version minus direct): "
          f"{o['one_job_piperun_version_ms'] - o['one_job_direct_ms']:.3f} ms; "
          f"an exec of a dynamic binary costs {o['one_job_direct_ms']:.3f} ms here")


def main():
    pr = piperun_bin()
    sb = anchor_tool("spawnbench")
    tmp = tempfile.mkdtemp(prefix="piperun-bench-")
    print(f"# bench/spawn: N={N} N_PARALLEL={N_PAR} N_MANY={N_MANY} runs={RUNS} "
          f"cores={os.cpu_count()} (interleaved rounds, whole commands timed by bench/treerss)")
    throughput(pr, sb, tmp)
    default_j(pr, tmp)
    overhead(pr, tmp)


if __name__ == "__main__":
    main()
