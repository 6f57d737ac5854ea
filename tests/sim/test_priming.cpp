// The simulated cluster as a test fixture: free ports, priming (canned
// answers per query and node) and the activity log, over real sockets.
#include "raw_client.hpp"
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

// Every cluster here binds free ports: nothing to collide with.
sim::cluster_config free_ports(int nodes = 2) {
    sim::cluster_config cfg;
    cfg.topology.nodes = nodes;
    cfg.topology.num_tokens = 4;
    cfg.topology.port = 0;
    return cfg;
}

const proto::error_response& error_of(const proto::response& r) {
    REQUIRE(std::holds_alternative<proto::error_response>(r));
    return std::get<proto::error_response>(r);
}

bool is_void(const proto::response& r) {
    auto* res = std::get_if<proto::result_response>(&r);
    return res && std::holds_alternative<proto::void_result>(res->value);
}

std::string text(proto::value_view v) { return std::string(proto::as_chars(v.bytes)); }
std::int32_t int_of(proto::value_view v) {
    REQUIRE(v.bytes.size() == 4);
    return static_cast<std::int32_t>(proto::detail::load_be32(v.bytes.data()));
}

void connect(raw_client& cl, const sim::cluster& c, int node) {
    auto ep = c.endpoint(node);
    REQUIRE(cl.connect(ep.address, ep.port));
    cl.handshake();
}

proto::byte_buffer int_bytes(std::int32_t v) {
    auto u = static_cast<std::uint32_t>(v);
    return {static_cast<std::uint8_t>(u >> 24), static_cast<std::uint8_t>(u >> 16), static_cast<std::uint8_t>(u >> 8),
            static_cast<std::uint8_t>(u)};
}

}  // namespace

TEST_CASE("free ports: port 0 binds a free port per node, reported by the API, system.local/peers_v2 and sim.nodes",
          "[sim][fixture]") {
    sim::cluster a(free_ports(3));
    sim::cluster b(free_ports(3));  // a second one at the same time: no collision
    a.start();
    b.start();
    for (int n = 0; n < 3; ++n) {
        CHECK(a.endpoint(n).port != 0);
        CHECK(a.endpoint(n).address == "127.0.0." + std::to_string(n + 1));
        CHECK(a.contact_points()[static_cast<std::size_t>(n)] == a.endpoint(n).to_string());
    }
    raw_client cl;
    connect(cl, a, 0);
    auto local = rows_of(cl.request(simple("SELECT rpc_port FROM system.local")));
    CHECK(int_of(local.cell(0, 0)) == a.endpoint(0).port);
    // What a driver reads to find the other nodes must be where they listen.
    auto peers = rows_of(cl.request(simple("SELECT native_address, native_port FROM system.peers_v2")));
    REQUIRE(peers.size() == 2);
    std::set<std::pair<std::string, int>> seen, want;
    for (std::size_t i = 0; i < peers.size(); ++i) {
        auto addr = peers.cell(i, 0).bytes;
        REQUIRE(addr.size() == 4);
        seen.insert({"127.0.0." + std::to_string(addr[3]), int_of(peers.cell(i, 1))});
    }
    for (int n = 1; n < 3; ++n) want.insert({a.endpoint(n).address, a.endpoint(n).port});
    CHECK(seen == want);
    auto nodes = rows_of(cl.request(simple("SELECT port FROM sim.nodes WHERE node = 2")));
    CHECK(int_of(nodes.cell(0, 0)) == a.endpoint(2).port);
    for (int n = 0; n < 3; ++n) {
        raw_client other;
        connect(other, a, n);
        CHECK(rows_of(other.request(simple("SELECT key FROM system.local"))).size() == 1);
    }
    // A restarted node listens on the port it had.
    const auto before = a.endpoint(1);
    a.stop_node(1);
    a.start_node(1);
    CHECK(a.endpoint(1).port == before.port);
    raw_client again;
    connect(again, a, 1);
    CHECK(rows_of(again.request(simple("SELECT key FROM system.local"))).size() == 1);
}

