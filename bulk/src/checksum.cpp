#include "cqlpp/bulk/checksum.hpp"
#include "cqlpp/bulk/codec.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

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
    // The row as [bytes] cells (null and unset alike as -1: the row holds no
    // value there), packed by hand: one pass to size, one to copy, into a
    // buffer that only grows, so no per-cell vector growth and no zero fill.
    std::size_t n = 0;
    for (const auto& c : cells) n += 4 + (c.is_set() ? c.bytes.size() : 0);
    if (buf_.size() < n) buf_.resize(std::max(n, buf_.size() * 2));
    std::uint8_t* p = buf_.data();
    for (const auto& c : cells) {
        if (!c.is_set()) {
            protocol::detail::store_be32(p, 0xFFFFFFFFu);
            p += 4;
            continue;
        }
        const std::size_t len = c.bytes.size();
        protocol::detail::store_be32(p, static_cast<std::uint32_t>(len));
        if (len) std::memcpy(p + 4, c.bytes.data(), len);
        p += 4 + len;
    }
    return XXH3_64bits(buf_.data(), n);
}

std::uint64_t row_hasher::hash_row(const driver::row_view& row) { return hash_cells(cells_of(row)); }

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
