// Parquet writer: CQL rows shredded into column buffers (Dremel levels), one
// data page v1 per column chunk, optional dictionary page, snappy/zstd.
#include "cqlpp/bulk/codec.hpp"
#include "cqlpp/bulk/parquet.hpp"
#include "parquet_format.hpp"
#include "parquet_thrift.hpp"

#include "cqlpp/protocol/detail/text.hpp"

#include <snappy-c.h>
#define XXH_INLINE_ALL  // XXH3 inlined: the dictionary hashes short values
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string_view>

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

void rle_run(std::string& out, std::uint64_t count, std::uint32_t value, int width) {
    std::uint64_t x = count << 1;
    while (x >= 0x80) {
        out.push_back(static_cast<char>((x & 0x7F) | 0x80));
        x >>= 7;
    }
    out.push_back(static_cast<char>(x));
    for (int b = 0; b < (width + 7) / 8; ++b) out.push_back(static_cast<char>(value >> (8 * b)));
}

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

// A growable array of trivially copyable values for the per-value path:
// appends are an inline size check and a store (std::vector's push_back is
// out of line here, std::string zero-fills what it grows).
template <class T>
class pod_buf {
public:
    std::size_t size() const noexcept { return size_; }
    const T* data() const noexcept { return data_.get(); }
    T operator[](std::size_t i) const noexcept { return data_[i]; }
    std::string_view view() const noexcept requires std::same_as<T, char> { return {data_.get(), size_}; }
    void clear() noexcept { size_ = 0; }
    // Back to n values (n <= size()).
    void cut(std::size_t n) noexcept { size_ = std::min(size_, n); }
    [[gnu::always_inline]] void push_back(T v) {
        if (size_ == cap_) [[unlikely]]
            grow(size_ + 1);
        data_[size_++] = v;
    }
    // n more values at the end, for the caller to write.
    [[gnu::always_inline]] T* extend(std::size_t n) {
        if (cap_ - size_ < n) [[unlikely]]
            grow(size_ + n);
        T* p = data_.get() + size_;
        size_ += n;
        return p;
    }
    void append(const T* p, std::size_t n) {
        if (n) std::memcpy(extend(n), p, n * sizeof(T));
    }

private:
    [[gnu::noinline]] void grow(std::size_t need) {
        const std::size_t c = std::max({need, cap_ * 2, std::size_t{64}});
        auto d = std::make_unique_for_overwrite<T[]>(c);
        if (size_) std::memcpy(d.get(), data_.get(), size_ * sizeof(T));
        data_ = std::move(d);
        cap_ = c;
    }

    std::unique_ptr<T[]> data_;
    std::size_t size_ = 0, cap_ = 0;
};

// A column chunk's dictionary, built when the chunk is flushed (on the
// encoder thread) from the PLAIN values the rows left: the distinct values'
// PLAIN bytes back to back in order of first appearance (the dictionary
// page), each value's id, and an open-addressing table of ids. Given up as
// soon as the values look mostly distinct: more than 1024 distinct and more
// than half of those seen so far, or a page over 1 MiB.
class chunk_dict {
public:
    std::size_t size() const noexcept { return size_; }
    std::string_view page() const noexcept { return page_.view(); }
    const pod_buf<std::uint32_t>& ids() const noexcept { return idx_; }

    // 4- or 8-byte values (INT32, FLOAT, INT64, DOUBLE), compared as bits.
    template <class T>
    bool build_fixed(const char* plain, std::size_t n) {
        reset(n);
        for (std::size_t j = 0; j < n; ++j) {
            T x;
            std::memcpy(&x, plain + j * sizeof(T), sizeof(T));
            if ((size_ + 1) * 2 > slots_.size()) grow_fixed<T>();
            const std::size_t mask = slots_.size() - 1;
            std::size_t i = mix(x) >> shift_;
            while (true) {
                const std::uint32_t s = slots_[i];
                if (s == 0) {
                    slots_[i] = static_cast<std::uint32_t>(++size_);
                    std::memcpy(page_.extend(sizeof(T)), &x, sizeof(T));
                    idx_.push_back(s_id(size_));
                    if (too_big(j)) return false;
                    break;
                }
                T y;
                std::memcpy(&y, page_.data() + (s - 1) * sizeof(T), sizeof(T));
                if (y == x) {
                    idx_.push_back(s - 1);
                    break;
                }
                i = (i + 1) & mask;
            }
        }
        return true;
    }

