// Surrogate-gradient backpropagation through time (docs/training.md).
//
// A Trainer compiles a network's graph into a plan, runs the network forward
// over a batch of sequences while recording a tape, and runs the exact
// reverse of that computation with each spike's derivative replaced by a
// surrogate. Its forward pass performs the operations of the "reference"
// backend in the same order (docs/models.md), so its spikes are those the
// network produces when it runs. Weight gradients are sums over (step,
// instance) in one fixed order, so they do not depend on how the work is
// split.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/coefficients.h"
#include "core/graph.h"
#include "core/memory.h"
#include "cpu/kernels.h"
#include "snn/snn.h"

namespace snn {

class Network;

enum class Surrogate { FastSigmoid, Arctan, Triangle };

// The defaults of snn_optimizer_options (Adam, learning rate 1e-3).
snn_optimizer_options default_optimizer_options();

class Trainer {
public:
    Trainer(Network& network, const snn_trainer_options& options);
    std::pmr::memory_resource* memory() const { return memory_; }

    void forward(int64_t steps, int32_t batch, int32_t count, const int32_t* populations, const snn_tensor* inputs);
    void read_output(int32_t population, std::string_view var, float* out, int64_t count) const;
    double loss(int32_t population, std::string_view name, const snn_tensor& target);
    void add_output_grad(int32_t population, std::string_view var, const float* grad, int64_t count);
    void backward();
    void zero_grad();
    void read_grad(int32_t connection, float* out, int64_t count) const;
    void write_grad(int32_t connection, const float* grad, int64_t count);
    void set_optimizer(const snn_optimizer_options& options);
    void optimizer_step();
    int64_t tape_bytes() const;
    void reset_state() { carried_ = false; }
    void read_input_grad(int32_t population, float* out, int64_t count) const;
    void train_param(int32_t population, std::string_view name, bool trainable);
    void read_param_grad(int32_t population, std::string_view name, float* out, int64_t count) const;

private:
    // One population as the trainer runs it.
    struct PopPlan {
        explicit PopPlan(std::pmr::memory_resource* mr)
            : incoming(mr), coefficients(mr), v_rest(mr), v_reset(mr), v_th(mr), scale(mr), v0(mr), delta_th(mr), a0(mr),
              bits(mr), graded(mr), m(mr), a_tape(mr), g_out(mr), v(mr), gv(mr), work(mr), a(mr), past_bits(mr),
              past_graded(mr), ga(mr), input(mr), v_start(mr), gr(mr) {}
        int32_t id = -1;
        int64_t n = 0;
        int64_t words = 0;  // 64-bit words per spike row
        bool source = false, spiking = false, graded_source = false, leaky = false, subtract = false;
        bool li = false;
        bool adaptive = false;  // alif
        bool discrete = false;  // leaky (snnTorch's Leaky): its reset in the next step
        LeakyReset leaky_reset = LeakyReset::Subtract;
        Surrogate surrogate = Surrogate::FastSigmoid;
        pvector<int32_t> incoming;  // connection ids, ascending
        PopulationCoefficients coefficients;
        pvector<float> v_rest, v_reset, v_th, scale;  // per neuron (scale: the surrogate's, defaults applied)
        pvector<float> v0;                            // initial v of instance 0
        pvector<float> delta_th, a0;                  // alif: the threshold step per spike; initial a of instance 0
        // Tape of the last forward pass.
        pvector<uint64_t> bits;  // spiking and spike sources: [T][B][words]
        pvector<float> graded;   // current source output / li v: [T][B][n]
        pvector<float> m;        // spiking: membrane before threshold, [T][B][n]
        pvector<float> a_tape;   // alif: the step's adaptation a * adapt_decay, [T][B][n]
        pvector<float> g_out;    // gradient of the loss w.r.t. the output, [T][B][n] (sources: with input_grads)
        // Running state.
        pvector<float> v;   // [B][n]
        pvector<float> gv;  // backward: gradient w.r.t. v after the current step, [B][n]
        pvector<float> work;     // [B][n] per-instance scratch (the exact input; dL/dm)
        pvector<float> a;        // alif: [B][n]
        // carry_state: the outputs of the last `depth` steps of the previous
        // forward pass (what delayed connections still deliver), oldest first.
        int32_t depth = 0;
        pvector<uint64_t> past_bits;  // [depth][B][words]
        pvector<float> past_graded;   // [depth][B][n] (graded sources)
        pvector<float> ga;       // alif, backward: dL/da after the current step, [B][n]
        // leaky: the step's delta input [B][n]; v at the start of the pass
        // [B][n]; backward: dL/d(the spike of the step before) from the
        // current step's reset, [B][n].
        pvector<float> input, v_start, gr;
        // Trained parameters (train_param): their gradients, per instance
        // [B][n] while a backward pass runs, then summed in instance order
        // into ParamPlan::grad; tau_mem also needs u - v_rest of every step
        // (u: v after delivery), [T][B][n].
        bool grad_th = false, grad_tau = false, grad_beta = false;
        pvector<float> g_th, g_decay, u_tape, gv_in;
        bool has_grad = false;
    };

