// SPDX-License-Identifier: GPL-2.0

//! A livepatch for `rds_ib_laddr_check()` with a never-stale fast path.
//!
//! Every `bind()` of an RDS socket asks the RDS/IB transport whether it can
//! use the local address (`rds_ib_laddr_check()` in net/rds/ib.c, module
//! `rds_rdma`). Its slow path creates an RDMA CM ID and binds it, which is
//! expensive. This livepatch replaces the function with:
//!
//! 1. the namespace rule: RDS/IB works in the initial namespace only;
//! 2. a lookup in a table of addresses that passed the check before;
//! 3. on a miss, the upstream check with its exact rules
//!    (`rds_ib_laddr_check_cm()`), whose success is recorded in the table
//!    together with the RDMA device and the network device it found.
//!
//! # What "never stale" means
//!
//! The table never outlives the kernel's notification of a change:
//!
//! - An entry is removed when the kernel announces a change that can make
//!   it wrong: its address deleted (inetaddr and inet6addr notifiers), its
//!   network device down or unregistered (netdevice notifier), its RDMA
//!   device unregistered (our IB client). The notifiers run synchronously
//!   in the call that makes the change (`ip addr del`, `ip link set down`,
//!   `rdma link delete`), so once that call has returned, no bind is
//!   answered from an entry it invalidated.
//! - The notifiers run *after* the change: a bind that runs concurrently
//!   with the change, between the change and its notification, can still
//!   be answered from the entry. This window is short (a few instructions
//!   to a few lock hand-overs) and upstream has the same one: its rdma_cm
//!   check resolves against GID tables and device lists that the RDMA core
//!   also updates from notifications, some of them asynchronously, and the
//!   7.2 C fast path (`rds_ib_get_device()`) is never pruned at all. Such a
//!   bind raced the change; it was not answered from a stale cache.
//! - A slow check that raced an invalidation is never cached: each
//!   invalidation, and each arrival of an RDMA device, bumps a generation,
//!   and a result is recorded only if the generation did not move while it
//!   was computed. The result is recorded while its CM ID still holds the
//!   RDMA device, and devices are known by their index, never reused in
//!   practice ([`DeviceIndex`]), so a recorded entry always names the live
//!   device the check found.
//! - Failures are never cached: an address that cannot be bound is checked
//!   again at every bind.
//!
//! # Locking
//!
//! - Readers (the fast path) take no lock and write no shared memory except
//!   a per-CPU counter: every slot of [`TABLE`] is guarded by a sequence
//!   count, so a lookup neither sleeps nor waits for writers.
//! - Writers (inserts, invalidations, the RDMA device list) serialise on the
//!   spinlock [`WRITER`], held for a few stores at a time. It is taken in
//!   process context and under `rcu_read_lock()` (the inet6addr chain),
//!   never in interrupt context, and no other lock is taken under it.
//! - Every invalidation and every change of the RDMA device list bumps
//!   [`Writer::generation`]. A slow check reads the generation before it
//!   starts and records its result, under [`WRITER`] and while it still
//!   holds its CM ID, only if the generation is unchanged.

use bindings::{
    livepatch::Patch,
    net::{
        self,
        code::{eaddrnotavail, eprototype},
        In6Addr, Inet6AddrChain, InetAddrChain, Net, NetHandler, NetdevChain, NetdevEvent,
        Notifier, SockAddr,
    },
    rdma::{Client, ClientHandler, CmId, Device, DeviceIndex, DeviceName},
    rds::{self, LaddrCheck},
};
use kernel::{
    cpu::CpuId,
    debugfs::Scope,
    fmt,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Relaxed, Release},
        barrier::{smp_rmb, smp_wmb},
        global_lock, GlobalGuard,
    },
};

mod bindings {
    pub(crate) mod livepatch;
    pub(crate) mod net;
    pub(crate) mod raw;
    pub(crate) mod rdma;
    pub(crate) mod rds;
}

