#include "cqlpp/bulk/codec.hpp"

#include "cqlpp/bulk/detail/json.hpp"
#include "cqlpp/protocol/detail/text.hpp"
#include "cqlpp/protocol/literal.hpp"

#include <algorithm>

namespace cqlpp::bulk {

void append_json_string(std::string& out, std::string_view s) { detail::append_json_string(out, s); }

using detail::json_value;
using protocol::type_kind;
using protocol::value_kind;

namespace {

bool is_text_type(const cql_type& t) noexcept { return t.kind == type_kind::text || t.kind == type_kind::ascii; }
bool is_blob_type(const cql_type& t) noexcept { return t.kind == type_kind::blob || t.kind == type_kind::custom; }
bool is_structured(const cql_type& t) noexcept {
    return t.is_collection() || t.kind == type_kind::vector || t.kind == type_kind::tuple || t.kind == type_kind::udt;
}

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

// For error messages: the text, cut short and quoted.
std::string excerpt(std::string_view s) {
    constexpr std::size_t max = 80;
    std::string out = "'";
    out.append(s.substr(0, max));
    if (s.size() > max) out += "...";
    out += '\'';
    return out;
}

status bad_value(const cql_type& t, std::string_view text, std::string_view why = {}) {
    std::string msg = "not a valid " + protocol::to_cql_name(t) + ": " + excerpt(text);
    if (!why.empty()) {
        msg += " (";
        msg += why;
        msg += ')';
    }
    return {errc::bad_value, std::move(msg)};
}

// A CQL literal without its single quotes ('' unescaped): the text form of
// dates, times, timestamps, inets; bare literals (numbers, uuids, 0x blobs,
// durations, NaN) are returned as they are.
std::string scalar_text(const cql_type& t, const cql_value& v) {
    std::string lit = protocol::format_literal(t, v);
    if (lit.size() < 2 || lit.front() != '\'' || lit.back() != '\'') return lit;
    std::string out;
    out.reserve(lit.size() - 2);
    for (std::size_t i = 1; i + 1 < lit.size(); ++i) {
        out += lit[i];
        if (lit[i] == '\'' && lit[i + 1] == '\'') ++i;
    }
    return out;
}

std::optional<std::size_t> find_name(std::span<const std::string> names, std::string_view key) {
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == key) return i;
    for (std::size_t i = 0; i < names.size(); ++i)
        if (iequals(names[i], key)) return i;
    return std::nullopt;
}

std::optional<std::size_t> find_column(std::span<const column_spec> columns, std::string_view key) {
    for (std::size_t i = 0; i < columns.size(); ++i)
        if (columns[i].name == key) return i;
    for (std::size_t i = 0; i < columns.size(); ++i)
        if (iequals(columns[i].name, key)) return i;
    return std::nullopt;
}

// ---- Writing ----------------------------------------------------------------

void append_value(std::string& out, const cql_type& t, const cql_value& v);

void append_elements(std::string& out, const cql_type& elem, const cql_value::element_list& items) {
    out += '[';
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        append_value(out, elem, items[i]);
    }
    out += ']';
}

