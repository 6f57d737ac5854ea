// Client memory per in-flight request, measured: heap bytes allocated on the
// client's thread while 1000 requests are in flight (the simulated server
// runs on its own threads and is not counted).
#include "transport_test_util.hpp"

// Replacing the global allocator fights the sanitizers' own interposition.
#if !defined(__SANITIZE_ADDRESS__)

#include <malloc.h>

#include <cstdlib>
#include <new>

namespace {
thread_local bool counting = false;
thread_local std::size_t counted_bytes = 0;
thread_local std::size_t counted_allocs = 0;
}  // namespace

void* operator new(std::size_t n) {
    if (counting) {
        counted_bytes += n;
        ++counted_allocs;
    }
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
// Asio allocates coroutine frames (and handlers) with std::aligned_alloc.
extern "C" void* aligned_alloc(std::size_t align, std::size_t n) noexcept {
    if (counting) {
        counted_bytes += n;
        ++counted_allocs;
    }
    return ::memalign(align, n);
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    if (counting) {
        counted_bytes += n;
        ++counted_allocs;
    }
    return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return ::operator new(n, t); }
// Every delete form must match the malloc-based new above (sanitizers check).
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

using namespace cqlpp::test;

TEST_CASE("client heap per in-flight request stays under 1 KiB", "[transport][memory]") {
    auto c = start_cluster(nodes(1));
    constexpr int n = 1000;
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto conn = co_await tr::connection::async_connect(ex, conn_cfg(*c));
        REQUIRE(conn.conn);
        // Warm up (buffers, recycled frames), then measure with the server slowed down.
        for (int i = 0; i < 3; ++i) REQUIRE_FALSE((co_await run(*conn.conn, query("SELECT key FROM system.local"))).ec);
        c->set_latency(0, 1000ms);
        const auto env = conn.conn->encode(query("SELECT key FROM system.local"));

        // Baseline: the same spawned coroutines waiting on a plain timer.
        latch base(ex);
        base.add(n);
        counting = true;
        counted_bytes = counted_allocs = 0;
        for (int i = 0; i < n; ++i) {
            asio::co_spawn(ex, [&, e = env]() mutable -> asio::awaitable<void> {
                asio::steady_timer t(ex, 300ms);
                co_await t.async_wait(use_tuple);
                base.done();
            }, asio::detached);
        }
        co_await sleep_for(100ms);
        counting = false;
        const double baseline = double(counted_bytes) / n;
        REQUIRE(co_await base.wait());

        latch l(ex);
        l.add(n);
        counting = true;
        counted_bytes = counted_allocs = 0;
        for (int i = 0; i < n; ++i) {
            asio::co_spawn(ex, [&, e = env]() mutable -> asio::awaitable<void> {
                co_await conn.conn->async_request(e, 20s);
                l.done();
            }, asio::detached);
        }
        co_await sleep_for(100ms);  // all written, none answered yet
        counting = false;
        const auto in_flight = conn.conn->in_flight();
        const double per_request = double(counted_bytes) / n;
        WARN(in_flight << " in flight: " << per_request << " bytes and " << double(counted_allocs) / n
                       << " allocations per request; a caller that only waits on a timer costs " << baseline
                       << " bytes: the transport adds " << per_request - baseline);
        CHECK(in_flight == std::size_t(n));
        CHECK(per_request - baseline < 1024);
        REQUIRE(co_await l.wait());
        conn.conn->close();
    });
}

#endif  // !__SANITIZE_ADDRESS__
