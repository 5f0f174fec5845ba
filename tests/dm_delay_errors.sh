#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# Every invalid table is refused: dmsetup create fails, dmesg carries C's
# reason, nothing leaks (kmemleak), and the underlying devices are left
# unheld, so they can be detached afterwards.

. "$(dirname "$0")/dm_delay_lib.sh"

LA=$(mkloop 8)
LB=$(mkloop 8)
LC=$(mkloop 8)
A=$(devno "$LA")
B=$(devno "$LB")
C=$(devno "$LC")
NX=/dev/dm_delay_no_such_device

ARGC="Requires exactly 3, 6 or 9 arguments"
SECTOR="Invalid device sector"
DELAY="Invalid delay"
LOOKUP="Device lookup failed"

# "error|arguments"
CASES=(
	"$ARGC|"
	"$ARGC|$A"
	"$ARGC|$A 0"
	"$ARGC|$A 0 0 $B"
	"$ARGC|$A 0 0 $B 0"
	"$ARGC|$A 0 0 $B 0 0 $C"
	"$ARGC|$A 0 0 $B 0 0 $C 0"
	"$ARGC|$A 0 0 $B 0 0 $C 0 0 $A"
	"$SECTOR|$A x 0"
	"$SECTOR|$A -1 0"
	"$SECTOR|$A +1 0"
	"$SECTOR|$A 1x 0"
	"$SECTOR|$A 0x10 0"
	"$SECTOR|$A 18446744073709551616 0"
	"$SECTOR|$A 0 0 $B 12a 0"
	"$DELAY|$A 0 x"
	"$DELAY|$A 0 -1"
	"$DELAY|$A 0 +1"
	"$DELAY|$A 0 1x"
	"$DELAY|$A 0 4294967296"
	"$DELAY|$A 0 99999999999999999999"
	"$DELAY|$A 0 10s"
	"$DELAY|$A 0 us"
	"$DELAY|$A 0 ms"
	"$DELAY|$A 0 5usx"
	"$DELAY|$A 0 5msus"
	"$DELAY|$A 0 4294967296us"
	"$DELAY|$A 0 0 $B 0 0 $C 0 bad"
	"$LOOKUP|$NX 0 0"
	"$LOOKUP|$A 0 0 $NX 0 0"
	"$LOOKUP|$A 0 0 $B 0 0 $NX 0 0"
)

ktap_print_header
ktap_set_plan $((${#CASES[@]} + 3))

# Each case costs one dmsetup: a process is slow to start in the debug VM.
# The kernel log is read once, after the last case; a mark before each case
# delimits its lines.
load_rust
rc=() held=() logs=()
for i in "${!CASES[@]}"; do
	echo "ksft-err-$$-$i" >/dev/kmsg
	$DMS create dmd_err <<<"0 8192 delay ${CASES[i]#*|}" >/dev/null 2>&1 && rc[i]=0 || rc[i]=$?
	[ "${rc[i]}" = 0 ] && dm_remove dmd_err
	held_devs "$LA" "$LB" "$LC"
	held[i]=$HELD
done
while IFS=$'\t' read -r i line; do
	logs[i]+=$line$'\n'
done < <(dmesg | awk -v m="ksft-err-$$-" '
	index($0, m) { i = substr($0, index($0, m) + length(m)) + 0; on = 1; next }
	on { print i "\t" $0 }')
for i in "${!CASES[@]}"; do
	msg=${CASES[i]%%|*}
	args=${CASES[i]#*|}
	if [ "${rc[i]}" -ne 0 ] && [[ ${logs[i]:-} == *"delay: $msg"* ]] && [ -z "${held[i]}" ]; then
		ktap_test_pass "refused with '$msg': '$args'"
	else
		ktap_print_msg "rc=${rc[i]} held by dm: ${held[i]:-none}"
		printf '%s' "${logs[i]:-}" | tail -n 3 | sed 's/^/# dmesg: /'
		ktap_test_fail "refused with '$msg': '$args'"
	fi
done

# A loop device still open would only be marked for autoclear; check that
# each one is really gone.
ok=0
for l in "$LA" "$LB" "$LC"; do
	losetup -d "$l" || ok=1
	losetup "$l" >/dev/null 2>&1 && ok=1
done
DMD_LOOPS=()
check "loop devices detach after the failures" test $ok -eq 0
check "rust_dm_delay unloads" rmmod rust_dm_delay
dmd_cleanup
check "kernel log clean (no leak)" dmesg_clean
ktap_finished
