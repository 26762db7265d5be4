// The image front end through the C API alone (docs/vision.md): filter
// kernels, image filtering, ZCA whitening, latency coding and the decoders,
// each on cases small enough to work out here, and every refusal with its
// status. tests/python/test_vision.py checks them against NumPy at length.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "helpers.h"

namespace {

constexpr double kPi = 3.14159265358979323846;

snn_filter_options filter_options(const char* name) {
    snn_filter_options o;
    EXPECT_SNN_OK(snn_filter_options_init(&o, sizeof o));
    o.filter = name;
    return o;
}

std::vector<float> make_kernels(const snn_filter_options& o, int32_t* filters) {
    int64_t count = 0;
    EXPECT_SNN_OK(snn_filter_kernels(&o, nullptr, 0, &count, filters));
    std::vector<float> k(static_cast<std::size_t>(count));
    EXPECT_SNN_OK(snn_filter_kernels(&o, k.data(), count, &count, filters));
    return k;
}

snn_image_filter_geometry geometry(int32_t b, int32_t c, int32_t h, int32_t w, int32_t f, int32_t kh, int32_t kw) {
    snn_image_filter_geometry g;
    EXPECT_SNN_OK(snn_image_filter_geometry_init(&g, sizeof g));
    g.batch = b;
    g.channels = c;
    g.height = h;
    g.width = w;
    g.filters = f;
    g.kernel_height = kh;
    g.kernel_width = kw;
    return g;
}

}  // namespace

TEST(Vision, FilterDefaults) {
    snn_filter_options o;
    ASSERT_SNN_OK(snn_filter_options_init(&o, sizeof o));
    EXPECT_STREQ(o.filter, "dog");
    EXPECT_EQ(o.size, 7);
    EXPECT_EQ(o.sigma1, 1.0);
    EXPECT_EQ(o.sigma2, 2.0);
    EXPECT_EQ(o.orientations, 4);
    EXPECT_EQ(o.thetas, nullptr);
    EXPECT_EQ(o.zero_mean, 1);
}

TEST(Vision, DogKernelIsOnCentreWithZeroMean) {
    int32_t filters = 0;
    const std::vector<float> k = make_kernels(filter_options("dog"), &filters);
    ASSERT_EQ(filters, 1);
    ASSERT_EQ(k.size(), 49u);
    double sum = 0.0;
    for (float v : k) sum += v;
    EXPECT_NEAR(sum, 0.0, 1e-6);
    EXPECT_GT(k[24], 0.0f);  // centre
    EXPECT_LT(k[0], 0.0f);   // corner: the surround
    // The centre's value, from the equation (before the mean is taken off).
    auto g = [](double r2, double s) { return std::exp(-r2 / (2 * s * s)) / (2 * kPi * s * s); };
    snn_filter_options raw = filter_options("dog");
    raw.zero_mean = 0;
    const std::vector<float> r = make_kernels(raw, &filters);
    EXPECT_FLOAT_EQ(r[24], static_cast<float>(g(0, 1) - g(0, 2)));
    EXPECT_FLOAT_EQ(r[0], static_cast<float>(g(18, 1) - g(18, 2)));
}

TEST(Vision, GaborOrientations) {
    snn_filter_options o = filter_options("gabor");
    o.zero_mean = 0;
    int32_t filters = 0;
    const std::vector<float> k = make_kernels(o, &filters);
    ASSERT_EQ(filters, 4);
    ASSERT_EQ(k.size(), 4u * 49u);
    EXPECT_FLOAT_EQ(k[24], 1.0f);  // exp(0) cos(0) at the centre of every kernel
    EXPECT_FLOAT_EQ(k[49 + 24], 1.0f);
    // theta = 0 varies along x only at y = 0; theta = pi/2 is its transpose.
    // At x' = 2, y' = 0: exp(-4 / 2) cos(2 pi 2 / 4) = -exp(-2).
    EXPECT_NEAR(k[3 * 7 + 5], -std::exp(-2.0), 1e-6);          // theta 0: (x, y) = (2, 0)
    EXPECT_NEAR(k[2 * 49 + 5 * 7 + 3], -std::exp(-2.0), 1e-6); // theta pi/2: (x, y) = (0, 2)
    const double thetas[2] = {0.0, kPi / 2};
    o.thetas = thetas;
    o.orientations = 2;
    const std::vector<float> two = make_kernels(o, &filters);
    ASSERT_EQ(filters, 2);
    for (int i = 0; i < 49; ++i) EXPECT_EQ(two[49 + i], k[2 * 49 + i]);
}

