// Heap allocations made on the calling thread, counted by the replaced global
// allocator of the driver tests (alloc_counter.cpp).
#pragma once

#include <cstddef>

namespace cqlpp::test::alloc {
extern thread_local std::size_t allocations;
extern thread_local std::size_t bytes;  // requested sizes
// Asio's coroutine frames come from aligned_alloc, counted only without
// sanitizers (replacing it fights their interposition).
constexpr bool counts_aligned =
#if defined(__SANITIZE_ADDRESS__)
    false;
#else
    true;
#endif
}  // namespace cqlpp::test::alloc
