//! Small conversions shared by the modules.

use std::ffi::CString;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

/// A Rust string as a C string; an interior NUL byte is an invalid argument.
pub(crate) fn c_string(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("{what}: {s:?} contains a NUL byte")))
}

/// A path as the C string libsnn opens.
pub(crate) fn c_path(path: &Path) -> Result<CString> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = match path.to_str() {
        Some(s) => s.as_bytes().to_vec(),
        None => {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("path: {} is not valid Unicode", path.display()),
            ))
        }
    };
    CString::new(bytes)
        .map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("path: {} contains a NUL byte", path.display())))
}

/// A length or count as the C API's int64.
pub(crate) fn to_i64(n: usize, what: &str) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::new(ErrorKind::OutOfRange, format!("{what}: {n} is too large")))
}

/// A count as the C API's int32.
pub(crate) fn to_i32(n: usize, what: &str) -> Result<i32> {
    i32::try_from(n).map_err(|_| Error::new(ErrorKind::OutOfRange, format!("{what}: {n} is too large")))
}
