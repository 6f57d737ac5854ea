// CQL literal parser and printer. See literal.hpp for the accepted syntax.
#include "cqlpp/protocol/literal.hpp"

#include "cqlpp/protocol/detail/text.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace cqlpp::protocol {

namespace {

// ---- Calendar (proleptic Gregorian, 64-bit so every uint32 date fits) --------

// Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil_date {
    std::int64_t year;
    unsigned month;
    unsigned day;
};

constexpr civil_date civil_from_days(std::int64_t z) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2 ? 1 : 0), m, d};
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(civil_from_days(-2147483648LL).year == -5877641);
static_assert(civil_from_days(2147483647LL).year == 5881580);

constexpr bool is_leap(std::int64_t y) noexcept { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

constexpr unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
    constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

constexpr std::int64_t ms_per_day = 86'400'000;
constexpr std::int64_t ns_per_second = 1'000'000'000;

// ---- Small helpers -----------------------------------------------------------

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_ident_start(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) noexcept { return is_ident_start(c) || is_digit(c); }

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

bool all_digits(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_digit(c)) return false;
    return true;
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Unsigned decimal; false on non-digits or overflow (`overflow` tells which).
bool parse_u64(std::string_view s, std::uint64_t& out, bool& overflow) noexcept {
    overflow = false;
    if (!all_digits(s)) return false;
    std::uint64_t v = 0;
    for (char c : s) {
        auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) {
            overflow = true;
            return false;
        }
        v = v * 10 + d;
    }
    out = v;
    return true;
}

// [-]digits within [lo, hi].
errc parse_i64(std::string_view s, std::int64_t lo, std::int64_t hi, std::int64_t& out) noexcept {
    bool neg = false;
    if (!s.empty() && s[0] == '-') {
        neg = true;
        s.remove_prefix(1);
    }
    std::uint64_t mag = 0;
    bool overflow = false;
    if (!parse_u64(s, mag, overflow)) return overflow ? errc::value_out_of_range : errc::bad_literal;
    constexpr std::uint64_t min_mag = std::uint64_t(1) << 63;
    std::int64_t v;
    if (neg) {
        if (mag > min_mag) return errc::value_out_of_range;
        v = mag == min_mag ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(mag);
    } else {
        if (mag > min_mag - 1) return errc::value_out_of_range;
        v = static_cast<std::int64_t>(mag);
    }
    if (v < lo || v > hi) return errc::value_out_of_range;
    out = v;
    return errc::ok;
}

// Fixed-width decimal field of 1..max digits at s[i]; advances i.
bool take_digits(std::string_view s, std::size_t& i, std::size_t min, std::size_t max, std::uint64_t& out) noexcept {
    std::size_t start = i;
    std::uint64_t v = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < max) v = v * 10 + static_cast<std::uint64_t>(s[i++] - '0');
    if (i - start < min) return false;
    out = v;
    return true;
}

// ---- Scalar parsers (on the token text) --------------------------------------

errc parse_blob(std::string_view s, byte_buffer& out) {
    if (s.size() < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return errc::bad_literal;
    s.remove_prefix(2);
    if (s.size() % 2 != 0) return errc::bad_literal;
    out.clear();
    out.reserve(s.size() / 2);
    for (std::size_t i = 0; i < s.size(); i += 2) {
        int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
        if (hi < 0 || lo < 0) return errc::bad_literal;
        out.push_back(static_cast<std::uint8_t>((hi << 4) | lo));
    }
    return errc::ok;
}

errc parse_uuid(std::string_view s, uuid_bytes& out) {
    if (s.size() != 36) return errc::bad_literal;
    std::size_t k = 0;
    for (std::size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return errc::bad_literal;
            ++i;
            continue;
        }
        int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
        if (hi < 0 || lo < 0) return errc::bad_literal;
        out[k++] = static_cast<std::uint8_t>((hi << 4) | lo);
        i += 2;
    }
    return errc::ok;
}

// CQL float syntax: -?digits[.digits][e[+-]digits] | NaN | Infinity | -Infinity.
template <class F>
errc parse_float(std::string_view s, F& out) {
    std::string_view body = s;
    bool neg = !body.empty() && body[0] == '-';
    if (neg) body.remove_prefix(1);
    if (iequals(body, "nan") && !neg) {
        out = std::numeric_limits<F>::quiet_NaN();
        return errc::ok;
    }
    if (iequals(body, "infinity")) {
        out = neg ? -std::numeric_limits<F>::infinity() : std::numeric_limits<F>::infinity();
        return errc::ok;
    }
    std::size_t i = 0;
    while (i < body.size() && is_digit(body[i])) ++i;
    if (i == 0) return errc::bad_literal;
    if (i < body.size() && body[i] == '.') {
        ++i;
        while (i < body.size() && is_digit(body[i])) ++i;
    }
    if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
        ++i;
        if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
        std::size_t start = i;
        while (i < body.size() && is_digit(body[i])) ++i;
        if (i == start) return errc::bad_literal;
    }
    if (i != body.size()) return errc::bad_literal;
    F v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
    if (ec == std::errc::result_out_of_range) return errc::value_out_of_range;
    if (ec != std::errc() || p != s.data() + s.size()) return errc::bad_literal;
    out = v;
    return errc::ok;
}

