// A step must not allocate (docs/architecture.md): neither through the
// context's allocator hooks nor through the C++ heap. This executable counts
// both — the hooks directly, the C++ heap by replacing the global operator
// new — while a network with every kind of population, connection, binding
// and callback runs.
#include <gtest/gtest.h>
#include <snn/snn.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

namespace {
std::atomic<long> g_cxx_allocations{0};
std::atomic<long> g_hook_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
    ++g_cxx_allocations;
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

void* counting_alloc(uint64_t size, uint64_t alignment, void*) {
    ++g_hook_allocations;
    return std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
}
void counting_free(void* p, uint64_t, uint64_t, void*) { std::free(p); }

int32_t spike_counter(int32_t, int64_t, int32_t, int32_t count, const int32_t*, void* user_data) {
    *static_cast<long*>(user_data) += count;
    return 0;
}

#define OK(call) ASSERT_EQ((call), SNN_OK) << snn_last_error()

TEST(NoAllocation, StepAndRunAllocateNothing) {
    snn_context_options co;
    OK(snn_context_options_init(&co, sizeof co));
    co.alloc_fn = counting_alloc;
    co.free_fn = counting_free;
    snn_context* ctx = nullptr;
    OK(snn_context_create(&co, &ctx));
    snn_network_options no;
    OK(snn_network_options_init(&no, sizeof no));
    no.batch = 3;
    no.seed = 11;
    snn_network* net = nullptr;
    OK(snn_network_create(ctx, &no, &net));

    int64_t n_src = 64, n_cur = 8, n_exc = 128, n_out = 10;
    int32_t src, cur, exc, izh, out, conn;
    OK(snn_network_add_population(net, "src", "poisson", 1, &n_src, &src));
    OK(snn_population_set_param(net, src, "rate", 200.0));
    OK(snn_network_add_population(net, "cur", "current_source", 1, &n_cur, &cur));
    OK(snn_network_add_population(net, "exc", "alif", 1, &n_exc, &exc));
    OK(snn_population_set_param(net, exc, "t_ref", 2e-3));
    OK(snn_network_add_population(net, "izh", "izhikevich", 1, &n_exc, &izh));
    OK(snn_network_add_population(net, "out", "li", 1, &n_out, &out));
    snn_connection_options opt;
    OK(snn_connection_options_init(&opt, sizeof opt));
    opt.synapse = "exp";
    OK(snn_network_connect_random(net, src, exc, 0.2, 5e-3f, 1, &opt, &conn));
    opt.synapse = "cond_exp";
    opt.delay = 4;
    OK(snn_network_connect_random(net, exc, exc, 0.1, 0.05f, 2, &opt, &conn));
    opt.synapse = "delta";
    opt.delay = 0;
    std::vector<float> dense(static_cast<std::size_t>(n_cur * n_exc), 1e-4f);
    OK(snn_network_connect_dense(net, cur, exc, dense.data(), n_cur * n_exc, &opt, &conn));
    OK(snn_network_connect_one_to_one(net, exc, izh, nullptr, 0, 2e-3f, &opt, &conn));
    std::vector<int64_t> row_ptr(static_cast<std::size_t>(n_exc + 1));
    std::vector<int32_t> post(static_cast<std::size_t>(n_exc)), delays(static_cast<std::size_t>(n_exc));
    std::vector<float> w(static_cast<std::size_t>(n_exc), 1e-3f);
    for (int64_t i = 0; i <= n_exc; ++i) row_ptr[static_cast<std::size_t>(i)] = i;
    for (int64_t i = 0; i < n_exc; ++i) {
        post[static_cast<std::size_t>(i)] = static_cast<int32_t>(i % n_out);
        delays[static_cast<std::size_t>(i)] = static_cast<int32_t>(1 + i % 5);
    }
    opt.synapse = "exp";
    OK(snn_network_connect_sparse(net, izh, out, n_exc, row_ptr.data(), post.data(), w.data(), delays.data(), &opt, &conn));

    // Inputs and recordings bound for the whole run, a callback on every population.
    const int64_t steps = 200;
    std::vector<float> current(static_cast<std::size_t>(steps * 3 * n_cur), 0.5f);
    std::vector<float> v_record(static_cast<std::size_t>(steps * 3 * n_out));
    std::vector<uint8_t> spike_record(static_cast<std::size_t>(steps * 3 * n_exc));
    int64_t cur_shape[3] = {steps, 3, n_cur}, v_shape[3] = {steps, 3, n_out}, s_shape[3] = {steps, 3, n_exc};
    snn_tensor t{};
    t.device_type = SNN_DEVICE_CPU;
    t.ndim = 3;
    t.dtype = SNN_DTYPE_FLOAT32;
    t.data = current.data();
    t.shape = cur_shape;
    OK(snn_population_bind_input(net, cur, &t));
    t.data = v_record.data();
    t.shape = v_shape;
    OK(snn_population_bind_output(net, out, "v", &t));
    t.dtype = SNN_DTYPE_UINT8;
    t.data = spike_record.data();
    t.shape = s_shape;
    OK(snn_population_bind_output(net, exc, "spikes", &t));
    long spikes = 0;
    for (int32_t p : {src, exc, izh}) OK(snn_population_set_spike_callback(net, p, spike_counter, &spikes));

    OK(snn_network_step(net));  // the first step builds the engine: allocation allowed
    const long hooks_before = g_hook_allocations.load(), cxx_before = g_cxx_allocations.load();
    OK(snn_network_run(net, steps));
    for (int k = 0; k < 20; ++k) OK(snn_network_step(net));
    EXPECT_EQ(g_hook_allocations.load() - hooks_before, 0) << "the context allocator was called inside a run";
    EXPECT_EQ(g_cxx_allocations.load() - cxx_before, 0) << "operator new was called inside a run";
    EXPECT_GT(spikes, 0) << "the network should be active for this test to mean anything";

    snn_network_destroy(net);
    snn_context_destroy(ctx);
}

}  // namespace
