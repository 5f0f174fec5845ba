#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# 'make install' and 'make uninstall' on the running kernel (the stock
# boot: Debian's kernel, with the modules built against its headers in
# KO_DIR). After install, both modules are in the kernel's updates/, and
# device-mapper's own autoload of the 'delay' target (request_module
# "dm-delay" when a table names it) loads rust_dm_delay, not the C
# dm_delay. After uninstall, the files are gone and the same autoload
# loads the C target again. The guest's /lib and /etc are throwaway
# overlays.
#
# The guest reads /lib/modules over 9p, where depmod over Debian's 4,000
# modules did not finish in 13 minutes under TCG. So the test mounts over
# the kernel's module directory a copy cut down to device-mapper (its
# drivers/md, the index files, the build link): install, depmod, modprobe
# and dm's autoload then work on it exactly as on the full tree.

. "$(dirname "$0")/dm_delay_lib.sh"

REL=$(uname -r)
KDIR=/lib/modules/$REL/build
UPD=/lib/modules/$REL/updates
CONF=/etc/modprobe.d/rust-dm-rds.conf

ktap_print_header
[ -d "$KDIR" ] && [ -f "$KO_DIR/modules.order" ] ||
	ktap_skip_all "no headers for $REL, or no modules built for it in $KO_DIR"
ktap_set_plan 8

MODS=/lib/modules/$REL
cut=$DMD_WORK/modules
mkdir -p "$cut/kernel/drivers"
cp -a "$MODS"/modules.order "$MODS"/modules.builtin* "$MODS"/build "$MODS"/source "$cut/"
cp -a "$MODS/kernel/drivers/md" "$cut/kernel/drivers/"
mount --bind "$cut" "$MODS" || ktap_exit_fail_msg "cannot mount the cut-down module tree"
depmod -a "$REL"
cleanup() {
	umount "$MODS" 2>/dev/null
	dmd_cleanup
}
trap cleanup EXIT

loaded() { grep -q "^$1 " /proc/modules; }

# Creates a delay device over dm-zero with no delay module loaded, so that
# dm loads one itself; prints which one it loaded.
autoload() {
	mod_remove rust_dm_delay
	mod_remove dm_delay
	echo "0 8 delay $ZDEV 0 1" | $DMS create dmd_autoload >/dev/null 2>&1 || {
		echo "create-failed"
		return
	}
	dm_remove dmd_autoload
	if loaded rust_dm_delay && ! loaded dm_delay; then
		echo rust_dm_delay
	elif loaded dm_delay && ! loaded rust_dm_delay; then
		echo dm_delay
	else
		echo "neither"
	fi
}

# Runs 'make TARGET' of KO_DIR for the running kernel, as one check that
# shows the output's tail when it fails.
make_target() {
	local out rc
	out=$(make -C "$KO_DIR" "$1" KDIR="$KDIR" 2>&1)
	rc=$?
	[ $rc = 0 ] || echo "$out" | tail -n 20 | sed 's/^/# /'
	check "make $1 succeeds" test $rc = 0
}

ZDEV=$(devno "$(mkloop 1)")
make_target install
check "both modules installed in updates/" \
	test -n "$(ls "$UPD"/rust_dm_delay.ko* "$UPD"/rust_rds_ib_addr.ko* 2>/dev/null | sed -n 2p)"
check "modinfo finds rust_dm_delay in updates/" \
	bash -c "modinfo -n rust_dm_delay | grep -q '^$UPD/'"
got=$(autoload)
ktap_print_msg "after install, a delay table loaded: $got"
check "after install, dm's autoload of 'delay' loads rust_dm_delay" test "$got" = rust_dm_delay

make_target uninstall
check "uninstall leaves no module or modprobe file behind" \
	test -z "$(ls "$UPD"/rust_* "$CONF" 2>/dev/null)"
got=$(autoload)
ktap_print_msg "after uninstall, a delay table loaded: $got"
check "after uninstall, the autoload loads the C dm_delay" test "$got" = dm_delay
mod_remove dm_delay
check "kernel log clean" dmesg_clean
ktap_finished
