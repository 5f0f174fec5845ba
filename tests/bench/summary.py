#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The statistics of a benchmark run, from the raw rows the guest wrote.

    summary.py RAWDIR

prints the dm-delay table (dm_delay_bench.sh ends with it); report.py
writes the report from dm_delay(RAWDIR) and rds(RAWDIR). Every job or case
runs in rounds, C and ours back to back in each. A rate or a time is the
best round's (interference from the shared host only slows a round down),
a count the median round's. A ratio ours / C is the median over the rounds
of the ratio within a round; "ratio_range" is the [min, max] of those.
tests/bench/README.md describes every field.
"""

import json
import os
import re
import sys

PCTS = {"p50": "50.000000", "p99": "99.000000", "p99_9": "99.900000"}
RATIO_KEYS = ["iops", "pct_of_max", "mean", "p50", "p99", "p99_9",
              "cpu_ms_per_s", "cpu_ms_per_s_schedstat", "wakeups_per_io"]
WORKER_KEYS = ["cpu_ms_per_s", "cpu_ms_per_s_schedstat", "wakeups_per_io"]
RDS_CASES = ["c", "ours_fast0", "ours_fast1", "tcp_floor"]


def median(values):
    v = sorted(values)
    mid = len(v) // 2
    return None if not v else v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def paired(pairs):
    """The ratios a / b of (a, b) pairs where a is known and b is not 0:
    (their median, [min, max], the ratios)."""
    r = [a / b for a, b in pairs if a is not None and b]
    return median(r), [min(r), max(r)] if r else None, r


def read_kv(path, sep="="):
    """{key: value} of the "key=value" lines of a file ({} if missing)."""
    try:
        with open(path) as f:
            return dict(l.rstrip("\n").split(sep, 1) for l in f if sep in l)
    except OSError:
        return {}


def split_lines(raw, name, sep=None):
    """The lines of file RAWDIR/name, split into fields ([] if missing)."""
    try:
        with open(os.path.join(raw, name)) as f:
            return [l.rstrip("\n").split(sep) for l in f if l.strip()]
    except OSError:
        return []


def delay_us(arg):
    """A delay argument ("10", "3ms", "250us") in microseconds."""
    if arg.endswith("us"):
        return int(arg[:-2])
    return int(arg[:-2] if arg.endswith("ms") else arg) * 1000


def theoretical(numjobs, iodepth, d_us):
    """jobs x depth / delay: the IOPS a perfect delay allows (None at 0)."""
    return numjobs * iodepth * 1e6 / d_us if d_us else None


def num(v):
    return None if v in ("-", "") else int(v)


def per_s(delta, runtime_s):
    return None if delta is None or not runtime_s else delta / runtime_s


def cdf(bins):
    points, out, acc = sorted((int(k), v) for k, v in bins.items() if v), [], 0
    total = sum(v for _, v in points)
    for ns, count in points:
        acc += count
        out.append([round(ns / 1000, 3), round(acc / total, 6)])
    return out


def result(run, raw):
    """One fio run: its row of dm_delay_runs.tsv and its fio json+."""
    res = {"fio_rc": int(run["fio_rc"])}
    try:
        with open(os.path.join(raw, "fio", "%s-%s-%s.json" % (run["impl"], run["job"], run["round"]))) as f:
            text = f.read()
        job = json.loads(text[text.index("{"):])["jobs"][0]  # fio may print notes first
    except (OSError, ValueError, KeyError, IndexError) as e:
        res["error"] = "no fio result: %s" % e
        return res
    side = job["write"] if "write" in run["rw"] else job["read"]
    clat, ios, runtime_s = side["clat_ns"], side["total_ios"], side["runtime"] / 1000
    d_us, mean_us = delay_us(run["delay"]), clat["mean"] / 1000
    theo = theoretical(int(run["numjobs"]), int(run["iodepth"]), d_us)
    res.update({"iops": side["iops"], "pct_of_max": 100 * side["iops"] / theo if theo else None,
                "fio_ios": ios, "runtime_s": runtime_s, "clat_us": {"mean": mean_us},
                "error_us": mean_us - d_us, "error_pct": 100 * (mean_us - d_us) / d_us if d_us else None,
                "below_delay": None})
    for key, pct in PCTS.items():
        v = clat.get("percentile", {}).get(pct)
        res["clat_us"][key] = None if v is None else v / 1000
    if res["clat_us"]["p50"] is not None:
        res["p50_error_us"] = res["clat_us"]["p50"] - d_us
    # The minimum and the early completions of synchronous jobs only: with
    # libaio, fio's latency starts when io_submit() returns.
    bins = clat.get("bins", {})
    total = sum(bins.values())
    if run["ioengine"] == "psync":
        res["clat_us"]["min"] = clat["min"] / 1000
        if total and d_us:
            res["below_delay"] = sum(v for k, v in bins.items() if int(k) < d_us * 1000) / total
    reads, writes = num(run["devr1"]) - num(run["devr0"]), num(run["devw1"]) - num(run["devw0"])
    res["device_ios"] = {"reads": reads, "writes": writes}
    res["device_per_fio_io"] = (reads + writes) / ios if ios else None
    t0, t1, n0, n1, w0, w1 = (num(run[k]) for k in ("ticks0", "ticks1", "ns0", "ns1", "runs0", "runs1"))
    res["worker"] = {
        "comm": run["comm"], "pid": num(run["pid"]), "threads": int(run["nworkers"]),
        "cpu_ms_per_s": per_s(None if t0 is None or t1 is None
                              else (t1 - t0) * 1000 / int(run["clk_tck"]), runtime_s),
        "cpu_ms_per_s_schedstat": per_s(None if n0 is None or n1 is None else (n1 - n0) / 1e6, runtime_s),
        "wakeups_per_io": None if w0 is None or w1 is None or not ios else (w1 - w0) / ios}
    res["cdf"] = cdf(bins)
    return res


def flat(res):
    """The metrics of one result that get a ratio."""
    if "iops" not in res:
        return {}
    return dict(res["clat_us"], iops=res["iops"], pct_of_max=res["pct_of_max"],
                **{k: res["worker"][k] for k in WORKER_KEYS})


def best_round(rounds):
    """The round with the highest IOPS, plus every round's IOPS and p50."""
    done = sorted((r for r in rounds if "iops" in r), key=lambda r: r["iops"])
    if not done:
        return rounds[0]
    return dict(done[-1], rounds=[{"iops": r["iops"], "p50_us": r["clat_us"]["p50"]} for r in rounds
                                  if "iops" in r], rounds_failed=len(rounds) - len(done))


