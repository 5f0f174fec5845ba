// SPDX-License-Identifier: GPL-2.0

//! A safe device-mapper target API.
//!
//! C header: [`include/linux/device-mapper.h`](srctree/include/linux/device-mapper.h).
//!
//! A target implements [`Target`] and registers it with a [`Registration`],
//! which unregisters it when dropped. Device-mapper calls the constructor
//! ([`Target::ctr`]) for every table line naming the target; the value it
//! returns lives in `ti->private` until the destructor drops it. Bios reach
//! [`Target::map`] as owned [`Bio`] handles carrying typed per-bio data
//! ([`Target::PerBio`]).
//!
//! Two guarantees hold by type:
//!
//! - The devices a constructor opens belong to this layer, which puts them
//!   in the destructor. The target keeps [`DevId`]s and borrows a device
//!   through [`DmTarget::dev`] for the length of a callback, so no device
//!   can outlive its target.
//! - [`Target::map`] is generic over the brand `'a` of the bio it maps, and
//!   [`Mapped::Remapped`] takes back only a bio of that brand, so a target
//!   can hand device-mapper back no bio but the one being mapped.

use super::raw;
use core::{
    fmt,
    marker::PhantomData,
    mem::{self, ManuallyDrop},
    ptr::{self, NonNull},
};
use kernel::{error::to_result, ffi, prelude::*, types::Opaque, ThisModule};

/// A device-mapper target type.
///
/// The value returned by [`Target::ctr`] is one target instance (one table
/// line). Device-mapper calls [`Target::map`] concurrently on many CPUs, the
/// other methods from process context.
///
/// Implementations carry `#[vtable]`, so that device-mapper sees only the
/// optional callbacks a target provides (`dmsetup message` says "target
/// does not support messages" to a target without [`Target::message`]).
#[vtable]
pub(crate) trait Target: Sized + Send + Sync {
    /// Data that device-mapper keeps next to every bio mapped by the target.
    ///
    /// It is reset to `PerBio::default()` before [`Target::map`] sees a bio.
    type PerBio: Default + Copy + Send;

    /// The name tables use for the target.
    const NAME: &'static CStr;

    /// The target version (major, minor, patch level).
    const VERSION: [u32; 3];

    /// Whether the target passes integrity data through to its devices.
    const PASSES_INTEGRITY: bool = false;

    /// Whether the target supports host-managed zoned devices through
    /// [`Target::report_zones`]. Ignored without `CONFIG_BLK_DEV_ZONED`.
    const ZONED_HM: bool = false;

    /// How many devices every instance opens with [`Ctr::get_device`]; a
    /// constructor that opens another number fails.
    const DEVICES: usize;

    /// Builds a target instance from the table arguments.
    ///
    /// On failure, set the reason with [`Ctr::fail`]; everything acquired so
    /// far is released by being dropped.
    fn ctr(ctx: &mut Ctr<'_, Self>, args: &Args<'_>) -> Result<Self>;

    /// Maps a bio: either remap it and hand it back to device-mapper, or keep
    /// it and submit it later.
    fn map<'a>(&self, ti: &DmTarget<Self>, bio: Bio<'a, Self::PerBio>) -> Mapped<'a, Self::PerBio>;

    /// Writes the status line of the given kind.
    fn status(&self, ti: &DmTarget<Self>, kind: StatusType, out: &mut Status<'_>);

    /// Calls [`DevIter::visit`] for every device section the target uses.
    fn iterate_devices(&self, ti: &DmTarget<Self>, devs: &mut DevIter<'_>) -> Result<(), Stop>;

    /// Called before the device is suspended.
    fn presuspend(&self) {}

    /// Called when a suspend failed after [`Target::presuspend`].
    fn presuspend_undo(&self) {}

    /// Called when the device is resumed.
    fn resume(&self) {}

    /// Handles a message (`dmsetup message <dev> <sector> <args>...`), whose
    /// words are `args`. A message device-mapper itself does not know
    /// reaches the target of the table line at `<sector>`.
    ///
    /// A refused message fails with `EINVAL` after logging why, and changes
    /// nothing.
    fn message(&self, _ti: &DmTarget<Self>, _args: &Args<'_>) -> Result {
        build_error!("the target has no messages")
    }

    /// Reports the zones of the underlying zoned device.
    fn report_zones(
        &self,
        _ti: &DmTarget<Self>,
        _args: &mut ReportZones<'_>,
        _nr_zones: u32,
    ) -> Result<u32> {
        Err(eopnotsupp())
    }
}

/// `EOPNOTSUPP`, which `kernel::error::code` lacks.
fn eopnotsupp() -> Error {
    Error::from_errno(-(kernel::bindings::EOPNOTSUPP as ffi::c_int))
}

/// What [`Target::map`] did with the bio of brand `'a`.
pub(crate) enum Mapped<'a, P> {
    /// The bio was remapped; device-mapper submits it.
    Remapped(Bio<'a, P>),
    /// The target kept the bio and submits it itself later.
    Submitted,
}

/// The kinds of status line.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusType {
    /// Run-time information (`dmsetup status`).
    Info,
    /// The table line (`dmsetup table`).
    Table,
    /// The measurement line for IMA.
    Ima,
}

