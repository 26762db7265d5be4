// State: read/write/randomize for populations and connections, views of the
// network's memory, spikes, and changing the batch.
#include <algorithm>
#include <utility>
#include <limits>
#include <set>

#include "helpers.h"

using namespace snntest;

namespace {
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
}

// ---------------------------------------------------------------------------
// Populations

TEST(State, ReadWriteBroadcastAndPerInstance) {
    NetOptions o;
    o.batch = 3;
    Net net(o);
    int32_t p = net.lif("p", 2);
    int64_t count = -1;
    ASSERT_SNN_OK(snn_population_read_state(net, p, "v", nullptr, 0, &count));
    EXPECT_EQ(count, 6);
    EXPECT_EQ(net.state(p, "v"), std::vector<float>(6, static_cast<float>(-65e-3)));
    // n values: the same for every instance.
    net.write(p, "v", {-60e-3f, -61e-3f});
    EXPECT_EQ(net.state(p, "v"), (std::vector<float>{-60e-3f, -61e-3f, -60e-3f, -61e-3f, -60e-3f, -61e-3f}));
    // batch * n values: one row per instance.
    const std::vector<float> rows = {-50e-3f, -51e-3f, -52e-3f, -53e-3f, -54e-3f, -55e-3f};
    net.write(p, "v", rows);
    EXPECT_EQ(net.state(p, "v"), rows);
    // The same after the first step.
    net.step();
    net.write(p, "v", {-70e-3f, -71e-3f});
    EXPECT_EQ(net.state(p, "v"), (std::vector<float>{-70e-3f, -71e-3f, -70e-3f, -71e-3f, -70e-3f, -71e-3f}));
    net.write(p, "v", rows);
    EXPECT_EQ(net.state(p, "v"), rows);
    // A larger buffer: only the count is written.
    std::vector<float> big(10, 5.0f);
    ASSERT_SNN_OK(snn_population_read_state(net, p, "v", big.data(), 10, &count));
    EXPECT_EQ(count, 6);
    EXPECT_EQ(big[6], 5.0f);
}

TEST(State, InitialValuesOfTheModels) {
    Net net;
    int32_t izh = net.pop("izh", "izhikevich", 2);
    int32_t alif = net.pop("alif", "alif", 2);
    int32_t iff = net.pop("if", "if", 2);
    int32_t li = net.pop("li", "li", 2);
    const float c = static_cast<float>(-65e-3), b = 200.0f;
    EXPECT_EQ(net.state(izh, "v"), std::vector<float>(2, c));
    EXPECT_FLOAT_EQ(net.state(izh, "u")[0], b * c);
    EXPECT_EQ(net.state(alif, "a"), std::vector<float>(2, 0.0f));
    EXPECT_EQ(net.state(alif, "v"), std::vector<float>(2, static_cast<float>(-65e-3)));
    EXPECT_EQ(net.state(iff, "v"), std::vector<float>(2, static_cast<float>(-65e-3)));
    EXPECT_EQ(net.state(li, "v"), std::vector<float>(2, 0.0f));
    // The initial state follows parameters set before the first step.
    net.set(li, "v_rest", -10e-3);
    EXPECT_EQ(net.state(li, "v"), std::vector<float>(2, static_cast<float>(-10e-3)));
}

TEST(State, SpikesAreReadableAsAStateVariable) {
    // snn.h lists "spikes" (read-only) among the state variables read_state accepts.
    NetOptions o;
    o.batch = 2;
    Net net(o);
    int32_t src = net.source("src", 3);
    net.input(src, {1, 0, 1, 0, 1, 0});
    net.step();
    int64_t count = 0;
    std::vector<float> s(6, -1.0f);
    EXPECT_SNN_OK(snn_population_read_state(net, src, "spikes", s.data(), 6, &count));
    EXPECT_EQ(s, (std::vector<float>{1, 0, 1, 0, 1, 0}));
    const float ones[3] = {1, 1, 1};
    snn_clear_error();
    EXPECT_NE(snn_population_write_state(net, src, "spikes", ones, 3), SNN_OK) << "spikes are read-only";
    EXPECT_STRNE(snn_last_error(), "");
}

