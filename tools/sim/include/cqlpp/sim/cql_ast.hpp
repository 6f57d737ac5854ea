// Syntax tree of the CQL statements the simulated cluster understands.
//
// Produced by parse_statement() (cql_parser.hpp); consumed by the executor.
// The tree is purely syntactic: names are resolved and literals interpreted by
// the executor, because a literal's meaning depends on the column's type.
//
// Conventions
//  - Identifiers are stored as CQL sees them: unquoted names folded to lower
//    case (`MyCol` -> "mycol"), "Quoted" names verbatim with `""` unescaped
//    (`"My""Col"` -> `My"Col`). Short names fit std::string's inline buffer,
//    so the common case does not allocate.
//  - Literals are kept as their exact source text (term::text) plus a syntactic
//    category (term::kind). The executor calls
//    protocol::parse_literal(column_type, term.text, value) once it knows the
//    type. Collection, tuple and UDT literals additionally have their parts in
//    term::children, so literals that embed bind markers or function calls
//    can be evaluated piecewise.
//  - Every std::string_view in the tree points into the statement source held
//    (or borrowed) by the parse_result; see cql_parser.hpp for the lifetime rule.
//  - Optional clauses that were not written are empty vectors / std::nullopt /
//    false. Nothing here checks schema facts (unknown columns, types, ...).
#pragma once

#include "cqlpp/protocol/types.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cqlpp::sim {

// `ks.name` or `name`. keyspace is empty when not written: the connection's
// current keyspace (USE) applies.
struct qualified_name {
    std::string keyspace;
    std::string name;

    friend bool operator==(const qualified_name&, const qualified_name&) = default;
};

// ---- Terms (values) ----------------------------------------------------------

enum class term_kind : std::uint8_t {
    // Constants: text is the literal exactly as written, ready for parse_literal().
    string,    // 'it''s' or $$it's$$ (quotes included in text)
    integer,   // 42, -7
    floating,  // 1.5, -1.5e3, 1e10, 1., NaN, Infinity, -Infinity
    boolean,   // true / false (any case)
    null,      // null
    blob,      // 0xcafe (also 0x: the empty blob)
    uuid,      // d8775a70-6ea4-11e4-9fa7-0db22d2a6140 (unquoted)
    duration,  // 1h30m, -3d, P1Y2M, PT5M, P2W, P0001-02-03T04:05:06

    // Composite literals: text covers the whole literal, children hold the parts.
    list,          // [a, b]           children: elements
    set,           // {a, b}           children: elements
    map,           // {k: v, ...}      children: k0, v0, k1, v1, ... (keys are terms)
    udt,           // {field: v, ...}  children: f0, v0, f1, v1, ... (f: kind identifier)
    empty_braces,  // {}               an empty map, set or UDT: the column type decides
    tuple,         // (a, b)           children: elements (a single `(a)` is a 1-tuple)

    // Non-constants.
    bind_marker,    // ? or :name; see term::bind_index / term::name
    function_call,  // now(), uuid(), toTimestamp(now()), ks.fn(1): name/keyspace + children args
    type_cast,      // (int) 3: cast_type + children[0]

    // Not a value: a bare identifier. Appears as the field names of a udt
    // literal and as unquoted table/keyspace property values (`WITH x = NONE`).
    identifier,
};

// A default-constructed term (kind null, empty text) fills slots that the
// syntax left empty, e.g. relation::value of an `IN (...)` list.
struct term {
    term_kind kind = term_kind::null;
    // Exact source text of the whole term, e.g. "{'a': [1, 2]}", "-1.5e3", "?", ":id", "now()".
    std::string_view text;
    // bind_marker: 0-based index among all bind markers of the statement, in
    // order of appearance (Cassandra's numbering, also across a BATCH).
    std::int32_t bind_index = -1;
    // bind_marker: the marker's name for `:name` (folded like an identifier), empty for `?`.
    // function_call: the function name, folded (`toTimestamp` -> "totimestamp").
    // identifier: the identifier, folded.
    std::string name;
    // function_call: the keyspace qualifier of `ks.fn(...)`, usually empty.
    std::string keyspace;
    // type_cast: source text of the target type ("int", "frozen<list<int>>"),
    // for protocol::parse_type_name().
    std::string_view cast_type;
    // Parts of composite literals, function-call arguments, the cast operand.
    std::vector<term> children;

    // True for constants and for composite literals made only of constants:
    // the whole `text` can go straight to parse_literal(). Bind markers,
    // function calls and casts (also nested ones) make it false.
    bool is_constant() const noexcept;
};

// ---- Relations (WHERE) and conditions (IF) ------------------------------------

