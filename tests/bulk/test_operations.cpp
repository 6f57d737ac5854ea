// bulk::count / unload / load / checksum end to end against the simulated
// cluster: exact counts (RF 1 and 3, 100,000 rows, data at the extreme
// tokens), unload -> truncate -> load round trips of every CQL type, resume
// after an interrupted run, a node stopped mid-run, bad records and the error
// budget, worker shares merged.
#include "transport_test_util.hpp"

#include "cqlpp/bulk/checksum.hpp"
#include "cqlpp/bulk/codec.hpp"
#include "cqlpp/bulk/journal.hpp"
#include "cqlpp/bulk/operations.hpp"
#include "cqlpp/driver/session.hpp"
#include "cqlpp/protocol/murmur3.hpp"

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

using namespace cqlpp::test;
namespace drv = cqlpp::driver;
namespace bulk = cqlpp::bulk;
namespace fs = std::filesystem;

namespace {

drv::session_config session_cfg(const sim::cluster& c) {
    drv::session_config cfg;
    cfg.contact_points = {"127.0.0.1:" + std::to_string(c.topo().node(0).config.port)};
    cfg.connection.connect_timeout = 10s;
    cfg.reconnect.base_delay = 50ms;
    cfg.reconnect.max_delay = 300ms;
    cfg.refresh_debounce = 20ms;
    return cfg;
}

asio::awaitable<std::shared_ptr<drv::session>> connect(asio::any_io_executor ex, const sim::cluster& c) {
    auto r = co_await drv::session::connect(ex, session_cfg(c));
    INFO(r.diag().message);
    REQUIRE_FALSE(r.error());
    co_return r.value();
}

asio::awaitable<void> must(drv::session& s, std::string q) {
    auto r = co_await s.execute(q);
    INFO(q << ": " << r.diag().message);
    REQUIRE(r.ok());
}

asio::awaitable<drv::prepared_statement> prep(drv::session& s, std::string q) {
    auto p = co_await s.prepare(std::move(q));
    INFO(p.diag().message);
    REQUIRE(p.ok());
    co_return p.value();
}

// Runs execute() on `stmts` with up to 128 in flight; every one must succeed.
asio::awaitable<void> run_all(drv::session& s, std::vector<drv::bound_statement> stmts) {
    auto ex = co_await asio::this_coro::executor;
    latch l(ex);
    std::size_t next = 0, failures = 0;
    std::string first_error;
    const std::size_t workers = std::min<std::size_t>(128, stmts.size());
    l.add(workers);
    for (std::size_t w = 0; w < workers; ++w) {
        asio::co_spawn(
            ex,
            [&]() -> asio::awaitable<void> {
                while (next < stmts.size()) {
                    auto& b = stmts[next++];
                    auto r = co_await s.execute(b);
                    if (!r.ok()) {
                        if (!failures++) first_error = r.diag().message;
                    }
                }
            },
            [&](std::exception_ptr) { l.done(); });
    }
    REQUIRE(co_await l.wait(120s));
    INFO(first_error);
    REQUIRE(failures == 0);
}

fs::path temp_dir(const std::string& name) {
    auto p = fs::temp_directory_path() / ("cqlpp_bulk_ops_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
}

bulk::operation_options opts(const std::string& ks, const std::string& t) {
    bulk::operation_options o;
    o.keyspace = ks;
    o.table = t;
    o.progress_interval = 100ms;
    return o;
}

asio::awaitable<bulk::operation_result> checked(asio::awaitable<bulk::operation_result> a) {
    auto r = co_await std::move(a);
    INFO(r.message);
    REQUIRE(r.ok());
    co_return r;
}

// count or checksum of a whole table with default options (no temporaries
// inside the co_await expression: GCC 12 may destroy them twice).
asio::awaitable<bulk::operation_result> whole_table(drv::session& s, const char* op, const char* ks, const char* t) {
    const auto o = opts(ks, t);
    bulk::operation_result r;
    if (std::string_view(op) == "count") r = co_await bulk::count(s, o);
    else r = co_await bulk::checksum(s, o);
    INFO(op << ' ' << ks << '.' << t << ": " << r.message);
    REQUIRE(r.ok());
    co_return r;
}

std::string keyspace_cql(const std::string& ks, int rf) {
    return "CREATE KEYSPACE " + ks + " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': " +
           std::to_string(rf) + "}";
}

// Checksum of files written by unload (CSV with header or JSON lines).
bulk::table_checksum checksum_of_files(const fs::path& dir, const std::vector<cqlpp::protocol::column_spec>& cols,
                                       bulk::data_format format) {
    std::vector<fs::path> files;
    REQUIRE(bulk::list_input_files({dir}, format, files).ok());
    bulk::table_checksum sum;
    bulk::row_hasher h;
    std::vector<cqlpp::protocol::cql_value> row;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        bulk::csv_record rec;
        bulk::status err;
        if (format == bulk::data_format::csv) {
            bulk::csv_reader r;
            r.feed(text);
            r.finish();
            REQUIRE(r.next(rec, err) == bulk::read_result::record);
            bulk::field_mapping m;
            REQUIRE(bulk::map_header(cols, rec, m).ok());
            while (true) {
                auto rr = r.next(rec, err);
                if (rr == bulk::read_result::end) break;
                REQUIRE(rr == bulk::read_result::record);
                auto st = bulk::parse_csv_row(cols, m, rec, row);
                INFO(st.message);
                REQUIRE(st.ok());
                std::uint64_t x = 0;
                REQUIRE(h.hash_values(cols, row, x).ok());
                sum.add_row_hash(x);
            }
        } else {
            bulk::line_reader r;
            r.feed(text);
            r.finish();
            while (r.next(rec) == bulk::read_result::record) {
                auto st = bulk::parse_json_row(cols, rec.raw, row);
                INFO(st.message);
                REQUIRE(st.ok());
                std::uint64_t x = 0;
                REQUIRE(h.hash_values(cols, row, x).ok());
                sum.add_row_hash(x);
            }
        }
    }
    return sum;
}

asio::awaitable<std::vector<cqlpp::protocol::column_spec>> columns_of(drv::session& s, std::string ks, std::string t) {
    std::vector<cqlpp::protocol::column_spec> cols;
    auto st = co_await bulk::resolve_columns(s, ks, t, cols);
    INFO(st.message);
    REQUIRE(st.ok());
    co_return cols;
}

}  // namespace

