#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# The error paths, driven by the kernel's fault injection:
# - Allocation-failure sweeps (tests/fault-sweep.c): the n-th failure point
#   (failslab, fail_page_alloc, GFP_KERNEL ones included) of a step fails,
#   for n = 1, 2, ... until the step runs with none injected. The steps: the
#   table load and resume of 'dmsetup create' with a 3-, 6- and 9-argument
#   table, and insmod of each module. Each attempt works or fails with an
#   errno, and leaves no holder, no module reference and no leak behind.
#   make check tries every 10th point; make stress (STRESS=1) all of them.
# - I/O errors from below: fail_make_request fails a share of the bios on
#   the device under a delay target while fio runs through it. fio sees EIO,
#   no bio stays queued, and a suspend in the middle completes.

# When an allocation fails while a module comes in, the module loader's
# jump-label notifier WARNs by design ("Failed to allocate memory: jump_label
# may not work properly.", kernel/jump_label.c), and again as it unwinds.
# That is upstream's answer to the injected failure, so it is tolerated.
KNOWN_REPORT_RE='WARNING: kernel/jump_label.c:[0-9]+ at jump_label_(module_notify|del_module)'
. "$(dirname "$0")/dm_delay_lib.sh"

FI=/sys/kernel/debug
STEP=$([ "${STRESS:-0}" = 1 ] && echo 1 || echo 10)

ktap_print_header
[ -e /proc/self/fail-nth ] && [ -d $FI/failslab ] && [ -d $FI/fail_page_alloc ] ||
	ktap_exit_skip "no fault injection in this kernel (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC)"
ktap_set_plan 10

# Only fail-nth injects (probability 0), silently, and at every allocation.
for a in failslab fail_page_alloc; do
	echo 0 >$FI/$a/probability
	echo 0 >$FI/$a/verbose
	echo N >$FI/$a/ignore-gfp-wait
done
echo 0 >$FI/fail_page_alloc/min-order

L1=$(mkloop 16) L2=$(mkloop 16) L3=$(mkloop 16)

# sweep DESC ARGS...: one check, its description followed by the counts.
sweep() {
	local desc=$1 out rc
	shift
	out=$("$TESTS_DIR/fault-sweep" -s "$STEP" "$@")
	rc=$?
	echo "$out" | grep '^broken\|^failed' | head -n 20 | sed 's/^/# /'
	check "$desc: $(echo "$out" | tail -n 1)" test $rc = 0
}

mod_remove rust_dm_delay
mod_remove dm_delay
for dep in $(modinfo -F depends "$KO_DIR/rust_rds_ib_addr.ko" | tr , ' '); do
	modprobe "$dep"
done
mod_remove rust_rds_ib_addr
sweep "insmod rust_dm_delay" insmod "$KO_DIR/rust_dm_delay.ko" 8192 "$L1 0 1"
sweep "insmod rust_rds_ib_addr" insmod "$KO_DIR/rust_rds_ib_addr.ko"
load_rust
sweep "dmsetup create, 3 arguments" table 8192 "$L1 0 1"
sweep "dmsetup create, 6 arguments" table 8192 "$L1 0 1 $L2 2048 2"
sweep "dmsetup create, 9 arguments" table 8192 "$L1 0 1 $L2 2048 2 $L3 4096 3"

# I/O errors from below: about one bio in five fails on L1.
X=/dev/mapper/dmd_fault
dm_create dmd_fault 8192 "$(devno "$L1")" 0 2 >/dev/null
echo 20 >$FI/fail_make_request/probability
echo -1 >$FI/fail_make_request/times
echo 0 >$FI/fail_make_request/verbose
echo 1 >"/sys/class/block/${L1##*/}/make-it-fail"
fio --name=faults --filename=$X --direct=1 --ioengine=libaio --rw=randrw --bs=4k \
	--iodepth=16 --numjobs=2 --thread --time_based --runtime=6 --continue_on_error=io \
	--output-format=terse --output="$DMD_WORK/fio.log" >/dev/null 2>&1 &
fio_pid=$!
sleep 2
t=$SECONDS
timeout 60 $DMS suspend dmd_fault
rc=$?
check "a suspend completes while bios fail below (rc $rc, $((SECONDS - t)) s)" test $rc = 0
$DMS resume dmd_fault
wait $fio_pid
echo 0 >"/sys/class/block/${L1##*/}/make-it-fail"
echo 0 >$FI/fail_make_request/probability
# Terse v3: the first error's errno is field 5 of each job's line; with
# --continue_on_error, the job's total errors are the second-to-last field.
read -r errs first < <(awk -F';' '$1 == 3 { n += $(NF - 1); if ($5 > e) e = $5 } END { print n + 0, e + 0 }' "$DMD_WORK/fio.log")
ktap_print_msg "fio: $errs I/O errors, first errno $first"
check "the errors reach fio as EIO" test "$errs" -gt 0 -a "$first" = 5
check "no bio stays queued (status 0 0 0)" wait_status dmd_fault 4-6 "0 0 0"
dm_remove dmd_fault

dmd_cleanup
check "rust_dm_delay unloads" test ! -d /sys/module/rust_dm_delay
check "kernel log clean, no leak" dmesg_clean
ktap_finished
