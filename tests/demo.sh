#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make demo': runs in the test VM and shows the modules at work.
#
#  1. rust_dm_delay: dm-zero with delay devices at 1 ms and 10 ms, a short
#     fio run on each (buffered random reads and O_DIRECT random writes at
#     QD1), with the C dm_delay and with ours in the same boot: measured
#     IOPS and latency next to the theoretical maximum. This is the
#     benchmark of 'make bench' (tests/bench/dm_delay_bench.sh), in small.
#  2. rust_rds_ib_addr: soft-RoCE on a veth pair, rds-ping runs, and the
#     module's counters with the fast path on and off (tests/rds_demo.sh).
#
# DEMO_SECONDS sets the fio run time per job (default 5).

set -u
cd "$(dirname "$0")" || exit 1
export KO_DIR=${KO_DIR:-$(cd .. && pwd)/tests/output/modules-debug}

say() { printf '\n===== %s\n' "$*"; }

say "kernel $(uname -r)"
echo "This is the debug test kernel (KASAN, lockdep) under QEMU TCG: absolute"
echo "numbers are slow; compare the columns. 'make bench' measures on the perf kernel."

say "rust_dm_delay: fio 4k QD1 over dm-zero + delay, C dm_delay then ours"
out=$(mktemp -d /tmp/demo.XXXXXX)
BENCH_REPEAT=1 BENCH_SECONDS=${DEMO_SECONDS:-5} BENCH_JOBS="0read 0write 1msread 10msread 1mswrite 10mswrite" \
	bench/dm_delay_bench.sh "$out" 2>&1 | grep -v '^wrote '
rm -rf "$out"

say "rust_rds_ib_addr: rds-ping over soft-RoCE"
./rds_demo.sh
