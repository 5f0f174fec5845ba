// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers for the RDMA core: connection manager IDs and IB clients.
//!
//! C headers: [`include/rdma/rdma_cm.h`], [`include/rdma/ib_verbs.h`].

use super::{
    net::{Net, SockAddr},
    raw,
};
use core::{fmt, marker::PhantomData, ptr, ptr::NonNull};
use kernel::{
    error::{from_err_ptr, to_result},
    ffi,
    prelude::*,
    types::Opaque,
};

/// The length of an RDMA device name buffer (`IB_DEVICE_NAME_MAX`).
const NAME_MAX: usize = 64;

/// An RDMA device (`struct ib_device`).
#[repr(transparent)]
pub(crate) struct Device(Opaque<raw::ib_device>);

impl Device {
    /// Creates a reference to a device from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct ib_device` that stays alive for `'a`.
    unsafe fn from_raw<'a>(ptr: *const raw::ib_device) -> &'a Device {
        // SAFETY: The caller guarantees validity for `'a`; `Device` is transparent.
        unsafe { &*ptr.cast::<Device>() }
    }

    /// Returns the index of the device (`ib_device->index`).
    pub(crate) fn index(&self) -> DeviceIndex {
        // SAFETY: The device is valid; `index` is assigned before the device
        // is registered, before any client or CM ID can see it, and never
        // changes afterwards (a rename keeps it).
        DeviceIndex(unsafe { (*self.0.get()).index })
    }

    /// Returns whether the device is an InfiniBand channel adapter
    /// (`RDMA_NODE_IB_CA`), as RDMA over Converged Ethernet devices are too.
    pub(crate) fn is_ib_ca(&self) -> bool {
        // SAFETY: The device is valid; `node_type` is set before registration
        // and never changes.
        let node_type = unsafe { (*self.0.get()).node_type };
        u32::from(node_type) == raw::RDMA_NODE_IB_CA
    }

    /// Returns a copy of the device name.
    pub(crate) fn name(&self) -> DeviceName {
        // SAFETY: The device is valid. A concurrent rename can change the
        // bytes, which is why they are copied with a volatile read; the
        // buffer always holds a NUL within its bounds.
        let name = unsafe { ptr::read_volatile(&raw const (*self.0.get()).name) };
        DeviceName(name)
    }
}

/// The index of an RDMA device, its stable identity.
///
/// The RDMA core assigns it at registration with `xa_alloc_cyclic()` over
/// 31 bits (`assign_name()` in drivers/infiniband/core/device.c): the next
/// device gets the next free index after the last one given, so an index
/// comes back only after 2^31 further registrations, long after the device
/// that held it was freed. Unlike the address of the `struct ib_device`,
/// which the allocator may hand to the very next device, an index does not
/// name two devices in a row.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceIndex(u32);

impl fmt::Display for DeviceIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A copy of the name of an RDMA device.
#[derive(Clone, Copy)]
pub(crate) struct DeviceName([u8; NAME_MAX]);

impl fmt::Display for DeviceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.0.iter().position(|&c| c == 0).unwrap_or(NAME_MAX);
        match core::str::from_utf8(&self.0[..len]) {
            Ok(name) => f.write_str(name),
            Err(_) => f.write_str("?"),
        }
    }
}

/// The event handler of our IDs: they are only bound, never connected, so
/// no event concerns them. Returning 0 keeps the ID alive.
///
/// # Safety
///
/// Only the RDMA CM may call it, for an ID of [`CmId`].
unsafe extern "C" fn ignore_event(
    _id: *mut raw::rdma_cm_id,
    _event: *mut raw::rdma_cm_event,
) -> ffi::c_int {
    0
}

/// An RDMA connection manager ID of the kernel, destroyed on drop.
///
/// # Invariants
///
/// `self.0` points to an ID returned by `__rdma_create_kernel_id()` and not yet destroyed.
pub(crate) struct CmId(NonNull<raw::rdma_cm_id>);

impl CmId {
    /// Creates an ID in `net` for the TCP port space and reliable-connected
    /// queue pairs, as `rdma_create_id(net, handler, NULL, RDMA_PS_TCP,
    /// IB_QPT_RC)` does. `caller` names the owner in the RDMA resource tracker.
    pub(crate) fn new(net: &Net, caller: &'static CStr) -> Result<Self> {
        // SAFETY: `net` is valid, the handler matches the C type and lives in
        // module text, and `caller` is a static NUL-terminated string.
        let id = unsafe {
            raw::__rdma_create_kernel_id(
                net.as_ptr(),
                Some(ignore_event),
                ptr::null_mut(),
                raw::rdma_ucm_port_space_RDMA_PS_TCP,
                raw::ib_qp_type_IB_QPT_RC,
                caller.as_char_ptr(),
            )
        };
        let id = NonNull::new(from_err_ptr(id)?).ok_or(ENOMEM)?;
        // INVARIANT: `id` was just created.
        Ok(Self(id))
    }

