# SPDX-License-Identifier: GPL-2.0
# Shared setup for the rust_rds_ib_addr selftests. Source it from a test
# instead of lib.sh:
#
#   . "$(dirname "$0")/rds_lib.sh"
#
# It sources lib.sh and provides:
#   rds_setup       soft-RoCE on a veth pair: veth0 192.0.2.1 fd00::1 fe80::1
#                   (rxe0), veth1 192.0.2.2 fd00::2 fe80::2 (rxe1)
#   lp_load [P=V]   insmod the livepatch and wait for its transition
#   lp_unload       disable the livepatch, wait, rmmod
#   ctr NAME        a counter of /sys/kernel/debug/rust_rds_ib_addr
#   rds_bind ARGS   tests/rds-bind (prints ok or the errno name; see rds-bind.c)
#   rds_ping ARGS   tests/rds-ping (see rds-ping.c)
#   binders_start OPTS ADDR...  one background `rds-bind -n 0 OPTS ADDR` per
#                   ADDR; binders_stop stops them, sets BINDS and UNEXPECTED
#   wait_gid DEV ADDR   wait until RDMA device DEV has a GID for ADDR
#   prof_start F..  start counting calls of kernel functions F.. (a kprobe
#                   event each; the stock kernel has no function profiler)
#   prof_hits F     stop counting, print the calls of F
#   expect_eq DESC WANT GOT / expect_ge DESC MIN GOT   KTAP checks with
#                   the values as diagnostics

# The first RDS/IB connection of a boot triggers a known upstream lockdep
# report between rds_trans_sem and rdma_cm's handler_mutex (7.2, with no
# module of ours loaded): lockdep reports it once and switches itself off.
KNOWN_REPORT_RE=${KNOWN_REPORT_RE:-rds_trans_sem}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LP=rust_rds_ib_addr
LP_SYSFS=/sys/kernel/livepatch/$LP
DBG=/sys/kernel/debug/$LP
A4=192.0.2.1
B4=192.0.2.2
A6=fd00::1
B6=fd00::2
TRACING=/sys/kernel/tracing

# The C tools are built from tests/*.c by tests/vm/build.sh.
for _t in rds-bind rds-ping; do
	[ -x "$TESTS_DIR/$_t" ] || {
		echo "Bail out! tests/$_t is not built (run tests/vm/build.sh)"
		exit 1
	}
done
rds_bind() { "$TESTS_DIR/rds-bind" "$@"; }
rds_ping() { "$TESTS_DIR/rds-ping" "$@"; }

# Starts one `rds-bind -n 0 OPTS ADDR` loop per ADDR in the background (OPTS:
# rds-bind options, split on spaces).
binders_start() {
	local opts=$1 a
	shift
	BINDERS=()
	for a in "$@"; do
		# shellcheck disable=SC2086
		"$TESTS_DIR/rds-bind" -n 0 $opts "$a" >"/tmp/rds-binder.${#BINDERS[@]}" 2>&1 &
		BINDERS+=($!)
	done
}

