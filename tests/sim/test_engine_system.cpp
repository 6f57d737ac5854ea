// Engine tests: system tables as drivers read them, and the virtual `sim` keyspace.
#include "test_engine_util.hpp"

#include "cqlpp/sim/version.hpp"

#include <set>

using namespace engine_test;

namespace {

std::set<std::string> column_names(const reply& r) {
    std::set<std::string> s;
    for (const auto& c : r.rows().metadata.columns) s.insert(c.name);
    return s;
}

std::string uuid_text(const proto::uuid_bytes& u) {
    proto::cql_value v = proto::cql_value::uuid(u);
    return proto::format_literal(proto::cql_type(proto::type_kind::uuid), v);
}

struct fake_control_plane : cqlpp::sim::control_plane {
    std::vector<std::tuple<int, std::string, proto::cql_value>> updates;
    std::vector<node_row> nodes() override {
        std::vector<node_row> v;
        for (int i = 0; i < 3; ++i) {
            node_row r;
            r.node = i;
            r.address = "127.0.0." + std::to_string(i + 1);
            r.port = 9042;
            r.datacenter = "datacenter1";
            r.rack = "rack1";
            r.state = "up";
            r.fail_error = "OVERLOADED";
            v.push_back(r);
        }
        return v;
    }
    std::string update_node(int node, const std::string& column, const proto::cql_value& value) override {
        if (column == "port") return "Column port of sim.nodes cannot be updated";
        updates.emplace_back(node, column, value);
        return "";
    }
    std::vector<counter_row> counters() override { return {{0, "requests", 5}, {1, "requests", 7}}; }
};

}  // namespace

TEST_CASE("engine: system.local and peers describe the topology", "[sim][engine]") {
    fixture f;
    for (int node = 0; node < 3; ++node) {
        auto local = f.ok("SELECT * FROM system.local WHERE key = 'local'", {}, {}, node);
        REQUIRE(local.row_count() == 1);
        auto cols = column_names(local);
        for (const char* c : {"key", "bootstrapped", "broadcast_address", "broadcast_port", "cluster_name", "cql_version",
                              "data_center", "gossip_generation", "host_id", "listen_address", "listen_port",
                              "native_protocol_version", "partitioner", "rack", "release_version", "rpc_address",
                              "rpc_port", "schema_version", "tokens", "truncated_at"})
            CHECK(cols.count(c) == 1);
        const auto& n = f.topo->node(node);
        CHECK(local.text(0, "bootstrapped") == "'COMPLETED'");
        CHECK(local.text(0, "rpc_address") == "'" + n.config.address + "'");
        CHECK(local.text(0, "broadcast_address") == "'" + n.config.address + "'");
        CHECK(local.text(0, "host_id") == uuid_text(n.host_id));
        CHECK(local.text(0, "data_center") == "'datacenter1'");
        CHECK(local.text(0, "partitioner") == "'org.apache.cassandra.dht.Murmur3Partitioner'");
        CHECK(local.text(0, "release_version") == "'" + std::string(cqlpp::sim::release_version()) + "'");
        CHECK(local.text(0, "native_protocol_version") == "'5'");
        CHECK(local.text(0, "cluster_name") == "'cqlpp-sim'");
        CHECK(local.text(0, "rpc_port") == "9042");
        // tokens: the node's vnode tokens as decimal text.
        proto::cql_value toks;
        const auto& tc = local.rows().cell(0, local.col("tokens"));
        REQUIRE(proto::decode_value(local.rows().metadata.columns[local.col("tokens")].type, tc.bytes, toks) == proto::errc::ok);
        std::set<std::string> got, want;
        for (const auto& e : toks.elements()) got.insert(e.as_string());
        for (auto t : n.tokens) want.insert(std::to_string(t));
        CHECK(got == want);

        auto peers = f.ok("SELECT * FROM system.peers", {}, {}, node);
        CHECK(peers.row_count() == 2);
        for (const char* c : {"peer", "data_center", "host_id", "preferred_ip", "rack", "release_version", "rpc_address",
                              "schema_version", "tokens"})
            CHECK(column_names(peers).count(c) == 1);
        for (std::size_t i = 0; i < peers.row_count(); ++i) CHECK(peers.text(i, "peer") != "'" + n.config.address + "'");
        CHECK(peers.text(0, "schema_version") == local.text(0, "schema_version"));

        auto v2 = f.ok("SELECT * FROM system.peers_v2", {}, {}, node);
        CHECK(v2.row_count() == 2);
        for (const char* c : {"peer", "peer_port", "data_center", "host_id", "native_address", "native_port", "preferred_ip",
                              "preferred_port", "rack", "release_version", "schema_version", "tokens"})
            CHECK(column_names(v2).count(c) == 1);
        CHECK(v2.text(0, "native_port") == "9042");
    }
    // Down nodes still appear in peers.
    f.topo->set_up(2, false);
    CHECK(f.ok("SELECT peer, rpc_address FROM system.peers").row_count() == 2);
    // Column lists and WHERE on the key, as drivers send them.
    auto r = f.ok("SELECT peer, data_center, host_id, rack, release_version, rpc_address, schema_version, tokens FROM system.peers WHERE peer = '127.0.0.2'");
    CHECK(r.row_count() == 1);
    r = f.ok("SELECT schema_version FROM system.local WHERE key='local'");
    CHECK(r.rows().metadata.columns.size() == 1);
    CHECK(r.rows().metadata.global_table->keyspace == "system");
}

