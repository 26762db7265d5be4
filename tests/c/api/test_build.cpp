// Building networks and reading their structure back: populations,
// parameters, options, connections, weights, synapses, random connectivity,
// and every refusal on the way.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstring>
#include <limits>
#include <set>

#include "helpers.h"

using namespace snntest;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

snn_population_info pop_info(const Net& net, int32_t pop) {
    snn_population_info info;
    std::memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    EXPECT_SNN_OK(snn_population_info_get(net, pop, &info));
    return info;
}

snn_connection_info conn_info(const Net& net, int32_t conn) {
    snn_connection_info info;
    std::memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    EXPECT_SNN_OK(snn_connection_info_get(net, conn, &info));
    return info;
}

int32_t conn_count(const Net& net) {
    int32_t count = -1;
    EXPECT_SNN_OK(snn_network_connection_count(net, &count));
    return count;
}

int32_t pop_count(const Net& net) {
    int32_t count = -1;
    EXPECT_SNN_OK(snn_network_population_count(net, &count));
    return count;
}

struct Synapses {
    std::vector<int32_t> pre, post, delays;
    std::vector<float> weights;
};

Synapses synapses_of(const Net& net, int32_t conn) {
    Synapses s;
    int64_t count = -1;
    EXPECT_SNN_OK(snn_connection_get_synapses(net, conn, nullptr, nullptr, nullptr, 0, &count));
    s.pre.assign(static_cast<std::size_t>(count), -1);
    s.post.assign(static_cast<std::size_t>(count), -1);
    s.delays.assign(static_cast<std::size_t>(count), -1);
    if (count > 0)
        EXPECT_SNN_OK(snn_connection_get_synapses(net, conn, s.pre.data(), s.post.data(), s.delays.data(), count, &count));
    s.weights = net.weights(conn);
    return s;
}

// The network still accepts a valid call and runs.
void expect_usable(Net& net) {
    int32_t count = 0;
    EXPECT_SNN_OK(snn_network_population_count(net, &count));
    const int64_t before = net.step_count();
    EXPECT_SNN_OK(snn_network_run(net, 2));
    EXPECT_EQ(net.step_count(), before + 2);
}

}  // namespace

// ---------------------------------------------------------------------------
// Populations

TEST(Populations, AddCountFindInfo) {
    Net net;
    EXPECT_EQ(pop_count(net), 0);
    int32_t a = net.source("input", 5);
    int64_t shape[3] = {2, 3, 4};
    int32_t b = -1;
    ASSERT_SNN_OK(snn_network_add_population(net, "conv_layer-1", "lif", 3, shape, &b));
    int32_t c = net.pop("readout", "poisson", 1);
    EXPECT_EQ(a, 0);
    EXPECT_EQ(b, 1);
    EXPECT_EQ(c, 2);
    EXPECT_EQ(pop_count(net), 3);

    snn_population_info info = pop_info(net, a);
    EXPECT_STREQ(info.name, "input");
    EXPECT_STREQ(info.model, "spike_source");
    EXPECT_EQ(info.size, 5);
    EXPECT_EQ(info.ndim, 1);
    EXPECT_EQ(info.shape[0], 5);
    EXPECT_EQ(info.is_input, 1);
    EXPECT_EQ(info.struct_size, sizeof info);

    info = pop_info(net, b);
    EXPECT_STREQ(info.name, "conv_layer-1");
    EXPECT_STREQ(info.model, "lif");
    EXPECT_EQ(info.size, 24);
    EXPECT_EQ(info.ndim, 3);
    EXPECT_EQ(info.shape[0], 2);
    EXPECT_EQ(info.shape[1], 3);
    EXPECT_EQ(info.shape[2], 4);
    EXPECT_EQ(info.is_input, 0);
    EXPECT_EQ(pop_info(net, c).is_input, 1);
    EXPECT_EQ(net.state(b, "v").size(), 24u);

    int32_t found = -1;
    ASSERT_SNN_OK(snn_network_find_population(net, "conv_layer-1", &found));
    EXPECT_EQ(found, b);
    ASSERT_SNN_OK(snn_network_find_population(net, "readout", &found));
    EXPECT_EQ(found, c);
    EXPECT_SNN_ERROR(snn_network_find_population(net, "missing", &found), SNN_NOT_FOUND, "name");
    EXPECT_SNN_ERROR(snn_network_find_population(net, nullptr, &found), SNN_INVALID_ARGUMENT, "name");
    EXPECT_SNN_ERROR(snn_network_find_population(net, "input", nullptr), SNN_INVALID_ARGUMENT, "out_population");
    EXPECT_SNN_ERROR(snn_network_find_population(nullptr, "input", &found), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_network_population_count(nullptr, &found), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_network_population_count(net, nullptr), SNN_INVALID_ARGUMENT, "out_count");
}

TEST(Populations, NamesAreLettersDigitsUnderscoreDash) {
    // docs/conventions.md: 1-255 characters of letters, digits, '_' and '-'
    // (no '.', so "pop.var" strings stay unambiguous).
    Net net;
    std::string longest(255, 'n');
    int64_t n = 2;
    int32_t id = -1;
    EXPECT_SNN_OK(snn_network_add_population(net, longest.c_str(), "lif", 1, &n, &id));
    EXPECT_SNN_OK(snn_network_add_population(net, "Layer_2-b", "lif", 1, &n, &id));
    EXPECT_SNN_ERROR(snn_network_add_population(net, "layer.3", "lif", 1, &n, &id), SNN_INVALID_ARGUMENT, "name");
    int32_t found = -1;
    ASSERT_SNN_OK(snn_network_find_population(net, "Layer_2-b", &found));
    EXPECT_EQ(found, id);
    ASSERT_SNN_OK(snn_network_find_population(net, longest.c_str(), &found));
    EXPECT_EQ(found, 0);
}

TEST(Populations, AddRefusals) {
    Net net;
    int64_t n = 4;
    int32_t id = -7;
    net.lif("taken", 2);
    std::string too_long(256, 'x');
    EXPECT_SNN_ERROR(snn_network_add_population(nullptr, "a", "lif", 1, &n, &id), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_network_add_population(net, nullptr, "lif", 1, &n, &id), SNN_INVALID_ARGUMENT, "name");
    EXPECT_SNN_ERROR(snn_network_add_population(net, "a", nullptr, 1, &n, &id), SNN_INVALID_ARGUMENT, "model");
    EXPECT_SNN_ERROR(snn_network_add_population(net, "a", "lif", 1, nullptr, &id), SNN_INVALID_ARGUMENT, "shape");
    EXPECT_SNN_ERROR(snn_network_add_population(net, "a", "lif", 1, &n, nullptr), SNN_INVALID_ARGUMENT, "out_population");
    EXPECT_SNN_ERROR(snn_network_add_population(net, "", "lif", 1, &n, &id), SNN_INVALID_ARGUMENT, "name");
    EXPECT_SNN_ERROR(snn_network_add_population(net, too_long.c_str(), "lif", 1, &n, &id), SNN_INVALID_ARGUMENT, "name");
    EXPECT_SNN_ERROR(snn_network_add_population(net, "a b", "lif", 1, &n, &id), SNN_INVALID_ARGUMENT, "name");
    EXPECT_SNN_ERROR(snn_network_add_population(net, "a/b", "lif", 1, &n, &id), SNN_INVALID_ARGUMENT, "name");
    EXPECT_SNN_ERROR(snn_network_add_population(net, "taken", "lif", 1, &n, &id), SNN_INVALID_ARGUMENT, "name");
    EXPECT_SNN_ERROR(snn_network_add_population(net, "a", "no_such_model", 1, &n, &id), SNN_NOT_FOUND, "model");
    EXPECT_SNN_ERROR(snn_network_add_population(net, "a", "lif", 0, &n, &id), SNN_SHAPE, "ndim");
    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    EXPECT_SNN_ERROR(snn_network_add_population(net, "a", "lif", 9, nine, &id), SNN_SHAPE, "ndim");
    int64_t zero = 0, negative = -3;
    EXPECT_SNN_ERROR(snn_network_add_population(net, "a", "lif", 1, &zero, &id), SNN_SHAPE, "shape");
    EXPECT_SNN_ERROR(snn_network_add_population(net, "a", "lif", 1, &negative, &id), SNN_SHAPE, "shape");
    int64_t huge[2] = {int64_t(1) << 20, int64_t(1) << 20};
    EXPECT_SNN_ERROR(snn_network_add_population(net, "a", "lif", 2, huge, &id), SNN_SHAPE, "shape");
    // Nothing was added, and the next population takes the next id.
    EXPECT_EQ(pop_count(net), 1);
    ASSERT_SNN_OK(snn_network_add_population(net, "a", "lif", 1, &n, &id));
    EXPECT_EQ(id, 1);
    expect_usable(net);
}

