// Native CQL functions of the simulated cluster: scalar functions (time
// functions, blob conversions, similarity), CAST, aggregates and the JSON
// encoding of values, with Cassandra 5.0's names, return types and messages.
// Not on the plain-column path: only selectors that call functions get here.
#include "engine_internal.hpp"

#include "cqlpp/protocol/literal.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <random>

namespace cqlpp::sim::detail {

namespace {

std::int32_t rd32(bytes_view b) noexcept { return static_cast<std::int32_t>(proto::detail::load_be32(b.data())); }
std::int64_t rd64(bytes_view b) noexcept { return static_cast<std::int64_t>(proto::detail::load_be64(b.data())); }

constexpr std::uint64_t uuid_epoch_offset = 0x01B21DD213814000ULL;  // 100ns units from 1582-10-15 to 1970

bool is_native_scalar(type_kind k) {
    switch (k) {
        case type_kind::ascii: case type_kind::bigint: case type_kind::blob: case type_kind::boolean:
        case type_kind::counter: case type_kind::decimal: case type_kind::double_: case type_kind::float_:
        case type_kind::int_: case type_kind::timestamp: case type_kind::uuid: case type_kind::text:
        case type_kind::varint: case type_kind::timeuuid: case type_kind::inet: case type_kind::date:
        case type_kind::time: case type_kind::smallint: case type_kind::tinyint: case type_kind::duration: return true;
        default: return false;
    }
}

bool is_number(type_kind k) {
    switch (k) {
        case type_kind::tinyint: case type_kind::smallint: case type_kind::int_: case type_kind::bigint:
        case type_kind::counter: case type_kind::varint: case type_kind::float_: case type_kind::double_:
        case type_kind::decimal: return true;
        default: return false;
    }
}

// "text" for the blob conversion function names (textasblob, blobasvarchar, ...).
std::optional<type_kind> type_by_name(std::string_view n) {
    static const std::pair<std::string_view, type_kind> names[] = {
        {"ascii", type_kind::ascii},       {"bigint", type_kind::bigint},     {"blob", type_kind::blob},
        {"boolean", type_kind::boolean},   {"counter", type_kind::counter},   {"decimal", type_kind::decimal},
        {"double", type_kind::double_},    {"float", type_kind::float_},      {"int", type_kind::int_},
        {"timestamp", type_kind::timestamp}, {"uuid", type_kind::uuid},       {"text", type_kind::text},
        {"varchar", type_kind::text},      {"varint", type_kind::varint},     {"timeuuid", type_kind::timeuuid},
        {"inet", type_kind::inet},         {"date", type_kind::date},         {"time", type_kind::time},
        {"smallint", type_kind::smallint}, {"tinyint", type_kind::tinyint},   {"duration", type_kind::duration}};
    for (const auto& [s, k] : names)
        if (s == n) return k;
    return std::nullopt;
}

std::string sig_name(const std::string& fn) { return "system." + fn; }

[[noreturn]] void bad_arity(const std::string& fn, std::size_t want, std::size_t got) {
    throw_invalid("Invalid number of arguments in call to function " + sig_name(fn) + ": " + std::to_string(want) +
                  " required but " + std::to_string(got) + " provided");
}

// Cassandra accepts ascii where text is expected (and timeuuid where uuid is).
bool assignable(const cql_type& want, const cql_type& got) {
    if (want.kind == got.kind) return want.kind != type_kind::vector || (want.dimension == got.dimension && want.params == got.params);
    if (want.kind == type_kind::text && got.kind == type_kind::ascii) return true;
    return false;
}

struct signature {
    std::vector<cql_type> args;
    cql_type ret;
};

std::string sig_text(const std::string& fn, const signature& s) {
    std::string out = sig_name(fn) + " : (";
    for (std::size_t i = 0; i < s.args.size(); ++i) out += (i ? ", " : "") + type_display(s.args[i]);
    return out + ") -> " + type_display(s.ret);
}

std::vector<signature> signatures(const std::string& fn, const std::vector<std::optional<cql_type>>& args) {
    using K = type_kind;
    auto T = [](K k) { return cql_type(k); };
    if (fn == "now" || fn == "currenttimeuuid") return {{{}, T(K::timeuuid)}};
    if (fn == "uuid") return {{{}, T(K::uuid)}};
    if (fn == "currenttimestamp") return {{{}, T(K::timestamp)}};
    if (fn == "currentdate") return {{{}, T(K::date)}};
    if (fn == "currenttime") return {{{}, T(K::time)}};
    if (fn == "todate") return {{{T(K::timeuuid)}, T(K::date)}, {{T(K::timestamp)}, T(K::date)}, {{T(K::date)}, T(K::date)}};
    if (fn == "totimestamp")
        return {{{T(K::timeuuid)}, T(K::timestamp)}, {{T(K::date)}, T(K::timestamp)}, {{T(K::timestamp)}, T(K::timestamp)}};
    if (fn == "tounixtimestamp")
        return {{{T(K::timeuuid)}, T(K::bigint)}, {{T(K::timestamp)}, T(K::bigint)}, {{T(K::date)}, T(K::bigint)}};
    if (fn == "mintimeuuid" || fn == "maxtimeuuid") return {{{T(K::timestamp)}, T(K::timeuuid)}};
    if (fn == "tojson") return {{{args.empty() || !args[0] ? T(K::text) : *args[0]}, T(K::text)}};
    if (fn == "similarity_cosine" || fn == "similarity_euclidean" || fn == "similarity_dot_product") {
        cql_type v;
        for (const auto& a : args)
            if (a && a->kind == K::vector) v = *a;
        if (v.kind != K::vector) v = cql_type::vector_of(T(K::float_), 0);
        return {{{v, v}, T(K::float_)}};
    }
    if (fn.size() > 6 && fn.ends_with("asblob")) {
        if (auto k = type_by_name(std::string_view(fn).substr(0, fn.size() - 6))) return {{{T(*k)}, T(K::blob)}};
    }
    if (fn.size() > 6 && fn.starts_with("blobas")) {
        if (auto k = type_by_name(std::string_view(fn).substr(6))) return {{{T(K::blob)}, T(*k)}};
    }
    return {};
}

// ---- time helpers ---------------------------------------------------------------

std::int64_t timeuuid_ms(bytes_view u) {
    std::uint64_t ts = (std::uint64_t(proto::detail::load_be16(u.data() + 6) & 0x0FFF) << 48) |
                       (std::uint64_t(proto::detail::load_be16(u.data() + 4)) << 32) | proto::detail::load_be32(u.data());
    return static_cast<std::int64_t>((ts - uuid_epoch_offset) / 10000);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// ms since the epoch of a timeuuid / timestamp / date value.
std::int64_t as_millis(const cql_type& t, bytes_view v) {
    switch (t.kind) {
        case type_kind::timeuuid: return timeuuid_ms(v);
        case type_kind::date: return proto::date_to_epoch_days(static_cast<std::uint32_t>(rd32(v))) * 86400000;
        default: return rd64(v);
    }
}

byte_buffer date_of_ms(std::int64_t ms) {
    return enc_int(static_cast<std::int32_t>(static_cast<std::uint32_t>(floor_div(ms, 86400000) + proto::date_epoch)));
}

std::atomic<std::uint64_t> fn_seq{0};

void append_timeuuid(std::int64_t unix_us, byte_buffer& out) {
    std::uint64_t ts = static_cast<std::uint64_t>(unix_us) * 10 + uuid_epoch_offset + (fn_seq.fetch_add(1) % 10);
    proto::uuid_bytes u{};
    proto::detail::store_be32(u.data(), static_cast<std::uint32_t>(ts));
    proto::detail::store_be16(u.data() + 4, static_cast<std::uint16_t>(ts >> 32));
    proto::detail::store_be16(u.data() + 6, static_cast<std::uint16_t>(((ts >> 48) & 0x0FFF) | 0x1000));
    static const std::uint64_t node = std::random_device{}() | 0x010000000000ULL;
    const auto seq = fn_seq.load();
    u[8] = static_cast<std::uint8_t>(0x80 | (seq >> 8 & 0x3F));
    u[9] = static_cast<std::uint8_t>(seq);
    for (int i = 0; i < 6; ++i) u[static_cast<std::size_t>(10 + i)] = static_cast<std::uint8_t>(node >> (40 - 8 * i));
    out.assign(u.begin(), u.end());
}

// ---- numbers ----------------------------------------------------------------------

// Java's Double.toString / Float.toString (what Cassandra prints for casts and JSON).
std::string java_float_string(double d, bool single) {
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
    char buf[64];
    auto r = single ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(d), std::chars_format::scientific)
                    : std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string sci(buf, r.ptr);  // d.ddde[+-]xx
    bool neg = sci[0] == '-';
    if (neg) sci.erase(0, 1);
    auto e = sci.find('e');
    std::string digits = sci.substr(0, e);
    int exp = std::stoi(sci.substr(e + 1));
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    std::string out = neg ? "-" : "";
    const double a = std::fabs(d);
    if (a >= 1e-3 && a < 1e7) {
        if (exp >= 0) {
            std::string ip = digits.substr(0, std::min<std::size_t>(digits.size(), static_cast<std::size_t>(exp) + 1));
            while (ip.size() < static_cast<std::size_t>(exp) + 1) ip += '0';
            std::string fp = digits.size() > static_cast<std::size_t>(exp) + 1 ? digits.substr(static_cast<std::size_t>(exp) + 1) : "0";
            return out + ip + "." + fp;
        }
        return out + "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
    }
    out += digits.substr(0, 1) + "." + (digits.size() > 1 ? digits.substr(1) : "0") + "E" + std::to_string(exp);
    return out;
}

// Numeric value of any number type as double (casts, avg, similarity).
double to_double(const cql_type& t, bytes_view v) {
    switch (t.kind) {
        case type_kind::tinyint: return static_cast<std::int8_t>(v[0]);
        case type_kind::smallint: return static_cast<std::int16_t>(proto::detail::load_be16(v.data()));
        case type_kind::int_: return rd32(v);
        case type_kind::bigint:
        case type_kind::counter: return static_cast<double>(rd64(v));
        case type_kind::float_: {
            float f;
            std::uint32_t u = proto::detail::load_be32(v.data());
            std::memcpy(&f, &u, 4);
            return f;
        }
        case type_kind::double_: {
            double d;
            std::uint64_t u = proto::detail::load_be64(v.data());
            std::memcpy(&d, &u, 8);
            return d;
        }
        default: {
            proto::cql_value cv;
            if (proto::decode_value(t, v, cv) != proto::errc::ok) return 0;
            if (cv.kind() == proto::value_kind::varint) return static_cast<double>(cv.as_varint().to_int64().value_or(0));
            if (cv.kind() == proto::value_kind::decimal) return std::strtod(cv.as_decimal().to_string().c_str(), nullptr);
            return 0;
        }
    }
}

bool is_integral(type_kind k) {
    return k == type_kind::tinyint || k == type_kind::smallint || k == type_kind::int_ || k == type_kind::bigint ||
           k == type_kind::counter || k == type_kind::varint;
}

std::int64_t to_int64(const cql_type& t, bytes_view v) {
    if (is_integral(t.kind) && t.kind != type_kind::varint) {
        switch (t.kind) {
            case type_kind::tinyint: return static_cast<std::int8_t>(v[0]);
            case type_kind::smallint: return static_cast<std::int16_t>(proto::detail::load_be16(v.data()));
            case type_kind::int_: return rd32(v);
            default: return rd64(v);
        }
    }
    if (t.kind == type_kind::varint) {
        proto::cql_value cv;
        if (proto::decode_value(t, v, cv) == proto::errc::ok) return cv.as_varint().to_int64().value_or(0);
        return 0;
    }
    const double d = to_double(t, v);
    if (std::isnan(d)) return 0;
    if (d >= 9.2233720368547758e18) return std::numeric_limits<std::int64_t>::max();
    if (d <= -9.2233720368547758e18) return std::numeric_limits<std::int64_t>::min();
    return static_cast<std::int64_t>(d);  // Java truncates toward zero
}

// Writes an integer (wrapped like Java's narrowing) or floating value as type `t`.
void put_integer(const cql_type& t, std::int64_t x, byte_buffer& out) {
    out.clear();
    proto::byte_writer w(out);
    switch (t.kind) {
        case type_kind::tinyint: w.u8(static_cast<std::uint8_t>(x)); return;
        case type_kind::smallint: w.u16(static_cast<std::uint16_t>(x)); return;
        case type_kind::int_: w.i32(static_cast<std::int32_t>(x)); return;
        case type_kind::varint: {
            auto v = proto::cql_varint::from_int64(x).minimal();
            out = v.bytes();
            return;
        }
        default: w.i64(x); return;
    }
}

void put_floating(const cql_type& t, double d, byte_buffer& out) {
    out.clear();
    proto::byte_writer w(out);
    if (t.kind == type_kind::float_) {
        float f = static_cast<float>(d);
        std::uint32_t u;
        std::memcpy(&u, &f, 4);
        w.u32(u);
    } else if (t.kind == type_kind::double_) {
        std::uint64_t u;
        std::memcpy(&u, &d, 8);
        w.i64(static_cast<std::int64_t>(u));
    } else {  // decimal
        proto::cql_decimal dec;
        proto::cql_decimal::from_string(java_float_string(d, false), dec);
        proto::encode_value(t, proto::cql_value::decimal(dec), out);
    }
}

// Cassandra's text form of a value (CAST AS text): Java toString() of the value.
std::string value_string(const cql_type& t, bytes_view v) {
    switch (t.kind) {
        case type_kind::float_: return java_float_string(to_double(t, v), true);
        case type_kind::double_: return java_float_string(to_double(t, v), false);
        case type_kind::ascii:
        case type_kind::text: return std::string(proto::as_chars(v));
        case type_kind::timestamp: {
            std::string lit = proto::format_literal(t, proto::cql_value::integer(rd64(v)));
            // '2025-03-01 00:00:00.000000+0000' -> 2025-03-01T00:00:00.000Z
            if (lit.size() >= 26 && lit[0] == '\'') return lit.substr(1, 10) + "T" + lit.substr(12, 12) + "Z";
            return lit;
        }
        default: {
            proto::cql_value cv;
            if (proto::decode_value(t, v, cv) != proto::errc::ok) return {};
            std::string lit = proto::format_literal(t, cv);
            if (lit.size() >= 2 && lit.front() == '\'' && lit.back() == '\'') lit = lit.substr(1, lit.size() - 2);
            return lit;
        }
    }
}

}  // namespace

// ---- scalar functions ----------------------------------------------------------------

cql_type function_return_type(const std::string& fn, std::vector<std::optional<cql_type>>& arg_types,
                              const std::vector<std::string>& arg_texts) {
    auto sigs = signatures(fn, arg_types);
    if (sigs.empty()) throw_invalid("Unknown function '" + fn + "'");
    if (sigs.size() == 1) {
        auto& s = sigs[0];
        if (s.args.size() != arg_types.size()) bad_arity(fn, s.args.size(), arg_types.size());
        for (std::size_t i = 0; i < s.args.size(); ++i) {
            if (!arg_types[i]) {
                arg_types[i] = s.args[i];
                continue;
            }
            if (!assignable(s.args[i], *arg_types[i]))
                throw_invalid("Type error: " + arg_texts[i] + " cannot be passed as argument " + std::to_string(i) +
                              " of function " + sig_name(fn) + " of type " + type_display(s.args[i]));
        }
        return s.ret;
    }
    for (auto& s : sigs) {
        if (s.args.size() != arg_types.size()) continue;
        bool ok = true;
        for (std::size_t i = 0; i < s.args.size(); ++i) ok = ok && arg_types[i] && assignable(s.args[i], *arg_types[i]);
        if (ok) return s.ret;
    }
    if (sigs[0].args.size() != arg_types.size()) bad_arity(fn, sigs[0].args.size(), arg_types.size());
    std::string known;
    for (const auto& s : sigs) known += (known.empty() ? "" : ", ") + sig_text(fn, s);
    for (const auto& a : arg_types)
        if (!a)
            throw_invalid("Ambiguous call to function " + fn + " (can be matched by following signatures: " + known +
                          "): use type casts to disambiguate");
    throw_invalid("Invalid call to function " + fn + ", none of its type signatures match (known type signatures: " + known + ")");
}

bool apply_function(const std::string& fn, const std::vector<cql_type>& at, const std::vector<std::optional<bytes_view>>& args,
                    const cql_type& ret, exec_ctx& ctx, byte_buffer& out) {
    out.clear();
    if (fn == "now" || fn == "currenttimeuuid") {
        append_timeuuid(ctx.now_us, out);
        return true;
    }
    if (fn == "uuid") {
        std::mt19937_64 rng(static_cast<std::uint64_t>(ctx.now_us) ^ fn_seq.fetch_add(1) * 0x9E3779B97F4A7C15ULL);
        proto::uuid_bytes u{};
        proto::detail::store_be64(u.data(), rng());
        proto::detail::store_be64(u.data() + 8, rng());
        u[6] = static_cast<std::uint8_t>((u[6] & 0x0F) | 0x40);
        u[8] = static_cast<std::uint8_t>((u[8] & 0x3F) | 0x80);
        out.assign(u.begin(), u.end());
        return true;
    }
    const std::int64_t now_ms = ctx.now_us / 1000;
    if (fn == "currenttimestamp") {
        out = enc_bigint(now_ms);
        return true;
    }
    if (fn == "currentdate") {
        out = date_of_ms(now_ms);
        return true;
    }
    if (fn == "currenttime") {
        out = enc_bigint((ctx.now_us % 86400000000LL) * 1000);
        return true;
    }
    // Every other function returns null for a null argument (Cassandra's
    // native functions are "called on null input" = false), except toJson.
    if (fn == "tojson") {
        std::string s;
        append_json(s, at[0], args[0]);
        out.assign(s.begin(), s.end());
        return true;
    }
    for (const auto& a : args)
        if (!a) return false;
    if (fn == "todate" || fn == "totimestamp" || fn == "tounixtimestamp") {
        if (args[0]->empty()) return false;
        const auto ms = as_millis(at[0], *args[0]);
        if (fn == "todate") out = date_of_ms(ms);
        else out = enc_bigint(ms);
        return true;
    }
    if (fn == "mintimeuuid" || fn == "maxtimeuuid") {
        if (args[0]->size() != 8) return false;
        std::uint64_t ts = static_cast<std::uint64_t>(rd64(*args[0])) * 10000 + uuid_epoch_offset;
        if (fn == "maxtimeuuid") ts += 9999;
        proto::uuid_bytes u{};
        proto::detail::store_be32(u.data(), static_cast<std::uint32_t>(ts));
        proto::detail::store_be16(u.data() + 4, static_cast<std::uint16_t>(ts >> 32));
        proto::detail::store_be16(u.data() + 6, static_cast<std::uint16_t>(((ts >> 48) & 0x0FFF) | 0x1000));
        std::fill(u.begin() + 8, u.end(), fn == "maxtimeuuid" ? 0x7F : 0x80);
        out.assign(u.begin(), u.end());
        return true;
    }
    if (fn.ends_with("asblob")) {
        out.assign(args[0]->begin(), args[0]->end());
        return true;
    }
    if (fn.starts_with("blobas")) {
        validate_value(ret, *args[0], fn);
        out.assign(args[0]->begin(), args[0]->end());
        return true;
    }
    if (fn.starts_with("similarity_")) {
        std::vector<bytes_view> a, b;
        const auto& vt = at[0];
        const std::size_t n = vt.dimension;
        if (args[0]->size() != n * 4 || args[1]->size() != n * 4) throw_invalid("Invalid vector value for " + fn);
        double dot = 0, na = 0, nb = 0, dist = 0;
        const cql_type ft(type_kind::float_);
        for (std::size_t i = 0; i < n; ++i) {
            const double x = to_double(ft, args[0]->subspan(i * 4, 4)), y = to_double(ft, args[1]->subspan(i * 4, 4));
            dot += x * y;
            na += x * x;
            nb += y * y;
            dist += (x - y) * (x - y);
        }
        double r;
        if (fn == "similarity_cosine") {
            if (na == 0 || nb == 0)
                throw_invalid("Function system.similarity_cosine doesn't support all-zero vectors.");
            r = (1 + dot / std::sqrt(na * nb)) / 2;
        } else if (fn == "similarity_euclidean") {
            r = 1 / (1 + dist);
        } else {
            r = (1 + dot) / 2;
        }
        put_floating(ft, r, out);
        return true;
    }
    throw_invalid("Unknown function '" + fn + "'");
}

// ---- CAST --------------------------------------------------------------------------

void check_cast(const cql_type& from, const cql_type& to, std::string_view what) {
    bool ok = false;
    if (is_native_scalar(from.kind)) {
        if (to.kind == type_kind::text || to.kind == type_kind::ascii) ok = true;
        else if (is_number(from.kind) && is_number(to.kind) && to.kind != type_kind::counter) ok = true;
        else if (from.kind == to.kind) ok = true;
        else if ((from.kind == type_kind::timestamp || from.kind == type_kind::timeuuid) && to.kind == type_kind::date) ok = true;
        else if ((from.kind == type_kind::date || from.kind == type_kind::timeuuid) && to.kind == type_kind::timestamp) ok = true;
    }
    if (!ok) throw_invalid(std::string(what) + " cannot be cast to " + type_display(to));
}

bool cast_value(const cql_type& from, bytes_view v, const cql_type& to, byte_buffer& out) {
    out.clear();
    if (v.empty() && from.kind != type_kind::text && from.kind != type_kind::ascii && from.kind != type_kind::blob) return false;
    if (to.kind == type_kind::text || to.kind == type_kind::ascii) {
        auto s = value_string(from, v);
        out.assign(s.begin(), s.end());
        return true;
    }
    if (from.kind == to.kind) {
        out.assign(v.begin(), v.end());
        return true;
    }
    if (to.kind == type_kind::date) {
        out = date_of_ms(as_millis(from, v));
        return true;
    }
    if (to.kind == type_kind::timestamp) {
        out = enc_bigint(as_millis(from, v));
        return true;
    }
    if (is_integral(to.kind)) {
        put_integer(to, to_int64(from, v), out);
        return true;
    }
    if (from.kind == type_kind::decimal && to.kind == type_kind::double_) {
        put_floating(to, to_double(from, v), out);
        return true;
    }
    if (to.kind == type_kind::decimal && is_integral(from.kind)) {
        proto::cql_decimal d;
        d.unscaled = proto::cql_varint::from_int64(to_int64(from, v));
        return proto::encode_value(to, proto::cql_value::decimal(d), out) == proto::errc::ok;
    }
    put_floating(to, to_double(from, v), out);
    return true;
}

// ---- JSON -----------------------------------------------------------------------------

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += ch;
                }
        }
    }
    out += '"';
}

