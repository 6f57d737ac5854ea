// Parquet writer: CQL rows shredded into column buffers (Dremel levels), one
// data page v1 per column chunk, optional dictionary page, snappy/zstd.
#include "cqlpp/bulk/codec.hpp"
#include "cqlpp/bulk/parquet.hpp"
#include "parquet_format.hpp"
#include "parquet_thrift.hpp"

#include <snappy-c.h>
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string_view>
#include <unordered_map>

namespace cqlpp::bulk {

using protocol::cql_type;
using protocol::cql_value;
using protocol::type_kind;
using protocol::value_kind;

bool parse_parquet_compression(std::string_view s, parquet_compression& out) {
    if (s == "zstd") out = parquet_compression::zstd;
    else if (s == "snappy") out = parquet_compression::snappy;
    else if (s == "none" || s == "uncompressed") out = parquet_compression::none;
    else return false;
    return true;
}

namespace pq {

namespace {
template <class T>
void rle_encode_any(std::string& out, const T* v, std::size_t n, int width) {
    const std::size_t vbytes = static_cast<std::size_t>((width + 7) / 8);
    auto varint = [&](std::uint64_t x) {
        while (x >= 0x80) {
            out.push_back(static_cast<char>((x & 0x7F) | 0x80));
            x >>= 7;
        }
        out.push_back(static_cast<char>(x));
    };
    auto run_at = [&](std::size_t i, std::size_t cap) {
        std::size_t j = i + 1;
        while (j < n && j - i < cap && v[j] == v[i]) ++j;
        return j - i;
    };
    std::size_t i = 0;
    while (i < n) {
        const auto run = run_at(i, n);
        if (run >= 8 || width == 0) {
            varint(static_cast<std::uint64_t>(run) << 1);
            for (std::size_t b = 0; b < vbytes; ++b) out.push_back(static_cast<char>(std::uint64_t(v[i]) >> (8 * b)));
            i += run;
            continue;
        }
        // Literal groups of 8 until a group boundary starts a run of 8 or more.
        const std::size_t start = i;
        do {
            i = std::min(n, i + 8);
        } while (i < n && run_at(i, 8) < 8);
        const std::size_t groups = (i - start + 7) / 8;
        varint((static_cast<std::uint64_t>(groups) << 1) | 1);
        std::uint64_t acc = 0;
        int bits = 0;
        for (std::size_t k = 0; k < groups * 8; ++k) {
            const std::uint64_t x = start + k < i ? std::uint64_t(v[start + k]) : 0;
            acc |= x << bits;
            bits += width;
            while (bits >= 8) {
                out.push_back(static_cast<char>(acc & 0xFF));
                acc >>= 8;
                bits -= 8;
            }
        }
        if (bits > 0) out.push_back(static_cast<char>(acc & 0xFF));  // never: 8 values fill whole bytes
    }
}
}  // namespace

void rle_encode(std::string& out, const std::uint32_t* values, std::size_t n, int width) {
    rle_encode_any(out, values, n, width);
}
void rle_encode16(std::string& out, const std::uint16_t* values, std::size_t n, int width) {
    rle_encode_any(out, values, n, width);
}

}  // namespace pq

namespace {

using namespace pq;

enum class conv : std::uint8_t {
    boolean, i8, i16, i32, i64, date, f32, f64, text, blob, uuid, as_text, varint_dec, dur_months, dur_days, dur_nanos,
    ts_micros, time_micros,  // Iceberg: timestamp ms -> us, time ns -> us (truncated)
};
enum class shape : std::uint8_t { leaf, structure, list, map, duration };

struct node {
    std::string name;
    int rep = optional;
    shape sh = shape::leaf;
    int converted = c_none;
    logical lt;
    // leaf
    int physical = p_byte_array;
    int type_length = 0;
    int scale = -1, precision = -1;
    conv cv = conv::blob;
    cql_type type;  // leaf: its CQL type (as_text conversion)
    std::size_t leaf = 0;
    int max_def = 0, max_rep = 0;
    std::int32_t field_id = -1;  // Iceberg field id (SchemaElement.field_id), -1: none
    std::vector<node> children;
};

struct sv_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

struct leaf_buf {
    const node* n = nullptr;
    std::vector<std::uint16_t> defs, reps;
    std::string plain;
    std::uint64_t values = 0;   // non-null
    std::uint64_t entries = 0;  // levels
    bool dict_on = true;
    std::unordered_map<std::string, std::uint32_t, sv_hash, std::equal_to<>> dict;
    std::string dict_plain;
    std::vector<std::uint32_t> idx;
    // statistics
    bool stats = false;     // the type has an order we write min/max for
    bool have_minmax = false;
    std::string min, max;   // PLAIN bytes (byte arrays: without length)
    std::uint64_t nulls = 0;

