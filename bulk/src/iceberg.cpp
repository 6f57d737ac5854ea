#include "cqlpp/bulk/iceberg.hpp"

#include "cqlpp/bulk/detail/avro.hpp"
#include "cqlpp/bulk/detail/json.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

namespace cqlpp::bulk {

namespace fs = std::filesystem;
using detail::json_value;
using protocol::cql_type;
using protocol::type_kind;

namespace {

using jk = json_value::kind;

json_value jnum(std::int64_t v) {
    json_value j;
    j.type = jk::number;
    j.text = std::to_string(v);
    return j;
}
json_value jstr(std::string s) {
    json_value j;
    j.type = jk::string;
    j.text = std::move(s);
    return j;
}
json_value jbool(bool b) {
    json_value j;
    j.type = jk::boolean;
    j.boolean = b;
    return j;
}
json_value jobj() {
    json_value j;
    j.type = jk::object;
    return j;
}
json_value jarr() {
    json_value j;
    j.type = jk::array;
    return j;
}
void jset(json_value& o, const std::string& k, json_value v) {
    for (std::size_t i = 0; i < o.keys.size(); ++i)
        if (o.keys[i] == k) {
            o.items[i] = std::move(v);
            return;
        }
    o.keys.push_back(k);
    o.items.push_back(std::move(v));
}
std::string jtext(const json_value& v) {
    std::string s;
    detail::append_json(s, v);
    return s;
}
bool jint(const json_value* v, std::int64_t& out) {
    if (!v || v->type != jk::number) return false;
    auto r = std::from_chars(v->text.data(), v->text.data() + v->text.size(), out);
    return r.ec == std::errc{} && r.ptr == v->text.data() + v->text.size();
}
std::int64_t jint_or(const json_value* v, std::int64_t dflt) {
    std::int64_t x = dflt;
    return jint(v, x) ? x : dflt;
}

std::string new_uuid() {
    std::random_device rd;
    unsigned char b[16];
    for (auto& x : b) x = static_cast<unsigned char>(rd());
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
        s += hex[b[i] >> 4];
        s += hex[b[i] & 15];
    }
    return s;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

status read_file(const fs::path& p, std::string& out) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return {errc::io_error, p.string() + ": " + std::strerror(errno)};
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return {};
}

status write_synced(const fs::path& p, std::string_view data, bool exclusive) {
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC), 0644);
    if (fd < 0) return {errc::io_error, p.string() + ": " + std::strerror(errno)};
    std::size_t done = 0;
    while (done < data.size()) {
        auto n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            std::string e = std::strerror(errno);
            ::close(fd);
            return {errc::io_error, p.string() + ": " + e};
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) return {errc::io_error, p.string() + ": " + std::strerror(errno)};
    return {};
}

void sync_dir(const fs::path& d) {
    int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

fs::path metadata_file(const fs::path& loc, std::uint64_t v) {
    return loc / "metadata" / ("v" + std::to_string(v) + ".metadata.json");
}

// The newest version: version-hint.text (advisory; it may lag a commit), then
// the highest vN.metadata.json after it. 0: no table.
std::uint64_t current_version(const fs::path& loc) {
    std::uint64_t v = 0;
    std::string hint;
    std::error_code ec;
    if (read_file(loc / "metadata" / "version-hint.text", hint).ok()) {
        while (!hint.empty() && (hint.back() == '\n' || hint.back() == '\r' || hint.back() == ' ')) hint.pop_back();
        std::from_chars(hint.data(), hint.data() + hint.size(), v);
    }
    if (v == 0 || !fs::exists(metadata_file(loc, v), ec)) {
        v = 0;
        for (const auto& e : fs::directory_iterator(loc / "metadata", ec)) {
            auto n = e.path().filename().string();
            const std::string suffix = ".metadata.json";
            if (n.size() > suffix.size() + 1 && n[0] == 'v' && n.ends_with(suffix)) {
                std::uint64_t x = 0;
                auto r = std::from_chars(n.data() + 1, n.data() + n.size() - suffix.size(), x);
                if (r.ec == std::errc{} && r.ptr == n.data() + n.size() - suffix.size()) v = std::max(v, x);
            }
        }
    }
    while (v > 0 && fs::exists(metadata_file(loc, v + 1), ec)) ++v;
    return v;
}

status read_metadata(const fs::path& loc, std::uint64_t& version, json_value& md) {
    version = current_version(loc);
    md = jobj();
    if (version == 0) return {};
    std::string text, err;
    auto p = metadata_file(loc, version);
    if (auto st = read_file(p, text); !st) return st;
    if (!detail::parse_json(text, md, err) || md.type != jk::object)
        return {errc::bad_iceberg, p.string() + ": not a JSON object: " + err};
    if (jint_or(md.find("format-version"), 0) > 2)
        return {errc::bad_iceberg, p.string() + ": format-version above 2 is not supported"};
    return {};
}

const json_value* current_schema(const json_value& md) {
    const auto* schemas = md.find("schemas");
    const auto id = jint_or(md.find("current-schema-id"), 0);
    if (schemas && schemas->type == jk::array)
        for (const auto& s : schemas->items)
            if (jint_or(s.find("schema-id"), 0) == id) return &s;
    return md.find("schema");  // v1
}

// ---- CQL -> Iceberg types, with field ids ----

struct id_source {
    const std::vector<std::int32_t>* reuse = nullptr;  // the old type's ids, pre-order
    std::size_t pos = 0;
    std::int32_t* next = nullptr;
    bool ok = true;
    std::int32_t take() {
        if (!reuse) return ++*next;
        if (pos < reuse->size()) return (*reuse)[pos++];
        ok = false;
        return 0;
    }
};

json_value field(std::int32_t id, const std::string& name, bool required, json_value type) {
    auto f = jobj();
    jset(f, "id", jnum(id));
    jset(f, "name", jstr(name));
    jset(f, "required", jbool(required));
    jset(f, "type", std::move(type));
    return f;
}

json_value iceberg_type(const cql_type& t, id_source& ids) {
    switch (t.kind) {
        case type_kind::tinyint:
        case type_kind::smallint:
        case type_kind::int_: return jstr("int");
        case type_kind::bigint:
        case type_kind::counter: return jstr("long");
        case type_kind::float_: return jstr("float");
        case type_kind::double_: return jstr("double");
        case type_kind::boolean: return jstr("boolean");
        case type_kind::text:
        case type_kind::ascii:
        case type_kind::inet:
        case type_kind::decimal:
        case type_kind::varint: return jstr("string");
        case type_kind::uuid:
        case type_kind::timeuuid: return jstr("uuid");
        case type_kind::timestamp: return jstr("timestamptz");
        case type_kind::date: return jstr("date");
        case type_kind::time: return jstr("time");
        case type_kind::duration: {
            auto s = jobj();
            jset(s, "type", jstr("struct"));
            auto fields = jarr();
            const auto m = ids.take();
            fields.items.push_back(field(m, "months", true, jstr("int")));
            const auto d = ids.take();
            fields.items.push_back(field(d, "days", true, jstr("int")));
            const auto n = ids.take();
            fields.items.push_back(field(n, "nanos", true, jstr("long")));
            jset(s, "fields", std::move(fields));
            return s;
        }
        case type_kind::list:
        case type_kind::set:
        case type_kind::vector: {
            auto l = jobj();
            jset(l, "type", jstr("list"));
            const auto id = ids.take();
            jset(l, "element-id", jnum(id));
            jset(l, "element", iceberg_type(t.params.empty() ? cql_type() : t.params[0], ids));
            jset(l, "element-required", jbool(true));
            return l;
        }
        case type_kind::map: {
            auto m = jobj();
            jset(m, "type", jstr("map"));
            const auto kid = ids.take();
            jset(m, "key-id", jnum(kid));
            jset(m, "key", iceberg_type(t.params.size() > 0 ? t.params[0] : cql_type(), ids));
            const auto vid = ids.take();
            jset(m, "value-id", jnum(vid));
            jset(m, "value", iceberg_type(t.params.size() > 1 ? t.params[1] : cql_type(), ids));
            jset(m, "value-required", jbool(true));
            return m;
        }
        case type_kind::tuple:
        case type_kind::udt: {
            auto s = jobj();
            jset(s, "type", jstr("struct"));
            auto fields = jarr();
            for (std::size_t i = 0; i < t.params.size(); ++i) {
                auto name = t.kind == type_kind::udt && i < t.field_names.size() ? t.field_names[i]
                                                                                 : "_" + std::to_string(i + 1);
                const auto id = ids.take();
                fields.items.push_back(field(id, name, false, iceberg_type(t.params[i], ids)));
            }
            jset(s, "fields", std::move(fields));
            return s;
        }
        default: return jstr("binary");
    }
}

// Nested ids of an Iceberg type in pre-order (the order the Parquet writer takes them).
void collect_ids(const json_value& type, std::vector<std::int32_t>& out, int depth = 0) {
    if (type.type != jk::object || depth > detail::max_json_depth) return;
    const auto* t = type.find("type");
    if (!t || t->type != jk::string) return;
    if (t->text == "struct") {
        if (const auto* f = type.find("fields"); f && f->type == jk::array)
            for (const auto& fld : f->items) {
                out.push_back(static_cast<std::int32_t>(jint_or(fld.find("id"), -1)));
                if (const auto* ft = fld.find("type")) collect_ids(*ft, out, depth + 1);
            }
    } else if (t->text == "list") {
        out.push_back(static_cast<std::int32_t>(jint_or(type.find("element-id"), -1)));
        if (const auto* e = type.find("element")) collect_ids(*e, out, depth + 1);
    } else if (t->text == "map") {
        out.push_back(static_cast<std::int32_t>(jint_or(type.find("key-id"), -1)));
        if (const auto* k = type.find("key")) collect_ids(*k, out, depth + 1);
        out.push_back(static_cast<std::int32_t>(jint_or(type.find("value-id"), -1)));
        if (const auto* v = type.find("value")) collect_ids(*v, out, depth + 1);
    }
}

// ---- Avro schemas of manifests and manifest lists (Iceberg spec field ids) ----

constexpr std::string_view manifest_entry_schema_template =
    R"({"type":"record","name":"manifest_entry","fields":[)"
    R"({"name":"status","type":"int","field-id":0},)"
    R"({"name":"snapshot_id","type":["null","long"],"default":null,"field-id":1},)"
    R"({"name":"sequence_number","type":["null","long"],"default":null,"field-id":3},)"
    R"({"name":"file_sequence_number","type":["null","long"],"default":null,"field-id":4},)"
    R"({"name":"data_file","type":{"type":"record","name":"r2","fields":[)"
    R"({"name":"content","type":"int","doc":"Contents of the file: 0=data, 1=position deletes, 2=equality deletes","field-id":134},)"
    R"({"name":"file_path","type":"string","doc":"Location URI with FS scheme","field-id":100},)"
    R"({"name":"file_format","type":"string","doc":"File format name: avro, orc, or parquet","field-id":101},)"
    R"({"name":"partition","type":@PARTITION@,"doc":"Partition data tuple, schema based on the partition spec","field-id":102},)"
    R"({"name":"record_count","type":"long","doc":"Number of records in the file","field-id":103},)"
    R"({"name":"file_size_in_bytes","type":"long","doc":"Total file size in bytes","field-id":104},)"
    R"({"name":"column_sizes","type":["null",{"type":"array","items":{"type":"record","name":"k117_v118","fields":[{"name":"key","type":"int","field-id":117},{"name":"value","type":"long","field-id":118}]},"logicalType":"map"}],"default":null,"field-id":108},)"
    R"({"name":"value_counts","type":["null",{"type":"array","items":{"type":"record","name":"k119_v120","fields":[{"name":"key","type":"int","field-id":119},{"name":"value","type":"long","field-id":120}]},"logicalType":"map"}],"default":null,"field-id":109},)"
    R"({"name":"null_value_counts","type":["null",{"type":"array","items":{"type":"record","name":"k121_v122","fields":[{"name":"key","type":"int","field-id":121},{"name":"value","type":"long","field-id":122}]},"logicalType":"map"}],"default":null,"field-id":110},)"
    R"({"name":"nan_value_counts","type":["null",{"type":"array","items":{"type":"record","name":"k138_v139","fields":[{"name":"key","type":"int","field-id":138},{"name":"value","type":"long","field-id":139}]},"logicalType":"map"}],"default":null,"field-id":137},)"
    R"({"name":"lower_bounds","type":["null",{"type":"array","items":{"type":"record","name":"k126_v127","fields":[{"name":"key","type":"int","field-id":126},{"name":"value","type":"bytes","field-id":127}]},"logicalType":"map"}],"default":null,"field-id":125},)"
    R"({"name":"upper_bounds","type":["null",{"type":"array","items":{"type":"record","name":"k129_v130","fields":[{"name":"key","type":"int","field-id":129},{"name":"value","type":"bytes","field-id":130}]},"logicalType":"map"}],"default":null,"field-id":128},)"
    R"({"name":"sort_order_id","type":["null","int"],"default":null,"field-id":140})"
    R"(]},"field-id":2}]})";

constexpr std::string_view manifest_file_schema =
    R"({"type":"record","name":"manifest_file","fields":[)"
    R"({"name":"manifest_path","type":"string","doc":"Location URI with FS scheme","field-id":500},)"
    R"({"name":"manifest_length","type":"long","doc":"Total file size in bytes","field-id":501},)"
    R"({"name":"partition_spec_id","type":"int","doc":"Spec ID used to write","field-id":502},)"
    R"({"name":"content","type":"int","doc":"Contents of the manifest: 0=data, 1=deletes","field-id":517},)"
    R"({"name":"sequence_number","type":"long","doc":"Sequence number when the manifest was added","field-id":515},)"
    R"({"name":"min_sequence_number","type":"long","doc":"Lowest sequence number in the manifest","field-id":516},)"
    R"({"name":"added_snapshot_id","type":"long","doc":"Snapshot ID that added the manifest","field-id":503},)"
    R"({"name":"added_files_count","type":"int","doc":"Added entry count","field-id":504},)"
    R"({"name":"existing_files_count","type":"int","doc":"Existing entry count","field-id":505},)"
    R"({"name":"deleted_files_count","type":"int","doc":"Deleted entry count","field-id":506},)"
    R"({"name":"added_rows_count","type":"long","doc":"Added rows count","field-id":512},)"
    R"({"name":"existing_rows_count","type":"long","doc":"Existing rows count","field-id":513},)"
    R"({"name":"deleted_rows_count","type":"long","doc":"Deleted rows count","field-id":514},)"
    R"({"name":"partitions","type":["null",{"type":"array","items":{"type":"record","name":"r508","fields":[)"
    R"({"name":"contains_null","type":"boolean","field-id":509},)"
    R"({"name":"contains_nan","type":["null","boolean"],"default":null,"field-id":518},)"
    R"({"name":"lower_bound","type":["null","bytes"],"default":null,"field-id":510},)"
    R"({"name":"upper_bound","type":["null","bytes"],"default":null,"field-id":511})"
    R"(]},"element-id":508}],"default":null,"doc":"Summary for each partition","field-id":507},)"
    R"({"name":"key_metadata","type":["null","bytes"],"default":null,"field-id":519}]})";

std::string partition_record_schema(const std::vector<iceberg_partition_field>& fields);

std::string manifest_entry_schema(const std::vector<iceberg_partition_field>& fields) {
    std::string s(manifest_entry_schema_template);
    const auto at = s.find("@PARTITION@");
    return s.replace(at, 11, partition_record_schema(fields));
}

// column_sizes, value_counts, null_value_counts, nan_value_counts, lower_bounds,
// upper_bounds (Avro maps with int keys are arrays of key/value records), sort_order_id.
void encode_metrics(std::string& out, const iceberg_file_stats& st) {
    using namespace detail;
    auto long_map = [&](auto get, std::size_t n) {
        if (n == 0) {
            avro_branch(out, 0);
            return;
        }
        avro_branch(out, 1);
        avro_long(out, static_cast<std::int64_t>(n));
        for (std::size_t i = 0; i < n; ++i) get(i);
        avro_long(out, 0);
    };
    long_map(
        [&](std::size_t i) {
            avro_long(out, st.column_sizes[i].first);
            avro_long(out, static_cast<std::int64_t>(st.column_sizes[i].second));
        },
        st.column_sizes.size());
    long_map(
        [&](std::size_t i) {
            avro_long(out, st.metrics[i].id);
            avro_long(out, static_cast<std::int64_t>(st.metrics[i].values));
        },
        st.metrics.size());
    long_map(
        [&](std::size_t i) {
            avro_long(out, st.metrics[i].id);
            avro_long(out, static_cast<std::int64_t>(st.metrics[i].nulls));
        },
        st.metrics.size());
    {
        std::vector<const iceberg_column_metrics*> floats;
        for (const auto& m : st.metrics)
            if (m.nans) floats.push_back(&m);
        long_map(
            [&](std::size_t i) {
                avro_long(out, floats[i]->id);
                avro_long(out, static_cast<std::int64_t>(*floats[i]->nans));
            },
            floats.size());
    }
    for (int upper = 0; upper < 2; ++upper) {
        std::vector<const iceberg_column_metrics*> with;
        for (const auto& m : st.metrics)
            if (upper ? m.upper.has_value() : m.lower.has_value()) with.push_back(&m);
        long_map(
            [&](std::size_t i) {
                avro_long(out, with[i]->id);
                avro_bytes(out, upper ? *with[i]->upper : *with[i]->lower);
            },
            with.size());
    }
    avro_branch(out, 0);  // sort_order_id: null
}

// One field_summary (manifest list field 508) of a partition field.
struct partition_summary {
    bool contains_null = false;
    std::optional<bool> contains_nan;
    std::optional<std::string> lower, upper;  // single-value serialization
};

struct manifest_ref {
    std::string path;
    std::int64_t length = 0, seq = 0, min_seq = 0, snapshot = 0;
    std::int32_t spec_id = 0, content = 0;
    std::int64_t added_files = 0, existing_files = 0, deleted_files = 0;
    std::int64_t added_rows = 0, existing_rows = 0, deleted_rows = 0;
    std::optional<std::vector<partition_summary>> partitions;  // null in the list when absent
};

// Single-value serialization (spec Appendix D) of a partition value of the
// field's result type: ints, dates little-endian 4 bytes; longs, times and
// timestamps 8; booleans one byte; strings and binary their bytes.
std::string partition_bound_bytes(const iceberg_partition_field& f, const iceberg_partition_value& v) {
    const auto& t = f.result_type;
    if (t == "string" || t == "binary") return v.s;
    const std::size_t n = t == "boolean" ? 1 : (t == "int" || t == "date") ? 4 : 8;
    std::string out;
    for (std::size_t b = 0; b < n; ++b) out.push_back(static_cast<char>(static_cast<std::uint64_t>(v.i) >> (8 * b)));
    return out;
}

// The manifest list's summary of each partition field over `files`: whether
// a null is among the values, and the least and greatest value in the field's
// order (numbers by value, strings and binary by unsigned bytes). No
// partition field is a float (no NaN); uuid fields get no bounds (engines
// disagree on the order of UUIDs).
std::vector<partition_summary> summarize_partitions(const std::vector<iceberg_partition_field>& fields,
                                                    const std::vector<iceberg_data_file>& files) {
    std::vector<partition_summary> out(fields.size());
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const auto& f = fields[i];
        const bool bytes = f.result_type == "string" || f.result_type == "binary";
        out[i].contains_nan = false;
        const iceberg_partition_value *lo = nullptr, *hi = nullptr;
        for (const auto& d : files) {
            if (i >= d.stats.partition.size() || d.stats.partition[i].null) {
                out[i].contains_null = true;
                continue;
            }
            const auto& v = d.stats.partition[i];
            auto less = [bytes](const iceberg_partition_value& a, const iceberg_partition_value& b) {
                return bytes ? std::string_view(a.s) < std::string_view(b.s) : a.i < b.i;  // char_traits: unsigned
            };
            if (!lo || less(v, *lo)) lo = &v;
            if (!hi || less(*hi, v)) hi = &v;
        }
        if (lo && f.result_type != "uuid") {
            out[i].lower = partition_bound_bytes(f, *lo);
            out[i].upper = partition_bound_bytes(f, *hi);
        }
    }
    return out;
}

