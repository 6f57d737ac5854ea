// A session on several I/O threads shares one view of the cluster: one control
// connection (the first shard's), one metadata snapshot adopted by every
// shard, host up/down and events reaching every shard's pools, one prepared
// cache; and session_config::io_threads runs it on threads of its own.
#include "transport_test_util.hpp"
#include "session_test_util.hpp"

#include "session_impl.hpp"

#include "cqlpp/driver/session.hpp"

#include <asio/executor_work_guard.hpp>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

using namespace cqlpp::test;
namespace drv = cqlpp::driver;
using drv::detail::session_internals;

namespace {

struct io_thread {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::thread t{[this] { io.run(); }};
    ~io_thread() {
        work.reset();
        // Let run() end by itself first: an executor of this io_context that
        // another thread still holds (one that has just posted a completion
        // here, say) keeps it going until released, so the io_context is
        // not destroyed under it.
        for (int i = 0; i < 300 && !io.stopped(); ++i) std::this_thread::sleep_for(10ms);
        io.stop();
        t.join();
    }
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
    cfg.refresh_debounce = 20ms;
    cfg.reconnect.base_delay = 50ms;
    cfg.reconnect.max_delay = 200ms;
    return cfg;
}

// Polls pred() from this (plain) thread.
template <class P>
bool wait_until(P pred, std::chrono::milliseconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
    return pred();
}

std::uint64_t sum_over_nodes(const sim::cluster& c, int n, std::uint64_t (*f)(const sim::node_counters&)) {
    std::uint64_t total = 0;
    for (int i = 0; i < n; ++i)
        if (!c.is_removed(i)) total += f(c.counters(i));
    return total;
}

// Each shard's snapshot (published with atomic_store, so readable here).
std::vector<std::shared_ptr<const drv::cluster_metadata>> snapshots(const drv::session& s) {
    std::vector<std::shared_ptr<const drv::cluster_metadata>> out;
    for (const auto& sh : session_internals::shards(s)) out.push_back(std::atomic_load(&sh->meta));
    return out;
}
bool all_same(const drv::session& s) {
    auto v = snapshots(s);
    for (const auto& m : v)
        if (m != v.front()) return false;
    return true;
}

const drv::host* host_at(const drv::cluster_metadata& m, const std::string& endpoint) {
    for (const auto& h : m.tokens.hosts())
        if (h->endpoint_string() == endpoint) return h.get();
    return nullptr;
}

std::shared_ptr<drv::session> connect_on(io_thread& app, std::vector<io_thread*> shards, drv::session_config cfg) {
    return app.run([&]() -> asio::awaitable<std::shared_ptr<drv::session>> {
        std::vector<asio::any_io_executor> executors;  // not a braced temporary in co_await (GCC 12)
        for (auto* t : shards) executors.push_back(t->io.get_executor());
        auto r = co_await drv::session::connect(std::move(executors), cfg);
        INFO(r.diag().message);
        REQUIRE(r.ok());
        co_return r.value();
    });
}

}  // namespace

