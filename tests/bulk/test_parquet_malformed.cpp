// Hand-made Parquet files (one optional column "k"): pages in the encodings
// other writers use (DuckDB's V2 writer, parquet-mr...) with their corrupt
// forms, and malformed files, each the regression test of a reader fix found
// while adding tests/fuzz/fuzz_parquet:
// the reader must give one bad_parquet status (or a row error), never a crash,
// an exception or an allocation the file's size does not justify. Some of the
// fixes are for signed overflow: those tests fail under UBSan without them.
#include "cqlpp/bulk/parquet.hpp"
#include "parquet_thrift.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <limits>

using namespace cqlpp;
using bulk::thrift::writer;
using protocol::cql_value;

namespace {

constexpr std::int64_t i64_max = std::numeric_limits<std::int64_t>::max();

struct crafted {
    int physical = 1;          // INT32
    bool time_millis = false;  // logical type TIME(MILLIS)
    std::int64_t rows = 1;     // rows of each row group
    int groups = 1;
    std::int64_t chunk_values = 1;
    bool v2 = false;  // data page v2 (levels outside the compressed part)
    std::int64_t page_values = 1;
    std::int64_t rep_len = 0, def_len = 0;  // v2
    std::string body;                       // page body (uncompressed)
    int encoding = 0;                       // of the values (PLAIN)
    int type_length = 0;                    // FIXED_LEN_BYTE_ARRAY
    int converted = -1;                     // ConvertedType, -1: none
};

void le32(std::string& s, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}
void varint(std::string& s, std::uint64_t v) {
    for (; v >= 0x80; v >>= 7) s.push_back(static_cast<char>((v & 0x7F) | 0x80));
    s.push_back(static_cast<char>(v));
}
// Definition levels of a v1 page: length, then one RLE run of `n` copies of `level`.
std::string def_run(std::uint64_t n, std::uint8_t level) {
    std::string run;
    varint(run, n << 1);
    run.push_back(static_cast<char>(level));
    std::string out;
    le32(out, static_cast<std::uint32_t>(run.size()));
    return out + run;
}

std::string build(const crafted& c) {
    std::string file = "PAR1";
    const std::int64_t page_at = static_cast<std::int64_t>(file.size());
    std::string header;
    writer h(header);
    h.begin_struct();
    h.field_i32(1, c.v2 ? 3 : 0);
    h.field_i32(2, static_cast<std::int64_t>(c.body.size()));
    h.field_i32(3, static_cast<std::int64_t>(c.body.size()));
    h.field_struct(c.v2 ? 8 : 5);
    h.begin_struct();
    h.field_i32(1, c.page_values);
    if (c.v2) {
        h.field_i32(2, 0);
        h.field_i32(3, c.page_values);
        h.field_i32(4, c.encoding);
        h.field_i32(5, c.def_len);
        h.field_i32(6, c.rep_len);
        h.field_bool(7, false);
    } else {
        h.field_i32(2, c.encoding);
        h.field_i32(3, 3);
        h.field_i32(4, 3);
    }
    h.end_struct();
    h.end_struct();
    file += header + c.body;
    const auto chunk_bytes = static_cast<std::int64_t>(header.size() + c.body.size());

    std::string meta;
    writer w(meta);
    w.begin_struct();
    w.field_i32(1, 1);
    w.field_list(2, bulk::thrift::t_struct, 2);
    w.begin_struct();
    w.field_binary(4, "schema");
    w.field_i32(5, 1);
    w.end_struct();
    w.begin_struct();
    w.field_i32(1, c.physical);
    if (c.type_length) w.field_i32(2, c.type_length);
    w.field_i32(3, 1);  // optional
    w.field_binary(4, "k");
    if (c.converted >= 0) w.field_i32(6, c.converted);
    if (c.time_millis) {
        w.field_struct(10);  // LogicalType
        w.begin_struct();
        w.field_struct(7);  // TIME
        w.begin_struct();
        w.field_bool(1, false);
        w.field_struct(2);  // unit
        w.begin_struct();
        w.field_struct(1);  // MILLIS
        w.begin_struct();
        w.end_struct();
        w.end_struct();
        w.end_struct();
        w.end_struct();
    }
    w.end_struct();
    std::int64_t total = 0;
    for (int g = 0; g < c.groups; ++g) total += c.rows == i64_max ? 0 : c.rows;
    w.field_i64(3, c.groups > 1 && c.rows == i64_max ? 5 : total);
    w.field_list(4, bulk::thrift::t_struct, static_cast<std::size_t>(c.groups));
    for (int g = 0; g < c.groups; ++g) {
        w.begin_struct();
        w.field_list(1, bulk::thrift::t_struct, 1);
        w.begin_struct();
        w.field_i64(2, page_at);
        w.field_struct(3);
        w.begin_struct();
        w.field_i32(1, c.physical);
        w.field_list(2, bulk::thrift::t_i32, 1);
        w.elem_i32(0);
        w.field_list(3, bulk::thrift::t_binary, 1);
        w.elem_binary("k");
        w.field_i32(4, 0);  // uncompressed
        w.field_i64(5, c.chunk_values);
        w.field_i64(6, chunk_bytes);
        w.field_i64(7, chunk_bytes);
        w.field_i64(9, page_at);
        w.end_struct();
        w.end_struct();
        w.field_i64(2, chunk_bytes);
        w.field_i64(3, c.rows);
        w.end_struct();
    }
    w.end_struct();
    file += meta;
    le32(file, static_cast<std::uint32_t>(meta.size()));
    return file + "PAR1";
}

std::vector<protocol::column_spec> table(const char* type) {
    return {{"ks", "t", "k", *protocol::parse_type_name(type)}};
}

// Opens and reads `file` to the end: the first error (open or read), rows read, and the last row error.
struct outcome {
    bulk::status st;
    int rows = 0;
    std::string row_error;
};
outcome read_all(const std::string& file, const char* type = "int", std::vector<cql_value>* values = nullptr) {
    outcome o;
    auto src = [&file](std::uint64_t off, std::size_t len, std::string& out) -> bulk::status {
        if (off > file.size() || len > file.size() - off) return {bulk::errc::io_error, "read past the end"};
        out.assign(file, static_cast<std::size_t>(off), len);
        return {};
    };
    bulk::parquet_reader r;
    o.st = r.open(src, file.size(), table(type));
    if (!o.st.ok()) return o;
    std::vector<cql_value> row;
    std::string err;
    while (r.next(row, err) && o.rows < 1000) {
        ++o.rows;
        if (!err.empty()) o.row_error = err;
        if (values) values->push_back(err.empty() ? row.at(0) : cql_value::null());
    }
    o.st = r.error();
    return o;
}

}  // namespace

