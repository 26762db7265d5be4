// Version, status names, last error, options structs, contexts, backends,
// allocator hooks (with failure injection) and the log hook.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "helpers.h"

using namespace snntest;

// ---------------------------------------------------------------------------
// Version and status

TEST(Version, MacrosMatchRuntime) {
    EXPECT_EQ(SNN_VERSION_NUMBER, SNN_VERSION_MAJOR * 10000 + SNN_VERSION_MINOR * 100 + SNN_VERSION_PATCH);
    EXPECT_EQ(snn_version(), static_cast<uint32_t>(SNN_VERSION_NUMBER));
    char expected[64];
    std::snprintf(expected, sizeof expected, "%d.%d.%d", SNN_VERSION_MAJOR, SNN_VERSION_MINOR, SNN_VERSION_PATCH);
    ASSERT_NE(snn_version_string(), nullptr);
    EXPECT_STREQ(snn_version_string(), expected);
}

TEST(Status, NameOfEveryCode) {
    const struct {
        snn_status code;
        const char* name;
    } codes[] = {
        {SNN_OK, "SNN_OK"},
        {SNN_INVALID_ARGUMENT, "SNN_INVALID_ARGUMENT"},
        {SNN_NOT_FOUND, "SNN_NOT_FOUND"},
        {SNN_OUT_OF_RANGE, "SNN_OUT_OF_RANGE"},
        {SNN_SHAPE, "SNN_SHAPE"},
        {SNN_STATE, "SNN_STATE"},
        {SNN_FORMAT, "SNN_FORMAT"},
        {SNN_IO, "SNN_IO"},
        {SNN_NO_MEMORY, "SNN_NO_MEMORY"},
        {SNN_UNSUPPORTED, "SNN_UNSUPPORTED"},
        {SNN_BACKEND, "SNN_BACKEND"},
        {SNN_CANCELLED, "SNN_CANCELLED"},
        {SNN_INTERNAL, "SNN_INTERNAL"},
    };
    for (const auto& c : codes) EXPECT_STREQ(snn_status_name(c.code), c.name);
    // The values are stable forever.
    EXPECT_EQ(SNN_INVALID_ARGUMENT, -1);
    EXPECT_EQ(SNN_NOT_FOUND, -2);
    EXPECT_EQ(SNN_OUT_OF_RANGE, -3);
    EXPECT_EQ(SNN_SHAPE, -4);
    EXPECT_EQ(SNN_STATE, -5);
    EXPECT_EQ(SNN_FORMAT, -6);
    EXPECT_EQ(SNN_IO, -7);
    EXPECT_EQ(SNN_NO_MEMORY, -8);
    EXPECT_EQ(SNN_UNSUPPORTED, -9);
    EXPECT_EQ(SNN_BACKEND, -10);
    EXPECT_EQ(SNN_CANCELLED, -11);
    EXPECT_EQ(SNN_INTERNAL, -12);
    // Unknown codes still get a usable static string.
    for (snn_status unknown : {1, -13, -1000, 12345}) {
        const char* name = snn_status_name(unknown);
        ASSERT_NE(name, nullptr);
        EXPECT_GT(std::strlen(name), 0u);
    }
}

TEST(LastError, SetByFailureClearedByClear) {
    snn_clear_error();
    EXPECT_STREQ(snn_last_error(), "");
    int32_t count = 0;
    EXPECT_EQ(snn_model_list(12345, nullptr, 0, &count), SNN_INVALID_ARGUMENT);
    EXPECT_NE(std::string(snn_last_error()), "");
    snn_clear_error();
    EXPECT_STREQ(snn_last_error(), "");
}

TEST(LastError, IsPerThread) {
    snn_clear_error();
    std::string other;
    std::thread worker([&] {
        int32_t count = 0;
        snn_model_list(12345, nullptr, 0, &count);
        other = snn_last_error();
    });
    worker.join();
    EXPECT_FALSE(other.empty());
    EXPECT_STREQ(snn_last_error(), "");
}

TEST(Destroy, NullIsANoOp) {
    snn_context_destroy(nullptr);
    snn_network_destroy(nullptr);
    snn_tensor_release(nullptr);
}

// ---------------------------------------------------------------------------
// Options structs

