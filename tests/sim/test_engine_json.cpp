// Engine tests: INSERT JSON and fromJson(), the inverse of SELECT JSON/toJson,
// with Cassandra 5.0's decoding rules and error wording.
#include "test_engine_util.hpp"

using namespace engine_test;

namespace {

void json_schema(fixture& f) {
    f.schema();
    f.ok("CREATE TYPE addr (street text, zip int)");
    f.ok("CREATE TABLE j (k int, c text, a ascii, ti tinyint, si smallint, bi bigint, vi varint, de decimal, fl float, "
         "do double, bo boolean, u uuid, tu timeuuid, ts timestamp, d date, t time, ip inet, du duration, b blob, "
         "l list<int>, s set<text>, m map<int, text>, mt map<text, frozen<list<int>>>, ud frozen<addr>, "
         "tp tuple<int, text>, v vector<float, 3>, PRIMARY KEY (k, c))");
}

// Appends rather than "literal" + std::string: g++ 12 -O3 warns falsely (-Wrestrict) on that form.
std::string cat(std::string_view a, std::string_view b) {
    std::string o(a);
    o += b;
    return o;
}

std::string select_json(fixture& f, int k) {
    auto r = f.ok(cat("SELECT JSON * FROM j WHERE k = ", std::to_string(k)));
    REQUIRE(r.row_count() == 1);
    const auto& cell = r.rows().cell(0, 0);
    return std::string(reinterpret_cast<const char*>(cell.bytes.data()), cell.bytes.size());
}

std::string quoted(std::string_view s) {
    std::string o = "'";
    for (char c : s) {
        if (c == '\'') o += '\'';
        o += c;
    }
    return o + "'";
}

}  // namespace

TEST_CASE("json: INSERT JSON round-trips every type through SELECT JSON", "[sim][engine][json]") {
    fixture f;
    json_schema(f);
    const std::string doc =
        R"({"k": 1, "c": "it's", "a": "x", "ti": 1, "si": "2", "bi": 9007199254740993, "vi": "123456789012345678901234567890", )"
        R"("de": 1.25, "fl": 1.5, "do": -2.5, "bo": true, "u": "d8775a70-6ea4-11e4-9fa7-0db22d2a6140", )"
        R"("tu": "d8775a70-6ea4-11e4-9fa7-0db22d2a6140", "ts": "2025-03-09 10:00:00.000Z", "d": "2025-03-09", )"
        R"("t": "10:11:12.123456789", "ip": "::1", "du": "1h30m", "b": "0xcafe", "l": [3, 1, 2], "s": ["b", "a"], )"
        R"("m": {"1": "one", "2": "two"}, "mt": {"x": [1, 2]}, "ud": {"street": "Oak", "zip": 1}, "tp": [7, "seven"], )"
        R"("v": [1.0, 2.5, -3.0]})";
    auto ins = f.q(cat("INSERT INTO j JSON ", quoted(doc)));
    REQUIRE(ins.message() == "(ok)");

    auto r = f.ok("SELECT * FROM j WHERE k = 1");
    REQUIRE(r.row_count() == 1);
    CHECK(r.text(0, "c") == "'it''s'");
    CHECK(r.text(0, "si") == "2");
    CHECK(r.text(0, "bi") == "9007199254740993");
    CHECK(r.text(0, "vi") == "123456789012345678901234567890");
    CHECK(r.text(0, "de") == "1.25");
    CHECK(r.text(0, "bo") == "true");
    CHECK(r.text(0, "ts") == "'2025-03-09 10:00:00.000000+0000'");
    CHECK(r.text(0, "ip") == "'::1'");
    CHECK(r.text(0, "du") == "1h30m");
    CHECK(r.text(0, "b") == "0xcafe");
    CHECK(r.text(0, "l") == "[3, 1, 2]");
    CHECK(r.text(0, "s") == "{'a', 'b'}");
    CHECK(r.text(0, "m") == "{1: 'one', 2: 'two'}");
    CHECK(r.text(0, "mt") == "{'x': [1, 2]}");
    CHECK(r.text(0, "ud") == "{street: 'Oak', zip: 1}");
    CHECK(r.text(0, "tp") == "(7, 'seven')");
    CHECK(r.text(0, "v") == "[1, 2.5, -3]");

    // What SELECT JSON prints, INSERT JSON reads back to the same row.
    const std::string out = select_json(f, 1);
    std::string moved = out;
    moved.replace(moved.find("\"k\": 1"), 6, "\"k\": 2");
    REQUIRE(f.q(cat("INSERT INTO j JSON ", quoted(moved))).message() == "(ok)");
    std::string back = select_json(f, 2);
    back.replace(back.find("\"k\": 2"), 6, "\"k\": 1");
    CHECK(back == out);
}

