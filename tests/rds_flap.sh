#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: rds
#
# rds-ping after an address flap (issue 17, finding 9): with the livepatch,
# rds-ping to rxe0's own address works, the address is deleted (a bind is
# refused), added back, and after 1 s rds-ping must get its pongs again, and
# the address must be cached once a bind has succeeded. Upstream's check,
# after the livepatch is unloaded, is held to the same sequence.
#
# After the flap the first pong takes about 3 s, with ours and with
# upstream alike: RDS reconnects, and the three pongs come back together.
# rds-tools' rds-ping -c 3 sends at 0, 1 and 2 s and exits at 3 s without
# waiting for late pongs, so it reports 0 or 3 depending on which side of
# 3 s the reconnection lands. With oracle/rds-tools' own rds-ping, six flaps
# each in one boot: ours 3 pongs in 3 runs (first pong 2.72-2.98 s), 0 in 3;
# upstream 3 in 4 (2.60-2.96 s), 0 in 2. tests/rds-ping waits (-w 10) and
# counts them.

. "$(dirname "$0")/rds_lib.sh"

ktap_print_header
ktap_set_plan 9

rds_setup || ktap_exit_fail_msg "soft-RoCE setup failed"
mod_remove "$LP"
check "livepatch loads" lp_load

# Pings A4 from A4 $1 times (-c 1 each); prints how many runs got a pong.
pings() {
	local out
	out=$(rds_ping -r "$1" -c 1 -w 5 -I "$A4" "$A4" 2>&1)
	echo "$out" | sed -n 's/^runs [0-9]* with_pong \([0-9]*\)$/\1/p'
}

# Deletes A4 from veth0 and adds it back; prints the errno of a bind while
# it is gone.
flap() {
	ip addr del "$A4/24" dev veth0
	rds_bind -e EADDRNOTAVAIL "$A4"
	ip addr add "$A4/24" dev veth0
	sleep 1
}

# Prints the pongs of rds-ping -c 3 (under 30 s); its output, with the
# round trips, goes to the log.
pongs() {
	local out
	out=$(timeout 30 "$TESTS_DIR/rds-ping" -c 3 -i 0.2 -w 10 -I "$A4" "$A4" 2>&1)
	echo "$out" | sed 's/^/# /' >&2
	echo "$out" | grep -c ' usec$'
}

expect_eq "rds-ping before the flap: 10 runs with a pong" 10 "$(pings 10)"
expect_eq "while the address is gone, a bind fails" EADDRNOTAVAIL "$(flap)"
s0=$(ctr slow_checks)
expect_eq "after the address is back: 3 pongs" 3 "$(pongs)"
ktap_print_msg "table: $(cat "$DBG/table" | tr '\n' ';')"
check "the address is cached again" grep -q "^$A4 " "$DBG/table"
expect_ge "it took a slow check" 1 $(($(ctr slow_checks) - s0))

check "livepatch unloads" lp_unload
flap >/dev/null
expect_eq "upstream, after the same flap: 3 pongs" 3 "$(pongs)"
check "kernel log clean" dmesg_clean
ktap_finished
