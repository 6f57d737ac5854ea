// Parquet writer -> reader round trips for every CQL type (nested, nulls,
// several row groups, each compression), and corrupted files that must give
// one bad_parquet error, never a crash.
#include "cqlpp/bulk/codec.hpp"
#include "cqlpp/bulk/parquet.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

using namespace cqlpp;
using bulk::column_spec;
using protocol::cql_type;
using protocol::cql_value;

namespace {

cql_type T(std::string_view name) {
    auto t = protocol::parse_type_name(name);
    if (!t) FAIL("bad type in test: " << name);
    return *t;
}

std::vector<column_spec> all_columns() {
    std::vector<std::pair<std::string, std::string>> cols = {
        {"k", "int"}, {"ti", "tinyint"}, {"si", "smallint"}, {"bi", "bigint"}, {"f", "float"}, {"d", "double"},
        {"b", "boolean"}, {"t", "text"}, {"a", "ascii"}, {"bl", "blob"}, {"u", "uuid"}, {"tu", "timeuuid"},
        {"ts", "timestamp"}, {"dt", "date"}, {"tm", "time"}, {"dec", "decimal"}, {"vi", "varint"},
        {"du", "duration"}, {"ip", "inet"}, {"l", "list<int>"}, {"s", "set<text>"}, {"m", "map<text, bigint>"},
        {"ll", "list<frozen<list<int>>>"}, {"tup", "tuple<int, text>"}, {"v", "vector<float, 3>"},
        {"mm", "map<int, frozen<list<text>>>"}};
    std::vector<column_spec> out;
    for (auto& [n, t] : cols) out.push_back({"ks", "t", n, T(t)});
    return out;
}

std::vector<cql_value> make_row(const std::vector<column_spec>& cols, int i) {
    std::vector<cql_value> row;
    for (const auto& c : cols) {
        cql_value v;
        if (i % 7 == 3 && c.name != "k") {
            row.push_back(cql_value::null());
            continue;
        }
        std::string text;
        const auto& n = c.name;
        if (n == "k") text = std::to_string(i);
        else if (n == "ti") text = std::to_string(i % 2 ? -128 : 127);
        else if (n == "si") text = std::to_string(-32768 + i);
        else if (n == "bi") text = i % 2 ? "-9223372036854775808" : "9223372036854775807";
        else if (n == "f") text = i % 5 == 1 ? "NaN" : std::to_string(i) + ".25";
        else if (n == "d") text = i % 5 == 2 ? "-Infinity" : "1e" + std::to_string(i % 300);
        else if (n == "b") text = i % 2 ? "true" : "false";
        else if (n == "t") text = "héllo " + std::to_string(i % 4);  // low cardinality: dictionary
        else if (n == "a") text = std::string(static_cast<std::size_t>(i % 3), 'x');
        else if (n == "bl") text = "0x" + std::string(static_cast<std::size_t>(2 * (i % 5)), 'a');
        else if (n == "u") text = "123e4567-e89b-12d3-a456-42661417" + std::to_string(1000 + i % 9000);
        else if (n == "tu") text = "d2177dd0-eaa2-11de-a572-001b779c76e3";
        else if (n == "ts") text = std::to_string(-62135596800000LL + i);
        else if (n == "dt") text = i % 2 ? "-5877641-06-23" : "2020-02-29";
        else if (n == "tm") text = "23:59:59.99999999" + std::to_string(i % 10);
        else if (n == "dec") text = i % 2 ? "1.10" : "-6.4206E-16";
        else if (n == "vi") text = i % 2 ? "-99999999999999999999999999999999999999" : std::to_string(i);
        else if (n == "du") text = i % 2 ? "-1y2mo3d4h5m6s7ms8us9ns" : "0s";
        else if (n == "ip") text = i % 2 ? "::1" : "10.0.0." + std::to_string(i % 256);
        else if (n == "l") text = i % 4 == 0 ? "[]" : "[1, " + std::to_string(i) + ", -3]";
        else if (n == "s") text = "[\"a\", \"b" + std::to_string(i % 3) + "\"]";
        else if (n == "m") text = i % 4 == 1 ? "{}" : "{\"x\": 1, \"y\": " + std::to_string(i) + "}";
        else if (n == "ll") text = i % 3 ? "[[1, 2], [], [3]]" : "[]";
        else if (n == "tup") text = i % 2 ? "[1, null]" : "[null, \"z\"]";
        else if (n == "v") text = "[1.5, -2, " + std::to_string(i) + "]";
        else if (n == "mm") text = "[[1, [\"p\", \"q\"]], [2, []]]";
        auto st = bulk::parse_field_text(c.type, text, v);
        if (!st) FAIL("test value " << n << " " << text << ": " << st.message);
        row.push_back(std::move(v));
    }
    return row;
}

bulk::parquet_source source_of(const std::string& file) {
    return [&file](std::uint64_t off, std::size_t len, std::string& out) -> bulk::status {
        if (off > file.size() || len > file.size() - off) return {bulk::errc::io_error, "read past the end"};
        out.assign(file, static_cast<std::size_t>(off), len);
        return {};
    };
}

}  // namespace

