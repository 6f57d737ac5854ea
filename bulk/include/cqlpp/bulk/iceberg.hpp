// Apache Iceberg v2 tables on a local filesystem ("Hadoop" layout: a table is
// a directory with data/ and metadata/vN.metadata.json + version-hint.text),
// written and read by `cqlpp bulk unload/load --format iceberg`. Data files
// are our Parquet files (parquet_write_options::iceberg, with field ids);
// manifests and manifest lists are Avro container files (detail/avro.hpp).
// Facts from the Iceberg table spec; docs/iceberg.md says what is written and
// what a commit guarantees.
#pragma once

#include "cqlpp/bulk/error.hpp"
#include "cqlpp/bulk/parquet.hpp"
#include "cqlpp/protocol/result.hpp"
#include "cqlpp/protocol/value.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cqlpp::bulk {

enum class iceberg_mode { append, overwrite };

// DIR/NS/T; the namespace may be dotted ("a.b" -> DIR/a/b/T).
std::filesystem::path iceberg_table_location(const std::filesystem::path& warehouse, const std::string& ns,
                                             const std::string& table);

// ---- Partitioning (--partition-by) ----

enum class iceberg_transform { identity, bucket, truncate, year, month, day, hour };

struct iceberg_partition_field {
    std::size_t column = 0;  // index into the plan's columns
    std::int32_t source_id = 0;
    std::int32_t field_id = 0;  // 1000, 1001, ... (last-partition-id + 1 for a new spec)
    std::string name;           // "k_bucket", "name_trunc", "ts_day", "k" (identity)
    iceberg_transform transform = iceberg_transform::identity;
    std::int32_t buckets = 0;   // bucket[N]
    std::int32_t width = 0;     // truncate[W]
    std::string result_type;    // Iceberg type of the partition value: "int" for bucket and the time
                                // transforms, the source's for identity and truncate
    std::string transform_text() const;  // "identity", "bucket[16]", "truncate[4]", "day"...
};

// One partition value of a data file (a field of its partition tuple).
struct iceberg_partition_value {
    bool null = true;
    std::int64_t i = 0;  // int, long, date, time, timestamptz, boolean (0/1)
    std::string s;       // string, binary, uuid (16 bytes, big-endian)
    friend bool operator==(const iceberg_partition_value&, const iceberg_partition_value&) = default;
};

// murmur3_x86_32 with seed 0 (the Iceberg spec's 32-bit hash, Appendix B).
std::int32_t iceberg_murmur3_32(std::string_view bytes) noexcept;
// The spec's hash of a value of Iceberg type `iceberg_type` ("int", "long",
// "date", "time", "timestamptz", "string", "uuid", "binary") given as the CQL
// value a row holds (timestamp ms, time ns, date in the wire form...).
// false: null, or a type bucket does not hash.
bool iceberg_bucket_hash(std::string_view iceberg_type, const protocol::cql_value& v, std::int32_t& hash);

// ---- Column metrics of a data file (manifest data_file fields 108-110, 125, 128, 137) ----

struct iceberg_column_metrics {
    std::int32_t id = 0;
    std::uint64_t values = 0, nulls = 0;           // value_counts includes nulls (and NaNs)
    std::optional<std::uint64_t> nans;             // float and double columns: NaN values (nan_value_counts)
    std::optional<std::string> lower, upper;       // single-value binary serialization
};

// What a manifest says about one data file.
struct iceberg_file_stats {
    std::vector<iceberg_partition_value> partition;  // one per spec field
    std::vector<iceberg_column_metrics> metrics;     // top-level primitive columns
    std::vector<std::pair<std::int32_t, std::uint64_t>> column_sizes;  // leaf field id -> bytes in the file
};