TEST(Vision, FilterRefusals) {
    int64_t count = 0;
    snn_filter_options o = filter_options("dog");
    o.size = 6;
    EXPECT_SNN_ERROR(snn_filter_kernels(&o, nullptr, 0, &count, nullptr), SNN_INVALID_ARGUMENT, "options.size");
    o = filter_options("dog");
    o.sigma1 = 3.0;
    EXPECT_SNN_ERROR(snn_filter_kernels(&o, nullptr, 0, &count, nullptr), SNN_INVALID_ARGUMENT, "options.sigma1");
    o = filter_options("log");
    o.sigma = 0.0;
    EXPECT_SNN_ERROR(snn_filter_kernels(&o, nullptr, 0, &count, nullptr), SNN_INVALID_ARGUMENT, "options.sigma");
    o = filter_options("gabor");
    o.orientations = 0;
    EXPECT_SNN_ERROR(snn_filter_kernels(&o, nullptr, 0, &count, nullptr), SNN_INVALID_ARGUMENT, "options.orientations");
    o = filter_options("gabor");
    o.wavelength = -1.0;
    EXPECT_SNN_ERROR(snn_filter_kernels(&o, nullptr, 0, &count, nullptr), SNN_INVALID_ARGUMENT, "options.wavelength");
    o = filter_options("sobel");
    EXPECT_SNN_ERROR(snn_filter_kernels(&o, nullptr, 0, &count, nullptr), SNN_INVALID_ARGUMENT, "options.filter");
    o = filter_options("dog");
    EXPECT_SNN_ERROR(snn_filter_kernels(nullptr, nullptr, 0, &count, nullptr), SNN_INVALID_ARGUMENT, "options");
    EXPECT_SNN_ERROR(snn_filter_kernels(&o, nullptr, 0, nullptr, nullptr), SNN_INVALID_ARGUMENT, "out_count");
    float small[10];
    EXPECT_SNN_ERROR(snn_filter_kernels(&o, small, 10, &count, nullptr), SNN_SHAPE, "capacity");
    EXPECT_SNN_ERROR(snn_filter_kernels(&o, nullptr, 49, &count, nullptr), SNN_INVALID_ARGUMENT, "out_kernels");
    EXPECT_SNN_ERROR(snn_filter_options_init(nullptr, sizeof o), SNN_INVALID_ARGUMENT, "options");
}

TEST(Vision, ImageFilterValidSameAndOnOff) {
    // One 3 x 4 image, one 3 x 3 kernel with a single 1 at (0, 2): a shift.
    std::vector<float> image(12);
    for (int i = 0; i < 12; ++i) image[i] = static_cast<float>(i) - 5.0f;
    float kernel[9] = {0, 0, 1, 0, 0, 0, 0, 0, 0};
    snn_image_filter_geometry g = geometry(1, 1, 3, 4, 1, 3, 3);
    int64_t count = 0;
    ASSERT_SNN_OK(snn_image_filter(&g, image.data(), kernel, nullptr, 0, &count));
    ASSERT_EQ(count, 2);  // valid: 1 x 2
    float out[24];
    ASSERT_SNN_OK(snn_image_filter(&g, image.data(), kernel, out, count, &count));
    EXPECT_EQ(out[0], image[2]);
    EXPECT_EQ(out[1], image[3]);

    g.padding = SNN_PADDING_SAME;
    ASSERT_SNN_OK(snn_image_filter(&g, image.data(), kernel, out, 24, &count));
    ASSERT_EQ(count, 12);
    // out[y][x] = in[y - 1][x + 1], zero outside.
    for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 4; ++x) {
            const float want = (y >= 1 && x + 1 < 4) ? image[(y - 1) * 4 + x + 1] : 0.0f;
            EXPECT_EQ(out[y * 4 + x], want) << y << "," << x;
        }

    g.on_off = 1;
    float split[24];
    ASSERT_SNN_OK(snn_image_filter(&g, image.data(), kernel, split, 24, &count));
    ASSERT_EQ(count, 24);
    for (int p = 0; p < 12; ++p) {
        EXPECT_EQ(split[p], std::max(out[p], 0.0f));
        EXPECT_EQ(split[12 + p], std::max(-out[p], 0.0f));
    }
}

