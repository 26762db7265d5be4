// Learning rules through the C API alone (docs/models.md, "Plasticity"): the
// registry, options and parameters of a plastic connection, one pair of
// spikes worked out by hand, the traces as connection state, the modulator
// model, and every refusal with its status. tests/python/test_plasticity.py
// checks the rules against NumPy over long random spike trains.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "helpers.h"

using namespace snntest;

namespace {

std::vector<float> weights(snn_network* net, int32_t conn) {
    int64_t count = 0;
    EXPECT_SNN_OK(snn_connection_get_weights(net, conn, nullptr, 0, &count));
    std::vector<float> w(static_cast<std::size_t>(count));
    EXPECT_SNN_OK(snn_connection_get_weights(net, conn, w.data(), count, &count));
    return w;
}

std::vector<float> state(snn_network* net, int32_t conn, const char* var) {
    int64_t count = 0;
    EXPECT_SNN_OK(snn_connection_read_state(net, conn, var, nullptr, 0, &count));
    std::vector<float> v(static_cast<std::size_t>(count));
    EXPECT_SNN_OK(snn_connection_read_state(net, conn, var, v.data(), count, &count));
    return v;
}

// One step with the given spike sources' inputs (1 = spike).
void step(Net& net, int32_t source, std::vector<float> spikes) {
    Tensor t(spikes.data(), SNN_DTYPE_FLOAT32, {1, static_cast<int64_t>(spikes.size())});
    ASSERT_SNN_OK(snn_population_set_input(net, source, t.get()));
    ASSERT_SNN_OK(snn_network_step(net));
}

}  // namespace

TEST(Plasticity, RegistryListsTheRules) {
    const char* names[16];
    int32_t count = 0;
    ASSERT_SNN_OK(snn_model_list(SNN_MODEL_PLASTICITY, names, 16, &count));
    std::vector<std::string> rules(names, names + count);
    for (const char* r : {"stdp", "triplet", "rstdp"}) EXPECT_NE(std::find(rules.begin(), rules.end(), r), rules.end()) << r;
    snn_param_info infos[16];
    infos[0].struct_size = sizeof(snn_param_info);
    ASSERT_SNN_OK(snn_model_params(SNN_MODEL_PLASTICITY, "stdp", infos, 16, &count));
    bool pairing = false;
    for (int32_t k = 0; k < count; ++k) pairing = pairing || (std::strcmp(infos[k].name, "pairing") == 0 && infos[k].kind == SNN_PARAM_STRING);
    EXPECT_TRUE(pairing);
    EXPECT_SNN_ERROR(snn_model_params(SNN_MODEL_PLASTICITY, "lif", infos, 16, &count), SNN_NOT_FOUND, "plasticity rule");
}

TEST(Plasticity, OnePairByHand) {
    // Two inputs onto one neuron that input 1 makes spike at once (weight
    // far above the threshold, learning bounded by w_max). Input 0 spikes in
    // step 0, input 1 (and so the neuron) in step 3; delay 1 (so the neuron
    // spikes in step 4): potentiation of w0 by a_plus * exp(-4 dt / tau_plus).
    for (const char* backend : {"reference", "cpu"}) {
        snn_context_options co;
        ASSERT_SNN_OK(snn_context_options_init(&co, sizeof co));
        co.backend = backend;
        Context ctx(co);
        NetOptions o;
        o.dt = 1e-3;
        Net net(o, ctx.get());
        const int32_t in = net.source("in", 2);
        const int32_t out = net.pop("out", "lif", 1);
        ASSERT_SNN_OK(snn_population_set_param(net, out, "v_rest", 0.0));
        ASSERT_SNN_OK(snn_population_set_param(net, out, "v_reset", 0.0));
        ASSERT_SNN_OK(snn_population_set_param(net, out, "v_th", 1.0));
        const int32_t c = net.dense(in, out, {0.5f, 5.0f});
        ASSERT_SNN_OK(snn_connection_set_option(net, c, "plasticity", "stdp"));
        ASSERT_SNN_OK(snn_connection_set_param(net, c, "w_max", 10.0));
        ASSERT_SNN_OK(snn_connection_set_param(net, c, "a_plus", 0.25));
        ASSERT_SNN_OK(snn_connection_set_param(net, c, "a_minus", 0.125));
        const char* value = nullptr;
        ASSERT_SNN_OK(snn_connection_get_option(net, c, "plasticity", &value));
        EXPECT_STREQ(value, "stdp");
        ASSERT_SNN_OK(snn_connection_get_option(net, c, "learning", &value));
        EXPECT_STREQ(value, "on");

        step(net, in, {1, 0});  // step 0: presynaptic event of input 0 (no postsynaptic trace yet)
        step(net, in, {0, 0});
        step(net, in, {0, 0});
        step(net, in, {0, 1});  // step 3: input 1's event: depression by x_post = 0
        std::vector<float> w = weights(net, c);
        EXPECT_EQ(w[0], 0.5f) << backend;
        EXPECT_EQ(w[1], 5.0f) << backend;
        step(net, in, {0, 0});  // step 4: the neuron spikes
        const float d = static_cast<float>(std::exp(-1e-3 / static_cast<double>(20e-3f)));
        const float x0 = 1.0f * d * d * d * d, x1 = 1.0f * d;  // the presynaptic traces in step 4
        w = weights(net, c);
        EXPECT_EQ(w[0], 0.5f + 0.25f * x0) << backend;
        EXPECT_EQ(w[1], 5.0f + 0.25f * x1) << backend;
        std::vector<float> x_pre = state(net, c, "x_pre"), x_post = state(net, c, "x_post");
        ASSERT_EQ(x_pre.size(), 2u);
        ASSERT_EQ(x_post.size(), 1u);
        EXPECT_EQ(x_pre[0], x0);
        EXPECT_EQ(x_post[0], 1.0f);
        // Frozen: no change, traces still run.
        ASSERT_SNN_OK(snn_connection_set_option(net, c, "learning", "off"));
        step(net, in, {1, 0});
        EXPECT_EQ(weights(net, c), w);
        EXPECT_EQ(state(net, c, "x_pre")[0], x0 * d + 1.0f);
    }
}