// What an unload needs before writing data files: the Iceberg schema of the
// table's columns, with the ids of the table's current schema kept for
// columns of the same name and type, new ids for the others.
struct iceberg_write_plan {
    std::filesystem::path location;  // absolute
    std::vector<protocol::column_spec> columns;
    std::vector<std::int32_t> field_ids;  // for parquet_write_options::field_ids
    std::string schema_fields;            // the schema's "fields" array (JSON)
    std::int32_t schema_id = 0;
    bool new_schema = true;  // the table has no schema equal to this one
    std::int32_t last_column_id = 0;
    std::int32_t base_last_column_id = 0;  // of the metadata the plan was made from
    std::uint64_t base_version = 0;        // 0: no table yet
    std::vector<std::string> column_types;  // Iceberg type of each top-level column ("" for nested types)

    // The partition spec (--partition-by): an equal spec of the table keeps
    // its id, another one is added as a new spec (partition evolution).
    std::vector<iceberg_partition_field> partition;
    std::int32_t spec_id = 0;
    bool new_spec = false;
    std::string spec_fields = "[]";       // the spec's "fields" array (JSON)
    std::int32_t last_partition_id = 999;
    std::string specs_base;               // the table's partition-specs when planned (JSON), for commit checks
};
// partition_by: "bucket(16, k), day(ts)", "identity(k)" or "k", "truncate(4, name)",
// "month(ts)", "year(ts)", "hour(ts)"; empty: unpartitioned (spec 0).
status iceberg_plan_write(const std::filesystem::path& location, const std::vector<protocol::column_spec>& columns,
                          iceberg_write_plan& out, std::string_view partition_by = {});

// What a commit needs of a plan (everything but the columns), as JSON: the
// worker manifest of `bulk unload --worker` keeps it for `bulk commit`.
std::string iceberg_plan_json(const iceberg_write_plan& plan);
status iceberg_parse_plan_json(std::string_view text, iceberg_write_plan& out);

// The partition tuple of a row (values in the plan's column order). Never fails
// for a row the Parquet writer accepts; a value of an unexpected kind is null.
void iceberg_partition_of(const iceberg_write_plan& plan, std::span<const protocol::cql_value> row,
                          std::vector<iceberg_partition_value>& out);
// The same from the cells of a result row (CQL types from plan.columns),
// decoding only the partition source columns, without cql_values. False when
// such a cell has the wrong size for its type (decode_row() would reject the
// row); other bad bytes (UTF-8, time range...) are for the writer to reject.
bool iceberg_partition_of(const iceberg_write_plan& plan, std::span<const protocol::value_view> cells,
                          std::vector<iceberg_partition_value>& out);
// Human-readable "k_bucket=3/ts_day=2024-01-05".
std::string iceberg_partition_text(const iceberg_write_plan& plan, const std::vector<iceberg_partition_value>& p);

// Per data file: value and null counts and lower/upper bounds of the
// top-level primitive columns (docs/iceberg.md says which types get bounds).
class iceberg_metrics_builder {
public:
    explicit iceberg_metrics_builder(const iceberg_write_plan& plan);
    void add(std::span<const protocol::cql_value> row);
    // The same from the cells of a result row the Parquet writer accepted
    // (plan.columns' types), without cql_values.
    void add(std::span<const protocol::value_view> cells);
    // The same from a Parquet writer's row groups (parquet_write_options::on_chunk
    // of an Iceberg-mode writer of plan.columns): the values as the file holds
    // them, a row group at a time, instead of row by row.
    void add_chunk(const parquet_chunk_view& chunk);
    std::vector<iceberg_column_metrics> finish() const;

private:
    struct col {
        std::size_t index = 0;
        std::int32_t id = 0;
        int kind = 0;   // see iceberg.cpp
        int itype = 0;  // Iceberg type (iceberg.cpp's ice_type)
        protocol::cql_type type;  // CQL type, to read cells
        bool empty_is_null = true;  // a zero-length cell is an "empty" value, counted as null
        std::uint64_t values = 0, nulls = 0, nans = 0;
        bool have = false;
        std::int64_t imin = 0, imax = 0;
        double dmin = 0, dmax = 0;
        std::string smin, smax;
    };
    std::vector<col> cols_;
};

