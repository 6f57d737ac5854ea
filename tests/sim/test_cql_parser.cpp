// CQL statement parser of the simulated cluster: AST contents for every
// supported form, driver bootstrap queries, errors and unsupported statements.
#include "cqlpp/sim/cql_parser.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace cqlpp::sim;
using cqlpp::protocol::type_kind;

namespace {

parse_result parse_ok(std::string_view q) {
    auto r = parse_statement(q);
    INFO("statement: " << q);
    if (!r.ok()) FAIL("parse error: " << r.error().message);
    return r;
}

template <class T>
const T& as(const parse_result& r) {
    const T* p = r.get_if<T>();
    INFO("statement kind: " << (r.ok() ? statement_name(r.stmt()) : std::string_view("error")));
    REQUIRE(p != nullptr);
    return *p;
}

parse_error parse_fail(std::string_view q, parse_error_kind kind = parse_error_kind::syntax_error) {
    auto r = parse_statement(q);
    INFO("statement: " << q);
    REQUIRE_FALSE(r.ok());
    INFO("message: " << r.error().message);
    CHECK(r.error().kind == kind);
    CHECK(r.bind_marker_count() == 0);
    return r.error();
}

// The only relation value / the only value of an INSERT, for brevity.
const term& insert_value(const parse_result& r, std::size_t i = 0) {
    const auto& s = as<insert_statement>(r);
    REQUIRE(s.values.size() > i);
    return s.values[i];
}

// The category of <literal> in `INSERT INTO t (v) VALUES (<literal>)`.
term_kind kind_of(std::string_view literal) {
    std::string q = "INSERT INTO t (v) VALUES (";
    q += literal;
    q += ")";
    auto r = parse_ok(q);
    return insert_value(r).kind;
}

}  // namespace

// ---------------------------------------------------------------------------------
TEST_CASE("driver bootstrap queries parse", "[sim][cql]") {
    SECTION("system.local by key") {
        auto r = parse_ok("SELECT * FROM system.local WHERE key='local'");
        const auto& s = as<select_statement>(r);
        CHECK(s.select_all);
        CHECK(s.selectors.empty());
        CHECK(s.table == qualified_name{"system", "local"});
        REQUIRE(s.where.size() == 1);
        CHECK(s.where[0].target == relation_target::column);
        CHECK(s.where[0].columns == std::vector<std::string>{"key"});
        CHECK(s.where[0].op == relation_op::eq);
        CHECK(s.where[0].value.kind == term_kind::string);
        CHECK(s.where[0].value.text == "'local'");
        CHECK(constant_text(s.where[0].value) == "local");
    }
    SECTION("system.peers column list") {
        auto r = parse_ok(
            "SELECT peer, data_center, host_id, rack, release_version, rpc_address, schema_version, tokens FROM "
            "system.peers");
        const auto& s = as<select_statement>(r);
        CHECK_FALSE(s.select_all);
        std::vector<std::string> names;
        for (const auto& sel : s.selectors) {
            CHECK(sel.kind == selector_kind::column);
            CHECK(sel.alias.empty());
            names.push_back(sel.name);
        }
        CHECK(names == std::vector<std::string>{"peer", "data_center", "host_id", "rack", "release_version",
                                                "rpc_address", "schema_version", "tokens"});
        CHECK(s.table == qualified_name{"system", "peers"});
        CHECK(s.where.empty());
        CHECK_FALSE(s.limit);
    }
    SECTION("Node.js style without spaces") {
        auto r = parse_ok("SELECT peer,data_center,rack,tokens,rpc_address,release_version FROM system.peers");
        CHECK(as<select_statement>(r).selectors.size() == 6);
    }
    SECTION("schema tables") {
        for (std::string_view q : {
                 "SELECT * FROM system_schema.keyspaces",
                 "SELECT * FROM system_schema.tables",
                 "SELECT * FROM system_schema.columns",
                 "SELECT * FROM system_schema.types",
                 "SELECT * FROM system_schema.functions",
                 "SELECT * FROM system_schema.aggregates",
                 "SELECT * FROM system_schema.indexes",
                 "SELECT * FROM system_schema.views",
                 "SELECT * FROM system_schema.triggers",
                 "SELECT * FROM system_virtual_schema.keyspaces",
                 "SELECT * FROM system.peers_v2",
                 "SELECT schema_version FROM system.local WHERE key='local'",
                 "SELECT peer, rpc_address, schema_version FROM system.peers",
                 "SELECT * FROM system_schema.tables WHERE keyspace_name = 'ks' AND table_name = 't'",
             }) {
            auto r = parse_ok(q);
            CHECK(r.get_if<select_statement>() != nullptr);
        }
    }
    SECTION("cluster_name, data_center") {
        auto r = parse_ok("SELECT cluster_name, data_center FROM system.local");
        const auto& s = as<select_statement>(r);
        REQUIRE(s.selectors.size() == 2);
        CHECK(s.selectors[0].name == "cluster_name");
        CHECK(s.selectors[1].name == "data_center");
    }
    SECTION("now()") {
        auto r = parse_ok("SELECT now() FROM system.local");
        const auto& s = as<select_statement>(r);
        REQUIRE(s.selectors.size() == 1);
        CHECK(s.selectors[0].kind == selector_kind::function_call);
        CHECK(s.selectors[0].name == "now");
        CHECK(s.selectors[0].keyspace.empty());
        CHECK(s.selectors[0].args.empty());
        CHECK(s.selectors[0].text == "now()");
    }
    SECTION("keyspace tables by keyspace") {
        auto r = parse_ok("SELECT keyspace_name, table_name FROM system_schema.tables WHERE keyspace_name = 'ks'");
        const auto& s = as<select_statement>(r);
        CHECK(s.table == qualified_name{"system_schema", "tables"});
        REQUIRE(s.where.size() == 1);
        CHECK(s.where[0].columns[0] == "keyspace_name");
        CHECK(s.where[0].value.text == "'ks'");
    }
}

