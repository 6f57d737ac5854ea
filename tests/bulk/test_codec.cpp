// CSV and JSON text for every CQL type: round trips through whole files,
// exact numbers, null vs empty, the streaming CSV reader, malformed input.
#include "cqlpp/bulk/codec.hpp"
#include "cqlpp/bulk/detail/json.hpp"
#include "cqlpp/protocol/literal.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <random>

using namespace cqlpp;
using bulk::column_spec;
using protocol::cql_type;
using protocol::cql_value;

namespace {

cql_type type_of(std::string_view name) {
    auto t = protocol::parse_type_name(name);
    if (!t) FAIL("bad type in test: " << name);
    return *t;
}

cql_type address_type() {
    return cql_type::udt_of("ks", "address", {"street", "zip", "tags", "Where"},
                            {cql_type(protocol::type_kind::text), cql_type(protocol::type_kind::int_),
                             cql_type::set_of(cql_type(protocol::type_kind::text), true),
                             cql_type::tuple_of({cql_type(protocol::type_kind::double_), cql_type(protocol::type_kind::double_)})},
                            true);
}

cql_value lit(const cql_type& t, std::string_view text) {
    cql_value v;
    auto e = protocol::parse_literal(t, text, v);
    if (e != protocol::errc::ok) FAIL("bad literal in test: " << text << ": " << protocol::to_string(e));
    return v;
}

struct sample {
    cql_type type;
    cql_value value;
};

// Values of every type, extremes included. Each is a valid value of its type.
std::vector<sample> samples() {
    std::vector<sample> s;
    auto add = [&](std::string_view type, std::string_view literal) {
        auto t = type_of(type);
        s.push_back({t, lit(t, literal)});
    };
    add("ascii", "'plain ascii, with \"quotes\" and ''apostrophes'''");
    add("text", "'héllo, 世界 🎉 \"quoted\"\nsecond line\r\nthird,with,commas'");
    add("text", "''");
    add("text", "' leading and trailing spaces '");
    add("text", "'null'");
    add("boolean", "true");
    add("boolean", "false");
    add("tinyint", "-128");
    add("smallint", "32767");
    add("int", "-2147483648");
    add("bigint", "-9223372036854775808");
    add("bigint", "9223372036854775807");
    add("counter", "9223372036854775807");
    add("varint", "-123456789012345678901234567890123456789");
    add("varint", "0");
    add("decimal", "-1.10");
    add("decimal", "6.4206E-16");
    add("decimal", "1E+3");
    add("decimal", "12345678901234567890.000000000000000000001");
    add("float", "1.5");
    add("float", "-0.0");
    add("float", "NaN");
    add("float", "Infinity");
    add("float", "-Infinity");
    add("float", "3.4028235e38");
    add("float", "1e-45");
    add("double", "0.1");
    add("double", "-1.7976931348623157e308");
    add("double", "5e-324");
    add("double", "-Infinity");
    add("blob", "0x");
    add("blob", "0x00ff10cafe");
    add("uuid", "123e4567-e89b-12d3-a456-426614174000");
    add("timeuuid", "58046580-2938-11e7-b063-1332a5f033c2");
    add("timestamp", "'2013-08-13 09:52:03.123+0000'");
    add("timestamp", "-1");
    add("timestamp", "253402300800000");  // year 10000: printed as milliseconds
    add("timestamp", "-9223372036854775808");
    add("date", "'1970-01-01'");
    add("date", "0");           // the minimum wire value
    add("date", "4294967295");  // the maximum
    add("time", "'23:59:59.999999999'");
    add("time", "0");
    add("inet", "'127.0.0.1'");
    add("inet", "'2001:db8::ff00:42:8329'");
    add("duration", "1y2mo3d4h5m6s7ms8us9ns");
    add("duration", "-2d10h");
    add("duration", "0s");
    add("list<int>", "[1, 2, 3]");
    add("list<int>", "[]");
    add("set<text>", "{'a', 'b,c', 'd\"e'}");
    add("map<text, int>", "{'one': 1, 'two': 2}");
    add("map<int, text>", "{1: 'a', -2: 'b'}");
    add("map<frozen<list<int>>, set<text>>", "{[1, 2]: {'x'}, []: {}}");
    add("list<frozen<map<text, list<bigint>>>>", "[{'k': [9223372036854775807]}, {}]");
    add("frozen<list<frozen<set<uuid>>>>", "[{123e4567-e89b-12d3-a456-426614174000}]");
    add("tuple<int, text, blob>", "(1, 'x', 0x01)");
    add("tuple<int, text, blob>", "(null, null, null)");
    add("tuple<int, frozen<tuple<text, varint>>>", "(5, ('n', 99999999999999999999999))");
    add("vector<float, 3>", "[1.5, -0.0, 3.4028235e38]");
    add("vector<text, 2>", "['a', '']");
    add("map<timestamp, decimal>", "{'2020-01-01 00:00:00+0000': 1.50}");
    add("map<text, frozen<list<text>>>", "{'': ['']}");
    const auto addr = address_type();
    s.push_back({addr, lit(addr, "{street: 'Main St', zip: 12345, tags: {'home'}, \"Where\": (1.5, -2.5)}")});
    s.push_back({addr, lit(addr, "{street: null, zip: 7, tags: null, \"Where\": null}")});
    auto list_of_udt = cql_type::list_of(addr, true);
    s.push_back({list_of_udt, lit(list_of_udt, "[{street: 'x', zip: null}]")});
    // The zero-length "empty" value of a non-string type, and nulls.
    s.push_back({type_of("int"), cql_value::empty_value()});
    s.push_back({type_of("timestamp"), cql_value::empty_value()});
    s.push_back({type_of("int"), cql_value::null()});
    s.push_back({type_of("text"), cql_value::null()});
    s.push_back({type_of("list<int>"), cql_value::null()});
    s.push_back({addr, cql_value::null()});
    return s;
}

std::vector<column_spec> columns_for(const std::vector<sample>& s) {
    std::vector<column_spec> cols;
    for (std::size_t i = 0; i < s.size(); ++i)
        cols.push_back({"ks", "t", i % 3 == 0 ? "Col " + std::to_string(i) : "c" + std::to_string(i), s[i].type});
    return cols;
}

protocol::byte_buffer encoded(const cql_type& t, const cql_value& v) {
    protocol::byte_buffer b;
    if (v.is_null()) return b;
    auto e = protocol::encode_value(t, v, b);
    if (e != protocol::errc::ok) FAIL("sample does not encode: " << protocol::format_literal(t, v) << ": " << protocol::to_string(e));
    return b;
}

// Reads a whole CSV text, feeding it in chunks of `chunk` bytes.
std::vector<bulk::csv_record> read_csv(std::string_view text, std::size_t chunk, std::vector<bulk::status>* errors = nullptr,
                                       bulk::csv_options opt = {}) {
    bulk::csv_reader r(opt);
    std::vector<bulk::csv_record> out;
    auto drain = [&] {
        for (;;) {
            bulk::csv_record rec;
            bulk::status st;
            auto res = r.next(rec, st);
            if (res == bulk::read_result::record) out.push_back(std::move(rec));
            else if (res == bulk::read_result::error) {
                if (!errors) FAIL("unexpected CSV error: " << st.message);
                errors->push_back(st);
            } else
                return;
        }
    };
    for (std::size_t i = 0; i < text.size(); i += chunk) {
        r.feed(text.substr(i, chunk));
        drain();
    }
    r.finish();
    drain();
    return out;
}

}  // namespace