TEST_CASE("bulk ops: count is exact at 100,000 rows with RF 1 and RF 3, per range and per host", "[bulk][ops]") {
    auto cluster = start_cluster(nodes(3));
    run_async(
        [&](asio::any_io_executor ex) -> asio::awaitable<void> {
            auto s = co_await connect(ex, *cluster);
            co_await must(*s, keyspace_cql("rf1", 1));
            co_await must(*s, keyspace_cql("rf3", 3));
            co_await must(*s, "CREATE TABLE rf1.t (k int, c int, v text, PRIMARY KEY (k, c))");
            co_await must(*s, "CREATE TABLE rf3.t (k int PRIMARY KEY, v bigint)");
            co_await s->refresh_metadata();
            // rf1: 20,000 partitions x 5 rows; rf3: 100,000 partitions.
            auto ins1 = co_await prep(*s, "INSERT INTO rf1.t (k, c, v) VALUES (?, ?, ?)");
            auto ins3 = co_await prep(*s, "INSERT INTO rf3.t (k, v) VALUES (?, ?)");
            std::vector<drv::bound_statement> st;
            bulk::table_checksum expected3;
            bulk::row_hasher h;
            auto cols3 = co_await columns_of(*s, "rf3", "t");
            for (int k = 0; k < 100000; ++k) {
                st.push_back(ins3.bind(k, static_cast<std::int64_t>(k) * 7));
                std::vector<cqlpp::protocol::cql_value> row{cqlpp::protocol::cql_value::integer(k),
                                                            cqlpp::protocol::cql_value::integer(std::int64_t(k) * 7)};
                std::uint64_t x = 0;
                REQUIRE(h.hash_values(cols3, row, x).ok());
                expected3.add_row_hash(x);
            }
            co_await run_all(*s, std::move(st));
            st.clear();
            for (int k = 0; k < 20000; ++k)
                for (int c = 0; c < 5; ++c) st.push_back(ins1.bind(k, c, std::string("v") + std::to_string(k)));
            co_await run_all(*s, std::move(st));

            for (const char* ks : {"rf1", "rf3"}) {
                for (bool server : {true, false}) {
                    INFO(ks << (server ? " count(*)" : " rows"));
                    auto o = opts(ks, "t");
                    o.server_side_count = server;
                    int progress_calls = 0;
                    bool saw_final = false;
                    const bulk::progress_callback cb = [&](const bulk::progress& p) {
                        ++progress_calls;
                        if (p.final) saw_final = true;
                    };
                    auto r = co_await checked(bulk::count(*s, o, cb));
                    CHECK(r.summary.rows == 100000);
                    CHECK(r.summary.operation == "count");
                    CHECK(saw_final);
                    CHECK(r.summary.ranges == r.ranges_planned);
                    CHECK(r.ranges.size() == r.ranges_planned);
                    std::uint64_t per_range = 0, per_host = 0;
                    for (const auto& e : r.ranges) per_range += e.rows;
                    for (const auto& [host, n] : r.rows_per_host) per_host += n;
                    CHECK(per_range == 100000);
                    CHECK(per_host == 100000);
                    CHECK(r.rows_per_host.size() == 3);  // routed to replicas on every node
                    if (std::string_view(ks) == "rf1") {
                        // With one replica per range, each range went to that replica.
                        std::map<std::string, std::uint64_t> by_replica;
                        auto meta = s->metadata();
                        for (const auto& e : r.ranges) {
                            auto reps = meta->tokens.replicas(ks, e.range.end);
                            REQUIRE(reps.size() == 1);
                            by_replica[reps[0]->endpoint_string()] += e.rows;
                        }
                        CHECK(by_replica == r.rows_per_host);
                    }
                    // The ranges tile the ring exactly.
                    std::vector<bulk::token_range> tr;
                    for (const auto& e : r.ranges) tr.push_back(e.range);
                    auto norm = bulk::normalize(tr);
                    REQUIRE(norm.size() == 1);
                    CHECK(norm[0] == bulk::token_range::full_ring());
                }
            }
            // The table checksum equals the checksum of the rows as inserted.
            auto c3 = co_await whole_table(*s, "checksum", "rf3", "t");
            CHECK(c3.summary.checksum == expected3);
            CHECK(c3.summary.rows == 100000);
            co_await s->close();
        },
        300s);
}

