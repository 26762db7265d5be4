// Inputs and outputs: set_input, bind_input (per step and whole run, strided,
// dtypes), bind_output, the deleter protocol, and their refusals.
#include <limits>

#include "helpers.h"

using namespace snntest;

namespace {

struct DeleterLog {
    int calls = 0;
    void* last_data = nullptr;
    static void fn(snn_tensor* self) {
        auto* log = static_cast<DeleterLog*>(self->manager_ctx);
        ++log->calls;
        log->last_data = self->data;
    }
};

void with_deleter(Tensor& t, DeleterLog* log) {
    t.desc().manager_ctx = log;
    t.desc().deleter = &DeleterLog::fn;
}

std::vector<uint8_t> bytes(std::initializer_list<int> v) {
    std::vector<uint8_t> out;
    for (int x : v) out.push_back(static_cast<uint8_t>(x));
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// set_input

TEST(SetInput, ConsumedByOneStep) {
    NetOptions o;
    o.batch = 2;
    Net net(o);
    int32_t src = net.source("src", 3);
    net.input(src, {0.5f, 0.0f, -2.0f, 0.0f, 1.0f, 0.0f});  // nonzero = spike
    net.step();
    EXPECT_EQ(net.spikes(src), bytes({1, 0, 1, 0, 1, 0}));
    net.step();
    EXPECT_EQ(net.spikes(src), bytes({0, 0, 0, 0, 0, 0}));
    // The input is copied: changing the caller's array afterwards does nothing.
    std::vector<float> x = {1, 1, 1, 1, 1, 1};
    Tensor t(x.data(), SNN_DTYPE_FLOAT32, {2, 3});
    ASSERT_SNN_OK(snn_population_set_input(net, src, t.get()));
    std::fill(x.begin(), x.end(), 0.0f);
    net.step();
    EXPECT_EQ(net.spikes(src), bytes({1, 1, 1, 1, 1, 1}));
}

TEST(SetInput, Dtypes) {
    Net net;
    int32_t src = net.source("src", 4);
    uint8_t u8[4] = {0, 3, 0, 1};
    Tensor tu(u8, SNN_DTYPE_UINT8, {1, 4});
    ASSERT_SNN_OK(snn_population_set_input(net, src, tu.get()));
    net.step();
    EXPECT_EQ(net.spikes(src), bytes({0, 1, 0, 1}));
    uint8_t b[4] = {1, 0, 0, 1};
    Tensor tb(b, SNN_DTYPE_BOOL, {1, 4});
    ASSERT_SNN_OK(snn_population_set_input(net, src, tb.get()));
    net.step();
    EXPECT_EQ(net.spikes(src), bytes({1, 0, 0, 1}));
    float f[4] = {0, 0, 1, 0};
    Tensor tf(f, SNN_DTYPE_FLOAT32, {1, 4});
    ASSERT_SNN_OK(snn_population_set_input(net, src, tf.get()));
    net.step();
    EXPECT_EQ(net.spikes(src), bytes({0, 0, 1, 0}));
}

TEST(SetInput, StridedTensor) {
    NetOptions o;
    o.batch = 2;
    Net net(o);
    int32_t src = net.source("src", 3);
    // Column-major [2][3]: element (b, i) at b + 2 i.
    float cm[6] = {1, 0, 0, 1, 1, 0};  // (0,0)=1 (1,0)=0 (0,1)=0 (1,1)=1 (0,2)=1 (1,2)=0
    Tensor t(cm, SNN_DTYPE_FLOAT32, {2, 3}, {1, 2});
    ASSERT_SNN_OK(snn_population_set_input(net, src, t.get()));
    net.step();
    EXPECT_EQ(net.spikes(src), bytes({1, 0, 1, 0, 1, 0}));
}

TEST(SetInput, Refusals) {
    Net net;
    int32_t src = net.source("src", 3);
    int32_t lif = net.lif("lif", 3);
    int32_t noise = net.pop("noise", "poisson", 3);
    float x[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    Tensor good(x, SNN_DTYPE_FLOAT32, {1, 3});
    EXPECT_SNN_ERROR(snn_population_set_input(nullptr, src, good.get()), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_population_set_input(net, src, nullptr), SNN_INVALID_ARGUMENT, "input");
    EXPECT_SNN_ERROR(snn_population_set_input(net, 3, good.get()), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_set_input(net, lif, good.get()), SNN_INVALID_ARGUMENT, "population");
    Tensor wide(x, SNN_DTYPE_FLOAT32, {1, 4});
    EXPECT_SNN_ERROR(snn_population_set_input(net, src, wide.get()), SNN_SHAPE, "input");
    Tensor batch2(x, SNN_DTYPE_FLOAT32, {2, 3});
    EXPECT_SNN_ERROR(snn_population_set_input(net, src, batch2.get()), SNN_SHAPE, "input");
    Tensor flat(x, SNN_DTYPE_FLOAT32, {3});
    EXPECT_SNN_ERROR(snn_population_set_input(net, src, flat.get()), SNN_SHAPE, "input");
    Tensor run3(x, SNN_DTYPE_FLOAT32, {1, 1, 3});
    EXPECT_SNN_ERROR(snn_population_set_input(net, src, run3.get()), SNN_SHAPE, "input");
    Tensor no_data(nullptr, SNN_DTYPE_FLOAT32, {1, 3});
    EXPECT_SNN_ERROR(snn_population_set_input(net, src, no_data.get()), SNN_INVALID_ARGUMENT, "data");
    Tensor no_shape(x, SNN_DTYPE_FLOAT32, {1, 3});
    no_shape.desc().shape = nullptr;
    EXPECT_SNN_ERROR(snn_population_set_input(net, src, no_shape.get()), SNN_INVALID_ARGUMENT, "shape");
    Tensor bad_dtype(x, 99, {1, 3});
    EXPECT_SNN_ERROR(snn_population_set_input(net, src, bad_dtype.get()), SNN_INVALID_ARGUMENT, "dtype");
    Tensor device(x, SNN_DTYPE_FLOAT32, {1, 3});
    device.desc().device_type = 2;
    EXPECT_SNN_ERROR(snn_population_set_input(net, src, device.get()), SNN_UNSUPPORTED, "SNN_DEVICE_CPU");
    float nan_x[3] = {0, 0, std::numeric_limits<float>::quiet_NaN()};
    Tensor nan_t(nan_x, SNN_DTYPE_FLOAT32, {1, 3});
    EXPECT_SNN_ERROR(snn_population_set_input(net, src, nan_t.get()), SNN_INVALID_ARGUMENT, "input");
    float negative_rate[3] = {10, -1, 10};
    Tensor neg(negative_rate, SNN_DTYPE_FLOAT32, {1, 3});
    EXPECT_SNN_ERROR(snn_population_set_input(net, noise, neg.get()), SNN_INVALID_ARGUMENT, "rate");
    net.step();
    EXPECT_EQ(net.spikes(src), bytes({0, 0, 0})) << "a refused input was used";
}

TEST(SetInput, ARefusedInputLeavesTheEarlierOneUnchanged) {
    // docs/conventions.md: a refused call changes nothing.
    Net net;
    int32_t src = net.source("src", 3);
    float first[3] = {1, 0, 0};
    Tensor t1(first, SNN_DTYPE_FLOAT32, {1, 3});
    ASSERT_SNN_OK(snn_population_set_input(net, src, t1.get()));
    float bad[3] = {1, 1, std::numeric_limits<float>::infinity()};
    Tensor t2(bad, SNN_DTYPE_FLOAT32, {1, 3});
    EXPECT_SNN_ERROR(snn_population_set_input(net, src, t2.get()), SNN_INVALID_ARGUMENT, "input");
    net.step();
    EXPECT_EQ(net.spikes(src), bytes({1, 0, 0}));
}

// ---------------------------------------------------------------------------
// bind_input

TEST(BindInput, ReadInPlaceEveryStep) {
    NetOptions o;
    o.batch = 2;
    Net net(o);
    int32_t src = net.source("src", 2);
    float buffer[4] = {1, 0, 0, 1};
    Tensor t(buffer, SNN_DTYPE_FLOAT32, {2, 2});
    ASSERT_SNN_OK(snn_population_bind_input(net, src, t.get()));
    net.step();
    EXPECT_EQ(net.spikes(src), bytes({1, 0, 0, 1}));
    net.step();
    EXPECT_EQ(net.spikes(src), bytes({1, 0, 0, 1})) << "a bound input is read every step";
    buffer[0] = 0;
    buffer[1] = 1;
    net.step();
    EXPECT_EQ(net.spikes(src), bytes({0, 1, 0, 1}));
    // Takes precedence over set_input.
    net.input(src, {1, 1, 1, 1});
    net.step();
    EXPECT_EQ(net.spikes(src), bytes({0, 1, 0, 1}));
    // Unbound: back to no input.
    ASSERT_SNN_OK(snn_population_unbind_input(net, src));
    net.step();
    EXPECT_EQ(net.spikes(src), bytes({0, 0, 0, 0}));
    // Unbinding again is harmless.
    EXPECT_SNN_OK(snn_population_unbind_input(net, src));
}

TEST(BindInput, WholeRunSlices) {
    Net net;
    const int64_t steps = 4, n = 3;
    int32_t src = net.source("src", n);
    uint8_t in[4][1][3] = {{{1, 0, 0}}, {{0, 1, 0}}, {{0, 0, 1}}, {{1, 1, 1}}};
    Tensor t(in, SNN_DTYPE_UINT8, {steps, 1, n});
    ASSERT_SNN_OK(snn_population_bind_input(net, src, t.get()));
    std::vector<uint8_t> rec(static_cast<std::size_t>(steps * n), 9);
    Tensor r(rec.data(), SNN_DTYPE_UINT8, {steps, 1, n});
    ASSERT_SNN_OK(snn_population_bind_output(net, src, "spikes", r.get()));
    net.run(steps);
    EXPECT_EQ(rec, std::vector<uint8_t>(&in[0][0][0], &in[0][0][0] + steps * n));
    // Each run starts again at slice 0; a shorter run reads the first slices.
    std::fill(rec.begin(), rec.end(), 9);
    net.run(2);
    EXPECT_EQ(rec, bytes({1, 0, 0, 0, 1, 0, 9, 9, 9, 9, 9, 9}));
    // snn_network_step reads slice 0 and writes slice 0.
    std::fill(rec.begin(), rec.end(), 9);
    net.step();
    EXPECT_EQ(net.spikes(src), bytes({1, 0, 0}));
    EXPECT_EQ(rec, bytes({1, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 9}));
    // A run longer than the bound steps is refused before anything runs.
    const int64_t before = net.step_count();
    std::fill(rec.begin(), rec.end(), 9);
    EXPECT_SNN_ERROR(snn_network_run(net, steps + 1), SNN_SHAPE, "input");
    EXPECT_EQ(net.step_count(), before);
    EXPECT_EQ(rec, std::vector<uint8_t>(rec.size(), 9));
}

TEST(BindInput, StridedAndBool) {
    NetOptions o;
    o.batch = 2;
    Net net(o);
    int32_t src = net.source("src", 3);
    // [steps=2][batch=2][n=3] stored as [n][batch][steps]: (k, b, i) at k + 2 b + 4 i.
    uint8_t data[12] = {};
    auto at = [&](int k, int b, int i) -> uint8_t& { return data[k + 2 * b + 4 * i]; };
    at(0, 0, 0) = 1;
    at(0, 1, 2) = 1;
    at(1, 0, 1) = 1;
    at(1, 1, 0) = 1;
    at(1, 1, 1) = 1;
    Tensor t(data, SNN_DTYPE_BOOL, {2, 2, 3}, {1, 2, 4});
    ASSERT_SNN_OK(snn_population_bind_input(net, src, t.get()));
    std::vector<uint8_t> rec(12, 9);
    Tensor r(rec.data(), SNN_DTYPE_UINT8, {2, 2, 3});
    ASSERT_SNN_OK(snn_population_bind_output(net, src, "spikes", r.get()));
    net.run(2);
    EXPECT_EQ(rec, bytes({1, 0, 0, 0, 0, 1, /**/ 0, 1, 0, 1, 1, 0}));
    // Padded rows: [batch=2][n=3] with a row stride of 5.
    float padded[10] = {0, 1, 1, 7, 7, /**/ 1, 0, 0, 7, 7};
    Tensor p(padded, SNN_DTYPE_FLOAT32, {2, 3}, {5, 1});
    ASSERT_SNN_OK(snn_population_bind_input(net, src, p.get()));
    ASSERT_SNN_OK(snn_population_unbind_output(net, src, "spikes"));
    net.step();
    EXPECT_EQ(net.spikes(src), bytes({0, 1, 1, 1, 0, 0}));
}

TEST(BindInput, CurrentSourceReadsValues) {
    Net net;
    int32_t cs = net.pop("cs", "current_source", 2);
    int32_t post = net.lif("post", 2);
    net.one_to_one(cs, post, 1e-3f, 0);
    float values[2] = {2.0f, -1.0f};
    Tensor t(values, SNN_DTYPE_FLOAT32, {1, 2});
    ASSERT_SNN_OK(snn_population_bind_input(net, cs, t.get()));
    net.step();
    std::vector<float> v = net.state(post, "v");
    const float decay = decay_of(1e-4, 20e-3);
    const float v_rest = static_cast<float>(-65e-3);
    EXPECT_NEAR(v[0], v_rest + ((v_rest + 1e-3f * 2.0f) - v_rest) * decay, kVTol);
    EXPECT_NEAR(v[1], v_rest + ((v_rest + 1e-3f * -1.0f) - v_rest) * decay, kVTol);
}

TEST(BindInput, DeleterIsCalledExactlyOnce) {
    DeleterLog a, b, c;
    float buf_a[2] = {1, 0}, buf_b[2] = {0, 1}, buf_c[2] = {1, 1};
    {
        Net net;
        int32_t src = net.source("src", 2);
        Tensor ta(buf_a, SNN_DTYPE_FLOAT32, {1, 2});
        with_deleter(ta, &a);
        ASSERT_SNN_OK(snn_population_bind_input(net, src, ta.get()));
        EXPECT_EQ(a.calls, 0);
        ASSERT_SNN_OK(snn_population_unbind_input(net, src));
        EXPECT_EQ(a.calls, 1);
        EXPECT_EQ(a.last_data, buf_a);
        ASSERT_SNN_OK(snn_population_unbind_input(net, src));
        EXPECT_EQ(a.calls, 1);

        Tensor tb(buf_b, SNN_DTYPE_FLOAT32, {1, 2});
        with_deleter(tb, &b);
        Tensor tc(buf_c, SNN_DTYPE_FLOAT32, {1, 2});
        with_deleter(tc, &c);
        ASSERT_SNN_OK(snn_population_bind_input(net, src, tb.get()));
        ASSERT_SNN_OK(snn_population_bind_input(net, src, tc.get()));  // rebind releases b
        EXPECT_EQ(b.calls, 1);
        EXPECT_EQ(b.last_data, buf_b);
        EXPECT_EQ(c.calls, 0);
        net.step();
        EXPECT_EQ(net.spikes(src), bytes({1, 1}));
        // A refused bind takes nothing over: its deleter is not called, and
        // the current binding stays.
        DeleterLog refused;
        Tensor bad(buf_a, SNN_DTYPE_FLOAT32, {1, 3});
        with_deleter(bad, &refused);
        EXPECT_SNN_ERROR(snn_population_bind_input(net, src, bad.get()), SNN_SHAPE, "buffer");
        EXPECT_EQ(refused.calls, 0);
        EXPECT_EQ(c.calls, 0);
        net.step();
        EXPECT_EQ(net.spikes(src), bytes({1, 1}));
    }  // destroy releases c
    EXPECT_EQ(a.calls, 1);
    EXPECT_EQ(b.calls, 1);
    EXPECT_EQ(c.calls, 1);
    EXPECT_EQ(c.last_data, buf_c);
}

TEST(BindInput, Refusals) {
    NetOptions o;
    o.batch = 2;
    Net net(o);
    int32_t src = net.source("src", 3);
    int32_t lif = net.lif("lif", 3);
    float x[64] = {};
    DeleterLog log;
    Tensor good(x, SNN_DTYPE_FLOAT32, {2, 3});
    Tensor to_lif(x, SNN_DTYPE_FLOAT32, {2, 3});
    with_deleter(to_lif, &log);
    EXPECT_SNN_ERROR(snn_population_bind_input(net, lif, to_lif.get()), SNN_INVALID_ARGUMENT, "population");
    EXPECT_EQ(log.calls, 0);
    EXPECT_SNN_ERROR(snn_population_bind_input(nullptr, src, good.get()), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_population_bind_input(net, src, nullptr), SNN_INVALID_ARGUMENT, "buffer");
    EXPECT_SNN_ERROR(snn_population_bind_input(net, 5, good.get()), SNN_OUT_OF_RANGE, "population");
    Tensor n4(x, SNN_DTYPE_FLOAT32, {2, 4});
    EXPECT_SNN_ERROR(snn_population_bind_input(net, src, n4.get()), SNN_SHAPE, "buffer");
    Tensor b1(x, SNN_DTYPE_FLOAT32, {1, 3});
    EXPECT_SNN_ERROR(snn_population_bind_input(net, src, b1.get()), SNN_SHAPE, "buffer");
    Tensor run_b3(x, SNN_DTYPE_FLOAT32, {4, 3, 3});
    EXPECT_SNN_ERROR(snn_population_bind_input(net, src, run_b3.get()), SNN_SHAPE, "buffer");
    Tensor zero_steps(x, SNN_DTYPE_FLOAT32, {0, 2, 3});
    EXPECT_SNN_ERROR(snn_population_bind_input(net, src, zero_steps.get()), SNN_SHAPE, "buffer");
    Tensor flat(x, SNN_DTYPE_FLOAT32, {6});
    EXPECT_SNN_ERROR(snn_population_bind_input(net, src, flat.get()), SNN_SHAPE, "buffer");
    Tensor four(x, SNN_DTYPE_FLOAT32, {1, 1, 2, 3});
    EXPECT_SNN_ERROR(snn_population_bind_input(net, src, four.get()), SNN_SHAPE, "buffer");
    Tensor bad_dtype(x, 0, {2, 3});
    EXPECT_SNN_ERROR(snn_population_bind_input(net, src, bad_dtype.get()), SNN_INVALID_ARGUMENT, "dtype");
    Tensor no_data(nullptr, SNN_DTYPE_FLOAT32, {2, 3});
    EXPECT_SNN_ERROR(snn_population_bind_input(net, src, no_data.get()), SNN_INVALID_ARGUMENT, "data");
    EXPECT_SNN_ERROR(snn_population_unbind_input(net, 9), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_unbind_input(nullptr, src), SNN_INVALID_ARGUMENT, "network");
    ASSERT_SNN_OK(snn_population_bind_input(net, src, good.get()));
    net.run(2);
    EXPECT_EQ(net.step_count(), 2);
}

TEST(BindInput, BatchChangeMakesABindingStale) {
    Net net;
    int32_t src = net.source("src", 2);
    float x[2] = {1, 1};
    Tensor t(x, SNN_DTYPE_FLOAT32, {1, 2});
    ASSERT_SNN_OK(snn_population_bind_input(net, src, t.get()));
    net.step();
    ASSERT_SNN_OK(snn_network_set_batch(net, 2));
    EXPECT_SNN_ERROR(snn_network_run(net, 1), SNN_SHAPE, "batch");
    EXPECT_EQ(net.step_count(), 1);
    ASSERT_SNN_OK(snn_population_unbind_input(net, src));
    net.step();
    EXPECT_EQ(net.step_count(), 2);
}

// ---------------------------------------------------------------------------
// bind_output

namespace {

// The same small random network twice: one records through bound outputs, the
// other is read after every step.
struct Twin {
    explicit Twin(int32_t batch) : net(options(batch)) {
        noise = net.pop("noise", "poisson", 12);
        net.set(noise, "rate", 800.0);
        exc = net.lif("exc", 6);
        int32_t c = -1;
        EXPECT_SNN_OK(snn_network_connect_random(net, noise, exc, 0.5, 9e-3f, 3, nullptr, &c));
        EXPECT_SNN_OK(snn_network_connect_random(net, exc, exc, 0.4, -2e-3f, 4, nullptr, &c));
    }
    static NetOptions options(int32_t batch) {
        NetOptions o;
        o.batch = batch;
        o.seed = 17;
        return o;
    }
    Net net;
    int32_t noise = -1, exc = -1;
};

}  // namespace

TEST(BindOutput, WholeRunEqualsReadsAfterEachStep) {
    const int32_t batch = 2;
    const int64_t steps = 60, n = 6;
    Twin recorded(batch), stepped(batch);
    std::vector<uint8_t> spikes_u8(static_cast<std::size_t>(steps * batch * n), 9);
    std::vector<float> spikes_f32(spikes_u8.size(), -1.0f);
    std::vector<uint8_t> noise_bool(static_cast<std::size_t>(steps * batch * 12), 9);
    std::vector<float> v(spikes_u8.size(), 0.0f);
    Tensor tu(spikes_u8.data(), SNN_DTYPE_UINT8, {steps, batch, n});
    Tensor tf(spikes_f32.data(), SNN_DTYPE_FLOAT32, {steps, batch, n});
    Tensor tn(noise_bool.data(), SNN_DTYPE_BOOL, {steps, batch, 12});
    Tensor tv(v.data(), SNN_DTYPE_FLOAT32, {steps, batch, n});
    ASSERT_SNN_OK(snn_population_bind_output(recorded.net, recorded.exc, "spikes", tu.get()));
    ASSERT_SNN_OK(snn_population_bind_output(recorded.net, recorded.noise, "spikes", tn.get()));
    ASSERT_SNN_OK(snn_population_bind_output(recorded.net, recorded.exc, "v", tv.get()));
    recorded.net.run(steps);
    // Rebinding "spikes" with float32 replaces the uint8 binding.
    ASSERT_SNN_OK(snn_population_bind_output(recorded.net, recorded.exc, "spikes", tf.get()));
    recorded.net.reset();
    recorded.net.run(steps);

    int64_t total = 0;
    for (int64_t k = 0; k < steps; ++k) {
        stepped.net.step();
        std::vector<uint8_t> s = stepped.net.spikes(stepped.exc);
        std::vector<uint8_t> ns = stepped.net.spikes(stepped.noise);
        std::vector<float> vv = stepped.net.state(stepped.exc, "v");
        for (int64_t i = 0; i < batch * n; ++i) {
            const std::size_t at = static_cast<std::size_t>(k * batch * n + i);
            ASSERT_EQ(spikes_u8[at], s[static_cast<std::size_t>(i)]) << "step " << k;
            ASSERT_EQ(spikes_f32[at], static_cast<float>(s[static_cast<std::size_t>(i)])) << "step " << k;
            ASSERT_EQ(v[at], vv[static_cast<std::size_t>(i)]) << "step " << k;
            total += s[static_cast<std::size_t>(i)];
        }
        for (int64_t i = 0; i < batch * 12; ++i)
            ASSERT_EQ(noise_bool[static_cast<std::size_t>(k * batch * 12 + i)], ns[static_cast<std::size_t>(i)]) << "step " << k;
    }
    EXPECT_GT(total, 0) << "the test network should spike";
}

TEST(BindOutput, PerStepBufferAndStrides) {
    const int32_t batch = 2;
    const int64_t n = 6;
    Twin recorded(batch), stepped(batch);
    std::vector<float> v_cm(static_cast<std::size_t>(batch * n), 0.0f);  // column-major [batch][n]
    std::vector<uint8_t> s(static_cast<std::size_t>(batch * n), 9);
    Tensor tv(v_cm.data(), SNN_DTYPE_FLOAT32, {batch, n}, {1, batch});
    Tensor ts(s.data(), SNN_DTYPE_UINT8, {batch, n});
    ASSERT_SNN_OK(snn_population_bind_output(recorded.net, recorded.exc, "v", tv.get()));
    ASSERT_SNN_OK(snn_population_bind_output(recorded.net, recorded.exc, "spikes", ts.get()));
    for (int k = 0; k < 40; ++k) {
        recorded.net.step();
        stepped.net.step();
        std::vector<float> v = stepped.net.state(stepped.exc, "v");
        for (int32_t b = 0; b < batch; ++b)
            for (int64_t j = 0; j < n; ++j)
                ASSERT_EQ(v_cm[static_cast<std::size_t>(b + j * batch)], v[static_cast<std::size_t>(b * n + j)]) << "step " << k;
        ASSERT_EQ(s, stepped.net.spikes(stepped.exc)) << "step " << k;
    }
    // Unbound: the buffer is no longer written.
    ASSERT_SNN_OK(snn_population_unbind_output(recorded.net, recorded.exc, "v"));
    std::fill(v_cm.begin(), v_cm.end(), 1.0f);
    recorded.net.step();
    EXPECT_EQ(v_cm, std::vector<float>(v_cm.size(), 1.0f));
}

TEST(BindOutput, RunLongerThanTheBufferIsRefusedBeforeRunning) {
    Twin t(1);
    std::vector<float> v(5 * 6, 42.0f);
    Tensor tv(v.data(), SNN_DTYPE_FLOAT32, {5, 1, 6});
    ASSERT_SNN_OK(snn_population_bind_output(t.net, t.exc, "v", tv.get()));
    EXPECT_SNN_ERROR(snn_network_run(t.net, 6), SNN_SHAPE, "output");
    EXPECT_EQ(t.net.step_count(), 0);
    EXPECT_EQ(v, std::vector<float>(v.size(), 42.0f));
    t.net.run(5);
    EXPECT_EQ(t.net.step_count(), 5);
    EXPECT_NE(v[29], 42.0f);
}

TEST(BindOutput, DeleterIsCalledExactlyOnce) {
    DeleterLog a, b, c;
    std::vector<float> va(6), vb(6);
    std::vector<uint8_t> sc(6);
    {
        Net net;
        int32_t p = net.lif("p", 6);
        Tensor ta(va.data(), SNN_DTYPE_FLOAT32, {1, 6});
        Tensor tb(vb.data(), SNN_DTYPE_FLOAT32, {1, 6});
        Tensor tc(sc.data(), SNN_DTYPE_UINT8, {1, 6});
        with_deleter(ta, &a);
        with_deleter(tb, &b);
        with_deleter(tc, &c);
        ASSERT_SNN_OK(snn_population_bind_output(net, p, "v", ta.get()));
        ASSERT_SNN_OK(snn_population_bind_output(net, p, "v", tb.get()));
        EXPECT_EQ(a.calls, 1);
        EXPECT_EQ(b.calls, 0);
        ASSERT_SNN_OK(snn_population_bind_output(net, p, "spikes", tc.get()));
        ASSERT_SNN_OK(snn_population_unbind_output(net, p, "spikes"));
        EXPECT_EQ(c.calls, 1);
        net.step();
        EXPECT_EQ(vb[0], static_cast<float>(-65e-3));
    }
    EXPECT_EQ(a.calls, 1);
    EXPECT_EQ(b.calls, 1);
    EXPECT_EQ(c.calls, 1);
}

TEST(BindOutput, Refusals) {
    Net net;
    int32_t src = net.source("src", 3);
    int32_t p = net.lif("p", 3);
    float f[64] = {};
    uint8_t u[64] = {};
    int32_t i32[64] = {};
    DeleterLog log;
    Tensor v_u8(u, SNN_DTYPE_UINT8, {1, 3});
    with_deleter(v_u8, &log);
    EXPECT_SNN_ERROR(snn_population_bind_output(net, p, "v", v_u8.get()), SNN_INVALID_ARGUMENT, "dtype");
    EXPECT_EQ(log.calls, 0);
    Tensor s_i32(i32, SNN_DTYPE_INT32, {1, 3});
    EXPECT_SNN_ERROR(snn_population_bind_output(net, p, "spikes", s_i32.get()), SNN_INVALID_ARGUMENT, "dtype");
    Tensor good(f, SNN_DTYPE_FLOAT32, {1, 3});
    EXPECT_SNN_ERROR(snn_population_bind_output(net, p, "w", good.get()), SNN_NOT_FOUND, "var");
    EXPECT_SNN_ERROR(snn_population_bind_output(net, src, "v", good.get()), SNN_NOT_FOUND, "var");
    EXPECT_SNN_ERROR(snn_population_bind_output(net, p, nullptr, good.get()), SNN_INVALID_ARGUMENT, "var");
    EXPECT_SNN_ERROR(snn_population_bind_output(net, p, "v", nullptr), SNN_INVALID_ARGUMENT, "buffer");
    EXPECT_SNN_ERROR(snn_population_bind_output(nullptr, p, "v", good.get()), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_population_bind_output(net, 2, "v", good.get()), SNN_OUT_OF_RANGE, "population");
    Tensor wide(f, SNN_DTYPE_FLOAT32, {1, 4});
    EXPECT_SNN_ERROR(snn_population_bind_output(net, p, "v", wide.get()), SNN_SHAPE, "buffer");
    Tensor flat(f, SNN_DTYPE_FLOAT32, {3});
    EXPECT_SNN_ERROR(snn_population_bind_output(net, p, "v", flat.get()), SNN_SHAPE, "buffer");
    Tensor no_data(nullptr, SNN_DTYPE_FLOAT32, {1, 3});
    EXPECT_SNN_ERROR(snn_population_bind_output(net, p, "v", no_data.get()), SNN_INVALID_ARGUMENT, "data");
    EXPECT_SNN_ERROR(snn_population_unbind_output(net, p, "v"), SNN_NOT_FOUND, "var");
    EXPECT_SNN_ERROR(snn_population_unbind_output(net, p, "nope"), SNN_NOT_FOUND, "var");
    EXPECT_SNN_ERROR(snn_population_unbind_output(net, p, nullptr), SNN_INVALID_ARGUMENT, "var");
    EXPECT_SNN_ERROR(snn_population_unbind_output(net, 7, "v"), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_unbind_output(nullptr, p, "v"), SNN_INVALID_ARGUMENT, "network");
    net.run(3);
    EXPECT_EQ(net.step_count(), 3);
}
