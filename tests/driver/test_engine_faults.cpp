// The request engine under faults: server errors on every path, connections
// cut mid-response and nodes stopped under load, speculative cancellation.
#include "session_test_util.hpp"
#include "transport_test_util.hpp"

#include "cqlpp/driver/session.hpp"

#include <asio/experimental/awaitable_operators.hpp>

#include <algorithm>
#include <map>

using namespace cqlpp::test;
namespace drv = cqlpp::driver;

namespace {

using clock_type = std::chrono::steady_clock;

drv::session_config engine_cfg(const sim::cluster& c) {
    drv::session_config cfg;
    cfg.contact_points = {"127.0.0.1:" + std::to_string(c.topo().node(0).config.port)};
    cfg.connection.connect_timeout = 5s;
    cfg.reconnect.base_delay = 50ms;
    cfg.reconnect.max_delay = 200ms;
    cfg.refresh_debounce = 20ms;
    return cfg;
}

asio::awaitable<void> pause(asio::any_io_executor ex, std::chrono::milliseconds d) {
    asio::steady_timer t(ex, d);
    co_await t.async_wait(use_tuple);
}

proto::server_errc wire_code(sim::fault_error e) {
    switch (e) {
        case sim::fault_error::overloaded: return proto::server_errc::overloaded;
        case sim::fault_error::unavailable: return proto::server_errc::unavailable;
        case sim::fault_error::read_timeout: return proto::server_errc::read_timeout;
        case sim::fault_error::write_timeout: return proto::server_errc::write_timeout;
        case sim::fault_error::server_error: return proto::server_errc::server_error;
        case sim::fault_error::is_bootstrapping: return proto::server_errc::is_bootstrapping;
    }
    return proto::server_errc::server_error;
}

constexpr sim::fault_error all_faults[] = {sim::fault_error::overloaded,    sim::fault_error::unavailable,
                                           sim::fault_error::read_timeout,  sim::fault_error::write_timeout,
                                           sim::fault_error::server_error,  sim::fault_error::is_bootstrapping};

void check_fails_with(const drv::result& r, proto::server_errc code, std::string_view path) {
    INFO(path << " / " << proto::to_string(code) << ": " << r.diag().message);
    CHECK_FALSE(r.ok());
    CHECK(static_cast<bool>(r.error()));
    CHECK(r.error() == code);
    REQUIRE(r.diag().server_error.has_value());
    CHECK(r.diag().server_error->code == code);
}

}  // namespace

