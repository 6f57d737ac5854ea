// Typed conversions between CQL values (spec §5) and C++ types, both ways.
//
// value_codec<T> says which CQL types a C++ type reads from and binds to, and
// converts. Type checking is strict and happens before any byte is looked at:
// reading a bigint column as int32_t is type_mismatch, never a truncation.
// The only implicit conversions are the lossless ones:
//   read:  an integer column into a C++ integer at least as wide
//          (tinyint -> int16_t/int32_t/int64_t, smallint -> int32_t/int64_t, int -> int64_t),
//          counter into int64_t, float into double, varint into any integer
//          (out_of_range if the number does not fit);
//   bind:  a C++ integer into any integer marker at least as wide, and into varint;
//          float into a double marker.
// Nothing else crosses kinds: timestamp is not int64_t, text is not a blob, etc.
//
//   C++ type                                   CQL types
//   bool                                       boolean
//   int8_t / int16_t / int32_t / int64_t       tinyint / smallint / int / bigint, counter (see widening)
//   float, double                              float, double
//   std::string, std::string_view (read: view) text, ascii (UTF-8 / ASCII checked both ways)
//   blob, blob_view, protocol::byte_buffer, protocol::bytes_view   blob, custom
//   uuid                                       uuid, timeuuid (binding to timeuuid needs version 1)
//   inet, date / sys_days, time, timestamp, duration, varint, decimal   their CQL type
//   std::vector<T>                             list, set, vector<T, n>
//   std::set<T>                                set, list
//   std::array<T, N>                           vector<T, N>
//   std::map<K, V>, std::vector<std::pair<K, V>>   map
//   std::tuple<Ts...>                          tuple with exactly sizeof...(Ts) elements
//   udt_view (read) / udt_value (bind)         udt
//   std::optional<T>                           as T, plus null
//   protocol::cql_value                        any type (generic, allocating fallback)
//
// Nulls: a null cell, and the zero-length "empty" value of a non-string type
// (value.hpp), read as std::nullopt into std::optional<T> and fail with
// unexpected_null for any other T. Tuple and UDT fields may be null; list, set,
// map and vector elements never are.
//
// Views: string_view, blob_view, bytes_view and udt_view results borrow the bytes
// they were decoded from (for rows: the response buffer, see row.hpp).
// Reading bool, integers, floats, uuid, inet, date/time/timestamp, string_view and
// blob_view is a direct read of the bytes and never allocates.
#pragma once

#include "cqlpp/driver/types.hpp"
#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/detail/text.hpp"
#include "cqlpp/protocol/types.hpp"
#include "cqlpp/protocol/value.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace cqlpp::driver {

// ---- Errors ("cqlpp.driver.conversion") --------------------------------------

enum class conversion_errc : int {
    ok = 0,
    type_mismatch,      // the C++ type cannot represent / be bound as the column's CQL type
    unexpected_null,    // null (or empty) value read into a non-optional type, or null bound where not allowed
    out_of_range,       // the value does not fit (varint into int32_t, time beyond a day, date beyond int32 days)
    bad_bytes,          // the value's bytes are malformed for its CQL type
    invalid_value,      // a C++ value the CQL type cannot hold (non-ASCII in ascii, wrong vector size, ...)
    no_such_column,     // column index or name (or UDT field) not in the result
    missing_metadata,   // the page was sent without column metadata and none was supplied
    not_a_rows_result,  // the response is not a RESULT Rows
};

const std::error_category& conversion_category() noexcept;
inline std::error_code make_error_code(conversion_errc e) noexcept { return {static_cast<int>(e), conversion_category()}; }
std::string_view to_string(conversion_errc e) noexcept;

// Thrown by the throwing accessors (row_view::get, udt_view::get); what() names
// the column and its CQL type.
class conversion_error : public std::system_error {
public:
    using std::system_error::system_error;
};

// The customisation point. A specialisation provides, for reading,
//   static bool can_decode(const cql_type&) noexcept;
//   static conversion_errc decode(const cql_type&, bytes_view, T&);   // bytes never null/empty here
// and/or, for binding,
//   static bool can_encode(const cql_type&) noexcept;
//   static conversion_errc encode(const T&, const cql_type&, byte_buffer&);  // appends the bytes only
// Users may specialise it for their own types (e.g. a struct as a UDT via udt_view / udt_value).
template <class T, class Enable = void>
struct value_codec;

// Tag for an unset bind value ([value] -2, v4+): the column keeps its value.
struct unset_t {
    explicit unset_t() = default;
};
inline constexpr unset_t unset{};

