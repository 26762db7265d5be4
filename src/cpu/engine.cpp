// The "cpu" backend: the reference model (docs/models.md) computed with the
// same float operations in the same order, organised for speed:
//  - neuron updates are vectorised loops over a population (kernels.inl),
//    compiled for several SIMD levels and chosen at run time; every level
//    gives bit-identical results;
//  - spikes are compacted to index lists as they are emitted, and delivery
//    walks only the rows of presynaptic neurons that spiked `delay` steps ago
//    (a ring of index lists per population), in ascending presynaptic order;
//  - synaptic inputs are summed per population once per step, not per neuron
//    and connection.
// Values read through the API are the logical ones ([batch][n] float32).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <type_traits>

#include <atomic>

#include "core/coefficients.h"
#include "core/wta.h"
#include "core/error.h"
#include "core/network.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"

namespace snn {

namespace {

using cpu::KernelTable;
using cpu::NeuronSpan;

// Benchmark builds (SNN_PHASE_TIMERS) time the phases of each step and count
// the synaptic events delivered (a spike reaching one synapse, or one
// nonzero graded value reaching one target); normal builds compile it away.
struct PhaseTimes {
#if defined(SNN_PHASE_TIMERS)
    static constexpr bool kOn = true;
#else
    static constexpr bool kOn = false;
#endif
    int64_t steps = 0, deliver_ns = 0, neurons_ns = 0, sources_ns = 0, ahead_ns = 0;
    std::atomic<int64_t> events{0};

    static int64_t now() {
        if (!kOn) return 0;
        timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
    }
    void count(int64_t n) {
        if (kOn) events.fetch_add(n, std::memory_order_relaxed);
    }
};

// A population at least this large is split into ranges of neurons, one per
// thread, when the batch leaves threads idle (below it, waking the pool costs
// more than the step).
constexpr int64_t kSplitNeurons = 16384;
constexpr int64_t kMaxRanges = 64;

// Which kernel runs phases 2 and 3 of a population.
enum class UpdateKind : uint8_t { Izhikevich, Leaky, Modulator, ConductanceFused, Conductance, ExactFused, Exact };

struct PopulationState {
    explicit PopulationState(std::pmr::memory_resource* mr)
        : vars(mr), refractory(mr), spikes(mr), ring_ids(mr), ring_counts(mr), graded(mr), coefficients(mr), incoming(mr),
          exact_input(mr), currents(mr), conductance(mr), driven(mr), scratch(mr), spans(mr), ahead_spikes(mr), ahead_row_spikes(mr),
          ahead_row_graded(mr), ahead_row_scratch(mr), no_threshold(mr), was_held(mr), margin(mr), winner(mr) {}

    pvector<pvector<float>> vars;   // [var][capacity * n]
    pvector<int32_t> refractory;    // [capacity * n]
    pvector<uint8_t> spikes;        // last step, [capacity * n]
    // What the population emitted in the last `depth` steps: for spiking
    // populations the ascending ids ([depth][capacity][n] + counts
    // [depth][capacity]); slot t % depth is step t. Slot (t % depth) of the
    // current step is also the callbacks' list.
    int32_t depth = 1;
    pvector<int32_t> ring_ids;
    pvector<int32_t> ring_counts;
    pvector<float> graded;          // current sources: values, [depth][capacity * n]
    PopulationCoefficients coefficients;
    pvector<int32_t> incoming;      // connection ids, ascending
    // Per-step input sums, [capacity * n].
    pvector<float> exact_input, currents, conductance, driven;
    pvector<float> scratch;         // poisson: this step's probabilities, [capacity * n]
    int v_th_index = -1, v_reset_index = -1;  // the model's parameters, looked up once
    bool uniform = false;  // every parameter, coefficient and incoming gain array holds one value
    bool subtract = false;  // reset by subtraction (the "reset" option, looked up once)
    pvector<NeuronSpan> spans;  // [capacity]: phases 2 and 3 (CpuEngine::prepare_updates)
    UpdateKind update_kind = UpdateKind::Exact;
    bool has_outgoing = false;  // some connection starts here
    // No neuron can be held: every refractory count is 0 (t_ref <= dt), and
    // no nonzero counter was loaded since the last reset.
    bool no_refractory = false, counters_loaded = false;
    bool never_held() const { return no_refractory && !counters_loaded; }
    // A source whose every consumer is computed ahead in this run: its
    // spike ids are not needed step by step.
    bool ids_unused = false;
    // Lookahead (see CpuEngine::compute_ahead): populations fed only by
    // sources through dense zero-delay connections can be computed several
    // steps ahead within a run. ahead_steps > 0 marks them; ahead_spikes
    // holds [ahead_steps][capacity][n] spikes of the steps computed ahead.
    int32_t ahead_steps = 0;
    bool ahead = false;  // in this run
    pvector<uint8_t> ahead_spikes;
    // Sources: one step's output row per instance, filled while looking ahead.
    pvector<uint8_t> ahead_row_spikes;
    pvector<float> ahead_row_graded, ahead_row_scratch;
    // Winner-take-all (core/wta.h): the kernels integrate against an infinite
    // threshold (no spike, no reset); wta_pass then lets the winners spike
    // (and resets the losers with wta_losers = reset).
    bool wta = false;
    pvector<float> no_threshold;  // [n] +inf
    pvector<uint8_t> was_held;    // [capacity * n]: held at the start of the step
    pvector<float> margin;        // [capacity * n]
    pvector<uint8_t> winner;      // [capacity * n]
};

struct ConnectionState {
    explicit ConnectionState(std::pmr::memory_resource* mr)
        : synaptic(mr), post16(mr), packed(mr), packed16(mr), graded_ids(mr), graded_values(mr), graded_counts(mr), ahead_ids(mr),
          ahead_values(mr), ahead_counts(mr), ahead_sums(mr), ahead_gemm_rows(mr), ahead_event_rows(mr), conv(mr), conv_kernel(mr),
          conv_out(mr), conv_work(mr), coefficients(mr) {}
    pvector<float> synaptic;  // I or g, [capacity * n_post]
    // Sparse connections onto at most 65 536 neurons: the target indices in
    // 16 bits, halving the bytes delivery streams per synapse.
    pvector<uint16_t> post16;
    // Dense connections: the weights in column blocks (kernels.h, kDenseBlock),
    // [blocks][n_pre][kDenseBlock]; from current sources also each instance's
    // nonzero rows of this step, [capacity][n_pre] ids and values + counts.
    pvector<float> packed;
    pvector<uint16_t> packed16;  // the same for weight_dtype bfloat16 (upper halves of the float32 values)
    pvector<int32_t> graded_ids;
    pvector<float> graded_values;
    pvector<int32_t> graded_counts;
    // Into a population computed ahead: each step's arriving rows,
    // [ahead_steps][capacity][n_pre] ids (and values for graded sources) and
    // [ahead_steps][capacity] counts.
    pvector<int32_t> ahead_ids;
    pvector<float> ahead_values;
    pvector<int32_t> ahead_counts;
    // The dense product computed ahead: each step's and instance's sums,
    // [blocks][ahead_steps * capacity][kDenseBlock]. A row m = k * capacity + b
    // with many nonzero inputs is kept whole in ahead_values and goes through
    // dense_gemm (ahead_gemm_rows); one with few is kept as ids and values and
    // goes through dense_block (ahead_event_rows); a row of zeros adds nothing.
    pvector<float> ahead_sums;
    pvector<int32_t> ahead_gemm_rows, ahead_event_rows;
    int32_t ahead_gemm_count = 0, ahead_event_count = 0;
    // Sparse, one delay, every row's targets ascending: delivery can be split
    // by ranges of targets (each range found by binary search in a row).
    bool sorted_rows = false;
    // Sparse: 1 for each row that names a target twice (kernels.h,
    // sparse_rows); empty when no row does.
    pvector<uint8_t> row_repeats;
    // Conv2d (core/conv.h): per instance the channels-last convolution
    // [capacity][conv_cells] and the pooled sums [capacity][n_post]; the
    // kernel as [in_c][kh][kw][out_c].
    pvector<float> conv, conv_kernel, conv_out;
    pvector<uint64_t> conv_work;  // [capacity][conv_work_words]: the conv kernels' scratch (cpu/kernels.h)
    int64_t conv_work_words = 0;
    // Every weight equal (bitwise): delivery adds `weight` and never reads the weights.
    bool uniform_weight = false;
    float weight = 0.0f;
    ConnectionCoefficients coefficients;
};

// Whether all n values are bitwise equal (so element 0 stands for all).
template <typename T>
bool all_equal(const T* x, std::size_t n) {
    for (std::size_t j = 1; j < n; ++j)
        if (std::memcmp(&x[j], &x[0], sizeof(T)) != 0) return false;
    return true;
}

class CpuEngine final : public Engine {
public:
    CpuEngine(const Network& network, int32_t capacity)
        : network_(network), graph_(network.graph()), memory_(network.memory()), capacity_(capacity), batch_(capacity),
          kernels_(cpu::select_kernels(network.context().simd())), pops_(memory_), conns_(memory_) {
        for (std::size_t p = 0; p < graph_.populations.size(); ++p) {
            const Population& pop = graph_.populations[p];
            const std::size_t cells = static_cast<std::size_t>(capacity_ * pop.size);
            PopulationState s(memory_);
            for (std::size_t v = 0; v < pop.neuron_model().state_vars.size(); ++v) s.vars.emplace_back(cells, 0.0f);
            s.refractory.assign(cells, 0);
            s.spikes.assign(cells, 0);
            bool has_outgoing = false;
            for (const Connection& c : graph_.connections) has_outgoing |= c.pre == static_cast<int32_t>(p);
            s.depth = has_outgoing ? graph_.max_outgoing_delay(static_cast<int32_t>(p)) + 1 : 1;
            s.has_outgoing = has_outgoing;
            s.ring_ids.assign(cells * static_cast<std::size_t>(s.depth), 0);
            s.ring_counts.assign(static_cast<std::size_t>(capacity_ * s.depth), 0);
            if (pop.neuron_model().kind == NeuronKind::CurrentSource) s.graded.assign(cells * static_cast<std::size_t>(s.depth), 0.0f);
            for (std::size_t c = 0; c < graph_.connections.size(); ++c)
                if (graph_.connections[c].post == static_cast<int32_t>(p)) s.incoming.push_back(static_cast<int32_t>(c));
            if (pop.neuron_model().kind == NeuronKind::Poisson) s.scratch.assign(cells, 0.0f);
            s.spans.resize(static_cast<std::size_t>(capacity_));
            s.v_th_index = pop.neuron_model().param_index("v_th");
            s.v_reset_index = pop.neuron_model().param_index("v_reset");
            s.wta = pop.wta_mode() != WtaMode::None;
            if (s.wta) {
                s.no_threshold.assign(static_cast<std::size_t>(pop.size), std::numeric_limits<float>::infinity());
                s.was_held.assign(cells, 0);
                s.margin.assign(cells, -1.0f);
                s.winner.assign(cells, 0);
            }
            if (!pop.neuron_model().is_input) {  // per instance, so instances can run on different threads
                s.exact_input.assign(cells, 0.0f);
                s.currents.assign(cells, 0.0f);
                s.conductance.assign(cells, 0.0f);
                s.driven.assign(cells, 0.0f);
            }
            pops_.push_back(std::move(s));
        }
        for (const Connection& c : graph_.connections) {
            const int64_t n_post = graph_.populations[static_cast<std::size_t>(c.post)].size;
            ConnectionState s(memory_);
            if (!c.synapse_model().state_vars.empty()) s.synaptic.assign(static_cast<std::size_t>(capacity_ * n_post), 0.0f);
            if (c.kind == SNN_CONNECTION_SPARSE && n_post <= 65536)
                for (int32_t j : c.post_index) s.post16.push_back(static_cast<uint16_t>(j));
            if (c.kind == SNN_CONNECTION_SPARSE) find_repeats(c, n_post, &s.row_repeats);
            if (c.kind == SNN_CONNECTION_SPARSE && !c.has_synapse_delays()) {
                s.sorted_rows = true;
                for (std::size_t i = 0; s.sorted_rows && i + 1 < c.row_ptr.size(); ++i)
                    s.sorted_rows = std::is_sorted(c.post_index.begin() + c.row_ptr[i], c.post_index.begin() + c.row_ptr[i + 1]);
            }
            if (c.kind == SNN_CONNECTION_CONV2D) {
                s.conv.assign(static_cast<std::size_t>(capacity_ * c.conv.conv_cells()), 0.0f);
                s.conv_kernel.assign(static_cast<std::size_t>(conv::kernel_alloc(c.conv)), 0.0f);
                s.conv_out.assign(static_cast<std::size_t>(capacity_ * n_post), 0.0f);
                s.conv_work_words = cpu::conv_work::bytes(c.conv, !pops_[static_cast<std::size_t>(c.pre)].graded.empty()) / 8;
                s.conv_work.assign(static_cast<std::size_t>(capacity_ * s.conv_work_words), 0);
            }
            if (c.kind == SNN_CONNECTION_DENSE || c.kind == SNN_CONNECTION_CONV2D) {
                const int64_t n_pre = graph_.populations[static_cast<std::size_t>(c.pre)].size;
                if (!pops_[static_cast<std::size_t>(c.pre)].graded.empty()) {
                    s.graded_ids.assign(static_cast<std::size_t>(capacity_ * n_pre), 0);
                    s.graded_values.assign(static_cast<std::size_t>(capacity_ * n_pre), 0.0f);
                    s.graded_counts.assign(static_cast<std::size_t>(capacity_), 0);
                }
            }
            conns_.push_back(std::move(s));
        }
        plan_lookahead();
        parameters_changed();
    }

