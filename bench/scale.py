# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 6 benchmarks, side by side in one run (interleaved rounds, medians):

  - 1000 x `sleep 1` all at once: wall time and the runner's peak RSS
    (VmHWM, from its record; every peer's the peak RSS of its process tree,
    from bench/treerss) for piperun (async and thread modes), the bare C anchor
    (shared/anchors/spawnbench.c -n 1000 -P 1000), xargs -P 1000 and
    Python asyncio (create_subprocess_exec, the pidfd child watcher)
  - 2000 `echo x` captured at -j 2, per mode: piperun async/thread vs the
    bare C loop with capture (spawnbench -c) and Python
    ThreadPoolExecutor(2) + subprocess.run(capture_output=True)

    python3 bench/scale.py
"""
import json
import os
import tempfile

from _bench import (PY_TPE, RUNS, anchor_tool, cgspawn_tool, fig, goal, piperun_bin, piperun_record, ratio,
                    record_metrics, round_robin, rss_metric, timed)

N_SLEEP = int(os.environ.get("N_SLEEP", "1000"))
N_ECHO = int(os.environ.get("N_ECHO", "2000"))

PY_ASYNCIO = r'''
import asyncio, os, sys
n = int(sys.argv[1])
async def one():
    p = await asyncio.create_subprocess_exec("sleep", "1")
    await p.wait()
async def main():
    if hasattr(asyncio, "PidfdChildWatcher"):
        w = asyncio.PidfdChildWatcher(); asyncio.set_child_watcher(w)
        w.attach_loop(asyncio.get_running_loop())
    await asyncio.gather(*(one() for _ in range(n)))
asyncio.run(main())
'''


def main():
    pr = piperun_bin()
    sb = anchor_tool("spawnbench")
    tmp = tempfile.mkdtemp(prefix="piperun-bench-")
    sl = os.path.join(tmp, "sleep.json")
    ec = os.path.join(tmp, "echo.json")
    json.dump({"max_parallel": N_SLEEP, "jobs": [{"run": ["sleep", "1"], "repeat": N_SLEEP,
               "stdout": "null", "stderr": "null"}]}, open(sl, "w"))
    json.dump({"jobs": [{"run": ["echo", "x"], "repeat": N_ECHO}]}, open(ec, "w"))
    seq = os.path.join(tmp, "seq.txt")
    with open(seq, "w") as f:
        f.write("1\n" * N_SLEEP)
    print(f"# bench/scale: N_SLEEP={N_SLEEP} N_ECHO={N_ECHO} runs={RUNS} cores={os.cpu_count()}")

    def piperun_sleep(mode):
        def f():
            dt, r = timed([pr, "run", "--mode", mode, "-o", "jsonl", sl])
            run = piperun_record(r, N_SLEEP)
            return {"wall": (dt, "s"), **rss_metric(r),
                    "runner_rss": (run["runner"]["peak_rss_kb"] / 1024, "MiB"),
                    **record_metrics(run)}
        return f

    def c_sleep():
        dt, r = timed([sb, "-n", str(N_SLEEP), "-P", str(N_SLEEP), "--", "/bin/sleep", "1"])
        return {"wall": (dt, "s"), **rss_metric(r)}

    # the kernel's floor for a cgroup per job: the same bare loop, each
    # job cloned straight into a cgroup of its own (bench/cgspawn.c), and
    # without (its own control); no piperun code in either
    cgs = cgspawn_tool()

    def cg_sleep(cg):
        def f():
            dt, r = timed([cgs, str(N_SLEEP), str(cg), "/bin/sleep", "1"])
            return {"wall": (dt, "s"), **rss_metric(r)}
        return f

    def xargs_sleep():
        dt, r = timed(["xargs", "-a", seq, "-P", str(N_SLEEP), "-n", "1", "sleep"])
        return {"wall": (dt, "s"), **rss_metric(r)}

    def py_sleep():
        dt, r = timed(["python3", "-c", PY_ASYNCIO, str(N_SLEEP)])
        return {"wall": (dt, "s"), **rss_metric(r)}

    m = round_robin([
        ("c_anchor_sleep", c_sleep),
        *([("c_cgroup_sleep", cg_sleep(1)), ("c_nocgroup_sleep", cg_sleep(0))] if cgs else []),
        ("piperun_async_sleep", piperun_sleep("async")),
        ("piperun_thread_sleep", piperun_sleep("thread")),
        ("xargs_sleep", xargs_sleep),
        ("python_asyncio_sleep", py_sleep),
    ])
    work = f"{N_SLEEP} x sleep 1, all at once"
    async_fig = fig("piperun_async_sleep", "wall", "async, default -j", claim="cgroup")
    peers = [("C", fig("c_anchor_sleep", "wall", f"posix_spawn -P{N_SLEEP}")),
             ("xargs", fig("xargs_sleep", "wall", f"-P{N_SLEEP}")),
             ("python", fig("python_asyncio_sleep", "wall", "asyncio, pidfd watcher"))]
    ratio("piperun_async_vs_c_anchor_wall", m["piperun_async_sleep_wall"], m["c_anchor_sleep_wall"],
          "piperun wall / bare C wall (lower is better)", "<= 1.05", row=4, workload=work,
          piperun=async_fig, peers=peers)
    ratio("piperun_async_vs_xargs_wall", m["piperun_async_sleep_wall"], m["xargs_sleep_wall"],
          "piperun wall / xargs wall (below 1 = faster)", "<= 1.0", row=4.1, workload=work,
          piperun=async_fig, peers=peers[1:2])
    ratio("piperun_async_vs_asyncio_wall", m["piperun_async_sleep_wall"],
          m["python_asyncio_sleep_wall"], "piperun wall / asyncio wall (below 1 = faster)",
          "<= 1.0", row=4.2, workload=work, piperun=async_fig, peers=peers[2:])
    if cgs:
        cgfig = fig("c_cgroup_sleep", "wall", "clone3 into a cgroup per job")
        ratio("c_cgroup_floor_wall", m["c_cgroup_sleep_wall"], m["c_nocgroup_sleep_wall"],
              "bare C with a cgroup per job / the same loop without: the kernel's share, "
              "the floor for containment cgroup (informational)", row=4.4,
              workload=work + ": the floor of a cgroup per job",
              peers=[("C", cgfig),
                     ("other", fig("c_nocgroup_sleep", "wall", "same loop, no cgroup"))])
        ratio("piperun_async_vs_c_cgroup_wall", m["piperun_async_sleep_wall"],
              m["c_cgroup_sleep_wall"], "piperun wall / bare C with a cgroup per job "
              "(piperun's own share; informational)", row=4.5, workload=work,
              piperun=async_fig, peers=[("C", cgfig)])
    ratio("piperun_thread_vs_c_anchor_wall", m["piperun_thread_sleep_wall"],
          m["c_anchor_sleep_wall"], "piperun (thread mode) wall / bare C wall", workload=work,
          piperun=fig("piperun_thread_sleep", "wall", "thread mode", claim="cgroup"),
          peers=peers[:1])
    goal("piperun_async_peak_rss", m["piperun_async_sleep_runner_rss"], "MiB",
         "the runner's own VmHWM (its record) with all jobs at once (goal 8 MB)",
         f"<= {8 / 1.048576:.2f}", row=4.3, workload=work + ": runner RSS",
         piperun=fig("piperun_async_sleep", "runner_rss", "runner VmHWM", claim="cgroup"),
         peers=[("C", fig("c_anchor_sleep", "peak_rss", "posix_spawn, tree")),
                ("xargs", fig("xargs_sleep", "peak_rss", "tree")),
                ("python", fig("python_asyncio_sleep", "peak_rss", "asyncio, tree"))])

    def piperun_echo(mode):
        def f():
            dt, r = timed([pr, "run", "--mode", mode, "-j", "2", "-o", "jsonl", ec])
            run = piperun_record(r, N_ECHO)
            return {"jobs_per_s": (N_ECHO / dt, "jobs/s"), **rss_metric(r), **record_metrics(run)}
        return f

    def per(cmd):
        def f():
            dt, r = timed(cmd)
            return {"jobs_per_s": (N_ECHO / dt, "jobs/s"), **rss_metric(r)}
        return f

    m = round_robin([
        ("c_capture", per([sb, "-c", "-n", str(N_ECHO), "-P", "2", "--", "/bin/echo", "x"])),
        ("piperun_async_echo", piperun_echo("async")),
        ("piperun_thread_echo", piperun_echo("thread")),
        ("python_tpe2_echo", per(["python3", "-c", PY_TPE, str(N_ECHO)])),
    ])
    work = f"{N_ECHO} x echo x, captured, -j 2, per mode"
    for mode in ("async", "thread"):
        pf = fig(f"piperun_{mode}_echo", "jobs_per_s", f"{mode} mode", claim="cgroup")
        ratio(f"piperun_{mode}_vs_c_capture", m[f"piperun_{mode}_echo_jobs_per_s"],
              m["c_capture_jobs_per_s"], "piperun / bare C loop with capture, jobs/s", ">= 0.85",
              workload=work, piperun=pf,
              peers=[("C", fig("c_capture", "jobs_per_s", "posix_spawn -P2 -c"))])
        ratio(f"piperun_{mode}_vs_python_tpe2", m[f"piperun_{mode}_echo_jobs_per_s"],
              m["python_tpe2_echo_jobs_per_s"], "piperun / Python TPE(2), jobs/s", ">= 1.0",
              workload=work, piperun=pf,
              peers=[("python", fig("python_tpe2_echo", "jobs_per_s", "TPE(2)+run"))])


if __name__ == "__main__":
    main()
