#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds both modules against a test kernel flavor inside the chroot, with
# clippy, and fails on any compiler or clippy warning. Then checks rustfmt,
# and builds the C tools of the selftests and benchmarks (build_tools in
# lib.sh).
#
#   build.sh [debug|perf]

. "$(dirname "$0")/lib.sh"

flavor=${1:-debug}
kdir=$(kernel_dir "$flavor")
log=$CACHE/build-$flavor.log

in_chroot "make -C $kdir M=$REPO LLVM=1 CLIPPY=1 W=1 -j$(nproc) modules" 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" = 0 ] || die "module build failed"
if grep -Eq '^(warning|error)(\[|:)' "$log"; then
	die "the build printed warnings (see above); the modules must build warning- and clippy-clean"
fi
in_chroot "rustfmt --edition 2021 --config-path $kdir/.rustfmt.toml --check rust_dm_delay.rs rust_rds_ib_addr.rs" ||
	die "rustfmt: formatting differs (run 'make rustfmt')"

build_tools
