// A generic, owning CQL value and its wire codec (spec §5).
//
// cql_value is for tools, tests and the simulated server: it can hold a value of
// any CQL type, nested to any (bounded) depth. It is not the driver's zero-copy
// row path. A value is interpreted together with its cql_type; the value only
// records which representation it uses (value_kind), so e.g. every integer type
// shares value_kind::integer and the type decides the width.
//
// Empty values: spec §5 allows a zero-length value for most non-string types
// ("empty", distinct from NULL). decode_value() returns value_kind::empty for a
// zero-length value of any type except ascii, text, blob and custom, where zero
// bytes are simply "" / an empty blob. encode_value() writes empty as zero bytes.
#pragma once

#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/error.hpp"
#include "cqlpp/protocol/types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace cqlpp::protocol {

// duration (spec §5.8). All three fields share one sign.
struct cql_duration {
    std::int32_t months = 0;
    std::int32_t days = 0;
    std::int64_t nanos = 0;
    friend bool operator==(const cql_duration&, const cql_duration&) = default;
};

// Arbitrary-precision integer kept as on the wire: big-endian two's complement.
// Bytes decoded from the wire are kept verbatim, so a non-minimal encoding
// (0x0001) re-encodes unchanged; equality is numeric.
class cql_varint {
public:
    cql_varint() : bytes_{0} {}  // zero
    static cql_varint from_int64(std::int64_t v);
    // Takes the bytes as they are; an empty buffer is not a number (encode rejects it).
    static cql_varint from_bytes(bytes_view b) { return cql_varint(byte_buffer(b.begin(), b.end())); }
    // Decimal text: optional '-' or '+', then digits. bad_literal on anything else.
    static errc from_string(std::string_view s, cql_varint& out);

    const byte_buffer& bytes() const noexcept { return bytes_; }
    bool valid() const noexcept { return !bytes_.empty(); }
    bool is_negative() const noexcept { return !bytes_.empty() && (bytes_[0] & 0x80) != 0; }
    bool is_zero() const noexcept;
    std::optional<std::int64_t> to_int64() const noexcept;
    // Decimal text ("-123"); "0" for an invalid (empty) varint.
    std::string to_string() const;
    // Shortest two's complement form of the same number.
    cql_varint minimal() const;

    friend bool operator==(const cql_varint& a, const cql_varint& b) noexcept;

private:
    explicit cql_varint(byte_buffer b) : bytes_(std::move(b)) {}
    byte_buffer bytes_;
};

// decimal (spec §5.6): unscaled * 10^-scale. Equality is Java BigDecimal.equals:
// 1.0 (10, scale 1) and 1.00 (100, scale 2) differ.
struct cql_decimal {
    std::int32_t scale = 0;
    cql_varint unscaled;

    // Java BigDecimal.toString(): "0.00256", "100", "6.4206E-16", "1E+3".
    std::string to_string() const;
    // Java BigDecimal(String) syntax: [+-]digits[.digits][(e|E)[+-]digits].
    static errc from_string(std::string_view s, cql_decimal& out);
    friend bool operator==(const cql_decimal&, const cql_decimal&) = default;
};

enum class value_kind : std::uint8_t {
    null,      // no value ([bytes] length -1)
    empty,     // zero-length value of a non-string type
    boolean,   // boolean
    integer,   // tinyint, smallint, int, bigint, counter, timestamp (ms since epoch), time (ns since midnight)
    date,      // date: uint32 days, 2^31 = 1970-01-01 (the wire form)
    float32,   // float
    float64,   // double
    string,    // ascii, text
    blob,      // blob, custom types
    uuid,      // uuid, timeuuid
    inet,      // inet (4 or 16 bytes)
    duration,  // duration
    varint,    // varint
    decimal,   // decimal
    list,      // list, set, vector
    map,       // map
    tuple,     // tuple, udt (fields in type order; each may be null)
};

std::string_view to_string(value_kind k) noexcept;

// Date helpers: the wire form centres the epoch at 2^31.
inline constexpr std::uint32_t date_epoch = 0x80000000u;
inline constexpr std::int64_t date_to_epoch_days(std::uint32_t wire) noexcept {
    return static_cast<std::int64_t>(wire) - static_cast<std::int64_t>(date_epoch);
}

// Largest valid time value (spec §5.17): 23:59:59.999999999.
inline constexpr std::int64_t max_time_nanos = 86'399'999'999'999;

class cql_value {
public:
    using element_list = std::vector<cql_value>;
    using entry_list = std::vector<std::pair<cql_value, cql_value>>;

    cql_value() noexcept = default;  // null