    void reset() {
        defs.clear();
        reps.clear();
        plain.clear();
        values = entries = 0;
        dict.clear();
        dict_plain.clear();
        idx.clear();
        dict_on = true;
        have_minmax = false;
        min.clear();
        max.clear();
        nulls = 0;
    }
};

struct chunk_meta {
    int physical;
    std::vector<int> encodings;
    std::vector<std::string> path;
    std::int64_t num_values, uncompressed, compressed, data_offset, dict_offset;
    bool has_stats;
    bool has_minmax;
    std::string min, max;
    std::int64_t nulls;
};
struct group_meta {
    std::vector<chunk_meta> columns;
    std::int64_t rows, bytes, offset, compressed;
};

node make_node(const std::string& name, const cql_type& t, int rep, bool iceberg) {
    node n;
    n.name = name;
    n.rep = rep;
    n.type = t;
    auto leaf = [&](int phys, conv c, int conv_type = c_none, logical lt = {}) {
        n.physical = phys;
        n.cv = c;
        n.converted = conv_type;
        n.lt = lt;
    };
    switch (t.kind) {
        case type_kind::tinyint: leaf(p_int32, conv::i8, c_int8, {l_integer, 8, 1}); break;
        case type_kind::smallint: leaf(p_int32, conv::i16, c_int16, {l_integer, 16, 1}); break;
        case type_kind::int_: leaf(p_int32, conv::i32, c_int32, {l_integer, 32, 1}); break;
        case type_kind::bigint:
        case type_kind::counter: leaf(p_int64, conv::i64, c_int64, {l_integer, 64, 1}); break;
        case type_kind::float_: leaf(p_float, conv::f32); break;
        case type_kind::double_: leaf(p_double, conv::f64); break;
        case type_kind::boolean: leaf(p_boolean, conv::boolean); break;
        case type_kind::text:
        case type_kind::ascii: leaf(p_byte_array, conv::text, c_utf8, {l_string}); break;
        case type_kind::uuid:
        case type_kind::timeuuid:
            leaf(p_flba, conv::uuid, c_none, {l_uuid});
            n.type_length = 16;
            break;
        case type_kind::timestamp:
            // Iceberg's timestamptz is microseconds.
            if (iceberg) leaf(p_int64, conv::ts_micros, c_timestamp_micros, {l_timestamp, u_micros, 1});
            else leaf(p_int64, conv::i64, c_timestamp_millis, {l_timestamp, u_millis, 1});
            break;
        case type_kind::date: leaf(p_int32, conv::date, c_date, {l_date}); break;
        case type_kind::time:
            // Iceberg's time is microseconds: nanoseconds are truncated (docs/iceberg.md).
            if (iceberg) leaf(p_int64, conv::time_micros, c_time_micros, {l_time, u_micros, 0});
            else leaf(p_int64, conv::i64, c_none, {l_time, u_nanos, 0});
            break;
        // Cassandra's decimal has a scale per value; a Parquet DECIMAL has one per
        // column, so the exact text (BigDecimal form) keeps both value and scale.
        case type_kind::decimal:
        case type_kind::inet: leaf(p_byte_array, conv::as_text, c_utf8, {l_string}); break;
        case type_kind::varint:
            // Iceberg: text (any width; Iceberg's decimal(38, 0) would need FIXED and cap the digits).
            if (iceberg) {
                leaf(p_byte_array, conv::as_text, c_utf8, {l_string});
                break;
            }
            leaf(p_byte_array, conv::varint_dec, c_decimal, {l_decimal, 0, 38});
            n.scale = 0;
            n.precision = 38;
            break;
        case type_kind::duration: {
            n.sh = shape::duration;
            node m = make_node("months", cql_type(type_kind::int_), required, iceberg);
            m.cv = conv::dur_months;
            node d = make_node("days", cql_type(type_kind::int_), required, iceberg);
            d.cv = conv::dur_days;
            node ns = make_node("nanos", cql_type(type_kind::bigint), required, iceberg);
            ns.cv = conv::dur_nanos;
            n.children = {std::move(m), std::move(d), std::move(ns)};
            break;
        }
        case type_kind::list:
        case type_kind::set:
        case type_kind::vector: {
            n.sh = shape::list;
            n.converted = c_list;
            n.lt = {l_list};
            node mid;
            mid.name = "list";
            mid.rep = repeated;
            mid.sh = shape::structure;
            mid.children.push_back(make_node("element", t.params.empty() ? cql_type() : t.params[0], required, iceberg));
            n.children.push_back(std::move(mid));
            break;
        }
        case type_kind::map: {
            n.sh = shape::map;
            n.converted = c_map;
            n.lt = {l_map};
            node kv;
            kv.name = "key_value";
            kv.rep = repeated;
            kv.sh = shape::structure;
            kv.children.push_back(make_node("key", t.params.size() > 0 ? t.params[0] : cql_type(), required, iceberg));
            kv.children.push_back(make_node("value", t.params.size() > 1 ? t.params[1] : cql_type(), required, iceberg));
            n.children.push_back(std::move(kv));
            break;
        }
        case type_kind::tuple:
        case type_kind::udt:
            n.sh = shape::structure;
            for (std::size_t i = 0; i < t.params.size(); ++i) {
                auto fname = t.kind == type_kind::udt && i < t.field_names.size() ? t.field_names[i]
                                                                                  : "_" + std::to_string(i + 1);
                n.children.push_back(make_node(fname, t.params[i], optional, iceberg));
            }
            break;
        default: leaf(p_byte_array, conv::blob); break;  // blob, custom
    }
    return n;
}

void assign_levels(node& n, int def, int rep, std::vector<node*>& leaves) {
    if (n.rep != required) ++def;
    if (n.rep == repeated) ++rep;
    n.max_def = def;
    n.max_rep = rep;
    if (n.sh == shape::leaf) {
        n.leaf = leaves.size();
        leaves.push_back(&n);
        return;
    }
    for (auto& c : n.children) assign_levels(c, def, rep, leaves);
}

// Field ids in pre-order, skipping the repeated middle groups of lists and
// maps (Iceberg gives ids to the list/map, its element/key/value only).
void assign_field_ids(node& n, const std::vector<std::int32_t>& ids, std::size_t& next) {
    const bool middle = n.rep == repeated && n.sh == shape::structure;
    if (!middle && next < ids.size()) n.field_id = ids[next++];
    for (auto& c : n.children) assign_field_ids(c, ids, next);
}

bool has_order_stats(const node& n) {
    switch (n.physical) {
        case p_int32:
        case p_int64:
        case p_float:
        case p_double: return true;
        case p_byte_array: return n.cv == conv::text || n.cv == conv::as_text || n.cv == conv::blob;
        case p_flba: return true;
        default: return false;
    }
}

std::string_view stat_bytes(const leaf_buf& b, std::string_view plain_value) {
    if (b.n->physical == p_byte_array) return plain_value.substr(4);
    return plain_value;
}

// Less-than in the column's Parquet sort order.
bool stat_less(int physical, std::string_view a, std::string_view b) {
    switch (physical) {
        case p_int32: {
            std::int32_t x, y;
            std::memcpy(&x, a.data(), 4);
            std::memcpy(&y, b.data(), 4);
            return x < y;
        }
        case p_int64: {
            std::int64_t x, y;
            std::memcpy(&x, a.data(), 8);
            std::memcpy(&y, b.data(), 8);
            return x < y;
        }
        case p_float: {
            float x, y;
            std::memcpy(&x, a.data(), 4);
            std::memcpy(&y, b.data(), 4);
            return x < y;
        }
        case p_double: {
            double x, y;
            std::memcpy(&x, a.data(), 8);
            std::memcpy(&y, b.data(), 8);
            return x < y;
        }
        default:
            return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char p, char q) {
                return static_cast<unsigned char>(p) < static_cast<unsigned char>(q);
            });
    }
}

