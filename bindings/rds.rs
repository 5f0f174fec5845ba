// SPDX-License-Identifier: GPL-2.0

//! The local-address check of the RDS/IB transport, as a livepatch target.
//!
//! RDS asks each transport whether it can bind a socket to a local address
//! through `rds_transport::laddr_check` (net/rds/rds.h); the IB transport's
//! is `rds_ib_laddr_check()` in the `rds_rdma` module (net/rds/ib.c):
//!
//! ```c
//! static int rds_ib_laddr_check(struct net *net, const struct in6_addr *addr,
//!                               __u32 scope_id);
//! ```

use super::{
    livepatch::Func,
    net::{In6Addr, Net},
    raw,
};
use kernel::{ffi, prelude::*};

/// The module that holds the RDS/IB transport.
pub(crate) const IB_MODULE: &CStr = c"rds_rdma";

/// A local-address check: `Ok(())` when the transport can bind a socket to
/// `addr` (with `scope_id` for link-local IPv6 addresses) in `net`.
pub(crate) trait LaddrCheck: 'static {
    /// Checks `addr`. It is called in process context with `rds_trans_sem`
    /// held for reading, and may sleep.
    fn laddr_check(net: &Net, addr: In6Addr, scope_id: u32) -> Result;
}

/// The C entry point: `int (*laddr_check)(struct net *, const struct in6_addr *, __u32)`.
///
/// # Safety
///
/// `net` and `addr` must be valid for the duration of the call, as RDS
/// guarantees (net/rds/bind.c, net/rds/transport.c).
unsafe extern "C" fn laddr_check<T: LaddrCheck>(
    net: *mut raw::net,
    addr: *const raw::in6_addr,
    scope_id: u32,
) -> ffi::c_int {
    // SAFETY: Both pointers are valid during the call, as the caller guarantees.
    let (net, addr) = unsafe { (Net::from_raw(net), In6Addr::from_raw(&*addr)) };
    match T::laddr_check(net, addr, scope_id) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Returns the livepatch replacement of `rds_ib_laddr_check()` by `T`.
pub(crate) fn ib_laddr_check<T: LaddrCheck>() -> Func {
    // SAFETY: `laddr_check::<T>` has the C signature of
    // `rds_ib_laddr_check()`, quoted in the module documentation, and lives
    // in the text of the module.
    unsafe { Func::new(c"rds_ib_laddr_check", laddr_check::<T> as *mut ffi::c_void) }
}
