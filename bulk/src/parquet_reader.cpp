// Parquet reader: footer (Thrift compact), one row group's column chunks at a
// time, pages decoded to levels + values, rows assembled back (Dremel) and
// converted to the table's CQL types. Every size and count from the file is
// checked before it is used.
#include "cqlpp/bulk/codec.hpp"
#include "cqlpp/bulk/parquet.hpp"
#include "parquet_format.hpp"
#include "parquet_thrift.hpp"

#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "cqlpp/protocol/detail/text.hpp"
#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <bit>
#include <cstring>
#include <limits>

namespace cqlpp::bulk {

using protocol::cql_type;
using protocol::cql_value;
using protocol::type_kind;
using namespace pq;

namespace {

constexpr std::size_t max_footer = 64u << 20;
constexpr std::size_t max_page = 1u << 30;
constexpr std::size_t max_schema = 100000;
constexpr std::size_t max_groups = 1u << 20;
constexpr std::size_t max_chunks = 1u << 22;

status bad(std::string m) { return {errc::bad_parquet, std::move(m)}; }

struct rnode {
    std::string name;
    int rep = required;
    int physical = -1;  // -1: group
    int type_length = 0;
    int converted = c_none;
    int scale = 0, precision = 0;
    logical lt;
    int num_children = 0;
    std::vector<rnode> children;
    std::size_t leaf = 0;
    int max_def = 0, max_rep = 0;
    bool is_group() const { return physical < 0; }
};

struct chunk_info {
    std::vector<std::string> path;
    int physical = 0;
    int codec = 0;
    std::int64_t num_values = 0, compressed = 0, data_offset = 0, dict_offset = -1;
};
struct group_info {
    std::int64_t rows = 0;
    std::vector<chunk_info> chunks;
};

// Decoded column chunk of one leaf.
struct leaf_col {
    std::vector<std::uint16_t> defs, reps;
    std::vector<std::int64_t> ints;  // INT32, INT64, BOOLEAN
    std::vector<float> flts;
    std::vector<double> dbls;
    std::vector<std::string_view> bytes;  // BYTE_ARRAY, FLBA, INT96 (into `owned`)
    std::deque<std::string> owned;  // stable addresses: views point into it
    std::size_t entries = 0;
    std::size_t pe = 0, pv = 0;  // cursors: entry, value
    // dictionary
    std::vector<std::int64_t> d_ints;
    std::vector<float> d_flts;
    std::vector<double> d_dbls;
    std::vector<std::string_view> d_bytes;
    void clear() {
        defs.clear();
        reps.clear();
        ints.clear();
        flts.clear();
        dbls.clear();
        bytes.clear();
        owned.clear();
        d_ints.clear();
        d_flts.clear();
        d_dbls.clear();
        d_bytes.clear();
        entries = pe = pv = 0;
    }
};

// ---- Thrift structs ---------------------------------------------------------

void read_logical(thrift::reader& r, logical& lt) {
    r.enter_struct();
    int id = 0;
    thrift::ctype t{};
    while (r.next_field(id, t)) {
        if (t != thrift::t_struct) {
            r.skip(t);
            continue;
        }
        lt.kind = id;
        r.enter_struct();
        int fid = 0;
        thrift::ctype ft{};
        while (r.next_field(fid, ft)) {
            if (id == l_decimal && fid == 1 && ft == thrift::t_i32) lt.a = static_cast<int>(r.read_int());
            else if (id == l_decimal && fid == 2 && ft == thrift::t_i32) lt.b = static_cast<int>(r.read_int());
            else if ((id == l_time || id == l_timestamp) && fid == 1 && (ft == thrift::t_true || ft == thrift::t_false))
                lt.b = r.read_bool();
            else if ((id == l_time || id == l_timestamp) && fid == 2 && ft == thrift::t_struct) {
                r.enter_struct();
                int uid = 0;
                thrift::ctype ut{};
                while (r.next_field(uid, ut)) {
                    lt.a = uid;
                    r.skip(ut);
                }
                r.leave_struct();
            } else if (id == l_integer && fid == 1 && ft == thrift::t_byte) lt.a = r.read_i8();
            else if (id == l_integer && fid == 2 && (ft == thrift::t_true || ft == thrift::t_false)) lt.b = r.read_bool();
            else r.skip(ft);
        }
        r.leave_struct();
    }
    r.leave_struct();
}

void read_schema_element(thrift::reader& r, rnode& n) {
    r.enter_struct();
    int id = 0;
    thrift::ctype t{};
    while (r.next_field(id, t)) {
        switch (id) {
            case 1: n.physical = t == thrift::t_i32 ? static_cast<int>(r.read_int()) : (r.skip(t), -1); break;
            case 2: if (t == thrift::t_i32) n.type_length = static_cast<int>(r.read_int()); else r.skip(t); break;
            case 3: if (t == thrift::t_i32) n.rep = static_cast<int>(r.read_int()); else r.skip(t); break;
            case 4: if (t == thrift::t_binary) n.name = std::string(r.read_binary()); else r.skip(t); break;
            case 5: if (t == thrift::t_i32) n.num_children = static_cast<int>(r.read_int()); else r.skip(t); break;
            case 6: if (t == thrift::t_i32) n.converted = static_cast<int>(r.read_int()); else r.skip(t); break;
            case 7: if (t == thrift::t_i32) n.scale = static_cast<int>(r.read_int()); else r.skip(t); break;
            case 8: if (t == thrift::t_i32) n.precision = static_cast<int>(r.read_int()); else r.skip(t); break;
            case 10: if (t == thrift::t_struct) read_logical(r, n.lt); else r.skip(t); break;
            default: r.skip(t);
        }
    }
    r.leave_struct();
}

void read_column_meta(thrift::reader& r, chunk_info& c) {
    r.enter_struct();
    int id = 0;
    thrift::ctype t{};
    while (r.next_field(id, t)) {
        if (id == 1 && t == thrift::t_i32) c.physical = static_cast<int>(r.read_int());
        else if (id == 3 && t == thrift::t_list) {
            thrift::ctype e{};
            auto n = r.read_list(e);
            for (std::size_t i = 0; i < n && r.ok(); ++i) {
                if (e == thrift::t_binary) c.path.emplace_back(r.read_binary());
                else r.skip(e, true);
            }
        } else if (id == 4 && t == thrift::t_i32) c.codec = static_cast<int>(r.read_int());
        else if (id == 5 && t == thrift::t_i64) c.num_values = r.read_int();
        else if (id == 7 && t == thrift::t_i64) c.compressed = r.read_int();
        else if (id == 9 && t == thrift::t_i64) c.data_offset = r.read_int();
        else if (id == 11 && t == thrift::t_i64) c.dict_offset = r.read_int();
        else r.skip(t);
    }
    r.leave_struct();
}

void read_row_group(thrift::reader& r, group_info& g) {
    r.enter_struct();
    int id = 0;
    thrift::ctype t{};
    while (r.next_field(id, t)) {
        if (id == 1 && t == thrift::t_list) {
            thrift::ctype e{};
            auto n = r.read_list(e);
            if (n > max_chunks) r.fail();  // see parse_footer
            for (std::size_t i = 0; i < n && r.ok(); ++i) {
                if (e != thrift::t_struct) {
                    r.skip(e, true);
                    continue;
                }
                chunk_info c;
                c.dict_offset = -1;
                r.enter_struct();
                int cid = 0;
                thrift::ctype ct{};
                bool external = false;
                while (r.next_field(cid, ct)) {
                    if (cid == 1 && ct == thrift::t_binary) external = !r.read_binary().empty();
                    else if (cid == 3 && ct == thrift::t_struct) read_column_meta(r, c);
                    else r.skip(ct);
                }
                r.leave_struct();
                if (external) c.data_offset = -1;  // flagged below
                g.chunks.push_back(std::move(c));
            }
        } else if (id == 3 && t == thrift::t_i64) {
            g.rows = r.read_int();
        } else {
            r.skip(t);
        }
    }
    r.leave_struct();
}

struct page_header {
    int type = -1;
    std::int64_t unc = -1, comp = -1;
    std::int64_t num_values = 0;
    int encoding = 0;
    // v2
    std::int64_t num_nulls = 0, def_len = 0, rep_len = 0;
    bool is_compressed = true;
};

void read_page_header(thrift::reader& r, page_header& h) {
    r.enter_struct();
    int id = 0;
    thrift::ctype t{};
    while (r.next_field(id, t)) {
        if (id == 1 && t == thrift::t_i32) h.type = static_cast<int>(r.read_int());
        else if (id == 2 && t == thrift::t_i32) h.unc = r.read_int();
        else if (id == 3 && t == thrift::t_i32) h.comp = r.read_int();
        else if ((id == 5 || id == 7 || id == 8) && t == thrift::t_struct) {
            r.enter_struct();
            int fid = 0;
            thrift::ctype ft{};
            while (r.next_field(fid, ft)) {
                if (fid == 1 && ft == thrift::t_i32) h.num_values = r.read_int();
                else if (id != 8 && fid == 2 && ft == thrift::t_i32) h.encoding = static_cast<int>(r.read_int());
                else if (id == 8 && fid == 2 && ft == thrift::t_i32) h.num_nulls = r.read_int();
                else if (id == 8 && fid == 4 && ft == thrift::t_i32) h.encoding = static_cast<int>(r.read_int());
                else if (id == 8 && fid == 5 && ft == thrift::t_i32) h.def_len = r.read_int();
                else if (id == 8 && fid == 6 && ft == thrift::t_i32) h.rep_len = r.read_int();
                else if (id == 8 && fid == 7 && (ft == thrift::t_true || ft == thrift::t_false)) h.is_compressed = r.read_bool();
                else r.skip(ft);
            }
            r.leave_struct();
        } else {
            r.skip(t);
        }
    }
    r.leave_struct();
}

// ---- Encodings --------------------------------------------------------------

// RLE / bit-packed hybrid: exactly `count` values into out (appended).
template <class T>
bool rle_decode(const char* p, std::size_t n, int width, std::size_t count, std::vector<T>& out) {
    if (width < 0 || width > 32) return false;
    const std::size_t vbytes = static_cast<std::size_t>((width + 7) / 8);
    const char* end = p + n;
    std::size_t done = 0;
    while (done < count) {
        std::uint64_t h = 0;
        int shift = 0;
        while (true) {
            if (p >= end || shift > 35) return false;
            const auto b = static_cast<std::uint8_t>(*p++);
            h |= static_cast<std::uint64_t>(b & 0x7F) << shift;
            shift += 7;
            if (!(b & 0x80)) break;
        }
        if (h & 1) {
            const std::uint64_t groups = h >> 1;
            if (groups == 0 || groups > (std::numeric_limits<std::uint32_t>::max() >> 3)) return false;
            const std::size_t nv = static_cast<std::size_t>(groups) * 8;
            const std::size_t nbytes = static_cast<std::size_t>(groups) * static_cast<std::size_t>(width);
            if (static_cast<std::size_t>(end - p) < nbytes) {
                // The last run may be cut short when it holds the last values.
                if (static_cast<std::size_t>(end - p) * 8 < (count - done) * static_cast<std::size_t>(width))
                    return false;
            }
            const std::size_t take = std::min(nv, count - done);
            std::uint64_t acc = 0;
            int bits = 0;
            const std::uint64_t mask = width == 32 ? 0xFFFFFFFFull : ((1ull << width) - 1);
            for (std::size_t k = 0; k < take; ++k) {
                while (bits < width) {
                    acc |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(*p++)) << bits;
                    bits += 8;
                }
                out.push_back(static_cast<T>(acc & mask));
                acc >>= width;
                bits -= width;
            }
            done += take;
            if (take < nv) return true;  // rest is padding
            // Skip whole bytes not consumed by the loop (none: groups of 8 end on a byte).
        } else {
            const std::uint64_t run = h >> 1;
            if (static_cast<std::size_t>(end - p) < vbytes) return false;
            std::uint64_t v = 0;
            for (std::size_t b = 0; b < vbytes; ++b) v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(p[b])) << (8 * b);
            p += vbytes;
            if (width < 32 && v >> width) return false;
            const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(run, count - done));
            if (run == 0) return false;
            out.insert(out.end(), take, static_cast<T>(v));
            done += take;
        }
    }
    return true;
}