void write_logical(thrift::writer& w, const logical& lt) {
    w.field_struct(10);
    w.begin_struct();
    w.field_struct(lt.kind);
    w.begin_struct();
    switch (lt.kind) {
        case l_decimal:
            w.field_i32(1, lt.a);
            w.field_i32(2, lt.b);
            break;
        case l_time:
        case l_timestamp:
            w.field_bool(1, lt.b != 0);
            w.field_struct(2);
            w.begin_struct();
            w.field_struct(lt.a);
            w.begin_struct();
            w.end_struct();
            w.end_struct();
            break;
        case l_integer:
            w.field_i8(1, static_cast<std::int8_t>(lt.a));
            w.field_bool(2, lt.b != 0);
            break;
        default: break;
    }
    w.end_struct();
    w.end_struct();
}

void write_schema(thrift::writer& w, const node& n) {
    w.begin_struct();
    if (n.sh == shape::leaf) {
        w.field_i32(1, n.physical);
        if (n.physical == p_flba) w.field_i32(2, n.type_length);
    }
    w.field_i32(3, n.rep);
    w.field_binary(4, n.name);
    if (n.sh != shape::leaf) w.field_i32(5, static_cast<std::int64_t>(n.children.size()));
    if (n.converted != c_none) w.field_i32(6, n.converted);
    if (n.scale >= 0) w.field_i32(7, n.scale);
    if (n.precision >= 0) w.field_i32(8, n.precision);
    if (n.lt.kind != l_none) write_logical(w, n.lt);
    if (n.field_id >= 0) w.field_i32(9, n.field_id);
    w.end_struct();
}

std::size_t count_nodes(const node& n) {
    std::size_t c = 1;
    for (const auto& ch : n.children) c += count_nodes(ch);
    return c;
}

