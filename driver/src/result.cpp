#include "cqlpp/driver/result.hpp"

#include <mutex>
#include <unordered_set>

namespace cqlpp::driver {

namespace {
const diagnostics& empty_diagnostics() {
    static const diagnostics d;
    return d;
}
const std::vector<std::string_view>& no_warnings() {
    static const std::vector<std::string_view> w;
    return w;
}
}  // namespace

const std::string& result::coordinator() const noexcept {
    static const std::string none;
    return coordinator_ ? *coordinator_ : none;
}

namespace detail {
const std::string& intern_endpoint(std::string_view endpoint) {
    static std::mutex m;
    static std::unordered_set<std::string> strings;  // node-based: references stay valid
    std::lock_guard lock(m);
    return *strings.emplace(endpoint).first;
}
}  // namespace detail

const diagnostics& result::diag() const noexcept { return diag_ ? *diag_ : empty_diagnostics(); }

const result& result::value_or_throw() const& {
    if (ec_) throw request_error(ec_, diag());
    return *this;
}
result&& result::value_or_throw() && {
    if (ec_) throw request_error(ec_, diag());
    return std::move(*this);
}

void result::set_response(transport::response_ptr r, std::shared_ptr<const column_set> columns) {
    response_ = std::move(r);
    rows_ = rows_view();
    kind_ = protocol::result_kind::void_;
    if (!response_) return;
    const auto* res = std::get_if<protocol::result_response>(&response_->message);
    if (!res) return;
    kind_ = res->kind();
    if (const auto* rows = std::get_if<protocol::rows_result>(&res->value))
        rows_ = rows_view(*rows, response_, rows->metadata.no_metadata ? std::move(columns) : nullptr);
}

const protocol::schema_change* result::schema_change() const noexcept {
    if (!response_) return nullptr;
    const auto* res = std::get_if<protocol::result_response>(&response_->message);
    return res ? std::get_if<protocol::schema_change>(&res->value) : nullptr;
}

std::string_view result::set_keyspace() const noexcept {
    if (!response_) return {};
    const auto* res = std::get_if<protocol::result_response>(&response_->message);
    const auto* sk = res ? std::get_if<protocol::set_keyspace_result>(&res->value) : nullptr;
    return sk ? std::string_view(sk->keyspace) : std::string_view();
}

std::span<const std::uint8_t> result::paging_state() const noexcept {
    if (!response_) return {};
    const auto* res = std::get_if<protocol::result_response>(&response_->message);
    const auto* rows = res ? std::get_if<protocol::rows_result>(&res->value) : nullptr;
    if (!rows || !rows->metadata.paging_state) return {};
    return *rows->metadata.paging_state;
}

std::optional<protocol::uuid_bytes> result::tracing_id() const noexcept {
    return response_ ? response_->prefix.tracing_id : std::nullopt;
}

std::span<const std::pair<std::string_view, std::optional<protocol::bytes_view>>> result::custom_payload() const noexcept {
    if (!response_) return {};
    return response_->prefix.custom_payload;
}

std::span<const std::string_view> result::warnings() const noexcept {
    return response_ ? std::span<const std::string_view>(response_->prefix.warnings)
                     : std::span<const std::string_view>(no_warnings());
}

}  // namespace cqlpp::driver
