// The simulated cluster over real sockets: handshake, version negotiation,
// framing, compression, authentication, events, faults and counters.
#include "raw_client.hpp"
#include "sim_ports.hpp"
#include "sim_requests.hpp"
#include "tls_cert.hpp"

#include "cqlpp/sim/cluster.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace cqlpp;
using cqlpp::test::raw_client;
using cqlpp::test::rows_of;
using cqlpp::test::simple;
namespace proto = cqlpp::protocol;

namespace {

sim::cluster_config small_cluster(int nodes = 3) {
    sim::cluster_config cfg;
    cfg.topology.nodes = nodes;
    cfg.topology.num_tokens = 8;
    cfg.topology.base_port = cqlpp::test::next_sim_base_port();
    return cfg;
}

std::uint16_t port_of(const sim::cluster& c, int node) { return c.topo().node(node).config.port; }

proto::server_errc error_code(const proto::response& r) {
    REQUIRE(std::holds_alternative<proto::error_response>(r));
    return std::get<proto::error_response>(r).code;
}

std::string text(proto::value_view v) { return std::string(proto::as_chars(v.bytes)); }

}  // namespace

TEST_CASE("handshake and queries over v5 segments, plain and LZ4", "[sim][cluster]") {
    auto c_owner = cqlpp::test::start_sim(small_cluster());
    sim::cluster& c = *c_owner;
    for (bool lz4 : {false, true}) {
        raw_client cl;
        REQUIRE(cl.connect("127.0.0.1", port_of(c, 1)));
        auto sup = cl.request(proto::options_request{});
        auto& s = std::get<proto::supported_response>(sup);
        REQUIRE(s.find("COMPRESSION") != nullptr);
        CHECK(*s.find("COMPRESSION") == std::vector<std::string>{"lz4"});
        CHECK(s.find("PROTOCOL_VERSIONS")->back() == "5/v5");
        cl.handshake(lz4);
        auto r = cl.request(simple("SELECT release_version, rpc_address FROM system.local WHERE key = 'local'"));
        const auto& rows = rows_of(r);
        REQUIRE(rows.size() == 1);
        CHECK(text(rows.cell(0, 0)) == "5.0.2");
        // The coordinator describes itself: node 1 at 127.0.0.1.
        CHECK(proto::to_hex(rows.cell(0, 1).bytes) == "7f000001");
    }
    auto n = c.counters(1);
    CHECK(n.requests_of(proto::opcode::startup) == 2);
    CHECK(n.requests_of(proto::opcode::options) == 4);  // one explicit, one in each handshake
    CHECK(n.requests_of(proto::opcode::query) == 2);
    CHECK(n.connections_total == 2);
    CHECK(n.bytes_in > 0);
    CHECK(n.bytes_out > n.bytes_in);
}

TEST_CASE("version negotiation: a v4-only cluster refuses v5 like Cassandra does", "[sim][cluster]") {
    auto cfg = small_cluster(1);
    cfg.v4_only = true;
    auto c_owner = cqlpp::test::start_sim(cfg);
    sim::cluster& c = *c_owner;
    {
        raw_client cl(proto::protocol_version::v5);
        REQUIRE(cl.connect("127.0.0.1", port_of(c, 0)));
        cl.send(proto::options_request{});
        auto env = cl.recv();
        REQUIRE(env);
        CHECK(env->header.version == proto::protocol_version::v4);  // answered in a version the client can fall back to
        auto r = env->decode();
        REQUIRE(error_code(r) == proto::server_errc::protocol_error);
        CHECK(std::get<proto::error_response>(r).message.find("Invalid or unsupported protocol version (5)") == 0);
    }
    for (bool lz4 : {false, true}) {
        raw_client cl(proto::protocol_version::v4);
        REQUIRE(cl.connect("127.0.0.1", port_of(c, 0)));
        cl.handshake(lz4);
        auto r = cl.request(simple("SELECT cluster_name FROM system.local"));
        CHECK(rows_of(r).size() == 1);
    }
}

