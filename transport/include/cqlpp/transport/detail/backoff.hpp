// Reconnection delays (sans-I/O): exponential backoff with "equal jitter",
// uniform in [d/2, d] where d = min(max, base * 2^attempt), so hosts that went
// down together do not all come back knocking at the same instant.
#pragma once

#include "cqlpp/transport/config.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace cqlpp::transport::detail {

template <class Rng>
std::chrono::milliseconds backoff_delay(const reconnect_policy& p, unsigned attempt, Rng& rng) {
    const auto base = std::max<std::int64_t>(1, p.base_delay.count());
    const auto cap = std::max<std::int64_t>(base, p.max_delay.count());
    std::int64_t d = base;
    for (unsigned i = 0; i < attempt && d < cap; ++i) d *= 2;
    d = std::min(d, cap);
    std::uniform_int_distribution<std::int64_t> jitter(d / 2, d);
    return std::chrono::milliseconds(jitter(rng));
}

}  // namespace cqlpp::transport::detail
