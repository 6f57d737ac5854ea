// Errors of the driver layer ("cqlpp.driver" category) and the diagnostics
// object a failed request carries.
//
// A request's error_code is one of:
//   * protocol::server_errc  the server answered ERROR (diagnostics::server_error has its fields);
//   * driver::errc           below (no host, deadline, bad binding, closed session, throttled, ...);
//   * transport::errc        a connection-level failure that no retry could hide;
//   * conversion_errc        a bind value that does not fit its marker.
#pragma once

#include "cqlpp/protocol/error_response.hpp"

#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace cqlpp::driver {

enum class errc {
    ok = 0,
    no_host_available = 1,  // the plan was empty, or every host in it failed
    request_timeout,        // the request's deadline passed (all attempts included)
    session_closed,         // the session is closed or closing
    no_contact_point,       // connect: no contact point could be reached
    bad_contact_point,      // connect: a contact point is not "host[:port]"
    bind_count_mismatch,    // wrong number of values for the statement's markers
    no_such_marker,         // bind by a name the prepared statement does not have
    bind_type_mismatch,     // the value's C++ type cannot bind to the marker's CQL type
    needs_protocol_v5,      // keyspace / now_in_seconds on a v4 connection
    unexpected_response,    // the server answered with the wrong kind of message
    metadata_error,         // system tables could not be read or parsed
    paging_state_mismatch,  // a paging state used with another statement
    request_throttled,      // session_config::throttle: the queue of waiting requests was full
    unknown_execution_profile,  // the statement names a profile session_config does not define
};

const std::error_category& driver_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), driver_category()}; }

// Portable questions about any error a request can end with, whichever layer
// produced it (driver::errc, transport::errc, protocol::server_errc, asio):
//   if (r.error() == cqlpp::driver::condition::timeout) ...
enum class condition {
    timeout = 1,      // a deadline passed: driver request_timeout, transport timeout, READ/WRITE_TIMEOUT, asio timed_out
    cancelled,        // the caller (or close()) cancelled it
    unavailable,      // not enough replicas alive (UNAVAILABLE), or no host could take it
    overloaded,       // OVERLOADED, IS_BOOTSTRAPPING, too many orphaned ids, the client's throttle queue full
    unprepared,       // UNPREPARED
    invalid_query,    // SYNTAX_ERROR, INVALID, ALREADY_EXISTS, CONFIG_ERROR, bad bindings, unknown profile
    authentication,   // AUTH_ERROR, UNAUTHORIZED, failed credentials
    connection_lost,  // the connection closed, failed or could not be opened
    server_failure,   // SERVER_ERROR, READ/WRITE/FUNCTION/CDC failures, TRUNCATE_ERROR, CAS_WRITE_UNKNOWN
    protocol,         // a peer that broke the protocol or sent what could not be decoded
};
const std::error_category& condition_category() noexcept;
inline std::error_condition make_error_condition(condition c) noexcept {
    return {static_cast<int>(c), condition_category()};
}

// Whether trying again (here or elsewhere) may succeed: timeouts, unavailable,
// overloaded, lost connections, unprepared. Says nothing of idempotence: a
// write that timed out may have been applied.
bool is_retryable(const std::error_code& ec) noexcept;
// Whether no retry can help: bad queries, authentication, a closed session,
// protocol violations.
bool is_fatal(const std::error_code& ec) noexcept;

// What went wrong, for humans and for code that needs the server's fields.
// Filled only on failure, so the success path allocates nothing for it.
struct diagnostics {
    // One line: "WRITE_TIMEOUT from 127.0.0.2:9042: Operation timed out - received only 1 responses."
    std::string message;
    // The last ERROR the server sent (code, message and per-code fields).
    std::optional<protocol::error_response> server_error;
    // Every attempt's host and error, in order (retries and speculative executions).
    struct attempt {
        std::string host;
        std::error_code ec;
        std::string detail;
    };
    std::vector<attempt> attempts;

    void clear() {
        message.clear();
        server_error.reset();
        attempts.clear();
    }
};

// Thrown only by the explicitly throwing accessors (result::value_or_throw and the like).
class request_error : public std::system_error {
public:
    request_error(std::error_code ec, diagnostics diag)
        : std::system_error(ec, diag.message), diag_(std::move(diag)) {}
    const diagnostics& diag() const noexcept { return diag_; }

private:
    diagnostics diag_;
};

}  // namespace cqlpp::driver

template <>
struct std::is_error_code_enum<cqlpp::driver::errc> : std::true_type {};
template <>
struct std::is_error_condition_enum<cqlpp::driver::condition> : std::true_type {};
