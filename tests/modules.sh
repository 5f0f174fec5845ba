#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: main
#
# Both modules load and unload cleanly, and a module built for another
# kernel (its vermagic changed) is refused with ENOEXEC and a clear dmesg
# line, leaving nothing loaded.

. "$(dirname "$0")/lib.sh"

MODULES=(rust_dm_delay rust_rds_ib_addr)

ktap_print_header
ktap_set_plan $((${#MODULES[@]} * 4 + 1))

loaded() { grep -q "^$1 " /proc/modules; }
not_loaded() { ! loaded "$1"; }

# Loads a module with finit_module(2) and prints the errno name (or OK).
load_errno() {
	python3 - "$1" <<'PY'
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
SYS_finit_module = 313  # x86_64
fd = os.open(sys.argv[1], os.O_RDONLY)
ret = libc.syscall(SYS_finit_module, fd, b"", 0)
print("OK" if ret == 0 else errno.errorcode[ctypes.get_errno()])
PY
}

# Changes the module's vermagic (same length, so the ELF layout holds) and
# writes the result to $2.
forge_vermagic() {
	python3 - "$1" "$2" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
key = b"vermagic="
i = data.index(key) + len(key)
j = data.index(b" ", i)
release = data[i:j]
forged = b"0.0.0" + b"x" * (len(release) - 5) if len(release) >= 5 else b"0" * len(release)
open(sys.argv[2], "wb").write(data[:i] + forged + data[j:])
PY
}

for m in "${MODULES[@]}"; do
	ko=$KO_DIR/$m.ko
	mod_remove "$m"

	# insmod does not resolve dependencies (rdma_cm, ib_core for RDS).
	for dep in $(modinfo -F depends "$ko" | tr , ' '); do
		modprobe "$dep"
	done
	check "$m: insmod succeeds" insmod "$ko"
	check "$m: listed in /proc/modules after insmod" loaded "$m"
	mod_remove "$m"
	check "$m: gone after unload" not_loaded "$m"

	bad=/tmp/$m-badmagic.ko
	forge_vermagic "$ko" "$bad"
	err=$(load_errno "$bad")
	if [ "$err" = ENOEXEC ] &&
		dmesg_since_mark | grep -q "$m: version magic" && not_loaded "$m"; then
		ktap_test_pass "$m: wrong vermagic refused with ENOEXEC and a dmesg line"
	else
		ktap_print_msg "finit_module: $err"
		ktap_test_fail "$m: wrong vermagic refused with ENOEXEC and a dmesg line"
	fi
	rm -f "$bad"
done

check "kernel log clean (no WARN/BUG/KASAN/kmemleak/lockdep naming our modules)" dmesg_clean
ktap_finished
