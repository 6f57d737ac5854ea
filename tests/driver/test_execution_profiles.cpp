// Execution profiles (session_config::execution_profiles) against the
// simulated cluster: what the server receives, precedence (statement, then
// profile, then session), timeouts, speculation, the local-DC limit, and an
// unknown name.
#include "transport_test_util.hpp"
#include "session_test_util.hpp"

#include "cqlpp/driver/session.hpp"

#include <algorithm>

using namespace cqlpp::test;
namespace drv = cqlpp::driver;
using proto::consistency;

namespace {

drv::session_config profiled_cfg(const sim::cluster& c) {
    drv::session_config cfg;
    cfg.contact_points = {"127.0.0.1:" + std::to_string(c.topo().node(0).config.port)};
    cfg.connection.connect_timeout = 10s;
    cfg.refresh_debounce = 20ms;
    cfg.execution_profiles["strong"] = {.consistency = consistency::all,
                                        .serial_consistency = consistency::serial,
                                        .page_size = 7};
    cfg.execution_profiles["fast"] = {.request_timeout = 50ms};
    return cfg;
}

// The last request node 0 received with this opcode (and text, if given).
std::optional<sim::activity_entry> last(const sim::cluster& c, proto::opcode op, std::string_view query = {}) {
    auto log = c.activity(0);
    for (auto it = log.rbegin(); it != log.rend(); ++it)
        if (it->op == op && (query.empty() || it->query == query)) return *it;
    return std::nullopt;
}

}  // namespace

TEST_CASE("profiles: a profile's consistency, serial consistency and page size reach the server; the statement's own "
          "options win",
          "[driver][profiles]") {
    auto cc = nodes(1);
    cc.activity_log_capacity = 100;
    auto cluster = start_cluster(cc);
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await open(ex, profiled_cfg(*cluster));
        co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
        co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
        for (int k = 0; k < 20; ++k)
            co_await ok(*s, "INSERT INTO ks.t (k, v) VALUES (" + std::to_string(k) + ", " + std::to_string(k) + ")");
        const std::string scan = "SELECT k, v FROM ks.t";

        // No profile: the session's defaults (its serial consistency too).
        REQUIRE((co_await s->execute(drv::statement(scan))).ok());
        auto e = last(*cluster, proto::opcode::query, scan);
        REQUIRE(e);
        CHECK(e->consistency == consistency::local_one);
        CHECK(e->page_size == 5000);
        CHECK(e->serial_consistency == consistency::local_serial);  // session_config::serial_consistency

        // The profile's.
        auto strong = drv::statement(scan).set_execution_profile("strong");
        auto r = co_await s->execute(strong);
        INFO(r.diag().message);
        REQUIRE(r.ok());
        CHECK(r.row_count() == 7);
        e = last(*cluster, proto::opcode::query, scan);
        REQUIRE(e);
        CHECK(e->consistency == consistency::all);
        CHECK(e->page_size == 7);
        CHECK(e->serial_consistency == consistency::serial);

        // Set on the statement: its own value wins, the profile fills the rest.
        auto own = drv::statement(scan).set_execution_profile("strong");
        own.options().consistency = consistency::quorum;
        own.options().page_size = 3;
        REQUIRE((co_await s->execute(own)).ok());
        e = last(*cluster, proto::opcode::query, scan);
        REQUIRE(e);
        CHECK(e->consistency == consistency::quorum);
        CHECK(e->page_size == 3);
        CHECK(e->serial_consistency == consistency::serial);

        // Bound statements and batches.
        auto sel = co_await prepare(*s, "SELECT v FROM ks.t WHERE k = ?");
        auto b = sel.bind(4);
        b.set_execution_profile("strong");
        REQUIRE((co_await s->execute(b)).ok());
        e = last(*cluster, proto::opcode::execute);
        REQUIRE(e);
        CHECK(e->consistency == consistency::all);
        CHECK(e->page_size == 7);
        auto ins = co_await prepare(*s, "INSERT INTO ks.t (k, v) VALUES (?, ?)");
        drv::batch bt;
        bt.add(ins.bind(100, 1)).add(drv::statement("INSERT INTO ks.t (k, v) VALUES (101, 1)"));
        bt.set_execution_profile("strong");
        REQUIRE((co_await s->execute(bt)).ok());
        e = last(*cluster, proto::opcode::batch);
        REQUIRE(e);
        CHECK(e->consistency == consistency::all);
        CHECK(e->serial_consistency == consistency::serial);

        // Paging keeps the profile: every page is 7 rows at ALL.
        cluster->clear_activity();
        auto stream = s->stream(drv::statement(scan).set_execution_profile("strong"));
        std::uint64_t rows = 0;
        drv::row_view row;
        while (co_await stream.next(row)) ++rows;
        CHECK_FALSE(stream.error());
        CHECK(rows == 22);
        int pages = 0;
        for (const auto& x : cluster->activity(0)) {
            if (x.op != proto::opcode::query || x.query != scan) continue;
            ++pages;
            CHECK(x.consistency == consistency::all);
            CHECK(x.page_size == 7);
        }
        CHECK(pages == 4);  // 7 + 7 + 7 + 1
        co_await s->close();
    });
}

