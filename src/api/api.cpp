// The extern "C" surface. Each function checks its arguments, forwards to the
// core, and is an exception firewall: no C++ exception crosses the ABI. The
// detail of a failure goes to the thread's last-error message.
#include <cstddef>
#include <cstring>
#include <new>
#include <string_view>

#include "core/context.h"
#include "core/error.h"
#include "core/file_format.h"
#include "core/network.h"
#include "core/vision.h"
#include "train/trainer.h"

using snn::Error;
using snn::fail;
using snn::Owner;

namespace {

template <class F>
snn_status guarded(F&& body) noexcept {
    try {
        return body();
    } catch (const Error& e) {
        snn::set_last_error(e.what());
        return e.status();
    } catch (const std::bad_alloc&) {
        snn::set_last_error("out of memory: the allocator returned NULL");
        return SNN_NO_MEMORY;
    } catch (const std::exception& e) {
        try {
            snn::set_last_error((std::string("internal error: ") + e.what()).c_str());
        } catch (...) {
        }
        return SNN_INTERNAL;
    } catch (...) {
        snn::set_last_error("internal error: unknown exception");
        return SNN_INTERNAL;
    }
}

#define SNN_REQUIRE(cond, status, ...)                        \
    do {                                                      \
        if (!(cond)) throw fail(status, __VA_ARGS__);         \
    } while (0)
#define SNN_REQUIRE_ARG(ptr) SNN_REQUIRE((ptr) != nullptr, SNN_INVALID_ARGUMENT, "%s: is NULL", #ptr)

snn::Context* ctx(snn_context* c) { return reinterpret_cast<snn::Context*>(c); }
const snn::Context* ctx(const snn_context* c) { return reinterpret_cast<const snn::Context*>(c); }
snn::Network* net(snn_network* n) { return reinterpret_cast<snn::Network*>(n); }
const snn::Network* net(const snn_network* n) { return reinterpret_cast<const snn::Network*>(n); }

// Copies a caller's options struct of any (older or newer) size over defaults.
template <class T>
T read_options(const T* given, const T& defaults, const char* what) {
    T out = defaults;
    if (!given) return out;
    if (given->struct_size < sizeof(uint32_t))
        throw fail(SNN_INVALID_ARGUMENT, "%s: struct_size %u is too small (call the *_init function first)", what, given->struct_size);
    std::memcpy(&out, given, std::min<std::size_t>(given->struct_size, sizeof(T)));
    out.struct_size = sizeof(T);
    return out;
}

// Writes `full` into the caller's struct, as much as its struct_size holds.
template <class T>
void write_info(T* info, const T& full, const char* what) {
    if (info->struct_size < sizeof(uint32_t))
        throw fail(SNN_INVALID_ARGUMENT, "%s: struct_size %u is too small (set it to sizeof)", what, info->struct_size);
    const uint32_t size = info->struct_size;
    std::memcpy(info, &full, std::min<std::size_t>(size, sizeof(T)));
    info->struct_size = size;
}

template <class T>
snn_status init_options(T* options, uint32_t struct_size, const T& defaults) {
    return guarded([&] {
        SNN_REQUIRE_ARG(options);
        SNN_REQUIRE(struct_size >= sizeof(uint32_t), SNN_INVALID_ARGUMENT, "struct_size: %u is too small", struct_size);
        T full = defaults;
        full.struct_size = struct_size;
        std::memcpy(options, &full, std::min<std::size_t>(struct_size, sizeof(T)));
        if (struct_size > sizeof(T)) std::memset(reinterpret_cast<char*>(options) + sizeof(T), 0, struct_size - sizeof(T));
        return SNN_OK;
    });
}

snn_context_options default_context_options() {
    snn_context_options o{};
    o.struct_size = sizeof o;
    o.backend = "auto";
    o.threads = 0;
    o.log_level = SNN_LOG_WARNING;
    return o;
}
snn_network_options default_network_options() {
    snn_network_options o{};
    o.struct_size = sizeof o;
    o.dt = 1e-4;
    o.seed = 0;
    o.batch = 1;
    return o;
}
snn_connection_options default_connection_options() {
    snn_connection_options o{};
    o.struct_size = sizeof o;
    o.name = nullptr;
    o.synapse = "delta";
    o.delay = 1;
    return o;
}
snn_conv2d_geometry default_conv2d_geometry() {
    snn_conv2d_geometry g{};
    g.struct_size = sizeof g;
    g.stride_y = g.stride_x = 1;
    g.pool = SNN_POOL_NONE;
    return g;
}
snn_load_options default_load_options() {
    snn_load_options o{};
    o.struct_size = sizeof o;
    o.batch = 0;
    return o;
}

// Two-call pattern helper: reports the count, copies when capacity allows.
template <class T>
void two_call(const T* values, int64_t count, T* out, int64_t capacity, int64_t* out_count, const char* what) {
    SNN_REQUIRE_ARG(out_count);
    *out_count = count;
    if (capacity == 0) return;
    SNN_REQUIRE(capacity > 0, SNN_INVALID_ARGUMENT, "capacity: is negative");
    SNN_REQUIRE(out != nullptr, SNN_INVALID_ARGUMENT, "%s: is NULL with capacity %lld", what, static_cast<long long>(capacity));
    SNN_REQUIRE(capacity >= count, SNN_SHAPE, "capacity: %lld is less than the %lld values (call with capacity 0 to ask)",
                static_cast<long long>(capacity), static_cast<long long>(count));
    std::copy(values, values + count, out);
}

void check_name_arg(const char* s, const char* what) {
    if (!s) throw fail(SNN_INVALID_ARGUMENT, "%s: is NULL", what);
}

// The exported view of a state variable.
struct View {
    snn_tensor tensor;
    int64_t shape[2];
    snn::Network* network;
};

void release_view(snn_tensor* t) {
    View* view = static_cast<View*>(t->manager_ctx);
    snn::Network* network = view->network;
    --network->live_views();
    network->memory()->deallocate(view, sizeof(View), alignof(View));
}

}  // namespace