/// A constructed target instance of type `T` as device-mapper sees it.
///
/// # Invariants
///
/// The `dm_target` was constructed by [`ctr_callback`] for `T` and is not
/// destroyed yet: its `private` holds an [`Instance<T>`].
#[repr(transparent)]
pub(crate) struct DmTarget<T>(Opaque<raw::dm_target>, PhantomData<T>);

impl<T: Target> DmTarget<T> {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ti` must be a target that [`ctr_callback`] constructed for `T`, not
    /// destroyed during the lifetime `'a`.
    unsafe fn from_raw<'a>(ti: *mut raw::dm_target) -> &'a Self {
        // SAFETY: `DmTarget` is a transparent wrapper of `dm_target`, and the
        // caller guarantees validity for `'a`.
        // INVARIANT: The caller guarantees the instance.
        unsafe { &*ti.cast() }
    }

    /// The instance data in `private`.
    fn instance(&self) -> &Instance<T> {
        // SAFETY: By the type invariant, `private` holds an `Instance<T>`,
        // which lives until the destructor, after every borrow of `self`.
        unsafe { &*(*self.0.get()).private.cast::<Instance<T>>() }
    }

    /// Borrows the device that `id` names.
    pub(crate) fn dev(&self, id: DevId<T>) -> &DmDev {
        // Cannot panic: by the invariants of `DevId` and `Instance`,
        // `id.index < T::DEVICES`, which is the number of devices.
        &self.instance().devs[id.index]
    }

    /// The first sector of the target in the mapped device.
    pub(crate) fn begin(&self) -> u64 {
        // SAFETY: `begin` is set before the constructor runs and never
        // changes afterwards.
        unsafe { (*self.0.get()).begin }
    }

    /// The offset of a sector of the mapped device into the target, as C's
    /// `dm_target_offset()`.
    pub(crate) fn target_offset(&self, sector: u64) -> u64 {
        sector.wrapping_sub(self.begin())
    }
}

/// The instance data that `ti->private` holds.
///
/// # Invariants
///
/// `devs` holds exactly `T::DEVICES` devices, opened on the `ti` whose
/// `private` holds this value.
struct Instance<T> {
    /// The target; it drops first, so that its `drop` can still submit to
    /// the devices.
    target: T,
    devs: KVec<DmDev>,
}

/// The constructor's view of a target instance of type `T` being built.
///
/// # Invariants
///
/// `ti` points to the `dm_target` being constructed; device-mapper calls
/// nothing else on it while the constructor runs. `devs` holds the devices
/// opened on `ti` so far, at most `T::DEVICES`.
pub(crate) struct Ctr<'a, T> {
    ti: NonNull<raw::dm_target>,
    devs: KVec<DmDev>,
    _ti: PhantomData<&'a mut raw::dm_target>,
    _t: PhantomData<fn() -> T>,
}

impl<T: Target> Ctr<'_, T> {
    /// Sets the reason for a failed construction (`ti->error`), which
    /// device-mapper logs, and returns `err` for the caller to propagate.
    pub(crate) fn fail(&mut self, msg: &'static CStr, err: Error) -> Error {
        // SAFETY: By the type invariant, `ti` is valid and ours to write;
        // `msg` is a static, NUL-terminated string that dm only reads.
        unsafe { (*self.ti.as_ptr()).error = msg.as_char_ptr().cast_mut() };
        err
    }

    /// Opens a device by path or `major:minor` for the lifetime of the
    /// target, and returns its id; fails with `EINVAL` after `T::DEVICES`
    /// devices.
    pub(crate) fn get_device(&mut self, path: &CStr) -> Result<DevId<T>> {
        let index = self.devs.len();
        if index >= T::DEVICES {
            return Err(EINVAL);
        }
        let ti = self.ti.as_ptr();
        let mut dev: *mut raw::dm_dev = ptr::null_mut();
        // SAFETY: By the type invariant, `ti` and its table are valid; `path`
        // is NUL-terminated and `dev` is a valid place for the result.
        let ret = unsafe {
            raw::dm_get_device(
                ti,
                path.as_char_ptr(),
                raw::dm_table_get_mode((*ti).table),
                &mut dev,
            )
        };
        to_result(ret)?;
        // INVARIANT: `dm_get_device()` succeeded, so `dev` is a device held on
        // `ti`, and only `self` and then the instance own it.
        let dev = DmDev {
            dev: NonNull::new(dev).ok_or(EINVAL)?,
            ti: self.ti,
        };
        // INVARIANT: `index < T::DEVICES`; the list grows to `index + 1`.
        self.devs.push(dev, GFP_KERNEL)?;
        Ok(DevId {
            index,
            _p: PhantomData,
        })
    }

    /// Sets how many empty flush bios each flush sends to the target.
    pub(crate) fn set_num_flush_bios(&mut self, n: u32) {
        // SAFETY: By the type invariant, `ti` is valid and ours to write.
        unsafe { (*self.ti.as_ptr()).num_flush_bios = n };
    }

    /// Sets how many bios each discard sends to the target.
    pub(crate) fn set_num_discard_bios(&mut self, n: u32) {
        // SAFETY: By the type invariant, `ti` is valid and ours to write.
        unsafe { (*self.ti.as_ptr()).num_discard_bios = n };
    }

    /// Lets device-mapper account the I/O statistics of remapped bios.
    pub(crate) fn set_accounts_remapped_io(&mut self, on: bool) {
        // SAFETY: By the type invariant, `ti` is valid and ours to write.
        unsafe { (*self.ti.as_ptr()).set_accounts_remapped_io(on) };
    }
}

