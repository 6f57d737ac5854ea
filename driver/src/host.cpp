#include "cqlpp/driver/host.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace cqlpp::driver {

std::string host::endpoint_string() const {
    char buf[64];
    std::string out;
    if (address.size == 4) {
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", address.addr[0], address.addr[1], address.addr[2],
                      address.addr[3]);
        out = buf;
    } else {
        // Plain (uncompressed) IPv6 groups are enough for logs.
        out.push_back('[');  // not `out = "["`: g++ 12 -O3 warns -Wrestrict on it (a false positive)
        for (std::size_t i = 0; i < 16; i += 2) {
            if (i != 0) out += ':';
            std::snprintf(buf, sizeof buf, "%x", (address.addr[i] << 8) | address.addr[i + 1]);
            out += buf;
        }
        out += ']';
    }
    out += ':';
    out += std::to_string(port);
    return out;
}

std::optional<token> parse_token(std::string_view text) noexcept {
    if (text.empty()) return std::nullopt;
    token t = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), t, 10);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return t;
}

namespace {
template <class S>
std::optional<std::vector<token>> parse_all(std::span<const S> texts) {
    std::vector<token> out;
    out.reserve(texts.size());
    for (const auto& s : texts) {
        auto t = parse_token(std::string_view(s));
        if (!t) return std::nullopt;
        out.push_back(*t);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}
}  // namespace

std::optional<std::vector<token>> parse_tokens(std::span<const std::string_view> texts) { return parse_all(texts); }
std::optional<std::vector<token>> parse_tokens(std::span<const std::string> texts) { return parse_all(texts); }

}  // namespace cqlpp::driver
