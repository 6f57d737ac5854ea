#pragma once
// A per-thread cache of small heap blocks for the objects every request
// allocates and frees (the request's state, the response frame, the row page).
// glibc's tcache keeps 7 blocks per size; a read of 64 answers frees dozens of
// same-sized blocks at once, and the rest go through the slow path of free().
// Here each size class (16-byte steps up to 2 KiB) keeps up to 256 blocks,
// at most 1 MiB per thread; a block freed on another thread joins that
// thread's cache. Under AddressSanitizer / ThreadSanitizer every call goes
// straight to operator new/delete so the sanitizers see each block.
#include <cstddef>
#include <new>

namespace cqlpp::protocol::detail {

void* cached_allocate(std::size_t n);
void cached_deallocate(void* p, std::size_t n) noexcept;

template <class T>
struct cached_allocator {
    using value_type = T;
    cached_allocator() noexcept = default;
    template <class U>
    cached_allocator(const cached_allocator<U>&) noexcept {}
    T* allocate(std::size_t n) { return static_cast<T*>(cached_allocate(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { cached_deallocate(p, n * sizeof(T)); }
    template <class U>
    bool operator==(const cached_allocator<U>&) const noexcept { return true; }
};

// For std::allocate_shared: the control block, the object and `tail` more
// bytes in one cached block; *tail_out is set to those bytes when allocated.
template <class T>
struct tail_allocator {
    using value_type = T;
    std::size_t tail = 0;
    unsigned char** tail_out = nullptr;
    tail_allocator(std::size_t t, unsigned char** out) noexcept : tail(t), tail_out(out) {}
    template <class U>
    tail_allocator(const tail_allocator<U>& o) noexcept : tail(o.tail), tail_out(o.tail_out) {}
    T* allocate(std::size_t n) {
        const std::size_t head = n * sizeof(T);
        auto* p = static_cast<unsigned char*>(cached_allocate(head + tail));
        if (tail_out) *tail_out = p + head;
        return reinterpret_cast<T*>(p);
    }
    void deallocate(T* p, std::size_t n) noexcept { cached_deallocate(p, n * sizeof(T) + tail); }
    template <class U>
    bool operator==(const tail_allocator<U>& o) const noexcept { return tail == o.tail; }
};

}  // namespace cqlpp::protocol::detail
