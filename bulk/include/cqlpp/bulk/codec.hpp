// CSV and JSON text for CQL values and rows, both directions (DSBulk / cqlsh
// conventions).
//
// Values (the same text in a CSV field and, quoted or not, in JSON):
//   text/ascii          as is (JSON: a string)
//   boolean             true / false (reading also accepts any case: cqlsh writes True)
//   tinyint..bigint, counter, varint, decimal
//                       decimal text, exact (JSON: a number written from that text,
//                       never through a double: 9223372036854775807, 1.10, 6.4206E-16)
//   float/double        shortest round-trip form (JSON: a number), "NaN", "Infinity",
//                       "-Infinity" (JSON: those strings)
//   blob/custom         0x + lower-case hex (JSON: a string); "0x" is an empty blob
//   uuid/timeuuid       8-4-4-4-12 lower-case hex
//   timestamp           2013-08-13 09:52:03.000000+0000 (cqlsh; years outside
//                       0..9999 as integer milliseconds); reading also accepts ISO
//                       8601 forms and integer milliseconds
//   date                2020-01-31; time 09:52:03.000000000; inet 127.0.0.1 / ::1
//   duration            1y2mo3d4h5m6s7ms8us9ns (reading also accepts ISO 8601 P1DT2H)
//   list/set/vector     JSON array; tuple: JSON array (missing trailing elements are null)
//   map                 JSON object when the key type is text or ascii ({"k": v}); for
//                       any other key type an array of [key, value] pairs
//                       ([[1, "a"], [2, "b"]]), so keys keep their type and order and
//                       never collide after conversion to text. Reading accepts
//                       either form for any key type.
//   udt                 JSON object by field name (missing fields are null; an
//                       unknown field is an error)
// In CSV, collection/tuple/UDT/vector fields hold that JSON text (as DSBulk
// writes them); reading falls back to the CQL literal form ([1, 2], {'a': 1})
// that cqlsh COPY writes when the field is not JSON.
//
// Null and empty:
//   CSV: null is an empty unquoted field; a quoted empty field "" is the empty
//   string for text/ascii, an empty blob for blob, and the zero-length "empty"
//   value (protocol/value.hpp) for any other type.
//   JSON: null is null; "" is the same as "" in CSV. Unset is never produced.
//   Collection elements are never null.
//
// Parsing never throws: errors come back as a status (bad_value / bad_json /
// field_count / unknown_column) whose message names the column and the text.
#pragma once

#include "cqlpp/bulk/csv.hpp"
#include "cqlpp/bulk/error.hpp"
#include "cqlpp/driver/row.hpp"
#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/result.hpp"
#include "cqlpp/protocol/types.hpp"
#include "cqlpp/protocol/value.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cqlpp::bulk {

using protocol::column_spec;
using protocol::cql_type;
using protocol::cql_value;

// ---- One value --------------------------------------------------------------

// Appends the value as JSON (null -> null). Never fails: a value whose kind
// does not match the type is written as a JSON string of its CQL literal.
void append_json_value(std::string& out, const cql_type& type, const cql_value& value);
// A JSON string literal (quotes included): control characters escaped, bytes
// that start no valid UTF-8 sequence replaced by U+FFFD, so the output is
// always valid JSON.
void append_json_string(std::string& out, std::string_view s);
std::string to_json_value(const cql_type& type, const cql_value& value);
// Parses JSON text for one value of `type`.
status parse_json_value(const cql_type& type, std::string_view json, cql_value& out);

// The unquoted text of a non-null value in a CSV field (a null value gives "").
std::string to_field_text(const cql_type& type, const cql_value& value);
// The value of a CSV field that is not null (quoted, or non-empty): see above.
status parse_field_text(const cql_type& type, std::string_view text, cql_value& out);

// ---- Rows -------------------------------------------------------------------

struct csv_write_options {
    char delimiter = ',';
    std::string_view line_break = "\n";
};

// Header line: the column names (as stored: case preserved, no CQL quoting).
void append_csv_header(std::string& out, std::span<const column_spec> columns, const csv_write_options& opt = {});
// One record (fields in column order) and its line break. A null is an empty unquoted field.
void append_csv_row(std::string& out, std::span<const column_spec> columns, std::span<const cql_value> row,
                    const csv_write_options& opt = {});
// One JSON-lines record {"col": value, ...} and "\n". Nulls are written as null.
void append_json_row(std::string& out, std::span<const column_spec> columns, std::span<const cql_value> row);
// The same with column `raw_column`'s value written as `raw_json` (a JSON
// value as it was in an input file, for a bad record).
void append_json_row(std::string& out, std::span<const column_spec> columns, std::span<const cql_value> row,
                     std::size_t raw_column, std::string_view raw_json);

// Rows as they arrive in a Rows page (protocol::rows_result::row(i), or
// driver::row_view::raw(i) for each column): decodes each cell with its
// column's type. A null or unset cell is null. bad_value when a cell's bytes
// do not decode (message names the column).
status decode_row(std::span<const column_spec> columns, std::span<const protocol::value_view> cells,
                  std::vector<cql_value>& out);
// The cells of a driver row, in place (a page keeps each row's cells side by
// side, so this is row.raw(0) .. row.raw(size - 1)); empty for no columns.
std::span<const protocol::value_view> cells_of(const driver::row_view& row) noexcept;
// The same for a driver row (its page's column metadata); bad_value without metadata.
status decode_row(const driver::row_view& row, std::vector<cql_value>& out);

// Which column each CSV field feeds: built from the header record, or
// positional (field i -> column i) when the file has no header.
struct field_mapping {
    std::vector<std::size_t> column_of_field;  // one entry per field
};
field_mapping positional_mapping(std::size_t column_count);
// Header names match column names exactly, else ignoring ASCII case.
// unknown_column for a name matching no column, duplicate_column for a column named twice.
status map_header(std::span<const column_spec> columns, const csv_record& header, field_mapping& out);

// A CSV record to a row (one value per column, in column order; columns not
// in the mapping are null). field_count when the record's field count differs
// from the mapping's.
status parse_csv_row(std::span<const column_spec> columns, const field_mapping& mapping, const csv_record& record,
                     std::vector<cql_value>& row);
// A JSON-lines record to a row. Keys match column names like headers do;
// missing keys are null; unknown keys are an error unless `ignore_unknown`.
status parse_json_row(std::span<const column_spec> columns, std::string_view line, std::vector<cql_value>& row,
                      bool ignore_unknown = false);

}  // namespace cqlpp::bulk
