// Private data structures of the simulated cluster's engine (engine*.cpp).
//
// Storage keeps every cell as its serialized bytes, so a read copies bytes
// straight into the RESULT body. Statements are compiled once into plans
// (resolved columns, pre-encoded constants, bind-marker slots); prepared
// statements and recently seen QUERY texts keep their plans, which are
// rebuilt under the exclusive lock whenever the schema changes.
#pragma once

#include "cqlpp/protocol/error_response.hpp"
#include "cqlpp/protocol/messages.hpp"
#include "cqlpp/protocol/types.hpp"
#include "cqlpp/protocol/value.hpp"
#include "cqlpp/sim/cql_parser.hpp"
#include "cqlpp/sim/engine.hpp"

#include <array>
#include <atomic>
#include <cstring>
#include <span>
#include <cstdint>
#include <deque>
#include <list>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace cqlpp::sim::detail {

namespace proto = cqlpp::protocol;
using proto::byte_buffer;
using proto::bytes_view;
using proto::cql_type;
using proto::type_kind;
using proto::value_view;

// Thrown inside the engine, turned into an ERROR body at the top of execute().
struct cql_error {
    proto::server_errc code = proto::server_errc::invalid;
    std::string message;
    proto::error_details details;
};
[[noreturn]] void throw_invalid(std::string msg);
[[noreturn]] void throw_error(proto::server_errc code, std::string msg, proto::error_details d = {});

// ---- values ------------------------------------------------------------------

// Compares two serialized values of `t` in Cassandra's order (numbers
// numerically, text/blob by unsigned bytes, timeuuids by time, collections and
// tuples element-wise). Empty values sort first.
int compare_values(const cql_type& t, bytes_view a, bytes_view b) noexcept;
// Literal (constant term) of the given column type -> serialized bytes;
// throws INVALID with Cassandra's "Invalid X constant (..) for "col" of type t".
// Returns false for a null literal.
bool literal_bytes(const cql_type& t, const term& lit, std::string_view column, byte_buffer& out);
// Validates a bound value's bytes for the type (sizes, UTF-8, collection
// structure); throws INVALID.
void validate_value(const cql_type& t, bytes_view b, std::string_view column);
// Whole collection / tuple helpers on serialized bytes.
bool split_collection(bytes_view b, std::vector<bytes_view>& out);  // list/set/map (map: k0 v0 k1 v1 ...)
void join_collection(const std::vector<bytes_view>& elems, std::size_t count, byte_buffer& out);
bool split_tuple(bytes_view b, std::vector<std::optional<bytes_view>>& out);
// CQL text of a type as system_schema prints it (UDTs without keyspace).
std::string schema_type_name(const cql_type& t);
// Human name of a type for messages ("int", "text", "list<int>").
std::string type_display(const cql_type& t);
// 16-byte stable hash.
std::array<std::uint8_t, 16> hash16(std::string_view a, std::string_view b = {});

// Encoders for generated rows (system tables).
byte_buffer enc_text(std::string_view s);
byte_buffer enc_int(std::int32_t v);
byte_buffer enc_bigint(std::int64_t v);
byte_buffer enc_bool(bool v);
byte_buffer enc_double(double v);
byte_buffer enc_uuid(const proto::uuid_bytes& u);
byte_buffer enc_inet(const proto::inet_address& a);
byte_buffer enc_text_set(const std::vector<std::string>& v);   // also list<text>
byte_buffer enc_text_map(const std::map<std::string, std::string>& m);

// ---- schema -------------------------------------------------------------------

enum class column_kind : std::uint8_t { partition_key, clustering, regular, static_ };
std::string_view to_string(column_kind k) noexcept;

struct column_def {
    std::string name;
    cql_type type;
    column_kind kind = column_kind::regular;
    int position = -1;    // partition_key / clustering: position in the key
    bool descending = false;
    int slot = -1;        // regular: index in row::cells; static: in partition::statics
    bool multi_cell = false;  // non-frozen collection or UDT (append/remove allowed)
    bool is_key() const noexcept { return kind == column_kind::partition_key || kind == column_kind::clustering; }
};

