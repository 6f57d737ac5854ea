#include "cqlpp/bulk/detail/json.hpp"

#include "cqlpp/protocol/detail/text.hpp"

#include <cstdint>

namespace cqlpp::bulk::detail {

namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t n = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    return protocol::detail::is_valid_utf8(s.substr(i, n)) ? n : 0;
}

class parser {
public:
    explicit parser(std::string_view s) noexcept : s_(s) {}

    bool run(json_value& out, std::string& error) {
        skip_ws();
        if (!value(out, 0)) {
            error = "offset " + std::to_string(pos_) + ": " + error_;
            return false;
        }
        skip_ws();
        if (pos_ != s_.size()) {
            error = "offset " + std::to_string(pos_) + ": unexpected text after the JSON value";
            return false;
        }
        return true;
    }

private:
    bool fail(std::string msg) {
        if (error_.empty()) error_ = std::move(msg);
        return false;
    }
    void skip_ws() noexcept {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
    }
    bool literal(std::string_view word) noexcept {
        if (s_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    bool value(json_value& out, int depth) {
        if (depth > max_json_depth) return fail("nested too deeply");
        if (pos_ >= s_.size()) return fail("unexpected end of input");
        out = json_value{};
        const char c = s_[pos_];
        if (c == '{') return object(out, depth);
        if (c == '[') return array(out, depth);
        if (c == '"') {
            out.type = json_value::kind::string;
            return string(out.text);
        }
        if (c == '-' || is_digit(c)) return number(out);
        if (literal("true")) {
            out.type = json_value::kind::boolean;
            out.boolean = true;
            return true;
        }
        if (literal("false")) {
            out.type = json_value::kind::boolean;
            return true;
        }
        if (literal("null")) return true;
        return fail("expected a JSON value");
    }

    bool number(json_value& out) {
        std::size_t start = pos_;
        if (s_[pos_] == '-') ++pos_;
        while (pos_ < s_.size() && (is_digit(s_[pos_]) || s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E' ||
                                    s_[pos_] == '+' || s_[pos_] == '-'))
            ++pos_;
        auto text = s_.substr(start, pos_ - start);
        if (!is_json_number(text)) {
            pos_ = start;
            return fail("malformed number");
        }
        out.type = json_value::kind::number;
        out.text.assign(text);
        return true;
    }

    bool hex4(std::uint32_t& v) noexcept {
        if (s_.size() - pos_ < 4) return false;
        v = 0;
        for (int i = 0; i < 4; ++i) {
            int d = hex_digit(s_[pos_ + static_cast<std::size_t>(i)]);
            if (d < 0) return false;
            v = v << 4 | static_cast<std::uint32_t>(d);
        }
        pos_ += 4;
        return true;
    }

    bool string(std::string& out) {
        ++pos_;  // opening quote
        for (;;) {
            // Copy a run of plain bytes at once, validating it as UTF-8.
            std::size_t run = pos_;
            while (run < s_.size() && s_[run] != '"' && s_[run] != '\\' && static_cast<unsigned char>(s_[run]) >= 0x20)
                ++run;
            auto chunk = s_.substr(pos_, run - pos_);
            if (!protocol::detail::is_valid_utf8(chunk)) return fail("string is not valid UTF-8");
            out.append(chunk);
            pos_ = run;
            if (pos_ >= s_.size()) return fail("unterminated string");
            const char c = s_[pos_++];
            if (c == '"') return true;
            if (c != '\\') {
                --pos_;
                return fail("control character in string");
            }
            if (pos_ >= s_.size()) return fail("unterminated string");
            switch (s_[pos_++]) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    std::uint32_t cp = 0;
                    if (!hex4(cp)) return fail("bad \\u escape");
                    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate in \\u escape");
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        std::uint32_t lo = 0;
                        if (!literal("\\u") || !hex4(lo) || lo < 0xDC00 || lo > 0xDFFF)
                            return fail("high surrogate without a low surrogate");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    append_utf8(out, cp);
                    break;
                }
                default: --pos_; return fail("bad escape in string");
            }
        }
    }

