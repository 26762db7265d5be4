// Shared helpers of the API tests: status assertions, RAII owners of contexts
// and networks, tensor descriptors, and small reference computations.
// The tests use only the public header and the shared library.
#pragma once

#include <gtest/gtest.h>
#include <snn/snn.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

// ---------------------------------------------------------------------------
// Status assertions

#define SNN_STATUS_TEXT(s) (std::string(snn_status_name(s)) + ": " + snn_last_error())

#define ASSERT_SNN_OK(call)                                                               \
    do {                                                                                  \
        snn_status snn_s_ = (call);                                                       \
        ASSERT_EQ(snn_s_, SNN_OK) << #call << " -> " << SNN_STATUS_TEXT(snn_s_);          \
    } while (0)

#define EXPECT_SNN_OK(call)                                                               \
    do {                                                                                  \
        snn_status snn_s_ = (call);                                                       \
        EXPECT_EQ(snn_s_, SNN_OK) << #call << " -> " << SNN_STATUS_TEXT(snn_s_);          \
    } while (0)

// A refused call: the status is `expected`, and snn_last_error() is non-empty
// and mentions `needle` (the name of the offending argument).
#define EXPECT_SNN_ERROR(call, expected, needle)                                                        \
    do {                                                                                                \
        snn_clear_error();                                                                              \
        snn_status snn_s_ = (call);                                                                     \
        std::string snn_e_ = snn_last_error();                                                          \
        EXPECT_STREQ(snn_status_name(snn_s_), snn_status_name(expected)) << #call << " -> " << snn_e_; \
        EXPECT_FALSE(snn_e_.empty()) << #call << ": snn_last_error() is empty";                        \
        EXPECT_NE(snn_e_.find(needle), std::string::npos)                                               \
            << #call << ": the message \"" << snn_e_ << "\" does not name \"" << (needle) << "\"";     \
    } while (0)

namespace snntest {

// Records a failure (non-fatally) when a helper's call fails.
inline bool ok(snn_status s, const char* what) {
    if (s == SNN_OK) return true;
    ADD_FAILURE() << what << " -> " << SNN_STATUS_TEXT(s);
    return false;
}

// ---------------------------------------------------------------------------
// Tensors

// A tensor descriptor that owns its shape and strides. Not movable: the
// descriptor points into the object.
class Tensor {
public:
    Tensor(void* data, int32_t dtype, std::initializer_list<int64_t> shape, std::initializer_list<int64_t> strides = {}) {
        std::memset(&t_, 0, sizeof t_);
        int32_t d = 0;
        for (int64_t s : shape) shape_[d++] = s;
        t_.ndim = d;
        d = 0;
        for (int64_t s : strides) strides_[d++] = s;
        t_.data = data;
        t_.dtype = dtype;
        t_.shape = shape_;
        t_.strides = strides.size() ? strides_ : nullptr;
        t_.device_type = SNN_DEVICE_CPU;
        t_.device_id = 0;
    }
    Tensor(const Tensor&) = delete;
    Tensor& operator=(const Tensor&) = delete;

    snn_tensor* get() { return &t_; }
    snn_tensor& desc() { return t_; }

private:
    snn_tensor t_;
    int64_t shape_[8] = {};
    int64_t strides_[8] = {};
};

// ---------------------------------------------------------------------------
// Owners

class Context {
public:
    Context() { ok(snn_context_create(nullptr, &ctx_), "snn_context_create"); }
    explicit Context(const snn_context_options& o) { ok(snn_context_create(&o, &ctx_), "snn_context_create"); }
    ~Context() { snn_context_destroy(ctx_); }
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    snn_context* get() const { return ctx_; }

private:
    snn_context* ctx_ = nullptr;
};

struct NetOptions {
    double dt = 1e-4;
    int32_t batch = 1;
    uint64_t seed = 0;
};

// A network (and, unless one is given, its own context) with shorthands that
// record a test failure when a call fails.
class Net {
public:
    explicit Net(NetOptions o = NetOptions{}, snn_context* context = nullptr) {
        if (!context) {
            own_ = new Context();
            context = own_->get();
        }
        snn_network_options options;
        ok(snn_network_options_init(&options, sizeof options), "snn_network_options_init");
        options.dt = o.dt;
        options.batch = o.batch;
        options.seed = o.seed;
        ok(snn_network_create(context, &options, &net_), "snn_network_create");
    }
    // Takes ownership of a network made elsewhere (snn_network_load*).
    struct Adopt {};
    Net(snn_network* network, Adopt) : net_(network) {}
    ~Net() {
        snn_network_destroy(net_);
        delete own_;
    }
    Net(const Net&) = delete;
    Net& operator=(const Net&) = delete;

    snn_network* get() const { return net_; }
    operator snn_network*() const { return net_; }

    // Destroys the network now (deleters run); later calls see NULL.
    void destroy() {
        snn_network_destroy(net_);
        net_ = nullptr;
    }

    int32_t pop(const char* name, const char* model, int64_t n) {
        int32_t id = -1;
        ok(snn_network_add_population(net_, name, model, 1, &n, &id), name);
        return id;
    }
    int32_t lif(const char* name, int64_t n) { return pop(name, "lif", n); }
    int32_t source(const char* name, int64_t n) { return pop(name, "spike_source", n); }

    static snn_connection_options conn_options(int32_t delay, const char* synapse = nullptr, const char* name = nullptr) {
        snn_connection_options o;
        snn_connection_options_init(&o, sizeof o);
        o.delay = delay;
        if (synapse) o.synapse = synapse;
        o.name = name;
        return o;
    }

