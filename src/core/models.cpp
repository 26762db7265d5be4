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

std::vector<NeuronModel> make_neuron_models() {
    std::vector<NeuronModel> m;
    m.push_back({"spike_source", NeuronKind::SpikeSource, true, true, true, {}, {}, {}});
    m.push_back({"current_source", NeuronKind::CurrentSource, true, false, true,
                 {{"current", 0.0, "1", "value emitted each step when no input is given"}}, {}, {}});
    m.push_back({"poisson", NeuronKind::Poisson, true, true, true,
                 {{"rate", 10.0, "Hz", "firing rate; a step's input replaces it for that step"}}, {}, {}});
    m.push_back({"if", NeuronKind::IF, false, true, true,
                 {{"tau_mem", 20e-3, "s", "input time scale: dv/dt = I / tau_mem"}, kVReset, kVTh, kTRef, kSurrogateScale},
                 {kReset, kSurrogate}, {"v"}});
    m.push_back({"lif", NeuronKind::LIF, false, true, true, {kTauMem, kVRest, kVReset, kVTh, kTRef, kSurrogateScale},
                 {kReset, kSurrogate}, {"v"}});
    m.push_back({"alif", NeuronKind::ALIF, false, true, true,
                 {kTauMem, kVRest, kVReset, kVTh, kTRef,
                  {"tau_adapt", 100e-3, "s", "time constant of the threshold adaptation"},
                  {"delta_th", 1e-3, "V", "threshold increase per spike"}, kSurrogateScale},
                 {kReset, kSurrogate}, {"v", "a"}});
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

}  // namespace

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
