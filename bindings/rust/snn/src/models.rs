//! The model registry: which neuron and synapse models exist, their
//! parameters and state variables.

use std::mem::size_of;
use std::os::raw::c_char;
use std::ptr;

use snn_sys as sys;

use crate::error::{check, cstr_to_string, Result};
use crate::util::c_string;

/// Neuron models (populations) or synapse models (connections).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// Models of populations: "lif", "poisson", ...
    Neuron,
    /// Models of connections' synapses: "delta", "exp", "cond_exp".
    Synapse,
    /// Learning rules of connections (option "plasticity"): "stdp", "triplet", ...
    Plasticity,
}

impl ModelKind {
    fn to_c(self) -> i32 {
        match self {
            ModelKind::Neuron => sys::SNN_MODEL_NEURON,
            ModelKind::Synapse => sys::SNN_MODEL_SYNAPSE,
            ModelKind::Plasticity => sys::SNN_MODEL_PLASTICITY,
        }
    }
}

/// A parameter's default value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamDefault {
    /// A number (in the parameter's unit).
    Number(f64),
    /// A string option, one of [`ParamInfo::choices`].
    String(String),
}

/// A model's parameter ([`model_params`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ParamInfo {
    /// The name ("tau_mem").
    pub name: String,
    /// The default value.
    pub default: ParamDefault,
    /// The SI unit ("s", "V", "Hz", "1"; "" for strings).
    pub unit: String,
    /// A string option's allowed values (empty for numbers).
    pub choices: Vec<String>,
    /// What it is.
    pub description: String,
}

fn names(call: impl Fn(*mut *const c_char, i32, &mut i32) -> sys::snn_status) -> Result<Vec<String>> {
    let mut count = 0;
    check(call(ptr::null_mut(), 0, &mut count))?;
    let mut out = vec![ptr::null::<c_char>(); count.max(0) as usize];
    if !out.is_empty() {
        check(call(out.as_mut_ptr(), count, &mut count))?;
        out.truncate(count.max(0) as usize);
    }
    // SAFETY: the names are static strings of the library.
    Ok(out.into_iter().map(|p| unsafe { cstr_to_string(p) }).collect())
}

/// The backends this build can run, in order of preference ("auto" picks
/// the first).
pub fn backends() -> Result<Vec<String>> {
    names(|out, cap, count| unsafe { sys::snn_backend_list(out, cap, count) })
}

/// The names of the models of a kind.
pub fn models(kind: ModelKind) -> Result<Vec<String>> {
    names(|out, cap, count| unsafe { sys::snn_model_list(kind.to_c(), out, cap, count) })
}

/// The names of the neuron models ("lif", "poisson", ...).
pub fn neuron_models() -> Result<Vec<String>> {
    models(ModelKind::Neuron)
}

/// The names of the synapse models ("delta", "exp", "cond_exp").
pub fn synapse_models() -> Result<Vec<String>> {
    models(ModelKind::Synapse)
}

/// The state variables of a model ("v", "I", ...).
pub fn model_state_vars(kind: ModelKind, model: &str) -> Result<Vec<String>> {
    let c_model = c_string(model, "model")?;
    names(|out, cap, count| unsafe { sys::snn_model_state_vars(kind.to_c(), c_model.as_ptr(), out, cap, count) })
}

/// The parameters of a model, with defaults and units.
pub fn model_params(kind: ModelKind, model: &str) -> Result<Vec<ParamInfo>> {
    let c_model = c_string(model, "model")?;
    let mut count = 0;
    check(unsafe { sys::snn_model_params(kind.to_c(), c_model.as_ptr(), ptr::null_mut(), 0, &mut count) })?;
    // SAFETY: zeroed plain structs, each with its size set as the API asks.
    let mut infos: Vec<sys::snn_param_info> = (0..count.max(0))
        .map(|_| {
            let mut p: sys::snn_param_info = unsafe { std::mem::zeroed() };
            p.struct_size = size_of::<sys::snn_param_info>() as u32;
            p
        })
        .collect();
    if !infos.is_empty() {
        check(unsafe { sys::snn_model_params(kind.to_c(), c_model.as_ptr(), infos.as_mut_ptr(), count, &mut count) })?;
        infos.truncate(count.max(0) as usize);
    }
    Ok(infos
        .iter()
        .map(|p| unsafe {
            let choices = cstr_to_string(p.choices);
            ParamInfo {
                name: cstr_to_string(p.name),
                default: if p.kind == sys::SNN_PARAM_STRING {
                    ParamDefault::String(cstr_to_string(p.default_string))
                } else {
                    ParamDefault::Number(p.default_number)
                },
                unit: cstr_to_string(p.unit),
                choices: if choices.is_empty() { Vec::new() } else { choices.split('|').map(str::to_owned).collect() },
                description: cstr_to_string(p.description),
            }
        })
        .collect())
}