    ~CpuEngine() override {
        if (PhaseTimes::kOn && times_.steps > 0)
            std::fprintf(stderr,
                         "snn-phase-times {\"steps\": %lld, \"deliver_ns\": %lld, \"neurons_ns\": %lld, \"sources_ns\": %lld, "
                         "\"ahead_ns\": %lld, \"events\": %lld, \"threads\": %d}\n",
                         static_cast<long long>(times_.steps), static_cast<long long>(times_.deliver_ns),
                         static_cast<long long>(times_.neurons_ns), static_cast<long long>(times_.sources_ns),
                         static_cast<long long>(times_.ahead_ns), static_cast<long long>(times_.events.load()),
                         network_.context().threads());
    }

    const char* backend_name() const override { return "cpu"; }

    void set_batch(int32_t batch) override {
        for (std::size_t p = 0; p < pops_.size(); ++p)
            for (int32_t b = batch_; b < batch; ++b) clear_instance(p, b);
        batch_ = batch;
    }

    void load_initial_state() override {
        for (std::size_t p = 0; p < pops_.size(); ++p) {
            PopulationState& s = pops_[p];
            for (std::size_t v = 0; v < s.vars.size(); ++v)
                network_.initial_state(Owner::Population, static_cast<int32_t>(p), static_cast<int>(v), s.vars[v].data());
            for (int32_t b = 0; b < capacity_; ++b) clear_instance(p, b);
            s.counters_loaded = false;
        }
        for (std::size_t c = 0; c < conns_.size(); ++c)
            if (!conns_[c].synaptic.empty()) network_.initial_state(Owner::Connection, static_cast<int32_t>(c), 0, conns_[c].synaptic.data());
    }

    void parameters_changed() override {
        for (std::size_t c = 0; c < conns_.size(); ++c) {
            ConnectionState& cs = conns_[c];
            const Connection& conn = graph_.connections[c];
            compute_connection_coefficients(graph_, static_cast<int32_t>(c), &cs.coefficients);
            cs.uniform_weight = !conn.plastic() && !conn.weights.empty() && all_equal(conn.weights.data(), conn.weights.size());
            cs.weight = cs.uniform_weight ? conn.weights[0] : 0.0f;
            if (conn.kind == SNN_CONNECTION_DENSE) pack_dense(conn, &cs);
            if (conn.kind == SNN_CONNECTION_CONV2D) conv::transpose_kernel(conn.conv, conn.weights.data(), cs.conv_kernel.data());
        }
        for (std::size_t p = 0; p < pops_.size(); ++p) {
            PopulationState& s = pops_[p];
            const Population& pop = graph_.populations[p];
            compute_population_coefficients(graph_, static_cast<int32_t>(p), &s.coefficients);
            const PopulationCoefficients& k = s.coefficients;
            bool uniform = all_equal(k.mem_decay.data(), k.mem_decay.size()) && all_equal(k.dt_over_tau.data(), k.dt_over_tau.size()) &&
                           all_equal(k.adapt_decay.data(), k.adapt_decay.size()) &&
                           all_equal(k.refractory_steps.data(), k.refractory_steps.size());
            for (const pvector<float>& param : pop.params) uniform = uniform && all_equal(param.data(), param.size());
            for (int32_t c_id : s.incoming) {
                const pvector<float>& gain = conns_[static_cast<std::size_t>(c_id)].coefficients.current_gain;
                uniform = uniform && all_equal(gain.data(), gain.size());
            }
            s.uniform = uniform;
            s.subtract = !pop.neuron_model().is_input && pop.reset_mode() == ResetMode::Subtract;
            // (Counters still running from an earlier t_ref keep the test on.)
            auto zero = [](int32_t r) { return r == 0; };
            s.no_refractory = std::all_of(k.refractory_steps.begin(), k.refractory_steps.end(), zero) &&
                              std::all_of(s.refractory.begin(), s.refractory.end(), zero);
            prepare_updates(p);
        }
    }

    void read_state(Owner owner, int32_t id, int var, float* out) const override {
        const pvector<float>& src = owner == Owner::Population ? pops_[static_cast<std::size_t>(id)].vars[static_cast<std::size_t>(var)]
                                                               : conns_[static_cast<std::size_t>(id)].synaptic;
        std::copy_n(src.begin(), batch_ * size_of(owner, id), out);
    }

    void write_state(Owner owner, int32_t id, int var, const float* values) override {
        pvector<float>& dst = owner == Owner::Population ? pops_[static_cast<std::size_t>(id)].vars[static_cast<std::size_t>(var)]
                                                         : conns_[static_cast<std::size_t>(id)].synaptic;
        std::copy_n(values, batch_ * size_of(owner, id), dst.begin());
    }

    float* state_data(Owner owner, int32_t id, int var) override {
        return owner == Owner::Population ? pops_[static_cast<std::size_t>(id)].vars[static_cast<std::size_t>(var)].data()
                                          : conns_[static_cast<std::size_t>(id)].synaptic.data();
    }

    const uint8_t* spikes(int32_t population) const override { return pops_[static_cast<std::size_t>(population)].spikes.data(); }

    const int32_t* spike_ids(int32_t population, int32_t b, int32_t* count) const override {
        const PopulationState& s = pops_[static_cast<std::size_t>(population)];
        const int64_t slot = last_step_ % s.depth;
        *count = s.ring_counts[static_cast<std::size_t>(slot * capacity_ + b)];
        return s.ring_ids.data() + (slot * capacity_ + b) * graph_.populations[static_cast<std::size_t>(population)].size;
    }

    int32_t delay_line_depth(int32_t population) const override {
        const PopulationState& s = pops_[static_cast<std::size_t>(population)];
        return s.has_outgoing ? s.depth : 0;
    }

    // The delay line in the logical form: values emitted per step and neuron.
    void read_internal(int32_t population, int32_t* refractory, float* delay_line, uint8_t* spikes) const override {
        const PopulationState& s = pops_[static_cast<std::size_t>(population)];
        const int64_t n = graph_.populations[static_cast<std::size_t>(population)].size, cells = batch_ * n;
        std::copy_n(s.refractory.begin(), cells, refractory);
        std::copy_n(s.spikes.begin(), cells, spikes);
        const int32_t depth = delay_line_depth(population);
        for (int32_t d = 0; d < depth; ++d)
            for (int32_t b = 0; b < batch_; ++b) {
                float* row = delay_line + d * cells + b * n;
                if (!s.graded.empty()) {
                    std::copy_n(s.graded.begin() + (d * capacity_ + b) * n, n, row);
                    continue;
                }
                std::fill_n(row, n, 0.0f);
                const int32_t* ids = s.ring_ids.data() + (d * capacity_ + b) * n;
                for (int32_t k = 0; k < s.ring_counts[static_cast<std::size_t>(d * capacity_ + b)]; ++k) row[ids[k]] = 1.0f;
            }
    }

