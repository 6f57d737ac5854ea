// Text validation shared by the value codec and the literal parser.
#pragma once

#include <string_view>

namespace cqlpp::protocol::detail {

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s) noexcept;
// Every byte in [0, 127] (spec §5.1).
bool is_ascii(std::string_view s) noexcept;

}  // namespace cqlpp::protocol::detail
