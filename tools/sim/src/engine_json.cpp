// INSERT JSON and fromJson(): Cassandra's decoding of JSON values, the inverse
// of toJson (engine_functions.cpp). Each JSON value is turned into the CQL
// literal Cassandra would accept for the column's type and read back with
// protocol::parse_literal, so literal and JSON values share one decoder.
#include "engine_internal.hpp"

#include "cqlpp/protocol/literal.hpp"

#include <cctype>
#include <charconv>
#include <stdexcept>

namespace cqlpp::sim::detail {

namespace {

struct json_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct jvalue {
    enum class kind : std::uint8_t { null, boolean, number, string, array, object } k = kind::null;
    std::string text;           // number: as written; string: decoded; boolean: true/false
    std::vector<jvalue> items;  // array: elements; object: key (string), value, key, value, ...
};

class jparser {
public:
    explicit jparser(std::string_view s) : s_(s) {}

    // The whole input is one value; `err` says why not.
    bool document(jvalue& out, std::string& err) {
        if (!value(out, 0)) {
            err = err_.empty() ? "Unexpected end-of-input" : err_;
            return false;
        }
        skip();
        if (i_ != s_.size()) {
            err = "Unexpected character ('" + std::string(1, s_[i_]) + "') after the JSON value";
            return false;
        }
        return true;
    }

private:
    std::string_view s_;
    std::size_t i_ = 0;
    std::string err_;

    void skip() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }
    bool fail(std::string m) {
        if (err_.empty()) err_ = std::move(m);
        return false;
    }
    bool literal(std::string_view word) {
        if (s_.substr(i_, word.size()) != word) return fail("Unrecognized token at offset " + std::to_string(i_));
        i_ += word.size();
        return true;
    }
    static void put_utf8(std::string& o, std::uint32_t cp) {
        if (cp < 0x80) {
            o += static_cast<char>(cp);
        } else if (cp < 0x800) {
            o += static_cast<char>(0xC0 | (cp >> 6));
            o += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            o += static_cast<char>(0xE0 | (cp >> 12));
            o += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            o += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            o += static_cast<char>(0xF0 | (cp >> 18));
            o += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            o += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            o += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }
    bool hex4(std::uint32_t& cp) {
        if (i_ + 4 > s_.size()) return fail("Unexpected end-of-input in \\u escape");
        cp = 0;
        for (int k = 0; k < 4; ++k) {
            char c = s_[i_++];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0) return fail("Unexpected character in \\u escape");
            cp = cp * 16 + static_cast<std::uint32_t>(d);
        }
        return true;
    }
    bool string(std::string& o) {
        ++i_;  // opening quote
        while (i_ < s_.size()) {
            char c = s_[i_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return fail("Illegal unquoted control character in string");
            if (c != '\\') {
                o += c;
                continue;
            }
            if (i_ >= s_.size()) break;
            char e = s_[i_++];
            switch (e) {
                case '"': o += '"'; break;
                case '\\': o += '\\'; break;
                case '/': o += '/'; break;
                case 'b': o += '\b'; break;
                case 'f': o += '\f'; break;
                case 'n': o += '\n'; break;
                case 'r': o += '\r'; break;
                case 't': o += '\t'; break;
                case 'u': {
                    std::uint32_t cp = 0;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(i_, 2) == "\\u") {
                        i_ += 2;
                        std::uint32_t lo = 0;
                        if (!hex4(lo)) return false;
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    put_utf8(o, cp);
                    break;
                }
                default: return fail("Unrecognized character escape '" + std::string(1, e) + "'");
            }
        }
        return fail("Unexpected end-of-input in a string");
    }
    bool number(std::string& o) {
        std::size_t b = i_;
        if (s_[i_] == '-') ++i_;
        auto digits = [&] {
            std::size_t d = i_;
            while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
            return i_ > d;
        };
        if (!digits()) return fail("Unexpected character in a number");
        if (i_ < s_.size() && s_[i_] == '.' && (++i_, !digits())) return fail("Unexpected character in a number");
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
            if (!digits()) return fail("Unexpected character in a number");
        }
        o.assign(s_.substr(b, i_ - b));
        return true;
    }
    bool value(jvalue& v, int depth) {
        if (depth > 64) return fail("JSON nesting too deep");
        skip();
        if (i_ >= s_.size()) return fail("Unexpected end-of-input");
        char c = s_[i_];
        if (c == '{' || c == '[') {
            const char close = c == '{' ? '}' : ']';
            v.k = c == '{' ? jvalue::kind::object : jvalue::kind::array;
            ++i_;
            skip();
            if (i_ < s_.size() && s_[i_] == close) return ++i_, true;
            for (;;) {
                if (v.k == jvalue::kind::object) {
                    skip();
                    if (i_ >= s_.size() || s_[i_] != '"') return fail("Was expecting double-quote to start field name");
                    auto& key = v.items.emplace_back();
                    key.k = jvalue::kind::string;
                    if (!string(key.text)) return false;
                    skip();
                    if (i_ >= s_.size() || s_[i_] != ':') return fail("Was expecting a colon to separate field name and value");
                    ++i_;
                }
                if (!value(v.items.emplace_back(), depth + 1)) return false;
                skip();
                if (i_ < s_.size() && s_[i_] == ',') {
                    ++i_;
                    continue;
                }
                if (i_ < s_.size() && s_[i_] == close) return ++i_, true;
                return fail(std::string("Unexpected character: was expecting comma or '") + close + "'");
            }
        }
        if (c == '"') {
            v.k = jvalue::kind::string;
            return string(v.text);
        }
        if (c == 't' || c == 'f') {
            v.k = jvalue::kind::boolean;
            v.text = c == 't' ? "true" : "false";
            return literal(v.text);
        }
        if (c == 'n') {
            v.k = jvalue::kind::null;
            return literal("null");
        }
        if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
            v.k = jvalue::kind::number;
            return number(v.text);
        }
        return fail("Unexpected character ('" + std::string(1, c) + "')");
    }
};

