// The session end to end against the simulated cluster: metadata, routing,
// statements, paging, failover, re-prepare, retries, timeouts, v4, LZ4, TLS, auth.
#include "transport_test_util.hpp"
#include "tls_cert.hpp"

#include "cqlpp/driver/session.hpp"

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/use_future.hpp>

#include <atomic>
#include <thread>

using namespace cqlpp::test;
namespace drv = cqlpp::driver;

namespace {

drv::session_config session_cfg(const sim::cluster& c, int node = 0) {
    drv::session_config cfg;
    cfg.contact_points = {"127.0.0.1:" + std::to_string(c.topo().node(node).config.port)};
    cfg.connection.connect_timeout = 10s;
    cfg.reconnect.base_delay = 50ms;
    cfg.reconnect.max_delay = 300ms;
    cfg.refresh_debounce = 20ms;
    return cfg;
}

asio::awaitable<std::shared_ptr<drv::session>> connect(asio::any_io_executor ex, drv::session_config cfg) {
    auto r = co_await drv::session::connect(ex, std::move(cfg));
    INFO(r.diag().message);
    REQUIRE_FALSE(r.error());
    REQUIRE(r.value());
    co_return r.value();
}

asio::awaitable<drv::result> must(asio::awaitable<drv::result> a) {
    auto r = co_await std::move(a);
    INFO(r.diag().message);
    REQUIRE(r.ok());
    co_return r;
}

asio::awaitable<drv::prepared_statement> prep(drv::session& s, std::string q) {
    auto p = co_await s.prepare(std::move(q));
    INFO(p.diag().message);
    REQUIRE(p.ok());
    co_return p.value();
}

asio::awaitable<void> sleep_for(asio::any_io_executor ex, std::chrono::milliseconds d) {
    asio::steady_timer t(ex, d);
    co_await t.async_wait(use_tuple);
}

std::uint64_t total_non_replica(const sim::cluster& c) {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < c.topo().size(); ++i) n += c.counters(static_cast<int>(i)).non_replica_requests;
    return n;
}
std::uint64_t total_replica(const sim::cluster& c) {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < c.topo().size(); ++i) n += c.counters(static_cast<int>(i)).replica_requests;
    return n;
}
std::uint64_t total_requests(const sim::cluster& c) {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < c.topo().size(); ++i) n += c.counters(static_cast<int>(i)).requests;
    return n;
}

}  // namespace

