// Request tracing over real sockets: the tracing flag (0x02) gets a tracing id
// before the body, and system_traces.sessions / events hold the trace with
// Cassandra 5.0's columns.
#include "raw_client.hpp"
#include "sim_ports.hpp"
#include "sim_requests.hpp"

#include "cqlpp/protocol/literal.hpp"
#include "cqlpp/sim/cluster.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace cqlpp;
using cqlpp::test::raw_client;
using cqlpp::test::rows_of;
using cqlpp::test::simple;
namespace proto = cqlpp::protocol;

namespace {

std::string text(proto::value_view v) { return std::string(proto::as_chars(v.bytes)); }
std::int32_t int32(proto::value_view v) { return static_cast<std::int32_t>(proto::detail::load_be32(v.bytes.data())); }

std::string uuid_text(const proto::uuid_bytes& u) {
    return proto::format_literal(proto::cql_type(proto::type_kind::uuid), proto::cql_value::uuid(u));
}

struct traced_reply {
    proto::envelope_header header;
    std::optional<proto::uuid_bytes> tracing_id;
    proto::response response;
};

// Sends with the tracing flag and splits the reply's prefix.
traced_reply send_traced(raw_client& cl, const proto::request& r, std::vector<proto::byte_buffer>& keep) {
    cl.send(r, proto::envelope_flags::tracing);
    auto env = cl.recv();
    REQUIRE(env);
    keep.push_back(env->body);
    traced_reply out;
    out.header = env->header;
    proto::body_prefix prefix;
    proto::bytes_view message;
    REQUIRE(proto::split_body(env->header, keep.back(), prefix, message) == proto::errc::ok);
    out.tracing_id = prefix.tracing_id;
    REQUIRE(proto::decode_response(env->header.op, message, env->header.version, out.response) == proto::errc::ok);
    return out;
}

std::map<std::string, proto::type_kind> column_types(const proto::rows_result& rows) {
    std::map<std::string, proto::type_kind> m;
    for (const auto& c : rows.metadata.columns) m[c.name] = c.type.kind;
    return m;
}

}  // namespace

