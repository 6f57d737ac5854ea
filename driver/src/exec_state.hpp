// What one logical request carries through the engine (not installed): its
// plan, deadline, encoder and outcome. Header-only: every member is on the
// per-request path.
#pragma once

#include "session_impl.hpp"
#include "session_util.hpp"

#include <array>
#include <optional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace cqlpp::driver::detail {

// Inline storage for a request's value views (most statements have few markers).
struct value_views {
    // Left unconstructed until fill(): a context is built per request and
    // zeroing eight views it will mostly not use is measurable.
    static constexpr std::size_t small_size = 8;
    union storage {
        storage() noexcept {}
        proto::value_view v[small_size];
    } small;
    std::vector<proto::value_view> big;
    std::span<const proto::value_view> fill(const detail::value_list& v) {
        const std::size_t n = v.size();
        proto::value_view* out = small.v;
        if (n > small_size) {
            big.resize(n);
            out = big.data();
        }
        for (std::size_t i = 0; i < n; ++i) std::construct_at(out + i, v.view(i));
        return {out, n};
    }
};

struct exec_state {
    using encode_fn = void (*)(const void* ctx, const transport::connection& c, proto::byte_buffer& out,
                               std::error_code& ec, std::string& why);
    session_impl* s = nullptr;
    // Its execution profile, resolved once (setup() when null): the session's
    // defaults, or a named profile over them. Lives as long as the session.
    const resolved_profile* profile = nullptr;
    std::shared_ptr<const cluster_metadata> meta;  // keeps the plan's hosts alive
    request_info info;
    plan_buffer plan;
    encode_fn encode = nullptr;
    const void* ctx = nullptr;
    clock_type::time_point started;
    clock_type::time_point deadline;
    bool idempotent = false;
    bool is_write = false;
    proto::consistency cl = proto::consistency::local_one;
    // EXECUTE: for UNPREPARED and METADATA_CHANGED. Owned by the bound
    // statement, which outlives the request (speculative stragglers stop
    // before touching it once the request is done).
    prepared_data* prepared = nullptr;
    // BATCH: its bound statements, for UNPREPARED (the batch outlives the request).
    const batch* batch_stmt = nullptr;
    // What UNPREPARED asks to prepare again: `prepared`, or a batch's statement.
    const prepared_data* unprepared = nullptr;
    bool schema_altering = false;

    bool done = false;
    result out;
    int attempts = 0;
    int retries = 0;
    // Allocated only when an attempt fails (keeps the request's frame small).
    struct failure_info {
        std::vector<diagnostics::attempt> attempts;
        std::optional<proto::error_response> last_server_error;
        std::error_code last_ec;
        std::string last_host;
    };
    std::unique_ptr<failure_info> failures;
    failure_info& fi() {
        if (!failures) failures = std::make_unique<failure_info>();
        return *failures;
    }

    void note(std::string host, std::error_code ec, const proto::error_response* se) {
        auto& f = fi();
        f.attempts.push_back({host, ec, se ? se->message : std::string()});
        f.last_ec = ec;
        f.last_host = std::move(host);
        if (se) f.last_server_error = *se;
        else f.last_server_error.reset();
    }
    void fail(std::error_code ec, std::string message) {
        if (done) return;
        diagnostics d;
        d.message = std::move(message);
        if (failures) {
            d.server_error = failures->last_server_error;
            d.attempts = std::move(failures->attempts);
        }
        out = result(ec, std::move(d));
        done = true;
    }
    void fail_exhausted() {
        auto& f = fi();
        if (f.last_server_error && f.last_ec) {
            auto se = *f.last_server_error;
            fail(f.last_ec, describe_error(f.last_ec, &se, f.last_host));
            return;
        }
        std::string m = "no host available";
        if (f.attempts.empty()) {
            m += ": the query plan is empty (no host up";
            if (!info.keyspace.empty()) m += " for keyspace " + std::string(info.keyspace);
            m += ")";
        }
        for (std::size_t i = 0; i < f.attempts.size(); ++i)
            m += (i ? "; " : ": ") + f.attempts[i].host + " " + f.attempts[i].ec.message();
        f.last_server_error.reset();
        fail(driver::errc::no_host_available, std::move(m));
    }
};


}  // namespace cqlpp::driver::detail