TEST_CASE("parquet: every CQL type round trips through our writer and reader", "[parquet]") {
    auto cols = all_columns();
    for (auto comp : {bulk::parquet_compression::none, bulk::parquet_compression::snappy,
                      bulk::parquet_compression::zstd}) {
        bulk::parquet_write_options o;
        o.compression = comp;
        o.row_group_rows = 37;  // several row groups, one partial
        bulk::parquet_writer w(cols, o);
        std::string file;
        const int n = 200;
        for (int i = 0; i < n; ++i) {
            auto st = w.add_row(make_row(cols, i), file);
            REQUIRE(st.ok());
        }
        REQUIRE(w.finish(file).ok());
        REQUIRE(file.substr(0, 4) == "PAR1");
        REQUIRE(file.substr(file.size() - 4) == "PAR1");
        REQUIRE(w.bytes_written() == file.size());

        bulk::parquet_reader r;
        auto st = r.open(source_of(file), file.size(), cols);
        INFO(st.message);
        REQUIRE(st.ok());
        REQUIRE(r.num_rows() == n);
        std::vector<cql_value> row;
        std::string err;
        int i = 0;
        while (r.next(row, err)) {
            INFO("row " << i << " " << err);
            REQUIRE(err.empty());
            auto want = make_row(cols, i);
            for (std::size_t c = 0; c < cols.size(); ++c) {
                INFO("column " << cols[c].name << ": " << bulk::to_json_value(cols[c].type, row[c]) << " want "
                               << bulk::to_json_value(cols[c].type, want[c]));
                CHECK(row[c] == want[c]);
            }
            CHECK(r.row_index() == static_cast<std::uint64_t>(i));
            ++i;
        }
        INFO(r.error().message);
        REQUIRE(r.error().ok());
        REQUIRE(i == n);
    }
}

TEST_CASE("parquet: skip() resumes at a row, across row groups", "[parquet]") {
    auto cols = all_columns();
    bulk::parquet_write_options o;
    o.row_group_rows = 10;
    bulk::parquet_writer w(cols, o);
    std::string file;
    for (int i = 0; i < 55; ++i) REQUIRE(w.add_row(make_row(cols, i), file).ok());
    REQUIRE(w.finish(file).ok());
    bulk::parquet_reader r;
    REQUIRE(r.open(source_of(file), file.size(), cols).ok());
    REQUIRE(r.skip(23));
    std::vector<cql_value> row;
    std::string err;
    REQUIRE(r.next(row, err));
    CHECK(r.row_index() == 23);
    CHECK(row[0] == cql_value::integer(23));
}

TEST_CASE("parquet: a value the type cannot hold is rejected, the row not written", "[parquet]") {
    std::vector<column_spec> cols = {{"ks", "t", "k", T("int")}, {"ks", "t", "v", T("varint")}};
    bulk::parquet_writer w(cols);
    std::string file;
    cql_value wide;
    REQUIRE(bulk::parse_field_text(cols[1].type, std::string(40, '9'), wide).ok());
    auto st = w.add_row(std::vector<cql_value>{cql_value::integer(1), wide}, file);
    CHECK(st.code == bulk::errc::bad_value);
    REQUIRE(w.add_row(std::vector<cql_value>{cql_value::integer(2), cql_value::null()}, file).ok());
    REQUIRE(w.finish(file).ok());
    bulk::parquet_reader r;
    REQUIRE(r.open(source_of(file), file.size(), cols).ok());
    CHECK(r.num_rows() == 1);
    std::vector<cql_value> row;
    std::string err;
    REQUIRE(r.next(row, err));
    CHECK(row[0] == cql_value::integer(2));
    CHECK(row[1].is_null());
    CHECK_FALSE(r.next(row, err));
}

