// CQL lexer (internal to the parser). Produces one token at a time on demand,
// as [begin, end) offsets into the source: no allocation, no token vector.
//
// Deliberate differences from Cassandra's ANTLR lexer, to keep the grammar
// context-free where Cassandra's is not:
//  - '-' is always its own token; the parser glues it to an adjacent number
//    ("-1"), so `c = c -1` means subtraction rather than "c" followed by "-1".
//  - ISO-8601 durations without separators (P1Y2M, PT5M) lex as identifiers and
//    the parser recognises them in term position, so a column named `p1d`
//    stays a column. The P0001-02-03T04:05:06 form contains '-' and ':' and is
//    recognised here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cqlpp::sim::detail {

enum class token_kind : std::uint8_t {
    eof,
    error,  // see lex_error; begin is where the problem is
    ident,
    quoted_ident,
    string,  // '...' or $$...$$, quotes included
    integer,
    floating,
    blob,  // 0x...
    uuid,
    duration,  // 1h30m, P0001-02-03T04:05:06
    qmark,
    colon,
    lparen,
    rparen,
    lbracket,
    rbracket,
    lbrace,
    rbrace,
    comma,
    semicolon,
    dot,
    star,
    eq,
    neq,
    lt,
    lte,
    gt,
    gte,
    plus,
    minus,
    plus_eq,
    minus_eq,
    slash,
    percent,
};

enum class lex_error : std::uint8_t {
    none,
    unterminated_string,         // '...
    unterminated_dollar_string,  // $$...
    unterminated_quoted_name,    // "...
    empty_quoted_name,           // ""
    unterminated_comment,        // /* ...
    bad_character,               // a character no token starts with
};

struct token {
    token_kind kind = token_kind::eof;
    lex_error error = lex_error::none;
    std::size_t begin = 0;
    std::size_t end = 0;
};

class lexer {
public:
    explicit lexer(std::string_view src) noexcept : src_(src) {}
    // The next token; eof (begin == end == size) forever after the end, and the
    // same error token forever after an error.
    token next() noexcept;

private:
    bool skip_space_and_comments(token& err) noexcept;
    token make(token_kind k, std::size_t begin) noexcept;
    token fail(lex_error e, std::size_t at, std::size_t len) noexcept;
    token number(std::size_t begin) noexcept;
    token quoted(std::size_t begin, char q, token_kind k, lex_error unterminated) noexcept;

    std::string_view src_;
    std::size_t pos_ = 0;
    bool failed_ = false;
    token failure_{};
};

// ---- Character classes and small text helpers shared with the parser -----------

inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
inline bool is_letter(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_ident_char(char c) noexcept { return is_letter(c) || is_digit(c) || c == '_'; }
inline bool is_hex(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
inline char to_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// ASCII case-insensitive equality; `upper` is an upper-case keyword.
inline bool iequals(std::string_view s, std::string_view upper) noexcept {
    if (s.size() != upper.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        if (c != upper[i]) return false;
    }
    return true;
}

// P1Y2M3DT4H5M6S / PT5M / P2W, case-insensitive (the form that lexes as an identifier).
bool is_iso_duration_word(std::string_view s) noexcept;

}  // namespace cqlpp::sim::detail
