#include "alloc_counter.hpp"

#include <malloc.h>

#include <cstdlib>
#include <new>

namespace cqlpp::test::alloc {
thread_local std::size_t allocations = 0;
thread_local std::size_t bytes = 0;
}  // namespace cqlpp::test::alloc

namespace {
void count(std::size_t n) noexcept {
    ++cqlpp::test::alloc::allocations;
    cqlpp::test::alloc::bytes += n;
}
}  // namespace

void* operator new(std::size_t n) {
    count(n);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
// Every non-aligned form is replaced, so none pairs with the sanitizer's own allocator.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    count(n);
    return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return ::operator new(n, t); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

#if !defined(__SANITIZE_ADDRESS__)
extern "C" void* aligned_alloc(std::size_t align, std::size_t n) noexcept {
    count(n);
    return ::memalign(align, n);
}
#endif
