#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Not a selftest: the delay part of 'make demo' (run it in the test VM).
#
# fio at queue depth 1 over dm-zero plus a delay target at 1 ms and 10 ms,
# first with the C dm_delay, then with rust_dm_delay, in the same boot.
# Prints measured IOPS and mean completion latency next to the theoretical
# maximum (1000 / delay in ms).
#
#   dm_delay_bench.sh [SECONDS_PER_RUN]

set -u
KO_DIR=${KO_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
SECS=${1:-10}
DELAYS=(1 10)
WORKLOADS=("randread" "randwrite --direct=1")

udevadm control --exit >/dev/null 2>&1 || true
export DM_DISABLE_UDEV=1
DMS="dmsetup --noudevsync"
SIZE=2097152

cleanup() {
	$DMS remove dmd_bench >/dev/null 2>&1
	$DMS remove dmd_zero >/dev/null 2>&1
}
trap cleanup EXIT

# Prints "IOPS mean-latency-ms" of one fio run.
measure() {
	fio --name=bench --filename=/dev/mapper/dmd_bench --bs=4k --iodepth=1 \
		--ioengine=psync --time_based --runtime="$SECS" --output-format=json \
		--rw=$1 2>/dev/null | python3 -c '
import json, sys
job = json.load(sys.stdin)["jobs"][0]
side = job["read"] if job["read"]["io_bytes"] else job["write"]
print("%.0f %.2f" % (side["iops"], side["clat_ns"]["mean"] / 1e6))'
}

bench() {
	local impl=$1 d wl iops lat
	for d in "${DELAYS[@]}"; do
		echo "0 $SIZE delay /dev/mapper/dmd_zero 0 $d" | $DMS create dmd_bench &&
			$DMS mknodes dmd_bench || return 1
		for wl in "${WORKLOADS[@]}"; do
			read -r iops lat < <(measure "$wl")
			printf '%-14s %-22s %6s ms %11d %9s %10s ms\n' \
				"$impl" "$wl" "$d" $((1000 / d)) "$iops" "$lat"
		done
		$DMS remove dmd_bench
	done
}

modprobe dm_zero
echo "0 $SIZE zero" | $DMS create dmd_zero && $DMS mknodes dmd_zero || exit 1
printf '%-14s %-22s %9s %11s %9s %13s\n' target workload delay "max IOPS" IOPS "mean clat"
rmmod rust_dm_delay 2>/dev/null
modprobe dm_delay && bench "C dm_delay"
rmmod dm_delay
insmod "$KO_DIR/rust_dm_delay.ko" && bench "rust_dm_delay"
rmmod rust_dm_delay
