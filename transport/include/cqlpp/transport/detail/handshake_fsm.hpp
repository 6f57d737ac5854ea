// The connection handshake as a state machine with no socket (G3):
//
//   OPTIONS -> SUPPORTED -> STARTUP -> READY
//                                   -> AUTHENTICATE -> AUTH_RESPONSE -> AUTH_SUCCESS
//                                                                    -> AUTH_CHALLENGE -> AUTH_RESPONSE ...
//
// The caller feeds every envelope it reads and performs the returned action:
// write bytes (already framed as needed), read the next envelope, done or
// failed. v5 switches to segment framing after the server's reply to STARTUP
// (READY or AUTHENTICATE), so AUTH_* messages travel in segments; the caller
// re-reads read_framing() after each step and applies it to its frame reader.
#pragma once

#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/envelope.hpp"
#include "cqlpp/protocol/error_response.hpp"
#include "cqlpp/protocol/segment.hpp"
#include "cqlpp/transport/config.hpp"

#include <optional>
#include <string>
#include <system_error>

namespace cqlpp::transport::detail {

struct handshake_params {
    protocol::protocol_version version = protocol::protocol_version::v5;
    bool lz4 = false;
    std::optional<credentials> auth;
    std::string cql_version = "3.0.0";
    std::string driver_name = "cqlpp";
    std::string driver_version = "0.1.0";
};

class handshake_fsm {
public:
    enum class action_kind { write, read, done, failed };
    struct action {
        action_kind kind = action_kind::read;
        protocol::bytes_view bytes{};  // write: valid until the next call
    };

    explicit handshake_fsm(handshake_params p);

    action start();  // OPTIONS
    action on_envelope(const protocol::envelope_view& env);
    // Framing of incoming bytes from now on (nullopt: plain envelopes).
    std::optional<protocol::segment_format> read_framing() const noexcept { return framing_; }

    protocol::protocol_version version() const noexcept { return params_.version; }
    bool compression() const noexcept { return use_lz4_; }
    // On failure: why, and the server's ERROR when there was one.
    std::error_code error() const noexcept { return error_; }
    const std::optional<protocol::error_response>& server_error() const noexcept { return server_error_; }
    const std::string& authenticator() const noexcept { return authenticator_; }

private:
    enum class state { start, wait_supported, wait_startup_reply, wait_auth_reply, done, failed };
    action fail(std::error_code ec);
    action write_message(protocol::opcode op, bool framed, const auto& write_body);
    action send_auth_response();

    handshake_params params_;
    state state_ = state::start;
    bool use_lz4_ = false;
    int auth_rounds_ = 0;
    std::optional<protocol::segment_format> framing_;
    std::error_code error_;
    std::optional<protocol::error_response> server_error_;
    std::string authenticator_;
    protocol::byte_buffer out_;
    protocol::byte_buffer envelope_;
};

// Is this ERROR the server refusing our protocol version (so retry lower)?
bool is_unsupported_version_error(const protocol::error_response& e) noexcept;

}  // namespace cqlpp::transport::detail
