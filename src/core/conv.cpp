#include "core/conv.h"


#include "core/conv_loops.h"

namespace snn::conv {

namespace {
struct ScalarOps {
    static void add(float* __restrict y, const float* __restrict x, int64_t n) {
        for (int64_t k = 0; k < n; ++k) y[k] += x[k];
    }
    static void add_scaled(float* __restrict y, const float* __restrict x, float a, int64_t n) {
        for (int64_t k = 0; k < n; ++k) y[k] += x[k] * a;
    }
};
}  // namespace

void transpose_kernel(const ConvShape& s, const float* w, float* kernel) {
    for (int64_t co = 0; co < s.out_c; ++co)
        for (int64_t ci = 0; ci < s.in_c; ++ci)
            for (int64_t ky = 0; ky < s.kh; ++ky)
                for (int64_t kx = 0; kx < s.kw; ++kx)
                    kernel[((ci * s.kh + ky) * s.kw + (s.kw - 1 - kx)) * s.out_c + co] = w[((co * s.in_c + ci) * s.kh + ky) * s.kw + kx];
}

void add_untransposed(const ConvShape& s, const float* kernel, float* w) {
    for (int64_t co = 0; co < s.out_c; ++co)
        for (int64_t ci = 0; ci < s.in_c; ++ci)
            for (int64_t ky = 0; ky < s.kh; ++ky)
                for (int64_t kx = 0; kx < s.kw; ++kx)
                    w[((co * s.in_c + ci) * s.kh + ky) * s.kw + kx] += kernel[((ci * s.kh + ky) * s.kw + (s.kw - 1 - kx)) * s.out_c + co];
}

void kernel_for_input_grad(const ConvShape& s, const float* w, float* kernel_in) {
    const int64_t stride = input_grad_stride(s);
    for (int64_t co = 0; co < s.out_c; ++co) {
        float* row = kernel_in + co * stride;
        for (int64_t k = int64_t(s.kh) * s.kw * s.in_c; k < stride; ++k) row[k] = 0.0f;
        for (int64_t ci = 0; ci < s.in_c; ++ci)
            for (int64_t ky = 0; ky < s.kh; ++ky)
                for (int64_t kx = 0; kx < s.kw; ++kx)
                    row[(ky * s.kw + kx) * s.in_c + ci] = w[((co * s.in_c + ci) * s.kh + ky) * s.kw + kx];
    }
}

void scatter(const ConvShape& s, const float* kernel, const int32_t* ids, const float* values, int64_t count, float* conv) {
    loops::scatter<ScalarOps>(s, kernel, ids, values, count, conv);
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
                    if (argmax) argmax[(y * s.out_w + x) * oc + co] = static_cast<uint8_t>(best);
                } else {
                    for (int64_t r = 0; r < s.ph; ++r)
                        for (int64_t c = 0; c < s.pw; ++c) value += first[(r * cw + c) * oc];
                    if (s.pool == Pool::Avg) value /= size;
                }
                o[y * s.out_w + x] = bias ? value + b : value;
            }
    }
}

}  // namespace snn::conv
