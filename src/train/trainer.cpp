#include "train/trainer.h"

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/context.h"
#include "core/engine.h"
#include "core/thread_pool.h"
#include "core/error.h"
#include "core/network.h"

namespace snn {

namespace {


// Element (t, b, i) of a [steps, batch, n] input tensor as float.
struct InputReader {
    const snn_tensor& tensor;
    int64_t stride[3];
    float at(int64_t t, int64_t b, int64_t i) const {
        const int64_t k = t * stride[0] + b * stride[1] + i * stride[2];
        switch (tensor.dtype) {
            case SNN_DTYPE_FLOAT32: return static_cast<const float*>(tensor.data)[k];
            default: return static_cast<const uint8_t*>(tensor.data)[k] != 0 ? 1.0f : 0.0f;
        }
    }
    // Row (t, b)'s nonzero entries as bits (n of them, into whole words),
    // without a branch per entry (spikes are unpredictable).
    void row_bits(int64_t t, int64_t b, int64_t n, uint64_t* words) const {
        const int64_t base = t * stride[0] + b * stride[1], step = stride[2];
        for (int64_t i0 = 0; i0 < n; i0 += 64) {
            const int64_t m = std::min<int64_t>(64, n - i0);
            uint64_t word = 0;
            if (tensor.dtype == SNN_DTYPE_FLOAT32) {
                const float* x = static_cast<const float*>(tensor.data) + base + i0 * step;
                for (int64_t j = 0; j < m; ++j) word |= uint64_t(x[j * step] != 0.0f) << j;
            } else {
                const uint8_t* x = static_cast<const uint8_t*>(tensor.data) + base + i0 * step;
                for (int64_t j = 0; j < m; ++j) word |= uint64_t(x[j * step] != 0) << j;
            }
            words[i0 / 64] = word;
        }
    }
};

InputReader reader_of(const snn_tensor& x, int64_t steps, int64_t batch, int64_t n, const char* what) {
    if (!x.data) throw fail(SNN_INVALID_ARGUMENT, "%s: data is NULL", what);
    if (x.device_type != SNN_DEVICE_CPU) throw fail(SNN_UNSUPPORTED, "%s: only CPU memory is supported", what);
    if (x.dtype != SNN_DTYPE_FLOAT32 && x.dtype != SNN_DTYPE_UINT8 && x.dtype != SNN_DTYPE_BOOL)
        throw fail(SNN_INVALID_ARGUMENT, "%s: dtype %d: give float32, uint8 or bool", what, x.dtype);
    if (x.ndim != 3 || !x.shape)
        throw fail(SNN_SHAPE, "%s: %d dimensions; expected [steps, batch, n] = [%lld, %lld, %lld]", what, x.ndim,
                   static_cast<long long>(steps), static_cast<long long>(batch), static_cast<long long>(n));
    if (x.shape[0] != steps || x.shape[1] != batch || x.shape[2] != n)
        throw fail(SNN_SHAPE, "%s: shape [%lld, %lld, %lld]; expected [steps, batch, n] = [%lld, %lld, %lld]", what,
                   static_cast<long long>(x.shape[0]), static_cast<long long>(x.shape[1]), static_cast<long long>(x.shape[2]),
                   static_cast<long long>(steps), static_cast<long long>(batch), static_cast<long long>(n));
    InputReader r{x, {batch * n, n, 1}};
    if (x.strides)
        for (int d = 0; d < 3; ++d) r.stride[d] = x.strides[d];
    return r;
}

const float* float_target(const snn_tensor& x, std::initializer_list<int64_t> shape, const char* what) {
    if (!x.data) throw fail(SNN_INVALID_ARGUMENT, "%s: data is NULL", what);
    if (x.dtype != SNN_DTYPE_FLOAT32) throw fail(SNN_INVALID_ARGUMENT, "%s: dtype %d: give float32", what, x.dtype);
    if (x.ndim != static_cast<int32_t>(shape.size()) || !x.shape) throw fail(SNN_SHAPE, "%s: expected %zu dimensions", what, shape.size());
    int d = 0;
    int64_t contiguous = 1;
    for (int64_t size : shape) {
        if (x.shape[d] != size)
            throw fail(SNN_SHAPE, "%s: dimension %d is %lld; expected %lld", what, d, static_cast<long long>(x.shape[d]),
                       static_cast<long long>(size));
        ++d;
    }
    for (int k = static_cast<int>(shape.size()) - 1; k >= 0; --k) {
        if (x.strides && x.shape[k] > 1 && x.strides[k] != contiguous) throw fail(SNN_INVALID_ARGUMENT, "%s: must be C-contiguous", what);
        contiguous *= x.shape[k];
    }
    return static_cast<const float*>(x.data);
}

}  // namespace

// Runs body(for_each) with for_each(count, f) calling f(i) for i in
// [0, count) on the context's pool when it is free (Decision 8), else in
// order on this thread.
template <class Body>
void run_on_pool(ThreadPool* pool, Body&& body) {
    const bool parallel = pool && pool->try_acquire();
    struct Release {
        ThreadPool* pool;
        ~Release() {
            if (pool) pool->release();
        }
    } release{parallel ? pool : nullptr};
    auto for_each = [&](int64_t count, auto& f) {
        if (parallel && count > 1)
            pool->parallel_for(count, f);
        else
            for (int64_t i = 0; i < count; ++i) f(i);
    };
    body(for_each);
}

snn_optimizer_options default_optimizer_options() {
    snn_optimizer_options o{};
    o.struct_size = sizeof o;
    o.kind = SNN_OPTIMIZER_ADAM;
    o.learning_rate = 1e-3;
    o.momentum = 0.0;
    o.beta1 = 0.9;
    o.beta2 = 0.999;
    o.eps = 1e-8;
    o.weight_decay = 0.0;
    o.clip_norm = 0.0;
    return o;
}

Trainer::Trainer(Network& network, const snn_trainer_options& options)
    : network_(network),
      memory_(network.memory()),
      // The row operations (add, add_scaled, multiply_add) give the same bits
      // at every SIMD level; the cpu backend's level, else the best.
      kernels_(cpu::select_kernels(std::string_view(network.context().backend().name) == "cpu" ? network.context().simd() : nullptr)),
      options_(options),
      pops_(memory_),
      conns_(memory_),
      order_(memory_),
      params_(memory_) {
    if (options_.detach_reset != 0 && options_.detach_reset != 1)
        throw fail(SNN_INVALID_ARGUMENT, "options.detach_reset: %d; expected 0 or 1", options_.detach_reset);
    if (options_.carry_state != 0 && options_.carry_state != 1)
        throw fail(SNN_INVALID_ARGUMENT, "options.carry_state: %d; expected 0 or 1", options_.carry_state);
    if (options_.input_grads != 0 && options_.input_grads != 1)
        throw fail(SNN_INVALID_ARGUMENT, "options.input_grads: %d; expected 0 or 1", options_.input_grads);
    optimizer_ = default_optimizer_options();
    gemm_ = std::string_view(network.context().backend().name) == "cpu";
    const Graph& g = network.graph();
    population_count_ = g.populations.size();
    connection_count_ = g.connections.size();
    for (std::size_t id = 0; id < g.populations.size(); ++id) {
        const Population& pop = g.populations[id];
        PopPlan p(memory_);
        p.id = static_cast<int32_t>(id);
        p.n = pop.size;
        p.words = (pop.size + 63) / 64;
        switch (pop.neuron_model().kind) {
            case NeuronKind::SpikeSource: p.source = p.spiking = true; break;
            case NeuronKind::CurrentSource: p.source = p.graded_source = true; break;
            case NeuronKind::LIF: p.spiking = p.leaky = true; break;
            case NeuronKind::ALIF: p.spiking = p.leaky = p.adaptive = true; break;
            case NeuronKind::IF: p.spiking = true; break;
            case NeuronKind::LI: p.li = p.leaky = true; break;
            case NeuronKind::Leaky: p.spiking = p.discrete = true; break;
            case NeuronKind::Poisson:
                throw fail(SNN_UNSUPPORTED,
                           "population \"%s\": a poisson source cannot be trained through; encode its rates as spikes "
                           "(snn.encode.rate) and give them to a spike_source",
                           pop.name.c_str());
            default:
                throw fail(SNN_UNSUPPORTED, "population \"%s\": model \"%s\" cannot be trained yet (lif, alif, if, li and sources can)",
                           pop.name.c_str(), pop.neuron_model().name);
        }
        if (pop.wta_mode() != WtaMode::None)
            throw fail(SNN_UNSUPPORTED, "population \"%s\": winner-take-all (option wta) cannot be trained through", pop.name.c_str());
        pops_.push_back(std::move(p));
    }
    for (std::size_t id = 0; id < g.connections.size(); ++id) {
        const Connection& c = g.connections[id];
        if (c.plastic())
            throw fail(SNN_UNSUPPORTED, "connection \"%s\" has the learning rule \"%s\"; set its plasticity to \"none\" to train it by gradients",
                       c.name.c_str(), c.plasticity_model().name);
        if (c.has_synapse_delays())
            throw fail(SNN_UNSUPPORTED, "connection \"%s\": per-synapse delays cannot be trained yet", c.name.c_str());
        const SynapseKind sk = c.synapse_model().kind;
        if (sk == SynapseKind::CondExp)
            throw fail(SNN_UNSUPPORTED, "connection \"%s\": cond_exp synapses cannot be trained (delta and exp can)", c.name.c_str());
        ConnPlan k(memory_);
        k.id = static_cast<int32_t>(id);
        k.pre = c.pre;
        k.post = c.post;
        k.n_pre = g.populations[static_cast<std::size_t>(c.pre)].size;
        k.n_post = g.populations[static_cast<std::size_t>(c.post)].size;
        k.delay = c.delay;
        k.exp = sk == SynapseKind::Exp;
        k.sparse = c.kind == SNN_CONNECTION_SPARSE || c.kind == SNN_CONNECTION_ONE_TO_ONE;
        k.conv = c.kind == SNN_CONNECTION_CONV2D;
        k.shape = c.conv;
        k.product = c.kind == SNN_CONNECTION_DENSE && pops_[static_cast<std::size_t>(c.pre)].graded_source;
        if (c.kind == SNN_CONNECTION_ONE_TO_ONE) {  // row i holds the one synapse i -> i
            for (int64_t i = 0; i <= k.n_pre; ++i) k.rows.push_back(i);
            for (int64_t i = 0; i < k.n_pre; ++i) k.targets.push_back(static_cast<int32_t>(i));
        }

        k.grad.assign(static_cast<std::size_t>(c.nnz()), 0.0f);
        k.scratch.assign(static_cast<std::size_t>(c.nnz()), 0.0f);
        pops_[static_cast<std::size_t>(c.post)].incoming.push_back(k.id);
        conns_.push_back(std::move(k));
    }
    order_.assign(g.update_order.begin(), g.update_order.end());
    for (PopPlan& p : pops_) p.depth = g.max_outgoing_delay(p.id);
}

void Trainer::check_unchanged() const {
    const Graph& g = network_.graph();
    if (g.populations.size() != population_count_ || g.connections.size() != connection_count_)
        throw fail(SNN_STATE, "the network gained populations or connections after the trainer was created: create a new trainer");
}

Trainer::PopPlan& Trainer::plan_of(int32_t population) {
    if (population < 0 || static_cast<std::size_t>(population) >= pops_.size())
        throw fail(SNN_OUT_OF_RANGE, "population: %d is not a population id", population);
    return pops_[static_cast<std::size_t>(population)];
}
const Trainer::PopPlan& Trainer::plan_of(int32_t population) const { return const_cast<Trainer*>(this)->plan_of(population); }

Trainer::ConnPlan& Trainer::conn_of(int32_t connection) {
    if (connection < 0 || static_cast<std::size_t>(connection) >= conns_.size())
        throw fail(SNN_OUT_OF_RANGE, "connection: %d is not a connection id", connection);
    return conns_[static_cast<std::size_t>(connection)];
}
const Trainer::ConnPlan& Trainer::conn_of(int32_t connection) const { return const_cast<Trainer*>(this)->conn_of(connection); }

// Parameters may change between forward passes (they stay writable):
// coefficients, thresholds, surrogates and initial state are read each time.
void Trainer::refresh_parameters() {
    const Graph& g = network_.graph();
    pvector<float> initial(memory_);
    for (PopPlan& p : pops_) {
        if (p.source) continue;
        const Population& pop = g.populations[static_cast<std::size_t>(p.id)];
        compute_population_coefficients(g, p.id, &p.coefficients);
        if (p.coefficients.conductance_based)
            throw fail(SNN_UNSUPPORTED, "population \"%s\": conductance input cannot be trained", pop.name.c_str());
        for (int32_t held : p.coefficients.refractory_steps)
            if (held != 0)
                throw fail(SNN_UNSUPPORTED, "population \"%s\": t_ref: training needs no refractory period (t_ref < 1.5 dt)",
                           pop.name.c_str());
        auto param = [&](const char* name) -> const pvector<float>& {
            return pop.params[static_cast<std::size_t>(pop.neuron_model().param_index(name))];
        };
        if (p.leaky) p.v_rest = param("v_rest");
        if (p.spiking) {
            if (!p.discrete) p.v_reset = param("v_reset");
            p.v_th = param("v_th");
            p.subtract = pop.reset_mode() == ResetMode::Subtract;
            if (p.discrete) p.leaky_reset = pop.leaky_reset();
            const std::string_view name = pop.options[static_cast<std::size_t>(pop.neuron_model().option_index("surrogate"))];
            p.surrogate = name == "arctan" ? Surrogate::Arctan : name == "triangle" ? Surrogate::Triangle : Surrogate::FastSigmoid;
            const float fallback = p.surrogate == Surrogate::FastSigmoid ? 25.0f : p.surrogate == Surrogate::Arctan ? 2.0f : 1.0f;
            p.scale = param("surrogate_scale");
            for (float& k : p.scale) {
                if (k < 0.0f) throw fail(SNN_INVALID_ARGUMENT, "population \"%s\": surrogate_scale is negative", pop.name.c_str());
                if (k == 0.0f) k = fallback;
            }
        }
        initial.resize(static_cast<std::size_t>(network_.batch() * p.n));
        network_.initial_state(Owner::Population, p.id, p.discrete ? leaky_var::v : 0, initial.data());
        p.v0.assign(initial.begin(), initial.begin() + p.n);
        if (p.adaptive) {
            p.delta_th = param("delta_th");
            network_.initial_state(Owner::Population, p.id, 1, initial.data());  // "a"
            p.a0.assign(initial.begin(), initial.begin() + p.n);
        }
    }
    for (ConnPlan& c : conns_) {
        compute_connection_coefficients(g, c.id, &c.coefficients);
        if (c.sparse) {  // (set here, where the plans no longer move)
            const Connection& conn = g.connections[static_cast<std::size_t>(c.id)];
            c.row_ptr = conn.kind == SNN_CONNECTION_ONE_TO_ONE ? c.rows.data() : conn.row_ptr.data();
            c.post_index = conn.kind == SNN_CONNECTION_ONE_TO_ONE ? c.targets.data() : conn.post_index.data();
        }
        if (!c.exp) continue;
        initial.resize(static_cast<std::size_t>(network_.batch() * c.n_post));
        network_.initial_state(Owner::Connection, c.id, 0, initial.data());
        c.I0.assign(initial.begin(), initial.begin() + c.n_post);
    }
}

void Trainer::forward(int64_t steps, int32_t batch, int32_t count, const int32_t* populations, const snn_tensor* inputs) {
    check_unchanged();
    if (steps < 1) throw fail(SNN_INVALID_ARGUMENT, "steps: %lld; at least 1", static_cast<long long>(steps));
    if (batch < 1) throw fail(SNN_INVALID_ARGUMENT, "batch: %d; at least 1", batch);
    if (count < 0) throw fail(SNN_INVALID_ARGUMENT, "count: %d is negative", count);
    if (count > 0 && (!populations || !inputs)) throw fail(SNN_INVALID_ARGUMENT, "populations, inputs: NULL with count %d", count);
    for (int32_t k = 0; k < count; ++k) {
        const PopPlan& p = plan_of(populations[k]);
        if (!p.source)
            throw fail(SNN_INVALID_ARGUMENT, "populations[%d]: population \"%s\" is not a source",
                       k, network_.population(p.id).name.c_str());
        for (int32_t q = 0; q < k; ++q)
            if (populations[q] == populations[k]) throw fail(SNN_INVALID_ARGUMENT, "populations[%d]: given twice", k);
    }
    // carry_state: continue the previous pass (its state and the spikes still on their way).
    const bool carry = options_.carry_state != 0 && carried_;
    if (carry && batch != batch_)
        throw fail(SNN_STATE, "batch: %d; the pass this one continues had %d (carry_state; snn_trainer_reset_state starts anew)", batch,
                   batch_);
    refresh_parameters();
    forward_done_ = false;
    backward_done_ = false;
    carried_ = false;  // until this pass completes
    steps_ = steps;
    batch_ = batch;
    forward_chunks_ = std::min<int64_t>(batch, int64_t(4) * network_.context().threads());
    use_past_ = carry;
    const std::size_t T = static_cast<std::size_t>(steps), B = static_cast<std::size_t>(batch);
    for (PopPlan& p : pops_) {
        const std::size_t n = static_cast<std::size_t>(p.n);
        if (p.spiking) p.bits.assign(T * B * static_cast<std::size_t>(p.words), 0);
        if (p.graded_source || p.li) p.graded.assign(T * B * n, 0.0f);
        // (Every step writes all of its m: no zeroing unless the size changes.)
        if (p.spiking && !p.source && p.m.size() != T * B * n) p.m.assign(T * B * n, 0.0f);
        if (p.source && options_.input_grads) p.g_out.assign(T * B * n, 0.0f);
        if (!p.source) {
            // Zero unless a backward pass left it so (or nothing was added since).
            if (p.g_out.size() != T * B * n || p.has_grad) p.g_out.assign(T * B * n, 0.0f);
            p.has_grad = false;
            if (!carry) {
                p.v.resize(B * n);
                for (std::size_t b = 0; b < B; ++b) std::copy(p.v0.begin(), p.v0.end(), p.v.begin() + static_cast<std::ptrdiff_t>(b * n));
            }
            p.gv.assign(B * n, 0.0f);
            p.work.assign(B * n, 0.0f);
        }
        if (p.discrete) {
            p.input.assign(B * n, 0.0f);
            p.v_start.assign(p.v.begin(), p.v.end());
            p.gr.assign(B * n, 0.0f);
        }
        if (p.grad_th) p.g_th.assign(B * n, 0.0f);
        if (p.grad_tau || p.grad_beta) p.g_decay.assign(B * n, 0.0f);
        if (p.grad_tau) p.u_tape.assign(T * B * n, 0.0f);
        if (p.grad_th && !p.discrete) p.gv_in.assign(B * n, 0.0f);
        if (p.adaptive) {
            if (!carry) {
                p.a.resize(B * n);
                for (std::size_t b = 0; b < B; ++b) std::copy(p.a0.begin(), p.a0.end(), p.a.begin() + static_cast<std::ptrdiff_t>(b * n));
            }
            p.a_tape.assign(T * B * n, 0.0f);
            p.ga.assign(B * n, 0.0f);
        }
        if (p.graded_source) {  // a step without input emits `current`
            const pvector<float>& current = network_.population(p.id).params[current_param::current];
            for (std::size_t r = 0; r < T * B; ++r) std::copy(current.begin(), current.end(), p.graded.begin() + static_cast<std::ptrdiff_t>(r * n));
        }
    }
    for (ConnPlan& c : conns_) {
        const std::size_t n = static_cast<std::size_t>(c.n_post);
        c.arrival.assign(B * n, 0.0f);
        c.sums.assign(B * static_cast<std::size_t>(std::max(c.n_pre, c.n_post)), 0.0f);
        if (c.product) {
            const std::size_t blocks = static_cast<std::size_t>((c.n_post + cpu::kDenseBlock - 1) / cpu::kDenseBlock);
            c.ahead.resize(blocks * T * B * static_cast<std::size_t>(cpu::kDenseBlock));
            c.ahead_any.resize(T * B);
            if (gemm_) {
                const float* w = network_.connection(c.id).weights.data();
                c.packed.assign(blocks * static_cast<std::size_t>(c.n_pre * cpu::kDenseBlock), 0.0f);
                for (std::size_t q = 0; q < blocks; ++q) {
                    const int64_t c0 = static_cast<int64_t>(q) * cpu::kDenseBlock, width = std::min(cpu::kDenseBlock, c.n_post - c0);
                    for (int64_t i = 0; i < c.n_pre; ++i)
                        std::copy_n(w + i * c.n_post + c0, width, c.packed.data() + (static_cast<int64_t>(q) * c.n_pre + i) * cpu::kDenseBlock);
                }
            }
        }
        if (c.conv) {
            const ConvShape& g = c.shape;
            const float* w = network_.connection(c.id).weights.data();
            c.kernel.resize(static_cast<std::size_t>(conv::kernel_alloc(g)));
            conv::transpose_kernel(g, w, c.kernel.data());
            const std::size_t parts = static_cast<std::size_t>(std::min<int64_t>(batch, kConvParts));
            const std::size_t slots = std::max(parts, static_cast<std::size_t>(forward_chunks_));
            c.parts = static_cast<int64_t>(parts);
            c.conv_sums.assign(static_cast<std::size_t>(forward_chunks_) * static_cast<std::size_t>(g.conv_cells()), 0.0f);
            if (g.pool == Pool::Max) c.argmax.assign(T * B * n, 0);
            c.g_conv.assign(parts * static_cast<std::size_t>(conv::grad_cells(g)) + 16, 0.0f);  // (conv_weight_grad reads whole vectors)
            c.grad_kernel.assign(parts * static_cast<std::size_t>(g.kernel_size()), 0.0f);
            c.ids.assign(slots * static_cast<std::size_t>(ids_stride(c)), 0);
            if (pops_[static_cast<std::size_t>(c.pre)].graded_source) c.values.assign(slots * static_cast<std::size_t>(c.n_pre), 0.0f);
            c.counts.assign(slots, 0);
            c.work_words = cpu::conv_work::bytes(g, pops_[static_cast<std::size_t>(c.pre)].graded_source) / 8;
            c.work.assign(slots * c.work_words, 0);
            if (!pops_[static_cast<std::size_t>(c.pre)].source || options_.input_grads) {
                const std::size_t stride = static_cast<std::size_t>(conv::input_grad_stride(g));
                c.kernel_in.resize(static_cast<std::size_t>(g.out_c) * stride);
                conv::kernel_for_input_grad(g, w, c.kernel_in.data());
                c.g_pre.assign(parts * static_cast<std::size_t>(c.n_pre), 0.0f);
                c.column.assign(parts * stride, 0.0f);
                c.nonzero.assign(parts * static_cast<std::size_t>(g.out_c + 16), 0);  // (+16: conv_input_grad stores whole vectors)
            }
        }
        if (!c.sparse && !c.conv && (!pops_[static_cast<std::size_t>(c.pre)].source || options_.input_grads)) {  // W transposed, for dL/d(pre output)
            const float* w = network_.connection(c.id).weights.data();
            c.transposed.resize(static_cast<std::size_t>(c.n_pre * c.n_post));
            for (int64_t i = 0; i < c.n_pre; ++i)
                for (int64_t j = 0; j < c.n_post; ++j) c.transposed[static_cast<std::size_t>(j * c.n_pre + i)] = w[i * c.n_post + j];
        }
        if (!c.exp) continue;
        if (!carry) {
            c.I.resize(B * n);
            for (std::size_t b = 0; b < B; ++b) std::copy(c.I0.begin(), c.I0.end(), c.I.begin() + static_cast<std::ptrdiff_t>(b * n));
        }
        c.gI.assign(B * n, 0.0f);
    }
    for (int32_t k = 0; k < count; ++k) {
        PopPlan& p = plan_of(populations[k]);
        char what[32];
        std::snprintf(what, sizeof what, "inputs[%d]", k);
        const InputReader in = reader_of(inputs[k], steps, batch, p.n, what);
        for (int64_t t = 0; t < steps; ++t)
            for (int64_t b = 0; b < batch; ++b) {
                if (p.graded_source) {
                    float* row = p.graded.data() + (t * batch + b) * p.n;
                    for (int64_t i = 0; i < p.n; ++i) {
                        row[i] = in.at(t, b, i);
                        if (!std::isfinite(row[i]))
                            throw fail(SNN_INVALID_ARGUMENT, "%s: a value is not finite (step %lld, instance %lld, neuron %lld)", what,
                                       static_cast<long long>(t), static_cast<long long>(b), static_cast<long long>(i));
                    }
                } else {
                    in.row_bits(t, b, p.n, p.bits.data() + (t * batch + b) * p.words);
                }
            }
    }
    run_on_pool(network_.context().pool(), [&](auto& for_each) {
        for (ConnPlan& c : conns_)
            if (c.product) product_ahead(c, for_each);
        for (int64_t t = 0; t < steps; ++t) step_forward(t, for_each);
    });
    if (options_.carry_state) {
        keep_past();
        carried_ = true;
    }
    forward_done_ = true;
}

// One step of every non-source population, instance by instance (the
// instances in parallel: each writes its own rows).
template <class ForEach>
void Trainer::step_forward(int64_t t, ForEach& for_each) {
    for (int32_t id : order_) {
        PopPlan& p = pops_[static_cast<std::size_t>(id)];
        if (p.source) continue;
        // By chunks of instances: each instance writes its own rows; a chunk
        // reuses one slot of the conv scratch.
        auto update = [&](int64_t chunk) {
            for (int64_t b = chunk * batch_ / forward_chunks_; b < (chunk + 1) * batch_ / forward_chunks_; ++b) {
                deliver_instance(p, t, b, chunk);
                forward_instance(p, t, b);
            }
        };
        for_each(forward_chunks_, update);
    }
}

// Phase 1 of step t for instance b of population p:
// connections in ascending id, each arriving row added in ascending order.
void Trainer::deliver_instance(PopPlan& p, int64_t t, int64_t b, int64_t slot) {
    const Graph& g = network_.graph();
    const int64_t n = p.n;
    for (int32_t cid : p.incoming) {
        ConnPlan& c = conns_[static_cast<std::size_t>(cid)];
        const int64_t tp = t - c.delay;
        const PopPlan& pre = pops_[static_cast<std::size_t>(c.pre)];
        float* target = (c.exp ? c.I.data() : p.discrete ? p.input.data() : p.v.data()) + b * n;
        if (c.conv) {  // (its biases arrive in every step)
            deliver_conv(c, pre, t, b, slot, target);
            continue;
        }
        if (tp < 0 && !use_past_) continue;
        const float* w = g.connections[static_cast<std::size_t>(cid)].weights.data();
        // What the presynaptic population emitted in step tp: this pass's
        // tape, or before it (carry_state) what the previous pass left.
        const int64_t past = pre.depth + tp;  // row of the past buffers when tp < 0
        const float* graded_row = !pre.graded_source ? nullptr
                                  : tp >= 0 ? pre.graded.data() + (tp * batch_ + b) * c.n_pre
                                            : pre.past_graded.data() + (past * batch_ + b) * c.n_pre;
        const uint64_t* bits_row = pre.graded_source ? nullptr
                                   : tp >= 0 ? pre.bits.data() + (tp * batch_ + b) * pre.words
                                             : pre.past_bits.data() + (past * batch_ + b) * pre.words;
        if (c.product && tp < 0) {  // a step of the previous pass: its sums by rows, from zero, then added once
            float* sums = c.sums.data() + b * std::max(c.n_pre, c.n_post);
            kernels_.fill(sums, 0.0f, n);
            bool any = false;
            for (int64_t i = 0; i < c.n_pre; ++i) {
                if (graded_row[i] == 0.0f) continue;
                any = true;
                kernels_.add_scaled(sums, w + i * n, graded_row[i], n);
            }
            if (any) kernels_.add(target, sums, n);
            continue;
        }
        if (c.product) {  // the sums of w * x over the nonzero rows (product_ahead), added once
            const int64_t row = tp * batch_ + b, stride = steps_ * batch_ * cpu::kDenseBlock;
            if (!c.ahead_any[static_cast<std::size_t>(row)]) continue;
            for (int64_t c0 = 0; c0 < n; c0 += cpu::kDenseBlock)
                kernels_.add(target + c0, c.ahead.data() + (c0 / cpu::kDenseBlock) * stride + row * cpu::kDenseBlock,
                             std::min(cpu::kDenseBlock, n - c0));
            continue;
        }
        if (c.sparse) {  // each synapse on its own, rows ascending (as "reference")
            auto row = [&](int64_t i, float x) {
                for (int64_t q = c.row_ptr[i]; q < c.row_ptr[i + 1]; ++q) target[c.post_index[q]] += w[q] * x;
            };
            if (pre.graded_source) {
                for (int64_t i = 0; i < c.n_pre; ++i)
                    if (graded_row[i] != 0.0f) row(i, graded_row[i]);
            } else {
                for (int64_t word = 0; word < pre.words; ++word)
                    for (uint64_t m = bits_row[word]; m != 0; m &= m - 1) row(word * 64 + __builtin_ctzll(m), 1.0f);
            }
            continue;
        }
        if (n <= 16) {  // short rows (a readout): inline, without a kernel call per spike (the same additions)
            for (int64_t word = 0; word < pre.words; ++word)
                for (uint64_t m = bits_row[word]; m != 0; m &= m - 1) {
                    const float* r = w + (word * 64 + __builtin_ctzll(m)) * n;
                    for (int64_t j = 0; j < n; ++j) target[j] += r[j];
                }
            continue;
        }
        for (int64_t word = 0; word < pre.words; ++word)
            for (uint64_t m = bits_row[word]; m != 0; m &= m - 1) kernels_.add(target, w + (word * 64 + __builtin_ctzll(m)) * n, n);
    }
}

// Phase 1 of a conv2d connection in step t for instance b (core/conv.h):
// the values that arrive (none before the first step, unless carried over)
// convolved from zero in ascending order, pooled, biased, added once.
void Trainer::deliver_conv(ConnPlan& c, const PopPlan& pre, int64_t t, int64_t b, int64_t slot, float* target) {
    const ConvShape& g = c.shape;
    const int64_t tp = t - c.delay;
    float* scratch = c.conv_sums.data() + slot * g.conv_cells();
    const int32_t count = tp >= 0 || use_past_ ? arrivals_of(c, pre, tp, b, slot) : 0;
    kernels_.conv_forward(g, c.kernel.data(), c.ids.data() + slot * ids_stride(c),
                          pre.graded_source ? c.values.data() + slot * c.n_pre : nullptr, count, scratch,
                          c.work.data() + slot * c.work_words);
    uint8_t* argmax = g.pool == Pool::Max ? c.argmax.data() + (t * batch_ + b) * c.n_post : nullptr;
    if (count == 0 && !g.bias) {  // nothing is added; backward sees pool(conv(0)), whose ties go to the first cell
        if (argmax) std::fill_n(argmax, c.n_post, uint8_t(0));
        return;
    }
    float* out = c.sums.data() + b * std::max(c.n_pre, c.n_post);
    kernels_.conv_pool(g, scratch, g.bias ? network_.connection(c.id).weights.data() + g.kernel_size() : nullptr, out, argmax);
    kernels_.add(target, out, c.n_post);
}

// The presynaptic values of instance b in step tp (this pass's tape, or
// before it the previous pass's) that are nonzero, into slot `slot` of
// c.ids (and c.values) and c.counts.
int32_t Trainer::arrivals_of(ConnPlan& c, const PopPlan& pre, int64_t tp, int64_t b, int64_t slot) {
    const int64_t past = pre.depth + tp;
    int32_t* ids = c.ids.data() + slot * ids_stride(c);
    int32_t count = 0;
    if (pre.graded_source) {
        const float* x = tp >= 0 ? pre.graded.data() + (tp * batch_ + b) * c.n_pre : pre.past_graded.data() + (past * batch_ + b) * c.n_pre;
        float* values = c.values.data() + slot * c.n_pre;
        for (int64_t i = 0; i < c.n_pre; ++i)
            if (x[i] != 0.0f) {
                ids[count] = static_cast<int32_t>(i);
                values[count++] = x[i];
            }
    } else {
        const uint64_t* bits = tp >= 0 ? pre.bits.data() + (tp * batch_ + b) * pre.words : pre.past_bits.data() + (past * batch_ + b) * pre.words;
        count = kernels_.compact_bits(bits, ids, c.n_pre);
    }
    c.counts[static_cast<std::size_t>(slot)] = count;
    return count;
}

// Phases 2 and 3 of step t for instance b of population p, with the
// operations of the reference backend in its order (docs/models.md).
void Trainer::forward_instance(PopPlan& p, int64_t t, int64_t b) {
    const int64_t n = p.n;
    float* v = p.v.data() + b * n;
    // Phases 2 and 3. The exact input: sum over exp connections of I * gain, from zero.
    float* ei = p.work.data() + b * n;
    kernels_.fill(ei, 0.0f, n);
    for (int32_t cid : p.incoming) {
        const ConnPlan& c = conns_[static_cast<std::size_t>(cid)];
        if (c.exp) kernels_.multiply_add(ei, c.I.data() + b * n, c.coefficients.current_gain.data(), n);
    }
    if (p.discrete) {
        forward_leaky(p, t, b);
    } else {
        if (p.grad_tau) {  // u - v_rest, for the gradient of the decay
            float* u = p.u_tape.data() + (t * batch_ + b) * n;
            for (int64_t j = 0; j < n; ++j) u[j] = v[j] - p.v_rest[static_cast<std::size_t>(j)];
        }
        cpu::TrainNeurons k = neurons_of(p, t, b);
        k.v = v;
        k.ei = ei;
        if (p.adaptive) k.a = p.a.data() + b * n;
        kernels_.train_forward(k);
    }
    if (p.li) std::copy(v, v + n, p.graded.data() + (t * batch_ + b) * n);
    for (int32_t cid : p.incoming) {
        ConnPlan& c = conns_[static_cast<std::size_t>(cid)];
        if (c.exp) kernels_.scale(c.I.data() + b * n, c.coefficients.decay, n);
    }
}

// The dense product of a connection from a current source, for every step
// and instance at once (its inputs are known): ahead[q][r] = the sums over i
// ascending of x[r][i] * w[i][block q], from zero (rows r = t * B + b). With
// the cpu backend, by its matrix kernel, as that backend computes them; on
// "reference", by rows over the nonzero inputs, the reference's bits, in
// pieces of 8 rows x one block so a weight row is read once for 8 rows.
template <class ForEach>
void Trainer::product_ahead(ConnPlan& c, ForEach& for_each) {
    const PopPlan& pre = pops_[static_cast<std::size_t>(c.pre)];
    const int64_t rows = steps_ * batch_, n = c.n_post, k = c.n_pre, stride = rows * cpu::kDenseBlock;
    const int64_t blocks = (n + cpu::kDenseBlock - 1) / cpu::kDenseBlock;
    for (int64_t r = 0; r < rows; ++r) {
        const float* x = pre.graded.data() + r * k;
        c.ahead_any[static_cast<std::size_t>(r)] = std::any_of(x, x + k, [](float value) { return value != 0.0f; });
    }
    if (gemm_) {
        constexpr int64_t kRows = 64;  // input rows per piece of work
        auto piece = [&](int64_t index) {
            const int64_t r0 = index * kRows, count = std::min(kRows, rows - r0);
            int32_t ids[kRows];
            for (int64_t m = 0; m < count; ++m) ids[m] = static_cast<int32_t>(r0 + m);
            kernels_.dense_gemm(c.packed.data(), k, static_cast<int32_t>(blocks), pre.graded.data(), k, c.ahead.data(), stride, ids,
                                static_cast<int32_t>(count));
        };
        for_each((rows + kRows - 1) / kRows, piece);
        return;
    }
    const float* w = network_.connection(c.id).weights.data();
    constexpr int64_t kRows = 8;
    auto piece = [&](int64_t index) {
        const int64_t r0 = (index / blocks) * kRows, q = index % blocks, c0 = q * cpu::kDenseBlock;
        const int64_t r1 = std::min(rows, r0 + kRows), width = std::min(cpu::kDenseBlock, n - c0);
        float* out = c.ahead.data() + q * stride;
        for (int64_t r = r0; r < r1; ++r) kernels_.fill(out + r * cpu::kDenseBlock, 0.0f, cpu::kDenseBlock);
        for (int64_t i = 0; i < k; ++i)
            for (int64_t r = r0; r < r1; ++r) {
                const float x = pre.graded[static_cast<std::size_t>(r * k + i)];
                if (x != 0.0f) kernels_.add_scaled(out + r * cpu::kDenseBlock, w + i * n + c0, x, width);
            }
    };
    for_each(((rows + kRows - 1) / kRows) * blocks, piece);
}

// The weight gradient of such a connection from every step's arrival
// gradient: grad[i][j] += the sum over rows r = (t - delay) * B + b
// ascending of x[r][i] * arrival[r][j], from zero. With the cpu backend by
// its matrix kernel (the inputs transposed as its rows); on "reference" by
// rows over the nonzero inputs, in pieces of 8 weight rows x one block.
template <class ForEach>
void Trainer::product_weight_grad(ConnPlan& c, ForEach& for_each) {
    const PopPlan& pre = pops_[static_cast<std::size_t>(c.pre)];
    const int64_t n = c.n_post, k = c.n_pre, rows = (steps_ - c.delay) * batch_;
    if (rows <= 0) return;
    const int64_t blocks = (n + cpu::kDenseBlock - 1) / cpu::kDenseBlock, stride = rows * cpu::kDenseBlock;
    c.grad_product.resize(static_cast<std::size_t>(blocks * k * cpu::kDenseBlock));
    if (gemm_) {
        c.inputs_t.resize(static_cast<std::size_t>(k * rows));
        auto transpose = [&](int64_t i) {
            for (int64_t r = 0; r < rows; ++r) c.inputs_t[static_cast<std::size_t>(i * rows + r)] = pre.graded[static_cast<std::size_t>(r * k + i)];
        };
        for_each(k, transpose);
        constexpr int64_t kRows = 64;
        auto piece = [&](int64_t index) {
            const int64_t i0 = index * kRows, count = std::min(kRows, k - i0);
            int32_t ids[kRows];
            for (int64_t m = 0; m < count; ++m) ids[m] = static_cast<int32_t>(i0 + m);
            kernels_.dense_gemm(c.arrivals.data(), rows, static_cast<int32_t>(blocks), c.inputs_t.data(), rows, c.grad_product.data(),
                                k * cpu::kDenseBlock, ids, static_cast<int32_t>(count));
        };
        for_each((k + kRows - 1) / kRows, piece);
    } else {
        constexpr int64_t kRows = 8;
        auto piece = [&](int64_t index) {
            const int64_t i0 = (index / blocks) * kRows, q = index % blocks, i1 = std::min(k, i0 + kRows);
            float* out = c.grad_product.data() + q * k * cpu::kDenseBlock;
            for (int64_t i = i0; i < i1; ++i) kernels_.fill(out + i * cpu::kDenseBlock, 0.0f, cpu::kDenseBlock);
            for (int64_t r = 0; r < rows; ++r) {
                const float* x = pre.graded.data() + r * k;
                const float* ga = c.arrivals.data() + q * stride + r * cpu::kDenseBlock;
                for (int64_t i = i0; i < i1; ++i)
                    if (x[i] != 0.0f) kernels_.add_scaled(out + i * cpu::kDenseBlock, ga, x[i], cpu::kDenseBlock);
            }
        };
        for_each(((k + kRows - 1) / kRows) * blocks, piece);
    }
    auto add_rows = [&](int64_t i) {
        for (int64_t q = 0, c0 = 0; c0 < n; ++q, c0 += cpu::kDenseBlock)
            kernels_.add(c.grad.data() + i * n + c0, c.grad_product.data() + (q * k + i) * cpu::kDenseBlock, std::min(cpu::kDenseBlock, n - c0));
    };
    for_each(k, add_rows);
}

// carry_state: the outputs of the last `depth` steps (this pass's, after
// what was kept before it), for the delayed connections of the next pass.
void Trainer::keep_past() {
    const int64_t T = steps_, B = batch_;
    for (PopPlan& p : pops_) {
        if (p.depth == 0) continue;
        const int64_t D = p.depth;
        const bool graded = p.graded_source;
        const int64_t width = graded ? p.n : p.words;  // elements per (step, instance) row
        const std::size_t size = static_cast<std::size_t>(D * B * width);
        if (!use_past_) {  // a new sequence: nothing came before this pass
            if (graded)
                p.past_graded.assign(size, 0.0f);
            else
                p.past_bits.assign(size, 0);
        }
        // Row k of the combined sequence (the old past, then this pass) is
        // old row k (k < D) or step k - D; the new past is its last D rows.
        for (int64_t i = 0; i < D; ++i) {
            const int64_t k = T + i;  // combined row that becomes past row i (k >= i: in place, ascending i)
            for (int64_t b = 0; b < B; ++b) {
                const int64_t to = (i * B + b) * width;
                if (graded) {
                    const float* from = k < D ? p.past_graded.data() + (k * B + b) * width : p.graded.data() + ((k - D) * B + b) * width;
                    std::copy_n(from, width, p.past_graded.data() + to);
                } else {
                    const uint64_t* from = k < D ? p.past_bits.data() + (k * B + b) * width : p.bits.data() + ((k - D) * B + b) * width;
                    std::copy_n(from, width, p.past_bits.data() + to);
                }
            }
        }
    }
}

void Trainer::read_output(int32_t population, std::string_view var, float* out, int64_t count) const {
    if (!forward_done_) throw fail(SNN_STATE, "no forward pass has run");
    const PopPlan& p = plan_of(population);
    const int64_t total = steps_ * batch_ * p.n;
    if (count != total)
        throw fail(SNN_SHAPE, "out: %lld values; [steps, batch, n] holds %lld", static_cast<long long>(count), static_cast<long long>(total));
    const int64_t rows = steps_ * batch_;
    if (var == "spikes") {
        if (!p.spiking) throw fail(SNN_INVALID_ARGUMENT, "var: population \"%s\" emits no spikes", network_.population(population).name.c_str());
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < p.n; ++j) out[r * p.n + j] = (p.bits[static_cast<std::size_t>(r * p.words + (j >> 6))] >> (j & 63)) & 1u ? 1.0f : 0.0f;
        return;
    }
    if (var == "v" && !p.source) {
        if (p.li || p.discrete) {  // (leaky: v is m; its reset comes in the next step)
            const pvector<float>& v = p.li ? p.graded : p.m;
            std::copy(v.begin(), v.end(), out);
            return;
        }
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < p.n; ++j) {
                const float m = p.m[static_cast<std::size_t>(r * p.n + j)];
                const bool s = (p.bits[static_cast<std::size_t>(r * p.words + (j >> 6))] >> (j & 63)) & 1u;
                const float v_th = p.v_th[static_cast<std::size_t>(j)], v_reset = p.v_reset[static_cast<std::size_t>(j)];
                out[r * p.n + j] = !s ? m : p.subtract ? m - (v_th - v_reset) : v_reset;
            }
        return;
    }
    throw fail(SNN_INVALID_ARGUMENT, "var: \"%.*s\"; expected \"spikes\" or \"v\" (of a non-source population)", static_cast<int>(var.size()),
               var.data());
}

