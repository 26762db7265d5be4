// Every backend, SIMD level and thread count against "reference" (Decision 5). The "cpu"
// backend performs the reference's float operations in the same order, so on
// these networks it must agree bit for bit — at every SIMD level, which also
// shows the levels agree among themselves.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "helpers.h"

namespace {

struct Variant {
    const char* backend;
    const char* simd;
    int32_t threads = 1;
    const char* scatter = nullptr;  // $SNN_CPU_SCATTER while the network is built (nullptr: the CPU's choice)
};

// A network with every model, synapse, connection kind and delay form.
snn_network* build(snn_context* ctx, int32_t batch) {
    snn_network_options no;
    snn_network_options_init(&no, sizeof no);
    no.batch = batch;
    no.seed = 21;
    snn_network* net = nullptr;
    if (snn_network_create(ctx, &no, &net) != SNN_OK) return nullptr;
    auto pop = [&](const char* name, const char* model, int64_t n) {
        int32_t id = -1;
        snn_network_add_population(net, name, model, 1, &n, &id);
        return id;
    };
    const int32_t src = pop("src", "poisson", 200), cur = pop("cur", "current_source", 6);
    const int32_t lif = pop("lif", "lif", 300), sub = pop("sub", "lif", 50), alif = pop("alif", "alif", 80);
    const int32_t iaf = pop("iaf", "if", 40), izh = pop("izh", "izhikevich", 60), li = pop("li", "li", 10);
    snn_population_set_param(net, src, "rate", 150.0);
    snn_population_set_param(net, cur, "current", 0.25);
    snn_population_set_param(net, lif, "t_ref", 2e-3);
    snn_population_set_param(net, sub, "t_ref", 1e-4);
    snn_population_set_option(net, sub, "reset", "subtract");
    snn_population_set_param(net, alif, "delta_th", 3e-3);
    snn_population_set_param(net, iaf, "v_th", -60e-3);
    std::vector<float> tau(300);
    for (std::size_t j = 0; j < tau.size(); ++j) tau[j] = 10e-3f + 1e-4f * static_cast<float>(j);
    snn_population_set_param_array(net, lif, "tau_mem", tau.data(), 300);
    snn_population_randomize_state(net, lif, "v", SNN_DIST_UNIFORM, -65e-3, -50e-3, 1);

    snn_connection_options o;
    snn_connection_options_init(&o, sizeof o);
    int32_t c = -1;
    auto random = [&](int32_t pre, int32_t post, double p, float w, const char* synapse, int32_t delay, uint64_t seed) {
        o.synapse = synapse;
        o.delay = delay;
        snn_network_connect_random(net, pre, post, p, w, seed, &o, &c);
    };
    random(src, lif, 0.1, 4e-3f, "exp", 1, 1);
    random(src, sub, 0.2, 2e-3f, "delta", 0, 2);
    random(lif, lif, 0.05, -1e-3f, "exp", 3, 3);
    random(lif, alif, 0.2, 0.05f, "cond_exp", 2, 4);
    snn_connection_set_param(net, c, "e_rev", -0.01);
    random(alif, lif, 0.1, 2e-3f, "delta", 1, 5);
    random(src, iaf, 0.1, 1e-3f, "exp", 1, 6);
    random(lif, iaf, 0.1, 0.02f, "cond_exp", 1, 7);
    random(src, izh, 0.2, 6e-3f, "delta", 1, 8);
    random(lif, izh, 0.1, 2e-3f, "exp", 4, 9);
    o.synapse = "exp";
    o.delay = 0;
    std::vector<float> dense(6 * 300);
    for (std::size_t k = 0; k < dense.size(); ++k) dense[k] = 1e-3f * static_cast<float>(k % 7);
    snn_network_connect_dense(net, cur, lif, dense.data(), static_cast<int64_t>(dense.size()), &o, &c);
    o.delay = 2;
    snn_network_connect_one_to_one(net, alif, alif, nullptr, 0, -1e-3f, &o, &c);
    // Sparse with per-synapse delays onto the readout.
    std::vector<int64_t> row_ptr(301);
    std::vector<int32_t> post, delays;
    std::vector<float> w;
    for (int32_t i = 0; i < 300; ++i) {
        row_ptr[static_cast<std::size_t>(i)] = static_cast<int64_t>(post.size());
        for (int32_t k = 0; k < 2; ++k) {
            post.push_back((i + 3 * k) % 10);
            delays.push_back(1 + (i + k) % 6);
            w.push_back(1e-3f * static_cast<float>(1 + k));
        }
    }
    row_ptr[300] = static_cast<int64_t>(post.size());
    snn_network_connect_sparse(net, lif, li, static_cast<int64_t>(post.size()), row_ptr.data(), post.data(), w.data(),
                               delays.data(), &o, &c);
    // Conductances only (the fused conductance kernel): two cond_exp inputs
    // with per-neuron v_rest, and one cond_exp input onto leak-free neurons.
    const int32_t coba = pop("coba", "lif", 70), cif = pop("cif", "if", 30);
    std::vector<float> v_rest(70);
    for (std::size_t j = 0; j < v_rest.size(); ++j) v_rest[j] = -70e-3f + 2e-4f * static_cast<float>(j);
    snn_population_set_param_array(net, coba, "v_rest", v_rest.data(), 70);
    snn_population_set_param(net, coba, "t_ref", 1e-3);
    random(src, coba, 0.2, 0.3f, "cond_exp", 1, 10);
    random(lif, coba, 0.2, 0.5f, "cond_exp", 1, 11);
    snn_connection_set_param(net, c, "e_rev", -80e-3);
    random(src, cif, 0.2, 0.05f, "cond_exp", 1, 12);
    return net;
}

// What the first network leaves out: sparse rows with unequal weights, a
// target of more than 65 536 neurons (32-bit indices, and split into ranges
// of neurons across threads: batch 1), dense connections from spikes; each
// with exp and delta synapses.
snn_network* build_wide(snn_context* ctx, int32_t) {
    snn_network_options no;
    snn_network_options_init(&no, sizeof no);
    no.batch = 1;
    no.seed = 5;
    snn_network* net = nullptr;
    if (snn_network_create(ctx, &no, &net) != SNN_OK) return nullptr;
    int32_t src = -1, lif = -1, wide = -1, c = -1;
    int64_t n_src = 200, n_lif = 300, n_wide = 70000;
    snn_network_add_population(net, "src", "poisson", 1, &n_src, &src);
    snn_network_add_population(net, "lif", "lif", 1, &n_lif, &lif);
    snn_network_add_population(net, "wide", "lif", 1, &n_wide, &wide);
    snn_population_set_param(net, src, "rate", 300.0);
    snn_population_set_param(net, wide, "t_ref", 1e-3);
    // Resting above threshold: every wide neuron fires now and then, at its own phase.
    snn_population_set_param(net, wide, "v_rest", -45e-3);
    snn_population_randomize_state(net, wide, "v", SNN_DIST_UNIFORM, -65e-3, -50e-3, 2);
    snn_connection_options o;
    snn_connection_options_init(&o, sizeof o);
    for (const char* synapse : {"exp", "delta"})
        for (int32_t post : {lif, wide}) {
            const int64_t n_post = post == lif ? n_lif : n_wide;
            std::vector<int64_t> row_ptr(static_cast<std::size_t>(n_src) + 1);
            std::vector<int32_t> targets;
            std::vector<float> w;
            for (int32_t i = 0; i < n_src; ++i) {
                row_ptr[static_cast<std::size_t>(i)] = static_cast<int64_t>(targets.size());
                for (int32_t k = 0; k < 40; ++k) {  // unsorted targets, duplicates included
                    targets.push_back(static_cast<int32_t>((i * 7919 + k * 104729) % n_post));
                    w.push_back((synapse[0] == 'e' ? 2e-3f : 4e-3f) * static_cast<float>(1 + (i + k) % 5));
                }
            }
            row_ptr[static_cast<std::size_t>(n_src)] = static_cast<int64_t>(targets.size());
            o.synapse = synapse;
            snn_network_connect_sparse(net, src, post, static_cast<int64_t>(targets.size()), row_ptr.data(), targets.data(),
                                       w.data(), nullptr, &o, &c);
        }
    // Rows with sorted targets onto the wide population: delivered by ranges
    // of targets across threads (spikes and graded values, exp and delta).
    int32_t cur = -1;
    const int64_t n_cur = 20;
    snn_network_add_population(net, "cur", "current_source", 1, &n_cur, &cur);
    snn_population_set_param(net, cur, "current", 0.3);
    for (const char* synapse : {"exp", "delta"}) {
        o.synapse = synapse;
        snn_network_connect_random(net, src, wide, 2e-3, synapse[0] == 'e' ? 3e-3f : 2e-3f, 21, &o, &c);
        snn_network_connect_random(net, cur, wide, 1e-2, 1e-3f, 22, &o, &c);
    }
    // The wide population's spike lists (joined from the ranges) feed back.
    o.synapse = "exp";
    snn_network_connect_random(net, wide, lif, 5e-4, 1e-3f, 9, &o, &c);
    // Dense from spikes onto 300 neurons (not a whole number of column blocks), refractory.
    snn_population_set_param(net, lif, "t_ref", 2e-3);
    std::vector<float> dense(static_cast<std::size_t>(n_src * n_lif));
    for (std::size_t k = 0; k < dense.size(); ++k) dense[k] = 1e-4f * static_cast<float>(static_cast<int>(k % 13) - 4);
    for (const char* synapse : {"delta", "exp"}) {
        o.synapse = synapse;
        snn_network_connect_dense(net, src, lif, dense.data(), static_cast<int64_t>(dense.size()), &o, &c);
    }
    return net;
}

// Every state variable of every population and connection, after each step.
std::vector<float> trajectory(snn_network* net, int steps) {
    std::vector<float> out;
    int32_t pops = 0, conns = 0;
    snn_network_population_count(net, &pops);
    snn_network_connection_count(net, &conns);
    for (int t = 0; t < steps; ++t) {
        EXPECT_EQ(snn_network_step(net), SNN_OK) << snn_last_error();
        for (int32_t p = 0; p < pops; ++p) {
            snn_population_info info{};
            info.struct_size = sizeof info;
            snn_population_info_get(net, p, &info);
            const char* vars[4];
            int32_t nvars = 0;
            snn_model_state_vars(SNN_MODEL_NEURON, info.model, vars, 4, &nvars);
            for (int32_t k = -1; k < nvars; ++k) {
                int64_t count = 0;
                const char* var = k < 0 ? "spikes" : vars[k];
                snn_population_read_state(net, p, var, nullptr, 0, &count);
                std::size_t at = out.size();
                out.resize(at + static_cast<std::size_t>(count));
                snn_population_read_state(net, p, var, out.data() + at, count, &count);
            }
        }
        for (int32_t c = 0; c < conns; ++c) {
            snn_connection_info info{};
            info.struct_size = sizeof info;
            snn_connection_info_get(net, c, &info);
            if (std::string(info.synapse) == "delta") continue;
            const char* var = std::string(info.synapse) == "exp" ? "I" : "g";
            int64_t count = 0;
            snn_connection_read_state(net, c, var, nullptr, 0, &count);
            std::size_t at = out.size();
            out.resize(at + static_cast<std::size_t>(count));
            snn_connection_read_state(net, c, var, out.data() + at, count, &count);
        }
    }
    return out;
}

// A context for a variant; nullptr (and *available false) where this CPU or
// build lacks it.
snn_context* make_context(const Variant& v, bool* available) {
    snn_context_options o;
    snn_context_options_init(&o, sizeof o);
    o.backend = v.backend;
    o.simd = v.simd;
    o.threads = v.threads;
    snn_context* ctx = nullptr;
    *available = snn_context_create(&o, &ctx) == SNN_OK;
    return *available ? ctx : nullptr;
}

using Builder = snn_network* (*)(snn_context*, int32_t);

std::vector<float> run_variant(const Variant& v, int steps, bool* available, Builder builder = build) {
    snn_context* ctx = make_context(v, available);
    if (!ctx) return {};
    if (v.scatter) setenv("SNN_CPU_SCATTER", v.scatter, 1);
    snn_network* net = builder(ctx, 3);
    std::vector<float> out = trajectory(net, steps);
    if (v.scatter) unsetenv("SNN_CPU_SCATTER");
    snn_network_destroy(net);
    snn_context_destroy(ctx);
    return out;
}

// Every SIMD level and thread count of "cpu" against "reference", value for value.
void expect_every_variant_matches_reference(Builder builder, int steps, double min_spikes) {
    bool available = false;
    const std::vector<float> expected = run_variant({"reference", nullptr}, steps, &available, builder);
    ASSERT_TRUE(available);
    double spikes = 0;
    for (float x : expected) spikes += x == 1.0f;
    ASSERT_GT(spikes, min_spikes) << "the network must be active for the comparison to mean something";
    int compared = 0;
    // (avx512 twice more: sparse rows by scatter and one synapse at a time, whichever this CPU prefers.)
    for (Variant v : {Variant{"cpu", "generic"}, Variant{"cpu", "avx2"}, Variant{"cpu", "avx512"}, Variant{"cpu", "avx512", 1, "1"},
                      Variant{"cpu", "avx512", 1, "0"}, Variant{"cpu", nullptr}, Variant{"cpu", nullptr, 2},
                      Variant{"cpu", "generic", 3}, Variant{"reference", nullptr, 2}}) {
        const std::vector<float> got = run_variant(v, steps, &available, builder);
        if (!available) continue;  // this CPU lacks the level
        ++compared;
        ASSERT_EQ(got.size(), expected.size()) << v.backend << "/" << (v.simd ? v.simd : "auto") << "/" << v.threads;
        std::size_t first = 0;
        while (first < got.size() && std::memcmp(&got[first], &expected[first], sizeof(float)) == 0) ++first;
        EXPECT_EQ(first, got.size()) << v.backend << "/" << (v.simd ? v.simd : "auto") << "/" << v.threads
                                     << " threads" << (v.scatter ? (*v.scatter == '1' ? " (scatter)" : " (no scatter)") : "")
                                     << " differs from reference at value "
                                     << first << ": " << got[first] << " vs " << expected[first];
    }
    EXPECT_GE(compared, 2);
}

// Sparse rows of distinct targets (added 16 at a time where the level can:
// gather, add, scatter) with delta input onto neurons that are often held,
// uniform and unequal weights, and rows that name a target twice beside them.
snn_network* build_held(snn_context* ctx, int32_t batch) {
    snn_network_options no;
    snn_network_options_init(&no, sizeof no);
    no.batch = batch;
    no.seed = 8;
    snn_network* net = nullptr;
    if (snn_network_create(ctx, &no, &net) != SNN_OK) return nullptr;
    int32_t src = -1, lif = -1, c = -1;
    const int64_t n_src = 64, n_lif = 200;
    snn_network_add_population(net, "src", "poisson", 1, &n_src, &src);
    snn_network_add_population(net, "lif", "lif", 1, &n_lif, &lif);
    snn_population_set_param(net, src, "rate", 800.0);
    snn_population_set_param(net, lif, "t_ref", 5e-4);
    snn_population_set_param(net, lif, "v_rest", -48e-3);  // above threshold: often spiking, then held
    snn_population_randomize_state(net, lif, "v", SNN_DIST_UNIFORM, -65e-3, -50e-3, 3);
    std::vector<int64_t> row_ptr(static_cast<std::size_t>(n_src) + 1);
    std::vector<int32_t> targets;
    std::vector<float> w;
    for (int32_t i = 0; i < n_src; ++i) {
        row_ptr[static_cast<std::size_t>(i)] = static_cast<int64_t>(targets.size());
        const int32_t length = 5 + (i * 13) % 40;  // whole vectors and tails
        for (int32_t k = 0; k < length; ++k) {
            targets.push_back((i * 37 + k * 11) % static_cast<int32_t>(n_lif));  // distinct within a row (11 * k < 200 * ...)
            w.push_back(1e-3f * static_cast<float>(1 + (i + k) % 7));
        }
        if (i % 9 == 0) {  // a target named twice
            targets.push_back(targets.back());
            w.push_back(5e-4f);
        }
    }
    row_ptr[static_cast<std::size_t>(n_src)] = static_cast<int64_t>(targets.size());
    snn_connection_options o;
    snn_connection_options_init(&o, sizeof o);
    o.synapse = "delta";
    snn_network_connect_sparse(net, src, lif, static_cast<int64_t>(targets.size()), row_ptr.data(), targets.data(), w.data(),
                               nullptr, &o, &c);
    snn_network_connect_random(net, src, lif, 0.3, -7e-4f, 4, &o, &c);  // uniform weight
    o.synapse = "exp";
    snn_network_connect_random(net, lif, lif, 0.1, 1e-3f, 5, &o, &c);
    return net;
}

TEST(Backends, SparseRowsOntoHeldNeuronsMatchReferenceBitForBit) { expect_every_variant_matches_reference(build_held, 300, 500); }

TEST(Backends, EveryLevelMatchesReferenceBitForBit) { expect_every_variant_matches_reference(build, 400, 1000); }

TEST(Backends, WeightedAndWideSparseRowsMatchReferenceBitForBit) {
    expect_every_variant_matches_reference(build_wide, 40, 1000);
}

// A feedforward layer computed ahead within snn_network_run (sources ->
// dense, delay 0 -> lif; the cpu backend runs such a layer several steps at a
// time) and a population fed by it: the spikes of every step and the final
// state equal reference's, over runs of uneven lengths. With a spike callback
// or the layer's v bound as an output the layer is stepped one step at a
// time; the results must not differ either.
struct LayerRun {
    std::vector<uint8_t> spikes;  // [steps][batch][n] of the layer, then of the readout
    std::vector<float> state;     // v of both, I of the exp connections, after the last run
};

int32_t count_spikes(int32_t, int64_t, int32_t, int32_t, const int32_t*, void* data) {
    ++*static_cast<int64_t*>(data);
    return 0;
}

LayerRun run_layer(const Variant& v, bool* available, int mode) {
    LayerRun out;
    snn_context* ctx = make_context(v, available);
    if (!ctx) return out;
    const int32_t batch = 3;
    const int64_t n_in = 2000, n = 130, n_out = 20, steps[] = {100, 1, 40};  // n_in: one column block per group
    snn_network_options no;
    snn_network_options_init(&no, sizeof no);
    no.batch = batch;
    no.seed = 3;
    snn_network* net = nullptr;
    EXPECT_EQ(snn_network_create(ctx, &no, &net), SNN_OK);
    int32_t spk = -1, cur = -1, poi = -1, layer = -1, readout = -1, c = -1;
    snn_network_add_population(net, "spk", "spike_source", 1, &n_in, &spk);
    snn_network_add_population(net, "cur", "current_source", 1, &n_in, &cur);
    snn_network_add_population(net, "poi", "poisson", 1, &n_in, &poi);
    snn_network_add_population(net, "layer", "lif", 1, &n, &layer);
    snn_network_add_population(net, "readout", "lif", 1, &n_out, &readout);
    snn_population_set_param(net, poi, "rate", 200.0);
    snn_population_set_param(net, layer, "t_ref", 2e-3);
    snn_population_set_param(net, layer, "v_th", -55e-3);
    snn_connection_options o;
    snn_connection_options_init(&o, sizeof o);
    o.delay = 0;
    std::vector<float> w(static_cast<std::size_t>(n_in * n));
    // Multiples of 2^-10 times small integers: products with the currents are
    // exact, so the fused multiply-add of the dense product rounds like reference.
    for (std::size_t k = 0; k < w.size(); ++k) w[k] = static_cast<float>(static_cast<int>((k * 37) % 11) - 3) / 1024.0f;
    o.synapse = "delta";
    snn_network_connect_dense(net, spk, layer, w.data(), static_cast<int64_t>(w.size()), &o, &c);
    o.synapse = "exp";
    snn_network_connect_dense(net, cur, layer, w.data(), static_cast<int64_t>(w.size()), &o, &c);
    snn_network_connect_dense(net, poi, layer, w.data(), static_cast<int64_t>(w.size()), &o, &c);
    o.delay = 1;
    snn_network_connect_random(net, layer, readout, 0.3, 4e-3f, 8, &o, &c);
    // Inputs bound for the longest run: spikes (bool) and currents (float32).
    const int64_t most = 100;
    std::vector<uint8_t> spikes_in(static_cast<std::size_t>(most * batch * n_in));
    std::vector<float> current_in(spikes_in.size());
    for (std::size_t k = 0; k < spikes_in.size(); ++k) {
        spikes_in[k] = (k * 2654435761u) % 1000 < 4;
        current_in[k] = (k % 5 == 0) ? 0.0f : static_cast<float>((k * 7) % 13) / 1024.0f;
    }
    const int64_t in_shape[] = {most, batch, n_in};
    snn_tensor tin{spikes_in.data(), SNN_DTYPE_BOOL, 3, in_shape, nullptr, SNN_DEVICE_CPU, 0, nullptr, nullptr};
    snn_tensor tcur{current_in.data(), SNN_DTYPE_FLOAT32, 3, in_shape, nullptr, SNN_DEVICE_CPU, 0, nullptr, nullptr};
    EXPECT_EQ(snn_population_bind_input(net, spk, &tin), SNN_OK) << snn_last_error();
    EXPECT_EQ(snn_population_bind_input(net, cur, &tcur), SNN_OK) << snn_last_error();
    std::vector<uint8_t> layer_out(static_cast<std::size_t>(most * batch * n)), readout_out(static_cast<std::size_t>(most * batch * n_out));
    std::vector<float> layer_v(static_cast<std::size_t>(most * batch * n));
    const int64_t layer_shape[] = {most, batch, n}, readout_shape[] = {most, batch, n_out};
    snn_tensor tl{layer_out.data(), SNN_DTYPE_UINT8, 3, layer_shape, nullptr, SNN_DEVICE_CPU, 0, nullptr, nullptr};
    snn_tensor tr{readout_out.data(), SNN_DTYPE_UINT8, 3, readout_shape, nullptr, SNN_DEVICE_CPU, 0, nullptr, nullptr};
    snn_tensor tv{layer_v.data(), SNN_DTYPE_FLOAT32, 3, layer_shape, nullptr, SNN_DEVICE_CPU, 0, nullptr, nullptr};
    EXPECT_EQ(snn_population_bind_output(net, layer, "spikes", &tl), SNN_OK) << snn_last_error();
    EXPECT_EQ(snn_population_bind_output(net, readout, "spikes", &tr), SNN_OK) << snn_last_error();
    int64_t callback_spikes = 0;
    if (mode == 1) EXPECT_EQ(snn_population_bind_output(net, layer, "v", &tv), SNN_OK) << snn_last_error();
    if (mode == 2) EXPECT_EQ(snn_population_set_spike_callback(net, readout, count_spikes, &callback_spikes), SNN_OK);
    for (int64_t run : steps) {
        EXPECT_EQ(snn_network_run(net, run), SNN_OK) << snn_last_error();
        out.spikes.insert(out.spikes.end(), layer_out.begin(), layer_out.begin() + run * batch * n);
        out.spikes.insert(out.spikes.end(), readout_out.begin(), readout_out.begin() + run * batch * n_out);
    }
    auto read = [&](int32_t pop, const char* var, bool connection) {
        int64_t count = 0;
        connection ? snn_connection_read_state(net, pop, var, nullptr, 0, &count) : snn_population_read_state(net, pop, var, nullptr, 0, &count);
        const std::size_t at = out.state.size();
        out.state.resize(at + static_cast<std::size_t>(count));
        connection ? snn_connection_read_state(net, pop, var, out.state.data() + at, count, &count)
                   : snn_population_read_state(net, pop, var, out.state.data() + at, count, &count);
    };
    read(layer, "v", false);
    read(readout, "v", false);
    for (int32_t conn = 1; conn <= 3; ++conn) read(conn, "I", true);
    snn_network_destroy(net);
    snn_context_destroy(ctx);
    return out;
}

TEST(Backends, FeedforwardLayerRunAheadMatchesReferenceBitForBit) {
    bool available = false;
    const LayerRun expected = run_layer({"reference", nullptr}, &available, 0);
    ASSERT_TRUE(available);
    double layer_spikes = 0;
    for (uint8_t x : expected.spikes) layer_spikes += x;
    ASSERT_GT(layer_spikes, 500) << "the layer must be active for the comparison to mean something";
    for (int mode : {0, 1, 2})
        for (Variant v : {Variant{"cpu", "generic"}, Variant{"cpu", "avx2"}, Variant{"cpu", "avx512"}, Variant{"cpu", nullptr, 2},
                          Variant{"cpu", "generic", 3}}) {
            const LayerRun got = run_layer(v, &available, mode);
            if (!available) continue;
            const std::string what = std::string(v.simd ? v.simd : "auto") + "/" + std::to_string(v.threads) + " threads, mode " +
                                     std::to_string(mode);
            EXPECT_EQ(got.spikes, expected.spikes) << what;
            ASSERT_EQ(got.state.size(), expected.state.size()) << what;
            EXPECT_EQ(0, std::memcmp(got.state.data(), expected.state.data(), got.state.size() * sizeof(float))) << what;
        }
}

// The dense product (a dense connection from a current source) may fuse each
// multiply-add where the SIMD level has FMA (Decision 5): against reference
// it agrees within float32 rounding, and at each level it is bit-identical
// at every thread count.
std::vector<float> dense_product(const Variant& v, bool* available, const char* weight_dtype = nullptr, bool run = true) {
    snn_context* ctx = make_context(v, available);
    if (!ctx) return {};
    const int32_t batch = 4;
    const int64_t n_in = 300, n = 200, steps = 60;
    snn_network_options no;
    snn_network_options_init(&no, sizeof no);
    no.batch = batch;
    snn_network* net = nullptr;
    EXPECT_EQ(snn_network_create(ctx, &no, &net), SNN_OK);
    int32_t cur = -1, li = -1, c = -1;
    snn_network_add_population(net, "cur", "current_source", 1, &n_in, &cur);
    snn_network_add_population(net, "li", "li", 1, &n, &li);
    std::vector<float> w(static_cast<std::size_t>(n_in * n)), x(static_cast<std::size_t>(steps * batch * n_in));
    uint64_t state = 12345;
    auto uniform = [&]() {  // deterministic values in [-1, 1) with all mantissa bits used
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<float>(static_cast<double>(state >> 11) / 4503599627370496.0 - 1.0);
    };
    for (float& value : w) value = 1e-3f * uniform();
    for (float& value : x) value = uniform();
    // Rows of every kind: whole (most steps), a few nonzero inputs (every
    // third step), none at all (instance 1 every fourth step).
    for (int64_t k = 0; k < steps; ++k)
        for (int64_t b = 0; b < batch; ++b)
            for (int64_t i = 0; i < n_in; ++i) {
                float& value = x[static_cast<std::size_t>((k * batch + b) * n_in + i)];
                if ((k % 3 == 1 && i % 17 != 0) || (b == 1 && k % 4 == 0)) value = 0.0f;
            }
    snn_connection_options o;
    snn_connection_options_init(&o, sizeof o);
    o.delay = 0;
    o.weight_dtype = weight_dtype;
    for (const char* synapse : {"exp", "delta"}) {
        o.synapse = synapse;
        snn_network_connect_dense(net, cur, li, w.data(), static_cast<int64_t>(w.size()), &o, &c);
    }
    if (run) {  // the whole input bound: computed ahead
        const int64_t shape[] = {steps, batch, n_in};
        snn_tensor tx{x.data(), SNN_DTYPE_FLOAT32, 3, shape, nullptr, SNN_DEVICE_CPU, 0, nullptr, nullptr};
        EXPECT_EQ(snn_population_bind_input(net, cur, &tx), SNN_OK) << snn_last_error();
        EXPECT_EQ(snn_network_run(net, steps), SNN_OK) << snn_last_error();
    } else {  // one step at a time
        const int64_t shape[] = {batch, n_in};
        for (int64_t k = 0; k < steps; ++k) {
            snn_tensor tx{x.data() + k * batch * n_in, SNN_DTYPE_FLOAT32, 2, shape, nullptr, SNN_DEVICE_CPU, 0, nullptr, nullptr};
            EXPECT_EQ(snn_population_set_input(net, cur, &tx), SNN_OK) << snn_last_error();
            EXPECT_EQ(snn_network_step(net), SNN_OK) << snn_last_error();
        }
    }
    std::vector<float> out(static_cast<std::size_t>(batch * n * 2));
    int64_t count = 0;
    snn_population_read_state(net, li, "v", out.data(), batch * n, &count);
    snn_connection_read_state(net, 0, "I", out.data() + batch * n, batch * n, &count);
    snn_network_destroy(net);
    snn_context_destroy(ctx);
    return out;
}

TEST(Backends, DenseProductWithinRoundingOfReferenceAndThreadIndependent) {
  for (const char* weight_dtype : {"float32", "bfloat16"}) {
    SCOPED_TRACE(weight_dtype);
    bool available = false;
    const std::vector<float> expected = dense_product({"reference", nullptr}, &available, weight_dtype);
    ASSERT_TRUE(available);
    float scale = 0.0f;
    for (float value : expected) scale = std::max(scale, std::fabs(value));
    ASSERT_GT(scale, 0.0f);
    for (const char* level : {"generic", "avx2", "avx512"}) {
        const std::vector<float> one = dense_product({"cpu", level, 1}, &available, weight_dtype);
        if (!available) continue;
        ASSERT_EQ(one.size(), expected.size());
        // 300 inputs a step, 60 steps, 2 connections: each value is a sum of
        // some 10^4 float32 roundings; 1e-5 of the largest value bounds them.
        for (std::size_t k = 0; k < one.size(); ++k)
            ASSERT_NEAR(one[k], expected[k], 1e-5f * scale) << level << " value " << k;
        // Without fused multiply-add the operations are those of reference.
        if (std::string(level) == "generic")
            EXPECT_EQ(0, std::memcmp(one.data(), expected.data(), one.size() * sizeof(float))) << "generic level";
        // Computed ahead (a matrix product over steps) or step by step: the same sums.
        const std::vector<float> stepped = dense_product({"cpu", level, 1}, &available, weight_dtype, false);
        EXPECT_EQ(0, std::memcmp(stepped.data(), one.data(), one.size() * sizeof(float))) << level << " stepped";
        for (int32_t threads : {2, 3}) {
            const std::vector<float> many = dense_product({"cpu", level, threads}, &available, weight_dtype);
            EXPECT_EQ(0, std::memcmp(many.data(), one.data(), one.size() * sizeof(float))) << level << ", " << threads << " threads";
        }
    }
  }
}

// Every row of a dense connection arriving at four instances (a spike source
// whose neurons all fire), onto neurons that are held after spiking: the
// kernel that loads each row once for four instances, masked, equals reference.
std::vector<float> all_rows(const Variant& v, bool* available, bool run, const char* weight_dtype = nullptr) {
    snn_context* ctx = make_context(v, available);
    if (!ctx) return {};
    const int32_t batch = 5;
    const int64_t n_in = 70, n = 150, steps = 40;
    snn_network_options no;
    snn_network_options_init(&no, sizeof no);
    no.batch = batch;
    snn_network* net = nullptr;
    EXPECT_EQ(snn_network_create(ctx, &no, &net), SNN_OK);
    int32_t src = -1, lif = -1, c = -1;
    snn_network_add_population(net, "src", "spike_source", 1, &n_in, &src);
    snn_network_add_population(net, "lif", "lif", 1, &n, &lif);
    snn_population_set_param(net, lif, "t_ref", 3e-4);
    std::vector<float> w(static_cast<std::size_t>(n_in * n));
    for (std::size_t k = 0; k < w.size(); ++k) w[k] = 1e-4f * static_cast<float>(static_cast<int>((k * 53) % 17) - 6) * (1.0f + k % 3);
    snn_connection_options o;
    snn_connection_options_init(&o, sizeof o);
    o.delay = 0;
    o.synapse = "delta";
    o.weight_dtype = weight_dtype;
    snn_network_connect_dense(net, src, lif, w.data(), static_cast<int64_t>(w.size()), &o, &c);
    std::vector<uint8_t> x(static_cast<std::size_t>(steps * batch * n_in), 1);
    const int64_t shape[] = {steps, batch, n_in};
    snn_tensor tx{x.data(), SNN_DTYPE_UINT8, 3, shape, nullptr, SNN_DEVICE_CPU, 0, nullptr, nullptr};
    EXPECT_EQ(snn_population_bind_input(net, src, &tx), SNN_OK) << snn_last_error();
    std::vector<float> out;
    if (run)  // computed ahead
        EXPECT_EQ(snn_network_run(net, steps), SNN_OK) << snn_last_error();
    else  // step by step (each 1-step run reads slice 0: all ones too)
        for (int64_t t = 0; t < steps; ++t) EXPECT_EQ(snn_network_run(net, 1), SNN_OK) << snn_last_error();
    int64_t count = 0;
    out.resize(static_cast<std::size_t>(batch * n * 2));
    snn_population_read_state(net, lif, "v", out.data(), batch * n, &count);
    snn_population_read_state(net, lif, "spikes", out.data() + batch * n, batch * n, &count);
    snn_network_destroy(net);
    snn_context_destroy(ctx);
    return out;
}

// With weight_dtype bfloat16 the "cpu" backend stores the weights in 16 bits;
// the values are the same bfloat16 numbers "reference" uses: bit for bit.
TEST(Backends, DenseRowsForFourInstancesMatchReferenceBitForBit) {
  for (const char* weight_dtype : {"float32", "bfloat16"}) {
    SCOPED_TRACE(weight_dtype);
    for (bool run : {false, true}) {
        bool available = false;
        const std::vector<float> expected = all_rows({"reference", nullptr}, &available, run, weight_dtype);
        ASSERT_TRUE(available);
        double spikes = 0;
        for (std::size_t k = expected.size() / 2; k < expected.size(); ++k) spikes += expected[k];
        EXPECT_GT(spikes, 0) << "some neurons must spike (and be held)";
        for (Variant v : {Variant{"cpu", "generic"}, Variant{"cpu", "avx2"}, Variant{"cpu", "avx512"}, Variant{"cpu", nullptr, 2}}) {
            const std::vector<float> got = all_rows(v, &available, run, weight_dtype);
            if (!available) continue;
            EXPECT_EQ(0, std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)))
                << (v.simd ? v.simd : "auto") << "/" << v.threads << (run ? " run" : " steps");
        }
    }
  }
}