enum class relation_op : std::uint8_t {
    eq,            // =
    neq,           // !=  (IF conditions; Cassandra rejects it in WHERE)
    lt,            // <
    lte,           // <=
    gt,            // >
    gte,           // >=
    in,            // IN (..) or IN ?
    contains,      // CONTAINS
    contains_key,  // CONTAINS KEY
    like,          // LIKE (SASI; the executor may reject it)
};

// What the left-hand side of a relation designates.
enum class relation_target : std::uint8_t {
    column,        // a = 1                 columns = {a}
    element,       // m['k'] = 1, l[0] = 1  columns = {m}, element = key / index
    field,         // u.f = 1 (IF only)     columns = {u}, field = f
    multi_column,  // (c1, c2) > (1, 2)     columns = {c1, c2}
    token,         // token(a, b) > 5       columns = {a, b}
};

struct relation {
    relation_target target = relation_target::column;
    std::vector<std::string> columns;  // see relation_target
    std::optional<term> element;       // target == element
    std::string field;                 // target == field
    relation_op op = relation_op::eq;
    // The right-hand side. For multi_column comparisons a tuple literal or a marker.
    // For `IN ?` / `IN :name` the marker. Unused when in_list is true.
    term value;
    // `IN (t1, t2, ...)`: in_list is true and in_values holds the listed terms
    // (possibly none; for multi_column each is a tuple literal or a marker).
    bool in_list = false;
    std::vector<term> in_values;
};

// ---- Modification statements ----------------------------------------------------

// USING TTL n AND TIMESTAMP n (either order, either optional). The terms are
// integer literals (possibly negative: the executor validates ranges) or markers.
struct update_attributes {
    std::optional<term> ttl;
    std::optional<term> timestamp;
};

struct insert_statement {
    qualified_name table;
    std::vector<std::string> columns;  // as listed
    std::vector<term> values;          // same length and order as columns
    // INSERT ... JSON '<doc>' | JSON ?: the document (columns/values then empty).
    std::optional<term> json;
    bool json_default_unset = false;   // DEFAULT UNSET (DEFAULT NULL is the default)
    bool if_not_exists = false;
    update_attributes attributes;
};

enum class assignment_op : std::uint8_t {
    set,          // c = t
    add,          // c = c + t, c += t   (counter increment, list append, set/map union, ...)
    subtract,     // c = c - t, c -= t   (counter decrement, list/set/map removal)
    prepend,      // c = t + c           (list prepend)
    set_element,  // c[k] = t            (map entry, list index); key in `element`
    set_field,    // c.f = t             (field of a non-frozen UDT); name in `field`
};

struct assignment {
    std::string column;
    assignment_op op = assignment_op::set;
    term value;
    std::optional<term> element;  // set_element
    std::string field;            // set_field
};

struct update_statement {
    qualified_name table;
    update_attributes attributes;
    std::vector<assignment> assignments;
    std::vector<relation> where;
    bool if_exists = false;
    std::vector<relation> conditions;  // IF a = 1 AND ... (targets: column, element, field)
};

// One item of `DELETE a, m['k'], u.f FROM ...`.
struct deletion_target {
    std::string column;
    std::optional<term> element;  // m[key] / l[index]
    std::string field;            // u.f
};

struct delete_statement {
    qualified_name table;
    std::vector<deletion_target> columns;  // empty: delete whole rows
    update_attributes attributes;          // only timestamp can be set
    std::vector<relation> where;
    bool if_exists = false;
    std::vector<relation> conditions;
};

enum class batch_type : std::uint8_t { logged, unlogged, counter };

using batch_child = std::variant<insert_statement, update_statement, delete_statement>;

struct batch_statement {
    batch_type type = batch_type::logged;
    update_attributes attributes;  // only timestamp (a batch TTL is rejected as invalid)
    std::vector<batch_child> statements;
};

// ---- SELECT ----------------------------------------------------------------------

enum class selector_kind : std::uint8_t {
    column,         // c                               name
    count_star,     // COUNT(*) or COUNT(1)
    writetime,      // WRITETIME(c)                    args[0]
    max_writetime,  // MAXWRITETIME(c)  (5.0)          args[0]
    ttl,            // TTL(c)                          args[0]
    function_call,  // fn(args...), ks.fn(...): name, keyspace, args  (token(), toJson(), now(), count(c), ...)
    cast,           // CAST(arg AS type)               args[0], cast_type
    field,          // arg.f  (UDT field)              args[0], name = field
    element,        // arg[key]  (collection element)  args[0], value = key
    term,           // a literal or marker             value
};

struct selector {
    selector_kind kind = selector_kind::column;
    // Source text of the selector without its alias, e.g. "writetime(c)", "count(*)".
    std::string_view text;
    std::string name;      // column / function / field name (folded)
    std::string keyspace;  // function_call qualifier
    std::vector<selector> args;
    term value;                   // term, element
    std::string_view cast_type;   // cast: type text for protocol::parse_type_name()
    std::string alias;            // AS alias, empty when none
};

