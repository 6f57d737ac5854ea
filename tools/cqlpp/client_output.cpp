#include "client_output.hpp"

#include "client.hpp"

#include "cqlpp/bulk/codec.hpp"
#include "cqlpp/bulk/csv.hpp"
#include "cqlpp/protocol/literal.hpp"
#include "cqlpp/protocol/value.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace cqlpp::tools {

namespace {

using protocol::type_kind;

// Columns a code point takes on a terminal (wcwidth semantics without
// depending on the locale): 0 for combining marks and zero-width
// characters, 2 for East Asian wide and fullwidth ones, else 1.
int code_point_width(char32_t c) {
    struct range { char32_t lo, hi; };
    static constexpr range zero[] = {
        {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A}, {0x064B, 0x065F},
        {0x0E31, 0x0E31}, {0x0E34, 0x0E3A}, {0x0E47, 0x0E4E}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF},
        {0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x2064}, {0x20D0, 0x20FF}, {0xFE00, 0xFE0F},
        {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF}, {0xE0100, 0xE01EF}};
    static constexpr range wide[] = {
        {0x1100, 0x115F}, {0x231A, 0x231B}, {0x2329, 0x232A}, {0x23E9, 0x23EC}, {0x23F0, 0x23F0},
        {0x23F3, 0x23F3}, {0x25FD, 0x25FE}, {0x2614, 0x2615}, {0x2648, 0x2653}, {0x267F, 0x267F},
        {0x2693, 0x2693}, {0x26A1, 0x26A1}, {0x26AA, 0x26AB}, {0x26BD, 0x26BE}, {0x26C4, 0x26C5},
        {0x26CE, 0x26CE}, {0x26D4, 0x26D4}, {0x26EA, 0x26EA}, {0x26F2, 0x26F3}, {0x26F5, 0x26F5},
        {0x26FA, 0x26FA}, {0x26FD, 0x26FD}, {0x2705, 0x2705}, {0x270A, 0x270B}, {0x2728, 0x2728},
        {0x274C, 0x274C}, {0x274E, 0x274E}, {0x2753, 0x2755}, {0x2757, 0x2757}, {0x2795, 0x2797},
        {0x27B0, 0x27B0}, {0x27BF, 0x27BF}, {0x2B1B, 0x2B1C}, {0x2B50, 0x2B50}, {0x2B55, 0x2B55},
        {0x2E80, 0x303E}, {0x3041, 0x33FF}, {0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xA000, 0xA4CF},
        {0xA960, 0xA97F}, {0xAC00, 0xD7A3}, {0xF900, 0xFAFF}, {0xFE10, 0xFE19}, {0xFE30, 0xFE6F},
        {0xFF00, 0xFF60}, {0xFFE0, 0xFFE6}, {0x16FE0, 0x16FE4}, {0x17000, 0x18CFF}, {0x1B000, 0x1B2FF},
        {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F200, 0x1F251},
        {0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF}, {0x1F7E0, 0x1F7EB}, {0x1F90C, 0x1F9FF}, {0x1FA70, 0x1FAFF},
        {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD}};
    auto in = [c](const auto& table) {
        for (const auto& r : table)
            if (c >= r.lo && c <= r.hi) return true;
        return false;
    };
    if (c < 0x300) return 1;
    if (in(zero)) return 0;
    return in(wide) ? 2 : 1;
}

// Display width of UTF-8 text (cells are escaped first: no control characters).
std::size_t text_width(std::string_view s) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        const std::size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
        if (len == 1 || i + len > s.size()) {
            ++n;
            ++i;
            continue;
        }
        char32_t c = b & (0x7F >> len);
        for (std::size_t k = 1; k < len; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        n += static_cast<std::size_t>(code_point_width(c));
        i += len;
    }
    return n;
}

// As cqlsh shows text in a table: a backslash doubled, control characters
// as escapes (\n, \t, \r, \xNN), so that a cell stays on its line.
std::string escape_cell(std::string s) {
    auto needs = [](unsigned char c) { return c < 0x20 || c == 0x7F || c == '\\'; };
    if (std::none_of(s.begin(), s.end(), [&](char c) { return needs(static_cast<unsigned char>(c)); })) return s;
    std::string out;
    out.reserve(s.size() + 8);
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (!needs(c)) {
            out += ch;
        } else if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    return out;
}

void pad(std::string& out, std::size_t n) { out.append(n, ' '); }

void append_rjust(std::string& out, std::string_view s, std::size_t width) {
    const auto w = text_width(s);
    if (w < width) pad(out, width - w);
    out.append(s);
}
void append_ljust(std::string& out, std::string_view s, std::size_t width) {
    out.append(s);
    const auto w = text_width(s);
    if (w < width) pad(out, width - w);
}

std::vector<std::string> column_names(const driver::rows_view& rows) {
    std::vector<std::string> names;
    const auto* cols = rows.columns();
    for (std::size_t i = 0; i < rows.column_count(); ++i)
        names.push_back(cols ? (*cols)[i].name : "column" + std::to_string(i + 1));
    return names;
}