double Trainer::loss(int32_t population, std::string_view name, const snn_tensor& target) {
    if (!forward_done_) throw fail(SNN_STATE, "no forward pass has run");
    PopPlan& p = plan_of(population);
    const char* pop_name = network_.population(population).name.c_str();
    const int64_t n = p.n, T = steps_, B = batch_;
    const bool on_counts = name == "ce_count" || name == "mse_count";
    const bool on_v = name == "ce_max_v" || name == "ce_mean_v";
    if (!on_counts && !on_v)
        throw fail(SNN_INVALID_ARGUMENT, "loss: \"%.*s\"; expected ce_count, mse_count, ce_max_v or ce_mean_v", static_cast<int>(name.size()),
                   name.data());
    if (on_counts && (p.source || !p.spiking)) throw fail(SNN_INVALID_ARGUMENT, "loss: population \"%s\" is not a spiking layer", pop_name);
    if (on_v && !p.li) throw fail(SNN_INVALID_ARGUMENT, "loss: %.*s needs an li readout; \"%s\" is not one", static_cast<int>(name.size()), name.data(), pop_name);
    // The logits [B][n] and, per logit, where its gradient goes.
    std::pmr::vector<double> logits(static_cast<std::size_t>(B * n), 0.0, memory_);
    std::pmr::vector<int64_t> argmax(memory_);
    if (on_counts) {
        for (int64_t t = 0; t < T; ++t)
            for (int64_t b = 0; b < B; ++b)
                for (int64_t j = 0; j < n; ++j) logits[static_cast<std::size_t>(b * n + j)] += spiked(p, t, static_cast<int32_t>(b), j) ? 1.0 : 0.0;
    } else if (name == "ce_mean_v") {
        for (int64_t t = 0; t < T; ++t)
            for (int64_t r = 0; r < B * n; ++r) logits[static_cast<std::size_t>(r)] += p.graded[static_cast<std::size_t>(t * B * n + r)];
        for (double& x : logits) x /= static_cast<double>(T);
    } else {
        argmax.assign(static_cast<std::size_t>(B * n), 0);
        for (int64_t r = 0; r < B * n; ++r) {
            double best = p.graded[static_cast<std::size_t>(r)];
            for (int64_t t = 1; t < T; ++t)
                if (p.graded[static_cast<std::size_t>(t * B * n + r)] > best) {
                    best = p.graded[static_cast<std::size_t>(t * B * n + r)];
                    argmax[static_cast<std::size_t>(r)] = t;
                }
            logits[static_cast<std::size_t>(r)] = best;
        }
    }
    std::pmr::vector<double> grad(static_cast<std::size_t>(B * n), 0.0, memory_);  // dL/dlogit
    double total = 0.0;
    if (name == "mse_count") {
        const float* want = float_target(target, {B, n}, "target");
        for (int64_t r = 0; r < B * n; ++r) {
            if (!std::isfinite(want[r])) throw fail(SNN_INVALID_ARGUMENT, "target: value %lld is not finite", static_cast<long long>(r));
            const double e = logits[static_cast<std::size_t>(r)] - want[r];
            total += e * e;
            grad[static_cast<std::size_t>(r)] = 2.0 * e / static_cast<double>(B * n);
        }
        total /= static_cast<double>(B * n);
    } else {
        if (!target.data) throw fail(SNN_INVALID_ARGUMENT, "target: data is NULL");
        if (target.dtype != SNN_DTYPE_INT32 && target.dtype != SNN_DTYPE_INT64)
            throw fail(SNN_INVALID_ARGUMENT, "target: dtype %d: give int32 or int64 class labels", target.dtype);
        if (target.ndim != 1 || !target.shape || target.shape[0] != B)
            throw fail(SNN_SHAPE, "target: expected [batch] = [%lld] labels", static_cast<long long>(B));
        const int64_t stride = target.strides ? target.strides[0] : 1;
        for (int64_t b = 0; b < B; ++b) {
            const int64_t label = target.dtype == SNN_DTYPE_INT32 ? static_cast<const int32_t*>(target.data)[b * stride]
                                                                  : static_cast<const int64_t*>(target.data)[b * stride];
            if (label < 0 || label >= n)
                throw fail(SNN_OUT_OF_RANGE, "target: label %lld of instance %lld is not in [0, %lld)", static_cast<long long>(label),
                           static_cast<long long>(b), static_cast<long long>(n));
            const double* z = logits.data() + b * n;
            const double top = *std::max_element(z, z + n);
            double sum = 0.0;
            for (int64_t j = 0; j < n; ++j) sum += std::exp(z[j] - top);
            total += std::log(sum) + top - z[label];
            for (int64_t j = 0; j < n; ++j)
                grad[static_cast<std::size_t>(b * n + j)] = (std::exp(z[j] - top) / sum - (j == label ? 1.0 : 0.0)) / static_cast<double>(B);
        }
        total /= static_cast<double>(B);
    }
    for (int64_t t = 0; t < T; ++t)
        for (int64_t r = 0; r < B * n; ++r) {
            double gr = grad[static_cast<std::size_t>(r)];
            if (name == "ce_mean_v") gr /= static_cast<double>(T);
            if (name == "ce_max_v" && argmax[static_cast<std::size_t>(r)] != t) continue;
            p.g_out[static_cast<std::size_t>(t * B * n + r)] += static_cast<float>(gr);
        }
    p.has_grad = true;
    return total;
}

