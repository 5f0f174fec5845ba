#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# Zoned devices: the target stacks on a zoned null_blk device, and
# 'blkzone report' through it shows the zones of the device beneath.

. "$(dirname "$0")/dm_delay_lib.sh"

ktap_print_header
if ! modprobe null_blk nr_devices=1 zoned=1 gb=1 zone_size=64 \
	zone_nr_conv=2 memory_backed=1 2>/dev/null; then
	ktap_skip_all "zoned null_blk is not available"
	exit "$KSFT_SKIP"
fi
ktap_set_plan 4
load_rust
N=/dev/nullb0
out=$(dm_create dmd_zoned "$(sectors $N)" "$(devno $N)" 0 1) ||
	ktap_print_msg "create failed: $out"
X=/dev/mapper/dmd_zoned
check "the target is host-managed zoned" \
	test "$(cat "$(dmsys dmd_zoned)/queue/zoned")" = host-managed
check "blkzone report matches the device beneath" \
	cmp <(blkzone report $N) <(blkzone report $X)
# A sequential write to the first sequential zone through the target.
dd if=/dev/urandom of=$X bs=64k count=4 seek=$((2 * 64 * 16)) oflag=direct status=none
check "a zone write through the target moves the write pointer" \
	bash -c "blkzone report -c 1 -o $((2 * 131072)) $X | grep -q 'wptr 0x0*200 '"
dm_remove dmd_zoned
rmmod null_blk

dmd_cleanup
check "kernel log clean" dmesg_clean
ktap_finished