namespace {

// Runs init on a buffer filled with a guard pattern and returns the buffer.
template <class T, class Init>
std::vector<unsigned char> init_guarded(Init init, uint32_t struct_size, snn_status* status) {
    std::vector<unsigned char> buffer(sizeof(T) + 64, 0xAB);
    alignas(T) unsigned char storage[sizeof(T) + 64];
    std::memcpy(storage, buffer.data(), buffer.size());
    *status = init(reinterpret_cast<T*>(storage), struct_size);
    std::memcpy(buffer.data(), storage, buffer.size());
    return buffer;
}

template <class T, class Init>
void check_partial_init(Init init, std::size_t last_field_offset) {
    // A caller compiled against an older header passes a smaller struct_size:
    // exactly that many bytes are written.
    snn_status status = SNN_INTERNAL;
    const uint32_t small = static_cast<uint32_t>(last_field_offset);
    std::vector<unsigned char> bytes = init_guarded<T>(init, small, &status);
    ASSERT_EQ(status, SNN_OK) << snn_last_error();
    uint32_t written_size = 0;
    std::memcpy(&written_size, bytes.data(), sizeof written_size);
    EXPECT_EQ(written_size, small);
    for (std::size_t i = small; i < bytes.size(); ++i) ASSERT_EQ(bytes[i], 0xAB) << "byte " << i << " was written";
    // With the full size, the whole struct is written, and not one byte more.
    bytes = init_guarded<T>(init, sizeof(T), &status);
    ASSERT_EQ(status, SNN_OK);
    std::memcpy(&written_size, bytes.data(), sizeof written_size);
    EXPECT_EQ(written_size, sizeof(T));
    for (std::size_t i = sizeof(T); i < bytes.size(); ++i) ASSERT_EQ(bytes[i], 0xAB) << "byte " << i << " was written";
}

}  // namespace

TEST(Options, ContextDefaults) {
    snn_context_options o;
    std::memset(&o, 0x5A, sizeof o);
    ASSERT_SNN_OK(snn_context_options_init(&o, sizeof o));
    EXPECT_EQ(o.struct_size, sizeof o);
    EXPECT_TRUE(o.backend == nullptr || std::strcmp(o.backend, "auto") == 0);
    EXPECT_EQ(o.threads, 0);
    EXPECT_GE(o.log_level, SNN_LOG_ERROR);
    EXPECT_LE(o.log_level, SNN_LOG_DEBUG);
    EXPECT_EQ(o.alloc_fn, nullptr);
    EXPECT_EQ(o.free_fn, nullptr);
    EXPECT_EQ(o.log_fn, nullptr);
    check_partial_init<snn_context_options>(snn_context_options_init, offsetof(snn_context_options, log_user_data));
    check_partial_init<snn_context_options>(snn_context_options_init, offsetof(snn_context_options, threads));
}

TEST(Options, NetworkDefaults) {
    snn_network_options o;
    std::memset(&o, 0x5A, sizeof o);
    ASSERT_SNN_OK(snn_network_options_init(&o, sizeof o));
    EXPECT_EQ(o.struct_size, sizeof o);
    EXPECT_DOUBLE_EQ(o.dt, 1e-4);
    EXPECT_EQ(o.seed, 0u);
    EXPECT_EQ(o.batch, 1);
    check_partial_init<snn_network_options>(snn_network_options_init, offsetof(snn_network_options, batch));
    check_partial_init<snn_network_options>(snn_network_options_init, offsetof(snn_network_options, seed));
}

TEST(Options, ConnectionDefaults) {
    snn_connection_options o;
    std::memset(&o, 0x5A, sizeof o);
    ASSERT_SNN_OK(snn_connection_options_init(&o, sizeof o));
    EXPECT_EQ(o.struct_size, sizeof o);
    EXPECT_EQ(o.name, nullptr);
    EXPECT_TRUE(o.synapse == nullptr || std::strcmp(o.synapse, "delta") == 0);
    EXPECT_EQ(o.delay, 1);
    check_partial_init<snn_connection_options>(snn_connection_options_init, offsetof(snn_connection_options, delay));
}

TEST(Options, LoadDefaults) {
    snn_load_options o;
    std::memset(&o, 0x5A, sizeof o);
    ASSERT_SNN_OK(snn_load_options_init(&o, sizeof o));
    EXPECT_EQ(o.struct_size, sizeof o);
    EXPECT_EQ(o.batch, 0);
    check_partial_init<snn_load_options>(snn_load_options_init, offsetof(snn_load_options, batch));
}

