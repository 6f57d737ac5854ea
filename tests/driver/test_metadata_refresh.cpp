// Topology refresh when the control node's answer to system.peers_v2 is an
// error: a transient one (OVERLOADED, a timeout) fails the refresh and leaves
// the hosts as they were; only "no such table" (INVALID, as Cassandra 3 and
// ScyllaDB answer) switches the session to system.peers, once.
//
// The fault suite found the first: the refresh used to fall back to
// system.peers on any error, and system.peers has no native port, so every
// peer was moved to the control node's port (the sim's nodes differ in port).
#include "transport_test_util.hpp"
#include "session_test_util.hpp"

#include "cqlpp/driver/session.hpp"

#include <algorithm>
#include <set>

using namespace cqlpp::test;
namespace drv = cqlpp::driver;

namespace {

const std::string peers_v2_query =
    "SELECT peer, host_id, data_center, rack, tokens, native_address, native_port FROM system.peers_v2";
const std::string peers_v1_query = "SELECT peer, host_id, data_center, rack, tokens, rpc_address FROM system.peers";

drv::session_config cfg_for(const sim::cluster& c) {
    drv::session_config cfg;
    cfg.contact_points = {"127.0.0.1:" + std::to_string(c.topo().node(0).config.port)};
    cfg.connection.connect_timeout = 10s;
    cfg.refresh_debounce = 20ms;
    cfg.reconnect.base_delay = 20ms;
    return cfg;
}

std::multiset<std::string> endpoints(const drv::session& s) {
    std::multiset<std::string> out;
    for (const auto& h : s.metrics().hosts) out.insert(h.endpoint);
    return out;
}

std::multiset<std::string> node_endpoints(const sim::cluster& c, int n) {
    std::multiset<std::string> out;
    for (int i = 0; i < n; ++i) out.insert("127.0.0.1:" + std::to_string(c.topo().node(i).config.port));
    return out;
}

std::size_t count_queries(const sim::cluster& c, std::string_view q) {
    auto log = c.activity(0);
    return static_cast<std::size_t>(std::count_if(log.begin(), log.end(), [&](const auto& e) {
        return e.op == cqlpp::protocol::opcode::query && e.query == q;
    }));
}

// The pools are on the right nodes: requests succeed and every host is up.
asio::awaitable<void> check_serving(drv::session& s) {
    for (int i = 0; i < 30; ++i) co_await ok(s, "SELECT release_version FROM system.local");
    for (const auto& h : s.metrics().hosts) {
        INFO(h.endpoint);
        CHECK(h.up);
    }
}

}  // namespace

TEST_CASE("metadata refresh: a transient error on system.peers_v2 fails the refresh and keeps every host's endpoint",
          "[driver][metadata]") {
    auto cc = nodes(3);
    cc.activity_log_capacity = 200;
    auto cluster = start_cluster(cc);
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await open(ex, cfg_for(*cluster));
        const auto expected = node_endpoints(*cluster, 3);
        REQUIRE(endpoints(*s) == expected);

        for (auto err : {cqlpp::protocol::server_errc::overloaded, cqlpp::protocol::server_errc::read_timeout,
                         cqlpp::protocol::server_errc::server_error}) {
            sim::prime_rule r;
            r.query = peers_v2_query;
            r.node = 0;
            r.then = err == cqlpp::protocol::server_errc::read_timeout
                         ? sim::read_timeout_error(cqlpp::protocol::consistency::one, 0, 1, false)
                         : sim::server_error(err, "injected by the test");
            r.times = 1;
            cluster->prime(r);
            const auto v1_before = count_queries(*cluster, peers_v1_query);
            auto res = co_await s->refresh_metadata();
            INFO("error " << static_cast<int>(err));
            CHECK_FALSE(res.ok());
            CHECK(count_queries(*cluster, peers_v1_query) == v1_before);  // no fallback on a transient error
            CHECK(endpoints(*s) == expected);
            // The next refresh reads peers_v2 again and succeeds.
            auto again = co_await s->refresh_metadata();
            INFO(again.diag().message);
            CHECK(again.ok());
            CHECK(endpoints(*s) == expected);
        }
        // The control connection closes between system.local and peers_v2:
        // the refresh fails (it never asks another node the second question),
        // and once the control connection is back, a refresh succeeds.
        {
            sim::prime_rule r;
            r.query = peers_v2_query;
            r.node = 0;
            r.then = sim::prime_close_connection{};
            r.times = 1;
            cluster->prime(r);
            auto res = co_await s->refresh_metadata();
            CHECK_FALSE(res.ok());
            CHECK(endpoints(*s) == expected);
            bool refreshed = false;
            for (int i = 0; i < 200 && !refreshed; ++i) {
                co_await sleep_for(20ms);
                refreshed = (co_await s->refresh_metadata()).ok();
            }
            CHECK(refreshed);
            CHECK(endpoints(*s) == expected);
        }
        co_await check_serving(*s);
        co_await s->close();
    });
}

TEST_CASE("metadata refresh: a node without system.peers_v2 (INVALID) is read through system.peers, asked once",
          "[driver][metadata]") {
    // As a real cluster: nodes on their own addresses, one port (system.peers
    // has no port, and is keyed by address).
    auto cc = nodes(3);
    cc.activity_log_capacity = 200;
    auto cluster = start_cluster(cc, true);
    sim::prime_rule r;
    r.query = peers_v2_query;
    r.then = sim::server_error(cqlpp::protocol::server_errc::invalid, "unconfigured table peers_v2");
    cluster->prime(r);  // until cleared: this "cluster" predates peers_v2
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await open(ex, cfg_for(*cluster));
        // Three hosts through system.peers, each on its own address and the
        // control node's port (system.peers has none).
        const auto port = std::to_string(cluster->topo().node(0).config.port);
        const std::multiset<std::string> expected{"127.0.0.1:" + port, "127.0.0.2:" + port, "127.0.0.3:" + port};
        CHECK(endpoints(*s) == expected);
        CHECK(count_queries(*cluster, peers_v2_query) == 1);
        const auto v1 = count_queries(*cluster, peers_v1_query);
        CHECK(v1 >= 1);
        auto res = co_await s->refresh_metadata();
        INFO(res.diag().message);
        CHECK(res.ok());
        CHECK(count_queries(*cluster, peers_v2_query) == 1);  // not asked again
        CHECK(count_queries(*cluster, peers_v1_query) == v1 + 1);
        CHECK(endpoints(*s) == expected);
        co_await check_serving(*s);
        co_await s->close();
    });
}
