#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# Generated tables (tests/dm-tables.c): 300 in make check, 3000 in make
# stress (STRESS=1), on three loop devices of different sizes. Well-formed
# ones and ones with arguments that do not parse, overflow, name no device
# or are garbage, or with arguments added or dropped. Each is accepted and
# then prints back as given (canonical), or is refused with EINVAL and the
# target's ti->error in the kernel log. The devices are released at the end.
# DM_TABLES_SEED=N repeats a run (the seed is printed).

. "$(dirname "$0")/dm_delay_lib.sh"

COUNT=$([ "${STRESS:-0}" = 1 ] && echo 3000 || echo 300)
SEED=${DM_TABLES_SEED:-$((EPOCHSECONDS % 100000))}

ktap_print_header
ktap_set_plan 3

load_rust
L1=$(mkloop 16) L2=$(mkloop 8) L3=$(mkloop 1)
out=$("$TESTS_DIR/dm-tables" -n "$COUNT" -s "$SEED" "$L1" "$L2" "$L3")
rc=$?
echo "$out" | grep '^bad' | sed 's/^/# /'
check "seed $SEED: $(echo "$out" | tail -n 1)" test $rc = 0

dmd_cleanup
check "rust_dm_delay unloads" test ! -d /sys/module/rust_dm_delay
check "kernel log clean" dmesg_clean
ktap_finished