TEST_CASE("profiles: an unknown name fails the request, naming it, before anything is sent", "[driver][profiles]") {
    auto cc = nodes(1);
    cc.activity_log_capacity = 100;
    auto cluster = start_cluster(cc);
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await open(ex, profiled_cfg(*cluster));
        co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
        co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
        auto sel = co_await prepare(*s, "SELECT v FROM ks.t WHERE k = ?");
        cluster->clear_activity();

        auto r = co_await s->execute(drv::statement("SELECT v FROM ks.t").set_execution_profile("analytcs"));
        CHECK(r.error() == drv::errc::unknown_execution_profile);
        CHECK(r.error() == drv::condition::invalid_query);
        CHECK(drv::is_fatal(r.error()));
        CHECK(r.diag().message ==
              "no execution profile named \"analytcs\" in session_config::execution_profiles (defined: fast, strong)");
        auto b = sel.bind(1);
        b.set_execution_profile("nope");
        CHECK((co_await s->execute(b)).error() == drv::errc::unknown_execution_profile);
        drv::batch bt;
        bt.add(drv::statement("INSERT INTO ks.t (k, v) VALUES (1, 1)"));
        bt.set_execution_profile("nope");
        CHECK((co_await s->execute(bt)).error() == drv::errc::unknown_execution_profile);
        for (const auto& e : cluster->activity(0)) {
            INFO(e.query);
            CHECK(e.query.find("ks.t") == std::string::npos);
            CHECK(e.op != proto::opcode::batch);
        }
        // The session goes on; the empty name is no profile at all.
        auto fine = sel.bind(1);
        fine.set_execution_profile("");
        CHECK((co_await s->execute(fine)).ok());
        co_await s->close();
    });
}

TEST_CASE("profiles: a profile's timeout bounds the request; a statement's own timeout wins", "[driver][profiles][timeout]") {
    auto cluster = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await open(ex, profiled_cfg(*cluster));
        co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
        co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
        auto sel = co_await prepare(*s, "SELECT v FROM ks.t WHERE k = ?");
        cluster->set_latency(0, 300ms);

        auto fast = sel.bind(1);
        fast.set_execution_profile("fast");
        auto t0 = std::chrono::steady_clock::now();
        auto r = co_await s->execute(fast);
        CHECK(r.error() == drv::errc::request_timeout);
        CHECK(std::chrono::steady_clock::now() - t0 < 250ms);

        auto patient = sel.bind(1);
        patient.set_execution_profile("fast");
        patient.options().timeout = 5s;
        t0 = std::chrono::steady_clock::now();
        r = co_await s->execute(patient);
        INFO(r.diag().message);
        CHECK(r.ok());
        CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
        // Without the profile: the session's 12 s.
        CHECK((co_await s->execute(sel.bind(1))).ok());
        cluster->set_latency(0, 0ms);
        co_await s->close();
    });
}

