//! Safe Rust interface to libsnn, a spiking neural network runtime.
//!
//! ```no_run
//! use snn::{ConnectOptions, Context, Distribution, Network, NetworkOptions};
//!
//! let ctx = Context::new()?; // backend "auto"
//! let mut net = Network::with_options(&ctx, &NetworkOptions::new().dt(1e-4).seed(1))?;
//! let src = net.add_population("src", "poisson", &[100])?;
//! net.set_param(src, "rate", 20.0)?;
//! let exc = net.add_population("exc", "lif", &[3200])?;
//! net.set_param(exc, "v_rest", -49e-3)?;
//! let syn = net.connect_random(src, exc, 0.1, 1e-3, 3, &ConnectOptions::new().synapse("exp"))?;
//! net.set_param(syn, "tau", 5e-3)?;
//! net.randomize_state(exc, "v", Distribution::Uniform { low: -60e-3, high: -50e-3 }, 4)?;
//!
//! let mut spikes = 0;
//! net.on_spike(exc, move |s: &snn::Spikes| spikes += s.neurons.len())?;
//! net.run(1000)?;
//! let v = net.read_state(exc, "v")?; // [batch][n]
//! net.save("net.snn")?;
//! # Ok::<(), snn::Error>(())
//! ```
//!
//! # Ownership and threads
//! - [`Context`] is a shared handle (`Clone`, `Send`, `Sync`) to a backend and
//!   its threads; it lives as long as any clone or any network created on it.
//! - [`Network`] owns its C network and frees it on drop. It is `Send` but not
//!   `Sync`: one thread at a time, as libsnn requires; stepping takes `&mut`.
//! - [`Population`] and [`Connection`] are `Copy` ids tied to their network.
//! - Buffers given to [`Network::bind_input`] / [`Network::bind_output`] are
//!   owned by the network while bound (read and written in place, no copy)
//!   and handed back by `unbind_*`, so no pointer libsnn holds can dangle.
//! - Spike callbacks are closures ([`Network::on_spike`]), dropped when
//!   replaced, removed, or with the network.
//!
//! # Errors
//! Every fallible call returns [`Result`]; an [`Error`] carries the C status
//! ([`ErrorKind`], [`Error::status`]) and libsnn's message.
//!
//! # Finding libsnn
//! `snn-sys` links the shared library found through `SNN_LIB_DIR`, then
//! pkg-config, then by building it with CMake from the source tree (see the
//! binding's README).

#![warn(missing_docs)]

mod buffer;
mod callback;
mod context;
mod error;
mod models;
mod network;
mod train;
mod util;
pub mod vision;

pub use buffer::Element;
pub use callback::{CallbackResult, LearningEvent, Spikes};
pub use context::{Context, ContextOptions, LogLevel};
pub use error::{status_name, Error, ErrorKind, Result};
pub use models::{
    backends, model_params, model_state_vars, models, neuron_models, synapse_models, ModelKind, ParamDefault, ParamInfo,
};
pub use network::{
    ConnectOptions, Connection, ConnectionInfo, ConnectionKind, Conv2d, Csr, Distribution, Handle, LoadOptions,
    Network, NetworkOptions, Pool, Population, PopulationInfo, StateView, Synapses,
};
pub use train::{Optimizer, OptimizerOptions, Target, Trainer, TrainerOptions};

/// The raw C declarations, for what this crate does not wrap.
pub use snn_sys as sys;

/// The runtime library's version as MAJOR * 10000 + MINOR * 100 + PATCH.
pub fn version() -> u32 {
    // SAFETY: infallible, no arguments.
    unsafe { sys::snn_version() }
}

/// The runtime library's version as "MAJOR.MINOR.PATCH".
pub fn version_string() -> String {
    // SAFETY: a static NUL-terminated string.
    unsafe { error::cstr_to_string(sys::snn_version_string()) }
}

// The Rust code blocks of the READMEs run as doctests, as they are written.
#[cfg(doctest)]
#[doc = include_str!("../../../../README.md")]
struct ReadmeOfTheRepository;

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeOfTheBinding;