/// The arguments of a table line or of a message.
///
/// # Invariants
///
/// Every pointer in `argv` is a NUL-terminated string, valid and unchanged
/// for `'a`.
pub(crate) struct Args<'a> {
    argv: &'a [*mut ffi::c_char],
}

impl<'a> Args<'a> {
    /// Wraps the argument vector device-mapper passes to a callback.
    ///
    /// # Safety
    ///
    /// Unless `argc` is 0 or `argv` is null, `argv` points to `argc` pointers
    /// to NUL-terminated strings, all valid and unchanged for `'a`.
    unsafe fn from_raw(argc: ffi::c_uint, argv: *mut *mut ffi::c_char) -> Self {
        let argv: &[*mut ffi::c_char] = if argc == 0 || argv.is_null() {
            &[]
        } else {
            // SAFETY: Guaranteed by the caller.
            unsafe { core::slice::from_raw_parts(argv, argc as usize) }
        };
        // INVARIANT: Guaranteed by the caller.
        Self { argv }
    }

    /// The number of arguments.
    pub(crate) fn len(&self) -> usize {
        self.argv.len()
    }

    /// Argument `i`, if there is one.
    pub(crate) fn get(&self, i: usize) -> Option<&'a CStr> {
        // SAFETY: By the type invariant, the string is valid for `'a`.
        self.argv.get(i).map(|&p| unsafe { CStr::from_char_ptr(p) })
    }
}

/// Names the device that the `index`-th [`Ctr::get_device`] call of a
/// constructor opened; [`DmTarget::dev`] borrows it.
///
/// # Invariants
///
/// `index < T::DEVICES`, so every instance of `T` has that device.
pub(crate) struct DevId<T> {
    index: usize,
    _p: PhantomData<fn() -> T>,
}

impl<T> Clone for DevId<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for DevId<T> {}

/// A device opened with `dm_get_device()`.
///
/// Only this module owns one, in [`Ctr`] and then in [`Instance`]; targets
/// borrow it for the length of a callback.
///
/// # Invariants
///
/// `dev` was returned by `dm_get_device()` on `ti` and is not put yet; `ti`
/// stays valid as long as this value exists (the constructor and then the
/// destructor drop it, before device-mapper frees `ti`).
pub(crate) struct DmDev {
    dev: NonNull<raw::dm_dev>,
    ti: NonNull<raw::dm_target>,
}

impl DmDev {
    /// The device name as device-mapper prints it (`major:minor`).
    pub(crate) fn name(&self) -> &str {
        // SAFETY: By the type invariant, `dev` is valid; `name` is a
        // NUL-terminated array that never changes.
        let name = unsafe { CStr::from_char_ptr((*self.dev.as_ptr()).name.as_ptr()) };
        // dm writes the name with `format_dev_t()`, so it is ASCII.
        name.to_str().unwrap_or("?")
    }

    fn bdev(&self) -> *mut raw::block_device {
        // SAFETY: By the type invariant, `dev` is valid.
        unsafe { (*self.dev.as_ptr()).bdev }
    }
}

impl Drop for DmDev {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `dev` is held on the valid `ti` and
        // is put exactly once, here.
        unsafe { raw::dm_put_device(self.ti.as_ptr(), self.dev.as_ptr()) };
    }
}

