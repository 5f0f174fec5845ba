#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# Suspend and resume, cycle after cycle, with verified I/O in flight: fio
# (4 jobs x iodepth 8, crc32c) writes and reads back through a target whose
# bios wait 10 s, and each cycle suspends while bios wait there. Presuspend
# hands them all down, so every suspend must return within 5 s; without the
# hand-down, dm_suspend would wait out their delays. While suspended the
# target holds nothing, no block fails to verify, and at the end nothing is
# left in flight. 20 cycles in make check, 100 in make stress (STRESS=1).

. "$(dirname "$0")/dm_delay_lib.sh"

CYCLES=$([ "${STRESS:-0}" = 1 ] && echo 100 || echo 20)
BOUND_MS=5000

ktap_print_header
ktap_set_plan 6

load_rust
LV=$(mkloop 16)
V=$(devno "$LV")
out=$(dm_create dmd_susp 16384 $V 0 10000) || ktap_print_msg "create failed: $out"
X=/dev/mapper/dmd_susp

fio --name=susp --filename=$X --direct=1 --ioengine=libaio --thread --iodepth=8 \
	--numjobs=4 --rw=randwrite --bs=4k --size=1m --offset_increment=1m \
	--verify=crc32c --verify_backlog=16 --verify_fatal=1 --time_based --runtime=3600 \
	--group_reporting --output="$DMD_WORK/fio.log" >/dev/null 2>&1 &
fio_pid=$!

# Milliseconds since the epoch, without a fork ($EPOCHREALTIME).
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

max=0 held=0 not_empty= cycle=0
for ((cycle = 1; cycle <= CYCLES; cycle++)); do
	kill -0 $fio_pid 2>/dev/null || break
	# Wait (10 s at most) until the target holds a bio.
	for ((i = 0; i < 100; i++)); do
		read -r _ _ _ r w f < <($DMS status dmd_susp)
		[ $((r + w + f)) -gt 0 ] && break
		sleep 0.1
	done
	held=$((held + r + w + f))
	t=$(now_ms)
	$DMS suspend dmd_susp
	t=$(($(now_ms) - t))
	[ $t -gt $max ] && max=$t
	s=$($DMS status dmd_susp | cut -d' ' -f4-)
	[ "$s" = "0 0 0" ] || not_empty+="cycle $cycle: $s; "
	$DMS resume dmd_susp
done
cycle=$((cycle - 1))
fio_alive=0
kill -0 $fio_pid 2>/dev/null && fio_alive=1
kill -INT $fio_pid 2>/dev/null
$DMS suspend dmd_susp && $DMS resume dmd_susp
wait $fio_pid

ktap_print_msg "$cycle cycles, $held bios waiting at the suspends; longest suspend $max ms"
check "fio verified I/O in flight for all $CYCLES cycles" test $cycle = $CYCLES -a $fio_alive = 1
check "every suspend returned within $BOUND_MS ms (longest $max ms)" test $max -le $BOUND_MS
[ -z "$not_empty" ] || ktap_print_msg "held while suspended: $not_empty"
check "nothing held while suspended" test -z "$not_empty"
# fio exits non-zero on SIGINT; its job line says "err= 0:" when no I/O or
# verify error stopped it (a bad block is "err=84", EILSEQ).
if grep -q 'jobs=4): err= 0:' "$DMD_WORK/fio.log" &&
	! grep -qi "verify.*bad\|verify failed" "$DMD_WORK/fio.log"; then
	ktap_test_pass "every block verifies"
else
	sed 's/^/# fio: /' "$DMD_WORK/fio.log" | tail -n 20
	ktap_test_fail "every block verifies"
fi
check "nothing left in flight" test "$($DMS status dmd_susp | cut -d' ' -f4-)" = "0 0 0"
dm_remove dmd_susp

dmd_cleanup
check "kernel log clean" dmesg_clean
ktap_finished
