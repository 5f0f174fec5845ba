#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Builds the benchmark report from a run's raw results.

    report.py RAWDIR OUTDIR

RAWDIR holds what the guest wrote (meta.txt, status.txt and the raw rows of
both benchmarks, see summary.py) and what run.sh added (host.txt). Writes
OUTDIR/report.md, OUTDIR/report.json and, with gnuplot, the latency plot
OUTDIR/dm_delay_latency.png (data and script in OUTDIR/plot/).
"""

import json
import os
import subprocess
import sys

import summary

IMPL_NAME = {"rust": "ours (rust_dm_delay)", "c": "C (dm_delay)"}


def f0(v):
    return "-" if v is None else "{:,.0f}".format(v)


def f1(v):
    return "-" if v is None else "%.1f" % v


def f2(v):
    return "-" if v is None else "%.2f" % v


def ratio_text(v, rng):
    """A ratio ours / C and, in brackets, its min-max over the rounds."""
    return f2(v) + (" (%.2f–%.2f)" % tuple(rng) if rng else "")


def delay_text(us):
    return "%g ms" % (us / 1000) if us >= 1000 else "%d µs" % us


def workload(j):
    par = ("QD1" if j["numjobs"] == 1 and j["iodepth"] == 1
           else "%d jobs × QD%d" % (j["numjobs"], j["iodepth"]))
    return "%s, %s, %s, %s, %s" % ({"randread": "random read", "randwrite": "random write"}[j["rw"]],
                                   "O_DIRECT" if j["direct"] else "buffered", j["bs"], par, j["ioengine"])


def error_text(res):
    if res["error_pct"] is None:
        return "%+.0f µs" % res["error_us"]
    return "%+.0f µs (%+.1f%%)" % (res["error_us"], res["error_pct"])


def get(v, *path):
    for p in path:
        if not isinstance(v, dict) or p not in v:
            return None
        v = v[p]
    return v


def job_table(j):
    res = {k: j["results"][k] for k in ("rust", "c") if k in j["results"]}
    ok = {k: (v if "iops" in v else None) for k, v in res.items()}
    both = len(res) == 2
    out = ["### %s: %s, delay %s" % (j["name"], workload(j), delay_text(j["delay_us"])), ""]
    if not both:
        out += ["Ours only: the C target takes whole milliseconds.", ""]
    out += ["| | " + " | ".join(IMPL_NAME[k] for k in res)
            + (" | ours / C (median of the rounds' ratios, min–max) |" if both else " |"),
            "|---" + "|---:" * (len(res) + both) + "|"]

    def row(label, value, fmt, key=None):
        cells = [fmt(value(r)) if r else "failed" for r in ok.values()]
        if both:
            cells.append(ratio_text(get(j, "ratio", key), get(j, "ratio_range", key)) if key else "")
        out.append("| %s | %s |" % (label, " | ".join(cells)))

    row("IOPS (best round)", lambda r: r["iops"], f0, "iops")
    row("IOPS of each round", lambda r: ", ".join(f0(x["iops"]) for x in r.get("rounds", [])),
        lambda v: v or "-")
    if both:
        out.append("| ours / C of IOPS in each round |  |  | %s |" % ", ".join(map(f2, j["ratio_rounds"])))
    row("theoretical maximum IOPS", lambda r: j["theoretical_iops"], f0)
    row("% of theoretical maximum", lambda r: r["pct_of_max"], f1, "pct_of_max")
    if any(r and "achievable_iops" in r for r in ok.values()):
        row("achievable IOPS: 1 / (delays per I/O × delay + I/O path latency at delay 0)",
            lambda r: r.get("achievable_iops"), f0)
        row("% of achievable", lambda r: r.get("pct_of_achievable"), f1)
    for key, label in (("mean", "mean"), ("p50", "p50"), ("p99", "p99"), ("p99_9", "p99.9")):
        row("%s completion latency (µs)" % label, lambda r, k=key: r["clat_us"][k], f0, key)
    row("mean latency − requested delay", lambda r: r, error_text)
    row("p50 latency − requested delay (µs)", lambda r: r.get("p50_error_us"), f0)
    row("minimum completion latency (µs; synchronous jobs)", lambda r: r["clat_us"].get("min"), f0)
    if j["delay_us"]:
        row("I/Os that completed before the requested delay (%)",
            lambda r: None if r.get("below_delay") is None else 100 * r["below_delay"], f2)
    tf = j.get("timer_floor_us")
    if tf:
        out.append("| this VM's timer floor: a plain sleep to a deadline %s ahead wakes up late by (µs) "
                   "| %s |" % (delay_text(j["delay_us"]), " | ".join(
                       ["min %.0f, p50 %.0f, p99 %.0f" % (tf["min"], tf["p50"], tf["p99"])]
                       + [""] * (len(res) - 1 + both))))
    row("worker CPU, ms per s of I/O (/proc/pid/stat utime+stime)",
        lambda r: r["worker"]["cpu_ms_per_s"], f1, "cpu_ms_per_s")
    row("worker CPU, ms per s of I/O (/proc/pid/schedstat)",
        lambda r: r["worker"]["cpu_ms_per_s_schedstat"], f2, "cpu_ms_per_s_schedstat")
    row("worker wake-ups per I/O (/proc/pid/schedstat)",
        lambda r: r["worker"].get("wakeups_per_io"), f2, "wakeups_per_io")
    row("device I/Os per fio I/O", lambda r: r["device_per_fio_io"], f2)
    for k, r in res.items():
        if "iops" not in r:
            out += ["", "%s: %s" % (IMPL_NAME[k], r.get("error", "failed"))]
    return out


def summary_table(jobs):
    out = ["| job | workload | delay | max IOPS | achievable IOPS | IOPS ours | IOPS C "
           "| ours / C (median of rounds, min–max) | mean µs ours | mean µs C | p50 − delay µs ours "
           "| p50 − delay µs C | VM timer floor p50 µs | p99 µs ours | p99 µs C "
           "| worker CPU ms/s ours | C | wake-ups per I/O ours | C |", "|---|---|---:" + "|---:" * 16 + "|"]
    for j in jobs:
        r, c = j["results"].get("rust") or {}, j["results"].get("c") or {}

        def both(fmt, *path):
            return [fmt(get(r, *path)), fmt(get(c, *path)) if c else "n/a"]
        cells = [j["name"], workload(j), delay_text(j["delay_us"]), f0(j["theoretical_iops"]),
                 f0(get(r, "achievable_iops"))] + both(f0, "iops")
        cells += [ratio_text(get(j, "ratio", "iops"), get(j, "ratio_range", "iops")) if c else ""]
        cells += both(f0, "clat_us", "mean") + both(f0, "p50_error_us")
        cells += [f0(get(j, "timer_floor_us", "p50"))]
        cells += both(f0, "clat_us", "p99") + both(f2, "worker", "cpu_ms_per_s_schedstat")
        out.append("| " + " | ".join(cells + both(f2, "worker", "wakeups_per_io")) + " |")
    return out


def rds_tables(rds):
    """The RDS section: a table over IPv4, one over IPv6."""
    loop = rds["loop_binds"]

    def s(v, spec="%s"):
        return "-" if v is None else spec % v

    def per_bind(v):
        return "-" if v is None or v < 0 else "%.1f" % (v / loop)

    def ratios(v, *keys):
        return [ratio_text(v["ratio"].get(k), v["ratio_range"].get(k)) for k in keys]
    out = ["RDS bind benchmark: %d rds-ping invocations (8 binds each) per burst, %d binds in the tight "
           "loop, %d rounds. Each round times the loop %d times per case, on CPU %d, with no tracing on; "
           "in the first %d rounds one more loop per case runs with the counters on (CM IDs, allocations; "
           "they add a trace event to every allocation, so its times are not used). Each value is the best "
           "round (or timed loop) for a rate or time and the median round for a count; each ratio (vs C) is "
           "the median over the rounds (and timed loops) of case / c within the round, where c was measured "
           "just before (tcp_floor: its rounds ran first, before rds_rdma was loaded), with its min–max "
           "over them in brackets." % tuple(rds[k] for k in (
               "invocations", "loop_binds", "rounds", "loop_reps", "cpu", "count_rounds")), "",
           "| case | burst s | burst binds/s | ms per invocation (p50) | ping RTT us (p50) | loop binds/s "
           "| loop p50 us | loop p99 us | CM IDs (burst) | CM IDs (loop) | slab allocs per bind (loop) "
           "| order-3 allocs (burst+loop) | burst binds/s vs C | loop binds/s vs C | loop p50 vs C |",
           "|---" * 15 + "|"]
    for c, v in rds["cases"].items():
        o3 = v["burst_order3_allocs"]
        out.append("| %s |" % " | ".join([
            c, s(v["burst_seconds"], "%.3f"), s(v["burst_binds_per_s"], "%.1f"),
            s(v["burst_invocation_p50_ms"], "%.1f"), s(v["burst_rtt_p50_us"], "%.0f"),
            s(v["loop_binds_per_s"]), s(v["loop_p50_us"], "%.2f"), s(v["loop_p99_us"], "%.2f"),
            s(v["cm_ids"]), s(v["loop_cm_ids"]), per_bind(v["loop_slab_allocs"]),
            "-" if o3 is None or o3 < 0 else str(o3 + v["loop_order3_allocs"])]
            + ratios(v, "burst_binds_per_s", "loop_binds_per_s", "loop_p50_us")))
    out += ["", "IPv6 (fd00::1 on rxe0; fd01::1 for tcp_floor), tight loop of %d binds. Upstream C caches "
            "IPv4 addresses only." % loop, "", "| case | loop6 binds/s | loop6 p50 us | loop6 p99 us "
            "| CM IDs (loop6) | slab allocs per bind (loop6) | loop6 binds/s vs C | loop6 p50 vs C |",
            "|---" * 8 + "|"]
    for c, v in rds["cases"].items():
        out.append("| %s |" % " | ".join([
            c, s(v["loop6_binds_per_s"]), s(v["loop6_p50_us"], "%.2f"), s(v["loop6_p99_us"], "%.2f"),
            s(v["loop6_cm_ids"]), per_bind(v["loop6_slab_allocs"])]
            + ratios(v, "loop6_binds_per_s", "loop6_p50_us")))
    return out + ["", "Ratios are case / c. The burst includes process start-up and the ping round trip: "
                  "the bind() calls are a small part of an invocation (see the loop). The loop times "
                  "bind() alone (p50/p99) and socket+bind+close (binds/s)."]


def plot(jobs, outdir):
    """Writes the CDF data and a gnuplot script, runs gnuplot; returns the
    PNG's file name or None."""
    pdir, panels, png = os.path.join(outdir, "plot"), [], "dm_delay_latency.png"
    os.makedirs(pdir, exist_ok=True)
    for j in (j for j in jobs if j["delay_us"]):
        curves = []
        for impl, color in (("rust", "#1f77b4"), ("c", "#d62728")):
            if not get(j, "results", impl, "cdf"):
                continue
            dat = "%s-%s.dat" % (j["name"], impl)
            with open(os.path.join(pdir, dat), "w") as f:
                f.write("# completion latency (ms)  fraction of I/Os completed\n")
                f.writelines("%.4f %.6f\n" % (us / 1000, frac) for us, frac in j["results"][impl]["cdf"])
            curves.append("'%s' using 1:2 with steps lw 2 lc rgb '%s' title '%s'" % (
                dat, color, "ours" if impl == "rust" else "C dm_delay"))
        if curves:
            panels.append((j, curves))
    if not panels:
        return None
    rows = (len(panels) + 2) // 3
    gp = ["set terminal pngcairo size 1500,%d font 'sans,10' noenhanced" % (420 * rows),
          "set output '../%s'" % png,
          "set multiplot layout %d,3 title 'dm-delay completion latency, ours against C (CDF from fio "
          "latency histograms; dashed: requested delay x delayed I/Os per fio I/O)'" % rows,
          "set logscale x", "set grid", "set yrange [0:1.02]", "set xlabel 'completion latency (ms)'",
          "set ylabel 'fraction of I/Os'", "set key bottom right"]
    for j, curves in panels:
        # The dashed line: the delay times the delayed device I/Os per fio I/O.
        k = max([r.get("delays_per_io", 1) for r in j["results"].values()] + [1])
        d_ms, mark = k * j["delay_us"] / 1000, "%s-delay.dat" % j["name"]
        with open(os.path.join(pdir, mark), "w") as f:
            f.write("%g 0\n%g 1\n" % (d_ms, d_ms))
        gp += ["set title '%s: %s %s, %s, delay %s%s'" % (
            j["name"], j["rw"], "direct" if j["direct"] else "buffered",
            "QD1" if j["numjobs"] * j["iodepth"] == 1 else "%dx QD%d" % (j["numjobs"], j["iodepth"]),
            delay_text(j["delay_us"]).replace("µ", "u"), " (%d device I/Os each)" % k if k > 1 else ""),
            "plot " + ", ".join(curves) + ", '%s' using 1:2 with lines dt 2 lc rgb 'black' notitle" % mark]
    with open(os.path.join(pdir, "latency.gp"), "w") as f:
        f.write("\n".join(gp + ["unset multiplot"]) + "\n")
    try:
        subprocess.run(["gnuplot", "latency.gp"], cwd=pdir, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print("gnuplot failed: %s" % e, file=sys.stderr)
        return None
    return png


def rounds_run(jobs, default):
    """How many rounds the jobs ran, in words ("3 rounds", or the groups,
    most rounds first: "5 rounds (0read, 1msread) or 2 (10msread)"), and
    whether the jobs differ."""
    groups = {}
    for j in jobs:
        n = max([len(r.get("rounds", [])) + r.get("rounds_failed", 0) for r in j["results"].values()] + [0])
        if n:
            groups.setdefault(n, []).append(j["name"])
    if len(groups) < 2:
        return "%s rounds" % (next(iter(groups)) if groups else default if default.isdigit() else "?"), False
    parts = ["%d (%s)" % (n, ", ".join(names)) for n, names in sorted(groups.items(), reverse=True)]
    parts[0] = parts[0].replace(" ", " rounds ", 1)
    return ", ".join(parts[:-1]) + " or " + parts[-1], True


def placement(jobs):
    """Where fio and the worker kthread ran, in words: "both on CPU 1 in
    0read, 1mswrite; placed by the scheduler in 10mswriteasync"."""
    pinned, free = {}, [j["name"] for j in jobs if j.get("cpu") is None]
    for j in (j for j in jobs if j.get("cpu") is not None):
        pinned.setdefault(j["cpu"], []).append(j["name"])
    parts = ["both on CPU %d in %s" % (cpu, ", ".join(names)) for cpu, names in sorted(pinned.items())]
    if free:
        parts.append("placed by the scheduler in %s" % ", ".join(free))
    return "; ".join(parts) or "?"


def dm_text(jobs, meta):
    """The dm-delay section's method paragraph."""
    rounds, differ = rounds_run(jobs, meta.get("repeat", "?"))
    return (
        "fio over a `delay` target on top of a 1 TiB `dm-zero` device, in the same boot. Each job runs %s of "
        "%s s%s. The run goes round after round, and in each round every job that has that many, one after "
        "the other, so a slow spell of the host hits one round of many jobs rather than every round of one. "
        "In each job's round the C `dm_delay` and then `rust_dm_delay` is loaded (both register the target "
        "name `delay`), and each implementation's round with the highest IOPS is reported (interference from "
        "the shared host only slows a round down).%s The floor jobs (delay 0) measure this VM's I/O path: "
        "achievable IOPS = 1 / (delays per I/O × delay + that path's latency); the VM timer floor is how "
        "late a plain sleep to a deadline wakes up here (tests/bench/timer-floor.c). Buffered reads are random "
        "over 1 TiB with the page cache dropped first, so the cache serves none of them; each still reaches "
        "the device as the number of I/Os in the row 'device I/Os per fio I/O' (from the delay device's "
        "/sys/block/dm-N/stat), and waits that many delays. Theoretical maximum IOPS = jobs × queue depth / "
        "delay. The worker is the target's kernel thread: `kdelayd-rs` for ours; for C, "
        "`dm-delay-flush-worker`, the kthread dm-delay.c starts when every delay is under 50 ms (above that "
        "it uses a timer and the `kdelayd` workqueue instead). The C target counts its delay in jiffies and "
        "polls: see drivers/md/dm-delay.c. Ours / C is the median over the rounds of ours' result divided by "
        "C's in the same round (the two ran back to back, so a change in the host's load between rounds "
        "drops out of it), with its min–max over the rounds in brackets; above 1 is more for ours. The "
        "other columns are each implementation's best round." % (
            rounds, meta.get("seconds", "?"),
            " (more where ours / C moves the most from round to round, fewer where it holds steady or ours "
            "runs alone; see tests/bench/README.md)" if differ else "",
            " In the jobs with one fio job (QD1), fio and the target's worker kthread are pinned to one CPU, "
            "for both targets: under TCG, waking a thread on the other, idle vCPU costs hundreds of µs, and "
            "the placement the scheduler picked moved ours' 1 ms direct writes by up to a third (see "
            "tests/bench/README.md)." if any(j.get("cpu") is not None for j in jobs) else ""))


def main():
    raw, outdir = sys.argv[1], sys.argv[2]
    meta, host = (summary.read_kv(os.path.join(raw, n)) for n in ("meta.txt", "host.txt"))
    status = {k: v.strip() for k, v in summary.read_kv(os.path.join(raw, "status.txt"), " ").items()}
    dm, rds = summary.dm_delay(raw), summary.rds(raw)
    jobs, st = (dm or {}).get("jobs", []), status.get("rds", "not run")
    rounds = rounds_run(jobs, meta.get("repeat", "?"))[0]
    md = ["# rust-dm-rds benchmarks", "",
          "- kernel: `%s` (%s test kernel, %s)" % (meta.get("uname", "unknown: the guest did not start"),
                                                  host.get("flavor", "?"), host.get("hz", "HZ unknown")),
          "- date: %s" % meta.get("date", host.get("date", "?")),
          "- machine: QEMU TCG guest, %s vCPUs, %s MiB (%s)" % (
              meta.get("cpus", "?"), int(meta.get("mem_kib", 0)) // 1024, host.get("host", "")),
          "- fio: %s s per run; per job %s" % (meta.get("seconds", "?"), rounds),
          "- fio and the target's worker kthread: %s" % placement(jobs),
          "- kernel command line: %s" % (
              "`%s` added (a fixed address layout: under TCG where code lands moves what it costs)"
              % meta["cmdline"] if meta.get("cmdline") else "nothing added (KASLR on)"),
          "- run time: %s" % host.get("elapsed", "?"), "",
          "## dm-delay: rust_dm_delay against C dm_delay", ""]
    if not jobs:
        md += ["**No dm-delay results** (status: %s). See the VM log." % status.get("dm_delay", "not run"), ""]
    else:
        if status.get("dm_delay") != "ok":
            md += ["**Incomplete** (status: %s)." % status.get("dm_delay", "unknown"), ""]
        png = plot(jobs, outdir)
        md += [dm_text(jobs, meta), ""] + summary_table(jobs) + [""]
        md += ["![completion latency distribution, ours against C](%s)" % png if png
               else "(no latency plot: gnuplot failed)", ""]
        for j in jobs:
            md += job_table(j) + [""]
    md += ["## RDS: rust_rds_ib_addr", ""]
    if st == "missing":
        md += ["Not run: tests/bench/rds_bench.sh is missing or not executable.", ""]
    elif st != "ok":
        md += ["**The RDS benchmark failed** (status: %s); see raw/rds.log." % st, ""]
    if rds:
        md += rds_tables(rds) + [""]
    elif st == "ok":
        md += ["The RDS benchmark wrote no rds-raw.txt.", ""]
    for res in (r for j in jobs for r in j["results"].values()):
        res.pop("cdf", None)
    with open(os.path.join(outdir, "report.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(outdir, "report.json"), "w") as f:
        json.dump({"meta": dict(meta, **{"host_" + k: v for k, v in host.items()}), "status": status,
                   "dm_delay": dm, "rds": rds if rds is not None else {"status": st}}, f, indent=1)


if __name__ == "__main__":
    main()
