# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 21 benchmark: does the runner's memory grow with the number of
jobs a spec expands to?  For each size in SIZES (default 10k, 100k and
1M, as the issue asks): the peak RSS of `piperun validate` of a `repeat`
spec (the expanded spec alone) and of `piperun run -j 2 -o jsonl` of it,
each per expanded job, beside `seq N | xargs -P2 -n1 true`; then the
issue's goals at the largest size: run RSS <= 32 MB, wall <= 1.1x xargs;
and `-o json` (records that cannot go out yet wait in a temporary file)
at that size, twice: as is, and with a first job that inherits stdout
(the document then waits for the end, every record aside): RSS <= 48 MB.
Then FOREACH (default 200,000) x `echo {}` over a foreach of as many
literal values: run RSS beyond the parsed spec (validate's) <= 32 MB,
both reported; FOREACH=0 leaves it out.
A flat figure per job is the goal's shape: the same per-job RSS at every
size means memory grows with the jobs.

    python3 bench/million.py
    SIZES=10000,40000 BENCH_RUNS=1 python3 bench/million.py

At this VM's spawn rate a million jobs take tens of minutes per run (as
they do for xargs), so bench/run's quick mode runs 10k and 40k.
"""
import os
import tempfile

from _bench import RUNS, fig, goal, piperun_bin, ratio, round_robin, rss_metric, timed

SIZES = [int(x) for x in os.environ.get("SIZES", "10000,100000,1000000").split(",")]
FOREACH = int(os.environ.get("FOREACH", "200000"))


def main():
    pr = piperun_bin()
    tmp = tempfile.mkdtemp(prefix="piperun-bench-")
    print(f"# bench/million: SIZES={SIZES} runs={RUNS} cores={os.cpu_count()}")

    def spec(n):
        p = os.path.join(tmp, f"true{n}.json")
        with open(p, "w") as f:
            f.write('{"jobs": [{"run": ["true"], "repeat": %d}]}\n' % n)
        return p

    def validate_of(p):
        def f():
            dt, r = timed([pr, "validate", p])
            return {"wall": (dt, "s"), **rss_metric(r)}
        return f

    def jsonl_run(p, n):
        """run -j 2 -o jsonl of spec p, which makes n jobs."""
        def f():
            dt, r = timed([pr, "run", "-j", "2", "-o", "jsonl", p])
            lines = r.stdout.count(b"\n")
            if lines != n + 1:
                raise SystemExit(f"bench/million: {p}: {lines} lines, not {n + 1}")
            return {"wall": (dt, "s"), **rss_metric(r)}
        return f

    def validate(n):
        return validate_of(spec(n))

    def run(n):
        return jsonl_run(spec(n), n)

    def run_json(n, inherit):
        p = os.path.join(tmp, f"json{n}{'i' if inherit else ''}.json")
        first = '{"name": "first", "run": ["true"], "stdout": "inherit"}, ' if inherit else ""
        with open(p, "w") as f:
            f.write('{"jobs": [%s{"run": ["true"], "repeat": %d}]}\n' % (first, n))
        want = n + (1 if inherit else 0)

        def f():
            dt, r = timed([pr, "run", "-j", "2", "-o", "json", p])
            # each record opens at depth 2 of the pretty document
            got = r.stdout.count(b"\n    {")
            if got != want or not r.stdout.endswith(b"}\n"):
                raise SystemExit(f"bench/million: -o json has {got} records, not {want}")
            return {"wall": (dt, "s"), **rss_metric(r)}
        return f

    def foreach_spec(n):
        p = os.path.join(tmp, f"foreach{n}.json")
        with open(p, "w") as f:
            f.write('{"jobs": [{"name": "e", "run": ["echo", "{}"], "foreach": [%s]}]}\n'
                    % ", ".join('"value %d"' % i for i in range(n)))
        return p

    def foreach_run(n):
        return jsonl_run(foreach_spec(n), n)

    def foreach_validate(n):
        return validate_of(foreach_spec(n))

    def xargs(n):
        def f():
            dt, r = timed(f"seq {n} | xargs -P2 -n1 true")
            return {"wall": (dt, "s"), **rss_metric(r)}
        return f

    configs = []
    for n in SIZES:
        configs += [(f"validate_{n}", validate(n)), (f"run_{n}", run(n)), (f"xargs_{n}", xargs(n))]
    big = SIZES[-1]
    configs += [(f"json_{big}", run_json(big, False)), (f"json_inherit_{big}", run_json(big, True))]
    if FOREACH:
        configs += [(f"foreach_validate_{FOREACH}", foreach_validate(FOREACH)),
                    (f"foreach_run_{FOREACH}", foreach_run(FOREACH))]
    m = round_robin(configs, runs=max(1, RUNS // 3))
    for n in SIZES:
        per = (m[f"run_{n}_peak_rss"] - 1) * 1024 * 1024 / n
        vper = (m[f"validate_{n}_peak_rss"] - 1) * 1024 * 1024 / n
        print(f"# {n} jobs: run {m[f'run_{n}_peak_rss']:.1f} MiB ({per:.0f} B a job), "
              f"validate {m[f'validate_{n}_peak_rss']:.1f} MiB ({vper:.0f} B a job), "
              f"xargs {m[f'xargs_{n}_peak_rss']:.1f} MiB")
        goal(f"run_rss_per_job_{n}", per, "B", f"run -o jsonl peak RSS a job at {n} jobs "
             "(flat across sizes: issue 21)", workload=f"{n} x true (repeat), -j 2, -o jsonl",
             piperun=fig(f"run_{n}", "peak_rss", "run, peak RSS"),
             peers=[("xargs", fig(f"xargs_{n}", "peak_rss", "-P2 -n1, peak RSS")),
                    ("other", fig(f"validate_{n}", "peak_rss", "validate, peak RSS"))])
    work = f"{big} x true (repeat), -j 2, -o jsonl"
    goal("run_peak_rss", m[f"run_{big}_peak_rss"], "MiB", f"run peak RSS at {big} jobs "
         "(issue 21: 32 MB)", "<= 30.52", workload=work,
         piperun=fig(f"run_{big}", "peak_rss", "run, peak RSS"),
         peers=[("xargs", fig(f"xargs_{big}", "peak_rss", "-P2 -n1"))])
    ratio("run_vs_xargs_wall", m[f"run_{big}_wall"], m[f"xargs_{big}_wall"],
          "piperun wall / xargs -P2 wall (issue 21: <= 1.1)", "<= 1.1", workload=work,
          piperun=fig(f"run_{big}", "wall", "run -j 2"),
          peers=[("xargs", fig(f"xargs_{big}", "wall", "seq | xargs -P2 -n1 true"))])
    for name, what in ((f"json_{big}", "-o json"),
                       (f"json_inherit_{big}", "-o json, a first job inherits stdout")):
        goal(f"{name}_peak_rss", m[f"{name}_peak_rss"], "MiB", f"run {what}: peak RSS at {big} "
             "jobs (issue 21: 48 MB)", "<= 45.78", workload=f"{big} x true (repeat), -j 2, {what}",
             piperun=fig(name, "peak_rss", f"run {what}, peak RSS"),
             peers=[("other", fig(f"run_{big}", "peak_rss", "run -o jsonl, peak RSS"))])
    if FOREACH:
        spec_rss = m[f"foreach_validate_{FOREACH}_peak_rss"]
        run_rss = m[f"foreach_run_{FOREACH}_peak_rss"]
        print(f"# foreach {FOREACH}: parsed spec (validate) {spec_rss:.1f} MiB, "
              f"run {run_rss:.1f} MiB, beyond the spec {run_rss - spec_rss:.1f} MiB")
        goal("foreach_beyond_spec", run_rss - spec_rss, "MiB",
             f"run -o jsonl of {FOREACH} x echo {{}} over a foreach: peak RSS beyond "
             "the parsed spec (issue 21: 32 MB)", "<= 30.52",
             workload=f"{FOREACH} x echo {{}} (foreach of literal values), -j 2, -o jsonl",
             piperun=fig(f"foreach_run_{FOREACH}", "peak_rss", "run, peak RSS"),
             peers=[("other", fig(f"foreach_validate_{FOREACH}", "peak_rss",
                                  "validate (the parsed spec), peak RSS"))])


if __name__ == "__main__":
    main()
