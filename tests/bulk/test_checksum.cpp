// Table checksums: order independence, sensitivity, mergeability, and the
// wire path agreeing with the text path.
#include "cqlpp/bulk/checksum.hpp"
#include "cqlpp/bulk/codec.hpp"
#include "cqlpp/protocol/literal.hpp"
#include "cqlpp/protocol/result.hpp"

#include <catch2/catch.hpp>
#include <xxhash.h>

#include <algorithm>
#include <random>

using namespace cqlpp;
using protocol::cql_type;
using protocol::cql_value;

namespace {

std::vector<protocol::column_spec> schema() {
    std::vector<protocol::column_spec> cols;
    for (auto [name, type] : std::initializer_list<std::pair<const char*, const char*>>{
             {"id", "bigint"}, {"name", "text"}, {"score", "double"}, {"tags", "set<text>"}, {"v", "vector<float, 3>"}})
        cols.push_back({"ks", "t", name, *protocol::parse_type_name(type)});
    return cols;
}

std::vector<std::vector<cql_value>> make_rows(std::size_t n, std::mt19937_64& rng) {
    std::vector<std::vector<cql_value>> rows;
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<cql_value> r;
        r.push_back(cql_value::integer(static_cast<std::int64_t>(rng())));
        r.push_back(i % 5 == 0 ? cql_value::null() : cql_value::string("name " + std::to_string(i)));
        r.push_back(cql_value::float64(static_cast<double>(rng() % 1000) / 8.0));
        r.push_back(cql_value::list({cql_value::string("a"), cql_value::string(std::to_string(i))}));
        r.push_back(cql_value::list({cql_value::float32(1.f), cql_value::float32(static_cast<float>(i)), cql_value::float32(-0.f)}));
        rows.push_back(std::move(r));
    }
    return rows;
}

bulk::table_checksum checksum_of(const std::vector<std::vector<cql_value>>& rows) {
    const auto cols = schema();
    bulk::row_hasher h;
    bulk::table_checksum c;
    for (const auto& r : rows) {
        std::uint64_t v = 0;
        auto st = h.hash_values(cols, r, v);
        INFO(st.message);
        REQUIRE(st.ok());
        c.add_row_hash(v);
    }
    return c;
}

}  // namespace

TEST_CASE("checksum does not depend on row order or on how rows are split", "[bulk][checksum]") {
    std::mt19937_64 rng(42);
    auto rows = make_rows(200, rng);
    const auto whole = checksum_of(rows);
    CHECK(whole.rows == 200);
    auto shuffled = rows;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    CHECK(checksum_of(shuffled) == whole);
    // Split in three parts (ranges / workers) and merged in another order.
    std::vector<std::vector<cql_value>> a(rows.begin(), rows.begin() + 50), b(rows.begin() + 50, rows.begin() + 120),
        c(rows.begin() + 120, rows.end());
    CHECK(checksum_of(c) + checksum_of(a) + checksum_of(b) == whole);
}

TEST_CASE("checksum changes with any cell, a moved null, or a lost row", "[bulk][checksum]") {
    std::mt19937_64 rng(7);
    auto rows = make_rows(50, rng);
    const auto base = checksum_of(rows);

    auto changed = rows;
    changed[17][2] = cql_value::float64(changed[17][2].as_double() + 0.125);
    CHECK(checksum_of(changed) != base);

    changed = rows;
    changed[3][4].elements()[2] = cql_value::float32(0.f);  // -0.0 -> 0.0: other bytes
    CHECK(checksum_of(changed) != base);

    // The same values, null moved to another column.
    const auto cols = schema();
    bulk::row_hasher h;
    std::uint64_t x = 0, y = 0, z = 0;
    const std::vector<protocol::column_spec> two{{"", "", "a", cql_type(protocol::type_kind::text)},
                                                 {"", "", "b", cql_type(protocol::type_kind::text)}};
    REQUIRE(h.hash_values(two, std::vector<cql_value>{cql_value::string("v"), cql_value::null()}, x).ok());
    REQUIRE(h.hash_values(two, std::vector<cql_value>{cql_value::null(), cql_value::string("v")}, y).ok());
    REQUIRE(h.hash_values(two, std::vector<cql_value>{cql_value::string("v"), cql_value::string("")}, z).ok());
    CHECK(x != y);
    CHECK(x != z);  // null is not the empty string
    // Cell boundaries are part of the encoding: ("ab", "") differs from ("a", "b").
    std::uint64_t p = 0, q = 0;
    REQUIRE(h.hash_values(two, std::vector<cql_value>{cql_value::string("ab"), cql_value::string("")}, p).ok());
    REQUIRE(h.hash_values(two, std::vector<cql_value>{cql_value::string("a"), cql_value::string("b")}, q).ok());
    CHECK(p != q);

    auto fewer = rows;
    fewer.pop_back();
    CHECK(checksum_of(fewer) != base);
    // A duplicated row is seen (count and sum), even though xor cancels it.
    auto dup = rows;
    dup.push_back(rows[0]);
    dup.push_back(rows[0]);
    CHECK(checksum_of(dup) != base);
}