struct iceberg_data_file {
    std::filesystem::path path;
    std::uint64_t rows = 0;
    std::uint64_t bytes = 0;
    iceberg_file_stats stats;  // partition must match the plan's spec (empty when unpartitioned)
};

// The data files an unload wrote for one range, as JSON (file names relative
// to `dir`): range_<first>_<last>.files.json beside them, written before the
// range is journaled. Parsing is bounds-checked (bad_iceberg on a bad file).
std::string iceberg_files_json(const std::vector<iceberg_data_file>& files, const std::filesystem::path& dir);
status iceberg_parse_files_json(std::string_view text, const std::filesystem::path& dir,
                                std::vector<iceberg_data_file>& out);

struct iceberg_commit_result {
    std::int64_t snapshot_id = 0;
    std::int64_t sequence_number = 0;
    std::uint64_t version = 0;  // vN.metadata.json written
    std::uint64_t total_files = 0, total_rows = 0;
    int attempts = 0;
    bool already_committed = false;  // `job` was in the table: nothing written, snapshot_id is its snapshot
    // commit_conflict because other writers kept committing first (not a schema
    // or spec change): the same files may be committed again later.
    bool lost_to_writers = false;
};
// Writes a manifest of `files`, a manifest list (with the current snapshot's
// manifests too when appending) and vN+1.metadata.json, created with link()
// so that of two writers of the same N+1 one fails; it then re-reads the
// table and tries again (a schema changed meanwhile is a conflict error).
// A non-empty `job` is recorded in the snapshot's summary ("cqlpp.job") and
// checked in the metadata each attempt builds on: a job already there is not
// committed again (already_committed), so concurrent or repeated commits of
// one job make one snapshot.
status iceberg_commit(const iceberg_write_plan& plan, const std::vector<iceberg_data_file>& files, iceberg_mode mode,
                      iceberg_commit_result& out, std::string_view job = {});

struct iceberg_snapshot {
    std::int64_t id = 0;
    std::optional<std::int64_t> parent;
    std::int64_t sequence_number = 0;
    std::int64_t timestamp_ms = 0;
    std::string operation;
    std::string manifest_list;
    std::optional<std::int32_t> schema_id;
    std::vector<std::pair<std::string, std::string>> summary;
};
struct iceberg_table_info {
    std::uint64_t version = 0;
    int format_version = 0;
    std::string uuid, location;
    std::optional<std::int64_t> current_snapshot;
    std::vector<iceberg_snapshot> snapshots;
    std::int32_t current_schema_id = 0;
    std::string current_schema;  // JSON, as in the metadata
    std::int32_t schema_count = 0;
    std::vector<std::pair<std::int32_t, std::string>> schemas;  // every schema: id, JSON
    std::string partition_specs = "[]", sort_orders = "[]";    // JSON arrays, as in the metadata
    std::int32_t default_spec_id = 0, default_sort_order_id = 0;
    std::int64_t last_updated_ms = 0;
};
status iceberg_read_table(const std::filesystem::path& location, iceberg_table_info& out);

// The snapshot to read: `id`, or the last one committed at or before
// `as_of_ms`, or the current one.
status iceberg_select_snapshot(const iceberg_table_info& t, std::optional<std::int64_t> id,
                               std::optional<std::int64_t> as_of_ms, std::int64_t& out);
// Live data files of a snapshot (manifest list -> manifests -> entries not
// DELETED). Delete files and non-Parquet data files are errors.
status iceberg_snapshot_files(const std::filesystem::path& location, const iceberg_table_info& t,
                              std::int64_t snapshot_id, std::vector<iceberg_data_file>& out);

// "1733390000000" or an ISO 8601 UTC time ("2026-12-05T08:00:00Z", fraction
// and offset allowed) -> milliseconds since the epoch.
bool parse_iceberg_time(const std::string& s, std::int64_t& ms);

}  // namespace cqlpp::bulk
