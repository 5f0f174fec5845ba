#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# dm_delay_bench.sh OUTDIR [stages [DELAY [SECONDS]]], in the test VM: fio over
# a delay target on a 1 TiB dm-zero device, C dm_delay then rust_dm_delay each
# round; writes OUTDIR/dm_delay_runs.tsv (a row per fio run), fio/*.json (json+)
# and timer_floor.txt, then prints report.py's table. stages: a QD1 O_DIRECT 4k
# write job through ours (default 1ms, 5 s; pinned unless STAGES_PIN=0), traced
# (block, timer, sched events) into stages-trace.txt and stages-params.txt.
# Environment: BENCH_{SECONDS,REPEAT,JOBS,IMPLS,PIN}, STAGES_PIN, KO_DIR.

set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
KO_DIR=${KO_DIR:-$(cd "$BENCH_DIR/../.." && pwd)}
OUT=${1:?usage: dm_delay_bench.sh OUTDIR [stages [DELAY [SECONDS]]]}
SECS=${BENCH_SECONDS:-10}
PIN_CPU=$(($(nproc) - 1))

# name  delay  rw  direct  numjobs  iodepth  ioengine  implementations  rounds
JOBS_TABLE='
0read           0      randread  0 1  1  psync  c,rust 5
0write          0      randwrite 1 1  1  psync  c,rust 5
1msread         1      randread  0 1  1  psync  c,rust 5
10msread        10     randread  0 1  1  psync  c,rust 2
1mswrite        1      randwrite 1 1  1  psync  c,rust 5
10mswrite       10     randwrite 1 1  1  psync  c,rust 2
10mswriteasync  10     randwrite 1 32 64 libaio c,rust 5
100usread       100us  randread  0 1  1  psync  rust 1
250usread       250us  randread  0 1  1  psync  rust 3
250uswrite      250us  randwrite 1 1  1  psync  rust 3
100uswrite      100us  randwrite 1 1  1  psync  rust 1
500usread       500us  randread  0 1  1  psync  rust 1
500uswrite      500us  randwrite 1 1  1  psync  rust 1
'
JOBS=${BENCH_JOBS:-$(echo "$JOBS_TABLE" | awk 'NF { print $1 }')}
# Modules and worker kthreads (C starts dm-delay-flush-worker if all delays < 50 ms).
declare -A MODULE=([c]=dm_delay [rust]=rust_dm_delay) WORKER=([c]=dm-delay-flush- [rust]=kdelayd-rs)
SIZE=2147483648 # sectors: random 4k reads practically never hit a cached page
DEV=dmd_bench ZERO=dmd_bench_zero DMS="dmsetup --noudevsync"
export DM_DISABLE_UDEV=1
udevadm control --exit >/dev/null 2>&1 # udev would probe each new device through the delay

# Loads implementation $1 alone (both register the target "delay"), or none (-).
load() {
	local m
	for m in dm_delay rust_dm_delay; do grep -q "^$m " /proc/modules && rmmod "$m"; done
	case $1 in c) modprobe dm_delay ;; rust) insmod "$KO_DIR/rust_dm_delay.ko" ;; esac
}

# "utime+stime(ticks) sum_exec_runtime(ns) times-scheduled-in" of pid $1
# (- when gone), from /proc/<pid>/stat (fields 14, 15) and schedstat.
cpu_of() {
	local s ns=- runs=-
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo "- - -"; return; }
	[ -r "/proc/$1/schedstat" ] && read -r ns _ runs <"/proc/$1/schedstat"
	read -ra s <<<"${s##*) }"
	echo "$((s[11] + s[12])) $ns $runs"
}

trap '$DMS remove "$DEV" >/dev/null 2>&1; $DMS remove "$ZERO" >/dev/null 2>&1; load -' EXIT

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# fio_job NAME FILE RW DIRECT NUMJOBS IODEPTH IOENGINE [FIO-OPTION...]: a
# time-based random 4k job of $SECS s, at other offsets every run.
fio_job() {
	fio --name="$1" --filename="$2" --rw="$3" --bs=4k --direct="$4" --numjobs="$5" --iodepth="$6" \
		--ioengine="$7" --time_based --runtime="$SECS" --randrepeat=0 --norandommap --invalidate=1 "${@:8}"
}

