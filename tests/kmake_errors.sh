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
#
# The tools named by RUSTC, BINDGEN and CC are the ones that run: the
# version check and Kbuild call wrappers that log each call (the build
# itself would take minutes under TCG: see the wrappers below).

. "$(dirname "$0")/lib.sh"

KDIR=/lib/modules/$(uname -r)/build
KMAKE=$REPO/scripts/kmake.sh

ktap_print_header
[ -f "$KDIR/.config" ] && [ ! -f "$KDIR/rust/libkernel.rmeta" ] ||
	ktap_skip_all "no headers without Rust metadata at $KDIR (only the stock boot has them)"
ktap_set_plan 8

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
unset RUST_DM_RDS_CACHE

# Wrappers for rustc, bindgen and the kernel's C compiler that log each
# call and run the real tool; but the bindgen one writes the bindings that
# tests/vm/build.sh generated for this kernel (bindgen takes 2 minutes
# under TCG), and the rustc one stops at our crates.
cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\) .*/\1/p' "$KDIR/.config")
bindings=$KO_DIR/bindings/bindings_generated.rs
mkdir -p "$work/bin"
for t in rustc bindgen "$cc"; do
	{
		echo '#!/bin/bash'
		echo "echo \"$t \$*\" >>$work/calls"
		case $t in
		rustc) echo "case \"\$*\" in *rust_dm_delay_main.rs* | *rust_rds_ib_addr.rs*)
			echo \"\$0: stopped at our crate\" >&2; exit 1 ;; esac" ;;
		bindgen) echo "if [[ \"\$*\" == *bindings_helper.h* ]]; then
			h=\$1 d=
			for a; do [[ \$a == -Wp,-MMD,* ]] && d=\${a#-Wp,-MMD,}; done
			while [ \"\$1\" != -o ]; do shift; done
			echo \"\$2: \$h\" >\"\$d\"
			exec cp $bindings \"\$2\"
		fi" ;;
		esac
		echo "exec $(command -v "$t") \"\$@\""
	} >"$work/bin/$t"
	chmod +x "$work/bin/$t"
done
show_prepared_metadata || ktap_print_msg "no prepared metadata: the build would prepare it"
make -s -C "$REPO" sources TO="$work/repo"
out=$(RUSTC=$work/bin/rustc BINDGEN=$work/bin/bindgen CC=$work/bin/$cc \
	"$work/repo/scripts/kmake.sh" "$KDIR" modules -k 2>&1)
rc=$?
echo "$out" | grep -E 'stopped|error' | head -n 5 | sed 's/^/# /'
check "RUSTC: the version check and both crates' compiles ran the wrapper" \
	bash -c '[ "$1" != 0 ] && grep -qx "rustc --version" "$2" &&
		grep -q "^rustc .*rust_dm_delay_main.rs" "$2" && grep -q "^rustc .*rust_rds_ib_addr.rs" "$2"' \
	_ "$rc" "$work/calls"
check "BINDGEN and CC: the bindings and the C helpers ran the wrappers" \
	bash -c 'grep -q "^bindgen .*bindings_helper.h" "$1" && grep -q "^$2 .*dm_delay_helpers.c" "$1"' \
	_ "$work/calls" "$cc"
rm -rf "$work"
ktap_finished