TEST_CASE("bulk ops: rows at the extreme tokens are counted once, with any split", "[bulk][ops]") {
    auto cluster = start_cluster(nodes(3));
    // Keys whose token is within 2^54 of either end of the ring.
    std::vector<std::int32_t> low, high;
    for (std::int32_t k = 0; low.size() < 40 || high.size() < 40; ++k) {
        std::uint8_t b[4] = {std::uint8_t(std::uint32_t(k) >> 24), std::uint8_t(std::uint32_t(k) >> 16),
                             std::uint8_t(std::uint32_t(k) >> 8), std::uint8_t(k)};
        auto t = cqlpp::protocol::murmur3_token(cqlpp::protocol::bytes_view(b, 4));
        if (t < std::numeric_limits<std::int64_t>::min() + (std::int64_t(1) << 54) && low.size() < 40) low.push_back(k);
        if (t > std::numeric_limits<std::int64_t>::max() - (std::int64_t(1) << 54) && high.size() < 40) high.push_back(k);
    }
    run_async(
        [&](asio::any_io_executor ex) -> asio::awaitable<void> {
            auto s = co_await connect(ex, *cluster);
            co_await must(*s, keyspace_cql("edge", 3));
            co_await must(*s, "CREATE TABLE edge.t (k int, c int, v int, PRIMARY KEY (k, c))");
            co_await s->refresh_metadata();
            auto ins = co_await prep(*s, "INSERT INTO edge.t (k, c, v) VALUES (?, ?, ?)");
            std::vector<drv::bound_statement> st;
            for (auto k : low)
                for (int c = 0; c < 25; ++c) st.push_back(ins.bind(k, c, c));
            for (auto k : high)
                for (int c = 0; c < 25; ++c) st.push_back(ins.bind(k, c, c));
            for (int k = 0; k < 500; ++k) st.push_back(ins.bind(-1 - k, 0, 0));  // some in the middle
            const std::uint64_t total = st.size();
            co_await run_all(*s, std::move(st));
            for (std::size_t splits : {std::size_t(1), std::size_t(7), std::size_t(1000)}) {
                for (bool server : {true, false}) {
                    INFO("splits " << splits << (server ? " count(*)" : " rows"));
                    auto o = opts("edge", "t");
                    o.plan.splits = splits;
                    o.page_size = 7;  // many pages per range
                    o.server_side_count = server;
                    auto r = co_await checked(bulk::count(*s, o));
                    CHECK(r.summary.rows == total);
                }
            }
            // Just the two ends of the ring, via --where-token-range (wrapping).
            auto o = opts("edge", "t");
            REQUIRE(bulk::parse_token_range("9205357638345293823:-9205357638345293825", o.plan.where).ok());
            auto r = co_await checked(bulk::count(*s, o));
            CHECK(r.summary.rows == (low.size() + high.size()) * 25);
            co_await s->close();
        },
        120s);
}

