// session::async_connect with every completion token users bring, and the
// cancellation of connect, prepare and close: a cancelled operation completes
// at once with operation_aborted (condition::cancelled) and leaves nothing
// behind (the io_context runs out of work, so run() returns by itself).
#include "transport_test_util.hpp"
#include "session_test_util.hpp"

#include "cqlpp/driver/session.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/use_future.hpp>

#include <atomic>
#include <optional>
#include <thread>

using namespace cqlpp::test;
namespace drv = cqlpp::driver;

namespace {

using clock_type = std::chrono::steady_clock;

drv::session_config cfg_for(const sim::cluster& c) {
    drv::session_config cfg;
    cfg.contact_points = {"127.0.0.1:" + std::to_string(c.topo().node(0).config.port)};
    cfg.connection.connect_timeout = 10s;
    cfg.request_timeout = 10s;
    return cfg;
}

// The session answers a query (it is really connected).
asio::awaitable<bool> works(drv::session& s) {
    auto r = co_await s.execute("SELECT release_version FROM system.local");
    INFO(r.diag().message);
    co_return r.ok() && r.row_count() == 1;
}

std::uint64_t connections_total(const sim::cluster& c) { return c.counters(0).connections_total; }

// Polls pred() from this (plain) thread.
template <class P>
bool wait_until(P pred, std::chrono::milliseconds limit = 10s) {
    const auto deadline = clock_type::now() + limit;
    while (!pred() && clock_type::now() < deadline) std::this_thread::sleep_for(10ms);
    return pred();
}

// Runs io until it runs out of work (at most `limit`); how long that took.
std::chrono::milliseconds run_out(asio::io_context& io, std::chrono::milliseconds limit = 8s) {
    const auto t0 = clock_type::now();
    io.run_for(limit);
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0);
}

}  // namespace

TEST_CASE("async_connect: use_awaitable, as_tuple, deferred, a callback and use_future each connect",
          "[driver][tokens][connect]") {
    auto cluster = start_cluster(nodes(1));
    const auto cfg = cfg_for(*cluster);

    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        // use_awaitable (what session::connect is).
        auto a = co_await drv::session::async_connect(ex, cfg, asio::use_awaitable);
        INFO(a.diag().message);
        REQUIRE(a.ok());
        CHECK(co_await works(*a.value()));
        co_await a.value()->close();

        // as_tuple over use_awaitable.
        auto [t] = co_await drv::session::async_connect(ex, cfg, asio::experimental::as_tuple(asio::use_awaitable));
        REQUIRE(t.ok());
        CHECK(co_await works(*t.value()));
        co_await t.value()->close();

        // deferred: nothing starts (no connection reaches the node) before it is launched.
        const auto before = connections_total(*cluster);
        auto op = drv::session::async_connect(ex, cfg, asio::experimental::deferred);
        co_await sleep_for(100ms);
        CHECK(connections_total(*cluster) == before);
        auto d = co_await std::move(op)(asio::use_awaitable);
        REQUIRE(d.ok());
        CHECK(connections_total(*cluster) > before);
        CHECK(co_await works(*d.value()));
        co_await d.value()->close();
    });

    // A plain callback bound to another io_context's executor: called there,
    // and the operation keeps that io_context busy until then (its run()
    // does not return early for lack of work).
    {
        asio::io_context session_io, handler_io;
        auto session_work = asio::make_work_guard(session_io);
        std::thread session_thread([&] { session_io.run(); });
        std::optional<drv::connect_result> got;
        bool on_handler_io = false;
        drv::session::async_connect(session_io.get_executor(), cfg,
                                    asio::bind_executor(handler_io, [&](drv::connect_result r) {
                                        on_handler_io = handler_io.get_executor().running_in_this_thread();
                                        got = std::move(r);
                                    }));
        handler_io.run_for(10s);
        REQUIRE(got);
        INFO(got->diag().message);
        REQUIRE(got->ok());
        CHECK(on_handler_io);
        auto s = got->value();
        got.reset();
        CHECK(s->async_execute(drv::statement("SELECT release_version FROM system.local"), asio::use_future).get().ok());
        s->async_close(asio::use_future).get();
        s.reset();
        session_work.reset();
        session_thread.join();
    }

    // A plain callback with no executor of its own: called on the session's executor.
    {
        asio::io_context io;
        std::optional<drv::connect_result> got;
        bool on_io = false;
        drv::session::async_connect(io.get_executor(), cfg, [&](drv::connect_result r) {
            on_io = io.get_executor().running_in_this_thread();
            got = std::move(r);
            if (got->ok()) got->value()->async_close([] {});
        });
        io.run_for(10s);
        REQUIRE(got);
        REQUIRE(got->ok());
        CHECK(on_io);
    }

    // use_future from a thread with no executor: the session on threads of its own.
    {
        auto c = cfg;
        c.io_threads = 2;
        auto f = drv::session::async_connect(c, asio::use_future);
        auto r = f.get();
        INFO(r.diag().message);
        REQUIRE(r.ok());
        CHECK(r.value()->shard_count() == 2);
        CHECK(r.value()->async_execute(drv::statement("SELECT release_version FROM system.local"), asio::use_future).get().ok());
        r.value()->async_close(asio::use_future).get();
    }

    // use_future on an executor another thread runs.
    {
        asio::io_context io;
        auto work = asio::make_work_guard(io);
        std::thread t([&] { io.run(); });
        auto r = drv::session::async_connect(io.get_executor(), cfg, asio::use_future).get();
        REQUIRE(r.ok());
        CHECK(r.value()->async_execute(drv::statement("SELECT release_version FROM system.local"), asio::use_future).get().ok());
        r.value()->async_close(asio::use_future).get();
        r = drv::connect_result(asio::error::operation_aborted, {});
        work.reset();
        t.join();
    }

    // A failure through a token: nothing listens there.
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto c = cfg;
        c.contact_points = {"127.0.0.1:1"};
        auto [r] = co_await drv::session::async_connect(ex, c, asio::experimental::as_tuple(asio::use_awaitable));
        CHECK_FALSE(r.ok());
        CHECK(r.error() != drv::condition::cancelled);
    });
}

