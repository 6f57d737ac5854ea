// Preparing on every host before prepare() returns, re-preparing a batch's
// statements on UNPREPARED, connecting while a node refuses connections, and
// the server's own error when the session's keyspace does not exist.
#include "session_test_util.hpp"
#include "transport_test_util.hpp"

#include "cqlpp/driver/session.hpp"

using namespace cqlpp::test;
namespace drv = cqlpp::driver;

namespace {

using clock_type = std::chrono::steady_clock;

// Retries off: an UNPREPARED that is not handled shows as an error.
drv::session_config strict_cfg(const sim::cluster& c) {
    drv::session_config cfg;
    cfg.contact_points = {"127.0.0.1:" + std::to_string(c.topo().node(0).config.port)};
    cfg.connection.connect_timeout = 10s;
    cfg.connection.request_timeout = 10s;
    cfg.request_timeout = 10s;
    cfg.reconnect.base_delay = 50ms;
    cfg.reconnect.max_delay = 300ms;
    cfg.refresh_debounce = 20ms;
    cfg.retry = std::make_shared<drv::fallthrough_retry_policy>();
    return cfg;
}

std::uint64_t prepares_on(const sim::cluster& c, int node) {
    return c.counters(node).requests_of(proto::opcode::prepare);
}

asio::awaitable<std::int64_t> count_rows(drv::session& s, std::string_view table) {
    auto r = co_await s.execute("SELECT count(*) FROM " + std::string(table));
    INFO(r.diag().message);
    REQUIRE(r.ok());
    REQUIRE(r.row_count() == 1);
    co_return r.first_row().get<std::int64_t>(0);
}

}  // namespace

TEST_CASE("prepare: returns once every host has the statement; a batch of it right away needs no retry",
          "[driver][prepare]") {
    auto cluster = start_cluster(nodes(3));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await open(ex, strict_cfg(*cluster));
        co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}");
        co_await ok(*s, "CREATE TABLE ks.fresh (k int PRIMARY KEY, v int)");
        std::uint64_t before[3];
        for (int n = 0; n < 3; ++n) before[n] = prepares_on(*cluster, n);
        auto ins = co_await prepare(*s, "INSERT INTO ks.fresh (k, v) VALUES (?, ?)");
        // Every node saw the PREPARE before prepare() returned.
        for (int n = 0; n < 3; ++n) {
            INFO("node " << n);
            CHECK(prepares_on(*cluster, n) > before[n]);
        }
        // Batches of it at once, to whichever replica: none meets UNPREPARED.
        for (int b = 0; b < 10; ++b) {
            drv::batch bt(proto::batch_type::unlogged);
            for (int k = 0; k < 5; ++k) bt.add(ins.bind(b * 5 + k, k));
            auto r = co_await s->execute(bt);
            INFO("batch " << b << ": " << r.diag().message);
            REQUIRE(r.ok());
        }
        const auto m = s->metrics();
        CHECK(m.errors == 0);
        CHECK(m.reprepares == 0);
        CHECK(co_await count_rows(*s, "ks.fresh") == 50);
        co_await s->close();
    });
}

TEST_CASE("batch: a node that forgot its prepared statements gets each batch statement prepared again",
          "[driver][prepare]") {
    auto cluster = start_cluster(nodes(3));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await open(ex, strict_cfg(*cluster));
        co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}");
        co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
        auto ins = co_await prepare(*s, "INSERT INTO ks.t (k, v) VALUES (?, ?)");
        auto upd = co_await prepare(*s, "UPDATE ks.t SET v = ? WHERE k = ?");
        // As after a restart: every node has lost both statements.
        for (int n = 0; n < 3; ++n) cluster->db().forget_prepared(n);
        drv::batch bt;
        bt.add(ins.bind(1, 10));
        bt.add(upd.bind(20, 2));
        bt.add(ins.bind(3, 30));
        auto r = co_await s->execute(bt);
        INFO(r.diag().message);
        REQUIRE(r.ok());
        const auto m = s->metrics();
        CHECK(m.errors == 0);
        CHECK(m.reprepares >= 2);  // the UNPREPARED of each statement, on the one host tried
        CHECK(co_await count_rows(*s, "ks.t") == 3);
        // The single statements still work there too.
        auto again = co_await s->execute(ins.bind(4, 40));
        INFO(again.diag().message);
        CHECK(again.ok());
        co_await s->close();
    });
}

TEST_CASE("connect: a node that refuses connections does not hold connecting up", "[driver][session][connect]") {
    auto cluster = start_cluster(nodes(3));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        {
            auto s = co_await open(ex, strict_cfg(*cluster));
            co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}");
            co_await ok(*s, "CREATE TABLE ks.p (k int PRIMARY KEY, v int)");
            for (int k = 0; k < 20; ++k)
                co_await ok(*s, "INSERT INTO ks.p (k, v) VALUES (" + std::to_string(k) + ", 1)");
            co_await s->close();
        }
        cluster->stop_node(1);
        REQUIRE(co_await eventually([&] { return cluster->state(1) == sim::node_state::down; }, 5s));

        const auto t0 = clock_type::now();
        auto cfg = strict_cfg(*cluster);
        cfg.keyspace = "ks";
        auto s = co_await open(ex, cfg);
        const auto connected = clock_type::now() - t0;
        CHECK(co_await count_rows(*s, "ks.p") == 20);
        // Single-partition reads route to every replica, node 1 included: the others answer at once.
        auto sel = co_await prepare(*s, "SELECT v FROM ks.p WHERE k = ?");
        for (int k = 0; k < 20; ++k) {
            auto r = co_await s->execute(sel.bind(k));
            INFO("k=" << k << ": " << r.diag().message);
            REQUIRE(r.ok());
            CHECK(r.row_count() == 1);
        }
        const auto took = clock_type::now() - t0;
        INFO("connect " << std::chrono::duration_cast<std::chrono::milliseconds>(connected).count() << " ms, in all "
                        << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
        CHECK(connected < 2s);  // the connect timeout is 10 s
        CHECK(took < 2s);
        co_await s->close();
    });
}

TEST_CASE("connect: a keyspace that does not exist fails with the server's error", "[driver][session][connect]") {
    auto cluster = start_cluster(nodes(3));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = strict_cfg(*cluster);
        cfg.keyspace = "nope";
        const auto t0 = clock_type::now();
        auto r = co_await drv::session::connect(ex, cfg);
        const auto took = clock_type::now() - t0;
        INFO(r.diag().message);
        REQUIRE(r.error());
        CHECK(proto::server_errc_of(r.error()) == proto::server_errc::invalid);
        REQUIRE(r.diag().server_error.has_value());
        CHECK(r.diag().server_error->code == proto::server_errc::invalid);
        CHECK(r.diag().message == "Keyspace 'nope' does not exist");
        CHECK(took < 2s);
    });
}