    bool array(json_value& out, int depth) {
        ++pos_;
        out.type = json_value::kind::array;
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == ']') {
            ++pos_;
            return true;
        }
        for (;;) {
            skip_ws();
            out.items.emplace_back();
            if (!value(out.items.back(), depth + 1)) return false;
            skip_ws();
            if (pos_ >= s_.size()) return fail("unterminated array");
            const char c = s_[pos_++];
            if (c == ']') return true;
            if (c != ',') {
                --pos_;
                return fail("expected ',' or ']' in array");
            }
        }
    }

    bool object(json_value& out, int depth) {
        ++pos_;
        out.type = json_value::kind::object;
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == '}') {
            ++pos_;
            return true;
        }
        for (;;) {
            skip_ws();
            if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected a string key in object");
            out.keys.emplace_back();
            if (!string(out.keys.back())) return false;
            skip_ws();
            if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected ':' after object key");
            ++pos_;
            skip_ws();
            out.items.emplace_back();
            if (!value(out.items.back(), depth + 1)) return false;
            skip_ws();
            if (pos_ >= s_.size()) return fail("unterminated object");
            const char c = s_[pos_++];
            if (c == '}') return true;
            if (c != ',') {
                --pos_;
                return fail("expected ',' or '}' in object");
            }
        }
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    std::string error_;
};

}  // namespace

const json_value* json_value::find(std::string_view key) const noexcept {
    for (std::size_t i = 0; i < keys.size(); ++i)
        if (keys[i] == key) return &items[i];
    return nullptr;
}

bool is_json_number(std::string_view s) noexcept {
    std::size_t i = 0;
    if (i < s.size() && s[i] == '-') ++i;
    if (i >= s.size()) return false;
    if (s[i] == '0') {
        ++i;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < s.size() && is_digit(s[i])) ++i;
    } else {
        return false;
    }
    if (i < s.size() && s[i] == '.') {
        ++i;
        if (i >= s.size() || !is_digit(s[i])) return false;
        while (i < s.size() && is_digit(s[i])) ++i;
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        if (i >= s.size() || !is_digit(s[i])) return false;
        while (i < s.size() && is_digit(s[i])) ++i;
    }
    return i == s.size();
}

bool parse_json(std::string_view text, json_value& out, std::string& error) { return parser(text).run(out, error); }

void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            std::size_t n = utf8_sequence(s, i);
            if (n == 0) {
                out += "\xEF\xBF\xBD";  // U+FFFD for a byte that starts no valid sequence
                ++i;
            } else {
                out.append(s.substr(i, n));
                i += n;
            }
            continue;
        }
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 0xF];
                } else {
                    out += static_cast<char>(c);
                }
        }
        ++i;
    }
    out += '"';
}

void append_json(std::string& out, const json_value& v) {
    switch (v.type) {
        case json_value::kind::null: out += "null"; return;
        case json_value::kind::boolean: out += v.boolean ? "true" : "false"; return;
        case json_value::kind::number: out += v.text; return;
        case json_value::kind::string: append_json_string(out, v.text); return;
        case json_value::kind::array:
            out += '[';
            for (std::size_t i = 0; i < v.items.size(); ++i) {
                if (i) out += ',';
                append_json(out, v.items[i]);
            }
            out += ']';
            return;
        case json_value::kind::object:
            out += '{';
            for (std::size_t i = 0; i < v.items.size(); ++i) {
                if (i) out += ',';
                append_json_string(out, i < v.keys.size() ? std::string_view(v.keys[i]) : std::string_view());
                out += ':';
                append_json(out, v.items[i]);
            }
            out += '}';
            return;
    }
}

}  // namespace cqlpp::bulk::detail
