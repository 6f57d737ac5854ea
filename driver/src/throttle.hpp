// Request throttling (session_config::throttle), sans-I/O: which request may
// start, which waits, which is refused, which has waited past its deadline.
// Time comes in as arguments; the engine (request_engine.cpp) owns the timer
// and starts or fails what this hands back. Unit-tested in
// tests/driver/test_throttle.cpp.
#pragma once

#include "cqlpp/driver/session.hpp"

#include <chrono>
#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

namespace cqlpp::driver::detail {

// A request waiting to start, as the throttle sees it. The engine allocates
// one (derived, pointing at its request) only for a request that must wait,
// so a request that starts at once carries none of it.
struct throttle_waiter {
    using time_point = std::chrono::steady_clock::time_point;
    static constexpr std::size_t not_queued = static_cast<std::size_t>(-1);

    time_point deadline{};
    time_point queued_at{};
    throttle_waiter* prev = nullptr;  // the FIFO, older
    throttle_waiter* next = nullptr;  // the FIFO, newer
    std::size_t heap_index = not_queued;
    bool queued() const noexcept { return heap_index != not_queued; }
};

// The limits a session's shards share (connect() with several executors,
// session_config::io_threads): max_in_flight and max_per_second hold for the
// session as a whole, not per shard. Lock-free: a start takes a slot with a
// compare-and-swap, a release gives it back.
struct shared_throttle {
    explicit shared_throttle(std::chrono::steady_clock::time_point now)
        : tat(now.time_since_epoch().count()) {}
    std::atomic<std::size_t> in_flight{0};
    std::atomic<std::chrono::steady_clock::rep> tat;  // the rate's theoretical arrival time
};

class request_throttle {
public:
    using time_point = throttle_waiter::time_point;
    using duration = std::chrono::steady_clock::duration;

    request_throttle(const throttle_config& cfg, time_point now);
    request_throttle(const request_throttle&) = delete;
    request_throttle& operator=(const request_throttle&) = delete;

    // From now on the limits hold over every throttle sharing `shared` (set
    // before any request). A waiter blocked only by the other shards is
    // polled (next_wake), as their releases do not reach this queue.
    void share(std::shared_ptr<shared_throttle> shared) { shared_ = std::move(shared); }
    static constexpr std::chrono::milliseconds shared_poll{1};

    // A new request: true when it may start now (it then counts in flight).
    // Nobody overtakes a waiter, so that needs an empty queue.
    bool try_start(time_point now);
    // A new request that may not start (w.deadline set): false when
    // max_queue_size requests already wait (it is refused).
    bool enqueue(throttle_waiter& w, time_point now);
    // A request that was let through has finished.
    void release() noexcept;

    // The oldest waiter, if it may start now: off the queue, counted in flight.
    throttle_waiter* pop_ready(time_point now);
    // A waiter whose deadline is not after now, off the queue.
    throttle_waiter* pop_expired(time_point now);
    // The oldest waiter, off the queue (the session is closing).
    throttle_waiter* pop_front(time_point now);
    // A waiter that gave up (cancelled), off the queue.
    void remove(throttle_waiter& w, time_point now);

    // When pop_ready or pop_expired will have something without a release
    // happening first: the earliest deadline, or the rate's next slot when
    // only the rate holds the oldest waiter back. Nothing: no waiter.
    std::optional<time_point> next_wake(time_point now) const;

    std::size_t queue_depth() const noexcept { return heap_.size(); }
    std::size_t in_flight() const noexcept { return in_flight_; }
    std::size_t max_queue_size() const noexcept { return max_queue_; }
    throttle_metrics metrics() const;

private:
    bool may_start(time_point now) const noexcept;
    void take(time_point now) noexcept;
    // Shared limits: takes a slot and a rate slot if both are free now.
    bool take_shared(time_point now) noexcept;
    bool slot_free() const noexcept;
    void unlink(throttle_waiter& w, time_point now);
    bool earlier(std::size_t a, std::size_t b) const noexcept { return heap_[a]->deadline < heap_[b]->deadline; }
    void place(std::size_t i, throttle_waiter* w) noexcept {
        heap_[i] = w;
        w->heap_index = i;
    }
    void sift_up(std::size_t i) noexcept;
    void sift_down(std::size_t i) noexcept;

    std::size_t max_in_flight_;  // 0: no limit
    std::size_t max_queue_;
    std::size_t in_flight_ = 0;
    // The rate as GCRA (the generic cell rate algorithm): a request may start
    // when now >= tat_ - tolerance_; each start moves tat_ one interval on.
    // Integer time keeps the spacing exact over any number of requests.
    bool rate_limited_;
    duration interval_{};
    duration tolerance_{};  // (rate_burst - 1) intervals
    time_point tat_{};      // theoretical arrival time of the next request
    throttle_waiter* oldest_ = nullptr;
    throttle_waiter* newest_ = nullptr;
    std::vector<throttle_waiter*> heap_;  // min-heap on deadline: the next to expire on top
    throttle_metrics stats_;
    std::shared_ptr<shared_throttle> shared_;  // null: this shard's own limits
};

}  // namespace cqlpp::driver::detail