    // Byte arrays (PLAIN: 4-byte length, bytes; `width` 0) or fixed-length
    // byte arrays (`width` bytes each), compared as bytes.
    bool build_bytes(const char* plain, std::size_t bytes, std::size_t n, std::size_t width) {
        reset(n);
        off_.clear();
        hash_.clear();
        const char* p = plain;
        const char* end = plain + bytes;
        for (std::size_t j = 0; j < n && p < end; ++j) {
            const std::size_t len = width ? width : 4 + get_le32(p);
            const std::string_view v(p, len);
            p += len;
            const auto h = static_cast<std::uint32_t>(XXH3_64bits(v.data(), v.size()));
            if ((size_ + 1) * 2 > slots_.size()) grow_bytes();
            const std::size_t mask = slots_.size() - 1;
            std::size_t i = h & mask;
            while (true) {
                const std::uint32_t s = slots_[i];
                if (s == 0) {
                    slots_[i] = static_cast<std::uint32_t>(++size_);
                    off_.push_back(static_cast<std::uint32_t>(page_.size()));
                    hash_.push_back(h);
                    page_.append(v.data(), v.size());
                    idx_.push_back(s_id(size_));
                    if (too_big(j)) return false;
                    break;
                }
                if (hash_[s - 1] == h && entry(s - 1) == v) {
                    idx_.push_back(s - 1);
                    break;
                }
                i = (i + 1) & mask;
            }
        }
        return true;
    }

private:
    static std::uint32_t s_id(std::size_t size) noexcept { return static_cast<std::uint32_t>(size - 1); }
    // After the (j+1)-th value added a new entry: give up?
    bool too_big(std::size_t j) const noexcept {
        return (size_ > 1024 && size_ * 2 > j + 1) || page_.size() > (1u << 20);
    }
    template <class T>
    static std::uint64_t mix(T x) noexcept {
        return static_cast<std::uint64_t>(x) * 0x9E3779B97F4A7C15ull;
    }
    void reset(std::size_t n) {
        size_ = 0;
        page_.clear();
        idx_.clear();
        idx_.extend(n);  // room for every id at once
        idx_.clear();
        slots_.assign(64, 0);
        shift_ = 64 - 6;
    }
    template <class T>
    void grow_fixed() {
        const std::size_t n = slots_.size() * 2;
        slots_.assign(n, 0);
        shift_ = 64 - std::countr_zero(n);
        for (std::uint32_t id = 0; id < size_; ++id) {
            T x;
            std::memcpy(&x, page_.data() + id * sizeof(T), sizeof(T));
            std::size_t i = mix(x) >> shift_;
            while (slots_[i] != 0) i = (i + 1) & (n - 1);
            slots_[i] = id + 1;
        }
    }
    void grow_bytes() {
        const std::size_t n = slots_.size() * 2;
        slots_.assign(n, 0);
        for (std::uint32_t id = 0; id < size_; ++id) {
            std::size_t i = hash_[id] & (n - 1);
            while (slots_[i] != 0) i = (i + 1) & (n - 1);
            slots_[i] = id + 1;
        }
    }
    std::string_view entry(std::uint32_t id) const noexcept {
        const std::size_t end = id + 1 < size_ ? off_[id + 1] : page_.size();
        return std::string_view(page_.data() + off_[id], end - off_[id]);
    }

    std::size_t size_ = 0;
    int shift_ = 58;
    pod_buf<char> page_;
    pod_buf<std::uint32_t> idx_;
    std::vector<std::uint32_t> slots_;  // id + 1, 0: empty; a power of two
    std::vector<std::uint32_t> off_;    // byte arrays: where entry i starts in page_
    std::vector<std::uint32_t> hash_;   // byte arrays: of entry i
};

// Min/max of a column chunk in its Parquet order, over PLAIN values (all of
// them, or the dictionary's: the same set), in a loop per type.
struct chunk_stats {
    bool have = false;
    std::int64_t imin = 0, imax = 0;  // INT32, INT64
    double fmin = 0, fmax = 0;        // FLOAT (exact in a double), DOUBLE
    std::string smin, smax;           // BYTE_ARRAY (without length), FLBA

    // n values of `data`; false: no min/max for this chunk (a byte array over 64 bytes).
    bool compute(int physical, int type_length, const char* data, std::size_t bytes, std::size_t n) {
        have = false;
        switch (physical) {
            case p_int32: return ints<std::int32_t>(data, n);
            case p_int64: return ints<std::int64_t>(data, n);
            case p_float: return floats<float>(data, n);
            case p_double: return floats<double>(data, n);
            default: break;
        }
        // Byte arrays compare as unsigned bytes (char_traits<char> does).
        std::string_view mn, mx;
        const char* p = data;
        const char* end = data + bytes;
        for (std::size_t j = 0; j < n && p < end; ++j) {
            std::string_view v;
            if (physical == p_byte_array) {
                v = std::string_view(p + 4, get_le32(p));
                p += 4 + v.size();
            } else {
                v = std::string_view(p, static_cast<std::size_t>(type_length));
                p += v.size();
            }
            if (v.size() > 64) return false;  // long values: no min/max rather than truncated ones
            if (!have) {
                mn = mx = v;
                have = true;
            } else if (v < mn) {
                mn = v;
            } else if (mx < v) {
                mx = v;
            }
        }
        smin.assign(mn);
        smax.assign(mx);
        return true;
    }

private:
    template <class T>
    bool ints(const char* data, std::size_t n) {
        if (n == 0) return true;
        T mn, mx;
        std::memcpy(&mn, data, sizeof(T));
        mx = mn;
        for (std::size_t j = 1; j < n; ++j) {
            T x;
            std::memcpy(&x, data + j * sizeof(T), sizeof(T));
            mn = std::min(mn, x);
            mx = std::max(mx, x);
        }
        imin = mn;
        imax = mx;
        have = true;
        return true;
    }
    template <class T>
    bool floats(const char* data, std::size_t n) {  // NaN left out
        for (std::size_t j = 0; j < n; ++j) {
            T x;
            std::memcpy(&x, data + j * sizeof(T), sizeof(T));
            if (std::isnan(x)) continue;
            if (!have) {
                fmin = fmax = x;
                have = true;
            } else if (x < fmin) {
                fmin = x;
            } else if (fmax < x) {
                fmax = x;
            }
        }
        return true;
    }
};