TEST(Populations, InfoRefusalsAndSmallerStruct) {
    Net net;
    int32_t a = net.lif("alpha", 3);
    snn_population_info info;
    info.struct_size = sizeof info;
    EXPECT_SNN_ERROR(snn_population_info_get(net, -1, &info), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_info_get(net, 1, &info), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_info_get(net, a, nullptr), SNN_INVALID_ARGUMENT, "info");
    EXPECT_SNN_ERROR(snn_population_info_get(nullptr, a, &info), SNN_INVALID_ARGUMENT, "network");
    info.struct_size = 0;
    EXPECT_SNN_ERROR(snn_population_info_get(net, a, &info), SNN_INVALID_ARGUMENT, "struct_size");

    // An older caller's struct that ends before `size`: only its bytes are written.
    alignas(snn_population_info) unsigned char bytes[sizeof(snn_population_info)];
    std::memset(bytes, 0xAB, sizeof bytes);
    const uint32_t small = offsetof(snn_population_info, size);
    std::memcpy(bytes, &small, sizeof small);
    ASSERT_SNN_OK(snn_population_info_get(net, a, reinterpret_cast<snn_population_info*>(bytes)));
    snn_population_info partial;
    std::memcpy(&partial, bytes, sizeof partial);
    EXPECT_EQ(partial.struct_size, small);
    EXPECT_STREQ(partial.name, "alpha");
    EXPECT_STREQ(partial.model, "lif");
    for (std::size_t i = small; i < sizeof bytes; ++i) ASSERT_EQ(bytes[i], 0xAB) << "byte " << i;
}

// ---------------------------------------------------------------------------
// Parameters and options

TEST(Params, SetGetAndPerNeuronArrays) {
    Net net;
    int32_t p = net.lif("p", 4);
    int64_t count = -1;
    ASSERT_SNN_OK(snn_population_get_param(net, p, "tau_mem", nullptr, 0, &count));
    EXPECT_EQ(count, 4);
    std::vector<float> values(4, 0.0f);
    ASSERT_SNN_OK(snn_population_get_param(net, p, "tau_mem", values.data(), 4, &count));
    for (float v : values) EXPECT_EQ(v, static_cast<float>(20e-3));

    ASSERT_SNN_OK(snn_population_set_param(net, p, "tau_mem", 12.5e-3));
    ASSERT_SNN_OK(snn_population_get_param(net, p, "tau_mem", values.data(), 4, &count));
    for (float v : values) EXPECT_EQ(v, static_cast<float>(12.5e-3));

    const float per[4] = {-70e-3f, -65e-3f, -60e-3f, -55e-3f};
    ASSERT_SNN_OK(snn_population_set_param_array(net, p, "v_rest", per, 4));
    std::vector<float> big(10, 1.0f);
    ASSERT_SNN_OK(snn_population_get_param(net, p, "v_rest", big.data(), 10, &count));
    EXPECT_EQ(count, 4);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(big[static_cast<std::size_t>(i)], per[i]);
    EXPECT_EQ(big[4], 1.0f) << "wrote past the count";
    // Before the first step, the initial v follows v_rest per neuron.
    std::vector<float> v = net.state(p, "v");
    for (int i = 0; i < 4; ++i) EXPECT_EQ(v[static_cast<std::size_t>(i)], per[i]);
    // Parameters stay writable after the first step.
    net.step();
    EXPECT_SNN_OK(snn_population_set_param(net, p, "v_th", -40e-3));
    ASSERT_SNN_OK(snn_population_get_param(net, p, "v_th", values.data(), 4, &count));
    EXPECT_EQ(values[0], static_cast<float>(-40e-3));
    EXPECT_SNN_OK(snn_population_set_param_array(net, p, "tau_mem", std::vector<float>(4, 10e-3f).data(), 4));
    net.step();
}

TEST(Params, Refusals) {
    Net net;
    int32_t p = net.lif("p", 3);
    int32_t src = net.pop("src", "poisson", 3);
    float values[3] = {1e-3f, 2e-3f, 3e-3f};
    int64_t count = 0;
    EXPECT_SNN_ERROR(snn_population_set_param(nullptr, p, "tau_mem", 1e-3), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_population_set_param(net, 9, "tau_mem", 1e-3), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_set_param(net, -1, "tau_mem", 1e-3), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_set_param(net, p, nullptr, 1e-3), SNN_INVALID_ARGUMENT, "name");
    EXPECT_SNN_ERROR(snn_population_set_param(net, p, "tau_nope", 1e-3), SNN_NOT_FOUND, "tau_nope");
    EXPECT_SNN_ERROR(snn_population_set_param(net, p, "reset", 1.0), SNN_NOT_FOUND, "reset");
    EXPECT_SNN_ERROR(snn_population_set_param(net, p, "tau_mem", std::nan("")), SNN_INVALID_ARGUMENT, "tau_mem");
    EXPECT_SNN_ERROR(snn_population_set_param(net, p, "v_th", HUGE_VAL), SNN_INVALID_ARGUMENT, "v_th");
    EXPECT_SNN_ERROR(snn_population_set_param(net, p, "v_th", -HUGE_VAL), SNN_INVALID_ARGUMENT, "v_th");
    EXPECT_SNN_ERROR(snn_population_set_param(net, p, "tau_mem", -20e-3), SNN_INVALID_ARGUMENT, "tau_mem");
    EXPECT_SNN_ERROR(snn_population_set_param(net, p, "tau_mem", 0.0), SNN_INVALID_ARGUMENT, "tau_mem");
    EXPECT_SNN_ERROR(snn_population_set_param(net, p, "t_ref", -1e-3), SNN_INVALID_ARGUMENT, "t_ref");
    EXPECT_SNN_ERROR(snn_population_set_param(net, src, "rate", -5.0), SNN_INVALID_ARGUMENT, "rate");

    EXPECT_SNN_ERROR(snn_population_set_param_array(nullptr, p, "tau_mem", values, 3), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_population_set_param_array(net, 5, "tau_mem", values, 3), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_set_param_array(net, p, nullptr, values, 3), SNN_INVALID_ARGUMENT, "name");
    EXPECT_SNN_ERROR(snn_population_set_param_array(net, p, "tau_mem", nullptr, 3), SNN_INVALID_ARGUMENT, "values");
    EXPECT_SNN_ERROR(snn_population_set_param_array(net, p, "tau_mem", values, 2), SNN_SHAPE, "values");
    EXPECT_SNN_ERROR(snn_population_set_param_array(net, p, "tau_mem", values, 4), SNN_SHAPE, "values");
    EXPECT_SNN_ERROR(snn_population_set_param_array(net, p, "bogus", values, 3), SNN_NOT_FOUND, "bogus");
    float bad[3] = {1e-3f, kNaN, 1e-3f};
    EXPECT_SNN_ERROR(snn_population_set_param_array(net, p, "tau_mem", bad, 3), SNN_INVALID_ARGUMENT, "tau_mem");
    bad[1] = kInf;
    EXPECT_SNN_ERROR(snn_population_set_param_array(net, p, "v_rest", bad, 3), SNN_INVALID_ARGUMENT, "v_rest");
    bad[1] = -1e-3f;
    EXPECT_SNN_ERROR(snn_population_set_param_array(net, p, "tau_mem", bad, 3), SNN_INVALID_ARGUMENT, "tau_mem");

    EXPECT_SNN_ERROR(snn_population_get_param(nullptr, p, "tau_mem", values, 3, &count), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_population_get_param(net, 3, "tau_mem", values, 3, &count), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_get_param(net, p, nullptr, values, 3, &count), SNN_INVALID_ARGUMENT, "name");
    EXPECT_SNN_ERROR(snn_population_get_param(net, p, "nope", values, 3, &count), SNN_NOT_FOUND, "nope");
    EXPECT_SNN_ERROR(snn_population_get_param(net, p, "tau_mem", values, 2, &count), SNN_SHAPE, "capacity");
    EXPECT_SNN_ERROR(snn_population_get_param(net, p, "tau_mem", values, -1, &count), SNN_INVALID_ARGUMENT, "capacity");
    EXPECT_SNN_ERROR(snn_population_get_param(net, p, "tau_mem", nullptr, 3, &count), SNN_INVALID_ARGUMENT, "out_values");
    EXPECT_SNN_ERROR(snn_population_get_param(net, p, "tau_mem", values, 3, nullptr), SNN_INVALID_ARGUMENT, "out_count");

    // Nothing changed, and the network runs.
    std::vector<float> tau(3);
    ASSERT_SNN_OK(snn_population_get_param(net, p, "tau_mem", tau.data(), 3, &count));
    for (float t : tau) EXPECT_EQ(t, static_cast<float>(20e-3));
    expect_usable(net);
}

