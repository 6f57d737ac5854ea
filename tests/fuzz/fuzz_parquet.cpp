// libFuzzer target: the Parquet reader (bulk/src/parquet_reader.cpp) on
// arbitrary bytes: footer length and magic, Thrift compact metadata (schema,
// row groups, column chunks), page headers, levels, PLAIN / dictionary / RLE /
// delta encodings, snappy / zstd / gzip pages, and the assembly of rows.
//
// Input layout:
//   byte 0 even: the rest is a whole file;
//   byte 0 odd:  bytes 1..3 choose a file our writer makes of the all-types
//                table below (compression, rows, rows per row group), and the
//                rest is edits to it, each (offset: 2 bytes little-endian,
//                taken modulo the file size; a byte XORed in).
// Either file is opened against the all-types table and read to the end.
// The reader must end with rows or one error status: never crash, throw or
// allocate without bound (libFuzzer's -malloc_limit_mb catches a huge
// allocation, -rss_limit_mb a growing one).
//
// `fuzz_parquet -cqlpp_write_seeds=DIR` writes files made by our writer to
// DIR as seeds (tests/fuzz/make_seeds.py) and exits.
// make_seeds.py adds DuckDB's V2 files from tests/fuzz/seeds/parquet (delta,
// byte-stream-split and dictionary encodings, data pages v2).
#include "cqlpp/bulk/codec.hpp"
#include "cqlpp/bulk/parquet.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

using namespace cqlpp;
using protocol::cql_value;