// A manifest list's `partitions` as our avro reader gives it (null, or an
// array of field_summary objects), kept to be written again.
std::optional<std::vector<partition_summary>> read_partition_summaries(const json_value* v) {
    if (!v || v->type != jk::array) return std::nullopt;
    std::vector<partition_summary> out;
    for (const auto& x : v->items) {
        partition_summary p;
        const auto* cn = x.find("contains_null");
        p.contains_null = cn && cn->type == jk::boolean && cn->boolean;
        if (const auto* nan = x.find("contains_nan"); nan && nan->type == jk::boolean) p.contains_nan = nan->boolean;
        if (const auto* lo = x.find("lower_bound"); lo && lo->type == jk::string) p.lower = lo->text;
        if (const auto* hi = x.find("upper_bound"); hi && hi->type == jk::string) p.upper = hi->text;
        out.push_back(std::move(p));
    }
    return out;
}

void encode_manifest_ref(std::string& out, const manifest_ref& m) {
    using namespace detail;
    avro_bytes(out, m.path);
    avro_long(out, m.length);
    avro_long(out, m.spec_id);
    avro_long(out, m.content);
    avro_long(out, m.seq);
    avro_long(out, m.min_seq);
    avro_long(out, m.snapshot);
    avro_long(out, m.added_files);
    avro_long(out, m.existing_files);
    avro_long(out, m.deleted_files);
    avro_long(out, m.added_rows);
    avro_long(out, m.existing_rows);
    avro_long(out, m.deleted_rows);
    if (!m.partitions) {
        avro_branch(out, 0);
    } else {
        avro_branch(out, 1);
        if (!m.partitions->empty()) {
            avro_long(out, static_cast<std::int64_t>(m.partitions->size()));
            for (const auto& p : *m.partitions) {
                avro_bool(out, p.contains_null);
                if (p.contains_nan) {
                    avro_branch(out, 1);
                    avro_bool(out, *p.contains_nan);
                } else {
                    avro_branch(out, 0);
                }
                for (const auto* b : {&p.lower, &p.upper}) {
                    if (!*b) {
                        avro_branch(out, 0);
                        continue;
                    }
                    avro_branch(out, 1);
                    avro_bytes(out, **b);
                }
            }
        }
        avro_long(out, 0);  // end of the array
    }
    avro_branch(out, 0);  // key_metadata: null
}

std::string strip_scheme(const std::string& p) {
    if (p.starts_with("file://")) return p.substr(7);
    if (p.starts_with("file:")) return p.substr(5);
    return p;
}

status read_avro(const fs::path& p, detail::avro_file& f) {
    std::string data, err;
    if (auto st = read_file(p, data); !st) return st;
    if (!detail::avro_read(data, f, err)) return {errc::bad_iceberg, p.string() + ": " + err};
    return {};
}

status read_manifest_list(const std::string& path, std::vector<manifest_ref>& out) {
    detail::avro_file f;
    if (auto st = read_avro(strip_scheme(path), f); !st) return st;
    for (const auto& r : f.records.items) {
        manifest_ref m;
        const auto* p = r.find("manifest_path");
        if (!p || p->type != jk::string) return {errc::bad_iceberg, path + ": manifest entry without manifest_path"};
        m.path = p->text;
        m.length = jint_or(r.find("manifest_length"), 0);
        m.spec_id = static_cast<std::int32_t>(jint_or(r.find("partition_spec_id"), 0));
        m.content = static_cast<std::int32_t>(jint_or(r.find("content"), 0));
        m.seq = jint_or(r.find("sequence_number"), 0);
        m.min_seq = jint_or(r.find("min_sequence_number"), m.seq);
        m.snapshot = jint_or(r.find("added_snapshot_id"), 0);
        m.added_files = jint_or(r.find("added_files_count"), jint_or(r.find("added_data_files_count"), 0));
        m.existing_files = jint_or(r.find("existing_files_count"), jint_or(r.find("existing_data_files_count"), 0));
        m.deleted_files = jint_or(r.find("deleted_files_count"), jint_or(r.find("deleted_data_files_count"), 0));
        m.added_rows = jint_or(r.find("added_rows_count"), 0);
        m.existing_rows = jint_or(r.find("existing_rows_count"), 0);
        m.deleted_rows = jint_or(r.find("deleted_rows_count"), 0);
        m.partitions = read_partition_summaries(r.find("partitions"));
        out.push_back(std::move(m));
    }
    return {};
}

const json_value* find_snapshot(const json_value& md, std::int64_t id) {
    const auto* snaps = md.find("snapshots");
    if (snaps && snaps->type == jk::array)
        for (const auto& s : snaps->items)
            if (jint_or(s.find("snapshot-id"), 0) == id) return &s;
    return nullptr;
}

std::int64_t current_snapshot_id(const json_value& md) {
    const auto id = jint_or(md.find("current-snapshot-id"), -1);
    return id;
}