TEST(Options, SetGetReset) {
    Net net;
    int32_t p = net.lif("p", 2);
    const char* value = nullptr;
    ASSERT_SNN_OK(snn_population_get_option(net, p, "reset", &value));
    EXPECT_STREQ(value, "value");
    ASSERT_SNN_OK(snn_population_set_option(net, p, "reset", "subtract"));
    ASSERT_SNN_OK(snn_population_get_option(net, p, "reset", &value));
    EXPECT_STREQ(value, "subtract");

    int32_t izh = net.pop("izh", "izhikevich", 2);
    EXPECT_SNN_ERROR(snn_population_set_option(net, p, "reset", "sideways"), SNN_INVALID_ARGUMENT, "value");
    EXPECT_SNN_ERROR(snn_population_set_option(net, p, "reset", ""), SNN_INVALID_ARGUMENT, "value");
    EXPECT_SNN_ERROR(snn_population_set_option(net, p, "reset", "valu"), SNN_INVALID_ARGUMENT, "value");
    EXPECT_SNN_ERROR(snn_population_set_option(net, p, "colour", "red"), SNN_NOT_FOUND, "colour");
    EXPECT_SNN_ERROR(snn_population_set_option(net, izh, "reset", "value"), SNN_NOT_FOUND, "reset");
    EXPECT_SNN_ERROR(snn_population_set_option(net, p, "tau_mem", "value"), SNN_NOT_FOUND, "tau_mem");
    EXPECT_SNN_ERROR(snn_population_set_option(net, p, "reset", nullptr), SNN_INVALID_ARGUMENT, "value");
    EXPECT_SNN_ERROR(snn_population_set_option(net, p, nullptr, "value"), SNN_INVALID_ARGUMENT, "name");
    EXPECT_SNN_ERROR(snn_population_set_option(net, 7, "reset", "value"), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_set_option(nullptr, p, "reset", "value"), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_population_get_option(net, p, "colour", &value), SNN_NOT_FOUND, "colour");
    EXPECT_SNN_ERROR(snn_population_get_option(net, p, nullptr, &value), SNN_INVALID_ARGUMENT, "name");
    EXPECT_SNN_ERROR(snn_population_get_option(net, p, "reset", nullptr), SNN_INVALID_ARGUMENT, "out_value");
    EXPECT_SNN_ERROR(snn_population_get_option(net, -2, "reset", &value), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_get_option(nullptr, p, "reset", &value), SNN_INVALID_ARGUMENT, "network");
    ASSERT_SNN_OK(snn_population_get_option(net, p, "reset", &value));
    EXPECT_STREQ(value, "subtract");
    expect_usable(net);
    // Options stay writable after the first step.
    EXPECT_SNN_OK(snn_population_set_option(net, p, "reset", "value"));
}

// ---------------------------------------------------------------------------
// Connections

TEST(Connections, DenseInfoAndDefaultNames) {
    Net net;
    int32_t a = net.source("a", 2);
    int32_t b = net.lif("b", 3);
    EXPECT_EQ(conn_count(net), 0);
    std::vector<float> w = {1, 2, 3, 4, 5, 6};
    int32_t c0 = net.dense(a, b, w);
    int32_t c1 = net.dense(a, b, w, 4, "exp");
    EXPECT_EQ(c0, 0);
    EXPECT_EQ(c1, 1);
    EXPECT_EQ(conn_count(net), 2);

    snn_connection_info info = conn_info(net, c0);
    EXPECT_EQ(info.struct_size, sizeof info);
    EXPECT_EQ(info.pre, a);
    EXPECT_EQ(info.post, b);
    EXPECT_EQ(info.kind, SNN_CONNECTION_DENSE);
    EXPECT_EQ(info.delay, 1);
    EXPECT_EQ(info.nnz, 6);
    EXPECT_EQ(info.has_synapse_delays, 0);
    EXPECT_STREQ(info.synapse, "delta");
    // A NULL name becomes a default name built from both populations' names,
    // made unique, and itself a valid name (letters, digits, '_', '-').
    ASSERT_NE(info.name, nullptr);
    const std::string name0 = info.name;
    auto valid = [](const std::string& s) {
        if (s.empty() || s.size() > 255) return false;
        for (char ch : s)
            if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-')) return false;
        return true;
    };
    EXPECT_TRUE(valid(name0)) << name0;
    EXPECT_NE(name0.find('a'), std::string::npos) << name0;
    EXPECT_NE(name0.find('b'), std::string::npos) << name0;
    info = conn_info(net, c1);
    EXPECT_STREQ(info.synapse, "exp");
    EXPECT_EQ(info.delay, 4);
    const std::string name1 = info.name;
    EXPECT_NE(name1, name0);
    EXPECT_TRUE(valid(name1)) << name1;
    int32_t found = -1;
    ASSERT_SNN_OK(snn_network_find_connection(net, name0.c_str(), &found));
    EXPECT_EQ(found, c0);
    ASSERT_SNN_OK(snn_network_find_connection(net, name1.c_str(), &found));
    EXPECT_EQ(found, c1);

    snn_connection_options o = Net::conn_options(2, nullptr, "named");
    int32_t c2 = -1;
    ASSERT_SNN_OK(snn_network_connect_dense(net, a, b, w.data(), 6, &o, &c2));
    EXPECT_STREQ(conn_info(net, c2).name, "named");
    ASSERT_SNN_OK(snn_network_find_connection(net, "named", &found));
    EXPECT_EQ(found, c2);
    EXPECT_SNN_ERROR(snn_network_find_connection(net, "unnamed", &found), SNN_NOT_FOUND, "name");
    EXPECT_SNN_ERROR(snn_network_find_connection(net, nullptr, &found), SNN_INVALID_ARGUMENT, "name");
    EXPECT_SNN_ERROR(snn_network_find_connection(net, "named", nullptr), SNN_INVALID_ARGUMENT, "out_connection");
    EXPECT_SNN_ERROR(snn_network_find_connection(nullptr, "named", &found), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_network_connection_count(nullptr, &found), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_network_connection_count(net, nullptr), SNN_INVALID_ARGUMENT, "out_count");

    // Dense weights are [pre][post].
    EXPECT_EQ(net.weights(c0), w);
    Synapses s = synapses_of(net, c0);
    for (int k = 0; k < 6; ++k) {
        EXPECT_EQ(s.pre[static_cast<std::size_t>(k)], k / 3);
        EXPECT_EQ(s.post[static_cast<std::size_t>(k)], k % 3);
        EXPECT_EQ(s.delays[static_cast<std::size_t>(k)], 1);
    }
    EXPECT_EQ(synapses_of(net, c1).delays, std::vector<int32_t>(6, 4));
}