TEST_CASE("async_connect: cancelling a connect to a node that never answers ends it at once, leaving nothing",
          "[driver][tokens][connect][cancel]") {
    auto cluster = start_cluster(nodes(1));
    cluster->pause_node(0, true);  // accepts TCP, answers nothing (no STARTUP reply)
    REQUIRE(wait_until([&] { return cluster->state(0) == sim::node_state::paused; }));

    auto cancelled_connect = [&](drv::session_config cfg, std::size_t shards) {
        asio::io_context io;
        asio::cancellation_signal signal;
        std::optional<drv::connect_result> got;
        std::vector<asio::any_io_executor> executors(shards, asio::any_io_executor(io.get_executor()));
        drv::session::async_connect(executors, cfg,
                                    asio::bind_cancellation_slot(signal.slot(), [&](drv::connect_result r) { got = std::move(r); }));
        // Cancel once the connect is under way (the node has the socket).
        asio::steady_timer t(io, 300ms);
        clock_type::time_point cancelled_at;
        t.async_wait([&](std::error_code) {
            cancelled_at = clock_type::now();
            signal.emit(asio::cancellation_type::terminal);
        });
        const auto took = run_out(io);
        // run() returned by itself (no socket, timer or thread left) well
        // before the 10 s connect timeout.
        CHECK(io.stopped());
        CHECK(took < 3s);
        REQUIRE(got);
        CHECK(clock_type::now() - cancelled_at < 2s);
        CHECK(got->error() == asio::error::operation_aborted);
        CHECK(got->error() == drv::condition::cancelled);
        CHECK_FALSE(got->value());
    };

    const auto before = connections_total(*cluster);
    SECTION("on the caller's executor") { cancelled_connect(cfg_for(*cluster), 1); }
    SECTION("two shards on the caller's executor") { cancelled_connect(cfg_for(*cluster), 2); }
    SECTION("on threads of its own (io_threads)") {
        auto cfg = cfg_for(*cluster);
        cfg.io_threads = 2;
        cancelled_connect(cfg, 1);
    }
    CHECK(connections_total(*cluster) > before);  // it did reach the node
    // Resumed, the node sees every one of those connections closed.
    cluster->pause_node(0, false);
    CHECK(wait_until([&] { return cluster->counters(0).connections_open == 0; }));
}

TEST_CASE("async_connect: the awaiting coroutine's cancellation cancels the connect", "[driver][tokens][connect][cancel]") {
    auto cluster = start_cluster(nodes(1));
    cluster->pause_node(0, true);
    REQUIRE(wait_until([&] { return cluster->state(0) == sim::node_state::paused; }));
    asio::io_context io;
    asio::cancellation_signal signal;
    std::optional<drv::connect_result> got;
    std::exception_ptr err;
    const auto cfg = cfg_for(*cluster);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            // throw_if_cancelled off: the cancelled connect's answer is seen, not an exception.
            co_await asio::this_coro::throw_if_cancelled(false);
            got = co_await drv::session::connect(io.get_executor(), cfg);
        },
        asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e) { err = e; }));
    asio::steady_timer t(io, 300ms);
    t.async_wait([&](std::error_code) { signal.emit(asio::cancellation_type::terminal); });
    const auto took = run_out(io);
    CHECK(io.stopped());
    CHECK(took < 3s);
    CHECK_FALSE(err);
    REQUIRE(got);
    CHECK(got->error() == drv::condition::cancelled);
    cluster->pause_node(0, false);
}

