// C++ <-> CQL value conversions (driver/value_codec.hpp), checked against the
// protocol layer's generic codec as an independent oracle.
#include "cqlpp/driver/value_codec.hpp"
#include "cqlpp/protocol/value.hpp"

#include <catch2/catch.hpp>

#include "type_name.hpp"

#include <cmath>
#include <limits>

using namespace cqlpp;
using driver::conversion_errc;
using protocol::byte_buffer;
using protocol::cql_type;
using protocol::type_kind;
using protocol::value_view;
using test::T;

namespace {

// Encodes with the driver, checks the bytes with the protocol's generic codec
// (it must accept them and re-encode them identically), decodes with the driver.
template <class Out, class In>
Out round_trip(const In& v, const cql_type& t) {
    byte_buffer buf;
    REQUIRE(driver::encode_value(v, t, buf) == conversion_errc::ok);
    protocol::cql_value generic;
    REQUIRE(protocol::decode_value(t, buf, generic) == protocol::errc::ok);
    byte_buffer again;
    REQUIRE(protocol::encode_value(t, generic, again) == protocol::errc::ok);
    CHECK(again == buf);
    Out out{};
    REQUIRE(driver::decode_value(t, value_view::of(buf), out) == conversion_errc::ok);
    return out;
}
template <class V>
V round_trip(const V& v, const cql_type& t) {
    return round_trip<V, V>(v, t);
}

// Bytes the generic codec writes for a value, to feed the driver's decoder.
byte_buffer generic_bytes(const cql_type& t, const protocol::cql_value& v) {
    byte_buffer b;
    REQUIRE(protocol::encode_value(t, v, b) == protocol::errc::ok);
    return b;
}

template <class Out>
conversion_errc decode_err(const cql_type& t, const byte_buffer& b) {
    Out out{};
    return driver::decode_value(t, value_view::of(b), out);
}
template <class In>
conversion_errc encode_err(const In& v, const cql_type& t) {
    byte_buffer b{0xAA};
    auto e = driver::encode_value(v, t, b);
    if (e != conversion_errc::ok) CHECK(b == byte_buffer{0xAA});  // left as it was
    return e;
}

}  // namespace

TEST_CASE("conversions: integers, strict widths, lossless widening only", "[driver]") {
    CHECK(round_trip(std::int8_t{-128}, T("tinyint")) == -128);
    CHECK(round_trip(std::int16_t{-32768}, T("smallint")) == -32768);
    CHECK(round_trip(std::int32_t{std::numeric_limits<std::int32_t>::min()}, T("int")) ==
          std::numeric_limits<std::int32_t>::min());
    CHECK(round_trip(std::int64_t{std::numeric_limits<std::int64_t>::max()}, T("bigint")) ==
          std::numeric_limits<std::int64_t>::max());
    CHECK(round_trip(std::int64_t{-7}, T("counter")) == -7);

    // Same bytes as the generic codec.
    CHECK(round_trip<std::int64_t>(std::int32_t{42}, T("bigint")) == 42);
    auto b = generic_bytes(T("int"), protocol::cql_value::integer(-5));
    std::int32_t i = 0;
    REQUIRE(driver::decode_value(T("int"), value_view::of(b), i) == conversion_errc::ok);
    CHECK(i == -5);

    // Reading: a narrower column into a wider integer is fine, the reverse is a mismatch.
    CHECK(round_trip<std::int64_t>(std::int8_t{-3}, T("tinyint")) == -3);
    CHECK(round_trip<std::int32_t>(std::int16_t{300}, T("smallint")) == 300);
    CHECK(decode_err<std::int32_t>(T("bigint"), generic_bytes(T("bigint"), protocol::cql_value::integer(1))) ==
          conversion_errc::type_mismatch);
    CHECK(decode_err<std::int8_t>(T("smallint"), generic_bytes(T("smallint"), protocol::cql_value::integer(1))) ==
          conversion_errc::type_mismatch);
    // Binding: a narrower C++ integer into a wider marker is fine, the reverse is a mismatch.
    CHECK(encode_err(std::int64_t{1}, T("int")) == conversion_errc::type_mismatch);
    CHECK(encode_err(std::int32_t{1}, T("smallint")) == conversion_errc::type_mismatch);
    CHECK(round_trip<std::int16_t>(std::int8_t{7}, T("smallint")) == 7);
    // Never across kinds.
    CHECK(encode_err(std::int64_t{1}, T("timestamp")) == conversion_errc::type_mismatch);
    CHECK(encode_err(std::int32_t{1}, T("text")) == conversion_errc::type_mismatch);
    CHECK(encode_err(true, T("int")) == conversion_errc::type_mismatch);
    CHECK(decode_err<std::int64_t>(T("timestamp"), byte_buffer(8, 0)) == conversion_errc::type_mismatch);

    // varint: integers bind to it and read from it, with a range check.
    for (std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{127}, std::int64_t{128}, std::int64_t{-129},
                           std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}) {
        CHECK(round_trip(v, T("varint")) == v);
        CHECK(round_trip<driver::varint>(v, T("varint")) == driver::varint::from_int64(v));
    }
    auto big = generic_bytes(T("varint"), protocol::cql_value::varint(driver::varint::from_int64(1LL << 40)));
    CHECK(decode_err<std::int32_t>(T("varint"), big) == conversion_errc::out_of_range);
    driver::varint huge;
    REQUIRE(driver::varint::from_string("123456789012345678901234567890", huge) == protocol::errc::ok);
    CHECK(decode_err<std::int64_t>(T("varint"), generic_bytes(T("varint"), protocol::cql_value::varint(huge))) ==
          conversion_errc::out_of_range);
    CHECK(round_trip(huge, T("varint")).to_string() == "123456789012345678901234567890");
    // A non-minimal varint (0xFF FF FF) is still -1.
    CHECK(decode_err<std::int8_t>(T("varint"), byte_buffer{0xFF, 0xFF, 0xFF}) == conversion_errc::ok);

    // Wrong byte count.
    CHECK(decode_err<std::int32_t>(T("int"), byte_buffer{1, 2, 3}) == conversion_errc::bad_bytes);
    CHECK(decode_err<std::int64_t>(T("bigint"), byte_buffer{1, 2, 3, 4}) == conversion_errc::bad_bytes);
}

