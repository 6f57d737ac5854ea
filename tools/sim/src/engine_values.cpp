// Engine helpers on serialized values: Cassandra's ordering of every type,
// literal conversion with Cassandra's messages, bound-value validation,
// clustering keys and small encoders for generated rows.
#include "engine_internal.hpp"

#include "cqlpp/protocol/literal.hpp"
#include "cqlpp/protocol/murmur3.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace cqlpp::sim::detail {

void throw_invalid(std::string msg) { throw cql_error{proto::server_errc::invalid, std::move(msg), {}}; }
void throw_error(proto::server_errc code, std::string msg, proto::error_details d) {
    throw cql_error{code, std::move(msg), std::move(d)};
}

namespace {

int sign(int v) noexcept { return v < 0 ? -1 : (v > 0 ? 1 : 0); }

int compare_bytes(bytes_view a, bytes_view b) noexcept {
    const std::size_t n = std::min(a.size(), b.size());
    if (n) {
        int c = std::memcmp(a.data(), b.data(), n);
        if (c) return sign(c);
    }
    return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

// Signed big-endian integers of any (possibly different) lengths.
int compare_signed(bytes_view a, bytes_view b) noexcept {
    const bool na = !a.empty() && (a[0] & 0x80), nb = !b.empty() && (b[0] & 0x80);
    if (na != nb) return na ? -1 : 1;
    const std::size_t n = std::max(a.size(), b.size());
    const std::uint8_t pad = na ? 0xFF : 0x00;
    for (std::size_t i = 0; i < n; ++i) {
        std::uint8_t x = i + a.size() < n ? pad : a[i + a.size() - n];
        std::uint8_t y = i + b.size() < n ? pad : b[i + b.size() - n];
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

std::uint64_t load_be(bytes_view b) noexcept {
    std::uint64_t v = 0;
    for (auto x : b) v = (v << 8) | x;
    return v;
}

template <class F>
int compare_float(F x, F y) noexcept {
    // Java Float/Double.compare: NaN after everything, -0.0 < 0.0.
    const bool nx = std::isnan(x), ny = std::isnan(y);
    if (nx || ny) return nx == ny ? 0 : (nx ? 1 : -1);
    if (x < y) return -1;
    if (x > y) return 1;
    const bool sx = std::signbit(x), sy = std::signbit(y);
    return sx == sy ? 0 : (sx ? -1 : 1);
}

std::uint64_t uuid_time(bytes_view u) noexcept {
    return (std::uint64_t(load_be(u.subspan(6, 2)) & 0x0FFF) << 48) | (std::uint64_t(load_be(u.subspan(4, 2))) << 32) |
           load_be(u.subspan(0, 4));
}

long double decimal_value(bytes_view b) noexcept {
    if (b.size() < 4) return 0;
    auto scale = static_cast<std::int32_t>(load_be(b.subspan(0, 4)));
    auto u = b.subspan(4);
    long double v = 0;
    const bool neg = !u.empty() && (u[0] & 0x80);
    for (auto x : u) v = v * 256 + (neg ? static_cast<std::uint8_t>(~x) : x);
    if (neg) v = -(v + 1);
    return v * std::pow(10.0L, -static_cast<long double>(scale));
}

// Reads [int32 len][bytes] items; len < 0 is a null item.
bool read_items(bytes_view b, std::size_t count, std::vector<std::optional<bytes_view>>& out, std::size_t& pos) {
    for (std::size_t i = 0; i < count; ++i) {
        if (b.size() - pos < 4) return false;
        auto len = static_cast<std::int32_t>(load_be(b.subspan(pos, 4)));
        pos += 4;
        if (len < 0) {
            out.emplace_back(std::nullopt);
            continue;
        }
        if (b.size() - pos < static_cast<std::size_t>(len)) return false;
        out.emplace_back(b.subspan(pos, static_cast<std::size_t>(len)));
        pos += static_cast<std::size_t>(len);
    }
    return true;
}

bool split_vector(const cql_type& t, bytes_view b, std::vector<bytes_view>& out) {
    if (t.params.empty()) return false;
    auto fixed = proto::fixed_value_size(t.params[0]);
    if (fixed) {
        if (*fixed == 0) return false;
        for (std::size_t p = 0; p + *fixed <= b.size(); p += *fixed) out.push_back(b.subspan(p, *fixed));
        return true;
    }
    proto::byte_reader r(b);
    while (!r.empty() && r.ok()) {
        auto n = r.unsigned_vint();
        out.push_back(r.raw(static_cast<std::size_t>(n)));
    }
    return r.ok();
}

}  // namespace

int compare_values(const cql_type& t, bytes_view a, bytes_view b) noexcept {
    if (a.empty() || b.empty()) return a.empty() == b.empty() ? 0 : (a.empty() ? -1 : 1);
    switch (t.kind) {
        case type_kind::tinyint:
        case type_kind::smallint:
        case type_kind::int_:
        case type_kind::bigint:
        case type_kind::counter:
        case type_kind::timestamp:
        case type_kind::time:
        case type_kind::varint: return compare_signed(a, b);
        case type_kind::float_: {
            if (a.size() != 4 || b.size() != 4) return compare_bytes(a, b);
            auto x = static_cast<std::uint32_t>(load_be(a)), y = static_cast<std::uint32_t>(load_be(b));
            float fx, fy;
            std::memcpy(&fx, &x, 4);
            std::memcpy(&fy, &y, 4);
            return compare_float(fx, fy);
        }
        case type_kind::double_: {
            if (a.size() != 8 || b.size() != 8) return compare_bytes(a, b);
            auto x = load_be(a), y = load_be(b);
            double fx, fy;
            std::memcpy(&fx, &x, 8);
            std::memcpy(&fy, &y, 8);
            return compare_float(fx, fy);
        }
        case type_kind::decimal: {
            auto x = decimal_value(a), y = decimal_value(b);
            return x < y ? -1 : (x > y ? 1 : compare_bytes(a, b));
        }
        case type_kind::timeuuid:
        case type_kind::uuid: {
            if (a.size() != 16 || b.size() != 16) return compare_bytes(a, b);
            const int va = a[6] >> 4, vb = b[6] >> 4;
            if (t.kind == type_kind::uuid && va != vb) return va < vb ? -1 : 1;
            if (va == 1 && vb == 1) {
                auto x = uuid_time(a), y = uuid_time(b);
                if (x != y) return x < y ? -1 : 1;
                // then the clock sequence / node as signed bytes, as Cassandra does
                for (std::size_t i = 8; i < 16; ++i)
                    if (a[i] != b[i]) return static_cast<std::int8_t>(a[i]) < static_cast<std::int8_t>(b[i]) ? -1 : 1;
                return 0;
            }
            return compare_bytes(a, b);
        }
        case type_kind::list:
        case type_kind::set:
        case type_kind::map: {
            std::vector<bytes_view> x, y;
            if (!split_collection(a, x) || !split_collection(b, y) || t.params.empty()) return compare_bytes(a, b);
            const std::size_t n = std::min(x.size(), y.size());
            for (std::size_t i = 0; i < n; ++i) {
                const auto& et = t.kind == type_kind::map ? t.params[std::min<std::size_t>(i % 2, t.params.size() - 1)] : t.params[0];
                if (int c = compare_values(et, x[i], y[i])) return c;
            }
            return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
        }
        case type_kind::tuple:
        case type_kind::udt: {
            std::vector<std::optional<bytes_view>> x, y;
            split_tuple(a, x);
            split_tuple(b, y);
            const std::size_t n = std::min({x.size(), y.size(), t.params.size()});
            for (std::size_t i = 0; i < n; ++i) {
                if (!x[i] || !y[i]) {
                    if (x[i].has_value() != y[i].has_value()) return x[i] ? 1 : -1;
                    continue;
                }
                if (int c = compare_values(t.params[i], *x[i], *y[i])) return c;
            }
            return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
        }
        case type_kind::vector: {
            std::vector<bytes_view> x, y;
            if (!split_vector(t, a, x) || !split_vector(t, b, y)) return compare_bytes(a, b);
            const std::size_t n = std::min(x.size(), y.size());
            for (std::size_t i = 0; i < n; ++i)
                if (int c = compare_values(t.params[0], x[i], y[i])) return c;
            return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
        }
        default: return compare_bytes(a, b);  // text, ascii, blob, inet, boolean, date (unsigned), duration, custom
    }
}

bool split_collection(bytes_view b, std::vector<bytes_view>& out) {
    if (b.size() < 4) return b.empty();
    auto n = static_cast<std::int32_t>(load_be(b.subspan(0, 4)));
    if (n < 0) return false;
    std::size_t pos = 4;
    std::vector<std::optional<bytes_view>> items;
    // maps carry 2n items; detect by consuming until the end.
    std::size_t count = static_cast<std::size_t>(n);
    if (!read_items(b, count, items, pos)) return false;
    if (pos != b.size()) {
        if (!read_items(b, count, items, pos) || pos != b.size()) return false;
    }
    for (auto& i : items) out.push_back(i.value_or(bytes_view{}));
    return true;
}

void join_collection(const std::vector<bytes_view>& elems, std::size_t count, byte_buffer& out) {
    proto::byte_writer w(out);
    w.i32(static_cast<std::int32_t>(count));
    for (auto e : elems) w.bytes(e);
}

bool split_tuple(bytes_view b, std::vector<std::optional<bytes_view>>& out) {
    std::size_t pos = 0;
    while (pos < b.size()) {
        if (!read_items(b, 1, out, pos)) return false;
    }
    return true;
}

// ---- clustering keys -----------------------------------------------------------

void append_component(byte_buffer& key, bytes_view v) {
    proto::byte_writer w(key);
    w.bytes(v);
}

void split_clustering(bytes_view key, std::vector<bytes_view>& out) {
    std::size_t pos = 0;
    while (pos + 4 <= key.size()) {
        auto len = static_cast<std::size_t>(load_be(key.subspan(pos, 4)));
        pos += 4;
        len = std::min(len, key.size() - pos);
        out.push_back(key.subspan(pos, len));
        pos += len;
    }
}

bytes_view clustering_component(bytes_view key, int index) noexcept {
    std::size_t pos = 0;
    for (int i = 0; pos + 4 <= key.size(); ++i) {
        auto len = static_cast<std::size_t>(load_be(key.subspan(pos, 4)));
        pos += 4;
        len = std::min(len, key.size() - pos);
        if (i == index) return key.subspan(pos, len);
        pos += len;
    }
    return {};
}

int ck_less::compare(bytes_view a, bytes_view b, int shorter_sign) const noexcept {
    std::size_t pa = 0, pb = 0;
    for (std::size_t i = 0;; ++i) {
        const bool ea = pa + 4 > a.size(), eb = pb + 4 > b.size();
        if (ea || eb) {
            if (ea && eb) return 0;
            return ea ? shorter_sign : -shorter_sign;
        }
        auto la = std::min<std::size_t>(load_be(a.subspan(pa, 4)), a.size() - pa - 4);
        auto lb = std::min<std::size_t>(load_be(b.subspan(pb, 4)), b.size() - pb - 4);
        auto va = a.subspan(pa + 4, la), vb = b.subspan(pb + 4, lb);
        pa += 4 + la;
        pb += 4 + lb;
        if (i < layout->types.size()) {
            int c = compare_values(layout->types[i], va, vb);
            if (c) return layout->descending[i] ? -c : c;
        }
    }
}

int partition_key_less::cmp(std::int64_t ta, bytes_view a, std::int64_t tb, bytes_view b) noexcept {
    if (ta != tb) return ta < tb ? -1 : 1;
    return compare_bytes(a, b);
}

void table_def::rebuild_index() {
    by_name.clear();
    for (std::size_t i = 0; i < columns.size(); ++i) by_name.emplace(columns[i].name, static_cast<int>(i));
}

std::string_view to_string(column_kind k) noexcept {
    switch (k) {
        case column_kind::partition_key: return "partition_key";
        case column_kind::clustering: return "clustering";
        case column_kind::regular: return "regular";
        case column_kind::static_: return "static";
    }
    return "regular";
}

// ---- types ------------------------------------------------------------------------

namespace {
void strip_udt_keyspace(cql_type& t) {
    if (t.kind == type_kind::udt) t.keyspace.clear();
    for (auto& p : t.params) strip_udt_keyspace(p);
}
}  // namespace

std::string schema_type_name(const cql_type& t) {
    cql_type c = t;
    strip_udt_keyspace(c);
    return proto::to_cql_name(c);
}

std::string type_display(const cql_type& t) { return schema_type_name(t); }

std::array<std::uint8_t, 16> hash16(std::string_view a, std::string_view b) {
    std::string s;
    s.reserve(a.size() + b.size() + 2);
    s += '\x01';
    s += a;
    s += '\0';
    s += b;
    std::array<std::uint8_t, 16> out{};
    auto h1 = static_cast<std::uint64_t>(proto::murmur3_h1(proto::as_bytes(s)));
    s[0] = '\x02';
    auto h2 = static_cast<std::uint64_t>(proto::murmur3_h1(proto::as_bytes(s)));
    proto::detail::store_be64(out.data(), h1);
    proto::detail::store_be64(out.data() + 8, h2);
    return out;
}

// ---- literals -----------------------------------------------------------------------

namespace {

std::string_view category_name(term_kind k) {
    switch (k) {
        case term_kind::string: return "STRING";
        case term_kind::integer: return "INTEGER";
        case term_kind::floating: return "FLOAT";
        case term_kind::boolean: return "BOOLEAN";
        case term_kind::uuid: return "UUID";
        case term_kind::blob: return "HEX";
        case term_kind::duration: return "DURATION";
        default: return "";
    }
}

bool category_fits(term_kind k, type_kind t) {
    switch (k) {
        case term_kind::string:
            // The types written quoted, and those Cassandra also parses from a string.
            return proto::is_quoted_literal(t) || t == type_kind::duration || t == type_kind::uuid ||
                   t == type_kind::timeuuid || t == type_kind::varint || t == type_kind::decimal;
        case term_kind::integer:
            // Cassandra also takes an integer as a timestamp, date or time.
            return proto::is_numeric(t) || t == type_kind::timestamp || t == type_kind::date || t == type_kind::time;
        case term_kind::floating:
            return t == type_kind::float_ || t == type_kind::double_ || t == type_kind::decimal;
        case term_kind::boolean: return t == type_kind::boolean;
        case term_kind::uuid: return t == type_kind::uuid || t == type_kind::timeuuid;
        case term_kind::blob: return t == type_kind::blob || t == type_kind::custom;
        case term_kind::duration: return t == type_kind::duration;
        default: return true;
    }
}

std::string_view composite_name(term_kind k) {
    switch (k) {
        case term_kind::list: return "list";
        case term_kind::set: return "set";
        case term_kind::map: return "map";
        case term_kind::udt: return "user type";
        case term_kind::tuple: return "tuple";
        default: return "collection";
    }
}

bool composite_fits(term_kind k, const cql_type& t) {
    switch (k) {
        case term_kind::list: return t.kind == type_kind::list || t.kind == type_kind::vector || t.kind == type_kind::set;
        case term_kind::set: return t.kind == type_kind::set || (t.kind == type_kind::map);
        case term_kind::map: return t.kind == type_kind::map || t.kind == type_kind::udt;
        case term_kind::udt: return t.kind == type_kind::udt || t.kind == type_kind::map;
        case term_kind::empty_braces: return t.kind == type_kind::map || t.kind == type_kind::set || t.kind == type_kind::udt;
        case term_kind::tuple: return t.kind == type_kind::tuple;
        default: return true;
    }
}

}  // namespace

bool literal_bytes(const cql_type& t, const term& lit, std::string_view column, byte_buffer& out) {
    if (lit.kind == term_kind::null) return false;
    auto bad = [&]() -> std::string {
        auto cat = category_name(lit.kind);
        if (!cat.empty())
            return "Invalid " + std::string(cat) + " constant (" + constant_text(lit) + ") for \"" + std::string(column) +
                   "\" of type " + type_display(t);
        return "Invalid " + std::string(composite_name(lit.kind)) + " literal for " + std::string(column) + " of type " +
               type_display(t);
    };
    switch (lit.kind) {
        case term_kind::string:
        case term_kind::integer:
        case term_kind::floating:
        case term_kind::boolean:
        case term_kind::uuid:
        case term_kind::blob:
        case term_kind::duration:
            if (!category_fits(lit.kind, t.kind)) throw_invalid(bad());
            break;
        default:
            if (!composite_fits(lit.kind, t)) throw_invalid(bad());
            break;
    }
    proto::cql_value v;
    auto e = proto::parse_literal(t, lit.text, v);
    if (e != proto::errc::ok) {
        if (e == proto::errc::null_not_allowed) throw_invalid("null is not supported inside collections");
        throw_invalid(bad());
    }
    out.clear();
    auto e2 = proto::encode_value(t, v, out);
    if (e2 != proto::errc::ok) throw_invalid(bad());
    return true;
}

namespace {
bool valid_utf8(bytes_view b) noexcept {
    std::size_t i = 0, n = b.size();
    while (i < n) {
        std::uint8_t c = b[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        int len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0 || i + static_cast<std::size_t>(len) > n || (len == 2 && c < 0xC2)) return false;
        for (int k = 1; k < len; ++k)
            if ((b[i + static_cast<std::size_t>(k)] & 0xC0) != 0x80) return false;
        i += static_cast<std::size_t>(len);
    }
    return true;
}
}  // namespace

void validate_value(const cql_type& t, bytes_view b, std::string_view column) {
    auto fixed = [&](std::size_t n, const char* what) {
        if (b.size() != n && !b.empty())
            throw_invalid("Expected " + std::to_string(n) + " or 0 byte " + what + " (" + std::to_string(b.size()) + ")");
    };
    switch (t.kind) {
        case type_kind::int_: return fixed(4, "int");
        case type_kind::bigint:
        case type_kind::counter: return fixed(8, "long");
        case type_kind::timestamp: return fixed(8, "long for date");
        case type_kind::smallint: return fixed(2, "smallint");
        case type_kind::tinyint: return fixed(1, "tinyint");
        case type_kind::boolean: return fixed(1, "value");
        case type_kind::double_: return fixed(8, "value for a double");
        case type_kind::float_: return fixed(4, "value for a float");
        case type_kind::date: return fixed(4, "date");
        case type_kind::time: return fixed(8, "time");
        case type_kind::uuid:
        case type_kind::timeuuid:
            if (b.size() != 16 && !b.empty())
                throw_invalid("UUID should be 16 or 0 bytes (" + std::to_string(b.size()) + ")");
            if (t.kind == type_kind::timeuuid && b.size() == 16 && (b[6] >> 4) != 1)
                throw_invalid("Unsupported UUID version (" + std::to_string(b[6] >> 4) + ") for " + std::string(column));
            return;
        case type_kind::text:
            if (!valid_utf8(b)) throw_invalid("Invalid UTF-8 bytes for " + std::string(column));
            return;
        case type_kind::ascii:
            for (auto c : b)
                if (c > 127) throw_invalid("Invalid byte for ascii: " + std::to_string(c));
            return;
        case type_kind::blob:
        case type_kind::custom: return;
        default: {
            proto::cql_value v;
            if (auto e = proto::decode_value(t, b, v); e != proto::errc::ok)
                throw_invalid("Invalid value for " + std::string(column) + " of type " + type_display(t) + ": " +
                              std::string(proto::to_string(e)));
            return;
        }
    }
}

// ---- encoders ---------------------------------------------------------------------------

byte_buffer enc_text(std::string_view s) { return byte_buffer(s.begin(), s.end()); }
byte_buffer enc_int(std::int32_t v) {
    byte_buffer b(4);
    proto::detail::store_be32(b.data(), static_cast<std::uint32_t>(v));
    return b;
}
byte_buffer enc_bigint(std::int64_t v) {
    byte_buffer b(8);
    proto::detail::store_be64(b.data(), static_cast<std::uint64_t>(v));
    return b;
}
byte_buffer enc_bool(bool v) { return byte_buffer{static_cast<std::uint8_t>(v ? 1 : 0)}; }
byte_buffer enc_double(double v) {
    std::uint64_t x;
    std::memcpy(&x, &v, 8);
    return enc_bigint(static_cast<std::int64_t>(x));
}
byte_buffer enc_uuid(const proto::uuid_bytes& u) { return byte_buffer(u.begin(), u.end()); }
byte_buffer enc_inet(const proto::inet_address& a) {
    auto b = a.bytes();
    return byte_buffer(b.begin(), b.end());
}
byte_buffer enc_text_set(const std::vector<std::string>& v) {
    byte_buffer out;
    proto::byte_writer w(out);
    w.i32(static_cast<std::int32_t>(v.size()));
    for (const auto& s : v) w.bytes(proto::as_bytes(s));
    return out;
}
byte_buffer enc_text_map(const std::map<std::string, std::string>& m) {
    byte_buffer out;
    proto::byte_writer w(out);
    w.i32(static_cast<std::int32_t>(m.size()));
    for (const auto& [k, v] : m) {
        w.bytes(proto::as_bytes(k));
        w.bytes(proto::as_bytes(v));
    }
    return out;
}

}  // namespace cqlpp::sim::detail
