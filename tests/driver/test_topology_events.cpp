// The session on a growing and shrinking cluster: TOPOLOGY_CHANGE NEW_NODE /
// REMOVED_NODE from the sim refresh the driver's metadata, the new node gets
// a pool and requests, the decommissioned one leaves, and idempotent
// requests running meanwhile never fail.
#include "session_test_util.hpp"
#include "transport_test_util.hpp"

#include "cqlpp/driver/session.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include <string>

using namespace cqlpp::test;
namespace drv = cqlpp::driver;

namespace {

// Ports 29000-29999 (base + node id; the cluster grows by one): below the
// ephemeral range, where another process's client socket may hold a port.
std::unique_ptr<sim::cluster> start_cluster_on_free_base(int n) {
    sim::cluster_config cfg = nodes(n);
    cfg.topology.num_tokens = 8;
    cfg.down_event_delay = 50ms;
    static std::uint16_t port = static_cast<std::uint16_t>(29000 + (::getpid() % 45) * 20);
    for (int attempt = 0; attempt < 20; ++attempt) {
        port = static_cast<std::uint16_t>(port + 10);
        if (port > 29980) port = 29000;
        cfg.topology.base_port = port;
        auto c = std::make_unique<sim::cluster>(cfg);
        try {
            c->start();
            return c;
        } catch (const std::system_error&) {
        }
    }
    FAIL("no free loopback ports in 29000-29999");
    return nullptr;
}

std::string endpoint_of(const sim::cluster& c, int node) {
    return "127.0.0.1:" + std::to_string(c.topo().node(node).config.port);
}

bool has_host(const drv::session& s, const sim::cluster& c, int node) {
    for (const auto& h : s.metadata()->tokens.hosts())
        if (h->port == c.topo().node(node).config.port) return true;
    return false;
}

}  // namespace

TEST_CASE("session: NEW_NODE and REMOVED_NODE refresh the hosts, pools and routing while requests run",
          "[driver][session][topology]") {
    auto cluster = start_cluster_on_free_base(3);
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        drv::session_config cfg;
        cfg.contact_points = {endpoint_of(*cluster, 0)};
        cfg.connection.connect_timeout = 10s;
        cfg.reconnect.base_delay = 50ms;
        cfg.reconnect.max_delay = 300ms;
        cfg.refresh_debounce = 20ms;
        cfg.default_idempotent = true;
        auto s = co_await open(ex, cfg);
        CHECK(s->metadata()->tokens.hosts().size() == 3);
        co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}");
        co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
        auto ins = co_await prepare(*s, "INSERT INTO ks.t (k, v) VALUES (?, ?)");
        auto sel = co_await prepare(*s, "SELECT v FROM ks.t WHERE k = ?");
        constexpr int keys = 200;
        for (int k = 0; k < keys; ++k) {
            auto r = co_await s->execute(ins.bind(k, k));
            INFO(r.diag().message);
            REQUIRE(r.ok());
        }

        // Idempotent reads and writes keep running through both changes.
        bool stop = false;
        int running = 0, done = 0, failures = 0, wrong = 0;
        std::string first_failure;
        auto loader = [&](int seed) -> asio::awaitable<void> {
            ++running;
            for (int i = seed; !stop; i += 7) {
                const int k = i % keys;
                // A named statement: g++ 12 mishandles a temporary from ?: across co_await.
                auto st = i % 3 == 0 ? ins.bind(k, k) : sel.bind(k);
                auto r = co_await s->execute(st);
                ++done;
                if (!r.ok()) {
                    if (failures++ == 0) first_failure = r.diag().message;
                } else if (i % 3 != 0 && (r.row_count() != 1 || r.first_row().get<std::int32_t>(0) != k)) {
                    ++wrong;
                }
            }
            --running;
        };
        for (int i = 0; i < 4; ++i) asio::co_spawn(ex, loader(i), asio::detached);
        co_await sleep_for(100ms);

        // A fourth node joins: the session learns it, opens a pool, routes to it.
        const int added = cluster->add_node();
        REQUIRE(added == 3);
        CHECK(co_await eventually([&] { return s->metadata()->tokens.hosts().size() == 4; }, 10s));
        CHECK(has_host(*s, *cluster, added));
        CHECK(s->metadata()->tokens.ring().size() == 4 * 8);
        bool pooled = co_await eventually([&] {
            for (const auto& h : s->metrics().hosts)
                if (h.endpoint == endpoint_of(*cluster, added) && h.up && h.pool.connections > 0) return true;
            return false;
        }, 10s);
        CHECK(pooled);
        // Token-aware routing: the new node's own ranges go to it.
        const auto executes_before = cluster->counters(added).requests_of(proto::opcode::execute);
        int coordinated = 0;
        for (int k = 0; k < keys; ++k) {
            auto r = co_await s->execute(sel.bind(k));
            if (r.ok() && r.coordinator() == endpoint_of(*cluster, added)) ++coordinated;
        }
        CHECK(coordinated > 0);
        CHECK(cluster->counters(added).requests_of(proto::opcode::execute) > executes_before);

        // Node 1 is decommissioned: the session drops it; requests go on elsewhere.
        cluster->remove_node(1);
        CHECK(co_await eventually([&] { return s->metadata()->tokens.hosts().size() == 3; }, 10s));
        CHECK_FALSE(has_host(*s, *cluster, 1));
        CHECK(s->metadata()->tokens.ring().size() == 3 * 8);
        co_await sleep_for(300ms);
        const auto on_removed = cluster->counters(1).requests;
        for (int k = 0; k < keys; ++k) {
            auto r = co_await s->execute(sel.bind(k));
            INFO(r.diag().message);
            CHECK(r.ok());
            CHECK(r.coordinator() != endpoint_of(*cluster, 1));
        }
        CHECK(cluster->counters(1).requests == on_removed);

        stop = true;
        CHECK(co_await eventually([&] { return running == 0; }, 20s));
        INFO("first failure: " << first_failure);
        CHECK(done > 100);
        CHECK(failures == 0);
        CHECK(wrong == 0);
        co_await s->close();
    });
}