void write_json(std::string& o, const jvalue& v) {
    switch (v.k) {
        case jvalue::kind::null: o += "null"; return;
        case jvalue::kind::boolean:
        case jvalue::kind::number: o += v.text; return;
        case jvalue::kind::string: append_json_string(o, v.text); return;
        case jvalue::kind::array:
        case jvalue::kind::object: {
            const bool obj = v.k == jvalue::kind::object;
            o += obj ? '{' : '[';
            for (std::size_t i = 0; i < v.items.size(); ++i) {
                if (i > 0) o += obj && i % 2 == 1 ? ": " : ", ";
                write_json(o, v.items[i]);
            }
            o += obj ? '}' : ']';
            return;
        }
    }
}

// The Java class Cassandra's JSON parser gives a value, for its messages.
std::string java_class(const jvalue& v) {
    switch (v.k) {
        case jvalue::kind::null: return "null";
        case jvalue::kind::boolean: return "Boolean";
        case jvalue::kind::string: return "String";
        case jvalue::kind::array: return "ArrayList";
        case jvalue::kind::object: return "LinkedHashMap";
        case jvalue::kind::number:
            if (v.text.find_first_of(".eE") != std::string::npos) return "Double";
            return v.text.size() > 18 ? "BigInteger" : v.text.size() > 9 ? "Long" : "Integer";
    }
    return "Object";
}

std::string shown(const jvalue& v) {
    if (v.k == jvalue::kind::string) return v.text;
    std::string o;
    write_json(o, v);
    return o;
}

[[noreturn]] void expected(std::string_view what, const jvalue& v) {
    throw json_error("Expected " + std::string(what) + ", but got a " + java_class(v) + ": " + shown(v));
}

void quote(std::string& o, std::string_view s) {
    o += '\'';
    for (char c : s) {
        if (c == '\'') o += '\'';
        o += c;
    }
    o += '\'';
}