TEST_CASE("session: connects, reads topology and schema, runs simple and prepared statements", "[driver][session]") {
    auto cluster = start_cluster(nodes(3));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await connect(ex, session_cfg(*cluster));
        auto meta = s->metadata();
        CHECK(meta->tokens.hosts().size() == 3);
        CHECK(meta->tokens.ring().size() == 3 * 8);
        CHECK(meta->partitioner.find("Murmur3") != std::string::npos);
        CHECK(meta->keyspace("system") != nullptr);
        CHECK(s->protocol_version() == proto::protocol_version::v5);

        co_await must(s->execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"));
        co_await must(s->execute("CREATE TABLE ks.t (k int PRIMARY KEY, v text, n bigint)"));
        // DDL returns once the metadata knows it.
        const auto* t = s->metadata()->table("ks", "t");
        REQUIRE(t != nullptr);
        REQUIRE(t->partition_key.size() == 1);
        CHECK(t->columns[t->partition_key[0]].name == "k");
        CHECK(s->metadata()->tokens.has_keyspace("ks"));

        // Simple statement with values of their natural types.
        co_await must(s->execute(drv::statement("INSERT INTO ks.t (k, v, n) VALUES (?, ?, ?)", std::int32_t(1),
                                                std::string("one"), std::int64_t(100))));
        auto ins = co_await prep(*s, "INSERT INTO ks.t (k, v, n) VALUES (?, ?, ?)");
        CHECK(ins.markers().size() == 3);
        CHECK(ins.partition_key_indices().size() == 1);
        co_await must(s->execute(ins.bind(2, "two", std::int64_t(200))));
        // By name.
        auto b = ins.bind_empty();
        b.set("v", std::string("three")).set("k", 3).set("n", std::int64_t(300));
        co_await must(s->execute(b));

        auto sel = co_await prep(*s, "SELECT k, v, n FROM ks.t WHERE k = ?");
        for (int k = 1; k <= 3; ++k) {
            auto r = co_await must(s->execute(sel.bind(k)));
            REQUIRE(r.row_count() == 1);
            CHECK(r.first_row().get<std::int32_t>("k") == k);
            CHECK(r.first_row().get<std::int64_t>("n") == 100 * k);
            CHECK_FALSE(r.coordinator().empty());
        }
        auto all = co_await must(s->execute("SELECT v FROM ks.t"));
        CHECK(all.row_count() == 3);
        // Absent row, null column.
        co_await must(s->execute(ins.bind(4, std::nullopt, std::int64_t(4))));
        auto r4 = co_await must(s->execute(sel.bind(4)));
        CHECK_FALSE(r4.first_row().get<std::optional<std::string>>("v").has_value());
        auto none = co_await must(s->execute(sel.bind(99)));
        CHECK(none.row_count() == 0);

        // Preparing the same text again is served from the cache.
        const auto prepares_before = cluster->counters(0).requests_of(proto::opcode::prepare) +
                                     cluster->counters(1).requests_of(proto::opcode::prepare) +
                                     cluster->counters(2).requests_of(proto::opcode::prepare);
        auto sel2 = co_await prep(*s, "SELECT k, v, n FROM ks.t WHERE k = ?");
        CHECK(sel2.id() == sel.id());
        const auto prepares_after = cluster->counters(0).requests_of(proto::opcode::prepare) +
                                    cluster->counters(1).requests_of(proto::opcode::prepare) +
                                    cluster->counters(2).requests_of(proto::opcode::prepare);
        CHECK(prepares_after == prepares_before);

        auto m = s->metrics();
        CHECK(m.requests > 5);
        CHECK(m.latency.count() == m.requests - m.errors);
        CHECK(m.hosts.size() == 3);
        co_await s->close();
        CHECK(s->is_closed());
        auto after = co_await s->execute("SELECT * FROM ks.t");
        CHECK(after.error() == drv::errc::session_closed);
    });
}

TEST_CASE("session: bind errors are reported before anything is sent", "[driver][session]") {
    auto cluster = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await connect(ex, session_cfg(*cluster));
        co_await must(s->execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"));
        co_await must(s->execute("CREATE TABLE ks.t (k int PRIMARY KEY, v smallint)"));
        auto ins = co_await prep(*s, "INSERT INTO ks.t (k, v) VALUES (?, ?)");
        // Let background work (the schema refresh the DDL's event schedules) end first.
        auto before = total_requests(*cluster);
        for (int quiet = 0; quiet < 3;) {
            co_await sleep_for(ex, 50ms);
            const auto now = total_requests(*cluster);
            quiet = now == before ? quiet + 1 : 0;
            before = now;
        }

        auto wrong_arity = co_await s->execute(ins.bind(1));
        CHECK(wrong_arity.error() == drv::errc::bind_count_mismatch);
        CHECK(wrong_arity.diag().message.find("2 bind markers") != std::string::npos);

        auto wrong_type = co_await s->execute(ins.bind(1, std::string("x")));
        CHECK(wrong_type.error() == drv::errc::bind_type_mismatch);
        CHECK(wrong_type.diag().message.find("smallint") != std::string::npos);

        auto b = ins.bind_empty();
        b.set("nope", 1);
        auto no_marker = co_await s->execute(b);
        CHECK(no_marker.error() == drv::errc::no_such_marker);

        // int64 into an int marker would truncate: refused.
        auto narrowing = co_await s->execute(ins.bind(std::int64_t(1), std::int16_t(2)));
        CHECK(narrowing.error() == drv::errc::bind_type_mismatch);

        CHECK(total_requests(*cluster) == before);
        // A correct one goes through; smallint binds from int16_t.
        co_await must(s->execute(ins.bind(1, std::int16_t(7))));
        // Server-side errors carry the server's fields.
        auto bad = co_await s->execute("SELECT * FROM ks.nope");
        CHECK(bad.error() == proto::server_errc::invalid);
        REQUIRE(bad.diag().server_error.has_value());
        CHECK(bad.diag().message.find("INVALID") != std::string::npos);
        CHECK_THROWS_AS(bad.value_or_throw(), drv::request_error);
        co_await s->close();
    });
}

