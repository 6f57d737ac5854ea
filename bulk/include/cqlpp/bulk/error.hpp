// Errors of the bulk layer ("cqlpp.bulk").
//
// Nothing in bulk/ throws on bad input (text, files, journals): functions
// return a `status`, an error_code plus a message that says where and why
// ("line 12, field 3 (\"age\", int): not an integer: 'x1'"), so a loader can
// write it next to the rejected record and go on.
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace cqlpp::bulk {

enum class errc : int {
    ok = 0,
    bad_csv,          // RFC 4180 syntax: stray quote, text after a closing quote, unterminated quote at end
    bad_json,         // JSON syntax, or a JSON value of the wrong shape for the CQL type
    bad_value,        // text that is not a value of the column's type ("x1" for int)
    field_count,      // a CSV record with more or fewer fields than columns
    unknown_column,   // a header / JSON key that names no column
    duplicate_column, // a header naming one column twice
    bad_token_range,  // "--where-token-range A:B" / "--worker I/N" syntax or bounds
    bad_journal,      // a journal line that is not the last one cannot be read
    bad_checksum,     // a checksum string that is not 48 hex digits
    io_error,         // a file could not be opened, read or written (message has the OS reason)
    range_conflict,   // journals record overlapping but different ranges: counts cannot be trusted
    no_such_table,    // the keyspace or table is not in the cluster's schema
    request_failed,   // a query failed after every retry (message has the driver's error)
    too_many_errors,  // the run's error budget was exceeded; it stopped (partial results kept)
    interrupted,      // the run was stopped (stop flag / max_ranges) before finishing
    journal_exists,   // a run directory already holds a journal and resume was not asked for
    bad_parquet,      // a Parquet file that cannot be read (message says where and why)
    bad_iceberg,      // Iceberg table metadata, manifest or manifest list that cannot be read or used
    commit_conflict,  // an Iceberg commit lost to other writers (or the schema changed under it)
};

const std::error_category& bulk_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), bulk_category()}; }
std::string_view to_string(errc e) noexcept;

// The outcome of an operation: empty code on success.
struct status {
    std::error_code code;
    std::string message;

    status() = default;
    status(std::error_code c, std::string m) : code(c), message(std::move(m)) {}
    status(errc e, std::string m) : code(make_error_code(e)), message(std::move(m)) {}

    bool ok() const noexcept { return !code; }
    explicit operator bool() const noexcept { return ok(); }
};

}  // namespace cqlpp::bulk

template <>
struct std::is_error_code_enum<cqlpp::bulk::errc> : std::true_type {};