TEST_CASE("version negotiation: unknown versions (DSE_V2 0x42, v6, v3) get PROTOCOL_ERROR", "[sim][cluster]") {
    auto c_owner = cqlpp::test::start_sim(small_cluster(1));
    sim::cluster& c = *c_owner;
    for (std::uint8_t v : {0x42, 0x06, 0x03}) {
        raw_client cl;
        REQUIRE(cl.connect("127.0.0.1", port_of(c, 0)));
        // OPTIONS with the raw version byte, stream 7.
        proto::byte_buffer env{v, 0x00, 0x00, 0x07, 0x05, 0x00, 0x00, 0x00, 0x00};
        cl.write(env);
        auto got = cl.recv();
        REQUIRE(got);
        CHECK(got->header.version == proto::protocol_version::v5);
        CHECK(got->header.stream == 7);
        auto r = got->decode();
        REQUIRE(error_code(r) == proto::server_errc::protocol_error);
        CHECK(std::get<proto::error_response>(r).message ==
              "Invalid or unsupported protocol version (" + std::to_string(v) + "); supported versions are (4/v4, 5/v5)");
        CHECK_FALSE(cl.recv(std::chrono::seconds(2)));
        CHECK(cl.closed);
    }
}

TEST_CASE("PLAIN authentication", "[sim][cluster]") {
    auto cfg = small_cluster(1);
    cfg.users = {{"cassandra", "s3cret"}};
    auto c_owner = cqlpp::test::start_sim(cfg);
    sim::cluster& c = *c_owner;

    raw_client good;
    REQUIRE(good.connect("127.0.0.1", port_of(c, 0)));
    good.handshake(false, "cassandra", "s3cret");
    CHECK(rows_of(good.request(simple("SELECT key FROM system.local"))).size() == 1);

    raw_client bad;
    REQUIRE(bad.connect("127.0.0.1", port_of(c, 0)));
    CHECK_THROWS_WITH(bad.handshake(false, "cassandra", "wrong"), "authentication failed");

    // Nothing but AUTH_RESPONSE is accepted while authenticating.
    raw_client early;
    REQUIRE(early.connect("127.0.0.1", port_of(c, 0)));
    std::vector<proto::string_pair> opts{{"CQL_VERSION", "3.0.0"}};
    proto::startup_request s;
    s.options = proto::view_list<proto::string_pair>::owning(opts);
    CHECK(std::holds_alternative<proto::authenticate_response>(early.request(s)));
    early.enable_framing(proto::segment_format::uncompressed);
    CHECK(error_code(early.request(simple("SELECT key FROM system.local"))) == proto::server_errc::protocol_error);
}

TEST_CASE("TLS with a throwaway certificate", "[sim][cluster]") {
    test::tls_files files;
    auto cfg = small_cluster(1);
    cfg.tls = sim::tls_config{files.cert, files.key};
    auto c_owner = cqlpp::test::start_sim(cfg);
    sim::cluster& c = *c_owner;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.load_verify_file(files.cert);
    ctx.set_verify_mode(asio::ssl::verify_peer);
    raw_client cl;
    REQUIRE(cl.connect("127.0.0.1", port_of(c, 0), &ctx));
    cl.handshake(true);
    CHECK(rows_of(cl.request(simple("SELECT key FROM system.local"))).size() == 1);

    // A client that does not trust the certificate cannot connect.
    asio::ssl::context untrusting(asio::ssl::context::tls_client);
    untrusting.set_verify_mode(asio::ssl::verify_peer);
    raw_client refused;
    CHECK_FALSE(refused.connect("127.0.0.1", port_of(c, 0), &untrusting));
}

