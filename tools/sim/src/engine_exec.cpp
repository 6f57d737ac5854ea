// Statement execution: value resolution, SELECT (single partition, IN, token
// range scans, filtering, paging), INSERT/UPDATE/DELETE with timestamps, TTLs,
// collections, counters and lightweight transactions, and consistency checks.
#include "engine_internal.hpp"

#include <bit>

#include "cqlpp/protocol/murmur3.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

namespace cqlpp::sim::detail {

namespace {

constexpr std::int32_t max_ttl = 630720000;  // 20 years, Cassandra's limit

std::int32_t read_i32(bytes_view b) noexcept { return static_cast<std::int32_t>(proto::detail::load_be32(b.data())); }
std::int64_t read_i64(bytes_view b) noexcept { return static_cast<std::int64_t>(proto::detail::load_be64(b.data())); }

byte_buffer& scratch(exec_ctx& ctx) { return ctx.scratch.emplace_back(); }

// ---- time-based values ----------------------------------------------------------

std::int64_t timeuuid_millis(bytes_view u) {
    if (u.size() != 16) throw_invalid("Invalid timeuuid");
    std::uint64_t ts = (std::uint64_t(proto::detail::load_be16(u.data() + 6) & 0x0FFF) << 48) |
                       (std::uint64_t(proto::detail::load_be16(u.data() + 4)) << 32) | proto::detail::load_be32(u.data());
    return static_cast<std::int64_t>((ts - 0x01B21DD213814000ULL) / 10000);
}

byte_buffer timestamp_as(const cql_type& t, std::int64_t ms) {
    switch (t.kind) {
        case type_kind::timestamp:
        case type_kind::bigint: return enc_bigint(ms);
        case type_kind::date: {
            std::int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
            return enc_int(static_cast<std::int32_t>(static_cast<std::uint32_t>(days + proto::date_epoch)));
        }
        default: throw_invalid("Type error: cannot assign a timestamp to a value of type " + type_display(t));
    }
}

std::atomic<std::uint64_t> uuid_seq{0};

}  // namespace

proto::uuid_bytes make_timeuuid(std::int64_t unix_us) {
    // 100ns intervals since 1582-10-15, plus a sequence for uniqueness within a µs.
    std::uint64_t ts = static_cast<std::uint64_t>(unix_us) * 10 + 0x01B21DD213814000ULL + (uuid_seq.fetch_add(1) % 10);
    proto::uuid_bytes u{};
    proto::detail::store_be32(u.data(), static_cast<std::uint32_t>(ts));
    proto::detail::store_be16(u.data() + 4, static_cast<std::uint16_t>(ts >> 32));
    proto::detail::store_be16(u.data() + 6, static_cast<std::uint16_t>(((ts >> 48) & 0x0FFF) | 0x1000));
    static const std::uint64_t node = std::random_device{}() | 0x010000000000ULL;
    u[8] = static_cast<std::uint8_t>(0x80 | (uuid_seq.load() >> 8 & 0x3F));
    u[9] = static_cast<std::uint8_t>(uuid_seq.load());
    for (int i = 0; i < 6; ++i) u[static_cast<std::size_t>(10 + i)] = static_cast<std::uint8_t>(node >> (40 - 8 * i));
    return u;
}

// ---- values -------------------------------------------------------------------------

value_view get_value(const value_src& v, exec_ctx& ctx) {
    switch (v.k) {
        case value_src::kind::constant: return value_view::of(v.constant);
        case value_src::kind::null: return value_view::null();
        case value_src::kind::bind: {
            auto i = static_cast<std::size_t>(v.bind);
            if (i >= ctx.values.size()) throw_invalid("Missing value for bind marker " + std::to_string(v.bind));
            const auto& val = ctx.values[i];
            if (val.is_set()) validate_value(v.type, val.bytes, v.column);
            return val;
        }
        case value_src::kind::json: {
            auto i = static_cast<std::size_t>(v.bind);
            return i < ctx.json_values.size() ? ctx.json_values[i] : value_view::null();
        }
        case value_src::kind::dynamic: {
            auto& buf = scratch(ctx);
            if (!eval_term(v.type, *v.expr, ctx, v.column, buf)) return value_view::null();
            return value_view::of(buf);
        }
    }
    return value_view::null();
}

bool eval_term(const cql_type& t, const term& e, exec_ctx& ctx, std::string_view column, byte_buffer& out) {
    out.clear();
    switch (e.kind) {
        case term_kind::bind_marker: {
            auto i = static_cast<std::size_t>(e.bind_index);
            if (i >= ctx.values.size()) throw_invalid("Missing value for bind marker " + std::to_string(e.bind_index));
            const auto& val = ctx.values[i];
            if (!val.is_set()) return false;
            validate_value(t, val.bytes, column);
            out.assign(val.bytes.begin(), val.bytes.end());
            return true;
        }
        case term_kind::function_call: {
            const auto& n = e.name;
            std::int64_t now_ms = ctx.now_us / 1000;
            if (n == "now" || n == "currenttimeuuid") {
                if (t.kind != type_kind::timeuuid && t.kind != type_kind::uuid)
                    throw_invalid("Type error: " + n + "() cannot be used for \"" + std::string(column) + "\" of type " + type_display(t));
                auto u = make_timeuuid(ctx.now_us);
                out.assign(u.begin(), u.end());
                return true;
            }
            if (n == "uuid") {
                std::mt19937_64 rng(static_cast<std::uint64_t>(ctx.now_us) ^ uuid_seq.fetch_add(1) * 0x9E3779B97F4A7C15ULL);
                proto::uuid_bytes u{};
                proto::detail::store_be64(u.data(), rng());
                proto::detail::store_be64(u.data() + 8, rng());
                u[6] = static_cast<std::uint8_t>((u[6] & 0x0F) | 0x40);
                u[8] = static_cast<std::uint8_t>((u[8] & 0x3F) | 0x80);
                out.assign(u.begin(), u.end());
                return true;
            }
            if (n == "fromjson") {
                if (e.children.size() != 1) throw_invalid("Invalid number of arguments in call to function system.fromjson: 1 required but " + std::to_string(e.children.size()) + " provided");
                byte_buffer arg;
                if (!eval_term(cql_type(type_kind::text), e.children[0], ctx, column, arg)) return false;
                return from_json(t, proto::as_chars(arg), out);
            }
            if (n == "currenttimestamp") {
                out = timestamp_as(t, now_ms);
                return true;
            }
            if (n == "currentdate") {
                out = timestamp_as(cql_type(type_kind::date), now_ms);
                return true;
            }
            if (n == "currenttime") {
                out = enc_bigint((ctx.now_us % 86400000000LL) * 1000);
                return true;
            }
            if (n == "totimestamp" || n == "todate" || n == "tounixtimestamp" || n == "dateof" || n == "unixtimestampof") {
                if (e.children.size() != 1) throw_invalid("Invalid number of arguments in call to function " + n);
                byte_buffer arg;
                if (!eval_term(cql_type(type_kind::timeuuid), e.children[0], ctx, column, arg)) return false;
                auto ms = timeuuid_millis(arg);
                if (n == "todate") out = timestamp_as(cql_type(type_kind::date), ms);
                else if (n == "tounixtimestamp" || n == "unixtimestampof") out = enc_bigint(ms);
                else out = timestamp_as(t, ms);
                return true;
            }
            if (n == "mintimeuuid" || n == "maxtimeuuid") {
                if (e.children.size() != 1) throw_invalid("Invalid number of arguments in call to function " + n);
                byte_buffer arg;
                if (!eval_term(cql_type(type_kind::timestamp), e.children[0], ctx, column, arg)) return false;
                std::uint64_t ts = static_cast<std::uint64_t>(read_i64(arg)) * 10000 + 0x01B21DD213814000ULL;
                if (n == "maxtimeuuid") ts += 9999;
                proto::uuid_bytes u{};
                proto::detail::store_be32(u.data(), static_cast<std::uint32_t>(ts));
                proto::detail::store_be16(u.data() + 4, static_cast<std::uint16_t>(ts >> 32));
                proto::detail::store_be16(u.data() + 6, static_cast<std::uint16_t>(((ts >> 48) & 0x0FFF) | 0x1000));
                std::fill(u.begin() + 8, u.end(), n == "maxtimeuuid" ? 0x7F : 0x80);
                out.assign(u.begin(), u.end());
                return true;
            }
            throw_invalid("Unknown function '" + n + "' (not supported by the simulator)");
        }
        case term_kind::type_cast:
            if (e.children.empty()) return false;
            return eval_term(t, e.children[0], ctx, column, out);
        case term_kind::list:
        case term_kind::set:
        case term_kind::tuple:
        case term_kind::map:
        case term_kind::udt: {
            if (e.is_constant()) return literal_bytes(t, e, column, out);
            proto::byte_writer w(out);
            std::vector<byte_buffer> parts;
            auto child = [&](const cql_type& ct, const term& c) -> bool {
                auto& b = parts.emplace_back();
                return eval_term(ct, c, ctx, column, b);
            };
            if (e.kind == term_kind::tuple && t.kind == type_kind::tuple) {
                for (std::size_t i = 0; i < e.children.size(); ++i) {
                    if (i >= t.params.size()) throw_invalid("Invalid tuple literal for " + std::string(column) + ": too many elements");
                    if (child(t.params[i], e.children[i])) w.bytes(bytes_view(parts.back()));
                    else w.null_bytes();
                }
                return true;
            }
            if (e.kind == term_kind::udt && t.kind == type_kind::udt) {
                std::vector<std::optional<byte_buffer>> fields(t.params.size());
                for (std::size_t i = 0; i + 1 < e.children.size(); i += 2) {
                    auto f = std::find(t.field_names.begin(), t.field_names.end(), e.children[i].name);
                    if (f == t.field_names.end()) throw_invalid("Unknown field '" + e.children[i].name + "' in value of user defined type " + t.name);
                    auto idx = static_cast<std::size_t>(f - t.field_names.begin());
                    byte_buffer b;
                    if (eval_term(t.params[idx], e.children[i + 1], ctx, column, b)) fields[idx] = std::move(b);
                }
                for (auto& f : fields) {
                    if (f) w.bytes(bytes_view(*f));
                    else w.null_bytes();
                }
                return true;
            }
            if ((e.kind == term_kind::list || e.kind == term_kind::set) &&
                (t.kind == type_kind::list || t.kind == type_kind::set) && !t.params.empty()) {
                std::vector<bytes_view> elems;
                for (const auto& c : e.children) {
                    if (!child(t.params[0], c)) throw_invalid("null is not supported inside collections");
                }
                for (auto& p : parts) elems.push_back(p);
                if (t.kind == type_kind::set) {
                    std::sort(elems.begin(), elems.end(), [&](bytes_view a, bytes_view b) { return compare_values(t.params[0], a, b) < 0; });
                    elems.erase(std::unique(elems.begin(), elems.end(),
                                            [&](bytes_view a, bytes_view b) { return compare_values(t.params[0], a, b) == 0; }),
                                elems.end());
                }
                join_collection(elems, elems.size(), out);
                return true;
            }
            if (e.kind == term_kind::map && t.kind == type_kind::map && t.params.size() == 2) {
                std::vector<std::pair<byte_buffer, byte_buffer>> entries;
                for (std::size_t i = 0; i + 1 < e.children.size(); i += 2) {
                    byte_buffer k, v;
                    if (!eval_term(t.params[0], e.children[i], ctx, column, k) || !eval_term(t.params[1], e.children[i + 1], ctx, column, v))
                        throw_invalid("null is not supported inside collections");
                    entries.emplace_back(std::move(k), std::move(v));
                }
                std::stable_sort(entries.begin(), entries.end(),
                                 [&](const auto& a, const auto& b) { return compare_values(t.params[0], a.first, b.first) < 0; });
                w.i32(static_cast<std::int32_t>(entries.size()));
                for (auto& [k, v] : entries) {
                    w.bytes(bytes_view(k));
                    w.bytes(bytes_view(v));
                }
                return true;
            }
            throw_invalid("Invalid literal for " + std::string(column) + " of type " + type_display(t));
        }
        default: return literal_bytes(t, e, column, out);
    }
}

namespace {

std::optional<std::int32_t> int_value(const std::optional<value_src>& v, exec_ctx& ctx) {
    if (!v) return std::nullopt;
    auto val = get_value(*v, ctx);
    if (val.is_unset()) return std::nullopt;
    if (val.is_null()) throw_invalid("Invalid null value of " + v->column);
    if (val.bytes.size() != 4) throw_invalid("Invalid value for " + v->column);
    return read_i32(val.bytes);
}

// Every combination of the per-column IN lists, serialized as partition keys.
struct key_list {
    std::vector<std::vector<bytes_view>> components;  // per column: values
};

void column_values(const std::vector<value_src>& vals, const std::optional<value_src>& marker, exec_ctx& ctx,
                   std::vector<bytes_view>& out, const char* what) {
    auto add = [&](value_view v, const std::string& col) {
        if (v.is_unset()) throw_invalid("Invalid unset value for column " + col);
        if (v.is_null()) throw_invalid(std::string("Invalid null value ") + what + " for column " + col);
        out.push_back(v.bytes);
    };
    if (marker) {
        auto v = get_value(*marker, ctx);
        if (v.is_unset()) throw_invalid("Invalid unset value for column " + marker->column);
        if (v.is_null()) throw_invalid("Invalid null value for IN restriction on column " + marker->column);
        std::vector<bytes_view> elems;
        if (!split_collection(v.bytes, elems)) throw_invalid("Invalid list value for IN restriction on column " + marker->column);
        for (auto e : elems) {
            validate_value(marker->type.params[0], e, marker->column);
            out.push_back(e);
        }
        return;
    }
    for (const auto& s : vals) add(get_value(s, ctx), s.column);
}

template <class F>
void cartesian(const std::vector<std::vector<bytes_view>>& cols, F&& f) {
    if (cols.empty()) return;
    for (const auto& c : cols)
        if (c.empty()) return;
    std::vector<std::size_t> idx(cols.size(), 0);
    std::vector<bytes_view> cur(cols.size());
    for (;;) {
        for (std::size_t i = 0; i < cols.size(); ++i) cur[i] = cols[i][idx[i]];
        f(cur);
        std::size_t k = cols.size();
        while (k > 0) {
            --k;
            if (++idx[k] < cols[k].size()) break;
            idx[k] = 0;
            if (k == 0) return;
        }
    }
}

struct pkey {
    std::int64_t t;
    byte_buffer key;
    std::vector<bytes_view> comps;
};

// Keys of an IN query come back in the partition key's own order (what
// Cassandra does: sorted by value, whatever the order inside IN), not by token.
std::vector<pkey> partition_keys(const table_def& t, const std::vector<std::vector<value_src>>& vals,
                                 const std::vector<std::optional<value_src>>& markers, exec_ctx& ctx) {
    // Fast path: one value per column (the prepared single-partition case).
    bool single = true;
    for (std::size_t i = 0; i < vals.size() && single; ++i) single = vals[i].size() == 1 && !markers[i];
    if (single) {
        std::vector<pkey> keys(1);
        auto& k = keys[0];
        k.comps.reserve(vals.size());
        for (const auto& v : vals) {
            auto x = get_value(v[0], ctx);
            if (x.is_unset()) throw_invalid("Invalid unset value for column " + v[0].column);
            if (x.is_null()) throw_invalid("Invalid null value in condition for column " + v[0].column);
            k.comps.push_back(x.bytes);
        }
        if (k.comps.size() == 1) k.key.assign(k.comps[0].begin(), k.comps[0].end());
        else proto::composite_key(k.comps, k.key);
        k.t = proto::murmur3_token(k.key);
        return keys;
    }
    std::vector<std::vector<bytes_view>> cols(vals.size());
    for (std::size_t i = 0; i < vals.size(); ++i) column_values(vals[i], markers[i], ctx, cols[i], "in condition");
    std::vector<pkey> keys;
    cartesian(cols, [&](const std::vector<bytes_view>& c) {
        pkey k;
        if (c.size() == 1) k.key.assign(c[0].begin(), c[0].end());
        else proto::composite_key(c, k.key);
        k.t = proto::murmur3_token(k.key);
        k.comps = c;
        keys.push_back(std::move(k));
    });
    auto cmp = [&](const pkey& a, const pkey& b) {
        for (std::size_t i = 0; i < a.comps.size() && i < b.comps.size(); ++i)
            if (int c = compare_values(t.columns[static_cast<std::size_t>(t.pk[i])].type, a.comps[i], b.comps[i])) return c;
        return 0;
    };
    std::sort(keys.begin(), keys.end(), [&](const pkey& a, const pkey& b) { return cmp(a, b) < 0; });
    keys.erase(std::unique(keys.begin(), keys.end(), [&](const pkey& a, const pkey& b) { return cmp(a, b) == 0; }), keys.end());
    return keys;
}

std::vector<byte_buffer> clustering_prefixes(const std::vector<std::vector<value_src>>& vals,
                                             const std::vector<std::optional<value_src>>& markers, exec_ctx& ctx) {
    std::vector<std::vector<bytes_view>> cols(vals.size());
    for (std::size_t i = 0; i < vals.size(); ++i) column_values(vals[i], markers[i], ctx, cols[i], "in condition");
    std::vector<byte_buffer> out;
    if (cols.empty()) out.emplace_back();  // no clustering restriction: the empty prefix
    cartesian(cols, [&](const std::vector<bytes_view>& c) {
        byte_buffer k;
        for (auto v : c) append_component(k, v);
        out.push_back(std::move(k));
    });
    return out;
}

// A filter with its values resolved for this execution.
struct resolved_filter {
    const filter* f = nullptr;
    bool null_value = false;
    bytes_view value;
    std::vector<bytes_view> in_values;
    std::vector<std::optional<bytes_view>> tuple;                 // multi-column
    std::vector<std::vector<std::optional<bytes_view>>> tuple_in;  // multi-column IN
};

std::vector<resolved_filter> resolve_filters(const std::vector<filter>& fs, exec_ctx& ctx) {
    std::vector<resolved_filter> out;
    for (const auto& f : fs) {
        resolved_filter r;
        r.f = &f;
        auto one = [&](const value_src& s) -> std::optional<bytes_view> {
            auto v = get_value(s, ctx);
            if (v.is_unset()) throw_invalid("Invalid unset value for column " + s.column);
            if (v.is_null()) return std::nullopt;
            return v.bytes;
        };
        if (f.op == relation_op::in) {
            std::vector<bytes_view> vals;
            if (f.in_list) {
                for (const auto& s : f.in_values)
                    if (auto v = one(s)) vals.push_back(*v);
            } else {
                auto v = one(f.value);
                if (!v) throw_invalid("Invalid null value for IN restriction");
                if (!split_collection(*v, vals)) throw_invalid("Invalid list value for IN restriction");
            }
            if (f.columns.size() > 1) {
                for (auto v : vals) {
                    auto& t = r.tuple_in.emplace_back();
                    split_tuple(v, t);
                }
            }
            r.in_values = std::move(vals);
        } else {
            auto v = one(f.value);
            if (!v) r.null_value = true;
            else r.value = *v;
            if (f.columns.size() > 1 && v) split_tuple(*v, r.tuple);
        }
        out.push_back(std::move(r));
    }
    return out;
}

bool op_matches(relation_op op, int c) {
    switch (op) {
        case relation_op::eq: return c == 0;
        case relation_op::neq: return c != 0;
        case relation_op::lt: return c < 0;
        case relation_op::lte: return c <= 0;
        case relation_op::gt: return c > 0;
        case relation_op::gte: return c >= 0;
        default: return false;
    }
}

struct row_ref {
    const partition* p = nullptr;
    const byte_buffer* ck = nullptr;
    const row* r = nullptr;
};

// Value of a column in a row (nullopt: null / dead).
std::optional<bytes_view> column_value(const table_def& t, int col, const row_ref& rr, std::int32_t now_s) {
    const auto& c = t.columns[static_cast<std::size_t>(col)];
    switch (c.kind) {
        case column_kind::partition_key: return bytes_view(rr.p->pk_values[static_cast<std::size_t>(c.position)]);
        case column_kind::clustering:
            if (!rr.ck) return std::nullopt;
            return clustering_component(*rr.ck, c.position);
        case column_kind::static_: {
            auto s = static_cast<std::size_t>(c.slot);
            if (s < rr.p->statics.size() && rr.p->statics[s].live(now_s)) return bytes_view(rr.p->statics[s].value);
            return std::nullopt;
        }
        case column_kind::regular: {
            if (!rr.r) return std::nullopt;
            auto s = static_cast<std::size_t>(c.slot);
            if (s < rr.r->cells.size() && rr.r->cells[s].live(now_s)) return bytes_view(rr.r->cells[s].value);
            return std::nullopt;
        }
    }
    return std::nullopt;
}

const cell* column_cell(const table_def& t, int col, const row_ref& rr) {
    const auto& c = t.columns[static_cast<std::size_t>(col)];
    auto s = static_cast<std::size_t>(c.slot);
    if (c.kind == column_kind::static_) return s < rr.p->statics.size() ? &rr.p->statics[s] : nullptr;
    if (c.kind == column_kind::regular && rr.r) return s < rr.r->cells.size() ? &rr.r->cells[s] : nullptr;
    return nullptr;
}

bool passes(const table_def& t, const std::vector<resolved_filter>& fs, const row_ref& rr, std::int32_t now_s) {
    for (const auto& r : fs) {
        const auto& f = *r.f;
        if (f.columns.size() > 1) {
            if (!rr.ck) return false;
            auto cmp_tuple = [&](const std::vector<std::optional<bytes_view>>& tup) {
                for (std::size_t i = 0; i < f.columns.size() && i < tup.size(); ++i) {
                    auto v = column_value(t, f.columns[i], rr, now_s);
                    if (!v || !tup[i]) return v ? 1 : -1;
                    int c = compare_values(t.columns[static_cast<std::size_t>(f.columns[i])].type, *v, *tup[i]);
                    if (c) return c;
                }
                return 0;
            };
            if (f.op == relation_op::in) {
                bool any = false;
                for (const auto& tup : r.tuple_in)
                    if (cmp_tuple(tup) == 0) any = true;
                if (!any) return false;
            } else {
                if (r.null_value || !op_matches(f.op, cmp_tuple(r.tuple))) return false;
            }
            continue;
        }
        const auto& col = t.columns[static_cast<std::size_t>(f.columns[0])];
        auto v = column_value(t, f.columns[0], rr, now_s);
        if (!v) return false;
        switch (f.op) {
            case relation_op::in: {
                bool any = false;
                for (auto x : r.in_values)
                    if (compare_values(col.type, *v, x) == 0) any = true;
                if (!any) return false;
                break;
            }
            case relation_op::contains:
            case relation_op::contains_key: {
                if (r.null_value) return false;
                std::vector<bytes_view> elems;
                split_collection(*v, elems);
                const bool is_map = col.type.kind == type_kind::map;
                const auto& et = f.op == relation_op::contains_key || !is_map ? col.type.params[0] : col.type.params[1];
                bool any = false;
                for (std::size_t i = 0; i < elems.size(); ++i) {
                    if (is_map && (i % 2 == 0) != (f.op == relation_op::contains_key)) continue;
                    if (compare_values(et, elems[i], r.value) == 0) any = true;
                }
                if (!any) return false;
                break;
            }
            default:
                if (r.null_value || !op_matches(f.op, compare_values(col.type, *v, r.value))) return false;
        }
    }
    return true;
}

// Value of a selector expression for one row; false for null.
bool eval_sel(const sel_expr& e, const table_def& t, const row_ref& rr, exec_ctx& ctx, byte_buffer& out) {
    out.clear();
    switch (e.k) {
        case sel_expr::op::column: {
            auto v = column_value(t, e.column, rr, ctx.now_s);
            if (!v) return false;
            out.assign(v->begin(), v->end());
            return true;
        }
        case sel_expr::op::writetime:
        case sel_expr::op::max_writetime:
        case sel_expr::op::ttl: {
            const cell* c = column_cell(t, e.column, rr);
            if (!c || !c->live(ctx.now_s) || (e.k == sel_expr::op::ttl && c->expiry == 0)) return false;
            out = e.k == sel_expr::op::ttl ? enc_int(c->expiry - ctx.now_s) : enc_bigint(c->ts);
            return true;
        }
        case sel_expr::op::token: out = enc_bigint(rr.p->t); return true;
        case sel_expr::op::constant:
            if (e.index == 1) return false;
            out = e.constant;
            return true;
        case sel_expr::op::bind: {
            auto i = static_cast<std::size_t>(e.index);
            if (i >= ctx.values.size()) throw_invalid("Missing value for bind marker " + std::to_string(e.index));
            const auto& v = ctx.values[i];
            if (!v.is_set()) return false;
            validate_value(e.type, v.bytes, "?");
            out.assign(v.bytes.begin(), v.bytes.end());
            return true;
        }
        case sel_expr::op::field: {
            byte_buffer arg;
            if (!eval_sel(e.args[0], t, rr, ctx, arg)) return false;
            std::vector<std::optional<bytes_view>> fields;
            split_tuple(arg, fields);
            auto i = static_cast<std::size_t>(e.index);
            if (i >= fields.size() || !fields[i]) return false;
            out.assign(fields[i]->begin(), fields[i]->end());
            return true;
        }
        case sel_expr::op::cast: {
            byte_buffer arg;
            if (!eval_sel(e.args[0], t, rr, ctx, arg)) return false;
            return cast_value(e.args[0].type, arg, e.type, out);
        }
        case sel_expr::op::call: {
            std::vector<byte_buffer> bufs(e.args.size());
            std::vector<std::optional<bytes_view>> args;
            std::vector<cql_type> types;
            for (std::size_t i = 0; i < e.args.size(); ++i) {
                types.push_back(e.args[i].type);
                if (eval_sel(e.args[i], t, rr, ctx, bufs[i])) args.emplace_back(bytes_view(bufs[i]));
                else args.emplace_back(std::nullopt);
            }
            return apply_function(e.fn, types, args, e.type, ctx, out);
        }
        case sel_expr::op::count_rows:
        case sel_expr::op::aggregate: return false;
    }
    return false;
}

// ---- paging state ----------------------------------------------------------------------

constexpr std::uint8_t paging_magic = 0xC5;
namespace pflags {
constexpr std::uint8_t after_row = 1;       // resume after `ck` in the partition
constexpr std::uint8_t partition_done = 2;  // resume at the next partition
}  // namespace pflags

struct paging_pos {
    std::uint8_t flags = 0;
    std::int64_t t = 0;
    byte_buffer key;
    byte_buffer ck;
    std::int32_t remaining = -1;       // rows left of the LIMIT; -1: none
    std::int32_t partition_rows = 0;   // rows already returned from the partition (PER PARTITION LIMIT)
};

std::uint32_t paging_check(const table_def& t, bytes_view body) {
    auto h = hash16(std::string_view(reinterpret_cast<const char*>(t.id.data()), 16), proto::as_chars(body));
    return proto::detail::load_be32(h.data());
}

byte_buffer encode_paging(const table_def& t, const paging_pos& p) {
    byte_buffer out;
    proto::byte_writer w(out);
    w.u8(paging_magic);
    w.u8(p.flags);
    w.i64(p.t);
    w.bytes(bytes_view(p.key));
    w.bytes(bytes_view(p.ck));
    w.i32(p.remaining);
    w.i32(p.partition_rows);
    w.u32(paging_check(t, out));
    return out;
}

paging_pos decode_paging(const table_def& t, bytes_view b) {
    auto bad = [] { throw_error(proto::server_errc::protocol_error, "Invalid value for the paging state"); };
    if (b.size() < 4) bad();
    proto::byte_reader r(b);
    paging_pos p;
    if (r.u8() != paging_magic) bad();
    p.flags = r.u8();
    p.t = r.i64();
    auto k = r.bytes();
    auto c = r.bytes();
    p.remaining = r.i32();
    p.partition_rows = r.i32();
    auto body_len = b.size() - r.remaining();
    auto check = r.u32();
    if (!r.ok() || !r.empty() || !k || !c || check != paging_check(t, b.first(body_len)) || p.partition_rows < 0) bad();
    p.key.assign(k->begin(), k->end());
    p.ck.assign(c->begin(), c->end());
    return p;
}

}  // namespace

// ---- SELECT ------------------------------------------------------------------------------

void engine_impl::run_select(const select_plan& p, exec_ctx& ctx, proto::byte_writer& body) {
    const table_def& t = *p.table;
    const std::int32_t now_s = ctx.now_s;
    partition_map generated;
    const partition_map* data = &t.data;
    if (t.is_virtual()) {
        t.generator(*this, ctx, t, generated);
        data = &generated;
    }
    auto limit = int_value(p.limit, ctx);
    if (limit && *limit <= 0) throw_invalid("LIMIT must be strictly positive");
    auto ppl = int_value(p.per_partition_limit, ctx);
    if (ppl && *ppl <= 0) throw_invalid("PER PARTITION LIMIT must be strictly positive");
    auto filters = resolve_filters(p.filters, ctx);

    std::int64_t page = ctx.page_size > 0 ? ctx.page_size : cfg.max_unpaged_rows;
    std::optional<paging_pos> resume;
    if (ctx.paging_state && !p.count) resume = decode_paging(t, *ctx.paging_state);
    std::int64_t remaining = limit ? *limit : -1;
    if (resume && resume->remaining >= 0) remaining = resume->remaining;
    // Aggregates and ANN answer in one page (ANN results are ranked over every row).
    if (p.count || p.ann_column >= 0) page = std::numeric_limits<std::int64_t>::max();

    thread_local std::vector<value_view> cells;
    cells.clear();
    const std::size_t width = p.selection.size();
    std::int64_t emitted = 0;
    bool more = false, stop = false;
    paging_pos last;
    const bool user_table = !t.is_virtual() && !p.ks->is_system;
    std::size_t partitions_read = 0;

    // Aggregation state: the open group's key, first-row values and aggregates.
    bool group_open = false;
    std::vector<std::optional<byte_buffer>> group_key(p.group_by.size());
    std::vector<std::optional<byte_buffer>> group_first(p.count ? width : 0);
    std::vector<agg_state> states(p.count ? width : 0);
    auto flush_group = [&] {
        if (!group_open) return;
        group_open = false;
        if (remaining >= 0 && emitted >= remaining) {
            stop = true;
            return;
        }
        for (std::size_t i = 0; i < width; ++i) {
            const auto& s = p.selection[i];
            if (s.k == sel_kind::expr && s.expr->is_aggregate()) {
                auto& b = scratch(ctx);
                cells.push_back(aggregate_result(*s.expr, states[i], b) ? value_view::of(b) : value_view::null());
            } else if (group_first[i]) {
                auto& b = scratch(ctx);
                b = std::move(*group_first[i]);
                cells.push_back(value_view::of(b));
            } else {
                cells.push_back(value_view::null());
            }
        }
        ++emitted;
    };

    // IN on the partition key with ORDER BY: collect, merge by clustering, then emit.
    bool collect = p.ann_column >= 0;  // ANN: collect, rank by similarity, then emit
    std::vector<row_ref> collected;
    // With GROUP BY, PER PARTITION LIMIT counts groups, as Cassandra's group-by
    // limits do; otherwise rows.
    const bool limit_groups = p.count && !p.group_by.empty();
    auto emit = [&](const row_ref& rr, std::int32_t& part_rows) {
        if (ppl && !limit_groups && part_rows >= *ppl) return;
        if (collect) {
            collected.push_back(rr);
            ++part_rows;
            return;
        }
        if (p.count) {
            // Aggregation: a new group starts when the GROUP BY columns change.
            bool same = group_open;
            for (std::size_t i = 0; same && i < p.group_by.size(); ++i) {
                auto v = column_value(t, p.group_by[i], rr, now_s);
                same = v.has_value() == group_key[i].has_value() &&
                       (!v || proto::same_bytes(*v, bytes_view(*group_key[i])));
            }
            if (!same) {
                if (limit_groups && ppl && part_rows >= *ppl) return;
                flush_group();
                if (stop) return;
                group_open = true;
                if (limit_groups) ++part_rows;
                for (std::size_t i = 0; i < p.group_by.size(); ++i) {
                    auto v = column_value(t, p.group_by[i], rr, now_s);
                    if (v) group_key[i] = byte_buffer(v->begin(), v->end());
                    else group_key[i].reset();
                }
                for (std::size_t i = 0; i < width; ++i) {
                    auto& st = states[i];
                    st.reset();
                    const auto& s = p.selection[i];
                    if (s.k == sel_kind::expr && s.expr->is_aggregate()) continue;
                    // Non-aggregate selectors show the group's first row.
                    group_first[i].reset();
                    byte_buffer b;
                    bool has = false;
                    switch (s.k) {
                        case sel_kind::column: {
                            auto v = column_value(t, s.column, rr, now_s);
                            if (v) {
                                b.assign(v->begin(), v->end());
                                has = true;
                            }
                            break;
                        }
                        case sel_kind::expr: has = eval_sel(*s.expr, t, rr, ctx, b); break;
                        default: {
                            sel_expr e;
                            e.k = s.k == sel_kind::writetime ? sel_expr::op::writetime
                                  : s.k == sel_kind::ttl     ? sel_expr::op::ttl
                                  : s.k == sel_kind::token   ? sel_expr::op::token
                                                             : sel_expr::op::constant;
                            e.column = s.column;
                            e.constant = s.constant;
                            has = eval_sel(e, t, rr, ctx, b);
                        }
                    }
                    if (has) group_first[i] = std::move(b);
                }
            }
            for (std::size_t i = 0; i < width; ++i) {
                const auto& s = p.selection[i];
                if (s.k != sel_kind::expr || !s.expr->is_aggregate()) continue;
                const auto& e = *s.expr;
                if (e.k == sel_expr::op::count_rows) {
                    aggregate_add(e, states[i], std::nullopt);
                    continue;
                }
                if (e.args[0].k == sel_expr::op::column) {
                    aggregate_add(e, states[i], column_value(t, e.args[0].column, rr, now_s));
                    continue;
                }
                byte_buffer b;
                if (eval_sel(e.args[0], t, rr, ctx, b)) aggregate_add(e, states[i], bytes_view(b));
                else aggregate_add(e, states[i], std::nullopt);
            }
            if (!limit_groups) ++part_rows;
            return;
        }
        if (remaining >= 0 && emitted >= remaining) {
            stop = true;
            return;
        }
        if (emitted >= page) {
            more = true;
            stop = true;
            return;
        }
        for (const auto& s : p.selection) {
            switch (s.k) {
                case sel_kind::column: {
                    auto v = column_value(t, s.column, rr, now_s);
                    cells.push_back(v ? value_view::of(*v) : value_view::null());
                    break;
                }
                case sel_kind::writetime:
                case sel_kind::ttl: {
                    const cell* c = column_cell(t, s.column, rr);
                    if (!c || !c->live(now_s) || (s.k == sel_kind::ttl && c->expiry == 0)) {
                        cells.push_back(value_view::null());
                        break;
                    }
                    auto& b = scratch(ctx);
                    b = s.k == sel_kind::writetime ? enc_bigint(c->ts) : enc_int(c->expiry - now_s);
                    cells.push_back(value_view::of(b));
                    break;
                }
                case sel_kind::token: {
                    auto& b = scratch(ctx);
                    b = enc_bigint(rr.p->t);
                    cells.push_back(value_view::of(b));
                    break;
                }
                case sel_kind::constant: cells.push_back(value_view::of(s.constant)); break;
                case sel_kind::count: cells.push_back(value_view::null()); break;
                case sel_kind::expr: {
                    auto& b = scratch(ctx);
                    cells.push_back(eval_sel(*s.expr, t, rr, ctx, b) ? value_view::of(b) : value_view::null());
                    break;
                }
            }
        }
        ++emitted;
        ++part_rows;
        last.t = rr.p->t;
        last.key = rr.p->key;
        if (rr.ck) {
            last.ck = *rr.ck;
            last.flags = pflags::after_row;
        } else {
            last.ck.clear();
            last.flags = pflags::partition_done;
        }
        last.partition_rows = part_rows;
    };

    // Rows of one partition, in query order, from the resume point.
    auto scan_partition = [&](const partition& part) {
        std::int32_t part_rows = 0;
        const byte_buffer* after = nullptr;
        if (resume && resume->t == part.t && proto::same_bytes(resume->key, part.key)) {
            if (resume->flags & pflags::partition_done) return;
            part_rows = resume->partition_rows;
            if (resume->flags & pflags::after_row) after = &resume->ck;
        }
        if (p.distinct) {
            bool live = part.has_live_static(now_s);
            for (auto it = part.rows.begin(); !live && it != part.rows.end(); ++it) live = it->second.live(now_s);
            if (live) {
                row_ref rr{&part, nullptr, nullptr};
                if (passes(t, filters, rr, now_s) || filters.empty()) emit(rr, part_rows);
            }
            return;
        }
        bool any_row = false;
        auto visit = [&](row_map::const_iterator it) {
            if (!it->second.live(now_s)) return;
            any_row = true;
            row_ref rr{&part, &it->first, &it->second};
            if (!passes(t, filters, rr, now_s)) return;
            emit(rr, part_rows);
        };
        auto range = [&](row_map::const_iterator b, row_map::const_iterator e) {
            const ck_less& less = part.rows.key_comp();
            const auto end = part.rows.end();
            // Position order of two iterators of this map (end is last).
            auto before = [&](row_map::const_iterator x, row_map::const_iterator y) {
                if (x == end) return false;
                if (y == end) return true;
                return less(x->first, y->first);
            };
            if (!p.reversed) {
                if (after) {
                    auto ub = part.rows.upper_bound(*after);
                    if (before(b, ub)) b = ub;
                }
                if (!before(b, e)) return;
                for (auto it = b; it != e && !stop; ++it) visit(it);
            } else {
                if (after) {
                    auto lb = part.rows.lower_bound(*after);
                    if (before(lb, e)) e = lb;
                }
                if (!before(b, e)) return;
                for (auto it = e; it != b && !stop;) {
                    --it;
                    visit(it);
                }
            }
        };
        if (!p.ck_prefix.empty()) {
            auto prefixes = clustering_prefixes(p.ck_prefix, p.ck_in_marker, ctx);
            const ck_less& less = part.rows.key_comp();
            std::sort(prefixes.begin(), prefixes.end(), [&](const byte_buffer& a, const byte_buffer& b) { return less.compare(a, b, -1) < 0; });
            prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
            if (p.reversed) std::reverse(prefixes.begin(), prefixes.end());
            for (const auto& pre : prefixes) {
                if (stop) break;
                auto b = part.rows.lower_bound(prefix_lo{pre});
                auto e = part.rows.upper_bound(prefix_hi{pre});
                range(b, e);
            }
        } else {
            range(part.rows.begin(), part.rows.end());
        }
        // A partition with only static values shows as one row when the query
        // does not restrict clustering columns.
        if (!any_row && !stop && p.ck_prefix.empty() && part.has_live_static(now_s) && !after) {
            row_ref rr{&part, nullptr, nullptr};
            bool ok = true;
            for (const auto& f : filters)
                for (int c : f.f->columns)
                    if (t.columns[static_cast<std::size_t>(c)].kind == column_kind::clustering ||
                        t.columns[static_cast<std::size_t>(c)].kind == column_kind::regular)
                        ok = false;
            if (ok && passes(t, filters, rr, now_s)) emit(rr, part_rows);
        }
    };

    if (p.full_pk) {
        auto keys = partition_keys(*p.table, p.pk_values, p.pk_in_marker, ctx);
        partitions_read = keys.size();
        for (const auto& k : keys) {
            if (user_table) {
                check_available(*p.ks, k.t, ctx.cl, ctx.coordinator, false);
                note_partition(ctx, *p.ks, k.t);
            }
        }
        if (keys.size() > 1 && p.ordered && !p.count) {
            if (ctx.page_size > 0)
                throw_invalid("Cannot page queries with both ORDER BY and a IN restriction on the partition key; you must "
                              "either remove the ORDER BY or the IN and sort client side, or disable paging for this query");
            collect = true;
        }
        // A resumed page starts at the partition it stopped in (keys are in value order, not token order).
        bool skipping = resume.has_value() &&
                        std::any_of(keys.begin(), keys.end(), [&](const pkey& k) { return k.t == resume->t && proto::same_bytes(k.key, resume->key); });
        for (const auto& k : keys) {
            if (stop) break;
            if (skipping) {
                if (k.t != resume->t || !proto::same_bytes(k.key, resume->key)) continue;
                skipping = false;
            }
            const partition* part = nullptr;
            if (data == &t.data) {
                auto it = p.table->find_partition(k.t, k.key);
                if (it != t.data.end()) part = &it->second;
            } else {
                auto it = data->find(partition_pos{k.t, k.key});
                if (it != data->end()) part = &it->second;
            }
            if (part) scan_partition(*part);
        }
        if (collect && p.ann_column < 0) {
            collect = false;
            const ck_less less{t.layout.get()};
            std::stable_sort(collected.begin(), collected.end(), [&](const row_ref& a, const row_ref& b) {
                if (!a.ck || !b.ck) return !a.ck && b.ck;
                int c = less.compare(*a.ck, *b.ck, -1);
                return p.reversed ? c > 0 : c < 0;
            });
            for (const auto& rr : collected) {
                if (stop) break;
                std::int32_t n = 0;
                emit(rr, n);
            }
        }
    } else {
        if (user_table) check_range_available(*p.ks, ctx.cl, ctx.coordinator);
        std::optional<std::int64_t> lo, hi;
        bool lo_incl = p.token_lo_incl, hi_incl = p.token_hi_incl;
        auto tok = [&](const value_src& s) -> std::optional<std::int64_t> {
            auto v = get_value(s, ctx);
            if (v.is_unset()) throw_invalid("Invalid unset value for partition key token");
            if (v.is_null()) throw_invalid("Invalid null value for partition key token");
            if (v.bytes.size() != 8) throw_invalid("Invalid token value (expected 8 bytes)");
            return read_i64(v.bytes);
        };
        if (p.token_eq) {
            lo = hi = tok(*p.token_eq);
            lo_incl = hi_incl = true;
        }
        if (p.token_lo) lo = tok(*p.token_lo);
        if (p.token_hi) {
            hi = tok(*p.token_hi);
            // An upper bound at the minimum token means "to the end of the ring", as in Cassandra.
            if (*hi == proto::min_token && !p.token_eq) hi.reset();
        }
        auto it = data->begin();
        if (lo) it = data->lower_bound(partition_pos{*lo, {}});
        if (resume) {
            // Start at whichever is later: the token bound or the resume point.
            auto r = data->lower_bound(partition_pos{resume->t, resume->key});
            if (r == data->end() ||
                (it != data->end() && partition_key_less::cmp(r->first.first, r->first.second, it->first.first, it->first.second) > 0))
                it = r;
        }
        for (; it != data->end() && !stop; ++it) {
            const auto& part = it->second;
            if (lo && (part.t < *lo || (!lo_incl && part.t == *lo))) continue;
            if (hi && (part.t > *hi || (!hi_incl && part.t == *hi))) break;
            scan_partition(part);
        }
    }

    if (p.ann_column >= 0) {
        collect = false;
        auto q = get_value(p.ann_vector, ctx);
        if (!q.is_set()) throw_invalid("Invalid null value for ANN OF");
        const auto& vt = t.columns[static_cast<std::size_t>(p.ann_column)].type;
        const std::vector<cql_type> types{vt, vt};
        const std::string fn = "similarity_" + p.ann_similarity;
        const cql_type ft(type_kind::float_);
        std::vector<std::pair<float, row_ref>> scored;
        scored.reserve(collected.size());
        for (const auto& rr : collected) {
            auto v = column_value(t, p.ann_column, rr, now_s);
            // Rows without a vector are not in the index; nor are all-zero ones under cosine.
            if (!v) continue;
            bool zero = true;
            for (std::size_t i = 0; zero && i + 4 <= v->size(); i += 4)
                zero = (static_cast<std::uint32_t>(read_i32(v->subspan(i, 4))) & 0x7FFFFFFFu) == 0;
            if (zero && p.ann_similarity == "cosine") continue;
            byte_buffer b;
            if (!apply_function(fn, types, {*v, q.bytes}, ft, ctx, b) || b.size() != 4) continue;
            scored.emplace_back(std::bit_cast<float>(static_cast<std::uint32_t>(read_i32(b))), rr);
        }
        std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
        for (const auto& [score, rr] : scored) {
            if (stop) break;
            std::int32_t n = 0;
            emit(rr, n);
        }
    }

    if (p.count) {
        if (group_open) {
            flush_group();
        } else if (p.group_by.empty()) {
            // No row: one result row (count 0, sum 0, max null, columns null).
            group_open = true;
            flush_group();
        }
        more = false;
        if (!p.full_pk || partitions_read > 1)
            ctx.info->warnings.emplace_back(p.full_pk ? "Aggregation query used on multiple partition keys (IN restriction)"
                                                      : "Aggregation query used without partition key");
    }

    if (p.json && width > 0) {
        // SELECT JSON: each row's cells become one JSON object (keys quoted as Cassandra does for case-sensitive names).
        std::vector<value_view> json_cells;
        for (std::size_t r = 0; r + width <= cells.size(); r += width) {
            std::string js = "{";
            for (std::size_t i = 0; i < width; ++i) {
                const auto& col = p.inner_meta.columns[i];
                if (i) js += ", ";
                const bool plain = std::all_of(col.name.begin(), col.name.end(),
                                               [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
                append_json_string(js, plain ? col.name : "\"" + col.name + "\"");
                js += ": ";
                const auto& v = cells[r + i];
                append_json(js, col.type, v.is_set() ? std::optional<bytes_view>(v.bytes) : std::nullopt);
            }
            js += "}";
            auto& b = scratch(ctx);
            b.assign(js.begin(), js.end());
            json_cells.push_back(value_view::of(b));
        }
        cells = std::move(json_cells);
    }

    // Rows body: metadata (pre-encoded specs), then cells.
    const bool v5 = ctx.version == proto::protocol_version::v5;
    const bool changed = v5 && ctx.has_result_metadata_id && !proto::same_bytes(ctx.result_metadata_id, p.metadata_id);
    const bool no_meta = ctx.skip_metadata && !changed;
    byte_buffer state;
    if (more) {
        last.remaining = remaining >= 0 ? static_cast<std::int32_t>(remaining - emitted) : -1;
        state = encode_paging(t, last);
    }
    body.i32(static_cast<std::int32_t>(proto::result_kind::rows));
    std::int32_t flags = no_meta ? proto::metadata_flags::no_metadata : read_i32(bytes_view(p.metadata).first(4));
    if (more) flags |= proto::metadata_flags::has_more_pages;
    if (changed) flags |= proto::metadata_flags::metadata_changed;
    body.i32(flags);
    body.i32(p.column_count);
    if (more) body.bytes(bytes_view(state));
    if (changed) body.short_bytes(bytes_view(p.metadata_id.data(), p.metadata_id.size()));
    if (!no_meta) body.raw(bytes_view(p.metadata).subspan(8));
    body.i32(static_cast<std::int32_t>(emitted));
    for (const auto& c : cells) body.value(c);
}

// ---- consistency -----------------------------------------------------------------------------

namespace {
int dc_factor(const replication& r, const std::string& dc) {
    if (r.kind == replication::strategy::simple) return r.replication_factor;
    auto it = r.dc_factors.find(dc);
    return it != r.dc_factors.end() ? it->second : r.replication_factor;
}
}  // namespace

const std::vector<int>& engine_impl::replicas_for(const keyspace_def& ks, std::int64_t t) const {
    static const std::vector<int> none;
    if (ks.replicas_by_range.empty()) return none;
    return ks.replicas_by_range[topo.ring_position(t) % ks.replicas_by_range.size()];
}

void engine_impl::check_available(const keyspace_def& ks, std::int64_t t, proto::consistency cl, int coordinator, bool write) const {
    using proto::consistency;
    if (ks.repl.kind == replication::strategy::local || ks.is_virtual) return;
    if (cl == consistency::any) {
        if (write) return;
        throw_invalid("ANY ConsistencyLevel is only supported for writes");
    }
    const auto& reps = replicas_for(ks, t);
    const auto& local_dc = topo.node(coordinator).config.datacenter;
    const int total_rf = ks.total_rf;
    auto alive_in = [&](const std::string* dc) {
        int n = 0;
        for (int r : reps)
            if (topo.is_up(r) && (!dc || topo.node(r).config.datacenter == *dc)) ++n;
        return n;
    };
    auto fail = [&](int required, int alive) {
        throw_error(proto::server_errc::unavailable, "Cannot achieve consistency level " + std::string(proto::to_string(cl)),
                    proto::unavailable_info{cl, required, alive});
    };
    const bool local_scope = ks.repl.kind == replication::strategy::network_topology;
    switch (cl) {
        case consistency::one:
        case consistency::two:
        case consistency::three: {
            int req = cl == consistency::one ? 1 : (cl == consistency::two ? 2 : 3);
            int alive = alive_in(nullptr);
            if (alive < req) fail(req, alive);
            return;
        }
        case consistency::local_one: {
            int alive = alive_in(local_scope ? &local_dc : nullptr);
            if (alive < 1) fail(1, alive);
            return;
        }
        case consistency::quorum:
        case consistency::serial: {
            int req = total_rf / 2 + 1, alive = alive_in(nullptr);
            if (alive < req) fail(req, alive);
            return;
        }
        case consistency::all: {
            int alive = alive_in(nullptr);
            if (alive < total_rf) fail(total_rf, alive);
            return;
        }
        case consistency::local_quorum:
        case consistency::local_serial: {
            int rf = local_scope ? dc_factor(ks.repl, local_dc) : total_rf;
            int req = rf / 2 + 1, alive = alive_in(local_scope ? &local_dc : nullptr);
            if (alive < req) fail(req, alive);
            return;
        }
        case consistency::each_quorum: {
            if (!local_scope) {
                int req = total_rf / 2 + 1, alive = alive_in(nullptr);
                if (alive < req) fail(req, alive);
                return;
            }
            std::set<std::string> dcs;
            for (const auto& n : topo.nodes())
                if (n.member) dcs.insert(n.config.datacenter);
            for (const auto& dc : dcs) {
                int rf = dc_factor(ks.repl, dc);
                if (rf <= 0) continue;
                int req = rf / 2 + 1, alive = alive_in(&dc);
                if (alive < req) fail(req, alive);
            }
            return;
        }
        default: return;
    }
}

void engine_impl::check_range_available(const keyspace_def& ks, proto::consistency cl, int coordinator) const {
    if (ks.repl.kind == replication::strategy::local || ks.is_virtual) return;
    if (cl == proto::consistency::any) throw_invalid("ANY ConsistencyLevel is only supported for writes");
    for (const auto& e : topo.ring()) check_available(ks, e.t, cl, coordinator, false);
}

void engine_impl::note_partition(exec_ctx& ctx, const keyspace_def& ks, std::int64_t t) const {
    if (ks.is_system) return;
    if (ctx.partitions_touched == 0) {
        ctx.partitions_touched = 1;
        ctx.info->routing_token = t;
        const auto& reps = replicas_for(ks, t);
        ctx.info->coordinator_is_replica = std::find(reps.begin(), reps.end(), ctx.coordinator) != reps.end();
        return;
    }
    if (ctx.info->routing_token && *ctx.info->routing_token == t) return;
    ++ctx.partitions_touched;
}

// ---- modifications ----------------------------------------------------------------------------

namespace {

void write_cell(cell& c, std::int64_t ts, std::int32_t ttl, std::int32_t now_s, const value_view& v) {
    if (ts < c.ts) return;
    if (ts == c.ts && !c.has_value && c.ts != std::numeric_limits<std::int64_t>::min()) return;  // tombstone wins ties
    c.ts = ts;
    if (v.is_null()) {
        c.has_value = false;
        c.value.clear();
        c.expiry = 0;
        c.ttl = 0;
        return;
    }
    c.has_value = true;
    c.value.assign(v.bytes.begin(), v.bytes.end());
    c.ttl = ttl;
    c.expiry = ttl > 0 ? now_s + ttl : 0;
}

void delete_cell(cell& c, std::int64_t ts) {
    if (ts < c.ts) return;
    c.ts = ts;
    c.has_value = false;
    c.value.clear();
    c.expiry = 0;
    c.ttl = 0;
}

cell& slot_cell(std::vector<cell>& cells, int slot) {
    auto s = static_cast<std::size_t>(slot);
    if (cells.size() <= s) cells.resize(s + 1);
    return cells[s];
}

// Sorts and dedupes a set / map value (drivers may send any order).
void normalize_collection(const cql_type& t, byte_buffer& b) {
    if ((t.kind != type_kind::set && t.kind != type_kind::map) || t.params.empty()) return;
    std::vector<bytes_view> elems;
    if (!split_collection(b, elems)) return;
    const bool is_map = t.kind == type_kind::map;
    const std::size_t step = is_map ? 2 : 1;
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i + step - 1 < elems.size(); i += step) idx.push_back(i);
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t c) { return compare_values(t.params[0], elems[a], elems[c]) < 0; });
    std::vector<bytes_view> out;
    std::size_t count = 0;
    for (std::size_t k = 0; k < idx.size(); ++k) {
        // Keep the last of equal keys (later entries override earlier ones).
        if (k + 1 < idx.size() && compare_values(t.params[0], elems[idx[k]], elems[idx[k + 1]]) == 0) continue;
        for (std::size_t s = 0; s < step; ++s) out.push_back(elems[idx[k] + s]);
        ++count;
    }
    byte_buffer n;
    join_collection(out, count, n);
    b = std::move(n);
}

// Applies a collection operation to the current value; returns the new value (nullopt = empty/null).
std::optional<byte_buffer> collection_op(const cql_type& t, assignment_op op, const cell* current, std::int32_t now_s,
                                         bytes_view operand, std::optional<bytes_view> element) {
    std::vector<bytes_view> cur;
    if (current && current->live(now_s)) split_collection(current->value, cur);
    std::vector<bytes_view> arg;
    if (op != assignment_op::set_element) split_collection(operand, arg);
    const bool is_map = t.kind == type_kind::map;
    const std::size_t step = is_map ? 2 : 1;
    std::vector<bytes_view> out;
    const cql_type& kt = t.params[0];
    auto contains = [&](const std::vector<bytes_view>& v, bytes_view x, std::size_t st) {
        for (std::size_t i = 0; i < v.size(); i += st)
            if (compare_values(kt, v[i], x) == 0) return true;
        return false;
    };
    switch (op) {
        case assignment_op::add:
            if (t.kind == type_kind::list) {
                out = cur;
                out.insert(out.end(), arg.begin(), arg.end());
            } else {
                for (std::size_t i = 0; i < cur.size(); i += step)
                    if (!contains(arg, cur[i], step))
                        for (std::size_t s = 0; s < step; ++s) out.push_back(cur[i + s]);
                out.insert(out.end(), arg.begin(), arg.end());
            }
            break;
        case assignment_op::prepend:
            out = arg;
            out.insert(out.end(), cur.begin(), cur.end());
            break;
        case assignment_op::subtract:
            for (std::size_t i = 0; i < cur.size(); i += step)
                if (!contains(arg, cur[i], 1))
                    for (std::size_t s = 0; s < step; ++s) out.push_back(cur[i + s]);
            break;
        case assignment_op::set_element: {
            if (is_map) {
                for (std::size_t i = 0; i + 1 < cur.size(); i += 2)
                    if (compare_values(kt, cur[i], *element) != 0) {
                        out.push_back(cur[i]);
                        out.push_back(cur[i + 1]);
                    }
                if (!operand.empty() || true) {
                    out.push_back(*element);
                    out.push_back(operand);
                }
            } else {
                if (element->size() != 4) throw_invalid("Invalid list index");
                auto idx = read_i32(*element);
                if (idx < 0 || static_cast<std::size_t>(idx) >= cur.size())
                    throw_invalid("List index " + std::to_string(idx) + " out of bound, list has size " + std::to_string(cur.size()));
                out = cur;
                out[static_cast<std::size_t>(idx)] = operand;
            }
            break;
        }
        default: break;
    }
    if (out.empty()) return std::nullopt;
    byte_buffer b;
    join_collection(out, out.size() / step, b);
    normalize_collection(t, b);
    return b;
}

}  // namespace