json_value array_or_empty(const json_value& md, const char* key) {
    const auto* a = md.find(key);
    return a && a->type == jk::array ? *a : jarr();
}

// ---- Partitioning helpers ----

constexpr std::int64_t ms_per_day = 86'400'000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    auto q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

// Days since 1970-01-01 -> civil date (proleptic Gregorian).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) ++y;
}

// The Iceberg type of a top-level column, as partitions and metrics need it
// (the plan spells it as text; compared once, not per row).
enum class ice_type : std::uint8_t { other, int_, long_, date, time, timestamptz, boolean, string, binary, uuid };

ice_type ice_type_of(std::string_view t) {
    if (t == "int") return ice_type::int_;
    if (t == "long") return ice_type::long_;
    if (t == "date") return ice_type::date;
    if (t == "time") return ice_type::time;
    if (t == "timestamptz") return ice_type::timestamptz;
    if (t == "boolean") return ice_type::boolean;
    if (t == "string") return ice_type::string;
    if (t == "binary") return ice_type::binary;
    if (t == "uuid") return ice_type::uuid;
    return ice_type::other;
}

// A value of a primitive column as partitions and metrics read it, taken from
// a cql_value or straight from a cell's protocol bytes (the unload's hot path:
// no cql_value, no copy; `s` points into the value or the page).
struct prim {
    enum class k : std::uint8_t { none, integer, date, f32, f64, boolean, string, blob, uuid, other };
    k kind = k::none;    // none: null or a zero-length "empty" value
    std::int64_t i = 0;  // integer, boolean (0/1), date (the wire's unsigned form)
    double d = 0;        // f32 (widened exactly), f64
    std::string_view s;  // string, blob, uuid (16 bytes, wire order)
};

prim prim_of(const protocol::cql_value& v) {
    using protocol::value_kind;
    prim p;
    if (v.is_null() || v.is_empty()) return p;
    switch (v.kind()) {
        case value_kind::integer: p.kind = prim::k::integer; p.i = v.as_int(); break;
        case value_kind::date: p.kind = prim::k::date; p.i = v.as_date(); break;
        case value_kind::float32: p.kind = prim::k::f32; p.d = v.as_float(); break;
        case value_kind::float64: p.kind = prim::k::f64; p.d = v.as_double(); break;
        case value_kind::boolean: p.kind = prim::k::boolean; p.i = v.as_bool() ? 1 : 0; break;
        case value_kind::string: p.kind = prim::k::string; p.s = v.as_string(); break;
        case value_kind::blob:
            p.kind = prim::k::blob;
            p.s = {reinterpret_cast<const char*>(v.as_blob().data()), v.as_blob().size()};
            break;
        case value_kind::uuid:
            p.kind = prim::k::uuid;
            p.s = {reinterpret_cast<const char*>(v.as_uuid().data()), v.as_uuid().size()};
            break;
        default: p.kind = prim::k::other; break;
    }
    return p;
}

// The same from a cell of CQL type t, read as protocol::decode_value() reads
// it. False on a wrong size (the cell would not decode); checks that cost a
// pass over the bytes (UTF-8, ASCII, timeuuid version, time range) are left to
// whoever decodes or writes the row.
bool prim_of(const cql_type& t, const protocol::value_view& c, prim& p) {
    using protocol::detail::load_be16;
    using protocol::detail::load_be32;
    using protocol::detail::load_be64;
    p = {};
    if (!c.is_set()) return true;
    const auto b = c.bytes;
    if (b.empty() && protocol::zero_length_is_empty(t)) return true;
    auto sized = [&](std::size_t n, prim::k k) {
        p.kind = k;
        return b.size() == n;
    };
    switch (t.kind) {
        case type_kind::boolean:
            if (!sized(1, prim::k::boolean)) return false;
            p.i = b[0] != 0 ? 1 : 0;
            return true;
        case type_kind::tinyint:
            if (!sized(1, prim::k::integer)) return false;
            p.i = static_cast<std::int8_t>(b[0]);
            return true;
        case type_kind::smallint:
            if (!sized(2, prim::k::integer)) return false;
            p.i = static_cast<std::int16_t>(load_be16(b.data()));
            return true;
        case type_kind::int_:
            if (!sized(4, prim::k::integer)) return false;
            p.i = static_cast<std::int32_t>(load_be32(b.data()));
            return true;
        case type_kind::bigint:
        case type_kind::counter:
        case type_kind::timestamp:
        case type_kind::time:
            if (!sized(8, prim::k::integer)) return false;
            p.i = static_cast<std::int64_t>(load_be64(b.data()));
            return true;
        case type_kind::date:
            if (!sized(4, prim::k::date)) return false;
            p.i = load_be32(b.data());
            return true;
        case type_kind::float_:
            if (!sized(4, prim::k::f32)) return false;
            p.d = std::bit_cast<float>(load_be32(b.data()));
            return true;
        case type_kind::double_:
            if (!sized(8, prim::k::f64)) return false;
            p.d = std::bit_cast<double>(load_be64(b.data()));
            return true;
        case type_kind::ascii:
        case type_kind::text: p.kind = prim::k::string; break;
        case type_kind::blob:
        case type_kind::custom: p.kind = prim::k::blob; break;
        case type_kind::uuid:
        case type_kind::timeuuid:
            if (!sized(16, prim::k::uuid)) return false;
            break;
        default: p.kind = prim::k::other; return true;
    }
    p.s = {reinterpret_cast<const char*>(b.data()), b.size()};
    return true;
}

// The value of a primitive column as the Iceberg spec's integer form:
// int/long as is, date in days, time in microseconds, timestamptz in microseconds.
bool iceberg_integer(ice_type type, const prim& v, std::int64_t& out) {
    if (type == ice_type::date) {
        if (v.kind != prim::k::date) return false;
        out = protocol::date_to_epoch_days(static_cast<std::uint32_t>(v.i));
        return true;
    }
    if (v.kind != prim::k::integer) return false;
    const auto x = v.i;
    switch (type) {
        case ice_type::int_:
        case ice_type::long_: out = x; return true;
        case ice_type::time: out = floor_div(x, 1000); return true;
        case ice_type::timestamptz:
            if (x > INT64_MAX / 1000 || x < INT64_MIN / 1000) return false;
            out = x * 1000;
            return true;
        default: return false;
    }
}

void put_le(std::string& s, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

std::string to_hex(std::string_view s) {
    static const char* hex = "0123456789abcdef";
    std::string o;
    o.reserve(s.size() * 2);
    for (unsigned char c : s) {
        o += hex[c >> 4];
        o += hex[c & 15];
    }
    return o;
}

bool from_hex(std::string_view h, std::string& out) {
    if (h.size() % 2) return false;
    out.clear();
    auto nib = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < h.size(); i += 2) {
        const int a = nib(h[i]), b = nib(h[i + 1]);
        if (a < 0 || b < 0) return false;
        out.push_back(static_cast<char>(a * 16 + b));
    }
    return true;
}

bool avro_name_ok(std::string_view n) {
    if (n.empty() || !(std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
    return std::all_of(n.begin(), n.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

std::string trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return std::string(s);
}

// The Avro type of a partition value of Iceberg type `t`.
std::string partition_avro_type(const std::string& t) {
    if (t == "int") return R"("int")";
    if (t == "long") return R"("long")";
    if (t == "boolean") return R"("boolean")";
    if (t == "string") return R"("string")";
    if (t == "binary") return R"("bytes")";
    if (t == "date") return R"({"type":"int","logicalType":"date"})";
    if (t == "time") return R"({"type":"long","logicalType":"time-micros"})";
    if (t == "timestamptz") return R"({"type":"long","logicalType":"timestamp-micros","adjust-to-utc":true})";
    if (t == "uuid") return R"({"type":"fixed","name":"uuid_fixed","size":16,"logicalType":"uuid"})";
    return R"("string")";
}

std::string partition_record_schema(const std::vector<iceberg_partition_field>& fields) {
    std::string s = R"({"type":"record","name":"r102","fields":[)";
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i) s += ',';
        s += R"({"name":)";
        detail::append_json_string(s, fields[i].name);
        s += R"(,"type":["null",)" + partition_avro_type(fields[i].result_type) + R"(],"default":null,"field-id":)" +
             std::to_string(fields[i].field_id) + "}";
    }
    return s + "]}";
}

void encode_partition(std::string& out, const std::vector<iceberg_partition_field>& fields,
                      const std::vector<iceberg_partition_value>& values) {
    using namespace detail;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const auto* v = i < values.size() ? &values[i] : nullptr;
        if (!v || v->null) {
            avro_branch(out, 0);
            continue;
        }
        avro_branch(out, 1);
        const auto& t = fields[i].result_type;
        if (t == "boolean") avro_bool(out, v->i != 0);
        else if (t == "string" || t == "binary") avro_bytes(out, v->s);
        else if (t == "uuid") out.append(v->s.size() == 16 ? v->s : std::string(16, '\0'));
        else avro_long(out, v->i);
    }
}

// Metric kinds of a top-level column.
enum metric_kind : int { m_counts = 0, m_int4, m_int8, m_float, m_double, m_bool, m_string, m_binary };

// Iceberg truncates string/binary bounds; we keep up to 16 code points / bytes:
// a prefix is a valid lower bound; an upper bound is written only when not truncated.
constexpr std::size_t bound_prefix = 16;

std::size_t utf8_prefix_len(std::string_view s, std::size_t code_points) {
    std::size_t i = 0, n = 0;
    while (i < s.size() && n < code_points) {
        ++i;
        while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
        ++n;
    }
    return i;
}

}  // namespace

fs::path iceberg_table_location(const fs::path& warehouse, const std::string& ns, const std::string& table) {
    fs::path p = warehouse;
    std::stringstream ss(ns);
    for (std::string part; std::getline(ss, part, '.');)
        if (!part.empty()) p /= part;
    return p / table;
}

