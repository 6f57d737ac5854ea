// Parquet files for CQL rows, both directions, written from the format
// specification (apache/parquet-format), no Arrow/Parquet library.
//
// Writer (sans-I/O): bytes are appended to a caller's std::string, which the
// caller writes wherever it wants and clears. Rows are shredded into column
// buffers; a row group is emitted when it holds `row_group_rows` rows or
// about `row_group_bytes` bytes of values, so memory is bounded by one row
// group. Each column chunk is one data page (v1) with RLE/bit-packed
// repetition and definition levels, PLAIN or, for columns with few distinct
// values, a dictionary page and RLE_DICTIONARY indices; compressed with
// snappy, zstd or not at all; statistics (min, max, null count) for the
// types whose order Parquet defines as ours (integers, floats, strings).
//
// Reader: any file whose columns map to the table's (written by us, DuckDB,
// Spark, pyarrow...): data pages v1 and v2, PLAIN, PLAIN_DICTIONARY /
// RLE_DICTIONARY, DELTA_BINARY_PACKED, snappy, zstd, gzip. One row group is
// decoded at a time, within parquet_read_options::max_row_group_bytes. File
// data never crashes the reader (tests/fuzz/fuzz_parquet.cpp): every size and
// count is checked before use and a bad file is one bad_parquet status naming
// what is wrong.
//
// The CQL -> Parquet mapping is in docs/parquet.md.
#pragma once

#include "cqlpp/bulk/error.hpp"
#include "cqlpp/protocol/result.hpp"
#include "cqlpp/protocol/types.hpp"
#include "cqlpp/protocol/value.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace cqlpp::bulk {

enum class parquet_compression { none, snappy, zstd };

// A top-level column's values in a row group being flushed, for statistics of
// the caller's own (the Iceberg unload's column metrics): the PLAIN values of
// the column's first leaf (BOOLEAN: one byte 0/1 each, before bit-packing),
// in row order, and its counts of levels (entries) and nulls.
struct parquet_chunk_view {
    std::size_t column = 0;  // index in the writer's columns
    int physical = 0;        // Parquet physical type: 0 BOOLEAN, 1 INT32, 2 INT64, 4 FLOAT, 5 DOUBLE, 6 BYTE_ARRAY, 7 FLBA
    std::string_view plain;
    std::uint64_t values = 0, entries = 0, nulls = 0;
};

struct parquet_write_options {
    parquet_compression compression = parquet_compression::zstd;
    std::size_t row_group_rows = 131072;
    std::size_t row_group_bytes = 32u << 20;  // of buffered values, before encoding
    int zstd_level = 1;
    bool dictionary = true;  // try dictionary encoding per column chunk
    // add_row appends a row group to `out` as soon as one is full. False: it
    // never does; the caller asks row_group_full() after each row and calls
    // flush_row_group() (from any one thread at a time: the unload encodes and
    // compresses off its I/O thread).
    bool auto_flush = true;
    // Called for every top-level column at each row group's flush, on the
    // thread that flushes, before the chunk is encoded.
    std::function<void(const parquet_chunk_view&)> on_chunk;
    // Iceberg data files (docs/iceberg.md): timestamp as TIMESTAMP(MICROS),
    // time as TIME(MICROS) (nanoseconds truncated), varint as text.
    bool iceberg = false;
    // varint as STRING (its decimal digits, any width) instead of DECIMAL(38, 0),
    // which cannot hold a varint of more than 38 digits (`--varint-as string`).
    bool varint_as_text = false;
    // Parquet field_id of each schema node, in pre-order (a column, then its
    // nested fields), skipping the repeated middle group of a list or map:
    // list -> element, map -> key, value, struct -> its fields, duration ->
    // months, days, nanos. Nodes past the end of the vector have none.
    std::vector<std::int32_t> field_ids;
};

// Parses "zstd", "snappy", "none" / "uncompressed".
bool parse_parquet_compression(std::string_view s, parquet_compression& out);

