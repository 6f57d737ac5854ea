#include "cqlpp/protocol/detail/block_cache.hpp"

namespace cqlpp::protocol::detail {

#ifndef CQLPP_BLOCK_CACHE_PASSTHROUGH

namespace {

// Empties the thread's cache when the thread exits; later frees on it go
// straight to operator delete.
struct exit_hook {
    ~exit_hook() {
        auto& c = tl_block_cache;
        c.active = false;
        c.exited = true;
        for (std::size_t k = 0; k < block_cache::classes; ++k)
            while (auto* b = c.head[k]) {
                c.head[k] = b->next;
                ::operator delete(b);
            }
        c.bytes = 0;
    }
};

}  // namespace

void* block_cache::allocate_slow(std::size_t n) {
    const std::size_t k = class_of(n);
    if (k >= classes) return ::operator new(n);
    auto& c = tl_block_cache;
    if (!c.active && !c.exited) {
        thread_local exit_hook hook;  // registered on this thread's first block
        (void)hook;
        c.active = true;
    }
    return ::operator new(k * granule);
}

void block_cache::deallocate_slow(void* p, std::size_t) noexcept { ::operator delete(p); }

#endif

}  // namespace cqlpp::protocol::detail