TEST_CASE("bulk ops: unload -> truncate -> load keeps every CQL type and the checksum (CSV and JSON)", "[bulk][ops]") {
    auto cluster = start_cluster(nodes(3));
    run_async(
        [&](asio::any_io_executor ex) -> asio::awaitable<void> {
            auto s = co_await connect(ex, *cluster);
            co_await must(*s, keyspace_cql("ty", 1));
            co_await must(*s, "CREATE TYPE ty.addr (street text, zip int)");
            co_await must(*s,
                          "CREATE TABLE ty.all (k text, c bigint, a ascii, b blob, bo boolean, d date, de decimal, "
                          "db double, du duration, f float, i inet, n int, sm smallint, tm time, ts timestamp, "
                          "tu timeuuid, ti tinyint, u uuid, vc varchar, vi varint, l list<int>, st set<text>, "
                          "mp map<text, int>, mi map<int, frozen<list<text>>>, tp tuple<int, text>, ad frozen<addr>, "
                          "PRIMARY KEY ((k), c))");
            co_await s->refresh_metadata();
            auto ins = co_await prep(
                *s,
                "INSERT INTO ty.all (k, c, a, b, bo, d, de, db, du, f, i, n, sm, tm, ts, tu, ti, u, vc, vi, l, st, mp, "
                "mi, tp, ad) VALUES (?, ?, 'as''cii', 0x00ff10, true, '2020-01-31', 1.10, 0.1, 1y2mo3d4h5m6s7ms8us9ns, "
                "3.5, '::1', ?, -3, '09:52:03.000000001', '2013-08-13 09:52:03.123+0000', "
                "50554d6e-29bb-11e5-b345-feff819cdc9f, 7, 123e4567-e89b-12d3-a456-426614174000, 'vé \"q\",\n2', "
                "-123456789012345678901234567890, [1, 2, 3], {'a', 'b,c'}, {'x': 1, 'y\"': 2}, {1: ['p', 'q']}, "
                "(5, 'five'), {street: 'Main, 1', zip: 12345})");
            std::vector<drv::bound_statement> st;
            for (int k = 0; k < 300; ++k)
                for (int c = 0; c < 3; ++c) st.push_back(ins.bind(std::string("key-") + std::to_string(k), std::int64_t(c), k * 10 + c));
            co_await must(*s, "INSERT INTO ty.all (k, c) VALUES ('only-key', 0)");  // nulls everywhere else
            co_await must(*s, "INSERT INTO ty.all (k, c, vc, b, l) VALUES ('empty', 0, '', 0x, [])");
            co_await run_all(*s, std::move(st));
            const std::uint64_t total = 902;
            auto cols = co_await columns_of(*s, "ty", "all");

            auto original = co_await whole_table(*s, "checksum", "ty", "all");
            CHECK(original.summary.rows == total);
            for (auto format : {bulk::data_format::csv, bulk::data_format::json}) {
                INFO((format == bulk::data_format::csv ? "csv" : "json"));
                auto dir = temp_dir(format == bulk::data_format::csv ? "types_csv" : "types_json");
                auto o = opts("ty", "all");
                o.format = format;
                o.output_dir = dir / "out";
                o.concurrency = 3;
                auto u = co_await checked(bulk::unload(*s, o));
                CHECK(u.summary.rows == total);
                CHECK(u.summary.checksum == original.summary.checksum);
                CHECK(u.summary.bytes > 0);
                // The files hold the same rows (parsed back and hashed).
                CHECK(checksum_of_files(dir / "out", cols, format) == original.summary.checksum);
                CHECK(fs::exists(dir / "out" / "journal.jsonl"));
                CHECK(fs::exists(dir / "out" / "summary.json"));

                co_await must(*s, "TRUNCATE ty.all");
                auto empty = co_await whole_table(*s, "count", "ty", "all");
                CHECK(empty.summary.rows == 0);

                auto lo = opts("ty", "all");
                lo.format = format;
                lo.inputs = {dir / "out"};
                lo.run_dir = dir / "load";
                auto l = co_await checked(bulk::load(*s, lo));
                CHECK(l.summary.rows == total);
                CHECK(l.summary.errors == 0);
                CHECK(l.summary.checksum == original.summary.checksum);
                auto after = co_await whole_table(*s, "checksum", "ty", "all");
                CHECK(after.summary.checksum == original.summary.checksum);
                fs::remove_all(dir);
            }
            co_await s->close();
        },
        120s);
}

