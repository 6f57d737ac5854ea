// `cqlpp iceberg ls|snapshots|schema`: what a filesystem ("Hadoop") Iceberg
// warehouse holds, as cqlsh-style tables or --json (docs/iceberg.md).
#include "client_output.hpp"
#include "commands.hpp"

#include "cqlpp/bulk/detail/json.hpp"
#include "cqlpp/bulk/iceberg.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cqlpp::tools {

namespace {

namespace fs = std::filesystem;
using bulk::detail::json_value;
using jk = json_value::kind;

struct iceberg_cli {
    std::string dir, table;
    bool json = false;
    std::optional<std::int64_t> snapshot_id;
};

// A table directory: metadata/ with a version hint or a vN.metadata.json.
bool is_table_dir(const fs::path& p) {
    std::error_code ec;
    if (!fs::is_directory(p / "metadata", ec)) return false;
    if (fs::exists(p / "metadata" / "version-hint.text", ec)) return true;
    for (const auto& e : fs::directory_iterator(p / "metadata", ec)) {
        const auto n = e.path().filename().string();
        if (n.starts_with("v") && n.ends_with(".metadata.json")) return true;
    }
    return false;
}

void require_dir(const std::string& d) {
    std::error_code ec;
    if (d.empty() || !fs::is_directory(d, ec)) throw command_error(d + ": no such directory");
}

struct found_table {
    std::string ns, name;
    fs::path location;
};

// Tables under `dir`, namespaces being the directories between: a table's own
// directories (data/, metadata/) are not searched, and nesting is bounded.
void find_tables(const fs::path& dir, const std::string& ns, int depth, std::vector<found_table>& out) {
    std::error_code ec;
    std::vector<fs::path> subdirs;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_directory(ec) && !e.path().filename().string().starts_with(".")) subdirs.push_back(e.path());
    std::sort(subdirs.begin(), subdirs.end());
    for (const auto& d : subdirs) {
        const auto name = d.filename().string();
        if (is_table_dir(d)) out.push_back({ns, name, d});
        else if (depth < 8) find_tables(d, ns.empty() ? name : ns + "." + name, depth + 1, out);
    }
}

// DIR itself, or DIR/NS/T for a "NS.T" argument (the namespace's dots nest, as in unload).
fs::path resolve_table(const iceberg_cli& c) {
    require_dir(c.dir);
    fs::path loc = c.dir;
    if (!c.table.empty()) {
        const auto dot = c.table.rfind('.');
        loc = dot == std::string::npos ? fs::path(c.dir) / c.table
                                       : bulk::iceberg_table_location(c.dir, c.table.substr(0, dot), c.table.substr(dot + 1));
    }
    if (!is_table_dir(loc))
        throw command_error(loc.string() + ": not an Iceberg table (no metadata/vN.metadata.json)" +
                            (c.table.empty() ? "; for a warehouse give NAMESPACE.TABLE too (`cqlpp iceberg ls " + c.dir +
                                                   "` lists them)"
                                             : std::string()));
    return loc;
}

bulk::iceberg_table_info read_table(const fs::path& loc) {
    bulk::iceberg_table_info t;
    if (auto st = bulk::iceberg_read_table(loc, t); !st) throw command_error(st.message);
    return t;
}

json_value parse(const std::string& text, const fs::path& loc, const char* what) {
    json_value v;
    std::string err;
    if (!bulk::detail::parse_json(text, v, err)) throw command_error(loc.string() + ": bad " + what + ": " + err);
    return v;
}

std::optional<std::string> summary_of(const bulk::iceberg_snapshot& s, std::string_view key) {
    for (const auto& [k, v] : s.summary)
        if (k == key) return v;
    return std::nullopt;
}

const bulk::iceberg_snapshot* find_snapshot(const bulk::iceberg_table_info& t, std::int64_t id) {
    for (const auto& s : t.snapshots)
        if (s.id == id) return &s;
    return nullptr;
}

std::string num_or(const std::optional<std::int64_t>& v, const char* none) { return v ? std::to_string(*v) : none; }
std::string str_or(const std::optional<std::string>& v, const char* none) { return v ? *v : none; }

// ---- ls ----

