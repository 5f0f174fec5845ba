// SPDX-License-Identifier: GPL-2.0

//! Kernel threads, with a precise, lost-wakeup-free sleep.
//!
//! C header: [`include/linux/kthread.h`](srctree/include/linux/kthread.h).
//!
//! [`KThread::run`] starts a thread that runs a closure; dropping the
//! [`KThread`] stops the thread and waits for it (`kthread_stop()`). The
//! closure gets a [`Context`], through which it checks whether it must stop
//! and sleeps until a deadline with hrtimer precision.
//!
//! # The sleep and its wake-ups
//!
//! Another thread calls [`KThread::kick_at`] to make the thread re-check its
//! work at a time before its deadline, without waking it before that time:
//! it arms the thread's alarm, an hrtimer. When the alarm fires, it sets a
//! "kicked" flag and then wakes the task. [`Context::sleep_until`] marks the
//! task as sleeping with C's
//! `set_current_state(TASK_INTERRUPTIBLE)` (a full barrier after the store)
//! and only then tests and clears the flag and `kthread_should_stop()`. Either
//! the sleeper sees the flag, or the waker's `wake_up_process()` sees the
//! sleeping state and makes the task runnable again, so that the following
//! `schedule_hrtimeout_range()` returns at once: a kick is never lost. Between
//! setting the state and scheduling, the thread calls nothing that may sleep
//! (no mutex), as `CONFIG_DEBUG_ATOMIC_SLEEP` demands. On waking, the thread
//! clears the flag before it re-checks its work, so the kick that woke it
//! does not make its next sleep return at once, for one more check.
//!
//! [`cond_resched`] lets a thread that works through a long batch give up
//! the CPU between items.

use super::raw;
use core::ptr;
use kernel::{
    error::from_err_ptr,
    ffi,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{ordering, Atomic},
        Arc, ArcBorrow, SetOnce,
    },
    task::Task,
    time::{
        hrtimer::{
            AbsoluteMode, HasHrTimer, HrTimer, HrTimerCallback, HrTimerCallbackContext,
            HrTimerExpires, HrTimerRestart,
        },
        Delta, Instant, Monotonic,
    },
    types::NotThreadSafe,
};

/// The timer slack the thread allows when it sleeps until a deadline.
const SLACK: Delta = Delta::from_micros(5);

/// What a thread and its handle share: the kicked flag, and the alarm that
/// sets it and wakes the thread.
#[pin_data]
struct Waker {
    #[pin]
    alarm: HrTimer<Waker>,
    kicked: Atomic<bool>,
    /// The thread; set before it first runs.
    task: SetOnce<ARef<Task>>,
}

impl HrTimerCallback for Waker {
    type Pointer<'a> = Arc<Self>;

    fn run(this: ArcBorrow<'_, Self>, _ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
        this.kicked.store(true, ordering::Release);
        // `wake_up_process()` orders the store above before it reads the
        // task state, pairing with the barrier in `sleep_until`. It may be
        // called from the timer's hard interrupt.
        if let Some(task) = this.task.as_ref() {
            task.wake_up();
        }
        HrTimerRestart::NoRestart
    }
}

kernel::impl_has_hr_timer! {
    impl HasHrTimer<Self> for Waker {
        mode: AbsoluteMode<Monotonic>,
        field: self.alarm,
    }
}

/// What the new thread receives: the waker and the closure.
struct Payload<F> {
    waker: Arc<Waker>,
    f: F,
}

/// A running kernel thread; dropping it stops the thread.
///
/// # Invariants
///
/// `task` is a thread created with `kthread_create_on_node()` and not yet
/// stopped, and `waker.task` holds it. `payload` is the boxed [`Payload`] the
/// thread was given, which `free_payload` frees; the thread takes it over
/// when it starts running. Only this handle arms `waker.alarm`.
pub(crate) struct KThread {
    task: ARef<Task>,
    waker: Arc<Waker>,
    payload: *mut ffi::c_void,
    free_payload: unsafe fn(*mut ffi::c_void),
}

// SAFETY: The handle may stop and wake the thread from any thread; the
// payload pointer is only used in `drop`.
unsafe impl Send for KThread {}

// SAFETY: Shared references only arm the alarm, which the C side locks.
unsafe impl Sync for KThread {}

impl KThread {
    /// Creates a thread named `name` that runs `f`, and starts it.
    ///
    /// `f` should return once [`Context::should_stop`] is true.
    pub(crate) fn run<F>(name: &CStr, f: F) -> Result<Self>
    where
        F: FnOnce(&Context) + Send + 'static,
    {
        let waker = Arc::pin_init(
            pin_init!(Waker {
                alarm <- HrTimer::new(),
                kicked: Atomic::new(false),
                task: SetOnce::new(),
            }),
            GFP_KERNEL,
        )?;
        let payload = KBox::into_raw(KBox::new(
            Payload {
                waker: waker.clone(),
                f,
            },
            GFP_KERNEL,
        )?);
        // SAFETY: `thread_fn::<F>` takes a `Payload<F>` box, which `payload`
        // is; the format string and the name are NUL-terminated.
        let task = unsafe {
            raw::kthread_create_on_node(
                Some(thread_fn::<F>),
                payload.cast(),
                raw::NUMA_NO_NODE,
                c"%s".as_char_ptr(),
                name.as_char_ptr(),
            )
        };
        let task = match from_err_ptr(task) {
            Ok(task) => task,
            Err(e) => {
                // SAFETY: The thread was not created, or never runs
                // `thread_fn`, so the box is still ours.
                drop(unsafe { KBox::from_raw(payload) });
                return Err(e);
            }
        };
        // SAFETY: The thread cannot exit before it is woken up, so `task` is
        // a valid task; `Task` is a transparent wrapper of `task_struct`.
        // Taking a reference keeps it valid until we drop it.
        let task: ARef<Task> = ARef::from(unsafe { &*task.cast::<Task>() });
        waker.task.populate(task.clone());
        task.wake_up();
        // INVARIANT: The thread was created above and runs until stopped;
        // `waker.task` holds it, and the alarm is not armed yet.
        Ok(Self {
            task,
            waker,
            payload: payload.cast(),
            free_payload: free_payload::<F>,
        })
    }