void Trainer::add_output_grad(int32_t population, std::string_view var, const float* grad, int64_t count) {
    if (!forward_done_) throw fail(SNN_STATE, "no forward pass has run");
    if (!grad) throw fail(SNN_INVALID_ARGUMENT, "grad: is NULL");
    PopPlan& p = plan_of(population);
    const char* pop_name = network_.population(population).name.c_str();
    if (p.source) throw fail(SNN_INVALID_ARGUMENT, "population \"%s\" is a source: nothing to backpropagate into", pop_name);
    if (!((var == "spikes" && p.spiking) || (var == "v" && p.li)))
        throw fail(SNN_INVALID_ARGUMENT, "var: \"%.*s\": give the gradient of \"%s\" for population \"%s\"", static_cast<int>(var.size()),
                   var.data(), p.li ? "v" : "spikes", pop_name);
    const int64_t total = steps_ * batch_ * p.n;
    if (count != total)
        throw fail(SNN_SHAPE, "grad: %lld values; [steps, batch, n] holds %lld", static_cast<long long>(count), static_cast<long long>(total));
    for (int64_t r = 0; r < total; ++r) {
        if (!std::isfinite(grad[r])) throw fail(SNN_INVALID_ARGUMENT, "grad: value %lld is not finite", static_cast<long long>(r));
        p.g_out[static_cast<std::size_t>(r)] += grad[r];
    }
    p.has_grad = true;
}