TEST_CASE("node stop/start: connections dropped, STATUS_CHANGE events, listener closed", "[sim][cluster]") {
    auto c_owner = cqlpp::test::start_sim(small_cluster(3));
    sim::cluster& c = *c_owner;
    raw_client watcher;
    REQUIRE(watcher.connect("127.0.0.1", port_of(c, 0)));
    watcher.handshake();
    proto::register_request reg;
    std::vector<proto::event_type> types{proto::event_type::status_change, proto::event_type::schema_change};
    reg.events = proto::view_list<proto::event_type>::owning(types);
    CHECK(std::holds_alternative<proto::ready_response>(watcher.request(reg)));

    raw_client victim;
    REQUIRE(victim.connect("127.0.0.1", port_of(c, 2)));
    victim.handshake();
    c.stop_node(2);
    CHECK(c.state(2) == sim::node_state::down);
    CHECK_FALSE(victim.recv(std::chrono::seconds(2)));
    CHECK(victim.closed);
    raw_client refused;
    CHECK_FALSE(refused.connect("127.0.0.1", port_of(c, 2), nullptr, std::chrono::milliseconds(500)));

    auto ev = watcher.recv();
    REQUIRE(ev);
    CHECK(ev->header.stream == -1);
    auto r = ev->decode();
    auto& status = std::get<proto::status_change_event>(std::get<proto::event_response>(r).value);
    CHECK(status.change == proto::status_change_type::down);
    CHECK(status.node.port == port_of(c, 2));

    c.start_node(2);
    ev = watcher.recv();
    REQUIRE(ev);
    auto up_r = ev->decode();
    auto& up = std::get<proto::status_change_event>(std::get<proto::event_response>(up_r).value);
    CHECK(up.change == proto::status_change_type::up);
    raw_client again;
    REQUIRE(again.connect("127.0.0.1", port_of(c, 2)));
    again.handshake();
    CHECK(rows_of(again.request(simple("SELECT key FROM system.local"))).size() == 1);
}

TEST_CASE("fault injection: failing requests, pause, latency, corrupt CRC, cut responses", "[sim][cluster]") {
    auto c_owner = cqlpp::test::start_sim(small_cluster(2));
    sim::cluster& c = *c_owner;
    raw_client cl;
    REQUIRE(cl.connect("127.0.0.1", port_of(c, 0)));
    cl.handshake();

    SECTION("fail the next N requests with a chosen error") {
        c.fail_next(0, 2, sim::fault_error::unavailable);
        auto r1 = cl.request(simple("SELECT key FROM system.local"));
        REQUIRE(error_code(r1) == proto::server_errc::unavailable);
        auto& info = std::get<proto::unavailable_info>(std::get<proto::error_response>(r1).details);
        CHECK(info.required > info.alive);
        CHECK(error_code(cl.request(simple("SELECT key FROM system.local"))) == proto::server_errc::unavailable);
        CHECK(rows_of(cl.request(simple("SELECT key FROM system.local"))).size() == 1);
        CHECK(c.counters(0).errors_injected == 2);
        for (auto e : {sim::fault_error::overloaded, sim::fault_error::read_timeout, sim::fault_error::write_timeout,
                       sim::fault_error::server_error, sim::fault_error::is_bootstrapping}) {
            c.fail_next(0, 1, e);
            auto r = cl.request(simple("SELECT key FROM system.local"));
            REQUIRE(std::holds_alternative<proto::error_response>(r));
            CHECK(proto::to_string(std::get<proto::error_response>(r).code) == sim::to_string(e));
        }
    }
    SECTION("pause: nothing answered until resumed, then the held request is") {
        c.pause_node(0, true);
        const auto held = cl.send(simple("SELECT key FROM system.local"));
        CHECK_FALSE(cl.recv(std::chrono::milliseconds(300)));
        CHECK_FALSE(cl.closed);
        c.pause_node(0, false);
        auto late = cl.recv();
        REQUIRE(late);
        CHECK(late->header.stream == held);
        CHECK(rows_of(cl.request(simple("SELECT key FROM system.local"))).size() == 1);
    }
    SECTION("added latency delays the response by at least that much") {
        c.set_latency(0, std::chrono::milliseconds(80));
        auto t0 = std::chrono::steady_clock::now();
        CHECK(rows_of(cl.request(simple("SELECT key FROM system.local"))).size() == 1);
        CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(80));
    }
    SECTION("corrupt CRC: the client's decoder rejects the segment") {
        c.corrupt_crc(0, 1);
        cl.send(simple("SELECT key FROM system.local"));
        CHECK_FALSE(cl.recv());
        CHECK(cl.framing_error == proto::errc::bad_payload_crc);
    }
    SECTION("close mid-response: partial bytes, then the connection closes") {
        c.close_mid_response(0, 1);
        cl.send(simple("SELECT key FROM system.local"));
        CHECK_FALSE(cl.recv());
        CHECK(cl.closed);
    }
}

