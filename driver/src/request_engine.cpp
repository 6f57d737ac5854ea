#include "request_decision.hpp"
#include "request_encoding.hpp"

#include "cqlpp/protocol/detail/block_cache.hpp"
#include "cqlpp/transport/detail/read_time.hpp"

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>

#include <algorithm>

namespace cqlpp::driver::detail {

// ---- the request engine -------------------------------------------------------
// Every request (simple, bound, batch, PREPARE) runs as one request_op: a small
// callback state machine allocated once per request, with no coroutine frame
// and no timer of its own (deadlines are swept by the connection). An attempt
// is one chain of tries over the shared query plan; a plain request has one,
// a speculative request adds attempts (allocated only then) on a timer. The
// connection calls back from its reader when an answer comes and the caller's
// coroutine resumes right there. What to do after an answer is decide()'s
// choice (request_decision.hpp), which on_answer() feeds and carries out;
// settle() is the one way out (answer, error, deadline, cancellation): it
// abandons the other attempts (their ids stay orphaned until their answers
// arrive), stops speculation and does the bookkeeping once.

bool session_impl::speculative(const exec_state& st) const noexcept {
    return st.idempotent && st.profile->speculative.max_executions > 1;
}

bool session_impl::begin(exec_state& st) {
    st.s = this;
    st.meta = meta;
    st.info.map = &st.meta->tokens;
    if (closed) {
        st.out = result(driver::errc::session_closed, diagnostics{"the session is closed", {}, {}});
        return false;
    }
    ++active;
    lb->plan(st.info, st.plan);
    return true;
}

bool session_impl::finish(exec_state& st) {
    --active;
    ++counters.requests;
    bool refresh_now = false;
    if (st.out.ok()) {
        counters.latency.record(transport::detail::answer_time(st.started) - st.started);
        // DDL returns once the driver's metadata knows the change (token-aware
        // routing for a new keyspace works from the next request on).
        if (st.out.kind() == proto::result_kind::schema_change && has_cluster_view()) refresh_now = true;
        else if (st.schema_altering) schedule_refresh(false, true);
    } else {
        ++counters.errors;
        if (st.out.error() == driver::errc::request_timeout) ++counters.timeouts;
    }
    if (closed && active == 0) drained.cancel();
    return refresh_now;
}

void session_impl::finish_unstarted(exec_state& st) {
    ++counters.requests;
    ++counters.errors;
    if (st.out.error() == driver::errc::request_timeout) ++counters.timeouts;
}

namespace {

// UNPREPARED names the statement the host lacks: the bound statement's, or
// one of a batch's (then each of them may be missing there, but no more).
const prepared_data* unprepared_target(const exec_state& st, const proto::error_response& se, int& limit) {
    limit = 2;
    if (!st.batch_stmt) return st.prepared;
    limit = static_cast<int>(std::min<std::size_t>(st.batch_stmt->size(), 100)) + 1;
    const auto* info = std::get_if<proto::unprepared_info>(&se.details);
    for (std::size_t i = 0; info && i < st.batch_stmt->size(); ++i) {
        const auto& e = st.batch_stmt->entries()[i];
        if (!e.bound) continue;
        const auto& p = st.batch_stmt->bound_at(e.index).prepared();
        if (p && p->id == info->id) return p.get();
    }
    return nullptr;
}

std::string timed_out_after(const exec_state& st, clock_type::time_point now) {
    return "request timed out after " +
           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - st.started).count()) + " ms";
}

}  // namespace

