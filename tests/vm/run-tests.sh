#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host side of the selftest run: boots a test kernel once per boot group,
# runs the group's programs in the guest, brings the KTAP back, prints every
# result and ends with one line: "N passed, N failed".
#
# A test program declares its group in a "# boot-group: NAME" line (default
# "main"). Groups that need a fresh lockdep (nothing may have reported
# before them) get a boot of their own that way. The groups boot the debug
# kernel. Without PROG arguments, each of Debian's kernels (STOCK_FLAVORS
# in lib.sh) gets one boot more first, which runs its slice of the suite
# (tests/Makefile: STOCK_PROGS, STOCK_RT_PROGS, STOCK_CLOUD_PROGS) with the
# modules built against its headers (tests/vm/build.sh stock). With
# -f FLAVOR, every group boots that kernel instead, as FLAVOR:GROUP, with
# its slice's own programs added (and for stock, CHECK_STOCK_PROGS): the
# whole suite on one of Debian's kernels.
#
#   run-tests.sh [-f FLAVOR] [PROG...]   (default: TEST_PROGS)
#
# STRESS=1 (make stress) runs STRESS_PROGS (tests/Makefile) at their full
# counts instead, each with 12 times the timeout of tests/settings (the
# address churn alone takes about an hour in the debug VM); the
# programs read STRESS in the guest.
#
# Passed programs are remembered in $CACHE/results, keyed on everything
# that can change their outcome: the test kernel's stamp, the toolchain
# versions, the module sources (Kbuild, Makefile, *.rs, bindings/,
# scripts/, dkms.conf), the shared files of tests/ (not its *.md) and the
# program itself. A program whose key has a passed result is not run
# again: its remembered KTAP is printed, marked
# "# cached:". Any change to an input runs it again; a failure is never
# remembered. CHECK_CACHE=0 runs everything (and refreshes the cache).
#
# Results go to TEST_OUTDIR (default tests/output; it must be inside the
# repository). Two runs at once need two different TEST_OUTDIRs.
#
# Exits non-zero on any failed test, a timeout, a kernel oops or panic, or a
# VM that did not boot. Each test has the timeout from tests/settings, each
# boot a limit derived from it, and the whole run RUN_TIMEOUT (default 3600 s).

. "$(dirname "$0")/lib.sh"

flavor=debug
if [ "${1:-}" = -f ]; then
	flavor=${2:?usage: run-tests.sh [-f FLAVOR] [PROG...]}
	shift 2