TEST(State, ReadWriteRefusals) {
    NetOptions o;
    o.batch = 2;
    Net net(o);
    int32_t p = net.lif("p", 3);
    const std::vector<float> before = {-60e-3f, -61e-3f, -62e-3f, -63e-3f, -64e-3f, -65e-3f};
    net.write(p, "v", before);
    std::vector<float> out(6);
    int64_t count = 0;
    EXPECT_SNN_ERROR(snn_population_read_state(net, p, "v", out.data(), 5, &count), SNN_SHAPE, "capacity");
    EXPECT_SNN_ERROR(snn_population_read_state(net, p, "v", out.data(), -1, &count), SNN_INVALID_ARGUMENT, "capacity");
    EXPECT_SNN_ERROR(snn_population_read_state(net, p, "v", nullptr, 6, &count), SNN_INVALID_ARGUMENT, "out_values");
    EXPECT_SNN_ERROR(snn_population_read_state(net, p, "v", out.data(), 6, nullptr), SNN_INVALID_ARGUMENT, "out_count");
    EXPECT_SNN_ERROR(snn_population_read_state(net, p, "u", out.data(), 6, &count), SNN_NOT_FOUND, "var");
    EXPECT_SNN_ERROR(snn_population_read_state(net, p, nullptr, out.data(), 6, &count), SNN_INVALID_ARGUMENT, "var");
    EXPECT_SNN_ERROR(snn_population_read_state(net, 1, "v", out.data(), 6, &count), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_read_state(nullptr, p, "v", out.data(), 6, &count), SNN_INVALID_ARGUMENT, "network");

    std::vector<float> values(6, -50e-3f);
    EXPECT_SNN_ERROR(snn_population_write_state(net, p, "v", values.data(), 4), SNN_SHAPE, "values");
    EXPECT_SNN_ERROR(snn_population_write_state(net, p, "v", values.data(), 0), SNN_SHAPE, "values");
    EXPECT_SNN_ERROR(snn_population_write_state(net, p, "v", nullptr, 6), SNN_INVALID_ARGUMENT, "values");
    EXPECT_SNN_ERROR(snn_population_write_state(net, p, "a", values.data(), 6), SNN_NOT_FOUND, "var");
    EXPECT_SNN_ERROR(snn_population_write_state(net, p, nullptr, values.data(), 6), SNN_INVALID_ARGUMENT, "var");
    EXPECT_SNN_ERROR(snn_population_write_state(net, -1, "v", values.data(), 6), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_write_state(nullptr, p, "v", values.data(), 6), SNN_INVALID_ARGUMENT, "network");
    values[4] = kNaN;
    EXPECT_SNN_ERROR(snn_population_write_state(net, p, "v", values.data(), 6), SNN_INVALID_ARGUMENT, "values");
    values[1] = -std::numeric_limits<float>::infinity();
    EXPECT_SNN_ERROR(snn_population_write_state(net, p, "v", values.data(), 3), SNN_INVALID_ARGUMENT, "values");
    EXPECT_EQ(net.state(p, "v"), before) << "a refused write changed the state";
    net.run(2);
    EXPECT_EQ(net.step_count(), 2);
}

TEST(State, ReadSpikes) {
    NetOptions o;
    o.batch = 2;
    Net net(o);
    int32_t src = net.source("src", 2);
    EXPECT_EQ(net.spikes(src), std::vector<uint8_t>(4, 0)) << "no spikes before the first step";
    std::vector<uint8_t> s(4);
    int64_t count = 0;
    ASSERT_SNN_OK(snn_population_read_spikes(net, src, nullptr, 0, &count));
    EXPECT_EQ(count, 4);
    EXPECT_SNN_ERROR(snn_population_read_spikes(net, src, s.data(), 3, &count), SNN_SHAPE, "capacity");
    EXPECT_SNN_ERROR(snn_population_read_spikes(net, src, s.data(), -3, &count), SNN_INVALID_ARGUMENT, "capacity");
    EXPECT_SNN_ERROR(snn_population_read_spikes(net, src, nullptr, 4, &count), SNN_INVALID_ARGUMENT, "out_spikes");
    EXPECT_SNN_ERROR(snn_population_read_spikes(net, src, s.data(), 4, nullptr), SNN_INVALID_ARGUMENT, "out_count");
    EXPECT_SNN_ERROR(snn_population_read_spikes(net, 4, s.data(), 4, &count), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_read_spikes(nullptr, src, s.data(), 4, &count), SNN_INVALID_ARGUMENT, "network");
    net.input(src, {0, 1, 1, 1});
    net.step();
    EXPECT_EQ(net.spikes(src), (std::vector<uint8_t>{0, 1, 1, 1}));
}

