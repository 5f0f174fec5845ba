// SPDX-License-Identifier: GPL-2.0

//! A device-mapper `delay` target with microsecond accuracy.
//!
//! The target keeps the table syntax of the kernel's C `delay` target
//! (drivers/md/dm-delay.c):
//!
//! ```text
//! <dev> <offset> <delay> [<wdev> <woffset> <wdelay> [<fdev> <foffset> <fdelay>]]
//! ```
//!
//! The first triple serves reads, and also writes and flushes when it is the
//! only one; the second serves writes, and also flushes when there is no
//! third. Offsets are in sectors, delays in milliseconds; as an extension, a
//! delay may carry the unit `ms` or `us` (`250us`).
//!
//! A delayed bio waits in the FIFO of its class, and is due at its arrival
//! plus the delay of its class *then in force*. All bios of a class share
//! that delay, so each FIFO is sorted by expiry: appending is O(1), and the
//! earliest expiry is at the head of one of the three FIFOs. One kernel
//! thread per target sleeps until that expiry with hrtimer precision and then
//! submits what is due.
//!
//! # Live delay changes
//!
//! `dmsetup message <dev> 0 delay <read|write|flush|all> <delay>` sets the
//! delay of a class (the delay in the table's units) without a suspend. It
//! applies to the bios that wait as well as to those to come, because a due
//! time is computed from the delay in force: a shorter delay releases the
//! waiting bios that are now due at once and the others sooner, a longer one
//! holds them longer. This is what a fault-injection test expects when it
//! says "the disk is now slow" or "the disk has recovered", and it keeps
//! each FIFO sorted, so the order of release is still the order of arrival.
//! No bio goes down before its arrival plus the delay in force when it goes.
//! A bio that arrives with no delay while bios of its class wait queues
//! behind them, due at once, so that it does not overtake them.
//! `dmsetup table` shows the delays in force, with as many triples as it
//! takes, so that reloading it reproduces them: a 3-argument table whose
//! write delay was changed shows 9 arguments (with 6, flushes would follow
//! writes), one whose write and flush delays were changed shows 6.
//!
//! The bios of one batch (those due at one wake-up of the worker, or all of
//! them at a suspend) go down in order of arrival across the classes, as C
//! submits them from its one list. Within a class, arrival order is expiry
//! order (the class has one delay at a time), so each FIFO is already sorted, and the
//! batch is a merge of the three that looks only at their heads: O(1) per
//! bio, no allocation. The arrival order is a sequence number that `map()`
//! stores in the per-bio data.
//!
//! # Locking
//!
//! All mutable state of a target instance is in [`Queue`], behind the one
//! spinlock `Shared::queue`. Every critical section below is a few pointer
//! and integer updates, and arms an hrtimer at most: nothing under the lock
//! allocates, submits or sleeps, so a spinning waiter is never kept waiting
//! long, and `map()` on many CPUs does not pay a mutex's sleep and wake-up
//! when they meet. (C's dm-delay keeps its list under a spinlock too; on
//! PREEMPT_RT the lock is a sleeping one, as every `spinlock_t` is.)
//!
//! - `map()` holds it only to read the delay of the bio's class, to check
//!   `delaying`, to number and append a bio, and to lower `wake_at`; it
//!   never submits or sleeps under it.
//! - The worker holds it only to take the due bios off the FIFOs (the due
//!   head of each, still one list per class) and to set `wake_at`; it merges
//!   and submits them after unlocking, and sleeps without it.
//! - `presuspend` holds it to clear `delaying` and take every FIFO at once;
//!   it merges and submits after unlocking. A `map()` that runs after that
//!   sees `delaying == false` and remaps its bio at once, so no bio is left
//!   behind or delayed past the suspend.
//! - `resume` holds it to set `delaying` again; `status` holds it to read
//!   the FIFO lengths and the delays.
//! - A message holds it to change a delay, and then moves `wake_at` earlier
//!   when a waiting bio is now due sooner. A longer delay leaves `wake_at`:
//!   the worker wakes once at the old deadline, finds nothing due, and
//!   sleeps until the new one.
//!
//! `wake_at` is the time the worker sleeps until (`None`: no deadline). The
//! worker sets it when it decides how long to sleep, and `map()` lowers it
//! when it appends a bio that expires earlier; then `map()` sets the
//! worker's alarm to that time, under the lock, so that racing `map()`s
//! leave it at the earliest. The worker is not woken before the bio is due:
//! one wake-up per deadline (plus one for each message that lengthens a
//! delay while bios wait). The worker never holds the lock while it
//! prepares to sleep; `bindings::kthread` documents why a kick is never lost.

