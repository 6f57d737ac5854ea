#pragma once
// A per-thread cache of small heap blocks for the objects every request
// allocates and frees (the request's state, the response frame, the row page,
// the cells of an answer). glibc's tcache keeps 7 blocks per size; a read of
// 64 answers frees dozens of same-sized blocks at once, and the rest go
// through the slow path of free(). Here each size class (16-byte steps up to
// 2 KiB) keeps up to 256 blocks, at most 1 MiB per thread; a block freed on
// another thread joins that thread's cache. Under AddressSanitizer /
// ThreadSanitizer every call goes straight to operator new/delete so the
// sanitizers see each block.
#include <cstddef>
#include <cstdint>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CQLPP_BLOCK_CACHE_PASSTHROUGH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CQLPP_BLOCK_CACHE_PASSTHROUGH 1
#endif
#endif

namespace cqlpp::protocol::detail {

#ifdef CQLPP_BLOCK_CACHE_PASSTHROUGH

inline void* cached_allocate(std::size_t n) { return ::operator new(n); }
inline void cached_deallocate(void* p, std::size_t) noexcept { ::operator delete(p); }

#else

struct block_cache {
    static constexpr std::size_t granule = 16;
    static constexpr std::size_t classes = 128;  // blocks up to 2 KiB
    static constexpr std::uint32_t max_per_class = 256;
    static constexpr std::size_t max_bytes = std::size_t{1} << 20;

    struct free_block {
        free_block* next;
    };
    free_block* head[classes];
    std::uint32_t count[classes];
    std::size_t bytes;
    bool active;  // set once the thread's exit hook is in place; cleared at exit
    bool exited;  // the hook has run: never cache again on this thread

    static std::size_t class_of(std::size_t n) noexcept { return n == 0 ? 1 : (n + granule - 1) / granule; }
    // Out of line: the first block a thread caches (installs the exit hook),
    // and blocks the cache does not keep.
    static void* allocate_slow(std::size_t n);
    static void deallocate_slow(void* p, std::size_t n) noexcept;
};

// Constant-initialised, so the hot path pays no guard check to reach it.
inline constinit thread_local block_cache tl_block_cache{};

inline void* cached_allocate(std::size_t n) {
    auto& c = tl_block_cache;
    const std::size_t k = block_cache::class_of(n);
    if (k < block_cache::classes) {
        if (auto* b = c.head[k]) {
            c.head[k] = b->next;
            --c.count[k];
            c.bytes -= k * block_cache::granule;
            return b;
        }
    }
    return block_cache::allocate_slow(n);
}

inline void cached_deallocate(void* p, std::size_t n) noexcept {
    auto& c = tl_block_cache;
    const std::size_t k = block_cache::class_of(n);
    if (p != nullptr && c.active && k < block_cache::classes && c.count[k] < block_cache::max_per_class &&
        c.bytes + k * block_cache::granule <= block_cache::max_bytes) {
        auto* b = static_cast<block_cache::free_block*>(p);
        b->next = c.head[k];
        c.head[k] = b;
        ++c.count[k];
        c.bytes += k * block_cache::granule;
        return;
    }
    block_cache::deallocate_slow(p, n);
}

#endif

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