TEST(Vision, ImageFilterSumsChannels) {
    // Two channels, 1 x 1 kernels 2 and 3: 2 a + 3 b.
    float image[8] = {1, 2, 3, 4, 10, 20, 30, 40};
    float kernel[2] = {2, 3};
    snn_image_filter_geometry g = geometry(1, 2, 2, 2, 1, 1, 1);
    float out[4];
    int64_t count = 0;
    ASSERT_SNN_OK(snn_image_filter(&g, image, kernel, out, 4, &count));
    for (int p = 0; p < 4; ++p) EXPECT_EQ(out[p], 2 * image[p] + 3 * image[4 + p]);
}

TEST(Vision, ImageFilterRefusals) {
    float image[16] = {}, kernel[9] = {}, out[64];
    int64_t count = 0;
    snn_image_filter_geometry g = geometry(1, 1, 2, 2, 1, 3, 3);
    EXPECT_SNN_ERROR(snn_image_filter(&g, image, kernel, out, 64, &count), SNN_SHAPE, "kernel");
    g = geometry(1, 1, 4, 4, 1, 2, 2);
    g.padding = SNN_PADDING_SAME;
    EXPECT_SNN_ERROR(snn_image_filter(&g, image, kernel, out, 64, &count), SNN_INVALID_ARGUMENT, "odd");
    g = geometry(0, 1, 4, 4, 1, 3, 3);
    EXPECT_SNN_ERROR(snn_image_filter(&g, image, kernel, out, 64, &count), SNN_INVALID_ARGUMENT, "geometry.batch");
    g = geometry(1, 1, 4, 4, 1, 3, 3);
    g.padding = 7;
    EXPECT_SNN_ERROR(snn_image_filter(&g, image, kernel, out, 64, &count), SNN_INVALID_ARGUMENT, "geometry.padding");
    g = geometry(1, 1, 4, 4, 1, 3, 3);
    g.on_off = 2;
    EXPECT_SNN_ERROR(snn_image_filter(&g, image, kernel, out, 64, &count), SNN_INVALID_ARGUMENT, "geometry.on_off");
    g = geometry(1, 1, 4, 4, 1, 3, 3);
    EXPECT_SNN_ERROR(snn_image_filter(&g, nullptr, kernel, out, 64, &count), SNN_INVALID_ARGUMENT, "images");
    EXPECT_SNN_ERROR(snn_image_filter(&g, image, nullptr, out, 64, &count), SNN_INVALID_ARGUMENT, "kernels");
    EXPECT_SNN_ERROR(snn_image_filter(&g, image, kernel, out, 3, &count), SNN_SHAPE, "capacity");
    EXPECT_SNN_ERROR(snn_image_filter(nullptr, image, kernel, out, 64, &count), SNN_INVALID_ARGUMENT, "geometry");
    g.struct_size = 0;
    EXPECT_SNN_ERROR(snn_image_filter(&g, image, kernel, out, 64, &count), SNN_INVALID_ARGUMENT, "struct_size");
}

TEST(Vision, ZcaWhitensTwoCorrelatedColumns) {
    // x = (a, a + b) for a, b = +-1 in all four combinations.
    const float data[8] = {1, 2, 1, 0, -1, 0, -1, -2};
    float mean[2], w[4];
    ASSERT_SNN_OK(snn_zca_fit(data, 4, 2, 0.0, mean, 2, w, 4));
    EXPECT_FLOAT_EQ(mean[0], 0.0f);
    EXPECT_FLOAT_EQ(mean[1], 0.0f);
    EXPECT_FLOAT_EQ(w[1], w[2]);  // symmetric
    float out[8];
    ASSERT_SNN_OK(snn_zca_apply(data, 4, 2, mean, w, out, 8));
    double c00 = 0, c01 = 0, c11 = 0;
    for (int r = 0; r < 4; ++r) {
        c00 += out[2 * r] * out[2 * r] / 4.0;
        c01 += out[2 * r] * out[2 * r + 1] / 4.0;
        c11 += out[2 * r + 1] * out[2 * r + 1] / 4.0;
    }
    EXPECT_NEAR(c00, 1.0, 1e-5);
    EXPECT_NEAR(c11, 1.0, 1e-5);
    EXPECT_NEAR(c01, 0.0, 1e-5);
    // In place gives the same values.
    float inplace[8];
    std::memcpy(inplace, data, sizeof inplace);
    ASSERT_SNN_OK(snn_zca_apply(inplace, 4, 2, mean, w, inplace, 8));
    for (int i = 0; i < 8; ++i) EXPECT_EQ(inplace[i], out[i]);
}

