#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: rds
#
# RDS/IB serves the initial network namespace only: a bind in another
# namespace gets no IB transport from rust_rds_ib_addr, even for an address
# that is cached in the initial namespace, and never reaches rdma_cm.

. "$(dirname "$0")/rds_lib.sh"

ktap_print_header
ktap_set_plan 9

NS=rds-test-ns
rds_setup || ktap_exit_fail_msg "soft-RoCE setup failed"
mod_remove "$LP"
check "livepatch loads" lp_load

ip netns del "$NS" 2>/dev/null
ip netns add "$NS"
ip link add vns0 type veth peer name vns1
ip link set vns1 netns "$NS"
ip addr add 192.0.2.201/24 dev vns0
ip link set vns0 up
ip -n "$NS" addr add 192.0.2.202/24 dev vns1
ip -n "$NS" link set vns1 up
ip -n "$NS" link set lo up

# Cache $A4 in the initial namespace.
expect_eq "bind $A4 in init_net" ok "$(rds_bind "$A4")"

s0=$(ctr slow_checks) f0=$(ctr fast_hits) c0=$(ctr cm_ids_created)
prof_start rdma_bind_addr
expect_eq "bind own address in the namespace: no transport" EADDRNOTAVAIL \
	"$(ip netns exec "$NS" "$TESTS_DIR/rds-bind" -e EADDRNOTAVAIL 192.0.2.202)"
expect_eq "bind $A4 in the namespace: no transport" EADDRNOTAVAIL \
	"$(ip netns exec "$NS" "$TESTS_DIR/rds-bind" -e EADDRNOTAVAIL "$A4")"
expect_eq "rdma_bind_addr not called" 0 "$(prof_hits rdma_bind_addr)"
expect_eq "no slow check, no cm_id" "0 0" \
	"$(($(ctr slow_checks) - s0)) $(($(ctr cm_ids_created) - c0))"
expect_eq "no fast-path hit" 0 $(($(ctr fast_hits) - f0))

ip netns del "$NS"
ip link del vns0 2>/dev/null
check "livepatch unloads" lp_unload
check "kernel log clean" dmesg_clean
ktap_finished
