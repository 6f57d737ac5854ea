#include "cqlpp/transport/error.hpp"

#include <string>

namespace cqlpp::transport {

std::string_view to_string(errc e) noexcept {
    switch (e) {
        case errc::ok: return "ok";
        case errc::connection_closed: return "connection_closed";
        case errc::timeout: return "timeout";
        case errc::cancelled: return "cancelled";
        case errc::connect_timeout: return "connect_timeout";
        case errc::connect_failed: return "connect_failed";
        case errc::protocol_error: return "protocol_error";
        case errc::framing_error: return "framing_error";
        case errc::bad_response: return "bad_response";
        case errc::too_many_orphans: return "too_many_orphans";
        case errc::heartbeat_timeout: return "heartbeat_timeout";
        case errc::handshake_failed: return "handshake_failed";
        case errc::auth_failed: return "auth_failed";
        case errc::unsupported_version: return "unsupported_version";
        case errc::tls_error: return "tls_error";
        case errc::no_connection: return "no_connection";
    }
    return "unknown";
}

namespace {
class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "cqlpp.transport"; }
    std::string message(int ev) const override { return std::string(to_string(static_cast<errc>(ev))); }
};
}  // namespace

const std::error_category& transport_category() noexcept {
    static const category c;
    return c;
}

}  // namespace cqlpp::transport
