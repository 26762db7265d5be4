#include "core/plasticity.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace snn {

namespace {

// Weight dependence of an update: ((distance to the bound) / (w_max - w_min))^mu,
// exactly 1 for mu = 0 (additive) and the ratio itself for mu = 1 (multiplicative).
inline float weight_factor(float distance, float range, float mu) {
    if (mu == 0.0f) return 1.0f;
    const float x = std::max(distance / range, 0.0f);
    return mu == 1.0f ? x : std::pow(x, mu);
}

inline float clip(float w, float lo, float hi) { return std::min(std::max(w, lo), hi); }

float decay_of(double dt, double tau) { return static_cast<float>(std::exp(-dt / tau)); }

}  // namespace

struct Learner::Rule {
    explicit Rule(std::pmr::memory_resource* mr)
        : pre1(mr), pre2(mr), post1(mr), post2(mr), eligibility(mr), ring_ids(mr), ring_counts(mr), col_ptr(mr), col_synapse(mr),
          synapse_pre(mr), line(mr), sums(mr), pre_event(mr), row_mark(mr), col_mark(mr), rows(mr), cols(mr), changed_rows(mr),
          changed_cols(mr), learned(mr), learn_count(mr), post_learns(mr), modulation(mr), kernel_acc(mr), kernel_touched(mr) {}

    int32_t connection = -1;
    PlasticityKind kind = PlasticityKind::PairSTDP;
    int32_t kind_of_connection = 0;  // SNN_CONNECTION_*
    int32_t pre = -1, post = -1;
    int64_t n_pre = 0, n_post = 0, nnz = 0;
    int32_t lag = 0;       // a presynaptic spike emitted in step m is an event in step m + lag
    bool nearest = false;  // pairing "nearest": a spike sets its traces to 1
    // Traces, [capacity][n_pre] and [capacity][n_post]; eligibility [capacity][nnz].
    pvector<float> pre1, pre2, post1, post2, eligibility;
    // Presynaptic spikes in flight: [lag + 1][capacity][n_pre] ids, [lag + 1][capacity] counts.
    pvector<int32_t> ring_ids, ring_counts;
    // Sparse: the synapses of each postsynaptic neuron (ascending presynaptic
    // neuron), and each synapse's presynaptic neuron.
    pvector<int64_t> col_ptr, col_synapse;
    pvector<int32_t> synapse_pre;
    // One row's or column's weight changes summed over instances (the
    // longest row or column), the presynaptic events by instance
    // [capacity][n_pre], and the rows or columns touched in a phase.
    pvector<float> line;
    pvector<float> sums;  // normalisation: one sum per neuron of the normalised side
    pvector<uint8_t> pre_event, row_mark, col_mark;
    pvector<int32_t> rows, cols;
    // What the last step changed (Learner::Summary), its rows and columns
    // copied out of rows/cols (capacity reserved: no allocation in a step).
    Summary summary;
    pvector<int32_t> changed_rows, changed_cols;
    // Limits on learning postsynaptic spikes between resets (learn_once,
    // learn_limit): which neurons or channels learned, how many spikes learned
    // per instance, and this step's spikes that learn [capacity][n_post].
    int32_t once = 0;  // 0: none, 1: neuron, 2: channel
    // Looked up once (the options are fixed from the first step on; the
    // parameters may change, so only their indices are kept).
    int32_t normalize = 0;  // 0: none, 1: post, 2: pre
    int norm_index = -1, norm_interval_index = -1, learn_limit_index = -1;
    int64_t channel_size = 1;
    pvector<uint8_t> learned;
    pvector<int32_t> learn_count;
    pvector<uint8_t> post_learns;
    // Sets w[k], counting a change.
    void set(float* w, int64_t k, float value) {
        if (value != w[k]) {
            ++summary.synapses_changed;
            summary.total_change += std::fabs(static_cast<double>(value) - static_cast<double>(w[k]));
        }
        w[k] = value;
    }
    // rstdp: the modulator population and its values this step, [batch][n_mod].
    int32_t modulator = -1;
    int64_t n_mod = 0;
    pvector<float> modulation;

    int32_t depth() const { return lag + 1; }