TEST_CASE("parquet malformed: the crafted file itself reads", "[parquet]") {
    crafted c;
    c.body = def_run(1, 1);
    le32(c.body, 42);
    auto o = read_all(build(c));
    INFO(o.st.message);
    CHECK(o.st.ok());
    CHECK(o.rows == 1);
}

TEST_CASE("parquet malformed: a page of 2^40 nulls in a few bytes is refused, not allocated", "[parquet]") {
    // Counts that would also overflow the budget arithmetic (2^62 * 32 wraps to 0).
    for (std::uint64_t n : {std::uint64_t(1) << 40, std::uint64_t(1) << 62}) {
        crafted c;
        c.rows = c.chunk_values = c.page_values = static_cast<std::int64_t>(n);
        c.body = def_run(n, 0);
        auto o = read_all(build(c));
        CHECK(o.st.code == bulk::errc::bad_parquet);
        CHECK_THAT(o.st.message, Catch::Contains("bytes decoded"));
    }
}

TEST_CASE("parquet malformed: a row group over the memory budget is bad_parquet", "[parquet]") {
    crafted c;
    c.rows = c.chunk_values = c.page_values = 100000;
    c.body = def_run(100000, 0);
    const std::string file = build(c);
    CHECK(read_all(file).st.ok());
    bulk::parquet_read_options small;
    small.max_row_group_bytes = 1u << 20;  // 100000 entries need more
    bulk::parquet_reader r(small);
    auto src = [&file](std::uint64_t off, std::size_t len, std::string& out) -> bulk::status {
        out.assign(file, static_cast<std::size_t>(off), len);
        return {};
    };
    REQUIRE(r.open(src, file.size(), table("int")).ok());
    std::vector<cql_value> row;
    std::string err;
    CHECK_FALSE(r.next(row, err));
    CHECK(r.error().code == bulk::errc::bad_parquet);
}