// ---------------------------------------------------------------------------
// Randomize

TEST(State, RandomizeUniformIsDeterministicPerSeed) {
    NetOptions o;
    o.batch = 2;
    Net n1(o), n2(o);
    const int64_t n = 500;
    int32_t p1 = n1.lif("p", n), p2 = n2.lif("p", n);
    ASSERT_SNN_OK(snn_population_randomize_state(n1, p1, "v", SNN_DIST_UNIFORM, -70e-3, -50e-3, 123));
    ASSERT_SNN_OK(snn_population_randomize_state(n2, p2, "v", SNN_DIST_UNIFORM, -70e-3, -50e-3, 123));
    std::vector<float> a = n1.state(p1, "v"), b = n2.state(p2, "v");
    EXPECT_EQ(a, b);
    for (float x : a) {
        EXPECT_GE(x, static_cast<float>(-70e-3));
        EXPECT_LE(x, static_cast<float>(-50e-3));
    }
    // Instances and neurons get different values.
    EXPECT_NE(std::vector<float>(a.begin(), a.begin() + n), std::vector<float>(a.begin() + n, a.end()));
    EXPECT_GT(std::set<float>(a.begin(), a.end()).size(), a.size() / 2);
    // The mean of U(a, b): 6 standard deviations of the sample mean.
    double mean = 0;
    for (float x : a) mean += x;
    mean /= static_cast<double>(a.size());
    const double sd = 20e-3 / std::sqrt(12.0) / std::sqrt(static_cast<double>(a.size()));
    EXPECT_NEAR(mean, -60e-3, 6 * sd);
    // Another seed, other values.
    ASSERT_SNN_OK(snn_population_randomize_state(n2, p2, "v", SNN_DIST_UNIFORM, -70e-3, -50e-3, 124));
    EXPECT_NE(n2.state(p2, "v"), a);
    // Before the first step it is the initial state: reset restores it.
    n1.run(20);
    n1.reset();
    EXPECT_EQ(n1.state(p1, "v"), a);
}

TEST(State, RandomizeNormal) {
    Net net;
    const int64_t n = 4000;
    int32_t p = net.lif("p", n);
    ASSERT_SNN_OK(snn_population_randomize_state(net, p, "v", SNN_DIST_NORMAL, -60e-3, 2e-3, 5));
    std::vector<float> v = net.state(p, "v");
    double mean = 0, sq = 0;
    for (float x : v) mean += x;
    mean /= n;
    for (float x : v) sq += (x - mean) * (x - mean);
    const double sd = std::sqrt(sq / (n - 1));
    EXPECT_NEAR(mean, -60e-3, 6 * 2e-3 / std::sqrt(static_cast<double>(n)));
    EXPECT_NEAR(sd, 2e-3, 6 * 2e-3 / std::sqrt(2.0 * n));
    // Standard deviation 0: every value is the mean.
    ASSERT_SNN_OK(snn_population_randomize_state(net, p, "v", SNN_DIST_NORMAL, -55e-3, 0.0, 5));
    EXPECT_EQ(net.state(p, "v"), std::vector<float>(static_cast<std::size_t>(n), static_cast<float>(-55e-3)));
}

TEST(State, RandomizeRefusals) {
    Net net;
    int32_t p = net.lif("p", 3);
    const std::vector<float> before = net.state(p, "v");
    EXPECT_SNN_ERROR(snn_population_randomize_state(net, p, "v", 0, 0, 1, 1), SNN_INVALID_ARGUMENT, "distribution");
    EXPECT_SNN_ERROR(snn_population_randomize_state(net, p, "v", 3, 0, 1, 1), SNN_INVALID_ARGUMENT, "distribution");
    EXPECT_SNN_ERROR(snn_population_randomize_state(net, p, "v", SNN_DIST_UNIFORM, 1.0, 0.0, 1), SNN_INVALID_ARGUMENT, "b");
    EXPECT_SNN_ERROR(snn_population_randomize_state(net, p, "v", SNN_DIST_NORMAL, 0.0, -1.0, 1), SNN_INVALID_ARGUMENT, "b");
    EXPECT_SNN_ERROR(snn_population_randomize_state(net, p, "v", SNN_DIST_UNIFORM, std::nan(""), 0.0, 1), SNN_INVALID_ARGUMENT,
                     "a");
    EXPECT_SNN_ERROR(snn_population_randomize_state(net, p, "v", SNN_DIST_NORMAL, 0.0, HUGE_VAL, 1), SNN_INVALID_ARGUMENT, "b");
    EXPECT_SNN_ERROR(snn_population_randomize_state(net, p, "q", SNN_DIST_UNIFORM, 0.0, 1.0, 1), SNN_NOT_FOUND, "var");
    EXPECT_SNN_ERROR(snn_population_randomize_state(net, p, nullptr, SNN_DIST_UNIFORM, 0.0, 1.0, 1), SNN_INVALID_ARGUMENT, "var");
    EXPECT_SNN_ERROR(snn_population_randomize_state(net, 3, "v", SNN_DIST_UNIFORM, 0.0, 1.0, 1), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_randomize_state(nullptr, p, "v", SNN_DIST_UNIFORM, 0.0, 1.0, 1), SNN_INVALID_ARGUMENT,
                     "network");
    EXPECT_EQ(net.state(p, "v"), before);
    net.run(1);
    EXPECT_EQ(net.step_count(), 1);
}

