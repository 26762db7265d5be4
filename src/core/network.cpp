#include "core/network.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <limits>

#include "core/coefficients.h"
#include "core/error.h"
#include "core/rng.h"

namespace snn {

namespace {

constexpr int32_t kMaxDelay = 1 << 16;      // steps; bounds the delay lines' memory
constexpr int64_t kMaxNeurons = int64_t(1) << 31;  // ids are int32

void check_name(std::string_view name, const char* what) {
    if (name.empty() || name.size() > 255)
        throw fail(SNN_INVALID_ARGUMENT, "%s: a name must be 1 to 255 characters long", what);
    for (char ch : name) {
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!ok)
            throw fail(SNN_INVALID_ARGUMENT, "%s: \"%.*s\" may only use letters, digits, '_' and '-'", what,
                       static_cast<int>(name.size()), name.data());
    }
}

void check_finite(const float* values, int64_t count, const char* what) {
    for (int64_t i = 0; i < count; ++i)
        if (!std::isfinite(values[i]))
            throw fail(SNN_INVALID_ARGUMENT, "%s: element %lld is not finite", what, static_cast<long long>(i));
}

void check_finite(double value, const char* what) {
    if (!std::isfinite(value)) throw fail(SNN_INVALID_ARGUMENT, "%s: value is not finite", what);
}

// Per-parameter validity (beyond being finite): time constants must be positive.
void check_param_value(const NeuronModel& m, int index, double value) {
    const char* name = m.params[static_cast<std::size_t>(index)].name;
    check_finite(value, name);
    std::string_view n(name);
    if ((n == "tau_mem" || n == "tau_adapt") && !(value > 0.0))
        throw fail(SNN_INVALID_ARGUMENT, "%s: must be > 0 (got %g)", name, value);
    if ((n == "t_ref" || n == "rate" || (m.kind == NeuronKind::Modulator && n == "tau")) && value < 0.0)
        throw fail(SNN_INVALID_ARGUMENT, "%s: must be >= 0 (got %g)", name, value);
    if (n == "beta" && !(value >= 0.0 && value <= 1.0))
        throw fail(SNN_INVALID_ARGUMENT, "%s: must be in [0, 1] (got %g)", name, value);
}

// Makes room for one more element (geometric growth), so that a following
// push_back cannot fail: building calls change nothing when memory runs out.
template <class V>
void reserve_one(V& v) {
    if (v.size() == v.capacity()) v.reserve(std::max<std::size_t>(4, 2 * v.capacity()));
}


}  // namespace

int64_t dtype_size(int32_t dtype) {
    switch (dtype) {
        case SNN_DTYPE_FLOAT32: return 4;
        case SNN_DTYPE_FLOAT64: return 8;
        case SNN_DTYPE_UINT8: return 1;
        case SNN_DTYPE_BOOL: return 1;
        case SNN_DTYPE_INT32: return 4;
        case SNN_DTYPE_INT64: return 8;
        default: return 0;
    }
}

void BoundTensor::release() {
    if (active && tensor.deleter) tensor.deleter(&tensor);
    active = false;
    tensor = snn_tensor{};
}

// ---------------------------------------------------------------------------
// Construction

Network::Network(Context& context, const snn_network_options& o)
    : context_(context),
      memory_(context.memory()),
      graph_(memory_),
      pop_io_(memory_),
      conn_io_(memory_),
      step_inputs_(memory_),
      observed_(memory_),
      scratch_(memory_) {
    if (!(o.dt > 0.0) || !std::isfinite(o.dt)) throw fail(SNN_INVALID_ARGUMENT, "dt: must be a finite value > 0 (got %g)", o.dt);
    if (o.batch < 1) throw fail(SNN_INVALID_ARGUMENT, "batch: must be >= 1 (got %d)", o.batch);
    graph_.dt = o.dt;
    graph_.seed = o.seed;
    batch_ = capacity_ = o.batch;
    ++context_.live_networks;
}

Network::~Network() {
    engine_.reset();
    for (PopulationIO& io : pop_io_) {
        io.bound_input.release();
        for (OutputBinding& b : io.outputs) b.buffer.release();
    }
    --context_.live_networks;
}

const char* Network::backend_name() const { return context_.backend().name; }

const Population& Network::population(int32_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= graph_.populations.size())
        throw fail(SNN_OUT_OF_RANGE, "population: id %d is not in this network (it has %zu)", id, graph_.populations.size());
    return graph_.populations[static_cast<std::size_t>(id)];
}
const Connection& Network::connection(int32_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= graph_.connections.size())
        throw fail(SNN_OUT_OF_RANGE, "connection: id %d is not in this network (it has %zu)", id, graph_.connections.size());
    return graph_.connections[static_cast<std::size_t>(id)];
}
Population& Network::mutable_population(int32_t id) { return const_cast<Population&>(population(id)); }
Connection& Network::mutable_connection(int32_t id) { return const_cast<Connection&>(connection(id)); }

int32_t Network::find_population(std::string_view name) const {
    for (std::size_t i = 0; i < graph_.populations.size(); ++i)
        if (graph_.populations[i].name == name) return static_cast<int32_t>(i);
    return -1;
}
int32_t Network::find_connection(std::string_view name) const {
    for (std::size_t i = 0; i < graph_.connections.size(); ++i)
        if (graph_.connections[i].name == name) return static_cast<int32_t>(i);
    return -1;
}

void Network::check_buildable(const char* what) const {
    if (frozen()) throw fail(SNN_STATE, "%s: the network's structure is fixed once it has run", what);
}

int32_t Network::add_population(std::string_view name, std::string_view model, int32_t ndim, const int64_t* shape) {
    check_buildable("add_population");
    check_name(name, "name");
    if (find_population(name) >= 0)
        throw fail(SNN_INVALID_ARGUMENT, "name: a population \"%.*s\" already exists", static_cast<int>(name.size()), name.data());
    int model_index = find_neuron_model(model);
    if (model_index < 0)
        throw fail(SNN_NOT_FOUND, "model: unknown neuron model \"%.*s\" (see snn_model_list)", static_cast<int>(model.size()),
                   model.data());
    if (ndim < 1 || ndim > 8) throw fail(SNN_SHAPE, "ndim: must be 1 to 8 (got %d)", ndim);
    if (!shape) throw fail(SNN_INVALID_ARGUMENT, "shape: is NULL");
    int64_t size = 1;
    for (int32_t d = 0; d < ndim; ++d) {
        if (shape[d] < 1) throw fail(SNN_SHAPE, "shape: dimension %d is %lld; every dimension must be >= 1", d, static_cast<long long>(shape[d]));
        if (size > kMaxNeurons / shape[d]) throw fail(SNN_SHAPE, "shape: more than 2^31 neurons");
        size *= shape[d];
    }
    if (size >= kMaxNeurons) throw fail(SNN_SHAPE, "shape: more than 2^31 - 1 neurons");

    Population pop(memory_);
    pop.name.assign(name.data(), name.size());
    pop.model = model_index;
    pop.shape.assign(shape, shape + ndim);
    pop.size = size;
    const NeuronModel& m = neuron_models()[static_cast<std::size_t>(model_index)];
    for (const NumberParam& p : m.params) {
        pop.params.emplace_back(static_cast<std::size_t>(size), static_cast<float>(p.default_value));
    }
    for (const StringParam& s : m.options) pop.options.emplace_back(s.default_value);

    PopulationIO io(memory_);
    for (std::size_t v = 0; v < m.state_vars.size(); ++v) io.initial.emplace_back(memory_);
    reserve_one(step_inputs_);
    reserve_one(observed_);
    reserve_one(graph_.populations);
    reserve_one(pop_io_);
    reserve_one(graph_.update_order);
    step_inputs_.emplace_back();
    observed_.push_back(0);
    graph_.populations.push_back(std::move(pop));
    pop_io_.push_back(std::move(io));
    graph_.update_order.push_back(static_cast<int32_t>(graph_.populations.size() - 1));
    return static_cast<int32_t>(graph_.populations.size() - 1);
}

const Population& Network::endpoint(int32_t id, const char* what) const {
    if (id < 0 || static_cast<std::size_t>(id) >= graph_.populations.size())
        throw fail(SNN_OUT_OF_RANGE, "%s: population id %d is not in this network (it has %zu)", what, id, graph_.populations.size());
    return graph_.populations[static_cast<std::size_t>(id)];
}

namespace {
// float32 to the nearest bfloat16 (ties to even), kept in a float32. The
// weights are finite; one that rounds past bfloat16's largest is refused.
float round_to_bfloat16(float w, const char* what) {
    uint32_t bits;
    std::memcpy(&bits, &w, sizeof bits);
    bits += 0x7FFFu + ((bits >> 16) & 1u);
    bits &= 0xFFFF0000u;
    float r;
    std::memcpy(&r, &bits, sizeof r);
    if (!std::isfinite(r)) throw fail(SNN_INVALID_ARGUMENT, "%s: %g is too large for bfloat16", what, static_cast<double>(w));
    return r;
}

void round_weights(pvector<float>& weights, const char* what) {
    for (float& w : weights) w = round_to_bfloat16(w, what);
}

bool weight_dtype_is_bfloat16(std::string_view value, const char* what) {
    if (value == "bfloat16") return true;
    if (value == "float32") return false;
    throw fail(SNN_INVALID_ARGUMENT, "%s: option \"weight_dtype\" takes one of float32|bfloat16 (got \"%.*s\")", what,
               static_cast<int>(value.size()), value.data());
}

}  // namespace

