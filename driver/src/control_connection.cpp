// The control connection: opening it (contact points, then known hosts),
// its events, reconnecting it, and queries on it (system tables).
#include "session_impl.hpp"
#include "session_util.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include <algorithm>

namespace cqlpp::driver::detail {

asio::awaitable<result> session_impl::control_query(std::string_view cql) {
    // Only shard 0 holds a control connection.
    co_return co_await control_query(cql, control, control_endpoint);
}

asio::awaitable<result> session_impl::control_query(std::string_view cql, std::shared_ptr<transport::connection> c,
                                                    std::string endpoint) {
    if (!c || !c->is_open()) co_return result(transport::errc::connection_closed, diagnostics{"control connection is down", {}, {}});
    proto::query_request q;
    q.query = cql;
    q.params.cl = proto::consistency::one;
    auto env = c->encode(proto::request(q));
    auto r = co_await c->async_request(env, cfg.connection.request_timeout);
    if (r.ec) {
        diagnostics d;
        const auto* se = r.response ? r.response->server_error() : nullptr;
        d.message = describe_error(r.ec, se, endpoint) + " [" + std::string(cql) + "]";
        if (se) d.server_error = *se;
        co_return result(r.ec, std::move(d));
    }
    result out;
    out.set_response(std::move(r.response), nullptr);
    co_return out;
}

void session_impl::on_event(const proto::event_response& ev) {
    if (closed) return;
    if (const auto* sc = std::get_if<proto::status_change_event>(&ev.value)) {
        for (std::size_t i = 0; i < pools.size(); ++i) {
            auto& slot = pools[i];
            if (!slot.h || slot.h->address != sc->node.address) continue;
            if (sc->node.port != 0 && slot.h->port != sc->node.port) continue;
            if (sc->change == proto::status_change_type::up) {
                log()->debug("cqlpp: UP event for {}", slot.endpoint);
                if (slot.pool) slot.pool->reconnect_now();
                // Every shard's pool to it tries now, on its own executor.
                for_other_shards([i](session_impl& s) {
                    if (i < s.pools.size() && s.pools[i].pool) s.pools[i].pool->reconnect_now();
                });
            } else if (open_anywhere(slot) == 0) {
                // Drivers trust their own connections over gossip: DOWN counts
                // only when we hold none to the host (no shard does).
                if (slot.h->is_up()) log()->info("cqlpp: host {} is down (event)", slot.endpoint);
                slot.h->set_up(false);
            }
        }
        return;
    }
    if (std::holds_alternative<proto::topology_change_event>(ev.value)) {
        schedule_refresh(true, false);
        return;
    }
    schedule_refresh(false, true);
}

asio::awaitable<std::error_code> session_impl::open_control(diagnostics& diag, bool initial) {
    // Candidates: known hosts that are up (reconnect), then the contact points.
    std::vector<std::pair<std::string, std::uint16_t>> candidates;
    if (!initial) {
        for (const auto& slot : pools)
            if (slot.h && slot.h->is_up()) candidates.emplace_back(address_string(slot.h->address), slot.h->port);
        for (const auto& slot : pools)
            if (slot.h && !slot.h->is_up()) candidates.emplace_back(address_string(slot.h->address), slot.h->port);
    }
    for (const auto& cp : cfg.contact_points) {
        std::string host_name;
        std::uint16_t port = 0;
        if (!parse_contact_point(cp, cfg.default_port, host_name, port)) {
            diag.message = "bad contact point \"" + cp + "\" (expected host or host:port)";
            if (initial) co_return make_error_code(driver::errc::bad_contact_point);
            continue;
        }
        candidates.emplace_back(std::move(host_name), port);
    }
    std::string errors;
    for (const auto& [h, port] : candidates) {
        if (closed) co_return make_error_code(driver::errc::session_closed);
        auto cc = cfg.connection;
        cc.host = h;
        cc.port = port;
        cc.keyspace.clear();
        auto r = co_await transport::connection::async_connect(ex, cc);
        if (r.ec) {
            std::string why = r.server_error ? r.server_error->message : r.ec.message();
            errors += (errors.empty() ? "" : "; ") + h + ":" + std::to_string(port) + " " + why;
            if (r.server_error && r.ec == transport::errc::auth_failed) {
                // Wrong credentials will be wrong everywhere.
                diag.message = "authentication failed on " + h + ":" + std::to_string(port) + ": " + why;
                diag.server_error = r.server_error;
                co_return r.ec;
            }
            continue;
        }
        auto c = r.conn;
        control = c;
        control_endpoint = h + ":" + std::to_string(port);
        version = c->version();
        std::weak_ptr<session_impl> weak = weak_from_this();
        c->on_event([weak](const proto::event_response& ev) {
            if (auto s = weak.lock()) s->on_event(ev);
        });
        std::weak_ptr<transport::connection> wc = c;
        c->on_close([weak, wc](std::error_code) {
            auto s = weak.lock();
            auto cc2 = wc.lock();
            if (s && cc2) s->on_control_closed(cc2);
        });
        std::vector<proto::event_type> events{proto::event_type::topology_change, proto::event_type::status_change,
                                              proto::event_type::schema_change};
        auto rec = co_await c->async_register(std::move(events));
        if (rec) {
            errors += "; " + control_endpoint + " REGISTER: " + rec.message();
            c->close();
            continue;
        }
        diagnostics rd;
        auto fec = co_await refresh(true, true, &rd);
        if (fec) {
            errors += "; " + control_endpoint + " metadata: " + rd.message;
            c->close();
            continue;
        }
        log()->info("cqlpp: control connection to {} (protocol v{})", control_endpoint, static_cast<int>(version.load()));
        co_return std::error_code{};
    }
    diag.message = "no contact point could be reached: " + errors;
    co_return make_error_code(driver::errc::no_contact_point);
}

void session_impl::on_control_closed(const std::shared_ptr<transport::connection>& c) {
    if (closed || c != control) return;
    log()->warn("cqlpp: control connection to {} lost: {}", control_endpoint, c->close_reason().message());
    control.reset();
    // The other shards keep the view they have; DDL through them no longer
    // waits for a refresh until a new control connection publishes again.
    if (group) publish_view(nullptr);
    if (!control_loop_running) {
        control_loop_running = true;
        asio::co_spawn(ex, [self = shared_from_this()] { return self->control_loop(); }, asio::detached);
    }
}

// Reconnects the control connection (to any host) with backoff.
asio::awaitable<void> session_impl::control_loop() {
    auto self = shared_from_this();
    auto delay = std::chrono::milliseconds(50);
    while (!closed && !control) {
        diagnostics d;
        auto ec = co_await open_control(d, false);
        if (!ec) {
            ++counters.control_reconnects;
            break;
        }
        control_wake.expires_after(delay);
        co_await control_wake.async_wait(use_tuple);
        delay = std::min<std::chrono::milliseconds>(delay * 2, cfg.reconnect.max_delay);
    }
    control_loop_running = false;
}

}  // namespace cqlpp::driver::detail
