# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 4 benchmarks: pipeline jobs, side by side with the peers in one
run (interleaved rounds, medians).

    python3 bench/pipeline.py

  - the three seed openssl pipelines (enc -des3 -pbkdf2 | dgst -sha256
    on 100 random bytes each, pipelines/openssl-pipeline-sha256.json), at
    once: piperun vs bash `&` + `wait`
  - 1000 two-stage `true | true` pipelines at -j 2: piperun vs
    `xargs -P 2 -n 1 sh -c 'true | true'`
  - 1 GiB through head | cat | wc -c: the runner's own CPU time (it never
    copies the stream) next to the wall time
"""
import json
import os
import tempfile

from _bench import (RUNS, TOP, emit, fig, piperun_bin, piperun_record, ratio, record_metrics,
                    round_robin, rss_metric, timed)

N = int(os.environ.get("N", "1000"))
PW = "zf7ShyBhZOraQDdE/FiZpm/m/8f9X+M1"


def main():
    pr = piperun_bin()
    tmp = tempfile.mkdtemp(prefix="piperun-bench-")
    # seed 67e, as the spec in pipelines/ has it (the sha256 variant, as
    # the anchors measured it)
    ossl = os.path.join(TOP, "pipelines", "openssl-pipeline-sha256.json")
    tt = os.path.join(tmp, "tt.json")
    gib = os.path.join(tmp, "gib.json")
    json.dump({"jobs": [{"pipeline": [["true"], ["true"]], "stdout": "null",
                         "stderr": "null", "repeat": N}]}, open(tt, "w"))
    json.dump({"jobs": [{"pipeline": [["head", "-c", "1G", "/dev/zero"], ["cat"], ["wc", "-c"]]}]},
              open(gib, "w"))
    seq = os.path.join(tmp, "seq.txt")
    with open(seq, "w") as f:
        f.write("x\n" * N)
    bash_ossl = ("export password=" + PW + "; "
                 "for i in 1 2 3; do head -c 100 /dev/urandom | "
                 "openssl enc -des3 -pbkdf2 -pass env:password | "
                 "openssl dgst -sha256 -binary > /dev/null & done; wait")
    print(f"# bench/pipeline: N={N} runs={RUNS} cores={os.cpu_count()} (interleaved rounds)")

    def wall(cmd):
        def f():
            dt, r = timed(cmd)
            return {"wall": (dt * 1e3, "ms"), **rss_metric(r)}
        return f

    def piperun(args, n, metric):
        def f():
            dt, r = timed([pr, "run", "-o", "jsonl", *args])
            run = piperun_record(r, n)
            v = (dt * 1e3, "ms") if metric == "wall" else (n / dt, "jobs/s")
            return {metric: v, **rss_metric(r), **record_metrics(run)}
        return f

    def per(n, cmd):
        def f():
            dt, r = timed(cmd)
            return {"jobs_per_s": (n / dt, "jobs/s"), **rss_metric(r)}
        return f

    m = round_robin([
        ("bash_openssl_x3", wall(bash_ossl)),
        ("piperun_openssl_x3", piperun([ossl], 3, "wall")),
    ], runs=max(RUNS, 9))
    ratio("bash_vs_piperun_openssl_x3", m["bash_openssl_x3_wall"], m["piperun_openssl_x3_wall"],
          "bash wall / piperun wall (piperun's speed as a fraction of bash's)", ">= 0.85", row=5,
          workload="3 x openssl enc | openssl dgst (seed 67e, pipelines/)",
          piperun=fig("piperun_openssl_x3", "wall", "openssl-pipeline-sha256.json",
                      claim="cgroup"),
          peers=[("other", fig("bash_openssl_x3", "wall", "bash & + wait"))])
    m = round_robin([
        ("xargs_P2_true_pipe_true", per(N, ["xargs", "-a", seq, "-P", "2", "-n", "1", "sh", "-c",
                                            "true | true"])),
        ("piperun_P2_true_pipe_true", piperun(["-j", "2", tt], N, "jobs_per_s")),
    ])
    ratio("piperun_vs_xargs_true_pipe_true", m["piperun_P2_true_pipe_true_jobs_per_s"],
          m["xargs_P2_true_pipe_true_jobs_per_s"], "piperun / xargs sh -c, jobs/s", ">= 1.2",
          workload=f"{N} x true | true, -j 2",
          piperun=fig("piperun_P2_true_pipe_true", "jobs_per_s", "-j 2", claim="cgroup"),
          peers=[("xargs", fig("xargs_P2_true_pipe_true", "jobs_per_s", "-P2 sh -c"))])

    walls, cpus = [], []
    for _ in range(RUNS):
        dt, r = timed([pr, "run", "-o", "jsonl", gib])
        last = json.loads(r.stdout.splitlines()[-1])
        walls.append(dt)
        cpus.append(last["run"]["runner"]["user_ms"] + last["run"]["runner"]["sys_ms"])
    w = emit("piperun_gib_3stage_wall", walls, "s")
    c = emit("piperun_gib_3stage_runner_cpu", cpus, "ms")
    print(f"# the runner used {c:.1f} ms of CPU while 1 GiB crossed two pipes in {w:.2f} s: "
          f"it never touches the stream")


if __name__ == "__main__":
    main()