int32_t Network::add_connection(Connection&& c, const snn_connection_options& o) {
    const Population& pre = endpoint(c.pre, "pre");
    const Population& post = endpoint(c.post, "post");
    if (!pre.neuron_model().has_output)
        throw fail(SNN_INVALID_ARGUMENT, "pre: population \"%s\" (%s) has no output and cannot be presynaptic", pre.name.c_str(),
                   pre.neuron_model().name);
    if (post.neuron_model().is_input)
        throw fail(SNN_INVALID_ARGUMENT, "post: population \"%s\" is a source (%s) and takes no connections", post.name.c_str(),
                   post.neuron_model().name);
    int synapse = find_synapse_model(o.synapse ? std::string_view(o.synapse) : std::string_view("delta"));
    if (synapse < 0) throw fail(SNN_NOT_FOUND, "synapse: unknown synapse model \"%s\" (see snn_model_list)", o.synapse);
    c.synapse = synapse;
    if (post.neuron_model().kind == NeuronKind::Modulator && synapse_models()[static_cast<std::size_t>(synapse)].kind != SynapseKind::Delta)
        throw fail(SNN_INVALID_ARGUMENT, "synapse: a modulator population (\"%s\") takes delta synapses only", post.name.c_str());
    if (post.neuron_model().kind == NeuronKind::Leaky && synapse_models()[static_cast<std::size_t>(synapse)].kind == SynapseKind::CondExp)
        throw fail(SNN_INVALID_ARGUMENT, "synapse: a leaky population (\"%s\") takes delta and exp synapses, not cond_exp",
                   post.name.c_str());
    // Stored as float32, like every parameter (Decision 5).
    for (const NumberParam& p : synapse_models()[static_cast<std::size_t>(synapse)].params)
        c.syn_params.push_back(static_cast<float>(p.default_value));
    if (o.delay < 0 || o.delay > kMaxDelay) throw fail(SNN_INVALID_ARGUMENT, "delay: must be 0 to %d steps (got %d)", kMaxDelay, o.delay);
    if (c.delays.empty()) c.delay = o.delay;
    if (o.weight_dtype && weight_dtype_is_bfloat16(o.weight_dtype, "options.weight_dtype")) {
        round_weights(c.weights, "weights");
        c.bfloat16 = true;
    }

    // The name: given, or "<pre>_to_<post>" made unique.
    if (o.name) {
        check_name(o.name, "name");
        if (find_connection(o.name) >= 0) throw fail(SNN_INVALID_ARGUMENT, "name: a connection \"%s\" already exists", o.name);
        c.name.assign(o.name);
    } else {
        std::string base = std::string(pre.name.c_str()) + "_to_" + post.name.c_str();
        std::string candidate = base;
        for (int k = 2; find_connection(candidate) >= 0; ++k) candidate = base + "_" + std::to_string(k);
        if (candidate.size() > 255) throw fail(SNN_INVALID_ARGUMENT, "name: the default name is too long; give one");
        c.name.assign(candidate.c_str());
    }

    reserve_one(graph_.connections);
    reserve_one(conn_io_);
    const std::string pre_name = pre.name.c_str();
    graph_.connections.push_back(std::move(c));
    bool acyclic = false;
    try {
        acyclic = graph_.compute_update_order();  // leaves the order unchanged when it fails
    } catch (...) {
        graph_.connections.pop_back();
        throw;
    }
    if (!acyclic) {
        graph_.connections.pop_back();
        throw fail(SNN_INVALID_ARGUMENT, "delay: zero-delay connections would form a cycle through \"%s\"; use delay >= 1",
                   pre_name.c_str());
    }
    conn_io_.emplace_back(memory_);
    return static_cast<int32_t>(graph_.connections.size() - 1);
}

int32_t Network::connect_dense(int32_t pre, int32_t post, const float* weights, int64_t count,
                               const snn_connection_options& o) {
    check_buildable("connect_dense");
    endpoint(pre, "pre");
    endpoint(post, "post");
    const int64_t expected = population(pre).size * population(post).size;
    if (!weights) throw fail(SNN_INVALID_ARGUMENT, "weights: is NULL");
    if (count != expected)
        throw fail(SNN_SHAPE, "weights: %lld values given; a dense [pre, post] matrix here has %lld x %lld = %lld",
                   static_cast<long long>(count), static_cast<long long>(population(pre).size),
                   static_cast<long long>(population(post).size), static_cast<long long>(expected));
    check_finite(weights, count, "weights");
    Connection c(memory_);
    c.pre = pre;
    c.post = post;
    c.kind = SNN_CONNECTION_DENSE;
    c.weights.assign(weights, weights + count);
    return add_connection(std::move(c), o);
}

int32_t Network::connect_sparse(int32_t pre, int32_t post, int64_t nnz, const int64_t* row_ptr, const int32_t* post_index,
                                const float* weights, const int32_t* delays, const snn_connection_options& o) {
    check_buildable("connect_sparse");
    endpoint(pre, "pre");
    endpoint(post, "post");
    const int64_t n_pre = population(pre).size, n_post = population(post).size;
    if (nnz < 0) throw fail(SNN_INVALID_ARGUMENT, "nnz: is negative");
    if (!row_ptr) throw fail(SNN_INVALID_ARGUMENT, "row_ptr: is NULL");
    if (nnz > 0 && (!post_index || !weights)) throw fail(SNN_INVALID_ARGUMENT, "post_index/weights: NULL with nnz > 0");
    if (row_ptr[0] != 0) throw fail(SNN_INVALID_ARGUMENT, "row_ptr: row_ptr[0] must be 0");
    for (int64_t i = 0; i < n_pre; ++i)
        if (row_ptr[i + 1] < row_ptr[i])
            throw fail(SNN_INVALID_ARGUMENT, "row_ptr: decreases at row %lld", static_cast<long long>(i));
    if (row_ptr[n_pre] != nnz)
        throw fail(SNN_SHAPE, "row_ptr: row_ptr[n_pre] = %lld but nnz = %lld", static_cast<long long>(row_ptr[n_pre]),
                   static_cast<long long>(nnz));
    for (int64_t k = 0; k < nnz; ++k)
        if (post_index[k] < 0 || post_index[k] >= n_post)
            throw fail(SNN_OUT_OF_RANGE, "post_index: element %lld is %d, outside [0, %lld)", static_cast<long long>(k),
                       post_index[k], static_cast<long long>(n_post));
    check_finite(weights, nnz, "weights");
    Connection c(memory_);
    c.pre = pre;
    c.post = post;
    c.kind = SNN_CONNECTION_SPARSE;
    c.row_ptr.assign(row_ptr, row_ptr + n_pre + 1);
    c.post_index.assign(post_index, post_index + nnz);
    c.weights.assign(weights, weights + nnz);
    if (delays) {
        int32_t largest = 0;
        for (int64_t k = 0; k < nnz; ++k) {
            if (delays[k] < 0 || delays[k] > kMaxDelay)
                throw fail(SNN_INVALID_ARGUMENT, "delays: element %lld is %d, outside [0, %d]", static_cast<long long>(k), delays[k],
                           kMaxDelay);
            largest = std::max(largest, delays[k]);
        }
        c.delays.assign(delays, delays + nnz);
        c.delay = largest;
    }
    return add_connection(std::move(c), o);
}

int32_t Network::connect_random(int32_t pre, int32_t post, double p, float weight, uint64_t seed,
                                const snn_connection_options& o) {
    check_buildable("connect_random");
    endpoint(pre, "pre");
    endpoint(post, "post");
    if (!(p >= 0.0 && p <= 1.0)) throw fail(SNN_INVALID_ARGUMENT, "p: must be in [0, 1] (got %g)", p);
    check_finite(weight, "weight");
    const int64_t n_pre = population(pre).size, n_post = population(post).size;
    // Each row draws the gaps between its synapses from the geometric
    // distribution (O(synapses), not O(pairs)), keyed by (seed, row, draw),
    // so the result does not depend on the platform or on threads.
    Connection c(memory_);
    c.pre = pre;
    c.post = post;
    c.kind = SNN_CONNECTION_SPARSE;
    c.row_ptr.reserve(static_cast<std::size_t>(n_pre + 1));
    c.row_ptr.push_back(0);
    const double log_q = p < 1.0 ? std::log1p(-p) : 0.0;
    for (int64_t i = 0; i < n_pre; ++i) {
        if (p >= 1.0) {
            for (int64_t j = 0; j < n_post; ++j) c.post_index.push_back(static_cast<int32_t>(j));
        } else if (p > 0.0) {
            int64_t j = -1;
            for (uint64_t draw = 0;; ++draw) {
                Philox4x32 w = random_words(seed, kStreamConnectRandom, 0, draw, static_cast<uint32_t>(i));
                double u = uniform_double(w.v[0], w.v[1]);
                double gap = std::floor(std::log1p(-u) / log_q);  // >= 0
                if (gap >= static_cast<double>(n_post - j)) break;
                j += 1 + static_cast<int64_t>(gap);
                if (j >= n_post) break;
                c.post_index.push_back(static_cast<int32_t>(j));
            }
        }
        c.row_ptr.push_back(static_cast<int64_t>(c.post_index.size()));
    }
    c.weights.assign(c.post_index.size(), weight);
    return add_connection(std::move(c), o);
}