    // conv2d (without pooling): the shared kernel's elements take the place
    // of synapses; a phase sums the changes of every (instance, event) into
    // kernel_acc before applying them, as several synapses share an element.
    bool conv = false;
    ConvShape shape;
    pvector<float> kernel_acc;
    pvector<uint8_t> kernel_touched;
    // fn(k, j) for the synapses of presynaptic neuron i: kernel element k onto
    // postsynaptic neuron j, in the order (out channel, ky, kx).
    template <class Fn>
    void conv_row(int64_t i, Fn fn) const {
        const ConvShape& g = shape;
        const int64_t c = i / (int64_t(g.in_h) * g.in_w), yi = i / g.in_w % g.in_h, xi = i % g.in_w;
        for (int64_t o = 0; o < g.out_c; ++o)
            for (int64_t ky = 0; ky < g.kh; ++ky) {
                const int64_t ty = yi + g.py - ky;
                if (ty < 0 || ty % g.sy != 0 || ty / g.sy >= g.conv_h) continue;
                for (int64_t kx = 0; kx < g.kw; ++kx) {
                    const int64_t tx = xi + g.px - kx;
                    if (tx < 0 || tx % g.sx != 0 || tx / g.sx >= g.conv_w) continue;
                    fn(((o * g.in_c + c) * g.kh + ky) * g.kw + kx, (o * g.conv_h + ty / g.sy) * g.conv_w + tx / g.sx);
                }
            }
    }
    // fn(k, i) for the synapses onto postsynaptic neuron j, in the order (in channel, ky, kx).
    template <class Fn>
    void conv_column(int64_t j, Fn fn) const {
        const ConvShape& g = shape;
        const int64_t o = j / (int64_t(g.conv_h) * g.conv_w), y = j / g.conv_w % g.conv_h, x = j % g.conv_w;
        for (int64_t c = 0; c < g.in_c; ++c)
            for (int64_t ky = 0; ky < g.kh; ++ky) {
                const int64_t yi = y * g.sy + ky - g.py;
                if (yi < 0 || yi >= g.in_h) continue;
                for (int64_t kx = 0; kx < g.kw; ++kx) {
                    const int64_t xi = x * g.sx + kx - g.px;
                    if (xi < 0 || xi >= g.in_w) continue;
                    fn(((o * g.in_c + c) * g.kh + ky) * g.kw + kx, (c * g.in_h + yi) * g.in_w + xi);
                }
            }
    }

    // Calls fn(q, k, j) for the synapses k of presynaptic neuron i, q = 0, 1, ...
    // in stored order (j: the postsynaptic neuron).
    template <class Fn>
    void for_row(const Connection& c, int64_t i, Fn fn) const {
        if (kind_of_connection == SNN_CONNECTION_DENSE) {
            for (int64_t j = 0; j < n_post; ++j) fn(j, i * n_post + j, j);
        } else if (kind_of_connection == SNN_CONNECTION_SPARSE) {
            const int64_t k0 = c.row_ptr[static_cast<std::size_t>(i)];
            for (int64_t k = k0; k < c.row_ptr[static_cast<std::size_t>(i) + 1]; ++k)
                fn(k - k0, k, static_cast<int64_t>(c.post_index[static_cast<std::size_t>(k)]));
        } else {
            fn(0, i, i);
        }
    }
    // Calls fn(q, k, i) for the synapses k onto postsynaptic neuron j, ascending i.
    template <class Fn>
    void for_column(int64_t j, Fn fn) const {
        if (kind_of_connection == SNN_CONNECTION_DENSE) {
            for (int64_t i = 0; i < n_pre; ++i) fn(i, i * n_post + j, i);
        } else if (kind_of_connection == SNN_CONNECTION_SPARSE) {
            const int64_t q0 = col_ptr[static_cast<std::size_t>(j)];
            for (int64_t q = q0; q < col_ptr[static_cast<std::size_t>(j) + 1]; ++q) {
                const int64_t k = col_synapse[static_cast<std::size_t>(q)];
                fn(q - q0, k, static_cast<int64_t>(synapse_pre[static_cast<std::size_t>(k)]));
            }
        } else {
            fn(0, j, j);
        }
    }
    // fn(k, j) / fn(k, i) over a row / a column, whatever the connection's kind.
    template <class Fn>
    void each_in_row(const Connection& c, int64_t i, Fn fn) const {
        if (conv)
            conv_row(i, fn);
        else
            for_row(c, i, [&](int64_t, int64_t k, int64_t j) { fn(k, j); });
    }
    template <class Fn>
    void each_in_column(int64_t j, Fn fn) const {
        if (conv)
            conv_column(j, fn);
        else
            for_column(j, [&](int64_t, int64_t k, int64_t i) { fn(k, i); });
    }
    int64_t post_of(const Connection& c, int64_t k) const {
        if (kind_of_connection == SNN_CONNECTION_DENSE) return k % n_post;
        if (kind_of_connection == SNN_CONNECTION_SPARSE) return c.post_index[static_cast<std::size_t>(k)];
        return k;
    }
};

bool Learner::needed(const Graph& graph) {
    for (const Connection& c : graph.connections)
        if (c.plastic()) return true;
    return false;
}

