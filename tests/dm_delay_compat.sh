#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# rust_dm_delay is a drop-in for the C dm_delay: for a set of valid 3-, 6-
# and 9-argument tables, 'dmsetup table' and 'dmsetup status' print the same
# strings for both. While the C module holds the target name, loading ours
# fails with EEXIST and says why in dmesg. The unit suffixes of our
# extension print as given.

. "$(dirname "$0")/dm_delay_lib.sh"

A=$(devno "$(mkloop 16)")
B=$(devno "$(mkloop 16)")
C=$(devno "$(mkloop 16)")
LEN=8192

TABLES=(
	"$A 0 0"
	"$A 8 10"
	"$A 2048 500"
	"$A 16 1 $B 32 2"
	"$A 0 0 $B 0 100"
	"$A 4 7 $B 8 9 $C 12 60"
	"$A 0 0 $B 0 0 $C 0 0"
	"$A 0 1 $A 0 1 $A 0 1"
	"$A 007 0010 $B 0 3"
)

ktap_print_header
ktap_set_plan $((${#TABLES[@]} + 6))

# Prints "table|status" of a fresh device with ARGS.
strings_for() {
	local out
	out=$(dm_create dmd_compat $LEN "$@") || {
		echo "create failed: $out"
		return
	}
	echo "$($DMS table dmd_compat)|$($DMS status dmd_compat)"
	dm_remove dmd_compat
}

mod_unload rust_dm_delay
modprobe dm_delay
declare -a c_out
for i in "${!TABLES[@]}"; do
	c_out[i]=$(strings_for ${TABLES[i]})
done

# While the C module is loaded, ours must refuse to load. Its init fails
# with EEXIST, which the module loader reports to insmod as EBUSY (EEXIST
# would mean "already loaded").
mark=ksft-eexist-$$
echo "$mark" >/dev/kmsg
err=$(insmod "$KO_DIR/rust_dm_delay.ko" 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$err" | grep -q "Device or resource busy" &&
	! grep -q '^rust_dm_delay ' /proc/modules; then
	ktap_test_pass "insmod fails while the C dm_delay is loaded"
else
	ktap_print_msg "insmod rc=$rc: $err"
	ktap_test_fail "insmod fails while the C dm_delay is loaded"
fi
check "dmesg says the C module holds the name" \
	bash -c "dmesg | sed -n '/$mark/,\$p' | grep -q 'rust_dm_delay: .*C module dm_delay'"
check "C dm_delay unloads" rmmod dm_delay
check "rust_dm_delay loads" load_rust

for i in "${!TABLES[@]}"; do
	r_out=$(strings_for ${TABLES[i]})
	if [ "$r_out" = "${c_out[i]}" ] && [ -n "$r_out" ]; then
		ktap_test_pass "same table and status as C for: ${TABLES[i]}"
	else
		ktap_print_msg "C:    ${c_out[i]}"
		ktap_print_msg "Rust: $r_out"
		ktap_test_fail "same table and status as C for: ${TABLES[i]}"
	fi
done

ext=$(strings_for "$A 0 250us $B 8 10ms $C 16 3")
want="0 $LEN delay $A 0 250us $B 8 10ms $C 16 3|0 $LEN delay 0 0 0"
if [ "$ext" = "$want" ]; then
	ktap_test_pass "unit suffixes print as given"
else
	ktap_print_msg "got:  $ext"
	ktap_print_msg "want: $want"
	ktap_test_fail "unit suffixes print as given"
fi

dmd_cleanup
check "kernel log clean" dmesg_clean
ktap_finished
