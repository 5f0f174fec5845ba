#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs in the test VM: where the time of a delayed I/O goes. One QD1
# O_DIRECT 4k write job through rust_dm_delay on dm-zero, fio and the
# worker pinned to one CPU as in dm_delay_bench.sh (STAGES_PIN=0: placed
# by the scheduler), traced with the kernel's block, timer and sched
# events; stages.py then splits each I/O into its stages.
#
#   stages.sh OUTDIR [DELAY [SECONDS]]     (default 1ms, 5 s)

set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
KO_DIR=${KO_DIR:-$(cd "$BENCH_DIR/../.." && pwd)}
OUT=${1:?usage: stages.sh OUTDIR [DELAY [SECONDS]]}
DELAY=${2:-1ms} SECS=${3:-5}
CPU=$(($(nproc) - 1))
PIN=${STAGES_PIN:-1}
T=/sys/kernel/tracing
DMS="dmsetup --noudevsync"
export DM_DISABLE_UDEV=1
udevadm control --exit >/dev/null 2>&1 || true
mkdir -p "$OUT"

[ -d $T/events ] || mount -t tracefs nodev $T || exit 1
modprobe dm_zero && insmod "$KO_DIR/rust_dm_delay.ko" || exit 1
echo "0 2147483648 zero" | $DMS create stg_zero && $DMS mknodes stg_zero || exit 1
zero=$($DMS info -c --noheadings -o major,minor --separator , stg_zero | tr -d ' ')
echo "0 2147483648 delay ${zero/,/:} 0 $DELAY" | $DMS create stg_delay &&
	$DMS mknodes stg_delay || exit 1
delay=$($DMS info -c --noheadings -o major,minor --separator , stg_delay | tr -d ' ')
pin=()
if [ "$PIN" = 1 ]; then
	pin=(--cpus_allowed="$CPU")
	for p in $(pgrep -x kdelayd-rs); do taskset -pc "$CPU" "$p" >/dev/null; done
	printf '%x\n' $((1 << CPU)) >$T/tracing_cpumask
fi

echo 0 >$T/tracing_on
echo >$T/trace
echo 20000 >$T/buffer_size_kb
echo 'next_comm == "kdelayd-rs" || next_comm == "fio"' >$T/events/sched/sched_switch/filter
echo 'comm == "kdelayd-rs" || comm == "fio"' >$T/events/sched/sched_wakeup/filter
EVENTS="sched/sched_switch sched/sched_wakeup timer/hrtimer_expire_entry block/block_bio_queue"
for e in $EVENTS; do echo 1 >"$T/events/$e/enable"; done
echo 1 >$T/tracing_on
fio --name=stages --filename=/dev/mapper/stg_delay --rw=randwrite --bs=4k --direct=1 \
	--ioengine=psync --iodepth=1 --time_based --runtime="$SECS" --randrepeat=0 \
	--norandommap "${pin[@]}" --output-format=terse >"$OUT/stages-fio.txt" 2>&1
echo 0 >$T/tracing_on
for e in $EVENTS; do echo 0 >"$T/events/$e/enable"; done
cp $T/trace "$OUT/stages-trace.txt"
echo >$T/trace
printf '%x\n' $((((1 << $(nproc))) - 1)) >$T/tracing_cpumask
$DMS remove stg_delay && $DMS remove stg_zero && rmmod rust_dm_delay
echo "$delay $zero $DELAY" >"$OUT/stages-params.txt"
python3 "$BENCH_DIR/stages.py" "$OUT"
