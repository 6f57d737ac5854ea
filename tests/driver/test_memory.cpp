// Driver memory per in-flight request (issue 4: under 1 KiB), measured as
// heap bytes allocated on the client's thread while 1000 prepared reads wait
// on a slowed-down node, minus what the same coroutines cost waiting on a
// timer. The simulated server runs on its own threads and is not counted.
#include "transport_test_util.hpp"

#include "cqlpp/driver/session.hpp"

#include "alloc_counter.hpp"

// Asio's frames are counted only without sanitizers (alloc_counter.hpp).
#if !defined(__SANITIZE_ADDRESS__)

namespace {
// Bytes allocated on this thread between start_counting() and stop_counting().
std::size_t counted_bytes = 0, counted_allocs = 0, bytes0 = 0, allocs0 = 0;
void start_counting() {
    bytes0 = cqlpp::test::alloc::bytes;
    allocs0 = cqlpp::test::alloc::allocations;
}
void stop_counting() {
    counted_bytes = cqlpp::test::alloc::bytes - bytes0;
    counted_allocs = cqlpp::test::alloc::allocations - allocs0;
}
}  // namespace

using namespace cqlpp::test;
namespace drv = cqlpp::driver;

TEST_CASE("driver heap per in-flight request stays under 1 KiB", "[driver][memory]") {
    auto c = start_cluster(nodes(1));
    constexpr int n = 1000;
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        drv::session_config cfg;
        cfg.contact_points = {"127.0.0.1:" + std::to_string(c->topo().node(0).config.port)};
        auto conn = co_await drv::session::connect(ex, cfg);
        REQUIRE(conn.value());
        auto s = conn.value();
        for (const char* ddl : {"CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
                                "CREATE TABLE ks.kv (k int PRIMARY KEY, v blob)"}) {
            auto r = co_await s->execute(ddl);
            INFO(r.diag().message);
            REQUIRE(r.ok());
        }
        auto p = co_await s->prepare("SELECT v FROM ks.kv WHERE k = ?");
        REQUIRE(p.ok());
        // The application's own state (one bound statement per request) exists before counting.
        std::vector<drv::bound_statement> stmts;
        for (int i = 0; i < n; ++i) stmts.push_back(p.value().bind(i));
        for (int i = 0; i < 3; ++i) REQUIRE((co_await s->execute(stmts[0])).ok());  // warm up
        c->set_latency(0, 1000ms);

        // Baseline: the same spawned coroutines waiting on a plain timer.
        latch base(ex);
        base.add(n);
        start_counting();
        for (int i = 0; i < n; ++i) {
            asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
                asio::steady_timer t(ex, 300ms);
                co_await t.async_wait(use_tuple);
                base.done();
            }, asio::detached);
        }
        co_await sleep_for(100ms);
        stop_counting();
        const double baseline = double(counted_bytes) / n;
        REQUIRE(co_await base.wait());

        latch l(ex);
        l.add(n);
        int ok = 0;
        start_counting();
        for (int i = 0; i < n; ++i) {
            asio::co_spawn(ex, [&, i]() -> asio::awaitable<void> {
                auto r = co_await s->execute(stmts[static_cast<std::size_t>(i)]);
                if (r.ok()) ++ok;
                l.done();
            }, asio::detached);
        }
        co_await sleep_for(100ms);  // all written, none answered yet
        stop_counting();
        std::size_t in_flight = 0;
        for (const auto& h : s->metrics().hosts) in_flight += h.pool.in_flight;
        const double per_request = double(counted_bytes) / n;
        WARN(in_flight << " in flight: " << per_request << " bytes and " << double(counted_allocs) / n
                       << " allocations per request; a caller that only waits on a timer costs " << baseline
                       << " bytes: the driver adds " << per_request - baseline);
        CHECK(in_flight == std::size_t(n));
        CHECK(per_request - baseline < 1024);
        REQUIRE(co_await l.wait());
        CHECK(ok == n);
        c->set_latency(0, 0ms);
        co_await s->close();
    });
}

#endif  // !__SANITIZE_ADDRESS__
