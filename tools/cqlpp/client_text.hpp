// Small text helpers client.cpp and client_copy.cpp share.
#pragma once

#include "cqlpp/driver/error.hpp"

#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace cqlpp::tools {

std::string_view trim(std::string_view s);
std::string upper(std::string_view s);
// The first whitespace-separated word and the (trimmed) rest.
std::pair<std::string_view, std::string_view> first_word(std::string_view s);
std::string_view strip_semicolons(std::string_view s);
std::string error_text(std::error_code ec, const driver::diagnostics& d);
// Throws command_error("error: " + msg).
[[noreturn]] void fail(std::string msg);

}  // namespace cqlpp::tools
