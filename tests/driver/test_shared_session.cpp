// One session shared by the whole application: the session runs on its own
// io_context thread while application threads, each with its own io_context,
// connect, prepare, execute, page, batch, cancel, read metrics and finally drop
// the last handle. Every answer must be the one its request asked for.
#include "transport_test_util.hpp"
#include "session_test_util.hpp"

#include "cqlpp/driver/session.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

using namespace cqlpp::test;
namespace drv = cqlpp::driver;

namespace {

// An io_context run by its own thread until stopped.
struct io_thread {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::thread t{[this] { io.run(); }};
    ~io_thread() {
        work.reset();
        io.stop();
        t.join();
    }
    // Runs the coroutine f() on this thread's io_context and waits for it here.
    // (Catch2's assertions are not thread-safe: only one thread asserts at a
    // time, here the caller's being blocked meanwhile.)
    template <class F>
    auto run(F f) {
        return asio::co_spawn(io, f(), asio::use_future).get();
    }
};

drv::session_config cfg_for(const sim::cluster& c) {
    drv::session_config cfg;
    cfg.contact_points = {"127.0.0.1:" + std::to_string(c.topo().node(0).config.port)};
    cfg.connection.connect_timeout = 10s;
    cfg.request_timeout = 10s;
    return cfg;
}

}  // namespace

