// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers for the parts of the networking core that the kernel crate
//! does not cover: network namespaces, IPv6 addresses, socket addresses, and
//! the netdevice, inetaddr and inet6addr notifier chains.
//!
//! C headers: [`include/linux/netdevice.h`], [`include/linux/inetdevice.h`],
//! [`include/net/addrconf.h`], [`include/net/if_inet6.h`].

use super::raw;
use core::{fmt, marker::PhantomData, ptr};
use kernel::{error::to_result, ffi, prelude::*, sync::rcu, types::Opaque};

/// A network namespace (`struct net`).
#[repr(transparent)]
pub(crate) struct Net(Opaque<raw::net>);

impl Net {
    /// Returns the initial network namespace (`init_net`).
    pub(crate) fn init() -> &'static Net {
        // SAFETY: `init_net` is a static of the core kernel that is never freed,
        // and `Net` is a transparent wrapper of `struct net`.
        unsafe { &*(&raw const raw::init_net).cast::<Net>() }
    }

    /// Creates a reference to a namespace from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct net` that stays alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *const raw::net) -> &'a Net {
        // SAFETY: The caller guarantees validity for `'a`; `Net` is transparent.
        unsafe { &*ptr.cast::<Net>() }
    }

    /// Returns the raw pointer to the namespace.
    pub(crate) fn as_ptr(&self) -> *mut raw::net {
        self.0.get()
    }

    /// Returns whether this is the initial network namespace (`net_eq(net, &init_net)`).
    pub(crate) fn is_init(&self) -> bool {
        ptr::eq(self, Net::init())
    }
}

/// Error codes of the networking core that `kernel::error::code` lacks.
pub(crate) mod code {
    use super::raw;
    use kernel::error::Error;

    /// Returns `EADDRNOTAVAIL`: the address cannot be bound.
    pub(crate) fn eaddrnotavail() -> Error {
        Error::from_errno(-(raw::EADDRNOTAVAIL as i32))
    }

    /// Returns `EPROTOTYPE`: the protocol does not serve this socket.
    pub(crate) fn eprototype() -> Error {
        Error::from_errno(-(raw::EPROTOTYPE as i32))
    }
}

/// An IPv6 address in network byte order.
///
/// IPv4 addresses are held in their v4-mapped form (`::ffff:a.b.c.d`), the
/// way RDS holds them.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct In6Addr(pub(crate) [u8; 16]);

impl In6Addr {
    /// Copies an address out of a `struct in6_addr`.
    pub(crate) fn from_raw(addr: &raw::in6_addr) -> Self {
        // SAFETY: All members of the union are plain views of the same 16
        // bytes, so every bit pattern is a valid byte array.
        Self(unsafe { addr.in6_u.u6_addr8 })
    }

    fn to_raw(self) -> raw::in6_addr {
        raw::in6_addr {
            in6_u: raw::in6_addr__bindgen_ty_1 { u6_addr8: self.0 },
        }
    }

    /// Returns the v4-mapped form of an IPv4 address given in network byte order.
    pub(crate) fn from_v4(addr: [u8; 4]) -> Self {
        let mut a = [0u8; 16];
        a[10] = 0xff;
        a[11] = 0xff;
        a[12..].copy_from_slice(&addr);
        Self(a)
    }

    /// Returns the IPv4 address if this is a v4-mapped address (`ipv6_addr_v4mapped()`).
    pub(crate) fn to_v4(self) -> Option<[u8; 4]> {
        let prefix = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
        if self.0[..12] == prefix {
            Some([self.0[12], self.0[13], self.0[14], self.0[15]])
        } else {
            None
        }
    }

    /// Returns whether the address has link-local scope, by the kernel's own
    /// classification (`ipv6_addr_type(addr) & IPV6_ADDR_LINKLOCAL`).
    pub(crate) fn is_link_local(self) -> bool {
        let addr = self.to_raw();
        // SAFETY: `__ipv6_addr_type()` only reads the address it is given.
        let ty = unsafe { raw::__ipv6_addr_type(&addr) } as u32;
        ty & raw::IPV6_ADDR_LINKLOCAL != 0
    }
}