use bindings::{
    dm::{self, Bio, DmTarget, Mapped, StatusType},
    kthread::{cond_resched, Context, KThread},
};
use core::fmt::{self, Write};
use kernel::{
    new_spinlock,
    prelude::*,
    str::BStr,
    sync::{Arc, SpinLock},
    time::{Delta, Instant, Monotonic},
};

mod bindings {
    pub(crate) mod dm;
    pub(crate) mod kthread;
    pub(crate) mod raw;
}

module! {
    type: RustDmDelay,
    name: "rust_dm_delay",
    authors: ["rust-dm-rds developers"],
    description: "device-mapper delay target in Rust",
    license: "GPL",
}

/// The module state: the registered target type.
struct RustDmDelay {
    _reg: Pin<KBox<dm::Registration<Delay>>>,
}

impl kernel::Module for RustDmDelay {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let reg = KBox::pin_init(dm::Registration::new(module), GFP_KERNEL).inspect_err(|e| {
            if *e == EEXIST {
                pr_err!("target \"delay\" is registered already, probably by the C module dm_delay; unload it first\n");
            }
        })?;
        Ok(Self { _reg: reg })
    }
}

/// The time unit a delay was given in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// No suffix: milliseconds, as in C.
    Plain,
    /// `ms`.
    Millis,
    /// `us`.
    Micros,
}

/// A delay as given in the table or in a message.
#[derive(Clone, Copy, PartialEq, Eq)]
struct DelayArg {
    value: u32,
    unit: Unit,
}

impl DelayArg {
    /// Parses a delay: an unsigned decimal number that fits 32 bits, with an
    /// optional `ms` or `us` suffix. Signs, spaces and trailing junk are
    /// refused.
    fn parse(s: &[u8]) -> Option<Self> {
        let (digits, unit) = if let Some(d) = s.strip_suffix(b"us") {
            (d, Unit::Micros)
        } else if let Some(d) = s.strip_suffix(b"ms") {
            (d, Unit::Millis)
        } else {
            (s, Unit::Plain)
        };
        let value = parse_decimal(digits)?;
        Some(Self {
            value: u32::try_from(value).ok()?,
            unit,
        })
    }

    /// The delay as a time span.
    fn delta(self) -> Delta {
        let v = i64::from(self.value);
        match self.unit {
            Unit::Plain | Unit::Millis => Delta::from_millis(v),
            Unit::Micros => Delta::from_micros(v),
        }
    }
}

impl fmt::Display for DelayArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suffix = match self.unit {
            Unit::Plain => "",
            Unit::Millis => "ms",
            Unit::Micros => "us",
        };
        write!(f, "{}{}", self.value, suffix)
    }
}

/// Parses a non-empty string of decimal digits into a `u64`, refusing
/// overflow.
fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &c| {
        if !c.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))
    })
}

/// The classes of bios, each with its own device, offset and delay.
#[derive(Clone, Copy)]
enum ClassId {
    Read = 0,
    Write = 1,
    Flush = 2,
}

/// The classes a `delay` message names: `read`, `write`, `flush` or `all`
/// (in any case, as dm targets take their message keywords).
fn message_classes(name: &[u8]) -> Option<&'static [ClassId]> {
    const ALL: [(&[u8], &[ClassId]); 4] = [
        (b"read", &[ClassId::Read]),
        (b"write", &[ClassId::Write]),
        (b"flush", &[ClassId::Flush]),
        (b"all", &[ClassId::Read, ClassId::Write, ClassId::Flush]),
    ];
    ALL.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, ids)| ids)
}

/// One class of bios: where they go. Its delay is in [`Queue::delays`],
/// where a message can change it.
struct Class {
    dev: dm::DevId<Delay>,
    start: u64,
}