namespace {

// Plans the partition spec of a write: parses --partition-by against the
// columns, then reuses the table's equal spec or adds a new one.
status plan_partition_spec(const json_value& md, std::string_view text, iceberg_write_plan& out) {
    auto bad = [](std::string m) { return status{errc::bad_iceberg, "--partition-by: " + std::move(m)}; };
    std::vector<std::string> items;
    {
        int depth = 0;
        std::string cur;
        for (char ch : text) {
            if (ch == '(') ++depth;
            if (ch == ')') --depth;
            if (depth < 0) return bad("unbalanced parentheses");
            if (ch == ',' && depth == 0) {
                items.push_back(trim(cur));
                cur.clear();
            } else {
                cur += ch;
            }
        }
        if (depth != 0) return bad("unbalanced parentheses");
        if (!trim(cur).empty() || !items.empty()) items.push_back(trim(cur));
    }
    if (items.size() > 16) return bad("at most 16 partition fields");
    for (const auto& item : items) {
        if (item.empty()) return bad("empty field in '" + std::string(text) + "'");
        iceberg_partition_field f;
        std::string fn = "identity", col;
        std::vector<std::string> args;
        const auto open = item.find('(');
        if (open == std::string::npos) {
            col = item;
        } else {
            if (item.back() != ')') return bad("expected TRANSFORM(ARGS) in '" + item + "'");
            fn = trim(std::string_view(item).substr(0, open));
            std::stringstream ss(item.substr(open + 1, item.size() - open - 2));
            for (std::string a; std::getline(ss, a, ',');) args.push_back(trim(a));
            for (auto& ch : fn) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            if (fn == "bucket" || fn == "truncate") {
                const char* what = fn == "bucket" ? "bucket count" : "truncate width";
                if (args.size() != 2) return bad("expected " + fn + "(N, column) in '" + item + "'");
                std::int64_t n = 0;
                auto r = std::from_chars(args[0].data(), args[0].data() + args[0].size(), n);
                if (r.ec != std::errc{} || r.ptr != args[0].data() + args[0].size() || n < 1 || n > INT32_MAX)
                    return bad(std::string(what) + " must be 1..2147483647 in '" + item + "'");
                (fn == "bucket" ? f.buckets : f.width) = static_cast<std::int32_t>(n);
                col = args[1];
            } else {
                if (args.size() != 1) return bad("expected " + fn + "(column) in '" + item + "'");
                col = args[0];
            }
        }
        if (col.size() >= 2 && col.front() == '"' && col.back() == '"') col = col.substr(1, col.size() - 2);
        std::size_t ci = out.columns.size();
        for (std::size_t i = 0; i < out.columns.size(); ++i)
            if (out.columns[i].name == col) ci = i;
        if (ci == out.columns.size()) return bad("no column '" + col + "' in the table");
        const auto& t = out.column_types[ci];
        const auto ck = out.columns[ci].type.kind;
        const bool text_form = ck == type_kind::decimal || ck == type_kind::varint || ck == type_kind::inet;
        f.column = ci;
        std::string suffix;
        if (fn == "identity") {
            f.transform = iceberg_transform::identity;
            if (t.empty() || t == "float" || t == "double" || text_form)
                return bad("identity of a " + protocol::to_cql_name(out.columns[ci].type) + " column is not supported");
            f.result_type = t;
        } else if (fn == "bucket") {
            f.transform = iceberg_transform::bucket;
            suffix = "_bucket";
            if (t.empty() || t == "float" || t == "double" || t == "boolean" || text_form)
                return bad("bucket of a " + protocol::to_cql_name(out.columns[ci].type) + " column is not supported");
            f.result_type = "int";
        } else if (fn == "truncate") {
            // The spec's truncate[W] of int, long, string and binary (decimal and varint are strings of our text form
            // here, whose prefixes are not numeric truncations).
            f.transform = iceberg_transform::truncate;
            suffix = "_trunc";
            if (!(t == "int" || t == "long" || t == "string" || t == "binary") || text_form)
                return bad("truncate of a " + protocol::to_cql_name(out.columns[ci].type) +
                           " column is not supported (int types, bigint, text, ascii, blob)");
            f.result_type = t;
        } else if (fn == "year" || fn == "month" || fn == "day" || fn == "hour") {
            f.transform = fn == "year"    ? iceberg_transform::year
                          : fn == "month" ? iceberg_transform::month
                          : fn == "day"   ? iceberg_transform::day
                                          : iceberg_transform::hour;
            suffix = "_" + fn;
            if (!(t == "timestamptz" || (t == "date" && fn != "hour")))
                return bad(fn + "() needs a timestamp" + std::string(fn == "hour" ? "" : " or date") + " column, '" +
                           col + "' is " + protocol::to_cql_name(out.columns[ci].type));
            f.result_type = "int";
        } else {
            return bad("unknown transform '" + fn + "' (bucket, truncate, year, month, day, hour, identity)");
        }
        f.name = col + suffix;
        if (!avro_name_ok(f.name)) return bad("column name '" + col + "' is not a valid Avro name");
        for (const auto& o : out.partition)
            if (o.name == f.name) return bad("'" + f.name + "' twice");
        out.partition.push_back(std::move(f));
    }
    // Source ids: the columns' top-level field ids.
    json_value arr;
    std::string err;
    detail::parse_json(out.schema_fields, arr, err);
    for (auto& f : out.partition) f.source_id = static_cast<std::int32_t>(jint_or(arr.items[f.column].find("id"), 0));

    const auto* specs = md.find("partition-specs");
    out.specs_base = specs ? jtext(*specs) : "[]";
    out.last_partition_id = static_cast<std::int32_t>(jint_or(md.find("last-partition-id"), 999));
    std::int32_t max_spec = -1;
    bool matched = false;
    if (specs && specs->type == jk::array)
        for (const auto& sp : specs->items) {
            const auto sid = static_cast<std::int32_t>(jint_or(sp.find("spec-id"), 0));
            max_spec = std::max(max_spec, sid);
            const auto* fl = sp.find("fields");
            if (!fl || fl->type != jk::array || fl->items.size() != out.partition.size()) continue;
            bool same = true;
            for (std::size_t i = 0; i < fl->items.size() && same; ++i) {
                const auto& x = fl->items[i];
                const auto* n = x.find("name");
                const auto* tr = x.find("transform");
                same = jint_or(x.find("source-id"), -1) == out.partition[i].source_id && n && n->type == jk::string &&
                       n->text == out.partition[i].name && tr && tr->type == jk::string &&
                       tr->text == out.partition[i].transform_text();
            }
            if (!same) continue;
            matched = true;
            out.spec_id = sid;
            out.new_spec = false;
            for (std::size_t i = 0; i < fl->items.size(); ++i)
                out.partition[i].field_id = static_cast<std::int32_t>(jint_or(fl->items[i].find("field-id"), 0));
            break;
        }
    if (!matched) {
        out.new_spec = true;
        out.spec_id = max_spec + 1;
        std::int32_t next = out.last_partition_id;
        for (auto& f : out.partition) f.field_id = ++next;
        out.last_partition_id = next;
    }
    std::string fields = "[";
    for (std::size_t i = 0; i < out.partition.size(); ++i) {
        const auto& f = out.partition[i];
        if (i) fields += ',';
        fields += R"({"name":)";
        detail::append_json_string(fields, f.name);
        fields += R"(,"transform":")" + f.transform_text() + R"(","source-id":)" + std::to_string(f.source_id) +
                  R"(,"field-id":)" + std::to_string(f.field_id) + "}";
    }
    out.spec_fields = fields + "]";
    return {};
}

}  // namespace

status iceberg_plan_write(const fs::path& location, const std::vector<protocol::column_spec>& columns,
                          iceberg_write_plan& out, std::string_view partition_by) {
    out = iceberg_write_plan{};
    std::error_code ec;
    out.location = fs::absolute(location, ec).lexically_normal();
    if (ec) return {errc::io_error, location.string() + ": " + ec.message()};
    out.columns = columns;
    json_value md;
    if (auto st = read_metadata(out.location, out.base_version, md); !st) return st;
    std::int32_t last = static_cast<std::int32_t>(jint_or(md.find("last-column-id"), 0));
    out.base_last_column_id = last;
    std::map<std::string, const json_value*> old;
    if (const auto* cs = current_schema(md))
        if (const auto* f = cs->find("fields"); f && f->type == jk::array)
            for (const auto& fld : f->items)
                if (const auto* n = fld.find("name"); n && n->type == jk::string) old[n->text] = &fld;

    std::vector<json_value> fields(columns.size());
    std::vector<bool> fresh(columns.size(), true);
    for (std::size_t i = 0; i < columns.size(); ++i) {
        auto it = old.find(columns[i].name);
        if (it == old.end()) continue;
        const auto* ot = it->second->find("type");
        std::int64_t oid = 0;
        if (!ot || !jint(it->second->find("id"), oid)) continue;
        std::vector<std::int32_t> nested;
        collect_ids(*ot, nested);
        id_source ids{&nested};
        auto t = iceberg_type(columns[i].type, ids);
        // Same name and the same type (ids included): the column keeps its id.
        if (ids.ok && ids.pos == nested.size() && jtext(t) == jtext(*ot)) {
            fields[i] = field(static_cast<std::int32_t>(oid), columns[i].name, false, std::move(t));
            fresh[i] = false;
        }
    }
    std::vector<std::int32_t> top(columns.size());
    for (std::size_t i = 0; i < columns.size(); ++i)
        if (fresh[i]) top[i] = ++last;  // new columns first, then their nested fields
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (!fresh[i]) continue;
        id_source ids{nullptr, 0, &last};
        fields[i] = field(top[i], columns[i].name, false, iceberg_type(columns[i].type, ids));
    }
    out.last_column_id = last;
    auto arr = jarr();
    for (auto& f : fields) {
        out.field_ids.push_back(static_cast<std::int32_t>(jint_or(f.find("id"), -1)));
        collect_ids(*f.find("type"), out.field_ids);
        arr.items.push_back(std::move(f));
    }
    out.schema_fields = jtext(arr);
    std::int32_t max_id = -1;
    if (const auto* schemas = md.find("schemas"); schemas && schemas->type == jk::array)
        for (const auto& s : schemas->items) {
            const auto sid = static_cast<std::int32_t>(jint_or(s.find("schema-id"), 0));
            max_id = std::max(max_id, sid);
            if (const auto* f = s.find("fields"); f && out.new_schema && jtext(*f) == out.schema_fields) {
                out.schema_id = sid;
                out.new_schema = false;
            }
        }
    if (out.new_schema) out.schema_id = max_id + 1;
    for (const auto& f : arr.items) {
        const auto* t = f.find("type");
        out.column_types.push_back(t && t->type == jk::string ? t->text : std::string());
    }
    return plan_partition_spec(md, partition_by, out);
}

namespace {
// The pause after the attempt-th lost race: 10 ms doubling to at most 2 s,
// each a random 50-100% of that (about 25 s over all 20 attempts at most).
void commit_backoff(int attempt) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    const double cap = std::min(2000.0, 10.0 * std::ldexp(1.0, std::min(attempt - 1, 16)));
    const double ms = cap * std::uniform_real_distribution<double>(0.5, 1.0)(rng);
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long>(ms * 1000)));
}
}  // namespace

