// The session: connect to a cluster and run statements with co_await.
//
//   asio::io_context io;
//   asio::co_spawn(io, [&]() -> asio::awaitable<void> {
//       cqlpp::driver::session_config cfg;
//       cfg.contact_points = {"127.0.0.1:9042"};
//       auto [ec, s, diag] = co_await cqlpp::driver::session::connect(io.get_executor(), cfg);
//       auto ps = (co_await s->prepare("SELECT v FROM ks.t WHERE k = ?")).value_or_throw();
//       auto r = co_await s->execute(ps.bind(42));
//       if (r.ok() && r.row_count()) std::cout << r.first_row().get<std::string>("v");
//       co_await s->close();
//   }, asio::detached);
//   io.run();
//
// Threading model. A session's own work (control connection, pools, request
// state machines) runs on ONE executor, the one given to connect(): an
// io_context run by one thread, or a strand; nothing in it locks. Every public
// member is safe to call from any thread, and one session is meant to be
// shared by the whole application: co_await execute()/prepare()/close() from
// coroutines on any executor (a request from another thread is handed to the
// session's executor with one post, and its answer comes back on the caller's
// executor; cancellation works the same from there), read metrics(),
// metadata(), is_closed() anywhere, and drop the last handle on any thread
// (the shutdown then runs on the session's executor). From non-coroutine code
// use the *_future / *_async forms. A caller already on the session's
// executor pays no hop at all. To use several cores, give the session
// several I/O threads: session_config::io_threads = N (the session starts and
// owns N threads, each running its own io_context), or connect() with one
// executor per I/O thread of the application's. The session keeps a shard
// (pools of connections) per thread and one view of the cluster for all: one
// control connection, one metadata snapshot and token map, one up/down state
// per host, one prepared-statement cache. A request issued on one of those
// threads stays there (no hop); requests from elsewhere are spread over the
// shards without a lock.
//
// Nothing blocks: connecting, metadata refresh, reconnection, paging and
// prepared-statement handling are all asynchronous.
#pragma once

#include "cqlpp/driver/error.hpp"
#include "cqlpp/driver/load_balancing.hpp"
#include "cqlpp/driver/outcome.hpp"
#include "cqlpp/driver/result.hpp"
#include "cqlpp/driver/retry.hpp"
#include "cqlpp/driver/statement.hpp"
#include "cqlpp/driver/token_map.hpp"
#include "cqlpp/transport/config.hpp"
#include "cqlpp/transport/metrics.hpp"

#include "cqlpp/driver/detail/result_handler.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/co_spawn.hpp>
#include <asio/dispatch.hpp>
#include <asio/awaitable.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace cqlpp::driver {

// A named set of request options (session_config::execution_profiles) that a
// statement picks with set_execution_profile("name"). For each option, the
// statement's own setting wins, then the profile's, then the session's default.
// The name is looked up once per request, not per attempt. Members have
// default initializers so designated initializers may omit any.
struct execution_profile {
    std::optional<protocol::consistency> consistency{};
    std::optional<protocol::consistency> serial_consistency{};
    std::optional<std::chrono::milliseconds> request_timeout{};
    std::optional<bool> idempotent{};
    std::optional<speculative_execution_config> speculative{};
    std::optional<std::int32_t> page_size{};
    // Never leave the local datacenter (request_info::local_dc_only), even when
    // the load-balancing policy may use remote DCs (used_hosts_per_remote_dc).
    bool local_dc_only = false;
};

// Client-side request throttling, off by default (both limits 0). A request
// that may not start yet waits in a FIFO queue; its wait counts toward its
// deadline (it fails with errc::request_timeout if the deadline passes while
// queued), cancelling it or closing the session takes it out, and when
// max_queue_size requests already wait it fails at once with
// errc::request_throttled. Every request the application runs passes (statements,
// batches, page fetches, session::prepare); the driver's own traffic (metadata,
// PREPARE on the other hosts, re-prepares) does not. The limits combine, and
// hold for the session as a whole when it has several shards (each shard
// queues its own requests; a slot another shard frees is seen within 1 ms).
struct throttle_config {
    // Requests running at once (from their first send to their answer, retries
    // and speculative executions included); 0: no limit.
    std::size_t max_in_flight = 0;
    // Requests started per second, spaced evenly; 0: no limit.
    double max_per_second = 0;
    // Under max_per_second: how many may start back to back after an idle spell.
    std::size_t rate_burst = 1;
    std::size_t max_queue_size = 10000;
    bool enabled() const noexcept { return max_in_flight > 0 || max_per_second > 0; }
};

