// Generic value codec and CQL literals: golden vectors, round trips, errors.
#include "cqlpp/protocol/literal.hpp"
#include "cqlpp/protocol/value.hpp"

#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>

using namespace cqlpp::protocol;
using cqlpp::test::hex;
using cqlpp::test::unhex;

namespace {

cql_type type_of(std::string_view name) {
    errc e = errc::ok;
    auto t = parse_type_name(name, &e);
    INFO("type: " << name << " error: " << to_string(e));
    REQUIRE(t.has_value());
    return *t;
}

cql_value lit(const cql_type& t, std::string_view text) {
    cql_value v;
    errc e = parse_literal(t, text, v);
    INFO("literal " << text << " for " << to_cql_name(t) << ": " << to_string(e));
    REQUIRE(e == errc::ok);
    return v;
}

errc lit_error(const cql_type& t, std::string_view text) {
    cql_value v;
    return parse_literal(t, text, v);
}

byte_buffer enc(const cql_type& t, const cql_value& v) {
    byte_buffer out;
    errc e = encode_value(t, v, out);
    INFO("encode " << format_literal(t, v) << " as " << to_cql_name(t) << ": " << to_string(e));
    REQUIRE(e == errc::ok);
    return out;
}

errc enc_error(const cql_type& t, const cql_value& v) {
    byte_buffer out{0xAA, 0xBB};
    errc e = encode_value(t, v, out);
    CHECK(out == byte_buffer{0xAA, 0xBB});  // untouched on error (and on success nothing is expected here)
    return e;
}

cql_value dec(const cql_type& t, bytes_view b) {
    cql_value v;
    errc e = decode_value(t, b, v);
    INFO("decode " << hex(b) << " as " << to_cql_name(t) << ": " << to_string(e));
    REQUIRE(e == errc::ok);
    return v;
}

errc dec_error(const cql_type& t, std::string_view hexs) {
    cql_value v;
    auto b = unhex(hexs);
    return decode_value(t, b, v);
}

// ---- Normalisation of the free-text fields of vectors.json --------------------

std::string trim(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    std::size_t i = 0;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(i);
}

// "main (note)" -> main, note. The note is a trailing balanced parenthesis
// preceded by a space, so "(1, NULL, 'a')" is not split.
bool split_note(const std::string& s, std::string& main, std::string& note) {
    if (s.empty() || s.back() != ')') return false;
    int level = 0;
    for (std::size_t i = s.size(); i-- > 0;) {
        if (s[i] == ')') ++level;
        if (s[i] == '(' && --level == 0) {
            if (i == 0 || s[i - 1] != ' ') return false;
            main = trim(s.substr(0, i - 1));
            note = s.substr(i + 1, s.size() - i - 2);
            return !main.empty();
        }
    }
    return false;
}

// Every type that has an "empty" value or a zero-length ordinary value.
std::vector<cql_type> all_simple_and_composite_types() {
    std::vector<cql_type> out;
    for (const char* n : {"ascii", "bigint", "blob", "boolean", "counter", "decimal", "double", "float", "int",
                          "timestamp", "uuid", "text", "varint", "timeuuid", "inet", "date", "time", "smallint",
                          "tinyint", "duration", "list<int>", "set<text>", "map<int, text>", "tuple<int, text>",
                          "vector<int, 2>", "vector<text, 2>", "'org.example.Custom'"})
        out.push_back(type_of(n));
    out.push_back(cql_type::udt_of("ks", "u", {"a"}, {cql_type(type_kind::int_)}));
    return out;
}

// "udt [name] {f1 t1, f2 t2}" -> a UDT type; else a CQL type name, minus any "(note)".
cql_type vector_type(const std::string& raw) {
    std::string main = raw, note;
    split_note(raw, main, note);
    const std::size_t open = main.find('{');
    if (main.rfind("udt", 0) == 0 && open != std::string::npos && main.back() == '}') {
        const std::string udt_name = trim(main.substr(3, open - 3));
        std::vector<std::string> names;
        std::vector<cql_type> types;
        std::string fields = main.substr(open + 1, main.size() - open - 2);
        std::size_t start = 0;
        while (start <= fields.size()) {
            std::size_t comma = fields.find(',', start);
            std::string f = trim(fields.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
            std::size_t sp = f.find(' ');
            REQUIRE(sp != std::string::npos);
            names.push_back(f.substr(0, sp));
            types.push_back(type_of(trim(f.substr(sp + 1))));
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
        return cql_type::udt_of("ks", udt_name.empty() ? "udt" : udt_name, std::move(names), std::move(types));
    }
    return type_of(main);
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

// sscanf with a check that the whole string matched (the format ends in %n).
template <class... Args>
bool scan_all(const std::string& s, const char* fmt, Args*... args) {
    int used = -1;
    return std::sscanf(s.c_str(), fmt, args..., &used) == static_cast<int>(sizeof...(Args)) &&
           used == static_cast<int>(s.size());
}

// "months=1, days=2, nanos=3"
bool scan_duration(const std::string& s, cql_duration& d) {
    std::int64_t months = 0, days = 0, nanos = 0;
    if (!scan_all(s, "months=%" SCNd64 ", days=%" SCNd64 ", nanos=%" SCNd64 "%n", &months, &days, &nanos))
        return false;
    d = {static_cast<std::int32_t>(months), static_cast<std::int32_t>(days), nanos};
    return true;
}

bool try_literal(const cql_type& t, const std::string& text, cql_value& out) {
    return parse_literal(t, text, out) == errc::ok;
}

// Checks a vector's "(note)" where it states a machine-checkable fact; returns
// true when it did.
bool check_note(const cql_type& t, const std::string& note, const cql_value& v) {
    // "days = -2^31", "LocalDate MAX, days = 2^31-1"
    if (auto at = note.find("days = "); at != std::string::npos) {
        const std::string expr = note.substr(at + 7);
        std::int64_t days = std::int64_t(1) << 31;
        if (expr == "2^31-1") days -= 1;
        else if (expr == "-2^31") days = -days;
        else FAIL("unexpected note " << note);
        CHECK(date_to_epoch_days(v.as_date()) == days);
        return true;
    }
    std::int64_t n = 0, lsb = 0;
    if (v.kind() == value_kind::integer &&
        (scan_all(note, "%" SCNd64 " ns%n", &n) || scan_all(note, "%" SCNd64 " ms%n", &n))) {
        CHECK(v.as_int() == n);
        return true;
    }
    if (scan_all(note, "new UUID(%" SCNd64 "L, %" SCNd64 "L)%n", &n, &lsb)) {
        uuid_bytes u;
        detail::store_be64(u.data(), static_cast<std::uint64_t>(n));
        detail::store_be64(u.data() + 8, static_cast<std::uint64_t>(lsb));
        CHECK(v.as_uuid() == u);
        return true;
    }
    if (cql_duration d; scan_duration(note, d)) {
        CHECK(v.as_duration() == d);
        return true;
    }
    // An alternative spelling of the same value ("33us1ns", "2015-01-20T11:58:50.012Z").
    cql_value alt;
    if (try_literal(t, note, alt) || try_literal(t, quote(note), alt)) {
        CHECK(alt == v);
        return true;
    }
    return false;  // descriptive only ("EPOCH", "mocked element codec", ...)
}

// Turns a vector's `value` text into the value it describes.
cql_value vector_value(const cql_type& t, const std::string& raw, int& notes_checked) {
    // "{x: NULL(unset in map), ...}": the parenthesis explains the NULL.
    std::string text = raw;
    for (std::size_t at; (at = text.find("NULL(")) != std::string::npos;) {
        std::size_t close = text.find(')', at);
        REQUIRE(close != std::string::npos);
        text.erase(at + 4, close - at - 3);
    }
    std::string main = text, note;
    bool has_note = split_note(text, main, note);
    cql_duration d;
    std::int64_t ms = 0;
    cql_value v;
    if (scan_duration(main, d)) {
        v = cql_value::duration(d);
    } else if (t.kind == type_kind::timestamp && (scan_all(main, "%" SCNd64 " ms%n", &ms) ||
                                                  scan_all(main, "%" SCNd64 " ms after epoch%n", &ms))) {
        v = cql_value::integer(ms);
    } else if (!(try_literal(t, text, v) || try_literal(t, main, v) || try_literal(t, quote(main), v))) {
        FAIL("cannot interpret vector value: " << raw);
    }
    if (has_note && main != text && check_note(t, note, v)) ++notes_checked;
    return v;
}

}  // namespace

// ---- Golden vectors ---------------------------------------------------------------

TEST_CASE("golden type vectors: decode, re-encode, and match the stated value", "[values]") {
    const auto& all = cqlpp::test::vectors();
    const auto& vs = all.at("types");
    std::size_t checked = 0;
    int notes_checked = 0;
    for (std::size_t i = 0; i < vs.size(); ++i) {
        const auto& e = vs[i];
        const std::string tname = e.at("cql_type"), value = e.at("value"), hexs = e.at("hex");
        INFO("vector #" << i << ": " << tname << " = " << value << " hex " << hexs);
        const auto bytes = unhex(hexs);

        if (tname.find("(empty value)") != std::string::npos) {
            // "text / ascii / blob / varint / ... (empty value)": a zero-length value
            // of every type, distinct from null.
            REQUIRE(bytes.empty());
            REQUIRE(value.rfind("''", 0) == 0);
            auto types = all_simple_and_composite_types();
            for (const char* listed : {"text", "ascii", "blob", "varint"})
                REQUIRE(std::count(types.begin(), types.end(), type_of(listed)) == 1);
            for (const auto& t : types) {
                INFO(to_cql_name(t));
                auto v = dec(t, bytes);
                CHECK_FALSE(v.is_null());
                CHECK(enc(t, v).empty());
                CHECK(v.is_empty() == zero_length_is_empty(t));
                // '' reads back as the same value, except blobs whose literal is 0x.
                const bool blob_like = t.kind == type_kind::blob || t.kind == type_kind::custom;
                CHECK(lit(t, blob_like ? "0x" : "''") == v);
                CHECK(lit(t, format_literal(t, v)) == v);
            }
            ++checked;
            continue;
        }

        const cql_type t = vector_type(tname);
        cql_value decoded = dec(t, bytes);
        CHECK(hex(enc(t, decoded)) == hexs);
        const cql_value expected = vector_value(t, value, notes_checked);
        CHECK(decoded == expected);
        CHECK(hex(enc(t, expected)) == hexs);
        // And the printed form reads back.
        const std::string printed = format_literal(t, decoded);
        INFO("printed: " << printed);
        CHECK(lit(t, printed) == decoded);
        ++checked;
    }
    REQUIRE(vs.size() == all.at("counts").at("types").get<std::size_t>());
    REQUIRE(checked == vs.size());
    CHECK(notes_checked == 16);  // every machine-checkable "(...)" remark was checked too
}

TEST_CASE("golden type vectors print as cqlsh would", "[values]") {
    // Keyed by the vector's exact type and value text: each key must exist in the file.
    const std::tuple<const char*, const char*, const char*> expected[] = {
        {"date", "-5877641-06-23 (days = -2^31)", "'-5877641-06-23'"},
        {"date", "1970-01-01", "'1970-01-01'"},
        {"date", "+5881580-07-11 (LocalDate MAX, days = 2^31-1)", "'+5881580-07-11'"},
        {"date", "1969-12-31", "'1969-12-31'"},
        {"duration", "1mo2d3ns (months=1, days=2, nanos=3)", "1mo2d3ns"},
        {"duration", "months=1233, days=123213, nanos=2312323", "102y9mo123213d2ms312us323ns"},
        {"duration", "months=0, days=0, nanos=33001 (33us1ns)", "33us1ns"},
        {"duration", "months=0, days=0, nanos=-1 (-1ns)", "-1ns"},
        {"duration", "months=2, days=15, nanos=0 (2mo15d)", "2mo15d"},
        {"time", "00:00:00 (0 ns)", "'00:00:00.000000000'"},
        {"timestamp", "2013-08-13T09:52:03Z (1376387523000 ms)", "'2013-08-13 09:52:03.000000+0000'"},
        {"timestamp", "1421755130012 ms (2015-01-20T11:58:50.012Z)", "'2015-01-20 11:58:50.012000+0000'"},
        {"timestamp", "128 ms after epoch", "'1970-01-01 00:00:00.128000+0000'"},
        {"inet", "127.0.0.1", "'127.0.0.1'"},
        {"inet", "::1", "'::1'"},
        {"inet", "fe80::202:b3ff:fe1e:8329", "'fe80::202:b3ff:fe1e:8329'"},
        {"inet", "::ffff:129.144.52.38 (IPv4-mapped IPv6, 16 bytes on the wire)", "'::ffff:129.144.52.38'"},
        {"inet", "2a00:1328:e102:ccc0::122", "'2a00:1328:e102:ccc0::122'"},
        {"uuid", "00000000-0000-0002-0000-000000000001", "00000000-0000-0002-0000-000000000001"},
        {"decimal", "0.00256", "0.00256"},
        {"decimal", "100", "100"},
        {"decimal", "-0.0012095473475870063", "-0.0012095473475870063"},
        {"decimal", "-1042342234234.123423435647768234", "-1042342234234.123423435647768234"},
        {"decimal", "0.00000000000000064206", "6.4206E-16"},  // BigDecimal.toString: adjusted exponent < -6
        {"decimal", "9999999999999999999999999999.999999999", "9999999999999999999999999999.999999999"},
        {"varint", "243315893003967298069149506221212854125", "243315893003967298069149506221212854125"},
        {"varint", "-9223372036854775809", "-9223372036854775809"},
        {"double", "3.14159265", "3.14159265"},
        {"double", "-19432.125", "-19432.125"},
        {"tuple<int,double,text>", "(1, NULL, 'a')", "(1, null, 'a')"},
        {"udt {field1 int, field2 double, field3 text}", "{field1:1, field2:NULL, field3:'a'}",
         "{field1: 1, field2: null, field3: 'a'}"},
        {"udt xyz {x int, y int, z int}", "{x: NULL(unset in map), y: 2, z: 3}", "{x: null, y: 2, z: 3}"},
        {"set<blob> (mocked element codec)", "{0x01, 0x0002, 0x000003}", "{0x01, 0x0002, 0x000003}"},
        {"map<blob,blob> (mocked key/value codecs)", "{0x10:0x01, 0x2000:0x0002, 0x300000:0x000003}",
         "{0x10: 0x01, 0x2000: 0x0002, 0x300000: 0x000003}"},
        {"list<int> (empty)", "[]", "[]"},
        {"vector<float, 2>", "[1.0, 2.5]", "[1, 2.5]"},
        {"vector<text, 2>", "['a', 'bc']", "['a', 'bc']"},
        {"boolean", "false", "false"},
        {"tinyint", "-128", "-128"},
    };
    const auto& vs = cqlpp::test::vectors().at("types");
    for (const auto& [tname, value, printed] : expected) {
        INFO(tname << " = " << value);
        bool found = false;
        for (const auto& e : vs) {
            if (e.at("cql_type") != tname || e.at("value") != value) continue;
            found = true;
            cql_type t = vector_type(tname);
            CHECK(format_literal(t, dec(t, unhex(e.at("hex").get<std::string>()))) == printed);
        }
        CHECK(found);
    }
}

TEST_CASE("golden vint vectors", "[values]") {
    const auto& all = cqlpp::test::vectors();
    const auto& vs = all.at("vint");
    std::size_t checked = 0;
    for (const auto& e : vs) {
        const std::string kind = e.at("kind"), hexs = e.at("hex");
        INFO(kind << " " << e.at("value").dump() << " = " << hexs);
        auto bytes = unhex(hexs);
        byte_reader r(bytes);
        byte_buffer out;
        byte_writer w(out);
        if (kind == "unsigned vint") {
            auto expected = e.at("value").get<std::uint64_t>();
            CHECK(r.unsigned_vint() == expected);
            CHECK(unsigned_vint_size(expected) == bytes.size());
            w.unsigned_vint(expected);
        } else {
            REQUIRE(kind == "vint");
            auto expected = e.at("value").get<std::int64_t>();
            CHECK(r.vint() == expected);
            w.vint(expected);
        }
        CHECK(r.ok());
        CHECK(r.empty());
        CHECK(hex(out) == hexs);
        ++checked;
    }
    REQUIRE(vs.size() == all.at("counts").at("vint").get<std::size_t>());
    REQUIRE(checked == vs.size());
}

// ---- Round trips ----------------------------------------------------------------

namespace {

// literal -> value -> bytes -> value -> literal -> value, and the printed form.
void round_trip(const cql_type& t, std::string_view text, std::string_view canonical = {}) {
    INFO("type " << to_cql_name(t) << " literal " << text);
    cql_value v = lit(t, text);
    const std::string printed = format_literal(t, v);
    CHECK(printed == (canonical.empty() ? text : canonical));
    CHECK(lit(t, printed) == v);
    if (v.is_null()) {
        CHECK(enc_error(t, v) == errc::null_not_allowed);
        return;
    }
    byte_buffer b = enc(t, v);
    cql_value back = dec(t, b);
    CHECK(back == v);
    CHECK(enc(t, back) == b);
    CHECK(format_literal(t, back) == printed);
}

}  // namespace

TEST_CASE("round trips: strings, blobs, booleans, integers", "[values]") {
    auto ascii = type_of("ascii"), text = type_of("text"), blob = type_of("blob");
    round_trip(ascii, "'hello'");
    round_trip(ascii, "''");
    round_trip(ascii, "'it''s'");
    round_trip(text, "'h\xC3\xA9llo \xE2\x98\x83 \xF0\x9D\x84\x9E'");
    round_trip(text, "$$dollar 'quoted' text$$", "'dollar ''quoted'' text'");
    round_trip(text, "$$$$", "''");
    round_trip(text, "'  spaces\tand\nnewlines  '");
    round_trip(text, "  'padded'  ", "'padded'");
    round_trip(text, "NULL", "null");
    round_trip(blob, "0x");
    round_trip(blob, "0xCAFEbabe", "0xcafebabe");
    round_trip(type_of("'org.example.Custom'"), "0x0102");
    round_trip(type_of("boolean"), "true");
    round_trip(type_of("boolean"), "FALSE", "false");
    round_trip(type_of("tinyint"), "-128");
    round_trip(type_of("tinyint"), "127");
    round_trip(type_of("smallint"), "-32768");
    round_trip(type_of("smallint"), "32767");
    round_trip(type_of("int"), "-2147483648");
    round_trip(type_of("int"), "2147483647");
    round_trip(type_of("int"), "0");
    round_trip(type_of("bigint"), "-9223372036854775808");
    round_trip(type_of("bigint"), "9223372036854775807");
    round_trip(type_of("counter"), "-1");
    round_trip(type_of("varint"), "0");
    round_trip(type_of("varint"), "-1");
    round_trip(type_of("varint"), "+17", "17");
    round_trip(type_of("varint"), "000123", "123");
    round_trip(type_of("varint"), "-340282366920938463463374607431768211456");
    round_trip(type_of("varint"), "123456789012345678901234567890123456789012345678901234567890");
}

TEST_CASE("round trips: floating point and decimal", "[values]") {
    auto f = type_of("float"), d = type_of("double"), dec_t = type_of("decimal");
    round_trip(f, "NaN");
    round_trip(f, "nan", "NaN");
    round_trip(f, "Infinity");
    round_trip(f, "-Infinity");
    round_trip(f, "-infinity", "-Infinity");
    round_trip(f, "1.5");
    round_trip(f, "1.0", "1");
    round_trip(f, "-0");
    round_trip(f, "0.1");
    round_trip(f, "3.4028235e+38");
    round_trip(f, "1e-45");
    round_trip(f, "16777217", "16777216");  // nearest float
    round_trip(d, "0.1");
    round_trip(d, "-2.5");
    round_trip(d, "5e-324");
    round_trip(d, "1.7976931348623157e+308");
    round_trip(d, "1E300", "1e+300");
    round_trip(d, "NaN");
    round_trip(d, "42", "42");
    CHECK(std::signbit(lit(f, "-0").as_float()));
    CHECK(lit(d, "0") != lit(d, "-0"));

    round_trip(dec_t, "0.00256");
    round_trip(dec_t, "100");
    round_trip(dec_t, "-25.5");
    round_trip(dec_t, "0");
    round_trip(dec_t, "0.00");
    round_trip(dec_t, "0E-10");
    round_trip(dec_t, "1E+3");
    round_trip(dec_t, "1000E+0", "1000");
    round_trip(dec_t, "1.5e3", "1.5E+3");
    round_trip(dec_t, "-1.23E-7");
    round_trip(dec_t, "0.000001");    // adjusted exponent -6: still plain
    round_trip(dec_t, "0.0000001", "1E-7");
    round_trip(dec_t, "123456789012345678901234.56789");
    round_trip(dec_t, ".5", "0.5");
    round_trip(dec_t, "5.", "5");
    round_trip(dec_t, "1E-2147483647");
    round_trip(dec_t, "1E+2147483648");  // scale = -2^31
    // Java BigDecimal.equals: same number, different scale, different value.
    CHECK(lit(dec_t, "1.0") != lit(dec_t, "1.00"));
    CHECK(lit(dec_t, "1.0").as_decimal().scale == 1);
}

TEST_CASE("round trips: dates, times, timestamps", "[values]") {
    auto date = type_of("date"), time = type_of("time"), ts = type_of("timestamp");
    round_trip(date, "'1970-01-01'");
    round_trip(date, "'2000-02-29'");
    round_trip(date, "'1-1-1'", "'0001-01-01'");
    round_trip(date, "'-0001-12-31'");
    round_trip(date, "0", "'-5877641-06-23'");
    round_trip(date, "4294967295", "'+5881580-07-11'");
    round_trip(date, "2147483648", "'1970-01-01'");
    round_trip(date, "'2147483648'", "'1970-01-01'");
    round_trip(date, "'+10000-01-01'");
    round_trip(date, "'-5877641-06-23'");
    CHECK(lit(date, "0").as_date() == 0u);
    CHECK(lit(date, "'-5877641-06-23'").as_date() == 0u);
    CHECK(lit(date, "'+5881580-07-11'").as_date() == 0xFFFFFFFFu);
    CHECK(lit(date, "'1970-01-02'").as_date() == 0x80000001u);

    round_trip(time, "'00:00:00.000000000'");
    round_trip(time, "'23:59:59.999999999'");
    round_trip(time, "'12:34:56'", "'12:34:56.000000000'");
    round_trip(time, "'1:02:03.5'", "'01:02:03.500000000'");
    round_trip(time, "86399999999999", "'23:59:59.999999999'");
    round_trip(time, "'3600000000000'", "'01:00:00.000000000'");
    CHECK(lit(time, "'00:00:01.000000001'").as_int() == 1'000'000'001);

    round_trip(ts, "'2013-08-13 09:52:03.000000+0000'");
    round_trip(ts, "0", "'1970-01-01 00:00:00.000000+0000'");
    round_trip(ts, "-1", "'1969-12-31 23:59:59.999000+0000'");
    round_trip(ts, "'2015-01-20T11:58:50.012Z'", "'2015-01-20 11:58:50.012000+0000'");
    round_trip(ts, "'2015-01-20 12:58:50.012+0100'", "'2015-01-20 11:58:50.012000+0000'");
    round_trip(ts, "'2015-01-20 06:28:50.012-05:30'", "'2015-01-20 11:58:50.012000+0000'");
    round_trip(ts, "'2015-01-20 11:58'", "'2015-01-20 11:58:00.000000+0000'");
    round_trip(ts, "'2015-01-20'", "'2015-01-20 00:00:00.000000+0000'");
    round_trip(ts, "'2015-01-20 +01'", "'2015-01-19 23:00:00.000000+0000'");
    round_trip(ts, "'0000-01-01 00:00:00.000000+0000'");
    round_trip(ts, "'9999-12-31 23:59:59.999000+0000'");
    round_trip(ts, "9223372036854775807");   // beyond year 9999: printed raw, as cqlsh does
    round_trip(ts, "-9223372036854775808");
    round_trip(ts, "'1376387523000'", "'2013-08-13 09:52:03.000000+0000'");
    CHECK(lit(ts, "'2013-08-13 09:52:03.000000+0000'").as_int() == 1376387523000);
}

TEST_CASE("round trips: uuid, inet, duration", "[values]") {
    auto uuid = type_of("uuid"), timeuuid = type_of("timeuuid"), inet = type_of("inet"), dur = type_of("duration");
    round_trip(uuid, "550e8400-e29b-41d4-a716-446655440000");
    round_trip(uuid, "550E8400-E29B-41D4-A716-446655440000", "550e8400-e29b-41d4-a716-446655440000");
    round_trip(uuid, "'550e8400-e29b-41d4-a716-446655440000'", "550e8400-e29b-41d4-a716-446655440000");
    round_trip(timeuuid, "58046580-2938-11e7-b063-1332a5f033c2");

    round_trip(inet, "'127.0.0.1'");
    round_trip(inet, "'0.0.0.0'");
    round_trip(inet, "'255.255.255.255'");
    round_trip(inet, "'::'");
    round_trip(inet, "'::1'");
    round_trip(inet, "'1::'");
    round_trip(inet, "'1:2:3:4:5:6:7:8'");
    round_trip(inet, "'2001:DB8:0:0:0:0:0:1'", "'2001:db8::1'");
    round_trip(inet, "'2001:db8:0:0:1:0:0:1'", "'2001:db8::1:0:0:1'");  // RFC 5952: first of equal runs
    round_trip(inet, "'2001:db8:0:1:1:1:1:1'", "'2001:db8:0:1:1:1:1:1'");  // a single zero group stays
    round_trip(inet, "'::ffff:1.2.3.4'");
    round_trip(inet, "'::ffff:102:304'", "'::ffff:1.2.3.4'");
    round_trip(inet, "'::1.2.3.4'", "'::102:304'");
    round_trip(inet, "'64:ff9b::192.0.2.33'", "'64:ff9b::c000:221'");
    round_trip(inet, "127.0.0.1", "'127.0.0.1'");
    CHECK(lit(inet, "'::ffff:1.2.3.4'").as_inet().size == 16);
    CHECK(lit(inet, "'1.2.3.4'").as_inet().size == 4);

    round_trip(dur, "1mo2d3ns");
    round_trip(dur, "1h30m");
    round_trip(dur, "90m", "1h30m");
    round_trip(dur, "-1d");
    round_trip(dur, "1Y2MO", "1y2mo");
    round_trip(dur, "14mo", "1y2mo");
    round_trip(dur, "2w", "14d");
    round_trip(dur, "1\xC2\xB5s", "1us");
    round_trip(dur, "1s500ms", "1s500ms");
    round_trip(dur, "'1h'", "1h");
    round_trip(dur, "0s");
    round_trip(dur, "0d", "0s");
    round_trip(dur, "P1Y2M", "1y2mo");
    round_trip(dur, "P1W", "7d");
    round_trip(dur, "-P2W", "-14d");
    round_trip(dur, "PT1H", "1h");
    round_trip(dur, "P1Y2M3DT4H5M6S", "1y2mo3d4h5m6s");
    round_trip(dur, "P0001-02-03T04:05:06", "1y2mo3d4h5m6s");
    round_trip(dur, "'P0001-02-03T04:05:06'", "1y2mo3d4h5m6s");
    round_trip(type_of("map<duration, int>"), "{1h: 1, P0001-02-03T04:05:06: 2}", "{1h: 1, 1y2mo3d4h5m6s: 2}");
    round_trip(type_of("list<duration>"), "[P0001-02-03T04:05:06,1d]", "[1y2mo3d4h5m6s, 1d]");
    round_trip(dur, "-178956970y8mo");  // months = INT32_MIN
    round_trip(dur, "178956970y7mo");   // months = INT32_MAX
    round_trip(dur, "-2562047h47m16s854ms775us808ns");  // nanos = INT64_MIN
    CHECK(lit(dur, "-178956970y8mo").as_duration().months == std::numeric_limits<std::int32_t>::min());
    CHECK(lit(dur, "-2562047h47m16s854ms775us808ns").as_duration().nanos == std::numeric_limits<std::int64_t>::min());
    CHECK(lit(dur, "1mo2d3ns").as_duration() == cql_duration{1, 2, 3});
}

TEST_CASE("round trips: collections, tuples, UDTs, vectors, nesting", "[values]") {
    round_trip(type_of("list<int>"), "[]");
    round_trip(type_of("list<int>"), "[1, 2, 3]");
    round_trip(type_of("list<int>"), "[ 1 ,2,  3 ]", "[1, 2, 3]");
    round_trip(type_of("set<text>"), "{'a', 'b''c'}");
    round_trip(type_of("set<text>"), "{}");
    round_trip(type_of("map<text, int>"), "{'a': 1, 'b': 2}");
    round_trip(type_of("map<text, int>"), "{}");
    round_trip(type_of("map<int, boolean>"), "{1:true,2:false}", "{1: true, 2: false}");
    round_trip(type_of("map<uuid, inet>"), "{550e8400-e29b-41d4-a716-446655440000: '::1'}");
    round_trip(type_of("map<text, frozen<list<frozen<set<int>>>>>"), "{'k': [{1, 2}, {}], 'e': []}");
    round_trip(type_of("list<frozen<map<int, frozen<tuple<int, text>>>>>"), "[{1: (2, 'x')}, {}]");
    round_trip(type_of("list<int>"), "['', 1]");  // an empty element is not null
    round_trip(type_of("list<int>"), "''");       // the empty value of the list itself

    auto tup = type_of("tuple<int, text, boolean>");
    round_trip(tup, "(1, 'a', true)");
    round_trip(tup, "(1, null, true)");
    round_trip(tup, "(null, null, null)");
    round_trip(tup, "(1)");  // fewer elements than the type: allowed, as Cassandra does
    round_trip(type_of("tuple<tuple<int, int>, list<int>>"), "((1, 2), [3])");

    auto udt = cql_type::udt_of("ks", "u", {"a", "b"}, {cql_type(type_kind::int_), cql_type(type_kind::text)});
    round_trip(udt, "{a: 1, b: 'x'}");
    round_trip(udt, "{b: 'x', a: 1}", "{a: 1, b: 'x'}");
    round_trip(udt, "{B: 'x'}", "{a: null, b: 'x'}");
    round_trip(udt, "{}", "{a: null, b: null}");
    round_trip(udt, "{\"a\": 1}", "{a: 1, b: null}");
    auto odd = cql_type::udt_of("ks", "odd", {"Name", "with space", "say \"hi\"", ""},
                                {cql_type(type_kind::int_), cql_type(type_kind::int_), cql_type(type_kind::int_),
                                 cql_type(type_kind::int_)});
    round_trip(odd, "{\"Name\": 1, \"with space\": 2, \"say \"\"hi\"\"\": 3, \"\": 4}");
    auto nested_udt = cql_type::udt_of("ks", "outer", {"inner", "tags"},
                                       {udt, type_of("map<text, frozen<list<int>>>")});
    round_trip(nested_udt, "{inner: {a: 1, b: 'q'}, tags: {'x': [1, 2]}}");
    round_trip(cql_type::list_of(udt, true), "[{a: 1, b: null}, {a: null, b: 'z'}]");

    round_trip(type_of("vector<float, 3>"), "[1, 2.5, -3]");
    round_trip(type_of("vector<int, 3>"), "[1, 2, 3]");
    round_trip(type_of("vector<text, 2>"), "['a', '']");
    round_trip(type_of("vector<smallint, 2>"), "[1, -1]");
    round_trip(type_of("vector<varint, 2>"), "[128, -1]");
    round_trip(type_of("vector<vector<int, 2>, 2>"), "[[1, 2], [3, 4]]");
    round_trip(type_of("vector<list<int>, 2>"), "[[1], []]");
    round_trip(type_of("vector<tuple<int, text>, 1>"), "[(1, 'x')]");
    round_trip(type_of("vector<smallint, 2>"), "['', 5]");  // variable-size slot may hold an empty value
    round_trip(type_of("map<int, vector<double, 2>>"), "{1: [0.5, NaN]}");
    round_trip(type_of("vector<boolean, 4>"), "[true, false, true, true]");
}

TEST_CASE("empty values of every non-string type", "[values]") {
    for (const auto& t : all_simple_and_composite_types()) {
        INFO(to_cql_name(t));
        if (!zero_length_is_empty(t)) continue;
        round_trip(t, "''");
        CHECK(lit(t, "''").is_empty());
        CHECK(lit(t, "''") != cql_value::null());
    }
    // For strings '' is an ordinary (empty) string.
    CHECK(lit(type_of("text"), "''") == cql_value::string(""));
    CHECK(dec(type_of("text"), {}) == cql_value::string(""));
    CHECK(dec(type_of("blob"), {}) == cql_value::blob({}));
}

TEST_CASE("encoded bytes of hand-built values", "[values]") {
    CHECK(hex(enc(type_of("int"), cql_value::integer(-2))) == "fffffffe");
    CHECK(hex(enc(type_of("boolean"), cql_value::boolean(true))) == "01");
    CHECK(hex(enc(type_of("varint"), cql_value::varint(cql_varint::from_int64(-129)))) == "ff7f");
    CHECK(hex(enc(type_of("varint"), cql_value::varint(cql_varint::from_int64(127)))) == "7f");
    CHECK(hex(enc(type_of("date"), cql_value::date(date_epoch))) == "80000000");
    CHECK(hex(enc(type_of("vector<text, 2>"), lit(type_of("vector<text, 2>"), "['a', 'bc']"))) == "0161026263");
    CHECK(hex(enc(type_of("list<text>"), lit(type_of("list<text>"), "['a']"))) == "000000010000000161");
    cql_value::element_list fields{cql_value::null(), cql_value::integer(7)};
    CHECK(hex(enc(type_of("tuple<int, int>"), cql_value::tuple(fields))) == "ffffffff0000000400000007");
    // A long text element in a vector takes a multi-byte vint length.
    std::string long_text(200, 'x');
    auto v = enc(type_of("vector<text, 1>"), cql_value::list({cql_value::string(long_text)}));
    CHECK(hex(bytes_view(v).first(2)) == "80c8");
    CHECK(v.size() == 202);
}

// ---- Value model --------------------------------------------------------------------

TEST_CASE("cql_value equality rules", "[values]") {
    CHECK(cql_value() == cql_value::null());
    CHECK(cql_value::null() != cql_value::empty_value());
    CHECK(cql_value::float64(std::nan("")) == cql_value::float64(-std::nan("1")));
    CHECK(cql_value::float32(0.0f) != cql_value::float32(-0.0f));
    CHECK(cql_value::integer(1) != cql_value::date(1));
    CHECK(cql_value::list({}) != cql_value::tuple({}));
    // Varints compare numerically; the bytes stay as they were.
    auto padded = cql_varint::from_bytes(unhex("0001"));
    CHECK(padded == cql_varint::from_int64(1));
    CHECK(hex(padded.bytes()) == "0001");
    CHECK(hex(padded.minimal().bytes()) == "01");
    CHECK(cql_varint::from_bytes(unhex("ffff")) == cql_varint::from_int64(-1));
    CHECK(cql_varint::from_bytes(unhex("00ff")) != cql_varint::from_int64(-1));
    CHECK(cql_varint::from_bytes({}) != cql_varint());
    // Missing trailing tuple/UDT fields equal explicit nulls.
    CHECK(cql_value::tuple({cql_value::integer(1)}) ==
          cql_value::tuple({cql_value::integer(1), cql_value::null(), cql_value::null()}));
    CHECK(cql_value::tuple({cql_value::integer(1)}) != cql_value::tuple({cql_value::integer(1), cql_value::integer(2)}));
    // Nested floats use the same rule.
    CHECK(cql_value::list({cql_value::float32(NAN)}) == cql_value::list({cql_value::float32(NAN)}));
    // Accessors and kinds.
    auto m = cql_value::map({{cql_value::string("k"), cql_value::integer(3)}});
    REQUIRE(m.kind() == value_kind::map);
    CHECK(m.entries().at(0).second.as_int() == 3);
    CHECK(to_string(value_kind::decimal) == "decimal");
}

TEST_CASE("varint conversions", "[values]") {
    const std::int64_t ints[] = {0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, -32768,
                                 std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()};
    for (auto i : ints) {
        INFO(i);
        auto v = cql_varint::from_int64(i);
        CHECK(v.to_int64() == i);
        CHECK(v.to_string() == std::to_string(i));
        cql_varint parsed;
        REQUIRE(cql_varint::from_string(std::to_string(i), parsed) == errc::ok);
        CHECK(parsed.bytes() == v.bytes());
    }
    cql_varint big;
    REQUIRE(cql_varint::from_string("9223372036854775808", big) == errc::ok);
    CHECK(hex(big.bytes()) == "008000000000000000");
    CHECK_FALSE(big.to_int64().has_value());
    CHECK(big.to_string() == "9223372036854775808");
    cql_varint tmp;
    CHECK(cql_varint::from_string("", tmp) == errc::bad_literal);
    CHECK(cql_varint::from_string("-", tmp) == errc::bad_literal);
    CHECK(cql_varint::from_string("12a", tmp) == errc::bad_literal);

    // Random byte strings: bytes -> decimal -> bytes gives the same number.
    std::mt19937 rng(42);
    for (int n = 0; n < 2000; ++n) {
        byte_buffer b(1 + rng() % 40);
        for (auto& x : b) x = static_cast<std::uint8_t>(rng());
        auto v = cql_varint::from_bytes(b);
        cql_varint back;
        REQUIRE(cql_varint::from_string(v.to_string(), back) == errc::ok);
        INFO(hex(b) << " -> " << v.to_string());
        CHECK(back == v);
        CHECK(back.bytes() == v.minimal().bytes());
    }
}

// ---- Errors ---------------------------------------------------------------------

TEST_CASE("decode rejects bad sizes", "[values]") {
    const std::tuple<const char*, const char*> cases[] = {
        {"int", "000000"},       {"int", "0000000000"},  {"bigint", "00"},  {"counter", "000000000000000000"},
        {"timestamp", "00"},     {"time", "00000000000000"}, {"boolean", "0000"}, {"tinyint", "0000"},
        {"smallint", "000000"},  {"float", "000000"},    {"double", "00000000000000"}, {"date", "000000"},
        {"uuid", "000000000000000000000000000000"},      {"timeuuid", "00"}, {"inet", "0000000000"},
        {"inet", "00"},          {"decimal", "00000001"}, {"decimal", "00"}, {"vector<float, 2>", "3f800000"},
        {"vector<float, 2>", "3f8000003f8000003f800000"}, {"list<int>", "000000010000000300000000"},
    };
    for (const auto& [t, h] : cases) {
        INFO(t << " " << h);
        CHECK(dec_error(type_of(t), h) == errc::bad_value_size);
    }
}

TEST_CASE("decode rejects invalid content", "[values]") {
    const std::tuple<const char*, const char*> cases[] = {
        {"text", "ff"},                  // not UTF-8
        {"text", "c0af"},                // overlong '/'
        {"text", "e080af"},              // overlong
        {"text", "eda080"},              // surrogate U+D800
        {"text", "f4908080"},            // above U+10FFFF
        {"text", "e282"},                // truncated sequence
        {"text", "61" "80"},             // stray continuation byte
        {"ascii", "80"},                 // not ASCII
        {"list<text>", "0000000100000001ff"},
        {"timeuuid", "550e8400e29b41d4a716446655440000"},  // version 4
        {"time", "ffffffffffffffff"},    // negative
        {"time", "00004e94914f0000"},    // 86400000000000 = 24:00:00
        {"duration", "020306"},          // months 1, days -2: mixed signs
        {"duration", "010000"},          // months -1 with zeros is fine...
    };
    for (const auto& [t, h] : cases) {
        INFO(t << " " << h);
        if (std::string_view(h) == "010000") {
            CHECK(dec_error(type_of(t), h) == errc::ok);  // ...zero carries no sign
            continue;
        }
        CHECK(dec_error(type_of(t), h) == errc::bad_value);
    }
    // Months beyond 32 bits.
    byte_buffer b;
    byte_writer w(b);
    w.vint(std::int64_t(1) << 32);
    w.vint(0);
    w.vint(0);
    cql_value v;
    CHECK(decode_value(type_of("duration"), b, v) == errc::bad_value);
}

TEST_CASE("decode rejects truncation, negative lengths, trailing bytes", "[values]") {
    const std::tuple<const char*, const char*, errc> cases[] = {
        {"list<int>", "000000", errc::truncated},
        {"list<int>", "ffffffff", errc::negative_length},
        {"list<int>", "80000000", errc::negative_length},
        {"list<int>", "7fffffff", errc::truncated},  // huge count, rejected before allocating
        {"list<int>", "00000001", errc::truncated},
        {"list<int>", "0000000100000004000000", errc::truncated},
        {"list<int>", "000000010000000500000000", errc::truncated},
        {"list<int>", "00000001fffffffe", errc::negative_length},
        {"list<int>", "000000010000000400000001ff", errc::trailing_bytes},
        {"list<int>", "0000000000", errc::trailing_bytes},
        {"set<text>", "00000002000000016100", errc::truncated},
        {"map<int, int>", "000000010000000400000001", errc::truncated},
        {"map<int, int>", "40000000", errc::truncated},
        {"map<int, int>", "00000001000000040000000100000004000000", errc::truncated},
        {"map<int, int>", "0000000100000004000000010000000400000002ff", errc::trailing_bytes},
        {"tuple<int, int>", "000000", errc::truncated},
        {"tuple<int, int>", "fffffffe", errc::negative_length},
        {"tuple<int, int>", "0000000500000001", errc::truncated},
        {"tuple<int, int>", "000000040000000100000004000000", errc::truncated},
        {"tuple<int, int>", "00000004000000010000000400000002ff", errc::trailing_bytes},
        {"tuple<int, int>", "ffffffffffffffffffffffff", errc::trailing_bytes},
        {"vector<text, 2>", "016102", errc::truncated},
        {"vector<text, 2>", "0161026263ff", errc::trailing_bytes},
        {"vector<text, 2>", "ff", errc::truncated},           // 9-byte vint cut short
        {"vector<text, 1000>", "00", errc::truncated},        // dimension larger than the bytes
        {"vector<text, 1>", "ffffffffffffffffff00", errc::truncated},  // length 2^64-1
        {"duration", "0204", errc::truncated},
        {"duration", "02040600", errc::trailing_bytes},
        {"duration", "c0", errc::truncated},
    };
    for (const auto& [t, h, e] : cases) {
        INFO(t << " " << h << " expect " << to_string(e));
        CHECK(dec_error(type_of(t), h) == e);
    }
    // UDT with more fields than its type.
    auto udt = cql_type::udt_of("ks", "u", {"a"}, {cql_type(type_kind::int_)});
    CHECK(dec_error(udt, "0000000400000001ffffffff") == errc::trailing_bytes);
    // Absurd vector sizes do not overflow: vector<vector<uuid, 2^31-1>, 2^31-1>.
    auto huge = cql_type::vector_of(cql_type::vector_of(cql_type(type_kind::uuid), 0x7FFFFFFF), 0x7FFFFFFF);
    CHECK(dec_error(huge, "00") == errc::bad_value_size);
    CHECK(dec_error(huge, "") == errc::ok);  // zero bytes: the empty value
    // Malformed types built by hand are reported, not dereferenced.
    cql_type no_params(type_kind::list);
    CHECK(dec_error(no_params, "00000000") == errc::type_mismatch);
}

namespace {
cql_type nested_lists(int depth) {
    cql_type t(type_kind::int_);
    for (int i = 0; i < depth; ++i) t = cql_type::list_of(std::move(t));
    return t;
}
// One element per level, an int at the bottom.
byte_buffer nested_list_bytes(int depth) {
    byte_buffer b = unhex("00000001");
    for (int i = 0; i < depth; ++i) {
        byte_buffer outer;
        byte_writer w(outer);
        w.i32(1);
        w.bytes(bytes_view(b));
        b = std::move(outer);
    }
    return b;
}
}  // namespace

TEST_CASE("nesting depth is bounded in every direction", "[values]") {
    const int too_deep = max_type_depth + 5;
    auto t = nested_lists(too_deep);
    auto bytes = nested_list_bytes(too_deep);
    cql_value v;
    CHECK(decode_value(t, bytes, v) == errc::type_nesting_too_deep);

    std::string text;
    for (int i = 0; i < too_deep; ++i) text += '[';
    text += '1';
    for (int i = 0; i < too_deep; ++i) text += ']';
    CHECK(parse_literal(t, text, v) == errc::type_nesting_too_deep);

    cql_value deep = cql_value::integer(1);
    for (int i = 0; i < too_deep; ++i) deep = cql_value::list({deep});
    CHECK(enc_error(t, deep) == errc::type_nesting_too_deep);

    // At the limit everything works.
    auto ok_t = nested_lists(max_type_depth);
    auto ok_bytes = nested_list_bytes(max_type_depth);
    auto ok_v = dec(ok_t, ok_bytes);
    CHECK(enc(ok_t, ok_v) == ok_bytes);
    CHECK(lit(ok_t, format_literal(ok_t, ok_v)) == ok_v);
}

TEST_CASE("encode rejects values that do not fit", "[values]") {
    CHECK(enc_error(type_of("int"), cql_value::null()) == errc::null_not_allowed);
    CHECK(enc_error(type_of("int"), cql_value::integer(std::int64_t(1) << 31)) == errc::value_out_of_range);
    CHECK(enc_error(type_of("tinyint"), cql_value::integer(200)) == errc::value_out_of_range);
    CHECK(enc_error(type_of("smallint"), cql_value::integer(-40000)) == errc::value_out_of_range);
    CHECK(enc_error(type_of("time"), cql_value::integer(-1)) == errc::value_out_of_range);
    CHECK(enc_error(type_of("time"), cql_value::integer(max_time_nanos + 1)) == errc::value_out_of_range);
    CHECK(enc_error(type_of("int"), cql_value::string("1")) == errc::type_mismatch);
    CHECK(enc_error(type_of("float"), cql_value::float64(1.0)) == errc::type_mismatch);
    CHECK(enc_error(type_of("text"), cql_value::string("\xff")) == errc::bad_value);
    CHECK(enc_error(type_of("ascii"), cql_value::string("\xc3\xa9")) == errc::bad_value);
    CHECK(enc_error(type_of("varint"), cql_value::varint(cql_varint::from_bytes({}))) == errc::bad_value);
    CHECK(enc_error(type_of("decimal"), cql_value::decimal({2, cql_varint::from_bytes({})})) == errc::bad_value);
    inet_address five;
    five.size = 5;
    CHECK(enc_error(type_of("inet"), cql_value::inet(five)) == errc::bad_value);
    CHECK(enc_error(type_of("duration"), cql_value::duration({1, -1, 0})) == errc::bad_value);
    uuid_bytes v4{};
    v4[6] = 0x40;
    CHECK(enc_error(type_of("timeuuid"), cql_value::uuid(v4)) == errc::bad_value);
    CHECK(enc_error(type_of("list<int>"), cql_value::list({cql_value::integer(1), cql_value::null()})) ==
          errc::null_not_allowed);
    CHECK(enc_error(type_of("map<int, int>"), cql_value::map({{cql_value::integer(1), cql_value::null()}})) ==
          errc::null_not_allowed);
    CHECK(enc_error(type_of("list<int>"), cql_value::list({cql_value::integer(1), cql_value::integer(1LL << 40)})) ==
          errc::value_out_of_range);
    CHECK(enc_error(type_of("tuple<int>"), cql_value::tuple({cql_value::integer(1), cql_value::integer(2)})) ==
          errc::type_mismatch);
    CHECK(enc_error(type_of("vector<int, 2>"), cql_value::list({cql_value::integer(1)})) == errc::type_mismatch);
    CHECK(enc_error(type_of("vector<int, 2>"), cql_value::list({cql_value::integer(1), cql_value::empty_value()})) ==
          errc::bad_value_size);
    CHECK(enc_error(type_of("vector<text, 2>"), cql_value::list({cql_value::string("a"), cql_value::null()})) ==
          errc::null_not_allowed);
    CHECK(enc_error(type_of("list<int>"), cql_value::tuple({})) == errc::type_mismatch);
}

TEST_CASE("parse_literal rejects bad literals with specific errors", "[values]") {
    auto udt = cql_type::udt_of("ks", "u", {"a", "b"}, {cql_type(type_kind::int_), cql_type(type_kind::text)});
    const std::tuple<cql_type, const char*, errc> cases[] = {
        {type_of("int"), "2147483648", errc::value_out_of_range},
        {type_of("int"), "-2147483649", errc::value_out_of_range},
        {type_of("tinyint"), "128", errc::value_out_of_range},
        {type_of("smallint"), "-32769", errc::value_out_of_range},
        {type_of("bigint"), "9223372036854775808", errc::value_out_of_range},
        {type_of("bigint"), "99999999999999999999999", errc::value_out_of_range},
        {type_of("int"), "1.5", errc::bad_literal},
        {type_of("int"), "'1'", errc::bad_literal},
        {type_of("int"), "abc", errc::bad_literal},
        {type_of("int"), "1 2", errc::bad_literal},
        {type_of("int"), "", errc::bad_literal},
        {type_of("int"), "   ", errc::bad_literal},
        {type_of("int"), "+1", errc::bad_literal},
        {type_of("float"), "1e39", errc::value_out_of_range},
        {type_of("float"), "1.2.3", errc::bad_literal},
        {type_of("double"), "0x10", errc::bad_literal},
        {type_of("double"), "1e", errc::bad_literal},
        {type_of("double"), "-NaN", errc::bad_literal},
        {type_of("double"), "'1.0'", errc::bad_literal},
        {type_of("text"), "abc", errc::bad_literal},
        {type_of("text"), "'unterminated", errc::bad_literal},
        {type_of("text"), "'a''", errc::bad_literal},
        {type_of("text"), "$$open", errc::bad_literal},
        {type_of("text"), "'\xff'", errc::bad_literal},
        {type_of("ascii"), "'\xc3\xa9'", errc::value_out_of_range},
        {type_of("blob"), "0xabc", errc::bad_literal},
        {type_of("blob"), "'0xab'", errc::bad_literal},
        {type_of("blob"), "0xzz", errc::bad_literal},
        {type_of("blob"), "''", errc::bad_literal},
        {type_of("boolean"), "yes", errc::bad_literal},
        {type_of("boolean"), "'true'", errc::bad_literal},
        {type_of("date"), "'2001-02-29'", errc::bad_literal},
        {type_of("date"), "'2001-13-01'", errc::bad_literal},
        {type_of("date"), "'2001-00-10'", errc::bad_literal},
        {type_of("date"), "2001-01-01", errc::bad_literal},
        {type_of("date"), "4294967296", errc::value_out_of_range},
        {type_of("date"), "-1", errc::value_out_of_range},
        {type_of("date"), "'+5881580-07-12'", errc::value_out_of_range},
        {type_of("date"), "'-5877641-06-22'", errc::value_out_of_range},
        {type_of("time"), "'24:00:00'", errc::bad_literal},
        {type_of("time"), "'12:60:00'", errc::bad_literal},
        {type_of("time"), "'12:00'", errc::bad_literal},
        {type_of("time"), "'12:00:00.1234567890'", errc::bad_literal},
        {type_of("time"), "86400000000000", errc::value_out_of_range},
        {type_of("time"), "-1", errc::value_out_of_range},
        {type_of("timestamp"), "'2015-01-01 00:00:00.0001'", errc::value_out_of_range},
        {type_of("timestamp"), "'2015-01-01 25:00'", errc::bad_literal},
        {type_of("timestamp"), "'2015-01-01 00:00 +2500'", errc::bad_literal},
        {type_of("timestamp"), "'2015-01-01 00:00 UTC'", errc::bad_literal},
        {type_of("timestamp"), "9223372036854775808", errc::value_out_of_range},
        {type_of("timestamp"), "'9999999999-01-01'", errc::value_out_of_range},
        {type_of("uuid"), "zzz", errc::bad_literal},
        {type_of("uuid"), "550e8400-e29b-41d4-a716-44665544000", errc::bad_literal},
        {type_of("uuid"), "550e8400xe29b-41d4-a716-446655440000", errc::bad_literal},
        {type_of("timeuuid"), "550e8400-e29b-41d4-a716-446655440000", errc::value_out_of_range},
        {type_of("inet"), "'1.2.3'", errc::bad_literal},
        {type_of("inet"), "'256.1.1.1'", errc::bad_literal},
        {type_of("inet"), "'1.2.3.4.5'", errc::bad_literal},
        {type_of("inet"), "'1::2::3'", errc::bad_literal},
        {type_of("inet"), "'1:2:3:4:5:6:7:8:9'", errc::bad_literal},
        {type_of("inet"), "'1:2:3:4:5:6:7:8::'", errc::bad_literal},
        {type_of("inet"), "'1:2:3:4:5:6:7'", errc::bad_literal},
        {type_of("inet"), "'12345::'", errc::bad_literal},
        {type_of("inet"), "'::1%eth0'", errc::bad_literal},
        {type_of("inet"), "'1:'", errc::bad_literal},
        {type_of("inet"), "''", errc::ok},  // the empty value
        {type_of("duration"), "1x", errc::bad_literal},
        {type_of("duration"), "1", errc::bad_literal},
        {type_of("duration"), "h", errc::bad_literal},
        {type_of("duration"), "P", errc::bad_literal},
        {type_of("duration"), "PT", errc::bad_literal},
        {type_of("duration"), "P1M1Y", errc::bad_literal},
        {type_of("duration"), "P1Y2W", errc::bad_literal},
        {type_of("duration"), "1d-1h", errc::bad_literal},
        {type_of("duration"), "2147483648mo", errc::value_out_of_range},
        {type_of("duration"), "-2147483649mo", errc::value_out_of_range},
        {type_of("duration"), "9223372036854775808ns", errc::value_out_of_range},
        {type_of("duration"), "99999999999999999999ns", errc::value_out_of_range},
        {type_of("duration"), "3000000000000h", errc::value_out_of_range},
        {type_of("varint"), "1.5", errc::bad_literal},
        {type_of("varint"), "'1'", errc::bad_literal},
        {type_of("decimal"), "1e", errc::bad_literal},
        {type_of("decimal"), "NaN", errc::bad_literal},
        {type_of("decimal"), ".", errc::bad_literal},
        {type_of("decimal"), "1E-2147483649", errc::value_out_of_range},
        {type_of("decimal"), "1E+2147483649", errc::value_out_of_range},
        {type_of("decimal"), "1E99999999999999999999", errc::value_out_of_range},
        {type_of("list<int>"), "[1, null]", errc::null_not_allowed},
        {type_of("list<int>"), "[1, 2", errc::bad_literal},
        {type_of("list<int>"), "[1,]", errc::bad_literal},
        {type_of("list<int>"), "{1}", errc::bad_literal},
        {type_of("list<int>"), "[1] x", errc::bad_literal},
        {type_of("set<int>"), "[1]", errc::bad_literal},
        {type_of("set<int>"), "{null}", errc::null_not_allowed},
        {type_of("map<int, int>"), "{1: null}", errc::null_not_allowed},
        {type_of("map<int, int>"), "{null: 1}", errc::null_not_allowed},
        {type_of("map<int, int>"), "{1 2}", errc::bad_literal},
        {type_of("map<int, int>"), "{1: 2,}", errc::bad_literal},
        {type_of("tuple<int>"), "(1, 2)", errc::bad_literal},
        {type_of("tuple<int>"), "(1", errc::bad_literal},
        {type_of("tuple<int>"), "1", errc::bad_literal},
        {udt, "{c: 1}", errc::bad_literal},
        {udt, "{a: 1, a: 2}", errc::bad_literal},
        {udt, "{A: 1, \"A\": 2}", errc::bad_literal},  // "A" is case-sensitive and not a field
        {udt, "{a 1}", errc::bad_literal},
        {udt, "{a: 'x'}", errc::bad_literal},
        {type_of("vector<int, 3>"), "[1, 2]", errc::bad_literal},
        {type_of("vector<int, 3>"), "[1, 2, 3, 4]", errc::bad_literal},
        {type_of("vector<int, 3>"), "[1, null, 3]", errc::null_not_allowed},
        {cql_type(type_kind::list), "[]", errc::type_mismatch},
    };
    for (const auto& [t, text, e] : cases) {
        INFO(to_cql_name(t) << " literal " << text << " expect " << to_string(e));
        CHECK(lit_error(t, text) == e);
    }
}

TEST_CASE("format_literal never fails on mismatched values", "[values]") {
    // A value of the wrong kind prints by its own kind.
    CHECK(format_literal(type_of("int"), cql_value::string("x")) == "'x'");
    CHECK(format_literal(type_of("udt_without_fields"), cql_value::tuple({cql_value::integer(1)})) == "(1)");
    CHECK(format_literal(type_of("time"), cql_value::integer(-5)) == "-5");
    CHECK(format_literal(type_of("list<int>"), cql_value::map({{cql_value::integer(1), cql_value::boolean(true)}})) ==
          "{1: true}");
    std::string out = "x=";
    append_literal(out, type_of("int"), cql_value::integer(5));
    CHECK(out == "x=5");
}

// ---- Deterministic random check (the fuzz target does the same at scale) ----------

TEST_CASE("a null element inside a collection decodes as null; encoding still refuses it", "[values]") {
    // [bytes] with length -1 is legal on the wire; the Java and Node.js drivers read it as null.
    const auto lst = dec(type_of("list<blob>"), unhex("00000002ffffffff000000020002"));
    REQUIRE(lst.kind() == value_kind::list);
    REQUIRE(lst.elements().size() == 2);
    CHECK(lst.elements()[0].is_null());
    CHECK(lst.elements()[1] == dec(type_of("blob"), unhex("0002")));
    CHECK(format_literal(type_of("list<blob>"), lst) == "[null, 0x0002]");

    // map<text, text> {'a': null}
    const auto m = dec(type_of("map<text, text>"), unhex("000000010000000161ffffffff"));
    REQUIRE(m.entries().size() == 1);
    CHECK(m.entries()[0].second.is_null());
    CHECK(format_literal(type_of("map<text, text>"), m) == "{'a': null}");
    CHECK(dec(type_of("set<int>"), unhex("00000001ffffffff")).elements()[0].is_null());
    CHECK(dec(type_of("list<int>"), unhex("00000001ffffffff")).elements().size() == 1);

    // Cassandra refuses nulls inside collections: so does the encoder.
    CHECK(enc_error(type_of("list<blob>"), lst) == errc::null_not_allowed);
    CHECK(enc_error(type_of("map<text, text>"), m) == errc::null_not_allowed);
}

// A null anywhere inside a list/set/map (decodable, never encodable).
bool has_null_in_collection(const cql_value& v) {
    switch (v.kind()) {
        case value_kind::list:
            for (const auto& e : v.elements())
                if (e.is_null() || has_null_in_collection(e)) return true;
            return false;
        case value_kind::tuple:
            for (const auto& e : v.elements())
                if (has_null_in_collection(e)) return true;
            return false;
        case value_kind::map:
            for (const auto& [k, x] : v.entries())
                if (k.is_null() || x.is_null() || has_null_in_collection(k) || has_null_in_collection(x)) return true;
            return false;
        default: return false;
    }
}

TEST_CASE("random bytes: decode never misbehaves, and successes round trip", "[values]") {
    const char* names[] = {"int",         "text",       "ascii",        "boolean",    "varint",
                           "decimal",     "duration",   "date",         "time",       "timestamp",
                           "inet",        "list<int>",  "set<text>",    "map<int, text>", "tuple<int, text, boolean>",
                           "vector<int, 2>", "vector<text, 2>", "vector<duration, 1>", "list<frozen<list<smallint>>>",
                           "map<tinyint, frozen<tuple<float, double>>>", "list<decimal>", "vector<boolean, 3>"};
    std::mt19937 rng(7);
    int decoded_ok = 0;
    for (int iter = 0; iter < 40000; ++iter) {
        const cql_type t = type_of(names[rng() % std::size(names)]);
        byte_buffer b(rng() % 24);
        for (auto& x : b) {
            // Bias towards small lengths so collections sometimes parse.
            unsigned r = rng();
            x = static_cast<std::uint8_t>(r % 3 == 0 ? 0 : r >> 8);
        }
        cql_value v;
        if (decode_value(t, b, v) != errc::ok) continue;
        ++decoded_ok;
        INFO(to_cql_name(t) << " " << hex(b));
        byte_buffer re;
        if (has_null_in_collection(v)) {
            REQUIRE(encode_value(t, v, re) == errc::null_not_allowed);
            continue;
        }
        REQUIRE(encode_value(t, v, re) == errc::ok);
        cql_value again;
        REQUIRE(decode_value(t, re, again) == errc::ok);
        REQUIRE(again == v);
        // Booleans and durations/vectors have non-canonical inputs (0x02 = true,
        // padded vints); everything else must re-encode byte for byte.
        const std::string name = to_cql_name(t);
        if (name.find("boolean") == std::string::npos && name.find("duration") == std::string::npos &&
            name.find("vector<text") == std::string::npos)
            REQUIRE(re == b);
        cql_value parsed;
        const std::string text = format_literal(t, v);
        INFO(text);
        REQUIRE(parse_literal(t, text, parsed) == errc::ok);
        REQUIRE(parsed == v);
    }
    CHECK(decoded_ok > 1000);
}
