# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the selftests. Source it from a test:
#
#   . "$(dirname "$0")/lib.sh"
#
# It provides the kselftest KTAP helpers (ktap_*), plus:
#   KO_DIR          where the built rust_*.ko files are (default: those
#                   built for the debug kernel, tests/output/modules-debug)
#   MODS_RE         regex matching our module names
#   check DESC CMD  one KTAP result: ok when CMD succeeds
#   dmesg_mark      start a window of the kernel log, and forget the leaks
#                   kmemleak has reported so far (done once on sourcing,
#                   unless LIB_NO_MARK=1)
#   dmesg_clean     true when, since the mark, the kernel log gained no
#                   WARNING, BUG, KASAN, kmemleak, lockdep or hung-task
#                   report mentioning our modules (prints the report as
#                   KTAP diagnostics otherwise); first scans for leaks past
#                   kmemleak's minimum age (our_leaks)
#   our_leaks       prints the kmemleak reports whose backtrace names our
#                   modules or lies where they were (see rmmod below)
#   boot_reports    prints the first line of every report in the whole
#                   kernel log, whoever caused it, and says when lockdep or
#                   kmemleak has switched itself off
#   KNOWN_REPORT_RE reports matching this regex are tolerated (known upstream
#                   issues; rds_lib.sh names the one it knows)
#   show_prepared_metadata  makes the Rust metadata prepared for Debian's
#                   kernels visible at /var/cache/rust-dm-rds
#   mod_remove M    unload M if it is loaded; a livepatch module is
#                   disabled first and its transition waited for

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=${REPO:-$(dirname "$TESTS_DIR")}
KO_DIR=${KO_DIR:-$REPO/tests/output/modules-debug}
MODS_RE=${MODS_RE:-'rust_dm_delay|rust_rds_ib_addr'}
KNOWN_REPORT_RE=${KNOWN_REPORT_RE:-}

# The kernel tree's KTAP helpers; the guest sees the chroot, which holds the
# test kernel's tree.
for _k in "${KSRC:-}" /kernel/debug/linux /kernel/perf/linux; do
	_h=$_k/tools/testing/selftests/kselftest/ktap_helpers.sh
	if [ -n "$_k" ] && [ -f "$_h" ]; then
		. "$_h"
		break
	fi
done
type ktap_print_header >/dev/null 2>&1 || {
	echo "Bail out! ktap_helpers.sh not found (set KSRC)"
	exit 1
}

check() {
	local desc=$1
	shift
	if "$@"; then
		ktap_test_pass "$desc"
	else
		ktap_test_fail "$desc"
	fi
}

mod_remove() {
	local lp=/sys/kernel/livepatch/$1 i
	grep -q "^$1 " /proc/modules || return 0
	if [ -d "$lp" ]; then
		[ "$(cat "$lp/enabled")" = 1 ] && echo 0 >"$lp/enabled"
		for i in $(seq 1 300); do
			[ -d "$lp" ] || break
			sleep 0.1
		done
	fi
	rmmod "$1"
}

_KMEMLEAK=/sys/kernel/debug/kmemleak
# Where our modules lay, one "name address size" line per load, recorded
# before every unload (/proc/modules): after the unload, kmemleak's
# backtraces (%pS) show a bare 0x... address in place of our symbols.
_MODRANGES=/tmp/rust-dm-rds.modranges

# Every unload by the tests goes through this function.
rmmod() {
	local m
	for m in "$@"; do
		awk -v m="${m%.ko}" -v re="^($MODS_RE)\$" '$1 == m && m ~ re { print $1, $6, $2 }' \
			/proc/modules >>"$_MODRANGES"
	done
	command rmmod "$@"
}

# Scans for leaks so that what was leaked up to now is reported too.
# kmemleak reports an object only once it is 5 s old (MSECS_MIN_AGE) and
# unchanged since the scan before: scan, wait until more than 6 s have
# passed since that scan began (7 on $SECONDS, which counts whole seconds;
# one scan takes 8-12 s in the debug VM, so usually no wait at all), and
# scan again.
kmemleak_rescan() {
	local t=$SECONDS
	echo scan >"$_KMEMLEAK"
	t=$((7 - (SECONDS - t)))
	[ $t -le 0 ] || sleep $t
	echo scan >"$_KMEMLEAK"
}

