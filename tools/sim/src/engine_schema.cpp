// Schema statements (keyspaces, tables, types, USE) and the generated system
// tables drivers read at bootstrap: system.local/peers/peers_v2,
// system_schema.*, system_virtual_schema.* and the virtual `sim` keyspace.
#include "engine_internal.hpp"

#include "cqlpp/protocol/murmur3.hpp"
#include "cqlpp/sim/version.hpp"

#include <algorithm>
#include <set>

namespace cqlpp::sim::detail {

namespace {

cql_type type_of(std::string_view s) {
    auto t = proto::parse_type_name(s);
    return t ? *t : cql_type(type_kind::blob);
}

// Builds one generated row by column name and stores it.
class row_builder {
public:
    row_builder(const table_def& t, partition_map& m) : t_(t), m_(m), values_(t.columns.size()) {}
    row_builder& set(std::string_view col, byte_buffer v) {
        if (auto* c = t_.find(col)) values_[static_cast<std::size_t>(t_.index_of(c))] = std::move(v);
        return *this;
    }
    void commit() {
        std::vector<bytes_view> pk;
        for (int i : t_.pk) pk.push_back(values_[static_cast<std::size_t>(i)] ? bytes_view(*values_[static_cast<std::size_t>(i)]) : bytes_view());
        byte_buffer key;
        if (pk.size() == 1) key.assign(pk[0].begin(), pk[0].end());
        else proto::composite_key(pk, key);
        auto t = proto::murmur3_token(key);
        auto it = m_.find(partition_pos{t, key});
        if (it == m_.end()) {
            partition p(t_.layout.get());
            p.t = t;
            p.key = key;
            for (auto v : pk) p.pk_values.emplace_back(v.begin(), v.end());
            it = m_.emplace(std::make_pair(t, key), std::move(p)).first;
        }
        byte_buffer ck;
        for (int i : t_.ck) append_component(ck, values_[static_cast<std::size_t>(i)] ? bytes_view(*values_[static_cast<std::size_t>(i)]) : bytes_view());
        auto& r = it->second.rows[ck];
        r.marker.has_value = true;
        r.marker.ts = 0;
        for (std::size_t i = 0; i < t_.columns.size(); ++i) {
            const auto& c = t_.columns[i];
            if (c.is_key() || !values_[i]) continue;
            auto& cells = c.kind == column_kind::static_ ? it->second.statics : r.cells;
            if (cells.size() <= static_cast<std::size_t>(c.slot)) cells.resize(static_cast<std::size_t>(c.slot) + 1);
            auto& cell = cells[static_cast<std::size_t>(c.slot)];
            cell.has_value = true;
            cell.ts = 0;
            cell.value = std::move(*values_[i]);
        }
    }

private:
    const table_def& t_;
    partition_map& m_;
    std::vector<std::optional<byte_buffer>> values_;
};

struct col_spec {
    std::string name;
    std::string type;
    column_kind kind = column_kind::regular;
};

// Orders columns as Cassandra does and assigns positions and slots.
void finish_columns(table_def& t) {
    std::stable_sort(t.columns.begin(), t.columns.end(), [](const column_def& a, const column_def& b) {
        auto rank = [](const column_def& c) {
            switch (c.kind) {
                case column_kind::partition_key: return 0;
                case column_kind::clustering: return 1;
                case column_kind::static_: return 2;
                case column_kind::regular: return 3;
            }
            return 3;
        };
        if (rank(a) != rank(b)) return rank(a) < rank(b);
        if (a.is_key()) return a.position < b.position;
        return a.name < b.name;
    });
    t.pk.clear();
    t.ck.clear();
    t.rebuild_index();
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
        auto& c = t.columns[i];
        if (c.kind == column_kind::partition_key) t.pk.push_back(static_cast<int>(i));
        if (c.kind == column_kind::clustering) t.ck.push_back(static_cast<int>(i));
        if (c.kind == column_kind::regular && c.slot < 0) c.slot = t.regular_slots++;
        if (c.kind == column_kind::static_ && c.slot < 0) c.slot = t.static_slots++;
        c.multi_cell = !c.type.frozen && (c.type.is_collection() || c.type.kind == type_kind::udt);
        if (c.type.kind == type_kind::counter) t.is_counter = true;
    }
    if (!t.layout) {
        t.layout = std::make_shared<clustering_layout>();
        for (int i : t.ck) {
            t.layout->types.push_back(t.columns[static_cast<std::size_t>(i)].type);
            t.layout->descending.push_back(t.columns[static_cast<std::size_t>(i)].descending);
        }
    }
}

proto::uuid_bytes table_uuid(std::string_view ks, std::string_view name) {
    auto h = hash16("table-id:" + std::string(ks), name);
    h[6] = static_cast<std::uint8_t>((h[6] & 0x0F) | 0x40);
    h[8] = static_cast<std::uint8_t>((h[8] & 0x3F) | 0x80);
    return h;
}

using generator_fn = std::function<void(engine_impl&, const exec_ctx&, const table_def&, partition_map&)>;

table_def& add_table(keyspace_def& ks, const std::string& name, const std::vector<col_spec>& cols, generator_fn gen,
                     std::vector<bool> ck_desc = {}) {
    auto t = std::make_unique<table_def>();
    t->keyspace = ks.name;
    t->name = name;
    t->id = table_uuid(ks.name, name);
    int pk = 0, ck = 0;
    for (const auto& c : cols) {
        column_def d;
        d.name = c.name;
        d.type = type_of(c.type);
        d.kind = c.kind;
        if (c.kind == column_kind::partition_key) d.position = pk++;
        if (c.kind == column_kind::clustering) {
            d.descending = static_cast<std::size_t>(ck) < ck_desc.size() && ck_desc[static_cast<std::size_t>(ck)];
            d.position = ck++;
        }
        t->columns.push_back(std::move(d));
    }
    finish_columns(*t);
    t->generator = std::move(gen);
    auto& ref = *t;
    ks.tables[name] = std::move(t);
    return ref;
}

constexpr auto PK = column_kind::partition_key;
constexpr auto CK = column_kind::clustering;
constexpr auto REG = column_kind::regular;

std::vector<std::string> token_strings(const node_info& n) {
    std::vector<std::string> v;
    for (auto t : n.tokens) v.push_back(std::to_string(t));
    std::sort(v.begin(), v.end());  // set<text> order
    return v;
}

int peer_port(const topology& topo, const node_info& n) { return topo.config().base_port ? 7000 + n.id : 7000; }

// Cassandra's virtual keyspaces: listed in system_virtual_schema, not in system_schema.
bool is_virtual_keyspace(std::string_view name) { return name == "system_virtual_schema" || name == "system_views"; }

// Every keyspace listed in system_schema.
std::vector<const keyspace_def*> schema_keyspaces(const engine_impl& e) {
    std::vector<const keyspace_def*> v;
    for (const auto& [name, ks] : e.keyspaces)
        if (!is_virtual_keyspace(name)) v.push_back(ks.get());
    return v;
}

void table_rows(const table_def& src, row_builder rb) {
    std::set<std::string> flags{"compound"};
    if (src.is_counter) flags.insert("counter");
    rb.set("keyspace_name", enc_text(src.keyspace))
        .set("table_name", enc_text(src.name))
        .set("additional_write_policy", enc_text(src.additional_write_policy))
        .set("bloom_filter_fp_chance", enc_double(src.bloom_filter_fp_chance))
        .set("caching", enc_text_map(src.caching))
        .set("cdc", enc_bool(src.cdc))
        .set("comment", enc_text(src.comment))
        .set("compaction", enc_text_map(src.compaction))
        .set("compression", enc_text_map(src.compression))
        .set("crc_check_chance", enc_double(src.crc_check_chance))
        .set("dclocal_read_repair_chance", enc_double(0.0))
        .set("default_time_to_live", enc_int(src.default_ttl))
        .set("extensions", enc_text_map({}))
        .set("flags", enc_text_set(std::vector<std::string>(flags.begin(), flags.end())))
        .set("gc_grace_seconds", enc_int(src.gc_grace))
        .set("id", enc_uuid(src.id))
        .set("max_index_interval", enc_int(src.max_index_interval))
        .set("memtable_flush_period_in_ms", enc_int(src.memtable_flush_period))
        .set("min_index_interval", enc_int(src.min_index_interval))
        .set("read_repair", enc_text(src.read_repair))
        .set("read_repair_chance", enc_double(0.0))
        .set("speculative_retry", enc_text(src.speculative_retry))
        .commit();
}

void column_rows(const table_def& src, const table_def& t, partition_map& m) {
    for (const auto& c : src.columns) {
        std::string order = c.kind == column_kind::clustering ? (c.descending ? "desc" : "asc") : "none";
        row_builder(t, m)
            .set("keyspace_name", enc_text(src.keyspace))
            .set("table_name", enc_text(src.name))
            .set("column_name", enc_text(c.name))
            .set("clustering_order", enc_text(order))
            .set("column_name_bytes", enc_text(c.name))
            .set("kind", enc_text(to_string(c.kind)))
            .set("position", enc_int(c.is_key() ? c.position : -1))
            .set("type", enc_text(schema_type_name(c.type)))
            .commit();
    }
}

// sim.activity's values: the literals when typed, else each raw value in hex ("null" for null or unset).
std::vector<std::string> shown_values(const std::vector<std::optional<byte_buffer>>& raw,
                                      const std::vector<std::string>& decoded, bool typed) {
    if (typed) return decoded;
    std::vector<std::string> out;
    out.reserve(raw.size());
    for (const auto& v : raw) out.push_back(v ? "0x" + proto::to_hex(*v) : "null");
    return out;
}

}  // namespace

