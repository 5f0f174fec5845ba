#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# Create/remove cycles over 3-, 6- and 9-argument tables with millisecond
# and microsecond delays, reading through every tenth device; nothing leaks,
# and the module unloads afterwards. 30 cycles in make check (each about
# 1.5 s in the debug VM), 300 in make stress (STRESS=1).

. "$(dirname "$0")/dm_delay_lib.sh"

V=$(devno "$(mkloop 8)")

ktap_print_header
ktap_set_plan 3

CYCLES=$([ "${STRESS:-0}" = 1 ] && echo 300 || echo 30)
load_rust
DMD_NAMES+=(dmd_cycle)
ok=0
for i in $(seq "$CYCLES"); do
	case $((i % 3)) in
	0) args="$V 0 $((i % 7))" ;;
	1) args="$V 8 ${i}us $V 16 1" ;;
	2) args="$V 0 1 $V 0 0 $V 0 ${i}us" ;;
	esac
	$DMS create dmd_cycle <<<"0 8192 delay $args" >/dev/null 2>&1 || ok=1
	if [ $((i % 10)) -eq 0 ]; then
		dd if=/dev/mapper/dmd_cycle of=/dev/null bs=4k count=4 iflag=direct status=none || ok=1
	fi
	$DMS remove dmd_cycle || ok=1
done
check "$CYCLES create/remove cycles" test $ok -eq 0
check "rmmod succeeds after the cycles" rmmod rust_dm_delay

dmd_cleanup
check "kernel log clean (no leak)" dmesg_clean
ktap_finished
