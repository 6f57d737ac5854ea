// Recursive-descent CQL parser: see cql_parser.hpp for the contract and
// cql_ast.hpp for the tree. Grammar shapes and error texts follow Cassandra's
// Cql.g / ANTLR messages closely enough for drivers and humans; the keyword
// names in "expecting K_FROM" are Cassandra's token names.
#include "cqlpp/sim/cql_parser.hpp"

#include "cql_lexer.hpp"

#include <algorithm>
#include <array>
#include <new>
#include <utility>

namespace cqlpp::sim {

namespace {

using detail::iequals;
using detail::lex_error;
using detail::token;
using detail::token_kind;

// Cassandra's reserved keywords (plus the boolean literals): never an unquoted
// identifier. Everything else (key, ttl, count, type, ...) is a plain name.
// Sorted, for binary search: every identifier of every statement is checked.
constexpr std::string_view reserved_words[] = {
    "ADD", "ALLOW", "ALTER", "AND", "APPLY", "ASC", "AUTHORIZE", "BATCH", "BEGIN", "BY", "COLUMNFAMILY",
    "CREATE", "DELETE", "DESC", "DESCRIBE", "DROP", "ENTRIES", "EXECUTE", "FALSE", "FROM", "FULL", "GRANT",
    "IF", "IN", "INDEX", "INFINITY", "INSERT", "INTO", "IS", "KEYSPACE", "LIMIT", "MODIFY", "NAN",
    "NORECURSIVE", "NOT", "NULL", "OF", "ON", "OR", "ORDER", "PRIMARY", "RENAME", "REPLACE", "REVOKE",
    "SCHEMA", "SELECT", "SET", "TABLE", "TO", "TOKEN", "TRUE", "TRUNCATE", "UNLOGGED", "UPDATE", "USE",
    "USING", "VIEW", "WHERE", "WITH",
};
static_assert(std::is_sorted(std::begin(reserved_words), std::end(reserved_words)));
constexpr std::size_t longest_reserved_word = 12;  // COLUMNFAMILY, NORECURSIVE

bool is_reserved(std::string_view word) noexcept {
    if (word.size() < 2 || word.size() > longest_reserved_word) return false;
    char upper[longest_reserved_word];
    for (std::size_t i = 0; i < word.size(); ++i) {
        char c = word[i];
        upper[i] = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    }
    return std::binary_search(std::begin(reserved_words), std::end(reserved_words),
                              std::string_view(upper, word.size()));
}

// Words that start a constant (and so can't be column references).
bool is_constant_word(std::string_view w) noexcept {
    return iequals(w, "TRUE") || iequals(w, "FALSE") || iequals(w, "NULL") || iequals(w, "NAN") ||
           iequals(w, "INFINITY");
}

void fold_into(std::string& out, std::string_view word) {
    out.assign(word);
    for (auto& c : out) c = detail::to_lower(c);
}

// "quoted ""name""" -> quoted "name"
void unquote_into(std::string& out, std::string_view raw, char q) {
    out.clear();
    std::string_view body = raw.substr(1, raw.size() - 2);
    out.reserve(body.size());
    for (std::size_t i = 0; i < body.size(); ++i) {
        out += body[i];
        if (body[i] == q && i + 1 < body.size() && body[i + 1] == q) ++i;
    }
}

// A token for an error message: '<EOF>' at the end, long literals shortened.
std::string display(std::string_view text, bool eof) {
    if (eof) return "<EOF>";
    constexpr std::size_t max = 60;
    if (text.size() <= max) return std::string(text);
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8 chars
    return std::string(text.substr(0, cut)) + "...";
}

class parser {
public:
    parser(std::string_view src, std::vector<bind_marker>& markers) noexcept
        : src_(src), lex_(src), markers_(markers) {}

    bool parse(statement& out);
    parse_error take_error() { return std::move(error_); }

private:
    // ---- Tokens ----
    static constexpr std::size_t lookahead = 4;

    const token& peek(std::size_t k = 0) noexcept {
        if (k < count_) return buf_[(head_ + k) % lookahead];
        return fill(k);
    }
    const token& fill(std::size_t k) noexcept {
        while (count_ <= k) {
            buf_[(head_ + count_) % lookahead] = lex_.next();
            ++count_;
        }
        return buf_[(head_ + k) % lookahead];
    }
    token take() noexcept {
        token t = peek();
        if (t.kind != token_kind::eof && t.kind != token_kind::error) {
            head_ = (head_ + 1) % lookahead;
            --count_;
            last_end_ = t.end;
        }
        return t;
    }
    std::string_view text(const token& t) const noexcept { return src_.substr(t.begin, t.end - t.begin); }
    std::string_view span(std::size_t begin) const noexcept { return src_.substr(begin, last_end_ - begin); }
    bool is(std::size_t k, token_kind kind) noexcept { return peek(k).kind == kind; }
    bool is_kw(const token& t, std::string_view kw) const noexcept {
        return t.kind == token_kind::ident && iequals(text(t), kw);
    }
    bool peek_kw(std::string_view kw, std::size_t k = 0) noexcept { return is_kw(peek(k), kw); }
    bool accept(token_kind k) noexcept {
        if (!is(0, k)) return false;
        take();
        return true;
    }
    bool accept_kw(std::string_view kw) noexcept {
        if (!peek_kw(kw)) return false;
        take();
        return true;
    }
    bool expect(token_kind k, std::string_view what) {
        if (accept(k)) return true;
        return mismatched(peek(), what);
    }
    bool expect_kw(std::string_view kw) {
        if (accept_kw(kw)) return true;
        std::string what = "K_";
        what += kw;
        return mismatched(peek(), what);
    }

    // ---- Errors (the first one wins; all return false) ----
    bool fail(parse_error_kind kind, std::size_t offset, std::string detail, bool positioned = true);
    bool fail_token(const token& t, std::string detail);
    bool no_viable(const token& t) { return fail_token(t, "no viable alternative at input"); }
    bool mismatched(const token& t, std::string_view expecting) {
        std::string d = "mismatched input";
        return fail_token(t, d, expecting);
    }
    bool fail_token(const token& t, const std::string& prefix, std::string_view expecting);
    bool too_deep(const token& t);
    // "CREATE INDEX statements are not supported by the simulator"
    bool unsupported(std::string_view statement_words, std::size_t offset) {
        std::string m(statement_words);
        m += " statements are not supported by the simulator";
        return fail(parse_error_kind::unsupported, offset, std::move(m), false);
    }
    // "SELECT JSON is not supported by the simulator"
    bool unsupported_feature(std::string_view feature, std::size_t offset) {
        std::string m(feature);
        m += " is not supported by the simulator";
        return fail(parse_error_kind::unsupported, offset, std::move(m), false);
    }
    // Rejected after a successful parse, as Cassandra does at preparation, so
    // that a later syntax error still wins.
    void defer_invalid(std::size_t offset, std::string message) {
        if (!pending_invalid_) {
            pending_invalid_ = true;
            pending_offset_ = offset;
            pending_message_ = std::move(message);
        }
    }

