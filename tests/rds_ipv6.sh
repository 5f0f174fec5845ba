#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: rds
#
# IPv6 with rust_rds_ib_addr: a ULA address on the rxe netdev binds and is
# cached; a link-local address binds with its scope and is cached per
# scope; without a scope RDS refuses it, with another device's scope the
# IB check refuses it; an address without an RDMA device fails over IB and
# goes to TCP once rds_tcp is loaded.

. "$(dirname "$0")/rds_lib.sh"

ktap_print_header
ktap_set_plan 23

rds_setup || ktap_exit_fail_msg "soft-RoCE setup failed"
# A pair without RDMA devices.
veth_setup vnib0 vnib1 "" "" 192.0.2.101 192.0.2.102 fd00::101 fd00::102 fe80::101 fe80::102
mod_remove "$LP"
check "livepatch loads" lp_load

# Binds $2 once; checks the outcome and the slow checks it took.
bind_expect() {
	local desc=$1 addr=$2 want=$3 slow=$4 s0 got
	s0=$(ctr slow_checks)
	got=$(rds_bind -e "$want" "$addr")
	expect_eq "$desc: bind $want" "$want" "$got"
	expect_eq "$desc: $slow slow check(s)" "$slow" $(($(ctr slow_checks) - s0))
}

ifindex0=$(cat /sys/class/net/veth0/ifindex)
bind_expect "ULA $A6" "$A6" ok 1
bind_expect "ULA $A6 again" "$A6" ok 0
bind_expect "link-local fe80::1%veth0" "fe80::1%veth0" ok 1
bind_expect "link-local fe80::1%veth0 again" "fe80::1%veth0" ok 0
check "table lists fe80::1 with its scope" \
	grep -q "^fe80::1 scope $ifindex0 " "$DBG/table"
expect_eq "link-local without scope: RDS refuses it" EINVAL \
	"$(rds_bind -e EINVAL fe80::1)"
bind_expect "link-local fe80::1 with the scope of veth1" "fe80::1%veth1" EADDRNOTAVAIL 1
bind_expect "non-IB fd00::101" fd00::101 EADDRNOTAVAIL 1
bind_expect "non-IB 192.0.2.101" 192.0.2.101 EADDRNOTAVAIL 1

# With rds_tcp, the non-IB address goes to TCP; IB still says no, uncached.
modprobe -q rds_tcp
bind_expect "non-IB fd00::101 with rds_tcp" fd00::101 ok 1
bind_expect "IB $A6 with rds_tcp loaded" "$A6" ok 0
rmmod rds_tcp

check "livepatch unloads" lp_unload
check "kernel log clean" dmesg_clean
ktap_finished
