//! Contexts: a backend with its threads and resources, shared by networks.

use std::fmt;
use std::mem::size_of;
use std::os::raw::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::sync::Arc;

use snn_sys as sys;

use crate::error::{check, cstr_to_string, Error, ErrorKind, Result};
use crate::util::c_string;

/// A log hook: called with the level and the message.
type LogFn = dyn Fn(LogLevel, &str) + Send + Sync + 'static;

/// How important a log message is (`SNN_LOG_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something is likely wrong.
    Warning,
    /// What the library decided (the backend picked, ...).
    Info,
    /// Details for debugging.
    Debug,
}

impl LogLevel {
    fn to_c(self) -> i32 {
        match self {
            LogLevel::Error => sys::SNN_LOG_ERROR,
            LogLevel::Warning => sys::SNN_LOG_WARNING,
            LogLevel::Info => sys::SNN_LOG_INFO,
            LogLevel::Debug => sys::SNN_LOG_DEBUG,
        }
    }

    fn from_c(level: i32) -> LogLevel {
        match level {
            sys::SNN_LOG_ERROR => LogLevel::Error,
            sys::SNN_LOG_WARNING => LogLevel::Warning,
            sys::SNN_LOG_INFO => LogLevel::Info,
            _ => LogLevel::Debug,
        }
    }
}

/// How to create a [`Context`]; every setting left out takes libsnn's default.
///
/// ```no_run
/// let ctx = snn::Context::with_options(
///     &snn::ContextOptions::new().backend("reference").threads(1),
/// )?;
/// # Ok::<(), snn::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct ContextOptions {
    backend: Option<String>,
    threads: Option<u32>,
    simd: Option<String>,
    log: Option<(LogLevel, Arc<LogFn>)>,
}

impl ContextOptions {
    /// All defaults: backend "auto", one thread per core, the best SIMD level, no log.
    pub fn new() -> ContextOptions {
        ContextOptions::default()
    }

    /// The backend: "auto" (the best this build has), "cpu" or "reference";
    /// [`backends`](crate::backends) lists them.
    pub fn backend(mut self, name: &str) -> ContextOptions {
        self.backend = Some(name.to_owned());
        self
    }

    /// Worker threads; 0 means one per hardware core.
    pub fn threads(mut self, threads: u32) -> ContextOptions {
        self.threads = Some(threads);
        self
    }

    /// The "cpu" backend's SIMD level: "auto", "avx512", "avx2" or "generic".
    /// Every level gives bit-identical results.
    pub fn simd(mut self, level: &str) -> ContextOptions {
        self.simd = Some(level.to_owned());
        self
    }

    /// Sends libsnn's messages up to `level` to `hook`, which may be called
    /// from any thread that uses the context's objects. A panic in the hook
    /// is caught and ignored.
    pub fn log<F>(mut self, level: LogLevel, hook: F) -> ContextOptions
    where
        F: Fn(LogLevel, &str) + Send + Sync + 'static,
    {
        self.log = Some((level, Arc::new(hook)));
        self
    }
}

impl fmt::Debug for ContextOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextOptions")
            .field("backend", &self.backend)
            .field("threads", &self.threads)
            .field("simd", &self.simd)
            .field("log", &self.log.as_ref().map(|(level, _)| level))
            .finish()
    }
}

/// Owns the C context; destroyed when the last [`Context`] clone and the last
/// network created on it are gone.
struct ContextInner {
    ptr: NonNull<sys::snn_context>,
    // Kept alive for the log trampoline until after the context is destroyed.
    _log: Option<Box<Arc<LogFn>>>,
}

// SAFETY: a libsnn context is thread-safe (DESIGN Decision 8, snn.h): every
// function taking it may be called from any thread at once. The log hook it
// calls is Send + Sync.
unsafe impl Send for ContextInner {}
unsafe impl Sync for ContextInner {}

impl Drop for ContextInner {
    fn drop(&mut self) {
        // SAFETY: the pointer came from snn_context_create and every network
        // created on it holds a clone of this Arc, so none is left.
        unsafe { sys::snn_context_destroy(self.ptr.as_ptr()) }
    }
}

/// A backend with its worker threads and allocator, shared by the networks
/// created on it.
///
/// A `Context` is a cheap handle: clones share one C context, which lives as
/// long as any clone or any [`Network`](crate::Network) created on it. It is
/// `Send` and `Sync`: networks on one context may run on different threads at
/// once (each network on one thread at a time).
#[derive(Clone)]
pub struct Context {
    inner: Arc<ContextInner>,
}