# delay_dev IMPL DELAY NUMJOBS: creates $DEV, DELAY over dm-zero; sets DEVNO
# (major,minor), PIDS (IMPL's worker kthreads), CPU and PIN (fio's options):
# fio and the workers on the last CPU for one fio job and BENCH_PIN=1 (the
# default), else left to the scheduler (CPU -).
delay_dev() {
	local p
	echo "0 $SIZE delay $ZDEVNO 0 $2" | $DMS create "$DEV" && $DMS mknodes "$DEV" || return 1
	DEVNO=$($DMS info -c --noheadings -o major,minor --separator , "$DEV" | tr -d ' ')
	PIDS=$(pgrep "^${WORKER[$1]}") CPU=- PIN=()
	[ "${BENCH_PIN:-1}" = 1 ] && [ "$3" -eq 1 ] || return 0
	CPU=$PIN_CPU PIN=(--cpus_allowed="$PIN_CPU")
	for p in $PIDS; do taskset -pc "$CPU" "$p" >/dev/null || echo "  cannot pin worker $p to CPU $CPU" >&2; done
}

# run_one IMPL JOB ROUND DELAY RW DIRECT NUMJOBS IODEPTH IOENGINE: a fio run, its row.
run_one() {
	local impl=$1 nj=$7 pid comm b a d0 d1 t0 t1 rc=0 extra=() out=$OUT/fio/$1-$2-$3
	delay_dev "$impl" "$4" "$nj" || return 1
	pid=${PIDS%%$'\n'*}
	comm=$(cat "/proc/${pid:-0}/comm" 2>/dev/null) || comm=${WORKER[$impl]}
	[ "$nj" -gt 1 ] && extra+=(--group_reporting)
	drop_caches
	b=$(cpu_of "${pid:-0}")
	read -ra d0 <"/sys/block/dm-${DEVNO#*,}/stat" # reads: field 1, writes: field 5
	t0=$(date +%s%N)
	fio_job "$2" "/dev/mapper/$DEV" "${@:5:5}" "${PIN[@]}" "${extra[@]}" --output-format=json+ \
		--output="$out.json" >/dev/null 2>"$out.err" || rc=$?
	t1=$(date +%s%N)
	a=$(cpu_of "${pid:-0}")
	read -ra d1 <"/sys/block/dm-${DEVNO#*,}/stat"
	$DMS remove --retry "$DEV" >/dev/null 2>&1
	# shellcheck disable=SC2086
	echo "$(printf '%s\t' "${@:1:9}" "$SECS" "${pid:--}" "$(echo "$PIDS" | grep -c .)" "$comm" $b $a \
		"$(getconf CLK_TCK)" "${d0[0]}" "${d0[4]}" "${d1[0]}" "${d1[4]}" "$(((t1 - t0) / 1000))" "$CPU")$rc" \
		>>"$OUT/dm_delay_runs.tsv"
	return "$rc"
}

# Appends to timer_floor.txt, once per delay $1 ("10", "3ms", "250us"), how
# late a sleep to a deadline that far ahead wakes up, over about 2 s.
timer_floor() {
	local us
	case $1 in *us) us=${1%us} ;; *) us=$((${1%ms} * 1000)) ;; esac
	[ "$us" -gt 0 ] || return 0
	grep -q "^delay_us $us " "$OUT/timer_floor.txt" 2>/dev/null && return 0
	"$BENCH_DIR/timer-floor" "$us" $((us >= 20000 ? 100 : 2000000 / us > 2000 ? 2000 : 2000000 / us)) \
		>>"$OUT/timer_floor.txt" || echo "  timer-floor $us failed" >&2
}