void Trainer::backward() {
    if (!forward_done_) throw fail(SNN_STATE, "no forward pass has run");
    check_unchanged();
    bool any = false;
    for (const PopPlan& p : pops_) any = any || p.has_grad;
    if (!any) throw fail(SNN_STATE, "nothing to backpropagate: call snn_trainer_loss or snn_trainer_add_output_grad first");
    for (PopPlan& p : pops_) {
        if (p.source && options_.input_grads) std::fill(p.g_out.begin(), p.g_out.end(), 0.0f);
        if (!p.source) std::fill(p.gv.begin(), p.gv.end(), 0.0f);
        if (p.adaptive) std::fill(p.ga.begin(), p.ga.end(), 0.0f);
        if (p.discrete) std::fill(p.gr.begin(), p.gr.end(), 0.0f);
    }
    for (ConnPlan& c : conns_)
        if (c.exp) std::fill(c.gI.begin(), c.gI.end(), 0.0f);
    for (ConnPlan& c : conns_)
        if (c.product)  // zero-padded column blocks, as dense_gemm reads them
            c.arrivals.assign(static_cast<std::size_t>(std::max<int64_t>(0, (steps_ - c.delay) * batch_) *
                                                       ((c.n_post + cpu::kDenseBlock - 1) / cpu::kDenseBlock) * cpu::kDenseBlock),
                              0.0f);
    for (const PopPlan& p : pops_) {  // a parameter made trainable after the forward pass: its tape is missing
        const std::size_t cells = static_cast<std::size_t>(batch_ * p.n);
        if ((p.grad_th && (p.g_th.size() != cells || (!p.discrete && p.gv_in.size() != cells))) ||
            ((p.grad_tau || p.grad_beta) && p.g_decay.size() != cells) ||
            (p.grad_tau && p.u_tape.size() != cells * static_cast<std::size_t>(steps_)))
            throw fail(SNN_STATE, "population \"%s\": a parameter became trainable after the forward pass; run it again",
                       network_.population(p.id).name.c_str());
    }
    for (PopPlan& p : pops_) {
        if (p.grad_th) std::fill(p.g_th.begin(), p.g_th.end(), 0.0f);
        if (p.grad_tau || p.grad_beta) std::fill(p.g_decay.begin(), p.g_decay.end(), 0.0f);
    }
    run_on_pool(network_.context().pool(), [&](auto& for_each) {
        for (int64_t t = steps_ - 1; t >= 0; --t) step_backward(t, for_each);
        for (ConnPlan& c : conns_)
            if (c.product) product_weight_grad(c, for_each);
    });
    // Trained parameters: the instances' gradients summed in order.
    const double dt = network_.graph().dt;
    for (ParamPlan& q : params_) {
        const PopPlan& p = pops_[static_cast<std::size_t>(q.population)];
        const pvector<float>& partial = q.kind == ParamPlan::Threshold ? p.g_th : p.g_decay;
        const pvector<float>& tau = network_.population(q.population).params[static_cast<std::size_t>(q.index)];
        for (int64_t j = 0; j < p.n; ++j) {
            float sum = 0.0f;
            for (int64_t b = 0; b < batch_; ++b) sum += partial[static_cast<std::size_t>(b * p.n + j)];
            if (q.kind == ParamPlan::TauMem) {  // dE/dtau = E dt / tau^2, E = exp(-dt / tau)
                const double t = tau[static_cast<std::size_t>(j)];
                sum = static_cast<float>(sum * (std::exp(-dt / t) * dt / (t * t)));
            }
            q.grad[static_cast<std::size_t>(j)] += sum;
        }
    }
    for (ConnPlan& c : conns_)
        if (c.conv) {  // the kernel gradient, into the weights' order
            const int64_t size = c.shape.kernel_size();  // the parts' sums, added in part order
            for (int64_t q = 1; q < c.parts; ++q) kernels_.add(c.grad_kernel.data(), c.grad_kernel.data() + q * size, size);
            conv::add_untransposed(c.shape, c.grad_kernel.data(), c.grad.data());
            std::fill(c.grad_kernel.begin(), c.grad_kernel.end(), 0.0f);
        }
    for (PopPlan& p : pops_)
        if (!p.source) p.has_grad = false;  // (its g_out was zeroed row by row as it was read)
    backward_done_ = true;
}

