// Priming and the activity log of the simulated cluster, for tests.
//
// Priming (like Simulacron): "when this query arrives (at this node, at this
// consistency, with these values), answer these rows / this error, after this
// delay" -- or close the connection, or never answer. A prime overlays the
// sim's engine: requests no prime matches run on the engine as before.
//
//   sim::prime_rule r;
//   r.query = "SELECT name FROM shop.items WHERE id = ?";
//   r.node = 1;                                        // any node when unset
//   r.params = {{"id", "int"}};                        // bind markers (PREPARE, value matching)
//   r.values = std::vector<std::string>{"7"};          // CQL literals; "null" for null
//   r.then = sim::prime_rows{{{"name", "text"}}, {{"'seven'"}}};
//   r.delay = std::chrono::milliseconds(20);
//   r.times = 1;                                       // one-shot; 0: until cleared
//   cluster.prime(r);                                  // std::invalid_argument if malformed
//
// Matching: QUERY text, EXECUTE (the prepared id resolved to its text) and
// every statement of a BATCH are compared with `query`; rules are tried
// newest first; the first that matches answers (and a `times` budget counts
// down; the rule is gone when it reaches 0). A prime answers before the
// node's other faults (fail_next) and its latency apply.
//
// PREPARE of a text that matches a rule's `query` (node, consistency and
// values are not looked at) is answered by the engine when it can prepare it
// (the schema exists); otherwise it succeeds with metadata synthesised from
// `params` (bind markers) and the rows' columns (result), and EXECUTE of that
// id answers the prime. Such an id that no rule matches any more gets an
// INVALID error saying so (never UNPREPARED, which a driver would answer by
// preparing again, forever).
//
// Activity log: off by default (no cost on the request path). When on, each
// node keeps the last `capacity` QUERY / PREPARE / EXECUTE / BATCH requests it
// received, in order of arrival.
#pragma once

#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/common.hpp"
#include "cqlpp/protocol/error_response.hpp"
#include "cqlpp/protocol/messages.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cqlpp::sim {

// A column or bind marker: name and CQL type as written in CQL ("int",
// "map<text, frozen<list<int>>>").
struct prime_column {
    std::string name;
    std::string type;
};

// ---- answers ----

// A Rows result. Cells are CQL literals of their column's type ("'text'",
// "42", "{1, 2}", "null"), parsed and encoded when the rule is primed.
struct prime_rows {
    std::vector<prime_column> columns;
    std::vector<std::vector<std::string>> rows;
    std::string keyspace = "primed";  // the table spec the metadata carries
    std::string table = "primed";
};

struct prime_void {};            // RESULT Void (what a write returns)
struct prime_close_connection {};  // the connection is closed instead of answering
struct prime_no_answer {};       // nothing is sent: the client's timeout fires

// Any server error, with its fields (details must be the alternative the code
// carries, or monostate for the code's defaults). Helpers below.
using prime_error = protocol::error_response;

using prime_answer = std::variant<prime_void, prime_rows, prime_error, prime_close_connection, prime_no_answer>;

prime_error unavailable_error(protocol::consistency cl, std::int32_t required, std::int32_t alive);
prime_error read_timeout_error(protocol::consistency cl, std::int32_t received, std::int32_t block_for,
                               bool data_present);
// write_type: "SIMPLE", "BATCH", "UNLOGGED_BATCH", "COUNTER", "BATCH_LOG", "CAS", "VIEW", "CDC".
prime_error write_timeout_error(protocol::consistency cl, std::int32_t received, std::int32_t block_for,
                                std::string write_type);
prime_error server_error(protocol::server_errc code, std::string message);

// ---- rules ----

enum class prime_match : std::uint8_t { exact, prefix, regex };  // regex: ECMAScript, whole text

struct prime_rule {
    // when
    std::string query;
    prime_match match = prime_match::exact;
    std::optional<int> node;                          // any node when unset
    std::optional<protocol::consistency> consistency;  // any when unset
    // Bind markers: names and types, for a PREPARE the engine cannot answer
    // and to compare `values`.
    std::vector<prime_column> params;
    // Bound values as CQL literals of params' types, compared byte for byte
    // with what the request carries (positional). Requires params.
    std::optional<std::vector<std::string>> values;
    // then
    prime_answer then = prime_void{};
    std::chrono::milliseconds delay{0};
    int times = 0;  // answers this many requests, then is removed; 0: until cleared
};

// ---- rules as flat fields (CQL and JSON) ----