our_leaks() {
	[ -r "$_KMEMLEAK" ] || return 0
	{
		cat "$_MODRANGES" 2>/dev/null
		awk -v re="^($MODS_RE)\$" '$1 ~ re { print $1, $6, $2 }' /proc/modules
	} | python3 -c '
import re, sys
ranges = [(int(a, 16), int(a, 16) + int(n)) for _, a, n in (l.split() for l in sys.stdin)]
mods = re.compile(sys.argv[2])
for rep in open(sys.argv[1]).read().split("unreferenced object")[1:]:
    addrs = [int(a, 16) for a in re.findall(r"^ +(?:\[<)?(?:0x)?([0-9a-f]{16})\b", rep, re.M)]
    if mods.search(rep) or any(lo <= a < hi for a in addrs for lo, hi in ranges):
        print("unreferenced object" + rep, end="")
' "$_KMEMLEAK" "$MODS_RE"
}

dmesg_mark() {
	_DMESG_MARK="ksft-mark-$$-$RANDOM"
	echo "$_DMESG_MARK" >/dev/kmsg
	[ -w "$_KMEMLEAK" ] && echo clear >"$_KMEMLEAK"
	return 0
}

# Prints the kernel log lines written since the mark.
dmesg_since_mark() {
	dmesg | sed -n "/$_DMESG_MARK/,\$p" | tail -n +2
}

_REPORT_RE='WARNING:|BUG:|KASAN|kmemleak:.*leak|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|lock held when returning|INFO: task .* blocked for more than|Oops|general protection fault|Kernel panic|panicked at|soft lockup|hard LOCKUP|UBSAN'

boot_reports() {
	dmesg | grep -E "$_REPORT_RE|kmemleak: Kernel memory leak detector disabled" |
		grep -v 'kmemleak: Kernel memory leak detector initialized' | head -n 20
	if grep -qs 'debug_locks: *0' /proc/lockdep_stats; then
		echo "lockdep is off (debug_locks 0): it has reported before, or the kernel is tainted"
	fi
}

dmesg_clean() {
	local log reports leaks ok=0

	if [ -w "$_KMEMLEAK" ]; then
		kmemleak_rescan
		leaks=$(our_leaks)
		if [ -n "$leaks" ]; then
			echo "$leaks" | head -n 60 | sed 's/^/# kmemleak: /'
			ok=1
		fi
	fi

	log=$(dmesg_since_mark)
	# Split the new log into reports: each starts at a header line and runs
	# until the next header. A report counts when it names our modules.
	reports=$(echo "$log" | awk -v re="$_REPORT_RE" -v mods="$MODS_RE" -v known="$KNOWN_REPORT_RE" '
		function flush() {
			if (blk != "" && blk ~ mods && !(known != "" && blk ~ known))
				printf "%s", blk
			blk = ""
		}
		$0 ~ re { flush(); inrep = 1 }
		inrep { blk = blk $0 "\n" }
		END { flush() }')
	if [ -n "$reports" ]; then
		echo "$reports" | head -n 80 | sed 's/^/# dmesg: /'
		ok=1
	fi
	return $ok
}

# tests/vm/build.sh prepared the Rust metadata for Debian's kernels in the
# chroot's /var/cache/rust-dm-rds, where scripts/kmake.sh finds it as root;
# virtme-init hides /var/cache under a tmpfs. The chroot's copy, seen
# through a plain bind of the root, goes back there under an overlay:
# writable, and whatever the test changes vanishes with the boot.
show_prepared_metadata() {
	local c=/var/cache/rust-dm-rds t
	mountpoint -q "$c" && return 0
	t=$(mktemp -d /tmp/metadata.XXXXXX)
	mkdir -p "$t/root" "$t/rw" "$c" &&
		mount --bind / "$t/root" &&
		[ -d "$t/root$c/kdir" ] &&
		mount -t tmpfs metadata "$t/rw" && mkdir "$t/rw/upper" "$t/rw/work" &&
		mount -t overlay metadata -o "lowerdir=$t/root$c,upperdir=$t/rw/upper,workdir=$t/rw/work" "$c"
}

[ "${LIB_NO_MARK:-}" = 1 ] || dmesg_mark

# Older name of mod_remove.
mod_unload() { mod_remove "$@"; }