/// An owned bio that device-mapper passed to [`Target::map`].
///
/// Dropping it submits it with `dm_submit_bio_remap()`, so a bio the target
/// kept can never be lost.
///
/// `'a` is an invariant brand. [`Target::map`] is generic over the brand of
/// the bio it maps, and no function gives out a bio of a caller-chosen brand
/// (a [`BioList`] gives back bios of brand `'static`), so the only bio of
/// that brand is the one being mapped.
///
/// # Invariants
///
/// `bio` was passed to the map function of a target whose per-bio data type
/// is `P`; its per-bio data is initialised, and this handle owns the bio:
/// nobody else touches it until it is submitted or handed back to dm.
pub(crate) struct Bio<'a, P> {
    bio: NonNull<raw::bio>,
    _p: PhantomData<P>,
    _brand: Brand<'a>,
}

/// An invariant lifetime, which can be neither shortened nor extended.
type Brand<'a> = PhantomData<fn(&'a ()) -> &'a ()>;

// SAFETY: A bio owned by a target may be submitted from any thread.
unsafe impl<P: Send> Send for Bio<'_, P> {}

impl<P> Bio<'_, P> {
    /// Builds the handle.
    ///
    /// # Safety
    ///
    /// `bio` must satisfy the type invariants.
    unsafe fn from_raw(bio: NonNull<raw::bio>) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self {
            bio,
            _p: PhantomData,
            _brand: PhantomData,
        }
    }

    /// Gives up ownership without submitting.
    fn into_raw(self) -> NonNull<raw::bio> {
        ManuallyDrop::new(self).bio
    }

    /// Returns the location of the per-bio data.
    fn data_ptr(&self) -> *mut P {
        // SAFETY: By the type invariant, the bio belongs to a target whose
        // `per_io_data_size` is `size_of::<P>()`.
        unsafe { raw::dm_per_bio_data(self.bio.as_ptr(), mem::size_of::<P>()).cast() }
    }

    fn opf(&self) -> u32 {
        // SAFETY: By the type invariant, we own the bio.
        unsafe { (*self.bio.as_ptr()).bi_opf }
    }

    /// Whether the bio writes (its data direction is `WRITE`).
    pub(crate) fn is_write(&self) -> bool {
        // SAFETY: By the type invariant, we own the bio; the helper only reads
        // its operation (C's `op_is_write(bio_op(bio))`).
        unsafe { raw::rust_dm_delay_helper_bio_is_write(self.bio.as_ptr()) }
    }

    /// Whether the bio asks for a cache flush before it (`REQ_PREFLUSH`).
    pub(crate) fn is_preflush(&self) -> bool {
        self.opf() & (1u32 << raw::req_flag_bits___REQ_PREFLUSH) != 0
    }

    /// The first sector the bio addresses.
    pub(crate) fn sector(&self) -> u64 {
        // SAFETY: By the type invariant, we own the bio.
        unsafe { (*self.bio.as_ptr()).bi_iter.bi_sector }
    }

    /// Points the bio at `sector` of `dev` (C's `bio_set_dev()` and a
    /// sector update).
    pub(crate) fn remap(&mut self, dev: &DmDev, sector: u64) {
        let bio = self.bio.as_ptr();
        // SAFETY: By the type invariant, we own the bio; `dev` holds its block
        // device open.
        unsafe {
            raw::rust_dm_delay_helper_bio_set_dev(bio, dev.bdev());
            (*bio).bi_iter.bi_sector = sector;
        }
    }

    /// The per-bio data, mutably.
    pub(crate) fn data_mut(&mut self) -> &mut P {
        // SAFETY: By the type invariant, the data is initialised and owned
        // through `self`.
        unsafe { &mut *self.data_ptr() }
    }

    /// Submits the bio to the device it was remapped to.
    pub(crate) fn submit(self) {
        drop(self);
    }
}

impl<P> Drop for Bio<'_, P> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, we own the bio, which map() kept
        // (returned `DM_MAPIO_SUBMITTED` for, or is about to); ownership passes
        // to the block layer here.
        unsafe { raw::dm_submit_bio_remap(self.bio.as_ptr(), ptr::null_mut()) };
    }
}

/// A FIFO of owned bios, chained through `bi_next` as C's `bio_list`.
///
/// Appending and taking the first bio are O(1). Dropping the list submits
/// the bios it still holds, in order.
///
/// # Invariants
///
/// `head` is null or the first of `len` bios chained through `bi_next`,
/// ending at `tail` (whose `bi_next` is null). Every bio satisfies the
/// invariants of [`Bio`] with the list as its owner.
pub(crate) struct BioList<P> {
    head: *mut raw::bio,
    tail: *mut raw::bio,
    len: usize,
    _p: PhantomData<P>,
}

// SAFETY: The list owns its bios, which may be submitted from any thread.
unsafe impl<P: Send> Send for BioList<P> {}