status iceberg_commit(const iceberg_write_plan& plan, const std::vector<iceberg_data_file>& files, iceberg_mode mode,
                      iceberg_commit_result& out, std::string_view job) {
    out = iceberg_commit_result{};
    const fs::path meta_dir = plan.location / "metadata";
    std::error_code ec;
    fs::create_directories(meta_dir, ec);
    if (ec) return {errc::io_error, meta_dir.string() + ": " + ec.message()};

    std::int64_t snapshot_id = 0;
    {
        std::random_device rd;
        snapshot_id = static_cast<std::int64_t>((std::uint64_t(rd()) << 32 | rd()) & 0x7FFFFFFFFFFFFFFFull);
        if (snapshot_id == 0) snapshot_id = 1;
    }
    json_value schema_json;
    {
        std::string err;
        std::string text = R"({"type":"struct","schema-id":)" + std::to_string(plan.schema_id) + R"(,"fields":)" +
                           plan.schema_fields + "}";
        if (!detail::parse_json(text, schema_json, err)) return {errc::bad_iceberg, "schema: " + err};
    }

    // The manifest of the new files: entries ADDED (1) by this snapshot, their
    // sequence numbers inherited from the manifest list (null here).
    std::int64_t added_rows = 0, added_bytes = 0;
    std::string records;
    for (const auto& f : files) {
        using namespace detail;
        avro_long(records, 1);
        avro_branch(records, 1);
        avro_long(records, snapshot_id);
        avro_branch(records, 0);
        avro_branch(records, 0);
        avro_long(records, 0);  // content: data
        avro_bytes(records, fs::absolute(f.path).lexically_normal().string());
        avro_bytes(records, "PARQUET");
        encode_partition(records, plan.partition, f.stats.partition);
        avro_long(records, static_cast<std::int64_t>(f.rows));
        avro_long(records, static_cast<std::int64_t>(f.bytes));
        encode_metrics(records, f.stats);
        added_rows += static_cast<std::int64_t>(f.rows);
        added_bytes += static_cast<std::int64_t>(f.bytes);
    }
    const std::string manifest_path = (meta_dir / (new_uuid() + "-m0.avro")).string();
    {
        for (const auto& f : files)
            if (f.stats.partition.size() != plan.partition.size())
                return {errc::bad_iceberg, f.path.string() + ": partition tuple does not match the partition spec"};
        const detail::avro_metadata meta = {{"schema", jtext(schema_json)},
                                            {"schema-id", std::to_string(plan.schema_id)},
                                            {"partition-spec", plan.spec_fields},
                                            {"partition-spec-id", std::to_string(plan.spec_id)},
                                            {"format-version", "2"},
                                            {"content", "data"}};
        auto bytes = detail::avro_container(manifest_entry_schema(plan.partition), meta, files.size(), records);
        if (auto st = write_synced(manifest_path, bytes, true); !st) return st;
    }
    const auto manifest_len = static_cast<std::int64_t>(fs::file_size(manifest_path, ec));
    // The manifest list's summary of the new manifest's partition values (an
    // empty list for an unpartitioned spec).
    const auto partitions = summarize_partitions(plan.partition, files);

    for (int attempt = 1; attempt <= 20; ++attempt) {
        out.attempts = attempt;
        std::uint64_t version = 0;
        json_value md;
        if (auto st = read_metadata(plan.location, version, md); !st) return st;
        // The job in a snapshot of the version we build on: committed already
        // (by a concurrent commit, or by one that stopped before saying so).
        if (const auto* snaps = md.find("snapshots"); !job.empty() && snaps && snaps->type == jk::array)
            for (const auto& sn : snaps->items) {
                const auto* sum = sn.find("summary");
                const auto* j = sum ? sum->find("cqlpp.job") : nullptr;
                if (j && j->type == jk::string && j->text == job) {
                    fs::remove(manifest_path, ec);
                    out.already_committed = true;
                    out.snapshot_id = jint_or(sn.find("snapshot-id"), 0);
                    out.sequence_number = jint_or(sn.find("sequence-number"), 0);
                    out.version = version;
                    return {};
                }
            }
        // The plan's ids were made from version plan.base_version: a schema
        // added since then may have given the same ids to other columns.
        if (version != plan.base_version) {
            bool exists = false, same = false;
            if (const auto* schemas = md.find("schemas"); schemas && schemas->type == jk::array)
                for (const auto& sc : schemas->items)
                    if (jint_or(sc.find("schema-id"), -1) == plan.schema_id) {
                        exists = true;
                        same = sc.find("fields") && jtext(*sc.find("fields")) == plan.schema_fields;
                    }
            const bool fits = same || (plan.new_schema && !exists &&
                                       jint_or(md.find("last-column-id"), 0) == plan.base_last_column_id);
            if (!fits) {
                fs::remove(manifest_path, ec);
                return {errc::commit_conflict, "the table's schema changed since the unload started; unload again"};
            }
        }
        const std::int64_t seq = jint_or(md.find("last-sequence-number"), 0) + 1;
        const std::int64_t parent = current_snapshot_id(md);
        std::vector<manifest_ref> manifests;
        // Likewise the partition spec: ours must be in the table as planned.
        if (const auto* specs = md.find("partition-specs"); version != plan.base_version &&
                                                            (specs ? jtext(*specs) : "[]") != plan.specs_base) {
            bool same = false, exists = false;
            if (specs && specs->type == jk::array)
                for (const auto& sp : specs->items)
                    if (jint_or(sp.find("spec-id"), -1) == plan.spec_id) {
                        exists = true;
                        same = sp.find("fields") && jtext(*sp.find("fields")) == plan.spec_fields;
                    }
            if (!same && (exists || !plan.new_spec ||
                          jint_or(md.find("last-partition-id"), 999) + static_cast<std::int64_t>(plan.partition.size()) !=
                              plan.last_partition_id)) {
                fs::remove(manifest_path, ec);
                return {errc::commit_conflict, "the table's partition specs changed since the unload started; unload again"};
            }
        }
        manifests.push_back({manifest_path, manifest_len, seq, seq, snapshot_id, plan.spec_id, 0,
                             static_cast<std::int64_t>(files.size()), 0, 0, added_rows, 0, 0, partitions});
        if (mode == iceberg_mode::append && parent >= 0) {
            const auto* ps = find_snapshot(md, parent);
            const auto* ml = ps ? ps->find("manifest-list") : nullptr;
            if (!ml || ml->type != jk::string)
                return {errc::bad_iceberg, "current snapshot " + std::to_string(parent) + " has no manifest-list"};
            if (auto st = read_manifest_list(ml->text, manifests); !st) return st;
        }
        std::int64_t total_files = 0, total_rows = 0;
        std::string list_records;
        for (const auto& m : manifests) {
            encode_manifest_ref(list_records, m);
            if (m.content == 0) {
                total_files += m.added_files + m.existing_files;
                total_rows += m.added_rows + m.existing_rows;
            }
        }
        const std::string list_path =
            (meta_dir / ("snap-" + std::to_string(snapshot_id) + "-" + std::to_string(attempt) + "-" + new_uuid() + ".avro"))
                .string();
        {
            const detail::avro_metadata meta = {{"snapshot-id", std::to_string(snapshot_id)},
                                                {"parent-snapshot-id", parent >= 0 ? std::to_string(parent) : "null"},
                                                {"sequence-number", std::to_string(seq)},
                                                {"format-version", "2"}};
            auto bytes = detail::avro_container(manifest_file_schema, meta, manifests.size(), list_records);
            if (auto st = write_synced(list_path, bytes, true); !st) return st;
        }

        const std::int64_t prev_updated = jint_or(md.find("last-updated-ms"), 0);
        const std::int64_t ts = std::max(now_ms(), prev_updated + 1);  // snapshot times strictly increase
        auto nm = jobj();
        jset(nm, "format-version", jnum(2));
        const auto* uuid = md.find("table-uuid");
        jset(nm, "table-uuid", uuid && uuid->type == jk::string ? *uuid : jstr(new_uuid()));
        jset(nm, "location", jstr(plan.location.string()));
        jset(nm, "last-sequence-number", jnum(seq));
        jset(nm, "last-updated-ms", jnum(ts));
        jset(nm, "last-column-id",
             jnum(std::max<std::int64_t>(plan.last_column_id, jint_or(md.find("last-column-id"), 0))));
        auto schemas = array_or_empty(md, "schemas");
        bool have = false;
        for (const auto& s : schemas.items) have = have || jint_or(s.find("schema-id"), -1) == plan.schema_id;
        if (!have) schemas.items.push_back(schema_json);
        jset(nm, "schemas", std::move(schemas));
        jset(nm, "current-schema-id", jnum(plan.schema_id));
        {
            // The table's specs, plus ours when it is new; it becomes the default.
            auto specs = array_or_empty(md, "partition-specs");
            bool have_spec = false;
            for (const auto& sp : specs.items) have_spec = have_spec || jint_or(sp.find("spec-id"), -1) == plan.spec_id;
            if (!have_spec) {
                json_value spec;
                std::string err;
                detail::parse_json(R"({"spec-id":)" + std::to_string(plan.spec_id) + R"(,"fields":)" + plan.spec_fields + "}",
                                   spec, err);
                specs.items.push_back(std::move(spec));
            }
            jset(nm, "partition-specs", std::move(specs));
            jset(nm, "default-spec-id", jnum(plan.spec_id));
            // Partition field ids start at 1000 (999: none yet).
            jset(nm, "last-partition-id",
                 jnum(std::max<std::int64_t>(plan.last_partition_id, jint_or(md.find("last-partition-id"), 999))));
        }
        if (const auto* so = md.find("sort-orders"); so && so->type == jk::array) {
            jset(nm, "sort-orders", *so);
            jset(nm, "default-sort-order-id", jnum(jint_or(md.find("default-sort-order-id"), 0)));
        } else {
            json_value so2;
            std::string err;
            detail::parse_json(R"([{"order-id":0,"fields":[]}])", so2, err);
            jset(nm, "sort-orders", std::move(so2));
            jset(nm, "default-sort-order-id", jnum(0));
        }
        auto props = md.find("properties") && md.find("properties")->type == jk::object ? *md.find("properties") : jobj();
        jset(props, "write.format.default", jstr("parquet"));
        jset(nm, "properties", std::move(props));
        jset(nm, "current-snapshot-id", jnum(snapshot_id));

        auto snap = jobj();
        jset(snap, "snapshot-id", jnum(snapshot_id));
        if (parent >= 0) jset(snap, "parent-snapshot-id", jnum(parent));
        jset(snap, "sequence-number", jnum(seq));
        jset(snap, "timestamp-ms", jnum(ts));
        jset(snap, "manifest-list", jstr(list_path));
        auto summary = jobj();
        jset(summary, "operation", jstr(mode == iceberg_mode::append ? "append" : "overwrite"));
        jset(summary, "added-data-files", jstr(std::to_string(files.size())));
        jset(summary, "added-records", jstr(std::to_string(added_rows)));
        jset(summary, "added-files-size", jstr(std::to_string(added_bytes)));
        if (!job.empty()) jset(summary, "cqlpp.job", jstr(std::string(job)));
        if (mode == iceberg_mode::overwrite && parent >= 0) {
            const auto* ps = find_snapshot(md, parent);
            const auto* psum = ps ? ps->find("summary") : nullptr;
            const auto* tr = psum ? psum->find("total-records") : nullptr;
            const auto* tf = psum ? psum->find("total-data-files") : nullptr;
            if (tr && tr->type == jk::string) jset(summary, "deleted-records", *tr);
            if (tf && tf->type == jk::string) jset(summary, "deleted-data-files", *tf);
        }
        jset(summary, "total-data-files", jstr(std::to_string(total_files)));
        jset(summary, "total-records", jstr(std::to_string(total_rows)));
        jset(summary, "total-delete-files", jstr("0"));
        jset(summary, "total-position-deletes", jstr("0"));
        jset(summary, "total-equality-deletes", jstr("0"));
        jset(snap, "summary", std::move(summary));
        jset(snap, "schema-id", jnum(plan.schema_id));
        auto snaps = array_or_empty(md, "snapshots");
        snaps.items.push_back(std::move(snap));
        jset(nm, "snapshots", std::move(snaps));
        auto slog = array_or_empty(md, "snapshot-log");
        auto sl = jobj();
        jset(sl, "timestamp-ms", jnum(ts));
        jset(sl, "snapshot-id", jnum(snapshot_id));
        slog.items.push_back(std::move(sl));
        jset(nm, "snapshot-log", std::move(slog));
        auto mlog = array_or_empty(md, "metadata-log");
        if (version > 0) {
            auto e = jobj();
            jset(e, "timestamp-ms", jnum(prev_updated));
            jset(e, "metadata-file", jstr(metadata_file(plan.location, version).string()));
            mlog.items.push_back(std::move(e));
        }
        jset(nm, "metadata-log", std::move(mlog));
        auto refs = jobj();
        auto main = jobj();
        jset(main, "snapshot-id", jnum(snapshot_id));
        jset(main, "type", jstr("branch"));
        jset(refs, "main", std::move(main));
        jset(nm, "refs", std::move(refs));

        // Commit: the new version appears complete (written and synced under a
        // temporary name) and only if no other writer created it first: link()
        // fails with EEXIST where rename() would replace.
        const auto target = metadata_file(plan.location, version + 1);
        const auto tmp = meta_dir / (".v" + std::to_string(version + 1) + "." + new_uuid() + ".metadata.json.tmp");
        if (auto st = write_synced(tmp, jtext(nm), true); !st) return st;
        const int rc = ::link(tmp.c_str(), target.c_str());
        const int err = errno;
        fs::remove(tmp, ec);
        if (rc != 0) {
            fs::remove(list_path, ec);
            if (err == EEXIST) {
                // Another writer took version+1: re-read and retry, after a
                // randomised, growing pause, so that writers that keep
                // colliding spread out instead of racing in step.
                commit_backoff(attempt);
                continue;
            }
            return {errc::io_error, target.string() + ": " + std::strerror(err)};
        }
        sync_dir(meta_dir);
        // The hint is advisory (readers look past it), so a plain replace is fine.
        const auto hint_tmp = meta_dir / (".version-hint." + new_uuid() + ".tmp");
        if (write_synced(hint_tmp, std::to_string(version + 1), true).ok())
            fs::rename(hint_tmp, meta_dir / "version-hint.text", ec);
        sync_dir(meta_dir);
        out.snapshot_id = snapshot_id;
        out.sequence_number = seq;
        out.version = version + 1;
        out.total_files = static_cast<std::uint64_t>(total_files);
        out.total_rows = static_cast<std::uint64_t>(total_rows);
        return {};
    }
    fs::remove(manifest_path, ec);
    out.lost_to_writers = true;
    return {errc::commit_conflict, "gave up after 20 attempts: other writers kept committing first"};
}

status iceberg_read_table(const fs::path& location, iceberg_table_info& out) {
    out = iceberg_table_info{};
    json_value md;
    if (auto st = read_metadata(location, out.version, md); !st) return st;
    if (out.version == 0) return {errc::bad_iceberg, location.string() + ": no Iceberg table (no metadata/vN.metadata.json)"};
    out.format_version = static_cast<int>(jint_or(md.find("format-version"), 1));
    if (const auto* u = md.find("table-uuid"); u && u->type == jk::string) out.uuid = u->text;
    if (const auto* l = md.find("location"); l && l->type == jk::string) out.location = l->text;
    if (auto c = current_snapshot_id(md); c >= 0) out.current_snapshot = c;
    out.current_schema_id = static_cast<std::int32_t>(jint_or(md.find("current-schema-id"), 0));
    if (const auto* s = current_schema(md)) out.current_schema = jtext(*s);
    if (const auto* s = md.find("schemas"); s && s->type == jk::array) {
        out.schema_count = static_cast<std::int32_t>(s->items.size());
        for (const auto& x : s->items)
            out.schemas.emplace_back(static_cast<std::int32_t>(jint_or(x.find("schema-id"), 0)), jtext(x));
    } else if (const auto* v1 = md.find("schema"); v1 && v1->type == jk::object) {
        out.schemas.emplace_back(static_cast<std::int32_t>(jint_or(v1->find("schema-id"), 0)), jtext(*v1));
    }
    if (const auto* s = md.find("partition-specs"); s && s->type == jk::array) out.partition_specs = jtext(*s);
    out.default_spec_id = static_cast<std::int32_t>(jint_or(md.find("default-spec-id"), 0));
    if (const auto* s = md.find("sort-orders"); s && s->type == jk::array) out.sort_orders = jtext(*s);
    out.default_sort_order_id = static_cast<std::int32_t>(jint_or(md.find("default-sort-order-id"), 0));
    out.last_updated_ms = jint_or(md.find("last-updated-ms"), 0);
    if (const auto* snaps = md.find("snapshots"); snaps && snaps->type == jk::array)
        for (const auto& s : snaps->items) {
            iceberg_snapshot x;
            if (!jint(s.find("snapshot-id"), x.id)) return {errc::bad_iceberg, "snapshot without snapshot-id"};
            std::int64_t p = 0;
            if (jint(s.find("parent-snapshot-id"), p)) x.parent = p;
            x.sequence_number = jint_or(s.find("sequence-number"), 0);
            x.timestamp_ms = jint_or(s.find("timestamp-ms"), 0);
            if (const auto* ml = s.find("manifest-list"); ml && ml->type == jk::string) x.manifest_list = ml->text;
            std::int64_t sid = 0;
            if (jint(s.find("schema-id"), sid)) x.schema_id = static_cast<std::int32_t>(sid);
            if (const auto* sum = s.find("summary"); sum && sum->type == jk::object)
                for (std::size_t i = 0; i < sum->keys.size(); ++i) {
                    const auto& v = sum->items[i];
                    if (sum->keys[i] == "operation") x.operation = v.text;
                    else x.summary.emplace_back(sum->keys[i], v.type == jk::string ? v.text : jtext(v));
                }
            out.snapshots.push_back(std::move(x));
        }
    return {};
}