// INSERT JSON: decodes the document into ctx.json_values, which the plan's
// kind::json sources read.
static void load_json(const modify_plan& p, exec_ctx& ctx) {
    if (!p.json) return;
    auto doc = get_value(*p.json, ctx);
    if (doc.is_null()) throw_invalid("Got null for INSERT JSON values");
    if (doc.is_unset()) throw_invalid("Got unset for INSERT JSON values");
    decode_insert_json(*p.table, proto::as_chars(doc.bytes), p.json_default_unset, ctx, ctx.json_values);
}

// A column value of a sim.primes / sim.settings write, decoded by its type
// (nullopt: not given, null or unset).
static std::optional<proto::cql_value> sim_value(const value_src& src, const cql_type& type, const std::string& column,
                                                 exec_ctx& ctx) {
    auto v = get_value(src, ctx);
    if (!v.is_set() || v.is_null()) return std::nullopt;
    proto::cql_value cv;
    if (proto::decode_value(type, v.bytes, cv) != proto::errc::ok || cv.is_null()) {
        if (cv.is_null()) return std::nullopt;
        throw_invalid("Invalid value for " + column);
    }
    return cv;
}

static std::vector<std::string> sim_strings(const proto::cql_value& v, const std::string& column) {
    std::vector<std::string> out;
    if (v.kind() != proto::value_kind::list) throw_invalid(column + " must be a list of text");
    for (const auto& e : v.elements()) {
        if (e.kind() != proto::value_kind::string) throw_invalid(column + " must be a list of text");
        out.push_back(e.as_string());
    }
    return out;
}

