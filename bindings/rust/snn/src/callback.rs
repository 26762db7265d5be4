//! Spike callbacks: Rust closures behind libsnn's C function pointer.

use std::any::Any;
use std::ops::ControlFlow;
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::network::Population;

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