TEST_CASE("fault injection and counters through CQL (the sim keyspace)", "[sim][cluster]") {
    auto c_owner = cqlpp::test::start_sim(small_cluster(2));
    sim::cluster& c = *c_owner;
    raw_client cl;
    REQUIRE(cl.connect("127.0.0.1", port_of(c, 0)));
    cl.handshake();
    auto r = cl.request(simple("UPDATE sim.nodes SET fail_next = 1, fail_error = 'OVERLOADED' WHERE node = 1"));
    REQUIRE_FALSE(std::holds_alternative<proto::error_response>(r));
    raw_client other;
    REQUIRE(other.connect("127.0.0.1", port_of(c, 1)));
    other.handshake();
    CHECK(error_code(other.request(simple("SELECT key FROM system.local"))) == proto::server_errc::overloaded);

    auto nodes = rows_of(cl.request(simple("SELECT node, state FROM sim.nodes")));
    CHECK(nodes.size() == 2);
    auto counters = rows_of(cl.request(simple("SELECT name, value FROM sim.counters WHERE node = 1")));
    bool found = false;
    for (std::size_t i = 0; i < counters.size(); ++i) {
        if (text(counters.cell(i, 0)) == "errors_injected") {
            found = true;
            CHECK(proto::to_hex(counters.cell(i, 1).bytes) == "0000000000000001");
        }
    }
    CHECK(found);
    CHECK(error_code(cl.request(simple("UPDATE sim.nodes SET fail_error = 'NOPE' WHERE node = 1"))) ==
          proto::server_errc::invalid);
}

TEST_CASE("protocol errors keep the server up", "[sim][cluster]") {
    auto c_owner = cqlpp::test::start_sim(small_cluster(1));
    sim::cluster& c = *c_owner;
    raw_client cl;
    REQUIRE(cl.connect("127.0.0.1", port_of(c, 0)));
    cl.handshake();
    // A request before STARTUP on a fresh connection.
    raw_client fresh;
    REQUIRE(fresh.connect("127.0.0.1", port_of(c, 0)));
    CHECK(error_code(fresh.request(simple("SELECT key FROM system.local"))) == proto::server_errc::protocol_error);
    // Garbage framing: the server answers PROTOCOL_ERROR and hangs up.
    proto::byte_buffer junk(64, 0xAB);
    cl.write(junk);
    auto env = cl.recv();
    (void)env;
    CHECK_FALSE(cl.recv(std::chrono::seconds(2)));
    // Others are unaffected.
    raw_client after;
    REQUIRE(after.connect("127.0.0.1", port_of(c, 0)));
    after.handshake(true);
    CHECK(rows_of(after.request(simple("SELECT key FROM system.local"))).size() == 1);
}

TEST_CASE("cluster: listen() fails on a taken port before anything serves, run() reuses its listeners", "[sim][cluster]") {
    auto cfg = small_cluster(1);
    auto first_owner = std::make_unique<sim::cluster>(cfg);
    for (int attempt = 0; attempt < 30; ++attempt) {  // a base whose port is free
        try {
            first_owner->listen();
            break;
        } catch (const std::system_error&) {
            cfg = small_cluster(1);
            first_owner = std::make_unique<sim::cluster>(cfg);
        }
    }
    sim::cluster& first = *first_owner;
    sim::cluster second(cfg);
    CHECK_THROWS_AS(second.listen(), std::system_error);
    // start() after listen() serves on the listeners already open.
    first.start();
    first.stop();
    sim::cluster third(cfg);
    CHECK_NOTHROW(third.listen());
}