module! {
    type: RustRdsIbAddr,
    name: "rust_rds_ib_addr",
    authors: ["rust-dm-rds developers"],
    description: "RDS IB local-address check with a never-stale fast path (livepatch)",
    license: "GPL",
    params: {
        fast_path: i32 {
            default: 1,
            description: "Answer from the table of qualified addresses (1) or always run the rdma_cm check (0, legacy)",
        },
    },
}

/// The module name, also used for the IB client, the CM IDs and debugfs.
const NAME: &CStr = c"rust_rds_ib_addr";

/// How many addresses the table holds. A host has a handful of RDS
/// addresses; beyond this, further addresses take the slow path each time.
const SLOTS: usize = 64;

/// How many RDMA devices are tracked; addresses on further devices are not cached.
const DEVICES: usize = 16;

/// A table key: an address and, for a link-local IPv6 address, its scope.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    addr: In6Addr,
    scope_id: u32,
}

impl Key {
    /// Builds the key of a check. Only link-local addresses depend on the
    /// scope: for the others, `rdma_bind_addr()` ignores it.
    fn new(addr: In6Addr, scope_id: u32) -> Self {
        let scope_id = if scope_id != 0 && addr.is_link_local() {
            scope_id
        } else {
            0
        };
        Self { addr, scope_id }
    }

    /// Returns the key as the words of a [`Slot`]. The tag bit makes them
    /// differ from those of an empty slot.
    fn words(self) -> [u64; 3] {
        let [a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7] = self.addr.0;
        [
            u64::from_ne_bytes([a0, a1, a2, a3, a4, a5, a6, a7]),
            u64::from_ne_bytes([b0, b1, b2, b3, b4, b5, b6, b7]),
            (1 << 32) | u64::from(self.scope_id),
        ]
    }
}

/// The words of an empty slot.
const EMPTY: [u64; 3] = [0; 3];

/// One key of the lock-free table, under a sequence count.
///
/// # Invariants
///
/// `seq` is odd exactly while a writer, holding [`WRITER`], changes `words`.
struct Slot {
    seq: Atomic<u32>,
    words: [Atomic<u64>; 3],
}

impl Slot {
    const fn new() -> Self {
        Self {
            seq: Atomic::new(0),
            words: [Atomic::new(0), Atomic::new(0), Atomic::new(0)],
        }
    }

    /// Returns whether the slot consistently holds `want`. A slot that is
    /// being written does not match: the caller then takes the slow path.
    fn holds(&self, want: &[u64; 3]) -> bool {
        let seq = self.seq.load(Acquire);
        if seq & 1 != 0 {
            return false;
        }
        let equal = self
            .words
            .iter()
            .zip(want)
            .all(|(w, v)| w.load(Relaxed) == *v);
        // Order the reads of the words before the second read of the count.
        smp_rmb();
        equal && self.seq.load(Relaxed) == seq
    }

    /// Stores `words`; the guard proves that the caller holds [`WRITER`].
    fn store(&self, words: [u64; 3], _writer: &WriterGuard) {
        let seq = self.seq.load(Relaxed);
        // INVARIANT: The count is odd while the words change.
        self.seq.store(seq.wrapping_add(1), Relaxed);
        smp_wmb();
        for (w, v) in self.words.iter().zip(words) {
            w.store(v, Relaxed);
        }
        self.seq.store(seq.wrapping_add(2), Release);
    }
}

/// The lock-free side of the table of qualified addresses.
struct Table {
    /// One past the highest slot in use; lookups scan no further.
    used: Atomic<usize>,
    slots: [Slot; SLOTS],
}

impl Table {
    const fn new() -> Self {
        Self {
            used: Atomic::new(0),
            slots: [const { Slot::new() }; SLOTS],
        }
    }

    /// Returns whether `key` is in the table. It neither sleeps nor waits.
    fn contains(&self, key: Key) -> bool {
        let want = key.words();
        let used = self.used.load(Acquire).min(SLOTS);
        self.slots[..used].iter().any(|slot| slot.holds(&want))
    }
}

