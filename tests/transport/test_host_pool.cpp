// Per-host pools: least-busy choice, reconnection with backoff, replacement
// of defunct connections, metrics.
#include "transport_test_util.hpp"

#include "cqlpp/transport/detail/backoff.hpp"
#include "cqlpp/transport/host_pool.hpp"

#include <random>
#include <set>
#include <thread>

using namespace cqlpp::test;

namespace {

tr::pool_config pool_cfg(const sim::cluster& c, std::size_t n) {
    tr::pool_config p;
    p.connection = conn_cfg(c);
    p.connections_per_host = n;
    p.reconnect.base_delay = 50ms;
    p.reconnect.max_delay = 400ms;
    return p;
}

}  // namespace

TEST_CASE("backoff grows exponentially with jitter and is capped", "[transport][pool]") {
    tr::reconnect_policy p;  // 1 s .. 60 s
    std::minstd_rand rng(7);
    for (unsigned attempt = 0; attempt < 40; ++attempt) {
        const std::int64_t full = std::min<std::int64_t>(60000, std::int64_t(1000) << std::min(attempt, 20u));
        for (int i = 0; i < 50; ++i) {
            auto d = tr::detail::backoff_delay(p, attempt, rng).count();
            CHECK(d >= full / 2);
            CHECK(d <= full);
        }
    }
    // Jitter actually varies.
    std::set<std::int64_t> seen;
    for (int i = 0; i < 50; ++i) seen.insert(tr::detail::backoff_delay(p, 3, rng).count());
    CHECK(seen.size() > 10);
}

TEST_CASE("pool opens N connections and spreads requests over the least busy", "[transport][pool]") {
    auto c = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto pool = tr::host_pool::create(ex, pool_cfg(*c, 3));
        pool->start();
        REQUIRE(co_await pool->async_wait_connected(3, 20s));
        c->set_latency(0, 500ms);  // keep requests in flight so the choice matters
        latch l(ex);
        l.add(300);
        int failed = 0;
        for (int i = 0; i < 300; ++i) {
            asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
                auto r = co_await pool->async_request(query("SELECT key FROM system.local"));
                if (r.ec) ++failed;
                l.done();
            }, asio::detached);
        }
        // Mid-flight: all three carry requests, evenly.
        co_await sleep_for(10ms);
        CHECK(pool->metrics().in_flight == 300);
        for (const auto& conn : pool->connections()) CHECK(conn->in_flight() == 100);
        REQUIRE(co_await l.wait());
        CHECK(failed == 0);
        auto m = pool->metrics();
        CHECK(m.connections == 3);
        CHECK(m.in_flight == 0);
        CHECK(m.bytes_written > 0);
        CHECK(m.bytes_read > m.bytes_written);
        CHECK(m.reconnects == 0);
        pool->close();
    });
    CHECK(c->counters(0).connections_total >= 3);
}

TEST_CASE("node stop: requests fail, the pool reconnects with backoff after start_node", "[transport][pool][faults]") {
    auto c = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto pool = tr::host_pool::create(ex, pool_cfg(*c, 2));
        pool->start();
        REQUIRE(co_await pool->async_wait_connected(2, 20s));
        c->set_latency(0, 1000ms);
        std::error_code pending_ec;
        bool pending_done = false;
        asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
            auto r = co_await pool->async_request(query("SELECT key FROM system.local"), 20s);
            pending_ec = r.ec;
            pending_done = true;
        }, asio::detached);
        co_await sleep_for(50ms);
        c->stop_node(0);
        REQUIRE(co_await eventually([&] { return pending_done; }));
        CHECK(pending_ec == tr::errc::connection_closed);
        REQUIRE(co_await eventually([&] { return pool->size() == 0; }));
        auto r = co_await pool->async_request(query("SELECT key FROM system.local"));
        CHECK(r.ec == tr::errc::no_connection);

        // Down for a while: several failed attempts, spaced by the backoff.
        co_await sleep_for(600ms);
        auto down = pool->metrics();
        CHECK(down.connect_failures >= 2);
        CHECK(down.connect_failures < 30);  // 50..400 ms backoff, not a busy loop
        CHECK(pool->last_error() == tr::errc::connect_failed);

        c->set_latency(0, 0ms);
        c->start_node(0);
        REQUIRE(co_await pool->async_wait_connected(2, 20s));
        auto m = pool->metrics();
        CHECK(m.reconnects >= 2);
        auto ok = co_await pool->async_request(query("SELECT key FROM system.local"));
        CHECK_FALSE(ok.ec);
        pool->close();
    });
}

