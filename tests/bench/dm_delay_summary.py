#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarises a dm_delay_bench.sh run.

    dm_delay_summary.py OUTDIR

Reads OUTDIR/dm_delay_runs.tsv and the fio json+ output in OUTDIR/fio/,
writes OUTDIR/dm_delay.json and prints a table. Per job and implementation
("c", "rust"):

- iops, theoretical_iops (numjobs * iodepth / delay) and pct_of_max;
- for QD1 jobs, achievable_iops: 1 / (k * delay + path_us), where path_us
  is the mean latency of the job with the same workload and implementation
  at delay 0 (the floor jobs "0read", "0write": the I/O path of this VM,
  which no delay target can undercut) and k the device I/Os each fio I/O
  makes, one after the other (a buffered 4k read makes 2 here, both
  delayed), and pct_of_achievable;
- clat_us: mean, p50, p99, p99.9 completion latency in microseconds, and
  error_us / error_pct: the mean's distance from the requested delay;
- worker: the worker kthread's CPU time, in ms per second of I/O, from
  utime + stime of /proc/<pid>/stat (cpu_ms_per_s; tick-sampled, so coarse)
  and from /proc/<pid>/schedstat (cpu_ms_per_s_schedstat; exact), and
  its wake-ups per fio I/O (wakeups_per_io: how often it was scheduled in,
  from schedstat): about 1 for a worker that sleeps until each bio is due,
  more for one that polls;
- device_ios / fio_ios: I/Os the delay device completed against I/Os fio
  completed; about 1.0 means the page cache served none of them;
- cdf: the completion latency distribution, [[us, fraction], ...], from
  fio's latency histogram.

Each job with a delay also gets "timer_floor_us" from OUTDIR/timer_floor.txt:
how late a plain userspace sleep to a deadline one delay ahead wakes up in
the same VM (min, p50, p99, mean). No delay target can be more precise than
that; the completion latency adds the I/O path and a wake-up on top.

"cpu" is the CPU fio and the worker kthread were pinned to, or None when
the scheduler placed them (jobs with more than one fio job, BENCH_PIN=0).

Each job runs in several rounds (see dm_delay_bench.sh); per
implementation, the round with the highest IOPS is reported, and "rounds"
lists every round's IOPS and p50. The best round, not the median: on this
shared 2-core host interference only ever slows a round down (a QD1 round
at 1 ms moved by up to 12% between runs, the median with it), so the best
round is the closest to what the implementation itself costs, for C as
for ours.