void write_schema_tree(thrift::writer& w, const node& n) {
    write_schema(w, n);
    for (const auto& c : n.children) write_schema_tree(w, c);
}

void path_of(const node& root_child, const node* target, std::vector<std::string>& path, bool& found) {
    path.push_back(root_child.name);
    if (&root_child == target) {
        found = true;
        return;
    }
    for (const auto& c : root_child.children) {
        path_of(c, target, path, found);
        if (found) return;
    }
    path.pop_back();
}

}  // namespace

struct parquet_writer::impl {
    std::vector<protocol::column_spec> columns;
    parquet_write_options o;
    std::vector<node> top;
    std::vector<node*> leaves;
    std::vector<leaf_buf> bufs;
    std::vector<std::vector<std::string>> paths;
    std::vector<group_meta> groups;
    std::uint64_t total_rows = 0, group_rows = 0, written = 0;
    std::size_t buffered = 0;
    bool started = false, finished = false;
    std::string scratch, text, page, compressed, header;
    ZSTD_CCtx* zctx = nullptr;

    ~impl() {
        if (zctx) ZSTD_freeCCtx(zctx);
    }

    void emit(std::string& out, std::string_view s) {
        out.append(s);
        written += s.size();
    }

    void push_null(const node& n, int r, int d) {
        if (n.sh == shape::leaf) {
            auto& b = bufs[n.leaf];
            if (n.max_def > 0) b.defs.push_back(static_cast<std::uint16_t>(d));
            if (n.max_rep > 0) b.reps.push_back(static_cast<std::uint16_t>(r));
            ++b.entries;
            ++b.nulls;
            return;
        }
        for (const auto& c : n.children) push_null(c, r, d);
    }

    status value_bytes(const node& n, const cql_value& v, std::string& s) {
        s.clear();
        auto mismatch = [&]() {
            return status{errc::bad_value, "column value of kind " + std::string(protocol::to_string(v.kind())) +
                                               " for " + protocol::to_cql_name(n.type)};
        };
        switch (n.cv) {
            case conv::boolean:
                if (v.kind() != value_kind::boolean) return mismatch();
                s.push_back(v.as_bool() ? 1 : 0);
                break;
            case conv::i8:
            case conv::i16:
            case conv::i32:
                if (v.kind() != value_kind::integer) return mismatch();
                put_le32(s, static_cast<std::uint32_t>(static_cast<std::int32_t>(v.as_int())));
                break;
            case conv::i64:
                if (v.kind() != value_kind::integer) return mismatch();
                put_le64(s, static_cast<std::uint64_t>(v.as_int()));
                break;
            case conv::ts_micros: {
                if (v.kind() != value_kind::integer) return mismatch();
                std::int64_t us = 0;
                if (__builtin_mul_overflow(v.as_int(), std::int64_t{1000}, &us))
                    return {errc::bad_value, "timestamp " + std::to_string(v.as_int()) + " ms does not fit in microseconds"};
                put_le64(s, static_cast<std::uint64_t>(us));
                break;
            }
            case conv::time_micros:
                if (v.kind() != value_kind::integer) return mismatch();
                put_le64(s, static_cast<std::uint64_t>(v.as_int() / 1000));
                break;
            case conv::date:
                if (v.kind() != value_kind::date) return mismatch();
                put_le32(s, static_cast<std::uint32_t>(static_cast<std::int32_t>(protocol::date_to_epoch_days(v.as_date()))));
                break;
            case conv::f32:
                if (v.kind() != value_kind::float32) return mismatch();
                put_le32(s, std::bit_cast<std::uint32_t>(v.as_float()));
                break;
            case conv::f64:
                if (v.kind() != value_kind::float64) return mismatch();
                put_le64(s, std::bit_cast<std::uint64_t>(v.as_double()));
                break;
            case conv::text:
                if (v.kind() != value_kind::string) return mismatch();
                put_le32(s, static_cast<std::uint32_t>(v.as_string().size()));
                s += v.as_string();
                break;
            case conv::blob:
                if (v.kind() != value_kind::blob) return mismatch();
                put_le32(s, static_cast<std::uint32_t>(v.as_blob().size()));
                s.append(reinterpret_cast<const char*>(v.as_blob().data()), v.as_blob().size());
                break;
            case conv::uuid:
                if (v.kind() != value_kind::uuid) return mismatch();
                s.append(reinterpret_cast<const char*>(v.as_uuid().data()), 16);
                break;
            case conv::as_text: {
                text = to_field_text(n.type, v);
                put_le32(s, static_cast<std::uint32_t>(text.size()));
                s += text;
                break;
            }
            case conv::varint_dec: {
                if (v.kind() != value_kind::varint) return mismatch();
                auto m = v.as_varint().minimal();
                // DECIMAL(38, 0): 38 digits fit in 127 bits plus sign, 16 bytes.
                if (m.bytes().size() > 16 || m.to_string().size() > 38 + (m.is_negative() ? 1u : 0u))
                    return {errc::bad_value, "varint " + m.to_string() + " has more than 38 digits (Parquet DECIMAL(38, 0))"};
                put_le32(s, static_cast<std::uint32_t>(m.bytes().size()));
                s.append(reinterpret_cast<const char*>(m.bytes().data()), m.bytes().size());
                break;
            }
            case conv::dur_months:
                if (v.kind() != value_kind::duration) return mismatch();
                put_le32(s, static_cast<std::uint32_t>(v.as_duration().months));
                break;
            case conv::dur_days:
                if (v.kind() != value_kind::duration) return mismatch();
                put_le32(s, static_cast<std::uint32_t>(v.as_duration().days));
                break;
            case conv::dur_nanos:
                if (v.kind() != value_kind::duration) return mismatch();
                put_le64(s, static_cast<std::uint64_t>(v.as_duration().nanos));
                break;
        }
        return {};
    }

