// Conv2d connections through the C API alone: every refusal of
// snn_network_connect_conv2d with its status and message, the geometry's
// defaults and round trip, what the connection queries report, one step
// against hand-computed and directly computed convolutions on "reference"
// and "cpu", .snn files, and a trainer's kernel gradient.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>

#include "helpers.h"

using namespace snntest;

namespace {

snn_conv2d_geometry geometry(int32_t in_c, int32_t in_h, int32_t in_w, int32_t out_c, int32_t kh, int32_t kw) {
    snn_conv2d_geometry g;
    EXPECT_SNN_OK(snn_conv2d_geometry_init(&g, sizeof g));
    g.in_channels = in_c;
    g.in_height = in_h;
    g.in_width = in_w;
    g.out_channels = out_c;
    g.kernel_height = kh;
    g.kernel_width = kw;
    return g;
}

snn_conv2d_geometry pooled(snn_conv2d_geometry g, int32_t pool, int32_t ph, int32_t pw, int32_t psy = 0, int32_t psx = 0) {
    g.pool = pool;
    g.pool_height = ph;
    g.pool_width = pw;
    g.pool_stride_y = psy;
    g.pool_stride_x = psx;
    return g;
}

int64_t kernel_count(const snn_conv2d_geometry& g) {
    return int64_t(g.out_channels) * g.in_channels * g.kernel_height * g.kernel_width;
}
int64_t weight_count(const snn_conv2d_geometry& g) { return kernel_count(g) + (g.bias ? g.out_channels : 0); }

// The output sizes as the header states them.
struct Sizes {
    int32_t conv_h, conv_w, out_h, out_w;
};
Sizes sizes_of(const snn_conv2d_geometry& g) {
    Sizes s{};
    s.conv_h = (g.in_height + 2 * g.padding_y - g.kernel_height) / g.stride_y + 1;
    s.conv_w = (g.in_width + 2 * g.padding_x - g.kernel_width) / g.stride_x + 1;
    if (g.pool == SNN_POOL_NONE) {
        s.out_h = s.conv_h;
        s.out_w = s.conv_w;
    } else {
        const int32_t sy = g.pool_stride_y ? g.pool_stride_y : g.pool_height;
        const int32_t sx = g.pool_stride_x ? g.pool_stride_x : g.pool_width;
        s.out_h = (s.conv_h - g.pool_height) / sy + 1;
        s.out_w = (s.conv_w - g.pool_width) / sx + 1;
    }
    return s;
}

// pool(conv(x)) + bias, [out_c][out_h][out_w], computed directly from the
// header's description (PyTorch's Conv2d, then the pooling).
std::vector<float> convolve(const snn_conv2d_geometry& g, const std::vector<float>& w, const std::vector<float>& x) {
    const Sizes s = sizes_of(g);
    std::vector<float> conv(static_cast<std::size_t>(g.out_channels) * s.conv_h * s.conv_w, 0.0f);
    for (int32_t co = 0; co < g.out_channels; ++co)
        for (int32_t cy = 0; cy < s.conv_h; ++cy)
            for (int32_t cx = 0; cx < s.conv_w; ++cx) {
                float acc = 0.0f;
                for (int32_t ci = 0; ci < g.in_channels; ++ci)
                    for (int32_t ky = 0; ky < g.kernel_height; ++ky)
                        for (int32_t kx = 0; kx < g.kernel_width; ++kx) {
                            const int32_t iy = cy * g.stride_y - g.padding_y + ky, ix = cx * g.stride_x - g.padding_x + kx;
                            if (iy < 0 || iy >= g.in_height || ix < 0 || ix >= g.in_width) continue;
                            const float xv = x[static_cast<std::size_t>((ci * g.in_height + iy) * g.in_width + ix)];
                            if (xv == 0.0f) continue;
                            acc += w[static_cast<std::size_t>(((co * g.in_channels + ci) * g.kernel_height + ky) * g.kernel_width + kx)] * xv;
                        }
                conv[static_cast<std::size_t>((co * s.conv_h + cy) * s.conv_w + cx)] = acc;
            }
    std::vector<float> out(static_cast<std::size_t>(g.out_channels) * s.out_h * s.out_w, 0.0f);
    const int32_t ph = g.pool == SNN_POOL_NONE ? 1 : g.pool_height, pw = g.pool == SNN_POOL_NONE ? 1 : g.pool_width;
    const int32_t psy = g.pool == SNN_POOL_NONE ? 1 : (g.pool_stride_y ? g.pool_stride_y : ph);
    const int32_t psx = g.pool == SNN_POOL_NONE ? 1 : (g.pool_stride_x ? g.pool_stride_x : pw);
    for (int32_t co = 0; co < g.out_channels; ++co)
        for (int32_t oy = 0; oy < s.out_h; ++oy)
            for (int32_t ox = 0; ox < s.out_w; ++ox) {
                float best = -std::numeric_limits<float>::infinity(), sum = 0.0f;
                for (int32_t dy = 0; dy < ph; ++dy)
                    for (int32_t dx = 0; dx < pw; ++dx) {
                        const float v = conv[static_cast<std::size_t>((co * s.conv_h + oy * psy + dy) * s.conv_w + ox * psx + dx)];
                        best = std::max(best, v);
                        sum += v;
                    }
                float v = g.pool == SNN_POOL_MAX ? best : g.pool == SNN_POOL_AVG ? sum / static_cast<float>(ph * pw) : sum;
                if (g.bias) v += w[static_cast<std::size_t>(kernel_count(g) + co)];
                out[static_cast<std::size_t>((co * s.out_h + oy) * s.out_w + ox)] = v;
            }
    return out;
}

int32_t add_3d(Net& net, const char* name, const char* model, int64_t c, int64_t h, int64_t w) {
    const int64_t shape[3] = {c, h, w};
    int32_t id = -1;
    EXPECT_SNN_OK(snn_network_add_population(net, name, model, 3, shape, &id));
    return id;
}

// An "if" layer that only adds up what arrives: v starts at 0 and never spikes.
int32_t add_accumulator(Net& net, const char* name, int64_t c, int64_t h, int64_t w) {
    const int32_t id = add_3d(net, name, "if", c, h, w);
    net.set(id, "v_reset", 0.0);
    net.set(id, "v_th", 1e9);
    return id;
}

// Source (in_c, in_h, in_w) -> conv2d -> accumulator (out_c, out_h, out_w), delta, delay 0.
struct ConvNet {
    int32_t src = -1, out = -1, conn = -1;
};
ConvNet build_conv(Net& net, const snn_conv2d_geometry& g, const std::vector<float>& w, const char* source_model) {
    ConvNet c;
    const Sizes s = sizes_of(g);
    c.src = add_3d(net, "src", source_model, g.in_channels, g.in_height, g.in_width);
    c.out = add_accumulator(net, "out", g.out_channels, s.out_h, s.out_w);
    snn_connection_options o = Net::conn_options(0, "delta", "conv");
    EXPECT_SNN_OK(snn_network_connect_conv2d(net, c.src, c.out, &g, w.data(), static_cast<int64_t>(w.size()), &o, &c.conn));
    return c;
}

snn_context_options backend_options(const char* backend, int32_t threads = 1) {
    snn_context_options o;
    EXPECT_SNN_OK(snn_context_options_init(&o, sizeof o));
    o.backend = backend;
    o.threads = threads;
    return o;
}

bool has_backend(const char* name) {
    const char* names[16] = {};
    int32_t count = 0;
    if (snn_backend_list(names, 16, &count) != SNN_OK) return false;
    for (int32_t k = 0; k < count && k < 16; ++k)
        if (std::string(names[k]) == name) return true;
    return false;
}

// A deterministic sequence of small values (some zero, some negative).
std::vector<float> pattern(std::size_t n, uint32_t seed, float zero_fraction, bool binary) {
    std::vector<float> v(n);
    uint32_t s = seed * 2654435761u + 12345u;
    for (float& x : v) {
        s = s * 1664525u + 1013904223u;
        const float u = static_cast<float>(s >> 8) / 16777216.0f;
        if (u < zero_fraction) x = 0.0f;
        else x = binary ? 1.0f : (u - 0.5f) * 4.0f;
    }
    return v;
}

struct TrainerDeleter {
    void operator()(snn_trainer* t) const { snn_trainer_destroy(t); }
};
using Trainer = std::unique_ptr<snn_trainer, TrainerDeleter>;

// A file name of its own, as other builds may run the same test at the same time.
std::string temp_path(const char* name) {
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    return ::testing::TempDir() + "snn_api_test_conv_" + name + "_" + std::to_string(static_cast<long long>(now)) + ".snn";
}

void expect_same_geometry(const snn_conv2d_geometry& a, const snn_conv2d_geometry& b) {
    EXPECT_EQ(a.in_channels, b.in_channels);
    EXPECT_EQ(a.in_height, b.in_height);
    EXPECT_EQ(a.in_width, b.in_width);
    EXPECT_EQ(a.out_channels, b.out_channels);
    EXPECT_EQ(a.kernel_height, b.kernel_height);
    EXPECT_EQ(a.kernel_width, b.kernel_width);
    EXPECT_EQ(a.stride_y, b.stride_y);
    EXPECT_EQ(a.stride_x, b.stride_x);
    EXPECT_EQ(a.padding_y, b.padding_y);
    EXPECT_EQ(a.padding_x, b.padding_x);
    EXPECT_EQ(a.bias, b.bias);
    EXPECT_EQ(a.pool, b.pool);
    EXPECT_EQ(a.pool_height, b.pool_height);
    EXPECT_EQ(a.pool_width, b.pool_width);
    EXPECT_EQ(a.pool_stride_y, b.pool_stride_y);
    EXPECT_EQ(a.pool_stride_x, b.pool_stride_x);
}

}  // namespace