// Clustering comparator state shared by a table and its row maps.
struct clustering_layout {
    std::vector<cql_type> types;
    std::vector<bool> descending;
};

// A clustering key is serialized as [int32 len][bytes] per component; a
// prefix is the same with fewer components. prefix_hi sorts after every key
// that starts with the prefix.
struct prefix_lo {
    bytes_view bytes;
};
struct prefix_hi {
    bytes_view bytes;
};
struct ck_less {
    using is_transparent = void;
    const clustering_layout* layout = nullptr;
    // <0, 0, >0 in clustering order over the common components; when those
    // are equal and one side has fewer, returns shorter_sign if `a` is the
    // shorter one and -shorter_sign if `b` is.
    int compare(bytes_view a, bytes_view b, int shorter_sign) const noexcept;
    bool operator()(const byte_buffer& a, const byte_buffer& b) const noexcept { return compare(a, b, -1) < 0; }
    bool operator()(const byte_buffer& a, prefix_lo p) const noexcept { return compare(a, p.bytes, -1) < 0; }
    bool operator()(prefix_lo p, const byte_buffer& a) const noexcept { return compare(p.bytes, a, -1) < 0; }
    bool operator()(const byte_buffer& a, prefix_hi p) const noexcept { return compare(a, p.bytes, 1) < 0; }
    bool operator()(prefix_hi p, const byte_buffer& a) const noexcept { return compare(p.bytes, a, 1) < 0; }
};
// Components of a serialized clustering key.
void split_clustering(bytes_view key, std::vector<bytes_view>& out);
bytes_view clustering_component(bytes_view key, int index) noexcept;
void append_component(byte_buffer& key, bytes_view v);

struct cell {
    byte_buffer value;
    std::int64_t ts = std::numeric_limits<std::int64_t>::min();  // write time (µs); min = never written
    std::int32_t expiry = 0;  // seconds since epoch; 0 = never
    std::int32_t ttl = 0;
    bool has_value = false;   // false: deleted (a tombstone at ts) or never written
    bool live(std::int32_t now_s) const noexcept { return has_value && (expiry == 0 || expiry > now_s); }
};

struct row {
    std::vector<cell> cells;  // by column_def::slot; may be shorter than the table's slot count
    cell marker;              // INSERT's row marker (value unused)
    bool live(std::int32_t now_s) const noexcept {
        if (marker.live(now_s)) return true;
        for (const auto& c : cells)
            if (c.live(now_s)) return true;
        return false;
    }
};

using row_map = std::map<byte_buffer, row, ck_less>;

struct partition {
    std::int64_t t = 0;
    byte_buffer key;                     // serialized partition key (token input)
    std::vector<byte_buffer> pk_values;  // per partition-key column
    std::vector<cell> statics;
    row_map rows;
    explicit partition(const clustering_layout* l) : rows(ck_less{l}) {}
    bool has_live_static(std::int32_t now_s) const noexcept {
        for (const auto& c : statics)
            if (c.live(now_s)) return true;
        return false;
    }
};

struct partition_pos {
    std::int64_t t;
    bytes_view key;
};
struct partition_key_less {
    using is_transparent = void;
    static int cmp(std::int64_t ta, bytes_view a, std::int64_t tb, bytes_view b) noexcept;
    bool operator()(const std::pair<std::int64_t, byte_buffer>& a, const std::pair<std::int64_t, byte_buffer>& b) const noexcept {
        return cmp(a.first, a.second, b.first, b.second) < 0;
    }
    bool operator()(const std::pair<std::int64_t, byte_buffer>& a, partition_pos b) const noexcept {
        return cmp(a.first, a.second, b.t, b.key) < 0;
    }
    bool operator()(partition_pos a, const std::pair<std::int64_t, byte_buffer>& b) const noexcept {
        return cmp(a.t, a.key, b.first, b.second) < 0;
    }
};
using partition_map = std::map<std::pair<std::int64_t, byte_buffer>, partition, partition_key_less>;