    // One connection as the trainer runs it.
    struct ConnPlan {
        explicit ConnPlan(std::pmr::memory_resource* mr)
            : rows(mr), targets(mr), coefficients(mr), I0(mr), I(mr), gI(mr), arrival(mr), grad(mr), moment1(mr), moment2(mr), scratch(mr),
              sums(mr), transposed(mr), packed(mr), ahead(mr), ahead_any(mr), arrivals(mr), inputs_t(mr), grad_product(mr),
              kernel(mr), kernel_in(mr), conv_sums(mr), argmax(mr), g_conv(mr), grad_kernel(mr), g_pre(mr), column(mr), nonzero(mr),
              ids(mr), values(mr), counts(mr), work(mr) {}
        int32_t id = -1, pre = -1, post = -1;
        int64_t n_pre = 0, n_post = 0;
        int32_t delay = 1;
        bool exp = false;
        bool product = false;  // dense product: the pre population is a current source (sum first, then add)
        bool sparse = false;   // sparse or one-to-one: synapses row by row (row_ptr, post), weights [nnz]
        bool conv = false;     // conv2d (core/conv.h)
        ConvShape shape;       // conv2d
        const int64_t* row_ptr = nullptr;
        const int32_t* post_index = nullptr;
        pvector<int64_t> rows;     // one-to-one: the row pointers it implies
        pvector<int32_t> targets;  // one-to-one: the targets it implies
        ConnectionCoefficients coefficients;
        pvector<float> I0;       // initial I of instance 0 (exp)
        pvector<float> I;        // [B][n_post] (exp)
        pvector<float> gI;       // backward: gradient w.r.t. I after the current step (exp)
        pvector<float> arrival;  // backward: gradient w.r.t. what arrives in the current step, [B][n_post]
        pvector<float> grad;     // [n_pre][n_post]
        pvector<float> moment1, moment2;  // optimizer state
        pvector<float> scratch;     // new weights in optimizer_step
        pvector<float> sums;        // [B][max(n_pre, n_post)]: the dense product's sums; W dL/d(arrival)
        pvector<float> transposed;  // [n_post][n_pre]: the weights, for the presynaptic gradient
        // The dense product (from a current source, known for every step):
        // its sums for every step and instance, computed before the steps,
        // and the arrival gradients of every step, for the weight gradient
        // after them; both in column blocks of cpu::kDenseBlock, [block][row][64].
        pvector<float> packed;       // the weights in column blocks (the cpu backend's layout), for dense_gemm
        pvector<float> ahead;        // [blocks][T * B][64]: row t * B + b
        pvector<uint8_t> ahead_any;  // [T][B]: any nonzero input (else nothing is added)
        pvector<float> arrivals;     // [blocks][(T - delay) * B][64]: row (t - delay) * B + b
        pvector<float> inputs_t;     // [n_pre][(T - delay) * B]: the inputs transposed, for dense_gemm
        pvector<float> grad_product; // [blocks][n_pre][64]: the weight gradient of one backward pass
        // Conv2d: the kernel as [in_c][kh][kw][out_c] (delivery) and as
        // [out_c][kh][kw][in_c], padded (dL/d(presynaptic output),
        // conv::kernel_for_input_grad); the tape of max-pooling choices
        // [T][B][n_post]; the kernel gradient of one backward pass, per part
        // of the batch, as [part][in_c][kh][kw][out_c]. Scratch by slot, so
        // that it stays in cache (a slot is reused, not one per instance): in
        // the forward pass one slot per chunk of instances (the trainer's
        // forward_chunks_), the channels-last convolution [slot][conv_cells];
        // in the backward pass one per part, dL/dconv with padded rows
        // [slot][conv::grad_cells] (+ 16 floats), dL/d(presynaptic output)
        // channels-last [slot][n_pre], column [slot][input_grad_stride] and
        // nonzero [slot][out_c + 16].
        pvector<float> kernel, kernel_in, conv_sums;
        pvector<uint8_t> argmax;
        pvector<float> g_conv, grad_kernel, g_pre, column;
        pvector<int32_t> nonzero;
        int64_t parts = 1;  // the backward pass's parts of the batch (kConvParts at most)
        // The arriving values of a slot's instance: ids ascending,
        // [slot][ids_stride] (n_pre + 16: compact_bits stores whole vectors
        // past the count), values (graded sources) [slot][n_pre], and their
        // counts [slot].
        pvector<int32_t> ids;
        pvector<float> values;
        pvector<int32_t> counts;
        // The conv kernels' scratch (cpu/kernels.h, conv_work), one slice per
        // slot (forward chunk or backward part) x work_words.
        pvector<uint64_t> work;
        int64_t work_words = 0;
    };

