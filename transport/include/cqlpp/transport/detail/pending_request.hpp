// Per-request state, kept in the awaiting coroutine's frame (no heap).
#pragma once

#include "cqlpp/transport/response.hpp"

#include <asio/steady_timer.hpp>

#include <cstdint>
#include <span>
#include <system_error>

namespace cqlpp::transport::detail {

struct pending_request {
    explicit pending_request(const asio::any_io_executor& ex) : timer(ex) {}

    // Deadline AND completion signal: the reader cancels it after setting `done`.
    asio::steady_timer timer;
    std::span<std::uint8_t> envelope;
    pending_request* prev = nullptr;  // writer queue links while queued
    pending_request* next = nullptr;
    std::int16_t stream = -1;
    bool queued = false;
    bool done = false;
    std::error_code ec;
    response_ptr response;
};

}  // namespace cqlpp::transport::detail