    static cql_value null() noexcept { return {}; }
    static cql_value empty_value() noexcept { return cql_value(value_kind::empty, std::monostate{}); }
    static cql_value boolean(bool v) { return cql_value(value_kind::boolean, v); }
    static cql_value integer(std::int64_t v) { return cql_value(value_kind::integer, v); }
    static cql_value date(std::uint32_t wire_days) { return cql_value(value_kind::date, wire_days); }
    static cql_value float32(float v) { return cql_value(value_kind::float32, v); }
    static cql_value float64(double v) { return cql_value(value_kind::float64, v); }
    static cql_value string(std::string v) { return cql_value(value_kind::string, std::move(v)); }
    static cql_value blob(byte_buffer v) { return cql_value(value_kind::blob, std::move(v)); }
    static cql_value uuid(const uuid_bytes& v) { return cql_value(value_kind::uuid, v); }
    static cql_value inet(const inet_address& v) { return cql_value(value_kind::inet, v); }
    static cql_value duration(const cql_duration& v) { return cql_value(value_kind::duration, v); }
    static cql_value varint(cql_varint v) { return cql_value(value_kind::varint, std::move(v)); }
    static cql_value decimal(cql_decimal v) { return cql_value(value_kind::decimal, std::move(v)); }
    static cql_value list(element_list v) { return cql_value(value_kind::list, std::move(v)); }
    static cql_value map(entry_list v) { return cql_value(value_kind::map, std::move(v)); }
    static cql_value tuple(element_list v) { return cql_value(value_kind::tuple, std::move(v)); }

    value_kind kind() const noexcept { return kind_; }
    bool is_null() const noexcept { return kind_ == value_kind::null; }
    bool is_empty() const noexcept { return kind_ == value_kind::empty; }

    // Accessors. Precondition: kind() matches (otherwise std::bad_variant_access).
    bool as_bool() const { return std::get<bool>(data_); }
    std::int64_t as_int() const { return std::get<std::int64_t>(data_); }
    std::uint32_t as_date() const { return std::get<std::uint32_t>(data_); }
    float as_float() const { return std::get<float>(data_); }
    double as_double() const { return std::get<double>(data_); }
    const std::string& as_string() const { return std::get<std::string>(data_); }
    const byte_buffer& as_blob() const { return std::get<byte_buffer>(data_); }
    const uuid_bytes& as_uuid() const { return std::get<uuid_bytes>(data_); }
    const inet_address& as_inet() const { return std::get<inet_address>(data_); }
    const cql_duration& as_duration() const { return std::get<cql_duration>(data_); }
    const cql_varint& as_varint() const { return std::get<cql_varint>(data_); }
    const cql_decimal& as_decimal() const { return std::get<cql_decimal>(data_); }
    // list / tuple kinds
    const element_list& elements() const { return std::get<element_list>(data_); }
    element_list& elements() { return std::get<element_list>(data_); }
    // map kind
    const entry_list& entries() const { return std::get<entry_list>(data_); }
    entry_list& entries() { return std::get<entry_list>(data_); }

    // Structural equality with these rules: floats are equal when bit-identical
    // or both NaN; varints compare numerically; a tuple with fewer elements
    // equals one whose extra elements are all null (Cassandra reads missing
    // trailing tuple/UDT fields as null).
    friend bool operator==(const cql_value& a, const cql_value& b) noexcept;

private:
    using storage = std::variant<std::monostate, bool, std::int64_t, std::uint32_t, float, double, std::string,
                                 byte_buffer, uuid_bytes, inet_address, cql_duration, cql_varint, cql_decimal,
                                 element_list, entry_list>;
    template <class T>
    cql_value(value_kind k, T&& v) : kind_(k), data_(std::in_place_type<std::decay_t<T>>, std::forward<T>(v)) {}

    value_kind kind_ = value_kind::null;
    storage data_;
};

// True when a zero-length value of this type is the "empty" value rather than
// an ordinary one ("" for ascii/text, an empty blob for blob/custom).
bool zero_length_is_empty(const cql_type& t) noexcept;

// Appends the value's bytes (no [int] length prefix). A top-level null is the
// caller's business: it gets errc::null_not_allowed. On error `out` is left
// as it was. Errors: type_mismatch (value_kind does not fit the type, too many
// tuple/UDT fields, wrong vector dimension), value_out_of_range (integer too wide
// for tinyint/smallint/int, time outside a day), bad_value (invalid UTF-8/ASCII,
// timeuuid that is not version 1, mixed-sign duration, invalid varint/inet),
// null_not_allowed (null inside a list/set/map/vector), bad_value_size (empty
// element in a fixed-size vector slot), type_nesting_too_deep.
errc encode_value(const cql_type& type, const cql_value& value, byte_buffer& out);

// Decodes the whole of `bytes` as one value of `type`. Strict: wrong size for a
// fixed-size type -> bad_value_size; invalid text -> bad_value; leftover bytes ->
// trailing_bytes; negative element count or length -> negative_length; counts or
// lengths that run past the end -> truncated (checked before any allocation);
// a null (-1) collection element decodes as a null element (legal [bytes]; what
// Cassandra sends for e.g. a list<blob> written by a lenient client). Non-canonical but valid input is
// accepted (any non-zero boolean byte is true, non-minimal vints/varints).
// `out` is unspecified on error.
errc decode_value(const cql_type& type, bytes_view bytes, cql_value& out);

}  // namespace cqlpp::protocol
