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
import platform
import os
import shutil
import statistics
import subprocess
import sys

# Python's usual answer to "run 2 at a time, capture": a thread pool of
# subprocess.run (argv[1] jobs of `echo x`), shared by spawn.py and scale.py.
PY_TPE = r'''
import subprocess, sys
from concurrent.futures import ThreadPoolExecutor
n = int(sys.argv[1])
def one(_):
    return len(subprocess.run(["echo", "x"], capture_output=True).stdout)
with ThreadPoolExecutor(2) as ex:
    assert sum(ex.map(one, range(n))) == 2 * n
'''

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
ANCHORS = os.environ.get("ANCHORS") or next(
    (d for d in (os.path.join(TOP, "..", "shared", "anchors"),        # a checkout beside shared/
                 os.path.join(TOP, "..", "..", "shared", "anchors"))  # a worktree one deeper
     if os.path.isdir(d)), os.path.join(TOP, "..", "shared", "anchors"))
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


MEDIANS = {}   # every figure emit() printed: name -> median (or a mode string)
UNITS = {}     # name -> unit


def emit(name, samples, unit):
    if all(isinstance(v, str) for v in samples):
        # a mode seen in each round (containment): every distinct one
        med = "/".join(sorted(set(samples)))
        print(f"{name}: {med}  # n={len(samples)}", flush=True)
    else:
        med = statistics.median(samples)
        print(f"{name}: {fmt(med)} {unit}  # min={fmt(min(samples))} "
              f"max={fmt(max(samples))} n={len(samples)}", flush=True)
    MEDIANS[name], UNITS[name] = med, unit
    return med


def cgspawn_tool():
    """bench/cgspawn.c compiled into bench/build, or None where it
    cannot run (not x86_64, not root, no writable cgroup v2)."""
    if platform.machine() != "x86_64" or os.geteuid() != 0:
        return None
    src = os.path.join(HERE, "cgspawn.c")
    out = os.path.join(BUILD, "cgspawn")
    if not os.path.exists(out) or os.path.getmtime(src) > os.path.getmtime(out):
        os.makedirs(BUILD, exist_ok=True)
        subprocess.run(["gcc", "-O2", "-Wall", "-o", out, src], check=True)
    if subprocess.run([out, "1", "1", "/bin/true"], stderr=subprocess.DEVNULL).returncode:
        return None
    return out


def launcher():
    """bench/treerss.c, compiled into bench/build (static where the
    toolchain can, so that its own size, the floor of every RSS figure,
    stays near 1 MB)."""
    src = os.path.join(HERE, "treerss.c")
    out = os.path.join(BUILD, "treerss")
    if not os.path.exists(out) or os.path.getmtime(src) > os.path.getmtime(out):
        os.makedirs(BUILD, exist_ok=True)
        cc = ["gcc", "-O2", "-Wall", "-o", out, src]
        if subprocess.run(cc + ["-static"], stderr=subprocess.DEVNULL).returncode:
            subprocess.run(cc, check=True)
    return out


def timed(cmd, check=True, **kw):
    """Wall seconds of one run of cmd (a list, or a string for bash), and
    its CompletedProcess.  The command runs under bench/treerss: the wall
    time is its clock from spawn to reaped (not this driver's start-up of
    the launcher), and r.rss_kb is wait4's ru_maxrss: the peak RSS of the
    largest single process of the command's tree (a max, not a sum);
    r.user_s and r.sys_s the tree's CPU time."""
    if isinstance(cmd, str):
        cmd = ["bash", "-c", cmd]
    r = subprocess.run([launcher(), "--", *cmd], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, **kw)
    head, sep, tail = r.stderr.rpartition(b"\n@treerss ")
    if not sep:
        sys.exit(f"bench: {cmd}: the launcher failed: {r.stderr.decode()[:400]}")
    f = dict(kv.split("=", 1) for kv in tail.decode().split())
    r.stderr = head
    r.returncode = int(f["status"])
    r.rss_kb = int(f["maxrss_kb"])
    r.user_s, r.sys_s = float(f["user_s"]), float(f["sys_s"])
    if check and r.returncode != 0:
        sys.exit(f"bench: {cmd}: exit {r.returncode}: {r.stderr.decode()[:400]}")
    return float(f["wall_s"]), r