TEST_CASE("shared session: application threads on their own executors share one session", "[driver][threads]") {
    auto cluster = start_cluster(nodes(1));
    io_thread session_thread;
    io_thread app_main;

    // connect() awaited from another executor than the session's.
    std::shared_ptr<drv::session> s = app_main.run([&]() -> asio::awaitable<std::shared_ptr<drv::session>> {
        auto r = co_await drv::session::connect(session_thread.io.get_executor(), cfg_for(*cluster));
        INFO(r.diag().message);
        REQUIRE(r.ok());
        auto& sess = *r.value();
        co_await ok(sess, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
        co_await ok(sess, "CREATE TABLE ks.t (k int PRIMARY KEY, v text)");
        for (int k = 0; k < 100; ++k)
            co_await ok(sess, "INSERT INTO ks.t (k, v) VALUES (" + std::to_string(k) + ", 'v" + std::to_string(k) + "')");
        co_return r.value();
    });
    REQUIRE(s);
    CHECK(s->protocol_version() == cqlpp::protocol::protocol_version::v5);

    constexpr int threads = 4, workers = 16, per_worker = 40;
    // Counted on the application threads, asserted here (Catch2 is not thread-safe).
    std::atomic<int> right{0}, wrong{0}, failed{0}, prepared{0}, batches{0}, streams_whole{0};
    std::atomic<bool> stop_reader{false};
    std::atomic<std::uint64_t> metric_reads{0}, metric_oddities{0};
    // metrics(), is_closed() and metadata() from a plain thread while requests run.
    std::thread reader([&] {
        while (!stop_reader) {
            auto m = s->metrics();
            if (m.errors > m.requests || s->is_closed() || s->metadata()->tokens.hosts().size() != 1) ++metric_oddities;
            ++metric_reads;
            std::this_thread::sleep_for(1ms);
        }
    });
    {
        std::vector<std::unique_ptr<io_thread>> apps;
        for (int t = 0; t < threads; ++t) apps.push_back(std::make_unique<io_thread>());
        std::vector<std::future<void>> done;
        for (int t = 0; t < threads; ++t) {
            auto& io = apps[static_cast<std::size_t>(t)]->io;
            done.push_back(asio::co_spawn(
                io,
                [&, t]() -> asio::awaitable<void> {
                    // The same text prepared by every thread: one cached statement.
                    auto psel = co_await s->prepare("SELECT k, v FROM ks.t WHERE k = ?");
                    auto pins = co_await s->prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)");
                    if (!psel || !pins) co_return;
                    ++prepared;
                    const auto& sel = psel.value();
                    const auto& ins = pins.value();
                    auto ex = co_await asio::this_coro::executor;
                    latch all(ex);
                    all.add(workers);
                    for (int w = 0; w < workers; ++w)
                        asio::co_spawn(
                            ex,
                            [&, w]() -> asio::awaitable<void> {
                                for (int i = 0; i < per_worker; ++i) {
                                    const int k = (t * 31 + w * 7 + i * 13) % 100;
                                    auto r = co_await s->execute(sel.bind(k));
                                    if (!r.ok()) {
                                        ++failed;
                                    } else if (r.row_count() == 1 && r.first_row().get<std::int32_t>(0) == k &&
                                               r.first_row().get<std::string>(1) == "v" + std::to_string(k)) {
                                        ++right;
                                    } else {
                                        ++wrong;
                                    }
                                }
                                all.done();
                            },
                            asio::detached);
                    if (!co_await all.wait(60s)) co_return;

                    // A batch from this thread.
                    drv::batch b(cqlpp::protocol::batch_type::unlogged);
                    for (int i = 0; i < 5; ++i) b.add(ins.bind(1000 + t * 10 + i, std::string("t") + std::to_string(t)));
                    if ((co_await s->execute(b)).ok()) ++batches;

                    // Paging from this thread: the stream lives here, its
                    // requests run on the session's thread.
                    drv::statement all_rows("SELECT k FROM ks.t");
                    all_rows.options().page_size = 7;
                    auto stream = s->stream(all_rows);
                    drv::row_view row;
                    std::size_t seen = 0;
                    while (co_await stream.next(row)) ++seen;
                    if (!stream.error() && seen >= 100) ++streams_whole;
                },
                asio::use_future));
        }
        for (auto& f : done) f.get();
    }
    stop_reader = true;
    reader.join();
    CHECK(metric_reads > 0);
    CHECK(metric_oddities == 0);
    CHECK(prepared == threads);
    CHECK(batches == threads);
    CHECK(streams_whole == threads);
    CHECK(wrong == 0);
    CHECK(failed == 0);
    CHECK(right == threads * workers * per_worker);
    const auto m = s->metrics();
    CHECK(m.requests >= std::uint64_t(threads * workers * per_worker));
    CHECK(m.errors == 0);
    REQUIRE(m.hosts.size() == 1);  // the pools' figures came from the session's thread
    CHECK(m.hosts[0].up);
    CHECK(m.latency.count() == m.requests);

    // Cancellation from another thread: the request ends at once, is counted
    // and leaves nothing in flight (close() does not wait for it).
    cluster->set_latency(0, 300ms);
    io_thread canceller;
    const auto t0 = std::chrono::steady_clock::now();
    const int which = canceller.run([&]() -> asio::awaitable<int> {
        using namespace asio::experimental::awaitable_operators;
        asio::steady_timer timer(co_await asio::this_coro::executor, 50ms);
        auto r = co_await (s->execute("SELECT k FROM ks.t WHERE k = 1") || timer.async_wait(asio::use_awaitable));
        co_return static_cast<int>(r.index());
    });
    const auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(which == 1);  // the timer won
    CHECK(waited < 250ms);
    const auto errors_before_close = m.errors;
    const bool counted = app_main.run([&]() -> asio::awaitable<bool> {
        co_return co_await eventually([&] { return s->metrics().errors == errors_before_close + 1; }, 5s);
    });
    CHECK(counted);
    cluster->set_latency(0, 0ms);

    // The last handle dropped on an application thread: the session shuts
    // down on its own thread and its connections close.
    const auto closed_at_start = cluster->counters(0).connections_open;
    CHECK(closed_at_start > 0);
    io_thread dropper;
    asio::post(dropper.io, [s = std::move(s)]() mutable { s.reset(); });
    const bool gone = app_main.run([&]() -> asio::awaitable<bool> {
        co_return co_await eventually([&] { return cluster->counters(0).connections_open == 0; }, 10s);
    });
    CHECK(gone);
}

