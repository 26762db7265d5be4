// Tests of the C++ wrapper, include/snn/snn.hpp: values through the
// wrapper's API (LIF against its closed form, delta input, callbacks, bound
// buffers, files), its errors (status and exceptions carry the library's
// message) and its ownership rules (moves leave the source empty; callbacks
// live as long as the network holds them).
#include "helpers.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <utility>

using cpptest::kDt;
using cpptest::kTauMem;
using cpptest::kVRest;

namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

// ---------------------------------------------------------------------------
// The build: each test executable checks the mode it was built for.

TEST(Build, ErrorModeAndSpanAreTheOnesThisTargetAskedFor) {
    EXPECT_EQ(SNN_HPP_EXCEPTIONS, SNN_TEST_EXCEPTIONS);
    EXPECT_EQ(SNN_HPP_STD_SPAN, SNN_TEST_STD_SPAN);
#if SNN_HPP_STD_SPAN
    static_assert(std::is_same<snn::Span<const float>, std::span<const float>>::value, "C++20: snn::Span is std::span");
#endif
    // Both kinds of view take a vector, a std::array and a C array.
    std::vector<float> v(3);
    std::array<float, 2> a{};
    float c[4] = {};
    EXPECT_EQ(snn::Span<const float>(v).size(), 3u);
    EXPECT_EQ(snn::Span<float>(a).size(), 2u);
    EXPECT_EQ(snn::Span<const float>(c).size(), 4u);
    EXPECT_EQ(snn::Span<float>(v).subspan(1).data(), v.data() + 1);
}

// ---------------------------------------------------------------------------
// Library-wide queries

TEST(Library, VersionBackendsAndModelRegistry) {
    EXPECT_EQ(snn::version(), static_cast<uint32_t>(SNN_VERSION_NUMBER));
    EXPECT_STREQ(snn::version_string(), snn_version_string());
    snn::Status s;
    const std::vector<std::string> backends = snn::backends(s);
    ASSERT_SNN(s);
    EXPECT_TRUE(contains(backends, "reference"));
    const std::vector<std::string> neurons = snn::models(snn::ModelKind::neuron, s);
    ASSERT_SNN(s);
    EXPECT_TRUE(contains(neurons, "lif"));
    EXPECT_TRUE(contains(neurons, "spike_source"));
    EXPECT_TRUE(contains(snn::models(snn::ModelKind::synapse, s), "exp"));
    const std::vector<snn_param_info> params = snn::model_params(snn::ModelKind::neuron, "lif", s);
    ASSERT_SNN(s);
    auto tau = std::find_if(params.begin(), params.end(),
                            [](const snn_param_info& p) { return std::string(p.name) == "tau_mem"; });
    ASSERT_NE(tau, params.end());
    EXPECT_DOUBLE_EQ(tau->default_number, 20e-3);
    EXPECT_STREQ(tau->unit, "s");
    EXPECT_EQ(snn::model_state_vars(snn::ModelKind::neuron, "lif", s), std::vector<std::string>{"v"});

    snn::model_params(snn::ModelKind::neuron, "no_such_model", s);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("no_such_model"), std::string::npos) << s.to_string();
}

// ---------------------------------------------------------------------------
// Context

TEST(Context, OptionsReachTheContext) {
    snn::Status s;
    snn::Context ctx = snn::Context::create(snn::ContextOptions().backend("reference").threads(1), s);
    ASSERT_SNN(s);
    ASSERT_TRUE(ctx);
    EXPECT_EQ(ctx.backend(s), "reference");
    EXPECT_EQ(ctx.threads(s), 1);
    EXPECT_EQ(ctx.simd(s), "scalar");
    EXPECT_SNN(s);
}

TEST(Context, UnknownBackendIsRefusedWithTheLibrarysMessage) {
    snn::Status s;
    snn::Context ctx = snn::Context::create(snn::ContextOptions().backend("quantum"), s);
    EXPECT_FALSE(ctx);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("quantum"), std::string::npos) << s.to_string();
}

TEST(Context, LogHookReceivesTheLibrarysMessages) {
    std::vector<std::pair<int32_t, std::string>> messages;
    {
        snn::Status s;
        snn::Context ctx = snn::Context::create(
            snn::ContextOptions().log(SNN_LOG_DEBUG,
                                      [&](int32_t level, const char* message) { messages.emplace_back(level, message); }),
            s);
        ASSERT_SNN(s);
        snn::Network net = snn::Network::create(ctx, snn::NetworkOptions(), s);
        net.add_population("a", 2, "lif", s);
        net.run(2, s);
        ASSERT_SNN(s);
    }
    ASSERT_FALSE(messages.empty());
    bool frozen = false;
    for (const auto& m : messages) {
        EXPECT_GE(m.first, SNN_LOG_ERROR);
        EXPECT_LE(m.first, SNN_LOG_DEBUG);
        frozen |= m.second.find("frozen") != std::string::npos;
    }
    EXPECT_TRUE(frozen) << "no message about the network's first step";
}