void append_value(std::string& out, const cql_type& t, const cql_value& v) {
    if (v.is_null()) {
        out += "null";
        return;
    }
    if (v.is_empty()) {
        out += "\"\"";
        return;
    }
    const value_kind k = v.kind();
    switch (t.kind) {
        case type_kind::ascii:
        case type_kind::text:
            if (k != value_kind::string) break;
            detail::append_json_string(out, v.as_string());
            return;
        case type_kind::boolean:
            if (k != value_kind::boolean) break;
            out += v.as_bool() ? "true" : "false";
            return;
        case type_kind::tinyint:
        case type_kind::smallint:
        case type_kind::int_:
        case type_kind::bigint:
        case type_kind::counter:
            if (k != value_kind::integer) break;
            out += std::to_string(v.as_int());
            return;
        case type_kind::varint:
        case type_kind::decimal:
        case type_kind::float_:
        case type_kind::double_: {
            if (!(k == value_kind::varint || k == value_kind::decimal || k == value_kind::float32 ||
                  k == value_kind::float64 || k == value_kind::integer))
                break;
            std::string text = scalar_text(t, v);
            // NaN / Infinity are not JSON numbers: strings, as DSBulk writes them.
            if (detail::is_json_number(text)) out += text;
            else detail::append_json_string(out, text);
            return;
        }
        case type_kind::list:
        case type_kind::set:
        case type_kind::vector:
            if (k != value_kind::list || t.params.size() != 1) break;
            append_elements(out, t.params[0], v.elements());
            return;
        case type_kind::map: {
            if (k != value_kind::map || t.params.size() != 2) break;
            const bool as_object = is_text_type(t.params[0]);
            out += as_object ? '{' : '[';
            bool first = true;
            for (const auto& [key, val] : v.entries()) {
                if (!first) out += ',';
                first = false;
                if (as_object) {
                    append_value(out, t.params[0], key);
                    out += ':';
                    append_value(out, t.params[1], val);
                } else {
                    out += '[';
                    append_value(out, t.params[0], key);
                    out += ',';
                    append_value(out, t.params[1], val);
                    out += ']';
                }
            }
            out += as_object ? '}' : ']';
            return;
        }
        case type_kind::tuple: {
            if (k != value_kind::tuple || v.elements().size() > t.params.size()) break;
            out += '[';
            for (std::size_t i = 0; i < v.elements().size(); ++i) {
                if (i) out += ',';
                append_value(out, t.params[i], v.elements()[i]);
            }
            out += ']';
            return;
        }
        case type_kind::udt: {
            if (k != value_kind::tuple || v.elements().size() > t.params.size() ||
                v.elements().size() > t.field_names.size())
                break;
            out += '{';
            for (std::size_t i = 0; i < v.elements().size(); ++i) {
                if (i) out += ',';
                detail::append_json_string(out, t.field_names[i]);
                out += ':';
                append_value(out, t.params[i], v.elements()[i]);
            }
            out += '}';
            return;
        }
        default:  // blob, custom, timestamp, date, time, uuid, timeuuid, inet, duration: strings
            detail::append_json_string(out, scalar_text(t, v));
            return;
    }
    // Kind does not fit the type: keep the data, as text.
    detail::append_json_string(out, protocol::format_literal(t, v));
}

// ---- Reading ----------------------------------------------------------------

status parse_text(const cql_type& t, std::string_view text, cql_value& out, int depth);

