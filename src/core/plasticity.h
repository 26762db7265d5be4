// Learning rules of plastic connections (docs/models.md, "Plasticity"): phase 5
// of every step, after the engine's four phases. The same code serves every
// backend: it reads the step's spikes through the Engine interface, changes
// the weights in the graph (so reading them through the API gives the
// learned values) and tells the engine which rows and columns changed.
//
// Everything is event-driven except the per-step decay of the traces: a
// presynaptic event touches the synapses of its row, a postsynaptic spike
// those of its column. Instances update their own traces; their weight
// changes are summed in instance order and applied once per phase, so the
// result does not depend on threads or backends (Decision 5).
#pragma once

#include <cstdint>

#include "core/engine.h"
#include "core/graph.h"
#include "core/memory.h"

namespace snn {

class Learner {
public:
    Learner(Graph& graph, int32_t capacity, int32_t batch, std::pmr::memory_resource* mr);
    ~Learner();
    Learner(const Learner&) = delete;
    Learner& operator=(const Learner&) = delete;

    // Whether some connection of the graph has a learning rule.
    static bool needed(const Graph& graph);

    // What the last step's learning changed on a plastic connection.
    struct Summary {
        int64_t synapses_changed = 0;  // updates that changed a weight (per phase: a synapse may count twice)
        double total_change = 0.0;     // sum of |new - old| over those updates
        bool all = false;           // every synapse may have changed (rstdp, normalisation)
        const int32_t* rows = nullptr;  // presynaptic neurons whose rows changed (not with all)
        int64_t row_count = 0;
        const int32_t* cols = nullptr;  // postsynaptic neurons whose columns changed (not with all)
        int64_t col_count = 0;
    };

    // Instances from the old batch on start with zero traces.
    void set_batch(int32_t batch);
    // Zeroes every trace and eligibility and forgets presynaptic events in flight.
    void reset();
    // Phase 5 of step t (the engine has just run it).
    void step(int64_t t, Engine& engine);
    // Refills the presynaptic events still in flight (emitted in the last
    // `lag` steps before next_step) from the engine's delay lines, after a
    // running state was restored.
    void restore_events(int64_t next_step, const Engine& engine);
    const Summary& summary(int32_t connection) const;

    // A plastic connection's state variable (index into its rule's
    // state_vars): values per instance, and [batch][that] values.
    int64_t var_size(int32_t connection, int var) const;
    void read(int32_t connection, int var, float* out) const;
    void write(int32_t connection, int var, const float* values);

private:
    struct Rule;
    Rule& rule_of(int32_t connection) const;
    void learn(Rule& r, int64_t t, Engine& engine);
    void normalize(Rule& r, int64_t t, Engine& engine);

    Graph& graph_;
    std::pmr::memory_resource* memory_;
    int32_t capacity_;
    int32_t batch_;
    pvector<Rule*> rules_;  // one per plastic connection
    pvector<int32_t> index_;  // [connections]: position in rules_, or -1
};

}  // namespace snn
