//! Networks: populations joined by connections, run in batches of instances.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::mem::size_of;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU64, Ordering};

use snn_sys as sys;

use crate::buffer::{borrowed_tensor, Binding, Element};
use crate::callback::{learning_trampoline, trampoline, CallbackResult, LearningEvent, LearningSlot, Slot, Spikes};
use crate::context::Context;
use crate::error::{check, cstr_to_string, Error, ErrorKind, Result};
use crate::util::{c_path, c_string, to_i32, to_i64};

/// Tags networks so that a handle of one is never taken for a handle of another.
static NEXT_NETWORK: AtomicU64 = AtomicU64::new(1);

// --------------------------------------------------------------------------
// Handles of things inside a network
// --------------------------------------------------------------------------

/// A population (a group of neurons of one model) of a [`Network`].
///
/// A small `Copy` handle: its id (0, 1, ... in creation order) and the network
/// it belongs to. Passing it to another network is an error
/// ([`ErrorKind::InvalidArgument`]), not a silent mix-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Population {
    id: i32,
    network: u64,
}

impl Population {
    /// The id inside the network (the C API's population id).
    pub fn id(self) -> i32 {
        self.id
    }

    pub(crate) fn from_raw(id: i32, network: u64) -> Population {
        Population { id, network }
    }
}

/// A connection (synapses from one population to another) of a [`Network`].
///
/// A `Copy` handle, like [`Population`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Connection {
    id: i32,
    network: u64,
}

impl Connection {
    /// The id inside the network (the C API's connection id).
    pub fn id(self) -> i32 {
        self.id
    }

    pub(crate) fn from_raw(id: i32, network: u64) -> Connection {
        Connection { id, network }
    }
}

mod private {
    pub trait Sealed {}
    impl Sealed for super::Population {}
    impl Sealed for super::Connection {}
}

/// Something with named parameters and state: a [`Population`] or a
/// [`Connection`]. Lets [`Network::set_param`], [`Network::read_state`],
/// [`Network::write_state`] and [`Network::randomize_state`] take either.
pub trait Handle: Copy + fmt::Debug + private::Sealed {
    #[doc(hidden)]
    fn raw(self) -> (bool, i32, u64);
}

impl Handle for Population {
    fn raw(self) -> (bool, i32, u64) {
        (true, self.id, self.network)
    }
}

impl Handle for Connection {
    fn raw(self) -> (bool, i32, u64) {
        (false, self.id, self.network)
    }
}

// --------------------------------------------------------------------------
// Options and descriptions
// --------------------------------------------------------------------------

/// How to create a [`Network`]; what is left out takes libsnn's default
/// (dt = 0.1 ms, seed 0, batch 1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkOptions {
    dt: Option<f64>,
    seed: Option<u64>,
    batch: Option<usize>,
}

impl NetworkOptions {
    /// All defaults.
    pub fn new() -> NetworkOptions {
        NetworkOptions::default()
    }

    /// The step length in seconds.
    pub fn dt(mut self, dt: f64) -> NetworkOptions {
        self.dt = Some(dt);
        self
    }

    /// The seed of the network's random streams.
    pub fn seed(mut self, seed: u64) -> NetworkOptions {
        self.seed = Some(seed);
        self
    }

    /// The number of independent instances that share the weights.
    pub fn batch(mut self, batch: usize) -> NetworkOptions {
        self.batch = Some(batch);
        self
    }
}

/// How to load a network; by default with the batch it was saved with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    batch: Option<usize>,
}

impl LoadOptions {
    /// All defaults.
    pub fn new() -> LoadOptions {
        LoadOptions::default()
    }

    /// Loads with this many instances instead of the saved batch.
    pub fn batch(mut self, batch: usize) -> LoadOptions {
        self.batch = Some(batch);
        self
    }
}

/// How to make a connection; what is left out takes libsnn's default (name
/// `"<pre>_to_<post>"`, synapse "delta", delay 1 step).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    name: Option<String>,
    synapse: Option<String>,
    delay: Option<u32>,
}

impl ConnectOptions {
    /// All defaults.
    pub fn new() -> ConnectOptions {
        ConnectOptions::default()
    }

    /// The connection's name (unique in the network).
    pub fn name(mut self, name: &str) -> ConnectOptions {
        self.name = Some(name.to_owned());
        self
    }

    /// The synapse model: "delta", "exp" or "cond_exp".
    pub fn synapse(mut self, synapse: &str) -> ConnectOptions {
        self.synapse = Some(synapse.to_owned());
        self
    }

    /// The delay in steps (1 = Brian2's zero synaptic delay; 0 only where it
    /// forms no cycle).
    pub fn delay(mut self, steps: u32) -> ConnectOptions {
        self.delay = Some(steps);
        self
    }
}

/// Pooling after a conv2d connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pool {
    /// No pooling.
    None,
    /// The largest value of each window.
    Max,
    /// The window's sum divided by its size.
    Avg,
    /// The window's sum.
    Sum,
}

/// The shape of a conv2d connection ([`Network::connect_conv2d`]); sizes
/// as `(height, width)` or `(y, x)` pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2d {
    /// The presynaptic population as `[channels, height, width]`.
    pub input: [usize; 3],
    /// Output channels.
    pub out_channels: usize,
    /// Kernel height and width.
    pub kernel: (usize, usize),
    /// Strides (default 1, 1).
    pub stride: (usize, usize),
    /// Zeros around the input (default 0, 0).
    pub padding: (usize, usize),
    /// A bias per output channel follows the kernel in the weights.
    pub bias: bool,
    /// Pooling after the convolution (default none).
    pub pool: Pool,
    /// The pool's height and width.
    pub pool_size: (usize, usize),
    /// The pool's strides; 0: its size.
    pub pool_stride: (usize, usize),
}

impl Conv2d {
    /// A convolution with stride 1, no padding, no bias and no pooling.
    pub fn new(input: [usize; 3], out_channels: usize, kernel: (usize, usize)) -> Conv2d {
        Conv2d {
            input,
            out_channels,
            kernel,
            stride: (1, 1),
            padding: (0, 0),
            bias: false,
            pool: Pool::None,
            pool_size: (0, 0),
            pool_stride: (0, 0),
        }
    }

    /// The strides.
    pub fn stride(mut self, y: usize, x: usize) -> Conv2d {
        self.stride = (y, x);
        self
    }

    /// Zeros around the input.
    pub fn padding(mut self, y: usize, x: usize) -> Conv2d {
        self.padding = (y, x);
        self
    }

    /// A bias per output channel.
    pub fn bias(mut self, on: bool) -> Conv2d {
        self.bias = on;
        self
    }

    /// Pooling with a window of `size`, strides equal to the window.
    pub fn pool(mut self, pool: Pool, size: (usize, usize)) -> Conv2d {
        self.pool = pool;
        self.pool_size = size;
        self
    }

    /// The number of weights: the kernel, then the biases.
    pub fn weight_count(&self) -> usize {
        self.out_channels * self.input[0] * self.kernel.0 * self.kernel.1
            + if self.bias { self.out_channels } else { 0 }
    }