TEST_CASE("priming: rows, void and errors by query text; other queries run on the engine", "[sim][fixture]") {
    sim::cluster c(free_ports(2));
    c.start();
    raw_client cl;
    connect(cl, c, 0);

    sim::prime_rule rows;
    rows.query = "SELECT name, qty FROM shop.items WHERE id = 1";
    rows.then = sim::prime_rows{{{"name", "text"}, {"qty", "int"}}, {{"'apple'", "3"}, {"'pear'", "null"}}};
    c.prime(rows);
    auto r = rows_of(cl.request(simple(rows.query)));
    REQUIRE(r.size() == 2);
    REQUIRE(r.metadata.columns.size() == 2);
    CHECK(r.metadata.columns[1].name == "qty");
    CHECK(r.metadata.columns[1].type.kind == proto::type_kind::int_);
    CHECK(text(r.cell(0, 0)) == "apple");
    CHECK(int_of(r.cell(0, 1)) == 3);
    CHECK(r.cell(1, 1).is_null());
    // Not primed: the engine (no such keyspace).
    CHECK(error_of(cl.request(simple("SELECT name FROM shop.items WHERE id = 2"))).code == proto::server_errc::invalid);
    CHECK(rows_of(cl.request(simple("SELECT key FROM system.local"))).size() == 1);

    SECTION("void, prefix and regex") {
        sim::prime_rule w;
        w.query = "INSERT INTO shop.";
        w.match = sim::prime_match::prefix;
        c.prime(w);
        CHECK(is_void(cl.request(simple("INSERT INTO shop.items (id) VALUES (5)"))));
        sim::prime_rule re;
        re.query = "DELETE FROM shop\\.items WHERE id = [0-9]+";
        re.match = sim::prime_match::regex;
        re.then = sim::server_error(proto::server_errc::truncate_error, "primed");
        c.prime(re);
        CHECK(error_of(cl.request(simple("DELETE FROM shop.items WHERE id = 42"))).code == proto::server_errc::truncate_error);
        CHECK(error_of(cl.request(simple("DELETE FROM shop.items WHERE id = x"))).code != proto::server_errc::truncate_error);
    }
    SECTION("errors carry their fields") {
        sim::prime_rule u;
        u.query = "SELECT * FROM shop.stock";
        u.then = sim::unavailable_error(proto::consistency::quorum, 2, 1);
        c.prime(u);
        auto e = error_of(cl.request(simple(u.query)));
        REQUIRE(e.code == proto::server_errc::unavailable);
        CHECK(std::get<proto::unavailable_info>(e.details) == proto::unavailable_info{proto::consistency::quorum, 2, 1});
        sim::prime_rule wt;
        wt.query = "UPDATE shop.stock SET n = 1 WHERE id = 1";
        wt.then = sim::write_timeout_error(proto::consistency::local_quorum, 1, 2, "BATCH_LOG");
        c.prime(wt);
        auto e2 = error_of(cl.request(simple(wt.query)));
        REQUIRE(e2.code == proto::server_errc::write_timeout);
        const auto& info = std::get<proto::write_timeout_info>(e2.details);
        CHECK(info.write_type == "BATCH_LOG");
        CHECK(info.block_for == 2);
        CHECK(info.cl == proto::consistency::local_quorum);
    }
    SECTION("node, consistency and one-shot rules; newest first; clear_primes") {
        sim::prime_rule n1;
        n1.query = "SELECT x FROM t";
        n1.node = 1;
        n1.then = sim::server_error(proto::server_errc::overloaded, "node 1 is busy");
        c.prime(n1);
        CHECK(error_of(cl.request(simple("SELECT x FROM t"))).code == proto::server_errc::invalid);  // node 0: engine
        raw_client one;
        connect(one, c, 1);
        CHECK(error_of(one.request(simple("SELECT x FROM t"))).code == proto::server_errc::overloaded);

        sim::prime_rule q;
        q.query = "SELECT x FROM t";
        q.consistency = proto::consistency::quorum;
        q.times = 1;
        c.prime(q);  // newer: tried first, at QUORUM only, once
        CHECK(is_void(one.request(simple("SELECT x FROM t", proto::consistency::quorum))));
        CHECK(error_of(one.request(simple("SELECT x FROM t", proto::consistency::quorum))).code ==
              proto::server_errc::overloaded);
        CHECK(c.prime_count() == 2);  // rows + n1: the one-shot rule is gone
        CHECK(c.counters(1).primed_responses == 3);
        c.clear_primes();
        CHECK(c.prime_count() == 0);
        CHECK(error_of(one.request(simple("SELECT x FROM t"))).code == proto::server_errc::invalid);
    }
    SECTION("bound values") {
        sim::prime_rule v;
        v.query = "SELECT v FROM t WHERE k = ?";
        v.params = {{"k", "int"}};
        v.values = std::vector<std::string>{"7"};
        v.then = sim::prime_void{};
        c.prime(v);
        auto q = simple(v.query);
        auto seven = int_bytes(7), eight = int_bytes(8);
        std::vector<proto::value_view> vals{proto::value_view::of(seven)};
        q.params.values = proto::view_list<proto::value_view>::owning(vals);
        CHECK(is_void(cl.request(q)));
        vals = {proto::value_view::of(eight)};
        q.params.values = proto::view_list<proto::value_view>::owning(vals);
        CHECK(error_of(cl.request(q)).code == proto::server_errc::invalid);  // the engine
    }
}

