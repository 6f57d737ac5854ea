// Host pools: one slot per host id, kept in step with each metadata snapshot,
// and the host's up/down state from its pool's connections.
#include "session_impl.hpp"
#include "session_util.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include <algorithm>

namespace cqlpp::driver::detail {

// Builds the token map, keeps pools in step with the hosts and publishes.
void session_impl::apply_hosts(std::vector<std::shared_ptr<host>> hosts, std::shared_ptr<cluster_metadata> next,
                               const host* control_host) {
    // Pools are found by host id; a host keeps its slot (and pool) for the
    // session's lifetime, so host::pool_index stays valid in old snapshots.
    for (auto& h : hosts) {
        std::size_t idx = pools.size();
        for (std::size_t i = 0; i < pools.size(); ++i)
            if (pools[i].h && pools[i].h->host_id == h->host_id) idx = i;
        if (idx == pools.size()) pools.push_back(pool_slot{});
        auto& slot = pools[idx];
        h->pool_index = idx;
        if (slot.h) {
            h->set_up(slot.h->is_up());
            // Moved to a new address: the old pool is useless.
            if (slot.h->address != h->address || slot.h->port != h->port) {
                if (slot.pool) slot.pool->close();
                slot.pool.reset();
            }
        }
        slot.h = h;
        slot.endpoint = h->endpoint_string();
    }
    // Hosts gone from the cluster.
    for (auto& slot : pools) {
        if (!slot.h) continue;
        bool present = std::any_of(hosts.begin(), hosts.end(), [&](const auto& h) { return h.get() == slot.h.get(); });
        if (!present) {
            log()->info("cqlpp: host {} left the cluster", slot.endpoint);
            if (slot.pool) slot.pool->close();
            slot.pool.reset();
            slot.h->set_up(false);
            slot.h.reset();
        }
    }

    next->tokens = token_map(hosts);
    for (const auto& [name, ks] : next->keyspaces) next->tokens.set_keyspace(name, ks.replication);
    if (!policy_initialised) {
        lb->init(next->tokens, control_host);
        policy_initialised = true;
    }
    std::atomic_store(&meta, std::shared_ptr<const cluster_metadata>(next));  // metadata() may read from any thread

    // Open pools for hosts the policy wants.
    auto weak = weak_from_this();
    for (std::size_t i = 0; i < pools.size(); ++i) {
        auto& slot = pools[i];
        if (!slot.h) continue;
        auto dist = lb->distance(*slot.h);
        if (dist == host_distance::ignored) {
            if (slot.pool) slot.pool->close();
            slot.pool.reset();
            continue;
        }
        if (slot.pool) continue;
        transport::pool_config pc;
        pc.connection = cfg.connection;
        pc.connection.host = address_string(slot.h->address);
        pc.connection.port = slot.h->port;
        pc.connection.keyspace = cfg.keyspace;
        pc.connections_per_host = dist == host_distance::local ? cfg.connections_per_host : cfg.connections_per_remote_host;
        pc.reconnect = cfg.reconnect;
        slot.pool = transport::host_pool::create(ex, std::move(pc));
        slot.pool->on_change([weak, i](std::size_t open) {
            if (auto s = weak.lock()) s->on_pool_change(i, open);
        });
        slot.pool->start();
    }
}

void session_impl::on_pool_change(std::size_t index, std::size_t open) {
    if (index >= pools.size() || closed) return;
    auto& slot = pools[index];
    if (!slot.h) return;
    const bool was_up = slot.h->is_up();
    if (open > 0) {
        slot.h->set_up(true);
        const bool came_back = !was_up || !slot.ever_connected;
        if (!was_up) log()->info("cqlpp: host {} is up", slot.endpoint);
        if (came_back && cfg.reprepare_on_up && !prepared.empty()) {
            asio::co_spawn(ex, [self = shared_from_this(), index] { return self->reprepare_all(index); }, asio::detached);
        }
        slot.ever_connected = true;
    } else if (was_up) {
        // Every connection to it is gone: leave it out of plans until the
        // pool reconnects (a DOWN event would say the same, later).
        slot.h->set_up(false);
        log()->info("cqlpp: host {} is down (no connection left)", slot.endpoint);
    }
}

}  // namespace cqlpp::driver::detail
