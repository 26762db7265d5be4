#include "core/vision.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <string_view>
#include <vector>

#include "core/error.h"

// Compiled with -ffp-contract=off (CMakeLists.txt, meson.build): the float32
// sums of image_filter must round after every multiply and add, as their
// NumPy statement in tests/python/test_vision.py does.

namespace snn::vision {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int32_t kMaxKernel = 1023;
constexpr int32_t kMaxOrientations = 1024;
constexpr int32_t kMaxSide = 1 << 20;
constexpr int64_t kMaxColumns = 16384;

// a * b, refusing a product that does not fit int64 (both non-negative).
int64_t mul(int64_t a, int64_t b, const char* what) {
    if (a != 0 && b > std::numeric_limits<int64_t>::max() / a)
        throw fail(SNN_INVALID_ARGUMENT, "%s: %lld x %lld values do not fit in 64 bits", what, static_cast<long long>(a),
                   static_cast<long long>(b));
    return a * b;
}

void check_positive(double v, const char* name) {
    if (!(v > 0.0) || !std::isfinite(v)) throw fail(SNN_INVALID_ARGUMENT, "options.%s: %g; expected a positive finite number", name, v);
}

void check_side(int32_t v, const char* name) {
    if (v < 1 || v > kMaxSide) throw fail(SNN_INVALID_ARGUMENT, "geometry.%s: %d; expected 1 to 2^20", name, v);
}

enum class Filter { Dog, Log, Gabor };

Filter filter_kind(const snn_filter_options& o) {
    const std::string_view name = o.filter ? o.filter : "dog";
    if (name == "dog") return Filter::Dog;
    if (name == "log") return Filter::Log;
    if (name == "gabor") return Filter::Gabor;
    throw fail(SNN_INVALID_ARGUMENT, "options.filter: unknown filter \"%.64s\"; expected \"dog\", \"log\" or \"gabor\"", o.filter);
}

// The spatial part of each filter at (x, y): x to the right, y down, 0 at the centre.
double gaussian(double r2, double sigma) { return std::exp(-r2 / (2.0 * sigma * sigma)) / (2.0 * kPi * sigma * sigma); }

}  // namespace

int32_t filter_count(const snn_filter_options& o) {
    const Filter kind = filter_kind(o);
    if (o.size < 1 || o.size > kMaxKernel || o.size % 2 == 0)
        throw fail(SNN_INVALID_ARGUMENT, "options.size: %d; expected an odd number from 1 to %d", o.size, kMaxKernel);
    if (o.zero_mean != 0 && o.zero_mean != 1) throw fail(SNN_INVALID_ARGUMENT, "options.zero_mean: %d; expected 0 or 1", o.zero_mean);
    switch (kind) {
        case Filter::Dog:
            check_positive(o.sigma1, "sigma1");
            check_positive(o.sigma2, "sigma2");
            if (!(o.sigma1 < o.sigma2))
                throw fail(SNN_INVALID_ARGUMENT, "options.sigma1: %g is not less than sigma2 = %g (the centre is the narrower Gaussian)",
                           o.sigma1, o.sigma2);
            return 1;
        case Filter::Log:
            check_positive(o.sigma, "sigma");
            return 1;
        case Filter::Gabor:
            check_positive(o.sigma, "sigma");
            check_positive(o.wavelength, "wavelength");
            check_positive(o.gamma, "gamma");
            if (!std::isfinite(o.psi)) throw fail(SNN_INVALID_ARGUMENT, "options.psi: %g is not finite", o.psi);
            if (o.orientations < 1 || o.orientations > kMaxOrientations)
                throw fail(SNN_INVALID_ARGUMENT, "options.orientations: %d; expected 1 to %d", o.orientations, kMaxOrientations);
            if (o.thetas)
                for (int32_t k = 0; k < o.orientations; ++k)
                    if (!std::isfinite(o.thetas[k])) throw fail(SNN_INVALID_ARGUMENT, "options.thetas[%d]: %g is not finite", k, o.thetas[k]);
            return o.orientations;
    }
    return 0;
}