Learner::Learner(Graph& graph, int32_t capacity, int32_t batch, std::pmr::memory_resource* mr)
    : graph_(graph), memory_(mr), capacity_(capacity), batch_(batch), rules_(mr), index_(mr) {
    index_.assign(graph.connections.size(), -1);
    try {
        for (std::size_t id = 0; id < graph.connections.size(); ++id) {
            const Connection& c = graph.connections[id];
            if (!c.plastic()) continue;
            void* mem = mr->allocate(sizeof(Rule), alignof(Rule));
            Rule* r = new (mem) Rule(mr);
            rules_.push_back(r);
            index_[id] = static_cast<int32_t>(rules_.size() - 1);
            r->connection = static_cast<int32_t>(id);
            r->kind = c.plasticity_model().kind;
            r->kind_of_connection = c.kind;
            r->pre = c.pre;
            r->post = c.post;
            r->n_pre = graph.populations[static_cast<std::size_t>(c.pre)].size;
            r->n_post = graph.populations[static_cast<std::size_t>(c.post)].size;
            r->nnz = c.nnz();
            if (c.kind == SNN_CONNECTION_CONV2D) {
                r->conv = true;
                r->shape = c.conv;
                r->nnz = c.conv.kernel_size();  // the biases do not learn
                r->kernel_acc.assign(static_cast<std::size_t>(r->nnz), 0.0f);
                r->kernel_touched.assign(static_cast<std::size_t>(r->nnz), 0);
            }
            r->lag = std::max(c.delay - 1, 0);
            r->nearest = c.plastic_option("pairing") == "nearest" || r->kind == PlasticityKind::SignSTDP;
            const PlasticityModel& model = c.plasticity_model();
            const std::string_view normalize = c.plastic_option("normalize");
            r->normalize = normalize == "post" ? 1 : normalize == "pre" ? 2 : 0;
            r->norm_index = model.param_index("norm");
            r->norm_interval_index = model.param_index("norm_interval");
            r->learn_limit_index = model.param_index("learn_limit");
            const std::string_view once = c.plastic_option("learn_once");
            r->once = once == "neuron" ? 1 : once == "channel" ? 2 : 0;
            const Population& post_pop = graph.populations[static_cast<std::size_t>(c.post)];
            if (r->once == 2) r->channel_size = post_pop.shape[1] * post_pop.shape[2];
            r->learned.assign(static_cast<std::size_t>(capacity) * static_cast<std::size_t>(r->once == 2 ? post_pop.shape[0] : post_pop.size), 0);
            r->learn_count.assign(static_cast<std::size_t>(capacity), 0);
            r->post_learns.assign(static_cast<std::size_t>(capacity) * static_cast<std::size_t>(post_pop.size), 0);
            const std::size_t cap = static_cast<std::size_t>(capacity);
            r->pre1.assign(cap * static_cast<std::size_t>(r->n_pre), 0.0f);
            r->post1.assign(cap * static_cast<std::size_t>(r->n_post), 0.0f);
            if (r->kind == PlasticityKind::Triplet) {
                r->pre2.assign(r->pre1.size(), 0.0f);
                r->post2.assign(r->post1.size(), 0.0f);
            }
            if (r->kind == PlasticityKind::RewardSTDP) {
                r->eligibility.assign(cap * static_cast<std::size_t>(r->nnz), 0.0f);
                r->modulator = -1;
                const std::string_view name = c.plastic_option("modulator");
                for (std::size_t p = 0; p < graph.populations.size(); ++p)
                    if (name == graph.populations[p].name) r->modulator = static_cast<int32_t>(p);
                if (r->modulator < 0)
                    throw fail(SNN_STATE, "connection \"%s\": rule rstdp needs the option \"modulator\" (the name of a modulator population)",
                               c.name.c_str());
                r->n_mod = graph.populations[static_cast<std::size_t>(r->modulator)].size;
                r->modulation.assign(cap * static_cast<std::size_t>(r->n_mod), 0.0f);
            }
            r->ring_ids.assign(static_cast<std::size_t>(r->depth()) * cap * static_cast<std::size_t>(r->n_pre), 0);
            r->ring_counts.assign(static_cast<std::size_t>(r->depth()) * cap, 0);
            if (c.kind == SNN_CONNECTION_SPARSE) {
                r->col_ptr.assign(static_cast<std::size_t>(r->n_post + 1), 0);
                r->synapse_pre.assign(static_cast<std::size_t>(r->nnz), 0);
                for (int64_t i = 0; i < r->n_pre; ++i)
                    for (int64_t k = c.row_ptr[static_cast<std::size_t>(i)]; k < c.row_ptr[static_cast<std::size_t>(i) + 1]; ++k) {
                        r->synapse_pre[static_cast<std::size_t>(k)] = static_cast<int32_t>(i);
                        ++r->col_ptr[static_cast<std::size_t>(c.post_index[static_cast<std::size_t>(k)]) + 1];
                    }
                for (int64_t j = 0; j < r->n_post; ++j) r->col_ptr[static_cast<std::size_t>(j + 1)] += r->col_ptr[static_cast<std::size_t>(j)];
                pvector<int64_t> next(r->col_ptr.begin(), r->col_ptr.end() - 1, mr);
                r->col_synapse.assign(static_cast<std::size_t>(r->nnz), 0);
                for (int64_t k = 0; k < r->nnz; ++k)  // CSR order: ascending presynaptic neuron within each column
                    r->col_synapse[static_cast<std::size_t>(next[static_cast<std::size_t>(c.post_index[static_cast<std::size_t>(k)])]++)] = k;
            }
            int64_t longest = 1;
            if (c.kind == SNN_CONNECTION_DENSE) longest = std::max(r->n_pre, r->n_post);
            if (c.kind == SNN_CONNECTION_SPARSE)
                for (int64_t i = 0; i < r->n_pre; ++i) longest = std::max(longest, c.row_ptr[static_cast<std::size_t>(i) + 1] - c.row_ptr[static_cast<std::size_t>(i)]);
            for (int64_t j = 0; j < static_cast<int64_t>(r->col_ptr.size()) - 1; ++j)
                longest = std::max(longest, r->col_ptr[static_cast<std::size_t>(j) + 1] - r->col_ptr[static_cast<std::size_t>(j)]);
            r->line.assign(static_cast<std::size_t>(longest), 0.0f);
            r->sums.assign(static_cast<std::size_t>(std::max(r->n_pre, r->n_post)), 0.0f);
            r->pre_event.assign(cap * static_cast<std::size_t>(r->n_pre), 0);
            r->row_mark.assign(static_cast<std::size_t>(r->n_pre), 0);
            r->col_mark.assign(static_cast<std::size_t>(r->n_post), 0);
            r->rows.reserve(static_cast<std::size_t>(r->n_pre));
            r->cols.reserve(static_cast<std::size_t>(r->n_post));
            r->changed_rows.reserve(static_cast<std::size_t>(r->n_pre));
            r->changed_cols.reserve(static_cast<std::size_t>(r->n_post));
        }
    } catch (...) {
        for (Rule* r : rules_) {
            r->~Rule();
            memory_->deallocate(r, sizeof(Rule), alignof(Rule));
        }
        throw;
    }
}