TEST_CASE("checksum merge is associative and commutative with an identity", "[bulk][checksum]") {
    std::mt19937_64 rng(3);
    std::vector<bulk::table_checksum> parts;
    for (int i = 0; i < 4; ++i) parts.push_back(checksum_of(make_rows(10 + static_cast<std::size_t>(i), rng)));
    const auto& [a, b, c, d] = std::tie(parts[0], parts[1], parts[2], parts[3]);
    CHECK((a + b) + c == a + (b + c));
    CHECK(a + b == b + a);
    CHECK(a + bulk::table_checksum{} == a);
    CHECK(((a + b) + (c + d)) == (d + (c + (b + a))));
    CHECK(a + b != a + c);
}

TEST_CASE("checksum text form", "[bulk][checksum]") {
    bulk::table_checksum c{0x0123456789abcdefull, 0xfedcba9876543210ull, 42};
    CHECK(c.to_string() == "0123456789abcdeffedcba9876543210000000000000002a");
    bulk::table_checksum back;
    REQUIRE(bulk::table_checksum::parse(c.to_string(), back).ok());
    CHECK(back == c);
    REQUIRE(bulk::table_checksum::parse("0123456789ABCDEFFEDCBA9876543210000000000000002A", back).ok());
    CHECK(back == c);
    CHECK(bulk::table_checksum::parse("", back).code == bulk::errc::bad_checksum);
    CHECK_FALSE(bulk::table_checksum::parse(c.to_string() + "0", back).ok());
    CHECK_FALSE(bulk::table_checksum::parse("g123456789abcdeffedcba9876543210000000000000002a", back).ok());
}

TEST_CASE("rows hashed from wire cells and from parsed CSV/JSON agree", "[bulk][checksum]") {
    std::mt19937_64 rng(11);
    const auto cols = schema();
    const auto rows = make_rows(30, rng);
    bulk::row_hasher h;
    bulk::table_checksum wire, from_csv, from_json;
    std::string csv, json;
    for (const auto& r : rows) {
        // As a Rows page carries them: each cell's bytes, null as no value.
        std::vector<protocol::byte_buffer> bufs(r.size());
        std::vector<protocol::value_view> cells;
        for (std::size_t i = 0; i < r.size(); ++i) {
            if (r[i].is_null()) {
                cells.push_back(protocol::value_view::null());
                continue;
            }
            REQUIRE(protocol::encode_value(cols[i].type, r[i], bufs[i]) == protocol::errc::ok);
            cells.push_back(protocol::value_view::of(bufs[i]));
        }
        wire.add_row_hash(h.hash_cells(cells));
        // Unloaded as text, as the decoder would produce them from the page.
        std::vector<cql_value> decoded;
        REQUIRE(bulk::decode_row(cols, cells, decoded).ok());
        bulk::append_csv_row(csv, cols, decoded);
        bulk::append_json_row(json, cols, decoded);
    }
    bulk::csv_reader reader;
    reader.feed(csv);
    reader.finish();
    bulk::csv_record rec;
    bulk::status st;
    const auto mapping = bulk::positional_mapping(cols.size());
    while (reader.next(rec, st) == bulk::read_result::record) {
        std::vector<cql_value> row;
        REQUIRE(bulk::parse_csv_row(cols, mapping, rec, row).ok());
        std::uint64_t v = 0;
        REQUIRE(h.hash_values(cols, row, v).ok());
        from_csv.add_row_hash(v);
    }
    bulk::line_reader lines;
    lines.feed(json);
    lines.finish();
    while (lines.next(rec) == bulk::read_result::record) {
        std::vector<cql_value> row;
        REQUIRE(bulk::parse_json_row(cols, rec.raw, row).ok());
        std::uint64_t v = 0;
        REQUIRE(h.hash_values(cols, row, v).ok());
        from_json.add_row_hash(v);
    }
    CHECK(wire.rows == rows.size());
    CHECK(from_csv == wire);
    CHECK(from_json == wire);
    CHECK(wire == checksum_of(rows));
}