void filter_kernels(const snn_filter_options& o, float* out) {
    const Filter kind = filter_kind(o);
    const int32_t count = filter_count(o);
    const int32_t n = o.size, r = (n - 1) / 2;
    std::vector<double> k(static_cast<std::size_t>(n) * n);
    for (int32_t f = 0; f < count; ++f) {
        const double theta = o.thetas ? o.thetas[f] : kPi * f / count;
        const double ct = std::cos(theta), st = std::sin(theta);
        for (int32_t row = 0; row < n; ++row)
            for (int32_t col = 0; col < n; ++col) {
                const double x = col - r, y = row - r, r2 = x * x + y * y;
                double v = 0.0;
                if (kind == Filter::Dog) {
                    v = gaussian(r2, o.sigma1) - gaussian(r2, o.sigma2);
                } else if (kind == Filter::Log) {
                    const double s2 = o.sigma * o.sigma;
                    v = (1.0 - r2 / (2.0 * s2)) * std::exp(-r2 / (2.0 * s2)) / (kPi * s2 * s2);
                } else {
                    const double xr = x * ct + y * st, yr = -x * st + y * ct;
                    v = std::exp(-(xr * xr + o.gamma * o.gamma * yr * yr) / (2.0 * o.sigma * o.sigma)) *
                        std::cos(2.0 * kPi * xr / o.wavelength + o.psi);
                }
                k[static_cast<std::size_t>(row) * n + col] = v;
            }
        if (o.zero_mean) {
            double sum = 0.0;
            for (double v : k) sum += v;  // row-major order
            const double mean = sum / (static_cast<double>(n) * n);
            for (double& v : k) v -= mean;
        }
        float* dst = out + static_cast<std::size_t>(f) * n * n;
        for (std::size_t i = 0; i < k.size(); ++i) dst[i] = static_cast<float>(k[i]);
    }
}

int64_t image_filter_count(const snn_image_filter_geometry& g) {
    check_side(g.batch, "batch");
    check_side(g.channels, "channels");
    check_side(g.height, "height");
    check_side(g.width, "width");
    check_side(g.filters, "filters");
    check_side(g.kernel_height, "kernel_height");
    check_side(g.kernel_width, "kernel_width");
    if (g.on_off != 0 && g.on_off != 1) throw fail(SNN_INVALID_ARGUMENT, "geometry.on_off: %d; expected 0 or 1", g.on_off);
    int64_t oh = 0, ow = 0;
    if (g.padding == SNN_PADDING_VALID) {
        if (g.kernel_height > g.height || g.kernel_width > g.width)
            throw fail(SNN_SHAPE, "geometry.kernel_height, kernel_width: a %d x %d kernel is larger than the %d x %d images (valid padding)",
                       g.kernel_height, g.kernel_width, g.height, g.width);
        oh = g.height - g.kernel_height + 1;
        ow = g.width - g.kernel_width + 1;
    } else if (g.padding == SNN_PADDING_SAME) {
        if (g.kernel_height % 2 == 0 || g.kernel_width % 2 == 0)
            throw fail(SNN_INVALID_ARGUMENT, "geometry.kernel_height, kernel_width: %d x %d; same padding needs odd sizes",
                       g.kernel_height, g.kernel_width);
        oh = g.height;
        ow = g.width;
    } else {
        throw fail(SNN_INVALID_ARGUMENT, "geometry.padding: %d is not SNN_PADDING_VALID or SNN_PADDING_SAME", g.padding);
    }
    const int64_t planes = mul(g.batch, int64_t(g.filters) * (g.on_off ? 2 : 1), "geometry");
    mul(mul(g.batch, g.channels, "geometry"), mul(g.height, g.width, "geometry"), "geometry");  // the images
    mul(mul(g.filters, g.channels, "geometry"), mul(g.kernel_height, g.kernel_width, "geometry"), "geometry");  // the kernels
    return mul(planes, oh * ow, "geometry");
}

