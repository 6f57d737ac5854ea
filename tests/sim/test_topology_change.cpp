// Topology at run time: nodes join and are decommissioned (from C++ and from
// CQL through sim.nodes), with TOPOLOGY_CHANGE events, system.local/peers
// kept current on every node, token ownership moved and every row readable.
#include "raw_client.hpp"
#include "sim_ports.hpp"
#include "sim_requests.hpp"

#include "cqlpp/sim/cluster.hpp"

#include <catch2/catch.hpp>


#include <set>

using namespace cqlpp;
using cqlpp::test::raw_client;
using cqlpp::test::rows_of;
using cqlpp::test::simple;
namespace proto = cqlpp::protocol;

namespace {

sim::cluster_config cfg_of(int nodes) {
    sim::cluster_config cfg;
    cfg.topology.nodes = nodes;
    cfg.topology.num_tokens = 8;
    cfg.topology.base_port = cqlpp::test::next_sim_base_port(20);  // grows by a few nodes
    cfg.down_event_delay = std::chrono::milliseconds(0);
    return cfg;
}

std::uint16_t port_of(const sim::cluster& c, int node) { return c.topo().node(node).config.port; }

void ok(raw_client& cl, std::string_view q, proto::consistency cl_ = proto::consistency::one) {
    auto r = cl.request(simple(q, cl_));
    if (auto* e = std::get_if<proto::error_response>(&r)) FAIL(q << ": " << e->message);
}

std::string error_of(const proto::response& r) {
    auto* e = std::get_if<proto::error_response>(&r);
    return e ? e->message : std::string();
}

std::int32_t i32(proto::value_view v) { return static_cast<std::int32_t>(proto::detail::load_be32(v.bytes.data())); }

// Registers for topology events on a fresh connection to `node`.
void watch(raw_client& cl, const sim::cluster& c, int node) {
    REQUIRE(cl.connect("127.0.0.1", port_of(c, node)));
    cl.handshake();
    proto::register_request reg;
    std::vector<proto::event_type> types{proto::event_type::topology_change};
    reg.events = proto::view_list<proto::event_type>::owning(types);
    REQUIRE(std::holds_alternative<proto::ready_response>(cl.request(reg)));
}

proto::topology_change_event next_topology_event(raw_client& cl) {
    if (!cl.events.empty()) {
        auto env = cl.events.front();
        cl.events.erase(cl.events.begin());
        return std::get<proto::topology_change_event>(std::get<proto::event_response>(env.decode()).value);
    }
    auto env = cl.recv();
    REQUIRE(env);
    REQUIRE(env->header.stream == -1);
    return std::get<proto::topology_change_event>(std::get<proto::event_response>(env->decode()).value);
}

// peer_port of every row of system.peers_v2 as seen from `cl`, with the native port.
std::set<int> native_ports_of_peers(raw_client& cl) {
    auto rows = rows_of(cl.request(simple("SELECT native_port FROM system.peers_v2")));
    std::set<int> out;
    for (std::size_t i = 0; i < rows.size(); ++i) out.insert(i32(rows.cell(i, 0)));
    return out;
}

std::size_t count_rows(raw_client& cl, std::string_view q, proto::consistency c = proto::consistency::one) {
    return rows_of(cl.request(simple(q, c))).size();
}

}  // namespace

