// Running networks: exact single-neuron dynamics (delays, topological order,
// refractoriness, reset modes, IF, graded sources, exponential and
// conductance synapses), Poisson statistics and seeding, batch independence,
// spike callbacks, reset and the step counter.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "helpers.h"

using namespace snntest;

namespace {

const double kDt = 1e-4;
const double kTauMem = 20e-3;
const float kVRest = static_cast<float>(-65e-3);

LifReference lif_reference() {
    LifReference r;
    r.decay = decay_of(kDt, kTauMem);
    r.v_rest = kVRest;
    r.v_reset = static_cast<float>(-65e-3);
    r.v_th = static_cast<float>(-50e-3);
    r.v = r.v_rest;
    return r;
}

// One-hot [1][n] spike input.
std::vector<float> one_hot(int64_t n, std::initializer_list<int64_t> on) {
    std::vector<float> x(static_cast<std::size_t>(n), 0.0f);
    for (int64_t i : on) x[static_cast<std::size_t>(i)] = 1.0f;
    return x;
}

// A spike source (1 neuron) drives one LIF neuron through a delta synapse of
// weight w and the given delay; the source spikes in step `s` only. Checks v
// after every step against the reference, and that v first moves in step s + delay.
void check_delta_delay(int32_t delay, bool post_created_first) {
    SCOPED_TRACE("delay " + std::to_string(delay) + (post_created_first ? ", post created first" : ""));
    Net net;
    int32_t post = -1, src = -1;
    if (post_created_first) {
        post = net.lif("post", 1);
        src = net.source("src", 1);
    } else {
        src = net.source("src", 1);
        post = net.lif("post", 1);
    }
    const float w = 2e-3f;
    net.dense(src, post, {w}, delay);
    LifReference ref = lif_reference();
    const int64_t s = 3;
    for (int64_t t = 0; t < s + delay + 6; ++t) {
        net.input(src, {t == s ? 1.0f : 0.0f});
        net.step();
        ref.step(t == s + delay ? w : 0.0f);
        const float v = net.v(post);
        if (t < s + delay) { EXPECT_EQ(v, kVRest) << "step " << t; }
        if (t == s + delay) {
            float expected = kVRest + w;
            expected = kVRest + (expected - kVRest) * decay_of(kDt, kTauMem);
            EXPECT_NEAR(v, expected, kVTol) << "step " << t;
        }
        EXPECT_NEAR(v, ref.v, kVTol) << "step " << t;
    }
    EXPECT_GT(net.v(post), kVRest);
}

}  // namespace

// ---------------------------------------------------------------------------
// Delays and order

TEST(Dynamics, DeltaSynapseDelayOne) { check_delta_delay(1, false); }
TEST(Dynamics, DeltaSynapseDelayThree) { check_delta_delay(3, false); }
TEST(Dynamics, DeltaSynapseDelayZeroSameStep) { check_delta_delay(0, false); }
TEST(Dynamics, DeltaSynapseDelayZeroPostCreatedFirst) { check_delta_delay(0, true); }
TEST(Dynamics, DeltaSynapseDelayThreePostCreatedFirst) { check_delta_delay(3, true); }

TEST(Dynamics, ZeroDelayChainPropagatesInOneStep) {
    // c <- b <- a <- src, all without delay and created in reverse order: a
    // spike of src in step s reaches c's potential in step s.
    Net net;
    int32_t c = net.lif("c", 1);
    int32_t b = net.lif("b", 1);
    int32_t a = net.lif("a", 1);
    int32_t src = net.source("src", 1);
    net.dense(src, a, {20e-3f}, 0);
    net.dense(a, b, {20e-3f}, 0);
    net.dense(b, c, {1e-3f}, 0);
    net.step();
    net.input(src, {1.0f});
    net.step();
    EXPECT_EQ(net.spikes(a)[0], 1);
    EXPECT_EQ(net.spikes(b)[0], 1);
    float expected = kVRest + 1e-3f;
    expected = kVRest + (expected - kVRest) * decay_of(kDt, kTauMem);
    EXPECT_NEAR(net.v(c), expected, kVTol);
}