const protocol::cql_type& column_type(const driver::rows_view& rows, std::size_t i) {
    static const protocol::cql_type blob(type_kind::blob);
    const auto* cols = rows.columns();
    return cols ? (*cols)[i].type : blob;
}

// cqlsh's table. Widths come from the first rows (up to `sample_rows`, held
// as text), so that memory stays bounded whatever the result's size.
class table_printer : public row_printer {
public:
    static constexpr std::size_t sample_rows = 1000;

    table_printer(std::ostream& out, bool per_page) : out_(out), per_page_(per_page) {}

    void page(const driver::rows_view& rows) override {
        if (per_page_ && pages_ > 0 && rows.size() == 0) return;  // cqlsh shows only the first page when empty
        if (names_.empty() && rows.column_count() > 0) names_ = column_names(rows);
        const std::size_t w = rows.column_count();
        for (auto row : rows)
            for (std::size_t c = 0; c < w; ++c)
                cells_.push_back(escape_cell(display_value(column_type(rows, c), row.raw(c), "null")));
        count_ += rows.size();
        if (per_page_) {
            header_done_ = false;
            flush(pages_ == 0);
            out_ << '\n';
        } else if (header_done_ || count_ >= sample_rows) {
            flush(true);
        }
        ++pages_;
    }

    void end() override {
        if (per_page_) {
            if (pages_ == 0) flush(true);
            out_ << (pages_ == 0 ? "\n(" : "(") << count_ << " rows)\n";
        } else {
            flush(true);
            out_ << "\n(" << count_ << " rows)\n";
        }
        out_.flush();
    }

private:
    void flush(bool blank_before_header) {
        const std::size_t w = names_.size();
        std::string text;
        if (!header_done_) {
            header_done_ = true;
            widths_.assign(w, 0);
            for (std::size_t c = 0; c < w; ++c) widths_[c] = text_width(names_[c]);
            for (std::size_t i = 0; i < cells_.size(); ++i)
                widths_[i % w] = std::max(widths_[i % w], text_width(cells_[i]));
            std::string line = " ";
            for (std::size_t c = 0; c < w; ++c) {
                if (c) line += " | ";
                append_ljust(line, names_[c], widths_[c]);
            }
            while (line.size() > 1 && line.back() == ' ') line.pop_back();
            if (blank_before_header) text += '\n';
            text += line;
            text += "\n-";
            for (std::size_t c = 0; c < w; ++c) {
                if (c) text += "-+-";
                text.append(widths_[c], '-');
            }
            text += "-\n";
        }
        for (std::size_t i = 0; i < cells_.size(); ++i) {
            const auto c = i % w;
            text += c ? " | " : " ";
            append_rjust(text, cells_[i], widths_[c]);
            if (c + 1 == w) text += '\n';
        }
        cells_.clear();
        out_ << text;
    }

    std::ostream& out_;
    std::vector<std::string> names_;
    std::vector<std::size_t> widths_;
    std::vector<std::string> cells_;  // formatted, not yet printed
    bool header_done_ = false;
    std::uint64_t count_ = 0;
    bool per_page_;
    std::uint64_t pages_ = 0;
};

// cqlsh's EXPAND ON: one block per row.
class expanded_printer : public row_printer {
public:
    explicit expanded_printer(std::ostream& out) : out_(out) {}

    void page(const driver::rows_view& rows) override {
        const auto names = column_names(rows);
        std::size_t name_width = 0;
        for (const auto& n : names) name_width = std::max(name_width, text_width(n));
        std::string text;
        for (auto row : rows) {
            ++count_;
            std::vector<std::string> values;
            std::size_t value_width = 0;
            for (std::size_t c = 0; c < names.size(); ++c) {
                values.push_back(escape_cell(display_value(column_type(rows, c), row.raw(c), "null")));
                value_width = std::max(value_width, text_width(values.back()));
            }
            text += "\n@ Row " + std::to_string(count_) + "\n-";
            text.append(name_width, '-');
            text += "-+-";
            text.append(value_width, '-');
            text += "-\n";
            for (std::size_t c = 0; c < names.size(); ++c) {
                text += ' ';
                append_ljust(text, names[c], name_width);
                text += " | ";
                text += values[c];
                text += '\n';
            }
        }
        out_ << text;
    }

    void end() override {
        out_ << "\n(" << count_ << " rows)\n";
        out_.flush();
    }

private:
    std::ostream& out_;
    std::uint64_t count_ = 0;
};

using bulk::append_csv_field;  // RFC 4180, shared with cqlpp bulk

class csv_printer : public row_printer {
public:
    explicit csv_printer(std::ostream& out) : out_(out) {}

