#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds both modules against a test kernel flavor inside the chroot, with
# clippy, and fails on any compiler or clippy warning. Then checks rustfmt,
# and builds the C tools of the selftests and benchmarks (build_tools in
# lib.sh).
#
# For the stock flavor it builds as a Debian user does, in a copy of the
# sources (modules_dir in lib.sh): 'make KDIR=/lib/modules/<release>/build'
# against Debian's headers, then 'dkms build' of the same sources, and
# 'make install DESTDIR=...' into a scratch root.
#
#   build.sh [debug|perf|stock]

. "$(dirname "$0")/lib.sh"

flavor=${1:-debug}
kdir=$(kernel_dir "$flavor")
log=$CACHE/build-$flavor.log

if [ "$flavor" = stock ]; then
	rel=$(stock_release)
	mods=$(modules_dir stock)
	copy_module_sources "$mods"
	log "building the modules against Debian's headers for $rel (make KDIR=$kdir)"
	in_chroot "cd $mods && make KDIR=$kdir -j$(nproc)" >"$log" 2>&1 ||
		{ tail -n 30 "$log"; die "module build against the stock headers failed, see $log"; }
	grep -E '^(rust-dm-rds|  (CC|RUSTC|LD|BINDGEN)|warning|error)' "$log" | sed 's/^/  /' >&2 || true
	in_chroot "cd $mods && rm -rf /tmp/destdir && make KDIR=$kdir install DESTDIR=/tmp/destdir &&
		find /tmp/destdir -type f | sort && rm -rf /tmp/destdir" >>"$log" 2>&1 ||
		{ tail -n 30 "$log"; die "make install DESTDIR=... failed, see $log"; }

	# DKMS, as its users run it: the sources under /usr/src, then add,
	# build, install (modinfo must then find the module there) and remove.
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$REPO/dkms.conf")
	log "dkms build -k $rel (rust-dm-rds $ver)"
	src=/usr/src/rust-dm-rds-$ver
	in_chroot "dkms remove -m rust-dm-rds -v $ver --all" >/dev/null 2>&1 || true
	rm -rf "$ROOT$src"
	copy_module_sources "$ROOT$src"
	in_chroot "dkms add -m rust-dm-rds -v $ver && dkms build -m rust-dm-rds -v $ver -k $rel &&
		dkms install -m rust-dm-rds -v $ver -k $rel && dkms status -m rust-dm-rds &&
		modinfo -k $rel -n rust_dm_delay rust_rds_ib_addr &&
		dkms remove -m rust-dm-rds -v $ver --all" >"$CACHE/dkms-stock.log" 2>&1 ||
		{ tail -n 30 "$CACHE/dkms-stock.log"; die "dkms build failed, see $CACHE/dkms-stock.log"; }
	grep -E '^rust-dm-rds/|/rust_' "$CACHE/dkms-stock.log" | sed 's/^/  /' >&2
	build_tools
	exit 0
fi

in_chroot "scripts/kmake.sh $kdir modules CLIPPY=1 W=1 -j$(nproc)" 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" = 0 ] || die "module build failed"
if grep -Eq '^(warning|error)(\[|:)' "$log"; then
	die "the build printed warnings (see above); the modules must build warning- and clippy-clean"
fi
in_chroot "rustfmt --edition 2021 --config-path $kdir/.rustfmt.toml --check rust_dm_delay_main.rs rust_rds_ib_addr.rs" ||
	die "rustfmt: formatting differs (run 'make rustfmt')"

build_tools
