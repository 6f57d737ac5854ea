// The CQL type system (spec §4.2.5.2 [option] ids, §5 value encodings).
//
// A cql_type is a small tree: collections, tuples, UDTs and vectors hold
// their element types in `params`. On the wire a vector is a custom type
// whose class is "org.apache.cassandra.db.marshal.VectorType(<elem>, <dim>)";
// read_option() turns it into type_kind::vector so users never see that.
#pragma once

#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cqlpp::protocol {

enum class type_kind : std::uint16_t {
    custom = 0x0000,
    ascii = 0x0001,
    bigint = 0x0002,
    blob = 0x0003,
    boolean = 0x0004,
    counter = 0x0005,
    decimal = 0x0006,
    double_ = 0x0007,
    float_ = 0x0008,
    int_ = 0x0009,
    timestamp = 0x000B,
    uuid = 0x000C,
    text = 0x000D,  // "varchar" on the wire, "text" in CQL
    varint = 0x000E,
    timeuuid = 0x000F,
    inet = 0x0010,
    date = 0x0011,
    time = 0x0012,
    smallint = 0x0013,
    tinyint = 0x0014,
    duration = 0x0015,
    list = 0x0020,
    map = 0x0021,
    set = 0x0022,
    udt = 0x0030,
    tuple = 0x0031,
    vector = 0x0100,  // not a wire id: a custom VectorType on the wire
};

// Deepest nesting accepted from the wire or from text (list<list<...>>).
inline constexpr int max_type_depth = 32;

struct cql_type {
    type_kind kind = type_kind::blob;
    // list/set: {elem}; map: {key, value}; tuple: elements; udt: field types;
    // vector: {elem}.
    std::vector<cql_type> params;
    std::vector<std::string> field_names;  // udt only, same order as params
    std::string keyspace;                  // udt only
    std::string name;                      // udt name
    std::string custom_class;              // custom only: the Java class string
    std::uint32_t dimension = 0;           // vector only
    bool frozen = false;  // text form only; the wire does not carry it

    cql_type() = default;
    explicit cql_type(type_kind k) : kind(k) {}

    static cql_type list_of(cql_type elem, bool frozen = false);
    static cql_type set_of(cql_type elem, bool frozen = false);
    static cql_type map_of(cql_type key, cql_type value, bool frozen = false);
    static cql_type tuple_of(std::vector<cql_type> elems);
    static cql_type vector_of(cql_type elem, std::uint32_t dimension);
    static cql_type udt_of(std::string keyspace, std::string name, std::vector<std::string> field_names,
                           std::vector<cql_type> field_types, bool frozen = false);
    static cql_type custom_of(std::string java_class);

    bool is_collection() const noexcept {
        return kind == type_kind::list || kind == type_kind::set || kind == type_kind::map;
    }
    // Equality ignores `frozen` (it is not part of the wire form).
    friend bool operator==(const cql_type& a, const cql_type& b) noexcept;
};

// Size in bytes of a value of this type when Cassandra treats it as fixed-length
// (AbstractType.valueLengthIfFixed), else nullopt. Decides how vector elements
// are framed: fixed elements are concatenated, others get an [unsigned vint] length.
std::optional<std::size_t> fixed_value_size(const cql_type& t) noexcept;

// The number types: integers (tinyint..bigint, counter, varint), decimal,
// float and double. Their literals are bare numbers (NaN and Infinity for the
// floating ones), which tools print unquoted and JSON writers as numbers.
bool is_numeric(type_kind k) noexcept;

// [option] codec (the type as it appears in result metadata).
void write_option(byte_writer& w, const cql_type& t);
// Reads an [option]. On failure the reader's error is set and the result is unspecified.
cql_type read_option(byte_reader& r, int depth = 0);

// ---- Type names -------------------------------------------------------------
// CQL form, as cqlsh prints it: "map<text, frozen<list<int>>>", "vector<float, 3>",
// "frozen<ks.address>" for UDTs (keyspace omitted when empty), custom types as
// their quoted class 'org.example.MyType'.
std::string to_cql_name(const cql_type& t);
// Parses the CQL form (case-insensitive keywords, optional spaces, "varchar"
// accepted for text, quoted custom classes). A bare unknown identifier is a
// UDT name (fields unknown); "ks.name" sets the keyspace.
std::optional<cql_type> parse_type_name(std::string_view s, errc* error = nullptr);

// Cassandra marshal-class form used by custom types on the wire, e.g.
// "org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType, 3)".
std::string to_marshal_class(const cql_type& t);
std::optional<cql_type> parse_marshal_class(std::string_view s, errc* error = nullptr);

}  // namespace cqlpp::protocol
