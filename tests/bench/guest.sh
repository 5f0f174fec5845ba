#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs in the test VM (booted by run.sh): both benchmarks, one after the
# other, into OUTDIR.
#
#   guest.sh OUTDIR
#
# Writes OUTDIR/meta.txt (kernel, date, CPUs), OUTDIR/status.txt (one line
# per benchmark: its name and "ok", "failed rc=N" or "missing") and
# OUTDIR/rds.log; the benchmarks write their raw rows.

set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: guest.sh OUTDIR}
export KO_DIR=${KO_DIR:-$(cd "$BENCH_DIR/../.." && pwd)}
mkdir -p "$OUT"
rm -f "$OUT/status.txt" "$OUT/rds.log"

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

# Appends benchmark $1's status, from its exit code $2, to status.txt.
status() {
	if [ "$2" = 0 ]; then echo "$1 ok"; else echo "$1 failed rc=$2"; fi >>"$OUT/status.txt"
}

echo "===== dm-delay: C dm_delay against rust_dm_delay"
"$BENCH_DIR/dm_delay_bench.sh" "$OUT"
status dm_delay $?

echo "===== RDS"
if [ -x "$BENCH_DIR/rds_bench.sh" ]; then
	"$BENCH_DIR/rds_bench.sh" "$OUT" 2>&1 | tee "$OUT/rds.log"
	status rds "${PIPESTATUS[0]}"
else
	echo "tests/bench/rds_bench.sh is missing or not executable: skipped"
	echo "rds missing" >>"$OUT/status.txt"
fi
cat "$OUT/status.txt"
echo "# bench-guest-done"