TEST_CASE("parquet malformed: v2 level lengths whose sum overflows", "[parquet]") {
    crafted c;
    c.v2 = true;
    c.rep_len = c.def_len = std::int64_t(1) << 62;
    c.body = std::string(16, '\0');
    auto o = read_all(build(c));
    CHECK(o.st.code == bulk::errc::bad_parquet);
    CHECK_THAT(o.st.message, Catch::Contains("level sizes"));
}

TEST_CASE("parquet malformed: row group row counts whose sum overflows", "[parquet]") {
    crafted c;
    c.groups = 2;
    c.rows = i64_max;
    c.body = def_run(1, 1);
    le32(c.body, 42);
    auto o = read_all(build(c));
    CHECK(o.st.code == bulk::errc::bad_parquet);
    CHECK_THAT(o.st.message, Catch::Contains("2^63"));
}

TEST_CASE("parquet malformed: a TIME(MILLIS) value too big for nanoseconds is a row error", "[parquet]") {
    crafted c;
    c.physical = 2;  // INT64
    c.time_millis = true;
    c.body = def_run(1, 1);
    for (int i = 0; i < 8; ++i) c.body.push_back(static_cast<char>(i == 7 ? 0x7F : 0xFF));
    auto o = read_all(build(c), "time");
    INFO(o.st.message);
    CHECK(o.st.ok());
    CHECK(o.rows == 1);
    CHECK_THAT(o.row_error, Catch::Contains("does not fit"));
}

TEST_CASE("parquet malformed: a footer listing millions of row groups is refused before they are built", "[parquet]") {
    crafted c;
    c.body = def_run(1, 1);
    le32(c.body, 42);
    std::string file = build(c);
    // Replace the footer by one whose row group list claims 2^20 + 1 empty structs.
    std::string meta;
    writer w(meta);
    w.begin_struct();
    w.field_list(4, bulk::thrift::t_struct, (1u << 20) + 1);
    meta.append((1u << 20) + 1, '\0');  // each an empty struct: its stop byte
    meta.push_back('\0');
    file = "PAR1" + meta;
    le32(file, static_cast<std::uint32_t>(meta.size()));
    file += "PAR1";
    auto o = read_all(file);
    CHECK(o.st.code == bulk::errc::bad_parquet);
    CHECK_THAT(o.st.message, Catch::Contains("row groups"));
}

TEST_CASE("parquet malformed: Thrift field ids past 16 bits do not overflow", "[parquet]") {
    // A long-form field header with id 2^31 - 1, then a short-form one (delta 1).
    std::string meta;
    meta.push_back(static_cast<char>(0x05));  // type i32, long-form id follows
    varint(meta, (std::uint64_t(0x7FFFFFFF) << 1));
    varint(meta, 0);
    meta.push_back(static_cast<char>(0x15));  // delta 1, i32
    varint(meta, 0);
    meta.push_back('\0');
    std::string file = "PAR1" + meta;
    le32(file, static_cast<std::uint32_t>(meta.size()));
    file += "PAR1";
    auto o = read_all(file);
    CHECK(o.st.code == bulk::errc::bad_parquet);
}

// ---- Encodings other writers use ---------------------------------------------

