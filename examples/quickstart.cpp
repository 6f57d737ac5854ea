// cqlpp quickstart: connect, create a schema, write and read with prepared
// statements (many in flight on one thread), page through a table, and show
// where the requests went. Runs against any cluster:
//
//   quickstart 127.0.0.1:9042            (scripts/demo.sh starts `cqlpp sim` for it)
#include "cqlpp/driver/session.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace drv = cqlpp::driver;
using namespace std::chrono_literals;

namespace {

bool check(const drv::result& r, const char* what) {
    if (r.ok()) return true;
    std::fprintf(stderr, "quickstart: %s failed: %s\n", what, r.diag().message.c_str());
    return false;
}

asio::awaitable<int> run(asio::any_io_executor ex, std::string contact_point) {
    drv::session_config cfg;
    cfg.contact_points = {contact_point};
    auto [ec, session, diag] = co_await drv::session::connect(ex, cfg);
    if (ec) {
        std::fprintf(stderr, "quickstart: connect failed: %s\n", diag.message.c_str());
        co_return 1;
    }
    auto meta = session->metadata();
    std::printf("connected to cluster '%s' over protocol v%d: %zu hosts, %zu tokens\n", meta->cluster_name.c_str(),
                static_cast<int>(session->protocol_version()), meta->tokens.hosts().size(), meta->tokens.ring().size());
    for (const auto& h : meta->tokens.hosts())
        std::printf("  %s  dc=%s rack=%s  %zu vnodes\n", h->endpoint_string().c_str(), h->datacenter.c_str(),
                    h->rack.c_str(), h->tokens.size());

    if (!check(co_await session->execute("CREATE KEYSPACE IF NOT EXISTS demo WITH replication = "
                                         "{'class': 'SimpleStrategy', 'replication_factor': 1}"),
               "CREATE KEYSPACE"))
        co_return 1;
    if (!check(co_await session->execute("CREATE TABLE IF NOT EXISTS demo.users (id int PRIMARY KEY, name text, "
                                         "score bigint, tags set<text>)"),
               "CREATE TABLE"))
        co_return 1;

    auto ins = co_await session->prepare("INSERT INTO demo.users (id, name, score, tags) VALUES (?, ?, ?, ?)");
    auto sel = co_await session->prepare("SELECT name, score, tags FROM demo.users WHERE id = ?");
    if (!ins.ok() || !sel.ok()) {
        std::fprintf(stderr, "quickstart: prepare failed: %s%s\n", ins.diag().message.c_str(), sel.diag().message.c_str());
        co_return 1;
    }

    // 20,000 writes with 256 in flight, from 256 coroutines on this one thread.
    constexpr int rows = 20000;
    int next = 0, failed = 0, running = 0;
    asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
    const auto t0 = std::chrono::steady_clock::now();
    for (int w = 0; w < 256; ++w) {
        ++running;
        asio::co_spawn(
            ex,
            [&]() -> asio::awaitable<void> {
                auto b = ins.value().bind_empty();
                while (next < rows) {
                    const int id = next++;
                    b.clear();
                    b.set(0, id).set(1, "user-" + std::to_string(id)).set(2, std::int64_t(id) * 10);
                    b.set(3, std::set<std::string>{"even", id % 3 == 0 ? "fizz" : "plain"});
                    auto r = co_await session->execute(b);
                    if (!r.ok()) ++failed;
                }
                if (--running == 0) all_done.cancel();
            },
            asio::detached);
    }
    co_await all_done.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("wrote %d rows in %.2f s (%.0f writes/s, %d failed), one thread, 256 in flight\n", rows, secs,
                rows / secs, failed);

    auto r = co_await session->execute(sel.value().bind(42));
    if (!check(r, "SELECT")) co_return 1;
    auto row = r.first_row();
    std::printf("id 42: name=%s score=%lld tags=%zu (answered by %s)\n", row.get<std::string>("name").c_str(),
                static_cast<long long>(row.get<std::int64_t>("score")), row.get<std::set<std::string>>("tags").size(),
                r.coordinator().c_str());

    // Async paging: the next page is fetched while this one is read.
    drv::statement scan("SELECT id, score FROM demo.users");
    scan.options().page_size = 1000;
    auto stream = session->stream(scan);
    std::int64_t total = 0;
    std::size_t pages = 0, count = 0;
    while (!stream.done()) {
        auto page = co_await stream.next_page();
        if (!check(page, "page")) co_return 1;
        ++pages;
        for (auto pr : page.rows()) {
            total += pr.get<std::int64_t>(1);
            ++count;
        }
    }
    std::printf("paged through %zu rows in %zu pages, sum(score) = %lld\n", count, pages, static_cast<long long>(total));

    auto m = session->metrics();
    std::printf("requests %llu, errors %llu, latency p50 %.0f us, p99 %.0f us\n",
                static_cast<unsigned long long>(m.requests), static_cast<unsigned long long>(m.errors),
                m.latency.percentile(0.5).count() / 1e3, m.latency.percentile(0.99).count() / 1e3);
    for (const auto& h : m.hosts)
        std::printf("  %s: %llu bytes written in %llu write calls\n", h.endpoint.c_str(),
                    static_cast<unsigned long long>(h.pool.bytes_written),
                    static_cast<unsigned long long>(h.pool.write_syscalls));

    // The simulated cluster counts requests that reached a non-replica; a
    // token-aware driver keeps that at 0 for single-partition statements.
    auto counters = co_await session->execute("SELECT node, name, value FROM sim.counters");
    if (counters.ok()) {
        for (auto c : counters.rows()) {
            const auto name = c.get<std::string>(1);
            if (name == "replica_requests" || name == "non_replica_requests")
                std::printf("  sim node %d: %s = %lld\n", c.get<std::int32_t>(0), name.c_str(),
                            static_cast<long long>(c.get<std::int64_t>(2)));
        }
    }
    co_await session->close();
    co_return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::string contact = argc > 1 ? argv[1] : "127.0.0.1:9042";
    asio::io_context io;
    int rc = 1;
    asio::co_spawn(io, run(io.get_executor(), contact), [&](std::exception_ptr e, int r) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                std::fprintf(stderr, "quickstart: %s\n", ex.what());
            }
            return;
        }
        rc = r;
    });
    io.run();
    return rc;
}
