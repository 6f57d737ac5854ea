#include "cqlpp/bulk/detail/avro.hpp"

#include <zlib.h>

#include <array>
#include <charconv>
#include <cstring>
#include <map>
#include <random>

namespace cqlpp::bulk::detail {

void avro_long(std::string& out, std::int64_t v) {
    auto z = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
    while (z >= 0x80) {
        out.push_back(static_cast<char>((z & 0x7F) | 0x80));
        z >>= 7;
    }
    out.push_back(static_cast<char>(z));
}

void avro_bytes(std::string& out, std::string_view s) {
    avro_long(out, static_cast<std::int64_t>(s.size()));
    out.append(s);
}

void avro_bool(std::string& out, bool v) { out.push_back(v ? 1 : 0); }

std::string avro_container(std::string_view schema_json, const avro_metadata& extra, std::uint64_t count,
                           std::string_view records) {
    std::string out("Obj\x01", 4);
    avro_long(out, static_cast<std::int64_t>(extra.size() + 2));
    avro_bytes(out, "avro.schema");
    avro_bytes(out, schema_json);
    avro_bytes(out, "avro.codec");
    avro_bytes(out, "null");
    for (const auto& [k, v] : extra) {
        avro_bytes(out, k);
        avro_bytes(out, v);
    }
    avro_long(out, 0);
    std::array<char, 16> sync{};
    std::random_device rd;
    for (auto& b : sync) b = static_cast<char>(rd());
    out.append(sync.data(), sync.size());
    if (count) {
        avro_long(out, static_cast<std::int64_t>(count));
        avro_long(out, static_cast<std::int64_t>(records.size()));
        out.append(records);
        out.append(sync.data(), sync.size());
    }
    return out;
}

const std::string* avro_file::meta(std::string_view key) const noexcept {
    for (const auto& [k, v] : metadata)
        if (k == key) return &v;
    return nullptr;
}

namespace {

struct cursor {
    std::string_view d;
    std::size_t i = 0;
    std::string err;

    bool fail(std::string m) {
        if (err.empty()) err = "offset " + std::to_string(i) + ": " + std::move(m);
        return false;
    }
    bool read_long(std::int64_t& v) {
        std::uint64_t z = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (i >= d.size()) return fail("truncated varint");
            auto b = static_cast<unsigned char>(d[i++]);
            z |= std::uint64_t(b & 0x7F) << shift;
            if (!(b & 0x80)) {
                v = static_cast<std::int64_t>(z >> 1) ^ -static_cast<std::int64_t>(z & 1);
                return true;
            }
        }
        return fail("varint too long");
    }
    bool read_raw(std::size_t n, std::string_view& s) {
        if (n > d.size() - i) return fail("length " + std::to_string(n) + " past the end");
        s = d.substr(i, n);
        i += n;
        return true;
    }
    bool read_bytes(std::string_view& s) {
        std::int64_t n = 0;
        if (!read_long(n)) return false;
        if (n < 0) return fail("negative length");
        return read_raw(static_cast<std::size_t>(n), s);
    }
};

struct decoder {
    std::map<std::string, const json_value*, std::less<>> named;

    void collect(const json_value& s, std::string ns, int depth) {
        if (depth > max_json_depth) return;
        if (s.type == json_value::kind::array) {
            for (const auto& b : s.items) collect(b, ns, depth + 1);
            return;
        }
        if (s.type != json_value::kind::object) return;
        const auto* t = s.find("type");
        if (!t) return;
        if (const auto* n = s.find("name"); n && n->type == json_value::kind::string) {
            if (const auto* x = s.find("namespace"); x && x->type == json_value::kind::string) ns = x->text;
            named[n->text] = &s;
            if (!ns.empty()) named[ns + "." + n->text] = &s;
        }
        if (t->type != json_value::kind::string) {
            collect(*t, ns, depth + 1);
            return;
        }
        if (t->text == "record" || t->text == "error") {
            if (const auto* f = s.find("fields"); f && f->type == json_value::kind::array)
                for (const auto& fld : f->items)
                    if (const auto* ft = fld.find("type")) collect(*ft, ns, depth + 1);
        } else if (t->text == "array") {
            if (const auto* it = s.find("items")) collect(*it, ns, depth + 1);
        } else if (t->text == "map") {
            if (const auto* v = s.find("values")) collect(*v, ns, depth + 1);
        }
    }

