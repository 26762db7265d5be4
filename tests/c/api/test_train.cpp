// The trainer through the C API alone: a training loop that learns, the
// gradient against a finite difference on a smooth readout, thread-count
// independence, carry_state, and every refusal with its status and message.
// (tests/python/test_train.py checks the gradients against a NumPy BPTT;
// here the same code runs under the sanitizers.)
#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include "helpers.h"

using namespace snntest;

namespace {

struct TrainerDeleter {
    void operator()(snn_trainer* t) const { snn_trainer_destroy(t); }
};
using Trainer = std::unique_ptr<snn_trainer, TrainerDeleter>;

Trainer make_trainer(snn_network* net, int32_t detach = 0, int32_t carry = 0, int32_t input_grads = 0) {
    snn_trainer_options o;
    EXPECT_SNN_OK(snn_trainer_options_init(&o, sizeof o));
    o.detach_reset = detach;
    o.carry_state = carry;
    o.input_grads = input_grads;
    snn_trainer* t = nullptr;
    EXPECT_SNN_OK(snn_trainer_create(net, &o, &t));
    return Trainer(t);
}

// src (spike_source 20) -> hid (lif 16, delta, delay 0) -> out (li 3, exp, delay 1).
struct Layers {
    int32_t src, hid, out, w1, w2;
};

Layers build(Net& net, uint32_t seed) {
    Layers l{};
    l.src = net.source("src", 20);
    l.hid = net.lif("hid", 16);
    l.out = net.pop("out", "li", 3);
    for (const char* p : {"v_rest", "v_reset"}) EXPECT_SNN_OK(snn_population_set_param(net, l.hid, p, 0.0));
    EXPECT_SNN_OK(snn_population_set_param(net, l.hid, "v_th", 1.0));
    EXPECT_SNN_OK(snn_population_set_param(net, l.hid, "tau_mem", 10e-3));
    EXPECT_SNN_OK(snn_population_set_param(net, l.out, "tau_mem", 20e-3));
    std::mt19937 rng(seed);
    std::normal_distribution<float> w1(0.3f, 0.4f), w2(0.0f, 0.5f);
    std::vector<float> a(20 * 16), b(16 * 3);
    for (float& x : a) x = w1(rng);
    for (float& x : b) x = w2(rng);
    l.w1 = net.dense(l.src, l.hid, a, 0, "delta");
    l.w2 = net.dense(l.hid, l.out, b, 1, "exp");
    return l;
}

std::vector<uint8_t> spikes(int64_t steps, int32_t batch, int64_t n, uint32_t seed, float p = 0.3f) {
    std::mt19937 rng(seed);
    std::bernoulli_distribution fire(p);
    std::vector<uint8_t> x(static_cast<std::size_t>(steps * batch * n));
    for (uint8_t& v : x) v = fire(rng) ? 1 : 0;
    return x;
}

double loss_of(snn_trainer* t, const Layers& l, std::vector<uint8_t>& x, int64_t steps, int32_t batch, std::vector<int32_t>& labels) {
    Tensor in(x.data(), SNN_DTYPE_UINT8, {steps, batch, 20});
    Tensor y(labels.data(), SNN_DTYPE_INT32, {batch});
    double loss = 0.0;
    EXPECT_SNN_OK(snn_trainer_forward(t, steps, batch, 1, &l.src, in.get()));
    EXPECT_SNN_OK(snn_trainer_loss(t, l.out, "ce_mean_v", y.get(), &loss));
    return loss;
}

}  // namespace

