#include "core/models.h"

#include <cstring>

namespace snn {

namespace {

template <class T>
int index_by_name(const std::vector<T>& items, std::string_view name) {
    for (std::size_t i = 0; i < items.size(); ++i)
        if (name == items[i].name) return static_cast<int>(i);
    return -1;
}

const NumberParam kTauMem{"tau_mem", 20e-3, "s", "membrane time constant"};
const NumberParam kVRest{"v_rest", -65e-3, "V", "resting potential"};
const NumberParam kVReset{"v_reset", -65e-3, "V", "potential after a spike (reset = \"value\")"};
const NumberParam kVTh{"v_th", -50e-3, "V", "spike threshold (spike when v > v_th)"};
const NumberParam kTRef{"t_ref", 0.0, "s", "refractory period, rounded to whole steps"};
const StringParam kReset{"reset", "value", "value|subtract",
                         "value: v = v_reset; subtract: v -= v_th - v_reset"};
// Training only (docs/training.md): the derivative a spike is given in backpropagation.
const StringParam kSurrogate{"surrogate", "fast_sigmoid", "fast_sigmoid|arctan|triangle",
                             "training: the surrogate derivative of the spike with respect to v - threshold"};
const NumberParam kSurrogateScale{"surrogate_scale", 0.0, "1/V",
                                  "training: sharpness of the surrogate (0: its default: 25 fast_sigmoid, 2 arctan, 1 triangle)"};
// Lateral inhibition (docs/models.md, "Winner-take-all").
const StringParam kWta{"wta", "none", "none|population|position",
                       "winner-take-all: of the neurons crossing the threshold in a step, only wta_k (chosen by wta_pick) "
                       "spike, among the whole population or per position across the channels of a (C, H, W) population"};
const StringParam kWtaK{"wta_k", "1", "", "winners per group and step (a whole number >= 1)"};
const StringParam kWtaLosers{"wta_losers", "keep", "keep|reset",
                             "winner-take-all: the candidates that do not win keep their membrane (keep), or are reset, held and "
                             "adapted as after a spike but emit none (reset)"};
const StringParam kWtaPick{"wta_pick", "margin", "margin|random",
                           "winner-take-all: the winners are the candidates with the largest margin v - threshold (margin), or "
                           "drawn uniformly without replacement from the network's random stream (random)"};

std::vector<NeuronModel> make_neuron_models() {
    std::vector<NeuronModel> m;
    m.push_back({"spike_source", NeuronKind::SpikeSource, true, true, true, {}, {}, {}});
    m.push_back({"current_source", NeuronKind::CurrentSource, true, false, true,
                 {{"current", 0.0, "1", "value emitted each step when no input is given"}}, {}, {}});
    m.push_back({"poisson", NeuronKind::Poisson, true, true, true,
                 {{"rate", 10.0, "Hz", "firing rate; a step's input replaces it for that step"}}, {}, {}});
    m.push_back({"if", NeuronKind::IF, false, true, true,
                 {{"tau_mem", 20e-3, "s", "input time scale: dv/dt = I / tau_mem"}, kVReset, kVTh, kTRef, kSurrogateScale},
                 {kReset, kSurrogate, kWta, kWtaK, kWtaLosers, kWtaPick}, {"v"}});
    m.push_back({"lif", NeuronKind::LIF, false, true, true, {kTauMem, kVRest, kVReset, kVTh, kTRef, kSurrogateScale},
                 {kReset, kSurrogate, kWta, kWtaK, kWtaLosers, kWtaPick}, {"v"}});
    m.push_back({"alif", NeuronKind::ALIF, false, true, true,
                 {kTauMem, kVRest, kVReset, kVTh, kTRef,
                  {"tau_adapt", 100e-3, "s", "time constant of the threshold adaptation"},
                  {"delta_th", 1e-3, "V", "threshold increase per spike"}, kSurrogateScale},
                 {kReset, kSurrogate, kWta, kWtaK, kWtaLosers, kWtaPick}, {"v", "a"}});
    m.push_back({"izhikevich", NeuronKind::Izhikevich, false, true, true,
                 {{"a", 20.0, "1/s", "recovery rate (0.02/ms)"},
                  {"b", 200.0, "1/s", "recovery sensitivity (0.2/ms)"},
                  {"c", -65e-3, "V", "reset potential"},
                  {"d", 8.0, "V/s", "recovery increment per spike (8 mV/ms)"},
                  {"v_peak", 30e-3, "V", "spike cut-off (spike when v > v_peak)"},
                  {"i_offset", 0.0, "V/s", "constant drive added to dv/dt"},
                  {"tau_mem", 1e-3, "s", "scale of synaptic input: dv/dt += I / tau_mem"},
                  kTRef},
                 {}, {"v", "u"}});
    m.push_back({"li", NeuronKind::LI, false, false, false,
                 {kTauMem, {"v_rest", 0.0, "V", "resting potential"}}, {}, {"v"}});
    // snnTorch's Leaky, step for step (docs/models.md): discrete time, the
    // input added undecayed, the reset of a spike applied in the next step.
    // "input" is the step's delta input, summed by delivery, 0 between steps.
    m.push_back({"leaky", NeuronKind::Leaky, false, true, true,
                 {{"beta", 0.9, "1", "decay of v per step, in [0, 1]"},
                  {"v_th", 1.0, "1", "threshold (spike when v > v_th)"}, kSurrogateScale},
                 {{"reset", "subtract", "subtract|zero|none",
                   "subtract: the next step subtracts v_th; zero: the next step starts from 0; none: no reset"},
                  {"surrogate", "arctan", "fast_sigmoid|arctan|triangle",
                   "training: the surrogate derivative of the spike (default arctan, as snnTorch's Leaky)"}},
                 {"input", "v"}});
    // A neuromodulator concentration (docs/models.md, "modulator"): what
    // arrives through its connections and the step's input add to m, which
    // decays with tau. Plastic connections of rule rstdp read it.
    NeuronModel modulator{"modulator", NeuronKind::Modulator, false, false, false,
                          {{"tau", 0.2, "s", "decay time constant of m (0: m holds only the current step's input)"}},
                          {}, {"input", "m"}};
    modulator.takes_input = true;
    m.push_back(modulator);
    return m;
}

std::vector<SynapseModel> make_synapse_models() {
    const NumberParam tau{"tau", 5e-3, "s", "decay time constant"};
    std::vector<SynapseModel> m;
    m.push_back({"delta", SynapseKind::Delta, {}, {}});
    m.push_back({"exp", SynapseKind::Exp, {tau}, {"I"}});
    m.push_back({"cond_exp", SynapseKind::CondExp,
                 {tau, {"e_rev", 0.0, "V", "reversal potential"}}, {"g"}});
    return m;
}

std::vector<PlasticityModel> make_plasticity_models() {
    const NumberParam w_min{"w_min", 0.0, "w", "lower weight bound (weights are clipped to [w_min, w_max] after each update)"};
    const NumberParam w_max{"w_max", 1.0, "w", "upper weight bound"};
    const StringParam pairing{"pairing", "all_to_all", "all_to_all|nearest",
                              "all_to_all: a spike adds 1 to its traces; nearest: a spike sets them to 1"};
    // Weight normalisation, common to every rule (docs/models.md, "Plasticity").
    const StringParam normalize{"normalize", "none", "none|post|pre",
                                "post: scale each postsynaptic neuron's incoming weights to sum to norm; pre: each presynaptic neuron's outgoing ones"};
    const NumberParam norm{"norm", 0.0, "w", "the sum normalisation scales to"};
    const NumberParam norm_interval{"norm_interval", 1.0, "steps", "normalise after every this many steps (a whole number >= 1)"};
    // Limits on the postsynaptic spikes that learn between resets, common to every rule.
    const StringParam learn_once{"learn_once", "none", "none|neuron|channel",
                                 "neuron: a postsynaptic neuron learns at its first spike only; channel: one spike per channel "
                                 "of a (C, H, W) population (one winner per feature map), until the next reset"};
    const NumberParam learn_limit{"learn_limit", 0.0, "spikes", "postsynaptic spikes that learn per instance until the next reset (0: no limit)"};
    std::vector<PlasticityModel> m;
    m.push_back({"stdp",
                 PlasticityKind::PairSTDP,
                 {w_min, w_max,
                  {"a_plus", 0.01, "w", "potentiation per pre-before-post pair (times the trace)"},
                  {"a_minus", 0.0105, "w", "depression per post-before-pre pair (times the trace)"},
                  {"tau_plus", 20e-3, "s", "decay time constant of the presynaptic trace"},
                  {"tau_minus", 20e-3, "s", "decay time constant of the postsynaptic trace"},
                  {"mu_plus", 0.0, "1", "weight dependence of potentiation: 0 additive, 1 multiplicative (soft bound)"},
                  {"mu_minus", 0.0, "1", "weight dependence of depression: 0 additive, 1 multiplicative (soft bound)"},
                  norm, norm_interval, learn_limit},
                 {pairing, normalize, learn_once},
                 {{"x_pre", TraceSide::Pre}, {"x_post", TraceSide::Post}}});
    // Pfister & Gerstner 2006: defaults are their visual-cortex fit of the
    // all-to-all full model (Table 4).
    m.push_back({"triplet",
                 PlasticityKind::Triplet,
                 {w_min, w_max,
                  {"a2_plus", 7.5e-10, "w", "pair potentiation"},
                  {"a3_plus", 9.3e-3, "w", "triplet potentiation (post-pre-post)"},
                  {"a2_minus", 7e-3, "w", "pair depression"},
                  {"a3_minus", 2.3e-4, "w", "triplet depression (pre-post-pre)"},
                  {"tau_plus", 16.8e-3, "s", "decay of the fast presynaptic trace r1"},
                  {"tau_minus", 33.7e-3, "s", "decay of the fast postsynaptic trace o1"},
                  {"tau_x", 101e-3, "s", "decay of the slow presynaptic trace r2"},
                  {"tau_y", 125e-3, "s", "decay of the slow postsynaptic trace o2"},
                  norm, norm_interval, learn_limit},
                 {pairing, normalize, learn_once},
                 {{"r1", TraceSide::Pre}, {"r2", TraceSide::Pre}, {"o1", TraceSide::Post}, {"o2", TraceSide::Post}}});
    m.push_back({"rstdp",
                 PlasticityKind::RewardSTDP,
                 {w_min, w_max,
                  {"a_plus", 1.0, "1", "eligibility added per pre-before-post pair (times the trace)"},
                  {"a_minus", 1.0, "1", "eligibility removed per post-before-pre pair (times the trace)"},
                  {"tau_plus", 20e-3, "s", "decay time constant of the presynaptic trace"},
                  {"tau_minus", 20e-3, "s", "decay time constant of the postsynaptic trace"},
                  {"tau_e", 1.0, "s", "decay time constant of the eligibility trace"},
                  {"eta", 1e-3, "w", "learning rate: each step w += eta * m * e"},
                  norm, norm_interval, learn_limit},
                 {pairing, normalize, learn_once,
                  {"modulator", "", "",
                   "the modulator population (model \"modulator\", 1 neuron or one per postsynaptic neuron) whose m gates learning"}},
                 {{"x_pre", TraceSide::Pre}, {"x_post", TraceSide::Post}, {"eligibility", TraceSide::Synapse}}});
    // Kheradpisheh et al. 2018: at a postsynaptic spike, each synapse grows if
    // its presynaptic neuron has spiked since the last reset, else shrinks,
    // both in proportion to (w - w_min)(w_max - w) / (w_max - w_min).
    m.push_back({"stdp_sign",
                 PlasticityKind::SignSTDP,
                 {w_min, w_max,
                  {"a_plus", 0.004, "1", "relative growth when the presynaptic neuron spiked before (or with) the postsynaptic one"},
                  {"a_minus", 0.003, "1", "relative shrinkage otherwise"},
                  norm, norm_interval, learn_limit},
                 {normalize, learn_once},
                 {{"x_pre", TraceSide::Pre}}});
    return m;
}

}  // namespace

int PlasticityModel::param_index(std::string_view n) const { return index_by_name(params, n); }
int PlasticityModel::option_index(std::string_view n) const { return index_by_name(options, n); }
int PlasticityModel::state_index(std::string_view n) const { return index_by_name(state_vars, n); }

const std::vector<PlasticityModel>& plasticity_models() {
    static const std::vector<PlasticityModel> models = make_plasticity_models();
    return models;
}
int find_plasticity_model(std::string_view name) { return index_by_name(plasticity_models(), name); }

int NeuronModel::param_index(std::string_view n) const { return index_by_name(params, n); }
int NeuronModel::option_index(std::string_view n) const { return index_by_name(options, n); }
int NeuronModel::state_index(std::string_view n) const {
    for (std::size_t i = 0; i < state_vars.size(); ++i)
        if (n == state_vars[i]) return static_cast<int>(i);
    return -1;
}
int SynapseModel::param_index(std::string_view n) const { return index_by_name(params, n); }

const std::vector<NeuronModel>& neuron_models() {
    static const std::vector<NeuronModel> models = make_neuron_models();
    return models;
}
const std::vector<SynapseModel>& synapse_models() {
    static const std::vector<SynapseModel> models = make_synapse_models();
    return models;
}
int find_neuron_model(std::string_view name) { return index_by_name(neuron_models(), name); }
int find_synapse_model(std::string_view name) { return index_by_name(synapse_models(), name); }

}  // namespace snn
