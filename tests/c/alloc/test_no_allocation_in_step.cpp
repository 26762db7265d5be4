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
    // Conv2d from dense spikes (the cpu backend convolves by output tiles)
    // and from a current source (graded values), max-pooled onto LIF maps.
    int64_t img_shape[3] = {2, 12, 12}, map_shape[3] = {8, 4, 4}, cimg_shape[3] = {1, 10, 10}, cmap_shape[3] = {4, 4, 4};
    int32_t img, maps, cimg, cmaps;
    OK(snn_network_add_population(net, "img", "poisson", 3, img_shape, &img));
    OK(snn_population_set_param(net, img, "rate", 0.0));  // silent in the first step, dense after it (below)
    OK(snn_network_add_population(net, "maps", "lif", 3, map_shape, &maps));
    OK(snn_network_add_population(net, "cimg", "current_source", 3, cimg_shape, &cimg));
    OK(snn_network_add_population(net, "cmaps", "lif", 3, cmap_shape, &cmaps));
    snn_conv2d_geometry geo;
    OK(snn_conv2d_geometry_init(&geo, sizeof geo));
    geo.in_channels = 2;
    geo.in_height = geo.in_width = 12;
    geo.out_channels = 8;
    geo.kernel_height = geo.kernel_width = 5;
    geo.pool = SNN_POOL_MAX;
    geo.pool_height = geo.pool_width = 2;
    std::vector<float> kernel(static_cast<std::size_t>(8 * 2 * 5 * 5), 2e-3f);
    OK(snn_network_connect_conv2d(net, img, maps, &geo, kernel.data(), static_cast<int64_t>(kernel.size()), &opt, &conn));
    geo.in_channels = 1;
    geo.in_height = geo.in_width = 10;
    geo.out_channels = 4;
    geo.kernel_height = geo.kernel_width = 3;
    geo.pool = SNN_POOL_AVG;
    geo.pool_height = geo.pool_width = 2;
    geo.bias = 1;
    std::vector<float> ckernel(static_cast<std::size_t>(4 * 9 + 4), 1e-3f);
    OK(snn_network_connect_conv2d(net, cimg, cmaps, &geo, ckernel.data(), static_cast<int64_t>(ckernel.size()), &opt, &conn));

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
    std::vector<float> picture(static_cast<std::size_t>(steps * 3 * 100), 0.7f);
    int64_t pic_shape[3] = {steps, 3, 100};
    t.data = picture.data();
    t.shape = pic_shape;
    OK(snn_population_bind_input(net, cimg, &t));
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
    // From now on dense spikes: the conv2d kernels take a way the first step did not need.
    OK(snn_population_set_param(net, img, "rate", 3000.0));
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
