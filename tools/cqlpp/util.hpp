// Helpers shared by the tool's subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <limits>
#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/types.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace cqlpp::tools {

// Splits on `sep` outside <>, (), [], {} and quotes: "map<text,int>,int" -> 2 parts.
std::vector<std::string> split_top_level(std::string_view s, char sep);
// A CLI11 check: a whole number in [min, max], with a short message ("must be >= 1, not 0");
// CLI::PositiveNumber's message prints the whole double range (300 digits).
CLI::Validator whole_number(long long min, long long max = std::numeric_limits<long long>::max());
// Parses a CQL type name or throws command_error naming it.
protocol::cql_type parse_type(std::string_view name);
// Parses a literal of type `t` and serializes it (protocol v5), or throws command_error.
protocol::byte_buffer encode_literal(const protocol::cql_type& t, std::string_view literal);
// Parses hex or throws command_error.
protocol::byte_buffer parse_hex_arg(std::string_view hex, std::string_view what);

}  // namespace cqlpp::tools