fi
cd "$REPO/tests"
progs=("$@")
slices=()
# The programs of stock flavor $1's slice.
slice_progs() { make -s --no-print-directory "list-$1"; }
if [ "${STRESS:-0}" = 1 ] && [ ${#progs[@]} = 0 ]; then
	read -ra progs <<<"$(make -s --no-print-directory list-stress)"
elif [ ${#progs[@]} = 0 ]; then
	read -ra progs <<<"$(make -s --no-print-directory list)"
	if [ "$flavor" = debug ]; then
		slices=("${STOCK_FLAVORS[@]}")
	else
		# The whole suite, the programs of the flavor's slice, and on
		# amd64 those that only check-stock runs.
		for p in $(slice_progs "$flavor") $([ "$flavor" = stock ] && make -s --no-print-directory list-check-stock); do
			[[ " ${progs[*]} " == *" $p "* ]] || progs+=("$p")
		done
	fi
fi
[ ${#progs[@]} -gt 0 ] || die "no tests to run"
timeout_s=$(sed -n 's/^timeout=//p' settings)
[ "${STRESS:-0}" = 1 ] && timeout_s=$((timeout_s * 12))
outdir=${TEST_OUTDIR:-$REPO/tests/output}
case $outdir in "$REPO"/*) ;; *) die "TEST_OUTDIR must be inside the repository (the guest writes there)" ;; esac
mkdir -p "$outdir"
rm -f "$outdir"/ktap-*.txt "$outdir"/results-*.txt

# A group that boots a flavor other than debug is named after it: a stock
# flavor's slice by the flavor alone, a group of -f FLAVOR as FLAVOR:GROUP.
declare -A group_progs
groups=()
add_prog() {
	[ -x "$2" ] || die "test program tests/$2 is missing or not executable"
	[ -n "${group_progs[$1]:-}" ] || groups+=("$1")
	group_progs[$1]+="$2 "
}
# The slices go first: they are short, and RUN_TIMEOUT must not cut them.
for f in "${slices[@]}"; do
	for p in $(slice_progs "$f"); do add_prog "$f" "$p"; done
done
for p in "${progs[@]}"; do
	g=$(sed -n 's/^# boot-group: *//p' "$p" | head -n1)
	g=${g:-main}
	[ "$flavor" = debug ] || g=$flavor:$g
	add_prog "$g" "$p"
done
group_flavor() {
	case $1 in
	*:*) echo "${1%%:*}" ;;
	stock*) echo "$1" ;;
	*) echo debug ;;
	esac
}

# What every program's outcome depends on: the test kernel, the toolchain,
# and every tracked or new file of the module build and of tests/, except
# the test programs (TEST_PROGS and those asked for: each key adds its own)
# and the benchmarks.
resdir=$CACHE/results
mkdir -p "$resdir"
common_key=$(
	cd "$REPO"
	cat "$CACHE/versions.txt" 2>/dev/null || true
	echo "STRESS=${STRESS:-0}"
	git ls-files -co --exclude-standard -- Kbuild Makefile dkms.conf '*.rs' bindings scripts tests \
		':!tests/bench' ':!*.md' |
		grep -vxF -f <(printf 'tests/%s\n' "${progs[@]}" $(cd tests && make -s --no-print-directory list-all)) |
		sort | while IFS= read -r f; do
			[ -f "$f" ] && { echo "== $f"; cat "$f"; }
		done
) || die "cannot hash the inputs of the tests"
common_key=$(echo "$common_key" | sha256sum | cut -c1-32)
# The key of program $2 in group $1: the group's kernel counts too.
prog_key() {
	{
		echo "$common_key $2"
		kernel_stamp "$(group_flavor "$1")" 2>/dev/null || true
		cat "$REPO/tests/$2"
	} | sha256sum | cut -c1-32
}

# Prints the results of KTAP file $1 and adds them to the totals (the
# counts also go to file $2). Top-level lines are the programs, "# ok" /
# "# not ok" lines inside them their subtests. A failed program with no
# failed subtest (a timeout, a crash) counts as one failure of its own.
pass=0 fail=0 skip=0
count_results() {
	local p f s
	awk '
		/^# (uname|Totals|cached:|took| *debug_locks)/ || /^# selftests:/ { print; next }
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
	' "$1" >"$2"
	grep -v '^COUNTS' "$2"
	read -r _ p f s < <(grep '^COUNTS' "$2")
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}

# Remembers the KTAP of every program of KTAP file $1 that passed (a skip
# is not remembered).
remember_passed() {
	local ktap=$1 g=$2 p uname tmp
	shift 2
	uname=$(sed -n 's/^# uname: //p' "$ktap" | head -n1)
	for p in "$@"; do
		tmp=$resdir/.$p.$$
		awk -v p="$p" -v when="$(date -u +%FT%TZ)" -v uname="$uname" '
			$0 == "# selftests: rust-dm-rds: " p {
				on = 1
				sec = "# cached: " p " passed on " when " in " uname "\n"
			}
			on { sec = sec $0 "\n" }
			on && /^(not )?ok [0-9]+ selftests: rust-dm-rds: / {
				if ($1 == "ok" && $0 !~ /# SKIP/) printf "%s", sec
				exit
			}
		' "$ktap" >"$tmp"
		if [ -s "$tmp" ]; then
			mv "$tmp" "$resdir/$(prog_key "$g" "$p").ktap"
		else
			rm -f "$tmp"
		fi
	done
}

if [ "${CHECK_CACHE:-1}" != 0 ]; then
	cached=$outdir/ktap-cached.txt
	for g in "${groups[@]}"; do
		todo=
		for p in ${group_progs[$g]}; do
			if [ -s "$resdir/$(prog_key "$g" "$p").ktap" ]; then
				cat "$resdir/$(prog_key "$g" "$p").ktap" >>"$cached"
			else
				todo+="$p "
			fi
		done
		group_progs[$g]=$todo
	done
	if [ -s "$cached" ]; then
		log "passed before with the same inputs, not run again (CHECK_CACHE=0 runs them):"
		count_results "$cached" "$outdir/results-cached.txt"
	fi
fi

# The whole run's limit (seconds), below CI's 90 minutes.
RUN_TIMEOUT=${RUN_TIMEOUT:-$([ "${STRESS:-0}" = 1 ] && echo 21600 || echo 3600)}
run_end=$(($(date +%s) + RUN_TIMEOUT))

for g in "${groups[@]}"; do
	read -ra gp <<<"${group_progs[$g]}"
	[ ${#gp[@]} -gt 0 ] || continue
	ktap=$outdir/ktap-$g.txt console=$outdir/console-$g.log
	rm -f "$console"
	# Whole-boot limit: every test may use its full timeout (its own
	# "# timeout:" line, else settings'), plus boot time; and the whole run
	# stays within RUN_TIMEOUT.
	limit=180
	for p in "${gp[@]}"; do
		t=$(sed -n 's/^# timeout: *//p' "$p" | head -n1)
		limit=$((limit + ${t:-$timeout_s} + 15))
	done
	left=$((run_end - $(date +%s)))
	[ $left -lt $limit ] && limit=$left
	if [ $limit -le 60 ]; then
		echo "not ok - boot '$g': no time left in RUN_TIMEOUT=${RUN_TIMEOUT}s"
		fail=$((fail + 1))
		continue
	fi
	log "boot '$g': ${gp[*]} (limit ${limit}s)"
	start=$(date +%s)
	gf=$(group_flavor "$g")
	"$REPO/tests/vm/vm.sh" -f "$gf" -t "$limit" -l "$console" \
		"KO_DIR=$(modules_dir "$gf") STRESS=${STRESS:-0} TIMEOUT_S=$timeout_s tests/vm/guest-run.sh $ktap ${gp[*]}" || true
	log "boot '$g' took $(($(date +%s) - start)) s; console log: $console"

	if [ ! -s "$ktap" ]; then
		echo "not ok - boot '$g': the VM did not boot or wrote no results"
		tail -n 40 "$console" 2>/dev/null | sed 's/^/# console: /'
		fail=$((fail + 1))
		continue
	fi
	count_results "$ktap" "$outdir/results-$g.txt"
	sane=1
	# A boot whose log had a report before the first test (its detectors
	# may have been spent), or a leak found after the last, vouches for
	# none of its passes.
	grep -Eq '^not ok [0-9]+ selftests: rust-dm-rds: boot:' "$ktap" && sane=0
	if ! grep -q '^# guest-done' "$ktap"; then
		echo "not ok - boot '$g': the guest stopped before the end of its tests"
		fail=$((fail + 1)) sane=0
	fi
	if grep -Eq 'Kernel panic|Oops|general protection fault|BUG: unable to handle' "$console"; then
		echo "not ok - boot '$g': the kernel oopsed or panicked"
		grep -E -m5 -A20 'Kernel panic|Oops|general protection fault|BUG: unable to handle' "$console" | sed 's/^/# console: /'
		fail=$((fail + 1)) sane=0
	fi
	# Only a boot that ended well vouches for its passes.
	[ $sane = 1 ] && remember_passed "$ktap" "$g" "${gp[@]}"
done

if [ $skip -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ $fail -eq 0 ]
