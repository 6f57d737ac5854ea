#include "cqlpp/driver/types.hpp"

#include "cqlpp/protocol/literal.hpp"

namespace cqlpp::driver {

namespace {
int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

std::string uuid::to_string() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(36);
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
        s.push_back(digits[bytes[i] >> 4]);
        s.push_back(digits[bytes[i] & 0xF]);
    }
    return s;
}

std::optional<uuid> uuid::from_string(std::string_view s) {
    const bool dashed = s.size() == 36;
    if (!dashed && s.size() != 32) return std::nullopt;
    uuid u;
    std::size_t pos = 0;
    for (std::size_t i = 0; i < 16; ++i) {
        if (dashed && (i == 4 || i == 6 || i == 8 || i == 10)) {
            if (s[pos] != '-') return std::nullopt;
            ++pos;
        }
        const int hi = hex_digit(s[pos]), lo = hex_digit(s[pos + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        u.bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
        pos += 2;
    }
    return u;
}

// The protocol layer already prints and parses inet literals (RFC 5952); reuse it.
std::string inet::to_string() const {
    protocol::inet_address a;
    a.size = length;
    a.addr = bytes;
    std::string s = protocol::format_literal(protocol::cql_type(protocol::type_kind::inet), protocol::cql_value::inet(a));
    if (s.size() >= 2 && s.front() == '\'' && s.back() == '\'') s = s.substr(1, s.size() - 2);
    return s;
}

std::optional<inet> inet::from_string(std::string_view s) {
    if (s.find('\'') != std::string_view::npos) return std::nullopt;
    std::string quoted;
    quoted.reserve(s.size() + 2);
    quoted.push_back('\'');
    quoted.append(s);
    quoted.push_back('\'');
    protocol::cql_value v;
    if (protocol::parse_literal(protocol::cql_type(protocol::type_kind::inet), quoted, v) != protocol::errc::ok ||
        v.kind() != protocol::value_kind::inet)
        return std::nullopt;
    inet r;
    r.length = v.as_inet().size;
    r.bytes = v.as_inet().addr;
    return r;
}

}  // namespace cqlpp::driver