status iceberg_select_snapshot(const iceberg_table_info& t, std::optional<std::int64_t> id,
                               std::optional<std::int64_t> as_of_ms, std::int64_t& out) {
    if (id) {
        for (const auto& s : t.snapshots)
            if (s.id == *id) {
                out = s.id;
                return {};
            }
        return {errc::bad_iceberg, "no snapshot " + std::to_string(*id)};
    }
    if (as_of_ms) {
        const iceberg_snapshot* best = nullptr;
        for (const auto& s : t.snapshots)
            if (s.timestamp_ms <= *as_of_ms && (!best || s.timestamp_ms >= best->timestamp_ms)) best = &s;
        if (!best) return {errc::bad_iceberg, "no snapshot at or before " + std::to_string(*as_of_ms) + " ms"};
        out = best->id;
        return {};
    }
    if (!t.current_snapshot) return {errc::bad_iceberg, "the table has no current snapshot"};
    out = *t.current_snapshot;
    return {};
}

status iceberg_snapshot_files(const fs::path& location, const iceberg_table_info& t, std::int64_t snapshot_id,
                              std::vector<iceberg_data_file>& out) {
    (void)location;
    out.clear();
    const iceberg_snapshot* snap = nullptr;
    for (const auto& s : t.snapshots)
        if (s.id == snapshot_id) snap = &s;
    if (!snap || snap->manifest_list.empty())
        return {errc::bad_iceberg, "snapshot " + std::to_string(snapshot_id) + " has no manifest-list"};
    std::vector<manifest_ref> manifests;
    if (auto st = read_manifest_list(snap->manifest_list, manifests); !st) return st;
    for (const auto& m : manifests) {
        if (m.content != 0)
            return {errc::bad_iceberg, m.path + ": delete manifests (row-level deletes) are not supported"};
        detail::avro_file f;
        if (auto st = read_avro(strip_scheme(m.path), f); !st) return st;
        for (const auto& e : f.records.items) {
            if (jint_or(e.find("status"), 1) == 2) continue;  // DELETED
            const auto* df = e.find("data_file");
            const auto* p = df ? df->find("file_path") : nullptr;
            const auto* fmt = df ? df->find("file_format") : nullptr;
            if (!p || p->type != jk::string) return {errc::bad_iceberg, m.path + ": entry without data_file.file_path"};
            if (jint_or(df->find("content"), 0) != 0)
                return {errc::bad_iceberg, p->text + ": delete files are not supported"};
            if (fmt && fmt->type == jk::string) {
                std::string f2 = fmt->text;
                for (auto& ch : f2) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
                if (f2 != "PARQUET") return {errc::bad_iceberg, p->text + ": " + fmt->text + " data files are not supported"};
            }
            iceberg_data_file d;
            d.path = strip_scheme(p->text);
            d.rows = static_cast<std::uint64_t>(jint_or(df->find("record_count"), 0));
            d.bytes = static_cast<std::uint64_t>(jint_or(df->find("file_size_in_bytes"), 0));
            out.push_back(std::move(d));
        }
    }
    return {};
}

bool parse_iceberg_time(const std::string& s, std::int64_t& ms) {
    if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        auto r = std::from_chars(s.data(), s.data() + s.size(), ms);
        return r.ec == std::errc{};
    }
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    int n = 0;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return false;
    std::size_t i = 10;
    std::int64_t frac_ms = 0;
    if (i < s.size() && (s[i] == 'T' || s[i] == ' ')) {
        int m = 0;
        if (std::sscanf(s.c_str() + i + 1, "%2d:%2d:%2d%n", &h, &mi, &sec, &m) != 3 || m != 8) return false;
        i += 9;
        if (i < s.size() && s[i] == '.') {
            int digits = 0;
            ++i;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
                if (digits < 3) frac_ms = frac_ms * 10 + (s[i] - '0');
                ++digits;
                ++i;
            }
            if (digits == 0) return false;
            for (int k = digits; k < 3; ++k) frac_ms *= 10;
        }
    }
    std::int64_t offset_min = 0;
    if (i < s.size()) {
        if (s[i] == 'Z' && i + 1 == s.size()) {
            ++i;
        } else if ((s[i] == '+' || s[i] == '-') && s.size() - i == 6 && s[i + 3] == ':') {
            int oh = 0, om = 0;
            if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return false;
            offset_min = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
            i = s.size();
        } else {
            return false;
        }
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
    // Days from civil (proleptic Gregorian).
    const int yy = y - (mo <= 2);
    const int era = (yy >= 0 ? yy : yy - 399) / 400;
    const int yoe = yy - era * 400;
    const int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
    ms = ((days * 24 + h) * 60 + mi) * 60000 + sec * 1000 + frac_ms - offset_min * 60000;
    return true;
}


// ---- Partitioning ----

std::string iceberg_partition_field::transform_text() const {
    switch (transform) {
        case iceberg_transform::identity: return "identity";
        case iceberg_transform::bucket: return "bucket[" + std::to_string(buckets) + "]";
        case iceberg_transform::truncate: return "truncate[" + std::to_string(width) + "]";
        case iceberg_transform::year: return "year";
        case iceberg_transform::month: return "month";
        case iceberg_transform::day: return "day";
        case iceberg_transform::hour: return "hour";
    }
    return "identity";
}

std::int32_t iceberg_murmur3_32(std::string_view bytes) noexcept {
    constexpr std::uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
    auto rotl = [](std::uint32_t x, int r) { return (x << r) | (x >> (32 - r)); };
    std::uint32_t h = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::size_t n = bytes.size(), blocks = n / 4;
    for (std::size_t i = 0; i < blocks; ++i) {
        std::uint32_t k = std::uint32_t(p[4 * i]) | std::uint32_t(p[4 * i + 1]) << 8 | std::uint32_t(p[4 * i + 2]) << 16 |
                          std::uint32_t(p[4 * i + 3]) << 24;
        k *= c1;
        k = rotl(k, 15);
        k *= c2;
        h ^= k;
        h = rotl(h, 13);
        h = h * 5 + 0xe6546b64;
    }
    std::uint32_t k = 0;
    const auto* tail = p + blocks * 4;
    switch (n & 3) {
        case 3: k ^= std::uint32_t(tail[2]) << 16; [[fallthrough]];
        case 2: k ^= std::uint32_t(tail[1]) << 8; [[fallthrough]];
        case 1:
            k ^= tail[0];
            k *= c1;
            k = rotl(k, 15);
            k *= c2;
            h ^= k;
    }
    h ^= static_cast<std::uint32_t>(n);
    h ^= h >> 16;
    h *= 0x85ebca6b;
    h ^= h >> 13;
    h *= 0xc2b2ae35;
    h ^= h >> 16;
    return static_cast<std::int32_t>(h);
}

