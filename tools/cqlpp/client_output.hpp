// Printing rows page by page, as `cqlpp exec` / `cqlpp shell` do:
//
//   table  cqlsh's layout: a header, a separator, right-aligned values and a
//          "(N rows)" footer. Widths come from the first page with rows, so
//          memory stays bounded by one page; a longer value on a later page
//          widens only its own line.
//   expand cqlsh's EXPAND ON: one "@ Row N" block per row, a line per column.
//   csv    a header line, then one line per row; RFC 4180 quoting (fields with
//          , " CR or LF are double-quoted, " doubled); null is an empty field.
//   json   one object per row (JSON lines): text as JSON strings, numbers
//          (integers, varint, decimal, finite float/double) as numbers,
//          booleans as booleans, null as null, anything else as its CQL literal
//          text in a JSON string.
//
// Values print as protocol::format_literal does, except that top-level text,
// ascii, timestamp, date, time and inet values lose their quotes (as in cqlsh).
#pragma once

#include "cqlpp/driver/row.hpp"

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace cqlpp::tools {

class row_printer {
public:
    virtual ~row_printer() = default;
    // Called for every page of the result, in order (possibly with no rows).
    virtual void page(const driver::rows_view& rows) = 0;
    // After the last page.
    virtual void end() = 0;
};

enum class output_format;
// `per_page`: a table prints each page as a table of its own, with its own
// widths and header, then a blank line (cqlsh's layout when it pauses between pages).
std::unique_ptr<row_printer> make_row_printer(output_format f, bool expand, std::ostream& out, bool per_page = false);

// cqlsh's table of given text cells (names left-aligned, cells right-aligned), no footer.
void print_text_table(const std::vector<std::string>& names, const std::vector<std::vector<std::string>>& rows,
                      std::ostream& out);

// One cell as the table/csv formats print it; `null_text` for a null.
std::string display_value(const protocol::cql_type& type, const protocol::value_view& v, std::string_view null_text);
// One cell as a JSON value.
std::string json_value(const protocol::cql_type& type, const protocol::value_view& v);
// A JSON string literal.
std::string json_string(std::string_view s);

}  // namespace cqlpp::tools