TEST(Train, LossFallsAndTheWeightsAreTheNetworks) {
    Net net;
    Layers l = build(net, 1);
    Trainer t = make_trainer(net);
    snn_optimizer_options adam;
    ASSERT_SNN_OK(snn_optimizer_options_init(&adam, sizeof adam));
    adam.learning_rate = 2e-2;
    ASSERT_SNN_OK(snn_trainer_set_optimizer(t.get(), &adam));
    std::vector<float> before(16 * 3), after(16 * 3);
    int64_t count = 0;
    ASSERT_SNN_OK(snn_connection_get_weights(net, l.w2, before.data(), 48, &count));
    const int64_t steps = 30;
    const int32_t batch = 4;
    std::vector<uint8_t> x = spikes(steps, batch, 20, 2);
    std::vector<int32_t> labels = {0, 1, 2, 1};
    double first = 0.0, last = 0.0;
    for (int k = 0; k < 40; ++k) {
        const double loss = loss_of(t.get(), l, x, steps, batch, labels);
        if (k == 0) first = loss;
        last = loss;
        ASSERT_SNN_OK(snn_trainer_backward(t.get()));
        ASSERT_SNN_OK(snn_trainer_step(t.get()));
        ASSERT_SNN_OK(snn_trainer_zero_grad(t.get()));
    }
    EXPECT_LT(last, 0.5 * first);
    ASSERT_SNN_OK(snn_connection_get_weights(net, l.w2, after.data(), 48, &count));
    EXPECT_NE(before, after);
    int64_t bytes = 0;
    ASSERT_SNN_OK(snn_trainer_tape_bytes(t.get(), &bytes));
    // Tape: src and hid spikes as one 64-bit word per row, hid's membrane and out's v as float32.
    EXPECT_EQ(bytes, steps * batch * (8 + 8 + 16 * 4 + 3 * 4));
}

TEST(Train, ReadoutGradientIsTheDerivative) {
    // Only the readout's weights matter for this check: a central difference
    // of the (smooth, spike-free on this path) loss in one w2 entry.
    Net net;
    Layers l = build(net, 3);
    const int64_t steps = 25;
    const int32_t batch = 2;
    std::vector<uint8_t> x = spikes(steps, batch, 20, 4);
    std::vector<int32_t> labels = {2, 0};
    Trainer t = make_trainer(net);
    loss_of(t.get(), l, x, steps, batch, labels);
    ASSERT_SNN_OK(snn_trainer_backward(t.get()));
    std::vector<float> grad(48), w(48);
    ASSERT_SNN_OK(snn_trainer_read_grad(t.get(), l.w2, grad.data(), 48));
    int64_t count = 0;
    ASSERT_SNN_OK(snn_connection_get_weights(net, l.w2, w.data(), 48, &count));
    for (int q : {0, 7, 29, 47}) {
        const float eps = 1e-2f, saved = w[q];
        double values[2];
        for (int s = 0; s < 2; ++s) {
            w[q] = saved + (s == 0 ? eps : -eps);
            ASSERT_SNN_OK(snn_connection_set_weights(net, l.w2, w.data(), 48));
            values[s] = loss_of(t.get(), l, x, steps, batch, labels);
        }
        w[q] = saved;
        ASSERT_SNN_OK(snn_connection_set_weights(net, l.w2, w.data(), 48));
        const double numeric = (values[0] - values[1]) / (2.0 * eps);
        EXPECT_NEAR(grad[q], numeric, 2e-2 * std::fabs(numeric) + 2e-4) << "w2[" << q << "]";
    }
}

TEST(Train, ThreadsDoNotChangeABit) {
    std::vector<std::vector<float>> grads;
    for (int32_t threads : {1, 2, 3}) {
        snn_context_options co;
        ASSERT_SNN_OK(snn_context_options_init(&co, sizeof co));
        co.threads = threads;
        Context ctx(co);
        Net net(NetOptions{}, ctx.get());
        Layers l = build(net, 5);
        Trainer t = make_trainer(net);
        std::vector<uint8_t> x = spikes(20, 5, 20, 6);
        std::vector<int32_t> labels = {0, 1, 2, 0, 1};
        loss_of(t.get(), l, x, 20, 5, labels);
        ASSERT_SNN_OK(snn_trainer_backward(t.get()));
        std::vector<float> g(20 * 16);
        ASSERT_SNN_OK(snn_trainer_read_grad(t.get(), l.w1, g.data(), static_cast<int64_t>(g.size())));
        grads.push_back(g);
    }
    EXPECT_EQ(grads[0], grads[1]);
    EXPECT_EQ(grads[0], grads[2]);
}

