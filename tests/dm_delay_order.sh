#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# The bios of one batch go down in order of arrival across the classes, as
# C submits them from its one list. A suspend hands every delayed bio down
# as one batch: of a delayed read and a delayed write, the one that came
# first must be remapped to the device first. The order is read from the
# block_bio_remap trace event, which dm_submit_bio_remap() emits as it hands
# a bio down (what the device below does with them later may differ). Ours
# must agree with the C target in the same boot.

. "$(dirname "$0")/dm_delay_lib.sh"

LV=$(mkloop 16)
V=$(devno "$LV")
X=/dev/mapper/dmd_order
T=/sys/kernel/tracing
[ -e $T/trace ] || mount -t tracefs nodev $T
EV=$T/events/block/block_bio_remap

ktap_print_header
ktap_set_plan 4

# Issues a read and a write, the one named $1 first, both delayed 60 s,
# suspends while both wait, and prints the classes in the order they went
# down ("R W" or "W R"; "late" if they were not both waiting).
suspend_order() {
	local out late=
	out=$(dm_create dmd_order 8192 $V 0 60000) || ktap_print_msg "create failed: $out"
	if [ "$1" = write ]; then
		dd if=/dev/zero of=$X bs=4k count=1 oflag=direct status=none &
		wait_status dmd_order 4-5 "0 1"
	fi
	dd if=$X of=/dev/null bs=4k count=1 iflag=direct status=none &
	wait_status dmd_order 4 1
	if [ "$1" = read ]; then
		dd if=/dev/zero of=$X bs=4k count=1 oflag=direct status=none &
	fi
	wait_status dmd_order 4-5 "1 1" || late=1
	: >$T/trace
	echo 1 >$EV/enable
	$DMS suspend dmd_order
	wait
	echo 0 >$EV/enable
	$DMS resume dmd_order
	dm_remove dmd_order
	if [ -n "$late" ]; then
		echo late
	else
		# "... block_bio_remap: 7,0 WS 0 + 8 <- (253,0) 0": the class is
		# the first letter after the device.
		awk '/block_bio_remap:/ { for (i = 1; i < NF; i++) if ($i ~ /^[0-9]+,[0-9]+$/) { printf "%s ", substr($(i + 1), 1, 1); break } }' $T/trace | sed 's/ $//'
	fi
}

mod_unload rust_dm_delay
modprobe dm_delay
c_write=$(suspend_order write) c_read=$(suspend_order read)
ktap_print_msg "C dm_delay: write first -> $c_write; read first -> $c_read"
check "C dm_delay submits a suspend's batch in order of arrival" \
	test "$c_write|$c_read" = "W R|R W"

load_rust
got=$(suspend_order write)
check "a write that came first goes down first ($got; C: $c_write)" test "$got" = "$c_write"
got=$(suspend_order read)
check "a read that came first goes down first ($got; C: $c_read)" test "$got" = "$c_read"

dmd_cleanup
check "kernel log clean" dmesg_clean
ktap_finished