Learner::~Learner() {
    for (Rule* r : rules_) {
        r->~Rule();
        memory_->deallocate(r, sizeof(Rule), alignof(Rule));
    }
}

Learner::Rule& Learner::rule_of(int32_t connection) const { return *rules_[static_cast<std::size_t>(index_[static_cast<std::size_t>(connection)])]; }

void Learner::set_batch(int32_t batch) {
    for (Rule* r : rules_) {
        for (int32_t b = batch_; b < batch; ++b) {
            auto clear = [&](pvector<float>& v, int64_t n) {
                if (!v.empty()) std::fill_n(v.begin() + b * n, n, 0.0f);
            };
            clear(r->pre1, r->n_pre);
            clear(r->pre2, r->n_pre);
            clear(r->post1, r->n_post);
            clear(r->post2, r->n_post);
            clear(r->eligibility, r->nnz);
            for (int32_t s = 0; s < r->depth(); ++s) r->ring_counts[static_cast<std::size_t>(s * capacity_ + b)] = 0;
            const std::size_t groups = r->learned.size() / static_cast<std::size_t>(capacity_);
            std::fill_n(r->learned.begin() + static_cast<std::ptrdiff_t>(b * groups), groups, uint8_t(0));
            r->learn_count[static_cast<std::size_t>(b)] = 0;
        }
    }
    batch_ = batch;
}

void Learner::reset() {
    for (Rule* r : rules_) {
        for (pvector<float>* v : {&r->pre1, &r->pre2, &r->post1, &r->post2, &r->eligibility}) std::fill(v->begin(), v->end(), 0.0f);
        std::fill(r->ring_counts.begin(), r->ring_counts.end(), 0);
        std::fill(r->learned.begin(), r->learned.end(), uint8_t(0));
        std::fill(r->learn_count.begin(), r->learn_count.end(), 0);
    }
}

void Learner::step(int64_t t, Engine& engine) {
    for (Rule* r : rules_) {
        r->summary = Summary{};
        r->changed_rows.clear();
        r->changed_cols.clear();
        learn(*r, t, engine);
        normalize(*r, t, engine);
        Summary& s = r->summary;
        s.rows = r->changed_rows.data();
        s.row_count = static_cast<int64_t>(r->changed_rows.size());
        s.cols = r->changed_cols.data();
        s.col_count = static_cast<int64_t>(r->changed_cols.size());
        if (s.all) s.row_count = s.col_count = 0;
    }
}

const Learner::Summary& Learner::summary(int32_t connection) const { return rule_of(connection).summary; }

void Learner::restore_events(int64_t next_step, const Engine& engine) {
    for (Rule* r : rules_) {
        std::fill(r->ring_counts.begin(), r->ring_counts.end(), 0);
        if (r->lag == 0) continue;  // nothing in flight: this step's spikes are its events
        const int64_t n = r->n_pre;
        const int32_t depth = engine.delay_line_depth(r->pre);
        pvector<int32_t> refractory(static_cast<std::size_t>(batch_ * n), 0, memory_);
        pvector<float> line(static_cast<std::size_t>(depth) * static_cast<std::size_t>(batch_ * n), 0.0f, memory_);
        pvector<uint8_t> spikes(static_cast<std::size_t>(batch_ * n), 0, memory_);
        engine.read_internal(r->pre, refractory.data(), line.data(), spikes.data());
        for (int64_t m = std::max<int64_t>(0, next_step - r->lag); m < next_step; ++m) {
            const float* emitted = line.data() + (m % depth) * batch_ * n;  // slot m % depth holds step m
            for (int32_t b = 0; b < batch_; ++b) {
                const std::size_t at = static_cast<std::size_t>((m % r->depth()) * capacity_ + b);
                int32_t count = 0;
                for (int64_t i = 0; i < n; ++i)
                    if (emitted[b * n + i] != 0.0f) r->ring_ids[at * static_cast<std::size_t>(n) + static_cast<std::size_t>(count++)] = static_cast<int32_t>(i);
                r->ring_counts[at] = count;
            }
        }
    }
}