int32_t Network::connect_one_to_one(int32_t pre, int32_t post, const float* weights, int64_t count, float weight,
                                    const snn_connection_options& o) {
    check_buildable("connect_one_to_one");
    endpoint(pre, "pre");
    endpoint(post, "post");
    const int64_t n = population(pre).size;
    if (population(post).size != n)
        throw fail(SNN_SHAPE, "post: one-to-one needs equal sizes (pre has %lld neurons, post %lld)", static_cast<long long>(n),
                   static_cast<long long>(population(post).size));
    Connection c(memory_);
    c.pre = pre;
    c.post = post;
    c.kind = SNN_CONNECTION_ONE_TO_ONE;
    if (weights) {
        if (count != n) throw fail(SNN_SHAPE, "weights: %lld values given for %lld neurons", static_cast<long long>(count), static_cast<long long>(n));
        check_finite(weights, count, "weights");
        c.weights.assign(weights, weights + count);
    } else {
        if (count != 0) throw fail(SNN_INVALID_ARGUMENT, "weights: NULL with count %lld (use count 0 and `weight`)", static_cast<long long>(count));
        check_finite(weight, "weight");
        c.weights.assign(static_cast<std::size_t>(n), weight);
    }
    return add_connection(std::move(c), o);
}

namespace {
// The geometry checked and its output sizes derived.
ConvShape conv_shape_of(const snn_conv2d_geometry& g) {
    auto positive = [](int32_t value, const char* what) {
        if (value < 1 || value > (1 << 20)) throw fail(SNN_INVALID_ARGUMENT, "geometry.%s: %d; expected 1 to 2^20", what, value);
    };
    positive(g.in_channels, "in_channels");
    positive(g.in_height, "in_height");
    positive(g.in_width, "in_width");
    positive(g.out_channels, "out_channels");
    positive(g.kernel_height, "kernel_height");
    positive(g.kernel_width, "kernel_width");
    positive(g.stride_y, "stride_y");
    positive(g.stride_x, "stride_x");
    if (g.padding_y < 0 || g.padding_y >= g.kernel_height || g.padding_x < 0 || g.padding_x >= g.kernel_width)
        throw fail(SNN_INVALID_ARGUMENT, "geometry.padding_y/padding_x: %d, %d; expected 0 to the kernel's size - 1", g.padding_y,
                   g.padding_x);
    if (g.bias != 0 && g.bias != 1) throw fail(SNN_INVALID_ARGUMENT, "geometry.bias: %d; expected 0 or 1", g.bias);
    if (g.pool < SNN_POOL_NONE || g.pool > SNN_POOL_SUM)
        throw fail(SNN_INVALID_ARGUMENT, "geometry.pool: %d is not an SNN_POOL_*", g.pool);
    ConvShape s;
    s.in_c = g.in_channels;
    s.in_h = g.in_height;
    s.in_w = g.in_width;
    s.out_c = g.out_channels;
    s.kh = g.kernel_height;
    s.kw = g.kernel_width;
    s.sy = g.stride_y;
    s.sx = g.stride_x;
    s.py = g.padding_y;
    s.px = g.padding_x;
    s.bias = g.bias != 0;
    s.pool = static_cast<Pool>(g.pool);
    const int64_t conv_h = (int64_t(s.in_h) + 2 * s.py - s.kh) / s.sy + 1, conv_w = (int64_t(s.in_w) + 2 * s.px - s.kw) / s.sx + 1;
    if (int64_t(s.in_h) + 2 * s.py < s.kh || int64_t(s.in_w) + 2 * s.px < s.kw)
        throw fail(SNN_SHAPE, "geometry: a %d x %d kernel does not fit the %d x %d input (padding %d, %d)", s.kh, s.kw, s.in_h, s.in_w,
                   s.py, s.px);
    s.conv_h = static_cast<int32_t>(conv_h);
    s.conv_w = static_cast<int32_t>(conv_w);
    if (s.pool != Pool::None) {
        if (g.pool_height < 1 || g.pool_width < 1 || int64_t(g.pool_height) * g.pool_width > 256)
            throw fail(SNN_INVALID_ARGUMENT, "geometry.pool_height/pool_width: %d x %d; expected at least 1 x 1 and at most 256 cells",
                       g.pool_height, g.pool_width);
        if (g.pool_stride_y < 0 || g.pool_stride_x < 0)
            throw fail(SNN_INVALID_ARGUMENT, "geometry.pool_stride_y/pool_stride_x: %d, %d; expected >= 0 (0: the pool's size)",
                       g.pool_stride_y, g.pool_stride_x);
        s.ph = g.pool_height;
        s.pw = g.pool_width;
        s.psy = g.pool_stride_y ? g.pool_stride_y : s.ph;
        s.psx = g.pool_stride_x ? g.pool_stride_x : s.pw;
        if (s.ph > s.conv_h || s.pw > s.conv_w)
            throw fail(SNN_SHAPE, "geometry: a %d x %d pool does not fit the %d x %d convolution output", s.ph, s.pw, s.conv_h, s.conv_w);
    }
    s.out_h = (s.conv_h - s.ph) / s.psy + 1;
    s.out_w = (s.conv_w - s.pw) / s.psx + 1;
    return s;
}

void check_shape(const Population& pop, int32_t c, int32_t h, int32_t w, const char* what) {
    if (pop.size != int64_t(c) * h * w)
        throw fail(SNN_SHAPE, "%s: population \"%s\" has %lld neurons; the geometry needs %d x %d x %d = %lld", what, pop.name.c_str(),
                   static_cast<long long>(pop.size), c, h, w, static_cast<long long>(int64_t(c) * h * w));
    if (pop.shape.size() == 3 && (pop.shape[0] != c || pop.shape[1] != h || pop.shape[2] != w))
        throw fail(SNN_SHAPE, "%s: population \"%s\" has shape [%lld, %lld, %lld]; the geometry needs [%d, %d, %d]", what, pop.name.c_str(),
                   static_cast<long long>(pop.shape[0]), static_cast<long long>(pop.shape[1]), static_cast<long long>(pop.shape[2]), c, h, w);
}
}  // namespace

snn_conv2d_geometry conv2d_geometry(const ConvShape& s) {
    snn_conv2d_geometry g{};
    g.struct_size = sizeof g;
    g.in_channels = s.in_c;
    g.in_height = s.in_h;
    g.in_width = s.in_w;
    g.out_channels = s.out_c;
    g.kernel_height = s.kh;
    g.kernel_width = s.kw;
    g.stride_y = s.sy;
    g.stride_x = s.sx;
    g.padding_y = s.py;
    g.padding_x = s.px;
    g.bias = s.bias ? 1 : 0;
    g.pool = static_cast<int32_t>(s.pool);
    if (s.pool != Pool::None) {
        g.pool_height = s.ph;
        g.pool_width = s.pw;
        g.pool_stride_y = s.psy;
        g.pool_stride_x = s.psx;
    }
    return g;
}

int32_t Network::connect_conv2d(int32_t pre, int32_t post, const snn_conv2d_geometry& geometry, const float* weights, int64_t count,
                                const snn_connection_options& o) {
    check_buildable("connect_conv2d");
    endpoint(pre, "pre");
    endpoint(post, "post");
    const ConvShape s = conv_shape_of(geometry);
    check_shape(population(pre), s.in_c, s.in_h, s.in_w, "pre");
    check_shape(population(post), s.out_c, s.out_h, s.out_w, "post");
    if (!weights) throw fail(SNN_INVALID_ARGUMENT, "weights: is NULL");
    if (count != s.weight_count())
        throw fail(SNN_SHAPE, "weights: %lld values given; the kernel [%d, %d, %d, %d]%s has %lld", static_cast<long long>(count), s.out_c,
                   s.in_c, s.kh, s.kw, s.bias ? " and its biases" : "", static_cast<long long>(s.weight_count()));
    check_finite(weights, count, "weights");
    Connection c(memory_);
    c.pre = pre;
    c.post = post;
    c.kind = SNN_CONNECTION_CONV2D;
    c.conv = s;
    c.weights.assign(weights, weights + count);
    return add_connection(std::move(c), o);
}

// ---------------------------------------------------------------------------
// Parameters

void Network::set_param(int32_t pop_id, std::string_view name, double value) {
    Population& pop = mutable_population(pop_id);
    int index = pop.neuron_model().param_index(name);
    if (index < 0)
        throw fail(SNN_NOT_FOUND, "name: model \"%s\" has no numeric parameter \"%.*s\"", pop.neuron_model().name,
                   static_cast<int>(name.size()), name.data());
    check_param_value(pop.neuron_model(), index, value);
    auto& values = pop.params[static_cast<std::size_t>(index)];
    std::fill(values.begin(), values.end(), static_cast<float>(value));
    if (engine_) engine_->parameters_changed();
}

