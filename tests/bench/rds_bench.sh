#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rds_bench.sh OUTDIR: the RDS bind benchmark, in the test VM. Cases: tcp_floor
# (rds_tcp on a veth, all its rounds before rds_rdma is loaded), then per round
# c (upstream), ours_fast0 and ours_fast1 (rust_rds_ib_addr, fast_path=0/1):
# a burst of rds-ping invocations, then rds-bind -t loops over IPv4 (loop) and
# IPv6 (loop6), timed or counted (CM IDs, allocations). Writes OUTDIR/rds-raw.txt
# ("round case metric value"), rds-invocations.txt ("round case i microseconds
# rtt_us") and rds-params.txt. Environment: RDS_BENCH_*, KO_DIR.

. "$(dirname "$0")/../rds_lib.sh"

say() { echo "rds_bench: $*" >&2; }
die() { say "$*"; exit 1; }

OUTDIR=${1:?usage: rds_bench.sh OUTDIR}
N=${RDS_BENCH_INVOCATIONS:-66}
LOOP=${RDS_BENCH_LOOP:-20000}
ROUNDS=${RDS_BENCH_ROUNDS:-7}
LOOP_REPS=${RDS_BENCH_LOOP_REPS:-2}
COUNT_ROUNDS=${RDS_BENCH_COUNT_ROUNDS:-2}
BIND_CPU=$(($(nproc) - 1))
[ "$N" -ge 1 ] && [ "$N" -le 528 ] && [ "$LOOP" -ge 100 ] && [ "$ROUNDS" -ge 1 ] && [ "$LOOP_REPS" -ge 1 ] &&
	[ "$COUNT_ROUNDS" -ge 1 ] || die "RDS_BENCH_INVOCATIONS must be 1..528, _LOOP >= 100, the others >= 1"
[ "$COUNT_ROUNDS" -le "$ROUNDS" ] || COUNT_ROUNDS=$ROUNDS
mkdir -p "$OUTDIR"
printf '%s=%s\n' invocations "$N" loop_binds "$LOOP" rounds "$ROUNDS" loop_reps "$LOOP_REPS" \
	count_rounds "$COUNT_ROUNDS" cpu "$BIND_CPU" >"$OUTDIR/rds-params.txt"
T4=198.51.100.1 # tcp_floor's address: a veth pair with no RDMA device
EV=$TRACING/events/kmem/mm_page_alloc
SLAB_EVENTS="kmalloc kmem_cache_alloc" SLAB_HIST='hist:keys=common_type:vals=hitcount'

cm_ctr() { cat "$DBG/cm_ids_created" 2>/dev/null; } # our counter; nothing when not loaded

# Starts counting CM IDs, rdma_bind_addr calls, order-3 page allocations and
# slab allocations (with CONFIG_HIST_TRIGGERS).
count_start() {
	local e
	prof_start __rdma_create_kernel_id rdma_bind_addr
	[ -d "$TRACING/events/rdsprof/__rdma_create_kernel_id" ] && [ -d "$TRACING/events/rdsprof/rdma_bind_addr" ] ||
		die "cannot count calls of __rdma_create_kernel_id and rdma_bind_addr (kprobe events)"
	if [ -d "$EV" ]; then
		echo 0 >"$EV/enable"
		echo 'order == 3' >"$EV/filter"
		echo 8192 >"$TRACING/buffer_size_kb"
		: >"$TRACING/trace"
		echo 1 >"$EV/enable"
	fi
	for e in $SLAB_EVENTS; do
		[ -w "$TRACING/events/kmem/$e/trigger" ] || continue
		echo "!$SLAB_HIST" >"$TRACING/events/kmem/$e/trigger" 2>/dev/null
		echo "$SLAB_HIST" >"$TRACING/events/kmem/$e/trigger" 2>/dev/null
	done
	_cm0=$(cm_ctr)
}

