#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RDS bind benchmark: runs in the guest (tests/bench/guest.sh).
#
#   tests/bench/rds_bench.sh OUTDIR
#
# Environment: RDS_BENCH_INVOCATIONS (per burst, default 66, at most 528),
# RDS_BENCH_LOOP (binds per loop, 20000), RDS_BENCH_ROUNDS (7),
# RDS_BENCH_LOOP_REPS (timed loops per case and round, 2),
# RDS_BENCH_COUNT_ROUNDS (rounds with a counted loop per case, 2), KO_DIR.
#
# Cases: tcp_floor (rds_tcp on a veth address, all its rounds first, before
# rds_rdma is loaded), then in each round c (upstream), ours_fast0
# (rust_rds_ib_addr with fast_path=0) and ours_fast1. Per case: a burst of
# rds-ping invocations (8 binds each), then tight loops of rds-bind -t
# over IPv4 (loop) and IPv6 (loop6). The burst and the counted loops count
# CM IDs, rdma_bind_addr calls and allocations; timed loops trace nothing.
# rds_rdma is never unloaded (an upstream bug after IB connections).
#
# Writes the raw rows: OUTDIR/rds-raw.txt ("round case metric value"),
# OUTDIR/rds-invocations.txt ("round case i microseconds rtt_us") and
# OUTDIR/rds-params.txt; tests/bench/summary.py computes the statistics.

. "$(dirname "$0")/../rds_lib.sh"

die() {
	echo "rds_bench: $*" >&2
	exit 1
}

T_START=${EPOCHREALTIME/./}
# Logs with the seconds since the start.
say() {
	local t=$((${EPOCHREALTIME/./} - T_START))
	printf 'rds_bench: [%d.%03d] %s\n' $((t / 1000000)) $((t / 1000 % 1000)) "$*" >&2
}

OUTDIR=${1:?usage: rds_bench.sh OUTDIR}
N=${RDS_BENCH_INVOCATIONS:-66}
LOOP=${RDS_BENCH_LOOP:-20000}
ROUNDS=${RDS_BENCH_ROUNDS:-7}
LOOP_REPS=${RDS_BENCH_LOOP_REPS:-2}
COUNT_ROUNDS=${RDS_BENCH_COUNT_ROUNDS:-2}
# Every loop runs on the last CPU (see tests/bench/README.md).
BIND_CPU=$(($(nproc) - 1))
[ "$N" -ge 1 ] && [ "$N" -le 528 ] || die "RDS_BENCH_INVOCATIONS must be 1..528"
[ "$LOOP" -ge 100 ] || die "RDS_BENCH_LOOP must be >= 100"
[ "$ROUNDS" -ge 1 ] || die "RDS_BENCH_ROUNDS must be >= 1"
[ "$LOOP_REPS" -ge 1 ] || die "RDS_BENCH_LOOP_REPS must be >= 1"
[ "$COUNT_ROUNDS" -ge 1 ] || die "RDS_BENCH_COUNT_ROUNDS must be >= 1"
[ "$COUNT_ROUNDS" -le "$ROUNDS" ] || COUNT_ROUNDS=$ROUNDS
mkdir -p "$OUTDIR"
printf '%s=%s\n' invocations "$N" loop_binds "$LOOP" rounds "$ROUNDS" loop_reps "$LOOP_REPS" \
	count_rounds "$COUNT_ROUNDS" cpu "$BIND_CPU" >"$OUTDIR/rds-params.txt"
# The addresses of tcp_floor: a veth pair with no RDMA device.
T4=198.51.100.1
EV=$TRACING/events/kmem/mm_page_alloc

now() { date +%s.%N; }

# Sums /proc/vmstat counters whose names match regex $1.
vmstat_sum() { awk -v re="$1" '$1 ~ re { s += $2 } END { print s + 0 }' /proc/vmstat; }

# Free order-3 blocks over all zones.
buddy3() { awk '{ s += $8 } END { print s + 0 }' /proc/buddyinfo; }

SLAB_EVENTS="kmalloc kmem_cache_alloc"
SLAB_HIST='hist:keys=common_type:vals=hitcount,bytes_alloc'

# Starts the slab allocation histograms (none without CONFIG_HIST_TRIGGERS).
slab_start() {
	local e
	for e in $SLAB_EVENTS; do
		[ -w "$TRACING/events/kmem/$e/trigger" ] || continue
		echo "!$SLAB_HIST" >"$TRACING/events/kmem/$e/trigger" 2>/dev/null
		echo "$SLAB_HIST" >"$TRACING/events/kmem/$e/trigger" 2>/dev/null
	done
}