// A rule as the columns of sim.primes and the keys of a `cqlpp sim --prime`
// JSON object: strings and numbers only, so any client can write one.
struct prime_spec {
    std::string query;
    std::string match;        // "exact" (default) | "prefix" | "regex"
    std::optional<int> node;  // any node when unset
    std::string consistency;  // "" any, else "QUORUM", "LOCAL_ONE", ...
    std::vector<std::string> params;                // "name type", e.g. "id int", "tags set<text>"
    std::optional<std::vector<std::string>> values;  // CQL literals of the params' types
    // "void" | "rows" | "error" | "close" | "no_answer"; empty: "rows" when
    // columns or rows are given, "error" when error or its fields are, else "void".
    std::string then;
    std::vector<std::string> columns;               // "name type"
    std::vector<std::vector<std::string>> rows;     // CQL literals: "'text'", "42", "null"
    std::string error;    // code name ("UNAVAILABLE", "OVERLOADED", ...) or number
    std::string message;  // empty: a message in Cassandra's words for the code
    // Error fields: consistency (default: the rule's, else ONE), required and
    // alive (UNAVAILABLE), received, block_for (timeouts), data_present
    // (READ_TIMEOUT), write_type (WRITE_TIMEOUT, default SIMPLE).
    std::string error_consistency;
    std::optional<int> required, alive, received, block_for;
    std::optional<bool> data_present;
    std::string write_type;
    int delay_ms = 0;
    int times = 0;  // 0: until cleared
};

// The rule a spec describes. Throws std::invalid_argument naming the field
// (the rule is then checked again, fully, by cluster::prime).
prime_rule to_prime_rule(const prime_spec& s);
// The spec of a rule (what SELECT * FROM sim.primes shows).
prime_spec to_prime_spec(const prime_rule& r);
// Specs from JSON: one object or an array of objects whose keys are
// prime_spec's fields. Literals (values, rows) may be JSON strings (CQL
// literals as written: "'apple'"), numbers, booleans or null. Throws
// std::invalid_argument naming the rule and field (unknown fields included).
std::vector<prime_spec> parse_prime_specs_json(std::string_view json);

// A rule the cluster holds: its id and the answers left (0 when unlimited).
struct prime_info {
    std::uint64_t id = 0;
    prime_rule rule;
    int left = 0;
};

// ---- activity log ----

// Bound values are kept raw, and as CQL literals when their types are known:
// for a prepared statement (EXECUTE, a prepared BATCH child) the types of its
// markers; for a QUERY or a simple BATCH child the types of the columns its
// markers map to, when the engine can plan the text against the schema of the
// moment (the table exists), positionally or by name (flag 0x40). Otherwise
// (an unknown table, a primed text with no schema behind it) `values_typed`
// is false and `decoded_values` is empty.

struct activity_statement {  // one statement of a BATCH
    std::string query;  // the text; for a prepared child, the text its id was prepared from
    std::optional<protocol::byte_buffer> prepared_id;  // a prepared child
    std::vector<std::optional<protocol::byte_buffer>> values;  // nullopt: null or unset
    // CQL literals ("'text'", "42", "null", "unset") when values_typed; a
    // value that does not decode as its type shows as its bytes (0x...).
    std::vector<std::string> decoded_values;
    bool values_typed = false;
};

struct activity_entry {
    std::chrono::system_clock::time_point received;
    int node = 0;
    std::uint64_t connection = 0;  // unique per connection over the cluster's life
    std::int16_t stream = 0;
    protocol::opcode op = protocol::opcode::query;
    // QUERY / PREPARE text, EXECUTE's prepared id resolved to its text
    // (empty if the id is unknown), empty for BATCH (see `batch`).
    std::string query;
    std::optional<protocol::byte_buffer> prepared_id;  // EXECUTE
    std::vector<std::optional<protocol::byte_buffer>> values;  // raw bound values; nullopt: null
    std::vector<std::string> value_names;                      // names for values (flag 0x40)
    std::vector<std::string> decoded_values;                   // see activity_statement
    bool values_typed = false;                                 // decoded_values holds literals
    protocol::consistency consistency = protocol::consistency::one;
    std::optional<protocol::consistency> serial_consistency;
    std::optional<std::int32_t> page_size;
    std::optional<protocol::byte_buffer> paging_state;
    std::optional<std::int64_t> default_timestamp;
    std::string keyspace;  // the request's v5 keyspace, else the connection's (USE)
    std::vector<activity_statement> batch;  // BATCH: each statement with its values
    std::optional<protocol::batch_type> batch_type;
    bool primed = false;  // answered by a prime
};

}  // namespace cqlpp::sim
