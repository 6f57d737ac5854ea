// T("map<text, int>"): a cql_type from its CQL name, for the driver tests
// that build values and pages by type.
#pragma once

#include "cqlpp/protocol/types.hpp"

#include <catch2/catch.hpp>

#include <string_view>

namespace cqlpp::test {

inline protocol::cql_type T(std::string_view name) {
    auto t = protocol::parse_type_name(name);
    REQUIRE(t.has_value());
    return *t;
}

}  // namespace cqlpp::test