impl<P> Default for BioList<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P> BioList<P> {
    /// An empty list.
    pub(crate) const fn new() -> Self {
        // INVARIANT: The empty list.
        Self {
            head: ptr::null_mut(),
            tail: ptr::null_mut(),
            len: 0,
            _p: PhantomData,
        }
    }

    /// The number of bios in the list.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends a bio.
    pub(crate) fn push_back(&mut self, bio: Bio<'_, P>) {
        let bio = bio.into_raw().as_ptr();
        // SAFETY: We own `bio` (and, by the type invariant, `tail`); an owned
        // bio's `bi_next` is free for the owner's use.
        unsafe {
            (*bio).bi_next = ptr::null_mut();
            if self.tail.is_null() {
                self.head = bio;
            } else {
                (*self.tail).bi_next = bio;
            }
        }
        // INVARIANT: `bio` is linked at the end.
        self.tail = bio;
        self.len += 1;
    }

    /// Takes the first bio.
    pub(crate) fn pop_front(&mut self) -> Option<Bio<'static, P>> {
        let bio = NonNull::new(self.head)?;
        // SAFETY: By the type invariant, `head` is an owned bio of the list.
        unsafe {
            self.head = (*bio.as_ptr()).bi_next;
            (*bio.as_ptr()).bi_next = ptr::null_mut();
        }
        if self.head.is_null() {
            self.tail = ptr::null_mut();
        }
        self.len -= 1;
        // SAFETY: By the type invariant, the bio satisfies the invariants of
        // `Bio`, and it is unlinked, so the handle is its only owner.
        Some(unsafe { Bio::from_raw(bio) })
    }

    /// The per-bio data of the first bio.
    pub(crate) fn front(&self) -> Option<&P> {
        let bio = NonNull::new(self.head)?;
        // SAFETY: By the type invariant, `head` is a bio with initialised
        // per-bio data of type `P`, owned by the list; the reference cannot
        // outlive the borrow of the list.
        unsafe {
            let data = raw::dm_per_bio_data(bio.as_ptr(), mem::size_of::<P>());
            Some(&*data.cast::<P>())
        }
    }
}

impl<P> Drop for BioList<P> {
    fn drop(&mut self) {
        while let Some(bio) = self.pop_front() {
            bio.submit();
        }
    }
}

/// A status line being written (C's `DMEMIT`): output past the buffer's end
/// is dropped, and the line always stays NUL-terminated.
pub(crate) struct Status<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl fmt::Write for Status<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Keep one byte for the terminating NUL.
        let room = self.buf.len().saturating_sub(self.len + 1);
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if let Some(end) = self.buf.get_mut(self.len) {
            *end = 0;
        }
        Ok(())
    }
}

/// Returned by [`DevIter::visit`] when the iteration must stop; carries the
/// callout's result back to device-mapper.
pub(crate) struct Stop(ffi::c_int);

/// The device iteration of [`Target::iterate_devices`].
pub(crate) struct DevIter<'a> {
    ti: *mut raw::dm_target,
    callout: unsafe extern "C" fn(
        *mut raw::dm_target,
        *mut raw::dm_dev,
        raw::sector_t,
        raw::sector_t,
        *mut ffi::c_void,
    ) -> ffi::c_int,
    data: *mut ffi::c_void,
    _p: PhantomData<&'a mut ()>,
}

impl DevIter<'_> {
    /// Reports that the target uses `dev` from sector `start` on, for the
    /// length of the target.
    pub(crate) fn visit(&mut self, dev: &DmDev, start: u64) -> Result<(), Stop> {
        // SAFETY: `ti`, `callout` and `data` come from device-mapper's
        // `iterate_devices` call, which is running; `dev` is held on `ti`.
        let ret =
            unsafe { (self.callout)(self.ti, dev.dev.as_ptr(), start, (*self.ti).len, self.data) };
        if ret != 0 {
            Err(Stop(ret))
        } else {
            Ok(())
        }
    }
}

/// The arguments of a zone report ([`Target::report_zones`]).
pub(crate) struct ReportZones<'a> {
    #[cfg(CONFIG_BLK_DEV_ZONED)]
    args: NonNull<raw::dm_report_zones_args>,
    _p: PhantomData<&'a mut ()>,
}

#[cfg(CONFIG_BLK_DEV_ZONED)]
impl ReportZones<'_> {
    /// The next sector of the mapped device to report zones from.
    pub(crate) fn next_sector(&self) -> u64 {
        // SAFETY: `args` is valid while device-mapper's report runs.
        unsafe { (*self.args.as_ptr()).next_sector }
    }

    /// Reports up to `nr_zones` zones of `dev` from `sector` on, where the
    /// target starts at sector `start` of `dev` (C's `dm_report_zones()`).
    /// Returns the number of zones reported.
    pub(crate) fn report(
        &mut self,
        dev: &DmDev,
        start: u64,
        sector: u64,
        nr_zones: u32,
    ) -> Result<u32> {
        // SAFETY: `args` is valid while the report runs; `dev` is held.
        let ret = unsafe {
            raw::dm_report_zones(dev.bdev(), start, sector, self.args.as_ptr(), nr_zones)
        };
        to_result(ret)?;
        Ok(ret as u32)
    }
}

