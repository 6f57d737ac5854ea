// Request encoding without I/O (not installed): the per-kind contexts the
// setup() overloads fill and the encoders read on every attempt.
#pragma once

#include "exec_state.hpp"

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace cqlpp::driver::detail {

// First keyword of a statement, for the retry policy and LWT detection.
bool starts_with_keyword(std::string_view q, std::string_view kw);
bool is_write_query(std::string_view q);
bool is_lwt_query(std::string_view q);

struct common_params {
    proto::query_parameters qp;
    std::vector<std::pair<std::string_view, std::optional<proto::bytes_view>>> payload;
    transport::connection::encode_options eo;
};

// Per-kind request contexts: what the encoder reads on every attempt. Set up
// by plain functions so the request coroutines hold only these and exec_state.
struct simple_ctx {
    const statement* s = nullptr;
    common_params c;
    value_views views;
    std::vector<std::string_view> names;
};
struct bound_ctx {
    const prepared_data* p = nullptr;
    common_params c;
    value_views views;
};
struct batch_ctx {
    const batch* bt = nullptr;
    common_params c;
    std::vector<std::vector<proto::value_view>> values;
    std::vector<proto::batch_statement> stmts;
};
struct prepare_ctx {
    const prepare_spec* p = nullptr;
    common_params c;  // unused: keeps the engine's re-encoding generic
};

}  // namespace cqlpp::driver::detail