// ---------------------------------------------------------------------------------
TEST_CASE("identifiers: case folding, quoting, keywords", "[sim][cql]") {
    SECTION("unquoted names fold to lower case, quoted keep case") {
        auto r = parse_ok(R"(SELECT MyCol, "MyCol", "with ""quotes""" FROM MyKs."MyTable")");
        const auto& s = as<select_statement>(r);
        REQUIRE(s.selectors.size() == 3);
        CHECK(s.selectors[0].name == "mycol");
        CHECK(s.selectors[1].name == "MyCol");
        CHECK(s.selectors[2].name == "with \"quotes\"");
        CHECK(s.table.keyspace == "myks");
        CHECK(s.table.name == "MyTable");
    }
    SECTION("keywords in any case") {
        auto r = parse_ok("sElEcT a FrOm t wHeRe b = 1 LiMiT 3");
        const auto& s = as<select_statement>(r);
        CHECK(s.table == qualified_name{"", "t"});
        CHECK(s.limit->text == "3");
    }
    SECTION("unreserved keywords are ordinary names") {
        auto r = parse_ok("SELECT key, value, count, ttl, writetime, type, text, timestamp, date, keys, "
                          "filtering, json, distinct, static, clustering FROM t");
        const auto& s = as<select_statement>(r);
        REQUIRE(s.selectors.size() == 15);
        for (const auto& sel : s.selectors) CHECK(sel.kind == selector_kind::column);
        CHECK(s.selectors[11].name == "json");
        CHECK(s.selectors[12].name == "distinct");
        CHECK_FALSE(s.distinct);
    }
    SECTION("reserved keywords must be quoted") {
        auto e = parse_fail("SELECT * FROM table");
        CHECK(e.message == "line 1:14 no viable alternative at input 'table'");
        auto r = parse_ok(R"(SELECT "select" FROM "table" WHERE "from" = 1)");
        const auto& s = as<select_statement>(r);
        CHECK(s.selectors[0].name == "select");
        CHECK(s.table.name == "table");
        CHECK(s.where[0].columns[0] == "from");
    }
    SECTION("comments anywhere, trailing semicolon") {
        auto r = parse_ok("-- leading\nSELECT /* inline */ a // trailing\n FROM t; -- done");
        const auto& s = as<select_statement>(r);
        CHECK(s.selectors[0].name == "a");
        CHECK(s.table.name == "t");
    }
}

// ---------------------------------------------------------------------------------
TEST_CASE("SELECT clauses and selectors", "[sim][cql]") {
    SECTION("full clause set") {
        auto r = parse_ok(
            "SELECT DISTINCT k, COUNT(*) AS n FROM ks.t WHERE k = ? AND c >= 3 GROUP BY k, c ORDER BY c DESC, d "
            "ASC PER PARTITION LIMIT 2 LIMIT ? ALLOW FILTERING;");
        const auto& s = as<select_statement>(r);
        CHECK(s.distinct);
        REQUIRE(s.selectors.size() == 2);
        CHECK(s.selectors[1].kind == selector_kind::count_star);
        CHECK(s.selectors[1].alias == "n");
        CHECK(s.selectors[1].text == "COUNT(*)");
        CHECK(s.group_by == std::vector<std::string>{"k", "c"});
        REQUIRE(s.order_by.size() == 2);
        CHECK(s.order_by[0].column == "c");
        CHECK(s.order_by[0].descending);
        CHECK(s.order_by[1].column == "d");
        CHECK_FALSE(s.order_by[1].descending);
        REQUIRE(s.per_partition_limit);
        CHECK(s.per_partition_limit->kind == term_kind::integer);
        CHECK(s.per_partition_limit->text == "2");
        REQUIRE(s.limit);
        CHECK(s.limit->kind == term_kind::bind_marker);
        CHECK(s.limit->bind_index == 1);
        CHECK(s.allow_filtering);
        CHECK(r.bind_marker_count() == 2);
    }
    SECTION("count forms, writetime, ttl, token, functions, aliases") {
        auto r = parse_ok(
            "SELECT count(1), count(v), writetime(v), TTL(v), maxwritetime(v), token(a, b), toJson(m) AS j, "
            "system.blobAsText(0x41), CAST(v AS text), u.street, m['k'], 42 FROM t");
        const auto& s = as<select_statement>(r);
        REQUIRE(s.selectors.size() == 12);
        CHECK(s.selectors[0].kind == selector_kind::count_star);
        CHECK(s.selectors[1].kind == selector_kind::function_call);
        CHECK(s.selectors[1].name == "count");
        REQUIRE(s.selectors[1].args.size() == 1);
        CHECK(s.selectors[1].args[0].kind == selector_kind::column);
        CHECK(s.selectors[1].args[0].name == "v");
        CHECK(s.selectors[2].kind == selector_kind::writetime);
        CHECK(s.selectors[2].args[0].name == "v");
        CHECK(s.selectors[2].text == "writetime(v)");
        CHECK(s.selectors[3].kind == selector_kind::ttl);
        CHECK(s.selectors[4].kind == selector_kind::max_writetime);
        CHECK(s.selectors[5].kind == selector_kind::function_call);
        CHECK(s.selectors[5].name == "token");
        REQUIRE(s.selectors[5].args.size() == 2);
        CHECK(s.selectors[5].args[1].name == "b");
        CHECK(s.selectors[6].name == "tojson");
        CHECK(s.selectors[6].alias == "j");
        CHECK(s.selectors[6].text == "toJson(m)");
        CHECK(s.selectors[7].keyspace == "system");
        CHECK(s.selectors[7].name == "blobastext");
        REQUIRE(s.selectors[7].args.size() == 1);
        CHECK(s.selectors[7].args[0].kind == selector_kind::term);
        CHECK(s.selectors[7].args[0].value.kind == term_kind::blob);
        CHECK(s.selectors[7].args[0].value.text == "0x41");
        CHECK(s.selectors[8].kind == selector_kind::cast);
        CHECK(s.selectors[8].cast_type == "text");
        CHECK(s.selectors[8].args[0].name == "v");
        CHECK(s.selectors[9].kind == selector_kind::field);
        CHECK(s.selectors[9].name == "street");
        CHECK(s.selectors[9].args[0].name == "u");
        CHECK(s.selectors[9].text == "u.street");
        CHECK(s.selectors[10].kind == selector_kind::element);
        CHECK(s.selectors[10].args[0].name == "m");
        CHECK(s.selectors[10].value.text == "'k'");
        CHECK(s.selectors[11].kind == selector_kind::term);
        CHECK(s.selectors[11].value.text == "42");
    }
    SECTION("nested function calls") {
        auto r = parse_ok("SELECT toUnixTimestamp(toTimestamp(now())) FROM t");
        const auto& sel = as<select_statement>(r).selectors.at(0);
        CHECK(sel.name == "tounixtimestamp");
        REQUIRE(sel.args.size() == 1);
        CHECK(sel.args[0].name == "totimestamp");
        REQUIRE(sel.args[0].args.size() == 1);
        CHECK(sel.args[0].args[0].name == "now");
        CHECK(sel.args[0].args[0].text == "now()");
    }
    SECTION("JSON is a modifier, but json as a column is fine") {
        CHECK(std::get<select_statement>(parse_ok("SELECT JSON * FROM t").stmt()).json);
        CHECK(!std::get<select_statement>(parse_ok("SELECT json FROM t").stmt()).json);
    }
}

// ---------------------------------------------------------------------------------
TEST_CASE("WHERE relations", "[sim][cql]") {
    auto r = parse_ok(
        "SELECT * FROM t WHERE a = 1 AND b IN (1, 2, 3) AND c IN ? AND d > 1 AND e >= 2 AND f < 3 AND g <= 4 "
        "AND (c1, c2) > (1, 'x') AND token(a, b) > -100 AND s CONTAINS 'v' AND m CONTAINS KEY 'k' AND "
        "m['k'] = 'v' AND h IN () AND (c1, c2) IN ((1, 2), (3, 4)) AND (c1, c2) = ? AND token(k) <= ? "
        "AND x != 5 AND name LIKE 'ab%'");
    const auto& w = as<select_statement>(r).where;
    REQUIRE(w.size() == 18);

    CHECK(w[0].op == relation_op::eq);
    CHECK(w[0].value.kind == term_kind::integer);

    CHECK(w[1].op == relation_op::in);
    CHECK(w[1].in_list);
    REQUIRE(w[1].in_values.size() == 3);
    CHECK(w[1].in_values[2].text == "3");

    CHECK(w[2].op == relation_op::in);
    CHECK_FALSE(w[2].in_list);
    CHECK(w[2].value.kind == term_kind::bind_marker);
    CHECK(w[2].value.bind_index == 0);

    CHECK(w[3].op == relation_op::gt);
    CHECK(w[4].op == relation_op::gte);
    CHECK(w[5].op == relation_op::lt);
    CHECK(w[6].op == relation_op::lte);

    CHECK(w[7].target == relation_target::multi_column);
    CHECK(w[7].columns == std::vector<std::string>{"c1", "c2"});
    CHECK(w[7].op == relation_op::gt);
    CHECK(w[7].value.kind == term_kind::tuple);
    CHECK(w[7].value.text == "(1, 'x')");
    REQUIRE(w[7].value.children.size() == 2);
    CHECK(w[7].value.children[1].text == "'x'");

    CHECK(w[8].target == relation_target::token);
    CHECK(w[8].columns == std::vector<std::string>{"a", "b"});
    CHECK(w[8].op == relation_op::gt);
    CHECK(w[8].value.kind == term_kind::integer);
    CHECK(w[8].value.text == "-100");

    CHECK(w[9].op == relation_op::contains);
    CHECK(w[10].op == relation_op::contains_key);
    CHECK(w[10].value.text == "'k'");

    CHECK(w[11].target == relation_target::element);
    CHECK(w[11].columns[0] == "m");
    REQUIRE(w[11].element);
    CHECK(w[11].element->text == "'k'");
    CHECK(w[11].value.text == "'v'");

    CHECK(w[12].in_list);
    CHECK(w[12].in_values.empty());

    CHECK(w[13].target == relation_target::multi_column);
    CHECK(w[13].op == relation_op::in);
    REQUIRE(w[13].in_values.size() == 2);
    CHECK(w[13].in_values[1].kind == term_kind::tuple);
    CHECK(w[13].in_values[1].text == "(3, 4)");

    CHECK(w[14].value.kind == term_kind::bind_marker);
    CHECK(w[14].value.bind_index == 1);
    CHECK(w[15].target == relation_target::token);
    CHECK(w[15].op == relation_op::lte);
    CHECK(w[15].value.bind_index == 2);
    CHECK(w[16].op == relation_op::neq);
    CHECK(w[17].op == relation_op::like);
    CHECK(r.bind_marker_count() == 3);
}

TEST_CASE("relations: token with a function value, IS NOT NULL, malformed", "[sim][cql]") {
    auto r = parse_ok("SELECT * FROM t WHERE token(k) > token('abc') AND token(k) <= token(?)");
    const auto& w = as<select_statement>(r).where;
    CHECK(w[0].value.kind == term_kind::function_call);
    CHECK(w[0].value.name == "token");
    CHECK(w[0].value.text == "token('abc')");
    CHECK(w[1].value.children.at(0).kind == term_kind::bind_marker);
    CHECK(r.bind_marker_count() == 1);

    auto e = parse_fail("SELECT * FROM t WHERE v IS NOT NULL", parse_error_kind::unsupported);
    CHECK(e.message == "IS NOT NULL is not supported by the simulator");
    parse_fail("SELECT * FROM t WHERE token(k) IN (1, 2)");
    parse_fail("SELECT * FROM t WHERE a = 1 AND");
    parse_fail("SELECT * FROM t WHERE a 1");
    parse_fail("SELECT * FROM t WHERE a IN 1");
}

// ---------------------------------------------------------------------------------
TEST_CASE("terms keep their exact source text and category", "[sim][cql]") {
    struct expectation {
        std::string_view literal;
        term_kind kind;
    };
    const expectation cases[] = {
        {"'it''s'", term_kind::string},
        {"''", term_kind::string},
        {"$$it's $ a \"dollar\" string$$", term_kind::string},
        {"42", term_kind::integer},
        {"-42", term_kind::integer},
        {"0", term_kind::integer},
        {"1.5", term_kind::floating},
        {"-1.5e3", term_kind::floating},
        {"1e10", term_kind::floating},
        {"2.5E-3", term_kind::floating},
        {"1.", term_kind::floating},
        {"NaN", term_kind::floating},
        {"Infinity", term_kind::floating},
        {"-Infinity", term_kind::floating},
        {"-NaN", term_kind::floating},
        {"true", term_kind::boolean},
        {"FALSE", term_kind::boolean},
        {"null", term_kind::null},
        {"NULL", term_kind::null},
        {"0xcafe", term_kind::blob},
        {"0XCAFE", term_kind::blob},
        {"0x", term_kind::blob},
        {"d8775a70-6ea4-11e4-9fa7-0db22d2a6140", term_kind::uuid},
        {"12345678-1234-1234-1234-123456789abc", term_kind::uuid},
        {"1h30m", term_kind::duration},
        {"1y2mo3w4d5h6m7s8ms9us10ns", term_kind::duration},
        {"3d", term_kind::duration},
        {"-3d", term_kind::duration},
        {"10\xC2\xB5s", term_kind::duration},
        {"P1Y2M", term_kind::duration},
        {"PT5M", term_kind::duration},
        {"p1y2m3dt4h5m6s", term_kind::duration},
        {"P2W", term_kind::duration},
        {"-P1D", term_kind::duration},
        {"P0001-02-03T04:05:06", term_kind::duration},
        {"'2024-01-01'", term_kind::string},
        {"'2013-08-13 09:52:03+0000'", term_kind::string},
        {"[1, 2, 3]", term_kind::list},
        {"[]", term_kind::list},
        {"{1, 2}", term_kind::set},
        {"{'a': [1, 2]}", term_kind::map},
        {"{}", term_kind::empty_braces},
        {"{street: '1 Main', \"Zip\": 12345}", term_kind::udt},
        {"(1, 'a', 2.5)", term_kind::tuple},
        {"('only')", term_kind::tuple},
        {"now()", term_kind::function_call},
        {"uuid()", term_kind::function_call},
        {"toTimestamp(now())", term_kind::function_call},
        {"currentTimestamp()", term_kind::function_call},
        {"system.now()", term_kind::function_call},
        {"(int) 3", term_kind::type_cast},
        {"(frozen<list<int>>) [1]", term_kind::type_cast},
        {"?", term_kind::bind_marker},
        {":name", term_kind::bind_marker},
        {"{ 'k' : { 'nested' : [ { 1 , 2 } ] } }", term_kind::map},
    };
    for (const auto& c : cases) {
        INFO("literal: " << c.literal);
        auto r = parse_ok(std::string("INSERT INTO t (v) VALUES (") + std::string(c.literal) + ")");
        const auto& v = insert_value(r);
        CHECK(v.kind == c.kind);
        CHECK(v.text == c.literal);
    }
}

TEST_CASE("composite literals expose their parts", "[sim][cql]") {
    SECTION("map of lists") {
        auto r = parse_ok("INSERT INTO t (m) VALUES ({'a': [1, 2], 'b': []})");
        const auto& v = insert_value(r);
        REQUIRE(v.kind == term_kind::map);
        REQUIRE(v.children.size() == 4);
        CHECK(v.children[0].text == "'a'");
        CHECK(v.children[1].kind == term_kind::list);
        CHECK(v.children[1].text == "[1, 2]");
        CHECK(v.children[1].children.size() == 2);
        CHECK(v.children[3].text == "[]");
        CHECK(v.is_constant());
    }
    SECTION("UDT literal: field names then values") {
        auto r = parse_ok("INSERT INTO t (u) VALUES ({Street: 'x', \"Zip\": 1, tags: {'a', 'b'}})");
        const auto& v = insert_value(r);
        REQUIRE(v.kind == term_kind::udt);
        REQUIRE(v.children.size() == 6);
        CHECK(v.children[0].kind == term_kind::identifier);
        CHECK(v.children[0].name == "street");
        CHECK(v.children[2].name == "Zip");
        CHECK(v.children[3].text == "1");
        CHECK(v.children[5].kind == term_kind::set);
        CHECK(v.is_constant());
    }
    SECTION("markers and calls inside collections") {
        auto r = parse_ok("INSERT INTO t (k, l, m) VALUES (?, [?, now()], {:key: (int) 1})");
        const auto& s = as<insert_statement>(r);
        CHECK(s.values[0].bind_index == 0);
        CHECK(s.values[1].kind == term_kind::list);
        CHECK(s.values[1].children[0].bind_index == 1);
        CHECK(s.values[1].children[1].kind == term_kind::function_call);
        CHECK_FALSE(s.values[1].is_constant());
        CHECK(s.values[2].kind == term_kind::map);
        CHECK(s.values[2].children[0].bind_index == 2);
        CHECK(s.values[2].children[0].name == "key");
        CHECK(s.values[2].children[1].kind == term_kind::type_cast);
        CHECK(s.values[2].children[1].cast_type == "int");
        CHECK(s.values[2].children[1].children.at(0).text == "1");
        REQUIRE(r.bind_marker_count() == 3);
        CHECK(r.bind_markers[0].name.empty());
        CHECK(r.bind_markers[2].name == "key");
    }
    SECTION("function call arguments") {
        auto r = parse_ok("INSERT INTO t (ts) VALUES (toTimestamp(now()))");
        const auto& v = insert_value(r);
        CHECK(v.name == "totimestamp");
        REQUIRE(v.children.size() == 1);
        CHECK(v.children[0].name == "now");
        CHECK(v.children[0].children.empty());
        CHECK_FALSE(v.is_constant());
    }
    SECTION("sign glued only when adjacent") {
        parse_fail("INSERT INTO t (v) VALUES (- 1)");
        CHECK(kind_of("-1") == term_kind::integer);
        CHECK(kind_of("-1.5") == term_kind::floating);
    }
}

// ---------------------------------------------------------------------------------
TEST_CASE("INSERT", "[sim][cql]") {
    SECTION("plain") {
        auto r = parse_ok("INSERT INTO ks.users (id, Name, \"Email\") VALUES (1, 'bob', 'b@x.org')");
        const auto& s = as<insert_statement>(r);
        CHECK(s.table == qualified_name{"ks", "users"});
        CHECK(s.columns == std::vector<std::string>{"id", "name", "Email"});
        REQUIRE(s.values.size() == 3);
        CHECK(s.values[2].text == "'b@x.org'");
        CHECK_FALSE(s.if_not_exists);
        CHECK_FALSE(s.attributes.ttl);
        CHECK_FALSE(s.attributes.timestamp);
    }
    SECTION("IF NOT EXISTS USING TTL AND TIMESTAMP, markers numbered in order") {
        auto r = parse_ok("INSERT INTO t (a, b) VALUES (?, ?) IF NOT EXISTS USING TTL ? AND TIMESTAMP ?");
        const auto& s = as<insert_statement>(r);
        CHECK(s.if_not_exists);
        CHECK(s.values[0].bind_index == 0);
        CHECK(s.values[1].bind_index == 1);
        CHECK(s.attributes.ttl->bind_index == 2);
        CHECK(s.attributes.timestamp->bind_index == 3);
        CHECK(r.bind_marker_count() == 4);
    }
    SECTION("USING before IF NOT EXISTS, literal values") {
        auto r = parse_ok("INSERT INTO t (a) VALUES (1) USING TIMESTAMP 123456789 AND TTL 86400 IF NOT EXISTS");
        const auto& s = as<insert_statement>(r);
        CHECK(s.if_not_exists);
        CHECK(s.attributes.ttl->text == "86400");
        CHECK(s.attributes.timestamp->text == "123456789");
    }
    SECTION("JSON document, DEFAULT and USING") {
        auto r = parse_ok("INSERT INTO t JSON '{\"a\": 1}' DEFAULT UNSET IF NOT EXISTS USING TTL 5");
        const auto& s = as<insert_statement>(r);
        REQUIRE(s.json);
        CHECK(s.json->text == "'{\"a\": 1}'");
        CHECK(s.json_default_unset);
        CHECK(s.if_not_exists);
        CHECK(s.attributes.ttl->text == "5");
        CHECK(s.columns.empty());
        auto m = parse_ok("INSERT INTO t JSON :doc DEFAULT NULL");
        CHECK(as<insert_statement>(m).json->kind == term_kind::bind_marker);
        CHECK_FALSE(as<insert_statement>(m).json_default_unset);
        parse_fail("INSERT INTO t JSON 1");
        parse_fail("INSERT INTO t JSON '{}' DEFAULT 1");
    }
    SECTION("column/value count mismatch is invalid") {
        auto e = parse_fail("INSERT INTO t (a, b) VALUES (1)", parse_error_kind::invalid);
        CHECK(e.message == "Unmatched column names/values");
    }
    SECTION("a syntax error wins over a deferred invalid") {
        parse_fail("INSERT INTO t (a, b) VALUES (1) garbage");
    }
    SECTION("bad USING") {
        parse_fail("INSERT INTO t (a) VALUES (1) USING TTL 'x'");
        parse_fail("INSERT INTO t (a) VALUES (1) USING TTL 1.5");
        parse_fail("INSERT INTO t (a) VALUES (1) USING WHATEVER 1");
    }
}

// ---------------------------------------------------------------------------------
TEST_CASE("UPDATE", "[sim][cql]") {
    SECTION("every assignment form") {
        auto r = parse_ok(
            "UPDATE ks.t USING TTL 60 AND TIMESTAMP ? SET a = 1, b = b + 2, c = [0] + c, d = d - {'x'}, "
            "m['k'] = 'v', l[2] = ?, u.street = 'x', n += 1, o -= 1, p = p -1 WHERE k = ? AND c IN (1, 2)");
        const auto& s = as<update_statement>(r);
        CHECK(s.table == qualified_name{"ks", "t"});
        CHECK(s.attributes.ttl->text == "60");
        CHECK(s.attributes.timestamp->bind_index == 0);
        const auto& a = s.assignments;
        REQUIRE(a.size() == 10);
        CHECK(a[0].column == "a");
        CHECK(a[0].op == assignment_op::set);
        CHECK(a[0].value.text == "1");
        CHECK(a[1].op == assignment_op::add);
        CHECK(a[1].value.text == "2");
        CHECK(a[2].op == assignment_op::prepend);
        CHECK(a[2].value.text == "[0]");
        CHECK(a[3].op == assignment_op::subtract);
        CHECK(a[3].value.text == "{'x'}");
        CHECK(a[4].op == assignment_op::set_element);
        CHECK(a[4].element->text == "'k'");
        CHECK(a[4].value.text == "'v'");
        CHECK(a[5].op == assignment_op::set_element);
        CHECK(a[5].element->text == "2");
        CHECK(a[5].value.bind_index == 1);
        CHECK(a[6].op == assignment_op::set_field);
        CHECK(a[6].column == "u");
        CHECK(a[6].field == "street");
        CHECK(a[7].op == assignment_op::add);
        CHECK(a[8].op == assignment_op::subtract);
        CHECK(a[9].op == assignment_op::subtract);
        CHECK(a[9].value.text == "1");
        REQUIRE(s.where.size() == 2);
        CHECK(s.where[0].value.bind_index == 2);
        CHECK(s.where[1].in_values.size() == 2);
        CHECK_FALSE(s.if_exists);
        CHECK(s.conditions.empty());
        CHECK(r.bind_marker_count() == 3);
    }
    SECTION("markers numbered across USING, SET, WHERE and IF") {
        auto r = parse_ok("UPDATE t USING TTL ? SET v = ?, m[?] = ? WHERE k = ? IF v = ? AND m[?] = ?");
        const auto& s = as<update_statement>(r);
        CHECK(s.attributes.ttl->bind_index == 0);
        CHECK(s.assignments[0].value.bind_index == 1);
        CHECK(s.assignments[1].element->bind_index == 2);
        CHECK(s.assignments[1].value.bind_index == 3);
        CHECK(s.where[0].value.bind_index == 4);
        REQUIRE(s.conditions.size() == 2);
        CHECK(s.conditions[0].value.bind_index == 5);
        CHECK(s.conditions[1].target == relation_target::element);
        CHECK(s.conditions[1].element->bind_index == 6);
        CHECK(s.conditions[1].value.bind_index == 7);
        CHECK(r.bind_marker_count() == 8);
    }
    SECTION("named markers") {
        auto r = parse_ok("UPDATE t SET v = :Value, w = :\"Quoted\" WHERE k = :k AND c = :k");
        REQUIRE(r.bind_marker_count() == 4);
        CHECK(r.bind_markers[0].name == "value");
        CHECK(r.bind_markers[1].name == "Quoted");
        CHECK(r.bind_markers[2].name == "k");
        CHECK(r.bind_markers[3].name == "k");
        const auto& s = as<update_statement>(r);
        CHECK(s.assignments[0].value.name == "value");
        CHECK(s.assignments[0].value.text == ":Value");
        CHECK(s.where[1].value.bind_index == 3);
        CHECK(r.bind_markers[2].offset == r.source.find(":k"));
    }
    SECTION("IF EXISTS and conditions") {
        auto r1 = parse_ok("UPDATE t SET v = 1 WHERE k = 0 IF EXISTS");
        CHECK(as<update_statement>(r1).if_exists);
        auto r2 = parse_ok("UPDATE t SET v = 1 WHERE k = 0 IF v = 0 AND w != null AND u.f > 3 AND x IN (1, 2)");
        const auto& c = as<update_statement>(r2).conditions;
        REQUIRE(c.size() == 4);
        CHECK(c[0].op == relation_op::eq);
        CHECK(c[1].op == relation_op::neq);
        CHECK(c[1].value.kind == term_kind::null);
        CHECK(c[2].target == relation_target::field);
        CHECK(c[2].columns[0] == "u");
        CHECK(c[2].field == "f");
        CHECK(c[3].op == relation_op::in);
        CHECK_FALSE(as<update_statement>(r2).if_exists);
    }
    SECTION("X = Y + v is rejected as Cassandra does") {
        auto e = parse_fail("UPDATE t SET a = b + 1 WHERE k = 0", parse_error_kind::invalid);
        CHECK(e.message == "Only expressions of the form X = X + <value> are supported.");
        auto e2 = parse_fail("UPDATE t SET a = [1] + b WHERE k = 0", parse_error_kind::invalid);
        CHECK(e2.message == "Only expressions of the form X = <value> + X are supported.");
    }
    SECTION("WHERE is mandatory") {
        auto e = parse_fail("UPDATE t SET a = 1");
        CHECK(e.message == "line 1:18 mismatched input '<EOF>' expecting K_WHERE");
    }
}

// ---------------------------------------------------------------------------------
TEST_CASE("DELETE", "[sim][cql]") {
    SECTION("whole rows") {
        auto r = parse_ok("DELETE FROM ks.t WHERE k = 1 AND c > 2");
        const auto& s = as<delete_statement>(r);
        CHECK(s.columns.empty());
        CHECK(s.table == qualified_name{"ks", "t"});
        CHECK(s.where.size() == 2);
    }
    SECTION("columns, elements, fields, timestamp, IF EXISTS") {
        auto r = parse_ok("DELETE a, m['k'], l[?], u.f FROM t USING TIMESTAMP ? WHERE k = ? IF EXISTS");
        const auto& s = as<delete_statement>(r);
        REQUIRE(s.columns.size() == 4);
        CHECK(s.columns[0].column == "a");
        CHECK_FALSE(s.columns[0].element);
        CHECK(s.columns[1].element->text == "'k'");
        CHECK(s.columns[2].element->bind_index == 0);
        CHECK(s.columns[3].field == "f");
        CHECK(s.attributes.timestamp->bind_index == 1);
        CHECK(s.where[0].value.bind_index == 2);
        CHECK(s.if_exists);
    }
    SECTION("conditions") {
        auto r = parse_ok("DELETE FROM t WHERE k = 1 IF v = 2");
        CHECK(as<delete_statement>(r).conditions.size() == 1);
    }
    SECTION("no TTL on DELETE") {
        auto e = parse_fail("DELETE FROM t USING TTL 5 WHERE k = 1");
        CHECK(e.message == "line 1:20 mismatched input 'TTL' expecting K_TIMESTAMP");
    }
}

// ---------------------------------------------------------------------------------
TEST_CASE("BATCH", "[sim][cql]") {
    SECTION("logged batch with children and markers across them") {
        auto r = parse_ok(
            "BEGIN BATCH USING TIMESTAMP 42\n"
            "  INSERT INTO t (k, v) VALUES (?, ?);\n"
            "  UPDATE t SET v = ? WHERE k = ?\n"
            "  DELETE FROM t WHERE k = ?;\n"
            "APPLY BATCH;");
        const auto& b = as<batch_statement>(r);
        CHECK(b.type == batch_type::logged);
        CHECK(b.attributes.timestamp->text == "42");
        REQUIRE(b.statements.size() == 3);
        const auto& ins = std::get<insert_statement>(b.statements[0]);
        CHECK(ins.values[1].bind_index == 1);
        const auto& upd = std::get<update_statement>(b.statements[1]);
        CHECK(upd.assignments[0].value.bind_index == 2);
        CHECK(upd.where[0].value.bind_index == 3);
        const auto& del = std::get<delete_statement>(b.statements[2]);
        CHECK(del.where[0].value.bind_index == 4);
        CHECK(r.bind_marker_count() == 5);
    }
    SECTION("unlogged and counter") {
        auto r1 = parse_ok("BEGIN UNLOGGED BATCH INSERT INTO t (k) VALUES (1) APPLY BATCH");
        CHECK(as<batch_statement>(r1).type == batch_type::unlogged);
        auto r2 = parse_ok("begin counter batch update c set n = n + 1 where k = 1; apply batch");
        const auto& b = as<batch_statement>(r2);
        CHECK(b.type == batch_type::counter);
        CHECK(std::get<update_statement>(b.statements.at(0)).assignments[0].op == assignment_op::add);
    }
    SECTION("empty batch") {
        auto r = parse_ok("BEGIN BATCH APPLY BATCH");
        CHECK(as<batch_statement>(r).statements.empty());
    }
    SECTION("errors") {
        auto e = parse_fail("BEGIN BATCH SELECT * FROM t; APPLY BATCH");
        CHECK(e.message == "line 1:12 mismatched input 'SELECT' expecting K_APPLY");
        auto e2 = parse_fail("BEGIN BATCH INSERT INTO t (k) VALUES (1);");
        CHECK(e2.message == "line 1:41 mismatched input '<EOF>' expecting K_APPLY");
        auto e3 = parse_fail("BEGIN BATCH USING TTL 5 INSERT INTO t (k) VALUES (1) APPLY BATCH",
                             parse_error_kind::invalid);
        CHECK(e3.message == "Global TTL on the BATCH statement is not supported.");
        parse_fail("BEGIN BATCH INSERT INTO t (k) VALUES (1) APPLY");
    }
}

// ---------------------------------------------------------------------------------
TEST_CASE("keyspaces and USE", "[sim][cql]") {
    SECTION("SimpleStrategy") {
        auto r = parse_ok(
            "CREATE KEYSPACE IF NOT EXISTS Ks WITH replication = {'class': 'SimpleStrategy', "
            "'replication_factor': 3} AND durable_writes = true");
        const auto& s = as<create_keyspace_statement>(r);
        CHECK(s.keyspace == "ks");
        CHECK(s.if_not_exists);
        CHECK(s.replication == std::map<std::string, std::string>{{"class", "SimpleStrategy"},
                                                                  {"replication_factor", "3"}});
        REQUIRE(s.durable_writes);
        CHECK(*s.durable_writes);
        REQUIRE(s.options.size() == 2);
        CHECK(s.options[0].name == "replication");
        CHECK(s.options[0].value.text == "{'class': 'SimpleStrategy', 'replication_factor': 3}");
    }
    SECTION("NetworkTopologyStrategy") {
        auto r = parse_ok(
            "CREATE SCHEMA \"MyKs\" WITH REPLICATION = { 'class' : 'NetworkTopologyStrategy', 'dc1' : '3', "
            "'dc2': 2 } AND DURABLE_WRITES = 'false';");
        const auto& s = as<create_keyspace_statement>(r);
        CHECK(s.keyspace == "MyKs");
        CHECK_FALSE(s.if_not_exists);
        CHECK(s.replication.at("class") == "NetworkTopologyStrategy");
        CHECK(s.replication.at("dc1") == "3");
        CHECK(s.replication.at("dc2") == "2");
        CHECK(s.durable_writes == false);
    }
    SECTION("bad options") {
        parse_fail("CREATE KEYSPACE ks WITH replication = 3", parse_error_kind::invalid);
        parse_fail("CREATE KEYSPACE ks WITH durable_writes = 7", parse_error_kind::invalid);
        parse_fail("CREATE KEYSPACE ks");
        auto e = parse_fail("CREATE KEYSPACE ks WITH a = 1 AND a = 2");
        CHECK(e.message == "line 1:34 Multiple definition for property 'a'");
    }
    SECTION("DROP KEYSPACE, USE") {
        auto r = parse_ok("DROP KEYSPACE IF EXISTS ks");
        CHECK(as<drop_keyspace_statement>(r).keyspace == "ks");
        CHECK(as<drop_keyspace_statement>(r).if_exists);
        auto r2 = parse_ok("DROP SCHEMA ks");
        CHECK_FALSE(as<drop_keyspace_statement>(r2).if_exists);
        auto r3 = parse_ok("USE \"MixedCase\";");
        CHECK(as<use_statement>(r3).keyspace == "MixedCase");
        auto r4 = parse_ok("use MyKs");
        CHECK(as<use_statement>(r4).keyspace == "myks");
    }
}

// ---------------------------------------------------------------------------------
TEST_CASE("CREATE TABLE", "[sim][cql]") {
    SECTION("composite partition key, clustering, order and options") {
        auto r = parse_ok(
            "CREATE TABLE IF NOT EXISTS ks.events (\n"
            "  a int, b text, c timestamp, d uuid,\n"
            "  s map<text, frozen<list<int>>> STATIC,\n"
            "  v vector<float, 3>,\n"
            "  addr frozen<address>,\n"
            "  \"Quoted\" VARCHAR,\n"
            "  PRIMARY KEY ((a, b), c, d)\n"
            ") WITH CLUSTERING ORDER BY (c DESC, d ASC) AND comment = 'it''s' AND compaction = "
            "{'class': 'LeveledCompactionStrategy'} AND default_time_to_live = 0 AND gc_grace_seconds = 864000");
        const auto& s = as<create_table_statement>(r);
        CHECK(s.table == qualified_name{"ks", "events"});
        CHECK(s.if_not_exists);
        REQUIRE(s.columns.size() == 8);
        CHECK(s.columns[0].name == "a");
        CHECK(s.columns[0].type.kind == type_kind::int_);
        CHECK(s.columns[1].type.kind == type_kind::text);
        CHECK(s.columns[2].type.kind == type_kind::timestamp);
        CHECK(s.columns[3].type.kind == type_kind::uuid);
        CHECK(s.columns[4].name == "s");
        CHECK(s.columns[4].is_static);
        CHECK(s.columns[4].type.kind == type_kind::map);
        CHECK(s.columns[4].type_text == "map<text, frozen<list<int>>>");
        CHECK(cqlpp::protocol::to_cql_name(s.columns[4].type) == "map<text, frozen<list<int>>>");
        CHECK(s.columns[5].type.kind == type_kind::vector);
        CHECK(s.columns[5].type.dimension == 3);
        CHECK(s.columns[6].type.kind == type_kind::udt);
        CHECK(s.columns[6].type.name == "address");
        CHECK(s.columns[6].type.frozen);
        CHECK(s.columns[7].name == "Quoted");
        CHECK(s.columns[7].type.kind == type_kind::text);
        CHECK_FALSE(s.columns[0].is_static);
        CHECK(s.partition_key == std::vector<std::string>{"a", "b"});
        CHECK(s.clustering_columns == std::vector<std::string>{"c", "d"});
        REQUIRE(s.clustering_order.size() == 2);
        CHECK(s.clustering_order[0].column == "c");
        CHECK(s.clustering_order[0].descending);
        CHECK_FALSE(s.clustering_order[1].descending);
        REQUIRE(s.options.size() == 4);
        CHECK(s.options[0].name == "comment");
        CHECK(s.options[0].value.text == "'it''s'");
        CHECK(constant_text(s.options[0].value) == "it's");
        CHECK(s.options[1].name == "compaction");
        CHECK(s.options[1].value.text == "{'class': 'LeveledCompactionStrategy'}");
        std::map<std::string, std::string> compaction;
        CHECK(constant_string_map(s.options[1].value, compaction));
        CHECK(compaction.at("class") == "LeveledCompactionStrategy");
        CHECK(s.options[2].value.text == "0");
        CHECK(s.options[3].name == "gc_grace_seconds");
        CHECK_FALSE(s.compact_storage);
    }
    SECTION("inline primary key, single-column key, trailing comma") {
        auto r = parse_ok("CREATE TABLE t (k int PRIMARY KEY, v text,)");
        const auto& s = as<create_table_statement>(r);
        CHECK(s.partition_key == std::vector<std::string>{"k"});
        CHECK(s.clustering_columns.empty());
        CHECK(s.table.keyspace.empty());
        auto r2 = parse_ok("CREATE COLUMNFAMILY t (a int, b int, c int, PRIMARY KEY (a, c)) WITH COMPACT STORAGE");
        const auto& s2 = as<create_table_statement>(r2);
        CHECK(s2.partition_key == std::vector<std::string>{"a"});
        CHECK(s2.clustering_columns == std::vector<std::string>{"c"});
        CHECK(s2.compact_storage);
    }
    SECTION("types with comments and odd spacing") {
        auto r = parse_ok("CREATE TABLE t (k int PRIMARY KEY, m MAP < TEXT , /* x */ INT >, "
                          "c 'org.apache.cassandra.db.marshal.LexicalUUIDType', u ks.\"Addr\")");
        const auto& s = as<create_table_statement>(r);
        CHECK(s.columns[1].type.kind == type_kind::map);
        CHECK(s.columns[2].type.kind == type_kind::custom);
        CHECK(s.columns[3].type.keyspace == "ks");
        CHECK(s.columns[3].type.name == "Addr");
    }
    SECTION("invalid key declarations") {
        auto e = parse_fail("CREATE TABLE t (k int PRIMARY KEY, v int, PRIMARY KEY (v))", parse_error_kind::invalid);
        CHECK(e.message == "Multiple PRIMARY KEYs specified (exactly one required)");
        auto e2 = parse_fail("CREATE TABLE t (k int, v int)", parse_error_kind::invalid);
        CHECK(e2.message == "No PRIMARY KEY specified for table 't' (exactly one required)");
    }
    SECTION("bad types are syntax errors") {
        auto e = parse_fail("CREATE TABLE t (k map<int> PRIMARY KEY)");
        CHECK(e.message == "line 1:18 invalid type 'map<int>'");
        parse_fail("CREATE TABLE t (k list<int PRIMARY KEY)");
        parse_fail("CREATE TABLE t (k frozen<int> PRIMARY KEY)");
        std::string deep = "CREATE TABLE t (k ";
        for (int i = 0; i < 100; ++i) deep += "list<";
        deep += "int";
        for (int i = 0; i < 100; ++i) deep += ">";
        deep += " PRIMARY KEY)";
        auto e2 = parse_fail(deep);
        CHECK(e2.message.rfind("line 1:18 type nested too deeply", 0) == 0);
    }
}

TEST_CASE("DROP TABLE, TRUNCATE, ALTER TABLE, types", "[sim][cql]") {
    auto r1 = parse_ok("DROP TABLE IF EXISTS ks.t");
    CHECK(as<drop_table_statement>(r1).table == qualified_name{"ks", "t"});
    CHECK(as<drop_table_statement>(r1).if_exists);
    auto r2 = parse_ok("TRUNCATE ks.t");
    CHECK(as<truncate_statement>(r2).table == qualified_name{"ks", "t"});
    auto r3 = parse_ok("TRUNCATE TABLE t");
    CHECK(as<truncate_statement>(r3).table == qualified_name{"", "t"});

    auto r4 = parse_ok("ALTER TABLE ks.t ADD c1 int");
    const auto& a4 = as<alter_table_statement>(r4);
    CHECK(a4.action == alter_table_action::add_columns);
    REQUIRE(a4.added.size() == 1);
    CHECK(a4.added[0].name == "c1");
    CHECK(a4.added[0].type.kind == type_kind::int_);
    auto r5 = parse_ok("ALTER TABLE t ADD (c1 int, c2 set<text> static)");
    const auto& a5 = as<alter_table_statement>(r5);
    REQUIRE(a5.added.size() == 2);
    CHECK(a5.added[1].type.kind == type_kind::set);
    CHECK(a5.added[1].is_static);
    auto r6 = parse_ok("ALTER TABLE t DROP (c1, c2)");
    CHECK(as<alter_table_statement>(r6).dropped == std::vector<std::string>{"c1", "c2"});
    auto r7 = parse_ok("ALTER TABLE t DROP c1");
    CHECK(as<alter_table_statement>(r7).dropped == std::vector<std::string>{"c1"});
    auto r8 = parse_ok("ALTER TABLE t WITH comment = 'x' AND speculative_retry = NONE");
    const auto& a8 = as<alter_table_statement>(r8);
    CHECK(a8.action == alter_table_action::set_options);
    REQUIRE(a8.options.size() == 2);
    CHECK(a8.options[1].value.kind == term_kind::identifier);
    CHECK(a8.options[1].value.name == "none");
    parse_fail("ALTER TABLE t ALTER c TYPE text", parse_error_kind::unsupported);
    parse_fail("ALTER TABLE t RENAME a TO b", parse_error_kind::unsupported);

    auto r9 = parse_ok("CREATE TYPE IF NOT EXISTS ks.address (street text, zip int, tags frozen<set<text>>)");
    const auto& t9 = as<create_type_statement>(r9);
    CHECK(t9.type == qualified_name{"ks", "address"});
    CHECK(t9.if_not_exists);
    REQUIRE(t9.fields.size() == 3);
    CHECK(t9.fields[1].name == "zip");
    CHECK(t9.fields[2].type.kind == type_kind::set);
    CHECK(t9.fields[2].type_text == "frozen<set<text>>");
    auto r10 = parse_ok("DROP TYPE IF EXISTS address");
    CHECK(as<drop_type_statement>(r10).type == qualified_name{"", "address"});
    CHECK(as<drop_type_statement>(r10).if_exists);
}

// ---------------------------------------------------------------------------------
TEST_CASE("syntax errors name the position and the token", "[sim][cql]") {
    SECTION("misspelt keyword") {
        auto e = parse_fail("SELECT * FORM t");
        CHECK(e.message == "line 1:9 mismatched input 'FORM' expecting K_FROM");
        CHECK(e.line == 1);
        CHECK(e.column == 9);
        CHECK(e.offset == 9);
    }
    SECTION("missing FROM") {
        auto e = parse_fail("SELECT a, b WHERE k = 1");
        CHECK(e.message == "line 1:12 mismatched input 'WHERE' expecting K_FROM");
        auto e2 = parse_fail("SELECT a");
        CHECK(e2.message == "line 1:8 mismatched input '<EOF>' expecting K_FROM");
    }
    SECTION("garbage") {
        CHECK(parse_fail("SELEC * FROM t").message == "line 1:0 no viable alternative at input 'SELEC'");
        CHECK(parse_fail("").message == "line 1:0 no viable alternative at input '<EOF>'");
        CHECK(parse_fail("   ;").message == "line 1:3 no viable alternative at input ';'");
        CHECK(parse_fail("SELECT * FROM t #").message == "line 1:16 no viable alternative at character '#'");
        CHECK(parse_fail("\x01\x02").message == "line 1:0 no viable alternative at character '\x01'");
        CHECK(parse_fail("SELECT * FROM t WHERE").message == "line 1:21 no viable alternative at input '<EOF>'");
    }
    SECTION("positions on later lines") {
        auto e = parse_fail("SELECT *\nFROM t\nWHERE k = = 1");
        CHECK(e.message == "line 3:10 no viable alternative at input '='");
        CHECK(e.line == 3);
        CHECK(e.column == 10);
    }
    SECTION("unterminated literals and comments") {
        auto e = parse_fail("SELECT * FROM t WHERE k = 'abc");
        CHECK(e.message == "line 1:30 mismatched character '<EOF>' expecting '''");
        CHECK(parse_fail("SELECT * FROM t WHERE k = $$abc").message ==
              "line 1:31 mismatched character '<EOF>' expecting '$'");
        CHECK(parse_fail("SELECT \"abc FROM t").message == "line 1:18 mismatched character '<EOF>' expecting '\"'");
        CHECK(parse_fail("SELECT * FROM t /* never closed").message ==
              "line 1:31 mismatched character '<EOF>' expecting '*/'");
        CHECK(parse_fail("SELECT \"\" FROM t").message == "line 1:7 no viable alternative at input '\"\"'");
    }
    SECTION("trailing input and several statements") {
        CHECK(parse_fail("SELECT * FROM t LIMIT 1 2").message == "line 1:24 extraneous input '2' expecting <EOF>");
        CHECK(parse_fail("SELECT * FROM t; SELECT * FROM u").message ==
              "line 1:17 extraneous input 'SELECT' expecting <EOF>");
        CHECK(parse_fail("USE ks;;").message == "line 1:7 extraneous input ';' expecting <EOF>");
    }
    SECTION("long tokens are shortened in messages") {
        std::string q = "SELECT * FROM t WHERE k = 1 '" + std::string(500, 'x') + "'";
        auto e = parse_fail(q);
        CHECK(e.message.size() < 150);
        CHECK(e.message.find("...") != std::string::npos);
    }
}

TEST_CASE("nesting is bounded", "[sim][cql]") {
    SECTION("100k nested lists") {
        std::string q = "INSERT INTO t (v) VALUES (" + std::string(100000, '[');
        auto e = parse_fail(q);
        CHECK(e.message.find("nesting deeper than 64 levels") != std::string::npos);
        CHECK(e.column == 26 + 64);  // the 65th "["
    }
    SECTION("nesting at the limit is fine") {
        std::string lit = std::string(64, '[') + std::string(64, ']');
        auto r = parse_ok("INSERT INTO t (v) VALUES (" + lit + ")");
        CHECK(insert_value(r).text == lit);
        std::string over = std::string(65, '[') + std::string(65, ']');
        parse_fail("INSERT INTO t (v) VALUES (" + over + ")");
    }
    SECTION("maps, tuples, UDTs, calls and selectors") {
        std::string maps, tuples, udts, calls, sels, fields;
        for (int i = 0; i < 50000; ++i) {
            maps += "{1: ";
            tuples += "(";
            udts += "{a: ";
            calls += "f(";
            sels += "g(";
        }
        parse_fail("INSERT INTO t (v) VALUES (" + maps + ")");
        parse_fail("INSERT INTO t (v) VALUES (" + tuples + ")");
        parse_fail("INSERT INTO t (v) VALUES (" + udts + ")");
        parse_fail("INSERT INTO t (v) VALUES (" + calls + ")");
        parse_fail("SELECT " + sels + " FROM t");
        std::string chain = "SELECT a";
        for (int i = 0; i < 50000; ++i) chain += ".b";
        parse_fail(chain + " FROM t");
    }
}

// ---------------------------------------------------------------------------------
TEST_CASE("unsupported statements say so", "[sim][cql]") {
    struct expectation {
        std::string_view query;
        std::string_view message;
    };
    const expectation cases[] = {
        {"CREATE MATERIALIZED VIEW v AS SELECT * FROM t", "CREATE MATERIALIZED VIEW statements are not supported by the simulator"},
        {"CREATE FUNCTION f(a int) RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS 'return a;'",
         "CREATE FUNCTION statements are not supported by the simulator"},
        {"CREATE OR REPLACE FUNCTION f() ...", "CREATE OR REPLACE FUNCTION statements are not supported by the simulator"},
        {"CREATE AGGREGATE a ...", "CREATE AGGREGATE statements are not supported by the simulator"},
        {"CREATE ROLE r WITH PASSWORD = 'x'", "CREATE ROLE statements are not supported by the simulator"},
        {"CREATE USER u", "CREATE USER statements are not supported by the simulator"},
        {"CREATE TRIGGER tr ON t USING 'x'", "CREATE TRIGGER statements are not supported by the simulator"},
        {"DROP MATERIALIZED VIEW v", "DROP MATERIALIZED VIEW statements are not supported by the simulator"},
        {"DROP FUNCTION f", "DROP FUNCTION statements are not supported by the simulator"},
        {"DROP ROLE r", "DROP ROLE statements are not supported by the simulator"},
        {"ALTER KEYSPACE ks WITH durable_writes = false", "ALTER KEYSPACE statements are not supported by the simulator"},
        {"ALTER TYPE a ADD f int", "ALTER TYPE statements are not supported by the simulator"},
        {"ALTER ROLE r WITH LOGIN = true", "ALTER ROLE statements are not supported by the simulator"},
        {"GRANT SELECT ON ks.t TO r", "GRANT statements are not supported by the simulator"},
        {"REVOKE SELECT ON ks.t FROM r", "REVOKE statements are not supported by the simulator"},
        {"LIST ROLES", "LIST statements are not supported by the simulator"},
        {"DESCRIBE KEYSPACES", "DESCRIBE statements are not supported by the simulator"},
    };
    for (const auto& c : cases) {
        auto e = parse_fail(c.query, parse_error_kind::unsupported);
        CHECK(e.message == c.message);
    }
    // Unknown statements are syntax errors, not "unsupported".
    CHECK(parse_fail("CREATE WIDGET w").message == "line 1:7 no viable alternative at input 'WIDGET'");
    CHECK(parse_fail("EXPLAIN SELECT * FROM t").message == "line 1:0 no viable alternative at input 'EXPLAIN'");
}

// ---------------------------------------------------------------------------------
TEST_CASE("source lifetime: owned and borrowed", "[sim][cql]") {
    parse_result copy;
    {
        std::string q = "SELECT * FROM t WHERE k = 'a fairly long literal that does not fit SSO'";
        auto r = parse_statement(q);
        REQUIRE(r.ok());
        q.assign(q.size(), '#');  // the result must not look at the caller's buffer
        copy = r;
    }
    const auto& s = as<select_statement>(copy);
    CHECK(s.where[0].value.text == "'a fairly long literal that does not fit SSO'");
    CHECK(copy.source_storage != nullptr);

    std::string q = "SELECT * FROM t WHERE k = 'borrowed'";
    auto b = parse_statement_borrowed(q);
    REQUIRE(b.ok());
    CHECK(b.source_storage == nullptr);
    CHECK(b.source.data() == q.data());
    CHECK(as<select_statement>(b).where[0].value.text.data() == q.data() + q.find('\''));
}

TEST_CASE("helpers", "[sim][cql]") {
    auto r = parse_ok("INSERT INTO t (a, b, c, d, e) VALUES ('it''s', $$x'y$$, 3, {'k': 1, 'j': true}, {'k': ?})");
    const auto& v = as<insert_statement>(r).values;
    CHECK(constant_text(v[0]) == "it's");
    CHECK(constant_text(v[1]) == "x'y");
    CHECK(constant_text(v[2]) == "3");
    std::map<std::string, std::string> m;
    CHECK(constant_string_map(v[3], m));
    CHECK(m == std::map<std::string, std::string>{{"j", "true"}, {"k", "1"}});
    CHECK_FALSE(constant_string_map(v[4], m));
    CHECK_FALSE(constant_string_map(v[2], m));
    CHECK(v[3].is_constant());
    CHECK_FALSE(v[4].is_constant());

    CHECK(statement_name(parse_ok("SELECT * FROM t").stmt()) == "SELECT");
    CHECK(statement_name(parse_ok("BEGIN BATCH APPLY BATCH").stmt()) == "BATCH");
    CHECK(statement_name(parse_ok("DROP TYPE x").stmt()) == "DROP TYPE");
}

TEST_CASE("robustness: prefixes and random bytes never crash", "[sim][cql]") {
    const std::string_view statements[] = {
        "SELECT DISTINCT k, count(*) AS n, writetime(v), toJson(m['x']) FROM ks.t WHERE (a, b) >= (1, 'x') AND "
        "token(k) > ? AND m CONTAINS KEY :name ORDER BY c DESC LIMIT 10 ALLOW FILTERING;",
        "INSERT INTO t (a, b, c) VALUES ({'k': [1, 2.5e3, -Infinity]}, (int) 3, {f: 0xcafe, g: P1Y}) IF NOT EXISTS "
        "USING TTL 5",
        "BEGIN UNLOGGED BATCH UPDATE t SET a = a + 1, m['k'] = $$v$$ WHERE k = d8775a70-6ea4-11e4-9fa7-0db22d2a6140 "
        "IF EXISTS; DELETE a[1] FROM t WHERE k = 1h30m APPLY BATCH",
        "CREATE TABLE IF NOT EXISTS \"K\".t (a int, b map<text, frozen<list<int>>> static, PRIMARY KEY ((a), b)) "
        "WITH CLUSTERING ORDER BY (b DESC) AND comment = 'x' /* c */",
    };
    std::size_t ok = 0;
    for (auto s : statements) {
        REQUIRE(parse_statement(s).ok());
        for (std::size_t n = 0; n < s.size(); ++n) ok += parse_statement(s.substr(0, n)).ok();
    }
    CHECK(ok > 0);  // some prefixes are complete statements themselves

    std::mt19937 rng(12345);
    const std::string alphabet = "SELECT*FROMWHEREINSERTINTOVALUES()[]{}<>=!?:;,.'\"$-/+ 0123456789abcxyzP\n";
    for (int i = 0; i < 2000; ++i) {
        std::string q;
        auto len = rng() % 80;
        for (std::size_t k = 0; k < len; ++k) q += alphabet[rng() % alphabet.size()];
        auto r = parse_statement(q);
        if (!r.ok()) CHECK_FALSE(r.error().message.empty());
    }
}