TEST_CASE("bulk ops: an interrupted run resumes without counting or writing a range twice", "[bulk][ops]") {
    auto cluster = start_cluster(nodes(3));
    run_async(
        [&](asio::any_io_executor ex) -> asio::awaitable<void> {
            auto s = co_await connect(ex, *cluster);
            co_await must(*s, keyspace_cql("rs", 3));
            co_await must(*s, "CREATE TABLE rs.t (k int, c int, v text, PRIMARY KEY (k, c))");
            co_await s->refresh_metadata();
            auto ins = co_await prep(*s, "INSERT INTO rs.t (k, c, v) VALUES (?, ?, ?)");
            std::vector<drv::bound_statement> st;
            for (int k = 0; k < 3000; ++k)
                for (int c = 0; c < 3; ++c) st.push_back(ins.bind(k, c, std::to_string(k * c)));
            co_await run_all(*s, std::move(st));
            const std::uint64_t total = 9000;
            auto original = co_await whole_table(*s, "checksum", "rs", "t");
            auto dir = temp_dir("resume");

            // count: stop after 5 ranges, then resume with another split.
            auto o = opts("rs", "t");
            o.run_dir = dir / "count";
            o.plan.splits = 40;
            o.max_ranges = 5;
            o.concurrency = 2;
            auto first = co_await bulk::count(*s, o);
            CHECK(first.ec == bulk::errc::interrupted);
            CHECK(first.ranges.size() == 5);
            CHECK(first.summary.rows < total);
            CHECK(first.summary.rows > 0);
            // A new run in the same directory without resume is refused.
            o.max_ranges = 0;
            auto refused = co_await bulk::count(*s, o);
            CHECK(refused.ec == bulk::errc::journal_exists);
            o.resume = true;
            o.plan.splits = 17;
            auto second = co_await checked(bulk::count(*s, o));
            CHECK(second.summary.rows == total);
            CHECK(second.ranges_resumed > 0);
            CHECK(second.rows_this_run + first.summary.rows == total);
            bulk::journal_contents j;
            REQUIRE(bulk::read_journal(dir / "count" / "journal.jsonl", j).ok());
            std::vector<bulk::journal_contents> js{j};
            bulk::merge_result m;
            REQUIRE(bulk::merge_journals(js, m).ok());
            CHECK(m.complete());
            CHECK(m.rows == total);
            CHECK(m.duplicates == 0);
            // A third resume has nothing left to do and still reports the whole result.
            auto third = co_await checked(bulk::count(*s, o));
            CHECK(third.rows_this_run == 0);
            CHECK(third.summary.rows == total);

            // unload: stop via the stop flag after the first progress report, then resume.
            auto uo = opts("rs", "t");
            uo.output_dir = dir / "unload";
            uo.plan.splits = 30;
            uo.concurrency = 1;
            uo.max_ranges = 11;
            auto u1 = co_await bulk::unload(*s, uo);
            CHECK(u1.ec == bulk::errc::interrupted);
            uo.max_ranges = 0;
            uo.resume = true;
            auto u2 = co_await checked(bulk::unload(*s, uo));
            CHECK(u2.summary.rows == total);
            CHECK(u2.summary.checksum == original.summary.checksum);
            auto rs_cols = co_await columns_of(*s, "rs", "t");
            CHECK(checksum_of_files(dir / "unload", rs_cols, bulk::data_format::csv) ==
                  original.summary.checksum);
            for (const auto& de : fs::directory_iterator(dir / "unload")) CHECK(de.path().extension() != ".part");

            // load: stop after 4,000 records, truncate nothing, resume; the table ends up equal.
            co_await must(*s, "TRUNCATE rs.t");
            auto lo = opts("rs", "t");
            lo.inputs = {dir / "unload"};
            lo.run_dir = dir / "load";
            lo.max_records = 4000;
            lo.concurrency = 8;
            auto l1 = co_await bulk::load(*s, lo);
            CHECK(l1.ec == bulk::errc::interrupted);
            CHECK(l1.summary.checksum.rows == l1.summary.rows);
            auto partial = co_await whole_table(*s, "count", "rs", "t");
            CHECK(partial.summary.rows >= 4000);  // windows of whole files / 2,048 records
            CHECK(partial.summary.rows < total);
            lo.max_records = 0;
            lo.resume = true;
            auto l2 = co_await checked(bulk::load(*s, lo));
            CHECK(l2.summary.rows == total);
            CHECK(l2.rows_this_run <= total - 4000);
            // The whole job's checksum (both runs), as the table's.
            CHECK(l2.summary.checksum == original.summary.checksum);
            auto after = co_await whole_table(*s, "checksum", "rs", "t");
            CHECK(after.summary.checksum == original.summary.checksum);

            // A stop flag set from the progress callback also interrupts.
            auto so = opts("rs", "t");
            so.run_dir = dir / "stopflag";
            so.plan.splits = 200;
            so.concurrency = 1;
            so.server_side_count = false;
            so.page_size = 10;
            so.progress_interval = 5ms;
            so.stop = std::make_shared<std::atomic<bool>>(false);
            auto flag = so.stop;
            const bulk::progress_callback stop_cb = [flag](const bulk::progress& p) {
                if (p.ranges_done >= 3) flag->store(true);
            };
            auto stopped = co_await bulk::count(*s, so, stop_cb);
            CHECK(stopped.ec == bulk::errc::interrupted);
            so.resume = true;
            so.stop.reset();
            auto rest = co_await checked(bulk::count(*s, so));
            CHECK(rest.summary.rows == total);
            fs::remove_all(dir);
            co_await s->close();
        },
        180s);
}

