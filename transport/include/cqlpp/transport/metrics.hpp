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

}  // namespace cqlpp::transport