void append_json(std::string& out, const cql_type& t, std::optional<bytes_view> v) {
    if (!v) {
        out += "null";
        return;
    }
    switch (t.kind) {
        case type_kind::ascii:
        case type_kind::text: append_json_string(out, proto::as_chars(*v)); return;
        case type_kind::tinyint: case type_kind::smallint: case type_kind::int_: case type_kind::bigint:
        case type_kind::counter: case type_kind::varint: case type_kind::decimal: case type_kind::float_:
        case type_kind::double_: case type_kind::boolean:
            if (v->empty()) {
                out += "null";
                return;
            }
            out += value_string(t, *v);
            return;
        case type_kind::timestamp: {
            if (v->size() != 8) {
                out += "null";
                return;
            }
            // Cassandra: "2025-03-01 00:00:01.000Z".
            auto s = value_string(t, *v);
            if (s.size() > 10 && s[10] == 'T') s[10] = ' ';
            append_json_string(out, s);
            return;
        }
        case type_kind::list:
        case type_kind::set:
        case type_kind::vector: {
            out += '[';
            if (t.kind == type_kind::vector) {
                const std::size_t n = t.dimension, sz = v->size() / (n ? n : 1);
                for (std::size_t i = 0; i < n && sz; ++i) {
                    if (i) out += ", ";
                    append_json(out, t.params[0], v->subspan(i * sz, sz));
                }
            } else {
                std::vector<bytes_view> elems;
                split_collection(*v, elems);
                for (std::size_t i = 0; i < elems.size(); ++i) {
                    if (i) out += ", ";
                    append_json(out, t.params[0], elems[i]);
                }
            }
            out += ']';
            return;
        }
        case type_kind::map: {
            std::vector<bytes_view> elems;
            split_collection(*v, elems);
            out += '{';
            for (std::size_t i = 0; i + 1 < elems.size(); i += 2) {
                if (i) out += ", ";
                std::string key;
                append_json(key, t.params[0], elems[i]);
                if (key.empty() || key[0] != '"') append_json_string(out, key);
                else out += key;
                out += ": ";
                append_json(out, t.params[1], elems[i + 1]);
            }
            out += '}';
            return;
        }
        case type_kind::tuple:
        case type_kind::udt: {
            std::vector<std::optional<bytes_view>> fields;
            split_tuple(*v, fields);
            const bool udt = t.kind == type_kind::udt;
            out += udt ? '{' : '[';
            for (std::size_t i = 0; i < t.params.size(); ++i) {
                if (i) out += ", ";
                if (udt) {
                    const auto& n = t.field_names[i];
                    const bool plain = !n.empty() && std::all_of(n.begin(), n.end(), [](char c) {
                        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                    });
                    append_json_string(out, plain ? n : "\"" + n + "\"");
                    out += ": ";
                }
                append_json(out, t.params[i], i < fields.size() ? fields[i] : std::nullopt);
            }
            out += udt ? '}' : ']';
            return;
        }
        default:
            if (v->empty() && t.kind != type_kind::blob) {
                out += "null";
                return;
            }
            append_json_string(out, value_string(t, *v));
            return;
    }
}