struct table_row {
    found_table where;
    bulk::iceberg_table_info info;
    std::optional<std::int64_t> rows, files;
};

void run_ls(const iceberg_cli& c) {
    require_dir(c.dir);
    std::vector<found_table> found;
    if (is_table_dir(c.dir)) found.push_back({"", fs::path(c.dir).filename().string(), c.dir});
    else find_tables(c.dir, "", 0, found);
    std::vector<table_row> rows;
    for (auto& f : found) {
        table_row r{f, read_table(f.location), {}, {}};
        if (const auto* cur = r.info.current_snapshot ? find_snapshot(r.info, *r.info.current_snapshot) : nullptr) {
            auto as_int = [](const std::optional<std::string>& s) -> std::optional<std::int64_t> {
                if (!s) return std::nullopt;
                std::int64_t v = 0;
                auto res = std::from_chars(s->data(), s->data() + s->size(), v);
                if (res.ec != std::errc{} || res.ptr != s->data() + s->size()) return std::nullopt;
                return v;
            };
            r.rows = as_int(summary_of(*cur, "total-records"));
            r.files = as_int(summary_of(*cur, "total-data-files"));
            if (!r.rows || !r.files) {  // totals are optional in the spec: count the live files
                std::vector<bulk::iceberg_data_file> live;
                if (auto st = bulk::iceberg_snapshot_files(f.location, r.info, cur->id, live); !st)
                    throw command_error(st.message);
                std::int64_t n = 0;
                for (const auto& d : live) n += static_cast<std::int64_t>(d.rows);
                r.rows = n;
                r.files = static_cast<std::int64_t>(live.size());
            }
        }
        rows.push_back(std::move(r));
    }
    std::vector<std::string> namespaces;
    for (const auto& r : rows) namespaces.push_back(r.where.ns);
    std::sort(namespaces.begin(), namespaces.end());
    namespaces.erase(std::unique(namespaces.begin(), namespaces.end()), namespaces.end());
    if (c.json) {
        std::string s = "{\"warehouse\":" + json_string(c.dir) + ",\"namespaces\":[";
        for (std::size_t i = 0; i < namespaces.size(); ++i) s += (i ? "," : "") + json_string(namespaces[i]);
        s += "],\"tables\":[";
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const auto& r = rows[i];
            s += std::string(i ? "," : "") + "{\"namespace\":" + json_string(r.where.ns) + ",\"table\":" +
                 json_string(r.where.name) + ",\"location\":" + json_string(r.where.location.string()) +
                 ",\"format_version\":" + std::to_string(r.info.format_version) + ",\"metadata_version\":" +
                 std::to_string(r.info.version) + ",\"current_snapshot_id\":" + num_or(r.info.current_snapshot, "null") +
                 ",\"snapshots\":" + std::to_string(r.info.snapshots.size()) + ",\"rows\":" + num_or(r.rows, "null") +
                 ",\"files\":" + num_or(r.files, "null") + ",\"last_updated_ms\":" +
                 std::to_string(r.info.last_updated_ms) + "}";
        }
        std::cout << s << "]}\n";
        return;
    }
    std::vector<std::vector<std::string>> cells;
    for (const auto& r : rows)
        cells.push_back({r.where.ns, r.where.name, num_or(r.info.current_snapshot, "none"),
                         std::to_string(r.info.snapshots.size()), num_or(r.rows, "0"), num_or(r.files, "0"),
                         "v" + std::to_string(r.info.format_version), utc_ms_text(r.info.last_updated_ms)});
    print_text_table({"namespace", "table", "current_snapshot_id", "snapshots", "rows", "files", "format", "last_updated"},
                     cells, std::cout);
    std::cout << "\n(" << rows.size() << " table" << (rows.size() == 1 ? "" : "s") << " in " << namespaces.size()
              << " namespace" << (namespaces.size() == 1 ? "" : "s") << ")\n";
}

// ---- snapshots ----

