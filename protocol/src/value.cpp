// Generic value model and wire codec (spec §5). See value.hpp for the rules.
#include "cqlpp/protocol/value.hpp"

#include "cqlpp/protocol/detail/text.hpp"

#include <cmath>
#include <cstring>
#include <limits>

namespace cqlpp::protocol {

// ---- Text validation --------------------------------------------------------

namespace detail {

bool is_ascii(std::string_view s) noexcept {
    for (char c : s)
        if (static_cast<unsigned char>(c) > 0x7F) return false;
    return true;
}

bool is_valid_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        std::size_t n;
        std::uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;  // continuation byte, overlong lead (C0/C1) or F5..FF
        }
        if (static_cast<std::size_t>(end - p) <= n) return false;
        for (std::size_t i = 1; i <= n; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;  // overlong
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;                         // surrogate
        if (cp > 0x10FFFF) return false;
        p += n + 1;
    }
    return true;
}

}  // namespace detail

// ---- Big integers -----------------------------------------------------------

namespace {

// Magnitude as little-endian base-2^32 limbs (no leading zero limbs; zero = {}).
using limbs = std::vector<std::uint32_t>;

void trim(limbs& m) {
    while (!m.empty() && m.back() == 0) m.pop_back();
}

// m = m * mul + add
void mul_add(limbs& m, std::uint32_t mul, std::uint32_t add) {
    std::uint64_t carry = add;
    for (auto& limb : m) {
        std::uint64_t v = std::uint64_t(limb) * mul + carry;
        limb = static_cast<std::uint32_t>(v);
        carry = v >> 32;
    }
    if (carry) m.push_back(static_cast<std::uint32_t>(carry));
}

// m = m / div, returns the remainder.
std::uint32_t div_small(limbs& m, std::uint32_t div) {
    std::uint64_t rem = 0;
    for (std::size_t i = m.size(); i-- > 0;) {
        std::uint64_t cur = (rem << 32) | m[i];
        m[i] = static_cast<std::uint32_t>(cur / div);
        rem = cur % div;
    }
    trim(m);
    return static_cast<std::uint32_t>(rem);
}

// Index of the first byte of the shortest two's complement form.
std::size_t minimal_start(const byte_buffer& b) noexcept {
    std::size_t i = 0;
    while (i + 1 < b.size() && ((b[i] == 0x00 && (b[i + 1] & 0x80) == 0) || (b[i] == 0xFF && (b[i + 1] & 0x80) != 0)))
        ++i;
    return i;
}

// Two's complement negation in place (same width).
void negate(byte_buffer& b) {
    unsigned carry = 1;
    for (std::size_t i = b.size(); i-- > 0;) {
        unsigned v = static_cast<std::uint8_t>(~b[i]) + carry;
        b[i] = static_cast<std::uint8_t>(v);
        carry = v >> 8;
    }
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

}  // namespace

cql_varint cql_varint::from_int64(std::int64_t v) {
    byte_buffer b(8);
    detail::store_be64(b.data(), static_cast<std::uint64_t>(v));
    return cql_varint(std::move(b)).minimal();
}

cql_varint cql_varint::minimal() const {
    if (bytes_.empty()) return *this;
    std::size_t s = minimal_start(bytes_);
    return cql_varint(byte_buffer(bytes_.begin() + static_cast<std::ptrdiff_t>(s), bytes_.end()));
}

bool cql_varint::is_zero() const noexcept {
    for (auto b : bytes_)
        if (b != 0) return false;
    return true;
}

std::optional<std::int64_t> cql_varint::to_int64() const noexcept {
    if (bytes_.empty()) return std::nullopt;
    std::size_t s = minimal_start(bytes_);
    if (bytes_.size() - s > 8) return std::nullopt;
    std::uint64_t v = is_negative() ? ~std::uint64_t(0) : 0;
    for (std::size_t i = s; i < bytes_.size(); ++i) v = (v << 8) | bytes_[i];
    return static_cast<std::int64_t>(v);
}

std::string cql_varint::to_string() const {
    if (bytes_.empty()) return "0";
    byte_buffer mag = bytes_;
    bool neg = is_negative();
    if (neg) negate(mag);  // for the most negative n-byte value this yields 0x80.., read as unsigned below
    limbs m((mag.size() + 3) / 4, 0);
    for (std::size_t i = 0; i < mag.size(); ++i) {
        std::size_t bit = (mag.size() - 1 - i) * 8;
        m[bit / 32] |= std::uint32_t(mag[i]) << (bit % 32);
    }
    trim(m);
    if (m.empty()) return "0";
    std::string digits;  // reversed
    while (!m.empty()) {
        std::uint32_t chunk = div_small(m, 1'000'000'000u);
        for (int i = 0; i < 9; ++i) {
            digits += static_cast<char>('0' + chunk % 10);
            chunk /= 10;
            if (m.empty() && chunk == 0) break;
        }
    }
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    if (neg) digits += '-';
    return {digits.rbegin(), digits.rend()};
}

errc cql_varint::from_string(std::string_view s, cql_varint& out) {
    bool neg = false;
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        s.remove_prefix(1);
    }
    if (s.empty()) return errc::bad_literal;
    for (char c : s)
        if (!is_digit(c)) return errc::bad_literal;
    while (s.size() > 1 && s[0] == '0') s.remove_prefix(1);
    limbs m;
    // Nine digits at a time: the multiplier and the chunk both fit a limb.
    std::size_t first = s.size() % 9 == 0 ? 9 : s.size() % 9;
    for (std::size_t pos = 0; pos < s.size();) {
        std::size_t len = pos == 0 ? first : 9;
        std::uint32_t chunk = 0, mul = 1;
        for (std::size_t i = 0; i < len; ++i) {
            chunk = chunk * 10 + static_cast<std::uint32_t>(s[pos + i] - '0');
            mul *= 10;
        }
        mul_add(m, mul, chunk);
        pos += len;
    }
    trim(m);
    // One spare byte so the sign bit of a positive number is clear.
    byte_buffer b(m.size() * 4 + 1, 0);
    for (std::size_t i = 0; i < m.size(); ++i)
        for (std::size_t k = 0; k < 4; ++k) b[b.size() - 1 - (i * 4 + k)] = static_cast<std::uint8_t>(m[i] >> (8 * k));
    if (neg) negate(b);
    out = cql_varint(std::move(b)).minimal();
    return errc::ok;
}

bool operator==(const cql_varint& a, const cql_varint& b) noexcept {
    if (a.bytes_.empty() || b.bytes_.empty()) return a.bytes_.empty() && b.bytes_.empty();
    std::size_t sa = minimal_start(a.bytes_), sb = minimal_start(b.bytes_);
    std::size_t na = a.bytes_.size() - sa, nb = b.bytes_.size() - sb;
    return na == nb && std::memcmp(a.bytes_.data() + sa, b.bytes_.data() + sb, na) == 0;
}

std::string cql_decimal::to_string() const {
    std::string coeff = unscaled.to_string();
    bool neg = !coeff.empty() && coeff[0] == '-';
    std::string_view digits(coeff);
    if (neg) digits.remove_prefix(1);
    const std::int64_t n = static_cast<std::int64_t>(digits.size());
    const std::int64_t adjusted = -static_cast<std::int64_t>(scale) + (n - 1);
    std::string out;
    if (neg) out += '-';
    if (scale >= 0 && adjusted >= -6) {  // plain notation (BigDecimal.toString rules)
        if (scale == 0) {
            out += digits;
        } else if (n > scale) {
            out += digits.substr(0, static_cast<std::size_t>(n - scale));
            out += '.';
            out += digits.substr(static_cast<std::size_t>(n - scale));
        } else {
            out += "0.";
            out.append(static_cast<std::size_t>(scale - n), '0');
            out += digits;
        }
        return out;
    }
    out += digits[0];
    if (n > 1) {
        out += '.';
        out += digits.substr(1);
    }
    out += 'E';
    if (adjusted >= 0) out += '+';
    out += std::to_string(adjusted);
    return out;
}

errc cql_decimal::from_string(std::string_view s, cql_decimal& out) {
    std::string digits;
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
        if (s[0] == '-') digits += '-';
        s.remove_prefix(1);
    }
    std::size_t i = 0, int_digits = 0, frac_digits = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++int_digits;
    digits.append(s.substr(0, i));
    if (i < s.size() && s[i] == '.') {
        ++i;
        std::size_t start = i;
        while (i < s.size() && is_digit(s[i])) ++i, ++frac_digits;
        digits.append(s.substr(start, i - start));
    }
    if (int_digits + frac_digits == 0) return errc::bad_literal;
    std::int64_t exponent = 0;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        bool eneg = false;
        if (i < s.size() && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
        if (i == s.size()) return errc::bad_literal;
        bool huge = false;
        for (; i < s.size(); ++i) {
            if (!is_digit(s[i])) return errc::bad_literal;
            if (exponent > 100'000'000'000LL) huge = true;  // far beyond any int32 scale
            else exponent = exponent * 10 + (s[i] - '0');
        }
        if (huge) return errc::value_out_of_range;
        if (eneg) exponent = -exponent;
    }
    if (i != s.size()) return errc::bad_literal;
    if (frac_digits > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
        return errc::value_out_of_range;
    const std::int64_t sc = static_cast<std::int64_t>(frac_digits) - exponent;
    if (sc < std::numeric_limits<std::int32_t>::min() || sc > std::numeric_limits<std::int32_t>::max())
        return errc::value_out_of_range;
    cql_decimal d;
    d.scale = static_cast<std::int32_t>(sc);
    if (auto e = cql_varint::from_string(digits, d.unscaled); e != errc::ok) return e;
    out = std::move(d);
    return errc::ok;
}

// ---- cql_value --------------------------------------------------------------

std::string_view to_string(value_kind k) noexcept {
    switch (k) {
        case value_kind::null: return "null";
        case value_kind::empty: return "empty";
        case value_kind::boolean: return "boolean";
        case value_kind::integer: return "integer";
        case value_kind::date: return "date";
        case value_kind::float32: return "float32";
        case value_kind::float64: return "float64";
        case value_kind::string: return "string";
        case value_kind::blob: return "blob";
        case value_kind::uuid: return "uuid";
        case value_kind::inet: return "inet";
        case value_kind::duration: return "duration";
        case value_kind::varint: return "varint";
        case value_kind::decimal: return "decimal";
        case value_kind::list: return "list";
        case value_kind::map: return "map";
        case value_kind::tuple: return "tuple";
    }
    return "unknown";
}

namespace {
template <class F>
bool same_float(F a, F b) noexcept {
    if (std::isnan(a) && std::isnan(b)) return true;
    return std::memcmp(&a, &b, sizeof(F)) == 0;  // distinguishes 0.0 from -0.0
}
}  // namespace

bool operator==(const cql_value& a, const cql_value& b) noexcept {
    if (a.kind_ != b.kind_) return false;
    switch (a.kind_) {
        case value_kind::null:
        case value_kind::empty: return true;
        case value_kind::float32: return same_float(a.as_float(), b.as_float());
        case value_kind::float64: return same_float(a.as_double(), b.as_double());
        case value_kind::tuple: {
            const auto& x = a.elements();
            const auto& y = b.elements();
            std::size_t common = std::min(x.size(), y.size());
            for (std::size_t i = 0; i < common; ++i)
                if (!(x[i] == y[i])) return false;
            for (std::size_t i = common; i < x.size(); ++i)
                if (!x[i].is_null()) return false;
            for (std::size_t i = common; i < y.size(); ++i)
                if (!y[i].is_null()) return false;
            return true;
        }
        default: return a.data_ == b.data_;  // element types compare with the rules above
    }
}

bool zero_length_is_empty(const cql_type& t) noexcept {
    switch (t.kind) {
        case type_kind::ascii:
        case type_kind::text:
        case type_kind::blob:
        case type_kind::custom: return false;
        default: return true;
    }
}

// ---- Codec ------------------------------------------------------------------

namespace {

constexpr std::size_t max_size = std::numeric_limits<std::size_t>::max();

// Like fixed_value_size(), but saturates instead of overflowing for absurd
// nested vectors (vector<vector<uuid, 2^31-1>, 2^31-1>): such a size can never
// match a real buffer.
std::optional<std::size_t> fixed_size(const cql_type& t) noexcept {
    if (t.kind != type_kind::vector) return fixed_value_size(t);
    if (t.params.size() != 1) return std::nullopt;
    auto e = fixed_size(t.params[0]);
    if (!e) return std::nullopt;
    if (*e != 0 && t.dimension > max_size / *e) return max_size;
    return *e * t.dimension;
}

bool duration_signs_agree(std::int64_t months, std::int64_t days, std::int64_t nanos) noexcept {
    bool any_neg = months < 0 || days < 0 || nanos < 0;
    bool any_pos = months > 0 || days > 0 || nanos > 0;
    return !(any_neg && any_pos);
}

bool is_timeuuid(const std::uint8_t* u) noexcept { return (u[6] & 0xF0) == 0x10; }

// ---- decode ----

errc decode_at(const cql_type& t, bytes_view b, cql_value& out, int depth);

// Reads one [bytes] element of a collection/tuple/UDT. A null (-1) element is
// legal on the wire ([bytes]) and decoded as null, as the Java and Node.js
// drivers do; only encoding refuses nulls inside collections.
errc read_element(byte_reader& r, bytes_view& elem, bool& is_null) {
    std::int32_t len = r.i32();
    if (!r.ok()) return r.error();
    is_null = false;
    if (len < 0) {
        if (len == -1) {
            is_null = true;
            return errc::ok;
        }
        return errc::negative_length;
    }
    if (static_cast<std::size_t>(len) > r.remaining()) return errc::truncated;
    elem = r.raw(static_cast<std::size_t>(len));
    return errc::ok;
}

errc decode_list(const cql_type& t, bytes_view b, cql_value& out, int depth) {
    if (t.params.size() != 1) return errc::type_mismatch;
    byte_reader r(b);
    std::int32_t n = r.i32();
    if (!r.ok()) return r.error();
    if (n < 0) return errc::negative_length;
    // Every element takes at least its 4-byte length: reject before reserving.
    if (static_cast<std::size_t>(n) > r.remaining() / 4) return errc::truncated;
    cql_value::element_list elems;
    elems.reserve(static_cast<std::size_t>(n));
    for (std::int32_t i = 0; i < n; ++i) {
        bytes_view eb;
        bool is_null = false;
        if (auto e = read_element(r, eb, is_null); e != errc::ok) return e;
        elems.emplace_back();
        if (is_null) continue;
        if (auto e = decode_at(t.params[0], eb, elems.back(), depth + 1); e != errc::ok) return e;
    }
    if (!r.empty()) return errc::trailing_bytes;
    out = cql_value::list(std::move(elems));
    return errc::ok;
}

errc decode_map(const cql_type& t, bytes_view b, cql_value& out, int depth) {
    if (t.params.size() != 2) return errc::type_mismatch;
    byte_reader r(b);
    std::int32_t n = r.i32();
    if (!r.ok()) return r.error();
    if (n < 0) return errc::negative_length;
    if (static_cast<std::size_t>(n) > r.remaining() / 8) return errc::truncated;
    cql_value::entry_list entries;
    entries.reserve(static_cast<std::size_t>(n));
    for (std::int32_t i = 0; i < n; ++i) {
        bytes_view kb, vb;
        bool key_null = false, value_null = false;
        if (auto e = read_element(r, kb, key_null); e != errc::ok) return e;
        if (auto e = read_element(r, vb, value_null); e != errc::ok) return e;
        entries.emplace_back();
        if (!key_null)
            if (auto e = decode_at(t.params[0], kb, entries.back().first, depth + 1); e != errc::ok) return e;
        if (!value_null)
            if (auto e = decode_at(t.params[1], vb, entries.back().second, depth + 1); e != errc::ok) return e;
    }
    if (!r.empty()) return errc::trailing_bytes;
    out = cql_value::map(std::move(entries));
    return errc::ok;
}

// Tuples and UDTs: a value may stop early (missing trailing fields are null).
errc decode_fields(const cql_type& t, bytes_view b, cql_value& out, int depth) {
    byte_reader r(b);
    cql_value::element_list elems;
    elems.reserve(std::min(t.params.size(), b.size() / 4));
    for (std::size_t i = 0; i < t.params.size() && !r.empty(); ++i) {
        bytes_view eb;
        bool is_null = false;
        if (auto e = read_element(r, eb, is_null); e != errc::ok) return e;
        elems.emplace_back();
        if (is_null) continue;
        if (auto e = decode_at(t.params[i], eb, elems.back(), depth + 1); e != errc::ok) return e;
    }
    if (!r.empty()) return errc::trailing_bytes;
    out = cql_value::tuple(std::move(elems));
    return errc::ok;
}

// FRAMING_NOTES §8.11: fixed-length elements are concatenated, others carry an
// [unsigned vint] length; there is no null element.
errc decode_vector(const cql_type& t, bytes_view b, cql_value& out, int depth) {
    if (t.params.size() != 1) return errc::type_mismatch;
    const cql_type& elem = t.params[0];
    const std::size_t dim = t.dimension;
    cql_value::element_list elems;
    if (auto fs = fixed_size(elem)) {
        if (*fs == 0 || (dim != 0 && *fs > max_size / dim) || *fs * dim != b.size()) return errc::bad_value_size;
        elems.reserve(dim);
        for (std::size_t i = 0; i < dim; ++i) {
            elems.emplace_back();
            if (auto e = decode_at(elem, b.subspan(i * *fs, *fs), elems.back(), depth + 1); e != errc::ok) return e;
        }
    } else {
        // Each element takes at least one length byte.
        if (dim > b.size()) return errc::truncated;
        byte_reader r(b);
        elems.reserve(dim);
        for (std::size_t i = 0; i < dim; ++i) {
            std::uint64_t len = r.unsigned_vint();
            if (!r.ok()) return r.error();
            if (len > r.remaining()) return errc::truncated;
            bytes_view eb = r.raw(static_cast<std::size_t>(len));
            elems.emplace_back();
            if (auto e = decode_at(elem, eb, elems.back(), depth + 1); e != errc::ok) return e;
        }
        if (!r.empty()) return errc::trailing_bytes;
    }
    out = cql_value::list(std::move(elems));
    return errc::ok;
}

errc decode_duration(bytes_view b, cql_value& out) {
    byte_reader r(b);
    std::int64_t months = r.vint();
    std::int64_t days = r.vint();
    std::int64_t nanos = r.vint();
    if (!r.ok()) return r.error();
    if (!r.empty()) return errc::trailing_bytes;
    constexpr std::int64_t lo = std::numeric_limits<std::int32_t>::min();
    constexpr std::int64_t hi = std::numeric_limits<std::int32_t>::max();
    if (months < lo || months > hi || days < lo || days > hi) return errc::bad_value;
    if (!duration_signs_agree(months, days, nanos)) return errc::bad_value;
    out = cql_value::duration({static_cast<std::int32_t>(months), static_cast<std::int32_t>(days), nanos});
    return errc::ok;
}

errc decode_at(const cql_type& t, bytes_view b, cql_value& out, int depth) {
    if (depth > max_type_depth) return errc::type_nesting_too_deep;
    if (b.empty() && zero_length_is_empty(t)) {
        out = cql_value::empty_value();
        return errc::ok;
    }
    auto need = [&](std::size_t n) { return b.size() == n ? errc::ok : errc::bad_value_size; };
    switch (t.kind) {
        case type_kind::ascii:
            if (!detail::is_ascii(as_chars(b))) return errc::bad_value;
            out = cql_value::string(std::string(as_chars(b)));
            return errc::ok;
        case type_kind::text:
            if (!detail::is_valid_utf8(as_chars(b))) return errc::bad_value;
            out = cql_value::string(std::string(as_chars(b)));
            return errc::ok;
        case type_kind::blob:
        case type_kind::custom: out = cql_value::blob(byte_buffer(b.begin(), b.end())); return errc::ok;
        case type_kind::boolean:
            if (auto e = need(1); e != errc::ok) return e;
            out = cql_value::boolean(b[0] != 0);
            return errc::ok;
        case type_kind::tinyint:
            if (auto e = need(1); e != errc::ok) return e;
            out = cql_value::integer(static_cast<std::int8_t>(b[0]));
            return errc::ok;
        case type_kind::smallint:
            if (auto e = need(2); e != errc::ok) return e;
            out = cql_value::integer(static_cast<std::int16_t>(detail::load_be16(b.data())));
            return errc::ok;
        case type_kind::int_:
            if (auto e = need(4); e != errc::ok) return e;
            out = cql_value::integer(static_cast<std::int32_t>(detail::load_be32(b.data())));
            return errc::ok;
        case type_kind::bigint:
        case type_kind::counter:
        case type_kind::timestamp:
            if (auto e = need(8); e != errc::ok) return e;
            out = cql_value::integer(static_cast<std::int64_t>(detail::load_be64(b.data())));
            return errc::ok;
        case type_kind::time: {
            if (auto e = need(8); e != errc::ok) return e;
            auto ns = static_cast<std::int64_t>(detail::load_be64(b.data()));
            if (ns < 0 || ns > max_time_nanos) return errc::bad_value;
            out = cql_value::integer(ns);
            return errc::ok;
        }
        case type_kind::date:
            if (auto e = need(4); e != errc::ok) return e;
            out = cql_value::date(detail::load_be32(b.data()));
            return errc::ok;
        case type_kind::float_: {
            if (auto e = need(4); e != errc::ok) return e;
            std::uint32_t bits = detail::load_be32(b.data());
            float f;
            std::memcpy(&f, &bits, 4);
            out = cql_value::float32(f);
            return errc::ok;
        }
        case type_kind::double_: {
            if (auto e = need(8); e != errc::ok) return e;
            std::uint64_t bits = detail::load_be64(b.data());
            double d;
            std::memcpy(&d, &bits, 8);
            out = cql_value::float64(d);
            return errc::ok;
        }
        case type_kind::uuid:
        case type_kind::timeuuid: {
            if (auto e = need(16); e != errc::ok) return e;
            if (t.kind == type_kind::timeuuid && !is_timeuuid(b.data())) return errc::bad_value;
            uuid_bytes u;
            std::memcpy(u.data(), b.data(), 16);
            out = cql_value::uuid(u);
            return errc::ok;
        }
        case type_kind::inet: {
            if (b.size() != 4 && b.size() != 16) return errc::bad_value_size;
            inet_address a;
            a.size = static_cast<std::uint8_t>(b.size());
            std::memcpy(a.addr.data(), b.data(), b.size());
            out = cql_value::inet(a);
            return errc::ok;
        }
        case type_kind::varint: out = cql_value::varint(cql_varint::from_bytes(b)); return errc::ok;
        case type_kind::decimal: {
            // [int] scale + a varint of at least one byte.
            if (b.size() < 5) return errc::bad_value_size;
            cql_decimal d;
            d.scale = static_cast<std::int32_t>(detail::load_be32(b.data()));
            d.unscaled = cql_varint::from_bytes(b.subspan(4));
            out = cql_value::decimal(std::move(d));
            return errc::ok;
        }
        case type_kind::duration: return decode_duration(b, out);
        case type_kind::list:
        case type_kind::set: return decode_list(t, b, out, depth);
        case type_kind::map: return decode_map(t, b, out, depth);
        case type_kind::tuple:
        case type_kind::udt: return decode_fields(t, b, out, depth);
        case type_kind::vector: return decode_vector(t, b, out, depth);
    }
    return errc::type_mismatch;
}

// ---- encode ----

errc encode_at(const cql_type& t, const cql_value& v, byte_buffer& out, int depth);

// [int] length + bytes, the length patched in after the element is written.
errc encode_element(const cql_type& t, const cql_value& v, byte_buffer& out, int depth) {
    const std::size_t pos = out.size();
    out.resize(pos + 4);
    if (auto e = encode_at(t, v, out, depth); e != errc::ok) return e;
    const std::size_t len = out.size() - pos - 4;
    if (len > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) return errc::value_out_of_range;
    detail::store_be32(out.data() + pos, static_cast<std::uint32_t>(len));
    return errc::ok;
}

errc write_count(std::size_t n, byte_buffer& out) {
    if (n > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) return errc::value_out_of_range;
    byte_writer(out).i32(static_cast<std::int32_t>(n));
    return errc::ok;
}

errc encode_integer(const cql_value& v, std::int64_t lo, std::int64_t hi, std::size_t width, byte_buffer& out) {
    if (v.kind() != value_kind::integer) return errc::type_mismatch;
    const std::int64_t x = v.as_int();
    if (x < lo || x > hi) return errc::value_out_of_range;
    byte_writer w(out);
    switch (width) {
        case 1: w.u8(static_cast<std::uint8_t>(x)); break;
        case 2: w.i16(static_cast<std::int16_t>(x)); break;
        case 4: w.i32(static_cast<std::int32_t>(x)); break;
        default: w.i64(x); break;
    }
    return errc::ok;
}

errc encode_vector(const cql_type& t, const cql_value& v, byte_buffer& out, int depth) {
    if (v.kind() != value_kind::list || t.params.size() != 1) return errc::type_mismatch;
    const auto& elems = v.elements();
    if (elems.size() != t.dimension) return errc::type_mismatch;
    const cql_type& et = t.params[0];
    const auto fs = fixed_size(et);
    byte_buffer scratch;
    for (const auto& e : elems) {
        if (e.is_null()) return errc::null_not_allowed;
        if (fs) {
            const std::size_t before = out.size();
            if (auto ec = encode_at(et, e, out, depth + 1); ec != errc::ok) return ec;
            if (out.size() - before != *fs) return errc::bad_value_size;  // e.g. an empty value
        } else {
            scratch.clear();
            if (auto ec = encode_at(et, e, scratch, depth + 1); ec != errc::ok) return ec;
            byte_writer w(out);
            w.unsigned_vint(scratch.size());
            w.raw(scratch);
        }
    }
    return errc::ok;
}

errc encode_at(const cql_type& t, const cql_value& v, byte_buffer& out, int depth) {
    if (depth > max_type_depth) return errc::type_nesting_too_deep;
    if (v.is_null()) return errc::null_not_allowed;
    if (v.is_empty()) return errc::ok;  // zero bytes
    byte_writer w(out);
    switch (t.kind) {
        case type_kind::ascii:
        case type_kind::text: {
            if (v.kind() != value_kind::string) return errc::type_mismatch;
            const auto& s = v.as_string();
            if (t.kind == type_kind::ascii ? !detail::is_ascii(s) : !detail::is_valid_utf8(s)) return errc::bad_value;
            w.raw(s);
            return errc::ok;
        }
        case type_kind::blob:
        case type_kind::custom:
            if (v.kind() != value_kind::blob) return errc::type_mismatch;
            w.raw(v.as_blob());
            return errc::ok;
        case type_kind::boolean:
            if (v.kind() != value_kind::boolean) return errc::type_mismatch;
            w.u8(v.as_bool() ? 1 : 0);
            return errc::ok;
        case type_kind::tinyint: return encode_integer(v, -128, 127, 1, out);
        case type_kind::smallint: return encode_integer(v, -32768, 32767, 2, out);
        case type_kind::int_:
            return encode_integer(v, std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max(),
                                  4, out);
        case type_kind::bigint:
        case type_kind::counter:
        case type_kind::timestamp:
            return encode_integer(v, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(),
                                  8, out);
        case type_kind::time: return encode_integer(v, 0, max_time_nanos, 8, out);
        case type_kind::date:
            if (v.kind() != value_kind::date) return errc::type_mismatch;
            w.u32(v.as_date());
            return errc::ok;
        case type_kind::float_: {
            if (v.kind() != value_kind::float32) return errc::type_mismatch;
            float f = v.as_float();
            std::uint32_t bits;
            std::memcpy(&bits, &f, 4);
            w.u32(bits);
            return errc::ok;
        }
        case type_kind::double_: {
            if (v.kind() != value_kind::float64) return errc::type_mismatch;
            double d = v.as_double();
            std::uint64_t bits;
            std::memcpy(&bits, &d, 8);
            w.i64(static_cast<std::int64_t>(bits));
            return errc::ok;
        }
        case type_kind::uuid:
        case type_kind::timeuuid:
            if (v.kind() != value_kind::uuid) return errc::type_mismatch;
            if (t.kind == type_kind::timeuuid && !is_timeuuid(v.as_uuid().data())) return errc::bad_value;
            w.uuid(v.as_uuid());
            return errc::ok;
        case type_kind::inet: {
            if (v.kind() != value_kind::inet) return errc::type_mismatch;
            const auto& a = v.as_inet();
            if (a.size != 4 && a.size != 16) return errc::bad_value;
            w.raw(a.bytes());
            return errc::ok;
        }
        case type_kind::varint:
            if (v.kind() != value_kind::varint) return errc::type_mismatch;
            if (!v.as_varint().valid()) return errc::bad_value;
            w.raw(v.as_varint().bytes());
            return errc::ok;
        case type_kind::decimal: {
            if (v.kind() != value_kind::decimal) return errc::type_mismatch;
            const auto& d = v.as_decimal();
            if (!d.unscaled.valid()) return errc::bad_value;
            w.i32(d.scale);
            w.raw(d.unscaled.bytes());
            return errc::ok;
        }
        case type_kind::duration: {
            if (v.kind() != value_kind::duration) return errc::type_mismatch;
            const auto& d = v.as_duration();
            if (!duration_signs_agree(d.months, d.days, d.nanos)) return errc::bad_value;
            w.vint(d.months);
            w.vint(d.days);
            w.vint(d.nanos);
            return errc::ok;
        }
        case type_kind::list:
        case type_kind::set: {
            if (v.kind() != value_kind::list || t.params.size() != 1) return errc::type_mismatch;
            if (auto e = write_count(v.elements().size(), out); e != errc::ok) return e;
            for (const auto& e : v.elements()) {
                if (e.is_null()) return errc::null_not_allowed;
                if (auto ec = encode_element(t.params[0], e, out, depth + 1); ec != errc::ok) return ec;
            }
            return errc::ok;
        }
        case type_kind::map: {
            if (v.kind() != value_kind::map || t.params.size() != 2) return errc::type_mismatch;
            if (auto e = write_count(v.entries().size(), out); e != errc::ok) return e;
            for (const auto& [k, val] : v.entries()) {
                if (k.is_null() || val.is_null()) return errc::null_not_allowed;
                if (auto ec = encode_element(t.params[0], k, out, depth + 1); ec != errc::ok) return ec;
                if (auto ec = encode_element(t.params[1], val, out, depth + 1); ec != errc::ok) return ec;
            }
            return errc::ok;
        }
        case type_kind::tuple:
        case type_kind::udt: {
            if (v.kind() != value_kind::tuple) return errc::type_mismatch;
            const auto& elems = v.elements();
            if (elems.size() > t.params.size()) return errc::type_mismatch;
            for (std::size_t i = 0; i < elems.size(); ++i) {
                if (elems[i].is_null()) {
                    w.i32(-1);
                    continue;
                }
                if (auto ec = encode_element(t.params[i], elems[i], out, depth + 1); ec != errc::ok) return ec;
            }
            return errc::ok;
        }
        case type_kind::vector: return encode_vector(t, v, out, depth);
    }
    return errc::type_mismatch;
}

}  // namespace

errc encode_value(const cql_type& type, const cql_value& value, byte_buffer& out) {
    const std::size_t before = out.size();
    errc e = encode_at(type, value, out, 0);
    if (e != errc::ok) out.resize(before);
    return e;
}

errc decode_value(const cql_type& type, bytes_view bytes, cql_value& out) { return decode_at(type, bytes, out, 0); }

}  // namespace cqlpp::protocol
