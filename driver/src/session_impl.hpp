// Internals of session (not installed).
#pragma once

#include "live_metrics.hpp"
#include "throttle.hpp"

#include "cqlpp/driver/session.hpp"
#include "cqlpp/transport/connection.hpp"
#include "cqlpp/transport/host_pool.hpp"

#include <asio/cancellation_signal.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <unordered_map>
#include <vector>

namespace cqlpp::driver::detail {

struct pool_slot {
    std::shared_ptr<host> h;  // the host as the latest metadata snapshot has it
    std::shared_ptr<transport::host_pool> pool;
    std::string endpoint;
    const std::string* origin = nullptr;  // endpoint, interned: what results point to
    bool ever_connected = false;
    std::size_t open = 0;  // this shard's open connections, as its pool last reported
    // Shard 0 of a sharded session: the other shards' open connections to
    // this host (by shard index), which keep the shared host up.
    std::vector<std::size_t> others_open;
    // Per-node counters, on the session's executor only (metrics() asks it).
    node_error_counts errors;
    std::uint64_t retries = 0;
    std::uint64_t speculative_executions = 0;
};

// How one logical request runs (shared by its executions when speculative).
struct exec_state;
struct simple_ctx;
struct bound_ctx;
struct batch_ctx;
struct prepare_ctx;
// A PREPARE run by the request engine.
struct prepare_spec {
    std::string_view query;
    std::string_view keyspace;  // empty: the session's
};
enum class action : std::uint8_t;  // request_decision.hpp

// An execution profile over the session's defaults: every option a request
// reads, resolved when the session is built so a request pays one lookup (or
// none, without a profile) and never a per-option fallback chain.
struct resolved_profile {
    protocol::consistency consistency = protocol::consistency::local_one;
    std::optional<protocol::consistency> serial_consistency;  // session_config::serial_consistency unless a profile sets it
    std::int32_t page_size = 5000;
    std::chrono::milliseconds request_timeout{12000};
    bool idempotent = false;
    speculative_execution_config speculative{};
    bool local_dc_only = false;
};

// The throttle and its one timer (request deadlines in the queue, the rate's
// next slot). Allocated only when session_config::throttle is enabled.
struct throttle_state {
    throttle_state(const throttle_config& c, const asio::any_io_executor& ex)
        : core(c, std::chrono::steady_clock::now()), timer(ex) {}
    request_throttle core;
    asio::steady_timer timer;
    std::optional<std::chrono::steady_clock::time_point> armed;  // when the pending wait ends
    bool draining = false;
};

struct session_impl;

// The shards of one session (connect() with several executors, or
// session_config::io_threads): one cluster view for all. Shard 0 alone holds
// the control connection, refreshes the metadata and decides whether a host
// is up; it publishes every snapshot here and posts it to the other shards,
// which adopt it on their own executors (their pools follow it). A request
// reads its own shard's snapshot as a single shard does: no lock.
struct shard_group {
    struct view {
        std::shared_ptr<const cluster_metadata> meta;
        std::uint64_t seq = 0;          // increases with every publication
        const host* control_host = nullptr;  // in meta: the load-balancing policy's init()
        protocol::protocol_version version = protocol::protocol_version::v5;
        bool control_up = false;
    };
    // Set once before any shard starts, read-only afterwards.
    std::vector<std::weak_ptr<session_impl>> shards;
    // The latest view (std::atomic_load / atomic_store: any thread reads it).
    std::shared_ptr<const view> latest;
};

// session_config::io_threads: the session's own threads, one io_context each.
// The session (facade) joins them once (stop_and_join); every shard also
// holds it, so the io_contexts outlive the timers and sockets on them.
struct io_thread_set {
    explicit io_thread_set(std::size_t n);
    ~io_thread_set();  // never joins: stop_and_join() has
    io_thread_set(const io_thread_set&) = delete;
    io_thread_set& operator=(const io_thread_set&) = delete;
    std::vector<asio::any_io_executor> executors() const;
    bool on_own_thread() const noexcept;
    // Lets every thread end once its io_context is idle and waits (stopping one
    // still busy after `grace`), then runs what is still queued (posted from
    // one thread to another that had already ended) here. Not from one of them.
    void stop_and_join(std::chrono::milliseconds grace);

    std::vector<std::unique_ptr<asio::io_context>> ios;
    std::vector<std::thread> threads;

private:
    std::mutex m_;
    std::vector<std::optional<asio::executor_work_guard<asio::io_context::executor_type>>> work_;
    bool joined_ = false;
};

// What session.cpp and tests reach inside the facade.
struct session_internals {
    static const std::vector<std::shared_ptr<session_impl>>& shards(const session& s) noexcept { return s.shards_; }
    static void own_threads(session& s, std::shared_ptr<io_thread_set> t) noexcept { s.threads_ = std::move(t); }
    static const std::shared_ptr<io_thread_set>& threads(const session& s) noexcept { return s.threads_; }
};

struct session_impl : std::enable_shared_from_this<session_impl> {
    using executor_type = asio::any_io_executor;