// A per-request hook for tracing and logging systems (the Java driver's
// RequestTracker): session_config::tracker. Called on the session's
// executor, inline on the request path: keep each call short and never
// block. Every application request (statements, batches, pages, prepare())
// gets one on_start, one on_attempt per attempt that reached a host or failed
// to (retries and speculative executions included), and one on_end, on every
// way out (answer, error, deadline, cancellation, throttle refusal). A
// request refused before it starts (a binding error, an unknown profile) is
// not tracked: it never left the caller.
struct request_started {
    std::uint64_t id;             // unique within the session
    std::string_view query;       // CQL text ("BATCH of N statements" for a batch)
    std::string_view keyspace;    // routing keyspace, may be empty
    protocol::consistency consistency;
    bool idempotent;
};
struct request_attempted {
    std::uint64_t id;
    std::string_view host;        // "127.0.0.1:9042"
    std::error_code error;        // empty: the host answered (the answer may still be retried)
    std::chrono::nanoseconds latency;  // since this attempt was sent (0 when it never was)
};
struct request_ended {
    std::uint64_t id;
    std::error_code error;        // empty on success
    std::chrono::nanoseconds latency;  // since execute()
    int attempts;
    std::string_view coordinator; // the host that answered (empty on failure)
};
class request_tracker {
public:
    virtual ~request_tracker() = default;
    virtual void on_start(const request_started&) {}
    virtual void on_attempt(const request_attempted&) {}
    virtual void on_end(const request_ended&) {}
};

// Every knob has a sensible default; only contact_points usually changes.
struct session_config {
    // "host" or "host:port" ("[::1]:9042" for IPv6); the others are found
    // through system.peers. Any one reachable contact point is enough.
    std::vector<std::string> contact_points{"127.0.0.1"};
    std::uint16_t default_port = 9042;
    // Version (v5, falling back to v4), LZ4, credentials, TLS, connect and
    // heartbeat timeouts. host/port are ignored (set per host).
    transport::connection_config connection{};
    std::size_t connections_per_host = 1;         // local-DC hosts
    std::size_t connections_per_remote_host = 1;  // remote-DC hosts the policy may use
    transport::reconnect_policy reconnect{};

    // USE this keyspace on every connection (empty: none).
    std::string keyspace{};
    protocol::consistency consistency = protocol::consistency::local_one;
    protocol::consistency serial_consistency = protocol::consistency::local_serial;
    std::int32_t page_size = 5000;
    // Deadline of a request, every retry and speculative execution included.
    std::chrono::milliseconds request_timeout{12000};
    bool default_idempotent = false;
    // Client-side timestamps (monotonic microseconds) on every write.
    bool client_timestamps = true;

    // Null: default_policy with `load_balancing_config` (token-, DC-, rack-aware,
    // least busy replica first).
    std::shared_ptr<load_balancing_policy> load_balancing{};
    default_policy_config load_balancing_config{};
    // Null: default_retry_policy.
    std::shared_ptr<retry_policy> retry{};
    speculative_execution_config speculative{};

    std::size_t prepared_cache_size = 4096;
    bool prepare_on_all_hosts = true;
    bool reprepare_on_up = true;

    // Topology/schema refresh after an event waits this long for more events.
    std::chrono::milliseconds refresh_debounce{200};
    // Read system_schema tables and columns (needed for metadata().table()).
    bool fetch_schema = true;
    // close(): how long in-flight requests may take to finish.
    std::chrono::milliseconds drain_timeout{5000};

    // I/O threads the session starts and owns; 0: none, the session runs on
    // the executor(s) given to connect(). With N > 0 it starts N threads, each
    // running an io_context with one shard on it (connect()'s executors then
    // only resume the caller; connect_future() needs none). They run until
    // the session's last handle goes, then end once idle (in-flight work
    // stopped, at most 2 s) and are joined there; when that handle is dropped
    // on one of them, a background thread joins them. Nothing of the session
    // (a page_stream) may be used after that.
    std::size_t io_threads = 0;