TEST_CASE("parquet: a value that does not convert is reported as the file has it", "[parquet]") {
    // Written with wider types than the table it is read into.
    std::vector<column_spec> wide = {{"ks", "t", "k", T("int")}, {"ks", "t", "v", T("bigint")},
                                     {"ks", "t", "t", T("text")}, {"ks", "t", "bl", T("blob")},
                                     {"ks", "t", "l", T("list<bigint>")}};
    std::vector<column_spec> narrow = {{"ks", "t", "k", T("int")}, {"ks", "t", "v", T("int")},
                                       {"ks", "t", "t", T("int")}, {"ks", "t", "bl", T("int")},
                                       {"ks", "t", "l", T("list<int>")}};
    const char* rows[][5] = {{"1", "3000000000", "", "", ""},
                             {"2", "", "ab\"c", "", ""},
                             {"3", "", "", "0xaa01", ""},
                             {"4", "", "", "", "[1, 5000000000]"},
                             {"5", "7", "8", "", "[]"}};
    bulk::parquet_writer w(wide);
    std::string file;
    for (const auto& r : rows) {
        std::vector<cql_value> row;
        for (std::size_t c = 0; c < wide.size(); ++c) {
            cql_value v = cql_value::null();
            if (*r[c]) REQUIRE(bulk::parse_field_text(wide[c].type, r[c], v).ok());
            row.push_back(std::move(v));
        }
        REQUIRE(w.add_row(row, file).ok());
    }
    REQUIRE(w.finish(file).ok());
    bulk::parquet_reader r;
    REQUIRE(r.open(source_of(file), file.size(), narrow).ok());
    std::vector<cql_value> row;
    std::string err;
    const std::pair<std::size_t, std::string> want[] = {
        {1, "3000000000"}, {2, "\"ab\\\"c\""}, {3, "\"0xaa01\""}, {4, ""}, {narrow.size(), ""}};
    for (const auto& [col, value] : want) {
        REQUIRE(r.next(row, err));
        INFO("row " << r.row_index() << ": " << err);
        CHECK(err.empty() == (col == narrow.size()));
        CHECK(r.error_column() == col);
        CHECK(r.error_value() == value);
        if (col < narrow.size()) CHECK(row[col].is_null() == (col != 4));  // the list keeps its shape
    }
}

TEST_CASE("parquet: a file column not in the table is unknown_column", "[parquet]") {
    std::vector<column_spec> cols = {{"ks", "t", "k", T("int")}, {"ks", "t", "x", T("text")}};
    bulk::parquet_writer w(cols);
    std::string file;
    REQUIRE(w.finish(file).ok());
    bulk::parquet_reader r;
    std::vector<column_spec> other = {{"ks", "t", "k", T("int")}};
    CHECK(r.open(source_of(file), file.size(), other).code == bulk::errc::unknown_column);
    bulk::parquet_reader r2;
    std::vector<column_spec> wrong = {{"ks", "t", "k", T("list<int>")}, {"ks", "t", "x", T("text")}};
    CHECK(r2.open(source_of(file), file.size(), wrong).code == bulk::errc::bad_parquet);
}

TEST_CASE("parquet: corrupted and truncated files give an error, never a crash", "[parquet]") {
    auto cols = all_columns();
    bulk::parquet_write_options o;
    o.row_group_rows = 16;
    o.compression = bulk::parquet_compression::snappy;
    bulk::parquet_writer w(cols, o);
    std::string good;
    for (int i = 0; i < 40; ++i) REQUIRE(w.add_row(make_row(cols, i), good).ok());
    REQUIRE(w.finish(good).ok());
    std::mt19937 rng(42);
    int errors = 0;
    for (int iter = 0; iter < 400; ++iter) {
        std::string f = good;
        if (iter % 4 == 0) {
            f.resize(rng() % f.size());
        } else {
            const int flips = 1 + static_cast<int>(rng() % 8);
            for (int k = 0; k < flips; ++k) f[rng() % f.size()] = static_cast<char>(rng());
        }
        bulk::parquet_reader r;
        auto st = r.open(source_of(f), f.size(), cols);
        if (!st.ok()) {
            ++errors;
            continue;
        }
        std::vector<cql_value> row;
        std::string err;
        int guard = 0;
        while (r.next(row, err) && ++guard < 100000) {
        }
        if (!r.error().ok()) {
            ++errors;
            CHECK(r.error().code == bulk::errc::bad_parquet);
        }
    }
    CHECK(errors > 100);  // most mutations are detected (the rest changed only values)
}