void image_filter(const snn_image_filter_geometry& g, const float* images, const float* kernels, float* out) {
    image_filter_count(g);
    const int32_t C = g.channels, H = g.height, W = g.width, KH = g.kernel_height, KW = g.kernel_width;
    const bool same = g.padding == SNN_PADDING_SAME;
    const int32_t py = same ? (KH - 1) / 2 : 0, px = same ? (KW - 1) / 2 : 0;
    const int32_t OH = same ? H : H - KH + 1, OW = same ? W : W - KW + 1;
    const std::size_t plane = static_cast<std::size_t>(OH) * OW;
    std::vector<float> acc(plane);
    float* dst = out;
    for (int32_t b = 0; b < g.batch; ++b) {
        const float* image = images + static_cast<std::size_t>(b) * C * H * W;
        for (int32_t f = 0; f < g.filters; ++f) {
            std::fill(acc.begin(), acc.end(), 0.0f);
            // Every output value receives its terms in (channel, kernel row,
            // kernel column) order; taps on the zero padding are skipped.
            for (int32_t c = 0; c < C; ++c) {
                const float* in = image + static_cast<std::size_t>(c) * H * W;
                const float* kernel = kernels + (static_cast<std::size_t>(f) * C + c) * KH * KW;
                for (int32_t i = 0; i < KH; ++i)
                    for (int32_t j = 0; j < KW; ++j) {
                        const float w = kernel[i * KW + j];
                        const int32_t x0 = std::max(0, px - j), x1 = std::min(OW, W + px - j);
                        const int32_t y0 = std::max(0, py - i), y1 = std::min(OH, H + py - i);
                        for (int32_t y = y0; y < y1; ++y) {
                            const float* src = in + static_cast<std::size_t>(y + i - py) * W + (j - px);
                            float* row = acc.data() + static_cast<std::size_t>(y) * OW;
                            for (int32_t x = x0; x < x1; ++x) row[x] += w * src[x];
                        }
                    }
            }
            if (!g.on_off) {
                std::copy(acc.begin(), acc.end(), dst);
                dst += plane;
            } else {
                for (std::size_t p = 0; p < plane; ++p) dst[p] = acc[p] > 0.0f ? acc[p] : 0.0f;
                dst += plane;
                for (std::size_t p = 0; p < plane; ++p) dst[p] = acc[p] < 0.0f ? -acc[p] : 0.0f;
                dst += plane;
            }
        }
    }
}

// ---------------------------------------------------------------- ZCA

int64_t zca_size(int64_t rows, int64_t columns) {
    if (columns < 1 || columns > kMaxColumns)
        throw fail(SNN_INVALID_ARGUMENT, "columns: %lld; expected 1 to %lld", static_cast<long long>(columns),
                   static_cast<long long>(kMaxColumns));
    if (rows < 1) throw fail(SNN_INVALID_ARGUMENT, "rows: %lld; expected at least 1", static_cast<long long>(rows));
    return mul(rows, columns, "data");
}

namespace {

// Cyclic Jacobi: a (n x n, symmetric, row-major) becomes diagonal (its
// eigenvalues), v the eigenvectors as columns. Each rotation zeroes a[p][q]
// with t = tan(phi) the smaller root of t^2 + 2 theta t - 1 = 0,
// theta = (a_qq - a_pp) / (2 a_pq) (docs/vision.md).
void jacobi_eigen(std::vector<double>& a, std::vector<double>& v, int64_t n) {
    v.assign(static_cast<std::size_t>(n * n), 0.0);
    for (int64_t i = 0; i < n; ++i) v[i * n + i] = 1.0;
    double total = 0.0;
    for (double x : a) total += x * x;
    for (int sweep = 0; sweep < 100; ++sweep) {
        double off = 0.0;
        for (int64_t p = 0; p < n; ++p)
            for (int64_t q = p + 1; q < n; ++q) off += a[p * n + q] * a[p * n + q];
        if (off == 0.0 || off <= 1e-30 * total) return;
        for (int64_t p = 0; p < n; ++p)
            for (int64_t q = p + 1; q < n; ++q) {
                const double apq = a[p * n + q];
                if (apq == 0.0) continue;
                const double app = a[p * n + p], aqq = a[q * n + q];
                // After a few sweeps, an element below the diagonal's rounding is set to 0.
                const double g = 100.0 * std::fabs(apq);
                if (sweep > 3 && std::fabs(app) + g == std::fabs(app) && std::fabs(aqq) + g == std::fabs(aqq)) {
                    a[p * n + q] = a[q * n + p] = 0.0;
                    continue;
                }
                const double theta = (aqq - app) / (2.0 * apq);
                double t = 1.0 / (std::fabs(theta) + std::hypot(theta, 1.0));
                if (theta < 0.0) t = -t;
                const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
                for (int64_t r = 0; r < n; ++r) {
                    if (r == p || r == q) continue;
                    const double arp = a[r * n + p], arq = a[r * n + q];
                    const double np = c * arp - s * arq, nq = s * arp + c * arq;
                    a[r * n + p] = a[p * n + r] = np;
                    a[r * n + q] = a[q * n + r] = nq;
                }
                a[p * n + p] = app - t * apq;
                a[q * n + q] = aqq + t * apq;
                a[p * n + q] = a[q * n + p] = 0.0;
                for (int64_t r = 0; r < n; ++r) {
                    const double vrp = v[r * n + p], vrq = v[r * n + q];
                    v[r * n + p] = c * vrp - s * vrq;
                    v[r * n + q] = s * vrp + c * vrq;
                }
            }
    }
}

}  // namespace