extern "C" {

// ---------------------------------------------------------------- errors, version

SNN_API const char* snn_status_name(snn_status status) {
    switch (status) {
        case SNN_OK: return "SNN_OK";
        case SNN_INVALID_ARGUMENT: return "SNN_INVALID_ARGUMENT";
        case SNN_NOT_FOUND: return "SNN_NOT_FOUND";
        case SNN_OUT_OF_RANGE: return "SNN_OUT_OF_RANGE";
        case SNN_SHAPE: return "SNN_SHAPE";
        case SNN_STATE: return "SNN_STATE";
        case SNN_FORMAT: return "SNN_FORMAT";
        case SNN_IO: return "SNN_IO";
        case SNN_NO_MEMORY: return "SNN_NO_MEMORY";
        case SNN_UNSUPPORTED: return "SNN_UNSUPPORTED";
        case SNN_BACKEND: return "SNN_BACKEND";
        case SNN_CANCELLED: return "SNN_CANCELLED";
        case SNN_INTERNAL: return "SNN_INTERNAL";
        default: return "SNN_UNKNOWN_STATUS";
    }
}

SNN_API const char* snn_last_error(void) { return snn::last_error(); }
SNN_API void snn_clear_error(void) { snn::set_last_error(""); }
SNN_API uint32_t snn_version(void) { return SNN_VERSION_NUMBER; }
SNN_API const char* snn_version_string(void) {
#define SNN_STR2(x) #x
#define SNN_STR(x) SNN_STR2(x)
    return SNN_STR(SNN_VERSION_MAJOR) "." SNN_STR(SNN_VERSION_MINOR) "." SNN_STR(SNN_VERSION_PATCH);
}

SNN_API void snn_tensor_release(snn_tensor* tensor) {
    if (tensor && tensor->deleter) tensor->deleter(tensor);
}

// ---------------------------------------------------------------- context

SNN_API snn_status snn_context_options_init(snn_context_options* options, uint32_t struct_size) {
    return init_options(options, struct_size, default_context_options());
}

SNN_API snn_status snn_context_create(const snn_context_options* options, snn_context** out_context) {
    return guarded([&] {
        SNN_REQUIRE_ARG(out_context);
        *out_context = nullptr;
        snn_context_options o = read_options(options, default_context_options(), "options");
        SNN_REQUIRE((o.alloc_fn == nullptr) == (o.free_fn == nullptr), SNN_INVALID_ARGUMENT,
                    "options: alloc_fn and free_fn must be set together");
        SNN_REQUIRE(o.log_level >= SNN_LOG_ERROR && o.log_level <= SNN_LOG_DEBUG, SNN_INVALID_ARGUMENT,
                    "options.log_level: %d is not an SNN_LOG_* value", o.log_level);
        // The context object itself comes from the caller's allocator too.
        snn::HostMemory bootstrap(o.alloc_fn, o.free_fn, o.alloc_user_data);
        void* memory = bootstrap.allocate(sizeof(snn::Context), alignof(snn::Context));
        try {
            snn::Context* context = new (memory) snn::Context(o);
            *out_context = reinterpret_cast<snn_context*>(context);
        } catch (...) {
            bootstrap.deallocate(memory, sizeof(snn::Context), alignof(snn::Context));
            throw;
        }
        return SNN_OK;
    });
}

SNN_API void snn_context_destroy(snn_context* context) {
    if (!context) return;
    snn::Context* c = ctx(context);
    snn::HostMemory bootstrap(c->alloc_fn(), c->free_fn(), c->alloc_user_data());
    c->~Context();
    bootstrap.deallocate(c, sizeof(snn::Context), alignof(snn::Context));
}

SNN_API snn_status snn_context_backend(const snn_context* context, const char** out_name) {
    return guarded([&] {
        SNN_REQUIRE_ARG(context);
        SNN_REQUIRE_ARG(out_name);
        *out_name = ctx(context)->backend().name;
        return SNN_OK;
    });
}

SNN_API snn_status snn_context_threads(const snn_context* context, int32_t* out_threads) {
    return guarded([&] {
        SNN_REQUIRE_ARG(context);
        SNN_REQUIRE_ARG(out_threads);
        *out_threads = ctx(context)->threads();
        return SNN_OK;
    });
}

SNN_API snn_status snn_context_simd(const snn_context* context, const char** out_level) {
    return guarded([&] {
        SNN_REQUIRE_ARG(context);
        SNN_REQUIRE_ARG(out_level);
        *out_level = ctx(context)->simd();
        return SNN_OK;
    });
}

SNN_API snn_status snn_backend_list(const char** out_names, int32_t capacity, int32_t* out_count) {
    return guarded([&] {
        int32_t count = 0;
        const snn::BackendInfo* table = snn::backends(&count);
        const char* names[16];
        for (int32_t i = 0; i < count; ++i) names[i] = table[i].name;
        int64_t n64 = 0;
        two_call<const char*>(names, count, out_names, capacity, &n64, "out_names");
        SNN_REQUIRE_ARG(out_count);
        *out_count = static_cast<int32_t>(n64);
        return SNN_OK;
    });
}

// ---------------------------------------------------------------- model registry

SNN_API snn_status snn_model_list(int32_t kind, const char** out_names, int32_t capacity, int32_t* out_count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(out_count);
        std::vector<const char*> names;
        if (kind == SNN_MODEL_NEURON)
            for (const auto& m : snn::neuron_models()) names.push_back(m.name);
        else if (kind == SNN_MODEL_SYNAPSE)
            for (const auto& m : snn::synapse_models()) names.push_back(m.name);
        else if (kind == SNN_MODEL_PLASTICITY)
            for (const auto& m : snn::plasticity_models()) names.push_back(m.name);
        else
            throw fail(SNN_INVALID_ARGUMENT, "kind: %d is not SNN_MODEL_NEURON, SNN_MODEL_SYNAPSE or SNN_MODEL_PLASTICITY", kind);
        int64_t n64 = 0;
        two_call<const char*>(names.data(), static_cast<int64_t>(names.size()), out_names, capacity, &n64, "out_names");
        *out_count = static_cast<int32_t>(n64);
        return SNN_OK;
    });
}

namespace {
std::vector<snn_param_info> model_param_infos(int32_t kind, const char* model) {
    check_name_arg(model, "model");
    std::vector<snn_param_info> infos;
    auto add_number = [&](const snn::NumberParam& p) {
        snn_param_info i{};
        i.struct_size = sizeof i;
        i.name = p.name;
        i.kind = SNN_PARAM_NUMBER;
        i.default_number = p.default_value;
        i.default_string = nullptr;
        i.unit = p.unit;
        i.choices = "";
        i.description = p.description;
        infos.push_back(i);
    };
    auto add_string = [&](const snn::StringParam& s) {
        snn_param_info i{};
        i.struct_size = sizeof i;
        i.name = s.name;
        i.kind = SNN_PARAM_STRING;
        i.default_number = 0.0;
        i.default_string = s.default_value;
        i.unit = "";
        i.choices = s.choices;
        i.description = s.description;
        infos.push_back(i);
    };
    if (kind == SNN_MODEL_NEURON) {
        int index = snn::find_neuron_model(model);
        if (index < 0) throw fail(SNN_NOT_FOUND, "model: unknown neuron model \"%s\"", model);
        const snn::NeuronModel& m = snn::neuron_models()[static_cast<std::size_t>(index)];
        for (const auto& p : m.params) add_number(p);
        for (const auto& s : m.options) add_string(s);
    } else if (kind == SNN_MODEL_SYNAPSE) {
        int index = snn::find_synapse_model(model);
        if (index < 0) throw fail(SNN_NOT_FOUND, "model: unknown synapse model \"%s\"", model);
        for (const auto& p : snn::synapse_models()[static_cast<std::size_t>(index)].params) add_number(p);
    } else if (kind == SNN_MODEL_PLASTICITY) {
        int index = snn::find_plasticity_model(model);
        if (index < 0) throw fail(SNN_NOT_FOUND, "model: unknown plasticity rule \"%s\"", model);
        const snn::PlasticityModel& m = snn::plasticity_models()[static_cast<std::size_t>(index)];
        for (const auto& p : m.params) add_number(p);
        for (const auto& s : m.options) add_string(s);
    } else {
        throw fail(SNN_INVALID_ARGUMENT, "kind: %d is not SNN_MODEL_NEURON, SNN_MODEL_SYNAPSE or SNN_MODEL_PLASTICITY", kind);
    }
    return infos;
}
}  // namespace

