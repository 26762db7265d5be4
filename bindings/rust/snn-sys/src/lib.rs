//! Raw declarations of libsnn's C ABI, `include/snn/snn.h`.
//!
//! Everything in this crate is generated from the header by
//! `bindings/generate_rust.py` (the file `src/generated.rs`, committed and
//! checked for staleness in CI); nothing here is written by hand but this
//! page and the tests below. The names, types and comments are the header's:
//! read it as the manual. Use the `snn` crate for a safe interface.
//!
//! # Mapping
//! - `#define`s and enum values are `pub const`s (`#define`s as `i32`).
//! - Opaque handles (`snn_context`, `snn_network`) are zero-sized `#[repr(C)]`
//!   types used only behind pointers.
//! - Structs are `#[repr(C)]` with public fields; fill them with the header's
//!   `*_init` functions (`struct_size` = `size_of::<T>() as u32`).
//! - C function pointers are `Option<unsafe extern "C" fn(...)>`, `None`
//!   standing for NULL.
//!
//! # Linking
//! The build script links the shared library `snn`, found through
//! `SNN_LIB_DIR`, pkg-config, or a CMake build of the source tree (see
//! `build.rs` and the binding's README).
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case)]

#[rustfmt::skip]
mod generated;
pub use generated::*;

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::mem::size_of;
    use std::ptr;

    #[test]
    fn library_matches_the_header() {
        let version = unsafe { snn_version() };
        assert_eq!(version / 10000, SNN_VERSION_MAJOR as u32);
        let text = unsafe { CStr::from_ptr(snn_version_string()) }.to_str().unwrap();
        assert_eq!(text.split('.').next().unwrap(), SNN_VERSION_MAJOR.to_string());
    }

    #[test]
    fn structs_take_their_generated_size() {
        // The library fills at most struct_size bytes and refuses sizes below
        // its first version's, so a layout that is too small is an error.
        unsafe {
            let mut c: snn_context_options = std::mem::zeroed();
            assert_eq!(snn_context_options_init(&mut c, size_of::<snn_context_options>() as u32), SNN_OK);
            assert_eq!(c.struct_size as usize, size_of::<snn_context_options>());
            assert!(c.alloc_fn.is_none() && c.parallel_for.is_none());
            let mut n: snn_network_options = std::mem::zeroed();
            assert_eq!(snn_network_options_init(&mut n, size_of::<snn_network_options>() as u32), SNN_OK);
            assert_eq!((n.dt, n.seed, n.batch), (1e-4, 0, 1));
        }
    }

    #[test]
    fn status_names_and_last_error() {
        unsafe {
            let name = CStr::from_ptr(snn_status_name(SNN_SHAPE)).to_str().unwrap();
            assert_eq!(name, "SNN_SHAPE");
            let mut out = ptr::null_mut();
            assert_eq!(snn_network_create(ptr::null_mut(), ptr::null(), &mut out), SNN_INVALID_ARGUMENT);
            assert!(out.is_null());
            let message = CStr::from_ptr(snn_last_error()).to_str().unwrap();
            assert!(message.contains("context"), "{message}");
        }
    }
}
