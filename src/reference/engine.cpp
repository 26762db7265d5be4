// The "reference" backend: plain scalar C++ that follows docs/models.md line
// by line. It is kept for good as the oracle every faster backend is tested
// against, so clarity wins over speed here — but it is still event-driven
// (only rows of presynaptic neurons that emitted are visited) so that the
// reference runs of CUBA and COBA take seconds, not minutes.
//
// State layout is the logical one: every per-neuron array is [capacity][n]
// with the running batch in the first rows.
#include <algorithm>
#include <cmath>

#include "core/coefficients.h"
#include "core/error.h"
#include "core/network.h"
#include "core/phi.h"
#include "core/rng.h"
#include "core/wta.h"

namespace snn {

namespace {

struct PopulationState {
    explicit PopulationState(std::pmr::memory_resource* mr)
        : vars(mr), refractory(mr), spikes(mr), history(mr), spike_ids(mr), spike_counts(mr), coefficients(mr), incoming(mr),
          margin(mr), winner(mr) {}

    pvector<pvector<float>> vars;  // [var][capacity * n]
    pvector<int32_t> refractory;   // steps still held, [capacity * n]
    pvector<uint8_t> spikes;       // last step, [capacity * n]
    pvector<float> history;        // emitted values, [depth][capacity * n]
    int32_t depth = 0;             // delay-line length: max outgoing delay + 1 (0: no outgoing connections)
    pvector<int32_t> spike_ids;    // [capacity][n], first spike_counts[b] valid
    pvector<int32_t> spike_counts; // [capacity]
    PopulationCoefficients coefficients;
    pvector<int32_t> incoming;     // connection ids, ascending
    pvector<float> margin;         // winner-take-all: v - threshold of the neurons that crossed it, [n]
    pvector<uint8_t> winner;       // [n]
};

struct ConnectionState {
    explicit ConnectionState(std::pmr::memory_resource* mr) : synaptic(mr), sums(mr), conv(mr), kernel(mr), coefficients(mr) {}
    pvector<float> synaptic;  // I or g, [capacity * n_post]
    pvector<float> sums;      // the dense product and conv2d: one step's sum per target, [n_post]
    pvector<float> conv;      // conv2d: the convolution, channels-last (core/conv.h)
    pvector<float> kernel;    // conv2d: the kernel as [in_c][kh][kw][out_c]
    ConnectionCoefficients coefficients;
};

class ReferenceEngine final : public Engine {
public:
    ReferenceEngine(const Network& network, int32_t capacity)
        : network_(network), graph_(network.graph()), memory_(network.memory()), capacity_(capacity), batch_(capacity),
          pops_(memory_), conns_(memory_) {
        for (std::size_t p = 0; p < graph_.populations.size(); ++p) {
            const Population& pop = graph_.populations[p];
            const std::size_t cells = static_cast<std::size_t>(capacity_ * pop.size);
            PopulationState s(memory_);
            for (std::size_t v = 0; v < pop.neuron_model().state_vars.size(); ++v) s.vars.emplace_back(cells, 0.0f);
            s.refractory.assign(cells, 0);
            s.spikes.assign(cells, 0);
            s.depth = graph_.max_outgoing_delay(static_cast<int32_t>(p)) + 1;
            bool has_outgoing = false;
            for (const Connection& c : graph_.connections) has_outgoing |= c.pre == static_cast<int32_t>(p);
            if (!has_outgoing) s.depth = 0;
            s.history.assign(cells * static_cast<std::size_t>(s.depth), 0.0f);
            s.spike_ids.assign(cells, 0);
            s.spike_counts.assign(static_cast<std::size_t>(capacity_), 0);
            if (pop.wta_mode() != WtaMode::None) {
                s.margin.assign(static_cast<std::size_t>(pop.size), -1.0f);
                s.winner.assign(static_cast<std::size_t>(pop.size), 0);
            }
            for (std::size_t c = 0; c < graph_.connections.size(); ++c)
                if (graph_.connections[c].post == static_cast<int32_t>(p)) s.incoming.push_back(static_cast<int32_t>(c));
            pops_.push_back(std::move(s));
        }
        for (const Connection& c : graph_.connections) {
            const int64_t n_post = graph_.populations[static_cast<std::size_t>(c.post)].size;
            ConnectionState s(memory_);
            if (!c.synapse_model().state_vars.empty()) s.synaptic.assign(static_cast<std::size_t>(capacity_ * n_post), 0.0f);
            if (dense_product(c) || c.kind == SNN_CONNECTION_CONV2D) s.sums.assign(static_cast<std::size_t>(n_post), 0.0f);
            if (c.kind == SNN_CONNECTION_CONV2D) {
                s.conv.assign(static_cast<std::size_t>(c.conv.conv_cells()), 0.0f);
                s.kernel.assign(static_cast<std::size_t>(c.conv.kernel_size()), 0.0f);
            }
            conns_.push_back(std::move(s));
        }
        parameters_changed();
    }