struct keyspace_def;
struct exec_ctx;
class engine_impl;

// A secondary index (CREATE INDEX): legacy 2i or SAI. Index names are unique
// within the keyspace.
struct index_def {
    std::string name;
    std::string column;  // the indexed column
    bool sai = false;    // StorageAttachedIndex: also range predicates; ANN on vectors
    std::map<std::string, std::string> options;  // system_schema.indexes.options (target, class_name, ...)
};

struct table_def {
    std::string keyspace, name;
    std::vector<index_def> indexes;
    proto::uuid_bytes id{};
    // Every column, in SELECT * order: partition key, clustering, statics and
    // regulars by name (as Cassandra orders them).
    std::vector<column_def> columns;
    std::unordered_map<std::string, int> by_name;  // -> index in columns
    std::vector<int> pk, ck;                       // column indices in key order
    int regular_slots = 0, static_slots = 0;
    std::shared_ptr<clustering_layout> layout;
    bool is_counter = false;
    bool compact = false;
    std::int32_t default_ttl = 0;
    std::int32_t gc_grace = 864000;
    std::string comment;
    std::map<std::string, std::string> caching{{"keys", "ALL"}, {"rows_per_partition", "NONE"}};
    std::map<std::string, std::string> compaction{
        {"class", "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy"},
        {"max_threshold", "32"},
        {"min_threshold", "4"}};
    std::map<std::string, std::string> compression{{"chunk_length_in_kb", "16"},
                                                   {"class", "org.apache.cassandra.io.compress.LZ4Compressor"}};
    std::string speculative_retry = "99p";
    std::string additional_write_policy = "99p";
    double bloom_filter_fp_chance = 0.01;
    double crc_check_chance = 1.0;
    std::string read_repair = "BLOCKING";
    int memtable_flush_period = 0, min_index_interval = 128, max_index_interval = 2048;
    bool cdc = false;

    // Virtual tables (system, system_schema, sim): rows generated per request.
    std::function<void(engine_impl&, const exec_ctx&, const table_def&, partition_map&)> generator;
    bool is_virtual() const noexcept { return static_cast<bool>(generator); }

    partition_map data;
    // Point lookups by token (hash) instead of walking the ordered map; a
    // token collision falls back to the map.
    std::unordered_map<std::int64_t, partition_map::iterator> index;

    partition_map::iterator find_partition(std::int64_t t, bytes_view key) {
        auto it = index.find(t);
        if (it != index.end() && proto::same_bytes(it->second->second.key, key)) return it->second;
        if (it == index.end()) return data.end();
        return data.find(partition_pos{t, key});
    }
    partition_map::iterator add_partition(std::int64_t t, byte_buffer key, partition&& p) {
        auto it = data.emplace(std::make_pair(t, std::move(key)), std::move(p)).first;
        index.emplace(t, it);
        return it;
    }
    void erase_partition(partition_map::iterator it) {
        auto i = index.find(it->first.first);
        if (i != index.end() && i->second == it) {
            index.erase(i);
            // Another partition with the same token takes the slot.
            auto next = std::next(it);
            if (next != data.end() && next->first.first == it->first.first) index.emplace(it->first.first, next);
            else if (it != data.begin() && std::prev(it)->first.first == it->first.first) index.emplace(it->first.first, std::prev(it));
        }
        data.erase(it);
    }
    void clear_data() {
        index.clear();
        data.clear();
    }

    const column_def* find(std::string_view n) const noexcept {
        auto it = by_name.find(std::string(n));
        return it == by_name.end() ? nullptr : &columns[static_cast<std::size_t>(it->second)];
    }
    int index_of(const column_def* c) const noexcept { return static_cast<int>(c - columns.data()); }
    void rebuild_index();
};