// ---- aggregates ---------------------------------------------------------------------------

cql_type aggregate_return_type(const std::string& fn, const cql_type& arg) {
    if (fn == "count") return cql_type(type_kind::bigint);
    if (fn == "min" || fn == "max") return arg;
    // sum / avg: numbers only.
    static const type_kind nums[] = {type_kind::tinyint, type_kind::smallint, type_kind::int_, type_kind::bigint,
                                     type_kind::float_, type_kind::double_, type_kind::decimal, type_kind::varint,
                                     type_kind::counter};
    if (std::find(std::begin(nums), std::end(nums), arg.kind) != std::end(nums))
        return arg.kind == type_kind::counter ? cql_type(type_kind::bigint) : arg;
    std::string known;
    if (arg.kind == type_kind::timestamp || arg.kind == type_kind::date || arg.kind == type_kind::time) {
        // Cassandra sees these as assignable to varint and bigint.
        throw_invalid("Ambiguous call to function " + fn + " (can be matched by following signatures: system." + fn +
                      " : (varint) -> varint, system." + fn + " : (bigint) -> bigint): use type casts to disambiguate");
    }
    for (auto k : nums) {
        cql_type t(k);
        known += (known.empty() ? "" : ", ") + std::string("system.") + fn + " : (" + type_display(t) + ") -> " +
                 type_display(k == type_kind::counter ? cql_type(type_kind::bigint) : t);
    }
    throw_invalid("Invalid call to function " + fn + ", none of its type signatures match (known type signatures: " + known + ")");
}