TEST_CASE("session: RF=1 single-partition prepared statements always reach the owning replica", "[driver][session][routing]") {
    auto cluster = start_cluster(nodes(3));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await connect(ex, session_cfg(*cluster));
        co_await must(s->execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"));
        co_await must(s->execute("CREATE TABLE ks.t (k int PRIMARY KEY, v text)"));
        co_await must(s->execute("CREATE TABLE ks.c (a int, b text, c int, v int, PRIMARY KEY ((a, b), c))"));
        auto ins = co_await prep(*s, "INSERT INTO ks.t (k, v) VALUES (?, ?)");
        auto sel = co_await prep(*s, "SELECT v FROM ks.t WHERE k = ?");
        auto cins = co_await prep(*s, "INSERT INTO ks.c (a, b, c, v) VALUES (?, ?, ?, ?)");
        auto csel = co_await prep(*s, "SELECT v FROM ks.c WHERE a = ? AND b = ? AND c = ?");
        const auto nr0 = total_non_replica(*cluster);
        const auto r0 = total_replica(*cluster);
        for (int k = 0; k < 300; ++k) {
            co_await must(s->execute(ins.bind(k, "v" + std::to_string(k))));
            co_await must(s->execute(cins.bind(k, "b" + std::to_string(k), 1, k)));
        }
        for (int k = 0; k < 300; ++k) {
            auto r = co_await must(s->execute(sel.bind(k)));
            REQUIRE(r.row_count() == 1);
            CHECK(r.first_row().get<std::string>(0) == "v" + std::to_string(k));
            auto cr = co_await must(s->execute(csel.bind(k, "b" + std::to_string(k), 1)));
            REQUIRE(cr.row_count() == 1);
            CHECK(cr.first_row().get<std::int32_t>(0) == k);
        }
        CHECK(total_replica(*cluster) - r0 == 1200);
        CHECK(total_non_replica(*cluster) == nr0);
        // Every node got its share (the keys spread over the ring).
        for (int i = 0; i < 3; ++i) CHECK(cluster->counters(i).replica_requests > 100);
        co_await s->close();
    });
}