TEST(Dynamics, SparsePerSynapseDelays) {
    Net net;
    int32_t post = net.lif("post", 3);  // created before its source: delay 0 still works
    int32_t src = net.source("src", 1);
    const int64_t rows[2] = {0, 4};
    const int32_t targets[4] = {0, 1, 2, 2};
    const float w[4] = {1e-3f, 2e-3f, 3e-3f, 4e-3f};
    const int32_t delays[4] = {1, 2, 4, 0};
    int32_t id = -1;
    ASSERT_SNN_OK(snn_network_connect_sparse(net, src, post, 4, rows, targets, w, delays, nullptr, &id));
    std::vector<LifReference> ref(3, lif_reference());
    const int64_t s = 2;
    for (int64_t t = 0; t < 10; ++t) {
        net.input(src, {t == s ? 1.0f : 0.0f});
        net.step();
        float in[3] = {0, 0, 0};
        for (int k = 0; k < 4; ++k)
            if (t == s + delays[k]) in[targets[k]] += w[k];
        std::vector<float> v = net.state(post, "v");
        for (int j = 0; j < 3; ++j) {
            ref[static_cast<std::size_t>(j)].step(in[j]);
            EXPECT_NEAR(v[static_cast<std::size_t>(j)], ref[static_cast<std::size_t>(j)].v, kVTol) << "step " << t << " neuron " << j;
        }
        if (t == s) {
            EXPECT_EQ(v[0], kVRest);
            EXPECT_EQ(v[1], kVRest);
            EXPECT_GT(v[2], kVRest) << "the delay-0 synapse acts in the same step";
        }
        if (t == s + 1) { EXPECT_GT(v[0], kVRest); }
        if (t == s + 1) { EXPECT_EQ(v[1], kVRest); }
        if (t == s + 2) { EXPECT_GT(v[1], kVRest); }
    }
}

TEST(Dynamics, OneToOneReachesOnlyItsPartner) {
    Net net;
    int32_t src = net.source("src", 3);
    int32_t post = net.lif("post", 3);
    const float w[3] = {1e-3f, 2e-3f, 3e-3f};
    int32_t id = -1;
    ASSERT_SNN_OK(snn_network_connect_one_to_one(net, src, post, w, 3, 0.0f, nullptr, &id));
    net.input(src, one_hot(3, {1}));
    net.step();
    net.step();
    std::vector<float> v = net.state(post, "v");
    EXPECT_EQ(v[0], kVRest);
    EXPECT_EQ(v[2], kVRest);
    LifReference ref = lif_reference();
    ref.step(0.0f);
    ref.step(w[1]);
    EXPECT_NEAR(v[1], ref.v, kVTol);
}

TEST(Dynamics, DenseSumsInPresynapticOrder) {
    Net net;
    int32_t src = net.source("src", 2);
    int32_t post = net.lif("post", 3);
    const std::vector<float> w = {1e-3f, -2e-3f, 0.5e-3f, 3e-3f, 1.25e-3f, -0.75e-3f};  // [pre][post]
    net.dense(src, post, w);
    net.input(src, {1.0f, 1.0f});
    net.step();
    net.step();
    net.input(src, {0.0f, 1.0f});
    net.step();
    net.step();
    std::vector<float> v = net.state(post, "v");
    for (int j = 0; j < 3; ++j) {
        LifReference ref = lif_reference();
        ref.step(0.0f);
        float sum = 0.0f;
        sum += w[static_cast<std::size_t>(j)];
        sum += w[static_cast<std::size_t>(3 + j)];
        ref.step(sum);
        ref.step(0.0f);
        ref.step(w[static_cast<std::size_t>(3 + j)]);
        EXPECT_NEAR(v[static_cast<std::size_t>(j)], ref.v, kVTol) << "neuron " << j;
    }
}

// ---------------------------------------------------------------------------
// Refractoriness and reset

class Refractory : public ::testing::TestWithParam<double> {};

TEST_P(Refractory, HeldAndDiscardedStepsFollowTheRule) {
    // Source 0 forces spikes (20 mV); source 1 probes every step (1 mV).
    // The rule is docs/models.md's Refractoriness.
    const double t_ref = GetParam();
    const int64_t R = std::llround(t_ref / kDt);
    SCOPED_TRACE("R = " + std::to_string(R));
    Net net;
    int32_t src = net.source("src", 2);
    int32_t post = net.lif("post", 1);
    net.set(post, "t_ref", t_ref);
    net.set(post, "v_reset", -70e-3);
    const float big = 20e-3f, probe = 1e-3f;
    net.dense(src, post, {big, probe});
    LifReference ref = lif_reference();
    ref.refractory_steps = R;
    ref.v_reset = static_cast<float>(-70e-3);
    const std::set<int64_t> forced = {0, 1, 6, 13};
    std::vector<int64_t> spike_steps, expected_spike_steps;
    std::vector<float> vs;
    for (int64_t t = 0; t < 20; ++t) {
        net.input(src, {forced.count(t) ? 1.0f : 0.0f, 1.0f});
        net.step();
        float in = 0.0f;
        if (t >= 1) {
            if (forced.count(t - 1)) in += big;
            in += probe;
        }
        if (ref.step(in)) expected_spike_steps.push_back(t);
        if (net.spikes(post)[0]) spike_steps.push_back(t);
        vs.push_back(net.v(post));
        EXPECT_NEAR(vs.back(), ref.v, kVTol) << "step " << t;
    }
    EXPECT_EQ(spike_steps, expected_spike_steps);
    // The first forced spike is in step 1 (delay 1).
    ASSERT_FALSE(spike_steps.empty());
    EXPECT_EQ(spike_steps[0], 1);
    const float v_reset = static_cast<float>(-70e-3);
    const float decay = decay_of(kDt, kTauMem);
    if (R >= 2) {
        // Held in steps 2 .. R: v stays at v_reset exactly, whatever arrives.
        for (int64_t t = 2; t <= R; ++t) EXPECT_EQ(vs[static_cast<std::size_t>(t)], v_reset) << "step " << t;
        // Step 1 + R integrates again and takes its delta input (the probe).
        EXPECT_NEAR(vs[static_cast<std::size_t>(1 + R)], kVRest + ((v_reset + probe) - kVRest) * decay, kVTol);
    } else {
        // R <= 1 holds no step: the step after a spike takes its input (and spikes again).
        ASSERT_GE(spike_steps.size(), 2u);
        EXPECT_EQ(spike_steps[1], 2);
    }
}

