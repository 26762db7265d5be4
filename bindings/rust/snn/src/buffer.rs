//! Element types of arrays shared with libsnn, and the caller buffers a
//! network owns while they are bound.

use std::mem;
use std::os::raw::c_void;
use std::ptr::{self, NonNull};

use snn_sys as sys;

use crate::error::{Error, ErrorKind, Result};

mod private {
    pub trait Sealed {}
}

/// A Rust type libsnn reads or writes in place: `f32`, `f64`, `i32`, `i64`,
/// `u8` and `bool` (one byte, 0 or 1).
///
/// Inputs take any of them (spikes: nonzero is a spike). Bound outputs take
/// `u8`, `bool` or `f32` for spikes and `f32` for state variables.
pub trait Element: Copy + Default + Send + Sync + 'static + private::Sealed {
    /// The `SNN_DTYPE_*` code.
    const DTYPE: i32;
    /// The type's name, for messages.
    const NAME: &'static str;
}

macro_rules! element {
    ($t:ty, $code:expr, $name:expr) => {
        impl private::Sealed for $t {}
        impl Element for $t {
            const DTYPE: i32 = $code;
            const NAME: &'static str = $name;
        }
    };
}
element!(f32, sys::SNN_DTYPE_FLOAT32, "f32");
element!(f64, sys::SNN_DTYPE_FLOAT64, "f64");
element!(u8, sys::SNN_DTYPE_UINT8, "u8");
element!(bool, sys::SNN_DTYPE_BOOL, "bool");
element!(i32, sys::SNN_DTYPE_INT32, "i32");
element!(i64, sys::SNN_DTYPE_INT64, "i64");

/// A descriptor of caller memory for one call that copies it (set_input).
pub(crate) fn borrowed_tensor<T: Element>(data: &[T], shape: &[i64]) -> sys::snn_tensor {
    sys::snn_tensor {
        data: data.as_ptr() as *mut c_void,
        dtype: T::DTYPE,
        ndim: shape.len() as i32,
        shape: shape.as_ptr(),
        strides: ptr::null(),
        device_type: sys::SNN_DEVICE_CPU,
        device_id: 0,
        manager_ctx: ptr::null_mut(),
        deleter: None,
    }
}

/// A buffer bound to a network: the memory of a `Vec<T>`, owned here (as a
/// raw allocation, so that the pointer libsnn keeps is the only way to it)
/// until it is unbound and handed back or dropped after libsnn let go of it.
pub(crate) struct Binding {
    data: NonNull<u8>,
    len: usize,
    dtype: i32,
    type_name: &'static str,
    shape: [i64; 3],
    ndim: usize,
    free: unsafe fn(NonNull<u8>, usize),
}

// SAFETY: the binding owns its elements, which are Send (Element: Send).
unsafe impl Send for Binding {}

unsafe fn free_elements<T>(data: NonNull<u8>, len: usize) {
    drop(Box::from_raw(ptr::slice_from_raw_parts_mut(data.as_ptr() as *mut T, len)));
}

impl Binding {
    /// Takes the vector; `shape` (2 or 3 dimensions) must hold exactly its length.
    pub(crate) fn new<T: Element>(data: Vec<T>, shape: &[i64]) -> Binding {
        debug_assert!(shape.len() <= 3);
        debug_assert_eq!(shape.iter().product::<i64>() as usize, data.len());
        let boxed: Box<[T]> = data.into_boxed_slice();
        let len = boxed.len();
        // SAFETY: Box::into_raw never returns NULL.
        let data = unsafe { NonNull::new_unchecked(Box::into_raw(boxed) as *mut T as *mut u8) };
        let mut dims = [0i64; 3];
        dims[..shape.len()].copy_from_slice(shape);
        Binding {
            data,
            len,
            dtype: T::DTYPE,
            type_name: T::NAME,
            shape: dims,
            ndim: shape.len(),
            free: free_elements::<T>,
        }
    }

    /// The descriptor handed to libsnn. It copies the shape at bind time;
    /// the data stays where it is until the binding is dropped.
    pub(crate) fn tensor(&self) -> sys::snn_tensor {
        sys::snn_tensor {
            data: self.data.as_ptr() as *mut c_void,
            dtype: self.dtype,
            ndim: self.ndim as i32,
            shape: self.shape.as_ptr(),
            strides: ptr::null(),
            device_type: sys::SNN_DEVICE_CPU,
            device_id: 0,
            manager_ctx: ptr::null_mut(),
            deleter: None,
        }
    }

    /// The bound shape.
    pub(crate) fn shape(&self) -> Vec<usize> {
        self.shape[..self.ndim].iter().map(|&d| d as usize).collect()
    }

    fn check_type<T: Element>(&self, what: &str) -> Result<()> {
        if self.dtype == T::DTYPE {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("{what}: the buffer is bound as [{}], not [{}]", self.type_name, T::NAME),
            ))
        }
    }

    pub(crate) fn as_slice<T: Element>(&self, what: &str) -> Result<&[T]> {
        self.check_type::<T>(what)?;
        // SAFETY: data holds len initialised T (checked by dtype); libsnn only
        // writes it during step/run, which take the network by &mut, so not
        // while this shared borrow of the network lives.
        Ok(unsafe { std::slice::from_raw_parts(self.data.as_ptr() as *const T, self.len) })
    }

    pub(crate) fn as_mut_slice<T: Element>(&mut self, what: &str) -> Result<&mut [T]> {
        self.check_type::<T>(what)?;
        // SAFETY: as above, and the &mut borrow of the network makes it unique.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.data.as_ptr() as *mut T, self.len) })
    }

    /// Hands the memory back as a vector (after libsnn let go of it).
    pub(crate) fn into_vec<T: Element>(self, what: &str) -> Result<Vec<T>> {
        self.check_type::<T>(what)?;
        let (data, len) = (self.data, self.len);
        mem::forget(self);
        // SAFETY: the allocation came from a Box<[T]> of len elements.
        Ok(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(data.as_ptr() as *mut T, len)) }.into_vec())
    }

    pub(crate) fn type_matches<T: Element>(&self) -> bool {
        self.dtype == T::DTYPE
    }

    pub(crate) fn type_name(&self) -> &'static str {
        self.type_name
    }
}

impl Drop for Binding {
    fn drop(&mut self) {
        // SAFETY: data/len came from Box<[T]> with the T `free` was made for.
        unsafe { (self.free)(self.data, self.len) }
    }
}
