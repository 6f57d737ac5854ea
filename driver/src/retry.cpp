#include "cqlpp/driver/retry.hpp"

#include "cqlpp/transport/error.hpp"

#include <variant>

namespace cqlpp::driver {

retry_decision default_retry_policy::decide(const retry_context& ctx) const {
    if (ctx.retry_count >= max_retries_) return retry_decision::rethrow;
    using proto_errc = protocol::server_errc;
    if (!ctx.server_error) {
        // The connection broke or was closed with the request in flight: the
        // server may have applied it, so only idempotent requests move on.
        if (ctx.ec.category() == transport::transport_category())
            return ctx.idempotent ? retry_decision::retry_next : retry_decision::rethrow;
        return retry_decision::rethrow;
    }
    const auto& e = *ctx.server_error;
    switch (e.code) {
    case proto_errc::read_timeout: {
        const auto* rt = std::get_if<protocol::read_timeout_info>(&e.details);
        // Enough replicas answered but not the one holding the data: a second
        // try usually gets it (the replicas have now read it).
        if (ctx.retry_count == 0 && rt && rt->received >= rt->block_for && !rt->data_present)
            return retry_decision::retry_same;
        return retry_decision::rethrow;
    }
    case proto_errc::write_timeout: {
        const auto* wt = std::get_if<protocol::write_timeout_info>(&e.details);
        if (ctx.retry_count == 0 && ctx.idempotent && wt && wt->write_type == "BATCH_LOG")
            return retry_decision::retry_same;
        return retry_decision::rethrow;
    }
    case proto_errc::unavailable:
        // The coordinator may see a partition the others do not.
        return ctx.retry_count == 0 ? retry_decision::retry_next : retry_decision::rethrow;
    case proto_errc::is_bootstrapping:
        return retry_decision::retry_next;  // nothing was executed
    case proto_errc::overloaded:
    case proto_errc::server_error:
    case proto_errc::truncate_error:
        return ctx.idempotent ? retry_decision::retry_next : retry_decision::rethrow;
    default:
        return retry_decision::rethrow;
    }
}

}  // namespace cqlpp::driver