SNN_API snn_status snn_model_params(int32_t kind, const char* model, snn_param_info* out_params, int32_t capacity,
                                    int32_t* out_count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(out_count);
        std::vector<snn_param_info> infos = model_param_infos(kind, model);
        *out_count = static_cast<int32_t>(infos.size());
        if (capacity == 0) return SNN_OK;
        SNN_REQUIRE(capacity > 0, SNN_INVALID_ARGUMENT, "capacity: is negative");
        SNN_REQUIRE_ARG(out_params);
        SNN_REQUIRE(capacity >= static_cast<int32_t>(infos.size()), SNN_SHAPE, "capacity: %d is less than the %zu parameters",
                    capacity, infos.size());
        // Elements may be of an older, smaller layout: step by the caller's size.
        const uint32_t element_size = out_params[0].struct_size;
        SNN_REQUIRE(element_size >= sizeof(uint32_t), SNN_INVALID_ARGUMENT,
                    "out_params: set struct_size of the first element to sizeof(snn_param_info)");
        char* base = reinterpret_cast<char*>(out_params);
        for (std::size_t k = 0; k < infos.size(); ++k) {
            snn_param_info* target = reinterpret_cast<snn_param_info*>(base + k * element_size);
            std::memcpy(target, &infos[k], std::min<std::size_t>(element_size, sizeof(snn_param_info)));
            target->struct_size = element_size;
        }
        return SNN_OK;
    });
}

SNN_API snn_status snn_model_state_vars(int32_t kind, const char* model, const char** out_names, int32_t capacity,
                                        int32_t* out_count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(out_count);
        check_name_arg(model, "model");
        std::vector<const char*> names;
        if (kind == SNN_MODEL_NEURON) {
            int index = snn::find_neuron_model(model);
            if (index < 0) throw fail(SNN_NOT_FOUND, "model: unknown neuron model \"%s\"", model);
            names = snn::neuron_models()[static_cast<std::size_t>(index)].state_vars;
        } else if (kind == SNN_MODEL_SYNAPSE) {
            int index = snn::find_synapse_model(model);
            if (index < 0) throw fail(SNN_NOT_FOUND, "model: unknown synapse model \"%s\"", model);
            names = snn::synapse_models()[static_cast<std::size_t>(index)].state_vars;
        } else if (kind == SNN_MODEL_PLASTICITY) {
            int index = snn::find_plasticity_model(model);
            if (index < 0) throw fail(SNN_NOT_FOUND, "model: unknown plasticity rule \"%s\"", model);
            for (const auto& v : snn::plasticity_models()[static_cast<std::size_t>(index)].state_vars) names.push_back(v.name);
        } else {
            throw fail(SNN_INVALID_ARGUMENT, "kind: %d is not SNN_MODEL_NEURON, SNN_MODEL_SYNAPSE or SNN_MODEL_PLASTICITY", kind);
        }
        int64_t n64 = 0;
        two_call<const char*>(names.data(), static_cast<int64_t>(names.size()), out_names, capacity, &n64, "out_names");
        *out_count = static_cast<int32_t>(n64);
        return SNN_OK;
    });
}

// ---------------------------------------------------------------- network

SNN_API snn_status snn_network_options_init(snn_network_options* options, uint32_t struct_size) {
    return init_options(options, struct_size, default_network_options());
}

SNN_API snn_status snn_network_create(snn_context* context, const snn_network_options* options, snn_network** out_network) {
    return guarded([&] {
        SNN_REQUIRE_ARG(out_network);
        *out_network = nullptr;
        SNN_REQUIRE_ARG(context);
        snn_network_options o = read_options(options, default_network_options(), "options");
        snn::Context* c = ctx(context);
        auto owned = snn::make_in<snn::Network, snn::Network>(c->memory(), *c, o);
        *out_network = reinterpret_cast<snn_network*>(owned.release());
        return SNN_OK;
    });
}

SNN_API void snn_network_destroy(snn_network* network) {
    if (!network) return;
    snn::Network* n = net(network);
    std::pmr::memory_resource* mr = n->memory();
    n->~Network();
    mr->deallocate(n, sizeof(snn::Network), alignof(snn::Network));
}

SNN_API snn_status snn_network_dt(const snn_network* network, double* out_dt) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(out_dt);
        *out_dt = net(network)->graph().dt;
        return SNN_OK;
    });
}

SNN_API snn_status snn_network_seed(const snn_network* network, uint64_t* out_seed) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(out_seed);
        *out_seed = net(network)->graph().seed;
        return SNN_OK;
    });
}

SNN_API snn_status snn_network_current_step(const snn_network* network, int64_t* out_step) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(out_step);
        *out_step = net(network)->current_step();
        return SNN_OK;
    });
}

SNN_API snn_status snn_network_batch(const snn_network* network, int32_t* out_batch) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(out_batch);
        *out_batch = net(network)->batch();
        return SNN_OK;
    });
}

SNN_API snn_status snn_network_set_batch(snn_network* network, int32_t batch) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        net(network)->set_batch(batch);
        return SNN_OK;
    });
}

SNN_API snn_status snn_network_step(snn_network* network) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        snn_status s = net(network)->run(1);
        if (s == SNN_CANCELLED) snn::set_last_error("run: cancelled by a spike callback");
        return s;
    });
}

SNN_API snn_status snn_network_run(snn_network* network, int64_t steps) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        snn_status s = net(network)->run(steps);
        if (s == SNN_CANCELLED) snn::set_last_error("run: cancelled by a spike callback");
        return s;
    });
}

SNN_API snn_status snn_network_reset(snn_network* network) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        net(network)->reset();
        return SNN_OK;
    });
}

// ---------------------------------------------------------------- populations

SNN_API snn_status snn_network_add_population(snn_network* network, const char* name, const char* model, int32_t ndim,
                                              const int64_t* shape, int32_t* out_population) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(name, "name");
        check_name_arg(model, "model");
        SNN_REQUIRE_ARG(out_population);
        *out_population = net(network)->add_population(name, model, ndim, shape);
        return SNN_OK;
    });
}

SNN_API snn_status snn_network_population_count(const snn_network* network, int32_t* out_count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(out_count);
        *out_count = static_cast<int32_t>(net(network)->graph().populations.size());
        return SNN_OK;
    });
}