namespace {
std::vector<protocol::value_view> cells_of(const std::vector<column_spec>& cols, const std::vector<cql_value>& row,
                                           std::vector<protocol::byte_buffer>& store) {
    store.assign(row.size(), {});
    std::vector<protocol::value_view> cells(row.size());
    for (std::size_t i = 0; i < row.size(); ++i) {
        if (row[i].is_null()) continue;
        REQUIRE(protocol::encode_value(cols[i].type, row[i], store[i]) == protocol::errc::ok);
        cells[i] = protocol::value_view::of(protocol::bytes_view(store[i].data(), store[i].size()));
    }
    return cells;
}
}  // namespace

TEST_CASE("parquet: rows given as protocol cells write the same file as rows of values", "[parquet]") {
    auto cols = all_columns();
    for (bool iceberg : {false, true}) {
        bulk::parquet_write_options o;
        o.row_group_rows = 37;
        o.iceberg = iceberg;
        bulk::parquet_writer by_values(cols, o), by_cells(cols, o);
        std::string a, b;
        std::vector<protocol::byte_buffer> store;
        for (int i = 0; i < 120; ++i) {
            auto row = make_row(cols, i);
            if (i % 13 == 4) row[7] = cql_value::string("");  // text "" is a value, not null
            REQUIRE(by_values.add_row(row, a).ok());
            REQUIRE(by_cells.add_row(cells_of(cols, row, store), b).ok());
        }
        REQUIRE(by_values.finish(a).ok());
        REQUIRE(by_cells.finish(b).ok());
        CHECK(a == b);
    }
}

TEST_CASE("parquet: an undecodable cell rejects its row with decode_row's message", "[parquet]") {
    std::vector<column_spec> cols = {{"ks", "t", "k", T("int")}, {"ks", "t", "t", T("text")},
                                     {"ks", "t", "l", T("list<int>")}};
    bulk::parquet_writer w(cols);
    std::string file;
    const std::uint8_t good_int[] = {0, 0, 0, 7}, short_int[] = {0, 7}, bad_utf8[] = {0xC3, 0x28};
    const std::uint8_t text[] = {'o', 'k'}, list1[] = {0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 9};
    auto of = [](const auto& a) { return protocol::value_view::of(protocol::bytes_view(a, sizeof a)); };
    struct bad_row {
        std::vector<protocol::value_view> cells;
        std::size_t column;
    };
    const std::vector<bad_row> bad = {{{of(short_int), of(text), of(list1)}, 0},
                                      {{of(good_int), of(bad_utf8), of(list1)}, 1},
                                      {{of(good_int), of(text), of(short_int)}, 2}};
    for (const auto& r : bad) {
        std::vector<cql_value> values;
        const auto want = bulk::decode_row(cols, r.cells, values);
        REQUIRE_FALSE(want.ok());
        const auto got = w.add_row(r.cells, file);
        CHECK(got.code == bulk::errc::bad_value);
        CHECK(got.message == want.message);
    }
    // Zero-length int: the empty value, written as null; a good row after the bad ones.
    const std::vector<protocol::value_view> ok = {of(good_int), of(text), of(list1)};
    const std::vector<protocol::value_view> empty = {protocol::value_view::of({}), protocol::value_view::null(),
                                                     protocol::value_view::unset()};
    REQUIRE(w.add_row(ok, file).ok());
    REQUIRE(w.add_row(empty, file).ok());
    REQUIRE(w.finish(file).ok());
    bulk::parquet_reader r;
    REQUIRE(r.open(source_of(file), file.size(), cols).ok());
    CHECK(r.num_rows() == 2);
    std::vector<cql_value> row;
    std::string err;
    REQUIRE(r.next(row, err));
    CHECK(row[0] == cql_value::integer(7));
    CHECK(row[1] == cql_value::string("ok"));
    CHECK(row[2] == cql_value::list({cql_value::integer(9)}));
    REQUIRE(r.next(row, err));
    CHECK(row[0].is_null());
    CHECK(row[1].is_null());
    CHECK(row[2].is_null());
    CHECK_FALSE(r.next(row, err));
}