namespace {

bool bucket_hash(ice_type type, const prim& v, std::int32_t& hash) {
    std::int64_t x = 0;
    if (iceberg_integer(type, v, x)) {  // ints, longs, dates, times, timestamps: hashLong of the spec's integer form
        char b[8];
        for (int k = 0; k < 8; ++k) b[k] = static_cast<char>((static_cast<std::uint64_t>(x) >> (8 * k)) & 0xFF);
        hash = iceberg_murmur3_32({b, 8});
        return true;
    }
    // uuid: wire order is big-endian, as the spec hashes it
    if ((type == ice_type::string && v.kind == prim::k::string) || (type == ice_type::binary && v.kind == prim::k::blob) ||
        (type == ice_type::uuid && v.kind == prim::k::uuid)) {
        hash = iceberg_murmur3_32(v.s);
        return true;
    }
    return false;
}

// One partition field's value from its source column's value.
void partition_value(const iceberg_partition_field& f, ice_type src, const prim& v, iceberg_partition_value& o) {
    o.null = true;  // reused row after row: keep the string's capacity
    o.i = 0;
    o.s.clear();
    if (v.kind == prim::k::none) return;
    std::int64_t x = 0;
    switch (f.transform) {
        case iceberg_transform::bucket: {
            std::int32_t h = 0;
            if (!bucket_hash(src, v, h)) return;
            o.i = (h & 0x7FFFFFFF) % f.buckets;
            break;
        }
        case iceberg_transform::truncate:
            if (src == ice_type::string || src == ice_type::binary) {
                if (v.kind != (src == ice_type::string ? prim::k::string : prim::k::blob)) return;
                // The first W code points of a string, the first W bytes of binary.
                o.s.assign(v.s.substr(0, src == ice_type::string ? utf8_prefix_len(v.s, static_cast<std::size_t>(f.width))
                                                                 : static_cast<std::size_t>(f.width)));
            } else if (iceberg_integer(src, v, x)) {
                // v - (((v % W) + W) % W) in the source's width, wrapping as the spec's reference
                // implementation (Java int/long arithmetic) does at the ends of the range.
                if (src == ice_type::int_) {
                    const auto w = f.width, iv = static_cast<std::int32_t>(x);
                    const auto sum = static_cast<std::int32_t>(static_cast<std::uint32_t>(iv % w) + static_cast<std::uint32_t>(w));
                    o.i = static_cast<std::int32_t>(static_cast<std::uint32_t>(iv) - static_cast<std::uint32_t>(sum % w));
                } else {
                    const std::int64_t w = f.width;
                    o.i = static_cast<std::int64_t>(static_cast<std::uint64_t>(x) -
                                                    static_cast<std::uint64_t>(((x % w) + w) % w));
                }
            } else {
                return;
            }
            break;
        case iceberg_transform::identity:
            if (src == ice_type::boolean) {
                if (v.kind != prim::k::boolean) return;
                o.i = v.i;
            } else if (src == ice_type::string || src == ice_type::binary || src == ice_type::uuid) {
                const auto want = src == ice_type::string ? prim::k::string
                                  : src == ice_type::binary ? prim::k::blob
                                                            : prim::k::uuid;
                if (v.kind != want) return;
                o.s.assign(v.s);
            } else if (!iceberg_integer(src, v, o.i)) {
                return;
            }
            break;
        default: {
            if (!iceberg_integer(src, v, x)) return;
            // Days (dates) or microseconds (timestamps) -> the transform's unit.
            const std::int64_t days = src == ice_type::date ? x : floor_div(x, ms_per_day * 1000);
            if (f.transform == iceberg_transform::day) o.i = days;
            else if (f.transform == iceberg_transform::hour) o.i = floor_div(x, std::int64_t(3'600'000'000));
            else {
                std::int64_t y = 0;
                unsigned m = 0, d = 0;
                civil_from_days(days, y, m, d);
                o.i = f.transform == iceberg_transform::year ? y - 1970 : (y - 1970) * 12 + (m - 1);
            }
        }
    }
    o.null = false;
}

}  // namespace

bool iceberg_bucket_hash(std::string_view type, const protocol::cql_value& v, std::int32_t& hash) {
    return bucket_hash(ice_type_of(type), prim_of(v), hash);
}

void iceberg_partition_of(const iceberg_write_plan& plan, std::span<const protocol::cql_value> row,
                          std::vector<iceberg_partition_value>& out) {
    out.resize(plan.partition.size());
    for (std::size_t i = 0; i < plan.partition.size(); ++i) {
        const auto& f = plan.partition[i];
        const prim v = f.column < row.size() ? prim_of(row[f.column]) : prim{};
        partition_value(f, ice_type_of(plan.column_types[f.column]), v, out[i]);
    }
}

bool iceberg_partition_of(const iceberg_write_plan& plan, std::span<const protocol::value_view> cells,
                          std::vector<iceberg_partition_value>& out) {
    out.resize(plan.partition.size());
    prim v;
    for (std::size_t i = 0; i < plan.partition.size(); ++i) {
        const auto& f = plan.partition[i];
        v = {};
        if (f.column < cells.size() && !prim_of(plan.columns[f.column].type, cells[f.column], v)) return false;
        partition_value(f, ice_type_of(plan.column_types[f.column]), v, out[i]);
    }
    return true;
}

std::string iceberg_partition_text(const iceberg_write_plan& plan, const std::vector<iceberg_partition_value>& p) {
    std::string s;
    char buf[64];
    for (std::size_t i = 0; i < plan.partition.size() && i < p.size(); ++i) {
        const auto& f = plan.partition[i];
        if (i) s += '/';
        s += f.name + "=";
        if (p[i].null) {
            s += "null";
            continue;
        }
        std::int64_t y = 0;
        unsigned m = 0, d = 0;
        const bool is_date = f.transform == iceberg_transform::day ||
                             (f.transform == iceberg_transform::identity && f.result_type == "date");
        if (is_date) {
            civil_from_days(p[i].i, y, m, d);
            std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
            s += buf;
        } else if (f.transform == iceberg_transform::month) {
            y = 1970 + floor_div(p[i].i, 12);
            std::snprintf(buf, sizeof buf, "%04lld-%02lld", static_cast<long long>(y),
                          static_cast<long long>(p[i].i - floor_div(p[i].i, 12) * 12 + 1));
            s += buf;
        } else if (f.transform == iceberg_transform::year) {
            s += std::to_string(1970 + p[i].i);
        } else if (f.transform == iceberg_transform::hour) {
            civil_from_days(floor_div(p[i].i, 24), y, m, d);
            std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u-%02lld", static_cast<long long>(y), m, d,
                          static_cast<long long>(p[i].i - floor_div(p[i].i, 24) * 24));
            s += buf;
        } else if (f.result_type == "string") {
            s += p[i].s;
        } else if (f.result_type == "binary" || f.result_type == "uuid") {
            s += to_hex(p[i].s);
        } else if (f.result_type == "boolean") {
            s += p[i].i ? "true" : "false";
        } else {
            s += std::to_string(p[i].i);
        }
    }
    return s;
}

// ---- Metrics ----

iceberg_metrics_builder::iceberg_metrics_builder(const iceberg_write_plan& plan) {
    for (std::size_t i = 0; i < plan.columns.size() && i < plan.column_types.size(); ++i) {
        const auto& t = plan.column_types[i];
        if (t.empty()) continue;  // nested: no metrics
        int kind = m_counts;
        const auto ck = plan.columns[i].type.kind;
        if (t == "int" || t == "date") kind = m_int4;
        else if (t == "long" || t == "time" || t == "timestamptz") kind = m_int8;
        else if (t == "float") kind = m_float;
        else if (t == "double") kind = m_double;
        else if (t == "boolean") kind = m_bool;
        else if (t == "string" && (ck == type_kind::text || ck == type_kind::ascii)) kind = m_string;
        else if (t == "binary" && ck == type_kind::blob) kind = m_binary;
        // uuid (engines disagree on its order), decimal/varint/inet (strings of
        // our own text form): counts only.
        col c;
        c.index = i;
        c.kind = kind;
        c.itype = static_cast<int>(ice_type_of(t));
        c.type = plan.columns[i].type;
        c.empty_is_null = protocol::zero_length_is_empty(c.type);
        cols_.push_back(std::move(c));
    }
    // The top-level field ids, in column order, from the plan's id list (pre-order).
    std::vector<std::int32_t> top;
    json_value arr;
    std::string err;
    if (detail::parse_json(plan.schema_fields, arr, err) && arr.type == jk::array)
        for (const auto& f : arr.items) top.push_back(static_cast<std::int32_t>(jint_or(f.find("id"), 0)));
    for (auto& c : cols_) c.id = c.index < top.size() ? top[c.index] : 0;
}

namespace {

// Bounds of a metrics column, by what its values compare as.
template <class Col>
void int_bound(Col& c, std::int64_t x) {
    if (!c.have || x < c.imin) c.imin = x;
    if (!c.have || x > c.imax) c.imax = x;
    c.have = true;
}

template <class Col>
void float_bound(Col& c, double x) {
    if (std::isnan(x)) {  // counted apart; bounds exclude NaN
        ++c.nans;
        return;
    }
    if (!c.have || x < c.dmin) c.dmin = x;
    if (!c.have || x > c.dmax) c.dmax = x;
    c.have = true;
}

template <class Col>
void bytes_bound(Col& c, std::string_view x) {
    // Unsigned byte order = Unicode code point order for UTF-8; string_view
    // compares with char_traits<char>, i.e. memcmp, which is unsigned.
    if (!c.have || x < std::string_view(c.smin)) c.smin.assign(x);
    if (!c.have || std::string_view(c.smax) < x) c.smax.assign(x);
    c.have = true;
}

// One value of a metrics column (null and empty count as nulls).
template <class Col>
void add_metric(Col& c, const prim& v) {
    ++c.values;
    if (v.kind == prim::k::none) {
        ++c.nulls;
        return;
    }
    switch (c.kind) {
        case m_int4:
        case m_int8: {
            std::int64_t x = 0;
            // as the file holds it (micros, days)
            if (iceberg_integer(static_cast<ice_type>(c.itype), v, x)) int_bound(c, x);
            break;
        }
        case m_float:
        case m_double:
            if (v.kind == prim::k::f32 || v.kind == prim::k::f64) float_bound(c, v.d);
            break;
        case m_bool:
            if (v.kind == prim::k::boolean) int_bound(c, v.i);
            break;
        case m_string:
        case m_binary:
            if (v.kind == prim::k::string || v.kind == prim::k::blob) bytes_bound(c, v.s);
            break;
        default: break;
    }
}

}  // namespace

void iceberg_metrics_builder::add(std::span<const protocol::cql_value> row) {
    for (auto& c : cols_)
        if (c.index < row.size()) add_metric(c, prim_of(row[c.index]));
}

void iceberg_metrics_builder::add(std::span<const protocol::value_view> cells) {
    using protocol::detail::load_be16;
    using protocol::detail::load_be32;
    using protocol::detail::load_be64;
    // Straight from the protocol bytes, as prim_of() then add_metric() read them
    // (one switch per column, not the general one per value). A cell of the
    // wrong size, which the unload's writer refuses first, is counted without bounds.
    for (auto& c : cols_) {
        if (c.index >= cells.size()) continue;
        const auto& cell = cells[c.index];
        const auto b = cell.bytes;
        ++c.values;
        if (!cell.is_set() || (b.empty() && c.empty_is_null)) {
            ++c.nulls;
            continue;
        }
        switch (c.kind) {
            case m_int4:
            case m_int8: {
                std::int64_t x = 0;
                switch (c.type.kind) {
                    case type_kind::tinyint:
                        if (b.size() != 1) continue;
                        x = static_cast<std::int8_t>(b[0]);
                        break;
                    case type_kind::smallint:
                        if (b.size() != 2) continue;
                        x = static_cast<std::int16_t>(load_be16(b.data()));
                        break;
                    case type_kind::int_:
                        if (b.size() != 4) continue;
                        x = static_cast<std::int32_t>(load_be32(b.data()));
                        break;
                    case type_kind::bigint:
                    case type_kind::counter:
                        if (b.size() != 8) continue;
                        x = static_cast<std::int64_t>(load_be64(b.data()));
                        break;
                    case type_kind::date:
                        if (b.size() != 4) continue;
                        x = protocol::date_to_epoch_days(load_be32(b.data()));
                        break;
                    case type_kind::time:  // nanoseconds -> microseconds
                        if (b.size() != 8) continue;
                        x = floor_div(static_cast<std::int64_t>(load_be64(b.data())), 1000);
                        break;
                    case type_kind::timestamp: {  // milliseconds -> microseconds, if they fit
                        if (b.size() != 8) continue;
                        const auto ms = static_cast<std::int64_t>(load_be64(b.data()));
                        if (ms > INT64_MAX / 1000 || ms < INT64_MIN / 1000) continue;
                        x = ms * 1000;
                        break;
                    }
                    default: continue;
                }
                int_bound(c, x);
                break;
            }
            case m_float:
            case m_double:
                if (c.type.kind == type_kind::float_ && b.size() == 4) float_bound(c, std::bit_cast<float>(load_be32(b.data())));
                else if (c.type.kind == type_kind::double_ && b.size() == 8)
                    float_bound(c, std::bit_cast<double>(load_be64(b.data())));
                break;
            case m_bool:
                if (b.size() == 1) int_bound(c, b[0] != 0 ? 1 : 0);
                break;
            case m_string:
            case m_binary: bytes_bound(c, {reinterpret_cast<const char*>(b.data()), b.size()}); break;
            default: break;
        }
    }
}

void iceberg_metrics_builder::add_chunk(const parquet_chunk_view& ch) {
    auto it = std::find_if(cols_.begin(), cols_.end(), [&](const col& c) { return c.index == ch.column; });
    if (it == cols_.end()) return;
    auto& c = *it;
    // One value or null per row (metrics columns are top-level primitives); an
    // "empty" cell was written as null, as add() counts it.
    c.values += ch.entries;
    c.nulls += ch.nulls;
    const char* p = ch.plain.data();
    const std::size_t n = static_cast<std::size_t>(ch.values);
    auto fixed = [&](std::size_t width) { return ch.plain.size() == n * width && n > 0; };
    // Each chunk's own bounds first, then merged as one value each: the same
    // bounds as value by value (for ±0, the first in row order stays, as there).
    switch (c.kind) {
        case m_int4:
        case m_int8: {
            const bool four = c.kind == m_int4;
            if (ch.physical != (four ? 1 : 2) || !fixed(four ? 4 : 8)) break;
            std::int64_t mn = INT64_MAX, mx = INT64_MIN;
            for (std::size_t j = 0; j < n; ++j) {
                std::int64_t x;
                if (four) {
                    std::int32_t y;
                    std::memcpy(&y, p + 4 * j, 4);
                    x = y;
                } else {
                    std::memcpy(&x, p + 8 * j, 8);
                }
                mn = std::min(mn, x);
                mx = std::max(mx, x);
            }
            int_bound(c, mn);
            int_bound(c, mx);
            break;
        }
        case m_float:
        case m_double: {
            const bool single = c.kind == m_float;
            if (ch.physical != (single ? 4 : 5) || !fixed(single ? 4 : 8)) break;
            bool have = false;
            double mn = 0, mx = 0;
            for (std::size_t j = 0; j < n; ++j) {
                double x;
                if (single) {
                    float f;
                    std::memcpy(&f, p + 4 * j, 4);
                    x = f;
                } else {
                    std::memcpy(&x, p + 8 * j, 8);
                }
                if (std::isnan(x)) {
                    ++c.nans;
                    continue;
                }
                if (!have || x < mn) mn = x;
                if (!have || x > mx) mx = x;
                have = true;
            }
            if (have) {
                float_bound(c, mn);
                float_bound(c, mx);
            }
            break;
        }
        case m_bool: {
            if (ch.physical != 0 || !fixed(1)) break;
            std::int64_t mn = 1, mx = 0;
            for (std::size_t j = 0; j < n; ++j) {
                const std::int64_t x = p[j] != 0 ? 1 : 0;
                mn = std::min(mn, x);
                mx = std::max(mx, x);
            }
            int_bound(c, mn);
            int_bound(c, mx);
            break;
        }
        case m_string:
        case m_binary: {
            if (ch.physical != 6 || n == 0) break;
            std::string_view mn, mx;
            const char* end = p + ch.plain.size();
            std::size_t j = 0;
            for (; j < n && end - p >= 4; ++j) {
                std::uint32_t len;
                std::memcpy(&len, p, 4);
                if constexpr (std::endian::native == std::endian::big) len = __builtin_bswap32(len);
                if (len > static_cast<std::size_t>(end - p - 4)) break;
                const std::string_view x(p + 4, len);
                p += 4 + len;
                if (j == 0 || x < mn) mn = x;
                if (j == 0 || mx < x) mx = x;
            }
            if (j == n) {
                bytes_bound(c, mn);
                bytes_bound(c, mx);
            }
            break;
        }
        default: break;
    }
}

std::vector<iceberg_column_metrics> iceberg_metrics_builder::finish() const {
    std::vector<iceberg_column_metrics> out;
    for (const auto& c : cols_) {
        iceberg_column_metrics m;
        m.id = c.id;
        m.values = c.values;
        m.nulls = c.nulls;
        if (c.kind == m_float || c.kind == m_double) m.nans = c.nans;
        if (c.have) {
            std::string lo, hi;
            switch (c.kind) {
                case m_int4:
                case m_int8:
                    put_le(lo, static_cast<std::uint64_t>(c.imin), c.kind == m_int4 ? 4 : 8);
                    put_le(hi, static_cast<std::uint64_t>(c.imax), c.kind == m_int4 ? 4 : 8);
                    break;
                case m_float: {
                    float a = static_cast<float>(c.dmin), b = static_cast<float>(c.dmax);
                    lo.assign(reinterpret_cast<const char*>(&a), 4);
                    hi.assign(reinterpret_cast<const char*>(&b), 4);
                    break;
                }
                case m_double:
                    lo.assign(reinterpret_cast<const char*>(&c.dmin), 8);
                    hi.assign(reinterpret_cast<const char*>(&c.dmax), 8);
                    break;
                case m_bool:
                    lo.push_back(static_cast<char>(c.imin));
                    hi.push_back(static_cast<char>(c.imax));
                    break;
                case m_string:
                case m_binary: {
                    const auto lp = c.kind == m_string ? utf8_prefix_len(c.smin, bound_prefix)
                                                       : std::min(c.smin.size(), bound_prefix);
                    lo = c.smin.substr(0, lp);
                    const auto hp = c.kind == m_string ? utf8_prefix_len(c.smax, bound_prefix)
                                                       : std::min(c.smax.size(), bound_prefix);
                    if (hp == c.smax.size()) hi = c.smax;
                    m.lower = lo;
                    if (hp == c.smax.size()) m.upper = hi;
                    out.push_back(std::move(m));
                    continue;
                }
                default: out.push_back(std::move(m)); continue;
            }
            m.lower = std::move(lo);
            m.upper = std::move(hi);
        }
        out.push_back(std::move(m));
    }
    return out;
}

// ---- range_<first>_<last>.files.json ----

std::string iceberg_files_json(const std::vector<iceberg_data_file>& files, const fs::path& dir) {
    (void)dir;
    std::string s = R"({"files":[)";
    for (std::size_t k = 0; k < files.size(); ++k) {
        const auto& f = files[k];
        if (k) s += ',';
        s += R"({"file":)";
        detail::append_json_string(s, f.path.filename().string());
        s += R"(,"rows":)" + std::to_string(f.rows) + R"(,"bytes":)" + std::to_string(f.bytes) + R"(,"partition":[)";
        for (std::size_t i = 0; i < f.stats.partition.size(); ++i) {
            const auto& p = f.stats.partition[i];
            if (i) s += ',';
            if (p.null) s += "null";
            else s += R"({"i":)" + std::to_string(p.i) + R"(,"s":")" + to_hex(p.s) + "\"}";
        }
        s += R"(],"metrics":[)";
        for (std::size_t i = 0; i < f.stats.metrics.size(); ++i) {
            const auto& m = f.stats.metrics[i];
            if (i) s += ',';
            s += "[" + std::to_string(m.id) + "," + std::to_string(m.values) + "," + std::to_string(m.nulls) + ",";
            s += m.lower ? "\"" + to_hex(*m.lower) + "\"" : std::string("null");
            s += ",";
            s += m.upper ? "\"" + to_hex(*m.upper) + "\"" : std::string("null");
            if (m.nans) s += "," + std::to_string(*m.nans);
            s += "]";
        }
        s += R"(],"column_sizes":[)";
        for (std::size_t i = 0; i < f.stats.column_sizes.size(); ++i) {
            if (i) s += ',';
            s += "[" + std::to_string(f.stats.column_sizes[i].first) + "," +
                 std::to_string(f.stats.column_sizes[i].second) + "]";
        }
        s += "]}";
    }
    return s + "]}\n";
}