    const char* backend_name() const override { return "reference"; }

    // A dense connection from a current source (graded values): the dense product.
    bool dense_product(const Connection& c) const {
        return c.kind == SNN_CONNECTION_DENSE &&
               graph_.populations[static_cast<std::size_t>(c.pre)].neuron_model().kind == NeuronKind::CurrentSource;
    }

    void set_batch(int32_t batch) override {
        for (std::size_t p = 0; p < pops_.size(); ++p) {
            const int64_t n = graph_.populations[p].size;
            for (int32_t b = batch_; b < batch; ++b) clear_instance(p, b, n);
        }
        batch_ = batch;
    }

    void load_initial_state() override {
        for (std::size_t p = 0; p < pops_.size(); ++p) {
            PopulationState& s = pops_[p];
            for (std::size_t v = 0; v < s.vars.size(); ++v)
                network_.initial_state(Owner::Population, static_cast<int32_t>(p), static_cast<int>(v), s.vars[v].data());
            for (int32_t b = 0; b < capacity_; ++b) clear_instance(p, b, graph_.populations[p].size);
        }
        for (std::size_t c = 0; c < conns_.size(); ++c)
            if (!conns_[c].synaptic.empty())
                network_.initial_state(Owner::Connection, static_cast<int32_t>(c), 0, conns_[c].synaptic.data());
    }

    void parameters_changed() override {
        for (std::size_t p = 0; p < pops_.size(); ++p)
            compute_population_coefficients(graph_, static_cast<int32_t>(p), &pops_[p].coefficients);
        for (std::size_t c = 0; c < conns_.size(); ++c) {
            compute_connection_coefficients(graph_, static_cast<int32_t>(c), &conns_[c].coefficients);
            const Connection& conn = graph_.connections[c];
            if (conn.kind == SNN_CONNECTION_CONV2D) conv::transpose_kernel(conn.conv, conn.weights.data(), conns_[c].kernel.data());
        }
    }

    // Delivery reads the graph's weights, but for conv2d's transposed kernel.
    void weights_changed(int32_t connection, const int32_t*, int64_t, const int32_t*, int64_t) override {
        const Connection& c = graph_.connections[static_cast<std::size_t>(connection)];
        if (c.kind == SNN_CONNECTION_CONV2D) conv::transpose_kernel(c.conv, c.weights.data(), conns_[static_cast<std::size_t>(connection)].kernel.data());
    }

    void read_state(Owner owner, int32_t id, int var, float* out) const override {
        const pvector<float>& src = owner == Owner::Population ? pops_[static_cast<std::size_t>(id)].vars[static_cast<std::size_t>(var)]
                                                               : conns_[static_cast<std::size_t>(id)].synaptic;
        std::copy(src.begin(), src.begin() + batch_ * size_of(owner, id), out);
    }

    void write_state(Owner owner, int32_t id, int var, const float* values) override {
        pvector<float>& dst = owner == Owner::Population ? pops_[static_cast<std::size_t>(id)].vars[static_cast<std::size_t>(var)]
                                                         : conns_[static_cast<std::size_t>(id)].synaptic;
        std::copy(values, values + batch_ * size_of(owner, id), dst.begin());
    }

    float* state_data(Owner owner, int32_t id, int var) override {
        return owner == Owner::Population ? pops_[static_cast<std::size_t>(id)].vars[static_cast<std::size_t>(var)].data()
                                          : conns_[static_cast<std::size_t>(id)].synaptic.data();
    }

    const uint8_t* spikes(int32_t population) const override { return pops_[static_cast<std::size_t>(population)].spikes.data(); }

    const int32_t* spike_ids(int32_t population, int32_t b, int32_t* count) const override {
        const PopulationState& s = pops_[static_cast<std::size_t>(population)];
        *count = s.spike_counts[static_cast<std::size_t>(b)];
        return s.spike_ids.data() + b * graph_.populations[static_cast<std::size_t>(population)].size;
    }

    int32_t delay_line_depth(int32_t population) const override { return pops_[static_cast<std::size_t>(population)].depth; }

