#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: dkms
# timeout: 1200
#
# DKMS as its users run it, on Debian's kernel ('make check-stock' boots it
# for this program alone), with HOME unset as under a systemd unit:
# - 'make dkms-install' puts the module sources alone in
#   /usr/src/rust-dm-rds-<version>, and its 'dkms autoinstall' builds and
#   installs them for the running kernel;
# - 'dkms install -k' builds them for a second kernel that is not running
#   (Debian's rt kernel), and dkms skips a kernel without Rust;
# - modprobe loads the DKMS-built module, and dm's autoload picks it;
# - 'dkms remove' takes every module and the prepared Rust metadata with
#   it, and after 'make dkms-uninstall' every file is as before.
# The Rust metadata tests/vm/build.sh prepared for both kernels is reused.

. "$(dirname "$0")/dm_delay_lib.sh"

REL=$(uname -r)
VER=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$REPO/dkms.conf")
SRC=/usr/src/rust-dm-rds-$VER
CACHE=/var/cache/rust-dm-rds/kdir

ktap_print_header
command -v dkms >/dev/null && [ -d "/lib/modules/$REL/build" ] ||
	ktap_skip_all "no dkms, or no headers for $REL"
OTHER=$(basename "$(dirname "$(ls -d /lib/modules/*-rt-*/build | grep -v "/$REL/" | head -n1)")")
[ -n "$OTHER" ] || ktap_skip_all "no headers of a second kernel (Debian's rt) to build for"
ktap_set_plan 10
cut_modules "$REL" && cut_modules "$OTHER" || ktap_exit_fail_msg "cannot mount the cut-down module trees"
show_prepared_metadata || ktap_print_msg "no prepared Rust metadata: the builds prepare it (slow)"

# What DKMS and our targets may touch (the prepared metadata apart).
snapshot() {
	{
		find /usr/src /etc/modprobe.d /etc/kernel -maxdepth 1
		find /var/lib/dkms "/lib/modules/$REL/" "/lib/modules/$OTHER/"
	} 2>/dev/null | sort
}
snapshot >"$DMD_WORK/before"
nohome() { env -u HOME "$@" </dev/null 2>&1 | tail -n 25 | sed 's/^/# /'; return "${PIPESTATUS[0]}"; }
installed() { dkms status -m rust-dm-rds -v "$VER" -k "$1" | grep -q ": installed"; }

start=$SECONDS
check "make dkms-install, without HOME: its dkms autoinstall installs for the running kernel" \
	bash -c "$(declare -f nohome installed); nohome make -C '$REPO' dkms-install && installed '$REL'"
ktap_print_msg "make dkms-install took $((SECONDS - start)) s"
bad=$(cd "$SRC" && find . -type f | grep -Evx '\./(Kbuild|Makefile|dkms\.conf|COPYING|[a-z_]+\.rs|scripts/kmake\.sh|bindings/[a-z_]+\.(rs|c|h|params))' |
	grep -v bindings_generated)
[ -z "$bad" ] || ktap_print_msg "not sources: $(echo $bad)"
check "$SRC holds the module sources and nothing else" \
	bash -c '[ -z "$1" ] && [ -f "$2/Kbuild" ] && [ -f "$2/rust_dm_delay_main.rs" ] && [ ! -e "$2/bindings/bindings_generated.rs" ]' _ "$bad" "$SRC"

start=$SECONDS
check "dkms install -k $OTHER, without HOME, installs for that kernel" \
	bash -c "$(declare -f nohome installed); nohome dkms install -m rust-dm-rds -v '$VER' -k '$OTHER' && installed '$OTHER'"
ktap_print_msg "dkms install -k $OTHER took $((SECONDS - start)) s"
check "each kernel's module is in its updates/dkms/ and carries its release" \
	bash -c 'for k in "$1" "$2"; do ko=$(modinfo -k "$k" -n rust_dm_delay) &&
		[[ $ko == /lib/modules/$k/updates/dkms/* ]] &&
		[ "$(modinfo -F vermagic "$ko" | cut -d" " -f1)" = "$k" ] || exit 1; done' _ "$REL" "$OTHER"

mkdir -p /lib/modules/0.0.0-norust/build
echo CONFIG_MODULES=y >/lib/modules/0.0.0-norust/build/.config
out=$(dkms build -m rust-dm-rds -v "$VER" -k 0.0.0-norust 2>&1)
ktap_print_msg "$(echo "$out" | grep -m1 BUILD_EXCLUSIVE)"
check "dkms skips a kernel without CONFIG_RUST (BUILD_EXCLUSIVE_CONFIG)" \
	bash -c '[[ $1 == *BUILD_EXCLUSIVE* ]] && [ ! -e /var/lib/dkms/rust-dm-rds/$2/0.0.0-norust ]' _ "$out" "$VER"
rm -rf /lib/modules/0.0.0-norust

snapshot | diff "$DMD_WORK/before" - | sed -n 's/^> /# installed: /p'
mod_remove rust_dm_delay
modprobe rust_dm_delay
check "modprobe rust_dm_delay loads the module DKMS installed" \
	test "$(cat /sys/module/rust_dm_delay/srcversion 2>/dev/null)" = \
	"$(modinfo -F srcversion "/lib/modules/$REL/updates/dkms/rust_dm_delay.ko"* 2>/dev/null)"
ZDEV=$(devno "$(mkloop 1)")
got=$(autoload "$ZDEV")
ktap_print_msg "a delay table loaded: $got"
check "dm's autoload of 'delay' loads the DKMS rust_dm_delay" test "$got" = rust_dm_delay
mod_remove rust_dm_delay

ls -d "$CACHE"/* 2>/dev/null | sed 's/^/# prepared before dkms remove: /'
nohome dkms remove -m rust-dm-rds -v "$VER" --all
left=$(ls -d /var/lib/dkms/rust-dm-rds /lib/modules/"$REL"/updates/dkms/rust_* \
	/lib/modules/"$OTHER"/updates/dkms/rust_* "$CACHE/$REL"-* "$CACHE/$OTHER"-* 2>/dev/null)
[ -n "$left" ] && ktap_print_msg "dkms remove left: $(echo $left)"
check "dkms remove takes the modules of both kernels, their DKMS tree and prepared metadata" test -z "$left"

nohome make -C "$REPO" dkms-uninstall
snapshot >"$DMD_WORK/after"
# DKMS's own signing key (/var/lib/dkms/mok.*), if it made one, serves
# every DKMS package: it stays.
diff "$DMD_WORK/before" "$DMD_WORK/after" | grep -v '/var/lib/dkms/mok\.' | sed -n 's/^[<>]/# changed:/p' >"$DMD_WORK/diff"
cat "$DMD_WORK/diff"
check "after make dkms-uninstall every file is as before make dkms-install" test ! -s "$DMD_WORK/diff"
check "kernel log clean" dmesg_clean
ktap_finished