struct user_type_def {
    std::string keyspace, name;
    std::vector<std::string> field_names;
    std::vector<cql_type> field_types;
};

struct keyspace_def {
    std::string name;
    std::map<std::string, std::string> replication_options;
    replication repl;
    bool durable_writes = true;
    bool is_system = false;    // system*, sim: not user-modifiable
    bool is_virtual = false;   // tables are generated
    std::map<std::string, std::unique_ptr<table_def>> tables;
    std::map<std::string, user_type_def> types;
    int total_rf = 0;  // sum of the replication factors (quorum = total_rf / 2 + 1)
    // Replicas of each ring range (index = topology ring position), primary first.
    std::vector<std::vector<int>> replicas_by_range;
};

// ---- plans ---------------------------------------------------------------------

// Where a value comes from at execution time.
struct value_src {
    enum class kind : std::uint8_t { constant, null, bind, dynamic, json } k = kind::null;
    byte_buffer constant;
    int bind = -1;                    // bind: marker index; json: column index (exec_ctx::json_values)
    const term* expr = nullptr;       // dynamic: function calls, literals with markers
    cql_type type;                    // type of the value
    std::string column;               // for messages
};

struct bind_info {
    std::string name;  // marker name in metadata ("k", "in(k)", "[limit]", ...)
    cql_type type;
};

struct filter {
    // A restriction checked row by row (clustering slices, regular columns
    // with ALLOW FILTERING, partial partition keys, multi-column slices).
    std::vector<int> columns;  // column indices; >1 for multi-column
    relation_op op = relation_op::eq;
    value_src value;                // single value (tuple bytes for multi-column)
    std::vector<value_src> in_values;
    bool in_list = false;
    cql_type tuple_type;            // multi-column: tuple of the column types
    cql_type list_type;             // IN ?: list of the value type
};

// A selector that is more than a plain column: a function call, CAST, UDT
// field, aggregate (over any of these), evaluated per row.
struct sel_expr {
    enum class op : std::uint8_t { column, writetime, max_writetime, ttl, token, constant, bind, field, cast, call, count_rows, aggregate };
    op k = op::column;
    int column = -1;    // column / writetime / ttl
    int index = -1;     // field: field index; bind: marker index
    std::string fn;     // call / aggregate: folded name ("max", "todate", "blobastext")
    cql_type type;      // result type
    byte_buffer constant;
    std::vector<sel_expr> args;
    bool is_aggregate() const noexcept { return k == op::aggregate || k == op::count_rows; }
};

enum class sel_kind : std::uint8_t { column, count, writetime, ttl, token, constant, expr };
struct sel_item {
    sel_kind k = sel_kind::column;
    int column = -1;
    byte_buffer constant;
    std::shared_ptr<const sel_expr> expr;  // sel_kind::expr
};

// Scalar native functions (engine_functions.cpp). Resolves a call's return
// type from its argument types (nullopt entries: untyped literals), throwing
// Cassandra's messages for unknown functions and mismatched arguments.
cql_type function_return_type(const std::string& fn, std::vector<std::optional<cql_type>>& arg_types,
                              const std::vector<std::string>& arg_texts);
// Applies a resolved scalar function; false for a null result.
bool apply_function(const std::string& fn, const std::vector<cql_type>& arg_types,
                    const std::vector<std::optional<bytes_view>>& args, const cql_type& ret, exec_ctx& ctx, byte_buffer& out);
