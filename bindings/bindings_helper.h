/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C headers whose APIs the modules use and the kernel crate does not cover.
 * bindgen reads this file at build time; what it emits is allow-listed by
 * the .params files next to it (one per wrapper).
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/inetdevice.h>
#include <linux/kthread.h>
#include <linux/livepatch.h>
#include <linux/netdevice.h>
#include <net/addrconf.h>
#include <net/if_inet6.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>

/* Our own C helpers (rust_dm_delay only). */
#include "dm_delay_helpers.h"