SNN_API snn_status snn_network_find_population(const snn_network* network, const char* name, int32_t* out_population) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(name, "name");
        SNN_REQUIRE_ARG(out_population);
        int32_t id = net(network)->find_population(name);
        if (id < 0) throw fail(SNN_NOT_FOUND, "name: no population \"%s\" in this network", name);
        *out_population = id;
        return SNN_OK;
    });
}

SNN_API snn_status snn_population_info_get(const snn_network* network, int32_t population, snn_population_info* info) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(info);
        const snn::Population& p = net(network)->population(population);
        snn_population_info full{};
        full.struct_size = sizeof full;
        full.name = p.name.c_str();
        full.model = p.neuron_model().name;
        full.size = p.size;
        full.ndim = static_cast<int32_t>(p.shape.size());
        for (std::size_t d = 0; d < p.shape.size(); ++d) full.shape[d] = p.shape[d];
        full.is_input = p.neuron_model().is_input ? 1 : 0;
        write_info(info, full, "info");
        return SNN_OK;
    });
}

SNN_API snn_status snn_population_set_param(snn_network* network, int32_t population, const char* name, double value) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(name, "name");
        net(network)->set_param(population, name, value);
        return SNN_OK;
    });
}

SNN_API snn_status snn_population_set_param_array(snn_network* network, int32_t population, const char* name,
                                                  const float* values, int64_t count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(name, "name");
        net(network)->set_param_array(population, name, values, count);
        return SNN_OK;
    });
}

SNN_API snn_status snn_population_get_param(const snn_network* network, int32_t population, const char* name,
                                            float* out_values, int64_t capacity, int64_t* out_count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(name, "name");
        const auto& values = net(network)->param(population, name);
        two_call(values.data(), static_cast<int64_t>(values.size()), out_values, capacity, out_count, "out_values");
        return SNN_OK;
    });
}

SNN_API snn_status snn_population_set_option(snn_network* network, int32_t population, const char* name, const char* value) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(name, "name");
        check_name_arg(value, "value");
        net(network)->set_option(population, name, value);
        return SNN_OK;
    });
}

SNN_API snn_status snn_population_get_option(const snn_network* network, int32_t population, const char* name,
                                             const char** out_value) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(name, "name");
        SNN_REQUIRE_ARG(out_value);
        *out_value = net(network)->option(population, name);
        return SNN_OK;
    });
}

namespace {
snn_status read_state_impl(const snn_network* network, Owner owner, int32_t id, const char* var, float* out_values,
                           int64_t capacity, int64_t* out_count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(var, "var");
        SNN_REQUIRE_ARG(out_count);
        const snn::Network* n = net(network);
        // "spikes" reads like a (read-only) state variable of a population.
        const bool spikes = owner == Owner::Population && std::string_view(var) == "spikes";
        int index = spikes ? 0 : n->var_index(owner, id, var);
        const int64_t count = n->batch() * n->state_size(owner, id, index);
        *out_count = count;
        if (capacity == 0) return SNN_OK;
        SNN_REQUIRE(capacity > 0, SNN_INVALID_ARGUMENT, "capacity: is negative");
        SNN_REQUIRE_ARG(out_values);
        SNN_REQUIRE(capacity >= count, SNN_SHAPE, "capacity: %lld is less than batch x n = %lld", static_cast<long long>(capacity),
                    static_cast<long long>(count));
        if (spikes) {
            // Read the bytes into the tail of the caller's float buffer, then widen in place from the front.
            uint8_t* bytes = reinterpret_cast<uint8_t*>(out_values + count) - count;
            n->read_spikes(id, bytes);
            for (int64_t k = 0; k < count; ++k) out_values[k] = static_cast<float>(bytes[k]);
        } else {
            n->read_state(owner, id, index, out_values);
        }
        return SNN_OK;
    });
}

snn_status write_state_impl(snn_network* network, Owner owner, int32_t id, const char* var, const float* values, int64_t count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(var, "var");
        snn::Network* n = net(network);
        if (owner == Owner::Population && std::string_view(var) == "spikes")
            throw fail(SNN_INVALID_ARGUMENT, "var: \"spikes\" is read-only");
        n->write_state(owner, id, n->var_index(owner, id, var), values, count);
        return SNN_OK;
    });
}

snn_status randomize_impl(snn_network* network, Owner owner, int32_t id, const char* var, int32_t distribution, double a,
                          double b, uint64_t seed) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(var, "var");
        snn::Network* n = net(network);
        n->randomize_state(owner, id, n->var_index(owner, id, var), distribution, a, b, seed);
        return SNN_OK;
    });
}
}  // namespace

SNN_API snn_status snn_population_read_state(const snn_network* network, int32_t population, const char* var, float* out_values,
                                             int64_t capacity, int64_t* out_count) {
    return read_state_impl(network, Owner::Population, population, var, out_values, capacity, out_count);
}
SNN_API snn_status snn_population_write_state(snn_network* network, int32_t population, const char* var, const float* values,
                                              int64_t count) {
    return write_state_impl(network, Owner::Population, population, var, values, count);
}
SNN_API snn_status snn_population_randomize_state(snn_network* network, int32_t population, const char* var,
                                                  int32_t distribution, double a, double b, uint64_t seed) {
    return randomize_impl(network, Owner::Population, population, var, distribution, a, b, seed);
}

SNN_API snn_status snn_population_read_spikes(const snn_network* network, int32_t population, uint8_t* out_spikes,
                                              int64_t capacity, int64_t* out_count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(out_count);
        const snn::Network* n = net(network);
        const int64_t count = n->batch() * n->population(population).size;
        *out_count = count;
        if (capacity == 0) return SNN_OK;
        SNN_REQUIRE(capacity > 0, SNN_INVALID_ARGUMENT, "capacity: is negative");
        SNN_REQUIRE_ARG(out_spikes);
        SNN_REQUIRE(capacity >= count, SNN_SHAPE, "capacity: %lld is less than batch x n = %lld", static_cast<long long>(capacity),
                    static_cast<long long>(count));
        n->read_spikes(population, out_spikes);
        return SNN_OK;
    });
}

SNN_API snn_status snn_population_view_state(snn_network* network, int32_t population, const char* var, snn_tensor** out_view) {
    return guarded([&] {
        SNN_REQUIRE_ARG(out_view);
        *out_view = nullptr;
        SNN_REQUIRE_ARG(network);
        check_name_arg(var, "var");
        snn::Network* n = net(network);
        int index = n->var_index(Owner::Population, population, var);
        float* data = n->state_data(population, index);
        if (!data) throw fail(SNN_UNSUPPORTED, "view_state: backend \"%s\" does not store \"%s\" in host memory; use read_state",
                              n->backend_name(), var);
        View* view = new (n->memory()->allocate(sizeof(View), alignof(View))) View{};
        view->network = n;
        view->shape[0] = n->batch();
        view->shape[1] = n->population(population).size;
        view->tensor.data = data;
        view->tensor.dtype = SNN_DTYPE_FLOAT32;
        view->tensor.ndim = 2;
        view->tensor.shape = view->shape;
        view->tensor.strides = nullptr;
        view->tensor.device_type = SNN_DEVICE_CPU;
        view->tensor.device_id = 0;
        view->tensor.manager_ctx = view;
        view->tensor.deleter = release_view;
        ++n->live_views();
        *out_view = &view->tensor;
        return SNN_OK;
    });
}