impl Class {
    /// Builds a class, with its delay, from the triple at
    /// `args[first..first + 3]`, checking the offset, then the delay, then
    /// opening the device, as C does.
    fn new(
        ctx: &mut dm::Ctr<'_, Delay>,
        args: &dm::Args<'_>,
        first: usize,
    ) -> Result<(Self, DelayArg)> {
        let arg = |i| args.get(first + i).ok_or(EINVAL);
        let start = parse_decimal(arg(1)?.to_bytes())
            .ok_or_else(|| ctx.fail(c"Invalid device sector", EINVAL))?;
        let delay = DelayArg::parse(arg(2)?.to_bytes())
            .ok_or_else(|| ctx.fail(c"Invalid delay", EINVAL))?;
        let dev = ctx
            .get_device(arg(0)?)
            .map_err(|e| ctx.fail(c"Device lookup failed", e))?;
        Ok((Self { dev, start }, delay))
    }
}

/// Whether `a` comes before `b`.
fn before(a: Instant<Monotonic>, b: Instant<Monotonic>) -> bool {
    (a - b).is_negative()
}

/// The per-bio data of a delayed bio: when it came, in time and in order.
/// It is due at its arrival plus the delay of its class then in force.
#[derive(Default, Clone, Copy)]
struct PerBio {
    /// The arrival time; `None` until the bio is delayed.
    arrived: Option<Instant<Monotonic>>,
    /// The arrival number among the delayed bios of the target: the order
    /// in which a batch goes down.
    seq: u64,
}

/// The delayed bios and the state around them; see the locking rules in the
/// crate documentation.
struct Queue {
    /// The delayed bios of each class (indexed by [`ClassId`]), in arrival
    /// order, which is expiry order: the class has one delay at a time. Their
    /// lengths are the in-flight counts of `status`.
    pending: [dm::BioList<PerBio>; 3],
    /// The delay of each class (indexed by [`ClassId`]): the table's, until
    /// a message changes it.
    delays: [DelayArg; 3],
    /// Whether bios are delayed; false while suspending and suspended.
    delaying: bool,
    /// The deadline the worker sleeps until, `None` when it has none.
    wake_at: Option<Instant<Monotonic>>,
    /// The arrival number of the next delayed bio (64 bits do not wrap in
    /// practice).
    next_seq: u64,
}

/// The part of a target instance that the worker shares.
#[pin_data]
struct Shared {
    #[pin]
    queue: SpinLock<Queue>,
}

impl Queue {
    /// When the head of class `i` is due, `None` if the class has no bio.
    fn head_due(&self, i: usize) -> Option<Instant<Monotonic>> {
        let arrived = self.pending[i].front()?.arrived?;
        Some(arrived + self.delays[i].delta())
    }

    /// The earliest time a head of any class is due, `None` without bios.
    fn first_due(&self) -> Option<Instant<Monotonic>> {
        (0..3)
            .filter_map(|i| self.head_due(i))
            .reduce(|a, b| if before(b, a) { b } else { a })
    }

    /// Takes the head of class `i` off its FIFO if it is due at `now`.
    fn pop_due(&mut self, i: usize, now: Instant<Monotonic>) -> Option<Bio<'static, PerBio>> {
        if before(now, self.head_due(i)?) {
            return None;
        }
        self.pending[i].pop_front()
    }
}

impl Shared {
    /// Takes the bios that are due off the FIFOs, and sets and returns the
    /// next deadline.
    fn take_due(
        &self,
        now: Instant<Monotonic>,
    ) -> ([dm::BioList<PerBio>; 3], Option<Instant<Monotonic>>) {
        let mut due: [dm::BioList<PerBio>; 3] = Default::default();
        let mut q = self.queue.lock();
        for (i, due) in due.iter_mut().enumerate() {
            while let Some(bio) = q.pop_due(i, now) {
                due.push_back(bio);
            }
        }
        let next = q.first_due();
        q.wake_at = next;
        (due, next)
    }

    /// Stops delaying and returns every pending bio.
    fn stop_delaying(&self) -> [dm::BioList<PerBio>; 3] {
        let mut q = self.queue.lock();
        q.delaying = false;
        core::mem::take(&mut q.pending)
    }
}

/// Submits the bios of `lists`, each in order of arrival, merged into one
/// order of arrival, and gives up the CPU between them when a reschedule is
/// due, as C does.
fn submit(mut lists: [dm::BioList<PerBio>; 3]) {
    while let Some(i) = first_list(&lists) {
        if let Some(bio) = lists[i].pop_front() {
            bio.submit();
            cond_resched();
        }
    }
}

