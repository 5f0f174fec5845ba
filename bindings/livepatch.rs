// SPDX-License-Identifier: GPL-2.0

//! A safe wrapper for the kernel livepatch API.
//!
//! A crate that uses this wrapper is a livepatch module: it carries the
//! modinfo tag `livepatch=Y`, without which `klp_enable_patch()` refuses it.
//!
//! C header: [`include/linux/livepatch.h`]; see also
//! samples/livepatch/livepatch-sample.c.

use super::raw;
use kernel::{error::to_result, ffi, prelude::*, types::Opaque, ThisModule};

/// The modinfo tag of livepatch modules (`MODULE_INFO(livepatch, "Y")`),
/// emitted the way the `module!` macro emits its own tags.
#[cfg(MODULE)]
#[link_section = ".modinfo"]
#[used(compiler)]
static LIVEPATCH_MODINFO: [u8; 12] = *b"livepatch=Y\0";

/// A function to replace: its name in the patched object and the new code.
pub(crate) struct Func {
    old_name: &'static CStr,
    new_func: *mut ffi::c_void,
}

impl Func {
    /// Describes the replacement of the function named `old_name` by `new_func`.
    ///
    /// # Safety
    ///
    /// `new_func` must be a function with the same C signature and calling
    /// convention as the function named `old_name`, and it must stay valid
    /// while the module is loaded.
    pub(crate) const unsafe fn new(old_name: &'static CStr, new_func: *mut ffi::c_void) -> Self {
        Self { old_name, new_func }
    }
}

/// An enabled livepatch that replaces one function of one object (vmlinux
/// or a module, patched whenever it is loaded).
///
/// From `klp_enable_patch()` on, the livepatch core owns the structures. It
/// holds a reference to the module until the patch has been disabled through
/// `/sys/kernel/livepatch/<module>/enabled` and freed, so the module, and
/// this value, can only go away after that. There is nothing to undo on
/// drop. Enabling must therefore be the last step of module initialisation
/// that can fail.
#[pin_data]
pub(crate) struct Patch {
    #[pin]
    funcs: Opaque<[raw::klp_func; 2]>,
    #[pin]
    objs: Opaque<[raw::klp_object; 2]>,
    #[pin]
    patch: Opaque<raw::klp_patch>,
}

// SAFETY: After initialisation only the livepatch core accesses the
// structures, under its own `klp_mutex`; no method gives access to them.
unsafe impl Send for Patch {}
// SAFETY: See `Send`.
unsafe impl Sync for Patch {}

impl Patch {
    /// Builds a patch of `module` that replaces `func` in the object named
    /// `object` (`None` for vmlinux), and enables it (`klp_enable_patch()`).
    pub(crate) fn enable(
        module: &'static ThisModule,
        object: &'static CStr,
        func: Func,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // The arrays end with a zeroed entry, as the livepatch core expects.
            funcs: Opaque::new([
                raw::klp_func {
                    old_name: func.old_name.as_char_ptr(),
                    new_func: func.new_func,
                    ..Default::default()
                },
                raw::klp_func::default(),
            ]),
            objs: Opaque::new([
                raw::klp_object {
                    name: object.as_char_ptr(),
                    ..Default::default()
                },
                raw::klp_object::default(),
            ]),
            patch <- Opaque::try_ffi_init(|patch: *mut raw::klp_patch| {
                // `funcs` and `objs` are initialised at their final, pinned
                // places before this field.
                let value = raw::klp_patch {
                    mod_: module.as_ptr().cast(),
                    objs: objs.get().cast(),
                    ..Default::default()
                };
                // SAFETY: `patch` and the arrays are valid and pinned, and
                // nothing else accesses them yet. The livepatch core keeps
                // them until the module is unloaded, which it prevents while
                // the patch exists (see the type documentation). `Func::new`
                // guarantees the replacement's signature.
                to_result(unsafe {
                    (*objs.get())[0].funcs = funcs.get().cast();
                    patch.write(value);
                    raw::klp_enable_patch(patch)
                })
            }),
        })
    }
}