TEST_CASE("every type round-trips through a CSV file", "[bulk][codec]") {
    const auto s = samples();
    const auto cols = columns_for(s);
    std::vector<cql_value> row;
    for (const auto& x : s) row.push_back(x.value);

    std::string csv;
    bulk::append_csv_header(csv, cols);
    bulk::append_csv_row(csv, cols, row);
    bulk::append_csv_row(csv, cols, row, {',', "\r\n"});

    for (std::size_t chunk : {std::size_t(1), std::size_t(7), csv.size()}) {
        auto records = read_csv(csv, chunk);
        REQUIRE(records.size() == 3);
        bulk::field_mapping mapping;
        REQUIRE(bulk::map_header(cols, records[0], mapping).ok());
        for (std::size_t r = 1; r < 3; ++r) {
            std::vector<cql_value> back;
            auto st = bulk::parse_csv_row(cols, mapping, records[r], back);
            INFO(st.message);
            REQUIRE(st.ok());
            REQUIRE(back.size() == row.size());
            for (std::size_t i = 0; i < row.size(); ++i) {
                INFO("column " << i << " " << protocol::to_cql_name(s[i].type) << " = "
                               << protocol::format_literal(s[i].type, s[i].value) << " field "
                               << bulk::to_field_text(s[i].type, s[i].value));
                CHECK(back[i] == row[i]);
                CHECK(back[i].is_null() == row[i].is_null());
                CHECK(encoded(s[i].type, back[i]) == encoded(s[i].type, row[i]));
            }
        }
    }
}