TEST_CASE("conversions: bool, float, double", "[driver]") {
    CHECK(round_trip(true, T("boolean")));
    CHECK_FALSE(round_trip(false, T("boolean")));
    CHECK(round_trip(1.5f, T("float")) == 1.5f);
    CHECK(round_trip(-2.25, T("double")) == -2.25);
    CHECK(std::isnan(round_trip(std::numeric_limits<double>::quiet_NaN(), T("double"))));
    CHECK(round_trip<double>(0.1f, T("double")) == static_cast<double>(0.1f));  // float binds to double
    CHECK(round_trip<double>(0.1f, T("float")) == static_cast<double>(0.1f));   // float column reads as double
    CHECK(encode_err(0.1, T("float")) == conversion_errc::type_mismatch);        // double would lose precision
    CHECK(decode_err<float>(T("double"), byte_buffer(8, 0)) == conversion_errc::type_mismatch);
    CHECK(decode_err<bool>(T("boolean"), byte_buffer{1, 0}) == conversion_errc::bad_bytes);
}

TEST_CASE("conversions: text, ascii and blobs (owning and views)", "[driver]") {
    CHECK(round_trip(std::string("héllo"), T("text")) == "héllo");
    CHECK(round_trip(std::string("plain"), T("ascii")) == "plain");
    byte_buffer b;
    REQUIRE(driver::encode_value(std::string_view("zero copy"), T("text"), b) == conversion_errc::ok);
    std::string_view view;
    REQUIRE(driver::decode_value(T("text"), value_view::of(b), view) == conversion_errc::ok);
    CHECK(view == "zero copy");
    CHECK(static_cast<const void*>(view.data()) == static_cast<const void*>(b.data()));  // borrows, no copy

    CHECK(round_trip<std::string>("literal", T("text")) == "literal");
    const char* p = "pointer";
    CHECK(round_trip<std::string>(p, T("text")) == "pointer");

    CHECK(encode_err(std::string("caf\xc3\xa9"), T("ascii")) == conversion_errc::invalid_value);
    CHECK(encode_err(std::string("\xff"), T("text")) == conversion_errc::invalid_value);
    CHECK(decode_err<std::string_view>(T("text"), byte_buffer{0xC3}) == conversion_errc::bad_bytes);
    CHECK(decode_err<std::string>(T("ascii"), byte_buffer{0x80}) == conversion_errc::bad_bytes);
    CHECK(decode_err<std::string>(T("blob"), byte_buffer{0x41}) == conversion_errc::type_mismatch);

    driver::blob blob{std::byte{0}, std::byte{0xFF}, std::byte{0x10}};
    CHECK(round_trip(blob, T("blob")) == blob);
    CHECK(round_trip<byte_buffer>(blob, T("blob")) == byte_buffer{0, 0xFF, 0x10});
    b.clear();
    REQUIRE(driver::encode_value(driver::blob_view(blob), T("blob"), b) == conversion_errc::ok);
    driver::blob_view bv;
    REQUIRE(driver::decode_value(T("blob"), value_view::of(b), bv) == conversion_errc::ok);
    CHECK(bv.size() == 3);
    CHECK(static_cast<const void*>(bv.data()) == static_cast<const void*>(b.data()));
    protocol::bytes_view pv;
    REQUIRE(driver::decode_value(T("blob"), value_view::of(b), pv) == conversion_errc::ok);
    CHECK(pv.size() == 3);
    CHECK(encode_err(blob, T("text")) == conversion_errc::type_mismatch);
    // Zero bytes are an empty string / blob, never null.
    std::optional<std::string> s;
    REQUIRE(driver::decode_value(T("text"), value_view::of({}), s) == conversion_errc::ok);
    CHECK(s == std::string());
}