TEST(Options, InitRefusals) {
    snn_context_options c;
    snn_network_options n;
    snn_connection_options k;
    snn_load_options l;
    EXPECT_SNN_ERROR(snn_context_options_init(nullptr, sizeof c), SNN_INVALID_ARGUMENT, "options");
    EXPECT_SNN_ERROR(snn_network_options_init(nullptr, sizeof n), SNN_INVALID_ARGUMENT, "options");
    EXPECT_SNN_ERROR(snn_connection_options_init(nullptr, sizeof k), SNN_INVALID_ARGUMENT, "options");
    EXPECT_SNN_ERROR(snn_load_options_init(nullptr, sizeof l), SNN_INVALID_ARGUMENT, "options");
    EXPECT_SNN_ERROR(snn_context_options_init(&c, 0), SNN_INVALID_ARGUMENT, "struct_size");
    EXPECT_SNN_ERROR(snn_network_options_init(&n, 2), SNN_INVALID_ARGUMENT, "struct_size");
    EXPECT_SNN_ERROR(snn_connection_options_init(&k, 3), SNN_INVALID_ARGUMENT, "struct_size");
    EXPECT_SNN_ERROR(snn_load_options_init(&l, 1), SNN_INVALID_ARGUMENT, "struct_size");
}

TEST(Options, OlderCallerStructIsReadOnlyUpToItsSize) {
    // A caller compiled when snn_network_options ended before `batch`: the
    // bytes after its struct_size are not read, so batch takes its default.
    Context context;
    snn_network_options o;
    ASSERT_SNN_OK(snn_network_options_init(&o, offsetof(snn_network_options, batch)));
    o.dt = 5e-4;
    o.seed = 77;
    o.batch = 7;  // beyond struct_size: must be ignored
    snn_network* net = nullptr;
    ASSERT_SNN_OK(snn_network_create(context.get(), &o, &net));
    int32_t batch = 0;
    double dt = 0;
    uint64_t seed = 0;
    EXPECT_SNN_OK(snn_network_batch(net, &batch));
    EXPECT_SNN_OK(snn_network_dt(net, &dt));
    EXPECT_SNN_OK(snn_network_seed(net, &seed));
    EXPECT_EQ(batch, 1);
    EXPECT_DOUBLE_EQ(dt, 5e-4);
    EXPECT_EQ(seed, 77u);
    snn_network_destroy(net);

    snn_network_options bad;
    ASSERT_SNN_OK(snn_network_options_init(&bad, sizeof bad));
    bad.struct_size = 0;
    net = reinterpret_cast<snn_network*>(&bad);
    EXPECT_SNN_ERROR(snn_network_create(context.get(), &bad, &net), SNN_INVALID_ARGUMENT, "struct_size");
    EXPECT_EQ(net, nullptr);
}

// ---------------------------------------------------------------------------
// Contexts and backends

TEST(Context, AutoPicksTheFirstListedBackend) {
    const char* listed[8] = {};
    int32_t count = 0;
    ASSERT_SNN_OK(snn_backend_list(listed, 8, &count));
    ASSERT_GE(count, 2);
    EXPECT_STREQ(listed[0], "cpu");  // the fast backend is preferred
    snn_context* context = nullptr;
    ASSERT_SNN_OK(snn_context_create(nullptr, &context));
    const char* name = nullptr;
    ASSERT_SNN_OK(snn_context_backend(context, &name));
    EXPECT_STREQ(name, listed[0]);
    int32_t threads = 0;
    ASSERT_SNN_OK(snn_context_threads(context, &threads));
    EXPECT_GE(threads, 1);
    snn_context_destroy(context);

    for (const char* backend : {"auto", "cpu", "reference"}) {
        snn_context_options o;
        ASSERT_SNN_OK(snn_context_options_init(&o, sizeof o));
        o.backend = backend;
        o.threads = 3;
        ASSERT_SNN_OK(snn_context_create(&o, &context));
        ASSERT_SNN_OK(snn_context_backend(context, &name));
        EXPECT_STREQ(name, std::string(backend) == "auto" ? listed[0] : backend) << backend;
        ASSERT_SNN_OK(snn_context_threads(context, &threads));
        EXPECT_EQ(threads, 3);
        const char* simd = nullptr;
        ASSERT_SNN_OK(snn_context_simd(context, &simd));
        if (std::string(name) == "reference") EXPECT_STREQ(simd, "scalar");
        snn_context_destroy(context);
    }
}