    void read_internal(int32_t population, int32_t* refractory, float* delay_line, uint8_t* spikes) const override {
        const PopulationState& s = pops_[static_cast<std::size_t>(population)];
        const int64_t cells = batch_ * graph_.populations[static_cast<std::size_t>(population)].size;
        std::copy_n(s.refractory.begin(), cells, refractory);
        std::copy_n(s.spikes.begin(), cells, spikes);
        for (int32_t d = 0; d < s.depth; ++d)
            std::copy_n(s.history.begin() + d * capacity_ * (cells / batch_), cells, delay_line + d * cells);
    }

    void write_internal(int32_t population, const int32_t* refractory, const float* delay_line, const uint8_t* spikes) override {
        PopulationState& s = pops_[static_cast<std::size_t>(population)];
        const int64_t n = graph_.populations[static_cast<std::size_t>(population)].size;
        const int64_t cells = batch_ * n;
        std::copy_n(refractory, cells, s.refractory.begin());
        std::copy_n(spikes, cells, s.spikes.begin());
        for (int32_t d = 0; d < s.depth; ++d)
            std::copy_n(delay_line + d * cells, cells, s.history.begin() + d * capacity_ * n);
        for (int32_t b = 0; b < batch_; ++b) {  // the callbacks' view of the last step
            int32_t count = 0;
            for (int64_t j = 0; j < n; ++j)
                if (s.spikes[static_cast<std::size_t>(b * n + j)]) s.spike_ids[static_cast<std::size_t>(b * n + count++)] = static_cast<int32_t>(j);
            s.spike_counts[static_cast<std::size_t>(b)] = count;
        }
    }

    void step(int64_t t, const InputView* inputs) override {
        for (int32_t p : graph_.update_order) {
            const Population& pop = graph_.populations[static_cast<std::size_t>(p)];
            for (int32_t b = 0; b < batch_; ++b) {
                if (pop.neuron_model().is_input)
                    update_source(p, b, t, inputs[p]);
                else {
                    deliver(p, b, t);
                    integrate(p, b, t);
                }
                emit(p, b, t);
            }
        }
    }

private:
    int64_t size_of(Owner owner, int32_t id) const {
        return owner == Owner::Population ? graph_.populations[static_cast<std::size_t>(id)].size
                                          : graph_.populations[static_cast<std::size_t>(graph_.connections[static_cast<std::size_t>(id)].post)].size;
    }

    void clear_instance(std::size_t p, int32_t b, int64_t n) {
        PopulationState& s = pops_[p];
        std::fill_n(s.refractory.begin() + b * n, n, 0);
        std::fill_n(s.spikes.begin() + b * n, n, uint8_t(0));
        for (int32_t d = 0; d < s.depth; ++d) std::fill_n(s.history.begin() + (d * capacity_ + b) * n, n, 0.0f);
        s.spike_counts[static_cast<std::size_t>(b)] = 0;
    }

    // Phase 4 for sources and the output of phase 3 for neurons: the value a
    // neuron sends down its connections this step is kept in its delay line.
    // Sources compute their output here; `spikes` already holds it for neurons.
    void update_source(int32_t p, int32_t b, int64_t t, const InputView& in) {
        const Population& pop = graph_.populations[static_cast<std::size_t>(p)];
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        const int64_t n = pop.size;
        uint8_t* spikes = s.spikes.data() + b * n;
        const NeuronKind kind = pop.neuron_model().kind;
        const float dt = static_cast<float>(graph_.dt);
        for (int64_t j = 0; j < n; ++j) {
            float value = 0.0f;
            switch (kind) {
                case NeuronKind::SpikeSource:
                    value = (in.data && input_value(in, b, j) != 0.0f) ? 1.0f : 0.0f;
                    break;
                case NeuronKind::CurrentSource:
                    value = in.data ? input_value(in, b, j) : pop.params[current_param::current][static_cast<std::size_t>(j)];
                    break;
                case NeuronKind::Poisson: {
                    const float probability = in.data ? input_value(in, b, j) * dt : s.coefficients.spike_probability[static_cast<std::size_t>(j)];
                    const uint32_t stream = kStreamPoisson + (static_cast<uint32_t>(p) << 8);
                    // One Philox block gives four words: neurons 4m..4m+3 use words 0..3 of block m.
                    const float u = uniform_float(random_words(graph_.seed, stream, static_cast<uint32_t>(b), static_cast<uint64_t>(t),
                                                               static_cast<uint32_t>(j >> 2)).v[j & 3]);
                    value = u < probability ? 1.0f : 0.0f;
                    break;
                }
                default:
                    break;
            }
            spikes[j] = kind == NeuronKind::CurrentSource ? 0 : static_cast<uint8_t>(value != 0.0f);
            if (s.depth > 0) s.history[static_cast<std::size_t>((((t % s.depth) * capacity_ + b) * n) + j)] = value;
        }
    }