// Every norm_interval steps (counted from step 0: after steps interval - 1,
// 2 interval - 1, ...), each postsynaptic (or presynaptic) neuron's weights
// are scaled to sum to norm: the sum in float32 in ascending order of the
// other side, then w <- clip(w * (norm / sum)); a zero sum is left alone.
void Learner::normalize(Rule& r, int64_t t, Engine& engine) {
    Connection& c = graph_.connections[static_cast<std::size_t>(r.connection)];
    const float norm = static_cast<float>(c.plastic_params[static_cast<std::size_t>(r.norm_index)]);
    const auto interval = static_cast<int64_t>(c.plastic_params[static_cast<std::size_t>(r.norm_interval_index)]);
    if (!c.learning || r.normalize == 0 || !(norm > 0.0f) || (t + 1) % interval != 0) return;
    const bool by_post = r.normalize == 1;
    const float w_min = static_cast<float>(c.plastic_params[plastic_param::w_min]);
    const float w_max = static_cast<float>(c.plastic_params[plastic_param::w_max]);
    float* w = c.weights.data();
    float* sums = r.sums.data();
    const int64_t n = by_post ? r.n_post : r.n_pre;
    std::fill_n(sums, n, 0.0f);
    auto side = [&](int64_t i, int64_t j) { return by_post ? j : i; };
    auto each = [&](auto fn) {  // fn(k, i, j) in ascending presynaptic order
        for (int64_t i = 0; i < r.n_pre; ++i) r.for_row(c, i, [&](int64_t, int64_t k, int64_t j) { fn(k, i, j); });
    };
    if (r.conv) {  // a kernel's elements: per output channel (post) or input channel (pre), in kernel order
        const ConvShape& g = r.shape;
        const int64_t area = int64_t(g.kh) * g.kw;
        auto group = [&](int64_t k) { return by_post ? k / (g.in_c * area) : k / area % g.in_c; };
        const int64_t groups = by_post ? g.out_c : g.in_c;
        std::fill_n(sums, groups, 0.0f);
        for (int64_t k = 0; k < r.nnz; ++k) sums[group(k)] += w[k];
        for (int64_t q = 0; q < groups; ++q) sums[q] = sums[q] != 0.0f ? norm / sums[q] : 1.0f;
        for (int64_t k = 0; k < r.nnz; ++k) r.set(w, k, clip(w[k] * sums[group(k)], w_min, w_max));
        r.summary.all = true;
        engine.weights_changed(r.connection, nullptr, -1, nullptr, -1);
        return;
    }
    each([&](int64_t k, int64_t i, int64_t j) { sums[side(i, j)] += w[k]; });
    for (int64_t q = 0; q < n; ++q) sums[q] = sums[q] != 0.0f ? norm / sums[q] : 1.0f;
    each([&](int64_t k, int64_t i, int64_t j) { r.set(w, k, clip(w[k] * sums[side(i, j)], w_min, w_max)); });
    r.summary.all = true;
    engine.weights_changed(r.connection, nullptr, -1, nullptr, -1);
}

