# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 3 benchmark: the runner's memory while a job writes 50 MB to
stdout and 50 MB to stderr at once (digested, kept up to 64 MB each),
next to the same streams read by a bare C loop (shared/anchors/pipecap.c
is for one stream; here Python's subprocess.communicate is the peer that
keeps everything in memory).

    python3 bench/capture_rss.py
"""
import json
import os
import resource
import subprocess
import tempfile
import time

from _bench import RUNS, TOP, emit, fig, piperun_bin, ratio

SIZE = int(os.environ.get("SIZE", str(50 * 1024 * 1024)))


def main():
    pr = piperun_bin()
    probe = os.path.join(TOP, "build", "tests", "helpers", "probe")
    if not os.access(probe, os.X_OK):
        subprocess.run(["make", "-C", os.path.join(TOP, "build"), "tests/helpers/probe"],
                       check=True, stdout=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="piperun-bench-")
    spec = os.path.join(tmp, "both.json")
    json.dump({"jobs": [{"run": [probe, "both", str(SIZE), "11"], "digest": True,
                         "max_output": "64M"}]}, open(spec, "w"))
    print(f"# bench/capture_rss: {SIZE} bytes on stdout and on stderr, runs={RUNS}")
    rss, walls, py_rss, py_walls, modes = [], [], [], [], []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        r = subprocess.run([pr, "run", "-o", "jsonl", spec], stdout=subprocess.PIPE, check=True)
        walls.append(time.perf_counter() - t0)
        last = json.loads(r.stdout.splitlines()[-1])
        rss.append(last["run"]["runner"]["peak_rss_kb"] / 1024)
        modes.append(last["run"]["containment"])
        # the peer: Python keeps both streams in memory
        code = ("import subprocess,sys,resource;"
                "p=subprocess.run(sys.argv[1:],capture_output=True);"
                "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
        t0 = time.perf_counter()
        out = subprocess.run(["python3", "-c", code, probe, "both", str(SIZE), "11"],
                             stdout=subprocess.PIPE, check=True).stdout
        py_walls.append(time.perf_counter() - t0)
        py_rss.append(int(out) / 1024)
    a = emit("piperun_peak_rss", rss, "MiB")
    emit("piperun_wall", walls, "s")
    emit("piperun_containment", modes, "mode")
    b = emit("python_communicate_peak_rss", py_rss, "MiB")
    emit("python_communicate_wall", py_walls, "s")
    print(f"# streams: {2 * SIZE / 2**20:.0f} MiB in all; piperun keeps beyond 64 KiB "
          f"in a temp file")
    mib = f"{SIZE / 2**20:g} MiB"
    ratio("python_rss_over_piperun_rss", b, a, "Python communicate() peak RSS / piperun's "
          "(higher is better)", workload=f"{mib} on stdout + {mib} on stderr, captured: peak RSS",
          piperun=fig("piperun", "peak_rss", "runner VmHWM", claim="cgroup"),
          peers=[("python", fig("python_communicate", "peak_rss", "run(capture_output=True)"))])

if __name__ == "__main__":
    main()
