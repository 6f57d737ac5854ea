// What a request returns: an error_code (and diagnostics on failure), or the
// server's RESULT with its rows, paging state, tracing id and warnings.
#pragma once

#include "cqlpp/driver/error.hpp"
#include "cqlpp/driver/row.hpp"
#include "cqlpp/protocol/result.hpp"
#include "cqlpp/transport/response.hpp"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace cqlpp::driver {

namespace detail {
struct session_impl;
}

class result {
public:
    result() = default;
    result(std::error_code ec, diagnostics d) : ec_(ec), diag_(std::make_unique<diagnostics>(std::move(d))) {}

    // Empty on success.
    std::error_code error() const noexcept { return ec_; }
    bool ok() const noexcept { return !ec_; }
    explicit operator bool() const noexcept { return ok(); }
    // Never null: an empty object on success.
    const diagnostics& diag() const noexcept;
    // Throws request_error on failure; returns *this otherwise.
    const result& value_or_throw() const&;
    result&& value_or_throw() &&;

    // The rows (empty for results that carry none).
    const rows_view& rows() const noexcept { return rows_; }
    std::size_t row_count() const noexcept { return rows_.size(); }
    row_view first_row() const { return rows_.at(0); }

    // RESULT kind (void for a failed request).
    protocol::result_kind kind() const noexcept { return kind_; }
    // SCHEMA_CHANGE results: what changed.
    const protocol::schema_change* schema_change() const noexcept;
    // SET_KEYSPACE results: the new keyspace.
    std::string_view set_keyspace() const noexcept;

    // More pages follow: pass paging_state() back (statement_options::paging_state,
    // or session::execute_page) to fetch the next one.
    bool has_more_pages() const noexcept { return !paging_state().empty(); }
    std::span<const std::uint8_t> paging_state() const noexcept;

    std::optional<protocol::uuid_bytes> tracing_id() const noexcept;
    std::span<const std::string_view> warnings() const noexcept;
    // The response's custom payload (flag 0x04: what a server-side query handler
    // returned), as (key, value or null) pairs borrowing the response's bytes.
    std::span<const std::pair<std::string_view, std::optional<protocol::bytes_view>>> custom_payload() const noexcept;
    // The node that answered ("127.0.0.1:9042") and how many attempts it took.
    const std::string& coordinator() const noexcept;
    int attempts() const noexcept { return attempts_; }
    // The raw response (null on failure): holds the bytes the rows borrow.
    const transport::response_ptr& response() const noexcept { return response_; }

private:
    friend struct detail::session_impl;  // fills it from the answer
    void set_response(transport::response_ptr r, std::shared_ptr<const column_set> columns);
    // `coordinator` comes from intern_endpoint(): a result carries a pointer,
    // not a copy, so moving it along the delivery path copies no string.
    void set_origin(const std::string& coordinator, int attempts) noexcept {
        coordinator_ = &coordinator;
        attempts_ = attempts;
    }

    std::error_code ec_;
    std::unique_ptr<diagnostics> diag_;
    transport::response_ptr response_;
    rows_view rows_;
    protocol::result_kind kind_ = protocol::result_kind::void_;
    const std::string* coordinator_ = nullptr;
    int attempts_ = 0;
};

namespace detail {
// The process-wide copy of an endpoint string ("127.0.0.1:9042"), made once
// per host (not per request) and kept for the life of the process, so results
// may outlive the session that made them. Bounded by the distinct endpoints a
// process ever sees.
const std::string& intern_endpoint(std::string_view endpoint);
}  // namespace detail

}  // namespace cqlpp::driver
