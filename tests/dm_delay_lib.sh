# SPDX-License-Identifier: GPL-2.0
# Shared helpers of the dm_delay_*.sh selftests (sourced, not run). Sources
# lib.sh, and adds:
#   DMS              dmsetup without udev synchronisation; udev is stopped,
#                    and libdevmapper creates the /dev/mapper nodes itself
#   mkloop MIB       prints a new loop device backed by a tmpfs file
#   devno DEV        prints DEV's major:minor
#   sectors DEV      prints DEV's size in 512-byte sectors
#   dmsys NAME       prints the sysfs directory of dm device NAME
#   dm_create NAME LEN ARGS...  creates NAME with one delay target of LEN
#                    sectors; fails if dmsetup does
#   dm_remove NAME   removes NAME if it exists
#   load_rust        loads rust_dm_delay (unloading the C dm_delay first)
#   wait_status NAME FIELDS VALUE  waits until those status fields read VALUE
#   held_devs DEV... sets HELD to those of DEV... that dm holds
#   fio_verify_start DEV JOBS [FIO_OPTION...]  starts fio on DEV in the
#                    background: JOBS jobs x iodepth 8 of random 4 KiB
#                    writes, each 1 MiB apart from 1 MiB on, verified by
#                    crc32c as they go
#   fio_verify_stop [NAME]  stops it (first handing down the bios waiting in
#                    dm device NAME by a suspend, so that fio need not wait
#                    out their delays); true when no I/O or verify error
#                    stopped it
#   cut_modules REL  mounts over /lib/modules/REL a copy cut down to dm
#   autoload DEV     creates a delay table over DEV with no delay module
#                    loaded, so that dm loads one; prints which one
#   dmd_cleanup      removes our dm devices, loop devices, mounts and tmpfs
# Every test file calls dmd_cleanup on exit (a trap is set here).

. "$(dirname "$0")/lib.sh"

# Distribution kernels build dm and loop as modules, and the guest has no
# udev to load them for /dev/mapper/control and /dev/loop-control.
modprobe -q dm_mod 2>/dev/null || true
modprobe -q loop 2>/dev/null || true

# udev would probe every new device through the delay, and hold it open
# while it does, and dmsetup would wait on it: with delays of 100 ms and
# more, 'dmsetup create' did not return within minutes.
udevadm control --exit >/dev/null 2>&1 || true
export DM_DISABLE_UDEV=1
DMS="dmsetup --noudevsync"

DMD_WORK=$(mktemp -d /tmp/dm_delay.XXXXXX)
mount -t tmpfs -o size=512m dm_delay_test "$DMD_WORK"
DMD_LOOPS=()
DMD_NAMES=()
DMD_MOUNTS=()

mkloop() {
	local f dev
	f=$(mktemp "$DMD_WORK/loop.XXXXXX")
	truncate -s "${1}M" "$f"
	dev=$(losetup -f --show "$f") || return 1
	DMD_LOOPS+=("$dev")
	echo "$dev"
}

devno() {
	cat "/sys/class/block/$(basename "$(readlink -f "$1")")/dev"
}

sectors() {
	blockdev --getsz "$1"
}

dmsys() {
	echo "/sys/dev/block/$($DMS info -c --noheadings -o major,minor --separator : "$1")"
}

dm_create() {
	local name=$1 len=$2
	shift 2
	DMD_NAMES+=("$name")
	echo "0 $len delay $*" | $DMS create "$name" 2>&1 &&
		$DMS mknodes "$name" >/dev/null 2>&1
}

dm_remove() {
	$DMS info "$1" >/dev/null 2>&1 || return 0
	$DMS remove --retry "$1" >/dev/null 2>&1
}

load_rust() {
	mod_unload dm_delay
	grep -q '^rust_dm_delay ' /proc/modules || insmod "$KO_DIR/rust_dm_delay.ko"
}

