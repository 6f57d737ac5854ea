// The public facade: session's members, each a thin call into session_impl.
#include "session_impl.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/use_future.hpp>

namespace cqlpp::driver {

session::session(std::shared_ptr<detail::session_impl> impl) : impl_(std::move(impl)) {}

session::~session() {
    // Closing is asynchronous; a session dropped without close() stops at once.
    if (impl_ && !impl_->closed) impl_->shutdown_now();
}

asio::awaitable<connect_result> session::connect(executor_type ex, session_config cfg) {
    auto impl = std::make_shared<detail::session_impl>(ex, std::move(cfg));
    diagnostics diag;
    auto ec = co_await impl->start(diag);
    if (ec) {
        impl->shutdown_now();
        co_return connect_result(ec, std::move(diag));
    }
    co_return connect_result(std::make_shared<session>(impl));
}

asio::awaitable<result> session::execute(const statement& s) { return impl_->execute(s); }
asio::awaitable<result> session::execute(const bound_statement& s) { return impl_->execute(s); }
asio::awaitable<result> session::execute(const batch& b) { return impl_->execute(b); }
asio::awaitable<result> session::execute(std::string_view cql) {
    statement s{std::string(cql)};
    co_return co_await impl_->execute(s);
}
asio::awaitable<outcome<prepared_statement>> session::prepare(std::string query, std::string keyspace) {
    return impl_->prepare(std::move(query), std::move(keyspace));
}

std::future<result> session::execute_future(statement s) {
    return asio::co_spawn(
        impl_->ex, [impl = impl_, s = std::move(s)]() -> asio::awaitable<result> { co_return co_await impl->execute(s); },
        asio::use_future);
}
std::future<result> session::execute_future(bound_statement s) {
    return asio::co_spawn(
        impl_->ex, [impl = impl_, s = std::move(s)]() -> asio::awaitable<result> { co_return co_await impl->execute(s); },
        asio::use_future);
}
void session::execute_async(statement s, std::function<void(result)> done) {
    asio::co_spawn(
        impl_->ex,
        [impl = impl_, s = std::move(s), done = std::move(done)]() -> asio::awaitable<void> {
            done(co_await impl->execute(s));
        },
        asio::detached);
}
void session::execute_async(bound_statement s, std::function<void(result)> done) {
    asio::co_spawn(
        impl_->ex,
        [impl = impl_, s = std::move(s), done = std::move(done)]() -> asio::awaitable<void> {
            done(co_await impl->execute(s));
        },
        asio::detached);
}
std::future<outcome<prepared_statement>> session::prepare_future(std::string query, std::string keyspace) {
    return asio::co_spawn(
        impl_->ex,
        [impl = impl_, q = std::move(query), k = std::move(keyspace)]() -> asio::awaitable<outcome<prepared_statement>> {
            co_return co_await impl->prepare(q, k);
        },
        asio::use_future);
}

asio::awaitable<void> session::close() { return impl_->close(); }
bool session::is_closed() const noexcept { return impl_->closed; }
std::shared_ptr<const cluster_metadata> session::metadata() const noexcept { return std::atomic_load(&impl_->meta); }
asio::awaitable<outcome<void>> session::refresh_metadata() {
    diagnostics diag;
    auto ec = co_await impl_->refresh(true, true, &diag);
    if (!ec) co_return outcome<void>();
    if (diag.message.empty()) diag.message = "metadata refresh failed: " + ec.message();
    co_return outcome<void>(ec, std::move(diag));
}
const session_config& session::config() const noexcept { return impl_->cfg; }
protocol::protocol_version session::protocol_version() const noexcept { return impl_->version; }
session::executor_type session::get_executor() const noexcept { return impl_->ex; }

session_metrics session::metrics() const {
    session_metrics m = impl_->counters;
    if (impl_->throttle) m.throttle = impl_->throttle->core.metrics();
    for (const auto& slot : impl_->pools) {
        if (!slot.h) continue;
        host_metrics hm;
        hm.endpoint = slot.endpoint;
        hm.datacenter = slot.h->datacenter;
        hm.up = slot.h->is_up();
        if (slot.pool) hm.pool = slot.pool->metrics();
        m.hosts.push_back(std::move(hm));
    }
    return m;
}

}  // namespace cqlpp::driver