TEST_CASE("session: paging 100,000 rows keeps at most one page ahead, and never blocks the io_context",
          "[driver][session][paging]") {
    auto cluster = start_cluster(nodes(3));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await connect(ex, session_cfg(*cluster));
        co_await must(s->execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"));
        co_await must(s->execute("CREATE TABLE ks.big (k int PRIMARY KEY, v int)"));
        auto ins = co_await prep(*s, "INSERT INTO ks.big (k, v) VALUES (?, ?)");
        // Load concurrently (100 coroutines in flight).
        constexpr int rows = 100000;
        int next = 0;
        int failures = 0;
        int running = 0;
        asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
        for (int w = 0; w < 100; ++w) {
            ++running;
            asio::co_spawn(
                ex,
                [&]() -> asio::awaitable<void> {
                    while (next < rows) {
                        int k = next++;
                        auto r = co_await s->execute(ins.bind(k, k * 2));
                        if (!r.ok()) ++failures;
                    }
                    if (--running == 0) all_done.cancel();
                },
                asio::detached);
        }
        co_await all_done.async_wait(use_tuple);
        REQUIRE(failures == 0);

        // A 1 ms ticker on the same io_context while the pages stream in.
        bool stop = false;
        std::chrono::steady_clock::duration worst{};
        std::uint64_t ticks = 0;
        asio::co_spawn(
            ex,
            [&]() -> asio::awaitable<void> {
                asio::steady_timer t(ex);
                while (!stop) {
                    const auto due = std::chrono::steady_clock::now() + 1ms;
                    t.expires_at(due);
                    co_await t.async_wait(use_tuple);
                    worst = std::max(worst, std::chrono::steady_clock::now() - due);
                    ++ticks;
                }
            },
            asio::detached);

        drv::statement q("SELECT k, v FROM ks.big");
        q.options().page_size = 1000;
        auto stream = s->stream(q);
        std::vector<std::weak_ptr<const tr::response_frame>> pages;
        std::size_t max_alive = 0;
        std::vector<bool> seen(rows, false);
        std::size_t count = 0;
        while (!stream.done()) {
            auto page = co_await stream.next_page();
            INFO(page.diag().message);
            REQUIRE(page.ok());
            if (page.response()) pages.push_back(page.response());
            std::size_t alive = 0;
            for (auto& w : pages) alive += !w.expired();
            max_alive = std::max(max_alive, alive);
            for (auto row : page.rows()) {
                auto k = row.get<std::int32_t>(0);
                REQUIRE(k >= 0);
                REQUIRE(k < rows);
                CHECK_FALSE(seen[static_cast<std::size_t>(k)]);
                seen[static_cast<std::size_t>(k)] = true;
                CHECK(row.get<std::int32_t>(1) == 2 * k);
                ++count;
            }
        }
        stop = true;
        CHECK(count == static_cast<std::size_t>(rows));
        CHECK(pages.size() >= 100);
        // The page in hand plus the one being fetched ahead: never more.
        CHECK(max_alive <= 2);
        CHECK(stream.rows_seen() == static_cast<std::uint64_t>(rows));
        CHECK(ticks > 10);
        // Generous: a blocking fetch would stall for whole pages, many times over.
        CHECK(worst < 250ms);

        // Row by row, and resuming from a saved paging state.
        drv::statement q2("SELECT k FROM ks.big");
        q2.options().page_size = 300;
        auto rs = s->stream(q2);
        drv::row_view row;
        std::size_t n = 0;
        while (n < 450 && co_await rs.next(row)) ++n;
        CHECK(n == 450);
        auto first = co_await must(s->execute(q2));
        REQUIRE(first.has_more_pages());
        drv::statement resumed("SELECT k FROM ks.big");
        resumed.options().page_size = 300;
        resumed.options().paging_state.assign(first.paging_state().begin(), first.paging_state().end());
        auto second = co_await must(s->execute(resumed));
        CHECK(second.row_count() == 300);
        CHECK(second.first_row().get<std::int32_t>(0) != first.first_row().get<std::int32_t>(0));
        co_await s->close();
    });
}

TEST_CASE("session: failover when a node stops, reconnection when it comes back", "[driver][session][failover]") {
    auto cluster = start_cluster(nodes(3));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await connect(ex, session_cfg(*cluster, 0));
        co_await must(s->execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}"));
        co_await must(s->execute("CREATE TABLE ks.t (k int PRIMARY KEY, v int)"));
        auto ins = co_await prep(*s, "INSERT INTO ks.t (k, v) VALUES (?, ?)");
        auto sel = co_await prep(*s, "SELECT v FROM ks.t WHERE k = ?");
        for (int k = 0; k < 50; ++k) co_await must(s->execute(ins.bind(k, k)));

        // Stop node 0, which also holds the control connection.
        cluster->stop_node(0);
        co_await sleep_for(ex, 200ms);
        for (int k = 0; k < 50; ++k) {
            auto r = co_await must(s->execute(sel.bind(k)));
            CHECK(r.first_row().get<std::int32_t>(0) == k);
            CHECK(r.coordinator() != cluster->contact_points()[0]);
        }
        // The control connection moved to another node.
        for (int i = 0; i < 50 && s->metrics().control_reconnects == 0; ++i) co_await sleep_for(ex, 50ms);
        CHECK(s->metrics().control_reconnects >= 1);

        cluster->start_node(0);
        // The pool reconnects (UP event or backoff) and node 0 serves again.
        bool back = false;
        for (int i = 0; i < 100 && !back; ++i) {
            co_await sleep_for(ex, 50ms);
            for (const auto& h : s->metrics().hosts)
                if (h.endpoint == cluster->contact_points()[0] && h.up && h.pool.connections > 0) back = true;
        }
        CHECK(back);
        const auto before = cluster->counters(0).requests;
        for (int k = 0; k < 60; ++k) co_await must(s->execute(sel.bind(k % 50)));
        CHECK(cluster->counters(0).requests > before);
        co_await s->close();
    });
}