// [+-]year-month-day with a valid day; year up to 10 digits.
errc parse_civil(std::string_view s, std::size_t& i, std::int64_t& days) {
    bool neg = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    std::uint64_t y = 0, m = 0, d = 0;
    if (!take_digits(s, i, 1, 10, y)) return errc::bad_literal;
    if (i >= s.size() || s[i++] != '-') return errc::bad_literal;
    if (!take_digits(s, i, 1, 2, m)) return errc::bad_literal;
    if (i >= s.size() || s[i++] != '-') return errc::bad_literal;
    if (!take_digits(s, i, 1, 2, d)) return errc::bad_literal;
    const std::int64_t year = neg ? -static_cast<std::int64_t>(y) : static_cast<std::int64_t>(y);
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(year, static_cast<unsigned>(m))) return errc::bad_literal;
    days = days_from_civil(year, static_cast<unsigned>(m), static_cast<unsigned>(d));
    return errc::ok;
}

// hh:mm[:ss[.fffffffff]] -> nanoseconds of the day; seconds optional when allowed.
errc parse_clock(std::string_view s, std::size_t& i, bool seconds_required, std::int64_t& nanos) {
    std::uint64_t h = 0, m = 0, sec = 0, frac = 0;
    if (!take_digits(s, i, 1, 2, h)) return errc::bad_literal;
    if (i >= s.size() || s[i++] != ':') return errc::bad_literal;
    if (!take_digits(s, i, 2, 2, m)) return errc::bad_literal;
    if (i < s.size() && s[i] == ':') {
        ++i;
        if (!take_digits(s, i, 2, 2, sec)) return errc::bad_literal;
        if (i < s.size() && s[i] == '.') {
            ++i;
            std::size_t start = i;
            if (!take_digits(s, i, 1, 9, frac)) return errc::bad_literal;
            for (std::size_t k = i - start; k < 9; ++k) frac *= 10;
        }
    } else if (seconds_required) {
        return errc::bad_literal;
    }
    if (h > 23 || m > 59 || sec > 59) return errc::bad_literal;
    nanos = static_cast<std::int64_t>(((h * 60 + m) * 60 + sec) * ns_per_second + frac);
    return errc::ok;
}

errc parse_date(std::string_view s, bool quoted, std::uint32_t& out) {
    if (all_digits(s) || (s.size() > 1 && s[0] == '-' && all_digits(s.substr(1)))) {
        // A bare number is the raw wire value (SimpleDateSerializer).
        std::int64_t v = 0;
        if (auto e = parse_i64(s, 0, 0xFFFFFFFFLL, v); e != errc::ok) return e;
        out = static_cast<std::uint32_t>(v);
        return errc::ok;
    }
    if (!quoted) return errc::bad_literal;
    std::size_t i = 0;
    std::int64_t days = 0;
    if (auto e = parse_civil(s, i, days); e != errc::ok) return e;
    if (i != s.size()) return errc::bad_literal;
    const std::int64_t wire = days + static_cast<std::int64_t>(date_epoch);
    if (wire < 0 || wire > 0xFFFFFFFFLL) return errc::value_out_of_range;
    out = static_cast<std::uint32_t>(wire);
    return errc::ok;
}

errc parse_time(std::string_view s, bool quoted, std::int64_t& out) {
    if (all_digits(s) || (!s.empty() && s[0] == '-')) return parse_i64(s, 0, max_time_nanos, out);
    if (!quoted) return errc::bad_literal;
    std::size_t i = 0;
    if (auto e = parse_clock(s, i, true, out); e != errc::ok) return e;
    return i == s.size() ? errc::ok : errc::bad_literal;
}

