#pragma once

#include <cstdint>

namespace cqlpp::transport {

struct connection_metrics {
    std::uint64_t in_flight = 0;        // queued or written, with a waiter
    std::uint64_t orphaned = 0;         // ids held by requests that gave up
    std::uint64_t requests_sent = 0;
    std::uint64_t responses = 0;
    std::uint64_t write_syscalls = 0;   // async_write calls (one per coalesced batch)
    std::uint64_t bytes_written = 0;
    std::uint64_t bytes_read = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t cancellations = 0;
    std::uint64_t heartbeats = 0;
    std::uint64_t events = 0;
};

// A host pool's counters (host_pool::metrics(); session_metrics::hosts).
struct pool_metrics {
    std::uint64_t connections = 0;  // open now
    std::uint64_t in_flight = 0;
    std::uint64_t orphaned = 0;
    std::uint64_t connect_attempts = 0;
    std::uint64_t connect_failures = 0;
    std::uint64_t reconnects = 0;  // connections opened to replace lost ones
    std::uint64_t bytes_written = 0;
    std::uint64_t bytes_read = 0;
    std::uint64_t write_syscalls = 0;
};

}  // namespace cqlpp::transport