TEST_CASE("every type round-trips through JSON lines", "[bulk][codec]") {
    const auto s = samples();
    const auto cols = columns_for(s);
    std::vector<cql_value> row;
    for (const auto& x : s) row.push_back(x.value);

    std::string line;
    bulk::append_json_row(line, cols, row);
    REQUIRE(line.back() == '\n');
    REQUIRE(std::count(line.begin(), line.end(), '\n') == 1);  // newlines inside strings are escaped
    // Standard JSON, as an independent parser sees it.
    auto j = nlohmann::json::parse(line);
    REQUIRE(j.is_object());
    CHECK(j.size() == cols.size());

    std::vector<cql_value> back;
    auto st = bulk::parse_json_row(cols, line, back);
    INFO(st.message);
    REQUIRE(st.ok());
    for (std::size_t i = 0; i < row.size(); ++i) {
        INFO("column " << i << " " << protocol::to_cql_name(s[i].type) << " = " << bulk::to_json_value(s[i].type, s[i].value));
        CHECK(back[i] == row[i]);
        CHECK(encoded(s[i].type, back[i]) == encoded(s[i].type, row[i]));
    }
}

TEST_CASE("JSON forms of values", "[bulk][codec]") {
    auto json = [](std::string_view type, std::string_view literal) {
        auto t = type_of(type);
        return bulk::to_json_value(t, lit(t, literal));
    };
    // Exact numbers, written from their decimal text.
    CHECK(json("bigint", "9223372036854775807") == "9223372036854775807");
    CHECK(json("varint", "-123456789012345678901234567890") == "-123456789012345678901234567890");
    CHECK(json("decimal", "1.10") == "1.10");
    CHECK(json("decimal", "1E+3") == "1E+3");
    CHECK(json("double", "0.1") == "0.1");
    CHECK(json("float", "NaN") == "\"NaN\"");
    CHECK(json("double", "Infinity") == "\"Infinity\"");
    CHECK(json("double", "-Infinity") == "\"-Infinity\"");
    CHECK(json("text", "'a\"b\\c\nd'") == "\"a\\\"b\\\\c\\nd\"");
    CHECK(json("blob", "0xCAFE") == "\"0xcafe\"");
    CHECK(json("blob", "0x") == "\"0x\"");
    CHECK(json("timestamp", "'2013-08-13 09:52:03+0000'") == "\"2013-08-13 09:52:03.000000+0000\"");
    CHECK(json("date", "'2020-01-31'") == "\"2020-01-31\"");
    CHECK(json("time", "'09:52:03.5'") == "\"09:52:03.500000000\"");
    CHECK(json("inet", "'::1'") == "\"::1\"");
    CHECK(json("duration", "1h30m") == "\"1h30m\"");
    CHECK(json("uuid", "123e4567-e89b-12d3-a456-426614174000") == "\"123e4567-e89b-12d3-a456-426614174000\"");
    CHECK(json("map<text, int>", "{'a': 1}") == "{\"a\":1}");
    CHECK(json("map<int, text>", "{1: 'a', 2: 'b'}") == "[[1,\"a\"],[2,\"b\"]]");
    CHECK(json("tuple<int, text>", "(1, null)") == "[1,null]");
    CHECK(json("vector<float, 3>", "[1, 2.5, -3]") == "[1,2.5,-3]");
    CHECK(json("set<boolean>", "{true}") == "[true]");
    const auto addr = address_type();
    CHECK(bulk::to_json_value(addr, lit(addr, "{street: 'x', zip: null}")) ==
          "{\"street\":\"x\",\"zip\":null,\"tags\":null,\"Where\":null}");
    CHECK(bulk::to_json_value(type_of("int"), cql_value::empty_value()) == "\"\"");
    CHECK(bulk::to_json_value(type_of("int"), cql_value::null()) == "null");
}

