#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Binds RDS sockets to ADDR[%SCOPE] and reports the outcome.

    rds_bind.py [-n COUNT] [-e EXPECT] ADDR[%SCOPE]

Prints "ok" or the errno name (EADDRNOTAVAIL, ...) of the last bind. With
-e (ok or an errno name) exits 0 only if every bind had that outcome;
without it exits 0 only if every bind succeeded. -n repeats the bind with a
fresh socket each time; -n 0 repeats until SIGTERM, prints each unexpected
outcome as it happens, and ends with "binds N unexpected M".
"""

import argparse
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rds_sock  # noqa: E402

stop = False


def on_term(_sig, _frame):
    global stop
    stop = True


def bind_once(addr):
    """Returns "ok" or the errno name of one bind."""
    with rds_sock.rds_socket() as s:
        try:
            rds_sock.bind(s, addr)
            return "ok"
        except OSError as e:
            return rds_sock.errname(e.errno)


def main():
    ap = argparse.ArgumentParser(description="RDS bind")
    ap.add_argument("-n", "--count", type=int, default=1)
    ap.add_argument("-e", "--expect", default="ok")
    ap.add_argument("addr")
    args = ap.parse_args()

    signal.signal(signal.SIGTERM, on_term)
    done = bad = 0
    outcome = None
    while not stop and (args.count == 0 or done < args.count):
        outcome = bind_once(args.addr)
        done += 1
        if outcome != args.expect:
            bad += 1
            if args.count == 0:
                print(f"bind {done}: {outcome}", file=sys.stderr, flush=True)
    if args.count == 0:
        print(f"binds {done} unexpected {bad}")
    else:
        print(outcome)
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