// A batch of LIF neurons driven by Poisson input, v after 40 steps.
std::vector<float> poisson_lif_trajectory(snn::Context& ctx) {
    snn::Status s;
    snn::Network net = snn::Network::create(ctx, snn::NetworkOptions().batch(4).seed(3), s);
    snn::Population src = net.add_population("src", 40, "poisson", s);
    src.set_param("rate", 400.0, s);
    snn::Population lif = net.add_population("lif", 64, "lif", s);
    net.connect_random(src, lif, 0.3, 4e-3f, 11, snn::ConnectionOptions().synapse("exp"), s);
    lif.randomize_state("v", snn::Distribution::uniform, -65e-3, -50e-3, 5, s);
    net.run(40, s);
    std::vector<float> v = lif.read_state("v", s);
    EXPECT_TRUE(s.ok()) << s.to_string();
    return v;
}

TEST(Context, HostParallelForRunsTheLoopsWithIdenticalResults) {
    snn::Status s;
    if (!contains(snn::backends(s), "cpu")) GTEST_SKIP() << "no \"cpu\" backend in this build";
    snn::Context reference = cpptest::make_context("reference");
    const std::vector<float> expected = poisson_lif_trajectory(reference);

    std::atomic<int64_t> loops{0}, calls{0};
    snn::Context ctx = snn::Context::create(snn::ContextOptions().backend("cpu").threads(2).parallel_for(
                                                [&](int64_t count, snn::ParallelBody body) {
                                                    loops.fetch_add(1);
                                                    for (int64_t i = count - 1; i >= 0; --i) body(i);  // any order
                                                    calls.fetch_add(count);
                                                }),
                                            s);
    ASSERT_SNN(s);
    const std::vector<float> got = poisson_lif_trajectory(ctx);
    ASSERT_EQ(got.size(), expected.size());
    EXPECT_EQ(0, std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)));
    EXPECT_GT(loops.load(), 0) << "libsnn's loops must run on the host's parallel_for";
    EXPECT_GE(calls.load(), loops.load());
}

// ---------------------------------------------------------------------------
// Values

TEST(Lif, MembraneDecaysAsTheClosedForm) {
    snn::Context ctx = cpptest::make_context();
    snn::Status s;
    snn::Network net = snn::Network::create(ctx, snn::NetworkOptions().dt(kDt).batch(2), s);
    snn::Population pop = net.add_population("lif", 3, "lif", s);
    pop.set_param("tau_mem", kTauMem, s);
    pop.set_param("v_rest", kVRest, s);
    ASSERT_SNN(s);
    const std::vector<float> v0 = {-52e-3f, -58e-3f, -64e-3f, -70e-3f, -80e-3f, -65e-3f};  // [2][3], none above v_th
    pop.write_state("v", v0, s);
    ASSERT_SNN(s);
    const int64_t steps = 250;
    EXPECT_TRUE(net.run(steps, s));
    ASSERT_SNN(s);
    EXPECT_EQ(net.current_step(s), steps);
    const std::vector<float> v = pop.read_state("v", s);
    ASSERT_SNN(s);
    ASSERT_EQ(v.size(), v0.size());
    for (std::size_t k = 0; k < v.size(); ++k) {
        const double expected = kVRest + (v0[k] - kVRest) * std::exp(-static_cast<double>(steps) * kDt / kTauMem);
        EXPECT_NEAR(v[k], expected, 1e-6) << "element " << k;
    }
    // Into a caller's buffer too.
    std::vector<float> out(6);
    EXPECT_EQ(pop.read_state("v", out, s), 6);
    EXPECT_EQ(out, v);
}

TEST(Inputs, CopiedSpikeMovesTheMembraneByTheDecayedWeight) {
    snn::Context ctx = cpptest::make_context();
    cpptest::Relay r = cpptest::make_relay(ctx, 2, 2e-3f);
    snn::Status s;
    const std::vector<uint8_t> spikes = {1, 0};
    r.in.set_input(spikes, s);  // consumed by step 0; delay 1 delivers it in step 1
    ASSERT_SNN(s);
    r.net.step(s);
    r.net.step(s);
    ASSERT_SNN(s);
    const std::vector<float> v = r.out.read_state("v", s);
    ASSERT_EQ(v.size(), 2u);
    EXPECT_NEAR(v[0], kVRest + 2e-3 * std::exp(-kDt / kTauMem), 1e-7);
    EXPECT_NEAR(v[1], kVRest, 1e-7);

    // float input: the same path; a wrong size is refused before libsnn reads it.
    r.in.set_input(std::vector<float>{0.0f, 1.0f}, s);
    EXPECT_SNN(s);
    r.in.set_input(std::vector<float>(3, 1.0f), s);
    EXPECT_SNN_FAILED(s, SNN_SHAPE, "input: 3 values given");
}

// ---------------------------------------------------------------------------
// Callbacks

struct Seen {
    std::string population;
    int64_t step;
    int32_t batch_index;
    std::vector<int32_t> ids;
    bool operator==(const Seen& o) const {
        return population == o.population && step == o.step && batch_index == o.batch_index && ids == o.ids;
    }
};

