# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 8 benchmarks: steps jobs (item pipelines, seed 70), side by side
in one run (interleaved rounds, medians, `--output none`).  Every
configuration is 3 steps with 3/4/5 workers and queues of 100, like the
seed's Python pipeline (shared/anchors/item_pipeline*.py):

  - coprocess steps: 3 x `cat` (every hop crosses a process boundary),
    async and thread modes, vs Python threads + Queue(100) with trivial
    in-process functions (item_pipeline.py)            target >= 1x
  - task steps: 3 x the built-in gcd on fixed small arguments (the item
    passes on), vs the same Python pipeline            target >= 10x
  - run steps: a child (`echo {}`) per item per step, vs Python's
    subprocess.run per item per stage (item_pipeline_proc.py)  target >= 3x,
    and vs the machine's spawn ceiling: the bare C spawner
    (shared/anchors/spawnbench.c -c) running the same 3N `echo`s, 12 at once

Throughput is items / wall time of the whole command (process start,
spec parsing, results), measured from the same Python driver.

    python3 bench/steps.py            # N_COP, N_TASK, N_RUN, BENCH_RUNS
"""
import json
import os
import re
import subprocess
import sys
import tempfile

from _bench import (ANCHORS, RUNS, anchor_tool, fig, piperun_bin, ratio, round_robin, rss_metric,
                    timed)

N_COP = int(os.environ.get("N_COP", "200000"))
N_TASK = int(os.environ.get("N_TASK", "1000000"))
N_RUN = int(os.environ.get("N_RUN", "600"))
WORKERS = (3, 4, 5)


def spec(n, steps):
    return {"jobs": [{"name": "line", "items": {"count": n}, "queue": 100,
                      "stdout": "null", "steps": steps}]}


def write(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)
    return path


def python_rate(script, n):
    """items/s printed by a shared anchor (the best of its rounds)."""
    r = subprocess.run([sys.executable, os.path.join(ANCHORS, script), str(n)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"bench: {script}: {r.stderr[:400]}")
    return max(float(x) for x in re.findall(r"= (\d+) items/s", r.stdout))


def main():
    pr = piperun_bin()
    sb = anchor_tool("spawnbench")
    tmp = tempfile.mkdtemp(prefix="piperun-bench-steps-")
    cop = write(os.path.join(tmp, "cop.json"), spec(N_COP, [
        {"name": f"s{i + 1}", "workers": w, "coprocess": ["cat"]} for i, w in enumerate(WORKERS)]))
    task = write(os.path.join(tmp, "task.json"), spec(N_TASK, [
        {"name": f"s{i + 1}", "workers": w, "task": "gcd", "args": [12, 18]}
        for i, w in enumerate(WORKERS)]))
    run = write(os.path.join(tmp, "run.json"), spec(N_RUN, [
        {"name": f"s{i + 1}", "workers": w, "run": ["echo", "{}"], "stdin": None}
        for i, w in enumerate(WORKERS)]))

    def piperun(path, n, mode):
        def fn():
            dt, r = timed([pr, "run", path, "--mode", mode, "-o", "none"])
            return {"items_per_s": (n / dt, "items/s"), **rss_metric(r)}
        return fn

    def py(script, n):
        return lambda: {"items_per_s": (python_rate(script, n), "items/s")}

    def ceiling():
        dt, r = timed([sb, "-n", str(3 * N_RUN), "-P", "12", "-c", "--", "/bin/echo", "x"])
        return {"items_per_s": (N_RUN / dt, "items/s"), **rss_metric(r)}

    print(f"# coprocess: {N_COP} items; task: {N_TASK} items; run: {N_RUN} items; "
          f"3 steps, {'/'.join(map(str, WORKERS))} workers, queues of 100", flush=True)
    m = round_robin([
        ("py_threads", py("item_pipeline.py", N_COP)),
        ("cop_async", piperun(cop, N_COP, "async")),
        ("cop_thread", piperun(cop, N_COP, "thread")),
        ("task_async", piperun(task, N_TASK, "async")),
        ("task_thread", piperun(task, N_TASK, "thread")),
        ("py_proc", py("item_pipeline_proc.py", N_RUN)),
        ("run_async", piperun(run, N_RUN, "async")),
        ("run_thread", piperun(run, N_RUN, "thread")),
        ("c_spawn_ceiling", ceiling),
    ], RUNS)
    ips = "items_per_s"
    py_t = m["py_threads_items_per_s"]

    def best(kind):
        mode = max(("async", "thread"), key=lambda md: m[f"{kind}_{md}_{ips}"])
        return m[f"{kind}_{mode}_{ips}"], fig(f"{kind}_{mode}", ips, f"best: {mode} mode")
    best_cop, cop_fig = best("cop")
    best_task, task_fig = best("task")
    best_run, run_fig = best("run")
    py_threads = ("python", fig("py_threads", ips, "threads+Queue(100), best round"))
    py_proc = ("python", fig("py_proc", ips, "subprocess per item, best round"))
    ceil = ("C", fig("c_spawn_ceiling", ips, "spawnbench -c -P12, 3 spawns an item"))
    shape = "3 steps, 3/4/5 workers"
    ratio("coprocess_vs_python", best_cop, py_t,
          "best piperun coprocess steps / Python threads+Queue", ">= 1",
          workload=f"{N_COP} items, {shape}: coprocess cat", piperun=cop_fig, peers=[py_threads])
    ratio("task_vs_python", best_task, py_t,
          "best piperun task steps / Python threads+Queue", ">= 10",
          workload=f"{N_TASK} items, {shape}: built-in task", piperun=task_fig,
          peers=[py_threads])
    ratio("run_vs_python", best_run, m["py_proc_items_per_s"],
          "best piperun run steps / Python subprocess per item", ">= 3",
          workload=f"{N_RUN} items, {shape}: a child per item per step", piperun=run_fig,
          peers=[py_proc, ceil])
    ratio("run_vs_spawn_ceiling", best_run, m["c_spawn_ceiling_items_per_s"],
          "best piperun run steps / bare C spawner, same spawns (context)",
          workload=f"{N_RUN} items, {shape}: a child per item per step", piperun=run_fig,
          peers=[ceil])
    ratio("python_proc_vs_spawn_ceiling", m["py_proc_items_per_s"],
          m["c_spawn_ceiling_items_per_s"],
          "Python subprocess per item / bare C spawner (context)",
          workload=f"{N_RUN} items, {shape}: Python against the ceiling", peers=[py_proc, ceil])


if __name__ == "__main__":
    main()