// Gathers the facts about an answer, lets decide() (request_decision.hpp)
// choose, and does what it chose to the request's outcome; the caller moves
// the attempt on. h is the attempt's host: a retry on the next host replaces
// it (with null when the plan is used up). Decided outside any coroutine so
// no frame holds the temporaries (memory per in-flight request).
action session_impl::on_answer(exec_state& st, transport::request_result& r, std::size_t pi, const host*& h,
                               int& unprepared_retries) {
    answer_facts f;
    const prepared_data* target = nullptr;
    clock_type::time_point now{};
    if (r.ec) {
        // Only a failed answer pays for the facts (a clock read, the policy's inputs).
        f.server_error = r.response ? r.response->server_error() : nullptr;
        f.kind = classify_answer(r.ec, f.server_error != nullptr);
        f.ec = r.ec;
        f.idempotent = st.idempotent;
        f.is_write = st.is_write;
        f.consistency = st.cl;
        f.retries = st.retries;
        if (f.kind == answer_kind::server_error && f.server_error->code == proto::server_errc::unprepared) {
            int limit = 0;
            target = unprepared_target(st, *f.server_error, limit);
            f.unprepared_target = target != nullptr;
            f.reprepare_left = unprepared_retries < limit;
        }
        now = clock_type::now();
        f.deadline_left = now < st.deadline;
        if (shut_down && (f.kind == answer_kind::connection_closed || f.kind == answer_kind::transport_error)) {
            // The session closed the connection under it (a cancelled close,
            // the last handle dropped): no retry, and no host is to blame.
            st.fail(driver::errc::session_closed, "shut down with the request in flight");
            return action::fail;
        }
    }
    const auto d = decide(f, *retry, [&] {
        h = st.plan.next();
        return h != nullptr;
    });
    const auto& endpoint = pools[pi].endpoint;
    switch (d.act) {
    case action::deliver: {
        const auto& frame = *r.response;
        std::shared_ptr<const column_set> cols;
        if (st.prepared) cols = st.prepared->shape().columns;
        if (const auto* res = std::get_if<proto::result_response>(&frame.message)) {
            if (const auto* rows = std::get_if<proto::rows_result>(&res->value)) {
                if (rows->metadata.new_metadata_id && st.prepared) {
                    // v5 METADATA_CHANGED: the table changed since PREPARE;
                    // later executions send the new id and use the new columns.
                    cols = std::make_shared<const column_set>(rows->metadata.columns);
                    st.prepared->set_shape(*rows->metadata.new_metadata_id, cols);
                } else if (!rows->metadata.no_metadata) {
                    cols = nullptr;  // the page carries its own metadata
                }
            }
        }
        st.out = result();
        st.out.set_response(std::move(r.response), std::move(cols));
        st.out.set_origin(*pools[pi].origin, st.attempts);
        st.done = true;
        return d.act;
    }
    case action::reprepare:
        // The host does not know the statement (restarted, evicted, or the
        // PREPARE has not reached it): prepare it there and send again.
        ++unprepared_retries;
        st.unprepared = target;
        ++counters.reprepares;
        return d.act;
    default: break;
    }
    if (d.why == fail_reason::cancelled) {
        // The caller cancelled the co_await (e.g. an awaitable_operators race):
        // the stream id stays orphaned until the answer arrives.
        st.fail(d.error, "request cancelled while waiting for " + endpoint);
        return d.act;
    }
    if (d.why == fail_reason::timed_out) {
        ++pools[pi].errors.client_timeouts;
        st.fail(d.error, timed_out_after(st, now) + " waiting for " + endpoint);
        return d.act;
    }
    // The host answered with an error or lost the request: it is one of the
    // failed attempts the caller's diagnostics list.
    st.note(endpoint, r.ec, f.server_error);
    count_node_error(pi, r.ec, f.server_error);
    switch (d.act) {
    case action::deliver_empty:
        st.out = result();
        st.out.set_origin(*pools[pi].origin, st.attempts);
        st.done = true;
        break;
    case action::fail:
        if (d.why == fail_reason::deadline_passed) st.fail(d.error, timed_out_after(st, now));
        else st.fail(d.error, describe_error(r.ec, f.server_error, endpoint));
        break;
    case action::retry_same_host:
    case action::retry_next_host:
        ++st.retries;
        ++counters.retries;
        ++pools[pi].retries;
        log()->debug("cqlpp: retrying ({}) after {} from {}",
                     d.act == action::retry_same_host ? "same host" : "next host", r.ec.message(), endpoint);
        break;
    default: break;  // no_host_left: the engine ends the attempt (fail_exhausted says why)
    }
    return d.act;
}

