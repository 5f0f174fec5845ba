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
#
# Every other cycle also reloads the table: 3, 6 or 9 arguments, delays of
# 1 to 10 s in all three units, and for each triple one of three devices
# that reach the same blocks (the loop device at 2048, a linear device on
# it at 0, another at 2048), so that fio's blocks verify only if each bio
# went where its table sent it. After the resume the new table is live.

. "$(dirname "$0")/dm_delay_lib.sh"

CYCLES=$([ "${STRESS:-0}" = 1 ] && echo 100 || echo 20)
BOUND_MS=5000

ktap_print_header
ktap_set_plan 7

load_rust
LV=$(mkloop 16)
V=$(devno "$LV")
out=$(dm_create dmd_susp 16384 $V 2048 10000) || ktap_print_msg "create failed: $out"
# Three ways to the same 8 MiB of LV (removed after dmd_susp, which may
# hold them).
echo "0 16384 linear $V 2048" | $DMS create dmd_lin0 && DMD_NAMES+=(dmd_lin0)
echo "0 20480 linear $V 0" | $DMS create dmd_lin2 && DMD_NAMES+=(dmd_lin2)
WAYS=("$V 2048" "$(basename "$(dmsys dmd_lin0)") 0" "$(basename "$(dmsys dmd_lin2)") 2048")
X=/dev/mapper/dmd_susp

fio_verify_start $X 4

# Milliseconds since the epoch, without a fork ($EPOCHREALTIME).
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# Sets table to a random one: 3, 6 or 9 arguments, each triple one of WAYS
# with a delay of 1-10 s in ms, us or no unit. (Not in a subshell, where
# $RANDOM would repeat itself.)
random_table() {
	local n=$((RANDOM % 3 + 1)) t ms p=
	for ((t = 0; t < n; t++)); do
		ms=$((1000 + RANDOM % 9001))
		case $((RANDOM % 3)) in
		1) ms=${ms}ms ;;
		2) ms=${ms}000us ;;
		esac
		p+="${p:+ }${WAYS[RANDOM % 3]} $ms"
	done
	table="0 16384 delay $p"
}

max=0 held=0 not_empty= cycle=0 reloads=0 not_live=
for ((cycle = 1; cycle <= CYCLES; cycle++)); do
	kill -0 $FIO_PID 2>/dev/null || break
	# Wait (10 s at most) until the target holds a bio.
	for ((i = 0; i < 100; i++)); do
		read -r _ _ _ r w f < <($DMS status dmd_susp)
		[ $((r + w + f)) -gt 0 ] && break
		sleep 0.1
	done
	held=$((held + r + w + f))
	table=
	if ((cycle % 2 == 0)); then
		random_table
		$DMS load dmd_susp --table "$table"
	fi
	t=$(now_ms)
	$DMS suspend dmd_susp
	t=$(($(now_ms) - t))
	[ $t -gt $max ] && max=$t
	s=$($DMS status dmd_susp | cut -d' ' -f4-)
	[ "$s" = "0 0 0" ] || not_empty+="cycle $cycle: $s; "
	$DMS resume dmd_susp
	if [ -n "$table" ]; then
		reloads=$((reloads + 1))
		[ "$($DMS table dmd_susp)" = "$table" ] || not_live+="cycle $cycle: $table; "
	fi
done
cycle=$((cycle - 1))
fio_alive=0
kill -0 $FIO_PID 2>/dev/null && fio_alive=1

ktap_print_msg "$cycle cycles, $reloads reloads, $held bios waiting at the suspends; longest suspend $max ms"
check "fio verified I/O in flight for all $CYCLES cycles" test $cycle = $CYCLES -a $fio_alive = 1
check "every suspend returned within $BOUND_MS ms (longest $max ms)" test $max -le $BOUND_MS
[ -z "$not_empty" ] || ktap_print_msg "held while suspended: $not_empty"
check "nothing held while suspended" test -z "$not_empty"
[ -z "$not_live" ] || ktap_print_msg "not live after the resume: $not_live"
check "every reloaded table is live after its resume ($reloads)" test -z "$not_live" -a $reloads = $((CYCLES / 2))
check "every block verifies" fio_verify_stop dmd_susp
check "nothing left in flight" test "$($DMS status dmd_susp | cut -d' ' -f4-)" = "0 0 0"
dm_remove dmd_susp

dmd_cleanup
check "kernel log clean" dmesg_clean
ktap_finished
