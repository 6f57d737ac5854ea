// Virtual tables drivers and operators read (system_views.clients and
// settings, system_virtual_schema) and the custom payload echo, over sockets.
#include "raw_client.hpp"
#include "sim_ports.hpp"
#include "sim_requests.hpp"

#include "cqlpp/sim/cluster.hpp"

#include <catch2/catch.hpp>


#include <map>
#include <memory>
#include <set>
#include <thread>

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
    cfg.topology.base_port = cqlpp::test::next_sim_base_port();
    return cfg;
}

std::uint16_t port_of(const sim::cluster& c, int node) { return c.topo().node(node).config.port; }

std::string text(proto::value_view v) { return std::string(proto::as_chars(v.bytes)); }
std::int32_t i32(proto::value_view v) { return static_cast<std::int32_t>(proto::detail::load_be32(v.bytes.data())); }
std::int64_t i64(proto::value_view v) { return static_cast<std::int64_t>(proto::detail::load_be64(v.bytes.data())); }

// A handshake with the STARTUP options a driver sends.
void driver_handshake(raw_client& cl, const std::string& name, const std::string& version) {
    REQUIRE(std::holds_alternative<proto::supported_response>(cl.request(proto::options_request{})));
    std::vector<proto::string_pair> opts{{"CQL_VERSION", "3.0.0"}, {"DRIVER_NAME", name}, {"DRIVER_VERSION", version}};
    proto::startup_request s;
    s.options = proto::view_list<proto::string_pair>::owning(opts);
    REQUIRE(std::holds_alternative<proto::ready_response>(cl.request(s)));
    cl.enable_framing(proto::segment_format::uncompressed);
}

std::size_t column(const proto::rows_result& r, std::string_view name) {
    for (std::size_t i = 0; i < r.metadata.columns.size(); ++i)
        if (r.metadata.columns[i].name == name) return i;
    FAIL("no column " << name);
    return 0;
}

}  // namespace

TEST_CASE("system_views.clients: one row per connection to the node, from its STARTUP and requests",
          "[sim][views]") {
    auto c_owner = cqlpp::test::start_sim(cfg_of(2));
    sim::cluster& c = *c_owner;
    raw_client a, other;
    auto b_owner = std::make_unique<raw_client>();
    raw_client& b = *b_owner;
    REQUIRE(a.connect("127.0.0.1", port_of(c, 0)));
    driver_handshake(a, "cqlpp test", "1.2.3");
    REQUIRE(b.connect("127.0.0.1", port_of(c, 0)));
    driver_handshake(b, "other driver", "9.9");
    REQUIRE(other.connect("127.0.0.1", port_of(c, 1)));  // another node: not listed on node 0
    other.handshake();
    for (int i = 0; i < 3; ++i) rows_of(b.request(simple("SELECT key FROM system.local")));
    REQUIRE_FALSE(std::holds_alternative<proto::error_response>(
        b.request(simple("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"))));
    REQUIRE_FALSE(std::holds_alternative<proto::error_response>(b.request(simple("USE ks"))));

    auto r = rows_of(a.request(simple("SELECT * FROM system_views.clients")));
    // Cassandra 5.0's columns, in SELECT * order.
    std::vector<std::string> names;
    for (const auto& col : r.metadata.columns) names.emplace_back(col.name);
    CHECK(names == std::vector<std::string>{"address", "port", "client_options", "connection_stage", "driver_name",
                                            "driver_version", "hostname", "keyspace_name", "protocol_version",
                                            "request_count", "ssl_cipher_suite", "ssl_enabled", "ssl_protocol", "username"});
    REQUIRE(r.size() == 2);
    std::map<std::string, std::size_t> by_driver;
    for (std::size_t i = 0; i < r.size(); ++i) by_driver[text(r.cell(i, column(r, "driver_name")))] = i;
    REQUIRE(by_driver.count("cqlpp test") == 1);
    REQUIRE(by_driver.count("other driver") == 1);
    const auto ra = by_driver["cqlpp test"], rb = by_driver["other driver"];
    CHECK(text(r.cell(ra, column(r, "driver_version"))) == "1.2.3");
    CHECK(text(r.cell(ra, column(r, "connection_stage"))) == "ready");
    CHECK(text(r.cell(ra, column(r, "username"))) == "anonymous");
    CHECK(text(r.cell(ra, column(r, "hostname"))) == "localhost");
    CHECK(i32(r.cell(ra, column(r, "protocol_version"))) == 5);
    CHECK(r.cell(ra, column(r, "ssl_enabled")).bytes.size() == 1);
    CHECK(r.cell(ra, column(r, "ssl_enabled")).bytes[0] == 0);
    CHECK(r.cell(ra, column(r, "keyspace_name")).is_null());
    CHECK(text(r.cell(rb, column(r, "keyspace_name"))) == "ks");
    // OPTIONS, STARTUP, 3 SELECTs, CREATE, USE on b; OPTIONS, STARTUP and this SELECT on a.
    CHECK(i64(r.cell(rb, column(r, "request_count"))) == 7);
    CHECK(i64(r.cell(ra, column(r, "request_count"))) == 3);
    CHECK(i32(r.cell(ra, column(r, "port"))) > 0);

    // Closed connections leave the table.
    b_owner.reset();
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
        gone = rows_of(a.request(simple("SELECT driver_name FROM system_views.clients"))).size() == 1;
        if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(gone);
}