    int32_t dense(int32_t pre, int32_t post, const std::vector<float>& w, int32_t delay = 1, const char* synapse = nullptr) {
        snn_connection_options o = conn_options(delay, synapse);
        int32_t id = -1;
        ok(snn_network_connect_dense(net_, pre, post, w.data(), static_cast<int64_t>(w.size()), &o, &id), "connect_dense");
        return id;
    }
    int32_t one_to_one(int32_t pre, int32_t post, float w, int32_t delay = 1, const char* synapse = nullptr) {
        snn_connection_options o = conn_options(delay, synapse);
        int32_t id = -1;
        ok(snn_network_connect_one_to_one(net_, pre, post, nullptr, 0, w, &o, &id), "connect_one_to_one");
        return id;
    }

    void set(int32_t pop, const char* param, double value) {
        ok(snn_population_set_param(net_, pop, param, value), param);
    }

    int32_t batch() const {
        int32_t b = 0;
        ok(snn_network_batch(net_, &b), "snn_network_batch");
        return b;
    }
    int64_t size(int32_t pop) const {
        snn_population_info info;
        info.struct_size = sizeof info;
        ok(snn_population_info_get(net_, pop, &info), "snn_population_info_get");
        return info.size;
    }
    int64_t step_count() const {
        int64_t s = -1;
        ok(snn_network_current_step(net_, &s), "snn_network_current_step");
        return s;
    }

    std::vector<float> state(int32_t pop, const char* var) const {
        int64_t count = 0;
        ok(snn_population_read_state(net_, pop, var, nullptr, 0, &count), "read_state (count)");
        std::vector<float> v(static_cast<std::size_t>(count));
        if (count) ok(snn_population_read_state(net_, pop, var, v.data(), count, &count), "read_state");
        return v;
    }
    float v(int32_t pop, int64_t i = 0) const { return state(pop, "v").at(static_cast<std::size_t>(i)); }
    void write(int32_t pop, const char* var, const std::vector<float>& values) {
        ok(snn_population_write_state(net_, pop, var, values.data(), static_cast<int64_t>(values.size())), "write_state");
    }
    std::vector<float> conn_state(int32_t conn, const char* var) const {
        int64_t count = 0;
        ok(snn_connection_read_state(net_, conn, var, nullptr, 0, &count), "connection read_state (count)");
        std::vector<float> v(static_cast<std::size_t>(count));
        if (count) ok(snn_connection_read_state(net_, conn, var, v.data(), count, &count), "connection read_state");
        return v;
    }
    std::vector<uint8_t> spikes(int32_t pop) const {
        int64_t count = 0;
        ok(snn_population_read_spikes(net_, pop, nullptr, 0, &count), "read_spikes (count)");
        std::vector<uint8_t> s(static_cast<std::size_t>(count));
        if (count) ok(snn_population_read_spikes(net_, pop, s.data(), count, &count), "read_spikes");
        return s;
    }
    std::vector<float> weights(int32_t conn) const {
        int64_t count = 0;
        ok(snn_connection_get_weights(net_, conn, nullptr, 0, &count), "get_weights (count)");
        std::vector<float> w(static_cast<std::size_t>(count));
        if (count) ok(snn_connection_get_weights(net_, conn, w.data(), count, &count), "get_weights");
        return w;
    }

    // Copies a [batch][n] float32 input for the next step.
    void input(int32_t pop, const std::vector<float>& values) {
        const int64_t n = size(pop);
        Tensor t(const_cast<float*>(values.data()), SNN_DTYPE_FLOAT32, {batch(), n});
        ok(snn_population_set_input(net_, pop, t.get()), "set_input");
    }

    void step() { ok(snn_network_step(net_), "snn_network_step"); }
    void run(int64_t steps) { ok(snn_network_run(net_, steps), "snn_network_run"); }
    void reset() { ok(snn_network_reset(net_), "snn_network_reset"); }

private:
    Context* own_ = nullptr;
    snn_network* net_ = nullptr;
};

// ---------------------------------------------------------------------------
// Reference computations (float32, as the engine stores state)

// The per-step membrane decay of a LIF neuron: exp(-dt/tau), computed in
// double and rounded to float32 once.
inline float decay_of(double dt, double tau) { return static_cast<float>(std::exp(-dt / tau)); }

// A single LIF neuron with delta synapses, written from docs/models.md ("One
// step in full"): in step t, delta input is added to v unless the neuron is
// held, then v = v_rest + (v - v_rest) * decay, then v > v_th spikes and
// resets. With R = round(t_ref / dt), a neuron that spiked in step ts is held
// in steps ts+1 .. ts+R-1: it neither takes delta input nor integrates.
struct LifReference {
    float v_rest = -65e-3f, v_reset = -65e-3f, v_th = -50e-3f;
    float decay = 1.0f;
    int64_t refractory_steps = 0;
    bool subtract = false;
    float v = -65e-3f;
    int64_t t = 0;
    int64_t last_spike = -1000000;

    // One step with `input` delivered to the neuron; returns whether it spiked.
    bool step(float input) {
        const int64_t since = t - last_spike;
        const bool held = since >= 1 && since <= refractory_steps - 1;
        ++t;
        if (held) return false;  // the input is discarded
        v += input;
        v = v_rest + (v - v_rest) * decay;
        if (v > v_th) {
            v = subtract ? v - (v_th - v_reset) : v_reset;
            last_spike = t - 1;
            return true;
        }
        return false;
    }
};

// Tolerance for comparing float32 membrane potentials computed the same way
// (a few ulp at 65 mV; far below any modelling difference).
constexpr float kVTol = 3e-8f;

inline std::string data_path(const char* relative) { return std::string(SNN_TEST_DATA_DIR) + "/" + relative; }

}  // namespace snntest
