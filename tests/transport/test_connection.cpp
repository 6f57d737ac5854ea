// One connection against the simulated cluster over real loopback sockets:
// version negotiation, compression, TLS, auth, multiplexing, coalescing,
// timeouts and orphans, events, faults, heartbeats, graceful close.
#include "transport_test_util.hpp"
#include "tls_cert.hpp"

#include "cqlpp/transport/pending_request.hpp"

#include <asio/experimental/awaitable_operators.hpp>

#include <map>

using namespace cqlpp::test;

namespace {

asio::awaitable<std::shared_ptr<tr::connection>> must_connect(asio::any_io_executor ex, tr::connection_config cfg) {
    auto r = co_await tr::connection::async_connect(ex, std::move(cfg));
    INFO("connect: " << r.ec.message());
    REQUIRE_FALSE(r.ec);
    REQUIRE(r.conn);
    co_return r.conn;
}

asio::awaitable<void> check_local(tr::connection& c) {
    auto r = co_await run(c, query("SELECT release_version FROM system.local WHERE key = 'local'"));
    INFO(r.ec.message());
    auto* rows = rows_of(r);
    REQUIRE(rows);
    REQUIRE(rows->size() == 1);
    CHECK(text(rows->cell(0, 0)) == "5.0.2");
}

asio::awaitable<void> create_kv(tr::connection& c, const std::string& table) {
    auto r1 = co_await run(c, query("CREATE KEYSPACE IF NOT EXISTS tks WITH replication = {'class': 'SimpleStrategy', "
                                   "'replication_factor': 1}"));
    REQUIRE_FALSE(r1.ec);
    auto r2 = co_await run(c, query("CREATE TABLE IF NOT EXISTS tks." + table + " (k int PRIMARY KEY, v text)"));
    INFO((r2.response && r2.response->server_error() ? r2.response->server_error()->message : r2.ec.message()));
    REQUIRE_FALSE(r2.ec);
}

std::string insert_stmt(const std::string& table, int k) {
    return "INSERT INTO tks." + table + " (k, v) VALUES (" + std::to_string(k) + ", 'value-" + std::to_string(k) + "')";
}
std::string select_stmt(const std::string& table, int k) {
    return "SELECT v FROM tks." + table + " WHERE k = " + std::to_string(k);
}

}  // namespace

TEST_CASE("connect v5 plain and LZ4, query", "[transport][connection]") {
    auto c = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        for (bool lz4 : {false, true}) {
            auto cfg = conn_cfg(*c);
            cfg.lz4 = lz4;
            auto conn = co_await must_connect(ex, cfg);
            CHECK(conn->version() == proto::protocol_version::v5);
            CHECK(conn->compression() == lz4);
            co_await check_local(*conn);
            co_await check_local(*conn);
            CHECK(conn->metrics().responses == 2);
            conn->close();
            CHECK(conn->close_reason() == tr::errc::connection_closed);
            auto after = co_await run(*conn, query("SELECT key FROM system.local"));
            CHECK(after.ec == tr::errc::connection_closed);
        }
    });
    CHECK(c->counters(0).requests_of(proto::opcode::startup) == 2);
}

TEST_CASE("lz4 is not used when the server does not offer it", "[transport][connection]") {
    auto cfg = nodes(1);
    cfg.allow_lz4 = false;
    auto c = start_cluster(cfg);
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto ccfg = conn_cfg(*c);
        ccfg.lz4 = true;
        auto conn = co_await must_connect(ex, ccfg);
        CHECK_FALSE(conn->compression());
        co_await check_local(*conn);
        conn->close();
    });
}