// Keys of JSON objects name columns and UDT fields: "\"Quoted\"" verbatim, others folded.
std::string json_name(std::string_view key) {
    if (key.size() >= 2 && key.front() == '"' && key.back() == '"') return std::string(key.substr(1, key.size() - 2));
    std::string s(key);
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Types whose JSON form is a string (toJson quotes them), so a map key of that
// type is the key string itself rather than JSON inside the string.
bool string_form(type_kind k) {
    switch (k) {
        case type_kind::ascii: case type_kind::text: case type_kind::uuid:
        case type_kind::timeuuid: case type_kind::timestamp: case type_kind::date: case type_kind::time:
        case type_kind::inet: case type_kind::blob: case type_kind::duration: case type_kind::custom:
            return true;
        default: return false;
    }
}

// Appends the CQL literal for `v` as a value of `t`; throws json_error with
// Cassandra's MarshalException wording.
void to_literal(const cql_type& t, const jvalue& v, std::string& o, bool in_collection) {
    using K = jvalue::kind;
    if (v.k == K::null) {
        if (in_collection) throw json_error("Invalid null element in " + std::string(t.kind == type_kind::map ? "map" : "collection"));
        o += "null";
        return;
    }
    switch (t.kind) {
        case type_kind::ascii:
            if (v.k != K::string) expected("an ascii string", v);
            quote(o, v.text);
            return;
        case type_kind::text:
       
            if (v.k != K::string) expected("a UTF-8 string", v);
            quote(o, v.text);
            return;
        case type_kind::tinyint: case type_kind::smallint: case type_kind::int_: case type_kind::bigint:
        case type_kind::counter: case type_kind::varint: case type_kind::decimal: case type_kind::float_:
        case type_kind::double_: {
            if (v.k != K::number && v.k != K::string) expected("a number", v);
            std::string_view s = v.text;
            while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
            while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
            if (s.empty() || s.find_first_of("'[]{}(),:") != std::string_view::npos)
                throw json_error("Unable to make " + type_display(t) + " from '" + v.text + "'");
            o += s;
            return;
        }
        case type_kind::boolean:
            if (v.k == K::boolean) o += v.text;
            else if (v.k == K::string && (v.text == "true" || v.text == "false")) o += v.text;
            else if (v.k == K::string) throw json_error("Unable to make boolean from '" + v.text + "'");
            else expected("a boolean value", v);
            return;
        case type_kind::uuid:
        case type_kind::timeuuid:
            if (v.k != K::string) expected("a string representation of a uuid", v);
            quote(o, v.text);
            return;
        case type_kind::timestamp:
            if (v.k == K::number && v.text.find_first_of(".eE") == std::string::npos) o += v.text;
            else if (v.k == K::string) quote(o, v.text);
            else expected("a long or a datestring representation of a timestamp value", v);
            return;
        case type_kind::date:
            if (v.k == K::number && v.text.find_first_of(".eE") == std::string::npos) o += v.text;
            else if (v.k == K::string) quote(o, v.text);
            else expected("an int or a string representing a date", v);
            return;
        case type_kind::time:
            if (v.k == K::number && v.text.find_first_of(".eE") == std::string::npos) o += v.text;
            else if (v.k == K::string) quote(o, v.text);
            else expected("a long or a string representation of a time value", v);
            return;
        case type_kind::inet:
            if (v.k != K::string) expected("a string representation of an inet value", v);
            quote(o, v.text);
            return;
        case type_kind::duration:
            if (v.k != K::string) expected("a string representation of a duration", v);
            quote(o, v.text);
            return;
        case type_kind::blob:
        case type_kind::custom:
            if (v.k != K::string) expected("a string representation of a blob", v);
            if (v.text.size() < 2 || v.text[0] != '0' || (v.text[1] != 'x' && v.text[1] != 'X'))
                throw json_error("String representation of blob is missing 0x prefix: " + v.text);
            o += v.text;
            return;
        case type_kind::list:
        case type_kind::set:
        case type_kind::vector: {
            if (v.k != K::array) expected(t.kind == type_kind::set ? "a list (representing a set)" : "a list", v);
            if (t.kind == type_kind::vector && v.items.size() != t.dimension)
                throw json_error("Invalid vector literal for " + type_display(t) + "; expected " +
                                         std::to_string(t.dimension) + " elements, but given " + std::to_string(v.items.size()));
            o += t.kind == type_kind::set ? '{' : '[';
            for (std::size_t i = 0; i < v.items.size(); ++i) {
                if (i > 0) o += ", ";
                to_literal(t.params.at(0), v.items[i], o, true);
            }
            o += t.kind == type_kind::set ? '}' : ']';
            return;
        }
        case type_kind::map: {
            if (v.k != K::object) expected("a map", v);
            o += '{';
            for (std::size_t i = 0; i + 1 < v.items.size(); i += 2) {
                if (i > 0) o += ", ";
                const auto& key = v.items[i];
                if (string_form(t.params.at(0).kind)) {
                    to_literal(t.params[0], key, o, true);
                } else {
                    // The key is JSON inside a string ("1", "[1, 2]"); a bare word stays a string.
                    jvalue inner;
                    std::string err;
                    if (!jparser(key.text).document(inner, err)) inner = key;
                    to_literal(t.params[0], inner, o, true);
                }
                o += ": ";
                to_literal(t.params.at(1), v.items[i + 1], o, true);
            }
            o += '}';
            return;
        }
        case type_kind::udt: {
            if (v.k != K::object) expected("a map", v);
            o += '{';
            for (std::size_t i = 0; i + 1 < v.items.size(); i += 2) {
                auto name = json_name(v.items[i].text);
                std::size_t f = 0;
                while (f < t.field_names.size() && t.field_names[f] != name) ++f;
                if (f == t.field_names.size())
                    throw json_error("Unknown field '" + name + "' in value of user defined type " + t.name);
                if (i > 0) o += ", ";
                o += '"';
                for (char c : name) {
                    if (c == '"') o += '"';
                    o += c;
                }
                o += "\": ";
                to_literal(t.params.at(f), v.items[i + 1], o, false);
            }
            o += '}';
            return;
        }
        case type_kind::tuple: {
            if (v.k != K::array) expected("a list representation of a tuple", v);
            if (v.items.size() > t.params.size())
                throw json_error("Tuple contains extra items (expected " + std::to_string(t.params.size()) +
                                         "): " + shown(v));
            o += '(';
            for (std::size_t i = 0; i < v.items.size(); ++i) {
                if (i > 0) o += ", ";
                to_literal(t.params[i], v.items[i], o, false);
            }
            o += ')';
            return;
        }
        default: expected("a value of type " + type_display(t), v);
    }
}

// Decodes one value; false for null. Throws runtime_error (message without the column prefix).
bool decode_value(const cql_type& t, const jvalue& v, byte_buffer& out) {
    if (v.k == jvalue::kind::null) return false;
    std::string lit;
    to_literal(t, v, lit, false);
    proto::cql_value cv;
    auto e = proto::parse_literal(t, lit, cv);
    if (e == proto::errc::null_not_allowed) throw json_error("Invalid null element in collection");
    if (e == proto::errc::value_out_of_range)
        throw json_error("Value " + shown(v) + " is out of range for " + type_display(t));
    if (e != proto::errc::ok) throw json_error("Unable to make " + type_display(t) + " from '" + shown(v) + "'");
    out.clear();
    if (proto::encode_value(t, cv, out) != proto::errc::ok)
        throw json_error("Unable to make " + type_display(t) + " from '" + shown(v) + "'");
    return true;
}

}  // namespace