    // Profiles statements may name (statement_options::execution_profile).
    std::map<std::string, execution_profile, std::less<>> execution_profiles{};
    throttle_config throttle{};
    // Null: none (a request then pays one pointer test per step).
    std::shared_ptr<request_tracker> tracker{};
};

struct column_metadata {
    std::string name;
    protocol::cql_type type;
    enum class kind { partition_key, clustering, regular, static_ } kind = kind::regular;
    int position = -1;
};

struct table_metadata {
    std::string keyspace;
    std::string name;
    std::vector<column_metadata> columns;  // partition key, clustering, then the others by name
    std::vector<std::size_t> partition_key;  // indexes into columns, by position
    std::vector<std::size_t> clustering;
    const column_metadata* find(std::string_view column) const noexcept;
};

struct keyspace_metadata {
    std::string name;
    replication_strategy replication;
    std::map<std::string, table_metadata, std::less<>> tables;
};

// An immutable snapshot of what the driver knows of the cluster. A refresh
// publishes a new one; requests hold the snapshot they started with.
struct cluster_metadata {
    std::string cluster_name;
    std::string partitioner;
    token_map tokens;
    std::map<std::string, keyspace_metadata, std::less<>> keyspaces;

    const keyspace_metadata* keyspace(std::string_view name) const noexcept;
    const table_metadata* table(std::string_view ks, std::string_view table) const noexcept;
    const host* find_host(const protocol::uuid_bytes& id) const noexcept;
};

// HDR-style latency histogram: log-linear buckets (1/16 of a power of two, so
// percentiles are within ~6%), fixed size, no allocation when recording.
namespace detail {
class live_histogram;
}

class latency_histogram {
public:
    void record(std::chrono::nanoseconds d) noexcept;
    std::uint64_t count() const noexcept { return count_; }
    // q in [0, 1]; 0 when empty.
    std::chrono::nanoseconds percentile(double q) const noexcept;
    std::chrono::nanoseconds max() const noexcept { return std::chrono::nanoseconds(max_); }
    // The sum of every recorded value (Prometheus summaries' _sum).
    std::chrono::nanoseconds sum() const noexcept { return std::chrono::nanoseconds(sum_); }
    void merge(const latency_histogram& o) noexcept;
    void reset() noexcept { *this = latency_histogram(); }

private:
    friend class detail::live_histogram;  // the session's thread-safe twin
    static constexpr int sub_bits = 4;
    static constexpr int buckets = 64 << sub_bits;
    static int index_of(std::uint64_t v) noexcept;
    static std::uint64_t value_of(int index) noexcept;
    std::array<std::uint64_t, buckets> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t max_ = 0;
    std::uint64_t sum_ = 0;
};

// Per node, in the Java driver's vocabulary (errors.request.*, retries,
// speculative-executions, pool.*, available-streams, ...).
struct node_error_counts {
    std::uint64_t unsent = 0;          // no connection could take it, or the write failed
    std::uint64_t aborted = 0;         // the connection closed or failed with it in flight
    std::uint64_t read_timeouts = 0;   // READ_TIMEOUT
    std::uint64_t write_timeouts = 0;  // WRITE_TIMEOUT
    std::uint64_t unavailables = 0;    // UNAVAILABLE
    std::uint64_t others = 0;          // any other server error
    std::uint64_t client_timeouts = 0; // the request's deadline passed while this node had it
};

struct host_metrics {
    std::string endpoint;
    std::string datacenter;
    bool up = false;
    transport::pool_metrics pool;      // open connections, in flight, orphaned, bytes, ...
    std::uint64_t available_streams = 0;  // stream ids free on its open connections
    node_error_counts errors;
    std::uint64_t retries = 0;         // attempts retried after this node's answer
    std::uint64_t speculative_executions = 0;  // speculative attempts sent to it
};

// session_config::throttle at work (all zero when it is off).
struct throttle_metrics {
    std::size_t queue_depth = 0;  // requests waiting now
    std::size_t in_flight = 0;    // requests let through and not answered yet
    std::uint64_t queued = 0;     // requests that had to wait
    std::uint64_t rejected = 0;   // requests refused because the queue was full
    std::uint64_t expired = 0;    // requests whose deadline passed while they waited
    std::chrono::nanoseconds total_delay{0};  // time spent waiting, summed over every request that waited
};