INSTANTIATE_TEST_SUITE_P(Dynamics, Refractory, ::testing::Values(0.0, 1e-4, 3e-4, 5e-4));

TEST(Dynamics, ResetSubtract) {
    Net net;
    int32_t src = net.source("src", 1);
    int32_t post = net.lif("post", 1);
    ASSERT_SNN_OK(snn_population_set_option(net, post, "reset", "subtract"));
    const float w = 20e-3f;
    net.dense(src, post, {w});
    net.input(src, {1.0f});
    net.step();
    net.step();
    EXPECT_EQ(net.spikes(post)[0], 1);
    float v = kVRest + w;
    v = kVRest + (v - kVRest) * decay_of(kDt, kTauMem);
    ASSERT_GT(v, static_cast<float>(-50e-3));
    const float expected = v - (static_cast<float>(-50e-3) - static_cast<float>(-65e-3));
    EXPECT_NEAR(net.v(post), expected, kVTol);
    EXPECT_GT(net.v(post), static_cast<float>(-65e-3)) << "subtract keeps the overshoot";

    LifReference ref = lif_reference();
    ref.subtract = true;
    ref.step(0.0f);
    EXPECT_TRUE(ref.step(w));
    EXPECT_NEAR(net.v(post), ref.v, kVTol);
}

TEST(Dynamics, IntegrateAndFire) {
    Net net;
    int32_t src = net.source("src", 1);
    int32_t post = net.pop("post", "if", 1);
    net.set(post, "v_reset", -60e-3);
    // The initial potential of "if" is v_reset.
    EXPECT_EQ(net.v(post), static_cast<float>(-60e-3));
    const float w = 4e-3f;
    net.dense(src, post, {w});
    float v = static_cast<float>(-60e-3);
    const float v_th = static_cast<float>(-50e-3), v_reset = static_cast<float>(-60e-3);
    std::vector<int64_t> spikes, expected_spikes;
    for (int64_t t = 0; t < 12; ++t) {
        net.input(src, {1.0f});
        net.step();
        if (t >= 1) v += w;  // no leak
        if (v > v_th) {
            v = v_reset;
            expected_spikes.push_back(t);
        }
        if (net.spikes(post)[0]) spikes.push_back(t);
        EXPECT_NEAR(net.v(post), v, kVTol) << "step " << t;
    }
    EXPECT_EQ(spikes, expected_spikes);
    EXPECT_EQ(spikes.size(), 3u);  // 3 inputs of 4 mV cross 10 mV
}

TEST(Dynamics, CurrentSourceIsGraded) {
    Net net;
    int32_t cs = net.pop("cs", "current_source", 2);
    int32_t post = net.lif("post", 3);
    const std::vector<float> w = {1e-3f, 2e-3f, -1e-3f, 0.5e-3f, -0.25e-3f, 1e-3f};
    net.dense(cs, post, w);
    std::vector<LifReference> ref(3, lif_reference());
    auto expect_step = [&](float x0, float x1, int64_t t) {
        for (int j = 0; j < 3; ++j) {
            float sum = 0.0f;
            sum += w[static_cast<std::size_t>(j)] * x0;
            sum += w[static_cast<std::size_t>(3 + j)] * x1;
            ref[static_cast<std::size_t>(j)].step(sum);
        }
        std::vector<float> v = net.state(post, "v");
        for (int j = 0; j < 3; ++j)
            EXPECT_NEAR(v[static_cast<std::size_t>(j)], ref[static_cast<std::size_t>(j)].v, kVTol) << "step " << t << " neuron " << j;
    };
    net.input(cs, {0.5f, 2.0f});
    net.step();
    expect_step(0.0f, 0.0f, 0);
    EXPECT_EQ(net.spikes(cs), std::vector<uint8_t>(2, 0)) << "a current source emits no spikes";
    net.step();  // no input: the "current" parameter (default 0)
    expect_step(0.5f, 2.0f, 1);
    net.step();
    expect_step(0.0f, 0.0f, 2);
    net.set(cs, "current", 1.5);
    net.step();
    expect_step(0.0f, 0.0f, 3);
    net.step();
    expect_step(1.5f, 1.5f, 4);
    net.input(cs, {-1.0f, 0.0f});  // an input replaces the parameter for one step
    net.step();
    expect_step(1.5f, 1.5f, 5);
    net.step();
    expect_step(-1.0f, 0.0f, 6);
}