TEST(Train, CarryStateContinuesTheSequence) {
    Net a, b;
    Layers la = build(a, 7), lb = build(b, 7);
    Trainer whole = make_trainer(a), pieces = make_trainer(b, 0, 1);
    std::vector<uint8_t> x = spikes(40, 2, 20, 8);
    Tensor all(x.data(), SNN_DTYPE_UINT8, {40, 2, 20});
    ASSERT_SNN_OK(snn_trainer_forward(whole.get(), 40, 2, 1, &la.src, all.get()));
    std::vector<float> want(40 * 2 * 3), got(40 * 2 * 3);
    ASSERT_SNN_OK(snn_trainer_read_output(whole.get(), la.out, "v", want.data(), 240));
    for (int k = 0; k < 2; ++k) {
        Tensor half(x.data() + k * 20 * 2 * 20, SNN_DTYPE_UINT8, {20, 2, 20});
        ASSERT_SNN_OK(snn_trainer_forward(pieces.get(), 20, 2, 1, &lb.src, half.get()));
        ASSERT_SNN_OK(snn_trainer_read_output(pieces.get(), lb.out, "v", got.data() + k * 120, 120));
    }
    EXPECT_EQ(got, want);
    ASSERT_SNN_OK(snn_trainer_reset_state(pieces.get()));
}

TEST(Train, RefusalsAreClear) {
    Net net;
    Layers l = build(net, 9);
    snn_trainer* raw = nullptr;
    EXPECT_SNN_ERROR(snn_trainer_create(nullptr, nullptr, &raw), SNN_INVALID_ARGUMENT, "network");
    EXPECT_SNN_ERROR(snn_trainer_create(net, nullptr, nullptr), SNN_INVALID_ARGUMENT, "out_trainer");
    snn_trainer_options o;
    ASSERT_SNN_OK(snn_trainer_options_init(&o, sizeof o));
    o.detach_reset = 7;
    EXPECT_SNN_ERROR(snn_trainer_create(net, &o, &raw), SNN_INVALID_ARGUMENT, "detach_reset");
    Trainer t = make_trainer(net);
    std::vector<int32_t> labels = {0};
    Tensor y(labels.data(), SNN_DTYPE_INT32, {1});
    double loss = 0.0;
    EXPECT_SNN_ERROR(snn_trainer_loss(t.get(), l.out, "ce_mean_v", y.get(), &loss), SNN_STATE, "forward");
    EXPECT_SNN_ERROR(snn_trainer_backward(t.get()), SNN_STATE, "forward");
    std::vector<uint8_t> x = spikes(5, 1, 20, 1);
    Tensor wrong(x.data(), SNN_DTYPE_UINT8, {5, 1, 19});
    EXPECT_SNN_ERROR(snn_trainer_forward(t.get(), 5, 1, 1, &l.src, wrong.get()), SNN_SHAPE, "inputs[0]");
    Tensor in(x.data(), SNN_DTYPE_UINT8, {5, 1, 20});
    EXPECT_SNN_ERROR(snn_trainer_forward(t.get(), 5, 1, 1, &l.hid, in.get()), SNN_INVALID_ARGUMENT, "not a source");
    EXPECT_SNN_ERROR(snn_trainer_forward(t.get(), 0, 1, 1, &l.src, in.get()), SNN_INVALID_ARGUMENT, "steps");
    EXPECT_SNN_ERROR(snn_trainer_forward(t.get(), 5, 1, 1, nullptr, in.get()), SNN_INVALID_ARGUMENT, "populations");
    ASSERT_SNN_OK(snn_trainer_forward(t.get(), 5, 1, 1, &l.src, in.get()));
    EXPECT_SNN_ERROR(snn_trainer_backward(t.get()), SNN_STATE, "nothing to backpropagate");
    EXPECT_SNN_ERROR(snn_trainer_loss(t.get(), l.out, "ce_mean_v", nullptr, &loss), SNN_INVALID_ARGUMENT, "target");
    EXPECT_SNN_ERROR(snn_trainer_loss(t.get(), l.out, nullptr, y.get(), &loss), SNN_INVALID_ARGUMENT, "loss");
    EXPECT_SNN_ERROR(snn_trainer_loss(t.get(), l.out, "hinge", y.get(), &loss), SNN_INVALID_ARGUMENT, "hinge");
    EXPECT_SNN_ERROR(snn_trainer_loss(t.get(), 99, "ce_mean_v", y.get(), &loss), SNN_OUT_OF_RANGE, "population");
    labels[0] = 3;
    EXPECT_SNN_ERROR(snn_trainer_loss(t.get(), l.out, "ce_mean_v", y.get(), &loss), SNN_OUT_OF_RANGE, "label 3");
    std::vector<float> out(5 * 3);
    EXPECT_SNN_ERROR(snn_trainer_read_output(t.get(), l.out, "v", out.data(), 14), SNN_SHAPE, "out");
    EXPECT_SNN_ERROR(snn_trainer_read_output(t.get(), l.out, "spikes", out.data(), 15), SNN_INVALID_ARGUMENT, "spikes");
    EXPECT_SNN_ERROR(snn_trainer_add_output_grad(t.get(), l.src, "spikes", out.data(), 100), SNN_INVALID_ARGUMENT, "source");
    std::vector<float> g(48, std::nanf(""));
    EXPECT_SNN_ERROR(snn_trainer_write_grad(t.get(), l.w2, g.data(), 48), SNN_INVALID_ARGUMENT, "finite");
    EXPECT_SNN_ERROR(snn_trainer_read_grad(t.get(), l.w2, g.data(), 47), SNN_SHAPE, "out_grad");
    EXPECT_SNN_ERROR(snn_trainer_read_grad(t.get(), 42, g.data(), 48), SNN_OUT_OF_RANGE, "connection");
    snn_optimizer_options opt;
    ASSERT_SNN_OK(snn_optimizer_options_init(&opt, sizeof opt));
    opt.kind = 9;
    EXPECT_SNN_ERROR(snn_trainer_set_optimizer(t.get(), &opt), SNN_INVALID_ARGUMENT, "kind");
    opt.kind = SNN_OPTIMIZER_ADAM;
    opt.beta2 = 1.0;
    EXPECT_SNN_ERROR(snn_trainer_set_optimizer(t.get(), &opt), SNN_INVALID_ARGUMENT, "beta2");
    EXPECT_SNN_ERROR(snn_trainer_backward(nullptr), SNN_INVALID_ARGUMENT, "trainer");
    int64_t bytes = 0;
    EXPECT_SNN_ERROR(snn_trainer_tape_bytes(t.get(), nullptr), SNN_INVALID_ARGUMENT, "out_bytes");
    ASSERT_SNN_OK(snn_trainer_tape_bytes(t.get(), &bytes));
    snn_trainer_destroy(nullptr);  // a no-op
    // A population the trainer cannot differentiate: refused at creation, by name.
    Net other;
    other.pop("izh", "izhikevich", 3);
    EXPECT_SNN_ERROR(snn_trainer_create(other, nullptr, &raw), SNN_UNSUPPORTED, "izhikevich");
    // Growing the network after the trainer was made: refused, not misread.
    net.pop("late", "li", 2);
    EXPECT_SNN_ERROR(snn_trainer_forward(t.get(), 5, 1, 1, &l.src, in.get()), SNN_STATE, "new trainer");
}

