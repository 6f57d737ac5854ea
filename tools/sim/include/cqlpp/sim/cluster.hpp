// The simulated cluster: N nodes, each a CQL v5/v4 server on its own
// loopback address (127.0.0.1, 127.0.0.2, ...; or one address with a port per
// node), sharing one in-memory engine. Faults can be injected per node from
// C++ (below) or from any CQL client through the virtual `sim` keyspace:
//
//   SELECT * FROM sim.nodes;                     -- state and fault settings
//   UPDATE sim.nodes SET state = 'down' WHERE node = 1;   -- 'up' | 'down' | 'paused'
//   UPDATE sim.nodes SET latency_ms = 50 WHERE node = 0;
//   UPDATE sim.nodes SET fail_next = 3, fail_error = 'OVERLOADED' WHERE node = 2;
//   UPDATE sim.nodes SET close_mid_response = 1 WHERE node = 0;
//   UPDATE sim.nodes SET corrupt_crc = 1 WHERE node = 0;
//   UPDATE sim.nodes SET echo_payload = true WHERE node = 0;  -- custom payloads come back
//   SELECT * FROM sim.counters WHERE node = 0;  -- requests by opcode, bytes, ...
//   INSERT INTO sim.nodes (node) VALUES (3);     -- a new node joins (the next id;
//                                                -- datacenter, rack optional)
//   DELETE FROM sim.nodes WHERE node = 1;        -- decommission node 1
//   INSERT INTO sim.primes (query, columns, rows) VALUES (...);  -- priming (prime_spec's fields)
//   SELECT * FROM sim.activity WHERE node = 0;   -- the activity log
//   UPDATE sim.settings SET value = 100 WHERE name = 'activity_log';
//
// Ports: with topology.port = 0 (or base_port mode's ports taken as they
// come, see topology_config) every node binds a free port; endpoint() and
// contact_points() report the real ones after start()/listen(), and so do
// system.local, system.peers_v2 and sim.nodes.
//
// Priming and the activity log (priming.hpp): canned answers per query and
// node, and a per-node log of the requests received (off by default).
//
// Tracing: QUERY / PREPARE / EXECUTE / BATCH with the tracing flag (0x02) get
// a tracing id (a timeuuid) before the body; system_traces.sessions and
// system_traces.events then hold the trace (the last 10,000 kept), with
// coordinator and replica events as Cassandra 5.0 words them.
//
// Threading: the cluster runs its own io_context on `threads` background
// threads (start()), or on the caller's thread (run()).
#pragma once

#include "cqlpp/protocol/error_response.hpp"
#include "cqlpp/sim/engine.hpp"
#include "cqlpp/sim/priming.hpp"
#include "cqlpp/sim/topology.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cqlpp::sim {

struct tls_config {
    std::string cert_file;  // PEM certificate chain
    std::string key_file;   // PEM private key
};

struct cluster_config {
    topology_config topology;
    bool v4_only = false;    // refuse v5 like a Cassandra 3.x node, so drivers downgrade
    bool allow_lz4 = true;   // offer COMPRESSION lz4 in SUPPORTED
    // PasswordAuthenticator with these users (name -> password); empty: no auth.
    std::map<std::string, std::string> users;
    std::optional<tls_config> tls;
    // Extra delay for a single-partition request coordinated by a non-replica.
    std::chrono::microseconds non_replica_delay{0};
    int threads = 1;
    // A stopped node's DOWN event goes out this long after its connections
    // close, as Cassandra's gossip detects a failure after the sockets drop
    // (drivers ignore DOWN for a host they still hold an open connection to).
    std::chrono::milliseconds down_event_delay{300};
    engine_config engine;
    // Requests each node keeps in its activity log; 0: off (set_activity_log()).
    std::size_t activity_log_capacity = 0;
};

struct node_endpoint {
    std::string address;  // "127.0.0.2"
    std::uint16_t port = 0;
    std::string to_string() const { return address + ":" + std::to_string(port); }
};

// Faults the network layer can inject, per node.
enum class fault_error : std::uint8_t {
    overloaded,
    unavailable,
    read_timeout,
    write_timeout,
    server_error,
    is_bootstrapping,
};
std::optional<fault_error> parse_fault_error(std::string_view s) noexcept;  // "OVERLOADED", case-insensitive
std::string_view to_string(fault_error e) noexcept;

enum class node_state : std::uint8_t { up, down, paused };

