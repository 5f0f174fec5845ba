#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Splits each delayed I/O of a `dm_delay_bench.sh OUTDIR stages` trace into its stages.

    stages.py RAWDIR     reads stages-trace.txt and stages-params.txt
                         ("DELAY_DEV ZERO_DEV DELAY", devices as "major,minor")

An I/O is a chain of events: fio queues the bio on the delay device (A);
the timer that ends the wait (the worker's alarm, or the timer of its
sleep) fires (H) and wakes the worker (W); the worker runs (R) and queues
the bio on dm-zero (S), which completes it and wakes fio (E); fio runs (F)
and queues its next bio (the next A). Tracing slows every stage down.
"""
import os
import re
import sys

EV = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+):\s+(\w+):\s+(.*)$")
STAGES = [
    ("A", "H", "timer fires, after bio queued + delay"),
    ("H", "W", "timer callback wakes the worker"),
    ("W", "R", "worker scheduled in"),
    ("R", "S", "worker takes the bio off the queue"),
    ("S", "E", "submit to dm-zero until fio is woken"),
    ("E", "F", "fio scheduled in"),
    ("F", "A", "fio: syscall return, accounting, next write"),
]


def delay_us(arg):
    """A delay argument ("10", "3ms", "250us") in microseconds."""
    return int(arg[:-2]) if arg.endswith("us") else int(arg[:-2] if arg.endswith("ms") else arg) * 1000


def table(raw):
    """The stages' table, as lines, or None without a trace."""
    try:
        with open(os.path.join(raw, "stages-params.txt")) as f:
            ddev, zdev, delay = f.read().split()
        with open(os.path.join(raw, "stages-trace.txt")) as f:
            text = f.read().splitlines()
    except (OSError, ValueError):
        return None
    delay = delay_us(delay)
    ios, cur, skipped = [], None, 0
    # The worker's alarm; without one (a worker that sleeps to its
    # deadline), the timer of a sleep.
    timer = "7kthread5Waker" if any("7kthread5Waker" in l for l in text) else "function=hrtimer_wakeup"
    for line in text:
        m = EV.match(line)
        if not m:
            continue
        cpu, t, ev, rest = m.group(3), float(m.group(4)) * 1e6, m.group(5), m.group(6)
        if ev == "block_bio_queue" and rest.startswith(ddev + " "):
            if cur and all(k in cur for k in "AHWRSEF"):
                cur["A2"] = t
                ios.append(cur)
            elif cur:
                skipped += 1
            cur = {"A": t, "cpuA": cpu}
            continue
        if cur is None:
            continue
        # The stages come in order: only the first one not yet seen can be next.
        k = next((k for k in "HWRSEF" if k not in cur), None)
        if k and {
            "H": lambda: ev == "hrtimer_expire_entry" and timer in rest,
            "W": lambda: ev == "sched_wakeup" and "comm=kdelayd-rs" in rest,
            "R": lambda: ev == "sched_switch" and "next_comm=kdelayd-rs" in rest,
            "S": lambda: ev == "block_bio_queue" and rest.startswith(zdev + " "),
            "E": lambda: ev == "sched_wakeup" and "comm=fio" in rest,
            "F": lambda: ev == "sched_switch" and "next_comm=fio" in rest,
        }[k]():
            cur[k], cur["cpu" + k] = t, cpu
    if not ios:
        return ["No complete I/O in the trace."]
    out = [f"{len(ios)} I/Os traced ({skipped} incomplete), delay {delay} µs; µs per stage", "",
           "| stage | p10 | p50 | p90 |", "|---|---:|---:|---:|"]

    def row(name, vals):
        vals = sorted(vals)
        out.append("| %s | %s |" % (name, " | ".join(
            "%.0f" % vals[min(len(vals) - 1, int(f * len(vals)))] for f in (0.1, 0.5, 0.9))))

    for a, b, name in STAGES:
        end = "A2" if b == "A" else b
        vals = [io[end] - io[a] - (delay if a == "A" else 0) for io in ios]
        row(name, vals)
    row("bio queued until fio runs, minus the delay", [io["F"] - io["A"] - delay for io in ios])
    row("one I/O, minus the delay", [io["A2"] - io["A"] - delay for io in ios])
    out.append("")
    for k, what in (("H", "The timer fired"), ("R", "The worker ran")):
        away = sum(io["cpu" + k] != io["cpuA"] for io in ios)
        out.append(f"{what} on another CPU than the one fio queued the bio on for {away} of {len(ios)} I/Os.")
    return out


if __name__ == "__main__":
    print("\n".join(table(sys.argv[1]) or ["no stages-trace.txt or stages-params.txt in " + sys.argv[1]]))