    status push_value(const node& n, const cql_value& v, int r, int d) {
        auto& b = bufs[n.leaf];
        if (auto st = value_bytes(n, v, scratch); !st) return st;
        if (n.max_def > 0) b.defs.push_back(static_cast<std::uint16_t>(d));
        if (n.max_rep > 0) b.reps.push_back(static_cast<std::uint16_t>(r));
        ++b.entries;
        ++b.values;
        b.plain += scratch;
        buffered += scratch.size() + 4;
        if (b.dict_on) {
            auto it = b.dict.find(std::string_view(scratch));
            if (it == b.dict.end()) {
                const auto id = static_cast<std::uint32_t>(b.dict.size());
                b.dict.emplace(scratch, id);
                b.dict_plain += scratch;
                b.idx.push_back(id);
                buffered += scratch.size() + 32;
                // Mostly distinct values: plain is smaller, stop paying for the hash table.
                if ((b.dict.size() > 1024 && b.dict.size() * 2 > b.values) || b.dict_plain.size() > (1u << 20)) {
                    b.dict_on = false;
                    b.dict.clear();
                    b.dict_plain.clear();
                    b.idx.clear();
                }
            } else {
                b.idx.push_back(it->second);
            }
        }
        if (b.stats) {
            auto sv = stat_bytes(b, scratch);
            bool nan = (n.physical == p_float && std::isnan(v.as_float())) ||
                       (n.physical == p_double && std::isnan(v.as_double()));
            if (sv.size() > 64) {
                b.stats = false;  // long values: no min/max rather than truncated ones
            } else if (!nan) {
                if (!b.have_minmax) {
                    b.min.assign(sv);
                    b.max.assign(sv);
                    b.have_minmax = true;
                } else {
                    if (stat_less(n.physical, sv, b.min)) b.min.assign(sv);
                    if (stat_less(n.physical, b.max, sv)) b.max.assign(sv);
                }
            }
        }
        return {};
    }

    status shred(const node& n, const cql_value* v, int r, int d) {
        if (n.rep == optional) {
            // Zero-length "empty" values have no Parquet form: written as null (docs/parquet.md).
            if (!v || v->is_null() || v->is_empty()) {
                push_null(n, r, d);
                return {};
            }
            ++d;
        } else if (!v || v->is_null() || v->is_empty()) {
            return {errc::bad_value, "null inside a collection (" + n.name + ")"};
        }
        switch (n.sh) {
            case shape::leaf: return push_value(n, *v, r, d);
            case shape::duration:
                for (const auto& c : n.children)
                    if (auto st = push_value(c, *v, r, d); !st) return st;
                return {};
            case shape::structure: {
                if (v->kind() != value_kind::tuple) return {errc::bad_value, n.name + ": not a tuple/UDT value"};
                const auto& el = v->elements();
                if (el.size() > n.children.size()) return {errc::bad_value, n.name + ": too many fields"};
                for (std::size_t i = 0; i < n.children.size(); ++i)
                    if (auto st = shred(n.children[i], i < el.size() ? &el[i] : nullptr, r, d); !st) return st;
                return {};
            }
            case shape::list: {
                if (v->kind() != value_kind::list) return {errc::bad_value, n.name + ": not a list/set value"};
                const auto& mid = n.children[0];
                const auto& el = v->elements();
                if (el.empty()) {
                    push_null(mid, r, d);
                    return {};
                }
                for (std::size_t i = 0; i < el.size(); ++i)
                    if (auto st = shred(mid.children[0], &el[i], i == 0 ? r : mid.max_rep, d + 1); !st) return st;
                return {};
            }
            case shape::map: {
                if (v->kind() != value_kind::map) return {errc::bad_value, n.name + ": not a map value"};
                const auto& kv = n.children[0];
                const auto& en = v->entries();
                if (en.empty()) {
                    push_null(kv, r, d);
                    return {};
                }
                for (std::size_t i = 0; i < en.size(); ++i) {
                    const int rr = i == 0 ? r : kv.max_rep;
                    if (auto st = shred(kv.children[0], &en[i].first, rr, d + 1); !st) return st;
                    if (auto st = shred(kv.children[1], &en[i].second, rr, d + 1); !st) return st;
                }
                return {};
            }
        }
        return {};
    }

