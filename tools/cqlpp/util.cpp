#include "util.hpp"

#include "commands.hpp"

#include "cqlpp/protocol/literal.hpp"
#include "cqlpp/protocol/value.hpp"

#include <cctype>
#include <charconv>

namespace cqlpp::tools {

std::vector<std::string> split_top_level(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    int depth = 0;
    char quote = 0;
    for (char c : s) {
        if (quote) {
            if (c == quote) quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '<' || c == '(' || c == '[' || c == '{') {
            ++depth;
        } else if (c == '>' || c == ')' || c == ']' || c == '}') {
            --depth;
        } else if (c == sep && depth == 0) {
            out.push_back(cur);
            cur.clear();
            continue;
        }
        cur.push_back(c);
    }
    out.push_back(cur);
    return out;
}

namespace {

// A user's text quoted in an error message, cut short: a 60 KB argument is not echoed back.
std::string shown(std::string_view s) {
    constexpr std::size_t max = 60;
    if (s.size() <= max) return "'" + std::string(s) + "'";
    return "'" + std::string(s.substr(0, max)) + "...' (" + std::to_string(s.size()) + " characters)";
}

bool is_word(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    return true;
}

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// A bare unknown word parses as a UDT whose fields are unknown: nothing can be encoded with it.
const protocol::cql_type* unknown_udt(const protocol::cql_type& t) {
    if (t.kind == protocol::type_kind::udt && t.params.empty()) return &t;
    for (const auto& p : t.params)
        if (const auto* u = unknown_udt(p)) return u;
    return nullptr;
}

}  // namespace

CLI::Validator whole_number(long long min, long long max) {
    return CLI::Validator(
        [min, max](std::string& v) -> std::string {
            long long n = 0;
            auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
            if (ec == std::errc::result_out_of_range) return "'" + v + "' is out of range";
            if (ec != std::errc() || p != v.data() + v.size()) return "'" + v + "' is not a whole number";
            if (n < min) return "must be >= " + std::to_string(min) + ", not " + v;
            if (n > max) return "must be <= " + std::to_string(max) + ", not " + v;
            return {};
        },
        max == std::numeric_limits<long long>::max() ? ">=" + std::to_string(min)
                                                      : std::to_string(min) + ".." + std::to_string(max));
}

protocol::cql_type parse_type(std::string_view name) {
    protocol::errc ec = protocol::errc::ok;
    auto t = protocol::parse_type_name(name, &ec);
    const auto n = trimmed(name);
    if (t) {
        if (const auto* u = unknown_udt(*t))
            throw command_error("unknown type " + shown(u->name));
        return *t;
    }
    if (n.empty()) throw command_error("no type given");
    if (ec == protocol::errc::type_nesting_too_deep)
        throw command_error("type nested too deeply (at most " + std::to_string(protocol::max_type_depth) +
                            " levels): " + shown(n));
    if (is_word(n)) throw command_error("unknown type " + shown(n));
    throw command_error("malformed type " + shown(n) + ": " + protocol::make_error_code(ec).message());
}

protocol::byte_buffer encode_literal(const protocol::cql_type& t, std::string_view literal) {
    protocol::cql_value v;
    if (auto ec = protocol::parse_literal(t, literal, v); ec != protocol::errc::ok) {
        std::string msg = "cannot read " + shown(literal) + " as " + protocol::to_cql_name(t) + ": " +
                          protocol::make_error_code(ec).message();
        // A shell eats the quotes of 'hello': say how to keep them.
        using k = protocol::type_kind;
        const auto l = trimmed(literal);
        if ((t.kind == k::text || t.kind == k::ascii) && !l.empty() && l.front() != '\'' && l.front() != '$')
            msg += "; text literals are quoted: \"'" + std::string(l.substr(0, 60)) + "'\" (with the shell's quotes around)";
        throw command_error(msg);
    }
    protocol::byte_buffer out;
    if (auto ec = protocol::encode_value(t, v, out); ec != protocol::errc::ok)
        throw command_error("cannot encode " + shown(literal) + " as " + protocol::to_cql_name(t) + ": " +
                            protocol::make_error_code(ec).message());
    return out;
}

protocol::byte_buffer parse_hex_arg(std::string_view hex, std::string_view what) {
    std::string_view h = trimmed(hex);
    if (h.size() >= 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X')) h.remove_prefix(2);
    std::size_t digits = 0;
    for (std::size_t i = 0; i < h.size(); ++i) {
        const char c = h[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':') continue;  // separators from_hex skips
        if (!std::isxdigit(static_cast<unsigned char>(c)))
            throw command_error(std::string(what) + ": not a hex digit '" + std::string(1, c) + "' at position " +
                                std::to_string(i + 1));
        ++digits;
    }
    if (digits % 2)
        throw command_error(std::string(what) + ": odd number of hex digits (" + std::to_string(digits) +
                            "): every byte takes two");
    protocol::byte_buffer out;
    if (!protocol::from_hex(h, out)) throw command_error(std::string(what) + ": not a hex string");
    return out;
}

}  // namespace cqlpp::tools
