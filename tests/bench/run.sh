#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make bench' (and bench-stock, bench-hz1000: BENCH_FLAVOR): builds the
# modules for the test kernel in bench/output/modules-<flavor>/, boots it once
# to run tests/bench/guest.sh, which writes bench/output/raw/; report.py then
# writes bench/output/report.md and report.json, copied with raw/ to
# bench/output/runs/<date>/. Environment: tests/bench/README.md.

. "$(dirname "$0")/../vm/lib.sh"

flavor=${BENCH_FLAVOR:-perf}
kdir=$(kernel_dir "$flavor")
out=$REPO/bench/output
raw=$out/raw
mods=$out/modules-$flavor
[ -f "$ROOT$(kernel_image "$flavor")" ] || die "no $flavor kernel: run 'make kernel-$flavor' first"
start=$(date +%s)

# A copy of the sources (with their timestamps): Kbuild rebuilds what changed.
log "building the modules for the $flavor kernel in ${mods#"$REPO"/}"
copy_module_sources "$mods"
in_chroot "cd $mods && scripts/kmake.sh $kdir modules -j$(nproc)" >"$CACHE/build-bench-$flavor.log" 2>&1 ||
	{ tail -n 30 "$CACHE/build-bench-$flavor.log"; die "module build for the $flavor kernel failed, see $CACHE/build-bench-$flavor.log"; }
build_tools
built=$(date +%s)

rm -rf "$raw" "$out/report.md" "$out/report.json"
mkdir -p "$raw"

# A fixed address layout: under TCG what code costs depends on where it lands.
cmdline=${BENCH_CMDLINE-nokaslr norandmaps}
env=("KO_DIR=$mods" "BENCH_CMDLINE='$cmdline'")
for v in BENCH_SECONDS BENCH_REPEAT BENCH_JOBS BENCH_IMPLS BENCH_PIN RDS_BENCH_INVOCATIONS RDS_BENCH_LOOP \
	RDS_BENCH_ROUNDS RDS_BENCH_LOOP_REPS RDS_BENCH_COUNT_ROUNDS; do
	[ -n "${!v:-}" ] && env+=("$v='${!v}'")
done
log "booting the $flavor kernel and running the benchmarks (log: ${out#"$REPO"/}/vm.log)"
vm_rc=0
VM_APPEND=$cmdline "$REPO/tests/vm/vm.sh" -f "$flavor" -t "${BENCH_TIMEOUT:-3000}" \
	"${env[*]} tests/bench/guest.sh $raw" 2>&1 | tee "$out/vm.log" || vm_rc=${PIPESTATUS[0]}
end=$(date +%s)
grep -q '^# bench-guest-done' "$out/vm.log" ||
	echo "warning: the guest did not finish (vm.sh exit $vm_rc); the report has what it wrote" >&2

# hz: in the chroot, where the stock headers' build/ symlink resolves.
printf '%s\n' "flavor=$flavor" "hz=$(in_chroot "grep -o '^CONFIG_HZ=[0-9]*' $kdir/.config")" \
	"date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "host=host: $(nproc) cores, $(uname -r)" \
	"elapsed=$((end - start)) s (module build $((built - start)) s, VM boot and benchmarks $((end - built)) s)" \
	>"$raw/host.txt"
in_chroot "python3 tests/bench/report.py $raw $out" || die "report.py failed"

stamp=$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$out/runs/$stamp"
cp -p "$out/report.md" "$out/report.json" "$out/runs/$stamp/"
cp -a "$raw" "$out/runs/$stamp/raw"
printf '\n%s\n\nreport: %s\nJSON:   %s\n' "$(cat "$out/report.md")" "$out/report.md" "$out/report.json"
echo "copy:   $out/runs/$stamp/"
grep -q '^dm_delay ok' "$raw/status.txt" 2>/dev/null || die "the dm-delay benchmark did not complete"
