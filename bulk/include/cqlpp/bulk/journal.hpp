// Checkpoint/resume, run summaries, merging workers, bad-records files.
//
// A run directory holds an append-only journal: one JSON object per line,
// written with a single write() per entry (and fsync'd when asked), so a
// killed process leaves at most a torn last line. Reading skips such a line;
// reopening for append cuts it off first, so new entries never glue onto it.
//   {"type":"journal","version":1}
//   {"type":"range","start":-9223372036854775808,"inclusive":true,"end":-42,"rows":17,
//    "checksum":"<48 hex>","bytes":1234,"ms":3.5}
//   {"type":"input","file":"a.csv","offset":1048576,"record":5000,"rows":4999,
//    "checksum":"<48 hex>","complete":false}
// An unload/count records each finished range; resuming skips
// done_ranges() (subtract_ranges in ranges.hpp), even with another split.
// A load records, per input file, how far every record is loaded (all
// records before `offset` / `record`); resuming seeks there.
#pragma once

#include "cqlpp/bulk/checksum.hpp"
#include "cqlpp/bulk/error.hpp"
#include "cqlpp/bulk/ranges.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cqlpp::bulk {

struct range_entry {
    token_range range;
    std::uint64_t rows = 0;
    table_checksum checksum;  // of this range's rows
    std::uint64_t bytes = 0;  // output bytes written for it
    double ms = 0;            // time to read it
    friend bool operator==(const range_entry&, const range_entry&) = default;
};

struct input_entry {
    std::string file;
    std::uint64_t offset = 0;  // every record before this byte offset is loaded
    std::uint64_t record = 0;  // ... and this record index
    std::uint64_t rows = 0;    // rows loaded from the file so far
    bool complete = false;     // the whole file is loaded
    table_checksum checksum;   // of the rows loaded from the file so far (all runs)
    friend bool operator==(const input_entry&, const input_entry&) = default;
};

struct journal_contents {
    std::vector<range_entry> ranges;
    std::vector<input_entry> inputs;
    bool torn_tail = false;  // the last line was incomplete and skipped
};

// Reads a journal. A missing file is an empty journal. bad_journal (with the
// line number) for a complete line that cannot be read; io_error for an
// unreadable file.
status read_journal(const std::filesystem::path& file, journal_contents& out);

// Tokens finished according to the journal (pass to subtract_ranges).
std::vector<token_range> done_ranges(const journal_contents& j);
// Per input file, its furthest progress (the entry with the largest offset; complete wins).
std::map<std::string, input_entry> input_progress(const journal_contents& j);

class journal_writer {
public:
    journal_writer() = default;
    ~journal_writer();
    journal_writer(const journal_writer&) = delete;
    journal_writer& operator=(const journal_writer&) = delete;

    // Opens (creating the file and its directories) for appending; a torn
    // last line is truncated away. `sync`: fsync after every entry (survives
    // power loss, not just a killed process).
    status open(const std::filesystem::path& file, bool sync = false);
    bool is_open() const noexcept { return fd_ >= 0; }
    // Thread-safe; each entry is on disk (in the OS) when this returns.
    status append(const range_entry& e);
    status append(const input_entry& e);
    void close() noexcept;

private:
    status write_line(std::string line);
    std::mutex mutex_;
    int fd_ = -1;
    bool sync_ = false;
    std::filesystem::path path_;
};

// ---- Summaries ----------------------------------------------------------------

struct latency_stats {
    std::uint64_t count = 0;
    double min_ms = 0, max_ms = 0, sum_ms = 0;

    void add(double ms) noexcept;
    void merge(const latency_stats& o) noexcept;
    double avg_ms() const noexcept { return count ? sum_ms / static_cast<double>(count) : 0; }
    friend bool operator==(const latency_stats&, const latency_stats&) = default;
};

struct run_summary {
    std::string operation;  // "unload", "load", "count"
    std::uint64_t rows = 0;
    std::uint64_t bytes = 0;
    std::uint64_t errors = 0;   // rejected records / failed ranges
    std::uint64_t retries = 0;
    std::uint64_t ranges = 0;   // ranges (or input files) finished
    double elapsed_seconds = 0;
    latency_stats range_latency;
    table_checksum checksum;

    // Sums counts, merges checksums and latencies; elapsed is the longest
    // (workers run side by side). Operations must match unless one is empty.
    void merge(const run_summary& o);
    // One JSON object; latency as {"count":..,"min_ms":..,"avg_ms":..,"max_ms":..,"sum_ms":..}.
    std::string to_json() const;
    static status from_json(std::string_view text, run_summary& out);
    friend bool operator==(const run_summary&, const run_summary&) = default;
};

// Writes atomically (temporary file, then rename), so readers never see half a summary.
status write_summary(const std::filesystem::path& file, const run_summary& s);
status read_summary(const std::filesystem::path& file, run_summary& out);

// Several workers' (or runs') journals as one result. A range recorded more
// than once (a retried or resumed worker) counts once: the first entry wins,
// and `duplicates` says how many were dropped (`inconsistent` of them with
// other rows or checksum, i.e. the data changed in between). Overlapping but
// different ranges cannot be counted without counting rows twice:
// range_conflict. `missing`: tokens of `expected` no entry covers.
struct merge_result {
    std::vector<range_entry> ranges;  // distinct, in ring order
    std::uint64_t rows = 0;
    table_checksum checksum;
    latency_stats range_latency;
    std::uint64_t bytes = 0;
    std::size_t duplicates = 0;
    std::size_t inconsistent = 0;
    std::vector<token_range> missing;
    std::map<std::string, input_entry> inputs;  // furthest progress per input file
    bool complete() const noexcept { return missing.empty(); }
};
status merge_journals(std::span<const journal_contents> journals, merge_result& out,
                      std::span<const token_range> expected = {});  // empty: the whole ring

// ---- Bad records ----------------------------------------------------------------

struct bad_record {
    std::string source;        // input file, or "unload" / a range for read failures
    std::uint64_t line = 0;    // 0 when not from a text input
    std::uint64_t offset = 0;
    std::string reason;
    std::string data;          // the record as read
};

// Appends one JSON object per record: {"source","line","offset","reason","data"}
// (+ "data_hex" when the data is not valid UTF-8, so nothing is lost). Thread-safe.
class bad_records_writer {
public:
    bad_records_writer() = default;
    ~bad_records_writer();
    bad_records_writer(const bad_records_writer&) = delete;
    bad_records_writer& operator=(const bad_records_writer&) = delete;

    status open(const std::filesystem::path& file);
    status append(const bad_record& r);
    std::uint64_t count() const noexcept { return count_; }
    void close() noexcept;

private:
    std::mutex mutex_;
    int fd_ = -1;
    std::uint64_t count_ = 0;
    std::filesystem::path path_;
};

// Reads a bad-records file back (tests, and a later "retry the rejects" command).
status read_bad_records(const std::filesystem::path& file, std::vector<bad_record>& out);

}  // namespace cqlpp::bulk