status from_json(const cql_type& t, const json_value& j, cql_value& out, int depth) {
    if (depth > protocol::max_type_depth) return {errc::bad_json, "value nested too deeply"};
    using jk = json_value::kind;
    if (j.type == jk::null) {
        out = cql_value::null();
        return {};
    }
    auto shape_error = [&](std::string_view expected) {
        std::string got;
        detail::append_json(got, j);
        return status(errc::bad_json, "expected " + std::string(expected) + " for " + protocol::to_cql_name(t) +
                                          ", got " + excerpt(got));
    };
    auto element = [&](const cql_type& et, const json_value& ej, cql_value& eo) -> status {
        if (ej.type == jk::null) return {errc::bad_json, "null element in " + protocol::to_cql_name(t)};
        return from_json(et, ej, eo, depth + 1);
    };
    switch (t.kind) {
        case type_kind::list:
        case type_kind::set:
        case type_kind::vector: {
            if (j.type == jk::string) return parse_text(t, j.text, out, depth + 1);  // JSON text inside a string
            if (j.type != jk::array || t.params.size() != 1) return shape_error("an array");
            if (t.kind == type_kind::vector && j.items.size() != t.dimension)
                return {errc::bad_json, "expected " + std::to_string(t.dimension) + " elements for " +
                                            protocol::to_cql_name(t) + ", got " + std::to_string(j.items.size())};
            cql_value::element_list items(j.items.size());
            for (std::size_t i = 0; i < items.size(); ++i)
                if (auto s = element(t.params[0], j.items[i], items[i]); !s) return s;
            out = cql_value::list(std::move(items));
            return {};
        }
        case type_kind::map: {
            if (t.params.size() != 2) return shape_error("a map");
            cql_value::entry_list entries;
            if (j.type == jk::object) {
                entries.resize(j.items.size());
                for (std::size_t i = 0; i < j.items.size(); ++i) {
                    if (is_text_type(t.params[0])) {
                        json_value key;
                        key.type = jk::string;
                        key.text = j.keys[i];
                        if (auto s = from_json(t.params[0], key, entries[i].first, depth + 1); !s) return s;
                    } else if (auto s = parse_text(t.params[0], j.keys[i], entries[i].first, depth + 1); !s) {
                        return s;
                    }
                    if (auto s = element(t.params[1], j.items[i], entries[i].second); !s) return s;
                }
            } else if (j.type == jk::array) {
                entries.resize(j.items.size());
                for (std::size_t i = 0; i < j.items.size(); ++i) {
                    const auto& pair = j.items[i];
                    if (pair.type != jk::array || pair.items.size() != 2)
                        return {errc::bad_json, "map entries in an array must be [key, value] pairs"};
                    if (auto s = element(t.params[0], pair.items[0], entries[i].first); !s) return s;
                    if (auto s = element(t.params[1], pair.items[1], entries[i].second); !s) return s;
                }
            } else if (j.type == jk::string) {
                return parse_text(t, j.text, out, depth + 1);
            } else {
                return shape_error("an object or an array of [key, value] pairs");
            }
            out = cql_value::map(std::move(entries));
            return {};
        }
        case type_kind::tuple: {
            if (j.type == jk::string) return parse_text(t, j.text, out, depth + 1);
            if (j.type != jk::array) return shape_error("an array");
            if (j.items.size() > t.params.size())
                return {errc::bad_json, "too many elements for " + protocol::to_cql_name(t)};
            cql_value::element_list items(t.params.size());  // missing trailing elements stay null
            for (std::size_t i = 0; i < j.items.size(); ++i)
                if (auto s = from_json(t.params[i], j.items[i], items[i], depth + 1); !s) return s;
            out = cql_value::tuple(std::move(items));
            return {};
        }
        case type_kind::udt: {
            if (j.type == jk::string) return parse_text(t, j.text, out, depth + 1);
            if (j.type != jk::object) return shape_error("an object");
            cql_value::element_list fields(t.params.size());
            std::vector<bool> seen(t.params.size());
            for (std::size_t i = 0; i < j.items.size(); ++i) {
                auto f = find_name(std::span<const std::string>(t.field_names), j.keys[i]);
                if (!f || *f >= t.params.size())
                    return {errc::bad_json, "no field " + excerpt(j.keys[i]) + " in " + protocol::to_cql_name(t)};
                if (seen[*f]) return {errc::bad_json, "field " + excerpt(j.keys[i]) + " given twice"};
                seen[*f] = true;
                if (auto s = from_json(t.params[*f], j.items[i], fields[*f], depth + 1); !s) return s;
            }
            out = cql_value::tuple(std::move(fields));
            return {};
        }
        default: break;
    }
    // Scalars.
    switch (j.type) {
        case jk::string: return parse_text(t, j.text, out, depth);
        case jk::number:
            if (!protocol::is_numeric(t.kind) && t.kind != type_kind::timestamp) return shape_error("a string");
            return parse_text(t, j.text, out, depth);
        case jk::boolean:
            if (t.kind != type_kind::boolean) return shape_error(protocol::is_numeric(t.kind) ? "a number" : "a string");
            out = cql_value::boolean(j.boolean);
            return {};
        default: return shape_error(protocol::is_numeric(t.kind) ? "a number" : t.kind == type_kind::boolean ? "true or false" : "a string");
    }
}