/// The table of qualified addresses, read by the fast path.
static TABLE: Table = Table::new();

/// What the table knows of a cached address.
#[derive(Clone, Copy)]
struct Entry {
    key: Key,
    /// The network device the address was found on.
    ifindex: i32,
    /// The RDMA device the check bound to.
    device: DeviceIndex,
    device_name: DeviceName,
}

/// Why entries were removed.
#[derive(Clone, Copy)]
enum Cause {
    /// The address was deleted.
    Addr,
    /// The network device went down or away.
    Netdev,
    /// The RDMA device went away.
    RdmaDev,
}

/// The writer side of the table, under [`WRITER`].
///
/// The methods that change [`TABLE`] take the lock's guard, which only
/// `WRITER.lock()` makes, so they run under the lock.
///
/// # Invariants
///
/// `entries[i]` describes the key in `TABLE.slots[i]`, which is empty for
/// `None`; `TABLE.used` is one past the last `Some`. Every entry names a
/// device of `devices`.
struct Writer {
    /// Bumped by every invalidation and every change of `devices`.
    generation: u64,
    entries: [Option<Entry>; SLOTS],
    /// The registered RDMA devices, between [`ClientHandler::add`] and
    /// [`ClientHandler::remove`] (at most [`DEVICES`] of them).
    devices: [Option<DeviceIndex>; DEVICES],
}

impl Writer {
    const fn new() -> Self {
        Self {
            generation: 0,
            entries: [None; SLOTS],
            devices: [None; DEVICES],
        }
    }

    /// Bumps the generation, so that no check in flight is recorded.
    fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// Publishes `TABLE.used` after a change of the entries.
    fn publish_used(this: &WriterGuard) {
        let used = this
            .entries
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |i| i + 1);
        TABLE.used.store(used, Release);
    }

    /// Adds `entry` unless its key is already present. Returns false when
    /// the table is full.
    fn insert(this: &mut WriterGuard, entry: Entry) -> bool {
        if this.entries.iter().flatten().any(|e| e.key == entry.key) {
            return true;
        }
        let Some(i) = this.entries.iter().position(Option::is_none) else {
            return false;
        };
        // INVARIANT: The slot gets the key before the entry is recorded and
        // `used` covers it.
        TABLE.slots[i].store(entry.key.words(), this);
        this.entries[i] = Some(entry);
        Self::publish_used(this);
        true
    }

    /// Bumps the generation and removes the entries that `stale` selects.
    /// Returns how many were removed.
    fn invalidate(this: &mut WriterGuard, stale: impl Fn(&Entry) -> bool) -> u64 {
        this.bump();
        let mut removed = 0;
        for i in 0..SLOTS {
            if this.entries[i].as_ref().is_some_and(&stale) {
                // INVARIANT: The slot is emptied along with the entry.
                TABLE.slots[i].store(EMPTY, this);
                this.entries[i] = None;
                removed += 1;
            }
        }
        if removed != 0 {
            Self::publish_used(this);
        }
        removed
    }

    fn len(&self) -> usize {
        self.entries.iter().flatten().count()
    }
}

global_lock! {
    // SAFETY: `RustRdsIbAddr::init` initialises the lock before anything can use it.
    unsafe(uninit) static WRITER: SpinLock<Writer> = Writer::new();
}

/// The guard of [`WRITER`]: the proof that the lock is held.
type WriterGuard = GlobalGuard<WRITER>;

/// A counter of the fast path: one cache line per CPU (modulo [`SHARDS`]),
/// so that CPUs counting at once do not contend. Readers sum the lines.
struct PerCpuCounter([CacheLine; SHARDS]);

/// The number of cache lines of a [`PerCpuCounter`].
const SHARDS: usize = 16;

#[repr(align(64))]
struct CacheLine(Atomic<u64>);

impl PerCpuCounter {
    const fn new() -> Self {
        Self([const { CacheLine(Atomic::new(0)) }; SHARDS])
    }

    fn inc(&self) {
        let shard = CpuId::current().as_u32() as usize % SHARDS;
        self.0[shard].0.add(1, Relaxed);
    }

