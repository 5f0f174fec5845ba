#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the guest: runs selftest programs one by one, each under the
# per-test timeout from tests/settings, and writes kselftest-style KTAP to
# stdout and to OUTFILE.
#
#   guest-run.sh OUTFILE PROG...

out=$1
shift
cd "$(dirname "$0")/.." || exit 1
timeout_s=$(sed -n 's/^timeout=//p' settings)
export KO_DIR=${KO_DIR:-$(cd .. && pwd)}

run() {
	local n=0 t rc start
	echo "TAP version 13"
	echo "# uname: $(uname -a)"
	# Lockdep switches itself off after its first report (or a taint):
	# say whether it is still on when the suite starts.
	echo "# $(grep -s 'debug_locks:' /proc/lockdep_stats | tr -s ' ')"
	echo "1..$#"
	for t in "$@"; do
		n=$((n + 1))
		echo "# selftests: rust-dm-rds: $t"
		start=$(date +%s)
		timeout -k 10 "$timeout_s" "./$t" </dev/null 2>&1 | sed -u 's/^/# /'
		rc=${PIPESTATUS[0]}
		echo "# took $(($(date +%s) - start)) s"
		case $rc in
		0) echo "ok $n selftests: rust-dm-rds: $t" ;;
		4) echo "ok $n selftests: rust-dm-rds: $t # SKIP" ;;
		124 | 137) echo "not ok $n selftests: rust-dm-rds: $t # TIMEOUT $timeout_s seconds" ;;
		*) echo "not ok $n selftests: rust-dm-rds: $t # exit=$rc" ;;
		esac
	done
	echo "# guest-done"
}

run "$@" | tee "$out"