TEST_CASE("priming: delay, closing the connection, no answer", "[sim][fixture]") {
    sim::cluster c(free_ports(1));
    c.start();
    raw_client cl;
    connect(cl, c, 0);
    sim::prime_rule slow;
    slow.query = "SELECT slow";
    slow.delay = std::chrono::milliseconds(150);
    c.prime(slow);
    auto t0 = std::chrono::steady_clock::now();
    CHECK(is_void(cl.request(simple("SELECT slow"))));
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(150));

    sim::prime_rule silent;
    silent.query = "SELECT silent";
    silent.then = sim::prime_no_answer{};
    c.prime(silent);
    cl.send(simple("SELECT silent"));
    CHECK_FALSE(cl.recv(std::chrono::milliseconds(300)));
    CHECK_FALSE(cl.closed);
    CHECK(rows_of(cl.request(simple("SELECT key FROM system.local"))).size() == 1);  // the connection still serves

    sim::prime_rule hangup;
    hangup.query = "SELECT hangup";
    hangup.then = sim::prime_close_connection{};
    c.prime(hangup);
    cl.send(simple("SELECT hangup"));
    CHECK_FALSE(cl.recv(std::chrono::seconds(2)));
    CHECK(cl.closed);
    raw_client next;
    connect(next, c, 0);
    CHECK(rows_of(next.request(simple("SELECT key FROM system.local"))).size() == 1);
}

TEST_CASE("priming: PREPARE of a primed text without a schema, then EXECUTE answers the prime", "[sim][fixture]") {
    sim::cluster c(free_ports(1));
    c.set_activity_log(16);
    c.start();
    raw_client cl;
    connect(cl, c, 0);
    sim::prime_rule p;
    p.query = "SELECT name FROM app.users WHERE id = ?";
    p.params = {{"id", "int"}};
    p.then = sim::prime_rows{{{"name", "text"}}, {{"'ada'"}}};
    p.times = 1;
    c.prime(p);
    auto prep = cl.request(proto::prepare_request{p.query, std::nullopt});
    REQUIRE(std::holds_alternative<proto::result_response>(prep));
    const auto& pr = std::get<proto::prepared_result>(std::get<proto::result_response>(prep).value);
    REQUIRE(pr.variables.columns.size() == 1);
    CHECK(pr.variables.columns[0].name == "id");
    CHECK(pr.variables.columns[0].type.kind == proto::type_kind::int_);
    REQUIRE(pr.result.columns.size() == 1);
    CHECK(pr.result.columns[0].name == "name");

    auto id = pr.id;
    auto mid = pr.result_metadata_id;
    auto three = int_bytes(3);
    std::vector<proto::value_view> vals{proto::value_view::of(three)};
    proto::execute_request ex;
    ex.id = id;
    ex.result_metadata_id = mid;
    ex.params.cl = proto::consistency::local_quorum;
    ex.params.values = proto::view_list<proto::value_view>::owning(vals);
    auto r = rows_of(cl.request(ex));
    REQUIRE(r.size() == 1);
    CHECK(text(r.cell(0, 0)) == "ada");
    // The one-shot prime is used up: the id says so instead of UNPREPARED (a driver would re-prepare forever).
    auto gone = error_of(cl.request(ex));
    CHECK(gone.code == proto::server_errc::invalid);
    CHECK(gone.message.find("prepared from a prime") != std::string::npos);

    auto log = c.activity(0);
    REQUIRE(log.size() == 3);
    CHECK(log[0].op == proto::opcode::prepare);
    CHECK(log[0].primed);
    CHECK(log[1].op == proto::opcode::execute);
    CHECK(log[1].query == p.query);  // the prepared id resolved to its text
    CHECK(log[1].consistency == proto::consistency::local_quorum);
    CHECK(log[1].decoded_values == std::vector<std::string>{"3"});
    CHECK(log[1].primed);
    CHECK_FALSE(log[2].primed);
}