    // Phase 1: every incoming connection adds each arriving value w_ij * x_i
    // straight to its target (v for delta, else the synaptic state), rows in
    // ascending presynaptic order and each row in its stored order.
    void deliver(int32_t p, int32_t b, int64_t t) {
        const Population& pop = graph_.populations[static_cast<std::size_t>(p)];
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        const int64_t n = pop.size;
        for (int32_t c_id : s.incoming) {
            const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
            ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
            const PopulationState& pre = pops_[static_cast<std::size_t>(c.pre)];
            const int64_t n_pre = graph_.populations[static_cast<std::size_t>(c.pre)].size;
            auto emitted = [&](int32_t delay) {  // row of instance b, `delay` steps ago
                const int64_t slot = ((t - delay) % pre.depth + pre.depth) % pre.depth;
                return pre.history.data() + (slot * capacity_ + b) * n_pre;
            };
            const bool delta = c.synapse_model().kind == SynapseKind::Delta;
            float* target = delta ? s.vars[0].data() + b * n : cs.synaptic.data() + b * n;  // "v" is the first state variable
            const int32_t* held = s.refractory.data() + b * n;
            // Delta input to a held neuron is discarded.
            auto add = [&](int64_t j, float value) {
                if (!delta || held[j] == 0) target[j] += value;
            };
            if (c.kind == SNN_CONNECTION_SPARSE && c.has_synapse_delays()) {
                for (int64_t i = 0; i < n_pre; ++i)
                    for (int64_t k = c.row_ptr[static_cast<std::size_t>(i)]; k < c.row_ptr[static_cast<std::size_t>(i) + 1]; ++k) {
                        const float x = emitted(c.delays[static_cast<std::size_t>(k)])[i];
                        if (x != 0.0f) add(c.post_index[static_cast<std::size_t>(k)], c.weights[static_cast<std::size_t>(k)] * x);
                    }
                continue;
            }
            const float* row_values = emitted(c.delay);
            if (c.kind == SNN_CONNECTION_CONV2D) {
                // The convolution of the arriving values (nonzero ones, ascending),
                // from zero, pooled, plus the biases, then added once.
                const ConvShape& g = c.conv;
                std::fill(cs.conv.begin(), cs.conv.end(), 0.0f);
                bool any = false;
                for (int64_t i = 0; i < n_pre; ++i) {
                    if (row_values[i] == 0.0f) continue;
                    any = true;
                    const int32_t id = static_cast<int32_t>(i);
                    conv::scatter(g, cs.kernel.data(), &id, &row_values[i], 1, cs.conv.data());
                }
                if (!any && !g.bias) continue;
                conv::pool(g, cs.conv.data(), g.bias ? c.weights.data() + g.kernel_size() : nullptr, cs.sums.data(), nullptr);
                for (int64_t j = 0; j < n; ++j) add(j, cs.sums[static_cast<std::size_t>(j)]);
                continue;
            }
            if (dense_product(c)) {
                // Each target's sum of w * x over the arriving rows (ascending),
                // from zero, then one addition to the target (docs/models.md).
                float* sums = cs.sums.data();
                std::fill(sums, sums + n, 0.0f);
                bool any = false;
                for (int64_t i = 0; i < n_pre; ++i) {
                    const float x = row_values[i];
                    if (x == 0.0f) continue;
                    any = true;
                    const float* w = c.weights.data() + i * n;
                    for (int64_t j = 0; j < n; ++j) sums[j] += w[j] * x;
                }
                if (any)
                    for (int64_t j = 0; j < n; ++j) add(j, sums[j]);
                continue;
            }
            for (int64_t i = 0; i < n_pre; ++i) {
                const float x = row_values[i];
                if (x == 0.0f) continue;
                if (c.kind == SNN_CONNECTION_DENSE) {
                    const float* w = c.weights.data() + i * n;
                    for (int64_t j = 0; j < n; ++j) add(j, w[j] * x);
                } else if (c.kind == SNN_CONNECTION_SPARSE) {
                    for (int64_t k = c.row_ptr[static_cast<std::size_t>(i)]; k < c.row_ptr[static_cast<std::size_t>(i) + 1]; ++k)
                        add(c.post_index[static_cast<std::size_t>(k)], c.weights[static_cast<std::size_t>(k)] * x);
                } else {
                    add(i, c.weights[static_cast<std::size_t>(i)] * x);
                }
            }
        }
    }