TEST_CASE("shared session: close() awaited from another thread drains and closes", "[driver][threads]") {
    auto cluster = start_cluster(nodes(1));
    io_thread session_thread;
    io_thread app;
    app.run([&]() -> asio::awaitable<void> {
        auto r = co_await drv::session::connect(session_thread.io.get_executor(), cfg_for(*cluster));
        REQUIRE(r.ok());
        auto s = r.value();
        auto refreshed = co_await s->refresh_metadata();
        CHECK(refreshed.ok());
        // Requests in flight while close() is awaited from this thread finish first.
        cluster->set_latency(0, 100ms);
        auto ex = co_await asio::this_coro::executor;
        latch all(ex);
        all.add(10);
        int ok_count = 0;
        for (int i = 0; i < 10; ++i)
            asio::co_spawn(
                ex,
                [&]() -> asio::awaitable<void> {
                    auto q = co_await s->execute("SELECT release_version FROM system.local");
                    if (q.ok()) ++ok_count;
                    all.done();
                },
                asio::detached);
        co_await sleep_for(20ms);
        const auto t0 = std::chrono::steady_clock::now();
        co_await s->close();
        CHECK(std::chrono::steady_clock::now() - t0 < 2s);
        CHECK(s->is_closed());
        CHECK(co_await all.wait(5s));
        CHECK(ok_count == 10);
        auto after = co_await s->execute("SELECT release_version FROM system.local");
        CHECK(after.error() == drv::errc::session_closed);
    });
}

namespace {
// Which thread each request started on (the tracker runs on the request's shard).
struct thread_recorder final : drv::request_tracker {
    std::mutex m;
    std::map<std::thread::id, int> starts;
    void on_start(const drv::request_started&) override {
        std::lock_guard l(m);
        ++starts[std::this_thread::get_id()];
    }
};
}  // namespace

TEST_CASE("shards: one session on two I/O threads; a request stays on its thread's shard, others take turns",
          "[driver][threads]") {
    auto cluster = start_cluster(nodes(1));
    io_thread a, b, app;
    auto rec = std::make_shared<thread_recorder>();
    auto cfg = cfg_for(*cluster);
    cfg.tracker = rec;
    std::shared_ptr<drv::session> s = app.run([&]() -> asio::awaitable<std::shared_ptr<drv::session>> {
        std::vector<asio::any_io_executor> executors;  // not a braced temporary in co_await (GCC 12)
        executors.push_back(a.io.get_executor());
        executors.push_back(b.io.get_executor());
        auto r = co_await drv::session::connect(std::move(executors), cfg);
        INFO(r.diag().message);
        REQUIRE(r.ok());
        co_return r.value();
    });
    CHECK(s->shard_count() == 2);
    const auto id_a = a.run([]() -> asio::awaitable<std::thread::id> { co_return std::this_thread::get_id(); });
    const auto id_b = b.run([]() -> asio::awaitable<std::thread::id> { co_return std::this_thread::get_id(); });

    const auto hundred = [&]() -> asio::awaitable<int> {
        int good = 0;
        for (int i = 0; i < 100; ++i)
            if ((co_await s->execute("SELECT release_version FROM system.local")).ok()) ++good;
        co_return good;
    };
    // Issued on shard b's thread: all 100 start there.
    CHECK(b.run(hundred) == 100);
    {
        std::lock_guard l(rec->m);
        CHECK(rec->starts[id_b] == 100);
        CHECK(rec->starts[id_a] == 0);
    }
    // Issued from another thread: the shards share them.
    CHECK(app.run(hundred) == 100);
    {
        std::lock_guard l(rec->m);
        CHECK(rec->starts[id_a] == 50);
        CHECK(rec->starts[id_b] == 150);
        CHECK(rec->starts.size() == 2);
    }
    // A statement prepared on one shard runs on the other.
    auto ps = b.run([&]() -> asio::awaitable<drv::prepared_statement> {
        auto p = co_await s->prepare("SELECT key FROM system.local WHERE key = ?");
        co_return p.value();
    });
    REQUIRE(ps);
    const bool ran_on_a = a.run([&]() -> asio::awaitable<bool> {
        auto r = co_await s->execute(ps.bind(std::string("local")));
        co_return r.ok() && r.row_count() == 1;
    });
    CHECK(ran_on_a);

    // metrics() adds the shards up: both have a connection to the one node.
    const auto m = s->metrics();
    CHECK(m.requests >= 202);
    REQUIRE(m.hosts.size() == 1);
    CHECK(m.hosts[0].pool.connections == 2);
    CHECK(m.connected_nodes == 1);
    app.run([&]() -> asio::awaitable<void> { co_await s->close(); });
    CHECK(s->is_closed());
    for (int i = 0; i < 200 && cluster->counters(0).connections_open > 0; ++i) std::this_thread::sleep_for(10ms);
    CHECK(cluster->counters(0).connections_open == 0);
}