    /// Binds the ID to a local address (`rdma_bind_addr()`).
    pub(crate) fn bind_addr(&mut self, addr: &mut SockAddr) -> Result {
        // SAFETY: The ID is valid by the type invariant and `addr` is a valid
        // socket address for the duration of the call.
        to_result(unsafe { raw::rdma_bind_addr(self.0.as_ptr(), addr.as_raw()) })
    }

    /// Returns the RDMA device the ID is bound to, if any.
    ///
    /// The device cannot be freed while the reference lives: an ID attached
    /// to a device holds a reference on rdma_cm's `cma_device`, and rdma_cm's
    /// remove callback waits for all of them (`cma_process_remove()` in
    /// drivers/infiniband/core/cma.c) before the unregistration of the device
    /// can go on. The reference borrows `self`, so the ID outlives it.
    pub(crate) fn device(&self) -> Option<&Device> {
        // SAFETY: The ID is valid by the type invariant.
        let dev = unsafe { (*self.0.as_ptr()).device };
        // SAFETY: A bound ID holds its device until the ID is destroyed (see
        // above), which cannot happen while `self` is borrowed.
        (!dev.is_null()).then(|| unsafe { Device::from_raw(dev) })
    }

    /// Returns the index of the network device the bound address was found on.
    pub(crate) fn bound_ifindex(&self) -> i32 {
        // SAFETY: The ID is valid by the type invariant.
        unsafe { (*self.0.as_ptr()).route.addr.dev_addr.bound_dev_if }
    }
}

impl Drop for CmId {
    fn drop(&mut self) {
        // SAFETY: The ID is valid by the type invariant and not used again.
        unsafe { raw::rdma_destroy_id(self.0.as_ptr()) };
    }
}

/// Receives RDMA device arrivals and removals.
///
/// The callbacks run in process context.
pub(crate) trait ClientHandler: 'static {
    /// Called for each device present at registration and for each new one.
    fn add(dev: &Device);

    /// Called when a device goes away. The device stays valid during the call.
    fn remove(dev: &Device);
}

/// The `add` callback of [`Client`].
///
/// # Safety
///
/// Only the RDMA core may call it, with a valid device.
unsafe extern "C" fn client_add<T: ClientHandler>(dev: *mut raw::ib_device) -> ffi::c_int {
    // SAFETY: The RDMA core passes a device that is valid during the call.
    T::add(unsafe { Device::from_raw(dev) });
    0
}

/// The `remove` callback of [`Client`].
///
/// # Safety
///
/// Only the RDMA core may call it, with a valid device.
unsafe extern "C" fn client_remove<T: ClientHandler>(
    dev: *mut raw::ib_device,
    _client_data: *mut ffi::c_void,
) {
    // SAFETY: The RDMA core passes a device that is valid during the call.
    T::remove(unsafe { Device::from_raw(dev) });
}

/// A registered IB client (`struct ib_client`), unregistered on drop.
///
/// # Invariants
///
/// `client` is registered from initialisation until drop.
#[pin_data(PinnedDrop)]
pub(crate) struct Client<T: ClientHandler> {
    #[pin]
    client: Opaque<raw::ib_client>,
    _handler: PhantomData<T>,
}

// SAFETY: The client structure is only used by the RDMA core, which
// synchronises its own accesses; the type holds no other data.
unsafe impl<T: ClientHandler> Send for Client<T> {}
// SAFETY: See `Send`; no method gives access to the structure.
unsafe impl<T: ClientHandler> Sync for Client<T> {}

impl<T: ClientHandler> Client<T> {
    /// Registers a client named `name` (`ib_register_client()`). The core
    /// calls [`ClientHandler::add`] for the devices already present before
    /// this returns.
    pub(crate) fn register(name: &'static CStr) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            client <- Opaque::try_ffi_init(move |client: *mut raw::ib_client| {
                let value = raw::ib_client {
                    name: name.as_char_ptr(),
                    add: Some(client_add::<T>),
                    remove: Some(client_remove::<T>),
                    ..Default::default()
                };
                // SAFETY: `client` is valid for writes and pinned: it is the
                // final place of the field, which is only dropped through
                // `PinnedDrop`, after unregistering.
                to_result(unsafe {
                    client.write(value);
                    raw::ib_register_client(client)
                })
            }),
            _handler: PhantomData,
        })
    }
}

#[pinned_drop]
impl<T: ClientHandler> PinnedDrop for Client<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant the client is registered. This waits
        // until the remove callbacks have returned.
        unsafe { raw::ib_unregister_client(self.client.get()) };
    }
}
