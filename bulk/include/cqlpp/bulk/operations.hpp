// Bulk operations over a live cluster: count, unload, load and checksum a
// whole table (or a token range of it) through one driver::session.
//
//   auto r = co_await cqlpp::bulk::count(*session, {.keyspace = "ks", .table = "t"});
//   if (!r.ok()) std::cerr << r.message;   // r.summary still holds what was done
//   std::cout << r.summary.rows;
//
// Scans (count, unload, checksum) plan the ring with plan_ranges() (vnode
// ranges, split, restricted to --where-token-range and a --worker share) and
// read every range with a prepared, paged, idempotent
//   SELECT ... FROM ks.t WHERE token(pk) > ? AND token(pk) <= ?
// routed to a replica of the range (statement_options::routing_token = its
// end). `concurrency` ranges are in flight at once (default 2 × hosts), each
// page stream one page ahead, so memory is bounded by concurrency × 2 pages.
// A page that fails is retried from the same paging state (the driver's
// retry policy has already tried the other replicas) after a backoff; rows of
// the pages before it are kept, so nothing is read twice. A range that still
// fails is an error (recorded in the bad-records file, not in the journal, so
// a resumed run reads it again); more errors than `max_errors` stop the run.
//
// With a run directory, every finished range (rows, checksum, bytes, time) is
// appended to run_dir/journal.jsonl as soon as it is done (and, for unload,
// its file renamed into place first). Resuming subtracts the journal's ranges
// from the plan, so an interrupted run never counts or writes a range twice;
// its summary then covers the journal (earlier runs) plus this run.
//
// Unload writes one file per range into output_dir, named
// range_<first>_<last>.csv (or .json), with a header line for CSV, written as
// a .part file and renamed when the range is complete.
//
// Load reads CSV (header line required unless `header` is false) or JSON-lines
// files, parses each record against the table's columns (codec.hpp), and
// writes it with a prepared INSERT (columns missing from the file are left
// unset). Records with the same partition key that arrive close together go
// as one UNLOGGED batch. At most `concurrency` requests are in flight. The
// journal records, per file, the offset below which every record is loaded
// or rejected; resuming skips those records. Rejected records (parse errors,
// or inserts failing after retries) go to run_dir/bad_records.jsonl with the
// reason.
//
// Nothing throws for bad data or a failing cluster: the result says what
// happened, and its summary holds the partial results.
//
// The functions copy their arguments before their first suspension, so
// co_await them directly. With GCC 12, pass lvalues (build the options and a
// progress_callback variable first): a temporary made inside the co_await
// expression, such as a lambda converted to std::function, may be destroyed
// twice by that compiler.
#pragma once

#include "cqlpp/bulk/error.hpp"
#include "cqlpp/bulk/iceberg.hpp"
#include "cqlpp/bulk/journal.hpp"
#include "cqlpp/bulk/parquet.hpp"
#include "cqlpp/bulk/ranges.hpp"
#include "cqlpp/driver/session.hpp"

#include <asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cqlpp::bulk {

enum class data_format { csv, json, parquet };

struct operation_options {
    std::string keyspace;
    std::string table;
    // Splits, --where-token-range, --worker (scans only).
    plan_options plan;
    // Ranges (scans) or requests (load) in flight; 0: 2 × hosts in the ring.
    std::size_t concurrency = 0;
    std::optional<protocol::consistency> consistency;  // unset: the session's
    std::int32_t page_size = 5000;
    std::chrono::milliseconds request_timeout{30000};

    // count: SELECT count(*) per range (the server counts) when true, else
    // page through the partition key columns and count rows here (as DSBulk).
    bool server_side_count = true;

    data_format format = data_format::csv;
    std::filesystem::path output_dir;  // unload
    // load: files, or directories whose *.csv / *.json / *.jsonl files are read (sorted by name).
    std::vector<std::filesystem::path> inputs;
    bool header = true;        // CSV input has a header line
    char delimiter = ',';
    parquet_write_options parquet;  // unload --format parquet: one file per range (docs/parquet.md)
    // unload --format iceberg (docs/iceberg.md): rows are split by the plan's
    // partition spec into one data file per partition value per range
    // (range_<first>_<last>.parquet, or .p<N>.parquet when partitioned), each
    // file's column metrics are gathered, and the range's files are listed in
    // range_<first>_<last>.files.json before the range is journaled. A range
    // with no rows gets no data file.
    std::shared_ptr<const iceberg_write_plan> iceberg;
    std::size_t max_open_partitions = 64;  // partition values of one range; more is an error
    std::size_t max_batch_rows = 32;  // rows of one partition per UNLOGGED batch; 1: no batches

