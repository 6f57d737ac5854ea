// Load balancing: which hosts a request tries, in order (its query plan).
// Sans-I/O. Following STYLE.md G11 the plan is split in two: pick() fills a
// small inline buffer without allocating (nearly every request is served by
// its first host or two), and fallback() yields the rest lazily, only when a
// request actually runs past the inline hosts.
#pragma once

#include "cqlpp/driver/host.hpp"
#include "cqlpp/driver/token_map.hpp"
#include "cqlpp/protocol/common.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace cqlpp::driver {

// How the pool layer should treat a host: full pool, small pool, or none.
enum class host_distance { local, remote, ignored };

// LOCAL_ONE, LOCAL_QUORUM, LOCAL_SERIAL: a remote coordinator would be wrong.
bool is_local_consistency(protocol::consistency c) noexcept;

struct request_info {
    // The metadata snapshot the session holds for this request's lifetime
    // (plans read it lazily, so it must outlive the plan_buffer's use).
    const token_map* map = nullptr;
    std::string_view keyspace;           // empty: no token-aware routing
    std::optional<token> routing_token;  // token_of(routing key), if known
    protocol::consistency consistency = protocol::consistency::local_one;
    bool is_lwt = false;                 // conditional update: keep replica order deterministic
    bool local_dc_only = false;          // never plan a remote DC's host (an execution profile's limit)
};

class load_balancing_policy;

// A query plan: up to inline_capacity hosts chosen eagerly, then whatever the
// policy's fallback() yields. Reuse one per request; plan() resets it.
class plan_buffer {
public:
    static constexpr std::size_t inline_capacity = 8;

    plan_buffer() = default;
    plan_buffer(const plan_buffer&) = delete;
    plan_buffer& operator=(const plan_buffer&) = delete;

    // Consumer: the next host to try, or nullptr when the plan is exhausted.
    const host* next();
    // The eagerly chosen hosts (the fast path).
    std::span<const host* const> picked() const noexcept { return {hosts_.data(), size_}; }

    // Policy side: append to the inline part; false when full.
    bool push(const host* h) noexcept {
        if (size_ == inline_capacity) return false;
        hosts_[size_++] = h;
        return true;
    }
    bool full() const noexcept { return size_ == inline_capacity; }
    bool picked_contains(const host* h) const noexcept {
        for (std::size_t i = 0; i < size_; ++i)
            if (hosts_[i] == h) return true;
        return false;
    }
    // Free-form continuation state for fallback(); zeroed by plan().
    struct cursor {
        std::uint32_t phase = 0;
        std::uint32_t dc = 0;
        std::uint32_t index = 0;
        std::uint32_t taken = 0;
        std::uint64_t seed = 0;
    };
    cursor state;

private:
    friend class load_balancing_policy;
    std::array<const host*, inline_capacity> hosts_{};
    std::size_t size_ = 0;
    std::size_t pos_ = 0;
    bool exhausted_ = false;
    const load_balancing_policy* policy_ = nullptr;
    request_info info_{};
};

// Implement pick() (and fallback() if plans can be longer than the inline
// buffer) to plug in a policy. Both may run concurrently from many threads.
class load_balancing_policy {
public:
    virtual ~load_balancing_policy() = default;

    // Once, with the first metadata and the contact point that answered.
    virtual void init(const token_map& /*map*/, const host* /*contact_point*/) {}
    virtual host_distance distance(const host& /*h*/) const noexcept { return host_distance::local; }

    // Resets `out` and fills its fast path; out.next() then walks the plan.
    void plan(const request_info& info, plan_buffer& out) const;

protected:
    friend class plan_buffer;
    virtual void pick(const request_info& info, plan_buffer& out) const = 0;
    // The next host after those picked, or nullptr at the end. Use out.state
    // to remember where the walk is.
    virtual const host* fallback(const request_info& /*info*/, plan_buffer& /*out*/) const { return nullptr; }
};

// Members have default initializers so designated initializers may omit any.
struct default_policy_config {
    // Empty: taken from the contact point's DC at init(); if still unknown,
    // every DC counts as local (plain token-aware round robin).
    std::string local_dc{};
    // Empty: no rack preference. Otherwise replicas in this rack (of the
    // local DC) come before the DC's other replicas.
    std::string local_rack{};
    // Hosts tried per remote DC after the local DC (0: never leave the DC).
    std::size_t used_hosts_per_remote_dc = 0;
    // Remote DCs are never tried for LOCAL_* consistencies unless this is set.
    bool allow_remote_dcs_for_local_consistency = false;
    bool token_aware = true;
    // In-flight requests on a host (the pool's counter, found via
    // host::pool_index). Unset: replicas are rotated round robin instead.
    std::function<std::size_t(const host&)> in_flight{};
};

// Token-aware, DC- and rack-aware. The plan of a request is:
//  1. the routing token's replicas in the local DC that are up: local-rack
//     replicas first (if a rack is configured), the least busy of each group
//     first and the rest rotated; for LWT the plain replica order, so every
//     client proposes through the same coordinator (fewer Paxos contentions);
//  2. the other up hosts of the local DC, round robin;
//  3. if allowed, up to used_hosts_per_remote_dc up hosts of each remote DC
//     (that DC's replicas first).
// Down hosts are left out of plans: the pool reconnects them in the
// background and a host that comes back is used again by the next plan.
class default_policy final : public load_balancing_policy {
public:
    explicit default_policy(default_policy_config config = {});

    void init(const token_map& map, const host* contact_point) override;
    host_distance distance(const host& h) const noexcept override;
    const std::string& local_dc() const noexcept { return local_dc_; }

protected:
    void pick(const request_info& info, plan_buffer& out) const override;
    const host* fallback(const request_info& info, plan_buffer& out) const override;

private:
    bool is_local(const host& h) const noexcept { return local_dc_.empty() || h.datacenter == local_dc_; }
    bool remote_allowed(const request_info& info) const noexcept;
    void order_group(std::span<const host*> group, std::uint64_t seed, bool lwt) const;
    const host* advance(const request_info& info, plan_buffer& out) const;

    default_policy_config config_;
    std::string local_dc_;
    mutable std::atomic<std::uint64_t> counter_{0};
};

}  // namespace cqlpp::driver
