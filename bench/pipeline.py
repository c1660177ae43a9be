# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 4 benchmarks: pipeline jobs, side by side with the peers in one
run (interleaved rounds, medians).

    python3 bench/pipeline.py

  - the three seed openssl pipelines (enc -des3 -pbkdf2 | dgst -sha256
    on 100 random bytes each), at once: piperun vs bash `&` + `wait`
  - 1000 two-stage `true | true` pipelines at -j 2: piperun vs
    `xargs -P 2 -n 1 sh -c 'true | true'`
  - 1 GiB through head | cat | wc -c: the runner's own CPU time (it never
    copies the stream) next to the wall time
"""
import json
import os
import tempfile

from _bench import RUNS, emit, piperun_bin, ratio, round_robin, timed

N = int(os.environ.get("N", "1000"))
PW = "zf7ShyBhZOraQDdE/FiZpm/m/8f9X+M1"


def main():
    pr = piperun_bin()
    tmp = tempfile.mkdtemp(prefix="piperun-bench-")
    ossl = os.path.join(tmp, "ossl.json")
    tt = os.path.join(tmp, "tt.json")
    gib = os.path.join(tmp, "gib.json")
    json.dump({"jobs": [{"name": "enc", "pipeline": [
        ["openssl", "enc", "-des3", "-pbkdf2", "-pass", "env:password"],
        ["openssl", "dgst", "-sha256", "-binary"]],
        "env": {"password": PW}, "secret_env": ["password"],
        "stdin": {"random": 100}, "repeat": 3}]}, open(ossl, "w"))
    json.dump({"jobs": [{"pipeline": [["true"], ["true"]], "stdout": "null",
                         "stderr": "null", "repeat": N}]}, open(tt, "w"))
    json.dump({"jobs": [{"pipeline": [["head", "-c", "1G", "/dev/zero"], ["cat"], ["wc", "-c"]]}]},
              open(gib, "w"))
    bash_ossl = ("export password=" + PW + "; "
                 "for i in 1 2 3; do head -c 100 /dev/urandom | "
                 "openssl enc -des3 -pbkdf2 -pass env:password | "
                 "openssl dgst -sha256 -binary > /dev/null & done; wait")
    print(f"# bench/pipeline: N={N} runs={RUNS} cores={os.cpu_count()} (interleaved rounds)")

    def wall(cmd):
        def f():
            dt, _ = timed(cmd)
            return {"wall": (dt * 1e3, "ms")}
        return f

    def per(n, cmd):
        def f():
            dt, _ = timed(cmd)
            return {"jobs_per_s": (n / dt, "jobs/s")}
        return f

    m = round_robin([
        ("bash_openssl_x3", wall(bash_ossl)),
        ("piperun_openssl_x3", wall([pr, "run", "-o", "none", ossl])),
    ], runs=max(RUNS, 9))
    ratio("piperun_vs_bash_openssl_x3", m["piperun_openssl_x3_wall"], m["bash_openssl_x3_wall"],
          "piperun wall / bash & + wait wall", "<= 1.2")
    m = round_robin([
        ("xargs_P2_true_pipe_true", per(N, f"seq {N} | xargs -P 2 -n 1 sh -c 'true | true'")),
        ("piperun_P2_true_pipe_true", per(N, [pr, "run", "-j", "2", "-o", "none", tt])),
    ])
    ratio("piperun_vs_xargs_true_pipe_true", m["piperun_P2_true_pipe_true_jobs_per_s"],
          m["xargs_P2_true_pipe_true_jobs_per_s"], "piperun / xargs sh -c, jobs/s", ">= 1.2")

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