TEST_CASE("engine: every server error the sim injects fails its request on every path", "[driver][engine][errors]") {
    auto cluster = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = engine_cfg(*cluster);
        auto s = co_await open(ex, cfg);
        co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
        co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
        auto ins = co_await prepare(*s, "INSERT INTO ks.t (k, v) VALUES (?, ?)");
        auto sel = co_await prepare(*s, "SELECT v FROM ks.t WHERE k = ?");
        // The speculative session: idempotent statements take extra attempts.
        auto scfg = cfg;
        scfg.speculative.max_executions = 2;
        scfg.speculative.delay = 2s;
        scfg.default_idempotent = true;
        auto spec = co_await open(ex, scfg);
        auto sins = co_await prepare(*spec, "INSERT INTO ks.t (k, v) VALUES (?, ?)");
        co_await pause(ex, 300ms);  // background work (prepare elsewhere, refreshes) is over

        int key = 100;
        for (auto fault : all_faults) {
            const auto code = wire_code(fault);
            const auto inject = [&] { cluster->fail_next(0, 1, fault); };

            inject();
            const int k1 = key++;
            check_fails_with(co_await s->execute(drv::statement("INSERT INTO ks.t (k, v) VALUES (?, ?)", k1, 1)), code,
                             "simple");
            inject();
            const int k2 = key++;
            check_fails_with(co_await s->execute(ins.bind(k2, 2)), code, "bound");
            inject();
            const int k3 = key++;
            drv::batch b;
            b.add(ins.bind(k3, 3));
            check_fails_with(co_await s->execute(b), code, "batch");
            inject();
            const int k4 = key++;
            check_fails_with(co_await spec->execute(drv::statement("INSERT INTO ks.t (k, v) VALUES (?, ?)", k4, 4)),
                             code, "speculative simple");
            inject();
            const int k5 = key++;
            check_fails_with(co_await spec->execute(sins.bind(k5, 5)), code, "speculative bound");
            inject();
            const int k6 = key++;
            drv::batch sb;
            sb.add(sins.bind(k6, 6));
            check_fails_with(co_await spec->execute(sb), code, "speculative batch");
            // The control connection's queries (system tables).
            inject();
            auto rec = co_await s->refresh_metadata();
            INFO("control query / " << proto::to_string(code));
            CHECK_FALSE(rec.ok());
            CHECK(rec.error() == code);
            CHECK_FALSE(rec.diag().message.empty());

            // None of the refused writes was stored.
            for (int k : {k1, k2, k3, k4, k5, k6}) {
                auto r = co_await s->execute(sel.bind(k));
                REQUIRE(r.ok());
                CHECK(r.row_count() == 0);
            }
        }
        // PREPARE (the sim injects no faults into it): errors the server finds itself.
        for (auto* sess : {s.get(), spec.get()}) {
            auto bad = co_await sess->prepare("SELEKT v FROM ks.t");
            CHECK_FALSE(bad.ok());
            CHECK(bad.error() == proto::server_errc::syntax_error);
            auto missing = co_await sess->prepare("SELECT v FROM ks.nope WHERE k = ?");
            CHECK_FALSE(missing.ok());
            CHECK(missing.error() == proto::server_errc::invalid);
        }
        CHECK(s->metrics().errors >= 6 * 3);
        co_await spec->close();
        co_await s->close();
    });
}

TEST_CASE("engine: connections cut mid-response and a node stopped under load: nothing outlives its deadline",
          "[driver][engine][faults]") {
    auto cluster = start_cluster(nodes(3));
    run_async(
        [&](asio::any_io_executor ex) -> asio::awaitable<void> {
            auto cfg = engine_cfg(*cluster);
            cfg.request_timeout = 2s;
            cfg.consistency = proto::consistency::quorum;
            cfg.default_idempotent = true;
            auto s = co_await open(ex, cfg);
            co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}");
            co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
            auto ins = co_await prepare(*s, "INSERT INTO ks.t (k, v) VALUES (?, ?)");
            co_await pause(ex, 200ms);

            constexpr int in_flight = 300;
            const auto run_for = 2500ms;
            const auto slack = 300ms;
            bool stop = false;
            int running = in_flight, next_key = 0, acked = 0;
            std::map<std::string, int> failures;
            clock_type::duration worst{};
            asio::steady_timer all_done(ex, clock_type::time_point::max());
            for (int w = 0; w < in_flight; ++w) {
                asio::co_spawn(
                    ex,
                    [&]() -> asio::awaitable<void> {
                        while (!stop) {
                            const int k = next_key++;
                            const auto t0 = clock_type::now();
                            auto r = co_await s->execute(ins.bind(k, k));
                            worst = std::max(worst, clock_type::now() - t0);
                            if (r.ok()) ++acked;
                            else ++failures[r.diag().message.substr(0, 120)];
                        }
                        if (--running == 0) all_done.cancel();
                    },
                    asio::detached);
            }
            // The schedule: cut responses on node 0, stop and restart node 1
            // (it forgets its prepared statements: UNPREPARED follows), cut on node 2.
            co_await pause(ex, 300ms);
            cluster->close_mid_response(0, 3);
            co_await pause(ex, 300ms);
            cluster->stop_node(1);
            co_await pause(ex, 600ms);
            cluster->start_node(1);
            co_await pause(ex, 300ms);
            cluster->close_mid_response(2, 3);
            cluster->close_mid_response(1, 2);
            co_await pause(ex, run_for - 1500ms);
            stop = true;
            co_await all_done.async_wait(use_tuple);

            for (const auto& [why, n] : failures) UNSCOPED_INFO(n << " x " << why);
            INFO("acked " << acked << " of " << next_key << ", worst "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(worst).count() << " ms");
            CHECK(worst < cfg.request_timeout + slack);
            CHECK(acked > 1000);
            CHECK(failures.empty());  // idempotent writes at QUORUM go on with the other replicas
            const auto t0 = clock_type::now();
            co_await s->close();
            CHECK(clock_type::now() - t0 < 1s);
        },
        60s);
}