void Network::set_param_array(int32_t pop_id, std::string_view name, const float* values, int64_t count) {
    Population& pop = mutable_population(pop_id);
    int index = pop.neuron_model().param_index(name);
    if (index < 0)
        throw fail(SNN_NOT_FOUND, "name: model \"%s\" has no numeric parameter \"%.*s\"", pop.neuron_model().name,
                   static_cast<int>(name.size()), name.data());
    if (!values) throw fail(SNN_INVALID_ARGUMENT, "values: is NULL");
    if (count != pop.size)
        throw fail(SNN_SHAPE, "values: %lld given for %lld neurons", static_cast<long long>(count), static_cast<long long>(pop.size));
    for (int64_t i = 0; i < count; ++i) check_param_value(pop.neuron_model(), index, values[i]);
    pop.params[static_cast<std::size_t>(index)].assign(values, values + count);
    if (engine_) engine_->parameters_changed();
}

const pvector<float>& Network::param(int32_t pop_id, std::string_view name) const {
    const Population& pop = population(pop_id);
    int index = pop.neuron_model().param_index(name);
    if (index < 0)
        throw fail(SNN_NOT_FOUND, "name: model \"%s\" has no numeric parameter \"%.*s\"", pop.neuron_model().name,
                   static_cast<int>(name.size()), name.data());
    return pop.params[static_cast<std::size_t>(index)];
}

void Network::set_option(int32_t pop_id, std::string_view name, std::string_view value) {
    Population& pop = mutable_population(pop_id);
    const NeuronModel& m = pop.neuron_model();
    int index = m.option_index(name);
    if (index < 0)
        throw fail(SNN_NOT_FOUND, "name: model \"%s\" has no option \"%.*s\"", m.name, static_cast<int>(name.size()), name.data());
    const StringParam& spec = m.options[static_cast<std::size_t>(index)];
    if (name == "wta_k") {  // a whole number, not a choice
        char* end = nullptr;
        const std::string text(value);
        const long long k = std::strtoll(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || k < 1 || k > pop.size)
            throw fail(SNN_INVALID_ARGUMENT, "value: option \"wta_k\" takes a whole number from 1 to %lld (got \"%.*s\")",
                       static_cast<long long>(pop.size), static_cast<int>(value.size()), value.data());
        pop.options[static_cast<std::size_t>(index)].assign(value.data(), value.size());
        if (engine_) engine_->parameters_changed();
        return;
    }
    if (name == "wta") {
        check_buildable("wta");
        if (value == "position" && pop.shape.size() != 3)
            throw fail(SNN_INVALID_ARGUMENT, "value: wta \"position\" needs a (C, H, W) population; \"%s\" has %zu dimensions",
                       pop.name.c_str(), pop.shape.size());
    }
    // The value must be one of the '|'-separated choices.
    std::string_view choices(spec.choices);
    bool ok = false;
    while (!choices.empty()) {
        std::size_t bar = choices.find('|');
        if (choices.substr(0, bar) == value) ok = true;
        if (bar == std::string_view::npos) break;
        choices.remove_prefix(bar + 1);
    }
    if (!ok)
        throw fail(SNN_INVALID_ARGUMENT, "value: option \"%s\" takes one of %s (got \"%.*s\")", spec.name, spec.choices,
                   static_cast<int>(value.size()), value.data());
    pop.options[static_cast<std::size_t>(index)].assign(value.data(), value.size());
    if (engine_) engine_->parameters_changed();
}

const char* Network::option(int32_t pop_id, std::string_view name) const {
    const Population& pop = population(pop_id);
    int index = pop.neuron_model().option_index(name);
    if (index < 0)
        throw fail(SNN_NOT_FOUND, "name: model \"%s\" has no option \"%.*s\"", pop.neuron_model().name,
                   static_cast<int>(name.size()), name.data());
    return pop.options[static_cast<std::size_t>(index)].c_str();
}

void Network::set_connection_param(int32_t conn_id, std::string_view name, double value) {
    Connection& c = mutable_connection(conn_id);
    int index = c.synapse_model().param_index(name);
    if (index >= 0) {
        check_finite(value, c.synapse_model().params[static_cast<std::size_t>(index)].name);
        if (name == "tau" && !(value > 0.0)) throw fail(SNN_INVALID_ARGUMENT, "tau: must be > 0 (got %g)", value);
        c.syn_params[static_cast<std::size_t>(index)] = static_cast<float>(value);  // float32, like every parameter
        if (engine_) engine_->parameters_changed();
        return;
    }
    index = c.plastic() ? c.plasticity_model().param_index(name) : -1;
    if (index < 0)
        throw fail(SNN_NOT_FOUND, "name: connection \"%s\" (synapse \"%s\", plasticity \"%s\") has no parameter \"%.*s\"", c.name.c_str(),
                   c.synapse_model().name, c.plastic() ? c.plasticity_model().name : "none", static_cast<int>(name.size()), name.data());
    const char* pname = c.plasticity_model().params[static_cast<std::size_t>(index)].name;
    check_finite(value, pname);
    const std::string_view n(pname);
    if (n.substr(0, 3) == "tau" && !(value > 0.0)) throw fail(SNN_INVALID_ARGUMENT, "%s: must be > 0 (got %g)", pname, value);
    if ((n.substr(0, 2) == "mu" || n == "norm") && !(value >= 0.0))
        throw fail(SNN_INVALID_ARGUMENT, "%s: must be >= 0 (got %g)", pname, value);
    if (n == "learn_limit" && !(value >= 0.0 && value <= 16777216.0 && value == std::floor(value)))
        throw fail(SNN_INVALID_ARGUMENT, "learn_limit: must be a whole number from 0 to 2^24 (got %g)", value);
    if (n == "norm_interval" && !(value >= 1.0 && value <= 16777216.0 && value == std::floor(value)))
        throw fail(SNN_INVALID_ARGUMENT, "norm_interval: must be a whole number of steps from 1 to 2^24 (got %g)", value);
    const float v = static_cast<float>(value);
    if (n == "w_min" && !(v < c.plastic_params[plastic_param::w_max]))
        throw fail(SNN_INVALID_ARGUMENT, "w_min: must be below w_max = %g (got %g); set w_max first", c.plastic_params[plastic_param::w_max], value);
    if (n == "w_max" && !(v > c.plastic_params[plastic_param::w_min]))
        throw fail(SNN_INVALID_ARGUMENT, "w_max: must be above w_min = %g (got %g); set w_min first", c.plastic_params[plastic_param::w_min], value);
    c.plastic_params[static_cast<std::size_t>(index)] = v;  // the learner reads them every step
}

double Network::connection_param(int32_t conn_id, std::string_view name) const {
    const Connection& c = connection(conn_id);
    int index = c.synapse_model().param_index(name);
    if (index >= 0) return c.syn_params[static_cast<std::size_t>(index)];
    index = c.plastic() ? c.plasticity_model().param_index(name) : -1;
    if (index < 0)
        throw fail(SNN_NOT_FOUND, "name: connection \"%s\" (synapse \"%s\", plasticity \"%s\") has no parameter \"%.*s\"", c.name.c_str(),
                   c.synapse_model().name, c.plastic() ? c.plasticity_model().name : "none", static_cast<int>(name.size()), name.data());
    return c.plastic_params[static_cast<std::size_t>(index)];
}

namespace {
[[noreturn]] void no_connection_option(const Connection& c, std::string_view name) {
    throw fail(SNN_NOT_FOUND, "name: connection \"%s\" has no option \"%.*s\" (weight_dtype, plasticity%s)", c.name.c_str(),
               static_cast<int>(name.size()), name.data(), c.plastic() ? ", learning and its rule's options" : "");
}
}  // namespace

void Network::set_plasticity(Connection& c, std::string_view value) {
    check_buildable("plasticity");
    if (value == "none") {
        c.plasticity = -1;
        c.plastic_params.clear();
        c.plastic_options.clear();
        return;
    }
    const int rule = find_plasticity_model(value);
    if (rule < 0)
        throw fail(SNN_NOT_FOUND, "value: unknown plasticity rule \"%.*s\" (none, or see snn_model_list(SNN_MODEL_PLASTICITY))",
                   static_cast<int>(value.size()), value.data());
    const Population& pre = population(c.pre);
    if (c.kind == SNN_CONNECTION_CONV2D && c.conv.pool != Pool::None)
        throw fail(SNN_UNSUPPORTED, "plasticity: conv2d connection \"%s\" pools; learning rules run on conv2d connections without pooling "
                   "(pool with a connection of its own after the plastic one)", c.name.c_str());
    if (c.has_synapse_delays())
        throw fail(SNN_UNSUPPORTED, "plasticity: connection \"%s\" has per-synapse delays; learning rules need one delay per connection",
                   c.name.c_str());
    if (c.bfloat16) throw fail(SNN_INVALID_ARGUMENT, "plasticity: connection \"%s\" has bfloat16 weights; plastic weights are float32", c.name.c_str());
    if (!pre.neuron_model().spiking)
        throw fail(SNN_INVALID_ARGUMENT, "plasticity: the presynaptic population \"%s\" (%s) does not spike", pre.name.c_str(),
                   pre.neuron_model().name);
    const PlasticityModel& m = plasticity_models()[static_cast<std::size_t>(rule)];
    pvector<double> params(memory_);
    pvector<pstring> options(memory_);
    for (const NumberParam& p : m.params) params.push_back(static_cast<float>(p.default_value));
    for (const StringParam& o : m.options) options.emplace_back(o.default_value);
    c.plasticity = rule;
    c.plastic_params.swap(params);
    c.plastic_options.swap(options);
    c.learning = true;
}