// DELTA_BINARY_PACKED: `count` values appended; `used` gets the bytes read.
bool delta_decode(const char* p, std::size_t n, std::size_t count, std::vector<std::int64_t>& out, std::size_t& used) {
    const char* start = p;
    const char* end = p + n;
    auto uvar = [&](std::uint64_t& v) {
        v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p >= end) return false;
            const auto b = static_cast<std::uint8_t>(*p++);
            v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
            if (!(b & 0x80)) return true;
        }
        return false;
    };
    std::uint64_t block = 0, minis = 0, total = 0, first = 0;
    if (!uvar(block) || !uvar(minis) || !uvar(total) || !uvar(first)) return false;
    if (block == 0 || minis == 0 || block % 128 || block > (1u << 20) || minis > block || (block / minis) % 32)
        return false;
    if (total != count) return false;
    std::int64_t cur = static_cast<std::int64_t>((first >> 1) ^ (~(first & 1) + 1));
    if (total > 0) out.push_back(cur);
    std::size_t got = total > 0 ? 1 : 0;
    const std::size_t per_mini = static_cast<std::size_t>(block / minis);
    while (got < total) {
        std::uint64_t zz = 0;
        if (!uvar(zz)) return false;
        const auto min_delta = static_cast<std::int64_t>((zz >> 1) ^ (~(zz & 1) + 1));
        if (static_cast<std::size_t>(end - p) < minis) return false;
        const char* widths = p;
        p += minis;
        for (std::size_t m = 0; m < minis && got < total; ++m) {
            const int w = static_cast<std::uint8_t>(widths[m]);
            if (w > 64) return false;
            const std::size_t nbytes = per_mini * static_cast<std::size_t>(w) / 8;
            if (static_cast<std::size_t>(end - p) < nbytes) return false;
            std::size_t bitpos = 0;
            for (std::size_t k = 0; k < per_mini && got < total; ++k) {
                // w bits from bitpos, LSB first, a byte's worth at a time (within nbytes: per_mini * w bits).
                std::uint64_t v = 0;
                for (int b = 0; b < w;) {
                    const int off = static_cast<int>(bitpos % 8);
                    const int take = std::min(8 - off, w - b);
                    const std::uint64_t bits = (static_cast<std::uint8_t>(p[bitpos / 8]) >> off) & ((1u << take) - 1);
                    v |= bits << b;
                    b += take;
                    bitpos += static_cast<std::size_t>(take);
                }
                cur = static_cast<std::int64_t>(static_cast<std::uint64_t>(cur) + static_cast<std::uint64_t>(min_delta) + v);
                out.push_back(cur);
                ++got;
            }
            p += nbytes;
        }
    }
    used = static_cast<std::size_t>(p - start);
    return true;
}

// BYTE_STREAM_SPLIT: byte k of value i is at k * count + i; `plain` gets the
// values' PLAIN layout (width bytes each). Bytes after count values are ignored.
bool byte_stream_split_decode(const char* p, std::size_t n, std::size_t count, int width, std::string& plain) {
    if (width <= 0 || count > n / static_cast<std::size_t>(width)) return false;
    plain.resize(count * static_cast<std::size_t>(width));
    const auto w = static_cast<std::size_t>(width);
    for (std::size_t k = 0; k < w; ++k)
        for (std::size_t i = 0; i < count; ++i) plain[i * w + k] = p[k * count + i];
    return true;
}

