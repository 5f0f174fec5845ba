#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Measures the latency of single synchronous I/Os on a block device.

    dm_delay_lat.py DEV read|write|flush COUNT
    dm_delay_lat.py DEV live NAME SECONDS DELAY...
    dm_delay_lat.py NAME messages COUNT SECONDS

Issues COUNT 4 KiB O_DIRECT reads or writes (at consecutive offsets), or
COUNT flushes (fsync of the device, which sends an empty REQ_PREFLUSH bio),
one at a time, and prints the smallest latency seen, in microseconds.

With 'live', writes 4 KiB blocks one at a time (in the first MiB of DEV)
while it sends 'delay all DELAY' to dm device NAME for each DELAY in turn,
SECONDS apart. For each DELAY it prints a line: the delay in microseconds,
then the count, smallest and median latency (in microseconds) of the
writes that began after its message returned and ended before the next
was sent.

With 'messages', sends COUNT random 'delay <class> <delay>' messages (0 to
20 ms, in every unit) to dm device NAME, evenly over SECONDS, and prints
how many failed. Messages go straight to the DM_TARGET_MSG ioctl: a
dmsetup process per message is too slow under TCG to race anything.
"""

import fcntl
import mmap
import os
import random
import struct
import sys
import threading
import time

# struct dm_ioctl (include/uapi/linux/dm-ioctl.h): version[3], data_size,
# data_start, target_count, open_count, flags, event_nr, padding, dev,
# name[128], uuid[129], data[7]; 312 bytes.
DM_IOCTL = struct.Struct("=3IIIIiIIIQ128s129s7s")
# _IOWR(0xfd, DM_TARGET_MSG_CMD = 14, struct dm_ioctl)
DM_TARGET_MSG = (3 << 30) | (DM_IOCTL.size << 16) | (0xFD << 8) | 14


def message(name, text):
    """Sends the message TEXT to sector 0 of dm device NAME; raises OSError."""
    payload = struct.pack("=Q", 0) + text.encode() + b"\0"
    size = DM_IOCTL.size + len(payload)
    head = DM_IOCTL.pack(4, 0, 0, size, DM_IOCTL.size, 0, 0, 0, 0, 0, 0,
                         name.encode(), b"", b"")
    buf = bytearray(head + payload)
    with open("/dev/mapper/control", "rb+", buffering=0) as ctl:
        fcntl.ioctl(ctl, DM_TARGET_MSG, buf)


def messages(name, count, seconds):
    """Sends the random messages, see above."""
    failed = 0
    for _ in range(count):
        d = random.randrange(20000)
        unit = random.choice(["", "ms", "us"])
        arg = f"{d}us" if unit == "us" else f"{d // 1000}{unit}"
        cls = random.choice(["read", "write", "flush", "all"])
        try:
            message(name, f"delay {cls} {arg}")
        except OSError:
            failed += 1
        time.sleep(seconds / count)
    print(failed)


def delay_us(arg):
    """A delay argument of the target (ms when it has no unit) in us."""
    if arg.endswith("us"):
        return int(arg[:-2])
    return int(arg[:-2] if arg.endswith("ms") else arg) * 1000


def live(dev, name, seconds, delays):
    """Sends the delay messages while single writes run, see above."""
    ios, done = [], threading.Event()

    def writer():
        buf = mmap.mmap(-1, 4096)
        fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
        i = 0
        while not done.is_set():
            start = time.monotonic_ns()
            os.pwritev(fd, [buf], (i % 256) * 4096)
            ios.append((start, time.monotonic_ns()))
            i += 1
        os.close(fd)

    thread = threading.Thread(target=writer)
    phases = []
    for d in delays:
        sent = time.monotonic_ns()
        message(name, "delay all " + d)
        phases.append((sent, time.monotonic_ns(), d))
        if not thread.is_alive():
            thread.start()
        time.sleep(seconds)
    end = time.monotonic_ns()
    done.set()
    thread.join()
    for k, (_, returned, d) in enumerate(phases):
        until = phases[k + 1][0] if k + 1 < len(phases) else end
        lat = sorted(e - b for b, e in ios if b >= returned and e <= until)
        if lat:
            print(delay_us(d), len(lat), lat[0] // 1000, lat[len(lat) // 2] // 1000)
        else:
            print(delay_us(d), 0, -1, -1)


def main():
    if sys.argv[2] == "live":
        live(sys.argv[1], sys.argv[3], float(sys.argv[4]), sys.argv[5:])
        return
    if sys.argv[2] == "messages":
        messages(sys.argv[1], int(sys.argv[3]), float(sys.argv[4]))
        return
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