TEST_CASE("v4-only server: falls back to v4 on a new connection, plain and LZ4 bodies", "[transport][connection]") {
    auto cfg = nodes(1);
    cfg.v4_only = true;
    auto c = start_cluster(cfg);
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        for (bool lz4 : {false, true}) {
            auto ccfg = conn_cfg(*c);
            ccfg.lz4 = lz4;
            auto conn = co_await must_connect(ex, ccfg);
            CHECK(conn->version() == proto::protocol_version::v4);
            CHECK(conn->compression() == lz4);
            co_await check_local(*conn);
            conn->close();
        }
        // Without fallback the refusal is reported as such.
        auto ccfg = conn_cfg(*c);
        ccfg.allow_version_fallback = false;
        auto r = co_await tr::connection::async_connect(ex, ccfg);
        CHECK(r.ec == tr::errc::unsupported_version);
        REQUIRE(r.server_error);
        CHECK(r.server_error->message.find("Invalid or unsupported protocol version (5)") == 0);
    });
    CHECK(c->counters(0).connections_total == 5);  // 2 x (v5 refused + v4) + 1 refused
}

TEST_CASE("TLS with hostname verification; wrong name or untrusted CA fail", "[transport][connection][tls]") {
    tls_files files;
    tls_files other;  // a different self-signed CA
    auto cfg = nodes(1);
    cfg.tls = sim::tls_config{files.cert, files.key};
    auto c = start_cluster(cfg);
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto ok = conn_cfg(*c);
        ok.tls = tr::tls_config{files.cert, "", "", true, ""};
        ok.lz4 = true;
        auto conn = co_await must_connect(ex, ok);
        co_await check_local(*conn);
        conn->close();

        auto by_name = ok;
        by_name.tls->server_name = "localhost";  // in the SAN
        conn = co_await must_connect(ex, by_name);
        conn->close();

        auto wrong = ok;
        wrong.tls->server_name = "wrong.example.com";
        auto r = co_await tr::connection::async_connect(ex, wrong);
        CHECK(r.ec == tr::errc::tls_error);

        auto unverified = wrong;  // hostname verification can be turned off explicitly
        unverified.tls->verify_hostname = false;
        r = co_await tr::connection::async_connect(ex, unverified);
        CHECK_FALSE(r.ec);
        if (r.conn) r.conn->close();

        auto untrusted = ok;
        untrusted.tls->ca_file = other.cert;
        r = co_await tr::connection::async_connect(ex, untrusted);
        CHECK(r.ec == tr::errc::tls_error);
    });
}

TEST_CASE("PLAIN authentication: good and bad credentials", "[transport][connection][auth]") {
    auto cfg = nodes(1);
    cfg.users = {{"cassandra", "cassandra"}};
    auto c = start_cluster(cfg);
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        for (bool lz4 : {false, true}) {
            auto good = conn_cfg(*c);
            good.lz4 = lz4;
            good.auth = tr::credentials{"cassandra", "cassandra"};
            auto conn = co_await must_connect(ex, good);
            co_await check_local(*conn);
            conn->close();
        }
        auto bad = conn_cfg(*c);
        bad.auth = tr::credentials{"cassandra", "nope"};
        auto r = co_await tr::connection::async_connect(ex, bad);
        CHECK(r.ec == tr::errc::auth_failed);
        REQUIRE(r.server_error);
        CHECK(r.server_error->code == proto::server_errc::auth_error);
        auto none = conn_cfg(*c);
        r = co_await tr::connection::async_connect(ex, none);
        CHECK(r.ec == tr::errc::auth_failed);
    });
}

TEST_CASE("connect failures: refused port and connect timeout", "[transport][connection]") {
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        tr::connection_config cfg;
        cfg.port = next_transport_port();  // nothing listens there
        auto r = co_await tr::connection::async_connect(ex, cfg);
        CHECK(r.ec == tr::errc::connect_failed);
    });
    // A paused node accepts but never answers: the handshake hits the deadline.
    auto c = start_cluster(nodes(1));
    c->pause_node(0, true);
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = conn_cfg(*c);
        cfg.connect_timeout = 300ms;
        cfg.allow_version_fallback = false;
        auto r = co_await tr::connection::async_connect(ex, cfg);
        CHECK(r.ec == tr::errc::connect_timeout);
    });
}

