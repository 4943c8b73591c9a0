// SPDX-License-Identifier: GPL-2.0

//! Files in `/proc`.
//!
//! C header: [`include/linux/proc_fs.h`](srctree/include/linux/proc_fs.h)
//!
//! A [`Registration`] creates one read-only, seekable file whose contents a
//! [`ProcFile`] serves; every open shares that one value. Dropping the
//! registration removes the file, waits for the calls in flight, then drops
//! the value.
//!
//! # Examples
//!
//! ```
//! use kernel::c_str;
//! use kernel::iov::IovIterDest;
//! use kernel::proc_fs::{ProcFile, Registration};
//!
//! /// `/proc/rust_proc_fs_example` reads as `hello`.
//! struct Hello;
//!
//! #[vtable]
//! impl ProcFile for Hello {
//!     fn read(&self, out: &mut IovIterDest<'_>, pos: u64) -> Result<usize> {
//!         let text: &[u8] = b"hello";
//!         let at = usize::try_from(pos).unwrap_or(usize::MAX).min(text.len());
//!         let n = (text.len() - at).min(out.len());
//!         out.write_all(&text[at..at + n])?;
//!         Ok(n)
//!     }
//! }
//!
//! let name = c_str!("rust_proc_fs_example");
//! let file = Registration::new::<core::convert::Infallible>(name, 0o400, 5, Hello)?;
//! // The file exists until the registration is dropped.
//! drop(file);
//! # Ok::<(), Error>(())
//! ```

use crate::{
    alloc::{flags::GFP_KERNEL, KBox},
    bindings,
    error::{code::*, from_result, Error, Result, VTABLE_DEFAULT_ERROR},
    ffi::c_int,
    init::{InPlaceInit, PinInit},
    iov::IovIterDest,
    mm::virt::VmaNew,
    str::CStr,
};
use core::{marker::PhantomData, pin::Pin, ptr::NonNull};
use macros::vtable;

/// What a `/proc` file made by [`Registration`] does.
#[vtable]
pub trait ProcFile: Send + Sync + Sized {
    /// Called on every `open()`; an error fails the open.
    fn open(&self) -> Result {
        Ok(())
    }

    /// Copies the file's bytes from offset `pos` into `out` and returns how
    /// many it copied: 0 at or past the end, fewer than `out.len()` only at
    /// the end. Serves `read()`, `readv()`, `splice()` and `sendfile()`.
    fn read(&self, out: &mut IovIterDest<'_>, pos: u64) -> Result<usize>;

    /// Maps the file into `vma`, the area being created, from
    /// `vma.pgoff()` pages in. Without it, `mmap()` fails with `ENODEV`.
    fn mmap(&self, _vma: &VmaNew) -> Result {
        crate::build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A file in `/proc` served by a `T`.
///
/// # Invariants
///
/// `pde` is the entry `proc_create_data()` returned for `data`, which is a
/// leaked, pinned `KBox<T>` that only this registration frees, after
/// removing the entry.
pub struct Registration<T: ProcFile> {
    pde: NonNull<bindings::proc_dir_entry>,
    data: NonNull<T>,
}

// SAFETY: the registration only removes the entry and drops `T`, which is
// `Send`; both may happen on any thread.
unsafe impl<T: ProcFile> Send for Registration<T> {}
// SAFETY: `&Registration` gives only `&T`, and `T` is `Sync`, and sets
// the entry's size, a plain field.
unsafe impl<T: ProcFile> Sync for Registration<T> {}

impl<T: ProcFile> Registration<T> {
    /// Creates `/proc/<name>` with permission bits `mode` (e.g. `0o400`),
    /// showing `size` as its size, served by the `T` that `data`
    /// initialises in place (it may hold locks, which must not move).
    pub fn new<E>(name: &CStr, mode: u16, size: u64, data: impl PinInit<T, E>) -> Result<Self>
    where
        Error: From<E>,
    {
        let size = i64::try_from(size).map_err(|_| EINVAL)?;
        let data = KBox::pin_init(data, GFP_KERNEL)?;
        // SAFETY: the `T` is never moved out of its box: it is only reached
        // by reference, and dropped in place by `drop()` below.
        let data = KBox::into_raw(unsafe { Pin::into_inner_unchecked(data) });
        // SAFETY: `name` is NUL-terminated and copied by procfs; the ops are
        // a constant, hence live forever; `data` is valid until `drop()`
        // below, which removes the entry first.
        let pde = unsafe {
            bindings::proc_create_data(
                name.as_char_ptr(),
                mode,
                core::ptr::null_mut(),
                &Adapter::<T>::OPS,
                data.cast(),
            )
        };
        let Some(pde) = NonNull::new(pde) else {
            // SAFETY: `data` came from `KBox::into_raw` and was not shared;
            // dropping the box drops `T` in place.
            drop(unsafe { KBox::from_raw(data) });
            return Err(ENOMEM);
        };
        // SAFETY: `pde` was just created.
        unsafe { bindings::proc_set_size(pde.as_ptr(), size) };
        // SAFETY: `KBox::into_raw` never returns null.
        let data = unsafe { NonNull::new_unchecked(data) };
        // INVARIANT: `pde` was created for `data`, leaked above.
        Ok(Self { pde, data })
    }
}

impl<T: ProcFile> Registration<T> {
    /// The `T` that serves the file.
    pub fn data(&self) -> &T {
        // SAFETY: `data` lives, pinned, until `drop()` (type invariant);
        // shared references never move it.
        unsafe { self.data.as_ref() }
    }

    /// Shows `size` as the file's size from now on, as `proc_set_size()`:
    /// inodes already made for the file keep the size they were given.
    pub fn set_size(&self, size: u64) -> Result {
        let size = i64::try_from(size).map_err(|_| EINVAL)?;
        // SAFETY: `pde` is ours (type invariant); the size is a plain
        // field that procfs reads when it makes an inode.
        unsafe { bindings::proc_set_size(self.pde.as_ptr(), size) };
        Ok(())
    }
}

impl<T: ProcFile> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: `pde` is ours (type invariant). proc_remove() waits until
        // no call is in flight and makes new ones fail.
        unsafe { bindings::proc_remove(self.pde.as_ptr()) };
        // SAFETY: nothing can reach `data` any more; it came from
        // `KBox::into_raw` (type invariant). Dropping the box drops `T` in
        // place, as pinning requires.
        drop(unsafe { KBox::from_raw(self.data.as_ptr()) });
    }
}

struct Adapter<T>(PhantomData<T>);

impl<T: ProcFile> Adapter<T> {
    const OPS: bindings::proc_ops = bindings::proc_ops {
        proc_open: Some(Self::open),
        proc_read_iter: Some(Self::read_iter),
        proc_lseek: Some(bindings::default_llseek),
        proc_mmap: if T::HAS_MMAP { Some(Self::mmap) } else { None },
        // SAFETY: all-zero is a valid `proc_ops`: no flags, no more ops.
        ..unsafe { core::mem::zeroed() }
    };