def add_achievable(jobs):
    """Adds path_us (the mean latency at delay 0 of the same workload),
    delays_per_io, achievable_iops and pct_of_achievable to QD1 results."""
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


def timer_floors(raw):
    """{delay_us: {min, p50, p99, mean}} from timer_floor.txt."""
    floors = {}
    try:
        for w in split_lines(raw, "timer_floor.txt"):
            kv = dict(zip(w[::2], w[1::2]))
            floors[int(kv["delay_us"])] = {k[:-3]: float(v) for k, v in kv.items()
                                           if k.endswith("_us") and k != "delay_us"}
    except (ValueError, KeyError):
        pass
    return floors


def dm_delay(raw):
    """The dm-delay summary of RAWDIR, or None without dm_delay_runs.tsv."""
    lines = split_lines(raw, "dm_delay_runs.tsv", "\t")
    if not lines:
        return None
    jobs, floors = {}, timer_floors(raw)
    for run in (dict(zip(lines[0], l)) for l in lines[1:]):
        d_us, nj, qd = delay_us(run["delay"]), int(run["numjobs"]), int(run["iodepth"])
        j = jobs.setdefault(run["job"], {
            "name": run["job"], "delay": run["delay"], "delay_us": d_us, "rw": run["rw"],
            "direct": int(run["direct"]), "numjobs": nj, "iodepth": qd, "ioengine": run["ioengine"],
            "bs": "4k", "seconds": int(run["seconds"]),
            "cpu": None if run.get("cpu", "-") == "-" else int(run["cpu"]),
            "theoretical_iops": theoretical(nj, qd, d_us), "results": {}, "rounds": {}})
        j["rounds"].setdefault(run["impl"], []).append(result(run, raw))
    for j in jobs.values():
        rounds = j.pop("rounds")
        j["results"] = {impl: best_round(res) for impl, res in rounds.items()}
        if "c" in rounds and "rust" in rounds:
            flats = [(flat(r), flat(b)) for r, b in zip(rounds["rust"], rounds["c"])]
            pairs = {k: paired((r.get(k), b.get(k)) for r, b in flats) for k in RATIO_KEYS}
            j.update(ratio={k: p[0] for k, p in pairs.items()}, ratio_rounds=pairs["iops"][2],
                     ratio_range={k: p[1] for k, p in pairs.items()})
        j["timer_floor_us"] = floors.get(j["delay_us"])
    add_achievable(jobs.values())
    return {"benchmark": "dm-delay", "jobs": list(jobs.values())}


