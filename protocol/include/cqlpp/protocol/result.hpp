// RESULT message bodies (spec §4.2.5): Void, Rows, Set_keyspace, Prepared,
// Schema_change.
//
// Lifetime: everything here is owned (std::string, byte_buffer, cql_type)
// EXCEPT the cells of rows_result, which are value_views that BORROW the body
// buffer given to decode(). Keep that buffer alive and unchanged while the
// cells are read; copy what must outlive it (cell(i, j).bytes into a vector).
#pragma once

#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/common.hpp"
#include "cqlpp/protocol/detail/block_cache.hpp"
#include "cqlpp/protocol/error.hpp"
#include "cqlpp/protocol/types.hpp"
#include "cqlpp/protocol/view_list.hpp"  // same_value

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cqlpp::protocol {

enum class result_kind : std::int32_t {
    void_ = 0x0001,
    rows = 0x0002,
    set_keyspace = 0x0003,
    prepared = 0x0004,
    schema_change = 0x0005,
};
std::string_view to_string(result_kind k) noexcept;  // "Rows"

// <flags> of Rows metadata (§4.2.5.2) and prepared metadata (§4.2.5.4).
namespace metadata_flags {
inline constexpr std::int32_t global_tables_spec = 0x0001;
inline constexpr std::int32_t has_more_pages = 0x0002;
inline constexpr std::int32_t no_metadata = 0x0004;
inline constexpr std::int32_t metadata_changed = 0x0008;  // v5
}  // namespace metadata_flags

struct table_spec {
    std::string keyspace;
    std::string table;
    bool operator==(const table_spec&) const = default;
};

// <col_spec_i>. keyspace/table are filled from the global table spec when
// the metadata has one, so they are always meaningful after decode.
struct column_spec {
    std::string keyspace;
    std::string table;
    std::string name;
    cql_type type;
    bool operator==(const column_spec&) const = default;
};

// Rows <metadata>, also the <result_metadata> of a Prepared result.
struct result_metadata {
    // Set <=> the Global_tables_spec flag. Written as <global_table_spec>
    // (per-column keyspace/table then omitted) unless no_metadata, in which
    // case no spec is on the wire and decode leaves it empty.
    std::optional<table_spec> global_table;
    std::optional<byte_buffer> paging_state;     // Has_more_pages
    std::optional<byte_buffer> new_metadata_id;  // Metadata_changed (v5 only; ignored for v4)
    bool no_metadata = false;                    // No_metadata: no column specs follow
    // With no_metadata the wire still carries <columns_count>: that is this
    // field. Otherwise encoding writes columns.size() and decode sets both.
    std::int32_t column_count = 0;
    std::vector<column_spec> columns;

    std::size_t width() const noexcept { return no_metadata ? static_cast<std::size_t>(column_count) : columns.size(); }
    std::int32_t flags(protocol_version v) const noexcept;
    void encode(byte_writer& w, protocol_version v) const;
    static errc decode(byte_reader& r, protocol_version v, result_metadata& out);
    // Compares what the wire carries: column_count only with no_metadata,
    // per-column keyspace/table only without a global table spec.
    friend bool operator==(const result_metadata& a, const result_metadata& b) noexcept;
};

// Prepared <metadata>: the bind markers.
struct prepared_metadata {
    std::optional<table_spec> global_table;
    std::vector<std::uint16_t> pk_indices;  // bind marker index of each partition key column
    std::vector<column_spec> columns;

    void encode(byte_writer& w, protocol_version v) const;
    static errc decode(byte_reader& r, protocol_version v, prepared_metadata& out);
    friend bool operator==(const prepared_metadata& a, const prepared_metadata& b) noexcept;
};

// ---- kinds -------------------------------------------------------------------

struct void_result {
    bool operator==(const void_result&) const = default;
};

// Rows: zero-copy. Decoding validates every cell's [bytes] length against the
// body and records one value_view per cell, row-major, in a single vector
// allocated once per page, so cell(i, j) is O(1). Cells borrow the body.
struct rows_result {
    result_metadata metadata;
    std::int32_t row_count = 0;
    // row_count * metadata.width(); null cells are value_view::null(). From the
    // thread's block cache: a single-row answer's cells cost no malloc.
    std::vector<value_view, detail::cached_allocator<value_view>> cells;

    std::size_t column_count() const noexcept { return metadata.width(); }
    std::size_t size() const noexcept { return static_cast<std::size_t>(row_count); }
    // Unchecked: i < size(), j < column_count().
    const value_view& cell(std::size_t i, std::size_t j) const noexcept { return cells[i * column_count() + j]; }
    std::span<const value_view> row(std::size_t i) const noexcept {
        return std::span<const value_view>(cells).subspan(i * column_count(), column_count());
    }

    // Writes the kind-less Rows body (metadata, rows_count, cells).
    void encode(byte_writer& w, protocol_version v) const;
    // Reads metadata and rows from the reader's position. Reuses out.cells'
    // capacity, so decoding page after page into one object allocates once.
    static errc decode(byte_reader& r, protocol_version v, rows_result& out);
    friend bool operator==(const rows_result& a, const rows_result& b) noexcept;
};

// Appends a whole RESULT Rows body (kind included) from metadata and row-major
// cells (cells.size() must be a multiple of metadata.width(); the server side).
void encode_rows(byte_writer& w, protocol_version v, const result_metadata& m, std::span<const value_view> cells);

struct set_keyspace_result {
    std::string keyspace;
    bool operator==(const set_keyspace_result&) const = default;
};

struct prepared_result {
    byte_buffer id;                  // [short bytes]
    byte_buffer result_metadata_id;  // [short bytes], v5 only
    prepared_metadata variables;     // bind markers
    result_metadata result;          // columns of the rows EXECUTE will return (may be no_metadata)
    bool operator==(const prepared_result&) const = default;
};

// Schema change (RESULT kind 5 and SCHEMA_CHANGE events share this layout).
enum class schema_change_type : std::uint8_t { created, updated, dropped };
enum class schema_change_target : std::uint8_t { keyspace, table, type, function, aggregate };
std::string_view to_string(schema_change_type t) noexcept;    // "CREATED"
std::string_view to_string(schema_change_target t) noexcept;  // "KEYSPACE"

struct schema_change {
    schema_change_type change = schema_change_type::created;
    schema_change_target target = schema_change_target::keyspace;
    std::string keyspace;
    std::string name;                         // table/type/function/aggregate; empty for KEYSPACE
    std::vector<std::string> argument_types;  // FUNCTION/AGGREGATE: CQL type of each argument

    void encode(byte_writer& w) const;
    // Unknown change or target strings fail with errc::bad_event.
    static errc decode(byte_reader& r, schema_change& out);
    bool operator==(const schema_change&) const = default;
};

// ---- RESULT (0x08) -----------------------------------------------------------

struct result_response {
    std::variant<void_result, rows_result, set_keyspace_result, prepared_result, schema_change> value;

    result_kind kind() const noexcept;
    void encode(byte_writer& w, protocol_version v) const;
    // Unknown kinds fail with errc::bad_result_kind. If `out` already holds a
    // rows_result and the body is Rows, its cell vector is reused.
    static errc decode(bytes_view body, protocol_version v, result_response& out);
    bool operator==(const result_response&) const = default;
};

}  // namespace cqlpp::protocol