    status compress(std::string_view in, std::string& out) {
        out.clear();
        switch (o.compression) {
            case parquet_compression::none: out.assign(in); return {};
            case parquet_compression::snappy: {
                std::size_t n = snappy_max_compressed_length(in.size());
                out.resize(n);
                if (snappy_compress(in.data(), in.size(), out.data(), &n) != SNAPPY_OK)
                    return {errc::io_error, "snappy compression failed"};
                out.resize(n);
                return {};
            }
            case parquet_compression::zstd: {
                if (!zctx) zctx = ZSTD_createCCtx();
                out.resize(ZSTD_compressBound(in.size()));
                auto n = ZSTD_compressCCtx(zctx, out.data(), out.size(), in.data(), in.size(), o.zstd_level);
                if (ZSTD_isError(n)) return {errc::io_error, std::string("zstd: ") + ZSTD_getErrorName(n)};
                out.resize(n);
                return {};
            }
        }
        return {};
    }

    int codec_id() const {
        switch (o.compression) {
            case parquet_compression::none: return k_uncompressed;
            case parquet_compression::snappy: return k_snappy;
            case parquet_compression::zstd: return k_zstd;
        }
        return k_uncompressed;
    }

    // Page header + compressed body to out; returns header+body sizes.
    status write_page(std::string& out, int type, std::string_view body, std::int64_t num_values, int enc,
                      std::int64_t& unc, std::int64_t& comp) {
        if (auto st = compress(body, compressed); !st) return st;
        header.clear();
        thrift::writer w(header);
        w.begin_struct();
        w.field_i32(1, type);
        w.field_i32(2, static_cast<std::int64_t>(body.size()));
        w.field_i32(3, static_cast<std::int64_t>(compressed.size()));
        if (type == page_data) {
            w.field_struct(5);
            w.begin_struct();
            w.field_i32(1, num_values);
            w.field_i32(2, enc);
            w.field_i32(3, e_rle);
            w.field_i32(4, e_rle);
            w.end_struct();
        } else {
            w.field_struct(7);
            w.begin_struct();
            w.field_i32(1, num_values);
            w.field_i32(2, enc);
            w.end_struct();
        }
        w.end_struct();
        unc += static_cast<std::int64_t>(header.size() + body.size());
        comp += static_cast<std::int64_t>(header.size() + compressed.size());
        emit(out, header);
        emit(out, compressed);
        return {};
    }