struct leaf_buf {
    const node* n = nullptr;
    pod_buf<std::uint16_t> defs, reps;
    // While every entry has the maximum definition level (no null yet) the
    // levels are not stored: `defs` stays empty and stands for `entries` of them.
    bool defs_full = true;
    pod_buf<char> plain;
    std::uint64_t values = 0;   // non-null
    std::uint64_t entries = 0;  // levels
    bool stats = false;         // the type has an order we write min/max for
    std::uint64_t nulls = 0;

    void reset() {
        defs.clear();
        reps.clear();
        defs_full = true;
        plain.clear();
        values = entries = 0;
        nulls = 0;
    }

    [[gnu::always_inline]] void push_def(std::uint16_t d) {
        if (defs_full && d == n->max_def) [[likely]]
            return;
        push_def_stored(d);
    }

private:
    [[gnu::noinline]] void push_def_stored(std::uint16_t d) {
        if (defs_full) {
            std::fill_n(defs.extend(entries), entries, static_cast<std::uint16_t>(n->max_def));
            defs_full = false;
        }
        defs.push_back(d);
    }
};

// Min/max as PLAIN bytes (byte arrays without their length).
void minmax_bytes(int physical, const chunk_stats& s, std::string& mn, std::string& mx) {
    switch (physical) {
        case pq::p_int32:
            pq::put_le32(mn, static_cast<std::uint32_t>(static_cast<std::int32_t>(s.imin)));
            pq::put_le32(mx, static_cast<std::uint32_t>(static_cast<std::int32_t>(s.imax)));
            break;
        case pq::p_int64:
            pq::put_le64(mn, static_cast<std::uint64_t>(s.imin));
            pq::put_le64(mx, static_cast<std::uint64_t>(s.imax));
            break;
        case pq::p_float:
            pq::put_le32(mn, std::bit_cast<std::uint32_t>(static_cast<float>(s.fmin)));
            pq::put_le32(mx, std::bit_cast<std::uint32_t>(static_cast<float>(s.fmax)));
            break;
        case pq::p_double:
            pq::put_le64(mn, std::bit_cast<std::uint64_t>(s.fmin));
            pq::put_le64(mx, std::bit_cast<std::uint64_t>(s.fmax));
            break;
        default:
            mn = s.smin;
            mx = s.smax;
    }
}

// One zstd context per thread, for every writer that compresses there (the
// unload's encoder thread: one, rather than one per open file).
ZSTD_CCtx* thread_zstd() {
    struct holder {
        ZSTD_CCtx* c = nullptr;
        ~holder() {
            if (c) ZSTD_freeCCtx(c);
        }
    };
    static thread_local holder h;
    if (!h.c) h.c = ZSTD_createCCtx();
    return h.c;
}

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