    static json_value number(std::string text) {
        json_value v;
        v.type = json_value::kind::number;
        v.text = std::move(text);
        return v;
    }

    bool decode(cursor& c, const json_value& s, json_value& out, int depth) {
        if (depth > max_json_depth) return c.fail("schema nested too deeply");
        if (s.type == json_value::kind::array) {  // union
            std::int64_t b = 0;
            if (!c.read_long(b)) return false;
            if (b < 0 || static_cast<std::uint64_t>(b) >= s.items.size()) return c.fail("union branch out of range");
            return decode(c, s.items[static_cast<std::size_t>(b)], out, depth + 1);
        }
        const json_value* t = &s;
        if (s.type == json_value::kind::object) {
            t = s.find("type");
            if (!t) return c.fail("schema without type");
            if (t->type != json_value::kind::string) return decode(c, *t, out, depth + 1);
        }
        if (t->type != json_value::kind::string) return c.fail("bad schema");
        const std::string& n = t->text;
        out = json_value{};
        if (n == "null") return true;
        if (n == "boolean") {
            std::string_view b;
            if (!c.read_raw(1, b)) return false;
            out.type = json_value::kind::boolean;
            out.boolean = b[0] != 0;
            return true;
        }
        if (n == "int" || n == "long") {
            std::int64_t v = 0;
            if (!c.read_long(v)) return false;
            out = number(std::to_string(v));
            return true;
        }
        if (n == "float" || n == "double") {
            std::string_view b;
            const bool f = n == "float";
            if (!c.read_raw(f ? 4 : 8, b)) return false;
            double x = 0;
            if (f) {
                float y;
                std::memcpy(&y, b.data(), 4);
                x = y;
            } else {
                std::memcpy(&x, b.data(), 8);
            }
            char buf[40];
            auto r = std::to_chars(buf, buf + sizeof buf, x);
            out = number(std::string(buf, r.ptr));
            return true;
        }
        if (n == "bytes" || n == "string") {
            std::string_view b;
            if (!c.read_bytes(b)) return false;
            out.type = json_value::kind::string;
            out.text = b;
            return true;
        }
        if (s.type == json_value::kind::object) {
            if (n == "fixed") {
                const auto* sz = s.find("size");
                std::size_t len = 0;
                if (!sz || sz->type != json_value::kind::number ||
                    std::from_chars(sz->text.data(), sz->text.data() + sz->text.size(), len).ec != std::errc{})
                    return c.fail("fixed without size");
                std::string_view b;
                if (!c.read_raw(len, b)) return false;
                out.type = json_value::kind::string;
                out.text = b;
                return true;
            }
            if (n == "enum") {
                std::int64_t k = 0;
                if (!c.read_long(k)) return false;
                const auto* sy = s.find("symbols");
                if (!sy || k < 0 || static_cast<std::uint64_t>(k) >= sy->items.size()) return c.fail("enum index out of range");
                out = sy->items[static_cast<std::size_t>(k)];
                return true;
            }
            if (n == "record" || n == "error") {
                const auto* f = s.find("fields");
                if (!f || f->type != json_value::kind::array) return c.fail("record without fields");
                out.type = json_value::kind::object;
                for (const auto& fld : f->items) {
                    const auto* fn = fld.find("name");
                    const auto* ft = fld.find("type");
                    if (!fn || !ft) return c.fail("record field without name or type");
                    out.keys.push_back(fn->text);
                    out.items.emplace_back();
                    if (!decode(c, *ft, out.items.back(), depth + 1)) return false;
                }
                return true;
            }
            if (n == "array" || n == "map") {
                const bool map = n == "map";
                const auto* it = s.find(map ? "values" : "items");
                if (!it) return c.fail("array/map without item schema");
                out.type = map ? json_value::kind::object : json_value::kind::array;
                for (;;) {
                    std::int64_t count = 0;
                    if (!c.read_long(count)) return false;
                    if (count == 0) return true;
                    if (count < 0) {  // a negative count is followed by the block's byte size
                        std::int64_t size = 0;
                        if (!c.read_long(size)) return false;
                        count = -count;
                    }
                    // Each item takes at least one byte... except nulls and empty records; bound by the file anyway.
                    if (static_cast<std::uint64_t>(count) > c.d.size() - c.i + 1) return c.fail("block count too large");
                    for (std::int64_t k = 0; k < count; ++k) {
                        if (map) {
                            std::string_view key;
                            if (!c.read_bytes(key)) return false;
                            out.keys.emplace_back(key);
                        }
                        out.items.emplace_back();
                        if (!decode(c, *it, out.items.back(), depth + 1)) return false;
                    }
                }
            }
        }
        auto ref = named.find(n);
        if (ref == named.end()) return c.fail("unknown schema type '" + n + "'");
        if (ref->second == &s) return c.fail("schema refers to itself");
        return decode(c, *ref->second, out, depth + 1);
    }
};

bool inflate_raw(std::string_view in, std::string& out, std::string& error) {
    z_stream z{};
    if (inflateInit2(&z, -15) != Z_OK) {
        error = "zlib init failed";
        return false;
    }
    out.clear();
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    char buf[65536];
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&z);
            error = "bad deflate block";
            return false;
        }
        out.append(buf, sizeof buf - z.avail_out);
        if (out.size() > (std::size_t{1} << 30)) {  // a block of a manifest is never near this: a bomb
            inflateEnd(&z);
            error = "deflate block expands past 1 GiB";
            return false;
        }
        if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) break;  // input ended without a stream end
    }
    inflateEnd(&z);
    return true;
}

}  // namespace