// ---------------------------------------------------------------------------
// Connections

TEST(State, ConnectionStateExpAndCondExp) {
    NetOptions o;
    o.batch = 2;
    Net net(o);
    int32_t src = net.source("src", 2);
    int32_t post = net.lif("post", 3);
    int32_t delta = net.dense(src, post, std::vector<float>(6, 1e-3f));
    int32_t exp = net.dense(src, post, std::vector<float>(6, 1e-3f), 1, "exp");
    int32_t cond = net.dense(src, post, std::vector<float>(6, 0.1f), 1, "cond_exp");
    int64_t count = -1;
    ASSERT_SNN_OK(snn_connection_read_state(net, exp, "I", nullptr, 0, &count));
    EXPECT_EQ(count, 6);
    EXPECT_EQ(net.conn_state(exp, "I"), std::vector<float>(6, 0.0f));
    EXPECT_EQ(net.conn_state(cond, "g"), std::vector<float>(6, 0.0f));
    // Written before the first step: the initial state.
    const std::vector<float> i0 = {1e-3f, 2e-3f, 3e-3f};
    ASSERT_SNN_OK(snn_connection_write_state(net, exp, "I", i0.data(), 3));
    const std::vector<float> g0 = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
    ASSERT_SNN_OK(snn_connection_write_state(net, cond, "g", g0.data(), 6));
    EXPECT_EQ(net.conn_state(exp, "I"), (std::vector<float>{1e-3f, 2e-3f, 3e-3f, 1e-3f, 2e-3f, 3e-3f}));
    EXPECT_EQ(net.conn_state(cond, "g"), g0);
    net.step();
    const float de = decay_of(1e-4, 5e-3);
    std::vector<float> i1 = net.conn_state(exp, "I"), g1 = net.conn_state(cond, "g");
    for (int k = 0; k < 6; ++k) {
        EXPECT_FLOAT_EQ(i1[static_cast<std::size_t>(k)], i0[static_cast<std::size_t>(k % 3)] * de);
        EXPECT_FLOAT_EQ(g1[static_cast<std::size_t>(k)], g0[static_cast<std::size_t>(k)] * de);
    }
    ASSERT_SNN_OK(snn_connection_randomize_state(net, exp, "I", SNN_DIST_UNIFORM, 0.0, 1e-3, 8));
    std::vector<float> r = net.conn_state(exp, "I");
    for (float x : r) {
        EXPECT_GE(x, 0.0f);
        EXPECT_LE(x, 1e-3f);
    }
    net.reset();
    EXPECT_EQ(net.conn_state(exp, "I"), (std::vector<float>{1e-3f, 2e-3f, 3e-3f, 1e-3f, 2e-3f, 3e-3f}));
    EXPECT_EQ(net.conn_state(cond, "g"), g0);

    std::vector<float> out(6);
    const float vals[6] = {0, 0, 0, 0, 0, 0};
    EXPECT_SNN_ERROR(snn_connection_read_state(net, delta, "I", out.data(), 6, &count), SNN_NOT_FOUND, "var");
    EXPECT_SNN_ERROR(snn_connection_read_state(net, exp, "g", out.data(), 6, &count), SNN_NOT_FOUND, "var");
    EXPECT_SNN_ERROR(snn_connection_read_state(net, exp, nullptr, out.data(), 6, &count), SNN_INVALID_ARGUMENT, "var");
    EXPECT_SNN_ERROR(snn_connection_read_state(net, exp, "I", out.data(), 5, &count), SNN_SHAPE, "capacity");
    EXPECT_SNN_ERROR(snn_connection_read_state(net, exp, "I", out.data(), 6, nullptr), SNN_INVALID_ARGUMENT, "out_count");
    EXPECT_SNN_ERROR(snn_connection_read_state(net, 3, "I", out.data(), 6, &count), SNN_OUT_OF_RANGE, "connection");
    EXPECT_SNN_ERROR(snn_connection_read_state(nullptr, exp, "I", out.data(), 6, &count), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_connection_write_state(net, exp, "I", vals, 4), SNN_SHAPE, "values");
    EXPECT_SNN_ERROR(snn_connection_write_state(net, cond, "I", vals, 6), SNN_NOT_FOUND, "var");
    EXPECT_SNN_ERROR(snn_connection_write_state(net, delta, "g", vals, 6), SNN_NOT_FOUND, "var");
    EXPECT_SNN_ERROR(snn_connection_write_state(net, exp, "I", nullptr, 6), SNN_INVALID_ARGUMENT, "values");
    EXPECT_SNN_ERROR(snn_connection_write_state(net, -1, "I", vals, 6), SNN_OUT_OF_RANGE, "connection");
    EXPECT_SNN_ERROR(snn_connection_write_state(nullptr, exp, "I", vals, 6), SNN_INVALID_ARGUMENT, "network");
    const float nan_vals[3] = {0, kNaN, 0};
    EXPECT_SNN_ERROR(snn_connection_write_state(net, exp, "I", nan_vals, 3), SNN_INVALID_ARGUMENT, "values");
    EXPECT_SNN_ERROR(snn_connection_randomize_state(net, exp, "I", 9, 0.0, 1.0, 1), SNN_INVALID_ARGUMENT, "distribution");
    EXPECT_SNN_ERROR(snn_connection_randomize_state(net, delta, "I", SNN_DIST_UNIFORM, 0.0, 1.0, 1), SNN_NOT_FOUND, "var");
    EXPECT_SNN_ERROR(snn_connection_randomize_state(net, 5, "I", SNN_DIST_UNIFORM, 0.0, 1.0, 1), SNN_OUT_OF_RANGE, "connection");
    EXPECT_SNN_ERROR(snn_connection_randomize_state(nullptr, exp, "I", SNN_DIST_UNIFORM, 0.0, 1.0, 1), SNN_INVALID_ARGUMENT,
                     "network");
    EXPECT_EQ(net.conn_state(cond, "g"), g0);
    net.run(2);
}

