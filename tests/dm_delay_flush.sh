#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# Flushes and discards pass through: ext4 on top of the target survives
# writes, fsync, unmount and fsck, and its fsync waits for the flush
# delay; blkdiscard through the target discards on the write device at its
# offset.

. "$(dirname "$0")/dm_delay_lib.sh"

LV=$(mkloop 64)
V=$(devno "$LV")
LW=$(mkloop 16)
W=$(devno "$LW")
X=/dev/mapper/dmd_fs
MNT=$DMD_WORK/mnt
mkdir -p "$MNT"

ktap_print_header
ktap_set_plan 8

load_rust

# Reads and writes 1 ms, flushes 300 ms.
out=$(dm_create dmd_fs 131072 $V 0 1 $V 0 1 $V 0 300) || ktap_print_msg "create failed: $out"
check "mkfs.ext4 on the target" \
	mkfs.ext4 -q -F -E nodiscard,lazy_itable_init=1,lazy_journal_init=1 $X
mount $X "$MNT"
head -c 3M /dev/urandom >"$DMD_WORK/file"
cp "$DMD_WORK/file" "$MNT/file"
t=$(python3 -c '
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
t = time.monotonic()
os.fsync(fd)
print(int((time.monotonic() - t) * 1000))' "$MNT/file")
check "fsync waits for the flush delay (${t} ms >= 300 ms)" test "$t" -ge 300
umount "$MNT"
check "fsck finds the file system clean" bash -c "fsck.ext4 -fn $X >/dev/null 2>&1"
mount $X "$MNT"
check "the file reads back intact" cmp "$DMD_WORK/file" "$MNT/file"
umount "$MNT"
dm_remove dmd_fs

# Discards are writes: they go to the write device, at its offset.
out=$(dm_create dmd_disc 16384 $V 0 1 $W 2048 1) || ktap_print_msg "create failed: $out"
X=/dev/mapper/dmd_disc
head -c 4M /dev/urandom | dd of=$X bs=64k oflag=direct status=none
check "blkdiscard through the target" blkdiscard -f -o 1048576 -l 1048576 $X
check "the discarded range reads as zeros on the write device" \
	cmp -n 1048576 /dev/zero <(dd if="$LW" bs=512 skip=$((2048 + 2048)) count=2048 iflag=direct status=none)
check "the rest is untouched" \
	bash -c "! cmp -s -n 1048576 /dev/zero <(dd if='$LW' bs=512 skip=2048 count=2048 iflag=direct status=none)"
dm_remove dmd_disc

dmd_cleanup
check "kernel log clean" dmesg_clean
ktap_finished