    status flush_group(std::string& out) {
        if (group_rows == 0) return {};
        group_meta g;
        g.rows = static_cast<std::int64_t>(group_rows);
        g.offset = static_cast<std::int64_t>(written);
        g.bytes = 0;
        g.compressed = 0;
        for (std::size_t li = 0; li < bufs.size(); ++li) {
            auto& b = bufs[li];
            const node& n = *b.n;
            chunk_meta m{};
            m.physical = n.physical;
            m.path = paths[li];
            m.num_values = static_cast<std::int64_t>(b.entries);
            m.dict_offset = -1;
            std::int64_t unc = 0, comp = 0;
            const bool use_dict = o.dictionary && b.dict_on && n.physical != p_boolean && b.values > 0 &&
                                  b.dict.size() * 2 <= b.values;
            if (use_dict) {
                m.dict_offset = static_cast<std::int64_t>(written);
                if (auto st = write_page(out, page_dictionary, b.dict_plain, static_cast<std::int64_t>(b.dict.size()),
                                         e_plain, unc, comp); !st)
                    return st;
                m.encodings = {e_plain, e_rle, e_rle_dictionary};
            } else {
                m.encodings = {e_plain, e_rle};
            }
            m.data_offset = static_cast<std::int64_t>(written);
            page.clear();
            auto levels = [&](const std::vector<std::uint16_t>& lv, int maxl) {
                const auto at = page.size();
                page.append(4, '\0');
                rle_encode16(page, lv.data(), lv.size(), bit_width(static_cast<std::uint64_t>(maxl)));
                const auto len = static_cast<std::uint32_t>(page.size() - at - 4);
                std::string tmp;
                put_le32(tmp, len);
                std::memcpy(page.data() + at, tmp.data(), 4);
            };
            if (n.max_rep > 0) levels(b.reps, n.max_rep);
            if (n.max_def > 0) levels(b.defs, n.max_def);
            if (use_dict) {
                const int w = std::max(1, bit_width(b.dict.size() - 1));
                page.push_back(static_cast<char>(w));
                rle_encode(page, b.idx.data(), b.idx.size(), w);
            } else if (n.physical == p_boolean) {
                std::uint8_t acc = 0;
                for (std::size_t i = 0; i < b.plain.size(); ++i) {
                    if (b.plain[i]) acc |= static_cast<std::uint8_t>(1u << (i % 8));
                    if (i % 8 == 7) {
                        page.push_back(static_cast<char>(acc));
                        acc = 0;
                    }
                }
                if (b.plain.size() % 8) page.push_back(static_cast<char>(acc));
            } else {
                page += b.plain;
            }
            if (auto st = write_page(out, page_data, page, m.num_values, use_dict ? e_rle_dictionary : e_plain, unc,
                                     comp); !st)
                return st;
            m.uncompressed = unc;
            m.compressed = comp;
            m.has_stats = true;
            m.nulls = static_cast<std::int64_t>(b.nulls);
            m.has_minmax = b.stats && b.have_minmax;
            if (m.has_minmax) {
                m.min = b.min;
                m.max = b.max;
                // Zeros: the spec asks for -0.0 as min and +0.0 as max.
                if (n.physical == p_float || n.physical == p_double) {
                    auto fix = [&](std::string& s, bool neg) {
                        double x = 0;
                        if (n.physical == p_float) {
                            float f;
                            std::memcpy(&f, s.data(), 4);
                            x = f;
                            if (x == 0) {
                                f = neg ? -0.0f : 0.0f;
                                std::memcpy(s.data(), &f, 4);
                            }
                        } else {
                            std::memcpy(&x, s.data(), 8);
                            if (x == 0) {
                                x = neg ? -0.0 : 0.0;
                                std::memcpy(s.data(), &x, 8);
                            }
                        }
                    };
                    fix(m.min, true);
                    fix(m.max, false);
                }
            }
            g.bytes += unc;
            g.compressed += comp;
            g.columns.push_back(std::move(m));
            const bool keep_stats = has_order_stats(n);
            b.reset();
            b.stats = keep_stats;
        }
        groups.push_back(std::move(g));
        group_rows = 0;
        buffered = 0;
        return {};
    }

    void write_footer(std::string& out) {
        std::string meta;
        thrift::writer w(meta);
        w.begin_struct();
        w.field_i32(1, 1);
        std::size_t n_schema = 1;
        for (const auto& t : top) n_schema += count_nodes(t);
        w.field_list(2, thrift::t_struct, n_schema);
        w.begin_struct();
        w.field_binary(4, "schema");
        w.field_i32(5, static_cast<std::int64_t>(top.size()));
        w.end_struct();
        for (const auto& t : top) write_schema_tree(w, t);
        w.field_i64(3, static_cast<std::int64_t>(total_rows));
        w.field_list(4, thrift::t_struct, groups.size());
        for (std::size_t gi = 0; gi < groups.size(); ++gi) {
            const auto& g = groups[gi];
            w.begin_struct();
            w.field_list(1, thrift::t_struct, g.columns.size());
            for (const auto& c : g.columns) {
                w.begin_struct();
                w.field_i64(2, c.dict_offset >= 0 ? c.dict_offset : c.data_offset);
                w.field_struct(3);
                w.begin_struct();
                w.field_i32(1, c.physical);
                w.field_list(2, thrift::t_i32, c.encodings.size());
                for (auto e : c.encodings) w.elem_i32(e);
                w.field_list(3, thrift::t_binary, c.path.size());
                for (const auto& p : c.path) w.elem_binary(p);
                w.field_i32(4, codec_id());
                w.field_i64(5, c.num_values);
                w.field_i64(6, c.uncompressed);
                w.field_i64(7, c.compressed);
                w.field_i64(9, c.data_offset);
                if (c.dict_offset >= 0) w.field_i64(11, c.dict_offset);
                if (c.has_stats) {
                    w.field_struct(12);
                    w.begin_struct();
                    w.field_i64(3, c.nulls);
                    if (c.has_minmax) {
                        w.field_binary(5, c.max);
                        w.field_binary(6, c.min);
                    }
                    w.end_struct();
                }
                w.end_struct();
                w.end_struct();
            }
            w.field_i64(2, g.bytes);
            w.field_i64(3, g.rows);
            w.field_i64(5, g.offset);
            w.field_i64(6, g.compressed);
            w.field_i16(7, static_cast<std::int64_t>(gi));
            w.end_struct();
        }
        // Key/value metadata: the CQL type of every column, so a reader (ours) can
        // restore what Parquet has no type for (vector dimension, set vs list).
        w.field_list(5, thrift::t_struct, columns.size());
        for (const auto& c : columns) {
            w.begin_struct();
            w.field_binary(1, "cqlpp.cql_type." + c.name);
            w.field_binary(2, protocol::to_cql_name(c.type));
            w.end_struct();
        }
        w.field_binary(6, "cqlpp (parquet writer of the cqlpp bulk module)");
        w.field_list(7, thrift::t_struct, leaves.size());
        for (std::size_t i = 0; i < leaves.size(); ++i) {
            w.begin_struct();
            w.field_struct(1);
            w.begin_struct();
            w.end_struct();
            w.end_struct();
        }
        w.end_struct();
        emit(out, meta);
        std::string tail;
        put_le32(tail, static_cast<std::uint32_t>(meta.size()));
        tail += "PAR1";
        emit(out, tail);
    }
};