// ---- system keyspaces ------------------------------------------------------------

void engine_impl::install_system_keyspaces() {
    auto make_ks = [&](const std::string& name, std::map<std::string, std::string> repl, bool is_virtual) -> keyspace_def& {
        auto ks = std::make_unique<keyspace_def>();
        ks->name = name;
        ks->replication_options = std::move(repl);
        std::string err;
        replication::from_options(ks->replication_options, ks->repl, err);
        ks->is_system = true;
        ks->is_virtual = is_virtual;
        compute_replicas(*ks);
        auto& ref = *ks;
        keyspaces[name] = std::move(ks);
        return ref;
    };
    const std::map<std::string, std::string> local{{"class", "org.apache.cassandra.locator.LocalStrategy"}};
    auto simple = [](int rf) {
        return std::map<std::string, std::string>{{"class", "org.apache.cassandra.locator.SimpleStrategy"},
                                                  {"replication_factor", std::to_string(rf)}};
    };

    // ---- system ----
    auto& sys = make_ks("system", local, true);
    add_table(sys, "local",
              {{"key", "text", PK}, {"bootstrapped", "text"}, {"broadcast_address", "inet"}, {"broadcast_port", "int"},
               {"cluster_name", "text"}, {"cql_version", "text"}, {"data_center", "text"}, {"gossip_generation", "int"},
               {"host_id", "uuid"}, {"listen_address", "inet"}, {"listen_port", "int"}, {"native_protocol_version", "text"},
               {"partitioner", "text"}, {"rack", "text"}, {"release_version", "text"}, {"rpc_address", "inet"},
               {"rpc_port", "int"}, {"schema_version", "uuid"}, {"tokens", "set<text>"}, {"truncated_at", "map<uuid, blob>"}},
              [](engine_impl& e, const exec_ctx& ctx, const table_def& t, partition_map& m) {
                  const auto& n = e.topo.node(ctx.coordinator);
                  row_builder(t, m)
                      .set("key", enc_text("local"))
                      .set("bootstrapped", enc_text("COMPLETED"))
                      .set("broadcast_address", enc_inet(n.inet()))
                      .set("broadcast_port", enc_int(peer_port(e.topo, n)))
                      .set("cluster_name", enc_text(e.topo.config().cluster_name))
                      .set("cql_version", enc_text(cql_version()))
                      .set("data_center", enc_text(n.config.datacenter))
                      .set("gossip_generation", enc_int(1700000000))
                      .set("host_id", enc_uuid(n.host_id))
                      .set("listen_address", enc_inet(n.inet()))
                      .set("listen_port", enc_int(peer_port(e.topo, n)))
                      .set("native_protocol_version", enc_text(ctx.version == proto::protocol_version::v4 ? "4" : "5"))
                      .set("partitioner", enc_text("org.apache.cassandra.dht.Murmur3Partitioner"))
                      .set("rack", enc_text(n.config.rack))
                      .set("release_version", enc_text(release_version()))
                      .set("rpc_address", enc_inet(n.inet()))
                      .set("rpc_port", enc_int(n.config.port))
                      .set("schema_version", enc_uuid(e.schema_version))
                      .set("tokens", enc_text_set(token_strings(n)))
                      .commit();
              });
    add_table(sys, "peers",
              {{"peer", "inet", PK}, {"data_center", "text"}, {"host_id", "uuid"}, {"preferred_ip", "inet"}, {"rack", "text"},
               {"release_version", "text"}, {"rpc_address", "inet"}, {"schema_version", "uuid"}, {"tokens", "set<text>"}},
              [](engine_impl& e, const exec_ctx& ctx, const table_def& t, partition_map& m) {
                  for (const auto& n : e.topo.nodes()) {
                      if (n.id == ctx.coordinator || !n.member) continue;
                      row_builder(t, m)
                          .set("peer", enc_inet(n.inet()))
                          .set("data_center", enc_text(n.config.datacenter))
                          .set("host_id", enc_uuid(n.host_id))
                          .set("preferred_ip", enc_inet(n.inet()))
                          .set("rack", enc_text(n.config.rack))
                          .set("release_version", enc_text(release_version()))
                          .set("rpc_address", enc_inet(n.inet()))
                          .set("schema_version", enc_uuid(e.schema_version))
                          .set("tokens", enc_text_set(token_strings(n)))
                          .commit();
                  }
              });
    add_table(sys, "peers_v2",
              {{"peer", "inet", PK}, {"peer_port", "int", CK}, {"data_center", "text"}, {"host_id", "uuid"},
               {"native_address", "inet"}, {"native_port", "int"}, {"preferred_ip", "inet"}, {"preferred_port", "int"},
               {"rack", "text"}, {"release_version", "text"}, {"schema_version", "uuid"}, {"tokens", "set<text>"}},
              [](engine_impl& e, const exec_ctx& ctx, const table_def& t, partition_map& m) {
                  for (const auto& n : e.topo.nodes()) {
                      if (n.id == ctx.coordinator || !n.member) continue;
                      row_builder(t, m)
                          .set("peer", enc_inet(n.inet()))
                          .set("peer_port", enc_int(peer_port(e.topo, n)))
                          .set("data_center", enc_text(n.config.datacenter))
                          .set("host_id", enc_uuid(n.host_id))
                          .set("native_address", enc_inet(n.inet()))
                          .set("native_port", enc_int(n.config.port))
                          .set("preferred_ip", enc_inet(n.inet()))
                          .set("preferred_port", enc_int(peer_port(e.topo, n)))
                          .set("rack", enc_text(n.config.rack))
                          .set("release_version", enc_text(release_version()))
                          .set("schema_version", enc_uuid(e.schema_version))
                          .set("tokens", enc_text_set(token_strings(n)))
                          .commit();
                  }
              });

    // ---- system_schema ----
    auto& ss = make_ks("system_schema", local, true);
    add_table(ss, "keyspaces", {{"keyspace_name", "text", PK}, {"durable_writes", "boolean"}, {"replication", "frozen<map<text, text>>"}},
              [](engine_impl& e, const exec_ctx&, const table_def& t, partition_map& m) {
                  for (const auto* ks : schema_keyspaces(e))
                      row_builder(t, m)
                          .set("keyspace_name", enc_text(ks->name))
                          .set("durable_writes", enc_bool(ks->durable_writes))
                          .set("replication", enc_text_map(ks->replication_options))
                          .commit();
              });
    add_table(ss, "tables",
              {{"keyspace_name", "text", PK}, {"table_name", "text", CK}, {"additional_write_policy", "text"},
               {"bloom_filter_fp_chance", "double"}, {"caching", "frozen<map<text, text>>"}, {"cdc", "boolean"},
               {"comment", "text"}, {"compaction", "frozen<map<text, text>>"}, {"compression", "frozen<map<text, text>>"},
               {"crc_check_chance", "double"}, {"dclocal_read_repair_chance", "double"}, {"default_time_to_live", "int"},
               {"extensions", "frozen<map<text, blob>>"}, {"flags", "frozen<set<text>>"}, {"gc_grace_seconds", "int"},
               {"id", "uuid"}, {"max_index_interval", "int"}, {"memtable_flush_period_in_ms", "int"},
               {"min_index_interval", "int"}, {"read_repair", "text"}, {"read_repair_chance", "double"},
               {"speculative_retry", "text"}},
              [](engine_impl& e, const exec_ctx&, const table_def& t, partition_map& m) {
                  for (const auto* ks : schema_keyspaces(e))
                      for (const auto& [name, tab] : ks->tables) table_rows(*tab, row_builder(t, m));
              });
    add_table(ss, "columns",
              {{"keyspace_name", "text", PK}, {"table_name", "text", CK}, {"column_name", "text", CK},
               {"clustering_order", "text"}, {"column_name_bytes", "blob"}, {"kind", "text"}, {"position", "int"},
               {"type", "text"}},
              [](engine_impl& e, const exec_ctx&, const table_def& t, partition_map& m) {
                  for (const auto* ks : schema_keyspaces(e))
                      for (const auto& [name, tab] : ks->tables) column_rows(*tab, t, m);
              });
    add_table(ss, "types",
              {{"keyspace_name", "text", PK}, {"type_name", "text", CK}, {"field_names", "frozen<list<text>>"},
               {"field_types", "frozen<list<text>>"}},
              [](engine_impl& e, const exec_ctx&, const table_def& t, partition_map& m) {
                  for (const auto* ks : schema_keyspaces(e))
                      for (const auto& [name, ut] : ks->types) {
                          std::vector<std::string> types;
                          for (const auto& ft : ut.field_types) types.push_back(schema_type_name(ft));
                          row_builder(t, m)
                              .set("keyspace_name", enc_text(ks->name))
                              .set("type_name", enc_text(name))
                              .set("field_names", enc_text_set(ut.field_names))
                              .set("field_types", enc_text_set(types))
                              .commit();
                      }
              });
    auto empty = [](engine_impl&, const exec_ctx&, const table_def&, partition_map&) {};
    add_table(ss, "functions",
              {{"keyspace_name", "text", PK}, {"function_name", "text", CK}, {"argument_types", "frozen<list<text>>", CK},
               {"argument_names", "frozen<list<text>>"}, {"body", "text"}, {"called_on_null_input", "boolean"},
               {"language", "text"}, {"return_type", "text"}},
              empty);
    add_table(ss, "aggregates",
              {{"keyspace_name", "text", PK}, {"aggregate_name", "text", CK}, {"argument_types", "frozen<list<text>>", CK},
               {"final_func", "text"}, {"initcond", "text"}, {"return_type", "text"}, {"state_func", "text"},
               {"state_type", "text"}},
              empty);
    add_table(ss, "indexes",
              {{"keyspace_name", "text", PK}, {"table_name", "text", CK}, {"index_name", "text", CK}, {"kind", "text"},
               {"options", "frozen<map<text, text>>"}},
              [](engine_impl& e, const exec_ctx&, const table_def& t, partition_map& m) {
                  for (const auto* ks : schema_keyspaces(e))
                      for (const auto& [tn, tab] : ks->tables)
                          for (const auto& ix : tab->indexes)
                              row_builder(t, m)
                                  .set("keyspace_name", enc_text(ks->name))
                                  .set("table_name", enc_text(tn))
                                  .set("index_name", enc_text(ix.name))
                                  .set("kind", enc_text(ix.sai ? "CUSTOM" : "COMPOSITES"))
                                  .set("options", enc_text_map(ix.options))
                                  .commit();
              });
    add_table(ss, "views",
              {{"keyspace_name", "text", PK}, {"view_name", "text", CK}, {"additional_write_policy", "text"},
               {"base_table_id", "uuid"}, {"base_table_name", "text"}, {"bloom_filter_fp_chance", "double"},
               {"caching", "frozen<map<text, text>>"}, {"cdc", "boolean"}, {"comment", "text"},
               {"compaction", "frozen<map<text, text>>"}, {"compression", "frozen<map<text, text>>"},
               {"crc_check_chance", "double"}, {"dclocal_read_repair_chance", "double"}, {"default_time_to_live", "int"},
               {"extensions", "frozen<map<text, blob>>"}, {"gc_grace_seconds", "int"}, {"id", "uuid"},
               {"include_all_columns", "boolean"}, {"max_index_interval", "int"}, {"memtable_flush_period_in_ms", "int"},
               {"min_index_interval", "int"}, {"read_repair", "text"}, {"read_repair_chance", "double"},
               {"speculative_retry", "text"}, {"where_clause", "text"}},
              empty);
    add_table(ss, "triggers",
              {{"keyspace_name", "text", PK}, {"table_name", "text", CK}, {"trigger_name", "text", CK},
               {"options", "frozen<map<text, text>>"}},
              empty);
    add_table(ss, "dropped_columns",
              {{"keyspace_name", "text", PK}, {"table_name", "text", CK}, {"column_name", "text", CK},
               {"dropped_time", "timestamp"}, {"kind", "text"}, {"type", "text"}},
              empty);

    // Empty replicated system keyspaces, listed as Cassandra lists them.
    make_ks("system_auth", simple(1), false);
    make_ks("system_distributed", simple(3), false);
    // system_traces: Cassandra 5.0's tables, generated from the engine's trace
    // store (a request with the tracing flag records a session and its events).
    auto& traces = make_ks("system_traces", simple(2), false);
    auto port_of = [](const topology& topo, int node) { return topo.config().base_port ? 7000 + node : 7000; };
    add_table(traces, "sessions",
              {{"session_id", "uuid", PK}, {"client", "inet"}, {"command", "text"}, {"coordinator", "inet"},
               {"coordinator_port", "int"}, {"duration", "int"}, {"parameters", "map<text, text>"}, {"request", "text"},
               {"started_at", "timestamp"}},
              [port_of](engine_impl& e, const exec_ctx&, const table_def& t, partition_map& m) {
                  std::lock_guard lock(e.trace_mu);
                  for (const auto& s : e.traces) {
                      row_builder r(t, m);
                      r.set("session_id", enc_uuid(s.id));
                      if (const auto& a = s.client) r.set("client", enc_inet(*a));
                      r.set("command", enc_text(s.command))
                          .set("coordinator", enc_inet(e.topo.node(s.coordinator).inet()))
                          .set("coordinator_port", enc_int(port_of(e.topo, s.coordinator)))
                          .set("duration", enc_int(s.duration))
                          .set("parameters", enc_text_map(s.parameters))
                          .set("request", enc_text(s.request))
                          .set("started_at", enc_bigint(s.started_at_ms))
                          .commit();
                  }
              });
    add_table(traces, "events",
              {{"session_id", "uuid", PK}, {"event_id", "timeuuid", CK}, {"activity", "text"}, {"source", "inet"},
               {"source_elapsed", "int"}, {"source_port", "int"}, {"thread", "text"}},
              [port_of](engine_impl& e, const exec_ctx&, const table_def& t, partition_map& m) {
                  std::lock_guard lock(e.trace_mu);
                  for (const auto& s : e.traces)
                      for (const auto& ev : s.events)
                          row_builder(t, m)
                              .set("session_id", enc_uuid(s.id))
                              .set("event_id", enc_uuid(ev.id))
                              .set("activity", enc_text(ev.activity))
                              .set("source", enc_inet(e.topo.node(ev.source).inet()))
                              .set("source_elapsed", enc_int(ev.source_elapsed))
                              .set("source_port", enc_int(port_of(e.topo, ev.source)))
                              .set("thread", enc_text(ev.thread))
                              .commit();
              });

    // ---- system_views (Cassandra 5.0's columns; what drivers and operators read) ----
    auto& views = make_ks("system_views", local, true);
    add_table(views, "clients",
              {{"address", "inet", PK}, {"port", "int", CK}, {"client_options", "map<text, text>"},
               {"connection_stage", "text"}, {"driver_name", "text"}, {"driver_version", "text"}, {"hostname", "text"},
               {"keyspace_name", "text"}, {"protocol_version", "int"}, {"request_count", "bigint"},
               {"ssl_cipher_suite", "text"}, {"ssl_enabled", "boolean"}, {"ssl_protocol", "text"}, {"username", "text"}},
              [](engine_impl& e, const exec_ctx& ctx, const table_def& t, partition_map& m) {
                  if (!e.cp) return;
                  for (const auto& c : e.cp->clients(ctx.coordinator)) {
                      row_builder r(t, m);
                      r.set("address", enc_inet(c.address))
                          .set("port", enc_int(c.port))
                          .set("connection_stage", enc_text(c.connection_stage))
                          .set("hostname", enc_text(c.hostname))
                          .set("protocol_version", enc_int(c.protocol_version))
                          .set("request_count", enc_bigint(c.request_count))
                          .set("ssl_enabled", enc_bool(c.ssl_enabled));
                      if (!c.client_options.empty()) r.set("client_options", enc_text_map(c.client_options));
                      auto opt = [&](std::string_view col, const std::string& v) {
                          if (!v.empty()) r.set(col, enc_text(v));
                      };
                      opt("driver_name", c.driver_name);
                      opt("driver_version", c.driver_version);
                      opt("keyspace_name", c.keyspace);
                      opt("ssl_cipher_suite", c.ssl_cipher_suite);
                      opt("ssl_protocol", c.ssl_protocol);
                      opt("username", c.username);
                      r.commit();
                  }
              });
    // A few of the node's settings, with Cassandra 5.0's names and default values.
    add_table(views, "settings", {{"name", "text", PK}, {"value", "text"}},
              [](engine_impl& e, const exec_ctx& ctx, const table_def& t, partition_map& m) {
                  const auto& n = e.topo.node(ctx.coordinator);
                  const std::map<std::string, std::string> settings{
                      {"batch_size_fail_threshold", "50KiB"},
                      {"batch_size_warn_threshold", "5KiB"},
                      {"cas_contention_timeout", "1000ms"},
                      {"cdc_enabled", "false"},
                      {"cluster_name", e.topo.config().cluster_name},
                      {"counter_write_request_timeout", "5000ms"},
                      {"default_secondary_index", "legacy_local_table"},
                      {"endpoint_snitch", "SimpleSnitch"},
                      {"listen_address", n.config.address},
                      {"materialized_views_enabled", "false"},
                      {"native_transport_allow_older_protocols", "true"},
                      {"native_transport_port", std::to_string(n.config.port)},
                      {"num_tokens", std::to_string(e.topo.config().num_tokens)},
                      {"partitioner", "org.apache.cassandra.dht.Murmur3Partitioner"},
                      {"range_request_timeout", "10000ms"},
                      {"read_request_timeout", "5000ms"},
                      {"request_timeout", "10000ms"},
                      {"rpc_address", n.config.address},
                      {"sasi_indexes_enabled", "false"},
                      {"storage_compatibility_mode", "CASSANDRA_4"},
                      {"truncate_request_timeout", "60000ms"},
                      {"write_request_timeout", "2000ms"},
                  };
                  for (const auto& [name, value] : settings)
                      row_builder(t, m).set("name", enc_text(name)).set("value", enc_text(value)).commit();
              });

    // ---- system_virtual_schema: the virtual keyspaces and their tables ----
    auto& vs = make_ks("system_virtual_schema", local, true);
    auto each_virtual = [](engine_impl& e, auto&& f) {
        for (const auto& [name, ks] : e.keyspaces)
            if (is_virtual_keyspace(name)) f(*ks);
    };
    add_table(vs, "keyspaces", {{"keyspace_name", "text", PK}},
              [each_virtual](engine_impl& e, const exec_ctx&, const table_def& t, partition_map& m) {
                  each_virtual(e, [&](const keyspace_def& ks) { row_builder(t, m).set("keyspace_name", enc_text(ks.name)).commit(); });
              });
    add_table(vs, "tables", {{"keyspace_name", "text", PK}, {"table_name", "text", CK}, {"comment", "text"}},
              [each_virtual](engine_impl& e, const exec_ctx&, const table_def& t, partition_map& m) {
                  each_virtual(e, [&](const keyspace_def& ks) {
                      for (const auto& [name, tab] : ks.tables)
                          row_builder(t, m)
                              .set("keyspace_name", enc_text(ks.name))
                              .set("table_name", enc_text(name))
                              .set("comment", enc_text(""))
                              .commit();
                  });
              });
    add_table(vs, "columns",
              {{"keyspace_name", "text", PK}, {"table_name", "text", CK}, {"column_name", "text", CK},
               {"clustering_order", "text"}, {"column_name_bytes", "blob"}, {"kind", "text"}, {"position", "int"},
               {"type", "text"}},
              [each_virtual](engine_impl& e, const exec_ctx&, const table_def& t, partition_map& m) {
                  each_virtual(e, [&](const keyspace_def& ks) {
                      for (const auto& [name, tab] : ks.tables) column_rows(*tab, t, m);
                  });
              });

    // ---- sim: fault injection and counters through CQL ----
    auto& sim = make_ks("sim", local, true);
    add_table(sim, "nodes",
              {{"node", "int", PK}, {"address", "text"}, {"port", "int"}, {"datacenter", "text"}, {"rack", "text"},
               {"state", "text"}, {"latency_ms", "int"}, {"fail_next", "int"}, {"fail_error", "text"},
               {"close_mid_response", "int"}, {"corrupt_crc", "int"}, {"echo_payload", "boolean"}},
              [](engine_impl& e, const exec_ctx&, const table_def& t, partition_map& m) {
                  if (!e.cp) throw_invalid("sim control plane not available");
                  for (const auto& n : e.cp->nodes())
                      row_builder(t, m)
                          .set("node", enc_int(n.node))
                          .set("address", enc_text(n.address))
                          .set("port", enc_int(n.port))
                          .set("datacenter", enc_text(n.datacenter))
                          .set("rack", enc_text(n.rack))
                          .set("state", enc_text(n.state))
                          .set("latency_ms", enc_int(n.latency_ms))
                          .set("fail_next", enc_int(n.fail_next))
                          .set("fail_error", enc_text(n.fail_error))
                          .set("close_mid_response", enc_int(n.close_mid_response))
                          .set("corrupt_crc", enc_int(n.corrupt_crc))
                          .set("echo_payload", enc_bool(n.echo_payload))
                          .commit();
              });
    add_table(sim, "counters", {{"node", "int", PK}, {"name", "text", CK}, {"value", "bigint"}},
              [](engine_impl& e, const exec_ctx&, const table_def& t, partition_map& m) {
                  if (!e.cp) throw_invalid("sim control plane not available");
                  for (const auto& c : e.cp->counters())
                      row_builder(t, m).set("node", enc_int(c.node)).set("name", enc_text(c.name)).set("value", enc_bigint(c.value)).commit();
              });
    // Priming (priming.hpp): one row per rule the cluster holds, by id.
    add_table(sim, "primes",
              {{"id", "bigint", PK}, {"node", "int"}, {"query", "text"}, {"match", "text"}, {"consistency", "text"},
               {"params", "list<text>"}, {"values", "list<text>"}, {"then", "text"}, {"columns", "list<text>"},
               {"rows", "list<frozen<list<text>>>"}, {"error", "text"}, {"message", "text"},
               {"error_consistency", "text"}, {"required", "int"}, {"alive", "int"}, {"received", "int"},
               {"block_for", "int"}, {"data_present", "boolean"}, {"write_type", "text"}, {"delay_ms", "int"},
               {"times", "int"}, {"left", "int"}},
              [](engine_impl& e, const exec_ctx&, const table_def& t, partition_map& m) {
                  if (!e.cp) throw_invalid("sim control plane not available");
                  for (const auto& info : e.cp->primes()) {
                      const auto s = to_prime_spec(info.rule);
                      row_builder r(t, m);
                      r.set("id", enc_bigint(static_cast<std::int64_t>(info.id)))
                          .set("query", enc_text(s.query))
                          .set("match", enc_text(s.match))
                          .set("then", enc_text(s.then))
                          .set("delay_ms", enc_int(s.delay_ms))
                          .set("times", enc_int(s.times))
                          .set("left", enc_int(info.left));
                      auto text = [&](std::string_view col, const std::string& v) {
                          if (!v.empty()) r.set(col, enc_text(v));
                      };
                      auto num = [&](std::string_view col, const std::optional<int>& v) {
                          if (v) r.set(col, enc_int(*v));
                      };
                      auto list = [&](std::string_view col, const std::vector<std::string>& v) {
                          if (!v.empty()) r.set(col, enc_text_set(v));
                      };
                      num("node", s.node);
                      text("consistency", s.consistency);
                      list("params", s.params);
                      if (s.values) list("values", *s.values);
                      list("columns", s.columns);
                      if (!s.rows.empty()) {
                          byte_buffer rows;
                          proto::byte_writer w(rows);
                          w.i32(static_cast<std::int32_t>(s.rows.size()));
                          for (const auto& row : s.rows) {
                              const auto cell = enc_text_set(row);
                              w.bytes(proto::bytes_view(cell));
                          }
                          r.set("rows", std::move(rows));
                      }
                      text("error", s.error);
                      text("message", s.message);
                      text("error_consistency", s.error_consistency);
                      num("required", s.required);
                      num("alive", s.alive);
                      num("received", s.received);
                      num("block_for", s.block_for);
                      if (s.data_present) r.set("data_present", enc_bool(*s.data_present));
                      text("write_type", s.write_type);
                      r.commit();
                  }
              });
    // The activity log: per node, the requests it received, oldest first (seq 0).
    add_table(sim, "activity",
              {{"node", "int", PK}, {"seq", "int", CK}, {"received", "timestamp"}, {"connection", "bigint"},
               {"stream", "int"}, {"op", "text"}, {"query", "text"}, {"prepared_id", "blob"}, {"values", "list<text>"},
               {"value_names", "list<text>"}, {"consistency", "text"}, {"serial_consistency", "text"},
               {"page_size", "int"}, {"paging_state", "blob"}, {"timestamp", "bigint"}, {"keyspace", "text"},
               {"batch_type", "text"}, {"batch", "list<text>"}, {"primed", "boolean"}, {"values_typed", "boolean"},
               {"batch_prepared_ids", "list<blob>"}, {"batch_values", "list<frozen<list<text>>>"},
               {"batch_values_typed", "list<boolean>"}},
              [](engine_impl& e, const exec_ctx&, const table_def& t, partition_map& m) {
                  if (!e.cp) throw_invalid("sim control plane not available");
                  for (const auto& n : e.topo.nodes()) {
                      const auto log = e.cp->activity(n.id);
                      for (std::size_t i = 0; i < log.size(); ++i) {
                          const auto& a = log[i];
                          row_builder r(t, m);
                          const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(a.received.time_since_epoch()).count();
                          r.set("node", enc_int(a.node))
                              .set("seq", enc_int(static_cast<std::int32_t>(i)))
                              .set("received", enc_bigint(ms))
                              .set("connection", enc_bigint(static_cast<std::int64_t>(a.connection)))
                              .set("stream", enc_int(a.stream))
                              .set("op", enc_text(proto::to_string(a.op)))
                              .set("query", enc_text(a.query))
                              .set("consistency", enc_text(proto::to_string(a.consistency)))
                              .set("primed", enc_bool(a.primed));
                          if (a.prepared_id) r.set("prepared_id", byte_buffer(*a.prepared_id));
                          // Literals when the bind types are known, else the raw bytes in hex (values_typed says which).
                          if (!a.values.empty()) {
                              r.set("values", enc_text_set(shown_values(a.values, a.decoded_values, a.values_typed)));
                              r.set("values_typed", enc_bool(a.values_typed));
                          }
                          if (!a.value_names.empty()) r.set("value_names", enc_text_set(a.value_names));
                          if (a.serial_consistency) r.set("serial_consistency", enc_text(proto::to_string(*a.serial_consistency)));
                          if (a.page_size) r.set("page_size", enc_int(*a.page_size));
                          if (a.paging_state) r.set("paging_state", byte_buffer(*a.paging_state));
                          if (a.default_timestamp) r.set("timestamp", enc_bigint(*a.default_timestamp));
                          if (!a.keyspace.empty()) r.set("keyspace", enc_text(a.keyspace));
                          if (a.batch_type)
                              r.set("batch_type", enc_text(*a.batch_type == proto::batch_type::logged     ? "LOGGED"
                                                           : *a.batch_type == proto::batch_type::unlogged ? "UNLOGGED"
                                                                                                          : "COUNTER"));
                          if (!a.batch.empty()) {
                              // Per statement, in parallel lists: text, prepared id (empty for a
                              // simple statement), values as `values`, and whether they are typed.
                              std::vector<std::string> stmts;
                              byte_buffer ids, vals, typed;
                              proto::byte_writer wi(ids), wv(vals), wt(typed);
                              const auto n = static_cast<std::int32_t>(a.batch.size());
                              wi.i32(n);
                              wv.i32(n);
                              wt.i32(n);
                              for (const auto& st : a.batch) {
                                  stmts.push_back(st.query);
                                  wi.bytes(st.prepared_id ? proto::bytes_view(*st.prepared_id) : proto::bytes_view());
                                  const auto list = enc_text_set(shown_values(st.values, st.decoded_values, st.values_typed));
                                  wv.bytes(proto::bytes_view(list));
                                  const auto flag = enc_bool(st.values_typed);
                                  wt.bytes(proto::bytes_view(flag));
                              }
                              r.set("batch", enc_text_set(stmts));
                              r.set("batch_prepared_ids", std::move(ids));
                              r.set("batch_values", std::move(vals));
                              r.set("batch_values_typed", std::move(typed));
                          }
                          r.commit();
                      }
                  }
              });
    // Cluster-wide settings: activity_log (requests each node keeps; 0: off).
    add_table(sim, "settings", {{"name", "text", PK}, {"value", "bigint"}},
              [](engine_impl& e, const exec_ctx&, const table_def& t, partition_map& m) {
                  if (!e.cp) throw_invalid("sim control plane not available");
                  row_builder(t, m)
                      .set("name", enc_text("activity_log"))
                      .set("value", enc_bigint(static_cast<std::int64_t>(e.cp->activity_log_capacity())))
                      .commit();
              });
    bump_schema();
}