    void write_internal(int32_t population, const int32_t* refractory, const float* delay_line, const uint8_t* spikes) override {
        PopulationState& s = pops_[static_cast<std::size_t>(population)];
        const int64_t n = graph_.populations[static_cast<std::size_t>(population)].size, cells = batch_ * n;
        std::copy_n(refractory, cells, s.refractory.begin());
        s.counters_loaded = s.counters_loaded || std::any_of(refractory, refractory + cells, [](int32_t r) { return r != 0; });
        std::copy_n(spikes, cells, s.spikes.begin());
        const int32_t depth = delay_line_depth(population);
        for (int32_t d = 0; d < depth; ++d)
            for (int32_t b = 0; b < batch_; ++b) {
                const float* row = delay_line + d * cells + b * n;
                if (!s.graded.empty()) {
                    std::copy_n(row, n, s.graded.begin() + (d * capacity_ + b) * n);
                    continue;
                }
                int32_t* ids = s.ring_ids.data() + (d * capacity_ + b) * n;
                int32_t count = 0;
                for (int64_t j = 0; j < n; ++j)
                    if (row[j] != 0.0f) ids[count++] = static_cast<int32_t>(j);
                s.ring_counts[static_cast<std::size_t>(d * capacity_ + b)] = count;
            }
        // The callbacks' list of the last step is the ring slot of step network.step - 1.
        last_step_ = network_.current_step() - 1;
        if (depth == 0 && last_step_ >= 0)
            for (int32_t b = 0; b < batch_; ++b) {
                int32_t* ids = s.ring_ids.data() + b * n;
                s.ring_counts[static_cast<std::size_t>(b)] = kernels_.compact(s.spikes.data() + b * n, ids, n);
            }
    }

    void step(int64_t t, const InputView* inputs) override {
        last_step_ = t;
        // Work is split so that every piece writes its own data (instances,
        // column blocks of a dense connection, ranges of neurons): which
        // thread runs a piece never changes a result. Populations go one after
        // another, and so do the connections onto one population.
        ThreadPool* pool = network_.context().pool();
        const bool parallel = pool && pool->try_acquire();
        auto for_each = [&](int64_t count, auto&& body) {
            if (parallel && count > 1)
                pool->parallel_for(count, body);
            else
                for (int64_t i = 0; i < count; ++i) body(i);
        };
        ++times_.steps;
        int64_t clock = PhaseTimes::now();
        auto lap = [&](int64_t* total) {  // benchmark builds: time since the last lap into *total
            if (!PhaseTimes::kOn) return;
            const int64_t t1 = PhaseTimes::now();
            *total += t1 - clock;
            clock = t1;
        };
        if (ahead_steps_ > 0 && t >= ahead_end_) {
            const int32_t steps = static_cast<int32_t>(std::min<int64_t>(ahead_steps_, plan_.first_step + plan_.steps - t));
            compute_ahead(t, steps, for_each);
            lap(&times_.ahead_ns);
            ahead_begin_ = t;
            ahead_end_ = t + steps;
        }
        for (int32_t p : graph_.update_order) {
            const Population& pop = graph_.populations[static_cast<std::size_t>(p)];
            PopulationState& s = pops_[static_cast<std::size_t>(p)];
            if (s.ahead) {  // computed already: this step's spikes from the buffer
                const int64_t n = pop.size;
                for_each(batch_, [&](int64_t b) {
                    std::copy_n(s.ahead_spikes.data() + ((t - ahead_begin_) * capacity_ + b) * n, n, s.spikes.data() + b * n);
                    if (!s.ids_unused) emit(p, static_cast<int32_t>(b), t);
                });
                lap(&times_.neurons_ns);
                continue;
            }
            if (pop.neuron_model().is_input) {
                for_each(batch_, [&](int64_t b) {
                    update_source(p, static_cast<int32_t>(b), t, inputs[p]);
                    if (!s.ids_unused) emit(p, static_cast<int32_t>(b), t);
                });
                lap(&times_.sources_ns);
                continue;
            }
            // A large population at a small batch is split into ranges of
            // neurons, one per thread, for phases 1 to 4 (delivery where its
            // sparse rows are sorted: each thread adds the part of every row
            // that falls in its range).
            const int64_t n = pop.size;
            // (Winner-take-all compares the whole population: never split.)
            const int64_t ranges = parallel && batch_ < pool->threads() && n >= kSplitNeurons && !s.wta
                                       ? std::min<int64_t>(pool->threads(), kMaxRanges) : 1;
            const int64_t per_range = (n / ranges + 63) / 64 * 64;  // whole cache lines of spikes
            auto range_of = [&](int64_t r, int64_t* j0, int64_t* m) {
                *j0 = std::min(n, r * per_range);
                *m = r + 1 == ranges ? n - *j0 : std::min(per_range, n - *j0);
            };
            // Phase 1, connections in id order: dense ones over all instances
            // at once (a weight block serves every instance while in cache),
            // runs of the others instance by instance (or range by range).
            for (std::size_t k = 0; k < s.incoming.size();) {
                if (graph_.connections[static_cast<std::size_t>(s.incoming[k])].kind == SNN_CONNECTION_DENSE) {
                    deliver_dense(s.incoming[k], t, for_each);
                    ++k;
                    continue;
                }
                // A run of connections delivered the same way.
                auto by_range_of = [&](std::size_t q) { return ranges > 1 && conns_[static_cast<std::size_t>(s.incoming[q])].sorted_rows; };
                const bool by_range = by_range_of(k);
                std::size_t end = k;
                while (end < s.incoming.size() && graph_.connections[static_cast<std::size_t>(s.incoming[end])].kind != SNN_CONNECTION_DENSE &&
                       by_range_of(end) == by_range)
                    ++end;
                if (by_range) {
                    for (int32_t b = 0; b < batch_; ++b)
                        for_each(ranges, [&](int64_t r) {
                            int64_t j0 = 0, m = 0;
                            range_of(r, &j0, &m);
                            for (std::size_t q = k; q < end; ++q) deliver(p, s.incoming[q], b, t, j0, j0 + m);
                        });
                } else {
                    for_each(batch_, [&](int64_t b) {
                        for (std::size_t q = k; q < end; ++q) deliver(p, s.incoming[q], static_cast<int32_t>(b), t);
                    });
                }
                k = end;
            }
            lap(&times_.deliver_ns);
            // Phases 2 to 4: by instance, or by ranges of neurons, whose spike
            // lists are then joined in order.
            if (ranges == 1) {
                for_each(batch_, [&](int64_t b) {
                    integrate(p, static_cast<int32_t>(b), t, 0, n);
                    emit(p, static_cast<int32_t>(b), t);
                });
                lap(&times_.neurons_ns);
                continue;
            }
            for (int32_t b = 0; b < batch_; ++b) {
                int32_t counts[kMaxRanges] = {};
                for_each(ranges, [&](int64_t r) {
                    int64_t j0 = 0, m = 0;
                    range_of(r, &j0, &m);
                    integrate(p, b, t, j0, m);
                    counts[r] = emit(p, b, t, j0, m);
                });
                int32_t* ids = s.ring_ids.data() + (ring_slot(t, s.depth) * capacity_ + b) * n;
                int32_t total = counts[0];
                for (int64_t r = 1; r < ranges; ++r) {
                    std::copy_n(ids + std::min(n, r * per_range), counts[r], ids + total);
                    total += counts[r];
                }
                ring_count(p, b, t) = total;
            }
            lap(&times_.neurons_ns);
        }
        if (parallel) pool->release();
    }

    void begin_run(const RunPlan& plan) override {
        plan_ = plan;
        ahead_steps_ = 0;
        for (std::size_t p = 0; p < pops_.size(); ++p) {
            PopulationState& s = pops_[p];
            s.ahead = s.ahead_steps > 0 && plan.steps >= 2 && !plan.callbacks && !plan.observed[p];
            if (s.ahead) ahead_steps_ = ahead_steps_ == 0 ? s.ahead_steps : std::min(ahead_steps_, s.ahead_steps);
        }
        for (std::size_t p = 0; p < pops_.size(); ++p) {
            // No callback reads spike ids in this run: a population needs them
            // only for consumers that are not computed ahead.
            PopulationState& s = pops_[p];
            s.ids_unused = ahead_steps_ > 0;
            for (const Connection& c : graph_.connections) {
                if (c.pre == static_cast<int32_t>(p)) s.ids_unused = s.ids_unused && pops_[static_cast<std::size_t>(c.post)].ahead;
                // Learning (core/plasticity) reads both sides' spike ids after every step.
                if (c.plastic() && (c.pre == static_cast<int32_t>(p) || c.post == static_cast<int32_t>(p))) s.ids_unused = false;
            }
        }
        ahead_begin_ = ahead_end_ = plan.first_step;
    }

    void end_run() override {
        // Spike ids skipped during the run: the last step's, for what reads them after it.
        for (std::size_t p = 0; p < pops_.size(); ++p)
            if (pops_[p].ids_unused && last_step_ >= 0)
                for (int32_t b = 0; b < batch_; ++b) emit(static_cast<int32_t>(p), b, last_step_);
        for (PopulationState& s : pops_) s.ahead = s.ids_unused = false;
        ahead_steps_ = 0;
    }

private:
    // The ring slot of step t (t may be negative before the first steps).
    static int64_t ring_slot(int64_t t, int32_t depth) {
        if (depth == 1) return 0;
        const int64_t slot = t % depth;
        return slot < 0 ? slot + depth : slot;
    }