    // Phases 2 and 3 for instance b of a non-source population in step t.
    void integrate(int32_t p, int32_t b, int64_t t) {
        const Population& pop = graph_.populations[static_cast<std::size_t>(p)];
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        const PopulationCoefficients& k = s.coefficients;
        const NeuronKind kind = pop.neuron_model().kind;
        const int64_t n = pop.size;
        const ResetMode reset = pop.reset_mode();
        const float dt = static_cast<float>(graph_.dt);
        float* v = s.vars[0].data() + b * n;
        uint8_t* spikes = s.spikes.data() + b * n;
        int32_t* held = s.refractory.data() + b * n;
        auto P = [&](int index, int64_t j) { return pop.params[static_cast<std::size_t>(index)][static_cast<std::size_t>(j)]; };
        // Winner-take-all: the neurons that cross their threshold are only
        // candidates; the winners spike after the loop.
        const bool wta = pop.wta_mode() != WtaMode::None;
        if (wta) std::fill(s.margin.begin(), s.margin.end(), -1.0f);

        for (int64_t j = 0; j < n; ++j) {
            // Sums of synaptic state after delivery, before this step's decay.
            float currents = 0.0f, conductance = 0.0f, driven = 0.0f;  // sum I, sum g, sum g*e_rev
            float exact_input = 0.0f;                                   // sum I * current_gain
            for (int32_t c_id : s.incoming) {
                const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
                const ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
                const SynapseKind sk = c.synapse_model().kind;
                if (sk == SynapseKind::Delta) continue;
                const float x = cs.synaptic[static_cast<std::size_t>(b * n + j)];
                if (sk == SynapseKind::Exp) {
                    currents += x;
                    exact_input += x * cs.coefficients.current_gain[static_cast<std::size_t>(j)];
                } else {
                    conductance += x;
                    driven += x * static_cast<float>(c.syn_params[syn_param::e_rev]);
                }
            }
            // held[j] counts the steps this neuron is still held (docs/models.md, Refractoriness).
            const bool is_held = held[j] > 0;
            if (is_held) --held[j];
            bool spiked = false;
            switch (kind) {
                case NeuronKind::LIF:
                case NeuronKind::ALIF:
                case NeuronKind::LI:
                case NeuronKind::IF: {
                    const bool leaky = kind != NeuronKind::IF;
                    const float v_rest = leaky ? P(lif_param::v_rest, j) : 0.0f;  // v_rest has index 1 in lif, alif and li
                    if (!is_held) {
                        if (k.conductance_based) {
                            // Exponential Euler with synaptic state frozen over the step.
                            const float a = (leaky ? v_rest : 0.0f) + currents + driven;
                            const float g_total = (leaky ? 1.0f : 0.0f) + conductance;
                            const float x = -g_total * k.dt_over_tau[static_cast<std::size_t>(j)];
                            v[j] += (a - g_total * v[j]) * k.dt_over_tau[static_cast<std::size_t>(j)] * phi(x);
                        } else if (leaky) {
                            v[j] = v_rest + ((v[j] - v_rest) * k.mem_decay[static_cast<std::size_t>(j)] + exact_input);
                        } else {
                            v[j] += exact_input;
                        }
                    }
                    if (kind == NeuronKind::LI) break;
                    float threshold = kind == NeuronKind::IF ? P(if_param::v_th, j) : P(lif_param::v_th, j);
                    float* a_th = nullptr;
                    if (kind == NeuronKind::ALIF) {
                        a_th = s.vars[1].data() + b * n + j;
                        *a_th *= k.adapt_decay[static_cast<std::size_t>(j)];
                        threshold += *a_th;
                    }
                    if (!is_held && v[j] > threshold && wta) {
                        s.margin[static_cast<std::size_t>(j)] = v[j] - threshold;
                    } else if (!is_held && v[j] > threshold) {
                        spiked = true;
                        const float v_reset = kind == NeuronKind::IF ? P(if_param::v_reset, j) : P(lif_param::v_reset, j);
                        const float v_th = kind == NeuronKind::IF ? P(if_param::v_th, j) : P(lif_param::v_th, j);
                        v[j] = reset == ResetMode::Value ? v_reset : v[j] - (v_th - v_reset);
                        if (a_th) *a_th += P(alif_param::delta_th, j);
                    }
                    break;
                }
                case NeuronKind::Leaky: {
                    // v holds the last step's membrane: above the threshold, it spiked,
                    // and its reset applies now (docs/models.md, "leaky").
                    float* input = s.vars[leaky_var::input].data() + b * n;
                    float* mem = s.vars[leaky_var::v].data() + b * n;
                    const float v_th = P(leaky_param::v_th, j), beta = k.mem_decay[static_cast<std::size_t>(j)];
                    const bool reset = mem[j] > v_th;
                    const float x = input[j] + exact_input;
                    const LeakyReset mode = pop.leaky_reset();
                    float m = beta * (mode == LeakyReset::Zero && reset ? 0.0f : mem[j]) + x;
                    if (mode == LeakyReset::Subtract && reset) m -= v_th;
                    mem[j] = m;
                    input[j] = 0.0f;
                    spiked = m > v_th;
                    break;
                }
                case NeuronKind::Modulator: {
                    // docs/models.md, "modulator": what arrived this step is added undecayed.
                    float* input = s.vars[modulator_var::input].data() + b * n;
                    float* level = s.vars[modulator_var::m].data() + b * n;
                    level[j] = level[j] * k.mem_decay[static_cast<std::size_t>(j)] + input[j];
                    input[j] = 0.0f;
                    break;
                }
                case NeuronKind::Izhikevich: {
                    float* u = s.vars[1].data() + b * n;
                    if (!is_held) {
                        const float vj = v[j];
                        const float drive = 4e4f * vj * vj + 5e3f * vj + 140.0f - u[j] + P(izh_param::i_offset, j);
                        const float synaptic = currents + driven - conductance * vj;
                        v[j] = vj + dt * drive + k.dt_over_tau[static_cast<std::size_t>(j)] * synaptic;
                        u[j] += dt * P(izh_param::a, j) * (P(izh_param::b, j) * vj - u[j]);
                        if (v[j] > P(izh_param::v_peak, j)) {
                            spiked = true;
                            v[j] = P(izh_param::c, j);
                            u[j] += P(izh_param::d, j);
                        }
                    }
                    break;
                }
                default:
                    break;
            }
            if (spiked) held[j] = k.refractory_steps[static_cast<std::size_t>(j)];
            spikes[j] = spiked ? 1 : 0;
        }
        if (wta) {
            wta::select(pop, s.margin.data(), s.winner.data(), {graph_.seed, p, b, t});
            wta::fire(pop, s.margin.data(), s.winner.data(), k.refractory_steps.data(), v,
                      kind == NeuronKind::ALIF ? s.vars[1].data() + b * n : nullptr, held, spikes);
        }
        // Synaptic state decays over the step whatever the neuron did.
        for (int32_t c_id : s.incoming) {
            ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
            if (cs.synaptic.empty()) continue;
            float* state = cs.synaptic.data() + b * n;
            for (int64_t j = 0; j < n; ++j) state[j] *= cs.coefficients.decay;
        }
    }