struct session_metrics {
    std::uint64_t requests = 0;   // logical requests completed (those the throttle refused or failed included)
    std::uint64_t errors = 0;     // ... that failed
    std::uint64_t retries = 0;
    std::uint64_t speculative_executions = 0;
    std::uint64_t timeouts = 0;   // request_timeout
    std::uint64_t reprepares = 0; // UNPREPARED answered by preparing again
    std::uint64_t control_reconnects = 0;
    std::uint64_t topology_refreshes = 0;
    std::uint64_t schema_refreshes = 0;
    // Successful requests, execute() to answer (a wait in the throttle's queue included).
    latency_histogram latency;
    throttle_metrics throttle;
    std::vector<host_metrics> hosts;
    // Summed over hosts / read from the session's state (Java: connected-nodes,
    // bytes-sent, bytes-received, cql-prepared-cache-size).
    std::size_t connected_nodes = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    std::size_t prepared_cache_size = 0;
};

// The metrics in Prometheus's text exposition format (version 0.0.4), every
// name prefixed with `prefix` + "_": session counters and gauges, request
// latency as a summary (quantiles 0.5 ... 0.999, _sum, _count), and per-node
// series labelled node="host:port", dc="...". Serve it from any HTTP endpoint.
std::string to_prometheus(const session_metrics& m, std::string_view prefix = "cqlpp");

class session;
// connect(): the session handle on success; `auto [ec, s, diag] = co_await connect(...)`.
using connect_result = outcome<std::shared_ptr<session>>;

class page_stream;

namespace detail {
struct session_impl;
struct io_thread_set;
struct session_internals;
}

class session : public std::enable_shared_from_this<session> {
public:
    using executor_type = asio::any_io_executor;

    // Connects to the first contact point that answers, reads the cluster's
    // topology and schema, opens the pools and registers for events. Returns
    // once every local pool has its first connection or its first failure (a
    // host that refuses connections does not hold it up; one that does not
    // answer does, up to connect_timeout). When no pool opens because the
    // server refused the handshake (e.g. USE of a keyspace that does not
    // exist), the error is the server's: its code, message and server_error.
    // The session runs on `ex` (or, with cfg.io_threads > 0, on threads of
    // its own).
    //
    // For any Asio completion token, signature void(connect_result):
    // asio::use_awaitable, asio::use_future (from any thread), a callback,
    // asio::experimental::deferred (nothing starts before it is launched),
    // as_tuple(...), and bind_cancellation_slot(...): a cancellation (any
    // type) stops the connect where it stands, at once, and completes it with
    // asio::error::operation_aborted (== condition::cancelled); nothing of it
    // is left (connections, timers, the io_threads it started). One that
    // comes after the session is ready is too late and changes nothing. A
    // handler without an executor of its own is called on the first shard's
    // executor.
    //   session::async_connect(io.get_executor(), cfg, [](cqlpp::driver::connect_result r) { ... });
    template <class CompletionToken>
    static auto async_connect(executor_type ex, session_config cfg, CompletionToken&& token) {
        std::vector<executor_type> executors;
        executors.push_back(std::move(ex));
        return async_connect(std::move(executors), std::move(cfg), std::forward<CompletionToken>(token));
    }
    // One session over several I/O threads: one shard per executor (give each
    // an io_context run by its own thread). Each shard has its own pools; the
    // first shard's control connection serves all (topology, schema, events),
    // the others adopt each metadata snapshot it publishes, on their own
    // executors. cfg applies to the session as a whole (throttle limits
    // too); a statement prepared through any shard works on every
    // shard. A request issued on one of these executors stays on its shard,
    // with no hop; from anywhere else the shards take turns. metrics() adds
    // the shards up. With cfg.io_threads > 0 the session runs on threads of
    // its own, and the first executor only runs the connecting (a handler
    // without an executor is called there). With no executor at all, the
    // form below.
    template <class CompletionToken>
    static auto async_connect(std::vector<executor_type> executors, session_config cfg, CompletionToken&& token) {
        return asio::async_initiate<CompletionToken, void(connect_result)>(
            [](auto handler, std::vector<executor_type> exs, session_config c) {
                auto runner = connect_executor(exs);
                detail::completion<connect_result> h(std::move(handler), runner);
                start_connect(std::move(runner), std::move(exs), std::move(c), std::move(h));
            },
            token, std::move(executors), std::move(cfg));
    }
    // For code without an executor: the session on cfg.io_threads threads of
    // its own (at least one). The connecting runs on a short-lived thread of
    // its own, where a handler without an executor is called (the thread
    // ends right after).
    //   cfg.io_threads = 4;
    //   auto s = cqlpp::driver::session::async_connect(cfg, asio::use_future).get().value();
    template <class CompletionToken>
    static auto async_connect(session_config cfg, CompletionToken&& token) {
        return async_connect(std::vector<executor_type>{}, std::move(cfg), std::forward<CompletionToken>(token));
    }
    // The same as coroutines: async_connect(..., asio::use_awaitable), so
    // cancelling the awaiting coroutine cancels the connect.
    //   auto [ec, s, diag] = co_await cqlpp::driver::session::connect(ex, cfg);
    static asio::awaitable<connect_result> connect(executor_type ex, session_config cfg);
    static asio::awaitable<connect_result> connect(std::vector<executor_type> executors, session_config cfg);
    // async_connect(cfg, asio::use_future).
    static std::future<connect_result> connect_future(session_config cfg);

