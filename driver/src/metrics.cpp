#include "live_metrics.hpp"


#include <bit>

namespace cqlpp::driver {

// Values below 2^sub_bits get their own bucket; above, each power of two is
// split into 2^sub_bits equal buckets.
int latency_histogram::index_of(std::uint64_t v) noexcept {
    if (v < (1u << sub_bits)) return static_cast<int>(v);
    const int msb = 63 - std::countl_zero(v);
    const int shift = msb - sub_bits;
    const int sub = static_cast<int>((v >> shift) & ((1u << sub_bits) - 1));
    const int idx = ((shift + 1) << sub_bits) + sub;
    return idx < buckets ? idx : buckets - 1;
}

std::uint64_t latency_histogram::value_of(int index) noexcept {
    if (index < (1 << sub_bits)) return static_cast<std::uint64_t>(index);
    const int shift = (index >> sub_bits) - 1;
    const std::uint64_t sub = static_cast<std::uint64_t>(index & ((1 << sub_bits) - 1));
    // Middle of the bucket.
    const std::uint64_t lo = ((1ull << sub_bits) | sub) << shift;
    return lo + ((1ull << shift) >> 1);
}

void latency_histogram::record(std::chrono::nanoseconds d) noexcept {
    const auto v = static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count());
    ++counts_[static_cast<std::size_t>(index_of(v))];
    ++count_;
    if (v > max_) max_ = v;
}

std::chrono::nanoseconds latency_histogram::percentile(double q) const noexcept {
    if (count_ == 0) return std::chrono::nanoseconds(0);
    if (q < 0) q = 0;
    if (q > 1) q = 1;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_));
    if (rank >= count_) rank = count_ - 1;
    std::uint64_t seen = 0;
    for (int i = 0; i < buckets; ++i) {
        seen += counts_[static_cast<std::size_t>(i)];
        if (seen > rank) {
            auto v = value_of(i);
            return std::chrono::nanoseconds(static_cast<std::int64_t>(v < max_ ? v : max_));
        }
    }
    return std::chrono::nanoseconds(static_cast<std::int64_t>(max_));
}

void latency_histogram::merge(const latency_histogram& o) noexcept {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    if (o.max_ > max_) max_ = o.max_;
}

}  // namespace cqlpp::driver

namespace cqlpp::driver::detail {

latency_histogram live_histogram::snapshot() const noexcept {
    latency_histogram h;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        h.counts_[i] = counts_[i].load(std::memory_order_relaxed);
        total += h.counts_[i];
    }
    // The sum of the buckets copied, so percentiles stay consistent with them
    // even while requests complete during the copy.
    h.count_ = total;
    h.max_ = max_.load(std::memory_order_relaxed);
    return h;
}

void live_metrics::snapshot_into(session_metrics& m) const noexcept {
    m.requests = requests.get();
    m.errors = errors.get();
    m.retries = retries.get();
    m.speculative_executions = speculative_executions.get();
    m.timeouts = timeouts.get();
    m.reprepares = reprepares.get();
    m.control_reconnects = control_reconnects.get();
    m.topology_refreshes = topology_refreshes.get();
    m.schema_refreshes = schema_refreshes.get();
    m.latency = latency.snapshot();
}

}  // namespace cqlpp::driver::detail
