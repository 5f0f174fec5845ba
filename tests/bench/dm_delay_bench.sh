#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs in the test VM: the dm-delay benchmark, C dm_delay against
# rust_dm_delay, in one boot. Each job runs fio over a delay target on top
# of a 1 TiB dm-zero device, C then ours (both register the target name
# 'delay', so only one is loaded at a time).
#
#   dm_delay_bench.sh OUTDIR
#
# Writes the raw data: OUTDIR/fio/<impl>-<job>-<round>.json (fio json+),
# OUTDIR/dm_delay_runs.tsv (one row per run: the worker kthread's CPU time
# and wake-ups before and after, the delay device's I/O counts, the CPU
# the run was pinned to) and OUTDIR/timer_floor.txt (tests/bench/timer-floor
# per delay); then prints the table of tests/bench/summary.py.
#
# Environment: BENCH_SECONDS (fio run time, default 10), BENCH_REPEAT
# (rounds for every job, default the table's), BENCH_JOBS (default all),
# BENCH_IMPLS ('c rust'), BENCH_PIN (1: QD1 jobs on the last CPU), KO_DIR.

set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
KO_DIR=${KO_DIR:-$(cd "$BENCH_DIR/../.." && pwd)}
OUT=${1:?usage: dm_delay_bench.sh OUTDIR}
SECS=${BENCH_SECONDS:-10}
REPEAT=${BENCH_REPEAT:-}
IMPLS=${BENCH_IMPLS:-c rust}
PIN=${BENCH_PIN:-1}
PIN_CPU=$(($(nproc) - 1))

# name  delay  rw  direct  numjobs  iodepth  ioengine  implementations  rounds
# The floor jobs (delay 0) measure this VM's I/O path. More rounds where
# ours / C moves more from round to round (tests/bench/README.md).
JOBS_TABLE='
0read           0      randread  0 1  1  psync  c,rust 5
0write          0      randwrite 1 1  1  psync  c,rust 5
1msread         1      randread  0 1  1  psync  c,rust 5
10msread        10     randread  0 1  1  psync  c,rust 2
1mswrite        1      randwrite 1 1  1  psync  c,rust 5
10mswrite       10     randwrite 1 1  1  psync  c,rust 2
10mswriteasync  10     randwrite 1 32 64 libaio c,rust 5
100usread       100us  randread  0 1  1  psync  rust 1
100uswrite      100us  randwrite 1 1  1  psync  rust 1
500usread       500us  randread  0 1  1  psync  rust 1
500uswrite      500us  randwrite 1 1  1  psync  rust 1
'
JOBS=${BENCH_JOBS:-$(echo "$JOBS_TABLE" | awk 'NF { print $1 }')}

# 1 TiB (in sectors): random 4k reads practically never hit a cached page.
SIZE=2147483648
DEV=dmd_bench
ZERO=dmd_bench_zero

# udev would probe each new device through the delay; see ENVIRONMENT.md.
udevadm control --exit >/dev/null 2>&1 || true
export DM_DISABLE_UDEV=1
DMS="dmsetup --noudevsync"

# The module of implementation $1, and its worker kthread's comm (at most
# 15 characters; C starts "dm-delay-flush-worker" for delays under 50 ms).
module_of() { case $1 in c) echo dm_delay ;; rust) echo rust_dm_delay ;; esac; }
worker_comm() { case $1 in c) echo dm-delay-flush- ;; rust) echo kdelayd-rs ;; esac; }

unload_all() {
	local m
	for m in dm_delay rust_dm_delay; do
		grep -q "^$m " /proc/modules && rmmod "$m"
	done
	return 0
}

# Loads implementation $1 alone: both register the target name "delay".
load() {
	unload_all
	case $1 in
	c) modprobe dm_delay ;;
	rust) insmod "$KO_DIR/rust_dm_delay.ko" ;;
	esac
}

# Prints the pids of the kernel threads whose name starts with $1 (a
# kthread's /proc/<pid>/comm may show its full name, or the first 15
# characters).
pids_of() {
	local p c
	for p in /proc/[0-9]*; do
		read -r c <"$p/comm" 2>/dev/null || continue
		case $c in "$1"*) echo "${p#/proc/}" ;; esac
	done
}