bool avro_read(std::string_view file, avro_file& out, std::string& error) {
    out = avro_file{};
    out.records.type = json_value::kind::array;
    cursor c{file, 0, {}};
    if (file.substr(0, 4) != std::string_view("Obj\x01", 4)) {
        error = "not an Avro container file (no Obj\\x01 magic)";
        return false;
    }
    c.i = 4;
    for (;;) {
        std::int64_t count = 0;
        if (!c.read_long(count)) break;
        if (count == 0) break;
        if (count < 0) {
            std::int64_t size = 0;
            if (!c.read_long(size)) break;
            count = -count;
        }
        for (std::int64_t k = 0; k < count && c.err.empty(); ++k) {
            std::string_view key, val;
            if (c.read_bytes(key) && c.read_bytes(val)) out.metadata.emplace_back(std::string(key), std::string(val));
        }
        if (!c.err.empty()) break;
    }
    std::string_view sync;
    if (c.err.empty()) c.read_raw(16, sync);
    if (!c.err.empty()) {
        error = "Avro header: " + c.err;
        return false;
    }
    const auto* schema_text = out.meta("avro.schema");
    if (!schema_text) {
        error = "Avro header without avro.schema";
        return false;
    }
    json_value schema;
    if (!parse_json(*schema_text, schema, error)) {
        error = "avro.schema: " + error;
        return false;
    }
    const auto* codec = out.meta("avro.codec");
    const bool deflate = codec && *codec == "deflate";
    if (codec && !deflate && *codec != "null") {
        error = "Avro codec '" + *codec + "' is not supported (null, deflate)";
        return false;
    }
    decoder dec;
    dec.collect(schema, "", 0);
    std::string plain;
    while (c.i < file.size()) {
        std::int64_t count = 0, size = 0;
        std::string_view block, mark;
        if (!c.read_long(count) || !c.read_long(size)) break;
        if (count < 0 || size < 0) {
            c.fail("negative block count or size");
            break;
        }
        if (!c.read_raw(static_cast<std::size_t>(size), block) || !c.read_raw(16, mark)) break;
        if (mark != sync) {
            c.fail("sync marker mismatch");
            break;
        }
        if (deflate) {
            if (!inflate_raw(block, plain, error)) return false;
            block = plain;
        }
        cursor b{block, 0, {}};
        for (std::int64_t k = 0; k < count; ++k) {
            out.records.items.emplace_back();
            if (!dec.decode(b, schema, out.records.items.back(), 0)) {
                error = "Avro record " + std::to_string(out.records.items.size() - 1) + ": " + b.err;
                return false;
            }
        }
    }
    if (!c.err.empty()) {
        error = "Avro block: " + c.err;
        return false;
    }
    return true;
}

}  // namespace cqlpp::bulk::detail