TEST(Connections, InfoRefusalsAndSmallerStruct) {
    Net net;
    int32_t a = net.source("a", 2);
    int32_t b = net.lif("b", 2);
    int32_t c = net.one_to_one(a, b, 1.0f);
    snn_connection_info info;
    info.struct_size = sizeof info;
    EXPECT_SNN_ERROR(snn_connection_info_get(net, 1, &info), SNN_OUT_OF_RANGE, "connection");
    EXPECT_SNN_ERROR(snn_connection_info_get(net, -1, &info), SNN_OUT_OF_RANGE, "connection");
    EXPECT_SNN_ERROR(snn_connection_info_get(net, c, nullptr), SNN_INVALID_ARGUMENT, "info");
    EXPECT_SNN_ERROR(snn_connection_info_get(nullptr, c, &info), SNN_INVALID_ARGUMENT, "network");
    info.struct_size = 2;
    EXPECT_SNN_ERROR(snn_connection_info_get(net, c, &info), SNN_INVALID_ARGUMENT, "struct_size");

    alignas(snn_connection_info) unsigned char bytes[sizeof(snn_connection_info)];
    std::memset(bytes, 0xAB, sizeof bytes);
    const uint32_t small = offsetof(snn_connection_info, kind);
    std::memcpy(bytes, &small, sizeof small);
    ASSERT_SNN_OK(snn_connection_info_get(net, c, reinterpret_cast<snn_connection_info*>(bytes)));
    snn_connection_info partial;
    std::memcpy(&partial, bytes, sizeof partial);
    EXPECT_EQ(partial.struct_size, small);
    EXPECT_EQ(partial.pre, a);
    EXPECT_EQ(partial.post, b);
    for (std::size_t i = small; i < sizeof bytes; ++i) ASSERT_EQ(bytes[i], 0xAB) << "byte " << i;
}

TEST(Connections, DenseRefusals) {
    Net net;
    int32_t a = net.source("a", 2);
    int32_t b = net.lif("b", 3);
    int32_t li = net.pop("readout", "li", 3);
    std::vector<float> w(6, 1e-3f);
    snn_connection_options o = Net::conn_options(1);
    int32_t id = -1;
    EXPECT_SNN_ERROR(snn_network_connect_dense(nullptr, a, b, w.data(), 6, &o, &id), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, a, b, w.data(), 6, &o, nullptr), SNN_INVALID_ARGUMENT, "out_connection");
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, a, b, nullptr, 6, &o, &id), SNN_INVALID_ARGUMENT, "weights");
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, a, b, w.data(), 5, &o, &id), SNN_SHAPE, "weights");
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, a, b, w.data(), 7, &o, &id), SNN_SHAPE, "weights");
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, 17, b, w.data(), 6, &o, &id), SNN_OUT_OF_RANGE, "");
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, a, -1, w.data(), 6, &o, &id), SNN_OUT_OF_RANGE, "");
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, b, a, w.data(), 6, &o, &id), SNN_INVALID_ARGUMENT, "post");
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, li, b, std::vector<float>(9, 0.f).data(), 9, &o, &id),
                     SNN_INVALID_ARGUMENT, "pre");
    std::vector<float> bad = w;
    bad[4] = kNaN;
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, a, b, bad.data(), 6, &o, &id), SNN_INVALID_ARGUMENT, "weights");
    bad[4] = -kInf;
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, a, b, bad.data(), 6, &o, &id), SNN_INVALID_ARGUMENT, "weights");

    snn_connection_options bad_o = Net::conn_options(1, "no_such_synapse");
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, a, b, w.data(), 6, &bad_o, &id), SNN_NOT_FOUND, "synapse");
    bad_o = Net::conn_options(-1);
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, a, b, w.data(), 6, &bad_o, &id), SNN_INVALID_ARGUMENT, "delay");
    bad_o = Net::conn_options(1, nullptr, "bad name!");
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, a, b, w.data(), 6, &bad_o, &id), SNN_INVALID_ARGUMENT, "name");
    bad_o = Net::conn_options(1, nullptr, "");
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, a, b, w.data(), 6, &bad_o, &id), SNN_INVALID_ARGUMENT, "name");
    bad_o = Net::conn_options(1);
    bad_o.struct_size = 0;
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, a, b, w.data(), 6, &bad_o, &id), SNN_INVALID_ARGUMENT, "struct_size");
    snn_connection_options named = Net::conn_options(1, nullptr, "dup");
    ASSERT_SNN_OK(snn_network_connect_dense(net, a, b, w.data(), 6, &named, &id));
    EXPECT_EQ(id, 0);
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, a, b, w.data(), 6, &named, &id), SNN_INVALID_ARGUMENT, "name");
    EXPECT_EQ(conn_count(net), 1);
    // NULL options take the defaults.
    ASSERT_SNN_OK(snn_network_connect_dense(net, a, b, w.data(), 6, nullptr, &id));
    EXPECT_EQ(id, 1);
    EXPECT_EQ(conn_info(net, id).delay, 1);
    EXPECT_STREQ(conn_info(net, id).synapse, "delta");
    expect_usable(net);
}

TEST(Connections, OutOfRangeEndpointsNameTheArgument) {
    // docs/conventions.md: messages start with the argument at fault.
    Net net;
    int32_t a = net.source("a", 2);
    int32_t b = net.lif("b", 2);
    std::vector<float> w(4, 1e-3f);
    const int64_t rows[3] = {0, 1, 2};
    const int32_t post[2] = {0, 1};
    int32_t id = -1;
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, 7, b, w.data(), 4, nullptr, &id), SNN_OUT_OF_RANGE, "pre");
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, a, 7, w.data(), 4, nullptr, &id), SNN_OUT_OF_RANGE, "post");
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, -1, b, 2, rows, post, w.data(), nullptr, nullptr, &id), SNN_OUT_OF_RANGE,
                     "pre");
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, a, -1, 2, rows, post, w.data(), nullptr, nullptr, &id), SNN_OUT_OF_RANGE,
                     "post");
    EXPECT_SNN_ERROR(snn_network_connect_random(net, 2, b, 0.5, 1.0f, 1, nullptr, &id), SNN_OUT_OF_RANGE, "pre");
    EXPECT_SNN_ERROR(snn_network_connect_random(net, a, 2, 0.5, 1.0f, 1, nullptr, &id), SNN_OUT_OF_RANGE, "post");
    EXPECT_SNN_ERROR(snn_network_connect_one_to_one(net, 9, b, nullptr, 0, 1.0f, nullptr, &id), SNN_OUT_OF_RANGE, "pre");
    EXPECT_SNN_ERROR(snn_network_connect_one_to_one(net, a, 9, nullptr, 0, 1.0f, nullptr, &id), SNN_OUT_OF_RANGE, "post");
    EXPECT_EQ(conn_count(net), 0);
    expect_usable(net);
}