namespace detail {

using protocol::bytes_view;
using protocol::cql_type;
using protocol::type_kind;
using errc = conversion_errc;

template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
concept decodable = requires(const cql_type& t, bytes_view b, T& out) {
    { value_codec<T>::can_decode(t) } -> std::same_as<bool>;
    { value_codec<T>::decode(t, b, out) } -> std::same_as<conversion_errc>;
};
template <class T>
concept encodable = requires(const cql_type& t, const T& v, protocol::byte_buffer& out) {
    { value_codec<T>::can_encode(t) } -> std::same_as<bool>;
    { value_codec<T>::encode(v, t, out) } -> std::same_as<conversion_errc>;
};

// A null cell, or a zero-length value where that means "empty" (value.hpp).
inline bool reads_as_null(const cql_type& t, bool is_null, bytes_view b) noexcept {
    return is_null || (b.empty() && protocol::zero_length_is_empty(t));
}

template <class T>
errc read_nullable(const cql_type& t, bool is_null, bytes_view b, T& out) {
    if (reads_as_null(t, is_null, b)) {
        if constexpr (is_optional<T>::value) {
            out.reset();
            return errc::ok;
        } else {
            return errc::unexpected_null;
        }
    }
    return value_codec<T>::decode(t, b, out);
}

template <class T>
bool is_null_value(const T& v) noexcept {
    if constexpr (is_optional<T>::value) return !v.has_value();
    else return false;
}

// One [bytes] element of a collection, tuple or UDT; `null_ok` for tuple/UDT fields.
inline errc next_element(protocol::byte_reader& r, bytes_view& elem, bool& is_null, bool null_ok) noexcept {
    std::int32_t len = r.i32();
    if (!r.ok()) return errc::bad_bytes;
    is_null = len < 0;
    if (len < 0) return (len == -1 && null_ok) ? errc::ok : errc::bad_bytes;
    if (static_cast<std::size_t>(len) > r.remaining()) return errc::bad_bytes;
    elem = r.raw(static_cast<std::size_t>(len));
    return errc::ok;
}

// Element count of a list/set/map, checked against the bytes left so a bogus
// count cannot make us reserve a huge vector.
inline errc read_count(protocol::byte_reader& r, std::size_t min_elem_size, std::size_t& n) noexcept {
    std::int32_t c = r.i32();
    if (!r.ok() || c < 0 || static_cast<std::size_t>(c) > r.remaining() / min_elem_size) return errc::bad_bytes;
    n = static_cast<std::size_t>(c);
    return errc::ok;
}

inline errc write_count(std::size_t n, protocol::byte_buffer& out) {
    if (n > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) return errc::out_of_range;
    protocol::byte_writer(out).i32(static_cast<std::int32_t>(n));
    return errc::ok;
}

// Integer widths of the fixed-size integer kinds; 0 for anything else.
constexpr std::size_t int_width(type_kind k) noexcept {
    switch (k) {
        case type_kind::tinyint: return 1;
        case type_kind::smallint: return 2;
        case type_kind::int_: return 4;
        case type_kind::bigint:
        case type_kind::counter: return 8;
        default: return 0;
    }
}

// [bytes] element: length patched in after the value is written; nulls only when allowed.
template <class T>
errc write_element(const T& v, const cql_type& t, protocol::byte_buffer& out, bool null_ok) {
    if (is_null_value(v)) {
        if (!null_ok) return errc::unexpected_null;
        protocol::byte_writer(out).i32(-1);
        return errc::ok;
    }
    const std::size_t pos = out.size();
    if constexpr (std::is_integral_v<T> && std::is_signed_v<T> && !std::is_same_v<T, char>) {
        // Fixed-width integers (the common key type): length and value in one
        // resize of the buffer instead of two.
        if (const std::size_t w = int_width(t.kind); w != 0) {
            out.resize(pos + 4 + w);
            std::uint8_t* p = out.data() + pos;
            protocol::detail::store_be32(p, static_cast<std::uint32_t>(w));
            switch (w) {
                case 1: p[4] = static_cast<std::uint8_t>(v); break;
                case 2: protocol::detail::store_be16(p + 4, static_cast<std::uint16_t>(v)); break;
                case 4: protocol::detail::store_be32(p + 4, static_cast<std::uint32_t>(v)); break;
                default: protocol::detail::store_be64(p + 4, static_cast<std::uint64_t>(static_cast<std::int64_t>(v))); break;
            }
            return errc::ok;
        }
    }
    out.resize(pos + 4);
    if (auto e = value_codec<T>::encode(v, t, out); e != errc::ok) return e;
    const std::size_t len = out.size() - pos - 4;
    if (len > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) return errc::out_of_range;
    protocol::detail::store_be32(out.data() + pos, static_cast<std::uint32_t>(len));
    return errc::ok;
}


// Big-endian two's complement of any length into int64 (false when it does not fit).
inline bool varint_to_int64(bytes_view b, std::int64_t& out) noexcept {
    if (b.empty()) return false;
    const std::uint8_t sign = (b[0] & 0x80) ? 0xFF : 0x00;
    std::size_t i = 0;
    while (b.size() - i > 8) {  // leading bytes beyond 8 must be pure sign extension
        if (b[i] != sign) return false;
        ++i;
    }
    if (b.size() > 8 && ((b[i] ^ sign) & 0x80)) return false;  // sign bit of the low 8 bytes must agree
    std::uint64_t v = sign ? ~std::uint64_t{0} : 0;
    for (; i < b.size(); ++i) v = (v << 8) | b[i];
    out = static_cast<std::int64_t>(v);
    return true;
}
// Shortest two's complement form.
inline void write_varint(std::int64_t v, protocol::byte_buffer& out) {
    std::uint8_t tmp[8];
    protocol::detail::store_be64(tmp, static_cast<std::uint64_t>(v));
    std::size_t start = 0;
    while (start < 7 && ((tmp[start] == 0x00 && !(tmp[start + 1] & 0x80)) || (tmp[start] == 0xFF && (tmp[start + 1] & 0x80))))
        ++start;
    out.insert(out.end(), tmp + start, tmp + 8);
}

}  // namespace detail

// ---- Free functions --------------------------------------------------------------

// Type checks alone, e.g. to validate a statement's bind values against its
// prepared markers, or a row type against result metadata, once up front.
template <class T>
bool can_read(const protocol::cql_type& type) noexcept {
    return value_codec<T>::can_decode(type);
}
template <class T>
bool can_bind(const protocol::cql_type& type) noexcept {
    return value_codec<T>::can_encode(type);
}

// Reads one value (a cell, or any [value]) as T. Type check first, then null, then bytes.
template <class T>
conversion_errc decode_value(const protocol::cql_type& type, const protocol::value_view& v, T& out) {
    static_assert(detail::decodable<T>, "no value_codec<T> for reading this C++ type");
    if (!value_codec<T>::can_decode(type)) return conversion_errc::type_mismatch;
    return detail::read_nullable(type, !v.is_set(), v.bytes, out);
}

// Appends the value's bytes (no length prefix) after a strict type check. A
// disengaged optional is unexpected_null here (use write_value to bind a null).
// On error `out` is left as it was.
template <class T>
conversion_errc encode_value(const T& value, const protocol::cql_type& type, protocol::byte_buffer& out) {
    static_assert(detail::encodable<T>, "no value_codec<T> for binding this C++ type");
    if (!value_codec<T>::can_encode(type)) return conversion_errc::type_mismatch;
    const std::size_t before = out.size();
    auto e = value_codec<T>::encode(value, type, out);
    if (e != conversion_errc::ok) out.resize(before);
    return e;
}