TEST(Context, BackendList) {
    int32_t count = -1;
    ASSERT_SNN_OK(snn_backend_list(nullptr, 0, &count));
    ASSERT_GE(count, 1);
    std::vector<const char*> names(static_cast<std::size_t>(count) + 2, nullptr);
    int32_t count2 = -1;
    ASSERT_SNN_OK(snn_backend_list(names.data(), static_cast<int32_t>(names.size()), &count2));
    EXPECT_EQ(count2, count);
    bool has_reference = false;
    for (int32_t i = 0; i < count; ++i) {
        ASSERT_NE(names[static_cast<std::size_t>(i)], nullptr);
        has_reference |= std::strcmp(names[static_cast<std::size_t>(i)], "reference") == 0;
    }
    EXPECT_TRUE(has_reference);
    EXPECT_EQ(names[static_cast<std::size_t>(count)], nullptr) << "wrote past the count";
    // "auto" picks the first.
    Context context;
    const char* picked = nullptr;
    ASSERT_SNN_OK(snn_context_backend(context.get(), &picked));
    EXPECT_STREQ(picked, names[0]);

    EXPECT_SNN_ERROR(snn_backend_list(names.data(), 4, nullptr), SNN_INVALID_ARGUMENT, "out_count");
    EXPECT_SNN_ERROR(snn_backend_list(nullptr, 4, &count), SNN_INVALID_ARGUMENT, "out_names");
    EXPECT_SNN_ERROR(snn_backend_list(names.data(), -1, &count), SNN_INVALID_ARGUMENT, "capacity");
}

TEST(Context, Refusals) {
    snn_context* context = reinterpret_cast<snn_context*>(0x1);
    snn_context_options o;
    ASSERT_SNN_OK(snn_context_options_init(&o, sizeof o));
    o.backend = "no-such-backend";
    EXPECT_SNN_ERROR(snn_context_create(&o, &context), SNN_UNSUPPORTED, "backend");
    EXPECT_EQ(context, nullptr);

    ASSERT_SNN_OK(snn_context_options_init(&o, sizeof o));
    o.threads = -1;
    EXPECT_SNN_ERROR(snn_context_create(&o, &context), SNN_INVALID_ARGUMENT, "threads");

    ASSERT_SNN_OK(snn_context_options_init(&o, sizeof o));
    o.log_level = 42;
    EXPECT_SNN_ERROR(snn_context_create(&o, &context), SNN_INVALID_ARGUMENT, "log_level");

    ASSERT_SNN_OK(snn_context_options_init(&o, sizeof o));
    o.alloc_fn = [](uint64_t, uint64_t, void*) -> void* { return nullptr; };
    EXPECT_SNN_ERROR(snn_context_create(&o, &context), SNN_INVALID_ARGUMENT, "free_fn");

    ASSERT_SNN_OK(snn_context_options_init(&o, sizeof o));
    o.struct_size = 0;
    EXPECT_SNN_ERROR(snn_context_create(&o, &context), SNN_INVALID_ARGUMENT, "struct_size");

    EXPECT_SNN_ERROR(snn_context_create(nullptr, nullptr), SNN_INVALID_ARGUMENT, "out_context");

    const char* name = nullptr;
    int32_t threads = 0;
    EXPECT_SNN_ERROR(snn_context_backend(nullptr, &name), SNN_INVALID_ARGUMENT, "context");
    EXPECT_SNN_ERROR(snn_context_threads(nullptr, &threads), SNN_INVALID_ARGUMENT, "context");
    Context good;
    EXPECT_SNN_ERROR(snn_context_backend(good.get(), nullptr), SNN_INVALID_ARGUMENT, "out_name");
    EXPECT_SNN_ERROR(snn_context_threads(good.get(), nullptr), SNN_INVALID_ARGUMENT, "out_threads");
    // The context stays usable.
    ASSERT_SNN_OK(snn_context_backend(good.get(), &name));
    Net net(NetOptions{}, good.get());
    net.lif("a", 3);
    net.run(3);
    EXPECT_EQ(net.step_count(), 3);
}