void zca_fit(const float* data, int64_t rows, int64_t columns, double epsilon, float* mean, float* whitening) {
    const int64_t size = zca_size(rows, columns);
    if (rows < 2) throw fail(SNN_INVALID_ARGUMENT, "rows: %lld; a covariance needs at least 2", static_cast<long long>(rows));
    if (!(epsilon >= 0.0) || !std::isfinite(epsilon))
        throw fail(SNN_INVALID_ARGUMENT, "epsilon: %g; expected a finite number >= 0", epsilon);
    for (int64_t i = 0; i < size; ++i)
        if (!std::isfinite(data[i]))
            throw fail(SNN_INVALID_ARGUMENT, "data: [%lld][%lld] is %g; expected finite values", static_cast<long long>(i / columns),
                       static_cast<long long>(i % columns), static_cast<double>(data[i]));
    const int64_t n = columns;
    std::vector<double> m(static_cast<std::size_t>(n), 0.0);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < n; ++j) m[j] += data[r * n + j];
    for (double& x : m) x /= static_cast<double>(rows);
    // Upper triangle of the covariance, rows added in ascending order.
    std::vector<double> cov(static_cast<std::size_t>(n * n), 0.0), d(static_cast<std::size_t>(n));
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < n; ++j) d[j] = static_cast<double>(data[r * n + j]) - m[j];
        for (int64_t i = 0; i < n; ++i) {
            const double di = d[i];
            double* row = cov.data() + i * n;
            for (int64_t j = i; j < n; ++j) row[j] += di * d[j];
        }
    }
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = i; j < n; ++j) cov[j * n + i] = cov[i * n + j] = cov[i * n + j] / static_cast<double>(rows);
    std::vector<double> u;
    jacobi_eigen(cov, u, n);
    std::vector<double> scale(static_cast<std::size_t>(n));
    for (int64_t k = 0; k < n; ++k) {
        const double lambda = std::max(cov[k * n + k], 0.0);  // a negative value is rounding
        if (!(lambda + epsilon > 0.0))
            throw fail(SNN_INVALID_ARGUMENT, "epsilon: 0 with a singular covariance (an eigenvalue is 0); give epsilon > 0");
        scale[k] = 1.0 / std::sqrt(lambda + epsilon);
    }
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = i; j < n; ++j) {
            double w = 0.0;
            for (int64_t k = 0; k < n; ++k) w += u[i * n + k] * u[j * n + k] * scale[k];
            whitening[i * n + j] = whitening[j * n + i] = static_cast<float>(w);
        }
    for (int64_t j = 0; j < n; ++j) mean[j] = static_cast<float>(m[j]);
}

void zca_apply(const float* data, int64_t rows, int64_t columns, const float* mean, const float* whitening, float* out) {
    zca_size(rows, columns);
    const int64_t n = columns;
    std::vector<double> d(static_cast<std::size_t>(n));
    for (int64_t r = 0; r < rows; ++r) {
        // The row is read whole before it is written: out may be data.
        for (int64_t k = 0; k < n; ++k) d[k] = static_cast<double>(data[r * n + k]) - static_cast<double>(mean[k]);
        for (int64_t j = 0; j < n; ++j) {
            const float* w = whitening + j * n;
            double s = 0.0;
            for (int64_t k = 0; k < n; ++k) s += static_cast<double>(w[k]) * d[k];
            out[r * n + j] = static_cast<float>(s);
        }
    }
}

// ---------------------------------------------------------------- latency coding

int64_t spike_tensor_size(int64_t steps, int32_t batch, int64_t neurons, const char* steps_name) {
    if (steps < 1) throw fail(SNN_INVALID_ARGUMENT, "%s: %lld; expected at least 1", steps_name, static_cast<long long>(steps));
    if (batch < 1) throw fail(SNN_INVALID_ARGUMENT, "batch: %d; expected at least 1", batch);
    if (neurons < 1) throw fail(SNN_INVALID_ARGUMENT, "neurons: %lld; expected at least 1", static_cast<long long>(neurons));
    const int64_t per_step = mul(batch, neurons, "neurons");
    mul(per_step, steps, steps_name);
    return per_step;
}

