#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: rds
#
# rust_rds_ib_addr never answers from a stale entry: after the address is
# deleted, its RDMA device is deleted, or its network device goes down or
# away, the next bind takes the slow path and gets upstream's answer; once
# the address is usable again, one slow check caches it again.

. "$(dirname "$0")/rds_lib.sh"

ktap_print_header
ktap_set_plan 31

rds_setup || ktap_exit_fail_msg "soft-RoCE setup failed"
mod_remove "$LP"
check "livepatch loads" lp_load

# Binds $A4 once; checks the outcome and how many slow checks it took.
bind_expect() {
	local desc=$1 want=$2 slow=$3 s0 got
	s0=$(ctr slow_checks)
	got=$(rds_bind -e "$want" "$A4")
	expect_eq "$desc: bind $want" "$want" "$got"
	expect_eq "$desc: $slow slow check(s)" "$slow" $(($(ctr slow_checks) - s0))
}

# The address gets cached, then is answered on the fast path.
bind_expect "first bind" ok 1
bind_expect "second bind" ok 0
expect_eq "one entry" 1 "$(ctr entries)"

# Address deleted.
ip addr del "$A4/24" dev veth0
expect_eq "address deletion invalidates" 1 "$(ctr invalidations_addr)"
bind_expect "after ip addr del" EADDRNOTAVAIL 1
ip addr add "$A4/24" dev veth0
wait_gid rxe0 "$A4"
bind_expect "after re-adding the address" ok 1
bind_expect "then" ok 0

# RDMA device deleted.
rdma link delete rxe0
expect_eq "RDMA device removal invalidates" 1 "$(ctr invalidations_rdma_dev)"
bind_expect "after rdma link delete" EADDRNOTAVAIL 1
rdma link add rxe0 type rxe netdev veth0
wait_gid rxe0 "$A4"
bind_expect "after rdma link add" ok 1
bind_expect "then" ok 0

# Network device down: whatever upstream answers, it is not cached while
# the device is down.
ip link set veth0 down
expect_eq "netdev down invalidates" 1 "$(ctr invalidations_netdev)"
s0=$(ctr slow_checks)
down=$(rds_bind -e any "$A4")
rds_bind -e any "$A4" >/dev/null
ktap_print_msg "bind while veth0 is down: $down"
expect_eq "while down: every bind takes the slow path" 2 $(($(ctr slow_checks) - s0))
ip link set veth0 up
wait_gid rxe0 "$A4"
bind_expect "after link up" ok 1

# Network device away: the pair and its RDMA devices are deleted.
ip link del veth0
wait_ibdev rxe0 gone
bind_expect "after ip link del" EADDRNOTAVAIL 1
check "no entries left" test "$(ctr entries)" = 0
rds_setup
bind_expect "after recreating the pair" ok 1

check "livepatch unloads" lp_unload
check "kernel log clean" dmesg_clean
ktap_finished
