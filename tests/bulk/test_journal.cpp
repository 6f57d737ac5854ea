// Journals (torn last line, resume, merge without double counting), run
// summaries and bad-records files, in temporary directories.
#include "cqlpp/bulk/journal.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include <unistd.h>

using namespace cqlpp;
using bulk::token_range;

namespace {

// A fresh directory under the system temp dir, removed at the end of the test.
struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        static std::atomic<int> n{0};
        const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
        path = std::filesystem::temp_directory_path() /
               ("cqlpp-bulk-test-" + std::to_string(::getpid()) + "-" + std::to_string(stamp) + "-" + std::to_string(n++));
        std::filesystem::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void append_raw(const std::filesystem::path& p, std::string_view text) {
    std::ofstream out(p, std::ios::binary | std::ios::app);
    out << text;
}

bulk::range_entry entry(token_range r, std::uint64_t rows, std::uint64_t salt = 0) {
    bulk::range_entry e;
    e.range = r;
    e.rows = rows;
    e.checksum = {rows * 0x9E3779B97F4A7C15ull + salt, rows ^ salt, rows};
    e.bytes = rows * 10;
    e.ms = 1.5 + static_cast<double>(rows);
    return e;
}

}  // namespace

TEST_CASE("journal entries read back as written", "[bulk][journal]") {
    temp_dir dir;
    const auto file = dir.path / "run" / "journal.jsonl";  // directories are created
    {
        bulk::journal_writer w;
        REQUIRE(w.open(file).ok());
        REQUIRE(w.append(entry(token_range::closed(bulk::min_token, -1), 5)).ok());
        REQUIRE(w.append(entry(token_range{-1, bulk::max_token, false}, 0)).ok());
        bulk::input_entry in{"data/part 1,\"x\".csv", 4096, 100, 99, false, {}};
        REQUIRE(w.append(in).ok());
        in.complete = true;
        in.checksum = {0xfedcba9876543210u, 42, 99};
        REQUIRE(w.append(in).ok());
    }
    bulk::journal_contents j;
    REQUIRE(bulk::read_journal(file, j).ok());
    CHECK_FALSE(j.torn_tail);
    REQUIRE(j.ranges.size() == 2);
    CHECK(j.ranges[0] == entry(token_range::closed(bulk::min_token, -1), 5));
    CHECK(j.ranges[1] == entry(token_range{-1, bulk::max_token, false}, 0));
    REQUIRE(j.inputs.size() == 2);
    CHECK(j.inputs[0] == bulk::input_entry{"data/part 1,\"x\".csv", 4096, 100, 99, false, {}});
    // A load's checksum per file (all runs) survives, so a resumed load reports the whole job's.
    CHECK(j.inputs[1] == bulk::input_entry{"data/part 1,\"x\".csv", 4096, 100, 99, true, {0xfedcba9876543210u, 42, 99}});
    // A missing journal is an empty one (a first run).
    bulk::journal_contents none;
    REQUIRE(bulk::read_journal(dir.path / "absent", none).ok());
    CHECK(none.ranges.empty());
}

TEST_CASE("a torn last line is skipped, then cut off before appending", "[bulk][journal]") {
    temp_dir dir;
    const auto file = dir.path / "journal.jsonl";
    {
        bulk::journal_writer w;
        REQUIRE(w.open(file).ok());
        REQUIRE(w.append(entry(token_range::closed(0, 100), 7)).ok());
        REQUIRE(w.append(entry(token_range::closed(101, 200), 8)).ok());
    }
    // The process died in the middle of the third entry.
    const std::string whole = slurp(file);
    append_raw(file, "{\"type\":\"range\",\"start\":200,\"inclusive\":fal");
    bulk::journal_contents j;
    REQUIRE(bulk::read_journal(file, j).ok());
    CHECK(j.torn_tail);
    CHECK(j.ranges.size() == 2);
    // Even a torn line that happens to be valid JSON is not trusted without its line break.
    std::filesystem::resize_file(file, whole.size());
    append_raw(file, "{\"type\":\"range\",\"start\":5000,\"end\":6000}");
    REQUIRE(bulk::read_journal(file, j).ok());
    CHECK(j.torn_tail);
    CHECK(j.ranges.size() == 2);

    // Resuming appends after the last whole line.
    {
        bulk::journal_writer w;
        REQUIRE(w.open(file, true).ok());
        REQUIRE(w.append(entry(token_range::closed(201, 300), 9)).ok());
    }
    REQUIRE(bulk::read_journal(file, j).ok());
    CHECK_FALSE(j.torn_tail);
    REQUIRE(j.ranges.size() == 3);
    CHECK(j.ranges[2].range == token_range::closed(201, 300));
    CHECK(slurp(file).substr(0, whole.size()) == whole);

    // A torn first line (killed while writing the header): the file starts over cleanly.
    const auto file2 = dir.path / "j2";
    append_raw(file2, "{\"type\":\"jour");
    {
        bulk::journal_writer w;
        REQUIRE(w.open(file2).ok());
        REQUIRE(w.append(entry(token_range::closed(1, 2), 1)).ok());
    }
    REQUIRE(bulk::read_journal(file2, j).ok());
    CHECK(j.ranges.size() == 1);
}

