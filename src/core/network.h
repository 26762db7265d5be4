// The network: a Graph, the state that exists before the first step (the
// initial state), the caller's bindings and callbacks, and — from the first
// step on — an Engine from the context's backend that owns the running state.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/context.h"
#include "core/engine.h"
#include "core/graph.h"
#include "core/plasticity.h"

namespace snn {

// A caller's tensor as libsnn keeps it: the descriptor copied, shape and
// strides owned here, the deleter called once when libsnn lets go.
struct BoundTensor {
    snn_tensor tensor{};
    int64_t shape[8] = {};
    int64_t strides[8] = {};  // elements (filled in for contiguous tensors too)
    bool whole_run = false;   // [steps, batch, n] rather than [batch, n]
    bool active = false;

    void release();
};

struct OutputBinding {
    int var = -1;  // state variable index, or kSpikesVar
    BoundTensor buffer;
};
inline constexpr int kSpikesVar = -1;
// Connection state variables from this index on are those of its learning
// rule (kPlasticVar + index into the rule's state_vars).
inline constexpr int kPlasticVar = 16;

// One variable's initial value for every instance, [batch][n]; `written` says
// the caller set it (otherwise it follows the model's parameters).
struct InitialVar {
    explicit InitialVar(std::pmr::memory_resource* mr) : values(mr) {}
    pvector<float> values;
    bool written = false;
};

struct PopulationIO {
    explicit PopulationIO(std::pmr::memory_resource* mr) : copied_input(mr), outputs(mr), initial(mr) {}
    pvector<float> copied_input;  // [batch][n], consumed by the next step
    bool has_copied_input = false;
    BoundTensor bound_input;
    pvector<OutputBinding> outputs;
    snn_spike_fn callback = nullptr;
    void* callback_data = nullptr;
    pvector<InitialVar> initial;  // per model state variable
};

struct ConnectionIO {
    explicit ConnectionIO(std::pmr::memory_resource* mr) : initial(mr) {}
    InitialVar initial;  // synaptic state ("I" or "g"); unused for delta
    snn_learning_fn learning_callback = nullptr;
    void* learning_data = nullptr;
};

// A conv2d connection's geometry as the C API states it (defaults filled in).
snn_conv2d_geometry conv2d_geometry(const ConvShape& s);

class Network {
public:
    Network(Context& context, const snn_network_options& options);
    ~Network();
    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;

    Context& context() const { return context_; }
    std::pmr::memory_resource* memory() const { return memory_; }
    const Graph& graph() const { return graph_; }
    int32_t batch() const { return batch_; }
    int32_t capacity() const { return capacity_; }
    int64_t current_step() const { return step_; }
    bool frozen() const { return engine_ != nullptr; }
    const char* backend_name() const;

    // Building (refused with SNN_STATE after the first step).
    int32_t add_population(std::string_view name, std::string_view model, int32_t ndim, const int64_t* shape);
    int32_t connect_dense(int32_t pre, int32_t post, const float* weights, int64_t count, const snn_connection_options& o);
    int32_t connect_sparse(int32_t pre, int32_t post, int64_t nnz, const int64_t* row_ptr, const int32_t* post_index,
                           const float* weights, const int32_t* delays, const snn_connection_options& o);
    int32_t connect_random(int32_t pre, int32_t post, double p, float weight, uint64_t seed, const snn_connection_options& o);
    int32_t connect_one_to_one(int32_t pre, int32_t post, const float* weights, int64_t count, float weight,
                               const snn_connection_options& o);
    int32_t connect_conv2d(int32_t pre, int32_t post, const snn_conv2d_geometry& geometry, const float* weights, int64_t count,
                           const snn_connection_options& o);

    // Lookup (-1 when absent).
    int32_t find_population(std::string_view name) const;
    int32_t find_connection(std::string_view name) const;
    const Population& population(int32_t id) const;  // throws SNN_OUT_OF_RANGE
    const Connection& connection(int32_t id) const;

    // Parameters.
    void set_param(int32_t pop, std::string_view name, double value);
    void set_param_array(int32_t pop, std::string_view name, const float* values, int64_t count);
    const pvector<float>& param(int32_t pop, std::string_view name) const;
    void set_option(int32_t pop, std::string_view name, std::string_view value);
    const char* option(int32_t pop, std::string_view name) const;
    void set_connection_param(int32_t conn, std::string_view name, double value);
    double connection_param(int32_t conn, std::string_view name) const;
    void set_connection_option(int32_t conn, std::string_view name, std::string_view value);
    const char* connection_option(int32_t conn, std::string_view name) const;
    void set_weights(int32_t conn, const float* weights, int64_t count);