TEST_CASE("priming: a PREPARE the engine can answer keeps the engine's id; EXECUTE is primed by its text",
          "[sim][fixture]") {
    sim::cluster c(free_ports(1));
    c.start();
    raw_client cl;
    connect(cl, c, 0);
    for (auto q : {"CREATE KEYSPACE app WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
                   "CREATE TABLE app.kv (k int PRIMARY KEY, v text)", "INSERT INTO app.kv (k, v) VALUES (1, 'real')"})
        REQUIRE_FALSE(std::holds_alternative<proto::error_response>(cl.request(simple(q))));
    const std::string sel = "SELECT v FROM app.kv WHERE k = ?";
    sim::prime_rule p;
    p.query = sel;
    p.node = 0;
    p.consistency = proto::consistency::all;
    p.then = sim::read_timeout_error(proto::consistency::all, 0, 1, false);
    c.prime(p);
    auto prep = cl.request(proto::prepare_request{sel, std::nullopt});
    const auto& pr = std::get<proto::prepared_result>(std::get<proto::result_response>(prep).value);
    auto one = int_bytes(1);
    std::vector<proto::value_view> vals{proto::value_view::of(one)};
    proto::execute_request ex;
    ex.id = pr.id;
    ex.result_metadata_id = pr.result_metadata_id;
    ex.params.values = proto::view_list<proto::value_view>::owning(vals);
    ex.params.cl = proto::consistency::one;
    auto r = rows_of(cl.request(ex));  // not at ALL: the engine reads the row
    REQUIRE(r.size() == 1);
    CHECK(text(r.cell(0, 0)) == "real");
    ex.params.cl = proto::consistency::all;
    CHECK(error_of(cl.request(ex)).code == proto::server_errc::read_timeout);
}

TEST_CASE("priming: malformed rules are refused with a clear error, the cluster keeps serving", "[sim][fixture]") {
    sim::cluster c(free_ports(2));
    c.start();
    auto refused = [&](sim::prime_rule r, const std::string& phrase) {
        try {
            c.prime(std::move(r));
            FAIL("accepted a malformed rule; expected: " << phrase);
        } catch (const std::invalid_argument& e) {
            INFO(e.what());
            CHECK(std::string(e.what()).find(phrase) != std::string::npos);
        }
    };
    sim::prime_rule base;
    base.query = "SELECT 1";
    auto r = base;
    r.query.clear();
    refused(r, "query is empty");
    r = base;
    r.query = "SELECT ((";
    r.match = sim::prime_match::regex;
    refused(r, "not a valid regex");
    r = base;
    r.node = 2;
    refused(r, "node 2 does not exist");
    r = base;
    r.times = -1;
    refused(r, "times");
    r = base;
    r.params = {{"k", "integer"}};
    refused(r, "unknown CQL type 'integer'");
    r = base;
    r.values = std::vector<std::string>{"1"};
    refused(r, "1 values for 0 params");
    r = base;
    r.params = {{"k", "int"}};
    r.values = std::vector<std::string>{"'one'"};
    refused(r, "not a literal of type int: 'one'");
    r = base;
    r.then = sim::prime_rows{{{"a", "int"}, {"b", "text"}}, {{"1"}}};
    refused(r, "row 0 has 1 cells for 2 columns");
    r = base;
    r.then = sim::prime_rows{{{"a", "tinyint"}}, {{"300"}}};
    refused(r, "row 0 column 'a'");
    r = base;
    r.then = sim::prime_rows{};
    refused(r, "at least one column");
    r = base;
    r.then = proto::error_response::make(proto::server_errc::unavailable, "x", proto::write_timeout_info{});
    refused(r, "do not belong to UNAVAILABLE");
    r = base;
    r.then = proto::error_response::make(static_cast<proto::server_errc>(0x7777), "x");
    refused(r, "unknown server error code");
    CHECK(c.prime_count() == 0);
    raw_client cl;
    connect(cl, c, 0);
    CHECK(rows_of(cl.request(simple("SELECT key FROM system.local"))).size() == 1);
}

