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

from _bench import RUNS, anchor_tool, piperun_bin, ratio, round_robin, timed

PAIRS = [(19633090, 22659730), (20306770, 38141720), (15516450, 22296200),
         (20390450, 20208020), (18237120, 19249280), (22931290, 10204910),
         (12812380, 22737820), (38238120, 42372810), (38127410, 47291390),
         (12923910, 21238110)]
N_TINY = int(os.environ.get("N_TINY", "1000000"))

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
for l in open("/proc/self/status"):
    if l.startswith("VmHWM:"): print(int(l.split()[1]))
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
            dt, _ = timed(cmd)
            return {"wall": (dt, "s")}
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
    ratio("piperun_serial_vs_c", m["piperun_serial_wall"], m["c_serial_wall"],
          "gcd 10 pairs serial, wall (whole command)", "<= 1.1")
    ratio("python_serial_vs_piperun_serial", m["python_serial_wall"], m["piperun_serial_wall"],
          "how many times faster than Python serial", ">= 10")
    for mode in ("thread2", "process2"):
        ratio(f"speedup_{mode}", m["piperun_serial_wall"], m[f"piperun_{mode}_wall"],
              f"{mode} over serial", ">= 1.8")
        ratio(f"python_ppe2_vs_piperun_{mode}", m["python_ppe2_wall"], m[f"piperun_{mode}_wall"],
              "how many times faster than Python ProcessPoolExecutor(2)", ">= 10")

    def piperun_sleep():
        dt, r = timed(["/usr/bin/time", "-f", "%M", pr, "pool", "--task", "sleep", "--mode", "async",
                       "-o", "none", "--items", sleeps])
        return {"wall": (dt, "s"), "peak_rss": (int(r.stderr.split()[-1]) / 1024, "MiB")}

    def py_sleep():
        dt, r = timed(["python3", "-c", PY_SLEEP])
        return {"wall": (dt, "s"), "peak_rss": (int(r.stdout) / 1024, "MiB")}

    m = round_robin([("piperun_async_10k_sleep", piperun_sleep), ("python_asyncio_10k_sleep", py_sleep)])
    print(f"ratio piperun_async_10k_sleep: {m['piperun_async_10k_sleep_wall']:.3f} s, "
          f"{m['piperun_async_10k_sleep_peak_rss']:.1f} MiB  # targets <= 0.2 s, <= 10 MB; "
          f"Python asyncio here {m['python_asyncio_10k_sleep_wall']:.3f} s, "
          f"{m['python_asyncio_10k_sleep_peak_rss']:.1f} MiB")

    def tiny_rate(mode):
        def f():
            dt, r = timed([pr, "pool", "--task", "gcd", "--mode", mode, "-j", "2", "-o", "summary",
                           "--items", tiny])
            s = json.loads(r.stdout)
            assert s["summary"]["ok"] == N_TINY
            # map: the pool's own time (as Python's figure is its map's);
            # whole: the command, start-up and parsing 1M lines included
            return {"map_items_per_s": (N_TINY / s["duration_ms"] * 1000, "items/s"),
                    "whole_items_per_s": (N_TINY / dt, "items/s")}
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
    ratio("tiny_process_map_vs_python_serial", m["piperun_tiny_process2_map_items_per_s"],
          m["python_tiny_serial_items_per_s"], "1M tiny items, process mode map vs Python serial "
          "map, both without start-up and parsing", ">= 10")
    ratio("tiny_process_whole_vs_python_serial", m["piperun_tiny_process2_whole_items_per_s"],
          m["python_tiny_serial_items_per_s"], "piperun timed whole (start, parse 1M lines) vs "
          "Python's map alone")
    ratio("tiny_process_vs_python_ppe2", m["piperun_tiny_process2_map_items_per_s"],
          m["python_tiny_ppe2_chunk100_items_per_s"], "vs ProcessPoolExecutor(2).map(chunksize=100)")
    print(f"# absolute target: >= 4.8M items/s in process mode (10x the anchor day's Python); "
          f"map here {m['piperun_tiny_process2_map_items_per_s'] / 1e6:.2f}M items/s"
          f"{'  MET' if m['piperun_tiny_process2_map_items_per_s'] >= 4.8e6 else '  NOT MET'}")


if __name__ == "__main__":
    main()
