#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""trace-check.py - validate a `piperun run --trace` file.

    trace-check.py TRACE [--results RESULTS] [--absent STRING]...

Checks the Trace Event Format's rules (the JSON Object Format with a
traceEvents array, or a bare array):
  * every event is an object with "ph" (a known phase) and an integer
    "pid"; every event but metadata ("M") has a numeric "ts" >= 0 and an
    integer "tid";
  * "X" events have a numeric "dur" >= 0; "B"/"E" pairs balance per
    (pid, tid), innermost first, with matching names;
  * slices on one (pid, tid) nest: two either do not overlap or one holds
    the other (no partial overlap);
  * "C" events have numeric args; "i"/"I" scopes are g, p or t; "M"
    events are process_name / thread_name (args.name a string) or a
    sort index (args.sort_index an integer);
  * every (pid, tid) that holds an event has a thread_name.
With --results: every attempt of every job that ran has its X event on
the track of its slot (tid = slot + 1), named as the job, whose ts, dur,
status, returncode, attempt and slot match the record (times within
rounding: records and trace both carry µs), and a pipeline job's stages
have X events that match the stages' started_ms/ended_ms; the "jobs"
counter never shows more running than max_parallel.
--absent STRING: STRING appears nowhere in the file (secrets).
Prints "ok" and exits 0, or prints each problem and exits 1.
"""
import json
import sys
from collections import defaultdict

PHASES = set("BEXiIC" "bne" "sft" "PNOD" "M" "RcVv(),")
META = {"process_name", "thread_name", "process_labels",
        "process_sort_index", "thread_sort_index", "process_uptime_seconds"}
TOL_MS = 0.002  # both sides print µs with 3 decimals, rounded


def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_event(i, e, errs):
    where = "event %d" % i
    if not isinstance(e, dict):
        errs.append("%s: not an object" % where)
        return False
    ph = e.get("ph")
    if not isinstance(ph, str) or ph not in PHASES:
        errs.append("%s: bad or missing ph %r" % (where, ph))
        return False
    if not isinstance(e.get("pid"), int):
        errs.append("%s: pid missing or not an integer" % where)
    if ph != "M":
        if not num(e.get("ts")) or e["ts"] < 0:
            errs.append("%s (%s): ts missing or negative" % (where, ph))
        if not isinstance(e.get("tid"), int):
            errs.append("%s (%s): tid missing or not an integer" % (where, ph))
    if ph == "X" and (not num(e.get("dur")) or e["dur"] < 0):
        errs.append("%s: X without a dur >= 0" % where)
    if ph == "C":
        args = e.get("args")
        if not isinstance(args, dict) or not args or not all(num(v) for v in args.values()):
            errs.append("%s: C without numeric args" % where)
    if ph in "iI" and e.get("s", "t") not in ("g", "p", "t"):
        errs.append("%s: bad instant scope %r" % (where, e.get("s")))
    if ph == "M":
        args = e.get("args") or {}
        name = e.get("name")
        if name not in META:
            errs.append("%s: unknown metadata %r" % (where, name))
        elif name.endswith("_name") and not isinstance(args.get("name"), str):
            errs.append("%s: %s without args.name" % (where, name))
        elif name.endswith("sort_index") and not isinstance(args.get("sort_index"), int):
            errs.append("%s: %s without args.sort_index" % (where, name))
    return True


def slices(events, errs):
    """Per (pid, tid): [start, end, name] of X events and B/E pairs."""
    per = defaultdict(list)
    open_ = defaultdict(list)
    for e in sorted((e for e in events if e["ph"] in "BE"), key=lambda e: e["ts"]):
        k = (e["pid"], e["tid"])
        if e["ph"] == "B":
            open_[k].append(e)
        elif not open_[k]:
            errs.append("E without B on %r at %s" % (k, e["ts"]))
        else:
            b = open_[k].pop()
            if "name" in e and e["name"] != b.get("name"):
                errs.append("E %r closes B %r on %r" % (e["name"], b.get("name"), k))
            per[k].append((b["ts"], e["ts"], b.get("name")))
    for k, st in open_.items():
        if st:
            errs.append("%d B events never closed on %r" % (len(st), k))
    for e in events:
        if e["ph"] == "X":
            # in integer ns: µs with 3 decimals add up exactly there
            start = round(e["ts"] * 1000)
            per[(e["pid"], e["tid"])].append((start / 1000, (start + round(e["dur"] * 1000)) / 1000,
                                               e.get("name")))
    return per


def check_nesting(per, errs):
    for k, sl in per.items():
        sl.sort(key=lambda s: (s[0], -(s[1] - s[0])))
        stack = []
        for s in sl:
            s = (round(s[0] * 1000), round(s[1] * 1000), s[2])
            while stack and stack[-1][1] <= s[0]:
                stack.pop()
            if stack and s[1] > stack[-1][1]:
                errs.append("partial overlap on %r: %r [%s, %s] and %r [%s, %s] (ns)" % (
                    k, stack[-1][2], stack[-1][0], stack[-1][1], s[2], s[0], s[1]))
            stack.append(s)


def check_names(events, errs):
    named = {(e["pid"], e.get("tid")) for e in events
             if e["ph"] == "M" and e.get("name") == "thread_name"}
    for e in events:
        if e["ph"] != "M" and (e["pid"], e["tid"]) not in named:
            errs.append("no thread_name for track %r" % ((e["pid"], e["tid"]),))
            named.add((e["pid"], e["tid"]))


def near(a, b):
    return a is not None and b is not None and abs(a - b) <= TOL_MS


def attempts_of(job):
    """(attempt, started_ms, duration_ms, slot, status, returncode)"""
    hist = job.get("attempt_history")
    if hist:
        return [(i + 1, a["started_ms"], a["duration_ms"], a["slot"], a["status"],
                 a["returncode"]) for i, a in enumerate(hist)]
    return [(1, job["started_ms"], job["duration_ms"], job["slot"], job["status"],
             job["returncode"])]


def check_job(job, xs, errs):
    name = job["name"]
    mine = [e for e in xs if e.get("name") == name and e.get("cat") != "stage"]
    want = attempts_of(job)
    if len(mine) != len(want):
        errs.append("job %s: %d X events for %d attempts" % (name, len(mine), len(want)))
        return
    for e, (n, start, dur, slot, status, rc) in zip(
            sorted(mine, key=lambda e: e["args"]["attempt"]), want):
        a = e["args"]
        bad = []
        if a.get("attempt") != n:
            bad.append("attempt %r" % a.get("attempt"))
        if not near(e["ts"] / 1000, start):
            bad.append("ts %s vs started_ms %s" % (e["ts"], start))
        if not near(e["dur"] / 1000, dur):
            bad.append("dur %s vs duration_ms %s" % (e["dur"], dur))
        if a.get("slot") != slot or e["tid"] != slot + 1:
            bad.append("slot %r/tid %r vs slot %r" % (a.get("slot"), e["tid"], slot))
        if a.get("status") != status or a.get("returncode") != rc:
            bad.append("status %r/%r vs %r/%r" % (a.get("status"), a.get("returncode"),
                                                  status, rc))
        if bad:
            errs.append("job %s attempt %d: %s" % (name, n, "; ".join(bad)))
    if job.get("kind") == "pipeline":
        last = max(e["args"]["attempt"] for e in mine)
        st = [e for e in xs if e.get("cat") == "stage" and e["args"].get("job") == name
              and e["args"].get("attempt") == last]
        for i, s in enumerate(job["stages"]):
            ev = [e for e in st if e["args"]["stage"] == i]
            if len(ev) != 1 or not near(ev[0]["ts"] / 1000, s["started_ms"]) or (
                    s["ended_ms"] is not None and
                    not near((ev[0]["ts"] + ev[0]["dur"]) / 1000, s["ended_ms"])):
                errs.append("job %s stage %d: events %r vs record %r/%r" % (
                    name, i, ev, s["started_ms"], s["ended_ms"]))


def check_results(events, results, errs):
    xs = [e for e in events if e["ph"] == "X"]
    ran = 0
    for job in results["jobs"]:
        if job.get("attempts", 0) > 0 and not job.get("resumed"):
            ran += 1
            check_job(job, xs, errs)
    if not ran:
        errs.append("no job ran: nothing to compare")
    peak = max((e["args"].get("running", 0) for e in events
                if e["ph"] == "C" and e.get("name") == "jobs"), default=0)
    if peak > results["max_parallel"]:
        errs.append("jobs running %d > max_parallel %d" % (peak, results["max_parallel"]))


def main(argv):
    path, results, absent = None, None, []
    it = iter(argv[1:])
    for a in it:
        if a == "--results":
            results = next(it)
        elif a == "--absent":
            absent.append(next(it))
        else:
            path = a
    text = open(path, encoding="utf-8").read()
    doc = json.loads(text)
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    errs = []
    if not isinstance(events, list) or not events:
        errs.append("no traceEvents")
        events = []
    good = [e for i, e in enumerate(events) if check_event(i, e, errs)]
    if not errs:
        check_nesting(slices(good, errs), errs)
        check_names(good, errs)
        if results:
            with open(results, encoding="utf-8") as f:
                check_results(good, json.load(f), errs)
    for s in absent:
        if s in text:
            errs.append("%r appears in the trace" % s)
    for e in errs[:50]:
        print(e)
    if errs:
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