namespace {

// Files whose bytes are pinned below: every type (nested, nulls), and scalar
// columns that take each of the writer's paths: a dictionary kept or given up
// (over 1024 distinct), all nulls, nulls only late in a chunk, fewer than 8
// entries in a chunk, -0.0/+0.0/NaN, byte arrays over 64 bytes (no min/max).
std::string pinned_file(int which) {
    bulk::parquet_write_options o;
    o.compression = bulk::parquet_compression::none;  // the codec's own bytes are not ours to pin
    if (which < 2) {
        auto cols = all_columns();
        o.row_group_rows = 37;
        o.iceberg = which == 1;
        bulk::parquet_writer w(cols, o);
        std::string file;
        for (int i = 0; i < 200; ++i) REQUIRE(w.add_row(make_row(cols, i), file).ok());
        REQUIRE(w.finish(file).ok());
        return file;
    }
    std::vector<column_spec> cols = {{"ks", "t", "k", T("int")},      {"ks", "t", "c", T("int")},
                                     {"ks", "t", "v", T("text")},     {"ks", "t", "lt", T("text")},
                                     {"ks", "t", "n", T("bigint")},   {"ks", "t", "f", T("double")},
                                     {"ks", "t", "g", T("float")},    {"ks", "t", "z", T("int")},
                                     {"ks", "t", "u", T("uuid")},     {"ks", "t", "ub", T("uuid")},
                                     {"ks", "t", "bl", T("blob")},    {"ks", "t", "b", T("boolean")}};
    o.row_group_rows = which == 2 ? 1000 : which == 3 ? 5 : 100000;
    const int rows = which == 3 ? 23 : 3000;
    bulk::parquet_writer w(cols, o);
    std::string file;
    std::mt19937 rng(static_cast<unsigned>(which));
    for (int i = 0; i < rows; ++i) {
        std::vector<cql_value> row;
        row.push_back(cql_value::integer(static_cast<std::int64_t>(rng() % 100000) - 50000));
        row.push_back(cql_value::integer(i % 10 - 3));
        row.push_back(cql_value::string("value-" + std::to_string(i % (which == 4 ? 700 : 100000))));
        row.push_back(i % 100 == 7 ? cql_value::string(std::string(65 + i % 3, 'q'))
                                   : cql_value::string(std::string(1 + i % 40, static_cast<char>('a' + i % 26))));
        row.push_back(i < 500 || i % 3 ? cql_value::integer(static_cast<std::int64_t>(i) * 7 - 10000) : cql_value::null());
        const double fs[] = {-0.0, 0.0, std::nan(""), 1.5, -2.25, 1e300};
        row.push_back(cql_value::float64(i < 6 ? fs[i] : fs[rng() % 6] * i));
        row.push_back(i % 11 == 5 ? cql_value::null() : cql_value::float32(static_cast<float>(i % 17) - 8.5f));
        row.push_back(cql_value::null());
        protocol::uuid_bytes u{};
        u[15] = static_cast<std::uint8_t>(i % 5);
        u[0] = static_cast<std::uint8_t>(i % 3 * 100);
        row.push_back(cql_value::uuid(u));
        for (auto& x : u) x = static_cast<std::uint8_t>(rng());
        row.push_back(cql_value::uuid(u));
        row.push_back(cql_value::blob(protocol::byte_buffer(static_cast<std::size_t>(i % 4), static_cast<std::uint8_t>(0x80 + i % 3))));
        row.push_back(i % 9 == 0 ? cql_value::null() : cql_value::boolean(i % 4 == 1));
        REQUIRE(w.add_row(row, file).ok());
    }
    REQUIRE(w.finish(file).ok());
    return file;
}

std::string hex64(std::uint64_t x) {
    static const char* d = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, x >>= 4) s[static_cast<std::size_t>(i)] = d[x & 15];
    return s;
}

}  // namespace