SNN_API snn_status snn_population_set_input(snn_network* network, int32_t population, const snn_tensor* input) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(input);
        net(network)->set_input(population, *input);
        return SNN_OK;
    });
}

SNN_API snn_status snn_population_bind_input(snn_network* network, int32_t population, const snn_tensor* buffer) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(buffer);
        net(network)->bind_input(population, *buffer);
        return SNN_OK;
    });
}

SNN_API snn_status snn_population_unbind_input(snn_network* network, int32_t population) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        net(network)->unbind_input(population);
        return SNN_OK;
    });
}

SNN_API snn_status snn_population_bind_output(snn_network* network, int32_t population, const char* var, const snn_tensor* buffer) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(var, "var");
        SNN_REQUIRE_ARG(buffer);
        net(network)->bind_output(population, var, *buffer);
        return SNN_OK;
    });
}

SNN_API snn_status snn_population_unbind_output(snn_network* network, int32_t population, const char* var) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(var, "var");
        net(network)->unbind_output(population, var);
        return SNN_OK;
    });
}

SNN_API snn_status snn_population_set_spike_callback(snn_network* network, int32_t population, snn_spike_fn fn, void* user_data) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        net(network)->set_spike_callback(population, fn, user_data);
        return SNN_OK;
    });
}

// ---------------------------------------------------------------- connections

SNN_API snn_status snn_connection_options_init(snn_connection_options* options, uint32_t struct_size) {
    return init_options(options, struct_size, default_connection_options());
}

SNN_API snn_status snn_network_connect_dense(snn_network* network, int32_t pre, int32_t post, const float* weights, int64_t count,
                                             const snn_connection_options* options, int32_t* out_connection) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(out_connection);
        snn_connection_options o = read_options(options, default_connection_options(), "options");
        *out_connection = net(network)->connect_dense(pre, post, weights, count, o);
        return SNN_OK;
    });
}

SNN_API snn_status snn_conv2d_geometry_init(snn_conv2d_geometry* geometry, uint32_t struct_size) {
    return guarded([&] {
        SNN_REQUIRE_ARG(geometry);
        return init_options(geometry, struct_size, default_conv2d_geometry());
    });
}

SNN_API snn_status snn_network_connect_conv2d(snn_network* network, int32_t pre, int32_t post, const snn_conv2d_geometry* geometry,
                                              const float* weights, int64_t count, const snn_connection_options* options,
                                              int32_t* out_connection) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(geometry);
        SNN_REQUIRE_ARG(out_connection);
        snn_conv2d_geometry g = read_options(geometry, default_conv2d_geometry(), "geometry");
        snn_connection_options o = read_options(options, default_connection_options(), "options");
        *out_connection = net(network)->connect_conv2d(pre, post, g, weights, count, o);
        return SNN_OK;
    });
}

SNN_API snn_status snn_connection_conv2d_get(const snn_network* network, int32_t connection, snn_conv2d_geometry* out_geometry) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(out_geometry);
        const snn::Connection& c = net(network)->connection(connection);
        SNN_REQUIRE(c.kind == SNN_CONNECTION_CONV2D, SNN_INVALID_ARGUMENT, "connection: \"%s\" is not a conv2d connection", c.name.c_str());
        const snn_conv2d_geometry g = snn::conv2d_geometry(c.conv);
        write_info(out_geometry, g, "out_geometry");
        return SNN_OK;
    });
}

SNN_API snn_status snn_network_connect_sparse(snn_network* network, int32_t pre, int32_t post, int64_t nnz, const int64_t* row_ptr,
                                              const int32_t* post_index, const float* weights, const int32_t* delays,
                                              const snn_connection_options* options, int32_t* out_connection) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(out_connection);
        snn_connection_options o = read_options(options, default_connection_options(), "options");
        *out_connection = net(network)->connect_sparse(pre, post, nnz, row_ptr, post_index, weights, delays, o);
        return SNN_OK;
    });
}

SNN_API snn_status snn_network_connect_random(snn_network* network, int32_t pre, int32_t post, double p, float weight,
                                              uint64_t seed, const snn_connection_options* options, int32_t* out_connection) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(out_connection);
        snn_connection_options o = read_options(options, default_connection_options(), "options");
        *out_connection = net(network)->connect_random(pre, post, p, weight, seed, o);
        return SNN_OK;
    });
}

SNN_API snn_status snn_network_connect_one_to_one(snn_network* network, int32_t pre, int32_t post, const float* weights,
                                                  int64_t count, float weight, const snn_connection_options* options,
                                                  int32_t* out_connection) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(out_connection);
        snn_connection_options o = read_options(options, default_connection_options(), "options");
        *out_connection = net(network)->connect_one_to_one(pre, post, weights, count, weight, o);
        return SNN_OK;
    });
}

SNN_API snn_status snn_network_connection_count(const snn_network* network, int32_t* out_count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(out_count);
        *out_count = static_cast<int32_t>(net(network)->graph().connections.size());
        return SNN_OK;
    });
}

SNN_API snn_status snn_network_find_connection(const snn_network* network, const char* name, int32_t* out_connection) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(name, "name");
        SNN_REQUIRE_ARG(out_connection);
        int32_t id = net(network)->find_connection(name);
        if (id < 0) throw fail(SNN_NOT_FOUND, "name: no connection \"%s\" in this network", name);
        *out_connection = id;
        return SNN_OK;
    });
}

SNN_API snn_status snn_connection_info_get(const snn_network* network, int32_t connection, snn_connection_info* info) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(info);
        const snn::Connection& c = net(network)->connection(connection);
        snn_connection_info full{};
        full.struct_size = sizeof full;
        full.name = c.name.c_str();
        full.synapse = c.synapse_model().name;
        full.pre = c.pre;
        full.post = c.post;
        full.kind = c.kind;
        full.delay = c.delay;
        full.nnz = c.nnz();
        full.has_synapse_delays = c.has_synapse_delays() ? 1 : 0;
        write_info(info, full, "info");
        return SNN_OK;
    });
}

SNN_API snn_status snn_connection_set_learning_callback(snn_network* network, int32_t connection, snn_learning_fn fn,
                                                        void* user_data) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        net(network)->set_learning_callback(connection, fn, user_data);
        return SNN_OK;
    });
}

SNN_API snn_status snn_connection_set_param(snn_network* network, int32_t connection, const char* name, double value) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(name, "name");
        net(network)->set_connection_param(connection, name, value);
        return SNN_OK;
    });
}