# Prints "utime+stime(ticks) sum_exec_runtime(ns) times-scheduled-in" of
# pid $1 (- when gone). The last is the third field of schedstat: how often
# the thread got the CPU, so its wake-ups.
cpu_of() {
	local pid=$1 s ns=- runs=-
	s=$(cat "/proc/$pid/stat" 2>/dev/null) || { echo "- - -"; return; }
	[ -r "/proc/$pid/schedstat" ] && read -r ns _ runs <"/proc/$pid/schedstat"
	# Fields 14 and 15 (utime, stime), counted after "pid (comm) ".
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo "$((${12} + ${13})) $ns $runs"
}

# Prints "reads writes" completed by the delay device.
devios() {
	local s
	read -r -a s <"/sys/block/dm-$1/stat"
	echo "${s[0]} ${s[4]}"
}

cleanup() {
	$DMS remove "$DEV" >/dev/null 2>&1
	$DMS remove "$ZERO" >/dev/null 2>&1
	unload_all
}
trap cleanup EXIT

# Empties the page cache, so that no run finds an earlier run's pages.
drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# fio_job NAME FILE RW DIRECT NUMJOBS IODEPTH IOENGINE [FIO-OPTION...]: one
# time-based random 4k job of $SECS s, at other offsets every run.
fio_job() {
	local name=$1 file=$2 rw=$3 direct=$4 nj=$5 qd=$6 eng=$7
	shift 7
	fio --name="$name" --filename="$file" --rw="$rw" --bs=4k \
		--direct="$direct" --numjobs="$nj" --iodepth="$qd" \
		--ioengine="$eng" --time_based --runtime="$SECS" \
		--randrepeat=0 --norandommap --invalidate=1 "$@"
}

# The CPU a job with $1 fio jobs runs on, fio and the worker kthread both,
# or - when the scheduler places them: with one fio job (QD1) and
# BENCH_PIN=1, the last CPU (see tests/bench/README.md).
pin_cpu() {
	if [ "$PIN" = 1 ] && [ "$1" -eq 1 ]; then echo "$PIN_CPU"; else echo -; fi
}

# run_one IMPL JOB ROUND DELAY RW DIRECT NUMJOBS IODEPTH IOENGINE
run_one() {
	local impl=$1 job=$2 round=$3 delay=$4 rw=$5 direct=$6 nj=$7 qd=$8 eng=$9
	local minor pids _pid comm cpu p b a d0 d1 t0 t1 rc=0 extra=() out=$OUT/fio/$1-$2-$3

	echo "0 $SIZE delay $ZDEVNO 0 $delay" | $DMS create "$DEV" &&
		$DMS mknodes "$DEV" || return 1
	minor=$($DMS info -c --noheadings -o minor "$DEV" | tr -d ' ')
	pids=$(pids_of "$(worker_comm "$impl")")
	_pid=$(echo "$pids" | head -n 1)
	comm=$(cat "/proc/${_pid:-0}/comm" 2>/dev/null) || comm=$(worker_comm "$impl")
	[ "$nj" -gt 1 ] && extra+=(--group_reporting)
	cpu=$(pin_cpu "$nj")
	if [ "$cpu" != - ]; then
		extra+=(--cpus_allowed="$cpu")
		for p in $pids; do
			taskset -pc "$cpu" "$p" >/dev/null ||
				echo "  cannot pin worker $p to CPU $cpu" >&2
		done
	fi
	drop_caches
	b=$(cpu_of "${_pid:-0}")
	d0=$(devios "$minor")
	t0=$(date +%s%N)
	fio_job "$job" "/dev/mapper/$DEV" "$rw" "$direct" "$nj" "$qd" "$eng" "${extra[@]}" \
		--output-format=json+ --output="$out.json" \
		>/dev/null 2>"$out.err" || rc=$?
	t1=$(date +%s%N)
	a=$(cpu_of "${_pid:-0}")
	d1=$(devios "$minor")
	$DMS remove --retry "$DEV" >/dev/null 2>&1
	printf '%s\t' "$impl" "$job" "$round" "$delay" "$rw" "$direct" "$nj" "$qd" \
		"$eng" "$SECS" "${_pid:--}" "$(echo "$pids" | grep -c .)" \
		"$comm" $b $a "$(getconf CLK_TCK)" $d0 $d1 \
		"$(((t1 - t0) / 1000))" "$cpu" >>"$OUT/dm_delay_runs.tsv"
	echo "$rc" >>"$OUT/dm_delay_runs.tsv"
	return "$rc"
}