// ---- schema helpers ----------------------------------------------------------------

void engine_impl::compute_replicas(keyspace_def& ks) const {
    ks.total_rf = 0;
    if (ks.repl.kind == replication::strategy::simple) ks.total_rf = ks.repl.replication_factor;
    else if (ks.repl.kind == replication::strategy::everywhere) ks.total_rf = static_cast<int>(topo.member_count());
    else if (ks.repl.kind == replication::strategy::network_topology) {
        std::set<std::string> dcs;
        for (const auto& n : topo.nodes())
            if (n.member) dcs.insert(n.config.datacenter);
        for (const auto& [dc, f] : ks.repl.dc_factors) dcs.insert(dc);
        for (const auto& dc : dcs) {
            auto it = ks.repl.dc_factors.find(dc);
            ks.total_rf += it != ks.repl.dc_factors.end() ? it->second : ks.repl.replication_factor;
        }
    }
    ks.replicas_by_range.clear();
    if (ks.repl.kind == replication::strategy::local) return;
    for (const auto& e : topo.ring()) ks.replicas_by_range.push_back(topo.replicas(ks.repl, e.t));
}

void engine_impl::bump_schema() {
    ++schema_epoch;
    schema_version = hash16("schema-version", std::to_string(schema_epoch));
    schema_version[6] = static_cast<std::uint8_t>((schema_version[6] & 0x0F) | 0x30);
    schema_version[8] = static_cast<std::uint8_t>((schema_version[8] & 0x3F) | 0x80);
}