    ~session();
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    asio::awaitable<result> execute(const statement& s);
    asio::awaitable<result> execute(const bound_statement& s);
    asio::awaitable<result> execute(const batch& b);
    asio::awaitable<result> execute(std::string_view cql);

    // Prepares on one host, then (prepare_on_all_hosts) on every other host with
    // an open connection, in parallel, before returning: within request_timeout
    // in all; a host that fails is left to re-prepare on UNPREPARED. Cached:
    // preparing the same text twice sends nothing.
    asio::awaitable<outcome<prepared_statement>> prepare(std::string query, std::string keyspace = {});

    // Paging: a stream over every row of a query, fetching the next page while
    // the current one is consumed (at most one page ahead).
    page_stream stream(statement s);
    page_stream stream(bound_statement s);

    // The same requests for any Asio completion token: asio::use_awaitable,
    // asio::use_future, a callback void(result), asio::experimental::deferred,
    // as_tuple(...), bind_cancellation_slot(...) (cancellation ends the request
    // with transport::errc::cancelled). The statement is copied (or moved)
    // into the request: the caller need not keep it. Callable from any
    // thread; a handler without an executor of its own is called on the
    // session's.
    //   s->async_execute(ps.bind(42), [](cqlpp::driver::result r) { ... });
    //   auto f = s->async_execute(stmt, asio::use_future);
    template <class Statement, class CompletionToken>
        requires std::is_same_v<std::decay_t<Statement>, statement> ||
                 std::is_same_v<std::decay_t<Statement>, bound_statement> ||
                 std::is_same_v<std::decay_t<Statement>, batch>
    auto async_execute(Statement&& stmt, CompletionToken&& token) {
        return asio::async_initiate<CompletionToken, void(result)>(
            [self = shared_from_this()](auto handler, auto s) {
                const auto& impl = self->pick();
                start_async(impl, detail::result_handler(std::move(handler), std::move(s), executor_of(impl)));
            },
            token, std::decay_t<Statement>(std::forward<Statement>(stmt)));
    }

    // prepare() for any completion token too, signature
    // void(outcome<prepared_statement>). Cancellation (bind_cancellation_slot,
    // any type; a use_awaitable caller's own cancellation) completes it at
    // once with asio::error::operation_aborted (== condition::cancelled).
    // The PREPARE in flight is given up: the server's late answer is dropped
    // when it arrives (its stream id is freed then) and nothing is cached, so
    // preparing the same text again sends a new PREPARE. A cancellation
    // after the statement was cached (while it is prepared on the other
    // hosts) leaves it cached: a later prepare() finds it. Too late (already
    // answered): no effect.
    template <class CompletionToken>
    auto async_prepare(std::string query, CompletionToken&& token) {
        return async_prepare(std::move(query), std::string(), std::forward<CompletionToken>(token));
    }
    template <class CompletionToken>
    auto async_prepare(std::string query, std::string keyspace, CompletionToken&& token) {
        return asio::async_initiate<CompletionToken, void(outcome<prepared_statement>)>(
            [self = shared_from_this()](auto handler, std::string q, std::string k) {
                const auto& impl = self->pick();
                detail::completion<outcome<prepared_statement>> h(std::move(handler), executor_of(impl));
                start_prepare(impl, std::move(q), std::move(k), std::move(h));
            },
            token, std::move(query), std::move(keyspace));
    }
    // close() for any completion token, signature void(). Cancelling it turns
    // the graceful close into shutdown-now: requests still in flight fail at
    // once (errc::session_closed, "shut down with the request in flight")
    // instead of being waited for up to drain_timeout, every connection
    // closes, and the close completes.
    template <class CompletionToken>
    auto async_close(CompletionToken&& token) {
        return asio::async_initiate<CompletionToken, void()>(
            [self = shared_from_this()](auto handler) {
                detail::completion<> h(std::move(handler), self->get_executor());
                self->start_close(std::move(h));
            },
            token);
    }