    /// The `T` of the file's entry.
    ///
    /// # Safety
    ///
    /// `inode` must be the inode of a file made by a live [`Registration`]
    /// of this `T`, in a call procfs has not returned from.
    unsafe fn data<'a>(inode: *mut bindings::inode) -> &'a T {
        // SAFETY: the entry's data is the `T` of its registration, which
        // proc_remove() keeps alive until calls in flight return (safety
        // section of this function).
        unsafe { &*bindings::pde_data(inode).cast::<T>() }
    }

    /// `proc_open`.
    ///
    /// # Safety
    ///
    /// `inode` is the inode of a file of a live [`Registration`] of `T`.
    unsafe extern "C" fn open(inode: *mut bindings::inode, _file: *mut bindings::file) -> c_int {
        // SAFETY: procfs calls this for an inode of the registration.
        from_result(|| unsafe { Self::data(inode) }.open().map(|()| 0))
    }

    /// `proc_read_iter`.
    ///
    /// # Safety
    ///
    /// `iocb` is the I/O control block of a read of an open file of a live
    /// [`Registration`] of `T`, and `to` its destination iterator.
    unsafe extern "C" fn read_iter(
        iocb: *mut bindings::kiocb,
        to: *mut bindings::iov_iter,
    ) -> isize {
        from_result(|| {
            // SAFETY: procfs passes a kiocb of an open file of the
            // registration, whose position we may update, and the
            // destination iterator of this read, ours for the call.
            let (data, pos, out) = unsafe {
                let file = (*iocb).ki_filp;
                (
                    Self::data(bindings::file_inode(file)),
                    (*iocb).ki_pos,
                    IovIterDest::from_raw(to),
                )
            };
            let pos = u64::try_from(pos).map_err(|_| EINVAL)?;
            let n = data.read(out, pos)?;
            // `n` is at most the iterator's count, which the VFS caps at
            // `MAX_RW_COUNT`, and the file ends before `i64::MAX`.
            let done = isize::try_from(n).map_err(|_| EINVAL)?;
            // SAFETY: as above.
            unsafe { (*iocb).ki_pos = (*iocb).ki_pos.saturating_add(done as i64) };
            Ok(done)
        })
    }

    /// `proc_mmap`.
    ///
    /// # Safety
    ///
    /// `file` is an open file of a live [`Registration`] of `T`, and `vma`
    /// the area being set up for it, with the mmap lock held for writing.
    unsafe extern "C" fn mmap(
        file: *mut bindings::file,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: procfs passes an open file of the registration and the
        // area being set up for it, under the mmap lock.
        let (data, vma) = unsafe {
            (
                Self::data(bindings::file_inode(file)),
                VmaNew::from_raw(vma),
            )
        };
        from_result(|| data.mmap(vma).map(|()| 0))
    }
}