TEST_CASE("JSON input: accepted alternatives", "[bulk][codec]") {
    auto parse = [](std::string_view type, std::string_view json) {
        auto t = type_of(type);
        cql_value v;
        auto st = bulk::parse_json_value(t, json, v);
        INFO(json << ": " << st.message);
        REQUIRE(st.ok());
        return protocol::format_literal(t, v);
    };
    CHECK(parse("map<int, text>", "{\"1\": \"a\"}") == "{1: 'a'}");            // object with converted keys
    CHECK(parse("map<text, int>", "[[\"a\", 1]]") == "{'a': 1}");               // pairs for text keys
    CHECK(parse("bigint", "\"42\"") == "42");                                   // numbers as strings
    CHECK(parse("timestamp", "0") == "'1970-01-01 00:00:00.000000+0000'");     // milliseconds
    CHECK(parse("timestamp", "\"2020-01-01T10:00:00Z\"") == "'2020-01-01 10:00:00.000000+0000'");
    CHECK(parse("tuple<int, int, int>", "[1]") == "(1, null, null)");
    CHECK(parse("decimal", "1e400") == "1E+400");
    CHECK(parse("text", "\"\\ud83c\\udf89\"") == "'🎉'");
    CHECK(parse("int", "\"\"") == "''");  // empty value
    CHECK(parse("int", "null") == "null");
    CHECK(parse("boolean", "true") == "true");
}

TEST_CASE("CSV fields: null versus empty, quoting, CQL literal fallback", "[bulk][codec]") {
    const std::vector<column_spec> cols{{"", "", "k", type_of("int")},
                                        {"", "", "s", type_of("text")},
                                        {"", "", "n", type_of("int")},
                                        {"", "", "b", type_of("blob")},
                                        {"", "", "l", type_of("list<text>")}};
    std::string csv;
    bulk::append_csv_row(csv, cols,
                         std::vector<cql_value>{cql_value::integer(1), cql_value::string(""), cql_value::null(),
                                                cql_value::blob({}), lit(type_of("list<text>"), "['a,b', 'c\"d']")});
    CHECK(csv == "1,\"\",,0x,\"[\"\"a,b\"\",\"\"c\\\"\"d\"\"]\"\n");
    bulk::append_csv_row(csv, cols,
                         std::vector<cql_value>{cql_value::integer(2), cql_value::null(), cql_value::empty_value(),
                                                cql_value::null(), cql_value::null()});
    CHECK(csv.substr(csv.find('\n') + 1) == "2,,\"\",,\n");

    auto records = read_csv(csv, 3);
    REQUIRE(records.size() == 2);
    auto mapping = bulk::positional_mapping(cols.size());
    std::vector<cql_value> row;
    REQUIRE(bulk::parse_csv_row(cols, mapping, records[0], row).ok());
    CHECK(row[1] == cql_value::string(""));
    CHECK(row[2].is_null());
    CHECK(row[3] == cql_value::blob({}));
    CHECK(row[4] == lit(type_of("list<text>"), "['a,b', 'c\"d']"));
    REQUIRE(bulk::parse_csv_row(cols, mapping, records[1], row).ok());
    CHECK(row[1].is_null());
    CHECK(row[2].is_empty());
    CHECK(row[3].is_null());

    // cqlsh COPY writes collections as CQL literals: read those too.
    cql_value v;
    REQUIRE(bulk::parse_field_text(type_of("map<text, int>"), "{'a': 1, 'b': 2}", v).ok());
    CHECK(v == lit(type_of("map<text, int>"), "{'a': 1, 'b': 2}"));
    REQUIRE(bulk::parse_field_text(type_of("boolean"), "True", v).ok());  // cqlsh's capitalisation
    CHECK(v == cql_value::boolean(true));
    // Header names: exact first, then case-insensitive; in any order.
    bulk::csv_record header;
    header.fields = {{"L", false}, {"k", false}, {"S", false}, {"n", true}, {"b", false}};
    bulk::field_mapping m;
    REQUIRE(bulk::map_header(cols, header, m).ok());
    CHECK(m.column_of_field == std::vector<std::size_t>{4, 0, 1, 2, 3});
    header.fields.push_back({"K", false});
    CHECK(bulk::map_header(cols, header, m).code == bulk::errc::duplicate_column);
    header.fields.back() = {"zzz", false};
    CHECK(bulk::map_header(cols, header, m).code == bulk::errc::unknown_column);
}