TEST(Connections, ZeroDelayCyclesAreRefused) {
    Net net;
    int32_t a = net.lif("a", 2);
    int32_t b = net.lif("b", 2);
    int32_t c = net.lif("c", 2);
    snn_connection_options zero = Net::conn_options(0);
    int32_t id = -1;
    // A self-loop without delay.
    EXPECT_SNN_ERROR(snn_network_connect_one_to_one(net, a, a, nullptr, 0, 1e-3f, &zero, &id), SNN_INVALID_ARGUMENT, "delay");
    // a -> b -> c -> a, all without delay.
    ASSERT_SNN_OK(snn_network_connect_one_to_one(net, a, b, nullptr, 0, 1e-3f, &zero, &id));
    ASSERT_SNN_OK(snn_network_connect_one_to_one(net, b, c, nullptr, 0, 1e-3f, &zero, &id));
    EXPECT_SNN_ERROR(snn_network_connect_one_to_one(net, c, a, nullptr, 0, 1e-3f, &zero, &id), SNN_INVALID_ARGUMENT, "delay");
    // The same cycle through a sparse connection with one zero per-synapse delay.
    const int64_t row_ptr[3] = {0, 1, 2};
    const int32_t post[2] = {0, 1};
    const float w[2] = {1e-3f, 1e-3f};
    const int32_t delays[2] = {3, 0};
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, c, a, 2, row_ptr, post, w, delays, nullptr, &id), SNN_INVALID_ARGUMENT,
                     "delay");
    EXPECT_EQ(conn_count(net), 2);
    // With a delay the loop is allowed.
    snn_connection_options one = Net::conn_options(1);
    ASSERT_SNN_OK(snn_network_connect_one_to_one(net, c, a, nullptr, 0, 1e-3f, &one, &id));
    ASSERT_SNN_OK(snn_network_connect_one_to_one(net, a, a, nullptr, 0, 1e-3f, &one, &id));
    EXPECT_EQ(conn_count(net), 4);
    expect_usable(net);
}

TEST(Connections, SparseWithPerSynapseDelays) {
    Net net;
    int32_t a = net.source("a", 3);
    int32_t b = net.lif("b", 4);
    // Row 0: -> 3, 1; row 1: none; row 2: -> 0, 0 (a duplicate pair), 2.
    const int64_t row_ptr[4] = {0, 2, 2, 5};
    const int32_t post[5] = {3, 1, 0, 0, 2};
    const float w[5] = {0.5f, -0.25f, 1.0f, 2.0f, 3.0f};
    const int32_t delays[5] = {1, 7, 0, 2, 5};
    int32_t with = -1, without = -1;
    snn_connection_options o = Net::conn_options(3);
    ASSERT_SNN_OK(snn_network_connect_sparse(net, a, b, 5, row_ptr, post, w, delays, &o, &with));
    ASSERT_SNN_OK(snn_network_connect_sparse(net, a, b, 5, row_ptr, post, w, nullptr, &o, &without));

    snn_connection_info info = conn_info(net, with);
    EXPECT_EQ(info.kind, SNN_CONNECTION_SPARSE);
    EXPECT_EQ(info.nnz, 5);
    EXPECT_EQ(info.delay, 7) << "the largest per-synapse delay";
    EXPECT_EQ(info.has_synapse_delays, 1);
    Synapses s = synapses_of(net, with);
    EXPECT_EQ(s.pre, (std::vector<int32_t>{0, 0, 2, 2, 2}));
    EXPECT_EQ(s.post, (std::vector<int32_t>{3, 1, 0, 0, 2}));
    EXPECT_EQ(s.delays, (std::vector<int32_t>{1, 7, 0, 2, 5}));
    EXPECT_EQ(s.weights, (std::vector<float>{0.5f, -0.25f, 1.0f, 2.0f, 3.0f}));

    info = conn_info(net, without);
    EXPECT_EQ(info.delay, 3);
    EXPECT_EQ(info.has_synapse_delays, 0);
    EXPECT_EQ(synapses_of(net, without).delays, std::vector<int32_t>(5, 3));

    // Any output array may be NULL.
    std::vector<int32_t> only_post(5, -1);
    int64_t count = 0;
    ASSERT_SNN_OK(snn_connection_get_synapses(net, with, nullptr, only_post.data(), nullptr, 5, &count));
    EXPECT_EQ(only_post, s.post);
    EXPECT_EQ(count, 5);
    std::vector<int32_t> big(8, -9);
    ASSERT_SNN_OK(snn_connection_get_synapses(net, with, big.data(), nullptr, nullptr, 8, &count));
    EXPECT_EQ(big[5], -9) << "wrote past the count";

    // An empty sparse connection.
    const int64_t empty_rows[4] = {0, 0, 0, 0};
    int32_t empty = -1;
    ASSERT_SNN_OK(snn_network_connect_sparse(net, a, b, 0, empty_rows, nullptr, nullptr, nullptr, nullptr, &empty));
    EXPECT_EQ(conn_info(net, empty).nnz, 0);
    EXPECT_TRUE(net.weights(empty).empty());
    expect_usable(net);
}

TEST(Connections, SparseRefusals) {
    Net net;
    int32_t a = net.source("a", 2);
    int32_t b = net.lif("b", 3);
    const int64_t rows[3] = {0, 1, 3};
    const int32_t post[3] = {2, 0, 1};
    const float w[3] = {1e-3f, 2e-3f, 3e-3f};
    int32_t id = -1;
    EXPECT_SNN_ERROR(snn_network_connect_sparse(nullptr, a, b, 3, rows, post, w, nullptr, nullptr, &id), SNN_INVALID_ARGUMENT,
                     "network");
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, a, b, 3, rows, post, w, nullptr, nullptr, nullptr), SNN_INVALID_ARGUMENT,
                     "out_connection");
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, a, b, 3, nullptr, post, w, nullptr, nullptr, &id), SNN_INVALID_ARGUMENT,
                     "row_ptr");
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, a, b, 3, rows, nullptr, w, nullptr, nullptr, &id), SNN_INVALID_ARGUMENT,
                     "post_index");
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, a, b, 3, rows, post, nullptr, nullptr, nullptr, &id), SNN_INVALID_ARGUMENT,
                     "weights");
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, a, b, -1, rows, post, w, nullptr, nullptr, &id), SNN_INVALID_ARGUMENT, "nnz");
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, a, b, 2, rows, post, w, nullptr, nullptr, &id), SNN_SHAPE, "row_ptr");
    const int64_t bad_start[3] = {1, 1, 3};
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, a, b, 3, bad_start, post, w, nullptr, nullptr, &id), SNN_INVALID_ARGUMENT,
                     "row_ptr");
    const int64_t decreasing[3] = {0, 4, 3};
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, a, b, 3, decreasing, post, w, nullptr, nullptr, &id), SNN_INVALID_ARGUMENT,
                     "row_ptr");
    const int32_t out_of_range[3] = {2, 3, 1};
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, a, b, 3, rows, out_of_range, w, nullptr, nullptr, &id), SNN_OUT_OF_RANGE,
                     "post_index");
    const int32_t negative[3] = {2, -1, 1};
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, a, b, 3, rows, negative, w, nullptr, nullptr, &id), SNN_OUT_OF_RANGE,
                     "post_index");
    const float nan_w[3] = {1e-3f, kNaN, 0.0f};
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, a, b, 3, rows, post, nan_w, nullptr, nullptr, &id), SNN_INVALID_ARGUMENT,
                     "weights");
    const int32_t bad_delays[3] = {1, -2, 1};
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, a, b, 3, rows, post, w, bad_delays, nullptr, &id), SNN_INVALID_ARGUMENT,
                     "delays");
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, 5, b, 3, rows, post, w, nullptr, nullptr, &id), SNN_OUT_OF_RANGE, "");
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, a, 5, 3, rows, post, w, nullptr, nullptr, &id), SNN_OUT_OF_RANGE, "");
    EXPECT_EQ(conn_count(net), 0);
    ASSERT_SNN_OK(snn_network_connect_sparse(net, a, b, 3, rows, post, w, nullptr, nullptr, &id));
    EXPECT_EQ(id, 0);
    expect_usable(net);
}