    // Which populations can be computed ahead, and their buffers: fed only by
    // sources, through dense connections of delay 0 (a feedforward layer). A
    // step's input then is known before the step, so a run computes such a
    // population several steps at a time, column block by column block: a
    // block of weights is read from memory once for all those steps instead
    // of once per step. The operations on every neuron are those of stepping
    // one step at a time, in the same order.
    void plan_lookahead() {
        constexpr int32_t kMostSteps = 64;
        constexpr int64_t kBudget = int64_t(64) << 20;  // bytes of buffers per population
        for (std::size_t p = 0; p < pops_.size(); ++p) {
            const Population& pop = graph_.populations[p];
            PopulationState& s = pops_[p];
            if (pop.neuron_model().is_input || s.incoming.empty() || s.wta) continue;
            int64_t bytes_per_step = capacity_ * pop.size;  // spikes
            bool feedforward = true;
            for (int32_t c_id : s.incoming) {
                const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
                const Population& pre = graph_.populations[static_cast<std::size_t>(c.pre)];
                feedforward = feedforward && c.kind == SNN_CONNECTION_DENSE && c.delay == 0 && pre.neuron_model().is_input && !c.plastic();
                const bool graded = !pops_[static_cast<std::size_t>(c.pre)].graded.empty();
                bytes_per_step += capacity_ * (pre.size * (graded ? 8 : 4) + 4);
                if (graded) bytes_per_step += capacity_ * padded(pop.size) * 4;  // sums
            }
            const int64_t steps = std::min<int64_t>(kMostSteps, kBudget / std::max<int64_t>(1, bytes_per_step));
            if (!feedforward || steps < 4) continue;
            s.ahead_steps = static_cast<int32_t>(steps);
            s.ahead_spikes.assign(static_cast<std::size_t>(steps * capacity_ * pop.size), 0);
            for (int32_t c_id : s.incoming) {
                const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
                ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
                PopulationState& pre = pops_[static_cast<std::size_t>(c.pre)];
                const int64_t n_pre = graph_.populations[static_cast<std::size_t>(c.pre)].size;
                cs.ahead_ids.assign(static_cast<std::size_t>(steps * capacity_ * n_pre), 0);
                cs.ahead_counts.assign(static_cast<std::size_t>(steps * capacity_), 0);
                if (!pre.graded.empty()) {
                    cs.ahead_values.assign(static_cast<std::size_t>(steps * capacity_ * n_pre), 0.0f);
                    cs.ahead_sums.assign(static_cast<std::size_t>(steps * capacity_ * padded(pop.size)), 0.0f);
                    cs.ahead_gemm_rows.assign(static_cast<std::size_t>(steps * capacity_), 0);
                    cs.ahead_event_rows.assign(static_cast<std::size_t>(steps * capacity_), 0);
                }
                pre.ahead_row_spikes.assign(static_cast<std::size_t>(capacity_ * n_pre), 0);
                pre.ahead_row_graded.assign(static_cast<std::size_t>(capacity_ * n_pre), 0.0f);
                pre.ahead_row_scratch.assign(static_cast<std::size_t>(capacity_ * n_pre), 0.0f);
            }
        }
    }

    // Steps [t0, t0 + steps) of every population marked ahead: first each
    // step's arriving rows (the sources' output, computed as update_source
    // will compute it), then the column blocks in parallel, each running all
    // those steps (delivery in connection order, then phases 2 and 3) for
    // every instance and keeping the spikes.
    template <class ForEach>
    void compute_ahead(int64_t t0, int32_t steps, ForEach& for_each) {
        for (std::size_t p = 0; p < pops_.size(); ++p) {
            PopulationState& s = pops_[p];
            if (!s.ahead) continue;
            const int64_t n = graph_.populations[p].size;
            for (int32_t c_id : s.incoming) {
                const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
                ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
                PopulationState& pre = pops_[static_cast<std::size_t>(c.pre)];
                const int64_t n_pre = graph_.populations[static_cast<std::size_t>(c.pre)].size;
                const bool graded = !pre.graded.empty();
                for_each(batch_, [&](int64_t b64) {
                    const int32_t b = static_cast<int32_t>(b64);
                    uint8_t* row_spikes = pre.ahead_row_spikes.data() + b * n_pre;
                    float* row_graded = pre.ahead_row_graded.data() + b * n_pre;
                    for (int32_t k = 0; k < steps; ++k) {
                        const InputView in = plan_.input(plan_.self, c.pre, t0 + k - plan_.first_step);
                        source_row(c.pre, b, t0 + k, in, row_spikes, row_graded, pre.ahead_row_scratch.data() + b * n_pre);
                        const int64_t at = (static_cast<int64_t>(k) * capacity_ + b) * n_pre;
                        int32_t* ids = cs.ahead_ids.data() + at;
                        int32_t count = 0;
                        if (!graded) {
                            count = kernels_.compact(row_spikes, ids, n_pre);
                        } else {
                            count = nonzero_rows(row_graded, n_pre, ids, cs.ahead_values.data() + at);
                            // Many nonzero inputs: the whole row, for dense_gemm.
                            if (int64_t(count) * kGemmShare >= n_pre) std::copy_n(row_graded, n_pre, cs.ahead_values.data() + at);
                        }
                        cs.ahead_counts[static_cast<std::size_t>(k * capacity_ + b)] = count;
                    }
                });
                if (graded) {  // which rows go through dense_gemm, which through dense_block
                    cs.ahead_gemm_count = cs.ahead_event_count = 0;
                    for (int32_t m = 0; m < steps * batch_; ++m) {
                        const int32_t row = (m / batch_) * capacity_ + m % batch_;
                        const int32_t count = cs.ahead_counts[static_cast<std::size_t>(row)];
                        if (int64_t(count) * kGemmShare >= n_pre)
                            cs.ahead_gemm_rows[static_cast<std::size_t>(cs.ahead_gemm_count++)] = row;
                        else if (count > 0)
                            cs.ahead_event_rows[static_cast<std::size_t>(cs.ahead_event_count++)] = row;
                    }
                }
            }
            // Groups of column blocks whose weights fit in L2 together, so that
            // phases 2 and 3 run on more neurons per call (dense_gemm holds
            // only a panel of each block's rows there at a time).
            int64_t widest_pre = 1;
            for (int32_t c_id : s.incoming) {
                const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
                const int64_t n_pre = graph_.populations[static_cast<std::size_t>(c.pre)].size;
                widest_pre = std::max(widest_pre, conns_[static_cast<std::size_t>(c_id)].ahead_sums.empty() ? n_pre
                                                                                                           : std::min<int64_t>(n_pre, cpu::kGemmPanel));
            }
            const int64_t blocks = (n + cpu::kDenseBlock - 1) / cpu::kDenseBlock;
            const int64_t per_group = std::max<int64_t>(1, std::min<int64_t>(8, (int64_t(512) << 10) / (widest_pre * cpu::kDenseBlock * 4)));
            const int64_t groups = (blocks + per_group - 1) / per_group;
            for_each(groups, [&](int64_t g) {
                const int64_t first = g * per_group, last = std::min(blocks, first + per_group);
                const int64_t g0 = first * cpu::kDenseBlock, g_width = std::min(n, last * cpu::kDenseBlock) - g0;
                for (int32_t c_id : s.incoming)
                    if (!conns_[static_cast<std::size_t>(c_id)].ahead_sums.empty())
                        product_ahead(c_id, first, last);
                for (int32_t k = 0; k < steps; ++k) {
                    for (int32_t c_id : s.incoming)
                        for (int64_t q = first; q < last; ++q) deliver_ahead(c_id, k, q);
                    for (int32_t b = 0; b < batch_; ++b) {
                        integrate(static_cast<int32_t>(p), b, t0 + k, g0, g_width);
                        std::copy_n(s.spikes.data() + b * n + g0, g_width,
                                    s.ahead_spikes.data() + (static_cast<int64_t>(k) * capacity_ + b) * n + g0);
                    }
                }
            });
        }
    }

    // The dense product of a chunk computed ahead, column blocks [first,
    // last): every step's and instance's sums into ahead_sums.
    void product_ahead(int32_t c_id, int64_t first, int64_t last) {
        ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
        const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
        const int64_t n_pre = graph_.populations[static_cast<std::size_t>(c.pre)].size;
        const int64_t n = graph_.populations[static_cast<std::size_t>(c.post)].size;
        const int64_t rows = static_cast<int64_t>(ahead_steps_) * capacity_;
        const int64_t stride = rows * cpu::kDenseBlock;  // of ahead_sums, per block
        float* sums = cs.ahead_sums.data() + first * stride;
        const int64_t offset = first * n_pre * cpu::kDenseBlock;
        const auto blocks = static_cast<int32_t>(last - first);
        times_.count(int64_t(cs.ahead_gemm_count) * n_pre * (std::min(n, last * cpu::kDenseBlock) - first * cpu::kDenseBlock));
        if (cs.packed16.empty())
            kernels_.dense_gemm(cs.packed.data() + offset, n_pre, blocks, cs.ahead_values.data(), n_pre, sums, stride,
                                cs.ahead_gemm_rows.data(), cs.ahead_gemm_count);
        else
            kernels_.dense_gemm_bf16(cs.packed16.data() + offset, n_pre, blocks, cs.ahead_values.data(), n_pre, sums, stride,
                                     cs.ahead_gemm_rows.data(), cs.ahead_gemm_count);
        // Rows with few inputs: dense_block adds their sums to zeroed rows (exact).
        for (int64_t q = first; q < last; ++q) {
            const int64_t width = std::min(cpu::kDenseBlock, n - q * cpu::kDenseBlock);
            float* block_sums = cs.ahead_sums.data() + q * stride;
            cpu::DenseRows group[cpu::kDenseInstances];
            int32_t filled = 0;
            for (int32_t e = 0; e < cs.ahead_event_count; ++e) {
                const int32_t row = cs.ahead_event_rows[static_cast<std::size_t>(e)];
                cpu::DenseRows& r = group[filled];
                r.ids = cs.ahead_ids.data() + int64_t(row) * n_pre;
                r.values = cs.ahead_values.data() + int64_t(row) * n_pre;
                r.count = cs.ahead_counts[static_cast<std::size_t>(row)];
                r.target = block_sums + int64_t(row) * cpu::kDenseBlock;
                r.held = nullptr;
                std::fill_n(r.target, cpu::kDenseBlock, 0.0f);
                times_.count(int64_t(r.count) * width);
                if (++filled == cpu::kDenseInstances || e + 1 == cs.ahead_event_count) {
                    dense_block(cs, q * n_pre * cpu::kDenseBlock, width, group, filled, n_pre);
                    filled = 0;
                }
            }
        }
    }

