#include "cqlpp/transport/host_pool.hpp"

#include "cqlpp/transport/detail/backoff.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>

namespace cqlpp::transport {

namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
}

std::shared_ptr<host_pool> host_pool::create(executor_type ex, pool_config cfg) {
    return std::shared_ptr<host_pool>(new host_pool(std::move(ex), std::move(cfg)));
}

host_pool::host_pool(executor_type ex, pool_config cfg)
    : ex_(ex), cfg_(std::move(cfg)), wake_(ex), changed_(ex), rng_(std::random_device{}()) {}

host_pool::~host_pool() = default;

void host_pool::start() {
    auto self = shared_from_this();
    asio::co_spawn(ex_, [self] { return self->refiller(); }, asio::bind_cancellation_slot(stop_.slot(), asio::detached));
}

void host_pool::close() {
    if (closed_) return;
    closed_ = true;
    auto conns = std::move(conns_);
    conns_.clear();
    for (auto& c : conns) c->close();
    wake_.cancel();
    changed_.cancel();
    stop_.emit(asio::cancellation_type::terminal);
}

std::shared_ptr<connection> host_pool::pick() const {
    std::shared_ptr<connection> best;
    for (const auto& c : conns_) {
        if (!c->is_open()) continue;
        if (!best || c->in_flight() < best->in_flight()) best = c;
    }
    return best;
}

asio::awaitable<request_result> host_pool::async_request(const protocol::request& r) {
    co_return co_await async_request(r, cfg_.connection.request_timeout);
}

asio::awaitable<request_result> host_pool::async_request(const protocol::request& r, std::chrono::milliseconds timeout) {
    auto c = pick();
    if (!c) co_return request_result{errc::no_connection, {}};
    auto env = c->encode(r);
    co_return co_await c->async_request(env, timeout);
}

asio::awaitable<bool> host_pool::async_wait_connected(std::size_t n, std::chrono::milliseconds limit) {
    auto self = shared_from_this();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!closed_ && conns_.size() < n && std::chrono::steady_clock::now() < deadline) {
        changed_.expires_at(deadline);
        co_await changed_.async_wait(use_tuple);
    }
    co_return conns_.size() >= n;
}

asio::awaitable<bool> host_pool::async_wait_settled(std::chrono::milliseconds limit) {
    auto self = shared_from_this();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!closed_ && conns_.empty() && totals_.connect_failures == 0 && std::chrono::steady_clock::now() < deadline) {
        changed_.expires_at(deadline);
        co_await changed_.async_wait(use_tuple);
    }
    co_return !conns_.empty();
}

void host_pool::reconnect_now() {
    reset_backoff_ = true;
    wake_.cancel();
}

pool_metrics host_pool::metrics() const {
    pool_metrics m = totals_;
    m.connections = conns_.size();
    for (const auto& c : conns_) {
        auto cm = c->metrics();
        m.in_flight += cm.in_flight;
        m.orphaned += cm.orphaned;
        m.bytes_written += cm.bytes_written;
        m.bytes_read += cm.bytes_read;
        m.write_syscalls += cm.write_syscalls;
    }
    return m;
}

void host_pool::on_lost(const std::shared_ptr<connection>& c) {
    auto it = std::find(conns_.begin(), conns_.end(), c);
    if (it == conns_.end()) return;
    auto cm = c->metrics();
    totals_.bytes_written += cm.bytes_written;
    totals_.bytes_read += cm.bytes_read;
    totals_.write_syscalls += cm.write_syscalls;
    conns_.erase(it);
    lost_any_ = true;
    if (!backing_off_) wake_.cancel();  // a backoff in progress is not cut short
    changed_.cancel();
    if (on_change_) on_change_(conns_.size());
}

asio::awaitable<void> host_pool::refiller() {
    auto self = shared_from_this();
    unsigned failures = 0;  // consecutive
    while (!closed_) {
        if (conns_.size() >= cfg_.connections_per_host) {
            wake_.expires_at(asio::steady_timer::time_point::max());
            co_await wake_.async_wait(use_tuple);
            continue;
        }
        ++totals_.connect_attempts;
        auto r = co_await connection::async_connect(ex_, cfg_.connection);
        if (closed_) {
            if (r.conn) r.conn->close();
            break;
        }
        if (r.ec) {
            ++totals_.connect_failures;
            last_error_ = r.ec;
            last_server_error_ = std::move(r.server_error);
            changed_.cancel();  // async_wait_settled
            // Unreachable (never connected, or every connection lost): say so
            // now rather than at the first request.
            if (conns_.empty() && on_change_) on_change_(0);
            wake_.expires_after(detail::backoff_delay(cfg_.reconnect, failures++, rng_));
            backing_off_ = true;
            co_await wake_.async_wait(use_tuple);
            backing_off_ = false;
            if (reset_backoff_) failures = 0;
            reset_backoff_ = false;
            continue;
        }
        failures = 0;
        last_server_error_.reset();
        if (lost_any_) ++totals_.reconnects;
        std::weak_ptr<host_pool> weak = self;
        std::weak_ptr<connection> wc = r.conn;
        r.conn->on_close([weak, wc](std::error_code) {
            auto p = weak.lock();
            auto c = wc.lock();
            if (p && c) p->on_lost(c);
        });
        conns_.push_back(std::move(r.conn));
        changed_.cancel();
        if (on_change_) on_change_(conns_.size());
    }
}

}  // namespace cqlpp::transport
