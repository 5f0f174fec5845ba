#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot-group: rds
#
# Bind counting with fast_path=0, the legacy behaviour: see rds_bind_count.sh.

FAST_PATH=0 exec "$(dirname "$0")/rds_bind_count.sh"
