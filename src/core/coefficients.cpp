#include "core/coefficients.h"

#include <algorithm>
#include <cmath>

namespace snn {

namespace {

const pvector<float>& param(const Population& p, int index) { return p.params[static_cast<std::size_t>(index)]; }

// Index of tau_mem for models that have one, else -1.
int tau_mem_index(const NeuronModel& m) { return m.param_index("tau_mem"); }

}  // namespace

void compute_population_coefficients(const Graph& graph, int32_t population, PopulationCoefficients* out) {
    const Population& pop = graph.populations[static_cast<std::size_t>(population)];
    const NeuronModel& model = pop.neuron_model();
    const std::size_t n = static_cast<std::size_t>(pop.size);
    const double dt = graph.dt;

    out->mem_decay.assign(n, 1.0f);
    out->dt_over_tau.assign(n, 0.0f);
    out->adapt_decay.assign(n, 1.0f);
    out->refractory_steps.assign(n, 0);
    out->spike_probability.assign(n, 0.0f);
    out->conductance_based = false;
    for (const Connection& c : graph.connections)
        if (c.post == population && c.synapse_model().kind == SynapseKind::CondExp) out->conductance_based = true;

    const int tau_index = tau_mem_index(model);
    const int t_ref_index = model.param_index("t_ref");
    for (std::size_t j = 0; j < n; ++j) {
        if (tau_index >= 0) {
            double tau = param(pop, tau_index)[j];
            out->dt_over_tau[j] = static_cast<float>(dt / tau);
            if (model.kind == NeuronKind::LIF || model.kind == NeuronKind::ALIF || model.kind == NeuronKind::LI)
                out->mem_decay[j] = static_cast<float>(std::exp(-dt / tau));
        }
        if (t_ref_index >= 0) {
            double steps = std::round(static_cast<double>(param(pop, t_ref_index)[j]) / dt);
            out->refractory_steps[j] = static_cast<int32_t>(std::max(0.0, std::min(steps - 1.0, 2.0e9)));
        }
        if (model.kind == NeuronKind::Leaky) out->mem_decay[j] = param(pop, leaky_param::beta)[j];
        if (model.kind == NeuronKind::Modulator) {
            const double tau = param(pop, modulator_param::tau)[j];
            out->mem_decay[j] = tau > 0.0 ? static_cast<float>(std::exp(-dt / tau)) : 0.0f;
        }
        if (model.kind == NeuronKind::ALIF)
            out->adapt_decay[j] = static_cast<float>(std::exp(-dt / param(pop, alif_param::tau_adapt)[j]));
        if (model.kind == NeuronKind::Poisson)
            out->spike_probability[j] = static_cast<float>(param(pop, poisson_param::rate)[j] * dt);
    }
}

void compute_connection_coefficients(const Graph& graph, int32_t connection, ConnectionCoefficients* out) {
    const Connection& c = graph.connections[static_cast<std::size_t>(connection)];
    const Population& post = graph.populations[static_cast<std::size_t>(c.post)];
    const NeuronModel& model = post.neuron_model();
    const std::size_t n = static_cast<std::size_t>(post.size);
    const double dt = graph.dt;
    const SynapseKind kind = c.synapse_model().kind;

    out->decay = 1.0f;
    out->current_gain.assign(kind == SynapseKind::Exp ? n : 0, 0.0f);
    if (kind == SynapseKind::Delta) return;

    const double tau_syn = c.syn_params[syn_param::tau];
    const double syn_decay = std::exp(-dt / tau_syn);
    out->decay = static_cast<float>(syn_decay);
    if (kind != SynapseKind::Exp) return;

    // Exact propagator of dv/dt = (... + I)/tau_m, dI/dt = -I/tau_s over dt:
    // the contribution of I(t) to v(t + dt).
    const int tau_index = model.param_index("tau_mem");
    for (std::size_t j = 0; j < n; ++j) {
        const double tau_m = tau_index >= 0 ? static_cast<double>(post.params[static_cast<std::size_t>(tau_index)][j]) : 1.0;
        double gain = 0.0;
        switch (model.kind) {
            case NeuronKind::LIF:
            case NeuronKind::ALIF:
            case NeuronKind::LI: {
                const double mem_decay = std::exp(-dt / tau_m);
                if (std::fabs(tau_syn - tau_m) <= 1e-9 * tau_m)
                    gain = dt / tau_m * mem_decay;
                else
                    gain = tau_syn / (tau_syn - tau_m) * (syn_decay - mem_decay);
                break;
            }
            case NeuronKind::IF:
                gain = tau_syn / tau_m * (1.0 - syn_decay);
                break;
            case NeuronKind::Leaky:
                gain = 1.0;  // the current itself is the step's input (snnTorch's Synaptic)
                break;
            default:
                gain = 0.0;  // izhikevich integrates I with Euler; sources have no inputs
        }
        out->current_gain[j] = static_cast<float>(gain);
    }
}

}  // namespace snn