    fn to_c(self) -> Result<sys::snn_conv2d_geometry> {
        let mut g: sys::snn_conv2d_geometry = unsafe { std::mem::zeroed() };
        check(unsafe { sys::snn_conv2d_geometry_init(&mut g, size_of::<sys::snn_conv2d_geometry>() as u32) })?;
        g.in_channels = to_i32(self.input[0], "in_channels")?;
        g.in_height = to_i32(self.input[1], "in_height")?;
        g.in_width = to_i32(self.input[2], "in_width")?;
        g.out_channels = to_i32(self.out_channels, "out_channels")?;
        g.kernel_height = to_i32(self.kernel.0, "kernel_height")?;
        g.kernel_width = to_i32(self.kernel.1, "kernel_width")?;
        g.stride_y = to_i32(self.stride.0, "stride_y")?;
        g.stride_x = to_i32(self.stride.1, "stride_x")?;
        g.padding_y = to_i32(self.padding.0, "padding_y")?;
        g.padding_x = to_i32(self.padding.1, "padding_x")?;
        g.bias = i32::from(self.bias);
        g.pool = match self.pool {
            Pool::None => sys::SNN_POOL_NONE,
            Pool::Max => sys::SNN_POOL_MAX,
            Pool::Avg => sys::SNN_POOL_AVG,
            Pool::Sum => sys::SNN_POOL_SUM,
        };
        g.pool_height = to_i32(self.pool_size.0, "pool_height")?;
        g.pool_width = to_i32(self.pool_size.1, "pool_width")?;
        g.pool_stride_y = to_i32(self.pool_stride.0, "pool_stride_y")?;
        g.pool_stride_x = to_i32(self.pool_stride.1, "pool_stride_x")?;
        Ok(g)
    }

    fn from_c(g: &sys::snn_conv2d_geometry) -> Conv2d {
        let u = |v: i32| v.max(0) as usize;
        Conv2d {
            input: [u(g.in_channels), u(g.in_height), u(g.in_width)],
            out_channels: u(g.out_channels),
            kernel: (u(g.kernel_height), u(g.kernel_width)),
            stride: (u(g.stride_y), u(g.stride_x)),
            padding: (u(g.padding_y), u(g.padding_x)),
            bias: g.bias != 0,
            pool: match g.pool {
                sys::SNN_POOL_MAX => Pool::Max,
                sys::SNN_POOL_AVG => Pool::Avg,
                sys::SNN_POOL_SUM => Pool::Sum,
                _ => Pool::None,
            },
            pool_size: (u(g.pool_height), u(g.pool_width)),
            pool_stride: (u(g.pool_stride_y), u(g.pool_stride_x)),
        }
    }
}

/// A distribution to draw state from ([`Network::randomize_state`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    /// Values in `[low, high)`.
    Uniform {
        /// The smallest value.
        low: f64,
        /// The bound no value reaches.
        high: f64,
    },
    /// A normal distribution.
    Normal {
        /// The mean.
        mean: f64,
        /// The standard deviation.
        std_dev: f64,
    },
}

/// Sparse weights in compressed rows over the presynaptic neurons
/// ([`Network::connect_sparse`]).
#[derive(Debug, Clone, Copy)]
pub struct Csr<'a> {
    /// `n_pre + 1` offsets: row `i` is `row_ptr[i]..row_ptr[i + 1]`.
    pub row_ptr: &'a [i64],
    /// The postsynaptic neuron of each synapse (`nnz` values).
    pub post_index: &'a [i32],
    /// The weight of each synapse (`nnz` values).
    pub weights: &'a [f32],
    /// Delays in steps per synapse (`nnz` values), or `None` for the
    /// connection's delay.
    pub delays: Option<&'a [i32]>,
}

/// What [`Network::population_info`] tells about a population.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopulationInfo {
    /// Its name.
    pub name: String,
    /// The neuron model ("lif", "poisson", ...).
    pub model: String,
    /// The number of neurons.
    pub size: usize,
    /// Its shape (`[n]`, or e.g. `[C, H, W]`).
    pub shape: Vec<usize>,
    /// A source that takes per-step inputs.
    pub is_input: bool,
}

/// The kind of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionKind {
    /// A dense `[pre][post]` matrix.
    Dense,
    /// Sparse rows (also fixed-probability connections).
    Sparse,
    /// Neuron `i` to neuron `i`.
    OneToOne,
    /// A shared kernel over a `[C, H, W]` population ([`Network::connect_conv2d`]).
    Conv2d,
    /// A kind this binding does not know (its `SNN_CONNECTION_*` value).
    Other(i32),
}

/// What [`Network::connection_info`] tells about a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// Its name.
    pub name: String,
    /// The synapse model ("delta", "exp", "cond_exp").
    pub synapse: String,
    /// The presynaptic population.
    pub pre: Population,
    /// The postsynaptic population.
    pub post: Population,
    /// Dense, sparse or one-to-one.
    pub kind: ConnectionKind,
    /// The delay in steps (for per-synapse delays, the largest).
    pub delay: u32,
    /// The number of weights (dense: `n_pre * n_post`).
    pub nnz: usize,
    /// Each synapse has its own delay.
    pub has_synapse_delays: bool,
}

/// The synapses of a connection, in the order of its weights
/// ([`Network::synapses`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synapses {
    /// Presynaptic neuron of each synapse.
    pub pre: Vec<i32>,
    /// Postsynaptic neuron of each synapse.
    pub post: Vec<i32>,
    /// Delay in steps of each synapse.
    pub delays: Vec<i32>,
}

// --------------------------------------------------------------------------
// The network
// --------------------------------------------------------------------------

/// A network: populations joined by connections, with parameters and the
/// state of `batch` independent instances that share the weights.
///
/// A `Network` owns its C network (destroyed on drop, before the context it
/// keeps alive), the closures registered as spike callbacks and the buffers
/// bound to it. It is `Send` but not `Sync` (DESIGN Decision 8: a network is
/// used by one thread at a time); methods that step it or change it take
/// `&mut self`.
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<snn::Network>(); // a network is not Sync
/// ```
pub struct Network {
    ptr: NonNull<sys::snn_network>,
    tag: u64,
    context: Context,
    callbacks: HashMap<i32, Box<Slot>>,
    learning: HashMap<i32, Box<LearningSlot>>,
    inputs: HashMap<i32, Binding>,
    outputs: HashMap<(i32, String), Binding>,
}

// SAFETY: libsnn lets a network be used from any thread, one at a time;
// `&mut self` on every mutating method and the absence of Sync enforce the
// "one at a time". What it owns is Send: the callbacks are `Send` closures,
// the bound buffers own `Send` elements, and the context is Send + Sync.
unsafe impl Send for Network {}

