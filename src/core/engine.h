// The internal backend interface. A backend turns a frozen Graph into an
// Engine that owns the running state of `capacity` instances and advances it
// one step at a time. The core (network.cpp) does everything else: argument
// checks, bindings, recording, callbacks, files. Every backend is tested
// against "reference" (src/reference), the oracle.
//
// Adding to this interface: add virtual functions with a default that reports
// SNN_UNSUPPORTED, so existing backends keep compiling and behaving.
#pragma once

#include <cstdint>
#include <memory>

#include "core/graph.h"
#include "core/memory.h"

namespace snn {

// A read-only view of one step's input for a source population: element
// (b, i) is at data + (b * batch_stride + i * neuron_stride) * element size.
struct InputView {
    const void* data = nullptr;  // nullptr: no input this step (use the model's parameter)
    int32_t dtype = SNN_DTYPE_FLOAT32;
    int64_t batch_stride = 0;
    int64_t neuron_stride = 1;
};

// Element (b, i) of an input as float32, whatever its dtype.
inline float input_value(const void* data, int32_t dtype, int64_t offset) {
    switch (dtype) {
        case SNN_DTYPE_FLOAT32: return static_cast<const float*>(data)[offset];
        case SNN_DTYPE_FLOAT64: return static_cast<float>(static_cast<const double*>(data)[offset]);
        case SNN_DTYPE_UINT8:
        case SNN_DTYPE_BOOL: return static_cast<float>(static_cast<const uint8_t*>(data)[offset]);
        case SNN_DTYPE_INT32: return static_cast<float>(static_cast<const int32_t*>(data)[offset]);
        case SNN_DTYPE_INT64: return static_cast<float>(static_cast<const int64_t*>(data)[offset]);
        default: return 0.0f;
    }
}
inline float input_value(const InputView& in, int32_t b, int64_t i) {
    return input_value(in.data, in.dtype, b * in.batch_stride + i * in.neuron_stride);
}

// Which state a variable belongs to.
enum class Owner { Population, Connection };

// What a run of several steps tells the engine before it starts, so that it
// may compute some populations ahead (see the cpu backend's lookahead).
struct RunPlan {
    int64_t first_step = 0;  // the network's step counter at the run's first step
    int64_t steps = 0;
    // A spike callback is set: the run may stop after any step, so nothing
    // may be computed past the step just finished.
    bool callbacks = false;
    // [populations]: nonzero where a state variable other than spikes is
    // written out after every step (an output binding).
    const uint8_t* observed = nullptr;
    // The input of population p in step first_step + k, for k < steps.
    InputView (*input)(const void* self, int32_t population, int64_t k) = nullptr;
    const void* self = nullptr;
};

class Engine {
public:
    virtual ~Engine() = default;

    virtual const char* backend_name() const = 0;

    // The running batch (<= capacity). Instances keep their state.
    virtual void set_batch(int32_t batch) = 0;

    // Loads the state of every instance from `initial`, which holds, for each
    // variable, [batch][n] values (see Network::initial_state); zeroes the
    // refractory counters, synaptic delay lines and spikes.
    virtual void load_initial_state() = 0;

    // Advances one step: `step` is the network's step counter (for random
    // streams), inputs[p] the input of population p (ignored for non-sources).
    virtual void step(int64_t step, const InputView* inputs) = 0;

    // A run of plan.steps steps starts (step() follows for each) and ends.
    // Between them nothing but step(), spikes() and spike_ids() is called.
    virtual void begin_run(const RunPlan& plan) { (void)plan; }
    virtual void end_run() {}

    // Parameters or weights changed: recompute what depends on them.
    virtual void parameters_changed() = 0;

    // Learning (core/plasticity) changed weights of a connection in the graph
    // after a step: those of the given rows (presynaptic neurons) and columns
    // (postsynaptic neurons), or all of them when a count is negative. A
    // backend that keeps its own copy of the weights updates it here.
    virtual void weights_changed(int32_t connection, const int32_t* rows, int64_t row_count, const int32_t* columns,
                                 int64_t column_count) {
        (void)connection, (void)rows, (void)row_count, (void)columns, (void)column_count;
        parameters_changed();
    }

    // State variables (index into the model's state_vars, or 0 for a
    // connection's synaptic state), [batch][n] float32.
    virtual void read_state(Owner owner, int32_t id, int var, float* out) const = 0;
    virtual void write_state(Owner owner, int32_t id, int var, const float* values) = 0;
    // A pointer to the stored [capacity][n] array when it is the logical form; else nullptr.
    virtual float* state_data(Owner owner, int32_t id, int var) = 0;

    // The last step's spikes of a population, [batch][n] bytes 0/1.
    virtual const uint8_t* spikes(int32_t population) const = 0;
    // The ascending ids of the neurons of instance b that spiked in the last step.
    virtual const int32_t* spike_ids(int32_t population, int32_t batch_index, int32_t* count) const = 0;

    // The rest of a population's running state, for saving and restoring it
    // exactly (SNN_SAVE_CURRENT_STATE): refractory counters [batch][n] int32,
    // the delay line [delay_line_depth][batch][n] float32 (slot t % depth
    // holds what step t emitted) and the last step's spikes [batch][n].
    virtual int32_t delay_line_depth(int32_t population) const = 0;
    virtual void read_internal(int32_t population, int32_t* refractory, float* delay_line, uint8_t* spikes) const = 0;
    virtual void write_internal(int32_t population, const int32_t* refractory, const float* delay_line,
                                const uint8_t* spikes) = 0;
};

class Network;

// Creates the engine of a backend for a frozen network.
// The engine reads the network's graph (parameters, weights) in place; the
// graph's structure does not change while an engine exists.
using EngineFactory = resource_ptr<Engine> (*)(const Network& network, int32_t capacity);

}  // namespace snn