TEST_CASE("a damaged line before the end is an error, not silently skipped", "[bulk][journal]") {
    temp_dir dir;
    const auto file = dir.path / "journal.jsonl";
    append_raw(file, "{\"type\":\"journal\",\"version\":1}\n{\"type\":\"range\",\"sta\n{\"type\":\"range\",\"start\":1,\"end\":2}\n");
    bulk::journal_contents j;
    auto st = bulk::read_journal(file, j);
    CHECK(st.code == bulk::errc::bad_journal);
    CHECK(st.message.find("line 2") != std::string::npos);
    const std::string bad_entries[] = {
        "{\"type\":\"range\",\"start\":\"1\",\"end\":2}\n",                       // token as a string
        "{\"type\":\"range\",\"start\":1,\"end\":9223372036854775808}\n",         // out of range
        "{\"type\":\"range\",\"start\":1,\"end\":2,\"rows\":-1}\n",               // negative count
        "{\"type\":\"range\",\"start\":1,\"end\":2,\"checksum\":\"abc\"}\n",      // short checksum
        "{\"type\":\"input\",\"offset\":3}\n",                                    // no file
        "{\"type\":\"journal\",\"version\":2}\n",                                 // from the future
        "[1,2]\n",
    };
    for (const auto& line : bad_entries) {
        std::filesystem::remove(file);
        append_raw(file, line);
        INFO(line);
        CHECK(bulk::read_journal(file, j).code == bulk::errc::bad_journal);
    }
    // Unknown entry types (a newer writer) are skipped.
    std::filesystem::remove(file);
    append_raw(file, "{\"type\":\"note\",\"text\":\"hi\"}\n{\"type\":\"range\",\"start\":1,\"end\":2}\n");
    REQUIRE(bulk::read_journal(file, j).ok());
    CHECK(j.ranges.size() == 1);
}

TEST_CASE("resume: done ranges are skipped and the rest is exactly what is left", "[bulk][journal]") {
    temp_dir dir;
    const auto file = dir.path / "journal.jsonl";
    std::vector<bulk::replica_range> plan;
    for (auto& r : bulk::split_ranges(std::vector<bulk::replica_range>{{token_range::full_ring(), {}}}, 16)) plan.push_back(r);
    {
        bulk::journal_writer w;
        REQUIRE(w.open(file).ok());
        for (std::size_t i = 0; i < plan.size(); i += 3) REQUIRE(w.append(entry(plan[i].range, i)).ok());
    }
    bulk::journal_contents j;
    REQUIRE(bulk::read_journal(file, j).ok());
    auto rest = bulk::subtract_ranges(plan, bulk::done_ranges(j));
    CHECK(rest.size() == plan.size() - (plan.size() + 2) / 3);
    for (const auto& r : rest)
        for (const auto& d : j.ranges) CHECK_FALSE(r.range.contains(d.range.end));

    // Load progress: the furthest entry per file; complete wins.
    j.inputs = {{"a.csv", 100, 10, 9, false, {}}, {"a.csv", 300, 30, 29, false, {}}, {"a.csv", 200, 20, 19, false, {}},
                {"b.csv", 50, 5, 5, true, {}}, {"b.csv", 10, 1, 1, false, {}}};
    auto progress = bulk::input_progress(j);
    CHECK(progress.at("a.csv").offset == 300);
    CHECK(progress.at("b.csv").complete);
}

