//! Errors: every fallible call returns [`Result`], whose [`Error`] carries the
//! C status code and libsnn's message.

use std::ffi::CStr;
use std::fmt;

use snn_sys as sys;

/// The kind of a failure: the C API's status code (`snn_status_code`).
///
/// `Unknown` stands for a code this version of the binding does not know (a
/// newer library); [`Error::status`] still has its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A bad value, an unknown name, a NUL byte in a string (`SNN_INVALID_ARGUMENT`).
    InvalidArgument,
    /// A name that matches no population, connection or variable (`SNN_NOT_FOUND`).
    NotFound,
    /// An id or index outside its range (`SNN_OUT_OF_RANGE`).
    OutOfRange,
    /// An array of the wrong size or shape (`SNN_SHAPE`).
    Shape,
    /// The network cannot do this now, e.g. add a population after the first
    /// step (`SNN_STATE`).
    State,
    /// A file or buffer that is not a valid `.snn` (`SNN_FORMAT`).
    Format,
    /// The operating system refused a file operation (`SNN_IO`).
    Io,
    /// The allocator returned NULL (`SNN_NO_MEMORY`).
    NoMemory,
    /// Valid, but not supported by this build or backend (`SNN_UNSUPPORTED`).
    Unsupported,
    /// A backend failed or is unavailable (`SNN_BACKEND`).
    Backend,
    /// A spike callback asked the run to stop (`SNN_CANCELLED`).
    Cancelled,
    /// A bug in libsnn (`SNN_INTERNAL`).
    Internal,
    /// A status code this binding does not know.
    Unknown,
}

impl ErrorKind {
    /// The kind of a (non-zero) status code.
    pub fn from_status(status: i32) -> ErrorKind {
        match status {
            sys::SNN_INVALID_ARGUMENT => ErrorKind::InvalidArgument,
            sys::SNN_NOT_FOUND => ErrorKind::NotFound,
            sys::SNN_OUT_OF_RANGE => ErrorKind::OutOfRange,
            sys::SNN_SHAPE => ErrorKind::Shape,
            sys::SNN_STATE => ErrorKind::State,
            sys::SNN_FORMAT => ErrorKind::Format,
            sys::SNN_IO => ErrorKind::Io,
            sys::SNN_NO_MEMORY => ErrorKind::NoMemory,
            sys::SNN_UNSUPPORTED => ErrorKind::Unsupported,
            sys::SNN_BACKEND => ErrorKind::Backend,
            sys::SNN_CANCELLED => ErrorKind::Cancelled,
            sys::SNN_INTERNAL => ErrorKind::Internal,
            _ => ErrorKind::Unknown,
        }
    }

    /// The status code of this kind (`SNN_INTERNAL` for `Unknown`).
    pub fn status(self) -> i32 {
        match self {
            ErrorKind::InvalidArgument => sys::SNN_INVALID_ARGUMENT,
            ErrorKind::NotFound => sys::SNN_NOT_FOUND,
            ErrorKind::OutOfRange => sys::SNN_OUT_OF_RANGE,
            ErrorKind::Shape => sys::SNN_SHAPE,
            ErrorKind::State => sys::SNN_STATE,
            ErrorKind::Format => sys::SNN_FORMAT,
            ErrorKind::Io => sys::SNN_IO,
            ErrorKind::NoMemory => sys::SNN_NO_MEMORY,
            ErrorKind::Unsupported => sys::SNN_UNSUPPORTED,
            ErrorKind::Backend => sys::SNN_BACKEND,
            ErrorKind::Cancelled => sys::SNN_CANCELLED,
            ErrorKind::Internal | ErrorKind::Unknown => sys::SNN_INTERNAL,
        }
    }
}

/// A failed call: the status code and the message that says what went wrong.
///
/// Errors of C calls carry `snn_last_error()` as it was right after the call
/// (messages start with the argument at fault). Checks this crate makes
/// before calling C (a NUL byte in a name, a slice of the wrong length, a
/// population of another network) produce the same kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    status: i32,
    message: String,
}

/// `Result<T, snn::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of this kind with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, status: kind.status(), message: message.into() }
    }

    /// The error of the C call that just returned `status` on this thread.
    pub(crate) fn from_last(status: i32) -> Error {
        // SAFETY: snn_last_error returns a valid NUL-terminated string that
        // stays valid until the next libsnn call on this thread; it is copied
        // at once.
        let message = unsafe { cstr_to_string(sys::snn_last_error()) };
        Error { kind: ErrorKind::from_status(status), status, message }
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The C status code (`SNN_SHAPE` = -4, ...).
    pub fn status(&self) -> i32 {
        self.status
    }

    /// The status code's name, e.g. `"SNN_SHAPE"`.
    pub fn status_name(&self) -> &'static str {
        status_name(self.status)
    }

    /// libsnn's explanation, e.g. `"weights: 6 values given; ..."`.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(self.status_name())
        } else {
            write!(f, "{}: {}", self.status_name(), self.message)
        }
    }
}

impl std::error::Error for Error {}

/// The name of a status code ("SNN_SHAPE"), as libsnn spells it.
pub fn status_name(status: i32) -> &'static str {
    // SAFETY: snn_status_name returns a static NUL-terminated string for
    // every value.
    let name = unsafe { CStr::from_ptr(sys::snn_status_name(status)) };
    name.to_str().unwrap_or("SNN_UNKNOWN_STATUS")
}

/// `Ok(())` for SNN_OK, else the error with libsnn's message.
pub(crate) fn check(status: sys::snn_status) -> Result<()> {
    if status == sys::SNN_OK {
        Ok(())
    } else {
        Err(Error::from_last(status))
    }
}

/// Copies a C string (NULL gives "").
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string valid for the call.
pub(crate) unsafe fn cstr_to_string(ptr: *const std::os::raw::c_char) -> String {
    if ptr.is_null() {
        String::new()
    } else {
        CStr::from_ptr(ptr).to_string_lossy().into_owned()
    }
}