TEST_CASE("pool replaces a connection closed for too many orphans or a corrupt frame", "[transport][pool][orphans]") {
    auto c = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = pool_cfg(*c, 1);
        cfg.connection.max_orphans = 3;
        auto pool = tr::host_pool::create(ex, cfg);
        pool->start();
        REQUIRE(co_await pool->async_wait_connected(1, 20s));
        auto first = pool->pick();
        c->set_latency(0, 300ms);
        for (int i = 0; i < 4; ++i) {
            auto r = co_await pool->async_request(query("SELECT key FROM system.local"), 10ms);
            CHECK(r.ec == tr::errc::timeout);
        }
        CHECK(first->close_reason() == tr::errc::too_many_orphans);
        c->set_latency(0, 0ms);
        REQUIRE(co_await eventually([&] { return pool->size() == 1 && pool->pick() != first; }));
        CHECK(pool->metrics().reconnects == 1);
        auto second = pool->pick();
        c->corrupt_crc(0, 1);
        auto bad = co_await pool->async_request(query("SELECT key FROM system.local"));
        CHECK(bad.ec == tr::errc::framing_error);
        REQUIRE(co_await eventually([&] { return pool->size() == 1 && pool->pick() != second; }));
        CHECK_FALSE((co_await pool->async_request(query("SELECT key FROM system.local"))).ec);
        CHECK(pool->metrics().reconnects == 2);
        pool->close();
    });
}

TEST_CASE("pool: a refused host settles at once; a refused USE keeps the server's error", "[transport][pool]") {
    auto c = start_cluster(nodes(2));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        c->stop_node(1);
        REQUIRE(co_await eventually([&] { return c->state(1) == sim::node_state::down; }, 5s));
        auto cfg = pool_cfg(*c, 1);
        cfg.connection = conn_cfg(*c, 1);  // connect timeout 10 s
        auto down = tr::host_pool::create(ex, cfg);
        std::vector<std::size_t> changes;
        down->on_change([&](std::size_t open) { changes.push_back(open); });
        down->start();
        const auto t0 = std::chrono::steady_clock::now();
        CHECK_FALSE(co_await down->async_wait_settled(10s));
        CHECK(std::chrono::steady_clock::now() - t0 < 2s);
        CHECK(down->last_error() == tr::errc::connect_failed);
        CHECK_FALSE(down->last_server_error());
        REQUIRE(changes.size() == 1);  // the host is reported unreachable at its first failure
        CHECK(changes[0] == 0);
        down->close();

        auto ks = pool_cfg(*c, 1);
        ks.connection.keyspace = "nope";
        auto refused = tr::host_pool::create(ex, ks);
        refused->start();
        CHECK_FALSE(co_await refused->async_wait_settled(10s));
        REQUIRE(refused->last_server_error());
        CHECK(refused->last_server_error()->code == proto::server_errc::invalid);
        CHECK(refused->last_server_error()->message == "Keyspace 'nope' does not exist");

        auto up = tr::host_pool::create(ex, pool_cfg(*c, 1));
        up->start();
        CHECK(co_await up->async_wait_settled(10s));
        refused->close();
        up->close();
    });
}

TEST_CASE("pool: close() aborts the connect in progress to a host that never answers", "[transport][pool][close]") {
    auto cluster = start_cluster(nodes(1));
    cluster->pause_node(0, true);  // accepts TCP, never answers STARTUP
    for (int i = 0; i < 200 && cluster->state(0) != sim::node_state::paused; ++i) std::this_thread::sleep_for(5ms);
    REQUIRE(cluster->state(0) == sim::node_state::paused);
    asio::io_context io;  // no work guard: run() ends when nothing is left
    auto cfg = pool_cfg(*cluster, 2);
    cfg.connection.connect_timeout = 10s;
    auto pool = tr::host_pool::create(io.get_executor(), cfg);
    pool->start();
    std::chrono::steady_clock::time_point closed_at;
    asio::steady_timer t(io, 300ms);
    t.async_wait([&](std::error_code) {
        CHECK(pool->metrics().connect_attempts == 1);  // under way, unanswered
        closed_at = std::chrono::steady_clock::now();
        pool->close();
        pool.reset();
    });
    io.run_for(8s);
    // Neither the socket nor the connect timer outlived the pool: run() ran
    // out of work right after close(), not at the 10 s connect timeout.
    CHECK(io.stopped());
    CHECK(std::chrono::steady_clock::now() - closed_at < 1s);
    cluster->pause_node(0, false);
    for (int i = 0; i < 500 && cluster->counters(0).connections_open != 0; ++i) std::this_thread::sleep_for(10ms);
    CHECK(cluster->counters(0).connections_open == 0);
}
