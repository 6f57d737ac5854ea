// Avro encoding (zig-zag varints, container files) and Iceberg table commits
// on a temporary directory: field ids kept by name across schema changes,
// append/overwrite manifest lists, concurrent commits that must both land.
#include "cqlpp/bulk/codec.hpp"
#include "cqlpp/bulk/detail/avro.hpp"
#include "cqlpp/bulk/iceberg.hpp"
#include "cqlpp/bulk/parquet.hpp"

#include <catch2/catch.hpp>

#include <zlib.h>

#include <cmath>
#include <cstring>
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
    comp.resize(std::min<std::size_t>(comp.size(), z.total_out));  // not size - avail_out: GCC 12 warned of a huge resize
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
    REQUIRE(bulk::iceberg_commit(p1, {{loc / "data" / "a.parquet", 5, 1, {}}}, bulk::iceberg_mode::append, r1).ok());
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
    REQUIRE(bulk::iceberg_commit(same, {{loc / "data" / "b.parquet", 7, 1, {}}}, bulk::iceberg_mode::append, r2b).ok());
    REQUIRE(bulk::iceberg_commit(same, {{loc / "data" / "c.parquet", 11, 1, {}}}, bulk::iceberg_mode::append, r2).ok());
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
    REQUIRE(bulk::iceberg_commit(p2, {{loc / "data" / "d.parquet", 2, 1, {}}}, bulk::iceberg_mode::overwrite, rc).ok());
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
    // Twice as many writers as a commit's 20 attempts: retrying at once, the
    // last ones gave up (7-15 of 40 here); the randomised backoff spreads them.
    constexpr int writers = 40;
    temp_dir d;
    const auto loc = d.p / "t";
    auto c = cols({{"k", "int"}});
    bulk::iceberg_write_plan p;
    REQUIRE(bulk::iceberg_plan_write(loc, c, p).ok());
    bulk::iceberg_commit_result first;
    REQUIRE(bulk::iceberg_commit(p, {{loc / "f0", 1, 1, {}}}, bulk::iceberg_mode::append, first).ok());
    REQUIRE(bulk::iceberg_plan_write(loc, c, p).ok());
    std::vector<std::thread> ts;
    std::vector<bulk::status> sts(writers);
    std::vector<bulk::iceberg_commit_result> rs(writers);
    for (int i = 0; i < writers; ++i)
        ts.emplace_back([&, i] {
            sts[i] = bulk::iceberg_commit(p, {{loc / ("f" + std::to_string(i + 1)), std::uint64_t{1} << i, 1, {}}},
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
    CHECK(info.version == static_cast<std::uint64_t>(writers) + 1);
    CHECK(info.snapshots.size() == static_cast<std::size_t>(writers) + 1);
    std::vector<bulk::iceberg_data_file> files;
    REQUIRE(bulk::iceberg_snapshot_files(loc, info, *info.current_snapshot, files).ok());
    CHECK(files.size() == static_cast<std::size_t>(writers) + 1);
    std::uint64_t rows = 0;
    for (const auto& f : files) rows += f.rows;
    CHECK(rows == (std::uint64_t{1} << writers));  // f0's 1 and each writer's own bit
}

TEST_CASE("iceberg: a job commits once, however many commits of it run at once or again", "[iceberg]") {
    temp_dir d;
    const auto loc = d.p / "t";
    auto c = cols({{"k", "int"}});
    bulk::iceberg_write_plan p;
    REQUIRE(bulk::iceberg_plan_write(loc, c, p).ok());
    bulk::iceberg_commit_result other;
    REQUIRE(bulk::iceberg_commit(p, {{loc / "f0", 1, 1, {}}}, bulk::iceberg_mode::append, other, "job-a").ok());
    REQUIRE(bulk::iceberg_plan_write(loc, c, p).ok());
    constexpr int committers = 6;
    std::vector<std::thread> ts;
    std::vector<bulk::status> sts(committers);
    std::vector<bulk::iceberg_commit_result> rs(committers);
    for (int i = 0; i < committers; ++i)
        ts.emplace_back([&, i] {
            sts[i] = bulk::iceberg_commit(p, {{loc / "f1", 10, 1, {}}, {loc / "f2", 20, 1, {}}},
                                          bulk::iceberg_mode::append, rs[i], "job-b");
        });
    for (auto& t : ts) t.join();
    int wrote = 0;
    for (int i = 0; i < committers; ++i) {
        CHECK(sts[i].message == "");
        if (!rs[i].already_committed) ++wrote;
    }
    CHECK(wrote == 1);
    for (const auto& r : rs) CHECK(r.snapshot_id == rs[0].snapshot_id);
    // And once more, later: still the same snapshot, nothing written.
    bulk::iceberg_commit_result again;
    REQUIRE(bulk::iceberg_commit(p, {{loc / "f1", 10, 1, {}}}, bulk::iceberg_mode::append, again, "job-b").ok());
    CHECK(again.already_committed);
    CHECK(again.snapshot_id == rs[0].snapshot_id);
    bulk::iceberg_table_info info;
    REQUIRE(bulk::iceberg_read_table(loc, info).ok());
    CHECK(info.snapshots.size() == 2);
    std::vector<bulk::iceberg_data_file> files;
    REQUIRE(bulk::iceberg_snapshot_files(loc, info, *info.current_snapshot, files).ok());
    std::uint64_t rows = 0;
    for (const auto& f : files) rows += f.rows;
    CHECK(rows == 31);
    // The losers' manifests are removed: one per snapshot in metadata/.
    int manifests = 0;
    for (const auto& e : fs::directory_iterator(loc / "metadata"))
        if (e.path().string().ends_with("-m0.avro")) ++manifests;
    CHECK(manifests == 2);
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

TEST_CASE("iceberg: bucket hashes are the spec's (Appendix B test values)", "[iceberg]") {
    using protocol::cql_value;
    std::int32_t h = 0;
    REQUIRE(bulk::iceberg_bucket_hash("int", cql_value::integer(34), h));
    CHECK(h == 2017239379);
    REQUIRE(bulk::iceberg_bucket_hash("long", cql_value::integer(34), h));
    CHECK(h == 2017239379);
    // 2017-11-16 = day 17486 since the epoch.
    REQUIRE(bulk::iceberg_bucket_hash("date", cql_value::date(protocol::date_epoch + 17486), h));
    CHECK(h == -653330422);
    // 22:31:08 as CQL time (nanoseconds since midnight).
    REQUIRE(bulk::iceberg_bucket_hash("time", cql_value::integer((22 * 3600 + 31 * 60 + 8) * 1'000'000'000LL), h));
    CHECK(h == -662762989);
    // 2017-11-16T22:31:08Z as a CQL timestamp (milliseconds).
    const std::int64_t ts_ms = (17486LL * 86400 + 22 * 3600 + 31 * 60 + 8) * 1000;
    REQUIRE(bulk::iceberg_bucket_hash("timestamptz", cql_value::integer(ts_ms), h));
    CHECK(h == -2047944441);
    REQUIRE(bulk::iceberg_bucket_hash("string", cql_value::string("iceberg"), h));
    CHECK(h == 1210000089);
    protocol::uuid_bytes u{0xF7, 0x9C, 0x3E, 0x09, 0x67, 0x7C, 0x4B, 0xBD, 0xA4, 0x79, 0x3F, 0x34, 0x9C, 0xB7, 0x85, 0xE7};
    REQUIRE(bulk::iceberg_bucket_hash("uuid", cql_value::uuid(u), h));
    CHECK(h == 1488055340);
    REQUIRE(bulk::iceberg_bucket_hash("binary", cql_value::blob({0, 1, 2, 3}), h));
    CHECK(h == -188683207);
    CHECK(bulk::iceberg_murmur3_32("") == 0);
    CHECK_FALSE(bulk::iceberg_bucket_hash("int", cql_value::null(), h));
}

TEST_CASE("iceberg: --partition-by plans a spec; rows get their partition tuple", "[iceberg]") {
    temp_dir d;
    const auto loc = d.p / "t";
    auto c = cols({{"k", "int"}, {"ts", "timestamp"}, {"d", "date"}, {"s", "text"}, {"f", "double"}});
    bulk::iceberg_write_plan p;
    REQUIRE(bulk::iceberg_plan_write(loc, c, p, "bucket(16, k), day(ts), month(d), year(ts), hour(ts), s").ok());
    REQUIRE(p.partition.size() == 6);
    CHECK(p.spec_id == 0);
    CHECK(p.new_spec);
    CHECK(p.partition[0].field_id == 1000);
    CHECK(p.partition[5].field_id == 1005);
    CHECK(p.last_partition_id == 1005);
    CHECK(p.spec_fields.find(R"({"name":"k_bucket","transform":"bucket[16]","source-id":1,"field-id":1000})") !=
          std::string::npos);
    CHECK(p.partition[1].name == "ts_day");
    CHECK(p.partition[5].name == "s");
    CHECK(p.partition[5].result_type == "string");

    using protocol::cql_value;
    // 2017-11-16T22:31:08Z; date 1969-12-31 (day -1).
    const std::int64_t ts_ms = (17486LL * 86400 + 22 * 3600 + 31 * 60 + 8) * 1000;
    std::vector<cql_value> row{cql_value::integer(34), cql_value::integer(ts_ms), cql_value::date(protocol::date_epoch - 1),
                               cql_value::string("x"), cql_value::float64(1)};
    std::vector<bulk::iceberg_partition_value> pv;
    bulk::iceberg_partition_of(p, row, pv);
    REQUIRE(pv.size() == 6);
    CHECK(pv[0].i == 2017239379 % 16);
    CHECK(pv[1].i == 17486);
    CHECK(pv[2].i == -1);                // December 1969
    CHECK(pv[3].i == 47);                // 2017
    CHECK(pv[4].i == 17486 * 24 + 22);   // hours
    CHECK(pv[5].s == "x");
    CHECK(bulk::iceberg_partition_text(p, pv) == "k_bucket=3/ts_day=2017-11-16/d_month=1969-12/ts_year=2017/"
                                                 "ts_hour=2017-11-16-22/s=x");
    // Negative timestamps round down (the day before the epoch).
    row[1] = cql_value::integer(-1);
    row[0] = cql_value::null();
    bulk::iceberg_partition_of(p, row, pv);
    CHECK(pv[0].null);
    CHECK(pv[1].i == -1);

    // Bad specs are one clear error each.
    for (const char* bad : {"bucket(k)", "bucket(0, k)", "day(k)", "hour(d)", "nope(k)", "bucket(4, f)", "missing",
                            "day(ts", "k, k"}) {
        bulk::iceberg_write_plan q;
        auto st = bulk::iceberg_plan_write(loc, c, q, bad);
        CHECK_FALSE(st.ok());
        CHECK(st.message.starts_with("--partition-by: "));
    }

    // Commit two files with partitions and metrics; a second plan with the same spec reuses it,
    // another spec is added with the next field ids.
    fs::create_directories(loc / "data");
    std::ofstream(loc / "data" / "a.parquet") << "x";
    bulk::iceberg_metrics_builder mb(p);
    mb.add(row);
    row[3] = cql_value::null();
    mb.add(row);
    auto m = mb.finish();
    bulk::iceberg_data_file f{loc / "data" / "a.parquet", 2, 1, {}};
    f.stats.partition = pv;
    f.stats.metrics = m;
    bulk::iceberg_commit_result r;
    REQUIRE(bulk::iceberg_commit(p, {f}, bulk::iceberg_mode::append, r).ok());
    // Metrics: k (id 1) 2 values 2 nulls, no bounds; s (id 4) 1 null, bounds "x".
    REQUIRE(m.size() == 5);
    CHECK(m[0].id == 1);
    CHECK(m[0].values == 2);
    CHECK(m[0].nulls == 2);
    CHECK_FALSE(m[0].lower);
    // ts (id 2): timestamptz bounds are 8-byte little-endian microseconds; the last row's ts is -1 ms.
    std::string lo(8, '\0');
    const std::int64_t us = -1000;
    std::memcpy(lo.data(), &us, 8);
    CHECK(m[1].lower == std::optional<std::string>(lo));
    CHECK(m[3].id == 4);
    CHECK(m[3].nulls == 1);
    CHECK(m[3].lower == std::optional<std::string>("x"));
    CHECK(m[3].upper == std::optional<std::string>("x"));
    // The sidecar list round trips.
    std::vector<bulk::iceberg_data_file> back;
    REQUIRE(bulk::iceberg_parse_files_json(bulk::iceberg_files_json({f}, loc / "data"), loc / "data", back).ok());
    REQUIRE(back.size() == 1);
    CHECK(back[0].stats.partition == f.stats.partition);
    CHECK(back[0].stats.metrics.size() == 5);
    CHECK(back[0].stats.metrics[3].upper == std::optional<std::string>("x"));
    CHECK_FALSE(bulk::iceberg_parse_files_json(R"({"files":[{"file":"../x","rows":1,"bytes":1}]})", loc, back).ok());
    CHECK_FALSE(bulk::iceberg_parse_files_json(R"({"files":[{"file":"x","rows":1,"bytes":1,"metrics":[[1]]}]})", loc, back).ok());
    CHECK_FALSE(bulk::iceberg_parse_files_json("{", loc, back).ok());

    bulk::iceberg_write_plan same;
    REQUIRE(bulk::iceberg_plan_write(loc, c, same, "bucket(16, k), day(ts), month(d), year(ts), hour(ts), s").ok());
    CHECK_FALSE(same.new_spec);
    CHECK(same.spec_id == 0);
    CHECK(same.partition[0].field_id == 1000);
    bulk::iceberg_write_plan other;
    REQUIRE(bulk::iceberg_plan_write(loc, c, other, "day(ts)").ok());
    CHECK(other.new_spec);
    CHECK(other.spec_id == 1);
    CHECK(other.partition[0].field_id == 1006);
    bulk::iceberg_write_plan none;
    REQUIRE(bulk::iceberg_plan_write(loc, c, none).ok());
    CHECK(none.new_spec);
    CHECK(none.spec_id == 1);  // spec 0 is partitioned; the unpartitioned spec is new
    // The plan survives its JSON form (worker manifests).
    bulk::iceberg_write_plan again;
    REQUIRE(bulk::iceberg_parse_plan_json(bulk::iceberg_plan_json(same), again).ok());
    CHECK(bulk::iceberg_plan_json(again) == bulk::iceberg_plan_json(same));
    CHECK_FALSE(bulk::iceberg_parse_plan_json(R"({"location":1})", again).ok());
}

TEST_CASE("iceberg: truncate[W] and the time transforms on negative values (spec examples)", "[iceberg]") {
    temp_dir d;
    auto c = cols({{"k", "int"}, {"n", "bigint"}, {"s", "text"}, {"b", "blob"}, {"ts", "timestamp"}, {"d", "date"}});
    bulk::iceberg_write_plan p;
    REQUIRE(bulk::iceberg_plan_write(d.p / "t", c, p,
                                     "truncate(10, k), truncate(1000, n), truncate(3, s), truncate(2, b), hour(ts), "
                                     "month(ts), year(ts), month(d), year(d)")
                .ok());
    REQUIRE(p.partition.size() == 9);
    CHECK(p.spec_fields.find(R"({"name":"k_trunc","transform":"truncate[10]","source-id":1,"field-id":1000})") !=
          std::string::npos);
    CHECK(p.spec_fields.find(R"({"name":"s_trunc","transform":"truncate[3]","source-id":3,"field-id":1002})") !=
          std::string::npos);
    CHECK(p.partition[0].result_type == "int");
    CHECK(p.partition[1].result_type == "long");
    CHECK(p.partition[2].result_type == "string");
    CHECK(p.partition[3].result_type == "binary");
    CHECK(p.partition[4].name == "ts_hour");

    using protocol::cql_value;
    std::vector<bulk::iceberg_partition_value> pv;
    auto part = [&](std::int32_t k, std::int64_t n, std::string s, std::int64_t ts_ms, std::int64_t days) {
        std::vector<cql_value> row{cql_value::integer(k), cql_value::integer(n), cql_value::string(std::move(s)),
                                   cql_value::blob({1, 2, 3}), cql_value::integer(ts_ms),
                                   cql_value::date(static_cast<std::uint32_t>(protocol::date_epoch + days))};
        bulk::iceberg_partition_of(p, row, pv);
        REQUIRE(pv.size() == 9);
    };
    // The spec's examples: truncate[10] of 1 is 0, of -1 is -10; "iceberg" to 3 is "ice".
    part(1, 999, "iceberg", 0, 0);
    CHECK(pv[0].i == 0);
    CHECK(pv[1].i == 0);
    CHECK(pv[2].s == "ice");
    CHECK(pv[3].s == std::string("\x01\x02", 2));
    CHECK(pv[4].i == 0);
    part(-1, -1, "t\xc3\xabxt", -1, -1);  // "tëxt": code points, not bytes ("t\xc3\xab" would be 3 bytes)
    CHECK(pv[0].i == -10);
    CHECK(pv[1].i == -1000);
    CHECK(pv[2].s == "t\xc3\xabx");
    // One millisecond before the epoch: hour -1, month -1 (1969-12), year -1 (1969); the date 1969-12-31 alike.
    CHECK(pv[4].i == -1);
    CHECK(pv[5].i == -1);
    CHECK(pv[6].i == -1);
    CHECK(pv[7].i == -1);
    CHECK(pv[8].i == -1);
    CHECK(bulk::iceberg_partition_text(p, pv) ==
          "k_trunc=-10/n_trunc=-1000/s_trunc=t\xc3\xabx/b_trunc=0102/ts_hour=1969-12-31-23/ts_month=1969-12/"
          "ts_year=1969/d_month=1969-12/d_year=1969");
    // -10 stays -10; -1001 goes down to -2000; 3-byte and 4-byte code points count one each.
    // 1969-11-30T22:59:59.999Z: 745 hours and 1 ms before the epoch -> hour -746, month -2; 1968-12-31 -> year -2.
    part(-10, -1001, "\xe2\x82\xac\xf0\x9f\x98\x80" "ab", -745LL * 3'600'000 - 1, -366);
    CHECK(pv[0].i == -10);
    CHECK(pv[1].i == -2000);
    CHECK(pv[2].s == "\xe2\x82\xac\xf0\x9f\x98\x80" "a");
    CHECK(pv[4].i == -746);
    CHECK(pv[5].i == -2);
    CHECK(pv[6].i == -1);
    CHECK(pv[8].i == -2);
    // Shorter than W: the whole string; the ends of the range wrap as the spec's Java reference does.
    part(INT32_MIN, INT64_MIN, "ab", 0, 0);
    CHECK(pv[2].s == "ab");
    CHECK(pv[0].i == INT32_MAX - 1);           // -2147483648 - 2 (-2147483648 % 10 = -8), in int arithmetic
    CHECK(pv[1].i == INT64_MAX - 191);         // INT64_MIN % 1000 = -808; -808 + 1000 = 192
    part(7, 1000, "", 0, 0);
    CHECK(pv[0].i == 0);
    CHECK(pv[1].i == 1000);
    CHECK_FALSE(pv[2].null);
    CHECK(pv[2].s.empty());

    for (const char* bad : {"truncate(k)", "truncate(0, k)", "truncate(4, ts)", "truncate(x, s)", "truncate(2, d)"}) {
        bulk::iceberg_write_plan q;
        auto st = bulk::iceberg_plan_write(d.p / "t", c, q, bad);
        CHECK_FALSE(st.ok());
        CHECK(st.message.starts_with("--partition-by: "));
    }
}

TEST_CASE("iceberg: NaN counts of float and double columns; partition summaries in the manifest list", "[iceberg]") {
    temp_dir d;
    const auto loc = d.p / "t";
    auto c = cols({{"k", "int"}, {"f", "float"}, {"d", "double"}, {"s", "text"}});
    bulk::iceberg_write_plan p;
    REQUIRE(bulk::iceberg_plan_write(loc, c, p, "identity(k), identity(s)").ok());
    const float fnan = std::nanf("");
    bulk::iceberg_metrics_builder mb(p);
    for (int i = 0; i < 10; ++i)
        mb.add(std::vector<protocol::cql_value>{protocol::cql_value::integer(i), protocol::cql_value::float32(i % 3 ? 1.5f : fnan),
                                                i % 5 ? protocol::cql_value::float64(std::nan("")) : protocol::cql_value::null(),
                                                protocol::cql_value::null()});
    const auto m = mb.finish();
    REQUIRE(m.size() == 4);
    CHECK_FALSE(m[0].nans);       // int: no NaN count at all
    CHECK(m[1].nans == 4u);       // i = 0, 3, 6, 9
    CHECK(m[1].lower.has_value());  // 1.5: NaN is not a bound
    CHECK(m[2].nans == 8u);       // the nulls are not NaNs
    CHECK(m[2].nulls == 2u);
    CHECK_FALSE(m[2].lower);      // only NaNs: no bounds
    CHECK_FALSE(m[3].nans);
    // Through the workers' sidecar list and back.
    bulk::iceberg_data_file f1{loc / "data" / "a.parquet", 10, 1, {}};
    f1.stats.metrics = m;
    f1.stats.partition = {{false, 7, ""}, {false, 0, "b\xc3\xa9"}};
    std::vector<bulk::iceberg_data_file> back;
    REQUIRE(bulk::iceberg_parse_files_json(bulk::iceberg_files_json({f1}, loc / "data"), loc / "data", back).ok());
    REQUIRE(back.size() == 1);
    CHECK(back[0].stats.metrics[1].nans == 4u);
    CHECK(back[0].stats.metrics[2].nans == 8u);
    CHECK_FALSE(back[0].stats.metrics[0].nans);

    // Partition summaries: k over 7, -2, null; s over "bé", "a", "z".
    auto f2 = f1, f3 = f1;
    f2.path = loc / "data" / "b.parquet";
    f2.stats.partition = {{false, -2, ""}, {false, 0, "a"}};
    f3.path = loc / "data" / "c.parquet";
    f3.stats.partition = {{true, 0, ""}, {false, 0, "z"}};
    bulk::iceberg_commit_result r;
    REQUIRE(bulk::iceberg_commit(p, {f1, f2, f3}, bulk::iceberg_mode::append, r).ok());
    bulk::iceberg_table_info info;
    REQUIRE(bulk::iceberg_read_table(loc, info).ok());
    auto summaries = [&](std::size_t manifest) {
        bulk::detail::avro_file lf;
        std::string err;
        REQUIRE(bulk::detail::avro_read(slurp(info.snapshots.back().manifest_list), lf, err));
        REQUIRE(lf.records.items.size() > manifest);
        const auto* parts = lf.records.items[manifest].find("partitions");
        REQUIRE(parts);
        REQUIRE(parts->type == json_value::kind::array);
        return *parts;
    };
    auto le32 = [](std::int32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
    auto check = [&](const json_value& parts) {
        REQUIRE(parts.items.size() == 2);
        const auto& k = parts.items[0];
        CHECK(k.find("contains_null")->boolean);
        CHECK_FALSE(k.find("contains_nan")->boolean);
        CHECK(k.find("lower_bound")->text == le32(-2));
        CHECK(k.find("upper_bound")->text == le32(7));
        const auto& s = parts.items[1];
        CHECK_FALSE(s.find("contains_null")->boolean);
        CHECK(s.find("lower_bound")->text == "a");
        CHECK(s.find("upper_bound")->text == "z");
    };
    check(summaries(0));
    // A later append lists the first manifest again, its summary kept.
    REQUIRE(bulk::iceberg_plan_write(loc, c, p, "identity(k), identity(s)").ok());
    auto f4 = f1;
    f4.path = loc / "data" / "d.parquet";
    REQUIRE(bulk::iceberg_commit(p, {f4}, bulk::iceberg_mode::append, r).ok());
    REQUIRE(bulk::iceberg_read_table(loc, info).ok());
    check(summaries(1));
    const auto newer = summaries(0);
    CHECK(newer.items[0].find("lower_bound")->text == le32(7));
    CHECK(newer.items[1].find("upper_bound")->text == "b\xc3\xa9");
}

TEST_CASE("iceberg: partitions and metrics read from a row's cells equal those from its decoded values", "[iceberg]") {
    // decode_row() then the values path is the reference for the cells path, and
    // the cells path for the metrics the unload takes from the writer's row groups.
    temp_dir d;
    const auto c = cols({{"k", "bigint"}, {"i", "int"}, {"ti", "tinyint"}, {"si", "smallint"}, {"f", "float"},
                         {"db", "double"}, {"b", "boolean"}, {"t", "text"}, {"a", "ascii"}, {"bl", "blob"},
                         {"u", "uuid"}, {"tu", "timeuuid"}, {"ts", "timestamp"}, {"dt", "date"}, {"tm", "time"},
                         {"dec", "decimal"}, {"vi", "varint"}, {"ip", "inet"}, {"l", "list<int>"}});
    std::mt19937_64 rng(15);
    // Random wire bytes per type: nulls, zero-length cells, NaN and infinity bit patterns, and
    // timestamps past what microseconds hold all come up.
    auto cell_bytes = [&](const protocol::cql_type& t) {
        using protocol::type_kind;
        protocol::byte_buffer b;
        auto fill = [&](std::size_t n) {
            for (std::size_t k = 0; k < n; ++k) b.push_back(static_cast<std::uint8_t>(rng()));
        };
        auto be = [&](std::uint64_t v, int n) {
            for (int k = n - 1; k >= 0; --k) b.push_back(static_cast<std::uint8_t>(v >> (8 * k)));
        };
        switch (t.kind) {
            case type_kind::boolean:
            case type_kind::tinyint: fill(1); break;
            case type_kind::smallint: fill(2); break;
            case type_kind::int_:
            case type_kind::float_: fill(4); break;
            case type_kind::bigint:
            case type_kind::double_: fill(8); break;
            case type_kind::timestamp:  // half near the epoch (day/hour boundaries), half any 64 bits
                if (rng() % 2) be(static_cast<std::uint64_t>(static_cast<std::int64_t>(rng() % 400'000'000'000) - 200'000'000'000), 8);
                else fill(8);
                break;
            case type_kind::date: be(rng() % 4 ? (1u << 31) + (rng() % 100'000) - 50'000 : rng(), 4); break;
            case type_kind::time: be(rng() % (protocol::max_time_nanos + 1), 8); break;
            case type_kind::uuid: fill(16); break;
            case type_kind::timeuuid:
                fill(16);
                b[6] = static_cast<std::uint8_t>(0x10 | (b[6] & 0x0F));
                break;
            case type_kind::text: {
                static const char* pool[] = {"a", "b\xc3\xa9", "zz", "\xe2\x82\xac" "x", "A long text value past sixteen code points"};
                const std::string_view v = pool[rng() % 5];
                b.assign(v.begin(), v.end());
                break;
            }
            case type_kind::ascii: {
                const std::string v = "asc" + std::to_string(rng() % 50);
                b.assign(v.begin(), v.end());
                break;
            }
            case type_kind::blob: fill(rng() % 24); break;
            case type_kind::decimal: be(2, 4), be(rng() % 1000, 2); break;
            case type_kind::varint: be(rng() % 60000, 2); break;
            case type_kind::inet: fill(rng() % 2 ? 4 : 16); break;
            default: be(1, 4), be(4, 4), be(rng() % 100, 4); break;  // list<int>: one element
        }
        return b;
    };
    for (const char* spec : {"", "bucket(7, i), bucket(5, k), bucket(3, t), bucket(4, u), bucket(6, bl), bucket(2, dt)",
                             "bucket(3, tm), bucket(9, ts), bucket(2, ti), bucket(3, si), bucket(4, tu), bucket(2, a)",
                             "identity(i), identity(ti), identity(si), identity(b), identity(t), identity(a)",
                             "identity(u), identity(bl), identity(dt), identity(tm), identity(ts), identity(k)",
                             "day(ts), month(dt), year(ts), hour(ts), year(dt), day(dt), month(ts)",
                             "truncate(3, i), truncate(5, k), truncate(2, t), truncate(3, a), truncate(4, bl), "
                             "truncate(7, ti), truncate(2, si)"}) {
        CAPTURE(spec);
        bulk::iceberg_write_plan p;
        REQUIRE(bulk::iceberg_plan_write(d.p / "t", c, p, spec).ok());
        bulk::iceberg_metrics_builder from_cells(p), from_values(p);
        // The unload's way: from the rows an Iceberg-mode writer takes, a row group at a time.
        bulk::iceberg_metrics_builder accepted(p), from_chunks(p);
        bulk::parquet_write_options wo;
        wo.iceberg = true;
        wo.row_group_rows = 700;
        wo.on_chunk = [&from_chunks](const bulk::parquet_chunk_view& ch) { from_chunks.add_chunk(ch); };
        bulk::parquet_writer w(c, wo);
        std::string file;
        std::vector<bulk::iceberg_partition_value> pc, pv;
        std::vector<protocol::byte_buffer> bufs(c.size());
        std::vector<protocol::value_view> cells(c.size());
        std::vector<protocol::cql_value> values;
        for (int r = 0; r < 3000; ++r) {
            for (std::size_t i = 0; i < c.size(); ++i) {
                const auto roll = rng() % 16;
                if (roll == 0) {
                    cells[i] = protocol::value_view::null();
                    continue;
                }
                bufs[i] = roll == 1 ? protocol::byte_buffer{} : cell_bytes(c[i].type);
                cells[i] = protocol::value_view::of(bufs[i]);
            }
            REQUIRE(bulk::decode_row(c, cells, values).ok());
            REQUIRE(bulk::iceberg_partition_of(p, cells, pc));
            bulk::iceberg_partition_of(p, values, pv);
            REQUIRE(pc == pv);
            from_cells.add(cells);
            from_values.add(values);
            if (w.add_row(cells, file).ok()) accepted.add(cells);
        }
        REQUIRE(w.finish(file).ok());
        const auto ma = accepted.finish(), mk = from_chunks.finish();
        REQUIRE(ma.size() == mk.size());
        for (std::size_t i = 0; i < ma.size(); ++i) {
            CAPTURE(i);
            CHECK(ma[i].id == mk[i].id);
            CHECK(ma[i].values == mk[i].values);
            CHECK(ma[i].nulls == mk[i].nulls);
            CHECK(ma[i].nans == mk[i].nans);
            CHECK(ma[i].lower == mk[i].lower);
            CHECK(ma[i].upper == mk[i].upper);
        }
        CHECK(ma[0].values > 1000);  // many rows were taken (random timestamps past microseconds are not)
        const auto mc = from_cells.finish(), mv = from_values.finish();
        REQUIRE(mc.size() == mv.size());
        for (std::size_t i = 0; i < mc.size(); ++i) {
            CAPTURE(i);
            CHECK(mc[i].id == mv[i].id);
            CHECK(mc[i].values == mv[i].values);
            CHECK(mc[i].nulls == mv[i].nulls);
            CHECK(mc[i].nans == mv[i].nans);
            CHECK(mc[i].lower == mv[i].lower);
            CHECK(mc[i].upper == mv[i].upper);
        }
        if (spec[0] == '\0') {  // the same rows have nulls, NaNs and bounds to compare
            CHECK(mc[4].nans.value_or(0) > 0);
            CHECK(mc[1].nulls > 0);
            CHECK(mc[1].lower.has_value());
            CHECK(mc[7].upper.has_value());  // text: short values have an upper bound
        }
    }
    // A partition source cell of the wrong size is refused (decode_row() refuses the row too).
    bulk::iceberg_write_plan p;
    REQUIRE(bulk::iceberg_plan_write(d.p / "t", c, p, "bucket(4, i)").ok());
    const protocol::byte_buffer three{1, 2, 3};
    std::vector<protocol::value_view> cells(c.size(), protocol::value_view::null());
    cells[1] = protocol::value_view::of(three);
    std::vector<bulk::iceberg_partition_value> pc;
    CHECK_FALSE(bulk::iceberg_partition_of(p, cells, pc));
    std::vector<protocol::cql_value> values;
    CHECK(bulk::decode_row(c, cells, values).code == bulk::errc::bad_value);

    // Binary bounds are in unsigned byte order: 0x80 sorts after 0x7f, a prefix first.
    bulk::iceberg_metrics_builder mb(p);
    const protocol::byte_buffer b7f{0x7f}, b80{0x80}, b00ff{0x00, 0xff}, b8000{0x80, 0x00};
    for (const auto* b : {&b7f, &b8000, &b80, &b00ff}) {
        cells.assign(c.size(), protocol::value_view::null());
        cells[9] = protocol::value_view::of(*b);  // bl
        mb.add(cells);
    }
    const auto m = mb.finish();
    REQUIRE(m.size() > 9);
    CHECK(m[9].lower == std::optional<std::string>(std::string("\x00\xff", 2)));
    CHECK(m[9].upper == std::optional<std::string>(std::string("\x80\x00", 2)));
}
