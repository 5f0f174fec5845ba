#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make bench': builds the modules for the perf test kernel, boots it once in
# QEMU, runs both benchmarks there (tests/bench/guest.sh), then writes the
# report. 'make bench-stock' does the same on Debian's own kernel image
# (BENCH_FLAVOR=stock), with the modules built against its headers as
# 'make KDIR=/lib/modules/<release>/build' builds them.
#
#   run.sh
#
# The .ko files at the repository top are built for the debug kernel and
# are left alone: the modules are built from a copy of the sources in
# bench/output/modules-<flavor>/ (gitignored). Results go to bench/output/:
# report.md, report.json, dm_delay_latency.png; the raw data to
# bench/output/raw/, and a copy of each report to bench/output/runs/<date>/.
#
# Environment:
#   BENCH_SECONDS  fio run time per dm-delay run (default 10)
#   BENCH_REPEAT   rounds for every dm-delay job (default: 1 to 5 per job,
#                  see tests/bench/dm_delay_bench.sh)
#   BENCH_FLAVOR   test kernel flavor (default perf; stock for Debian's
#                  kernel; debug for development)
#   BENCH_TIMEOUT  cap on the VM run, in seconds (default 1500)
#   BENCH_CMDLINE  added to the guest kernel's command line (default
#                  'nokaslr norandmaps': see below; empty for the kernel's own
#                  randomised layout)
#   BENCH_JOBS, BENCH_IMPLS  a subset of the dm-delay matrix (see
#                  tests/bench/dm_delay_bench.sh)
#   RDS_BENCH_INVOCATIONS, RDS_BENCH_LOOP, RDS_BENCH_ROUNDS, RDS_BENCH_LOOP_REPS,
#   RDS_BENCH_COUNT_ROUNDS  the size of the RDS benchmark
#                  (see tests/bench/rds_bench.sh)

. "$(dirname "$0")/../vm/lib.sh"

flavor=${BENCH_FLAVOR:-perf}
kdir=$(kernel_dir "$flavor")
out=$REPO/bench/output
raw=$out/raw
mods=$out/modules-$flavor
[ -f "$ROOT$(kernel_image "$flavor")" ] || die "no $flavor kernel: run 'make kernel-$flavor' first"
start=$(date +%s)

# A copy of the module sources (copy_module_sources keeps their
# timestamps), so that Kbuild rebuilds only what changed since the last run.
log "building the modules for the $flavor kernel in ${mods#"$REPO"/}"
copy_module_sources "$mods"
in_chroot "cd $mods && scripts/kmake.sh $kdir modules -j$(nproc)" >"$CACHE/build-bench-$flavor.log" 2>&1 ||
	{ tail -n 30 "$CACHE/build-bench-$flavor.log"; die "module build for the $flavor kernel failed, see $CACHE/build-bench-$flavor.log"; }
build_tools
built=$(date +%s)

rm -rf "$raw"
mkdir -p "$raw"
rm -f "$out/report.md" "$out/report.json" "$out/dm_delay_latency.png"
rm -rf "$out/plot"

env=("KO_DIR=$mods" "BENCH_SECONDS=${BENCH_SECONDS:-10}")
for v in BENCH_REPEAT BENCH_JOBS BENCH_IMPLS RDS_BENCH_INVOCATIONS RDS_BENCH_LOOP \
	RDS_BENCH_ROUNDS RDS_BENCH_LOOP_REPS RDS_BENCH_COUNT_ROUNDS; do
	[ -n "${!v:-}" ] && env+=("$v='${!v}'")
done
# A fixed address layout, kernel and user. Under TCG the cost of a code path
# depends on where its code lands (QEMU, for one, links translated blocks
# directly only within a guest page). With KASLR, ours / C of the RDS fast
# path's bind latency (2-3 us quantities) was 1.08-1.21 over five boots;
# with this layout, 1.089-1.090 over three.
cmdline=${BENCH_CMDLINE-nokaslr norandmaps}
env+=("BENCH_CMDLINE='$cmdline'")
log "booting the $flavor kernel and running the benchmarks (log: ${out#"$REPO"/}/vm.log)"
if VM_APPEND=$cmdline "$REPO/tests/vm/vm.sh" -f "$flavor" -t "${BENCH_TIMEOUT:-1500}" \
	"${env[*]} tests/bench/guest.sh $raw" 2>&1 | tee "$out/vm.log"; then
	vm_rc=0
else
	vm_rc=${PIPESTATUS[0]}
fi
end=$(date +%s)
grep -q '^# bench-guest-done' "$out/vm.log" ||
	echo "warning: the guest did not finish (vm.sh exit $vm_rc); the report has what it wrote" >&2

{
	echo "flavor=$flavor"
	# In the chroot: the stock headers' build/ is an absolute symlink.
	echo "hz=$(in_chroot "grep -o '^CONFIG_HZ=[0-9]*' $kdir/.config")"
	echo "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "host=host: $(nproc) cores, $(uname -r)"
	echo "elapsed=$((end - start)) s (module build $((built - start)) s, VM boot and benchmarks $((end - built)) s)"
} >"$raw/host.txt"
in_chroot "python3 tests/bench/report.py $raw $out" || die "report.py failed"

stamp=$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$out/runs/$stamp"
cp -p "$out/report.md" "$out/report.json" "$out/runs/$stamp/"
[ -f "$out/dm_delay_latency.png" ] && cp -p "$out/dm_delay_latency.png" "$out/runs/$stamp/"

echo
cat "$out/report.md"
echo
echo "report: $out/report.md"
echo "JSON:   $out/report.json"
[ -f "$out/dm_delay_latency.png" ] && echo "plot:   $out/dm_delay_latency.png"
echo "copy:   $out/runs/$stamp/"
grep -q '^dm_delay ok' "$raw/status.txt" 2>/dev/null || die "the dm-delay benchmark did not complete"
