// Retry and speculative execution policies (sans-I/O decisions).
//
// One deadline covers a logical request: every retry and every speculative
// execution runs inside statement_options::timeout (or the session's
// request_timeout); when it passes the request fails with errc::request_timeout
// whatever the policy would still like to try.
#pragma once

#include "cqlpp/protocol/common.hpp"
#include "cqlpp/protocol/error_response.hpp"

#include <chrono>
#include <cstddef>
#include <system_error>

namespace cqlpp::driver {

enum class retry_decision {
    rethrow,     // give the error to the caller
    retry_same,  // same host, same consistency
    retry_next,  // next host of the query plan
    ignore,      // report success with an empty result (e.g. a lost write the caller tolerates)
};

struct retry_context {
    std::error_code ec;                          // server_errc or a transport error
    const protocol::error_response* server_error = nullptr;  // when the server answered ERROR
    bool idempotent = false;
    bool is_write = false;   // INSERT/UPDATE/DELETE/BATCH as far as the driver can tell (unknown: false)
    int retry_count = 0;     // retries already made for this request
    protocol::consistency consistency = protocol::consistency::local_one;
};

class retry_policy {
public:
    virtual ~retry_policy() = default;
    virtual retry_decision decide(const retry_context& ctx) const = 0;
};

// What Cassandra's semantics make safe, as the Java and Python drivers do:
//  * READ_TIMEOUT: retry the same host once when enough replicas answered but
//    the data replica did not (received >= block_for && !data_present);
//  * WRITE_TIMEOUT: retry once for an idempotent statement when the timeout
//    happened writing the batch log (write_type BATCH_LOG);
//  * UNAVAILABLE: the coordinator may be isolated: try the next host once;
//  * OVERLOADED, IS_BOOTSTRAPPING, TRUNCATE_ERROR, SERVER_ERROR: the next host,
//    IS_BOOTSTRAPPING always (nothing ran), the others for idempotent statements;
//  * a connection that broke or timed out with the request in flight: the next
//    host for idempotent statements (the write may or may not have happened);
//  * anything else (syntax, invalid, unauthorized, read/write failures,
//    CAS_WRITE_UNKNOWN, ...): rethrow.
class default_retry_policy : public retry_policy {
public:
    explicit default_retry_policy(int max_retries = 3) : max_retries_(max_retries) {}
    retry_decision decide(const retry_context& ctx) const override;

private:
    int max_retries_;
};

// Never retries.
class fallthrough_retry_policy : public retry_policy {
public:
    retry_decision decide(const retry_context&) const override { return retry_decision::rethrow; }
};

// Speculative execution for idempotent statements: when the first attempt has
// not answered after `delay`, the next host of the plan gets the same request,
// up to max_executions in flight; the first answer wins and the others are
// abandoned (their stream ids are released when their answers arrive).
struct speculative_execution_config {
    std::size_t max_executions = 1;  // 1: off
    std::chrono::milliseconds delay{100};
};

}  // namespace cqlpp::driver
