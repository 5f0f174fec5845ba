#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make demo': runs in the test VM and shows the modules at work.
#
#  1. rust_dm_delay: dm-zero with delay devices at 1 ms and 10 ms, a short
#     fio run on each, with the C dm_delay and with ours in the same boot,
#     IOPS and latency next to the theoretical maximum.
#  2. rust_rds_ib_addr: soft-RoCE on a veth pair, rds-ping runs, and the
#     module's counters with the fast path on and off.
#
# DEMO_SECONDS sets the fio run time per job (default 5).

set -u
cd "$(dirname "$0")" || exit 1
export KO_DIR=${KO_DIR:-$(cd .. && pwd)}

say() { printf '\n===== %s\n' "$*"; }

say "kernel $(uname -r); the debug kernel under TCG: absolute numbers are slow, compare the columns"
say "rust_dm_delay: fio 4k QD1 over dm-zero + delay"
./dm_delay_bench.sh "${DEMO_SECONDS:-5}"

if [ -x rds_demo.sh ]; then
	say "rust_rds_ib_addr: rds-ping over soft-RoCE"
	./rds_demo.sh
fi