// The reverse of step_forward(t): populations in reverse update order.
// gv holds dL/dv after step t (its reset included); for an exp connection
// gI holds dL/dI after step t's decay. `arrival` receives dL/d(what arrived
// in step t), from which the weight gradient and the presynaptic output's
// gradient follow. Instances run in parallel where each writes its own rows;
// the weight gradient is split by column blocks, each summing the instances
// in order, so its bits do not depend on the split.
template <class ForEach>
void Trainer::step_backward(int64_t t, ForEach& for_each) {
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
        PopPlan& p = pops_[static_cast<std::size_t>(*it)];
        if (p.source) continue;
        const int64_t n = p.n;
        auto recurrence = [&](int64_t b) { backward_instance(p, t, b); };
        for_each(batch_, recurrence);
        // What arrived in step t came from the presynaptic outputs of step t - delay.
        for (int32_t cid : p.incoming) {
            ConnPlan& c = conns_[static_cast<std::size_t>(cid)];
            const int64_t tp = t - c.delay;
            PopPlan& pre = pops_[static_cast<std::size_t>(c.pre)];
            if (c.conv) {
                conv_backward(c, pre, t, for_each);
                continue;
            }
            if (tp < 0) continue;
            if (c.product) {  // its weight gradient comes after the steps (product_weight_grad)
                const int64_t stride = (steps_ - c.delay) * batch_ * cpu::kDenseBlock;
                for (int64_t b = 0; b < batch_; ++b)
                    for (int64_t q = 0, c0 = 0; c0 < n; ++q, c0 += cpu::kDenseBlock)
                        std::copy_n(c.arrival.data() + b * n + c0, std::min(cpu::kDenseBlock, n - c0),
                                    c.arrivals.data() + q * stride + (tp * batch_ + b) * cpu::kDenseBlock);
                if (options_.input_grads) to_pre_dense(c, pre, tp, for_each);
                continue;
            }
            if (c.sparse) {
                sparse_backward(c, pre, tp, for_each);
                continue;
            }
            // Pieces of columns, or for a narrow output (a readout) of rows
            // (words of presynaptic neurons): each piece sums the instances in
            // order into its own part of the gradient.
            constexpr int64_t kColumns = 256;  // columns of the weight gradient per piece of work
            const int64_t column_pieces = (n + kColumns - 1) / kColumns;
            const int64_t row_pieces = column_pieces > 1 ? 1 : std::min<int64_t>(pre.words, 4 * network_.context().threads());
            auto weight_grad = [&](int64_t piece) {
                const int64_t j0 = (piece % column_pieces) * kColumns, width = std::min(kColumns, n - j0);
                const int64_t r = piece / column_pieces, w0 = r * pre.words / row_pieces, w1 = (r + 1) * pre.words / row_pieces;
                for (int64_t b = 0; b < batch_; ++b) {
                    const float* ga = c.arrival.data() + b * n + j0;
                    const uint64_t* bits = pre.bits.data() + (tp * batch_ + b) * pre.words;
                    for (int64_t word = w0; word < w1; ++word)
                        for (uint64_t m = bits[word]; m != 0; m &= m - 1) {
                            float* row = c.grad.data() + (word * 64 + __builtin_ctzll(m)) * n + j0;
                            if (width <= 16) {  // short rows: inline, without a kernel call per spike (the same additions)
                                for (int64_t j = 0; j < width; ++j) row[j] += ga[j];
                            } else {
                                kernels_.add(row, ga, width);
                            }
                        }
                }
            };
            for_each(column_pieces * row_pieces, weight_grad);
            if (!pre.source || options_.input_grads) to_pre_dense(c, pre, tp, for_each);
        }
    }
}