void Network::set_connection_option(int32_t conn_id, std::string_view name, std::string_view value) {
    Connection& c = mutable_connection(conn_id);
    if (name == "weight_dtype") {
        const bool bfloat16 = weight_dtype_is_bfloat16(value, "value");
        if (bfloat16 && c.plastic())
            throw fail(SNN_INVALID_ARGUMENT, "value: connection \"%s\" is plastic; its weights stay float32", c.name.c_str());
        if (bfloat16 && !c.bfloat16) {
            pvector<float> rounded(c.weights, memory_);  // all or nothing: a weight may be too large
            round_weights(rounded, "weights");
            c.weights.swap(rounded);
        }
        c.bfloat16 = bfloat16;
        if (engine_) engine_->parameters_changed();
        return;
    }
    if (name == "plasticity") {
        set_plasticity(c, value);
        return;
    }
    if (!c.plastic()) no_connection_option(c, name);
    if (name == "learning") {
        if (value != "on" && value != "off")
            throw fail(SNN_INVALID_ARGUMENT, "value: option \"learning\" takes on|off (got \"%.*s\")", static_cast<int>(value.size()), value.data());
        c.learning = value == "on";
        return;
    }
    const PlasticityModel& m = c.plasticity_model();
    const int index = m.option_index(name);
    if (index < 0) no_connection_option(c, name);
    check_buildable(m.options[static_cast<std::size_t>(index)].name);
    const std::string_view choices = m.options[static_cast<std::size_t>(index)].choices;
    if (!choices.empty()) {
        bool ok = false;
        for (std::size_t at = 0; at <= choices.size();) {
            std::size_t end = choices.find('|', at);
            if (end == std::string_view::npos) end = choices.size();
            ok = ok || choices.substr(at, end - at) == value;
            at = end + 1;
        }
        if (!ok)
            throw fail(SNN_INVALID_ARGUMENT, "value: option \"%.*s\" takes one of %s (got \"%.*s\")", static_cast<int>(name.size()), name.data(),
                       m.options[static_cast<std::size_t>(index)].choices, static_cast<int>(value.size()), value.data());
    }
    if (name == "learn_once" && value == "channel" && population(c.post).shape.size() != 3) {
        throw fail(SNN_INVALID_ARGUMENT, "value: learn_once \"channel\" needs a (C, H, W) postsynaptic population; \"%s\" has %zu dimensions",
                   population(c.post).name.c_str(), population(c.post).shape.size());
    }
    if (name == "modulator") {
        const int32_t mod = find_population(value);
        if (mod < 0)
            throw fail(SNN_NOT_FOUND, "value: no population \"%.*s\" to be the modulator", static_cast<int>(value.size()), value.data());
        const Population& p = population(mod);
        const int64_t n_post = population(c.post).size;
        if (p.neuron_model().kind != NeuronKind::Modulator || (p.size != 1 && (p.size != n_post || c.kind == SNN_CONNECTION_CONV2D)))
            throw fail(SNN_INVALID_ARGUMENT,
                       "value: the modulator \"%s\" must be a population of model \"modulator\" with 1 or %lld (postsynaptic) neurons",
                       p.name.c_str(), static_cast<long long>(n_post));
    }
    c.plastic_options[static_cast<std::size_t>(index)].assign(value.data(), value.size());
}

const char* Network::connection_option(int32_t conn_id, std::string_view name) const {
    const Connection& c = connection(conn_id);
    if (name == "weight_dtype") return c.bfloat16 ? "bfloat16" : "float32";
    if (name == "plasticity") return c.plastic() ? c.plasticity_model().name : "none";
    if (!c.plastic()) no_connection_option(c, name);
    if (name == "learning") return c.learning ? "on" : "off";
    const int index = c.plasticity_model().option_index(name);
    if (index < 0) no_connection_option(c, name);
    return c.plastic_options[static_cast<std::size_t>(index)].c_str();
}

void Network::set_weights(int32_t conn_id, const float* weights, int64_t count) {
    Connection& c = mutable_connection(conn_id);
    if (!weights) throw fail(SNN_INVALID_ARGUMENT, "weights: is NULL");
    if (count != c.nnz())
        throw fail(SNN_SHAPE, "weights: %lld values given; connection \"%s\" has %lld", static_cast<long long>(count), c.name.c_str(),
                   static_cast<long long>(c.nnz()));
    check_finite(weights, count, "weights");
    if (c.bfloat16) {
        pvector<float> rounded(weights, weights + count, memory_);
        round_weights(rounded, "weights");
        std::copy(rounded.begin(), rounded.end(), c.weights.begin());
    } else {
        std::copy(weights, weights + count, c.weights.begin());
    }
    if (engine_) engine_->parameters_changed();
}

// ---------------------------------------------------------------------------
// State

int Network::var_index(Owner owner, int32_t id, std::string_view var) const {
    if (owner == Owner::Population) {
        const Population& pop = population(id);
        int index = pop.neuron_model().state_index(var);
        if (index < 0)
            throw fail(SNN_NOT_FOUND, "var: model \"%s\" has no state variable \"%.*s\"", pop.neuron_model().name,
                       static_cast<int>(var.size()), var.data());
        return index;
    }
    const Connection& c = connection(id);
    const auto& vars = c.synapse_model().state_vars;
    if (!vars.empty() && var == vars[0]) return 0;
    const int plastic = c.plastic() ? c.plasticity_model().state_index(var) : -1;
    if (plastic >= 0) return kPlasticVar + plastic;
    throw fail(SNN_NOT_FOUND, "var: connection \"%s\" (synapse \"%s\", plasticity \"%s\") has no state variable \"%.*s\"", c.name.c_str(),
               c.synapse_model().name, c.plastic() ? c.plasticity_model().name : "none", static_cast<int>(var.size()), var.data());
}

int64_t Network::state_size(Owner owner, int32_t id) const {
    return owner == Owner::Population ? population(id).size : population(connection(id).post).size;
}

int64_t Network::state_size(Owner owner, int32_t id, int var) const {
    if (owner == Owner::Population || var < kPlasticVar) return state_size(owner, id);
    const Connection& c = connection(id);
    switch (c.plasticity_model().state_vars[static_cast<std::size_t>(var - kPlasticVar)].side) {
        case TraceSide::Pre: return population(c.pre).size;
        case TraceSide::Post: return population(c.post).size;
        default: return c.nnz();
    }
}

InitialVar& Network::initial_var(Owner owner, int32_t id, int var) {
    return owner == Owner::Population ? pop_io_[static_cast<std::size_t>(id)].initial[static_cast<std::size_t>(var)]
                                      : conn_io_[static_cast<std::size_t>(id)].initial;
}
const InitialVar& Network::initial_var(Owner owner, int32_t id, int var) const {
    return const_cast<Network*>(this)->initial_var(owner, id, var);
}

// The model's initial value of a variable for one instance (docs/models.md).
void Network::default_initial(Owner owner, int32_t id, int var, float* out) const {
    const int64_t n = state_size(owner, id);
    if (owner == Owner::Connection) {
        std::fill(out, out + n, 0.0f);
        return;
    }
    const Population& pop = population(id);
    const NeuronModel& m = pop.neuron_model();
    std::string_view name(m.state_vars[static_cast<std::size_t>(var)]);
    auto p = [&](const char* param) { return pop.params[static_cast<std::size_t>(m.param_index(param))]; };
    if (m.kind == NeuronKind::Izhikevich) {
        const auto& c = p("c");
        const auto& b = p("b");
        for (int64_t j = 0; j < n; ++j) out[j] = name == "v" ? c[j] : b[j] * c[j];
    } else if (name == "v" && m.kind != NeuronKind::Leaky) {
        const auto& v0 = p(m.kind == NeuronKind::IF ? "v_reset" : "v_rest");
        std::copy(v0.begin(), v0.end(), out);
    } else {
        std::fill(out, out + n, 0.0f);
    }
}

void Network::initial_state(Owner owner, int32_t id, int var, float* out) const {
    const InitialVar& iv = initial_var(owner, id, var);
    const int64_t n = state_size(owner, id);
    if (iv.written) {
        std::copy(iv.values.begin(), iv.values.begin() + batch_ * n, out);
        return;
    }
    default_initial(owner, id, var, out);
    for (int32_t b = 1; b < batch_; ++b) std::copy(out, out + n, out + b * n);
}

void Network::set_initial_state(Owner owner, int32_t id, int var, const float* values) {
    InitialVar& iv = initial_var(owner, id, var);
    const int64_t n = state_size(owner, id);
    iv.values.assign(values, values + batch_ * n);
    iv.written = true;
    if (engine_) engine_->write_state(owner, id, var, values);
}

void Network::read_state(Owner owner, int32_t id, int var, float* out) const {
    if (owner == Owner::Connection && var >= kPlasticVar) {  // traces: zero until the first step
        if (learner_)
            learner_->read(id, var - kPlasticVar, out);
        else
            std::fill_n(out, batch_ * state_size(owner, id, var), 0.0f);
        return;
    }
    if (engine_)
        engine_->read_state(owner, id, var, out);
    else
        initial_state(owner, id, var, out);
}