TEST(Vision, ZcaRefusals) {
    const float data[6] = {1, 2, 3, 4, 5, 6};
    const float constant[6] = {1, 1, 1, 1, 1, 1};
    const float nan_data[4] = {1, NAN, 2, 3};
    float mean[3], w[9], out[6];
    EXPECT_SNN_ERROR(snn_zca_fit(data, 1, 3, 0.1, mean, 3, w, 9), SNN_INVALID_ARGUMENT, "rows");
    EXPECT_SNN_ERROR(snn_zca_fit(data, 2, 0, 0.1, mean, 3, w, 9), SNN_INVALID_ARGUMENT, "columns");
    EXPECT_SNN_ERROR(snn_zca_fit(data, 2, 3, -1.0, mean, 3, w, 9), SNN_INVALID_ARGUMENT, "epsilon");
    EXPECT_SNN_ERROR(snn_zca_fit(constant, 2, 3, 0.0, mean, 3, w, 9), SNN_INVALID_ARGUMENT, "epsilon");
    EXPECT_SNN_ERROR(snn_zca_fit(nan_data, 2, 2, 0.1, mean, 2, w, 4), SNN_INVALID_ARGUMENT, "data");
    EXPECT_SNN_ERROR(snn_zca_fit(data, 2, 3, 0.1, mean, 2, w, 9), SNN_SHAPE, "mean_count");
    EXPECT_SNN_ERROR(snn_zca_fit(data, 2, 3, 0.1, mean, 3, w, 8), SNN_SHAPE, "whitening_count");
    EXPECT_SNN_ERROR(snn_zca_fit(nullptr, 2, 3, 0.1, mean, 3, w, 9), SNN_INVALID_ARGUMENT, "data");
    EXPECT_SNN_ERROR(snn_zca_fit(data, 2, 3, 0.1, nullptr, 3, w, 9), SNN_INVALID_ARGUMENT, "out_mean");
    EXPECT_SNN_OK(snn_zca_fit(constant, 2, 3, 0.5, mean, 3, w, 9));
    EXPECT_FLOAT_EQ(w[0], static_cast<float>(1.0 / std::sqrt(0.5)));
    EXPECT_SNN_ERROR(snn_zca_apply(data, 2, 3, mean, w, out, 5), SNN_SHAPE, "count");
    EXPECT_SNN_ERROR(snn_zca_apply(data, 2, 3, nullptr, w, out, 6), SNN_INVALID_ARGUMENT, "mean");
    EXPECT_SNN_ERROR(snn_zca_apply(data, 2, 3, mean, nullptr, out, 6), SNN_INVALID_ARGUMENT, "whitening");
    EXPECT_SNN_ERROR(snn_zca_apply(data, 0, 3, mean, w, out, 6), SNN_INVALID_ARGUMENT, "rows");
}

TEST(Vision, LatencyRankOrder) {
    // Two instances of 5 neurons, 4 steps.
    const float values[10] = {0.9f, 0.0f, 0.5f, 0.5f, 0.7f, -1.0f, 3.0f, 2.0f, 1.0f, 0.0f};
    int32_t first[10];
    std::vector<uint8_t> spikes(4 * 10);
    ASSERT_SNN_OK(snn_latency_encode(values, 2, 5, 4, nullptr, first, 10, spikes.data(), 40));
    // Instance 0: K = 4 (0.9, 0.7, 0.5, 0.5): ranks 0, 1, 2, 2 -> steps 0, 1, 2, 2.
    const int32_t want[10] = {0, -1, 2, 2, 1, -1, 0, 1, 2, -1};  // instance 1: K = 3, ranks 0 1 2 -> 0 1 2
    for (int i = 0; i < 10; ++i) EXPECT_EQ(first[i], want[i]) << i;
    for (int t = 0; t < 4; ++t)
        for (int i = 0; i < 10; ++i) EXPECT_EQ(spikes[t * 10 + i], want[i] == t ? 1 : 0) << t << "," << i;

    int32_t decoded[10], counts[10];
    ASSERT_SNN_OK(snn_spikes_first_step(spikes.data(), 4, 2, 5, decoded, 10));
    ASSERT_SNN_OK(snn_spikes_count(spikes.data(), 4, 2, 5, counts, 10));
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(decoded[i], want[i]);
        EXPECT_EQ(counts[i], want[i] >= 0 ? 1 : 0);
    }

    snn_latency_options o;
    ASSERT_SNN_OK(snn_latency_options_init(&o, sizeof o));
    EXPECT_EQ(o.rule, SNN_LATENCY_RANK);
    o.threshold = 0.6;
    ASSERT_SNN_OK(snn_latency_encode(values, 2, 5, 4, &o, first, 10, nullptr, 0));
    EXPECT_EQ(first[0], 0);   // K = 2: 0.9 -> 0, 0.7 -> floor(4 / 2) = 2
    EXPECT_EQ(first[4], 2);
    EXPECT_EQ(first[2], -1);
}

