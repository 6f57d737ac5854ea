// The session's internal state: construction, start (control connection,
// then the first pools) and shutdown.
#include "session_impl.hpp"
#include "session_util.hpp"

#include <asio/io_context.hpp>
#include <asio/strand.hpp>

namespace cqlpp::driver::detail {

session_impl::session_impl(executor_type e, session_config c)
    : ex(e), cfg(std::move(c)), control_wake(e), refresh_timer(e), drained(e) {
    if (!cfg.load_balancing) {
        auto lbc = cfg.load_balancing_config;
        if (!lbc.in_flight) {
            // Least-busy replica choice reads the pool's in-flight count. The
            // policy lives as long as the session (it holds no reference back).
            lbc.in_flight = [this](const host& h) -> std::size_t {
                if (h.pool_index >= pools.size() || !pools[h.pool_index].pool) return 0;
                return pools[h.pool_index].pool->in_flight();
            };
        }
        lb = std::make_shared<default_policy>(std::move(lbc));
    } else {
        lb = cfg.load_balancing;
    }
    retry = cfg.retry ? cfg.retry : std::make_shared<default_retry_policy>();
    meta = std::make_shared<cluster_metadata>();

    defaults.consistency = cfg.consistency;
    // Sent with every QUERY/EXECUTE/BATCH unless the statement or its profile sets another.
    defaults.serial_consistency = cfg.serial_consistency;
    defaults.page_size = cfg.page_size;
    defaults.request_timeout = cfg.request_timeout;
    defaults.idempotent = cfg.default_idempotent;
    defaults.speculative = cfg.speculative;
    for (const auto& [name, p] : cfg.execution_profiles) {
        resolved_profile r = defaults;
        if (p.consistency) r.consistency = *p.consistency;
        if (p.serial_consistency) r.serial_consistency = *p.serial_consistency;
        if (p.page_size) r.page_size = *p.page_size;
        if (p.request_timeout) r.request_timeout = *p.request_timeout;
        if (p.idempotent) r.idempotent = *p.idempotent;
        if (p.speculative) r.speculative = *p.speculative;
        r.local_dc_only = p.local_dc_only;
        profiles.emplace(name, r);
    }
    if (cfg.throttle.enabled()) throttle = std::make_unique<throttle_state>(cfg.throttle, ex);
    tracker = cfg.tracker.get();
    // Which kind of executor the session runs on, found once: on_executor()
    // is asked on every request.
    ex_io = ex.target<io_executor>();
    ex_io_tracked = ex.target<io_executor_tracked>();
    ex_strand_io = ex.target<asio::strand<io_executor>>();
    ex_strand_any = ex.target<asio::strand<asio::any_io_executor>>();
}

asio::awaitable<std::error_code> session_impl::start(diagnostics& diag) {
    if (follower()) {
        // Shard 0 has connected and published the cluster view: take it.
        auto p = primary();
        if (!p || p->closed) co_return make_error_code(driver::errc::session_closed);
        adopt(std::atomic_load(&group->latest));
        if (meta->tokens.hosts().empty()) {
            diag.message = "no cluster view to share: the first shard has no metadata";
            co_return make_error_code(driver::errc::metadata_error);
        }
    } else {
        auto ec = co_await open_control(diag, true);
        if (ec) co_return ec;
    }
    // Give local pools a moment to connect so the first requests are routed
    // well. A pool is waited for until its first attempt settles: a host that
    // refuses (down) fails at once and must not hold the session up; one that
    // does not answer at all is waited for until the connect timeout.
    const auto deadline = clock_type::now() + cfg.connection.connect_timeout;
    for (std::size_t i = 0; i < pools.size(); ++i) {
        auto p = pools[i].pool;
        if (!p || !pools[i].h || lb->distance(*pools[i].h) != host_distance::local) continue;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        if (left.count() <= 0) break;
        co_await p->async_wait_settled(left);
    }
    bool any = false;
    for (const auto& slot : pools)
        if (slot.pool && slot.pool->open_connections() > 0) any = true;
    if (!any) {
        // The server refused the handshake (e.g. USE of a keyspace that does
        // not exist): its error is the answer, not a connection failure.
        for (const auto& slot : pools) {
            if (!slot.pool || !slot.pool->last_server_error()) continue;
            const auto& se = *slot.pool->last_server_error();
            diag.message = se.message;
            diag.server_error = se;
            co_return std::error_code(se.code);
        }
        diag.message = (follower() ? std::string("shard ") + std::to_string(shard_index) + " (sharing the cluster view)"
                                   : "connected to " + control_endpoint) +
                       " but no pool could open a connection";
        for (const auto& slot : pools)
            if (slot.pool && slot.pool->last_error())
                diag.message += "; " + slot.endpoint + ": " + slot.pool->last_error().message();
        co_return make_error_code(driver::errc::no_host_available);
    }
    co_return std::error_code{};
}

namespace {
constexpr std::string_view closed_while_queued = "the session closed while the request waited in the throttle queue";
}

void session_impl::fill_metrics(session_metrics& m) const {
    m.hosts.clear();
    m.connected_nodes = 0;
    m.bytes_sent = m.bytes_received = 0;
    for (const auto& slot : pools) {
        if (!slot.h) continue;
        host_metrics hm;
        hm.endpoint = slot.endpoint;
        hm.datacenter = slot.h->datacenter;
        hm.up = slot.h->is_up();
        if (slot.pool) hm.pool = slot.pool->metrics();
        // 32,768 stream ids per connection in v4 and v5.
        const std::uint64_t ids = hm.pool.connections * 32768;
        const std::uint64_t used = hm.pool.in_flight + hm.pool.orphaned;
        hm.available_streams = ids > used ? ids - used : 0;
        hm.errors = slot.errors;
        hm.retries = slot.retries;
        hm.speculative_executions = slot.speculative_executions;
        if (hm.pool.connections > 0) ++m.connected_nodes;
        m.bytes_sent += hm.pool.bytes_written;
        m.bytes_received += hm.pool.bytes_read;
        m.hosts.push_back(std::move(hm));
    }
    m.prepared_cache_size = prepared.size();
    if (throttle) m.throttle = throttle->core.metrics();
}

void session_impl::count_node_error(std::size_t pi, std::error_code ec, const protocol::error_response* se) noexcept {
    if (pi >= pools.size()) return;
    auto& e = pools[pi].errors;
    if (se) {
        switch (se->code) {
        case protocol::server_errc::read_timeout: ++e.read_timeouts; break;
        case protocol::server_errc::write_timeout: ++e.write_timeouts; break;
        case protocol::server_errc::unavailable: ++e.unavailables; break;
        default: ++e.others; break;
        }
    } else if (ec) {
        // Timeouts, cancellations and unsent attempts are counted where the
        // engine meets them; what reaches here lost its connection in flight.
        ++e.aborted;
    }
}

asio::awaitable<void> session_impl::close() {
    auto self = shared_from_this();
    if (closed) co_return;
    closed = true;
    if (throttle) fail_queued(driver::errc::session_closed, closed_while_queued);
    if (active > 0) {
        drained.expires_after(cfg.drain_timeout);
        co_await drained.async_wait(use_tuple);
    }
    for (auto& slot : pools)
        if (slot.pool) {
            // In-flight requests have drained (or the deadline passed): close politely.
            for (const auto& c : slot.pool->connections()) co_await c->async_close(std::chrono::milliseconds(100));
        }
    shutdown_now();
}

void session_impl::shutdown_now() {
    closed = true;
    shut_down = true;
    if (throttle) {
        fail_queued(driver::errc::session_closed, closed_while_queued);
        throttle->timer.cancel();
    }
    for (auto& slot : pools)
        if (slot.pool) slot.pool->close();
    if (control) control->close();
    control.reset();
    cluster_view_up = false;
    control_wake.cancel();
    refresh_timer.cancel();
    drained.cancel();
}

}  // namespace cqlpp::driver::detail