TEST_CASE("async_prepare: cancelled, it completes at once with cancelled and caches nothing",
          "[driver][tokens][prepare][cancel]") {
    auto cluster = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await open(ex, cfg_for(*cluster));
        co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
        co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v text)");
        co_await ok(*s, "INSERT INTO ks.t (k, v) VALUES (1, 'one')");
        const std::string q = "SELECT v FROM ks.t WHERE k = ?";
        const auto prepares = [&] { return cluster->counters(0).requests_of(cqlpp::protocol::opcode::prepare); };

        cluster->set_latency(0, 1000ms);
        const auto p0 = prepares();
        asio::cancellation_signal signal;
        std::optional<drv::outcome<drv::prepared_statement>> got;
        s->async_prepare(q, asio::bind_cancellation_slot(signal.slot(),
                                                         [&](drv::outcome<drv::prepared_statement> p) { got = std::move(p); }));
        co_await sleep_for(100ms);
        CHECK_FALSE(got);
        const auto t0 = clock_type::now();
        signal.emit(asio::cancellation_type::terminal);
        REQUIRE(co_await eventually([&] { return got.has_value(); }, 5s));
        CHECK(clock_type::now() - t0 < 500ms);
        CHECK(got->error() == asio::error::operation_aborted);
        CHECK(got->error() == drv::condition::cancelled);
        CHECK(prepares() == p0 + 1);  // the PREPARE had gone out

        // The late answer is dropped; nothing was cached: preparing again sends a new PREPARE.
        co_await sleep_for(1100ms);
        cluster->set_latency(0, 0ms);
        auto p = co_await prepare(*s, q);
        CHECK(prepares() == p0 + 2);
        auto r = co_await s->execute(p.bind(1));
        REQUIRE(r.ok());
        CHECK(r.first_row().get<std::string>(0) == "one");

        // A cancellation after the answer changes nothing.
        asio::cancellation_signal late;
        std::optional<drv::outcome<drv::prepared_statement>> got2;
        s->async_prepare("SELECT k FROM ks.t WHERE k = ?",
                         asio::bind_cancellation_slot(late.slot(), [&](drv::outcome<drv::prepared_statement> x) { got2 = std::move(x); }));
        REQUIRE(co_await eventually([&] { return got2.has_value(); }, 5s));
        late.emit(asio::cancellation_type::terminal);
        CHECK(got2->ok());
        co_await s->close();
    });
}

TEST_CASE("async_close: a cancellation turns the graceful close into shutdown-now", "[driver][tokens][close][cancel]") {
    auto cluster = start_cluster(nodes(1));
    asio::io_context io;
    std::optional<drv::result> in_flight;
    bool closed = false;
    clock_type::duration close_took{};
    bool done = false;
    clock_type::time_point done_at;
    auto cfg = cfg_for(*cluster);
    cfg.drain_timeout = 10s;
    asio::cancellation_signal signal;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto s = co_await open(io.get_executor(), cfg);
            co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
            co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v text)");
            cluster->set_latency(0, 3000ms);
            s->async_execute(drv::statement("SELECT v FROM ks.t WHERE k = 1"), [&](drv::result r) { in_flight = std::move(r); });
            co_await sleep_for(100ms);
            const auto t0 = clock_type::now();
            s->async_close(asio::bind_cancellation_slot(signal.slot(), [&] {
                closed = true;
                close_took = clock_type::now() - t0;
            }));
            co_await sleep_for(100ms);
            CHECK_FALSE(closed);  // graceful: waiting for the request in flight
            signal.emit(asio::cancellation_type::terminal);
            REQUIRE(co_await eventually([&] { return closed && in_flight.has_value(); }, 5s));
            CHECK(s->is_closed());
            done = true;
            done_at = clock_type::now();
        },
        [&](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    run_out(io, 15s);
    REQUIRE(done);
    CHECK(close_took < 1s);
    // Nothing (a socket, a timer) was left behind: run() returned at once.
    CHECK(io.stopped());
    CHECK(clock_type::now() - done_at < 1s);
    REQUIRE(in_flight);
    INFO(in_flight->diag().message);
    CHECK(in_flight->error() == drv::errc::session_closed);
    CHECK(in_flight->error() == drv::condition::cancelled);
    CHECK(in_flight->diag().message == "shut down with the request in flight");
    cluster->set_latency(0, 0ms);
}

TEST_CASE("close: a pool's connect in progress to a node that never answers is aborted, not left to time out",
          "[driver][close][cancel]") {
    auto cluster = start_cluster(nodes(2));
    cluster->pause_node(1, true);  // accepts TCP, never answers STARTUP
    REQUIRE(wait_until([&] { return cluster->state(1) == sim::node_state::paused; }));
    auto cfg = cfg_for(*cluster);
    cfg.connection.connect_timeout = 3s;  // the connect waits this long for node 1's pool to settle
    cfg.reconnect.base_delay = 20ms;
    cfg.reconnect.max_delay = 50ms;
    asio::io_context io;
    clock_type::time_point closed_at;
    bool done = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto s = co_await open(io.get_executor(), cfg);
            // Node 1's pool is in its next connect (the first timed out).
            co_await sleep_for(200ms);
            closed_at = clock_type::now();
            co_await s->close();
            done = true;
        },
        [&](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    io.run_for(15s);
    REQUIRE(done);
    // run() ran out of work right after the close, not at node 1's connect timeout.
    CHECK(io.stopped());
    CHECK(clock_type::now() - closed_at < 1s);
    cluster->pause_node(1, false);
    CHECK(wait_until([&] { return cluster->counters(1).connections_open == 0; }));
}