TEST(Network, CreateRefusals) {
    Context context;
    snn_network* net = reinterpret_cast<snn_network*>(0x1);
    EXPECT_SNN_ERROR(snn_network_create(nullptr, nullptr, &net), SNN_INVALID_ARGUMENT, "context");
    EXPECT_EQ(net, nullptr);
    EXPECT_SNN_ERROR(snn_network_create(context.get(), nullptr, nullptr), SNN_INVALID_ARGUMENT, "out_network");
    snn_network_options o;
    for (double dt : {0.0, -1e-4, std::nan(""), HUGE_VAL}) {
        ASSERT_SNN_OK(snn_network_options_init(&o, sizeof o));
        o.dt = dt;
        EXPECT_SNN_ERROR(snn_network_create(context.get(), &o, &net), SNN_INVALID_ARGUMENT, "dt");
    }
    for (int32_t batch : {0, -3}) {
        ASSERT_SNN_OK(snn_network_options_init(&o, sizeof o));
        o.batch = batch;
        EXPECT_SNN_ERROR(snn_network_create(context.get(), &o, &net), SNN_INVALID_ARGUMENT, "batch");
    }
    // Defaults with NULL options.
    ASSERT_SNN_OK(snn_network_create(context.get(), nullptr, &net));
    double dt = 0;
    uint64_t seed = 1;
    int32_t batch = 0;
    int64_t step = -1;
    EXPECT_SNN_OK(snn_network_dt(net, &dt));
    EXPECT_SNN_OK(snn_network_seed(net, &seed));
    EXPECT_SNN_OK(snn_network_batch(net, &batch));
    EXPECT_SNN_OK(snn_network_current_step(net, &step));
    EXPECT_DOUBLE_EQ(dt, 1e-4);
    EXPECT_EQ(seed, 0u);
    EXPECT_EQ(batch, 1);
    EXPECT_EQ(step, 0);
    snn_network_destroy(net);
}

// ---------------------------------------------------------------------------
// Allocator hooks

namespace {

struct CountingAllocator {
    std::mutex mutex;
    std::map<void*, std::pair<uint64_t, uint64_t>> live;  // ptr -> (size, alignment)
    int64_t allocations = 0;
    int64_t frees = 0;
    int64_t fail_after = -1;  // allocations that succeed before every later one fails; -1 = never
    bool failed = false;
    std::vector<std::string> problems;

    static void* alloc(uint64_t size, uint64_t alignment, void* user) {
        auto* self = static_cast<CountingAllocator*>(user);
        std::lock_guard<std::mutex> lock(self->mutex);
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
            self->problems.push_back("alignment " + std::to_string(alignment) + " is not a power of two");
        if (self->fail_after >= 0 && self->allocations >= self->fail_after) {
            self->failed = true;
            return nullptr;
        }
        const uint64_t a = std::max<uint64_t>(alignment, sizeof(void*));
        const uint64_t rounded = (std::max<uint64_t>(size, 1) + a - 1) / a * a;
        void* p = std::aligned_alloc(static_cast<std::size_t>(a), static_cast<std::size_t>(rounded));
        if (!p) return nullptr;
        ++self->allocations;
        self->live[p] = {size, alignment};
        return p;
    }
    static void free(void* p, uint64_t size, uint64_t alignment, void* user) {
        auto* self = static_cast<CountingAllocator*>(user);
        std::lock_guard<std::mutex> lock(self->mutex);
        auto it = self->live.find(p);
        if (it == self->live.end()) {
            self->problems.push_back("free of a pointer that was not allocated (or freed twice)");
            return;
        }
        if (it->second.first != size || it->second.second != alignment)
            self->problems.push_back("free with size/alignment " + std::to_string(size) + "/" + std::to_string(alignment) +
                                     ", allocated as " + std::to_string(it->second.first) + "/" +
                                     std::to_string(it->second.second));
        self->live.erase(it);
        ++self->frees;
        std::free(p);
    }

