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

// Display width: UTF-8 code points (good enough for a terminal).
std::size_t text_width(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
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

    explicit table_printer(std::ostream& out) : out_(out) {}

    void page(const driver::rows_view& rows) override {
        if (names_.empty() && rows.column_count() > 0) names_ = column_names(rows);
        const std::size_t w = rows.column_count();
        for (auto row : rows)
            for (std::size_t c = 0; c < w; ++c) cells_.push_back(display_value(column_type(rows, c), row.raw(c), "null"));
        count_ += rows.size();
        if (header_done_ || count_ >= sample_rows) flush();
    }

    void end() override {
        flush();
        out_ << "\n(" << count_ << " rows)\n";
        out_.flush();
    }

private:
    void flush() {
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
            text += '\n';
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
                values.push_back(display_value(column_type(rows, c), row.raw(c), "null"));
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

std::unique_ptr<row_printer> make_row_printer(output_format f, bool expand, std::ostream& out) {
    switch (f) {
        case output_format::csv: return std::make_unique<csv_printer>(out);
        case output_format::json: return std::make_unique<json_printer>(out);
        case output_format::table: break;
    }
    if (expand) return std::make_unique<expanded_printer>(out);
    return std::make_unique<table_printer>(out);
}

}  // namespace cqlpp::tools