    void page(const driver::rows_view& rows) override {
        std::string text;
        if (!header_done_ && rows.column_count() > 0) {
            header_done_ = true;
            const auto names = column_names(rows);
            for (std::size_t c = 0; c < names.size(); ++c) {
                if (c) text += ',';
                append_csv_field(text, names[c]);
            }
            text += '\n';
        }
        for (auto row : rows) {
            for (std::size_t c = 0; c < rows.column_count(); ++c) {
                if (c) text += ',';
                // Null: an empty unquoted field; an empty string is quoted ("").
                if (row.raw(c).is_set()) append_csv_field(text, display_value(column_type(rows, c), row.raw(c), ""));
            }
            text += '\n';
        }
        out_ << text;
    }
    void end() override { out_.flush(); }

private:
    std::ostream& out_;
    bool header_done_ = false;
};

class json_printer : public row_printer {
public:
    explicit json_printer(std::ostream& out) : out_(out) {}

    void page(const driver::rows_view& rows) override {
        const auto names = column_names(rows);
        std::vector<std::string> keys;
        for (const auto& n : names) keys.push_back(json_string(n));
        std::string text;
        for (auto row : rows) {
            text += '{';
            for (std::size_t c = 0; c < names.size(); ++c) {
                if (c) text += ", ";
                text += keys[c];
                text += ": ";
                text += json_value(column_type(rows, c), row.raw(c));
            }
            text += "}\n";
        }
        out_ << text;
    }
    void end() override { out_.flush(); }

private:
    std::ostream& out_;
};

}  // namespace

void print_text_table(const std::vector<std::string>& names, const std::vector<std::vector<std::string>>& rows,
                      std::ostream& out) {
    std::vector<std::size_t> widths;
    for (const auto& n : names) widths.push_back(text_width(n));
    std::vector<std::string> cells;  // escaped, row after row
    for (const auto& r : rows)
        for (std::size_t c = 0; c < names.size(); ++c) {
            cells.push_back(c < r.size() ? escape_cell(r[c]) : std::string());
            widths[c] = std::max(widths[c], text_width(cells.back()));
        }
    std::string text = " ";
    for (std::size_t c = 0; c < names.size(); ++c) {
        if (c) text += " | ";
        append_ljust(text, names[c], widths[c]);
    }
    while (text.size() > 1 && text.back() == ' ') text.pop_back();
    text += "\n-";
    for (std::size_t c = 0; c < widths.size(); ++c) {
        if (c) text += "-+-";
        text.append(widths[c], '-');
    }
    text += "-\n";
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const auto c = i % names.size();
        text += c ? " | " : " ";
        append_rjust(text, cells[i], widths[c]);
        if (c + 1 == names.size()) text += '\n';
    }
    out << text;
}

std::string display_value(const protocol::cql_type& type, const protocol::value_view& v, std::string_view null_text) {
    if (!v.is_set()) return std::string(null_text);
    protocol::cql_value value;
    if (protocol::decode_value(type, v.bytes, value) != protocol::errc::ok)
        return "0x" + protocol::to_hex(v.bytes);  // not what its type says: show the bytes
    if (value.kind() == protocol::value_kind::string) return value.as_string();
    auto text = protocol::format_literal(type, value);
    // cqlsh shows a top-level text, date, time, timestamp or inet without its quotes.
    if (protocol::is_quoted_literal(type.kind) && !value.is_empty() && text.size() >= 2 && text.front() == '\'' &&
        text.back() == '\'')
        return text.substr(1, text.size() - 2);
    return text;
}

// Escaping shared with cqlpp bulk (invalid UTF-8 becomes U+FFFD: always valid JSON).
std::string json_string(std::string_view s) {
    std::string out;
    bulk::append_json_string(out, s);
    return out;
}

std::string json_value(const protocol::cql_type& type, const protocol::value_view& v) {
    if (!v.is_set()) return "null";
    protocol::cql_value value;
    if (protocol::decode_value(type, v.bytes, value) != protocol::errc::ok)
        return json_string("0x" + protocol::to_hex(v.bytes));
    switch (value.kind()) {
        case protocol::value_kind::boolean:
            return value.as_bool() ? "true" : "false";
        case protocol::value_kind::string:
            return json_string(value.as_string());
        default:
            break;
    }
    auto text = display_value(type, v, "null");
    if (protocol::is_numeric(type.kind) && !value.is_empty()) {
        // NaN and the infinities are not JSON numbers.
        const bool finite = text.find_first_of("NI") == std::string::npos;
        if (finite) return text;
    }
    return json_string(text);
}

std::unique_ptr<row_printer> make_row_printer(output_format f, bool expand, std::ostream& out, bool per_page) {
    switch (f) {
        case output_format::csv: return std::make_unique<csv_printer>(out);
        case output_format::json: return std::make_unique<json_printer>(out);
        case output_format::table: break;
    }
    if (expand) return std::make_unique<expanded_printer>(out);
    return std::make_unique<table_printer>(out, per_page);
}

}  // namespace cqlpp::tools
