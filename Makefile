# SPDX-License-Identifier: GPL-2.0
#
#   make check           set up the toolchain and test kernel (first run), build,
#                        run the selftests in QEMU
#   make demo            boot the test VM and show the modules at work
#   make bench           boot the perf test kernel and run the benchmarks
#                        (report in bench/output/report.md)
#   make bench-stock     the same on Debian's stock kernel image
#   make bench-hz1000    the same on the perf kernel at HZ=1000
#   make [KDIR=<tree>]   build the modules (CLIPPY=1 for clippy)
#   make install | uninstall [KDIR=<tree>]   install the built modules into
#                        that kernel's updates/ with a modprobe configuration
#                        that makes dm's 'delay' autoload pick rust_dm_delay
#   make check-stock     the whole suite on Debian's own kernel image
#   make rustfmtcheck    check formatting        make rustfmt: apply it
#   make vm CMD='...'    run CMD in the test VM   make shell: guest shell
#   make toolchain | kernel | kernel-perf | kernel-perf-hz1000 | clean
#
# Without KDIR, modules are built against the debug test kernel inside the
# toolchain chroot when it exists, else against the running kernel's build
# tree (the out-of-tree convention); install and uninstall always use the
# latter. scripts/kmake.sh prepares the Rust metadata a distribution's
# headers lack, and picks the kernel's compiler. See README.md.

CACHE := $(or $(RUST_DM_RDS_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rust-dm-rds)
TEST_KDIR := /kernel/debug/linux
VM := tests/vm

HOST_KDIR := /lib/modules/$(shell uname -r)/build
ifeq ($(origin KDIR),undefined)
ifneq ($(wildcard $(CACHE)/root$(TEST_KDIR)/vmlinux),)
KDIR := $(TEST_KDIR)
IN_CHROOT := $(VM)/chroot.sh
else
KDIR := $(HOST_KDIR)
endif
INSTALL_KDIR := $(HOST_KDIR)
else
INSTALL_KDIR := $(KDIR)
endif

KMAKE = $(IN_CHROOT) scripts/kmake.sh $(KDIR)
RUSTFMT = $(IN_CHROOT) rustfmt --edition 2021 --config-path $(KDIR)/.rustfmt.toml
CRATES := rust_dm_delay_main.rs rust_rds_ib_addr.rs
MODPROBE_CONF := /etc/modprobe.d/rust-dm-rds.conf

.PHONY: modules clean install uninstall rustfmt rustfmtcheck toolchain \
	kernel kernel-perf kernel-perf-hz1000 kernel-stock check check-stock stress vm shell demo bench bench-hz1000 bench-stock

modules:
	$(KMAKE) modules $(if $(CLIPPY),CLIPPY=1)

clean:
	$(KMAKE) clean

# Installs what 'make' built for INSTALL_KDIR's kernel. Kbuild skips depmod
# when the tree has no System.map (headers packages have none): run it here.
INSTALL_REL = $$(cat $(INSTALL_KDIR)/include/config/kernel.release)
DEPMOD = depmod $(if $(DESTDIR),-b $(DESTDIR)) $(INSTALL_REL)

install:
	scripts/kmake.sh $(INSTALL_KDIR) modules_install $(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR))
	mkdir -p $(dir $(DESTDIR)$(MODPROBE_CONF))
	printf '%s\n' '# rust-dm-rds (make install): dm loads "dm-delay" for a delay table.' \
		'alias dm-delay rust_dm_delay' >$(DESTDIR)$(MODPROBE_CONF)
	$(DEPMOD)

uninstall:
	rm -f $(DESTDIR)/lib/modules/$(INSTALL_REL)/updates/rust_dm_delay.ko* \
		$(DESTDIR)/lib/modules/$(INSTALL_REL)/updates/rust_rds_ib_addr.ko* \
		$(DESTDIR)$(MODPROBE_CONF)
	$(DEPMOD)

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

# The suite always runs against the debug test kernel, built in the chroot.
# The build must be warning- and clippy-clean and rustfmt-formatted.
# The stock boot group runs a slice of it on Debian's own kernel image.
check: kernel kernel-stock
	$(VM)/build.sh debug
	$(VM)/build.sh stock
	$(VM)/run-tests.sh

# The stress programs at their full counts (tests/Makefile: STRESS_PROGS).
stress: kernel
	$(VM)/build.sh debug
	STRESS=1 $(VM)/run-tests.sh

check-stock: kernel-stock
	$(VM)/build.sh stock
	$(VM)/run-tests.sh -f stock

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

# The same benchmarks on Debian's own kernel image (HZ=250, no debugging).
bench-stock: kernel-stock
	BENCH_FLAVOR=stock tests/bench/run.sh
