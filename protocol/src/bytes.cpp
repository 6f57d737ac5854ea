#include "cqlpp/protocol/bytes.hpp"

namespace cqlpp::protocol {

std::string to_hex(bytes_view b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    s.resize(b.size() * 2);
    for (std::size_t i = 0; i < b.size(); ++i) {
        s[2 * i] = digits[b[i] >> 4];
        s[2 * i + 1] = digits[b[i] & 0xF];
    }
    return s;
}

namespace {
int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

bool from_hex(std::string_view hex, byte_buffer& out) {
    if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
    int hi = -1;
    for (char c : hex) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':') continue;
        int d = hex_digit(c);
        if (d < 0) return false;
        if (hi < 0) {
            hi = d;
        } else {
            out.push_back(static_cast<std::uint8_t>((hi << 4) | d));
            hi = -1;
        }
    }
    return hi < 0;
}

}  // namespace cqlpp::protocol