// ORDER BY c DESC, and CLUSTERING ORDER BY (c DESC) in CREATE TABLE.
struct ordering {
    std::string column;
    bool descending = false;
};

struct select_statement {
    qualified_name table;
    bool json = false;                 // SELECT JSON
    bool distinct = false;
    bool select_all = false;           // SELECT *  (selectors is then empty)
    std::vector<selector> selectors;   // as listed
    std::vector<relation> where;       // joined by AND
    std::vector<std::string> group_by;
    std::vector<ordering> order_by;
    std::optional<term> ann_of;                // ORDER BY v ANN OF <vector>: the vector (order_by[0] is v)
    std::optional<term> per_partition_limit;  // integer literal or marker
    std::optional<term> limit;                // integer literal or marker
    bool allow_filtering = false;
};

// ---- Schema statements ---------------------------------------------------------------

// `name = value` in a WITH clause. value is a constant, a map literal
// ({'class': 'X', ...}) or a bare identifier (kind identifier).
struct property {
    std::string name;  // folded
    term value;
};

struct use_statement {
    std::string keyspace;
};

struct create_keyspace_statement {
    std::string keyspace;
    bool if_not_exists = false;
    // replication = {...} with keys and values as plain strings
    // ({'class': 'SimpleStrategy', 'replication_factor': 3} -> class=SimpleStrategy,
    // replication_factor=3). Empty when not given (the executor rejects that).
    std::map<std::string, std::string> replication;
    std::optional<bool> durable_writes;
    std::vector<property> options;  // every property as written, replication included
};

struct drop_keyspace_statement {
    std::string keyspace;
    bool if_exists = false;
};

struct column_definition {
    std::string name;
    protocol::cql_type type;     // parsed; a UDT has only its (ks.)name filled in
    std::string_view type_text;  // as written, for messages
    bool is_static = false;
};

struct create_table_statement {
    qualified_name table;
    bool if_not_exists = false;
    std::vector<column_definition> columns;          // declaration order
    std::vector<std::string> partition_key;          // PRIMARY KEY ((a, b), ...) or `a int PRIMARY KEY`
    std::vector<std::string> clustering_columns;     // PRIMARY KEY (..., c, d)
    std::vector<ordering> clustering_order;          // WITH CLUSTERING ORDER BY (c DESC, d ASC), as written
    bool compact_storage = false;                    // WITH COMPACT STORAGE
    std::vector<property> options;                   // comment, compaction, default_time_to_live, ...
};

struct drop_table_statement {
    qualified_name table;
    bool if_exists = false;
};

struct truncate_statement {
    qualified_name table;
};

enum class alter_table_action : std::uint8_t {
    add_columns,   // ADD c t / ADD (c1 t1, c2 t2)  -> added
    drop_columns,  // DROP c / DROP (c1, c2)        -> dropped
    set_options,   // WITH a = b AND ...            -> options
};

struct alter_table_statement {
    qualified_name table;
    alter_table_action action = alter_table_action::add_columns;
    std::vector<column_definition> added;
    std::vector<std::string> dropped;
    std::vector<property> options;
};

struct field_definition {
    std::string name;
    protocol::cql_type type;
    std::string_view type_text;
};

struct create_type_statement {
    qualified_name type;
    bool if_not_exists = false;
    std::vector<field_definition> fields;
};

struct drop_type_statement {
    qualified_name type;
    bool if_exists = false;
};

// CREATE [CUSTOM] INDEX [IF NOT EXISTS] [name] ON t (target) [USING 'class'] [WITH OPTIONS = {...}]
struct create_index_statement {
    qualified_name table;
    std::string name;            // empty: Cassandra's default <table>_<column>_idx
    bool if_not_exists = false;
    bool custom = false;         // CREATE CUSTOM INDEX
    std::string column;          // the indexed column (folded)
    std::string target_kind;     // "", "keys", "values", "entries" or "full" (target written as kind(col))
    std::string using_class;     // USING '...', unquoted; empty when not given
    std::map<std::string, std::string> options;  // WITH OPTIONS = {...}, as plain strings
};

// DROP INDEX [IF EXISTS] [ks.]name
struct drop_index_statement {
    qualified_name index;
    bool if_exists = false;
};

// ---- Any statement --------------------------------------------------------------------

using statement = std::variant<select_statement, insert_statement, update_statement, delete_statement,
                               batch_statement, use_statement, create_keyspace_statement,
                               drop_keyspace_statement, create_table_statement, drop_table_statement,
                               truncate_statement, alter_table_statement, create_type_statement,
                               drop_type_statement, create_index_statement, drop_index_statement>;

// "SELECT", "INSERT", "CREATE TABLE", ... for logs and messages.
std::string_view statement_name(const statement& s) noexcept;

}  // namespace cqlpp::sim