parquet_writer::parquet_writer(std::vector<protocol::column_spec> columns, parquet_write_options o)
    : p_(std::make_unique<impl>()) {
    p_->columns = std::move(columns);
    p_->o = o;
    if (p_->o.row_group_rows == 0) p_->o.row_group_rows = 1;
    for (const auto& c : p_->columns) p_->top.push_back(make_node(c.name, c.type, optional, p_->o.iceberg));
    std::size_t next_id = 0;
    for (auto& t : p_->top) assign_field_ids(t, p_->o.field_ids, next_id);
    for (auto& t : p_->top) assign_levels(t, 0, 0, p_->leaves);
    p_->bufs.resize(p_->leaves.size());
    for (std::size_t i = 0; i < p_->leaves.size(); ++i) {
        p_->bufs[i].n = p_->leaves[i];
        p_->bufs[i].stats = has_order_stats(*p_->leaves[i]);
        std::vector<std::string> path;
        bool found = false;
        for (const auto& t : p_->top) {
            path_of(t, p_->leaves[i], path, found);
            if (found) break;
        }
        p_->paths.push_back(std::move(path));
    }
}

parquet_writer::~parquet_writer() = default;

status parquet_writer::add_row(std::span<const cql_value> row, std::string& out) {
    auto& p = *p_;
    if (p.finished) return {errc::io_error, "parquet writer: add_row after finish"};
    if (row.size() != p.top.size())
        return {errc::field_count, "row has " + std::to_string(row.size()) + " values for " +
                                       std::to_string(p.top.size()) + " columns"};
    if (!p.started) {
        p.emit(out, "PAR1");
        p.started = true;
    }
    struct mark {
        std::size_t defs, reps, plain, idx;
        std::uint64_t values, entries, nulls;
    };
    thread_local std::vector<mark> marks;
    marks.resize(p.bufs.size());
    for (std::size_t i = 0; i < p.bufs.size(); ++i) {
        const auto& b = p.bufs[i];
        marks[i] = {b.defs.size(), b.reps.size(), b.plain.size(), b.idx.size(), b.values, b.entries, b.nulls};
    }
    for (std::size_t i = 0; i < row.size(); ++i) {
        if (auto st = p.shred(p.top[i], &row[i], 0, 0); !st) {
            for (std::size_t k = 0; k < p.bufs.size(); ++k) {
                auto& b = p.bufs[k];
                b.defs.resize(marks[k].defs);
                b.reps.resize(marks[k].reps);
                b.plain.resize(marks[k].plain);
                if (b.dict_on) b.idx.resize(std::min(b.idx.size(), marks[k].idx));
                b.values = marks[k].values;
                b.entries = marks[k].entries;
                b.nulls = marks[k].nulls;
            }
            return {st.code, "column \"" + p.columns[i].name + "\": " + st.message};
        }
    }
    ++p.total_rows;
    ++p.group_rows;
    if (p.group_rows >= p.o.row_group_rows || p.buffered >= p.o.row_group_bytes) return p.flush_group(out);
    return {};
}

status parquet_writer::finish(std::string& out) {
    auto& p = *p_;
    if (p.finished) return {};
    if (!p.started) {
        p.emit(out, "PAR1");
        p.started = true;
    }
    if (auto st = p.flush_group(out); !st) return st;
    p.write_footer(out);
    p.finished = true;
    return {};
}

std::uint64_t parquet_writer::rows() const noexcept { return p_->total_rows; }
std::uint64_t parquet_writer::bytes_written() const noexcept { return p_->written; }

std::vector<std::pair<std::int32_t, std::uint64_t>> parquet_writer::column_sizes() const {
    std::vector<std::pair<std::int32_t, std::uint64_t>> out;
    for (std::size_t i = 0; i < p_->leaves.size(); ++i) {
        if (p_->leaves[i]->field_id < 0) continue;
        std::uint64_t n = 0;
        for (const auto& g : p_->groups)
            if (i < g.columns.size()) n += static_cast<std::uint64_t>(g.columns[i].compressed);
        out.emplace_back(p_->leaves[i]->field_id, n);
    }
    return out;
}

}  // namespace cqlpp::bulk