// Appends a bind [value]: [int] length + bytes, -1 for a disengaged optional.
template <class T>
conversion_errc write_value(const T& value, const protocol::cql_type& type, protocol::byte_buffer& out) {
    static_assert(detail::encodable<T>, "no value_codec<T> for binding this C++ type");
    if (!value_codec<T>::can_encode(type)) return conversion_errc::type_mismatch;
    const std::size_t before = out.size();
    auto e = detail::write_element(value, type, out, true);
    if (e != conversion_errc::ok) out.resize(before);
    return e;
}
inline conversion_errc write_value(unset_t, const protocol::cql_type&, protocol::byte_buffer& out) {
    protocol::byte_writer(out).i32(-2);
    return conversion_errc::ok;
}
inline conversion_errc write_value(std::nullopt_t, const protocol::cql_type&, protocol::byte_buffer& out) {
    protocol::byte_writer(out).i32(-1);
    return conversion_errc::ok;
}

// ---- Scalars ---------------------------------------------------------------------

template <>
struct value_codec<bool> {
    static bool can_decode(const protocol::cql_type& t) noexcept { return t.kind == protocol::type_kind::boolean; }
    static bool can_encode(const protocol::cql_type& t) noexcept { return can_decode(t); }
    static conversion_errc decode(const protocol::cql_type&, protocol::bytes_view b, bool& out) noexcept {
        if (b.size() != 1) return conversion_errc::bad_bytes;
        out = b[0] != 0;
        return conversion_errc::ok;
    }
    static conversion_errc encode(bool v, const protocol::cql_type&, protocol::byte_buffer& out) {
        out.push_back(v ? 1 : 0);
        return conversion_errc::ok;
    }
};

template <class T>
struct value_codec<T, std::enable_if_t<std::is_integral_v<T> && std::is_signed_v<T> && !std::is_same_v<T, char>>> {
    static bool can_decode(const protocol::cql_type& t) noexcept {
        const auto w = detail::int_width(t.kind);
        return (w != 0 && w <= sizeof(T)) || t.kind == protocol::type_kind::varint;
    }
    static bool can_encode(const protocol::cql_type& t) noexcept {
        return detail::int_width(t.kind) >= sizeof(T) || t.kind == protocol::type_kind::varint;
    }
    static conversion_errc decode(const protocol::cql_type& t, protocol::bytes_view b, T& out) noexcept {
        namespace pd = protocol::detail;
        if (t.kind == protocol::type_kind::varint) {
            std::int64_t v = 0;
            if (b.empty()) return conversion_errc::bad_bytes;
            if (!detail::varint_to_int64(b, v) || v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max())
                return conversion_errc::out_of_range;
            out = static_cast<T>(v);
            return conversion_errc::ok;
        }
        const auto w = detail::int_width(t.kind);
        if (b.size() != w) return conversion_errc::bad_bytes;
        switch (w) {
            case 1: out = static_cast<T>(static_cast<std::int8_t>(b[0])); break;
            case 2: out = static_cast<T>(static_cast<std::int16_t>(pd::load_be16(b.data()))); break;
            case 4: out = static_cast<T>(static_cast<std::int32_t>(pd::load_be32(b.data()))); break;
            default: out = static_cast<T>(static_cast<std::int64_t>(pd::load_be64(b.data()))); break;
        }
        return conversion_errc::ok;
    }
    static conversion_errc encode(T v, const protocol::cql_type& t, protocol::byte_buffer& out) {
        protocol::byte_writer w(out);
        switch (detail::int_width(t.kind)) {
            case 1: w.u8(static_cast<std::uint8_t>(v)); break;
            case 2: w.i16(static_cast<std::int16_t>(v)); break;
            case 4: w.i32(static_cast<std::int32_t>(v)); break;
            case 8: w.i64(static_cast<std::int64_t>(v)); break;
            default: detail::write_varint(static_cast<std::int64_t>(v), out); break;
        }
        return conversion_errc::ok;
    }
};

template <>
struct value_codec<float> {
    static bool can_decode(const protocol::cql_type& t) noexcept { return t.kind == protocol::type_kind::float_; }
    static bool can_encode(const protocol::cql_type& t) noexcept {
        return t.kind == protocol::type_kind::float_ || t.kind == protocol::type_kind::double_;
    }
    static conversion_errc decode(const protocol::cql_type&, protocol::bytes_view b, float& out) noexcept {
        if (b.size() != 4) return conversion_errc::bad_bytes;
        const std::uint32_t bits = protocol::detail::load_be32(b.data());
        std::memcpy(&out, &bits, 4);
        return conversion_errc::ok;
    }
    static conversion_errc encode(float v, const protocol::cql_type& t, protocol::byte_buffer& out);
};

template <>
struct value_codec<double> {
    static bool can_decode(const protocol::cql_type& t) noexcept {
        return t.kind == protocol::type_kind::double_ || t.kind == protocol::type_kind::float_;
    }
    static bool can_encode(const protocol::cql_type& t) noexcept { return t.kind == protocol::type_kind::double_; }
    static conversion_errc decode(const protocol::cql_type& t, protocol::bytes_view b, double& out) noexcept {
        if (t.kind == protocol::type_kind::float_) {
            float f = 0;
            auto e = value_codec<float>::decode(t, b, f);
            out = f;
            return e;
        }
        if (b.size() != 8) return conversion_errc::bad_bytes;
        const std::uint64_t bits = protocol::detail::load_be64(b.data());
        std::memcpy(&out, &bits, 8);
        return conversion_errc::ok;
    }
    static conversion_errc encode(double v, const protocol::cql_type&, protocol::byte_buffer& out) {
        std::uint64_t bits;
        std::memcpy(&bits, &v, 8);
        protocol::byte_writer(out).i64(static_cast<std::int64_t>(bits));
        return conversion_errc::ok;
    }
};

inline conversion_errc value_codec<float>::encode(float v, const protocol::cql_type& t, protocol::byte_buffer& out) {
    if (t.kind == protocol::type_kind::double_) return value_codec<double>::encode(v, t, out);
    std::uint32_t bits;
    std::memcpy(&bits, &v, 4);
    protocol::byte_writer(out).u32(bits);
    return conversion_errc::ok;
}

// ---- Text --------------------------------------------------------------------------

namespace detail {
inline bool is_text(const cql_type& t) noexcept { return t.kind == type_kind::text || t.kind == type_kind::ascii; }
inline bool valid_text(const cql_type& t, std::string_view s) noexcept {
    return t.kind == type_kind::ascii ? protocol::detail::is_ascii(s) : protocol::detail::is_valid_utf8(s);
}
}  // namespace detail

