#include "cqlpp/transport/detail/handshake_fsm.hpp"

#include "cqlpp/protocol/messages.hpp"
#include "cqlpp/transport/error.hpp"

#include <algorithm>
#include <cctype>

namespace cqlpp::transport::detail {

namespace proto = cqlpp::protocol;

namespace {
bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}
}  // namespace

bool is_unsupported_version_error(const proto::error_response& e) noexcept {
    // Cassandra: "Invalid or unsupported protocol version (5); supported versions are (...)".
    return e.code == proto::server_errc::protocol_error &&
           (e.message.find("Invalid or unsupported protocol version") != std::string::npos ||
            e.message.find("Beta version of the protocol used") != std::string::npos);
}

handshake_fsm::handshake_fsm(handshake_params p) : params_(std::move(p)) {}

handshake_fsm::action handshake_fsm::fail(std::error_code ec) {
    state_ = state::failed;
    error_ = ec;
    return {action_kind::failed, {}};
}

handshake_fsm::action handshake_fsm::write_message(proto::opcode op, bool framed, const auto& write_body) {
    proto::envelope_header h;
    h.version = params_.version;
    h.stream = 0;
    h.op = op;
    envelope_.clear();
    proto::encode_envelope(envelope_, h, write_body);
    if (!framed) return {action_kind::write, envelope_};
    out_.clear();
    proto::segment_encoder enc(*framing_);
    enc.add_envelope(envelope_, out_);
    enc.flush(out_);
    return {action_kind::write, out_};
}

handshake_fsm::action handshake_fsm::start() {
    state_ = state::wait_supported;
    return write_message(proto::opcode::options, false, [](proto::byte_writer&) {});
}

handshake_fsm::action handshake_fsm::send_auth_response() {
    if (++auth_rounds_ > 4) return fail(errc::auth_failed);
    // SASL PLAIN: authzid (empty) NUL user NUL password.
    std::string token;
    token.reserve(params_.auth->username.size() + params_.auth->password.size() + 2);
    token.push_back('\0');
    token += params_.auth->username;
    token.push_back('\0');
    token += params_.auth->password;
    state_ = state::wait_auth_reply;
    return write_message(proto::opcode::auth_response, framing_.has_value(), [&](proto::byte_writer& w) {
        proto::auth_response_request{proto::as_bytes(token)}.encode(w, params_.version);
    });
}

handshake_fsm::action handshake_fsm::on_envelope(const proto::envelope_view& env) {
    if (state_ == state::done || state_ == state::failed || state_ == state::start) return fail(errc::handshake_failed);
    if (!env.header.response) return fail(errc::protocol_error);

    proto::bytes_view body = env.body;
    proto::byte_buffer decompressed;
    if ((env.header.flags & proto::envelope_flags::compression) && env.header.version == proto::protocol_version::v4) {
        if (proto::lz4_decompress_body(body, decompressed) != proto::errc::ok) return fail(errc::framing_error);
        body = decompressed;
    }
    proto::body_prefix prefix;
    proto::bytes_view message;
    if (proto::split_body(env.header, body, prefix, message) != proto::errc::ok) return fail(errc::bad_response);
    proto::response r;
    // An ERROR refusing our version may come in the server's own version.
    if (proto::decode_response(env.header.op, message, env.header.version, r) != proto::errc::ok)
        return fail(errc::bad_response);

    if (auto* e = std::get_if<proto::error_response>(&r)) {
        server_error_ = *e;
        if (state_ == state::wait_supported && params_.version == proto::protocol_version::v5 &&
            is_unsupported_version_error(*e))
            return fail(errc::unsupported_version);
        if (e->code == proto::server_errc::auth_error) return fail(errc::auth_failed);
        return fail(errc::handshake_failed);
    }
    if (env.header.version != params_.version) return fail(errc::protocol_error);

    switch (state_) {
        case state::wait_supported: {
            auto* s = std::get_if<proto::supported_response>(&r);
            if (!s) return fail(errc::handshake_failed);
            use_lz4_ = false;
            if (params_.lz4) {
                if (auto* comp = s->find("COMPRESSION"))
                    use_lz4_ = std::any_of(comp->begin(), comp->end(), [](const std::string& c) { return iequals(c, "lz4"); });
            }
            state_ = state::wait_startup_reply;
            proto::string_pair opts[4] = {{proto::startup_keys::cql_version, params_.cql_version},
                                          {proto::startup_keys::driver_name, params_.driver_name},
                                          {proto::startup_keys::driver_version, params_.driver_version},
                                          {proto::startup_keys::compression, "lz4"}};
            return write_message(proto::opcode::startup, false, [&](proto::byte_writer& w) {
                proto::startup_request st;
                st.options = std::span<const proto::string_pair>(opts, use_lz4_ ? 4u : 3u);
                st.encode(w, params_.version);
            });
        }
        case state::wait_startup_reply: {
            const bool ready = std::holds_alternative<proto::ready_response>(r);
            auto* a = std::get_if<proto::authenticate_response>(&r);
            if (!ready && !a) return fail(errc::handshake_failed);
            // v5: everything after the reply to STARTUP is framed (FRAMING_NOTES §7).
            if (params_.version == proto::protocol_version::v5)
                framing_ = use_lz4_ ? proto::segment_format::lz4 : proto::segment_format::uncompressed;
            if (ready) {
                state_ = state::done;
                return {action_kind::done, {}};
            }
            authenticator_ = a->authenticator;
            if (!params_.auth) return fail(errc::auth_failed);
            return send_auth_response();
        }
        case state::wait_auth_reply: {
            if (std::holds_alternative<proto::auth_success_response>(r)) {
                state_ = state::done;
                return {action_kind::done, {}};
            }
            // PLAIN has a single step; answer a challenge with the same token, a few times at most.
            if (std::holds_alternative<proto::auth_challenge_response>(r)) return send_auth_response();
            return fail(errc::handshake_failed);
        }
        default: break;
    }
    return fail(errc::handshake_failed);
}

}  // namespace cqlpp::transport::detail
