// for_each_in_flight: at most N steps at once, every input once, in order of
// start; the first exception stops new steps and is rethrown after the rest.
#include "transport_test_util.hpp"
#include "session_test_util.hpp"

#include "cqlpp/driver/in_flight.hpp"
#include "cqlpp/driver/session.hpp"

#include <numeric>
#include <random>
#include <ranges>
#include <stdexcept>
#include <vector>

using namespace cqlpp::test;
namespace drv = cqlpp::driver;

TEST_CASE("in flight: never more than N at once, each input once, started in order", "[driver][in_flight]") {
    for (std::size_t limit : {1u, 8u, 200u}) {
        INFO("limit " << limit);
        std::vector<int> inputs(100);
        std::iota(inputs.begin(), inputs.end(), 0);
        std::vector<int> started, finished_count(100, 0);
        std::size_t now = 0, most = 0;
        std::mt19937 rng(42);
        run_async([&](asio::any_io_executor) -> asio::awaitable<void> {
            co_await drv::for_each_in_flight(inputs, limit, [&](int i) -> asio::awaitable<void> {
                started.push_back(i);
                most = std::max(most, ++now);
                co_await sleep_for(std::chrono::milliseconds(1 + rng() % 3));
                --now;
                ++finished_count[static_cast<std::size_t>(i)];
            });
            CHECK(now == 0);  // all done before the call returns
        });
        CHECK(most == std::min<std::size_t>(limit, inputs.size()));
        CHECK(started == inputs);
        CHECK(std::all_of(finished_count.begin(), finished_count.end(), [](int n) { return n == 1; }));
    }
}

TEST_CASE("in flight: computed inputs and an empty range", "[driver][in_flight]") {
    auto squares = std::views::iota(0, 50) | std::views::transform([](int i) { return i * i; });
    long sum = 0;
    std::vector<int> none;
    int calls = 0;
    run_async([&](asio::any_io_executor) -> asio::awaitable<void> {
        co_await drv::for_each_in_flight(squares, 7, [&](int v) -> asio::awaitable<void> {
            co_await sleep_for(1ms);
            sum += v;
        });
        co_await drv::for_each_in_flight(none, 4, [&](int) -> asio::awaitable<void> {
            ++calls;
            co_return;
        });
    });
    CHECK(sum == 40425);  // sum of i^2, i < 50
    CHECK(calls == 0);
}

TEST_CASE("in flight: the first exception stops new steps, waits for the rest, and is rethrown", "[driver][in_flight]") {
    std::vector<int> inputs(100);
    std::iota(inputs.begin(), inputs.end(), 0);
    int started = 0, finished = 0, running = 0;
    bool rethrown = false;
    run_async([&](asio::any_io_executor) -> asio::awaitable<void> {
        try {
            co_await drv::for_each_in_flight(inputs, 4, [&](int i) -> asio::awaitable<void> {
                ++started;
                ++running;
                co_await sleep_for(2ms);
                --running;
                if (i == 10) throw std::runtime_error("step 10");
                ++finished;
            });
        } catch (const std::runtime_error& e) {
            rethrown = std::string(e.what()) == "step 10";
            CHECK(running == 0);  // the steps in flight finished first
        }
    });
    CHECK(rethrown);
    CHECK(started < 20);
    CHECK(finished == started - 1);
}

TEST_CASE("in flight: 500 writes through a session with 64 in flight", "[driver][in_flight]") {
    auto cluster = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        drv::session_config cfg;
        cfg.contact_points = {"127.0.0.1:" + std::to_string(cluster->topo().node(0).config.port)};
        auto s = co_await open(ex, cfg);
        co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
        co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
        auto ins = co_await prepare(*s, "INSERT INTO ks.t (k, v) VALUES (?, ?)");
        std::vector<int> keys(500);
        std::iota(keys.begin(), keys.end(), 0);
        int failed = 0;
        std::size_t most = 0;
        co_await drv::for_each_in_flight(keys, 64, [&](int k) -> asio::awaitable<void> {
            std::size_t wire = 0;
            for (const auto& h : s->metrics().hosts) wire += h.pool.in_flight;
            most = std::max(most, wire);
            if (!(co_await s->execute(ins.bind(k, k * 2)))) ++failed;
        });
        CHECK(failed == 0);
        CHECK(most <= 64);
        auto all = co_await s->execute("SELECT COUNT(*) FROM ks.t");
        REQUIRE(all.ok());
        CHECK(all.first_row().get<std::int64_t>(0) == 500);
        co_await s->close();
    });
}