node make_node(const std::string& name, const cql_type& t, int rep, const parquet_write_options& o) {
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
            if (o.iceberg) leaf(p_int64, conv::ts_micros, c_timestamp_micros, {l_timestamp, u_micros, 1});
            else leaf(p_int64, conv::i64, c_timestamp_millis, {l_timestamp, u_millis, 1});
            break;
        case type_kind::date: leaf(p_int32, conv::date, c_date, {l_date}); break;
        case type_kind::time:
            // Iceberg's time is microseconds: nanoseconds are truncated (docs/iceberg.md).
            if (o.iceberg) leaf(p_int64, conv::time_micros, c_time_micros, {l_time, u_micros, 0});
            else leaf(p_int64, conv::i64, c_none, {l_time, u_nanos, 0});
            break;
        // Cassandra's decimal has a scale per value; a Parquet DECIMAL has one per
        // column, so the exact text (BigDecimal form) keeps both value and scale.
        case type_kind::decimal:
        case type_kind::inet: leaf(p_byte_array, conv::as_text, c_utf8, {l_string}); break;
        case type_kind::varint:
            // Iceberg, or asked for: text (any width; Iceberg's decimal(38, 0) would need FIXED and cap the digits).
            if (o.iceberg || o.varint_as_text) {
                leaf(p_byte_array, conv::as_text, c_utf8, {l_string});
                break;
            }
            leaf(p_byte_array, conv::varint_dec, c_decimal, {l_decimal, 0, 38});
            n.scale = 0;
            n.precision = 38;
            break;
        case type_kind::duration: {
            n.sh = shape::duration;
            node m = make_node("months", cql_type(type_kind::int_), required, o);
            m.cv = conv::dur_months;
            node d = make_node("days", cql_type(type_kind::int_), required, o);
            d.cv = conv::dur_days;
            node ns = make_node("nanos", cql_type(type_kind::bigint), required, o);
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
            mid.children.push_back(make_node("element", t.params.empty() ? cql_type() : t.params[0], required, o));
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
            kv.children.push_back(make_node("key", t.params.size() > 0 ? t.params[0] : cql_type(), required, o));
            kv.children.push_back(make_node("value", t.params.size() > 1 ? t.params[1] : cql_type(), required, o));
            n.children.push_back(std::move(kv));
            break;
        }
        case type_kind::tuple:
        case type_kind::udt:
            n.sh = shape::structure;
            for (std::size_t i = 0; i < t.params.size(); ++i) {
                auto fname = t.kind == type_kind::udt && i < t.field_names.size() ? t.field_names[i]
                                                                                  : "_" + std::to_string(i + 1);
                n.children.push_back(make_node(fname, t.params[i], optional, o));
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
    std::string text, page, header;
    std::unique_ptr<char[]> zbuf;  // compressed page (not zero-filled as a std::string would be)
    std::size_t zcap = 0;
    struct mark {
        std::size_t plain;
        std::uint64_t values, entries, nulls;
    };
    std::vector<mark> marks;  // add_row: each leaf's state before the row, to undo it
    // Every column a top-level leaf of a type wire_scalar() takes (column i is
    // leaf i): add_row(cells) tries scalar_cells() first.
    bool scalar_row = false;
    std::vector<std::size_t> scalar_at;  // scalar_cells(): each leaf's PLAIN size before the row
    chunk_dict dict;          // flush: the column chunk's dictionary and ids
    chunk_stats mm;           // flush: its min/max
    status fault;             // why the last shred() failed
    cql_value cell_value;     // add_row(cells): a cell the scalar path does not take

    void emit(std::string& out, std::string_view s) {
        out.append(s);
        written += s.size();
    }

    void push_null(const node& n, int r, int d) {
        if (n.sh == shape::leaf) {
            auto& b = bufs[n.leaf];
            if (n.max_def > 0) b.push_def(static_cast<std::uint16_t>(d));
            if (n.max_rep > 0) b.reps.push_back(static_cast<std::uint16_t>(r));
            ++b.entries;
            ++b.nulls;
            return;
        }
        for (const auto& c : n.children) push_null(c, r, d);
    }

    // The shredding functions return false on a value that cannot be written,
    // with the reason in `fault` (a status per value would cost more than the value).
    bool fail(std::string m) {
        fault = {errc::bad_value, std::move(m)};
        return false;
    }

    // Little-endian stores (one instruction, where the byte loop was not merged).
    [[gnu::always_inline]] static void put32(pod_buf<char>& s, std::uint32_t v) {
        if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
        std::memcpy(s.extend(4), &v, 4);
    }
    [[gnu::always_inline]] static void put64(pod_buf<char>& s, std::uint64_t v) {
        if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
        std::memcpy(s.extend(8), &v, 8);
    }
    [[gnu::always_inline]] static void put_bytes(pod_buf<char>& s, const void* data, std::size_t n) {
        put32(s, static_cast<std::uint32_t>(n));
        s.append(static_cast<const char*>(data), n);
    }

    // Appends the value's PLAIN bytes to s; on error appends nothing.
    bool value_bytes(const node& n, const cql_value& v, pod_buf<char>& s) {
        auto mismatch = [&]() {
            return fail("column value of kind " + std::string(protocol::to_string(v.kind())) + " for " +
                        protocol::to_cql_name(n.type));
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
                put32(s, static_cast<std::uint32_t>(static_cast<std::int32_t>(v.as_int())));
                break;
            case conv::i64:
                if (v.kind() != value_kind::integer) return mismatch();
                put64(s, static_cast<std::uint64_t>(v.as_int()));
                break;
            case conv::ts_micros: {
                if (v.kind() != value_kind::integer) return mismatch();
                std::int64_t us = 0;
                if (__builtin_mul_overflow(v.as_int(), std::int64_t{1000}, &us))
                    return fail("timestamp " + std::to_string(v.as_int()) + " ms does not fit in microseconds");
                put64(s, static_cast<std::uint64_t>(us));
                break;
            }
            case conv::time_micros:
                if (v.kind() != value_kind::integer) return mismatch();
                put64(s, static_cast<std::uint64_t>(v.as_int() / 1000));
                break;
            case conv::date:
                if (v.kind() != value_kind::date) return mismatch();
                put32(s, static_cast<std::uint32_t>(static_cast<std::int32_t>(protocol::date_to_epoch_days(v.as_date()))));
                break;
            case conv::f32:
                if (v.kind() != value_kind::float32) return mismatch();
                put32(s, std::bit_cast<std::uint32_t>(v.as_float()));
                break;
            case conv::f64:
                if (v.kind() != value_kind::float64) return mismatch();
                put64(s, std::bit_cast<std::uint64_t>(v.as_double()));
                break;
            case conv::text:
                if (v.kind() != value_kind::string) return mismatch();
                put_bytes(s, v.as_string().data(), v.as_string().size());
                break;
            case conv::blob:
                if (v.kind() != value_kind::blob) return mismatch();
                put_bytes(s, v.as_blob().data(), v.as_blob().size());
                break;
            case conv::uuid:
                if (v.kind() != value_kind::uuid) return mismatch();
                s.append(reinterpret_cast<const char*>(v.as_uuid().data()), 16);
                break;
            case conv::as_text: {
                text = to_field_text(n.type, v);
                put_bytes(s, text.data(), text.size());
                break;
            }
            case conv::varint_dec: {
                if (v.kind() != value_kind::varint) return mismatch();
                auto m = v.as_varint().minimal();
                // DECIMAL(38, 0): 38 digits fit in 127 bits plus sign, 16 bytes.
                if (m.bytes().size() > 16 || m.to_string().size() > 38 + (m.is_negative() ? 1u : 0u))
                    return fail("varint " + m.to_string() + " has more than 38 digits (Parquet DECIMAL(38, 0))");
                put_bytes(s, m.bytes().data(), m.bytes().size());
                break;
            }
            case conv::dur_months:
                if (v.kind() != value_kind::duration) return mismatch();
                put32(s, static_cast<std::uint32_t>(v.as_duration().months));
                break;
            case conv::dur_days:
                if (v.kind() != value_kind::duration) return mismatch();
                put32(s, static_cast<std::uint32_t>(v.as_duration().days));
                break;
            case conv::dur_nanos:
                if (v.kind() != value_kind::duration) return mismatch();
                put64(s, static_cast<std::uint64_t>(v.as_duration().nanos));
                break;
        }
        return true;
    }

    bool push_value(const node& n, const cql_value& v, int r, int d) {
        auto& b = bufs[n.leaf];
        // Encoded straight into the column's PLAIN buffer (add_row cuts it back
        // if a later value of the row fails).
        const std::size_t at = b.plain.size();
        if (!value_bytes(n, v, b.plain)) return false;
        commit_value(b, at, r, d);
        return true;
    }

    // The value whose PLAIN bytes start at `at` of b.plain: its levels (its
    // dictionary id and the statistics come at flush, from b.plain).
    void commit_value(leaf_buf& b, std::size_t at, int r, int d) {
        const node& n = *b.n;
        if (n.max_def > 0) b.push_def(static_cast<std::uint16_t>(d));
        if (n.max_rep > 0) b.reps.push_back(static_cast<std::uint16_t>(r));
        ++b.entries;
        ++b.values;
        buffered += b.plain.size() - at + 4;
    }

    // A top-level scalar cell straight from its protocol bytes to PLAIN, as
    // decode_value() then value_bytes() would write it. False, with nothing
    // written, for what takes the general path: other types, zero-length
    // (empty) values, and bytes decode_value() rejects (it says why).
    bool wire_scalar(const node& n, protocol::bytes_view c) {
        using protocol::detail::load_be16;
        using protocol::detail::load_be32;
        using protocol::detail::load_be64;
        auto& b = bufs[n.leaf];
        const std::size_t at = b.plain.size();
        const auto chars = [&] { return std::string_view(reinterpret_cast<const char*>(c.data()), c.size()); };
        switch (n.type.kind) {
            case type_kind::boolean:
                if (c.size() != 1) return false;
                b.plain.push_back(c[0] != 0 ? 1 : 0);
                break;
            case type_kind::tinyint:
                if (c.size() != 1) return false;
                put32(b.plain, static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<std::int8_t>(c[0]))));
                break;
            case type_kind::smallint:
                if (c.size() != 2) return false;
                put32(b.plain, static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<std::int16_t>(load_be16(c.data())))));
                break;
            case type_kind::int_:
            case type_kind::float_:  // the bits, byte order swapped
                if (c.size() != 4) return false;
                put32(b.plain, load_be32(c.data()));
                break;
            case type_kind::date:
                if (c.size() != 4) return false;
                put32(b.plain, static_cast<std::uint32_t>(static_cast<std::int32_t>(protocol::date_to_epoch_days(load_be32(c.data())))));
                break;
            case type_kind::bigint:
            case type_kind::counter:
            case type_kind::double_:
                if (c.size() != 8) return false;
                put64(b.plain, load_be64(c.data()));
                break;
            case type_kind::timestamp: {
                if (c.size() != 8) return false;
                auto ms = static_cast<std::int64_t>(load_be64(c.data()));
                if (n.cv == conv::ts_micros && __builtin_mul_overflow(ms, std::int64_t{1000}, &ms)) return false;
                put64(b.plain, static_cast<std::uint64_t>(ms));
                break;
            }
            case type_kind::text:
                if (!is_ascii8(c) && !protocol::detail::is_valid_utf8(chars())) return false;
                put_bytes(b.plain, c.data(), c.size());
                break;
            case type_kind::ascii:
                if (!protocol::detail::is_ascii(chars())) return false;
                put_bytes(b.plain, c.data(), c.size());
                break;
            case type_kind::blob:
            case type_kind::custom: put_bytes(b.plain, c.data(), c.size()); break;
            case type_kind::uuid:
                if (c.size() != 16) return false;
                b.plain.append(reinterpret_cast<const char*>(c.data()), 16);
                break;
            default: return false;
        }
        commit_value(b, at, 0, n.max_def);
        return true;
    }

    // Whether wire_scalar() takes this type's (non-empty) cells.
    static bool wire_type(type_kind k) noexcept {
        switch (k) {
            case type_kind::boolean:
            case type_kind::tinyint:
            case type_kind::smallint:
            case type_kind::int_:
            case type_kind::float_:
            case type_kind::date:
            case type_kind::bigint:
            case type_kind::counter:
            case type_kind::double_:
            case type_kind::timestamp:
            case type_kind::text:
            case type_kind::ascii:
            case type_kind::blob:
            case type_kind::custom:
            case type_kind::uuid: return true;
            default: return false;
        }
    }

    // A row of scalar columns (scalar_row), one entry per leaf, without the
    // marks and per-column dispatch of the general path. False, with the row
    // undone, at a cell it does not take (empty, or one wire_scalar() refuses):
    // the general path then does the row and says what is wrong with it.
    bool scalar_cells(std::span<const protocol::value_view> cells) {
        const std::size_t n = cells.size();
        std::size_t i = 0;
        for (; i < n; ++i) {
            leaf_buf& b = bufs[i];
            const auto& cell = cells[i];
            scalar_at[i] = b.plain.size();
            if (!cell.is_set()) {
                b.push_def(0);
                ++b.entries;
                ++b.nulls;
                continue;
            }
            if (cell.bytes.empty() || !wire_scalar(*b.n, cell.bytes)) break;
        }
        if (i == n) return true;
        for (std::size_t k = 0; k < i; ++k) {
            // Each took one entry: a value (PLAIN grew: every value has a byte) or a null.
            leaf_buf& b = bufs[k];
            if (b.plain.size() > scalar_at[k]) {
                buffered -= b.plain.size() - scalar_at[k] + 4;
                --b.values;
                b.plain.cut(scalar_at[k]);
            } else {
                --b.nulls;
            }
            --b.entries;
            b.defs.cut(b.entries);
        }
        return false;
    }

    // ASCII (so valid UTF-8), tested 8 bytes at a time: most text is, and
    // is_valid_utf8() goes byte by byte.
    static bool is_ascii8(protocol::bytes_view c) noexcept {
        const std::size_t n = c.size();
        std::uint64_t high = 0;
        if (n >= 8) {
            std::size_t i = 0;
            for (; i + 8 <= n; i += 8) {
                std::uint64_t x;
                std::memcpy(&x, c.data() + i, 8);
                high |= x;
            }
            std::uint64_t x;  // the last 8 bytes (overlapping what was read)
            std::memcpy(&x, c.data() + n - 8, 8);
            high |= x;
        } else {
            for (std::size_t i = 0; i < n; ++i) high |= c[i];
        }
        return (high & 0x8080808080808080ull) == 0;
    }

    // One cell of a result row into column `col`: nulls and scalars directly,
    // anything else decoded to a cql_value and shredded. On failure `fault`
    // holds the whole message (decode_row's words for an undecodable cell).
    bool shred_cell(std::size_t col, const protocol::value_view& cell) {
        const node& n = top[col];
        if (!cell.is_set()) {
            push_null(n, 0, 0);
            return true;
        }
        if (n.sh == shape::leaf && !cell.bytes.empty() && wire_scalar(n, cell.bytes)) return true;
        const auto& spec = columns[col];
        if (auto e = protocol::decode_value(spec.type, cell.bytes, cell_value); e != protocol::errc::ok) {
            fault = {errc::bad_value, "column \"" + spec.name + "\" (" + protocol::to_cql_name(spec.type) +
                                          "): undecodable cell: " + std::string(protocol::to_string(e))};
            return false;
        }
        if (shred(n, &cell_value, 0, 0)) return true;
        fault.message = "column \"" + spec.name + "\": " + fault.message;
        return false;
    }

    bool shred(const node& n, const cql_value* v, int r, int d) {
        if (n.rep == optional) {
            // Zero-length "empty" values have no Parquet form: written as null (docs/parquet.md).
            if (!v || v->is_null() || v->is_empty()) {
                push_null(n, r, d);
                return true;
            }
            ++d;
        } else if (!v || v->is_null() || v->is_empty()) {
            return fail("null inside a collection (" + n.name + ")");
        }
        switch (n.sh) {
            case shape::leaf: return push_value(n, *v, r, d);
            case shape::duration:
                for (const auto& c : n.children)
                    if (!push_value(c, *v, r, d)) return false;
                return true;
            case shape::structure: {
                if (v->kind() != value_kind::tuple) return fail(n.name + ": not a tuple/UDT value");
                const auto& el = v->elements();
                if (el.size() > n.children.size()) return fail(n.name + ": too many fields");
                for (std::size_t i = 0; i < n.children.size(); ++i)
                    if (!shred(n.children[i], i < el.size() ? &el[i] : nullptr, r, d)) return false;
                return true;
            }
            case shape::list: {
                if (v->kind() != value_kind::list) return fail(n.name + ": not a list/set value");
                const auto& mid = n.children[0];
                const auto& el = v->elements();
                if (el.empty()) {
                    push_null(mid, r, d);
                    return true;
                }
                for (std::size_t i = 0; i < el.size(); ++i)
                    if (!shred(mid.children[0], &el[i], i == 0 ? r : mid.max_rep, d + 1)) return false;
                return true;
            }
            case shape::map: {
                if (v->kind() != value_kind::map) return fail(n.name + ": not a map value");
                const auto& kv = n.children[0];
                const auto& en = v->entries();
                if (en.empty()) {
                    push_null(kv, r, d);
                    return true;
                }
                for (std::size_t i = 0; i < en.size(); ++i) {
                    const int rr = i == 0 ? r : kv.max_rep;
                    if (!shred(kv.children[0], &en[i].first, rr, d + 1)) return false;
                    if (!shred(kv.children[1], &en[i].second, rr, d + 1)) return false;
                }
                return true;
            }
        }
        return true;
    }

    // The page body as stored: `in` itself when uncompressed, else zbuf.
    status compress(std::string_view in, std::string_view& out) {
        auto room = [&](std::size_t n) {
            if (zcap < n) {
                zbuf.reset(new char[n]);
                zcap = n;
            }
        };
        switch (o.compression) {
            case parquet_compression::none: out = in; return {};
            case parquet_compression::snappy: {
                std::size_t n = snappy_max_compressed_length(in.size());
                room(n);
                if (snappy_compress(in.data(), in.size(), zbuf.get(), &n) != SNAPPY_OK)
                    return {errc::io_error, "snappy compression failed"};
                out = std::string_view(zbuf.get(), n);
                return {};
            }
            case parquet_compression::zstd: {
                ZSTD_CCtx* zctx = thread_zstd();
                if (!zctx) return {errc::io_error, "zstd: cannot create a compression context"};
                room(ZSTD_compressBound(in.size()));
                auto n = ZSTD_compressCCtx(zctx, zbuf.get(), zcap, in.data(), in.size(), o.zstd_level);
                if (ZSTD_isError(n)) return {errc::io_error, std::string("zstd: ") + ZSTD_getErrorName(n)};
                out = std::string_view(zbuf.get(), n);
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
        std::string_view compressed;
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
        if (o.on_chunk) {
            for (std::size_t i = 0; i < top.size(); ++i) {
                const node* f = &top[i];
                while (f->sh != shape::leaf && !f->children.empty()) f = &f->children.front();
                if (f->sh != shape::leaf) continue;
                const auto& b = bufs[f->leaf];
                o.on_chunk({i, f->physical, b.plain.view(), b.values, b.entries, b.nulls});
            }
        }
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
            bool use_dict = false;
            if (o.dictionary && n.physical != p_boolean && b.values > 0) {
                const char* data = b.plain.data();
                switch (n.physical) {
                    case p_int32:
                    case p_float: use_dict = dict.build_fixed<std::uint32_t>(data, b.values); break;
                    case p_int64:
                    case p_double: use_dict = dict.build_fixed<std::uint64_t>(data, b.values); break;
                    case p_flba:
                        use_dict = dict.build_bytes(data, b.plain.size(), b.values, static_cast<std::size_t>(n.type_length));
                        break;
                    default: use_dict = dict.build_bytes(data, b.plain.size(), b.values, 0); break;
                }
                use_dict = use_dict && dict.size() * 2 <= b.values;
            }
            // Min/max over the dictionary when there is one (the same values, fewer).
            bool have_minmax = false;
            if (b.stats) {
                const bool ok = use_dict ? mm.compute(n.physical, n.type_length, dict.page().data(), dict.page().size(), dict.size())
                                         : mm.compute(n.physical, n.type_length, b.plain.data(), b.plain.size(), b.values);
                have_minmax = ok && mm.have;
            }
            if (use_dict) {
                m.dict_offset = static_cast<std::int64_t>(written);
                if (auto st = write_page(out, page_dictionary, dict.page(), static_cast<std::int64_t>(dict.size()),
                                         e_plain, unc, comp); !st)
                    return st;
                m.encodings = {e_plain, e_rle, e_rle_dictionary};
            } else {
                m.encodings = {e_plain, e_rle};
            }
            m.data_offset = static_cast<std::int64_t>(written);
            page.clear();
            auto levels = [&](const std::uint16_t* lv, std::size_t count, int maxl) {
                const auto at = page.size();
                page.append(4, '\0');
                rle_encode16(page, lv, count, bit_width(static_cast<std::uint64_t>(maxl)));
                const auto len = static_cast<std::uint32_t>(page.size() - at - 4);
                std::string tmp;
                put_le32(tmp, len);
                std::memcpy(page.data() + at, tmp.data(), 4);
            };
            if (n.max_rep > 0) levels(b.reps.data(), b.reps.size(), n.max_rep);
            if (n.max_def > 0) {
                if (!b.defs_full) {
                    levels(b.defs.data(), b.defs.size(), n.max_def);
                } else if (b.entries >= 8) {
                    // All at the maximum: one RLE run (what rle_encode16 makes of them).
                    const auto at = page.size();
                    put_le32(page, 0);
                    rle_run(page, b.entries, static_cast<std::uint32_t>(n.max_def), bit_width(static_cast<std::uint64_t>(n.max_def)));
                    const auto len = static_cast<std::uint32_t>(page.size() - at - 4);
                    for (int k = 0; k < 4; ++k) page[at + static_cast<std::size_t>(k)] = static_cast<char>(len >> (8 * k));
                } else {
                    std::uint16_t lv[8];
                    std::fill_n(lv, b.entries, static_cast<std::uint16_t>(n.max_def));
                    levels(lv, b.entries, n.max_def);
                }
            }
            if (use_dict) {
                const int w = std::max(1, bit_width(dict.size() - 1));
                page.push_back(static_cast<char>(w));
                rle_encode(page, dict.ids().data(), dict.ids().size(), w);
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
                page += b.plain.view();
            }
            if (auto st = write_page(out, page_data, page, m.num_values, use_dict ? e_rle_dictionary : e_plain, unc,
                                     comp); !st)
                return st;
            m.uncompressed = unc;
            m.compressed = comp;
            m.has_stats = true;
            m.nulls = static_cast<std::int64_t>(b.nulls);
            m.has_minmax = have_minmax;
            if (m.has_minmax) {
                minmax_bytes(n.physical, mm, m.min, m.max);
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
            b.reset();
        }
        groups.push_back(std::move(g));
        group_rows = 0;
        buffered = 0;
        return {};
    }

    template <class Put>
    status add_row(std::size_t n, Put&& put, std::string& out);

    bool full() const noexcept { return group_rows >= o.row_group_rows || buffered >= o.row_group_bytes; }

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
    for (const auto& c : p_->columns) p_->top.push_back(make_node(c.name, c.type, optional, p_->o));
    std::size_t next_id = 0;
    for (auto& t : p_->top) assign_field_ids(t, p_->o.field_ids, next_id);
    for (auto& t : p_->top) assign_levels(t, 0, 0, p_->leaves);
    p_->bufs.resize(p_->leaves.size());
    p_->marks.resize(p_->leaves.size());
    p_->scalar_row = p_->leaves.size() == p_->top.size() &&
                     std::all_of(p_->top.begin(), p_->top.end(),
                                 [](const node& t) { return t.sh == shape::leaf && impl::wire_type(t.type.kind); });
    p_->scalar_at.resize(p_->top.size());
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

// Shared by both add_row forms: `put(i)` shreds column i (false: p.fault says why, whole).
template <class Put>
status parquet_writer::impl::add_row(std::size_t n, Put&& put, std::string& out) {
    if (finished) return {errc::io_error, "parquet writer: add_row after finish"};
    if (n != top.size())
        return {errc::field_count, "row has " + std::to_string(n) + " values for " + std::to_string(top.size()) +
                                       " columns"};
    if (!started) {
        emit(out, "PAR1");
        started = true;
    }
    for (std::size_t i = 0; i < bufs.size(); ++i) {
        const auto& b = bufs[i];
        marks[i] = {b.plain.size(), b.values, b.entries, b.nulls};
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (!put(i)) {
            for (std::size_t k = 0; k < bufs.size(); ++k) {
                // One level per entry (every leaf is under an optional column), one
                // index per value while the dictionary is on.
                auto& b = bufs[k];
                b.plain.cut(marks[k].plain);
                b.values = marks[k].values;
                b.entries = marks[k].entries;
                b.nulls = marks[k].nulls;
                b.defs.cut(b.entries);
                b.reps.cut(b.entries);
            }
            return std::move(fault);
        }
    }
    ++total_rows;
    ++group_rows;
    if (o.auto_flush && full()) return flush_group(out);
    return {};
}

status parquet_writer::add_row(std::span<const cql_value> row, std::string& out) {
    auto& p = *p_;
    return p.add_row(
        row.size(),
        [&](std::size_t i) {
            if (p.shred(p.top[i], &row[i], 0, 0)) return true;
            p.fault.message = "column \"" + p.columns[i].name + "\": " + p.fault.message;
            return false;
        },
        out);
}

status parquet_writer::add_row(std::span<const protocol::value_view> cells, std::string& out) {
    auto& p = *p_;
    if (p.scalar_row && p.started && !p.finished && cells.size() == p.top.size() && p.scalar_cells(cells)) {
        ++p.total_rows;
        ++p.group_rows;
        if (p.o.auto_flush && p.full()) return p.flush_group(out);
        return {};
    }
    return p.add_row(cells.size(), [&](std::size_t i) { return p.shred_cell(i, cells[i]); }, out);
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

bool parquet_writer::row_group_full() const noexcept { return p_->full(); }

status parquet_writer::flush_row_group(std::string& out) {
    auto& p = *p_;
    if (p.finished) return {errc::io_error, "parquet writer: flush_row_group after finish"};
    return p.flush_group(out);
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
