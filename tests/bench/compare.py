#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Compares the ours/C ratios of two benchmark runs.

    compare.py A/report.json B/report.json [TOLERANCE_PCT]

Prints, per job (dm-delay) or case (RDS) and metric, both runs' ratios of
ours against C (the reports' medians over the rounds) and how far apart
they are, relative to the smaller one; exits 1 when a headline ratio
differs by more than TOLERANCE_PCT (default 10). The headline metrics are
IOPS, mean and p50 latency (dm-delay), binds/s and p50 bind latency (RDS);
tail latencies, CPU time and wake-ups, which vary more under TCG, are
printed as "info" only. run.sh keeps each run's reports in
bench/output/runs/<date>/.
"""

import json
import sys

DM_METRICS = ["iops", "mean", "p50"]
DM_INFO = ["p99", "p99_9", "cpu_ms_per_s_schedstat", "wakeups_per_io"]
RDS_METRICS = ["burst_binds_per_s", "loop_binds_per_s", "loop_p50_us", "loop6_binds_per_s", "loop6_p50_us"]


def ratios(path):
    """{(benchmark item, metric): ours / C} of one report."""
    with open(path) as f:
        rep = json.load(f)
    out = {("dm-delay " + j["name"], m): (j.get("ratio") or {}).get(m)
           for j in (rep.get("dm_delay") or {}).get("jobs", []) for m in DM_METRICS + DM_INFO}
    for case in ("ours_fast0", "ours_fast1"):
        got = ((rep.get("rds") or {}).get("cases") or {}).get(case) or {}
        out.update((("rds " + case, m), got.get("ratio", {}).get(m)) for m in RDS_METRICS)
    return out


def main():
    a, b = ratios(sys.argv[1]), ratios(sys.argv[2])
    tol = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
    worst, bad = 0.0, 0
    print("%-26s %-24s %8s %8s %7s" % ("item", "ours/C ratio of", "run A", "run B", "diff"))
    for key, ra in a.items():
        rb = b.get(key)
        if ra is None or rb is None:
            continue
        diff, flag = 100 * abs(rb - ra) / min(ra, rb), "  (info)"
        if key[1] not in DM_INFO:
            worst, flag = max(worst, diff), "  > %g%%" % tol if diff > tol else ""
            bad += diff > tol
        print("%-26s %-24s %8.3f %8.3f %6.1f%%%s" % (key[0], key[1], ra, rb, diff, flag))
    print("largest difference of a headline ratio %.1f%%; %d differ by more than %g%%" % (worst, bad, tol))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