TEST_CASE("session: UNPREPARED is answered by preparing again, transparently", "[driver][session][prepared]") {
    auto cluster = start_cluster(nodes(2));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await connect(ex, session_cfg(*cluster));
        co_await must(s->execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"));
        co_await must(s->execute("CREATE TABLE ks.t (k int PRIMARY KEY, v int)"));
        auto ins = co_await prep(*s, "INSERT INTO ks.t (k, v) VALUES (?, ?)");
        co_await sleep_for(ex, 100ms);  // prepare-on-all-hosts runs in the background
        cluster->db().forget_prepared(0);
        cluster->db().forget_prepared(1);
        // Many concurrent requests hit UNPREPARED: each host is re-prepared once.
        int running = 0, failures = 0;
        asio::steady_timer done(ex, asio::steady_timer::time_point::max());
        for (int k = 0; k < 40; ++k) {
            ++running;
            asio::co_spawn(
                ex,
                [&, k]() -> asio::awaitable<void> {
                    auto r = co_await s->execute(ins.bind(k, k));
                    if (!r.ok()) ++failures;
                    if (--running == 0) done.cancel();
                },
                asio::detached);
        }
        co_await done.async_wait(use_tuple);
        CHECK(failures == 0);
        CHECK(s->metrics().reprepares >= 1);
        auto cnt = co_await must(s->execute("SELECT count(*) FROM ks.t"));
        CHECK(cnt.first_row().get<std::int64_t>(0) == 40);
        co_await s->close();
    });
}

