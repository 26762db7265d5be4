#include "core/conv.h"

namespace snn {

namespace {
void scalar_add(float* __restrict y, const float* __restrict x, int64_t n) {
    for (int64_t k = 0; k < n; ++k) y[k] += x[k];
}
void scalar_add_scaled(float* __restrict y, const float* __restrict x, float a, int64_t n) {
    for (int64_t k = 0; k < n; ++k) y[k] += x[k] * a;
}
}  // namespace

const RowOps& scalar_row_ops() {
    static const RowOps ops{scalar_add, scalar_add_scaled};
    return ops;
}

namespace conv {

void transpose_kernel(const ConvShape& s, const float* w, float* wt) {
    const int64_t taps = int64_t(s.kh) * s.kw;
    for (int64_t co = 0; co < s.out_c; ++co)
        for (int64_t ci = 0; ci < s.in_c; ++ci)
            for (int64_t k = 0; k < taps; ++k) wt[(ci * taps + k) * s.out_c + co] = w[(co * s.in_c + ci) * taps + k];
}

void add_untransposed(const ConvShape& s, const float* wt, float* w) {
    const int64_t taps = int64_t(s.kh) * s.kw;
    for (int64_t co = 0; co < s.out_c; ++co)
        for (int64_t ci = 0; ci < s.in_c; ++ci)
            for (int64_t k = 0; k < taps; ++k) w[(co * s.in_c + ci) * taps + k] += wt[(ci * taps + k) * s.out_c + co];
}

// Calls f(tap, output position) for each kernel tap (ky, kx) through which
// presynaptic position (y, x) reaches a convolution output.
template <class F>
inline void for_each_tap(const ConvShape& s, int64_t y, int64_t x, F&& f) {
    for (int64_t ky = 0; ky < s.kh; ++ky) {
        const int64_t ny = y + s.py - ky;  // = oy * sy
        if (ny < 0) break;
        if (ny % s.sy != 0 || ny / s.sy >= s.conv_h) continue;
        const int64_t oy = ny / s.sy;
        for (int64_t kx = 0; kx < s.kw; ++kx) {
            const int64_t nx = x + s.px - kx;
            if (nx < 0) break;
            if (nx % s.sx != 0 || nx / s.sx >= s.conv_w) continue;
            f(ky * s.kw + kx, oy * s.conv_w + nx / s.sx);
        }
    }
}

void scatter(const ConvShape& s, const float* wt, int64_t i, float x, float* conv, const RowOps& ops) {
    const int64_t plane = int64_t(s.in_h) * s.in_w;
    const int64_t ci = i / plane, y = (i % plane) / s.in_w, xx = i % s.in_w;
    const int64_t oc = s.out_c, taps = int64_t(s.kh) * s.kw;
    const float* w = wt + ci * taps * oc;
    // A spike's value is 1, and w * 1 == w: a plain addition gives the same bits.
    if (x == 1.0f)
        for_each_tap(s, y, xx, [&](int64_t tap, int64_t pos) { ops.add(conv + pos * oc, w + tap * oc, oc); });
    else
        for_each_tap(s, y, xx, [&](int64_t tap, int64_t pos) { ops.add_scaled(conv + pos * oc, w + tap * oc, x, oc); });
}

void pool(const ConvShape& s, const float* conv, const float* bias, float* out, uint8_t* argmax) {
    const int64_t oc = s.out_c, cw = s.conv_w;
    const int64_t cells = int64_t(s.out_h) * s.out_w;
    const float size = static_cast<float>(s.ph * s.pw);
    for (int64_t co = 0; co < oc; ++co) {
        const float b = bias ? bias[co] : 0.0f;
        float* o = out + co * cells;
        for (int64_t y = 0; y < s.out_h; ++y)
            for (int64_t x = 0; x < s.out_w; ++x) {
                const float* first = conv + ((y * s.psy) * cw + x * s.psx) * oc + co;
                float value = 0.0f;
                if (s.pool == Pool::None) {
                    value = *first;
                } else if (s.pool == Pool::Max) {
                    value = *first;
                    int k = 0, best = 0;
                    for (int64_t r = 0; r < s.ph; ++r)
                        for (int64_t c = 0; c < s.pw; ++c, ++k)
                            if (first[(r * cw + c) * oc] > value) {
                                value = first[(r * cw + c) * oc];
                                best = k;
                            }
                    if (argmax) argmax[co * cells + y * s.out_w + x] = static_cast<uint8_t>(best);
                } else {
                    for (int64_t r = 0; r < s.ph; ++r)
                        for (int64_t c = 0; c < s.pw; ++c) value += first[(r * cw + c) * oc];
                    if (s.pool == Pool::Avg) value /= size;
                }
                o[y * s.out_w + x] = bias ? value + b : value;
            }
    }
}

void pool_backward(const ConvShape& s, const float* g_out, const uint8_t* argmax, float* g_conv) {
    const int64_t oc = s.out_c, cw = s.conv_w;
    const int64_t cells = int64_t(s.out_h) * s.out_w;
    const float size = static_cast<float>(s.ph * s.pw);
    for (int64_t co = 0; co < oc; ++co)
        for (int64_t y = 0; y < s.out_h; ++y)
            for (int64_t x = 0; x < s.out_w; ++x) {
                const int64_t j = co * cells + y * s.out_w + x;
                const float g = g_out[j];
                if (g == 0.0f) continue;
                float* first = g_conv + ((y * s.psy) * cw + x * s.psx) * oc + co;
                if (s.pool == Pool::None) {
                    *first += g;
                } else if (s.pool == Pool::Max) {
                    const int k = argmax[j];
                    first[((k / s.pw) * cw + k % s.pw) * oc] += g;
                } else {
                    const float share = s.pool == Pool::Avg ? g / size : g;
                    for (int64_t r = 0; r < s.ph; ++r)
                        for (int64_t c = 0; c < s.pw; ++c) first[(r * cw + c) * oc] += share;
                }
            }
}

void weight_grad(const ConvShape& s, int64_t i, float x, const float* g_conv, float* gwt, const RowOps& ops) {
    const int64_t plane = int64_t(s.in_h) * s.in_w;
    const int64_t ci = i / plane, y = (i % plane) / s.in_w, xx = i % s.in_w;
    const int64_t oc = s.out_c, taps = int64_t(s.kh) * s.kw;
    float* g = gwt + ci * taps * oc;
    if (x == 1.0f)
        for_each_tap(s, y, xx, [&](int64_t tap, int64_t pos) { ops.add(g + tap * oc, g_conv + pos * oc, oc); });
    else
        for_each_tap(s, y, xx, [&](int64_t tap, int64_t pos) { ops.add_scaled(g + tap * oc, g_conv + pos * oc, x, oc); });
}

void kernel_for_input_grad(const ConvShape& s, const float* w, float* wk) {
    const int64_t taps = int64_t(s.kh) * s.kw;
    for (int64_t co = 0; co < s.out_c; ++co)
        for (int64_t ci = 0; ci < s.in_c; ++ci)
            for (int64_t k = 0; k < taps; ++k) wk[(k * s.out_c + co) * s.in_c + ci] = w[(co * s.in_c + ci) * taps + k];
}

void input_grad(const ConvShape& s, const float* wk, const float* g_conv, float* g_pre, const RowOps& ops) {
    const int64_t oc = s.out_c, ic = s.in_c;
    for (int64_t oy = 0; oy < s.conv_h; ++oy)
        for (int64_t ox = 0; ox < s.conv_w; ++ox) {
            const float* g = g_conv + (oy * s.conv_w + ox) * oc;
            for (int64_t co = 0; co < oc; ++co) {
                if (g[co] == 0.0f) continue;
                for (int64_t ky = 0; ky < s.kh; ++ky) {
                    const int64_t iy = oy * s.sy - s.py + ky;
                    if (iy < 0 || iy >= s.in_h) continue;
                    for (int64_t kx = 0; kx < s.kw; ++kx) {
                        const int64_t ix = ox * s.sx - s.px + kx;
                        if (ix < 0 || ix >= s.in_w) continue;
                        ops.add_scaled(g_pre + (iy * s.in_w + ix) * ic, wk + ((ky * s.kw + kx) * oc + co) * ic, g[co], ic);
                    }
                }
            }
        }
}

}  // namespace conv
}  // namespace snn
