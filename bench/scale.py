# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 6 benchmarks, side by side in one run (interleaved rounds, medians):

  - 1000 x `sleep 1` all at once: wall time and the runner's peak RSS
    (VmHWM) for piperun (async and thread modes), the bare C anchor
    (shared/anchors/spawnbench.c -n 1000 -P 1000), xargs -P 1000 and
    Python asyncio (create_subprocess_exec, the pidfd child watcher)
  - 2000 `echo x` captured at -j 2, per mode: piperun async/thread vs the
    bare C loop with capture (spawnbench -c) and Python
    ThreadPoolExecutor(2) + subprocess.run(capture_output=True)

    python3 bench/scale.py
"""
import json
import os
import subprocess
import tempfile
import time

from _bench import RUNS, anchor_tool, piperun_bin, ratio, round_robin, timed

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
for l in open("/proc/self/status"):
    if l.startswith("VmHWM:"): print(int(l.split()[1]))
'''

PY_TPE = r'''
import subprocess, sys
from concurrent.futures import ThreadPoolExecutor
n = int(sys.argv[1])
def one(_):
    return len(subprocess.run(["echo", "x"], capture_output=True).stdout)
with ThreadPoolExecutor(2) as ex:
    assert sum(ex.map(one, range(n))) == 2 * n
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
    print(f"# bench/scale: N_SLEEP={N_SLEEP} N_ECHO={N_ECHO} runs={RUNS} cores={os.cpu_count()}")

    def piperun_sleep(mode):
        def f():
            dt, r = timed([pr, "run", "--mode", mode, "-o", "jsonl", sl])
            last = json.loads(r.stdout.splitlines()[-1])
            assert last["summary"]["ok"] == N_SLEEP, last["summary"]
            return {"wall": (dt, "s"), "peak_rss": (last["run"]["runner"]["peak_rss_kb"] / 1024, "MiB")}
        return f

    def c_sleep():
        dt, r = timed([sb, "-n", str(N_SLEEP), "-P", str(N_SLEEP), "--", "/bin/sleep", "1"])
        rss = [l for l in r.stdout.decode().splitlines() if l.startswith("parent_peak_rss")]
        return {"wall": (dt, "s"), "peak_rss": (int(rss[0].split()[1]) / 1024, "MiB")}

    def xargs_sleep():
        dt, r = timed(["/usr/bin/time", "-f", "%M", "bash", "-c",
                       f"seq {N_SLEEP} | xargs -P {N_SLEEP} -n 1 sh -c 'exec sleep 1'"])
        return {"wall": (dt, "s"), "peak_rss": (int(r.stderr.split()[-1]) / 1024, "MiB")}

    def py_sleep():
        dt, r = timed(["python3", "-c", PY_ASYNCIO, str(N_SLEEP)])
        return {"wall": (dt, "s"), "peak_rss": (int(r.stdout) / 1024, "MiB")}

    m = round_robin([
        ("c_anchor_sleep", c_sleep),
        ("piperun_async_sleep", piperun_sleep("async")),
        ("piperun_thread_sleep", piperun_sleep("thread")),
        ("xargs_sleep", xargs_sleep),
        ("python_asyncio_sleep", py_sleep),
    ])
    ratio("piperun_async_vs_c_anchor_wall", m["piperun_async_sleep_wall"], m["c_anchor_sleep_wall"],
          "1000 x sleep 1, wall", "<= 1.05")
    ratio("piperun_async_vs_xargs_wall", m["piperun_async_sleep_wall"], m["xargs_sleep_wall"],
          "wall (below 1 = faster than xargs -P 1000)", "<= 1.0")
    ratio("piperun_async_vs_asyncio_wall", m["piperun_async_sleep_wall"],
          m["python_asyncio_sleep_wall"], "wall (below 1 = faster than asyncio)", "<= 1.0")
    print(f"ratio piperun_async_peak_rss: {m['piperun_async_sleep_peak_rss']:.2f} MiB  # the runner's "
          f"VmHWM with 1000 jobs at once (target <= 8 MB)"
          f"{'  MET' if m['piperun_async_sleep_peak_rss'] * 1.048576 <= 8 else '  NOT MET'}")

    def piperun_echo(mode):
        def f():
            dt, r = timed([pr, "run", "--mode", mode, "-j", "2", "-o", "jsonl", ec])
            assert json.loads(r.stdout.splitlines()[-1])["summary"]["ok"] == N_ECHO
            return {"jobs_per_s": (N_ECHO / dt, "jobs/s")}
        return f

    def per(cmd):
        def f():
            dt, _ = timed(cmd)
            return {"jobs_per_s": (N_ECHO / dt, "jobs/s")}
        return f

    m = round_robin([
        ("c_capture", per([sb, "-c", "-n", str(N_ECHO), "-P", "2", "--", "/bin/echo", "x"])),
        ("piperun_async_echo", piperun_echo("async")),
        ("piperun_thread_echo", piperun_echo("thread")),
        ("python_tpe2_echo", per(["python3", "-c", PY_TPE, str(N_ECHO)])),
    ])
    for mode in ("async", "thread"):
        ratio(f"piperun_{mode}_vs_c_capture", m[f"piperun_{mode}_echo_jobs_per_s"],
              m["c_capture_jobs_per_s"], "2000 echo x captured at -j 2, jobs/s", ">= 0.85")
        ratio(f"piperun_{mode}_vs_python_tpe2", m[f"piperun_{mode}_echo_jobs_per_s"],
              m["python_tpe2_echo_jobs_per_s"], "jobs/s", ">= 1.0")


if __name__ == "__main__":
    main()
