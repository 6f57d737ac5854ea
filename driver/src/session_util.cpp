#include "session_util.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace cqlpp::driver::detail {

// CQLPP_LOG_LEVEL (trace|debug|info|warn|error|off), warn by default.
const std::shared_ptr<spdlog::logger>& log() {
    static const std::shared_ptr<spdlog::logger> l = [] {
        if (auto existing = spdlog::get("cqlpp")) return existing;
        auto made = std::make_shared<spdlog::logger>("cqlpp", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        const char* lvl = std::getenv("CQLPP_LOG_LEVEL");
        made->set_level(lvl ? spdlog::level::from_str(lvl) : spdlog::level::warn);
        return made;
    }();
    return l;
}

bool parse_contact_point(std::string_view s, std::uint16_t default_port, std::string& host, std::uint16_t& port) {
    port = default_port;
    if (s.empty()) return false;
    std::string_view p;
    if (s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos) return false;
        host = std::string(s.substr(1, close - 1));
        auto rest = s.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            p = rest.substr(1);
        }
    } else if (std::count(s.begin(), s.end(), ':') == 1) {
        auto colon = s.find(':');
        host = std::string(s.substr(0, colon));
        p = s.substr(colon + 1);
    } else {
        host = std::string(s);
    }
    if (host.empty()) return false;
    if (!p.empty()) {
        unsigned v = 0;
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
        if (ec != std::errc{} || end != p.data() + p.size() || v == 0 || v > 65535) return false;
        port = static_cast<std::uint16_t>(v);
    } else if (s.back() == ':') {
        return false;
    }
    return true;
}

std::string address_string(const proto::inet_address& a) {
    inet i;
    i.length = a.size;
    std::copy(a.addr.begin(), a.addr.begin() + a.size, i.bytes.begin());
    return i.to_string();
}

proto::inet_address to_inet_address(const inet& i) {
    proto::inet_address a;
    a.size = i.length;
    std::copy(i.bytes.begin(), i.bytes.begin() + i.length, a.addr.begin());
    return a;
}

bool is_any_address(const inet& i) {
    return std::all_of(i.bytes.begin(), i.bytes.begin() + i.length, [](std::uint8_t b) { return b == 0; });
}

std::string describe_error(std::error_code ec, const proto::error_response* se, std::string_view host) {
    std::string m;
    if (se) {
        m = std::string(proto::to_string(se->code));
        if (!host.empty()) m += " from " + std::string(host);
        m += ": " + se->message;
    } else {
        m = ec.message();
        if (!host.empty()) m += " (" + std::string(host) + ")";
    }
    return m;
}

}  // namespace cqlpp::driver::detail
