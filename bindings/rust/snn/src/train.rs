//! Training: surrogate-gradient backpropagation through time over a
//! network's weights (docs/training.md).

use std::fmt;
use std::mem::size_of;
use std::ptr::{self, NonNull};

use snn_sys as sys;

use crate::buffer::{borrowed_tensor, Element};
use crate::error::{check, Error, ErrorKind, Result};
use crate::network::{Connection, Network, Population};
use crate::util::{c_string, to_i32, to_i64};

/// How to create a [`Trainer`]; by default every forward pass starts from
/// the initial state, gradients flow through the reset, and no input
/// gradients are computed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrainerOptions {
    detach_reset: bool,
    carry_state: bool,
    input_grads: bool,
}

impl TrainerOptions {
    /// All defaults.
    pub fn new() -> TrainerOptions {
        TrainerOptions::default()
    }

    /// No gradient through the reset (as snnTorch).
    pub fn detach_reset(mut self, on: bool) -> TrainerOptions {
        self.detach_reset = on;
        self
    }

    /// Each forward pass continues from where the previous one ended
    /// (truncated BPTT); [`Trainer::reset_state`] starts a new sequence.
    pub fn carry_state(mut self, on: bool) -> TrainerOptions {
        self.carry_state = on;
        self
    }

    /// `backward` also computes the gradient of the sources' inputs
    /// ([`Trainer::read_input_grad`]).
    pub fn input_grads(mut self, on: bool) -> TrainerOptions {
        self.input_grads = on;
        self
    }
}

/// An optimizer ([`OptimizerOptions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Optimizer {
    /// SGD with momentum.
    Sgd,
    /// Adam.
    Adam,
    /// Adam with decoupled weight decay.
    AdamW,
}

/// The optimizer of a [`Trainer`]; what is left out takes libsnn's default
/// (learning rate 1e-3, momentum 0, betas 0.9 and 0.999, eps 1e-8, no weight
/// decay, no clipping).
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerOptions {
    kind: Optimizer,
    learning_rate: Option<f64>,
    momentum: Option<f64>,
    betas: Option<(f64, f64)>,
    eps: Option<f64>,
    weight_decay: Option<f64>,
    clip_norm: Option<f64>,
}

impl OptimizerOptions {
    /// An optimizer of this kind with the defaults.
    pub fn new(kind: Optimizer) -> OptimizerOptions {
        OptimizerOptions {
            kind,
            learning_rate: None,
            momentum: None,
            betas: None,
            eps: None,
            weight_decay: None,
            clip_norm: None,
        }
    }

    /// The learning rate.
    pub fn learning_rate(mut self, value: f64) -> OptimizerOptions {
        self.learning_rate = Some(value);
        self
    }

    /// SGD's momentum.
    pub fn momentum(mut self, value: f64) -> OptimizerOptions {
        self.momentum = Some(value);
        self
    }

    /// Adam(W)'s beta1 and beta2.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> OptimizerOptions {
        self.betas = Some((beta1, beta2));
        self
    }

    /// Adam(W)'s epsilon.
    pub fn eps(mut self, value: f64) -> OptimizerOptions {
        self.eps = Some(value);
        self
    }

    /// Weight decay.
    pub fn weight_decay(mut self, value: f64) -> OptimizerOptions {
        self.weight_decay = Some(value);
        self
    }

    /// Gradients scaled so that their joint L2 norm is at most this (> 0).
    pub fn clip_norm(mut self, value: f64) -> OptimizerOptions {
        self.clip_norm = Some(value);
        self
    }
}

impl Default for OptimizerOptions {
    fn default() -> OptimizerOptions {
        OptimizerOptions::new(Optimizer::Adam)
    }
}

