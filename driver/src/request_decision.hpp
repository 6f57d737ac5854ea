// What a request does after one of its attempts is answered: deliver the
// answer, re-prepare, retry on the same host or the next, or fail, and with
// which error. Sans-I/O: plain facts in, a decision out; the request engine
// (request_engine.cpp) gathers the facts and carries the decision out, so
// these rules are unit-tested without a connection (tests/unit/test_request_decision.cpp).
// Header-only: it runs on every answer.
#pragma once

#include "cqlpp/driver/error.hpp"
#include "cqlpp/driver/retry.hpp"
#include "cqlpp/protocol/error_response.hpp"
#include "cqlpp/transport/error.hpp"

#include <cstdint>
#include <system_error>

namespace cqlpp::driver::detail {

// How an attempt ended, as far as deciding goes.
enum class answer_kind : std::uint8_t {
    success,            // a response that is not ERROR
    server_error,       // ERROR from the server (answer_facts::server_error)
    connection_closed,  // the connection closed with the request in flight
    transport_error,    // any other transport failure with the request in flight
    timeout,            // the request's deadline passed while waiting for the answer
    cancelled,          // the caller cancelled the request
};

// Cancellation and the deadline first: they end the request whatever the
// answer would have been.
inline answer_kind classify_answer(std::error_code ec, bool has_server_error) noexcept {
    if (!ec) return answer_kind::success;
    if (ec == transport::errc::cancelled) return answer_kind::cancelled;
    if (ec == transport::errc::timeout) return answer_kind::timeout;
    if (has_server_error) return answer_kind::server_error;
    if (ec == transport::errc::connection_closed) return answer_kind::connection_closed;
    return answer_kind::transport_error;
}

struct answer_facts {
    answer_kind kind = answer_kind::success;
    std::error_code ec;                                      // the answer's error; none on success
    const protocol::error_response* server_error = nullptr;  // with answer_kind::server_error
    bool idempotent = false;
    bool is_write = false;
    protocol::consistency consistency = protocol::consistency::local_one;
    int retries = 0;                 // retries already made for the request (the policy's budget)
    bool unprepared_target = false;  // UNPREPARED names a statement this request holds
    bool reprepare_left = false;     // ... and this attempt has not re-prepared too often
    bool deadline_left = true;       // the request's deadline has not passed
};

enum class action : std::uint8_t {
    send,             // send the attempt to its host (before_send)
    deliver,          // the answer is the result
    deliver_empty,    // the policy ignores the error: an empty, successful result
    reprepare,        // PREPARE on the same connection, then send the request again
    retry_same_host,  // send again on the same host
    retry_next_host,  // send to the next host of the plan (already taken from it)
    no_host_left,     // the policy wants the next host but the plan is used up:
                      // this attempt is over, and the request fails with `error`
                      // unless another (speculative) attempt still runs
    fail,             // the request fails with `error`
};

enum class fail_reason : std::uint8_t {
    none,
    rethrown,         // the policy gives the answer's error to the caller
    cancelled,        // transport::errc::cancelled
    timed_out,        // driver::errc::request_timeout: no answer within the deadline
    deadline_passed,  // driver::errc::request_timeout: no time left for another try
    exhausted,        // no host left: the last server error, else driver::errc::no_host_available
};

struct decision {
    action act = action::deliver;
    fail_reason why = fail_reason::none;
    std::error_code error;  // what the caller sees, with fail and no_host_left
};

// A decision that is not a failure.
inline decision go(action act) noexcept {
    decision d;
    d.act = act;
    return d;
}

// take_next_host() takes the next host of the query plan for the retry and
// says whether there was one; it is called only when the request moves on
// (the plan is shared by speculative attempts: a host is taken only to be used).
// The retry policy is asked only about errors a retry could cure: never about
// a success, a cancellation, a timeout or an UNPREPARED being re-prepared.
template <class TakeNextHost>
decision decide(const answer_facts& f, const retry_policy& policy, TakeNextHost&& take_next_host) {
    switch (f.kind) {
    case answer_kind::success: return {};
    // A cancelled request starts nothing new: the caller has gone.
    case answer_kind::cancelled: return {action::fail, fail_reason::cancelled, f.ec};
    // The deadline covers every attempt: the first to time out ends the request.
    case answer_kind::timeout:
        return {action::fail, fail_reason::timed_out, make_error_code(driver::errc::request_timeout)};
    default: break;
    }
    const decision too_late{action::fail, fail_reason::deadline_passed, make_error_code(driver::errc::request_timeout)};
    if (f.kind == answer_kind::server_error && f.server_error &&
        f.server_error->code == protocol::server_errc::unprepared && f.unprepared_target && f.reprepare_left) {
        if (!f.deadline_left) return too_late;
        return go(action::reprepare);
    }
    retry_context ctx;
    ctx.ec = f.ec;
    ctx.server_error = f.kind == answer_kind::server_error ? f.server_error : nullptr;
    ctx.idempotent = f.idempotent;
    ctx.is_write = f.is_write;
    ctx.retry_count = f.retries;
    ctx.consistency = f.consistency;
    switch (policy.decide(ctx)) {
    case retry_decision::rethrow: return {action::fail, fail_reason::rethrown, f.ec};
    case retry_decision::ignore: return go(action::deliver_empty);
    case retry_decision::retry_same:
        if (!f.deadline_left) return too_late;
        return go(action::retry_same_host);
    case retry_decision::retry_next:
        if (!f.deadline_left) return too_late;
        if (!take_next_host()) {
            // The caller sees the server's own error when the last host gave
            // one (more useful than "no host"), else that no host could answer.
            return {action::no_host_left, fail_reason::exhausted,
                    ctx.server_error ? f.ec : make_error_code(driver::errc::no_host_available)};
        }
        return go(action::retry_next_host);
    }
    return {action::fail, fail_reason::rethrown, f.ec};  // an out-of-range policy answer
}

// The walk over the plan, before and between answers. An attempt is about to
// be sent: the request's one deadline covers every attempt, so none is sent
// once it has passed.
inline decision before_send(bool deadline_left) noexcept {
    if (!deadline_left) return {action::fail, fail_reason::deadline_passed, make_error_code(driver::errc::request_timeout)};
    return go(action::send);
}

// The attempt's host could not take it (no open connection, or the connection
// refused it before anything was written): nothing reached the server, so
// moving on is safe whatever the statement, and the retry policy is not asked.
// Without a next host the attempt is over; the request then fails (the last
// server error, else no_host_available) unless another attempt still runs.
template <class TakeNextHost>
decision after_unsent(TakeNextHost&& take_next_host) {
    if (!take_next_host()) return {action::no_host_left, fail_reason::exhausted, make_error_code(driver::errc::no_host_available)};
    return go(action::retry_next_host);
}

// How the PREPARE sent for an UNPREPARED answer ended.
enum class reprepare_result : std::uint8_t {
    prepared,   // RESULT Prepared: run the statement again on the same host
    timed_out,  // the request's deadline passed while preparing
    failed,     // an error, a lost connection or another answer: the host cannot run it now
};

template <class TakeNextHost>
decision after_reprepare(reprepare_result r, TakeNextHost&& take_next_host) {
    switch (r) {
    case reprepare_result::prepared: return go(action::retry_same_host);
    case reprepare_result::timed_out:
        return {action::fail, fail_reason::timed_out, make_error_code(driver::errc::request_timeout)};
    case reprepare_result::failed: break;
    }
    return after_unsent(take_next_host);
}

}  // namespace cqlpp::driver::detail