#[cfg(not(CONFIG_BLK_DEV_ZONED))]
impl ReportZones<'_> {
    /// The next sector of the mapped device to report zones from.
    pub(crate) fn next_sector(&self) -> u64 {
        0
    }

    /// Zone reports need `CONFIG_BLK_DEV_ZONED`.
    pub(crate) fn report(&mut self, _: &DmDev, _: u64, _: u64, _: u32) -> Result<u32> {
        Err(eopnotsupp())
    }
}

/// The registration of a target type with device-mapper.
///
/// # Invariants
///
/// `tt` is registered with device-mapper for as long as this value exists.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: Target> {
    #[pin]
    tt: Opaque<raw::target_type>,
    _p: PhantomData<T>,
}

// SAFETY: The registration only holds the target type table, which
// device-mapper reads from any thread; `T` is `Send + Sync`.
unsafe impl<T: Target> Send for Registration<T> {}

// SAFETY: See above; shared references do nothing.
unsafe impl<T: Target> Sync for Registration<T> {}

impl<T: Target> Registration<T> {
    /// Registers the target type `T`; fails with `EEXIST` if a target of the
    /// same name is registered already.
    ///
    /// Note that the module loader turns an `EEXIST` from a module's init
    /// into `EBUSY`, as `EEXIST` means "already loaded" to `init_module()`.
    pub(crate) fn new(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            tt <- Opaque::try_ffi_init(move |tt: *mut raw::target_type| {
                let mut features = 0u64;
                if T::PASSES_INTEGRITY {
                    features |= u64::from(raw::DM_TARGET_PASSES_INTEGRITY);
                }
                let mut t = raw::target_type {
                    features,
                    name: T::NAME.as_char_ptr(),
                    module: module.as_ptr().cast(),
                    version: T::VERSION,
                    ctr: Some(ctr_callback::<T>),
                    dtr: Some(dtr_callback::<T>),
                    map: Some(map_callback::<T>),
                    presuspend: Some(presuspend_callback::<T>),
                    presuspend_undo: Some(presuspend_undo_callback::<T>),
                    resume: Some(resume_callback::<T>),
                    status: Some(status_callback::<T>),
                    iterate_devices: Some(iterate_devices_callback::<T>),
                    message: if T::HAS_MESSAGE {
                        Some(message_callback::<T>)
                    } else {
                        None
                    },
                    ..Default::default()
                };
                #[cfg(CONFIG_BLK_DEV_ZONED)]
                if T::ZONED_HM {
                    t.features |= u64::from(raw::DM_TARGET_ZONED_HM);
                    t.report_zones = Some(report_zones_callback::<T>);
                }
                // SAFETY: `tt` is valid for writes and pinned.
                unsafe { tt.write(t) };
                // SAFETY: `tt` is a fully initialised target type that stays
                // at this address until `drop` unregisters it.
                let ret = unsafe { raw::dm_register_target(tt) };
                // dm reports a taken name as `EBUSY`.
                to_result(ret).map_err(|e| if e == EBUSY { EEXIST } else { e })
            }),
            _p: PhantomData,
        })
    }
}

#[pinned_drop]
impl<T: Target> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant, `tt` is registered. Device-mapper
        // holds a reference on the module while any instance exists, so none
        // exists now.
        unsafe { raw::dm_unregister_target(self.tt.get()) };
    }
}

/// Returns the target that `ti` holds, and `ti` as a [`DmTarget`].
///
/// # Safety
///
/// `ti` must be a constructed instance of target type `T`, not destroyed yet,
/// and stay so for `'a`.
unsafe fn instance<'a, T: Target>(ti: *mut raw::dm_target) -> (&'a T, &'a DmTarget<T>) {
    // SAFETY: Guaranteed by the caller.
    let dm_ti = unsafe { DmTarget::<T>::from_raw(ti) };
    (&dm_ti.instance().target, dm_ti)
}