TEST_CASE("system_views.settings and system_virtual_schema list the virtual keyspaces", "[sim][views]") {
    auto c_owner = cqlpp::test::start_sim(cfg_of(1));
    sim::cluster& c = *c_owner;
    raw_client cl;
    REQUIRE(cl.connect("127.0.0.1", port_of(c, 0)));
    cl.handshake();
    auto s = rows_of(cl.request(simple("SELECT value FROM system_views.settings WHERE name = 'native_transport_port'")));
    REQUIRE(s.size() == 1);
    CHECK(text(s.cell(0, 0)) == std::to_string(port_of(c, 0)));

    auto ks = rows_of(cl.request(simple("SELECT keyspace_name FROM system_virtual_schema.keyspaces")));
    std::set<std::string> names;
    for (std::size_t i = 0; i < ks.size(); ++i) names.insert(text(ks.cell(i, 0)));
    CHECK(names == std::set<std::string>{"system_views", "system_virtual_schema"});
    auto tables = rows_of(cl.request(simple("SELECT table_name FROM system_virtual_schema.tables WHERE keyspace_name = 'system_views'")));
    std::set<std::string> tnames;
    for (std::size_t i = 0; i < tables.size(); ++i) tnames.insert(text(tables.cell(i, 0)));
    CHECK(tnames.count("clients") == 1);
    CHECK(tnames.count("settings") == 1);
    CHECK(rows_of(cl.request(simple("SELECT column_name FROM system_virtual_schema.columns WHERE keyspace_name = 'system_views' "
                                    "AND table_name = 'clients'")))
              .size() == 14);
    // Virtual keyspaces are not in system_schema.
    CHECK(rows_of(cl.request(simple("SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = 'system_views'")))
              .size() == 0);
}

TEST_CASE("custom payload: echoed when the node is told to, ignored otherwise (like Cassandra)", "[sim][payload]") {
    auto c_owner = cqlpp::test::start_sim(cfg_of(1));
    sim::cluster& c = *c_owner;
    raw_client cl;
    REQUIRE(cl.connect("127.0.0.1", port_of(c, 0)));
    cl.handshake();

    // QUERY with flag 0x04: the [bytes map] precedes the message body.
    auto send_with_payload = [&] {
        proto::envelope_header h;
        h.version = proto::protocol_version::v5;
        h.stream = 77;
        h.op = proto::opcode::query;
        h.flags = proto::envelope_flags::custom_payload;
        proto::byte_buffer env(proto::envelope_header_size);
        proto::byte_writer w(env);
        proto::body_prefix p;
        const std::string value = "v1";
        p.custom_payload.emplace_back("k1", proto::as_bytes(value));
        p.custom_payload.emplace_back("k2", std::nullopt);
        proto::write_body_prefix(w, h, p);
        simple("SELECT key FROM system.local").encode(w, h.version);
        h.body_length = static_cast<std::uint32_t>(env.size() - proto::envelope_header_size);
        proto::write_envelope_header(env.data(), h);
        cl.send_raw_envelope(env);
        auto r = cl.recv();
        REQUIRE(r);
        CHECK(r->header.stream == 77);
        CHECK(r->header.op == proto::opcode::result);
        return *r;
    };
    auto plain = send_with_payload();
    CHECK((plain.header.flags & proto::envelope_flags::custom_payload) == 0);

    c.echo_payload(0, true);
    auto echoed = send_with_payload();
    REQUIRE((echoed.header.flags & proto::envelope_flags::custom_payload) != 0);
    proto::body_prefix prefix;
    proto::bytes_view message;
    REQUIRE(proto::split_body(echoed.header, echoed.body, prefix, message) == proto::errc::ok);
    REQUIRE(prefix.custom_payload.size() == 2);
    CHECK(prefix.custom_payload[0].first == "k1");
    REQUIRE(prefix.custom_payload[0].second);
    CHECK(std::string(proto::as_chars(*prefix.custom_payload[0].second)) == "v1");
    CHECK(prefix.custom_payload[1].first == "k2");
    CHECK_FALSE(prefix.custom_payload[1].second);
    CHECK(rows_of(echoed.decode()).size() == 1);

    // Through CQL too.
    REQUIRE_FALSE(std::holds_alternative<proto::error_response>(cl.request(simple("UPDATE sim.nodes SET echo_payload = false WHERE node = 0"))));
    CHECK((send_with_payload().header.flags & proto::envelope_flags::custom_payload) == 0);
    auto n = rows_of(cl.request(simple("SELECT echo_payload FROM sim.nodes WHERE node = 0")));
    REQUIRE(n.size() == 1);
    CHECK(n.cell(0, 0).bytes[0] == 0);
}