    fn sum(&self) -> u64 {
        self.0.iter().map(|line| line.0.load(Relaxed)).sum()
    }
}

/// The counters shown in debugfs.
struct Stats {
    fast_hits: PerCpuCounter,
    slow_checks: Atomic<u64>,
    slow_ok: Atomic<u64>,
    slow_fail: Atomic<u64>,
    cm_ids_created: Atomic<u64>,
    invalidations_addr: Atomic<u64>,
    invalidations_netdev: Atomic<u64>,
    invalidations_rdma_dev: Atomic<u64>,
    /// Successful slow checks that were not cached: they raced with an
    /// invalidation, their devices were not up or not tracked, or the table
    /// was full.
    not_cached: Atomic<u64>,
}

impl Stats {
    fn invalidations(&self, cause: Cause) -> &Atomic<u64> {
        match cause {
            Cause::Addr => &self.invalidations_addr,
            Cause::Netdev => &self.invalidations_netdev,
            Cause::RdmaDev => &self.invalidations_rdma_dev,
        }
    }

    /// Writes all counters as `name value` lines.
    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counters = [
            ("fast_hits", self.fast_hits.sum()),
            ("slow_checks", self.slow_checks.load(Relaxed)),
            ("slow_ok", self.slow_ok.load(Relaxed)),
            ("slow_fail", self.slow_fail.load(Relaxed)),
            ("cm_ids_created", self.cm_ids_created.load(Relaxed)),
            ("invalidations_addr", self.invalidations_addr.load(Relaxed)),
            (
                "invalidations_netdev",
                self.invalidations_netdev.load(Relaxed),
            ),
            (
                "invalidations_rdma_dev",
                self.invalidations_rdma_dev.load(Relaxed),
            ),
            ("not_cached", self.not_cached.load(Relaxed)),
            ("entries", WRITER.lock().len() as u64),
        ];
        for (name, value) in counters {
            writeln!(f, "{name} {value}")?;
        }
        Ok(())
    }
}

static STATS: Stats = Stats {
    fast_hits: PerCpuCounter::new(),
    slow_checks: Atomic::new(0),
    slow_ok: Atomic::new(0),
    slow_fail: Atomic::new(0),
    cm_ids_created: Atomic::new(0),
    invalidations_addr: Atomic::new(0),
    invalidations_netdev: Atomic::new(0),
    invalidations_rdma_dev: Atomic::new(0),
    not_cached: Atomic::new(0),
};

/// Whether the fast path is on: the `fast_path` parameter at load time,
/// writable in debugfs.
static FAST_PATH: Atomic<i32> = Atomic::new(1);

fn inc(counter: &Atomic<u64>) {
    counter.add(1, Relaxed);
}

/// A successful slow check: its CM ID, bound to the address on an
/// InfiniBand channel adapter.
///
/// It owns the ID, so the RDMA device stays registered and allocated as
/// long as it lives ([`CmId::device`]). [`record`] borrows it: a result can
/// only be recorded while its device cannot go away.
///
/// # Invariants
///
/// `id` is bound to a device that [`Device::is_ib_ca`].
struct Qualified {
    id: CmId,
}

impl Qualified {
    /// Returns the RDMA device the address was found on.
    fn device(&self) -> Option<&Device> {
        self.id.device()
    }

    /// Returns the index of the network device the address was found on.
    fn ifindex(&self) -> i32 {
        self.id.bound_ifindex()
    }
}

/// The replacement of `rds_ib_laddr_check()`.
struct IbAddrCheck;

impl LaddrCheck for IbAddrCheck {
    fn laddr_check(net: &Net, addr: In6Addr, scope_id: u32) -> Result {
        // RDS/IB is restricted to the initial network namespace.
        if !net.is_init() {
            return Err(eprototype());
        }
        let key = Key::new(addr, scope_id);
        let fast_path = FAST_PATH.load(Relaxed) != 0;
        if fast_path && TABLE.contains(key) {
            STATS.fast_hits.inc();
            return Ok(());
        }
        let generation = WRITER.lock().generation;
        let qualified = slow_check(addr, scope_id)?;
        if fast_path {
            record(key, &qualified, generation);
        }
        // The CM ID is destroyed here, after `record()`: until then, the
        // removal of its device waits in rdma_cm's remove callback.
        Ok(())
    }
}

