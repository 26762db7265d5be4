#include "core/memory.h"

#include <cstdlib>
#include <new>

namespace snn {

namespace {
void* default_alloc(uint64_t size, uint64_t alignment, void*) {
    // aligned_alloc wants a size that is a multiple of the alignment.
    uint64_t rounded = (size + alignment - 1) / alignment * alignment;
    return std::aligned_alloc(static_cast<std::size_t>(alignment), static_cast<std::size_t>(rounded ? rounded : alignment));
}
void default_free(void* p, uint64_t, uint64_t, void*) { std::free(p); }
}  // namespace

HostMemory::HostMemory(snn_alloc_fn alloc, snn_free_fn free, void* user_data)
    : alloc_(alloc ? alloc : default_alloc), free_(alloc ? free : default_free), user_data_(user_data) {}

void* HostMemory::do_allocate(std::size_t bytes, std::size_t alignment) {
    if (alignment < kMinAlignment) alignment = kMinAlignment;
    void* p = alloc_(bytes, alignment, user_data_);
    if (!p) throw std::bad_alloc();
    return p;
}

void HostMemory::do_deallocate(void* p, std::size_t bytes, std::size_t alignment) {
    if (alignment < kMinAlignment) alignment = kMinAlignment;
    free_(p, bytes, alignment, user_data_);
}

}  // namespace snn
