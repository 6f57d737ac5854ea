// The ERROR response (spec v5 §8, v4 §9): <code><message> then fields that
// depend on the code. Owned data: it is meant to outlive the body (it ends up
// in diagnostics and exceptions).
#pragma once

#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/common.hpp"
#include "cqlpp/protocol/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

namespace cqlpp::protocol {

// Error codes sent by the server. The enum may hold values not listed here
// (a newer server); those decode with their message and raw extra bytes.
enum class server_errc : std::int32_t {
    server_error = 0x0000,
    protocol_error = 0x000A,
    auth_error = 0x0100,
    unavailable = 0x1000,
    overloaded = 0x1001,
    is_bootstrapping = 0x1002,
    truncate_error = 0x1003,
    write_timeout = 0x1100,
    read_timeout = 0x1200,
    read_failure = 0x1300,
    function_failure = 0x1400,
    write_failure = 0x1500,
    cdc_write_failure = 0x1600,  // v5
    cas_write_unknown = 0x1700,  // v5
    syntax_error = 0x2000,
    unauthorized = 0x2100,
    invalid = 0x2200,
    config_error = 0x2300,
    already_exists = 0x2400,
    unprepared = 0x2500,
};

// Every code above, in spec order (for tests and tools).
inline constexpr server_errc all_server_errcs[] = {
    server_errc::server_error,     server_errc::protocol_error, server_errc::auth_error,
    server_errc::unavailable,      server_errc::overloaded,     server_errc::is_bootstrapping,
    server_errc::truncate_error,   server_errc::write_timeout,  server_errc::read_timeout,
    server_errc::read_failure,     server_errc::function_failure, server_errc::write_failure,
    server_errc::cdc_write_failure, server_errc::cas_write_unknown, server_errc::syntax_error,
    server_errc::unauthorized,     server_errc::invalid,        server_errc::config_error,
    server_errc::already_exists,   server_errc::unprepared,
};

bool is_known_server_errc(std::int32_t code) noexcept;
std::string_view to_string(server_errc e) noexcept;  // "WRITE_TIMEOUT"; "UNKNOWN" for others

// std::error_code integration ("cqlpp.server" category). The error_code's
// value is the wire code with server_code_bit set: SERVER_ERROR's wire code is
// 0, and an error_code of value 0 means success, so the raw code would turn a
// refused request into an acknowledged one. Compare with `ec == server_errc::x`
// and read the code back with server_errc_of(), never with ec.value().
inline constexpr int server_code_bit = 0x40000000;
const std::error_category& server_category() noexcept;
inline std::error_code make_error_code(server_errc e) noexcept {
    return {static_cast<int>(e) | server_code_bit, server_category()};
}
// The server code an error_code of the "cqlpp.server" category carries.
inline std::optional<server_errc> server_errc_of(const std::error_code& ec) noexcept {
    if (ec.category() != server_category()) return std::nullopt;
    return static_cast<server_errc>(ec.value() & ~server_code_bit);
}

// ---- per-code fields ---------------------------------------------------------

struct unavailable_info {  // 0x1000
    consistency cl = consistency::one;
    std::int32_t required = 0;
    std::int32_t alive = 0;
    bool operator==(const unavailable_info&) const = default;
};

struct write_timeout_info {  // 0x1100
    consistency cl = consistency::one;
    std::int32_t received = 0;
    std::int32_t block_for = 0;
    std::string write_type;  // "SIMPLE", "BATCH", "CAS", ...
    // v5 only, present on the wire iff write_type == "CAS". Encoding a CAS
    // timeout for v5 writes value_or(0).
    std::optional<std::uint16_t> contentions;
    bool operator==(const write_timeout_info&) const = default;
};

struct read_timeout_info {  // 0x1200
    consistency cl = consistency::one;
    std::int32_t received = 0;
    std::int32_t block_for = 0;
    bool data_present = false;
    bool operator==(const read_timeout_info&) const = default;
};

// One <reasonmap> entry (v5): replica address and its failure code.
struct failure_reason {
    inet_address endpoint;  // [inetaddr]: no port
    std::uint16_t code = 0;
    bool operator==(const failure_reason&) const = default;
};

// v4 carries <numfailures>, v5 a <reasonmap>. Decoding v5 sets num_failures
// to the map size; encoding v4 writes reasons.size() when reasons is
// non-empty, else num_failures; encoding v5 writes reasons.
struct read_failure_info {  // 0x1300
    consistency cl = consistency::one;
    std::int32_t received = 0;
    std::int32_t block_for = 0;
    std::int32_t num_failures = 0;
    std::vector<failure_reason> reasons;
    bool data_present = false;
    bool operator==(const read_failure_info&) const = default;
};

struct write_failure_info {  // 0x1500
    consistency cl = consistency::one;
    std::int32_t received = 0;
    std::int32_t block_for = 0;
    std::int32_t num_failures = 0;
    std::vector<failure_reason> reasons;
    std::string write_type;
    bool operator==(const write_failure_info&) const = default;
};

struct function_failure_info {  // 0x1400
    std::string keyspace;
    std::string function;
    std::vector<std::string> arg_types;
    bool operator==(const function_failure_info&) const = default;
};

struct already_exists_info {  // 0x2400
    std::string keyspace;
    std::string table;  // empty when a keyspace already exists
    bool operator==(const already_exists_info&) const = default;
};

struct unprepared_info {  // 0x2500
    byte_buffer id;
    bool operator==(const unprepared_info&) const = default;
};

struct cas_write_unknown_info {  // 0x1700
    consistency cl = consistency::one;
    std::int32_t received = 0;
    std::int32_t block_for = 0;
    bool operator==(const cas_write_unknown_info&) const = default;
};

using error_details = std::variant<std::monostate, unavailable_info, write_timeout_info, read_timeout_info,
                                   read_failure_info, write_failure_info, function_failure_info, already_exists_info,
                                   unprepared_info, cas_write_unknown_info>;

// ---- ERROR (0x00) ------------------------------------------------------------

struct error_response {
    server_errc code = server_errc::server_error;
    std::string message;
    // The alternative matching `code` (monostate for codes with no fields).
    // Encoding a code that has fields with the wrong alternative writes
    // default-valued fields, so the body is still well formed.
    error_details details;
    // Unknown codes only: whatever follows the message, kept verbatim.
    byte_buffer unknown_extra;

    void encode(byte_writer& w, protocol_version v) const;
    // Wrong fields for a known code fail with the reader's error (truncated,
    // bad_consistency, ...) or trailing_bytes.
    static errc decode(bytes_view body, protocol_version v, error_response& out);
    bool operator==(const error_response&) const = default;

    // Convenience constructors for the server side.
    static error_response make(server_errc c, std::string msg, error_details d = {}) {
        return {c, std::move(msg), std::move(d), {}};
    }
};

}  // namespace cqlpp::protocol

template <>
struct std::is_error_code_enum<cqlpp::protocol::server_errc> : std::true_type {};
