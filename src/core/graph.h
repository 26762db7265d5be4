// The network's structure: populations, connections and their parameters.
// This is what a .snn file stores and what every backend is built from.
#pragma once

#include <cstdint>

#include "core/conv.h"
#include "core/memory.h"
#include "core/models.h"

namespace snn {

struct Population {
    explicit Population(std::pmr::memory_resource* mr) : name(mr), shape(mr), params(mr), options(mr) {}

    pstring name;
    int model = -1;          // index into neuron_models()
    pvector<int64_t> shape;  // n, or C x H x W, ...
    int64_t size = 0;
    pvector<pvector<float>> params;  // [param][neuron], float32 as the engine uses them
    pvector<pstring> options;        // per option of the model

    const NeuronModel& neuron_model() const { return neuron_models()[static_cast<std::size_t>(model)]; }
    ResetMode reset_mode() const;
    LeakyReset leaky_reset() const;  // leaky only
    WtaMode wta_mode() const;        // WtaMode::None for models without the option
    int32_t wta_k() const;
    WtaLosers wta_losers() const;    // WtaLosers::Keep for models without the option
    WtaPick wta_pick() const;        // WtaPick::Margin for models without the option
};

struct Connection {
    explicit Connection(std::pmr::memory_resource* mr)
        : name(mr), syn_params(mr), weights(mr), row_ptr(mr), post_index(mr), delays(mr), plastic_params(mr), plastic_options(mr) {}

    pstring name;
    int32_t pre = -1, post = -1;
    int32_t kind = 0;          // SNN_CONNECTION_*
    int synapse = 0;           // index into synapse_models()
    pvector<double> syn_params;  // values rounded to float32 when set
    int32_t delay = 1;         // the connection's delay (the largest, with per-synapse delays)
    pvector<float> weights;    // dense [pre][post], sparse CSR order, one-to-one [n], conv2d kernel then biases
    pvector<int64_t> row_ptr;  // sparse only: [n_pre + 1]
    pvector<int32_t> post_index;  // sparse only: [nnz]
    pvector<int32_t> delays;   // sparse with per-synapse delays: [nnz], else empty
    bool bfloat16 = false;     // option weight_dtype: every weight is a bfloat16 number
    ConvShape conv;            // conv2d only
    // Plasticity (docs/models.md): the rule, its parameters (float32 values)
    // and options, and whether it learns now (option "learning").
    int plasticity = -1;       // index into plasticity_models(), -1: none
    pvector<double> plastic_params;
    pvector<pstring> plastic_options;
    bool learning = true;

    const SynapseModel& synapse_model() const { return synapse_models()[static_cast<std::size_t>(synapse)]; }
    bool plastic() const { return plasticity >= 0; }
    // A string option of the learning rule, "" where the rule has none of that name.
    std::string_view plastic_option(std::string_view name) const;
    const PlasticityModel& plasticity_model() const { return plasticity_models()[static_cast<std::size_t>(plasticity)]; }
    int64_t nnz() const { return static_cast<int64_t>(weights.size()); }
    bool has_synapse_delays() const { return !delays.empty(); }
    int32_t min_delay() const;
};

struct Graph {
    explicit Graph(std::pmr::memory_resource* mr) : populations(mr), connections(mr), update_order(mr) {}

    double dt = 1e-4;
    uint64_t seed = 0;
    pvector<Population> populations;
    pvector<Connection> connections;
    // Populations in the order a step updates them: a topological order of
    // the zero-delay connections, ties broken by id (Decision 1).
    pvector<int32_t> update_order;

    // Recomputes update_order; returns false if the zero-delay connections
    // form a cycle (update_order is then left unchanged).
    bool compute_update_order();
    // The largest delay on connections leaving a population (0 if none).
    int32_t max_outgoing_delay(int32_t population) const;
};

}  // namespace snn