/// Runs the upstream check and counts its outcome.
fn slow_check(addr: In6Addr, scope_id: u32) -> Result<Qualified> {
    inc(&STATS.slow_checks);
    let result = rdma_cm_check(addr, scope_id);
    inc(match result {
        Ok(_) => &STATS.slow_ok,
        Err(_) => &STATS.slow_fail,
    });
    result
}

/// The check of `rds_ib_laddr_check_cm()`: an RDMA CM ID must bind to the
/// address, on an InfiniBand channel adapter.
fn rdma_cm_check(addr: In6Addr, scope_id: u32) -> Result<Qualified> {
    let init_net = Net::init();
    let mut id = CmId::new(init_net, NAME)?;
    inc(&STATS.cm_ids_created);
    let mut sockaddr = match addr.to_v4() {
        Some(v4) => SockAddr::v4(v4),
        None => {
            if !net::ipv6_enabled() {
                return Err(eaddrnotavail());
            }
            // `rdma_bind_addr()` accepts any link-local address, configured
            // or not, so the address must be on the device of its scope.
            if addr.is_link_local()
                && (scope_id == 0 || !net::ipv6_addr_on_dev(init_net, addr, scope_id as i32))
            {
                return Err(eaddrnotavail());
            }
            SockAddr::v6(addr, scope_id)
        }
    };
    id.bind_addr(&mut sockaddr).map_err(|_| eaddrnotavail())?;
    // Binding succeeds on iWARP devices too; RDS/IB wants InfiniBand CAs.
    if !id.device().is_some_and(Device::is_ib_ca) {
        return Err(eaddrnotavail());
    }
    // INVARIANT: The ID is bound to an InfiniBand CA.
    Ok(Qualified { id })
}

/// Caches a successful check that started at `generation`.
///
/// It caches nothing when the generation moved: an address, network
/// device or RDMA device went away, or an RDMA device came, since the check
/// started. Since `found` holds the CM ID, its RDMA device cannot be
/// removed and freed, let alone replaced, before the generation is compared:
/// its removal bumps the generation first (our IB client is removed before
/// rdma_cm's, which waits for the ID).
fn record(key: Key, found: &Qualified, generation: u64) {
    let ifindex = found.ifindex();
    // While a device is down, the RDMA core removes its addresses
    // asynchronously and the check may still pass: do not cache that.
    let cached = net::netdev_is_up(Net::init(), ifindex)
        && found.device().is_some_and(|dev| {
            let device = dev.index();
            let device_name = dev.name();
            let mut writer = WRITER.lock();
            writer.generation == generation
                && writer.devices.contains(&Some(device))
                && Writer::insert(
                    &mut writer,
                    Entry {
                        key,
                        ifindex,
                        device,
                        device_name,
                    },
                )
        });
    if !cached {
        inc(&STATS.not_cached);
    }
}

/// Removes the entries that `stale` selects, counting them under `cause`.
fn invalidate(cause: Cause, stale: impl Fn(&Entry) -> bool) {
    let removed = Writer::invalidate(&mut WRITER.lock(), stale);
    STATS.invalidations(cause).add(removed, Relaxed);
}

/// Keeps the table in step with the network and RDMA devices.
struct Events;

impl NetHandler for Events {
    fn netdev_event(net: &Net, ifindex: i32, _event: NetdevEvent) {
        if net.is_init() {
            invalidate(Cause::Netdev, |e| {
                e.ifindex == ifindex || e.key.scope_id == ifindex as u32
            });
        }
    }

    fn addr_removed(net: &Net, _ifindex: i32, addr: In6Addr) {
        if net.is_init() {
            invalidate(Cause::Addr, |e| e.key.addr == addr);
        }
    }
}

