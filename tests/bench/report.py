#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Builds the benchmark report from a run's raw results.

    report.py RAWDIR OUTDIR

RAWDIR holds what the guest wrote (meta.txt, status.txt, dm_delay.json,
rds.json, rds.md) and what run.sh added (host.txt). Writes
OUTDIR/report.md, OUTDIR/report.json and, with gnuplot, the latency plot
OUTDIR/dm_delay_latency.png (data and script in OUTDIR/plot/).
"""

import json
import os
import subprocess
import sys

IMPL_NAME = {"rust": "ours (rust_dm_delay)", "c": "C (dm_delay)"}


def read_kv(path):
    kv = {}
    try:
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    kv[k] = v
    except OSError:
        pass
    return kv


def read_status(path):
    st = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.split(None, 1)
                if parts:
                    st[parts[0]] = parts[1].strip() if len(parts) > 1 else ""
    except OSError:
        pass
    return st


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def f0(v):
    return "-" if v is None else "{:,.0f}".format(v)


def f1(v):
    return "-" if v is None else "%.1f" % v


def f2(v):
    return "-" if v is None else "%.2f" % v


def delay_text(us):
    return "%g ms" % (us / 1000) if us >= 1000 else "%d µs" % us


def workload(j):
    kind = {"randread": "random read", "randwrite": "random write"}[j["rw"]]
    io = "O_DIRECT" if j["direct"] else "buffered"
    par = ("QD1" if j["numjobs"] == 1 and j["iodepth"] == 1
           else "%d jobs × QD%d" % (j["numjobs"], j["iodepth"]))
    return "%s, %s, %s, %s, %s" % (kind, io, j["bs"], par, j["ioengine"])


def error_text(res):
    if res is None or "iops" not in res:
        return "-"
    if res["error_pct"] is None:
        return "%+.0f µs" % res["error_us"]
    return "%+.0f µs (%+.1f%%)" % (res["error_us"], res["error_pct"])


def job_table(j):
    res = {k: j["results"].get(k) for k in ("rust", "c")}
    ok = {k: (v if v and "iops" in v else None) for k, v in res.items()}
    ratio = j.get("ratio", {})
    impls = [k for k in ("rust", "c") if res[k] is not None]
    both = len(impls) == 2
    out = ["### %s: %s, delay %s" % (j["name"], workload(j), delay_text(j["delay_us"])),
           ""]
    if not both:
        out += ["Ours only: the C target takes whole milliseconds.", ""]
    head = "| | " + " | ".join(IMPL_NAME[k] for k in impls)
    head += " | ours / C (median of the rounds' ratios) |" if both else " |"
    out += [head, "|---" + "|---:" * (len(impls) + (1 if both else 0)) + "|"]

    def row(label, get, fmt, key=None, ratio_fmt=f2):
        cells = [fmt(get(ok[k])) if ok[k] else "failed" for k in impls]
        line = "| %s | %s" % (label, " | ".join(cells))
        if both:
            line += " | %s" % (ratio_fmt(ratio.get(key)) if key else "")
        out.append(line + " |")

    row("IOPS (best round)", lambda r: r["iops"], f0, "iops")
    row("IOPS of each round", lambda r: ", ".join(f0(x["iops"]) for x in r.get("rounds", [])),
        lambda v: v or "-")
    if both:
        out.append("| ours / C of IOPS in each round | %s |" % " | ".join(
            [""] * len(impls) + [", ".join(f2(x) for x in j.get("ratio_rounds", []))]))
    row("theoretical maximum IOPS", lambda r: j["theoretical_iops"], f0)
    row("% of theoretical maximum", lambda r: r["pct_of_max"], f1, "pct_of_max")
    if any(ok[k] and "achievable_iops" in ok[k] for k in impls):
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
        cells = ["min %.0f, p50 %.0f, p99 %.0f" % (tf["min"], tf["p50"], tf["p99"])]
        cells += [""] * (len(impls) - 1 + (1 if both else 0))
        out.append("| this VM's timer floor: a plain sleep to a deadline %s ahead wakes "
                   "up late by (µs) | %s |" % (delay_text(j["delay_us"]), " | ".join(cells)))
    row("worker CPU, ms per s of I/O (/proc/pid/stat utime+stime)",
        lambda r: r["worker"]["cpu_ms_per_s"], f1, "cpu_ms_per_s")
    row("worker CPU, ms per s of I/O (/proc/pid/schedstat)",
        lambda r: r["worker"]["cpu_ms_per_s_schedstat"], f2, "cpu_ms_per_s_schedstat")
    row("worker wake-ups per I/O (/proc/pid/schedstat)",
        lambda r: r["worker"].get("wakeups_per_io"), f2, "wakeups_per_io")
    row("device I/Os per fio I/O", lambda r: r["device_per_fio_io"], f2)
    for k in impls:
        if res[k] is not None and "iops" not in res[k]:
            out.append("")
            out.append("%s: %s" % (IMPL_NAME[k], res[k].get("error", "failed")))
    return out


def summary_table(jobs):
    out = ["| job | workload | delay | max IOPS | achievable IOPS | IOPS ours | IOPS C "
           "| ours / C (median of rounds) "
           "| mean µs ours | mean µs C | p50 − delay µs ours | p50 − delay µs C "
           "| VM timer floor p50 µs | p99 µs ours | p99 µs C "
           "| worker CPU ms/s ours | C | wake-ups per I/O ours | C |",
           "|---|---|---:" + "|---:" * 16 + "|"]

    def g(res, *path):
        v = res
        for p in path:
            if not isinstance(v, dict) or p not in v:
                return None
            v = v[p]
        return v

    for j in jobs:
        r = j["results"].get("rust") or {}
        c = j["results"].get("c") or {}

        def both(fmt, *path):
            return [fmt(g(r, *path)), fmt(g(c, *path)) if c else "n/a"]
        cells = [j["name"], workload(j), delay_text(j["delay_us"]), f0(j["theoretical_iops"]),
                 f0(g(r, "achievable_iops"))]
        cells += both(f0, "iops") + [f2(g(j, "ratio", "iops")) if c else ""]
        cells += both(f0, "clat_us", "mean") + both(f0, "p50_error_us")
        cells += [f0(g(j, "timer_floor_us", "p50"))]
        cells += both(f0, "clat_us", "p99")
        cells += both(f2, "worker", "cpu_ms_per_s_schedstat")
        cells += both(f2, "worker", "wakeups_per_io")
        out.append("| " + " | ".join(cells) + " |")
    return out


def plot(jobs, outdir):
    """Writes the CDF data and a gnuplot script, runs gnuplot; returns the
    PNG's file name or None."""
    pdir = os.path.join(outdir, "plot")
    os.makedirs(pdir, exist_ok=True)
    panels = []
    for j in (j for j in jobs if j["delay_us"]):
        curves = []
        for impl, color in (("rust", "#1f77b4"), ("c", "#d62728")):
            res = j["results"].get(impl)
            if not res or not res.get("cdf"):
                continue
            dat = os.path.join(pdir, "%s-%s.dat" % (j["name"], impl))
            with open(dat, "w") as f:
                f.write("# completion latency (ms)  fraction of I/Os completed\n")
                for us, frac in res["cdf"]:
                    f.write("%.4f %.6f\n" % (us / 1000, frac))
            curves.append("'%s' using 1:2 with steps lw 2 lc rgb '%s' title '%s'" % (
                os.path.basename(dat), color,
                "ours" if impl == "rust" else "C dm_delay"))
        if curves:
            panels.append((j, curves))
    if not panels:
        return None
    cols = 3
    rows = (len(panels) + cols - 1) // cols
    png = "dm_delay_latency.png"
    gp = ["set terminal pngcairo size %d,%d font 'sans,10' noenhanced" % (1500, 420 * rows),
          "set output '../%s'" % png,
          "set multiplot layout %d,%d title 'dm-delay completion latency, ours against C "
          "(CDF from fio latency histograms; dashed: requested delay x delayed I/Os per fio I/O)'" % (rows, cols),
          "set logscale x", "set grid", "set yrange [0:1.02]",
          "set xlabel 'completion latency (ms)'", "set ylabel 'fraction of I/Os'",
          "set key bottom right"]
    for j, curves in panels:
        # The dashed line: the requested delay, times the delayed device
        # I/Os each fio I/O waits for (2 for a buffered 4k read here).
        k = max([r.get("delays_per_io", 1) for r in j["results"].values()] + [1])
        d_ms = k * j["delay_us"] / 1000
        mark = os.path.join(pdir, "%s-delay.dat" % j["name"])
        with open(mark, "w") as f:
            f.write("%g 0\n%g 1\n" % (d_ms, d_ms))
        title = "%s: %s %s, %s, delay %s%s" % (
            j["name"], j["rw"], "direct" if j["direct"] else "buffered",
            "QD1" if j["numjobs"] * j["iodepth"] == 1
            else "%dx QD%d" % (j["numjobs"], j["iodepth"]),
            delay_text(j["delay_us"]).replace("µ", "u"),
            " (%d device I/Os each)" % k if k > 1 else "")
        gp += ["set title '%s'" % title,
               "plot " + ", ".join(curves) +
               ", '%s' using 1:2 with lines dt 2 lc rgb 'black' notitle" % os.path.basename(mark)]
    gp.append("unset multiplot")
    with open(os.path.join(pdir, "latency.gp"), "w") as f:
        f.write("\n".join(gp) + "\n")
    try:
        subprocess.run(["gnuplot", "latency.gp"], cwd=pdir, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print("gnuplot failed: %s" % e, file=sys.stderr)
        return None
    return png


def strip_cdf(dm):
    dm = json.loads(json.dumps(dm))
    for j in dm.get("jobs", []):
        for res in j["results"].values():
            res.pop("cdf", None)
    return dm


def rounds_run(jobs, default):
    """How many rounds the jobs ran, as dm_delay_bench.sh decided, in words:
    "3 rounds" when all ran as many, else the groups, most rounds first,
    e.g. "5 rounds (0read, 1msread), 3 (10msread) or 2 (100usread)";
    and whether the jobs differ."""
    groups = {}
    for j in jobs:
        n = max([len(r.get("rounds", [])) + r.get("rounds_failed", 0)
                 for r in j["results"].values()] + [0])
        if n:
            groups.setdefault(n, []).append(j["name"])
    if not groups:
        return "%s rounds" % (default if default.isdigit() else "?"), False
    if len(groups) == 1:
        return "%d rounds" % next(iter(groups)), False
    parts = ["%d (%s)" % (n, ", ".join(names))
             for n, names in sorted(groups.items(), reverse=True)]
    parts[0] = parts[0].replace(" ", " rounds ", 1)
    return ", ".join(parts[:-1]) + " or " + parts[-1], True


def placement(jobs):
    """Where fio and the worker kthread ran, as dm_delay_bench.sh pinned
    them, in words: "both on CPU 1 in 0read, 1mswrite; placed by the
    scheduler in 10mswriteasync"."""
    pinned, free = {}, []
    for j in jobs:
        if j.get("cpu") is None:
            free.append(j["name"])
        else:
            pinned.setdefault(j["cpu"], []).append(j["name"])
    parts = ["both on CPU %d in %s" % (cpu, ", ".join(names))
             for cpu, names in sorted(pinned.items())]
    if free:
        parts.append("placed by the scheduler in %s" % ", ".join(free))
    return "; ".join(parts) or "?"


def main():
    raw, outdir = sys.argv[1], sys.argv[2]
    meta = read_kv(os.path.join(raw, "meta.txt"))
    host = read_kv(os.path.join(raw, "host.txt"))
    status = read_status(os.path.join(raw, "status.txt"))
    dm = load_json(os.path.join(raw, "dm_delay.json"))
    rds = load_json(os.path.join(raw, "rds.json"))
    rounds, rounds_differ = rounds_run((dm or {}).get("jobs", []), meta.get("repeat", "?"))

    md = ["# rust-dm-rds benchmarks", ""]
    md += ["- kernel: `%s` (%s test kernel, %s)" % (
        meta.get("uname", "unknown: the guest did not start"),
        host.get("flavor", "?"), host.get("hz", "HZ unknown")),
        "- date: %s" % meta.get("date", host.get("date", "?")),
        "- machine: QEMU TCG guest, %s vCPUs, %s MiB (%s)" % (
            meta.get("cpus", "?"), int(meta.get("mem_kib", 0)) // 1024,
            host.get("host", "")),
        "- fio: %s s per run; per job %s" % (meta.get("seconds", "?"), rounds),
        "- fio and the target's worker kthread: %s" % placement((dm or {}).get("jobs", [])),
        "- kernel command line: %s" % (
            "`%s` added (a fixed address layout: under TCG where code lands moves what it costs)"
            % meta["cmdline"] if meta.get("cmdline") else "nothing added (KASLR on)"),
        "- run time: %s" % host.get("elapsed", "?"),
        ""]

    md += ["## dm-delay: rust_dm_delay against C dm_delay", ""]
    if dm is None or not dm.get("jobs"):
        md += ["**No dm-delay results** (status: %s). See the VM log." % status.get("dm_delay", "not run"), ""]
    else:
        if status.get("dm_delay") != "ok":
            md += ["**Incomplete** (status: %s)." % status.get("dm_delay", "unknown"), ""]
        md += [
            "fio over a `delay` target on top of a 1 TiB `dm-zero` device, in the same boot. "
            "Each job runs %s of %s s%s. The run goes round after round, and in each round "
            "every job that has that many, one after the other, so a slow spell of the host "
            "hits one round of many jobs rather than every round of one. In each job's round "
            "the C `dm_delay` and then `rust_dm_delay` is loaded (both register the target "
            "name `delay`), and each implementation's round with the highest IOPS is reported "
            "(interference from the shared host only slows a round down).%s The "
            "floor jobs (delay 0) measure this VM's I/O path: achievable IOPS = 1 / (delays per "
            "I/O × delay + that path's latency); the VM timer floor is how late a plain sleep "
            "to a deadline wakes up here (tests/bench/timer-floor.c). Buffered reads are random "
            "over 1 TiB with the page cache dropped first, so the cache serves none of them; "
            "each still reaches the device as the number of I/Os in the row 'device I/Os per "
            "fio I/O' (from the delay device's /sys/block/dm-N/stat), and waits that many delays. "
            "Theoretical maximum "
            "IOPS = jobs × queue depth / delay. The worker is the target's kernel thread: "
            "`kdelayd-rs` for ours; for C, `dm-delay-flush-worker`, the kthread dm-delay.c "
            "starts when every delay is under 50 ms (above that it uses a timer and the "
            "`kdelayd` workqueue instead). The C target counts its delay in jiffies and polls: "
            "see drivers/md/dm-delay.c. Ours / C is the median over the rounds of ours' "
            "result divided by C's in the same round (the two ran back to back, so a change "
            "in the host's load between rounds drops out of it); above 1 is more for ours. "
            "The other columns are each implementation's best round." % (
                rounds, meta.get("seconds", "?"),
                " (more where ours / C moves the most from round to round, fewer where it "
                "holds steady or ours runs alone; see tests/bench/dm_delay_bench.sh)"
                if rounds_differ else "",
                " In the jobs with one fio job (QD1), fio and the target's worker kthread "
                "are pinned to one CPU, for both targets: under TCG, waking a thread on the "
                "other, idle vCPU costs hundreds of µs, and the placement the scheduler "
                "picked moved ours' 1 ms direct writes by up to a third (see "
                "tests/bench/dm_delay_bench.sh)."
                if any(j.get("cpu") is not None for j in dm["jobs"]) else ""),
            ""]
        md += summary_table(dm["jobs"]) + [""]
        png = plot(dm["jobs"], outdir)
        if png:
            md += ["![completion latency distribution, ours against C](%s)" % png, ""]
        else:
            md += ["(no latency plot: gnuplot failed)", ""]
        for j in dm["jobs"]:
            md += job_table(j) + [""]

    md += ["## RDS: rust_rds_ib_addr", ""]
    rds_md = None
    try:
        with open(os.path.join(raw, "rds.md")) as f:
            rds_md = f.read().strip()
    except OSError:
        pass
    st = status.get("rds", "not run")
    if st == "missing":
        md += ["Not run: tests/bench/rds_bench.sh is missing or not executable.", ""]
    elif st != "ok":
        md += ["**The RDS benchmark failed** (status: %s); see raw/rds.log." % st, ""]
    if rds_md:
        # Its headings go one level below ours.
        md += [("#" + l if l.startswith("#") else l) for l in rds_md.splitlines()] + [""]
    elif st == "ok":
        md += ["The RDS benchmark wrote no rds.md.", ""]

    report = {
        "meta": dict(meta, **{"host_" + k: v for k, v in host.items()}),
        "status": status,
        "dm_delay": strip_cdf(dm) if dm else None,
        "rds": rds if rds is not None else {"status": st},
    }
    with open(os.path.join(outdir, "report.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(outdir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
