// Tests of the newer parts of the C++ wrapper: the trainer (a tiny network
// learns), conv2d connections (one step against a hand-computed
// convolution), plasticity with a learning callback, and the stateless
// vision functions. Status forms throughout, so the no-exceptions build runs
// them too.
#include "helpers.hpp"

#include <algorithm>
#include <numeric>

namespace {

// src (spike_source 4) -> out (li 2), dense, delta, delay 0. Sequence 0
// drives inputs 0 and 1, sequence 1 inputs 2 and 3; labels 0 and 1.
struct Tiny {
    snn::Network net;
    snn::Population src, out;
    snn::Connection w;
};

Tiny make_tiny(snn::Context& ctx) {
    snn::Status s;
    Tiny t;
    t.net = snn::Network::create(ctx, snn::NetworkOptions().dt(1e-3), s);
    EXPECT_SNN(s);
    t.src = t.net.add_population("src", 4, "spike_source", s);
    t.out = t.net.add_population("out", 2, "li", s);
    const std::vector<float> w(8, 0.1f);
    t.w = t.net.connect_dense(t.src, t.out, w, snn::ConnectionOptions().delay(0), s);
    EXPECT_SNN(s);
    return t;
}

std::vector<uint8_t> tiny_input(int64_t steps) {
    std::vector<uint8_t> x(static_cast<std::size_t>(steps * 2 * 4), 0);
    for (int64_t k = 0; k < steps; k += 2) {
        x[static_cast<std::size_t>((k * 2 + 0) * 4 + 0)] = 1;
        x[static_cast<std::size_t>((k * 2 + 0) * 4 + 1)] = 1;
        x[static_cast<std::size_t>((k * 2 + 1) * 4 + 2)] = 1;
        x[static_cast<std::size_t>((k * 2 + 1) * 4 + 3)] = 1;
    }
    return x;
}

TEST(Trainer, TinyNetworkLearns) {
    snn::Context ctx = cpptest::make_context("reference");
    Tiny t = make_tiny(ctx);
    snn::Status s;
    snn::Trainer trainer = snn::Trainer::create(t.net, snn::TrainerOptions().input_grads(true), s);
    ASSERT_SNN(s);
    ASSERT_TRUE(trainer);
    trainer.set_optimizer(snn::OptimizerOptions(snn::Optimizer::adam).learning_rate(0.05), s);
    ASSERT_SNN(s);
    trainer.train_param(t.out, "tau_mem", true, s);
    ASSERT_SNN(s);
    const int64_t steps = 10;
    const std::vector<uint8_t> x = tiny_input(steps);
    const std::vector<int32_t> labels = {0, 1};
    const std::vector<float> before = t.w.weights(s);
    double first = 0.0, last = 0.0;
    for (int k = 0; k < 15; ++k) {
        trainer.forward(steps, 2, t.src, x, s);
        ASSERT_SNN(s);
        const double loss = trainer.loss(t.out, "ce_mean_v", labels, s);
        ASSERT_SNN(s);
        if (k == 0) first = loss;
        last = loss;
        trainer.backward(s);
        ASSERT_SNN(s);
        if (k == 0) {
            const std::vector<float> g = trainer.read_grad(t.w, s);
            ASSERT_SNN(s);
            EXPECT_EQ(g.size(), 8u);
            EXPECT_NE(g[0], 0.0f);
            EXPECT_EQ(trainer.read_param_grad(t.out, "tau_mem", s).size(), 2u);
            ASSERT_SNN(s);
            EXPECT_EQ(trainer.read_input_grad(t.src, s).size(), static_cast<std::size_t>(steps * 2 * 4));
            ASSERT_SNN(s);
            EXPECT_EQ(trainer.read_output(t.out, "v", s).size(), static_cast<std::size_t>(steps * 2 * 2));
            ASSERT_SNN(s);
            EXPECT_GT(trainer.tape_bytes(s), 0);
        }
        trainer.step(s);
        ASSERT_SNN(s);
        trainer.zero_grad(s);
        ASSERT_SNN(s);
    }
    EXPECT_LT(last, first);
    EXPECT_NE(t.w.weights(s), before) << "the trainer trains the network's own weights";
    // Gradients written by hand come back; an output gradient of the caller's own loss backpropagates.
    const std::vector<float> g(8, 0.5f);
    trainer.write_grad(t.w, g, s);
    ASSERT_SNN(s);
    EXPECT_EQ(trainer.read_grad(t.w, s), g);
    trainer.zero_grad(s);
    trainer.forward(steps, 2, t.src, x, s);
    trainer.add_output_grad(t.out, "v", std::vector<float>(static_cast<std::size_t>(steps * 2 * 2), 1.0f), s);
    ASSERT_SNN(s);
    trainer.backward(s);
    ASSERT_SNN(s);
    trainer.reset_state(s);
    ASSERT_SNN(s);
    trainer.close();
    EXPECT_FALSE(trainer);
}

TEST(Trainer, ErrorsCarryTheLibrarysMessage) {
    snn::Context ctx = cpptest::make_context("reference");
    Tiny t = make_tiny(ctx);
    snn::Status s;
    snn::Trainer trainer = snn::Trainer::create(t.net, s);
    ASSERT_SNN(s);
    const std::vector<int32_t> labels = {0};
    trainer.loss(t.out, "ce_mean_v", labels, s);
    EXPECT_SNN_FAILED(s, SNN_STATE, "forward");
    trainer.forward(5, 1, t.src, std::vector<uint8_t>(19), s);
    EXPECT_SNN_FAILED(s, SNN_SHAPE, "input: 19 values given");
    trainer.forward(5, 1, t.src, std::vector<uint8_t>(20), s);
    ASSERT_SNN(s);
    trainer.loss(t.out, "hinge", labels, s);
    EXPECT_SNN_FAILED(s, SNN_INVALID_ARGUMENT, "hinge");
    trainer.set_optimizer(snn::OptimizerOptions().betas(0.9, 1.0), s);
    EXPECT_SNN_FAILED(s, SNN_INVALID_ARGUMENT, "beta2");
    Tiny other = make_tiny(ctx);
    trainer.read_grad(other.w, s);
    EXPECT_SNN_FAILED(s, SNN_INVALID_ARGUMENT, "another network");
    snn::Trainer empty;
    empty.backward(s);
    EXPECT_SNN_FAILED(s, SNN_INVALID_ARGUMENT, "trainer");
    // A network the trainer cannot differentiate is refused at creation, by name.
    snn::Network izh = snn::Network::create(ctx, snn::NetworkOptions(), s);
    izh.add_population("izh", 3, "izhikevich", s);
    snn::Trainer refused = snn::Trainer::create(izh, s);
    EXPECT_SNN_FAILED(s, SNN_UNSUPPORTED, "izhikevich");
    EXPECT_FALSE(refused);
#if SNN_HPP_EXCEPTIONS
    try {
        trainer.loss(t.out, "hinge", labels);
        ADD_FAILURE() << "no exception";
    } catch (const snn::Error& e) {
        EXPECT_EQ(e.code(), SNN_INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("hinge"), std::string::npos);
    }
#endif
}

// ---------------------------------------------------------------------------
// conv2d

TEST(Conv2d, OneStepByHand) {
    // Input 1 x 3 x 3 (the diagonal), kernel 2 x 2 [1 2; 3 4]: the 2 x 2
    // cross-correlation is [5 3; 2 5].
    snn::Context ctx = cpptest::make_context("reference");
    snn::Status s;
    snn::Network net = snn::Network::create(ctx, snn::NetworkOptions().dt(1e-3), s);
    snn::Population src = net.add_population("src", {1, 3, 3}, "spike_source", s);
    snn::Population out = net.add_population("out", {1, 2, 2}, "if", s);
    out.set_param("v_reset", 0.0, s);
    out.set_param("v_th", 1e9, s);
    ASSERT_SNN(s);
    const snn::Conv2dGeometry g = snn::Conv2dGeometry().input(1, 3, 3).out_channels(1).kernel(2, 2);
    EXPECT_EQ(g.weight_count(), 4);
    const std::vector<float> kernel = {1, 2, 3, 4};
    snn::Connection conv = net.connect_conv2d(src, out, g, kernel, snn::ConnectionOptions().delay(0), s);
    ASSERT_SNN(s);
    EXPECT_EQ(conv.info(s).kind, SNN_CONNECTION_CONV2D);
    const snn::Conv2dGeometry back = conv.conv2d(s);
    ASSERT_SNN(s);
    EXPECT_EQ(back.raw().in_height, 3);
    EXPECT_EQ(back.raw().kernel_width, 2);
    EXPECT_EQ(back.raw().stride_y, 1) << "defaults filled in";
    EXPECT_EQ(back.raw().pool, SNN_POOL_NONE);
    net.connect_conv2d(src, out, g, std::vector<float>(3), snn::ConnectionOptions(), s);
    EXPECT_SNN_FAILED(s, SNN_SHAPE, "weights");
    src.set_input(std::vector<uint8_t>{1, 0, 0, 0, 1, 0, 0, 0, 1}, s);
    net.step(s);
    ASSERT_SNN(s);
    EXPECT_EQ(out.read_state("v", s), (std::vector<float>{5, 3, 2, 5}));
    conv.set_option("plasticity", "nope", s);
    EXPECT_FALSE(s.ok());
}

// ---------------------------------------------------------------------------
// Plasticity

TEST(Plasticity, StdpLearnsAndTheCallbackSeesIt) {
    // Input 0 spikes in step 0, input 1 (strong) in step 3, so the neuron
    // spikes in step 4: both weights are potentiated then (docs/models.md).
    snn::Context ctx = cpptest::make_context("reference");
    snn::Status s;
    snn::Network net = snn::Network::create(ctx, snn::NetworkOptions().dt(1e-3), s);
    snn::Population in = net.add_population("in", 2, "spike_source", s);
    snn::Population out = net.add_population("out", 1, "lif", s);
    for (const char* p : {"v_rest", "v_reset"}) out.set_param(p, 0.0, s);
    out.set_param("v_th", 1.0, s);
    snn::Connection c = net.connect_dense(in, out, std::vector<float>{0.5f, 5.0f}, snn::ConnectionOptions(), s);
    ASSERT_SNN(s);
    c.on_learning([](const snn::LearningEvent&) {}, s);
    EXPECT_SNN_FAILED(s, SNN_INVALID_ARGUMENT, "no learning rule");
    c.set_option("plasticity", "stdp", s);
    ASSERT_SNN(s);
    EXPECT_EQ(c.option("plasticity", s), "stdp");
    c.set_param("w_max", 10.0, s);
    c.set_param("a_plus", 0.25, s);
    ASSERT_SNN(s);
    EXPECT_EQ(c.param("a_plus", s), 0.25);
    const std::vector<std::string> rules = snn::models(snn::ModelKind::plasticity, s);
    EXPECT_NE(std::find(rules.begin(), rules.end(), "stdp"), rules.end());
    int calls = 0;
    int64_t changed = 0, step = -1;
    std::vector<int32_t> columns;
    c.on_learning(
        [&](const snn::LearningEvent& e) {
            ++calls;
            changed = e.synapses_changed;
            step = e.step;
            columns.assign(e.columns.begin(), e.columns.end());
            EXPECT_EQ(e.connection, c);
            EXPECT_FALSE(e.all);
        },
        s);
    ASSERT_SNN(s);
    const std::vector<std::vector<uint8_t>> inputs = {{1, 0}, {0, 0}, {0, 0}, {0, 1}, {0, 0}};
    for (const auto& x : inputs) {
        in.set_input(x, s);
        net.step(s);
        ASSERT_SNN(s);
    }
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(step, 4);
    EXPECT_GT(changed, 0);
    EXPECT_EQ(columns, std::vector<int32_t>{0});
    const std::vector<float> w = c.weights(s);
    EXPECT_GT(w[0], 0.5f);
    EXPECT_GT(w[1], 5.0f);
    // A callback returning true stops the run after the step.
    c.on_learning([](const snn::LearningEvent&) { return true; }, s);
    in.set_input(std::vector<uint8_t>{1, 1}, s);  // depression by the postsynaptic trace: a change
    const int64_t before = net.current_step(s);
    EXPECT_FALSE(net.run(5, s));
    ASSERT_SNN(s);
    EXPECT_EQ(net.current_step(s), before + 1);
    c.remove_learning_callback(s);
    ASSERT_SNN(s);
    c.set_option("learning", "off", s);
    ASSERT_SNN(s);
    EXPECT_EQ(c.option("learning", s), "off");
}

// ---------------------------------------------------------------------------
// Vision

TEST(Vision, FiltersWhiteningAndLatencyCoding) {
    snn::Status s;
    const snn::FilterBank dog = snn::filter_kernels(snn::FilterOptions("dog").size(5), s);
    ASSERT_SNN(s);
    EXPECT_EQ(dog.filters, 1);
    EXPECT_EQ(dog.size, 5);
    ASSERT_EQ(dog.kernels.size(), 25u);
    EXPECT_NEAR(std::accumulate(dog.kernels.begin(), dog.kernels.end(), 0.0), 0.0, 1e-5) << "zero mean";
    EXPECT_GT(dog.kernels[12], 0.0f) << "on-centre";
    const snn::FilterBank gabor = snn::filter_kernels(snn::FilterOptions("gabor").orientations(3), s);
    ASSERT_SNN(s);
    EXPECT_EQ(gabor.filters, 3);
    EXPECT_EQ(gabor.kernels.size(), 3u * 7u * 7u);
    snn::filter_kernels(snn::FilterOptions().size(4), s);
    EXPECT_SNN_FAILED(s, SNN_INVALID_ARGUMENT, "size");

    // The same cross-correlation as the conv2d test.
    const snn::ImageFilterGeometry g = snn::ImageFilterGeometry().images(1, 1, 3, 3).kernels(1, 2, 2);
    const std::vector<float> image = {1, 0, 0, 0, 1, 0, 0, 0, 1}, kernel = {1, 2, 3, 4};
    EXPECT_EQ(snn::image_filter(g, image, kernel, s), (std::vector<float>{5, 3, 2, 5}));
    ASSERT_SNN(s);
    const std::vector<float> on_off =
        snn::image_filter(snn::ImageFilterGeometry(g).on_off(true), image, std::vector<float>{-1, 0, 0, 0}, s);
    ASSERT_SNN(s);
    EXPECT_EQ(on_off, (std::vector<float>{0, 0, 0, 0, 1, 0, 0, 1}));
    snn::image_filter(g, std::vector<float>(8), kernel, s);
    EXPECT_SNN_FAILED(s, SNN_SHAPE, "images: 8 values given");

    // One column, values 0 and 2: mean 1, variance 1, W = 1.
    const snn::Zca zca = snn::zca_fit(std::vector<float>{0, 2}, 2, 1, 0.0, s);
    ASSERT_SNN(s);
    EXPECT_EQ(zca.mean, std::vector<float>{1});
    ASSERT_EQ(zca.whitening.size(), 1u);
    EXPECT_NEAR(zca.whitening[0], 1.0f, 1e-6);
    const std::vector<float> white = snn::zca_apply(zca, std::vector<float>{0, 2, 3}, s);
    ASSERT_SNN(s);
    ASSERT_EQ(white.size(), 3u);
    EXPECT_NEAR(white[0], -1.0f, 1e-6);
    EXPECT_NEAR(white[2], 2.0f, 1e-6);
    snn::zca_fit(std::vector<float>{1}, 1, 1, 0.0, s);
    EXPECT_SNN_FAILED(s, SNN_INVALID_ARGUMENT, "rows");

    // Rank order over 4 steps: 0.9 first, 0.5 at floor(1 * 4 / 2) = 2, 0 never.
    const snn::LatencyCode code = snn::latency_encode(std::vector<float>{0.9f, 0.5f, 0.0f}, 1, 4, snn::LatencyOptions(), s);
    ASSERT_SNN(s);
    EXPECT_EQ(code.first, (std::vector<int32_t>{0, 2, -1}));
    ASSERT_EQ(code.spikes.size(), 12u);
    EXPECT_EQ(snn::spikes_first_step(code.spikes, 4, 1, s), code.first);
    EXPECT_EQ(snn::spikes_count(code.spikes, 4, 1, s), (std::vector<int32_t>{1, 1, 0}));
    ASSERT_SNN(s);
    snn::latency_encode(std::vector<float>{0.5f}, 1, 0, snn::LatencyOptions(), s);
    EXPECT_SNN_FAILED(s, SNN_INVALID_ARGUMENT, "steps");
    snn::spikes_count(std::vector<uint8_t>(7), 2, 1, s);
    EXPECT_SNN_FAILED(s, SNN_SHAPE, "spikes: 7 values given");
}

}  // namespace
