#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: rds
#
# Life cycle of the rust_rds_ib_addr livepatch:
# - loaded before rds_rdma, it patches rds_rdma when that loads;
# - loaded after rds_rdma while sockets are bound, it takes over;
# - disabled, unloaded and loaded again while 4 processes bind in a loop,
#   no bind fails, and behaviour reverts to upstream's;
# - after disable and rmmod nothing of it remains: no sysfs or debugfs
#   entry, and address and RDMA device changes (which would call its
#   notifiers and IB client) run cleanly.
#
# It unloads rds_rdma, so it must run before any test that makes an RDS/IB
# connection (rds_bind_count*.sh, rds_ping.sh): unloading rds_rdma after
# connections existed hits an upstream rds_rdma exit bug (slab caches
# still in use, then an oops in an ib_cm worker), with or without us.

. "$(dirname "$0")/rds_lib.sh"

ktap_print_header
ktap_set_plan 21

rds_setup || ktap_exit_fail_msg "soft-RoCE setup failed"
mod_remove "$LP"

check "modinfo carries livepatch=Y" \
	sh -c "modinfo -F livepatch '$KO_DIR/$LP.ko' | grep -qx Y"

# Loaded before rds_rdma.
rmmod rds_rdma
check "rds_rdma unloaded" sh -c '! grep -q "^rds_rdma " /proc/modules'
check "livepatch loads without rds_rdma" lp_load
check "livepatch object rds_rdma is pending" \
	test "$(cat "$LP_SYSFS/rds_rdma/patched")" = 0
modprobe rds_rdma
lp_wait_transition
check "rds_rdma gets patched when it loads" \
	test "$(cat "$LP_SYSFS/rds_rdma/patched")" = 1
s0=$(ctr slow_checks)
expect_eq "bind goes through the patch" "ok 1" \
	"$(rds_bind "$A4") $(($(ctr slow_checks) - s0))"
check "livepatch unloads" lp_unload

# Loaded after rds_rdma, with bound sockets alive.
TESTS_DIR=$TESTS_DIR python3 - "$A4" >/tmp/rds-holder.out 2>&1 <<'PY' &
import os, sys, time
sys.path.insert(0, os.environ.get("TESTS_DIR", "tests"))
import rds_sock
socks = []
for _ in range(8):
    s = rds_sock.rds_socket()
    rds_sock.bind(s, sys.argv[1])
    socks.append(s)
print("bound", flush=True)
time.sleep(3600)
PY
holder=$!
for _ in $(seq 1 100); do grep -q bound /tmp/rds-holder.out && break; sleep 0.1; done
check "8 sockets bound before loading" grep -q bound /tmp/rds-holder.out
check "livepatch loads with live sockets" lp_load
expect_eq "bind works after loading" ok "$(rds_bind "$A4")"
kill "$holder"
wait "$holder" 2>/dev/null

# Disable, unload, load again, while 4 processes bind in a loop.
loopers=()
for i in 1 2 3 4; do
	rds_bind -n 0 "$A4" >/tmp/rds-loop$i.out 2>&1 &
	loopers+=($!)
done
sleep 2
ok=0
for round in 1 2 3; do
	lp_unload || ok=1
	sleep 1
	lp_load || ok=1
	sleep 1
done
check "3 rounds of disable, unload and load under load" test $ok = 0
check "fast path used under load" test "$(ctr fast_hits)" -gt 0
check "final disable and unload under load" lp_unload
sleep 2
kill -TERM "${loopers[@]}"
wait "${loopers[@]}" 2>/dev/null
total=0 bad=0
for i in 1 2 3 4; do
	read -r _ n _ b < <(grep '^binds' /tmp/rds-loop$i.out)
	total=$((total + ${n:-0})) bad=$((bad + ${b:-1}))
done
ktap_print_msg "$total binds in 4 loops, $bad unexpected"
check "no bind failed during the life-cycle changes" test "$bad" = 0
check "the loops did bind" test "$total" -gt 100

# Upstream behaviour is back, and nothing of the module remains.
expect_eq "bind after unload (upstream check)" ok "$(rds_bind "$A4")"
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