TEST(Connections, OneToOne) {
    Net net;
    int32_t a = net.source("a", 3);
    int32_t b = net.lif("b", 3);
    int32_t c4 = net.lif("c", 4);
    const float w[3] = {0.1f, 0.2f, 0.3f};
    int32_t per = -1, shared = -1;
    ASSERT_SNN_OK(snn_network_connect_one_to_one(net, a, b, w, 3, 0.0f, nullptr, &per));
    ASSERT_SNN_OK(snn_network_connect_one_to_one(net, a, b, nullptr, 0, 0.75f, nullptr, &shared));
    snn_connection_info info = conn_info(net, per);
    EXPECT_EQ(info.kind, SNN_CONNECTION_ONE_TO_ONE);
    EXPECT_EQ(info.nnz, 3);
    Synapses s = synapses_of(net, per);
    EXPECT_EQ(s.pre, (std::vector<int32_t>{0, 1, 2}));
    EXPECT_EQ(s.post, (std::vector<int32_t>{0, 1, 2}));
    EXPECT_EQ(s.weights, (std::vector<float>{0.1f, 0.2f, 0.3f}));
    EXPECT_EQ(net.weights(shared), std::vector<float>(3, 0.75f));

    int32_t id = -1;
    EXPECT_SNN_ERROR(snn_network_connect_one_to_one(net, a, c4, nullptr, 0, 1.0f, nullptr, &id), SNN_SHAPE, "post");
    EXPECT_SNN_ERROR(snn_network_connect_one_to_one(net, a, b, w, 2, 0.0f, nullptr, &id), SNN_SHAPE, "weights");
    EXPECT_SNN_ERROR(snn_network_connect_one_to_one(net, a, b, nullptr, 3, 1.0f, nullptr, &id), SNN_INVALID_ARGUMENT, "weights");
    EXPECT_SNN_ERROR(snn_network_connect_one_to_one(net, a, b, nullptr, 0, kNaN, nullptr, &id), SNN_INVALID_ARGUMENT, "weight");
    EXPECT_SNN_ERROR(snn_network_connect_one_to_one(net, a, b, nullptr, 0, kInf, nullptr, &id), SNN_INVALID_ARGUMENT, "weight");
    const float bad[3] = {0.0f, kNaN, 0.0f};
    EXPECT_SNN_ERROR(snn_network_connect_one_to_one(net, a, b, bad, 3, 0.0f, nullptr, &id), SNN_INVALID_ARGUMENT, "weights");
    EXPECT_SNN_ERROR(snn_network_connect_one_to_one(net, a, b, nullptr, 0, 1.0f, nullptr, nullptr), SNN_INVALID_ARGUMENT,
                     "out_connection");
    EXPECT_SNN_ERROR(snn_network_connect_one_to_one(nullptr, a, b, nullptr, 0, 1.0f, nullptr, &id), SNN_INVALID_ARGUMENT,
                     "network");
    EXPECT_SNN_ERROR(snn_network_connect_one_to_one(net, 9, b, nullptr, 0, 1.0f, nullptr, &id), SNN_OUT_OF_RANGE, "");
    EXPECT_EQ(conn_count(net), 2);
    expect_usable(net);
}

TEST(Connections, RandomIsDeterministicAndHasTheExpectedDensity) {
    Net net;
    const int64_t n_pre = 200, n_post = 150;
    const double p = 0.1;
    int32_t a = net.pop("a", "poisson", n_pre);
    int32_t b = net.lif("b", n_post);
    int32_t c1 = -1, c2 = -1, c3 = -1;
    ASSERT_SNN_OK(snn_network_connect_random(net, a, b, p, 0.5e-3f, 1234, nullptr, &c1));
    ASSERT_SNN_OK(snn_network_connect_random(net, a, b, p, 0.5e-3f, 1234, nullptr, &c2));
    ASSERT_SNN_OK(snn_network_connect_random(net, a, b, p, 0.5e-3f, 4321, nullptr, &c3));
    Synapses s1 = synapses_of(net, c1), s2 = synapses_of(net, c2), s3 = synapses_of(net, c3);
    EXPECT_EQ(s1.pre, s2.pre);
    EXPECT_EQ(s1.post, s2.post);
    EXPECT_TRUE(s1.pre != s3.pre || s1.post != s3.post) << "another seed gave the same synapses";

    // The count is Binomial(n_pre * n_post, p); 6 standard deviations never fail
    // by chance for these fixed seeds and are far tighter than any bias.
    const double mean = p * n_pre * n_post;
    const double sd = std::sqrt(mean * (1 - p));
    for (const Synapses* s : {&s1, &s3}) {
        const double nnz = static_cast<double>(s->weights.size());
        EXPECT_NEAR(nnz, mean, 6 * sd);
        // CSR order: rows ascending, no duplicate (pre, post) pair, all in range.
        for (std::size_t k = 0; k < s->pre.size(); ++k) {
            EXPECT_GE(s->post[k], 0);
            EXPECT_LT(s->post[k], n_post);
            EXPECT_EQ(s->weights[k], 0.5e-3f);
            EXPECT_EQ(s->delays[k], 1);
            if (k > 0) {
                ASSERT_LE(s->pre[k - 1], s->pre[k]);
                if (s->pre[k - 1] == s->pre[k]) {
                    ASSERT_LT(s->post[k - 1], s->post[k]);
                }
            }
        }
        // Every presynaptic neuron's out-degree is plausible (Binomial(n_post, p)).
        std::vector<int> degree(static_cast<std::size_t>(n_pre), 0);
        for (int32_t i : s->pre) ++degree[static_cast<std::size_t>(i)];
        const double dm = p * n_post, dsd = std::sqrt(dm * (1 - p));
        for (int d : degree) EXPECT_LE(std::fabs(d - dm), 7 * dsd);
    }
    snn_connection_info info = conn_info(net, c1);
    EXPECT_EQ(info.kind, SNN_CONNECTION_SPARSE);

    int32_t none = -1, all = -1;
    ASSERT_SNN_OK(snn_network_connect_random(net, a, b, 0.0, 1.0f, 1, nullptr, &none));
    ASSERT_SNN_OK(snn_network_connect_random(net, a, b, 1.0, 1.0f, 1, nullptr, &all));
    EXPECT_EQ(conn_info(net, none).nnz, 0);
    EXPECT_EQ(conn_info(net, all).nnz, n_pre * n_post);

    int32_t id = -1;
    EXPECT_SNN_ERROR(snn_network_connect_random(net, a, b, -0.1, 1.0f, 1, nullptr, &id), SNN_INVALID_ARGUMENT, "p");
    EXPECT_SNN_ERROR(snn_network_connect_random(net, a, b, 1.5, 1.0f, 1, nullptr, &id), SNN_INVALID_ARGUMENT, "p");
    EXPECT_SNN_ERROR(snn_network_connect_random(net, a, b, std::nan(""), 1.0f, 1, nullptr, &id), SNN_INVALID_ARGUMENT, "p");
    EXPECT_SNN_ERROR(snn_network_connect_random(net, a, b, 0.5, kNaN, 1, nullptr, &id), SNN_INVALID_ARGUMENT, "weight");
    EXPECT_SNN_ERROR(snn_network_connect_random(net, a, b, 0.5, 1.0f, 1, nullptr, nullptr), SNN_INVALID_ARGUMENT,
                     "out_connection");
    EXPECT_SNN_ERROR(snn_network_connect_random(nullptr, a, b, 0.5, 1.0f, 1, nullptr, &id), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_network_connect_random(net, a, 8, 0.5, 1.0f, 1, nullptr, &id), SNN_OUT_OF_RANGE, "");
    EXPECT_SNN_ERROR(snn_network_connect_random(net, b, a, 0.5, 1.0f, 1, nullptr, &id), SNN_INVALID_ARGUMENT, "post");
    EXPECT_EQ(conn_count(net), 5);
    expect_usable(net);
}