TEST_CASE("activity log: off by default; when on, what each node received, bounded", "[sim][fixture]") {
    sim::cluster c(free_ports(2));
    c.start();
    raw_client cl;
    connect(cl, c, 1);
    cl.request(simple("SELECT key FROM system.local"));
    CHECK(c.activity(1).empty());

    c.set_activity_log(3);
    auto q = simple("SELECT key FROM system.local", proto::consistency::local_one);
    q.params.serial_consistency = proto::consistency::local_serial;
    q.params.page_size = 50;
    proto::byte_buffer state{1, 2, 3};
    q.params.paging_state = proto::bytes_view(state);
    q.params.default_timestamp = 1234;
    const auto stream = cl.send(q);
    REQUIRE(cl.recv());
    auto log = c.activity(1);
    REQUIRE(log.size() == 1);
    const auto& e = log[0];
    CHECK(e.op == proto::opcode::query);
    CHECK(e.node == 1);
    CHECK(e.stream == stream);
    CHECK(e.query == "SELECT key FROM system.local");
    CHECK(e.consistency == proto::consistency::local_one);
    CHECK(e.serial_consistency == proto::consistency::local_serial);
    CHECK(e.page_size == 50);
    CHECK(e.paging_state == state);
    CHECK(e.default_timestamp == 1234);
    CHECK_FALSE(e.primed);
    CHECK(c.activity(0).empty());

    raw_client other;
    connect(other, c, 1);
    other.request(simple("USE system"));
    auto v = simple("SELECT key FROM local WHERE key = ?");
    proto::byte_buffer key{'l', 'o', 'c', 'a', 'l'};
    std::vector<proto::value_view> vals{proto::value_view::of(key), proto::value_view::null()};
    v.params.values = proto::view_list<proto::value_view>::owning(vals);
    other.request(v);
    proto::batch_request b;
    std::vector<proto::batch_statement> stmts{proto::batch_statement::simple("INSERT INTO a.b (k) VALUES (1)")};
    b.statements = proto::view_list<proto::batch_statement>::owning(stmts);
    b.cl = proto::consistency::two;
    other.request(b);
    log = c.activity(1);
    REQUIRE(log.size() == 3);  // the capacity: the oldest went
    CHECK(log[0].query == "USE system");
    CHECK(log[0].connection != e.connection);
    CHECK(log[1].keyspace == "system");
    REQUIRE(log[1].values.size() == 2);
    CHECK(log[1].values[0] == key);
    CHECK_FALSE(log[1].values[1]);
    CHECK(log[2].op == proto::opcode::batch);
    CHECK(log[2].consistency == proto::consistency::two);
    REQUIRE(log[2].batch.size() == 1);
    CHECK(log[2].batch[0].query == "INSERT INTO a.b (k) VALUES (1)");
    c.clear_activity();
    CHECK(c.activity(1).empty());
    c.set_activity_log(0);
    cl.request(simple("SELECT key FROM system.local"));
    CHECK(c.activity(1).empty());
}

