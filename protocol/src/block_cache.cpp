#include "cqlpp/protocol/detail/block_cache.hpp"

#include <cstdint>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CQLPP_BLOCK_CACHE_PASSTHROUGH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CQLPP_BLOCK_CACHE_PASSTHROUGH 1
#endif
#endif

namespace cqlpp::protocol::detail {

#ifdef CQLPP_BLOCK_CACHE_PASSTHROUGH

void* cached_allocate(std::size_t n) { return ::operator new(n); }
void cached_deallocate(void* p, std::size_t) noexcept { ::operator delete(p); }

#else

namespace {

constexpr std::size_t granule = 16;
constexpr std::size_t classes = 128;  // blocks up to 2 KiB
constexpr std::uint32_t max_per_class = 256;
constexpr std::size_t max_bytes = std::size_t{1} << 20;

struct free_block {
    free_block* next;
};

// Constant-initialised, so reaching it costs no guard check on the hot path;
// `reaper` below, touched once per thread, empties it at thread exit.
struct cache {
    free_block* head[classes];
    std::uint32_t count[classes];
    std::size_t bytes;
    bool registered;
    bool dead;  // the thread is exiting: no more caching
};
constinit thread_local cache tl{};

struct reaper {
    ~reaper() {
        tl.dead = true;
        for (std::size_t c = 0; c < classes; ++c)
            while (free_block* b = tl.head[c]) {
                tl.head[c] = b->next;
                ::operator delete(b);
            }
        tl.bytes = 0;
    }
};

void register_reaper() {
    thread_local reaper r;
    (void)r;
    tl.registered = true;
}

inline std::size_t class_of(std::size_t n) noexcept { return n == 0 ? 1 : (n + granule - 1) / granule; }

}  // namespace

void* cached_allocate(std::size_t n) {
    const std::size_t c = class_of(n);
    if (c < classes) {
        if (free_block* b = tl.head[c]) {
            tl.head[c] = b->next;
            --tl.count[c];
            tl.bytes -= c * granule;
            return b;
        }
        return ::operator new(c * granule);
    }
    return ::operator new(n);
}

void cached_deallocate(void* p, std::size_t n) noexcept {
    if (p == nullptr) return;
    const std::size_t c = class_of(n);
    if (c < classes && !tl.dead && tl.count[c] < max_per_class && tl.bytes + c * granule <= max_bytes) {
        if (!tl.registered) register_reaper();
        auto* b = static_cast<free_block*>(p);
        b->next = tl.head[c];
        tl.head[c] = b;
        ++tl.count[c];
        tl.bytes += c * granule;
        return;
    }
    ::operator delete(p);
}

#endif

}  // namespace cqlpp::protocol::detail