status iceberg_parse_files_json(std::string_view text, const fs::path& dir, std::vector<iceberg_data_file>& out) {
    out.clear();
    json_value v;
    std::string err;
    auto bad = [](std::string m) { return status{errc::bad_iceberg, "data file list: " + std::move(m)}; };
    if (!detail::parse_json(text, v, err)) return bad(err);
    const auto* fl = v.find("files");
    if (v.type != jk::object || !fl || fl->type != jk::array) return bad("no \"files\" array");
    for (const auto& f : fl->items) {
        iceberg_data_file d;
        const auto* name = f.find("file");
        std::int64_t rows = 0, bytes = 0;
        if (!name || name->type != jk::string || name->text.empty() || name->text.find('/') != std::string::npos ||
            name->text == "." || name->text == "..")
            return bad("entry without a plain file name");
        if (!jint(f.find("rows"), rows) || !jint(f.find("bytes"), bytes) || rows < 0 || bytes < 0)
            return bad(name->text + ": bad rows/bytes");
        d.path = dir / name->text;
        d.rows = static_cast<std::uint64_t>(rows);
        d.bytes = static_cast<std::uint64_t>(bytes);
        if (const auto* p = f.find("partition"); p && p->type == jk::array)
            for (const auto& x : p->items) {
                iceberg_partition_value pv;
                if (x.type == jk::object) {
                    const auto* hs = x.find("s");
                    if (!jint(x.find("i"), pv.i) || !hs || hs->type != jk::string || !from_hex(hs->text, pv.s))
                        return bad(name->text + ": bad partition value");
                    pv.null = false;
                } else if (x.type != jk::null) {
                    return bad(name->text + ": bad partition value");
                }
                d.stats.partition.push_back(std::move(pv));
            }
        if (const auto* ms = f.find("metrics"); ms && ms->type == jk::array)
            for (const auto& x : ms->items) {
                // [id, values, nulls, lower, upper] and, for float/double columns, NaNs
                if (x.type != jk::array || (x.items.size() != 5 && x.items.size() != 6))
                    return bad(name->text + ": bad metrics");
                iceberg_column_metrics m;
                std::int64_t id = 0, vals = 0, nulls = 0;
                if (!jint(&x.items[0], id) || !jint(&x.items[1], vals) || !jint(&x.items[2], nulls) || vals < 0 ||
                    nulls < 0 || id < INT32_MIN || id > INT32_MAX)
                    return bad(name->text + ": bad metrics");
                m.id = static_cast<std::int32_t>(id);
                m.values = static_cast<std::uint64_t>(vals);
                m.nulls = static_cast<std::uint64_t>(nulls);
                if (x.items.size() == 6) {
                    std::int64_t nans = 0;
                    if (!jint(&x.items[5], nans) || nans < 0) return bad(name->text + ": bad metrics");
                    m.nans = static_cast<std::uint64_t>(nans);
                }
                for (int b = 0; b < 2; ++b) {
                    const auto& h = x.items[3 + b];
                    if (h.type == jk::null) continue;
                    std::string raw;
                    if (h.type != jk::string || !from_hex(h.text, raw)) return bad(name->text + ": bad bound");
                    (b ? m.upper : m.lower) = std::move(raw);
                }
                d.stats.metrics.push_back(std::move(m));
            }
        if (const auto* cs = f.find("column_sizes"); cs && cs->type == jk::array)
            for (const auto& x : cs->items) {
                std::int64_t id = 0, n = 0;
                if (x.type != jk::array || x.items.size() != 2 || !jint(&x.items[0], id) || !jint(&x.items[1], n) ||
                    n < 0 || id < INT32_MIN || id > INT32_MAX)
                    return bad(name->text + ": bad column_sizes");
                d.stats.column_sizes.emplace_back(static_cast<std::int32_t>(id), static_cast<std::uint64_t>(n));
            }
        out.push_back(std::move(d));
    }
    return {};
}


// ---- plan <-> JSON (worker manifests) ----

std::string iceberg_plan_json(const iceberg_write_plan& p) {
    std::string s = R"({"location":)";
    detail::append_json_string(s, p.location.string());
    s += R"(,"schema_fields":)" + p.schema_fields;
    s += R"(,"schema_id":)" + std::to_string(p.schema_id);
    s += R"(,"new_schema":)" + std::string(p.new_schema ? "true" : "false");
    s += R"(,"last_column_id":)" + std::to_string(p.last_column_id);
    s += R"(,"base_last_column_id":)" + std::to_string(p.base_last_column_id);
    s += R"(,"base_version":)" + std::to_string(p.base_version);
    s += R"(,"field_ids":[)";
    for (std::size_t i = 0; i < p.field_ids.size(); ++i) s += (i ? "," : "") + std::to_string(p.field_ids[i]);
    s += R"(],"spec_id":)" + std::to_string(p.spec_id);
    s += R"(,"new_spec":)" + std::string(p.new_spec ? "true" : "false");
    s += R"(,"spec_fields":)" + p.spec_fields;
    s += R"(,"last_partition_id":)" + std::to_string(p.last_partition_id);
    s += R"(,"specs_base":)";
    detail::append_json_string(s, p.specs_base);
    s += R"(,"partition_types":[)";
    for (std::size_t i = 0; i < p.partition.size(); ++i) {
        if (i) s += ',';
        detail::append_json_string(s, p.partition[i].result_type);
    }
    return s + "]}";
}

status iceberg_parse_plan_json(std::string_view text, iceberg_write_plan& out) {
    out = iceberg_write_plan{};
    auto bad = [](std::string m) { return status{errc::bad_iceberg, "worker plan: " + std::move(m)}; };
    json_value v;
    std::string err;
    if (!detail::parse_json(text, v, err) || v.type != jk::object) return bad(err.empty() ? "not an object" : err);
    const auto* loc = v.find("location");
    const auto* sf = v.find("schema_fields");
    const auto* fids = v.find("field_ids");
    const auto* spf = v.find("spec_fields");
    const auto* sb = v.find("specs_base");
    const auto* pt = v.find("partition_types");
    std::int64_t sid = 0, lc = 0, blc = 0, bv = 0, spid = 0, lpid = 0;
    if (!loc || loc->type != jk::string || !sf || sf->type != jk::array || !fids || fids->type != jk::array || !spf ||
        spf->type != jk::array || !sb || sb->type != jk::string || !pt || pt->type != jk::array ||
        !jint(v.find("schema_id"), sid) || !jint(v.find("last_column_id"), lc) ||
        !jint(v.find("base_last_column_id"), blc) || !jint(v.find("base_version"), bv) || bv < 0 ||
        !jint(v.find("spec_id"), spid) || !jint(v.find("last_partition_id"), lpid) || spf->items.size() != pt->items.size())
        return bad("missing or malformed fields");
    out.location = loc->text;
    out.schema_fields = jtext(*sf);
    out.schema_id = static_cast<std::int32_t>(sid);
    const auto* ns = v.find("new_schema");
    out.new_schema = ns && ns->type == jk::boolean && ns->boolean;
    out.last_column_id = static_cast<std::int32_t>(lc);
    out.base_last_column_id = static_cast<std::int32_t>(blc);
    out.base_version = static_cast<std::uint64_t>(bv);
    for (const auto& x : fids->items) {
        std::int64_t id = 0;
        if (!jint(&x, id)) return bad("bad field id");
        out.field_ids.push_back(static_cast<std::int32_t>(id));
    }
    out.spec_id = static_cast<std::int32_t>(spid);
    const auto* nsp = v.find("new_spec");
    out.new_spec = nsp && nsp->type == jk::boolean && nsp->boolean;
    out.spec_fields = jtext(*spf);
    out.last_partition_id = static_cast<std::int32_t>(lpid);
    out.specs_base = sb->text;
    for (std::size_t i = 0; i < spf->items.size(); ++i) {
        const auto& f = spf->items[i];
        iceberg_partition_field pf;
        const auto* n = f.find("name");
        std::int64_t fid = 0, src = 0;
        if (!n || n->type != jk::string || !avro_name_ok(n->text) || !jint(f.find("field-id"), fid) ||
            !jint(f.find("source-id"), src) || pt->items[i].type != jk::string)
            return bad("bad partition field");
        pf.name = n->text;
        pf.field_id = static_cast<std::int32_t>(fid);
        pf.source_id = static_cast<std::int32_t>(src);
        pf.result_type = pt->items[i].text;
        out.partition.push_back(std::move(pf));
    }
    return {};
}

}  // namespace cqlpp::bulk
