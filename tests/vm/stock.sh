#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The 'stock' flavor: Debian's own kernel, as a Debian sid user has it.
#
# Installs into the chroot, with apt, the packages of the kernel that sid's
# linux-image-amd64 points at (or STOCK_RELEASE): its headers, its modules
# and its unsigned image, plus dkms. The guest's root is the chroot, so the
# stock boot finds Debian's modules in /lib/modules/<release> as a Debian
# machine does. Redone only when the release or the package version
# changes. Writes the release to $ROOT/kernel/stock/release.

. "$(dirname "$0")/lib.sh"

APT=(apt-get -o Acquire::Check-Valid-Until=false -o Dpkg::Use-Pty=0 -y -q)
dir=$ROOT/kernel/stock
mkdir -p "$dir"

rel=${STOCK_RELEASE:-$(in_chroot "apt-cache depends linux-headers-amd64" |
	sed -n 's/^ *Depends: linux-headers-\(.*-amd64\)$/\1/p' | head -n1)}
[ -n "$rel" ] || die "cannot tell which kernel sid's linux-headers-amd64 points at"
pkgs="linux-headers-$rel linux-modules-$rel linux-binary-unsigned-$rel dkms"
ver=$(in_chroot "apt-cache show --no-all-versions linux-modules-$rel" |
	sed -n 's/^Version: //p') || die "linux-modules-$rel is not available in sid"
key="$rel $ver"

if [ "$(cat "$dir/.stamp-installed" 2>/dev/null)" != "$key" ]; then
	log "installing Debian's kernel $rel ($ver) into the chroot: $pkgs"
	in_chroot "DEBIAN_FRONTEND=noninteractive ${APT[*]} install --no-install-recommends $pkgs" \
		>>"$CACHE/apt.log" 2>&1 || die "installing $pkgs failed, see $CACHE/apt.log"
	in_chroot "depmod $rel" || die "depmod $rel failed"
	echo "$key" >"$dir/.stamp-installed"
fi
echo "$rel" >"$dir/release"
log "stock kernel: $rel ($ver)"