std::ostream& operator<<(std::ostream& os, const Seen& e) {
    os << e.population << "@" << e.step << "/" << e.batch_index << ":";
    for (int32_t id : e.ids) os << " " << id;
    return os;
}

TEST(Callbacks, GetTheSpikesOfEachStepInBothForms) {
    snn::Context ctx = cpptest::make_context();
    cpptest::Relay r = cpptest::make_relay(ctx, 4, 20e-3f, 2);  // one input spike makes `out` spike
    snn::Status s;
    std::vector<Seen> seen_in, seen_out;
    r.in.on_spike(
        [&](int64_t step, int32_t batch_index, snn::Span<const int32_t> ids) {
            seen_in.push_back({"in", step, batch_index, std::vector<int32_t>(ids.begin(), ids.end())});
        },
        s);
    ASSERT_SNN(s);
    r.out.on_spike(
        [&](const snn::SpikeEvent& e) {
            snn::Status inner;
            seen_out.push_back({e.population.name(inner), e.step, e.batch_index,
                                std::vector<int32_t>(e.neuron_ids.begin(), e.neuron_ids.end())});
            EXPECT_TRUE(e.population == r.out);
        },
        s);
    ASSERT_SNN(s);
    const std::vector<uint8_t> x = {0, 1, 0, 1, /* instance 1: */ 0, 0, 1, 0};
    r.in.set_input(x, s);
    EXPECT_TRUE(r.net.run(3, s));
    ASSERT_SNN(s);
    const std::vector<Seen> want_in = {{"in", 0, 0, {1, 3}}, {"in", 0, 1, {2}}};
    const std::vector<Seen> want_out = {{"out", 1, 0, {1, 3}}, {"out", 1, 1, {2}}};
    EXPECT_EQ(seen_in, want_in);
    EXPECT_EQ(seen_out, want_out);
}

TEST(Callbacks, ReturningTrueStopsTheRunAfterThatStep) {
    snn::Context ctx = cpptest::make_context();
    cpptest::Relay r = cpptest::make_relay(ctx, 4, 1e-3f);
    snn::Status s;
    const std::vector<uint8_t> always(4, 1);
    r.in.bind_input(always, 0, s);
    int calls = 0;
    r.in.on_spike(
        [&](int64_t step, int32_t, snn::Span<const int32_t> ids) {
            ++calls;
            EXPECT_EQ(ids.size(), 4u);
            return step == 4;
        },
        s);
    ASSERT_SNN(s);
    EXPECT_FALSE(r.net.run(100, s));  // stopped: not an error
    EXPECT_SNN(s);
    EXPECT_EQ(r.net.current_step(s), 5);
    EXPECT_EQ(calls, 5);
    r.in.remove_spike_callback(s);
    EXPECT_TRUE(r.net.run(3, s));
    EXPECT_SNN(s);
    EXPECT_EQ(calls, 5);
}

TEST(Callbacks, AnyCallableIsStoredUntilReplacedOrTheNetworkEnds) {
    snn::Context ctx = cpptest::make_context();
    auto counter = std::make_shared<int>(0);
    {
        cpptest::Relay r = cpptest::make_relay(ctx, 2, 1e-3f);
        snn::Status s;
        const std::vector<uint8_t> always(2, 1);
        r.in.bind_input(always, 0, s);
        std::unique_ptr<int> weight(new int(7));  // a move-only callable
        r.in.on_spike([counter, weight = std::move(weight)](const snn::SpikeEvent& e) {
            *counter += *weight * static_cast<int>(e.neuron_ids.size());
        },
                      s);
        ASSERT_SNN(s);
        EXPECT_EQ(counter.use_count(), 2);
        r.net.run(3, s);
        EXPECT_EQ(*counter, 3 * 2 * 7);
        r.in.on_spike(nullptr, s);  // removes and frees it
        EXPECT_SNN(s);
        EXPECT_EQ(counter.use_count(), 1);

        std::function<void(const snn::SpikeEvent&)> fn = [counter](const snn::SpikeEvent&) { ++*counter; };
        r.in.on_spike(fn, s);
        fn = nullptr;
        EXPECT_EQ(counter.use_count(), 2);
        r.net.run(1, s);
        EXPECT_EQ(*counter, 3 * 2 * 7 + 1);
        r.in.on_spike(std::function<void(const snn::SpikeEvent&)>(), s);  // an empty std::function removes
        r.net.run(1, s);
        EXPECT_EQ(*counter, 3 * 2 * 7 + 1);
        r.in.on_spike([counter](const snn::SpikeEvent&) {}, s);
        EXPECT_EQ(counter.use_count(), 2);
    }
    EXPECT_EQ(counter.use_count(), 1) << "the network's end frees its callbacks";
}