TEST_CASE("shards: one control connection and one metadata snapshot for three shards; schema changes reach all",
          "[driver][threads][shards]") {
    auto cluster = start_cluster(nodes(3));
    io_thread a, b, c, app;
    auto s = connect_on(app, {&a, &b, &c}, cfg_for(*cluster));
    REQUIRE(s->shard_count() == 3);

    // One REGISTER in all, and one control connection plus a pool
    // connection per shard and node.
    const auto registers = [&] {
        return sum_over_nodes(*cluster, 3, [](const sim::node_counters& n) { return n.requests_of(proto::opcode::register_); });
    };
    const auto open_conns = [&] {
        return sum_over_nodes(*cluster, 3, [](const sim::node_counters& n) { return n.connections_open; });
    };
    CHECK(registers() == 1);
    CHECK(wait_until([&] { return open_conns() == 1 + 3 * 3; }));
    CHECK(open_conns() == 1 + 3 * 3);

    // The same snapshot everywhere (the very same object), with every host.
    CHECK(wait_until([&] { return all_same(*s); }));
    CHECK(s->metadata()->tokens.hosts().size() == 3);
    CHECK(snapshots(*s)[2] == s->metadata());
    const auto m0 = s->metrics();
    CHECK(m0.connected_nodes == 3);
    for (const auto& h : m0.hosts) CHECK(h.pool.connections == 3);

    // DDL through a shard other than the first: it answers once that shard's
    // own snapshot has the keyspace (shard 0 refreshed and published it).
    const bool ks_seen_on_c = c.run([&]() -> asio::awaitable<bool> {
        co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
        co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
        auto mine = std::atomic_load(&session_internals::shards(*s)[2]->meta);
        co_return mine->table("ks", "t") != nullptr;
    });
    CHECK(ks_seen_on_c);
    CHECK(wait_until([&] { return all_same(*s); }));
    CHECK(s->metadata()->table("ks", "t") != nullptr);

    // A schema change made by another client arrives as an event on the one
    // control connection and reaches every shard.
    {
        io_thread other_thread;
        other_thread.run([&]() -> asio::awaitable<void> {
            auto other = co_await open(other_thread.io.get_executor(), cfg_for(*cluster));
            co_await ok(*other, "CREATE TABLE ks.u (k int PRIMARY KEY, v int)");
            co_await other->close();
        });
    }
    CHECK(wait_until([&] {
        for (const auto& m : snapshots(*s))
            if (!m->table("ks", "u")) return false;
        return true;
    }));
    CHECK(registers() == 2);  // the other session's

    // Token-aware routing on every shard: each shard's token map knows ks.
    const auto non_replica = [&] {
        return sum_over_nodes(*cluster, 3, [](const sim::node_counters& n) { return n.non_replica_requests; });
    };
    const auto before = non_replica();
    auto ins = app.run([&]() -> asio::awaitable<drv::prepared_statement> { co_return co_await prepare(*s, "INSERT INTO ks.t (k, v) VALUES (?, ?)"); });
    int good = 0;
    for (auto* t : {&a, &b, &c}) {
        good += t->run([&]() -> asio::awaitable<int> {
            int n = 0;
            for (int k = 0; k < 30; ++k)
                if ((co_await s->execute(ins.bind(k, k))).ok()) ++n;
            co_return n;
        });
    }
    CHECK(good == 90);
    CHECK(non_replica() == before);

    app.run([&]() -> asio::awaitable<void> { co_await s->close(); });
    CHECK(wait_until([&] { return open_conns() == 0; }));
}

TEST_CASE("shards: a node going down and up, the control connection moving and a node joining reach every shard",
          "[driver][threads][shards]") {
    auto cluster = start_cluster(nodes(3));
    io_thread a, b, app;
    auto s = connect_on(app, {&a, &b}, cfg_for(*cluster));
    REQUIRE(s->shard_count() == 2);
    const auto ep = [&](int n) { return cluster->endpoint(n).to_string(); };
    const auto up_everywhere = [&](int n, bool up) {
        for (const auto& m : snapshots(*s)) {
            const auto* h = host_at(*m, ep(n));
            if (!h || h->is_up() != up) return false;
        }
        return true;
    };
    const auto pool_connections = [&](int n) -> std::size_t {
        for (const auto& h : s->metrics().hosts)
            if (h.endpoint == ep(n)) return h.pool.connections;
        return 0;
    };
    const auto requests_ok = [&](io_thread& t) {
        return t.run([&]() -> asio::awaitable<int> {
            int n = 0;
            for (int i = 0; i < 20; ++i)
                if ((co_await s->execute("SELECT release_version FROM system.local")).ok()) ++n;
            co_return n;
        });
    };
    CHECK(wait_until([&] { return pool_connections(2) == 2; }));

    // Node 2 stops: every shard's routing leaves it out, requests from both
    // shards go on.
    cluster->stop_node(2);
    CHECK(wait_until([&] { return up_everywhere(2, false); }));
    CHECK(requests_ok(a) == 20);
    CHECK(requests_ok(b) == 20);

    // Back: the UP event reaches both shards' pools.
    cluster->start_node(2);
    CHECK(wait_until([&] { return pool_connections(2) == 2; }));
    CHECK(up_everywhere(2, true));

    // The control connection's node (0) stops: it moves to another node and
    // the shards keep their view; a node joining afterwards reaches both.
    cluster->stop_node(0);
    CHECK(wait_until([&] { return s->metrics().control_reconnects >= 1; }));
    CHECK(requests_ok(a) == 20);
    CHECK(requests_ok(b) == 20);
    const int added = cluster->add_node();
    CHECK(wait_until([&] {
        for (const auto& m : snapshots(*s))
            if (m->tokens.hosts().size() != 4) return false;
        return true;
    }));
    CHECK(wait_until([&] { return pool_connections(added) == 2; }));
    CHECK(all_same(*s));
    cluster->start_node(0);
    CHECK(wait_until([&] { return pool_connections(0) == 2; }));
    CHECK(up_everywhere(0, true));
    // Still one control connection: one REGISTER on the nodes alive since.
    std::uint64_t registers = 0;
    for (int n = 1; n <= added; ++n) registers += cluster->counters(n).requests_of(proto::opcode::register_);
    CHECK(registers == s->metrics().control_reconnects);
    app.run([&]() -> asio::awaitable<void> { co_await s->close(); });
}

