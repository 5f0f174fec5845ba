#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs in the test VM (booted by run.sh): both benchmarks, one after the
# other, into OUTDIR.
#
#   guest.sh OUTDIR
#
# Writes OUTDIR/meta.txt (kernel, date, CPUs) and OUTDIR/status.txt (one
# line per benchmark: its name and "ok", "failed rc=N" or "missing"). The
# RDS benchmark, tests/bench/rds_bench.sh OUTDIR, runs when it exists and is
# executable; it writes OUTDIR/rds.json and OUTDIR/rds.md.

set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: guest.sh OUTDIR}
export KO_DIR=${KO_DIR:-$(cd "$BENCH_DIR/../.." && pwd)}
mkdir -p "$OUT"
rm -f "$OUT/status.txt" "$OUT/rds.json" "$OUT/rds.md" "$OUT/rds.log"

{
	echo "uname=$(uname -a)"
	echo "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "cpus=$(nproc)"
	echo "mem_kib=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)"
	echo "ko_dir=$KO_DIR"
	echo "seconds=${BENCH_SECONDS:-10}"
	echo "repeat=${BENCH_REPEAT:-per job}"
	echo "cmdline=${BENCH_CMDLINE:-}"
} >"$OUT/meta.txt"
cat "$OUT/meta.txt"

echo "===== dm-delay: C dm_delay against rust_dm_delay"
"$BENCH_DIR/dm_delay_bench.sh" "$OUT"
rc=$?
if [ $rc = 0 ]; then
	echo "dm_delay ok" >>"$OUT/status.txt"
else
	echo "dm_delay failed rc=$rc" >>"$OUT/status.txt"
fi

echo "===== RDS"
if [ -x "$BENCH_DIR/rds_bench.sh" ]; then
	"$BENCH_DIR/rds_bench.sh" "$OUT" 2>&1 | tee "$OUT/rds.log"
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 0 ]; then
		echo "rds ok" >>"$OUT/status.txt"
	else
		echo "rds failed rc=$rc" >>"$OUT/status.txt"
	fi
else
	echo "tests/bench/rds_bench.sh is missing or not executable: skipped"
	echo "rds missing" >>"$OUT/status.txt"
fi
cat "$OUT/status.txt"
echo "# bench-guest-done"