impl Drop for Network {
    fn drop(&mut self) {
        // SAFETY: the pointer came from snn_network_create/load and views
        // borrowing the network are gone. libsnn lets go of the callbacks and
        // buffers here; the fields (and the context) are dropped after.
        unsafe { sys::snn_network_destroy(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Network");
        if let Ok(dt) = self.dt() {
            s.field("dt", &dt);
        }
        if let Ok(batch) = self.batch() {
            s.field("batch", &batch);
        }
        if let Ok(step) = self.current_step() {
            s.field("step", &step);
        }
        if let Ok(pops) = self.populations() {
            let names: Vec<String> =
                pops.iter().filter_map(|p| self.population_info(*p).ok()).map(|i| i.name).collect();
            s.field("populations", &names);
        }
        s.finish()
    }
}

/// Counts with the two-call pattern: asks for the count, then fills a vector.
fn two_call<T: Clone + Default>(mut call: impl FnMut(*mut T, i64, &mut i64) -> sys::snn_status) -> Result<Vec<T>> {
    let mut count = 0i64;
    check(call(ptr::null_mut(), 0, &mut count))?;
    let mut values = vec![T::default(); count.max(0) as usize];
    if values.is_empty() {
        return Ok(values);
    }
    check(call(values.as_mut_ptr(), count, &mut count))?;
    values.truncate(count.max(0) as usize);
    Ok(values)
}

impl Network {
    fn wrap(context: &Context, ptr: *mut sys::snn_network) -> Result<Network> {
        let ptr = NonNull::new(ptr).ok_or_else(|| Error::new(ErrorKind::Internal, "libsnn returned a NULL network"))?;
        Ok(Network {
            ptr,
            tag: NEXT_NETWORK.fetch_add(1, Ordering::Relaxed),
            context: context.clone(),
            callbacks: HashMap::new(),
            learning: HashMap::new(),
            inputs: HashMap::new(),
            outputs: HashMap::new(),
        })
    }

    /// An empty network with the defaults (dt = 0.1 ms, seed 0, batch 1).
    pub fn new(context: &Context) -> Result<Network> {
        Network::with_options(context, &NetworkOptions::default())
    }

    /// An empty network.
    ///
    /// ```no_run
    /// let ctx = snn::Context::new()?;
    /// let net = snn::Network::with_options(&ctx, &snn::NetworkOptions::new().dt(1e-4).batch(2).seed(1))?;
    /// # Ok::<(), snn::Error>(())
    /// ```
    pub fn with_options(context: &Context, options: &NetworkOptions) -> Result<Network> {
        // SAFETY: a zeroed plain struct, filled by libsnn for this size.
        let mut c: sys::snn_network_options = unsafe { std::mem::zeroed() };
        check(unsafe { sys::snn_network_options_init(&mut c, size_of::<sys::snn_network_options>() as u32) })?;
        if let Some(dt) = options.dt {
            c.dt = dt;
        }
        if let Some(seed) = options.seed {
            c.seed = seed;
        }
        if let Some(batch) = options.batch {
            c.batch = to_i32(batch, "batch")?;
        }
        let mut out = ptr::null_mut();
        // SAFETY: a live context and options; out receives an owned network.
        check(unsafe { sys::snn_network_create(context.as_ptr(), &c, &mut out) })?;
        Network::wrap(context, out)
    }

    /// Loads a `.snn` file with the batch it was saved with. A file that is
    /// truncated, corrupted or not a `.snn` gives [`ErrorKind::Format`].
    pub fn load(context: &Context, path: impl AsRef<Path>) -> Result<Network> {
        Network::load_with(context, path, &LoadOptions::default())
    }

    /// Loads a `.snn` file.
    pub fn load_with(context: &Context, path: impl AsRef<Path>, options: &LoadOptions) -> Result<Network> {
        let path = c_path(path.as_ref())?;
        let c = load_options(options)?;
        let mut out = ptr::null_mut();
        // SAFETY: a live context, a C string and options valid for the call.
        check(unsafe { sys::snn_network_load(context.as_ptr(), path.as_ptr(), &c, &mut out) })?;
        Network::wrap(context, out)
    }

    /// Loads a network from the bytes of a `.snn` file.
    pub fn from_bytes(context: &Context, bytes: &[u8]) -> Result<Network> {
        Network::from_bytes_with(context, bytes, &LoadOptions::default())
    }

    /// Loads a network from the bytes of a `.snn` file.
    pub fn from_bytes_with(context: &Context, bytes: &[u8], options: &LoadOptions) -> Result<Network> {
        let c = load_options(options)?;
        let mut out = ptr::null_mut();
        // SAFETY: bytes.len() bytes are readable at bytes.as_ptr().
        check(unsafe {
            sys::snn_network_load_from_memory(
                context.as_ptr(),
                bytes.as_ptr() as *const _,
                to_i64(bytes.len(), "bytes")?,
                &c,
                &mut out,
            )
        })?;
        Network::wrap(context, out)
    }

    /// Saves the network (graph, parameters, weights, initial state) as a
    /// `.snn` file, a safetensors container.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        self.save_flags(path.as_ref(), sys::SNN_SAVE_DEFAULT)
    }

    /// Saves the network with its running state and step, so that a loaded
    /// copy continues exactly.
    pub fn save_with_state(&self, path: impl AsRef<Path>) -> Result<()> {
        self.save_flags(path.as_ref(), sys::SNN_SAVE_CURRENT_STATE)
    }

    fn save_flags(&self, path: &Path, flags: i32) -> Result<()> {
        let path = c_path(path)?;
        check(unsafe { sys::snn_network_save(self.ptr.as_ptr(), path.as_ptr(), flags as u32) })
    }

    /// The bytes of the `.snn` file [`save`](Network::save) would write.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.bytes_flags(sys::SNN_SAVE_DEFAULT)
    }

    /// The bytes of the `.snn` file [`save_with_state`](Network::save_with_state) would write.
    pub fn to_bytes_with_state(&self) -> Result<Vec<u8>> {
        self.bytes_flags(sys::SNN_SAVE_CURRENT_STATE)
    }

    fn bytes_flags(&self, flags: i32) -> Result<Vec<u8>> {
        let net = self.ptr.as_ptr();
        two_call(|buf: *mut u8, cap, count| unsafe {
            sys::snn_network_save_to_memory(net, flags as u32, buf as *mut _, cap, count)
        })
    }

    /// The context the network runs on.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The step length in seconds.
    pub fn dt(&self) -> Result<f64> {
        let mut dt = 0.0;
        check(unsafe { sys::snn_network_dt(self.ptr.as_ptr(), &mut dt) })?;
        Ok(dt)
    }

    /// The seed of the network's random streams.
    pub fn seed(&self) -> Result<u64> {
        let mut seed = 0;
        check(unsafe { sys::snn_network_seed(self.ptr.as_ptr(), &mut seed) })?;
        Ok(seed)
    }

    /// The current step: 0 at creation and after reset; +1 per completed step.
    pub fn current_step(&self) -> Result<u64> {
        let mut step = 0;
        check(unsafe { sys::snn_network_current_step(self.ptr.as_ptr(), &mut step) })?;
        Ok(step.max(0) as u64)
    }

    /// The number of instances.
    pub fn batch(&self) -> Result<usize> {
        let mut batch = 0;
        check(unsafe { sys::snn_network_batch(self.ptr.as_ptr(), &mut batch) })?;
        Ok(batch.max(0) as usize)
    }

    /// Changes the number of instances. Running instances keep their state;
    /// new ones start from the initial state (instance i from instance i mod
    /// the old batch). Buffers bound for the old batch must be bound again
    /// before the next run (which refuses them with [`ErrorKind::Shape`]).
    pub fn set_batch(&mut self, batch: usize) -> Result<()> {
        let batch = to_i32(batch, "batch")?;
        check(unsafe { sys::snn_network_set_batch(self.ptr.as_ptr(), batch) })
    }

    /// Advances one step: deliver the spikes due, integrate, threshold and
    /// reset, emit (then the spike callbacks run). The first step freezes
    /// the structure.
    ///
    /// A callback that breaks gives [`ErrorKind::Cancelled`] (the step is
    /// complete); a callback that panics has its panic resumed here.
    pub fn step(&mut self) -> Result<()> {
        let status = unsafe { sys::snn_network_step(self.ptr.as_ptr()) };
        self.finish_run(status)
    }