TEST_CASE("hashing values that do not fit their columns is an error", "[bulk][checksum]") {
    const std::vector<protocol::column_spec> cols{{"", "", "k", cql_type(protocol::type_kind::int_)}};
    bulk::row_hasher h;
    std::uint64_t v = 0;
    CHECK(h.hash_values(cols, std::vector<cql_value>{cql_value::string("x")}, v).code == bulk::errc::bad_value);
    CHECK(h.hash_values(cols, std::vector<cql_value>{cql_value::integer(1LL << 40)}, v).code == bulk::errc::bad_value);
    CHECK(h.hash_values(cols, std::vector<cql_value>{}, v).code == bulk::errc::field_count);
}

TEST_CASE("a real Rows page: driver rows hash and decode like the values they came from", "[bulk][checksum]") {
    std::mt19937_64 rng(5);
    const auto cols = schema();
    const auto rows = make_rows(20, rng);
    // Encode a RESULT Rows body as a server would, then decode it as the driver does.
    protocol::result_metadata md;
    md.columns = cols;
    std::vector<protocol::byte_buffer> bufs;
    bufs.reserve(rows.size() * cols.size());
    std::vector<protocol::value_view> cells;
    for (const auto& r : rows)
        for (std::size_t i = 0; i < r.size(); ++i) {
            if (r[i].is_null()) {
                cells.push_back(protocol::value_view::null());
                continue;
            }
            bufs.emplace_back();
            REQUIRE(protocol::encode_value(cols[i].type, r[i], bufs.back()) == protocol::errc::ok);
            cells.push_back(protocol::value_view::of(bufs.back()));
        }
    struct page {
        protocol::byte_buffer body;
        protocol::result_response result;
    };
    auto p = std::make_shared<page>();
    protocol::byte_writer w(p->body);
    protocol::encode_rows(w, protocol::protocol_version::v5, md, cells);
    REQUIRE(protocol::result_response::decode(p->body, protocol::protocol_version::v5, p->result) == protocol::errc::ok);
    driver::rows_view view(std::get<protocol::rows_result>(p->result.value), p);
    REQUIRE(view.size() == rows.size());

    bulk::row_hasher h;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        std::uint64_t want = 0;
        REQUIRE(h.hash_values(cols, rows[r], want).ok());
        CHECK(h.hash_row(view[r]) == want);
        const auto cells = bulk::cells_of(view[r]);
        REQUIRE(cells.size() == cols.size());
        for (std::size_t i = 0; i < cells.size(); ++i) CHECK(&cells[i] == &view[r].raw(i));
        std::vector<cql_value> decoded;
        REQUIRE(bulk::decode_row(view[r], decoded).ok());
        CHECK(decoded == rows[r]);
    }
}

TEST_CASE("row hashes are XXH3 of the cells' [bytes] form, whatever the hasher hashed before", "[bulk][checksum]") {
    const protocol::byte_buffer abc{'a', 'b', 'c'}, empty, big(300, 0x5a);
    // Spelled out: "abc", null, unset (hashed as null), a zero-length value.
    const protocol::byte_buffer canonical{0, 0, 0, 3, 'a', 'b', 'c', 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    const std::vector<protocol::value_view> row{protocol::value_view::of(abc), protocol::value_view::null(),
                                                protocol::value_view::unset(), protocol::value_view::of(empty)};
    const std::uint64_t want = XXH3_64bits(canonical.data(), canonical.size());
    bulk::row_hasher h;
    CHECK(h.hash_cells(row) == want);
    // A wider row first leaves bytes past the next row's end in the scratch buffer.
    const std::vector<protocol::value_view> wide{protocol::value_view::of(big), protocol::value_view::of(big)};
    protocol::byte_buffer wide_bytes;
    protocol::byte_writer w(wide_bytes);
    w.bytes(protocol::bytes_view(big));
    w.bytes(protocol::bytes_view(big));
    CHECK(h.hash_cells(wide) == XXH3_64bits(wide_bytes.data(), wide_bytes.size()));
    CHECK(h.hash_cells(row) == want);
    CHECK(h.hash_cells({}) == XXH3_64bits(nullptr, 0));
}
