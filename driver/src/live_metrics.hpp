// The session's counters as its thread writes them and any thread reads them
// (session::metrics() may be called from anywhere). Each counter has one
// writer, the session's thread, so an increment is a relaxed load and store:
// no locked instruction on the request path, and a reader never sees a torn value.
#pragma once

#include "cqlpp/driver/session.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace cqlpp::driver::detail {

class live_counter {
public:
    void add(std::uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    live_counter& operator++() noexcept {
        add();
        return *this;
    }
    std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> v_{0};
};

// latency_histogram's buckets, written the same way.
class live_histogram {
public:
    void record(std::chrono::nanoseconds d) noexcept {
        const auto v = static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count());
        auto& b = counts_[static_cast<std::size_t>(latency_histogram::index_of(v))];
        b.store(b.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        count_.add();
        sum_.add(v);
        if (v > max_.load(std::memory_order_relaxed)) max_.store(v, std::memory_order_relaxed);
    }
    // A copy: each bucket exact, the whole as of some moment during the copy.
    latency_histogram snapshot() const noexcept;

private:
    std::array<std::atomic<std::uint64_t>, latency_histogram::buckets> counts_{};
    live_counter count_;
    live_counter sum_;
    std::atomic<std::uint64_t> max_{0};
};

struct live_metrics {
    live_counter requests, errors, retries, speculative_executions, timeouts, reprepares;
    live_counter control_reconnects, topology_refreshes, schema_refreshes;
    live_histogram latency;

    // Everything but the throttle's and the hosts' figures.
    void snapshot_into(session_metrics& m) const noexcept;
};

}  // namespace cqlpp::driver::detail
