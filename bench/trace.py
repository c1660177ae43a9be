# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 20 benchmark: what --trace costs.  N x `true` at -j 2, with and
without --trace FILE (a fresh file each round), in interleaved rounds;
the ratio of the medians of their wall times, goal <= 1.05.  Each traced
round's file is checked: one X event per job.  Also printed: the
runner's own CPU time while the jobs ran (from its record) and the time
outside the run (reading the spec, writing results and the trace), which
a busy machine disturbs less than the wall.

    python3 bench/trace.py
    N_TRACE=2000 BENCH_RUNS=3 python3 bench/trace.py
"""
import json
import os
import shutil
import tempfile

from _bench import (RUNS, fig, piperun_bin, piperun_record, ratio, record_metrics, round_robin,
                    rss_metric, timed)

N = int(os.environ.get("N_TRACE", os.environ.get("N", "10000")))


def main():
    pr = piperun_bin()
    tmp = tempfile.mkdtemp(prefix="piperun-bench-")
    spec = os.path.join(tmp, "true.json")
    json.dump({"jobs": [{"run": ["true"], "repeat": N}]}, open(spec, "w"))
    trace = os.path.join(tmp, "trace.json")
    print(f"# bench/trace: N={N} runs={RUNS} cores={os.cpu_count()} (interleaved rounds)")

    def piperun(extra):
        def f():
            if os.path.exists(trace):
                os.unlink(trace)
            dt, r = timed([pr, "run", "-j", "2", "-o", "jsonl", *extra, spec])
            run = piperun_record(r, N)
            # the runner's own CPU while the jobs ran (its record), and the
            # time outside the run (spec read, results and trace written):
            # steadier than the wall on a busy machine
            cpu = run["runner"]["user_ms"] + run["runner"]["sys_ms"]
            m = {"wall": (dt, "s"), "jobs_per_s": (N / dt, "jobs/s"), **rss_metric(r),
                 "runner_cpu": (cpu, "ms"), "outside_run": (dt * 1000 - run["duration_ms"], "ms"),
                 **record_metrics(run)}
            if extra:
                with open(trace) as t:
                    events = json.load(t)["traceEvents"]
                xs = sum(1 for e in events if e["ph"] == "X")
                if xs != N:
                    raise SystemExit(f"bench/trace: {xs} X events, not {N}")
                m["trace_mib"] = (os.path.getsize(trace) / 2**20, "MiB")
            return m
        return f

    m = round_robin([
        ("piperun_plain", piperun([])),
        ("piperun_trace", piperun(["--trace", trace])),
    ])
    ratio("trace_overhead", m["piperun_trace_wall"], m["piperun_plain_wall"],
          "wall with --trace / without (lower is better)", "<= 1.05",
          workload=f"{N} x true, -j 2, --trace",
          piperun=fig("piperun_trace", "wall", "--trace", claim="cgroup"),
          peers=[("other", fig("piperun_plain", "wall", "piperun without a trace"))])
    ratio("trace_runner_cpu", m["piperun_trace_runner_cpu"], m["piperun_plain_runner_cpu"],
          "the runner's CPU while jobs ran, with --trace / without (informational)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