// ---------------------------------------------------------------------------
// The geometry struct

TEST(Conv2d, GeometryInitFillsDefaults) {
    snn_conv2d_geometry g;
    std::memset(&g, 0x5a, sizeof g);
    ASSERT_SNN_OK(snn_conv2d_geometry_init(&g, sizeof g));
    EXPECT_EQ(g.struct_size, sizeof g);
    EXPECT_EQ(g.in_channels, 0);
    EXPECT_EQ(g.in_height, 0);
    EXPECT_EQ(g.in_width, 0);
    EXPECT_EQ(g.out_channels, 0);
    EXPECT_EQ(g.kernel_height, 0);
    EXPECT_EQ(g.kernel_width, 0);
    EXPECT_EQ(g.stride_y, 1);
    EXPECT_EQ(g.stride_x, 1);
    EXPECT_EQ(g.padding_y, 0);
    EXPECT_EQ(g.padding_x, 0);
    EXPECT_EQ(g.bias, 0);
    EXPECT_EQ(g.pool, SNN_POOL_NONE);
    EXPECT_EQ(g.pool_height, 0);
    EXPECT_EQ(g.pool_width, 0);
    EXPECT_EQ(g.pool_stride_y, 0);
    EXPECT_EQ(g.pool_stride_x, 0);

    // An older caller's smaller struct: only its bytes are written.
    struct {
        snn_conv2d_geometry g;
        char guard[8];
    } small;
    std::memset(&small, 0x5a, sizeof small);
    const uint32_t size = offsetof(snn_conv2d_geometry, stride_x);
    ASSERT_SNN_OK(snn_conv2d_geometry_init(&small.g, size));
    EXPECT_EQ(small.g.struct_size, size);
    EXPECT_EQ(small.g.stride_y, 1);
    EXPECT_EQ(small.g.stride_x, 0x5a5a5a5a) << "a byte past struct_size was written";

    // (The message says "options: is NULL", the name the *_init functions share.)
    EXPECT_SNN_ERROR(snn_conv2d_geometry_init(nullptr, sizeof g), SNN_INVALID_ARGUMENT, "NULL");
    EXPECT_SNN_ERROR(snn_conv2d_geometry_init(&g, 0), SNN_INVALID_ARGUMENT, "struct_size");
}

// ---------------------------------------------------------------------------
// Refusals of snn_network_connect_conv2d

class Conv2dRefusal : public ::testing::Test {
protected:
    void SetUp() override {
        src = add_3d(net, "src", "spike_source", 1, 6, 6);
        out = add_3d(net, "out", "lif", 2, 2, 2);  // 6x6, 3x3 kernel -> 4x4, max pool 2 -> 2x2
        g = pooled(geometry(1, 6, 6, 2, 3, 3), SNN_POOL_MAX, 2, 2);
        w.assign(static_cast<std::size_t>(weight_count(g)), 0.1f);
    }
    snn_status connect(const snn_conv2d_geometry& geo, const std::vector<float>& weights) {
        int32_t id = -1;
        return snn_network_connect_conv2d(net, src, out, &geo, weights.data(), static_cast<int64_t>(weights.size()), nullptr, &id);
    }
    snn_status connect(const snn_conv2d_geometry& geo) { return connect(geo, std::vector<float>(static_cast<std::size_t>(weight_count(geo)), 0.1f)); }
    int32_t connection_count() const {
        int32_t n = -1;
        EXPECT_SNN_OK(snn_network_connection_count(net, &n));
        return n;
    }

    Net net;
    int32_t src = -1, out = -1;
    snn_conv2d_geometry g{};
    std::vector<float> w;
};

