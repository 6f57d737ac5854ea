// Internal: priming and the activity log behind one switch, so the network
// layer's request path pays one relaxed atomic load when both are off.
#pragma once

#include "cqlpp/sim/engine.hpp"
#include "cqlpp/sim/priming.hpp"

#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <regex>

namespace cqlpp::sim {

// Where a request came from (the connection fills it).
struct request_origin {
    int node = 0;
    std::uint64_t connection = 0;
    std::int16_t stream = 0;
};

// What the connection does instead of running the request on the engine.
struct primed_response {
    enum class action : std::uint8_t { respond, close, no_answer } what = action::respond;
    protocol::response response;
    std::chrono::microseconds delay{0};
    std::shared_ptr<const void> keep_alive;  // what `response` borrows from
    bool from_rule = false;  // a rule's answer (not the INVALID for a stale primed id)
};

class observer {
public:
    // `nodes` now, log slots for up to `max_nodes` (nodes join at run time).
    observer(engine& db, std::size_t nodes, std::size_t max_nodes);
    void set_node_count(std::size_t n) noexcept { node_count_.store(n, std::memory_order_relaxed); }

    // Primes or activity on: the only thing the request path reads otherwise.
    bool active() const noexcept { return active_.load(std::memory_order_relaxed); }

    // QUERY / PREPARE / EXECUTE / BATCH: records the request (when the log is
    // on) and returns the prime's answer, if one matches. Never throws.
    std::optional<primed_response> on_request(const request_origin& from, const protocol::request& req,
                                              session_state& session) noexcept;

    std::uint64_t add_prime(prime_rule rule);  // throws std::invalid_argument
    void clear_primes();
    std::size_t prime_count() const;
    std::vector<prime_info> primes() const;  // oldest first
    bool remove_prime(std::uint64_t id);

    void set_activity_capacity(std::size_t per_node);
    std::size_t activity_capacity() const noexcept { return capacity_.load(std::memory_order_relaxed); }
    std::vector<activity_entry> activity(int node) const;
    void clear_activity();

    struct compiled_rule;  // priming.cpp

private:
    struct synth_statement {
        std::string query;
        std::vector<engine::bind_variable> params;
    };
    using id16 = std::array<std::uint8_t, 16>;

    void update_active() noexcept;
    // Text of a prepared id (engine's or synthesised) and its bind markers.
    bool resolve(protocol::bytes_view id, std::string& query, std::vector<engine::bind_variable>& binds) const;
    std::optional<primed_response> match(const request_origin& from, const protocol::request& req,
                                         session_state& session);
    void record(const request_origin& from, const protocol::request& req, const session_state& session,
                bool primed);

    engine& db_;
    std::atomic<bool> active_{false};
    std::mutex active_mu_;  // serialises update_active(), so the last writer sees both switches

    mutable std::mutex primes_mu_;
    std::vector<std::shared_ptr<compiled_rule>> rules_;  // oldest first
    std::map<id16, synth_statement> synth_;              // ids of PREPAREs answered from a prime
    std::uint64_t next_rule_id_ = 1;
    std::atomic<bool> have_primes_{false};

    mutable std::mutex log_mu_;
    std::atomic<std::size_t> capacity_{0};  // 0: off (written under log_mu_)
    std::vector<std::deque<activity_entry>> logs_;
    std::atomic<std::size_t> node_count_{0};  // ids a prime may name
};

}  // namespace cqlpp::sim