TEST_CASE("10,000 concurrent queries on one connection each get their own response, coalesced",
          "[transport][connection][multiplexing]") {
    auto c = start_cluster(nodes(1));
    constexpr int n = 10000;
    for (bool lz4 : {false, true}) {
        run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
            auto cfg = conn_cfg(*c);
            cfg.lz4 = lz4;
            auto conn = co_await must_connect(ex, cfg);
            const std::string table = lz4 ? "kv_lz4" : "kv_plain";
            co_await create_kv(*conn, table);
            auto before = c->counters(0).requests;
            auto m0 = conn->metrics();

            int failures = 0, wrong = 0;
            latch inserts(ex);
            inserts.add(n);
            for (int k = 0; k < n; ++k) {
                asio::co_spawn(ex, [&, k]() -> asio::awaitable<void> {
                    auto r = co_await run(*conn, query(insert_stmt(table, k)), 60s);
                    if (r.ec) ++failures;
                    inserts.done();
                }, asio::detached);
            }
            REQUIRE(co_await inserts.wait());
            REQUIRE(failures == 0);

            latch reads(ex);
            reads.add(n);
            for (int k = 0; k < n; ++k) {
                asio::co_spawn(ex, [&, k]() -> asio::awaitable<void> {
                    auto r = co_await run(*conn, query(select_stmt(table, k)), 60s);
                    auto* rows = rows_of(r);
                    if (!rows) ++failures;
                    else if (rows->size() != 1 || text(rows->cell(0, 0)) != "value-" + std::to_string(k)) ++wrong;
                    reads.done();
                }, asio::detached);
            }
            REQUIRE(co_await reads.wait());
            CHECK(failures == 0);
            CHECK(wrong == 0);

            auto m = conn->metrics();
            const auto sent = m.requests_sent - m0.requests_sent;
            const auto writes = m.write_syscalls - m0.write_syscalls;
            CHECK(sent == 2 * n);
            CHECK(c->counters(0).requests - before >= 2 * n);
            // Coalescing: far fewer write calls than requests.
            CHECK(writes * 10 < sent);
            CHECK(m.in_flight == 0);
            CHECK(m.orphaned == 0);
            WARN("lz4=" << lz4 << ": " << sent << " requests in " << writes << " writes");
            conn->close();
        });
    }
}

TEST_CASE("timeouts orphan their ids; late responses never reach a later request",
          "[transport][connection][orphans]") {
    auto c = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = conn_cfg(*c);
        cfg.max_streams = 64;  // small, so ids must be reused soon
        auto conn = co_await must_connect(ex, cfg);
        co_await create_kv(*conn, "kv_orphans");
        for (int k = 0; k < 200; ++k) REQUIRE_FALSE((co_await run(*conn, query(insert_stmt("kv_orphans", k)))).ec);

        // Slow server, short deadline: 40 requests time out and leave orphans.
        c->set_latency(0, 400ms);
        latch slow(ex);
        slow.add(40);
        int timeouts = 0;
        for (int k = 0; k < 40; ++k) {
            asio::co_spawn(ex, [&, k]() -> asio::awaitable<void> {
                auto r = co_await run(*conn, query(select_stmt("kv_orphans", k)), 50ms);
                if (r.ec == tr::errc::timeout) ++timeouts;
                slow.done();
            }, asio::detached);
        }
        REQUIRE(co_await slow.wait());
        CHECK(timeouts == 40);
        CHECK(conn->metrics().orphaned == 40);
        CHECK(conn->is_open());

        // Fast again: new requests for OTHER keys run while the late responses
        // arrive; only 24 ids are free, so ids are reused as orphans clear.
        c->set_latency(0, 0ms);
        latch fast(ex);
        fast.add(160);
        int wrong = 0, failed = 0;
        for (int k = 40; k < 200; ++k) {
            asio::co_spawn(ex, [&, k]() -> asio::awaitable<void> {
                auto r = co_await run(*conn, query(select_stmt("kv_orphans", k)), 20s);
                auto* rows = rows_of(r);
                if (!rows) ++failed;
                else if (rows->size() != 1 || text(rows->cell(0, 0)) != "value-" + std::to_string(k)) ++wrong;
                fast.done();
            }, asio::detached);
        }
        REQUIRE(co_await fast.wait());
        CHECK(wrong == 0);
        CHECK(failed == 0);
        CHECK(co_await eventually([&] { return conn->metrics().orphaned == 0; }));
        CHECK(conn->is_open());
        conn->close();
    });
}