TEST_CASE("session: a response carrying a custom payload (echoed by the sim) with tracing and warnings decodes",
          "[driver][session][payload]") {
    auto cluster = start_cluster_on_free_base(1);
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        drv::session_config cfg;
        cfg.contact_points = {endpoint_of(*cluster, 0)};
        cfg.connection.connect_timeout = 10s;
        auto s = co_await open(ex, cfg);
        co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
        co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
        co_await ok(*s, "INSERT INTO ks.t (k, v) VALUES (1, 41)");
        // Flags 0x02 | 0x08 | 0x04: tracing id, warnings, then the payload precede the body.
        drv::statement st("SELECT max(v) FROM ks.t");
        st.options().tracing = true;
        st.options().custom_payload.emplace_back("k", proto::byte_buffer{1, 2, 3});
        st.options().custom_payload.emplace_back("empty", proto::byte_buffer{});
        // Once as Cassandra answers (payload ignored), once echoed: the same
        // response, plus the payload read back through result::custom_payload().
        for (int echo = 0; echo < 2; ++echo) {
            cluster->echo_payload(0, echo == 1);
            auto r = co_await s->execute(st);
            INFO(r.diag().message);
            REQUIRE(r.ok());
            CHECK(r.first_row().get<std::int32_t>(0) == 41);
            CHECK(r.tracing_id().has_value());
            REQUIRE(r.warnings().size() == 1);
            CHECK(r.warnings()[0] == "Aggregation query used without partition key");
            if (echo == 0) {
                CHECK(r.custom_payload().empty());
            } else {
                REQUIRE(r.custom_payload().size() == 2);
                CHECK(r.custom_payload()[0].first == "k");
                REQUIRE(r.custom_payload()[0].second.has_value());
                CHECK(std::vector<std::uint8_t>(r.custom_payload()[0].second->begin(), r.custom_payload()[0].second->end()) ==
                      std::vector<std::uint8_t>{1, 2, 3});
                CHECK(r.custom_payload()[1].first == "empty");
                CHECK(r.custom_payload()[1].second.has_value());
            }
        }
        co_await s->close();
    });
}