SNN_API snn_status snn_connection_get_param(const snn_network* network, int32_t connection, const char* name, double* out_value) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(name, "name");
        SNN_REQUIRE_ARG(out_value);
        *out_value = net(network)->connection_param(connection, name);
        return SNN_OK;
    });
}

SNN_API snn_status snn_connection_set_option(snn_network* network, int32_t connection, const char* name, const char* value) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(name, "name");
        check_name_arg(value, "value");
        net(network)->set_connection_option(connection, name, value);
        return SNN_OK;
    });
}

SNN_API snn_status snn_connection_get_option(const snn_network* network, int32_t connection, const char* name,
                                             const char** out_value) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(name, "name");
        SNN_REQUIRE_ARG(out_value);
        *out_value = net(network)->connection_option(connection, name);
        return SNN_OK;
    });
}

SNN_API snn_status snn_connection_get_weights(const snn_network* network, int32_t connection, float* out_weights, int64_t capacity,
                                              int64_t* out_count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        const snn::Connection& c = net(network)->connection(connection);
        two_call(c.weights.data(), c.nnz(), out_weights, capacity, out_count, "out_weights");
        return SNN_OK;
    });
}

SNN_API snn_status snn_connection_set_weights(snn_network* network, int32_t connection, const float* weights, int64_t count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        net(network)->set_weights(connection, weights, count);
        return SNN_OK;
    });
}

SNN_API snn_status snn_connection_get_synapses(const snn_network* network, int32_t connection, int32_t* out_pre, int32_t* out_post,
                                               int32_t* out_delays, int64_t capacity, int64_t* out_count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(out_count);
        const snn::Network* n = net(network);
        const snn::Connection& c = n->connection(connection);
        SNN_REQUIRE(c.kind != SNN_CONNECTION_CONV2D, SNN_UNSUPPORTED,
                    "connection: \"%s\" is a conv2d connection, whose weights are shared among pairs; read them with "
                    "snn_connection_get_weights and the geometry with snn_connection_conv2d_get", c.name.c_str());
        const int64_t count = c.nnz();
        *out_count = count;
        if (capacity == 0) return SNN_OK;
        SNN_REQUIRE(capacity > 0, SNN_INVALID_ARGUMENT, "capacity: is negative");
        SNN_REQUIRE(capacity >= count, SNN_SHAPE, "capacity: %lld is less than the %lld synapses", static_cast<long long>(capacity),
                    static_cast<long long>(count));
        const int64_t n_post = n->population(c.post).size;
        const int64_t n_pre = n->population(c.pre).size;
        for (int64_t i = 0, k = 0; i < n_pre; ++i) {
            int64_t begin = 0, end = 0;
            if (c.kind == SNN_CONNECTION_DENSE) {
                begin = i * n_post;
                end = begin + n_post;
            } else if (c.kind == SNN_CONNECTION_SPARSE) {
                begin = c.row_ptr[static_cast<std::size_t>(i)];
                end = c.row_ptr[static_cast<std::size_t>(i) + 1];
            } else {
                begin = i;
                end = i + 1;
            }
            for (k = begin; k < end; ++k) {
                if (out_pre) out_pre[k] = static_cast<int32_t>(i);
                if (out_post)
                    out_post[k] = c.kind == SNN_CONNECTION_DENSE ? static_cast<int32_t>(k - begin)
                                  : c.kind == SNN_CONNECTION_SPARSE ? c.post_index[static_cast<std::size_t>(k)]
                                                                     : static_cast<int32_t>(i);
                if (out_delays) out_delays[k] = c.has_synapse_delays() ? c.delays[static_cast<std::size_t>(k)] : c.delay;
            }
        }
        return SNN_OK;
    });
}

SNN_API snn_status snn_connection_read_state(const snn_network* network, int32_t connection, const char* var, float* out_values,
                                             int64_t capacity, int64_t* out_count) {
    return read_state_impl(network, Owner::Connection, connection, var, out_values, capacity, out_count);
}
SNN_API snn_status snn_connection_write_state(snn_network* network, int32_t connection, const char* var, const float* values,
                                              int64_t count) {
    return write_state_impl(network, Owner::Connection, connection, var, values, count);
}
SNN_API snn_status snn_connection_randomize_state(snn_network* network, int32_t connection, const char* var, int32_t distribution,
                                                  double a, double b, uint64_t seed) {
    return randomize_impl(network, Owner::Connection, connection, var, distribution, a, b, seed);
}

// ---------------------------------------------------------------- files

SNN_API snn_status snn_load_options_init(snn_load_options* options, uint32_t struct_size) {
    return init_options(options, struct_size, default_load_options());
}

SNN_API snn_status snn_network_save(const snn_network* network, const char* path, uint32_t flags) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        check_name_arg(path, "path");
        snn::save_network_file(*net(network), path, flags);
        return SNN_OK;
    });
}

SNN_API snn_status snn_network_save_to_memory(const snn_network* network, uint32_t flags, void* buffer, int64_t capacity,
                                              int64_t* out_size) {
    return guarded([&] {
        SNN_REQUIRE_ARG(network);
        SNN_REQUIRE_ARG(out_size);
        std::vector<uint8_t> bytes = snn::save_network(*net(network), flags);
        two_call(bytes.data(), static_cast<int64_t>(bytes.size()), static_cast<uint8_t*>(buffer), capacity, out_size, "buffer");
        return SNN_OK;
    });
}

SNN_API snn_status snn_network_load(snn_context* context, const char* path, const snn_load_options* options,
                                    snn_network** out_network) {
    return guarded([&] {
        SNN_REQUIRE_ARG(out_network);
        *out_network = nullptr;
        SNN_REQUIRE_ARG(context);
        check_name_arg(path, "path");
        snn_load_options o = read_options(options, default_load_options(), "options");
        *out_network = reinterpret_cast<snn_network*>(snn::load_network_file(*ctx(context), path, o).release());
        return SNN_OK;
    });
}

SNN_API snn_status snn_network_load_from_memory(snn_context* context, const void* data, int64_t size, const snn_load_options* options,
                                                snn_network** out_network) {
    return guarded([&] {
        SNN_REQUIRE_ARG(out_network);
        *out_network = nullptr;
        SNN_REQUIRE_ARG(context);
        SNN_REQUIRE_ARG(data);
        SNN_REQUIRE(size >= 0, SNN_INVALID_ARGUMENT, "size: is negative");
        snn_load_options o = read_options(options, default_load_options(), "options");
        *out_network = reinterpret_cast<snn_network*>(
            snn::load_network(*ctx(context), static_cast<const uint8_t*>(data), static_cast<std::size_t>(size), o).release());
        return SNN_OK;
    });
}

// ---------------------------------------------------------------------------
// Training