    // Step k of a chunk computed ahead: connection c_id's rows onto column
    // block q, for every instance.
    void deliver_ahead(int32_t c_id, int32_t k, int64_t q) {
        ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
        const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
        const int64_t n_pre = graph_.populations[static_cast<std::size_t>(c.pre)].size;
        if (!cs.ahead_sums.empty()) {  // the dense product: add each instance's sums
            PopulationState& post = pops_[static_cast<std::size_t>(c.post)];
            const int64_t n = graph_.populations[static_cast<std::size_t>(c.post)].size;
            const int64_t c0 = q * cpu::kDenseBlock, width = std::min(cpu::kDenseBlock, n - c0);
            const bool delta = c.synapse_model().kind == SynapseKind::Delta;
            const int64_t rows = static_cast<int64_t>(ahead_steps_) * capacity_;
            for (int32_t b = 0; b < batch_; ++b) {
                const int64_t row = static_cast<int64_t>(k) * capacity_ + b;
                if (cs.ahead_counts[static_cast<std::size_t>(row)] == 0) continue;  // nothing arrives
                const float* sum = cs.ahead_sums.data() + (q * rows + row) * cpu::kDenseBlock;
                float* target = (delta ? post.vars[0].data() : cs.synaptic.data()) + b * n + c0;
                if (delta && !post.never_held()) {
                    const int32_t* held = post.refractory.data() + b * n + c0;
                    for (int64_t j = 0; j < width; ++j) target[j] = held[j] == 0 ? target[j] + sum[j] : target[j];
                } else {
                    for (int64_t j = 0; j < width; ++j) target[j] += sum[j];
                }
            }
            return;
        }
        dense_block_all(c_id, q, [&](int32_t b, const int32_t** ids, const float** values) {
            const int64_t at = (static_cast<int64_t>(k) * capacity_ + b) * n_pre;
            *ids = cs.ahead_ids.data() + at;
            *values = cs.ahead_values.empty() ? nullptr : cs.ahead_values.data() + at;
            return cs.ahead_counts[static_cast<std::size_t>(k * capacity_ + b)];
        });
    }

    // Column block q of dense connection c_id for every instance, up to
    // kDenseInstances per kernel call; rows(b, &ids, &values) gives instance
    // b's arriving rows and returns their count.
    template <class Rows>
    void dense_block_all(int32_t c_id, int64_t q, Rows&& rows) {
        const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
        ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
        PopulationState& post = pops_[static_cast<std::size_t>(c.post)];
        const int64_t n_pre = graph_.populations[static_cast<std::size_t>(c.pre)].size;
        const int64_t n = graph_.populations[static_cast<std::size_t>(c.post)].size;
        const int64_t c0 = q * cpu::kDenseBlock, width = std::min(cpu::kDenseBlock, n - c0);
        const bool delta = c.synapse_model().kind == SynapseKind::Delta;
        const int64_t block_offset = q * n_pre * cpu::kDenseBlock;
        cpu::DenseRows group[cpu::kDenseInstances];
        int32_t filled = 0;
        for (int32_t b = 0; b < batch_; ++b) {
            cpu::DenseRows& r = group[filled];
            r.count = rows(b, &r.ids, &r.values);
            if (r.count == 0) continue;  // nothing arrives: the target stays as it is
            times_.count(int64_t(r.count) * width);
            r.target = (delta ? post.vars[0].data() : cs.synaptic.data()) + b * n + c0;
            r.held = delta && !post.never_held() ? post.refractory.data() + b * n + c0 : nullptr;
            if (++filled == cpu::kDenseInstances) {
                dense_block(cs, block_offset, width, group, filled, n_pre);
                filled = 0;
            }
        }
        if (filled > 0) dense_block(cs, block_offset, width, group, filled, n_pre);
    }

    void dense_block(const ConnectionState& cs, int64_t offset, int64_t width, const cpu::DenseRows* group, int32_t filled,
                     int64_t n_pre) {
        if (cs.packed16.empty())
            kernels_.dense_block(cs.packed.data() + offset, width, group, filled, n_pre);
        else
            kernels_.dense_block_bf16(cs.packed16.data() + offset, width, group, filled, n_pre);
    }

    // The rows of sparse connection c that name a target twice, as 1s in
    // *repeats (left empty when there are none).
    void find_repeats(const Connection& c, int64_t n_post, pvector<uint8_t>* repeats) const {
        pvector<int32_t> last_row(static_cast<std::size_t>(n_post), -1, memory_);
        const std::size_t rows = c.row_ptr.size() - 1;
        for (std::size_t i = 0; i < rows; ++i)
            for (int64_t q = c.row_ptr[i]; q < c.row_ptr[i + 1]; ++q) {
                int32_t& seen = last_row[static_cast<std::size_t>(c.post_index[static_cast<std::size_t>(q)])];
                if (seen == static_cast<int32_t>(i)) {
                    if (repeats->empty()) repeats->assign(rows, 0);
                    (*repeats)[i] = 1;
                }
                seen = static_cast<int32_t>(i);
            }
    }

    // Columns of n neurons rounded up to whole dense blocks.
    static int64_t padded(int64_t n) { return (n + cpu::kDenseBlock - 1) / cpu::kDenseBlock * cpu::kDenseBlock; }
    // A graded row with at least 1 / kGemmShare of its inputs nonzero goes through dense_gemm.
    static constexpr int64_t kGemmShare = 8;

    // The nonzero values of a graded row as ascending ids and values; returns their count.
    static int32_t nonzero_rows(const float* x, int64_t n, int32_t* ids, float* values) {
        int32_t count = 0;
        for (int64_t i = 0; i < n; ++i) {
            ids[count] = static_cast<int32_t>(i);
            values[count] = x[i];
            count += x[i] != 0.0f;
        }
        return count;
    }

    // Learning changed some rows and columns of the graph's weights: sparse
    // and one-to-one delivery reads those; dense delivery reads the packed copy.
    void weights_changed(int32_t connection, const int32_t* rows, int64_t row_count, const int32_t* columns,
                         int64_t column_count) override {
        const Connection& c = graph_.connections[static_cast<std::size_t>(connection)];
        ConnectionState& cs = conns_[static_cast<std::size_t>(connection)];
        cs.uniform_weight = false;
        if (c.kind == SNN_CONNECTION_CONV2D) conv::transpose_kernel(c.conv, c.weights.data(), cs.conv_kernel.data());
        if (c.kind != SNN_CONNECTION_DENSE) return;
        if (row_count < 0 || column_count < 0 || c.bfloat16) {
            pack_dense(c, &cs);
            return;
        }
        const int64_t n_pre = graph_.populations[static_cast<std::size_t>(c.pre)].size;
        const int64_t n_post = graph_.populations[static_cast<std::size_t>(c.post)].size;
        constexpr int64_t B = cpu::kDenseBlock;
        auto copy = [&](int64_t i, int64_t j) {
            cs.packed[static_cast<std::size_t>(((j / B) * n_pre + i) * B + j % B)] = c.weights[static_cast<std::size_t>(i * n_post + j)];
        };
        for (int64_t q = 0; q < row_count; ++q)
            for (int64_t j = 0; j < n_post; ++j) copy(rows[q], j);
        for (int64_t q = 0; q < column_count; ++q)
            for (int64_t i = 0; i < n_pre; ++i) copy(i, columns[q]);
    }

    // Row-major [n_pre][n_post] weights into column blocks, zero-padded: as
    // float32, or for weight_dtype bfloat16 as their upper 16 bits (exact:
    // the network keeps those weights rounded to bfloat16).
    void pack_dense(const Connection& c, ConnectionState* cs) const {
        const int64_t n_pre = graph_.populations[static_cast<std::size_t>(c.pre)].size;
        const int64_t n_post = graph_.populations[static_cast<std::size_t>(c.post)].size;
        const int64_t blocks = (n_post + cpu::kDenseBlock - 1) / cpu::kDenseBlock;
        const auto size = static_cast<std::size_t>(blocks * n_pre * cpu::kDenseBlock);
        if (c.bfloat16) {
            pvector<float>(memory_).swap(cs->packed);
            cs->packed16.assign(size, 0);
        } else {
            pvector<uint16_t>(memory_).swap(cs->packed16);
            cs->packed.assign(size, 0.0f);
        }
        for (int64_t q = 0; q < blocks; ++q) {
            const int64_t c0 = q * cpu::kDenseBlock, width = std::min(cpu::kDenseBlock, n_post - c0);
            for (int64_t i = 0; i < n_pre; ++i) {
                const float* w = c.weights.data() + i * n_post + c0;
                const int64_t at = (q * n_pre + i) * cpu::kDenseBlock;
                if (c.bfloat16) {
                    for (int64_t k = 0; k < width; ++k) {
                        uint32_t bits;
                        std::memcpy(&bits, w + k, sizeof bits);
                        cs->packed16[static_cast<std::size_t>(at + k)] = static_cast<uint16_t>(bits >> 16);
                    }
                } else {
                    std::copy_n(w, width, cs->packed.data() + at);
                }
            }
        }
    }

    int64_t size_of(Owner owner, int32_t id) const {
        return owner == Owner::Population ? graph_.populations[static_cast<std::size_t>(id)].size
                                          : graph_.populations[static_cast<std::size_t>(graph_.connections[static_cast<std::size_t>(id)].post)].size;
    }

    void clear_instance(std::size_t p, int32_t b) {
        PopulationState& s = pops_[p];
        const int64_t n = graph_.populations[p].size;
        std::fill_n(s.refractory.begin() + b * n, n, 0);
        std::fill_n(s.spikes.begin() + b * n, n, uint8_t(0));
        for (int32_t d = 0; d < s.depth; ++d) {
            s.ring_counts[static_cast<std::size_t>(d * capacity_ + b)] = 0;
            if (!s.graded.empty()) std::fill_n(s.graded.begin() + (d * capacity_ + b) * n, n, 0.0f);
        }
    }

    // Instance b's row of an input as float32 (contiguous float32 copied as is).
    static void input_row(const InputView& in, int32_t b, int64_t n, float* out) {
        if (in.dtype == SNN_DTYPE_FLOAT32 && in.neuron_stride == 1)
            std::copy_n(static_cast<const float*>(in.data) + b * in.batch_stride, n, out);
        else
            for (int64_t j = 0; j < n; ++j) out[j] = input_value(in, b, j);
    }

    void update_source(int32_t p, int32_t b, int64_t t, const InputView& in) {
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        const int64_t n = graph_.populations[static_cast<std::size_t>(p)].size;
        float* graded = s.graded.empty() ? nullptr : s.graded.data() + (ring_slot(t, s.depth) * capacity_ + b) * n;
        source_row(p, b, t, in, s.spikes.data() + b * n, graded, s.scratch.empty() ? nullptr : s.scratch.data() + b * n);
    }