// Resolves UDT references (fills fields) and applies Cassandra's freezing rules.
bool engine_impl::resolve_type(const std::string& ks, cql_type& t, std::string& error) const {
    for (auto& p : t.params) {
        if (!resolve_type(ks, p, error)) return false;
        if (t.kind != type_kind::udt && t.kind != type_kind::tuple && (p.is_collection() || p.kind == type_kind::udt) && !p.frozen) {
            error = std::string(p.kind == type_kind::udt ? "Non-frozen UDTs are not allowed inside collections: "
                                                         : "Non-frozen collections are not allowed inside collections: ") +
                    schema_type_name(t);
            return false;
        }
        if (t.kind == type_kind::udt || t.kind == type_kind::tuple) p.frozen = true;  // fields are frozen implicitly
    }
    if (t.kind == type_kind::tuple) t.frozen = true;
    if (t.kind == type_kind::udt && t.field_names.empty()) {
        const std::string& tks = t.keyspace.empty() ? ks : t.keyspace;
        auto* k = find_keyspace(tks);
        const user_type_def* u = nullptr;
        if (k) {
            auto it = k->types.find(t.name);
            if (it != k->types.end()) u = &it->second;
        }
        if (!u) {
            error = "Unknown type " + tks + "." + t.name;
            return false;
        }
        t.keyspace = u->keyspace;
        t.field_names = u->field_names;
        t.params = u->field_types;
    }
    return true;
}

