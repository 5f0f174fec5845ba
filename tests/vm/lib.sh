# SPDX-License-Identifier: GPL-2.0
# Shared shell helpers for the toolchain, kernel and VM scripts.
#
# Cache layout (all outside the repository):
#   $CACHE/root/                  Debian sid chroot (the toolchain)
#   $CACHE/root/kernel/<flavor>/  unpacked linux-source-7.2, built in place
#   $CACHE/root/kernel/stock/     the stamp and release of Debian's own kernel,
#                                 installed into the chroot as packages
#   $CACHE/root/root/.cache/rust-dm-rds/kdir/  the Rust metadata prepared for
#                                 it by scripts/kmake.sh (the chroot's cache)
#   $CACHE/versions.txt           versions of the tools that matter
#
# CACHE defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/rust-dm-rds and is
# overridden by the one environment variable RUST_DM_RDS_CACHE.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${RUST_DM_RDS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-dm-rds}
ROOT=$CACHE/root
KSRC_PKG=linux-source-7.2

die() {
	echo "error: $*" >&2
	exit 1
}

log() {
	echo ">>> $*" >&2
}

# Path of a kernel flavor's tree, inside the chroot and seen from the host.
# The stock flavor's is the headers' build tree.
kernel_dir() {
	if [ "$1" = stock ]; then
		echo "/lib/modules/$(stock_release)/build"
	else
		echo "/kernel/$1/linux"
	fi
}
host_kernel_dir() { echo "$ROOT$(kernel_dir "$1")"; }

# The release of the stock kernel (tests/vm/stock.sh installs it).
stock_release() {
	cat "$ROOT/kernel/stock/release" 2>/dev/null ||
		die "no stock kernel: run 'make kernel-stock' first"
}

# The kernel image a flavor boots, inside the chroot.
kernel_image() {
	if [ "$1" = stock ]; then
		echo "/lib/modules/$(stock_release)/vmlinuz.unsigned"
	else
		echo "$(kernel_dir "$1")/arch/x86/boot/bzImage"
	fi
}

# The stamp that identifies a flavor's kernel build.
kernel_stamp() {
	if [ "$1" = stock ]; then
		cat "$ROOT/kernel/stock/.stamp-installed"
	else
		cat "$(host_kernel_dir "$1")/.stamp-built"
	fi
}

# Where the modules for a flavor are built: the repository top for debug;
# for the others a copy of the sources, so that the debug .ko stay.
modules_dir() {
	if [ "$1" = debug ]; then echo "$REPO"; else echo "$REPO/tests/output/modules-$1"; fi
}

# Copies the module sources (with their timestamps, so Kbuild rebuilds only
# what changed) into directory $1.
copy_module_sources() {
	local f
	mkdir -p "$1/bindings" "$1/scripts"
	cp -p "$REPO/Kbuild" "$REPO/Makefile" "$REPO/dkms.conf" "$REPO"/*.rs "$1/"
	cp -p "$REPO/scripts/kmake.sh" "$1/scripts/"
	for f in "$REPO"/bindings/*; do
		case ${f##*/} in
		bindings_generated.rs) ;;
		*.rs | *.h | *.c | *.params) cp -p "$f" "$1/bindings/" ;;
		esac
	done
}

# Builds the C tools of the selftests and benchmarks (tests/*.c,
# tests/bench/*.c), each into a program of the same name without .c next to
# it, with clang in the chroot, warnings as errors.
build_tools() {
	local src
	for src in "$REPO"/tests/*.c "$REPO"/tests/bench/*.c; do
		in_chroot "clang -O2 -Wall -Werror -o ${src%.c} $src" ||
			die "building $src failed"
	done
}

# Runs a command inside the chroot, in a private mount namespace.
#
# Every mount made here (proc, sys, dev, the repository, VM_RODIR) lives in a
# mount namespace of its own. It disappears with the last process in it,
# whether the command succeeds, fails or is interrupted, so nothing is ever
# left mounted on the host.
in_chroot() {
	[ -x "$ROOT/bin/bash" ] || die "no toolchain at $ROOT: run 'make toolchain' first"
	local extra=${VM_RODIR:-}
	unshare --mount --propagation private -- /bin/bash -euo pipefail -c '
		root=$1 repo=$2 extra=$3; shift 3
		mount -t proc proc "$root/proc"
		mount --rbind /sys "$root/sys"
		mount --rbind /dev "$root/dev"
		mkdir -p "$root$repo"
		mount --bind "$repo" "$root$repo"
		if [ -n "$extra" ]; then
			mkdir -p "$root$extra"
			mount --bind -o ro "$extra" "$root$extra"
		fi
		exec chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			LANG=C.UTF-8 VM_RODIR="$extra" CI="${CI:-}" \
			/bin/bash -c "cd \"$repo\" && $*"
	' in_chroot "$ROOT" "$REPO" "$extra" "$*"
}