def piperun_record(r, n=None):
    """The run header of a `piperun run -o jsonl` (its last line), after
    checking that n jobs were ok."""
    last = json.loads(r.stdout.splitlines()[-1])
    if n is not None and last["summary"]["ok"] != n:
        sys.exit(f"bench: piperun: {last['summary']}")
    return last["run"]


def round_robin(configs, runs=RUNS):
    """configs: [(name, fn -> {metric: (value, unit)})]; returns medians
    {name_metric: median}.  A config's "peak_rss" metric (MiB) and its
    "containment" (a string: the mode piperun's record reported) are
    picked up by fig() for the table."""
    samples = {}
    for _ in range(runs):
        for name, fn in configs:
            for metric, (v, unit) in fn().items():
                samples.setdefault((name, metric, unit), []).append(v)
    med = {}
    for (name, metric, unit), vals in samples.items():
        med[f"{name}_{metric}"] = emit(f"{name}_{metric}", vals, unit)
    return med


def fig(config, metric, label=None, claim=None):
    """One cell of bench/run's table: the median of CONFIG_METRIC with its
    unit, the config's peak RSS (MiB) and containment where measured.
    claim: the containment mode this figure stands for ("cgroup",
    "pgroup"); bench/run fails loudly if the record said otherwise."""
    key = f"{config}_{metric}"
    return {"label": label or config, "value": MEDIANS[key], "unit": UNITS[key],
            "rss_mb": None if "rss" in metric else MEDIANS.get(f"{config}_peak_rss"),
            "containment": MEDIANS.get(f"{config}_containment"), "claim": claim,
            "cgroups": MEDIANS.get(f"{config}_cgroups"),
            "wall": None if metric == "wall" or "rss" in metric else MEDIANS.get(f"{config}_wall")}


def rss_metric(r):
    """The peak_rss metric of one timed() run, for a round_robin config."""
    return {"peak_rss": (r.rss_kb / 1024, "MiB")}


def record_metrics(run):
    """From piperun's run header: the containment it ran in, its
    max_parallel, and whatever it says about job cgroups (created,
    reused), as string metrics for round_robin (the table's notes)."""
    m = {"containment": (run["containment"], "mode"),
         "max_parallel": (str(run["max_parallel"]), "jobs")}
    cg = {k: v for part in (run, run.get("runner") or {}) for k, v in part.items()
          if "cgroup" in k}
    if cg:
        m["cgroups"] = (json.dumps(cg, sort_keys=True), "record")
    return m


def _check(target, v):
    op, val = target.split()
    return v >= float(val) if op == ">=" else v <= float(val)


def ratio(name, num, den, what, target=None, **table):
    """Print `ratio NAME: X.XX x  # WHAT (target ...) MET` and hand the
    row to bench/run.  table (all optional): workload (what was run),
    piperun (a fig()), peers ([(kind, fig())], kind one of KINDS), row
    (the issue table's row number, which orders bench/run's table), note."""
    r = num / den if den else float("inf")
    t = f" (target {target})" if target else ""
    good = _check(target, r) if target else None
    ok = "" if good is None else ("  MET" if good else "  NOT MET")
    print(f"ratio {name}: {r:.2f} x  # {what}{t}{ok}", flush=True)
    table_row(name, num, den, r, what, target, good, **table)
    return r


def goal(name, value, unit, what, target=None, **table):
    """An absolute figure against its goal (no peer to divide by), e.g.
    an overhead in ms or a peak RSS in MiB: printed like a ratio line,
    and a row of bench/run's table with the value in the ratio column."""
    good = _check(target, value) if target else None
    t = f" (target {target} {unit})" if target else ""
    ok = "" if good is None else ("  MET" if good else "  NOT MET")
    print(f"ratio {name}: {fmt(value)} {unit}  # {what}{t}{ok}", flush=True)
    table_row(name, value, None, None, what, target, good, unit=unit, **table)
    return value


KINDS = ("C", "xargs", "parallel", "python", "other")


def table_row(name, num, den, r, what, target, good, **table):
    """For bench/run's one table: each ratio as a JSON line appended to
    $BENCH_TABLE (when set), with the bench it came from."""
    path = os.environ.get("BENCH_TABLE")
    if not path:
        return
    peers = table.pop("peers", ())
    for kind, _ in peers:
        assert kind in KINDS, kind
    row = {"bench": os.path.basename(sys.argv[0]).removesuffix(".py"), "name": name,
           "num": num, "den": den, "ratio": r, "what": what, "target": target, "met": good,
           "peers": [[k, f] for k, f in peers], **table}
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