    // ---- Pieces ----
    bool ident(std::string& out);
    bool qualified(qualified_name& out);
    bool term_value(term& out, int depth);
    // Parses one more element of a composite literal into parent.children.
    bool child_term(term& parent, int depth) {
        parent.children.emplace_back();
        return term_value(parent.children.back(), depth + 1);
    }
    bool int_value(std::optional<term>& out);
    bool function_call(term& out, int depth);
    bool brace_literal(term& out, int depth);
    bool paren_term(term& out, int depth);
    bool type_extent(std::string_view& text);
    bool type(protocol::cql_type& out, std::string_view& text);
    bool relations(std::vector<relation>& out, bool conditions);
    bool relation_one(relation& r, bool conditions);
    bool relation_operator(relation& r, bool allow_all);
    bool in_values(relation& r);
    bool if_clause(bool& if_exists, std::vector<relation>& conditions);
    bool using_clause(update_attributes& a, bool allow_ttl);
    bool selector_one(selector& out, int depth);
    bool assignment_one(assignment& a);
    bool properties(std::vector<property>& out);
    bool property_one(property& p);
    bool if_not_exists(bool& flag);
    bool if_exists(bool& flag);
    bool column_definition_one(column_definition& c);
    void make_marker(term& out, std::size_t begin, std::string name);

    // ---- Statements ----
    bool select(statement& out);
    bool insert(insert_statement& s);
    bool insert_columns(insert_statement& s);
    bool update(update_statement& s);
    bool delete_(delete_statement& s);
    bool batch(statement& out);
    bool create(statement& out);
    bool create_index(statement& result);
    bool create_keyspace(statement& out);
    bool create_table(statement& out);
    bool create_type(statement& out);
    bool drop(statement& out);
    bool alter(statement& out);

    std::string_view src_;
    detail::lexer lex_;
    std::array<token, lookahead> buf_{};
    std::size_t head_ = 0, count_ = 0;
    std::size_t last_end_ = 0;
    std::vector<bind_marker>& markers_;