namespace {

constexpr int e_delta_binary_packed = 5, e_delta_length_byte_array = 6, e_delta_byte_array = 7,
              e_byte_stream_split = 9;

// Definition levels of a v1 page from RLE runs (count, level), length first.
std::string def_runs(std::initializer_list<std::pair<std::uint64_t, std::uint8_t>> runs) {
    std::string body;
    for (auto [n, level] : runs) {
        varint(body, n << 1);
        body.push_back(static_cast<char>(level));
    }
    std::string out;
    le32(out, static_cast<std::uint32_t>(body.size()));
    return out + body;
}

// `v` packed LSB first, `width` bits each.
std::string bit_pack(const std::vector<std::uint64_t>& v, int width) {
    std::string out((v.size() * static_cast<std::size_t>(width) + 7) / 8, '\0');
    std::size_t bit = 0;
    for (auto x : v)
        for (int b = 0; b < width; ++b, ++bit)
            if (x >> b & 1) out[bit / 8] = static_cast<char>(out[bit / 8] | (1 << (bit % 8)));
    return out;
}

// DELTA_BINARY_PACKED: blocks of 128 values in 4 miniblocks of 32 (deltas wrap mod 2^64, as the spec allows).
std::string delta_binary_packed(const std::vector<std::int64_t>& v) {
    auto zigzag = [](std::int64_t x) { return (static_cast<std::uint64_t>(x) << 1) ^ static_cast<std::uint64_t>(x >> 63); };
    std::string out;
    varint(out, 128);
    varint(out, 4);
    varint(out, v.size());
    varint(out, v.empty() ? 0 : zigzag(v[0]));
    for (std::size_t i = 1; i < v.size(); i += 128) {
        std::vector<std::int64_t> d;
        for (std::size_t k = i; k < std::min(v.size(), i + 128); ++k)
            d.push_back(static_cast<std::int64_t>(static_cast<std::uint64_t>(v[k]) - static_cast<std::uint64_t>(v[k - 1])));
        const std::int64_t mn = *std::min_element(d.begin(), d.end());
        std::vector<std::uint64_t> rel;
        std::uint64_t mx = 0;
        for (auto x : d) {
            rel.push_back(static_cast<std::uint64_t>(x) - static_cast<std::uint64_t>(mn));
            mx = std::max(mx, rel.back());
        }
        int width = 0;
        while (width < 64 && (mx >> width) != 0) ++width;
        const std::size_t minis = (rel.size() + 31) / 32;
        rel.resize(minis * 32, 0);
        varint(out, zigzag(mn));
        for (std::size_t m = 0; m < 4; ++m) out.push_back(static_cast<char>(m < minis ? width : 0));
        out += bit_pack(rel, width);
    }
    return out;
}

}  // namespace

TEST_CASE("parquet encodings: DELTA_BINARY_PACKED, every bit width up to 64 and several blocks", "[parquet]") {
    std::vector<std::int64_t> want = {std::numeric_limits<std::int64_t>::min(), i64_max, 0, -1, i64_max, 7};
    for (std::int64_t i = 0; i < 300; ++i) want.push_back(i * i * (i % 2 ? -1 : 1) * 1000003);
    crafted c;
    c.physical = 2;  // INT64
    c.encoding = e_delta_binary_packed;
    c.rows = c.chunk_values = c.page_values = static_cast<std::int64_t>(want.size()) + 1;
    c.body = def_runs({{3, 1}, {1, 0}, {want.size() - 3, 1}}) + delta_binary_packed(want);
    std::vector<cql_value> got;
    auto o = read_all(build(c), "bigint", &got);
    INFO(o.st.message << o.row_error);
    REQUIRE(o.st.ok());
    REQUIRE(got.size() == want.size() + 1);
    CHECK(got[3].is_null());
    for (std::size_t i = 0, k = 0; i < got.size(); ++i)
        if (i != 3) CHECK(got[i].as_int() == want[k++]);

    // INT32 wraps mod 2^32.
    c.physical = 1;
    c.rows = c.chunk_values = c.page_values = 3;
    c.body = def_run(3, 1) + delta_binary_packed({std::numeric_limits<std::int32_t>::min(), 2147483647, -5});
    got.clear();
    o = read_all(build(c), "int", &got);
    REQUIRE(o.st.ok());
    REQUIRE(got.size() == 3);
    CHECK(got[0].as_int() == std::numeric_limits<std::int32_t>::min());
    CHECK(got[1].as_int() == 2147483647);
    CHECK(got[2].as_int() == -5);
}

TEST_CASE("parquet encodings: corrupt DELTA_BINARY_PACKED is one bad_parquet", "[parquet]") {
    crafted c;
    c.physical = 2;
    c.encoding = e_delta_binary_packed;
    c.rows = c.chunk_values = c.page_values = 40;
    std::vector<std::int64_t> v;
    for (int i = 0; i < 40; ++i) v.push_back(i * i * 37);
    const std::string good = delta_binary_packed(v);
    std::vector<std::string> bad_pages;
    std::string w65 = good;  // the first miniblock's bit width: after the header (128 takes 2 bytes) and min delta 37
    REQUIRE(good[5] == 2 * 37);
    w65[6] = 65;
    bad_pages.push_back(w65);
    std::string minis3;  // 128 values per block in 3 miniblocks
    varint(minis3, 128);
    varint(minis3, 3);
    minis3 += good.substr(3);
    bad_pages.push_back(minis3);
    std::string count;  // header count differs from the page's values
    varint(count, 128);
    varint(count, 4);
    varint(count, 41);
    count += good.substr(4);
    bad_pages.push_back(count);
    for (std::size_t cut = 1; cut < good.size(); cut += 3) bad_pages.push_back(good.substr(0, good.size() - cut));
    {
        crafted ok = c;
        ok.body = def_run(40, 1) + good;
        REQUIRE(read_all(build(ok), "bigint").st.ok());
    }
    for (const auto& page : bad_pages) {
        c.body = def_run(40, 1) + page;
        auto o = read_all(build(c), "bigint");
        CHECK(o.st.code == bulk::errc::bad_parquet);
        CHECK_THAT(o.st.message, Catch::Contains("DELTA_BINARY_PACKED"));
    }
}