    snn_context_options options() {
        snn_context_options o;
        snn_context_options_init(&o, sizeof o);
        o.alloc_fn = &CountingAllocator::alloc;
        o.free_fn = &CountingAllocator::free;
        o.alloc_user_data = this;
        o.threads = 1;
        return o;
    }
    ~CountingAllocator() {
        for (auto& kv : live) std::free(kv.first);
    }
};

// Builds and runs a small network on a context with the given options. Stops
// at the first failure and returns its status (after checking it is
// SNN_NO_MEMORY with a message); cleans up in every case. `spikes` gets a
// summary of the run when it completes.
snn_status build_and_run(const snn_context_options& options, int64_t* spikes, bool retry_after_failure,
                         CountingAllocator* allocator, int* failed_call = nullptr) {
    snn_status first_failure = SNN_OK;
    int call_index = 0;
    int first_failed_call = 0;
    snn_context* context = nullptr;
    snn_network* net = nullptr;
    int64_t total = 0;
    uint8_t recorded[20 * 2 * 8];
    int64_t rec_shape[3] = {20, 2, 8};
    auto deleter_calls = std::make_shared<int>(0);
    // Each step: call it; on failure record it and either stop or (retrying)
    // lift the limit and call it again, so the object must still be usable.
    auto attempt = [&](auto&& call) -> bool {
        ++call_index;
        int32_t pops_before = 0, conns_before = 0;
        if (net) {
            snn_network_population_count(net, &pops_before);
            snn_network_connection_count(net, &conns_before);
        }
        snn_status s = call();
        if (s == SNN_OK) return true;
        if (net && retry_after_failure) {
            // A refused call adds nothing.
            int32_t pops_after = 0, conns_after = 0;
            snn_network_population_count(net, &pops_after);
            snn_network_connection_count(net, &conns_after);
            EXPECT_EQ(pops_after, pops_before) << "call #" << call_index << " failed with " << snn_status_name(s)
                                               << " but added a population";
            EXPECT_EQ(conns_after, conns_before) << "call #" << call_index << " failed with " << snn_status_name(s)
                                                 << " but added a connection";
        }
        if (first_failure == SNN_OK) first_failed_call = call_index;
        if (failed_call && first_failure == SNN_OK) *failed_call = call_index;
        EXPECT_EQ(s, SNN_NO_MEMORY) << snn_last_error();
        EXPECT_STRNE(snn_last_error(), "");
        if (first_failure == SNN_OK) first_failure = s;
        if (!retry_after_failure || s != SNN_NO_MEMORY) return false;
        allocator->fail_after = -1;
        s = call();
        EXPECT_EQ(s, SNN_OK) << "retry after SNN_NO_MEMORY failed: " << snn_status_name(s) << ": " << snn_last_error();
        return s == SNN_OK;
    };
    int32_t src = -1, lif = -1, poisson = -1, c0 = -1, c1 = -1, c2 = -1;
    const int64_t n_src = 4, n_lif = 8, n_poisson = 16;
    std::vector<float> w(static_cast<std::size_t>(n_src * n_lif), 8e-3f);
    std::vector<float> v0(static_cast<std::size_t>(n_lif), -60e-3f);
    float input[2 * 4] = {1, 0, 1, 0, 0, 1, 0, 1};
    int64_t in_shape[2] = {2, 4};
    snn_tensor input_t{};
    snn_tensor rec_t{};
    std::vector<float> out;
    int64_t count = 0;

    if (!attempt([&] { return snn_context_create(&options, &context); })) goto done;
    if (!attempt([&] {
            snn_network_options o;
            snn_network_options_init(&o, sizeof o);
            o.batch = 2;
            o.seed = 5;
            return snn_network_create(context, &o, &net);
        }))
        goto done;
    if (!attempt([&] { return snn_network_add_population(net, "src", "spike_source", 1, &n_src, &src); })) goto done;
    if (!attempt([&] { return snn_network_add_population(net, "lif", "lif", 1, &n_lif, &lif); })) goto done;
    if (!attempt([&] { return snn_network_add_population(net, "noise", "poisson", 1, &n_poisson, &poisson); })) goto done;
    if (!attempt([&] { return snn_population_set_param(net, poisson, "rate", 800.0); })) goto done;
    if (!attempt([&] { return snn_population_set_param(net, lif, "t_ref", 2e-4); })) goto done;
    if (!attempt([&] { return snn_network_connect_dense(net, src, lif, w.data(), static_cast<int64_t>(w.size()), nullptr, &c0); }))
        goto done;
    if (!attempt([&] {
            snn_connection_options o;
            snn_connection_options_init(&o, sizeof o);
            o.synapse = "exp";
            o.delay = 2;
            return snn_network_connect_random(net, poisson, lif, 0.5, 20e-3f, 11, &o, &c1);
        }))
        goto done;
    if (!attempt([&] { return snn_network_connect_random(net, lif, lif, 0.3, 1e-3f, 12, nullptr, &c2); })) goto done;
    if (!attempt([&] { return snn_population_write_state(net, lif, "v", v0.data(), n_lif); })) goto done;
    if (!attempt([&] { return snn_population_randomize_state(net, lif, "v", SNN_DIST_UNIFORM, -65e-3, -55e-3, 3); })) goto done;
    input_t.data = input;
    input_t.dtype = SNN_DTYPE_FLOAT32;
    input_t.ndim = 2;
    input_t.shape = in_shape;
    input_t.device_type = SNN_DEVICE_CPU;
    if (!attempt([&] { return snn_population_set_input(net, src, &input_t); })) goto done;
    rec_t.data = recorded;
    rec_t.dtype = SNN_DTYPE_UINT8;
    rec_t.ndim = 3;
    rec_t.shape = rec_shape;
    rec_t.device_type = SNN_DEVICE_CPU;
    rec_t.manager_ctx = deleter_calls.get();
    rec_t.deleter = [](snn_tensor* t) { ++*static_cast<int*>(t->manager_ctx); };
    if (!attempt([&] { return snn_population_bind_output(net, lif, "spikes", &rec_t); })) goto done;
    if (!attempt([&] { return snn_network_run(net, 20); })) goto done;
    for (uint8_t s : recorded) total += s;
    out.resize(2 * n_lif);
    if (!attempt([&] { return snn_population_read_state(net, lif, "v", out.data(), static_cast<int64_t>(out.size()), &count); }))
        goto done;
    if (!attempt([&] { return snn_population_unbind_output(net, lif, "spikes"); })) goto done;
    if (!attempt([&] { return snn_network_set_batch(net, 3); })) goto done;
    if (!attempt([&] { return snn_network_run(net, 5); })) goto done;
    if (!attempt([&] { return snn_network_set_batch(net, 1); })) goto done;
    if (!attempt([&] { return snn_network_reset(net); })) goto done;
    if (!attempt([&] { return snn_network_run(net, 5); })) goto done;
    *spikes = total;
done:
    snn_network_destroy(net);
    snn_context_destroy(context);
    EXPECT_LE(*deleter_calls, 1) << "the output buffer's deleter ran " << *deleter_calls << " times (first failed call #"
                                 << first_failed_call << ")";
    return first_failure;
}

}  // namespace

