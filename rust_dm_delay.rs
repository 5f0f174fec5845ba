// SPDX-License-Identifier: GPL-2.0

//! A device-mapper `delay` target with microsecond accuracy.
//!
//! The target keeps the table syntax of the kernel's C `delay` target
//! (drivers/md/dm-delay.c).

use kernel::prelude::*;

module! {
    type: RustDmDelay,
    name: "rust_dm_delay",
    authors: ["rust-dm-rds developers"],
    description: "device-mapper delay target in Rust",
    license: "GPL",
}

/// The module state.
struct RustDmDelay;

impl kernel::Module for RustDmDelay {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("loaded\n");
        Ok(RustDmDelay)
    }
}

impl Drop for RustDmDelay {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
