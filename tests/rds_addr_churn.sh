#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: rds
#
# rust_rds_ib_addr under churn, on a third veth pair with its own RDMA
# device (rxef0 on vethf0, 198.51.100.1 and fd01::1), while four binders
# bind the addresses of rxe0 and rxe1 (A4, A6, B4, B6), 20 ms apart:
# - address flaps: the two addresses, in turn, are deleted and added back;
# - RDMA link flaps: every tenth flap, rxef0 is deleted and added back too,
#   and both addresses are checked as after their own delete and add.
# After each delete returns, a bind to the address must fail, and it must
# not be in the table; after each add, once rxef0 has its GID, the first
# bind must succeed. Three times in the run, the livepatch is disabled,
# removed and loaded again, the binders still running. The binders must
# never see a failure. 20 address flaps (2 link flaps) in make check, 1000
# (100) in make stress (STRESS=1).

. "$(dirname "$0")/rds_lib.sh"

FLAPS=${RDS_ADDR_FLAPS:-$([ "${STRESS:-0}" = 1 ] && echo 1000 || echo 20)}
LP_EVERY=$((FLAPS / 4))
F4=198.51.100.1
F6=fd01::1

ktap_print_header
ktap_set_plan 11

rds_setup || ktap_exit_fail_msg "soft-RoCE setup failed"
ip link show vethf0 >/dev/null 2>&1 || ip link add vethf0 type veth peer name vethf1
ip addr replace "$F4/24" dev vethf0
ip -6 addr replace "$F6/64" dev vethf0 nodad
ip link set vethf0 up && ip link set vethf1 up
rdma link add rxef0 type rxe netdev vethf0
wait_gid rxef0 "$F4" && wait_gid rxef0 "$F6" || ktap_exit_fail_msg "no GID for $F4 or $F6"
mod_remove "$LP"
# Loads the livepatch, and has it cache both addresses (so that each delete
# has an entry to invalidate).
lp_load_cached() {
	lp_load && [ "$(rds_bind "$F4")$(rds_bind "$F6")" = okok ]
}
check "livepatch loads" lp_load_cached

# A pause of 20 ms after each bind leaves the 2 vCPUs to the flaps.
binders_start "-e ok -p 20000" "$A4" "$A6" "$B4" "$B6"

# Counters summed over the livepatch's loads.
inval=0 fast=0
count_lp() {
	inval=$((inval + $(ctr invalidations_addr)))
	fast=$((fast + $(ctr fast_hits)))
}

# beside NAME CMD...: starts CMD beside the test, its input and output on
# FIFOs, whose ends this shell holds in NAME_W and NAME_R (CMD's pid in
# NAME_PID). A process start costs a quarter of a second in the debug VM,
# and a flap would need four.
beside() {
	local -n w=${1}_W r=${1}_R pid=${1}_PID
	local dir=$SCRATCH/$1
	mkfifo "$dir.in" "$dir.out" || return 1
	"${@:2}" <"$dir.in" >"$dir.out" 2>&1 &
	pid=$!
	exec {w}>"$dir.in" {r}<"$dir.out"
}
SCRATCH=$(mktemp -d)
beside IP ip -force -batch - && beside BIND "$TESTS_DIR/rds-bind" -s ||
	ktap_exit_fail_msg "cannot start ip -batch and rds-bind -s"

# Runs "ip ARG..." in the ip beside the test and waits until it is done (a
# command after it fails at once, naming ipb-sync); on an error, prints it,
# counts it in ip_failed and returns 1.
ipb() {
	local line err=
	printf '%s\nlink show dev ipb-sync\n' "$*" >&"$IP_W"
	while read -r line <&"$IP_R"; do
		case $line in
		"Command failed"*) ;;
		*ipb-sync*) break ;;
		*) err+="$line " ;;
		esac
	done
	[ -z "$err" ] && return
	ktap_print_msg "ip $*: $err"
	ip_failed=$((ip_failed + 1))
	return 1
}