void Learner::learn(Rule& r, int64_t t, Engine& engine) {
    Connection& c = graph_.connections[static_cast<std::size_t>(r.connection)];
    const double* p = c.plastic_params.data();
    const double dt = graph_.dt;
    const float w_min = static_cast<float>(p[plastic_param::w_min]), w_max = static_cast<float>(p[plastic_param::w_max]);
    const float range = w_max - w_min;
    float* w = c.weights.data();
    const int32_t batch = batch_;
    const int64_t n_pre = r.n_pre, n_post = r.n_post;

    // This step's presynaptic spikes go into the ring; the events of this step come out of it.
    const int32_t depth = r.depth();
    const int64_t slot_now = t % depth, slot_event = ((t - r.lag) % depth + depth) % depth;
    for (int32_t b = 0; b < batch; ++b) {
        int32_t count = 0;
        const int32_t* ids = engine.spike_ids(r.pre, b, &count);
        const std::size_t at = static_cast<std::size_t>(slot_now * capacity_ + b);
        std::copy_n(ids, count, r.ring_ids.begin() + static_cast<std::ptrdiff_t>(at) * n_pre);
        r.ring_counts[at] = count;
    }

    // Traces and eligibility decay over the step.
    const bool triplet = r.kind == PlasticityKind::Triplet, reward = r.kind == PlasticityKind::RewardSTDP;
    const bool sign = r.kind == PlasticityKind::SignSTDP;  // x_pre: "spiked since the reset", no decay
    const float d_pre1 = sign ? 1.0f : decay_of(dt, p[triplet ? int(triplet_param::tau_plus) : int(stdp_param::tau_plus)]);
    const float d_post1 = sign ? 1.0f : decay_of(dt, p[triplet ? int(triplet_param::tau_minus) : int(stdp_param::tau_minus)]);
    auto scale = [](pvector<float>& v, std::size_t n, float factor) {
        for (std::size_t k = 0; k < n; ++k) v[k] *= factor;
    };
    scale(r.pre1, static_cast<std::size_t>(batch * n_pre), d_pre1);
    scale(r.post1, static_cast<std::size_t>(batch * n_post), d_post1);
    if (triplet) {
        scale(r.pre2, static_cast<std::size_t>(batch * n_pre), decay_of(dt, p[triplet_param::tau_x]));
        scale(r.post2, static_cast<std::size_t>(batch * n_post), decay_of(dt, p[triplet_param::tau_y]));
    }
    if (reward) scale(r.eligibility, static_cast<std::size_t>(batch * r.nnz), decay_of(dt, p[rstdp_param::tau_e]));

    const bool change_weights = c.learning && !reward;  // rstdp changes weights in its own phase below
    auto bump = [&](float& trace) { trace = r.nearest ? 1.0f : trace + 1.0f; };
    // The change of synapse (or kernel element) k from presynaptic neuron i
    // to postsynaptic neuron j in instance b, at a presynaptic event (not for
    // stdp_sign) and at a postsynaptic spike (docs/models.md).
    const float a_minus = static_cast<float>(p[stdp_param::a_minus]), mu_minus = static_cast<float>(p[stdp_param::mu_minus]);
    const float a_plus = static_cast<float>(p[stdp_param::a_plus]), mu_plus = static_cast<float>(p[stdp_param::mu_plus]);
    auto change_at_pre = [&](int32_t b, int64_t i, int64_t j, int64_t k) {
        const float o1 = r.post1[static_cast<std::size_t>(b * n_post + j)];
        if (triplet)
            return -(o1 * (static_cast<float>(p[triplet_param::a2_minus]) +
                           static_cast<float>(p[triplet_param::a3_minus]) * r.pre2[static_cast<std::size_t>(b * n_pre + i)]));
        return -((a_minus * weight_factor(w[k] - w_min, range, mu_minus)) * o1);
    };
    auto change_at_post = [&](int32_t b, int64_t i, int64_t j, int64_t k) {
        const float r1 = r.pre1[static_cast<std::size_t>(b * n_pre + i)];
        if (triplet)
            return r1 * (static_cast<float>(p[triplet_param::a2_plus]) +
                         static_cast<float>(p[triplet_param::a3_plus]) * r.post2[static_cast<std::size_t>(b * n_post + j)]);
        if (sign)
            return (r1 > 0.0f ? static_cast<float>(p[sign_param::a_plus]) : -static_cast<float>(p[sign_param::a_minus])) *
                   (((w[k] - w_min) * (w_max - w[k])) / range);
        return (a_plus * weight_factor(w_max - w[k], range, mu_plus)) * r1;
    };
    // conv2d: one phase's changes summed per kernel element in the order
    // (instance, event, element), then applied once.
    auto conv_apply = [&]() {
        bool any = false;
        for (int64_t k = 0; k < r.nnz; ++k) {
            if (!r.kernel_touched[static_cast<std::size_t>(k)]) continue;
            any = true;
            r.set(w, k, clip(w[k] + r.kernel_acc[static_cast<std::size_t>(k)], w_min, w_max));
            r.kernel_acc[static_cast<std::size_t>(k)] = 0.0f;
            r.kernel_touched[static_cast<std::size_t>(k)] = 0;
        }
        if (any) {
            r.summary.all = true;
            engine.weights_changed(r.connection, nullptr, -1, nullptr, -1);
        }
    };

    // Presynaptic events: depression (or eligibility), then the presynaptic
    // traces. A row's changes are summed over instances in ascending order,
    // then applied once (the changes of every instance use the same weights).
    auto events_of = [&](int32_t b, int32_t* count) {
        const std::size_t at = static_cast<std::size_t>(slot_event * capacity_ + b);
        *count = r.ring_counts[at];
        return r.ring_ids.data() + static_cast<std::ptrdiff_t>(at) * n_pre;
    };
    if (change_weights && r.conv && !sign) {
        for (int32_t b = 0; b < batch; ++b) {
            int32_t count = 0;
            const int32_t* ids = events_of(b, &count);
            for (int32_t q = 0; q < count; ++q)
                r.conv_row(ids[q], [&](int64_t k, int64_t j) {
                    r.kernel_acc[static_cast<std::size_t>(k)] += change_at_pre(b, ids[q], j, k);
                    r.kernel_touched[static_cast<std::size_t>(k)] = 1;
                });
        }
        conv_apply();
    } else if (change_weights && !sign) {
        for (int32_t b = 0; b < batch; ++b) {
            // Depression is proportional to the postsynaptic trace: while all
            // of an instance's are zero (before its first postsynaptic spike,
            // as after every reset) its presynaptic events change nothing.
            const float* o1 = r.post1.data() + b * n_post;
            if (std::all_of(o1, o1 + n_post, [](float x) { return x == 0.0f; })) continue;
            int32_t count = 0;
            const int32_t* ids = events_of(b, &count);
            for (int32_t q = 0; q < count; ++q) {
                const int64_t i = ids[q];
                r.pre_event[static_cast<std::size_t>(b * n_pre + i)] = 1;
                if (!r.row_mark[static_cast<std::size_t>(i)]) {
                    r.row_mark[static_cast<std::size_t>(i)] = 1;
                    r.rows.push_back(static_cast<int32_t>(i));
                }
            }
        }
        float* line = r.line.data();
        for (int32_t i : r.rows) {
            r.for_row(c, i, [&](int64_t q, int64_t, int64_t) { line[q] = 0.0f; });
            for (int32_t b = 0; b < batch; ++b) {
                if (!r.pre_event[static_cast<std::size_t>(b * n_pre + i)]) continue;
                r.for_row(c, i, [&](int64_t q, int64_t k, int64_t j) { line[q] += change_at_pre(b, i, j, k); });
                r.pre_event[static_cast<std::size_t>(b * n_pre + i)] = 0;
            }
            r.for_row(c, i, [&](int64_t q, int64_t k, int64_t) { r.set(w, k, clip(w[k] + line[q], w_min, w_max)); });
            r.row_mark[static_cast<std::size_t>(i)] = 0;
        }
        if (!r.rows.empty()) engine.weights_changed(r.connection, r.rows.data(), static_cast<int64_t>(r.rows.size()), nullptr, 0);
        r.changed_rows.assign(r.rows.begin(), r.rows.end());
        r.rows.clear();
    }
    for (int32_t b = 0; b < batch; ++b) {
        int32_t count = 0;
        const int32_t* ids = events_of(b, &count);
        float* r1 = r.pre1.data() + b * n_pre;
        float* r2 = triplet ? r.pre2.data() + b * n_pre : nullptr;
        for (int32_t q = 0; q < count; ++q) {
            const int64_t i = ids[q];
            if (reward) {
                float* e = r.eligibility.data() + b * r.nnz;
                const float a_minus_e = static_cast<float>(p[rstdp_param::a_minus]);
                const float* o1 = r.post1.data() + b * n_post;
                r.each_in_row(c, i, [&](int64_t k, int64_t j) { e[k] += -(a_minus_e * o1[j]); });
            }
            bump(r1[i]);
            if (triplet) bump(r2[i]);
        }
    }

    // Postsynaptic spikes: potentiation (or eligibility), then the
    // postsynaptic traces; columns as rows above.
    // Which of this step's postsynaptic spikes learn: all, or within the
    // limits (per instance, in ascending neuron order).
    const uint8_t* post_spiked = engine.spikes(r.post);
    const auto limit = static_cast<int64_t>(p[r.learn_limit_index]);
    const bool limited = r.once != 0 || limit > 0;
    if (limited) {
        const std::size_t groups = r.learned.size() / static_cast<std::size_t>(capacity_);
        for (int32_t b = 0; b < batch; ++b) {
            int32_t count = 0;
            const int32_t* ids = engine.spike_ids(r.post, b, &count);
            for (int32_t q = 0; q < count; ++q) {
                const int64_t j = ids[q];
                uint8_t* mark = r.learned.data() + b * groups + (r.once == 2 ? j / r.channel_size : j);
                int32_t& learned = r.learn_count[static_cast<std::size_t>(b)];
                const bool learns = (r.once == 0 || !*mark) && (limit == 0 || learned < limit);
                if (learns) {
                    *mark = 1;
                    ++learned;
                }
                r.post_learns[static_cast<std::size_t>(b * n_post + j)] = learns;
            }
        }
        post_spiked = r.post_learns.data();
    }
    auto learns = [&](int32_t b, int64_t j) { return post_spiked[static_cast<std::size_t>(b * n_post + j)] != 0; };
    if (change_weights && r.conv) {
        for (int32_t b = 0; b < batch; ++b) {
            int32_t count = 0;
            const int32_t* ids = engine.spike_ids(r.post, b, &count);
            for (int32_t q = 0; q < count; ++q)
                if (learns(b, ids[q])) r.conv_column(ids[q], [&](int64_t k, int64_t i) {
                    r.kernel_acc[static_cast<std::size_t>(k)] += change_at_post(b, i, ids[q], k);
                    r.kernel_touched[static_cast<std::size_t>(k)] = 1;
                });
        }
        conv_apply();
    } else if (change_weights) {
        for (int32_t b = 0; b < batch; ++b) {
            int32_t count = 0;
            const int32_t* ids = engine.spike_ids(r.post, b, &count);
            for (int32_t q = 0; q < count; ++q)
                if (learns(b, ids[q]) && !r.col_mark[static_cast<std::size_t>(ids[q])]) {
                    r.col_mark[static_cast<std::size_t>(ids[q])] = 1;
                    r.cols.push_back(ids[q]);
                }
        }
        float* line = r.line.data();
        for (int32_t j : r.cols) {
            r.for_column(j, [&](int64_t q, int64_t, int64_t) { line[q] = 0.0f; });
            for (int32_t b = 0; b < batch; ++b) {
                if (!post_spiked[static_cast<std::size_t>(b * n_post + j)]) continue;
                r.for_column(j, [&](int64_t q, int64_t k, int64_t i) { line[q] += change_at_post(b, i, j, k); });
            }
            r.for_column(j, [&](int64_t q, int64_t k, int64_t) { r.set(w, k, clip(w[k] + line[q], w_min, w_max)); });
            r.col_mark[static_cast<std::size_t>(j)] = 0;
        }
        if (!r.cols.empty()) engine.weights_changed(r.connection, nullptr, 0, r.cols.data(), static_cast<int64_t>(r.cols.size()));
        r.changed_cols.assign(r.cols.begin(), r.cols.end());
        r.cols.clear();
    }
    for (int32_t b = 0; b < batch; ++b) {
        int32_t count = 0;
        const int32_t* ids = engine.spike_ids(r.post, b, &count);
        float* o1 = r.post1.data() + b * n_post;
        float* o2 = triplet ? r.post2.data() + b * n_post : nullptr;
        for (int32_t q = 0; q < count; ++q) {
            const int64_t j = ids[q];
            if (reward && learns(b, j)) {
                float* e = r.eligibility.data() + b * r.nnz;
                const float a_plus_e = static_cast<float>(p[rstdp_param::a_plus]);
                const float* r1 = r.pre1.data() + b * n_pre;
                r.each_in_column(j, [&](int64_t k, int64_t i) { e[k] += a_plus_e * r1[i]; });
            }
            if (!sign) bump(o1[j]);
            if (triplet) bump(o2[j]);
            if (limited) r.post_learns[static_cast<std::size_t>(b * n_post + j)] = 0;
        }
    }

    // rstdp: w += eta * sum over instances of m * e, wherever the modulator is not zero.
    if (reward && c.learning) {
        engine.read_state(Owner::Population, r.modulator, modulator_var::m, r.modulation.data());
        bool any = false;
        for (int64_t q = 0; q < batch * r.n_mod; ++q) any = any || r.modulation[static_cast<std::size_t>(q)] != 0.0f;
        if (!any) return;
        const float eta = static_cast<float>(p[rstdp_param::eta]);
        const bool per_neuron = r.n_mod > 1;
        for (int64_t k = 0; k < r.nnz; ++k) {
            const int64_t j = per_neuron ? r.post_of(c, k) : 0;
            float sum = 0.0f;
            for (int32_t b = 0; b < batch; ++b)
                sum += r.modulation[static_cast<std::size_t>(b * r.n_mod + j)] * r.eligibility[static_cast<std::size_t>(b * r.nnz + k)];
            r.set(w, k, clip(w[k] + eta * sum, w_min, w_max));
        }
        r.summary.all = true;
        engine.weights_changed(r.connection, nullptr, -1, nullptr, -1);
    }
}

