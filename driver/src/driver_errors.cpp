#include "cqlpp/driver/error.hpp"

#include "cqlpp/driver/value_codec.hpp"
#include "cqlpp/transport/error.hpp"

#include <asio/error.hpp>

#include <optional>
#include <string>

namespace cqlpp::driver {

namespace {
class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "cqlpp.driver"; }
    std::string message(int v) const override {
        switch (static_cast<errc>(v)) {
        case errc::ok: return "success";
        case errc::no_host_available: return "no host available";
        case errc::request_timeout: return "request timed out";
        case errc::session_closed: return "session closed";
        case errc::no_contact_point: return "no contact point could be reached";
        case errc::bad_contact_point: return "bad contact point";
        case errc::bind_count_mismatch: return "wrong number of bound values";
        case errc::no_such_marker: return "no such bind marker";
        case errc::bind_type_mismatch: return "bound value does not match the marker's type";
        case errc::needs_protocol_v5: return "feature needs protocol v5";
        case errc::unexpected_response: return "unexpected response";
        case errc::metadata_error: return "cluster metadata could not be read";
        case errc::paging_state_mismatch: return "paging state does not belong to this statement";
        case errc::request_throttled: return "request throttled: the session's queue is full";
        case errc::unknown_execution_profile: return "no such execution profile";
        }
        return "unknown driver error " + std::to_string(v);
    }
};
}  // namespace

const std::error_category& driver_category() noexcept {
    static const category c;
    return c;
}

}  // namespace cqlpp::driver

// ---- conditions ---------------------------------------------------------------

namespace cqlpp::driver {

namespace {

std::optional<condition> classify(const std::error_code& ec) noexcept {
    if (!ec) return std::nullopt;
    const auto& cat = ec.category();
    if (cat == driver_category()) {
        switch (static_cast<errc>(ec.value())) {
            case errc::ok: return std::nullopt;
            case errc::request_timeout: return condition::timeout;
            case errc::no_host_available: return condition::unavailable;
            case errc::no_contact_point: return condition::connection_lost;
            case errc::session_closed: return condition::cancelled;
            case errc::bad_contact_point:
            case errc::bind_count_mismatch:
            case errc::no_such_marker:
            case errc::bind_type_mismatch:
            case errc::needs_protocol_v5:
            case errc::paging_state_mismatch:
            case errc::unknown_execution_profile: return condition::invalid_query;
            // The client's own overload: waiting and trying again may succeed.
            case errc::request_throttled: return condition::overloaded;
            case errc::unexpected_response:
            case errc::metadata_error: return condition::protocol;
        }
        return std::nullopt;
    }
    if (cat == transport::transport_category()) {
        using te = transport::errc;
        switch (static_cast<te>(ec.value())) {
            case te::ok: return std::nullopt;
            case te::timeout:
            case te::connect_timeout:
            case te::heartbeat_timeout: return condition::timeout;
            case te::cancelled: return condition::cancelled;
            case te::connection_closed:
            case te::connect_failed:
            case te::no_connection:
            case te::tls_error:
            case te::handshake_failed: return condition::connection_lost;
            case te::too_many_orphans: return condition::overloaded;
            case te::auth_failed: return condition::authentication;
            case te::protocol_error:
            case te::framing_error:
            case te::bad_response:
            case te::unsupported_version: return condition::protocol;
        }
        return std::nullopt;
    }
    if (auto code = protocol::server_errc_of(ec)) {
        using se = protocol::server_errc;
        switch (*code) {
            case se::read_timeout:
            case se::write_timeout: return condition::timeout;
            case se::unavailable: return condition::unavailable;
            case se::overloaded:
            case se::is_bootstrapping: return condition::overloaded;
            case se::unprepared: return condition::unprepared;
            case se::syntax_error:
            case se::invalid:
            case se::already_exists:
            case se::config_error: return condition::invalid_query;
            case se::auth_error:
            case se::unauthorized: return condition::authentication;
            case se::protocol_error: return condition::protocol;
            case se::server_error:
            case se::truncate_error:
            case se::read_failure:
            case se::write_failure:
            case se::function_failure:
            case se::cdc_write_failure:
            case se::cas_write_unknown: return condition::server_failure;
        }
        return condition::server_failure;  // a code newer than this driver
    }
    if (cat == conversion_category()) return condition::invalid_query;
    if (ec == asio::error::operation_aborted) return condition::cancelled;
    if (ec == std::errc::timed_out || ec == asio::error::timed_out) return condition::timeout;
    if (ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::connection_refused ||
        ec == asio::error::connection_aborted || ec == asio::error::broken_pipe || ec == asio::error::host_unreachable ||
        ec == asio::error::network_unreachable)
        return condition::connection_lost;
    return std::nullopt;
}

class condition_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "cqlpp.condition"; }
    std::string message(int v) const override {
        switch (static_cast<condition>(v)) {
            case condition::timeout: return "timeout";
            case condition::cancelled: return "cancelled";
            case condition::unavailable: return "unavailable";
            case condition::overloaded: return "overloaded";
            case condition::unprepared: return "unprepared";
            case condition::invalid_query: return "invalid query";
            case condition::authentication: return "authentication";
            case condition::connection_lost: return "connection lost";
            case condition::server_failure: return "server failure";
            case condition::protocol: return "protocol error";
        }
        return "unknown condition " + std::to_string(v);
    }
    bool equivalent(const std::error_code& ec, int cond) const noexcept override {
        auto c = classify(ec);
        return c && static_cast<int>(*c) == cond;
    }
};

}  // namespace

const std::error_category& condition_category() noexcept {
    static const condition_category_impl c;
    return c;
}

bool is_retryable(const std::error_code& ec) noexcept {
    auto c = classify(ec);
    if (!c) return false;
    switch (*c) {
        case condition::timeout:
        case condition::unavailable:
        case condition::overloaded:
        case condition::connection_lost:
        case condition::unprepared: return true;
        default: return false;
    }
}

bool is_fatal(const std::error_code& ec) noexcept {
    if (ec == errc::session_closed) return true;
    auto c = classify(ec);
    if (!c) return static_cast<bool>(ec);
    switch (*c) {
        case condition::invalid_query:
        case condition::authentication:
        case condition::protocol: return true;
        default: return false;
    }
}

}  // namespace cqlpp::driver