void Network::write_state(Owner owner, int32_t id, int var, const float* values, int64_t count) {
    const int64_t n = state_size(owner, id, var);
    if (!values) throw fail(SNN_INVALID_ARGUMENT, "values: is NULL");
    if (count != n && count != batch_ * n)
        throw fail(SNN_SHAPE, "values: %lld given; expected n = %lld or batch x n = %lld", static_cast<long long>(count),
                   static_cast<long long>(n), static_cast<long long>(batch_ * n));
    check_finite(values, count, "values");
    pvector<float> full(memory_);
    full.resize(static_cast<std::size_t>(batch_ * n));
    for (int32_t b = 0; b < batch_; ++b) std::copy(values + (count == n ? 0 : b * n), values + (count == n ? 0 : b * n) + n, full.begin() + b * n);
    if (owner == Owner::Connection && var >= kPlasticVar) {
        if (!learner_)
            throw fail(SNN_STATE, "var: the traces of connection \"%s\" start at zero in the first step; write them after it",
                       connection(id).name.c_str());
        learner_->write(id, var - kPlasticVar, full.data());
        return;
    }
    if (engine_)
        engine_->write_state(owner, id, var, full.data());
    else
        set_initial_state(owner, id, var, full.data());
}

void Network::randomize_state(Owner owner, int32_t id, int var, int32_t distribution, double a, double b, uint64_t seed) {
    check_finite(a, "a");
    check_finite(b, "b");
    if (distribution == SNN_DIST_UNIFORM) {
        if (!(b >= a)) throw fail(SNN_INVALID_ARGUMENT, "b: the upper bound %g is below the lower bound %g", b, a);
    } else if (distribution == SNN_DIST_NORMAL) {
        if (!(b >= 0.0)) throw fail(SNN_INVALID_ARGUMENT, "b: the standard deviation %g is negative", b);
    } else {
        throw fail(SNN_INVALID_ARGUMENT, "distribution: %d is not an SNN_DIST_* value", distribution);
    }
    const int64_t n = state_size(owner, id, var);
    pvector<float> values(memory_);
    values.resize(static_cast<std::size_t>(batch_ * n));
    // Keyed by (seed, instance, neuron): the same seed gives the same values
    // whatever the batch, and instance b's values do not depend on others.
    for (int32_t bi = 0; bi < batch_; ++bi)
        for (int64_t j = 0; j < n; ++j) {
            Philox4x32 w = random_words(seed, kStreamRandomizeState, static_cast<uint32_t>(bi), static_cast<uint64_t>(j) >> 32,
                                        static_cast<uint32_t>(j));
            double x = distribution == SNN_DIST_UNIFORM ? a + (b - a) * uniform_double(w.v[0], w.v[1])
                                                        : a + b * standard_normal(w);
            values[static_cast<std::size_t>(bi * n + j)] = static_cast<float>(x);
        }
    write_state(owner, id, var, values.data(), batch_ * n);
}

void Network::read_spikes(int32_t pop_id, uint8_t* out) const {
    const int64_t n = population(pop_id).size;
    if (!engine_) {
        std::fill(out, out + batch_ * n, uint8_t(0));
        return;
    }
    const uint8_t* s = engine_->spikes(pop_id);
    std::copy(s, s + batch_ * n, out);
}

float* Network::state_data(int32_t pop_id, int var) {
    population(pop_id);
    freeze();
    return engine_->state_data(Owner::Population, pop_id, var);
}

// ---------------------------------------------------------------------------
// Inputs and outputs

namespace {

// Checks a caller's tensor and copies its descriptor. `n` neurons, `batch`
// instances; allow_whole_run accepts [steps, batch, n].
void bind_tensor(const snn_tensor& t, int64_t batch, int64_t n, bool allow_whole_run, BoundTensor* out, const char* what) {
    if (!t.data) throw fail(SNN_INVALID_ARGUMENT, "%s: data is NULL", what);
    if (t.device_type != SNN_DEVICE_CPU && t.device_type != 0)
        throw fail(SNN_UNSUPPORTED, "%s: only host memory (SNN_DEVICE_CPU) can be bound", what);
    if (dtype_size(t.dtype) == 0) throw fail(SNN_INVALID_ARGUMENT, "%s: dtype %d is not an SNN_DTYPE_* value", what, t.dtype);
    if (!t.shape) throw fail(SNN_INVALID_ARGUMENT, "%s: shape is NULL", what);
    const bool whole_run = t.ndim == 3;
    if (!(t.ndim == 2 || (allow_whole_run && t.ndim == 3)))
        throw fail(SNN_SHAPE, "%s: must be [batch, n]%s (got %d dimensions)", what, allow_whole_run ? " or [steps, batch, n]" : "", t.ndim);
    const int64_t* shape = t.shape + (whole_run ? 1 : 0);
    if (shape[0] != batch || shape[1] != n)
        throw fail(SNN_SHAPE, "%s: shape [..., %lld, %lld] does not match batch %lld and n %lld", what,
                   static_cast<long long>(shape[0]), static_cast<long long>(shape[1]), static_cast<long long>(batch),
                   static_cast<long long>(n));
    if (whole_run && t.shape[0] < 1) throw fail(SNN_SHAPE, "%s: steps must be >= 1", what);
    BoundTensor b;
    b.tensor = t;
    b.whole_run = whole_run;
    for (int32_t d = 0; d < t.ndim; ++d) b.shape[d] = t.shape[d];
    if (t.strides) {
        for (int32_t d = 0; d < t.ndim; ++d) b.strides[d] = t.strides[d];
    } else {
        int64_t s = 1;
        for (int32_t d = t.ndim - 1; d >= 0; --d) {
            b.strides[d] = s;
            s *= t.shape[d];
        }
    }
    b.tensor.shape = nullptr;   // shape/strides live in b; the caller's arrays may go away
    b.tensor.strides = nullptr;
    b.active = true;
    *out = b;
}

InputView slice(const BoundTensor& b, int64_t run_index) {
    InputView v;
    const int64_t* strides = b.strides + (b.whole_run ? 1 : 0);
    int64_t offset = b.whole_run ? run_index * b.strides[0] : 0;
    v.data = static_cast<const char*>(b.tensor.data) + offset * dtype_size(b.tensor.dtype);
    v.dtype = b.tensor.dtype;
    v.batch_stride = strides[0];
    v.neuron_stride = strides[1];
    return v;
}

}  // namespace

void Network::set_input(int32_t pop_id, const snn_tensor& input) {
    const Population& pop = population(pop_id);
    if (!pop.neuron_model().is_input && !pop.neuron_model().takes_input)
        throw fail(SNN_INVALID_ARGUMENT, "population: \"%s\" (%s) is not a source and takes no input", pop.name.c_str(),
                   pop.neuron_model().name);
    BoundTensor b;
    bind_tensor(input, batch_, pop.size, false, &b, "input");
    InputView view = slice(b, 0);
    // Check every value before touching the previous input: a refused call changes nothing.
    for (int32_t bi = 0; bi < batch_; ++bi)
        for (int64_t j = 0; j < pop.size; ++j) {
            float x = input_value(view.data, view.dtype, bi * view.batch_stride + j * view.neuron_stride);
            if (!std::isfinite(x))
                throw fail(SNN_INVALID_ARGUMENT, "input: element [%d, %lld] is not finite", bi, static_cast<long long>(j));
            if (pop.neuron_model().kind == NeuronKind::Poisson && x < 0.0f)
                throw fail(SNN_INVALID_ARGUMENT, "input: rate [%d, %lld] is negative", bi, static_cast<long long>(j));
        }
    PopulationIO& io = pop_io_[static_cast<std::size_t>(pop_id)];
    if (pop.neuron_model().takes_input) scratch_.resize(std::max(scratch_.size(), static_cast<std::size_t>(batch_ * pop.size)));
    io.copied_input.resize(static_cast<std::size_t>(batch_ * pop.size));
    for (int32_t bi = 0; bi < batch_; ++bi)
        for (int64_t j = 0; j < pop.size; ++j)
            io.copied_input[static_cast<std::size_t>(bi * pop.size + j)] =
                input_value(view.data, view.dtype, bi * view.batch_stride + j * view.neuron_stride);
    io.has_copied_input = true;
}

void Network::bind_input(int32_t pop_id, const snn_tensor& buffer) {
    const Population& pop = population(pop_id);
    if (!pop.neuron_model().is_input && !pop.neuron_model().takes_input)
        throw fail(SNN_INVALID_ARGUMENT, "population: \"%s\" (%s) is not a source and takes no input", pop.name.c_str(),
                   pop.neuron_model().name);
    BoundTensor b;
    bind_tensor(buffer, batch_, pop.size, true, &b, "buffer");
    PopulationIO& io = pop_io_[static_cast<std::size_t>(pop_id)];
    if (pop.neuron_model().takes_input) scratch_.resize(std::max(scratch_.size(), static_cast<std::size_t>(batch_ * pop.size)));
    io.bound_input.release();
    io.bound_input = b;
}

void Network::unbind_input(int32_t pop_id) {
    population(pop_id);
    pop_io_[static_cast<std::size_t>(pop_id)].bound_input.release();
}

