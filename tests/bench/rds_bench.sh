#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RDS bind benchmark: runs in the guest, on the perf test kernel.
#
#   tests/bench/rds_bench.sh OUTDIR
#
# Environment: RDS_BENCH_INVOCATIONS (rds-ping invocations per burst,
# default 66, at most 528), RDS_BENCH_LOOP (binds in the tight loop,
# default 20000), RDS_BENCH_ROUNDS (rounds, default 7; each rate reported is
# the best round's, each time too, and each count the median of the rounds:
# interference from the shared host only slows a round down; each ratio
# against C is the median of the rounds' ratios), RDS_BENCH_LOOP_REPS (timed
# loops per case and round, default 2), RDS_BENCH_COUNT_ROUNDS (rounds whose
# loops are also counted, default 2), KO_DIR (where rust_rds_ib_addr.ko is;
# tests/lib.sh sets the default).
#
# Four cases:
#   tcp_floor   rds_tcp only (rds_rdma not loaded yet): RDS binds on an
#               address of a veth pair without rxe; the floor of an RDS bind
#   c           upstream C rds_ib_laddr_check (our module not loaded)
#   ours_fast0  rust_rds_ib_addr loaded with fast_path=0 (legacy)
#   ours_fast1  rust_rds_ib_addr with fast_path=1 (switched in debugfs)
# tcp_floor's rounds run first so that rds_rdma is not loaded for them: a
# bind then consults no IB transport at all. Then each round measures c,
# ours_fast0 and ours_fast1 in turn, so that drift in the host's load hits
# them alike. rds_rdma is never unloaded (unloading it after IB connections
# hits an upstream bug).
#
# For each case, after one warm-up rds-ping (which makes the connection and
# fills upstream's and our address lists):
#   burst   N rds-ping invocations (-c 1, 8 binds each) to the case's own
#           address: wall seconds, binds/s, how many got a pong; and per
#           invocation its time and its ping's round trip
#           (OUTDIR/rds-invocations.txt: round case i microseconds rtt_us)
#   loop    tests/rds-bind -t: RDS_BENCH_LOOP binds of fresh sockets:
#           binds/s, p50 and p99 of the bind() latency, on the last CPU,
#           RDS_BENCH_LOOP_REPS times with no tracing on (the counters
#           below cost every allocation a trace event), plus, in the first
#           RDS_BENCH_COUNT_ROUNDS rounds, once more with the counters on
#   loop6   the same on the case's IPv6 address (upstream's own fast path
#           knows IPv4 only)
# and, over the burst and the counted loop separately, CM IDs created (our debugfs
# counter where the module is loaded, else a kprobe event's count of
# __rdma_create_kernel_id, which rdma_create_id() calls) and allocation
# deltas: slab allocations (kmem:kmalloc and kmem:kmem_cache_alloc events,
# counted by a histogram trigger, when the kernel has CONFIG_HIST_TRIGGERS),
# order-3 page allocations (kmem:mm_page_alloc events), pages allocated,
# compaction stalls (/proc/vmstat) and free order-3 blocks (/proc/buddyinfo).
#
# Writes OUTDIR/rds.json and OUTDIR/rds.md (a table, with ratios ours/C),
# and the raw lines: OUTDIR/rds-raw.txt (round case metric value) and
# OUTDIR/rds-invocations.txt.

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
# Every loop runs on the same CPU, the last one. Left to the scheduler, a
# loop's bind() latency was either about 2.5 us or 0.35 us more, for every
# case alike, and the slower mode stuck to whole rounds of one case but not
# of the next, which moved the ratios between runs.
BIND_CPU=$(($(nproc) - 1))
[ "$N" -ge 1 ] && [ "$N" -le 528 ] || die "RDS_BENCH_INVOCATIONS must be 1..528"
[ "$LOOP" -ge 100 ] || die "RDS_BENCH_LOOP must be >= 100"
[ "$ROUNDS" -ge 1 ] || die "RDS_BENCH_ROUNDS must be >= 1"
[ "$LOOP_REPS" -ge 1 ] || die "RDS_BENCH_LOOP_REPS must be >= 1"
[ "$COUNT_ROUNDS" -ge 1 ] || die "RDS_BENCH_COUNT_ROUNDS must be >= 1"
[ "$COUNT_ROUNDS" -le "$ROUNDS" ] || COUNT_ROUNDS=$ROUNDS
mkdir -p "$OUTDIR"
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

