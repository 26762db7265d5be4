//! Spike callbacks: Rust closures behind libsnn's C function pointer.

use std::any::Any;
use std::ops::ControlFlow;
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use snn_sys as sys;

use crate::network::{Connection, Population};

/// The spikes of one population in one instance after one step, as a spike
/// callback receives them.
#[derive(Debug, Clone, Copy)]
pub struct Spikes<'a> {
    /// The population that spiked.
    pub population: Population,
    /// The step that just completed (0 for the first step after creation or reset).
    pub step: u64,
    /// The instance of the batch (0..batch).
    pub instance: usize,
    /// The ids of the neurons that spiked, ascending (valid during the call).
    pub neurons: &'a [i32],
}

/// What a spike callback returns: `()` to go on, or a
/// [`ControlFlow`](std::ops::ControlFlow) whose `Break` stops the run after
/// the current step (the run then returns an error of kind
/// [`Cancelled`](crate::ErrorKind::Cancelled)).
pub trait CallbackResult {
    /// Whether the run goes on.
    fn control(self) -> ControlFlow<()>;
}

impl CallbackResult for () {
    fn control(self) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

impl CallbackResult for ControlFlow<()> {
    fn control(self) -> ControlFlow<()> {
        self
    }
}

type SpikeFn = dyn FnMut(&Spikes<'_>) -> ControlFlow<()> + Send + 'static;

/// One population's callback, boxed so that its address (libsnn's
/// user_data) stays put while the network's maps change.
pub(crate) struct Slot {
    f: Box<SpikeFn>,
    network: u64,
    /// A panic caught in the closure, resumed when the run returns.
    pub(crate) panic: Option<Box<dyn Any + Send + 'static>>,
}

impl Slot {
    pub(crate) fn new<F, R>(network: u64, mut f: F) -> Box<Slot>
    where
        F: FnMut(&Spikes<'_>) -> R + Send + 'static,
        R: CallbackResult,
    {
        Box::new(Slot { f: Box::new(move |s: &Spikes<'_>| f(s).control()), network, panic: None })
    }
}

/// The C callback: finds the slot in user_data and calls its closure. A
/// panic is caught (it must not unwind into C), kept, and stops the run.
pub(crate) unsafe extern "C" fn trampoline(
    population: i32,
    step: i64,
    batch_index: i32,
    count: i32,
    neuron_ids: *const i32,
    user_data: *mut c_void,
) -> i32 {
    // SAFETY: user_data is the Box<Slot> registered with this callback; the
    // network keeps it until libsnn no longer calls it, and the run that
    // calls it holds the network by &mut, so nothing else touches the slot.
    let slot = &mut *(user_data as *mut Slot);
    if slot.panic.is_some() {
        return 1;
    }
    let neurons: &[i32] = if count > 0 && !neuron_ids.is_null() {
        // SAFETY: libsnn passes `count` ids, valid during the call.
        std::slice::from_raw_parts(neuron_ids, count as usize)
    } else {
        &[]
    };
    let spikes = Spikes {
        population: Population::from_raw(population, slot.network),
        step: step.max(0) as u64,
        instance: batch_index.max(0) as usize,
        neurons,
    };
    let f = &mut slot.f;
    match catch_unwind(AssertUnwindSafe(|| f(&spikes))) {
        Ok(ControlFlow::Continue(())) => 0,
        Ok(ControlFlow::Break(())) => 1,
        Err(payload) => {
            slot.panic = Some(payload);
            1
        }
    }
}

/// What learning changed on one plastic connection in one step, as a
/// learning callback receives it ([`Network::on_learning`](crate::Network::on_learning)).
#[derive(Debug, Clone, Copy)]
pub struct LearningEvent<'a> {
    /// The connection whose weights changed.
    pub connection: Connection,
    /// The step that just completed.
    pub step: u64,
    /// Updates that changed a weight (one changed at a presynaptic and a
    /// postsynaptic event counts twice).
    pub synapses_changed: u64,
    /// The sum of |new - old| over those updates.
    pub total_change: f64,
    /// Any synapse may have changed (rstdp, normalisation); `rows` and
    /// `columns` are then empty.
    pub all: bool,
    /// Presynaptic neurons whose synapses changed through presynaptic events.
    pub rows: &'a [i32],
    /// Postsynaptic neurons whose synapses changed through their spikes.
    pub columns: &'a [i32],
}

type LearningFn = dyn FnMut(&LearningEvent<'_>) -> ControlFlow<()> + Send + 'static;

/// One connection's learning callback, boxed like [`Slot`].
pub(crate) struct LearningSlot {
    f: Box<LearningFn>,
    network: u64,
    /// A panic caught in the closure, resumed when the run returns.
    pub(crate) panic: Option<Box<dyn Any + Send + 'static>>,
}

impl LearningSlot {
    pub(crate) fn new<F, R>(network: u64, mut f: F) -> Box<LearningSlot>
    where
        F: FnMut(&LearningEvent<'_>) -> R + Send + 'static,
        R: CallbackResult,
    {
        Box::new(LearningSlot { f: Box::new(move |e: &LearningEvent<'_>| f(e).control()), network, panic: None })
    }
}

/// A slice libsnn passes for the call (empty for NULL or no elements).
///
/// # Safety
/// `ptr` points to `count` values valid during the call, or is NULL.
unsafe fn ids<'a>(ptr: *const i32, count: i32) -> &'a [i32] {
    if count > 0 && !ptr.is_null() {
        std::slice::from_raw_parts(ptr, count as usize)
    } else {
        &[]
    }
}

/// The C learning callback: as [`trampoline`], a panic never unwinds into C.
pub(crate) unsafe extern "C" fn learning_trampoline(
    event: *const sys::snn_learning_event,
    user_data: *mut c_void,
) -> i32 {
    // SAFETY: user_data is the Box<LearningSlot> registered with this
    // callback, kept by the network (held by &mut during the run).
    let slot = &mut *(user_data as *mut LearningSlot);
    if slot.panic.is_some() || event.is_null() {
        return 1;
    }
    // SAFETY: libsnn passes an event and arrays valid during the call.
    let e = &*event;
    let learning = LearningEvent {
        connection: Connection::from_raw(e.connection, slot.network),
        step: e.step.max(0) as u64,
        synapses_changed: e.synapses_changed.max(0) as u64,
        total_change: e.total_change,
        all: e.all != 0,
        rows: ids(e.rows, e.row_count),
        columns: ids(e.columns, e.column_count),
    };
    let f = &mut slot.f;
    match catch_unwind(AssertUnwindSafe(|| f(&learning))) {
        Ok(ControlFlow::Continue(())) => 0,
        Ok(ControlFlow::Break(())) => 1,
        Err(payload) => {
            slot.panic = Some(payload);
            1
        }
    }
}
