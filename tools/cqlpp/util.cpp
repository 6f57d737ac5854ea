#include "util.hpp"

#include "commands.hpp"

#include "cqlpp/protocol/literal.hpp"
#include "cqlpp/protocol/value.hpp"

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

protocol::cql_type parse_type(std::string_view name) {
    protocol::errc ec = protocol::errc::ok;
    auto t = protocol::parse_type_name(name, &ec);
    if (!t) throw command_error("unknown or malformed type '" + std::string(name) + "': " + protocol::make_error_code(ec).message());
    return *t;
}

protocol::byte_buffer encode_literal(const protocol::cql_type& t, std::string_view literal) {
    protocol::cql_value v;
    if (auto ec = protocol::parse_literal(t, literal, v); ec != protocol::errc::ok)
        throw command_error("cannot read '" + std::string(literal) + "' as " + protocol::to_cql_name(t) + ": " +
                            protocol::make_error_code(ec).message());
    protocol::byte_buffer out;
    if (auto ec = protocol::encode_value(t, v, out); ec != protocol::errc::ok)
        throw command_error("cannot encode '" + std::string(literal) + "' as " + protocol::to_cql_name(t) + ": " +
                            protocol::make_error_code(ec).message());
    return out;
}

protocol::byte_buffer parse_hex_arg(std::string_view hex, std::string_view what) {
    protocol::byte_buffer out;
    if (!protocol::from_hex(hex, out)) throw command_error(std::string(what) + ": not a hex string");
    return out;
}

}  // namespace cqlpp::tools
