#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds (or refreshes) the Debian sid chroot that holds the toolchain and
# the VM tools. Idempotent: each step leaves a stamp keyed on its inputs and
# is redone only when they change.
#
# Environment:
#   RUST_DM_RDS_CACHE  cache directory (see tests/vm/lib.sh)
#   DEBIAN_MIRROR      Debian mirror URL; default: the host's apt source

. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || die "building the chroot needs root (debootstrap, chroot, mounts)"

# The package groups, installed one group per apt-get call: one call for all
# of them did not resolve in sid (November 2026), in smaller groups they did.
GROUPS_=(
	"make gcc libc6-dev bc bison flex libelf-dev libssl-dev cpio kmod python3 xz-utils dwarves"
	"clang lld llvm libclang-dev"
	"rustc rust-src rustfmt rust-clippy bindgen"
	"$KSRC_PKG"
	"virtme-ng qemu-system-x86 virtiofsd"
	"udev"
	"dmsetup fio iproute2 rdma-core ibverbs-utils util-linux mount e2fsprogs procps psmisc"
	"gnuplot-nox"
)

host_mirror() {
	local m
	m=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list.d/*.list 2>/dev/null |
		grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ')
	echo "${m%/}"
}

MIRROR=${DEBIAN_MIRROR:-$(host_mirror)}
[ -n "$MIRROR" ] || die "no Debian mirror found in the host's apt sources; set DEBIAN_MIRROR"

APT=(apt-get -o Acquire::Check-Valid-Until=false -o Dpkg::Use-Pty=0 -y -q)

mkdir -p "$CACHE"

# 1. debootstrap.
if [ ! -e "$ROOT/.stamp-debootstrap" ]; then
	command -v debootstrap >/dev/null || {
		log "installing debootstrap on the host"
		apt-get update -q >/dev/null && apt-get install -y -q debootstrap >/dev/null ||
			die "package debootstrap cannot be installed on the host"
	}
	log "debootstrap sid into $ROOT (a few minutes)"
	rm -rf "$ROOT"
	debootstrap --variant=minbase sid "$ROOT" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
		die "debootstrap failed, see $CACHE/debootstrap.log"
	echo "deb $MIRROR sid main" >"$ROOT/etc/apt/sources.list"
	touch "$ROOT/.stamp-debootstrap"
fi

# 2. Packages, keyed on the package list.
want=$(printf '%s\n' "${GROUPS_[@]}" | sha256sum | cut -c1-16)
if [ "$(cat "$ROOT/.stamp-packages" 2>/dev/null)" != "$want" ]; then
	log "installing packages into the chroot"
	in_chroot "${APT[*]} update >/dev/null" || die "apt-get update failed in the chroot"
	for group in "${GROUPS_[@]}"; do
		for pkg in $group; do
			in_chroot "apt-cache show $pkg >/dev/null 2>&1" ||
				die "package '$pkg' is not available in sid from $MIRROR"
		done
		log "  $group"
		in_chroot "DEBIAN_FRONTEND=noninteractive ${APT[*]} install --no-install-recommends $group" \
			>>"$CACHE/apt.log" 2>&1 ||
			die "installing '$group' failed, see $CACHE/apt.log"
	done
	echo "$want" >"$ROOT/.stamp-packages"
fi

# 3. Guest tweaks (the guest's root is this chroot):
# - virtme-init runs udevd, a udev coldplug and systemd-tmpfiles when it
#   finds them; under TCG with the debug kernel these took minutes. They are
#   diverted (rdma-core depends on udev, so it stays installed), udevd is
#   replaced by tests/vm/guest-udevd, which makes only the /dev/virtio-ports
#   links virtme-init needs, and udevadm by a no-op. dmsetup creates its own
#   nodes when udev is not running.
# - virtme-init ends with 'poweroff -f', which minbase lacks; without it
#   init exits and the kernel panics. busybox provides it.
for f in /usr/lib/systemd/systemd-udevd /usr/bin/udevadm /usr/bin/systemd-tmpfiles; do
	[ -e "$ROOT$f.vm-disabled" ] ||
		in_chroot "dpkg-divert --quiet --local --rename --divert $f.vm-disabled --add $f" ||
		die "could not divert $f in the chroot"
done
install -m 755 "$REPO/tests/vm/guest-udevd" "$ROOT/usr/lib/systemd/systemd-udevd"
printf '#!/bin/sh\n# udev is off in the test VM (see tests/vm/toolchain.sh).\nexit 0\n' >"$ROOT/usr/bin/udevadm"
chmod 755 "$ROOT/usr/bin/udevadm"
[ -e "$ROOT/usr/sbin/poweroff" ] || [ -L "$ROOT/usr/sbin/poweroff" ] ||
	ln -s /bin/busybox "$ROOT/usr/sbin/poweroff"

# 4. Versions that matter, printed and recorded.
in_chroot '
	echo "kernel source: $(dpkg-query -W -f="\${Version}" '"$KSRC_PKG"')"
	echo "rustc:         $(rustc --version)"
	echo "bindgen:       $(bindgen --version)"
	echo "clang:         $(clang --version | head -n1)"
	echo "vng:           $(vng --version 2>&1 | head -n1)"
	echo "qemu:          $(qemu-system-x86_64 --version | head -n1)"
' | tee "$CACHE/versions.txt"
