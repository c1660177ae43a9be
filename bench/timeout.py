# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 5 benchmarks, side by side in one run (interleaved rounds, medians):

  - timeout precision: a 0.1 s timeout on `sleep 10`; overshoot = time
    from start to the command reaped, minus 100 ms.  piperun exec and
    coreutils timeout timed whole from this driver (each pays its own
    start); piperun run from its record (job duration_ms, spawn to
    reaped); Python subprocess.run(timeout=0.1) measured in-process, as
    the seed does.
  - 1000 `true` jobs at -j 2, each with its own timeout, against the same
    run without timeouts: the timers must cost nothing measurable.
  - the drop-in (issue 15): `piperun timeout` against coreutils `timeout`,
    whole commands: its overshoot on a 0.1 s timeout, and the cost of one
    `timeout 10 true` (start-up, containment and clean-up), also in
    process-group mode (PIPERUN_CONTAINMENT=pgroup), where it does what
    coreutils does plus the guardian.

    python3 bench/timeout.py         (RUNS=20 for precision by default)
"""
import json
import os
import subprocess
import tempfile
import time

from _bench import (RUNS, anchor_tool, fig, goal, piperun_bin, piperun_record, ratio,
                    record_metrics, round_robin, rss_metric, timed)

PREC_RUNS = int(os.environ.get("PREC_RUNS", "20"))
N = int(os.environ.get("N", "1000"))


def main():
    pr = piperun_bin()
    tmp = tempfile.mkdtemp(prefix="piperun-bench-")
    spec = os.path.join(tmp, "t.json")
    json.dump({"jobs": [{"run": ["sleep", "10"], "timeout": 0.1}]}, open(spec, "w"))
    with_t = os.path.join(tmp, "with.json")
    without_t = os.path.join(tmp, "without.json")
    json.dump({"jobs": [{"run": ["true"], "stdout": "null", "stderr": "null", "timeout": 10,
                         "repeat": N}]}, open(with_t, "w"))
    json.dump({"jobs": [{"run": ["true"], "stdout": "null", "stderr": "null", "repeat": N}]},
              open(without_t, "w"))
    print(f"# bench/timeout: precision runs={PREC_RUNS}, N={N} runs={RUNS} cores={os.cpu_count()}")

    def wall_over(cmd, ok=(124,)):
        def f():
            dt, r = timed(cmd, check=False)
            assert r.returncode in ok, (cmd, r.returncode)
            return {"overshoot": ((dt - 0.1) * 1e3, "ms"), **rss_metric(r)}
        return f

    def py_seed():
        t0 = time.perf_counter()
        try:
            subprocess.run(["sleep", "10"], timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
        return {"overshoot": ((time.perf_counter() - t0 - 0.1) * 1e3, "ms")}

    def piperun_run():
        _, r = timed([pr, "run", "-o", "jsonl", spec], check=False)
        job = json.loads(r.stdout.splitlines()[0])
        assert job["status"] == "timeout", job
        return {"overshoot": (job["duration_ms"] - 100, "ms"), **rss_metric(r),
                **record_metrics(piperun_record(r))}

    tb = anchor_tool("timeoutbench")

    def c_anchor():
        r = subprocess.run([tb, "-t", "100", "-r", "1", "--", "/bin/sleep", "10"],
                           stdout=subprocess.PIPE, text=True, check=True)
        ms = [float(l.split()[1]) for l in r.stdout.splitlines() if l.startswith("elapsed_ms")]
        return {"overshoot": (ms[0] - 100, "ms")}

    m = round_robin([
        ("c_pidfd_poll", c_anchor),
        ("coreutils_timeout", wall_over(["timeout", "0.1", "sleep", "10"])),
        ("piperun_exec", wall_over([pr, "exec", "-t", "0.1", "--", "sleep", "10"])),
        ("piperun_timeout", wall_over([pr, "timeout", "0.1", "sleep", "10"])),
        ("python_subprocess", py_seed),
        ("piperun_run_record", piperun_run),
    ], runs=PREC_RUNS)
    work = "0.1 s timeout on sleep 10: overshoot"
    ov = "overshoot"
    cu = ("other", fig("coreutils_timeout", ov, "coreutils timeout"))
    py = ("python", fig("python_subprocess", ov, "subprocess.run(timeout=), in-process"))
    c = ("C", fig("c_pidfd_poll", ov, "pidfd+poll"))
    ratio("piperun_exec_vs_coreutils_overshoot", m["piperun_exec_overshoot"],
          m["coreutils_timeout_overshoot"], "piperun exec / coreutils, overshoot of whole "
          "commands (lower is better)", workload=work, peers=[cu, py],
          piperun=fig("piperun_exec", ov, "piperun exec -t 0.1"))
    ratio("piperun_run_vs_c_anchor_overshoot", m["piperun_run_record_overshoot"],
          m["c_pidfd_poll_overshoot"], "piperun run (record) / bare C pidfd+poll, overshoot",
          workload=work, peers=[c],
          piperun=fig("piperun_run_record", ov, "run, job record", claim="cgroup"))
    goal("piperun_run_overshoot", m["piperun_run_record_overshoot"], "ms", "from the job "
         "record: deadline to reaped", "<= 1", workload=work, peers=[c, py],
         piperun=fig("piperun_run_record", ov, "run, job record", claim="cgroup"))
    ratio("piperun_timeout_vs_coreutils_overshoot", m["piperun_timeout_overshoot"],
          m["coreutils_timeout_overshoot"], "piperun timeout / coreutils, overshoot of whole "
          "commands (lower is better)", workload=work, peers=[cu],
          piperun=fig("piperun_timeout", ov, "piperun timeout 0.1"))

    pgroup = dict(os.environ, PIPERUN_CONTAINMENT="pgroup")

    def one(cmd, env=None):
        def f():
            dt, r = timed(cmd, env=env)
            return {"wall": (dt * 1e3, "ms"), **rss_metric(r)}
        return f
    m = round_robin([
        ("coreutils_timeout_true", one(["timeout", "10", "true"])),
        ("piperun_timeout_true", one([pr, "timeout", "10", "true"])),
        ("piperun_timeout_true_pgroup", one([pr, "timeout", "10", "true"], pgroup)),
    ], runs=PREC_RUNS)
    cu = [("other", fig("coreutils_timeout_true", "wall", "coreutils timeout"))]
    ratio("piperun_timeout_vs_coreutils_one", m["piperun_timeout_true_wall"],
          m["coreutils_timeout_true_wall"], "piperun / coreutils wall (lower is better)",
          workload="one `timeout 10 true`", peers=cu,
          piperun=fig("piperun_timeout_true", "wall", "piperun timeout"))
    ratio("piperun_timeout_pgroup_vs_coreutils_one", m["piperun_timeout_true_pgroup_wall"],
          m["coreutils_timeout_true_wall"], "piperun (pgroup) / coreutils wall (lower is better)",
          workload="one `timeout 10 true`, PIPERUN_CONTAINMENT=pgroup", peers=cu,
          piperun=fig("piperun_timeout_true_pgroup", "wall", "piperun timeout, pgroup"))

    def per(spec):
        def f():
            dt, r = timed([pr, "run", "-j", "2", "-o", "jsonl", spec])
            return {"jobs_per_s": (N / dt, "jobs/s"), **rss_metric(r),
                    **record_metrics(piperun_record(r, N))}
        return f
    m = round_robin([
        ("no_timeouts", per(without_t)),
        ("each_with_timeout", per(with_t)),
    ])
    ratio("timeouts_vs_none", m["each_with_timeout_jobs_per_s"], m["no_timeouts_jobs_per_s"],
          f"{N} jobs with a timeout each / without, jobs/s", ">= 0.97",
          workload=f"{N} x true, -j 2, a timeout each",
          piperun=fig("each_with_timeout", "jobs_per_s", "timeout 10 each", claim="cgroup"),
          peers=[("other", fig("no_timeouts", "jobs_per_s", "piperun, no timeouts",
                               claim="cgroup"))])


if __name__ == "__main__":
    main()
