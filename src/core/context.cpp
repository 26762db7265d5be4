#include "core/context.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "cpu/kernels.h"

namespace snn {

// Defined in src/reference/engine.cpp and src/cpu/engine.cpp.
resource_ptr<Engine> create_reference_engine(const Network& network, int32_t capacity);
resource_ptr<Engine> create_cpu_engine(const Network& network, int32_t capacity);

const BackendInfo* backends(int32_t* count) {
    static const BackendInfo table[] = {
        {"cpu", &create_cpu_engine},
        {"reference", &create_reference_engine},
    };
    *count = static_cast<int32_t>(sizeof table / sizeof table[0]);
    return table;
}

Context::Context(const snn_context_options& o)
    : memory_(o.alloc_fn, o.free_fn, o.alloc_user_data),
      log_fn_(o.log_fn),
      log_user_data_(o.log_user_data),
      log_level_(o.log_level),
      alloc_fn_(o.alloc_fn),
      free_fn_(o.free_fn),
      alloc_user_data_(o.alloc_user_data) {
    int32_t count = 0;
    const BackendInfo* table = backends(&count);
    const char* wanted = o.backend ? o.backend : "auto";
    if (std::strcmp(wanted, "auto") == 0) {
        backend_ = &table[0];
    } else {
        for (int32_t i = 0; i < count; ++i)
            if (std::strcmp(wanted, table[i].name) == 0) backend_ = &table[i];
        if (!backend_) throw fail(SNN_UNSUPPORTED, "backend: \"%s\" is not available in this build (try \"auto\")", wanted);
    }
    if (o.threads < 0) throw fail(SNN_INVALID_ARGUMENT, "threads: %d is negative", o.threads);
    threads_ = o.threads;
    if (threads_ == 0) {
        unsigned hw = std::thread::hardware_concurrency();
        threads_ = hw ? static_cast<int32_t>(hw) : 1;
    }
    if (std::strcmp(backend_->name, "cpu") == 0) {
        simd_ = cpu::select_kernels(o.simd).name;
        if (o.parallel_for)
            pool_ = std::make_unique<ThreadPool>(threads_, o.parallel_for, o.parallel_for_user_data);
        else if (threads_ > 1)
            pool_ = std::make_unique<ThreadPool>(threads_);
    }
    log(SNN_LOG_INFO, "context: backend \"%s\" (asked for \"%s\"), SIMD level %s, %d threads", backend_->name, wanted, simd_,
        threads_);
}

void Context::log(int32_t level, const char* format, ...) const {
    if (!log_fn_ || level > log_level_) return;
    char buffer[1024];
    va_list args;
    va_start(args, format);
    std::vsnprintf(buffer, sizeof buffer, format, args);
    va_end(args);
    log_fn_(level, buffer, log_user_data_);
}

}  // namespace snn
