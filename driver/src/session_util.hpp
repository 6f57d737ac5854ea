// Small helpers shared by the session's translation units (not installed).
#pragma once

#include "cqlpp/driver/types.hpp"
#include "cqlpp/protocol/messages.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace cqlpp::driver::detail {

namespace proto = cqlpp::protocol;
using clock_type = std::chrono::steady_clock;

inline constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// The application's logger named "cqlpp" if it registered one; otherwise our
// own on stderr (never stdout: tools print results there), at the level of
// CQLPP_LOG_LEVEL (trace|debug|info|warn|error|off), warn by default.
const std::shared_ptr<spdlog::logger>& log();

// "host", "host:port", "[v6]", "[v6]:port", "v6" (several colons, no port).
bool parse_contact_point(std::string_view s, std::uint16_t default_port, std::string& host, std::uint16_t& port);

std::string address_string(const proto::inet_address& a);
proto::inet_address to_inet_address(const inet& i);
bool is_any_address(const inet& i);

// "CODE from host: message" for a server error, "message (host)" otherwise.
std::string describe_error(std::error_code ec, const proto::error_response* se, std::string_view host);

}  // namespace cqlpp::driver::detail
