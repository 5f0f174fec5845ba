#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs a command inside the toolchain chroot, with the repository at the
# same path as on the host. All mounts vanish when the command ends.
. "$(dirname "$0")/lib.sh"
in_chroot "$@"
