// Tests of snn::RealtimeRunner (engines/unreal/Source/SnnRuntime/Public/
// SnnRealtimeRunner.h), the engine-independent part of the Unreal plugin:
// frame time to steps, the in-place input buffer, spikes per frame.
#include "helpers.hpp"

#include <SnnRealtimeRunner.h>

#include <algorithm>
#include <cstdio>
#include <utility>

using cpptest::kDt;

namespace {

struct Frame {
    std::string population;
    int64_t step;
    int32_t batch_index;
    std::vector<int32_t> ids;
    bool operator==(const Frame& o) const {
        return population == o.population && step == o.step && batch_index == o.batch_index && ids == o.ids;
    }
};

std::vector<Frame> frames(const snn::RealtimeRunner& runner) {
    std::vector<Frame> out;
    for (std::size_t k = 0; k < runner.spike_count(); ++k) {
        const snn::RealtimeSpikes e = runner.spikes(k);
        out.push_back({runner.populations()[static_cast<std::size_t>(e.population)], e.step, e.batch_index,
                       std::vector<int32_t>(e.neuron_ids.begin(), e.neuron_ids.end())});
    }
    return out;
}

// A relay network handed to a runner that feeds "in" from its input buffer.
bool open_relay(snn::RealtimeRunner& runner, int64_t n, int32_t batch, int32_t max_steps, snn::Status& s) {
    snn::Context ctx = cpptest::make_context();
    cpptest::Relay r = cpptest::make_relay(ctx, n, 20e-3f, batch);
    snn::RealtimeSettings settings;
    settings.input_population = "in";
    settings.max_steps_per_advance = max_steps;
    return runner.open(std::move(ctx), std::move(r.net), settings, s);
}

TEST(Realtime, RunsTheWholeStepsAFrameOwesAndCarriesTheRest) {
    snn::RealtimeRunner runner;
    snn::Status s;
    ASSERT_TRUE(open_relay(runner, 2, 1, 50, s)) << s.to_string();
    EXPECT_TRUE(runner.is_open());
    EXPECT_DOUBLE_EQ(runner.dt(), kDt);
    EXPECT_EQ(runner.populations(), std::vector<std::string>{"out"}) << "sources are not reported by default";

    EXPECT_EQ(runner.advance(3.5 * kDt, s), 3);
    EXPECT_NEAR(runner.pending_seconds(), 0.5 * kDt, 1e-12);
    EXPECT_EQ(runner.advance(0.5 * kDt, s), 1);  // the carried half step completes one
    for (int k = 0; k < 3; ++k) EXPECT_EQ(runner.advance(kDt, s), 1) << "frame " << k;
    EXPECT_EQ(runner.advance(0.0, s), 0);
    EXPECT_EQ(runner.network().current_step(s), 7);
    EXPECT_SNN(s);

    // A long frame runs at most max_steps_per_advance steps and drops the rest.
    EXPECT_EQ(runner.advance(1.0, s), 50);
    EXPECT_EQ(runner.dropped_steps(), 10000 - 50);
    EXPECT_EQ(runner.network().current_step(s), 57);

    runner.advance(-1.0, s);
    EXPECT_SNN_FAILED(s, SNN_INVALID_ARGUMENT, "seconds");
    runner.advance(std::nan(""), s);
    EXPECT_SNN_FAILED(s, SNN_INVALID_ARGUMENT, "seconds");

    ASSERT_TRUE(runner.reset(s)) << s.to_string();
    EXPECT_EQ(runner.network().current_step(s), 0);
    EXPECT_EQ(runner.dropped_steps(), 0);
}

TEST(Realtime, InputWrittenInPlaceDrivesTheSpikesOfEachFrame) {
    snn::RealtimeRunner runner;
    snn::Status s;
    ASSERT_TRUE(open_relay(runner, 3, 2, 100, s)) << s.to_string();
    snn::Span<float> input = runner.input();
    ASSERT_EQ(input.size(), 6u);  // [batch 2][n 3]
    input[1] = 1.0f;              // instance 0, neuron 1
    input[5] = 1.0f;              // instance 1, neuron 2
    EXPECT_EQ(runner.advance(2 * kDt, s), 2);
    ASSERT_SNN(s);
    // "in" spikes in steps 0 and 1; "out" follows one step later.
    const std::vector<Frame> first = {{"out", 1, 0, {1}}, {"out", 1, 1, {2}}};
    EXPECT_EQ(frames(runner), first);

    std::fill(input.begin(), input.end(), 0.0f);
    EXPECT_EQ(runner.advance(2 * kDt, s), 2);
    const std::vector<Frame> second = {{"out", 2, 0, {1}}, {"out", 2, 1, {2}}};  // from step 1's input
    EXPECT_EQ(frames(runner), second);
    EXPECT_EQ(runner.advance(2 * kDt, s), 2);
    EXPECT_EQ(runner.spike_count(), 0u);
    EXPECT_SNN(s);
}

TEST(Realtime, OpensASavedNetworkAndRefusesBadSettings) {
    const std::string path = testing::TempDir() + "/snn_realtime_test.snn";
    {
        snn::Context ctx = cpptest::make_context();
        cpptest::Relay r = cpptest::make_relay(ctx, 2, 20e-3f, 3);
        snn::Status s;
        r.net.save(path, SNN_SAVE_DEFAULT, s);
        ASSERT_SNN(s);
    }
    snn::RealtimeSettings settings;
    settings.network_file = path;
    settings.backend = "reference";
    settings.batch = 2;
    settings.input_population = "in";
    settings.spike_populations = {"in", "out"};
    snn::RealtimeRunner runner;
    snn::Status s;
    ASSERT_TRUE(runner.open(settings, s)) << s.to_string();
    EXPECT_EQ(runner.context().backend(s), "reference");
    EXPECT_EQ(runner.network().batch(s), 2);
    EXPECT_EQ(runner.input().size(), 4u);
    EXPECT_EQ(runner.populations(), (std::vector<std::string>{"in", "out"}));
    runner.input()[0] = 1.0f;
    EXPECT_EQ(runner.advance(kDt, s), 1);
    const std::vector<Frame> want = {{"in", 0, 0, {0}}};
    EXPECT_EQ(frames(runner), want);

    settings.input_population = "nope";
    EXPECT_FALSE(runner.open(settings, s));
    EXPECT_SNN_FAILED(s, SNN_NOT_FOUND, "nope");
    EXPECT_FALSE(runner.is_open());
    runner.advance(kDt, s);
    EXPECT_SNN_FAILED(s, SNN_STATE, "not open");

    settings.input_population = "out";  // not a source
    EXPECT_FALSE(runner.open(settings, s));
    EXPECT_EQ(s.code(), SNN_INVALID_ARGUMENT) << s.to_string();

    settings.input_population.clear();
    settings.max_steps_per_advance = 0;
    EXPECT_FALSE(runner.open(settings, s));
    EXPECT_SNN_FAILED(s, SNN_INVALID_ARGUMENT, "max_steps_per_advance");

    std::remove(path.c_str());
    settings.max_steps_per_advance = 10;
    EXPECT_FALSE(runner.open(settings, s));
    EXPECT_EQ(s.code(), SNN_IO) << s.to_string();
}

}  // namespace