int64_t Learner::var_size(int32_t connection, int var) const {
    const Rule& r = rule_of(connection);
    switch (graph_.connections[static_cast<std::size_t>(connection)].plasticity_model().state_vars[static_cast<std::size_t>(var)].side) {
        case TraceSide::Pre: return r.n_pre;
        case TraceSide::Post: return r.n_post;
        default: return r.nnz;
    }
}

namespace {
// The array of a rule's state variable: the first or second of its side.
template <class R>
auto& var_array(R& r, const PlasticityModel& m, int var) {
    const TraceSide side = m.state_vars[static_cast<std::size_t>(var)].side;
    int ordinal = 0;
    for (int v = 0; v < var; ++v) ordinal += m.state_vars[static_cast<std::size_t>(v)].side == side;
    if (side == TraceSide::Pre) return ordinal == 0 ? r.pre1 : r.pre2;
    if (side == TraceSide::Post) return ordinal == 0 ? r.post1 : r.post2;
    return r.eligibility;
}
}  // namespace

void Learner::read(int32_t connection, int var, float* out) const {
    const Rule& r = rule_of(connection);
    const auto& v = var_array(r, graph_.connections[static_cast<std::size_t>(connection)].plasticity_model(), var);
    std::copy_n(v.begin(), batch_ * var_size(connection, var), out);
}

void Learner::write(int32_t connection, int var, const float* values) {
    Rule& r = rule_of(connection);
    auto& v = var_array(r, graph_.connections[static_cast<std::size_t>(connection)].plasticity_model(), var);
    std::copy_n(values, batch_ * var_size(connection, var), v.begin());
}

}  // namespace snn
