// session::async_execute with the completion tokens users bring: a plain
// callback, use_future from a thread that is not the session's, deferred,
// as_tuple over use_awaitable, and a bound cancellation slot. The statement
// is owned by the request: each test drops its copy right after starting.
#include "transport_test_util.hpp"
#include "session_test_util.hpp"

#include "cqlpp/driver/session.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/use_future.hpp>

#include <atomic>
#include <optional>
#include <thread>

using namespace cqlpp::test;
namespace drv = cqlpp::driver;

namespace {

drv::session_config cfg_for(const sim::cluster& c) {
    drv::session_config cfg;
    cfg.contact_points = {"127.0.0.1:" + std::to_string(c.topo().node(0).config.port)};
    cfg.connection.connect_timeout = 10s;
    cfg.request_timeout = 5s;
    return cfg;
}

asio::awaitable<drv::prepared_statement> schema(drv::session& s) {
    co_await ok(s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    co_await ok(s, "CREATE TABLE ks.t (k int PRIMARY KEY, v text)");
    for (int k = 0; k < 20; ++k) co_await ok(s, "INSERT INTO ks.t (k, v) VALUES (" + std::to_string(k) + ", 'v" + std::to_string(k) + "')");
    co_return co_await prepare(s, "SELECT v FROM ks.t WHERE k = ?");
}

std::string v_of(const drv::result& r) { return r.ok() && r.row_count() == 1 ? r.first_row().get<std::string>(0) : "?"; }

}  // namespace

TEST_CASE("async_execute: callback, future, deferred, as_tuple, each with the right answer", "[driver][tokens]") {
    auto cluster = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await open(ex, cfg_for(*cluster));
        auto sel = co_await schema(*s);

        // A plain callback: the statement is a temporary gone before the answer.
        std::vector<std::string> got(20);
        latch all(ex);
        all.add(20);
        for (int k = 0; k < 20; ++k)
            s->async_execute(sel.bind(k), [&, k](drv::result r) {
                got[static_cast<std::size_t>(k)] = v_of(r);
                all.done();
            });
        REQUIRE(co_await all.wait(10s));
        for (int k = 0; k < 20; ++k) CHECK(got[static_cast<std::size_t>(k)] == "v" + std::to_string(k));

        // A simple statement and a batch, through a callback too.
        std::optional<drv::result> simple, batch_result;
        latch two(ex);
        two.add(2);
        {
            drv::statement st("SELECT v FROM ks.t WHERE k = 7");
            s->async_execute(st, [&](drv::result r) {
                simple = std::move(r);
                two.done();
            });
            drv::batch b(cqlpp::protocol::batch_type::unlogged);
            b.add(drv::statement("INSERT INTO ks.t (k, v) VALUES (100, 'batch')"));
            s->async_execute(std::move(b), [&](drv::result r) {
                batch_result = std::move(r);
                two.done();
            });
        }  // both statements gone while the requests run
        REQUIRE(co_await two.wait(10s));
        CHECK(v_of(*simple) == "v7");
        CHECK(batch_result->ok());

        // deferred: nothing is sent until the operation is launched.
        const auto before = cluster->counters(0).requests_of(cqlpp::protocol::opcode::execute);
        auto op = s->async_execute(sel.bind(3), asio::experimental::deferred);
        co_await sleep_for(50ms);
        CHECK(cluster->counters(0).requests_of(cqlpp::protocol::opcode::execute) == before);
        auto r3 = co_await std::move(op)(asio::use_awaitable);
        CHECK(v_of(r3) == "v3");

        // as_tuple over use_awaitable.
        auto [r5] = co_await s->async_execute(sel.bind(5), asio::experimental::as_tuple(asio::use_awaitable));
        CHECK(v_of(r5) == "v5");

        // A server error stays an error through every token.
        auto bad = co_await s->async_execute(drv::statement("SELECT nope FROM ks.t"), asio::use_awaitable);
        CHECK_FALSE(bad.ok());
        CHECK(bad.error() == drv::condition::invalid_query);

        // use_future from a thread that is not the session's.
        std::string from_thread;
        std::atomic<bool> answered{false};  // the string is read only after join()
        std::thread t([&] {
            from_thread = v_of(s->async_execute(sel.bind(11), asio::use_future).get());
            answered = true;
        });
        while (!answered) co_await sleep_for(5ms);
        t.join();
        CHECK(from_thread == "v11");
        co_await s->close();
    });
}

TEST_CASE("async_execute: a bound cancellation slot ends the request with cancelled, at once", "[driver][tokens]") {
    auto cluster = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await open(ex, cfg_for(*cluster));
        auto sel = co_await schema(*s);
        cluster->set_latency(0, 500ms);
        asio::cancellation_signal signal;
        std::optional<drv::result> got;
        const auto t0 = std::chrono::steady_clock::now();
        s->async_execute(sel.bind(1), asio::bind_cancellation_slot(signal.slot(), [&](drv::result r) { got = std::move(r); }));
        co_await sleep_for(30ms);
        CHECK_FALSE(got);
        signal.emit(asio::cancellation_type::terminal);
        const bool ended = co_await eventually([&] { return got.has_value(); }, 2s);
        REQUIRE(ended);
        CHECK(std::chrono::steady_clock::now() - t0 < 400ms);
        CHECK(got->error() == drv::condition::cancelled);
        cluster->set_latency(0, 0ms);
        // Nothing is left in flight: close() does not wait for the cancelled request.
        const auto c0 = std::chrono::steady_clock::now();
        co_await s->close();
        CHECK(std::chrono::steady_clock::now() - c0 < 1s);
        CHECK(s->metrics().errors >= 1);
    });
}

TEST_CASE("async_prepare and async_close with a callback, a future and deferred", "[driver][tokens]") {
    auto cluster = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await open(ex, cfg_for(*cluster));
        co_await schema(*s);
        std::optional<drv::outcome<drv::prepared_statement>> got;
        s->async_prepare("SELECT v FROM ks.t WHERE k = ?", [&](drv::outcome<drv::prepared_statement> p) { got = std::move(p); });
        REQUIRE(co_await eventually([&] { return got.has_value(); }, 5s));
        REQUIRE(got->ok());
        auto r = co_await s->execute(got->value().bind(4));
        CHECK(v_of(r) == "v4");

        // A server error arrives as the outcome's error, through a future on another thread.
        std::optional<drv::outcome<drv::prepared_statement>> bad;
        std::atomic<bool> answered{false};  // `bad` is read only after join()
        std::thread t([&] {
            bad = s->async_prepare("SELEKT nothing", asio::use_future).get();
            answered = true;
        });
        while (!answered) co_await sleep_for(5ms);
        t.join();
        CHECK(bad->error() == drv::condition::invalid_query);
        CHECK_FALSE(bad->diag().message.empty());

        auto later = s->async_prepare("SELECT v FROM ks.t WHERE k = 9", asio::experimental::deferred);
        auto p9 = co_await std::move(later)(asio::use_awaitable);
        CHECK(v_of(co_await s->execute(p9.value().bind())) == "v9");

        bool closed = false;
        s->async_close([&] { closed = true; });
        REQUIRE(co_await eventually([&] { return closed; }, 5s));
        CHECK(s->is_closed());
    });
}