TEST_CASE("parquet: the writer's bytes are pinned (dictionary, levels and statistics included)", "[parquet]") {
    // FNV-1a of each file; a change here is a change of the files we write.
    // (The same before the dictionary and statistics moved to flush time.)
    const char* want[] = {"c3b5c4e5926d868d", "cb253309f15a1b5e", "973e1d45dcb83172", "e162a5150f844b90",
                          "85a9ceab4b2cac35"};
    for (int which = 0; which < 5; ++which) {
        const auto file = pinned_file(which);
        std::uint64_t h = 0xcbf29ce484222325ull;
        for (unsigned char ch : file) h = (h ^ ch) * 0x100000001b3ull;
        INFO("file " << which << " of " << file.size() << " bytes");
        CHECK(hex64(h) == want[which]);
    }
}

TEST_CASE("parquet: rows of scalar cells (the unload's fast path) write what decoded values write, bad cells rejected alike", "[parquet]") {
    // Every column a scalar wire_scalar() takes: add_row(cells) goes column by column
    // without marks and undoes the row at a cell it does not take (an empty cell, a
    // wrong size, bad UTF-8, a timestamp past microseconds), then redoes it the general way.
    std::vector<column_spec> cols = {{"ks", "t", "b", T("boolean")}, {"ks", "t", "ti", T("tinyint")},
                                     {"ks", "t", "si", T("smallint")}, {"ks", "t", "i", T("int")},
                                     {"ks", "t", "f", T("float")},     {"ks", "t", "dt", T("date")},
                                     {"ks", "t", "bi", T("bigint")},   {"ks", "t", "d", T("double")},
                                     {"ks", "t", "ts", T("timestamp")}, {"ks", "t", "t", T("text")},
                                     {"ks", "t", "a", T("ascii")},     {"ks", "t", "bl", T("blob")},
                                     {"ks", "t", "u", T("uuid")}};
    const std::size_t sizes[] = {1, 1, 2, 4, 4, 4, 8, 8, 8, 0, 0, 0, 16};
    for (bool iceberg : {false, true}) {
        CAPTURE(iceberg);
        std::mt19937_64 rng(iceberg ? 11 : 12);
        bulk::parquet_write_options o;
        o.iceberg = iceberg;
        o.row_group_rows = 300;
        bulk::parquet_writer by_cells(cols, o), by_values(cols, o);
        std::string a, b;
        std::vector<protocol::byte_buffer> bufs(cols.size());
        std::vector<protocol::value_view> cells(cols.size());
        std::vector<cql_value> values;
        int rejected = 0, taken = 0;
        for (int r = 0; r < 2000; ++r) {
            for (std::size_t i = 0; i < cols.size(); ++i) {
                const auto roll = rng() % 64;
                if (roll == 0) {
                    cells[i] = protocol::value_view::null();
                    continue;
                }
                auto& x = bufs[i];
                x.clear();
                std::size_t n = sizes[i] ? sizes[i] : rng() % 12;
                if (roll == 1) n = 0;                                   // empty: null, or "" for text/blob
                else if (roll == 2 && sizes[i]) n = sizes[i] + 1;     // wrong size: undecodable
                for (std::size_t k = 0; k < n; ++k)
                    x.push_back(static_cast<std::uint8_t>(sizes[i] ? rng() : 'a' + rng() % 26));
                if (roll == 3 && i == 9 && n) x[0] = 0xff;            // text: not UTF-8
                if (roll == 3 && i == 10 && n) x[0] = 0x80;           // ascii: not ASCII
                if (i == 8 && n == 8 && roll % 2) x[0] = x[1] = 0;  // timestamps in range, and not
                cells[i] = protocol::value_view::of(protocol::bytes_view(x.data(), x.size()));
            }
            const auto sc = by_cells.add_row(cells, a);
            auto dec = bulk::decode_row(cols, cells, values);
            bulk::status sv = dec;
            if (dec.ok()) sv = by_values.add_row(values, b);
            CHECK(sc.ok() == sv.ok());
            if (!sc.ok()) {
                CHECK(sc.code == bulk::errc::bad_value);
                ++rejected;
            } else {
                ++taken;
            }
        }
        REQUIRE(by_cells.finish(a).ok());
        REQUIRE(by_values.finish(b).ok());
        CHECK(a == b);
        CHECK(rejected > 50);
        CHECK(taken > 500);
    }
}