impl ClientHandler for Events {
    fn add(dev: &Device) {
        let index = dev.index();
        let mut writer = WRITER.lock();
        // A check that started before the device came is not recorded either:
        // whatever it bound to, the device list changed under it.
        writer.bump();
        if let Some(free) = writer.devices.iter_mut().find(|d| d.is_none()) {
            *free = Some(index);
        }
    }

    fn remove(dev: &Device) {
        let index = dev.index();
        let removed = {
            let mut writer = WRITER.lock();
            if let Some(d) = writer.devices.iter_mut().find(|d| **d == Some(index)) {
                *d = None;
            }
            Writer::invalidate(&mut writer, |e| e.device == index)
        };
        STATS.invalidations(Cause::RdmaDev).add(removed, Relaxed);
    }
}

/// Writes the table, one entry per line.
fn write_table(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let writer = WRITER.lock();
    for e in writer.entries.iter().flatten() {
        writeln!(
            f,
            "{} scope {} ifindex {} rdma {} index {}",
            e.key.addr, e.key.scope_id, e.ifindex, e.device_name, e.device
        )?;
    }
    Ok(())
}

/// Fills the debugfs directory: one file per counter, `stats` with all of
/// them, `table`, and the writable `fast_path` switch.
fn populate_debugfs(_: &(), dir: &kernel::debugfs::ScopedDir<'_, '_>) {
    dir.read_callback_file(c"fast_hits", &STATS.fast_hits, &|c: &PerCpuCounter, f| {
        writeln!(f, "{}", c.sum())
    });
    dir.read_only_file(c"slow_checks", &STATS.slow_checks);
    dir.read_only_file(c"slow_ok", &STATS.slow_ok);
    dir.read_only_file(c"slow_fail", &STATS.slow_fail);
    dir.read_only_file(c"cm_ids_created", &STATS.cm_ids_created);
    dir.read_only_file(c"invalidations_addr", &STATS.invalidations_addr);
    dir.read_only_file(c"invalidations_netdev", &STATS.invalidations_netdev);
    dir.read_only_file(c"invalidations_rdma_dev", &STATS.invalidations_rdma_dev);
    dir.read_only_file(c"not_cached", &STATS.not_cached);
    dir.read_callback_file(c"entries", &TABLE, &|_: &Table, f| {
        writeln!(f, "{}", WRITER.lock().len())
    });
    dir.read_callback_file(c"table", &TABLE, &|_: &Table, f| write_table(f));
    dir.read_callback_file(c"stats", &STATS, &|s: &Stats, f| s.write(f));
    dir.read_write_file(c"fast_path", &FAST_PATH);
}

/// The module: its registrations, undone on unload in declaration order.
#[pin_data]
struct RustRdsIbAddr {
    #[pin]
    patch: Patch,
    #[pin]
    debugfs: Scope<()>,
    #[pin]
    netdev: Notifier<NetdevChain<Events>>,
    #[pin]
    inetaddr: Notifier<InetAddrChain<Events>>,
    #[pin]
    inet6addr: Notifier<Inet6AddrChain<Events>>,
    #[pin]
    client: Client<Events>,
}

impl kernel::InPlaceModule for RustRdsIbAddr {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // SAFETY: Module initialisation runs once, before anything else of
        // this module, so this is the only and first initialisation.
        unsafe { WRITER.init() };
        FAST_PATH.store(*module_parameters::fast_path.value(), Relaxed);
        try_pin_init!(Self {
            client <- Client::register(NAME),
            netdev <- Notifier::register(),
            inetaddr <- Notifier::register(),
            inet6addr <- Notifier::register(),
            debugfs <- Scope::dir((), NAME, populate_debugfs),
            // Last: once enabled, the patch keeps the module loaded until it
            // is disabled, so no later step may fail.
            patch <- Patch::enable(module, rds::IB_MODULE, rds::ib_laddr_check::<IbAddrCheck>()),
        })
    }
}