TEST_F(Conv2dRefusal, TheValidGeometryIsAccepted) {
    // The fixture's own geometry works, so each refusal below is its one change.
    EXPECT_SNN_OK(connect(g));
    EXPECT_EQ(connection_count(), 1);
}

TEST_F(Conv2dRefusal, NullArguments) {
    int32_t id = -1;
    const int64_t n = static_cast<int64_t>(w.size());
    EXPECT_SNN_ERROR(snn_network_connect_conv2d(nullptr, src, out, &g, w.data(), n, nullptr, &id), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_network_connect_conv2d(net, src, out, nullptr, w.data(), n, nullptr, &id), SNN_INVALID_ARGUMENT, "geometry");
    EXPECT_SNN_ERROR(snn_network_connect_conv2d(net, src, out, &g, nullptr, n, nullptr, &id), SNN_INVALID_ARGUMENT, "weights");
    EXPECT_SNN_ERROR(snn_network_connect_conv2d(net, src, out, &g, w.data(), n, nullptr, nullptr), SNN_INVALID_ARGUMENT,
                     "out_connection");
    EXPECT_EQ(connection_count(), 0);
}

TEST_F(Conv2dRefusal, StructSizes) {
    snn_conv2d_geometry bad = g;
    bad.struct_size = 0;
    EXPECT_SNN_ERROR(connect(bad), SNN_INVALID_ARGUMENT, "struct_size");
    bad.struct_size = 3;
    EXPECT_SNN_ERROR(connect(bad), SNN_INVALID_ARGUMENT, "geometry");
    snn_connection_options o = Net::conn_options(0);
    o.struct_size = 2;
    int32_t id = -1;
    EXPECT_SNN_ERROR(snn_network_connect_conv2d(net, src, out, &g, w.data(), static_cast<int64_t>(w.size()), &o, &id),
                     SNN_INVALID_ARGUMENT, "struct_size");
    EXPECT_EQ(connection_count(), 0);
}

TEST_F(Conv2dRefusal, SizesBelowOne) {
    struct Field {
        int32_t snn_conv2d_geometry::*field;
        const char* name;
    };
    const Field fields[] = {
        {&snn_conv2d_geometry::in_channels, "in_channels"},     {&snn_conv2d_geometry::in_height, "in_height"},
        {&snn_conv2d_geometry::in_width, "in_width"},           {&snn_conv2d_geometry::out_channels, "out_channels"},
        {&snn_conv2d_geometry::kernel_height, "kernel_height"}, {&snn_conv2d_geometry::kernel_width, "kernel_width"},
        {&snn_conv2d_geometry::stride_y, "stride_y"},           {&snn_conv2d_geometry::stride_x, "stride_x"},
    };
    for (const Field& f : fields)
        for (int32_t value : {0, -1, std::numeric_limits<int32_t>::min()}) {
            SCOPED_TRACE(std::string(f.name) + " = " + std::to_string(value));
            snn_conv2d_geometry bad = g;
            bad.*f.field = value;
            EXPECT_SNN_ERROR(connect(bad, w), SNN_INVALID_ARGUMENT, f.name);
        }
    EXPECT_EQ(connection_count(), 0);
}

TEST_F(Conv2dRefusal, Padding) {
    for (int32_t py : {-1, 3, 4}) {
        snn_conv2d_geometry bad = g;
        bad.padding_y = py;
        EXPECT_SNN_ERROR(connect(bad), SNN_INVALID_ARGUMENT, "padding");
    }
    for (int32_t px : {-2, 3}) {
        snn_conv2d_geometry bad = g;
        bad.padding_x = px;
        EXPECT_SNN_ERROR(connect(bad), SNN_INVALID_ARGUMENT, "padding");
    }
    EXPECT_EQ(connection_count(), 0);
}

TEST_F(Conv2dRefusal, BiasIsZeroOrOne) {
    for (int32_t bias : {-1, 2, 7}) {
        snn_conv2d_geometry bad = g;
        bad.bias = bias;
        EXPECT_SNN_ERROR(connect(bad, w), SNN_INVALID_ARGUMENT, "bias");
    }
    EXPECT_EQ(connection_count(), 0);
}

TEST_F(Conv2dRefusal, PoolIsAnSnnPool) {
    for (int32_t pool : {-1, 4, 100}) {
        snn_conv2d_geometry bad = g;
        bad.pool = pool;
        EXPECT_SNN_ERROR(connect(bad), SNN_INVALID_ARGUMENT, "pool");
    }
    EXPECT_EQ(connection_count(), 0);
}

TEST_F(Conv2dRefusal, PoolSize) {
    const std::pair<int32_t, int32_t> sizes[] = {{0, 2}, {2, 0}, {-1, 2}, {2, -3}, {17, 16}, {1, 257}, {257, 1}};
    for (auto [ph, pw] : sizes) {
        SCOPED_TRACE(std::to_string(ph) + " x " + std::to_string(pw));
        snn_conv2d_geometry bad = pooled(g, SNN_POOL_AVG, ph, pw);
        EXPECT_SNN_ERROR(connect(bad), SNN_INVALID_ARGUMENT, "pool_height");
    }
    // 256 cells is the limit: 16 x 16 is accepted where it fits.
    Net big;
    const int32_t a = add_3d(big, "a", "spike_source", 1, 18, 18), b = add_3d(big, "b", "lif", 1, 1, 1);
    snn_conv2d_geometry edge = pooled(geometry(1, 18, 18, 1, 3, 3), SNN_POOL_SUM, 16, 16);
    std::vector<float> ew(9, 0.5f);
    int32_t id = -1;
    EXPECT_SNN_OK(snn_network_connect_conv2d(big, a, b, &edge, ew.data(), 9, nullptr, &id));
    EXPECT_EQ(connection_count(), 0);
}

TEST_F(Conv2dRefusal, NegativePoolStride) {
    snn_conv2d_geometry bad = pooled(g, SNN_POOL_MAX, 2, 2, -1, 0);
    EXPECT_SNN_ERROR(connect(bad), SNN_INVALID_ARGUMENT, "pool_stride");
    bad = pooled(g, SNN_POOL_MAX, 2, 2, 0, -2);
    EXPECT_SNN_ERROR(connect(bad), SNN_INVALID_ARGUMENT, "pool_stride");
    EXPECT_EQ(connection_count(), 0);
}

TEST_F(Conv2dRefusal, PoolFieldsAreIgnoredWithoutPooling) {
    // SNN_POOL_NONE: the pool's fields are not read. 6x6, 3x3 -> 2 x 4 x 4.
    const int32_t post = add_3d(net, "flat", "lif", 2, 4, 4);
    snn_conv2d_geometry none = pooled(g, SNN_POOL_NONE, -5, 999, -1, -1);
    int32_t id = -1;
    ASSERT_SNN_OK(snn_network_connect_conv2d(net, src, post, &none, w.data(), static_cast<int64_t>(w.size()), nullptr, &id));
}