    // For code outside the session's executor (thread-safe).
    std::future<result> execute_future(statement s);
    std::future<result> execute_future(bound_statement s);
    void execute_async(statement s, std::function<void(result)> done);
    void execute_async(bound_statement s, std::function<void(result)> done);
    std::future<outcome<prepared_statement>> prepare_future(std::string query, std::string keyspace = {});

    // Graceful shutdown: no new requests, in-flight ones finish (at most
    // drain_timeout), then every connection closes. Not cancellable as a
    // coroutine; async_close(bind_cancellation_slot(...)) is.
    asio::awaitable<void> close();
    bool is_closed() const noexcept;

    std::shared_ptr<const cluster_metadata> metadata() const noexcept;
    // Re-reads topology and schema now (also happens on events).
    asio::awaitable<outcome<void>> refresh_metadata();
    session_metrics metrics() const;
    const session_config& config() const noexcept;
    protocol::protocol_version protocol_version() const noexcept;
    executor_type get_executor() const noexcept;  // the first shard's
    std::size_t shard_count() const noexcept;

    // Internal (the driver creates sessions through connect()).
    explicit session(std::shared_ptr<detail::session_impl> impl);
    explicit session(std::vector<std::shared_ptr<detail::session_impl>> shards);

private:
    friend struct detail::session_internals;
    static void start_async(const std::shared_ptr<detail::session_impl>& impl, detail::result_handler h);
    // async_connect: where the connecting runs (the first executor, or a
    // thread of its own when none is given), then the connect itself.
    static executor_type connect_executor(const std::vector<executor_type>& executors);
    static void start_connect(executor_type runner, std::vector<executor_type> executors, session_config cfg,
                              detail::completion<connect_result> h);
    static void start_prepare(const std::shared_ptr<detail::session_impl>& impl, std::string query, std::string keyspace,
                              detail::completion<outcome<prepared_statement>> h);
    void start_close(detail::completion<> h);
    static executor_type executor_of(const std::shared_ptr<detail::session_impl>& impl) noexcept;
    // The shard for a request issued now on this thread.
    const std::shared_ptr<detail::session_impl>& pick() const noexcept;
    std::shared_ptr<detail::io_thread_set> threads_;  // session_config::io_threads (declared first: outlives the shards)
    std::shared_ptr<detail::session_impl> impl_;  // the first shard (metadata, config)
    std::vector<std::shared_ptr<detail::session_impl>> shards_;
    mutable std::atomic<std::size_t> next_shard_{0};
};

// Rows of a query, page by page or row by row. Once a page has been handed
// out, the next one is already being fetched; a stream never holds more than
// that one page ahead, so memory is bounded by two pages whatever the result.
// Use it from one coroutine at a time (any executor: the fetches run on the
// reader's and hand their requests to the session).
class page_stream {
public:
    page_stream() = default;
    page_stream(page_stream&&) noexcept;
    page_stream& operator=(page_stream&&) noexcept;
    ~page_stream();

    // The next page (result with rows; check error()). After the last page:
    // an ok result with no rows and done() true.
    asio::awaitable<result> next_page();
    // Row by row: false at the end or on error (then error() tells).
    asio::awaitable<bool> next(row_view& out);
    bool done() const noexcept;
    std::error_code error() const noexcept;
    const diagnostics& diag() const noexcept;
    // Where the stream stands: resume later with statement_options::paging_state.
    std::span<const std::uint8_t> paging_state() const noexcept;
    std::uint64_t rows_seen() const noexcept;

private:
    friend class session;  // session::stream() creates the state
    struct state;
    explicit page_stream(std::shared_ptr<state> s) : s_(std::move(s)) {}
    std::shared_ptr<state> s_;
};

}  // namespace cqlpp::driver