// CAST(x AS type): checks the conversion is one Cassandra offers.
void check_cast(const cql_type& from, const cql_type& to, std::string_view what);
bool cast_value(const cql_type& from, bytes_view v, const cql_type& to, byte_buffer& out);
// Cassandra's JSON form of a value (toJson, SELECT JSON).
void append_json(std::string& out, const cql_type& t, std::optional<bytes_view> v);
void append_json_string(std::string& out, std::string_view s);
// Aggregate return type; throws Cassandra's messages.
cql_type aggregate_return_type(const std::string& fn, const cql_type& arg);
// Running state of one aggregate over a group.
struct agg_state {
    std::int64_t count = 0;
    byte_buffer best;      // min / max
    bool has_best = false;
    std::int64_t isum = 0; // integer sum (wraps like Java)
    double dsum = 0, comp = 0;  // floating sum (Kahan, as Cassandra)
    void reset() { *this = agg_state{}; }
};
void aggregate_add(const sel_expr& e, agg_state& s, std::optional<bytes_view> v);
bool aggregate_result(const sel_expr& e, const agg_state& s, byte_buffer& out);

struct select_plan {
    keyspace_def* ks = nullptr;
    table_def* table = nullptr;
    // Partition key: one entry per pk column (values: = gives 1, IN gives n),
    // set only when every column is restricted by = or IN.
    std::vector<std::vector<value_src>> pk_values;
    std::vector<std::optional<value_src>> pk_in_marker;  // IN ? per pk column
    bool full_pk = false;
    // token(pk) bounds.
    std::optional<value_src> token_lo, token_hi;
    bool token_lo_incl = false, token_hi_incl = false;
    std::optional<value_src> token_eq;
    // Clustering: = / IN prefix (first n columns), then filters.
    std::vector<std::vector<value_src>> ck_prefix;
    std::vector<std::optional<value_src>> ck_in_marker;
    std::vector<filter> filters;
    bool needs_filtering = false;
    bool reversed = false;
    bool ordered = false;  // ORDER BY given (multi-partition IN results are then merged)
    bool distinct = false;
    bool count = false;      // an aggregate query: one row per group (or one row)
    std::vector<int> group_by;  // GROUP BY columns (primary key prefix, in order)
    std::vector<sel_item> selection;
    bool json = false;       // SELECT JSON: one [json] text column built from `meta_json`
    proto::result_metadata inner_meta;  // SELECT JSON: the columns before JSON encoding
    std::optional<value_src> limit, per_partition_limit;
    // ORDER BY v ANN OF [...]: rows nearest first (by the column's SAI similarity function).
    int ann_column = -1;
    value_src ann_vector;
    std::string ann_similarity;
    // Result metadata pre-encoded without flags/count: [flags][count][specs].
    byte_buffer metadata;       // full encoding (v5 == v4 for specs)
    std::int32_t column_count = 0;
    std::array<std::uint8_t, 16> metadata_id{};
    proto::result_metadata meta;  // for PREPARE results
};

struct assignment_plan {
    const column_def* column = nullptr;
    int column_index = -1;
    assignment_op op = assignment_op::set;
    value_src value;
    std::optional<value_src> element;
    cql_type value_type;  // the type of `value` (element type for set_element, ...)
};

struct condition_plan {
    int column = -1;
    relation_op op = relation_op::eq;
    value_src value;
    std::vector<value_src> in_values;
    bool in_list = false;
    std::optional<value_src> element;
    cql_type value_type;
};

struct modify_plan {
    enum class kind : std::uint8_t { insert, update, delete_ } k = kind::insert;
    keyspace_def* ks = nullptr;
    table_def* table = nullptr;
    std::vector<std::vector<value_src>> pk_values;
    std::vector<std::optional<value_src>> pk_in_marker;
    std::vector<std::vector<value_src>> ck_values;  // prefix (delete may give fewer)
    std::vector<std::optional<value_src>> ck_in_marker;
    std::vector<filter> ck_slices;                  // DELETE range
    std::vector<assignment_plan> assignments;       // insert: every listed non-key column as `set`
    std::vector<int> deleted_columns;               // DELETE a, b
    std::vector<std::pair<int, value_src>> deleted_elements;  // DELETE m[k]
    std::optional<value_src> ttl, timestamp;
    bool if_not_exists = false, if_exists = false;
    std::vector<condition_plan> conditions;
    bool sim_nodes = false;  // INSERT / UPDATE / DELETE on sim.nodes (faults, topology)
    // sim.primes / sim.activity / sim.settings: rows of the control plane, not stored.
    enum class sim_table : std::uint8_t { none, primes, activity, settings } sim = sim_table::none;
    // INSERT JSON: the document (text); every column's value_src is kind::json.
    std::optional<value_src> json;
    bool json_default_unset = false;  // DEFAULT UNSET: absent columns are left as they are
};