/// The `ctr` callback: builds an instance with [`Target::ctr`] and keeps it
/// in `ti->private`.
///
/// # Safety
///
/// `ti` must be a target being constructed by device-mapper, with `argc`
/// valid argument strings at `argv`.
unsafe extern "C" fn ctr_callback<T: Target>(
    ti: *mut raw::dm_target,
    argc: ffi::c_uint,
    argv: *mut *mut ffi::c_char,
) -> ffi::c_int {
    // SAFETY: device-mapper passes `argc` valid strings that live as long
    // as this call.
    let args = unsafe { Args::from_raw(argc, argv) };
    let Some(ti_nn) = NonNull::new(ti) else {
        return EINVAL.to_errno();
    };
    // INVARIANT: device-mapper is constructing `ti`; no device is open yet.
    // Whatever fails below drops `ctx`, which puts the devices while `ti` is
    // still valid.
    let mut ctx = Ctr {
        ti: ti_nn,
        devs: KVec::new(),
        _ti: PhantomData,
        _t: PhantomData,
    };
    let target = match T::ctr(&mut ctx, &args) {
        Ok(t) => t,
        Err(e) => return e.to_errno(),
    };
    if ctx.devs.len() != T::DEVICES {
        return ctx.fail(c"Wrong number of devices", EINVAL).to_errno();
    }
    // INVARIANT: The instance holds the `T::DEVICES` devices opened on `ti`.
    let instance = Instance {
        target,
        devs: mem::take(&mut ctx.devs),
    };
    let instance = match KBox::new(instance, GFP_KERNEL) {
        Ok(i) => i,
        Err(_) => return ctx.fail(c"Cannot allocate context", ENOMEM).to_errno(),
    };
    // SAFETY: `ti` is ours during construction; the per-bio size matches the
    // type `Bio` reads it as, and `private` holds the instance until the
    // destructor takes it back.
    unsafe {
        (*ti).per_io_data_size = mem::size_of::<T::PerBio>() as u32;
        (*ti).private = KBox::into_raw(instance).cast();
    }
    0
}

/// The `dtr` callback: drops the instance.
///
/// # Safety
///
/// `ti` must be a target that [`ctr_callback`] constructed for `T`, which
/// device-mapper no longer uses.
unsafe extern "C" fn dtr_callback<T: Target>(ti: *mut raw::dm_target) {
    // SAFETY: The constructor succeeded (dm calls the destructor only then)
    // and stored a `KBox<Instance<T>>` in `private`; dm calls nothing else
    // after this. Dropping it drops the target, then puts the devices, while
    // `ti` is valid.
    drop(unsafe { KBox::from_raw((*ti).private.cast::<Instance<T>>()) });
}

/// The `map` callback: hands the bio to [`Target::map`].
///
/// # Safety
///
/// Only device-mapper calls it, through the target type table that
/// [`Registration`] registers for `T`, with a `ti` that [`ctr_callback`]
/// constructed and valid arguments.
unsafe extern "C" fn map_callback<T: Target>(
    ti: *mut raw::dm_target,
    bio: *mut raw::bio,
) -> ffi::c_int {
    const {
        // dm places the per-bio data right before its `dm_target_io`, which
        // is 8-byte aligned.
        assert!(mem::align_of::<T::PerBio>() <= 8);
        assert!(mem::size_of::<T::PerBio>() % mem::align_of::<T::PerBio>() == 0);
    }
    // SAFETY: device-mapper maps bios only on constructed instances.
    let (target, dm_ti) = unsafe { instance::<T>(ti) };
    let Some(bio) = NonNull::new(bio) else {
        return EINVAL.to_errno();
    };
    // SAFETY: The per-bio area of `per_io_data_size` bytes belongs to the
    // target while it owns the bio; initialise it before building the handle.
    unsafe {
        raw::dm_per_bio_data(bio.as_ptr(), mem::size_of::<T::PerBio>())
            .cast::<T::PerBio>()
            .write(T::PerBio::default())
    };
    // SAFETY: dm passed this bio to the map function of target type `T`, with
    // initialised per-bio data; the map function owns it.
    let bio = unsafe { Bio::from_raw(bio) };
    match target.map(dm_ti, bio) {
        Mapped::Remapped(bio) => {
            // `map` is generic over the brand of `bio`, so this is the bio it
            // was given. Ownership goes back to device-mapper, which submits
            // it.
            let _ = bio.into_raw();
            raw::DM_MAPIO_REMAPPED as ffi::c_int
        }
        Mapped::Submitted => raw::DM_MAPIO_SUBMITTED as ffi::c_int,
    }
}

/// The `presuspend` callback.
///
/// # Safety
///
/// Only device-mapper calls it, through the target type table that
/// [`Registration`] registers for `T`, with a `ti` that [`ctr_callback`]
/// constructed and valid arguments.
unsafe extern "C" fn presuspend_callback<T: Target>(ti: *mut raw::dm_target) {
    // SAFETY: dm suspends only constructed instances.
    unsafe { instance::<T>(ti) }.0.presuspend();
}

/// The `presuspend_undo` callback.
///
/// # Safety
///
/// Only device-mapper calls it, through the target type table that
/// [`Registration`] registers for `T`, with a `ti` that [`ctr_callback`]
/// constructed and valid arguments.
unsafe extern "C" fn presuspend_undo_callback<T: Target>(ti: *mut raw::dm_target) {
    // SAFETY: dm suspends only constructed instances.
    unsafe { instance::<T>(ti) }.0.presuspend_undo();
}