TEST_F(Conv2dRefusal, KernelOrPoolDoesNotFit) {
    snn_conv2d_geometry bad = g;
    bad.kernel_height = 7;
    EXPECT_SNN_ERROR(connect(bad), SNN_SHAPE, "kernel");
    bad = g;
    bad.kernel_width = 9;
    bad.padding_x = 1;  // 6 + 2 < 9
    EXPECT_SNN_ERROR(connect(bad), SNN_SHAPE, "kernel");
    bad = pooled(g, SNN_POOL_MAX, 5, 2);  // the convolution gives 4 x 4
    EXPECT_SNN_ERROR(connect(bad), SNN_SHAPE, "pool");
    bad = pooled(g, SNN_POOL_SUM, 1, 5);
    EXPECT_SNN_ERROR(connect(bad), SNN_SHAPE, "pool");
    EXPECT_EQ(connection_count(), 0);
}

TEST_F(Conv2dRefusal, PopulationSizes) {
    snn_conv2d_geometry bad = g;
    bad.in_channels = 2;  // pre would need 2 x 6 x 6
    EXPECT_SNN_ERROR(connect(bad), SNN_SHAPE, "pre");
    bad = g;
    bad.out_channels = 3;  // post would need 3 x 2 x 2
    EXPECT_SNN_ERROR(connect(bad), SNN_SHAPE, "post");
    bad = pooled(g, SNN_POOL_MAX, 2, 2, 1, 1);  // 3 x 3 after pooling
    EXPECT_SNN_ERROR(connect(bad), SNN_SHAPE, "post");
    bad = pooled(g, SNN_POOL_NONE, 0, 0);  // 4 x 4 without pooling
    EXPECT_SNN_ERROR(connect(bad), SNN_SHAPE, "post");
    EXPECT_EQ(connection_count(), 0);
}

TEST_F(Conv2dRefusal, ThreeDimensionalShapesMustAgree) {
    // The sizes match (36 and 8 neurons), the [C, H, W] shapes do not.
    const int32_t pre_wrong = add_3d(net, "pre_wrong", "spike_source", 1, 4, 9);
    const int32_t post_wrong = add_3d(net, "post_wrong", "lif", 2, 1, 4);
    int32_t id = -1;
    const int64_t n = static_cast<int64_t>(w.size());
    snn_clear_error();
    EXPECT_SNN_ERROR(snn_network_connect_conv2d(net, pre_wrong, out, &g, w.data(), n, nullptr, &id), SNN_SHAPE, "shape");
    EXPECT_NE(std::string(snn_last_error()).find("pre"), std::string::npos) << snn_last_error();
    EXPECT_SNN_ERROR(snn_network_connect_conv2d(net, src, post_wrong, &g, w.data(), n, nullptr, &id), SNN_SHAPE, "shape");
    EXPECT_NE(std::string(snn_last_error()).find("post"), std::string::npos) << snn_last_error();
    // Other ranks are read in C order: a flat population of the right size is fine.
    const int32_t flat_pre = net.source("flat_pre", 36), flat_post = net.lif("flat_post", 8);
    EXPECT_SNN_OK(snn_network_connect_conv2d(net, flat_pre, flat_post, &g, w.data(), n, nullptr, &id));
}

TEST_F(Conv2dRefusal, WeightCount) {
    int32_t id = -1;
    const int64_t n = static_cast<int64_t>(w.size());  // 18, no bias
    EXPECT_SNN_ERROR(snn_network_connect_conv2d(net, src, out, &g, w.data(), n - 1, nullptr, &id), SNN_SHAPE, "weights");
    EXPECT_SNN_ERROR(snn_network_connect_conv2d(net, src, out, &g, w.data(), 0, nullptr, &id), SNN_SHAPE, "weights");
    EXPECT_SNN_ERROR(snn_network_connect_conv2d(net, src, out, &g, w.data(), -1, nullptr, &id), SNN_SHAPE, "weights");
    snn_conv2d_geometry with_bias = g;
    with_bias.bias = 1;  // 18 + 2 needed
    EXPECT_SNN_ERROR(snn_network_connect_conv2d(net, src, out, &with_bias, w.data(), n, nullptr, &id), SNN_SHAPE, "weights");
    EXPECT_NE(std::string(snn_last_error()).find("20"), std::string::npos) << "names the expected count: " << snn_last_error();
    EXPECT_EQ(connection_count(), 0);
}

TEST_F(Conv2dRefusal, NonFiniteWeights) {
    for (float bad_value : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity()}) {
        std::vector<float> bad = w;
        bad[5] = bad_value;
        EXPECT_SNN_ERROR(connect(g, bad), SNN_INVALID_ARGUMENT, "weights");
        EXPECT_NE(std::string(snn_last_error()).find("5"), std::string::npos) << "names the element: " << snn_last_error();
    }
    snn_conv2d_geometry with_bias = g;
    with_bias.bias = 1;
    std::vector<float> bad(static_cast<std::size_t>(weight_count(with_bias)), 0.1f);
    bad.back() = std::numeric_limits<float>::quiet_NaN();  // a bias
    EXPECT_SNN_ERROR(connect(with_bias, bad), SNN_INVALID_ARGUMENT, "weights");
    EXPECT_EQ(connection_count(), 0);
}

TEST_F(Conv2dRefusal, EndpointsAndFrozenStructure) {
    int32_t id = -1;
    const int64_t n = static_cast<int64_t>(w.size());
    EXPECT_SNN_ERROR(snn_network_connect_conv2d(net, 7, out, &g, w.data(), n, nullptr, &id), SNN_OUT_OF_RANGE, "pre");
    EXPECT_SNN_ERROR(snn_network_connect_conv2d(net, src, -1, &g, w.data(), n, nullptr, &id), SNN_OUT_OF_RANGE, "post");
    snn_connection_options o = Net::conn_options(1, "no_such_synapse");
    EXPECT_SNN_ERROR(snn_network_connect_conv2d(net, src, out, &g, w.data(), n, &o, &id), SNN_NOT_FOUND, "no_such_synapse");
    EXPECT_EQ(connection_count(), 0);
    ASSERT_SNN_OK(snn_network_connect_conv2d(net, src, out, &g, w.data(), n, nullptr, &id));
    net.step();
    EXPECT_SNN_ERROR(snn_network_connect_conv2d(net, src, out, &g, w.data(), n, nullptr, &id), SNN_STATE, "connect_conv2d");
    EXPECT_EQ(connection_count(), 1);
}

// ---------------------------------------------------------------------------
// Queries

