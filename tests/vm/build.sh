#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds both modules for test kernels inside the chroot, each in a copy of
# the sources of its own (modules_dir in lib.sh), then the C tools of the
# selftests and benchmarks (build_tools in lib.sh).
#
#   build.sh debug|perf|...   with clippy and W=1, failing on any warning,
#                             and checks rustfmt
#   build.sh stock            for each of Debian's kernels (STOCK_FLAVORS),
#                             as a Debian user does: 'make KDIR=<headers>',
#                             then 'make install DESTDIR=...' into a scratch
#                             root

. "$(dirname "$0")/lib.sh"

flavor=${1:-debug}

# Builds for stock flavor $1 into its modules_dir, logging to $CACHE.
build_stock() {
	local kdir mods log dest=/tmp/destdir-$1
	kdir=$(kernel_dir "$1") mods=$(modules_dir "$1") log=$CACHE/build-$1.log
	copy_module_sources "$mods"
	in_chroot "cd $mods && make KDIR=$kdir -j$(nproc) && rm -rf $dest &&
		make KDIR=$kdir install DESTDIR=$dest && find $dest -type f | sort && rm -rf $dest" >"$log" 2>&1 ||
		{ tail -n 30 "$log"; die "building for $1 (make KDIR=$kdir, make install DESTDIR=...) failed, see $log"; }
	grep -E '^(rust-dm-rds|  (RUSTC|BINDGEN)|warning|error)' "$log" | sed "s/^/  $1: /" >&2 || true
}

if [ "$flavor" = stock ]; then
	for f in "${STOCK_FLAVORS[@]}"; do
		log "building the modules against Debian's headers for $(stock_release "$f")"
		build_stock "$f"
	done
	build_tools
	exit 0
fi

kdir=$(kernel_dir "$flavor")
mods=$(modules_dir "$flavor")
log=$CACHE/build-$flavor.log
copy_module_sources "$mods"
in_chroot "cd $mods && scripts/kmake.sh $kdir modules CLIPPY=1 W=1 -j$(nproc)" 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" = 0 ] || die "module build failed"
if grep -Eq '^(warning|error)(\[|:)' "$log"; then
	die "the build printed warnings (see above); the modules must build warning- and clippy-clean"
fi
in_chroot "rustfmt --edition 2021 --config-path $kdir/.rustfmt.toml --check rust_dm_delay_main.rs rust_rds_ib_addr.rs" ||
	die "rustfmt: formatting differs (run 'make rustfmt')"

build_tools
