// One session for the whole application: the session runs on 2 I/O threads,
// either as two shards (session::connect with one executor per I/O thread,
// the default), on two threads of its own (session_config::io_threads,
// "io_threads") or on a strand over one io_context both threads run
// ("strand"); several application threads, each with its own event loop,
// share it: they prepare, write tagged
// values, read them back, page, cancel requests and read metrics at the same
// time, while another thread refreshes the metadata and creates tables (schema
// events, snapshots shared by the shards); finally the last handle is dropped
// on an application thread. CI runs it under ThreadSanitizer
// (scripts/test.sh), where any data race fails it.
//
//   shared_session 127.0.0.1:9042 [app_threads] [requests_per_thread] [shards|strand|io_threads]
//
// Exits non-zero if any answer is not the one its request asked for, or any
// request fails.
#include "cqlpp/driver/session.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace drv = cqlpp::driver;
using namespace std::chrono_literals;

namespace {

struct tally {
    std::atomic<long> right{0}, wrong{0}, failed{0}, cancelled{0}, pages{0};
};

// One application thread's work: writers then readers over its own keys,
// one page scan, and requests it gives up on after 1 ms.
asio::awaitable<void> app_work(std::shared_ptr<drv::session> s, int thread, int requests, tally& t) {
    auto ins = co_await s->prepare("INSERT INTO shared.kv (k, v) VALUES (?, ?)");
    auto sel = co_await s->prepare("SELECT v FROM shared.kv WHERE k = ?");
    if (!ins || !sel) {
        ++t.failed;
        co_return;
    }
    auto ex = co_await asio::this_coro::executor;
    constexpr int in_flight = 16;
    std::atomic<int> left{in_flight};
    asio::steady_timer all_done(ex, std::chrono::steady_clock::time_point::max());
    for (int w = 0; w < in_flight; ++w)
        asio::co_spawn(
            ex,
            [&, w]() -> asio::awaitable<void> {
                for (int i = w; i < requests; i += in_flight) {
                    const int k = thread * 1'000'000 + i;
                    const std::string v = "t" + std::to_string(thread) + "-" + std::to_string(i);
                    auto wr = co_await s->execute(ins.value().bind(k, v));
                    if (!wr) {
                        ++t.failed;
                        std::fprintf(stderr, "write %d: %s\n", k, wr.diag().message.c_str());
                        continue;
                    }
                    auto rd = co_await s->execute(sel.value().bind(k));
                    if (!rd) ++t.failed;
                    else if (rd.row_count() == 1 && rd.first_row().get<std::string>(0) == v) ++t.right;
                    else ++t.wrong;
                }
                if (--left == 0) all_done.cancel();
            },
            asio::detached);
    co_await all_done.async_wait(asio::experimental::as_tuple(asio::use_awaitable));

    drv::statement scan("SELECT k FROM shared.kv");
    scan.options().page_size = 100;
    auto stream = s->stream(scan);
    while (!stream.done()) {
        auto page = co_await stream.next_page();
        if (!page) {
            ++t.failed;
            break;
        }
        ++t.pages;
    }

    // Cancelled from this thread while the session's threads run them.
    using namespace asio::experimental::awaitable_operators;
    for (int i = 0; i < 20; ++i) {
        asio::steady_timer give_up(ex, std::chrono::microseconds(200 + 50 * i));
        auto r = co_await (s->execute(sel.value().bind(thread * 1'000'000)) || give_up.async_wait(asio::use_awaitable));
        if (r.index() == 1) ++t.cancelled;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: shared_session HOST:PORT [app_threads] [requests_per_thread] [shards|strand|io_threads]\n");
        return 2;
    }
    const int app_threads = argc > 2 ? std::atoi(argv[2]) : 4;
    const int requests = argc > 3 ? std::atoi(argv[3]) : 2000;
    const std::string mode = argc > 4 ? argv[4] : "shards";
    if (app_threads < 1 || app_threads > 64 || requests < 1 || requests > 1'000'000 ||
        (mode != "shards" && mode != "strand" && mode != "io_threads")) {
        std::fprintf(stderr,
                     "shared_session: app_threads must be 1..64, requests 1..1000000, mode shards, strand or io_threads\n");
        return 2;
    }

    // Two I/O threads: each runs its own io_context (a shard each), or both
    // run the first one, whose strand is then the session's executor.
    asio::io_context ios[2];
    auto guard0 = asio::make_work_guard(ios[0]);
    auto guard1 = asio::make_work_guard(ios[1]);
    std::vector<std::thread> io_threads;
    for (int i = 0; i < 2; ++i) {
        auto& io = mode == "shards" ? ios[i] : ios[0];
        io_threads.emplace_back([&io] { io.run(); });
    }
    std::vector<asio::any_io_executor> session_executors;
    if (mode == "shards") {
        session_executors.push_back(ios[0].get_executor());
        session_executors.push_back(ios[1].get_executor());
    } else {
        session_executors.push_back(asio::make_strand(ios[0]));
    }

    // Connected from an application loop, not the session's.
    asio::io_context setup;
    drv::session_config cfg;
    cfg.contact_points = {argv[1]};
    cfg.request_timeout = 10s;
    if (mode == "io_threads") cfg.io_threads = 2;  // the executors below then go unused
    auto connecting = asio::co_spawn(
        setup,
        [&]() -> asio::awaitable<std::shared_ptr<drv::session>> {
            auto [ec, s, diag] = co_await drv::session::connect(session_executors, cfg);
            if (ec) {
                std::fprintf(stderr, "shared_session: connect: %s\n", diag.message.c_str());
                co_return nullptr;
            }
            for (const char* ddl : {"CREATE KEYSPACE IF NOT EXISTS shared WITH replication = "
                                    "{'class': 'SimpleStrategy', 'replication_factor': 1}",
                                    "CREATE TABLE IF NOT EXISTS shared.kv (k int PRIMARY KEY, v text)"}) {
                if (auto r = co_await s->execute(ddl); !r) {
                    std::fprintf(stderr, "shared_session: %s\n", r.diag().message.c_str());
                    co_return nullptr;
                }
            }
            co_return s;
        },
        asio::use_future);
    setup.run();
    auto s = connecting.get();
    if (!s) return 1;

    tally t;
    std::atomic<bool> stop_metrics{false};
    std::thread metrics_reader([&] {
        while (!stop_metrics) {
            auto m = s->metrics();
            if (m.errors > m.requests || s->is_closed()) ++t.wrong;
            std::this_thread::sleep_for(2ms);
        }
    });
    // Schema changes and refreshes meanwhile: every shard adopts the snapshots.
    std::thread schema_changer([&] {
        asio::io_context loop;
        asio::co_spawn(
            loop,
            [&]() -> asio::awaitable<void> {
                for (int i = 0; i < 5; ++i) {
                    auto refreshed = co_await s->refresh_metadata();
                    if (refreshed.error()) ++t.failed;
                    const std::string ddl =
                        "CREATE TABLE IF NOT EXISTS shared.extra" + std::to_string(i) + " (k int PRIMARY KEY, v int)";
                    auto created = co_await s->execute(ddl);
                    if (!created) ++t.failed;
                    asio::steady_timer pause(loop, 20ms);
                    co_await pause.async_wait(asio::use_awaitable);
                }
                if (!s->metadata()->table("shared", "extra4")) ++t.wrong;
            },
            asio::detached);
        loop.run();
    });
    const auto t0 = std::chrono::steady_clock::now();
    {
        std::vector<std::thread> apps;
        for (int a = 0; a < app_threads; ++a)
            apps.emplace_back([&, a] {
                asio::io_context loop;
                asio::co_spawn(loop, app_work(s, a, requests, t), asio::detached);
                loop.run();
            });
        for (auto& a : apps) a.join();
    }
    schema_changer.join();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stop_metrics = true;
    metrics_reader.join();
    const auto m = s->metrics();

    // The last handle, dropped on an application thread: the session shuts
    // down on its own executor.
    std::thread([s = std::move(s)]() mutable { s.reset(); }).join();
    std::this_thread::sleep_for(100ms);
    guard0.reset();
    guard1.reset();
    for (auto& th : io_threads) th.join();

    std::printf("shared_session: %d application threads on one session (2 I/O threads, %s): %ld reads right, %ld wrong, "
                "%ld failed, %ld cancelled, %ld pages, %.0f requests/s; session counted %llu requests, %llu errors\n",
                app_threads, mode.c_str(), t.right.load(), t.wrong.load(), t.failed.load(), t.cancelled.load(), t.pages.load(),
                static_cast<double>(m.requests) / secs, static_cast<unsigned long long>(m.requests),
                static_cast<unsigned long long>(m.errors));
    const bool ok = t.wrong == 0 && t.failed == 0 && t.right == static_cast<long>(app_threads) * requests &&
                    t.pages >= app_threads;
    return ok ? 0 : 1;
}