Each job also gets "ratio": ours / C, for the metrics both have, as the
median over the rounds of ours' result divided by C's in the same round.
C and ours run back to back in each round, so a change in the host's load
between rounds moves both sides of a round's ratio alike and drops out of
it. "ratio_rounds" lists each round's ratio of IOPS.
"""

import json
import os
import sys

PCTS = {"p50": "50.000000", "p99": "99.000000", "p99_9": "99.900000"}
RATIO_KEYS = ["iops", "pct_of_max", "mean", "p50", "p99", "p99_9",
              "cpu_ms_per_s", "cpu_ms_per_s_schedstat", "wakeups_per_io"]


def theoretical(numjobs, iodepth, d_us):
    """jobs x depth / delay: the IOPS a perfect delay allows (None at 0)."""
    return numjobs * iodepth * 1e6 / d_us if d_us else None


def delay_us(arg):
    if arg.endswith("us"):
        return int(arg[:-2])
    if arg.endswith("ms"):
        return int(arg[:-2]) * 1000
    return int(arg) * 1000


def load_fio(path):
    with open(path) as f:
        text = f.read()
    # fio may print notes before the JSON document.
    return json.loads(text[text.index("{"):])


def num(v):
    return None if v in ("-", "") else int(v)


def per_s(delta, runtime_s):
    if delta is None or not runtime_s:
        return None
    return delta / runtime_s


def cdf(bins):
    points = sorted((int(k), v) for k, v in bins.items() if v)
    total = sum(v for _, v in points)
    out, acc = [], 0
    for ns, count in points:
        acc += count
        out.append([round(ns / 1000, 3), round(acc / total, 6)])
    return out


def result(run, outdir):
    path = os.path.join(outdir, "fio", "%s-%s-%s.json" % (run["impl"], run["job"], run["round"]))
    res = {"fio_rc": int(run["fio_rc"])}
    try:
        job = load_fio(path)["jobs"][0]
    except (OSError, ValueError, KeyError, IndexError) as e:
        res["error"] = "no fio result: %s" % e
        return res
    side = job["write"] if "write" in run["rw"] else job["read"]
    clat = side["clat_ns"]
    runtime_s = side["runtime"] / 1000
    d_us = delay_us(run["delay"])
    theo = theoretical(int(run["numjobs"]), int(run["iodepth"]), d_us)
    mean_us = clat["mean"] / 1000
    res.update({
        "iops": side["iops"],
        "pct_of_max": 100 * side["iops"] / theo if theo else None,
        "fio_ios": side["total_ios"],
        "runtime_s": runtime_s,
        "clat_us": {"mean": mean_us},
        "error_us": mean_us - d_us,
        "error_pct": 100 * (mean_us - d_us) / d_us if d_us else None,
        "below_delay": None,
    })
    for key, pct in PCTS.items():
        v = clat.get("percentile", {}).get(pct)
        res["clat_us"][key] = None if v is None else v / 1000
    if res["clat_us"]["p50"] is not None:
        res["p50_error_us"] = res["clat_us"]["p50"] - d_us
    # The minimum, and the share of I/Os that completed before the requested
    # delay (a delay target should have none), for the synchronous jobs
    # only: with libaio, fio's completion latency starts when io_submit()
    # returns, which under load can be well after the target queued the bio.
    bins = clat.get("bins", {})
    total = sum(bins.values())
    if run["ioengine"] == "psync":
        res["clat_us"]["min"] = clat["min"] / 1000
        if total and d_us:
            res["below_delay"] = sum(v for k, v in bins.items() if int(k) < d_us * 1000) / total
    reads = num(run["devr1"]) - num(run["devr0"])
    writes = num(run["devw1"]) - num(run["devw0"])
    res["device_ios"] = {"reads": reads, "writes": writes}
    res["device_per_fio_io"] = ((reads + writes) / side["total_ios"]
                                if side["total_ios"] else None)
    t0, t1, n0, n1, w0, w1 = (num(run[k]) for k in
                              ("ticks0", "ticks1", "ns0", "ns1", "runs0", "runs1"))
    tck = int(run["clk_tck"])
    res["worker"] = {
        "comm": run["comm"],
        "pid": num(run["pid"]),
        "threads": int(run["nworkers"]),
        "cpu_ms_per_s": per_s(None if t0 is None or t1 is None
                              else (t1 - t0) * 1000 / tck, runtime_s),
        "cpu_ms_per_s_schedstat": per_s(None if n0 is None or n1 is None
                                        else (n1 - n0) / 1e6, runtime_s),
        "wakeups_per_io": (None if w0 is None or w1 is None or not side["total_ios"]
                           else (w1 - w0) / side["total_ios"]),
    }
    res["cdf"] = cdf(clat.get("bins", {}))
    return res


def flat(res):
    """The metrics of one result that get a ratio."""
    if "iops" not in res:
        return {}
    d = {"iops": res["iops"], "pct_of_max": res["pct_of_max"]}
    d.update(res["clat_us"])
    d["cpu_ms_per_s"] = res["worker"]["cpu_ms_per_s"]
    d["cpu_ms_per_s_schedstat"] = res["worker"]["cpu_ms_per_s_schedstat"]
    d["wakeups_per_io"] = res["worker"]["wakeups_per_io"]
    return d


def add_achievable(jobs):
    """Adds path_us, achievable_iops and pct_of_achievable to the results of
    QD1 jobs, from the floor job of the same workload and implementation."""
    qd1 = [j for j in jobs if j["numjobs"] * j["iodepth"] == 1]
    floors = {}
    for j in qd1:
        if j["delay_us"] == 0:
            for impl, res in j["results"].items():
                if "clat_us" in res:
                    floors[(j["rw"], j["direct"], impl)] = res["clat_us"]["mean"]
    for j in qd1:
        if j["delay_us"] == 0:
            continue
        for impl, res in j["results"].items():
            path = floors.get((j["rw"], j["direct"], impl))
            if path is None or "iops" not in res:
                continue
            k = max(1, round(res.get("device_per_fio_io") or 1))
            res["path_us"] = path
            res["delays_per_io"] = k
            res["achievable_iops"] = 1e6 / (k * j["delay_us"] + path)
            res["pct_of_achievable"] = 100 * res["iops"] / res["achievable_iops"]


def timer_floors(outdir):
    """{delay_us: {min, p50, p99, mean}} from timer_floor.txt."""
    floors = {}
    try:
        with open(os.path.join(outdir, "timer_floor.txt")) as f:
            for line in f:
                w = line.split()
                kv = dict(zip(w[::2], w[1::2]))
                floors[int(kv["delay_us"])] = {
                    k[:-3]: float(v) for k, v in kv.items() if k.endswith("_us") and k != "delay_us"}
    except (OSError, ValueError, KeyError):
        pass
    return floors


def median(values):
    v = sorted(values)
    if not v:
        return None
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def paired_ratios(rounds, key):
    """Ours / C of metric key in each round where both have it; rounds
    holds (ours, C) pairs of flat() results."""
    return [r[key] / b[key] for r, b in rounds if r.get(key) is not None and b.get(key)]


def best_round(rounds):
    """The round with the highest IOPS, plus every round's IOPS and p50."""
    done = sorted((r for r in rounds if "iops" in r), key=lambda r: r["iops"])
    if not done:
        return rounds[0]
    res = dict(done[-1])
    res["rounds"] = [{"iops": r["iops"], "p50_us": r["clat_us"]["p50"]} for r in rounds
                     if "iops" in r]
    res["rounds_failed"] = len(rounds) - len(done)
    return res