// ---------------------------------------------------------------------------
// Views

TEST(View, LiveWritableAndBlocksSetBatch) {
    NetOptions o;
    o.batch = 2;
    Net net(o);
    int32_t src = net.source("src", 3);
    int32_t p = net.lif("p", 3);
    net.one_to_one(src, p, 2e-3f);
    net.step();
    snn_tensor* view = nullptr;
    ASSERT_SNN_OK(snn_population_view_state(net, p, "v", &view));
    ASSERT_NE(view, nullptr);
    EXPECT_EQ(view->dtype, SNN_DTYPE_FLOAT32);
    EXPECT_EQ(view->ndim, 2);
    ASSERT_NE(view->shape, nullptr);
    EXPECT_EQ(view->shape[0], 2);
    EXPECT_EQ(view->shape[1], 3);
    if (view->strides) {
        EXPECT_EQ(view->strides[0], 3);
        EXPECT_EQ(view->strides[1], 1);
    }
    EXPECT_EQ(view->device_type, SNN_DEVICE_CPU);
    float* data = static_cast<float*>(view->data);
    ASSERT_NE(data, nullptr);
    EXPECT_EQ(std::vector<float>(data, data + 6), net.state(p, "v"));
    // Live: a step changes it.
    net.input(src, {1, 1, 1, 0, 0, 0});
    net.step();
    net.step();
    EXPECT_EQ(std::vector<float>(data, data + 6), net.state(p, "v"));
    EXPECT_GT(data[0], static_cast<float>(-65e-3));
    // Writable: the network sees the write.
    data[4] = -55e-3f;
    EXPECT_EQ(net.state(p, "v")[4], -55e-3f);
    net.step();
    EXPECT_NEAR(net.state(p, "v")[4], static_cast<float>(-65e-3) + (-55e-3f - static_cast<float>(-65e-3)) * decay_of(1e-4, 20e-3),
                kVTol);

    // set_batch is refused while any view is alive.
    snn_tensor* second = nullptr;
    ASSERT_SNN_OK(snn_population_view_state(net, p, "v", &second));
    EXPECT_SNN_ERROR(snn_network_set_batch(net, 4), SNN_STATE, "set_batch");
    snn_tensor_release(view);
    EXPECT_SNN_ERROR(snn_network_set_batch(net, 4), SNN_STATE, "set_batch");
    EXPECT_EQ(net.batch(), 2);
    snn_tensor_release(second);
    EXPECT_SNN_OK(snn_network_set_batch(net, 4));
    EXPECT_EQ(net.batch(), 4);
    net.step();
}