TEST_CASE("tracing: the flag gets a tracing id and system_traces rows with Cassandra 5.0's schema", "[sim][tracing]") {
    sim::cluster_config cfg;
    cfg.topology.nodes = 3;
    cfg.topology.num_tokens = 8;
    auto c_owner = cqlpp::test::start_sim(cfg);
    sim::cluster& c = *c_owner;
    raw_client cl;
    REQUIRE(cl.connect("127.0.0.1", c.topo().node(0).config.port));
    cl.handshake();
    std::vector<proto::byte_buffer> keep;

    REQUIRE(!std::holds_alternative<proto::error_response>(
        cl.request(simple("CREATE KEYSPACE tr WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}"))));
    REQUIRE(!std::holds_alternative<proto::error_response>(cl.request(simple("CREATE TABLE tr.t (k int PRIMARY KEY, v text)"))));

    // Without the flag: no tracing id.
    cl.send(simple("INSERT INTO tr.t (k, v) VALUES (0, 'a')"));
    auto plain = cl.recv();
    REQUIRE(plain);
    CHECK((plain->header.flags & proto::envelope_flags::tracing) == 0);

    const std::string insert = "INSERT INTO tr.t (k, v) VALUES (1, 'one')";
    auto w = send_traced(cl, simple(insert, proto::consistency::quorum), keep);
    REQUIRE((w.header.flags & proto::envelope_flags::tracing) != 0);
    REQUIRE(w.tracing_id);
    REQUIRE(std::holds_alternative<proto::result_response>(w.response));
    CHECK((*w.tracing_id)[6] >> 4 == 1);  // a time-based (version 1) uuid

    const std::string id = uuid_text(*w.tracing_id);
    auto sr = cl.request(simple("SELECT * FROM system_traces.sessions WHERE session_id = " + id));
    const auto& sessions = rows_of(sr);
    REQUIRE(sessions.size() == 1);
    using tk = proto::type_kind;
    CHECK(column_types(sessions) == std::map<std::string, tk>{{"session_id", tk::uuid},
                                                               {"client", tk::inet},
                                                               {"command", tk::text},
                                                               {"coordinator", tk::inet},
                                                               {"coordinator_port", tk::int_},
                                                               {"duration", tk::int_},
                                                               {"parameters", tk::map},
                                                               {"request", tk::text},
                                                               {"started_at", tk::timestamp}});
    auto col = [&](const proto::rows_result& rows, std::size_t row, std::string_view name) {
        for (std::size_t i = 0; i < rows.metadata.columns.size(); ++i)
            if (rows.metadata.columns[i].name == name) return rows.cell(row, i);
        FAIL("no column " << name);
        return proto::value_view{};
    };
    CHECK(proto::to_hex(col(sessions, 0, "coordinator").bytes) == "7f000001");
    CHECK(proto::to_hex(col(sessions, 0, "client").bytes) == "7f000001");
    CHECK(text(col(sessions, 0, "command")) == "QUERY");
    CHECK(text(col(sessions, 0, "request")) == "Execute CQL3 query");
    CHECK(int32(col(sessions, 0, "duration")) > 0);
    // parameters: a map<text, text> holding the query and its consistency.
    const std::string params(proto::as_chars(col(sessions, 0, "parameters").bytes));
    CHECK(params.find(insert) != std::string::npos);
    CHECK(params.find("QUORUM") != std::string::npos);

    auto er = cl.request(simple("SELECT * FROM system_traces.events WHERE session_id = " + id));
    const auto& events = rows_of(er);
    CHECK(column_types(events) == std::map<std::string, tk>{{"session_id", tk::uuid},
                                                             {"event_id", tk::timeuuid},
                                                             {"activity", tk::text},
                                                             {"source", tk::inet},
                                                             {"source_elapsed", tk::int_},
                                                             {"source_port", tk::int_},
                                                             {"thread", tk::text}});
    REQUIRE(events.size() >= 4);
    CHECK(text(col(events, 0, "activity")) == "Parsing " + insert);
    std::set<std::string> sources, activities;
    std::int32_t last = -1;
    for (std::size_t i = 0; i < events.size(); ++i) {
        sources.insert(proto::to_hex(col(events, i, "source").bytes) + ":" +
                       std::to_string(int32(col(events, i, "source_port"))));
        activities.insert(text(col(events, i, "activity")));
        const auto elapsed = int32(col(events, i, "source_elapsed"));
        CHECK(elapsed > last);  // ordered by event_id, which follows time
        last = elapsed;
    }
    // RF 2: both replicas wrote it (the coordinator may be one of them). All
    // nodes share 127.0.0.1 here; the port tells them apart.
    CHECK(sources.size() >= 2);
    CHECK(sources.count("7f000001:7000") == 1);  // node 0, the coordinator
    CHECK(activities.count("Adding to t memtable") == 1);  // a set: once or more
    CHECK(activities.count("Appending to commitlog") == 1);

    // A traced read: the replica's read events, and a new session.
    auto r = send_traced(cl, simple("SELECT v FROM tr.t WHERE k = 1"), keep);
    REQUIRE(r.tracing_id);
    CHECK(*r.tracing_id != *w.tracing_id);
    CHECK(rows_of(r.response).size() == 1);
    auto rr = cl.request(simple("SELECT activity FROM system_traces.events WHERE session_id = " + uuid_text(*r.tracing_id)));
    bool read_event = false;
    for (std::size_t i = 0; i < rows_of(rr).size(); ++i)
        read_event |= text(rows_of(rr).cell(i, 0)) == "Executing single-partition query on t";
    CHECK(read_event);

    // A failing traced request still answers its error, with its trace.
    auto bad = send_traced(cl, simple("SELECT nope FROM tr.t WHERE k = 1"), keep);
    REQUIRE(std::holds_alternative<proto::error_response>(bad.response));
    REQUIRE(bad.tracing_id);
    auto br = cl.request(simple("SELECT activity FROM system_traces.events WHERE session_id = " + uuid_text(*bad.tracing_id)));
    REQUIRE(rows_of(br).size() >= 2);
    CHECK(text(rows_of(br).cell(rows_of(br).size() - 1, 0)).rfind("Request failed: ", 0) == 0);

    // Requests other than QUERY / PREPARE / EXECUTE / BATCH ignore the flag.
    cl.send(proto::options_request{}, proto::envelope_flags::tracing);
    auto opt = cl.recv();
    REQUIRE(opt);
    CHECK((opt->header.flags & proto::envelope_flags::tracing) == 0);
    c.stop();
}