void aggregate_add(const sel_expr& e, agg_state& s, std::optional<bytes_view> v) {
    if (e.k == sel_expr::op::count_rows) {
        ++s.count;
        return;
    }
    if (!v || (v->empty() && e.args[0].type.kind != type_kind::text && e.args[0].type.kind != type_kind::ascii &&
               e.args[0].type.kind != type_kind::blob))
        return;
    const auto& at = e.args[0].type;
    ++s.count;
    if (e.fn == "count") return;
    if (e.fn == "min" || e.fn == "max") {
        if (!s.has_best) {
            s.best.assign(v->begin(), v->end());
            s.has_best = true;
            return;
        }
        int c = compare_values(at, *v, s.best);
        if ((e.fn == "min" && c < 0) || (e.fn == "max" && c > 0)) s.best.assign(v->begin(), v->end());
        return;
    }
    if (is_integral(at.kind) && at.kind != type_kind::varint) {
        s.isum = static_cast<std::int64_t>(static_cast<std::uint64_t>(s.isum) + static_cast<std::uint64_t>(to_int64(at, *v)));
        return;
    }
    // Kahan summation, as Cassandra does for float/double sums and averages.
    const double y = to_double(at, *v) - s.comp;
    const double t = s.dsum + y;
    s.comp = (t - s.dsum) - y;
    s.dsum = t;
}

bool aggregate_result(const sel_expr& e, const agg_state& s, byte_buffer& out) {
    out.clear();
    if (e.k == sel_expr::op::count_rows || e.fn == "count") {
        out = enc_bigint(s.count);
        return true;
    }
    if (e.fn == "min" || e.fn == "max") {
        if (!s.has_best) return false;
        out = s.best;
        return true;
    }
    const auto& at = e.args[0].type;
    const bool avg = e.fn == "avg";
    if (is_integral(at.kind) && at.kind != type_kind::varint) {
        std::int64_t r = s.isum;
        if (avg) r = s.count ? s.isum / s.count : 0;
        put_integer(e.type, r, out);
        return true;
    }
    double r = s.dsum;
    if (avg) r = s.count ? s.dsum / static_cast<double>(s.count) : 0;
    if (e.type.kind == type_kind::varint) {
        put_integer(e.type, static_cast<std::int64_t>(r), out);
        return true;
    }
    put_floating(e.type, r, out);
    return true;
}

}  // namespace cqlpp::sim::detail