TEST(Conv2d, GeometryRoundTripsWithDefaultsFilled) {
    Net net;
    snn_conv2d_geometry g = pooled(geometry(2, 7, 6, 3, 3, 2), SNN_POOL_AVG, 2, 3, 0, 1);
    g.stride_y = 2;
    g.padding_y = 1;
    g.padding_x = 1;
    g.bias = 1;
    const Sizes s = sizes_of(g);  // conv (7+2-3)/2+1 = 4 x (6+2-2)/1+1 = 7; pool 2x3 strides (2, 1) -> 2 x 5
    ASSERT_EQ(s.out_h, 2);
    ASSERT_EQ(s.out_w, 5);
    const int32_t src = add_3d(net, "src", "spike_source", 2, 7, 6), post = add_3d(net, "post", "lif", 3, 2, 5);
    std::vector<float> w = pattern(static_cast<std::size_t>(weight_count(g)), 3, 0.0f, false);
    int32_t conn = -1;
    ASSERT_SNN_OK(snn_network_connect_conv2d(net, src, post, &g, w.data(), static_cast<int64_t>(w.size()), nullptr, &conn));

    snn_conv2d_geometry got;
    std::memset(&got, 0, sizeof got);
    got.struct_size = sizeof got;
    ASSERT_SNN_OK(snn_connection_conv2d_get(net, conn, &got));
    EXPECT_EQ(got.struct_size, sizeof got);
    snn_conv2d_geometry want = g;
    want.pool_stride_y = 2;  // 0: the pool's height
    expect_same_geometry(got, want);
    EXPECT_EQ(net.weights(conn), w);

    // Without pooling every pool field comes back 0; strides default to 1.
    snn_conv2d_geometry plain = geometry(1, 5, 5, 1, 2, 2);
    plain.struct_size = offsetof(snn_conv2d_geometry, stride_y);  // an older caller: the rest takes its defaults
    plain.stride_y = plain.stride_x = 3;                           // (not read: past struct_size)
    plain.padding_y = plain.bias = 1;
    plain.pool = SNN_POOL_MAX;
    const int32_t a = add_3d(net, "a", "spike_source", 1, 5, 5), b = add_3d(net, "b", "lif", 1, 4, 4);
    std::vector<float> k(4, 0.25f);
    int32_t c2 = -1;
    ASSERT_SNN_OK(snn_network_connect_conv2d(net, a, b, &plain, k.data(), 4, nullptr, &c2));
    std::memset(&got, 0x7f, sizeof got);
    got.struct_size = sizeof got;
    ASSERT_SNN_OK(snn_connection_conv2d_get(net, c2, &got));
    want = geometry(1, 5, 5, 1, 2, 2);
    expect_same_geometry(got, want);

    // A smaller out struct receives only its bytes.
    struct {
        snn_conv2d_geometry g;
        char guard[4];
    } small;
    std::memset(&small, 0x33, sizeof small);
    small.g.struct_size = offsetof(snn_conv2d_geometry, kernel_height);
    ASSERT_SNN_OK(snn_connection_conv2d_get(net, conn, &small.g));
    EXPECT_EQ(small.g.struct_size, offsetof(snn_conv2d_geometry, kernel_height));
    EXPECT_EQ(small.g.out_channels, 3);
    EXPECT_EQ(small.g.kernel_height, 0x33333333);
}

TEST(Conv2d, GeometryQueryRefusals) {
    Net net;
    const int32_t a = net.source("a", 4), b = net.lif("b", 4);
    const int32_t dense = net.dense(a, b, std::vector<float>(16, 0.1f));
    snn_conv2d_geometry got;
    got.struct_size = sizeof got;
    EXPECT_SNN_ERROR(snn_connection_conv2d_get(net, dense, &got), SNN_INVALID_ARGUMENT, "not a conv2d");
    EXPECT_SNN_ERROR(snn_connection_conv2d_get(net, 5, &got), SNN_OUT_OF_RANGE, "connection");
    EXPECT_SNN_ERROR(snn_connection_conv2d_get(nullptr, dense, &got), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_connection_conv2d_get(net, dense, nullptr), SNN_INVALID_ARGUMENT, "out_geometry");
    const int32_t c = add_3d(net, "c", "spike_source", 1, 3, 3), d = add_3d(net, "d", "lif", 1, 2, 2);
    snn_conv2d_geometry g = geometry(1, 3, 3, 1, 2, 2);
    std::vector<float> w(4, 1.0f);
    int32_t conv = -1;
    ASSERT_SNN_OK(snn_network_connect_conv2d(net, c, d, &g, w.data(), 4, nullptr, &conv));
    got.struct_size = 0;
    EXPECT_SNN_ERROR(snn_connection_conv2d_get(net, conv, &got), SNN_INVALID_ARGUMENT, "struct_size");
}

TEST(Conv2d, InfoWeightsAndSynapses) {
    Net net;
    snn_conv2d_geometry g = pooled(geometry(2, 5, 5, 4, 3, 3), SNN_POOL_MAX, 3, 3);
    g.bias = 1;
    const int32_t src = add_3d(net, "src", "spike_source", 2, 5, 5), post = add_3d(net, "post", "lif", 4, 1, 1);
    std::vector<float> w = pattern(static_cast<std::size_t>(weight_count(g)), 9, 0.1f, false);
    snn_connection_options o = Net::conn_options(2, "exp", "features");
    int32_t conn = -1;
    ASSERT_SNN_OK(snn_network_connect_conv2d(net, src, post, &g, w.data(), static_cast<int64_t>(w.size()), &o, &conn));
    int32_t found = -1;
    ASSERT_SNN_OK(snn_network_find_connection(net, "features", &found));
    EXPECT_EQ(found, conn);

    snn_connection_info info;
    info.struct_size = sizeof info;
    ASSERT_SNN_OK(snn_connection_info_get(net, conn, &info));
    EXPECT_STREQ(info.name, "features");
    EXPECT_STREQ(info.synapse, "exp");
    EXPECT_EQ(info.kind, SNN_CONNECTION_CONV2D);
    EXPECT_EQ(info.pre, src);
    EXPECT_EQ(info.post, post);
    EXPECT_EQ(info.delay, 2);
    EXPECT_EQ(info.nnz, 4 * 2 * 3 * 3 + 4);
    EXPECT_EQ(info.has_synapse_delays, 0);

    // Weights: the kernel then the biases, as given; set_weights needs all of them.
    EXPECT_EQ(net.weights(conn), w);
    std::vector<float> w2(w.size());
    for (std::size_t k = 0; k < w.size(); ++k) w2[k] = -w[k];
    ASSERT_SNN_OK(snn_connection_set_weights(net, conn, w2.data(), static_cast<int64_t>(w2.size())));
    EXPECT_EQ(net.weights(conn), w2);
    EXPECT_SNN_ERROR(snn_connection_set_weights(net, conn, w2.data(), kernel_count(g)), SNN_SHAPE, "weights");
    w2[3] = std::numeric_limits<float>::infinity();
    EXPECT_SNN_ERROR(snn_connection_set_weights(net, conn, w2.data(), static_cast<int64_t>(w2.size())), SNN_INVALID_ARGUMENT,
                     "weights");

    // The pairs share the kernel: no synapse list.
    int64_t count = -1;
    EXPECT_SNN_ERROR(snn_connection_get_synapses(net, conn, nullptr, nullptr, nullptr, 0, &count), SNN_UNSUPPORTED, "conv2d");
    EXPECT_NE(std::string(snn_last_error()).find("snn_connection_conv2d_get"), std::string::npos) << snn_last_error();

    // bfloat16 weights round as documented and stay a conv2d connection.
    ASSERT_SNN_OK(snn_connection_set_option(net, conn, "weight_dtype", "bfloat16"));
    const std::vector<float> rounded = net.weights(conn);
    ASSERT_EQ(rounded.size(), w.size());
    for (float x : rounded) {
        uint32_t bits = 0;
        std::memcpy(&bits, &x, sizeof bits);
        EXPECT_EQ(bits & 0xffffu, 0u) << x;
    }
}