void latency_encode(const float* values, int32_t batch, int64_t neurons, int32_t steps, const snn_latency_options& o,
                    int32_t* first, uint8_t* spikes) {
    const int64_t per_step = spike_tensor_size(steps, batch, neurons, "steps");
    if (o.rule != SNN_LATENCY_RANK && o.rule != SNN_LATENCY_LINEAR)
        throw fail(SNN_INVALID_ARGUMENT, "options.rule: %d is not SNN_LATENCY_RANK or SNN_LATENCY_LINEAR", o.rule);
    if (std::isnan(o.threshold)) throw fail(SNN_INVALID_ARGUMENT, "options.threshold: is NaN");
    if (spikes) std::memset(spikes, 0, static_cast<std::size_t>(per_step) * static_cast<std::size_t>(steps));
    std::vector<int64_t> order;
    std::vector<int32_t> step_of(static_cast<std::size_t>(neurons));
    for (int32_t b = 0; b < batch; ++b) {
        const float* v = values + static_cast<std::size_t>(b) * neurons;
        std::fill(step_of.begin(), step_of.end(), -1);
        if (o.rule == SNN_LATENCY_RANK) {
            order.clear();
            for (int64_t i = 0; i < neurons; ++i)
                if (static_cast<double>(v[i]) > o.threshold) order.push_back(i);  // NaN never passes
            std::sort(order.begin(), order.end(), [v](int64_t x, int64_t y) { return v[x] > v[y] || (v[x] == v[y] && x < y); });
            const int64_t K = static_cast<int64_t>(order.size());
            int64_t rank = 0;  // how many have a strictly greater value
            for (int64_t p = 0; p < K; ++p) {
                if (p > 0 && v[order[p]] != v[order[p - 1]]) rank = p;
                // rank * steps < neurons * steps, which spike_tensor_size checked fits.
                step_of[order[p]] = static_cast<int32_t>(rank * steps / K);
            }
        } else {
            for (int64_t i = 0; i < neurons; ++i) {
                const double p = static_cast<double>(v[i]);
                if (!(p > o.threshold)) continue;
                const double t = std::nearbyint((1.0 - std::clamp(p, 0.0, 1.0)) * (steps - 1));
                step_of[i] = static_cast<int32_t>(std::clamp(t, 0.0, static_cast<double>(steps - 1)));
            }
        }
        if (first) std::copy(step_of.begin(), step_of.end(), first + static_cast<std::size_t>(b) * neurons);
        if (spikes)
            for (int64_t i = 0; i < neurons; ++i)
                if (step_of[i] >= 0) spikes[static_cast<std::size_t>(step_of[i]) * per_step + static_cast<std::size_t>(b) * neurons + i] = 1;
    }
}

void spikes_first_step(const uint8_t* spikes, int64_t steps, int32_t batch, int64_t neurons, int32_t* first) {
    const int64_t per_step = spike_tensor_size(steps, batch, neurons, "steps");
    if (steps > std::numeric_limits<int32_t>::max())
        throw fail(SNN_INVALID_ARGUMENT, "steps: %lld do not fit the int32 result", static_cast<long long>(steps));
    std::fill(first, first + per_step, -1);
    for (int64_t t = 0; t < steps; ++t) {
        const uint8_t* s = spikes + t * per_step;
        for (int64_t i = 0; i < per_step; ++i)
            if (s[i] && first[i] < 0) first[i] = static_cast<int32_t>(t);
    }
}

void spikes_count(const uint8_t* spikes, int64_t steps, int32_t batch, int64_t neurons, int32_t* counts) {
    const int64_t per_step = spike_tensor_size(steps, batch, neurons, "steps");
    if (steps > std::numeric_limits<int32_t>::max())
        throw fail(SNN_INVALID_ARGUMENT, "steps: %lld do not fit the int32 result", static_cast<long long>(steps));
    std::fill(counts, counts + per_step, 0);
    for (int64_t t = 0; t < steps; ++t) {
        const uint8_t* s = spikes + t * per_step;
        for (int64_t i = 0; i < per_step; ++i) counts[i] += s[i] != 0;
    }
}

}  // namespace snn::vision