TEST(Plasticity, ModulatorTakesInputAndSpikes) {
    Net net;
    const int32_t da = net.source("da", 1);
    const int32_t mod = net.pop("dopamine", "modulator", 1);
    ASSERT_SNN_OK(snn_population_set_param(net, mod, "tau", 0.0));  // m = this step's arrivals and input
    net.dense(da, mod, {2.0f}, 3);
    float reward = 0.5f;
    Tensor t(&reward, SNN_DTYPE_FLOAT32, {1, 1});
    ASSERT_SNN_OK(snn_population_set_input(net, mod, t.get()));
    step(net, da, {1});  // step 0: the spike arrives in step 3
    float m = 0;
    int64_t count = 0;
    ASSERT_SNN_OK(snn_population_read_state(net, mod, "m", &m, 1, &count));
    EXPECT_EQ(m, 0.5f);
    step(net, da, {0});
    step(net, da, {0});
    ASSERT_SNN_OK(snn_population_read_state(net, mod, "m", &m, 1, &count));
    EXPECT_EQ(m, 0.0f);
    step(net, da, {0});
    ASSERT_SNN_OK(snn_population_read_state(net, mod, "m", &m, 1, &count));
    EXPECT_EQ(m, 2.0f);
    // Only delta synapses reach a modulator.
    Net other;
    const int32_t src = other.source("src", 1);
    const int32_t m2 = other.pop("m", "modulator", 1);
    snn_connection_options o;
    ASSERT_SNN_OK(snn_connection_options_init(&o, sizeof o));
    o.synapse = "exp";
    float w = 1.0f;
    int32_t id = -1;
    EXPECT_SNN_ERROR(snn_network_connect_dense(other, src, m2, &w, 1, &o, &id), SNN_INVALID_ARGUMENT, "delta");
}