TEST_CASE("bulk ops: a node stopped during a count is routed around (RF 3)", "[bulk][ops]") {
    auto cfg = nodes(3);
    cfg.threads = 2;
    auto cluster = start_cluster(cfg);
    run_async(
        [&](asio::any_io_executor ex) -> asio::awaitable<void> {
            auto s = co_await connect(ex, *cluster);
            co_await must(*s, keyspace_cql("nd", 3));
            co_await must(*s, "CREATE TABLE nd.t (k int PRIMARY KEY, v int)");
            co_await s->refresh_metadata();
            auto ins = co_await prep(*s, "INSERT INTO nd.t (k, v) VALUES (?, ?)");
            std::vector<drv::bound_statement> st;
            for (int k = 0; k < 20000; ++k) st.push_back(ins.bind(k, k));
            co_await run_all(*s, std::move(st));
            for (int i = 0; i < 3; ++i) cluster->set_latency(i, 2ms);
            auto o = opts("nd", "t");
            o.server_side_count = false;
            o.page_size = 50;  // ~400 pages at 2 ms each, 6 in flight
            o.retry_backoff = 20ms;
            bool stopped = false;
            const bulk::progress_callback cb = [&](const bulk::progress& p) {
                if (!stopped && p.rows > 3000) {
                    stopped = true;
                    cluster->stop_node(1);
                }
            };
            auto r = co_await checked(bulk::count(*s, o, cb));
            CHECK(stopped);
            CHECK(r.summary.rows == 20000);
            CHECK(r.summary.errors == 0);
            cluster->start_node(1);
            co_await s->close();
        },
        120s);
}