TEST(Dynamics, ExponentialSynapseMatchesTheAnalyticSolution) {
    Net net;
    int32_t src = net.source("src", 1);
    int32_t post = net.lif("post", 1);
    const double tau_s = 5e-3;
    const float w = 2e-3f;
    int32_t c = net.dense(src, post, {w}, 1, "exp");
    ASSERT_SNN_OK(snn_connection_set_param(net, c, "tau", tau_s));
    net.input(src, {1.0f});
    net.step();
    EXPECT_EQ(net.v(post), kVRest);
    EXPECT_EQ(net.conn_state(c, "I")[0], 0.0f);
    const float syn_decay = decay_of(kDt, tau_s);
    float expected_i = w;
    double peak = 0.0;
    for (int64_t k = 1; k <= 300; ++k) {
        net.step();
        expected_i *= syn_decay;
        const double t = static_cast<double>(k) * kDt;
        const double exact = static_cast<double>(w) * tau_s / (tau_s - kTauMem) * (std::exp(-t / tau_s) - std::exp(-t / kTauMem));
        peak = std::max(peak, exact);
        EXPECT_NEAR(net.v(post) - kVRest, exact, 1e-4 * 2e-3 + 2e-8) << "step " << k;
        EXPECT_NEAR(net.conn_state(c, "I")[0], expected_i, 1e-6f * w) << "step " << k;
    }
    EXPECT_GT(peak, 0.0);
    EXPECT_NEAR(net.conn_state(c, "I")[0], w * std::exp(-300 * kDt / tau_s), 1e-5 * w);
}

TEST(Dynamics, ConductanceSynapseUsesExponentialEuler) {
    Net net;
    int32_t src = net.source("src", 1);
    int32_t post = net.lif("post", 1);
    const double tau_s = 5e-3, e_rev = 0.0;
    const float w = 0.5f;
    int32_t c = net.dense(src, post, {w}, 1, "cond_exp");
    ASSERT_SNN_OK(snn_connection_set_param(net, c, "e_rev", e_rev));
    net.input(src, {1.0f});
    net.step();
    EXPECT_EQ(net.v(post), kVRest);
    double v = kVRest;
    double g = w;
    for (int k = 1; k <= 50; ++k) {
        net.step();
        // dv/dt = ((v_rest - v) + g (e_rev - v)) / tau_m with g frozen over the step.
        const double g_total = 1.0 + g;
        const double v_inf = (static_cast<double>(kVRest) + g * e_rev) / g_total;
        v = v_inf + (v - v_inf) * std::exp(-g_total * kDt / kTauMem);
        g *= std::exp(-kDt / tau_s);
        EXPECT_NEAR(net.v(post), v, 2e-7) << "step " << k;
        EXPECT_NEAR(net.conn_state(c, "g")[0], g, 1e-5 * w) << "step " << k;
    }
    EXPECT_GT(net.v(post), kVRest + 1e-3f) << "an excitatory conductance depolarises";
}

// ---------------------------------------------------------------------------
// Poisson sources

namespace {

// Runs a Poisson population and returns its spikes [steps][batch][n].
std::vector<uint8_t> poisson_spikes(uint64_t seed, int32_t batch, int64_t n, int64_t steps, double rate) {
    NetOptions o;
    o.seed = seed;
    o.batch = batch;
    Net net(o);
    int32_t p = net.pop("noise", "poisson", n);
    net.set(p, "rate", rate);
    std::vector<uint8_t> out(static_cast<std::size_t>(steps * batch * n), 7);
    Tensor t(out.data(), SNN_DTYPE_UINT8, {steps, batch, n});
    EXPECT_SNN_OK(snn_population_bind_output(net, p, "spikes", t.get()));
    net.run(steps);
    return out;
}

int64_t total(const std::vector<uint8_t>& v) {
    int64_t s = 0;
    for (uint8_t x : v) s += x;
    return s;
}

}  // namespace