TEST_CASE("malformed values give errors, never exceptions", "[bulk][codec]") {
    const std::vector<std::pair<std::string_view, std::string_view>> bad{
        {"int", "x1"},
        {"int", "1.5"},
        {"int", "99999999999"},
        {"int", "null"},
        {"int", "'1'"},
        {"tinyint", "128"},
        {"bigint", "9223372036854775808"},
        {"varint", "12a"},
        {"decimal", "1.2.3"},
        {"float", "fast"},
        {"boolean", "yes"},
        {"blob", "cafe"},
        {"blob", "0xabc"},
        {"blob", "0xzz"},
        {"uuid", "not-a-uuid"},
        {"timeuuid", "123e4567-e89b-42d3-a456-426614174000"},  // version 4
        {"date", "2020-13-01"},
        {"time", "24:00:00"},
        {"timestamp", "yesterday"},
        {"inet", "1.2.3.256"},
        {"duration", "5 parsecs"},
        {"ascii", "é"},
        {"text", "\xff\xfe"},
        {"list<int>", "[1, \"a\"]"},
        {"list<int>", "[1,"},
        {"list<int>", "[null]"},
        {"list<int>", "{\"a\": 1}"},
        {"set<text>", "[1]"},
        {"map<int, text>", "[[1]]"},
        {"map<int, text>", "{\"x\": \"a\"}"},
        {"map<text, int>", "[1, 2]"},
        {"vector<float, 3>", "[1, 2]"},
        {"vector<float, 3>", "[1, 2, \"x\"]"},
        {"tuple<int, int>", "[1, 2, 3]"},
        {"list<int>", "null"},
    };
    for (const auto& [type, text] : bad) {
        cql_value v;
        auto st = bulk::parse_field_text(type_of(type), text, v);
        INFO(type << " <- " << text);
        CHECK_FALSE(st.ok());
        CHECK_FALSE(st.message.empty());
    }
    const auto addr = address_type();
    cql_value v;
    CHECK(bulk::parse_json_value(addr, "{\"nope\": 1}", v).code == bulk::errc::bad_json);
    CHECK(bulk::parse_json_value(addr, "{\"zip\": 1, \"ZIP\": 2}", v).code == bulk::errc::bad_json);
    CHECK(bulk::parse_json_value(addr, "[1]", v).code == bulk::errc::bad_json);
    CHECK(bulk::parse_json_value(type_of("text"), "1", v).code == bulk::errc::bad_json);
    CHECK(bulk::parse_json_value(type_of("int"), "true", v).code == bulk::errc::bad_json);
    CHECK(bulk::parse_json_value(type_of("int"), "[1]", v).code == bulk::errc::bad_json);

    // Rows: wrong field count, unknown keys, not an object; messages name the place.
    const std::vector<column_spec> cols{{"", "", "k", type_of("int")}, {"", "", "v", type_of("text")}};
    auto records = read_csv("1,a,extra\n2,b\nx,c\n", 4);
    REQUIRE(records.size() == 3);
    std::vector<cql_value> row;
    auto mapping = bulk::positional_mapping(2);
    CHECK(bulk::parse_csv_row(cols, mapping, records[0], row).code == bulk::errc::field_count);
    CHECK(bulk::parse_csv_row(cols, mapping, records[1], row).ok());
    auto st = bulk::parse_csv_row(cols, mapping, records[2], row);
    CHECK(st.code == bulk::errc::bad_value);
    CHECK(st.message.find("line 3, field 1 (\"k\", int)") != std::string::npos);
    CHECK(bulk::parse_json_row(cols, "{\"k\": 1, \"w\": 2}", row).code == bulk::errc::unknown_column);
    CHECK(bulk::parse_json_row(cols, "{\"k\": 1, \"w\": 2}", row, true).ok());
    CHECK(row[1].is_null());  // missing key
    CHECK(bulk::parse_json_row(cols, "[1, 2]", row).code == bulk::errc::bad_json);
    CHECK(bulk::parse_json_row(cols, "{\"k\": 1", row).code == bulk::errc::bad_json);
    CHECK(bulk::parse_json_row(cols, "{\"k\": \"x\"}", row).message.find("column \"k\"") != std::string::npos);
}

