#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: rds
#
# RDS pings over soft-RoCE with the rust_rds_ib_addr livepatch enabled:
# - the guest's own rxe address answers, over IPv4 and IPv6, and the 8
#   binds of each rds-ping go through the patch;
# - from one veth end to the other: both addresses are local to the one
#   namespace, so by default the kernel routes between them over lo, and
#   soft-RoCE, which receives only on the netdev of an rxe device, never
#   sees the packets. With policy routing that sends 192.0.2.1 <-> 192.0.2.2
#   over the veth wire (and accept_local), the RDS/IB connection is made
#   between rxe0 and rxe1 and the ping gets its pongs;
# - after the livepatch is unloaded, rds-ping still works (upstream code).

. "$(dirname "$0")/rds_lib.sh"

ktap_print_header
ktap_set_plan 16

rds_setup || ktap_exit_fail_msg "soft-RoCE setup failed"
mod_remove "$LP"
check "livepatch loads" lp_load
check "rds_ib_laddr_check is patched" \
	test "$(cat "$LP_SYSFS/enabled") $(cat "$LP_SYSFS/rds_rdma/patched")" = "1 1" -a \
	-d "$LP_SYSFS/rds_rdma/rds_ib_laddr_check,1"

# Pings $3 from $2 (-c 3); checks 3 pongs and that the 8 binds went
# through the patch. RDS also asks the transports about the peer's address
# when it creates a connection (rds_conn_create(), to detect loopback), so
# the first ping to a peer makes a check or two more than it binds.
ping_expect() {
	local desc=$1 src=$2 dst=$3 s0 f0 out rc binds
	s0=$(ctr slow_checks) f0=$(ctr fast_hits)
	prof_start rds_bind
	out=$(rds_ping -c 3 -i 0.2 -w 20 -I "$src" "$dst" 2>&1)
	rc=$?
	binds=$(prof_hits rds_bind)
	echo "$out" | sed 's/^/# /'
	expect_eq "$desc: 3 pongs" "0 3" "$rc $(echo "$out" | grep -c ' usec$')"
	expect_ge "$desc: the 8 binds ($binds rds_bind calls) went through the patch" \
		"$binds" $(($(ctr slow_checks) - s0 + $(ctr fast_hits) - f0))
	expect_eq "$desc: 8 binds" 8 "$binds"
}

ping_expect "rds-ping $A4 -> $A4" "$A4" "$A4"
ping_expect "rds-ping $A6 -> $A6" "$A6" "$A6"

# Between the two ends, with the default routes: over lo.
out=$(rds_ping -c 2 -i 0.5 -w 5 -I "$A4" "$B4" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
ktap_print_msg "rds-ping $A4 -> $B4 with the default routes: exit $rc, $(echo "$out" | grep -c ' usec$') pongs; route: $(ip route get "$B4" from "$A4" | head -n1)"

# Over the veth wire: local delivery only for packets that come in on a
# veth; A4 <-> B4 routed out of the veths.
wire_routes() {
	local op=$1 c
	for c in all veth0 veth1; do
		sysctl -qw "net.ipv4.conf.$c.accept_local=$([ "$op" = add ] && echo 1 || echo 0)" \
			"net.ipv4.conf.$c.rp_filter=0"
	done
	if [ "$op" = add ]; then
		ip rule add pref 100 iif veth0 lookup local
		ip rule add pref 101 iif veth1 lookup local
		ip rule add pref 102 from "$A4" to "$B4" lookup 100
		ip rule add pref 103 from "$B4" to "$A4" lookup 100
		ip route add "$B4/32" dev veth0 src "$A4" table 100
		ip route add "$A4/32" dev veth1 src "$B4" table 100
		ip rule add pref 200 lookup local
		ip rule del pref 0 lookup local
	else
		ip rule add pref 0 lookup local
		for c in 100 101 102 103 200; do ip rule del pref $c; done
		ip route flush table 100
	fi
}
rx_packets() { cat /sys/class/net/veth1/statistics/rx_packets; }

wire_routes add
ktap_print_msg "route $A4 -> $B4: $(ip route get "$B4" from "$A4" | head -n1)"
rx0=$(rx_packets)
ping_expect "rds-ping $A4 -> $B4 over the veth wire" "$A4" "$B4"
rx=$(($(rx_packets) - rx0))
ktap_print_msg "veth1 received $rx packets"
check "the pings crossed the veth wire" test "$rx" -gt 0
wire_routes del
check "default routing restored" \
	sh -c "ip route get '$B4' from '$A4' | grep -q '^local'"

check "livepatch unloads" lp_unload
check "rds-ping still works without the livepatch" \
	rds_ping -c 1 -w 20 -I "$A4" "$A4"
check "kernel log clean" dmesg_clean
ktap_finished
