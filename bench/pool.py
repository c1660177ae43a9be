# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 7 benchmarks, side by side in one run (interleaved rounds, medians,
`--output none`):

  - gcd of the 10 seed pairs: piperun pool serial vs the bare C loop
    (shared/anchors/cpu_naive.c) and Python serial; thread and process
    modes with 2 workers vs serial and vs Python ProcessPoolExecutor(2)
  - async, 10,000 x sleep 0.1: wall and peak RSS, vs Python asyncio
  - 1,000,000 tiny items (gcd of numbers <= 100): items/s in every mode,
    vs Python's serial map and ProcessPoolExecutor(2).map(chunksize=100)

    python3 bench/pool.py
"""
import json
import os
import random
import subprocess
import tempfile
import time

from _bench import RUNS, anchor_tool, fig, goal, piperun_bin, ratio, round_robin, rss_metric, timed

PAIRS = [(19633090, 22659730), (20306770, 38141720), (15516450, 22296200),
         (20390450, 20208020), (18237120, 19249280), (22931290, 10204910),
         (12812380, 22737820), (38238120, 42372810), (38127410, 47291390),
         (12923910, 21238110)]
N_TINY = int(os.environ.get("N_TINY", "1000000"))
N_STREAM = int(os.environ.get("N_STREAM", "10000000"))

PY_GCD = r'''
import sys, time
from concurrent.futures import ProcessPoolExecutor
def gcd(pair):
    a, b = pair
    for i in range(min(a, b), 0, -1):
        if a % i == 0 and b % i == 0:
            return i
pairs = PAIRS_HERE
if sys.argv[1] == "serial":
    r = list(map(gcd, pairs))
else:
    with ProcessPoolExecutor(2) as p:
        r = list(p.map(gcd, pairs))
assert r == [10, 10, 50, 10, 320, 10, 140, 90, 10, 90], r
'''.replace("PAIRS_HERE", repr(PAIRS))

PY_TINY = r'''
import random, sys, time
from concurrent.futures import ProcessPoolExecutor
def gcd(pair):
    a, b = pair
    for i in range(min(a, b), 0, -1):
        if a % i == 0 and b % i == 0:
            return i
items = [tuple(map(int, l.split())) for l in open(sys.argv[2])]
t = time.perf_counter()
if sys.argv[1] == "serial":
    r = list(map(gcd, items))
else:
    with ProcessPoolExecutor(2) as p:
        r = list(p.map(gcd, items, chunksize=100))
print(len(items) / (time.perf_counter() - t))
'''

PY_SLEEP = r'''
import asyncio
async def main():
    await asyncio.gather(*(asyncio.sleep(0.1) for _ in range(10000)))
asyncio.run(main())
'''


def main():
    pr = piperun_bin()
    cn = anchor_tool("cpu_naive")
    tmp = tempfile.mkdtemp(prefix="piperun-bench-")
    gcd_items = os.path.join(tmp, "gcd.txt")
    with open(gcd_items, "w") as f:
        for a, b in PAIRS:
            f.write(f"{a} {b}\n")
    tiny = os.path.join(tmp, "tiny.txt")
    random.seed(1)
    with open(tiny, "w") as f:
        for _ in range(N_TINY):
            f.write(f"{random.randint(1, 100)} {random.randint(1, 100)}\n")
    sleeps = os.path.join(tmp, "sleeps.txt")
    with open(sleeps, "w") as f:
        f.write("0.1\n" * 10000)
    print(f"# bench/pool: runs={RUNS} cores={os.cpu_count()} N_TINY={N_TINY}")

    def wall(cmd):
        def f():
            dt, r = timed(cmd)
            return {"wall": (dt, "s"), **rss_metric(r)}
        return f

    def pool(mode, items, extra=()):
        return wall([pr, "pool", "--task", "gcd", "--mode", mode, "-j", "2", "-o", "none",
                     "--items", items, *extra])

    m = round_robin([
        ("c_serial", wall([cn, "gcd"])),
        ("c_pthreads2", wall([cn, "gcd", "2"])),
        ("piperun_serial", pool("serial", gcd_items)),
        ("piperun_thread2", pool("thread", gcd_items)),
        ("piperun_process2", pool("process", gcd_items)),
        ("python_serial", wall(["python3", "-c", PY_GCD, "serial"])),
        ("python_ppe2", wall(["python3", "-c", PY_GCD, "ppe"])),
    ])
    w = "wall"
    gcd = "gcd of the 10 seed pairs"
    serial = fig("piperun_serial", w, "pool serial")
    ratio("piperun_serial_vs_c", m["piperun_serial_wall"], m["c_serial_wall"],
          "piperun wall / C wall, whole commands (lower is better)", "<= 1.1",
          workload=f"{gcd}, serial", piperun=serial,
          peers=[("C", fig("c_serial", w, "cpu_naive serial"))])
    ratio("python_serial_vs_piperun_serial", m["python_serial_wall"], m["piperun_serial_wall"],
          "Python wall / piperun wall: times faster than Python serial", ">= 10",
          workload=f"{gcd}, serial", piperun=serial,
          peers=[("python", fig("python_serial", w, "serial"))])
    for mode in ("thread2", "process2"):
        pf = fig(f"piperun_{mode}", w, f"pool {mode[:-1]} -j 2")
        ratio(f"speedup_{mode}", m["piperun_serial_wall"], m[f"piperun_{mode}_wall"],
              f"serial wall / {mode} wall", ">= 1.8", workload=f"{gcd}, 2 workers",
              piperun=pf, peers=[("C", fig("c_pthreads2", w, "cpu_naive 2 pthreads")),
                                 ("other", serial)])
        ratio(f"python_ppe2_vs_piperun_{mode}", m["python_ppe2_wall"], m[f"piperun_{mode}_wall"],
              "Python wall / piperun wall: times faster than ProcessPoolExecutor(2)", ">= 10",
              workload=f"{gcd}, 2 workers", piperun=pf,
              peers=[("python", fig("python_ppe2", w, "ProcessPoolExecutor(2)"))])

    def piperun_sleep():
        dt, r = timed([pr, "pool", "--task", "sleep", "--mode", "async", "-o", "none",
                       "--items", sleeps])
        return {"wall": (dt, "s"), **rss_metric(r)}

    def py_sleep():
        dt, r = timed(["python3", "-c", PY_SLEEP])
        return {"wall": (dt, "s"), **rss_metric(r)}

    m = round_robin([("piperun_async_10k_sleep", piperun_sleep),
                     ("python_asyncio_10k_sleep", py_sleep)])
    work = "10,000 async sleeps of 0.1 s"
    py = [("python", fig("python_asyncio_10k_sleep", "wall", "asyncio.gather"))]
    goal("piperun_async_10k_sleep_wall", m["piperun_async_10k_sleep_wall"], "s",
         "pool --mode async wall", "<= 0.2", workload=work, peers=py,
         piperun=fig("piperun_async_10k_sleep", "wall", "pool async"))
    goal("piperun_async_10k_sleep_rss", m["piperun_async_10k_sleep_peak_rss"], "MiB",
         "pool --mode async peak RSS (goal 10 MB)", f"<= {10 / 1.048576:.2f}", workload=work,
         piperun=fig("piperun_async_10k_sleep", "peak_rss", "pool async"),
         peers=[("python", fig("python_asyncio_10k_sleep", "peak_rss", "asyncio.gather"))])

    def tiny_rate(mode):
        def f():
            dt, r = timed([pr, "pool", "--task", "gcd", "--mode", mode, "-j", "2", "-o", "summary",
                           "--items", tiny])
            rss = rss_metric(r)
            s = json.loads(r.stdout)
            assert s["summary"]["ok"] == N_TINY
            # map: the pool's own time (as Python's figure is its map's);
            # whole: the command, start-up and parsing 1M lines included
            return {"map_items_per_s": (N_TINY / s["duration_ms"] * 1000, "items/s"),
                    "whole_items_per_s": (N_TINY / dt, "items/s"), **rss}
        return f

    def py_tiny(kind):
        def f():
            r = subprocess.run(["python3", "-c", PY_TINY, kind, tiny], stdout=subprocess.PIPE,
                               check=True)
            return {"items_per_s": (float(r.stdout), "items/s")}
        return f

    m = round_robin([
        ("piperun_tiny_serial", tiny_rate("serial")),
        ("piperun_tiny_thread2", tiny_rate("thread")),
        ("piperun_tiny_process2", tiny_rate("process")),
        ("piperun_tiny_async", tiny_rate("async")),
        ("python_tiny_serial", py_tiny("serial")),
        ("python_tiny_ppe2_chunk100", py_tiny("ppe")),
    ], runs=max(1, RUNS // 2))
    ips = "items_per_s"
    work = f"{N_TINY} tiny gcd items"
    proc = fig("piperun_tiny_process2", "map_" + ips, "pool process -j 2, map")
    pys = [("python", fig("python_tiny_serial", ips, "serial map"))]
    ratio("tiny_process_map_vs_python_serial", m["piperun_tiny_process2_map_items_per_s"],
          m["python_tiny_serial_items_per_s"], "process mode map vs Python serial map, both "
          "without start-up and parsing", ">= 10", workload=work, piperun=proc, peers=pys)
    ratio("tiny_process_whole_vs_python_serial", m["piperun_tiny_process2_whole_items_per_s"],
          m["python_tiny_serial_items_per_s"], "piperun timed whole (start, parse the lines) vs "
          "Python's map alone", workload=work, peers=pys,
          piperun=fig("piperun_tiny_process2", "whole_" + ips, "pool process -j 2, whole"))
    ratio("tiny_process_vs_python_ppe2", m["piperun_tiny_process2_map_items_per_s"],
          m["python_tiny_ppe2_chunk100_items_per_s"], "process map vs "
          "ProcessPoolExecutor(2).map(chunksize=100)", workload=work, piperun=proc,
          peers=[("python", fig("python_tiny_ppe2_chunk100", ips, "PPE(2) chunksize 100"))])
    goal("tiny_process_map_rate", m["piperun_tiny_process2_map_items_per_s"], "items/s",
         "process mode map (10x the anchor day's Python)", ">= 4.8e6", workload=work,
         piperun=proc, peers=[("other", fig(f"piperun_tiny_{md}", "map_" + ips, f"{md} map"))
                              for md in ("serial", "thread2", "async")])

    stream(pr, tmp)


def stream(pr, tmp):
    """Issue 21: the pool holds a chunk of items, not the input: peak
    RSS over N_STREAM tiny items with -o summary, per mode (goal 64 MB
    at 10M), beside the same items' file size and the run at N_STREAM/10
    (flat: the same RSS)."""
    items = os.path.join(tmp, "stream.txt")
    subprocess.run(["awk", "-v", f"n={N_STREAM}", "BEGIN { for (i = 0; i < n; i++) "
                    "print i % 97 + 1, i % 89 + 1 }"], stdout=open(items, "w"), check=True)
    tenth = os.path.join(tmp, "stream10.txt")
    subprocess.run(["head", "-n", str(N_STREAM // 10), items], stdout=open(tenth, "w"), check=True)

    def run(mode, path, n):
        def f():
            dt, r = timed([pr, "pool", "--task", "gcd", "--mode", mode, "-j", "2", "-o",
                           "summary", "--items", path])
            assert json.loads(r.stdout)["summary"]["ok"] == n
            return {"wall": (dt, "s"), **rss_metric(r)}
        return f
    modes = ("serial", "thread", "process", "async")
    m = round_robin([(f"stream_{md}", run(md, items, N_STREAM)) for md in modes] +
                    [("stream_serial_tenth", run("serial", tenth, N_STREAM // 10))],
                    runs=max(1, RUNS // 2))
    mb = os.path.getsize(items) / (1 << 20)
    print(f"# the {N_STREAM} items' file: {mb:.1f} MiB")
    work = f"pool over {N_STREAM} tiny items, -o summary"
    for md in modes:
        goal(f"stream_{md}_rss", m[f"stream_{md}_peak_rss"], "MiB",
             f"pool --mode {md} peak RSS over {N_STREAM} items (issue 21: 64 MB)", "<= 61.04",
             workload=work, piperun=fig(f"stream_{md}", "peak_rss", f"{md}, peak RSS"),
             peers=[("other", fig("stream_serial_tenth", "peak_rss",
                                  f"serial, {N_STREAM // 10} items"))])


if __name__ == "__main__":
    main()