errc parse_timestamp(std::string_view s, bool quoted, std::int64_t& out) {
    if (all_digits(s) || (s.size() > 1 && s[0] == '-' && all_digits(s.substr(1))))
        return parse_i64(s, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(), out);
    if (!quoted) return errc::bad_literal;
    std::size_t i = 0;
    std::int64_t days = 0, nanos = 0, offset_minutes = 0;
    if (auto e = parse_civil(s, i, days); e != errc::ok) return e;
    if (i < s.size() && (s[i] == ' ' || s[i] == 'T' || s[i] == 't')) {
        std::size_t j = i + 1;
        if (j < s.size() && is_digit(s[j])) {
            i = j;
            if (auto e = parse_clock(s, i, false, nanos); e != errc::ok) return e;
        }
    }
    while (i < s.size() && s[i] == ' ') ++i;
    if (i < s.size()) {
        if (s[i] == 'Z' || s[i] == 'z') {
            ++i;
        } else if (s[i] == '+' || s[i] == '-') {
            bool neg = s[i++] == '-';
            std::uint64_t hh = 0, mm = 0;
            if (!take_digits(s, i, 2, 2, hh)) return errc::bad_literal;
            if (i < s.size() && s[i] == ':') ++i;
            if (i < s.size()) {
                if (!take_digits(s, i, 2, 2, mm)) return errc::bad_literal;
            }
            if (hh > 23 || mm > 59) return errc::bad_literal;
            offset_minutes = static_cast<std::int64_t>(hh * 60 + mm) * (neg ? -1 : 1);
        } else {
            return errc::bad_literal;
        }
    }
    if (i != s.size()) return errc::bad_literal;
    if (nanos % 1'000'000 != 0) return errc::value_out_of_range;  // below millisecond precision
    std::int64_t ms = 0;
    if (__builtin_mul_overflow(days, ms_per_day, &ms) || __builtin_add_overflow(ms, nanos / 1'000'000, &ms) ||
        __builtin_sub_overflow(ms, offset_minutes * 60'000, &ms))
        return errc::value_out_of_range;
    out = ms;
    return errc::ok;
}

bool parse_ipv4(std::string_view s, std::uint8_t* out) noexcept {
    std::size_t i = 0;
    for (int part = 0; part < 4; ++part) {
        if (part && (i >= s.size() || s[i++] != '.')) return false;
        std::uint64_t v = 0;
        if (!take_digits(s, i, 1, 3, v) || v > 255) return false;
        out[part] = static_cast<std::uint8_t>(v);
    }
    return i == s.size();
}

bool parse_ipv6(std::string_view s, std::uint8_t* out) noexcept {
    std::uint16_t head[8]{}, tail[8]{};
    int nhead = 0, ntail = 0;
    bool gap = false;
    std::size_t i = 0;
    if (s.starts_with("::")) {
        gap = true;
        i = 2;
    }
    while (i < s.size()) {
        // An embedded IPv4 address ends the string.
        std::size_t next = s.find_first_of(":.", i);
        if (next != std::string_view::npos && s[next] == '.') {
            std::uint8_t v4[4];
            if (!parse_ipv4(s.substr(i), v4)) return false;
            auto& n = gap ? ntail : nhead;
            auto* g = gap ? tail : head;
            if (n + 2 > 8) return false;
            g[n++] = static_cast<std::uint16_t>((v4[0] << 8) | v4[1]);
            g[n++] = static_cast<std::uint16_t>((v4[2] << 8) | v4[3]);
            i = s.size();
            break;
        }
        std::size_t start = i;
        std::uint32_t v = 0;
        while (i < s.size() && hex_value(s[i]) >= 0 && i - start < 4) v = (v << 4) | static_cast<unsigned>(hex_value(s[i++]));
        if (i == start) return false;
        auto& n = gap ? ntail : nhead;
        auto* g = gap ? tail : head;
        if (n >= 8) return false;
        g[n++] = static_cast<std::uint16_t>(v);
        if (i == s.size()) break;
        if (s[i] != ':') return false;
        ++i;
        if (i < s.size() && s[i] == ':') {
            if (gap) return false;  // a second "::"
            gap = true;
            ++i;
        } else if (i == s.size()) {
            return false;  // trailing single ':'
        }
    }
    if (gap ? nhead + ntail > 7 : nhead != 8) return false;
    std::uint16_t groups[8]{};
    for (int k = 0; k < nhead; ++k) groups[k] = head[k];
    for (int k = 0; k < ntail; ++k) groups[8 - ntail + k] = tail[k];
    for (int k = 0; k < 8; ++k) {
        out[2 * k] = static_cast<std::uint8_t>(groups[k] >> 8);
        out[2 * k + 1] = static_cast<std::uint8_t>(groups[k]);
    }
    return true;
}

errc parse_inet(std::string_view s, inet_address& out) {
    inet_address a;
    if (s.find(':') != std::string_view::npos) {
        if (!parse_ipv6(s, a.addr.data())) return errc::bad_literal;
        a.size = 16;
    } else {
        if (!parse_ipv4(s, a.addr.data())) return errc::bad_literal;
        a.size = 4;
    }
    out = a;
    return errc::ok;
}

// Accumulates a duration as magnitudes; signs are applied at the end.
struct duration_acc {
    std::uint64_t months = 0, days = 0, nanos = 0;
    bool overflow = false;

    void add(std::uint64_t& field, std::uint64_t n, std::uint64_t unit) noexcept {
        std::uint64_t x = 0;
        if (__builtin_mul_overflow(n, unit, &x) || __builtin_add_overflow(field, x, &field)) overflow = true;
    }
};

// Duration.from() syntax without the sign: (\d+unit)+ with y mo w d h m s ms us µs ns.
errc parse_duration_units(std::string_view s, duration_acc& acc) {
    std::size_t i = 0;
    if (s.empty()) return errc::bad_literal;
    while (i < s.size()) {
        std::uint64_t n = 0;
        std::size_t start = i;
        while (i < s.size() && is_digit(s[i])) ++i;
        bool overflow = false;
        if (!parse_u64(s.substr(start, i - start), n, overflow)) return overflow ? errc::value_out_of_range : errc::bad_literal;
        auto unit_is = [&](std::string_view u) {
            if (s.size() - i < u.size() || !iequals(s.substr(i, u.size()), u)) return false;
            i += u.size();
            return true;
        };
        if (unit_is("mo")) acc.add(acc.months, n, 1);
        else if (unit_is("ms")) acc.add(acc.nanos, n, 1'000'000);
        else if (unit_is("us") || unit_is("\xC2\xB5s") || unit_is("\xC2\xB5S")) acc.add(acc.nanos, n, 1'000);
        else if (unit_is("ns")) acc.add(acc.nanos, n, 1);
        else if (unit_is("y")) acc.add(acc.months, n, 12);
        else if (unit_is("w")) acc.add(acc.days, n, 7);
        else if (unit_is("d")) acc.add(acc.days, n, 1);
        else if (unit_is("h")) acc.add(acc.nanos, n, 3600 * ns_per_second);
        else if (unit_is("m")) acc.add(acc.nanos, n, 60 * ns_per_second);
        else if (unit_is("s")) acc.add(acc.nanos, n, ns_per_second);
        else return errc::bad_literal;
    }
    return errc::ok;
}

// ISO 8601 after the 'P': nYnMnDTnHnMnS, nW, or yyyy-mm-ddThh:mm:ss.
errc parse_duration_iso(std::string_view s, duration_acc& acc) {
    auto number = [&](std::size_t& i, std::uint64_t& n) -> errc {
        std::size_t start = i;
        while (i < s.size() && is_digit(s[i])) ++i;
        bool overflow = false;
        if (!parse_u64(s.substr(start, i - start), n, overflow)) return overflow ? errc::value_out_of_range : errc::bad_literal;
        return errc::ok;
    };
    if (s.size() == 19 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == 't') && s[13] == ':' && s[16] == ':') {
        std::uint64_t f[6];
        std::size_t pos[6] = {0, 5, 8, 11, 14, 17}, len[6] = {4, 2, 2, 2, 2, 2};
        for (int k = 0; k < 6; ++k) {
            std::size_t i = pos[k];
            if (!take_digits(s, i, len[k], len[k], f[k]) || i != pos[k] + len[k]) return errc::bad_literal;
        }
        acc.add(acc.months, f[0], 12);
        acc.add(acc.months, f[1], 1);
        acc.add(acc.days, f[2], 1);
        acc.add(acc.nanos, f[3], 3600 * ns_per_second);
        acc.add(acc.nanos, f[4], 60 * ns_per_second);
        acc.add(acc.nanos, f[5], ns_per_second);
        return errc::ok;
    }
    std::size_t i = 0;
    bool any = false, in_time = false;
    int order = 0;  // enforces Y M D T H M S order
    while (i < s.size()) {
        if (s[i] == 'T' || s[i] == 't') {
            if (in_time) return errc::bad_literal;
            in_time = true;
            order = 3;
            ++i;
            if (i == s.size()) return errc::bad_literal;
            continue;
        }
        std::uint64_t n = 0;
        if (auto e = number(i, n); e != errc::ok) return e;
        if (i == s.size()) return errc::bad_literal;
        char u = static_cast<char>(lower(s[i++]));
        int rank;
        if (!in_time && u == 'w' && order == 0) {
            acc.add(acc.days, n, 7);
            return i == s.size() ? errc::ok : errc::bad_literal;
        }
        if (!in_time) {
            if (u == 'y') rank = 1, acc.add(acc.months, n, 12);
            else if (u == 'm') rank = 2, acc.add(acc.months, n, 1);
            else if (u == 'd') rank = 3, acc.add(acc.days, n, 1);
            else return errc::bad_literal;
        } else {
            if (u == 'h') rank = 4, acc.add(acc.nanos, n, 3600 * ns_per_second);
            else if (u == 'm') rank = 5, acc.add(acc.nanos, n, 60 * ns_per_second);
            else if (u == 's') rank = 6, acc.add(acc.nanos, n, ns_per_second);
            else return errc::bad_literal;
        }
        if (rank <= order) return errc::bad_literal;  // out of order or repeated
        order = rank;
        any = true;
    }
    return any ? errc::ok : errc::bad_literal;
}

errc parse_duration(std::string_view s, cql_duration& out) {
    bool neg = false;
    if (!s.empty() && s[0] == '-') {
        neg = true;
        s.remove_prefix(1);
    }
    duration_acc acc;
    errc e = (!s.empty() && (s[0] == 'P' || s[0] == 'p')) ? parse_duration_iso(s.substr(1), acc)
                                                          : parse_duration_units(s, acc);
    if (e != errc::ok) return e;
    const std::uint64_t max32 = neg ? 0x80000000ull : 0x7FFFFFFFull;
    const std::uint64_t max64 = neg ? 0x8000000000000000ull : 0x7FFFFFFFFFFFFFFFull;
    if (acc.overflow || acc.months > max32 || acc.days > max32 || acc.nanos > max64) return errc::value_out_of_range;
    // Negate in unsigned arithmetic: the magnitude may be 2^31 / 2^63.
    auto apply32 = [neg](std::uint64_t m) { return static_cast<std::int32_t>(static_cast<std::uint32_t>(neg ? 0 - m : m)); };
    out.months = apply32(acc.months);
    out.days = apply32(acc.days);
    out.nanos = static_cast<std::int64_t>(neg ? 0 - acc.nanos : acc.nanos);
    return errc::ok;
}

// ---- The recursive-descent parser -------------------------------------------

class literal_parser {
public:
    explicit literal_parser(std::string_view s) noexcept : s_(s) {}

    errc parse(const cql_type& t, cql_value& out) {
        if (auto e = value(t, out, 0); e != errc::ok) return e;
        skip_ws();
        return pos_ == s_.size() ? errc::ok : errc::bad_literal;
    }

private:
    struct token {
        std::string text;
        bool quoted = false;
    };

    void skip_ws() noexcept {
        while (pos_ < s_.size() && is_space(s_[pos_])) ++pos_;
    }
    bool eat(char c) noexcept {
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    // A case-insensitive keyword not followed by an identifier character.
    bool eat_word(std::string_view w) noexcept {
        if (s_.size() - pos_ < w.size() || !iequals(s_.substr(pos_, w.size()), w)) return false;
        if (pos_ + w.size() < s_.size() && is_ident_char(s_[pos_ + w.size()])) return false;
        pos_ += w.size();
        return true;
    }
    static bool is_delimiter(char c) noexcept {
        return is_space(c) || c == ',' || c == ':' || c == '(' || c == ')' || c == '[' || c == ']' || c == '{' ||
               c == '}' || c == '\'' || c == '"';
    }

    // 'quoted' ('' escapes a quote), $$dollar$$, or a bare token up to a delimiter.
    // `iso_duration`: the alternative ISO form P0001-02-03T04:05:06 contains
    // ':', accepted inside a token that starts with P when a digit follows.
    errc read_token(token& t, bool iso_duration = false) {
        skip_ws();
        t.text.clear();
        t.quoted = false;
        if (pos_ >= s_.size()) return errc::bad_literal;
        if (s_[pos_] == '\'') {
            t.quoted = true;
            ++pos_;
            for (;;) {
                std::size_t q = s_.find('\'', pos_);
                if (q == std::string_view::npos) return errc::bad_literal;
                t.text.append(s_.substr(pos_, q - pos_));
                pos_ = q + 1;
                if (pos_ < s_.size() && s_[pos_] == '\'') {
                    t.text += '\'';
                    ++pos_;
                    continue;
                }
                return errc::ok;
            }
        }
        if (s_.substr(pos_).starts_with("$$")) {
            std::size_t end = s_.find("$$", pos_ + 2);
            if (end == std::string_view::npos) return errc::bad_literal;
            t.quoted = true;
            t.text.assign(s_.substr(pos_ + 2, end - pos_ - 2));
            pos_ = end + 2;
            return errc::ok;
        }
        std::size_t start = pos_;
        const bool iso = iso_duration && (s_.substr(pos_).starts_with("P") || s_.substr(pos_).starts_with("-P"));
        while (pos_ < s_.size() && (!is_delimiter(s_[pos_]) || (iso && s_[pos_] == ':' && pos_ + 1 < s_.size() &&
                                                                 is_digit(s_[pos_ + 1]))))
            ++pos_;
        if (pos_ == start) return errc::bad_literal;
        t.text.assign(s_.substr(start, pos_ - start));
        return errc::ok;
    }

    // A UDT field name: bare (case-folded) or "quoted" ("" escapes a quote).
    errc read_identifier(std::string& out) {
        skip_ws();
        out.clear();
        if (pos_ < s_.size() && s_[pos_] == '"') {
            ++pos_;
            for (;;) {
                std::size_t q = s_.find('"', pos_);
                if (q == std::string_view::npos) return errc::bad_literal;
                out.append(s_.substr(pos_, q - pos_));
                pos_ = q + 1;
                if (pos_ < s_.size() && s_[pos_] == '"') {
                    out += '"';
                    ++pos_;
                    continue;
                }
                return errc::ok;
            }
        }
        if (pos_ >= s_.size() || !is_ident_start(s_[pos_])) return errc::bad_literal;
        while (pos_ < s_.size() && is_ident_char(s_[pos_])) out += lower(s_[pos_++]);
        return errc::ok;
    }

    errc value(const cql_type& t, cql_value& out, int depth) {
        if (depth > max_type_depth) return errc::type_nesting_too_deep;
        skip_ws();
        if (pos_ >= s_.size()) return errc::bad_literal;
        if (eat_word("null")) {
            out = cql_value::null();
            return errc::ok;
        }
        // '' is the empty value of a non-string type.
        if (zero_length_is_empty(t) && s_.substr(pos_).starts_with("''") &&
            !(pos_ + 2 < s_.size() && s_[pos_ + 2] == '\'')) {
            pos_ += 2;
            out = cql_value::empty_value();
            return errc::ok;
        }
        switch (t.kind) {
            case type_kind::list: return sequence(t, '[', ']', out, depth);
            case type_kind::set: return sequence(t, '{', '}', out, depth);
            case type_kind::vector: return sequence(t, '[', ']', out, depth);
            case type_kind::map: return map(t, out, depth);
            case type_kind::tuple: return tuple(t, out, depth);
            case type_kind::udt: return udt(t, out, depth);
            default: return scalar(t, out);
        }
    }

    errc sequence(const cql_type& t, char open, char close, cql_value& out, int depth) {
        if (t.params.size() != 1) return errc::type_mismatch;
        if (!eat(open)) return errc::bad_literal;
        cql_value::element_list elems;
        if (!eat(close)) {
            do {
                elems.emplace_back();
                if (auto e = value(t.params[0], elems.back(), depth + 1); e != errc::ok) return e;
                if (elems.back().is_null()) return errc::null_not_allowed;
            } while (eat(','));
            if (!eat(close)) return errc::bad_literal;
        }
        if (t.kind == type_kind::vector && elems.size() != t.dimension) return errc::bad_literal;
        out = cql_value::list(std::move(elems));
        return errc::ok;
    }

    errc map(const cql_type& t, cql_value& out, int depth) {
        if (t.params.size() != 2) return errc::type_mismatch;
        if (!eat('{')) return errc::bad_literal;
        cql_value::entry_list entries;
        if (!eat('}')) {
            do {
                entries.emplace_back();
                auto& [k, v] = entries.back();
                if (auto e = value(t.params[0], k, depth + 1); e != errc::ok) return e;
                if (!eat(':')) return errc::bad_literal;
                if (auto e = value(t.params[1], v, depth + 1); e != errc::ok) return e;
                if (k.is_null() || v.is_null()) return errc::null_not_allowed;
            } while (eat(','));
            if (!eat('}')) return errc::bad_literal;
        }
        out = cql_value::map(std::move(entries));
        return errc::ok;
    }

    errc tuple(const cql_type& t, cql_value& out, int depth) {
        if (!eat('(')) return errc::bad_literal;
        cql_value::element_list elems;
        if (!eat(')')) {
            do {
                if (elems.size() >= t.params.size()) return errc::bad_literal;  // too many elements
                elems.emplace_back();
                if (auto e = value(t.params[elems.size() - 1], elems.back(), depth + 1); e != errc::ok) return e;
            } while (eat(','));
            if (!eat(')')) return errc::bad_literal;
        }
        out = cql_value::tuple(std::move(elems));
        return errc::ok;
    }

    errc udt(const cql_type& t, cql_value& out, int depth) {
        if (!eat('{')) return errc::bad_literal;
        cql_value::element_list fields(t.params.size());
        std::vector<bool> seen(t.params.size(), false);
        if (!eat('}')) {
            std::string name;
            do {
                if (auto e = read_identifier(name); e != errc::ok) return e;
                // The first unassigned field of that name: tolerates duplicate names
                // that a hostile [option] could declare.
                std::size_t idx = t.params.size();
                for (std::size_t i = 0; i < t.params.size() && i < t.field_names.size(); ++i) {
                    if (!seen[i] && t.field_names[i] == name) {
                        idx = i;
                        break;
                    }
                }
                if (idx == t.params.size()) return errc::bad_literal;  // unknown or repeated field
                if (!eat(':')) return errc::bad_literal;
                seen[idx] = true;
                if (auto e = value(t.params[idx], fields[idx], depth + 1); e != errc::ok) return e;
            } while (eat(','));
            if (!eat('}')) return errc::bad_literal;
        }
        out = cql_value::tuple(std::move(fields));
        return errc::ok;
    }

    errc scalar(const cql_type& t, cql_value& out) {
        token tok;
        if (auto e = read_token(tok, t.kind == type_kind::duration); e != errc::ok) return e;
        const std::string_view s = tok.text;
        switch (t.kind) {
            case type_kind::ascii:
                if (!tok.quoted) return errc::bad_literal;
                if (!detail::is_ascii(s)) return errc::value_out_of_range;
                out = cql_value::string(std::move(tok.text));
                return errc::ok;
            case type_kind::text:
                if (!tok.quoted) return errc::bad_literal;
                if (!detail::is_valid_utf8(s)) return errc::bad_literal;
                out = cql_value::string(std::move(tok.text));
                return errc::ok;
            case type_kind::blob:
            case type_kind::custom: {
                if (tok.quoted) return errc::bad_literal;
                byte_buffer b;
                if (auto e = parse_blob(s, b); e != errc::ok) return e;
                out = cql_value::blob(std::move(b));
                return errc::ok;
            }
            case type_kind::boolean:
                if (tok.quoted) return errc::bad_literal;
                if (iequals(s, "true")) out = cql_value::boolean(true);
                else if (iequals(s, "false")) out = cql_value::boolean(false);
                else return errc::bad_literal;
                return errc::ok;
            case type_kind::tinyint: return integer(tok, -128, 127, out);
            case type_kind::smallint: return integer(tok, -32768, 32767, out);
            case type_kind::int_:
                return integer(tok, std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max(), out);
            case type_kind::bigint:
            case type_kind::counter:
                return integer(tok, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(), out);
            case type_kind::timestamp: {
                std::int64_t ms = 0;
                if (auto e = parse_timestamp(s, tok.quoted, ms); e != errc::ok) return e;
                out = cql_value::integer(ms);
                return errc::ok;
            }
            case type_kind::time: {
                std::int64_t ns = 0;
                if (auto e = parse_time(s, tok.quoted, ns); e != errc::ok) return e;
                out = cql_value::integer(ns);
                return errc::ok;
            }
            case type_kind::date: {
                std::uint32_t d = 0;
                if (auto e = parse_date(s, tok.quoted, d); e != errc::ok) return e;
                out = cql_value::date(d);
                return errc::ok;
            }
            case type_kind::float_: {
                if (tok.quoted) return errc::bad_literal;
                float f = 0;
                if (auto e = parse_float(s, f); e != errc::ok) return e;
                out = cql_value::float32(f);
                return errc::ok;
            }
            case type_kind::double_: {
                if (tok.quoted) return errc::bad_literal;
                double d = 0;
                if (auto e = parse_float(s, d); e != errc::ok) return e;
                out = cql_value::float64(d);
                return errc::ok;
            }
            case type_kind::uuid:
            case type_kind::timeuuid: {
                uuid_bytes u{};
                if (auto e = parse_uuid(s, u); e != errc::ok) return e;
                if (t.kind == type_kind::timeuuid && (u[6] & 0xF0) != 0x10) return errc::value_out_of_range;
                out = cql_value::uuid(u);
                return errc::ok;
            }
            case type_kind::inet: {
                inet_address a;
                if (auto e = parse_inet(s, a); e != errc::ok) return e;
                out = cql_value::inet(a);
                return errc::ok;
            }
            case type_kind::duration: {
                cql_duration d;
                if (auto e = parse_duration(s, d); e != errc::ok) return e;
                out = cql_value::duration(d);
                return errc::ok;
            }
            case type_kind::varint: {
                if (tok.quoted) return errc::bad_literal;
                cql_varint v;
                if (auto e = cql_varint::from_string(s, v); e != errc::ok) return e;
                out = cql_value::varint(std::move(v));
                return errc::ok;
            }
            case type_kind::decimal: {
                if (tok.quoted) return errc::bad_literal;
                cql_decimal d;
                if (auto e = cql_decimal::from_string(s, d); e != errc::ok) return e;
                out = cql_value::decimal(std::move(d));
                return errc::ok;
            }
            default: return errc::type_mismatch;
        }
    }

    errc integer(const token& tok, std::int64_t lo, std::int64_t hi, cql_value& out) {
        if (tok.quoted) return errc::bad_literal;
        std::int64_t v = 0;
        if (auto e = parse_i64(tok.text, lo, hi, v); e != errc::ok) return e;
        out = cql_value::integer(v);
        return errc::ok;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

// ---- Printing ----------------------------------------------------------------

void append_quoted(std::string& out, std::string_view s) {
    out += '\'';
    for (char c : s) {
        if (c == '\'') out += '\'';
        out += c;
    }
    out += '\'';
}

void append_hex(std::string& out, bytes_view b) {
    static constexpr char digits[] = "0123456789abcdef";
    out += "0x";
    for (auto c : b) {
        out += digits[c >> 4];
        out += digits[c & 0xF];
    }
}

void append_padded(std::string& out, std::uint64_t v, int width) {
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    for (int n = static_cast<int>(p - buf); n < width; ++n) out += '0';
    out.append(buf, p);
}

template <class F>
void append_float(std::string& out, F v) {
    if (std::isnan(v)) {
        out += "NaN";
    } else if (std::isinf(v)) {
        out += v < 0 ? "-Infinity" : "Infinity";
    } else {
        char buf[64];
        auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
        (void)ec;
        out.append(buf, p);
    }
}

void append_uuid(std::string& out, const uuid_bytes& u) {
    static constexpr char digits[] = "0123456789abcdef";
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        out += digits[u[i] >> 4];
        out += digits[u[i] & 0xF];
    }
}

// Java LocalDate style: 4-digit years, '+' above 9999, '-' before year 0.
void append_civil(std::string& out, const civil_date& c) {
    if (c.year > 9999) out += '+';
    if (c.year < 0) out += '-';
    append_padded(out, static_cast<std::uint64_t>(c.year < 0 ? -c.year : c.year), 4);
    out += '-';
    append_padded(out, c.month, 2);
    out += '-';
    append_padded(out, c.day, 2);
}

void append_clock(std::string& out, std::uint64_t nanos_of_day, int frac_digits) {
    const std::uint64_t secs = nanos_of_day / 1'000'000'000u;
    append_padded(out, secs / 3600, 2);
    out += ':';
    append_padded(out, secs / 60 % 60, 2);
    out += ':';
    append_padded(out, secs % 60, 2);
    out += '.';
    std::uint64_t frac = nanos_of_day % 1'000'000'000u;
    for (int k = frac_digits; k < 9; ++k) frac /= 10;
    append_padded(out, frac, frac_digits);
}

void append_timestamp(std::string& out, std::int64_t ms) {
    // Floor division so times before 1970 land on the right day.
    std::int64_t days = ms / ms_per_day;
    std::int64_t rem = ms % ms_per_day;
    if (rem < 0) {
        rem += ms_per_day;
        --days;
    }
    const civil_date c = civil_from_days(days);
    if (c.year < 0 || c.year > 9999) {  // cqlsh prints such timestamps as raw milliseconds
        out += std::to_string(ms);
        return;
    }
    out += '\'';
    append_civil(out, c);
    out += ' ';
    append_clock(out, static_cast<std::uint64_t>(rem) * 1'000'000u, 6);
    out += "+0000'";
}

void append_ipv6(std::string& out, const std::uint8_t* a) {
    static constexpr char digits[] = "0123456789abcdef";
    std::uint16_t g[8];
    for (int k = 0; k < 8; ++k) g[k] = static_cast<std::uint16_t>((a[2 * k] << 8) | a[2 * k + 1]);
    // ::ffff:a.b.c.d for IPv4-mapped addresses (RFC 5952 §5).
    if (g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0 && g[5] == 0xFFFF) {
        out += "::ffff:";
        for (int k = 12; k < 16; ++k) {
            if (k > 12) out += '.';
            out += std::to_string(a[k]);
        }
        return;
    }
    // The longest run of two or more zero groups becomes "::" (first one on ties).
    int best = -1, best_len = 0;
    for (int k = 0; k < 8;) {
        if (g[k] != 0) {
            ++k;
            continue;
        }
        int j = k;
        while (j < 8 && g[j] == 0) ++j;
        if (j - k > best_len && j - k >= 2) {
            best = k;
            best_len = j - k;
        }
        k = j;
    }
    for (int k = 0; k < 8; ++k) {
        if (k == best) {
            out += "::";
            k += best_len - 1;
            continue;
        }
        if (k > 0 && k != best + best_len) out += ':';
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            unsigned nib = (g[k] >> shift) & 0xF;
            if (nib || started || shift == 0) {
                out += digits[nib];
                started = true;
            }
        }
    }
}

void append_inet(std::string& out, const inet_address& a) {
    out += '\'';
    if (a.size == 16) {
        append_ipv6(out, a.addr.data());
    } else {
        for (int k = 0; k < 4; ++k) {
            if (k) out += '.';
            out += std::to_string(a.addr[static_cast<std::size_t>(k)]);
        }
    }
    out += '\'';
}

// Java Duration.toString: sign, then y mo d, then h m s ms us ns of the nanos.
void append_duration(std::string& out, const cql_duration& d) {
    if (d.months < 0 || d.days < 0 || d.nanos < 0) out += '-';
    auto mag32 = [](std::int32_t v) { return v < 0 ? 0 - static_cast<std::uint64_t>(static_cast<std::int64_t>(v)) : static_cast<std::uint64_t>(v); };
    const std::uint64_t months = mag32(d.months), days = mag32(d.days);
    std::uint64_t nanos = d.nanos < 0 ? 0 - static_cast<std::uint64_t>(d.nanos) : static_cast<std::uint64_t>(d.nanos);
    const std::size_t start = out.size();
    auto part = [&](std::uint64_t v, std::string_view unit) {
        if (v == 0) return;
        out += std::to_string(v);
        out += unit;
    };
    part(months / 12, "y");
    part(months % 12, "mo");
    part(days, "d");
    constexpr std::uint64_t units[] = {3600'000'000'000ull, 60'000'000'000ull, 1'000'000'000ull, 1'000'000ull, 1'000ull, 1ull};
    constexpr std::string_view names[] = {"h", "m", "s", "ms", "us", "ns"};
    for (int k = 0; k < 6; ++k) {
        part(nanos / units[k], names[k]);
        nanos %= units[k];
    }
    if (out.size() == start) out += "0s";
}

bool is_bare_identifier(std::string_view s) noexcept {
    if (s.empty() || !is_ident_start(s[0])) return false;
    for (char c : s)
        if (!is_ident_char(c) || (c >= 'A' && c <= 'Z')) return false;
    return true;
}

void append_identifier(std::string& out, std::string_view s) {
    if (is_bare_identifier(s)) {
        out += s;
        return;
    }
    out += '"';
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

// Prints a value by its own kind, for values that do not match their type.
void append_generic(std::string& out, const cql_value& v);

void append_value(std::string& out, const cql_type& t, const cql_value& v) {
    if (v.is_null()) {
        out += "null";
        return;
    }
    if (v.is_empty()) {
        out += "''";
        return;
    }
    auto is = [&](value_kind k) { return v.kind() == k; };
    switch (t.kind) {
        case type_kind::ascii:
        case type_kind::text:
            if (!is(value_kind::string)) break;
            append_quoted(out, v.as_string());
            return;
        case type_kind::blob:
        case type_kind::custom:
            if (!is(value_kind::blob)) break;
            append_hex(out, v.as_blob());
            return;
        case type_kind::timestamp:
            if (!is(value_kind::integer)) break;
            append_timestamp(out, v.as_int());
            return;
        case type_kind::time:
            if (!is(value_kind::integer) || v.as_int() < 0 || v.as_int() > max_time_nanos) break;
            out += '\'';
            append_clock(out, static_cast<std::uint64_t>(v.as_int()), 9);
            out += '\'';
            return;
        case type_kind::date:
            if (!is(value_kind::date)) break;
            out += '\'';
            append_civil(out, civil_from_days(date_to_epoch_days(v.as_date())));
            out += '\'';
            return;
        case type_kind::list:
        case type_kind::set:
        case type_kind::vector: {
            if (!is(value_kind::list) || t.params.size() != 1) break;
            const bool set = t.kind == type_kind::set;
            out += set ? '{' : '[';
            bool first = true;
            for (const auto& e : v.elements()) {
                if (!first) out += ", ";
                first = false;
                append_value(out, t.params[0], e);
            }
            out += set ? '}' : ']';
            return;
        }
        case type_kind::map: {
            if (!is(value_kind::map) || t.params.size() != 2) break;
            out += '{';
            bool first = true;
            for (const auto& [k, val] : v.entries()) {
                if (!first) out += ", ";
                first = false;
                append_value(out, t.params[0], k);
                out += ": ";
                append_value(out, t.params[1], val);
            }
            out += '}';
            return;
        }
        case type_kind::tuple: {
            if (!is(value_kind::tuple) || v.elements().size() > t.params.size()) break;
            out += '(';
            for (std::size_t i = 0; i < v.elements().size(); ++i) {
                if (i) out += ", ";
                append_value(out, t.params[i], v.elements()[i]);
            }
            out += ')';
            return;
        }
        case type_kind::udt: {
            if (!is(value_kind::tuple) || v.elements().size() > t.params.size() ||
                t.field_names.size() < v.elements().size())
                break;
            out += '{';
            for (std::size_t i = 0; i < v.elements().size(); ++i) {
                if (i) out += ", ";
                append_identifier(out, t.field_names[i]);
                out += ": ";
                append_value(out, t.params[i], v.elements()[i]);
            }
            out += '}';
            return;
        }
        default: break;  // scalars whose printing does not depend on the type
    }
    append_generic(out, v);
}

void append_generic(std::string& out, const cql_value& v) {
    switch (v.kind()) {
        case value_kind::null: out += "null"; return;
        case value_kind::empty: out += "''"; return;
        case value_kind::boolean: out += v.as_bool() ? "true" : "false"; return;
        case value_kind::integer: out += std::to_string(v.as_int()); return;
        case value_kind::date: out += std::to_string(v.as_date()); return;
        case value_kind::float32: append_float(out, v.as_float()); return;
        case value_kind::float64: append_float(out, v.as_double()); return;
        case value_kind::string: append_quoted(out, v.as_string()); return;
        case value_kind::blob: append_hex(out, v.as_blob()); return;
        case value_kind::uuid: append_uuid(out, v.as_uuid()); return;
        case value_kind::inet: append_inet(out, v.as_inet()); return;
        case value_kind::duration: append_duration(out, v.as_duration()); return;
        case value_kind::varint: out += v.as_varint().to_string(); return;
        case value_kind::decimal: out += v.as_decimal().to_string(); return;
        case value_kind::list:
        case value_kind::tuple: {
            const bool tuple = v.kind() == value_kind::tuple;
            out += tuple ? '(' : '[';
            for (std::size_t i = 0; i < v.elements().size(); ++i) {
                if (i) out += ", ";
                append_generic(out, v.elements()[i]);
            }
            out += tuple ? ')' : ']';
            return;
        }
        case value_kind::map: {
            out += '{';
            bool first = true;
            for (const auto& [k, val] : v.entries()) {
                if (!first) out += ", ";
                first = false;
                append_generic(out, k);
                out += ": ";
                append_generic(out, val);
            }
            out += '}';
            return;
        }
    }
}

}  // namespace

errc parse_literal(const cql_type& type, std::string_view text, cql_value& out) {
    return literal_parser(text).parse(type, out);
}

bool is_quoted_literal(type_kind k) noexcept {
    switch (k) {
        case type_kind::ascii:
        case type_kind::text:
        case type_kind::timestamp:
        case type_kind::date:
        case type_kind::time:
        case type_kind::inet: return true;
        default: return false;
    }
}

void append_literal(std::string& out, const cql_type& type, const cql_value& value) { append_value(out, type, value); }

std::string format_literal(const cql_type& type, const cql_value& value) {
    std::string out;
    append_value(out, type, value);
    return out;
}

}  // namespace cqlpp::protocol