namespace {

const std::vector<bulk::column_spec>& table() {
    static const std::vector<bulk::column_spec> cols = [] {
        const std::pair<const char*, const char*> defs[] = {
            {"k", "int"}, {"ti", "tinyint"}, {"si", "smallint"}, {"bi", "bigint"}, {"f", "float"}, {"d", "double"},
            {"b", "boolean"}, {"t", "text"}, {"a", "ascii"}, {"bl", "blob"}, {"u", "uuid"}, {"tu", "timeuuid"},
            {"ts", "timestamp"}, {"dt", "date"}, {"tm", "time"}, {"dec", "decimal"}, {"vi", "varint"},
            {"du", "duration"}, {"ip", "inet"}, {"l", "list<int>"}, {"s", "set<text>"}, {"m", "map<text, bigint>"},
            {"ll", "list<frozen<list<int>>>"}, {"tup", "tuple<int, text>"}, {"v", "vector<float, 3>"}};
        std::vector<bulk::column_spec> out;
        for (const auto& [name, type] : defs) out.push_back({"ks", "t", name, *protocol::parse_type_name(type)});
        return out;
    }();
    return cols;
}

// Row i of the all-types table (every 5th row null but for k; values vary so
// that some columns get a dictionary and some do not).
std::vector<cql_value> make_row(int i) {
    const std::string n = std::to_string(i);
    const std::string texts[] = {n,
                                 std::to_string(i % 2 ? -128 : 127),
                                 std::to_string(i - 300),
                                 i % 2 ? "-9223372036854775808" : n + "000000000000",
                                 i % 7 == 1 ? "NaN" : n + ".25",
                                 i % 3 == 2 ? "-Infinity" : "1e" + std::to_string(i % 300),
                                 i % 2 ? "true" : "false",
                                 "t\xc3\xa9xt " + std::to_string(i % 4),
                                 std::string(static_cast<std::size_t>(i % 3), 'x'),
                                 "0x" + std::string(static_cast<std::size_t>(2 * (i % 5)), 'a'),
                                 "123e4567-e89b-12d3-a456-4266141" + std::to_string(10000 + i % 90000),
                                 "d2177dd0-eaa2-11de-a572-001b779c76e3",
                                 std::to_string(1600000000000LL + i),
                                 i % 2 ? "-5877641-06-23" : "2020-02-29",
                                 "23:59:59.99999999" + std::to_string(i % 10),
                                 i % 2 ? "1.10" : "-6.4206E-16",
                                 i % 2 ? "-99999999999999999999999999999999999999" : n,
                                 i % 2 ? "-1y2mo3d4h5m6s7ms8us9ns" : "0s",
                                 i % 2 ? "::1" : "10.0.0." + std::to_string(i % 256),
                                 i % 4 == 0 ? "[]" : "[1, " + n + ", -3]",
                                 "[\"a\", \"b" + std::to_string(i % 3) + "\"]",
                                 i % 4 == 1 ? "{}" : "{\"x\": 1, \"y\": " + n + "}",
                                 i % 3 ? "[[1, 2], [], [3]]" : "[]",
                                 i % 2 ? "[1, null]" : "[null, \"z\"]",
                                 "[1.5, -2, " + n + "]"};
    std::vector<cql_value> row;
    const auto& cols = table();
    for (std::size_t c = 0; c < cols.size(); ++c) {
        cql_value v;
        if (c > 0 && i % 5 == 3) {
            row.push_back(cql_value::null());
            continue;
        }
        if (!bulk::parse_field_text(cols[c].type, texts[c], v).ok()) std::abort();  // the table above is wrong
        row.push_back(std::move(v));
    }
    return row;
}

std::string write_file(int compression, int rows, int group_rows) {
    bulk::parquet_write_options o;
    o.compression = compression == 0   ? bulk::parquet_compression::none
                    : compression == 1 ? bulk::parquet_compression::snappy
                                       : bulk::parquet_compression::zstd;
    o.row_group_rows = static_cast<std::size_t>(group_rows);
    bulk::parquet_writer w(table(), o);
    std::string file;
    for (int i = 0; i < rows; ++i)
        if (!w.add_row(make_row(i), file).ok()) std::abort();
    if (!w.finish(file).ok()) std::abort();
    return file;
}

void read_all(const std::string& file) {
    bulk::parquet_read_options o;
    o.max_row_group_bytes = 64u << 20;  // well under libFuzzer's 2 GB RSS limit
    bulk::parquet_reader r(o);
    auto src = [&file](std::uint64_t off, std::size_t len, std::string& out) -> bulk::status {
        if (off > file.size() || len > file.size() - off) return {bulk::errc::io_error, "read past the end"};
        out.assign(file, static_cast<std::size_t>(off), len);
        return {};
    };
    if (!r.open(src, file.size(), table()).ok()) return;
    std::vector<cql_value> row;
    std::string err;
    while (r.next(row, err)) {
    }
    if (!r.error().ok() && r.error().code != bulk::errc::bad_parquet) std::abort();  // only file errors
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
    const std::string_view flag = "-cqlpp_write_seeds=";
    for (int i = 1; i < *argc; ++i) {
        const std::string_view a = (*argv)[i];
        if (!a.starts_with(flag)) continue;
        const std::string dir(a.substr(flag.size()));
        int n = 0;
        for (int comp = 0; comp < 3; ++comp)
            for (const auto& [rows, group] : {std::pair{1, 1}, std::pair{12, 5}, std::pair{40, 64}}) {
                const std::string file = '\0' + write_file(comp, rows, group);
                const std::string path = dir + "/writer_" + std::to_string(n++);
                std::FILE* f = std::fopen(path.c_str(), "wb");
                if (!f || std::fwrite(file.data(), 1, file.size(), f) != file.size() || std::fclose(f) != 0) {
                    std::perror(path.c_str());
                    std::exit(1);
                }
            }
        std::exit(0);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    if ((data[0] & 1) == 0) {
        read_all(std::string(reinterpret_cast<const char*>(data + 1), size - 1));
        return 0;
    }
    if (size < 4) return 0;
    std::string file = write_file(data[1] % 3, data[2] % 48, 1 + data[3] % 16);
    for (std::size_t i = 4; i + 3 <= size; i += 3) {
        const std::size_t off = (data[i] | std::size_t(data[i + 1]) << 8) % file.size();
        file[off] = static_cast<char>(file[off] ^ data[i + 2]);
    }
    read_all(file);
    return 0;
}
