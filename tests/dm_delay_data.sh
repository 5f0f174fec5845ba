#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# Data integrity: with separate read, write and flush devices at non-zero
# offsets, writes land on the write device at its offset and reads come
# from the read device at its offset. fio --verify=crc32c with interleaved
# reads and writes (and flushes), from several jobs at once, passes under
# delays of 0, 250us, 1 ms and 3 ms, and with a different delay per class.

. "$(dirname "$0")/dm_delay_lib.sh"

LR=$(mkloop 32)
LW=$(mkloop 32)
LF=$(mkloop 32)
LV=$(mkloop 64)
R=$(devno "$LR")
W=$(devno "$LW")
F=$(devno "$LF")
V=$(devno "$LV")
ROFF=2048
WOFF=4096
FOFF=8192
LEN=16384

FIO_TABLES=(
	"$V 1024 0"
	"$V 1024 250us"
	"$V 1024 1"
	"$V 1024 3ms"
	"$V 1024 0 $V 1024 300us $V 1024 2"
)

ktap_print_header
ktap_set_plan $((4 + ${#FIO_TABLES[@]} + 1))

load_rust
out=$(dm_create dmd_data $LEN $R $ROFF 1 $W $WOFF 2 $F $FOFF 1) ||
	ktap_print_msg "create failed: $out"
X=/dev/mapper/dmd_data

# 2 MiB of random data at 1 MiB into the target (sector 2048).
head -c 2M /dev/urandom >"$DMD_WORK/wpat"
head -c 2M /dev/urandom >"$DMD_WORK/rpat"
dd if="$DMD_WORK/wpat" of=$X bs=64k seek=16 oflag=direct conv=fsync status=none
check "writes land on the write device at its offset" \
	cmp -n 2097152 "$DMD_WORK/wpat" <(dd if="$LW" bs=512 skip=$((WOFF + 2048)) count=4096 iflag=direct status=none)

dd if="$DMD_WORK/rpat" of="$LR" bs=512 seek=$((ROFF + 2048)) oflag=direct status=none
check "reads come from the read device at its offset" \
	cmp -n 2097152 "$DMD_WORK/rpat" <(dd if=$X bs=64k skip=16 count=32 iflag=direct status=none)

check "the flush device gets no data" \
	cmp -n 8388608 /dev/zero "$LF"
dm_remove dmd_data
check "the read device got no data from writes" \
	cmp -n $((ROFF * 512 + 1048576)) /dev/zero "$LR"

for t in "${FIO_TABLES[@]}"; do
	out=$(dm_create dmd_fio 65536 $t) || ktap_print_msg "create failed: $out"
	# Two jobs on disjoint ranges, random writes with the verifying reads
	# interleaved (verify_backlog) and a flush every 32 writes.
	log=$(fio --name=verify --filename=/dev/mapper/dmd_fio --direct=1 \
		--ioengine=libaio --iodepth=16 --numjobs=2 --rw=randwrite --bs=4k \
		--size=1M --offset_increment=2M --verify=crc32c --verify_backlog=64 \
		--verify_fatal=1 --fsync=32 --group_reporting 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && ! echo "$log" | grep -qi "verify.*bad\|crc32c: verify failed"; then
		ktap_test_pass "fio crc32c verify, mixed reads and writes: $t"
	else
		echo "$log" | tail -n 15 | sed 's/^/# fio: /'
		ktap_test_fail "fio crc32c verify, mixed reads and writes: $t"
	fi
	dm_remove dmd_fio
done

dmd_cleanup
check "kernel log clean" dmesg_clean
ktap_finished
