#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The stock flavors: Debian's own kernels with CONFIG_RUST=y, as a Debian
# sid user has them (STOCK_FLAVORS in lib.sh): stock (amd64), stock-rt
# (rt-amd64, PREEMPT_RT) and stock-cloud (cloud-amd64, no soft-RoCE).
#
# Installs into the chroot, with apt, the packages of the kernel that each
# linux-headers-<Debian flavor> metapackage of sid points at: its headers, its
# modules and its unsigned image, plus dkms. The guest's root is the
# chroot, so a stock boot finds Debian's modules in /lib/modules/<release>
# as a Debian machine does. Redone only when a release or a package
# version changes. Writes each release to $ROOT/kernel/<flavor>/release.

. "$(dirname "$0")/lib.sh"

APT=(apt-get -o Acquire::Check-Valid-Until=false -o Dpkg::Use-Pty=0 -y -q)

pkgs=dkms
declare -A rels
for flavor in "${STOCK_FLAVORS[@]}"; do
	deb=$(debian_flavor "$flavor")
	rel=$(in_chroot "apt-cache depends linux-headers-$deb" |
		sed -n "s/^ *Depends: linux-headers-\(.*-$deb\)\$/\1/p" | head -n1)
	[ -n "$rel" ] || die "cannot tell which kernel sid's linux-headers-$deb points at"
	ver=$(in_chroot "apt-cache show --no-all-versions linux-modules-$rel" |
		sed -n 's/^Version: //p') || die "linux-modules-$rel is not available in sid"
	rels[$flavor]="$rel $ver"
	pkgs+=" linux-headers-$rel linux-modules-$rel linux-binary-unsigned-$rel"
done

todo=
for flavor in "${STOCK_FLAVORS[@]}"; do
	[ "$(cat "$ROOT/kernel/$flavor/.stamp-installed" 2>/dev/null)" = "${rels[$flavor]}" ] || todo=1
done
if [ -n "$todo" ]; then
	log "installing Debian's kernels into the chroot: $pkgs"
	in_chroot "DEBIAN_FRONTEND=noninteractive ${APT[*]} install --no-install-recommends $pkgs" \
		>>"$CACHE/apt.log" 2>&1 || die "installing $pkgs failed, see $CACHE/apt.log"
fi
for flavor in "${STOCK_FLAVORS[@]}"; do
	read -r rel ver <<<"${rels[$flavor]}"
	mkdir -p "$ROOT/kernel/$flavor"
	if [ "$(cat "$ROOT/kernel/$flavor/.stamp-installed" 2>/dev/null)" != "$rel $ver" ]; then
		in_chroot "depmod $rel" || die "depmod $rel failed"
		echo "$rel $ver" >"$ROOT/kernel/$flavor/.stamp-installed"
	fi
	echo "$rel" >"$ROOT/kernel/$flavor/release"
	log "$flavor kernel: $rel ($ver)"
done