    /// Makes the thread return from [`Context::sleep_until`] at `at` (at
    /// once if `at` has passed), or skip its next sleep if it is not
    /// sleeping then, without waking it before. It replaces the time of an
    /// earlier call whose alarm has not fired: callers that race must agree
    /// on the time under a lock of their own.
    pub(crate) fn kick_at(&self, at: Instant<Monotonic>) {
        // SAFETY: `self.waker` points to a valid `Waker`, which lives until
        // the alarm has fired or is cancelled: `drop` cancels it before it
        // drops its reference.
        unsafe { <Waker as HasHrTimer<Waker>>::start(Arc::as_ptr(&self.waker), at) };
    }
}

impl Drop for KThread {
    fn drop(&mut self) {
        // SAFETY: The alarm is a valid, initialised hrtimer. Nobody can arm it
        // again (`kick_at` takes `&self`), and `hrtimer_cancel()` waits for a
        // running callback, so no callback uses the waker after this.
        unsafe {
            kernel::bindings::hrtimer_cancel(
                <Waker as HasHrTimer<Waker>>::c_timer_ptr(Arc::as_ptr(&self.waker)).cast_mut(),
            )
        };
        // SAFETY: By the type invariant, the task is a kthread not yet
        // stopped; our reference keeps its `task_struct` alive.
        let ret = unsafe { raw::kthread_stop(self.task.as_ptr().cast()) };
        if ret == EINTR.to_errno() {
            // The thread was stopped before it ran `thread_fn` (which always
            // returns 0), so the payload is still ours to free.
            // SAFETY: By the type invariant, `free_payload` matches `payload`,
            // which nobody else owns now.
            unsafe { (self.free_payload)(self.payload) };
        }
    }
}

/// Frees a payload that the thread never took over.
///
/// # Safety
///
/// `p` must be a `Payload<F>` box owned by the caller.
unsafe fn free_payload<F>(p: *mut ffi::c_void) {
    // SAFETY: Guaranteed by the caller.
    drop(unsafe { KBox::from_raw(p.cast::<Payload<F>>()) });
}

/// The thread function.
///
/// # Safety
///
/// `data` must be a `Payload<F>` box, which the function takes over.
unsafe extern "C" fn thread_fn<F>(data: *mut ffi::c_void) -> ffi::c_int
where
    F: FnOnce(&Context) + Send + 'static,
{
    // SAFETY: Guaranteed by the caller; `kthread()` runs this only once.
    let payload = KBox::into_inner(unsafe { KBox::from_raw(data.cast::<Payload<F>>()) });
    let ctx = Context {
        waker: payload.waker,
        _not_send: NotThreadSafe,
    };
    (payload.f)(&ctx);
    0
}

/// The running thread's view of itself.
///
/// It exists only on the thread, for the duration of the closure.
pub(crate) struct Context {
    waker: Arc<Waker>,
    _not_send: NotThreadSafe,
}

impl Context {
    /// Whether the thread has been asked to stop.
    pub(crate) fn should_stop(&self) -> bool {
        // SAFETY: A `Context` exists only on the kthread itself.
        unsafe { raw::kthread_should_stop() }
    }

    /// Sleeps until `deadline` (for ever if `None`), until kicked, or until
    /// asked to stop, whichever comes first. Returns at once if a kick
    /// arrived since the previous sleep returned. The caller re-checks its
    /// work after each return: the kicks that arrived before it are spent.
    pub(crate) fn sleep_until(&self, deadline: Option<Instant<Monotonic>>) {
        // SAFETY: The helper runs C's `set_current_state()` on the current
        // task, which may always change its own state.
        unsafe { raw::rust_dm_delay_helper_set_current_interruptible() };
        if self.waker.kicked.xchg(false, ordering::Full) || self.should_stop() {
            // SAFETY: As above, with `__set_current_state(TASK_RUNNING)`.
            unsafe { raw::rust_dm_delay_helper_set_current_running() };
            return;
        }
        let mut expires = deadline.map(|d| d.as_nanos());
        let expires_ptr = expires.as_mut().map_or(ptr::null_mut(), ptr::from_mut);
        // SAFETY: `expires_ptr` is null (no timeout) or points to a valid
        // absolute CLOCK_MONOTONIC time; the task state is set as the function
        // expects. It returns with the task running.
        unsafe {
            raw::schedule_hrtimeout_range(
                expires_ptr,
                SLACK.as_nanos() as u64,
                raw::hrtimer_mode_HRTIMER_MODE_ABS,
            )
        };
        // The caller re-checks its work now, so a kick that arrived while we
        // slept is spent. The full barrier orders this clear before that
        // check: a kick whose work the check misses stores `true` after it.
        self.waker.kicked.xchg(false, ordering::Full);
    }
}

/// Gives up the CPU if a reschedule is due (C's `cond_resched()`).
///
/// Call it only where the caller may sleep.
pub(crate) fn cond_resched() {
    // SAFETY: The helper only runs C's `cond_resched()`, which has no
    // preconditions beyond a context that may sleep (checked by its own
    // debug hook).
    unsafe { raw::rust_dm_delay_helper_cond_resched() };
}
