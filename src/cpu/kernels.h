// The hot loops of the "cpu" backend, compiled once per SIMD level
// (kernels_generic.cpp, kernels_avx2.cpp, kernels_avx512.cpp include
// kernels.inl with different compiler flags) and picked at run time.
//
// Every level computes bit-identical results (Decision 5): the loops are
// element-wise IEEE float operations in a fixed order, all kernel files are
// compiled with -ffp-contract=off (no fused multiply-add that would round
// differently), and no level uses approximate math.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/conv.h"

#ifndef SNN_GEMM_PANEL
#define SNN_GEMM_PANEL 512  // weight rows per dense_gemm panel (a tuning knob: -DSNN_GEMM_PANEL=...)
#endif

namespace snn::cpu {

// One population's neurons of one instance, for the membrane kernels.
struct NeuronSpan {
    int64_t n = 0;
    float* v = nullptr;
    float* a = nullptr;        // alif threshold adaptation, else nullptr
    int32_t* held = nullptr;   // refractory steps left
    uint8_t* spikes = nullptr; // out: this step's spikes
    const float* v_rest = nullptr;   // nullptr: no leak ("if")
    const float* v_reset = nullptr;
    const float* v_th = nullptr;
    const float* mem_decay = nullptr;
    const float* adapt_decay = nullptr;
    const float* delta_th = nullptr;
    const int32_t* refractory_steps = nullptr;
    bool spiking = true;       // false for "li"
    bool subtract = false;     // reset by subtraction
    bool uniform = false;      // every parameter array (and input_gain) holds one value
    // Exact propagator input: sum over exp connections of I * current_gain,
    // either summed already (exact_input, fused_inputs = -1) or computed by
    // update_exact from up to two connections (fused_inputs = 0..2), which it
    // also decays.
    const float* exact_input = nullptr;
    int32_t fused_inputs = -1;
    float* input_state[2] = {nullptr, nullptr};
    const float* input_gain[2] = {nullptr, nullptr};
    float input_decay[2] = {1.0f, 1.0f};
    float input_e_rev[2] = {0.0f, 0.0f};  // update_conductance_fused: input_state are g of cond_exp connections
    // Exponential Euler inputs (conductance-based populations).
    const float* currents = nullptr;     // sum I
    const float* conductance = nullptr;  // sum g
    const float* driven = nullptr;       // sum g * e_rev
    const float* dt_over_tau = nullptr;
    float* scratch = nullptr;            // [n] floats the kernel may overwrite
};

// Columns per block of a dense connection's packed weights: block q holds
// columns [q * kDenseBlock, (q + 1) * kDenseBlock) of every row, row after
// row (zero-padded), so the rows of one block are contiguous and a block of
// a 1024-row matrix (256 KiB) stays in L2 while every instance uses it.
constexpr int64_t kDenseBlock = 64;
constexpr int32_t kDenseInstances = 4;  // instances per dense_block call
constexpr int64_t kGemmPanel = SNN_GEMM_PANEL;       // weight rows per panel of dense_gemm

// The arriving rows of a dense connection for one instance, seen from one
// column block [c0, c0 + width), with row_k the packed row ids[k] of the
// block, skipping columns where held[c] != 0 (held may be nullptr); target
// and held point at column c0. Spikes (values nullptr): for k < count,
// target[c] += row_k[c]. The dense product (values): sum[c] = the sum over
// k < count of row_k[c] * values[k] from zero, then target[c] += sum[c].
struct DenseRows {
    const int32_t* ids = nullptr;
    const float* values = nullptr;
    int32_t count = 0;
    float* target = nullptr;
    const int32_t* held = nullptr;
};

// One instance's neurons in one step of training (src/train): the forward
// integration, threshold and reset (train_forward), and its reverse with the
// spike's surrogate derivative (train_backward); docs/training.md.
struct TrainNeurons {
    int64_t n = 0;
    bool leaky = true;     // lif, li: v_rest + (v - v_rest) * decay + ei; if: v + ei
    bool spiking = true;   // false for li
    bool subtract = false; // reset by subtraction (else to v_reset)
    bool detach = false;   // no gradient through the reset
    int32_t surrogate = 0; // 0 fast_sigmoid, 1 arctan, 2 triangle
    float* v = nullptr;                // forward: in/out
    const float* ei = nullptr;         // forward: the exact input
    const float* v_rest = nullptr;
    const float* decay = nullptr;
    const float* v_th = nullptr;
    const float* v_reset = nullptr;
    const float* scale = nullptr;      // the surrogate's sharpness
    float* m = nullptr;                // forward: out, v before the threshold; backward: in
    uint64_t* bits = nullptr;          // forward: out (or-ed in); backward: in
    const float* g_out = nullptr;      // backward: dL/d(output)
    float* gv = nullptr;               // backward: in dL/dv after the step, out dL/d(v after delivery)
    float* gm = nullptr;               // backward: out dL/dm
    // alif (a != nullptr): threshold v_th + a * adapt_decay, and a += delta_th per spike.
    float* a = nullptr;                // forward: in/out
    const float* adapt_decay = nullptr;
    const float* delta_th = nullptr;
    float* a_decayed = nullptr;        // forward: out, a * adapt_decay (the step's adaptation); backward: in
    float* ga = nullptr;               // backward: in dL/da after the step, out dL/da before it
};

struct KernelTable {
    const char* name;
    void (*fill)(float* x, float value, int64_t n);
    void (*add)(float* __restrict sums, const float* __restrict w, int64_t n);                 // sums += w
    void (*add_scaled)(float* __restrict sums, const float* __restrict w, float x, int64_t n); // sums += w * x
    void (*nonzero)(const uint8_t* __restrict x, uint8_t* __restrict out, int64_t n);                 // out = x != 0
    void (*multiply_add)(float* __restrict acc, const float* __restrict x, const float* __restrict g, int64_t n);  // acc += x * g
    void (*scale)(float* x, float c, int64_t n);                                                 // x *= c
    void (*update_exact)(const NeuronSpan& s);        // lif, alif, li, if without conductances
    void (*update_conductance)(const NeuronSpan& s);  // lif, alif, li, if with conductances
    // ... whose synaptic state is one or two cond_exp connections (fused_inputs, input_*), which it also decays
    void (*update_conductance_fused)(const NeuronSpan& s);
    // For each of `instances` (1 to kDenseInstances) row sets: adds the set's
    // rows of one column block (of n_rows rows) to its target (DenseRows).
    void (*dense_block)(const float* __restrict block, int64_t width, const struct DenseRows* rows, int32_t instances,
                        int64_t n_rows);
    // The same for weights stored as bfloat16 (the upper 16 bits of float32 values).
    void (*dense_block_bf16)(const uint16_t* __restrict block, int64_t width, const struct DenseRows* rows, int32_t instances,
                             int64_t n_rows);
    // The dense product of many input rows with `blocks` consecutive column
    // blocks (of n_rows weight rows each): for each m in rows[0..count) and
    // block q, out row m of block q (kDenseBlock floats at out + q *
    // out_stride + m * kDenseBlock) = the sum over i of x[m * x_stride + i]
    // * row i of block q, from zero, i ascending, every row included: the sums
    // dense_block computes from the nonzero rows (adding x = 0 changes no sum
    // of finite weights), for many steps and instances at once (Decision 6).
    void (*dense_gemm)(const float* __restrict block, int64_t n_rows, int32_t blocks, const float* x, int64_t x_stride,
                       float* out, int64_t out_stride, const int32_t* rows, int32_t count);
    void (*dense_gemm_bf16)(const uint16_t* __restrict block, int64_t n_rows, int32_t blocks, const float* x, int64_t x_stride,
                            float* out, int64_t out_stride, const int32_t* rows, int32_t count);
    // Sparse rows of spikes: for each of the `count` rows ids[k] in order,
    // target[post[q]] += w[q] (or `weight` for every synapse when uniform)
    // for q in [row_ptr[i], row_ptr[i + 1]), skipping targets whose held is
    // nonzero (held may be nullptr). post16 (targets < 65 536) or post32.
    // repeats[i] != 0 where row i names a target twice (nullptr: no row
    // does). One synapse at a time here; sparse_rows_scatter (AVX-512 only,
    // else nullptr) adds 16 synapses of a row without repeats at once by
    // gather, add and scatter: the same sums, faster only where the CPU's
    // scatter is (select_kernels picks one into sparse_rows).
    void (*sparse_rows)(const int32_t* ids, int32_t count, const int64_t* row_ptr, const uint16_t* post16, const int32_t* post32,
                        const float* w, float weight, bool uniform, const uint8_t* repeats, float* target, const int32_t* held);
    void (*sparse_rows_scatter)(const int32_t* ids, int32_t count, const int64_t* row_ptr, const uint16_t* post16,
                                const int32_t* post32, const float* w, float weight, bool uniform, const uint8_t* repeats,
                                float* target, const int32_t* held);
    void (*poisson)(uint8_t* __restrict spikes, const float* __restrict probability, int64_t n, uint64_t seed, uint32_t stream,
                    uint32_t batch, uint64_t step);
    int32_t (*compact)(const uint8_t* __restrict spikes, int32_t* __restrict ids, int64_t n);
    // out[c * rows + r] += in[r * cols + c] (channels-last to channels-first).
    void (*add_transposed)(float* __restrict out, const float* __restrict in, int64_t rows, int64_t cols);
    // The same from spikes as bits (bit j % 64 of word j / 64); ids must
    // have room for n + 16 (whole vectors are stored past the count).
    int32_t (*compact_bits)(const uint64_t* __restrict bits, int32_t* __restrict ids, int64_t n);
    void (*train_forward)(const TrainNeurons& s);
    void (*train_backward)(const TrainNeurons& s);
    // Conv2d connections (their scratch: ConvWork below). conv_forward overwrites the channels-last
    // convolution with the arrived values (ids ascending; values NULL:
    // spikes) convolved from zero: the sums of core/conv_loops.h, by arrivals,
    // by outputs or (AVX-512, spikes, few channels) by tap masks, whichever is
    // cheaper for the count (the same bits; $SNN_CPU_CONV = "arrivals",
    // "outputs" or "masks" forces one, for tests).
    // kernel: conv::transpose_kernel's layout, allocated conv::kernel_alloc
    // floats (whole vectors are read past the last tap).
    void (*conv_forward)(const ConvShape& s, const float* kernel, const int32_t* ids, const float* values, int64_t count,
                         float* conv, void* work);
    // conv::pool, vectorised over channels (the same bits).
    void (*conv_pool)(const ConvShape& s, const float* conv, const float* bias, float* out, uint8_t* argmax);
    // Sets the cells of dL/dconv (g_conv at conv::grad_origin; the padding is
    // left as it is) from dL/d(pooled): cells from +0, windows in ascending
    // order adding their gradient to the argmax cell (max; none: the one
    // cell), or to every cell divided by the window's size (avg) or whole (sum).
    void (*conv_pool_backward)(const ConvShape& s, const float* g_out, const uint8_t* argmax, float* g_conv);
    // The kernel gradient of one instance's `count` values (ids ascending;
    // values NULL: spikes), adding into grad [in_c][kh][kw reversed][out_c]:
    // for each tap of the kernel rows u0 <= u < u1 (u = ci * kh + ky), the
    // sum from zero of value * g_conv of the output it reached, in the order
    // conv::grad_by_windows states. g_conv: the trainer's padded layout
    // (conv::grad_row), readable 16 floats past its end.
    void (*conv_weight_grad)(const ConvShape& s, const int32_t* ids, const float* values, int64_t count, int64_t u0, int64_t u1,
                             const float* g_conv, float* grad, void* work);
    // dL/d(presynaptic values), channels-last, adding, from g_conv in the
    // padded layout (conv::grad_row): kernel_in as
    // conv::kernel_for_input_grad lays it out; column (input_grad_stride(s)
    // floats) and nonzero (out_c + 16) are scratch.
    void (*conv_input_grad)(const ConvShape& s, const float* kernel_in, const float* g_conv, float* g_pre, float* column,
                            int32_t* nonzero);
};

// The conv2d kernels' scratch ("work"): caller-owned memory from the
// context's allocator (DESIGN Decision 7: no heap inside a step), 64-byte
// aligned, reused between calls; calls that may run at once need their own.
// The layout is shared by every level (the sizes and offsets below, in bytes).
namespace conv_work {
inline int64_t round64(int64_t bytes) { return (bytes + 63) / 64 * 64; }

// conv_forward by output tiles applies while a padded input row fits in one
// 64-bit mask and a tile's window (its input columns) and the kernel's rows
// in 8 bits.
inline bool gather_fits(const ConvShape& s) { return s.in_w + 2 * int64_t(s.px) <= 64 && s.kh <= 8 && s.kw <= 8; }
// Output columns per tile for `vectors` channel vectors: about 4 to 8
// independent sums, while the tile's window is at most 8 input columns.
inline int columns_for(const ConvShape& s, int64_t vectors) {
    for (int p = vectors == 1 ? 4 : vectors == 2 ? 2 : 1; p > 1; p /= 2)
        if ((p - 1) * s.sx + s.kw <= 8) return p;
    return 1;
}
// The tile width of a block of `vectors` channel vectors: several columns
// only in layers of at most 32 channels (one block, whose widened kernel
// forward() below sizes).
inline int block_columns(const ConvShape& s, int64_t vectors) { return s.out_c <= 32 ? columns_for(s, vectors) : 1; }
inline int64_t window_stride(const ConvShape& s) { return int64_t(s.in_h) + 2 * s.py + 8; }
// Tiles of several columns read the kernel widened with zero taps: rows of
// kw + 2 (P - 1) sx taps of out_c rounded up to whole vectors. (Only layers of
// at most 32 channels use such tiles.)
inline int64_t wide_taps(const ConvShape& s, int64_t columns) { return s.kw + 2 * (columns - 1) * s.sx; }
inline int64_t wide_stride(const ConvShape& s) { return (int64_t(s.out_c) + 15) / 16 * 16; }

// conv_forward by tap masks (AVX-512, spikes) applies to layers of at most
// 32 channels with column stride 1 and at most 1024 taps and 4096 output
// positions; its bit strings: one per tap, a bit per output position.
inline bool masks_fit(const ConvShape& s) {
    return gather_fits(s) && s.sx == 1 && s.out_c <= 32 && int64_t(s.in_c) * s.kh * s.kw <= 1024 && int64_t(s.conv_h) * s.conv_w <= 4096;
}
inline int64_t mask_words(const ConvShape& s) { return (int64_t(s.conv_h) * s.conv_w + 63) / 64; }

struct Forward {
    int64_t rows = 0, windows = 0, values = 0, wide = 0, taps = 0, masks = 0, bytes = 0;  // offsets and total, bytes
};
inline Forward forward(const ConvShape& s, bool graded) {
    Forward f;
    f.rows = 0;
    f.windows = round64(int64_t(s.in_c) * s.in_h * 8);
    f.values = f.windows + round64(int64_t(s.conv_w) * s.in_c * window_stride(s));  // (tiles of one column: the most)
    f.taps = f.values + (graded ? round64(s.n_pre() * 4) : 0);
    f.wide = f.taps + 64 * 4;  // taps: 64 int32
    const int columns = block_columns(s, (s.out_c + 15) / 16);
    f.masks = f.wide + (columns > 1 ? round64((int64_t(s.in_c) * s.kh * wide_taps(s, columns) * wide_stride(s) + 16) * 4) : 0);
    f.bytes = f.masks + (!graded && masks_fit(s) ? round64(int64_t(s.in_c) * s.kh * s.kw * mask_words(s) * 8) : 0);
    return f;
}

struct WeightGrad {
    int64_t rows = 0, plane = 0, offset = 0, row = 0, column = 0, bytes = 0;
};
inline WeightGrad weight_grad(const ConvShape& s, bool graded) {
    WeightGrad w;
    w.plane = round64(int64_t(s.in_h) * 8);
    w.offset = w.plane + (graded ? round64(int64_t(s.in_h) * s.in_w * 4) : 0);
    w.row = w.offset + 64 * 4;
    w.column = w.row + 64;
    w.bytes = w.column + 64;
    return w;
}
// Bytes of one call's work, for either kernel.
inline int64_t bytes(const ConvShape& s, bool graded) { return std::max(forward(s, graded).bytes, weight_grad(s, graded).bytes); }
}  // namespace conv_work

const KernelTable& generic_kernels();
#if defined(SNN_CPU_X86)
const KernelTable& avx2_kernels();
const KernelTable& avx512_kernels();
#endif

// The best level this CPU runs, unless `wanted` ("generic", "avx2",
// "avx512"; nullptr or "" or "auto": best) or $SNN_CPU_SIMD names another.
// Throws SNN_UNSUPPORTED for a level the CPU or build lacks. At AVX-512 its
// sparse_rows is sparse_rows_scatter where scatter is fast (not on AMD's
// Zen 4, where it is microcoded: one synapse at a time is about twice as
// fast there), unless $SNN_CPU_SCATTER is "0" or "1". Both give the same bits.
const KernelTable& select_kernels(const char* wanted);

}  // namespace snn::cpu
