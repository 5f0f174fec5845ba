# SPDX-License-Identifier: GPL-2.0
#
#   make check           set up the toolchain and test kernel (first run), build,
#                        run the selftests in QEMU
#   make demo            boot the test VM and show the modules at work
#   make bench           boot the perf test kernel and run the benchmarks
#                        (report in bench/output/report.md)
#   make [KDIR=<tree>]   build the modules (CLIPPY=1 for clippy)
#   make rustfmtcheck    check formatting        make rustfmt: apply it
#   make vm CMD='...'    run CMD in the test VM   make shell: guest shell
#   make toolchain | kernel | kernel-perf | clean
#
# Without KDIR, modules are built against the debug test kernel inside the
# toolchain chroot when it exists, else against the running kernel's build
# tree (the out-of-tree convention). See README.md.

CACHE := $(or $(RUST_DM_RDS_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rust-dm-rds)
TEST_KDIR := /kernel/debug/linux
VM := tests/vm

ifeq ($(origin KDIR),undefined)
ifneq ($(wildcard $(CACHE)/root$(TEST_KDIR)/vmlinux),)
KDIR := $(TEST_KDIR)
IN_CHROOT := $(VM)/chroot.sh
else
KDIR := /lib/modules/$(shell uname -r)/build
endif
endif

KMAKE = $(IN_CHROOT) $(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=1 $(if $(CLIPPY),CLIPPY=1)
RUSTFMT = $(IN_CHROOT) rustfmt --edition 2021 --config-path $(KDIR)/.rustfmt.toml
CRATES := rust_dm_delay.rs rust_rds_ib_addr.rs

.PHONY: modules clean rustfmt rustfmtcheck toolchain kernel kernel-perf \
	check vm shell demo bench

modules:
	$(KMAKE) modules

clean:
	$(KMAKE) clean

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

# The suite always runs against the debug test kernel, built in the chroot.
# The build must be warning- and clippy-clean and rustfmt-formatted.
check: kernel
	$(VM)/build.sh debug
	$(VM)/run-tests.sh

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