TEST_CASE("session: retries follow the policy; speculative execution answers from another host",
          "[driver][session][retry]") {
    auto cluster = start_cluster(nodes(3));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = session_cfg(*cluster);
        auto s = co_await connect(ex, cfg);
        co_await must(s->execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}"));
        co_await must(s->execute("CREATE TABLE ks.t (k int PRIMARY KEY, v int)"));
        auto ins = co_await prep(*s, "INSERT INTO ks.t (k, v) VALUES (?, ?)");

        // Let background work (prepare on the other hosts, the schema refresh
        // after the DDL) finish: injected faults hit whatever request comes next.
        co_await sleep_for(ex, 300ms);
        // OVERLOADED on two of three replicas: idempotent writes move on to the
        // next host and succeed.
        cluster->fail_next(0, 3, sim::fault_error::overloaded);
        cluster->fail_next(1, 3, sim::fault_error::overloaded);
        int retried = 0;
        for (int i = 0; i < 6; ++i) {
            auto b = ins.bind(1, i);
            b.options().idempotent = true;
            auto ok = co_await must(s->execute(b));
            retried += ok.attempts() - 1;
        }
        CHECK(retried >= 1);
        CHECK(s->metrics().retries >= 1);
        // Everywhere (more failures than any background request could use up):
        // the plan is walked to its end, then the last error is returned.
        for (int i = 0; i < 3; ++i) cluster->fail_next(i, 100, sim::fault_error::overloaded);
        auto all = ins.bind(1, 1);
        all.options().idempotent = true;
        auto exhausted = co_await s->execute(all);
        CHECK(exhausted.error() == proto::server_errc::overloaded);
        CHECK(exhausted.diag().attempts.size() == 3);
        // Not idempotent: the error comes back as it is.
        auto nb = ins.bind(2, 2);
        auto err = co_await s->execute(nb);
        CHECK(err.error() == proto::server_errc::overloaded);
        REQUIRE(err.diag().server_error.has_value());
        CHECK(err.diag().attempts.size() == 1);
        for (int i = 0; i < 3; ++i) cluster->fail_next(i, 0, sim::fault_error::overloaded);
        co_await s->close();

        // Speculative execution: two nodes are slow, one is fast.
        cfg.speculative.max_executions = 3;
        cfg.speculative.delay = 20ms;
        cfg.load_balancing_config.token_aware = false;
        auto s2 = co_await connect(ex, cfg);
        auto sel = co_await prep(*s2, "SELECT v FROM ks.t WHERE k = ?");
        cluster->set_latency(0, 400ms);
        cluster->set_latency(1, 400ms);
        int fast = 0;
        for (int i = 0; i < 6; ++i) {
            auto q = sel.bind(1);
            q.options().idempotent = true;
            const auto t0 = std::chrono::steady_clock::now();
            auto r = co_await must(s2->execute(q));
            if (std::chrono::steady_clock::now() - t0 < 300ms) ++fast;
            CHECK(r.first_row().get<std::int32_t>(0) == 5);  // the last write that went through
        }
        CHECK(fast == 6);
        CHECK(s2->metrics().speculative_executions >= 1);
        cluster->set_latency(0, 0ms);
        cluster->set_latency(1, 0ms);
        co_await s2->close();
    });
}

TEST_CASE("session: a timed-out request never receives another request's response", "[driver][session][timeout]") {
    auto cluster = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await connect(ex, session_cfg(*cluster));
        co_await must(s->execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"));
        co_await must(s->execute("CREATE TABLE ks.t (k int PRIMARY KEY, v int)"));
        auto ins = co_await prep(*s, "INSERT INTO ks.t (k, v) VALUES (?, ?)");
        auto sel = co_await prep(*s, "SELECT v FROM ks.t WHERE k = ?");
        for (int k = 0; k < 20; ++k) co_await must(s->execute(ins.bind(k, k * 10)));

        cluster->set_latency(0, 300ms);
        auto slow = sel.bind(1);
        slow.options().timeout = 50ms;
        const auto t0 = std::chrono::steady_clock::now();
        auto r = co_await s->execute(slow);
        CHECK(r.error() == drv::errc::request_timeout);
        CHECK(std::chrono::steady_clock::now() - t0 < 250ms);
        CHECK(s->metrics().timeouts == 1);
        cluster->set_latency(0, 0ms);
        // The late answer to k=1 arrives while these run: each gets its own.
        for (int k = 0; k < 20; ++k) {
            auto x = co_await must(s->execute(sel.bind(k)));
            CHECK(x.first_row().get<std::int32_t>(0) == k * 10);
        }
        co_await s->close();
    });
}

