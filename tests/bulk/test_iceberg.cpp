// Avro encoding (zig-zag varints, container files) and Iceberg table commits
// on a temporary directory: field ids kept by name across schema changes,
// append/overwrite manifest lists, concurrent commits that must both land.
#include "cqlpp/bulk/detail/avro.hpp"
#include "cqlpp/bulk/iceberg.hpp"
#include "cqlpp/bulk/parquet.hpp"

#include <catch2/catch.hpp>

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

using namespace cqlpp;
namespace fs = std::filesystem;
using bulk::detail::json_value;

namespace {

std::string enc(std::int64_t v) {
    std::string s;
    bulk::detail::avro_long(s, v);
    return s;
}

std::vector<protocol::column_spec> cols(std::vector<std::pair<std::string, std::string>> v) {
    std::vector<protocol::column_spec> out;
    for (auto& [n, t] : v) {
        protocol::column_spec c;
        c.name = n;
        c.type = *protocol::parse_type_name(t);
        out.push_back(std::move(c));
    }
    return out;
}

struct temp_dir {
    fs::path p;
    temp_dir() {
        std::random_device rd;
        p = fs::temp_directory_path() / ("cqlpp_iceberg_" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(p);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(p, ec);
    }
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_CASE("avro: longs are zig-zag varints", "[avro]") {
    CHECK(enc(0) == std::string("\x00", 1));
    CHECK(enc(-1) == "\x01");
    CHECK(enc(1) == "\x02");
    CHECK(enc(-64) == "\x7f");
    CHECK(enc(64) == "\x80\x01");
    CHECK(enc(INT64_MAX) == "\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01");
    CHECK(enc(INT64_MIN) == "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
    std::string s;
    bulk::detail::avro_bytes(s, "abc");
    CHECK(s == "\x06" "abc");
}

TEST_CASE("avro: a container file round trips through our reader", "[avro]") {
    const std::string schema =
        R"({"type":"record","name":"r","fields":[{"name":"a","type":"long"},{"name":"s","type":["null","string"]},)"
        R"({"name":"e","type":{"type":"record","name":"empty","fields":[]}},)"
        R"({"name":"m","type":{"type":"map","values":"int"}},{"name":"f","type":{"type":"fixed","name":"f2","size":2}},)"
        R"({"name":"again","type":"f2"},{"name":"l","type":{"type":"array","items":"boolean"}}]})";
    std::string recs;
    using namespace bulk::detail;
    for (std::int64_t i : {INT64_MIN, std::int64_t{-3}, std::int64_t{7}}) {
        avro_long(recs, i);
        if (i == 7) {
            avro_branch(recs, 0);
        } else {
            avro_branch(recs, 1);
            avro_bytes(recs, "x" + std::to_string(i));
        }
        avro_long(recs, 1);
        avro_bytes(recs, "k");
        avro_long(recs, -5);
        avro_long(recs, 0);
        recs += "ab";
        recs += "cd";
        avro_long(recs, -2);  // a block with a byte size
        avro_long(recs, 2);
        avro_bool(recs, true);
        avro_bool(recs, false);
        avro_long(recs, 0);
    }
    auto file = avro_container(schema, {{"format-version", "2"}}, 3, recs);
    CHECK(file.substr(0, 4) == std::string("Obj\x01", 4));
    avro_file f;
    std::string err;
    REQUIRE(avro_read(file, f, err));
    REQUIRE(f.records.items.size() == 3);
    REQUIRE(f.meta("format-version"));
    CHECK(*f.meta("format-version") == "2");
    CHECK(*f.meta("avro.codec") == "null");
    const auto& r0 = f.records.items[0];
    CHECK(r0.find("a")->text == "-9223372036854775808");
    CHECK(r0.find("s")->text == "x-9223372036854775808");
    CHECK(f.records.items[2].find("s")->type == json_value::kind::null);
    CHECK(r0.find("m")->find("k")->text == "-5");
    CHECK(r0.find("f")->text == "ab");
    CHECK(r0.find("again")->text == "cd");
    REQUIRE(r0.find("l")->items.size() == 2);
    CHECK(r0.find("l")->items[0].boolean);

    // Any byte changed: decoded or an error, never a crash.
    std::mt19937 rng(7);
    for (int k = 0; k < 2000; ++k) {
        auto bad = file;
        bad[rng() % bad.size()] = static_cast<char>(rng());
        avro_file g;
        std::string e;
        (void)avro_read(bad, g, e);
    }
    // Truncated anywhere: an error, never a crash.
    for (std::size_t n = 0; n < file.size(); ++n) {
        avro_file g;
        std::string e;
        if (avro_read(std::string_view(file).substr(0, n), g, e)) CHECK(g.records.items.size() < 3);
    }
}

TEST_CASE("avro: deflate blocks are read", "[avro]") {
    using namespace bulk::detail;
    std::string recs;
    for (int i = 0; i < 100; ++i) avro_long(recs, i * 1000);
    // Deflate the block (raw, as Avro's deflate codec) and patch the codec name.
    z_stream z{};
    REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string comp(deflateBound(&z, recs.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(recs.data());
    z.avail_in = static_cast<uInt>(recs.size());
    z.next_out = reinterpret_cast<Bytef*>(comp.data());
    z.avail_out = static_cast<uInt>(comp.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    comp.resize(comp.size() - z.avail_out);
    deflateEnd(&z);
    auto file = avro_container(R"("long")", {{"avro.codec", "deflate"}}, 100, comp);
    // Our writer writes avro.codec=null first; the reader takes the first key, so drop that entry.
    auto pos = file.find("avro.codec");
    REQUIRE(pos != std::string::npos);
    file.erase(pos - 1, 1 + 10 + 1 + 4);  // key length, key, value length, "null"
    file[4] = static_cast<char>(2 * 2);   // metadata entries: 3 -> 2
    avro_file f;
    std::string err;
    REQUIRE(avro_read(file, f, err));
    REQUIRE(f.records.items.size() == 100);
    CHECK(f.records.items[99].text == "99000");
}

TEST_CASE("iceberg: commits, field ids by name, append and overwrite", "[iceberg]") {
    temp_dir d;
    const auto loc = bulk::iceberg_table_location(d.p, "ns.sub", "t");
    CHECK(loc == d.p / "ns" / "sub" / "t");
    auto c1 = cols({{"k", "bigint"}, {"m", "map<text, frozen<list<int>>>"}, {"du", "duration"}, {"ts", "timestamp"}});
    bulk::iceberg_write_plan p1;
    REQUIRE(bulk::iceberg_plan_write(loc, c1, p1).ok());
    CHECK(p1.base_version == 0);
    CHECK(p1.schema_id == 0);
    // Top-level columns 1..4, then nested ids in pre-order: m key 5, value 6, element 7; du 8, 9, 10.
    CHECK(p1.field_ids == std::vector<std::int32_t>{1, 2, 5, 6, 7, 3, 8, 9, 10, 4});
    CHECK(p1.last_column_id == 10);
    fs::create_directories(loc / "data");
    std::ofstream(loc / "data" / "a.parquet") << "x";
    bulk::iceberg_commit_result r1;
    REQUIRE(bulk::iceberg_commit(p1, {{loc / "data" / "a.parquet", 5, 1}}, bulk::iceberg_mode::append, r1).ok());
    CHECK(r1.version == 1);
    CHECK(r1.sequence_number == 1);
    CHECK(slurp(loc / "metadata" / "version-hint.text") == "1");

    // A column added (and one dropped): old ids kept, the new one gets 11.
    auto c2 = cols({{"k", "bigint"}, {"extra", "set<int>"}, {"ts", "timestamp"}, {"m", "map<text, frozen<list<int>>>"}});
    bulk::iceberg_write_plan p2;
    REQUIRE(bulk::iceberg_plan_write(loc, c2, p2).ok());
    CHECK(p2.base_version == 1);
    CHECK(p2.new_schema);
    CHECK(p2.schema_id == 1);
    CHECK(p2.field_ids == std::vector<std::int32_t>{1, 11, 12, 4, 2, 5, 6, 7});
    // A column whose type changed is a new column.
    auto c3 = cols({{"k", "int"}});
    bulk::iceberg_write_plan p3;
    REQUIRE(bulk::iceberg_plan_write(loc, c3, p3).ok());
    CHECK(p3.field_ids == std::vector<std::int32_t>{11});

    // Writers that planned from the same version: appends without a schema change all land.
    bulk::iceberg_write_plan same;
    REQUIRE(bulk::iceberg_plan_write(loc, c1, same).ok());
    CHECK_FALSE(same.new_schema);
    bulk::iceberg_commit_result r2, r2b;
    REQUIRE(bulk::iceberg_commit(same, {{loc / "data" / "b.parquet", 7, 1}}, bulk::iceberg_mode::append, r2b).ok());
    REQUIRE(bulk::iceberg_commit(same, {{loc / "data" / "c.parquet", 11, 1}}, bulk::iceberg_mode::append, r2).ok());
    CHECK(r2.version == 3);
    CHECK(r2.total_rows == 5 + 7 + 11);
    CHECK(r2.total_files == 3);
    // Two plans adding different schemas from version 1: the second to commit is a conflict.
    bulk::iceberg_commit_result rc;
    REQUIRE(bulk::iceberg_commit(p3, {}, bulk::iceberg_mode::append, rc).ok());
    auto st = bulk::iceberg_commit(p2, {}, bulk::iceberg_mode::append, rc);
    CHECK(st.code == bulk::make_error_code(bulk::errc::commit_conflict));
    // Planned again, it lands (as an overwrite: only its file is in the new snapshot).
    REQUIRE(bulk::iceberg_plan_write(loc, c2, p2).ok());
    CHECK(p2.schema_id == 2);
    REQUIRE(bulk::iceberg_commit(p2, {{loc / "data" / "d.parquet", 2, 1}}, bulk::iceberg_mode::overwrite, rc).ok());
    CHECK(rc.total_rows == 2);

    bulk::iceberg_table_info info;
    REQUIRE(bulk::iceberg_read_table(loc, info).ok());
    CHECK(info.version == 5);
    CHECK(info.format_version == 2);
    REQUIRE(info.snapshots.size() == 5);
    CHECK(info.snapshots[4].operation == "overwrite");
    CHECK(info.current_schema_id == 2);
    CHECK(info.schema_count == 3);
    for (std::size_t i = 1; i < info.snapshots.size(); ++i) {
        CHECK(info.snapshots[i].timestamp_ms > info.snapshots[i - 1].timestamp_ms);
        CHECK(info.snapshots[i].parent == info.snapshots[i - 1].id);
        CHECK(info.snapshots[i].sequence_number == static_cast<std::int64_t>(i + 1));
    }
    std::vector<bulk::iceberg_data_file> files;
    REQUIRE(bulk::iceberg_snapshot_files(loc, info, info.snapshots[2].id, files).ok());
    REQUIRE(files.size() == 3);
    CHECK(files[0].path.filename() == "c.parquet");  // the new manifest first, then the carried ones
    REQUIRE(bulk::iceberg_snapshot_files(loc, info, *info.current_snapshot, files).ok());
    REQUIRE(files.size() == 1);
    CHECK(files[0].path.filename() == "d.parquet");
    std::int64_t sid = 0;
    REQUIRE(bulk::iceberg_select_snapshot(info, std::nullopt, info.snapshots[1].timestamp_ms, sid).ok());
    CHECK(sid == info.snapshots[1].id);
    CHECK_FALSE(bulk::iceberg_select_snapshot(info, std::nullopt, info.snapshots[0].timestamp_ms - 1, sid).ok());
    // The metadata log names every earlier version; the hint the newest.
    auto md = slurp(loc / "metadata" / "v5.metadata.json");
    CHECK(md.find("v4.metadata.json") != std::string::npos);
    CHECK(slurp(loc / "metadata" / "version-hint.text") == "5");
    // A hint that lags (a writer died before updating it) is looked past.
    std::ofstream(loc / "metadata" / "version-hint.text", std::ios::trunc) << "2";
    REQUIRE(bulk::iceberg_read_table(loc, info).ok());
    CHECK(info.version == 5);
}

TEST_CASE("iceberg: concurrent appends from threads all land, none lost", "[iceberg]") {
    temp_dir d;
    const auto loc = d.p / "t";
    auto c = cols({{"k", "int"}});
    bulk::iceberg_write_plan p;
    REQUIRE(bulk::iceberg_plan_write(loc, c, p).ok());
    bulk::iceberg_commit_result first;
    REQUIRE(bulk::iceberg_commit(p, {{loc / "f0", 1, 1}}, bulk::iceberg_mode::append, first).ok());
    REQUIRE(bulk::iceberg_plan_write(loc, c, p).ok());
    constexpr int writers = 8;
    std::vector<std::thread> ts;
    std::vector<bulk::status> sts(writers);
    std::vector<bulk::iceberg_commit_result> rs(writers);
    for (int i = 0; i < writers; ++i)
        ts.emplace_back([&, i] {
            sts[i] = bulk::iceberg_commit(p, {{loc / ("f" + std::to_string(i + 1)), 1u << i, 1}},
                                          bulk::iceberg_mode::append, rs[i]);
        });
    for (auto& t : ts) t.join();
    for (const auto& st : sts) CHECK(st.message == "");
    int attempts = 0;
    for (const auto& r : rs) attempts += r.attempts;
    INFO("commit attempts " << attempts);  // > writers when commits raced (the link() path)
    CHECK(attempts >= writers);
    bulk::iceberg_table_info info;
    REQUIRE(bulk::iceberg_read_table(loc, info).ok());
    CHECK(info.version == writers + 1);
    CHECK(info.snapshots.size() == writers + 1);
    std::vector<bulk::iceberg_data_file> files;
    REQUIRE(bulk::iceberg_snapshot_files(loc, info, *info.current_snapshot, files).ok());
    CHECK(files.size() == writers + 1);
    std::uint64_t rows = 0;
    for (const auto& f : files) rows += f.rows;
    CHECK(rows == 1 + (1u << writers) - 1);
}

TEST_CASE("iceberg: times for --as-of", "[iceberg]") {
    std::int64_t ms = 0;
    REQUIRE(bulk::parse_iceberg_time("1733390000123", ms));
    CHECK(ms == 1733390000123);
    REQUIRE(bulk::parse_iceberg_time("1970-01-02T00:00:01.5Z", ms));
    CHECK(ms == 86401500);
    REQUIRE(bulk::parse_iceberg_time("2026-12-05T09:00:00+01:00", ms));
    CHECK(ms == 1796457600000);
    REQUIRE(bulk::parse_iceberg_time("2000-03-01", ms));
    CHECK(ms == 951868800000);
    CHECK_FALSE(bulk::parse_iceberg_time("2026-13-01", ms));
    CHECK_FALSE(bulk::parse_iceberg_time("yesterday", ms));
}

TEST_CASE("iceberg: data files hold timestamps in micros, times truncated to micros", "[iceberg]") {
    auto c = cols({{"ts", "timestamp"}, {"tm", "time"}, {"vi", "varint"}});
    bulk::parquet_write_options o;
    o.iceberg = true;
    o.field_ids = {1, 2, 3};
    bulk::parquet_writer w(c, o);
    std::string file;
    protocol::cql_varint big;
    REQUIRE(protocol::cql_varint::from_string("-123456789012345678901234567890123456789012", big) == protocol::errc{});
    std::vector<protocol::cql_value> row = {protocol::cql_value::integer(-1234567),
                                            protocol::cql_value::integer(45296123456789), protocol::cql_value::varint(big)};
    REQUIRE(w.add_row(row, file).ok());
    // A timestamp whose microseconds overflow int64 is a bad value, not a wrapped one.
    std::vector<protocol::cql_value> bad = {protocol::cql_value::integer(INT64_MAX / 10), protocol::cql_value::null(),
                                            protocol::cql_value::null()};
    CHECK(w.add_row(bad, file).code == bulk::make_error_code(bulk::errc::bad_value));
    REQUIRE(w.finish(file).ok());
    bulk::parquet_reader r;
    REQUIRE(r.open([&](std::uint64_t off, std::size_t len, std::string& out) {
        out = file.substr(off, len);
        return bulk::status{};
    }, file.size(), c).ok());
    std::vector<protocol::cql_value> got;
    std::string row_err;
    REQUIRE(r.next(got, row_err));
    CHECK(row_err.empty());
    CHECK(got[0].as_int() == -1234567);
    CHECK(got[1].as_int() == 45296123456000);
    CHECK(got[2].as_varint().to_string() == "-123456789012345678901234567890123456789012");
    CHECK_FALSE(r.next(got, row_err));
}
