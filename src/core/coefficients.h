// Step coefficients (DESIGN Decision 5): computed once, in double, by this
// shared code and rounded to float32, so every backend integrates with the
// same numbers. docs/models.md states the equations they come from.
#pragma once

#include <cstdint>

#include "core/graph.h"

namespace snn {

// Per-neuron coefficients of one population.
struct PopulationCoefficients {
    explicit PopulationCoefficients(std::pmr::memory_resource* mr)
        : mem_decay(mr), dt_over_tau(mr), adapt_decay(mr), refractory_steps(mr), spike_probability(mr) {}

    pvector<float> mem_decay;         // exp(-dt / tau_mem)          (lif, alif, li)
    pvector<float> dt_over_tau;       // dt / tau_mem                (exponential Euler, izhikevich)
    pvector<float> adapt_decay;       // exp(-dt / tau_adapt)        (alif)
    pvector<int32_t> refractory_steps;// max(round(t_ref / dt) - 1, 0): the steps held after a spike
    pvector<float> spike_probability; // rate * dt                   (poisson)
    bool conductance_based = false;   // any cond_exp input: exponential Euler for v
};

// Coefficients of one connection's synaptic state, seen from its target.
struct ConnectionCoefficients {
    explicit ConnectionCoefficients(std::pmr::memory_resource* mr) : current_gain(mr) {}

    float decay = 0.0f;           // exp(-dt / tau)
    pvector<float> current_gain;  // per post neuron: the exact-propagator weight of I in v (exp only)
};

void compute_population_coefficients(const Graph& graph, int32_t population, PopulationCoefficients* out);
void compute_connection_coefficients(const Graph& graph, int32_t connection, ConnectionCoefficients* out);

}  // namespace snn