# Sets GOT to the outcome of one bind to $1: ok or an errno name.
bind1() {
	echo "$1" >&"$BIND_W" && read -r GOT <&"$BIND_R"
}

# After a delete (flap $1) of the address $2: a bind fails, nothing cached.
gone() {
	local line
	bind1 "$2"
	[ "$GOT" = EADDRNOTAVAIL ] || gone_bound+="$1:$GOT "
	while read -r line; do
		[[ $line == "$2 "* ]] && gone_cached+="$1 "
	done <"$DBG/table"
}

# After an add (flap $1) of the address $2, once rxef0 has its GID, the
# first bind succeeds; lap $3 counts the wait for the GID.
back() {
	wait_gid rxef0 "$2" || unready=$((unready + 1))
	lap "$3"
	bind1 "$2"
	[ "$GOT" = ok ] || back_refused+="$1:$GOT "
}

# Time spent per step, without a fork: lap N adds the microseconds since
# the last lap to T[N].
T=(0 0 0 0 0 0 0) t0=${EPOCHREALTIME/./}
lap() {
	local t=${EPOCHREALTIME/./}
	T[$1]=$((T[$1] + t - t0))
	t0=$t
}

gone_bound= gone_cached= back_refused= unready=0 ip_failed=0 reloads=0 reload_failed=0 links=0
for ((i = 1; i <= FLAPS; i++)); do
	a=$F4 o=$F6 len=24 nodad=
	((i % 2)) && a=$F6 o=$F4 len=64 nodad=nodad
	ipb addr del "$a/$len" dev vethf0
	lap 0
	gone "$i" "$a"
	lap 1
	ipb addr add "$a/$len" dev vethf0 $nodad
	back "$i" "$a" 3
	lap 2
	if ((i % 10 == 0)); then
		links=$((links + 1))
		rdma link delete rxef0
		gone "link $i" "$a"
		gone "link $i" "$o"
		lap 4
		rdma link add rxef0 type rxe netdev vethf0
		back "link $i" "$a" 5
		# Both addresses again, so that the next delete of each has an
		# entry to invalidate.
		back "link $i" "$o" 5
		lap 5
	fi
	if ((i % LP_EVERY == 0 && i < FLAPS)); then
		count_lp
		reloads=$((reloads + 1))
		lp_unload && lp_load_cached || reload_failed=$((reload_failed + 1))
		lap 6
	fi
done
count_lp

binders_stop
ktap_print_msg "ms per address flap: delete $((T[0] / FLAPS / 1000)), check $((T[1] / FLAPS / 1000)), add and GID $((T[3] / FLAPS / 1000)), first bind $((T[2] / FLAPS / 1000)); per link flap: delete and check $((links ? T[4] / links / 1000 : 0)), add, GID and bind $((links ? T[5] / links / 1000 : 0)); $((T[6] / 1000)) ms in all for the reloads"
ktap_print_msg "$FLAPS address flaps, $links link flaps, $reloads livepatch reloads, $BINDS binds by the binders, $inval invalidations, $fast fast-path hits"

expect_eq "every ip addr del and add succeeded" 0 "$ip_failed"
expect_eq "a bind fails after each delete (failed: flap:errno)" "" "$gone_bound"
expect_eq "no address cached after its delete (flaps)" "" "$gone_cached"
expect_eq "the first bind after each add succeeds (failed: flap:errno)" "" "$back_refused"
expect_eq "rxef0 got the GID back after each add" 0 "$unready"
expect_eq "livepatch reloaded under the binders $reloads times" 0 "$reload_failed"
expect_eq "the binders never failed ($BINDS binds)" 0 "$UNEXPECTED"
expect_ge "each address delete invalidated a cached address" "$FLAPS" "$inval"
check "livepatch unloads" lp_unload
rdma link delete rxef0
ip link del vethf0
exec {IP_W}>&- {BIND_W}>&-
wait "$IP_PID" "$BIND_PID"
rm -rf "$SCRATCH"
check "kernel log clean" dmesg_clean
ktap_finished