namespace {

struct request_op;

// One chain of tries: its own envelope, connection and host.
struct attempt : transport::pending_request {
    request_op* op = nullptr;
    std::shared_ptr<transport::connection> conn;  // the try in flight
    const host* h = nullptr;                      // the host being tried
    proto::byte_buffer buf;                       // the envelope as last encoded
    std::unique_ptr<proto::byte_buffer> prepare;  // the PREPARE sent after UNPREPARED (rare)
    proto::protocol_version enc_version = proto::protocol_version::v5;
    bool enc_lz4 = false;
    bool running = false;
    bool repreparing = false;
    std::uint8_t unprepared_retries = 0;
};

// Speculation's timer, shared with its pending wait: the wait may outlive the op.
struct speculation {
    explicit speculation(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    request_op* op = nullptr;  // null once the request is over
};

struct queued_request;
struct request_op;

// A request initiated from a thread other than the session's: the caller's
// cancellation slot lives on the caller's thread, so the canceller it holds
// reaches the request through this link, on the session's thread, and only
// while the request is not over (the session clears op before delivering).
struct foreign_link {
    request_op* op = nullptr;
};

// What a request_tracker needs beyond the request's state (allocated only
// when one is configured).
struct tracking_state {
    std::uint64_t id = 0;
    std::vector<clock_type::time_point> sent;  // per attempt: when it was last sent
};

struct request_op {
    using reencode_fn = void (*)(request_op&, attempt&, const transport::connection&, std::error_code&, std::string&);
    using deliver_fn = void (*)(request_op&, bool post);

    exec_state st;
    attempt first;
    std::unique_ptr<attempt[]> extra;    // speculative attempts (max_executions - 1)
    std::shared_ptr<speculation> spec;   // speculative requests only
    const void* stmt = nullptr;          // the caller's statement (alive while it awaits)
    reencode_fn reencode = nullptr;
    deliver_fn deliver = nullptr;
    std::optional<std::int64_t> timestamp;  // kept when re-encoding for another connection
    queued_request* queued = nullptr;       // its place in the throttle's queue while it waits
    std::shared_ptr<foreign_link> link;     // set when the caller is on another thread
    std::unique_ptr<tracking_state> tracking;  // session_config::tracker only
    std::uint8_t launched = 0;              // attempts started
    std::uint8_t running = 0;               // attempts still going
    std::uint8_t extra_count = 0;
    bool settled = false;                   // the answer is decided
    bool busy = false;                      // a metadata refresh holds the settled op

    template <class F>
    void for_each_attempt(F&& f) {
        f(first);
        for (std::uint8_t i = 0; i < extra_count; ++i) f(extra[i]);
    }

    // One per request: from the thread's block cache, not malloc (sized
    // delete: the derived op_type is what is deleted).
    static void* operator new(std::size_t n) { return proto::detail::cached_allocate(n); }
    static void operator delete(void* p, std::size_t n) noexcept { proto::detail::cached_deallocate(p, n); }
};

// A request waiting in the throttle's queue (allocated only then).
struct queued_request final : throttle_waiter {
    request_op* op = nullptr;
};

template <class Handler>
struct request_op_for final : request_op {
    explicit request_op_for(Handler&& h) : handler(std::move(h)) {}
    Handler handler;

    // Frees the op, then resumes the caller: inline from a completion, posted
    // when still inside the initiation or a cancellation.
    static void deliver_now(request_op& base, bool post) {
        auto& self = static_cast<request_op_for&>(base);
        auto& s = *self.st.s;
        if (self.link) return deliver_foreign(self, s);
        // No cancellation may reach the op once it is gone (even while a
        // posted delivery waits). Safe from inside the canceller itself: it
        // touches nothing after this.
        auto slot = asio::get_associated_cancellation_slot(self.handler);
        if (slot.is_connected()) slot.clear();
        self.for_each_attempt([&](attempt& a) { s.give_buffer(std::move(a.buf)); });
        auto h = std::move(self.handler);
        result out = std::move(self.st.out);
        delete &self;
        if (post) {
            auto ex = asio::get_associated_executor(h, s.ex);
            asio::post(ex, [h = std::move(h), out = std::move(out)]() mutable { std::move(h)(std::move(out)); });
            return;
        }
        std::move(h)(std::move(out));
    }