impl fmt::Display for In6Addr {
    /// Formats IPv4 addresses in dotted quads and IPv6 addresses in the
    /// compressed form of RFC 5952.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some([a, b, c, d]) = self.to_v4() {
            return write!(f, "{a}.{b}.{c}.{d}");
        }
        let words: [u16; 8] =
            core::array::from_fn(|i| u16::from_be_bytes([self.0[2 * i], self.0[2 * i + 1]]));
        // The longest run of at least two zero words is written as "::".
        let (mut best, mut best_len, mut run) = (0, 0, 0);
        for (i, w) in words.iter().enumerate() {
            run = if *w == 0 { run + 1 } else { 0 };
            if run > best_len {
                best = i + 1 - run;
                best_len = run;
            }
        }
        if best_len < 2 {
            best_len = 0;
            best = 8;
        }
        for (i, w) in words.iter().enumerate() {
            if i == best {
                write!(f, "::")?;
            } else if i > best && i < best + best_len {
                continue;
            } else {
                if i != 0 && i != best + best_len {
                    write!(f, ":")?;
                }
                write!(f, "{w:x}")?;
            }
        }
        Ok(())
    }
}

/// A socket address to bind to: a `struct sockaddr_in` or `struct sockaddr_in6`.
pub(crate) enum SockAddr {
    /// An IPv4 address.
    V4(raw::sockaddr_in),
    /// An IPv6 address with its scope.
    V6(raw::sockaddr_in6),
}

impl SockAddr {
    /// Builds an `AF_INET` address with port 0 from an address in network byte order.
    pub(crate) fn v4(addr: [u8; 4]) -> Self {
        Self::V4(raw::sockaddr_in {
            sin_family: raw::AF_INET as raw::__kernel_sa_family_t,
            sin_addr: raw::in_addr {
                s_addr: u32::from_ne_bytes(addr),
            },
            ..Default::default()
        })
    }

    /// Builds an `AF_INET6` address with port 0.
    pub(crate) fn v6(addr: In6Addr, scope_id: u32) -> Self {
        Self::V6(raw::sockaddr_in6 {
            sin6_family: raw::AF_INET6 as raw::__kernel_sa_family_t,
            sin6_addr: addr.to_raw(),
            sin6_scope_id: scope_id,
            ..Default::default()
        })
    }

    /// Returns a pointer to the address as a `struct sockaddr`.
    pub(crate) fn as_raw(&mut self) -> *mut raw::sockaddr {
        match self {
            Self::V4(sin) => ptr::from_mut(sin).cast(),
            Self::V6(sin6) => ptr::from_mut(sin6).cast(),
        }
    }
}

/// Returns whether IPv6 is enabled (`ipv6_mod_enabled()`).
pub(crate) fn ipv6_enabled() -> bool {
    // SAFETY: `disable_ipv6_mod` is an exported integer that is only written
    // while parsing the kernel command line, before any module runs.
    unsafe { ptr::read_volatile(&raw const raw::disable_ipv6_mod) == 0 }
}

/// Calls `f` with the device of index `ifindex` in `net`, if there is one,
/// under the RCU read lock.
fn with_netdev<R>(net: &Net, ifindex: i32, f: impl FnOnce(*mut raw::net_device) -> R) -> Option<R> {
    let _guard = rcu::read_lock();
    // SAFETY: `net` is valid and the RCU read lock is held, as
    // `dev_get_by_index_rcu()` requires.
    let dev = unsafe { raw::dev_get_by_index_rcu(net.as_ptr(), ifindex) };
    (!dev.is_null()).then(|| f(dev))
}

/// Returns whether `addr` is configured on the device of index `ifindex` in
/// `net`: `dev_get_by_index()` followed by `ipv6_chk_addr(net, addr, dev, 1)`.
pub(crate) fn ipv6_addr_on_dev(net: &Net, addr: In6Addr, ifindex: i32) -> bool {
    let addr = addr.to_raw();
    with_netdev(net, ifindex, |dev| {
        // SAFETY: `dev` stays valid under the RCU read lock `with_netdev`
        // holds, and `net` and `addr` are valid.
        unsafe { raw::ipv6_chk_addr(net.as_ptr(), &addr, dev, 1) != 0 }
    })
    .unwrap_or(false)
}