    // session_config::io_threads: keeps the io_contexts alive (declared first:
    // destroyed after every timer and pool of this shard).
    std::shared_ptr<io_thread_set> own_threads;

    session_impl(executor_type ex, session_config cfg);

    executor_type ex;
    session_config cfg;
    std::shared_ptr<load_balancing_policy> lb;
    std::shared_ptr<retry_policy> retry;
    std::shared_ptr<const cluster_metadata> meta;
    std::vector<pool_slot> pools;  // host::pool_index
    // Read by session::protocol_version() from any thread.
    std::atomic<protocol::protocol_version> version{protocol::protocol_version::v5};
    bool policy_initialised = false;
    resolved_profile defaults;  // the session's own options
    std::map<std::string, resolved_profile, std::less<>> profiles;
    // Null unless session_config::throttle is enabled: the request path tests only this.
    std::unique_ptr<throttle_state> throttle;
    // session_config::tracker (null: off) and the ids it sees.
    request_tracker* tracker = nullptr;
    std::uint64_t last_request_id = 0;

    // Control connection (shard 0 only; the other shards share its view).
    std::shared_ptr<transport::connection> control;
    std::string control_endpoint;
    asio::steady_timer control_wake;
    bool control_loop_running = false;

    // Debounced refresh.
    asio::steady_timer refresh_timer;
    bool refresh_topology = false;
    bool refresh_schema = false;
    bool refresher_running = false;

    // Shutdown (closed is read by session::is_closed() from any thread).
    std::atomic<bool> closed{false};
    // shutdown_now() has run (closed, every connection closed): a request
    // that loses its connection now fails as session_closed, not as lost.
    bool shut_down = false;
    std::size_t active = 0;  // logical requests in flight
    asio::steady_timer drained;

    // Prepared statements: by (keyspace, query), bounded LRU; and by id for UNPREPARED.
    struct prepared_entry {
        std::shared_ptr<prepared_data> data;
        std::list<std::string>::iterator lru;
    };
    std::unordered_map<std::string, prepared_entry> prepared;
    std::list<std::string> prepared_lru;  // most recent first
    std::map<protocol::byte_buffer, std::weak_ptr<prepared_data>> prepared_by_id;
    // One re-prepare in flight per (statement, host): later requests wait on it.
    std::map<std::pair<protocol::byte_buffer, std::size_t>, std::shared_ptr<asio::steady_timer>> repreparing;

    // Envelope buffers reused across requests (capacity kept).
    std::vector<protocol::byte_buffer> free_buffers;
    protocol::byte_buffer take_buffer() {
        if (free_buffers.empty()) {
            // Most requests fit: one allocation instead of a doubling chain.
            protocol::byte_buffer b;
            b.reserve(128);
            return b;
        }
        auto b = std::move(free_buffers.back());
        free_buffers.pop_back();
        b.clear();
        return b;
    }
    void give_buffer(protocol::byte_buffer&& b) {
        // A request that never sent anything has no buffer: keeping it would
        // hand the next request a buffer without its reserved capacity.
        if (free_buffers.size() < 1024 && b.capacity() != 0 && b.capacity() <= 64 * 1024)
            free_buffers.push_back(std::move(b));
    }

    std::int64_t last_timestamp = 0;
    std::int64_t next_timestamp() noexcept;

    live_metrics counters;  // session::metrics() adds the hosts and the throttle

    // The control node said system.peers_v2 does not exist (Cassandra 3,
    // ScyllaDB): read system.peers from now on.
    bool peers_v1_only = false;

    // Whether the calling thread runs the session's executor: then a request
    // starts right there; from any other thread it is handed over (posted).
    // Known for an io_context's executor and strands over it; for any other
    // executor the answer is no, which is always safe (only slower).
    bool on_executor() const noexcept {
        if (ex_io) return ex_io->running_in_this_thread();
        if (ex_io_tracked) return ex_io_tracked->running_in_this_thread();
        if (ex_strand_io) return ex_strand_io->running_in_this_thread();
        if (ex_strand_any) return ex_strand_any->running_in_this_thread();
        return false;
    }
    using io_executor = asio::io_context::executor_type;
    // The same executor with outstanding work tracked (asio::make_work_guard's kind).
    using io_executor_tracked = asio::io_context::basic_executor_type<std::allocator<void>, 4>;
    // Into `ex` (never reassigned); at most one is set.
    const io_executor* ex_io = nullptr;
    const io_executor_tracked* ex_io_tracked = nullptr;
    const asio::strand<io_executor>* ex_strand_io = nullptr;
    const asio::strand<asio::any_io_executor>* ex_strand_any = nullptr;
    // What metrics() reads from the session's state (hosts, connected nodes,
    // bytes, prepared cache, throttle); on the session's executor only.
    void fill_metrics(session_metrics& m) const;
    // A failed attempt, counted against the node it was for (pools[pi]).
    void count_node_error(std::size_t pi, std::error_code ec, const protocol::error_response* se) noexcept;

