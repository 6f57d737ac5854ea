// Apache Iceberg v2 tables on a local filesystem ("Hadoop" layout: a table is
// a directory with data/ and metadata/vN.metadata.json + version-hint.text),
// written and read by `cqlpp bulk unload/load --format iceberg`. Data files
// are our Parquet files (parquet_write_options::iceberg, with field ids);
// manifests and manifest lists are Avro container files (detail/avro.hpp).
// Facts from the Iceberg table spec; docs/iceberg.md says what is written and
// what a commit guarantees.
#pragma once

#include "cqlpp/bulk/error.hpp"
#include "cqlpp/protocol/result.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cqlpp::bulk {

enum class iceberg_mode { append, overwrite };

// DIR/NS/T; the namespace may be dotted ("a.b" -> DIR/a/b/T).
std::filesystem::path iceberg_table_location(const std::filesystem::path& warehouse, const std::string& ns,
                                             const std::string& table);

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
};
status iceberg_plan_write(const std::filesystem::path& location, const std::vector<protocol::column_spec>& columns,
                          iceberg_write_plan& out);

struct iceberg_data_file {
    std::filesystem::path path;
    std::uint64_t rows = 0;
    std::uint64_t bytes = 0;
};

struct iceberg_commit_result {
    std::int64_t snapshot_id = 0;
    std::int64_t sequence_number = 0;
    std::uint64_t version = 0;  // vN.metadata.json written
    std::uint64_t total_files = 0, total_rows = 0;
    int attempts = 0;
};
// Writes a manifest of `files`, a manifest list (with the current snapshot's
// manifests too when appending) and vN+1.metadata.json, created with link()
// so that of two writers of the same N+1 one fails; it then re-reads the
// table and tries again (a schema changed meanwhile is a conflict error).
status iceberg_commit(const iceberg_write_plan& plan, const std::vector<iceberg_data_file>& files, iceberg_mode mode,
                      iceberg_commit_result& out);

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
