// A small JSON reader/writer for the bulk layer. Numbers are kept as their
// text, so bigint/varint/decimal round-trip exactly (a double-based JSON
// library would round 2^63-1 or 0.1000000000000000000001).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cqlpp::bulk::detail {

struct json_value {
    enum class kind { null, boolean, number, string, array, object };
    kind type = kind::null;
    bool boolean = false;
    std::string text;               // number: as written; string: unescaped UTF-8
    std::vector<std::string> keys;  // object keys, in order (duplicates kept)
    std::vector<json_value> items;  // array elements / object values (parallel to keys)

    const json_value* find(std::string_view key) const noexcept;
};

inline constexpr int max_json_depth = 96;

// Parses exactly one RFC 8259 value (surrounding whitespace allowed). Strings
// must be valid UTF-8 with no raw control characters; \u escapes must pair
// surrogates. On failure returns false and sets `error` ("offset 12: ...").
bool parse_json(std::string_view text, json_value& out, std::string& error);

// Appends `s` as a quoted JSON string. Bytes that are not valid UTF-8 become
// U+FFFD, so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view s);
// Compact serialisation ({"a":1,"b":[true,null]}).
void append_json(std::string& out, const json_value& v);

// RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view s) noexcept;

}  // namespace cqlpp::bulk::detail