# Waits (10 s at most) until fields FIELDS (cut -f syntax) of the status
# line of dm device NAME read VALUE; false if they never do.
wait_status() {
	local i
	for i in $(seq 50); do
		[ "$($DMS status "$1" | cut -d' ' -f"$2")" = "$3" ] && return 0
		sleep 0.2
	done
	return 1
}

# Sets HELD to those of the devices DEV... that dm still holds (they have
# holders), by shell globbing alone: no process is started.
held_devs() {
	local d h
	HELD=
	for d in "$@"; do
		h=(/sys/class/block/"${d##*/}"/holders/*)
		[ -e "${h[0]}" ] && HELD+="$d "
	done
	return 0
}

fio_verify_start() {
	FIO_JOBS=$2
	fio --name=verify --filename="$1" --direct=1 --ioengine=libaio --thread --iodepth=8 \
		"${@:3}" --numjobs="$2" --rw=randwrite --bs=4k --offset=1m --size=1m --offset_increment=1m \
		--verify=crc32c --verify_backlog=16 --verify_fatal=1 --time_based --runtime=3600 \
		--group_reporting --output="$DMD_WORK/fio.log" >/dev/null 2>&1 &
	FIO_PID=$!
}

# fio exits non-zero on SIGINT; its job line says "err= 0:" when no I/O or
# verify error stopped it (a bad block is "err=84", EILSEQ).
fio_verify_stop() {
	kill -INT "$FIO_PID" 2>/dev/null
	[ -z "${1:-}" ] || { $DMS suspend "$1" && $DMS resume "$1"; }
	wait "$FIO_PID"
	grep -q "jobs=$FIO_JOBS): err= 0:" "$DMD_WORK/fio.log" &&
		! grep -qi "verify.*bad\|verify failed" "$DMD_WORK/fio.log" && return 0
	sed 's/^/# fio: /' "$DMD_WORK/fio.log" | tail -n 20
	return 1
}

# The guest reads /lib/modules over 9p, where depmod over Debian's 4,000
# modules did not finish in 13 minutes under TCG. The copy holds the
# kernel's drivers/md, index files and build link: install, depmod,
# modprobe, DKMS and dm's autoload work on it exactly as on the full tree.
cut_modules() {
	local mods=/lib/modules/$1 cut=$DMD_WORK/modules-$1
	mkdir -p "$cut/kernel/drivers"
	cp -a "$mods"/modules.order "$mods"/modules.builtin* "$mods"/build "$cut/" &&
		cp -a "$mods/kernel/drivers/md" "$cut/kernel/drivers/" &&
		mount --bind "$cut" "$mods" && DMD_MOUNTS+=("$mods") && depmod -a "$1"
}

autoload() {
	mod_remove rust_dm_delay
	mod_remove dm_delay
	echo "0 8 delay $1 0 1" | $DMS create dmd_autoload >/dev/null 2>&1 || {
		echo "create-failed"
		return
	}
	dm_remove dmd_autoload
	if loaded rust_dm_delay && ! loaded dm_delay; then
		echo rust_dm_delay
	elif loaded dm_delay && ! loaded rust_dm_delay; then
		echo dm_delay
	else
		echo "neither"
	fi
}
loaded() { grep -q "^$1 " /proc/modules; }

dmd_cleanup() {
	local n l
	for n in "${DMD_NAMES[@]}"; do
		dm_remove "$n"
	done
	for n in "${DMD_MOUNTS[@]}"; do
		umount "$n"
	done
	DMD_MOUNTS=()
	for l in "${DMD_LOOPS[@]}"; do
		losetup -d "$l" 2>/dev/null
	done
	DMD_LOOPS=()
	DMD_NAMES=()
	umount "$DMD_WORK" 2>/dev/null && rmdir "$DMD_WORK"
	mod_unload rust_dm_delay 2>/dev/null
	true
}
trap dmd_cleanup EXIT