TEST(Callbacks, ReplacingTheCallbackFromInsideItIsSafe) {
    snn::Context ctx = cpptest::make_context();
    cpptest::Relay r = cpptest::make_relay(ctx, 2, 1e-3f);
    snn::Status s;
    const std::vector<uint8_t> always(2, 1);
    r.in.bind_input(always, 0, s);
    int first = 0, second = 0;
    r.in.on_spike(
        [&first, &second](const snn::SpikeEvent& e) {
            ++first;
            snn::Population p = e.population;
            snn::Status inner;
            // Replaces this lambda, which stays alive until the run ends.
            p.on_spike([&second](const snn::SpikeEvent&) { ++second; }, inner);
            EXPECT_TRUE(inner.ok()) << inner.to_string();
            EXPECT_EQ(first, 1);  // still callable: its captures are intact
        },
        s);
    r.net.run(3, s);
    EXPECT_SNN(s);
    EXPECT_EQ(first, 1);
    EXPECT_EQ(second, 2);
}

#if SNN_HPP_EXCEPTIONS
TEST(Callbacks, AnExceptionStopsTheRunAndPropagates) {
    snn::Context ctx = cpptest::make_context();
    cpptest::Relay r = cpptest::make_relay(ctx, 2, 1e-3f);
    const std::vector<uint8_t> always(2, 1);
    r.in.bind_input(always);
    r.in.on_spike([](int64_t step, int32_t, snn::Span<const int32_t>) {
        if (step == 2) throw std::logic_error("game code failed at step 2");
    });
    try {
        r.net.run(10);
        FAIL() << "no exception";
    } catch (const std::logic_error& e) {
        EXPECT_STREQ(e.what(), "game code failed at step 2");
    }
    EXPECT_EQ(r.net.current_step(), 3);  // the step that threw is complete
    r.net.reset();
    snn::Status s;  // the Status form rethrows the callback's own exception too
    EXPECT_THROW(r.net.run(10, s), std::logic_error);
    EXPECT_EQ(r.net.current_step(), 3);
    EXPECT_TRUE(r.net.run(10)) << "the network stays usable";
}
#endif

// ---------------------------------------------------------------------------
// Bound buffers

TEST(Inputs, BoundBufferIsReadInPlaceEveryStep) {
    snn::Context ctx = cpptest::make_context();
    cpptest::Relay r = cpptest::make_relay(ctx, 3, 20e-3f, 2);
    snn::Status s;
    std::vector<float> buffer(6, 0.0f);  // [batch 2][n 3]
    r.in.bind_input(snn::Span<const float>(buffer), 0, s);
    ASSERT_SNN(s);
    r.net.step(s);
    EXPECT_EQ(r.in.read_spikes(s), std::vector<uint8_t>(6, 0));
    buffer[4] = 1.0f;  // instance 1, neuron 1: written in place, no call
    r.net.step(s);
    EXPECT_EQ(r.in.read_spikes(s), (std::vector<uint8_t>{0, 0, 0, 0, 1, 0}));
    buffer[4] = 0.0f;
    buffer[0] = 1.0f;
    r.net.step(s);
    EXPECT_EQ(r.in.read_spikes(s), (std::vector<uint8_t>{1, 0, 0, 0, 0, 0}));
    std::vector<uint8_t> spikes(6);
    EXPECT_EQ(r.in.read_spikes(spikes, s), 6);
    EXPECT_EQ(spikes[0], 1);
    r.in.unbind_input(s);
    r.net.step(s);
    EXPECT_EQ(r.in.read_spikes(s), std::vector<uint8_t>(6, 0));
    EXPECT_SNN(s);
}

TEST(Outputs, WholeRunBuffersGiveEachStepItsSlice) {
    snn::Context ctx = cpptest::make_context();
    cpptest::Relay r = cpptest::make_relay(ctx, 3, 2e-3f);
    snn::Status s;
    const int64_t steps = 5;
    std::vector<uint8_t> input(steps * 3);  // [steps][batch 1][n 3]
    for (int64_t k = 0; k < steps; ++k)
        for (int64_t j = 0; j < 3; ++j) input[k * 3 + j] = (k + j) % 2 == 0;
    r.in.bind_input(input, steps, s);
    ASSERT_SNN(s);
    std::vector<uint8_t> recorded(steps * 3, 7);
    std::vector<float> v(steps * 3, 0.0f);
    r.in.bind_output("spikes", snn::Span<uint8_t>(recorded), steps, s);
    ASSERT_SNN(s);
    r.out.bind_output("v", snn::Span<float>(v), steps, s);
    ASSERT_SNN(s);
    EXPECT_TRUE(r.net.run(steps, s));
    ASSERT_SNN(s);
    EXPECT_EQ(recorded, input);
    // out's neuron 0 gets the spikes of steps 0, 2 (delay 1): v in step 1 is
    // v_rest + w e^{-dt/tau}, and step 2 decays it once more.
    const double decay = std::exp(-kDt / kTauMem);
    EXPECT_NEAR(v[0 * 3 + 0], kVRest, 1e-7);
    EXPECT_NEAR(v[1 * 3 + 0], kVRest + 2e-3 * decay, 1e-7);
    EXPECT_NEAR(v[2 * 3 + 0], kVRest + 2e-3 * decay * decay, 1e-7);
    EXPECT_NEAR(v[2 * 3 + 1], kVRest + 2e-3 * decay, 1e-7);
    EXPECT_EQ(std::vector<float>(v.end() - 3, v.end()), r.out.read_state("v", s));

    r.net.reset(s);
    ASSERT_SNN(s);
    r.net.run(steps + 1, s);  // longer than the bound output
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.code(), SNN_SHAPE) << s.to_string();

    r.in.bind_input(std::vector<uint8_t>(7), steps, s);  // checked against [steps, batch, n] before libsnn reads it
    EXPECT_SNN_FAILED(s, SNN_SHAPE, "buffer: 7 values given");
    r.out.bind_output("v", snn::Span<float>(v), -1, s);
    EXPECT_SNN_FAILED(s, SNN_INVALID_ARGUMENT, "steps");
}