// ---------------------------------------------------------------------------
// One step, computed

namespace {

// The hand-computed case: input 1 x 4 x 4 (spikes)
//   1 0 0 0
//   0 1 1 0
//   0 0 1 0
//   1 0 0 1
// kernel 0 = 0.25 * [1 2 3; 4 5 6; 7 8 9], kernel 1 = [-1 0 1; -1 0 1; -1 0 1],
// biases -0.5 and 0.25. The 2 x 2 convolution of kernel 0 is 0.25 * [21 17; 18 17]
// and of kernel 1 [1 -1; 1 0].
const std::vector<float> kHandInput = {1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1};
const std::vector<float> kHandWeights = {0.25f, 0.5f, 0.75f, 1.0f, 1.25f, 1.5f, 1.75f, 2.0f, 2.25f,
                                         -1, 0, 1, -1, 0, 1, -1, 0, 1, -0.5f, 0.25f};

std::vector<float> run_one_step(const char* backend, const snn_conv2d_geometry& g, const std::vector<float>& w,
                                const std::vector<float>& x, const char* source_model, std::vector<float>* second = nullptr) {
    snn_context_options co = backend_options(backend, 2);
    Context ctx(co);
    Net net(NetOptions{1e-3, 1, 0}, ctx.get());
    ConvNet c = build_conv(net, g, w, source_model);
    net.input(c.src, x);
    net.step();
    std::vector<float> v = net.state(c.out, "v");
    if (second) {  // a step without input: only the biases arrive
        net.step();
        *second = net.state(c.out, "v");
    }
    return v;
}

}  // namespace

TEST(Conv2d, OneStepByHand) {
    struct Case {
        int32_t pool;
        std::vector<float> want;
    };
    const Case cases[] = {
        {SNN_POOL_MAX, {5.25f - 0.5f, 1.0f + 0.25f}},
        {SNN_POOL_AVG, {4.5625f - 0.5f, 0.25f + 0.25f}},
        {SNN_POOL_SUM, {18.25f - 0.5f, 1.0f + 0.25f}},
    };
    for (const char* backend : {"reference", "cpu"}) {
        if (!has_backend(backend)) continue;
        for (const Case& k : cases) {
            SCOPED_TRACE(std::string(backend) + ", pool " + std::to_string(k.pool));
            snn_conv2d_geometry g = pooled(geometry(1, 4, 4, 2, 3, 3), k.pool, 2, 2);
            g.bias = 1;
            std::vector<float> after_second;
            const std::vector<float> v = run_one_step(backend, g, kHandWeights, kHandInput, "spike_source", &after_second);
            ASSERT_EQ(v.size(), 2u);
            EXPECT_FLOAT_EQ(v[0], k.want[0]);
            EXPECT_FLOAT_EQ(v[1], k.want[1]);
            ASSERT_EQ(after_second.size(), 2u);
            EXPECT_FLOAT_EQ(after_second[0], k.want[0] - 0.5f) << "the biases arrive in every step";
            EXPECT_FLOAT_EQ(after_second[1], k.want[1] + 0.25f);
        }
        // No pooling: the whole 2 x 2 x 2 convolution.
        snn_conv2d_geometry g = geometry(1, 4, 4, 2, 3, 3);
        g.bias = 1;
        const std::vector<float> v = run_one_step(backend, g, kHandWeights, kHandInput, "spike_source");
        const std::vector<float> want = {5.25f - 0.5f, 4.25f - 0.5f, 4.5f - 0.5f, 4.25f - 0.5f, 1.25f, -0.75f, 1.25f, 0.25f};
        ASSERT_EQ(v.size(), want.size());
        for (std::size_t i = 0; i < v.size(); ++i) EXPECT_FLOAT_EQ(v[i], want[i]) << backend << " [" << i << "]";
    }
}

TEST(Conv2d, OneStepMatchesADirectConvolution) {
    std::vector<snn_conv2d_geometry> geometries;
    {  // padding, unequal strides, avg pool with overlapping windows
        snn_conv2d_geometry g = pooled(geometry(2, 5, 5, 3, 3, 2), SNN_POOL_AVG, 2, 2, 1, 1);
        g.stride_y = 2;
        g.padding_y = g.padding_x = 1;
        geometries.push_back(g);
    }
    {  // sum pool whose windows do not cover the last column, biases
        snn_conv2d_geometry g = pooled(geometry(1, 6, 6, 2, 3, 3), SNN_POOL_SUM, 2, 3, 2, 2);
        g.bias = 1;
        geometries.push_back(g);
    }
    {  // no pooling, two input channels, a 2 x 2 kernel with stride 2
        snn_conv2d_geometry g = geometry(2, 4, 5, 2, 2, 2);
        g.stride_y = g.stride_x = 2;
        g.bias = 1;
        geometries.push_back(g);
    }
    {  // max pool over negative values too, padding 2 on a 5 x 5 kernel
        snn_conv2d_geometry g = pooled(geometry(3, 7, 6, 4, 5, 5), SNN_POOL_MAX, 3, 2);
        g.padding_y = g.padding_x = 2;
        g.bias = 1;
        geometries.push_back(g);
    }
    uint32_t seed = 1;
    for (const snn_conv2d_geometry& g : geometries) {
        const std::size_t n_in = static_cast<std::size_t>(g.in_channels) * g.in_height * g.in_width;
        const std::vector<float> w = pattern(static_cast<std::size_t>(weight_count(g)), seed++, 0.0f, false);
        for (bool binary : {true, false}) {
            const std::vector<float> x = pattern(n_in, seed++, 0.4f, binary);
            const std::vector<float> want = convolve(g, w, x);
            for (const char* backend : {"reference", "cpu"}) {
                if (!has_backend(backend)) continue;
                SCOPED_TRACE(std::string(backend) + (binary ? ", spikes" : ", graded") + ", geometry " + std::to_string(seed));
                const std::vector<float> v = run_one_step(backend, g, w, x, binary ? "spike_source" : "current_source");
                ASSERT_EQ(v.size(), want.size());
                for (std::size_t i = 0; i < v.size(); ++i)
                    EXPECT_NEAR(v[i], want[i], 1e-5f * std::max(1.0f, std::fabs(want[i]))) << "[" << i << "]";
            }
        }
    }
}