bool is_hex_digit(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

status parse_text(const cql_type& t, std::string_view text, cql_value& out, int depth) {
    if (depth > protocol::max_type_depth) return {errc::bad_value, "value nested too deeply"};
    if (text.empty()) {
        if (protocol::zero_length_is_empty(t)) out = cql_value::empty_value();
        else if (is_blob_type(t)) out = cql_value::blob({});
        else out = cql_value::string({});
        return {};
    }
    switch (t.kind) {
        case type_kind::ascii:
            if (!protocol::detail::is_ascii(text)) return bad_value(t, text, "non-ASCII byte");
            out = cql_value::string(std::string(text));
            return {};
        case type_kind::text:
            if (!protocol::detail::is_valid_utf8(text)) return bad_value(t, text, "invalid UTF-8");
            out = cql_value::string(std::string(text));
            return {};
        case type_kind::blob:
        case type_kind::custom: {
            if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
                return bad_value(t, text, "blobs are 0x followed by hex digits");
            auto hex = text.substr(2);
            if (hex.size() % 2 != 0 || !std::all_of(hex.begin(), hex.end(), is_hex_digit))
                return bad_value(t, text, "odd length or a non-hex digit");
            protocol::byte_buffer b;
            if (!protocol::from_hex(hex, b)) return bad_value(t, text);
            out = cql_value::blob(std::move(b));
            return {};
        }
        case type_kind::boolean:
            if (iequals(text, "true")) out = cql_value::boolean(true);
            else if (iequals(text, "false")) out = cql_value::boolean(false);
            else return bad_value(t, text, "expected true or false");
            return {};
        default: break;
    }
    if (is_structured(t)) {
        json_value j;
        std::string json_error;
        if (detail::parse_json(text, j, json_error)) {
            auto s = from_json(t, j, out, depth);
            if (s && out.is_null()) return bad_value(t, text, "null");
            return s;
        }
        // Not JSON: maybe the CQL literal form cqlsh COPY writes.
        cql_value lit;
        if (protocol::parse_literal(t, text, lit) == protocol::errc::ok && !lit.is_null()) {
            out = std::move(lit);
            return {};
        }
        return {errc::bad_json, "not a valid " + protocol::to_cql_name(t) + ": " + excerpt(text) + ": " + json_error};
    }
    // The remaining scalars go through the CQL literal parser: numbers bare,
    // the others as a quoted literal (the parser accepts both forms for those).
    std::string literal;
    if (protocol::is_numeric(t.kind)) {
        const char c = text.front();
        if (!(c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9') || c == 'N' || c == 'I'))
            return bad_value(t, text);
        literal.assign(text);
    } else {
        literal = "'";
        for (char c : text) {
            if (c == '\'') literal += '\'';
            literal += c;
        }
        literal += '\'';
    }
    cql_value v;
    const auto e = protocol::parse_literal(t, literal, v);
    if (e != protocol::errc::ok) return bad_value(t, text, protocol::to_string(e));
    if (v.is_null() || v.is_empty()) return bad_value(t, text);
    out = std::move(v);
    return {};
}

std::string field_context(std::uint64_t line, std::size_t field, const column_spec& col) {
    return "line " + std::to_string(line) + ", field " + std::to_string(field + 1) + " (\"" + col.name + "\", " +
           protocol::to_cql_name(col.type) + "): ";
}

}  // namespace

void append_json_value(std::string& out, const cql_type& type, const cql_value& value) { append_value(out, type, value); }

std::string to_json_value(const cql_type& type, const cql_value& value) {
    std::string out;
    append_value(out, type, value);
    return out;
}

status parse_json_value(const cql_type& type, std::string_view json, cql_value& out) {
    json_value j;
    std::string error;
    if (!detail::parse_json(json, j, error)) return {errc::bad_json, "bad JSON: " + error};
    return from_json(type, j, out, 0);
}

std::string to_field_text(const cql_type& type, const cql_value& value) {
    if (value.is_null() || value.is_empty()) return {};
    if (is_text_type(type) && value.kind() == value_kind::string) return value.as_string();
    if (is_structured(type)) return to_json_value(type, value);
    return scalar_text(type, value);
}

status parse_field_text(const cql_type& type, std::string_view text, cql_value& out) {
    return parse_text(type, text, out, 0);
}

void append_csv_header(std::string& out, std::span<const column_spec> columns, const csv_write_options& opt) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (i) out += opt.delimiter;
        append_csv_field(out, columns[i].name, opt.delimiter);
    }
    out += opt.line_break;
}

void append_csv_row(std::string& out, std::span<const column_spec> columns, std::span<const cql_value> row,
                    const csv_write_options& opt) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (i) out += opt.delimiter;
        if (i >= row.size() || row[i].is_null()) continue;  // null: empty, unquoted
        append_csv_field(out, to_field_text(columns[i].type, row[i]), opt.delimiter);
    }
    out += opt.line_break;
}

void append_json_row(std::string& out, std::span<const column_spec> columns, std::span<const cql_value> row) {
    append_json_row(out, columns, row, columns.size(), {});
}

void append_json_row(std::string& out, std::span<const column_spec> columns, std::span<const cql_value> row,
                     std::size_t raw_column, std::string_view raw_json) {
    out += '{';
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (i) out += ',';
        detail::append_json_string(out, columns[i].name);
        out += ':';
        if (i == raw_column && !raw_json.empty()) out += raw_json;
        else if (i < row.size()) append_value(out, columns[i].type, row[i]);
        else out += "null";
    }
    out += "}\n";
}