// INSERT INTO sim.primes: the columns as a prime_spec, handed to the cluster.
static void insert_prime(control_plane& cp, const modify_plan& p, exec_ctx& ctx) {
    if (!p.pk_values.empty())
        for (const auto& src : p.pk_values[0])
            if (sim_value(src, p.table->columns[static_cast<std::size_t>(p.table->pk[0])].type, "id", ctx))
                throw_invalid("id is given by the sim (SELECT id FROM sim.primes after the INSERT)");
    prime_spec s;
    for (const auto& a : p.assignments) {
        const std::string& c = a.column->name;
        auto v = sim_value(a.value, a.column->type, c, ctx);
        if (!v) continue;
        auto i32 = [&] {
            if (v->as_int() < std::numeric_limits<int>::min() || v->as_int() > std::numeric_limits<int>::max())
                throw_invalid(c + " is out of range");
            return static_cast<int>(v->as_int());
        };
        if (c == "query") s.query = v->as_string();
        else if (c == "match") s.match = v->as_string();
        else if (c == "node") s.node = i32();
        else if (c == "consistency") s.consistency = v->as_string();
        else if (c == "params") s.params = sim_strings(*v, c);
        else if (c == "values") s.values = sim_strings(*v, c);
        else if (c == "then") s.then = v->as_string();
        else if (c == "columns") s.columns = sim_strings(*v, c);
        else if (c == "rows") {
            if (v->kind() != proto::value_kind::list) throw_invalid("rows must be a list of lists of text");
            for (const auto& r : v->elements()) s.rows.push_back(sim_strings(r, "rows"));
        } else if (c == "error") s.error = v->as_string();
        else if (c == "message") s.message = v->as_string();
        else if (c == "error_consistency") s.error_consistency = v->as_string();
        else if (c == "required") s.required = i32();
        else if (c == "alive") s.alive = i32();
        else if (c == "received") s.received = i32();
        else if (c == "block_for") s.block_for = i32();
        else if (c == "data_present") s.data_present = v->as_bool();
        else if (c == "write_type") s.write_type = v->as_string();
        else if (c == "delay_ms") s.delay_ms = i32();
        else if (c == "times") s.times = i32();
        else throw_invalid("Column " + c + " of sim.primes is the sim's (it cannot be written)");
    }
    // Without `values`, the JSON path still gives a null list: not a filter.
    std::uint64_t id = 0;
    auto err = cp.add_prime(s, id);
    if (!err.empty()) throw_invalid(err);
}

