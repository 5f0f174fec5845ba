#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# Live delay changes: 'dmsetup message <dev> 0 delay <read|write|flush|all>
# <delay>'.
#
# - Bad messages are refused with EINVAL and a log line naming the module
#   and the problem, and change nothing.
# - The table shows the delays in force, with more triples when classes
#   that shared one now differ; reloading it reproduces them. The status
#   line keeps its format.
# - A new delay applies to the bios already waiting (each is due at its
#   arrival plus its class's delay in force): a shorter one releases them,
#   a longer one holds them.
# - Under fio's verified I/O, the delay goes 1 ms -> 10 ms -> 250 us -> 0
#   while single writes are timed: in each phase no write is early, and the
#   median is within the bound dm_delay_timing.sh uses.
# - 1,000 random messages race suspends, resumes and table reloads under
#   verified I/O, over 30 s (3,000 over 90 s in make stress): all are accepted,
#   no block fails to verify, and nothing is left waiting.

. "$(dirname "$0")/dm_delay_lib.sh"

LAT=$(dirname "$0")/dm_delay_lat.py
RACES=$([ "${STRESS:-0}" = 1 ] && echo 3000 || echo 1000)
SLACK_US=10000
LV=$(mkloop 16)
V=$(devno "$LV")
X=dmd_msg

# "message|what the log line says"
BAD=(
	"frob|unknown message \"frob\""
	"delay|takes 2 arguments, <read|write|flush|all> <delay>, not 0"
	"delay write|takes 2 arguments, <read|write|flush|all> <delay>, not 1"
	"delay write 10ms now|takes 2 arguments, <read|write|flush|all> <delay>, not 3"
	"delay disk 10ms|unknown class \"disk\""
	"delay write 4294967296|invalid delay \"4294967296\""
	"delay write 10s|invalid delay \"10s\""
	"delay write ms|invalid delay \"ms\""
	"delay read +1|invalid delay \"+1\""
)

ktap_print_header
ktap_set_plan $((${#BAD[@]} + 8 + 4 + 1 + 3 + 1))

load_rust
out=$(dm_create $X 16384 $V 0 1ms) || ktap_print_msg "create failed: $out"

for c in "${BAD[@]}"; do
	msg=${c%%|*} want=${c#*|} mark="dmd-msg-$RANDOM$RANDOM"
	echo "$mark" >/dev/kmsg
	# shellcheck disable=SC2086 # the message is its words
	err=$($DMS message $X 0 $msg 2>&1)
	rc=$?
	log=$(dmesg | sed -n "/$mark/,\$p" | grep "rust_dm_delay: .*message")
	table=$($DMS table $X | cut -d' ' -f4-)
	if [ $rc != 0 ] && [[ $err == *"Invalid argument"* ]] && [[ $log == *"$want"* ]] &&
		[ "$table" = "$V 0 1ms" ]; then
		ktap_test_pass "refused: '$msg' (EINVAL, log: ${log#*rust_dm_delay: })"
	else
		ktap_test_fail "refused: '$msg' (rc $rc, '$err', log '$log', table '$table')"
	fi
done

# The table follows the messages, and a reload of it reproduces them.
table_is() { [ "$($DMS table $X | cut -d' ' -f4-)" = "$1" ]; }
# In a 6-argument table flushes follow writes, so writes alone changed
# take 9 arguments, and writes and flushes together 6.
$DMS message $X 0 delay write 10ms
check "'delay write 10ms' on a 3-argument table: table shows 3 triples" table_is "$V 0 1ms $V 0 10ms $V 0 1ms"
$DMS message $X 0 delay flush 10ms
check "'delay flush 10ms': table shows 2 triples" table_is "$V 0 1ms $V 0 10ms"
$DMS message $X 0 delay flush 250us
check "'delay flush 250us': table shows 3 triples" table_is "$V 0 1ms $V 0 10ms $V 0 250us"
t=$($DMS table $X)
$DMS load $X --table "$t" && $DMS resume $X
check "reloading the shown table reproduces it" table_is "$V 0 1ms $V 0 10ms $V 0 250us"
$DMS message $X 0 DELAY All 5
check "'DELAY All 5' (any case) sets every class" table_is "$V 0 5 $V 0 5 $V 0 5"
dd if=/dev/mapper/$X of=/dev/null bs=4k count=16 iflag=direct status=none
check "status line unchanged in format: '$($DMS status $X | cut -d' ' -f4-)'" \
	grep -Eq '^0 16384 delay [0-9]+ [0-9]+ [0-9]+$' <<<"$($DMS status $X)"

# A new delay applies to the bios already waiting.
$DMS message $X 0 delay write 600000
dd if=/dev/zero of=/dev/mapper/$X bs=4k count=1 oflag=direct status=none &
dd_pid=$!
wait_status $X 5 1
$DMS message $X 0 delay write 0
check "'delay write 0' releases a write waiting out 10 min" wait_status $X 5 0
$DMS suspend $X && $DMS resume $X
wait $dd_pid
$DMS message $X 0 delay write 5000
dd if=/dev/zero of=/dev/mapper/$X bs=4k count=1 oflag=direct status=none &
dd_pid=$!
wait_status $X 5 1
$DMS message $X 0 delay write 30000
sleep 6
check "'delay write 30000' holds a write that was due after 5 s" test "$($DMS status $X | cut -d' ' -f5)" = 1
$DMS suspend $X && $DMS resume $X
wait $dd_pid

# Live phases under verified I/O, at a rate that leaves the timed writes
# the CPU: at no delay, fio alone would saturate the VM.
fio_verify_start /dev/mapper/$X 1 --rate_iops=100
phases=(1ms 10ms 250us 0)
mapfile -t got < <(python3 "$LAT" /dev/mapper/$X live $X 3 "${phases[@]}")
for i in "${!phases[@]}"; do
	read -r want n min med <<<"${got[i]:-0 0 -1 -1}"
	desc="phase 'delay all ${phases[i]}': $n writes, min $min us >= $want, median $med us <= $want + $SLACK_US"
	if [ "${n:-0}" -gt 0 ] && [ "$min" -ge "$want" ] && [ "$med" -le $((want + SLACK_US)) ]; then
		ktap_test_pass "$desc"
	else
		ktap_test_fail "$desc"
	fi
done
check "every block verifies across the phases" fio_verify_stop $X

# Random messages race suspends, resumes and reloads.
fio_verify_start /dev/mapper/$X 2
python3 "$LAT" $X messages $RACES $((RACES * 3 / 100)) >"$DMD_WORK/msg.bad" &
msg_pid=$!
cycles=0 not_empty=
while kill -0 $msg_pid 2>/dev/null; do
	cycles=$((cycles + 1))
	((cycles % 2)) && $DMS load $X --table "0 16384 delay $V 0 $((RANDOM % 10))ms $V 0 $((RANDOM % 10))"
	$DMS suspend $X
	s=$($DMS status $X | cut -d' ' -f4-)
	[ "$s" = "0 0 0" ] || not_empty+="cycle $cycles: $s; "
	$DMS resume $X
done
wait $msg_pid
check "$RACES random messages accepted while $cycles suspends and $((cycles / 2)) reloads ran" \
	test "$(cat "$DMD_WORK/msg.bad")" = 0 -a -z "$not_empty"
[ -z "$not_empty" ] || ktap_print_msg "held while suspended: $not_empty"
kill -INT "$FIO_PID"
check "the worker hands down every waiting bio once fio stops" wait_status $X 4- "0 0 0"
check "every block verifies across the races" fio_verify_stop $X
dm_remove $X

dmd_cleanup
check "kernel log clean" dmesg_clean
ktap_finished
