#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# guest.sh OUTDIR, in the test VM (booted by run.sh): runs both benchmarks (raw
# rows into OUTDIR) and writes OUTDIR/meta.txt, rds.log and status.txt (a line
# per benchmark: its name and "ok" or "failed rc=N").

set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: guest.sh OUTDIR}
export KO_DIR=${KO_DIR:-$(cd "$BENCH_DIR/../.." && pwd)}
mkdir -p "$OUT"
rm -f "$OUT/status.txt" "$OUT/rds.log"

printf '%s\n' "uname=$(uname -a)" "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "cpus=$(nproc)" \
	"mem_kib=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)" "ko_dir=$KO_DIR" "seconds=${BENCH_SECONDS:-10}" \
	"repeat=${BENCH_REPEAT:-per job}" "cmdline=${BENCH_CMDLINE:-}" | tee "$OUT/meta.txt"

# Appends benchmark $1's status, from its exit code $2, to status.txt.
status() { if [ "$2" = 0 ]; then echo "$1 ok"; else echo "$1 failed rc=$2"; fi >>"$OUT/status.txt"; }

echo "===== dm-delay: C dm_delay against rust_dm_delay"
"$BENCH_DIR/dm_delay_bench.sh" "$OUT"
status dm_delay $?
echo "===== dm-delay: where a delayed I/O's time goes"
"$BENCH_DIR/dm_delay_bench.sh" "$OUT" stages
status stages $?
echo "===== RDS"
"$BENCH_DIR/rds_bench.sh" "$OUT" 2>&1 | tee "$OUT/rds.log"
status rds "${PIPESTATUS[0]}"
cat "$OUT/status.txt"
echo "# bench-guest-done"