    // State. var names: a model state variable ("v"), or for connections the
    // synapse's ("I", "g"). Values are [batch][n].
    int var_index(Owner owner, int32_t id, std::string_view var) const;  // throws SNN_NOT_FOUND
    int64_t state_size(Owner owner, int32_t id) const;                   // n of the owner
    // Values per instance of a variable: n of the owner, or for a plastic
    // connection's trace (var >= kPlasticVar) its presynaptic, postsynaptic
    // or synapse count.
    int64_t state_size(Owner owner, int32_t id, int var) const;
    void read_state(Owner owner, int32_t id, int var, float* out) const;
    void write_state(Owner owner, int32_t id, int var, const float* values, int64_t count);
    void randomize_state(Owner owner, int32_t id, int var, int32_t distribution, double a, double b, uint64_t seed);
    void read_spikes(int32_t pop, uint8_t* out) const;
    float* state_data(int32_t pop, int var);  // freezes; nullptr if not the logical form
    std::atomic<int32_t>& live_views() { return live_views_; }

    // Inputs, outputs, callbacks.
    void set_input(int32_t pop, const snn_tensor& input);
    void bind_input(int32_t pop, const snn_tensor& buffer);
    void unbind_input(int32_t pop);
    void bind_output(int32_t pop, std::string_view var, const snn_tensor& buffer);
    void unbind_output(int32_t pop, std::string_view var);
    void set_spike_callback(int32_t pop, snn_spike_fn fn, void* user_data);
    void set_learning_callback(int32_t conn, snn_learning_fn fn, void* user_data);

    // Running.
    snn_status run(int64_t steps);  // SNN_OK or SNN_CANCELLED; SNN_STATE from inside a spike callback
    void reset();
    void set_batch(int32_t batch);

    // For the file format: the initial state of a variable, [batch][n]
    // (computed from parameters unless written).
    void initial_state(Owner owner, int32_t id, int var, float* out) const;
    void set_initial_state(Owner owner, int32_t id, int var, const float* values);  // [batch][n]
    void set_step(int64_t step) { step_ = step; }
    // After a restored running state: the learning rules' presynaptic events
    // still in flight, from the restored delay lines.
    void restore_learning_events();
    // The running engine: nullptr before the first run / created on demand.
    const Engine* running_engine() const { return engine_.get(); }
    Engine& start_engine() {
        freeze();
        return *engine_;
    }

private:
    Population& mutable_population(int32_t id);
    Connection& mutable_connection(int32_t id);
    void check_buildable(const char* what) const;
    const Population& endpoint(int32_t id, const char* what) const;  // a connection's pre or post
    int32_t add_connection(Connection&& c, const snn_connection_options& o);
    void set_plasticity(Connection& c, std::string_view value);
    void add_step_inputs();  // non-source populations that take inputs (modulator)
    void freeze();
    void default_initial(Owner owner, int32_t id, int var, float* out_one_instance) const;
    InitialVar& initial_var(Owner owner, int32_t id, int var);
    const InitialVar& initial_var(Owner owner, int32_t id, int var) const;
    void check_bindings(int64_t steps) const;
    void write_outputs(int64_t run_index);
    // RunPlan::input: what population p reads in step k of the run.
    static InputView run_input(const void* self, int32_t population, int64_t k);

    Context& context_;
    std::pmr::memory_resource* memory_;
    bool in_callback_ = false;  // a spike callback of this network is running (run() refuses to re-enter)
    Graph graph_;
    int32_t batch_ = 1;
    int32_t capacity_ = 1;
    int64_t step_ = 0;
    pvector<PopulationIO> pop_io_;
    pvector<ConnectionIO> conn_io_;
    pvector<InputView> step_inputs_;  // preallocated per population
    pvector<uint8_t> observed_;       // per population, for RunPlan::observed
    pvector<float> scratch_;          // [batch][max n] for output conversion
    resource_ptr<Engine> engine_;
    resource_ptr<Learner> learner_;  // with the engine, when some connection is plastic
    std::atomic<int32_t> live_views_{0};
};

// Element size of an SNN_DTYPE_* (0 if unknown).
int64_t dtype_size(int32_t dtype);

}  // namespace snn