TEST(Conv2d, BackendsAgreeOverARun) {
    // 30 steps of a spiking conv layer with a delay and an exp synapse, batch 3:
    // "cpu" gives "reference"'s spikes.
    if (!has_backend("cpu")) GTEST_SKIP() << "no cpu backend";
    snn_conv2d_geometry g = pooled(geometry(2, 8, 8, 4, 3, 3), SNN_POOL_MAX, 2, 2);
    g.padding_y = g.padding_x = 1;
    g.bias = 1;
    const std::vector<float> w = pattern(static_cast<std::size_t>(weight_count(g)), 77, 0.0f, false);
    std::vector<std::vector<uint8_t>> runs;
    for (const char* backend : {"reference", "cpu"}) {
        snn_context_options co = backend_options(backend, 3);
        Context ctx(co);
        Net net(NetOptions{1e-3, 3, 0}, ctx.get());
        const int32_t src = add_3d(net, "src", "spike_source", 2, 8, 8);
        const int32_t hid = add_3d(net, "hid", "lif", 4, 4, 4);
        for (const char* p : {"v_rest", "v_reset"}) net.set(hid, p, 0.0);
        net.set(hid, "v_th", 1.0);
        snn_connection_options o = Net::conn_options(1, "exp");
        int32_t conn = -1;
        ASSERT_SNN_OK(snn_network_connect_conv2d(net, src, hid, &g, w.data(), static_cast<int64_t>(w.size()), &o, &conn));
        std::vector<uint8_t> all;
        for (int k = 0; k < 30; ++k) {
            net.input(src, pattern(3 * 128, 100 + k, 0.7f, true));
            net.step();
            const std::vector<uint8_t> s = net.spikes(hid);
            all.insert(all.end(), s.begin(), s.end());
        }
        runs.push_back(all);
    }
    EXPECT_EQ(runs[0], runs[1]);
    EXPECT_GT(std::count(runs[0].begin(), runs[0].end(), 1), 0) << "the layer should spike";
}

// ---------------------------------------------------------------------------
// Files

namespace {

struct Layered {
    int32_t src, hid, out, conv, dense;
    snn_conv2d_geometry g;
};

Layered build_layered(Net& net) {
    Layered l{};
    l.g = pooled(geometry(1, 6, 6, 3, 3, 3), SNN_POOL_MAX, 2, 2, 0, 1);
    l.g.padding_x = 1;
    l.g.bias = 1;
    const Sizes s = sizes_of(l.g);  // conv 4 x 6, pool strides (2, 1): 2 x 5
    l.src = add_3d(net, "src", "spike_source", 1, 6, 6);
    l.hid = add_3d(net, "hid", "lif", 3, s.out_h, s.out_w);
    for (const char* p : {"v_rest", "v_reset"}) net.set(l.hid, p, 0.0);
    net.set(l.hid, "v_th", 1.0);
    EXPECT_SNN_OK(snn_population_set_option(net, l.hid, "reset", "subtract"));
    l.out = net.lif("out", 4);
    for (const char* p : {"v_rest", "v_reset"}) net.set(l.out, p, 0.0);
    net.set(l.out, "v_th", 1.0);
    const std::vector<float> w = pattern(static_cast<std::size_t>(weight_count(l.g)), 5, 0.0f, false);
    snn_connection_options o = Net::conn_options(0, "delta", "features");
    EXPECT_SNN_OK(snn_network_connect_conv2d(net, l.src, l.hid, &l.g, w.data(), static_cast<int64_t>(w.size()), &o, &l.conv));
    l.dense = net.dense(l.hid, l.out, pattern(static_cast<std::size_t>(3 * s.out_h * s.out_w * 4), 6, 0.0f, false), 1);
    return l;
}

void expect_same_network(const Net& a, const Net& b, const Layered& l) {
    snn_conv2d_geometry ga, gb;
    ga.struct_size = gb.struct_size = sizeof ga;
    ASSERT_SNN_OK(snn_connection_conv2d_get(a, l.conv, &ga));
    ASSERT_SNN_OK(snn_connection_conv2d_get(b, l.conv, &gb));
    expect_same_geometry(ga, gb);
    EXPECT_EQ(a.weights(l.conv), b.weights(l.conv));
    EXPECT_EQ(a.weights(l.dense), b.weights(l.dense));
    snn_connection_info ia, ib;
    ia.struct_size = ib.struct_size = sizeof ia;
    ASSERT_SNN_OK(snn_connection_info_get(a, l.conv, &ia));
    ASSERT_SNN_OK(snn_connection_info_get(b, l.conv, &ib));
    EXPECT_EQ(ib.kind, SNN_CONNECTION_CONV2D);
    EXPECT_STREQ(ia.name, ib.name);
    EXPECT_EQ(ia.nnz, ib.nnz);
    EXPECT_EQ(ia.delay, ib.delay);
    snn_population_info pa, pb;
    pa.struct_size = pb.struct_size = sizeof pa;
    ASSERT_SNN_OK(snn_population_info_get(a, l.hid, &pa));
    ASSERT_SNN_OK(snn_population_info_get(b, l.hid, &pb));
    ASSERT_EQ(pb.ndim, 3);
    for (int d = 0; d < 3; ++d) EXPECT_EQ(pa.shape[d], pb.shape[d]);
}

std::vector<float> run_layered(Net& net, const Layered& l, int steps) {
    std::vector<float> trace;
    for (int k = 0; k < steps; ++k) {
        net.input(l.src, pattern(36, 200 + k, 0.6f, true));
        net.step();
        const std::vector<float> v = net.state(l.hid, "v"), o = net.state(l.out, "v");
        trace.insert(trace.end(), v.begin(), v.end());
        trace.insert(trace.end(), o.begin(), o.end());
    }
    return trace;
}

}  // namespace