TEST(View, Refusals) {
    Net net;
    int32_t src = net.source("src", 3);
    int32_t p = net.lif("p", 3);
    snn_tensor* view = reinterpret_cast<snn_tensor*>(0x1);
    EXPECT_SNN_ERROR(snn_population_view_state(net, p, "u", &view), SNN_NOT_FOUND, "var");
    EXPECT_EQ(view, nullptr);
    EXPECT_SNN_ERROR(snn_population_view_state(net, src, "v", &view), SNN_NOT_FOUND, "var");
    EXPECT_SNN_ERROR(snn_population_view_state(net, p, nullptr, &view), SNN_INVALID_ARGUMENT, "var");
    EXPECT_SNN_ERROR(snn_population_view_state(net, 2, "v", &view), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_view_state(net, p, "v", nullptr), SNN_INVALID_ARGUMENT, "out_view");
    EXPECT_SNN_ERROR(snn_population_view_state(nullptr, p, "v", &view), SNN_INVALID_ARGUMENT, "network");
    // No view is alive after refusals: set_batch works.
    EXPECT_SNN_OK(snn_network_set_batch(net, 2));
    net.run(2);
}

// ---------------------------------------------------------------------------
// Batch

TEST(Batch, SetBatchGrowsAndShrinksKeepingRunningInstances) {
    NetOptions o;
    o.batch = 2;
    Net net(o);
    int32_t src = net.source("src", 2);
    int32_t p = net.lif("p", 2);
    net.one_to_one(src, p, 3e-3f);
    const std::vector<float> initial = {-62e-3f, -63e-3f};
    net.write(p, "v", initial);
    net.input(src, {1, 0, 0, 1});
    net.run(3);
    const std::vector<float> running = net.state(p, "v");
    ASSERT_SNN_OK(snn_network_set_batch(net, 4));
    EXPECT_EQ(net.batch(), 4);
    std::vector<float> v = net.state(p, "v");
    ASSERT_EQ(v.size(), 8u);
    EXPECT_EQ(std::vector<float>(v.begin(), v.begin() + 4), running) << "running instances keep their state";
    EXPECT_EQ(std::vector<float>(v.begin() + 4, v.begin() + 6), initial) << "new instances start at the initial state";
    EXPECT_EQ(std::vector<float>(v.begin() + 6, v.end()), initial);
    net.run(2);
    ASSERT_SNN_OK(snn_network_set_batch(net, 1));
    v = net.state(p, "v");
    EXPECT_EQ(v.size(), 2u);
    ASSERT_SNN_OK(snn_network_set_batch(net, 3));
    std::vector<float> regrown = net.state(p, "v");
    ASSERT_EQ(regrown.size(), 6u);
    EXPECT_EQ(std::vector<float>(regrown.begin(), regrown.begin() + 2), v);
    EXPECT_EQ(std::vector<float>(regrown.begin() + 2, regrown.begin() + 4), initial);
    net.run(2);
    EXPECT_EQ(net.step_count(), 7);

    EXPECT_SNN_ERROR(snn_network_set_batch(net, 0), SNN_INVALID_ARGUMENT, "batch");
    EXPECT_SNN_ERROR(snn_network_set_batch(net, -2), SNN_INVALID_ARGUMENT, "batch");
    EXPECT_SNN_ERROR(snn_network_set_batch(nullptr, 2), SNN_INVALID_ARGUMENT, "network");
    EXPECT_EQ(net.batch(), 3);
}