TEST_CASE("merging journals never counts a range twice", "[bulk][journal]") {
    // Two workers, halves of the ring; worker 2 was restarted and journaled a range again.
    const auto w1 = bulk::worker_slice({1, 2});
    const auto w2 = bulk::worker_slice({2, 2});
    bulk::journal_contents j1, j2;
    j1.ranges = {entry(token_range::closed(w1.first(), -1000), 10), entry(token_range::closed(-999, w1.end), 20)};
    j2.ranges = {entry(token_range::closed(w2.first(), 5000), 30), entry(token_range::closed(5001, w2.end), 40),
                 entry(token_range::closed(w2.first(), 5000), 30)};
    j1.inputs = {{"x.csv", 10, 1, 1, false, {}}};
    j2.inputs = {{"x.csv", 20, 2, 2, false, {}}};
    const bulk::journal_contents both[] = {j1, j2, j1};  // j1 merged twice, too
    bulk::merge_result m;
    REQUIRE(bulk::merge_journals(both, m).ok());
    CHECK(m.rows == 100);
    CHECK(m.ranges.size() == 4);
    CHECK(m.duplicates == 3);
    CHECK(m.inconsistent == 0);
    CHECK(m.complete());
    CHECK(m.checksum == j1.ranges[0].checksum + j1.ranges[1].checksum + j2.ranges[0].checksum + j2.ranges[1].checksum);
    CHECK(m.range_latency.count == 4);
    CHECK(m.range_latency.min_ms == 11.5);
    CHECK(m.range_latency.max_ms == 41.5);
    CHECK(m.inputs.at("x.csv").offset == 20);
    // Ring order whatever the input order.
    CHECK(std::is_sorted(m.ranges.begin(), m.ranges.end(),
                         [](const bulk::range_entry& a, const bulk::range_entry& b) { return a.range < b.range; }));

    // A re-read range with other contents still counts once, flagged.
    bulk::journal_contents j3;
    j3.ranges = {entry(token_range::closed(5001, w2.end), 41)};
    const bulk::journal_contents changed[] = {j1, j2, j3};
    REQUIRE(bulk::merge_journals(changed, m).ok());
    CHECK(m.rows == 100);
    CHECK(m.inconsistent == 1);

    // Missing work is reported.
    const bulk::journal_contents only_first[] = {j1};
    REQUIRE(bulk::merge_journals(only_first, m).ok());
    CHECK_FALSE(m.complete());
    CHECK(m.missing == std::vector<token_range>{w2});
    // ... against an expected sub-range too.
    const token_range expected[] = {token_range::closed(-5, 5)};
    REQUIRE(bulk::merge_journals(only_first, m, expected).ok());
    CHECK(m.missing == std::vector<token_range>{token_range::closed(0, 5)});

    // Overlapping but different ranges cannot be merged without double counting.
    bulk::journal_contents j4;
    j4.ranges = {entry(token_range::closed(-2000, 0), 7)};
    const bulk::journal_contents overlapping[] = {j1, j4};
    CHECK(bulk::merge_journals(overlapping, m).code == bulk::errc::range_conflict);
}

TEST_CASE("concurrent appends keep whole lines", "[bulk][journal]") {
    temp_dir dir;
    const auto file = dir.path / "journal.jsonl";
    bulk::journal_writer w;
    REQUIRE(w.open(file).ok());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 100; ++i) {
                const bulk::token start = static_cast<bulk::token>(t) * 1'000'000 + i * 10;
                (void)w.append(entry(token_range::closed(start, start + 5), static_cast<std::uint64_t>(i)));
            }
        });
    for (auto& th : threads) th.join();
    w.close();
    bulk::journal_contents j;
    REQUIRE(bulk::read_journal(file, j).ok());
    CHECK(j.ranges.size() == 400);
    bulk::merge_result m;
    const bulk::journal_contents js[] = {j};
    REQUIRE(bulk::merge_journals(js, m).ok());
    CHECK(m.duplicates == 0);
    CHECK(m.rows == 4 * (99 * 100 / 2));
}