namespace {
snn::Trainer* trainer_of(snn_trainer* t) { return reinterpret_cast<snn::Trainer*>(t); }
const snn::Trainer* const_trainer_of(const snn_trainer* t) { return reinterpret_cast<const snn::Trainer*>(t); }

snn_trainer_options default_trainer_options() {
    snn_trainer_options o{};
    o.struct_size = sizeof o;
    o.detach_reset = 0;
    o.carry_state = 0;
    o.input_grads = 0;
    return o;
}
}  // namespace

SNN_API snn_status snn_trainer_options_init(snn_trainer_options* options, uint32_t struct_size) {
    return init_options(options, struct_size, default_trainer_options());
}

SNN_API snn_status snn_optimizer_options_init(snn_optimizer_options* options, uint32_t struct_size) {
    return init_options(options, struct_size, snn::default_optimizer_options());
}

SNN_API snn_status snn_trainer_create(snn_network* network, const snn_trainer_options* options, snn_trainer** out_trainer) {
    return guarded([&] {
        SNN_REQUIRE_ARG(out_trainer);
        *out_trainer = nullptr;
        SNN_REQUIRE_ARG(network);
        snn_trainer_options o = read_options(options, default_trainer_options(), "options");
        snn::Network* n = net(network);
        auto owned = snn::make_in<snn::Trainer, snn::Trainer>(n->memory(), *n, o);
        *out_trainer = reinterpret_cast<snn_trainer*>(owned.release());
        return SNN_OK;
    });
}

SNN_API void snn_trainer_destroy(snn_trainer* trainer) {
    if (!trainer) return;
    snn::Trainer* t = trainer_of(trainer);
    std::pmr::memory_resource* mr = t->memory();
    t->~Trainer();
    mr->deallocate(t, sizeof(snn::Trainer), alignof(snn::Trainer));
}

SNN_API snn_status snn_trainer_forward(snn_trainer* trainer, int64_t steps, int32_t batch, int32_t count, const int32_t* populations,
                                       const snn_tensor* inputs) {
    return guarded([&] {
        SNN_REQUIRE_ARG(trainer);
        trainer_of(trainer)->forward(steps, batch, count, populations, inputs);
        return SNN_OK;
    });
}

SNN_API snn_status snn_trainer_read_output(const snn_trainer* trainer, int32_t population, const char* var, float* out, int64_t count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(trainer);
        check_name_arg(var, "var");
        SNN_REQUIRE_ARG(out);
        const_trainer_of(trainer)->read_output(population, var, out, count);
        return SNN_OK;
    });
}

SNN_API snn_status snn_trainer_loss(snn_trainer* trainer, int32_t population, const char* loss, const snn_tensor* target,
                                    double* out_loss) {
    return guarded([&] {
        SNN_REQUIRE_ARG(trainer);
        check_name_arg(loss, "loss");
        SNN_REQUIRE_ARG(target);
        const double value = trainer_of(trainer)->loss(population, loss, *target);
        if (out_loss) *out_loss = value;
        return SNN_OK;
    });
}

SNN_API snn_status snn_trainer_add_output_grad(snn_trainer* trainer, int32_t population, const char* var, const float* grad,
                                               int64_t count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(trainer);
        check_name_arg(var, "var");
        trainer_of(trainer)->add_output_grad(population, var, grad, count);
        return SNN_OK;
    });
}

SNN_API snn_status snn_trainer_backward(snn_trainer* trainer) {
    return guarded([&] {
        SNN_REQUIRE_ARG(trainer);
        trainer_of(trainer)->backward();
        return SNN_OK;
    });
}

SNN_API snn_status snn_trainer_zero_grad(snn_trainer* trainer) {
    return guarded([&] {
        SNN_REQUIRE_ARG(trainer);
        trainer_of(trainer)->zero_grad();
        return SNN_OK;
    });
}

SNN_API snn_status snn_trainer_read_grad(const snn_trainer* trainer, int32_t connection, float* out_grad, int64_t count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(trainer);
        const_trainer_of(trainer)->read_grad(connection, out_grad, count);
        return SNN_OK;
    });
}

SNN_API snn_status snn_trainer_write_grad(snn_trainer* trainer, int32_t connection, const float* grad, int64_t count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(trainer);
        trainer_of(trainer)->write_grad(connection, grad, count);
        return SNN_OK;
    });
}

SNN_API snn_status snn_trainer_set_optimizer(snn_trainer* trainer, const snn_optimizer_options* options) {
    return guarded([&] {
        SNN_REQUIRE_ARG(trainer);
        trainer_of(trainer)->set_optimizer(read_options(options, snn::default_optimizer_options(), "options"));
        return SNN_OK;
    });
}

SNN_API snn_status snn_trainer_step(snn_trainer* trainer) {
    return guarded([&] {
        SNN_REQUIRE_ARG(trainer);
        trainer_of(trainer)->optimizer_step();
        return SNN_OK;
    });
}

SNN_API snn_status snn_trainer_read_input_grad(const snn_trainer* trainer, int32_t population, float* out_grad, int64_t count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(trainer);
        SNN_REQUIRE_ARG(out_grad);
        const_trainer_of(trainer)->read_input_grad(population, out_grad, count);
        return SNN_OK;
    });
}

SNN_API snn_status snn_trainer_train_param(snn_trainer* trainer, int32_t population, const char* name, int32_t trainable) {
    return guarded([&] {
        SNN_REQUIRE_ARG(trainer);
        SNN_REQUIRE_ARG(name);
        SNN_REQUIRE(trainable == 0 || trainable == 1, SNN_INVALID_ARGUMENT, "trainable: %d; expected 0 or 1", trainable);
        trainer_of(trainer)->train_param(population, name, trainable != 0);
        return SNN_OK;
    });
}

SNN_API snn_status snn_trainer_read_param_grad(const snn_trainer* trainer, int32_t population, const char* name, float* out_grad,
                                               int64_t count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(trainer);
        SNN_REQUIRE_ARG(name);
        SNN_REQUIRE_ARG(out_grad);
        const_trainer_of(trainer)->read_param_grad(population, name, out_grad, count);
        return SNN_OK;
    });
}

SNN_API snn_status snn_trainer_reset_state(snn_trainer* trainer) {
    return guarded([&] {
        SNN_REQUIRE_ARG(trainer);
        trainer_of(trainer)->reset_state();
        return SNN_OK;
    });
}

SNN_API snn_status snn_trainer_tape_bytes(const snn_trainer* trainer, int64_t* out_bytes) {
    return guarded([&] {
        SNN_REQUIRE_ARG(trainer);
        SNN_REQUIRE_ARG(out_bytes);
        *out_bytes = const_trainer_of(trainer)->tape_bytes();
        return SNN_OK;
    });
}

}  // extern "C"

// ---------------------------------------------------------------- vision (docs/vision.md)