// ---------------------------------------------------------------------------
// Errors

TEST(Errors, StatusCarriesTheCodeAndTheLibrarysMessage) {
    snn::Context ctx = cpptest::make_context();
    cpptest::Relay r = cpptest::make_relay(ctx, 2, 1e-3f);
    snn::Status s;
    snn::Population missing = r.net.population("nope", s);
    EXPECT_FALSE(missing);
    EXPECT_EQ(s.code(), SNN_NOT_FOUND);
    EXPECT_SNN_FAILED(s, SNN_NOT_FOUND, "nope");
    EXPECT_EQ(s.to_string(), "SNN_NOT_FOUND: " + s.message());

    r.net.connect_dense(r.in, r.out, std::vector<float>(5), snn::ConnectionOptions(), s);
    EXPECT_SNN_FAILED(s, SNN_SHAPE, "weights");

    const std::string path = testing::TempDir() + "/no_such_dir_snn/none.snn";
    snn::Network none = snn::Network::load(ctx, path, snn::LoadOptions(), s);
    EXPECT_FALSE(none);
    EXPECT_SNN_FAILED(s, SNN_IO, "none.snn");

    // A refused call changes nothing, and the next success clears the status.
    EXPECT_EQ(r.net.connection_count(s), 1);
    EXPECT_SNN(s);
    r.net.run(2, s);
    EXPECT_SNN(s);
    r.net.add_population("late", 2, "lif", s);
    EXPECT_SNN_FAILED(s, SNN_STATE, "");
    EXPECT_FALSE(s.message().empty());
}

