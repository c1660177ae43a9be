# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared helpers for piperun's benchmarks: interleaved rounds, medians,
ratios against a peer measured in the same run.

Every figure is printed as

    name: MEDIAN unit  # min=MIN max=MAX n=RUNS

and every comparison as

    ratio name: X.XX x  # what / what (target ...)

Configurations run in interleaved rounds (A B C A B C ...) so that a slow
phase of the machine hits every configuration alike.  Knobs: BENCH_RUNS.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
ANCHORS = os.environ.get("ANCHORS", os.path.join(TOP, "..", "shared", "anchors"))
BUILD = os.path.join(HERE, "build")


def piperun_bin():
    for p in (os.environ.get("PIPERUN"), os.path.join(TOP, "build", "piperun"),
              os.path.join(TOP, "piperun")):
        if p and os.access(p, os.X_OK):
            return os.path.abspath(p)
    sys.exit("bench: build piperun first (scripts/check or scripts/demo)")


def anchor_tool(name):
    """Compile one of the shared anchors' C programs into bench/build."""
    src = os.path.join(ANCHORS, name + ".c")
    out = os.path.join(BUILD, name)
    if not os.path.exists(src):
        sys.exit(f"bench: {src} not found (set ANCHORS=.../shared/anchors)")
    os.makedirs(BUILD, exist_ok=True)
    if not os.path.exists(out) or os.path.getmtime(src) > os.path.getmtime(out):
        subprocess.run(["gcc", "-O2", "-Wall", "-o", out, src, "-pthread"], check=True)
    return out


def have(tool):
    return shutil.which(tool) is not None


def fmt(x):
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:.0f}"
    if abs(x) >= 100:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.3f}"
    return f"{x:.4g}"


def emit(name, samples, unit):
    med = statistics.median(samples)
    print(f"{name}: {fmt(med)} {unit}  # min={fmt(min(samples))} "
          f"max={fmt(max(samples))} n={len(samples)}", flush=True)
    return med


def timed(cmd, check=True, **kw):
    """Wall seconds of one run of cmd (a list, or a string for bash)."""
    if isinstance(cmd, str):
        cmd = ["bash", "-c", cmd]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    dt = time.perf_counter() - t0
    if check and r.returncode != 0:
        sys.exit(f"bench: {cmd}: exit {r.returncode}: {r.stderr.decode()[:400]}")
    return dt, r


def round_robin(configs, runs=RUNS):
    """configs: [(name, fn -> {metric: (value, unit)})]; returns medians
    {name_metric: median}."""
    samples = {}
    for _ in range(runs):
        for name, fn in configs:
            for metric, (v, unit) in fn().items():
                samples.setdefault((name, metric, unit), []).append(v)
    med = {}
    for (name, metric, unit), vals in samples.items():
        med[f"{name}_{metric}"] = emit(f"{name}_{metric}", vals, unit)
    return med


def ratio(name, num, den, what, target=None):
    r = num / den if den else float("inf")
    t = f" (target {target})" if target else ""
    ok = ""
    good = None
    if target:
        op, val = target.split()
        good = r >= float(val) if op == ">=" else r <= float(val)
        ok = "  MET" if good else "  NOT MET"
    print(f"ratio {name}: {r:.2f} x  # {what}{t}{ok}", flush=True)
    table_row(name, num, den, r, what, target, good)
    return r


def table_row(name, num, den, r, what, target, good):
    """For bench/run's one table: each ratio as a JSON line appended to
    $BENCH_TABLE (when set), with the bench it came from."""
    path = os.environ.get("BENCH_TABLE")
    if not path:
        return
    row = {"bench": os.path.basename(sys.argv[0]).removesuffix(".py"), "name": name,
           "num": num, "den": den, "ratio": r, "what": what, "target": target, "met": good}
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
