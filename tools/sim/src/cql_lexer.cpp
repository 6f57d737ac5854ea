#include "cql_lexer.hpp"

namespace cqlpp::sim::detail {

namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Length of the UTF-8 sequence starting with `c` (1 for ASCII and for stray
// bytes), so a bad character is reported whole.
std::size_t utf8_length(unsigned char c) noexcept {
    if (c >= 0xF0 && c <= 0xF4) return 4;
    if (c >= 0xE0) return c <= 0xEF ? 3 : 1;
    if (c >= 0xC2) return 2;
    return 1;
}

// A duration unit at s[i] (case-insensitive): y mo w d h m s ms us µs ns.
// Returns its length, 0 if none. Longest match first, as Cassandra's lexer.
std::size_t duration_unit(std::string_view s, std::size_t i) noexcept {
    auto at = [&](std::size_t k) -> char { return i + k < s.size() ? to_lower(s[i + k]) : '\0'; };
    char a = at(0), b = at(1);
    if ((a == 'm' && (b == 'o' || b == 's')) || ((a == 'u' || a == 'n') && b == 's')) return 2;
    if (a == '\xC2' && b == '\xB5' && at(2) == 's') return 3;  // µs
    if (a == 'y' || a == 'w' || a == 'd' || a == 'h' || a == 'm' || a == 's') return 1;
    return 0;
}

// 8-4-4-4-12 hex digits starting at i, not followed by an identifier character.
bool uuid_at(std::string_view s, std::size_t i) noexcept {
    if (s.size() - i < 36) return false;
    for (std::size_t k = 0; k < 36; ++k) {
        char c = s[i + k];
        bool dash = k == 8 || k == 13 || k == 18 || k == 23;
        if (dash ? c != '-' : !is_hex(c)) return false;
    }
    return i + 36 == s.size() || !is_ident_char(s[i + 36]);
}

// The alternative ISO-8601 duration form: P0001-02-03T04:05:06.
bool iso_alternative_at(std::string_view s, std::size_t i) noexcept {
    static constexpr std::string_view shape = "P####-##-##T##:##:##";
    if (s.size() - i < shape.size()) return false;
    for (std::size_t k = 0; k < shape.size(); ++k) {
        char c = s[i + k], want = shape[k];
        if (want == '#') {
            if (!is_digit(c)) return false;
        } else if (to_lower(c) != to_lower(want)) {
            return false;
        }
    }
    return i + shape.size() == s.size() || !is_ident_char(s[i + shape.size()]);
}

}  // namespace

bool is_iso_duration_word(std::string_view s) noexcept {
    if (s.size() < 3 || to_lower(s[0]) != 'p') return false;
    std::size_t i = 1;
    auto number = [&](std::size_t& j) {
        std::size_t start = j;
        while (j < s.size() && is_digit(s[j])) ++j;
        return j > start && j < s.size();  // digits, then a unit letter must follow
    };
    // P<n>W
    {
        std::size_t j = 1;
        if (number(j) && to_lower(s[j]) == 'w' && j + 1 == s.size()) return true;
    }
    // Components must come in order; each at most once.
    auto components = [&](std::string_view units, bool stop_at_t) {
        std::size_t next_unit = 0;
        bool any = false;
        while (i < s.size() && !(stop_at_t && to_lower(s[i]) == 't')) {
            std::size_t j = i;
            if (!number(j)) return -1;
            auto u = units.find(to_lower(s[j]), next_unit);
            if (u == std::string_view::npos) return -1;
            next_unit = u + 1;
            any = true;
            i = j + 1;
        }
        return any ? 1 : 0;
    };
    int date = components("ymd", true);
    if (date < 0) return false;
    if (i == s.size()) return date == 1;
    ++i;  // 'T'
    return components("hms", false) == 1;
}

token lexer::make(token_kind k, std::size_t begin) noexcept {
    token t;
    t.kind = k;
    t.begin = begin;
    t.end = pos_;
    return t;
}

token lexer::fail(lex_error e, std::size_t at, std::size_t len) noexcept {
    failed_ = true;
    failure_.kind = token_kind::error;
    failure_.error = e;
    failure_.begin = at;
    failure_.end = at + len;
    return failure_;
}

bool lexer::skip_space_and_comments(token& err) noexcept {
    const std::size_t n = src_.size();
    while (pos_ < n) {
        char c = src_[pos_];
        if (is_space(c)) {
            ++pos_;
        } else if ((c == '-' || c == '/') && pos_ + 1 < n && src_[pos_ + 1] == c) {
            auto nl = src_.find('\n', pos_);
            pos_ = nl == std::string_view::npos ? n : nl + 1;
        } else if (c == '/' && pos_ + 1 < n && src_[pos_ + 1] == '*') {
            auto close = src_.find("*/", pos_ + 2);
            if (close == std::string_view::npos) {
                err = fail(lex_error::unterminated_comment, n, 0);
                return false;
            }
            pos_ = close + 2;
        } else {
            return true;
        }
    }
    return true;
}

token lexer::quoted(std::size_t begin, char q, token_kind k, lex_error unterminated) noexcept {
    std::size_t p = begin + 1;
    for (;;) {
        auto close = src_.find(q, p);
        if (close == std::string_view::npos) return fail(unterminated, src_.size(), 0);
        if (close + 1 < src_.size() && src_[close + 1] == q) {  // doubled: an escaped quote
            p = close + 2;
            continue;
        }
        pos_ = close + 1;
        break;
    }
    if (k == token_kind::quoted_ident && pos_ == begin + 2) return fail(lex_error::empty_quoted_name, begin, 2);
    return make(k, begin);
}

token lexer::number(std::size_t begin) noexcept {
    const std::size_t n = src_.size();
    std::size_t p = begin;
    if (src_[p] == '0' && p + 1 < n && (src_[p + 1] == 'x' || src_[p + 1] == 'X')) {
        p += 2;
        while (p < n && is_hex(src_[p])) ++p;
        pos_ = p;
        return make(token_kind::blob, begin);
    }
    while (p < n && is_digit(src_[p])) ++p;
    bool is_float = false;
    if (p < n && src_[p] == '.') {
        is_float = true;
        ++p;
        while (p < n && is_digit(src_[p])) ++p;
    }
    if (p < n && (src_[p] == 'e' || src_[p] == 'E')) {
        std::size_t q = p + 1;
        if (q < n && (src_[q] == '+' || src_[q] == '-')) ++q;
        if (q < n && is_digit(src_[q])) {
            while (q < n && is_digit(src_[q])) ++q;
            pos_ = q;
            return make(token_kind::floating, begin);
        }
    }
    if (is_float) {
        pos_ = p;
        return make(token_kind::floating, begin);
    }
    // (digits unit)+ : a duration such as 1h30m. A trailing group of digits
    // without a unit is left for the next token.
    std::size_t end = p, q = p;
    while (std::size_t u = duration_unit(src_, q)) {
        q += u;
        end = q;
        std::size_t digits = q;
        while (digits < n && is_digit(src_[digits])) ++digits;
        if (digits == q) break;
        q = digits;
    }
    pos_ = end;
    return make(end == p ? token_kind::integer : token_kind::duration, begin);
}

token lexer::next() noexcept {
    if (failed_) return failure_;
    token err;
    if (!skip_space_and_comments(err)) return err;
    const std::size_t n = src_.size();
    const std::size_t b = pos_;
    if (b >= n) return make(token_kind::eof, b);
    const char c = src_[b];
    auto single = [&](token_kind k) {
        pos_ = b + 1;
        return make(k, b);
    };
    auto with_eq = [&](token_kind plain, token_kind eq) {
        bool e = b + 1 < n && src_[b + 1] == '=';
        pos_ = b + (e ? 2 : 1);
        return make(e ? eq : plain, b);
    };

    if (is_hex(c) && uuid_at(src_, b)) {
        pos_ = b + 36;
        return make(token_kind::uuid, b);
    }
    if (is_digit(c)) return number(b);
    if (is_letter(c)) {
        if ((c == 'P' || c == 'p') && iso_alternative_at(src_, b)) {
            pos_ = b + 20;
            return make(token_kind::duration, b);
        }
        std::size_t p = b + 1;
        while (p < n && is_ident_char(src_[p])) ++p;
        pos_ = p;
        return make(token_kind::ident, b);
    }
    switch (c) {
        case '\'': return quoted(b, '\'', token_kind::string, lex_error::unterminated_string);
        case '"': return quoted(b, '"', token_kind::quoted_ident, lex_error::unterminated_quoted_name);
        case '$':
            if (b + 1 < n && src_[b + 1] == '$') {
                auto close = src_.find("$$", b + 2);
                if (close == std::string_view::npos) return fail(lex_error::unterminated_dollar_string, n, 0);
                pos_ = close + 2;
                return make(token_kind::string, b);
            }
            break;
        case '?': return single(token_kind::qmark);
        case ':': return single(token_kind::colon);
        case '(': return single(token_kind::lparen);
        case ')': return single(token_kind::rparen);
        case '[': return single(token_kind::lbracket);
        case ']': return single(token_kind::rbracket);
        case '{': return single(token_kind::lbrace);
        case '}': return single(token_kind::rbrace);
        case ',': return single(token_kind::comma);
        case ';': return single(token_kind::semicolon);
        case '.': return single(token_kind::dot);
        case '*': return single(token_kind::star);
        case '/': return single(token_kind::slash);
        case '%': return single(token_kind::percent);
        case '=': return single(token_kind::eq);
        case '<': return with_eq(token_kind::lt, token_kind::lte);
        case '>': return with_eq(token_kind::gt, token_kind::gte);
        case '+': return with_eq(token_kind::plus, token_kind::plus_eq);
        case '-': return with_eq(token_kind::minus, token_kind::minus_eq);
        case '!':
            if (b + 1 < n && src_[b + 1] == '=') {
                pos_ = b + 2;
                return make(token_kind::neq, b);
            }
            break;
        default: break;
    }
    std::size_t len = utf8_length(static_cast<unsigned char>(c));
    if (len > n - b) len = 1;
    return fail(lex_error::bad_character, b, len);
}

}  // namespace cqlpp::sim::detail