template <>
struct value_codec<std::string_view> {
    static bool can_decode(const protocol::cql_type& t) noexcept { return detail::is_text(t); }
    static bool can_encode(const protocol::cql_type& t) noexcept { return detail::is_text(t); }
    static conversion_errc decode(const protocol::cql_type& t, protocol::bytes_view b, std::string_view& out) noexcept {
        out = protocol::as_chars(b);
        return detail::valid_text(t, out) ? conversion_errc::ok : conversion_errc::bad_bytes;
    }
    static conversion_errc encode(std::string_view v, const protocol::cql_type& t, protocol::byte_buffer& out) {
        if (!detail::valid_text(t, v)) return conversion_errc::invalid_value;
        protocol::byte_writer(out).raw(v);
        return conversion_errc::ok;
    }
};

template <>
struct value_codec<std::string> {
    static bool can_decode(const protocol::cql_type& t) noexcept { return detail::is_text(t); }
    static bool can_encode(const protocol::cql_type& t) noexcept { return detail::is_text(t); }
    static conversion_errc decode(const protocol::cql_type& t, protocol::bytes_view b, std::string& out) {
        std::string_view v;
        auto e = value_codec<std::string_view>::decode(t, b, v);
        if (e == conversion_errc::ok) out.assign(v);
        return e;
    }
    static conversion_errc encode(const std::string& v, const protocol::cql_type& t, protocol::byte_buffer& out) {
        return value_codec<std::string_view>::encode(v, t, out);
    }
};

// Binding string literals: encode_value("abc", ...) and write_value(some_const_char_ptr, ...).
template <>
struct value_codec<const char*> {
    static bool can_encode(const protocol::cql_type& t) noexcept { return detail::is_text(t); }
    static conversion_errc encode(const char* v, const protocol::cql_type& t, protocol::byte_buffer& out) {
        if (v == nullptr) return conversion_errc::unexpected_null;
        return value_codec<std::string_view>::encode(v, t, out);
    }
};
template <std::size_t N>
struct value_codec<char[N]> {
    static bool can_encode(const protocol::cql_type& t) noexcept { return detail::is_text(t); }
    static conversion_errc encode(const char (&v)[N], const protocol::cql_type& t, protocol::byte_buffer& out) {
        return value_codec<std::string_view>::encode(std::string_view(v, N > 0 && v[N - 1] == '\0' ? N - 1 : N), t, out);
    }
};

// ---- Blobs -------------------------------------------------------------------------

namespace detail {
inline bool is_blob(const cql_type& t) noexcept { return t.kind == type_kind::blob || t.kind == type_kind::custom; }

template <class Byte>
struct blob_span_codec {
    using view = std::span<const Byte>;
    static bool can_decode(const cql_type& t) noexcept { return is_blob(t); }
    static bool can_encode(const cql_type& t) noexcept { return is_blob(t); }
    static errc decode(const cql_type&, bytes_view b, view& out) noexcept {
        out = view(reinterpret_cast<const Byte*>(b.data()), b.size());
        return errc::ok;
    }
    static errc encode(view v, const cql_type&, protocol::byte_buffer& out) {
        auto* p = reinterpret_cast<const std::uint8_t*>(v.data());
        out.insert(out.end(), p, p + v.size());
        return errc::ok;
    }
};
template <class Byte>
struct blob_vector_codec {
    static bool can_decode(const cql_type& t) noexcept { return is_blob(t); }
    static bool can_encode(const cql_type& t) noexcept { return is_blob(t); }
    static errc decode(const cql_type&, bytes_view b, std::vector<Byte>& out) {
        auto* p = reinterpret_cast<const Byte*>(b.data());
        out.assign(p, p + b.size());
        return errc::ok;
    }
    static errc encode(const std::vector<Byte>& v, const cql_type& t, protocol::byte_buffer& out) {
        return blob_span_codec<Byte>::encode(v, t, out);
    }
};
}  // namespace detail

template <> struct value_codec<blob_view> : detail::blob_span_codec<std::byte> {};
template <> struct value_codec<protocol::bytes_view> : detail::blob_span_codec<std::uint8_t> {};
template <> struct value_codec<blob> : detail::blob_vector_codec<std::byte> {};
template <> struct value_codec<protocol::byte_buffer> : detail::blob_vector_codec<std::uint8_t> {};

// ---- Other scalar types --------------------------------------------------------

template <>
struct value_codec<uuid> {
    static bool can_decode(const protocol::cql_type& t) noexcept {
        return t.kind == protocol::type_kind::uuid || t.kind == protocol::type_kind::timeuuid;
    }
    static bool can_encode(const protocol::cql_type& t) noexcept { return can_decode(t); }
    static conversion_errc decode(const protocol::cql_type& t, protocol::bytes_view b, uuid& out) noexcept {
        if (b.size() != 16) return conversion_errc::bad_bytes;
        std::memcpy(out.bytes.data(), b.data(), 16);
        // Same rule as the protocol's generic decoder: a timeuuid is version 1.
        if (t.kind == protocol::type_kind::timeuuid && out.version() != 1) return conversion_errc::bad_bytes;
        return conversion_errc::ok;
    }
    static conversion_errc encode(const uuid& v, const protocol::cql_type& t, protocol::byte_buffer& out) {
        if (t.kind == protocol::type_kind::timeuuid && v.version() != 1) return conversion_errc::invalid_value;
        out.insert(out.end(), v.bytes.begin(), v.bytes.end());
        return conversion_errc::ok;
    }
};

template <>
struct value_codec<inet> {
    static bool can_decode(const protocol::cql_type& t) noexcept { return t.kind == protocol::type_kind::inet; }
    static bool can_encode(const protocol::cql_type& t) noexcept { return can_decode(t); }
    static conversion_errc decode(const protocol::cql_type&, protocol::bytes_view b, inet& out) noexcept {
        if (b.size() != 4 && b.size() != 16) return conversion_errc::bad_bytes;
        out = inet{};
        out.length = static_cast<std::uint8_t>(b.size());
        std::memcpy(out.bytes.data(), b.data(), b.size());
        return conversion_errc::ok;
    }
    static conversion_errc encode(const inet& v, const protocol::cql_type&, protocol::byte_buffer& out) {
        if (v.length != 4 && v.length != 16) return conversion_errc::invalid_value;
        out.insert(out.end(), v.bytes.begin(), v.bytes.begin() + v.length);
        return conversion_errc::ok;
    }
};