/// The index of the list whose head goes down first, `None` when all are
/// empty.
fn first_list(lists: &[dm::BioList<PerBio>; 3]) -> Option<usize> {
    let mut first: Option<(usize, &PerBio)> = None;
    for (i, list) in lists.iter().enumerate() {
        if let Some(head) = list.front() {
            if first.is_none_or(|(_, f)| head.seq < f.seq) {
                first = Some((i, head));
            }
        }
    }
    first.map(|(i, _)| i)
}

/// The worker: submits the bios that are due, then sleeps until the next
/// one is, or until the alarm that `map()` set for an earlier one.
fn worker(shared: &Shared, ctx: &Context) {
    while !ctx.should_stop() {
        let (due, next) = shared.take_due(Instant::now());
        submit(due);
        ctx.sleep_until(next);
    }
}

/// A `delay` target instance.
///
/// Dropping it stops the worker; device-mapper puts the devices afterwards.
struct Delay {
    worker: KThread,
    shared: Arc<Shared>,
    classes: [Class; 3],
    /// The number of table arguments (3, 6 or 9), for the table status.
    argc: usize,
}

impl Delay {
    /// Handles `delay <class> <delay>`: sets the delay of the class, or of
    /// all three, for the bios that wait and those to come.
    fn set_delay(&self, args: &dm::Args<'_>) -> Result {
        let word = |i| args.get(i).map_or(&b""[..], |a| a.to_bytes());
        if !word(0).eq_ignore_ascii_case(b"delay") {
            pr_err!(
                "unknown message \"{}\": expected \"delay <read|write|flush|all> <delay>\"\n",
                BStr::from_bytes(word(0))
            );
            return Err(EINVAL);
        }
        if args.len() != 3 {
            pr_err!(
                "message delay: takes 2 arguments, <read|write|flush|all> <delay>, not {}\n",
                args.len() - 1
            );
            return Err(EINVAL);
        }
        let Some(ids) = message_classes(word(1)) else {
            pr_err!(
                "message delay: unknown class \"{}\": expected read, write, flush or all\n",
                BStr::from_bytes(word(1))
            );
            return Err(EINVAL);
        };
        let Some(delay) = DelayArg::parse(word(2)) else {
            pr_err!(
                "message delay: invalid delay \"{}\": expected a whole number below 2^32, with no unit (ms), ms or us\n",
                BStr::from_bytes(word(2))
            );
            return Err(EINVAL);
        };
        let mut q = self.shared.queue.lock();
        for &id in ids {
            q.delays[id as usize] = delay;
        }
        // A shorter delay makes bios due sooner: move the worker's alarm
        // forward. A longer one leaves it, and the worker, woken for
        // nothing, sleeps until the new first deadline.
        if let Some(first) = q.first_due() {
            if q.wake_at.is_none_or(|w| before(first, w)) {
                q.wake_at = Some(first);
                self.worker.kick_at(first);
            }
        }
        Ok(())
    }

    /// How many table triples describe the delays in force: at least as
    /// many as the table had, and more when a message made the delays of
    /// classes that shared a triple differ.
    fn triples(&self, delays: &[DelayArg; 3]) -> usize {
        let [read, write, flush] = delays;
        if self.argc == 9 || flush != write {
            3
        } else if self.argc == 6 || write != read {
            2
        } else {
            1
        }
    }
}

#[vtable]
impl dm::Target for Delay {
    type PerBio = PerBio;

    const NAME: &'static CStr = c"delay";
    const VERSION: [u32; 3] = [1, 5, 0];
    const PASSES_INTEGRITY: bool = true;
    const ZONED_HM: bool = true;
    /// One device per class, even when classes share a triple, as in C.
    const DEVICES: usize = 3;

    fn ctr(ctx: &mut dm::Ctr<'_, Self>, args: &dm::Args<'_>) -> Result<Self> {
        let argc = args.len();
        if argc != 3 && argc != 6 && argc != 9 {
            return Err(ctx.fail(c"Requires exactly 3, 6 or 9 arguments", EINVAL));
        }
        // The first triple serves reads; writes use the second if given, and
        // flushes the last one given.
        let (read, rdelay) = Class::new(ctx, args, 0)?;
        let (write, wdelay) = Class::new(ctx, args, if argc >= 6 { 3 } else { 0 })?;
        let (flush, fdelay) = Class::new(ctx, args, argc - 3)?;

        let shared = Arc::pin_init(
            pin_init!(Shared {
                queue <- new_spinlock!(Queue {
                    pending: Default::default(),
                    delays: [rdelay, wdelay, fdelay],
                    delaying: true,
                    wake_at: None,
                    next_seq: 0,
                }),
            }),
            GFP_KERNEL,
        )
        .map_err(|e| ctx.fail(c"Cannot allocate context", e))?;
        let worker_shared = shared.clone();
        let worker = KThread::run(c"kdelayd-rs", move |ctx| worker(&worker_shared, ctx))
            .map_err(|e| ctx.fail(c"Cannot start worker thread", e))?;

        ctx.set_num_flush_bios(1);
        ctx.set_num_discard_bios(1);
        ctx.set_accounts_remapped_io(true);
        Ok(Self {
            worker,
            shared,
            classes: [read, write, flush],
            argc,
        })
    }