TEST(Plasticity, Refusals) {
    Net net;
    const int32_t in = net.source("in", 2);
    const int32_t cur = net.pop("cur", "current_source", 2);
    const int32_t out = net.lif("out", 2);
    const int32_t c = net.dense(in, out, {1, 1, 1, 1});
    const int32_t g = net.dense(cur, out, {1, 1, 1, 1});
    EXPECT_SNN_ERROR(snn_connection_set_option(net, c, "plasticity", "hebb"), SNN_NOT_FOUND, "hebb");
    EXPECT_SNN_ERROR(snn_connection_set_option(net, g, "plasticity", "stdp"), SNN_INVALID_ARGUMENT, "does not spike");
    EXPECT_SNN_ERROR(snn_connection_set_option(net, c, "learning", "off"), SNN_NOT_FOUND, "learning");
    EXPECT_SNN_ERROR(snn_connection_set_param(net, c, "a_plus", 1.0), SNN_NOT_FOUND, "a_plus");
    ASSERT_SNN_OK(snn_connection_set_option(net, c, "plasticity", "stdp"));
    EXPECT_SNN_ERROR(snn_connection_set_param(net, c, "tau_plus", -1.0), SNN_INVALID_ARGUMENT, "tau_plus");
    EXPECT_SNN_ERROR(snn_connection_set_param(net, c, "mu_plus", -0.5), SNN_INVALID_ARGUMENT, "mu_plus");
    EXPECT_SNN_ERROR(snn_connection_set_param(net, c, "w_min", 1.0), SNN_INVALID_ARGUMENT, "w_min");
    EXPECT_SNN_ERROR(snn_connection_set_param(net, c, "a_plus", NAN), SNN_INVALID_ARGUMENT, "a_plus");
    EXPECT_SNN_ERROR(snn_connection_set_option(net, c, "pairing", "some"), SNN_INVALID_ARGUMENT, "all_to_all|nearest");
    EXPECT_SNN_ERROR(snn_connection_set_option(net, c, "weight_dtype", "bfloat16"), SNN_INVALID_ARGUMENT, "float32");
    EXPECT_SNN_ERROR(snn_connection_set_option(net, c, "nothing", "x"), SNN_NOT_FOUND, "nothing");
    float x[2] = {1, 1};
    EXPECT_SNN_ERROR(snn_connection_write_state(net, c, "x_pre", x, 2), SNN_STATE, "first step");
    int64_t count = 0;
    EXPECT_SNN_ERROR(snn_connection_read_state(net, c, "x_nope", x, 2, &count), SNN_NOT_FOUND, "x_nope");
    ASSERT_SNN_OK(snn_network_step(net));
    EXPECT_SNN_ERROR(snn_connection_set_option(net, c, "plasticity", "none"), SNN_STATE, "plasticity");
    EXPECT_SNN_ERROR(snn_connection_set_option(net, c, "pairing", "nearest"), SNN_STATE, "pairing");
    EXPECT_SNN_OK(snn_connection_set_param(net, c, "a_plus", 0.5));
    EXPECT_SNN_OK(snn_connection_write_state(net, c, "x_pre", x, 2));
}

namespace {
struct Seen {
    int calls = 0;
    snn_learning_event last{};
    std::vector<int32_t> columns;
};
int32_t record_event(const snn_learning_event* e, void* user_data) {
    Seen* seen = static_cast<Seen*>(user_data);
    ++seen->calls;
    seen->last = *e;
    seen->columns.assign(e->columns, e->columns + e->column_count);
    return 0;
}
}  // namespace

TEST(Plasticity, LearningCallback) {
    NetOptions o;
    o.dt = 1e-3;
    Net net(o);
    const int32_t in = net.source("in", 2);
    const int32_t out = net.pop("out", "lif", 1);
    ASSERT_SNN_OK(snn_population_set_param(net, out, "v_rest", 0.0));
    ASSERT_SNN_OK(snn_population_set_param(net, out, "v_reset", 0.0));
    ASSERT_SNN_OK(snn_population_set_param(net, out, "v_th", 1.0));
    const int32_t c = net.dense(in, out, {0.5f, 5.0f});
    const int32_t plain = net.dense(in, out, {0.0f, 0.0f});
    Seen seen;
    EXPECT_SNN_ERROR(snn_connection_set_learning_callback(net, plain, record_event, &seen), SNN_INVALID_ARGUMENT, "no learning rule");
    ASSERT_SNN_OK(snn_connection_set_option(net, c, "plasticity", "stdp"));
    ASSERT_SNN_OK(snn_connection_set_param(net, c, "w_max", 10.0));
    ASSERT_SNN_OK(snn_connection_set_param(net, c, "a_plus", 0.25));
    ASSERT_SNN_OK(snn_connection_set_learning_callback(net, c, record_event, &seen));
    step(net, in, {1, 0});
    step(net, in, {0, 0});
    step(net, in, {0, 0});
    step(net, in, {0, 1});
    EXPECT_EQ(seen.calls, 0);  // depression by a zero trace changes nothing
    step(net, in, {0, 0});     // the neuron spikes: both weights potentiated
    ASSERT_EQ(seen.calls, 1);
    EXPECT_EQ(seen.last.connection, c);
    EXPECT_EQ(seen.last.step, 4);
    EXPECT_EQ(seen.last.synapses_changed, 2);
    EXPECT_EQ(seen.last.all, 0);
    EXPECT_EQ(seen.last.row_count, 0);
    EXPECT_EQ(seen.columns, std::vector<int32_t>{0});
    const std::vector<float> w = weights(net, c);
    EXPECT_NEAR(seen.last.total_change, (double(w[0]) - 0.5) + (double(w[1]) - 5.0), 1e-9);
    ASSERT_SNN_OK(snn_connection_set_learning_callback(net, c, nullptr, nullptr));
    step(net, in, {1, 1});
    step(net, in, {0, 0});
    EXPECT_EQ(seen.calls, 1);
}
