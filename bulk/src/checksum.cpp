#include "cqlpp/bulk/checksum.hpp"

#include <xxhash.h>

namespace cqlpp::bulk {

namespace {

void append_hex64(std::string& out, std::uint64_t v) {
    static constexpr char hex[] = "0123456789abcdef";
    for (int shift = 60; shift >= 0; shift -= 4) out += hex[(v >> shift) & 0xF];
}

bool parse_hex64(std::string_view s, std::uint64_t& out) noexcept {
    out = 0;
    for (char c : s) {
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0) return false;
        out = out << 4 | static_cast<std::uint64_t>(d);
    }
    return true;
}

}  // namespace

std::string table_checksum::to_string() const {
    std::string out;
    out.reserve(48);
    append_hex64(out, sum);
    append_hex64(out, xor_all);
    append_hex64(out, rows);
    return out;
}

status table_checksum::parse(std::string_view text, table_checksum& out) {
    table_checksum c;
    if (text.size() != 48 || !parse_hex64(text.substr(0, 16), c.sum) || !parse_hex64(text.substr(16, 16), c.xor_all) ||
        !parse_hex64(text.substr(32, 16), c.rows))
        return {errc::bad_checksum, "checksum must be 48 hex digits, got '" + std::string(text.substr(0, 64)) + "'"};
    out = c;
    return {};
}

std::uint64_t row_hasher::hash_cells(std::span<const protocol::value_view> cells) {
    buf_.clear();
    protocol::byte_writer w(buf_);
    for (const auto& c : cells) {
        if (c.is_set()) w.bytes(c.bytes);
        else w.null_bytes();  // null and unset alike: the row holds no value there
    }
    return XXH3_64bits(buf_.data(), buf_.size());
}

std::uint64_t row_hasher::hash_row(const driver::row_view& row) {
    buf_.clear();
    protocol::byte_writer w(buf_);
    for (std::size_t i = 0; i < row.size(); ++i) {
        const auto& c = row.raw(i);
        if (c.is_set()) w.bytes(c.bytes);
        else w.null_bytes();
    }
    return XXH3_64bits(buf_.data(), buf_.size());
}

status row_hasher::hash_values(std::span<const protocol::column_spec> columns, std::span<const protocol::cql_value> row,
                               std::uint64_t& out) {
    if (row.size() != columns.size())
        return {errc::field_count, "row has " + std::to_string(row.size()) + " values for " +
                                       std::to_string(columns.size()) + " columns"};
    buf_.clear();
    protocol::byte_writer w(buf_);
    for (std::size_t i = 0; i < row.size(); ++i) {
        if (row[i].is_null()) {
            w.null_bytes();
            continue;
        }
        const std::size_t at = w.reserve_i32();
        if (auto e = protocol::encode_value(columns[i].type, row[i], buf_); e != protocol::errc::ok)
            return {errc::bad_value, "column \"" + columns[i].name + "\" (" + protocol::to_cql_name(columns[i].type) +
                                         "): " + std::string(protocol::to_string(e))};
        w.patch_i32(at, static_cast<std::int32_t>(buf_.size() - at - 4));
    }
    out = XXH3_64bits(buf_.data(), buf_.size());
    return {};
}

}  // namespace cqlpp::bulk