TEST_CASE("engine: schema_version changes on every schema change", "[sim][engine]") {
    fixture f;
    auto v0 = f.ok("SELECT schema_version FROM system.local").text(0, 0);
    f.schema();
    auto v1 = f.ok("SELECT schema_version FROM system.local").text(0, 0);
    CHECK(v0 != v1);
    f.ok("CREATE TABLE t (k int PRIMARY KEY)");
    auto v2 = f.ok("SELECT schema_version FROM system.local", {}, {}, 2).text(0, 0);
    CHECK(v2 != v1);
    CHECK(f.ok("SELECT schema_version FROM system.peers", {}, {}, 1).text(0, 0) == v2);
}

TEST_CASE("engine: system_schema tables", "[sim][engine]") {
    fixture f;
    f.schema();
    f.ok("CREATE TYPE addr (street text, zip int, tags frozen<set<text>>)");
    f.ok("CREATE TABLE t (k int, c1 int, c2 text, s int static, v map<text, int>, a frozen<addr>, "
         "PRIMARY KEY (k, c1, c2)) WITH CLUSTERING ORDER BY (c1 DESC) AND comment = 'cmt' AND default_time_to_live = 7");
    auto ks = f.ok("SELECT * FROM system_schema.keyspaces");
    std::set<std::string> names;
    for (std::size_t i = 0; i < ks.row_count(); ++i) names.insert(ks.text(i, "keyspace_name"));
    for (const char* k : {"'system'", "'system_schema'", "'system_auth'", "'system_distributed'", "'system_traces'", "'sim'", "'ks'"})
        CHECK(names.count(k) == 1);
    CHECK(column_names(ks) == std::set<std::string>{"keyspace_name", "durable_writes", "replication"});
    auto one = f.ok("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = 'ks'");
    REQUIRE(one.row_count() == 1);
    CHECK(one.text(0, 0) == "{'class': 'org.apache.cassandra.locator.SimpleStrategy', 'replication_factor': '2'}");

    auto tables = f.ok("SELECT * FROM system_schema.tables WHERE keyspace_name = 'ks'");
    REQUIRE(tables.row_count() == 1);
    for (const char* c : {"keyspace_name", "table_name", "bloom_filter_fp_chance", "caching", "cdc", "comment", "compaction",
                          "compression", "crc_check_chance", "dclocal_read_repair_chance", "default_time_to_live",
                          "extensions", "flags", "gc_grace_seconds", "id", "max_index_interval",
                          "memtable_flush_period_in_ms", "min_index_interval", "read_repair_chance", "speculative_retry",
                          "additional_write_policy", "read_repair"})
        CHECK(column_names(tables).count(c) == 1);
    CHECK(tables.text(0, "comment") == "'cmt'");
    CHECK(tables.text(0, "default_time_to_live") == "7");
    CHECK(tables.text(0, "flags") == "{'compound'}");
    auto sys_tables = f.ok("SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'system'");
    CHECK(sys_tables.row_count() >= 3);

    auto cols = f.ok("SELECT * FROM system_schema.columns WHERE keyspace_name = 'ks' AND table_name = 't'");
    REQUIRE(cols.row_count() == 6);
    CHECK(column_names(cols) == std::set<std::string>{"keyspace_name", "table_name", "column_name", "clustering_order",
                                                      "column_name_bytes", "kind", "position", "type"});
    std::map<std::string, std::vector<std::string>> by_name;
    for (std::size_t i = 0; i < cols.row_count(); ++i)
        by_name[cols.text(i, "column_name")] = {cols.text(i, "kind"), cols.text(i, "position"), cols.text(i, "clustering_order"),
                                                cols.text(i, "type")};
    CHECK(by_name["'k'"] == std::vector<std::string>{"'partition_key'", "0", "'none'", "'int'"});
    CHECK(by_name["'c1'"] == std::vector<std::string>{"'clustering'", "0", "'desc'", "'int'"});
    CHECK(by_name["'c2'"] == std::vector<std::string>{"'clustering'", "1", "'asc'", "'text'"});
    CHECK(by_name["'s'"] == std::vector<std::string>{"'static'", "-1", "'none'", "'int'"});
    CHECK(by_name["'v'"] == std::vector<std::string>{"'regular'", "-1", "'none'", "'map<text, int>'"});
    CHECK(by_name["'a'"] == std::vector<std::string>{"'regular'", "-1", "'none'", "'frozen<addr>'"});

    auto types = f.ok("SELECT * FROM system_schema.types WHERE keyspace_name = 'ks'");
    REQUIRE(types.row_count() == 1);
    CHECK(types.text(0, "type_name") == "'addr'");
    CHECK(types.text(0, "field_names") == "['street', 'zip', 'tags']");
    CHECK(types.text(0, "field_types") == "['text', 'int', 'frozen<set<text>>']");

    for (const char* t : {"functions", "aggregates", "indexes", "views", "triggers"}) {
        auto r = f.ok("SELECT * FROM system_schema." + std::string(t));
        CHECK(r.row_count() == 0);
        CHECK(r.rows().metadata.columns.size() >= 3);
        CHECK(f.ok("SELECT * FROM system_schema." + std::string(t) + " WHERE keyspace_name = 'ks'").row_count() == 0);
    }
    for (const char* t : {"keyspaces", "tables", "columns"}) {
        auto r = f.ok("SELECT * FROM system_virtual_schema." + std::string(t));
        CHECK(r.row_count() >= 1);
    }
    // Paging over system tables works too.
    options o;
    o.page_size = 5;
    std::size_t total = 0;
    for (int i = 0; i < 100; ++i) {
        auto r = f.ok("SELECT * FROM system_schema.columns", {}, o);
        total += r.row_count();
        if (!r.rows().metadata.paging_state) break;
        o.paging_state = *r.rows().metadata.paging_state;
    }
    CHECK(total == f.ok("SELECT * FROM system_schema.columns").row_count());
}