TEST_CASE("bulk ops: bad records go to a file with the reason; the error budget stops a load", "[bulk][ops]") {
    auto cluster = start_cluster(nodes(1));
    run_async(
        [&](asio::any_io_executor ex) -> asio::awaitable<void> {
            auto s = co_await connect(ex, *cluster);
            co_await must(*s, keyspace_cql("bad", 1));
            co_await must(*s, "CREATE TABLE bad.t (k int PRIMARY KEY, v int, w text)");
            co_await s->refresh_metadata();
            auto dir = temp_dir("bad");
            {
                std::ofstream f(dir / "in.csv");
                f << "k,v\n1,10\n2,x2\n3,30\n4,\"40\"x\n";
                for (int k = 5; k < 105; ++k) f << k << ',' << k * 10 << '\n';
            }
            auto o = opts("bad", "t");
            o.inputs = {dir / "in.csv"};
            o.run_dir = dir / "run";
            auto r = co_await bulk::load(*s, o);
            CHECK(r.ec == bulk::errc::request_failed);  // finished, with rejects
            CHECK(r.summary.rows == 102);
            CHECK(r.summary.errors == 2);
            std::vector<bulk::bad_record> bad;
            REQUIRE(bulk::read_bad_records(dir / "run" / "bad_records.jsonl", bad).ok());
            REQUIRE(bad.size() == 2);
            CHECK(bad[0].line == 3);
            CHECK(bad[0].data == "2,x2");
            CHECK(bad[0].reason.find("v") != std::string::npos);
            auto c = co_await whole_table(*s, "count", "bad", "t");
            CHECK(c.summary.rows == 102);
            // w was not in the file: left unset, so the column stays null.
            auto row = co_await s->execute("SELECT w FROM bad.t WHERE k = 1");
            REQUIRE(row.row_count() == 1);
            CHECK(row.first_row().is_null(0));

            // Budget of 1: the second bad record stops the run.
            {
                std::ofstream f(dir / "worse.csv");
                f << "k,v\n";
                for (int k = 0; k < 5000; ++k) f << k << ',' << (k % 1000 == 999 ? "bad" : std::to_string(k)) << '\n';
            }
            auto o2 = opts("bad", "t");
            o2.inputs = {dir / "worse.csv"};
            o2.run_dir = dir / "run2";
            o2.max_errors = 1;
            auto r2 = co_await bulk::load(*s, o2);
            CHECK(r2.ec == bulk::errc::too_many_errors);
            CHECK(r2.summary.errors == 2);
            CHECK(r2.summary.rows < 4998);  // stopped before the end
            CHECK(r2.summary.rows > 0);     // partial results reported
            fs::remove_all(dir);
            co_await s->close();
        },
        60s);
}

TEST_CASE("bulk ops: worker shares are disjoint and merge into the whole table", "[bulk][ops]") {
    auto cluster = start_cluster(nodes(3));
    run_async(
        [&](asio::any_io_executor ex) -> asio::awaitable<void> {
            auto s = co_await connect(ex, *cluster);
            co_await must(*s, keyspace_cql("wk", 1));
            co_await must(*s, "CREATE TABLE wk.t (k int PRIMARY KEY, v int)");
            co_await s->refresh_metadata();
            auto ins = co_await prep(*s, "INSERT INTO wk.t (k, v) VALUES (?, ?)");
            std::vector<drv::bound_statement> st;
            for (int k = 0; k < 5000; ++k) st.push_back(ins.bind(k, -k));
            co_await run_all(*s, std::move(st));
            auto whole = co_await whole_table(*s, "checksum", "wk", "t");
            auto dir = temp_dir("workers");
            std::vector<bulk::journal_contents> js;
            std::uint64_t sum = 0;
            for (unsigned i = 1; i <= 3; ++i) {
                auto o = opts("wk", "t");
                o.plan.worker = bulk::worker_id{i, 3};
                o.plan.splits = 5 + i;  // shares do not depend on the split
                o.run_dir = dir / ("w" + std::to_string(i));
                auto r = co_await checked(bulk::checksum(*s, o));
                sum += r.summary.rows;
                bulk::journal_contents j;
                REQUIRE(bulk::read_journal(o.run_dir / "journal.jsonl", j).ok());
                js.push_back(j);
            }
            CHECK(sum == 5000);
            bulk::merge_result m;
            REQUIRE(bulk::merge_journals(js, m).ok());
            CHECK(m.complete());
            CHECK(m.rows == 5000);
            CHECK(m.checksum == whole.summary.checksum);
            fs::remove_all(dir);
            co_await s->close();
        },
        60s);
}