// The kernel's view of step t of instance b of population p.
cpu::TrainNeurons Trainer::neurons_of(PopPlan& p, int64_t t, int64_t b) {
    cpu::TrainNeurons k;
    k.n = p.n;
    k.leaky = p.leaky;
    k.spiking = !p.li;
    k.subtract = p.subtract;
    k.detach = options_.detach_reset != 0;
    k.surrogate = p.surrogate == Surrogate::FastSigmoid ? 0 : p.surrogate == Surrogate::Arctan ? 1 : 2;
    k.v_rest = p.leaky ? p.v_rest.data() : nullptr;
    k.decay = p.coefficients.mem_decay.data();
    if (!p.li) {
        k.v_th = p.v_th.data();
        k.v_reset = p.v_reset.data();
        k.scale = p.scale.data();
        k.m = p.m.data() + (t * batch_ + b) * p.n;
        k.bits = p.bits.data() + (t * batch_ + b) * p.words;
    }
    if (p.adaptive) {
        k.adapt_decay = p.coefficients.adapt_decay.data();
        k.delta_th = p.delta_th.data();
        k.a_decayed = p.a_tape.data() + (t * batch_ + b) * p.n;
    }
    return k;
}

// dL/d(presynaptic output of step tp) += W dL/d(arrival): from zero over
// the nonzero arrival gradients in ascending j, then one addition.
template <class ForEach>
void Trainer::to_pre_dense(ConnPlan& c, PopPlan& pre, int64_t tp, ForEach& for_each) {
    const int64_t n = c.n_post;
    auto to_pre = [&](int64_t b) {
        const float* ga = c.arrival.data() + b * n;
        float* sums = c.sums.data() + b * std::max(c.n_pre, c.n_post);
        kernels_.fill(sums, 0.0f, c.n_pre);
        for (int64_t j = 0; j < n; ++j)
            if (ga[j] != 0.0f) kernels_.add_scaled(sums, c.transposed.data() + j * c.n_pre, ga[j], c.n_pre);
        kernels_.add(pre.g_out.data() + (tp * batch_ + b) * c.n_pre, sums, c.n_pre);
    };
    for_each(batch_, to_pre);
}

// A sparse (or one-to-one) connection's share of step t's backward pass:
// grad[q] += x_pre(t - delay)[i] * dL/d(arrival)[post[q]] for the synapses q
// of the rows i with a nonzero presynaptic output (instances in order; rows
// split among threads), and dL/d(presynaptic output)[i] += the sum over the
// row of w[q] * dL/d(arrival)[post[q]] (from zero, then one addition).
template <class ForEach>
void Trainer::sparse_backward(ConnPlan& c, PopPlan& pre, int64_t tp, ForEach& for_each) {
    const float* w = network_.connection(c.id).weights.data();
    const int64_t n = c.n_post;
    constexpr int64_t kRows = 256;
    auto weight_grad = [&](int64_t piece) {
        const int64_t i0 = piece * kRows, i1 = std::min(c.n_pre, i0 + kRows);
        for (int64_t b = 0; b < batch_; ++b) {
            const float* ga = c.arrival.data() + b * n;
            for (int64_t i = i0; i < i1; ++i) {
                const float x = pre.graded_source ? pre.graded[static_cast<std::size_t>((tp * batch_ + b) * c.n_pre + i)]
                                                  : (spiked(pre, tp, static_cast<int32_t>(b), i) ? 1.0f : 0.0f);
                if (x == 0.0f) continue;
                for (int64_t q = c.row_ptr[i]; q < c.row_ptr[i + 1]; ++q) c.grad[static_cast<std::size_t>(q)] += x * ga[c.post_index[q]];
            }
        }
    };
    for_each((c.n_pre + kRows - 1) / kRows, weight_grad);
    if (pre.source && !options_.input_grads) return;
    auto to_pre = [&](int64_t b) {
        const float* ga = c.arrival.data() + b * n;
        float* g_pre = pre.g_out.data() + (tp * batch_ + b) * c.n_pre;
        for (int64_t i = 0; i < c.n_pre; ++i) {
            float sum = 0.0f;
            for (int64_t q = c.row_ptr[i]; q < c.row_ptr[i + 1]; ++q) sum += w[q] * ga[c.post_index[q]];
            g_pre[i] += sum;
        }
    };
    for_each(batch_, to_pre);
}