TEST_CASE("topology: add_node from C++ announces NEW_NODE, serves, and joins system.peers everywhere",
          "[sim][topology_change]") {
    auto c_owner = cqlpp::test::start_sim(cfg_of(3), 20);
    sim::cluster& c = *c_owner;
    raw_client w;
    watch(w, c, 0);
    raw_client cl;
    REQUIRE(cl.connect("127.0.0.1", port_of(c, 1)));
    cl.handshake();
    ok(cl, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}");
    ok(cl, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
    for (int k = 0; k < 200; ++k)
        ok(cl, "INSERT INTO ks.t (k, v) VALUES (" + std::to_string(k) + ", " + std::to_string(k) + ")",
           proto::consistency::all);

    const int id = c.add_node();
    CHECK(id == 3);
    CHECK(c.topo().size() == 4);
    CHECK(c.topo().ring().size() == 4 * 8);
    CHECK(c.contact_points().size() == 4);

    auto ev = next_topology_event(w);
    CHECK(ev.change == proto::topology_change_type::new_node);
    CHECK(ev.node.port == port_of(c, 3));

    // The new node serves, knows itself and its peers; every other node lists it.
    raw_client fresh;
    REQUIRE(fresh.connect("127.0.0.1", port_of(c, 3)));
    fresh.handshake();
    auto local = rows_of(fresh.request(simple("SELECT rpc_port, tokens FROM system.local")));
    REQUIRE(local.size() == 1);
    CHECK(i32(local.cell(0, 0)) == port_of(c, 3));
    CHECK(native_ports_of_peers(fresh) == std::set<int>{port_of(c, 0), port_of(c, 1), port_of(c, 2)});
    for (int n = 0; n < 3; ++n) {
        raw_client o;
        REQUIRE(o.connect("127.0.0.1", port_of(c, n)));
        o.handshake();
        CHECK(native_ports_of_peers(o).count(port_of(c, 3)) == 1);
        CHECK(native_ports_of_peers(o).size() == 3);
    }
    // Every row written before is readable, at ALL too (the new node owns ranges now).
    CHECK(count_rows(fresh, "SELECT k FROM ks.t", proto::consistency::all) == 200);
    CHECK(count_rows(fresh, "SELECT v FROM ks.t WHERE k = 17", proto::consistency::all) == 1);
    CHECK(count_rows(fresh, "SELECT node FROM sim.nodes") == 4);
}

TEST_CASE("topology: remove_node moves its ranges, announces REMOVED_NODE, closes it, keeps every row",
          "[sim][topology_change]") {
    auto c_owner = cqlpp::test::start_sim(cfg_of(4), 20);
    sim::cluster& c = *c_owner;
    raw_client w;
    watch(w, c, 0);
    raw_client cl;
    REQUIRE(cl.connect("127.0.0.1", port_of(c, 1)));
    cl.handshake();
    ok(cl, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}");
    ok(cl, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
    for (int k = 0; k < 200; ++k) ok(cl, "INSERT INTO ks.t (k, v) VALUES (" + std::to_string(k) + ", 1)");

    raw_client victim;
    REQUIRE(victim.connect("127.0.0.1", port_of(c, 2)));
    victim.handshake();
    c.remove_node(2);
    CHECK(c.is_removed(2));
    CHECK(c.topo().ring().size() == 3 * 8);
    for (const auto& e : c.topo().ring()) CHECK(e.node != 2);
    CHECK(c.contact_points().size() == 3);

    auto ev = next_topology_event(w);
    CHECK(ev.change == proto::topology_change_type::removed_node);
    CHECK(ev.node.port == port_of(c, 2));
    CHECK_FALSE(victim.recv(std::chrono::seconds(2)));
    CHECK(victim.closed);
    raw_client refused;
    CHECK_FALSE(refused.connect("127.0.0.1", port_of(c, 2), nullptr, std::chrono::milliseconds(500)));

    CHECK(native_ports_of_peers(cl) == std::set<int>{port_of(c, 0), port_of(c, 3)});
    CHECK(count_rows(cl, "SELECT node FROM sim.nodes") == 3);
    // RF 3 on 3 nodes: ALL needs every remaining node, and finds every row.
    CHECK(count_rows(cl, "SELECT k FROM ks.t", proto::consistency::all) == 200);
    for (int k = 0; k < 200; k += 13)
        CHECK(count_rows(cl, "SELECT v FROM ks.t WHERE k = " + std::to_string(k), proto::consistency::all) == 1);
    // A fault setting or a restart cannot bring it back.
    CHECK_FALSE(error_of(cl.request(simple("UPDATE sim.nodes SET latency_ms = 5 WHERE node = 2"))).empty());
    CHECK_THROWS_AS(c.remove_node(2), std::runtime_error);
}

TEST_CASE("topology: INSERT INTO / DELETE FROM sim.nodes add and decommission nodes", "[sim][topology_change]") {
    auto c_owner = cqlpp::test::start_sim(cfg_of(2), 20);
    sim::cluster& c = *c_owner;
    raw_client w;
    watch(w, c, 1);
    raw_client cl;
    REQUIRE(cl.connect("127.0.0.1", port_of(c, 0)));
    cl.handshake();
    ok(cl, "CREATE KEYSPACE ks WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 2}");
    ok(cl, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
    for (int k = 0; k < 100; ++k) ok(cl, "INSERT INTO ks.t (k, v) VALUES (" + std::to_string(k) + ", 1)");

    // Only the next id can join.
    CHECK(error_of(cl.request(simple("INSERT INTO sim.nodes (node) VALUES (5)"))) ==
          "Cannot add node 5: the next node is 2 (ids are given in order and never reused)");
    ok(cl, "INSERT INTO sim.nodes (node, rack, latency_ms) VALUES (2, 'rack2', 1)");
    auto ev = next_topology_event(w);
    CHECK(ev.change == proto::topology_change_type::new_node);
    CHECK(ev.node.port == port_of(c, 2));
    auto nodes = rows_of(cl.request(simple("SELECT node, rack, latency_ms, state FROM sim.nodes WHERE node = 2")));
    REQUIRE(nodes.size() == 1);
    CHECK(std::string(proto::as_chars(nodes.cell(0, 1).bytes)) == "rack2");
    CHECK(i32(nodes.cell(0, 2)) == 1);
    CHECK(std::string(proto::as_chars(nodes.cell(0, 3).bytes)) == "up");
    // INSERT of an existing node is an update of its settings.
    ok(cl, "INSERT INTO sim.nodes (node, latency_ms) VALUES (2, 0)");
    CHECK(c.topo().size() == 3);

    ok(cl, "DELETE FROM sim.nodes WHERE node = 1");
    ok(cl, "DELETE FROM sim.nodes WHERE node = 2");
    CHECK(c.topo().member_count() == 1);
    CHECK(count_rows(cl, "SELECT peer FROM system.peers_v2") == 0);
    CHECK(count_rows(cl, "SELECT k FROM ks.t", proto::consistency::one) == 100);
    CHECK(error_of(cl.request(simple("DELETE FROM sim.nodes WHERE node = 0"))) ==
          "Cannot decommission the last node of the cluster");
    CHECK(error_of(cl.request(simple("DELETE FROM sim.nodes WHERE node = 1"))) == "No node 1 in the ring");
    CHECK_FALSE(error_of(cl.request(simple("DELETE latency_ms FROM sim.nodes WHERE node = 0"))).empty());
    // A removed id is never reused: the next node is 3.
    ok(cl, "INSERT INTO sim.nodes (node) VALUES (3)");
    CHECK(c.topo().member_count() == 2);
    CHECK(count_rows(cl, "SELECT k FROM ks.t", proto::consistency::all) == 100);
}