#if SNN_HPP_EXCEPTIONS
TEST(Errors, ExceptionsCarryTheCodeAndTheLibrarysMessage) {
    snn::Context ctx = cpptest::make_context();
    cpptest::Relay r = cpptest::make_relay(ctx, 2, 1e-3f);
    try {
        r.net.population("nope");
        FAIL() << "no exception";
    } catch (const snn::Error& e) {
        EXPECT_EQ(e.code(), SNN_NOT_FOUND);
        EXPECT_STREQ(e.name(), "SNN_NOT_FOUND");
        EXPECT_NE(e.message().find("nope"), std::string::npos) << e.message();
        EXPECT_EQ(std::string(e.what()), "SNN_NOT_FOUND: " + e.message());
    }
    try {
        r.conn.set_weights(std::vector<float>(5));
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {  // snn::Error is a std::runtime_error
        EXPECT_NE(std::string(e.what()).find("SNN_SHAPE"), std::string::npos) << e.what();
    }
    EXPECT_THROW(r.in.set_input(std::vector<float>(3)), snn::Error);
    EXPECT_THROW(snn::Context::create(snn::ContextOptions().backend("quantum")), snn::Error);
    snn::Status s;  // the Status form does not throw
    EXPECT_NO_THROW(r.net.population("nope", s));
    EXPECT_EQ(s.code(), SNN_NOT_FOUND);
    EXPECT_THROW(s.throw_if_error(), snn::Error);
}
#endif

// ---------------------------------------------------------------------------
// Ownership

TEST(Ownership, MovesLeaveTheSourceEmpty) {
    snn::Context a = cpptest::make_context();
    snn_context* raw_ctx = a.get();
    ASSERT_NE(raw_ctx, nullptr);
    snn::Context ctx(std::move(a));
    EXPECT_FALSE(a);
    EXPECT_EQ(a.get(), nullptr);
    EXPECT_EQ(ctx.get(), raw_ctx);

    snn::Status s;
    snn::Network n1 = snn::Network::create(ctx, snn::NetworkOptions(), s);
    snn::Population pop = n1.add_population("p", 2, "spike_source", s);
    int calls = 0;
    pop.on_spike([&calls](const snn::SpikeEvent&) { ++calls; }, s);
    ASSERT_SNN(s);
    snn_network* raw_net = n1.get();

    snn::Network n2(std::move(n1));
    EXPECT_FALSE(n1);
    EXPECT_EQ(n1.get(), nullptr);
    EXPECT_EQ(n2.get(), raw_net);
    n1.run(1, s);  // an empty owner fails cleanly
    EXPECT_EQ(s.code(), SNN_INVALID_ARGUMENT) << s.to_string();
    EXPECT_FALSE(s.message().empty());

    // Handles and callbacks follow the network object's moves.
    pop.set_input(std::vector<uint8_t>{1, 1}, s);
    n2.step(s);
    EXPECT_SNN(s);
    EXPECT_EQ(calls, 1);
    snn::Network n3;
    EXPECT_FALSE(n3);
    n3 = std::move(n2);
    EXPECT_FALSE(n2);
    pop.set_input(std::vector<uint8_t>{1, 0}, s);
    n3.step(s);
    EXPECT_SNN(s);
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(n3.current_step(s), 2);

    snn::StateView v1 = pop.view_state("spikes", s);
    if (s.ok()) {  // a view of the spikes where the backend offers one
        snn::StateView v2(std::move(v1));
        EXPECT_FALSE(v1);
        EXPECT_TRUE(v2);
    }
    n3.close();
    EXPECT_FALSE(n3);

    snn::Context other = cpptest::make_context("reference");
    ctx = std::move(other);  // destroys the first context
    EXPECT_FALSE(other);
    EXPECT_EQ(ctx.backend(s), "reference");
}

TEST(Ownership, ANetworkKeepsItsContextAlive) {
    snn::Status s;
    snn::Network net;
    snn::Population pop;
    {
        snn::Context ctx = cpptest::make_context();
        net = snn::Network::create(ctx, snn::NetworkOptions().dt(kDt), s);
        pop = net.add_population("p", 1, "lif", s);
        ASSERT_SNN(s);
    }  // the Context object is gone; the C context stays while the network needs it
    pop.write_state("v", std::vector<float>{-55e-3f}, s);
    EXPECT_TRUE(net.run(10, s));
    ASSERT_SNN(s);
    EXPECT_NEAR(pop.read_state("v", s)[0], kVRest + 10e-3 * std::exp(-10 * kDt / kTauMem), 1e-7);
    net.close();  // the last user: destroys the C context too (leak-checked under ASan)
}

TEST(Views, StateViewIsLiveAndWritesGoToTheState) {
    snn::Context ctx = cpptest::make_context();
    snn::Status s;
    snn::Network net = snn::Network::create(ctx, snn::NetworkOptions().batch(2), s);
    snn::Population pop = net.add_population("p", 3, "lif", s);
    const std::vector<float> v0 = {-60e-3f, -61e-3f, -62e-3f};
    pop.write_state("v", v0, s);  // the same n values for each instance
    ASSERT_SNN(s);
    snn::StateView view = pop.view_state("v", s);
    if (s.code() == SNN_UNSUPPORTED) GTEST_SKIP() << s.to_string();
    ASSERT_SNN(s);
    ASSERT_TRUE(view);
    EXPECT_EQ(view.batch(), 2);
    EXPECT_EQ(view.neurons(), 3);
    EXPECT_EQ(std::vector<float>(view.values().begin(), view.values().end()), pop.read_state("v", s));
    EXPECT_EQ(view(1, 2), v0[2]);
    view(1, 2) = -55e-3f;
    EXPECT_EQ(pop.read_state("v", s)[5], -55e-3f);
    net.step(s);  // the view follows the running state
    const std::vector<float> after = pop.read_state("v", s);
    EXPECT_EQ(std::vector<float>(view.values().begin(), view.values().end()), after);
    EXPECT_EQ(view.instance(1)[0], after[3]);

    net.set_batch(3, s);
    EXPECT_SNN_FAILED(s, SNN_STATE, "");
    view.close();
    EXPECT_FALSE(view);
    net.set_batch(3, s);
    EXPECT_SNN(s);
    EXPECT_EQ(net.batch(s), 3);

    snn::StateView kept = pop.view_state("v", s);
    ASSERT_SNN(s);
    const std::vector<float> last = pop.read_state("v", s);
    net.close();  // the view keeps the C network alive until it is released
    EXPECT_FALSE(net);
    EXPECT_EQ(kept.size(), last.size());
    EXPECT_EQ(std::vector<float>(kept.values().begin(), kept.values().end()), last);
    kept.close();  // now the network goes (leak- and use-checked under ASan)
}

// ---------------------------------------------------------------------------
// Building

TEST(Params, NumbersArraysOptionsAndRandomState) {
    snn::Context ctx = cpptest::make_context();
    snn::Status s;
    snn::Network net = snn::Network::create(ctx, snn::NetworkOptions().seed(4), s);
    snn::Population pop = net.add_population("p", {2, 2}, "lif", s);
    ASSERT_SNN(s);
    EXPECT_EQ(pop.size(), 4);
    EXPECT_EQ(pop.shape(s), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(pop.name(s), "p");
    EXPECT_EQ(pop.model(s), "lif");
    EXPECT_FALSE(pop.is_input(s));
    pop.set_param("v_th", -40e-3, s);
    EXPECT_EQ(pop.param("v_th", s), std::vector<float>(4, -40e-3f));
    const std::vector<float> taus = {10e-3f, 20e-3f, 30e-3f, 40e-3f};
    pop.set_param("tau_mem", taus, s);
    EXPECT_EQ(pop.param("tau_mem", s), taus);
    ASSERT_SNN(s);
    pop.set_param("tau_mem", std::vector<float>(3, 1e-3f), s);
    EXPECT_EQ(s.code(), SNN_SHAPE) << s.to_string();
    pop.set_param("no_such_param", 1.0, s);
    EXPECT_SNN_FAILED(s, SNN_NOT_FOUND, "no_such_param");
    pop.set_option("reset", "subtract", s);
    EXPECT_EQ(pop.option("reset", s), "subtract");
    EXPECT_SNN(s);

    pop.randomize_state("v", snn::Distribution::uniform, -60e-3, -50e-3, 21, s);
    const std::vector<float> v = pop.read_state("v", s);
    ASSERT_EQ(v.size(), 4u);
    for (float x : v) {
        EXPECT_GE(x, -60e-3f);
        EXPECT_LT(x, -50e-3f);
    }
    EXPECT_NE(v[0], v[1]);
    snn::Network twin = snn::Network::create(ctx, snn::NetworkOptions().seed(4), s);
    snn::Population twin_pop = twin.add_population("p", 4, "lif", s);
    twin_pop.randomize_state("v", snn::Distribution::uniform, -60e-3, -50e-3, 21, s);
    EXPECT_EQ(twin_pop.read_state("v", s), v) << "the same seed draws the same values";
}

TEST(Connections, EveryKindKeepsItsWeightsAndSynapses) {
    snn::Context ctx = cpptest::make_context();
    snn::Status s;
    snn::Network net = snn::Network::create(ctx, snn::NetworkOptions(), s);
    snn::Population a = net.add_population("a", 3, "lif", s);
    snn::Population b = net.add_population("b", 2, "lif", s);
    snn::Population c = net.add_population("c", 3, "lif", s);
    ASSERT_SNN(s);

    const std::vector<float> dense_w = {1e-3f, 2e-3f, 3e-3f, 4e-3f, 5e-3f, 6e-3f};  // [3][2]
    snn::Connection dense = net.connect_dense(a, b, dense_w, snn::ConnectionOptions().synapse("exp"), s);
    ASSERT_SNN(s);
    EXPECT_EQ(dense.name(s), "a_to_b");
    EXPECT_EQ(dense.synapse(s), "exp");
    EXPECT_EQ(dense.info(s).kind, SNN_CONNECTION_DENSE);
    EXPECT_EQ(dense.nnz(s), 6);
    EXPECT_TRUE(dense.pre(s) == a);
    EXPECT_TRUE(dense.post(s) == b);
    EXPECT_EQ(dense.post(s).size(), 2);
    EXPECT_EQ(dense.weights(s), dense_w);
    dense.set_param("tau", 7e-3, s);
    EXPECT_EQ(dense.param("tau", s), static_cast<double>(7e-3f)) << "stored as float32";
    const std::vector<float> doubled = {2e-3f, 4e-3f, 6e-3f, 8e-3f, 10e-3f, 12e-3f};
    dense.set_weights(doubled, s);
    std::vector<float> got(6);
    EXPECT_EQ(dense.weights(got, s), 6);
    EXPECT_EQ(got, doubled);
    EXPECT_EQ(dense.read_state("I", s), std::vector<float>(2, 0.0f));
    dense.write_state("I", std::vector<float>{1e-3f, 2e-3f}, s);
    EXPECT_EQ(dense.read_state("I", s), (std::vector<float>{1e-3f, 2e-3f}));
    ASSERT_SNN(s);

    const std::vector<int64_t> row_ptr = {0, 1, 1, 3};
    const std::vector<int32_t> post_index = {1, 0, 1};
    const std::vector<float> sparse_w = {0.1f, 0.2f, 0.3f};
    const std::vector<int32_t> delays = {1, 2, 3};
    snn::Connection sparse =
        net.connect_sparse(a, b, row_ptr, post_index, sparse_w, delays, snn::ConnectionOptions().name("sp"), s);
    ASSERT_SNN(s);
    EXPECT_EQ(sparse.info(s).kind, SNN_CONNECTION_SPARSE);
    EXPECT_EQ(sparse.info(s).has_synapse_delays, 1);
    const snn::Synapses syn = sparse.synapses(s);
    EXPECT_EQ(syn.pre, (std::vector<int32_t>{0, 2, 2}));
    EXPECT_EQ(syn.post, (std::vector<int32_t>{1, 0, 1}));
    EXPECT_EQ(syn.delays, delays);
    EXPECT_EQ(sparse.weights(s), sparse_w);
    net.connect_sparse(a, b, std::vector<int64_t>{0, 1, 3}, post_index, sparse_w, {}, snn::ConnectionOptions(), s);
    EXPECT_SNN_FAILED(s, SNN_SHAPE, "row_ptr");
    net.connect_sparse(a, b, row_ptr, post_index, sparse_w, std::vector<int32_t>{1}, snn::ConnectionOptions(), s);
    EXPECT_SNN_FAILED(s, SNN_SHAPE, "delays");

    snn::Connection random = net.connect_random(a, c, 0.5, 0.25f, 9, snn::ConnectionOptions().delay(2), s);
    ASSERT_SNN(s);
    EXPECT_EQ(random.info(s).kind, SNN_CONNECTION_SPARSE);
    EXPECT_EQ(random.info(s).delay, 2);
    const snn::Synapses drawn = random.synapses(s);
    EXPECT_EQ(random.weights(s), std::vector<float>(drawn.pre.size(), 0.25f));
    snn::Network twin = snn::Network::create(ctx, snn::NetworkOptions(), s);
    snn::Population ta = twin.add_population("a", 3, "lif", s);
    snn::Population tc = twin.add_population("c", 3, "lif", s);
    const snn::Synapses twin_drawn = twin.connect_random(ta, tc, 0.5, 0.25f, 9, snn::ConnectionOptions(), s).synapses(s);
    EXPECT_EQ(twin_drawn.pre, drawn.pre) << "the same seed draws the same synapses";
    EXPECT_EQ(twin_drawn.post, drawn.post);

    twin.connect_one_to_one(ta, c, 1.0f, snn::ConnectionOptions(), s);  // c belongs to `net`
    EXPECT_SNN_FAILED(s, SNN_INVALID_ARGUMENT, "post: a population of another network");
    net.connect_random(snn::Population(), c, 0.5, 1.0f, 1, snn::ConnectionOptions(), s);
    EXPECT_SNN_FAILED(s, SNN_INVALID_ARGUMENT, "pre: an empty handle");

    snn::Connection one = net.connect_one_to_one(a, c, std::vector<float>{1.0f, 2.0f, 3.0f}, snn::ConnectionOptions(), s);
    EXPECT_EQ(one.info(s).kind, SNN_CONNECTION_ONE_TO_ONE);
    EXPECT_EQ(one.weights(s), (std::vector<float>{1.0f, 2.0f, 3.0f}));
    snn::Connection same = net.connect_one_to_one(c, a, 0.5f, snn::ConnectionOptions(), s);
    EXPECT_EQ(same.weights(s), std::vector<float>(3, 0.5f));
    ASSERT_SNN(s);
    net.connect_one_to_one(a, b, 0.5f, snn::ConnectionOptions(), s);
    EXPECT_FALSE(s.ok()) << "3 -> 2 neurons cannot be one to one";

    EXPECT_EQ(net.connection_count(s), 5);
    EXPECT_TRUE(net.connection("sp", s) == sparse);
    EXPECT_TRUE(net.connection(0, s) == dense);
    net.connection(5, s);
    EXPECT_EQ(s.code(), SNN_OUT_OF_RANGE);
    const std::vector<snn::Connection> all = net.connections(s);
    ASSERT_EQ(all.size(), 5u);
    EXPECT_TRUE(all[4] == same);
    const std::vector<snn::Population> pops = net.populations(s);
    ASSERT_EQ(pops.size(), 3u);
    EXPECT_TRUE(pops[1] == b);
    EXPECT_EQ(pops[2].size(), 3);
}

// ---------------------------------------------------------------------------
// Files

TEST(Files, SaveAndLoadKeepTheNetworkAndItsBehaviour) {
    snn::Context ctx = cpptest::make_context();
    cpptest::Relay r = cpptest::make_relay(ctx, 3, 20e-3f);
    snn::Status s;
    r.out.set_param("tau_mem", 15e-3, s);
    const std::vector<uint8_t> bytes = r.net.save_to_memory(SNN_SAVE_DEFAULT, s);
    ASSERT_SNN(s);
    ASSERT_GT(bytes.size(), 8u);

    snn::Network copy = snn::Network::load_from_memory(ctx, bytes, snn::LoadOptions().batch(3), s);
    ASSERT_SNN(s);
    EXPECT_EQ(copy.batch(s), 3);
    EXPECT_EQ(copy.population("out", s).param("tau_mem", s), std::vector<float>(3, 15e-3f));
    EXPECT_EQ(copy.connection("relay", s).weights(s), std::vector<float>(3, 20e-3f));
    EXPECT_DOUBLE_EQ(copy.dt(s), kDt);

    const std::string path = testing::TempDir() + "/snn_cpp_wrapper_test.snn";
    r.net.save(path, SNN_SAVE_DEFAULT, s);
    ASSERT_SNN(s);
    snn::Network loaded = snn::Network::load(ctx, path, snn::LoadOptions(), s);
    ASSERT_SNN(s);
    std::remove(path.c_str());
    EXPECT_EQ(loaded.save_to_memory(SNN_SAVE_DEFAULT, s), bytes) << "a saved file loads back to the same bytes";
    // Same input, same spikes.
    const std::vector<uint8_t> x = {1, 0, 1};
    for (snn::Network* net : {&r.net, &loaded}) {
        net->population("in", s).set_input(x, s);
        net->run(2, s);
    }
    EXPECT_EQ(loaded.population("out", s).read_spikes(s), (std::vector<uint8_t>{1, 0, 1}));
    EXPECT_EQ(loaded.population("out", s).read_spikes(s), r.out.read_spikes(s));
    EXPECT_SNN(s);

    std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2));
    snn::Network bad = snn::Network::load_from_memory(ctx, truncated, snn::LoadOptions(), s);
    EXPECT_FALSE(bad);
    EXPECT_EQ(s.code(), SNN_FORMAT) << s.to_string();
}

}  // namespace