TEST_CASE("activity log: a QUERY's and a BATCH's values typed when the schema says their types, raw otherwise",
          "[sim][fixture]") {
    sim::cluster c(free_ports(1));
    c.start();
    raw_client cl;
    connect(cl, c, 0);
    for (const char* ddl : {"CREATE KEYSPACE app WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
                            "CREATE TABLE app.t (k int PRIMARY KEY, v text, tags set<text>)"})
        REQUIRE_FALSE(std::holds_alternative<proto::error_response>(cl.request(simple(ddl))));
    const std::string update = "UPDATE app.t SET v = ? WHERE k = ?";
    auto prep = cl.request(proto::prepare_request{update, std::nullopt});
    REQUIRE(std::holds_alternative<proto::result_response>(prep));
    const auto id = std::get<proto::prepared_result>(std::get<proto::result_response>(prep).value).id;
    c.set_activity_log(16);

    // QUERY with positional values: the markers map to k and v of app.t.
    auto seven = int_bytes(7);
    proto::byte_buffer quoted{'i', 't', '\'', 's'};
    auto ins = simple("INSERT INTO app.t (k, v, tags) VALUES (?, ?, ?)");
    ins.params.values = proto::view_list<proto::value_view>::owning(
        {proto::value_view::of(seven), proto::value_view::of(quoted), proto::value_view::null()});
    REQUIRE(is_void(cl.request(ins)));
    // Named values (flag 0x40), in another order than the markers, a name in upper case.
    auto upd = simple("UPDATE app.t SET v = :val WHERE k = :key");
    upd.params.values = proto::view_list<proto::value_view>::owning({proto::value_view::of(seven), proto::value_view::of(quoted)});
    upd.params.names = proto::view_list<std::string_view>::owning({"KEY", "val"});
    REQUIRE(is_void(cl.request(upd)));
    // No such table: only the bytes are known.
    auto raw = simple("SELECT v FROM app.nope WHERE k = ?");
    raw.params.values = proto::view_list<proto::value_view>::owning({proto::value_view::of(seven)});
    CHECK(error_of(cl.request(raw)).code == proto::server_errc::invalid);

    // A BATCH: a simple statement on a known table, a prepared one, one on an unknown table.
    auto one = int_bytes(1), two = int_bytes(2), three = int_bytes(3);
    proto::byte_buffer a{'a'}, b{'b'};
    proto::batch_request batch;
    batch.type = proto::batch_type::unlogged;
    std::vector<proto::batch_statement> stmts{
        proto::batch_statement::simple("INSERT INTO app.t (k, v) VALUES (?, ?)",
                                       proto::view_list<proto::value_view>::owning({proto::value_view::of(one), proto::value_view::of(a)})),
        proto::batch_statement::with_id(id, proto::view_list<proto::value_view>::owning({proto::value_view::of(b), proto::value_view::of(two)})),
        proto::batch_statement::simple("INSERT INTO app.missing (k) VALUES (?)",
                                       proto::view_list<proto::value_view>::owning({proto::value_view::of(three)})),
    };
    batch.statements = proto::view_list<proto::batch_statement>::owning(stmts);
    cl.request(batch);  // refused (app.missing): what arrived is logged all the same

    const auto log = c.activity(0);
    REQUIRE(log.size() == 4);
    CHECK(log[0].values_typed);
    CHECK(log[0].decoded_values == std::vector<std::string>{"7", "'it''s'", "null"});
    CHECK(log[1].values_typed);
    CHECK(log[1].decoded_values == std::vector<std::string>{"7", "'it''s'"});  // in the order sent
    CHECK(log[1].value_names == std::vector<std::string>{"KEY", "val"});
    CHECK_FALSE(log[2].values_typed);
    CHECK(log[2].decoded_values.empty());
    REQUIRE(log[2].values.size() == 1);
    CHECK(log[2].values[0] == seven);

    const auto& e = log[3];
    CHECK(e.op == proto::opcode::batch);
    CHECK(e.batch_type == proto::batch_type::unlogged);
    REQUIRE(e.batch.size() == 3);
    CHECK(e.batch[0].query == "INSERT INTO app.t (k, v) VALUES (?, ?)");
    CHECK_FALSE(e.batch[0].prepared_id);
    CHECK(e.batch[0].values_typed);
    CHECK(e.batch[0].decoded_values == std::vector<std::string>{"1", "'a'"});
    REQUIRE(e.batch[0].values.size() == 2);
    CHECK(e.batch[0].values[1] == a);
    CHECK(e.batch[1].query == update);  // the prepared id resolved to its text
    CHECK(e.batch[1].prepared_id == id);
    CHECK(e.batch[1].values_typed);
    CHECK(e.batch[1].decoded_values == std::vector<std::string>{"'b'", "2"});
    CHECK(e.batch[2].query == "INSERT INTO app.missing (k) VALUES (?)");
    CHECK_FALSE(e.batch[2].values_typed);
    CHECK(e.batch[2].decoded_values.empty());
    REQUIRE(e.batch[2].values.size() == 1);
    CHECK(e.batch[2].values[0] == three);
}
