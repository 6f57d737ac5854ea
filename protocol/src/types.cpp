#include "cqlpp/protocol/types.hpp"

#include <limits>

namespace cqlpp::protocol {

cql_type cql_type::list_of(cql_type elem, bool frozen) {
    cql_type t(type_kind::list);
    t.params.push_back(std::move(elem));
    t.frozen = frozen;
    return t;
}
cql_type cql_type::set_of(cql_type elem, bool frozen) {
    cql_type t(type_kind::set);
    t.params.push_back(std::move(elem));
    t.frozen = frozen;
    return t;
}
cql_type cql_type::map_of(cql_type key, cql_type value, bool frozen) {
    cql_type t(type_kind::map);
    t.params.push_back(std::move(key));
    t.params.push_back(std::move(value));
    t.frozen = frozen;
    return t;
}
cql_type cql_type::tuple_of(std::vector<cql_type> elems) {
    cql_type t(type_kind::tuple);
    t.params = std::move(elems);
    return t;
}
cql_type cql_type::vector_of(cql_type elem, std::uint32_t dimension) {
    cql_type t(type_kind::vector);
    t.params.push_back(std::move(elem));
    t.dimension = dimension;
    return t;
}
cql_type cql_type::udt_of(std::string keyspace, std::string name, std::vector<std::string> field_names,
                          std::vector<cql_type> field_types, bool frozen) {
    cql_type t(type_kind::udt);
    t.keyspace = std::move(keyspace);
    t.name = std::move(name);
    t.field_names = std::move(field_names);
    t.params = std::move(field_types);
    t.frozen = frozen;
    return t;
}
cql_type cql_type::custom_of(std::string java_class) {
    cql_type t(type_kind::custom);
    t.custom_class = std::move(java_class);
    return t;
}

bool operator==(const cql_type& a, const cql_type& b) noexcept {
    return a.kind == b.kind && a.params == b.params && a.field_names == b.field_names && a.keyspace == b.keyspace &&
           a.name == b.name && a.custom_class == b.custom_class && a.dimension == b.dimension;
}

std::optional<std::size_t> fixed_value_size(const cql_type& t) noexcept {
    switch (t.kind) {
        case type_kind::boolean: return 1;
        case type_kind::int_:
        case type_kind::float_: return 4;
        case type_kind::bigint:
        case type_kind::double_:
        case type_kind::timestamp: return 8;
        case type_kind::uuid:
        case type_kind::timeuuid: return 16;
        case type_kind::vector: {
            if (t.params.size() != 1) return std::nullopt;
            auto e = fixed_value_size(t.params[0]);
            if (!e) return std::nullopt;
            // Dimensions come from the wire: refuse sizes that would overflow.
            if (t.dimension != 0 && *e > std::numeric_limits<std::size_t>::max() / t.dimension) return std::nullopt;
            return *e * t.dimension;
        }
        default: return std::nullopt;
    }
}

bool is_numeric(type_kind k) noexcept {
    switch (k) {
        case type_kind::tinyint:
        case type_kind::smallint:
        case type_kind::int_:
        case type_kind::bigint:
        case type_kind::counter:
        case type_kind::varint:
        case type_kind::decimal:
        case type_kind::float_:
        case type_kind::double_: return true;
        default: return false;
    }
}

void write_option(byte_writer& w, const cql_type& t) {
    switch (t.kind) {
        case type_kind::vector:
            w.u16(0x0000);
            w.string(to_marshal_class(t));
            return;
        case type_kind::custom:
            w.u16(0x0000);
            w.string(t.custom_class);
            return;
        case type_kind::list:
        case type_kind::set:
            w.u16(static_cast<std::uint16_t>(t.kind));
            write_option(w, t.params.at(0));
            return;
        case type_kind::map:
            w.u16(static_cast<std::uint16_t>(t.kind));
            write_option(w, t.params.at(0));
            write_option(w, t.params.at(1));
            return;
        case type_kind::udt:
            w.u16(static_cast<std::uint16_t>(t.kind));
            w.string(t.keyspace);
            w.string(t.name);
            w.u16(static_cast<std::uint16_t>(t.params.size()));
            for (std::size_t i = 0; i < t.params.size(); ++i) {
                w.string(i < t.field_names.size() ? std::string_view(t.field_names[i]) : std::string_view());
                write_option(w, t.params[i]);
            }
            return;
        case type_kind::tuple:
            w.u16(static_cast<std::uint16_t>(t.kind));
            w.u16(static_cast<std::uint16_t>(t.params.size()));
            for (const auto& p : t.params) write_option(w, p);
            return;
        default: w.u16(static_cast<std::uint16_t>(t.kind)); return;
    }
}

cql_type read_option(byte_reader& r, int depth) {
    if (depth > max_type_depth) {
        r.fail(errc::type_nesting_too_deep);
        return {};
    }
    auto id = r.u16();
    if (!r.ok()) return {};
    switch (id) {
        case 0x0000: {
            auto cls = r.string();
            if (!r.ok()) return {};
            // Known marshal classes (vector, or a native type spelled as a class)
            // are mapped to their kind; anything else stays custom.
            errc ec = errc::ok;
            if (auto parsed = parse_marshal_class(cls, &ec)) {
                if (parsed->kind != type_kind::custom) return *parsed;
            }
            return cql_type::custom_of(std::string(cls));
        }
        case 0x0001: case 0x0002: case 0x0003: case 0x0004: case 0x0005: case 0x0006: case 0x0007:
        case 0x0008: case 0x0009: case 0x000B: case 0x000C: case 0x000D: case 0x000E: case 0x000F:
        case 0x0010: case 0x0011: case 0x0012: case 0x0013: case 0x0014: case 0x0015:
            return cql_type(static_cast<type_kind>(id));
        case 0x000A:  // varchar's historical alias "text" (0x000A) is not in v4/v5, but be lenient
            return cql_type(type_kind::text);
        case 0x0020:
        case 0x0022: {
            cql_type t(static_cast<type_kind>(id));
            t.params.push_back(read_option(r, depth + 1));
            return t;
        }
        case 0x0021: {
            cql_type t(type_kind::map);
            t.params.push_back(read_option(r, depth + 1));
            t.params.push_back(read_option(r, depth + 1));
            return t;
        }
        case 0x0030: {
            cql_type t(type_kind::udt);
            t.keyspace = std::string(r.string());
            t.name = std::string(r.string());
            auto n = r.u16();
            for (std::uint16_t i = 0; i < n && r.ok(); ++i) {
                t.field_names.emplace_back(r.string());
                t.params.push_back(read_option(r, depth + 1));
            }
            return t;
        }
        case 0x0031: {
            cql_type t(type_kind::tuple);
            auto n = r.u16();
            for (std::uint16_t i = 0; i < n && r.ok(); ++i) t.params.push_back(read_option(r, depth + 1));
            return t;
        }
        default: r.fail(errc::unknown_type_option); return {};
    }
}

}  // namespace cqlpp::protocol