TEST(Connections, RandomIsTheSameInAnotherNetwork) {
    // The same seed gives the same synapses whatever else the network holds.
    Net n1, n2;
    int32_t a1 = n1.pop("a", "poisson", 50), b1 = n1.lif("b", 40);
    n2.lif("other", 7);
    int32_t a2 = n2.pop("a", "poisson", 50), b2 = n2.lif("b", 40);
    int32_t c1 = -1, c2 = -1;
    ASSERT_SNN_OK(snn_network_connect_random(n1, a1, b1, 0.2, 1.0f, 99, nullptr, &c1));
    ASSERT_SNN_OK(snn_network_connect_random(n2, a2, b2, 0.2, 1.0f, 99, nullptr, &c2));
    Synapses s1 = synapses_of(n1, c1), s2 = synapses_of(n2, c2);
    EXPECT_EQ(s1.pre, s2.pre);
    EXPECT_EQ(s1.post, s2.post);
}

TEST(Connections, ParamsOfSynapses) {
    Net net;
    int32_t a = net.source("a", 2);
    int32_t b = net.lif("b", 2);
    int32_t delta = net.one_to_one(a, b, 1.0f);
    int32_t exp = net.one_to_one(a, b, 1.0f, 1, "exp");
    int32_t cond = net.one_to_one(a, b, 1.0f, 1, "cond_exp");
    double value = 0;
    ASSERT_SNN_OK(snn_connection_get_param(net, exp, "tau", &value));
    EXPECT_EQ(value, static_cast<double>(static_cast<float>(5e-3)));  // stored as float32
    ASSERT_SNN_OK(snn_connection_set_param(net, exp, "tau", 8e-3));
    ASSERT_SNN_OK(snn_connection_get_param(net, exp, "tau", &value));
    EXPECT_EQ(value, static_cast<double>(static_cast<float>(8e-3)));  // stored as float32
    ASSERT_SNN_OK(snn_connection_set_param(net, cond, "e_rev", -80e-3));
    ASSERT_SNN_OK(snn_connection_get_param(net, cond, "e_rev", &value));
    EXPECT_EQ(value, static_cast<double>(static_cast<float>(-80e-3)));  // stored as float32

    EXPECT_SNN_ERROR(snn_connection_set_param(net, delta, "tau", 1e-3), SNN_NOT_FOUND, "tau");
    EXPECT_SNN_ERROR(snn_connection_set_param(net, exp, "e_rev", 0.0), SNN_NOT_FOUND, "e_rev");
    EXPECT_SNN_ERROR(snn_connection_set_param(net, exp, "tau", -1e-3), SNN_INVALID_ARGUMENT, "tau");
    EXPECT_SNN_ERROR(snn_connection_set_param(net, exp, "tau", 0.0), SNN_INVALID_ARGUMENT, "tau");
    EXPECT_SNN_ERROR(snn_connection_set_param(net, exp, "tau", std::nan("")), SNN_INVALID_ARGUMENT, "tau");
    EXPECT_SNN_ERROR(snn_connection_set_param(net, cond, "e_rev", HUGE_VAL), SNN_INVALID_ARGUMENT, "e_rev");
    EXPECT_SNN_ERROR(snn_connection_set_param(net, cond, nullptr, 0.0), SNN_INVALID_ARGUMENT, "name");
    EXPECT_SNN_ERROR(snn_connection_set_param(net, 3, "tau", 1e-3), SNN_OUT_OF_RANGE, "connection");
    EXPECT_SNN_ERROR(snn_connection_set_param(nullptr, exp, "tau", 1e-3), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_connection_get_param(net, exp, "nope", &value), SNN_NOT_FOUND, "nope");
    EXPECT_SNN_ERROR(snn_connection_get_param(net, exp, nullptr, &value), SNN_INVALID_ARGUMENT, "name");
    EXPECT_SNN_ERROR(snn_connection_get_param(net, exp, "tau", nullptr), SNN_INVALID_ARGUMENT, "out_value");
    EXPECT_SNN_ERROR(snn_connection_get_param(net, -1, "tau", &value), SNN_OUT_OF_RANGE, "connection");
    EXPECT_SNN_ERROR(snn_connection_get_param(nullptr, exp, "tau", &value), SNN_INVALID_ARGUMENT, "network");
    ASSERT_SNN_OK(snn_connection_get_param(net, exp, "tau", &value));
    EXPECT_EQ(value, static_cast<double>(static_cast<float>(8e-3)));  // stored as float32
    expect_usable(net);
    // Still writable after the first step.
    EXPECT_SNN_OK(snn_connection_set_param(net, exp, "tau", 3e-3));
}

TEST(Connections, WeightsRoundTrip) {
    Net net;
    int32_t a = net.source("a", 3);
    int32_t b = net.lif("b", 2);
    int32_t c = net.dense(a, b, {1, 2, 3, 4, 5, 6});
    const std::vector<float> w = {-1.5f, 0.0f, 2.25f, 1e-3f, -7.0f, 3.0f};
    ASSERT_SNN_OK(snn_connection_set_weights(net, c, w.data(), 6));
    EXPECT_EQ(net.weights(c), w);

    std::vector<float> out(6);
    int64_t count = 0;
    EXPECT_SNN_ERROR(snn_connection_get_weights(net, c, out.data(), 5, &count), SNN_SHAPE, "capacity");
    EXPECT_SNN_ERROR(snn_connection_get_weights(net, c, nullptr, 6, &count), SNN_INVALID_ARGUMENT, "out_weights");
    EXPECT_SNN_ERROR(snn_connection_get_weights(net, c, out.data(), 6, nullptr), SNN_INVALID_ARGUMENT, "out_count");
    EXPECT_SNN_ERROR(snn_connection_get_weights(net, c, out.data(), -6, &count), SNN_INVALID_ARGUMENT, "capacity");
    EXPECT_SNN_ERROR(snn_connection_get_weights(net, 1, out.data(), 6, &count), SNN_OUT_OF_RANGE, "connection");
    EXPECT_SNN_ERROR(snn_connection_get_weights(nullptr, c, out.data(), 6, &count), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_connection_set_weights(net, c, w.data(), 5), SNN_SHAPE, "weights");
    EXPECT_SNN_ERROR(snn_connection_set_weights(net, c, nullptr, 6), SNN_INVALID_ARGUMENT, "weights");
    EXPECT_SNN_ERROR(snn_connection_set_weights(net, 2, w.data(), 6), SNN_OUT_OF_RANGE, "connection");
    EXPECT_SNN_ERROR(snn_connection_set_weights(nullptr, c, w.data(), 6), SNN_INVALID_ARGUMENT, "network");
    std::vector<float> bad = w;
    bad[5] = kNaN;
    EXPECT_SNN_ERROR(snn_connection_set_weights(net, c, bad.data(), 6), SNN_INVALID_ARGUMENT, "weights");
    EXPECT_EQ(net.weights(c), w) << "a refused set changed the weights";

    int64_t syn_count = 0;
    std::vector<int32_t> pre(6);
    EXPECT_SNN_ERROR(snn_connection_get_synapses(net, c, pre.data(), nullptr, nullptr, 5, &syn_count), SNN_SHAPE, "capacity");
    EXPECT_SNN_ERROR(snn_connection_get_synapses(net, c, pre.data(), nullptr, nullptr, 6, nullptr), SNN_INVALID_ARGUMENT,
                     "out_count");
    EXPECT_SNN_ERROR(snn_connection_get_synapses(net, c, pre.data(), nullptr, nullptr, -1, &syn_count), SNN_INVALID_ARGUMENT,
                     "capacity");
    EXPECT_SNN_ERROR(snn_connection_get_synapses(net, 4, pre.data(), nullptr, nullptr, 6, &syn_count), SNN_OUT_OF_RANGE,
                     "connection");
    EXPECT_SNN_ERROR(snn_connection_get_synapses(nullptr, c, pre.data(), nullptr, nullptr, 6, &syn_count), SNN_INVALID_ARGUMENT,
                     "network");

    // Weights stay writable after the first step, and take effect.
    net.step();
    const std::vector<float> w2(6, 0.5f);
    ASSERT_SNN_OK(snn_connection_set_weights(net, c, w2.data(), 6));
    EXPECT_EQ(net.weights(c), w2);
    expect_usable(net);
}