// DELTA_BYTE_ARRAY (incremental): DELTA_BINARY_PACKED prefix lengths, then
// suffix lengths, then the suffixes; value i = the first prefix[i] bytes of
// value i-1, then suffix i. `data` gets the values one after another, `lens`
// their lengths; at most `limit` bytes (counted before they are allocated).
bool delta_byte_array_decode(const char* p, std::size_t n, std::size_t count, std::uint64_t limit, std::string& data,
                             std::vector<std::int64_t>& lens) {
    std::vector<std::int64_t> prefix, suffix;
    std::size_t used = 0, used2 = 0;
    if (!delta_decode(p, n, count, prefix, used)) return false;
    if (!delta_decode(p + used, n - used, count, suffix, used2)) return false;
    const char* s = p + used + used2;
    std::size_t rest = n - used - used2;
    std::uint64_t total = 0, prev = 0;
    for (std::size_t i = 0; i < count; ++i) {
        if (prefix[i] < 0 || suffix[i] < 0 || static_cast<std::uint64_t>(prefix[i]) > prev) return false;
        if (static_cast<std::uint64_t>(suffix[i]) > rest) return false;
        rest -= static_cast<std::size_t>(suffix[i]);
        prev = static_cast<std::uint64_t>(prefix[i]) + static_cast<std::uint64_t>(suffix[i]);
        total += prev;
        if (total > limit) return false;
    }
    data.clear();
    data.reserve(static_cast<std::size_t>(total));
    lens.clear();
    std::size_t last = 0;  // offset in data of the previous value
    for (std::size_t i = 0; i < count; ++i) {
        const auto pre = static_cast<std::size_t>(prefix[i]), suf = static_cast<std::size_t>(suffix[i]);
        const std::size_t at = data.size();
        data.append(data, last, pre);
        data.append(s, suf);
        s += suf;
        last = at;
        lens.push_back(static_cast<std::int64_t>(pre + suf));
    }
    return true;
}

status decompress(int codec, std::string_view in, std::size_t unc, std::string& out) {
    if (unc > max_page) return bad("page of " + std::to_string(unc) + " bytes");
    switch (codec) {
        case k_uncompressed:
            if (in.size() != unc) return bad("uncompressed page size mismatch");
            out.assign(in);
            return {};
        case k_snappy: {
            std::size_t n = 0;
            if (snappy_uncompressed_length(in.data(), in.size(), &n) != SNAPPY_OK || n != unc)
                return bad("bad snappy page");
            out.resize(n);
            if (snappy_uncompress(in.data(), in.size(), out.data(), &n) != SNAPPY_OK || n != unc)
                return bad("bad snappy page");
            return {};
        }
        case k_zstd: {
            out.resize(unc);
            auto n = ZSTD_decompress(out.data(), unc, in.data(), in.size());
            if (ZSTD_isError(n) || n != unc) return bad("bad zstd page");
            return {};
        }
        case k_gzip: {
            out.resize(unc);
            z_stream zs{};
            if (inflateInit2(&zs, 15 + 32) != Z_OK) return bad("zlib init failed");
            zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
            zs.avail_in = static_cast<uInt>(in.size());
            zs.next_out = reinterpret_cast<Bytef*>(out.data());
            zs.avail_out = static_cast<uInt>(unc);
            int rc = inflate(&zs, Z_FINISH);
            const auto produced = zs.total_out;
            inflateEnd(&zs);
            if (rc != Z_STREAM_END || produced != unc) return bad("bad gzip page");
            return {};
        }
        default: return bad("unsupported compression codec " + std::to_string(codec));
    }
}

// Fixed-width size of a physical type (0 for BYTE_ARRAY, -1 for BOOLEAN bits).
int fixed_size(int physical, int type_length) {
    switch (physical) {
        case p_int32:
        case p_float: return 4;
        case p_int64:
        case p_double: return 8;
        case p_int96: return 12;
        case p_flba: return type_length;
        case p_boolean: return -1;
        default: return 0;
    }
}

// PLAIN values (count of them) into the given arrays.
bool decode_plain(const rnode& n, const char* p, std::size_t len, std::size_t count, std::vector<std::int64_t>& ints,
                  std::vector<float>& flts, std::vector<double>& dbls, std::vector<std::string_view>& bytes) {
    const int fs = fixed_size(n.physical, n.type_length);
    if (fs == -1) {
        if (len * 8 < count) return false;
        for (std::size_t i = 0; i < count; ++i) ints.push_back((static_cast<std::uint8_t>(p[i / 8]) >> (i % 8)) & 1);
        return true;
    }
    if (fs == 0) {
        const char* end = p + len;
        for (std::size_t i = 0; i < count; ++i) {
            if (end - p < 4) return false;
            const std::uint32_t l = get_le32(p);
            p += 4;
            if (static_cast<std::size_t>(end - p) < l) return false;
            bytes.emplace_back(p, l);
            p += l;
        }
        return true;
    }
    if (count > len / static_cast<std::size_t>(fs)) return false;
    for (std::size_t i = 0; i < count; ++i, p += fs) {
        switch (n.physical) {
            case p_int32: ints.push_back(static_cast<std::int32_t>(get_le32(p))); break;
            case p_int64: ints.push_back(static_cast<std::int64_t>(get_le64(p))); break;
            case p_float: flts.push_back(std::bit_cast<float>(get_le32(p))); break;
            case p_double: dbls.push_back(std::bit_cast<double>(get_le64(p))); break;
            default: bytes.emplace_back(p, static_cast<std::size_t>(fs)); break;
        }
    }
    return true;
}

}  // namespace

struct parquet_reader::impl {
    parquet_read_options opt;
    std::uint64_t budget = 0;  // bytes the current row group may still decode into
    parquet_source src;
    std::uint64_t file_size = 0;
    std::vector<protocol::column_spec> columns;
    rnode root;
    std::vector<const rnode*> leaves;
    std::vector<group_info> groups;
    std::int64_t num_rows = 0;
    std::vector<const rnode*> bound;  // per table column: its file node or null
    std::vector<bool> present;
    std::vector<bool> leaf_needed;
    std::vector<leaf_col> cols;
    status err;
    std::size_t group = 0;
    std::int64_t group_row = 0;  // rows returned from the current group
    bool group_loaded = false;
    std::uint64_t rows_before = 0;  // rows of the groups before the current one
    std::uint64_t last_index = 0;
    std::size_t error_column = 0;  // of the last row's row_error (columns.size(): none)
    std::string buf, page;
    std::string conv_err;
    std::string conv_raw;  // the file's value conv_err is about, as JSON (empty: not one value)

    status build(const std::vector<rnode>& flat, std::size_t& i, rnode& n, int depth) {
        if (depth > 64) return bad("schema nested too deep");
        if (n.num_children < 0 || static_cast<std::size_t>(n.num_children) > flat.size() - i)
            return bad("schema element " + n.name + " has a bad child count");
        for (int c = 0; c < n.num_children; ++c) {
            if (i >= flat.size()) return bad("schema ends early");
            n.children.push_back(flat[i++]);
            auto& ch = n.children.back();
            if (ch.num_children == 0 && ch.physical < 0) return bad("schema element " + ch.name + " has no type");
            if (ch.num_children > 0) ch.physical = -1;
            if (auto st = build(flat, i, ch, depth + 1); !st) return st;
        }
        return {};
    }

    void levels(rnode& n, int def, int rep) {
        if (n.rep != required) ++def;
        if (n.rep == repeated) ++rep;
        n.max_def = def;
        n.max_rep = rep;
        if (!n.is_group()) {
            n.leaf = leaves.size();
            leaves.push_back(&n);
            return;
        }
        for (auto& c : n.children) levels(c, def, rep);
    }

