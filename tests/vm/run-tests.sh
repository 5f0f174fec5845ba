#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host side of the selftest run: boots the debug test kernel once per boot
# group, runs the group's TEST_PROGS in the guest, brings the KTAP back,
# prints every result and ends with one line: "N passed, N failed".
#
# A test program declares its group in a "# boot-group: NAME" line (default
# "main"). Groups that need a fresh lockdep (nothing may have reported
# before them) get a boot of their own that way.
#
#   run-tests.sh [PROG...]      (default: TEST_PROGS from tests/Makefile)
#
# Results go to TEST_OUTDIR (default tests/output; it must be inside the
# repository). Two runs at once need two different TEST_OUTDIRs.
#
# Exits non-zero on any failed test, a timeout, a kernel oops or panic, or a
# VM that did not boot. Each test has the timeout from tests/settings, each
# boot a limit derived from it, and the whole run RUN_TIMEOUT (default 4200 s).

. "$(dirname "$0")/lib.sh"

cd "$REPO/tests"
progs=("$@")
[ ${#progs[@]} -gt 0 ] || read -ra progs <<<"$(make -s --no-print-directory list)"
[ ${#progs[@]} -gt 0 ] || die "no tests to run"
timeout_s=$(sed -n 's/^timeout=//p' settings)
outdir=${TEST_OUTDIR:-$REPO/tests/output}
case $outdir in "$REPO"/*) ;; *) die "TEST_OUTDIR must be inside the repository (the guest writes there)" ;; esac
mkdir -p "$outdir"

declare -A group_progs
groups=()
for p in "${progs[@]}"; do
	[ -x "$p" ] || die "test program tests/$p is missing or not executable"
	g=$(sed -n 's/^# boot-group: *//p' "$p" | head -n1)
	g=${g:-main}
	[ -n "${group_progs[$g]:-}" ] || groups+=("$g")
	group_progs[$g]+="$p "
done

# The whole run's limit (seconds), below CI's 90 minutes.
RUN_TIMEOUT=${RUN_TIMEOUT:-4200}
run_end=$(($(date +%s) + RUN_TIMEOUT))

pass=0 fail=0 skip=0
for g in "${groups[@]}"; do
	read -ra gp <<<"${group_progs[$g]}"
	ktap=$outdir/ktap-$g.txt console=$outdir/console-$g.log
	rm -f "$ktap" "$console"
	# Whole-boot limit: every test may use its full timeout, plus boot
	# time; and the whole run stays within RUN_TIMEOUT.
	limit=$((${#gp[@]} * (timeout_s + 15) + 180))
	left=$((run_end - $(date +%s)))
	[ $left -lt $limit ] && limit=$left
	if [ $limit -le 60 ]; then
		echo "not ok - boot '$g': no time left in RUN_TIMEOUT=${RUN_TIMEOUT}s"
		fail=$((fail + 1))
		continue
	fi
	log "boot '$g': ${gp[*]} (limit ${limit}s)"
	start=$(date +%s)
	"$REPO/tests/vm/vm.sh" -t "$limit" -l "$console" \
		"tests/vm/guest-run.sh $ktap ${gp[*]}" || true
	log "boot '$g' took $(($(date +%s) - start)) s; console log: $console"

	# Results: top-level lines are the programs, "# ok"/"# not ok" lines
	# inside them are their subtests. A failed program with no failed
	# subtest (a timeout, a crash) counts as one failure of its own.
	if [ ! -s "$ktap" ]; then
		echo "not ok - boot '$g': the VM did not boot or wrote no results"
		tail -n 40 "$console" 2>/dev/null | sed 's/^/# console: /'
		fail=$((fail + 1))
		continue
	fi
	awk '
		/^# (uname|Totals| *debug_locks)/ || /^# selftests:/ { print; next }
		/^# (not )?ok [0-9]+/ {
			print
			if ($2 == "not") { sf++ } else if ($0 ~ /# SKIP/) { ss++ } else { sp++ }
			next
		}
		/^(not )?ok [0-9]+/ {
			print
			if ($1 == "not" && sf == 0) sf = 1
			if ($0 ~ /# SKIP/ && sp + sf + ss == 0) ss = 1
			P += sp; F += sf; S += ss; sp = sf = ss = 0
		}
		END { printf "COUNTS %d %d %d\n", P + sp, F + sf, S + ss }
	' "$ktap" >"$outdir/results-$g.txt"
	grep -v '^COUNTS' "$outdir/results-$g.txt"
	read -r _ p f s < <(grep '^COUNTS' "$outdir/results-$g.txt")
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if ! grep -q '^# guest-done' "$ktap"; then
		echo "not ok - boot '$g': the guest stopped before the end of its tests"
		fail=$((fail + 1))
	fi
	if grep -Eq 'Kernel panic|Oops|general protection fault|BUG: unable to handle' "$console"; then
		echo "not ok - boot '$g': the kernel oopsed or panicked"
		grep -E -m5 -A20 'Kernel panic|Oops|general protection fault|BUG: unable to handle' "$console" | sed 's/^/# console: /'
		fail=$((fail + 1))
	fi
done

if [ $skip -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ $fail -eq 0 ]