TEST_CASE("cancellation orphans a written request; too many orphans replace the connection",
          "[transport][connection][orphans]") {
    using namespace asio::experimental::awaitable_operators;
    auto c = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = conn_cfg(*c);
        cfg.max_orphans = 5;
        auto conn = co_await must_connect(ex, cfg);
        c->set_latency(0, 300ms);

        // Cancelled by a racing timer (terminal cancellation via operator||).
        auto env = conn->encode(query("SELECT key FROM system.local"));
        asio::steady_timer t(ex, 30ms);
        auto res = co_await (conn->async_request(env, 10s) || t.async_wait(use_tuple));
        CHECK(res.index() == 1);  // the timer won
        CHECK(conn->metrics().orphaned == 1);
        CHECK(conn->in_flight() == 0);

        // Five more timeouts: 6 orphans > 5.
        // Shared state, not a frame local captured by reference: GCC 12 may
        // keep such locals off the coroutine frame.
        auto reason = std::make_shared<std::error_code>();
        conn->on_close([reason](std::error_code ec) { *reason = ec; });
        latch l(ex);
        l.add(5);
        for (int i = 0; i < 5; ++i) {
            asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
                co_await run(*conn, query("SELECT key FROM system.local"), 20ms);
                l.done();
            }, asio::detached);
        }
        REQUIRE(co_await l.wait());
        CHECK_FALSE(conn->is_open());
        CHECK(conn->close_reason() == tr::errc::too_many_orphans);
        CHECK(*reason == tr::errc::too_many_orphans);
    });
}

TEST_CASE("server ERROR surfaces as server_errc plus the decoded error_response", "[transport][connection]") {
    auto c = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto conn = co_await must_connect(ex, conn_cfg(*c));
        c->fail_next(0, 1, sim::fault_error::unavailable);
        auto r = co_await run(*conn, query("SELECT key FROM system.local"));
        CHECK(r.ec == proto::server_errc::unavailable);
        REQUIRE(r.response);
        REQUIRE(r.response->server_error());
        CHECK(std::holds_alternative<proto::unavailable_info>(r.response->server_error()->details));
        auto syntax = co_await run(*conn, query("SELEKT nothing"));
        CHECK(syntax.ec == proto::server_errc::syntax_error);
        co_await check_local(*conn);  // the connection is fine
        conn->close();
    });
}

TEST_CASE("events: STATUS_CHANGE delivered to listeners when a node stops", "[transport][connection][events]") {
    auto c = start_cluster(nodes(2));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto conn = co_await must_connect(ex, conn_cfg(*c, 0));
        std::vector<proto::status_change_event> seen;
        conn->on_event([&](const proto::event_response& e) {
            if (auto* s = std::get_if<proto::status_change_event>(&e.value)) seen.push_back(*s);
        });
        // (GCC 12 miscompiles braced lists inside co_await expressions.)
        std::vector<proto::event_type> types{proto::event_type::status_change};
        REQUIRE_FALSE(co_await conn->async_register(std::move(types)));
        c->stop_node(1);
        REQUIRE(co_await eventually([&] { return !seen.empty(); }));
        CHECK(seen[0].change == proto::status_change_type::down);
        CHECK(seen[0].node.port == c->topo().node(1).config.port);
        c->start_node(1);
        REQUIRE(co_await eventually([&] { return seen.size() >= 2; }));
        CHECK(seen[1].change == proto::status_change_type::up);
        CHECK(conn->metrics().events >= 2);
        conn->close();
    });
}