// Snapshot of a node's counters.
struct node_counters {
    std::uint64_t requests = 0;  // every request envelope received
    std::uint64_t requests_by_opcode[17] = {};
    std::uint64_t non_replica_requests = 0;  // single-partition requests coordinated by a non-replica
    std::uint64_t replica_requests = 0;      // ... coordinated by a replica
    std::uint64_t connections_open = 0;
    std::uint64_t connections_total = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::uint64_t errors_injected = 0;
    std::uint64_t primed_responses = 0;  // requests a prime answered (or closed, or left unanswered)
    std::uint64_t requests_of(protocol::opcode op) const noexcept { return requests_by_opcode[static_cast<int>(op)]; }
};

class cluster {
public:
    explicit cluster(cluster_config cfg);
    ~cluster();
    cluster(const cluster&) = delete;
    cluster& operator=(const cluster&) = delete;

    // Binds every node and serves on background threads. Throws
    // std::system_error when an address cannot be bound.
    void start();
    // Binds and serves on the calling thread until stop() (or SIGINT/SIGTERM
    // when handle_signals is true).
    void run(bool handle_signals = false);
    // Opens every node's listener now (throws std::system_error when a port
    // is taken), so a caller can fail before announcing it serves; run() reuses them.
    void listen();
    // Closes every listener and connection and joins the threads.
    void stop();

    const cluster_config& config() const noexcept;
    const topology& topo() const noexcept;
    engine& db() noexcept;
    // "127.0.0.1:9042", ... one per node.
    std::vector<std::string> contact_points() const;
    // Where node `node` listens (the real port once bound, when port 0 was asked).
    node_endpoint endpoint(int node) const;

    // ---- faults (thread-safe; take effect for the next request) ----
    void stop_node(int node);   // close listener and connections, STATUS_CHANGE DOWN to others' listeners
    void start_node(int node);  // listen again, STATUS_CHANGE UP
    void pause_node(int node, bool paused);  // like a stopped process: accept, answer nothing until resumed
    node_state state(int node) const;
    void set_latency(int node, std::chrono::milliseconds latency);
    void fail_next(int node, int count, fault_error error);
    void close_mid_response(int node, int count);  // the next N responses are cut and the connection closed
    void corrupt_crc(int node, int count);         // the next N response flushes get a bad CRC32 (v5 only)
    // Answer QUERY/PREPARE/EXECUTE/BATCH with the request's custom payload
    // (flag 0x04). Cassandra's default handler ignores payloads; this lets
    // clients test their payload path.
    void echo_payload(int node, bool on);

    // ---- topology at run time (thread-safe) ----
    // A new node joins: it gets the next id, fresh vnode tokens, its
    // listener (when the cluster serves) and every connection registered for
    // TOPOLOGY_CHANGE gets NEW_NODE. An empty datacenter means node 0's.
    // Throws std::runtime_error when it cannot (no ids left, address taken).
    int add_node(const std::string& datacenter = {}, const std::string& rack = {});
    // Decommission: the node leaves the ring (its ranges move to the others;
    // every row stays readable), REMOVED_NODE goes out, its listener and
    // connections close. Its id is never reused. Throws std::runtime_error
    // for a node not in the ring, or the last one.
    void remove_node(int node);
    bool is_removed(int node) const;

    // ---- priming (priming.hpp; thread-safe, for the next request) ----
    // Adds a rule; returns its id. Throws std::invalid_argument, saying what is
    // wrong, for a malformed rule (bad regex, type, literal, row width, node...).
    std::uint64_t prime(prime_rule rule);
    void clear_primes();
    std::size_t prime_count() const;  // rules left (one-shot rules go once used)
    std::vector<prime_info> primes() const;  // the rules left, oldest first
    bool remove_prime(std::uint64_t id);     // false: no such rule (used up, cleared)
    // Rules as JSON: one object or an array of objects with prime_spec's
    // fields ({"query": "...", "then": "rows", "columns": ["id int"], "rows":
    // [["1"]]}), the format of `cqlpp sim --prime`. All or none are added;
    // throws std::invalid_argument naming the rule and field.
    std::vector<std::uint64_t> prime_json(std::string_view json);

    // ---- activity log ----
    // Keep the last `capacity` QUERY/PREPARE/EXECUTE/BATCH requests per node; 0: off.
    void set_activity_log(std::size_t capacity);
    std::vector<activity_entry> activity(int node) const;  // oldest first
    void clear_activity();
    std::size_t activity_log_capacity() const;

    node_counters counters(int node) const;
    // CPU time used so far by the cluster's I/O threads (start() only), so
    // benchmarks can report server cost apart from the client's.
    double io_cpu_seconds() const;

    struct impl;  // implementation detail (cluster.cpp)

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace cqlpp::sim