// A conv2d connection's share of step t's backward pass: dL/d(arrival)
// back through the pooling (per instance), the biases' gradient (every
// step: they arrive in every step), and from the values that arrived
// (step t - delay) the kernel gradient, by parts of the batch (each part
// summing its instances in order), and dL/d(presynaptic output).
template <class ForEach>
void Trainer::conv_backward(ConnPlan& c, PopPlan& pre, int64_t t, ForEach& for_each) {
    const ConvShape& g = c.shape;
    const int64_t tp = t - c.delay, n = c.n_post, cells = conv::grad_cells(g), origin = conv::grad_origin(g);
    if (g.bias) {  // by blocks of channels among the threads, each summing the instances in order
        const int64_t plane = int64_t(g.out_h) * g.out_w;
        float* grad = c.grad.data() + g.kernel_size();
        constexpr int64_t kLanes = 8;  // channels summed side by side (independent chains; each its own order)
        auto bias_grad = [&](int64_t block) {
            const int64_t c0 = block * kLanes, m = std::min<int64_t>(kLanes, g.out_c - c0);
            for (int64_t b = 0; b < batch_; ++b) {
                const float* ga = c.arrival.data() + b * n;
                float sums[kLanes] = {};
                for (int64_t j = 0; j < plane; ++j)
                    for (int64_t k = 0; k < m; ++k) sums[k] += ga[(c0 + k) * plane + j];
                for (int64_t k = 0; k < m; ++k) grad[c0 + k] += sums[k];
            }
        };
        for_each((g.out_c + kLanes - 1) / kLanes, bias_grad);
    }
    if (tp < 0) return;
    const bool to_pre = !pre.source || options_.input_grads;
    // By parts of the batch (c.parts runs of consecutive instances, a number
    // fixed by the batch size alone), each on one thread with its own
    // scratch and its own sums of the kernel gradient: per instance in
    // order, dL/dconv (while it stays in cache) gives the kernel gradient
    // (every tap, into the part's sums) and dL/d(presynaptic output). No
    // data passes between threads, and the bits do not depend on them: the
    // parts' sums are added in part order after the last step.
    const int64_t plane = int64_t(g.in_h) * g.in_w, units = int64_t(g.in_c) * g.kh;
    auto part = [&](int64_t q) {
        float* gc = c.g_conv.data() + q * cells + origin;  // (the padding stays 0)
        float* sums = c.grad_kernel.data() + q * g.kernel_size();
        const int32_t* ids = c.ids.data() + q * ids_stride(c);
        for (int64_t b = q * batch_ / c.parts; b < (q + 1) * batch_ / c.parts; ++b) {
            kernels_.conv_pool_backward(g, c.arrival.data() + b * n, g.pool == Pool::Max ? c.argmax.data() + (t * batch_ + b) * n : nullptr,
                                        gc);
            const int32_t count = arrivals_of(c, pre, tp, b, q);
            kernels_.conv_weight_grad(g, ids, pre.graded_source ? c.values.data() + q * c.n_pre : nullptr, count, 0, units, gc, sums,
                                      c.work.data() + q * c.work_words);
            if (!to_pre) continue;
            float* gp = c.g_pre.data() + q * c.n_pre;  // channels-last
            kernels_.fill(gp, 0.0f, c.n_pre);
            kernels_.conv_input_grad(g, c.kernel_in.data(), gc, gp, c.column.data() + q * conv::input_grad_stride(g),
                                     c.nonzero.data() + q * (g.out_c + 16));
            kernels_.add_transposed(pre.g_out.data() + (tp * batch_ + b) * c.n_pre, gp, plane, g.in_c);
        }
    };
    for_each(c.parts, part);
}

// leaky, step t of instance b (docs/models.md): with v the last step's
// membrane and x the step's input (delta inputs, then exp currents),
//   m = beta * (reset "zero" and v > v_th ? 0 : v) + x - (reset "subtract" and v > v_th ? v_th : 0)
// and a spike when m > v_th; v becomes m.
void Trainer::forward_leaky(PopPlan& p, int64_t t, int64_t b) {
    const int64_t n = p.n;
    float* __restrict v = p.v.data() + b * n;
    float* __restrict input = p.input.data() + b * n;
    const float* __restrict ei = p.work.data() + b * n;
    float* __restrict m = p.m.data() + (t * batch_ + b) * n;
    uint64_t* bits = p.bits.data() + (t * batch_ + b) * p.words;
    const float* beta = p.coefficients.mem_decay.data();
    const float* v_th = p.v_th.data();
    for (int64_t j = 0; j < n; ++j) {
        const bool reset = v[j] > v_th[j];
        const float x = input[j] + ei[j];
        float value = beta[j] * (p.leaky_reset == LeakyReset::Zero && reset ? 0.0f : v[j]) + x;
        if (p.leaky_reset == LeakyReset::Subtract && reset) value -= v_th[j];
        m[j] = v[j] = value;
        input[j] = 0.0f;
        if (value > v_th[j]) bits[j >> 6] |= uint64_t(1) << (j & 63);
    }
}

// The reverse of forward_leaky. gv: in dL/dv after step t, out dL/dv after
// step t - 1; gr: in dL/ds(t) from step t + 1's reset, out dL/ds(t - 1) from
// this step's (zero with detach_reset, as snnTorch, whose reset is detached);
// work: out dL/dm = dL/dx.
void Trainer::backward_leaky(PopPlan& p, int64_t t, int64_t b) {
    const int64_t n = p.n;
    const float* g_out = p.g_out.data() + (t * batch_ + b) * n;
    const float* m = p.m.data() + (t * batch_ + b) * n;
    const float* before = t > 0 ? p.m.data() + ((t - 1) * batch_ + b) * n : p.v_start.data() + b * n;
    float* gv = p.gv.data() + b * n;
    float* gr = p.gr.data() + b * n;
    float* gm = p.work.data() + b * n;
    const float* beta = p.coefficients.mem_decay.data();
    const float* v_th = p.v_th.data();
    const bool detach = options_.detach_reset != 0;
    for (int64_t j = 0; j < n; ++j) {
        const float k = p.scale[static_cast<std::size_t>(j)], x = m[j] - v_th[j];
        const float slope = p.surrogate == Surrogate::FastSigmoid ? 1.0f / ((1.0f + k * std::fabs(x)) * (1.0f + k * std::fabs(x)))
                            : p.surrogate == Surrogate::Arctan   ? (k / 2.0f) / (1.0f + (1.57079632679489662f * k * x) * (1.57079632679489662f * k * x))
                                                                   : std::max(0.0f, 1.0f - k * std::fabs(x));
        const float g = gv[j] + (g_out[j] + gr[j]) * slope;
        gm[j] = g;
        const bool reset = before[j] > v_th[j];
        const bool zeroed = p.leaky_reset == LeakyReset::Zero && reset;
        if (p.grad_th)  // through the spike's threshold and a subtracted reset
            p.g_th[static_cast<std::size_t>(b * n + j)] -= (g_out[j] + gr[j]) * slope + (p.leaky_reset == LeakyReset::Subtract && reset ? g : 0.0f);
        if (p.grad_beta) p.g_decay[static_cast<std::size_t>(b * n + j)] += zeroed ? 0.0f : g * before[j];
        gv[j] = zeroed ? 0.0f : g * beta[j];
        gr[j] = detach ? 0.0f
                : p.leaky_reset == LeakyReset::Subtract ? -v_th[j] * g
                : p.leaky_reset == LeakyReset::Zero     ? -beta[j] * before[j] * g
                                                        : 0.0f;
    }
}

void Trainer::backward_instance(PopPlan& p, int64_t t, int64_t b) {
    const int64_t n = p.n;
    const float* __restrict gv;
    const float* __restrict gm = p.work.data() + b * n;  // dL/d(v before the threshold)
    if (p.discrete) {
        backward_leaky(p, t, b);
        gv = gm;  // the input is added undecayed: dL/dx = dL/dm
    } else {
        cpu::TrainNeurons k = neurons_of(p, t, b);
        k.g_out = p.g_out.data() + (t * batch_ + b) * n;
        k.gv = p.gv.data() + b * n;
        k.gm = p.work.data() + b * n;
        if (p.adaptive) k.ga = p.ga.data() + b * n;
        if (p.grad_th) std::copy(k.gv, k.gv + n, p.gv_in.data() + b * n);
        kernels_.train_backward(k);
        gv = k.gv;
        if (p.grad_th) {
            // dL/dm = g + dL/ds * sigma'(m - threshold) with g = dL/dv (reset "value": 0
            // after a spike); the threshold enters through sigma's argument and, with
            // reset "subtract", through v = m - s (v_th - v_reset).
            const float* g_in = p.gv_in.data() + b * n;
            float* g_th = p.g_th.data() + b * n;
            for (int64_t j = 0; j < n; ++j) {
                const bool s = spiked(p, t, static_cast<int32_t>(b), j);
                const float g = p.subtract || !s ? g_in[j] : 0.0f;
                g_th[j] -= (gm[j] - g) + (p.subtract && s ? g_in[j] : 0.0f);
            }
        }
        if (p.grad_tau) {  // m = v_rest + (u - v_rest) E + ...: dL/dE = dL/dm (u - v_rest)
            const float* u = p.u_tape.data() + (t * batch_ + b) * n;
            float* g_decay = p.g_decay.data() + b * n;
            for (int64_t j = 0; j < n; ++j) g_decay[j] += gm[j] * u[j];
        }
    }
    for (int32_t cid : p.incoming) {
        ConnPlan& c = conns_[static_cast<std::size_t>(cid)];
        float* __restrict arrival = c.arrival.data() + b * n;
        if (!c.exp) {
            std::copy(gv, gv + n, arrival);
            continue;
        }
        float* gI = c.gI.data() + b * n;  // dL/dI' = dL/dI * E + dL/dm * c
        kernels_.scale(gI, c.coefficients.decay, n);
        kernels_.multiply_add(gI, gm, c.coefficients.current_gain.data(), n);
        std::copy(gI, gI + n, arrival);
    }
    // Nothing adds to this row of g_out after it is read (the steps run in
    // reverse, the populations in reverse update order): zeroed here, while
    // in cache, it is ready for the next pass.
    kernels_.fill(p.g_out.data() + (t * batch_ + b) * n, 0.0f, n);
}

void Trainer::read_input_grad(int32_t population, float* out, int64_t count) const {
    const PopPlan& p = plan_of(population);
    const char* name = network_.population(population).name.c_str();
    if (!options_.input_grads) throw fail(SNN_STATE, "input gradients: create the trainer with options.input_grads = 1");
    if (!p.source) throw fail(SNN_INVALID_ARGUMENT, "population \"%s\" is not a source", name);
    if (!backward_done_) throw fail(SNN_STATE, "no backward pass since the last forward pass");
    const int64_t total = steps_ * batch_ * p.n;
    if (count != total)
        throw fail(SNN_SHAPE, "out_grad: %lld values; [steps, batch, n] holds %lld", static_cast<long long>(count), static_cast<long long>(total));
    std::copy(p.g_out.begin(), p.g_out.end(), out);
}

void Trainer::zero_grad() {
    for (ConnPlan& c : conns_) std::fill(c.grad.begin(), c.grad.end(), 0.0f);
    for (ParamPlan& q : params_) std::fill(q.grad.begin(), q.grad.end(), 0.0f);
}