TEST_CASE("JSON parser rejects malformed documents", "[bulk][codec]") {
    const std::string_view bad[] = {
        "", "{", "{\"a\":1,}", "[1 2]", "[1,]", "01", "1.", "-", "1e", ".5", "+1", "tru", "nul", "\"abc",
        "\"\\ud800\"", "\"\\udc00\"", "\"\\x\"", "\"tab\there\"", "\"\xc3\x28\"", "{1: 2}", "[1] x", "{\"a\" 1}",
        "NaN", "Infinity",
    };
    for (auto text : bad) {
        bulk::detail::json_value v;
        std::string err;
        INFO(text);
        CHECK_FALSE(bulk::detail::parse_json(text, v, err));
        CHECK_FALSE(err.empty());
    }
    std::string deep(1000, '[');
    bulk::detail::json_value v;
    std::string err;
    CHECK_FALSE(bulk::detail::parse_json(deep + std::string(1000, ']'), v, err));
    CHECK(bulk::detail::parse_json(" {\"a\": [1, -0.5e+3, true, false, null, \"\\u00e9\\n\"]} ", v, err));
    std::string out;
    bulk::detail::append_json(out, v);
    CHECK(out == "{\"a\":[1,-0.5e+3,true,false,null,\"é\\n\"]}");
    // Invalid UTF-8 on output is replaced, so the document stays valid.
    out.clear();
    bulk::detail::append_json_string(out, "a\xff" "b\x01");
    CHECK(out == "\"a\xEF\xBF\xBD" "b\\u0001\"");
}

TEST_CASE("CSV reader: RFC 4180 records, offsets and line numbers", "[bulk][csv]") {
    const std::string text = "\xEF\xBB\xBFh1,h2\r\n\"multi\nline\",\"say \"\"hi\"\"\"\r\n\n,\"\"\nlast,row";
    for (std::size_t chunk = 1; chunk <= text.size(); ++chunk) {
        INFO("chunk " << chunk);
        auto r = read_csv(text, chunk);
        REQUIRE(r.size() == 4);
        CHECK(r[0].fields == std::vector<bulk::csv_field>{{"h1", false}, {"h2", false}});
        CHECK(r[0].offset == 3);  // after the BOM
        CHECK(r[0].end_offset == 10);
        CHECK(r[1].fields == std::vector<bulk::csv_field>{{"multi\nline", true}, {"say \"hi\"", true}});
        CHECK(r[1].line == 2);
        CHECK(r[1].offset == 10);
        CHECK(r[1].raw == "\"multi\nline\",\"say \"\"hi\"\"\"");
        CHECK(r[2].fields == std::vector<bulk::csv_field>{{"", false}, {"", true}});
        CHECK(r[2].line == 5);  // after a blank line
        CHECK(r[3].fields == std::vector<bulk::csv_field>{{"last", false}, {"row", false}});
        CHECK(r[3].end_offset == text.size());
        CHECK(r[3].index == 3);
    }
    // Lone CR line breaks, another delimiter.
    bulk::csv_options semi;
    semi.delimiter = ';';
    auto r = read_csv("a;b\rc;\"d;e\"\r", 2, nullptr, semi);
    REQUIRE(r.size() == 2);
    CHECK(r[1].fields == std::vector<bulk::csv_field>{{"c", false}, {"d;e", true}});
}