    fn map<'a>(&self, ti: &DmTarget<Self>, mut bio: Bio<'a, PerBio>) -> Mapped<'a, PerBio> {
        let id = if !bio.is_write() {
            ClassId::Read
        } else if bio.is_preflush() {
            ClassId::Flush
        } else {
            ClassId::Write
        };
        let class = &self.classes[id as usize];
        let sector = class.start.wrapping_add(ti.target_offset(bio.sector()));
        bio.remap(ti.dev(class.dev), sector);

        let mut q = self.shared.queue.lock();
        let delta = q.delays[id as usize].delta();
        // A bio with no delay goes down at once, unless bios of its class
        // still wait (a message set the delay to 0): then it queues behind
        // them, due at once, so that it does not overtake them.
        if !q.delaying || (delta.is_zero() && q.pending[id as usize].len() == 0) {
            return Mapped::Remapped(bio);
        }
        // The arrival time and number are taken under the lock, so that
        // each FIFO stays sorted even when several CPUs append at once.
        let now = Instant::now();
        let expires = now + delta;
        *bio.data_mut() = PerBio {
            arrived: Some(now),
            seq: q.next_seq,
        };
        q.next_seq = q.next_seq.wrapping_add(1);
        q.pending[id as usize].push_back(bio);
        if q.wake_at.is_none_or(|w| before(expires, w)) {
            q.wake_at = Some(expires);
            self.worker.kick_at(expires);
        }
        Mapped::Submitted
    }

    fn status(&self, ti: &DmTarget<Self>, kind: StatusType, out: &mut dm::Status<'_>) {
        match kind {
            StatusType::Info => {
                let q = self.shared.queue.lock();
                let [r, w, f] = &q.pending;
                let _ = write!(out, "{} {} {}", r.len(), w.len(), f.len());
            }
            StatusType::Table => {
                let delays = self.shared.queue.lock().delays;
                let n = self.triples(&delays);
                for (i, (class, delay)) in self.classes.iter().zip(delays).take(n).enumerate() {
                    let sep = if i > 0 { " " } else { "" };
                    let name = ti.dev(class.dev).name();
                    let _ = write!(out, "{sep}{name} {} {delay}", class.start);
                }
            }
            // Like C, the target measures nothing of its own.
            StatusType::Ima => {}
        }
    }

    fn iterate_devices(
        &self,
        ti: &DmTarget<Self>,
        devs: &mut dm::DevIter<'_>,
    ) -> Result<(), dm::Stop> {
        for class in &self.classes {
            devs.visit(ti.dev(class.dev), class.start)?;
        }
        Ok(())
    }

    fn presuspend(&self) {
        submit(self.shared.stop_delaying());
    }

    fn message(&self, _ti: &DmTarget<Self>, args: &dm::Args<'_>) -> Result {
        self.set_delay(args)
    }

    fn presuspend_undo(&self) {
        self.resume();
    }

    fn resume(&self) {
        self.shared.queue.lock().delaying = true;
    }

    fn report_zones(
        &self,
        ti: &DmTarget<Self>,
        args: &mut dm::ReportZones<'_>,
        nr_zones: u32,
    ) -> Result<u32> {
        let read = &self.classes[ClassId::Read as usize];
        let sector = read
            .start
            .wrapping_add(ti.target_offset(args.next_sector()));
        args.report(ti.dev(read.dev), read.start, sector, nr_zones)
    }
}

impl Drop for Delay {
    fn drop(&mut self) {
        // Nothing should be pending (dm suspends a live table before it
        // destroys it), but never leave a bio behind: submit what is left
        // while the devices are still held (dm puts them after this).
        dm::Target::presuspend(self);
    }
}