TEST_CASE("engine: the sim keyspace through a control plane", "[sim][engine]") {
    fixture f;
    auto r = f.q("SELECT * FROM sim.nodes");
    CHECK(r.code() == proto::server_errc::invalid);
    CHECK(r.message() == "sim control plane not available");
    CHECK(f.q("UPDATE sim.nodes SET latency_ms = 5 WHERE node = 1").message() == "sim control plane not available");
    fake_control_plane cp;
    f.db->set_control_plane(&cp);
    r = f.ok("SELECT * FROM sim.nodes");
    CHECK(r.row_count() == 3);
    CHECK(r.rows().metadata.columns.size() == 12);
    CHECK(r.rows().metadata.columns[0].name == "node");
    r = f.ok("SELECT state, address FROM sim.nodes WHERE node = 1");
    REQUIRE(r.row_count() == 1);
    CHECK(r.text(0, "address") == "'127.0.0.2'");
    f.ok("UPDATE sim.nodes SET latency_ms = 5, fail_error = 'UNAVAILABLE' WHERE node = 1");
    REQUIRE(cp.updates.size() == 2);
    CHECK(std::get<0>(cp.updates[0]) == 1);
    CHECK(std::get<1>(cp.updates[0]) == "latency_ms");
    CHECK(std::get<2>(cp.updates[0]).as_int() == 5);
    CHECK(std::get<2>(cp.updates[1]).as_string() == "UNAVAILABLE");
    r = f.q("UPDATE sim.nodes SET port = 1 WHERE node = 0");
    CHECK(r.code() == proto::server_errc::invalid);
    CHECK(r.message() == "Column port of sim.nodes cannot be updated");
    r = f.ok("SELECT * FROM sim.counters WHERE node = 1");
    REQUIRE(r.row_count() == 1);
    CHECK(r.text(0, "value") == "7");
    // INSERT adds a node (the next id only); without a cluster, none can start.
    CHECK(f.q("INSERT INTO sim.nodes (node) VALUES (7)").message() ==
          "Cannot add node 7: the next node is 3 (ids are given in order and never reused)");
    CHECK(f.q("INSERT INTO sim.nodes (node) VALUES (3)").message() == "Node 3 could not start: Adding nodes needs a cluster");
    CHECK(f.topo->member_count() == 3);
}