TEST(Poisson, CountMatchesTheRate) {
    const int64_t n = 100, steps = 2000;
    const double rate = 100.0;
    std::vector<uint8_t> s = poisson_spikes(11, 1, n, steps, rate);
    for (uint8_t x : s) ASSERT_LE(x, 1);
    // Binomial(n * steps, rate * dt): 6 standard deviations.
    const double p = rate * kDt, trials = static_cast<double>(n * steps);
    const double mean = p * trials, sd = std::sqrt(trials * p * (1 - p));
    EXPECT_NEAR(static_cast<double>(total(s)), mean, 6 * sd);
    // The default rate is 10 Hz.
    Net net;
    int32_t q = net.pop("q", "poisson", n);
    std::vector<float> rates(static_cast<std::size_t>(n), 0.0f);
    int64_t count = 0;
    ASSERT_SNN_OK(snn_population_get_param(net, q, "rate", rates.data(), n, &count));
    EXPECT_EQ(count, n);
    EXPECT_EQ(rates[0], 10.0f);
}

TEST(Poisson, SeedsInstancesAndSteps) {
    const int64_t n = 50, steps = 400;
    std::vector<uint8_t> a = poisson_spikes(3, 2, n, steps, 200.0);
    std::vector<uint8_t> b = poisson_spikes(3, 2, n, steps, 200.0);
    std::vector<uint8_t> c = poisson_spikes(4, 2, n, steps, 200.0);
    EXPECT_EQ(a, b) << "the same seed gives the same spikes";
    EXPECT_NE(a, c) << "another seed gives other spikes";
    // The instances of a batch differ.
    std::vector<uint8_t> i0, i1;
    for (int64_t t = 0; t < steps; ++t) {
        i0.insert(i0.end(), a.begin() + (t * 2 + 0) * n, a.begin() + (t * 2 + 1) * n);
        i1.insert(i1.end(), a.begin() + (t * 2 + 1) * n, a.begin() + (t * 2 + 2) * n);
    }
    EXPECT_NE(i0, i1);
    EXPECT_GT(total(i0), 0);
    EXPECT_GT(total(i1), 0);
    // Instance 0 of a batch of 2 spikes as a batch of 1 with the same seed.
    std::vector<uint8_t> single = poisson_spikes(3, 1, n, steps, 200.0);
    EXPECT_EQ(single, i0);
}

TEST(Poisson, InputRateReplacesTheParameter) {
    const int64_t n = 40;
    Net net;
    int32_t p = net.pop("noise", "poisson", n);
    net.set(p, "rate", 2000.0);
    // Rate 0 for a step: no spikes, whatever the parameter.
    int64_t spikes_with_zero = 0;
    for (int t = 0; t < 200; ++t) {
        net.input(p, std::vector<float>(static_cast<std::size_t>(n), 0.0f));
        net.step();
        spikes_with_zero += total(net.spikes(p));
    }
    EXPECT_EQ(spikes_with_zero, 0);
    // rate * dt >= 1: every neuron spikes in that step.
    net.input(p, std::vector<float>(static_cast<std::size_t>(n), 1e4f));
    net.step();
    EXPECT_EQ(total(net.spikes(p)), n);
    // Without input, the parameter applies again.
    int64_t spikes_without = 0;
    for (int t = 0; t < 200; ++t) {
        net.step();
        spikes_without += total(net.spikes(p));
    }
    EXPECT_GT(spikes_without, 0);
    // A whole-run bound input: rate 0 in even steps, 1e4 Hz in odd steps.
    const int64_t steps = 10;
    std::vector<float> rates(static_cast<std::size_t>(steps * n));
    for (int64_t t = 0; t < steps; ++t)
        std::fill(rates.begin() + t * n, rates.begin() + (t + 1) * n, t % 2 ? 1e4f : 0.0f);
    Tensor rt(rates.data(), SNN_DTYPE_FLOAT32, {steps, 1, n});
    ASSERT_SNN_OK(snn_population_bind_input(net, p, rt.get()));
    std::vector<uint8_t> rec(static_cast<std::size_t>(steps * n));
    Tensor out(rec.data(), SNN_DTYPE_UINT8, {steps, 1, n});
    ASSERT_SNN_OK(snn_population_bind_output(net, p, "spikes", out.get()));
    net.run(steps);
    for (int64_t t = 0; t < steps; ++t)
        for (int64_t j = 0; j < n; ++j)
            ASSERT_EQ(rec[static_cast<std::size_t>(t * n + j)], t % 2 ? 1 : 0) << "step " << t << " neuron " << j;
}

// ---------------------------------------------------------------------------
// Batches

