// A per-host pool of multiplexed connections (shared, not leased: G11).
//
// Threading: like connection, the pool and all its connections live on one
// executor; call it from there. A single refiller coroutine owns all changes
// to the connection set: it opens connections up to connections_per_host,
// and after a failure or a lost connection retries with exponential backoff
// and jitter (reconnect_policy). pick() returns the least busy open
// connection (by in-flight count), as cpp-driver does.
#pragma once

#include "cqlpp/transport/config.hpp"
#include "cqlpp/transport/connection.hpp"
#include "cqlpp/transport/metrics.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <vector>

namespace cqlpp::transport {

class host_pool : public std::enable_shared_from_this<host_pool> {
public:
    using executor_type = asio::any_io_executor;

    static std::shared_ptr<host_pool> create(executor_type ex, pool_config cfg);
    ~host_pool();

    // Starts filling the pool in the background.
    void start();
    // Closes every connection and stops reconnecting.
    void close();

    // Called (on the pool's executor) whenever a connection opens or is lost,
    // or an attempt fails while none is open, with the number now open: 0
    // means the host is unreachable for now.
    void on_change(std::function<void(std::size_t)> f) { on_change_ = std::move(f); }
    // Cuts a reconnection backoff short (the host was reported up).
    void reconnect_now();
    // Requests in flight over every connection.
    std::size_t in_flight() const noexcept {
        std::size_t n = 0;
        for (const auto& c : conns_) n += c->in_flight();
        return n;
    }
    std::size_t open_connections() const noexcept { return conns_.size(); }

    // The least busy open connection, or nullptr.
    std::shared_ptr<connection> pick() const;
    // pick() + encode + request; errc::no_connection when the pool is empty.
    asio::awaitable<request_result> async_request(const protocol::request& r);
    asio::awaitable<request_result> async_request(const protocol::request& r, std::chrono::milliseconds timeout);
    // Until at least `n` connections are open (true) or the deadline passes.
    asio::awaitable<bool> async_wait_connected(std::size_t n, std::chrono::milliseconds limit);
    // Until a connection is open (true), an attempt has failed (any, ever: for
    // a new pool's first attempt; a refused host answers at once, no need to
    // wait for it) or the deadline passes.
    asio::awaitable<bool> async_wait_settled(std::chrono::milliseconds limit);

    std::size_t size() const noexcept { return conns_.size(); }
    const std::vector<std::shared_ptr<connection>>& connections() const noexcept { return conns_; }
    pool_metrics metrics() const;
    // The last connect error (diagnostics while the host is unreachable).
    std::error_code last_error() const noexcept { return last_error_; }
    // The server's ERROR behind the last connect failure, if it answered one
    // (e.g. the keyspace's USE: "Keyspace 'x' does not exist").
    const std::optional<protocol::error_response>& last_server_error() const noexcept { return last_server_error_; }
    const pool_config& config() const noexcept { return cfg_; }
    executor_type get_executor() const noexcept { return ex_; }

private:
    host_pool(executor_type ex, pool_config cfg);
    asio::awaitable<void> refiller();
    void on_lost(const std::shared_ptr<connection>& c);

    executor_type ex_;
    pool_config cfg_;
    std::vector<std::shared_ptr<connection>> conns_;
    asio::steady_timer wake_;     // refiller: a connection was lost, or close()
    asio::steady_timer changed_;  // async_wait_connected waiters
    // Bound to the refiller: close() cancels a connect it has in progress
    // (its socket and timer would otherwise live on until connect_timeout).
    asio::cancellation_signal stop_;
    bool closed_ = false;
    bool lost_any_ = false;
    bool backing_off_ = false;
    bool reset_backoff_ = false;
    std::function<void(std::size_t)> on_change_;
    std::error_code last_error_;
    std::optional<protocol::error_response> last_server_error_;
    std::minstd_rand rng_;
    pool_metrics totals_;  // counters, plus bytes of connections already gone
};

}  // namespace cqlpp::transport