void Network::bind_output(int32_t pop_id, std::string_view var, const snn_tensor& buffer) {
    const Population& pop = population(pop_id);
    int index = var == "spikes" ? kSpikesVar : var_index(Owner::Population, pop_id, var);
    if (index == kSpikesVar) {
        if (buffer.dtype != SNN_DTYPE_UINT8 && buffer.dtype != SNN_DTYPE_BOOL && buffer.dtype != SNN_DTYPE_FLOAT32)
            throw fail(SNN_INVALID_ARGUMENT, "buffer: spikes are recorded as uint8, bool or float32 (dtype %d given)", buffer.dtype);
    } else if (buffer.dtype != SNN_DTYPE_FLOAT32) {
        throw fail(SNN_INVALID_ARGUMENT, "buffer: state variables are recorded as float32 (dtype %d given)", buffer.dtype);
    }
    OutputBinding binding;
    binding.var = index;
    bind_tensor(buffer, batch_, pop.size, true, &binding.buffer, "buffer");
    PopulationIO& io = pop_io_[static_cast<std::size_t>(pop_id)];
    // Allocate before binding, so a failure leaves nothing bound.
    scratch_.resize(std::max(scratch_.size(), static_cast<std::size_t>(batch_ * pop.size)));
    reserve_one(io.outputs);
    for (OutputBinding& existing : io.outputs)
        if (existing.var == index) {
            existing.buffer.release();
            existing = binding;
            return;
        }
    io.outputs.push_back(binding);
}

void Network::unbind_output(int32_t pop_id, std::string_view var) {
    population(pop_id);
    int index = var == "spikes" ? kSpikesVar : var_index(Owner::Population, pop_id, var);
    PopulationIO& io = pop_io_[static_cast<std::size_t>(pop_id)];
    for (std::size_t k = 0; k < io.outputs.size(); ++k)
        if (io.outputs[k].var == index) {
            io.outputs[k].buffer.release();
            io.outputs.erase(io.outputs.begin() + static_cast<std::ptrdiff_t>(k));
            return;
        }
    throw fail(SNN_NOT_FOUND, "var: no output \"%.*s\" is bound on population \"%s\"", static_cast<int>(var.size()), var.data(),
               population(pop_id).name.c_str());
}

void Network::set_learning_callback(int32_t conn_id, snn_learning_fn fn, void* user_data) {
    const Connection& c = connection(conn_id);
    if (fn && !c.plastic())
        throw fail(SNN_INVALID_ARGUMENT, "connection: \"%s\" has no learning rule (option plasticity)", c.name.c_str());
    ConnectionIO& io = conn_io_[static_cast<std::size_t>(conn_id)];
    io.learning_callback = fn;
    io.learning_data = fn ? user_data : nullptr;
}

void Network::set_spike_callback(int32_t pop_id, snn_spike_fn fn, void* user_data) {
    population(pop_id);
    PopulationIO& io = pop_io_[static_cast<std::size_t>(pop_id)];
    io.callback = fn;
    io.callback_data = fn ? user_data : nullptr;
}

// ---------------------------------------------------------------------------
// Running

void Network::freeze() {
    if (engine_) return;
    engine_ = context_.backend().create(*this, capacity_);
    engine_->set_batch(batch_);
    engine_->load_initial_state();
    if (Learner::needed(graph_)) learner_ = make_in<Learner, Learner>(memory_, graph_, capacity_, batch_, memory_);
    context_.log(SNN_LOG_DEBUG, "network frozen: %zu populations, %zu connections, backend %s", graph_.populations.size(),
                 graph_.connections.size(), backend_name());
}

void Network::check_bindings(int64_t steps) const {
    for (std::size_t p = 0; p < pop_io_.size(); ++p) {
        const PopulationIO& io = pop_io_[p];
        const int64_t n = graph_.populations[p].size;
        auto check = [&](const BoundTensor& b, const char* what) {
            if (!b.active) return;
            const int64_t* shape = b.shape + (b.whole_run ? 1 : 0);
            if (shape[0] != batch_ || shape[1] != n)
                throw fail(SNN_SHAPE, "%s of \"%s\": bound for batch %lld but the network now runs batch %d", what,
                           graph_.populations[p].name.c_str(), static_cast<long long>(shape[0]), batch_);
            if (b.whole_run && b.shape[0] < steps)
                throw fail(SNN_SHAPE, "%s of \"%s\": bound for %lld steps; this run has %lld", what, graph_.populations[p].name.c_str(),
                           static_cast<long long>(b.shape[0]), static_cast<long long>(steps));
        };
        check(io.bound_input, "input");
        for (const OutputBinding& o : io.outputs) check(o.buffer, "output");
    }
}

void Network::write_outputs(int64_t run_index) {
    for (std::size_t p = 0; p < pop_io_.size(); ++p) {
        PopulationIO& io = pop_io_[p];
        if (io.outputs.empty()) continue;
        const int64_t n = graph_.populations[p].size;
        const int32_t pop_id = static_cast<int32_t>(p);
        for (OutputBinding& o : io.outputs) {
            BoundTensor& b = o.buffer;
            const int64_t* strides = b.strides + (b.whole_run ? 1 : 0);
            char* base = static_cast<char*>(b.tensor.data) + (b.whole_run ? run_index * b.strides[0] : 0) * dtype_size(b.tensor.dtype);
            const bool contiguous = strides[1] == 1 && strides[0] == n;
            if (o.var == kSpikesVar) {
                const uint8_t* s = engine_->spikes(pop_id);
                if (contiguous && b.tensor.dtype != SNN_DTYPE_FLOAT32) {  // bytes as they are
                    std::memcpy(base, s, static_cast<std::size_t>(batch_ * n));
                    continue;
                }
                if (contiguous) {
                    float* out = reinterpret_cast<float*>(base);
                    for (int64_t k = 0; k < batch_ * n; ++k) out[k] = s[k];
                    continue;
                }
                for (int32_t bi = 0; bi < batch_; ++bi)
                    for (int64_t j = 0; j < n; ++j) {
                        int64_t off = bi * strides[0] + j * strides[1];
                        uint8_t x = s[bi * n + j];
                        if (b.tensor.dtype == SNN_DTYPE_FLOAT32)
                            reinterpret_cast<float*>(base)[off] = x;
                        else
                            reinterpret_cast<uint8_t*>(base)[off] = x;
                    }
            } else if (contiguous) {
                engine_->read_state(Owner::Population, pop_id, o.var, reinterpret_cast<float*>(base));
            } else {
                engine_->read_state(Owner::Population, pop_id, o.var, scratch_.data());
                for (int32_t bi = 0; bi < batch_; ++bi)
                    for (int64_t j = 0; j < n; ++j)
                        reinterpret_cast<float*>(base)[bi * strides[0] + j * strides[1]] = scratch_[static_cast<std::size_t>(bi * n + j)];
            }
        }
    }
}

namespace {
// Stepping, resetting or re-batching a network from its own spike callback
// would change the state the running loop is reading.
void refuse_in_callback(bool in_callback, const char* what) {
    if (in_callback)
        throw fail(SNN_STATE, "%s: called from a spike callback of this network, during its run; do it after the run returns", what);
}
}  // namespace

snn_status Network::run(int64_t steps) {
    refuse_in_callback(in_callback_, "run");
    if (steps < 0) throw fail(SNN_INVALID_ARGUMENT, "steps: is negative (%lld)", static_cast<long long>(steps));
    check_bindings(steps);
    freeze();
    // Nothing below allocates: inputs, outputs and callbacks use buffers sized
    // when they were set or bound.
    RunPlan plan;
    plan.first_step = step_;
    plan.steps = steps;
    plan.input = &Network::run_input;
    plan.self = this;
    for (std::size_t p = 0; p < pop_io_.size(); ++p) {
        const PopulationIO& io = pop_io_[p];
        plan.callbacks = plan.callbacks || io.callback != nullptr;
        observed_[p] = 0;
        for (const OutputBinding& o : io.outputs) observed_[p] |= o.var != kSpikesVar;
    }
    plan.observed = observed_.data();
    engine_->begin_run(plan);
    struct EndRun {  // also when a step throws
        Engine* engine;
        ~EndRun() { engine->end_run(); }
    } end_run{engine_.get()};
    for (int64_t k = 0; k < steps; ++k) {
        for (std::size_t p = 0; p < pop_io_.size(); ++p) step_inputs_[p] = run_input(this, static_cast<int32_t>(p), k);
        add_step_inputs();
        engine_->step(step_, step_inputs_.data());
        if (learner_) learner_->step(step_, *engine_);
        for (PopulationIO& io : pop_io_) io.has_copied_input = false;
        write_outputs(k);
        const int64_t this_step = step_++;
        bool cancelled = false;
        struct InCallback {  // also when a callback throws (C++ callers)
            bool& flag;
            explicit InCallback(bool& f) : flag(f) { flag = true; }
            ~InCallback() { flag = false; }
        } in_callback{in_callback_};
        for (std::size_t p = 0; p < pop_io_.size(); ++p) {
            const PopulationIO& io = pop_io_[p];
            if (!io.callback) continue;
            for (int32_t bi = 0; bi < batch_; ++bi) {
                int32_t count = 0;
                const int32_t* ids = engine_->spike_ids(static_cast<int32_t>(p), bi, &count);
                if (count == 0) continue;
                if (io.callback(static_cast<int32_t>(p), this_step, bi, count, ids, io.callback_data) != 0) cancelled = true;
            }
        }
        if (learner_)
            for (std::size_t c = 0; c < conn_io_.size(); ++c) {
                const ConnectionIO& io = conn_io_[c];
                if (!io.learning_callback) continue;
                const Learner::Summary& sum = learner_->summary(static_cast<int32_t>(c));
                if (sum.synapses_changed == 0) continue;
                snn_learning_event e{};
                e.struct_size = sizeof e;
                e.connection = static_cast<int32_t>(c);
                e.step = this_step;
                e.synapses_changed = sum.synapses_changed;
                e.total_change = sum.total_change;
                e.all = sum.all ? 1 : 0;
                e.row_count = static_cast<int32_t>(sum.row_count);
                e.rows = sum.rows;
                e.column_count = static_cast<int32_t>(sum.col_count);
                e.columns = sum.cols;
                if (io.learning_callback(&e, io.learning_data) != 0) cancelled = true;
            }
        if (cancelled) return SNN_CANCELLED;
    }
    return SNN_OK;
}