    // What source population p emits in step t for instance b: spikes, and
    // for a current source its values (graded); scratch: n floats a Poisson
    // source may use.
    void source_row(int32_t p, int32_t b, int64_t t, const InputView& in, uint8_t* spikes, float* graded, float* scratch) const {
        const Population& pop = graph_.populations[static_cast<std::size_t>(p)];
        const PopulationState& s = pops_[static_cast<std::size_t>(p)];
        const int64_t n = pop.size;
        const NeuronKind kind = pop.neuron_model().kind;
        if (kind == NeuronKind::CurrentSource) {
            if (in.data)
                input_row(in, b, n, graded);
            else
                std::copy_n(pop.params[current_param::current].data(), n, graded);
            std::fill_n(spikes, n, uint8_t(0));
        } else if (kind == NeuronKind::SpikeSource) {
            if (!in.data) {
                std::fill_n(spikes, n, uint8_t(0));
            } else if ((in.dtype == SNN_DTYPE_BOOL || in.dtype == SNN_DTYPE_UINT8) && in.neuron_stride == 1) {
                kernels_.nonzero(static_cast<const uint8_t*>(in.data) + b * in.batch_stride, spikes, n);
            } else {
                for (int64_t j = 0; j < n; ++j) spikes[j] = input_value(in, b, j) != 0.0f;
            }
        } else {  // poisson
            const float* probability = s.coefficients.spike_probability.data();
            if (in.data) {  // this step's rates: probabilities into the scratch row
                const float dt = static_cast<float>(graph_.dt);
                input_row(in, b, n, scratch);
                for (int64_t j = 0; j < n; ++j) scratch[j] *= dt;
                probability = scratch;
            }
            kernels_.poisson(spikes, probability, n, graph_.seed, kStreamPoisson + (static_cast<uint32_t>(p) << 8),
                             static_cast<uint32_t>(b), static_cast<uint64_t>(t));
        }
    }

    // Phase 1 for a sparse or one-to-one connection and instance b: every
    // arriving value w_ij * x_i added straight to its target (v for delta,
    // else the connection's synaptic state), rows in ascending presynaptic
    // order, as in "reference". Spiking rows come from the ring of spike ids,
    // so only rows that spiked are read. (Dense connections: deliver_dense.)
    void deliver(int32_t p, int32_t c_id, int32_t b, int64_t t) {
        const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
        const PopulationState& pre = pops_[static_cast<std::size_t>(c.pre)];
        const int64_t slot = ring_slot(t - c.delay, pre.depth);
        if (c.kind == SNN_CONNECTION_CONV2D) {
            deliver_conv(p, c_id, b, slot);
            return;
        }
        const bool spiking = pre.graded.empty() && !c.has_synapse_delays();
        if (spiking && pre.ring_counts[static_cast<std::size_t>(slot * capacity_ + b)] == 0) return;  // nothing arrives
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        const int64_t n = graph_.populations[static_cast<std::size_t>(p)].size;
        const int32_t* held = s.refractory.data() + b * n;
        ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
        const int64_t n_pre = graph_.populations[static_cast<std::size_t>(c.pre)].size;
        const bool delta = c.synapse_model().kind == SynapseKind::Delta;
        float* target = delta ? s.vars[0].data() + b * n : cs.synaptic.data() + b * n;
        const float* w = c.weights.data();
        // Delta input to a held neuron is discarded; a population that is
        // never held skips the test (and its load) per synapse.
        const int32_t* mask = delta && !s.never_held() ? held : nullptr;
        if (!pre.graded.empty()) {
            // Graded presynaptic values (current sources): every nonzero row.
            const float* x = pre.graded.data() + (slot * capacity_ + b) * n_pre;
            for (int64_t i = 0; i < n_pre; ++i) {
                if (x[i] == 0.0f) continue;
                times_.count(c.kind == SNN_CONNECTION_SPARSE ? c.row_ptr[static_cast<std::size_t>(i) + 1] - c.row_ptr[static_cast<std::size_t>(i)] : 1);
                if (c.kind == SNN_CONNECTION_SPARSE) {
                    for (int64_t q = c.row_ptr[static_cast<std::size_t>(i)]; q < c.row_ptr[static_cast<std::size_t>(i) + 1]; ++q) {
                        const int32_t j = c.post_index[static_cast<std::size_t>(q)];
                        if (!mask || mask[j] == 0) target[j] += w[q] * x[i];
                    }
                } else if (!mask || mask[i] == 0) {  // one-to-one
                    target[i] += w[i] * x[i];
                }
            }
        } else if (c.has_synapse_delays()) {
            deliver_synapse_delays(c, pre, b, t, target, mask);
        } else {
            const int32_t count = pre.ring_counts[static_cast<std::size_t>(slot * capacity_ + b)];
            const int32_t* ids = pre.ring_ids.data() + (slot * capacity_ + b) * n_pre;
            // A spike's value is 1, and w * 1 == w exactly: plain additions.
            if (c.kind == SNN_CONNECTION_SPARSE) {
                deliver_sparse_rows(c, cs, ids, count, target, mask);
                if (PhaseTimes::kOn)
                    for (int32_t k = 0; k < count; ++k) times_.count(c.row_ptr[static_cast<std::size_t>(ids[k]) + 1] - c.row_ptr[static_cast<std::size_t>(ids[k])]);
            } else {  // one-to-one
                times_.count(count);
                for (int32_t k = 0; k < count; ++k)
                    if (!mask || mask[ids[k]] == 0) target[ids[k]] += w[ids[k]];
            }
        }
    }

    // Phase 1 of a conv2d connection for instance b (core/conv.h): the
    // arriving values (spike ids, or a current source's nonzero values, in
    // ascending order) convolved from zero, pooled, biased, added once.
    void deliver_conv(int32_t p, int32_t c_id, int32_t b, int64_t slot) {
        const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
        const ConvShape& g = c.conv;
        const PopulationState& pre = pops_[static_cast<std::size_t>(c.pre)];
        ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
        const int64_t n_pre = g.n_pre(), n = g.n_post();
        float* scratch = cs.conv.data() + b * g.conv_cells();
        int32_t count = 0;
        if (!pre.graded.empty()) {  // a current source's nonzero values
            int32_t* ids = cs.graded_ids.data() + b * n_pre;
            float* values = cs.graded_values.data() + b * n_pre;
            count = nonzero_rows(pre.graded.data() + (slot * capacity_ + b) * n_pre, n_pre, ids, values);
            kernels_.conv_forward(g, cs.conv_kernel.data(), ids, values, count, scratch, cs.conv_work.data() + b * cs.conv_work_words);
        } else {
            count = pre.ring_counts[static_cast<std::size_t>(slot * capacity_ + b)];
            kernels_.conv_forward(g, cs.conv_kernel.data(), pre.ring_ids.data() + (slot * capacity_ + b) * n_pre, nullptr, count,
                                  scratch, cs.conv_work.data() + b * cs.conv_work_words);
        }
        times_.count(count);
        const bool any = count > 0;
        if (!any && !g.bias) return;
        float* out = cs.conv_out.data() + b * n;
        kernels_.conv_pool(g, scratch, g.bias ? c.weights.data() + g.kernel_size() : nullptr, out, nullptr);
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        const bool delta = c.synapse_model().kind == SynapseKind::Delta;
        float* target = delta ? s.vars[0].data() + b * n : cs.synaptic.data() + b * n;
        if (delta && !s.never_held()) {  // delta input to a held neuron is discarded
            const int32_t* held = s.refractory.data() + b * n;
            for (int64_t j = 0; j < n; ++j)
                if (held[j] == 0) target[j] += out[j];
        } else {
            kernels_.add(target, out, n);
        }
    }

    // A dense connection for every instance: each instance's arriving rows
    // (spike ids, or the nonzero values of a current source), then the
    // column blocks in parallel, each adding those rows for every instance.
    template <class ForEach>
    void deliver_dense(int32_t c_id, int64_t t, ForEach& for_each) {
        const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
        ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
        const PopulationState& pre = pops_[static_cast<std::size_t>(c.pre)];
        const int64_t n_pre = graph_.populations[static_cast<std::size_t>(c.pre)].size;
        const int64_t n = graph_.populations[static_cast<std::size_t>(c.post)].size;
        const int64_t slot = ring_slot(t - c.delay, pre.depth);
        const bool graded = !pre.graded.empty();
        if (graded)
            for_each(batch_, [&](int64_t b) {
                cs.graded_counts[static_cast<std::size_t>(b)] =
                    nonzero_rows(pre.graded.data() + (slot * capacity_ + b) * n_pre, n_pre, cs.graded_ids.data() + b * n_pre,
                                 cs.graded_values.data() + b * n_pre);
            });
        auto rows = [&](int32_t b, const int32_t** ids, const float** values) {
            if (graded) {
                *ids = cs.graded_ids.data() + b * n_pre;
                *values = cs.graded_values.data() + b * n_pre;
                return cs.graded_counts[static_cast<std::size_t>(b)];
            }
            *ids = pre.ring_ids.data() + (slot * capacity_ + b) * n_pre;
            *values = nullptr;
            return pre.ring_counts[static_cast<std::size_t>(slot * capacity_ + b)];
        };
        const int64_t blocks = (n + cpu::kDenseBlock - 1) / cpu::kDenseBlock;
        for_each(blocks, [&](int64_t q) { dense_block_all(c_id, q, rows); });
    }

    // Phase 1 of a sparse connection with sorted rows for the targets
    // [j0, j1) of instance b: the part of each arriving row in that range.
    void deliver(int32_t p, int32_t c_id, int32_t b, int64_t t, int64_t j0, int64_t j1) {
        const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
        const PopulationState& pre = pops_[static_cast<std::size_t>(c.pre)];
        const int64_t slot = ring_slot(t - c.delay, pre.depth);
        if (!pre.graded.empty()) {  // graded rows are rare on this path: the whole connection, by range
            deliver_graded_range(p, c_id, b, slot, j0, j1);
            return;
        }
        const int32_t count = pre.ring_counts[static_cast<std::size_t>(slot * capacity_ + b)];
        if (count == 0) return;
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        const int64_t n = graph_.populations[static_cast<std::size_t>(p)].size;
        ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
        const int64_t n_pre = graph_.populations[static_cast<std::size_t>(c.pre)].size;
        const bool delta = c.synapse_model().kind == SynapseKind::Delta;
        float* target = delta ? s.vars[0].data() + b * n : cs.synaptic.data() + b * n;
        const int32_t* mask = delta && !s.never_held() ? s.refractory.data() + b * n : nullptr;
        const int32_t* ids = pre.ring_ids.data() + (slot * capacity_ + b) * n_pre;
        const int64_t* row_ptr = c.row_ptr.data();
        const int32_t* post = c.post_index.data();
        const float* w = c.weights.data();
        int64_t events = 0;
        for (int32_t k = 0; k < count; ++k) {
            if (k + 2 < count) {  // the row two spikes ahead: its start (the search) and its middle
                const int32_t* ahead = post + row_ptr[ids[k + 2]];
                __builtin_prefetch(ahead);
                __builtin_prefetch(ahead + (row_ptr[ids[k + 2] + 1] - row_ptr[ids[k + 2]]) / 2);
            }
            const int32_t* first = post + row_ptr[ids[k]];
            const int32_t* last = post + row_ptr[ids[k] + 1];
            const int32_t* begin = std::lower_bound(first, last, static_cast<int32_t>(j0));
            const int32_t* end = std::lower_bound(begin, last, static_cast<int32_t>(j1));
            events += end - begin;
            for (const int32_t* q = begin; q < end; ++q) {
                const float value = cs.uniform_weight ? cs.weight : w[q - post];
                if (!mask || mask[*q] == 0) target[*q] += value;
            }
        }
        times_.count(events);
    }