void run_snapshots(const iceberg_cli& c) {
    const auto loc = resolve_table(c);
    const auto t = read_table(loc);
    auto snaps = t.snapshots;
    std::stable_sort(snaps.begin(), snaps.end(), [](const auto& a, const auto& b) {
        return a.timestamp_ms != b.timestamp_ms ? a.timestamp_ms < b.timestamp_ms : a.sequence_number < b.sequence_number;
    });
    if (c.json) {
        std::string s = "{\"table\":" + json_string(loc.string()) + ",\"current_snapshot_id\":" +
                        num_or(t.current_snapshot, "null") + ",\"snapshots\":[";
        for (std::size_t i = 0; i < snaps.size(); ++i) {
            const auto& x = snaps[i];
            s += std::string(i ? "," : "") + "{\"snapshot_id\":" + std::to_string(x.id) + ",\"parent_snapshot_id\":" +
                 num_or(x.parent, "null") + ",\"sequence_number\":" + std::to_string(x.sequence_number) +
                 ",\"timestamp_ms\":" + std::to_string(x.timestamp_ms) + ",\"timestamp\":" +
                 json_string(utc_ms_text(x.timestamp_ms)) + ",\"operation\":" + json_string(x.operation) +
                 ",\"schema_id\":" +
                 (x.schema_id ? std::to_string(*x.schema_id) : std::string("null")) +
                 ",\"manifest_list\":" + json_string(x.manifest_list) + ",\"summary\":{";
            for (std::size_t k = 0; k < x.summary.size(); ++k)
                s += (k ? "," : "") + json_string(x.summary[k].first) + ":" + json_string(x.summary[k].second);
            s += "}}";
        }
        std::cout << s << "]}\n";
        return;
    }
    std::vector<std::vector<std::string>> cells;
    for (const auto& x : snaps)
        cells.push_back({std::to_string(x.id), num_or(x.parent, "null"), std::to_string(x.sequence_number),
                         utc_ms_text(x.timestamp_ms), x.operation, str_or(summary_of(x, "added-records"), "?"),
                         str_or(summary_of(x, "added-data-files"), "?"), str_or(summary_of(x, "total-records"), "?"),
                         str_or(summary_of(x, "total-data-files"), "?"),
                         x.schema_id ? std::to_string(*x.schema_id) : "null",
                         t.current_snapshot && *t.current_snapshot == x.id ? "*" : ""});
    std::cout << "table: " << loc.string() << "\n\n";
    print_text_table({"snapshot_id", "parent_id", "sequence", "committed_at", "operation", "added_records",
                      "added_files", "total_records", "total_files", "schema_id", "current"},
                     cells, std::cout);
    std::cout << "\n(" << snaps.size() << " snapshot" << (snaps.size() == 1 ? "" : "s") << "; current: "
              << num_or(t.current_snapshot, "none") << ")\n";
}

// ---- schema ----

std::string type_text(const json_value& t) {
    if (t.type == jk::string) return t.text;
    if (t.type != jk::object) return "?";
    const auto* k = t.find("type");
    const std::string kind = k && k->type == jk::string ? k->text : "?";
    if (kind == "list") {
        const auto* e = t.find("element");
        return "list<" + (e ? type_text(*e) : "?") + ">";
    }
    if (kind == "map") {
        const auto* kt = t.find("key");
        const auto* vt = t.find("value");
        return "map<" + (kt ? type_text(*kt) : "?") + ", " + (vt ? type_text(*vt) : "?") + ">";
    }
    if (kind == "struct") {
        std::string s = "struct<";
        if (const auto* fs = t.find("fields"); fs && fs->type == jk::array)
            for (std::size_t i = 0; i < fs->items.size(); ++i) {
                const auto* n = fs->items[i].find("name");
                const auto* ft = fs->items[i].find("type");
                s += (i ? ", " : "") + (n && n->type == jk::string ? n->text : "?") + ": " + (ft ? type_text(*ft) : "?");
            }
        return s + ">";
    }
    return kind;
}

struct field_row {
    std::int64_t id = 0;
    std::string name, type;
    bool required = false;
};

bool flag(const json_value* v) { return v && v->type == jk::boolean && v->boolean; }
std::int64_t int_or(const json_value* v, std::int64_t d) {
    std::int64_t x = d;
    if (v && v->type == jk::number) std::from_chars(v->text.data(), v->text.data() + v->text.size(), x);
    return x;
}