    // Journal (journal.jsonl), summary (summary.json) and bad records
    // (bad_records.jsonl) go here; empty: unload uses output_dir, the other
    // operations keep no journal. A journal already there is an error unless
    // `resume`.
    std::filesystem::path run_dir;
    bool resume = false;
    bool sync_journal = false;  // fsync every journal entry

    int max_retries = 5;  // per page / per write, after the driver's own retries
    std::chrono::milliseconds retry_backoff{100};  // doubled per attempt, at most 2 s
    std::uint64_t max_errors = 100;  // error budget: more failed ranges / rejected records stop the run

    // Stop once this many ranges (scans) or records (load) are done in this
    // run (0: no limit): an interrupted run, for tests and for doing a share.
    std::uint64_t max_ranges = 0;
    std::uint64_t max_records = 0;
    // Set from anywhere to stop the run (in-flight ranges are abandoned, not journaled).
    std::shared_ptr<std::atomic<bool>> stop;

    std::chrono::milliseconds progress_interval{1000};
};

struct progress {
    std::string operation;
    std::uint64_t ranges_done = 0;   // including ranges done by earlier runs (resume)
    std::uint64_t ranges_total = 0;  // scans; load: 0
    std::uint64_t rows = 0;          // this run
    std::uint64_t bytes = 0;         // unload output / load input bytes, this run
    std::uint64_t errors = 0;
    std::uint64_t retries = 0;
    double elapsed_seconds = 0;
    double rows_per_second = 0;
    std::optional<double> eta_seconds;  // from ranges (scans) or input bytes (load)
    std::optional<double> fraction;     // of the job done, 0..1: ranges (scans) or input bytes (load)
    bool final = false;
    bool stopped = false;  // stopped before the end: a signal, --max-*, or a fatal error
};
using progress_callback = std::function<void(const progress&)>;

struct operation_result {
    std::error_code ec;
    std::string message;
    // Whole job: journal entries from earlier runs plus this run (rows,
    // checksum, ranges); errors/retries/bytes/elapsed/latency of this run.
    run_summary summary;
    std::uint64_t rows_this_run = 0;
    std::uint64_t ranges_resumed = 0;  // skipped because the journal had them
    std::uint64_t ranges_planned = 0;  // in this run's scope (before resume)
    std::vector<range_entry> ranges;   // finished in this run (count: per-range rows)
    std::map<std::string, std::uint64_t> rows_per_host;  // coordinator -> rows (this run)
    bool started = false;  // false: failed before doing any work (nothing to summarise)
    bool ok() const noexcept { return !ec; }
};

asio::awaitable<operation_result> count(driver::session& s, const operation_options& o,
                                        const progress_callback& cb = {});
asio::awaitable<operation_result> unload(driver::session& s, const operation_options& o,
                                        const progress_callback& cb = {});
asio::awaitable<operation_result> load(driver::session& s, const operation_options& o,
                                        const progress_callback& cb = {});
// An order-independent checksum of every row (summary.checksum), reading all
// columns in table order; equal to the checksum of an unload of the table and
// of a load of those files.
asio::awaitable<operation_result> checksum(driver::session& s, const operation_options& o,
                                        const progress_callback& cb = {});

// The table's columns in metadata order (partition key, clustering, others)
// as column specs: the order unload writes and checksums use.
std::vector<protocol::column_spec> table_columns(const driver::table_metadata& t);

// The same columns with their types as the server describes them in a
// prepared SELECT's result metadata (user types with their fields, which
// schema metadata may lack): what unload writes and load parses with.
asio::awaitable<status> resolve_columns(driver::session& s, const std::string& keyspace, const std::string& table,
                                        std::vector<protocol::column_spec>& out);

// Files of `inputs` a load reads, in order (directories expanded, sorted;
// a run directory's journal.jsonl, bad_records.jsonl and summary.json skipped).
status list_input_files(const std::vector<std::filesystem::path>& inputs, data_format format,
                        std::vector<std::filesystem::path>& out);

// The file name an unload gives a range ("range_<first>_<last>.csv").
std::string range_file_name(const token_range& r, data_format format);

}  // namespace cqlpp::bulk