    /// Advances `steps` steps. Callbacks run after each step; one that breaks
    /// stops the run after that step with [`ErrorKind::Cancelled`].
    pub fn run(&mut self, steps: u64) -> Result<()> {
        let steps = i64::try_from(steps)
            .map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("steps: {steps} is too many")))?;
        let status = unsafe { sys::snn_network_run(self.ptr.as_ptr(), steps) };
        self.finish_run(status)
    }

    fn finish_run(&mut self, status: sys::snn_status) -> Result<()> {
        let result = check(status);
        // Callbacks of other populations may have run (and panicked) in the
        // step that stopped the run: clear every slot, resume the first panic.
        let mut first = None;
        for slot in self.callbacks.values_mut() {
            if let Some(payload) = slot.panic.take() {
                first.get_or_insert(payload);
            }
        }
        for slot in self.learning.values_mut() {
            if let Some(payload) = slot.panic.take() {
                first.get_or_insert(payload);
            }
        }
        if let Some(payload) = first {
            std::panic::resume_unwind(payload);
        }
        result
    }

    /// Restores the initial state, step 0 and the random streams' start.
    /// Copied inputs are cleared; bound buffers stay bound.
    pub fn reset(&mut self) -> Result<()> {
        check(unsafe { sys::snn_network_reset(self.ptr.as_ptr()) })
    }

    // ------------------------------------------------------------------
    // Populations

    pub(crate) fn pop_id(&self, pop: Population) -> Result<i32> {
        if pop.network != self.tag {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("population: {} belongs to another network", pop.id),
            ));
        }
        Ok(pop.id)
    }

    pub(crate) fn conn_id(&self, conn: Connection) -> Result<i32> {
        if conn.network != self.tag {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("connection: {} belongs to another network", conn.id),
            ));
        }
        Ok(conn.id)
    }

    fn handle_id<H: Handle>(&self, h: H) -> Result<(bool, i32)> {
        let (is_pop, id, network) = h.raw();
        if network != self.tag {
            let what = if is_pop { "population" } else { "connection" };
            return Err(Error::new(ErrorKind::InvalidArgument, format!("{what}: {id} belongs to another network")));
        }
        Ok((is_pop, id))
    }

    /// Adds a population of `shape.iter().product()` neurons of a named model
    /// ("lif", "poisson", ...; see [`neuron_models`](crate::neuron_models)).
    /// Parameters take their defaults until set. Names are unique, 1..255
    /// bytes of `[A-Za-z0-9_-]`.
    pub fn add_population(&mut self, name: &str, model: &str, shape: &[usize]) -> Result<Population> {
        let c_name = c_string(name, "name")?;
        let c_model = c_string(model, "model")?;
        let dims = shape.iter().map(|&d| to_i64(d, "shape")).collect::<Result<Vec<i64>>>()?;
        let mut id = -1;
        check(unsafe {
            sys::snn_network_add_population(
                self.ptr.as_ptr(),
                c_name.as_ptr(),
                c_model.as_ptr(),
                to_i32(dims.len(), "shape")?,
                dims.as_ptr(),
                &mut id,
            )
        })?;
        Ok(Population::from_raw(id, self.tag))
    }

    /// The population of this name ([`ErrorKind::NotFound`] if none).
    pub fn population(&self, name: &str) -> Result<Population> {
        let c_name = c_string(name, "name")?;
        let mut id = -1;
        check(unsafe { sys::snn_network_find_population(self.ptr.as_ptr(), c_name.as_ptr(), &mut id) })?;
        Ok(Population::from_raw(id, self.tag))
    }

    /// Every population, in creation order.
    pub fn populations(&self) -> Result<Vec<Population>> {
        let mut count = 0;
        check(unsafe { sys::snn_network_population_count(self.ptr.as_ptr(), &mut count) })?;
        Ok((0..count).map(|id| Population::from_raw(id, self.tag)).collect())
    }

    /// Name, model, size and shape of a population.
    pub fn population_info(&self, pop: Population) -> Result<PopulationInfo> {
        let id = self.pop_id(pop)?;
        // SAFETY: a zeroed plain struct with its size set, filled by libsnn.
        let mut info: sys::snn_population_info = unsafe { std::mem::zeroed() };
        info.struct_size = size_of::<sys::snn_population_info>() as u32;
        check(unsafe { sys::snn_population_info_get(self.ptr.as_ptr(), id, &mut info) })?;
        let ndim = (info.ndim.max(0) as usize).min(info.shape.len());
        Ok(PopulationInfo {
            // SAFETY: strings borrowed from the network and the library, copied now.
            name: unsafe { cstr_to_string(info.name) },
            model: unsafe { cstr_to_string(info.model) },
            size: info.size.max(0) as usize,
            shape: info.shape[..ndim].iter().map(|&d| d.max(0) as usize).collect(),
            is_input: info.is_input != 0,
        })
    }

    pub(crate) fn pop_size(&self, id: i32) -> Result<usize> {
        let mut info: sys::snn_population_info = unsafe { std::mem::zeroed() };
        info.struct_size = size_of::<sys::snn_population_info>() as u32;
        check(unsafe { sys::snn_population_info_get(self.ptr.as_ptr(), id, &mut info) })?;
        Ok(info.size.max(0) as usize)
    }

    /// Sets a numeric parameter: of every neuron of a population, or of a
    /// connection's synapse model ("tau", "e_rev").
    pub fn set_param<H: Handle>(&mut self, target: H, name: &str, value: f64) -> Result<()> {
        let (is_pop, id) = self.handle_id(target)?;
        let c_name = c_string(name, "name")?;
        check(unsafe {
            if is_pop {
                sys::snn_population_set_param(self.ptr.as_ptr(), id, c_name.as_ptr(), value)
            } else {
                sys::snn_connection_set_param(self.ptr.as_ptr(), id, c_name.as_ptr(), value)
            }
        })
    }

    /// Sets a numeric parameter per neuron (one value per neuron).
    pub fn set_param_array(&mut self, pop: Population, name: &str, values: &[f32]) -> Result<()> {
        let id = self.pop_id(pop)?;
        let c_name = c_string(name, "name")?;
        check(unsafe {
            sys::snn_population_set_param_array(
                self.ptr.as_ptr(),
                id,
                c_name.as_ptr(),
                values.as_ptr(),
                to_i64(values.len(), "values")?,
            )
        })
    }

    /// A population's numeric parameter per neuron, as float32 (as the
    /// engine uses it).
    pub fn param(&self, pop: Population, name: &str) -> Result<Vec<f32>> {
        let id = self.pop_id(pop)?;
        let c_name = c_string(name, "name")?;
        let net = self.ptr.as_ptr();
        two_call(|buf, cap, count| unsafe { sys::snn_population_get_param(net, id, c_name.as_ptr(), buf, cap, count) })
    }

    /// A connection's synapse parameter ("tau", "e_rev").
    pub fn connection_param(&self, conn: Connection, name: &str) -> Result<f64> {
        let id = self.conn_id(conn)?;
        let c_name = c_string(name, "name")?;
        let mut value = 0.0;
        check(unsafe { sys::snn_connection_get_param(self.ptr.as_ptr(), id, c_name.as_ptr(), &mut value) })?;
        Ok(value)
    }

    /// Sets a string option: of a population (e.g. "reset" = "value" |
    /// "subtract") or of a connection ("weight_dtype"; "plasticity", a
    /// learning rule set before the first step, and the rule's options such
    /// as "learning" = "on" | "off").
    pub fn set_option<H: Handle>(&mut self, target: H, name: &str, value: &str) -> Result<()> {
        let (is_pop, id) = self.handle_id(target)?;
        let c_name = c_string(name, "name")?;
        let c_value = c_string(value, "value")?;
        check(unsafe {
            if is_pop {
                sys::snn_population_set_option(self.ptr.as_ptr(), id, c_name.as_ptr(), c_value.as_ptr())
            } else {
                sys::snn_connection_set_option(self.ptr.as_ptr(), id, c_name.as_ptr(), c_value.as_ptr())
            }
        })
    }

    /// A string option of a population or connection.
    pub fn option<H: Handle>(&self, target: H, name: &str) -> Result<String> {
        let (is_pop, id) = self.handle_id(target)?;
        let c_name = c_string(name, "name")?;
        let mut value = ptr::null();
        check(unsafe {
            if is_pop {
                sys::snn_population_get_option(self.ptr.as_ptr(), id, c_name.as_ptr(), &mut value)
            } else {
                sys::snn_connection_get_option(self.ptr.as_ptr(), id, c_name.as_ptr(), &mut value)
            }
        })?;
        Ok(unsafe { cstr_to_string(value) })
    }

    /// A state variable ("v", "I", ...) of a population or connection, as
    /// float32 in the `[batch][n]` layout (a copy).
    pub fn read_state<H: Handle>(&self, target: H, var: &str) -> Result<Vec<f32>> {
        let (is_pop, id) = self.handle_id(target)?;
        let c_var = c_string(var, "var")?;
        let net = self.ptr.as_ptr();
        two_call(|buf, cap, count| unsafe {
            if is_pop {
                sys::snn_population_read_state(net, id, c_var.as_ptr(), buf, cap, count)
            } else {
                sys::snn_connection_read_state(net, id, c_var.as_ptr(), buf, cap, count)
            }
        })
    }

    /// Reads a state variable into `out` (at least batch × n values) without
    /// allocating; returns the number of values written.
    pub fn read_state_into<H: Handle>(&self, target: H, var: &str, out: &mut [f32]) -> Result<usize> {
        let (is_pop, id) = self.handle_id(target)?;
        let c_var = c_string(var, "var")?;
        let mut count = 0i64;
        let cap = to_i64(out.len(), "out")?;
        let buf = if out.is_empty() { ptr::null_mut() } else { out.as_mut_ptr() };
        check(unsafe {
            if is_pop {
                sys::snn_population_read_state(self.ptr.as_ptr(), id, c_var.as_ptr(), buf, cap, &mut count)
            } else {
                sys::snn_connection_read_state(self.ptr.as_ptr(), id, c_var.as_ptr(), buf, cap, &mut count)
            }
        })?;
        if count > cap {
            return Err(Error::new(
                ErrorKind::Shape,
                format!("out: {cap} values given; \"{var}\" has {count} (batch x n)"),
            ));
        }
        Ok(count as usize)
    }

    /// Writes a state variable: `n` values (the same for every instance) or
    /// `batch × n`. A write before the first step also sets the initial
    /// state that [`reset`](Network::reset) restores.
    pub fn write_state<H: Handle>(&mut self, target: H, var: &str, values: &[f32]) -> Result<()> {
        let (is_pop, id) = self.handle_id(target)?;
        let c_var = c_string(var, "var")?;
        let count = to_i64(values.len(), "values")?;
        check(unsafe {
            if is_pop {
                sys::snn_population_write_state(self.ptr.as_ptr(), id, c_var.as_ptr(), values.as_ptr(), count)
            } else {
                sys::snn_connection_write_state(self.ptr.as_ptr(), id, c_var.as_ptr(), values.as_ptr(), count)
            }
        })
    }

    /// Draws a state variable from a distribution with its own seed,
    /// independently per instance and neuron (as Brian2's
    /// `v = 'Vr + rand() * (Vt - Vr)'`).
    pub fn randomize_state<H: Handle>(&mut self, target: H, var: &str, dist: Distribution, seed: u64) -> Result<()> {
        let (is_pop, id) = self.handle_id(target)?;
        let c_var = c_string(var, "var")?;
        let (kind, a, b) = match dist {
            Distribution::Uniform { low, high } => (sys::SNN_DIST_UNIFORM, low, high),
            Distribution::Normal { mean, std_dev } => (sys::SNN_DIST_NORMAL, mean, std_dev),
        };
        check(unsafe {
            if is_pop {
                sys::snn_population_randomize_state(self.ptr.as_ptr(), id, c_var.as_ptr(), kind, a, b, seed)
            } else {
                sys::snn_connection_randomize_state(self.ptr.as_ptr(), id, c_var.as_ptr(), kind, a, b, seed)
            }
        })
    }

    /// The spikes of the last step, `[batch][n]`.
    pub fn read_spikes(&self, pop: Population) -> Result<Vec<bool>> {
        let id = self.pop_id(pop)?;
        let net = self.ptr.as_ptr();
        let bytes = two_call(|buf, cap, count| unsafe { sys::snn_population_read_spikes(net, id, buf, cap, count) })?;
        Ok(bytes.into_iter().map(|b| b != 0).collect())
    }

    /// A view of a population's state variable in the network's own memory,
    /// `[batch][n]`, read and written in place (no copy). The view borrows
    /// the network, so the network cannot step while it is alive. The first
    /// view, like the first step, fixes the structure. Backends that do not
    /// keep the variable in host memory give [`ErrorKind::Unsupported`]: use
    /// [`read_state`](Network::read_state) there.
    pub fn view_state(&mut self, pop: Population, var: &str) -> Result<StateView<'_>> {
        let id = self.pop_id(pop)?;
        let c_var = c_string(var, "var")?;
        let mut tensor = ptr::null_mut();
        check(unsafe { sys::snn_population_view_state(self.ptr.as_ptr(), id, c_var.as_ptr(), &mut tensor) })?;
        let tensor = NonNull::new(tensor)
            .ok_or_else(|| Error::new(ErrorKind::Internal, "snn_population_view_state gave NULL"))?;
        // SAFETY: libsnn filled the descriptor; shape and strides have ndim values.
        let checked = unsafe {
            let t = tensor.as_ref();
            let dims: &[i64] =
                if t.shape.is_null() { &[] } else { std::slice::from_raw_parts(t.shape, t.ndim.max(0) as usize) };
            let len: i64 = dims.iter().product();
            let contiguous = t.strides.is_null() || {
                let strides = std::slice::from_raw_parts(t.strides, dims.len());
                let mut expected = 1;
                dims.iter().zip(strides).rev().all(|(&d, &s)| {
                    let ok = d <= 1 || s == expected;
                    expected *= d;
                    ok
                })
            };
            match NonNull::new(t.data as *mut f32) {
                Some(data) if t.dtype == sys::SNN_DTYPE_FLOAT32 && contiguous && len >= 0 => Some((data, len as usize)),
                _ => None,
            }
        };
        match checked {
            Some((data, len)) => Ok(StateView { tensor, data, len, _network: PhantomData }),
            None => {
                unsafe { sys::snn_tensor_release(tensor.as_ptr()) };
                Err(Error::new(ErrorKind::Unsupported, "view_state: the exported tensor is not contiguous float32"))
            }
        }
    }

    /// Copies a `[batch][n]` input of a source population for the next step
    /// ("spike_source": nonzero = spike; "current_source": values;
    /// "poisson": rates in Hz). A step without input uses the model's default.
    pub fn set_input<T: Element>(&mut self, pop: Population, values: &[T]) -> Result<()> {
        let id = self.pop_id(pop)?;
        let (batch, n) = (self.batch()?, self.pop_size(id)?);
        if values.len() != batch * n {
            return Err(Error::new(
                ErrorKind::Shape,
                format!("input: {} values given; the input is [batch, n] = [{batch}, {n}]", values.len()),
            ));
        }
        let shape = [batch as i64, n as i64];
        let tensor = borrowed_tensor(values, &shape);
        // SAFETY: the descriptor points to values and shape, valid for the
        // call; libsnn copies the data before returning.
        check(unsafe { sys::snn_population_set_input(self.ptr.as_ptr(), id, &tensor) })
    }

    /// The shape a bound buffer of `len` elements has: `[batch, n]` if it
    /// holds batch × n values, `[steps, batch, n]` if it holds a multiple.
    fn bound_shape(&self, id: i32, len: usize, what: &str) -> Result<Vec<i64>> {
        let (batch, n) = (self.batch()?, self.pop_size(id)?);
        let per_step = batch * n;
        if per_step == 0 || len == 0 || len % per_step != 0 {
            return Err(Error::new(
                ErrorKind::Shape,
                format!(
                    "{what}: {len} values given; a buffer holds [batch, n] = [{batch}, {n}] or [steps, {batch}, {n}] values"
                ),
            ));
        }
        let steps = len / per_step;
        let mut shape = Vec::with_capacity(3);
        if steps > 1 {
            shape.push(to_i64(steps, "steps")?);
        }
        shape.push(batch as i64);
        shape.push(n as i64);
        Ok(shape)
    }

    /// Hands a buffer to the network, which reads it in place as the input of
    /// a source population: `[batch][n]` values (read every step) or
    /// `[steps][batch][n]` (step k of each run reads slice k; a single step
    /// reads slice 0). The network owns the buffer until
    /// [`unbind_input`](Network::unbind_input) gives it back; change it in
    /// place between steps with [`input_mut`](Network::input_mut). Takes
    /// precedence over [`set_input`](Network::set_input).
    pub fn bind_input<T: Element>(&mut self, pop: Population, buffer: Vec<T>) -> Result<()> {
        let id = self.pop_id(pop)?;
        let shape = self.bound_shape(id, buffer.len(), "buffer")?;
        let binding = Binding::new(buffer, &shape);
        let tensor = binding.tensor();
        // SAFETY: the data lives in `binding`, which is kept (below) until
        // libsnn lets go of it: unbind, rebind or destroy.
        check(unsafe { sys::snn_population_bind_input(self.ptr.as_ptr(), id, &tensor) })?;
        // A previous buffer was released by libsnn; drop it now.
        self.inputs.insert(id, binding);
        Ok(())
    }

    fn no_input(&self, id: i32) -> Error {
        Error::new(ErrorKind::NotFound, format!("population {id}: no input buffer is bound"))
    }

    /// The input buffer bound to a population.
    pub fn input<T: Element>(&self, pop: Population) -> Result<&[T]> {
        let id = self.pop_id(pop)?;
        self.inputs.get(&id).ok_or_else(|| self.no_input(id))?.as_slice("input")
    }

    /// The input buffer bound to a population, to change in place.
    pub fn input_mut<T: Element>(&mut self, pop: Population) -> Result<&mut [T]> {
        let id = self.pop_id(pop)?;
        let err = self.no_input(id);
        self.inputs.get_mut(&id).ok_or(err)?.as_mut_slice("input")
    }

    /// The shape of the input buffer bound to a population.
    pub fn input_shape(&self, pop: Population) -> Result<Vec<usize>> {
        let id = self.pop_id(pop)?;
        Ok(self.inputs.get(&id).ok_or_else(|| self.no_input(id))?.shape())
    }

    /// Unbinds a population's input buffer and gives it back.
    pub fn unbind_input<T: Element>(&mut self, pop: Population) -> Result<Vec<T>> {
        let id = self.pop_id(pop)?;
        match self.inputs.get(&id) {
            None => return Err(self.no_input(id)),
            Some(b) if !b.type_matches::<T>() => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("input: the buffer holds {}, not {}", b.type_name(), T::NAME),
                ))
            }
            Some(_) => {}
        }
        check(unsafe { sys::snn_population_unbind_input(self.ptr.as_ptr(), id) })?;
        match self.inputs.remove(&id) {
            Some(binding) => binding.into_vec("input"),
            None => Err(self.no_input(id)),
        }
    }

    /// Hands a buffer to the network, which writes a population's `var` into
    /// it in place every step: "spikes" (`u8`, `bool` or `f32`) or a state
    /// variable (`f32`). `[batch][n]` values (overwritten every step) or
    /// `[steps][batch][n]` (step k of a run writes slice k; a longer run is
    /// refused with [`ErrorKind::Shape`]). Read it with
    /// [`output`](Network::output); [`unbind_output`](Network::unbind_output)
    /// gives it back.
    pub fn bind_output<T: Element>(&mut self, pop: Population, var: &str, buffer: Vec<T>) -> Result<()> {
        let id = self.pop_id(pop)?;
        let c_var = c_string(var, "var")?;
        let shape = self.bound_shape(id, buffer.len(), "buffer")?;
        let binding = Binding::new(buffer, &shape);
        let tensor = binding.tensor();
        // SAFETY: as for bind_input.
        check(unsafe { sys::snn_population_bind_output(self.ptr.as_ptr(), id, c_var.as_ptr(), &tensor) })?;
        self.outputs.insert((id, var.to_owned()), binding);
        Ok(())
    }

    fn no_output(&self, id: i32, var: &str) -> Error {
        Error::new(ErrorKind::NotFound, format!("var: no output \"{var}\" is bound on population {id}"))
    }

    /// An output buffer bound to a population.
    pub fn output<T: Element>(&self, pop: Population, var: &str) -> Result<&[T]> {
        let id = self.pop_id(pop)?;
        match self.outputs.get(&(id, var.to_owned())) {
            Some(b) => b.as_slice("output"),
            None => Err(self.no_output(id, var)),
        }
    }

    /// An output buffer bound to a population, to change in place.
    pub fn output_mut<T: Element>(&mut self, pop: Population, var: &str) -> Result<&mut [T]> {
        let id = self.pop_id(pop)?;
        let err = self.no_output(id, var);
        self.outputs.get_mut(&(id, var.to_owned())).ok_or(err)?.as_mut_slice("output")
    }

    /// Unbinds an output buffer and gives it back.
    pub fn unbind_output<T: Element>(&mut self, pop: Population, var: &str) -> Result<Vec<T>> {
        let id = self.pop_id(pop)?;
        let key = (id, var.to_owned());
        match self.outputs.get(&key) {
            None => return Err(self.no_output(id, var)),
            Some(b) if !b.type_matches::<T>() => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("output: the buffer holds {}, not {}", b.type_name(), T::NAME),
                ))
            }
            Some(_) => {}
        }
        let c_var = c_string(var, "var")?;
        check(unsafe { sys::snn_population_unbind_output(self.ptr.as_ptr(), id, c_var.as_ptr()) })?;
        match self.outputs.remove(&key) {
            Some(binding) => binding.into_vec("output"),
            None => Err(self.no_output(id, var)),
        }
    }

    /// Calls `callback` after each step, once per instance in which the
    /// population spiked, with the ids of the neurons that spiked. It runs on
    /// the thread that called [`step`](Network::step)/[`run`](Network::run).
    /// Return `()` to go on, or a `ControlFlow` whose `Break` stops the run
    /// after this step. Replaces (and drops) a previous callback.
    ///
    /// ```no_run
    /// # let ctx = snn::Context::new()?;
    /// # let mut net = snn::Network::new(&ctx)?;
    /// # let pop = net.add_population("p", "lif", &[10])?;
    /// let mut total = 0;
    /// net.on_spike(pop, move |s: &snn::Spikes| {
    ///     total += s.neurons.len();
    ///     println!("step {} instance {}: {:?}", s.step, s.instance, s.neurons);
    /// })?;
    /// # Ok::<(), snn::Error>(())
    /// ```
    pub fn on_spike<F, R>(&mut self, pop: Population, callback: F) -> Result<()>
    where
        F: FnMut(&Spikes<'_>) -> R + Send + 'static,
        R: CallbackResult,
    {
        let id = self.pop_id(pop)?;
        let mut slot = Slot::new(self.tag, callback);
        let user_data = &mut *slot as *mut Slot as *mut std::os::raw::c_void;
        // SAFETY: the slot is kept in `callbacks` until libsnn stops calling
        // it (a new registration, removal, or destroy).
        check(unsafe { sys::snn_population_set_spike_callback(self.ptr.as_ptr(), id, Some(trampoline), user_data) })?;
        self.callbacks.insert(id, slot);
        Ok(())
    }

    /// Removes a population's spike callback (and drops the closure).
    pub fn remove_spike_callback(&mut self, pop: Population) -> Result<()> {
        let id = self.pop_id(pop)?;
        check(unsafe { sys::snn_population_set_spike_callback(self.ptr.as_ptr(), id, None, ptr::null_mut()) })?;
        self.callbacks.remove(&id);
        Ok(())
    }

    // ------------------------------------------------------------------
    // Connections

    fn connection_options(options: &ConnectOptions) -> Result<(sys::snn_connection_options, Vec<std::ffi::CString>)> {
        let mut c: sys::snn_connection_options = unsafe { std::mem::zeroed() };
        check(unsafe { sys::snn_connection_options_init(&mut c, size_of::<sys::snn_connection_options>() as u32) })?;
        let mut keep = Vec::new();
        if let Some(name) = &options.name {
            let s = c_string(name, "name")?;
            c.name = s.as_ptr();
            keep.push(s);
        }
        if let Some(synapse) = &options.synapse {
            let s = c_string(synapse, "synapse")?;
            c.synapse = s.as_ptr();
            keep.push(s);
        }
        if let Some(delay) = options.delay {
            c.delay = i32::try_from(delay)
                .map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("delay: {delay} is too large")))?;
        }
        // The CStrings' heap buffers do not move when the vector moves.
        Ok((c, keep))
    }

    pub(crate) fn conn_handle(&self, id: i32) -> Connection {
        Connection { id, network: self.tag }
    }

    /// Connects every neuron of `pre` to every neuron of `post` with dense
    /// weights `[n_pre][n_post]` (copied).
    pub fn connect_dense(
        &mut self,
        pre: Population,
        post: Population,
        weights: &[f32],
        options: &ConnectOptions,
    ) -> Result<Connection> {
        let (pre, post) = (self.pop_id(pre)?, self.pop_id(post)?);
        let (c, _keep) = Network::connection_options(options)?;
        let mut id = -1;
        check(unsafe {
            sys::snn_network_connect_dense(
                self.ptr.as_ptr(),
                pre,
                post,
                weights.as_ptr(),
                to_i64(weights.len(), "weights")?,
                &c,
                &mut id,
            )
        })?;
        Ok(self.conn_handle(id))
    }

    /// Connects with sparse rows over the presynaptic neurons (copied).
    /// Duplicate (pre, post) pairs add up.
    pub fn connect_sparse(
        &mut self,
        pre: Population,
        post: Population,
        csr: &Csr<'_>,
        options: &ConnectOptions,
    ) -> Result<Connection> {
        let (pre_id, post_id) = (self.pop_id(pre)?, self.pop_id(post)?);
        let n_pre = self.pop_size(pre_id)?;
        let nnz = csr.weights.len();
        if csr.row_ptr.len() != n_pre + 1 {
            return Err(Error::new(
                ErrorKind::Shape,
                format!("row_ptr: {} values given; n_pre + 1 = {} needed", csr.row_ptr.len(), n_pre + 1),
            ));
        }
        if csr.post_index.len() != nnz {
            return Err(Error::new(
                ErrorKind::Shape,
                format!("post_index: {} values given; there are {nnz} weights", csr.post_index.len()),
            ));
        }
        if let Some(d) = csr.delays {
            if d.len() != nnz {
                return Err(Error::new(
                    ErrorKind::Shape,
                    format!("delays: {} values given; there are {nnz} weights", d.len()),
                ));
            }
        }
        let (c, _keep) = Network::connection_options(options)?;
        let mut id = -1;
        check(unsafe {
            sys::snn_network_connect_sparse(
                self.ptr.as_ptr(),
                pre_id,
                post_id,
                to_i64(nnz, "weights")?,
                csr.row_ptr.as_ptr(),
                csr.post_index.as_ptr(),
                csr.weights.as_ptr(),
                csr.delays.map_or(ptr::null(), |d| d.as_ptr()),
                &c,
                &mut id,
            )
        })?;
        Ok(self.conn_handle(id))
    }

    /// Connects each (pre, post) pair with probability `p`, all with
    /// `weight`, drawn from libsnn's generator keyed by `seed` (the same
    /// synapses on every platform).
    pub fn connect_random(
        &mut self,
        pre: Population,
        post: Population,
        p: f64,
        weight: f32,
        seed: u64,
        options: &ConnectOptions,
    ) -> Result<Connection> {
        let (pre, post) = (self.pop_id(pre)?, self.pop_id(post)?);
        let (c, _keep) = Network::connection_options(options)?;
        let mut id = -1;
        check(unsafe { sys::snn_network_connect_random(self.ptr.as_ptr(), pre, post, p, weight, seed, &c, &mut id) })?;
        Ok(self.conn_handle(id))
    }

    /// Connects neuron i of `pre` to neuron i of `post` (same sizes), one
    /// weight per neuron.
    pub fn connect_one_to_one(
        &mut self,
        pre: Population,
        post: Population,
        weights: &[f32],
        options: &ConnectOptions,
    ) -> Result<Connection> {
        if weights.is_empty() {
            return Err(Error::new(ErrorKind::Shape, "weights: empty; give one weight per neuron"));
        }
        self.one_to_one(pre, post, weights, 0.0, options)
    }

    /// Connects neuron i of `pre` to neuron i of `post`, all with one weight.
    pub fn connect_one_to_one_uniform(
        &mut self,
        pre: Population,
        post: Population,
        weight: f32,
        options: &ConnectOptions,
    ) -> Result<Connection> {
        self.one_to_one(pre, post, &[], weight, options)
    }

    fn one_to_one(
        &mut self,
        pre: Population,
        post: Population,
        weights: &[f32],
        weight: f32,
        options: &ConnectOptions,
    ) -> Result<Connection> {
        let (pre, post) = (self.pop_id(pre)?, self.pop_id(post)?);
        let (c, _keep) = Network::connection_options(options)?;
        let ptr_w = if weights.is_empty() { ptr::null() } else { weights.as_ptr() };
        let mut id = -1;
        check(unsafe {
            sys::snn_network_connect_one_to_one(
                self.ptr.as_ptr(),
                pre,
                post,
                ptr_w,
                to_i64(weights.len(), "weights")?,
                weight,
                &c,
                &mut id,
            )
        })?;
        Ok(self.conn_handle(id))
    }

    /// Connects with a 2-D convolution (PyTorch's Conv2d, then an optional
    /// pooling): `pre` is read as `[in_channels, in_height, in_width]`, `post`
    /// as `[out_channels, out_height, out_width]`. `weights` holds the kernel
    /// `[out_c][in_c][kh][kw]`, then with a bias the `[out_c]` biases
    /// ([`Conv2d::weight_count`] values, copied).
    pub fn connect_conv2d(
        &mut self,
        pre: Population,
        post: Population,
        geometry: &Conv2d,
        weights: &[f32],
        options: &ConnectOptions,
    ) -> Result<Connection> {
        let (pre, post) = (self.pop_id(pre)?, self.pop_id(post)?);
        let g = geometry.to_c()?;
        let (c, _keep) = Network::connection_options(options)?;
        let mut id = -1;
        check(unsafe {
            sys::snn_network_connect_conv2d(
                self.ptr.as_ptr(),
                pre,
                post,
                &g,
                weights.as_ptr(),
                to_i64(weights.len(), "weights")?,
                &c,
                &mut id,
            )
        })?;
        Ok(self.conn_handle(id))
    }

    /// The geometry of a conv2d connection, its defaults filled in.
    pub fn conv2d_geometry(&self, conn: Connection) -> Result<Conv2d> {
        let id = self.conn_id(conn)?;
        let mut g: sys::snn_conv2d_geometry = unsafe { std::mem::zeroed() };
        g.struct_size = size_of::<sys::snn_conv2d_geometry>() as u32;
        check(unsafe { sys::snn_connection_conv2d_get(self.ptr.as_ptr(), id, &mut g) })?;
        Ok(Conv2d::from_c(&g))
    }

    /// Calls `callback` after each step in which learning changed a plastic
    /// connection's weights (after the spike callbacks, on the thread that
    /// called [`step`](Network::step)/[`run`](Network::run)). Return `()` to
    /// go on or a `ControlFlow` whose `Break` stops the run after this step.
    /// Replaces (and drops) a previous callback; a panic stops the run and is
    /// resumed from `step`/`run`, as for spike callbacks.
    pub fn on_learning<F, R>(&mut self, conn: Connection, callback: F) -> Result<()>
    where
        F: FnMut(&LearningEvent<'_>) -> R + Send + 'static,
        R: CallbackResult,
    {
        let id = self.conn_id(conn)?;
        let mut slot = LearningSlot::new(self.tag, callback);
        let user_data = &mut *slot as *mut LearningSlot as *mut std::os::raw::c_void;
        // SAFETY: the slot is kept in `learning` until libsnn stops calling it.
        check(unsafe {
            sys::snn_connection_set_learning_callback(self.ptr.as_ptr(), id, Some(learning_trampoline), user_data)
        })?;
        self.learning.insert(id, slot);
        Ok(())
    }

    /// Removes a connection's learning callback (and drops the closure).
    pub fn remove_learning_callback(&mut self, conn: Connection) -> Result<()> {
        let id = self.conn_id(conn)?;
        check(unsafe { sys::snn_connection_set_learning_callback(self.ptr.as_ptr(), id, None, ptr::null_mut()) })?;
        self.learning.remove(&id);
        Ok(())
    }

    /// The connection of this name ([`ErrorKind::NotFound`] if none).
    pub fn connection(&self, name: &str) -> Result<Connection> {
        let c_name = c_string(name, "name")?;
        let mut id = -1;
        check(unsafe { sys::snn_network_find_connection(self.ptr.as_ptr(), c_name.as_ptr(), &mut id) })?;
        Ok(self.conn_handle(id))
    }

    /// Every connection, in creation order.
    pub fn connections(&self) -> Result<Vec<Connection>> {
        let mut count = 0;
        check(unsafe { sys::snn_network_connection_count(self.ptr.as_ptr(), &mut count) })?;
        Ok((0..count).map(|id| self.conn_handle(id)).collect())
    }

    /// Name, synapse model, ends, kind and size of a connection.
    pub fn connection_info(&self, conn: Connection) -> Result<ConnectionInfo> {
        let id = self.conn_id(conn)?;
        let mut info: sys::snn_connection_info = unsafe { std::mem::zeroed() };
        info.struct_size = size_of::<sys::snn_connection_info>() as u32;
        check(unsafe { sys::snn_connection_info_get(self.ptr.as_ptr(), id, &mut info) })?;
        Ok(ConnectionInfo {
            name: unsafe { cstr_to_string(info.name) },
            synapse: unsafe { cstr_to_string(info.synapse) },
            pre: Population::from_raw(info.pre, self.tag),
            post: Population::from_raw(info.post, self.tag),
            kind: match info.kind {
                sys::SNN_CONNECTION_DENSE => ConnectionKind::Dense,
                sys::SNN_CONNECTION_SPARSE => ConnectionKind::Sparse,
                sys::SNN_CONNECTION_ONE_TO_ONE => ConnectionKind::OneToOne,
                sys::SNN_CONNECTION_CONV2D => ConnectionKind::Conv2d,
                other => ConnectionKind::Other(other),
            },
            delay: info.delay.max(0) as u32,
            nnz: info.nnz.max(0) as usize,
            has_synapse_delays: info.has_synapse_delays != 0,
        })
    }

    /// A connection's weights in its order (dense: `[pre][post]`; sparse: row
    /// order; one-to-one: by neuron).
    pub fn weights(&self, conn: Connection) -> Result<Vec<f32>> {
        let id = self.conn_id(conn)?;
        let net = self.ptr.as_ptr();
        two_call(|buf, cap, count| unsafe { sys::snn_connection_get_weights(net, id, buf, cap, count) })
    }

    /// Replaces a connection's weights (as many as it has).
    pub fn set_weights(&mut self, conn: Connection, weights: &[f32]) -> Result<()> {
        let id = self.conn_id(conn)?;
        check(unsafe {
            sys::snn_connection_set_weights(self.ptr.as_ptr(), id, weights.as_ptr(), to_i64(weights.len(), "weights")?)
        })
    }

    /// The (pre, post) pairs and delays of a connection, in weight order.
    pub fn synapses(&self, conn: Connection) -> Result<Synapses> {
        let id = self.conn_id(conn)?;
        let net = self.ptr.as_ptr();
        let mut count = 0i64;
        let null = ptr::null_mut();
        check(unsafe { sys::snn_connection_get_synapses(net, id, null, null, null, 0, &mut count) })?;
        let n = count.max(0) as usize;
        let mut s = Synapses { pre: vec![0; n], post: vec![0; n], delays: vec![0; n] };
        if n > 0 {
            check(unsafe {
                sys::snn_connection_get_synapses(
                    net,
                    id,
                    s.pre.as_mut_ptr(),
                    s.post.as_mut_ptr(),
                    s.delays.as_mut_ptr(),
                    count,
                    &mut count,
                )
            })?;
        }
        Ok(s)
    }

    /// The C handle, for calls through `snn_sys` that this crate does not
    /// wrap. It stays owned by this network (do not destroy it).
    pub fn as_ptr(&self) -> *const sys::snn_network {
        self.ptr.as_ptr()
    }

    /// The C handle for calls that change the network.
    pub fn as_mut_ptr(&mut self) -> *mut sys::snn_network {
        self.ptr.as_ptr()
    }
}

