// PLACEHOLDER: being replaced by the type-name parser/printer.
#include "cqlpp/protocol/types.hpp"
namespace cqlpp::protocol {
std::string to_cql_name(const cql_type&) { return {}; }
std::optional<cql_type> parse_type_name(std::string_view, errc* e) { if (e) *e = errc::bad_type_name; return std::nullopt; }
std::string to_marshal_class(const cql_type& t) { return t.custom_class; }
std::optional<cql_type> parse_marshal_class(std::string_view, errc* e) { if (e) *e = errc::bad_custom_type; return std::nullopt; }
}
