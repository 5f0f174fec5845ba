#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the guest: runs selftest programs one by one, each under the
# per-test timeout from tests/settings (or its own "# timeout:" line), and
# writes kselftest-style KTAP to stdout and to OUTFILE.
#
#   guest-run.sh OUTFILE PROG...

out=$1
shift
cd "$(dirname "$0")/.." || exit 1
# The host passes its per-test timeout (run-tests.sh); by hand, settings'.
timeout_s=${TIMEOUT_S:-$(sed -n 's/^timeout=//p' settings)}
export KO_DIR=${KO_DIR:-$(cd .. && pwd)/tests/output/modules-debug}

run() {
	local n t rc start reports
	echo "TAP version 13"
	echo "# uname: $(uname -a)"
	# Lockdep switches itself off after its first report (or a taint):
	# say whether it is still on when the suite starts.
	echo "# $(grep -s 'debug_locks:' /proc/lockdep_stats | tr -s ' ')"
	echo "1..$(($# + 2))"
	# A detector that has fired once may stay silent afterwards (lockdep
	# always does): a boot whose log holds any report before the first
	# test fails, naming it.
	n=1
	reports=$(bash -c '. ./lib.sh && boot_reports')
	if [ -n "$reports" ]; then
		echo "$reports" | sed 's/^/# before the first test: /'
		echo "not ok 1 selftests: rust-dm-rds: boot: kernel log clean before the first test"
	else
		echo "ok 1 selftests: rust-dm-rds: boot: kernel log clean before the first test"
	fi
	for t in "$@"; do
		n=$((n + 1))
		echo "# selftests: rust-dm-rds: $t"
		start=$(date +%s)
		# A program may ask for more in a "# timeout: SECONDS" line.
		t_s=$(sed -n 's/^# timeout: *//p' "$t" | head -n1)
		t_s=${t_s:-$timeout_s}
		timeout -k 10 "$t_s" "./$t" </dev/null 2>&1 | sed -u 's/^/# /'
		rc=${PIPESTATUS[0]}
		echo "# took $(($(date +%s) - start)) s"
		case $rc in
		0) echo "ok $n selftests: rust-dm-rds: $t" ;;
		4) echo "ok $n selftests: rust-dm-rds: $t # SKIP" ;;
		124 | 137) echo "not ok $n selftests: rust-dm-rds: $t # TIMEOUT $t_s seconds" ;;
		*) echo "not ok $n selftests: rust-dm-rds: $t # exit=$rc" ;;
		esac
	done
	# The boot ends with our modules unloaded and one more leak scan past
	# kmemleak's minimum age: a leak from a destructor or from the last
	# seconds of a test shows here, by the addresses our modules had.
	n=$((n + 1))
	if [ -r /sys/kernel/debug/kmemleak ]; then
		reports=$(LIB_NO_MARK=1 bash -c '. ./lib.sh && mod_remove rust_rds_ib_addr && mod_remove rust_dm_delay &&
			kmemleak_rescan && our_leaks' 2>&1)
		if [ -n "$reports" ]; then
			echo "$reports" | head -n 60 | sed 's/^/# /'
			echo "not ok $n selftests: rust-dm-rds: boot: no leak from our modules after unloading them"
		else
			echo "ok $n selftests: rust-dm-rds: boot: no leak from our modules after unloading them"
		fi
	else
		echo "ok $n selftests: rust-dm-rds: boot: no leak from our modules after unloading them # SKIP no kmemleak"
	fi
	echo "# guest-done"
}

run "$@" | tee "$out"