TEST_CASE("engine: cancelling a speculative request starts nothing, throws nothing, and is counted out",
          "[driver][engine][speculative]") {
    auto cluster = start_cluster(nodes(3));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto cfg = engine_cfg(*cluster);
        cfg.speculative.max_executions = 3;
        cfg.speculative.delay = 200ms;
        cfg.load_balancing_config.token_aware = false;
        auto s = co_await open(ex, cfg);
        co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}");
        co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
        auto sel = co_await prepare(*s, "SELECT v FROM ks.t WHERE k = ?");
        co_await pause(ex, 300ms);
        for (int i = 0; i < 3; ++i) cluster->set_latency(i, 400ms);
        auto executes = [&] {
            std::uint64_t n = 0;
            for (int i = 0; i < 3; ++i) n += cluster->counters(i).requests_of(proto::opcode::execute);
            return n;
        };
        const auto before = executes();
        const auto spec_before = s->metrics().speculative_executions;

        auto q = sel.bind(1);
        q.options().idempotent = true;
        asio::steady_timer give_up(ex, 50ms);
        bool threw = false;
        std::size_t winner = 99;
        try {
            auto raced = co_await (s->execute(q) || give_up.async_wait(asio::use_awaitable));
            winner = raced.index();
        } catch (...) {
            threw = true;
        }
        CHECK_FALSE(threw);
        CHECK(winner == 1);
        // Past the speculative delay: no other attempt was started.
        co_await pause(ex, 300ms);
        CHECK(s->metrics().speculative_executions == spec_before);
        CHECK(executes() - before == 1);
        const auto m = s->metrics();
        CHECK(m.requests >= 1);
        // The request was counted out: close() has nothing to drain.
        const auto t0 = clock_type::now();
        co_await s->close();
        CHECK(clock_type::now() - t0 < 200ms);
        for (int i = 0; i < 3; ++i) cluster->set_latency(i, 0ms);
    });
}

TEST_CASE("engine: a speculative request answers once, from the fastest host, and abandons the others",
          "[driver][engine][speculative]") {
    auto cluster = start_cluster(nodes(3));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = engine_cfg(*cluster);
        cfg.speculative.max_executions = 3;
        cfg.speculative.delay = 30ms;
        cfg.load_balancing_config.token_aware = false;
        auto s = co_await open(ex, cfg);
        co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}");
        co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
        co_await ok(*s, "INSERT INTO ks.t (k, v) VALUES (1, 7)");
        auto sel = co_await prepare(*s, "SELECT v FROM ks.t WHERE k = ?");
        co_await pause(ex, 300ms);
        cluster->set_latency(0, 600ms);
        cluster->set_latency(1, 600ms);
        for (int i = 0; i < 10; ++i) {
            auto q = sel.bind(1);
            q.options().idempotent = true;
            const auto t0 = clock_type::now();
            auto r = co_await s->execute(q);
            INFO(r.diag().message);
            REQUIRE(r.ok());
            CHECK(r.first_row().get<std::int32_t>(0) == 7);
            CHECK(clock_type::now() - t0 < 400ms);
        }
        CHECK(s->metrics().speculative_executions >= 1);
        // The losers were abandoned, not awaited: close() does not wait for them.
        const auto t0 = clock_type::now();
        co_await s->close();
        CHECK(clock_type::now() - t0 < 1500ms);
        cluster->set_latency(0, 0ms);
        cluster->set_latency(1, 0ms);
    });
}
