// The simulated cluster's database engine: schema, in-memory storage and
// statement execution, shared by every node. Sans-I/O: the network layer
// (cluster.hpp) decodes envelopes and hands QUERY / PREPARE / EXECUTE / BATCH
// requests here; the engine writes the response body (RESULT or ERROR).
//
// Thread-safety: execute() may be called from several threads; the engine
// serialises access internally (one shared mutex: reads in parallel).
#pragma once

#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/common.hpp"
#include "cqlpp/protocol/messages.hpp"
#include "cqlpp/protocol/value.hpp"
#include "cqlpp/sim/priming.hpp"
#include "cqlpp/sim/topology.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cqlpp::sim {

// Per-connection state the engine reads and updates (USE changes keyspace).
struct session_state {
    protocol::protocol_version version = protocol::protocol_version::v5;
    std::string keyspace;
    std::optional<protocol::inet_address> client_address;  // for system_traces.sessions.client
};

// A schema change to push as an EVENT to registered connections.
struct schema_event {
    protocol::schema_change change;
};

// What the network layer needs to know about an executed request.
struct execution_info {
    // Input: the request carried the tracing flag (0x02). The engine then
    // records a trace session (system_traces.*) and sets tracing_id.
    bool trace = false;
    std::optional<protocol::uuid_bytes> tracing_id;
    // Set when the request touched exactly one partition of a user table
    // (single-partition read or write): its token, and whether the
    // coordinator is one of that partition's replicas (token-aware routing
    // shows up as `true`; a non-replica pays the configured extra hop delay).
    std::optional<token> routing_token;
    bool coordinator_is_replica = true;
    std::vector<schema_event> events;
    // Warnings for the response's warning list (Cassandra's wording).
    std::vector<std::string> warnings;
};

// Hooks into the network layer for the virtual `sim` keyspace (fault
// injection and counters through CQL). Implemented by the cluster.
class control_plane {
public:
    virtual ~control_plane() = default;

    // Rows of sim.nodes: one per node. Columns (in this order):
    // node int (pk), address text, port int, datacenter text, rack text,
    // state text ('up' | 'down' | 'paused'), latency_ms int, fail_next int,
    // fail_error text, close_mid_response int, corrupt_crc int, echo_payload boolean.
    struct node_row {
        int node = 0;
        std::string address;
        int port = 0;
        std::string datacenter, rack, state;
        int latency_ms = 0, fail_next = 0;
        std::string fail_error;
        int close_mid_response = 0, corrupt_crc = 0;
        bool echo_payload = false;
    };
    virtual std::vector<node_row> nodes() = 0;
    // UPDATE sim.nodes SET <column> = <value> WHERE node = N. Returns an
    // error message, or "" on success. Values arrive already typed.
    virtual std::string update_node(int node, const std::string& column, const protocol::cql_value& value) = 0;

    // Rows of sim.counters: (node int, name text, value bigint), PRIMARY KEY (node, name).
    struct counter_row {
        int node = 0;
        std::string name;
        std::int64_t value = 0;
    };
    virtual std::vector<counter_row> counters() = 0;

    // Topology at run time. The engine has already placed the node in the
    // ring (or taken it out); the network layer opens its listener and sends
    // TOPOLOGY_CHANGE NEW_NODE (closes it, REMOVED_NODE). node_added returns
    // an error message ("" on success), and the engine then takes the node out again.
    virtual std::string node_added(int node) {
        (void)node;
        return "Adding nodes needs a cluster";
    }
    virtual void node_removed(int node) { (void)node; }

    // sim.primes, sim.activity and sim.settings (priming.hpp). add_prime and
    // set_activity_log return an error message, or "" on success.
    virtual std::string add_prime(const prime_spec& spec, std::uint64_t& id) {
        (void)spec;
        (void)id;
        return "Priming needs a cluster";
    }
    virtual std::vector<prime_info> primes() { return {}; }
    virtual void remove_prime(std::uint64_t id) { (void)id; }
    virtual void clear_primes() {}
    virtual std::vector<activity_entry> activity(int node) {
        (void)node;
        return {};
    }
    virtual void clear_activity() {}
    virtual std::string set_activity_log(std::int64_t capacity) {
        (void)capacity;
        return "The activity log needs a cluster";
    }
    virtual std::size_t activity_log_capacity() { return 0; }

    // Rows of system_views.clients on `node`: its open client connections.
    struct client_row {
        protocol::inet_address address;
        int port = 0;
        std::string hostname;
        std::string username;  // "anonymous" without authentication; empty before it
        std::string connection_stage;  // "established" | "authenticating" | "ready"
        int protocol_version = 0;
        std::map<std::string, std::string> client_options;  // the STARTUP options
        std::string driver_name, driver_version, keyspace;  // empty: null
        std::int64_t request_count = 0;
        bool ssl_enabled = false;
        std::string ssl_protocol, ssl_cipher_suite;  // empty: null
    };
    virtual std::vector<client_row> clients(int node) {
        (void)node;
        return {};
    }
};

struct engine_config {
    // Paging: page size used when a request asks for none (<= 0) — Cassandra
    // then returns everything; we cap at this many rows to keep memory sane.
    int max_unpaged_rows = 1'000'000;
};

class engine {
public:
    engine(const topology& topo, engine_config cfg = {});
    // With a mutable topology, nodes can be added and removed at run time.
    engine(topology& topo, engine_config cfg = {});
    ~engine();
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    void set_control_plane(control_plane* cp) noexcept;

    // Executes a QUERY, PREPARE, EXECUTE or BATCH request coordinated by node
    // `coordinator` and appends the response body to `body`. Returns the
    // response opcode (RESULT or ERROR). Never throws on bad input: errors are
    // ERROR bodies with Cassandra's codes and messages.
    protocol::opcode execute(int coordinator, session_state& session, const protocol::request& req,
                             protocol::byte_writer& body, execution_info& info);

    // Node `n` restarted: it forgets the statements prepared on it (so the
    // driver's re-prepare on UNPREPARED can be exercised).
    void forget_prepared(int node);

    // Topology at run time (an engine built on a mutable topology, with a
    // control plane): a new node joins the ring with fresh vnode tokens, or a
    // node is decommissioned and its ranges move to the remaining nodes. Data
    // stays where it is (one copy serves every replica), so every row stays
    // readable. add_node returns the id or -1 (then `error` says why);
    // remove_node returns "" or an error message.
    int add_node(const std::string& datacenter, const std::string& rack, std::string& error);
    std::string remove_node(int node);
    // A bind marker: the name a request's named values use (lower case, as
    // Cassandra matches them) and its type.
    struct bind_variable {
        std::string name;
        protocol::cql_type type;
    };
    // A statement prepared on any node, by id (for the activity log and
    // priming): its text, keyspace and bind markers.
    struct prepared_statement_info {
        std::string query;
        std::string keyspace;
        std::vector<bind_variable> binds;
    };
    std::optional<prepared_statement_info> describe_prepared(protocol::bytes_view id) const;
    // The bind markers of a QUERY's text in `keyspace`, as a PREPARE of it
    // would give them (for the activity log); nullopt when the engine cannot
    // plan it (a syntax error, an unknown table). The plan is cached as a
    // QUERY's, so the execution that follows does not plan again.
    std::optional<std::vector<bind_variable>> describe_query(std::string_view query, const std::string& keyspace);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace cqlpp::sim
