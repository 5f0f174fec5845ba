# SPDX-License-Identifier: GPL-2.0
#
# For the running kernel, or the kernel build tree KDIR:
#
#   make [KDIR=<tree>]          build both modules (CLIPPY=1 for clippy)
#   make install | uninstall    install into that kernel's updates/, with
#                               the modprobe configuration (README.md)
#   make dkms-install           register the sources with DKMS and build
#                               them for the running kernel
#   make dkms-uninstall         remove them from DKMS and every kernel
#   make clean | rustfmt | rustfmtcheck
#
# RUSTC, BINDGEN, HOSTRUSTC, CC, HOSTCC and LLVM, given here or in the
# environment, reach Kbuild. scripts/kmake.sh prepares the Rust metadata a
# distribution's headers lack, and checks the kernel's rustc.
#
# The project's own tests (root; the toolchain and test kernels live in
# ${RUST_DM_RDS_CACHE:-~/.cache/rust-dm-rds}, tests/README.md):
#
#   make check           set up the toolchain and kernels (first run), build
#                        for each, run the selftests in QEMU
#   make check-stock     the whole suite on Debian's own kernel image
#   make stress          the long tests at their full counts
#   make test-modules    build for the debug test kernel: clippy, W=1,
#                        rustfmt (in tests/output/modules-debug)
#   make bench | bench-stock | bench-rt | bench-hz1000   benchmarks
#   make vm CMD='...' | shell | demo
#   make toolchain | kernel | kernel-perf | kernel-perf-hz1000 | kernel-stock

KDIR ?= /lib/modules/$(shell uname -r)/build
VM := tests/vm
CRATES := rust_dm_delay_main.rs rust_rds_ib_addr.rs
KMAKE := scripts/kmake.sh $(KDIR)

.PHONY: modules clean install uninstall sources dkms-install dkms-uninstall rustfmt rustfmtcheck \
	toolchain kernel kernel-perf kernel-perf-hz1000 kernel-stock test-modules \
	check check-stock stress vm shell demo bench bench-hz1000 bench-stock bench-rt

modules:
	$(KMAKE) modules

clean:
	$(if $(wildcard $(KDIR)/.config),$(KMAKE) clean,rm -f *.o *.ko *.mod *.mod.c .*.cmd \
		bindings/*.o bindings/.*.cmd bindings/bindings_generated.rs modules.order Module.symvers)

# Installing: the modules (kmake.sh refuses any not built for KDIR's kernel),
# then the machine-wide files, which serve every kernel that has the modules:
# - modprobe.d: device-mapper asks modprobe for "dm-delay" when a table names
#   the delay target; this loads rust_dm_delay where the kernel has it, and
#   the C dm_delay where it does not;
# - a kernel postrm hook that drops the Rust metadata prepared for a kernel
#   once the kernel is removed.
# Uninstalling removes the machine-wide files with the last kernel's modules.
REL = $$(cat $(KDIR)/include/config/kernel.release)
MODPROBE_CONF := $(DESTDIR)/etc/modprobe.d/rust-dm-rds.conf
POSTRM_HOOK := $(DESTDIR)/etc/kernel/postrm.d/rust-dm-rds
DEPMOD = depmod $(if $(DESTDIR),-b $(DESTDIR)) $(REL)
define machine_files
	mkdir -p $(dir $(MODPROBE_CONF)) $(dir $(POSTRM_HOOK))
	printf '%s\n' '# rust-dm-rds: the delay target is rust_dm_delay where this kernel has it.' \
		'install dm_delay /sbin/modprobe --ignore-install rust_dm_delay $$CMDLINE_OPTS || /sbin/modprobe --ignore-install dm_delay $$CMDLINE_OPTS' \
		>$(MODPROBE_CONF)
	printf '%s\n' '#!/bin/sh' '# rust-dm-rds: drop the Rust metadata prepared for a removed kernel.' \
		'[ -n "$$1" ] && rm -rf /var/cache/rust-dm-rds/kdir/"$$1"-*' 'exit 0' >$(POSTRM_HOOK)
	chmod 755 $(POSTRM_HOOK)
endef
define drop_machine_files
	if [ -z "$$(find $(DESTDIR)/lib/modules/*/updates -name 'rust_dm_delay.ko*' 2>/dev/null)" ]; then \
		rm -f $(MODPROBE_CONF) $(POSTRM_HOOK); \
		[ ! -d $(dir $(POSTRM_HOOK)) ] || rmdir --ignore-fail-on-non-empty $(dir $(POSTRM_HOOK)); fi