TEST_CASE("node stop fails pending requests with connection_closed", "[transport][connection][faults]") {
    auto c = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto conn = co_await must_connect(ex, conn_cfg(*c));
        c->set_latency(0, 2000ms);
        latch l(ex);
        l.add(20);
        int closed = 0;
        for (int i = 0; i < 20; ++i) {
            asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
                auto r = co_await run(*conn, query("SELECT key FROM system.local"), 30s);
                if (r.ec == tr::errc::connection_closed) ++closed;
                l.done();
            }, asio::detached);
        }
        co_await sleep_for(100ms);
        c->stop_node(0);
        REQUIRE(co_await l.wait());
        CHECK(closed == 20);
        CHECK(conn->close_reason() == tr::errc::connection_closed);
        CHECK(conn->in_flight() == 0);
    });
}

TEST_CASE("corrupt CRC and cut responses make only that connection defunct", "[transport][connection][faults]") {
    auto c = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto victim = co_await must_connect(ex, conn_cfg(*c));
        auto bystander = co_await must_connect(ex, conn_cfg(*c));
        c->corrupt_crc(0, 1);
        auto r = co_await run(*victim, query("SELECT key FROM system.local"));
        CHECK(r.ec == tr::errc::framing_error);
        CHECK(victim->close_reason() == tr::errc::framing_error);
        CHECK(victim->close_detail().find("bad_payload_crc") != std::string::npos);
        co_await check_local(*bystander);

        auto victim2 = co_await must_connect(ex, conn_cfg(*c));
        c->close_mid_response(0, 1);
        r = co_await run(*victim2, query("SELECT key FROM system.local"));
        CHECK(r.ec == tr::errc::connection_closed);
        CHECK_FALSE(victim2->is_open());
        co_await check_local(*bystander);
        bystander->close();
    });
}

TEST_CASE("heartbeats keep an idle connection alive and detect a paused node", "[transport][connection][heartbeat]") {
    auto c = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = conn_cfg(*c);
        cfg.heartbeat_interval = 100ms;
        cfg.heartbeat_timeout = 500ms;
        auto conn = co_await must_connect(ex, cfg);
        auto opts0 = c->counters(0).requests_of(proto::opcode::options);
        REQUIRE(co_await eventually([&] { return conn->metrics().heartbeats >= 3; }));
        CHECK(conn->is_open());
        CHECK(c->counters(0).requests_of(proto::opcode::options) > opts0);
        c->pause_node(0, true);
        REQUIRE(co_await eventually([&] { return !conn->is_open(); }));
        CHECK(conn->close_reason() == tr::errc::heartbeat_timeout);
        c->pause_node(0, false);
    });
}

TEST_CASE("graceful close drains in-flight requests", "[transport][connection]") {
    auto c = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto conn = co_await must_connect(ex, conn_cfg(*c));
        c->set_latency(0, 200ms);
        latch l(ex);
        l.add(10);
        int ok = 0;
        for (int i = 0; i < 10; ++i) {
            asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
                auto r = co_await run(*conn, query("SELECT key FROM system.local"));
                if (!r.ec) ++ok;
                l.done();
            }, asio::detached);
        }
        co_await sleep_for(20ms);
        co_await conn->async_close(10s);
        CHECK(ok == 10);
        CHECK_FALSE(conn->is_open());
        REQUIRE(co_await l.wait());
        auto late = co_await run(*conn, query("SELECT key FROM system.local"));
        CHECK(late.ec == tr::errc::connection_closed);
    });
}

TEST_CASE("per-request client state stays small", "[transport][connection]") {
    // Lives in the awaiting coroutine frame; the frame itself is recycled by Asio.
    CHECK(sizeof(tr::pending_request) < 256);
}

namespace {
// A callback request as the driver embeds it: the envelope lives next to it.
struct cb_request : tr::pending_request {
    proto::byte_buffer env;
    int completions = 0;
    std::function<void(cb_request&)> then;
    static void done(tr::pending_request& p) {
        auto& self = static_cast<cb_request&>(p);
        ++self.completions;
        if (self.then) self.then(self);
    }
};
}  // namespace