TEST(Allocator, HooksSeeEveryAllocationAndAllIsFreed) {
    CountingAllocator allocator;
    snn_context_options o = allocator.options();
    int64_t spikes = -1;
    EXPECT_EQ(build_and_run(o, &spikes, false, &allocator), SNN_OK);
    EXPECT_GT(allocator.allocations, 10);
    EXPECT_EQ(allocator.frees, allocator.allocations);
    EXPECT_TRUE(allocator.live.empty()) << allocator.live.size() << " blocks leaked";
    for (const std::string& p : allocator.problems) ADD_FAILURE() << p;
    EXPECT_GT(spikes, 0);
}

TEST(Allocator, ContextAndNetworkObjectsComeFromTheHooks) {
    CountingAllocator allocator;
    snn_context_options o = allocator.options();
    snn_context* context = nullptr;
    ASSERT_SNN_OK(snn_context_create(&o, &context));
    const int64_t after_context = allocator.allocations;
    EXPECT_GE(after_context, 1);
    snn_network* net = nullptr;
    ASSERT_SNN_OK(snn_network_create(context, nullptr, &net));
    EXPECT_GT(allocator.allocations, after_context);
    const int64_t before_pop = allocator.allocations;
    int64_t n = 1000;
    int32_t pop = -1;
    ASSERT_SNN_OK(snn_network_add_population(net, "big", "lif", 1, &n, &pop));
    EXPECT_GT(allocator.allocations, before_pop);
    const int64_t before_run = allocator.allocations;
    ASSERT_SNN_OK(snn_network_step(net));
    EXPECT_GT(allocator.allocations, before_run) << "the running state did not come from the hooks";
    // A step after the first allocates nothing.
    const int64_t steady = allocator.allocations;
    ASSERT_SNN_OK(snn_network_run(net, 10));
    EXPECT_EQ(allocator.allocations, steady);
    snn_network_destroy(net);
    EXPECT_LT(allocator.live.size(), static_cast<std::size_t>(after_context) + 1);
    snn_context_destroy(context);
    EXPECT_TRUE(allocator.live.empty());
    for (const std::string& p : allocator.problems) ADD_FAILURE() << p;
}