/// Returns whether the device of index `ifindex` in `net` exists and is up (`IFF_UP`).
pub(crate) fn netdev_is_up(net: &Net, ifindex: i32) -> bool {
    with_netdev(net, ifindex, |dev| {
        // SAFETY: `dev` stays valid under the RCU read lock `with_netdev`
        // holds; `flags` is read once, as `READ_ONCE()` would.
        let flags = unsafe { ptr::read_volatile(&raw const (*dev).flags) };
        flags & raw::net_device_flags_IFF_UP != 0
    })
    .unwrap_or(false)
}

/// What happened to a network device.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum NetdevEvent {
    /// The device went down (`NETDEV_DOWN`).
    Down,
    /// The device is going away (`NETDEV_UNREGISTER`).
    Unregister,
}

/// Receives network device and address events.
///
/// The callbacks may run in atomic context and must not sleep. They run
/// after the change is visible: a removed address is no longer found by
/// address lookups, a device that went down has `IFF_UP` clear.
pub(crate) trait NetHandler: 'static {
    /// Called when device `ifindex` of `net` goes down or away.
    fn netdev_event(net: &Net, ifindex: i32, event: NetdevEvent);

    /// Called when `addr` is removed from device `ifindex` of `net`. IPv4
    /// addresses come in their v4-mapped form.
    fn addr_removed(net: &Net, ifindex: i32, addr: In6Addr);
}

/// Returns the namespace and index of a network device.
///
/// # Safety
///
/// `dev` must point to a valid `struct net_device` that stays alive for `'a`.
unsafe fn netdev_ids<'a>(dev: *const raw::net_device) -> (&'a Net, i32) {
    // SAFETY: The caller guarantees that `dev` is valid; a device keeps its
    // namespace alive (`dev_net()`).
    unsafe { (Net::from_raw((*dev).nd_net.net), (*dev).ifindex) }
}

/// A notifier chain that [`Notifier`] can register on.
pub(crate) trait Chain {
    /// Registers `nb` on the chain.
    ///
    /// # Safety
    ///
    /// `nb` must be valid and stay pinned until [`Chain::unregister`].
    unsafe fn register(nb: *mut raw::notifier_block) -> ffi::c_int;

    /// Unregisters `nb` from the chain.
    ///
    /// # Safety
    ///
    /// `nb` must have been registered by [`Chain::register`].
    unsafe fn unregister(nb: *mut raw::notifier_block);

    /// The notifier callback.
    ///
    /// # Safety
    ///
    /// Only the notifier chain may call it, with the data of its events.
    unsafe extern "C" fn call(
        nb: *mut raw::notifier_block,
        event: ffi::c_ulong,
        data: *mut ffi::c_void,
    ) -> ffi::c_int;
}

/// The netdevice notifier chain, delivering `NETDEV_DOWN` and `NETDEV_UNREGISTER` to `T`.
pub(crate) struct NetdevChain<T>(PhantomData<T>);

impl<T: NetHandler> Chain for NetdevChain<T> {
    unsafe fn register(nb: *mut raw::notifier_block) -> ffi::c_int {
        // SAFETY: Guaranteed by the caller.
        unsafe { raw::register_netdevice_notifier(nb) }
    }

    unsafe fn unregister(nb: *mut raw::notifier_block) {
        // SAFETY: Guaranteed by the caller.
        unsafe { raw::unregister_netdevice_notifier(nb) };
    }

    unsafe extern "C" fn call(
        _nb: *mut raw::notifier_block,
        event: ffi::c_ulong,
        data: *mut ffi::c_void,
    ) -> ffi::c_int {
        let event = match event {
            e if e == raw::netdev_cmd_NETDEV_DOWN as ffi::c_ulong => NetdevEvent::Down,
            e if e == raw::netdev_cmd_NETDEV_UNREGISTER as ffi::c_ulong => NetdevEvent::Unregister,
            _ => return raw::NOTIFY_DONE as ffi::c_int,
        };
        // SAFETY: The netdevice chain passes a `struct netdev_notifier_info`
        // whose device is valid for the duration of the call.
        let (net, ifindex) = unsafe { netdev_ids((*data.cast::<raw::netdev_notifier_info>()).dev) };
        T::netdev_event(net, ifindex, event);
        raw::NOTIFY_DONE as ffi::c_int
    }
}

/// The inetaddr (IPv4 address) notifier chain, delivering removals to `T`.
pub(crate) struct InetAddrChain<T>(PhantomData<T>);

