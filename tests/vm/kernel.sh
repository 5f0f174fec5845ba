#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds a test kernel flavor inside the chroot: 'debug', 'perf', or a
# flavor whose name joins fragments with '-', such as 'perf-hz1000'
# (tests/vm/perf.config, then tests/vm/hz1000.config).
#
# Both flavors come from the same linux-source-7.2 package, each unpacked
# into its own directory and built in place (virtme-ng boots a tree as it
# is). A flavor is rebuilt only when its inputs change: the source package
# version, tests/config, tests/vm/base.config or tests/vm/<flavor>.config.

. "$(dirname "$0")/lib.sh"

flavor=${1:?usage: kernel.sh debug|perf|perf-hz1000}
# Merged in this order onto virtme-ng's default config: what the VM does
# not need, what the suite needs, what the flavor adds.
frags=("$REPO/tests/vm/base.config" "$REPO/tests/config")
IFS=- read -ra parts <<<"$flavor"
for part in "${parts[@]}"; do
	frag=$REPO/tests/vm/$part.config
	[ -f "$frag" ] || die "unknown kernel flavor '$flavor' (no tests/vm/$part.config)"
	frags+=("$frag")
done

kdir=$(kernel_dir "$flavor")
hkdir=$ROOT$kdir
srcver=$(in_chroot "dpkg-query -W -f='\${Version}' $KSRC_PKG") ||
	die "$KSRC_PKG is not installed in the chroot: run 'make toolchain'"
key=$( (echo "$srcver"; cat "${frags[@]}") | sha256sum | cut -c1-16)

if [ "$(cat "$hkdir/.stamp-built" 2>/dev/null)" = "$key" ]; then
	log "$flavor kernel is up to date ($hkdir)"
	exit 0
fi

# A new source version means a fresh tree; a changed fragment only means a
# new configuration and an incremental build.
if [ "$(cat "$hkdir/.stamp-source" 2>/dev/null)" != "$srcver" ]; then
	log "unpacking $KSRC_PKG $srcver for the $flavor kernel"
	rm -rf "$(dirname "$hkdir")"
	mkdir -p "$(dirname "$hkdir")"
	in_chroot "tar -C $(dirname "$kdir") -xf /usr/src/$KSRC_PKG.tar.xz &&
		mv $(dirname "$kdir")/$KSRC_PKG $kdir"
	echo "$srcver" >"$hkdir/.stamp-source"
fi

log "configuring the $flavor kernel"
in_chroot "cd $kdir && { vng --kconfig LLVM=1 &&
	scripts/kconfig/merge_config.sh -m .config ${frags[*]} &&
	make LLVM=1 olddefconfig; } >/kernel/$flavor/config.log 2>&1" ||
	die "configuring the $flavor kernel failed, see $ROOT/kernel/$flavor/config.log"

# Every option the fragments ask for must have survived olddefconfig:
# a dependency that is not met silently drops an option otherwise. A later
# fragment's value of an option replaces an earlier one's (read backwards).
bad=0
declare -A seen
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	opt=${line%%=*} val=${line#*=}
	[ -z "${seen[$opt]:-}" ] || continue
	seen[$opt]=1
	if [ "$val" = n ]; then
		grep -q "^$opt=" "$hkdir/.config" && { echo "  $opt: wanted n, got $(grep "^$opt=" "$hkdir/.config")"; bad=1; }
	else
		grep -qx "$line" "$hkdir/.config" || { echo "  $opt: wanted $val, got $(grep "^$opt=" "$hkdir/.config" || echo unset)"; bad=1; }
	fi
done < <(cat "${frags[@]}" | tac)
[ $bad = 0 ] || die "the $flavor kernel config lacks options the fragments ask for (see above)"

log "building the $flavor kernel (about 16-25 minutes on 2 cores the first time)"
start=$(date +%s)
in_chroot "cd $kdir && make LLVM=1 -j$(($(nproc) + 1)) >/kernel/$flavor/build.log 2>&1" ||
	{ tail -n 30 "$ROOT/kernel/$flavor/build.log"; die "the $flavor kernel build failed, see $ROOT/kernel/$flavor/build.log"; }
log "$flavor kernel built in $(($(date +%s) - start)) s"
echo "$key" >"$hkdir/.stamp-built"
