// Error codes of the transport layer ("cqlpp.transport" category).
//
// A request fails with one of these, or with a protocol::server_errc when the
// server answered ERROR (the decoded error_response then comes with it).
#pragma once

#include <string_view>
#include <system_error>

namespace cqlpp::transport {

enum class errc : int {
    ok = 0,
    connection_closed,    // the connection is closed or died while the request was pending
    timeout,              // the per-request deadline passed (its stream id stays orphaned)
    cancelled,            // the awaiting operation was cancelled
    connect_timeout,      // TCP connect + TLS + CQL handshake took too long
    connect_failed,       // resolve/connect refused or unreachable
    protocol_error,       // the peer broke the protocol (unknown stream id, bad opcode, ...)
    framing_error,        // corrupt segment / envelope (bad CRC, bad length, bad compression)
    bad_response,         // a response body could not be decoded
    too_many_orphans,     // too many timed-out/cancelled requests never answered: connection replaced
    heartbeat_timeout,    // no answer to a heartbeat OPTIONS within its timeout
    handshake_failed,     // the server refused STARTUP or answered something unexpected
    auth_failed,          // bad credentials, or authentication required but none configured
    unsupported_version,  // the server does not speak the requested protocol version
    tls_error,            // TLS handshake or certificate verification failed
    no_connection,        // the pool has no usable connection to the host
};

const std::error_category& transport_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), transport_category()}; }

std::string_view to_string(errc e) noexcept;

}  // namespace cqlpp::transport

template <>
struct std::is_error_code_enum<cqlpp::transport::errc> : std::true_type {};
