# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the selftests. Source it from a test:
#
#   . "$(dirname "$0")/lib.sh"
#
# It provides the kselftest KTAP helpers (ktap_*), plus:
#   KO_DIR          where the built rust_*.ko files are (the repo top)
#   MODS_RE         regex matching our module names
#   check DESC CMD  one KTAP result: ok when CMD succeeds
#   dmesg_mark      start a window of the kernel log (done once on sourcing)
#   dmesg_clean     true when, since the mark, the kernel log gained no
#                   WARNING, BUG, KASAN, kmemleak, lockdep or hung-task
#                   report mentioning our modules (prints the report as
#                   KTAP diagnostics otherwise); runs a kmemleak scan first
#   KNOWN_REPORT_RE reports matching this regex are tolerated (known upstream
#                   issues; see ENVIRONMENT.md)
#   mod_remove M    unload M if it is loaded; a livepatch module is
#                   disabled first and its transition waited for

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=${REPO:-$(dirname "$TESTS_DIR")}
KO_DIR=${KO_DIR:-$REPO}
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

dmesg_clean() {
	local log reports leaks ok=0

	# kmemleak reports an object only once it has been unreferenced for
	# a few seconds; two scans catch what this test just freed or leaked.
	if [ -w "$_KMEMLEAK" ]; then
		echo scan >"$_KMEMLEAK"
		sleep 1
		echo scan >"$_KMEMLEAK"
		leaks=$(cat "$_KMEMLEAK")
		if echo "$leaks" | grep -Eq "$MODS_RE"; then
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

dmesg_mark

# Older name of mod_remove.
mod_unload() { mod_remove "$@"; }