// Every kind of population and connection the trainer takes, on the cpu
// backend with threads (its matrix kernel for the current input): one
// training step runs clean (this is what the sanitizer build checks), and
// gives finite, nonzero gradients.
TEST(Train, EveryTrainableKindRunsClean) {
    snn_context_options co;
    ASSERT_SNN_OK(snn_context_options_init(&co, sizeof co));
    co.backend = "cpu";
    co.threads = 2;
    Context ctx(co);
    Net net(NetOptions{1e-3, 1, 0}, ctx.get());
    const int32_t cur = net.pop("cur", "current_source", 70), src = net.source("src", 9);
    const int32_t hid = net.pop("hid", "alif", 66), rec = net.pop("rec", "if", 66), out = net.pop("out", "li", 4);
    for (int32_t p : {hid, rec}) {
        EXPECT_SNN_OK(snn_population_set_param(net, p, "v_reset", 0.0));
        EXPECT_SNN_OK(snn_population_set_param(net, p, "v_th", 0.5));
        EXPECT_SNN_OK(snn_population_set_option(net, p, "surrogate", p == hid ? "triangle" : "arctan"));
    }
    EXPECT_SNN_OK(snn_population_set_param(net, hid, "v_rest", 0.0));
    EXPECT_SNN_OK(snn_population_set_option(net, hid, "reset", "subtract"));
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.1f, 0.3f);
    auto weights = [&](std::size_t n) {
        std::vector<float> w(n);
        for (float& x : w) x = normal(rng);
        return w;
    };
    net.dense(cur, hid, weights(70 * 66), 1, "exp");  // the dense product, computed ahead
    net.dense(src, hid, weights(9 * 66), 0, "delta");
    net.one_to_one(hid, rec, 0.8f, 0, "delta");
    {  // sparse and recurrent: rec -> rec, delay 1, each neuron to the next three
        std::vector<int64_t> rows(67);
        std::vector<int32_t> post;
        for (int64_t i = 0; i < 66; ++i) {
            rows[static_cast<std::size_t>(i)] = static_cast<int64_t>(post.size());
            for (int k = 1; k <= 3; ++k) post.push_back(static_cast<int32_t>((i + k) % 66));
        }
        rows[66] = static_cast<int64_t>(post.size());
        std::vector<float> w = weights(post.size());
        snn_connection_options o = Net::conn_options(1, "delta");
        int32_t id = -1;
        EXPECT_SNN_OK(snn_network_connect_sparse(net, rec, rec, static_cast<int64_t>(post.size()), rows.data(), post.data(),
                                                 w.data(), nullptr, &o, &id));
    }
    const int32_t readout = net.dense(rec, out, weights(66 * 4), 0, "delta");
    Trainer t = make_trainer(net, 1, 0, 1);
    const int64_t steps = 30;
    const int32_t batch = 3;
    std::vector<float> current(static_cast<std::size_t>(steps * batch * 70));
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    for (float& x : current) x = unit(rng) < 0.5f ? unit(rng) : 0.0f;
    std::vector<uint8_t> x = spikes(steps, batch, 9, 4);
    Tensor a(current.data(), SNN_DTYPE_FLOAT32, {steps, batch, 70}), b(x.data(), SNN_DTYPE_UINT8, {steps, batch, 9});
    snn_tensor inputs[2] = {a.desc(), b.desc()};
    const int32_t pops[2] = {cur, src};
    ASSERT_SNN_OK(snn_trainer_forward(t.get(), steps, batch, 2, pops, inputs));
    std::vector<int32_t> labels = {0, 3, 1};
    Tensor y(labels.data(), SNN_DTYPE_INT32, {batch});
    double loss = 0.0;
    ASSERT_SNN_OK(snn_trainer_loss(t.get(), out, "ce_max_v", y.get(), &loss));
    std::vector<float> counts(static_cast<std::size_t>(batch * 66), 2.0f);
    Tensor target(counts.data(), SNN_DTYPE_FLOAT32, {batch, 66});
    ASSERT_SNN_OK(snn_trainer_loss(t.get(), rec, "mse_count", target.get(), &loss));
    ASSERT_SNN_OK(snn_trainer_backward(t.get()));
    int32_t connections = 0;
    ASSERT_SNN_OK(snn_network_connection_count(net, &connections));
    for (int32_t c = 0; c < connections; ++c) {
        snn_connection_info info;
        std::memset(&info, 0, sizeof info);
        info.struct_size = sizeof info;
        ASSERT_SNN_OK(snn_connection_info_get(net, c, &info));
        std::vector<float> g(static_cast<std::size_t>(info.nnz));
        ASSERT_SNN_OK(snn_trainer_read_grad(t.get(), c, g.data(), info.nnz));
        double norm = 0.0;
        for (float v : g) {
            ASSERT_TRUE(std::isfinite(v)) << "connection " << c;
            norm += double(v) * v;
        }
        EXPECT_GT(norm, 0.0) << "connection " << c;
    }
    for (int32_t source : {cur, src}) {  // input gradients (input_grads = 1)
        const int64_t n = source == cur ? 70 : 9;
        std::vector<float> g(static_cast<std::size_t>(steps * batch * n));
        ASSERT_SNN_OK(snn_trainer_read_input_grad(t.get(), source, g.data(), static_cast<int64_t>(g.size())));
        double norm = 0.0;
        for (float v : g) {
            ASSERT_TRUE(std::isfinite(v));
            norm += double(v) * v;
        }
        EXPECT_GT(norm, 0.0) << "source " << source;
    }
    std::vector<float> g(10);
    EXPECT_SNN_ERROR(snn_trainer_read_input_grad(t.get(), cur, g.data(), 10), SNN_SHAPE, "out_grad");
    EXPECT_SNN_ERROR(snn_trainer_read_input_grad(t.get(), hid, g.data(), 10), SNN_INVALID_ARGUMENT, "not a source");
    ASSERT_SNN_OK(snn_trainer_step(t.get()));
    (void)readout;
}