TEST_CASE("CSV reader: a malformed record is rejected and reading goes on", "[bulk][csv]") {
    std::vector<bulk::status> errors;
    auto r = read_csv("ok,1\nbad\"quote,2\n\"closed\"junk,3\nfine,4\n\"never closed,5\n", 5, &errors);
    REQUIRE(r.size() == 2);
    CHECK(r[0].fields[0].text == "ok");
    CHECK(r[1].fields[0].text == "fine");
    REQUIRE(errors.size() == 3);
    for (const auto& e : errors) CHECK(e.code == bulk::errc::bad_csv);
    CHECK(errors[0].message.find("line 2") != std::string::npos);
    CHECK(errors[1].message.find("line 3") != std::string::npos);
    CHECK(errors[2].message.find("unterminated") != std::string::npos);

    // The rejected record's text and offsets, for the bad-records file.
    bulk::csv_reader reader;
    reader.feed("a\nb\"x\nc\n");
    reader.finish();
    bulk::csv_record rec;
    bulk::status st;
    REQUIRE(reader.next(rec, st) == bulk::read_result::record);
    REQUIRE(reader.next(rec, st) == bulk::read_result::error);
    CHECK(rec.raw == "b\"x");
    CHECK(rec.offset == 2);
    CHECK(rec.end_offset == 6);
    REQUIRE(reader.next(rec, st) == bulk::read_result::record);
    CHECK(rec.fields[0].text == "c");
    CHECK(reader.next(rec, st) == bulk::read_result::end);

    // Too long a record.
    bulk::csv_options small;
    small.max_record_bytes = 8;
    errors.clear();
    auto rs = read_csv("short\n\"this one is long\"\nok\n", 4, &errors, small);
    CHECK(rs.size() == 2);
    CHECK(errors.size() == 1);
}

TEST_CASE("CSV writer quoting", "[bulk][csv]") {
    std::string out;
    for (std::string_view f : {"plain", "", "a,b", "q\"q", "line\nbreak", " pad", "cr\r"}) {
        bulk::append_csv_field(out, f);
        out += '|';
    }
    CHECK(out == "plain|\"\"|\"a,b\"|\"q\"\"q\"|\"line\nbreak\"|\" pad\"|\"cr\r\"|");
}

TEST_CASE("CSV reader: records read into one object are those read into new ones", "[bulk][csv]") {
    // A load reads a whole file into one record object: nothing of a longer,
    // earlier record (fields, text) may show in a later one.
    const std::string text =
        "a,b,c,d,e\nlong field one,\"two\nlines\",3,4,5\nx\n\"bad\"x,1\n,,\n\"q\"\"q\",z\r\nlast,1,2";
    for (std::size_t chunk : {std::size_t(1), std::size_t(5), text.size()}) {
        std::vector<bulk::status> errors;
        const auto fresh = read_csv(text, chunk, &errors);
        REQUIRE(fresh.size() == 6);
        REQUIRE(errors.size() == 1);
        bulk::csv_reader r;
        bulk::csv_record rec;
        std::vector<bulk::csv_record> reused;
        std::vector<std::string> error_raw;
        auto drain = [&] {
            bulk::status st;
            for (;;) {
                auto res = r.next(rec, st);
                if (res == bulk::read_result::record) reused.push_back(rec);
                else if (res == bulk::read_result::error) error_raw.push_back(rec.raw);
                else return;
            }
        };
        for (std::size_t i = 0; i < text.size(); i += chunk) {
            r.feed(std::string_view(text).substr(i, chunk));
            drain();
        }
        r.finish();
        drain();
        INFO("chunk " << chunk);
        REQUIRE(reused.size() == fresh.size());
        CHECK(error_raw == std::vector<std::string>{"\"bad\"x,1"});
        for (std::size_t i = 0; i < fresh.size(); ++i) {
            INFO("record " << i);
            CHECK(reused[i].raw == fresh[i].raw);
            CHECK(reused[i].offset == fresh[i].offset);
            CHECK(reused[i].end_offset == fresh[i].end_offset);
            CHECK(reused[i].line == fresh[i].line);
            CHECK(reused[i].index == fresh[i].index);
            REQUIRE(reused[i].fields.size() == fresh[i].fields.size());
            for (std::size_t f = 0; f < fresh[i].fields.size(); ++f) {
                CHECK(reused[i].fields[f].text == fresh[i].fields[f].text);
                CHECK(reused[i].fields[f].quoted == fresh[i].fields[f].quoted);
            }
        }
        CHECK(reused[1].fields.size() == 5);
        CHECK(reused[2].raw == "x");
        CHECK(reused[2].fields.size() == 1);
        CHECK(reused[3].fields.size() == 3);
        CHECK(reused[4].fields[0].text == "q\"q");
    }
}