// sim.primes (INSERT, DELETE WHERE id = N), sim.settings, sim.activity.
static void run_sim_table(control_plane* cp, const modify_plan& p, exec_ctx& ctx) {
    using S = modify_plan::sim_table;
    if (!cp) throw_invalid("sim control plane not available");
    if (p.if_exists || p.if_not_exists || !p.conditions.empty()) throw_invalid("Conditions are not supported on sim tables");
    const std::string name = "sim." + p.table->name;
    if (p.sim == S::activity)
        throw_invalid(name + " is read-only: TRUNCATE sim.activity clears it, sim.settings' activity_log sizes it");
    if (p.sim == S::primes) {
        if (p.k == modify_plan::kind::insert) return insert_prime(*cp, p, ctx);
        if (p.k == modify_plan::kind::update)
            throw_invalid(name + " rules cannot be changed: DELETE FROM sim.primes WHERE id = N, then INSERT again");
        if (!p.deleted_columns.empty() || !p.deleted_elements.empty()) throw_invalid("Only whole rules of sim.primes can be deleted");
        for (const auto& k : partition_keys(*p.table, p.pk_values, p.pk_in_marker, ctx)) {
            if (k.comps[0].size() != 8) throw_invalid("Invalid prime id");
            cp->remove_prime(static_cast<std::uint64_t>(read_i64(k.comps[0])));
        }
        return;
    }
    // sim.settings: (name text, value bigint).
    if (p.k == modify_plan::kind::delete_) throw_invalid(name + " rows cannot be deleted (set the value instead)");
    for (const auto& k : partition_keys(*p.table, p.pk_values, p.pk_in_marker, ctx)) {
        const std::string setting(proto::as_chars(k.comps[0]));
        std::optional<proto::cql_value> value;
        for (const auto& a : p.assignments)
            if (a.column->name == "value") value = sim_value(a.value, a.column->type, "value", ctx);
        if (setting != "activity_log") throw_invalid("Unknown setting '" + setting + "' (activity_log)");
        if (!value) throw_invalid("activity_log needs a value: requests kept per node, 0 for off");
        auto err = cp->set_activity_log(value->as_int());
        if (!err.empty()) throw_invalid(err);
    }
}