TEST_CASE("parquet encodings: DELTA_LENGTH_BYTE_ARRAY, and truncated", "[parquet]") {
    crafted c;
    c.physical = 6;  // BYTE_ARRAY
    c.encoding = e_delta_length_byte_array;
    c.rows = c.chunk_values = c.page_values = 3;
    c.body = def_run(3, 1) + delta_binary_packed({0, 1, 12}) + "a" + "hello wörld";
    std::vector<cql_value> got;
    auto o = read_all(build(c), "text", &got);
    INFO(o.st.message);
    REQUIRE(o.st.ok());
    REQUIRE(got.size() == 3);
    CHECK(got[0].as_string().empty());
    CHECK(got[1].as_string() == "a");
    CHECK(got[2].as_string() == "hello wörld");
    c.body.pop_back();
    o = read_all(build(c), "text");
    CHECK(o.st.code == bulk::errc::bad_parquet);
    CHECK_THAT(o.st.message, Catch::Contains("DELTA_LENGTH_BYTE_ARRAY"));
}

TEST_CASE("parquet encodings: DELTA_BYTE_ARRAY (prefixes shared with the previous value)", "[parquet]") {
    crafted c;
    c.physical = 6;
    c.encoding = e_delta_byte_array;
    c.rows = c.chunk_values = c.page_values = 6;
    // apple, applesauce, apply, b, "", null
    c.body = def_runs({{5, 1}, {1, 0}}) + delta_binary_packed({0, 5, 4, 0, 0}) + delta_binary_packed({5, 5, 1, 1, 0}) +
             "apple" + "sauce" + "y" + "b";
    std::vector<cql_value> got;
    auto o = read_all(build(c), "text", &got);
    INFO(o.st.message);
    REQUIRE(o.st.ok());
    REQUIRE(got.size() == 6);
    CHECK(got[0].as_string() == "apple");
    CHECK(got[1].as_string() == "applesauce");
    CHECK(got[2].as_string() == "apply");
    CHECK(got[3].as_string() == "b");
    CHECK(got[4].as_string().empty());
    CHECK(got[5].is_null());

    // FIXED_LEN_BYTE_ARRAY(3): every value must have 3 bytes.
    crafted f;
    f.physical = 7;
    f.type_length = 3;
    f.encoding = e_delta_byte_array;
    f.rows = f.chunk_values = f.page_values = 2;
    f.body = def_run(2, 1) + delta_binary_packed({0, 2}) + delta_binary_packed({3, 1}) + "abc" + "d";
    got.clear();
    o = read_all(build(f), "blob", &got);
    REQUIRE(o.st.ok());
    REQUIRE(got.size() == 2);
    CHECK(got[1].as_blob() == protocol::byte_buffer{'a', 'b', 'd'});
    f.body = def_run(2, 1) + delta_binary_packed({0, 1}) + delta_binary_packed({3, 1}) + "abc" + "d";
    o = read_all(build(f), "blob");
    CHECK(o.st.code == bulk::errc::bad_parquet);
}

