// Rows of a transport response: the glue between a response_frame (which owns
// the body) and rows_view (which borrows it). The page keeps the response_ptr,
// so the frame lives until the last rows_view / row_view user of it is gone or
// the rows are copied with to_owned().
#pragma once

#include "cqlpp/driver/row.hpp"
#include "cqlpp/transport/response.hpp"

#include <memory>
#include <system_error>
#include <variant>

namespace cqlpp::driver {

// not_a_rows_result when the response is not RESULT Rows (or is null).
inline std::error_code rows_of(const transport::response_ptr& response, rows_view& out,
                               std::shared_ptr<const column_set> columns = nullptr) {
    if (!response) return conversion_errc::not_a_rows_result;
    const auto* result = std::get_if<protocol::result_response>(&response->message);
    if (!result) return conversion_errc::not_a_rows_result;
    const auto* rows = std::get_if<protocol::rows_result>(&result->value);
    if (!rows) return conversion_errc::not_a_rows_result;
    out = rows_view(*rows, response, std::move(columns));
    return {};
}

}  // namespace cqlpp::driver