// A modulator's input of the step adds to its "input" variable, which
// delivery adds to as well and the step consumes (docs/models.md).
void Network::add_step_inputs() {
    for (std::size_t p = 0; p < pop_io_.size(); ++p) {
        const Population& pop = graph_.populations[p];
        const InputView& in = step_inputs_[p];
        if (!pop.neuron_model().takes_input || !in.data) continue;
        const int32_t id = static_cast<int32_t>(p);
        engine_->read_state(Owner::Population, id, modulator_var::input, scratch_.data());
        for (int32_t b = 0; b < batch_; ++b)
            for (int64_t j = 0; j < pop.size; ++j) scratch_[static_cast<std::size_t>(b * pop.size + j)] += input_value(in, b, j);
        engine_->write_state(Owner::Population, id, modulator_var::input, scratch_.data());
    }
}

InputView Network::run_input(const void* self, int32_t population, int64_t k) {
    const Network& net = *static_cast<const Network*>(self);
    const PopulationIO& io = net.pop_io_[static_cast<std::size_t>(population)];
    if (io.bound_input.active) return slice(io.bound_input, k);
    // A copied input is for the next step only: the run's first (it is
    // cleared after each step, so for k = 0 it is still there).
    if (io.has_copied_input && k == 0) {
        InputView view;
        view.data = io.copied_input.data();
        view.dtype = SNN_DTYPE_FLOAT32;
        view.batch_stride = net.graph_.populations[static_cast<std::size_t>(population)].size;
        view.neuron_stride = 1;
        return view;
    }
    return InputView{};
}

void Network::restore_learning_events() {
    if (learner_ && engine_) learner_->restore_events(step_, *engine_);
}

void Network::reset() {
    refuse_in_callback(in_callback_, "reset");
    step_ = 0;
    for (PopulationIO& io : pop_io_) io.has_copied_input = false;
    if (engine_) engine_->load_initial_state();
    if (learner_) learner_->reset();
}

void Network::set_batch(int32_t batch) {
    refuse_in_callback(in_callback_, "set_batch");
    if (batch < 1) throw fail(SNN_INVALID_ARGUMENT, "batch: must be >= 1 (got %d)", batch);
    if (live_views_.load() > 0) throw fail(SNN_STATE, "set_batch: %d exported views are still alive; release them first", live_views_.load());
    if (batch == batch_) return;
    // Initial state of new instances: instance i takes instance i mod old_batch's.
    const int32_t old_batch = batch_;
    auto tile = [&](InitialVar& iv, int64_t n) {
        if (!iv.written) return;
        pvector<float> values(memory_);
        values.resize(static_cast<std::size_t>(batch * n));
        for (int32_t b = 0; b < batch; ++b)
            std::copy(iv.values.begin() + (b % old_batch) * n, iv.values.begin() + (b % old_batch + 1) * n, values.begin() + b * n);
        iv.values.swap(values);
    };
    for (std::size_t p = 0; p < pop_io_.size(); ++p) {
        for (InitialVar& iv : pop_io_[p].initial) tile(iv, graph_.populations[p].size);
        pop_io_[p].has_copied_input = false;
    }
    for (std::size_t c = 0; c < conn_io_.size(); ++c) tile(conn_io_[c].initial, graph_.populations[static_cast<std::size_t>(graph_.connections[c].post)].size);

    if (!engine_) {
        batch_ = batch;
        capacity_ = std::max(capacity_, batch);
        return;
    }
    // Running instances keep their state; new ones start from the initial state.
    struct Var { Owner owner; int32_t id; int var; int64_t n; };
    pvector<Var> vars(memory_);
    for (std::size_t p = 0; p < graph_.populations.size(); ++p)
        for (std::size_t v = 0; v < graph_.populations[p].neuron_model().state_vars.size(); ++v)
            vars.push_back({Owner::Population, static_cast<int32_t>(p), static_cast<int>(v), graph_.populations[p].size});
    for (std::size_t c = 0; c < graph_.connections.size(); ++c)
        if (!graph_.connections[c].synapse_model().state_vars.empty())
            vars.push_back({Owner::Connection, static_cast<int32_t>(c), 0, state_size(Owner::Connection, static_cast<int32_t>(c))});
    pvector<pvector<float>> saved(memory_);
    for (const Var& v : vars) {
        pvector<float> values(memory_);
        values.resize(static_cast<std::size_t>(old_batch * v.n));
        engine_->read_state(v.owner, v.id, v.var, values.data());
        saved.push_back(std::move(values));
    }
    // Refractory counters, delay lines and last spikes of the running
    // instances, carried over when the engine is rebuilt for a larger capacity.
    struct Internal {
        explicit Internal(std::pmr::memory_resource* mr) : refractory(mr), delay_line(mr), spikes(mr) {}
        pvector<int32_t> refractory;
        pvector<float> delay_line;
        pvector<uint8_t> spikes;
        int32_t depth = 0;
    };
    pvector<Internal> internals(memory_);
    // The traces of plastic connections, kept for the running instances.
    struct Trace { int32_t conn; int var; int64_t n; pvector<float> values; };
    pvector<Trace> traces(memory_);
    if (learner_)
        for (std::size_t c = 0; c < graph_.connections.size(); ++c) {
            const Connection& conn = graph_.connections[c];
            if (!conn.plastic()) continue;
            for (std::size_t v = 0; v < conn.plasticity_model().state_vars.size(); ++v) {
                const int var = kPlasticVar + static_cast<int>(v);
                Trace t{static_cast<int32_t>(c), var, state_size(Owner::Connection, static_cast<int32_t>(c), var), pvector<float>(memory_)};
                t.values.assign(static_cast<std::size_t>(std::max(old_batch, batch) * t.n), 0.0f);
                learner_->read(t.conn, static_cast<int>(v), t.values.data());
                traces.push_back(std::move(t));
            }
        }
    const bool rebuild = batch > capacity_;
    if (rebuild) {
        for (std::size_t p = 0; p < graph_.populations.size(); ++p) {
            const int64_t cells = old_batch * graph_.populations[p].size;
            Internal in(memory_);
            in.depth = engine_->delay_line_depth(static_cast<int32_t>(p));
            in.refractory.resize(static_cast<std::size_t>(cells));
            in.delay_line.resize(static_cast<std::size_t>(in.depth * cells));
            in.spikes.resize(static_cast<std::size_t>(cells));
            engine_->read_internal(static_cast<int32_t>(p), in.refractory.data(), in.delay_line.data(), in.spikes.data());
            internals.push_back(std::move(in));
        }
    }
    batch_ = batch;
    if (rebuild) {
        learner_.reset();
        engine_.reset();
        capacity_ = batch;
        freeze();
        for (std::size_t p = 0; p < internals.size(); ++p) {
            const Internal& in = internals[p];
            const int64_t n = graph_.populations[p].size, old_cells = old_batch * n, cells = batch * n;
            pvector<int32_t> refractory(static_cast<std::size_t>(cells), 0, memory_);
            pvector<float> delay_line(static_cast<std::size_t>(in.depth * cells), 0.0f, memory_);
            pvector<uint8_t> spikes(static_cast<std::size_t>(cells), 0, memory_);
            std::copy(in.refractory.begin(), in.refractory.end(), refractory.begin());
            std::copy(in.spikes.begin(), in.spikes.end(), spikes.begin());
            for (int32_t d = 0; d < in.depth; ++d)
                std::copy_n(in.delay_line.begin() + d * old_cells, old_cells, delay_line.begin() + d * cells);
            engine_->write_internal(static_cast<int32_t>(p), refractory.data(), delay_line.data(), spikes.data());
        }
    } else {
        engine_->set_batch(batch);
        if (learner_) learner_->set_batch(batch);
    }
    const int32_t kept = std::min(old_batch, batch);
    for (Trace& t : traces) {
        std::fill(t.values.begin() + kept * t.n, t.values.end(), 0.0f);
        learner_->write(t.conn, t.var - kPlasticVar, t.values.data());
    }
    for (std::size_t k = 0; k < vars.size(); ++k) {
        const Var& v = vars[k];
        pvector<float> values(memory_);
        values.resize(static_cast<std::size_t>(batch * v.n));
        initial_state(v.owner, v.id, v.var, values.data());
        std::copy(saved[k].begin(), saved[k].begin() + kept * v.n, values.begin());
        engine_->write_state(v.owner, v.id, v.var, values.data());
    }
}

}  // namespace snn