namespace {

bool type_uses(const cql_type& t, const std::string& ks, const std::string& name) {
    if (t.kind == type_kind::udt && t.keyspace == ks && t.name == name) return true;
    for (const auto& p : t.params)
        if (type_uses(p, ks, name)) return true;
    return false;
}

void apply_table_options(table_def& t, const std::vector<property>& options) {
    for (const auto& o : options) {
        auto text = constant_text(o.value);
        auto as_int = [&]() {
            try {
                return std::stoi(text);
            } catch (...) {
                throw_error(proto::server_errc::config_error, "Invalid value for " + o.name + ": " + text);
            }
        };
        auto as_double = [&]() {
            try {
                return std::stod(text);
            } catch (...) {
                throw_error(proto::server_errc::config_error, "Invalid value for " + o.name + ": " + text);
            }
        };
        auto as_map = [&]() {
            std::map<std::string, std::string> m;
            if (!constant_string_map(o.value, m)) throw_error(proto::server_errc::syntax_error, "Invalid value for property '" + o.name + "'");
            return m;
        };
        if (o.name == "comment") t.comment = text;
        else if (o.name == "default_time_to_live") {
            t.default_ttl = as_int();
            if (t.default_ttl < 0) throw_error(proto::server_errc::config_error, "default_time_to_live must be greater than or equal to 0 (got " + text + ")");
        } else if (o.name == "gc_grace_seconds") t.gc_grace = as_int();
        else if (o.name == "bloom_filter_fp_chance") t.bloom_filter_fp_chance = as_double();
        else if (o.name == "crc_check_chance") t.crc_check_chance = as_double();
        else if (o.name == "memtable_flush_period_in_ms") t.memtable_flush_period = as_int();
        else if (o.name == "min_index_interval") t.min_index_interval = as_int();
        else if (o.name == "max_index_interval") t.max_index_interval = as_int();
        else if (o.name == "speculative_retry") t.speculative_retry = text;
        else if (o.name == "additional_write_policy") t.additional_write_policy = text;
        else if (o.name == "read_repair") t.read_repair = text;
        else if (o.name == "cdc") t.cdc = text == "true";
        else if (o.name == "caching") t.caching = as_map();
        else if (o.name == "compaction") t.compaction = as_map();
        else if (o.name == "compression") t.compression = as_map();
        else if (o.name == "dclocal_read_repair_chance" || o.name == "read_repair_chance" || o.name == "extensions" ||
                 o.name == "memtable" || o.name == "incremental_backups" || o.name == "allow_auto_snapshot" || o.name == "id") {
            // accepted and ignored
        } else {
            throw_error(proto::server_errc::syntax_error, "Unknown property '" + o.name + "'");
        }
    }
}

void schema_result(exec_ctx& ctx, proto::byte_writer& body, proto::schema_change_type change, proto::schema_change_target target,
                   const std::string& ks, const std::string& name) {
    proto::schema_change sc;
    sc.change = change;
    sc.target = target;
    sc.keyspace = ks;
    sc.name = name;
    body.i32(static_cast<std::int32_t>(proto::result_kind::schema_change));
    sc.encode(body);
    ctx.info->events.push_back(schema_event{std::move(sc)});
}

void void_result(proto::byte_writer& body) { body.i32(static_cast<std::int32_t>(proto::result_kind::void_)); }

bool valid_name(const std::string& n) {
    if (n.empty() || n.size() > 48) return false;
    for (char c : n)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
    return true;
}

}  // namespace