TEST_CASE("shards: a statement prepared through one shard is cached by every shard", "[driver][threads][shards]") {
    auto cluster = start_cluster(nodes(2));
    io_thread a, b, app;
    auto s = connect_on(app, {&a, &b}, cfg_for(*cluster));
    const auto prepares = [&] {
        return sum_over_nodes(*cluster, 2, [](const sim::node_counters& n) { return n.requests_of(proto::opcode::prepare); });
    };
    const auto q = std::string("SELECT key FROM system.local WHERE key = ?");
    auto pa = a.run([&]() -> asio::awaitable<drv::prepared_statement> { co_return co_await prepare(*s, q); });
    const auto sent = prepares();
    CHECK(sent >= 2);  // the coordinator, then the other node
    // Shard b has it cached (the same statement): preparing it there sends nothing.
    CHECK(wait_until([&] { return s->metrics().prepared_cache_size == 1; }));
    auto pb = b.run([&]() -> asio::awaitable<drv::prepared_statement> { co_return co_await prepare(*s, q); });
    CHECK(prepares() == sent);
    CHECK(pb.id() == pa.id());
    const bool ran_on_b = b.run([&]() -> asio::awaitable<bool> {
        auto r = co_await s->execute(pa.bind(std::string("local")));
        co_return r.ok() && r.row_count() == 1;
    });
    CHECK(ran_on_b);
    app.run([&]() -> asio::awaitable<void> { co_await s->close(); });
}

namespace {
struct thread_recorder final : drv::request_tracker {
    std::mutex m;
    std::map<std::thread::id, int> starts;
    void on_start(const drv::request_started&) override {
        std::lock_guard l(m);
        ++starts[std::this_thread::get_id()];
    }
};
}  // namespace

TEST_CASE("io_threads: the session runs on threads of its own and joins them", "[driver][threads][shards]") {
    auto cluster = start_cluster(nodes(2));
    auto cfg = cfg_for(*cluster);
    cfg.io_threads = 2;
    auto rec = std::make_shared<thread_recorder>();
    cfg.tracker = rec;
    const auto open = [&] { return cluster->counters(0).connections_open + cluster->counters(1).connections_open; };

    // No executor of the application's: connect_future() from this thread.
    auto r = drv::session::connect_future(cfg).get();
    INFO(r.diag().message);
    REQUIRE(r.ok());
    auto s = r.value();
    CHECK(s->shard_count() == 2);
    CHECK(open() == 1 + 2 * 2);
    std::vector<std::future<drv::result>> fs;
    for (int i = 0; i < 40; ++i) fs.push_back(s->execute_future(drv::statement("SELECT release_version FROM system.local")));
    int good = 0;
    for (auto& f : fs) good += f.get().ok() ? 1 : 0;
    CHECK(good == 40);
    {
        // From outside, the two threads took turns; neither is this one.
        std::lock_guard l(rec->m);
        CHECK(rec->starts.size() == 2);
        for (const auto& [id, n] : rec->starts) {
            CHECK(id != std::this_thread::get_id());
            CHECK(n == 20);
        }
    }
    // Closed, then the last handle dropped here: the threads are joined.
    s->async_close(asio::use_future).get();
    CHECK(s->is_closed());
    s.reset();
    CHECK(wait_until([&] { return open() == 0; }));

    // connect() from a coroutine with io_threads: the given executor only
    // resumes the caller.
    io_thread app;
    auto s2 = app.run([&]() -> asio::awaitable<std::shared_ptr<drv::session>> {
        auto ex = co_await asio::this_coro::executor;
        auto r2 = co_await drv::session::connect(ex, cfg);
        REQUIRE(r2.ok());
        auto q = co_await r2.value()->execute("SELECT release_version FROM system.local");
        CHECK(q.ok());
        co_return r2.value();
    });
    CHECK(s2->shard_count() == 2);
    CHECK(s2->get_executor() != asio::any_io_executor(app.io.get_executor()));

    // The last handle dropped on one of the session's own threads (inside a
    // completion handler there): it must not join itself; the threads end
    // and the connections close.
    cluster->set_latency(0, 100ms);
    cluster->set_latency(1, 100ms);
    std::promise<bool> handled;
    s2->execute_async(drv::statement("SELECT release_version FROM system.local"),
                      [keep = s2, &handled](drv::result res) mutable {
                          keep.reset();  // the session's last handle, once s2 below is gone
                          handled.set_value(res.ok());
                      });
    s2.reset();
    CHECK(handled.get_future().get());
    CHECK(wait_until([&] { return open() == 0; }));
}