TEST(Vision, LatencyLinear) {
    const float values[4] = {1.0f, 0.5f, 0.0f, 0.25f};
    snn_latency_options o;
    ASSERT_SNN_OK(snn_latency_options_init(&o, sizeof o));
    o.rule = SNN_LATENCY_LINEAR;
    int32_t first[4];
    ASSERT_SNN_OK(snn_latency_encode(values, 1, 4, 11, &o, first, 4, nullptr, 0));
    EXPECT_EQ(first[0], 0);
    EXPECT_EQ(first[1], 5);
    EXPECT_EQ(first[2], -1);
    EXPECT_EQ(first[3], 8);  // 7.5 rounds to even
}

TEST(Vision, LatencyRefusals) {
    const float values[4] = {1, 2, 3, 4};
    int32_t first[4];
    uint8_t spikes[16];
    EXPECT_SNN_ERROR(snn_latency_encode(values, 1, 4, 0, nullptr, first, 4, nullptr, 0), SNN_INVALID_ARGUMENT, "steps");
    EXPECT_SNN_ERROR(snn_latency_encode(values, 0, 4, 4, nullptr, first, 4, nullptr, 0), SNN_INVALID_ARGUMENT, "batch");
    EXPECT_SNN_ERROR(snn_latency_encode(values, 1, 0, 4, nullptr, first, 4, nullptr, 0), SNN_INVALID_ARGUMENT, "neurons");
    EXPECT_SNN_ERROR(snn_latency_encode(values, 1, 4, 4, nullptr, nullptr, 0, nullptr, 0), SNN_INVALID_ARGUMENT, "out_first");
    EXPECT_SNN_ERROR(snn_latency_encode(values, 1, 4, 4, nullptr, first, 3, nullptr, 0), SNN_SHAPE, "first_count");
    EXPECT_SNN_ERROR(snn_latency_encode(values, 1, 4, 4, nullptr, nullptr, 0, spikes, 15), SNN_SHAPE, "spikes_count");
    EXPECT_SNN_ERROR(snn_latency_encode(nullptr, 1, 4, 4, nullptr, first, 4, nullptr, 0), SNN_INVALID_ARGUMENT, "values");
    snn_latency_options o;
    ASSERT_SNN_OK(snn_latency_options_init(&o, sizeof o));
    o.rule = 5;
    EXPECT_SNN_ERROR(snn_latency_encode(values, 1, 4, 4, &o, first, 4, nullptr, 0), SNN_INVALID_ARGUMENT, "options.rule");
    o.rule = SNN_LATENCY_RANK;
    o.threshold = NAN;
    EXPECT_SNN_ERROR(snn_latency_encode(values, 1, 4, 4, &o, first, 4, nullptr, 0), SNN_INVALID_ARGUMENT, "options.threshold");
    int32_t counts[4];
    EXPECT_SNN_ERROR(snn_spikes_count(spikes, 4, 1, 4, counts, 5), SNN_SHAPE, "count");
    EXPECT_SNN_ERROR(snn_spikes_count(nullptr, 4, 1, 4, counts, 4), SNN_INVALID_ARGUMENT, "spikes");
    EXPECT_SNN_ERROR(snn_spikes_first_step(spikes, 0, 1, 4, counts, 4), SNN_INVALID_ARGUMENT, "steps");
    EXPECT_SNN_ERROR(snn_spikes_first_step(spikes, 4, 1, 4, nullptr, 4), SNN_INVALID_ARGUMENT, "out_first");
}