# rds.json and rds.md from the raw lines. Per case and metric: the best
# round (highest binds/s, lowest seconds and latency; for the loops, the
# best timed loop) and, for counts, the median of the rounds. The ratios
# against C are medians too: of each round's case / c, the two measured one
# after the other, timed loop j of a round paired with c's loop j of the
# same round (tcp_floor's rounds ran before rds_rdma was loaded; its round r
# is paired with c's round r).
# From the burst's invocations, pooled over the rounds: the median time of
# one rds-ping invocation and of its ping's round trip.
awk -v n="$N" -v loop="$LOOP" -v rounds="$ROUNDS" -v reps="$LOOP_REPS" -v cpu="$BIND_CPU" -v counted="$COUNT_ROUNDS" -v json="$OUTDIR/rds.json" -v md="$OUTDIR/rds.md" -v inv="$INV" '
	FILENAME == inv {
		dur[$2, ++ndur[$2]] = $4 / 1000
		if ($5 >= 0) rtt[$2, ++nrtt[$2]] = $5
		next
	}
	{
		k = $2 SUBSEP $3
		cnt[k]++
		all[k, cnt[k]] = $4
		if (!($3 in seen)) { seen[$3] = 1; keys[++nk] = $3 }
	}
	# Sorts a[1..m] by value.
	function sort(a, m,    i, j, t) {
		for (i = 2; i <= m; i++)
			for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
	}
	function median(a, m) {
		if (!m) return ""
		sort(a, m)
		return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
	# The median of src[k, 1..m].
	function median_of(src, k, m,    i, a) {
		for (i = 1; i <= m; i++) a[i] = src[k, i]
		return median(a, m)
	}
	function is_rate(key) { return key ~ /_per_s$/ }
	function is_time(key) { return key ~ /(_us|_seconds)$/ }
	# The best round of case and metric k for rates and times, else the
	# median round.
	function pick(k,    m, i, a, key) {
		m = cnt[k]
		for (i = 1; i <= m; i++) a[i] = all[k, i]
		sort(a, m)
		key = substr(k, index(k, SUBSEP) + 1)
		if (is_rate(key)) return a[m]
		if (is_time(key)) return a[1]
		return a[int((m + 1) / 2)]
	}
	# The median over the rounds of case c / case "c" for metric key.
	function paired(c, key,    i, m, r, a) {
		m = cnt[c, key] < cnt["c", key] ? cnt[c, key] : cnt["c", key]
		r = 0
		for (i = 1; i <= m; i++)
			if (all["c", key, i] + 0)
				a[++r] = all[c, key, i] / all["c", key, i]
		return median(a, r)
	}
	function num(x) { return x ~ /^-?[0-9]+(\.[0-9]+)?([eE]-?[0-9]+)?$/ ? x : "null" }
	function r2(c, key,    x) {
		x = ratio[c, key]
		return x == "" ? "-" : sprintf("%.2f", x)
	}
	function us(x) { return x == "" ? "-" : sprintf("%.2f", x) }
	END {
		for (k in cnt) v[k] = pick(k)
		split("c ours_fast0 ours_fast1 tcp_floor", cs, " ")
		for (i = 1; i <= 4; i++) {
			c = cs[i]
			for (k = 1; k <= nk; k++)
				if ((is_rate(keys[k]) || is_time(keys[k])) && cnt[c, keys[k]])
					ratio[c, keys[k]] = paired(c, keys[k])
			inv_ms[c] = median_of(dur, c, ndur[c])
			rtt_us[c] = median_of(rtt, c, nrtt[c])
		}
		printf "{\"invocations\":%d,\"loop_binds\":%d,\"rounds\":%d,\"loop_reps\":%d,\"count_rounds\":%d,\"cases\":{", n, loop, rounds, reps, counted >json
		for (i = 1; i <= 4; i++) {
			c = cs[i]
			printf "%s\"%s\":{", (i > 1 ? "," : ""), c >json
			for (k = 1; k <= nk; k++)
				printf "%s\"%s\":%s", (k > 1 ? "," : ""), keys[k], num(v[c, keys[k]]) >json
			printf ",\"burst_invocation_p50_ms\":%s,\"burst_rtt_p50_us\":%s", num(inv_ms[c]), num(rtt_us[c]) >json
			printf ",\"ratio\":{" >json
			sep = ""
			for (k = 1; k <= nk; k++)
				if ((c, keys[k]) in ratio) {
					printf "%s\"%s\":%s", sep, keys[k], num(ratio[c, keys[k]]) >json
					sep = ","
				}
			printf "}}" >json
		}
		printf "}}\n" >json

		printf "RDS bind benchmark: %d rds-ping invocations (8 binds each) per burst, %d binds in the tight loop, %d rounds. Each round times the loop %d times per case, on CPU %d, with no tracing on; in the first %d rounds one more loop per case runs with the counters on (CM IDs, allocations; they add a trace event to every allocation, so its times are not used). Each value is the best round (or timed loop) for a rate or time and the median round for a count; each ratio (vs C) is the median over the rounds (and timed loops) of case / c within the round, where c was measured just before (tcp_floor: its rounds ran first, before rds_rdma was loaded).\n\n", n, loop, rounds, reps, cpu, counted >md
		printf "| case | burst s | burst binds/s | ms per invocation (p50) | ping RTT us (p50) | loop binds/s | loop p50 us | loop p99 us | CM IDs (burst) | CM IDs (loop) | slab allocs per bind (loop) | order-3 allocs (burst+loop) | burst binds/s vs C | loop binds/s vs C | loop p50 vs C |\n" >md
		printf "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n" >md
		for (i = 1; i <= 4; i++) {
			c = cs[i]
			printf "| %s | %s | %s | %.1f | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c,
				v[c, "burst_seconds"], v[c, "burst_binds_per_s"], inv_ms[c], rtt_us[c],
				v[c, "loop_binds_per_s"], us(v[c, "loop_p50_us"]), us(v[c, "loop_p99_us"]),
				v[c, "cm_ids"], v[c, "loop_cm_ids"],
				(v[c, "loop_slab_allocs"] < 0 ? "-" : sprintf("%.1f", v[c, "loop_slab_allocs"] / loop)),
				(v[c, "burst_order3_allocs"] < 0 ? "-" : v[c, "burst_order3_allocs"] + v[c, "loop_order3_allocs"]),
				r2(c, "burst_binds_per_s"), r2(c, "loop_binds_per_s"), r2(c, "loop_p50_us") >md
		}
		printf "\nIPv6 (fd00::1 on rxe0; fd01::1 for tcp_floor), tight loop of %d binds. Upstream C caches IPv4 addresses only.\n\n", loop >md
		printf "| case | loop6 binds/s | loop6 p50 us | loop6 p99 us | CM IDs (loop6) | slab allocs per bind (loop6) | loop6 binds/s vs C | loop6 p50 vs C |\n" >md
		printf "|---|---|---|---|---|---|---|---|\n" >md
		for (i = 1; i <= 4; i++) {
			c = cs[i]
			printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", c,
				v[c, "loop6_binds_per_s"], us(v[c, "loop6_p50_us"]), us(v[c, "loop6_p99_us"]), v[c, "loop6_cm_ids"],
				(v[c, "loop6_slab_allocs"] < 0 ? "-" : sprintf("%.1f", v[c, "loop6_slab_allocs"] / loop)),
				r2(c, "loop6_binds_per_s"), r2(c, "loop6_p50_us") >md
		}
		printf "\nRatios are case / c. The burst includes process start-up and the ping round trip: the bind() calls are a small part of an invocation (see the loop). The loop times bind() alone (p50/p99) and socket+bind+close (binds/s).\n" >md
	}' "$INV" "$RAW"
cp "$INV" "$OUTDIR/rds-invocations.txt"
python3 -m json.tool "$OUTDIR/rds.json" >/dev/null || die "rds.json is not valid JSON"
cat "$OUTDIR/rds.md"