status decode_row(std::span<const column_spec> columns, std::span<const protocol::value_view> cells,
                  std::vector<cql_value>& out) {
    if (cells.size() != columns.size())
        return {errc::field_count, "row has " + std::to_string(cells.size()) + " cells for " +
                                       std::to_string(columns.size()) + " columns"};
    out.resize(columns.size());
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (!cells[i].is_set()) {
            out[i] = cql_value::null();
            continue;
        }
        if (auto e = protocol::decode_value(columns[i].type, cells[i].bytes, out[i]); e != protocol::errc::ok)
            return {errc::bad_value, "column \"" + columns[i].name + "\" (" + protocol::to_cql_name(columns[i].type) +
                                         "): undecodable cell: " + std::string(protocol::to_string(e))};
    }
    return {};
}

std::span<const protocol::value_view> cells_of(const driver::row_view& row) noexcept {
    if (row.size() == 0) return {};
    return {&row.raw(0), row.size()};
}

status decode_row(const driver::row_view& row, std::vector<cql_value>& out) {
    const driver::column_set* cols = row.columns();
    if (!cols) return {errc::bad_value, "row has no column metadata"};
    return decode_row(cols->specs(), cells_of(row), out);
}

field_mapping positional_mapping(std::size_t column_count) {
    field_mapping m;
    m.column_of_field.resize(column_count);
    for (std::size_t i = 0; i < column_count; ++i) m.column_of_field[i] = i;
    return m;
}

status map_header(std::span<const column_spec> columns, const csv_record& header, field_mapping& out) {
    field_mapping m;
    std::vector<bool> seen(columns.size());
    for (const auto& f : header.fields) {
        auto c = find_column(columns, f.text);
        if (!c) return {errc::unknown_column, "header names no column " + excerpt(f.text)};
        if (seen[*c]) return {errc::duplicate_column, "header names column \"" + columns[*c].name + "\" twice"};
        seen[*c] = true;
        m.column_of_field.push_back(*c);
    }
    out = std::move(m);
    return {};
}

status parse_csv_row(std::span<const column_spec> columns, const field_mapping& mapping, const csv_record& record,
                     std::vector<cql_value>& row) {
    if (record.fields.size() != mapping.column_of_field.size())
        return {errc::field_count, "line " + std::to_string(record.line) + ": " + std::to_string(record.fields.size()) +
                                       " fields, expected " + std::to_string(mapping.column_of_field.size())};
    row.assign(columns.size(), cql_value::null());
    for (std::size_t i = 0; i < record.fields.size(); ++i) {
        const std::size_t c = mapping.column_of_field[i];
        if (c >= columns.size()) return {errc::unknown_column, "field mapping names a column past the last"};
        const auto& f = record.fields[i];
        if (!f.quoted && f.text.empty()) continue;  // null
        if (auto s = parse_text(columns[c].type, f.text, row[c], 0); !s)
            return {s.code, field_context(record.line, i, columns[c]) + s.message};
    }
    return {};
}

status parse_json_row(std::span<const column_spec> columns, std::string_view line, std::vector<cql_value>& row,
                      bool ignore_unknown) {
    json_value j;
    std::string error;
    if (!detail::parse_json(line, j, error)) return {errc::bad_json, "bad JSON: " + error};
    if (j.type != json_value::kind::object) return {errc::bad_json, "a JSON-lines record must be an object"};
    row.assign(columns.size(), cql_value::null());
    std::vector<bool> seen(columns.size());
    for (std::size_t i = 0; i < j.keys.size(); ++i) {
        auto c = find_column(columns, j.keys[i]);
        if (!c) {
            if (ignore_unknown) continue;
            return {errc::unknown_column, "no column " + excerpt(j.keys[i])};
        }
        if (seen[*c]) return {errc::duplicate_column, "column \"" + columns[*c].name + "\" given twice"};
        seen[*c] = true;
        if (auto s = from_json(columns[*c].type, j.items[i], row[*c], 0); !s)
            return {s.code, "column \"" + columns[*c].name + "\" (" + protocol::to_cql_name(columns[*c].type) +
                                "): " + s.message};
    }
    return {};
}

}  // namespace cqlpp::bulk
