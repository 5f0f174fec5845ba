#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: rds
#
# Life cycle of the rust_rds_ib_addr livepatch:
# - loaded before rds_rdma, it patches rds_rdma when that loads;
# - loaded after rds_rdma while sockets are bound, it takes over: the first
#   bind is checked and cached, the next ones take the fast path;
# - disabled, unloaded and loaded again, and its fast path switched off and
#   on, while 4 processes bind in a loop: no bind fails;
# - after disable and rmmod, behaviour is upstream's again (every bind goes
#   to rdma_bind_addr), nothing of the module remains (no sysfs or debugfs
#   entry), and address and RDMA device changes (which would call its
#   notifiers and IB client) run cleanly; the kernel log has no report and
#   kmemleak no leak of ours.
#
# It makes no RDS/IB connection (binds only, no ping) and unloads rds_rdma,
# so it runs first in its boot: unloading rds_rdma after connections existed
# hits an upstream rds_rdma exit bug (slab caches still in use, then an oops
# in an ib_cm worker), with or without us. If rds_rdma is already loaded
# when it starts, connections may exist: the part before rds_rdma is then
# skipped instead.

. "$(dirname "$0")/rds_lib.sh"

ktap_print_header
ktap_set_plan 25

preloaded=0
grep -q '^rds_rdma ' /proc/modules && preloaded=1
rds_setup || ktap_exit_fail_msg "soft-RoCE setup failed"
mod_remove "$LP"

check "modinfo carries livepatch=Y" \
	sh -c "modinfo -F livepatch '$KO_DIR/$LP.ko' | grep -qx Y"

# Loaded before rds_rdma.
before=("rds_rdma unloaded" "livepatch loads without rds_rdma"
	"livepatch object rds_rdma is pending" "rds_rdma gets patched when it loads"
	"bind goes through the patch" "livepatch unloads")
if [ $preloaded = 1 ]; then
	ktap_print_msg "rds_rdma was loaded before this test: RDS/IB connections may exist, and 'rmmod rds_rdma' after a connection hits an upstream bug; run rds_lifecycle.sh first in a fresh boot"
	for d in "${before[@]}"; do
		ktap_test_skip "$d (rds_rdma was already loaded)"
	done
else
	rmmod rds_rdma
	check "${before[0]}" sh -c '! grep -q "^rds_rdma " /proc/modules'
	check "${before[1]}" lp_load
	check "${before[2]}" test "$(cat "$LP_SYSFS/rds_rdma/patched")" = 0
	modprobe rds_rdma
	lp_wait_transition
	check "${before[3]}" test "$(cat "$LP_SYSFS/rds_rdma/patched")" = 1
	s0=$(ctr slow_checks)
	expect_eq "${before[4]}" "ok 1" \
		"$(rds_bind "$A4") $(($(ctr slow_checks) - s0))"
	check "${before[5]}" lp_unload
fi

# Loaded after rds_rdma, with 8 bound sockets alive in another process.
# Background processes run the binary itself, so that $! is its pid.
"$TESTS_DIR/rds-bind" -H -n 8 "$A4" >/tmp/rds-holder.out 2>&1 &
holder=$!
for _ in $(seq 1 100); do grep -q bound /tmp/rds-holder.out && break; sleep 0.1; done
check "8 sockets bound before loading" grep -qx bound /tmp/rds-holder.out
check "livepatch loads with live sockets" lp_load
check "rds_ib_laddr_check is patched" \
	test "$(cat "$LP_SYSFS/rds_rdma/patched")" = 1 -a \
	-d "$LP_SYSFS/rds_rdma/rds_ib_laddr_check,1"
s0=$(ctr slow_checks)
expect_eq "first bind after loading: ok, 1 slow check" "ok 1" \
	"$(rds_bind "$A4") $(($(ctr slow_checks) - s0))"
s0=$(ctr slow_checks) f0=$(ctr fast_hits)
prof_start rdma_bind_addr
out=$(rds_bind -n 3 "$A4")
calls=$(prof_hits rdma_bind_addr)
expect_eq "3 more binds: ok, fast path, no rdma_bind_addr" "ok 3 0 0" \
	"$out $(($(ctr fast_hits) - f0)) $(($(ctr slow_checks) - s0)) $calls"
kill -TERM "$holder"
wait "$holder"
check "the holder's sockets lived through the load and closed cleanly" test $? = 0

# Disable, unload, load again, and switch the fast path off and on, while
# 4 processes bind in a loop.
binders_start "" "$A4" "$A4" "$A4" "$A4"
sleep 2
ok=0
for round in 1 2 3; do
	echo 0 >"$DBG/fast_path" || ok=1
	sleep 0.5
	echo 1 >"$DBG/fast_path" || ok=1
	sleep 0.5
	lp_unload || ok=1
	sleep 1
	lp_load || ok=1
	sleep 1
done
check "3 rounds of fast path off/on, disable, unload and load under load" test $ok = 0
hits=$(ctr fast_hits)
ktap_print_msg "last load: fast_hits $hits slow_checks $(ctr slow_checks)"
check "fast path used under load" test "$hits" -gt 0
check "final disable and unload under load" lp_unload
sleep 2
binders_stop
check "no bind failed during the life-cycle changes" test "$UNEXPECTED" = 0
check "the loops did bind" test "$BINDS" -gt 100

# Upstream behaviour is back, and nothing of the module remains.
expect_eq "bind after unload (upstream check)" ok "$(rds_bind "$A4")"
if [ $preloaded = 1 ]; then
	# Connections may have filled upstream's own address list.
	ktap_test_skip "upstream: every bind calls rdma_bind_addr (rds_rdma was already loaded)"
else
	# No IB connection was made, so upstream's address list is empty and
	# every bind takes its rdma_cm path.
	prof_start rdma_bind_addr
	out=$(rds_bind -n 3 "$A4")
	expect_eq "upstream: every bind calls rdma_bind_addr" "ok 3" \
		"$out $(prof_hits rdma_bind_addr)"
fi
check "no livepatch sysfs entry" test ! -e "$LP_SYSFS"
check "no debugfs directory" test ! -e "$DBG"
check "module gone" sh -c "! grep -q '^$LP ' /proc/modules"
ip addr del "$A4/24" dev veth0
ip -6 addr del "$A6/64" dev veth0
ip link set veth0 down
rdma link delete rxe0
ip link set veth0 up
ip addr add "$A4/24" dev veth0
ip -6 addr add "$A6/64" dev veth0 nodad
rdma link add rxe0 type rxe netdev veth0
check "address, netdev and RDMA device changes after unload" wait_gid rxe0 "$A4"

check "kernel log clean" dmesg_clean
ktap_finished