template <>
struct value_codec<date> {
    static bool can_decode(const protocol::cql_type& t) noexcept { return t.kind == protocol::type_kind::date; }
    static bool can_encode(const protocol::cql_type& t) noexcept { return can_decode(t); }
    static conversion_errc decode(const protocol::cql_type&, protocol::bytes_view b, date& out) noexcept {
        if (b.size() != 4) return conversion_errc::bad_bytes;
        out = date(static_cast<std::int32_t>(protocol::date_to_epoch_days(protocol::detail::load_be32(b.data()))));
        return conversion_errc::ok;
    }
    static conversion_errc encode(const date& v, const protocol::cql_type&, protocol::byte_buffer& out) {
        protocol::byte_writer(out).u32(static_cast<std::uint32_t>(static_cast<std::int64_t>(v.days) + protocol::date_epoch));
        return conversion_errc::ok;
    }
};

template <>
struct value_codec<std::chrono::sys_days> {
    static bool can_decode(const protocol::cql_type& t) noexcept { return t.kind == protocol::type_kind::date; }
    static bool can_encode(const protocol::cql_type& t) noexcept { return can_decode(t); }
    static conversion_errc decode(const protocol::cql_type& t, protocol::bytes_view b, std::chrono::sys_days& out) noexcept {
        date d;
        auto e = value_codec<date>::decode(t, b, d);
        out = d.to_sys_days();
        return e;
    }
    static conversion_errc encode(std::chrono::sys_days v, const protocol::cql_type& t, protocol::byte_buffer& out) {
        const auto n = v.time_since_epoch().count();
        if (n < std::numeric_limits<std::int32_t>::min() || n > std::numeric_limits<std::int32_t>::max())
            return conversion_errc::out_of_range;
        return value_codec<date>::encode(date(static_cast<std::int32_t>(n)), t, out);
    }
};

template <>
struct value_codec<time> {
    static bool can_decode(const protocol::cql_type& t) noexcept { return t.kind == protocol::type_kind::time; }
    static bool can_encode(const protocol::cql_type& t) noexcept { return can_decode(t); }
    static conversion_errc decode(const protocol::cql_type&, protocol::bytes_view b, time& out) noexcept {
        if (b.size() != 8) return conversion_errc::bad_bytes;
        const auto ns = static_cast<std::int64_t>(protocol::detail::load_be64(b.data()));
        if (ns < 0 || ns > protocol::max_time_nanos) return conversion_errc::bad_bytes;
        out = time(ns);
        return conversion_errc::ok;
    }
    static conversion_errc encode(time v, const protocol::cql_type&, protocol::byte_buffer& out) {
        if (v.count() < 0 || v.count() > protocol::max_time_nanos) return conversion_errc::out_of_range;
        protocol::byte_writer(out).i64(v.count());
        return conversion_errc::ok;
    }
};

template <>
struct value_codec<timestamp> {
    static bool can_decode(const protocol::cql_type& t) noexcept { return t.kind == protocol::type_kind::timestamp; }
    static bool can_encode(const protocol::cql_type& t) noexcept { return can_decode(t); }
    static conversion_errc decode(const protocol::cql_type&, protocol::bytes_view b, timestamp& out) noexcept {
        if (b.size() != 8) return conversion_errc::bad_bytes;
        out = timestamp(std::chrono::milliseconds(static_cast<std::int64_t>(protocol::detail::load_be64(b.data()))));
        return conversion_errc::ok;
    }
    static conversion_errc encode(timestamp v, const protocol::cql_type&, protocol::byte_buffer& out) {
        protocol::byte_writer(out).i64(v.time_since_epoch().count());
        return conversion_errc::ok;
    }
};

template <>
struct value_codec<duration> {
    static bool can_decode(const protocol::cql_type& t) noexcept { return t.kind == protocol::type_kind::duration; }
    static bool can_encode(const protocol::cql_type& t) noexcept { return can_decode(t); }
    static conversion_errc decode(const protocol::cql_type&, protocol::bytes_view b, duration& out) noexcept;
    static conversion_errc encode(const duration& v, const protocol::cql_type&, protocol::byte_buffer& out);
};

template <>
struct value_codec<varint> {
    static bool can_decode(const protocol::cql_type& t) noexcept { return t.kind == protocol::type_kind::varint; }
    static bool can_encode(const protocol::cql_type& t) noexcept { return can_decode(t); }
    static conversion_errc decode(const protocol::cql_type&, protocol::bytes_view b, varint& out) {
        if (b.empty()) return conversion_errc::bad_bytes;
        out = varint::from_bytes(b);
        return conversion_errc::ok;
    }
    static conversion_errc encode(const varint& v, const protocol::cql_type&, protocol::byte_buffer& out) {
        if (!v.valid()) return conversion_errc::invalid_value;
        protocol::byte_writer(out).raw(v.bytes());
        return conversion_errc::ok;
    }
};

template <>
struct value_codec<decimal> {
    static bool can_decode(const protocol::cql_type& t) noexcept { return t.kind == protocol::type_kind::decimal; }
    static bool can_encode(const protocol::cql_type& t) noexcept { return can_decode(t); }
    static conversion_errc decode(const protocol::cql_type&, protocol::bytes_view b, decimal& out) {
        if (b.size() < 5) return conversion_errc::bad_bytes;
        out.scale = static_cast<std::int32_t>(protocol::detail::load_be32(b.data()));
        out.unscaled = varint::from_bytes(b.subspan(4));
        return conversion_errc::ok;
    }
    static conversion_errc encode(const decimal& v, const protocol::cql_type&, protocol::byte_buffer& out) {
        if (!v.unscaled.valid()) return conversion_errc::invalid_value;
        protocol::byte_writer w(out);
        w.i32(v.scale);
        w.raw(v.unscaled.bytes());
        return conversion_errc::ok;
    }
};

// Any type, through the protocol layer's generic (allocating) codec.
template <>
struct value_codec<protocol::cql_value> {
    static bool can_decode(const protocol::cql_type&) noexcept { return true; }
    static bool can_encode(const protocol::cql_type&) noexcept { return true; }
    static conversion_errc decode(const protocol::cql_type& t, protocol::bytes_view b, protocol::cql_value& out);
    static conversion_errc encode(const protocol::cql_value& v, const protocol::cql_type& t, protocol::byte_buffer& out);
};

