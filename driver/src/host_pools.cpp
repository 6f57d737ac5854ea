// Host pools: one slot per host id, kept in step with each metadata snapshot,
// and the host's up/down state from its pools' connections. With several
// shards, shard 0 publishes each snapshot and the others adopt it: their
// slot i serves the host whose pool_index is i, as shard 0's does.
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
                slot.open = 0;
                slot.others_open.assign(slot.others_open.size(), 0);  // theirs close too
            }
        }
        slot.h = h;
        slot.endpoint = h->endpoint_string();
        slot.origin = &intern_endpoint(slot.endpoint);
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
            slot.open = 0;
            slot.others_open.clear();
        }
    }

    next->tokens = token_map(hosts);
    for (const auto& [name, ks] : next->keyspaces) next->tokens.set_keyspace(name, ks.replication);
    if (!policy_initialised) {
        lb->init(next->tokens, control_host);
        policy_initialised = true;
    }
    std::atomic_store(&meta, std::shared_ptr<const cluster_metadata>(next));  // metadata() may read from any thread
    sync_pools();
    if (group) publish_view(control_host);
}

void session_impl::sync_pools() {
    auto weak = weak_from_this();
    for (std::size_t i = 0; i < pools.size(); ++i) {
        auto& slot = pools[i];
        if (!slot.h) continue;
        auto dist = lb->distance(*slot.h);
        if (dist == host_distance::ignored) {
            if (slot.pool) slot.pool->close();
            slot.pool.reset();
            slot.open = 0;
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
    const bool had = slot.open > 0;
    slot.open = open;
    if (open > 0) {
        // This shard's connections came back (or opened for the first time):
        // its cached statements may be missing on the host (it restarted).
        const bool came_back = !had || !slot.ever_connected || !slot.h->is_up();
        if (came_back && cfg.reprepare_on_up && !prepared.empty()) {
            asio::co_spawn(ex, [self = shared_from_this(), index] { return self->reprepare_all(index); }, asio::detached);
        }
        slot.ever_connected = true;
    }
    if (follower()) {
        // Whether the host is up is shard 0's call, from every shard's connections.
        if (auto p = primary())
            asio::post(p->ex, [p, shard = shard_index, index, open] { p->note_open(shard, index, open); });
        return;
    }
    update_liveness(index);
}

std::size_t session_impl::open_anywhere(const pool_slot& slot) const noexcept {
    std::size_t n = slot.pool ? slot.pool->open_connections() : 0;
    for (auto o : slot.others_open) n += o;
    return n;
}

void session_impl::update_liveness(std::size_t index) {
    auto& slot = pools[index];
    if (!slot.h) return;
    const bool was_up = slot.h->is_up();
    if (open_anywhere(slot) > 0) {
        slot.h->set_up(true);
        if (!was_up) log()->info("cqlpp: host {} is up", slot.endpoint);
    } else if (was_up) {
        // Every connection to it is gone: leave it out of plans until a
        // pool reconnects (a DOWN event would say the same, later).
        slot.h->set_up(false);
        log()->info("cqlpp: host {} is down (no connection left)", slot.endpoint);
    }
}

void session_impl::note_open(std::size_t shard, std::size_t index, std::size_t open) {
    // A report about a host that has since left (its slot emptied) is stale.
    if (closed || index >= pools.size() || !pools[index].h) return;
    auto& counts = pools[index].others_open;
    if (counts.size() <= shard) counts.resize(shard + 1, 0);
    counts[shard] = open;
    update_liveness(index);
}

// ---- shards --------------------------------------------------------------------

std::shared_ptr<session_impl> session_impl::primary() const {
    return group && !group->shards.empty() ? group->shards.front().lock() : nullptr;
}

void session_impl::publish_view(const host* control_host) {
    auto v = std::make_shared<shard_group::view>();
    v->meta = meta;
    v->seq = ++view_seq;
    // The policy's init() needs it once; a snapshot without it keeps the first.
    if (!control_host) {
        if (auto prev = std::atomic_load(&group->latest)) control_host = prev->control_host;
    }
    v->control_host = control_host;
    v->version = version.load();
    v->control_up = control != nullptr;
    std::shared_ptr<const shard_group::view> cv = std::move(v);
    std::atomic_store(&group->latest, cv);
    for_other_shards([cv](session_impl& s) { s.adopt(cv); });
}

void session_impl::adopt(const std::shared_ptr<const shard_group::view>& v) {
    if (closed || !v || v->seq <= view_seq) return;
    view_seq = v->seq;
    version = v->version;
    cluster_view_up = v->control_up;
    if (v->meta == meta) return;
    // The pools mirror shard 0's: slot i serves the host whose pool_index is i.
    const auto& hosts = v->meta->tokens.hosts();
    std::size_t n = pools.size();
    for (const auto& h : hosts) n = std::max(n, h->pool_index + 1);
    pools.resize(n);
    std::vector<bool> present(n, false);
    for (const auto& h : hosts) {
        auto& slot = pools[h->pool_index];
        present[h->pool_index] = true;
        if (slot.h && (slot.h->host_id != h->host_id || slot.h->address != h->address || slot.h->port != h->port)) {
            // Moved to a new address: the old pool is useless.
            if (slot.pool) slot.pool->close();
            slot.pool.reset();
            slot.open = 0;
        }
        slot.h = h;  // shared with shard 0, which alone sets it up or down
        slot.endpoint = h->endpoint_string();
        slot.origin = &intern_endpoint(slot.endpoint);
    }
    for (std::size_t i = 0; i < n; ++i) {
        auto& slot = pools[i];
        if (present[i] || !slot.h) continue;
        if (slot.pool) slot.pool->close();
        slot.pool.reset();
        slot.h.reset();
        slot.open = 0;
    }
    if (!policy_initialised) {
        // A policy of the application's is shared by every shard: shard 0 initialised it.
        if (!cfg.load_balancing) lb->init(v->meta->tokens, v->control_host);
        policy_initialised = true;
    }
    std::atomic_store(&meta, v->meta);
    sync_pools();
}

}  // namespace cqlpp::driver::detail