    status parse_footer(std::string_view meta) {
        thrift::reader r(meta.data(), meta.size());
        std::vector<rnode> flat;
        std::size_t chunks_seen = 0;
        r.enter_struct();
        int id = 0;
        thrift::ctype t{};
        while (r.next_field(id, t)) {
            if (id == 2 && t == thrift::t_list) {
                thrift::ctype e{};
                auto n = r.read_list(e);
                if (n > max_schema) return bad("schema of " + std::to_string(n) + " elements");
                for (std::size_t i = 0; i < n && r.ok(); ++i) {
                    if (e != thrift::t_struct) return bad("schema list of non-structs");
                    flat.emplace_back();
                    read_schema_element(r, flat.back());
                }
            } else if (id == 3 && t == thrift::t_i64) {
                num_rows = r.read_int();
            } else if (id == 4 && t == thrift::t_list) {
                thrift::ctype e{};
                auto n = r.read_list(e);
                // An empty struct is one byte: without a cap a 64 MiB footer could
                // ask for gigabytes of row group and column chunk records.
                if (n > max_groups) return bad("footer lists " + std::to_string(n) + " row groups");
                for (std::size_t i = 0; i < n && r.ok(); ++i) {
                    if (e != thrift::t_struct) return bad("row group list of non-structs");
                    groups.emplace_back();
                    read_row_group(r, groups.back());
                    chunks_seen += groups.back().chunks.size();
                    if (chunks_seen > max_chunks) return bad("footer lists more than " + std::to_string(max_chunks) +
                                                             " column chunks");
                }
            } else {
                r.skip(t);
            }
        }
        if (!r.ok()) return bad("footer metadata is not valid Thrift");
        if (flat.empty()) return bad("no schema");
        root = flat[0];
        root.physical = -1;
        std::size_t i = 1;
        if (auto st = build(flat, i, root, 0); !st) return st;
        if (i != flat.size()) return bad("schema has elements outside the root");
        root.rep = required;
        for (auto& c : root.children) levels(c, 0, 0);
        if (num_rows < 0) return bad("negative row count");
        std::int64_t sum = 0;
        for (const auto& g : groups) {
            if (g.rows < 0 || g.chunks.size() != leaves.size()) return bad("row group does not match the schema");
            if (__builtin_add_overflow(sum, g.rows, &sum)) return bad("row groups hold more than 2^63 rows");
            for (std::size_t k = 0; k < g.chunks.size(); ++k) {
                const auto& c = g.chunks[k];
                if (c.data_offset < 0) return bad("column chunks in other files are not supported");
                if (c.compressed < 0 || c.num_values < 0) return bad("negative column chunk size");
                if (c.physical != leaves[k]->physical) return bad("column chunk type differs from the schema");
            }
        }
        if (sum != num_rows) return bad("row groups hold " + std::to_string(sum) + " rows, footer says " +
                                        std::to_string(num_rows));
        return {};
    }

    // Checks that a file node can hold values of the CQL type (shape only).
    status fits(const rnode& n, const cql_type& t, const std::string& where, int depth = 0) {
        if (depth > 32) return bad(where + ": nested too deep");
        auto shape_err = [&](const char* want) {
            return bad("column " + where + ": a " + std::string(want) + " is needed for " + protocol::to_cql_name(t));
        };
        switch (t.kind) {
            case type_kind::list:
            case type_kind::set:
            case type_kind::vector: {
                const rnode* el = list_element(n);
                if (!el) return shape_err("LIST group");
                return fits(*el, t.params.empty() ? cql_type() : t.params[0], where + ".element", depth + 1);
            }
            case type_kind::map: {
                if (!n.is_group() || n.children.size() != 1 || n.children[0].rep != repeated ||
                    n.children[0].children.size() != 2)
                    return shape_err("MAP group");
                if (auto st = fits(n.children[0].children[0], t.params.at(0), where + ".key", depth + 1); !st) return st;
                return fits(n.children[0].children[1], t.params.at(1), where + ".value", depth + 1);
            }
            case type_kind::tuple:
            case type_kind::udt:
                if (!n.is_group()) return n.physical == p_byte_array ? status{} : shape_err("group");
                for (std::size_t i = 0; i < t.params.size(); ++i) {
                    const rnode* c = struct_field(n, t, i);
                    if (c) {
                        if (auto st = fits(*c, t.params[i], where + "." + c->name, depth + 1); !st) return st;
                    }
                }
                return {};
            case type_kind::duration:
                if (n.is_group()) {
                    if (n.children.size() != 3) return shape_err("group (months, days, nanos)");
                    for (const auto& c : n.children)
                        if (c.is_group()) return shape_err("group (months, days, nanos)");
                    return {};
                }
                return {};
            default:
                if (n.is_group()) return shape_err("primitive column");
                if (n.rep == repeated) return shape_err("non-repeated column");
                return {};
        }
    }

    // The element node of a LIST-shaped group (3-level, or the legacy 2-level forms), or null.
    static const rnode* list_element(const rnode& n) {
        if (n.rep == repeated) return nullptr;
        if (!n.is_group() || n.children.size() != 1) return nullptr;
        const rnode& mid = n.children[0];
        if (mid.rep != repeated) return nullptr;
        if (!mid.is_group() || mid.children.size() != 1 || mid.name == "array" || mid.name == n.name + "_tuple")
            return &mid;
        return &mid.children[0];
    }