// ---- Nullable ----------------------------------------------------------------------

template <class T>
struct value_codec<std::optional<T>> {
    static bool can_decode(const protocol::cql_type& t) noexcept { return value_codec<T>::can_decode(t); }
    static bool can_encode(const protocol::cql_type& t) noexcept { return value_codec<T>::can_encode(t); }
    static conversion_errc decode(const protocol::cql_type& t, protocol::bytes_view b, std::optional<T>& out) {
        return value_codec<T>::decode(t, b, out.emplace());
    }
    static conversion_errc encode(const std::optional<T>& v, const protocol::cql_type& t, protocol::byte_buffer& out) {
        if (!v) return conversion_errc::unexpected_null;
        return value_codec<T>::encode(*v, t, out);
    }
};

// ---- Collections -------------------------------------------------------------------

namespace detail {

inline bool is_list_like(const cql_type& t) noexcept {
    return (t.kind == type_kind::list || t.kind == type_kind::set) && t.params.size() == 1;
}
inline bool is_vector(const cql_type& t) noexcept { return t.kind == type_kind::vector && t.params.size() == 1; }

// list<T> / set<T>: [int] n, then n [bytes]; put(E&&) receives each element.
template <class E, class Reserve, class Put>
errc decode_list(const cql_type& t, bytes_view b, Reserve&& reserve, Put&& put) {
    protocol::byte_reader r(b);
    std::size_t n = 0;
    if (auto e = read_count(r, 4, n); e != errc::ok) return e;
    reserve(n);
    const cql_type& et = t.params[0];
    for (std::size_t i = 0; i < n; ++i) {
        bytes_view eb;
        bool is_null = false;
        if (auto e = next_element(r, eb, is_null, false); e != errc::ok) return e;
        E v{};
        if (auto e = read_nullable(et, false, eb, v); e != errc::ok) return e;
        put(std::move(v));
    }
    return r.empty() ? errc::ok : errc::bad_bytes;
}

// vector<T, n>: fixed-size elements concatenated, others each prefixed by an
// [unsigned vint] length; never null. put(i, E&&) receives element i.
template <class E, class Put>
errc decode_vector(const cql_type& t, bytes_view b, Put&& put) {
    const cql_type& et = t.params[0];
    const std::size_t dim = t.dimension;
    auto one = [&](std::size_t i, bytes_view eb) {
        E v{};
        auto e = read_nullable(et, false, eb, v);
        if (e == errc::ok) put(i, std::move(v));
        return e;
    };
    if (auto fs = protocol::fixed_value_size(et)) {
        if (*fs == 0 || b.size() != *fs * dim) return errc::bad_bytes;
        for (std::size_t i = 0; i < dim; ++i)
            if (auto e = one(i, b.subspan(i * *fs, *fs)); e != errc::ok) return e;
        return errc::ok;
    }
    if (dim > b.size()) return errc::bad_bytes;  // at least one length byte each
    protocol::byte_reader r(b);
    for (std::size_t i = 0; i < dim; ++i) {
        std::uint64_t len = r.unsigned_vint();
        if (!r.ok() || len > r.remaining()) return errc::bad_bytes;
        if (auto e = one(i, r.raw(static_cast<std::size_t>(len))); e != errc::ok) return e;
    }
    return r.empty() ? errc::ok : errc::bad_bytes;
}

template <class Range>
errc encode_list(const Range& v, std::size_t n, const cql_type& t, protocol::byte_buffer& out) {
    if (auto e = write_count(n, out); e != errc::ok) return e;
    for (const auto& x : v)
        if (auto e = write_element(x, t.params[0], out, false); e != errc::ok) return e;
    return errc::ok;
}

template <class Range>
errc encode_vector(const Range& v, std::size_t n, const cql_type& t, protocol::byte_buffer& out) {
    using E = std::decay_t<decltype(*std::begin(v))>;
    if (n != t.dimension) return errc::invalid_value;
    const cql_type& et = t.params[0];
    const auto fs = protocol::fixed_value_size(et);
    for (const auto& x : v) {
        if (is_null_value(x)) return errc::unexpected_null;
        const std::size_t pos = out.size();
        if (auto e = value_codec<E>::encode(x, et, out); e != errc::ok) return e;
        const std::size_t len = out.size() - pos;
        if (fs) {
            if (len != *fs) return errc::invalid_value;
            continue;
        }
        // Variable size: the [unsigned vint] length goes before the element;
        // append it, then rotate it into place (no scratch buffer).
        const std::size_t end = out.size();
        protocol::byte_writer(out).unsigned_vint(len);
        std::rotate(out.begin() + static_cast<std::ptrdiff_t>(pos), out.begin() + static_cast<std::ptrdiff_t>(end), out.end());
    }
    return errc::ok;
}

template <class M>
errc decode_map_into(const cql_type& t, bytes_view b, M& out) {
    using K = typename M::value_type::first_type;
    using V = typename M::value_type::second_type;
    protocol::byte_reader r(b);
    std::size_t n = 0;
    if (auto e = read_count(r, 8, n); e != errc::ok) return e;
    out.clear();
    if constexpr (requires { out.reserve(n); }) out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        bytes_view kb, vb;
        bool is_null = false;
        if (auto e = next_element(r, kb, is_null, false); e != errc::ok) return e;
        if (auto e = next_element(r, vb, is_null, false); e != errc::ok) return e;
        std::remove_const_t<K> k{};
        V v{};
        if (auto e = read_nullable(t.params[0], false, kb, k); e != errc::ok) return e;
        if (auto e = read_nullable(t.params[1], false, vb, v); e != errc::ok) return e;
        if constexpr (requires { out.emplace_back(std::move(k), std::move(v)); }) out.emplace_back(std::move(k), std::move(v));
        else out.emplace(std::move(k), std::move(v));
    }
    return r.empty() ? errc::ok : errc::bad_bytes;
}

template <class M>
errc encode_map(const M& m, const cql_type& t, protocol::byte_buffer& out) {
    if (auto e = write_count(m.size(), out); e != errc::ok) return e;
    for (const auto& [k, v] : m) {
        if (auto e = write_element(k, t.params[0], out, false); e != errc::ok) return e;
        if (auto e = write_element(v, t.params[1], out, false); e != errc::ok) return e;
    }
    return errc::ok;
}

