#include "core/thread_pool.h"

#include <chrono>

namespace snn {

namespace {
// How long an idle worker spins for the next job before it sleeps: longer
// than the serial gaps between the jobs of one pass (a training step's
// phases), whose wake-ups from sleep would cost tens of microseconds each,
// and short beside a frame's spacing.
constexpr auto kSpin = std::chrono::microseconds(200);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}
}  // namespace

ThreadPool::ThreadPool(int32_t threads) {
    for (int32_t i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::ThreadPool(int32_t threads, snn_parallel_for_fn host, void* host_data)
    : host_(host), host_data_(host_data), host_threads_(threads < 1 ? 1 : threads) {}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
}

void ThreadPool::parallel_for(int64_t count, Body body, void* context) {
    if (count <= 0) return;
    if (host_ && count > 1) {
        host_(count, body, context, host_data_);
        return;
    }
    if (workers_.empty() || count == 1) {
        for (int64_t i = 0; i < count; ++i) body(context, i);
        return;
    }
    // Publish the job once no worker is inside the previous one; workers copy
    // the job under the same lock, so they always see a whole job.
    for (;;) {
        while (active_workers_.load(std::memory_order_acquire) != 0) cpu_relax();
        std::lock_guard<std::mutex> lock(mutex_);
        if (active_workers_.load(std::memory_order_acquire) != 0) continue;
        body_ = body;
        context_ = context;
        count_ = count;
        next_.store(0, std::memory_order_relaxed);
        done_.store(0, std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_release);
        break;
    }
    wake_.notify_all();
    int64_t finished = 0;
    for (int64_t i = next_.fetch_add(1, std::memory_order_relaxed); i < count; i = next_.fetch_add(1, std::memory_order_relaxed)) {
        body(context, i);
        ++finished;
    }
    done_.fetch_add(finished, std::memory_order_acq_rel);
    while (done_.load(std::memory_order_acquire) < count) cpu_relax();
}

void ThreadPool::worker_loop() {
    uint64_t seen = 0;
    for (;;) {
        // Spin for a while for the next job, then sleep.
        const auto until = std::chrono::steady_clock::now() + kSpin;
        for (int spins = 0; generation_.load(std::memory_order_acquire) == seen; ++spins) {
            cpu_relax();
            if (spins % 64 == 63 && std::chrono::steady_clock::now() > until) break;
        }
        Body body;
        void* context;
        int64_t count;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || generation_.load(std::memory_order_acquire) != seen; });
            if (stopping_) return;
            seen = generation_.load(std::memory_order_acquire);
            body = body_;
            context = context_;
            count = count_;
            active_workers_.fetch_add(1, std::memory_order_acq_rel);
        }
        int64_t finished = 0;
        for (int64_t i = next_.fetch_add(1, std::memory_order_relaxed); i < count; i = next_.fetch_add(1, std::memory_order_relaxed)) {
            body(context, i);
            ++finished;
        }
        if (finished) done_.fetch_add(finished, std::memory_order_acq_rel);
        active_workers_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

}  // namespace snn
