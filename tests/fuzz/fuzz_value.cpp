// libFuzzer target: generic value codec and CQL literals.
//
// Input layout:
//   byte 0 < 0x80: the type is table[byte0 % size] (nested types included);
//   byte 0 >= 0x80: byte 1 = n, bytes [2, 2+n) are an [option] read with
//                   read_option() (UDTs with arbitrary field names, custom
//                   classes, vectors from marshal strings, ...).
//   The rest is one value, decoded with decode_value().
// When decoding succeeds:
//   * a null element inside a list/set/map decodes (legal [bytes]) but does not
//     encode (null_not_allowed, as Cassandra refuses it); nothing more to check;
//   * otherwise encode_value() must succeed, and give the input bytes back exactly, unless
//     the type has a component with non-canonical wire forms (a boolean byte
//     other than 0/1, padded vints in durations and vector element lengths);
//     then the re-encoded bytes must be a fixed point that decodes to the same value;
//   * format_literal() -> parse_literal() must give an equal value.
#include "cqlpp/protocol/literal.hpp"
#include "cqlpp/protocol/types.hpp"
#include "cqlpp/protocol/value.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace cqlpp::protocol;

namespace {

bool has_null_in_collection(const cql_value& v) {
    switch (v.kind()) {
        case value_kind::list:
            for (const auto& e : v.elements())
                if (e.is_null() || has_null_in_collection(e)) return true;
            return false;
        case value_kind::tuple:
            for (const auto& e : v.elements())
                if (has_null_in_collection(e)) return true;
            return false;
        case value_kind::map:
            for (const auto& [k, x] : v.entries())
                if (k.is_null() || x.is_null() || has_null_in_collection(k) || has_null_in_collection(x)) return true;
            return false;
        default: return false;
    }
}

[[noreturn]] void fail(const char* what, const cql_type& t, const std::string& detail = {}) {
    std::fprintf(stderr, "fuzz_value: %s (type %s) %s\n", what, to_cql_name(t).c_str(), detail.c_str());
    std::abort();
}

const std::vector<cql_type>& type_table() {
    static const std::vector<cql_type> table = [] {
        const char* names[] = {
            "int", "bigint", "smallint", "tinyint", "boolean", "float", "double", "text", "ascii", "blob",
            "varint", "decimal", "date", "time", "timestamp", "uuid", "timeuuid", "inet", "duration", "counter",
            "list<int>", "set<text>", "map<text, int>", "list<frozen<list<int>>>",
            "map<int, frozen<map<text, blob>>>", "tuple<int, text, boolean>", "tuple<duration, inet, date>",
            "vector<float, 3>", "vector<text, 2>", "vector<smallint, 3>", "vector<vector<int, 2>, 2>",
            "vector<list<int>, 2>", "vector<decimal, 1>", "list<frozen<tuple<varint, decimal>>>", "set<timeuuid>",
            "map<time, timestamp>", "frozen<tuple<frozen<list<duration>>, ascii>>", "'org.example.Custom'",
            "map<frozen<set<inet>>, frozen<list<double>>>", "vector<boolean, 8>", "list<varint>",
        };
        std::vector<cql_type> out;
        for (const char* n : names) {
            auto t = parse_type_name(n);
            if (!t) {
                std::fprintf(stderr, "fuzz_value: bad table type %s\n", n);
                std::abort();
            }
            out.push_back(std::move(*t));
        }
        out.push_back(cql_type::udt_of("ks", "u", {"a", "b", "c"},
                                       {cql_type(type_kind::int_), cql_type(type_kind::text),
                                        cql_type::list_of(cql_type(type_kind::int_), true)}));
        out.push_back(cql_type::udt_of("ks", "odd", {"Name", "with space", "", "dup", "dup"},
                                       {cql_type(type_kind::int_), cql_type(type_kind::text),
                                        cql_type(type_kind::blob), cql_type(type_kind::date),
                                        cql_type(type_kind::date)}));
        return out;
    }();
    return table;
}

// Components whose wire form has more than one spelling of the same value.
bool may_canonicalize(const cql_type& t) {
    if (t.kind == type_kind::boolean || t.kind == type_kind::duration) return true;
    if (t.kind == type_kind::vector && !t.params.empty() && !fixed_value_size(t.params[0])) return true;
    for (const auto& p : t.params)
        if (may_canonicalize(p)) return true;
    return false;
}

bool has_custom_or_udt(const cql_type& t) {
    if (t.kind == type_kind::custom || t.kind == type_kind::udt) return true;
    for (const auto& p : t.params)
        if (has_custom_or_udt(p)) return true;
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    cql_type type;
    bytes_view value_bytes;
    if (data[0] < 0x80) {
        const auto& table = type_table();
        type = table[data[0] % table.size()];
        value_bytes = bytes_view(data + 1, size - 1);
    } else {
        if (size < 2) return 0;
        const std::size_t n = data[1];
        if (size < 2 + n) return 0;
        byte_reader r(bytes_view(data + 2, n));
        type = read_option(r);
        if (!r.ok() || !r.empty()) return 0;
        value_bytes = bytes_view(data + 2 + n, size - 2 - n);
        // Names must never crash, and (for types whose names carry everything)
        // the marshal form must read back.
        (void)to_cql_name(type);
        const std::string cls = to_marshal_class(type);
        if (!has_custom_or_udt(type)) {
            auto back = parse_marshal_class(cls);
            if (!back || !(*back == type)) fail("marshal class does not round trip", type, cls);
        }
    }

    cql_value v;
    if (decode_value(type, value_bytes, v) != errc::ok) return 0;

    byte_buffer re;
    if (has_null_in_collection(v)) {
        if (encode_value(type, v, re) != errc::null_not_allowed) fail("null collection element encodes", type);
        return 0;
    }
    if (auto e = encode_value(type, v, re); e != errc::ok) fail("decoded value does not encode", type, std::string(to_string(e)));
    if (!std::equal(re.begin(), re.end(), value_bytes.begin(), value_bytes.end())) {
        if (!may_canonicalize(type)) fail("re-encoded bytes differ", type);
        cql_value again;
        if (decode_value(type, re, again) != errc::ok) fail("canonical bytes do not decode", type);
        if (!(again == v)) fail("canonical bytes decode to another value", type);
        byte_buffer re2;
        if (encode_value(type, again, re2) != errc::ok || re2 != re) fail("canonical form is not a fixed point", type);
    }

    const std::string text = format_literal(type, v);
    cql_value parsed;
    if (auto e = parse_literal(type, text, parsed); e != errc::ok)
        fail("printed literal does not parse", type, text + " : " + std::string(to_string(e)));
    if (!(parsed == v)) fail("printed literal parses to another value", type, text);
    return 0;
}