def number(s):
    for t in (int, float):
        try:
            return t(s)
        except ValueError:
            pass
    return None


def g6(x):
    """x to 6 significant digits, as the RDS figures have always been."""
    return None if x is None else float("%.6g" % x)


def pick(key, values):
    """The best of a rate's or a time's values, else the median (the lower
    middle one of an even number)."""
    if not values:
        return None
    if key.endswith("_per_s"):
        return max(values)
    return min(values) if re.search("(_us|_seconds)$", key) else sorted(values)[(len(values) - 1) // 2]


def rds(raw):
    """The RDS summary of RAWDIR, or None without rds-raw.txt. The rounds of
    tcp_floor ran first; its round r is paired with c's round r."""
    rows, keys, inv = {}, [], {}
    for w in split_lines(raw, "rds-raw.txt"):
        if len(w) == 4 and number(w[3]) is not None:
            rows.setdefault((w[1], w[2]), []).append(number(w[3]))
            keys += [] if w[2] in keys else [w[2]]
    for w in (w for w in split_lines(raw, "rds-invocations.txt") if len(w) == 5):
        inv.setdefault(w[1], []).append((int(w[3]), int(w[4])))
    if not rows:
        return None
    p = {k: int(v) for k, v in read_kv(os.path.join(raw, "rds-params.txt")).items()}
    if not p:  # runs from before rds-params.txt: what the rows show, the default loop
        n = len(rows.get(("c", "burst_seconds"), [])) or 1
        p = {"invocations": len(inv.get("c", [])) // n, "loop_binds": 20000, "rounds": n,
             "loop_reps": len(rows.get(("c", "loop_binds_per_s"), [])) // n,
             "count_rounds": len(rows.get(("c", "loop_cm_ids"), [])),
             "cpu": int(read_kv(os.path.join(raw, "meta.txt")).get("cpus", 0)) - 1}
    out = {k: p[k] for k in ("invocations", "loop_binds", "rounds", "loop_reps", "count_rounds", "cpu")}
    out["cases"] = {}
    for case in RDS_CASES:
        v = out["cases"][case] = {k: pick(k, rows.get((case, k), [])) for k in keys}
        v["burst_invocation_p50_ms"] = g6(median([us / 1000 for us, _ in inv.get(case, [])]))
        v["burst_rtt_p50_us"] = g6(median([rtt for _, rtt in inv.get(case, []) if rtt >= 0]))
        pairs = {k: paired(zip(rows[case, k], rows.get(("c", k), []))) for k in keys
                 if re.search("(_per_s|_us|_seconds)$", k) and (case, k) in rows}
        v["ratio"] = {k: g6(r[0]) for k, r in pairs.items()}
        v["ratio_range"] = {k: r[1] and [g6(x) for x in r[1]] for k, r in pairs.items()}
    return out


def fmt(v, spec="%.0f"):
    return "-" if v is None else spec % v


def main():
    print("%-15s %-5s %8s %8s %8s %6s %9s %9s %9s %9s %9s %8s" % (
        "job", "impl", "max IOPS", "achv", "IOPS", "%achv", "mean us", "p50 us", "p99 us", "p99.9 us",
        "error us", "CPU ms/s"))
    for j in (dm_delay(sys.argv[1]) or {}).get("jobs", []):
        for impl, res in ((k, j["results"][k]) for k in ("c", "rust") if k in j["results"]):
            if "iops" not in res:
                print("%-15s %-5s %s" % (j["name"], impl, res.get("error")))
                continue
            cl, w = res["clat_us"], res["worker"]
            cpu = w["cpu_ms_per_s"] if w["cpu_ms_per_s_schedstat"] is None else w["cpu_ms_per_s_schedstat"]
            print("%-15s %-5s %8s %8s %8.0f %6s %9.0f %9s %9s %9s %+9.0f %8s" % (
                j["name"], impl, fmt(j["theoretical_iops"]), fmt(res.get("achievable_iops")), res["iops"],
                fmt(res.get("pct_of_achievable"), "%.1f"), cl["mean"], fmt(cl["p50"]), fmt(cl["p99"]),
                fmt(cl["p99_9"]), res["error_us"], fmt(cpu, "%.2f")))


if __name__ == "__main__":
    main()