struct batch_plan;

struct prepared_stmt;
using plan_variant = std::variant<std::monostate, select_plan, modify_plan, std::shared_ptr<batch_plan>>;

struct batch_plan {
    batch_type type = batch_type::logged;
    std::vector<modify_plan> children;
    std::optional<value_src> timestamp;
};

struct prepared_stmt {
    std::array<std::uint8_t, 16> id{};
    std::string keyspace;  // the keyspace in effect when it was prepared
    std::string query;
    parse_result parsed;
    plan_variant plan;     // monostate: schema statements (run from the AST)
    std::vector<bind_info> binds;
    std::vector<std::uint16_t> pk_indices;
    std::optional<proto::table_spec> bind_table;
};

struct id_hash {
    std::size_t operator()(const std::array<std::uint8_t, 16>& a) const noexcept {
        std::size_t h;
        std::memcpy(&h, a.data(), sizeof h);
        return h;
    }
};
using prepared_map = std::unordered_map<std::array<std::uint8_t, 16>, std::shared_ptr<prepared_stmt>, id_hash>;

// ---- execution -------------------------------------------------------------------

struct exec_ctx {
    int coordinator = 0;
    session_state* session = nullptr;
    proto::protocol_version version = proto::protocol_version::v5;
    std::span<const value_view> values;
    std::vector<value_view> named_values;  // values reordered by marker name
    proto::consistency cl = proto::consistency::one;
    std::optional<proto::consistency> serial_cl;
    std::optional<std::int64_t> default_ts;
    std::int32_t page_size = -1;
    std::optional<bytes_view> paging_state;
    bool skip_metadata = false;
    bool has_result_metadata_id = false;
    bytes_view result_metadata_id;
    std::int64_t now_us = 0;
    std::int32_t now_s = 0;
    std::list<byte_buffer> scratch;  // stable storage for evaluated values (no allocation until used)
    execution_info* info = nullptr;
    const prepared_stmt* stmt = nullptr;
    bool routing_set = false;  // routing_token already decided (several partitions -> reset)
    int partitions_touched = 0;
    std::vector<value_view> json_values;  // INSERT JSON being run: per table column (storage in scratch)
};

// One traced request (system_traces.sessions) and its events (system_traces.events).
struct trace_event {
    proto::uuid_bytes id{};  // timeuuid
    std::string activity;
    int source = 0;  // node
    std::int32_t source_elapsed = 0;  // µs since the request started
    std::string thread;
};
struct trace_session {
    proto::uuid_bytes id{};
    std::optional<proto::inet_address> client;
    std::string command;  // "QUERY" for every CQL request, as Cassandra records it
    int coordinator = 0;
    std::int32_t duration = 0;  // µs
    std::map<std::string, std::string> parameters;
    std::string request;
    std::int64_t started_at_ms = 0;
    std::vector<trace_event> events;
};

// Keeps the last traces only: tracing is for inspection, not an unbounded log.
constexpr std::size_t max_trace_sessions = 10000;

proto::uuid_bytes make_timeuuid(std::int64_t unix_us);

class engine_impl {
public:
    engine_impl(const topology& t, engine_config c);