TEST_CASE("session: v4 fallback, LZ4, batches, client timestamps, per-query keyspace", "[driver][session][v4]") {
    for (bool v4_only : {false, true}) {
        for (bool lz4 : {false, true}) {
            DYNAMIC_SECTION("v4_only " << v4_only << " lz4 " << lz4) {
                auto ccfg = nodes(2);
                ccfg.v4_only = v4_only;
                auto cluster = start_cluster(ccfg);
                run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
                    auto cfg = session_cfg(*cluster);
                    cfg.connection.lz4 = lz4;
                    auto s = co_await connect(ex, cfg);
                    CHECK(s->protocol_version() == (v4_only ? proto::protocol_version::v4 : proto::protocol_version::v5));
                    co_await must(s->execute(
                        "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"));
                    co_await must(s->execute("CREATE TABLE ks.t (k int PRIMARY KEY, v text)"));
                    auto ins = co_await prep(*s, "INSERT INTO ks.t (k, v) VALUES (?, ?)");
                    drv::batch b(proto::batch_type::unlogged);
                    for (int k = 0; k < 10; ++k) b.add(ins.bind(k, std::string(200, 'a' + k)));
                    b.add(drv::statement("INSERT INTO ks.t (k, v) VALUES (?, ?)", 100, std::string("simple")));
                    co_await must(s->execute(b));
                    auto all = co_await must(s->execute("SELECT k, v FROM ks.t"));
                    CHECK(all.row_count() == 11);
                    // Client timestamps: a later write with an older explicit timestamp loses.
                    drv::statement w1("INSERT INTO ks.t (k, v) VALUES (?, ?)", 500, std::string("new"));
                    co_await must(s->execute(w1));
                    drv::statement w2("INSERT INTO ks.t (k, v) VALUES (?, ?)", 500, std::string("old"));
                    w2.options().timestamp = 1000;  // 1970
                    co_await must(s->execute(w2));
                    auto r = co_await must(s->execute("SELECT v FROM ks.t WHERE k = 500"));
                    CHECK(r.first_row().get<std::string>(0) == "new");
                    // Per-query keyspace: v5 only, refused before sending on v4.
                    drv::statement q("SELECT v FROM t WHERE k = 100");
                    q.options().keyspace = "ks";
                    auto kr = co_await s->execute(q);
                    if (v4_only) {
                        CHECK(kr.error() == drv::errc::needs_protocol_v5);
                    } else {
                        INFO(kr.diag().message);
                        REQUIRE(kr.ok());
                        CHECK(kr.first_row().get<std::string>(0) == "simple");
                    }
                    co_await s->close();
                });
            }
        }
    }
}

TEST_CASE("session: TLS and password authentication", "[driver][session][tls]") {
    tls_files files;
    auto ccfg = nodes(2);
    ccfg.tls = sim::tls_config{files.cert, files.key};
    ccfg.users = {{"alice", "secret"}};
    auto cluster = start_cluster(ccfg);
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = session_cfg(*cluster);
        cfg.connection.tls = tr::tls_config{};
        cfg.connection.tls->ca_file = files.cert;
        cfg.connection.auth = tr::credentials{"alice", "secret"};
        auto s = co_await connect(ex, cfg);
        auto r = co_await must(s->execute("SELECT release_version FROM system.local"));
        CHECK(r.row_count() == 1);
        CHECK(s->metadata()->tokens.hosts().size() == 2);
        co_await s->close();

        cfg.connection.auth = tr::credentials{"alice", "wrong"};
        auto bad = co_await drv::session::connect(ex, cfg);
        CHECK(bad.error() == tr::errc::auth_failed);
        CHECK(bad.diag().message.find("authentication") != std::string::npos);

        auto no_tls = session_cfg(*cluster);
        no_tls.connection.connect_timeout = 1s;
        no_tls.connection.auth = tr::credentials{"alice", "secret"};
        auto plain = co_await drv::session::connect(ex, no_tls);
        CHECK(plain.error() == drv::errc::no_contact_point);
    });
}

