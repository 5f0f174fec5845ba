#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""rds-ping for the selftests, after rds-tools' rds-ping.

Opens 8 RDS sockets bound to the source address (port 0, so each gets an
ephemeral port), sends zero-length messages to port 0 of the destination in
turn, and prints one line per pong with its round-trip time. Exits non-zero
when no pong came back.

    rds-ping.py [-c COUNT] [-i INTERVAL] [-I SOURCE] [-w WAIT] [-r RUNS] DEST

-r repeats the whole run (new sockets, new binds) RUNS times, as that many
rds-ping invocations would, without starting Python each time; it then
exits 0 only if every run got a pong, and prints "runs N with_pong M".
"""

import argparse
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rds_sock  # noqa: E402

NUM_SOCKETS = 8


def source_for(dest):
    """Returns the local address the routing table picks for dest."""
    host = dest.partition("%")[0]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect((host, 1))
        return s.getsockname()[0]


def main():
    ap = argparse.ArgumentParser(description="RDS ping")
    ap.add_argument("-c", "--count", type=int, default=0,
                    help="stop after COUNT pings (default: until interrupted)")
    ap.add_argument("-i", "--interval", type=float, default=1.0,
                    help="seconds between pings (default 1)")
    ap.add_argument("-I", "--source", help="source address ADDR[%%SCOPE]")
    ap.add_argument("-w", "--wait", type=float, default=3.0,
                    help="seconds to wait for outstanding pongs at the end")
    ap.add_argument("-r", "--runs", type=int, default=1,
                    help="repeat the whole run RUNS times")
    ap.add_argument("dest", help="destination address ADDR[%%SCOPE]")
    args = ap.parse_args()

    good = sum(1 for _ in range(args.runs) if run(args) == 0)
    if args.runs > 1:
        print(f"runs {args.runs} with_pong {good}")
    return 0 if good == args.runs else 1


def run(args):
    """One rds-ping run; returns its exit status."""
    source = args.source or source_for(args.dest)
    socks = []
    for _ in range(NUM_SOCKETS):
        s = rds_sock.rds_socket()
        try:
            rds_sock.bind(s, source)
        except OSError as e:
            print(f"rds-ping: bind to {source} failed: "
                  f"{rds_sock.errname(e.errno)}", file=sys.stderr)
            return 2
        s.setblocking(False)
        socks.append(s)

    poller = select.poll()
    by_fd = {s.fileno(): s for s in socks}
    for s in socks:
        poller.register(s, select.POLLIN)

    outstanding = {}  # fd -> (seq, send time)
    sent = pongs = 0
    next_send = time.monotonic()
    end = None
    while True:
        now = time.monotonic()
        if (args.count == 0 or sent < args.count) and now >= next_send:
            s = socks[sent % NUM_SOCKETS]
            sent += 1
            try:
                rds_sock.send_empty(s, args.dest)
                outstanding[s.fileno()] = (sent, time.monotonic())
            except OSError as e:
                print(f"rds-ping: send {sent} failed: "
                      f"{rds_sock.errname(e.errno)}", file=sys.stderr)
            next_send = now + args.interval
            if args.count and sent == args.count:
                end = now + args.wait
        if end is not None and (not outstanding or now >= end):
            break
        deadline = end if end is not None else next_send
        timeout_ms = max(0, int((deadline - time.monotonic()) * 1000))
        for fd, _ in poller.poll(timeout_ms):
            try:
                by_fd[fd].recv(1024)
            except BlockingIOError:
                continue
            got = time.monotonic()
            if fd in outstanding:
                seq, t0 = outstanding.pop(fd)
                pongs += 1
                print(f"   {seq}: {int((got - t0) * 1e6)} usec", flush=True)

    for s in socks:
        s.close()
    return 0 if pongs else 1


if __name__ == "__main__":
    sys.exit(main())