    // Phase 4: record spikes for callbacks and the delay line.
    void emit(int32_t p, int32_t b, int64_t t) {
        const Population& pop = graph_.populations[static_cast<std::size_t>(p)];
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        const int64_t n = pop.size;
        const uint8_t* spikes = s.spikes.data() + b * n;
        int32_t* ids = s.spike_ids.data() + b * n;
        int32_t count = 0;
        for (int64_t j = 0; j < n; ++j)
            if (spikes[j]) ids[count++] = static_cast<int32_t>(j);
        s.spike_counts[static_cast<std::size_t>(b)] = count;
        if (s.depth > 0 && !pop.neuron_model().is_input) {
            float* row = s.history.data() + ((t % s.depth) * capacity_ + b) * n;
            for (int64_t j = 0; j < n; ++j) row[j] = spikes[j] ? 1.0f : 0.0f;
        }
    }

    const Network& network_;
    const Graph& graph_;
    std::pmr::memory_resource* memory_;
    int32_t capacity_;
    int32_t batch_;
    pvector<PopulationState> pops_;
    pvector<ConnectionState> conns_;
};

}  // namespace

resource_ptr<Engine> create_reference_engine(const Network& network, int32_t capacity) {
    return make_in<Engine, ReferenceEngine>(network.memory(), network, capacity);
}

}  // namespace snn