TEST_CASE("session: futures and callbacks from other threads; schema events from another client",
          "[driver][session][api]") {
    auto cluster = start_cluster(nodes(2));
    asio::io_context io;
    std::shared_ptr<drv::session> s;
    std::shared_ptr<drv::session> other;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            s = co_await connect(io.get_executor(), session_cfg(*cluster));
            other = co_await connect(io.get_executor(), session_cfg(*cluster, 1));
        },
        asio::detached);
    auto guard = asio::make_work_guard(io);
    std::thread t([&] { io.run(); });
    for (int i = 0; i < 200 && (!s || !other); ++i) std::this_thread::sleep_for(50ms);
    REQUIRE(s);
    REQUIRE(other);

    auto f = s->execute_future(drv::statement(
        "CREATE KEYSPACE ev WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"));
    auto created = f.get();
    INFO(created.diag().message);
    REQUIRE(created.ok());
    // The other session learns of it through a SCHEMA_CHANGE event (debounced refresh).
    bool seen = false;
    for (int i = 0; i < 100 && !seen; ++i) {
        std::this_thread::sleep_for(20ms);
        seen = other->metadata()->keyspace("ev") != nullptr;
    }
    CHECK(seen);

    std::atomic<int> done{0};
    std::atomic<int> ok{0};
    for (int i = 0; i < 20; ++i)
        s->execute_async(drv::statement("SELECT key FROM system.local"), [&](drv::result r) {
            if (r.ok() && r.row_count() == 1) ++ok;
            ++done;
        });
    for (int i = 0; i < 200 && done < 20; ++i) std::this_thread::sleep_for(10ms);
    CHECK(ok == 20);
    auto pf = s->prepare_future("SELECT key FROM system.local WHERE key = ?");
    auto p = pf.get();
    REQUIRE(p.ok());
    auto r = s->execute_future(p.value().bind(std::string("local"))).get();
    CHECK(r.row_count() == 1);

    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await s->close();
            co_await other->close();
        },
        asio::use_future)
        .get();
    guard.reset();
    t.join();
}

TEST_CASE("session: cancelling a request stops it; close() drains what is in flight", "[driver][session][timeout]") {
    auto cluster = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto s = co_await connect(ex, session_cfg(*cluster));
        co_await must(s->execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"));
        co_await must(s->execute("CREATE TABLE ks.t (k int PRIMARY KEY, v int)"));
        auto ins = co_await prep(*s, "INSERT INTO ks.t (k, v) VALUES (?, ?)");
        auto sel = co_await prep(*s, "SELECT v FROM ks.t WHERE k = ?");
        for (int k = 0; k < 10; ++k) co_await must(s->execute(ins.bind(k, k)));

        // The caller gives up after 50 ms: the request ends with `cancelled`,
        // is not retried elsewhere, and later requests get their own answers.
        cluster->set_latency(0, 300ms);
        auto slow = sel.bind(1);
        slow.options().idempotent = true;
        asio::steady_timer give_up(ex, 50ms);
        const auto t0 = std::chrono::steady_clock::now();
        auto raced = co_await (s->execute(slow) || give_up.async_wait(asio::use_awaitable));
        CHECK(raced.index() == 1);
        CHECK(std::chrono::steady_clock::now() - t0 < 250ms);
        cluster->set_latency(0, 0ms);
        for (int k = 0; k < 10; ++k) {
            auto r = co_await must(s->execute(sel.bind(k)));
            CHECK(r.first_row().get<std::int32_t>(0) == k);
        }

        // A request that fails at once (a zero timeout) raced against work
        // queued just before its answer: the race is lost while the answer is
        // still queued, and that cancellation must not reach the request's
        // freed state (ASan checks this).
        for (int i = 0; i < 20; ++i) {
            auto zero = sel.bind(1);
            zero.options().timeout = 0ms;
            auto r = co_await (asio::post(ex, asio::use_awaitable) || s->execute(zero));
            if (r.index() == 1) CHECK(std::get<1>(r).error() == drv::errc::request_timeout);
        }
        auto after = co_await must(s->execute(sel.bind(3)));
        CHECK(after.first_row().get<std::int32_t>(0) == 3);

        // close() while 50 requests are in flight on a slow node: all of them complete.
        cluster->set_latency(0, 100ms);
        int ok = 0, done_count = 0;
        for (int k = 0; k < 50; ++k)
            asio::co_spawn(
                ex,
                [&, k]() -> asio::awaitable<void> {
                    auto r = co_await s->execute(sel.bind(k % 10));
                    if (r.ok()) ++ok;
                    ++done_count;
                },
                asio::detached);
        co_await sleep_for(ex, 10ms);
        co_await s->close();
        CHECK(done_count == 50);
        CHECK(ok == 50);
        cluster->set_latency(0, 0ms);
    });
}