TEST_CASE("parquet encodings: corrupt DELTA_BYTE_ARRAY is one bad_parquet, never a big allocation", "[parquet]") {
    crafted c;
    c.physical = 6;
    c.encoding = e_delta_byte_array;
    c.rows = c.chunk_values = c.page_values = 2;
    const std::vector<std::string> pages = {
        // a prefix longer than the previous value
        delta_binary_packed({0, 4}) + delta_binary_packed({3, 1}) + "abcd",
        // suffixes past the end of the page
        delta_binary_packed({0, 0}) + delta_binary_packed({3, 9}) + "abcd",
        // a negative length
        delta_binary_packed({0, 0}) + delta_binary_packed({-1, 1}) + "a",
        // prefix lengths only
        delta_binary_packed({0, 0}),
    };
    for (const auto& page : pages) {
        c.body = def_run(2, 1) + page;
        auto o = read_all(build(c), "text");
        CHECK(o.st.code == bulk::errc::bad_parquet);
        CHECK_THAT(o.st.message, Catch::Contains("DELTA_BYTE_ARRAY"));
    }
    // 200,000 copies of a 10,000-byte value take a few bytes (prefix = whole previous value,
    // suffix empty, delta bit width 0) and 2 GB decoded: over the row group budget, refused before allocating.
    const std::size_t n = 200000;
    std::vector<std::int64_t> prefix(n, 10000), suffix(n, 0);
    prefix[0] = 0;
    suffix[0] = 10000;
    c.rows = c.chunk_values = c.page_values = static_cast<std::int64_t>(n);
    c.body = def_run(n, 1) + delta_binary_packed(prefix) + delta_binary_packed(suffix) + std::string(10000, 'x');
    auto o = read_all(build(c), "text");
    CHECK(o.st.code == bulk::errc::bad_parquet);
}

TEST_CASE("parquet encodings: BYTE_STREAM_SPLIT of FLOAT, DOUBLE, INT32 and FIXED_LEN_BYTE_ARRAY", "[parquet]") {
    // Byte k of value i is at k * count + i.
    auto split = [](const std::string& plain, std::size_t width) {
        const std::size_t n = plain.size() / width;
        std::string out(plain.size(), '\0');
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t k = 0; k < width; ++k) out[k * n + i] = plain[i * width + k];
        return out;
    };
    const float fs[] = {1.5f, -0.0f, std::numeric_limits<float>::infinity(), -3.25e-38f};
    std::string plain;
    for (float f : fs) le32(plain, std::bit_cast<std::uint32_t>(f));
    for (bool v2 : {false, true}) {
        crafted c;
        c.physical = 4;  // FLOAT
        c.encoding = e_byte_stream_split;
        c.v2 = v2;
        c.rows = c.chunk_values = c.page_values = 5;
        if (v2) {  // levels: bit-packed, no length prefix; values 1, 1, 0, 1, 1
            c.body = "\x03\x1b";
            c.def_len = 2;
        } else {
            c.body = def_runs({{2, 1}, {1, 0}, {2, 1}});
        }
        c.body += split(plain, 4);
        std::vector<cql_value> got;
        auto o = read_all(build(c), "float", &got);
        INFO(o.st.message << " v2 " << v2);
        REQUIRE(o.st.ok());
        REQUIRE(got.size() == 5);
        CHECK(std::bit_cast<std::uint32_t>(got[0].as_float()) == std::bit_cast<std::uint32_t>(fs[0]));
        CHECK(std::bit_cast<std::uint32_t>(got[1].as_float()) == std::bit_cast<std::uint32_t>(fs[1]));
        CHECK(got[2].is_null());
        CHECK(got[3].as_float() == fs[2]);
        CHECK(got[4].as_float() == fs[3]);
    }
    {
        crafted c;
        c.physical = 5;  // DOUBLE
        c.encoding = e_byte_stream_split;
        c.rows = c.chunk_values = c.page_values = 2;
        std::string p;
        for (double d : {-1.7976931348623157e308, 5e-324}) {
            const auto b = std::bit_cast<std::uint64_t>(d);
            le32(p, static_cast<std::uint32_t>(b));
            le32(p, static_cast<std::uint32_t>(b >> 32));
        }
        c.body = def_run(2, 1) + split(p, 8);
        std::vector<cql_value> got;
        auto o = read_all(build(c), "double", &got);
        REQUIRE(o.st.ok());
        REQUIRE(got.size() == 2);
        CHECK(got[0].as_double() == -1.7976931348623157e308);
        CHECK(got[1].as_double() == 5e-324);
        // One byte short: a clear error.
        c.body = def_run(2, 1) + split(p, 8).substr(1);
        o = read_all(build(c), "double");
        CHECK(o.st.code == bulk::errc::bad_parquet);
        CHECK_THAT(o.st.message, Catch::Contains("BYTE_STREAM_SPLIT"));
    }
    {
        crafted c;
        c.physical = 1;  // INT32
        c.encoding = e_byte_stream_split;
        c.rows = c.chunk_values = c.page_values = 3;
        std::string p;
        for (std::uint32_t v : {0x80000000u, 0x7fffffffu, 0x01020304u}) le32(p, v);
        c.body = def_run(3, 1) + split(p, 4);
        std::vector<cql_value> got;
        auto o = read_all(build(c), "int", &got);
        REQUIRE(o.st.ok());
        REQUIRE(got.size() == 3);
        CHECK(got[0].as_int() == std::numeric_limits<std::int32_t>::min());
        CHECK(got[1].as_int() == 2147483647);
        CHECK(got[2].as_int() == 0x01020304);
    }
    {
        crafted c;
        c.physical = 7;
        c.type_length = 3;
        c.encoding = e_byte_stream_split;
        c.rows = c.chunk_values = c.page_values = 2;
        c.body = def_run(2, 1) + split("abcxyz", 3);
        std::vector<cql_value> got;
        auto o = read_all(build(c), "blob", &got);
        REQUIRE(o.st.ok());
        REQUIRE(got.size() == 2);
        CHECK(got[1].as_blob() == protocol::byte_buffer{'x', 'y', 'z'});
    }
    {
        crafted c;  // BYTE_ARRAY has no fixed width to split
        c.physical = 6;
        c.encoding = e_byte_stream_split;
        c.body = def_run(1, 1) + "abcd";
        auto o = read_all(build(c), "text");
        CHECK(o.st.code == bulk::errc::bad_parquet);
    }
}