TEST(Batch, InstancesAreIndependent) {
    NetOptions o;
    o.batch = 3;
    Net net(o);
    int32_t src = net.source("src", 2);
    int32_t post = net.lif("post", 2);
    net.dense(src, post, {6e-3f, 1e-3f, 2e-3f, 9e-3f});
    // Instances 0 and 2 get the same inputs, instance 1 others.
    for (int t = 0; t < 30; ++t) {
        const float a = (t % 3 == 0) ? 1.0f : 0.0f, b = (t % 2 == 0) ? 1.0f : 0.0f;
        const float x[6] = {a, b, b, a, a, b};
        net.input(src, std::vector<float>(x, x + 6));
        net.step();
        std::vector<float> v = net.state(post, "v");
        ASSERT_EQ(v.size(), 6u);
        EXPECT_EQ(v[0], v[4]) << "step " << t;
        EXPECT_EQ(v[1], v[5]) << "step " << t;
    }
    std::vector<float> v = net.state(post, "v");
    EXPECT_NE(v[0], v[2]);
    // And each instance equals a batch-1 network given its inputs.
    Net single;
    int32_t s2 = single.source("src", 2);
    int32_t p2 = single.lif("post", 2);
    single.dense(s2, p2, {6e-3f, 1e-3f, 2e-3f, 9e-3f});
    for (int t = 0; t < 30; ++t) {
        const float a = (t % 3 == 0) ? 1.0f : 0.0f, b = (t % 2 == 0) ? 1.0f : 0.0f;
        single.input(s2, {b, a});
        single.step();
    }
    std::vector<float> v1 = single.state(p2, "v");
    EXPECT_EQ(v1[0], v[2]);
    EXPECT_EQ(v1[1], v[3]);
}

// ---------------------------------------------------------------------------
// Spike callbacks

namespace {

struct Call {
    int32_t population;
    int64_t step;
    int32_t batch_index;
    std::vector<int32_t> ids;
    bool operator<(const Call& o) const {
        return std::tie(step, population, batch_index, ids) < std::tie(o.step, o.population, o.batch_index, o.ids);
    }
    bool operator==(const Call& o) const {
        return population == o.population && step == o.step && batch_index == o.batch_index && ids == o.ids;
    }
};

struct Recorder {
    std::vector<Call> calls;
    int64_t stop_at_step = -1;
    static int32_t fn(int32_t population, int64_t step, int32_t batch_index, int32_t count, const int32_t* ids, void* user) {
        auto* self = static_cast<Recorder*>(user);
        self->calls.push_back({population, step, batch_index, std::vector<int32_t>(ids, ids + count)});
        return step == self->stop_at_step ? 1 : 0;
    }
};

}  // namespace