TEST_CASE("run summaries: JSON round trip, file, merge", "[bulk][journal]") {
    bulk::run_summary a;
    a.operation = "unload";
    a.rows = 1000;
    a.bytes = 123456789012ull;
    a.errors = 2;
    a.retries = 3;
    a.ranges = 16;
    a.elapsed_seconds = 12.25;
    for (double ms : {4.0, 1.5, 9.75}) a.range_latency.add(ms);
    a.checksum = {1, 2, 1000};
    CHECK(a.range_latency.min_ms == 1.5);
    CHECK(a.range_latency.max_ms == 9.75);
    CHECK(a.range_latency.avg_ms() == Approx(5.0833333));

    bulk::run_summary back;
    REQUIRE(bulk::run_summary::from_json(a.to_json(), back).ok());
    CHECK(back == a);

    temp_dir dir;
    REQUIRE(bulk::write_summary(dir.path / "summary.json", a).ok());
    REQUIRE(bulk::read_summary(dir.path / "summary.json", back).ok());
    CHECK(back == a);
    CHECK_FALSE(std::filesystem::exists(dir.path / "summary.json.tmp"));
    CHECK(bulk::read_summary(dir.path / "nope.json", back).code == bulk::errc::io_error);

    bulk::run_summary b;
    b.operation = "unload";
    b.rows = 5;
    b.elapsed_seconds = 20;
    b.range_latency.add(0.5);
    b.checksum = {10, 20, 5};
    auto m = a;
    m.merge(b);
    CHECK(m.rows == 1005);
    CHECK(m.elapsed_seconds == 20);  // workers ran side by side
    CHECK(m.range_latency.count == 4);
    CHECK(m.range_latency.min_ms == 0.5);
    CHECK(m.range_latency.max_ms == 9.75);
    CHECK(m.checksum == bulk::table_checksum{11, 22, 1005});
    auto m2 = b;
    m2.merge(a);
    CHECK(m2 == m);
    bulk::run_summary empty;
    empty.merge(a);
    CHECK(empty == a);

    CHECK(bulk::run_summary::from_json("{\"rows\":\"many\"}", back).code == bulk::errc::bad_json);
    CHECK(bulk::run_summary::from_json("{\"rows\":1", back).code == bulk::errc::bad_json);
    CHECK(bulk::run_summary::from_json("{\"checksum\":\"xyz\"}", back).code == bulk::errc::bad_json);
}

TEST_CASE("bad-records file keeps the record and the reason", "[bulk][journal]") {
    temp_dir dir;
    const auto file = dir.path / "bad" / "load.bad.jsonl";
    {
        bulk::bad_records_writer w;
        REQUIRE(w.open(file).ok());
        REQUIRE(w.append({"in.csv", 12, 345, "line 12, field 1 (\"k\", int): not a valid int: 'x'", "x,\"multi\nline\""}).ok());
        REQUIRE(w.append({"in.csv", 13, 400, "invalid UTF-8", std::string("a\xff\xfe", 3)}).ok());
        CHECK(w.count() == 2);
    }
    std::vector<bulk::bad_record> back;
    REQUIRE(bulk::read_bad_records(file, back).ok());
    REQUIRE(back.size() == 2);
    CHECK(back[0].source == "in.csv");
    CHECK(back[0].line == 12);
    CHECK(back[0].offset == 345);
    CHECK(back[0].data == "x,\"multi\nline\"");
    CHECK(back[0].reason.find("not a valid int") != std::string::npos);
    CHECK(back[1].data == std::string("a\xff\xfe", 3));  // bytes kept exactly
    // One line per record, even with newlines in the data.
    const auto text = slurp(file);
    CHECK(std::count(text.begin(), text.end(), '\n') == 2);

    bulk::bad_records_writer closed;
    CHECK(closed.append({}).code == bulk::errc::io_error);
    bulk::journal_writer jw;
    CHECK(jw.append(bulk::range_entry{}).code == bulk::errc::io_error);
    // An unwritable place gives an error, not an exception.
    append_raw(dir.path / "file", "x");
    CHECK(jw.open(dir.path / "file" / "journal").code == bulk::errc::io_error);
}