# Stops the binders, prints their summaries and each one's first unexpected
# outcomes, and sets BINDS (their binds) and UNEXPECTED (their unexpected
# outcomes; a binder that printed no summary counts as one).
binders_stop() {
	local i n b sums=
	kill -TERM "${BINDERS[@]}"
	wait "${BINDERS[@]}"
	BINDS=0 UNEXPECTED=0
	for ((i = 0; i < ${#BINDERS[@]}; i++)); do
		n= b=
		read -r _ n _ b < <(grep '^binds' "/tmp/rds-binder.$i")
		BINDS=$((BINDS + ${n:-0})) UNEXPECTED=$((UNEXPECTED + ${b:-1}))
		sums+="${sums:+; }${n:-?} binds, ${b:-?} unexpected"
		grep -v '^binds' "/tmp/rds-binder.$i" | head -n 5 | sed "s/^/# binder $i: /"
		rm -f "/tmp/rds-binder.$i"
	done
	ktap_print_msg "binders: $sums"
}

# Reads with shell builtins where it can: each exec is costly in the VM.
ctr() {
	local v
	read -r v <"$DBG/$1" && echo "$v"
}

expect_eq() {
	if [ "$2" = "$3" ]; then
		ktap_test_pass "$1"
	else
		ktap_print_msg "want $2, got $3"
		ktap_test_fail "$1"
	fi
}

expect_ge() {
	if [ -n "$3" ] && [ "$3" -ge "$2" ]; then
		ktap_test_pass "$1"
	else
		ktap_print_msg "want >= $2, got ${3:-nothing}"
		ktap_test_fail "$1"
	fi
}

# Sets GID to the GID of address $1 as 32 hex digits (v4-mapped for IPv4),
# without a fork: each costs a quarter of a second in the debug VM.
gid_of() {
	local a=$1 left right g n i h
	GID=
	if [[ $a != *:* ]]; then
		IFS=. read -r g n i left <<<"$a"
		printf -v GID '00000000000000000000ffff%02x%02x%02x%02x' "$g" "$n" "$i" "$left"
		return
	fi
	if [[ $a == *::* ]]; then
		left=${a%%::*} right=${a##*::}
	else
		left=$a right=
	fi
	local -a L R
	IFS=: read -ra L <<<"$left"
	IFS=: read -ra R <<<"$right"
	n=$((8 - ${#L[@]} - ${#R[@]}))
	for g in "${L[@]}"; do printf -v h %04x "0x$g" && GID+=$h; done
	for ((i = 0; i < n; i++)); do GID+=0000; done
	for g in "${R[@]}"; do printf -v h %04x "0x$g" && GID+=$h; done
}

# Waits up to 20 s until RDMA device $1 lists a GID for address $2. The
# table is read in index order, which is the order ib_core fills it (the
# lowest free entry first), so a GID that is there is found within the
# first few of its 1,024 entries.
wait_gid() {
	local d=/sys/class/infiniband/$1/ports/1/gids i j g
	gid_of "$2"
	for ((i = 0; i < 200; i++)); do
		for ((j = 0; ; j++)); do
			read -r g 2>/dev/null <"$d/$j" || break
			[ "${g//:/}" = "$GID" ] && return 0
		done
		sleep 0.1
	done
	return 1
}

# Waits up to 20 s until RDMA device $1 exists (or, with "gone", is gone).
wait_ibdev() {
	local i
	for i in $(seq 1 200); do
		if [ "${2:-}" = gone ]; then
			[ -e /sys/class/infiniband/"$1" ] || return 0
		else
			[ -e /sys/class/infiniband/"$1" ] && return 0
		fi
		sleep 0.1
	done
	return 1
}

# Creates veth pair $1/$2 (if missing) with addresses, and rxe links $3/$4
# on them ($3/$4 may be empty for no RDMA device).
veth_setup() {
	local a=$1 b=$2 ra=$3 rb=$4 n4a=$5 n4b=$6 n6a=$7 n6b=$8 lla=$9 llb=${10}
	ip link show "$a" >/dev/null 2>&1 || ip link add "$a" type veth peer name "$b"
	ip addr replace "$n4a/24" dev "$a"
	ip addr replace "$n4b/24" dev "$b"
	ip -6 addr replace "$n6a/64" dev "$a" nodad
	ip -6 addr replace "$n6b/64" dev "$b" nodad
	ip -6 addr replace "$lla/64" dev "$a" nodad
	ip -6 addr replace "$llb/64" dev "$b" nodad
	ip link set "$a" up
	ip link set "$b" up
	if [ -n "$ra" ]; then
		[ -e /sys/class/infiniband/"$ra" ] || rdma link add "$ra" type rxe netdev "$a"
		[ -e /sys/class/infiniband/"$rb" ] || rdma link add "$rb" type rxe netdev "$b"
		wait_gid "$ra" "$n4a" && wait_gid "$ra" "$n6a" &&
			wait_gid "$rb" "$n4b" && wait_gid "$rb" "$n6b"
	fi
}

rds_setup() {
	modprobe -q rdma_rxe && modprobe -q rds_rdma && modprobe -q veth &&
		modprobe -q rdma_cm || return 1
	# Automatic link-local addresses would need DAD; fixed ones do not.
	sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
	veth_setup veth0 veth1 rxe0 rxe1 "$A4" "$B4" "$A6" "$B6" fe80::1 fe80::2
}

lp_wait_transition() {
	local i t
	for ((i = 0; i < 300; i++)); do
		read -r t <"$LP_SYSFS/transition" 2>/dev/null && [ "$t" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

lp_load() {
	insmod "$KO_DIR/$LP.ko" "$@" && lp_wait_transition
}

lp_unload() {
	mod_remove "$LP" && ! grep -q "^$LP " /proc/modules
}

prof_start() {
	local f
	[ -e "$TRACING/kprobe_events" ] || mount -t tracefs nodev "$TRACING" 2>/dev/null
	[ -d "$TRACING/events/rdsprof" ] && echo 0 >"$TRACING/events/rdsprof/enable"
	sed -n 's/^p:rdsprof\/\([^ ]*\) .*/-:rdsprof\/\1/p' "$TRACING/kprobe_events" |
		while read -r f; do echo "$f" >>"$TRACING/kprobe_events"; done
	for f in "$@"; do
		echo "p:rdsprof/$f $f" >>"$TRACING/kprobe_events"
	done
	echo 1 >"$TRACING/events/rdsprof/enable"
}

prof_hits() {
	echo 0 >"$TRACING/events/rdsprof/enable"
	awk -v f="$1" '$1 == f || $1 == "rdsprof/" f { s += $2 } END { print s + 0 }' "$TRACING/kprobe_profile"
}