TEST_CASE("json: DEFAULT NULL / UNSET, USING TTL, bind markers, fromJson()", "[sim][engine][json]") {
    fixture f;
    json_schema(f);
    f.ok(R"(INSERT INTO j JSON '{"k": 1, "c": "a", "bi": 5, "fl": 2}' USING TTL 1000)");
    auto r = f.ok("SELECT bi, ttl(bi), fl, do FROM j WHERE k = 1 AND c = 'a'");
    CHECK(r.text(0, 0) == "5");
    CHECK(r.text(0, 1) != "null");
    CHECK(r.text(0, 3) == "null");
    // DEFAULT UNSET keeps the columns the document leaves out; DEFAULT NULL (the default) clears them.
    f.ok(R"(INSERT INTO j JSON '{"k": 1, "c": "a", "do": 1}' DEFAULT UNSET)");
    r = f.ok("SELECT bi, do FROM j WHERE k = 1 AND c = 'a'");
    CHECK(r.text(0, 0) == "5");
    CHECK(r.text(0, 1) == "1");
    f.ok(R"(INSERT INTO j JSON '{"k": 1, "c": "a", "do": 2}' DEFAULT NULL)");
    r = f.ok("SELECT bi, do FROM j WHERE k = 1 AND c = 'a'");
    CHECK(r.text(0, 0) == "null");
    CHECK(r.text(0, 1) == "2");

    // JSON ? binds one text value named [json].
    auto p = f.prepared("INSERT INTO j JSON ?");
    REQUIRE(p.variables.columns.size() == 1);
    CHECK(p.variables.columns[0].name == "[json]");
    CHECK(proto::to_cql_name(p.variables.columns[0].type) == "text");
    values v;
    v.txt(R"({"k": 3, "c": "b", "l": [1], "ud": {"zip": 9}})");
    REQUIRE(f.execute(p, v).message() == "(ok)");
    r = f.ok("SELECT l, ud FROM j WHERE k = 3");
    CHECK(r.text(0, 0) == "[1]");
    CHECK(r.text(0, 1) == "{street: null, zip: 9}");

    // fromJson() in INSERT VALUES and UPDATE SET, also on a marker.
    f.ok(R"(INSERT INTO j (k, c, m) VALUES (4, 'x', fromJson('{"7": "seven"}')))");
    f.ok(R"(UPDATE j SET tp = fromJson('[1, "one"]'), ts = fromJson('1000') WHERE k = 4 AND c = 'x')");
    auto u = f.prepared("UPDATE j SET l = fromJson(?) WHERE k = 4 AND c = 'x'");
    values lv;
    lv.txt("[5, 6]");
    REQUIRE(f.execute(u, lv).message() == "(ok)");
    r = f.ok("SELECT m, tp, ts, l FROM j WHERE k = 4");
    CHECK(r.text(0, 0) == "{7: 'seven'}");
    CHECK(r.text(0, 1) == "(1, 'one')");
    CHECK(r.text(0, 2) == "'1970-01-01 00:00:01.000000+0000'");
    CHECK(r.text(0, 3) == "[5, 6]");

    // In a batch, each statement decodes its own document.
    f.ok(R"(BEGIN BATCH INSERT INTO j JSON '{"k": 5, "c": "p", "bi": 1}'; INSERT INTO j JSON '{"k": 5, "c": "q", "bi": 2}'; APPLY BATCH)");
    CHECK(f.ok("SELECT bi FROM j WHERE k = 5").row_count() == 2);
}

TEST_CASE("json: Cassandra's errors for bad documents", "[sim][engine][json]") {
    fixture f;
    json_schema(f);
    CHECK(f.q(R"(INSERT INTO j JSON '{"c": "a"}')").message() == "Invalid null value in condition for column k");
    CHECK(f.q(R"(INSERT INTO j JSON '{"k": 1}')").message() == "Invalid null value in condition for column c");
    CHECK(f.q(R"(INSERT INTO j JSON '{"k": 1, "c": "a", "x": 1}')").message() ==
          "JSON values map contains unrecognized column: x");
    CHECK(f.q(R"(INSERT INTO j JSON '{"k": "one", "c": "a"}')").message() ==
          "Error decoding JSON value for k: Unable to make int from 'one'");
    CHECK(f.q(R"(INSERT INTO j JSON '{"k": 1, "c": 2}')").message() ==
          "Error decoding JSON value for c: Expected a UTF-8 string, but got a Integer: 2");
    CHECK(f.q(R"(INSERT INTO j JSON '{"k": 1, "c": "a", "b": "cafe"}')").message() ==
          "Error decoding JSON value for b: String representation of blob is missing 0x prefix: cafe");
    CHECK(f.q(R"(INSERT INTO j JSON '{"k": 1, "c": "a", "ud": {"nope": 1}}')").message() ==
          "Error decoding JSON value for ud: Unknown field 'nope' in value of user defined type addr");
    CHECK(f.q(R"(INSERT INTO j JSON '{"k": 1, "c": "a", "l": 1}')").message() ==
          "Error decoding JSON value for l: Expected a list, but got a Integer: 1");
    CHECK(f.q(R"(INSERT INTO j JSON '{"k": 1,')").message().starts_with("Could not decode JSON string as a map: "));
    CHECK(f.q(R"(INSERT INTO j JSON '[1]')").message().starts_with("Could not decode JSON string as a map: "));
    CHECK(f.q("INSERT INTO j JSON 1").code() == proto::server_errc::syntax_error);
    auto p = f.prepared("INSERT INTO j JSON ?");
    values n;
    n.null();
    CHECK(f.execute(p, n).message() == "Got null for INSERT JSON values");
}