# stages [DELAY [SECONDS]]: the stage trace of ours, pinned as a QD1 job.
stages() {
	local delay=${1:-1ms} SECS=${2:-5} T=/sys/kernel/tracing e
	local events="sched/sched_switch sched/sched_wakeup timer/hrtimer_expire_entry block/block_bio_queue"
	[ -d $T/events ] || mount -t tracefs nodev $T || return 1
	load rust && BENCH_PIN=${STAGES_PIN:-1} delay_dev rust "$delay" 1 || return 1
	[ "$CPU" = - ] || printf '%x\n' $((1 << CPU)) >$T/tracing_cpumask
	echo 0 >$T/tracing_on
	echo >$T/trace
	echo 20000 >$T/buffer_size_kb
	echo 'next_comm == "kdelayd-rs" || next_comm == "fio"' >$T/events/sched/sched_switch/filter
	echo 'comm == "kdelayd-rs" || comm == "fio"' >$T/events/sched/sched_wakeup/filter
	for e in $events; do echo 1 >"$T/events/$e/enable"; done
	echo 1 >$T/tracing_on
	fio_job stages "/dev/mapper/$DEV" randwrite 1 1 1 psync "${PIN[@]}" --output-format=terse \
		>"$OUT/stages-fio.txt" 2>&1
	echo 0 >$T/tracing_on
	for e in $events; do echo 0 >"$T/events/$e/enable"; done
	cp $T/trace "$OUT/stages-trace.txt"
	echo >$T/trace
	printf '%x\n' $(((1 << $(nproc)) - 1)) >$T/tracing_cpumask
	echo "$DEVNO ${ZDEVNO/:/,} $delay" >"$OUT/stages-params.txt"
}

for job in $JOBS; do grep -q "^$job " <<<"$JOBS_TABLE" || { echo "unknown job $job" >&2; exit 1; }; done
mkdir -p "$OUT/fio"
modprobe dm_zero || exit 1
echo "0 $SIZE zero" | $DMS create "$ZERO" && $DMS mknodes "$ZERO" || exit 1
ZDEVNO=$($DMS info -c --noheadings -o major,minor --separator : "$ZERO" | tr -d ' ')
[ "${2:-}" = stages ] && { stages "${@:3}"; exit; }

rm -f "$OUT"/fio/*.json "$OUT"/fio/*.err "$OUT"/fio/*.txt "$OUT/dm_delay_runs.tsv" "$OUT/timer_floor.txt"
printf '%s\n' impl job round delay rw direct numjobs iodepth ioengine seconds pid nworkers comm ticks0 ns0 runs0 \
	ticks1 ns1 runs1 clk_tck devr0 devw0 devr1 devw1 wall_us cpu fio_rc | paste -s >"$OUT/dm_delay_runs.tsv"

# A warm-up run on dm-zero, not recorded: a boot's first fio run is slower.
echo "warm-up: buffered random read on $ZERO, $SECS s" >&2
drop_caches
fio_job warm-up "/dev/mapper/$ZERO" randread 0 1 1 psync --output-format=terse >"$OUT/fio/warm-up.txt" 2>&1 ||
	echo "  warm-up failed, see $OUT/fio/warm-up.txt" >&2

# Round after round, each job that has that many rounds, C then ours.
maxrounds=${BENCH_REPEAT:-$(awk 'NF && $9 > m { m = $9 } END { print m }' <<<"$JOBS_TABLE")}
for ((round = 1; round <= maxrounds; round++)); do
	for job in $JOBS; do
		read -r _ delay rw direct nj qd eng impls rounds <<<"$(grep "^$job " <<<"$JOBS_TABLE")"
		rounds=${BENCH_REPEAT:-$rounds}
		[ "$round" -le "$rounds" ] || continue
		timer_floor "$delay"
		for impl in ${BENCH_IMPLS:-c rust}; do
			case ",$impls," in *",$impl,"*) ;; *) continue ;; esac
			echo "$job, round $round/$rounds: ${MODULE[$impl]}, $SECS s" >&2
			load "$impl" || { echo "  cannot load ${MODULE[$impl]}" >&2; continue; }
			run_one "$impl" "$job" "$round" "$delay" "$rw" "$direct" "$nj" "$qd" "$eng" ||
				echo "  $job failed with ${MODULE[$impl]}, see $OUT/fio/$impl-$job-$round.err" >&2
		done
	done
done
load -

python3 "$BENCH_DIR/report.py" "$OUT"
