#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# scripts/kmake.sh against a distribution's headers without Rust metadata
# (the stock boot: Debian's, at /lib/modules/$(uname -r)/build) stops
# before preparing anything when something does not match, with one
# message that names what it found and what to install: a kernel without
# CONFIG_RUST, no kernel tree, a rustc other than the kernel's, no kernel
# source, a kernel source of another version. Nothing is prepared.

. "$(dirname "$0")/lib.sh"

KDIR=/lib/modules/$(uname -r)/build
KMAKE=$REPO/scripts/kmake.sh

ktap_print_header
[ -f "$KDIR/.config" ] && [ ! -f "$KDIR/rust/libkernel.rmeta" ] ||
	ktap_skip_all "no headers without Rust metadata at $KDIR (only the stock boot has them)"
ktap_set_plan 6

work=$(mktemp -d)
export RUST_DM_RDS_CACHE=$work/cache
want_rustc=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$KDIR/.config")
kver=$(uname -r | sed "s/[^0-9.].*//")

# Runs kmake.sh with the environment given before the double dash and the
# KDIR after it; true when it fails with one error line holding every
# string of WANT (separated by '|').
refuses() {
	local want=$1 out rc s
	shift
	out=$(env "$@" modules 2>&1 >/dev/null)
	rc=$?
	ktap_print_msg "exit $rc: $out"
	[ $rc != 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] || return 1
	IFS='|' read -ra strs <<<"$want"
	for s in "${strs[@]}"; do
		[[ $out == *"$s"* ]] || return 1
	done
}

mkdir -p "$work/norust" "$work/none"
echo 'CONFIG_MODULES=y' >"$work/norust/.config"
check "a kernel without CONFIG_RUST: says it has no Rust support" \
	refuses "has no Rust support" "$KMAKE" "$work/norust"
check "no kernel tree: says to install the headers" \
	refuses "linux-headers-" "$KMAKE" "$work/none"

printf '#!/bin/sh\necho "rustc 1.96.0 (00000000 2026-01-01)"\n' >"$work/rustc"
chmod +x "$work/rustc"
check "another rustc: names both versions and what to install" \
	refuses "$want_rustc|rustc 1.96.0|install" RUSTC="$work/rustc" "$KMAKE" "$KDIR"
check "no kernel source: names it and the package" \
	refuses "not installed at $work/none.tar.xz|apt install linux-source-" \
	KSRC_TARBALL="$work/none.tar.xz" "$KMAKE" "$KDIR"

mkdir -p "$work/src/linux-source-x"
printf 'VERSION = %s\nPATCHLEVEL = %s\nSUBLEVEL = 0\n' "${kver%%.*}" "$(echo "$kver" | cut -d. -f2)" \
	>"$work/src/linux-source-x/Makefile"
tar -C "$work/src" -czf "$work/old.tar.gz" linux-source-x
check "a kernel source of another version: names both" \
	refuses "$kver|${kver%.*}.0" KSRC_TARBALL="$work/old.tar.gz" "$KMAKE" "$KDIR"
check "nothing was prepared" test ! -e "$RUST_DM_RDS_CACHE/kdir"
rm -rf "$work"
ktap_finished
