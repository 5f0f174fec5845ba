#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# Life cycle under load: a suspend with delayed IO in flight returns long
# before the delay and all IO completes; resume delays again; the table is
# reloaded while fio verifies; devices are removed after IO; rmmod is
# refused while a target exists. (dm_delay_cycles.sh does the 100
# create/remove cycles.)

. "$(dirname "$0")/dm_delay_lib.sh"

LV=$(mkloop 32)
V=$(devno "$LV")
X=/dev/mapper/dmd_life

ktap_print_header
ktap_set_plan 13

load_rust

# A 30 s delay, so that anything finishing sooner was flushed by the suspend.
out=$(dm_create dmd_life 16384 $V 0 30000) || ktap_print_msg "create failed: $out"
head -c 64k /dev/urandom >"$DMD_WORK/pat"
dd if=$X of=/dev/null bs=4k count=1 iflag=direct status=none &
rd=$!
dd if="$DMD_WORK/pat" of=$X bs=64k seek=1 count=1 oflag=direct status=none &
wr=$!
# Wait until both bios are queued in the target.
wait_status dmd_life 4-5 "1 1"
check "status counts the delayed read and write in flight" \
	test "$($DMS status dmd_life | cut -d' ' -f4-)" = "1 1 0"
start=$(date +%s)
$DMS suspend dmd_life
took=$(($(date +%s) - start))
check "suspend with IO in flight returns before the delay ($took s < 20 s)" test $took -lt 20
wait $rd
rrc=$?
wait $wr
wrc=$?
check "the delayed read and write complete" test $rrc -eq 0 -a $wrc -eq 0
check "nothing in flight while suspended" \
	test "$($DMS status dmd_life | cut -d' ' -f4-)" = "0 0 0"
$DMS resume dmd_life
check "the write reached the device" \
	cmp -n 65536 "$DMD_WORK/pat" <(dd if="$LV" bs=64k skip=1 count=1 iflag=direct status=none)
# Delaying again after resume: a read queues once more.
dd if=$X of=/dev/null bs=4k count=1 iflag=direct status=none &
rd=$!
wait_status dmd_life 4 1
check "delaying again after resume" \
	test "$($DMS status dmd_life | cut -d' ' -f4-)" = "1 0 0"
check "a second suspend releases it" $DMS suspend dmd_life
wait $rd
check "the read completes" test $? -eq 0
$DMS resume dmd_life
dm_remove dmd_life

# Reload the table while fio runs and verifies.
out=$(dm_create dmd_life 65536 $V 0 1) || ktap_print_msg "create failed: $out"
fio --name=reload --filename=$X --direct=1 --ioengine=libaio --iodepth=8 \
	--numjobs=2 --rw=randwrite --bs=4k --size=1M --offset_increment=2M \
	--verify=crc32c --verify_backlog=32 --verify_fatal=1 --fsync=16 \
	>"$DMD_WORK/fio.log" 2>&1 &
fiopid=$!
ok=0
for t in "$V 0 0" "$V 0 2" "$V 0 500us $V 0 1 $V 0 3" "$V 0 1"; do
	sleep 1
	echo "0 65536 delay $t" | $DMS reload dmd_life && $DMS resume dmd_life || ok=1
done
wait $fiopid
frc=$?
[ $frc -eq 0 ] || sed 's/^/# fio: /' "$DMD_WORK/fio.log" | tail -n 15
check "table reloads while fio verifies" test $ok -eq 0 -a $frc -eq 0
check "remove after IO" dm_remove dmd_life

# The module is pinned while a target exists.
out=$(dm_create dmd_life 8192 $V 0 1) || ktap_print_msg "create failed: $out"
check "rmmod refused while a target exists" bash -c "! rmmod rust_dm_delay 2>/dev/null"
dm_remove dmd_life

check "rmmod succeeds once no target exists" rmmod rust_dm_delay

dmd_cleanup
check "kernel log clean" dmesg_clean
ktap_finished
