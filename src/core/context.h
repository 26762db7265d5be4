// A context: the allocator and log hooks, the chosen backend, the thread count.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/engine.h"
#include "core/memory.h"
#include "core/thread_pool.h"

namespace snn {

struct BackendInfo {
    const char* name;
    EngineFactory create;
};

// Backends compiled into this build, in order of preference for "auto".
const BackendInfo* backends(int32_t* count);

class Context {
public:
    explicit Context(const snn_context_options& options);

    std::pmr::memory_resource* memory() { return &memory_; }
    const BackendInfo& backend() const { return *backend_; }
    int32_t threads() const { return threads_; }
    // The SIMD level the backend runs (resolved at creation).
    const char* simd() const { return simd_; }
    // The worker threads, for backends that use them (nullptr with one thread).
    ThreadPool* pool() const { return pool_.get(); }
    void log(int32_t level, const char* format, ...) const
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;

    snn_alloc_fn alloc_fn() const { return alloc_fn_; }
    snn_free_fn free_fn() const { return free_fn_; }
    void* alloc_user_data() const { return alloc_user_data_; }

    std::atomic<int32_t> live_networks{0};

private:
    HostMemory memory_;
    const BackendInfo* backend_ = nullptr;
    int32_t threads_ = 1;
    const char* simd_ = "scalar";
    std::unique_ptr<ThreadPool> pool_;  // the C++ heap: worker threads may use it (Decision 7)
    snn_log_fn log_fn_ = nullptr;
    void* log_user_data_ = nullptr;
    int32_t log_level_ = SNN_LOG_WARNING;
    snn_alloc_fn alloc_fn_ = nullptr;
    snn_free_fn free_fn_ = nullptr;
    void* alloc_user_data_ = nullptr;
};

}  // namespace snn