TEST(Allocator, FailureInjectionGivesNoMemoryWithoutLeaks) {
    // How many allocations a full run makes.
    CountingAllocator probe;
    int64_t reference_spikes = -1;
    ASSERT_EQ(build_and_run(probe.options(), &reference_spikes, false, &probe), SNN_OK);
    const int64_t total = probe.allocations;
    ASSERT_GT(total, 0);
    const int64_t stride = std::max<int64_t>(1, total / 400);
    int failures = 0;
    for (int64_t n = 0; n < total; n += stride) {
        CountingAllocator allocator;
        allocator.fail_after = n;
        int64_t spikes = -1;
        snn_status s = build_and_run(allocator.options(), &spikes, false, &allocator);
        EXPECT_TRUE(s == SNN_NO_MEMORY || (s == SNN_OK && !allocator.failed))
            << "fail after " << n << ": " << snn_status_name(s);
        failures += s == SNN_NO_MEMORY;
        EXPECT_TRUE(allocator.live.empty()) << "fail after " << n << ": " << allocator.live.size() << " blocks leaked";
        for (const std::string& p : allocator.problems) ADD_FAILURE() << "fail after " << n << ": " << p;
        if (HasFailure()) break;
    }
    EXPECT_GT(failures, 0);
}

TEST(Allocator, ObjectsStayUsableAfterNoMemory) {
    // After an SNN_NO_MEMORY, the same call succeeds once memory is available
    // again, and the run gives the same result as one that never failed.
    CountingAllocator probe;
    int64_t reference_spikes = -1;
    ASSERT_EQ(build_and_run(probe.options(), &reference_spikes, false, &probe), SNN_OK);
    const int64_t total = probe.allocations;
    const int64_t stride = std::max<int64_t>(1, total / 400);
    for (int64_t n = 0; n < total; n += stride) {
        CountingAllocator allocator;
        allocator.fail_after = n;
        int64_t spikes = -1;
        int failed_call = 0;
        build_and_run(allocator.options(), &spikes, true, &allocator, &failed_call);
        EXPECT_EQ(spikes, reference_spikes) << "fail after " << n << " allocations, in call #" << failed_call
                                            << " of build_and_run";
        EXPECT_TRUE(allocator.live.empty()) << "fail after " << n << ": " << allocator.live.size() << " blocks leaked";
        for (const std::string& p : allocator.problems) ADD_FAILURE() << "fail after " << n << ": " << p;
    }
}

// ---------------------------------------------------------------------------
// Log hook

namespace {
struct LogRecord {
    std::vector<std::pair<int32_t, std::string>> messages;
    static void fn(int32_t level, const char* message, void* user) {
        static_cast<LogRecord*>(user)->messages.emplace_back(level, message ? message : "(null)");
    }
};
}  // namespace

TEST(Log, InfoMessagesReachTheHook) {
    LogRecord record;
    snn_context_options o;
    ASSERT_SNN_OK(snn_context_options_init(&o, sizeof o));
    o.log_level = SNN_LOG_INFO;
    o.log_fn = &LogRecord::fn;
    o.log_user_data = &record;
    {
        Context context(o);
        Net net(NetOptions{}, context.get());
        net.lif("a", 2);
        net.run(2);
    }
    bool has_info = false;
    for (const auto& m : record.messages) {
        EXPECT_LE(m.first, SNN_LOG_INFO) << m.second;
        EXPECT_GE(m.first, SNN_LOG_ERROR) << m.second;
        EXPECT_FALSE(m.second.empty());
        has_info |= m.first == SNN_LOG_INFO;
    }
    EXPECT_TRUE(has_info) << "no SNN_LOG_INFO message";
}

TEST(Log, LevelFiltersMessages) {
    LogRecord record;
    snn_context_options o;
    ASSERT_SNN_OK(snn_context_options_init(&o, sizeof o));
    o.log_level = SNN_LOG_ERROR;
    o.log_fn = &LogRecord::fn;
    o.log_user_data = &record;
    {
        Context context(o);
        Net net(NetOptions{}, context.get());
        net.lif("a", 2);
        net.run(2);
    }
    for (const auto& m : record.messages) EXPECT_EQ(m.first, SNN_LOG_ERROR) << m.second;
}