    static const rnode* struct_field(const rnode& n, const cql_type& t, std::size_t i) {
        if (t.kind == type_kind::udt && i < t.field_names.size()) {
            for (const auto& c : n.children)
                if (c.name == t.field_names[i]) return &c;
            for (const auto& c : n.children)
                if (c.name.size() == t.field_names[i].size() &&
                    std::equal(c.name.begin(), c.name.end(), t.field_names[i].begin(),
                               [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
                    return &c;
        }
        return i < n.children.size() ? &n.children[i] : nullptr;
    }

    // ---- Column chunks ----

    status load_chunk(const chunk_info& c, const rnode& n, leaf_col& col) {
        col.clear();
        std::int64_t start = c.dict_offset > 0 && c.dict_offset < c.data_offset ? c.dict_offset : c.data_offset;
        if (start < 4 || c.compressed <= 0 || static_cast<std::uint64_t>(start) > file_size ||
            static_cast<std::uint64_t>(c.compressed) > file_size - static_cast<std::uint64_t>(start))
            return bad("column chunk " + n.name + " lies outside the file");
        if (!take(static_cast<std::uint64_t>(c.compressed))) return over_budget(n);
        if (auto st = src(static_cast<std::uint64_t>(start), static_cast<std::size_t>(c.compressed), buf); !st) return st;
        const char* p = buf.data();
        const char* end = p + buf.size();
        const auto total = static_cast<std::size_t>(c.num_values);
        bool have_dict = false;
        while (col.entries < total) {
            if (p >= end) return bad("column chunk " + n.name + " ends before its values");
            thrift::reader r(p, static_cast<std::size_t>(end - p));
            page_header h;
            read_page_header(r, h);
            if (!r.ok() || h.comp < 0 || h.unc < 0) return bad("bad page header in " + n.name);
            p = r.pos();
            if (static_cast<std::uint64_t>(h.comp) > static_cast<std::uint64_t>(end - p))
                return bad("page of " + n.name + " runs past its column chunk");
            std::string_view body(p, static_cast<std::size_t>(h.comp));
            p += h.comp;
            if (h.type == page_dictionary) {
                if (have_dict) return bad("two dictionary pages in " + n.name);
                have_dict = true;
                if (h.num_values < 0) return bad("bad dictionary size in " + n.name);
                const auto entries = static_cast<std::uint64_t>(h.num_values);
                if (!take(static_cast<std::uint64_t>(h.unc)) || entries > budget / sizeof(std::string_view) ||
                    !take(entries * sizeof(std::string_view)))
                    return over_budget(n);
                col.owned.emplace_back();
                if (auto st = decompress(c.codec, body, static_cast<std::size_t>(h.unc), col.owned.back()); !st)
                    return st;
                const auto& d = col.owned.back();
                if (h.num_values < 0 || static_cast<std::uint64_t>(h.num_values) > d.size() * 8 + 8)
                    return bad("bad dictionary size in " + n.name);
                if (!decode_plain(n, d.data(), d.size(), static_cast<std::size_t>(h.num_values), col.d_ints,
                                  col.d_flts, col.d_dbls, col.d_bytes))
                    return bad("bad dictionary page in " + n.name);
                continue;
            }
            if (h.type != page_data && h.type != page_data_v2) continue;  // index pages
            if (h.num_values < 0 || static_cast<std::uint64_t>(h.num_values) > total - col.entries)
                return bad("page of " + n.name + " holds more values than its column chunk");
            const auto nv = static_cast<std::size_t>(h.num_values);
            // Per entry: two levels, a value (a string_view at most), and the
            // dictionary index or delta length decoded on the way.
            if (!take(static_cast<std::uint64_t>(h.unc)) || nv > budget / 32 || !take(std::uint64_t(nv) * 32))
                return over_budget(n);
            col.owned.emplace_back();
            std::string& data = col.owned.back();
            const char* q;
            const char* qend;
            std::size_t d0 = col.defs.size();
            if (h.type == page_data) {
                if (auto st = decompress(c.codec, body, static_cast<std::size_t>(h.unc), data); !st) return st;
                q = data.data();
                qend = q + data.size();
                auto lv = [&](int maxl, std::vector<std::uint16_t>& out) {
                    if (maxl == 0) return true;
                    if (qend - q < 4) return false;
                    const auto len = get_le32(q);
                    q += 4;
                    if (static_cast<std::size_t>(qend - q) < len) return false;
                    if (!rle_decode(q, len, bit_width(static_cast<std::uint64_t>(maxl)), nv, out)) return false;
                    q += len;
                    return true;
                };
                if (!lv(n.max_rep, col.reps) || !lv(n.max_def, col.defs)) return bad("bad levels in " + n.name);
            } else {
                if (h.rep_len < 0 || h.def_len < 0 || h.rep_len > h.comp || h.def_len > h.comp - h.rep_len ||
                    h.rep_len + h.def_len > h.unc)
                    return bad("bad level sizes in " + n.name);
                const char* lp = body.data();
                if (n.max_rep > 0 && !rle_decode(lp, static_cast<std::size_t>(h.rep_len),
                                                 bit_width(static_cast<std::uint64_t>(n.max_rep)), nv, col.reps))
                    return bad("bad repetition levels in " + n.name);
                lp += h.rep_len;
                if (n.max_def > 0 && !rle_decode(lp, static_cast<std::size_t>(h.def_len),
                                                 bit_width(static_cast<std::uint64_t>(n.max_def)), nv, col.defs))
                    return bad("bad definition levels in " + n.name);
                lp += h.def_len;
                std::string_view rest(lp, body.size() - static_cast<std::size_t>(h.rep_len + h.def_len));
                const auto unc_rest = static_cast<std::size_t>(h.unc - h.rep_len - h.def_len);
                if (h.is_compressed) {
                    if (auto st = decompress(c.codec, rest, unc_rest, data); !st) return st;
                } else {
                    data.assign(rest);
                }
                q = data.data();
                qend = q + data.size();
            }
            std::size_t present = nv;
            if (n.max_def > 0) {
                present = 0;
                for (std::size_t k = d0; k < col.defs.size(); ++k) {
                    if (col.defs[k] > n.max_def) return bad("definition level above the maximum in " + n.name);
                    if (col.defs[k] == n.max_def) ++present;
                }
            }
            for (std::size_t k = col.reps.size() >= nv ? col.reps.size() - nv : 0; k < col.reps.size(); ++k)
                if (col.reps[k] > n.max_rep) return bad("repetition level above the maximum in " + n.name);
            const auto qlen = static_cast<std::size_t>(qend - q);
            switch (h.encoding) {
                case e_plain:
                    if (!decode_plain(n, q, qlen, present, col.ints, col.flts, col.dbls, col.bytes))
                        return bad("bad PLAIN values in " + n.name);
                    break;
                case e_plain_dictionary:
                case e_rle_dictionary: {
                    if (!have_dict) return bad("dictionary-encoded page without a dictionary in " + n.name);
                    if (present > 0 && qlen < 1) return bad("bad dictionary indices in " + n.name);
                    std::vector<std::uint32_t> idx;
                    idx.reserve(present);
                    if (present > 0 && !rle_decode(q + 1, qlen - 1, static_cast<std::uint8_t>(q[0]), present, idx))
                        return bad("bad dictionary indices in " + n.name);
                    const std::size_t dn = std::max({col.d_ints.size(), col.d_flts.size(), col.d_dbls.size(),
                                                     col.d_bytes.size()});
                    for (auto x : idx) {
                        if (x >= dn) return bad("dictionary index out of range in " + n.name);
                        if (!col.d_ints.empty()) col.ints.push_back(col.d_ints[x]);
                        else if (!col.d_flts.empty()) col.flts.push_back(col.d_flts[x]);
                        else if (!col.d_dbls.empty()) col.dbls.push_back(col.d_dbls[x]);
                        else col.bytes.push_back(col.d_bytes[x]);
                    }
                    break;
                }
                case e_rle:
                    if (n.physical != p_boolean || qlen < 4) return bad("RLE values in " + n.name);
                    if (!rle_decode(q + 4, std::min<std::size_t>(qlen - 4, get_le32(q)), 1, present, col.ints))
                        return bad("bad RLE booleans in " + n.name);
                    break;
                case e_delta_binary_packed: {
                    if (n.physical != p_int32 && n.physical != p_int64) return bad("DELTA_BINARY_PACKED on " + n.name);
                    std::size_t used = 0;
                    const auto before = col.ints.size();
                    if (!delta_decode(q, qlen, present, col.ints, used)) return bad("bad DELTA_BINARY_PACKED in " + n.name);
                    if (n.physical == p_int32)
                        for (auto k = before; k < col.ints.size(); ++k)
                            col.ints[k] = static_cast<std::int32_t>(static_cast<std::uint32_t>(col.ints[k]));
                    break;
                }
                case e_delta_length_byte_array: {
                    if (n.physical != p_byte_array) return bad("DELTA_LENGTH_BYTE_ARRAY on " + n.name);
                    std::vector<std::int64_t> lens;
                    std::size_t used = 0;
                    if (!delta_decode(q, qlen, present, lens, used)) return bad("bad DELTA_LENGTH_BYTE_ARRAY in " + n.name);
                    const char* s = q + used;
                    for (auto l : lens) {
                        if (l < 0 || static_cast<std::uint64_t>(l) > static_cast<std::uint64_t>(qend - s))
                            return bad("bad DELTA_LENGTH_BYTE_ARRAY in " + n.name);
                        col.bytes.emplace_back(s, static_cast<std::size_t>(l));
                        s += l;
                    }
                    break;
                }
                case e_byte_stream_split: {
                    const int fs = fixed_size(n.physical, n.type_length);
                    if (fs <= 0) return bad("BYTE_STREAM_SPLIT on " + n.name);
                    if (!take(qlen)) return over_budget(n);
                    col.owned.emplace_back();
                    std::string& plain = col.owned.back();
                    if (!byte_stream_split_decode(q, qlen, present, fs, plain) ||
                        !decode_plain(n, plain.data(), plain.size(), present, col.ints, col.flts, col.dbls, col.bytes))
                        return bad("bad BYTE_STREAM_SPLIT in " + n.name);
                    break;
                }
                case e_delta_byte_array: {
                    if (n.physical != p_byte_array && n.physical != p_flba) return bad("DELTA_BYTE_ARRAY on " + n.name);
                    std::vector<std::int64_t> lens;
                    col.owned.emplace_back();
                    std::string& vals = col.owned.back();
                    if (!delta_byte_array_decode(q, qlen, present, budget, vals, lens))
                        return bad("bad DELTA_BYTE_ARRAY in " + n.name);
                    if (!take(vals.size())) return over_budget(n);
                    const char* s = vals.data();
                    for (auto l : lens) {
                        if (n.physical == p_flba && l != n.type_length)
                            return bad("DELTA_BYTE_ARRAY value of " + std::to_string(l) + " bytes in " + n.name);
                        col.bytes.emplace_back(s, static_cast<std::size_t>(l));
                        s += l;
                    }
                    break;
                }
                default: return bad("unsupported encoding " + std::to_string(h.encoding) + " in " + n.name);
            }
            col.entries += nv;
        }
        if (n.max_def == 0 && n.max_rep == 0) col.entries = std::max(col.entries, total);
        return {};
    }

    // Counts `bytes` against the row group's budget before they are allocated.
    bool take(std::uint64_t bytes) {
        if (bytes > budget) return false;
        budget -= bytes;
        return true;
    }
    status over_budget(const rnode& n) const {
        return bad("row group needs more than " + std::to_string(opt.max_row_group_bytes) +
                   " bytes decoded (column " + n.name + ")");
    }

    status load_group() {
        budget = opt.max_row_group_bytes;
        const auto& g = groups[group];
        for (std::size_t k = 0; k < leaves.size(); ++k) {
            if (!leaf_needed[k]) continue;
            if (auto st = load_chunk(g.chunks[k], *leaves[k], cols[k]); !st) return st;
        }
        return {};
    }

    // ---- Assembly ----

    static const rnode& first_leaf(const rnode& n) {
        const rnode* p = &n;
        while (p->is_group() && !p->children.empty()) p = &p->children[0];
        return *p;
    }
    bool peek_def(const rnode& n, int& d) {
        const rnode& l = first_leaf(n);
        auto& c = cols[l.leaf];
        if (c.pe >= c.entries) return false;
        d = l.max_def == 0 ? 0 : c.defs[c.pe];
        return true;
    }
    bool continues(const rnode& repeated_node) {
        const rnode& l = first_leaf(repeated_node);
        auto& c = cols[l.leaf];
        return c.pe < c.entries && l.max_rep > 0 && c.reps[c.pe] >= repeated_node.max_rep;
    }
    // Consumes one level entry from every leaf under n (a null or empty n).
    bool skip_entry(const rnode& n) {
        if (!n.is_group()) {
            auto& c = cols[n.leaf];
            if (c.pe >= c.entries) return false;
            if (n.max_def > 0 && c.defs[c.pe] >= n.max_def) return false;  // inconsistent levels
            ++c.pe;
            return true;
        }
        for (const auto& ch : n.children)
            if (!skip_entry(ch)) return false;
        return true;
    }

    void conv_fail(const std::string& m) {
        if (conv_err.empty()) conv_err = m;
    }

    // One value of n (t null: consumed, not converted). false: the file's levels are inconsistent.
    bool read(const rnode& n, const cql_type* t, cql_value& out, bool repeated_ok = false) {
        int d = 0;
        if (!peek_def(n, d)) return false;
        if (n.rep == optional || (n.rep == repeated && !repeated_ok)) {
            if (d < n.max_def) {
                out = cql_value::null();
                return skip_entry(n);
            }
        }
        if (!n.is_group()) return read_leaf(n, t, out);
        if (!t) {
            for (const auto& c : n.children)
                if (!read(c, nullptr, out)) return false;
            out = cql_value::null();
            return true;
        }
        switch (t->kind) {
            case type_kind::list:
            case type_kind::set:
            case type_kind::vector: {
                const rnode& mid = n.children[0];
                const rnode* el = list_element(n);
                cql_value::element_list items;
                if (d < mid.max_def) {
                    out = cql_value::list({});
                    return skip_entry(mid);
                }
                do {
                    cql_value v;
                    if (!read(*el, t->params.empty() ? nullptr : &t->params[0], v, el == &mid)) return false;
                    if (v.is_null()) conv_fail("null element in " + protocol::to_cql_name(*t));
                    items.push_back(std::move(v));
                } while (continues(mid));
                out = cql_value::list(std::move(items));
                return true;
            }
            case type_kind::map: {
                const rnode& kv = n.children[0];
                cql_value::entry_list entries;
                if (d < kv.max_def) {
                    out = cql_value::map({});
                    return skip_entry(kv);
                }
                do {
                    cql_value k, v;
                    if (!read(kv.children[0], &t->params[0], k) || !read(kv.children[1], &t->params[1], v)) return false;
                    if (k.is_null() || v.is_null()) conv_fail("null key or value in " + protocol::to_cql_name(*t));
                    entries.emplace_back(std::move(k), std::move(v));
                } while (continues(kv));
                out = cql_value::map(std::move(entries));
                return true;
            }
            case type_kind::tuple:
            case type_kind::udt: {
                cql_value::element_list fields(t->params.size());
                for (const auto& c : n.children) {
                    std::size_t which = t->params.size();
                    for (std::size_t i = 0; i < t->params.size(); ++i)
                        if (struct_field(n, *t, i) == &c) which = i;
                    if (!read(c, which < t->params.size() ? &t->params[which] : nullptr,
                              which < fields.size() ? fields[which] : out))
                        return false;
                }
                out = cql_value::tuple(std::move(fields));
                return true;
            }
            case type_kind::duration: {
                protocol::cql_duration du;
                std::int64_t parts[3] = {0, 0, 0};
                for (std::size_t i = 0; i < 3; ++i) {
                    cql_value v;
                    cql_type it(i == 2 ? type_kind::bigint : type_kind::int_);
                    if (!read(n.children[i], &it, v)) return false;
                    if (v.kind() == protocol::value_kind::integer) parts[i] = v.as_int();
                    else conv_fail("null part in a duration");
                }
                du.months = static_cast<std::int32_t>(parts[0]);
                du.days = static_cast<std::int32_t>(parts[1]);
                du.nanos = parts[2];
                out = cql_value::duration(du);
                return true;
            }
            default:
                conv_fail("group for " + protocol::to_cql_name(*t));
                for (const auto& c : n.children)
                    if (!read(c, nullptr, out)) return false;
                out = cql_value::null();
                return true;
        }
    }

    bool read_leaf(const rnode& n, const cql_type* t, cql_value& out) {
        auto& c = cols[n.leaf];
        if (c.pe >= c.entries) return false;
        if (n.max_def > 0 && c.defs[c.pe] != n.max_def) return false;
        ++c.pe;
        const std::size_t vi = c.pv++;
        const bool in_range = (n.physical == p_float ? vi < c.flts.size()
                               : n.physical == p_double ? vi < c.dbls.size()
                               : (n.physical == p_byte_array || n.physical == p_flba || n.physical == p_int96)
                                   ? vi < c.bytes.size()
                                   : vi < c.ints.size());
        if (!in_range) return false;
        if (!t) return true;
        const bool had_error = !conv_err.empty();
        convert(n, c, vi, *t, out);
        if (!had_error && !conv_err.empty()) conv_raw = raw_json(n, c, vi);
        return true;
    }

    // The value as stored in the file, for a bad record a user can fix and
    // reload: text as a string, numbers as numbers, other bytes as "0x" hex.
    static std::string raw_json(const rnode& n, const leaf_col& c, std::size_t vi) {
        std::string s;
        switch (n.physical) {
            case p_boolean: return c.ints[vi] ? "true" : "false";
            case p_int32:
            case p_int64:
                if (is_unsigned(n) && n.physical == p_int32) return std::to_string(static_cast<std::uint32_t>(c.ints[vi]));
                if (is_unsigned(n)) return std::to_string(static_cast<std::uint64_t>(c.ints[vi]));
                return std::to_string(c.ints[vi]);
            case p_float:
            case p_double: {
                const double d = n.physical == p_float ? static_cast<double>(c.flts[vi]) : c.dbls[vi];
                if (!std::isfinite(d)) {
                    append_json_string(s, std::isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
                    return s;
                }
                char b[64];
                const auto r = n.physical == p_float ? std::to_chars(b, b + sizeof b, c.flts[vi])
                                                     : std::to_chars(b, b + sizeof b, d);
                return std::string(b, r.ptr);
            }
            default: break;
        }
        const std::string_view b = c.bytes[vi];
        const bool text = n.lt.kind == l_string || n.lt.kind == l_json || n.lt.kind == l_enum ||
                          n.converted == c_utf8 || n.converted == c_json || n.converted == c_enum;
        if (text && protocol::detail::is_valid_utf8(b)) append_json_string(s, b);
        else append_json_string(s, "0x" + protocol::to_hex(protocol::as_bytes(b)));
        return s;
    }

    std::int64_t ts_unit(const rnode& n) const {
        if (n.lt.kind == l_timestamp || n.lt.kind == l_time) return n.lt.a;
        if (n.converted == c_timestamp_micros || n.converted == c_time_micros) return u_micros;
        if (n.converted == c_timestamp_millis || n.converted == c_time_millis) return u_millis;
        return 0;
    }
    // UINT_8..UINT_64, or INTEGER(n, isSigned=false): the stored bits are unsigned.
    static bool is_unsigned(const rnode& n) {
        if (n.lt.kind == l_integer) return n.lt.b == 0;
        return n.converted >= c_uint8 && n.converted <= c_uint64;
    }
    int decimal_scale(const rnode& n) const {
        if (n.lt.kind == l_decimal) return n.lt.a;
        if (n.converted == c_decimal) return n.scale;
        return -1;
    }

    static std::int64_t floor_div(std::int64_t a, std::int64_t b) {
        auto q = a / b;
        if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
        return q;
    }

    void convert(const rnode& n, const leaf_col& c, std::size_t vi, const cql_type& t, cql_value& out) {
        const auto tn = [&]() { return protocol::to_cql_name(t); };
        const bool is_int = n.physical == p_int32 || n.physical == p_int64;
        const bool is_bytes = n.physical == p_byte_array || n.physical == p_flba;
        auto from_text = [&](std::string_view s) {
            auto st = parse_field_text(t, s, out);
            if (!st) conv_fail(st.message);
        };
        switch (t.kind) {
            case type_kind::tinyint:
            case type_kind::smallint:
            case type_kind::int_:
            case type_kind::bigint:
            case type_kind::counter: {
                if (!is_int) break;
                auto v = c.ints[vi];
                if (is_unsigned(n)) {
                    if (n.physical == p_int32) v = static_cast<std::uint32_t>(v);
                    else if (v < 0) {
                        conv_fail(std::to_string(static_cast<std::uint64_t>(v)) + " does not fit " + tn());
                        return;
                    }
                }
                const std::int64_t lim = t.kind == type_kind::tinyint ? 127
                                         : t.kind == type_kind::smallint ? 32767
                                         : t.kind == type_kind::int_ ? 2147483647
                                                                     : std::numeric_limits<std::int64_t>::max();
                if (v > lim || v < -lim - 1) {
                    conv_fail(std::to_string(v) + " does not fit " + tn());
                    return;
                }
                out = cql_value::integer(v);
                return;
            }
            case type_kind::varint:
                if (is_int && decimal_scale(n) <= 0) {
                    const auto v = c.ints[vi];
                    if (is_unsigned(n) && n.physical == p_int32) {
                        out = cql_value::varint(protocol::cql_varint::from_int64(static_cast<std::uint32_t>(v)));
                    } else if (is_unsigned(n) && v < 0) {
                        // Above 2^63: a 0 byte, then the 8 bytes big-endian.
                        std::string be(9, '\0');
                        const auto u = static_cast<std::uint64_t>(v);
                        for (std::size_t b = 0; b < 8; ++b) be[8 - b] = static_cast<char>(u >> (8 * b));
                        out = cql_value::varint(protocol::cql_varint::from_bytes(protocol::as_bytes(be)));
                    } else {
                        out = cql_value::varint(protocol::cql_varint::from_int64(v));
                    }
                    return;
                }
                if (is_bytes && decimal_scale(n) == 0) {
                    if (c.bytes[vi].empty()) break;
                    out = cql_value::varint(protocol::cql_varint::from_bytes(protocol::as_bytes(c.bytes[vi])).minimal());
                    return;
                }
                break;
            case type_kind::decimal: {
                const int s = decimal_scale(n);
                if (s < 0) break;
                protocol::cql_decimal dec;
                dec.scale = s;
                if (is_int) dec.unscaled = protocol::cql_varint::from_int64(c.ints[vi]);
                else if (is_bytes && !c.bytes[vi].empty())
                    dec.unscaled = protocol::cql_varint::from_bytes(protocol::as_bytes(c.bytes[vi])).minimal();
                else break;
                out = cql_value::decimal(std::move(dec));
                return;
            }
            case type_kind::float_:
                if (n.physical == p_float) {
                    out = cql_value::float32(c.flts[vi]);
                    return;
                }
                if (n.physical == p_double && static_cast<double>(static_cast<float>(c.dbls[vi])) == c.dbls[vi]) {
                    out = cql_value::float32(static_cast<float>(c.dbls[vi]));
                    return;
                }
                break;
            case type_kind::double_:
                if (n.physical == p_double) {
                    out = cql_value::float64(c.dbls[vi]);
                    return;
                }
                if (n.physical == p_float) {
                    out = cql_value::float64(c.flts[vi]);
                    return;
                }
                break;
            case type_kind::boolean:
                if (n.physical == p_boolean) {
                    out = cql_value::boolean(c.ints[vi] != 0);
                    return;
                }
                break;
            case type_kind::text:
            case type_kind::ascii:
                if (is_bytes) {
                    out = cql_value::string(std::string(c.bytes[vi]));
                    return;
                }
                break;
            case type_kind::blob:
            case type_kind::custom:
                if (is_bytes) {
                    const auto& b = c.bytes[vi];
                    out = cql_value::blob(protocol::byte_buffer(b.begin(), b.end()));
                    return;
                }
                break;
            case type_kind::uuid:
            case type_kind::timeuuid:
                if (is_bytes && c.bytes[vi].size() == 16) {
                    protocol::uuid_bytes u;
                    std::memcpy(u.data(), c.bytes[vi].data(), 16);
                    out = cql_value::uuid(u);
                    return;
                }
                break;
            case type_kind::timestamp:
                if (n.physical == p_int64) {
                    const auto u = ts_unit(n);
                    const auto v = c.ints[vi];
                    if (u == u_millis || u == 0) out = cql_value::integer(v);
                    else if (u == u_micros) out = cql_value::integer(floor_div(v, 1000));
                    else out = cql_value::integer(floor_div(v, 1000000));
                    return;
                }
                if (n.physical == p_int96 && c.bytes[vi].size() == 12) {
                    // Legacy INT96 (Impala, Spark): nanoseconds of the day, then the Julian day.
                    const auto ns = static_cast<std::int64_t>(get_le64(c.bytes[vi].data()));
                    const auto jd = static_cast<std::int64_t>(get_le32(c.bytes[vi].data() + 8));
                    out = cql_value::integer((jd - 2440588) * 86400000 + floor_div(ns, 1000000));
                    return;
                }
                if (n.physical == p_int32 && (n.lt.kind == l_date || n.converted == c_date)) {
                    out = cql_value::integer(c.ints[vi] * 86400000LL);
                    return;
                }
                break;
            case type_kind::date:
                if (n.physical == p_int32) {
                    out = cql_value::date(static_cast<std::uint32_t>(c.ints[vi] + protocol::date_epoch));
                    return;
                }
                break;
            case type_kind::time:
                if (is_int) {
                    auto u = ts_unit(n);
                    if (u == 0) u = n.physical == p_int32 ? u_millis : u_nanos;
                    const std::int64_t mul = u == u_millis ? 1000000 : u == u_micros ? 1000 : 1;
                    std::int64_t ns = 0;
                    if (__builtin_mul_overflow(c.ints[vi], mul, &ns)) {
                        conv_fail(std::to_string(c.ints[vi]) + " does not fit a time in nanoseconds");
                        out = cql_value::null();
                        return;
                    }
                    out = cql_value::integer(ns);
                    return;
                }
                break;
            case type_kind::duration:
                if (n.physical == p_flba && c.bytes[vi].size() == 12) {
                    // Parquet INTERVAL: months, days, milliseconds (unsigned little-endian).
                    const auto months = get_le32(c.bytes[vi].data()), days = get_le32(c.bytes[vi].data() + 4);
                    if (months > 0x7FFFFFFFu || days > 0x7FFFFFFFu) {
                        conv_fail("an INTERVAL of " + std::to_string(months) + " months, " + std::to_string(days) +
                                  " days does not fit a duration");
                        out = cql_value::null();
                        return;
                    }
                    protocol::cql_duration du;
                    du.months = static_cast<std::int32_t>(months);
                    du.days = static_cast<std::int32_t>(days);
                    du.nanos = static_cast<std::int64_t>(get_le32(c.bytes[vi].data() + 8)) * 1000000;
                    out = cql_value::duration(du);
                    return;
                }
                break;
            default: break;
        }
        // Text of the CQL literal (inet, decimal, varint, JSON collections...).
        if (n.physical == p_byte_array) {
            from_text(c.bytes[vi]);
            return;
        }
        conv_fail("a Parquet " + std::to_string(n.physical) + " value does not convert to " + tn());
        out = cql_value::null();
    }
};

parquet_reader::parquet_reader(parquet_read_options o) : p_(std::make_unique<impl>()) { p_->opt = o; }
parquet_reader::~parquet_reader() = default;

status parquet_reader::open(parquet_source src, std::uint64_t file_size, std::vector<protocol::column_spec> columns) {
    auto& p = *p_;
    p.src = std::move(src);
    p.file_size = file_size;
    p.columns = std::move(columns);
    if (file_size < 12) return p.err = bad("file of " + std::to_string(file_size) + " bytes is too short for Parquet");
    std::string tail;
    if (auto st = p.src(file_size - 8, 8, tail); !st) return p.err = st;
    if (tail.size() != 8 || tail.compare(4, 4, "PAR1") != 0) return p.err = bad("no PAR1 magic at the end of the file");
    const auto len = get_le32(tail.data());
    if (len > max_footer || len > file_size - 12) return p.err = bad("footer length " + std::to_string(len) + " is not possible");
    std::string meta;
    if (auto st = p.src(file_size - 8 - len, len, meta); !st) return p.err = st;
    if (meta.size() != len) return p.err = bad("short read of the footer");
    if (auto st = p.parse_footer(meta); !st) return p.err = st;
    p.bound.assign(p.columns.size(), nullptr);
    p.present.assign(p.columns.size(), false);
    for (const auto& fc : p.root.children) {
        std::size_t found = p.columns.size();
        for (std::size_t i = 0; i < p.columns.size(); ++i)
            if (p.columns[i].name == fc.name) found = i;
        if (found == p.columns.size())
            for (std::size_t i = 0; i < p.columns.size(); ++i)
                if (p.columns[i].name.size() == fc.name.size() &&
                    std::equal(fc.name.begin(), fc.name.end(), p.columns[i].name.begin(),
                               [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
                    found = i;
        if (found == p.columns.size()) return p.err = status{errc::unknown_column, "file column \"" + fc.name + "\" is not in the table"};
        if (p.bound[found]) return p.err = status{errc::duplicate_column, "two file columns for \"" + p.columns[found].name + "\""};
        if (auto st = p.fits(fc, p.columns[found].type, fc.name); !st) return p.err = st;
        p.bound[found] = &fc;
        p.present[found] = true;
    }
    p.leaf_needed.assign(p.leaves.size(), false);
    for (const auto* b : p.bound) {
        if (!b) continue;
        std::vector<const rnode*> st{b};
        while (!st.empty()) {
            const rnode* x = st.back();
            st.pop_back();
            if (!x->is_group()) p.leaf_needed[x->leaf] = true;
            for (const auto& c : x->children) st.push_back(&c);
        }
    }
    p.cols.resize(p.leaves.size());
    return {};
}

std::uint64_t parquet_reader::num_rows() const noexcept { return static_cast<std::uint64_t>(p_->num_rows); }
const std::vector<bool>& parquet_reader::present() const noexcept { return p_->present; }
const status& parquet_reader::error() const noexcept { return p_->err; }
std::uint64_t parquet_reader::row_index() const noexcept { return p_->last_index; }
std::size_t parquet_reader::error_column() const noexcept { return p_->error_column; }
const std::string& parquet_reader::error_value() const noexcept { return p_->conv_raw; }

bool parquet_reader::next(std::vector<cql_value>& row, std::string& row_error) {
    auto& p = *p_;
    row_error.clear();
    if (!p.err.ok() || p.leaves.empty()) return false;
    while (true) {
        if (p.group >= p.groups.size()) return false;
        if (!p.group_loaded) {
            if (auto st = p.load_group(); !st) {
                p.err = st;
                return false;
            }
            p.group_loaded = true;
            p.group_row = 0;
        }
        if (p.group_row < p.groups[p.group].rows) break;
        p.rows_before += static_cast<std::uint64_t>(p.groups[p.group].rows);
        ++p.group;
        p.group_loaded = false;
    }
    row.resize(p.columns.size());
    p.conv_err.clear();
    p.conv_raw.clear();
    p.error_column = p.columns.size();
    for (std::size_t i = 0; i < p.columns.size(); ++i) {
        row[i] = cql_value::null();
        if (!p.bound[i]) continue;
        if (!p.read(*p.bound[i], &p.columns[i].type, row[i])) {
            p.err = bad("levels of column \"" + p.columns[i].name + "\" do not match row " +
                        std::to_string(p.rows_before + static_cast<std::uint64_t>(p.group_row)));
            return false;
        }
        if (!p.conv_err.empty() && row_error.empty()) {
            row_error = "column \"" + p.columns[i].name + "\": " + p.conv_err;
            p.error_column = i;
            // A value inside a list, map or struct: the column keeps its shape (the reason has the value).
            if (p.bound[i]->is_group()) p.conv_raw.clear();
        }
    }
    p.last_index = p.rows_before + static_cast<std::uint64_t>(p.group_row);
    ++p.group_row;
    return true;
}

bool parquet_reader::skip(std::uint64_t rows) {
    auto& p = *p_;
    // Whole row groups are skipped without reading them.
    while (rows > 0 && !p.group_loaded && p.group < p.groups.size() &&
           static_cast<std::uint64_t>(p.groups[p.group].rows) <= rows) {
        rows -= static_cast<std::uint64_t>(p.groups[p.group].rows);
        p.rows_before += static_cast<std::uint64_t>(p.groups[p.group].rows);
        ++p.group;
    }
    std::vector<cql_value> row;
    std::string e;
    for (; rows > 0; --rows)
        if (!next(row, e)) return p.err.ok();
    return true;
}

}  // namespace cqlpp::bulk