template <class K, class V>
bool map_can_decode(const cql_type& t) noexcept {
    return t.kind == type_kind::map && t.params.size() == 2 && value_codec<K>::can_decode(t.params[0]) &&
           value_codec<V>::can_decode(t.params[1]);
}
template <class K, class V>
bool map_can_encode(const cql_type& t) noexcept {
    return t.kind == type_kind::map && t.params.size() == 2 && value_codec<K>::can_encode(t.params[0]) &&
           value_codec<V>::can_encode(t.params[1]);
}

}  // namespace detail

template <class T>
struct value_codec<std::vector<T>> {
    static bool can_decode(const protocol::cql_type& t) noexcept {
        return (detail::is_list_like(t) || detail::is_vector(t)) && value_codec<T>::can_decode(t.params[0]);
    }
    static bool can_encode(const protocol::cql_type& t) noexcept {
        return (detail::is_list_like(t) || detail::is_vector(t)) && value_codec<T>::can_encode(t.params[0]);
    }
    static conversion_errc decode(const protocol::cql_type& t, protocol::bytes_view b, std::vector<T>& out) {
        out.clear();
        if (detail::is_vector(t)) {
            if (t.dimension > b.size()) return conversion_errc::bad_bytes;  // every element takes a byte
            out.reserve(t.dimension);
            return detail::decode_vector<T>(t, b, [&](std::size_t, T&& v) { out.push_back(std::move(v)); });
        }
        return detail::decode_list<T>(
            t, b, [&](std::size_t n) { out.reserve(n); }, [&](T&& v) { out.push_back(std::move(v)); });
    }
    static conversion_errc encode(const std::vector<T>& v, const protocol::cql_type& t, protocol::byte_buffer& out) {
        if (detail::is_vector(t)) return detail::encode_vector(v, v.size(), t, out);
        return detail::encode_list(v, v.size(), t, out);
    }
};

template <class T, class C, class A>
struct value_codec<std::set<T, C, A>> {
    static bool can_decode(const protocol::cql_type& t) noexcept {
        return detail::is_list_like(t) && value_codec<T>::can_decode(t.params[0]);
    }
    static bool can_encode(const protocol::cql_type& t) noexcept {
        return detail::is_list_like(t) && value_codec<T>::can_encode(t.params[0]);
    }
    static conversion_errc decode(const protocol::cql_type& t, protocol::bytes_view b, std::set<T, C, A>& out) {
        out.clear();
        return detail::decode_list<T>(
            t, b, [](std::size_t) {}, [&](T&& v) { out.insert(std::move(v)); });
    }
    static conversion_errc encode(const std::set<T, C, A>& v, const protocol::cql_type& t, protocol::byte_buffer& out) {
        return detail::encode_list(v, v.size(), t, out);
    }
};

template <class T, std::size_t N>
struct value_codec<std::array<T, N>> {
    static bool can_decode(const protocol::cql_type& t) noexcept {
        return detail::is_vector(t) && t.dimension == N && value_codec<T>::can_decode(t.params[0]);
    }
    static bool can_encode(const protocol::cql_type& t) noexcept {
        return detail::is_vector(t) && t.dimension == N && value_codec<T>::can_encode(t.params[0]);
    }
    static conversion_errc decode(const protocol::cql_type& t, protocol::bytes_view b, std::array<T, N>& out) {
        return detail::decode_vector<T>(t, b, [&](std::size_t i, T&& v) { out[i] = std::move(v); });
    }
    static conversion_errc encode(const std::array<T, N>& v, const protocol::cql_type& t, protocol::byte_buffer& out) {
        return detail::encode_vector(v, N, t, out);
    }
};

template <class K, class V, class C, class A>
struct value_codec<std::map<K, V, C, A>> {
    static bool can_decode(const protocol::cql_type& t) noexcept { return detail::map_can_decode<K, V>(t); }
    static bool can_encode(const protocol::cql_type& t) noexcept { return detail::map_can_encode<K, V>(t); }
    static conversion_errc decode(const protocol::cql_type& t, protocol::bytes_view b, std::map<K, V, C, A>& out) {
        return detail::decode_map_into(t, b, out);
    }
    static conversion_errc encode(const std::map<K, V, C, A>& v, const protocol::cql_type& t, protocol::byte_buffer& out) {
        return detail::encode_map(v, t, out);
    }
};

// Map as an ordered list of entries: keeps the server's order and duplicates, no sorting.
template <class K, class V>
struct value_codec<std::vector<std::pair<K, V>>> {
    static bool can_decode(const protocol::cql_type& t) noexcept { return detail::map_can_decode<K, V>(t); }
    static bool can_encode(const protocol::cql_type& t) noexcept { return detail::map_can_encode<K, V>(t); }
    static conversion_errc decode(const protocol::cql_type& t, protocol::bytes_view b, std::vector<std::pair<K, V>>& out) {
        return detail::decode_map_into(t, b, out);
    }
    static conversion_errc encode(const std::vector<std::pair<K, V>>& v, const protocol::cql_type& t,
                                  protocol::byte_buffer& out) {
        return detail::encode_map(v, t, out);
    }
};