# Stops them; prints "allocations bytes" (-1 -1 when not available).
slab_stop() {
	local e f n=-1 b=-1
	for e in $SLAB_EVENTS; do
		f=$TRACING/events/kmem/$e/hist
		[ -r "$f" ] && grep -q hitcount "$f" || continue
		read -r n b < <(awk -v n="$n" -v b="$b" '
			BEGIN { if (n < 0) { n = 0; b = 0 } }
			/hitcount:/ {
				for (i = 1; i < NF; i++) {
					if ($i == "hitcount:") n += $(i + 1)
					if ($i == "bytes_alloc:") b += $(i + 1)
				}
			}
			END { print n, b }' "$f")
		echo "!$SLAB_HIST" >"$TRACING/events/kmem/$e/trigger"
	done
	echo "$n $b"
}

# Starts counting: CM IDs and allocations.
count_start() {
	prof_start __rdma_create_kernel_id rdma_bind_addr
	[ -d "$TRACING/events/rdsprof/__rdma_create_kernel_id" ] &&
		[ -d "$TRACING/events/rdsprof/rdma_bind_addr" ] ||
		die "cannot count calls of __rdma_create_kernel_id and rdma_bind_addr (kprobe events)"
	if [ -d "$EV" ]; then
		echo 0 >"$EV/enable"
		echo 'order == 3' >"$EV/filter"
		echo 8192 >"$TRACING/buffer_size_kb"
		: >"$TRACING/trace"
		echo 1 >"$EV/enable"
	fi
	slab_start
	_cm0=$(cm_ctr)
	_pg0=$(vmstat_sum '^pgalloc_')
	_cs0=$(vmstat_sum '^compact_stall$')
	_b30=$(buddy3)
}

# The module's CM ID counter, or nothing when it is not loaded.
cm_ctr() { cat "$DBG/cm_ids_created" 2>/dev/null; }

# Stops counting; prints "cm_ids bind_addr_calls order3_allocs pgalloc
# compact_stalls buddy_order3_free_delta slab_allocs slab_bytes".
count_stop() {
	local cm cm1 o3=-1 bind slab
	cm=$(prof_hits __rdma_create_kernel_id)
	bind=$(prof_hits rdma_bind_addr)
	cm1=$(cm_ctr)
	[ -n "$cm1" ] && cm=$((cm1 - _cm0))
	slab=$(slab_stop)
	if [ -d "$EV" ]; then
		echo 0 >"$EV/enable"
		o3=$(grep -c 'mm_page_alloc:' "$TRACING/trace")
		echo 0 >"$EV/filter"
	fi
	echo "$cm $bind $o3 $(($(vmstat_sum '^pgalloc_') - _pg0))" \
		"$(($(vmstat_sum '^compact_stall$') - _cs0)) $(($(buddy3) - _b30)) $slab"
}

# A timed tight loop of $LOOP binds to $1, on $BIND_CPU; prints rds-bind's
# line: binds N failed F seconds S binds_per_s R p50_us P p99_us Q
bind_loop() { taskset -c "$BIND_CPU" "$TESTS_DIR/rds-bind" -t -n "$LOOP" "$1"; }

# Runs a tight loop of $LOOP binds to $3 for case $1 with the counters on
# (CM IDs, allocations); appends the counts, keys prefixed with $2, to $RES.
loop_count() {
	local name=$1 key=$2 addr=$3 line c
	say "$name: counted loop of $LOOP binds to $addr"
	count_start
	line=$(bind_loop "$addr")
	read -ra c < <(count_stop)
	say "$name: $line"
	set -- $line
	{
		echo "$name ${key}_failed $4"
		echo "$name ${key}_cm_ids ${c[0]}"
		echo "$name ${key}_rdma_bind_addr_calls ${c[1]}"
		echo "$name ${key}_order3_allocs ${c[2]}"
		echo "$name ${key}_pgalloc ${c[3]}"
		echo "$name ${key}_compact_stalls ${c[4]}"
		echo "$name ${key}_buddy_order3_free_delta ${c[5]}"
		echo "$name ${key}_slab_allocs ${c[6]}"
		echo "$name ${key}_slab_bytes ${c[7]}"
	} >>"$RES"
}

# Times a tight loop of $LOOP binds to $3 for case $1, with no tracing on;
# appends its rate and latencies, keys prefixed with $2, to $RES.
loop_time() {
	local name=$1 key=$2 addr=$3 line
	line=$(bind_loop "$addr")
	say "$name: timed loop to $addr: $line"
	set -- $line
	{
		echo "$name ${key}_failed $4"
		echo "$name ${key}_binds_per_s $8"
		echo "$name ${key}_p50_us ${10}"
		echo "$name ${key}_p99_us ${12}"
	} >>"$RES"
}

# The loops of case $1 on address $3, keys prefixed with $2: counted in the
# first $COUNT_ROUNDS rounds, then timed $LOOP_REPS times.
loops() {
	local i
	[ "$ROUND" -le "$COUNT_ROUNDS" ] && loop_count "$@"
	for ((i = 0; i < LOOP_REPS; i++)); do
		loop_time "$@"
	done
}

# Measures one case on IPv4 address $2 and IPv6 address $3; appends
# "name key value" lines to $RES.
measure() {
	local name=$1 addr=$2 addr6=$3 i pongs=0 t0 t1 secs c s0 s1 rtt
	say "$name: warm-up rds-ping to $addr"
	rds_ping -c 1 -w 30 -I "$addr" "$addr" >/dev/null ||
		say "$name: warm-up rds-ping got no pong"

	say "$name: burst of $N rds-ping invocations"
	count_start
	t0=$(now)
	for ((i = 0; i < N; i++)); do
		s0=$EPOCHREALTIME
		rds_ping -c 1 -w 10 -I "$addr" "$addr" >"$PING_OUT" && pongs=$((pongs + 1))
		s1=$EPOCHREALTIME
		rtt=-1
		read -r _ rtt _ <"$PING_OUT"
		echo "$ROUND $name $i $((${s1/./} - ${s0/./})) $rtt" >>"$INV"
	done
	t1=$(now)
	read -ra c < <(count_stop)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	{
		echo "$name burst_seconds $secs"
		echo "$name burst_binds_per_s $(awk -v s="$secs" -v n="$N" 'BEGIN { printf "%.1f", n * 8 / s }')"
		echo "$name burst_pongs $pongs"
		echo "$name cm_ids ${c[0]}"
		echo "$name rdma_bind_addr_calls ${c[1]}"
		echo "$name burst_order3_allocs ${c[2]}"
		echo "$name burst_pgalloc ${c[3]}"
		echo "$name burst_compact_stalls ${c[4]}"
		echo "$name burst_buddy_order3_free_delta ${c[5]}"
		echo "$name burst_slab_allocs ${c[6]}"
		echo "$name burst_slab_bytes ${c[7]}"
	} >>"$RES"

	loops "$name" loop "$addr"
	# Upstream's own fast path knows IPv4 addresses only.
	rds_bind "$addr6" >/dev/null || say "$name: warm-up bind to $addr6 failed"
	loops "$name" loop6 "$addr6"
}

RES=$OUTDIR/rds-round.txt
RAW=$OUTDIR/rds-raw.txt
# Per-invocation files live in the guest's tmpfs: OUTDIR is shared with the
# host, and each write there costs milliseconds.
SCRATCH=$(mktemp -d) || die "mktemp failed"
trap 'rm -rf "$SCRATCH"' EXIT
INV=$SCRATCH/rds-invocations.txt
PING_OUT=$SCRATCH/rds-ping.out
: >"$RAW"
: >"$INV"

# Measures case $2 in round $1 (measure's arguments follow); appends its
# lines, prefixed with the round, to $RAW.
round_measure() {
	local round=$1
	shift
	ROUND=$round
	: >"$RES"
	measure "$@"
	sed "s/^/$round /" "$RES" >>"$RAW"
}

say "uname: $(uname -r); $ROUNDS rounds of $N invocations and $LOOP loop binds; KO_DIR=$KO_DIR"
grep -q '^rds_rdma ' /proc/modules &&
	say "warning: rds_rdma is already loaded; tcp_floor will also consult the IB transport"
mod_remove "$LP"

# tcp_floor: before rds_rdma is loaded.
# rdma_cm (no RDS transport) only so that its functions can be profiled.
modprobe -q veth && modprobe -q rds_tcp && modprobe -q rdma_cm ||
	die "cannot load veth, rds_tcp and rdma_cm"
sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
veth_setup tveth0 tveth1 "" "" "$T4" 198.51.100.2 fd01::1 fd01::2 fe80::11 fe80::12
for ((r = 1; r <= ROUNDS; r++)); do
	round_measure $r tcp_floor "$T4" fd01::1
done

rds_setup || die "soft-RoCE setup failed"
for ((r = 1; r <= ROUNDS; r++)); do
	round_measure $r c "$A4" "$A6"
	lp_load fast_path=0 || die "cannot load $LP (KO_DIR=$KO_DIR)"
	round_measure $r ours_fast0 "$A4" "$A6"
	echo 1 >"$DBG/fast_path" || die "cannot switch the fast path on"
	round_measure $r ours_fast1 "$A4" "$A6"
	lp_unload || die "cannot unload $LP"
done
cp "$INV" "$OUTDIR/rds-invocations.txt"