# Prints delay argument $1 ("10", "3ms", "250us") in microseconds.
delay_us() {
	case $1 in
	*us) echo "${1%us}" ;;
	*ms) echo $((${1%ms} * 1000)) ;;
	*) echo $(($1 * 1000)) ;;
	esac
}

# The timer floor of delay $1: how late a sleep to a deadline $1 ahead
# wakes up in this machine (tests/bench/timer-floor.c), about 2 s of
# sleeps; appended to timer_floor.txt once per delay.
timer_floor() {
	local us
	us=$(delay_us "$1")
	[ "$us" -gt 0 ] || return 0
	grep -q "^delay_us $us " "$OUT/timer_floor.txt" 2>/dev/null && return 0
	"$BENCH_DIR/timer-floor" "$us" $((us >= 20000 ? 100 : 2000000 / us > 2000 ? 2000 : 2000000 / us)) \
		>>"$OUT/timer_floor.txt" || echo "  timer-floor $us failed" >&2
}

mkdir -p "$OUT/fio"
rm -f "$OUT"/fio/*.json "$OUT"/fio/*.err "$OUT"/fio/*.txt "$OUT/dm_delay_runs.tsv" "$OUT/timer_floor.txt"
printf '%s\n' impl job round delay rw direct numjobs iodepth ioengine seconds \
	pid nworkers comm ticks0 ns0 runs0 ticks1 ns1 runs1 clk_tck devr0 devw0 devr1 devw1 wall_us \
	cpu fio_rc | paste -s >"$OUT/dm_delay_runs.tsv"

modprobe dm_zero || exit 1
echo "0 $SIZE zero" | $DMS create "$ZERO" && $DMS mknodes "$ZERO" || exit 1
ZDEVNO=$($DMS info -c --noheadings -o major,minor --separator : "$ZERO" | tr -d ' ')

# A warm-up run, not recorded: the first fio run of a boot is slower than
# the ones after it. The same buffered random read, on dm-zero itself.
echo "warm-up: buffered random read on $ZERO, $SECS s" >&2
drop_caches
fio_job warm-up "/dev/mapper/$ZERO" randread 0 1 1 psync \
	--output-format=terse >"$OUT/fio/warm-up.txt" 2>&1 ||
	echo "  warm-up failed, see $OUT/fio/warm-up.txt" >&2

# Each job's line of the table and its rounds, checked before anything runs.
declare -A LINE ROUNDS
maxrounds=0
for job in $JOBS; do
	LINE[$job]=$(echo "$JOBS_TABLE" | awk -v j="$job" '$1 == j')
	[ -n "${LINE[$job]}" ] || { echo "unknown job $job" >&2; exit 1; }
	read -r _ _ _ _ _ _ _ _ rounds <<<"${LINE[$job]}"
	ROUNDS[$job]=${REPEAT:-$rounds}
	[ "${ROUNDS[$job]}" -gt "$maxrounds" ] && maxrounds=${ROUNDS[$job]}
done

# Round after round, and in each round every job that has that many, one
# after the other, C then ours: a slow spell of the host lands in one round
# of many jobs, not in every round of one.
n=$(echo "$JOBS" | wc -w)
for ((round = 1; round <= maxrounds; round++)); do
	i=0
	for job in $JOBS; do
		i=$((i + 1))
		rounds=${ROUNDS[$job]}
		[ "$round" -le "$rounds" ] || continue
		read -r _ delay rw direct nj qd eng impls _ <<<"${LINE[$job]}"
		timer_floor "$delay"
		for impl in $IMPLS; do
			case ",$impls," in *",$impl,"*) ;; *) continue ;; esac
			echo "[$i/$n] $job, round $round/$rounds: $(module_of "$impl"), $SECS s" >&2
			if ! load "$impl"; then
				echo "  cannot load $(module_of "$impl")" >&2
				continue
			fi
			run_one "$impl" "$job" "$round" "$delay" "$rw" "$direct" "$nj" "$qd" "$eng" ||
				echo "  $job failed with $(module_of "$impl"), see $OUT/fio/$impl-$job-$round.err" >&2
		done
	done
done
unload_all

python3 "$BENCH_DIR/summary.py" "$OUT"