void engine_impl::run_modify(const modify_plan& p, exec_ctx& ctx, proto::byte_writer* body, std::int64_t batch_ts, bool in_batch) {
    table_def& t = *p.table;
    const std::int32_t now_s = ctx.now_s;
    load_json(p, ctx);
    if (p.sim != modify_plan::sim_table::none) {
        run_sim_table(cp, p, ctx);
        if (body) body->i32(static_cast<std::int32_t>(proto::result_kind::void_));
        return;
    }
    auto keys = partition_keys(*p.table, p.pk_values, p.pk_in_marker, ctx);

    if (p.sim_nodes) {
        if (!cp) throw_invalid("sim control plane not available");
        if (p.if_exists || p.if_not_exists || !p.conditions.empty()) throw_invalid("Conditions are not supported on sim.nodes");
        for (const auto& k : keys) {
            if (k.comps[0].size() != 4) throw_invalid("Invalid node id");
            int node = read_i32(k.comps[0]);
            // DELETE FROM sim.nodes WHERE node = N decommissions node N.
            if (p.k == modify_plan::kind::delete_) {
                if (!p.deleted_columns.empty() || !p.deleted_elements.empty())
                    throw_invalid("Only whole rows of sim.nodes can be deleted (that decommissions the node)");
                remove_node_locked(node);
                continue;
            }
            auto text_of = [&](std::string_view column) {
                for (const auto& a : p.assignments)
                    if (a.column->name == column) {
                        auto v = get_value(a.value, ctx);
                        if (v.is_set()) return std::string(proto::as_chars(v.bytes));
                    }
                return std::string();
            };
            // INSERT of the next node id adds a node (datacenter and rack optional).
            bool added = false;
            if (p.k == modify_plan::kind::insert && !topo.is_member(node)) {
                if (node != static_cast<int>(topo.size()))
                    throw_invalid("Cannot add node " + std::to_string(node) + ": the next node is " + std::to_string(topo.size()) +
                                  " (ids are given in order and never reused)");
                add_node_locked(text_of("datacenter"), text_of("rack"));
                added = true;
            }
            for (const auto& a : p.assignments) {
                if (added && (a.column->name == "datacenter" || a.column->name == "rack")) continue;
                auto v = get_value(a.value, ctx);
                if (v.is_unset()) continue;
                proto::cql_value cv;
                if (!v.is_null() && proto::decode_value(a.column->type, v.bytes, cv) != proto::errc::ok)
                    throw_invalid("Invalid value for " + a.column->name);
                auto err = cp->update_node(node, a.column->name, cv);
                if (!err.empty()) throw_invalid(err);
            }
        }
        if (body) body->i32(static_cast<std::int32_t>(proto::result_kind::void_));
        return;
    }

    // Timestamp and TTL.
    std::int64_t ts = batch_ts;
    if (p.timestamp) {
        auto v = get_value(*p.timestamp, ctx);
        if (v.is_null()) throw_invalid("Invalid null value of timestamp");
        if (v.is_set()) {
            if (v.bytes.size() != 8) throw_invalid("Invalid timestamp value");
            ts = read_i64(v.bytes);
            if (ts == std::numeric_limits<std::int64_t>::min()) throw_invalid("Invalid timestamp value");
        }
    }
    std::int32_t ttl = t.default_ttl;
    if (p.ttl) {
        auto v = get_value(*p.ttl, ctx);
        if (v.is_null()) throw_invalid("Invalid null value of TTL");
        if (v.is_set()) {
            if (v.bytes.size() != 4) throw_invalid("Invalid TTL value");
            ttl = read_i32(v.bytes);
            if (ttl < 0) throw_invalid("A TTL must be greater or equal to 0, but was " + std::to_string(ttl));
            if (ttl > max_ttl) throw_invalid("ttl is too large. requested (" + std::to_string(ttl) + ") maximum (" + std::to_string(max_ttl) + ")");
        }
    }
    const bool conditional = p.if_not_exists || p.if_exists || !p.conditions.empty();
    if (conditional && keys.size() > 1) throw_invalid("IN on the partition key is not supported with conditional updates");

    for (const auto& k : keys) {
        if (conditional) check_available(*p.ks, k.t, ctx.serial_cl.value_or(proto::consistency::serial), ctx.coordinator, true);
        check_available(*p.ks, k.t, ctx.cl, ctx.coordinator, true);
        note_partition(ctx, *p.ks, k.t);
    }
    auto prefixes = clustering_prefixes(p.ck_values, p.ck_in_marker, ctx);
    const bool full_ck = p.ck_values.size() == t.ck.size();
    const bool static_only = !t.ck.empty() && p.ck_values.empty() && p.k != modify_plan::kind::delete_;
    if (conditional && prefixes.size() > 1) throw_invalid("IN on the clustering key columns is not supported with conditional updates");

    auto slice_filters = resolve_filters(p.ck_slices, ctx);

    // Lightweight transaction: evaluate, answer [applied], maybe stop.
    if (conditional && !in_batch) {
        auto pit = t.find_partition(keys[0].t, keys[0].key);
        const partition* part = pit == t.data.end() ? nullptr : &pit->second;
        const row* r = nullptr;
        const byte_buffer* ckp = nullptr;
        if (part) {
            auto rit = part->rows.find(prefixes[0]);
            if (rit != part->rows.end() && rit->second.live(now_s)) {
                r = &rit->second;
                ckp = &rit->first;
            }
        }
        row_ref rr{part, ckp, r};
        const bool exists = r != nullptr || (t.ck.empty() && part && part->has_live_static(now_s));
        bool applied = true;
        if (p.if_not_exists) applied = !exists;
        else if (p.if_exists) applied = exists;
        else {
            for (const auto& c : p.conditions) {
                std::optional<bytes_view> v = part ? column_value(t, c.column, rr, now_s) : std::nullopt;
                const auto& col = t.columns[static_cast<std::size_t>(c.column)];
                if (c.element && v) {
                    auto key = get_value(*c.element, ctx);
                    std::vector<bytes_view> elems;
                    split_collection(*v, elems);
                    std::optional<bytes_view> found;
                    if (col.type.kind == type_kind::map) {
                        for (std::size_t i = 0; i + 1 < elems.size(); i += 2)
                            if (key.is_set() && compare_values(col.type.params[0], elems[i], key.bytes) == 0) found = elems[i + 1];
                    } else if (key.is_set() && key.bytes.size() == 4) {
                        auto idx = read_i32(key.bytes);
                        if (idx >= 0 && static_cast<std::size_t>(idx) < elems.size()) found = elems[static_cast<std::size_t>(idx)];
                    }
                    v = found;
                }
                auto matches = [&](value_view want) {
                    if (want.is_unset()) return true;
                    if (want.is_null()) return c.op == relation_op::eq ? !v : (c.op == relation_op::neq ? v.has_value() : false);
                    if (!v) return c.op == relation_op::neq;
                    return op_matches(c.op, compare_values(c.value_type, *v, want.bytes));
                };
                bool ok = false;
                if (c.op == relation_op::in) {
                    if (c.in_list) {
                        for (const auto& s : c.in_values) ok = ok || matches(get_value(s, ctx));
                    } else {
                        auto lst = get_value(c.value, ctx);
                        std::vector<bytes_view> elems;
                        if (lst.is_set()) split_collection(lst.bytes, elems);
                        for (auto e : elems) ok = ok || matches(value_view::of(e));
                    }
                } else {
                    ok = matches(get_value(c.value, ctx));
                }
                if (!ok) applied = false;
            }
        }
        // [applied], plus the current values when not applied.
        proto::result_metadata meta;
        meta.global_table = proto::table_spec{t.keyspace, t.name};
        meta.columns.push_back({t.keyspace, t.name, "[applied]", cql_type(type_kind::boolean)});
        std::vector<value_view> out_cells;
        static const byte_buffer yes{1}, no{0};
        out_cells.push_back(value_view::of(applied ? yes : no));
        if (!applied && exists) {
            std::vector<int> cols;
            if (p.if_not_exists || p.if_exists) {
                for (std::size_t i = 0; i < t.columns.size(); ++i) cols.push_back(static_cast<int>(i));
            } else {
                for (std::size_t i = 0; i < t.columns.size(); ++i)
                    for (const auto& c : p.conditions)
                        if (c.column == static_cast<int>(i) && std::find(cols.begin(), cols.end(), c.column) == cols.end())
                            cols.push_back(c.column);
            }
            for (int ci : cols) {
                const auto& col = t.columns[static_cast<std::size_t>(ci)];
                meta.columns.push_back({t.keyspace, t.name, col.name, col.type});
                auto v = column_value(t, ci, rr, now_s);
                out_cells.push_back(v ? value_view::of(*v) : value_view::null());
            }
        } else if (!applied && !p.if_exists && !p.if_not_exists) {
            for (const auto& c : p.conditions) {
                const auto& col = t.columns[static_cast<std::size_t>(c.column)];
                bool dup = false;
                for (const auto& m : meta.columns) dup = dup || m.name == col.name;
                if (dup) continue;
                meta.columns.push_back({t.keyspace, t.name, col.name, col.type});
                out_cells.push_back(value_view::null());
            }
        }
        if (body) proto::encode_rows(*body, ctx.version, meta, out_cells);
        if (!applied) return;
        body = nullptr;  // the result is written
    }

    for (const auto& k : keys) {
        auto pit = t.find_partition(k.t, k.key);
        if (pit == t.data.end()) {
            if (p.k == modify_plan::kind::delete_) continue;
            partition part(t.layout.get());
            part.t = k.t;
            part.key = k.key;
            for (auto c : k.comps) part.pk_values.emplace_back(c.begin(), c.end());
            pit = t.add_partition(k.t, k.key, std::move(part));
        }
        partition& part = pit->second;

        if (p.k == modify_plan::kind::delete_) {
            const bool whole_rows = p.deleted_columns.empty() && p.deleted_elements.empty();
            if (whole_rows && p.ck_values.empty() && p.ck_slices.empty()) {
                // Whole partition.
                for (auto it = part.rows.begin(); it != part.rows.end();) {
                    auto& r = it->second;
                    delete_cell(r.marker, ts);
                    for (auto& c : r.cells) delete_cell(c, ts);
                    if (!r.live(now_s)) it = part.rows.erase(it);
                    else ++it;
                }
                for (auto& c : part.statics) delete_cell(c, ts);
            } else if (whole_rows) {
                for (const auto& pre : prefixes) {
                    auto b = full_ck ? part.rows.find(pre) : part.rows.lower_bound(prefix_lo{pre});
                    auto e = full_ck ? (b == part.rows.end() ? b : std::next(b)) : part.rows.upper_bound(prefix_hi{pre});
                    for (auto it = b; it != e;) {
                        row_ref rr{&part, &it->first, &it->second};
                        if (!slice_filters.empty() && !passes(t, slice_filters, rr, std::numeric_limits<std::int32_t>::min())) {
                            ++it;
                            continue;
                        }
                        auto& r = it->second;
                        delete_cell(r.marker, ts);
                        for (auto& c : r.cells) delete_cell(c, ts);
                        if (!r.live(now_s)) it = part.rows.erase(it);
                        else ++it;
                    }
                }
            } else {
                for (const auto& pre : prefixes) {
                    row* r = nullptr;
                    auto rit = part.rows.find(pre);
                    if (rit != part.rows.end()) r = &rit->second;
                    for (int ci : p.deleted_columns) {
                        const auto& col = t.columns[static_cast<std::size_t>(ci)];
                        if (col.kind == column_kind::static_) delete_cell(slot_cell(part.statics, col.slot), ts);
                        else if (r) delete_cell(slot_cell(r->cells, col.slot), ts);
                    }
                    for (const auto& [ci, src] : p.deleted_elements) {
                        const auto& col = t.columns[static_cast<std::size_t>(ci)];
                        cell* c = col.kind == column_kind::static_ ? &slot_cell(part.statics, col.slot)
                                                                    : (r ? &slot_cell(r->cells, col.slot) : nullptr);
                        if (!c || !c->live(now_s)) continue;
                        auto key = get_value(src, ctx);
                        if (!key.is_set()) throw_invalid("Invalid null value for " + col.name + " element");
                        std::vector<bytes_view> elems;
                        split_collection(c->value, elems);
                        std::vector<bytes_view> out;
                        const std::size_t step = col.type.kind == type_kind::map ? 2 : 1;
                        for (std::size_t i = 0; i < elems.size(); i += step) {
                            bool drop = col.type.kind == type_kind::list
                                            ? (key.bytes.size() == 4 && static_cast<std::size_t>(read_i32(key.bytes)) == i)
                                            : compare_values(col.type.params[0], elems[i], key.bytes) == 0;
                            if (drop) continue;
                            for (std::size_t s = 0; s < step; ++s) out.push_back(elems[i + s]);
                        }
                        byte_buffer nb;
                        join_collection(out, out.size() / step, nb);
                        if (out.empty()) write_cell(*c, ts, 0, now_s, value_view::null());
                        else write_cell(*c, ts, c->ttl, now_s, value_view::of(nb));
                    }
                    if (r && !r->live(now_s) && rit != part.rows.end()) part.rows.erase(rit);
                }
            }
        } else {
            for (const auto& pre : prefixes) {
                row* r = nullptr;
                auto get_row = [&]() -> row& {
                    if (!r) r = &part.rows[pre];
                    return *r;
                };
                if (p.k == modify_plan::kind::insert && !static_only) {
                    auto& rr = get_row();
                    write_cell(rr.marker, ts, ttl, now_s, value_view::of(bytes_view()));
                }
                for (const auto& a : p.assignments) {
                    const auto& col = *a.column;
                    auto v = get_value(a.value, ctx);
                    if (v.is_unset()) continue;
                    cell& c = col.kind == column_kind::static_ ? slot_cell(part.statics, col.slot) : slot_cell(get_row().cells, col.slot);
                    if (col.type.kind == type_kind::counter) {
                        if (v.is_null()) throw_invalid("Invalid null value for counter increment");
                        std::int64_t delta = read_i64(v.bytes);
                        if (a.op == assignment_op::subtract) delta = -delta;
                        std::int64_t cur = c.live(now_s) && c.value.size() == 8 ? read_i64(c.value) : 0;
                        auto nb = enc_bigint(cur + delta);
                        c.ts = std::max(c.ts, ts);
                        c.has_value = true;
                        c.value = std::move(nb);
                        continue;
                    }
                    if (a.op == assignment_op::set) {
                        if (v.is_set() && (col.type.kind == type_kind::set || col.type.kind == type_kind::map)) {
                            byte_buffer nb(v.bytes.begin(), v.bytes.end());
                            normalize_collection(col.type, nb);
                            if (col.multi_cell && nb.size() == 4) write_cell(c, ts, ttl, now_s, value_view::null());
                            else write_cell(c, ts, ttl, now_s, value_view::of(nb));
                        } else if (v.is_set() && col.multi_cell && col.type.kind == type_kind::list && v.bytes.size() == 4) {
                            write_cell(c, ts, ttl, now_s, value_view::null());  // an empty list is no list
                        } else {
                            write_cell(c, ts, ttl, now_s, v);
                        }
                        continue;
                    }
                    std::optional<bytes_view> elem;
                    if (a.element) {
                        auto e = get_value(*a.element, ctx);
                        if (!e.is_set()) throw_invalid("Invalid null value for " + col.name + " key");
                        elem = e.bytes;
                    }
                    if (v.is_null() && a.op != assignment_op::set_element) {
                        continue;  // adding/removing null changes nothing
                    }
                    std::optional<byte_buffer> nv;
                    if (v.is_null() && a.op == assignment_op::set_element) {
                        // m[k] = null removes the entry
                        if (col.type.kind != type_kind::map) throw_invalid("Invalid null value for list element");
                        std::vector<bytes_view> cur, out;
                        if (c.live(now_s)) split_collection(c.value, cur);
                        for (std::size_t i = 0; i + 1 < cur.size(); i += 2)
                            if (compare_values(col.type.params[0], cur[i], *elem) != 0) {
                                out.push_back(cur[i]);
                                out.push_back(cur[i + 1]);
                            }
                        if (!out.empty()) {
                            nv.emplace();
                            join_collection(out, out.size() / 2, *nv);
                        }
                    } else {
                        nv = collection_op(col.type, a.op, &c, now_s, v.bytes, elem);
                    }
                    if (nv) write_cell(c, std::max(ts, c.ts), ttl, now_s, value_view::of(*nv));
                    else write_cell(c, std::max(ts, c.ts), 0, now_s, value_view::null());
                }
                if (r && !r->live(now_s) && p.k == modify_plan::kind::update) {
                    // UPDATE that only wrote nulls: keep nothing.
                    bool any_ts = false;
                    for (auto& c : r->cells) any_ts = any_ts || c.has_value;
                    if (!any_ts) part.rows.erase(pre);
                }
            }
        }
        if (part.rows.empty() && !part.has_live_static(now_s)) t.erase_partition(pit);
    }
    if (body) body->i32(static_cast<std::int32_t>(proto::result_kind::void_));
}