    // ---- shards (null group: a session of one shard) ----
    std::shared_ptr<shard_group> group;
    std::size_t shard_index = 0;
    std::uint64_t view_seq = 0;  // shard 0: the last view published; others: the last adopted
    bool follower() const noexcept { return shard_index != 0; }
    // Another shard: whether shard 0's control connection was up in the last
    // view adopted (it alone holds one).
    bool cluster_view_up = false;
    // Whether this shard's metadata follows the cluster live (a control
    // connection, its own or shard 0's, is up): then a DDL is answered once
    // refresh() shows the change.
    bool has_cluster_view() const noexcept { return follower() ? cluster_view_up : control != nullptr; }
    std::shared_ptr<session_impl> primary() const;  // shard 0, null once it is gone
    // Posts f(shard) to every other shard's executor.
    template <class F>
    void for_other_shards(F f) const;
    // Shard 0: publishes the current snapshot to the other shards.
    void publish_view(const host* control_host);
    // The other shards, on their executor: take a view shard 0 published.
    void adopt(const std::shared_ptr<const shard_group::view>& v);
    // Shard 0: a shard's pool to host `index` has `open` connections now.
    void note_open(std::size_t shard, std::size_t index, std::size_t open);
    // Shard 0: whether the host of pools[index] is up, from every shard's connections.
    void update_liveness(std::size_t index);
    std::size_t open_anywhere(const pool_slot& slot) const noexcept;
    // Opens pools for the hosts the policy wants, closes those it ignores.
    void sync_pools();

    // ---- lifecycle ----
    asio::awaitable<std::error_code> start(diagnostics& diag);
    // Cancels start() (a cancelled connect); emitted on this shard's executor only.
    asio::cancellation_signal starting;
    asio::awaitable<std::error_code> open_control(diagnostics& diag, bool initial);
    void on_control_closed(const std::shared_ptr<transport::connection>& c);
    asio::awaitable<void> control_loop();
    void on_event(const protocol::event_response& ev);
    void schedule_refresh(bool topology, bool schema);
    asio::awaitable<void> refresher();
    asio::awaitable<std::error_code> refresh(bool topology, bool schema, diagnostics* diag);
    asio::awaitable<std::error_code> refresh_through_primary(bool topology, bool schema, diagnostics* diag);
    void apply_hosts(std::vector<std::shared_ptr<host>> hosts, std::shared_ptr<cluster_metadata> next,
                     const host* control_host);
    void on_pool_change(std::size_t index, std::size_t open);
    asio::awaitable<void> close();
    void shutdown_now();

    // ---- requests ----
    bool begin(exec_state& st);
    bool speculative(const exec_state& st) const noexcept;
    bool finish(exec_state& st);
    // The throttle: a request it failed before starting it (counted, not active),
    // and failing every waiter (closing).
    void finish_unstarted(exec_state& st);
    void fail_queued(std::error_code ec, std::string_view why);
    action on_answer(exec_state& st, transport::request_result& r, std::size_t pool_index, const host*& h,
                     int& unprepared_retries);
    asio::awaitable<std::error_code> reprepare(transport::connection& c, std::size_t pool_index, const prepared_data& p,
                                               std::chrono::milliseconds timeout);
    asio::awaitable<outcome<prepared_statement>> prepare(std::string query, std::string keyspace);
    asio::awaitable<void> prepare_everywhere(std::shared_ptr<prepared_data> p, std::size_t except_pool,
                                             std::chrono::steady_clock::time_point deadline);
    asio::awaitable<void> reprepare_all(std::size_t pool_index);
    std::shared_ptr<prepared_data> cache_prepared(const std::string& key, std::shared_ptr<prepared_data> p);

    bool setup(const statement& s, simple_ctx& ctx, exec_state& st);
    bool setup(const bound_statement& b, bound_ctx& ctx, exec_state& st);
    bool setup(const batch& bt, batch_ctx& ctx, exec_state& st);
    bool setup(const prepare_spec& p, prepare_ctx& ctx, exec_state& st);
    asio::awaitable<result> run(const prepare_spec& p);
    asio::awaitable<result> execute(const statement& s);
    asio::awaitable<result> execute(const bound_statement& s);
    asio::awaitable<result> execute(const batch& b);
    // session::async_execute: any completion token, through a type-erased handler.
    void start_async(result_handler h);

    // A query on the control connection (system tables).
    asio::awaitable<result> control_query(std::string_view cql);
    // On this connection: a refresh asks every question of one node, or it
    // would join one node's system.local to another's peers.
    asio::awaitable<result> control_query(std::string_view cql, std::shared_ptr<transport::connection> c,
                                          std::string endpoint);
};

template <class F>
void session_impl::for_other_shards(F f) const {
    if (!group) return;
    for (std::size_t i = 0; i < group->shards.size(); ++i) {
        if (i == shard_index) continue;
        auto other = group->shards[i].lock();
        if (!other) continue;
        asio::post(other->ex, [other, f]() mutable {
            if (!other->closed) f(*other);
        });
    }
}

}  // namespace cqlpp::driver::detail
