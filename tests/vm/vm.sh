#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boots a test kernel with virtme-ng under TCG and runs a command in it.
#
#   vm.sh [-f FLAVOR] [-t SECONDS] [-l LOGFILE] [CMD...]
#
# FLAVOR: debug (the default), perf, perf-hz1000 (tests/vm/kernel.sh), or
# one of Debian's kernels: stock, stock-rt, stock-cloud (tests/vm/stock.sh).
# Without CMD it opens an interactive shell. The guest's root is the
# toolchain chroot (read-only, with overlays); the repository is mounted
# read-write at the same path as on the host. VM_RODIR=/dir adds one more host directory, read-only,
# at the same path. VM_APPEND='ARGS' adds ARGS to the kernel command line.
# The guest gets no network device.

. "$(dirname "$0")/lib.sh"

flavor=debug timeout_s=0 logfile=
while getopts "f:t:l:" o; do
	case $o in
	f) flavor=$OPTARG ;;
	t) timeout_s=$OPTARG ;;
	l) logfile=$OPTARG ;;
	*) die "usage: vm.sh [-f FLAVOR] [-t SECONDS] [-l LOGFILE] [CMD...]" ;;
	esac
done
shift $((OPTIND - 1))

image=$(kernel_image "$flavor")
[ -f "$ROOT$image" ] || die "no $flavor kernel: run 'make kernel-${flavor/stock-*/stock}' first"
# vng boots a kernel tree in place (its modules come from the tree), or an
# image file with the modules of the root's /lib/modules.
run=$image
case $flavor in stock*) ;; *) run=$(kernel_dir "$flavor") ;; esac

# The kernel log goes to the console (and to LOGFILE); a WARN does not
# panic, so the suite can report it, but an oops stops the guest at once.
# KASAN reports every bad access, not only the first one of the boot.
# no5lvl: QEMU's TCG CPU ('-cpu max') offers LA57, so the guest runs with
# 5-level paging, and an interrupt that lands while identify_cpu() rebuilds
# the boot CPU's feature bits sees LA57 off for a moment: KASAN then bounds
# its shadow for 4 levels and reports the 5-level direct map (ff11...) as a
# "wild-memory-access" (seen at 0.016 s on a loaded host, in
# handle_edge_irq), which also turns lockdep off. The guest needs no 5-level
# paging; with 4 levels that window does not exist.
#
# The debug kernel is slow under TCG: a fork and exec of /bin/true costs
# about 0.25 s there, the suite's programs run 5 to 15 times slower than on
# the stock kernel, and they start thousands of processes. Three things
# that do not touch what it tests make it cheaper: no CPU vulnerability
# mitigations (retpolines, RSB filling; -20 % on dmsetup create and
# remove); the root (the read-only chroot over 9p) cached in the guest's
# page cache (cache=loose; vng mounts it uncached, and these are otherwise
# vng's own root options), so that each exec does not read its binary and
# libraries from the host again (python3 -c 1: 4.0 s -> 2.3 s); and 1 GiB
# in place of 2: a kmemleak scan (two per test) takes 5.5-6 s in place of
# 8-10 s, /bin/true 0.17 s in place of 0.22 s, and the whole suite passes.
append="oops=panic panic=-1 printk.devkmsg=on" mem=2G
if [ "$flavor" = debug ]; then
	append+=" kasan_multi_shot no5lvl mitigations=off"
	append+=" rootflags=version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose"
	mem=1G
fi
args=(--run "$run" --disable-kvm --memory $mem --cpus 2)
# The root and the repository are shared over 9p, what the boots were tuned
# and measured on. Debian's cloud kernel has no 9p: its root comes over
# virtio-fs (virtiofsd), and so does the repository (the chroot holds it),
# on a writable bind of its own while the root's mount stays read-only.
setup=
if [ "$flavor" = stock-cloud ]; then
	setup="mount -o remount,rw / && mount --bind $REPO $REPO && mount -o remount,ro,bind / && "
else
	args+=(--force-9p --rwdir "$REPO")
fi
[ -n "${VM_RODIR:-}" ] && args+=(--rodir "$VM_RODIR")
args+=(--append "$append${VM_APPEND:+ $VM_APPEND}")

q() { printf '%q ' "$@"; }
if [ $# -eq 0 ]; then
	in_chroot "vng $(q "${args[@]}")"
	exit
fi

# With a log file, the kernel console goes into it too (--verbose).
[ -n "$logfile" ] && args+=(--verbose)
cmd="vng $(q "${args[@]}") --exec $(q "${setup}cd $REPO && $*")"
if [ "$timeout_s" != 0 ]; then
	cmd="timeout -k 10 $timeout_s $cmd"
fi
if [ -n "$logfile" ]; then
	in_chroot "$cmd" </dev/null >"$logfile" 2>&1
else
	in_chroot "$cmd" </dev/null
fi
