// All memory a context or network keeps comes from the context's allocator
// (DESIGN Decision 7). Containers use std::pmr with this resource, so nested
// containers inherit it. Allocation failure throws std::bad_alloc, which the
// API firewall reports as SNN_NO_MEMORY.
#pragma once

#include <memory>
#include <memory_resource>
#include <new>
#include <utility>
#include <string>
#include <vector>

#include "snn/snn.h"

namespace snn {

// Every block is aligned to at least this, so arrays suit SIMD loads.
inline constexpr std::size_t kMinAlignment = 64;

class HostMemory final : public std::pmr::memory_resource {
public:
    HostMemory(snn_alloc_fn alloc, snn_free_fn free, void* user_data);

private:
    void* do_allocate(std::size_t bytes, std::size_t alignment) override;
    void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override;
    bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }

    snn_alloc_fn alloc_;
    snn_free_fn free_;
    void* user_data_;
};

template <class T>
using pvector = std::pmr::vector<T>;
using pstring = std::pmr::string;

}  // namespace snn

namespace snn {

// Owning pointer to an object placed in a memory_resource (so objects a
// context or network keeps also come from its allocator).
struct ResourceDeleter {
    std::pmr::memory_resource* mr = nullptr;
    std::size_t size = 0;
    std::size_t alignment = 0;
    template <class T>
    void operator()(T* p) const {
        if (!p) return;
        p->~T();
        mr->deallocate(p, size, alignment);
    }
};

template <class T>
using resource_ptr = std::unique_ptr<T, ResourceDeleter>;

template <class Base, class T, class... Args>
resource_ptr<Base> make_in(std::pmr::memory_resource* mr, Args&&... args) {
    void* mem = mr->allocate(sizeof(T), alignof(T));
    try {
        T* object = new (mem) T(std::forward<Args>(args)...);
        return resource_ptr<Base>(object, ResourceDeleter{mr, sizeof(T), alignof(T)});
    } catch (...) {
        mr->deallocate(mem, sizeof(T), alignof(T));
        throw;
    }
}

}  // namespace snn