void decode_insert_json(const table_def& t, std::string_view json, bool default_unset, exec_ctx& ctx,
                        std::vector<value_view>& out) {
    jvalue doc;
    std::string err;
    if (!jparser(json).document(doc, err))
        throw_invalid("Could not decode JSON string as a map: com.fasterxml.jackson.core.JsonParseException: " + err);
    if (doc.k != jvalue::kind::object)
        throw_invalid("Could not decode JSON string as a map: " + std::string(doc.k == jvalue::kind::null ? "null" : shown(doc)));
    out.assign(t.columns.size(), default_unset ? value_view::unset() : value_view::null());
    for (std::size_t i = 0; i + 1 < doc.items.size(); i += 2) {
        auto name = json_name(doc.items[i].text);
        auto it = t.by_name.find(name);
        if (it == t.by_name.end()) throw_invalid("JSON values map contains unrecognized column: " + name);
        const auto& c = t.columns[static_cast<std::size_t>(it->second)];
        auto& buf = ctx.scratch.emplace_back();
        try {
            out[static_cast<std::size_t>(it->second)] = decode_value(c.type, doc.items[i + 1], buf) ? value_view::of(buf) : value_view::null();
        } catch (const json_error& e) {
            throw_invalid("Error decoding JSON value for " + c.name + ": " + e.what());
        }
    }
}

bool from_json(const cql_type& t, std::string_view json, byte_buffer& out) {
    jvalue doc;
    std::string err;
    if (!jparser(json).document(doc, err))
        throw_invalid("Could not decode JSON string '" + std::string(json) + "': " + err);
    try {
        return decode_value(t, doc, out);
    } catch (const json_error& e) {
        throw_invalid("Unable to make " + type_display(t) + " from '" + std::string(json) + "': " + e.what());
    }
}

}  // namespace cqlpp::sim::detail

