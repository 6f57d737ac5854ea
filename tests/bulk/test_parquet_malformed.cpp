// Hand-made malformed Parquet files (one optional column "k"), each the
// regression test of a reader fix found while adding tests/fuzz/fuzz_parquet:
// the reader must give one bad_parquet status (or a row error), never a crash,
// an exception or an allocation the file's size does not justify. Some of the
// fixes are for signed overflow: those tests fail under UBSan without them.
#include "cqlpp/bulk/parquet.hpp"
#include "parquet_thrift.hpp"

#include <catch2/catch.hpp>

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
        h.field_i32(4, 0);
        h.field_i32(5, c.def_len);
        h.field_i32(6, c.rep_len);
        h.field_bool(7, false);
    } else {
        h.field_i32(2, 0);
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
    w.field_i32(3, 1);  // optional
    w.field_binary(4, "k");
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
outcome read_all(const std::string& file, const char* type = "int") {
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