// weight_dtype bfloat16: the weights become the nearest bfloat16 numbers
// (ties to even) when the option is set, when weights are set and when a
// connection is made with it; float32 again keeps them as they are.
TEST(Connections, BfloatWeightsAreRoundedToNearestEven) {
    Net net;
    int32_t a = net.source("a", 3);
    int32_t b = net.lif("b", 2);
    // 1 + 2^-8 is a tie (rounds down to 1, even); 1 + 3 * 2^-8 rounds up to
    // 1 + 2^-6; 1 + 2^-8 + 2^-20 is past the tie (up to 1 + 2^-7).
    const std::vector<float> w = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, -(1.0f + 0x1p-8f + 0x1p-20f), 0.1f, 0.0f, -0.0f};
    const std::vector<float> rounded = {1.0f, 1.0f + 0x1p-6f, -(1.0f + 0x1p-7f), 0.10009765625f, 0.0f, -0.0f};
    int32_t c = net.dense(a, b, w);
    const char* value = nullptr;
    ASSERT_SNN_OK(snn_connection_get_option(net, c, "weight_dtype", &value));
    EXPECT_STREQ(value, "float32");
    ASSERT_SNN_OK(snn_connection_set_option(net, c, "weight_dtype", "bfloat16"));
    ASSERT_SNN_OK(snn_connection_get_option(net, c, "weight_dtype", &value));
    EXPECT_STREQ(value, "bfloat16");
    std::vector<float> got = net.weights(c);
    EXPECT_EQ(0, std::memcmp(got.data(), rounded.data(), rounded.size() * sizeof(float)));
    ASSERT_SNN_OK(snn_connection_set_weights(net, c, w.data(), 6));
    got = net.weights(c);
    EXPECT_EQ(0, std::memcmp(got.data(), rounded.data(), rounded.size() * sizeof(float)));
    ASSERT_SNN_OK(snn_connection_set_option(net, c, "weight_dtype", "float32"));
    ASSERT_SNN_OK(snn_connection_set_weights(net, c, w.data(), 6));
    EXPECT_EQ(net.weights(c), w);

    snn_connection_options o;
    snn_connection_options_init(&o, sizeof o);
    EXPECT_EQ(o.weight_dtype, nullptr);
    o.weight_dtype = "bfloat16";
    int32_t c2 = -1;
    ASSERT_SNN_OK(snn_network_connect_dense(net, a, b, w.data(), 6, &o, &c2));
    got = net.weights(c2);
    EXPECT_EQ(0, std::memcmp(got.data(), rounded.data(), rounded.size() * sizeof(float)));

    EXPECT_SNN_ERROR(snn_connection_set_option(net, c, "weight_dtype", "float16"), SNN_INVALID_ARGUMENT, "float32|bfloat16");
    EXPECT_SNN_ERROR(snn_connection_set_option(net, c, "precision", "float32"), SNN_NOT_FOUND, "weight_dtype");
    EXPECT_SNN_ERROR(snn_connection_set_option(net, 7, "weight_dtype", "float32"), SNN_OUT_OF_RANGE, "connection");
    EXPECT_SNN_ERROR(snn_connection_set_option(nullptr, c, "weight_dtype", "float32"), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_connection_set_option(net, c, nullptr, "float32"), SNN_INVALID_ARGUMENT, "name");
    EXPECT_SNN_ERROR(snn_connection_set_option(net, c, "weight_dtype", nullptr), SNN_INVALID_ARGUMENT, "value");
    EXPECT_SNN_ERROR(snn_connection_get_option(net, c, "weight_dtype", nullptr), SNN_INVALID_ARGUMENT, "out_value");
    o.weight_dtype = "int8";
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, a, b, w.data(), 6, &o, &c2), SNN_INVALID_ARGUMENT, "weight_dtype");
    // A weight past bfloat16's largest finite value is refused, and nothing changes.
    const std::vector<float> huge = {3.4e38f, 1, 1, 1, 1, 1};
    ASSERT_SNN_OK(snn_connection_set_weights(net, c, huge.data(), 6));
    EXPECT_SNN_ERROR(snn_connection_set_option(net, c, "weight_dtype", "bfloat16"), SNN_INVALID_ARGUMENT, "bfloat16");
    EXPECT_EQ(net.weights(c), huge);
    ASSERT_SNN_OK(snn_connection_get_option(net, c, "weight_dtype", &value));
    EXPECT_STREQ(value, "float32");
    expect_usable(net);
}

TEST(Build, StructureIsFrozenAfterTheFirstRun) {
    Net net;
    int32_t a = net.source("a", 2);
    int32_t b = net.lif("b", 2);
    int32_t c = net.one_to_one(a, b, 1e-3f);
    net.step();
    int64_t n = 2;
    int32_t id = -1;
    std::vector<float> w(4, 1e-3f);
    const int64_t rows[3] = {0, 1, 2};
    const int32_t post[2] = {0, 1};
    EXPECT_SNN_ERROR(snn_network_add_population(net, "late", "lif", 1, &n, &id), SNN_STATE, "add_population");
    EXPECT_SNN_ERROR(snn_network_connect_dense(net, a, b, w.data(), 4, nullptr, &id), SNN_STATE, "connect");
    EXPECT_SNN_ERROR(snn_network_connect_sparse(net, a, b, 2, rows, post, w.data(), nullptr, nullptr, &id), SNN_STATE, "connect");
    EXPECT_SNN_ERROR(snn_network_connect_random(net, a, b, 0.5, 1.0f, 3, nullptr, &id), SNN_STATE, "connect");
    EXPECT_SNN_ERROR(snn_network_connect_one_to_one(net, a, b, nullptr, 0, 1.0f, nullptr, &id), SNN_STATE, "connect");
    EXPECT_EQ(pop_count(net), 2);
    EXPECT_EQ(conn_count(net), 1);
    // After a reset the structure is still fixed.
    net.reset();
    EXPECT_SNN_ERROR(snn_network_add_population(net, "late", "lif", 1, &n, &id), SNN_STATE, "add_population");
    // Parameters, weights and state stay writable.
    EXPECT_SNN_OK(snn_population_set_param(net, b, "tau_mem", 5e-3));
    EXPECT_SNN_OK(snn_population_set_option(net, b, "reset", "subtract"));
    EXPECT_SNN_OK(snn_connection_set_weights(net, c, w.data(), 2));
    net.write(b, "v", {-60e-3f, -61e-3f});
    expect_usable(net);
}

TEST(Build, IdsOfAnotherNetworkAreRangeChecked) {
    Net small, big;
    small.lif("only", 2);
    for (int i = 0; i < 5; ++i) big.lif(("p" + std::to_string(i)).c_str(), 2);
    snn_population_info info;
    info.struct_size = sizeof info;
    EXPECT_SNN_ERROR(snn_population_info_get(small, 4, &info), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_info_get(small, INT32_MAX, &info), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_info_get(small, INT32_MIN, &info), SNN_OUT_OF_RANGE, "population");
    expect_usable(small);
}