    // The graded case of the above (current sources through sparse rows).
    void deliver_graded_range(int32_t p, int32_t c_id, int32_t b, int64_t slot, int64_t j0, int64_t j1) {
        const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
        const PopulationState& pre = pops_[static_cast<std::size_t>(c.pre)];
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        const int64_t n = graph_.populations[static_cast<std::size_t>(p)].size;
        ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
        const int64_t n_pre = graph_.populations[static_cast<std::size_t>(c.pre)].size;
        const bool delta = c.synapse_model().kind == SynapseKind::Delta;
        float* target = delta ? s.vars[0].data() + b * n : cs.synaptic.data() + b * n;
        const int32_t* mask = delta && !s.never_held() ? s.refractory.data() + b * n : nullptr;
        const float* x = pre.graded.data() + (slot * capacity_ + b) * n_pre;
        for (int64_t i = 0; i < n_pre; ++i) {
            if (x[i] == 0.0f) continue;
            for (int64_t q = c.row_ptr[static_cast<std::size_t>(i)]; q < c.row_ptr[static_cast<std::size_t>(i) + 1]; ++q) {
                const int32_t j = c.post_index[static_cast<std::size_t>(q)];
                if (j >= j0 && j < j1 && (!mask || mask[j] == 0)) target[j] += c.weights[static_cast<std::size_t>(q)] * x[i];
            }
        }
    }

    // The CSR rows of the presynaptic neurons `ids` (spikes, value 1), picking
    // the loop for the connection's index width and weights.
    void deliver_sparse_rows(const Connection& c, const ConnectionState& cs, const int32_t* ids, int32_t count, float* target,
                             const int32_t* held) const {
        kernels_.sparse_rows(ids, count, c.row_ptr.data(), cs.post16.empty() ? nullptr : cs.post16.data(), c.post_index.data(),
                             c.weights.data(), cs.weight, cs.uniform_weight, cs.row_repeats.empty() ? nullptr : cs.row_repeats.data(), target, held);
    }

    // Per-synapse delays: presynaptic rows in ascending order, each synapse
    // reading its own delay's slot. A neuron that spiked in any step of the
    // window is found by binary search in the slots' sorted id lists.
    void deliver_synapse_delays(const Connection& c, const PopulationState& pre, int32_t b, int64_t t, float* target,
                                const int32_t* held) {
        const int64_t n_pre = graph_.populations[static_cast<std::size_t>(c.pre)].size;
        auto spiked = [&](int64_t i, int32_t delay) {
            const int64_t slot = ring_slot(t - delay, pre.depth);
            const int32_t count = pre.ring_counts[static_cast<std::size_t>(slot * capacity_ + b)];
            const int32_t* ids = pre.ring_ids.data() + (slot * capacity_ + b) * n_pre;
            return std::binary_search(ids, ids + count, static_cast<int32_t>(i));
        };
        int32_t any = 0;
        for (int32_t d = 0; d < pre.depth; ++d) any += pre.ring_counts[static_cast<std::size_t>(d * capacity_ + b)];
        if (any == 0) return;
        for (int64_t i = 0; i < n_pre; ++i)
            for (int64_t q = c.row_ptr[static_cast<std::size_t>(i)]; q < c.row_ptr[static_cast<std::size_t>(i) + 1]; ++q) {
                const int32_t j = c.post_index[static_cast<std::size_t>(q)];
                if (spiked(i, c.delays[static_cast<std::size_t>(q)]) && (!held || held[j] == 0)) {
                    target[j] += c.weights[static_cast<std::size_t>(q)];
                    times_.count(1);
                }
            }
    }

    // The kernel and arguments of phases 2 and 3 for each instance of
    // population p, for all its neurons; built when parameters change
    // (integrate only offsets them to a range of neurons).
    void prepare_updates(std::size_t p) {
        const Population& pop = graph_.populations[p];
        PopulationState& s = pops_[p];
        const NeuronModel& model = pop.neuron_model();
        if (model.is_input) return;
        const PopulationCoefficients& k = s.coefficients;
        const int64_t n = pop.size;
        for (int32_t b = 0; b < capacity_; ++b) {
            NeuronSpan& span = s.spans[static_cast<std::size_t>(b)];
            span = NeuronSpan{};
            if (model.kind == NeuronKind::Izhikevich) {
                s.update_kind = UpdateKind::Izhikevich;
                continue;
            }
            if (model.kind == NeuronKind::Leaky) {
                s.update_kind = UpdateKind::Leaky;
                continue;
            }
            if (model.kind == NeuronKind::Modulator) {
                s.update_kind = UpdateKind::Modulator;
                continue;
            }
            const int64_t row = b * n;
            span.n = n;
            span.v = s.vars[0].data() + row;
            span.held = s.refractory.data() + row;
            span.spikes = s.spikes.data() + row;
            const bool leaky = model.kind != NeuronKind::IF;
            span.v_rest = leaky ? pop.params[lif_param::v_rest].data() : nullptr;
            span.v_th = s.wta ? s.no_threshold.data()
                              : s.v_th_index >= 0 ? pop.params[static_cast<std::size_t>(s.v_th_index)].data() : nullptr;
            span.v_reset = s.v_reset_index >= 0 ? pop.params[static_cast<std::size_t>(s.v_reset_index)].data() : nullptr;
            span.mem_decay = k.mem_decay.data();
            span.dt_over_tau = k.dt_over_tau.data();
            span.refractory_steps = k.refractory_steps.data();
            span.spiking = model.kind != NeuronKind::LI;
            span.subtract = s.subtract;
            span.uniform = s.uniform;
            if (model.kind == NeuronKind::ALIF) {
                span.a = s.vars[1].data() + row;
                span.adapt_decay = k.adapt_decay.data();
                span.delta_th = pop.params[alif_param::delta_th].data();
            }
            int32_t states = 0, cond = 0;
            for (int32_t c_id : s.incoming) {
                const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
                if (conns_[static_cast<std::size_t>(c_id)].synaptic.empty()) continue;
                ++states;
                cond += c.synapse_model().kind == SynapseKind::CondExp;
            }
            if (k.conductance_based) {
                // Only one or two cond_exp connections carry state: one fused kernel (it also decays them).
                if (states == cond && states <= 2) {
                    s.update_kind = UpdateKind::ConductanceFused;
                    for (int32_t c_id : s.incoming) {
                        const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
                        ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
                        if (cs.synaptic.empty()) continue;
                        const int i = span.fused_inputs < 0 ? 0 : span.fused_inputs;
                        span.input_state[i] = cs.synaptic.data() + row;
                        span.input_decay[i] = cs.coefficients.decay;
                        span.input_e_rev[i] = static_cast<float>(c.syn_params[syn_param::e_rev]);
                        span.fused_inputs = i + 1;
                    }
                } else {
                    s.update_kind = UpdateKind::Conductance;
                    span.currents = s.currents.data() + row;
                    span.conductance = s.conductance.data() + row;
                    span.driven = s.driven.data() + row;
                    span.scratch = s.exact_input.data() + row;  // unused on this path
                }
            } else if (states <= 2 && span.spiking) {  // (li sums first: its kernel reads exact_input)
                // One fused pass sums, integrates and decays the currents.
                s.update_kind = UpdateKind::ExactFused;
                span.fused_inputs = 0;
                for (int32_t c_id : s.incoming) {
                    ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
                    if (cs.synaptic.empty()) continue;
                    span.input_state[span.fused_inputs] = cs.synaptic.data() + row;
                    span.input_gain[span.fused_inputs] = cs.coefficients.current_gain.data();
                    span.input_decay[span.fused_inputs] = cs.coefficients.decay;
                    ++span.fused_inputs;
                }
            } else {
                s.update_kind = UpdateKind::Exact;
                span.exact_input = s.exact_input.data() + row;
            }
        }
    }

    // Phases 2 and 3 for neurons [j0, j0 + m) of instance b in step t (the
    // whole population, or one thread's or one column group's range of it).
    void integrate(int32_t p, int32_t b, int64_t t, int64_t j0, int64_t m) {
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        if (!s.wta) {
            integrate_range(p, b, j0, m);
            return;
        }
        const int64_t row = b * m;  // winner-take-all populations are never split: j0 = 0, m = n
        for (int64_t j = 0; j < m; ++j) s.was_held[static_cast<std::size_t>(row + j)] = s.refractory[static_cast<std::size_t>(row + j)] > 0;
        integrate_range(p, b, j0, m);
        wta_pass(p, b, t);
    }

    // docs/models.md, "Winner-take-all": the neurons that crossed their
    // threshold (the kernels integrated without one) are candidates; the
    // winners spike, are reset, held and adapted as the kernels would have
    // (wta::fire, shared with the reference backend).
    void wta_pass(int32_t p, int32_t b, int64_t t) {
        const Population& pop = graph_.populations[static_cast<std::size_t>(p)];
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        const int64_t n = pop.size, row = b * n;
        float* v = s.vars[0].data() + row;
        float* a = pop.neuron_model().kind == NeuronKind::ALIF ? s.vars[1].data() + row : nullptr;
        const float* v_th = pop.params[static_cast<std::size_t>(s.v_th_index)].data();
        float* margin = s.margin.data() + row;
        uint8_t* winner = s.winner.data() + row;
        for (int64_t j = 0; j < n; ++j) {
            const float threshold = a ? v_th[j] + a[j] : v_th[j];
            margin[j] = !s.was_held[static_cast<std::size_t>(row + j)] && v[j] > threshold ? v[j] - threshold : -1.0f;
        }
        wta::select(pop, margin, winner, {graph_.seed, p, b, t});
        wta::fire(pop, margin, winner, s.coefficients.refractory_steps.data(), v, a, s.refractory.data() + row,
                  s.spikes.data() + row);
    }