namespace {
snn_filter_options default_filter_options() {
    snn_filter_options o{};
    o.struct_size = sizeof o;
    o.filter = "dog";
    o.size = 7;
    o.sigma1 = 1.0;
    o.sigma2 = 2.0;
    o.sigma = 1.0;
    o.wavelength = 4.0;
    o.gamma = 0.5;
    o.psi = 0.0;
    o.orientations = 4;
    o.thetas = nullptr;
    o.zero_mean = 1;
    return o;
}
snn_image_filter_geometry default_image_filter_geometry() {
    snn_image_filter_geometry g{};
    g.struct_size = sizeof g;
    g.padding = SNN_PADDING_VALID;
    return g;
}
snn_latency_options default_latency_options() {
    snn_latency_options o{};
    o.struct_size = sizeof o;
    o.rule = SNN_LATENCY_RANK;
    o.threshold = 0.0;
    return o;
}
// An output buffer of exactly `expected` elements.
void check_out(const void* out, int64_t count, int64_t expected, const char* what, const char* count_name) {
    SNN_REQUIRE(out != nullptr, SNN_INVALID_ARGUMENT, "%s: is NULL", what);
    SNN_REQUIRE(count == expected, SNN_SHAPE, "%s: %lld values given; %lld expected", count_name, static_cast<long long>(count),
                static_cast<long long>(expected));
}
}  // namespace

extern "C" {

SNN_API snn_status snn_filter_options_init(snn_filter_options* options, uint32_t struct_size) {
    return init_options(options, struct_size, default_filter_options());
}

SNN_API snn_status snn_filter_kernels(const snn_filter_options* options, float* out_kernels, int64_t capacity, int64_t* out_count,
                                      int32_t* out_filters) {
    return guarded([&] {
        SNN_REQUIRE_ARG(options);
        SNN_REQUIRE_ARG(out_count);
        const snn_filter_options o = read_options(options, default_filter_options(), "options");
        const int32_t filters = snn::vision::filter_count(o);
        const int64_t count = int64_t(filters) * o.size * o.size;
        *out_count = count;
        if (out_filters) *out_filters = filters;
        if (capacity == 0) return SNN_OK;
        SNN_REQUIRE(capacity > 0, SNN_INVALID_ARGUMENT, "capacity: is negative");
        SNN_REQUIRE(out_kernels != nullptr, SNN_INVALID_ARGUMENT, "out_kernels: is NULL with capacity %lld", static_cast<long long>(capacity));
        SNN_REQUIRE(capacity >= count, SNN_SHAPE, "capacity: %lld is less than the %lld values (call with capacity 0 to ask)",
                    static_cast<long long>(capacity), static_cast<long long>(count));
        snn::vision::filter_kernels(o, out_kernels);
        return SNN_OK;
    });
}

SNN_API snn_status snn_image_filter_geometry_init(snn_image_filter_geometry* geometry, uint32_t struct_size) {
    return init_options(geometry, struct_size, default_image_filter_geometry());
}

SNN_API snn_status snn_image_filter(const snn_image_filter_geometry* geometry, const float* images, const float* kernels, float* out,
                                    int64_t capacity, int64_t* out_count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(geometry);
        SNN_REQUIRE_ARG(out_count);
        const snn_image_filter_geometry g = read_options(geometry, default_image_filter_geometry(), "geometry");
        const int64_t count = snn::vision::image_filter_count(g);
        *out_count = count;
        if (capacity == 0) return SNN_OK;
        SNN_REQUIRE(capacity > 0, SNN_INVALID_ARGUMENT, "capacity: is negative");
        SNN_REQUIRE_ARG(images);
        SNN_REQUIRE_ARG(kernels);
        SNN_REQUIRE(out != nullptr, SNN_INVALID_ARGUMENT, "out: is NULL with capacity %lld", static_cast<long long>(capacity));
        SNN_REQUIRE(capacity >= count, SNN_SHAPE, "capacity: %lld is less than the %lld values (call with capacity 0 to ask)",
                    static_cast<long long>(capacity), static_cast<long long>(count));
        snn::vision::image_filter(g, images, kernels, out);
        return SNN_OK;
    });
}

SNN_API snn_status snn_zca_fit(const float* data, int64_t rows, int64_t columns, double epsilon, float* out_mean, int64_t mean_count,
                               float* out_whitening, int64_t whitening_count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(data);
        snn::vision::zca_size(rows, columns);
        check_out(out_mean, mean_count, columns, "out_mean", "mean_count");
        check_out(out_whitening, whitening_count, columns * columns, "out_whitening", "whitening_count");
        snn::vision::zca_fit(data, rows, columns, epsilon, out_mean, out_whitening);
        return SNN_OK;
    });
}

SNN_API snn_status snn_zca_apply(const float* data, int64_t rows, int64_t columns, const float* mean, const float* whitening, float* out,
                                 int64_t count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(data);
        SNN_REQUIRE_ARG(mean);
        SNN_REQUIRE_ARG(whitening);
        const int64_t size = snn::vision::zca_size(rows, columns);
        check_out(out, count, size, "out", "count");
        snn::vision::zca_apply(data, rows, columns, mean, whitening, out);
        return SNN_OK;
    });
}

SNN_API snn_status snn_latency_options_init(snn_latency_options* options, uint32_t struct_size) {
    return init_options(options, struct_size, default_latency_options());
}

SNN_API snn_status snn_latency_encode(const float* values, int32_t batch, int64_t neurons, int32_t steps,
                                      const snn_latency_options* options, int32_t* out_first, int64_t first_count,
                                      uint8_t* out_spikes, int64_t spikes_count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(values);
        SNN_REQUIRE(out_first || out_spikes, SNN_INVALID_ARGUMENT, "out_first, out_spikes: both are NULL; give at least one");
        const snn_latency_options o = read_options(options, default_latency_options(), "options");
        const int64_t per_step = snn::vision::spike_tensor_size(steps, batch, neurons, "steps");
        if (out_first) check_out(out_first, first_count, per_step, "out_first", "first_count");
        if (out_spikes) check_out(out_spikes, spikes_count, per_step * steps, "out_spikes", "spikes_count");
        snn::vision::latency_encode(values, batch, neurons, steps, o, out_first, out_spikes);
        return SNN_OK;
    });
}

SNN_API snn_status snn_spikes_first_step(const uint8_t* spikes, int64_t steps, int32_t batch, int64_t neurons, int32_t* out_first,
                                         int64_t count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(spikes);
        const int64_t per_step = snn::vision::spike_tensor_size(steps, batch, neurons, "steps");
        check_out(out_first, count, per_step, "out_first", "count");
        snn::vision::spikes_first_step(spikes, steps, batch, neurons, out_first);
        return SNN_OK;
    });
}

SNN_API snn_status snn_spikes_count(const uint8_t* spikes, int64_t steps, int32_t batch, int64_t neurons, int32_t* out_counts,
                                    int64_t count) {
    return guarded([&] {
        SNN_REQUIRE_ARG(spikes);
        const int64_t per_step = snn::vision::spike_tensor_size(steps, batch, neurons, "steps");
        check_out(out_counts, count, per_step, "out_counts", "count");
        snn::vision::spikes_count(spikes, steps, batch, neurons, out_counts);
        return SNN_OK;
    });
}

}  // extern "C"