// A host's parallel-for instead of libsnn's threads: it receives the work
// (batch instances, column blocks, ranges of neurons) and results stay
// identical to reference.
struct HostJobs {
    std::atomic<int64_t> loops{0}, calls{0};
};

void host_parallel_for(int64_t count, void (*body)(void*, int64_t), void* body_data, void* user_data) {
    HostJobs* jobs = static_cast<HostJobs*>(user_data);
    jobs->loops.fetch_add(1);
    // Two threads of the "host" take the odd and the even indices.
    std::thread other([&] {
        for (int64_t i = 1; i < count; i += 2) body(body_data, i);
    });
    for (int64_t i = 0; i < count; i += 2) body(body_data, i);
    other.join();
    jobs->calls.fetch_add(count);
}

TEST(Backends, HostParallelForRunsTheWorkWithIdenticalResults) {
    bool available = false;
    const std::vector<float> expected = run_variant({"reference", nullptr}, 60, &available);
    ASSERT_TRUE(available);
    HostJobs jobs;
    snn_context_options o;
    ASSERT_SNN_OK(snn_context_options_init(&o, sizeof o));
    EXPECT_EQ(o.parallel_for, nullptr);
    o.backend = "cpu";
    o.threads = 2;
    o.parallel_for = host_parallel_for;
    o.parallel_for_user_data = &jobs;
    snn_context* ctx = nullptr;
    ASSERT_SNN_OK(snn_context_create(&o, &ctx));
    snn_network* net = build(ctx, 3);
    ASSERT_NE(net, nullptr);
    const std::vector<float> got = trajectory(net, 60);
    snn_network_destroy(net);
    snn_context_destroy(ctx);
    ASSERT_EQ(got.size(), expected.size());
    EXPECT_EQ(0, std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)));
    EXPECT_GT(jobs.loops.load(), 0) << "the host's loop must have run libsnn's work";
    EXPECT_GT(jobs.calls.load(), jobs.loops.load());
}

TEST(Backends, UnknownSimdLevelIsRefused) {
    snn_context_options o;
    ASSERT_SNN_OK(snn_context_options_init(&o, sizeof o));
    o.backend = "cpu";
    o.simd = "sse9";
    snn_context* ctx = nullptr;
    EXPECT_SNN_ERROR(snn_context_create(&o, &ctx), SNN_UNSUPPORTED, "simd");
    EXPECT_EQ(ctx, nullptr);
}

}  // namespace