void engine_impl::run_batch(const batch_plan& b, exec_ctx& ctx, proto::byte_writer& body) {
    std::int64_t ts = ctx.default_ts.value_or(ctx.now_us);
    if (b.timestamp) {
        auto v = get_value(*b.timestamp, ctx);
        if (v.is_set() && v.bytes.size() == 8) ts = read_i64(v.bytes);
    }
    for (const auto& c : b.children) {
        const bool counter = c.table->is_counter;
        if (b.type == batch_type::counter && !counter) throw_invalid("Cannot include non-counter statement in a counter batch");
        if (b.type != batch_type::counter && counter) throw_invalid("Counter and non-counter mutations cannot exist in the same batch");
        if (c.if_exists || c.if_not_exists || !c.conditions.empty())
            throw_invalid("Conditional statements in batches are not supported by the simulator");
    }
    if (b.type != batch_type::counter && b.children.size() > 1) {
        batch_extent e;
        for (const auto& c : b.children) add_to_extent(e, c, ctx);
        check_batch_extent(e, b.type == batch_type::unlogged, ctx);
    }
    for (const auto& c : b.children) run_modify(c, ctx, nullptr, ts, true);
    body.i32(static_cast<std::int32_t>(proto::result_kind::void_));
}

void engine_impl::add_to_extent(batch_extent& e, const modify_plan& c, exec_ctx& ctx) {
    const std::string name = c.table->keyspace + "." + c.table->name;
    e.tables.insert(name);
    load_json(c, ctx);
    for (auto& k : partition_keys(*c.table, c.pk_values, c.pk_in_marker, ctx)) {
        e.size += static_cast<std::int64_t>(k.key.size());
        e.keys.emplace(name, std::move(k.key));
    }
    for (const auto& a : c.assignments) {
        auto v = get_value(a.value, ctx);
        if (v.is_set()) e.size += static_cast<std::int64_t>(v.bytes.size());
    }
}

// Size over batch_size_warn_threshold (5 KiB; an error over 50 KiB) when the
// batch spans partitions, and unlogged batches over more than 10 partitions.
void engine_impl::check_batch_extent(const batch_extent& e, bool unlogged, exec_ctx& ctx) {
    std::string names = "[";
    for (const auto& n : e.tables) names += (names.size() > 1 ? ", " : "") + n;
    names += "]";
    if (e.keys.size() > 1 && e.size > 5120) {
        if (e.size > 51200) throw_invalid("Batch too large");
        ctx.info->warnings.push_back("Batch for " + names + " is of size " + std::to_string(e.size) +
                                     ", exceeding specified threshold of 5120 by " + std::to_string(e.size - 5120) + ".");
    }
    if (unlogged && e.keys.size() > 10)
        ctx.info->warnings.push_back("Unlogged batch covering " + std::to_string(e.keys.size()) + " partitions detected against table" +
                                     (e.tables.size() == 1 ? "" : "s") + " " + names +
                                     ". You should use a logged batch for atomicity, or asynchronous writes for performance.");
}

}  // namespace cqlpp::sim::detail
