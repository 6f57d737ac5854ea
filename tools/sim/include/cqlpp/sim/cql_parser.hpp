// CQL statement parser of the simulated cluster (sans-I/O, no execution).
//
//   auto r = cqlpp::sim::parse_statement("SELECT * FROM system.local WHERE key = 'local'");
//   if (!r) reply_error(r.error().kind == parse_error_kind::syntax_error ? 0x2000 : 0x2200,
//                       r.error().message);
//   else if (auto* s = r.get_if<cqlpp::sim::select_statement>()) ...
//
// The parser never throws and never recurses deeper than max_nesting_depth,
// whatever the input. It is a hand-written recursive-descent parser over a lazy
// lexer: no token vector, identifiers short enough for std::string's inline
// buffer do not allocate, literals are views into the source.
//
// Lifetime: every std::string_view in the tree points into parse_result::source.
// parse_statement() copies the text into shared storage owned by the result
// (copies of the result share it, so the views stay valid as long as any copy
// lives). parse_statement_borrowed() skips that copy for per-request parsing:
// the caller must keep the text alive while it uses the result.
#pragma once

#include "cqlpp/sim/cql_ast.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cqlpp::sim {

// Deepest nesting of literals / function calls / selectors accepted (`[[[...]]]`).
inline constexpr int max_nesting_depth = 64;

enum class parse_error_kind : std::uint8_t {
    syntax_error,  // malformed statement              -> SYNTAX_ERROR (0x2000)
    unsupported,   // valid CQL the simulator lacks     -> INVALID (0x2200)
    invalid,       // well-formed but rejected as Cassandra rejects it at
                   // preparation (e.g. two PRIMARY KEYs, column/value count
                   // mismatch, BATCH USING TTL)       -> INVALID (0x2200)
};

struct parse_error {
    parse_error_kind kind = parse_error_kind::syntax_error;
    // Cassandra-style: "line 1:14 mismatched input 'FORM' expecting K_FROM",
    // "line 1:0 no viable alternative at input 'SELEC'",
    // "line 1:25 mismatched character '<EOF>' expecting '''".
    // Unsupported statements: "CREATE INDEX statements are not supported by the simulator".
    std::string message;
    std::uint32_t line = 1;    // 1-based
    std::uint32_t column = 0;  // 0-based, in bytes (as Cassandra's "line L:C")
    std::size_t offset = 0;    // byte offset in the source
};

struct bind_marker {
    std::string name;         // `:name` folded like an identifier; empty for `?`
    std::size_t offset = 0;   // byte offset of the marker in the source
};

struct parse_result {
    std::variant<parse_error, statement> outcome;
    // Every marker of the statement, index = term::bind_index (for PREPARE's
    // result metadata: count, and names of named markers).
    std::vector<bind_marker> bind_markers;
    // The parsed text; all views in the tree point into it.
    std::string_view source;
    // Owns `source` for parse_statement(); null for parse_statement_borrowed().
    std::shared_ptr<const char[]> source_storage;

    bool ok() const noexcept { return outcome.index() == 1; }
    explicit operator bool() const noexcept { return ok(); }

    // Preconditions: ok() for stmt(), !ok() for error().
    const statement& stmt() const noexcept { return *std::get_if<statement>(&outcome); }
    statement& stmt() noexcept { return *std::get_if<statement>(&outcome); }
    const parse_error& error() const noexcept { return *std::get_if<parse_error>(&outcome); }

    // The statement as T, or nullptr (also on error).
    template <class T>
    const T* get_if() const noexcept {
        const auto* s = std::get_if<statement>(&outcome);
        return s ? std::get_if<T>(s) : nullptr;
    }
    std::size_t bind_marker_count() const noexcept { return bind_markers.size(); }
};

// Parses one statement (a BATCH holds several). A trailing `;` is allowed.
parse_result parse_statement(std::string_view cql) noexcept;
// Same, without copying `cql`: the result's views point into the caller's buffer.
parse_result parse_statement_borrowed(std::string_view cql) noexcept;

// ---- Helpers for the executor ----------------------------------------------------

// The text of a constant without its quoting: 'it''s' -> it's, $$a$$ -> a;
// other constants (3, true, 1h, ...) and identifiers as written / as folded.
std::string constant_text(const term& t);

// A map literal of constants as plain string pairs ({'class': 'X', 'rf': 3}),
// as used by replication/compaction/caching options. False if `t` is not such
// a literal (an empty `{}` gives an empty map).
bool constant_string_map(const term& t, std::map<std::string, std::string>& out);

}  // namespace cqlpp::sim
