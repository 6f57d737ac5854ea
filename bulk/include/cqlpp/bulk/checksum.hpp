// An order-independent checksum of a table's rows, to compare an unload with
// its source, a load with its input, or two clusters.
//
// Each row is hashed (XXH3-64) over a canonical encoding: its cells in column
// order, each as [int32 length][bytes] with length -1 for null (and unset),
// i.e. the CQL wire form. So a row hashed straight from a Rows page and the
// same row parsed back from CSV/JSON and re-encoded hash alike. Row hashes are
// combined with three commutative, associative operations (sum mod 2^64, xor,
// row count), so the order rows arrive in, the split into ranges, and the
// split between workers do not matter: merge partial checksums in any order.
//
// Caveat: Cassandra returns the canonical bytes of what it stores; a value
// whose text form normalises it (a NaN payload, a non-minimal varint written
// by some other client) re-encodes differently and is reported as a change.
#pragma once

#include "cqlpp/bulk/error.hpp"
#include "cqlpp/driver/row.hpp"
#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/result.hpp"
#include "cqlpp/protocol/value.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace cqlpp::bulk {

struct table_checksum {
    std::uint64_t sum = 0;
    std::uint64_t xor_all = 0;
    std::uint64_t rows = 0;

    void add_row_hash(std::uint64_t h) noexcept {
        sum += h;
        xor_all ^= h;
        ++rows;
    }
    void merge(const table_checksum& o) noexcept {
        sum += o.sum;
        xor_all ^= o.xor_all;
        rows += o.rows;
    }
    friend table_checksum operator+(table_checksum a, const table_checksum& b) noexcept {
        a.merge(b);
        return a;
    }
    friend bool operator==(const table_checksum&, const table_checksum&) = default;

    // 48 lower-case hex digits: sum, xor, row count (16 each).
    std::string to_string() const;
    // bad_checksum unless exactly 48 hex digits (either case).
    static status parse(std::string_view text, table_checksum& out);
};

// Hashes rows; keeps one scratch buffer, so reuse it for many rows (one per thread).
class row_hasher {
public:
    // A row as it arrives in a Rows page (protocol::rows_result::row(i)).
    std::uint64_t hash_cells(std::span<const protocol::value_view> cells);
    // A driver row (row_view::raw of each column), without copying its cells.
    std::uint64_t hash_row(const driver::row_view& row);
    // A row of values (e.g. parsed from CSV/JSON), encoded with its column
    // types first. Errors come from protocol::encode_value (type_mismatch...).
    status hash_values(std::span<const protocol::column_spec> columns, std::span<const protocol::cql_value> row,
                       std::uint64_t& out);

private:
    protocol::byte_buffer buf_;
};

}  // namespace cqlpp::bulk