// Every field id of a type, pre-order, named by its path ("m.value", "tup._1").
void flatten(const json_value& type, const std::string& prefix, std::vector<field_row>& out, int depth = 0) {
    if (type.type != jk::object || depth > 64) return;
    const auto* k = type.find("type");
    const std::string kind = k && k->type == jk::string ? k->text : "";
    auto add = [&](const json_value* id, const std::string& name, const json_value* t, bool req) {
        out.push_back({int_or(id, -1), name, t ? type_text(*t) : "?", req});
        if (t) flatten(*t, name, out, depth + 1);
    };
    const std::string p = prefix.empty() ? "" : prefix + ".";
    if (kind == "struct") {
        if (const auto* fs = type.find("fields"); fs && fs->type == jk::array)
            for (const auto& f : fs->items) {
                const auto* n = f.find("name");
                add(f.find("id"), p + (n && n->type == jk::string ? n->text : "?"), f.find("type"), flag(f.find("required")));
            }
    } else if (kind == "list") {
        add(type.find("element-id"), p + "element", type.find("element"), flag(type.find("element-required")));
    } else if (kind == "map") {
        add(type.find("key-id"), p + "key", type.find("key"), true);
        add(type.find("value-id"), p + "value", type.find("value"), flag(type.find("value-required")));
    }
}

void run_schema(const iceberg_cli& c) {
    const auto loc = resolve_table(c);
    const auto t = read_table(loc);
    std::int32_t schema_id = t.current_schema_id;
    if (c.snapshot_id) {
        const auto* s = find_snapshot(t, *c.snapshot_id);
        if (!s) throw command_error(loc.string() + ": no snapshot " + std::to_string(*c.snapshot_id));
        if (s->schema_id) schema_id = *s->schema_id;  // v1 snapshots may lack it: the current schema then
    }
    const std::string* schema_text = nullptr;
    for (const auto& [id, text] : t.schemas)
        if (id == schema_id) schema_text = &text;
    if (!schema_text && schema_id == t.current_schema_id && !t.current_schema.empty()) schema_text = &t.current_schema;
    if (!schema_text) throw command_error(loc.string() + ": no schema " + std::to_string(schema_id) + " in the metadata");
    const auto schema = parse(*schema_text, loc, "schema");
    std::vector<field_row> fields;
    flatten(schema, "", fields);
    const auto specs = parse(t.partition_specs, loc, "partition-specs");
    const auto orders = parse(t.sort_orders, loc, "sort-orders");
    auto source_name = [&](std::int64_t id) {
        for (const auto& f : fields)
            if (f.id == id) return f.name;
        return std::string("?");
    };
    if (c.json) {
        std::string s = "{\"table\":" + json_string(loc.string()) + ",\"schema_id\":" + std::to_string(schema_id) +
                        ",\"current_schema_id\":" + std::to_string(t.current_schema_id) + ",\"snapshot_id\":" +
                        num_or(c.snapshot_id, "null") + ",\"fields\":[";
        for (std::size_t i = 0; i < fields.size(); ++i)
            s += std::string(i ? "," : "") + "{\"id\":" + std::to_string(fields[i].id) + ",\"name\":" +
                 json_string(fields[i].name) + ",\"type\":" + json_string(fields[i].type) +
                 ",\"required\":" + (fields[i].required ? "true" : "false") + "}";
        s += "],\"schema\":" + *schema_text + ",\"partition_specs\":" + t.partition_specs +
             ",\"default_spec_id\":" + std::to_string(t.default_spec_id) + ",\"sort_orders\":" + t.sort_orders +
             ",\"default_sort_order_id\":" + std::to_string(t.default_sort_order_id) + "}";
        std::cout << s << "\n";
        return;
    }
    std::cout << "table: " << loc.string() << "\nschema " << schema_id
              << (schema_id == t.current_schema_id ? " (current" : " (not current") << "; "
              << (c.snapshot_id ? "of snapshot " + std::to_string(*c.snapshot_id) + "; " : std::string())
              << t.schemas.size() << " schema(s) in all)\n\n";
    std::vector<std::vector<std::string>> cells;
    for (const auto& f : fields)
        cells.push_back({std::to_string(f.id), f.name, f.type, f.required ? "required" : "optional"});
    print_text_table({"id", "name", "type", "required"}, cells, std::cout);
    std::cout << "\n(" << fields.size() << " fields)\n";
    if (specs.type == jk::array)
        for (const auto& sp : specs.items) {
            const auto id = int_or(sp.find("spec-id"), 0);
            const auto* fl = sp.find("fields");
            std::cout << "\npartition spec " << id << (id == t.default_spec_id ? " (default)" : "") << ":";
            if (!fl || fl->type != jk::array || fl->items.empty()) {
                std::cout << " unpartitioned\n";
                continue;
            }
            std::cout << "\n";
            std::vector<std::vector<std::string>> pc;
            for (const auto& f : fl->items) {
                const auto* n = f.find("name");
                const auto* tr = f.find("transform");
                const auto src = int_or(f.find("source-id"), -1);
                pc.push_back({std::to_string(int_or(f.find("field-id"), -1)), n && n->type == jk::string ? n->text : "?",
                              tr && tr->type == jk::string ? tr->text : "?", std::to_string(src), source_name(src)});
            }
            print_text_table({"field_id", "name", "transform", "source_id", "source"}, pc, std::cout);
        }
    if (orders.type == jk::array)
        for (const auto& so : orders.items) {
            const auto id = int_or(so.find("order-id"), 0);
            const auto* fl = so.find("fields");
            std::cout << "\nsort order " << id << (id == t.default_sort_order_id ? " (default)" : "") << ":";
            if (!fl || fl->type != jk::array || fl->items.empty()) {
                // cqlpp's data files are in token order, which no Iceberg transform expresses (docs/iceberg.md).
                std::cout << " unsorted\n";
                continue;
            }
            std::cout << "\n";
            std::vector<std::vector<std::string>> oc;
            for (const auto& f : fl->items) {
                const auto* tr = f.find("transform");
                const auto* dir = f.find("direction");
                const auto* no = f.find("null-order");
                const auto src = int_or(f.find("source-id"), -1);
                oc.push_back({tr && tr->type == jk::string ? tr->text : "?", std::to_string(src), source_name(src),
                              dir && dir->type == jk::string ? dir->text : "?",
                              no && no->type == jk::string ? no->text : "?"});
            }
            print_text_table({"transform", "source_id", "source", "direction", "null_order"}, oc, std::cout);
        }
}

}  // namespace

