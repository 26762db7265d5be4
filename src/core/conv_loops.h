// The inner loops of the conv2d connection (core/conv.h), as templates over
// the row operations: core/conv.cpp instantiates them with plain scalar
// loops (the "reference" backend), and each SIMD level of the cpu kernels
// with its own (src/cpu/kernels.inl). Every instantiation performs the same
// float operations in the same order, so they give the same bits.
//
// Ops provides  add(y, x, n): y += x  and  add_scaled(y, x, a, n): y += x * a.
//
// Layouts: the convolution and its gradient are channels-last
// [conv_h][conv_w][out_c]; the kernel for delivery and for the kernel
// gradient is [in_c][kh][kw][out_c] with kx reversed, so that with stride 1
// the taps of one kernel row reach consecutive output columns and one call
// adds them all. (The trainer's gradients, kernel and presynaptic, are
// src/cpu/kernels.inl's conv_weight_grad and conv_input_grad.)
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/conv.h"

namespace snn::conv::loops {

// Calls f(ky, oy) for each kernel row through which input row y reaches an output row.
template <class F>
inline void for_each_row(const ConvShape& s, int64_t y, F&& f) {
    for (int64_t ky = 0; ky < s.kh; ++ky) {
        const int64_t ny = y + s.py - ky;  // = oy * sy
        if (ny < 0) break;
        if (ny % s.sy != 0 || ny / s.sy >= s.conv_h) continue;
        f(ky, ny / s.sy);
    }
}

// Calls f(first reversed tap, first output column, count) for the runs of
// taps through which input column x reaches output columns: one run with
// stride 1 (taps and columns both consecutive), else one per tap.
template <class F>
inline void for_each_run(const ConvShape& s, int64_t x, F&& f) {
    const int64_t nx = x + s.px;  // = ox * sx + kx
    if (s.sx == 1) {
        const int64_t kx_lo = std::max<int64_t>(0, nx - (s.conv_w - 1)), kx_hi = std::min<int64_t>(s.kw - 1, nx);
        if (kx_lo <= kx_hi) f(s.kw - 1 - kx_hi, nx - kx_hi, kx_hi - kx_lo + 1);
        return;
    }
    for (int64_t kx = 0; kx < s.kw; ++kx) {
        if (nx - kx < 0) break;
        if ((nx - kx) % s.sx != 0 || (nx - kx) / s.sx >= s.conv_w) continue;
        f(s.kw - 1 - kx, (nx - kx) / s.sx, 1);
    }
}

// Adds the presynaptic values (ids ascending; values NULL: spikes, each 1)
// into the convolution.
template <class Ops>
void scatter(const ConvShape& s, const float* kernel, const int32_t* ids, const float* values, int64_t count, float* conv) {
    const int64_t plane = int64_t(s.in_h) * s.in_w, oc = s.out_c;
    for (int64_t k = 0; k < count; ++k) {
        const int64_t i = ids[k], ci = i / plane, y = (i % plane) / s.in_w, x = i % s.in_w;
        // A spike's value is 1, and w * 1 == w: a plain addition gives the same bits.
        const float value = values ? values[k] : 1.0f;
        for_each_row(s, y, [&](int64_t ky, int64_t oy) {
            const float* w = kernel + (ci * s.kh + ky) * s.kw * oc;
            float* row = conv + oy * s.conv_w * oc;
            for_each_run(s, x, [&](int64_t f, int64_t ox, int64_t taps) {
                if (value == 1.0f)
                    Ops::add(row + ox * oc, w + f * oc, taps * oc);
                else
                    Ops::add_scaled(row + ox * oc, w + f * oc, value, taps * oc);
            });
        });
    }
}

}  // namespace snn::conv::loops