TEST(Conv2d, SavedToMemoryAndLoadedBack) {
    Context context;
    Net original(NetOptions{1e-3, 1, 0}, context.get());
    const Layered l = build_layered(original);
    int64_t size = 0;
    ASSERT_SNN_OK(snn_network_save_to_memory(original, SNN_SAVE_DEFAULT, nullptr, 0, &size));
    ASSERT_GT(size, 0);
    std::vector<uint8_t> bytes(static_cast<std::size_t>(size));
    ASSERT_SNN_OK(snn_network_save_to_memory(original, SNN_SAVE_DEFAULT, bytes.data(), size, &size));
    snn_network* raw = nullptr;
    ASSERT_SNN_OK(snn_network_load_from_memory(context.get(), bytes.data(), size, nullptr, &raw));
    Net copy(raw, Net::Adopt{});
    expect_same_network(original, copy, l);
    snn_conv2d_geometry got;
    got.struct_size = sizeof got;
    ASSERT_SNN_OK(snn_connection_conv2d_get(copy, l.conv, &got));
    snn_conv2d_geometry want = l.g;
    want.pool_stride_y = 2;
    expect_same_geometry(got, want);
    EXPECT_EQ(run_layered(original, l, 20), run_layered(copy, l, 20));
}

TEST(Conv2d, SavedToAFileAndLoadedBack) {
    Context context;
    Net original(NetOptions{1e-3, 2, 0}, context.get());
    const Layered l = build_layered(original);
    // Trained-looking weights: not the ones given at creation.
    std::vector<float> w = original.weights(l.conv);
    for (float& x : w) x *= 1.5f;
    ASSERT_SNN_OK(snn_connection_set_weights(original, l.conv, w.data(), static_cast<int64_t>(w.size())));
    const std::string path = temp_path("file");
    std::remove(path.c_str());
    ASSERT_SNN_OK(snn_network_save(original, path.c_str(), SNN_SAVE_DEFAULT));
    snn_load_options lo;
    ASSERT_SNN_OK(snn_load_options_init(&lo, sizeof lo));
    lo.batch = 1;
    snn_network* raw = nullptr;
    ASSERT_SNN_OK(snn_network_load(context.get(), path.c_str(), &lo, &raw));
    std::remove(path.c_str());
    Net copy(raw, Net::Adopt{});
    expect_same_network(original, copy, l);
    EXPECT_EQ(copy.weights(l.conv), w);
    ASSERT_SNN_OK(snn_network_set_batch(original, 1));
    EXPECT_EQ(run_layered(original, l, 20), run_layered(copy, l, 20));
}

TEST(Conv2d, ALoadedCopyRunsOnTheOtherBackend) {
    if (!has_backend("cpu")) GTEST_SKIP() << "no cpu backend";
    snn_context_options ro = backend_options("reference"), co = backend_options("cpu", 2);
    Context ref(ro), cpu(co);
    Net original(NetOptions{1e-3, 1, 0}, ref.get());
    const Layered l = build_layered(original);
    int64_t size = 0;
    ASSERT_SNN_OK(snn_network_save_to_memory(original, SNN_SAVE_DEFAULT, nullptr, 0, &size));
    std::vector<uint8_t> bytes(static_cast<std::size_t>(size));
    ASSERT_SNN_OK(snn_network_save_to_memory(original, SNN_SAVE_DEFAULT, bytes.data(), size, &size));
    snn_network* raw = nullptr;
    ASSERT_SNN_OK(snn_network_load_from_memory(cpu.get(), bytes.data(), size, nullptr, &raw));
    Net copy(raw, Net::Adopt{});
    const std::vector<float> a = run_layered(original, l, 20), b = run_layered(copy, l, 20);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5f * std::max(1.0f, std::fabs(a[i]))) << i;
}

// ---------------------------------------------------------------------------
// Training

TEST(Conv2d, TrainerGivesAKernelGradient) {
    Net net(NetOptions{1e-3, 1, 0});
    const Layered l = build_layered(net);
    snn_trainer* raw = nullptr;
    ASSERT_SNN_OK(snn_trainer_create(net, nullptr, &raw));
    Trainer t(raw);
    const int64_t steps = 12;
    const int32_t batch = 3;
    std::vector<float> x;
    for (int64_t k = 0; k < steps; ++k) {
        const std::vector<float> s = pattern(static_cast<std::size_t>(batch) * 36, 300 + static_cast<uint32_t>(k), 0.5f, true);
        x.insert(x.end(), s.begin(), s.end());
    }
    std::vector<uint8_t> xb(x.begin(), x.end());
    Tensor in(xb.data(), SNN_DTYPE_UINT8, {steps, batch, 36});
    std::vector<int32_t> labels = {0, 3, 1};
    Tensor y(labels.data(), SNN_DTYPE_INT32, {batch});
    ASSERT_SNN_OK(snn_trainer_forward(t.get(), steps, batch, 1, &l.src, in.get()));

    // The forward pass is what the network computes.
    std::vector<float> hid_spikes(static_cast<std::size_t>(steps * batch * 30));
    ASSERT_SNN_OK(snn_trainer_read_output(t.get(), l.hid, "spikes", hid_spikes.data(), static_cast<int64_t>(hid_spikes.size())));
    EXPECT_GT(std::count(hid_spikes.begin(), hid_spikes.end(), 1.0f), 0) << "the conv layer should spike";

    double loss = 0.0;
    ASSERT_SNN_OK(snn_trainer_loss(t.get(), l.out, "ce_count", y.get(), &loss));
    EXPECT_TRUE(std::isfinite(loss));
    ASSERT_SNN_OK(snn_trainer_backward(t.get()));

    const int64_t n = weight_count(l.g);  // 3 x 1 x 3 x 3 + 3 biases
    ASSERT_EQ(n, 30);
    std::vector<float> grad(static_cast<std::size_t>(n), 0.0f);
    ASSERT_SNN_OK(snn_trainer_read_grad(t.get(), l.conv, grad.data(), n));
    const auto nonzero = [](float v) { return v != 0.0f; };
    EXPECT_GT(std::count_if(grad.begin(), grad.begin() + kernel_count(l.g), nonzero), 0) << "the kernel has a gradient";
    EXPECT_GT(std::count_if(grad.begin() + kernel_count(l.g), grad.end(), nonzero), 0) << "the biases have a gradient";
    for (float v : grad) EXPECT_TRUE(std::isfinite(v));
    EXPECT_SNN_ERROR(snn_trainer_read_grad(t.get(), l.conv, grad.data(), kernel_count(l.g)), SNN_SHAPE, "out_grad");

    // One optimizer step changes the network's own kernel.
    const std::vector<float> before = net.weights(l.conv);
    ASSERT_SNN_OK(snn_trainer_step(t.get()));
    EXPECT_NE(net.weights(l.conv), before);
}