class parquet_writer {
public:
    // Columns as the table has them (names, CQL types). The file's schema is
    // fixed here; the PAR1 magic is appended by the first add_row/finish.
    explicit parquet_writer(std::vector<protocol::column_spec> columns, parquet_write_options o = {});
    ~parquet_writer();
    parquet_writer(const parquet_writer&) = delete;
    parquet_writer& operator=(const parquet_writer&) = delete;

    // One row (a value per column, in column order). bad_value when a value
    // cannot be represented (wrong kind for the type, varint wider than 38
    // digits without varint_as_text); the row is then not written at all. Appends a whole row group
    // to `out` when one is full.
    status add_row(std::span<const protocol::cql_value> row, std::string& out);
    // The same from the cells of a result row (protocol bytes, null or unset
    // as null), decoded as decode_row() decodes them but without building
    // cql_values for scalar columns (the unload's hot path). An undecodable
    // cell is bad_value with decode_row()'s message.
    status add_row(std::span<const protocol::value_view> cells, std::string& out);
    // Flushes the last row group and appends the footer. No rows after this.
    status finish(std::string& out);
    // The buffered rows reach row_group_rows or row_group_bytes.
    bool row_group_full() const noexcept;
    // Encodes, compresses and appends the buffered rows as a row group (none
    // when there are none).
    status flush_row_group(std::string& out);

    std::uint64_t rows() const noexcept;
    std::uint64_t bytes_written() const noexcept;  // appended to `out` so far
    // Bytes of each leaf column's chunks in the file so far (page headers and
    // compressed pages), keyed by the leaf's field id (leaves without one skipped).
    std::vector<std::pair<std::int32_t, std::uint64_t>> column_sizes() const;

private:
    struct impl;
    std::unique_ptr<impl> p_;
};

// Random access to the file's bytes: read exactly `len` bytes at `offset`
// into `out` (resized by the callee), or return an error status.
using parquet_source = std::function<status(std::uint64_t offset, std::size_t len, std::string& out)>;

struct parquet_read_options {
    // Decoded memory one row group may take (levels, values, pages): a file
    // whose row group needs more is bad_parquet rather than a huge allocation.
    std::uint64_t max_row_group_bytes = std::uint64_t(1) << 30;
};

class parquet_reader {
public:
    explicit parquet_reader(parquet_read_options o = {});
    ~parquet_reader();
    parquet_reader(const parquet_reader&) = delete;
    parquet_reader& operator=(const parquet_reader&) = delete;

    // Reads the footer and binds the file's top-level columns to `columns`
    // by name (exact, else ignoring ASCII case). unknown_column for a file
    // column that is not in the table; bad_parquet for a bad file or a column
    // whose Parquet shape does not fit its CQL type (list for an int...).
    status open(parquet_source src, std::uint64_t file_size, std::vector<protocol::column_spec> columns);

    std::uint64_t num_rows() const noexcept;
    // Table columns the file has (others are left unset by a load).
    const std::vector<bool>& present() const noexcept;

    // The next row, columns in table order (absent columns null). Returns
    // false at the end of the file or on a file error (then error() is set).
    // A value that does not convert to its column's type (an int64 too wide
    // for an int...) makes `row_error` non-empty: the row is a bad record but
    // reading goes on.
    bool next(std::vector<protocol::cql_value>& row, std::string& row_error);
    // After a row_error: the table column it is about (columns.size() if
    // none), and the file's value that did not convert, as JSON (a string
    // for text, a number, "0x..." for other bytes); empty when the error is
    // not about one top-level value (a null list element, a list element
    // that does not fit...).
    std::size_t error_column() const noexcept;
    const std::string& error_value() const noexcept;
    const status& error() const noexcept;
    // Index of the row next() returned last (0-based, counting the whole file).
    std::uint64_t row_index() const noexcept;
    // Skips rows without converting them (resume): false on a file error.
    bool skip(std::uint64_t rows);

private:
    struct impl;
    std::unique_ptr<impl> p_;
};

}  // namespace cqlpp::bulk