/// The `resume` callback.
///
/// # Safety
///
/// Only device-mapper calls it, through the target type table that
/// [`Registration`] registers for `T`, with a `ti` that [`ctr_callback`]
/// constructed and valid arguments.
unsafe extern "C" fn resume_callback<T: Target>(ti: *mut raw::dm_target) {
    // SAFETY: dm resumes only constructed instances.
    unsafe { instance::<T>(ti) }.0.resume();
}

/// The `status` callback: writes into dm's buffer through [`Status`].
///
/// # Safety
///
/// Only device-mapper calls it, through the target type table that
/// [`Registration`] registers for `T`, with a `ti` that [`ctr_callback`]
/// constructed and valid arguments.
unsafe extern "C" fn status_callback<T: Target>(
    ti: *mut raw::dm_target,
    kind: raw::status_type_t,
    _status_flags: ffi::c_uint,
    result: *mut ffi::c_char,
    maxlen: ffi::c_uint,
) {
    let kind = match kind {
        raw::status_type_t_STATUSTYPE_INFO => StatusType::Info,
        raw::status_type_t_STATUSTYPE_TABLE => StatusType::Table,
        _ => StatusType::Ima,
    };
    if result.is_null() || maxlen == 0 {
        return;
    }
    // SAFETY: device-mapper passes a buffer of `maxlen` bytes.
    let buf = unsafe { core::slice::from_raw_parts_mut(result.cast::<u8>(), maxlen as usize) };
    buf[0] = 0;
    let mut out = Status { buf, len: 0 };
    // SAFETY: dm asks only constructed instances for their status.
    let (target, dm_ti) = unsafe { instance::<T>(ti) };
    target.status(dm_ti, kind, &mut out);
}

/// The `message` callback: hands the words after the sector to
/// [`Target::message`]. The target writes no result text.
///
/// # Safety
///
/// Only device-mapper calls it, through the target type table that
/// [`Registration`] registers for `T`, with a `ti` that [`ctr_callback`]
/// constructed and `argc` valid argument strings at `argv`.
unsafe extern "C" fn message_callback<T: Target>(
    ti: *mut raw::dm_target,
    argc: ffi::c_uint,
    argv: *mut *mut ffi::c_char,
    _result: *mut ffi::c_char,
    _maxlen: ffi::c_uint,
) -> ffi::c_int {
    // SAFETY: device-mapper passes `argc` valid strings that live as long
    // as this call.
    let args = unsafe { Args::from_raw(argc, argv) };
    // SAFETY: dm sends messages only to constructed instances of the live
    // table, which it keeps alive for the call.
    let (target, dm_ti) = unsafe { instance::<T>(ti) };
    match target.message(dm_ti, &args) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The `iterate_devices` callback.
///
/// # Safety
///
/// Only device-mapper calls it, through the target type table that
/// [`Registration`] registers for `T`, with a `ti` that [`ctr_callback`]
/// constructed and valid arguments.
unsafe extern "C" fn iterate_devices_callback<T: Target>(
    ti: *mut raw::dm_target,
    callout: raw::iterate_devices_callout_fn,
    data: *mut ffi::c_void,
) -> ffi::c_int {
    let Some(callout) = callout else {
        return 0;
    };
    let mut devs = DevIter {
        ti,
        callout,
        data,
        _p: PhantomData,
    };
    // SAFETY: dm iterates only over constructed instances.
    let (target, dm_ti) = unsafe { instance::<T>(ti) };
    match target.iterate_devices(dm_ti, &mut devs) {
        Ok(()) => 0,
        Err(Stop(ret)) => ret,
    }
}

/// The `report_zones` callback.
///
/// # Safety
///
/// Only device-mapper calls it, through the target type table that
/// [`Registration`] registers for `T`, with a `ti` that [`ctr_callback`]
/// constructed and valid arguments.
#[cfg(CONFIG_BLK_DEV_ZONED)]
unsafe extern "C" fn report_zones_callback<T: Target>(
    ti: *mut raw::dm_target,
    args: *mut raw::dm_report_zones_args,
    nr_zones: ffi::c_uint,
) -> ffi::c_int {
    let Some(args) = NonNull::new(args) else {
        return EINVAL.to_errno();
    };
    let mut args = ReportZones {
        args,
        _p: PhantomData,
    };
    // SAFETY: dm reports zones only of constructed instances.
    let (target, dm_ti) = unsafe { instance::<T>(ti) };
    match target.report_zones(dm_ti, &mut args, nr_zones) {
        Ok(n) => n as ffi::c_int,
        Err(e) => e.to_errno(),
    }
}