void Trainer::train_param(int32_t population, std::string_view name, bool trainable) {
    PopPlan& p = plan_of(population);
    const Population& pop = network_.population(population);
    const NeuronKind kind = pop.neuron_model().kind;
    ParamPlan::Kind what;
    if (name == "v_th" && p.spiking && !p.source) {
        what = ParamPlan::Threshold;
    } else if ((name == "tau_mem" || name == "beta") &&
               (kind == NeuronKind::LIF || kind == NeuronKind::ALIF || kind == NeuronKind::LI)) {
        what = name == "beta" ? ParamPlan::Decay : ParamPlan::TauMem;
        for (int32_t cid : p.incoming)
            if (conns_[static_cast<std::size_t>(cid)].exp)
                throw fail(SNN_UNSUPPORTED, "%.*s of \"%s\": trained only where every input is a delta synapse (an exp "
                           "synapse's gain depends on tau_mem)", static_cast<int>(name.size()), name.data(), pop.name.c_str());
    } else if (name == "beta" && kind == NeuronKind::Leaky) {
        what = ParamPlan::Beta;
    } else {
        throw fail(SNN_INVALID_ARGUMENT, "name: \"%.*s\" of population \"%s\" (%s) cannot be trained (v_th of spiking "
                   "layers, tau_mem or beta of lif, alif and li, beta of leaky can)", static_cast<int>(name.size()), name.data(),
                   pop.name.c_str(), pop.neuron_model().name);
    }
    // tau_mem and beta of one lif are one parameter: one of them at a time.
    auto same = [&](const ParamPlan& q) {
        const bool decay_like = what == ParamPlan::TauMem || what == ParamPlan::Decay;
        return q.population == population && (q.kind == what || (decay_like && (q.kind == ParamPlan::TauMem || q.kind == ParamPlan::Decay)));
    };
    auto it = std::find_if(params_.begin(), params_.end(), same);
    if (trainable && it != params_.end() && it->kind != what) params_.erase(it), it = params_.end();
    if (!trainable) {
        if (it != params_.end()) params_.erase(it);
    } else if (it == params_.end()) {
        ParamPlan q(memory_);
        q.population = population;
        q.kind = what;
        q.index = pop.neuron_model().param_index(what == ParamPlan::Decay ? "tau_mem" : name);
        q.grad.assign(static_cast<std::size_t>(p.n), 0.0f);
        params_.push_back(std::move(q));
    }
    bool* flag = what == ParamPlan::Threshold ? &p.grad_th : what == ParamPlan::Beta ? &p.grad_beta : &p.grad_tau;
    *flag = trainable;
}

void Trainer::read_param_grad(int32_t population, std::string_view name, float* out, int64_t count) const {
    plan_of(population);
    for (const ParamPlan& q : params_)
        if (q.population == population &&
            (q.kind == ParamPlan::Decay ? name == "beta"
                                        : std::string_view(network_.population(population).neuron_model().params[static_cast<std::size_t>(q.index)].name) == name)) {
            if (count != static_cast<int64_t>(q.grad.size()))
                throw fail(SNN_SHAPE, "out_grad: %lld values; the population has %lld neurons", static_cast<long long>(count),
                           static_cast<long long>(q.grad.size()));
            std::copy(q.grad.begin(), q.grad.end(), out);
            return;
        }
    throw fail(SNN_STATE, "\"%.*s\" of population \"%s\" is not trained (snn_trainer_train_param)", static_cast<int>(name.size()),
               name.data(), network_.population(population).name.c_str());
}

void Trainer::read_grad(int32_t connection, float* out, int64_t count) const {
    const ConnPlan& c = conn_of(connection);
    if (!out) throw fail(SNN_INVALID_ARGUMENT, "out_grad: is NULL");
    if (count != static_cast<int64_t>(c.grad.size()))
        throw fail(SNN_SHAPE, "out_grad: %lld values; the connection has %lld weights", static_cast<long long>(count),
                   static_cast<long long>(c.grad.size()));
    std::copy(c.grad.begin(), c.grad.end(), out);
}

void Trainer::write_grad(int32_t connection, const float* grad, int64_t count) {
    ConnPlan& c = conn_of(connection);
    if (!grad) throw fail(SNN_INVALID_ARGUMENT, "grad: is NULL");
    if (count != static_cast<int64_t>(c.grad.size()))
        throw fail(SNN_SHAPE, "grad: %lld values; the connection has %lld weights", static_cast<long long>(count),
                   static_cast<long long>(c.grad.size()));
    for (int64_t k = 0; k < count; ++k)
        if (!std::isfinite(grad[k])) throw fail(SNN_INVALID_ARGUMENT, "grad: value %lld is not finite", static_cast<long long>(k));
    std::copy(grad, grad + count, c.grad.begin());
}

void Trainer::set_optimizer(const snn_optimizer_options& o) {
    if (o.kind != SNN_OPTIMIZER_SGD && o.kind != SNN_OPTIMIZER_ADAM && o.kind != SNN_OPTIMIZER_ADAMW)
        throw fail(SNN_INVALID_ARGUMENT, "options.kind: %d is not an SNN_OPTIMIZER_*", o.kind);
    auto check = [](double x, const char* what, bool below_one) {
        if (!std::isfinite(x) || x < 0.0 || (below_one && x >= 1.0))
            throw fail(SNN_INVALID_ARGUMENT, "options.%s: %g; expected a finite value >= 0%s", what, x, below_one ? " and < 1" : "");
    };
    check(o.learning_rate, "learning_rate", false);
    check(o.momentum, "momentum", true);
    check(o.beta1, "beta1", true);
    check(o.beta2, "beta2", true);
    check(o.eps, "eps", false);
    check(o.weight_decay, "weight_decay", false);
    check(o.clip_norm, "clip_norm", false);
    optimizer_ = o;
    optimizer_steps_ = 0;
    for (ConnPlan& c : conns_) {
        c.moment1.clear();
        c.moment2.clear();
    }
    for (ParamPlan& q : params_) {
        q.moment1.clear();
        q.moment2.clear();
    }
}

void Trainer::optimizer_step() {
    check_unchanged();
    const snn_optimizer_options& o = optimizer_;
    ++optimizer_steps_;
    // Clipping by the joint norm of every gradient, summed in order (Decision 5):
    // connections by id, then the trained parameters.
    float clip = 1.0f;
    if (o.clip_norm > 0.0) {
        double squares = 0.0;
        for (const ConnPlan& c : conns_)
            for (float x : c.grad) squares += static_cast<double>(x) * x;
        for (const ParamPlan& q : params_)
            for (float x : q.grad) squares += static_cast<double>(x) * x;
        const double norm = std::sqrt(squares);
        if (norm > o.clip_norm) clip = static_cast<float>(o.clip_norm / (norm + 1e-6));
    }
    const float lr = static_cast<float>(o.learning_rate), wd = static_cast<float>(o.weight_decay);
    const float beta1 = static_cast<float>(o.beta1), beta2 = static_cast<float>(o.beta2), eps = static_cast<float>(o.eps);
    const float momentum = static_cast<float>(o.momentum);
    const double steps = static_cast<double>(optimizer_steps_);
    const float step_size = static_cast<float>(o.learning_rate / (1.0 - std::pow(o.beta1, steps)));
    const float root_bc2 = static_cast<float>(std::sqrt(1.0 - std::pow(o.beta2, steps)));
    // One array of values and its gradient: the new values into `out`.
    auto update = [&](const float* values, const pvector<float>& grads, pvector<float>& moment1, pvector<float>& moment2, float* out) {
        const std::size_t size = grads.size();
        if (moment1.size() != size) moment1.assign(size, 0.0f);
        if (o.kind != SNN_OPTIMIZER_SGD && moment2.size() != size) moment2.assign(size, 0.0f);
        for (std::size_t q = 0; q < size; ++q) {
            float x = values[q];
            float grad = grads[q] * clip;
            if (o.kind == SNN_OPTIMIZER_ADAMW) {
                x *= 1.0f - lr * wd;
            } else if (wd != 0.0f) {
                grad += wd * x;
            }
            if (o.kind == SNN_OPTIMIZER_SGD) {
                if (momentum != 0.0f) {
                    moment1[q] = momentum * moment1[q] + grad;
                    grad = moment1[q];
                }
                x -= lr * grad;
            } else {
                moment1[q] = beta1 * moment1[q] + (1.0f - beta1) * grad;
                moment2[q] = beta2 * moment2[q] + (1.0f - beta2) * grad * grad;
                const float denom = std::sqrt(moment2[q]) / root_bc2 + eps;
                x -= step_size * (moment1[q] / denom);
            }
            out[q] = x;
        }
    };
    for (ConnPlan& c : conns_) {
        update(network_.connection(c.id).weights.data(), c.grad, c.moment1, c.moment2, c.scratch.data());
        network_.set_weights(c.id, c.scratch.data(), static_cast<int64_t>(c.grad.size()));
    }
    const double dt = network_.graph().dt;
    const float shortest_tau = static_cast<float>(dt / 1000.0);
    pvector<float> decays(memory_);
    for (ParamPlan& q : params_) {
        const Population& pop = network_.population(q.population);
        const pvector<float>& values = pop.params[static_cast<std::size_t>(q.index)];
        q.scratch.resize(q.grad.size());
        if (q.kind == ParamPlan::Decay) {  // the decay exp(-dt / tau_mem), as the core computes it
            decays.resize(values.size());
            for (std::size_t j = 0; j < values.size(); ++j) decays[j] = static_cast<float>(std::exp(-dt / values[j]));
            update(decays.data(), q.grad, q.moment1, q.moment2, q.scratch.data());
        } else {
            update(values.data(), q.grad, q.moment1, q.moment2, q.scratch.data());
        }
        for (float& x : q.scratch) {  // kept where the model is defined
            if (q.kind == ParamPlan::TauMem) x = std::max(x, shortest_tau);
            if (q.kind == ParamPlan::Beta) x = std::min(1.0f, std::max(0.0f, x));
            if (q.kind == ParamPlan::Decay)  // back to tau_mem, the decay within [1e-6, 1 - 1e-6]
                x = static_cast<float>(-dt / std::log(std::min(1.0 - 1e-6, std::max(1e-6, static_cast<double>(x)))));
        }
        network_.set_param_array(q.population, pop.neuron_model().params[static_cast<std::size_t>(q.index)].name, q.scratch.data(),
                                 static_cast<int64_t>(q.scratch.size()));
    }
}

int64_t Trainer::tape_bytes() const {
    int64_t bytes = 0;
    for (const PopPlan& p : pops_)
        bytes += static_cast<int64_t>(p.bits.size() * sizeof(uint64_t) +
                                      (p.graded.size() + p.m.size() + p.a_tape.size()) * sizeof(float));
    for (const ConnPlan& c : conns_) bytes += static_cast<int64_t>(c.argmax.size());
    return bytes;
}

}  // namespace snn
