// The public facade: session's members, each a thin call into session_impl.
#include "session_impl.hpp"

#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/detached.hpp>
#include <asio/use_future.hpp>

namespace cqlpp::driver {

session::session(std::shared_ptr<detail::session_impl> impl) : impl_(std::move(impl)) {}

session::~session() {
    if (!impl_ || impl_->closed) return;
    // Closing is asynchronous; a session dropped without close() stops at
    // once, on its own executor whichever thread dropped the last handle.
    if (impl_->on_executor()) {
        impl_->shutdown_now();
        return;
    }
    asio::post(impl_->ex, [impl = impl_] {
        if (!impl->closed) impl->shutdown_now();
    });
}

asio::awaitable<connect_result> session::connect(executor_type ex, session_config cfg) {
    auto impl = std::make_shared<detail::session_impl>(ex, std::move(cfg));
    diagnostics diag;
    std::error_code ec;
    // The session's work runs on its executor, whichever the caller's is.
    if (impl->on_executor()) {
        ec = co_await impl->start(diag);
        if (ec) impl->shutdown_now();
    } else {
        // Named, not a temporary inside the co_await: GCC 12 destroys such
        // temporaries twice.
        auto start = [impl, d = &diag]() -> asio::awaitable<std::error_code> {
            auto e = co_await impl->start(*d);
            if (e) impl->shutdown_now();
            co_return e;
        };
        ec = co_await asio::co_spawn(ex, std::move(start), asio::use_awaitable);
    }
    if (ec) co_return connect_result(ec, std::move(diag));
    co_return connect_result(std::make_shared<session>(impl));
}

void session::start_async(const std::shared_ptr<detail::session_impl>& impl, detail::result_handler h) {
    impl->start_async(std::move(h));
}
session::executor_type session::executor_of(const std::shared_ptr<detail::session_impl>& impl) noexcept {
    return impl->ex;
}

asio::awaitable<result> session::execute(const statement& s) { return impl_->execute(s); }
asio::awaitable<result> session::execute(const bound_statement& s) { return impl_->execute(s); }
asio::awaitable<result> session::execute(const batch& b) { return impl_->execute(b); }
asio::awaitable<result> session::execute(std::string_view cql) {
    statement s{std::string(cql)};
    co_return co_await impl_->execute(s);
}
// The coroutine members run on the session's executor: awaited from another
// one, the work is spawned there and the caller resumes on its own.
asio::awaitable<outcome<prepared_statement>> session::prepare(std::string query, std::string keyspace) {
    auto work = impl_->prepare(std::move(query), std::move(keyspace));
    if (impl_->on_executor()) co_return co_await std::move(work);
    co_return co_await asio::co_spawn(impl_->ex, std::move(work), asio::use_awaitable);
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

asio::awaitable<void> session::close() {
    auto work = impl_->close();
    if (impl_->on_executor()) co_return co_await std::move(work);
    co_await asio::co_spawn(impl_->ex, std::move(work), asio::use_awaitable);
}
bool session::is_closed() const noexcept { return impl_->closed; }
std::shared_ptr<const cluster_metadata> session::metadata() const noexcept { return std::atomic_load(&impl_->meta); }
asio::awaitable<outcome<void>> session::refresh_metadata() {
    diagnostics diag;
    std::error_code ec;
    if (impl_->on_executor()) {
        ec = co_await impl_->refresh(true, true, &diag);
    } else {
        auto work = impl_->refresh(true, true, &diag);
        ec = co_await asio::co_spawn(impl_->ex, std::move(work), asio::use_awaitable);
    }
    if (!ec) co_return outcome<void>();
    if (diag.message.empty()) diag.message = "metadata refresh failed: " + ec.message();
    co_return outcome<void>(ec, std::move(diag));
}
const session_config& session::config() const noexcept { return impl_->cfg; }
protocol::protocol_version session::protocol_version() const noexcept { return impl_->version; }
session::executor_type session::get_executor() const noexcept { return impl_->ex; }

session_metrics session::metrics() const {
    session_metrics m;
    impl_->counters.snapshot_into(m);
    if (impl_->on_executor()) {
        impl_->fill_metrics(m);
        return m;
    }
    // The pools, the prepared cache and the throttle belong to the session's
    // thread: ask it, but never wait long (it may be stopped, or be this
    // caller's own loop under another executor); without an answer the
    // counters come alone.
    auto p = std::make_shared<std::promise<session_metrics>>();
    auto f = p->get_future();
    asio::post(impl_->ex, [impl = impl_, p] {
        session_metrics part;
        impl->fill_metrics(part);
        p->set_value(std::move(part));
    });
    if (f.wait_for(std::chrono::milliseconds(500)) == std::future_status::ready) {
        auto part = f.get();
        m.hosts = std::move(part.hosts);
        m.throttle = part.throttle;
        m.connected_nodes = part.connected_nodes;
        m.bytes_sent = part.bytes_sent;
        m.bytes_received = part.bytes_received;
        m.prepared_cache_size = part.prepared_cache_size;
    }
    return m;
}

}  // namespace cqlpp::driver
