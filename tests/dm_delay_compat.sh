#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# rust_dm_delay is a drop-in for the C dm_delay: for a set of valid 3-, 6-
# and 9-argument tables, 'dmsetup table' and 'dmsetup status' print the same
# strings for both. While the C module holds the target name, loading ours
# fails with EEXIST and says why in dmesg. The unit suffixes of our
# extension print as given.
#
# Under load too: with a read, a write and a flush delayed (60 s, until a
# suspend hands them down), the status counts match C's. And bios go to
# the same devices as with C: a FUA write to the write device; a PREFLUSH
# write with data (an ext4 journal commit block) is split by dm core into
# an empty flush, for the flush device, and its data as a write, for the
# write device: the flush device gets no data.

. "$(dirname "$0")/dm_delay_lib.sh"

A=$(devno "$(mkloop 16)")
B=$(devno "$(mkloop 16)")
LC=$(mkloop 16)
C=$(devno "$LC")
LEN=8192
LV=$(mkloop 16)
V=$(devno "$LV")
MNT=$DMD_WORK/mnt
mkdir -p "$MNT"

LOAD_TABLES=(
	"$A 0 60000 $B 0 60000 $C 0 60000"
	"$A 0 60000"
)

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
ktap_set_plan $((${#TABLES[@]} + ${#LOAD_TABLES[@]} + 8))

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

# Prints the status of a fresh device with ARGS while one read, one write
# and one flush (if flushes reach it) are delayed.
status_loaded() {
	local out want="1 1 1" X=/dev/mapper/dmd_load
	out=$(dm_create dmd_load $LEN "$@") || {
		echo "create failed: $out"
		return
	}
	[ "$(cat "$(dmsys dmd_load)/queue/write_cache")" = "write back" ] || want="1 1 0"
	python3 -c 'import os, sys; os.fsync(os.open(sys.argv[1], os.O_WRONLY))' $X &
	dd if=$X of=/dev/null bs=4k count=1 iflag=direct status=none &
	dd if=/dev/zero of=$X bs=4k count=1 oflag=direct status=none &
	wait_status dmd_load 4-6 "$want"
	$DMS status dmd_load
	$DMS suspend dmd_load
	wait
	$DMS resume dmd_load
	dm_remove dmd_load
}

# Prints where data goes with read and write device V and flush device C:
# "fua:DEV commit:DEV" names the devices holding a FUA write's data and the
# ext4 journal commit blocks (V, C, both or none).
routing() {
	local out X=/dev/mapper/dmd_route fua commit
	dd if=/dev/zero of="$LV" bs=1M oflag=direct status=none
	dd if=/dev/zero of="$LC" bs=1M oflag=direct status=none
	out=$(dm_create dmd_route 32768 $V 0 1 $V 0 1 $C 0 1) || {
		echo "create failed: $out"
		return
	}
	# A 4 KiB O_DIRECT write at 1 MiB with RWF_DSYNC, which is a FUA write.
	python3 -c '
import mmap, os, sys
buf = mmap.mmap(-1, 4096)
buf.write(b"fua-write-mark" * 292)
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_DIRECT)
os.pwritev(fd, [buf], 1 << 20, os.RWF_DSYNC)' $X
	fua=$(where_is 6675612d77726974652d6d61726b) # "fua-write-mark"
	# jbd2 writes its commit blocks with REQ_PREFLUSH | REQ_FUA.
	mkfs.ext4 -q -F -E nodiscard,lazy_itable_init=1,lazy_journal_init=1 $X
	mount $X "$MNT"
	head -c 64k /dev/urandom >"$MNT/file"
	sync -f "$MNT/file"
	umount "$MNT"
	dm_remove dmd_route
	# A jbd2 header: the magic, then block type 2 (commit).
	commit=$(where_is c03b399800000002)
	echo "fua:$fua commit:$commit"
}

# Prints which of V and C hold the bytes of hex string $1 at a sector start.
where_is() {
	local hit=
	has "$1" "$LV" && hit=V
	has "$1" "$LC" && hit=${hit}C
	echo "${hit:-none}"
}

has() {
	dd if="$2" bs=1M iflag=direct status=none | python3 -c '
import sys
data, pat = sys.stdin.buffer.read(), bytes.fromhex(sys.argv[1])
i = data.find(pat)
while i > 0 and i % 512:
    i = data.find(pat, i + 1)
sys.exit(i < 0)' "$1"
}

mod_unload rust_dm_delay
modprobe dm_delay
declare -a c_out c_load
for i in "${!TABLES[@]}"; do
	c_out[i]=$(strings_for ${TABLES[i]})
done
for i in "${!LOAD_TABLES[@]}"; do
	c_load[i]=$(status_loaded ${LOAD_TABLES[i]})
done
c_route=$(routing)

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

for i in "${!LOAD_TABLES[@]}"; do
	r_load=$(status_loaded ${LOAD_TABLES[i]})
	if [ "$r_load" = "${c_load[i]}" ] && [ "${r_load##* delay }" != "0 0 0" ]; then
		ktap_test_pass "same status as C under load ($r_load) for: ${LOAD_TABLES[i]}"
	else
		ktap_print_msg "C:    ${c_load[i]}"
		ktap_print_msg "Rust: $r_load"
		ktap_test_fail "same status as C under load for: ${LOAD_TABLES[i]}"
	fi
done

r_route=$(routing)
ktap_print_msg "routing: C: $c_route, Rust: $r_route"
check "a FUA write goes to the write device, as with C" \
	test "${r_route% *}" = fua:V -a "${c_route% *}" = fua:V
check "the data of a PREFLUSH write goes to the write device, as with C" \
	test "${r_route#* }" = commit:V -a "${c_route#* }" = commit:V

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