unsafe extern "C" fn log_trampoline(level: i32, message: *const c_char, user_data: *mut c_void) {
    // Nothing may unwind into C.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: user_data is the Box<Arc<LogFn>> kept by ContextInner;
        // message is valid during the call.
        let hook = &*(user_data as *const Arc<LogFn>);
        let text = cstr_to_string(message);
        hook(LogLevel::from_c(level), &text);
    }));
}

impl Context {
    /// A context with every default (backend "auto").
    pub fn new() -> Result<Context> {
        Context::with_options(&ContextOptions::default())
    }

    /// A context with the given options.
    pub fn with_options(options: &ContextOptions) -> Result<Context> {
        check_library_version()?;
        let backend = options.backend.as_deref().map(|s| c_string(s, "backend")).transpose()?;
        let simd = options.simd.as_deref().map(|s| c_string(s, "simd")).transpose()?;
        let threads = match options.threads {
            Some(t) => Some(
                i32::try_from(t)
                    .map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("threads: {t} is too many")))?,
            ),
            None => None,
        };
        let log = options.log.as_ref().map(|(level, hook)| (*level, Box::new(Arc::clone(hook))));

        // SAFETY: a zeroed struct of plain fields, then filled by libsnn for
        // the size this crate was generated with.
        let mut c: sys::snn_context_options = unsafe { std::mem::zeroed() };
        check(unsafe { sys::snn_context_options_init(&mut c, size_of::<sys::snn_context_options>() as u32) })?;
        if let Some(name) = &backend {
            c.backend = name.as_ptr();
        }
        if let Some(level) = &simd {
            c.simd = level.as_ptr();
        }
        if let Some(t) = threads {
            c.threads = t;
        }
        if let Some((level, hook)) = &log {
            c.log_level = level.to_c();
            c.log_fn = Some(log_trampoline);
            c.log_user_data = &**hook as *const Arc<LogFn> as *mut c_void;
        }
        let mut out = ptr::null_mut();
        // SAFETY: c and the strings it points to outlive the call; the log
        // hook's box is kept in ContextInner for the context's life.
        check(unsafe { sys::snn_context_create(&c, &mut out) })?;
        let ptr = NonNull::new(out).ok_or_else(|| Error::new(ErrorKind::Internal, "snn_context_create gave NULL"))?;
        Ok(Context { inner: Arc::new(ContextInner { ptr, _log: log.map(|(_, hook)| hook) }) })
    }

    /// The backend this context runs; after "auto", the one picked.
    pub fn backend(&self) -> Result<String> {
        let mut name = ptr::null();
        // SAFETY: a live context; the name is borrowed from it and copied.
        check(unsafe { sys::snn_context_backend(self.as_ptr(), &mut name) })?;
        Ok(unsafe { cstr_to_string(name) })
    }

    /// The number of worker threads.
    pub fn threads(&self) -> Result<usize> {
        let mut threads = 0;
        check(unsafe { sys::snn_context_threads(self.as_ptr(), &mut threads) })?;
        Ok(threads.max(0) as usize)
    }

    /// The SIMD level the backend runs ("avx512", "avx2", "generic"; "scalar"
    /// for "reference").
    pub fn simd(&self) -> Result<String> {
        let mut level = ptr::null();
        check(unsafe { sys::snn_context_simd(self.as_ptr(), &mut level) })?;
        Ok(unsafe { cstr_to_string(level) })
    }

    /// The C handle, for calls through `snn_sys`. It stays owned by this
    /// context (do not destroy it) and is valid while any clone is alive.
    pub fn as_ptr(&self) -> *mut sys::snn_context {
        self.inner.ptr.as_ptr()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("backend", &self.backend().unwrap_or_default())
            .field("threads", &self.threads().unwrap_or_default())
            .field("simd", &self.simd().unwrap_or_default())
            .finish()
    }
}

/// Refuses a library of another major version than the header this crate
/// was generated from.
fn check_library_version() -> Result<()> {
    // SAFETY: infallible, no arguments.
    let found = unsafe { sys::snn_version() };
    let wanted = sys::SNN_VERSION_MAJOR as u32;
    if found / 10000 != wanted {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "libsnn {} is loaded, but this binding was generated for major version {wanted}",
                crate::version_string()
            ),
        ));
    }
    Ok(())
}
