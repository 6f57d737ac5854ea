// What the sim tests send and read most: a QUERY at a consistency level, and
// the rows of an answer (a server error fails the test with its message).
#pragma once

#include "cqlpp/protocol/messages.hpp"

#include <catch2/catch.hpp>

#include <string_view>
#include <variant>

namespace cqlpp::test {

inline protocol::query_request simple(std::string_view q,
                                      protocol::consistency cl = protocol::consistency::one) {
    protocol::query_request r;
    r.query = q;
    r.params.cl = cl;
    return r;
}

inline const protocol::rows_result& rows_of(const protocol::response& r) {
    if (auto* e = std::get_if<protocol::error_response>(&r)) FAIL("server error: " << e->message);
    const auto& res = std::get<protocol::result_response>(r);
    REQUIRE(std::holds_alternative<protocol::rows_result>(res.value));
    return std::get<protocol::rows_result>(res.value);
}

}  // namespace cqlpp::test
