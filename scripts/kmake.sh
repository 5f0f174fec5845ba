#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs the kernel's make for these modules against the kernel build tree
# KDIR, with the tools that kernel was built with:
#
#   scripts/kmake.sh KDIR TARGET... [VAR=VALUE...]
#   scripts/kmake.sh --forget [RELEASE]   drop the Rust metadata prepared
#                                         for RELEASE (or for every kernel)
#
# Tools: RUSTC, BINDGEN, HOSTRUSTC, CC, HOSTCC and LLVM, from the
# environment or from make's command line (make exports those), reach
# Kbuild, and the version check below runs the same RUSTC. Without LLVM,
# LLVM=1 is passed for a clang-built kernel and nothing for a GCC-built one.
#
# Before building, the rustc must print exactly the kernel's
# CONFIG_RUSTC_VERSION_TEXT. A distribution's headers package may lack the
# Rust metadata an external Rust module needs (rust/*.rmeta, libmacros.so):
# Debian's does. Then the metadata is prepared once, from the matching
# kernel source package and the headers' own .config, release and
# Module.symvers, into
#
#   $CACHE/kdir/<release>-<key>/
#
# keyed on everything it depends on, and the build runs against that tree.
# CACHE is $RUST_DM_RDS_CACHE, else /var/cache/rust-dm-rds for root (DKMS
# runs as root, maybe without HOME), else ${XDG_CACHE_HOME:-~/.cache}/rust-dm-rds.
# A prepared tree goes when its kernel's /lib/modules/<release> does (checked
# at every run; 'make install' also adds a kernel postrm hook that does it
# at once), or when another key replaces it.
#
# Before modules_install, every built module must carry KDIR's release in
# its vermagic.
#
# Environment: KSRC_TARBALL, the kernel source tarball (default
# /usr/src/linux-source-<major>.<minor>.tar.xz, from Debian's
# linux-source-<major>.<minor> package).

set -euo pipefail

die() {
	echo "rust-dm-rds: $*" >&2
	exit 1
}

if [ -n "${RUST_DM_RDS_CACHE:-}" ]; then
	cache=$RUST_DM_RDS_CACHE
elif [ "$(id -u)" = 0 ]; then
	cache=/var/cache/rust-dm-rds
elif [ -n "${XDG_CACHE_HOME:-}${HOME:-}" ]; then
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/rust-dm-rds
else
	die "neither HOME nor XDG_CACHE_HOME is set: set RUST_DM_RDS_CACHE to a directory for the prepared kernel metadata"
fi

if [ "${1:-}" = --forget ]; then
	case ${2:-} in
	"") rm -rf "$cache/kdir" ;;
	*/* | .*) die "--forget: '$2' is not a kernel release" ;;
	*) rm -rf "$cache/kdir/$2"-* ;;
	esac
	exit 0
fi

[ $# -ge 2 ] || die "usage: scripts/kmake.sh KDIR TARGET... [VAR=VALUE...]"
kdir=$1 kdir_arg=$1
shift
repo=$(cd "$(dirname "$0")/.." && pwd)
cfg=$kdir/.config

[ -f "$cfg" ] || die "no kernel build tree at $kdir (it has no .config). Install the kernel's headers (Debian: apt install linux-headers-<release>) or pass KDIR=<kernel build tree>"
grep -q '^CONFIG_RUST=y' "$cfg" ||
	die "the kernel at $kdir has no Rust support (CONFIG_RUST is not set): these modules need a kernel built with CONFIG_RUST=y"
release=$(cat "$kdir/include/config/kernel.release" 2>/dev/null) ||
	die "$kdir has no include/config/kernel.release: not a prepared kernel build tree"

# The tools the user named, for Kbuild and for preparing the metadata.
tools=()
for v in RUSTC BINDGEN HOSTRUSTC CC HOSTCC LLVM; do
	[ -n "${!v:-}" ] && tools+=("$v=${!v}")
done
[ -z "${LLVM:-}" ] && grep -q '^CONFIG_CC_IS_CLANG=y' "$cfg" && tools+=(LLVM=1)

# A tree with Rust metadata is used as it is: a kernel tree built in
# place, or a headers package that ships the metadata (Arch; Ubuntu's
# linux-lib-rust-<release>).
has_rust_metadata() { [ -f "$1/rust/libkernel.rmeta" ] && [ -f "$1/rust/libmacros.so" ]; }

# Prepared trees of kernels that are gone from /lib/modules.
for d in "$cache"/kdir/*-*/; do
	[ -d "$d" ] || continue
	d=${d%/}
	rel=${d##*/}
	[ -e "/lib/modules/${rel%-*}" ] || rm -rf "$d"
done

# Only building needs the metadata (installing and cleaning do not).
case " $* " in *" modules "*) need_rust=1 ;; *) need_rust=0 ;; esac
case " $* " in *" modules_install "*) installing=1 ;; *) installing=0 ;; esac