endef

install:
	$(KMAKE) modules_install $(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR))
	$(machine_files)
	$(DEPMOD)

uninstall:
	rm -f $(DESTDIR)/lib/modules/$(REL)/updates/rust_dm_delay.ko* \
		$(DESTDIR)/lib/modules/$(REL)/updates/rust_rds_ib_addr.ko*
	$(DEPMOD)
	$(drop_machine_files)

# DKMS builds from a copy of the module sources alone in /usr/src; its
# AUTOINSTALL rebuilds them for every kernel installed later.
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)
DKMS_SRC := $(DESTDIR)/usr/src/rust-dm-rds-$(DKMS_VERSION)
SOURCES := Kbuild Makefile dkms.conf COPYING $(CRATES) scripts/kmake.sh \
	$(filter-out bindings/bindings_generated.rs,$(wildcard bindings/*.rs)) \
	$(wildcard bindings/*.c bindings/*.h bindings/*.params)
DKMS_REGISTERED = dkms status -m rust-dm-rds -v $(DKMS_VERSION) | grep -q .

# The module sources alone (with their times), into directory TO.
sources:
	mkdir -p $(TO)
	cp -p --parents $(SOURCES) $(TO)/

dkms-install:
	@command -v dkms >/dev/null || { echo "dkms is not installed (Debian: apt install dkms)" >&2; exit 1; }
	@! $(DKMS_REGISTERED) || { echo "rust-dm-rds $(DKMS_VERSION) is in DKMS already: 'make dkms-uninstall' first" >&2; exit 1; }
	rm -rf $(DKMS_SRC)
	$(MAKE) -s sources TO=$(DKMS_SRC)
	dkms add -m rust-dm-rds -v $(DKMS_VERSION)
	$(machine_files)
	dkms autoinstall

dkms-uninstall:
	! $(DKMS_REGISTERED) || dkms remove -m rust-dm-rds -v $(DKMS_VERSION) --all
	rm -rf $(DKMS_SRC)
	$(drop_machine_files)
	scripts/kmake.sh --forget

RUSTFMT = rustfmt --edition 2021 $(addprefix --config-path ,$(wildcard $(KDIR)/.rustfmt.toml))

rustfmt:
	$(RUSTFMT) $(CRATES)

rustfmtcheck:
	$(RUSTFMT) --check $(CRATES)

toolchain:
	$(VM)/toolchain.sh

kernel: toolchain
	$(VM)/kernel.sh debug

kernel-perf: toolchain
	$(VM)/kernel.sh perf

kernel-perf-hz1000: toolchain
	$(VM)/kernel.sh perf-hz1000

kernel-stock: toolchain
	$(VM)/stock.sh

test-modules: kernel
	$(VM)/build.sh debug

# The suite runs on the debug test kernel (groups main and rds), and a
# slice of it on each of Debian's Rust kernels (tests/Makefile).
check: kernel kernel-stock
	$(VM)/build.sh debug
	$(VM)/build.sh stock
	$(VM)/run-tests.sh

# The stress programs at their full counts (tests/Makefile: STRESS_PROGS).
stress: kernel
	$(VM)/build.sh debug
	STRESS=1 $(VM)/run-tests.sh

# The whole suite on Debian's amd64 kernel, and the DKMS round trip.
check-stock: kernel-stock
	$(VM)/build.sh stock
	RUN_TIMEOUT=$${RUN_TIMEOUT:-5400} $(VM)/run-tests.sh -f stock

vm:
	$(VM)/vm.sh '$(subst ','\'',$(CMD))'

shell:
	$(VM)/vm.sh

demo: kernel
	$(VM)/build.sh debug
	$(VM)/vm.sh tests/demo.sh

# The benchmarks run on the perf kernel (no lock or memory debugging); the
# modules are built for it in bench/output/, the top-level .ko stay as is.
bench: kernel-perf
	tests/bench/run.sh

# The same benchmarks at HZ=1000, where the C target's jiffy is 1 ms.
bench-hz1000: kernel-perf-hz1000
	BENCH_FLAVOR=perf-hz1000 tests/bench/run.sh

# The same benchmarks on Debian's own kernel images (HZ=250, no debugging).
bench-stock: kernel-stock
	BENCH_FLAVOR=stock tests/bench/run.sh

bench-rt: kernel-stock
	BENCH_FLAVOR=stock-rt tests/bench/run.sh
