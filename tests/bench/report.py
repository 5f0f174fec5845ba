#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The statistics and the report of a benchmark run, from the raw rows the
guest wrote (tests/bench/README.md describes the rows and every figure).

    report.py RAWDIR OUTDIR   writes OUTDIR/report.md and report.json
    report.py RAWDIR          prints the dm-delay summary table
"""

import json
import os
import re
import sys

PCTS = {"p50": "50.000000", "p99": "99.000000", "p99_9": "99.900000"}
WORKER_KEYS = ["cpu_ms_per_s", "cpu_ms_per_s_schedstat", "cpu_us_per_io", "wakeups_per_io"]
RATIO_KEYS = ["iops", "pct_of_max", "mean", "p50", "p99", "p99_9"] + WORKER_KEYS
IMPL_NAME = {"rust": "ours (rust_dm_delay)", "c": "C (dm_delay)"}
# A line of the stage trace, and the stages of an I/O: fio queues the bio on the delay
# device (A); the timer ending the wait (the worker's alarm, or its sleep's) fires (H) and
# wakes the worker (W), which runs (R) and queues the bio on dm-zero (S), which completes
# it and wakes fio (E); fio runs (F) and queues its next bio (A2). From A: less the delay.
EV = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+):\s+(\w+):\s+(.*)$")
STAGES = [("A", "H", "timer fires, after bio queued + delay"), ("H", "W", "timer callback wakes the worker"),
          ("W", "R", "worker scheduled in"), ("R", "S", "worker takes the bio off the queue"),
          ("S", "E", "submit to dm-zero until fio is woken"), ("E", "F", "fio scheduled in"),
          ("F", "A2", "fio: syscall return, accounting, next write"),
          ("A", "F", "bio queued until fio runs, minus the delay"), ("A", "A2", "one I/O, minus the delay")]


# Statistics. A rate or a time is the best round's (interference from the shared host
# only slows a round down), a count the median round's. A ratio ours / C is the median
# over the rounds of the ratio within a round (back to back); "ratio_range": [min, max].

def median(v):
    v, m = sorted(v), len(v) // 2
    return None if not v else v[m] if len(v) % 2 else (v[m - 1] + v[m]) / 2


def paired(pairs):
    """(median, [min, max], list) of the ratios a / b where a is known and b not 0."""
    r = [a / b for a, b in pairs if a is not None and b]
    return median(r), [min(r), max(r)] if r else None, r


def lines(raw, name, sep=None, maxsplit=-1):
    """The non-blank lines of RAWDIR/name, split into fields ([] if missing)."""
    try:
        with open(os.path.join(raw, name)) as f:
            return [l.rstrip("\n").split(sep, maxsplit) for l in f if l.strip()]
    except OSError:
        return []


def read_kv(raw, name, sep="="):
    return dict(w for w in lines(raw, name, sep, 1) if len(w) == 2)


def number(s):
    """s as an int or a float, else None ("-")."""
    return int(s) if re.fullmatch(r"-?\d+", s) else float(s) if re.fullmatch(r"-?\d*\.?\d+(e[-+]?\d+)?", s) else None


def delay_us(arg):
    """A delay argument ("10", "3ms", "250us") in microseconds."""
    return int(arg[:-2]) if arg.endswith("us") else int(arg[:-2] if arg.endswith("ms") else arg) * 1000


def result(run, raw, theo):
    """One fio run: its row of dm_delay_runs.tsv and its fio json+."""
    res = {"fio_rc": int(run["fio_rc"])}
    try:
        with open(os.path.join(raw, "fio", "%s-%s-%s.json" % (run["impl"], run["job"], run["round"]))) as f:
            text = f.read()
        job = json.loads(text[text.index("{"):])["jobs"][0]  # fio may print notes first
    except (OSError, ValueError, KeyError, IndexError) as e:
        return dict(res, error="no fio result: %s" % e)
    side = job["write"] if "write" in run["rw"] else job["read"]
    clat, ios, runtime_s, d_us = side["clat_ns"], side["total_ios"], side["runtime"] / 1000, delay_us(run["delay"])
    mean_us, pcts, bins = clat["mean"] / 1000, clat.get("percentile", {}), clat.get("bins", {})
    res.update(iops=side["iops"], pct_of_max=100 * side["iops"] / theo if theo else None, fio_ios=ios,
               runtime_s=runtime_s, clat_us=dict(mean=mean_us, **{
                   k: None if pcts.get(p) is None else pcts[p] / 1000 for k, p in PCTS.items()}),
               error_us=mean_us - d_us, error_pct=100 * (mean_us - d_us) / d_us if d_us else None, below_delay=None)
    if res["clat_us"]["p50"] is not None:
        res["p50_error_us"] = res["clat_us"]["p50"] - d_us
    if run["ioengine"] == "psync":  # with libaio, fio's latency starts when io_submit() returns
        res["clat_us"]["min"] = clat["min"] / 1000
        if sum(bins.values()) and d_us:
            res["below_delay"] = sum(v for k, v in bins.items() if int(k) < d_us * 1000) / sum(bins.values())
    v = {k + n: number(run[k + n]) for k in ("devr", "devw", "ticks", "ns", "runs") for n in "01"}
    reads, writes = v["devr1"] - v["devr0"], v["devw1"] - v["devw0"]

    def per(k, div, f=lambda d: d):  # counter k's increase over the run, through f, per div
        return None if None in (v[k + "0"], v[k + "1"]) or not div else f(v[k + "1"] - v[k + "0"]) / div
    res.update(device_ios={"reads": reads, "writes": writes}, device_per_fio_io=(reads + writes) / ios if ios else None,
               worker={"comm": run["comm"], "pid": number(run["pid"]), "threads": int(run["nworkers"]),
                       "cpu_ms_per_s": per("ticks", runtime_s, lambda d: d * 1000 / int(run["clk_tck"])),
                       "cpu_ms_per_s_schedstat": per("ns", runtime_s, lambda d: d / 1e6),
                       "cpu_us_per_io": per("ns", ios, lambda d: d / 1e3),
                       "wakeups_per_io": per("runs", ios)})
    return res


def add_achievable(jobs):
    """To QD1 results adds path_us (mean latency at delay 0), delays_per_io, achievable_iops, pct_of_achievable."""
    qd1 = [j for j in jobs if j["numjobs"] * j["iodepth"] == 1]
    floors = {(j["rw"], j["direct"], impl): res["clat_us"]["mean"] for j in qd1 if j["delay_us"] == 0
              for impl, res in j["results"].items() if "clat_us" in res}
    for j in (j for j in qd1 if j["delay_us"]):
        for impl, res in j["results"].items():
            path = floors.get((j["rw"], j["direct"], impl))
            if path is not None and "iops" in res:
                k = max(1, round(res.get("device_per_fio_io") or 1))
                res.update(path_us=path, delays_per_io=k, achievable_iops=1e6 / (k * j["delay_us"] + path))
                res["pct_of_achievable"] = 100 * res["iops"] / res["achievable_iops"]


def dm_delay(raw):
    """The dm-delay summary of RAWDIR, or None without dm_delay_runs.tsv."""
    rows, jobs, floors = lines(raw, "dm_delay_runs.tsv", "\t"), {}, {}
    if not rows:
        return None
    try:
        for w in lines(raw, "timer_floor.txt"):  # "delay_us D count N min_us A p50_us B ..."
            kv = dict(zip(w[::2], w[1::2]))
            floors[int(kv["delay_us"])] = {k[:-3]: float(v) for k, v in kv.items()
                                           if k.endswith("_us") and k != "delay_us"}
    except (ValueError, KeyError):
        pass
    for run in (dict(zip(rows[0], l)) for l in rows[1:]):
        d_us, nj, qd = delay_us(run["delay"]), int(run["numjobs"]), int(run["iodepth"])
        j = jobs.setdefault(run["job"], {
            "name": run["job"], "delay": run["delay"], "delay_us": d_us, "rw": run["rw"],
            "direct": int(run["direct"]), "numjobs": nj, "iodepth": qd, "ioengine": run["ioengine"],
            "bs": "4k", "seconds": int(run["seconds"]), "cpu": number(run.get("cpu", "-")),
            "theoretical_iops": nj * qd * 1e6 / d_us if d_us else None, "results": {}, "rounds": {}})
        j["rounds"].setdefault(run["impl"], []).append(result(run, raw, j["theoretical_iops"]))
    for j in jobs.values():
        rounds = j.pop("rounds")
        for impl, rs in rounds.items():  # the round with the highest IOPS, plus every round's IOPS and p50
            done = [r for r in rs if "iops" in r]
            j["results"][impl] = rs[0] if not done else dict(sorted(done, key=lambda r: r["iops"])[-1], rounds=[
                {"iops": r["iops"], "p50_us": r["clat_us"]["p50"]} for r in done], rounds_failed=len(rs) - len(done))
        if "c" in rounds and "rust" in rounds:
            def flat(r):  # the metrics that get a ratio
                return {} if "iops" not in r else dict(r["clat_us"], iops=r["iops"], pct_of_max=r["pct_of_max"],
                                                       **{k: r["worker"][k] for k in WORKER_KEYS})
            pairs = {k: paired((flat(r).get(k), flat(b).get(k)) for r, b in zip(rounds["rust"], rounds["c"]))
                     for k in RATIO_KEYS}
            j.update(ratio={k: p[0] for k, p in pairs.items()}, ratio_rounds=pairs["iops"][2],
                     ratio_range={k: p[1] for k, p in pairs.items()})
        j["timer_floor_us"] = floors.get(j["delay_us"])
    add_achievable(jobs.values())
    return {"benchmark": "dm-delay", "jobs": list(jobs.values())}


def stages(raw):
    """The stages' table, as lines, from stages-trace.txt and stages-params.txt
    ("DELAY_DEV ZERO_DEV DELAY", devices as "major,minor"), or None without."""
    try:
        with open(os.path.join(raw, "stages-params.txt")) as f:
            ddev, zdev, delay = f.read().split()
        with open(os.path.join(raw, "stages-trace.txt")) as f:
            text = f.read().splitlines()
    except (OSError, ValueError):
        return None
    delay, ios, cur, skipped = delay_us(delay), [], None, 0
    # The worker's alarm; without one (a worker that sleeps to its deadline), the timer of a sleep.
    timer = "7kthread5Waker" if any("7kthread5Waker" in l for l in text) else "function=hrtimer_wakeup"
    want = {k: (ev, re.compile(p)) for k, ev, p in (  # each stage's event and a pattern in its text
        ("H", "hrtimer_expire_entry", re.escape(timer)), ("W", "sched_wakeup", "comm=kdelayd-rs"),
        ("R", "sched_switch", "next_comm=kdelayd-rs"), ("S", "block_bio_queue", "^" + re.escape(zdev + " ")),
        ("E", "sched_wakeup", "comm=fio"), ("F", "sched_switch", "next_comm=fio"))}
    for m in filter(None, map(EV.match, text)):
        cpu, t, ev, rest = m.group(3), float(m.group(4)) * 1e6, m.group(5), m.group(6)
        if ev == "block_bio_queue" and rest.startswith(ddev + " "):
            if cur and all(k in cur for k in "AHWRSEF"):
                cur["A2"] = t
                ios.append(cur)
            elif cur:
                skipped += 1
            cur = {"A": t, "cpuA": cpu}
            continue
        # The stages come in order: only the first one not yet seen can be next.
        k = cur and next((k for k in "HWRSEF" if k not in cur), None)
        if k and ev == want[k][0] and want[k][1].search(rest):
            cur[k], cur["cpu" + k] = t, cpu
    if not ios:
        return ["No complete I/O in the trace."]
    out = [f"{len(ios)} I/Os traced ({skipped} incomplete), delay {delay} µs; µs per stage", "",
           "| stage | p10 | p50 | p90 |", "|---|---:|---:|---:|"]
    for a, b, name in STAGES:
        v = sorted(io[b] - io[a] - (delay if a == "A" else 0) for io in ios)
        out.append("| %s | %s |" % (name, " | ".join("%.0f" % v[min(len(v) - 1, int(f * len(v)))]
                                                     for f in (0.1, 0.5, 0.9))))
    return out + [""] + [f"{what} on another CPU than the one fio queued the bio on for "
                         f"{sum(io['cpu' + k] != io['cpuA'] for io in ios)} of {len(ios)} I/Os."
                         for k, what in (("H", "The timer fired"), ("R", "The worker ran"))]


def rds(raw):
    """The RDS summary of RAWDIR, or None without rds-raw.txt and rds-params.txt.
    Loops pair with the same loop of c's same round; tcp_floor's round r (run
    first) with c's round r. The figures have 6 significant digits."""
    def g6(x):
        return None if x is None else float("%.6g" % x)

    def pick(key, values):  # the best of a rate's or a time's values, else the median (the lower middle one)
        return None if not values else max(values) if key.endswith("_per_s") else min(values) if re.search(
            "(_us|_seconds)$", key) else sorted(values)[(len(values) - 1) // 2]
    rows, keys, inv, p = {}, [], {}, {k: int(v) for k, v in read_kv(raw, "rds-params.txt").items()}
    for w in lines(raw, "rds-raw.txt"):
        if len(w) == 4 and number(w[3]) is not None:
            rows.setdefault((w[1], w[2]), []).append(number(w[3]))
            keys += [] if w[2] in keys else [w[2]]
    if not rows or not p:
        return None
    if "burst_seconds" in keys:  # a burst's binds/s: 8 binds per rds-ping invocation
        keys.insert(keys.index("burst_seconds") + 1, "burst_binds_per_s")
    for case, k in [ck for ck in rows if ck[1] == "burst_seconds"]:
        rows[case, "burst_binds_per_s"] = [float("%.1f" % (p["invocations"] * 8 / s)) for s in rows[case, k] if s > 0]
    for w in (w for w in lines(raw, "rds-invocations.txt") if len(w) == 5):
        inv.setdefault(w[1], []).append((int(w[3]), int(w[4])))
    out = dict({k: p.get(k) for k in ("invocations", "loop_binds", "rounds", "loop_reps", "count_rounds", "cpu")},
               cases={})
    for case in ("c", "ours_fast0", "ours_fast1", "tcp_floor"):
        v = out["cases"][case] = {k: pick(k, rows.get((case, k), [])) for k in keys}
        v["burst_invocation_p50_ms"] = g6(median([us / 1000 for us, _ in inv.get(case, [])]))
        v["burst_rtt_p50_us"] = g6(median([rtt for _, rtt in inv.get(case, []) if rtt >= 0]))
        pairs = {k: paired(zip(rows[case, k], rows.get(("c", k), []))) for k in keys
                 if re.search("(_per_s|_us|_seconds)$", k) and (case, k) in rows}
        v["ratio"] = {k: g6(r[0]) for k, r in pairs.items()}
        v["ratio_range"] = {k: r[1] and [g6(x) for x in r[1]] for k, r in pairs.items()}
    return out


# The report.

f0, f1, f2 = [lambda v, spec=spec: "-" if v is None else spec.format(v) for spec in ("{:,.0f}", "{:.1f}", "{:.2f}")]


def ratio_text(v, rng):
    """A ratio ours / C and, in brackets, its min-max over the rounds."""
    return f2(v) + (" (%.2f–%.2f)" % tuple(rng) if rng else "")


def delay_text(us):
    return "%g ms" % (us / 1000) if us >= 1000 else "%d µs" % us


def workload(j):
    par = "QD1" if j["numjobs"] == 1 and j["iodepth"] == 1 else "%d jobs × QD%d" % (j["numjobs"], j["iodepth"])
    return "%s, %s, %s, %s, %s" % ({"randread": "random read", "randwrite": "random write"}[j["rw"]],
                                   "O_DIRECT" if j["direct"] else "buffered", j["bs"], par, j["ioengine"])


def get(v, *path):
    for p in path:
        v = v.get(p) if isinstance(v, dict) else None
    return v


def job_table(j):
    """A job's table: a row per figure, a column per implementation, ours / C."""
    res = {k: j["results"][k] for k in ("rust", "c") if k in j["results"]}
    both, tf = len(res) == 2, j.get("timer_floor_us")

    def row(label, value, fmt=f0, key=None):  # value: a path in a result ("clat_us.p50") or a function of it
        cells = [fmt(value(r) if callable(value) else get(r, *value.split("."))) if "iops" in r else "failed"
                 for r in res.values()]
        cells += [ratio_text(get(j, "ratio", key), get(j, "ratio_range", key)) if key else ""] * both
        return "| %s | %s |" % (label, " | ".join(cells))
    out = ["### %s: %s, delay %s" % (j["name"], workload(j), delay_text(j["delay_us"])), ""]
    out += [] if both else ["Ours only: the C target takes whole milliseconds.", ""]
    out += ["| | " + " | ".join(IMPL_NAME[k] for k in res)
            + (" | ours / C (median of the rounds' ratios, min–max) |" if both else " |"),
            "|---" + "|---:" * (len(res) + both) + "|", row("IOPS (best round)", "iops", key="iops"),
            row("IOPS of each round", lambda r: ", ".join(f0(x["iops"]) for x in r.get("rounds", [])),
                lambda v: v or "-")]
    out += ["| ours / C of IOPS in each round |  |  | %s |" % ", ".join(map(f2, j["ratio_rounds"]))] if both else []
    out += [row("theoretical maximum IOPS", lambda r: j["theoretical_iops"]),
            row("% of theoretical maximum", "pct_of_max", f1, "pct_of_max")]
    if any("achievable_iops" in r for r in res.values()):
        out += [row("achievable IOPS: 1 / (delays per I/O × delay + I/O path latency at delay 0)", "achievable_iops"),
                row("% of achievable", "pct_of_achievable", f1)]
    out += [row("%s completion latency (µs)" % k.replace("_", "."), "clat_us." + k, key=k)
            for k in ["mean"] + list(PCTS)]
    out += [row("mean latency − requested delay", lambda r: r, lambda r: "%+.0f µs" % r["error_us"] + (
                "" if r["error_pct"] is None else " (%+.1f%%)" % r["error_pct"])),
            row("p50 latency − requested delay (µs)", "p50_error_us"),
            row("minimum completion latency (µs; synchronous jobs)", "clat_us.min")]
    if j["delay_us"]:
        out.append(row("I/Os that completed before the requested delay (%)",
                       lambda r: None if r.get("below_delay") is None else 100 * r["below_delay"], f2))
    if tf:
        out.append("| this VM's timer floor: a plain sleep to a deadline %s ahead wakes up late by (µs) | %s |" % (
            delay_text(j["delay_us"]),
            "min %(min).0f, p50 %(p50).0f, p99 %(p99).0f" % tf + " | " * (len(res) - 1 + both)))
    out += [row("worker CPU, ms per s of I/O (/proc/pid/%s)" % src, "worker." + k, fmt, k) for k, fmt, src in (
        ("cpu_ms_per_s", f1, "stat utime+stime"), ("cpu_ms_per_s_schedstat", f2, "schedstat"))]
    out.append(row("worker CPU, µs per I/O (/proc/pid/schedstat)", "worker.cpu_us_per_io", f1, "cpu_us_per_io"))
    out += [row("worker wake-ups per I/O (/proc/pid/schedstat)", "worker.wakeups_per_io", f2, "wakeups_per_io"),
            row("device I/Os per fio I/O", "device_per_fio_io", f2)]
    return out + [x for k, r in res.items() if "iops" not in r
                  for x in ("", "%s: %s" % (IMPL_NAME[k], r.get("error", "failed")))]


def summary_table(jobs):
    """A row per job: its rounds, the CPU fio and the worker were pinned to, ours and C side by side."""
    out = ["| job | workload | delay | rounds | CPU | max IOPS | achievable IOPS | IOPS ours | IOPS C "
           "| ours / C (median of rounds, min–max) | mean µs ours | mean µs C | p50 − delay µs ours "
           "| p50 − delay µs C | VM timer floor p50 µs | p99 µs ours | p99 µs C "
           "| worker CPU ms/s ours | C | wake-ups per I/O ours | C |", "|---|---|---:" + "|---:" * 18 + "|"]
    for j in jobs:
        r, c = j["results"].get("rust") or {}, j["results"].get("c") or {}
        n = max([len(x.get("rounds", [])) + x.get("rounds_failed", 0) for x in j["results"].values()] + [0])

        def both(fmt, *path):
            return [fmt(get(r, *path)), fmt(get(c, *path)) if c else "n/a"]
        cells = [j["name"], workload(j), delay_text(j["delay_us"]), str(n), "any" if j["cpu"] is None else str(
            j["cpu"]), f0(j["theoretical_iops"]), f0(get(r, "achievable_iops"))] + both(f0, "iops")
        cells += [ratio_text(get(j, "ratio", "iops"), get(j, "ratio_range", "iops")) if c else ""]
        cells += both(f0, "clat_us", "mean") + both(f0, "p50_error_us") + [f0(get(j, "timer_floor_us", "p50"))]
        cells += both(f0, "clat_us", "p99") + both(f2, "worker", "cpu_ms_per_s_schedstat")
        out.append("| " + " | ".join(cells + both(f2, "worker", "wakeups_per_io")) + " |")
    return out


def rds_tables(rds):
    """The RDS section: a table over IPv4 (loop, with the burst), one over IPv6 (loop6)."""
    def cell(v, k, spec):  # spec: a format, "vs" (the ratio to c), "per bind" or "+loop" (a count, - if not taken)
        x = v.get(k)
        if spec == "vs":
            return ratio_text(v["ratio"].get(k), v["ratio_range"].get(k))
        if spec in ("per bind", "+loop"):
            return "-" if x is None or x < 0 else "%.1f" % (x / rds["loop_binds"]) if spec == "per bind" else str(
                x + v["loop_order3_allocs"])
        return "-" if x is None else spec.format(x)

    def table(l):
        b = l == "loop"  # with the burst's columns
        cols = [("burst s", "burst_seconds", "{:.3f}"), ("burst binds/s", "burst_binds_per_s", "{:.1f}"),
                ("ms per invocation (p50)", "burst_invocation_p50_ms", "{:.1f}"),
                ("ping RTT us (p50)", "burst_rtt_p50_us", "{:.0f}")] * b
        cols += [(l + " binds/s", l + "_binds_per_s", "{}"), (l + " p50 us", l + "_p50_us", "{:.2f}"),
                 (l + " p99 us", l + "_p99_us", "{:.2f}")] + [("CM IDs (burst)", "cm_ids", "{}")] * b
        cols += [("CM IDs (%s)" % l, l + "_cm_ids", "{}"),
                 ("slab allocs per bind (%s)" % l, l + "_slab_allocs", "per bind")]
        cols += [("order-3 allocs (burst+loop)", "burst_order3_allocs", "+loop"),
                 ("burst binds/s vs C", "burst_binds_per_s", "vs")] * b
        cols += [(l + " binds/s vs C", l + "_binds_per_s", "vs"), (l + " p50 vs C", l + "_p50_us", "vs")]
        return ["| case | %s |" % " | ".join(h for h, _, _ in cols), "|---" * (len(cols) + 1) + "|"] + [
            "| %s | %s |" % (c, " | ".join(cell(v, k, spec) for _, k, spec in cols)) for c, v in rds["cases"].items()]
    return ["RDS bind benchmark, %s rounds on CPU %s: bursts of %s rds-ping invocations (8 binds each), tight "
            "loops of %s binds (%s timed per case and round, one more counted in the first %s rounds). Rates, "
            "times: the best round or loop; counts: the median round; vs C: the median over the rounds of case / c "
            "within a round (min–max). Method: tests/bench/README.md." % tuple(rds[k] for k in (
                "rounds", "cpu", "invocations", "loop_binds", "loop_reps", "count_rounds")), ""] + table("loop") + [
        "", "IPv6 (fd00::1 on rxe0; fd01::1 for tcp_floor), tight loop of %s binds. Upstream C caches IPv4 "
        "addresses only." % rds["loop_binds"], ""] + table("loop6") + [
        "", "A burst is mostly process start-up and ping round trips; the loop times bind() alone (p50/p99) "
        "and socket+bind+close (binds/s)."]


def report(raw, outdir):
    meta, host = read_kv(raw, "meta.txt"), read_kv(raw, "host.txt")
    status = {k: v.strip() for k, v in read_kv(raw, "status.txt", " ").items()}
    dm, rd, st_table = dm_delay(raw), rds(raw), stages(raw)
    jobs, st = (dm or {}).get("jobs", []), status.get("rds", "not run")
    md = ["# rust-dm-rds benchmarks", "",
          "- kernel: `%s` (%s test kernel, %s)" % (meta.get("uname", "unknown: the guest did not start"),
                                                  host.get("flavor", "?"), host.get("hz", "HZ unknown")),
          "- date: %s" % meta.get("date", host.get("date", "?")),
          "- machine: QEMU TCG guest, %s vCPUs, %s MiB (%s)" % (
              meta.get("cpus", "?"), int(meta.get("mem_kib", 0)) // 1024, host.get("host", "")),
          "- fio: %s s per run; each job's rounds and pinned CPU (any: unpinned) in the summary"
          % meta.get("seconds", "?"),
          "- kernel command line: %s" % ("`%s` added (a fixed address layout)" % meta["cmdline"]
                                         if meta.get("cmdline") else "nothing added (KASLR on)"),
          "- run time: %s" % host.get("elapsed", "?"), "", "## dm-delay: rust_dm_delay against C dm_delay", ""]
    if not jobs:
        md += ["**No dm-delay results** (status: %s). See the VM log." % status.get("dm_delay", "not run"), ""]
    else:
        if status.get("dm_delay") != "ok":
            md += ["**Incomplete** (status: %s)." % status.get("dm_delay", "unknown"), ""]
        md += ["fio over a `delay` target on a 1 TiB `dm-zero` device, C `dm_delay` then `rust_dm_delay` in each "
               "round. Ours / C: the median over the rounds of the ratio within a round (min–max); other columns: "
               "each implementation's best round. Method and columns: tests/bench/README.md.", ""]
        md += summary_table(jobs) + [""]
        for j in jobs:
            md += job_table(j) + [""]
    if st_table:
        md += ["## dm-delay: where a delayed I/O's time goes", "",
               "One more run of ours, 1 ms O_DIRECT writes at QD1 with fio and the worker pinned, traced with "
               "the kernel's block, timer and sched events (dm_delay_bench.sh stages).", ""] + st_table + [""]
    md += ["## RDS: rust_rds_ib_addr", ""]
    if st != "ok":
        md += ["**The RDS benchmark failed** (status: %s); see raw/rds.log." % st, ""]
    if rd:
        md += rds_tables(rd) + [""]
    elif st == "ok":
        md += ["The RDS benchmark wrote no rds-raw.txt or rds-params.txt.", ""]
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "report.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(outdir, "report.json"), "w") as f:
        json.dump({"meta": dict(meta, **{"host_" + k: v for k, v in host.items()}), "status": status,
                   "dm_delay": dm, "rds": rd if rd is not None else {"status": st}}, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) == 2:
        print("\n".join(summary_table((dm_delay(sys.argv[1]) or {}).get("jobs", []))))
    else:
        report(sys.argv[1], sys.argv[2])