fn load_options(options: &LoadOptions) -> Result<sys::snn_load_options> {
    let mut c: sys::snn_load_options = unsafe { std::mem::zeroed() };
    check(unsafe { sys::snn_load_options_init(&mut c, size_of::<sys::snn_load_options>() as u32) })?;
    if let Some(batch) = options.batch {
        c.batch = to_i32(batch, "batch")?;
    }
    Ok(c)
}

/// A population's state variable viewed in place in the network's memory,
/// `[batch][n]` float32: dereferences to a slice. Released when dropped.
pub struct StateView<'a> {
    tensor: NonNull<sys::snn_tensor>,
    data: NonNull<f32>,
    len: usize,
    _network: PhantomData<&'a mut Network>,
}

impl Deref for StateView<'_> {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        // SAFETY: len floats of the network's state, which nothing else
        // touches while the view borrows the network mutably.
        unsafe { std::slice::from_raw_parts(self.data.as_ptr(), self.len) }
    }
}

impl DerefMut for StateView<'_> {
    fn deref_mut(&mut self) -> &mut [f32] {
        unsafe { std::slice::from_raw_parts_mut(self.data.as_ptr(), self.len) }
    }
}

impl Drop for StateView<'_> {
    fn drop(&mut self) {
        // SAFETY: the tensor was exported by snn_population_view_state and is
        // released once, before the network (borrowed by 'a) can go.
        unsafe { sys::snn_tensor_release(self.tensor.as_ptr()) }
    }
}

impl fmt::Debug for StateView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateView").field("len", &self.len).finish()
    }
}