TEST(Batch, SetBatchBeforeTheFirstStepKeepsTheInitialState) {
    Net net;
    int32_t p = net.lif("p", 2);
    net.write(p, "v", {-60e-3f, -58e-3f});
    ASSERT_SNN_OK(snn_network_set_batch(net, 3));
    EXPECT_EQ(net.state(p, "v"), (std::vector<float>{-60e-3f, -58e-3f, -60e-3f, -58e-3f, -60e-3f, -58e-3f}));
    net.step();
    net.reset();
    EXPECT_EQ(net.state(p, "v"), (std::vector<float>{-60e-3f, -58e-3f, -60e-3f, -58e-3f, -60e-3f, -58e-3f}));
}

TEST(Batch, GrowingDoesNotDisturbARunningInstance) {
    // Instance 0 of a network whose batch grows mid-run follows the same
    // trajectory as a network that never changed: spikes in flight (delay 3)
    // and refractory periods survive set_batch.
    auto build = [](Net& net) {
        int32_t src = net.source("src", 1);
        int32_t p = net.lif("p", 1);
        net.set(p, "t_ref", 3e-4);
        net.dense(src, p, {20e-3f}, 3);
        return std::make_pair(src, p);
    };
    Net fixed, grown;
    auto [fs, fp] = build(fixed);
    auto [gs, gp] = build(grown);
    const std::set<int> input_steps = {0, 4, 5};
    for (int t = 0; t < 14; ++t) {
        if (t == 6) ASSERT_SNN_OK(snn_network_set_batch(grown, 3));  // spikes of steps 4, 5 in flight
        if (t == 8) ASSERT_SNN_OK(snn_network_set_batch(grown, 5));  // held after its spike in step 7
        const float x = input_steps.count(t) ? 1.0f : 0.0f;
        fixed.input(fs, {x});
        std::vector<float> gx(static_cast<std::size_t>(grown.batch()), 0.0f);
        gx[0] = x;
        grown.input(gs, gx);
        fixed.step();
        grown.step();
        EXPECT_EQ(grown.v(gp, 0), fixed.v(fp, 0)) << "step " << t;
        EXPECT_EQ(grown.spikes(gp)[0], fixed.spikes(fp)[0]) << "step " << t;
    }
}

TEST(Batch, GrowingKeepsRefractoryPeriods) {
    // A neuron that spiked just before set_batch stays held afterwards.
    auto build = [](Net& net) {
        int32_t src = net.source("src", 1);
        int32_t p = net.lif("p", 1);
        net.set(p, "t_ref", 3e-4);  // R = 3: held 2 steps
        net.dense(src, p, {20e-3f}, 1);
        return std::make_pair(src, p);
    };
    Net fixed, grown;
    auto [fs, fp] = build(fixed);
    auto [gs, gp] = build(grown);
    const std::set<int> input_steps = {0, 1, 2, 3};  // arrive in steps 1..4: spike in 1, held in 2 and 3, spike in 4
    for (int t = 0; t < 6; ++t) {
        if (t == 2) ASSERT_SNN_OK(snn_network_set_batch(grown, 4));
        const float x = input_steps.count(t) ? 1.0f : 0.0f;
        fixed.input(fs, {x});
        std::vector<float> gx(static_cast<std::size_t>(grown.batch()), 0.0f);
        gx[0] = x;
        grown.input(gs, gx);
        fixed.step();
        grown.step();
        EXPECT_EQ(grown.v(gp, 0), fixed.v(fp, 0)) << "step " << t;
        EXPECT_EQ(grown.spikes(gp)[0], fixed.spikes(fp)[0]) << "step " << t;
    }
}

TEST(View, ABeforeTheFirstStepViewFixesTheStructureButRunsNothing) {
    // snn.h: a view is of the running state, so the first view, like the first
    // step, fixes the structure; it runs no step and shows the initial state.
    Net net;
    int32_t p = net.lif("p", 2);
    snn_tensor* view = nullptr;
    ASSERT_SNN_OK(snn_population_view_state(net, p, "v", &view));
    EXPECT_EQ(static_cast<float*>(view->data)[0], static_cast<float>(-65e-3));
    snn_tensor_release(view);
    int64_t n = 3;
    int32_t q = -1;
    EXPECT_SNN_ERROR(snn_network_add_population(net, "q", "lif", 1, &n, &q), SNN_STATE, "add_population");
    EXPECT_EQ(net.step_count(), 0);
}
