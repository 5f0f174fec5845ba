#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: rds
#
# Bind counting, the monitor's workload in small: one warm-up rds-ping to
# the guest's own rxe address, then 66 rds-ping runs of 8 sockets each (528
# binds; tests/rds-ping -r does the runs in one process). With the fast
# path on, the warm-up takes exactly one slow check and the 66 runs none: no CM ID, and a kprobe on
# rdma_bind_addr sees no call. With fast_path=0 (legacy, FAST_PATH=0 in the
# environment: rds_bind_count_legacy.sh), every bind creates a CM ID and
# calls rdma_bind_addr.

. "$(dirname "$0")/rds_lib.sh"

FAST_PATH=${FAST_PATH:-1}
RUNS=66
ktap_print_header
if [ "$FAST_PATH" = 1 ]; then ktap_set_plan 10; else ktap_set_plan 7; fi

rds_setup || ktap_exit_fail_msg "soft-RoCE setup failed"
mod_remove "$LP"

# Runs rds-ping $RUNS times to $A4, one ping each (one process; each
# run opens and binds its 8 sockets anew); prints how many runs got a pong.
ping_runs() {
	rds_ping -r "$RUNS" -c 1 -w 10 -I "$A4" "$A4" | awk '/^runs/ { print $4 }'
}

counters() { echo "slow_checks $(ctr slow_checks) cm_ids_created $(ctr cm_ids_created) fast_hits $(ctr fast_hits)"; }

check "livepatch loads (fast_path=$FAST_PATH)" lp_load fast_path="$FAST_PATH"
s0=$(ctr slow_checks) c0=$(ctr cm_ids_created)
if [ "$FAST_PATH" = 1 ]; then
	check "warm-up rds-ping gets a pong" rds_ping -c 1 -w 30 -I "$A4" "$A4"
	ktap_print_msg "after warm-up: $(counters)"
	expect_eq "warm-up: exactly 1 slow check and 1 cm_id" "1 1" \
		"$(($(ctr slow_checks) - s0)) $(($(ctr cm_ids_created) - c0))"
else
	rds_ping -c 1 -w 30 -I "$A4" "$A4" >/dev/null
	ktap_print_msg "after warm-up: $(counters)"
fi

s1=$(ctr slow_checks) c1=$(ctr cm_ids_created) f1=$(ctr fast_hits)
prof_start rdma_bind_addr rds_bind
pongs=$(ping_runs)
calls=$(prof_hits rdma_bind_addr)
binds=$(prof_hits rds_bind)
slow=$(($(ctr slow_checks) - s1)) cms=$(($(ctr cm_ids_created) - c1)) hits=$(($(ctr fast_hits) - f1))
ktap_print_msg "fast_path=$FAST_PATH: $RUNS runs, $pongs with a pong; rds_bind $binds, rdma_bind_addr $calls; added slow_checks $slow, cm_ids_created $cms, fast_hits $hits; totals $(counters)"
expect_eq "fast_path=$FAST_PATH: every run got its pong" "$RUNS" "$pongs"
if [ "$FAST_PATH" = 1 ]; then
	expect_eq "fast_path=1: 528 binds" 528 "$binds"
	expect_eq "fast_path=1: 0 slow checks and 0 cm_ids" "0 0" "$slow $cms"
	expect_ge "fast_path=1: >= 528 fast-path hits" 528 "$hits"
	expect_eq "fast_path=1: rdma_bind_addr called 0 times" 0 "$calls"
else
	expect_ge "fast_path=0: >= 528 slow checks" 528 "$slow"
	expect_ge "fast_path=0: >= 528 cm_ids" 528 "$cms"
	expect_ge "fast_path=0: rdma_bind_addr called >= 528 times" 528 "$calls"
fi
check "livepatch unloads" lp_unload
check "kernel log clean" dmesg_clean
ktap_finished
