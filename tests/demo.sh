#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make demo': runs in the test VM and shows the modules at work.

set -u
KO_DIR=${KO_DIR:-$(cd "$(dirname "$0")/.." && pwd)}

say() { printf '\n=== %s\n' "$*"; }

say "kernel: $(uname -r)"
say "loading rust_dm_delay and rust_rds_ib_addr"
insmod "$KO_DIR/rust_dm_delay.ko" && insmod "$KO_DIR/rust_rds_ib_addr.ko" || exit 1
grep -E '^rust_' /proc/modules
dmesg | grep -E 'rust_(dm_delay|rds_ib_addr)' | tail -n 5

say "unloading"
rmmod rust_rds_ib_addr rust_dm_delay && echo "both modules unloaded"