namespace cqlpp::sim {

namespace {

using detail::jparser;
using detail::jvalue;

[[noreturn]] void bad_spec(const std::string& where, const std::string& what) {
    throw std::invalid_argument("prime: " + where + what);
}

const char* kind_name(jvalue::kind k) {
    switch (k) {
        case jvalue::kind::null: return "null";
        case jvalue::kind::boolean: return "a boolean";
        case jvalue::kind::number: return "a number";
        case jvalue::kind::string: return "a string";
        case jvalue::kind::array: return "an array";
        case jvalue::kind::object: return "an object";
    }
    return "?";
}

// A CQL literal from a JSON scalar: strings as written (they are literals
// already: "'apple'"), numbers and booleans as their text, null as null.
std::string literal_of(const jvalue& v, const std::string& where) {
    if (v.k == jvalue::kind::string || v.k == jvalue::kind::number || v.k == jvalue::kind::boolean) return v.text;
    if (v.k == jvalue::kind::null) return "null";
    bad_spec(where, " must be a CQL literal (a string, number, boolean or null), not " + std::string(kind_name(v.k)));
}

std::vector<std::string> literals_of(const jvalue& v, const std::string& where) {
    if (v.k != jvalue::kind::array) bad_spec(where, " must be an array");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < v.items.size(); ++i) out.push_back(literal_of(v.items[i], where + "[" + std::to_string(i) + "]"));
    return out;
}

std::string string_of(const jvalue& v, const std::string& where) {
    if (v.k != jvalue::kind::string) bad_spec(where, " must be a string, not " + std::string(kind_name(v.k)));
    return v.text;
}

std::vector<std::string> strings_of(const jvalue& v, const std::string& where) {
    if (v.k != jvalue::kind::array) bad_spec(where, " must be an array of strings");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < v.items.size(); ++i) out.push_back(string_of(v.items[i], where + "[" + std::to_string(i) + "]"));
    return out;
}

int int_of(const jvalue& v, const std::string& where) {
    int n = 0;
    const char* b = v.text.data();
    const char* e = b + v.text.size();
    if (v.k != jvalue::kind::number || std::from_chars(b, e, n) != std::from_chars_result{e, std::errc()})
        bad_spec(where, " must be a whole number that fits in an int");
    return n;
}

prime_spec spec_of(const jvalue& o, const std::string& where) {
    if (o.k != jvalue::kind::object) bad_spec(where, "a rule must be a JSON object, not " + std::string(kind_name(o.k)));
    prime_spec s;
    for (std::size_t i = 0; i + 1 < o.items.size(); i += 2) {
        const std::string& key = o.items[i].text;
        const jvalue& v = o.items[i + 1];
        const std::string at = where + key;
        if (key == "query") s.query = string_of(v, at);
        else if (key == "match") s.match = string_of(v, at);
        else if (key == "node") {
            if (v.k != jvalue::kind::null) s.node = int_of(v, at);
        } else if (key == "consistency") s.consistency = string_of(v, at);
        else if (key == "params") s.params = strings_of(v, at);
        else if (key == "values") s.values = literals_of(v, at);
        else if (key == "then") s.then = string_of(v, at);
        else if (key == "columns") s.columns = strings_of(v, at);
        else if (key == "rows") {
            if (v.k != jvalue::kind::array) bad_spec(at, " must be an array of rows (arrays of CQL literals)");
            for (std::size_t r = 0; r < v.items.size(); ++r) s.rows.push_back(literals_of(v.items[r], at + "[" + std::to_string(r) + "]"));
        } else if (key == "error") s.error = v.k == jvalue::kind::number ? v.text : string_of(v, at);
        else if (key == "message") s.message = string_of(v, at);
        else if (key == "error_consistency") s.error_consistency = string_of(v, at);
        else if (key == "required") s.required = int_of(v, at);
        else if (key == "alive") s.alive = int_of(v, at);
        else if (key == "received") s.received = int_of(v, at);
        else if (key == "block_for") s.block_for = int_of(v, at);
        else if (key == "data_present") {
            if (v.k != jvalue::kind::boolean) bad_spec(at, " must be true or false");
            s.data_present = v.text == "true";
        } else if (key == "write_type") s.write_type = string_of(v, at);
        else if (key == "delay_ms") s.delay_ms = int_of(v, at);
        else if (key == "times") s.times = int_of(v, at);
        else
            bad_spec(where, "unknown field '" + key +
                                "' (query, match, node, consistency, params, values, then, columns, rows, error, message, "
                                "error_consistency, required, alive, received, block_for, data_present, write_type, "
                                "delay_ms, times)");
    }
    return s;
}

}  // namespace

std::vector<prime_spec> parse_prime_specs_json(std::string_view json) {
    jvalue doc;
    std::string err;
    if (!jparser(json).document(doc, err)) throw std::invalid_argument("prime: not valid JSON: " + err);
    std::vector<prime_spec> out;
    if (doc.k == jvalue::kind::array) {
        for (std::size_t i = 0; i < doc.items.size(); ++i) out.push_back(spec_of(doc.items[i], "rule " + std::to_string(i) + ": "));
    } else {
        out.push_back(spec_of(doc, ""));
    }
    return out;
}

}  // namespace cqlpp::sim
