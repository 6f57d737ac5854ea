// C++ value types for CQL types that have no natural standard counterpart.
//
// CQL type      C++ type (reading and binding; see value_codec.hpp for the full table)
//   uuid, timeuuid  driver::uuid
//   inet            driver::inet            (v4 or v6, to_string/from_string)
//   date            driver::date            (days since 1970-01-01) or std::chrono::sys_days
//   time            driver::time            = std::chrono::nanoseconds since midnight
//   timestamp       driver::timestamp       = sys_time<milliseconds>
//   duration        driver::duration        {months, days, nanos}
//   varint          driver::varint          (two's complement bytes, to_string/from_int64)
//   decimal         driver::decimal         {unscaled varint, scale}
//   blob            driver::blob (owning) / driver::blob_view (borrows the response)
//   text, ascii     std::string / std::string_view (borrows the response)
//
// duration, varint and decimal are the protocol layer's own owning types, so
// values move between the generic codec (protocol::cql_value) and the driver
// without conversion.
#pragma once

#include "cqlpp/protocol/value.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cqlpp::driver {

using blob = std::vector<std::byte>;
using blob_view = std::span<const std::byte>;

using time = std::chrono::nanoseconds;                                  // CQL time: 0 .. 23:59:59.999999999
using timestamp = std::chrono::sys_time<std::chrono::milliseconds>;    // CQL timestamp: ms since the epoch, UTC
using duration = protocol::cql_duration;
using varint = protocol::cql_varint;
using decimal = protocol::cql_decimal;

struct uuid {
    std::array<std::uint8_t, 16> bytes{};

    // 1 for a timeuuid, 4 for a random uuid (the high nibble of byte 6).
    int version() const noexcept { return bytes[6] >> 4; }
    // 8-4-4-4-12 lower-case hex.
    std::string to_string() const;
    // Accepts upper or lower case, with or without dashes in the usual places.
    static std::optional<uuid> from_string(std::string_view s);

    friend auto operator<=>(const uuid&, const uuid&) = default;
};

struct inet {
    std::array<std::uint8_t, 16> bytes{};  // address in network order; only the first size() bytes count
    std::uint8_t length = 4;               // 4 (IPv4) or 16 (IPv6)

    static inet v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept {
        inet r;
        r.bytes = {a, b, c, d};
        return r;
    }
    static inet v6(const std::array<std::uint8_t, 16>& a) noexcept {
        inet r;
        r.bytes = a;
        r.length = 16;
        return r;
    }
    bool is_v4() const noexcept { return length == 4; }
    std::span<const std::uint8_t> address() const noexcept { return {bytes.data(), length}; }
    // "10.0.0.1", "::1", "2001:db8::ff00:42:8329" (RFC 5952).
    std::string to_string() const;
    static std::optional<inet> from_string(std::string_view s);

    friend bool operator==(const inet& a, const inet& b) noexcept {
        return a.length == b.length && std::equal(a.bytes.begin(), a.bytes.begin() + a.length, b.bytes.begin());
    }
};

// CQL date: a signed day count from 1970-01-01 (the wire stores it offset by 2^31,
// so every int32 day count is a valid date).
struct date {
    std::int32_t days = 0;

    constexpr date() noexcept = default;
    constexpr explicit date(std::int32_t days_since_epoch) noexcept : days(days_since_epoch) {}
    // Precondition: d fits in int32 days (the value codec checks when binding sys_days directly).
    constexpr explicit date(std::chrono::sys_days d) noexcept
        : days(static_cast<std::int32_t>(d.time_since_epoch().count())) {}
    constexpr std::chrono::sys_days to_sys_days() const noexcept { return std::chrono::sys_days(std::chrono::days(days)); }

    friend constexpr auto operator<=>(const date&, const date&) = default;
};

inline blob_view as_blob_view(std::span<const std::uint8_t> b) noexcept {
    return {reinterpret_cast<const std::byte*>(b.data()), b.size()};
}

}  // namespace cqlpp::driver