    const topology& topo;
    topology* topo_w = nullptr;  // set when the engine may change the topology (a cluster's)
    engine_config cfg;
    control_plane* cp = nullptr;
    mutable std::shared_mutex mu;
    std::map<std::string, std::unique_ptr<keyspace_def>> keyspaces;
    proto::uuid_bytes schema_version{};
    std::uint64_t schema_epoch = 0;
    std::vector<prepared_map> node_prepared;  // per node: what it has seen PREPAREd
    prepared_map all_prepared;                // every prepared statement (for re-planning)
    std::mutex query_cache_mu;
    std::unordered_map<std::string, std::shared_ptr<prepared_stmt>> query_cache;
    std::atomic<std::int64_t> last_ts{0};
    std::mutex trace_mu;  // guards traces only (recorded after the statement ran, outside `mu`)
    std::deque<trace_session> traces;

    std::int64_t next_timestamp() noexcept;
    keyspace_def* find_keyspace(std::string_view name) const noexcept;
    keyspace_def& require_keyspace(std::string_view name) const;
    table_def& require_table(const qualified_name& n, const std::string& session_ks, keyspace_def** ks = nullptr) const;
    std::string resolve_keyspace(const qualified_name& n, const std::string& session_ks) const;
    void compute_replicas(keyspace_def& ks) const;
    const std::vector<int>& replicas_for(const keyspace_def& ks, std::int64_t t) const;
    void bump_schema();

    // schema.cpp
    void install_system_keyspaces();
    bool resolve_type(const std::string& ks, cql_type& t, std::string& error) const;
    void execute_schema(const statement& s, exec_ctx& ctx, proto::byte_writer& body);
    void replan_all();

    // planning (plan.cpp)
    std::shared_ptr<prepared_stmt> compile(std::string_view query, const std::string& keyspace, bool copy_source);
    void plan_statement(prepared_stmt& p);

    // execution (exec.cpp / select.cpp)
    proto::opcode run(prepared_stmt& p, exec_ctx& ctx, proto::byte_writer& body);
    void run_select(const select_plan& p, exec_ctx& ctx, proto::byte_writer& body);
    void run_modify(const modify_plan& p, exec_ctx& ctx, proto::byte_writer* body, std::int64_t ts, bool in_batch);
    void run_batch(const batch_plan& p, exec_ctx& ctx, proto::byte_writer& body);
    // Cassandra's batch size and partition-count checks, for text and protocol
    // BATCHes alike: add each statement (with its values in ctx), then warn.
    struct batch_extent {
        std::set<std::pair<std::string, byte_buffer>> keys;
        std::set<std::string> tables;
        std::int64_t size = 0;
    };
    void add_to_extent(batch_extent& e, const modify_plan& c, exec_ctx& ctx);
    void check_batch_extent(const batch_extent& e, bool unlogged, exec_ctx& ctx);
    void check_available(const keyspace_def& ks, std::int64_t t, proto::consistency cl, int coordinator, bool write) const;
    void check_range_available(const keyspace_def& ks, proto::consistency cl, int coordinator) const;
    void note_partition(exec_ctx& ctx, const keyspace_def& ks, std::int64_t t) const;

    // Topology at run time, under the exclusive lock (engine.cpp): the ring
    // changes, every keyspace's placement is computed again, and the control
    // plane opens or closes the node's listener. Throw cql_error.
    int add_node_locked(const std::string& datacenter, const std::string& rack);
    void remove_node_locked(int node);
    void topology_changed();
};

// value resolution during execution
value_view get_value(const value_src& v, exec_ctx& ctx);
// INSERT JSON (engine_json.cpp): one value per table column, absent ones null
// (or unset with DEFAULT UNSET); throws Cassandra's messages.
void decode_insert_json(const table_def& t, std::string_view json, bool default_unset, exec_ctx& ctx,
                        std::vector<value_view>& out);
// fromJson(): false for a JSON null.
bool from_json(const cql_type& t, std::string_view json, byte_buffer& out);
// Evaluates an arbitrary term (function calls, literals with markers) to bytes.
bool eval_term(const cql_type& t, const term& e, exec_ctx& ctx, std::string_view column, byte_buffer& out);

}  // namespace cqlpp::sim::detail
