// Response message bodies (spec §4.2) other than ERROR (error_response.hpp)
// and RESULT (result.hpp): READY, AUTHENTICATE, SUPPORTED, EVENT,
// AUTH_CHALLENGE, AUTH_SUCCESS. All own their data.
#pragma once

#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/common.hpp"
#include "cqlpp/protocol/error.hpp"
#include "cqlpp/protocol/error_response.hpp"
#include "cqlpp/protocol/requests.hpp"  // event_type
#include "cqlpp/protocol/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace cqlpp::protocol {

// ---- READY (0x02): empty body ------------------------------------------------

struct ready_response {
    void encode(byte_writer&, protocol_version) const noexcept {}
    static errc decode(bytes_view body, protocol_version v, ready_response& out);
    bool operator==(const ready_response&) const = default;
};

// ---- AUTHENTICATE (0x03) -----------------------------------------------------

struct authenticate_response {
    std::string authenticator;  // IAuthenticator class name

    void encode(byte_writer& w, protocol_version v) const;
    static errc decode(bytes_view body, protocol_version v, authenticate_response& out);
    bool operator==(const authenticate_response&) const = default;
};

// ---- SUPPORTED (0x06) --------------------------------------------------------

struct supported_response {
    // [string multimap], in wire order.
    std::vector<std::pair<std::string, std::vector<std::string>>> options;

    // Values of `key` (e.g. "COMPRESSION", "PROTOCOL_VERSIONS"), or nullptr.
    const std::vector<std::string>* find(std::string_view key) const noexcept;
    void encode(byte_writer& w, protocol_version v) const;
    static errc decode(bytes_view body, protocol_version v, supported_response& out);
    bool operator==(const supported_response&) const = default;
};

// ---- EVENT (0x0C) ------------------------------------------------------------

// MOVED_NODE is not in the v4/v5 spec text but Cassandra still defines it.
enum class topology_change_type : std::uint8_t { new_node, removed_node, moved_node };
enum class status_change_type : std::uint8_t { up, down };
std::string_view to_string(topology_change_type t) noexcept;  // "NEW_NODE"
std::string_view to_string(status_change_type t) noexcept;    // "UP"

struct topology_change_event {
    topology_change_type change = topology_change_type::new_node;
    inet_endpoint node;
    bool operator==(const topology_change_event&) const = default;
};

struct status_change_event {
    status_change_type change = status_change_type::up;
    inet_endpoint node;
    bool operator==(const status_change_event&) const = default;
};

struct event_response {
    std::variant<topology_change_event, status_change_event, schema_change> value;

    event_type type() const noexcept;
    void encode(byte_writer& w, protocol_version v) const;
    // Unknown event types or change names fail with errc::bad_event.
    static errc decode(bytes_view body, protocol_version v, event_response& out);
    bool operator==(const event_response&) const = default;
};

// ---- AUTH_CHALLENGE (0x0E), AUTH_SUCCESS (0x10) ------------------------------

struct auth_challenge_response {
    std::optional<byte_buffer> token;  // [bytes]; nullopt = null

    void encode(byte_writer& w, protocol_version v) const;
    static errc decode(bytes_view body, protocol_version v, auth_challenge_response& out);
    bool operator==(const auth_challenge_response&) const = default;
};

struct auth_success_response {
    std::optional<byte_buffer> token;  // [bytes]; may be null

    void encode(byte_writer& w, protocol_version v) const;
    static errc decode(bytes_view body, protocol_version v, auth_success_response& out);
    bool operator==(const auth_success_response&) const = default;
};

}  // namespace cqlpp::protocol