TEST_CASE("conversions: uuid, inet, date, time, timestamp, duration, decimal", "[driver]") {
    auto u = driver::uuid::from_string("550e8400-e29b-41d4-a716-446655440000");
    REQUIRE(u);
    CHECK(u->to_string() == "550e8400-e29b-41d4-a716-446655440000");
    CHECK(u->version() == 4);
    CHECK(driver::uuid::from_string("550E8400E29B41D4A716446655440000") == u);
    CHECK_FALSE(driver::uuid::from_string("550e8400-e29b-41d4-a716-44665544000g"));
    CHECK(round_trip(*u, T("uuid")) == *u);
    CHECK(encode_err(*u, T("timeuuid")) == conversion_errc::invalid_value);  // not version 1
    auto tu = driver::uuid::from_string("e7b1e2c0-3b5e-11ef-8000-000000000001");
    REQUIRE(tu);
    CHECK(round_trip(*tu, T("timeuuid")) == *tu);

    auto v4 = driver::inet::v4(10, 0, 0, 1);
    CHECK(v4.to_string() == "10.0.0.1");
    CHECK(round_trip(v4, T("inet")) == v4);
    auto v6 = driver::inet::from_string("2001:db8::ff00:42:8329");
    REQUIRE(v6);
    CHECK_FALSE(v6->is_v4());
    CHECK(v6->to_string() == "2001:db8::ff00:42:8329");
    CHECK(round_trip(*v6, T("inet")) == *v6);
    CHECK_FALSE(driver::inet::from_string("10.0.0.300"));
    CHECK(decode_err<driver::inet>(T("inet"), byte_buffer{1, 2, 3}) == conversion_errc::bad_bytes);

    using namespace std::chrono;
    const sys_days d = 2024y / March / 15;
    CHECK(round_trip(driver::date(d), T("date")).to_sys_days() == d);
    CHECK(round_trip(d, T("date")) == d);
    CHECK(round_trip(driver::date(std::numeric_limits<std::int32_t>::min()), T("date")).days ==
          std::numeric_limits<std::int32_t>::min());
    CHECK(round_trip(driver::date(-1), T("date")).days == -1);
    auto gd = generic_bytes(T("date"), protocol::cql_value::date(protocol::date_epoch + 3));
    driver::date dd;
    REQUIRE(driver::decode_value(T("date"), value_view::of(gd), dd) == conversion_errc::ok);
    CHECK(dd.days == 3);
    CHECK(encode_err(sys_days(days(1LL << 40)), T("date")) == conversion_errc::out_of_range);

    CHECK(round_trip(driver::time(hours(23) + minutes(59) + nanoseconds(5)), T("time")) ==
          hours(23) + minutes(59) + nanoseconds(5));
    CHECK(encode_err(driver::time(hours(24)), T("time")) == conversion_errc::out_of_range);
    CHECK(encode_err(driver::time(-1), T("time")) == conversion_errc::out_of_range);
    byte_buffer too_late;
    protocol::byte_writer(too_late).i64(protocol::max_time_nanos + 1);
    CHECK(decode_err<driver::time>(T("time"), too_late) == conversion_errc::bad_bytes);

    const driver::timestamp ts = sys_days(2001y / 1 / 1) + milliseconds(123);
    CHECK(round_trip(ts, T("timestamp")) == ts);
    CHECK(round_trip(driver::timestamp(milliseconds(-1)), T("timestamp")) == driver::timestamp(milliseconds(-1)));

    const driver::duration du{1, 2, 3'000'000'000};
    CHECK(round_trip(du, T("duration")) == du);
    CHECK(round_trip(driver::duration{-1, 0, -5}, T("duration")) == driver::duration{-1, 0, -5});
    CHECK(encode_err(driver::duration{1, -1, 0}, T("duration")) == conversion_errc::invalid_value);

    driver::decimal dec;
    REQUIRE(driver::decimal::from_string("-12.345", dec) == protocol::errc::ok);
    CHECK(round_trip(dec, T("decimal")).to_string() == "-12.345");
    CHECK(decode_err<driver::decimal>(T("decimal"), byte_buffer{0, 0, 0, 1}) == conversion_errc::bad_bytes);
}

TEST_CASE("conversions: nulls and empty values", "[driver]") {
    std::int32_t i = 0;
    CHECK(driver::decode_value(T("int"), value_view::null(), i) == conversion_errc::unexpected_null);
    std::optional<std::int32_t> oi = 5;
    CHECK(driver::decode_value(T("int"), value_view::null(), oi) == conversion_errc::ok);
    CHECK_FALSE(oi);
    // Zero bytes of a non-string type is Cassandra's "empty" value: read as null.
    CHECK(driver::decode_value(T("int"), value_view::of({}), i) == conversion_errc::unexpected_null);
    CHECK(driver::decode_value(T("int"), value_view::of({}), oi) == conversion_errc::ok);
    CHECK_FALSE(oi);
    // Type is checked before null-ness: a wrong type is reported even for a null cell.
    std::optional<std::string> os;
    CHECK(driver::decode_value(T("int"), value_view::null(), os) == conversion_errc::type_mismatch);

    // Binding: encode_value refuses a null, write_value frames it as [value] -1 / -2.
    CHECK(encode_err(std::optional<std::int32_t>{}, T("int")) == conversion_errc::unexpected_null);
    byte_buffer b;
    REQUIRE(driver::write_value(std::optional<std::int32_t>{}, T("int"), b) == conversion_errc::ok);
    REQUIRE(driver::write_value(std::optional<std::int32_t>{7}, T("int"), b) == conversion_errc::ok);
    REQUIRE(driver::write_value(driver::unset, T("int"), b) == conversion_errc::ok);
    CHECK(b == byte_buffer{0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 4, 0, 0, 0, 7, 0xFF, 0xFF, 0xFF, 0xFE});
    CHECK(driver::write_value(std::optional<std::int64_t>{}, T("int"), b) == conversion_errc::type_mismatch);
}

TEST_CASE("conversions: lists, sets, maps, nested", "[driver]") {
    const std::vector<std::int32_t> ints{1, -2, 3};
    CHECK(round_trip(ints, T("list<int>")) == ints);
    CHECK(round_trip(std::vector<std::int32_t>{}, T("list<int>")).empty());
    const std::set<std::string> names{"a", "b", "c"};
    CHECK(round_trip(names, T("set<text>")) == names);
    CHECK(round_trip<std::vector<std::string>>(names, T("set<text>")) == std::vector<std::string>{"a", "b", "c"});
    CHECK(round_trip<std::set<std::int32_t>>(ints, T("list<int>")) == std::set<std::int32_t>{-2, 1, 3});
    std::vector<bool> bools{true, false, true};
    CHECK(round_trip(bools, T("list<boolean>")) == bools);

    const std::map<std::string, std::int64_t> m{{"x", 1}, {"y", -1}};
    CHECK(round_trip(m, T("map<text, bigint>")) == m);
    const std::vector<std::pair<std::int32_t, std::string>> entries{{2, "two"}, {1, "one"}};
    CHECK(round_trip(entries, T("map<int, text>")) == entries);  // order kept as sent
    CHECK((round_trip<std::map<std::int32_t, std::string>>(entries, T("map<int, text>")) ==
           std::map<std::int32_t, std::string>{{1, "one"}, {2, "two"}}));

    const std::map<std::string, std::vector<std::vector<std::int32_t>>> nested{{"k", {{1, 2}, {}, {3}}}};
    CHECK(round_trip(nested, T("map<text, frozen<list<frozen<list<int>>>>>")) == nested);
    const std::vector<std::map<driver::uuid, std::set<std::int16_t>>> deep{{{driver::uuid{}, {1, 2}}}};
    CHECK(round_trip(deep, T("list<frozen<map<uuid, frozen<set<smallint>>>>>")) == deep);

    // Element types are checked as strictly as columns.
    CHECK(encode_err(ints, T("list<bigint>")) == conversion_errc::ok);  // int32 into bigint: widening
    CHECK(encode_err(std::vector<std::int64_t>{1}, T("list<int>")) == conversion_errc::type_mismatch);
    CHECK(encode_err(ints, T("map<int, int>")) == conversion_errc::type_mismatch);
    CHECK(encode_err(m, T("map<text, int>")) == conversion_errc::type_mismatch);
    CHECK(decode_err<std::vector<std::string>>(T("list<int>"), byte_buffer{0, 0, 0, 0}) == conversion_errc::type_mismatch);
    CHECK(decode_err<std::map<std::string, std::int32_t>>(T("list<text>"), byte_buffer{0, 0, 0, 0}) ==
          conversion_errc::type_mismatch);
    // No nulls inside collections.
    CHECK(encode_err(std::vector<std::optional<std::int32_t>>{1, std::nullopt}, T("list<int>")) ==
          conversion_errc::unexpected_null);
    // Malformed: a count larger than the bytes, a null element, trailing bytes.
    CHECK(decode_err<std::vector<std::int32_t>>(T("list<int>"), byte_buffer{0x7F, 0xFF, 0xFF, 0xFF}) ==
          conversion_errc::bad_bytes);
    CHECK(decode_err<std::vector<std::int32_t>>(T("list<int>"), byte_buffer{0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF}) ==
          conversion_errc::bad_bytes);
    CHECK(decode_err<std::vector<std::int32_t>>(T("list<int>"), byte_buffer{0, 0, 0, 0, 9}) == conversion_errc::bad_bytes);
    // Zero-length elements of a fixed type read as null: only optional elements accept them.
    byte_buffer empty_elem{0, 0, 0, 1, 0, 0, 0, 0};
    CHECK(decode_err<std::vector<std::int32_t>>(T("list<int>"), empty_elem) == conversion_errc::unexpected_null);
    std::vector<std::optional<std::int32_t>> with_null;
    REQUIRE(driver::decode_value(T("list<int>"), value_view::of(empty_elem), with_null) == conversion_errc::ok);
    CHECK(with_null == std::vector<std::optional<std::int32_t>>{std::nullopt});

    // Containers of views borrow the buffer.
    byte_buffer b;
    REQUIRE(driver::encode_value(std::vector<std::string>{"ab", "cd"}, T("list<text>"), b) == conversion_errc::ok);
    std::vector<std::string_view> views;
    REQUIRE(driver::decode_value(T("list<text>"), value_view::of(b), views) == conversion_errc::ok);
    CHECK(views == std::vector<std::string_view>{"ab", "cd"});
    CHECK(reinterpret_cast<const std::uint8_t*>(views[1].data()) == b.data() + 14);
}

TEST_CASE("conversions: tuples", "[driver]") {
    using tup = std::tuple<std::int32_t, std::optional<std::string>, double>;
    const tup full{1, "x", 2.5};
    CHECK(round_trip(full, T("tuple<int, text, double>")) == full);
    const tup with_null{1, std::nullopt, 2.5};
    CHECK(round_trip(with_null, T("tuple<int, text, double>")) == with_null);
    // Nested.
    using nested = std::tuple<std::vector<std::tuple<std::int8_t, bool>>, std::map<std::string, std::tuple<float>>>;
    const nested n{{{1, true}, {2, false}}, {{"k", {1.5f}}}};
    CHECK(round_trip(n, T("tuple<list<frozen<tuple<tinyint, boolean>>>, map<text, frozen<tuple<float>>>>")) == n);
    // Arity and element types must match.
    CHECK(encode_err(std::tuple<std::int32_t>{1}, T("tuple<int, int>")) == conversion_errc::type_mismatch);
    CHECK(encode_err(std::tuple<std::int32_t, std::int64_t>{1, 2}, T("tuple<int, int>")) == conversion_errc::type_mismatch);
    // A null element into a non-optional is unexpected_null; a value that stops early reads the rest as null.
    byte_buffer b;
    REQUIRE(driver::encode_value(with_null, T("tuple<int, text, double>"), b) == conversion_errc::ok);
    std::tuple<std::int32_t, std::string, double> strict;
    CHECK(driver::decode_value(T("tuple<int, text, double>"), value_view::of(b), strict) == conversion_errc::unexpected_null);
    byte_buffer short_value{0, 0, 0, 4, 0, 0, 0, 9};
    tup missing_double;
    CHECK(driver::decode_value(T("tuple<int, text, double>"), value_view::of(short_value), missing_double) ==
          conversion_errc::unexpected_null);
    std::tuple<std::int32_t, std::optional<std::string>, std::optional<double>> partial;
    REQUIRE(driver::decode_value(T("tuple<int, text, double>"), value_view::of(short_value), partial) ==
            conversion_errc::ok);
    CHECK_FALSE(std::get<2>(partial));
    CHECK(std::get<0>(partial) == 9);
    CHECK_FALSE(std::get<1>(partial));
    CHECK(encode_err(std::tuple<std::optional<std::int32_t>, std::int32_t>{std::nullopt, 1}, T("tuple<int, int>")) ==
          conversion_errc::ok);
}

TEST_CASE("conversions: vectors (fixed and variable element size)", "[driver]") {
    const std::array<float, 3> a{1.0f, -2.5f, 3.25f};
    CHECK(round_trip(a, T("vector<float, 3>")) == a);
    CHECK(round_trip<std::vector<float>>(a, T("vector<float, 3>")) == std::vector<float>{1.0f, -2.5f, 3.25f});
    byte_buffer b;
    REQUIRE(driver::encode_value(a, T("vector<float, 3>"), b) == conversion_errc::ok);
    CHECK(b.size() == 12);  // concatenated, no lengths
    const std::vector<std::string> texts{"a", "", "ccc"};
    CHECK(round_trip(texts, T("vector<text, 3>")) == texts);
    const std::array<std::int64_t, 2> longs{1, -1};
    CHECK(round_trip(longs, T("vector<bigint, 2>")) == longs);
    const std::vector<std::vector<std::int32_t>> lists{{1}, {2, 3}};
    CHECK(round_trip(lists, T("vector<list<int>, 2>")) == lists);
    const std::array<std::array<double, 2>, 2> grid{{{1, 2}, {3, 4}}};
    CHECK(round_trip(grid, T("vector<vector<double, 2>, 2>")) == grid);

    CHECK(encode_err(std::array<float, 4>{}, T("vector<float, 3>")) == conversion_errc::type_mismatch);
    CHECK(encode_err(std::vector<float>{1, 2}, T("vector<float, 3>")) == conversion_errc::invalid_value);
    CHECK(encode_err(a, T("vector<double, 3>")) == conversion_errc::ok);  // float elements widen to double
    CHECK(encode_err(std::array<double, 3>{}, T("vector<float, 3>")) == conversion_errc::type_mismatch);
    CHECK(decode_err<std::array<float, 3>>(T("vector<float, 3>"), byte_buffer(11, 0)) == conversion_errc::bad_bytes);
    CHECK(decode_err<std::vector<float>>(T("vector<float, 3>"), byte_buffer(16, 0)) == conversion_errc::bad_bytes);
}

TEST_CASE("conversions: UDT view and value", "[driver]") {
    const cql_type addr = cql_type::udt_of("ks", "address", {"street", "zip", "Tags"},
                                           {cql_type(type_kind::text), cql_type(type_kind::int_),
                                            cql_type::set_of(cql_type(type_kind::text))});
    driver::udt_value v;
    v.set("street", std::string("Main")).set("zip", std::int32_t{12345}).set("Tags", std::set<std::string>{"home"});
    byte_buffer b;
    REQUIRE(driver::encode_value(v, addr, b) == conversion_errc::ok);
    protocol::cql_value generic;
    REQUIRE(protocol::decode_value(addr, b, generic) == protocol::errc::ok);
    CHECK(generic.elements().at(0).as_string() == "Main");

    driver::udt_view u;
    REQUIRE(driver::decode_value(addr, value_view::of(b), u) == conversion_errc::ok);
    CHECK(u.size() == 3);
    CHECK(u.get<std::string_view>("street") == "Main");
    CHECK(u.get<std::int32_t>(1) == 12345);
    CHECK(u.get<std::set<std::string>>("tags") == std::set<std::string>{"home"});  // case-insensitive fallback
    std::int64_t wide = 0;
    CHECK(u.try_get("zip", wide) == std::error_code());  // the same shape as row_view::try_get
    std::string s;
    CHECK(u.try_get("zip", s) == conversion_errc::type_mismatch);
    CHECK(u.try_get("nope", s) == conversion_errc::no_such_column);
    REQUIRE_THROWS_AS(u.get<std::string>("zip"), driver::conversion_error);
    try {
        (void)u.get<std::string>("zip");
    } catch (const driver::conversion_error& e) {
        CHECK(std::string(e.what()).find("\"zip\" (int)") != std::string::npos);
        CHECK(e.code() == conversion_errc::type_mismatch);
    }

    // Unset fields go as null; unknown field names and wrong field types are refused.
    driver::udt_value partial;
    partial.set("zip", std::int32_t{1});
    b.clear();
    REQUIRE(driver::encode_value(partial, addr, b) == conversion_errc::ok);
    REQUIRE(driver::decode_value(addr, value_view::of(b), u) == conversion_errc::ok);
    CHECK_FALSE(u.get<std::optional<std::string>>("street"));
    CHECK(u.get<std::int32_t>("zip") == 1);
    CHECK(encode_err(driver::udt_value().set("city", std::string("x")), addr) == conversion_errc::type_mismatch);
    CHECK(encode_err(driver::udt_value().set("zip", std::string("x")), addr) == conversion_errc::type_mismatch);
    CHECK(encode_err(driver::udt_value().set_null("zip"), addr) == conversion_errc::ok);
    CHECK(encode_err(v, T("tuple<text, int>")) == conversion_errc::type_mismatch);

    // A value that stops early: missing trailing fields are null.
    byte_buffer short_value{0, 0, 0, 1, 'x'};
    REQUIRE(driver::decode_value(addr, value_view::of(short_value), u) == conversion_errc::ok);
    CHECK(u.get<std::string>("street") == "x");
    CHECK(u.field(2).is_null());
    // More fields than the type has, or broken framing.
    CHECK(decode_err<driver::udt_view>(T("tuple<int>"), short_value) == conversion_errc::type_mismatch);
    CHECK(decode_err<driver::udt_view>(addr, byte_buffer{0, 0, 0, 9, 'x'}) == conversion_errc::bad_bytes);

    // UDTs inside collections, and re-binding a view to the same type.
    b.clear();
    const cql_type list_of_addr = cql_type::list_of(addr);
    REQUIRE(driver::encode_value(std::vector<driver::udt_value>{v, partial}, list_of_addr, b) == conversion_errc::ok);
    std::vector<driver::udt_view> views;
    REQUIRE(driver::decode_value(list_of_addr, value_view::of(b), views) == conversion_errc::ok);
    REQUIRE(views.size() == 2);
    CHECK(views[0].get<std::string>("street") == "Main");
    byte_buffer again;
    REQUIRE(driver::encode_value(views[0], addr, again) == conversion_errc::ok);
    CHECK(driver::udt_view(addr, again).get<std::int32_t>("zip") == 12345);
    CHECK(encode_err(views[0], cql_type::udt_of("ks", "other", {"a"}, {cql_type(type_kind::int_)})) ==
          conversion_errc::type_mismatch);
}

TEST_CASE("conversions: generic cql_value for any type", "[driver]") {
    const cql_type t = T("map<text, frozen<list<int>>>");
    protocol::cql_value v = protocol::cql_value::map(
        {{protocol::cql_value::string("a"), protocol::cql_value::list({protocol::cql_value::integer(1)})}});
    CHECK(round_trip(v, t) == v);
    CHECK(encode_err(protocol::cql_value::integer(1), T("text")) == conversion_errc::type_mismatch);
    CHECK(encode_err(protocol::cql_value::integer(1000), T("tinyint")) == conversion_errc::out_of_range);
    CHECK(decode_err<protocol::cql_value>(T("int"), byte_buffer{1}) == conversion_errc::bad_bytes);
}

TEST_CASE("conversions: error category", "[driver]") {
    std::error_code ec = conversion_errc::type_mismatch;
    CHECK(ec.category().name() == std::string("cqlpp.driver.conversion"));
    CHECK(ec.message() == "type_mismatch");
    CHECK(ec == conversion_errc::type_mismatch);
    CHECK_FALSE(std::error_code(conversion_errc::ok));
}

namespace {
template <class V, bool decode>
std::string accepted() {
    static const char* const scalars[] = {"ascii", "bigint", "blob", "boolean", "counter", "decimal", "double",
                                          "float", "inet", "int", "timestamp", "uuid", "text", "varint",
                                          "timeuuid", "date", "time", "smallint", "tinyint", "duration"};
    std::string out;
    for (const char* s : scalars) {
        const cql_type t = T(s);
        bool ok = false;
        if constexpr (decode) ok = driver::value_codec<V>::can_decode(t);
        else ok = driver::value_codec<V>::can_encode(t);
        if (ok) {
            if (!out.empty()) out += ' ';
            out += s;
        }
    }
    return out;
}
}  // namespace

TEST_CASE("conversions: the full scalar type matrix, read and bind", "[driver]") {
    // Read: which column types each C++ type accepts.
    CHECK(accepted<bool, true>() == "boolean");
    CHECK(accepted<std::int8_t, true>() == "varint tinyint");
    CHECK(accepted<std::int16_t, true>() == "varint smallint tinyint");
    CHECK(accepted<std::int32_t, true>() == "int varint smallint tinyint");
    CHECK(accepted<std::int64_t, true>() == "bigint counter int varint smallint tinyint");
    CHECK(accepted<float, true>() == "float");
    CHECK(accepted<double, true>() == "double float");
    CHECK(accepted<std::string, true>() == "ascii text");
    CHECK(accepted<std::string_view, true>() == "ascii text");
    CHECK(accepted<driver::blob, true>() == "blob");
    CHECK(accepted<driver::blob_view, true>() == "blob");
    CHECK(accepted<driver::uuid, true>() == "uuid timeuuid");
    CHECK(accepted<driver::inet, true>() == "inet");
    CHECK(accepted<driver::date, true>() == "date");
    CHECK(accepted<std::chrono::sys_days, true>() == "date");
    CHECK(accepted<driver::time, true>() == "time");
    CHECK(accepted<driver::timestamp, true>() == "timestamp");
    CHECK(accepted<driver::duration, true>() == "duration");
    CHECK(accepted<driver::varint, true>() == "varint");
    CHECK(accepted<driver::decimal, true>() == "decimal");
    // Bind: which marker types each C++ type accepts.
    CHECK(accepted<bool, false>() == "boolean");
    CHECK(accepted<std::int8_t, false>() == "bigint counter int varint smallint tinyint");
    CHECK(accepted<std::int16_t, false>() == "bigint counter int varint smallint");
    CHECK(accepted<std::int32_t, false>() == "bigint counter int varint");
    CHECK(accepted<std::int64_t, false>() == "bigint counter varint");
    CHECK(accepted<float, false>() == "double float");
    CHECK(accepted<double, false>() == "double");
    CHECK(accepted<std::string, false>() == "ascii text");
    CHECK(accepted<const char*, false>() == "ascii text");
    CHECK(accepted<driver::blob, false>() == "blob");
    CHECK(accepted<driver::uuid, false>() == "uuid timeuuid");
    CHECK(accepted<driver::inet, false>() == "inet");
    CHECK(accepted<driver::date, false>() == "date");
    CHECK(accepted<driver::time, false>() == "time");
    CHECK(accepted<driver::timestamp, false>() == "timestamp");
    CHECK(accepted<driver::duration, false>() == "duration");
    CHECK(accepted<driver::varint, false>() == "varint");
    CHECK(accepted<driver::decimal, false>() == "decimal");
    CHECK(accepted<std::optional<std::int32_t>, false>() == accepted<std::int32_t, false>());
}

namespace {
// Status agreement with the generic decoder on one input (non-empty inputs only:
// the typed path reads the zero-length "empty" value as null).
template <class V>
void agree(const cql_type& t, const byte_buffer& b) {
    if (b.empty()) return;
    protocol::cql_value generic;
    const bool generic_ok = protocol::decode_value(t, b, generic) == protocol::errc::ok;
    V typed{};
    const auto e = driver::decode_value(t, value_view::of(b), typed);
    INFO(protocol::to_cql_name(t) << " " << protocol::to_hex(b) << " -> " << driver::to_string(e));
    CHECK((e == conversion_errc::ok) == generic_ok);
    if (e == conversion_errc::ok) {
        // What we read re-encodes, and reading that back is a fixed point (bytes compared,
        // so NaNs are fine). Values holding an "empty" element may not re-encode (nulls
        // are refused inside collections); that is the only allowed failure.
        byte_buffer again;
        const auto re = driver::encode_value(typed, t, again);
        if (re != conversion_errc::ok) {
            CHECK(re == conversion_errc::unexpected_null);
            return;
        }
        V typed2{};
        REQUIRE(driver::decode_value(t, value_view::of(again), typed2) == conversion_errc::ok);
        byte_buffer again2;
        REQUIRE(driver::encode_value(typed2, t, again2) == conversion_errc::ok);
        CHECK(again == again2);
    }
}

template <class V>
void mutate_and_agree(const cql_type& t, const byte_buffer& valid, std::uint32_t& seed) {
    auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
    agree<V>(t, valid);
    for (int round = 0; round < 300; ++round) {
        byte_buffer b = valid;
        switch (next() % 4) {
            case 0:
                if (!b.empty()) b[next() % b.size()] ^= static_cast<std::uint8_t>(1u << (next() % 8));
                break;
            case 1:
                if (!b.empty()) b.resize(next() % b.size());
                break;
            case 2: b.push_back(static_cast<std::uint8_t>(next())); break;
            default:
                for (auto& x : b)
                    if (next() % 8 == 0) x = static_cast<std::uint8_t>(next());
                break;
        }
        agree<V>(t, b);
    }
}
}  // namespace

TEST_CASE("conversions: mutated inputs agree with the generic decoder and never crash", "[driver]") {
    std::uint32_t seed = 12345;
    auto enc = [](const auto& v, const cql_type& t) {
        byte_buffer b;
        REQUIRE(driver::encode_value(v, t, b) == conversion_errc::ok);
        return b;
    };
    mutate_and_agree<std::int32_t>(T("int"), enc(std::int32_t{7}, T("int")), seed);
    mutate_and_agree<std::int64_t>(T("bigint"), enc(std::int64_t{7}, T("bigint")), seed);
    mutate_and_agree<std::string_view>(T("text"), enc(std::string("héllo wörld"), T("text")), seed);
    mutate_and_agree<std::string>(T("ascii"), enc(std::string("hello"), T("ascii")), seed);
    mutate_and_agree<driver::uuid>(T("timeuuid"), enc(*driver::uuid::from_string("e7b1e2c0-3b5e-11ef-8000-000000000001"),
                                                      T("timeuuid")), seed);
    mutate_and_agree<driver::inet>(T("inet"), enc(driver::inet::v4(1, 2, 3, 4), T("inet")), seed);
    mutate_and_agree<driver::time>(T("time"), enc(driver::time(1000), T("time")), seed);
    mutate_and_agree<driver::duration>(T("duration"), enc(driver::duration{1, 2, 3}, T("duration")), seed);
    mutate_and_agree<driver::decimal>(T("decimal"), enc(driver::decimal{2, driver::varint::from_int64(-12345)}, T("decimal")),
                                      seed);
    mutate_and_agree<std::vector<std::optional<std::int32_t>>>(
        T("list<int>"), enc(std::vector<std::int32_t>{1, 2, 3}, T("list<int>")), seed);
    mutate_and_agree<std::vector<std::pair<std::string, std::optional<std::int64_t>>>>(
        T("map<text, bigint>"), enc(std::map<std::string, std::int64_t>{{"a", 1}, {"bc", 2}}, T("map<text, bigint>")),
        seed);
    mutate_and_agree<std::tuple<std::optional<std::int32_t>, std::optional<std::string>>>(
        T("tuple<int, text>"), enc(std::tuple<std::int32_t, std::string>{1, "x"}, T("tuple<int, text>")), seed);
    mutate_and_agree<std::vector<float>>(T("vector<float, 3>"), enc(std::array<float, 3>{1, 2, 3}, T("vector<float, 3>")),
                                         seed);
    mutate_and_agree<std::vector<std::string>>(
        T("vector<text, 2>"), enc(std::vector<std::string>{"ab", "c"}, T("vector<text, 2>")), seed);
    mutate_and_agree<std::vector<std::vector<std::optional<std::int16_t>>>>(
        T("list<frozen<list<smallint>>>"),
        enc(std::vector<std::vector<std::int16_t>>{{1}, {2, 3}}, T("list<frozen<list<smallint>>>")), seed);
}

namespace {
struct point {
    std::int32_t x = 0;
    std::optional<std::string> label;
    bool operator==(const point&) const = default;
};
}  // namespace

// A user type mapped to a UDT through the public customisation point.
template <>
struct cqlpp::driver::value_codec<point> {
    static bool can_decode(const cql_type& t) noexcept {
        return t.kind == type_kind::udt && t.params.size() == 2 && can_read<std::int32_t>(t.params[0]) &&
               can_read<std::string>(t.params[1]);
    }
    static bool can_encode(const cql_type& t) noexcept { return can_decode(t); }
    static conversion_errc decode(const cql_type& t, protocol::bytes_view b, point& out) {
        udt_view u;
        if (auto e = value_codec<udt_view>::decode(t, b, u); e != conversion_errc::ok) return e;
        if (auto e = u.decode_field(0, out.x); e != conversion_errc::ok) return e;
        return u.decode_field(1, out.label);
    }
    static conversion_errc encode(const point& p, const cql_type& t, protocol::byte_buffer& out) {
        return udt_value().set(t.field_names[0], p.x).set(t.field_names[1], p.label).encode(t, out);
    }
};

TEST_CASE("conversions: user types through value_codec specialisation", "[driver]") {
    const cql_type pt = cql_type::udt_of("ks", "pt", {"x", "label"}, {cql_type(type_kind::int_), cql_type(type_kind::text)});
    CHECK(round_trip(point{3, "a"}, pt) == point{3, "a"});
    CHECK(round_trip(point{-1, std::nullopt}, pt) == point{-1, std::nullopt});
    const std::vector<point> many{{1, "x"}, {2, std::nullopt}};
    CHECK(round_trip(many, cql_type::list_of(pt)) == many);
    CHECK(driver::can_bind<point>(pt));
    CHECK_FALSE(driver::can_bind<point>(T("tuple<int, text>")));
    CHECK(driver::can_read<std::optional<point>>(pt));
    CHECK(driver::can_bind<std::vector<std::int16_t>>(T("list<int>")));
    CHECK_FALSE(driver::can_read<std::vector<std::int64_t>>(T("list<text>")));
}