TEST_CASE("line reader for JSON lines", "[bulk][csv]") {
    const std::string text = "{\"a\":1}\r\n\n   \n{\"a\":2}\n{\"a\":3}";
    for (std::size_t chunk = 1; chunk <= text.size(); chunk += 3) {
        bulk::line_reader r;
        std::vector<bulk::csv_record> lines;
        auto drain = [&] {
            bulk::csv_record rec;
            while (r.next(rec) == bulk::read_result::record) lines.push_back(rec);
        };
        for (std::size_t i = 0; i < text.size(); i += chunk) {
            r.feed(std::string_view(text).substr(i, chunk));
            drain();
        }
        r.finish();
        drain();
        INFO("chunk " << chunk);
        REQUIRE(lines.size() == 3);
        CHECK(lines[0].raw == "{\"a\":1}");
        CHECK(lines[0].end_offset == 9);
        CHECK(lines[1].raw == "{\"a\":2}");
        CHECK(lines[1].line == 4);
        CHECK(lines[1].index == 1);
        CHECK(lines[2].raw == "{\"a\":3}");
        CHECK(lines[2].end_offset == text.size());
    }
}

TEST_CASE("decode_row reads Rows cells and rejects bad bytes", "[bulk][codec]") {
    const std::vector<column_spec> cols{{"", "", "k", type_of("int")}, {"", "", "v", type_of("text")}};
    const protocol::byte_buffer k{0, 0, 0, 7};
    const protocol::byte_buffer bad{0xff};
    std::vector<protocol::value_view> cells{protocol::value_view::of(k), protocol::value_view::null()};
    std::vector<cql_value> row;
    REQUIRE(bulk::decode_row(cols, cells, row).ok());
    CHECK(row[0] == cql_value::integer(7));
    CHECK(row[1].is_null());
    cells[1] = protocol::value_view::of(bad);  // invalid UTF-8
    auto st = bulk::decode_row(cols, cells, row);
    CHECK(st.code == bulk::errc::bad_value);
    CHECK(st.message.find("\"v\"") != std::string::npos);
    cells.pop_back();
    CHECK(bulk::decode_row(cols, cells, row).code == bulk::errc::field_count);
}

TEST_CASE("random input never crashes the readers", "[bulk][csv][codec]") {
    std::mt19937_64 rng(123);
    const char alphabet[] = "\",\n\r{}[]:0123456789abc\\ue.-+ \x80\xff";
    const auto s = samples();
    for (int iter = 0; iter < 2000; ++iter) {
        std::string text(std::uniform_int_distribution<std::size_t>(0, 40)(rng), ' ');
        for (auto& c : text) c = alphabet[rng() % (sizeof alphabet - 1)];
        // CSV: every byte is accounted for, records in order.
        std::vector<bulk::status> errors;
        auto recs = read_csv(text, 1 + rng() % 5, &errors);
        std::uint64_t prev = 0;
        for (const auto& r : recs) {
            CHECK(r.offset >= prev);
            CHECK(r.end_offset <= text.size());
            prev = r.end_offset;
        }
        // JSON and field parsing: a status, whatever the input.
        cql_value v;
        const auto& t = s[rng() % s.size()].type;
        auto st = bulk::parse_json_value(t, text, v);
        if (!st.ok()) CHECK_FALSE(st.message.empty());
        auto st2 = bulk::parse_field_text(t, text, v);
        if (!st2.ok()) CHECK_FALSE(st2.message.empty());
    }
}