impl<T: NetHandler> Chain for InetAddrChain<T> {
    unsafe fn register(nb: *mut raw::notifier_block) -> ffi::c_int {
        // SAFETY: Guaranteed by the caller.
        unsafe { raw::register_inetaddr_notifier(nb) }
    }

    unsafe fn unregister(nb: *mut raw::notifier_block) {
        // SAFETY: Guaranteed by the caller.
        unsafe { raw::unregister_inetaddr_notifier(nb) };
    }

    unsafe extern "C" fn call(
        _nb: *mut raw::notifier_block,
        event: ffi::c_ulong,
        data: *mut ffi::c_void,
    ) -> ffi::c_int {
        if event == raw::netdev_cmd_NETDEV_DOWN as ffi::c_ulong {
            let ifa = data.cast::<raw::in_ifaddr>();
            // SAFETY: The inetaddr chain passes a `struct in_ifaddr` that,
            // with its `in_device` and device, is valid during the call.
            let (local, (net, ifindex)) =
                unsafe { ((*ifa).ifa_local, netdev_ids((*(*ifa).ifa_dev).dev)) };
            T::addr_removed(net, ifindex, In6Addr::from_v4(local.to_ne_bytes()));
        }
        raw::NOTIFY_DONE as ffi::c_int
    }
}

/// The inet6addr (IPv6 address) notifier chain, delivering removals to `T`.
///
/// It is an atomic chain: its callbacks run under `rcu_read_lock()`.
pub(crate) struct Inet6AddrChain<T>(PhantomData<T>);

impl<T: NetHandler> Chain for Inet6AddrChain<T> {
    unsafe fn register(nb: *mut raw::notifier_block) -> ffi::c_int {
        // SAFETY: Guaranteed by the caller.
        unsafe { raw::register_inet6addr_notifier(nb) }
    }

    unsafe fn unregister(nb: *mut raw::notifier_block) {
        // SAFETY: Guaranteed by the caller.
        unsafe { raw::unregister_inet6addr_notifier(nb) };
    }

    unsafe extern "C" fn call(
        _nb: *mut raw::notifier_block,
        event: ffi::c_ulong,
        data: *mut ffi::c_void,
    ) -> ffi::c_int {
        if event == raw::netdev_cmd_NETDEV_DOWN as ffi::c_ulong {
            let ifa = data.cast::<raw::inet6_ifaddr>();
            // SAFETY: The inet6addr chain passes a `struct inet6_ifaddr`
            // that, with its `inet6_dev` and device, is valid during the call.
            let (addr, (net, ifindex)) = unsafe {
                (
                    In6Addr::from_raw(&(*ifa).addr),
                    netdev_ids((*(*ifa).idev).dev),
                )
            };
            T::addr_removed(net, ifindex, addr);
        }
        raw::NOTIFY_DONE as ffi::c_int
    }
}

/// A registration on notifier chain `C`, undone on drop.
///
/// The block has the lowest priority, so that its callback runs after those
/// of the core (routing, address tables) have applied the change.
///
/// # Invariants
///
/// `nb` is registered on chain `C` from initialisation until drop.
#[pin_data(PinnedDrop)]
pub(crate) struct Notifier<C: Chain> {
    #[pin]
    nb: Opaque<raw::notifier_block>,
    _chain: PhantomData<C>,
}

// SAFETY: The block is only used by the notifier chain, which synchronises
// its own accesses; the type holds no other data.
unsafe impl<C: Chain> Send for Notifier<C> {}
// SAFETY: See `Send`; no method gives access to the block.
unsafe impl<C: Chain> Sync for Notifier<C> {}

impl<C: Chain> Notifier<C> {
    /// Registers on chain `C`.
    pub(crate) fn register() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            nb <- Opaque::try_ffi_init(|nb: *mut raw::notifier_block| {
                let block = raw::notifier_block {
                    notifier_call: Some(C::call),
                    priority: i32::MIN,
                    ..Default::default()
                };
                // SAFETY: `nb` is valid for writes and pinned: it is the
                // final place of the field, which is only dropped through
                // `PinnedDrop`, after unregistering.
                to_result(unsafe {
                    nb.write(block);
                    C::register(nb)
                })
            }),
            _chain: PhantomData,
        })
    }
}

#[pinned_drop]
impl<C: Chain> PinnedDrop for Notifier<C> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant the block is registered.
        unsafe { C::unregister(self.nb.get()) };
    }
}
