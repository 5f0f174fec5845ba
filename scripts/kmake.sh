#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs the kernel's make for these modules against the kernel build tree
# KDIR, with the compiler that kernel was built with:
#
#   scripts/kmake.sh KDIR TARGET... [VAR=VALUE...]
#
# A distribution's headers package may lack the Rust metadata an external
# Rust module needs (rust/*.rmeta, libmacros.so): Debian's does. Then the
# metadata is prepared once, from the matching kernel source package and
# the headers' own .config, release and Module.symvers, into
#
#   ${RUST_DM_RDS_CACHE:-${XDG_CACHE_HOME:-~/.cache}/rust-dm-rds}/kdir/<release>-<key>/
#
# keyed on everything it depends on, and the build runs against that tree.
# Before anything is prepared, the local rustc must print exactly the
# kernel's CONFIG_RUSTC_VERSION_TEXT, and the source package must be the
# headers' version.
#
# Environment: RUSTC (default rustc); KSRC_TARBALL, the kernel source
# tarball (default /usr/src/linux-source-<major>.<minor>.tar.xz, from
# Debian's linux-source-<major>.<minor> package).

set -euo pipefail

die() {
	echo "rust-dm-rds: $*" >&2
	exit 1
}

[ $# -ge 2 ] || die "usage: scripts/kmake.sh KDIR TARGET... [VAR=VALUE...]"
kdir=$1
shift
repo=$(cd "$(dirname "$0")/.." && pwd)
cfg=$kdir/.config

[ -f "$cfg" ] || die "no kernel build tree at $kdir (it has no .config). Install the kernel's headers (Debian: apt install linux-headers-<release>) or pass KDIR=<kernel build tree>"
grep -q '^CONFIG_RUST=y' "$cfg" ||
	die "the kernel at $kdir has no Rust support (CONFIG_RUST is not set): these modules need a kernel built with CONFIG_RUST=y"

# The same compiler family as the kernel: clang-built kernels need LLVM=1,
# GCC-built ones must not have it.
llvm=()
grep -q '^CONFIG_CC_IS_CLANG=y' "$cfg" && llvm=(LLVM=1)

# A tree with Rust metadata is used as it is: a kernel tree built in
# place, or a headers package that ships the metadata (Arch, Ubuntu).
has_rust_metadata() { [ -f "$1/rust/libkernel.rmeta" ] && [ -f "$1/rust/libmacros.so" ]; }

# Only building needs the metadata (installing and cleaning do not).
case " $* " in *" modules "*) need_rust=1 ;; *) need_rust=0 ;; esac