# count_stop CASE P Q: stops counting; prints the rows "CASE Pcm_ids N",
# Prdma_bind_addr_calls, Qorder3_allocs and Qslab_allocs (-1: not counted).
count_stop() {
	local cm cm1 o3=-1 bind e f n=-1
	cm=$(prof_hits __rdma_create_kernel_id)
	bind=$(prof_hits rdma_bind_addr)
	cm1=$(cm_ctr)
	[ -n "$cm1" ] && cm=$((cm1 - _cm0))
	for e in $SLAB_EVENTS; do
		f=$TRACING/events/kmem/$e/hist
		[ -r "$f" ] && grep -q hitcount "$f" || continue
		n=$(awk -v n="$n" 'BEGIN { if (n < 0) n = 0 } { for (i = 1; i < NF; i++) if ($i == "hitcount:") n += $(i + 1) }
			END { print n }' "$f")
		echo "!$SLAB_HIST" >"$TRACING/events/kmem/$e/trigger"
	done
	if [ -d "$EV" ]; then
		echo 0 >"$EV/enable"
		o3=$(grep -c 'mm_page_alloc:' "$TRACING/trace")
		echo 0 >"$EV/filter"
	fi
	printf '%s\n' "$1 ${2}cm_ids $cm" "$1 ${2}rdma_bind_addr_calls $bind" "$1 ${3}order3_allocs $o3" \
		"$1 ${3}slab_allocs $n"
}

# A tight loop of $LOOP binds to $1 on $BIND_CPU; prints rds-bind's line:
# binds N failed F seconds S binds_per_s R p50_us P p99_us Q
bind_loop() { taskset -c "$BIND_CPU" "$TESTS_DIR/rds-bind" -t -n "$LOOP" "$1"; }

# loops CASE KEY ADDR: in the first $COUNT_ROUNDS rounds a loop with the
# counters on, then $LOOP_REPS timed loops; rows keyed KEY_*.
loops() {
	local name=$1 key=$2 addr=$3 line c i w
	if [ "$ROUND" -le "$COUNT_ROUNDS" ]; then
		count_start
		line=$(bind_loop "$addr")
		c=$(count_stop "$name" "${key}_" "${key}_")
		say "$name: counted loop to $addr: $line"
		read -ra w <<<"$line"
		printf '%s\n' "$name ${key}_failed ${w[3]}" "$c"
	fi
	for ((i = 0; i < LOOP_REPS; i++)); do
		line=$(bind_loop "$addr")
		say "$name: timed loop to $addr: $line"
		read -ra w <<<"$line"
		printf '%s\n' "$name ${key}_failed ${w[3]}" "$name ${key}_binds_per_s ${w[7]}" \
			"$name ${key}_p50_us ${w[9]}" "$name ${key}_p99_us ${w[11]}"
	done
}

# measure ROUND CASE ADDR ADDR6: one case in one round; appends its rows,
# prefixed with the round, to rds-raw.txt.
measure() {
	local name=$2 addr=$3 addr6=$4 i pongs=0 t0 t1 s0 s1 rtt c
	ROUND=$1
	say "$name: warm-up rds-ping to $addr"
	rds_ping -c 1 -w 30 -I "$addr" "$addr" >/dev/null || say "$name: warm-up rds-ping got no pong"
	say "$name: burst of $N rds-ping invocations"
	count_start
	t0=$(date +%s.%N)
	for ((i = 0; i < N; i++)); do
		s0=$EPOCHREALTIME
		rds_ping -c 1 -w 10 -I "$addr" "$addr" >"$PING_OUT" && pongs=$((pongs + 1))
		s1=$EPOCHREALTIME
		rtt=-1
		read -r _ rtt _ <"$PING_OUT"
		echo "$ROUND $name $i $((${s1/./} - ${s0/./})) $rtt" >>"$INV"
	done
	t1=$(date +%s.%N)
	c=$(count_stop "$name" "" burst_)
	{
		printf '%s\n' "$name burst_seconds $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" \
			"$name burst_pongs $pongs" "$c"
		loops "$name" loop "$addr"
		# Upstream's own fast path knows IPv4 addresses only.
		rds_bind "$addr6" >/dev/null || say "$name: warm-up bind to $addr6 failed"
		loops "$name" loop6 "$addr6"
	} >"$RES"
	sed "s/^/$ROUND /" "$RES" >>"$OUTDIR/rds-raw.txt"
}

RES=$OUTDIR/rds-round.txt
# Per-invocation files in the guest's tmpfs: a write to OUTDIR (shared) costs ms.
SCRATCH=$(mktemp -d) || die "mktemp failed"
trap 'rm -rf "$SCRATCH"' EXIT
INV=$SCRATCH/rds-invocations.txt
PING_OUT=$SCRATCH/rds-ping.out
: >"$OUTDIR/rds-raw.txt"

say "uname: $(uname -r); $ROUNDS rounds of $N invocations and $LOOP loop binds; KO_DIR=$KO_DIR"
grep -q '^rds_rdma ' /proc/modules &&
	say "warning: rds_rdma is already loaded; tcp_floor will also consult the IB transport"
mod_remove "$LP"

# tcp_floor first: rdma_cm only so that its functions can be counted.
# rds_rdma is never unloaded (an upstream bug after IB connections).
modprobe -q veth && modprobe -q rds_tcp && modprobe -q rdma_cm || die "cannot load veth, rds_tcp and rdma_cm"
sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
veth_setup tveth0 tveth1 "" "" "$T4" 198.51.100.2 fd01::1 fd01::2 fe80::11 fe80::12
for ((r = 1; r <= ROUNDS; r++)); do measure $r tcp_floor "$T4" fd01::1; done

rds_setup || die "soft-RoCE setup failed"
for ((r = 1; r <= ROUNDS; r++)); do
	measure $r c "$A4" "$A6"
	lp_load fast_path=0 || die "cannot load $LP (KO_DIR=$KO_DIR)"
	measure $r ours_fast0 "$A4" "$A6"
	echo 1 >"$DBG/fast_path" || die "cannot switch the fast path on"
	measure $r ours_fast1 "$A4" "$A6"
	lp_unload || die "cannot unload $LP"
done
cp "$INV" "$OUTDIR/rds-invocations.txt"
