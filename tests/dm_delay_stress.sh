#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# Many submitters: fio with 32 jobs x iodepth 64 (2048 bios in flight at
# most) writes through the target and verifies every block (crc32c), with
# the verifying reads interleaved. The jobs are threads (--thread), so that
# they start together even in a slow VM, and the delays (1 s reads, 2 s
# writes and flushes) are long enough that the target holds hundreds of
# bios at once. In the middle of it, a suspend must hand every
# delayed bio down (0 in flight while suspended) without losing one; at the
# end all data verifies and nothing is left in flight.

. "$(dirname "$0")/dm_delay_lib.sh"

JOBS=32
DEPTH=64
PER_JOB_KIB=1024

ktap_print_header
ktap_set_plan 7

load_rust
LV=$(mkloop $((JOBS * PER_JOB_KIB / 1024 + 8)))
V=$(devno "$LV")
LEN=$(($(sectors "$LV") - 1024))
out=$(dm_create dmd_stress $LEN $V 0 1000 $V 0 2000 $V 0 2000) ||
	ktap_print_msg "create failed: $out"
X=/dev/mapper/dmd_stress

# Each job owns its own range.
fio --name=stress --filename=$X --direct=1 --ioengine=libaio --thread \
	--iodepth=$DEPTH --numjobs=$JOBS --rw=randwrite --bs=4k \
	--size=${PER_JOB_KIB}k --offset_increment=${PER_JOB_KIB}k \
	--verify=crc32c --verify_backlog=64 --verify_fatal=1 \
	--group_reporting --output-format=normal,terse --terse-version=3 \
	--output="$DMD_WORK/fio.log" >/dev/null 2>&1 &
fio_pid=$!

# Sample how many bios the target holds (its status line, "<reads>
# <writes> <flushes>"; the device's own in-flight count in sysfs starts only
# when a delayed bio is submitted down, so it does not see them). Once the
# target holds hundreds, suspend in the middle of it all. $SECONDS is the
# clock, as each exec costs a few hundred ms in the debug VM.
peak=0 held= suspended= SECONDS=0
while kill -0 $fio_pid 2>/dev/null; do
	if [ $SECONDS -gt 400 ]; then
		ktap_print_msg "fio still running after 400 s; status: $($DMS status dmd_stress)"
		kill -9 $fio_pid
		break
	fi
	read -r _ _ _ r w f < <($DMS status dmd_stress)
	n=$((${r:-0} + ${w:-0} + ${f:-0}))
	[ $n -gt $peak ] && peak=$n
	if [ -z "$suspended" ] && [ $n -ge 256 ]; then
		held="$r $w $f"
		start=$SECONDS
		$DMS suspend dmd_stress
		suspended=$($DMS status dmd_stress | cut -d' ' -f4-)
		ktap_print_msg "suspend under load took $((SECONDS - start)) s"
		$DMS resume dmd_stress
	fi
done
wait $fio_pid
rc=$?

ktap_print_msg "peak held by the target: $peak of $((JOBS * DEPTH)); when suspended: ${held:-none}"
check "the target held hundreds of bios at once (peak $peak >= 256)" test $peak -ge 256
check "a suspend under load hands every delayed bio down (0 0 0 while suspended)" \
	test "$suspended" = "0 0 0"

if [ $rc -eq 0 ] && ! grep -qi "verify.*bad\|verify failed" "$DMD_WORK/fio.log"; then
	ktap_test_pass "fio $JOBS jobs x iodepth $DEPTH: every block verifies"
else
	sed 's/^/# fio: /' "$DMD_WORK/fio.log" | tail -n 20
	ktap_test_fail "fio $JOBS jobs x iodepth $DEPTH: every block verifies"
fi
# Terse v3: field 6 is the KiB read, field 47 the KiB written.
read -r rd wr < <(awk -F';' '$1 == 3 { print $6, $47 }' "$DMD_WORK/fio.log")
want=$((JOBS * PER_JOB_KIB))
ktap_print_msg "fio KiB read/written: ${rd:-?}/${wr:-?}"
check "all $want KiB written and read back" \
	test "${rd:-0}" -ge $want -a "${wr:-0}" -ge $want
check "nothing left in flight" test "$($DMS status dmd_stress | cut -d' ' -f4-)" = "0 0 0"
check "the device removes cleanly" dm_remove dmd_stress

dmd_cleanup
check "kernel log clean" dmesg_clean
ktap_finished