void engine_impl::execute_schema(const statement& s, exec_ctx& ctx, proto::byte_writer& body) {
    using proto::schema_change_target;
    using proto::schema_change_type;
    const std::string& session_ks = ctx.stmt ? ctx.stmt->keyspace : ctx.session->keyspace;
    auto ks_name = [&](const qualified_name& n) {
        std::string k = n.keyspace.empty() ? session_ks : n.keyspace;
        if (k.empty()) throw_invalid("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename");
        return k;
    };
    auto user_ks = [&](const std::string& name) -> keyspace_def& {
        auto* k = find_keyspace(name);
        if (!k) throw_invalid("Keyspace '" + name + "' does not exist");
        if (k->is_system) throw_error(proto::server_errc::unauthorized, name + " keyspace is not user-modifiable.");
        return *k;
    };

    if (auto* u = std::get_if<use_statement>(&s)) {
        if (!find_keyspace(u->keyspace)) throw_invalid("Keyspace '" + u->keyspace + "' does not exist");
        ctx.session->keyspace = u->keyspace;
        body.i32(static_cast<std::int32_t>(proto::result_kind::set_keyspace));
        body.string(u->keyspace);
        return;
    }
    if (auto* c = std::get_if<create_keyspace_statement>(&s)) {
        if (!valid_name(c->keyspace))
            throw_invalid("Keyspace name must not be empty, more than 48 characters long, or contain non-alphanumeric-underscore characters (got \"" + c->keyspace + "\")");
        if (auto* existing = find_keyspace(c->keyspace)) {
            if (c->if_not_exists) return void_result(body);
            if (existing->is_system) throw_error(proto::server_errc::unauthorized, c->keyspace + " keyspace is not user-modifiable.");
            throw_error(proto::server_errc::already_exists, "Cannot add existing keyspace \"" + c->keyspace + "\"",
                        proto::already_exists_info{c->keyspace, ""});
        }
        if (c->keyspace.rfind("system", 0) == 0) throw_error(proto::server_errc::unauthorized, c->keyspace + " keyspace is not user-modifiable.");
        if (c->replication.empty()) throw_error(proto::server_errc::syntax_error, "Missing mandatory option 'replication'");
        auto ks = std::make_unique<keyspace_def>();
        ks->name = c->keyspace;
        std::string err;
        if (!replication::from_options(c->replication, ks->repl, err)) throw_error(proto::server_errc::config_error, err);
        if (ks->repl.kind == replication::strategy::local || ks->repl.kind == replication::strategy::everywhere)
            throw_error(proto::server_errc::config_error, "Unable to use given strategy class: LocalStrategy is reserved for internal use.");
        if (ks->repl.kind == replication::strategy::network_topology) {
            std::set<std::string> dcs;
            for (const auto& n : topo.nodes())
                if (n.member) dcs.insert(n.config.datacenter);
            for (const auto& [dc, f] : ks->repl.dc_factors)
                if (!dcs.count(dc))
                    throw_error(proto::server_errc::config_error,
                                "Unrecognized strategy option {" + dc + "} passed to NetworkTopologyStrategy for keyspace " + c->keyspace);
            // Expand the `replication_factor` shorthand into every DC, as Cassandra 4 does.
            if (ks->repl.replication_factor > 0)
                for (const auto& dc : dcs)
                    if (!ks->repl.dc_factors.count(dc)) ks->repl.dc_factors[dc] = ks->repl.replication_factor;
            ks->repl.replication_factor = 0;
        }
        ks->replication_options = ks->repl.to_options();
        ks->durable_writes = c->durable_writes.value_or(true);
        compute_replicas(*ks);
        keyspaces[c->keyspace] = std::move(ks);
        bump_schema();
        schema_result(ctx, body, schema_change_type::created, schema_change_target::keyspace, c->keyspace, "");
        return;
    }
    if (auto* d = std::get_if<drop_keyspace_statement>(&s)) {
        auto* k = find_keyspace(d->keyspace);
        if (!k) {
            if (d->if_exists) return void_result(body);
            throw_error(proto::server_errc::config_error, "Cannot drop non existing keyspace '" + d->keyspace + "'.");
        }
        user_ks(d->keyspace);
        keyspaces.erase(d->keyspace);
        bump_schema();
        schema_result(ctx, body, schema_change_type::dropped, schema_change_target::keyspace, d->keyspace, "");
        return;
    }
    if (auto* c = std::get_if<create_table_statement>(&s)) {
        auto ksn = ks_name(c->table);
        auto& ks = user_ks(ksn);
        if (ks.tables.count(c->table.name)) {
            if (c->if_not_exists) return void_result(body);
            throw_error(proto::server_errc::already_exists,
                        "Cannot add already existing table \"" + c->table.name + "\" to keyspace \"" + ksn + "\"",
                        proto::already_exists_info{ksn, c->table.name});
        }
        if (!valid_name(c->table.name))
            throw_invalid("Table name must not be empty, more than 48 characters long, or contain non-alphanumeric-underscore characters (got \"" + c->table.name + "\")");
        if (c->partition_key.empty()) throw_invalid("No PRIMARY KEY specifed for table '" + c->table.name + "' (exactly one required)");
        auto t = std::make_unique<table_def>();
        t->keyspace = ksn;
        t->name = c->table.name;
        t->id = table_uuid(ksn, c->table.name);
        t->compact = c->compact_storage;
        if (c->compact_storage) throw_invalid("COMPACT STORAGE tables are not supported by the simulator");
        std::set<std::string> names;
        for (const auto& cd : c->columns) {
            if (!names.insert(cd.name).second) throw_invalid("Multiple definition of identifier " + cd.name);
            column_def col;
            col.name = cd.name;
            col.type = cd.type;
            std::string err;
            if (!resolve_type(ksn, col.type, err)) throw_invalid(err);
            col.kind = cd.is_static ? column_kind::static_ : column_kind::regular;
            t->columns.push_back(std::move(col));
        }
        auto find_col = [&](const std::string& n) -> column_def& {
            for (auto& col : t->columns)
                if (col.name == n) return col;
            throw_invalid("Unknown definition " + n + " referenced in PRIMARY KEY");
        };
        auto key_check = [&](column_def& col) {
            if (col.kind == column_kind::static_) throw_invalid("Static column " + col.name + " cannot be part of the PRIMARY KEY");
            if (col.kind != column_kind::regular) throw_invalid("Multiple definition of identifier " + col.name + " in PRIMARY KEY");
            if (col.type.kind == type_kind::counter) throw_invalid("counter type is not supported for PRIMARY KEY column '" + col.name + "'");
            if (col.type.kind == type_kind::duration) throw_invalid("duration type is not supported for PRIMARY KEY column '" + col.name + "'");
            if ((col.type.is_collection() || col.type.kind == type_kind::udt) && !col.type.frozen)
                throw_invalid("Invalid non-frozen collection type " + schema_type_name(col.type) + " for PRIMARY KEY column '" + col.name + "'");
        };
        int pos = 0;
        for (const auto& n : c->partition_key) {
            auto& col = find_col(n);
            key_check(col);
            col.kind = column_kind::partition_key;
            col.position = pos++;
        }
        pos = 0;
        for (const auto& n : c->clustering_columns) {
            auto& col = find_col(n);
            key_check(col);
            col.kind = column_kind::clustering;
            col.position = pos++;
        }
        for (std::size_t i = 0; i < c->clustering_order.size(); ++i) {
            const auto& o = c->clustering_order[i];
            column_def* col = nullptr;
            for (auto& cc : t->columns)
                if (cc.name == o.column) col = &cc;
            if (!col || col->kind != column_kind::clustering)
                throw_invalid("Only clustering key columns can be defined in CLUSTERING ORDER directive: " + o.column);
            if (static_cast<std::size_t>(col->position) != i)
                throw_invalid("The order of columns in the CLUSTERING ORDER directive must match that of the clustering columns (" +
                              c->clustering_columns.at(std::min(i, c->clustering_columns.size() - 1)) + " must appear before " + o.column + ")");
            col->descending = o.descending;
        }
        bool has_counter = false, has_non_counter = false, has_static = false;
        for (const auto& col : t->columns) {
            if (col.kind == column_kind::static_) has_static = true;
            if (col.is_key()) continue;
            (col.type.kind == type_kind::counter ? has_counter : has_non_counter) = true;
        }
        if (has_counter && has_non_counter) throw_invalid("Cannot mix counter and non counter columns in the same table");
        if (has_static && c->clustering_columns.empty())
            throw_invalid("Static columns are only useful (and thus allowed) if the table has at least one clustering column");
        apply_table_options(*t, c->options);
        finish_columns(*t);
        ks.tables[c->table.name] = std::move(t);
        bump_schema();
        schema_result(ctx, body, schema_change_type::created, schema_change_target::table, ksn, c->table.name);
        return;
    }
    if (auto* d = std::get_if<drop_table_statement>(&s)) {
        auto ksn = ks_name(d->table);
        auto* k = find_keyspace(ksn);
        if (!k) {
            if (d->if_exists) return void_result(body);
            throw_invalid("Keyspace '" + ksn + "' does not exist");
        }
        if (!k->tables.count(d->table.name)) {
            if (d->if_exists) return void_result(body);
            throw_invalid("Table '" + ksn + "." + d->table.name + "' doesn't exist");
        }
        user_ks(ksn);
        k->tables.erase(d->table.name);
        bump_schema();
        schema_result(ctx, body, schema_change_type::dropped, schema_change_target::table, ksn, d->table.name);
        return;
    }
    if (auto* ci = std::get_if<create_index_statement>(&s)) {
        auto ksn = ks_name(ci->table);
        auto& k = user_ks(ksn);
        auto it = k.tables.find(ci->table.name);
        if (it == k.tables.end()) throw_invalid("Table '" + ksn + "." + ci->table.name + "' doesn't exist");
        auto& t = *it->second;
        const auto* col = t.find(ci->column);
        if (!col) throw_invalid("Column '" + ci->column + "' doesn't exist");
        if (col->kind == column_kind::partition_key && t.pk.size() == 1)
            throw_invalid("Cannot create secondary index on the only partition key column " + col->name);
        // USING: 'sai' / 'StorageAttachedIndex' (any case, or the full class) is SAI; 'legacy_local_table' the 2i.
        std::string cls = ci->using_class;
        for (auto& c : cls) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        bool sai = false;
        if (cls == "sai" || cls == "storageattachedindex" || cls == "org.apache.cassandra.index.sai.storageattachedindex") sai = true;
        else if (cls.find("sasi") != std::string::npos) throw_invalid("SASI indexes are disabled. Enable in cassandra.yaml to use.");
        else if (!cls.empty() && cls != "legacy_local_table") throw_invalid("Unable to find custom indexer class '" + ci->using_class + "'");
        if (!sai && col->type.kind == type_kind::vector) throw_invalid("Cannot create secondary index on vector column " + col->name);
        if (const auto& kind = ci->target_kind; !kind.empty()) {
            // Cassandra's checks of keys()/values()/entries()/full() targets, in its order.
            const bool frozen_collection = col->type.is_collection() && !col->multi_cell;
            if (frozen_collection && kind != "full")
                throw_invalid("Cannot create " + kind + "() index on frozen column " + col->name +
                              ". Frozen collections are immutable and must be fully indexed by using the 'full(" + col->name +
                              ")' modifier");
            if (!frozen_collection && kind == "full") throw_invalid("full() indexes can only be created on frozen collections");
            if (!col->type.is_collection())
                throw_invalid("Cannot create " + kind + "() index on " + col->name + ". Non-collection columns only support simple indexes");
            if ((kind == "keys" || kind == "entries") && !(col->type.kind == type_kind::map && col->multi_cell))
                throw_invalid("Cannot create index on " + kind + " of column " + col->name + " with non-map type");
        }
        std::map<std::string, std::string> opts;
        for (const auto& [key, v] : ci->options) {
            if (!sai) throw_invalid("Cannot specify options for a non-CUSTOM index");
            if (key == "similarity_function") {
                if (col->type.kind != type_kind::vector)
                    throw_invalid("Similarity function is only supported on vector columns");
                std::string f = v;
                for (auto& c : f) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                if (f != "COSINE" && f != "EUCLIDEAN" && f != "DOT_PRODUCT")
                    throw_invalid("Similarity function " + v + " was not recognized for " + ci->column + ". Valid values are: COSINE, EUCLIDEAN, DOT_PRODUCT");
            }
            opts[key] = v;
        }
        std::string target = col->name;
        if (!ci->target_kind.empty()) target = ci->target_kind + "(" + col->name + ")";
        else if (col->multi_cell && col->type.is_collection()) target = "values(" + col->name + ")";
        if (sai) opts["class_name"] = "org.apache.cassandra.index.sai.StorageAttachedIndex";
        opts["target"] = target;
        auto taken = [&](const std::string& n) {
            for (const auto& [tn, tab] : k.tables)
                for (const auto& ix : tab->indexes)
                    if (ix.name == n) return true;
            return false;
        };
        std::string name = ci->name;
        if (name.empty()) {
            // Cassandra's default: <table>_<column>_idx, then _1, _2, ... while taken.
            std::string base;
            for (char c : t.name + "_" + col->name + "_idx")
                if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') base += c;
            name = base;
            for (int i = 1; taken(name); ++i) name = base + "_" + std::to_string(i);
        }
        if (taken(name)) {
            if (ci->if_not_exists) return void_result(body);
            throw_invalid("Index '" + name + "' already exists");
        }
        for (const auto& ix : t.indexes)
            if (ix.options.at("target") == target && ix.sai == sai) {
                if (ci->if_not_exists) return void_result(body);
                throw_invalid("Index " + name + " is a duplicate of existing index " + ix.name);
            }
        t.indexes.push_back(index_def{name, col->name, sai, std::move(opts)});
        if (sai && col->type.kind == type_kind::vector && ctx.info)
            ctx.info->warnings.emplace_back(
                "SAI ANN indexes on vector columns are experimental and are not recommended for production use.\n"
                "They don't yet support SELECT queries with:\n * Consistency level higher than ONE/LOCAL_ONE.\n * Paging.\n"
                " * No LIMIT clauses.\n * PER PARTITION LIMIT clauses.\n * GROUP BY clauses.\n * Aggregation functions.\n"
                " * Filters on columns without a SAI index.");
        bump_schema();
        schema_result(ctx, body, schema_change_type::updated, schema_change_target::table, ksn, t.name);
        return;
    }
    if (auto* di = std::get_if<drop_index_statement>(&s)) {
        auto ksn = ks_name(di->index);
        auto* k = find_keyspace(ksn);
        if (!k && !di->if_exists) throw_invalid("Keyspace '" + ksn + "' doesn't exist");
        if (k) {
            for (auto& [tn, tab] : k->tables) {
                auto ix = std::find_if(tab->indexes.begin(), tab->indexes.end(),
                                       [&](const index_def& d) { return d.name == di->index.name; });
                if (ix == tab->indexes.end()) continue;
                user_ks(ksn);
                tab->indexes.erase(ix);
                bump_schema();
                schema_result(ctx, body, schema_change_type::updated, schema_change_target::table, ksn, tn);
                return;
            }
        }
        if (di->if_exists) return void_result(body);
        throw_invalid("Index '" + ksn + "." + di->index.name + "' doesn't exist'");
    }
    if (auto* tr = std::get_if<truncate_statement>(&s)) {
        auto ksn = ks_name(tr->table);
        auto* k = find_keyspace(ksn);
        if (!k) throw_invalid("Keyspace '" + ksn + "' does not exist");
        auto it = k->tables.find(tr->table.name);
        if (it == k->tables.end()) throw_invalid("unconfigured table " + tr->table.name);
        // TRUNCATE sim.primes / sim.activity: every rule / the activity log of every node.
        if (ksn == "sim" && cp && (tr->table.name == "primes" || tr->table.name == "activity")) {
            if (tr->table.name == "primes") cp->clear_primes();
            else cp->clear_activity();
            return void_result(body);
        }
        if (k->is_system) throw_error(proto::server_errc::unauthorized, ksn + " keyspace is not user-modifiable.");
        const auto members = static_cast<std::int32_t>(topo.member_count());
        for (const auto& n : topo.nodes())
            if (n.member && !topo.is_up(n.id))
                throw_error(proto::server_errc::unavailable, "Cannot achieve consistency level ALL",
                            proto::unavailable_info{proto::consistency::all, members, members - 1});
        it->second->clear_data();
        return void_result(body);
    }
    if (auto* a = std::get_if<alter_table_statement>(&s)) {
        auto ksn = ks_name(a->table);
        auto* k = find_keyspace(ksn);
        if (!k) throw_invalid("Keyspace '" + ksn + "' does not exist");
        auto it = k->tables.find(a->table.name);
        if (it == k->tables.end()) throw_invalid("Table '" + ksn + "." + a->table.name + "' doesn't exist");
        user_ks(ksn);
        auto& t = *it->second;
        switch (a->action) {
            case alter_table_action::add_columns:
                for (const auto& cd : a->added) {
                    if (t.find(cd.name)) throw_invalid("Column with name '" + cd.name + "' already exists");
                    column_def col;
                    col.name = cd.name;
                    col.type = cd.type;
                    std::string err;
                    if (!resolve_type(ksn, col.type, err)) throw_invalid(err);
                    col.kind = cd.is_static ? column_kind::static_ : column_kind::regular;
                    if (cd.is_static && t.ck.empty())
                        throw_invalid("Static columns are only useful (and thus allowed) if the table has at least one clustering column");
                    if ((col.type.kind == type_kind::counter) != t.is_counter)
                        throw_invalid("Cannot mix counter and non counter columns in the same table");
                    t.columns.push_back(std::move(col));
                }
                finish_columns(t);
                break;
            case alter_table_action::drop_columns:
                for (const auto& n : a->dropped) {
                    auto* c = t.find(n);
                    if (!c) throw_invalid("Column " + n + " was not found in table " + t.name);
                    if (c->is_key()) throw_invalid("Cannot drop PRIMARY KEY column " + n);
                    std::string deps;
                    for (const auto& ix : t.indexes)
                        if (ix.column == c->name) deps += (deps.empty() ? "" : ",") + ix.name;
                    if (!deps.empty()) throw_invalid("Cannot drop column " + n + " because it has dependent secondary indexes (" + deps + ")");
                    auto slot = c->slot;
                    bool is_static = c->kind == column_kind::static_;
                    t.columns.erase(t.columns.begin() + t.index_of(c));
                    t.rebuild_index();
                    // Forget the dropped cells so a re-added column starts empty.
                    for (auto& [key, part] : t.data) {
                        if (is_static) {
                            if (static_cast<std::size_t>(slot) < part.statics.size()) part.statics[static_cast<std::size_t>(slot)] = cell{};
                        } else {
                            for (auto& [ck, r] : part.rows)
                                if (static_cast<std::size_t>(slot) < r.cells.size()) r.cells[static_cast<std::size_t>(slot)] = cell{};
                        }
                    }
                }
                finish_columns(t);
                break;
            case alter_table_action::set_options: apply_table_options(t, a->options); break;
        }
        bump_schema();
        schema_result(ctx, body, schema_change_type::updated, schema_change_target::table, ksn, t.name);
        return;
    }
    if (auto* c = std::get_if<create_type_statement>(&s)) {
        auto ksn = ks_name(c->type);
        auto& ks = user_ks(ksn);
        if (ks.types.count(c->type.name)) {
            if (c->if_not_exists) return void_result(body);
            throw_error(proto::server_errc::already_exists,
                        "A user type with name '" + c->type.name + "' already exists",
                        proto::already_exists_info{ksn, c->type.name});
        }
        user_type_def u;
        u.keyspace = ksn;
        u.name = c->type.name;
        std::set<std::string> seen;
        for (const auto& f : c->fields) {
            if (!seen.insert(f.name).second) throw_invalid("Duplicate field name " + f.name + " in type " + c->type.name);
            cql_type ft = f.type;
            std::string err;
            if (!resolve_type(ksn, ft, err)) throw_invalid(err);
            if (type_uses(ft, ksn, c->type.name)) throw_invalid("Cannot create a type that references itself");
            ft.frozen = ft.frozen || ft.is_collection() || ft.kind == type_kind::udt || ft.kind == type_kind::tuple;
            u.field_names.push_back(f.name);
            u.field_types.push_back(std::move(ft));
        }
        ks.types[c->type.name] = std::move(u);
        bump_schema();
        schema_result(ctx, body, schema_change_type::created, schema_change_target::type, ksn, c->type.name);
        return;
    }
    if (auto* d = std::get_if<drop_type_statement>(&s)) {
        auto ksn = ks_name(d->type);
        auto* k = find_keyspace(ksn);
        if (!k || !k->types.count(d->type.name)) {
            if (d->if_exists) return void_result(body);
            if (!k) throw_invalid("Keyspace '" + ksn + "' does not exist");
            throw_invalid("No user type named " + d->type.name + " exists.");
        }
        user_ks(ksn);
        for (const auto& [tn, t] : k->tables)
            for (const auto& col : t->columns)
                if (type_uses(col.type, ksn, d->type.name))
                    throw_invalid("Cannot drop user type " + ksn + "." + d->type.name + " as it is still used by table " + ksn + "." + tn);
        for (const auto& [un, u] : k->types)
            for (const auto& ft : u.field_types)
                if (type_uses(ft, ksn, d->type.name))
                    throw_invalid("Cannot drop user type " + ksn + "." + d->type.name + " as it is still used by user type " + un);
        k->types.erase(d->type.name);
        bump_schema();
        schema_result(ctx, body, schema_change_type::dropped, schema_change_target::type, ksn, d->type.name);
        return;
    }
    throw_invalid(std::string(statement_name(s)) + " statements are not supported by the simulator");
}

}  // namespace cqlpp::sim::detail