TEST_CASE("parquet encodings: unsigned integers (UINT_32, UINT_64) and INT96 timestamps", "[parquet]") {
    crafted c;
    c.converted = 13;  // UINT_32
    c.body = def_run(1, 1);
    le32(c.body, 0xFFFFFFFFu);
    std::vector<cql_value> got;
    auto o = read_all(build(c), "bigint", &got);
    REQUIRE(o.st.ok());
    REQUIRE(got.size() == 1);
    CHECK(got[0].as_int() == 4294967295);
    o = read_all(build(c), "int");
    CHECK_THAT(o.row_error, Catch::Contains("does not fit"));

    c.physical = 2;
    c.converted = 14;  // UINT_64
    c.body = def_run(1, 1) + std::string(8, '\xff');
    got.clear();
    o = read_all(build(c), "varint", &got);
    REQUIRE(o.st.ok());
    REQUIRE(got.size() == 1);
    CHECK(got[0].as_varint().to_string() == "18446744073709551615");
    o = read_all(build(c), "bigint");
    CHECK_THAT(o.row_error, Catch::Contains("does not fit"));

    crafted t;
    t.physical = 3;  // INT96: nanoseconds of the day, Julian day
    t.rows = t.chunk_values = t.page_values = 2;
    t.body = def_run(2, 1);
    le32(t.body, 1500000);  // 1.5 ms
    le32(t.body, 0);
    le32(t.body, 2440589);  // 1970-01-02
    le32(t.body, 0);
    le32(t.body, 0);
    le32(t.body, 2440587);  // 1969-12-31
    got.clear();
    o = read_all(build(t), "timestamp", &got);
    INFO(o.st.message << o.row_error);
    REQUIRE(o.st.ok());
    REQUIRE(got.size() == 2);
    CHECK(got[0].as_int() == 86400001);
    CHECK(got[1].as_int() == -86400000);
}

TEST_CASE("parquet encodings: INTERVAL (FIXED_LEN_BYTE_ARRAY(12)) to duration; unsigned parts past 2^31 do not fit", "[parquet]") {
    crafted c;
    c.physical = 7;
    c.type_length = 12;
    c.converted = 21;  // INTERVAL
    c.rows = c.chunk_values = c.page_values = 2;
    c.body = def_run(2, 1);
    for (std::uint32_t v : {2147483647u, 3u, 86399999u, 0x80000000u, 0u, 0u}) le32(c.body, v);
    std::vector<cql_value> got;
    auto o = read_all(build(c), "duration", &got);
    INFO(o.st.message);
    REQUIRE(o.st.ok());
    REQUIRE(got.size() == 2);
    CHECK(got[0].as_duration().months == 2147483647);
    CHECK(got[0].as_duration().days == 3);
    CHECK(got[0].as_duration().nanos == 86399999LL * 1000000);
    CHECK(got[1].is_null());
    CHECK_THAT(o.row_error, Catch::Contains("does not fit a duration"));
}