std::string utc_ms_text(std::int64_t ms) {
    const std::int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);  // floor
    const auto t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char when[48];
    const auto n = std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(when + n, sizeof when - n, ".%03dZ", static_cast<int>(ms - secs * 1000));
    return when;
}

void add_iceberg_command(CLI::App& app) {
    auto c = std::make_shared<iceberg_cli>();
    auto* ice = app.add_subcommand("iceberg", "Inspect Iceberg tables in a filesystem warehouse (as bulk unload writes them)");
    ice->require_subcommand(1);
    auto common = [&](CLI::App* sub, bool table_arg) {
        sub->add_option("dir", c->dir, table_arg ? "a table directory, or a warehouse directory with NAMESPACE.TABLE"
                                                 : "a warehouse directory (or one table's directory)")
            ->required();
        if (table_arg) sub->add_option("table", c->table, "NAMESPACE.TABLE within the warehouse DIR");
        sub->add_flag("--json", c->json, "print one JSON object instead of tables");
    };
    auto* ls = ice->add_subcommand("ls", "namespaces and tables: current snapshot, rows, data files");
    common(ls, false);
    ls->callback([c] { run_ls(*c); });
    auto* snaps = ice->add_subcommand("snapshots", "a table's snapshots: id, parent, time, operation, summary");
    common(snaps, true);
    snaps->callback([c] { run_snapshots(*c); });
    auto* schema = ice->add_subcommand("schema", "a table's schema with field ids, partition specs and sort orders");
    common(schema, true);
    schema->add_option("--snapshot-id", c->snapshot_id, "the schema that snapshot was written with (default: current)");
    schema->callback([c] { run_schema(*c); });
}

}  // namespace cqlpp::tools