def summarise(outdir):
    with open(os.path.join(outdir, "dm_delay_runs.tsv")) as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    head, rows = lines[0], [dict(zip(lines[0], l)) for l in lines[1:]]
    jobs = {}
    for run in rows:
        j = jobs.setdefault(run["job"], {
            "name": run["job"],
            "delay": run["delay"],
            "delay_us": delay_us(run["delay"]),
            "rw": run["rw"],
            "direct": int(run["direct"]),
            "numjobs": int(run["numjobs"]),
            "iodepth": int(run["iodepth"]),
            "ioengine": run["ioengine"],
            "bs": "4k",
            "seconds": int(run["seconds"]),
            "cpu": None if run.get("cpu", "-") == "-" else int(run["cpu"]),
            "theoretical_iops": theoretical(int(run["numjobs"]), int(run["iodepth"]),
                                            delay_us(run["delay"])),
            "results": {},
        })
        j.setdefault("rounds", {}).setdefault(run["impl"], []).append(result(run, outdir))
    for j in jobs.values():
        rounds = j.pop("rounds")
        for impl, res in rounds.items():
            j["results"][impl] = best_round(res)
        if "c" in rounds and "rust" in rounds:
            flats = [(flat(r), flat(b)) for r, b in zip(rounds["rust"], rounds["c"])]
            pairs = {k: paired_ratios(flats, k) for k in RATIO_KEYS}
            j["ratio"] = {k: median(v) for k, v in pairs.items()}
            j["ratio_rounds"] = pairs["iops"]
    add_achievable(jobs.values())
    floors = timer_floors(outdir)
    for j in jobs.values():
        j["timer_floor_us"] = floors.get(j["delay_us"])
    return {"benchmark": "dm-delay", "jobs": list(jobs.values())}


def fmt(v, spec="%.0f"):
    return "-" if v is None else spec % v


def main():
    outdir = sys.argv[1]
    data = summarise(outdir)
    with open(os.path.join(outdir, "dm_delay.json"), "w") as f:
        json.dump(data, f, indent=1)
    print("%-15s %-5s %8s %8s %8s %6s %9s %9s %9s %9s %9s %8s" % (
        "job", "impl", "max IOPS", "achv", "IOPS", "%achv", "mean us", "p50 us",
        "p99 us", "p99.9 us", "error us", "CPU ms/s"))
    for j in data["jobs"]:
        for impl in ("c", "rust"):
            res = j["results"].get(impl)
            if res is None:
                continue
            if "iops" not in res:
                print("%-15s %-5s %s" % (j["name"], impl, res.get("error")))
                continue
            cl = res["clat_us"]
            cpu = res["worker"]["cpu_ms_per_s_schedstat"]
            if cpu is None:
                cpu = res["worker"]["cpu_ms_per_s"]
            print("%-15s %-5s %8s %8s %8.0f %6s %9.0f %9s %9s %9s %+9.0f %8s" % (
                j["name"], impl, fmt(j["theoretical_iops"]), fmt(res.get("achievable_iops")),
                res["iops"], fmt(res.get("pct_of_achievable"), "%.1f"), cl["mean"],
                fmt(cl["p50"]), fmt(cl["p99"]), fmt(cl["p99_9"]), res["error_us"],
                fmt(cpu, "%.2f")))
    print("wrote %s" % os.path.join(outdir, "dm_delay.json"))


if __name__ == "__main__":
    main()
