#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The rust_rds_ib_addr part of 'make demo' (call it from tests/demo.sh in
# the guest): soft-RoCE on a veth pair, rds-ping runs to the guest's own rxe
# address, and the module's counters before and after, with the fast path
# on and then off (legacy behaviour), showing how many CM IDs each created.

. "$(dirname "$0")/rds_lib.sh" >/dev/null

RUNS=${RUNS:-10}
say() { printf '\n=== %s\n' "$*"; }

show() {
	grep -E '^(fast_hits|slow_checks|cm_ids_created|entries) ' "$DBG/stats" |
		tr '\n' ' '
	echo
}

pings() {
	local i
	for i in $(seq 1 "$RUNS"); do
		rds_ping -c 1 -w 20 -I "$A4" "$A4"
	done | sed 's/^/    /'
}

say "soft-RoCE: rxe0 on veth0 ($A4), rxe1 on veth1 ($B4)"
rds_setup || exit 1
rdma link show
mod_remove "$LP"

for fp in 1 0; do
	say "rust_rds_ib_addr with fast_path=$fp: $RUNS rds-ping runs of 8 binds each"
	lp_load fast_path="$fp" || exit 1
	echo "before: $(show)"
	pings
	echo "after:  $(show)"
	echo "table:"
	sed 's/^/    /' "$DBG/table"
	lp_unload || exit 1
done

say "after disabling and unloading the livepatch"
ls /sys/kernel/livepatch/ "$DBG" 2>&1 | sed 's/^/    /'