if [ $need_rust = 1 ] && ! has_rust_metadata "$kdir"; then
	release=$(cat "$kdir/include/config/kernel.release" 2>/dev/null) ||
		die "$kdir has no include/config/kernel.release: not a prepared kernel build tree"
	want_rustc=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$cfg")
	have_rustc=$("${RUSTC:-rustc}" --version 2>/dev/null || echo "no rustc found")
	[ "$have_rustc" = "$want_rustc" ] || die "$release was built with '$want_rustc', but the local rustc is '$have_rustc'. Rust modules must be built with the kernel's exact rustc: install that version (Debian: the rustc and rust-src packages of the suite the kernel comes from), or set RUSTC"

	# The kernel version of the headers, from their Makefile.
	hmk=$(sed -n 's/^include \(.*Makefile\)$/\1/p' "$kdir/Makefile" | head -n1)
	kver=$(awk -F' = ' '$1 == "VERSION" { v = $2 } $1 == "PATCHLEVEL" { p = $2 }
		$1 == "SUBLEVEL" { s = $2; print v "." p "." s; exit }' "${hmk:-$kdir/Makefile}")
	[ -n "$kver" ] || die "cannot tell the kernel version of the headers at $kdir"
	tarball=${KSRC_TARBALL:-/usr/src/linux-source-${kver%.*}.tar.xz}
	[ -f "$tarball" ] || die "$release lacks the Rust metadata in its headers, and preparing it needs the kernel source $kver, which is not installed at $tarball. Install it (Debian: apt install linux-source-${kver%.*}), or set KSRC_TARBALL"

	# Source and headers must be the same version: the package versions
	# where dpkg knows both, else the kernel versions.
	pkgver() {
		local p
		p=$(dpkg-query -S "$(readlink -f "$1")" 2>/dev/null | head -n1 | cut -d: -f1) &&
			[ -n "$p" ] && dpkg-query -W -f='${Version}' "$p" 2>/dev/null
	}
	if command -v dpkg-query >/dev/null && hver=$(pkgver "$cfg") && sver=$(pkgver "$tarball"); then
		[ "$hver" = "$sver" ] || die "the headers of $release are version $hver, but the kernel source at $tarball is version $sver. Install the source of the same version (Debian: apt install linux-source-${kver%.*}=$hver)"
	else
		sver=$(tar -xOf "$tarball" --wildcards '*/Makefile' 2>/dev/null | awk -F' = ' '
			$1 == "VERSION" { v = $2 } $1 == "PATCHLEVEL" { p = $2 }
			$1 == "SUBLEVEL" { print v "." p "." $2; exit }')
		hver=$kver
		[ "$hver" = "$sver" ] || die "the headers of $release are kernel $hver, but $tarball holds kernel ${sver:-unknown}. Install the source of the same version, or set KSRC_TARBALL"
	fi

	cache=${RUST_DM_RDS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-dm-rds}
	key=$({
		echo "$release $hver $sver $have_rustc"
		cat "$cfg" "$kdir/Module.symvers"
		cat "$kdir/.kernelvariables" 2>/dev/null || true
	} | sha256sum | cut -c1-16)
	prep=$cache/kdir/$release-$key
	if [ ! -f "$prep/.stamp-prepared" ]; then
		mkdir -p "$cache/kdir"
		exec 9>"$cache/kdir/.lock"
		flock 9
	fi
	if [ ! -f "$prep/.stamp-prepared" ]; then
		echo "rust-dm-rds: $release: the headers have no Rust metadata; preparing it once in $prep (a few minutes)" >&2
		rm -rf "$prep"
		mkdir -p "$prep"
		log=$prep/prepare.log
		tar -C "$prep" -xf "$tarball"
		src=$(find "$prep" -mindepth 1 -maxdepth 1 -type d | head -n1)
		mv "$src" "$prep/linux"
		cp "$cfg" "$prep/linux/.config"
		# Debian's Makefile reads the kernel's compiler and release from it.
		[ -f "$kdir/.kernelvariables" ] && cp "$kdir/.kernelvariables" "$prep/linux/"
		kmake=(make -C "$prep/linux" "${llvm[@]}" KERNELRELEASE="$release" -j"$(nproc)")
		"${kmake[@]}" olddefconfig >"$log" 2>&1 || die "make olddefconfig failed, see $log"
		# The configuration must be the kernel's own: only the compiler's
		# version may differ.
		cfgdiff=$(diff <(grep -v '_VERSION\(_TEXT\)\?=' "$cfg") \
			<(grep -v '_VERSION\(_TEXT\)\?=' "$prep/linux/.config") || true)
		[ -z "$cfgdiff" ] || die "the kernel source configured with the headers' .config differs from it:
$cfgdiff
(a different compiler? see $log)"
		"${kmake[@]}" modules_prepare >>"$log" 2>&1 || die "make modules_prepare failed, see $log"
		has_rust_metadata "$prep/linux" || die "modules_prepare built no Rust metadata, see $log"
		cp "$kdir/Module.symvers" "$prep/linux/"
		# Debian's headers ship vmlinux for its BTF: the modules' BTF
		# is generated against it.
		if [ -f "$kdir/vmlinux" ]; then cp "$kdir/vmlinux" "$prep/linux/"; fi
		touch "$prep/.stamp-prepared"
	fi
	kdir=$prep/linux
fi

# modules_install signs with the kernel's own key when the kernel asks for
# it; a headers package never has that key, so say so once instead of
# letting sign-file fail for every module.
nosign=()
if [[ " $* " == *" modules_install "* ]] && grep -q '^CONFIG_MODULE_SIG_ALL=y' "$cfg"; then
	key=$(sed -n 's/^CONFIG_MODULE_SIG_KEY="\(.*\)"$/\1/p' "$cfg")
	case $key in /* | pkcs11:*) ;; *) key=$kdir/$key ;; esac
	if [[ $key != pkcs11:* ]] && [ ! -f "$key" ]; then
		echo "rust-dm-rds: installing unsigned modules: the kernel's signing key $key is not here (see README.md, Module signing)" >&2
		nosign=(CONFIG_MODULE_SIG_ALL=)
	fi
fi

exec make -C "$kdir" M="$repo" "${llvm[@]}" "$@" "${nosign[@]}"