    void integrate_range(int32_t p, int32_t b, int64_t j0, int64_t m) {
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        if (s.update_kind == UpdateKind::Izhikevich) {
            integrate_izhikevich(p, b, j0, m);
            decay_synapses(s, b * graph_.populations[static_cast<std::size_t>(p)].size + j0, m);
            return;
        }
        if (s.update_kind == UpdateKind::Leaky) {
            integrate_leaky(p, b, j0, m);
            decay_synapses(s, b * graph_.populations[static_cast<std::size_t>(p)].size + j0, m);
            return;
        }
        if (s.update_kind == UpdateKind::Modulator) {
            integrate_modulator(p, b, j0, m);
            return;
        }
        NeuronSpan span = s.spans[static_cast<std::size_t>(b)];
        const int64_t row = b * graph_.populations[static_cast<std::size_t>(p)].size + j0;  // state offset
        const int64_t pj = s.uniform ? 0 : j0;  // parameter offset: uniform arrays are read at element 0
        span.n = m;
        for (float** x : {&span.v, &span.a, &span.input_state[0], &span.input_state[1], &span.scratch})
            if (*x) *x += j0;
        span.held += j0;
        span.spikes += j0;
        for (const float** x : {&span.currents, &span.conductance, &span.driven, &span.exact_input})
            if (*x) *x += j0;
        for (const float** x : {&span.v_rest, &span.v_th, &span.v_reset, &span.mem_decay, &span.dt_over_tau, &span.adapt_decay,
                                &span.delta_th, &span.input_gain[0], &span.input_gain[1]})
            if (*x) *x += pj;
        span.refractory_steps += pj;
        switch (s.update_kind) {
            case UpdateKind::ConductanceFused:
                kernels_.update_conductance_fused(span);
                return;
            case UpdateKind::ExactFused:
                kernels_.update_exact(span);
                return;
            case UpdateKind::Conductance:
                sum_conductance_inputs(s, row, m);
                kernels_.update_conductance(span);
                break;
            default: {  // Exact
                float* ei = s.exact_input.data() + row;
                kernels_.fill(ei, 0.0f, m);
                for (int32_t c_id : s.incoming) {
                    const ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
                    if (!cs.synaptic.empty())
                        kernels_.multiply_add(ei, cs.synaptic.data() + row, cs.coefficients.current_gain.data() + j0, m);
                }
                kernels_.update_exact(span);
                break;
            }
        }
        decay_synapses(s, row, m);
    }

    // The decay of every incoming synaptic state at [row, row + m), after phase 2 used it.
    void decay_synapses(PopulationState& s, int64_t row, int64_t m) {
        for (int32_t c_id : s.incoming) {
            ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
            if (!cs.synaptic.empty()) kernels_.scale(cs.synaptic.data() + row, cs.coefficients.decay, m);
        }
    }

    // Sums of the synaptic state at [row, row + m) into currents, conductance, driven.
    void sum_conductance_inputs(PopulationState& s, int64_t row, int64_t m) {
        float* currents = s.currents.data() + row;
        float* conductance = s.conductance.data() + row;
        float* driven = s.driven.data() + row;
        kernels_.fill(currents, 0.0f, m);
        kernels_.fill(conductance, 0.0f, m);
        kernels_.fill(driven, 0.0f, m);
        for (int32_t c_id : s.incoming) {
            const Connection& c = graph_.connections[static_cast<std::size_t>(c_id)];
            const ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
            if (cs.synaptic.empty()) continue;
            const float* x = cs.synaptic.data() + row;
            if (c.synapse_model().kind == SynapseKind::Exp) {
                kernels_.add(currents, x, m);
            } else {
                kernels_.add(conductance, x, m);
                kernels_.add_scaled(driven, x, static_cast<float>(c.syn_params[syn_param::e_rev]), m);
            }
        }
    }

    // Izhikevich with forward Euler: scalar, as in "reference".
    // leaky (snnTorch's Leaky; docs/models.md): the reset of a spike in the
    // next step, from the last step's membrane; the input undecayed.
    // docs/models.md, "modulator": m = m * exp(-dt/tau) + what arrived; never spikes.
    void integrate_modulator(int32_t p, int32_t b, int64_t j0, int64_t m) {
        const Population& pop = graph_.populations[static_cast<std::size_t>(p)];
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        const int64_t row = b * pop.size + j0;
        float* __restrict input = s.vars[modulator_var::input].data() + row;
        float* __restrict level = s.vars[modulator_var::m].data() + row;
        const float* decay = s.coefficients.mem_decay.data() + j0;
        for (int64_t j = 0; j < m; ++j) {
            level[j] = level[j] * decay[j] + input[j];
            input[j] = 0.0f;
        }
        std::fill_n(s.spikes.data() + row, m, uint8_t(0));
    }

    void integrate_leaky(int32_t p, int32_t b, int64_t j0, int64_t m) {
        const Population& pop = graph_.populations[static_cast<std::size_t>(p)];
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        const int64_t row = b * pop.size + j0;
        float* ei = s.exact_input.data() + row;  // sum over exp connections of I (gain 1), from zero
        kernels_.fill(ei, 0.0f, m);
        for (int32_t c_id : s.incoming) {
            const ConnectionState& cs = conns_[static_cast<std::size_t>(c_id)];
            if (!cs.synaptic.empty()) kernels_.multiply_add(ei, cs.synaptic.data() + row, cs.coefficients.current_gain.data() + j0, m);
        }
        float* __restrict input = s.vars[leaky_var::input].data() + row;
        float* __restrict mem = s.vars[leaky_var::v].data() + row;
        uint8_t* __restrict spikes = s.spikes.data() + row;
        const float* v_th = pop.params[leaky_param::v_th].data() + j0;
        const float* beta = s.coefficients.mem_decay.data() + j0;
        const LeakyReset mode = pop.leaky_reset();
        for (int64_t j = 0; j < m; ++j) {
            const bool reset = mem[j] > v_th[j];
            const float x = input[j] + ei[j];
            float value = beta[j] * (mode == LeakyReset::Zero && reset ? 0.0f : mem[j]) + x;
            if (mode == LeakyReset::Subtract && reset) value -= v_th[j];
            mem[j] = value;
            input[j] = 0.0f;
            spikes[j] = value > v_th[j];
        }
    }

    void integrate_izhikevich(int32_t p, int32_t b, int64_t j0, int64_t m) {
        const Population& pop = graph_.populations[static_cast<std::size_t>(p)];
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        const int64_t n = pop.size;
        sum_conductance_inputs(s, b * n + j0, m);
        float* v = s.vars[0].data() + b * n;
        float* u = s.vars[1].data() + b * n;
        int32_t* held = s.refractory.data() + b * n;
        uint8_t* spikes = s.spikes.data() + b * n;
        const float dt = static_cast<float>(graph_.dt);
        auto P = [&](int index) { return pop.params[static_cast<std::size_t>(index)].data(); };
        const float *a = P(izh_param::a), *bb = P(izh_param::b), *c = P(izh_param::c), *d = P(izh_param::d);
        const float *v_peak = P(izh_param::v_peak), *i_offset = P(izh_param::i_offset);
        const float* dt_over_tau = s.coefficients.dt_over_tau.data();
        for (int64_t j = j0; j < j0 + m; ++j) {
            const bool is_held = held[j] > 0;
            if (is_held) --held[j];
            bool spiked = false;
            if (!is_held) {
                const float vj = v[j];
                const float drive = 4e4f * vj * vj + 5e3f * vj + 140.0f - u[j] + i_offset[j];
                const std::size_t k = static_cast<std::size_t>(b * n + j);
                const float synaptic = s.currents[k] + s.driven[k] - s.conductance[k] * vj;
                v[j] = vj + dt * drive + dt_over_tau[j] * synaptic;
                u[j] += dt * a[j] * (bb[j] * vj - u[j]);
                if (v[j] > v_peak[j]) {
                    spiked = true;
                    v[j] = c[j];
                    u[j] += d[j];
                }
            }
            if (spiked) held[j] = s.coefficients.refractory_steps[static_cast<std::size_t>(j)];
            spikes[j] = spiked;
        }
    }

    // Phase 4: the ascending ids of this step's spikes among neurons
    // [j0, j0 + m), written at position j0 of the ring slot; returns their count.
    int32_t emit(int32_t p, int32_t b, int64_t t, int64_t j0, int64_t m) {
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        const int64_t n = graph_.populations[static_cast<std::size_t>(p)].size;
        int32_t* ids = s.ring_ids.data() + (ring_slot(t, s.depth) * capacity_ + b) * n + j0;
        const int32_t count = kernels_.compact(s.spikes.data() + b * n + j0, ids, m);
        if (j0 != 0)
            for (int32_t k = 0; k < count; ++k) ids[k] += static_cast<int32_t>(j0);
        return count;
    }

    // The whole population's list for instance b.
    void emit(int32_t p, int32_t b, int64_t t) { ring_count(p, b, t) = emit(p, b, t, 0, graph_.populations[static_cast<std::size_t>(p)].size); }

    int32_t& ring_count(int32_t p, int32_t b, int64_t t) {
        PopulationState& s = pops_[static_cast<std::size_t>(p)];
        return s.ring_counts[static_cast<std::size_t>(ring_slot(t, s.depth) * capacity_ + b)];
    }

    const Network& network_;
    const Graph& graph_;
    std::pmr::memory_resource* memory_;
    int32_t capacity_;
    int32_t batch_;
    const KernelTable& kernels_;
    pvector<PopulationState> pops_;
    pvector<ConnectionState> conns_;
    int64_t last_step_ = -1;
    PhaseTimes times_;
    RunPlan plan_;
    int32_t ahead_steps_ = 0;                   // steps per lookahead chunk in this run (0: none)
    int64_t ahead_begin_ = 0, ahead_end_ = 0;  // the chunk computed ahead: steps [begin, end)
};

}  // namespace

resource_ptr<Engine> create_cpu_engine(const Network& network, int32_t capacity) {
    return make_in<Engine, CpuEngine>(network.memory(), network, capacity);
}

}  // namespace snn
