#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# 'make install' and 'make uninstall' for the running kernel, with no KDIR,
# as a user runs them (the stock boot: Debian's kernel, with the modules
# built against its headers in KO_DIR).
# - Modules built for another kernel (those of another stock flavor) are
#   refused, naming both releases, and nothing is installed.
# - After install, both modules are in the kernel's updates/, and
#   device-mapper's own autoload of the 'delay' target (request_module
#   "dm-delay" when a table names it) loads rust_dm_delay, not the C
#   dm_delay; on a kernel without rust_dm_delay, the same modprobe
#   configuration loads the C target.
# - The kernel postrm hook drops the Rust metadata prepared for a kernel.
# - After uninstall, the files are gone and the autoload loads the C target.
# The guest's /lib and /etc are throwaway overlays.

. "$(dirname "$0")/dm_delay_lib.sh"

REL=$(uname -r)
UPD=/lib/modules/$REL/updates
CONF=/etc/modprobe.d/rust-dm-rds.conf
HOOK=/etc/kernel/postrm.d/rust-dm-rds

ktap_print_header
[ -d "/lib/modules/$REL/build" ] && [ -f "$KO_DIR/modules.order" ] ||
	ktap_skip_all "no headers for $REL, or no modules built for it in $KO_DIR"
ktap_set_plan 11

cut_modules "$REL" || ktap_exit_fail_msg "cannot mount the cut-down module tree"

# Runs 'make TARGET' in directory $2 (default KO_DIR); sets OUT and RC.
make_in() {
	OUT=$(make -C "${2:-$KO_DIR}" "$1" 2>&1)
	RC=$?
}

# Modules of another kernel: the first other stock flavor's build.
other=
for d in "$REPO"/tests/output/modules-stock*/; do
	rel=$(modinfo -F vermagic "$d/rust_dm_delay.ko" 2>/dev/null | cut -d' ' -f1)
	[ -n "$rel" ] && [ "$rel" != "$REL" ] && other=$d && break
done
if [ -n "$other" ]; then
	make_in install "$other"
	ktap_print_msg "exit $RC: $(echo "$OUT" | grep rust-dm-rds:)"
	check "make install of modules built for $rel is refused, naming both kernels" \
		bash -c '[ "$1" != 0 ] && grep -q "rust-dm-rds: .*built for kernel $2, not for $3" <<<"$4"' _ "$RC" "$rel" "$REL" "$OUT"
	check "the refused install left nothing: no module in updates/, no modprobe file" \
		test -z "$(ls "$UPD" "$CONF" "$HOOK" 2>/dev/null)"
else
	ktap_test_skip "make install of modules built for another kernel is refused (none built)"
	ktap_test_skip "the refused install left nothing"
fi

ZDEV=$(devno "$(mkloop 1)")
make_in install
[ $RC = 0 ] || echo "$OUT" | tail -n 20 | sed 's/^/# /'
check "make install succeeds" test $RC = 0
check "both modules installed in updates/" \
	test -n "$(ls "$UPD"/rust_dm_delay.ko* "$UPD"/rust_rds_ib_addr.ko* 2>/dev/null | sed -n 2p)"
check "modinfo finds rust_dm_delay in updates/" \
	bash -c "modinfo -n rust_dm_delay | grep -q '^$UPD/'"
got=$(autoload "$ZDEV")
ktap_print_msg "after install, a delay table loaded: $got"
check "after install, dm's autoload of 'delay' loads rust_dm_delay" test "$got" = rust_dm_delay

# The same modprobe configuration on a kernel without rust_dm_delay.
mkdir -p "$DMD_WORK/away"
mv "$UPD"/rust_dm_delay.ko* "$DMD_WORK/away/" && depmod -a "$REL"
got=$(autoload "$ZDEV")
ktap_print_msg "with the modprobe file but no rust_dm_delay, a delay table loaded: $got"
check "on a kernel without rust_dm_delay, the autoload loads the C dm_delay" test "$got" = dm_delay
mv "$DMD_WORK"/away/* "$UPD/" && depmod -a "$REL"

gone=/var/cache/rust-dm-rds/kdir/0.0.0-gone
mkdir -p "$gone-0123456789abcdef/linux"
"$HOOK" 0.0.0-gone
check "the kernel postrm hook drops the metadata prepared for the removed kernel" \
	test ! -e "$gone-0123456789abcdef"

make_in uninstall
check "uninstall leaves no module, modprobe file or hook behind" \
	test -z "$(ls "$UPD"/rust_* "$CONF" "$HOOK" 2>/dev/null)"
got=$(autoload "$ZDEV")
ktap_print_msg "after uninstall, a delay table loaded: $got"
check "after uninstall, the autoload loads the C dm_delay" test "$got" = dm_delay
mod_remove dm_delay
check "kernel log clean" dmesg_clean
ktap_finished