if [ $need_rust = 1 ]; then
	want_rustc=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$cfg")
	have_rustc=$("${RUSTC:-rustc}" --version 2>/dev/null || echo "no rustc found at '${RUSTC:-rustc}'")
	[ "$have_rustc" = "$want_rustc" ] || die "$release was built with '$want_rustc', but the rustc here is '$have_rustc'. Rust modules must be built with the kernel's exact rustc: install that version (Debian: the rustc and rust-src packages of the suite the kernel comes from), or name it with RUSTC=<path>"
fi

if [ $need_rust = 1 ] && ! has_rust_metadata "$kdir"; then
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

	# Keyed on what the tools are (their versions), not on where they are,
	# and on the layout of the prepared tree (2: the slim one).
	key=$({
		echo "layout 2 $release $hver $sver $have_rustc"
		"${HOSTRUSTC:-rustc}" --version 2>&1 || true
		"${BINDGEN:-bindgen}" --version 2>&1 || true
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
		kmake=(make -C "$prep/linux" "${tools[@]}" KERNELRELEASE="$release" -j"$(nproc)")
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
		# Of the whole source (2 GB), keep what building external modules
		# reads: the kernel's own list for headers packages, the Rust
		# metadata, and the headers' Module.symvers and vmlinux (Debian
		# ships vmlinux for its BTF, which the modules' BTF is built on).
		"${kmake[@]}" run-command KBUILD_RUN_COMMAND="\$(srctree)/scripts/package/install-extmod-build $prep/build" \
			>>"$log" 2>&1 || die "install-extmod-build failed, see $log"
		(cd "$prep/linux" && cp -p --parents .config rust/*.rmeta rust/*.so $(ls rust/helpers/*.bc 2>/dev/null) \
			"$prep/build/") || die "cannot copy the Rust metadata, see $log"
		cp "$kdir/Module.symvers" "$prep/build/"
		for f in vmlinux .kernelvariables; do
			if [ -f "$kdir/$f" ]; then cp "$kdir/$f" "$prep/build/"; fi
		done
		rm -rf "$prep/linux"
		mv "$prep/build" "$prep/linux"
		touch "$prep/.stamp-prepared"
		# Trees of this kernel under other keys are stale now.
		for d in "$cache/kdir/$release"-*; do
			[ "$d" = "$prep" ] || rm -rf "$d"
		done
	fi
	kdir=$prep/linux
fi

if [ $installing = 1 ]; then
	# Install only what was built for this kernel: a module of another
	# release would not load, and would hide the one that does.
	[ -f "$repo/modules.order" ] || die "nothing is built here: run 'make KDIR=$kdir_arg' first"
	while read -r o; do
		o=${o%.o}
		ko=$repo/${o%.ko}.ko
		[ -f "$ko" ] || die "${ko##*/} is not built: run 'make KDIR=$kdir_arg' first"
		built=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
		[ "$built" = "$release" ] || die "${ko##*/} was built for kernel $built, not for $release (the kernel at $kdir_arg): run 'make KDIR=$kdir_arg' before installing; nothing was installed"
	done <"$repo/modules.order"
fi

# modules_install signs with the kernel's own key when the kernel asks for
# it; a headers package never has that key, so say so once instead of
# letting sign-file fail for every module.
nosign=()
if [ $installing = 1 ] && grep -q '^CONFIG_MODULE_SIG_ALL=y' "$cfg"; then
	key=$(sed -n 's/^CONFIG_MODULE_SIG_KEY="\(.*\)"$/\1/p' "$cfg")
	case $key in /* | pkcs11:*) ;; *) key=$kdir/$key ;; esac
	if [[ $key != pkcs11:* ]] && [ ! -f "$key" ]; then
		echo "rust-dm-rds: installing unsigned modules: the kernel's signing key $key is not here (see README.md, Module signing)" >&2
		nosign=(CONFIG_MODULE_SIG_ALL=)
	fi
fi

exec make -C "$kdir" M="$repo" "${tools[@]}" "$@" "${nosign[@]}"
