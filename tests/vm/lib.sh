# SPDX-License-Identifier: GPL-2.0
# Shared shell helpers for the toolchain, kernel and VM scripts.
#
# Cache layout (all outside the repository):
#   $CACHE/root/                  Debian sid chroot (the toolchain)
#   $CACHE/root/kernel/<flavor>/  unpacked linux-source-7.2, built in place
#   $CACHE/root/kernel/stock*/    the stamp and release of each of Debian's own
#                                 kernels, installed into the chroot as packages
#   $CACHE/root/var/cache/rust-dm-rds/kdir/  the Rust metadata prepared for
#                                 them by scripts/kmake.sh (the chroot's cache)
#   $CACHE/versions.txt           versions of the tools that matter
#
# CACHE defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/rust-dm-rds and is
# overridden by the one environment variable RUST_DM_RDS_CACHE.

set -euo pipefail
# The scripts' own host-side makes (make sources, the test lists) are not
# jobs of the make that started them: under a parallel one (make -j2 check)
# its MAKEFLAGS names a jobserver they cannot reach, and each would warn.
unset MAKEFLAGS

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${RUST_DM_RDS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-dm-rds}
ROOT=$CACHE/root
KSRC_PKG=linux-source-7.2
# Debian's kernels with CONFIG_RUST=y (tests/vm/stock.sh): the stock flavors.
STOCK_FLAVORS=(stock stock-rt stock-cloud)

die() {
	echo "error: $*" >&2
	exit 1
}

log() {
	echo ">>> $*" >&2
}

# The Debian flavor of a stock flavor: stock is amd64, stock-rt rt-amd64.
debian_flavor() { case $1 in stock) echo amd64 ;; *) echo "${1#stock-}-amd64" ;; esac; }

# Path of a kernel flavor's tree, inside the chroot and seen from the host.
# A stock flavor's is the headers' build tree.
kernel_dir() {
	case $1 in
	stock*) echo "/lib/modules/$(stock_release "$1")/build" ;;
	*) echo "/kernel/$1/linux" ;;
	esac
}
host_kernel_dir() { echo "$ROOT$(kernel_dir "$1")"; }

# The release of stock flavor $1 (tests/vm/stock.sh installs it).
stock_release() {
	cat "$ROOT/kernel/$1/release" 2>/dev/null ||
		die "no $1 kernel: run 'make kernel-stock' first"
}

# The kernel image a flavor boots, inside the chroot.
kernel_image() {
	case $1 in
	stock*) echo "/lib/modules/$(stock_release "$1")/vmlinuz.unsigned" ;;
	*) echo "$(kernel_dir "$1")/arch/x86/boot/bzImage" ;;
	esac
}

# The stamp that identifies a flavor's kernel build.
kernel_stamp() {
	case $1 in
	stock*) cat "$ROOT/kernel/$1/.stamp-installed" ;;
	*) cat "$(host_kernel_dir "$1")/.stamp-built" ;;
	esac
}

# Where the modules for a flavor are built: a copy of the sources of its
# own, so that the .ko at the repository top are only ever the user's.
modules_dir() { echo "$REPO/tests/output/modules-$1"; }

# Copies the module sources (with their timestamps, so Kbuild rebuilds only
# what changed) into directory $1.
copy_module_sources() { make -s -C "$REPO" sources TO="$1"; }

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
		# A mount of its own, so that inside the chroot "/" is a mount
		# point in /proc/self/mountinfo (virtiofsd looks its root up there).
		mount --bind "$root" "$root"
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
