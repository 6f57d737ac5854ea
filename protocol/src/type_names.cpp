// Type names: the CQL text form ("map<text, frozen<list<int>>>") and the
// Cassandra marshal-class form ("org.apache.cassandra.db.marshal.MapType(...)").
//
// Both parsers are recursive descent with an explicit depth bound
// (max_type_depth), so hostile input cannot exhaust the stack.
#include "cqlpp/protocol/types.hpp"

#include <array>
#include <charconv>

namespace cqlpp::protocol {

namespace {

constexpr std::string_view marshal_package = "org.apache.cassandra.db.marshal.";

struct native_type {
    type_kind kind;
    std::string_view cql;
    std::string_view marshal;  // class name without the package
};

constexpr std::array<native_type, 20> native_types{{
    {type_kind::ascii, "ascii", "AsciiType"},
    {type_kind::bigint, "bigint", "LongType"},
    {type_kind::blob, "blob", "BytesType"},
    {type_kind::boolean, "boolean", "BooleanType"},
    {type_kind::counter, "counter", "CounterColumnType"},
    {type_kind::decimal, "decimal", "DecimalType"},
    {type_kind::double_, "double", "DoubleType"},
    {type_kind::float_, "float", "FloatType"},
    {type_kind::int_, "int", "Int32Type"},
    {type_kind::timestamp, "timestamp", "TimestampType"},
    {type_kind::uuid, "uuid", "UUIDType"},
    {type_kind::text, "text", "UTF8Type"},
    {type_kind::varint, "varint", "IntegerType"},
    {type_kind::timeuuid, "timeuuid", "TimeUUIDType"},
    {type_kind::inet, "inet", "InetAddressType"},
    {type_kind::date, "date", "SimpleDateType"},
    {type_kind::time, "time", "TimeType"},
    {type_kind::smallint, "smallint", "ShortType"},
    {type_kind::tinyint, "tinyint", "ByteType"},
    {type_kind::duration, "duration", "DurationType"},
}};

const native_type* find_native(type_kind k) noexcept {
    for (const auto& n : native_types)
        if (n.kind == k) return &n;
    return nullptr;
}

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_ident_start(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) noexcept { return is_ident_start(c) || (c >= '0' && c <= '9'); }

// Words the type-name parser treats as keywords; a UDT with such a name must be quoted.
constexpr std::array<std::string_view, 7> structural_keywords{"frozen", "list", "set", "map", "tuple", "vector",
                                                              "varchar"};

bool is_type_keyword(std::string_view s) noexcept {
    for (auto k : structural_keywords)
        if (iequals(s, k)) return true;
    for (const auto& n : native_types)
        if (iequals(s, n.cql)) return true;
    return false;
}

// CQL identifiers: bare when lowercase and unambiguous, else "double quoted".
void append_identifier(std::string& out, std::string_view id) {
    bool bare = !id.empty() && is_ident_start(id[0]) && !is_type_keyword(id);
    for (char c : id)
        if (!is_ident_char(c) || (c >= 'A' && c <= 'Z')) bare = false;
    if (bare) {
        out += id;
        return;
    }
    out += '"';
    for (char c : id) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

void append_cql_name(std::string& out, const cql_type& t) {
    auto open_frozen = [&] {
        if (t.frozen) out += "frozen<";
    };
    auto close_frozen = [&] {
        if (t.frozen) out += '>';
    };
    switch (t.kind) {
        case type_kind::list:
        case type_kind::set:
            open_frozen();
            out += t.kind == type_kind::list ? "list<" : "set<";
            if (!t.params.empty()) append_cql_name(out, t.params[0]);
            out += '>';
            close_frozen();
            return;
        case type_kind::map:
            open_frozen();
            out += "map<";
            if (t.params.size() > 0) append_cql_name(out, t.params[0]);
            out += ", ";
            if (t.params.size() > 1) append_cql_name(out, t.params[1]);
            out += '>';
            close_frozen();
            return;
        case type_kind::tuple:
            open_frozen();
            out += "tuple<";
            for (std::size_t i = 0; i < t.params.size(); ++i) {
                if (i) out += ", ";
                append_cql_name(out, t.params[i]);
            }
            out += '>';
            close_frozen();
            return;
        case type_kind::udt:
            open_frozen();
            if (!t.keyspace.empty()) {
                append_identifier(out, t.keyspace);
                out += '.';
            }
            append_identifier(out, t.name);
            close_frozen();
            return;
        case type_kind::vector:
            out += "vector<";
            if (!t.params.empty()) append_cql_name(out, t.params[0]);
            out += ", ";
            out += std::to_string(t.dimension);
            out += '>';
            return;
        case type_kind::custom:
            out += '\'';
            for (char c : t.custom_class) {
                if (c == '\'') out += '\'';
                out += c;
            }
            out += '\'';
            return;
        default:
            if (const auto* n = find_native(t.kind)) out += n->cql;
            else out += "blob";  // unreachable for valid kinds
            return;
    }
}

// ---- CQL text form ----------------------------------------------------------

// Position, first error and the token helpers both type parsers share.
class type_text_cursor {
public:
    explicit type_text_cursor(std::string_view s) noexcept : s_(s) {}
    errc error() const noexcept { return err_; }

protected:
    std::optional<cql_type> fail(errc e) {
        if (err_ == errc::ok) err_ = e;
        return std::nullopt;
    }
    void skip_ws() noexcept {
        while (pos_ < s_.size() && is_space(s_[pos_])) ++pos_;
    }
    bool eat(char c) noexcept {
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    std::string_view s_;
    std::size_t pos_ = 0;
    errc err_ = errc::ok;
};

class cql_name_parser : type_text_cursor {
public:
    explicit cql_name_parser(std::string_view s) noexcept : type_text_cursor(s) {}
    using type_text_cursor::error;

    std::optional<cql_type> parse_all() {
        auto t = type(0);
        skip_ws();
        if (t && pos_ != s_.size()) return fail(errc::bad_type_name);
        return t;
    }

private:
    // An identifier: bare (case-folded to lower case) or "quoted" ("" escapes a quote).
    bool identifier(std::string& out, bool& quoted) {
        skip_ws();
        out.clear();
        quoted = false;
        if (pos_ >= s_.size()) return false;
        if (s_[pos_] == '"') {
            quoted = true;
            ++pos_;
            while (pos_ < s_.size()) {
                char c = s_[pos_++];
                if (c == '"') {
                    if (pos_ < s_.size() && s_[pos_] == '"') {
                        out += '"';
                        ++pos_;
                        continue;
                    }
                    return true;
                }
                out += c;
            }
            return false;  // unterminated
        }
        if (!is_ident_start(s_[pos_])) return false;
        while (pos_ < s_.size() && is_ident_char(s_[pos_])) out += lower(s_[pos_++]);
        return true;
    }
    bool single_quoted(std::string& out) {
        // The opening quote has been seen by the caller.
        ++pos_;
        while (pos_ < s_.size()) {
            char c = s_[pos_++];
            if (c == '\'') {
                if (pos_ < s_.size() && s_[pos_] == '\'') {
                    out += '\'';
                    ++pos_;
                    continue;
                }
                return true;
            }
            out += c;
        }
        return false;
    }

    std::optional<cql_type> type(int depth) {
        if (depth > max_type_depth) return fail(errc::type_nesting_too_deep);
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == '\'') {
            std::string cls;
            if (!single_quoted(cls) || cls.empty()) return fail(errc::bad_type_name);
            return cql_type::custom_of(std::move(cls));
        }
        std::string word;
        bool quoted = false;
        if (!identifier(word, quoted)) return fail(errc::bad_type_name);
        if (!quoted) {
            for (const auto& n : native_types)
                if (word == n.cql) return cql_type(n.kind);
            if (word == "varchar") return cql_type(type_kind::text);
            if (word == "frozen") return frozen(depth);
            if (word == "list" || word == "set") {
                auto elem = single_param(depth);
                if (!elem) return std::nullopt;
                return word == "list" ? cql_type::list_of(std::move(*elem)) : cql_type::set_of(std::move(*elem));
            }
            if (word == "map") return map(depth);
            if (word == "tuple") return tuple(depth);
            if (word == "vector") return vector(depth);
        }
        // Anything else names a user-defined type, optionally keyspace-qualified.
        std::string keyspace;
        if (eat('.')) {
            keyspace = std::move(word);
            if (!identifier(word, quoted)) return fail(errc::bad_type_name);
        }
        return cql_type::udt_of(std::move(keyspace), std::move(word), {}, {});
    }

    std::optional<cql_type> frozen(int depth) {
        if (!eat('<')) return fail(errc::bad_type_name);
        auto inner = type(depth + 1);
        if (!inner) return std::nullopt;
        if (!eat('>')) return fail(errc::bad_type_name);
        // Cassandra only freezes types that could otherwise be multi-cell.
        switch (inner->kind) {
            case type_kind::list:
            case type_kind::set:
            case type_kind::map:
            case type_kind::tuple:
            case type_kind::udt:
            case type_kind::vector: inner->frozen = true; return inner;
            default: return fail(errc::bad_type_name);
        }
    }
    std::optional<cql_type> single_param(int depth) {
        if (!eat('<')) return fail(errc::bad_type_name);
        auto elem = type(depth + 1);
        if (!elem) return std::nullopt;
        if (!eat('>')) return fail(errc::bad_type_name);
        return elem;
    }
    std::optional<cql_type> map(int depth) {
        if (!eat('<')) return fail(errc::bad_type_name);
        auto k = type(depth + 1);
        if (!k) return std::nullopt;
        if (!eat(',')) return fail(errc::bad_type_name);
        auto v = type(depth + 1);
        if (!v) return std::nullopt;
        if (!eat('>')) return fail(errc::bad_type_name);
        return cql_type::map_of(std::move(*k), std::move(*v));
    }
    std::optional<cql_type> tuple(int depth) {
        if (!eat('<')) return fail(errc::bad_type_name);
        std::vector<cql_type> elems;
        do {
            auto e = type(depth + 1);
            if (!e) return std::nullopt;
            elems.push_back(std::move(*e));
        } while (eat(','));
        if (!eat('>')) return fail(errc::bad_type_name);
        return cql_type::tuple_of(std::move(elems));
    }
    std::optional<cql_type> vector(int depth) {
        if (!eat('<')) return fail(errc::bad_type_name);
        auto elem = type(depth + 1);
        if (!elem) return std::nullopt;
        if (!eat(',')) return fail(errc::bad_type_name);
        skip_ws();
        std::uint32_t dim = 0;
        auto [p, ec] = std::from_chars(s_.data() + pos_, s_.data() + s_.size(), dim);
        if (ec != std::errc() || p == s_.data() + pos_) return fail(errc::bad_type_name);
        pos_ = static_cast<std::size_t>(p - s_.data());
        // Cassandra: 0 < dimension <= Integer.MAX_VALUE.
        if (dim == 0 || dim > 0x7FFFFFFFu) return fail(errc::bad_type_name);
        if (!eat('>')) return fail(errc::bad_type_name);
        return cql_type::vector_of(std::move(*elem), dim);
    }

};

// ---- Marshal-class form -----------------------------------------------------

// Cassandra's TypeParser.isIdentifierChar, plus '$' for nested Java classes.
bool is_class_char(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '+' ||
           c == '.' || c == '_' || c == '&' || c == '$';
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool unhex_string(std::string_view hex, std::string& out) {
    if (hex.size() % 2 != 0) return false;
    out.clear();
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
        if (hi < 0 || lo < 0) return false;
        out += static_cast<char>((hi << 4) | lo);
    }
    return true;
}

void append_hex(std::string& out, std::string_view s) {
    static constexpr char digits[] = "0123456789abcdef";
    for (unsigned char c : s) {
        out += digits[c >> 4];
        out += digits[c & 0xF];
    }
}

bool is_multi_cell_capable(type_kind k) noexcept {
    return k == type_kind::list || k == type_kind::set || k == type_kind::map || k == type_kind::tuple ||
           k == type_kind::udt;
}

// Mirrors AbstractType.toString(ignoreFreezing): a frozen collection/UDT/tuple is
// wrapped in FrozenType(...) and everything inside it is printed without wrappers.
// VectorType freezes its element type (VectorType.getInstance), hence force_frozen.
void append_marshal(std::string& out, const cql_type& t, bool ignore_freezing, bool force_frozen = false) {
    bool frozen = (t.frozen || force_frozen) && is_multi_cell_capable(t.kind);
    bool wrap = frozen && !ignore_freezing;
    bool inner_ignore = ignore_freezing || frozen;
    if (wrap) {
        out += marshal_package;
        out += "FrozenType(";
    }
    switch (t.kind) {
        case type_kind::custom: out += t.custom_class; break;
        case type_kind::list:
        case type_kind::set:
            out += marshal_package;
            out += t.kind == type_kind::list ? "ListType(" : "SetType(";
            if (!t.params.empty()) append_marshal(out, t.params[0], inner_ignore);
            out += ')';
            break;
        case type_kind::map:
            out += marshal_package;
            out += "MapType(";
            if (t.params.size() > 0) append_marshal(out, t.params[0], inner_ignore);
            out += ',';
            if (t.params.size() > 1) append_marshal(out, t.params[1], inner_ignore);
            out += ')';
            break;
        case type_kind::tuple:
            out += marshal_package;
            out += "TupleType(";
            for (std::size_t i = 0; i < t.params.size(); ++i) {
                if (i) out += ',';
                append_marshal(out, t.params[i], inner_ignore);
            }
            out += ')';
            break;
        case type_kind::udt:
            // UserType(keyspace,hex(name),hex(field1):type1,...) as TypeParser writes it.
            out += marshal_package;
            out += "UserType(";
            out += t.keyspace;
            out += ',';
            append_hex(out, t.name);
            for (std::size_t i = 0; i < t.params.size(); ++i) {
                out += ',';
                append_hex(out, i < t.field_names.size() ? std::string_view(t.field_names[i]) : std::string_view());
                out += ':';
                append_marshal(out, t.params[i], inner_ignore);
            }
            out += ')';
            break;
        case type_kind::vector:
            // Cassandra writes " , " (TypeParser.stringifyVectorParameters) and never FrozenType(VectorType).
            out += marshal_package;
            out += "VectorType(";
            if (!t.params.empty()) append_marshal(out, t.params[0], ignore_freezing, true);
            out += " , ";
            out += std::to_string(t.dimension);
            out += ')';
            break;
        default: {
            const auto* n = find_native(t.kind);
            out += marshal_package;
            out += n ? n->marshal : std::string_view("BytesType");
            break;
        }
    }
    if (wrap) out += ')';
}

class marshal_parser : type_text_cursor {
public:
    explicit marshal_parser(std::string_view s) noexcept : type_text_cursor(s) {}
    using type_text_cursor::error;

    std::optional<cql_type> parse_all() {
        auto t = type(0);
        skip_ws();
        if (t && pos_ != s_.size()) return fail(errc::bad_custom_type);
        return t;
    }

private:
    std::string_view word() noexcept {
        skip_ws();
        std::size_t start = pos_;
        while (pos_ < s_.size() && is_class_char(s_[pos_])) ++pos_;
        return s_.substr(start, pos_ - start);
    }
    // Skips a balanced "( ... )" group of an unknown class; the '(' is next.
    bool skip_group() noexcept {
        int level = 0;
        while (pos_ < s_.size()) {
            char c = s_[pos_++];
            if (c == '(') ++level;
            else if (c == ')' && --level == 0) return true;
        }
        return false;
    }
    bool peek(char c) noexcept {
        skip_ws();
        return pos_ < s_.size() && s_[pos_] == c;
    }

    std::optional<cql_type> type(int depth) {
        if (depth > max_type_depth) return fail(errc::type_nesting_too_deep);
        skip_ws();
        const std::size_t start = pos_;
        std::string_view cls = word();
        if (cls.empty()) return fail(errc::bad_custom_type);
        // Like TypeParser, a name without a package lives in the marshal package.
        std::string_view simple = cls;
        if (simple.starts_with(marshal_package)) simple.remove_prefix(marshal_package.size());
        else if (simple.find('.') != std::string_view::npos) simple = {};  // some other package: custom

        for (const auto& n : native_types)
            if (simple == n.marshal) return no_params(cql_type(n.kind));
        if (simple == "DateType") return no_params(cql_type(type_kind::timestamp));
        if (simple == "ReversedType") return single(depth);
        if (simple == "FrozenType") {
            auto inner = single(depth);
            if (inner) inner->frozen = true;
            return inner;
        }
        if (simple == "ListType" || simple == "SetType") {
            auto elem = single(depth);
            if (!elem) return std::nullopt;
            return simple == "ListType" ? cql_type::list_of(std::move(*elem)) : cql_type::set_of(std::move(*elem));
        }
        if (simple == "MapType") return map(depth);
        if (simple == "TupleType") return tuple(depth);
        if (simple == "UserType") return user(depth);
        if (simple == "VectorType") return vector(depth);

        // Unknown class: keep its whole text, parameters included.
        if (peek('(') && !skip_group()) return fail(errc::bad_custom_type);
        std::string_view text = s_.substr(start, pos_ - start);
        return cql_type::custom_of(std::string(text));
    }

    std::optional<cql_type> no_params(cql_type t) {
        if (peek('(')) return fail(errc::bad_custom_type);
        return t;
    }
    std::optional<cql_type> single(int depth) {
        if (!eat('(')) return fail(errc::bad_custom_type);
        auto inner = type(depth + 1);
        if (!inner) return std::nullopt;
        if (!eat(')')) return fail(errc::bad_custom_type);
        return inner;
    }
    std::optional<cql_type> map(int depth) {
        if (!eat('(')) return fail(errc::bad_custom_type);
        auto k = type(depth + 1);
        if (!k) return std::nullopt;
        if (!eat(',')) return fail(errc::bad_custom_type);
        auto v = type(depth + 1);
        if (!v) return std::nullopt;
        if (!eat(')')) return fail(errc::bad_custom_type);
        return cql_type::map_of(std::move(*k), std::move(*v));
    }
    std::optional<cql_type> tuple(int depth) {
        if (!eat('(')) return fail(errc::bad_custom_type);
        std::vector<cql_type> elems;
        if (!eat(')')) {
            do {
                auto e = type(depth + 1);
                if (!e) return std::nullopt;
                elems.push_back(std::move(*e));
            } while (eat(','));
            if (!eat(')')) return fail(errc::bad_custom_type);
        }
        return cql_type::tuple_of(std::move(elems));
    }
    std::optional<cql_type> user(int depth) {
        if (!eat('(')) return fail(errc::bad_custom_type);
        std::string keyspace(word());  // empty only for types built without one
        if (!eat(',')) return fail(errc::bad_custom_type);
        std::string name;
        if (!unhex_string(word(), name)) return fail(errc::bad_custom_type);
        std::vector<std::string> names;
        std::vector<cql_type> types;
        while (eat(',')) {
            std::string field;
            if (!unhex_string(word(), field) || !eat(':')) return fail(errc::bad_custom_type);
            auto ft = type(depth + 1);
            if (!ft) return std::nullopt;
            names.push_back(std::move(field));
            types.push_back(std::move(*ft));
        }
        if (!eat(')')) return fail(errc::bad_custom_type);
        if (types.size() > 0xFFFF) return fail(errc::bad_custom_type);  // cannot be written as an [option]
        return cql_type::udt_of(std::move(keyspace), std::move(name), std::move(names), std::move(types));
    }
    std::optional<cql_type> vector(int depth) {
        if (!eat('(')) return fail(errc::bad_custom_type);
        auto elem = type(depth + 1);
        if (!elem) return std::nullopt;
        if (!eat(',')) return fail(errc::bad_custom_type);
        std::string_view digits = word();
        std::uint32_t dim = 0;
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), dim);
        if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size()) return fail(errc::bad_custom_type);
        if (dim == 0 || dim > 0x7FFFFFFFu) return fail(errc::bad_custom_type);
        if (!eat(')')) return fail(errc::bad_custom_type);
        return cql_type::vector_of(std::move(*elem), dim);
    }

};

}  // namespace

std::string to_cql_name(const cql_type& t) {
    std::string out;
    append_cql_name(out, t);
    return out;
}

std::optional<cql_type> parse_type_name(std::string_view s, errc* error) {
    cql_name_parser p(s);
    auto t = p.parse_all();
    if (error) *error = t ? errc::ok : p.error();
    return t;
}

std::string to_marshal_class(const cql_type& t) {
    std::string out;
    append_marshal(out, t, false);
    return out;
}

std::optional<cql_type> parse_marshal_class(std::string_view s, errc* error) {
    marshal_parser p(s);
    auto t = p.parse_all();
    if (error) *error = t ? errc::ok : p.error();
    return t;
}

}  // namespace cqlpp::protocol
