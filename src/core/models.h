// The model registry: every neuron and synapse model libsnn knows, with its
// parameters (name, unit, default) and state variables. docs/models.md is the
// normative description of the equations; this table is its machine form.
// Adding a model adds a row here and never changes the ABI.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace snn {

enum class NeuronKind { SpikeSource, CurrentSource, Poisson, IF, LIF, ALIF, Izhikevich, LI, Leaky, Modulator };
enum class SynapseKind { Delta, Exp, CondExp };

struct NumberParam {
    const char* name;
    double default_value;
    const char* unit;
    const char* description;
};

struct StringParam {
    const char* name;
    const char* default_value;
    const char* choices;  // '|'-separated
    const char* description;
};

struct NeuronModel {
    const char* name;
    NeuronKind kind;
    bool is_input;       // takes per-step inputs (sources)
    bool spiking;        // emits spikes (else graded or nothing)
    bool has_output;     // may be the presynaptic side of a connection
    std::vector<NumberParam> params;
    std::vector<StringParam> options;
    std::vector<const char*> state_vars;  // writable float state, in storage order
    bool takes_input = false;  // a non-source that also takes per-step inputs (modulator)

    int param_index(std::string_view name) const;
    int option_index(std::string_view name) const;
    int state_index(std::string_view name) const;
};

struct SynapseModel {
    const char* name;
    SynapseKind kind;
    std::vector<NumberParam> params;
    std::vector<const char*> state_vars;  // "I" or "g"; empty for delta

    int param_index(std::string_view name) const;
};

// A learning rule attached to a connection (docs/models.md, "Plasticity").
enum class PlasticityKind { PairSTDP, Triplet, RewardSTDP, SignSTDP };
// Which array a plasticity state variable is: one value per presynaptic
// neuron, per postsynaptic neuron, or per synapse (all per instance).
enum class TraceSide { Pre, Post, Synapse };

struct PlasticityVar {
    const char* name;
    TraceSide side;
};

struct PlasticityModel {
    const char* name;
    PlasticityKind kind;
    std::vector<NumberParam> params;
    std::vector<StringParam> options;
    std::vector<PlasticityVar> state_vars;

    int param_index(std::string_view name) const;
    int option_index(std::string_view name) const;
    int state_index(std::string_view name) const;
};

const std::vector<NeuronModel>& neuron_models();
const std::vector<SynapseModel>& synapse_models();
// -1 when unknown.
int find_neuron_model(std::string_view name);
int find_synapse_model(std::string_view name);
const std::vector<PlasticityModel>& plasticity_models();
int find_plasticity_model(std::string_view name);

// Index of each neuron-model parameter, fixed so engines can address them
// without string lookups. Must match the order in models.cpp.
namespace lif_param { enum { tau_mem, v_rest, v_reset, v_th, t_ref, surrogate_scale }; }
namespace if_param { enum { tau_mem, v_reset, v_th, t_ref, surrogate_scale }; }
namespace alif_param { enum { tau_mem, v_rest, v_reset, v_th, t_ref, tau_adapt, delta_th, surrogate_scale }; }
namespace izh_param { enum { a, b, c, d, v_peak, i_offset, tau_mem, t_ref }; }
namespace li_param { enum { tau_mem, v_rest }; }
namespace leaky_param { enum { beta, v_th, surrogate_scale }; }
namespace leaky_var { enum { input, v }; }
namespace poisson_param { enum { rate }; }
namespace current_param { enum { current }; }
namespace syn_param { enum { tau, e_rev }; }
namespace modulator_param { enum { tau }; }
namespace modulator_var { enum { input, m }; }
// Plasticity parameters: every rule lists these first, in this order, then its own.
namespace plastic_param { enum { w_min, w_max }; }
namespace stdp_param { enum { w_min, w_max, a_plus, a_minus, tau_plus, tau_minus, mu_plus, mu_minus }; }
namespace triplet_param { enum { w_min, w_max, a2_plus, a3_plus, a2_minus, a3_minus, tau_plus, tau_minus, tau_x, tau_y }; }
namespace rstdp_param { enum { w_min, w_max, a_plus, a_minus, tau_plus, tau_minus, tau_e, eta }; }
namespace sign_param { enum { w_min, w_max, a_plus, a_minus }; }

// Reset modes (the "reset" option; leaky's "zero" and "none" are its own).
enum class ResetMode { Value, Subtract };
enum class LeakyReset { Subtract, Zero, None };
// Winner-take-all (the "wta" option of lif, alif and if).
enum class WtaMode { None, Population, Position };
// What happens to the candidates that do not win (the "wta_losers" option).
enum class WtaLosers { Keep, Reset };
// How the winners are chosen among more candidates than wta_k (the "wta_pick" option).
enum class WtaPick { Margin, Random };

}  // namespace snn
