// Topology of the simulated cluster: nodes, datacenters/racks, vnode tokens
// and replica placement exactly as Cassandra computes it (SimpleStrategy and
// NetworkTopologyStrategy). Sans-I/O; liveness is tracked here too so the
// executor can answer UNAVAILABLE.
#pragma once

#include "cqlpp/protocol/bytes.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace cqlpp::sim {

using token = std::int64_t;

struct node_config {
    std::string address;  // listen address, e.g. "127.0.0.2"
    std::uint16_t port = 9042;
    std::string datacenter = "datacenter1";
    std::string rack = "rack1";
};

struct topology_config {
    int nodes = 3;
    int num_tokens = 16;
    std::uint64_t seed = 42;  // token generation, for reproducible rings
    std::string cluster_name = "cqlpp-sim";
    // Addresses: 127.0.0.1, 127.0.0.2, ... on `port`; or, with base_port != 0,
    // all nodes on `base_address` with ports base_port, base_port + 1, ...
    // port 0: each node binds a free port on its own address (the cluster
    // reports the ports it got), so parallel test runs never collide.
    std::uint16_t port = 9042;
    std::uint16_t base_port = 0;
    std::string base_address = "127.0.0.1";
    // Datacenters as "dc1:3,dc2:2" (nodes per DC), racks per DC spread round-robin.
    std::vector<std::pair<std::string, int>> datacenters;  // empty: one "datacenter1" with all nodes
    int racks_per_dc = 1;
};

struct node_info {
    int id = 0;  // 0-based index
    node_config config;
    protocol::uuid_bytes host_id{};
    std::vector<token> tokens;  // sorted
    bool member = true;         // false once decommissioned (the id is never reused)
    protocol::inet_address inet() const;
};

// Replication of a keyspace, parsed from its replication map.
struct replication {
    enum class strategy { simple, network_topology, local, everywhere } kind = strategy::simple;
    int replication_factor = 1;                 // simple
    std::map<std::string, int> dc_factors;      // network_topology
    // From {'class': ..., 'replication_factor': '3'} / {'class': 'NetworkTopologyStrategy', 'dc1': '3'}.
    // Returns false (and leaves `error`) for unknown classes or bad factors.
    static bool from_options(const std::map<std::string, std::string>& options, replication& out, std::string& error);
    std::map<std::string, std::string> to_options() const;
};

class topology {
public:
    explicit topology(const topology_config& cfg);

    // Most nodes a cluster can ever have (ids are never reused after a removal).
    static constexpr std::size_t max_nodes = 250;

    const topology_config& config() const noexcept { return config_; }
    // Every node ever added, decommissioned ones too (member == false): ids index it.
    const std::vector<node_info>& nodes() const noexcept { return nodes_; }
    // Storage is reserved for max_nodes, so a node_info reference stays valid
    // while nodes are added (the network layer reads its own node's config).
    const node_info& node(int id) const { return nodes_.data()[static_cast<std::size_t>(id)]; }
    std::size_t size() const noexcept { return count_.load(std::memory_order_acquire); }
    bool is_member(int id) const noexcept {
        return id >= 0 && static_cast<std::size_t>(id) < size() && node(id).member;
    }
    std::size_t member_count() const noexcept;

    // Run-time changes (the caller serialises them against every reader of
    // nodes()/ring(); the engine does so under its exclusive lock).
    // Adds a node with fresh vnode tokens; an empty datacenter means the first
    // node's. Returns its id, or -1 when max_nodes ids are used up.
    int add_node(const std::string& datacenter = {}, const std::string& rack = {});
    // Decommission: the node leaves the ring (its ranges go to the next
    // nodes clockwise) and goes down. False if it is not a member or is the last one.
    bool remove_node(int id);
    // The port a node asked for as 0 got when bound (before it serves).
    void set_port(int id, std::uint16_t port) { nodes_.at(static_cast<std::size_t>(id)).config.port = port; }

    // Sorted ring: every vnode token with the node that owns it.
    struct ring_entry {
        token t;
        int node;
    };
    const std::vector<ring_entry>& ring() const noexcept { return ring_; }

    // Replicas of a token, primary first (the node whose token is the first >= t).
    std::vector<int> replicas(const replication& r, token t) const;
    // Index into ring() of the first entry with token >= t (wrapping to 0).
    std::size_t ring_position(token t) const noexcept;

    // Liveness (thread-safe): a stopped node is down.
    bool is_up(int id) const noexcept { return up_[static_cast<std::size_t>(id)].load(std::memory_order_relaxed); }
    void set_up(int id, bool up) noexcept { up_[static_cast<std::size_t>(id)].store(up, std::memory_order_relaxed); }

private:
    void make_node(int id, const std::string& dc, const std::string& rack);
    void rebuild_ring();

    topology_config config_;
    std::vector<node_info> nodes_;
    std::atomic<std::size_t> count_{0};
    std::vector<ring_entry> ring_;
    std::unique_ptr<std::atomic<bool>[]> up_;
    std::uint64_t rng_ = 0;   // token and host id generator state
    std::set<token> used_;    // every token handed out
};

}  // namespace cqlpp::sim