// tuple<...>: exactly as many C++ elements as the CQL tuple has; elements may be
// std::optional to accept nulls (a value that stops early reads the rest as null).
template <class... Ts>
struct value_codec<std::tuple<Ts...>> {
    static bool can_decode(const protocol::cql_type& t) noexcept {
        return check(t, [](const auto* tag, const protocol::cql_type& p) {
            return value_codec<std::remove_const_t<std::remove_pointer_t<decltype(tag)>>>::can_decode(p);
        });
    }
    static bool can_encode(const protocol::cql_type& t) noexcept {
        return check(t, [](const auto* tag, const protocol::cql_type& p) {
            return value_codec<std::remove_const_t<std::remove_pointer_t<decltype(tag)>>>::can_encode(p);
        });
    }
    static conversion_errc decode(const protocol::cql_type& t, protocol::bytes_view b, std::tuple<Ts...>& out) {
        protocol::byte_reader r(b);
        conversion_errc err = conversion_errc::ok;
        std::size_t i = 0;
        auto one = [&](auto& elem) {
            if (err != conversion_errc::ok) return;
            protocol::bytes_view eb;
            bool is_null = true;
            if (!r.empty()) err = detail::next_element(r, eb, is_null, true);
            if (err == conversion_errc::ok) err = detail::read_nullable(t.params[i], is_null, eb, elem);
            ++i;
        };
        std::apply([&](auto&... elems) { (one(elems), ...); }, out);
        if (err == conversion_errc::ok && !r.empty()) err = conversion_errc::bad_bytes;
        return err;
    }
    static conversion_errc encode(const std::tuple<Ts...>& v, const protocol::cql_type& t, protocol::byte_buffer& out) {
        conversion_errc err = conversion_errc::ok;
        std::size_t i = 0;
        auto one = [&](const auto& elem) {
            if (err == conversion_errc::ok) err = detail::write_element(elem, t.params[i], out, true);
            ++i;
        };
        std::apply([&](const auto&... elems) { (one(elems), ...); }, v);
        return err;
    }

private:
    template <class F>
    static bool check(const protocol::cql_type& t, F&& f) noexcept {
        if (t.kind != protocol::type_kind::tuple || t.params.size() != sizeof...(Ts)) return false;
        return check_each(t, f, std::index_sequence_for<Ts...>{});
    }
    template <class F, std::size_t... I>
    static bool check_each(const protocol::cql_type& t, F& f, std::index_sequence<I...>) noexcept {
        return (f(static_cast<const Ts*>(nullptr), t.params[I]) && ...);
    }
};

// ---- UDTs --------------------------------------------------------------------------

// A UDT value as it arrived: borrows its bytes and its cql_type (for a row: the
// response buffer and the page's column metadata, see row.hpp). Fields are found
// by walking the value, so field access is O(fields); copy out what you keep.
class udt_view {
public:
    udt_view() = default;
    // Precondition: type.kind == udt. Bytes are checked by value_codec<udt_view>::decode.
    udt_view(const protocol::cql_type& type, protocol::bytes_view bytes) noexcept : type_(&type), bytes_(bytes) {}

    const protocol::cql_type& type() const noexcept { return *type_; }
    protocol::bytes_view bytes() const noexcept { return bytes_; }
    std::size_t size() const noexcept { return type_ ? type_->params.size() : 0; }
    std::string_view field_name(std::size_t i) const noexcept { return type_->field_names[i]; }
    // Exact match first, then ASCII case-insensitive.
    std::optional<std::size_t> field_index(std::string_view name) const noexcept;
    // Field i as a value_view (null when the value stops before it); i < size().
    protocol::value_view field(std::size_t i) const noexcept;

    // Non-throwing access, as row_view::try_get: empty on success, else a
    // conversion_errc (no_such_column, type_mismatch, unexpected_null, ...).
    template <class T>
    std::error_code try_get(std::size_t i, T& out) const {
        if (auto e = decode_field(i, out); e != conversion_errc::ok) return make_error_code(e);
        return {};
    }
    template <class T>
    std::error_code try_get(std::string_view name, T& out) const {
        auto i = field_index(name);
        if (!i) return make_error_code(conversion_errc::no_such_column);
        return try_get(*i, out);
    }
    template <class T>
    T get(std::size_t i) const {
        T out{};
        if (auto e = decode_field(i, out); e != conversion_errc::ok) throw_error(e, i, {});
        return out;
    }
    template <class T>
    T get(std::string_view name) const {
        T out{};
        auto i = field_index(name);
        if (!i) throw_error(conversion_errc::no_such_column, 0, name);
        if (auto e = decode_field(*i, out); e != conversion_errc::ok) throw_error(e, *i, {});
        return out;
    }
    // For value_codec specialisations, whose decode() answers in conversion_errc.
    template <class T>
    conversion_errc decode_field(std::size_t i, T& out) const {
        if (i >= size()) return conversion_errc::no_such_column;
        return decode_value(type_->params[i], field(i), out);
    }

private:
    [[noreturn]] void throw_error(conversion_errc e, std::size_t i, std::string_view unknown) const;
    const protocol::cql_type* type_ = nullptr;
    protocol::bytes_view bytes_{};
};

template <>
struct value_codec<udt_view> {
    static bool can_decode(const protocol::cql_type& t) noexcept { return t.kind == protocol::type_kind::udt; }
    static bool can_encode(const protocol::cql_type& t) noexcept { return can_decode(t); }
    // Checks the framing of every field, so later field() calls cannot fail.
    static conversion_errc decode(const protocol::cql_type& t, protocol::bytes_view b, udt_view& out) noexcept;
    // Copies the bytes as they are when the target UDT type is the same.
    static conversion_errc encode(const udt_view& v, const protocol::cql_type& t, protocol::byte_buffer& out);
};

// A UDT value to bind, built field by field. Each field keeps its C++ value and
// is type-checked against the marker's field type when encoded; fields not set
// are sent as null; a field name the UDT does not have is type_mismatch.
class udt_value {
public:
    template <class T>
    udt_value& set(std::string name, T value) {
        static_assert(detail::encodable<T>, "no value_codec<T> for binding this C++ type");
        put(std::move(name), [v = std::move(value)](const protocol::cql_type& t, protocol::byte_buffer& out) {
            if (!value_codec<T>::can_encode(t)) return conversion_errc::type_mismatch;
            return detail::write_element(v, t, out, true);
        });
        return *this;
    }
    udt_value& set_null(std::string name);
    std::size_t size() const noexcept { return fields_.size(); }

    conversion_errc encode(const protocol::cql_type& t, protocol::byte_buffer& out) const;

private:
    using writer = std::function<conversion_errc(const protocol::cql_type&, protocol::byte_buffer&)>;
    void put(std::string name, writer w);
    std::vector<std::pair<std::string, writer>> fields_;
};

template <>
struct value_codec<udt_value> {
    static bool can_encode(const protocol::cql_type& t) noexcept { return t.kind == protocol::type_kind::udt; }
    static conversion_errc encode(const udt_value& v, const protocol::cql_type& t, protocol::byte_buffer& out) {
        return v.encode(t, out);
    }
};

}  // namespace cqlpp::driver

template <>
struct std::is_error_code_enum<cqlpp::driver::conversion_errc> : std::true_type {};