    bool failed_ = false;
    parse_error error_;
    bool pending_invalid_ = false;
    std::size_t pending_offset_ = 0;
    std::string pending_message_;
};

// ---- Errors -----------------------------------------------------------------------

bool parser::fail(parse_error_kind kind, std::size_t offset, std::string detail, bool positioned) {
    if (failed_) return false;
    failed_ = true;
    error_.kind = kind;
    error_.offset = offset;
    std::uint32_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < offset && i < src_.size(); ++i) {
        if (src_[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    error_.line = line;
    error_.column = static_cast<std::uint32_t>(offset - line_start);
    if (positioned) {
        error_.message = "line " + std::to_string(line) + ":" + std::to_string(error_.column) + " ";
        error_.message += detail;
    } else {
        error_.message = std::move(detail);
    }
    return false;
}

bool parser::fail_token(const token& t, std::string detail) { return fail_token(t, detail, {}); }

bool parser::fail_token(const token& t, const std::string& prefix, std::string_view expecting) {
    if (t.kind == token_kind::error) {
        switch (t.error) {
            case lex_error::unterminated_string:
                return fail(parse_error_kind::syntax_error, t.begin, "mismatched character '<EOF>' expecting '''");
            case lex_error::unterminated_dollar_string:
                return fail(parse_error_kind::syntax_error, t.begin, "mismatched character '<EOF>' expecting '$'");
            case lex_error::unterminated_quoted_name:
                return fail(parse_error_kind::syntax_error, t.begin, "mismatched character '<EOF>' expecting '\"'");
            case lex_error::unterminated_comment:
                return fail(parse_error_kind::syntax_error, t.begin, "mismatched character '<EOF>' expecting '*/'");
            case lex_error::empty_quoted_name:
                return fail(parse_error_kind::syntax_error, t.begin, "no viable alternative at input '\"\"'");
            case lex_error::bad_character:
            case lex_error::none: break;
        }
        std::string d = "no viable alternative at character '";
        d += text(t);
        d += '\'';
        return fail(parse_error_kind::syntax_error, t.begin, std::move(d));
    }
    std::string d = prefix;
    d += " '";
    d += display(text(t), t.kind == token_kind::eof);
    d += '\'';
    if (!expecting.empty()) {
        d += " expecting ";
        d += expecting;
    }
    return fail(parse_error_kind::syntax_error, t.begin, std::move(d));
}

bool parser::too_deep(const token& t) {
    std::string d = "nesting deeper than " + std::to_string(max_nesting_depth) + " levels at input '";
    d += display(text(t), t.kind == token_kind::eof);
    d += '\'';
    return fail(parse_error_kind::syntax_error, t.begin, std::move(d));
}

// ---- Names ------------------------------------------------------------------------

bool parser::ident(std::string& out) {
    const token& t = peek();
    if (t.kind == token_kind::quoted_ident) {
        unquote_into(out, text(t), '"');
        take();
        return true;
    }
    if (t.kind == token_kind::ident && !is_reserved(text(t))) {
        fold_into(out, text(t));
        take();
        return true;
    }
    return no_viable(t);
}

bool parser::qualified(qualified_name& out) {
    if (!ident(out.name)) return false;
    if (accept(token_kind::dot)) {
        out.keyspace = std::move(out.name);
        return ident(out.name);
    }
    return true;
}

// ---- Terms ------------------------------------------------------------------------

void parser::make_marker(term& out, std::size_t begin, std::string name) {
    out.kind = term_kind::bind_marker;
    out.text = span(begin);
    out.bind_index = static_cast<std::int32_t>(markers_.size());
    markers_.push_back(bind_marker{name, begin});
    out.name = std::move(name);
}

bool parser::term_value(term& out, int depth) {
    const token t = peek();
    if (depth >= max_nesting_depth) return too_deep(t);
    auto constant = [&](term_kind k) {
        take();
        out.kind = k;
        out.text = text(t);
        return true;
    };
    switch (t.kind) {
        case token_kind::qmark: take(); make_marker(out, t.begin, {}); return true;
        case token_kind::colon: {
            take();
            std::string name;
            if (!ident(name)) return false;
            make_marker(out, t.begin, std::move(name));
            return true;
        }
        case token_kind::string: return constant(term_kind::string);
        case token_kind::integer: return constant(term_kind::integer);
        case token_kind::floating: return constant(term_kind::floating);
        case token_kind::blob: return constant(term_kind::blob);
        case token_kind::uuid: return constant(term_kind::uuid);
        case token_kind::duration: return constant(term_kind::duration);
        case token_kind::minus: {
            // A sign belongs to the literal only when written against it ("-1"), as in Cassandra.
            const token& n = peek(1);
            term_kind k = term_kind::null;
            bool ok = n.begin == t.end;
            if (n.kind == token_kind::integer) k = term_kind::integer;
            else if (n.kind == token_kind::floating) k = term_kind::floating;
            else if (n.kind == token_kind::duration) k = term_kind::duration;
            else if (n.kind == token_kind::ident && (iequals(text(n), "NAN") || iequals(text(n), "INFINITY")))
                k = term_kind::floating;
            else if (n.kind == token_kind::ident && detail::is_iso_duration_word(text(n)))
                k = term_kind::duration;
            else ok = false;
            if (!ok) return no_viable(t);
            take();
            take();
            out.kind = k;
            out.text = span(t.begin);
            return true;
        }
        case token_kind::lbracket: {
            take();
            out.kind = term_kind::list;
            if (!accept(token_kind::rbracket)) {
                do {
                    if (!child_term(out, depth)) return false;
                } while (accept(token_kind::comma));
                if (!expect(token_kind::rbracket, "']'")) return false;
            }
            out.text = span(t.begin);
            return true;
        }
        case token_kind::lbrace: return brace_literal(out, depth);
        case token_kind::lparen: return paren_term(out, depth);
        case token_kind::ident: {
            auto w = text(t);
            if (iequals(w, "TRUE") || iequals(w, "FALSE")) return constant(term_kind::boolean);
            if (iequals(w, "NULL")) return constant(term_kind::null);
            if (iequals(w, "NAN") || iequals(w, "INFINITY")) return constant(term_kind::floating);
            if (is(1, token_kind::lparen) || (is(1, token_kind::dot) && is(3, token_kind::lparen)))
                return function_call(out, depth);
            if (detail::is_iso_duration_word(w)) return constant(term_kind::duration);
            return no_viable(t);
        }
        case token_kind::quoted_ident:
            if (is(1, token_kind::lparen) || (is(1, token_kind::dot) && is(3, token_kind::lparen)))
                return function_call(out, depth);
            return no_viable(t);
        default: return no_viable(t);
    }
}

// name(args) / ks.name(args). `token` is reserved but callable, as in Cassandra.
bool parser::function_call(term& out, int depth) {
    const token start = peek();
    auto name = [&](std::string& into) {
        const token& t = peek();
        if (t.kind == token_kind::ident && iequals(text(t), "TOKEN")) {
            fold_into(into, text(t));
            take();
            return true;
        }
        return ident(into);
    };
    out.kind = term_kind::function_call;
    if (!name(out.name)) return false;
    if (accept(token_kind::dot)) {
        out.keyspace = std::move(out.name);
        if (!name(out.name)) return false;
    }
    if (!expect(token_kind::lparen, "'('")) return false;
    if (!accept(token_kind::rparen)) {
        do {
            if (!child_term(out, depth)) return false;
        } while (accept(token_kind::comma));
        if (!expect(token_kind::rparen, "')'")) return false;
    }
    out.text = span(start.begin);
    return true;
}

// {} | {t, ...} (set) | {t: t, ...} (map) | {field: t, ...} (UDT)
bool parser::brace_literal(term& out, int depth) {
    const token start = take();
    if (accept(token_kind::rbrace)) {
        out.kind = term_kind::empty_braces;
        out.text = span(start.begin);
        return true;
    }
    // A bare name before ':' is a field name: names are never values in CQL.
    auto field_name_ahead = [&] {
        const token& t = peek();
        bool name = t.kind == token_kind::quoted_ident ||
                    (t.kind == token_kind::ident && !is_constant_word(text(t)));
        return name && is(1, token_kind::colon);
    };
    if (field_name_ahead()) {
        out.kind = term_kind::udt;
        do {
            const token f = peek();
            if (!field_name_ahead()) return no_viable(f);
            term field;
            field.kind = term_kind::identifier;
            if (!ident(field.name)) return false;
            field.text = text(f);
            take();  // ':'
            out.children.push_back(std::move(field));
            if (!child_term(out, depth)) return false;
        } while (accept(token_kind::comma));
    } else {
        if (!child_term(out, depth)) return false;
        bool is_map = accept(token_kind::colon);
        out.kind = is_map ? term_kind::map : term_kind::set;
        if (is_map) {
            if (!child_term(out, depth)) return false;
        }
        while (accept(token_kind::comma)) {
            if (!child_term(out, depth)) return false;
            if (is_map) {
                if (!expect(token_kind::colon, "':'")) return false;
                if (!child_term(out, depth)) return false;
            }
        }
    }
    if (!expect(token_kind::rbrace, "'}'")) return false;
    out.text = span(start.begin);
    return true;
}

// (type) term  |  (t, ...)
bool parser::paren_term(term& out, int depth) {
    const token start = take();
    const token& first = peek();
    bool cast = first.kind == token_kind::ident && !is_constant_word(text(first)) &&
                !detail::is_iso_duration_word(text(first)) &&
                (is(1, token_kind::rparen) || is(1, token_kind::lt) || is(1, token_kind::dot));
    if (cast) {
        out.kind = term_kind::type_cast;
        if (!type_extent(out.cast_type)) return false;
        if (!expect(token_kind::rparen, "')'")) return false;
        if (!child_term(out, depth)) return false;
    } else {
        out.kind = term_kind::tuple;
        do {
            if (!child_term(out, depth)) return false;
        } while (accept(token_kind::comma));
        if (!expect(token_kind::rparen, "')'")) return false;
    }
    out.text = span(start.begin);
    return true;
}

// LIMIT / TTL / TIMESTAMP values: an integer (maybe negative) or a marker.
bool parser::int_value(std::optional<term>& out) {
    const token t = peek();
    switch (t.kind) {
        case token_kind::integer:
        case token_kind::minus:
        case token_kind::qmark:
        case token_kind::colon: break;
        default: return no_viable(t);
    }
    out.emplace();
    if (!term_value(*out, 0)) return false;
    if (out->kind != term_kind::integer && out->kind != term_kind::bind_marker) return no_viable(t);
    return true;
}

// ---- Types --------------------------------------------------------------------------

// The source extent of a type: name, ks.name, 'custom.Class', or name<...>.
bool parser::type_extent(std::string_view& out) {
    const token first = peek();
    if (first.kind == token_kind::string) {
        take();
    } else if (first.kind == token_kind::ident || first.kind == token_kind::quoted_ident) {
        take();
        if (is(0, token_kind::dot) && (is(1, token_kind::ident) || is(1, token_kind::quoted_ident))) {
            take();
            take();
        }
        if (is(0, token_kind::lt)) {
            // Bracket matching only: protocol::parse_type_name() judges the contents
            // (and bounds their depth), so no recursion here.
            std::size_t open = 0;
            do {
                const token t = peek();
                switch (t.kind) {
                    case token_kind::lt: ++open; break;
                    case token_kind::gt: --open; break;
                    case token_kind::ident:
                    case token_kind::quoted_ident:
                    case token_kind::string:
                    case token_kind::integer:
                    case token_kind::comma:
                    case token_kind::dot: break;
                    default: return open ? mismatched(t, "'>'") : no_viable(t);
                }
                take();
            } while (open);
        }
    } else {
        return no_viable(first);
    }
    out = span(first.begin);
    return true;
}

bool parser::type(protocol::cql_type& out, std::string_view& text_out) {
    const std::size_t begin = peek().begin;
    if (!type_extent(text_out)) return false;
    // Comments inside a type would confuse parse_type_name: rebuild from tokens then.
    std::string rebuilt;
    std::string_view name = text_out;
    if (text_out.find("--") != std::string_view::npos || text_out.find("//") != std::string_view::npos ||
        text_out.find("/*") != std::string_view::npos) {
        detail::lexer relex(text_out);
        for (token t = relex.next(); t.kind != token_kind::eof && t.kind != token_kind::error; t = relex.next()) {
            rebuilt += text_out.substr(t.begin, t.end - t.begin);
            rebuilt += ' ';
        }
        name = rebuilt;
    }
    protocol::errc e = protocol::errc::ok;
    auto parsed = protocol::parse_type_name(name, &e);
    if (!parsed) {
        std::string d = e == protocol::errc::type_nesting_too_deep ? "type nested too deeply: '" : "invalid type '";
        d += display(text_out, false);
        d += '\'';
        return fail(parse_error_kind::syntax_error, begin, std::move(d));
    }
    out = std::move(*parsed);
    return true;
}

// ---- Relations ------------------------------------------------------------------------

bool parser::relations(std::vector<relation>& out, bool conditions) {
    do {
        out.emplace_back();
        if (!relation_one(out.back(), conditions)) return false;
    } while (accept_kw("AND"));
    return true;
}

// The operator of a relation; IN / CONTAINS / LIKE only when allow_all.
bool parser::relation_operator(relation& r, bool allow_all) {
    const token t = peek();
    switch (t.kind) {
        case token_kind::eq: r.op = relation_op::eq; break;
        case token_kind::neq: r.op = relation_op::neq; break;
        case token_kind::lt: r.op = relation_op::lt; break;
        case token_kind::lte: r.op = relation_op::lte; break;
        case token_kind::gt: r.op = relation_op::gt; break;
        case token_kind::gte: r.op = relation_op::gte; break;
        case token_kind::ident:
            if (iequals(text(t), "IN")) {
                r.op = relation_op::in;
                break;
            }
            if (allow_all && iequals(text(t), "CONTAINS")) {
                take();
                r.op = accept_kw("KEY") ? relation_op::contains_key : relation_op::contains;
                return true;
            }
            if (allow_all && iequals(text(t), "LIKE")) {
                r.op = relation_op::like;
                break;
            }
            if (iequals(text(t), "IS")) return unsupported_feature("IS NOT NULL", t.begin);
            return no_viable(t);
        default: return no_viable(t);
    }
    take();
    return true;
}

// After IN: (t, ...) | ? | :name
bool parser::in_values(relation& r) {
    const token t = peek();
    if (t.kind == token_kind::lparen) {
        take();
        r.in_list = true;
        if (accept(token_kind::rparen)) return true;
        do {
            r.in_values.emplace_back();
            if (!term_value(r.in_values.back(), 1)) return false;
        } while (accept(token_kind::comma));
        return expect(token_kind::rparen, "')'");
    }
    if (t.kind == token_kind::qmark || t.kind == token_kind::colon) return term_value(r.value, 0);
    return no_viable(t);
}

bool parser::relation_one(relation& r, bool conditions) {
    const token t = peek();
    if (!conditions && (t.kind == token_kind::lparen || (is_kw(t, "TOKEN") && is(1, token_kind::lparen)))) {
        // (c1, c2) op tuple  |  token(a, b) op term
        bool is_token = t.kind != token_kind::lparen;
        if (is_token) take();
        take();
        do {
            r.columns.emplace_back();
            if (!ident(r.columns.back())) return false;
        } while (accept(token_kind::comma));
        if (!expect(token_kind::rparen, "')'")) return false;
        r.target = is_token ? relation_target::token : relation_target::multi_column;
        const token op = peek();
        if (!relation_operator(r, false)) return false;
        if (r.op == relation_op::neq || (is_token && r.op == relation_op::in)) return no_viable(op);
        if (r.op == relation_op::in) return in_values(r);
        return term_value(r.value, 0);
    }
    r.columns.emplace_back();
    if (!ident(r.columns.back())) return false;
    if (accept(token_kind::lbracket)) {
        r.target = relation_target::element;
        r.element.emplace();
        if (!term_value(*r.element, 1) || !expect(token_kind::rbracket, "']'")) return false;
    } else if (conditions && accept(token_kind::dot)) {
        r.target = relation_target::field;
        if (!ident(r.field)) return false;
    }
    if (!relation_operator(r, true)) return false;
    if (r.op == relation_op::in) return in_values(r);
    return term_value(r.value, 0);
}

bool parser::if_clause(bool& exists, std::vector<relation>& conditions) {
    if (!accept_kw("IF")) return true;
    if (accept_kw("EXISTS")) {
        exists = true;
        return true;
    }
    return relations(conditions, true);
}

bool parser::if_not_exists(bool& flag) {
    if (!accept_kw("IF")) return true;
    flag = true;
    return expect_kw("NOT") && expect_kw("EXISTS");
}

bool parser::if_exists(bool& flag) {
    if (!accept_kw("IF")) return true;
    flag = true;
    return expect_kw("EXISTS");
}

// USING TTL n AND TIMESTAMP n (the USING keyword already taken).
bool parser::using_clause(update_attributes& a, bool allow_ttl) {
    do {
        const token t = peek();
        if (allow_ttl && accept_kw("TTL")) {
            if (a.ttl) defer_invalid(t.begin, "Multiple definitions for TTL");
            if (!int_value(a.ttl)) return false;
        } else if (accept_kw("TIMESTAMP")) {
            if (a.timestamp) defer_invalid(t.begin, "Multiple definitions for TIMESTAMP");
            if (!int_value(a.timestamp)) return false;
        } else {
            return mismatched(t, allow_ttl ? "K_TTL" : "K_TIMESTAMP");
        }
    } while (accept_kw("AND"));
    return true;
}

// ---- SELECT -------------------------------------------------------------------------

bool parser::selector_one(selector& out, int depth) {
    const token t = peek();
    if (depth >= max_nesting_depth) return too_deep(t);
    const bool call = is(1, token_kind::lparen);
    if (t.kind == token_kind::ident && call && iequals(text(t), "COUNT") &&
        (is(2, token_kind::star) || (is(2, token_kind::integer) && text(peek(2)) == "1")) &&
        is(3, token_kind::rparen)) {
        for (int i = 0; i < 4; ++i) take();
        out.kind = selector_kind::count_star;
        out.name = "count";
    } else if (t.kind == token_kind::ident && call &&
               (iequals(text(t), "WRITETIME") || iequals(text(t), "MAXWRITETIME") || iequals(text(t), "TTL"))) {
        out.kind = iequals(text(t), "TTL")         ? selector_kind::ttl
                   : iequals(text(t), "WRITETIME") ? selector_kind::writetime
                                                   : selector_kind::max_writetime;
        fold_into(out.name, text(t));
        take();
        take();
        out.args.emplace_back();
        if (!selector_one(out.args.back(), depth + 1) || !expect(token_kind::rparen, "')'")) return false;
    } else if (t.kind == token_kind::ident && call && iequals(text(t), "CAST")) {
        out.kind = selector_kind::cast;
        out.name = "cast";
        take();
        take();
        out.args.emplace_back();
        if (!selector_one(out.args.back(), depth + 1) || !expect_kw("AS") || !type_extent(out.cast_type) ||
            !expect(token_kind::rparen, "')'"))
            return false;
    } else if ((t.kind == token_kind::ident || t.kind == token_kind::quoted_ident) &&
               (call || (is(1, token_kind::dot) && is(3, token_kind::lparen))) &&
               !(t.kind == token_kind::ident && is_constant_word(text(t)))) {
        // Function call; its arguments are selectors (columns, terms, calls).
        out.kind = selector_kind::function_call;
        auto name = [&](std::string& into) {
            const token& n = peek();
            if (is_kw(n, "TOKEN")) {
                fold_into(into, text(n));
                take();
                return true;
            }
            return ident(into);
        };
        if (!name(out.name)) return false;
        if (accept(token_kind::dot)) {
            out.keyspace = std::move(out.name);
            if (!name(out.name)) return false;
        }
        take();  // '('
        if (!accept(token_kind::rparen)) {
            do {
                out.args.emplace_back();
                if (!selector_one(out.args.back(), depth + 1)) return false;
            } while (accept(token_kind::comma));
            if (!expect(token_kind::rparen, "')'")) return false;
        }
    } else if (t.kind == token_kind::quoted_ident ||
               (t.kind == token_kind::ident && !is_constant_word(text(t)))) {
        out.kind = selector_kind::column;
        if (!ident(out.name)) return false;
    } else {
        out.kind = selector_kind::term;
        if (!term_value(out.value, depth + 1)) return false;
    }
    // Postfix: field access u.f and element access m['k'], each a nesting level.
    while (is(0, token_kind::dot) || is(0, token_kind::lbracket)) {
        if (++depth >= max_nesting_depth) return too_deep(peek());
        selector outer;
        outer.args.push_back(std::move(out));
        outer.args.back().text = span(t.begin);
        if (accept(token_kind::dot)) {
            outer.kind = selector_kind::field;
            if (!ident(outer.name)) return false;
        } else {
            take();
            outer.kind = selector_kind::element;
            if (!term_value(outer.value, depth) || !expect(token_kind::rbracket, "']'")) return false;
        }
        out = std::move(outer);
    }
    out.text = span(t.begin);
    return true;
}

bool parser::select(statement& result) {
    auto& s = result.emplace<select_statement>();
    take();
    // JSON / DISTINCT are modifiers unless they are a column's name.
    auto modifier = [&] {
        const token& n = peek(1);
        return !(is_kw(n, "FROM") || is_kw(n, "AS") || n.kind == token_kind::comma ||
                 n.kind == token_kind::lparen || n.kind == token_kind::dot || n.kind == token_kind::lbracket);
    };
    if (peek_kw("JSON") && modifier()) {
        take();
        s.json = true;
    }
    if (peek_kw("DISTINCT") && modifier()) {
        take();
        s.distinct = true;
    }
    if (accept(token_kind::star)) {
        s.select_all = true;
    } else {
        do {
            s.selectors.emplace_back();
            auto& sel = s.selectors.back();
            if (!selector_one(sel, 0)) return false;
            if (accept_kw("AS") && !ident(sel.alias)) return false;
        } while (accept(token_kind::comma));
    }
    if (!expect_kw("FROM") || !qualified(s.table)) return false;
    if (accept_kw("WHERE") && !relations(s.where, false)) return false;
    if (accept_kw("GROUP")) {
        if (!expect_kw("BY")) return false;
        do {
            s.group_by.emplace_back();
            if (!ident(s.group_by.back())) return false;
        } while (accept(token_kind::comma));
    }
    if (accept_kw("ORDER")) {
        if (!expect_kw("BY")) return false;
        do {
            s.order_by.emplace_back();
            if (!ident(s.order_by.back().column)) return false;
            if (!s.ann_of && accept_kw("ANN")) {
                if (!expect_kw("OF") || !term_value(s.ann_of.emplace(), 0)) return false;
                continue;
            }
            if (accept_kw("DESC")) s.order_by.back().descending = true;
            else accept_kw("ASC");
        } while (accept(token_kind::comma));
    }
    if (accept_kw("PER")) {
        if (!expect_kw("PARTITION") || !expect_kw("LIMIT") || !int_value(s.per_partition_limit)) return false;
    }
    if (accept_kw("LIMIT") && !int_value(s.limit)) return false;
    if (accept_kw("ALLOW")) {
        if (!expect_kw("FILTERING")) return false;
        s.allow_filtering = true;
    }
    return true;
}

// ---- INSERT / UPDATE / DELETE / BATCH ------------------------------------------------

bool parser::insert(insert_statement& s) {
    take();
    if (!expect_kw("INTO") || !qualified(s.table)) return false;
    if (accept_kw("JSON")) {
        // JSON '<doc>' | JSON ? | JSON :name, then DEFAULT NULL | DEFAULT UNSET.
        const token doc = peek();
        auto& j = s.json.emplace();
        if (!term_value(j, 0)) return false;
        if (j.kind != term_kind::string && j.kind != term_kind::bind_marker) return mismatched(doc, "STRING_LITERAL");
        if (accept_kw("DEFAULT")) {
            if (accept_kw("UNSET")) s.json_default_unset = true;
            else if (!expect_kw("NULL")) return false;
        }
    } else {
        if (!insert_columns(s)) return false;
    }
    // Cassandra wants IF NOT EXISTS before USING; either order is accepted here.
    for (int i = 0; i < 2; ++i) {
        if (!s.if_not_exists && peek_kw("IF")) {
            if (!if_not_exists(s.if_not_exists)) return false;
        } else if (accept_kw("USING")) {
            if (!using_clause(s.attributes, true)) return false;
        }
    }
    return true;
}

bool parser::insert_columns(insert_statement& s) {
    if (!expect(token_kind::lparen, "'('")) return false;
    do {
        s.columns.emplace_back();
        if (!ident(s.columns.back())) return false;
    } while (accept(token_kind::comma));
    if (!expect(token_kind::rparen, "')'") || !expect_kw("VALUES")) return false;
    const token values = peek();
    if (!expect(token_kind::lparen, "'('")) return false;
    do {
        s.values.emplace_back();
        if (!term_value(s.values.back(), 0)) return false;
    } while (accept(token_kind::comma));
    if (!expect(token_kind::rparen, "')'")) return false;
    if (s.columns.size() != s.values.size()) defer_invalid(values.begin, "Unmatched column names/values");
    return true;
}

bool parser::assignment_one(assignment& a) {
    if (!ident(a.column)) return false;
    const token op = peek();
    switch (op.kind) {
        case token_kind::lbracket:
            take();
            a.op = assignment_op::set_element;
            a.element.emplace();
            return term_value(*a.element, 1) && expect(token_kind::rbracket, "']'") &&
                   expect(token_kind::eq, "'='") && term_value(a.value, 0);
        case token_kind::dot:
            take();
            a.op = assignment_op::set_field;
            return ident(a.field) && expect(token_kind::eq, "'='") && term_value(a.value, 0);
        case token_kind::plus_eq:
        case token_kind::minus_eq:
            take();
            a.op = op.kind == token_kind::plus_eq ? assignment_op::add : assignment_op::subtract;
            return term_value(a.value, 0);
        case token_kind::eq: break;
        default: return mismatched(op, "'='");
    }
    take();
    // c = c + t | c = c - t : the right side starts with a column name.
    const token rhs = peek();
    bool column_first =
        rhs.kind == token_kind::quoted_ident ||
        (rhs.kind == token_kind::ident && !is_constant_word(text(rhs)) &&
         (!detail::is_iso_duration_word(text(rhs)) || is(1, token_kind::plus) || is(1, token_kind::minus)));
    if (column_first && !is(1, token_kind::lparen) && !(is(1, token_kind::dot) && is(3, token_kind::lparen))) {
        std::string other;
        if (!ident(other)) return false;
        const token sign = peek();
        if (sign.kind != token_kind::plus && sign.kind != token_kind::minus) return mismatched(sign, "'+'");
        take();
        a.op = sign.kind == token_kind::plus ? assignment_op::add : assignment_op::subtract;
        if (other != a.column)
            defer_invalid(rhs.begin, sign.kind == token_kind::plus
                                         ? "Only expressions of the form X = X + <value> are supported."
                                         : "Only expressions of the form X = X - <value> are supported.");
        return term_value(a.value, 0);
    }
    if (!term_value(a.value, 0)) return false;
    // c = t + c : list prepend.
    if (is(0, token_kind::plus) && (is(1, token_kind::ident) || is(1, token_kind::quoted_ident))) {
        take();
        const token other_tok = peek();
        std::string other;
        if (!ident(other)) return false;
        a.op = assignment_op::prepend;
        if (other != a.column)
            defer_invalid(other_tok.begin, "Only expressions of the form X = <value> + X are supported.");
    }
    return true;
}

bool parser::update(update_statement& s) {
    take();
    if (!qualified(s.table)) return false;
    if (accept_kw("USING") && !using_clause(s.attributes, true)) return false;
    if (!expect_kw("SET")) return false;
    do {
        s.assignments.emplace_back();
        if (!assignment_one(s.assignments.back())) return false;
    } while (accept(token_kind::comma));
    if (!expect_kw("WHERE") || !relations(s.where, false)) return false;
    return if_clause(s.if_exists, s.conditions);
}

bool parser::delete_(delete_statement& s) {
    take();
    if (!peek_kw("FROM")) {
        do {
            s.columns.emplace_back();
            auto& c = s.columns.back();
            if (!ident(c.column)) return false;
            if (accept(token_kind::lbracket)) {
                c.element.emplace();
                if (!term_value(*c.element, 1) || !expect(token_kind::rbracket, "']'")) return false;
            } else if (accept(token_kind::dot)) {
                if (!ident(c.field)) return false;
            }
        } while (accept(token_kind::comma));
    }
    if (!expect_kw("FROM") || !qualified(s.table)) return false;
    if (accept_kw("USING") && !using_clause(s.attributes, false)) return false;
    if (!expect_kw("WHERE") || !relations(s.where, false)) return false;
    return if_clause(s.if_exists, s.conditions);
}

bool parser::batch(statement& result) {
    auto& b = result.emplace<batch_statement>();
    take();  // BEGIN
    if (accept_kw("UNLOGGED")) b.type = batch_type::unlogged;
    else if (accept_kw("COUNTER")) b.type = batch_type::counter;
    if (!expect_kw("BATCH")) return false;
    if (accept_kw("USING")) {
        const token at = peek();
        if (!using_clause(b.attributes, true)) return false;
        if (b.attributes.ttl) defer_invalid(at.begin, "Global TTL on the BATCH statement is not supported.");
    }
    for (;;) {
        const token t = peek();
        if (is_kw(t, "APPLY")) {
            take();
            return expect_kw("BATCH");
        }
        bool ok;
        if (is_kw(t, "INSERT")) {
            ok = insert(std::get<insert_statement>(b.statements.emplace_back(std::in_place_type<insert_statement>)));
        } else if (is_kw(t, "UPDATE")) {
            ok = update(std::get<update_statement>(b.statements.emplace_back(std::in_place_type<update_statement>)));
        } else if (is_kw(t, "DELETE")) {
            ok = delete_(std::get<delete_statement>(b.statements.emplace_back(std::in_place_type<delete_statement>)));
        } else {
            return mismatched(t, "K_APPLY");
        }
        if (!ok) return false;
        accept(token_kind::semicolon);
    }
}

// ---- Schema statements ------------------------------------------------------------------

bool parser::property_one(property& p) {
    if (!ident(p.name) || !expect(token_kind::eq, "'='")) return false;
    const token v = peek();
    if (v.kind == token_kind::ident && !is_constant_word(text(v)) && !is(1, token_kind::lparen) &&
        !detail::is_iso_duration_word(text(v))) {
        // Unquoted word value (Cassandra accepts unreserved keywords here).
        p.value.kind = term_kind::identifier;
        p.value.text = text(v);
        fold_into(p.value.name, text(v));
        take();
        return true;
    }
    if (!term_value(p.value, 0)) return false;
    if (!p.value.is_constant()) return no_viable(v);
    return true;
}

bool parser::properties(std::vector<property>& out) {
    do {
        const token t = peek();
        out.emplace_back();
        if (!property_one(out.back())) return false;
        for (std::size_t i = 0; i + 1 < out.size(); ++i)
            if (out[i].name == out.back().name)
                return fail(parse_error_kind::syntax_error, t.begin,
                            "Multiple definition for property '" + out.back().name + "'");
    } while (accept_kw("AND"));
    return true;
}

bool parser::create_keyspace(statement& result) {
    auto& s = result.emplace<create_keyspace_statement>();
    take();  // KEYSPACE / SCHEMA
    if (!if_not_exists(s.if_not_exists) || !ident(s.keyspace) || !expect_kw("WITH") || !properties(s.options))
        return false;
    for (const auto& p : s.options) {
        auto at = static_cast<std::size_t>(p.value.text.data() - src_.data());
        if (p.name == "replication") {
            std::map<std::string, std::string> m;
            if (!constant_string_map(p.value, m)) {
                defer_invalid(at, "Invalid value for property 'replication'. It should be a map.");
                continue;
            }
            s.replication = std::move(m);
        } else if (p.name == "durable_writes") {
            std::string v = constant_text(p.value);
            bool string_or_bool = p.value.kind == term_kind::boolean || p.value.kind == term_kind::string;
            if (string_or_bool && iequals(v, "TRUE")) s.durable_writes = true;
            else if (string_or_bool && iequals(v, "FALSE")) s.durable_writes = false;
            else defer_invalid(at, "Invalid boolean value for property 'durable_writes'");
        }
    }
    return true;
}

bool parser::column_definition_one(column_definition& c) {
    if (!ident(c.name) || !type(c.type, c.type_text)) return false;
    if (accept_kw("STATIC")) c.is_static = true;
    return true;
}

bool parser::create_table(statement& result) {
    auto& s = result.emplace<create_table_statement>();
    take();  // TABLE / COLUMNFAMILY
    if (!if_not_exists(s.if_not_exists) || !qualified(s.table) || !expect(token_kind::lparen, "'('")) return false;
    bool have_key = false;
    auto another_key = [&](const token& t) {
        if (have_key) defer_invalid(t.begin, "Multiple PRIMARY KEYs specified (exactly one required)");
        have_key = true;
    };
    do {
        if (is(0, token_kind::rparen)) break;  // trailing comma, as Cassandra allows
        const token t = peek();
        if (is_kw(t, "PRIMARY")) {
            take();
            if (!expect_kw("KEY") || !expect(token_kind::lparen, "'('")) return false;
            another_key(t);
            s.partition_key.clear();
            s.clustering_columns.clear();
            if (accept(token_kind::lparen)) {
                do {
                    s.partition_key.emplace_back();
                    if (!ident(s.partition_key.back())) return false;
                } while (accept(token_kind::comma));
                if (!expect(token_kind::rparen, "')'")) return false;
            } else {
                s.partition_key.emplace_back();
                if (!ident(s.partition_key.back())) return false;
            }
            while (accept(token_kind::comma)) {
                s.clustering_columns.emplace_back();
                if (!ident(s.clustering_columns.back())) return false;
            }
            if (!expect(token_kind::rparen, "')'")) return false;
            continue;
        }
        s.columns.emplace_back();
        auto& c = s.columns.back();
        if (!ident(c.name) || !type(c.type, c.type_text)) return false;
        for (;;) {
            const token m = peek();
            if (accept_kw("STATIC")) {
                c.is_static = true;
            } else if (accept_kw("PRIMARY")) {
                if (!expect_kw("KEY")) return false;
                another_key(m);
                s.partition_key.assign(1, c.name);
                s.clustering_columns.clear();
            } else {
                break;
            }
        }
    } while (accept(token_kind::comma));
    if (!expect(token_kind::rparen, "')'")) return false;
    if (accept_kw("WITH")) {
        do {
            const token t = peek();
            if (is_kw(t, "CLUSTERING") && is_kw(peek(1), "ORDER")) {
                take();
                take();
                if (!expect_kw("BY") || !expect(token_kind::lparen, "'('")) return false;
                do {
                    s.clustering_order.emplace_back();
                    auto& o = s.clustering_order.back();
                    if (!ident(o.column)) return false;
                    if (accept_kw("DESC")) o.descending = true;
                    else accept_kw("ASC");
                } while (accept(token_kind::comma));
                if (!expect(token_kind::rparen, "')'")) return false;
            } else if (is_kw(t, "COMPACT") && is_kw(peek(1), "STORAGE")) {
                take();
                take();
                s.compact_storage = true;
            } else {
                s.options.emplace_back();
                if (!property_one(s.options.back())) return false;
                for (std::size_t i = 0; i + 1 < s.options.size(); ++i)
                    if (s.options[i].name == s.options.back().name)
                        return fail(parse_error_kind::syntax_error, t.begin,
                                    "Multiple definition for property '" + s.options.back().name + "'");
            }
        } while (accept_kw("AND"));
    }
    if (!have_key) defer_invalid(0, "No PRIMARY KEY specified for table '" + s.table.name + "' (exactly one required)");
    return true;
}

bool parser::create_type(statement& result) {
    auto& s = result.emplace<create_type_statement>();
    take();  // TYPE
    if (!if_not_exists(s.if_not_exists) || !qualified(s.type) || !expect(token_kind::lparen, "'('")) return false;
    do {
        s.fields.emplace_back();
        auto& f = s.fields.back();
        if (!ident(f.name) || !type(f.type, f.type_text)) return false;
    } while (accept(token_kind::comma));
    return expect(token_kind::rparen, "')'");
}

bool parser::create_index(statement& result) {
    auto& s = result.emplace<create_index_statement>();
    s.custom = accept_kw("CUSTOM");
    take();  // INDEX
    if (!if_not_exists(s.if_not_exists)) return false;
    // The name is optional: `CREATE INDEX ON t (c)`.
    if (!(peek_kw("ON") && !is_kw(peek(1), "ON") && !is(1, token_kind::lparen) && !is(1, token_kind::dot)) &&
        !ident(s.name))
        return false;
    if (!expect_kw("ON") || !qualified(s.table) || !expect(token_kind::lparen, "'('")) return false;
    for (std::string_view k : {"KEYS", "VALUES", "ENTRIES", "FULL"}) {
        if (peek_kw(k) && is(1, token_kind::lparen)) {
            take();
            take();
            s.target_kind = std::string(k);
            for (auto& c : s.target_kind) c = static_cast<char>(c - 'A' + 'a');
            break;
        }
    }
    if (!ident(s.column)) return false;
    if (!s.target_kind.empty() && !expect(token_kind::rparen, "')'")) return false;
    if (!expect(token_kind::rparen, "')'")) return false;
    if (accept_kw("USING")) {
        const token cls = peek();
        term t;
        if (!term_value(t, 0)) return false;
        if (t.kind != term_kind::string) return mismatched(cls, "STRING_LITERAL");
        s.using_class = constant_text(t);
    }
    if (accept_kw("WITH")) {
        std::vector<property> props;
        if (!properties(props)) return false;
        for (const auto& p : props) {
            auto at = static_cast<std::size_t>(p.value.text.data() - src_.data());
            if (p.name != "options") defer_invalid(at, "Unknown property '" + p.name + "'");
            else if (!constant_string_map(p.value, s.options)) defer_invalid(at, "Invalid value for property 'options'. It should be a map.");
        }
    }
    if (s.custom && s.using_class.empty()) defer_invalid(0, "CUSTOM index requires specifying the index class");
    return true;
}

bool parser::create(statement& result) {
    const token start = take();  // CREATE
    const token t = peek();
    if (is_kw(t, "KEYSPACE") || is_kw(t, "SCHEMA")) return create_keyspace(result);
    if (is_kw(t, "TABLE") || is_kw(t, "COLUMNFAMILY")) return create_table(result);
    if (is_kw(t, "TYPE")) return create_type(result);
    if (is_kw(t, "INDEX") || (is_kw(t, "CUSTOM") && is_kw(peek(1), "INDEX"))) return create_index(result);
    if (is_kw(t, "MATERIALIZED")) return unsupported("CREATE MATERIALIZED VIEW", start.begin);
    if (is_kw(t, "FUNCTION")) return unsupported("CREATE FUNCTION", start.begin);
    if (is_kw(t, "AGGREGATE")) return unsupported("CREATE AGGREGATE", start.begin);
    if (is_kw(t, "OR")) {
        bool aggregate = is_kw(peek(2), "AGGREGATE");
        return unsupported(aggregate ? "CREATE OR REPLACE AGGREGATE" : "CREATE OR REPLACE FUNCTION", start.begin);
    }
    if (is_kw(t, "ROLE")) return unsupported("CREATE ROLE", start.begin);
    if (is_kw(t, "USER")) return unsupported("CREATE USER", start.begin);
    if (is_kw(t, "TRIGGER")) return unsupported("CREATE TRIGGER", start.begin);
    return no_viable(t);
}

bool parser::drop(statement& result) {
    const token start = take();  // DROP
    const token t = peek();
    if (is_kw(t, "KEYSPACE") || is_kw(t, "SCHEMA")) {
        auto& s = result.emplace<drop_keyspace_statement>();
        take();
        return if_exists(s.if_exists) && ident(s.keyspace);
    }
    if (is_kw(t, "TABLE") || is_kw(t, "COLUMNFAMILY")) {
        auto& s = result.emplace<drop_table_statement>();
        take();
        return if_exists(s.if_exists) && qualified(s.table);
    }
    if (is_kw(t, "TYPE")) {
        auto& s = result.emplace<drop_type_statement>();
        take();
        return if_exists(s.if_exists) && qualified(s.type);
    }
    if (is_kw(t, "INDEX")) {
        auto& s = result.emplace<drop_index_statement>();
        take();
        return if_exists(s.if_exists) && qualified(s.index);
    }
    if (is_kw(t, "MATERIALIZED")) return unsupported("DROP MATERIALIZED VIEW", start.begin);
    if (is_kw(t, "FUNCTION")) return unsupported("DROP FUNCTION", start.begin);
    if (is_kw(t, "AGGREGATE")) return unsupported("DROP AGGREGATE", start.begin);
    if (is_kw(t, "ROLE")) return unsupported("DROP ROLE", start.begin);
    if (is_kw(t, "USER")) return unsupported("DROP USER", start.begin);
    if (is_kw(t, "TRIGGER")) return unsupported("DROP TRIGGER", start.begin);
    if (is_kw(t, "IDENTITY")) return unsupported("DROP IDENTITY", start.begin);
    return no_viable(t);
}

bool parser::alter(statement& result) {
    const token start = take();  // ALTER
    const token t = peek();
    if (is_kw(t, "KEYSPACE") || is_kw(t, "SCHEMA")) return unsupported("ALTER KEYSPACE", start.begin);
    if (is_kw(t, "TYPE")) return unsupported("ALTER TYPE", start.begin);
    if (is_kw(t, "ROLE")) return unsupported("ALTER ROLE", start.begin);
    if (is_kw(t, "USER")) return unsupported("ALTER USER", start.begin);
    if (is_kw(t, "MATERIALIZED")) return unsupported("ALTER MATERIALIZED VIEW", start.begin);
    if (!is_kw(t, "TABLE") && !is_kw(t, "COLUMNFAMILY")) return no_viable(t);
    take();
    auto& s = result.emplace<alter_table_statement>();
    if (!qualified(s.table)) return false;
    const token action = peek();
    if (accept_kw("ADD")) {
        s.action = alter_table_action::add_columns;
        bool list = accept(token_kind::lparen);
        do {
            s.added.emplace_back();
            if (!column_definition_one(s.added.back())) return false;
        } while (list && accept(token_kind::comma));
        return !list || expect(token_kind::rparen, "')'");
    }
    if (accept_kw("DROP")) {
        if (peek_kw("COMPACT")) return unsupported_feature("ALTER TABLE ... DROP COMPACT STORAGE", start.begin);
        s.action = alter_table_action::drop_columns;
        bool list = accept(token_kind::lparen);
        do {
            s.dropped.emplace_back();
            if (!ident(s.dropped.back())) return false;
        } while (list && accept(token_kind::comma));
        return !list || expect(token_kind::rparen, "')'");
    }
    if (accept_kw("WITH")) {
        s.action = alter_table_action::set_options;
        return properties(s.options);
    }
    if (is_kw(action, "ALTER")) return unsupported_feature("ALTER TABLE ... ALTER (changing a column type)", start.begin);
    if (is_kw(action, "RENAME")) return unsupported_feature("ALTER TABLE ... RENAME", start.begin);
    return no_viable(action);
}

// ---- Top level -------------------------------------------------------------------------

bool parser::parse(statement& out) {
    const token t = peek();
    bool ok;
    if (t.kind != token_kind::ident) return no_viable(t);
    if (is_kw(t, "SELECT")) ok = select(out);
    else if (is_kw(t, "INSERT")) ok = insert(out.emplace<insert_statement>());
    else if (is_kw(t, "UPDATE")) ok = update(out.emplace<update_statement>());
    else if (is_kw(t, "DELETE")) ok = delete_(out.emplace<delete_statement>());
    else if (is_kw(t, "BEGIN")) ok = batch(out);
    else if (is_kw(t, "USE")) {
        take();
        ok = ident(out.emplace<use_statement>().keyspace);
    } else if (is_kw(t, "TRUNCATE")) {
        take();
        if (!accept_kw("TABLE")) accept_kw("COLUMNFAMILY");
        ok = qualified(out.emplace<truncate_statement>().table);
    } else if (is_kw(t, "CREATE")) ok = create(out);
    else if (is_kw(t, "DROP")) ok = drop(out);
    else if (is_kw(t, "ALTER")) ok = alter(out);
    else if (is_kw(t, "GRANT")) return unsupported("GRANT", t.begin);
    else if (is_kw(t, "REVOKE")) return unsupported("REVOKE", t.begin);
    else if (is_kw(t, "LIST")) return unsupported("LIST", t.begin);
    else if (is_kw(t, "DESCRIBE") || is_kw(t, "DESC")) return unsupported("DESCRIBE", t.begin);
    else if (is_kw(t, "ADD") && is_kw(peek(1), "IDENTITY")) return unsupported("ADD IDENTITY", t.begin);
    else return no_viable(t);
    if (!ok) return false;
    accept(token_kind::semicolon);
    const token& end = peek();
    if (end.kind != token_kind::eof) {
        if (end.kind == token_kind::error) return no_viable(end);
        std::string d = "extraneous input";
        return fail_token(end, d, "<EOF>");
    }
    if (pending_invalid_)
        return fail(parse_error_kind::invalid, pending_offset_, std::move(pending_message_), false);
    return true;
}

parse_result run(std::string_view source, std::shared_ptr<const char[]> storage) noexcept {
    parse_result r;
    try {
        r.source = source;
        r.source_storage = std::move(storage);
        parser p(source, r.bind_markers);
        statement st;
        if (p.parse(st)) {
            r.outcome = std::move(st);
        } else {
            r.outcome = p.take_error();
            r.bind_markers.clear();
        }
    } catch (const std::bad_alloc&) {
        r.outcome = parse_error{parse_error_kind::invalid, "out of memory while parsing", 1, 0, 0};
        r.bind_markers.clear();
    }
    return r;
}

bool is_scalar_constant(const term& t) noexcept {
    switch (t.kind) {
        case term_kind::string:
        case term_kind::integer:
        case term_kind::floating:
        case term_kind::boolean:
        case term_kind::blob:
        case term_kind::uuid:
        case term_kind::duration: return true;
        default: return false;
    }
}

}  // namespace

// ---- Public API ---------------------------------------------------------------------------

bool term::is_constant() const noexcept {
    switch (kind) {
        case term_kind::bind_marker:
        case term_kind::function_call:
        case term_kind::type_cast:
        case term_kind::identifier: return false;
        case term_kind::udt:
            for (std::size_t i = 1; i < children.size(); i += 2)
                if (!children[i].is_constant()) return false;
            return true;
        default:
            for (const auto& c : children)
                if (!c.is_constant()) return false;
            return true;
    }
}

std::string_view statement_name(const statement& s) noexcept {
    static constexpr std::array<std::string_view, std::variant_size_v<statement>> names{
        "SELECT",      "INSERT",     "UPDATE",   "DELETE",      "BATCH",       "USE",         "CREATE KEYSPACE",
        "DROP KEYSPACE", "CREATE TABLE", "DROP TABLE", "TRUNCATE", "ALTER TABLE", "CREATE TYPE", "DROP TYPE",
        "CREATE INDEX", "DROP INDEX",
    };
    return names[s.index()];
}

parse_result parse_statement(std::string_view cql) noexcept {
    if (cql.empty()) return run(cql, nullptr);
    std::shared_ptr<char[]> copy;
    try {
        copy = std::make_shared<char[]>(cql.size());
    } catch (const std::bad_alloc&) {
        parse_result r;
        r.outcome = parse_error{parse_error_kind::invalid, "out of memory while parsing", 1, 0, 0};
        return r;
    }
    std::copy(cql.begin(), cql.end(), copy.get());
    std::string_view view(copy.get(), cql.size());
    return run(view, std::move(copy));
}

parse_result parse_statement_borrowed(std::string_view cql) noexcept { return run(cql, nullptr); }

std::string constant_text(const term& t) {
    std::string out;
    if (t.kind == term_kind::identifier) return t.name;
    if (t.kind == term_kind::string && t.text.size() >= 2) {
        if (t.text[0] == '$') return std::string(t.text.substr(2, t.text.size() - 4));
        unquote_into(out, t.text, '\'');
        return out;
    }
    return std::string(t.text);
}

bool constant_string_map(const term& t, std::map<std::string, std::string>& out) {
    out.clear();
    if (t.kind == term_kind::empty_braces) return true;
    if (t.kind != term_kind::map) return false;
    for (std::size_t i = 0; i + 1 < t.children.size(); i += 2) {
        if (!is_scalar_constant(t.children[i]) || !is_scalar_constant(t.children[i + 1])) return false;
        out[constant_text(t.children[i])] = constant_text(t.children[i + 1]);
    }
    return true;
}

}  // namespace cqlpp::sim
