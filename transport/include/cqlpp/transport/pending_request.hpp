// One request's place in a connection: owned by the caller (the driver embeds
// it in its per-request state, the coroutine API keeps it in its frame), so
// the connection allocates nothing per request.
#pragma once

#include "cqlpp/transport/response.hpp"

#include <chrono>
#include <cstdint>
#include <span>
#include <system_error>

namespace cqlpp::transport {

struct pending_request {
    using clock_type = std::chrono::steady_clock;
    // Called exactly once per submit(), on the connection's executor, with ec
    // and response filled in: the response arrived, the deadline passed
    // (errc::timeout) or the connection failed. Not called after abandon().
    // It may submit or abandon other requests, and may close the connection.
    using completion_fn = void (*)(pending_request&);

    completion_fn on_complete = nullptr;
    // The whole encoded envelope; its stream id bytes are patched in place,
    // so it must stay alive and untouched until completion or abandon().
    std::span<std::uint8_t> envelope;
    // max(): no deadline (the owner times out by itself, or never).
    clock_type::time_point deadline = clock_type::time_point::max();

    // Results.
    std::error_code ec;
    response_ptr response;

    // Connection-private bookkeeping.
    pending_request* prev = nullptr;  // writer queue links while queued
    pending_request* next = nullptr;
    pending_request* tprev = nullptr;  // deadline list links while timed
    pending_request* tnext = nullptr;
    std::int16_t stream = -1;
    bool queued = false;
    bool timed = false;
    bool done = false;

    // Ready for another submit() (a retry on the same or another connection).
    void reset() noexcept {
        ec.clear();
        response.reset();
        prev = next = tprev = tnext = nullptr;
        stream = -1;
        queued = timed = done = false;
    }
};

}  // namespace cqlpp::transport
