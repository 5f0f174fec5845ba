#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Measures the latency of single synchronous I/Os on a block device.

    dm_delay_lat.py DEV read|write|flush COUNT

Issues COUNT 4 KiB O_DIRECT reads or writes (at consecutive offsets), or
COUNT flushes (fsync of the device, which sends an empty REQ_PREFLUSH bio),
one at a time, and prints the smallest latency seen, in microseconds.
"""

import mmap
import os
import sys
import time


def main():
    dev, op, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    buf = mmap.mmap(-1, 4096)  # page-aligned, as O_DIRECT needs
    fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
    best = None
    for i in range(count):
        start = time.monotonic_ns()
        if op == "read":
            os.preadv(fd, [buf], i * 4096)
        elif op == "write":
            os.pwritev(fd, [buf], i * 4096)
        elif op == "flush":
            os.fsync(fd)
        else:
            sys.exit("unknown op " + op)
        lat = time.monotonic_ns() - start
        best = lat if best is None else min(best, lat)
    os.close(fd)
    print(best // 1000)


if __name__ == "__main__":
    main()