    // To the caller's executor, always posted; the slot is cleared there, on
    // the thread that owns it.
    static void deliver_foreign(request_op_for& self, session_impl& s) {
        self.link->op = nullptr;
        self.for_each_attempt([&](attempt& a) { s.give_buffer(std::move(a.buf)); });
        auto h = std::move(self.handler);
        result out = std::move(self.st.out);
        delete &self;
        auto ex = asio::get_associated_executor(h, s.ex);
        asio::post(ex, [h = std::move(h), out = std::move(out)]() mutable {
            auto slot = asio::get_associated_cancellation_slot(h);
            if (slot.is_connected()) slot.clear();
            std::move(h)(std::move(out));
        });
    }
};

void run_attempt(session_impl& s, request_op& op, attempt& a, bool post);
void throttle_released(session_impl& s);
void track_end(session_impl& s, request_op& op);

// The one way out: every attempt stops, speculation stops, then finish()'s
// bookkeeping and the delivery.
void settle(session_impl& s, request_op& op, bool post) {
    if (op.settled) return;
    op.settled = true;
    op.for_each_attempt([&](attempt& a) {
        if (a.conn && !a.done) a.conn->abandon(a);  // the id stays orphaned until its answer arrives
        a.conn.reset();
        a.running = false;
    });
    op.running = 0;
    if (op.spec) {
        op.spec->op = nullptr;
        op.spec->timer.cancel();
    }
    const bool refresh_first = s.finish(op.st);
    if (op.tracking) track_end(s, op);
    // Before the delivery, so a waiter gets the slot ahead of whatever the
    // resumed caller sends next.
    if (s.throttle) throttle_released(s);
    if (refresh_first) {
        // DDL: answer once the metadata shows the change.
        op.busy = true;
        asio::co_spawn(
            s.ex,
            [self = s.shared_from_this(), opp = &op]() -> asio::awaitable<void> {
                co_await self->refresh(false, true, nullptr);
                opp->busy = false;
                opp->deliver(*opp, false);
            },
            asio::detached);
        return;
    }
    op.deliver(op, post);
}

// An attempt ran out of hosts: the request fails once no other attempt runs.
void attempt_over(session_impl& s, request_op& op, attempt& a, bool post) {
    if (a.running) {
        a.running = false;
        --op.running;
    }
    if (!op.st.done && op.running > 0) return;
    if (!op.st.done) op.st.fail_exhausted();
    settle(s, op, post);
}

void arm_speculation(request_op& op) {
    if (op.launched > op.extra_count) return;  // every attempt started
    op.spec->timer.expires_after(op.st.profile->speculative.delay);
    op.spec->timer.async_wait([sp = op.spec](std::error_code ec) {
        // Cancelled (the request is over, or the session closed): never a new attempt.
        if (ec || !sp->op) return;
        auto& op = *sp->op;
        auto& s = *op.st.s;
        if (op.st.done || s.closed || clock_type::now() >= op.st.deadline) return;
        auto& a = op.extra[op.launched - 1];
        a.h = op.st.plan.next();
        if (!a.h) return;  // the plan is used up: the running attempts carry on
        ++op.launched;
        ++op.running;
        a.running = true;
        ++s.counters.speculative_executions;
        ++s.pools[a.h->pool_index].speculative_executions;
        arm_speculation(op);
        run_attempt(s, op, a, false);
    });
}

void on_attempt_complete(transport::pending_request& p);

// Moves the attempt to the shared plan's next host; false when it is used up.
bool take_next_host(request_op& op, attempt& a) {
    a.h = op.st.plan.next();
    return a.h != nullptr;
}

// ---- session_config::tracker ------------------------------------------
// Each call is made only when op.tracking exists, i.e. a tracker is configured.

std::string_view query_text(const statement& st, std::string&) { return st.query(); }
std::string_view query_text(const bound_statement& b, std::string&) {
    return b.prepared() ? std::string_view(b.prepared()->query) : std::string_view();
}
std::string_view query_text(const batch& b, std::string& buf) {
    buf = "BATCH of " + std::to_string(b.size()) + " statements";
    return buf;
}
std::string_view query_text(const prepare_spec& p, std::string&) { return p.query; }

template <class Statement>
void track_start(session_impl& s, request_op& op, const Statement& stmt) {
    op.tracking = std::make_unique<tracking_state>();
    op.tracking->id = ++s.last_request_id;
    std::string buf;
    s.tracker->on_start({op.tracking->id, query_text(stmt, buf), op.st.info.keyspace, op.st.cl, op.st.idempotent});
}

std::size_t attempt_index(const request_op& op, const attempt& a) {
    return &a == &op.first ? 0 : 1 + static_cast<std::size_t>(&a - op.extra.get());
}

void mark_sent(request_op& op, const attempt& a) {
    auto& sent = op.tracking->sent;
    const auto i = attempt_index(op, a);
    if (sent.size() <= i) sent.resize(i + 1);
    sent[i] = clock_type::now();
}

// One attempt is over on a.h: answered (ec empty), failed or never sent.
void track_attempt(session_impl& s, request_op& op, const attempt& a, std::error_code ec) {
    if (!op.tracking) return;
    auto& sent = op.tracking->sent;
    const auto i = attempt_index(op, a);
    std::chrono::nanoseconds latency{0};
    if (i < sent.size() && sent[i] != clock_type::time_point{}) {
        latency = clock_type::now() - sent[i];
        sent[i] = {};
    }
    const std::string_view host = a.h && a.h->pool_index < s.pools.size() ? std::string_view(s.pools[a.h->pool_index].endpoint)
                                                                          : std::string_view();
    s.tracker->on_attempt({op.tracking->id, host, ec, latency});
}

void track_end(session_impl& s, request_op& op) {
    const auto& out = op.st.out;
    s.tracker->on_end({op.tracking->id, out.error(), clock_type::now() - op.st.started, op.st.attempts,
                       out.ok() ? std::string_view(out.coordinator()) : std::string_view()});
    op.tracking.reset();
}

// Encodes op's request for conn into a.buf (reusing what is there when it fits).
bool encode_for(request_op& op, attempt& a, const transport::connection& conn) {
    auto& st = op.st;
    if (!a.buf.empty() && a.enc_version == conn.version() && a.enc_lz4 == conn.compression()) return true;
    a.buf.clear();
    std::error_code eec;
    std::string why;
    if (st.ctx) st.encode(st.ctx, conn, a.buf, eec, why);
    else op.reencode(op, a, conn, eec, why);
    if (eec) {
        a.buf.clear();
        st.fail(eec, std::move(why));
        return false;
    }
    a.enc_version = conn.version();
    a.enc_lz4 = conn.compression();
    return true;
}

// Walks the plan from a.h until one connection takes the request (then
// returns: on_attempt_complete continues), or the attempt is over. What to do
// at each step is request_decision.hpp's before_send / after_unsent.
void run_attempt(session_impl& s, request_op& op, attempt& a, bool post) {
    auto& st = op.st;
    const auto next_host = [&] { return take_next_host(op, a); };
    while (!st.done && a.h) {
        const auto now = st.attempts == 0 ? st.started : clock_type::now();
        if (const auto d = before_send(now < st.deadline); d.act == action::fail) {
            st.fail(d.error, timed_out_after(st, now));
            break;
        }
        const std::size_t pi = a.h->pool_index;
        std::shared_ptr<transport::connection> conn;
        if (pi < s.pools.size() && s.pools[pi].pool) conn = s.pools[pi].pool->pick();
        if (!conn) {
            st.note(a.h->endpoint_string(), transport::errc::no_connection, nullptr);
            if (pi < s.pools.size()) ++s.pools[pi].errors.unsent;
            track_attempt(s, op, a, transport::errc::no_connection);
            after_unsent(next_host);
            continue;
        }
        // The envelope is reused for a retry unless the connection speaks
        // another version or compression (then it is rebuilt from the statement).
        if (!encode_for(op, a, *conn)) break;
        a.envelope = std::span<std::uint8_t>(a.buf.data(), a.buf.size());
        a.deadline = st.deadline;
        a.on_complete = &on_attempt_complete;
        if (auto ec = conn->submit(a)) {
            st.note(s.pools[pi].endpoint, ec, nullptr);
            ++s.pools[pi].errors.unsent;
            track_attempt(s, op, a, ec);
            after_unsent(next_host);
            continue;
        }
        ++st.attempts;
        if (op.tracking) mark_sent(op, a);
        a.conn = std::move(conn);
        st.ctx = nullptr;  // the initiation's context dies with it; re-encoding uses the statement
        return;
    }
    attempt_over(s, op, a, post);
}

// UNPREPARED: PREPARE on the same connection, within the request's deadline;
// the attempt then runs the statement again on that host.
void send_prepare(session_impl& s, request_op& op, attempt& a) {
    auto& st = op.st;
    const auto& p = *st.unprepared;
    if (!a.prepare) a.prepare = std::make_unique<proto::byte_buffer>();
    a.prepare->clear();
    proto::prepare_request pr;
    pr.query = p.query;
    if (!p.prepare_keyspace.empty() && a.conn->version() == proto::protocol_version::v5) pr.keyspace = p.prepare_keyspace;
    a.conn->encode(proto::request(pr), {}, *a.prepare);
    a.envelope = std::span<std::uint8_t>(a.prepare->data(), a.prepare->size());
    a.deadline = st.deadline;
    a.repreparing = true;
    if (auto ec = a.conn->submit(a)) {
        a.repreparing = false;
        st.note(s.pools[a.h->pool_index].endpoint, ec, nullptr);
        a.conn.reset();
        after_unsent([&] { return take_next_host(op, a); });
        run_attempt(s, op, a, false);
    }
}

void on_prepared(session_impl& s, request_op& op, attempt& a) {
    auto& st = op.st;
    a.repreparing = false;
    const std::size_t pi = a.h->pool_index;
    a.conn.reset();
    const auto* res = !a.ec && a.response ? std::get_if<proto::result_response>(&a.response->message) : nullptr;
    const auto* prep = res ? std::get_if<proto::prepared_result>(&res->value) : nullptr;
    const auto outcome = a.ec == transport::errc::timeout ? reprepare_result::timed_out
                         : prep                           ? reprepare_result::prepared
                                                          : reprepare_result::failed;
    if (outcome == reprepare_result::prepared && prep->id != st.unprepared->id)
        log()->warn("cqlpp: re-prepare of \"{}\" returned another id (schema changed?)", st.unprepared->query);
    if (outcome == reprepare_result::failed) {
        const auto* se = a.response ? a.response->server_error() : nullptr;
        st.note(s.pools[pi].endpoint, a.ec ? a.ec : make_error_code(driver::errc::unexpected_response), se);
    }
    a.response.reset();
    const auto d = after_reprepare(outcome, [&] { return take_next_host(op, a); });
    if (d.act == action::fail) {
        st.fail(d.error, timed_out_after(st, clock_type::now()) + " re-preparing on " + s.pools[pi].endpoint);
        return settle(s, op, false);
    }
    // retry_same_host, retry_next_host (a.h moved on) or no_host_left (a.h is
    // null: run_attempt ends the attempt).
    run_attempt(s, op, a, false);
}

void on_attempt_complete(transport::pending_request& p) {
    auto& a = static_cast<attempt&>(p);
    auto& op = *a.op;
    auto& s = *op.st.s;
    if (a.repreparing) return on_prepared(s, op, a);
    transport::request_result r{a.ec, std::move(a.response)};
    const std::size_t pi = a.h->pool_index;
    if (op.tracking) track_attempt(s, op, a, r.ec);
    int unprepared = a.unprepared_retries;
    const auto act = s.on_answer(op.st, r, pi, a.h, unprepared);
    a.unprepared_retries = static_cast<std::uint8_t>(unprepared);
    if (act == action::reprepare) return send_prepare(s, op, a);
    a.conn.reset();
    switch (act) {
    case action::retry_same_host:
    case action::retry_next_host:  // a.h is the next host
    case action::no_host_left:     // a.h is null: the attempt ends, the request too unless another runs
        return run_attempt(s, op, a, false);
    default: return settle(s, op, false);
    }
}

template <class Statement, class Context>
void reencode_as(request_op& op, attempt& a, const transport::connection& c, std::error_code& ec, std::string& why) {
    // Another attempt's envelope for the same kind of connection will do.
    bool copied = false;
    op.for_each_attempt([&](attempt& o) {
        if (!copied && &o != &a && !o.buf.empty() && o.enc_version == c.version() && o.enc_lz4 == c.compression()) {
            a.buf = o.buf;
            copied = true;
        }
    });
    if (copied) return;
    Context ctx;
    exec_state tmp;
    tmp.profile = op.st.profile;
    if (!op.st.s->setup(*static_cast<const Statement*>(op.stmt), ctx, tmp)) {
        ec = tmp.out.error();
        why = tmp.out.diag().message;
        return;
    }
    ctx.c.qp.default_timestamp = op.timestamp;  // a retry keeps the write's timestamp
    tmp.encode(&ctx, c, a.buf, ec, why);
}

// ---- the throttle (session_config::throttle) ------------------------------------
// Off, a request pays one test of s.throttle in its initiation and one in
// settle(). On, a request the throttle lets through starts within its
// initiation as usual; one that must wait gets a queued_request
// (request_throttle keeps them in a FIFO plus a deadline heap) and is started
// by drain_throttle() when a slot frees up or the rate allows. A waiter fails
// without ever being sent when its deadline passes, when it is cancelled and
// when the session closes; those deliveries are posted, as no caller's
// initiation is on the stack to return to.

// The request of a waiter the throttle has let go (started, expired, ...).
request_op& leave_queue(throttle_waiter* w) {
    auto* q = static_cast<queued_request*>(w);
    auto& op = *q->op;
    op.queued = nullptr;
    delete q;
    return op;
}

// Starts a request: counts it active, plans it, runs its first attempt and
// arms speculation.
void launch(session_impl& s, request_op& op, bool post) {
    auto& st = op.st;
    // Fails only on a closed session, which no request the throttle admitted
    // meets: close() fails the waiters first, and one let through at once
    // starts right here in its initiation.
    if (!s.begin(st)) {
        if (op.tracking) track_end(s, op);
        return op.deliver(op, post);
    }
    op.first.buf = s.take_buffer();
    op.first.h = st.plan.next();
    op.first.running = true;
    op.launched = op.running = 1;
    if (s.speculative(st)) {
        // Allocated only here: a plain request pays for none of it.
        const auto n = std::min<std::size_t>(st.profile->speculative.max_executions - 1, 254);
        op.extra_count = static_cast<std::uint8_t>(n);
        op.extra = std::make_unique<attempt[]>(n);
        for (std::size_t i = 0; i < n; ++i) op.extra[i].op = &op;
        op.spec = std::make_shared<speculation>(s.ex);
        op.spec->op = &op;
        arm_speculation(op);
    }
    run_attempt(s, op, op.first, post);
}

void fail_unstarted(session_impl& s, request_op& op, std::error_code ec, std::string why) {
    op.st.fail(ec, std::move(why));
    s.finish_unstarted(op.st);
    if (op.tracking) track_end(s, op);
    op.deliver(op, true);
}

void drain_throttle(session_impl& s);

// Sets the timer for the next change that only time brings (a deadline in the
// queue, the rate's next slot), unless it already wakes up sooner.
void arm_throttle(session_impl& s, clock_type::time_point now) {
    auto& t = *s.throttle;
    const auto wake = t.core.next_wake(now);
    if (!wake || (t.armed && *t.armed <= *wake)) return;
    t.armed = *wake;
    t.timer.expires_at(*wake);
    t.timer.async_wait([w = s.weak_from_this()](std::error_code ec) {
        // Aborted: a sooner wake-up replaced this one, or the session closed.
        if (ec) return;
        auto self = w.lock();
        if (!self || !self->throttle || self->closed) return;
        self->throttle->armed.reset();
        drain_throttle(*self);
    });
}

// Fails the waiters whose deadline has passed, starts those the limits now
// allow, oldest first, and sets the timer for the rest.
void drain_throttle(session_impl& s) {
    auto& t = *s.throttle;
    // A request started below may fail at once and release its slot: this
    // loop starts the next one, not a call nested in it (no recursion as deep
    // as the queue).
    if (t.draining) return;
    t.draining = true;
    const auto now = clock_type::now();
    while (auto* w = t.core.pop_expired(now)) {
        auto& op = leave_queue(w);
        fail_unstarted(s, op, driver::errc::request_timeout,
                       timed_out_after(op.st, now) + " waiting in the throttle queue");
    }
    while (auto* w = t.core.pop_ready(now)) launch(s, leave_queue(w), true);
    t.draining = false;
    arm_throttle(s, now);
}

void throttle_released(session_impl& s) {
    s.throttle->core.release();
    if (s.throttle->core.queue_depth() > 0) drain_throttle(s);
}

// Whether the request may start now. Otherwise it waits in the queue (the
// throttle starts it later) or, the queue being full, has failed.
bool admit(session_impl& s, request_op& op) {
    auto& t = *s.throttle;
    const auto now = clock_type::now();
    if (t.core.try_start(now)) return true;
    op.st.s = &s;
    auto q = std::make_unique<queued_request>();
    q->op = &op;
    q->deadline = op.st.deadline;
    if (!t.core.enqueue(*q, now)) {
        fail_unstarted(s, op, driver::errc::request_throttled,
                       "request throttled: queue of " + std::to_string(t.core.max_queue_size()) + " full");
        return false;
    }
    op.queued = q.release();
    // The initiation's encoding context dies with it: the first attempt
    // encodes from the statement, which outlives the wait.
    op.st.ctx = nullptr;
    arm_throttle(s, now);
    return false;
}

struct request_canceller {
    request_op* op;
    void operator()(asio::cancellation_type t) const {
        if (t == asio::cancellation_type::none || op->settled) return;
        auto& s = *op->st.s;
        if (op->queued) {
            s.throttle->core.remove(*op->queued, clock_type::now());
            leave_queue(op->queued);
            return fail_unstarted(s, *op, transport::errc::cancelled,
                                  "request cancelled while waiting in the throttle queue");
        }
        const auto* h = op->first.h;
        op->st.fail(transport::errc::cancelled,
                    "request cancelled while waiting for " + (h ? s.pools[h->pool_index].endpoint : std::string()));
        settle(s, *op, true);
    }
};

// Cancels a foreign caller's request: emitted on the caller's thread, carried
// out on the session's.
struct foreign_canceller {
    std::shared_ptr<foreign_link> link;
    asio::any_io_executor ex;
    void operator()(asio::cancellation_type t) const {
        if (t == asio::cancellation_type::none) return;
        asio::post(ex, [link = link, t] {
            if (link->op) request_canceller{link->op}(t);
        });
    }
};

template <class Statement, class Context>
struct request_initiation {
    session_impl* s;
    const Statement* stmt;

