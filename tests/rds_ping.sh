#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: rds
#
# RDS pings over soft-RoCE with the rust_rds_ib_addr livepatch enabled:
# the guest's own rxe address answers, over IPv4 and IPv6, and the patch is
# visible in sysfs. A ping from one veth end to the other is tried and its
# outcome reported (see the note in the output).

. "$(dirname "$0")/rds_lib.sh"

ktap_print_header
ktap_set_plan 8

rds_setup || ktap_exit_fail_msg "soft-RoCE setup failed"
mod_remove "$LP"
check "livepatch loads" lp_load
check "patch enabled in sysfs" test "$(cat "$LP_SYSFS/enabled")" = 1
check "rds_ib_laddr_check is patched" \
	test "$(cat "$LP_SYSFS/rds_rdma/patched")" = 1 -a \
	-d "$LP_SYSFS/rds_rdma/rds_ib_laddr_check,1"

out=$(rds_ping -c 3 -i 0.2 -w 20 -I "$A4" "$A4" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "rds-ping $A4 -> $A4 gets pongs" test $rc = 0 -a "$(echo "$out" | grep -c usec)" -ge 1

out=$(rds_ping -c 3 -i 0.2 -w 20 -I "$A6" "$A6" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "rds-ping $A6 -> $A6 gets pongs" test $rc = 0 -a "$(echo "$out" | grep -c usec)" -ge 1

# Between the two ends: both addresses are local to the one namespace.
out=$(rds_ping -c 2 -i 0.5 -w 5 -I "$A4" "$B4" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
ktap_print_msg "rds-ping $A4 -> $B4: exit $rc (informational)"

check "livepatch unloads" lp_unload
check "rds-ping still works without the livepatch" rds_ping -c 1 -w 20 -I "$A4" "$A4"
check "kernel log clean" dmesg_clean
ktap_finished