TEST_CASE("submit: callback requests complete once, expire by deadline, abandon orphans", "[transport][connection]") {
    auto c = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto conn = co_await must_connect(ex, conn_cfg(*c));
        using clk = std::chrono::steady_clock;
        auto prepare = [&](cb_request& r, clk::time_point deadline) {
            r.env = conn->encode(query("SELECT key FROM system.local"));
            r.envelope = std::span<std::uint8_t>(r.env.data(), r.env.size());
            r.deadline = deadline;
            r.on_complete = &cb_request::done;
        };

        // Answers: each completes exactly once, inline from the reader, with its own response.
        std::vector<cb_request> reqs(100);
        for (auto& r : reqs) {
            prepare(r, clk::now() + 5s);
            REQUIRE_FALSE(conn->submit(r));
        }
        REQUIRE(co_await eventually([&] {
            return std::all_of(reqs.begin(), reqs.end(), [](auto& r) { return r.completions == 1; });
        }));
        for (auto& r : reqs) {
            CHECK_FALSE(r.ec);
            CHECK(rows_of(tr::request_result{r.ec, r.response}) != nullptr);
        }
        CHECK(conn->in_flight() == 0);

        // A completion may submit the next request (a chain of 50, all on the reader's stack in turn).
        cb_request chain;
        int links = 0;
        prepare(chain, clk::now() + 5s);
        chain.then = [&](cb_request& r) {
            REQUIRE_FALSE(r.ec);
            if (++links < 50) REQUIRE_FALSE(conn->submit(r));
        };
        REQUIRE_FALSE(conn->submit(chain));
        REQUIRE(co_await eventually([&] { return links == 50; }));
        CHECK(chain.completions == 50);

        // Deadlines: a slow node; an earlier deadline than any pending one re-arms the sweep.
        c->set_latency(0, 300ms);
        cb_request slow_long, quick[10];
        prepare(slow_long, clk::now() + 10s);
        REQUIRE_FALSE(conn->submit(slow_long));
        const auto t0 = clk::now();
        for (auto& r : quick) {
            prepare(r, clk::now() + 50ms);
            REQUIRE_FALSE(conn->submit(r));
        }
        REQUIRE(co_await eventually([&] {
            return std::all_of(std::begin(quick), std::end(quick), [](auto& r) { return r.completions == 1; });
        }));
        CHECK(clk::now() - t0 < 250ms);
        for (auto& r : quick) CHECK(r.ec == tr::errc::timeout);
        CHECK(conn->metrics().timeouts == 10);
        CHECK(conn->metrics().orphaned == 10);

        // Abandon: never completes; its id is orphaned until the late answer.
        cb_request gone;
        prepare(gone, clk::time_point::max());
        REQUIRE_FALSE(conn->submit(gone));
        co_await sleep_for(20ms);  // written by now
        conn->abandon(gone);
        CHECK(conn->metrics().cancellations == 1);
        REQUIRE(co_await eventually([&] { return slow_long.completions == 1; }));
        CHECK_FALSE(slow_long.ec);
        REQUIRE(co_await eventually([&] { return conn->metrics().orphaned == 0; }));
        CHECK(gone.completions == 0);
        for (auto& r : quick) CHECK(r.completions == 1);  // late answers went nowhere
        c->set_latency(0, 0ms);

        // Closing completes what is pending with the reason, once; submit then refuses.
        c->set_latency(0, 300ms);
        cb_request pending;
        prepare(pending, clk::now() + 10s);
        REQUIRE_FALSE(conn->submit(pending));
        conn->close();
        CHECK(pending.completions == 1);
        CHECK(pending.ec == tr::errc::connection_closed);
        cb_request after;
        prepare(after, clk::now() + 10s);
        CHECK(conn->submit(after) == tr::errc::connection_closed);
        CHECK(after.completions == 0);
        c->set_latency(0, 0ms);
    });
}