    template <class Handler>
    void operator()(Handler&& handler) const {
        if (s->on_executor()) return start(std::forward<Handler>(handler), nullptr);
        // Another thread: the request starts on the session's executor (the
        // statement stays alive meanwhile: its caller awaits the answer).
        auto link = std::make_shared<foreign_link>();
        auto slot = asio::get_associated_cancellation_slot(handler);
        if (slot.is_connected()) slot.template emplace<foreign_canceller>(foreign_canceller{link, s->ex});
        asio::post(s->ex, [keep = s->shared_from_this(), init = *this, h = std::move(handler),
                           link = std::move(link)]() mutable { init.start(std::move(h), std::move(link)); });
    }

    template <class Handler>
    void start(Handler&& handler, std::shared_ptr<foreign_link> link) const {
        using op_type = request_op_for<std::decay_t<Handler>>;
        auto* op = new op_type(std::move(handler));
        op->deliver = &op_type::deliver_now;
        if (link) {
            link->op = op;
            op->link = std::move(link);
        }
        op->stmt = stmt;
        op->reencode = &reencode_as<Statement, Context>;
        op->first.op = op;
        auto& st = op->st;
        Context ctx;  // read by the first encoding only
        if (!s->setup(*stmt, ctx, st)) {
            st.s = s;
            return op->deliver(*op, true);
        }
        op->timestamp = ctx.c.qp.default_timestamp;
        if (s->tracker) track_start(*s, *op, *stmt);
        // A foreign caller's slot already holds its foreign_canceller.
        auto slot = asio::get_associated_cancellation_slot(op->handler);
        if (!op->link && slot.is_connected()) slot.template emplace<request_canceller>(request_canceller{op});
        if (s->throttle && !s->closed && !admit(*s, *op)) return;  // waiting, or refused
        launch(*s, *op, true);
    }
};

template <class Statement, class Context>
asio::awaitable<result> run_request(session_impl* s, const Statement& stmt) {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(result)>(
        request_initiation<Statement, Context>{s, &stmt}, asio::use_awaitable);
}

}  // namespace

void session_impl::fail_queued(std::error_code ec, std::string_view why) {
    const auto now = clock_type::now();
    while (auto* w = throttle->core.pop_front(now)) fail_unstarted(*this, leave_queue(w), ec, std::string(why));
}

asio::awaitable<result> session_impl::execute(const statement& s) { return run_request<statement, simple_ctx>(this, s); }
asio::awaitable<result> session_impl::execute(const bound_statement& b) {
    return run_request<bound_statement, bound_ctx>(this, b);
}
asio::awaitable<result> session_impl::execute(const batch& bt) { return run_request<batch, batch_ctx>(this, bt); }

void session_impl::start_async(result_handler h) {
    const void* stmt = h.statement_ptr();
    switch (h.kind()) {
    case statement_kind::simple:
        return request_initiation<statement, simple_ctx>{this, static_cast<const statement*>(stmt)}(std::move(h));
    case statement_kind::bound:
        return request_initiation<bound_statement, bound_ctx>{this, static_cast<const bound_statement*>(stmt)}(
            std::move(h));
    case statement_kind::batch:
        return request_initiation<batch, batch_ctx>{this, static_cast<const batch*>(stmt)}(std::move(h));
    }
}
asio::awaitable<result> session_impl::run(const prepare_spec& p) { return run_request<prepare_spec, prepare_ctx>(this, p); }

}  // namespace cqlpp::driver::detail
