// READY, AUTHENTICATE, SUPPORTED, EVENT, AUTH_CHALLENGE, AUTH_SUCCESS (spec §4.2).
#include "cqlpp/protocol/detail/message_codec.hpp"
#include "cqlpp/protocol/responses.hpp"

#include <array>

namespace cqlpp::protocol {

using detail::check_count;
using detail::finish;

errc ready_response::decode(bytes_view body, protocol_version, ready_response& out) {
    out = {};
    return body.empty() ? errc::ok : errc::trailing_bytes;
}

void authenticate_response::encode(byte_writer& w, protocol_version) const { w.string(authenticator); }

errc authenticate_response::decode(bytes_view body, protocol_version, authenticate_response& out) {
    byte_reader r(body);
    out.authenticator = std::string(r.string());
    return finish(r);
}

// ---- SUPPORTED ---------------------------------------------------------------

const std::vector<std::string>* supported_response::find(std::string_view key) const noexcept {
    for (const auto& [k, vals] : options)
        if (k == key) return &vals;
    return nullptr;
}

void supported_response::encode(byte_writer& w, protocol_version) const {
    w.u16(static_cast<std::uint16_t>(options.size()));
    for (const auto& [k, vals] : options) {
        w.string(k);
        w.string_list(vals);
    }
}

errc supported_response::decode(bytes_view body, protocol_version, supported_response& out) {
    out.options.clear();
    byte_reader r(body);
    const std::uint16_t n = r.u16();
    if (!check_count(r, n, 4)) return r.error();
    out.options.reserve(n);
    for (std::uint16_t i = 0; i < n && r.ok(); ++i) {
        auto& [k, vals] = out.options.emplace_back();
        k = std::string(r.string());
        detail::read_string_list(r, vals);
    }
    return finish(r);
}

// ---- EVENT -------------------------------------------------------------------

namespace {
constexpr std::array<std::string_view, 3> topology_names = {"NEW_NODE", "REMOVED_NODE", "MOVED_NODE"};
constexpr std::array<std::string_view, 2> status_names = {"UP", "DOWN"};

template <class E, std::size_t N>
bool parse_name(const std::array<std::string_view, N>& names, std::string_view s, E& out) noexcept {
    for (std::size_t i = 0; i < N; ++i) {
        if (names[i] == s) {
            out = static_cast<E>(i);
            return true;
        }
    }
    return false;
}
template <std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, std::size_t i) noexcept {
    return i < N ? names[i] : std::string_view("UNKNOWN");
}
}  // namespace

std::string_view to_string(topology_change_type t) noexcept {
    return name_of(topology_names, static_cast<std::size_t>(t));
}
std::string_view to_string(status_change_type t) noexcept { return name_of(status_names, static_cast<std::size_t>(t)); }

event_type event_response::type() const noexcept {
    switch (value.index()) {
        case 0: return event_type::topology_change;
        case 1: return event_type::status_change;
        default: return event_type::schema_change;
    }
}

void event_response::encode(byte_writer& w, protocol_version) const {
    w.string(to_string(type()));
    if (auto* t = std::get_if<topology_change_event>(&value)) {
        w.string(to_string(t->change));
        w.inet(t->node);
    } else if (auto* s = std::get_if<status_change_event>(&value)) {
        w.string(to_string(s->change));
        w.inet(s->node);
    } else {
        std::get<schema_change>(value).encode(w);
    }
}

errc event_response::decode(bytes_view body, protocol_version, event_response& out) {
    byte_reader r(body);
    auto name = r.string();
    if (!r.ok()) return r.error();
    auto type = parse_event_type(name);
    if (!type) return errc::bad_event;
    switch (*type) {
        case event_type::topology_change: {
            auto& e = out.value.emplace<topology_change_event>();
            auto change = r.string();
            if (r.ok() && !parse_name(topology_names, change, e.change)) return errc::bad_event;
            e.node = r.inet();
            break;
        }
        case event_type::status_change: {
            auto& e = out.value.emplace<status_change_event>();
            auto change = r.string();
            if (r.ok() && !parse_name(status_names, change, e.change)) return errc::bad_event;
            e.node = r.inet();
            break;
        }
        case event_type::schema_change:
            if (auto e = schema_change::decode(r, out.value.emplace<schema_change>()); e != errc::ok) return e;
            break;
    }
    return finish(r);
}

// ---- AUTH_CHALLENGE / AUTH_SUCCESS -------------------------------------------

namespace {
void write_token(byte_writer& w, const std::optional<byte_buffer>& token) {
    if (token) w.bytes(bytes_view(*token));
    else w.null_bytes();
}
errc read_token(bytes_view body, std::optional<byte_buffer>& token) {
    byte_reader r(body);
    token.reset();
    if (auto t = r.bytes()) token = detail::to_buffer(*t);
    return finish(r);
}
}  // namespace

void auth_challenge_response::encode(byte_writer& w, protocol_version) const { write_token(w, token); }
errc auth_challenge_response::decode(bytes_view body, protocol_version, auth_challenge_response& out) {
    return read_token(body, out.token);
}

void auth_success_response::encode(byte_writer& w, protocol_version) const { write_token(w, token); }
errc auth_success_response::decode(bytes_view body, protocol_version, auth_success_response& out) {
    return read_token(body, out.token);
}

}  // namespace cqlpp::protocol
