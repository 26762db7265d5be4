// The context's worker threads. A run hands the pool a loop over indices
// (e.g. the instances of a batch); the calling thread works too. Which
// thread computes an index never changes a result: every index writes its
// own data, so runs are bit-identical at every thread count (Decision 5).
//
// Workers spin briefly after a loop (steps come fast), then sleep on a
// condition variable. A run that finds the pool busy with another network
// runs its loop on the calling thread alone (Decision 8). Dispatching
// allocates nothing.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include <snn/snn.h>

namespace snn {

class ThreadPool {
public:
    using Body = void (*)(void* context, int64_t index);

    explicit ThreadPool(int32_t threads);  // total threads, the caller included
    // No threads of its own: every loop goes to the host's parallel-for,
    // which may divide it `threads` ways.
    ThreadPool(int32_t threads, snn_parallel_for_fn host, void* host_data);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int32_t threads() const { return host_ ? host_threads_ : static_cast<int32_t>(workers_.size()) + 1; }

    // Claims the pool for one run; false if another run holds it.
    bool try_acquire() { return !busy_.exchange(true, std::memory_order_acquire); }
    void release() { busy_.store(false, std::memory_order_release); }

    // body(context, i) for every i in [0, count); returns when all are done.
    // Call only between try_acquire() and release().
    void parallel_for(int64_t count, Body body, void* context);

    template <class F>
    void parallel_for(int64_t count, F& f) {
        parallel_for(count, [](void* c, int64_t i) { (*static_cast<F*>(c))(i); }, &f);
    }

private:
    void worker_loop();

    std::vector<std::thread> workers_;
    snn_parallel_for_fn host_ = nullptr;
    void* host_data_ = nullptr;
    int32_t host_threads_ = 1;
    std::atomic<bool> busy_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    // The current job.
    std::atomic<uint64_t> generation_{0};
    Body body_ = nullptr;
    void* context_ = nullptr;
    int64_t count_ = 0;
    std::atomic<int64_t> next_{0};
    std::atomic<int64_t> done_{0};
    std::atomic<int32_t> active_workers_{0};
};

}  // namespace snn
