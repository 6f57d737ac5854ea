// The token ring and replica placement, sans-I/O. Built from the hosts'
// tokens (system.local/system.peers) and the keyspaces' replication maps
// (system_schema.keyspaces); replicas are precomputed per keyspace per vnode
// range, so routing a request is one binary search and a slice of a vector.
#pragma once

#include "cqlpp/driver/host.hpp"
#include "cqlpp/protocol/bytes.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cqlpp::driver {

// A keyspace's replication, parsed from its `replication` map.
struct replication_strategy {
    enum class kind {
        simple,            // SimpleStrategy
        network_topology,  // NetworkTopologyStrategy
        local,             // LocalStrategy: data lives on every node for itself; no routing
        everywhere,        // EverywhereStrategy: every node is a replica
        unknown,           // a custom class: no token-aware routing
    };
    kind strategy = kind::simple;
    int replication_factor = 1;  // SimpleStrategy; NTS: default for DCs not listed (0 = none)
    std::map<std::string, int, std::less<>> dc_factors;  // NetworkTopologyStrategy
    std::string class_name;  // as given, for diagnostics

    bool operator==(const replication_strategy&) const = default;

    // {'class': 'SimpleStrategy', 'replication_factor': '3'},
    // {'class': 'org.apache.cassandra.locator.NetworkTopologyStrategy', 'dc1': '3', 'dc2': '2/1'}.
    // Class names may be short or fully qualified; factors may carry a
    // transient part ("3/1": 3 replicas in all, of which 1 transient). Returns
    // nullopt when 'class' is missing or a factor is not a non-negative
    // integer; an unrecognised class parses as kind::unknown.
    static std::optional<replication_strategy> parse(std::span<const std::pair<std::string_view, std::string_view>> options);
    static std::optional<replication_strategy> parse(const std::map<std::string, std::string>& options);
};

// The token of a serialized routing key (see protocol::composite_key for
// multi-column keys): Murmur3Partitioner's token; the empty key is min_token.
token token_of(protocol::bytes_view routing_key) noexcept;

class token_map {
public:
    struct ring_entry {
        token t;
        const host* owner;
    };
    struct datacenter {
        std::string name;
        std::vector<const host*> hosts;  // every host of the DC, ring members or not, in input order
        std::size_t ring_hosts = 0;      // hosts owning at least one token
        std::size_t racks = 0;           // distinct racks among ring hosts
    };

    token_map() = default;
    // Hosts with no tokens (joining, or not yet read) stay known for load
    // balancing but own no ranges. A token claimed twice keeps the first owner.
    explicit token_map(std::vector<std::shared_ptr<host>> hosts);

    // Precomputes the keyspace's replicas (replacing earlier ones). Keyspaces
    // with equal replication share one table. Not thread-safe: mutate a copy,
    // then publish it (copies share the tables, so copying is cheap).
    void set_keyspace(std::string name, const replication_strategy& replication);
    void drop_keyspace(std::string_view name);
    bool has_keyspace(std::string_view name) const noexcept;

    // Replicas of the range containing `t` (walk clockwise from the first ring
    // token >= t, wrapping), primary first. Empty for unknown keyspaces,
    // LocalStrategy, unknown classes or an empty ring. No allocation.
    std::span<const host* const> replicas(std::string_view keyspace, token t) const noexcept;
    std::span<const host* const> replicas_for_key(std::string_view keyspace, protocol::bytes_view routing_key) const noexcept {
        return replicas(keyspace, token_of(routing_key));
    }

    // Index into ring() of the first entry with token >= t, wrapping to 0.
    std::size_t ring_position(token t) const noexcept;
    std::span<const ring_entry> ring() const noexcept { return ring_; }
    const host* primary(token t) const noexcept { return ring_.empty() ? nullptr : ring_[ring_position(t)].owner; }

    std::span<const std::shared_ptr<host>> hosts() const noexcept { return hosts_; }
    std::span<const datacenter> datacenters() const noexcept { return dcs_; }
    const datacenter* find_datacenter(std::string_view name) const noexcept;

private:
    struct replica_table {
        std::vector<const host*> flat;
        std::vector<std::uint32_t> offsets;  // ring_.size() + 1 entries
    };
    struct string_hash {
        using is_transparent = void;
        // FNV-1a, inline: looked up once per routed request, and keyspace
        // names are short (at most 48 characters in Cassandra), where this
        // costs a fraction of std::hash's out-of-line MurmurHash.
        // Deliberately not noexcept: libstdc++ then keeps each key's hash in
        // its node, so a lookup does not rehash the neighbouring keys it walks
        // past to find the end of a bucket.
        std::size_t operator()(std::string_view s) const {
            std::uint64_t h = 14695981039346656037ull;
            for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
            return static_cast<std::size_t>(h);
        }
    };

    std::shared_ptr<const replica_table> compute(const replication_strategy& r) const;
    void replicas_simple(std::size_t start, std::size_t rf, std::vector<const host*>& out) const;
    void replicas_nts(std::size_t start, const replication_strategy& r, std::vector<const host*>& out) const;

    std::vector<std::shared_ptr<host>> hosts_;
    std::vector<ring_entry> ring_;
    std::vector<token> ring_tokens_;  // ring_[i].t, dense for the binary search
    std::vector<datacenter> dcs_;
    std::unordered_map<std::string, std::shared_ptr<const replica_table>, string_hash, std::equal_to<>> keyspaces_;
    std::vector<std::pair<replication_strategy, std::shared_ptr<const replica_table>>> tables_;
};

}  // namespace cqlpp::driver
