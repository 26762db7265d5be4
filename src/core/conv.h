// The conv2d connection (docs/models.md, "Convolution"): its geometry and the
// loops every backend and the trainer share, so that they all add the same
// numbers in the same order.
//
// The convolution runs on a channels-last scratch [conv_h][conv_w][out_c]
// with the kernel transposed to [in_c][kh][kw][out_c]: an arriving value then
// adds kh * kw contiguous rows of out_c weights (a vector add each), and each
// output element receives its terms in ascending presynaptic order — the
// order of a direct gather over (in_c, ky, kx) too — so every implementation
// gives the same bits.
#pragma once

#include <cstdint>

namespace snn {

enum class Pool : int32_t { None = 0, Max = 1, Avg = 2, Sum = 3 };  // = SNN_POOL_*

struct ConvShape {
    int32_t in_c = 0, in_h = 0, in_w = 0, out_c = 0;
    int32_t kh = 0, kw = 0, sy = 1, sx = 1, py = 0, px = 0;
    Pool pool = Pool::None;
    int32_t ph = 1, pw = 1, psy = 1, psx = 1;  // with Pool::None: 1 x 1
    bool bias = false;
    // Derived.
    int32_t conv_h = 0, conv_w = 0;  // convolution output
    int32_t out_h = 0, out_w = 0;    // after pooling

    int64_t n_pre() const { return int64_t(in_c) * in_h * in_w; }
    int64_t n_post() const { return int64_t(out_c) * out_h * out_w; }
    int64_t kernel_size() const { return int64_t(out_c) * in_c * kh * kw; }
    int64_t weight_count() const { return kernel_size() + (bias ? out_c : 0); }
    int64_t conv_cells() const { return int64_t(conv_h) * conv_w * out_c; }
};

namespace conv {

// The delivery kernel's allocation: kernel_size() and one vector more, so
// that the cpu kernels may read whole 16-float vectors of its last taps.
inline int64_t kernel_alloc(const ConvShape& s) { return s.kernel_size() + 16; }
// [out_c][in_c][kh][kw] -> the delivery layout [in_c][kh][kw reversed][out_c] (conv_loops.h).
void transpose_kernel(const ConvShape& s, const float* w, float* kernel);
// The inverse, adding: w[co][ci][ky][kx] += kernel[ci][ky][kw - 1 - kx][co].
void add_untransposed(const ConvShape& s, const float* kernel, float* w);
// The presynaptic-gradient layout: one row per output channel, [out_c][stride],
// row co = w[co] as [kh][kw][in_c], zero-padded to the stride (whole vectors of 16).
inline int64_t input_grad_stride(const ConvShape& s) { return (int64_t(s.kh) * s.kw * s.in_c + 15) / 16 * 16; }
void kernel_for_input_grad(const ConvShape& s, const float* w, float* kernel_in);

// Adds the presynaptic values (ids ascending; values NULL: spikes) into
// the channels-last convolution: conv_loops.h with scalar loops.
void scatter(const ConvShape& s, const float* kernel, const int32_t* ids, const float* values, int64_t count, float* conv);

// Pools the convolution into out [out_c][out_h][out_w] and adds the biases
// (NULL: none). For Pool::Max, argmax (NULL: not kept) receives each
// output's position in its window (row-major; the first largest value),
// channels-last [out_h][out_w][out_c] like the convolution.
void pool(const ConvShape& s, const float* conv, const float* bias, float* out, uint8_t* argmax);

// The trainer's dL/d(conv): channels-last rows padded with kw - 1 zero cells
// on each side, [conv_h][kw - 1 + conv_w + kw - 1][out_c], so that the kernel
// gradient reads every tap of a row without a bounds check (stride 1); the
// cell (0, 0) lies at grad_origin.
inline int64_t grad_row(const ConvShape& s) { return (int64_t(s.conv_w) + 2 * (s.kw - 1)) * s.out_c; }
inline int64_t grad_origin(const ConvShape& s) { return int64_t(s.kw - 1) * s.out_c; }
inline int64_t grad_cells(const ConvShape& s) { return s.conv_h * grad_row(s); }
// The order of the kernel gradient's sums, per tap and output channel, over
// one instance's step (then added in instance order): for spike inputs into
// layers of at most 16 channels with stride 1 and max pooling over windows
// that do not overlap (and rows and windows small enough for bit masks),
// the windows in row-major order (a channel's gradient is nonzero in one
// cell of a window at most); otherwise the output positions in row-major
// order. Both add exactly the nonzero terms.
inline bool grad_by_windows(const ConvShape& s) {
    const int64_t bits = int64_t(s.kw) + s.pw - 1;  // a window's field, one row
    return s.pool == Pool::Max && s.out_c <= 16 && s.sy == 1 && s.sx == 1 && s.psy == s.ph && s.psx == s.pw &&
           s.in_w + 2 * int64_t(s.px) <= 64 && bits <= 32 && s.ph * bits <= 64 && s.ph * int64_t(s.pw) <= 16;
}

}  // namespace conv
}  // namespace snn