TEST(Callbacks, CalledAfterEachStepWithAscendingIds) {
    NetOptions o;
    o.batch = 2;
    Net net(o);
    int32_t src = net.source("src", 5);
    int32_t post = net.lif("post", 5);
    net.one_to_one(src, post, 20e-3f);
    Recorder rec;
    ASSERT_SNN_OK(snn_population_set_spike_callback(net, src, &Recorder::fn, &rec));
    ASSERT_SNN_OK(snn_population_set_spike_callback(net, post, &Recorder::fn, &rec));
    net.step();  // no spikes: no call
    EXPECT_TRUE(rec.calls.empty());
    // Step 1: instance 1 spikes at 4, 1, 3.
    net.input(src, {0, 0, 0, 0, 0, 0, 1, 0, 1, 1});
    net.step();
    // Step 2: instance 0 spikes at 0; post (instance 1) follows step 1.
    net.input(src, {1, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    net.step();
    net.step();  // post instance 0 follows
    net.step();  // nothing
    std::vector<Call> expected = {
        {src, 1, 1, {1, 3, 4}},
        {src, 2, 0, {0}},
        {post, 2, 1, {1, 3, 4}},
        {post, 3, 0, {0}},
    };
    std::vector<Call> got = rec.calls;
    std::sort(got.begin(), got.end());
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(got, expected);
    for (const Call& c : rec.calls) EXPECT_TRUE(std::is_sorted(c.ids.begin(), c.ids.end()));

    // Removing a callback.
    ASSERT_SNN_OK(snn_population_set_spike_callback(net, src, nullptr, nullptr));
    rec.calls.clear();
    net.input(src, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
    net.step();
    EXPECT_TRUE(rec.calls.empty()) << "a removed callback was called";
    net.step();
    EXPECT_EQ(rec.calls.size(), 2u) << "post's callback stays";

    Recorder other;
    EXPECT_SNN_ERROR(snn_population_set_spike_callback(net, 2, &Recorder::fn, &other), SNN_OUT_OF_RANGE, "population");
    EXPECT_SNN_ERROR(snn_population_set_spike_callback(nullptr, 0, &Recorder::fn, &other), SNN_INVALID_ARGUMENT, "network");
}

TEST(Callbacks, NonZeroReturnCancelsAfterTheStep) {
    Net net;
    int32_t src = net.pop("noise", "poisson", 20);
    net.set(src, "rate", 1e4);  // spikes every step
    Recorder rec;
    rec.stop_at_step = 4;
    ASSERT_SNN_OK(snn_population_set_spike_callback(net, src, &Recorder::fn, &rec));
    snn_clear_error();
    EXPECT_EQ(snn_network_run(net, 10), SNN_CANCELLED);
    EXPECT_STRNE(snn_last_error(), "");
    EXPECT_EQ(net.step_count(), 5) << "the step that ran the callback is complete";
    ASSERT_EQ(rec.calls.size(), 5u);
    EXPECT_EQ(rec.calls.back().step, 4);
    EXPECT_EQ(rec.calls.back().ids.size(), 20u);
    // step() reports the cancellation too, and the network goes on.
    rec.stop_at_step = 5;
    EXPECT_EQ(snn_network_step(net), SNN_CANCELLED);
    EXPECT_EQ(net.step_count(), 6);
    net.run(3);
    EXPECT_EQ(net.step_count(), 9);
}

// A callback that steps, runs, resets or re-batches its own network is
// refused with SNN_STATE (the run it is called from goes on); reading state
// and changing parameters between steps are allowed.
namespace {
struct Reentry {
    snn_network* net = nullptr;
    std::vector<snn_status> statuses;
    std::vector<std::string> messages;
    float v[3] = {};
    static int32_t fn(int32_t, int64_t, int32_t, int32_t, const int32_t*, void* data) {
        auto* r = static_cast<Reentry*>(data);
        if (!r->statuses.empty()) return 0;
        for (snn_status s : {snn_network_step(r->net), snn_network_run(r->net, 2), snn_network_reset(r->net),
                             snn_network_set_batch(r->net, 3)}) {
            r->statuses.push_back(s);
            r->messages.push_back(snn_last_error());
        }
        int64_t count = 0;
        r->statuses.push_back(snn_population_read_state(r->net, 1, "v", r->v, 3, &count));
        r->statuses.push_back(snn_population_set_param(r->net, 1, "v_th", 2.0));
        return 0;
    }
};
}  // namespace

TEST(Callbacks, ReenteringTheRunIsRefused) {
    Net net;
    int32_t src = net.pop("noise", "poisson", 20);
    net.set(src, "rate", 1e4);  // spikes every step
    int32_t lif = net.pop("lif", "lif", 3);
    (void)lif;
    Reentry r;
    r.net = net;
    ASSERT_SNN_OK(snn_population_set_spike_callback(net, src, &Reentry::fn, &r));
    ASSERT_SNN_OK(snn_network_run(net, 3));
    EXPECT_EQ(net.step_count(), 3) << "the refused calls ran no step";
    ASSERT_EQ(r.statuses.size(), 6u);
    for (int k = 0; k < 4; ++k) {
        EXPECT_EQ(r.statuses[static_cast<std::size_t>(k)], SNN_STATE) << "call " << k;
        EXPECT_NE(r.messages[static_cast<std::size_t>(k)].find("spike callback"), std::string::npos) << r.messages[static_cast<std::size_t>(k)];
    }
    EXPECT_EQ(r.statuses[4], SNN_OK);
    EXPECT_EQ(r.statuses[5], SNN_OK);
    int32_t batch = 0;
    ASSERT_SNN_OK(snn_network_batch(net, &batch));
    EXPECT_EQ(batch, 1);
    // Outside the callback everything works again.
    ASSERT_SNN_OK(snn_population_set_spike_callback(net, src, nullptr, nullptr));
    ASSERT_SNN_OK(snn_network_reset(net));
    ASSERT_SNN_OK(snn_network_set_batch(net, 2));
    net.run(2);
    EXPECT_EQ(net.step_count(), 2);
}

// ---------------------------------------------------------------------------
// Reset and the step counter

namespace {

struct Trace {
    std::vector<uint8_t> spikes;
    std::vector<float> v, i;
    bool operator==(const Trace& o) const {
        return spikes == o.spikes && v.size() == o.v.size() && i.size() == o.i.size() &&
               std::memcmp(v.data(), o.v.data(), v.size() * sizeof(float)) == 0 &&
               std::memcmp(i.data(), o.i.data(), i.size() * sizeof(float)) == 0;
    }
};

}  // namespace

TEST(Reset, SecondRunIsBitIdentical) {
    NetOptions o;
    o.seed = 42;
    o.batch = 2;
    Net net(o);
    int32_t noise = net.pop("noise", "poisson", 30);
    net.set(noise, "rate", 400.0);
    int32_t exc = net.lif("exc", 20);
    net.set(exc, "t_ref", 2e-4);
    int32_t c1 = -1, c2 = -1;
    snn_connection_options co = Net::conn_options(2, "exp");
    ASSERT_SNN_OK(snn_network_connect_random(net, noise, exc, 0.5, 6e-3f, 1, &co, &c1));
    ASSERT_SNN_OK(snn_network_connect_random(net, exc, exc, 0.3, 2e-3f, 2, nullptr, &c2));
    ASSERT_SNN_OK(snn_population_randomize_state(net, exc, "v", SNN_DIST_UNIFORM, -65e-3, -51e-3, 9));
    const std::vector<float> initial = net.state(exc, "v");

    auto run = [&] {
        Trace t;
        for (int k = 0; k < 150; ++k) {
            net.step();
            std::vector<uint8_t> s = net.spikes(exc), n = net.spikes(noise);
            std::vector<float> v = net.state(exc, "v"), i = net.conn_state(c1, "I");
            t.spikes.insert(t.spikes.end(), s.begin(), s.end());
            t.spikes.insert(t.spikes.end(), n.begin(), n.end());
            t.v.insert(t.v.end(), v.begin(), v.end());
            t.i.insert(t.i.end(), i.begin(), i.end());
        }
        return t;
    };
    Trace first = run();
    int64_t spike_total = 0;
    for (uint8_t s : first.spikes) spike_total += s;
    EXPECT_GT(spike_total, 0);
    net.reset();
    EXPECT_EQ(net.step_count(), 0);
    std::vector<float> after_reset = net.state(exc, "v");
    EXPECT_EQ(0, std::memcmp(after_reset.data(), initial.data(), initial.size() * sizeof(float)));
    EXPECT_EQ(net.conn_state(c1, "I"), std::vector<float>(40, 0.0f));
    EXPECT_EQ(net.spikes(exc), std::vector<uint8_t>(40, 0));
    Trace second = run();
    EXPECT_TRUE(first == second) << "a run after reset differs from the first";
}

TEST(Reset, WriteBeforeFirstStepIsTheInitialState) {
    Net net;
    int32_t p = net.lif("p", 3);
    const std::vector<float> v0 = {-60e-3f, -55e-3f, -70e-3f};
    net.write(p, "v", v0);
    EXPECT_EQ(net.state(p, "v"), v0);
    net.run(5);
    EXPECT_NE(net.state(p, "v"), v0);
    // A write after the first step changes the state, not the initial state.
    net.write(p, "v", {-52e-3f, -52e-3f, -52e-3f});
    net.reset();
    EXPECT_EQ(net.state(p, "v"), v0);
    EXPECT_EQ(net.step_count(), 0);
}

TEST(Reset, ClearsCopiedInputs) {
    Net net;
    int32_t src = net.source("src", 3);
    net.step();
    net.input(src, {1, 1, 1});
    net.reset();
    net.step();
    EXPECT_EQ(net.spikes(src), std::vector<uint8_t>(3, 0));
}

TEST(Run, StepCounterAndRefusals) {
    Net net;
    int32_t src = net.source("src", 2);
    int32_t p = net.lif("p", 2);
    net.one_to_one(src, p, 1e-3f);
    EXPECT_EQ(net.step_count(), 0);
    net.step();
    EXPECT_EQ(net.step_count(), 1);
    net.run(0);
    EXPECT_EQ(net.step_count(), 1);
    net.run(7);
    EXPECT_EQ(net.step_count(), 8);
    EXPECT_SNN_ERROR(snn_network_run(net, -1), SNN_INVALID_ARGUMENT, "steps");
    EXPECT_SNN_ERROR(snn_network_run(nullptr, 1), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_network_step(nullptr), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_network_reset(nullptr), SNN_INVALID_ARGUMENT, "network");
    int64_t step = 0;
    double dt = 0;
    uint64_t seed = 0;
    int32_t batch = 0;
    EXPECT_SNN_ERROR(snn_network_current_step(nullptr, &step), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_network_current_step(net, nullptr), SNN_INVALID_ARGUMENT, "out_step");
    EXPECT_SNN_ERROR(snn_network_dt(nullptr, &dt), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_network_dt(net, nullptr), SNN_INVALID_ARGUMENT, "out_dt");
    EXPECT_SNN_ERROR(snn_network_seed(nullptr, &seed), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_network_seed(net, nullptr), SNN_INVALID_ARGUMENT, "out_seed");
    EXPECT_SNN_ERROR(snn_network_batch(nullptr, &batch), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_network_batch(net, nullptr), SNN_INVALID_ARGUMENT, "out_batch");
    EXPECT_EQ(net.step_count(), 8);
    net.reset();
    EXPECT_EQ(net.step_count(), 0);
    // A reset before any step is fine too.
    Net fresh;
    fresh.lif("a", 1);
    fresh.reset();
    fresh.step();
    EXPECT_EQ(fresh.step_count(), 1);
}