/// The target of a built-in loss ([`Trainer::loss`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target<'a> {
    /// Class labels, one per sequence (`"ce_count"`, `"ce_max_v"`, `"ce_mean_v"`).
    Labels(&'a [i32]),
    /// Spike counts `[batch][n]` (`"mse_count"`).
    Counts(&'a [f32]),
}

/// Trains a network's weights (and neuron parameters chosen with
/// [`train_param`](Trainer::train_param)) by backpropagation through time.
///
/// It borrows its network, so the network outlives it and cannot gain
/// populations or connections while it lives; the weights it trains are the
/// network's own. Outputs and their gradients are `[steps][batch][n]`
/// float32; weight gradients have the order and size of the weights.
pub struct Trainer<'n> {
    ptr: NonNull<sys::snn_trainer>,
    network: &'n Network,
    steps: usize,
    batch: usize,
}

impl Drop for Trainer<'_> {
    fn drop(&mut self) {
        // SAFETY: created by snn_trainer_create; its network is borrowed, so alive.
        unsafe { sys::snn_trainer_destroy(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Trainer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trainer").field("steps", &self.steps).field("batch", &self.batch).finish()
    }
}

impl<'n> Trainer<'n> {
    /// A trainer with the default options. Populations or connections that
    /// cannot be trained give [`ErrorKind::Unsupported`], naming them.
    pub fn new(network: &'n Network) -> Result<Trainer<'n>> {
        Trainer::with_options(network, &TrainerOptions::default())
    }

    /// A trainer.
    pub fn with_options(network: &'n Network, options: &TrainerOptions) -> Result<Trainer<'n>> {
        let mut c: sys::snn_trainer_options = unsafe { std::mem::zeroed() };
        check(unsafe { sys::snn_trainer_options_init(&mut c, size_of::<sys::snn_trainer_options>() as u32) })?;
        c.detach_reset = i32::from(options.detach_reset);
        c.carry_state = i32::from(options.carry_state);
        c.input_grads = i32::from(options.input_grads);
        let mut out = ptr::null_mut();
        // SAFETY: a live network; libsnn changes only its weights (C memory
        // no Rust reference points into) and only from trainer calls.
        check(unsafe { sys::snn_trainer_create(network.as_ptr() as *mut _, &c, &mut out) })?;
        let ptr = NonNull::new(out).ok_or_else(|| Error::new(ErrorKind::Internal, "libsnn returned a NULL trainer"))?;
        Ok(Trainer { ptr, network, steps: 0, batch: 0 })
    }

    /// The network it trains.
    pub fn network(&self) -> &'n Network {
        self.network
    }

    fn whole_run(&self, pop: Population) -> Result<usize> {
        let id = self.network.pop_id(pop)?;
        Ok(self.steps * self.batch * self.network.pop_size(id)?)
    }

    /// Runs `steps` steps on `batch` sequences from the initial state and
    /// records the tape. `inputs` gives source populations their
    /// `[steps][batch][n]` input (`f32`, `u8` or `bool`; copied); a source
    /// without one emits what it does in a step without input.
    pub fn forward<T: Element>(&mut self, steps: usize, batch: usize, inputs: &[(Population, &[T])]) -> Result<()> {
        let (steps_i, batch_i) = (to_i64(steps, "steps")?, to_i32(batch, "batch")?);
        let mut ids = Vec::with_capacity(inputs.len());
        let mut shapes = Vec::with_capacity(inputs.len());
        for (k, (pop, values)) in inputs.iter().enumerate() {
            let id = self.network.pop_id(*pop)?;
            let n = self.network.pop_size(id)?;
            if values.len() != steps * batch * n {
                return Err(Error::new(
                    ErrorKind::Shape,
                    format!(
                        "inputs[{k}]: {} values given; [steps, batch, n] = [{steps}, {batch}, {n}] needs {}",
                        values.len(),
                        steps * batch * n
                    ),
                ));
            }
            ids.push(id);
            shapes.push([steps_i, i64::from(batch_i), to_i64(n, "n")?]);
        }
        // The shapes live in `shapes` (not moved again) while the tensors point at them.
        let tensors: Vec<sys::snn_tensor> =
            inputs.iter().zip(&shapes).map(|((_, values), shape)| borrowed_tensor(values, shape)).collect();
        check(unsafe {
            sys::snn_trainer_forward(
                self.ptr.as_ptr(),
                steps_i,
                batch_i,
                to_i32(ids.len(), "inputs")?,
                if ids.is_empty() { ptr::null() } else { ids.as_ptr() },
                if tensors.is_empty() { ptr::null() } else { tensors.as_ptr() },
            )
        })?;
        self.steps = steps;
        self.batch = batch;
        Ok(())
    }

    /// The last forward pass's output of a non-source population: `"spikes"`
    /// (0 or 1) or `"v"` (after the reset), `[steps][batch][n]`.
    pub fn read_output(&self, pop: Population, var: &str) -> Result<Vec<f32>> {
        let mut out = vec![0.0f32; self.whole_run(pop)?];
        let c_var = c_string(var, "var")?;
        check(unsafe {
            sys::snn_trainer_read_output(
                self.ptr.as_ptr(),
                pop.id(),
                c_var.as_ptr(),
                out.as_mut_ptr(),
                to_i64(out.len(), "out")?,
            )
        })?;
        Ok(out)
    }

    /// A built-in loss on a population's output of the last forward pass
    /// (`"ce_count"`, `"mse_count"`, `"ce_max_v"`, `"ce_mean_v"`), averaged
    /// over the batch; its gradient goes to the next [`backward`](Trainer::backward).
    pub fn loss(&mut self, pop: Population, loss: &str, target: Target<'_>) -> Result<f64> {
        let id = self.network.pop_id(pop)?;
        let c_loss = c_string(loss, "loss")?;
        let n = to_i64(self.network.pop_size(id)?, "n")?;
        let shape: [i64; 2];
        let tensor = match target {
            Target::Labels(labels) => {
                shape = [to_i64(labels.len(), "target")?, 1];
                borrowed_tensor(labels, &shape[..1])
            }
            Target::Counts(counts) => {
                let len = to_i64(counts.len(), "target")?;
                if n == 0 || len % n != 0 {
                    return Err(Error::new(ErrorKind::Shape, format!("target: {len} values given; not [batch, {n}]")));
                }
                shape = [len / n, n];
                borrowed_tensor(counts, &shape)
            }
        };
        let mut value = 0.0;
        check(unsafe { sys::snn_trainer_loss(self.ptr.as_ptr(), id, c_loss.as_ptr(), &tensor, &mut value) })?;
        Ok(value)
    }

    /// Adds the gradient of the caller's own loss with respect to an output
    /// (`"spikes"` or `"v"`), `[steps][batch][n]`.
    pub fn add_output_grad(&mut self, pop: Population, var: &str, grad: &[f32]) -> Result<()> {
        let id = self.network.pop_id(pop)?;
        let c_var = c_string(var, "var")?;
        check(unsafe {
            sys::snn_trainer_add_output_grad(
                self.ptr.as_ptr(),
                id,
                c_var.as_ptr(),
                grad.as_ptr(),
                to_i64(grad.len(), "grad")?,
            )
        })
    }

    /// Backpropagates the losses and output gradients given since the last
    /// forward pass, adding to the weight gradients.
    pub fn backward(&mut self) -> Result<()> {
        check(unsafe { sys::snn_trainer_backward(self.ptr.as_ptr()) })
    }

    /// Sets every gradient to zero.
    pub fn zero_grad(&mut self) -> Result<()> {
        check(unsafe { sys::snn_trainer_zero_grad(self.ptr.as_ptr()) })
    }

    /// A connection's weight gradient, in the order of its weights.
    pub fn read_grad(&self, conn: Connection) -> Result<Vec<f32>> {
        let nnz = self.network.connection_info(conn)?.nnz;
        let mut out = vec![0.0f32; nnz];
        check(unsafe {
            sys::snn_trainer_read_grad(self.ptr.as_ptr(), conn.id(), out.as_mut_ptr(), to_i64(nnz, "out")?)
        })?;
        Ok(out)
    }

    /// Replaces a connection's weight gradient.
    pub fn write_grad(&mut self, conn: Connection, grad: &[f32]) -> Result<()> {
        let id = self.network.conn_id(conn)?;
        check(unsafe { sys::snn_trainer_write_grad(self.ptr.as_ptr(), id, grad.as_ptr(), to_i64(grad.len(), "grad")?) })
    }

    /// Chooses the optimizer and resets its state (the default is Adam).
    pub fn set_optimizer(&mut self, options: &OptimizerOptions) -> Result<()> {
        let mut c: sys::snn_optimizer_options = unsafe { std::mem::zeroed() };
        check(unsafe { sys::snn_optimizer_options_init(&mut c, size_of::<sys::snn_optimizer_options>() as u32) })?;
        c.kind = match options.kind {
            Optimizer::Sgd => sys::SNN_OPTIMIZER_SGD,
            Optimizer::Adam => sys::SNN_OPTIMIZER_ADAM,
            Optimizer::AdamW => sys::SNN_OPTIMIZER_ADAMW,
        };
        if let Some(v) = options.learning_rate {
            c.learning_rate = v;
        }
        if let Some(v) = options.momentum {
            c.momentum = v;
        }
        if let Some((b1, b2)) = options.betas {
            c.beta1 = b1;
            c.beta2 = b2;
        }
        if let Some(v) = options.eps {
            c.eps = v;
        }
        if let Some(v) = options.weight_decay {
            c.weight_decay = v;
        }
        if let Some(v) = options.clip_norm {
            c.clip_norm = v;
        }
        check(unsafe { sys::snn_trainer_set_optimizer(self.ptr.as_ptr(), &c) })
    }

    /// One optimizer step on every trained weight and parameter (the
    /// gradients stay: call [`zero_grad`](Trainer::zero_grad)).
    pub fn step(&mut self) -> Result<()> {
        check(unsafe { sys::snn_trainer_step(self.ptr.as_ptr()) })
    }

    /// With `input_grads`: the gradient of the last backward pass with
    /// respect to a source's input, `[steps][batch][n]`.
    pub fn read_input_grad(&self, pop: Population) -> Result<Vec<f32>> {
        let mut out = vec![0.0f32; self.whole_run(pop)?];
        check(unsafe {
            sys::snn_trainer_read_input_grad(self.ptr.as_ptr(), pop.id(), out.as_mut_ptr(), to_i64(out.len(), "out")?)
        })?;
        Ok(out)
    }

    /// With `carry_state`: the next forward pass starts a new sequence.
    pub fn reset_state(&mut self) -> Result<()> {
        check(unsafe { sys::snn_trainer_reset_state(self.ptr.as_ptr()) })
    }

    /// Bytes the tape of the last forward pass holds.
    pub fn tape_bytes(&self) -> Result<u64> {
        let mut bytes = 0i64;
        check(unsafe { sys::snn_trainer_tape_bytes(self.ptr.as_ptr(), &mut bytes) })?;
        Ok(bytes.max(0) as u64)
    }

    /// Trains a neuron parameter (`"v_th"`, `"tau_mem"`, `"beta"`) beside the
    /// weights from the next forward pass on, or stops training it.
    pub fn train_param(&mut self, pop: Population, name: &str, trainable: bool) -> Result<()> {
        let id = self.network.pop_id(pop)?;
        let c_name = c_string(name, "name")?;
        check(unsafe { sys::snn_trainer_train_param(self.ptr.as_ptr(), id, c_name.as_ptr(), i32::from(trainable)) })
    }

    /// A trained parameter's gradient, one value per neuron.
    pub fn read_param_grad(&self, pop: Population, name: &str) -> Result<Vec<f32>> {
        let id = self.network.pop_id(pop)?;
        let c_name = c_string(name, "name")?;
        let mut out = vec![0.0f32; self.network.pop_size(id)?];
        check(unsafe {
            sys::snn_trainer_read_param_grad(
                self.ptr.as_ptr(),
                id,
                c_name.as_ptr(),
                out.as_mut_ptr(),
                to_i64(out.len(), "out")?,
            )
        })?;
        Ok(out)
    }
}
