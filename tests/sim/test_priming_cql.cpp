// Priming and the activity log without C++: prime_spec (the flat form of a
// rule), its JSON form (`cqlpp sim --prime`) and the sim.primes /
// sim.activity / sim.settings tables over real sockets.
#include "raw_client.hpp"
#include "sim_requests.hpp"

#include "cqlpp/sim/cluster.hpp"

#include <catch2/catch.hpp>

using namespace cqlpp;
using cqlpp::test::raw_client;
using cqlpp::test::rows_of;
using cqlpp::test::simple;
namespace proto = cqlpp::protocol;

namespace {

sim::cluster_config free_ports(int nodes = 2) {
    sim::cluster_config cfg;
    cfg.topology.nodes = nodes;
    cfg.topology.num_tokens = 4;
    cfg.topology.port = 0;
    return cfg;
}

std::string text(proto::value_view v) { return std::string(proto::as_chars(v.bytes)); }
std::int32_t int_of(proto::value_view v) {
    REQUIRE(v.bytes.size() == 4);
    return static_cast<std::int32_t>(proto::detail::load_be32(v.bytes.data()));
}
bool bool_of(proto::value_view v) {
    REQUIRE(v.bytes.size() == 1);
    return v.bytes[0] != 0;
}
std::int64_t bigint_of(proto::value_view v) {
    REQUIRE(v.bytes.size() == 8);
    return static_cast<std::int64_t>(proto::detail::load_be64(v.bytes.data()));
}

const proto::error_response& error_of(const proto::response& r) {
    REQUIRE(std::holds_alternative<proto::error_response>(r));
    return std::get<proto::error_response>(r);
}

bool is_void(const proto::response& r) {
    auto* res = std::get_if<proto::result_response>(&r);
    return res && std::holds_alternative<proto::void_result>(res->value);
}

void connect(raw_client& cl, const sim::cluster& c, int node) {
    auto ep = c.endpoint(node);
    REQUIRE(cl.connect(ep.address, ep.port));
    cl.handshake();
}

std::string refused(const sim::prime_spec& s) {
    try {
        (void)sim::to_prime_rule(s);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(accepted)";
}

std::string refused_json(std::string_view j) {
    try {
        (void)sim::parse_prime_specs_json(j);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(accepted)";
}

}  // namespace

TEST_CASE("prime_spec: fields map to a rule's match, answer and error fields, and back", "[sim][prime_spec]") {
    sim::prime_spec s;
    s.query = "SELECT name FROM shop.items WHERE id = ?";
    s.match = "Prefix";
    s.node = 1;
    s.consistency = "local_quorum";
    s.params = {"id int", "tags  map<text, int>"};
    s.values = std::vector<std::string>{"7", "null"};
    s.columns = {"name text", "qty int"};
    s.rows = {{"'apple'", "3"}};
    s.delay_ms = 25;
    s.times = 2;
    auto r = sim::to_prime_rule(s);
    CHECK(r.match == sim::prime_match::prefix);
    CHECK(r.node == 1);
    CHECK(r.consistency == proto::consistency::local_quorum);
    REQUIRE(r.params.size() == 2);
    CHECK(r.params[1].name == "tags");
    CHECK(r.params[1].type == "map<text, int>");
    CHECK(r.delay == std::chrono::milliseconds(25));
    CHECK(r.times == 2);
    auto* rows = std::get_if<sim::prime_rows>(&r.then);  // then inferred from columns
    REQUIRE(rows);
    CHECK(rows->columns[0].name == "name");
    CHECK(rows->rows == std::vector<std::vector<std::string>>{{"'apple'", "3"}});

    auto back = sim::to_prime_spec(r);
    CHECK(back.then == "rows");
    CHECK(back.match == "prefix");
    CHECK(back.consistency == "LOCAL_QUORUM");
    CHECK(back.params == std::vector<std::string>{"id int", "tags map<text, int>"});
    CHECK(back.columns == s.columns);

    SECTION("errors with their fields; defaults from the rule") {
        sim::prime_spec e;
        e.query = "q";
        e.consistency = "QUORUM";
        e.error = "unavailable";
        e.required = 3;
        e.alive = 1;
        auto er = sim::to_prime_rule(e);
        auto* err = std::get_if<sim::prime_error>(&er.then);
        REQUIRE(err);
        CHECK(err->code == proto::server_errc::unavailable);
        auto* u = std::get_if<proto::unavailable_info>(&err->details);
        REQUIRE(u);
        CHECK(u->cl == proto::consistency::quorum);
        CHECK(u->required == 3);
        CHECK(u->alive == 1);
        CHECK(err->message == "Cannot achieve consistency level QUORUM");

        sim::prime_spec w;
        w.query = "q";
        w.error = "0x1100";  // WRITE_TIMEOUT by number
        w.write_type = "batch_log";
        w.received = 1;
        w.block_for = 2;
        w.message = "slow";
        auto wr = sim::to_prime_rule(w);
        auto& werr = std::get<sim::prime_error>(wr.then);
        CHECK(werr.code == proto::server_errc::write_timeout);
        CHECK(werr.message == "slow");
        auto& wt = std::get<proto::write_timeout_info>(werr.details);
        CHECK(wt.write_type == "BATCH_LOG");
        CHECK(wt.block_for == 2);
        CHECK(sim::to_prime_spec(wr).write_type == "BATCH_LOG");

        sim::prime_spec o;
        o.query = "q";
        o.error = "OVERLOADED";
        CHECK(std::get<sim::prime_error>(sim::to_prime_rule(o).then).details.index() == 0);
    }
    SECTION("close and no answer") {
        sim::prime_spec c;
        c.query = "q";
        c.then = "close";
        CHECK(std::holds_alternative<sim::prime_close_connection>(sim::to_prime_rule(c).then));
        c.then = "NO_ANSWER";
        CHECK(std::holds_alternative<sim::prime_no_answer>(sim::to_prime_rule(c).then));
        CHECK(sim::to_prime_spec(sim::to_prime_rule(c)).then == "no_answer");
    }
}

TEST_CASE("prime_spec: malformed specs are refused, naming the field", "[sim][prime_spec]") {
    sim::prime_spec s;
    CHECK_THAT(refused(s), Catch::Contains("query is required"));
    s.query = "q";
    s.match = "fuzzy";
    CHECK_THAT(refused(s), Catch::Contains("match"));
    s.match = "";
    s.consistency = "MOST";
    CHECK_THAT(refused(s), Catch::Contains("unknown consistency level 'MOST'"));
    s.consistency = "";
    s.params = {"id"};
    CHECK_THAT(refused(s), Catch::Contains("params[0]: expected 'name type'"));
    s.params.clear();
    s.then = "rows";
    CHECK_THAT(refused(s), Catch::Contains("needs columns"));
    s.then = "explode";
    CHECK_THAT(refused(s), Catch::Contains("'explode' is not void, rows"));
    s.then = "void";
    s.columns = {"a int"};
    CHECK_THAT(refused(s), Catch::Contains("columns and rows go with then = 'rows'"));
    s.columns.clear();
    s.then = "";
    s.error = "NOPE";
    CHECK_THAT(refused(s), Catch::Contains("unknown error code 'NOPE'"));
    s.error = "99999999999999999999";
    CHECK_THAT(refused(s), Catch::Contains("unknown error code"));
    s.error = "OVERLOADED";
    s.required = 2;
    CHECK_THAT(refused(s), Catch::Contains("required is a field of UNAVAILABLE, not of OVERLOADED"));
    s.required.reset();
    s.data_present = true;
    s.error = "WRITE_TIMEOUT";
    CHECK_THAT(refused(s), Catch::Contains("data_present is a field of READ_TIMEOUT"));
    s.data_present.reset();
    s.error = "";
    s.alive = 1;  // an error field alone means then = 'error', which needs a code
    CHECK_THAT(refused(s), Catch::Contains("needs error"));
    s.alive.reset();
    s.delay_ms = -1;
    CHECK_THAT(refused(s), Catch::Contains("delay_ms must be >= 0"));
}

TEST_CASE("prime specs from JSON: an object or an array; literals as strings, numbers, null", "[sim][prime_spec]") {
    auto specs = sim::parse_prime_specs_json(R"([
        {"query": "SELECT a FROM t", "node": 0, "columns": ["a int", "b text"], "rows": [[1, "'x'"], [2, null]],
         "times": 1, "delay_ms": 10},
        {"query": "SELECT b FROM t", "error": "READ_TIMEOUT", "received": 1, "block_for": 2, "data_present": true,
         "params": ["k int"], "values": [5]}
    ])");
    REQUIRE(specs.size() == 2);
    CHECK(specs[0].node == 0);
    CHECK(specs[0].rows == std::vector<std::vector<std::string>>{{"1", "'x'"}, {"2", "null"}});
    CHECK(specs[0].times == 1);
    CHECK(specs[1].data_present == true);
    CHECK(specs[1].values == std::vector<std::string>{"5"});
    CHECK(sim::parse_prime_specs_json(R"({"query": "q", "then": "close"})").at(0).then == "close");

    CHECK_THAT(refused_json("[{\"query\": \"q\""), Catch::Contains("not valid JSON"));
    CHECK_THAT(refused_json(R"([{"query": "q", "colums": ["a int"]}])"), Catch::Contains("rule 0: unknown field 'colums'"));
    CHECK_THAT(refused_json(R"([{"query": "q"}, {"query": 5}])"), Catch::Contains("rule 1: query must be a string"));
    CHECK_THAT(refused_json(R"({"query": "q", "times": 1.5})"), Catch::Contains("times must be a whole number"));
    CHECK_THAT(refused_json(R"({"query": "q", "times": 99999999999})"), Catch::Contains("times must be a whole number"));
    CHECK_THAT(refused_json(R"({"query": "q", "rows": [[{"a": 1}]]})"), Catch::Contains("rows[0][0] must be a CQL literal"));
    CHECK_THAT(refused_json(R"([1])"), Catch::Contains("rule 0: a rule must be a JSON object"));
    // Deep nesting is refused by the parser's depth limit, not by the stack.
    CHECK_THAT(refused_json(std::string(100000, '[')), Catch::Contains("prime:"));
}

TEST_CASE("cluster::prime_json adds all rules or none", "[sim][prime_spec]") {
    sim::cluster c(free_ports(2));
    auto ids = c.prime_json(R"([{"query": "a"}, {"query": "b", "node": 1}])");
    CHECK(ids.size() == 2);
    CHECK(c.prime_count() == 2);
    // The second rule names a node that does not exist: the first is not kept.
    CHECK_THROWS_WITH(c.prime_json(R"([{"query": "c"}, {"query": "d", "node": 7}])"),
                      Catch::Contains("rule 1:") && Catch::Contains("node 7 does not exist"));
    CHECK(c.prime_count() == 2);
    CHECK(c.remove_prime(ids[0]));
    CHECK_FALSE(c.remove_prime(ids[0]));
    REQUIRE(c.primes().size() == 1);
    CHECK(c.primes()[0].rule.query == "b");
}

TEST_CASE("sim.primes: INSERT primes, SELECT lists, DELETE / TRUNCATE clear, over CQL", "[sim][prime_spec]") {
    sim::cluster c(free_ports(2));
    c.start();
    raw_client cl;
    connect(cl, c, 0);

    REQUIRE(is_void(cl.request(simple("INSERT INTO sim.primes (query, columns, rows) VALUES "
                                      "('SELECT name, qty FROM shop.items', ['name text', 'qty int'], "
                                      "[['''apple''', '3'], ['''pear''', 'null']])"))));
    {
        auto r = rows_of(cl.request(simple("SELECT name, qty FROM shop.items")));
        REQUIRE(r.size() == 2);
        CHECK(text(r.cell(0, 0)) == "apple");
        CHECK(int_of(r.cell(0, 1)) == 3);
        CHECK(r.cell(1, 1).is_null());
    }
    REQUIRE(is_void(cl.request(simple("INSERT INTO sim.primes (query, node, error, required, alive, times) "
                                      "VALUES ('SELECT * FROM shop.stock', 0, 'UNAVAILABLE', 2, 1, 1)"))));
    {
        const auto resp = cl.request(simple("SELECT * FROM shop.stock"));
        const auto& e = error_of(resp);
        CHECK(e.code == proto::server_errc::unavailable);
        auto& u = std::get<proto::unavailable_info>(e.details);
        CHECK(u.required == 2);
        CHECK(u.alive == 1);
    }
    // One-shot: used up, the engine answers (no such keyspace).
    CHECK(error_of(cl.request(simple("SELECT * FROM shop.stock"))).code == proto::server_errc::invalid);

    REQUIRE(is_void(cl.request(simple(
        R"(INSERT INTO sim.primes JSON '{"query": "UPDATE shop.", "match": "prefix", "times": 3}')"))));
    CHECK(c.prime_count() == 2);
    std::int64_t prefix_id = 0;
    {
        auto r = rows_of(cl.request(simple("SELECT id, query, match, then, times, left, columns FROM sim.primes")));
        REQUIRE(r.size() == 2);
        for (std::size_t i = 0; i < r.size(); ++i)
            if (text(r.cell(i, 1)) == "UPDATE shop.") {
                prefix_id = bigint_of(r.cell(i, 0));
                CHECK(text(r.cell(i, 2)) == "prefix");
                CHECK(text(r.cell(i, 3)) == "void");
                CHECK(int_of(r.cell(i, 5)) == 3);
                CHECK(r.cell(i, 6).is_null());
            } else {
                CHECK(text(r.cell(i, 3)) == "rows");
                CHECK_FALSE(r.cell(i, 6).is_null());
            }
        REQUIRE(prefix_id != 0);
    }
    CHECK(is_void(cl.request(simple("UPDATE shop.items SET qty = 1 WHERE id = 1"))));
    REQUIRE(is_void(cl.request(simple("DELETE FROM sim.primes WHERE id = " + std::to_string(prefix_id)))));
    CHECK(c.prime_count() == 1);
    CHECK(error_of(cl.request(simple("UPDATE shop.items SET qty = 1 WHERE id = 1"))).code == proto::server_errc::invalid);
    REQUIRE(is_void(cl.request(simple("TRUNCATE sim.primes"))));
    CHECK(c.prime_count() == 0);

    SECTION("bad rules: INVALID naming the problem, nothing added, the node keeps serving") {
        const std::pair<const char*, const char*> cases[] = {
            {"INSERT INTO sim.primes (query, then) VALUES ('q', 'bogus')", "is not void, rows"},
            {"INSERT INTO sim.primes (query, error) VALUES ('q', 'NOPE')", "unknown error code"},
            {"INSERT INTO sim.primes (id, query) VALUES (5, 'q')", "id is given by the sim"},
            {"INSERT INTO sim.primes (query, columns, rows) VALUES ('q', ['a int'], [['zz']])", "not a literal of type int"},
            {"INSERT INTO sim.primes (query, columns, rows) VALUES ('q', ['a int'], [['1', '2']])", "2 cells for 1 columns"},
            {"INSERT INTO sim.primes (query, match) VALUES ('(', 'regex')", "not a valid regex"},
            {"INSERT INTO sim.primes (query, node) VALUES ('q', 9)", "node 9 does not exist"},
            {"INSERT INTO sim.primes (query, times) VALUES ('q', -1)", "times must be >= 0"},
            {"INSERT INTO sim.primes (node) VALUES (0)", "query is required"},
            {"INSERT INTO sim.primes JSON '{\"query\": \"q\", \"bogus\": 1}'", "unrecognized column: bogus"},
            {"UPDATE sim.primes SET times = 1 WHERE id = 1", "cannot be changed"},
            {"INSERT INTO sim.activity (node, seq) VALUES (0, 0)", "read-only"},
            {"UPDATE sim.settings SET value = -1 WHERE name = 'activity_log'", "activity_log must be 0"},
            {"UPDATE sim.settings SET value = 10000000000 WHERE name = 'activity_log'", "activity_log must be 0"},
            {"UPDATE sim.settings SET value = 1 WHERE name = 'verbosity'", "Unknown setting 'verbosity'"},
        };
        for (const auto& [q, want] : cases) {
            INFO(q);
            const auto resp = cl.request(simple(q));
            const auto& e = error_of(resp);
            CHECK(e.code == proto::server_errc::invalid);
            CHECK_THAT(e.message, Catch::Contains(want));
        }
        CHECK(c.prime_count() == 0);
        CHECK(c.activity_log_capacity() == 0);
        CHECK(rows_of(cl.request(simple("SELECT key FROM system.local"))).size() == 1);
    }
}

TEST_CASE("sim.activity: switched on through sim.settings, read per node, cleared by TRUNCATE", "[sim][prime_spec]") {
    sim::cluster c(free_ports(2));
    c.start();
    raw_client cl0, cl1;
    connect(cl0, c, 0);
    connect(cl1, c, 1);
    CHECK(bigint_of(rows_of(cl0.request(simple("SELECT value FROM sim.settings WHERE name = 'activity_log'"))).cell(0, 0)) == 0);
    REQUIRE(is_void(cl0.request(simple("UPDATE sim.settings SET value = 50 WHERE name = 'activity_log'"))));
    CHECK(c.activity_log_capacity() == 50);
    REQUIRE(is_void(cl0.request(simple("INSERT INTO sim.primes (query, columns, rows) VALUES ('SELECT 1', ['a int'], [['1']])"))));

    auto q = simple("SELECT 1", proto::consistency::local_quorum);
    q.params.page_size = 7;
    REQUIRE(rows_of(cl1.request(q)).size() == 1);
    auto r = rows_of(cl0.request(simple(
        "SELECT node, seq, op, query, consistency, page_size, primed, received FROM sim.activity WHERE node = 1")));
    REQUIRE(r.size() == 1);
    CHECK(int_of(r.cell(0, 0)) == 1);
    CHECK(int_of(r.cell(0, 1)) == 0);
    CHECK(text(r.cell(0, 2)) == "QUERY");
    CHECK(text(r.cell(0, 3)) == "SELECT 1");
    CHECK(text(r.cell(0, 4)) == "LOCAL_QUORUM");
    CHECK(int_of(r.cell(0, 5)) == 7);
    CHECK(r.cell(0, 6).bytes.size() == 1);
    CHECK(r.cell(0, 6).bytes[0] == 1);  // primed
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    CHECK(std::abs(bigint_of(r.cell(0, 7)) - now_ms) < 60'000);

    // Bound values: raw bytes in hex for a QUERY (no types known).
    auto v = simple("SELECT ? FROM x");
    proto::byte_buffer five{0, 0, 0, 5};
    v.params.values = proto::view_list<proto::value_view>::owning({proto::value_view::of(five), proto::value_view::null()});
    cl1.request(v);
    auto vals = rows_of(cl0.request(simple("SELECT values FROM sim.activity WHERE node = 1 AND seq = 1")));
    REQUIRE(vals.size() == 1);
    proto::cql_value lv;
    REQUIRE(proto::decode_value(proto::cql_type::list_of(proto::cql_type(proto::type_kind::text)), vals.cell(0, 0).bytes, lv) ==
            proto::errc::ok);
    REQUIRE(lv.elements().size() == 2);
    CHECK(lv.elements()[0].as_string() == "0x00000005");
    CHECK(lv.elements()[1].as_string() == "null");
    auto typed = rows_of(cl0.request(simple("SELECT values_typed FROM sim.activity WHERE node = 1 AND seq = 1")));
    REQUIRE(typed.size() == 1);
    CHECK(bool_of(typed.cell(0, 0)) == false);

    // A QUERY on a known table: the columns' types give literals. A BATCH: each
    // statement's values (typed as a QUERY's, or by the prepared id's markers).
    for (const char* ddl : {"CREATE KEYSPACE app WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
                            "CREATE TABLE app.t (k int PRIMARY KEY, v text)"})
        REQUIRE_FALSE(std::holds_alternative<proto::error_response>(cl0.request(simple(ddl))));
    proto::byte_buffer apple{'a', 'p', 'p', 'l', 'e'};
    auto ins = simple("INSERT INTO app.t (k, v) VALUES (?, ?)");
    ins.params.values = proto::view_list<proto::value_view>::owning({proto::value_view::of(five), proto::value_view::of(apple)});
    REQUIRE(is_void(cl1.request(ins)));
    auto prep = cl1.request(proto::prepare_request{"SELECT v FROM app.t WHERE k = ?", std::nullopt});
    REQUIRE(std::holds_alternative<proto::result_response>(prep));
    const auto id = std::get<proto::prepared_result>(std::get<proto::result_response>(prep).value).id;
    proto::batch_request b;
    std::vector<proto::batch_statement> stmts{
        proto::batch_statement::simple("INSERT INTO app.t (k, v) VALUES (?, ?)",
                                       proto::view_list<proto::value_view>::owning({proto::value_view::of(five), proto::value_view::of(apple)})),
        proto::batch_statement::with_id(id, proto::view_list<proto::value_view>::owning({proto::value_view::of(five)})),
        proto::batch_statement::simple("INSERT INTO nowhere.t (k) VALUES (?)",
                                       proto::view_list<proto::value_view>::owning({proto::value_view::null()})),
    };
    b.statements = proto::view_list<proto::batch_statement>::owning(stmts);
    cl1.request(b);  // refused (a SELECT, an unknown keyspace): logged as it arrived
    const auto list_text = proto::cql_type::list_of(proto::cql_type(proto::type_kind::text));
    auto texts = [&](proto::value_view cell) {
        proto::cql_value v;
        REQUIRE(proto::decode_value(list_text, cell.bytes, v) == proto::errc::ok);
        std::vector<std::string> out;
        for (const auto& e : v.elements()) out.push_back(e.as_string());
        return out;
    };
    auto qv = rows_of(cl0.request(simple("SELECT values, values_typed FROM sim.activity WHERE node = 1 AND seq = 2")));
    REQUIRE(qv.size() == 1);
    CHECK(texts(qv.cell(0, 0)) == std::vector<std::string>{"5", "'apple'"});
    CHECK(bool_of(qv.cell(0, 1)) == true);
    auto bt = rows_of(cl0.request(simple(
        "SELECT op, \"batch\", batch_prepared_ids, batch_values, batch_values_typed, values FROM sim.activity WHERE node = 1 AND seq = 4")));
    REQUIRE(bt.size() == 1);
    CHECK(text(bt.cell(0, 0)) == "BATCH");
    CHECK(texts(bt.cell(0, 1)) == std::vector<std::string>{"INSERT INTO app.t (k, v) VALUES (?, ?)", "SELECT v FROM app.t WHERE k = ?",
                                                           "INSERT INTO nowhere.t (k) VALUES (?)"});
    proto::cql_value ids, bvals, flags;
    REQUIRE(proto::decode_value(proto::cql_type::list_of(proto::cql_type(proto::type_kind::blob)), bt.cell(0, 2).bytes, ids) == proto::errc::ok);
    REQUIRE(ids.elements().size() == 3);
    CHECK(ids.elements()[0].as_blob().empty());  // a simple statement
    CHECK(ids.elements()[1].as_blob() == id);
    REQUIRE(proto::decode_value(proto::cql_type::list_of(list_text), bt.cell(0, 3).bytes, bvals) == proto::errc::ok);
    REQUIRE(bvals.elements().size() == 3);
    auto strings = [](const proto::cql_value& l) {
        std::vector<std::string> out;
        for (const auto& e : l.elements()) out.push_back(e.as_string());
        return out;
    };
    CHECK(strings(bvals.elements()[0]) == std::vector<std::string>{"5", "'apple'"});
    CHECK(strings(bvals.elements()[1]) == std::vector<std::string>{"5"});
    CHECK(strings(bvals.elements()[2]) == std::vector<std::string>{"null"});
    REQUIRE(proto::decode_value(proto::cql_type::list_of(proto::cql_type(proto::type_kind::boolean)), bt.cell(0, 4).bytes, flags) ==
            proto::errc::ok);
    REQUIRE(flags.elements().size() == 3);
    CHECK(flags.elements()[0].as_bool());
    CHECK(flags.elements()[1].as_bool());
    CHECK_FALSE(flags.elements()[2].as_bool());
    CHECK(bt.cell(0, 5).is_null());  // a BATCH's values are its statements'

    REQUIRE(is_void(cl0.request(simple("TRUNCATE sim.activity"))));
    CHECK(c.activity(1).empty());
    REQUIRE(is_void(cl0.request(simple("UPDATE sim.settings SET value = 0 WHERE name = 'activity_log'"))));
    cl1.request(simple("SELECT 1"));
    CHECK(c.activity(1).empty());
}