TEST_CASE("profiles: idempotence and speculative execution from a profile; the profile holds over retries",
          "[driver][profiles][speculative]") {
    auto cc = nodes(3);
    cc.activity_log_capacity = 200;
    auto cluster = start_cluster(cc);
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = profiled_cfg(*cluster);
        cfg.load_balancing_config.token_aware = false;
        cfg.execution_profiles["hedged"] = {.consistency = consistency::two,
                                            .idempotent = true,
                                            .speculative = drv::speculative_execution_config{3, 20ms}};
        cfg.execution_profiles["retryable"] = {.consistency = consistency::two, .idempotent = true};
        auto s = co_await open(ex, cfg);
        co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}");
        co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
        co_await ok(*s, "INSERT INTO ks.t (k, v) VALUES (1, 10)");
        auto sel = co_await prepare(*s, "SELECT v FROM ks.t WHERE k = ?");
        co_await sleep_for(300ms);  // background work (prepares, schema refresh) done

        // Two slow nodes: the hedged profile answers from the fast one.
        cluster->set_latency(0, 400ms);
        cluster->set_latency(1, 400ms);
        const auto spec_before = s->metrics().speculative_executions;
        for (int i = 0; i < 6; ++i) {
            auto q = sel.bind(1);
            q.set_execution_profile("hedged");
            const auto t0 = std::chrono::steady_clock::now();
            auto r = co_await s->execute(q);
            INFO(r.diag().message);
            REQUIRE(r.ok());
            CHECK(std::chrono::steady_clock::now() - t0 < 300ms);
        }
        CHECK(s->metrics().speculative_executions > spec_before);
        // The same statement without the profile is not speculated (the session has no speculation).
        const auto spec_mid = s->metrics().speculative_executions;
        for (int i = 0; i < 3; ++i) CHECK((co_await s->execute(sel.bind(1))).ok());
        CHECK(s->metrics().speculative_executions == spec_mid);
        for (int i = 0; i < 3; ++i) cluster->set_latency(i, 0ms);

        // Idempotent by its profile: OVERLOADED (a prime answering the first
        // attempt, wherever it goes) moves on to the next host, and the retry
        // carries the statement's consistency over the profile's.
        co_await sleep_for(500ms);  // the speculated stragglers have answered
        cluster->clear_activity();
        sim::prime_rule once;
        once.query = "SELECT v FROM ks.t WHERE k = ?";
        once.then = sim::server_error(proto::server_errc::overloaded, "busy");
        once.times = 1;
        cluster->prime(once);
        auto q = sel.bind(1);
        q.set_execution_profile("retryable");
        q.options().consistency = consistency::one;
        auto r = co_await s->execute(q);
        INFO(r.diag().message);
        CHECK(r.ok());
        CHECK(r.attempts() == 2);
        int seen = 0;
        for (int n = 0; n < 3; ++n)
            for (const auto& e : cluster->activity(n))
                if (e.op == proto::opcode::execute) {
                    ++seen;
                    CHECK(e.consistency == consistency::one);
                }
        CHECK(seen == 2);
        // Not idempotent without the profile: the error comes back as it is.
        cluster->prime(once);
        auto plain = co_await s->execute(sel.bind(1));
        CHECK(plain.error() == proto::server_errc::overloaded);
        CHECK(plain.diag().attempts.size() == 1);
        co_await s->close();
    });
}

TEST_CASE("profiles: a local-DC-only profile never tries the remote DC the session may use", "[driver][profiles][dc]") {
    auto cc = nodes(2);
    cc.topology.datacenters = {{"dc1", 1}, {"dc2", 1}};
    auto cluster = start_cluster(cc);
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = profiled_cfg(*cluster);
        cfg.load_balancing_config.local_dc = "dc1";
        cfg.load_balancing_config.used_hosts_per_remote_dc = 1;
        cfg.execution_profiles["local"] = {.consistency = consistency::one, .local_dc_only = true};
        cfg.execution_profiles["anywhere"] = {.consistency = consistency::one};
        auto s = co_await open(ex, cfg);
        co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}");
        co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
        co_await ok(*s, "INSERT INTO ks.t (k, v) VALUES (1, 10)");
        // The remote pool opens in the background.
        REQUIRE(co_await eventually([&] {
            const auto m = s->metrics();
            return std::all_of(m.hosts.begin(), m.hosts.end(), [](const auto& h) { return h.up && h.pool.connections > 0; }) &&
                   m.hosts.size() == 2;
        }));
        co_await sleep_for(200ms);
        auto remote = [&] { return cluster->counters(1).requests_of(proto::opcode::query); };

        // UNAVAILABLE from the local node: the default policy tries the next
        // host once, which for "anywhere" is dc2's...
        cluster->fail_next(0, 1, sim::fault_error::unavailable);
        auto before = remote();
        auto r = co_await s->execute(drv::statement("SELECT v FROM ks.t WHERE k = 1").set_execution_profile("anywhere"));
        INFO(r.diag().message);
        CHECK(r.ok());
        CHECK(remote() == before + 1);
        // ...and for "local" there is none: the error comes back, dc2 untouched.
        cluster->fail_next(0, 1, sim::fault_error::unavailable);
        before = remote();
        r = co_await s->execute(drv::statement("SELECT v FROM ks.t WHERE k = 1").set_execution_profile("local"));
        CHECK(r.error() == proto::server_errc::unavailable);
        CHECK(remote() == before);
        co_await s->close();
    });
}