    // A neuron parameter trained beside the weights.
    struct ParamPlan {
        explicit ParamPlan(std::pmr::memory_resource* mr) : grad(mr), moment1(mr), moment2(mr), scratch(mr) {}
        int32_t population = -1;
        int index = -1;  // the model's parameter index (Decay: tau_mem's)
        // Decay: lif, alif and li's decay per step exp(-dt / tau_mem), trained
        // as such ("beta") and stored back as tau_mem.
        enum Kind { Threshold, TauMem, Beta, Decay } kind = Threshold;
        pvector<float> grad, moment1, moment2, scratch;  // [n]
    };

    static int64_t ids_stride(const ConnPlan& c) { return c.n_pre + 16; }
    // A conv2d connection's backward pass splits the batch into this many
    // parts (fewer for a smaller batch), each with its own kernel-gradient
    // sums: a constant, so that the bits do not depend on the thread count.
    static constexpr int64_t kConvParts = 8;
    void check_unchanged() const;
    PopPlan& plan_of(int32_t population);
    const PopPlan& plan_of(int32_t population) const;
    ConnPlan& conn_of(int32_t connection);
    const ConnPlan& conn_of(int32_t connection) const;
    void refresh_parameters();
    template <class ForEach>
    void step_forward(int64_t t, ForEach& for_each);
    template <class ForEach>
    void step_backward(int64_t t, ForEach& for_each);
    void deliver_instance(PopPlan& p, int64_t t, int64_t b, int64_t slot);
    void keep_past();
    void forward_instance(PopPlan& p, int64_t t, int64_t b);
    template <class ForEach>
    void product_ahead(ConnPlan& c, ForEach& for_each);
    template <class ForEach>
    void product_weight_grad(ConnPlan& c, ForEach& for_each);
    template <class ForEach>
    void to_pre_dense(ConnPlan& c, PopPlan& pre, int64_t tp, ForEach& for_each);
    template <class ForEach>
    void sparse_backward(ConnPlan& c, PopPlan& pre, int64_t tp, ForEach& for_each);
    void deliver_conv(ConnPlan& c, const PopPlan& pre, int64_t t, int64_t b, int64_t slot, float* target);
    int32_t arrivals_of(ConnPlan& c, const PopPlan& pre, int64_t tp, int64_t b, int64_t slot);
    template <class ForEach>
    void conv_backward(ConnPlan& c, PopPlan& pre, int64_t t, ForEach& for_each);
    void backward_instance(PopPlan& p, int64_t t, int64_t b);
    void forward_leaky(PopPlan& p, int64_t t, int64_t b);
    void backward_leaky(PopPlan& p, int64_t t, int64_t b);
    cpu::TrainNeurons neurons_of(PopPlan& p, int64_t t, int64_t b);
    bool spiked(const PopPlan& p, int64_t t, int32_t b, int64_t j) const {
        return (p.bits[static_cast<std::size_t>((t * batch_ + b) * p.words + (j >> 6))] >> (j & 63)) & 1u;
    }

    Network& network_;
    std::pmr::memory_resource* memory_;
    const cpu::KernelTable& kernels_;  // the row operations (the same bits at every SIMD level)
    // The dense product by the cpu backend's matrix kernel (its bits: fused
    // multiply-add where the level has it); else, on "reference", by rows.
    bool gemm_ = false;
    snn_trainer_options options_;
    snn_optimizer_options optimizer_;
    int64_t optimizer_steps_ = 0;
    std::size_t population_count_ = 0, connection_count_ = 0;
    pvector<PopPlan> pops_;    // by population id
    pvector<ConnPlan> conns_;  // by connection id
    pvector<int32_t> order_;   // update order
    pvector<ParamPlan> params_;  // trained neuron parameters
    int64_t steps_ = 0;
    int32_t batch_ = 0;
    int64_t forward_chunks_ = 1;  // the forward pass's pieces of the batch (each instance's results are its own)
    bool forward_done_ = false;
    bool carried_ = false;  // carry_state: the running state holds the end of a previous pass
    bool use_past_ = false;
    bool backward_done_ = false;  // input_grads: g_out of the sources holds the last backward pass's // this pass continues a previous one (delayed rows before step 0 come from its past buffers)
};

}  // namespace snn
