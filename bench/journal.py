# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 17 benchmark: what the journal costs.  N x `true` at -j 2, with
and without --journal FILE (a fresh file each round: one write(2) per
job, fdatasync at most every 100 ms and at the end), in interleaved
rounds; the ratio of the medians of their wall times, goal <= 1.10.
And what journaling a steps job's items costs (no goal: informational):
N_ITEMS items through a task step that does next to nothing (gcd of
fixed arguments), the worst case, with and without --journal.

    python3 bench/journal.py
    N=2000 BENCH_RUNS=3 python3 bench/journal.py
"""
import json
import os
import shutil
import tempfile

from _bench import (RUNS, fig, piperun_bin, piperun_record, ratio, record_metrics, round_robin,
                    rss_metric, timed)

N = int(os.environ.get("N_JOURNAL", os.environ.get("N", "10000")))
N_ITEMS = int(os.environ.get("N_ITEMS", "300000"))


def main():
    pr = piperun_bin()
    tmp = tempfile.mkdtemp(prefix="piperun-bench-")
    spec = os.path.join(tmp, "true.json")
    json.dump({"jobs": [{"run": ["true"], "repeat": N}]}, open(spec, "w"))
    journal = os.path.join(tmp, "journal.jsonl")
    print(f"# bench/journal: N={N} runs={RUNS} cores={os.cpu_count()} (interleaved rounds)")

    def piperun(extra):
        def f():
            if os.path.exists(journal):
                os.unlink(journal)
            dt, r = timed([pr, "run", "-j", "2", "-o", "jsonl", *extra, spec])
            run = piperun_record(r, N)
            m = {"wall": (dt, "s"), "jobs_per_s": (N / dt, "jobs/s"), **rss_metric(r),
                 **record_metrics(run)}
            if extra:
                with open(journal, "rb") as j:
                    lines = sum(1 for _ in j)
                if lines != N + 1:
                    raise SystemExit(f"bench/journal: {lines} journal lines, not {N + 1}")
                m["journal_mib"] = (os.path.getsize(journal) / 2**20, "MiB")
            return m
        return f

    m = round_robin([
        ("piperun_plain", piperun([])),
        ("piperun_journal", piperun(["--journal", journal])),
    ])
    ratio("journal_overhead", m["piperun_journal_wall"], m["piperun_plain_wall"],
          "wall with --journal / without (lower is better)", "<= 1.10",
          workload=f"{N} x true, -j 2, --journal",
          piperun=fig("piperun_journal", "wall", "--journal", claim="cgroup"),
          peers=[("other", fig("piperun_plain", "wall", "piperun without a journal"))])
    items(pr, tmp)
    shutil.rmtree(tmp, ignore_errors=True)


def items(pr, tmp):
    spec = os.path.join(tmp, "items.json")
    json.dump({"jobs": [{"name": "s", "items": {"count": N_ITEMS},
                         "steps": [{"task": "gcd", "args": [12, 18]}]}]}, open(spec, "w"))
    journal = os.path.join(tmp, "items.jsonl")

    def piperun(extra):
        def f():
            if os.path.exists(journal):
                os.unlink(journal)
            dt, r = timed([pr, "run", "-o", "jsonl", *extra, spec])
            run = piperun_record(r, 1)
            m = {"wall": (dt, "s"), "items_per_s": (N_ITEMS / dt, "items/s"), **rss_metric(r),
                 **record_metrics(run)}
            if extra:
                m["journal_mib"] = (os.path.getsize(journal) / 2**20, "MiB")
            return m
        return f

    m = round_robin([
        ("items_plain", piperun([])),
        ("items_journal", piperun(["--journal", journal])),
    ])
    ratio("journal_items_overhead", m["items_journal_wall"], m["items_plain_wall"],
          "wall with --journal / without, every item journaled (informational)",
          workload=f"steps job, {N_ITEMS} items through a gcd task, --journal",
          piperun=fig("items_journal", "wall", "--journal", claim="cgroup"),
          peers=[("other", fig("items_plain", "wall", "piperun without a journal"))])


if __name__ == "__main__":
    main()
