// The public facade: session's members, each a thin call into a shard (a
// session_impl on one executor). Most sessions have one shard; connect() with
// several executors gives one per executor.
#include "session_impl.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/dispatch.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include <map>
#include <mutex>
#include <thread>

namespace cqlpp::driver {

namespace {

using impl_ptr = std::shared_ptr<detail::session_impl>;

// Runs a shard's coroutine on the shard's executor, the caller resuming on its own.
template <class T>
asio::awaitable<T> on_shard(impl_ptr impl, asio::awaitable<T> work) {
    if (impl->on_executor()) co_return co_await std::move(work);
    co_return co_await asio::co_spawn(impl->ex, std::move(work), asio::use_awaitable);
}

void shutdown_on_its_executor(const impl_ptr& impl) {
    if (impl->closed) return;
    if (impl->on_executor()) {
        impl->shutdown_now();
        return;
    }
    asio::post(impl->ex, [impl] {
        if (!impl->closed) impl->shutdown_now();
    });
}

// A connect in progress, shared with its canceller (the caller's cancellation
// slot, on the caller's thread): the shards created so far, to stop them.
struct connect_op {
    std::mutex m;
    std::vector<impl_ptr> shards;
    bool cancelled = false;
    bool finished = false;  // the answer is decided: a cancellation comes too late
    bool is_cancelled() {
        std::lock_guard l(m);
        return cancelled;
    }
};

diagnostics aborted_diag(const char* what) {
    diagnostics d;
    d.message = what;
    d.message += " cancelled";
    return d;
}

// On a shard's executor: a cancelled connect stops the shard's start at once
// (the coroutine awaiting a socket, the handshake or a query is aborted) and
// closes whatever it opened.
void abort_start(const impl_ptr& sh) {
    if (!sh->closed) sh->shutdown_now();
    sh->starting.emit(asio::cancellation_type::terminal);
}

struct connect_canceller {
    std::shared_ptr<connect_op> op;
    void operator()(asio::cancellation_type t) const {
        if (t == asio::cancellation_type::none) return;
        std::vector<impl_ptr> shards;
        {
            std::lock_guard l(op->m);
            if (op->finished || op->cancelled) return;
            op->cancelled = true;
            shards = op->shards;
        }
        for (auto& sh : shards) asio::post(sh->ex, [sh] { abort_start(sh); });
    }
};

asio::awaitable<std::error_code> start_shard(impl_ptr impl, diagnostics& diag) {
    // Named, not a temporary inside the co_await: GCC 12 destroys such
    // temporaries twice.
    auto start = [impl, d = &diag]() -> asio::awaitable<std::error_code> {
        std::error_code e;
        try {
            e = co_await impl->start(*d);
        } catch (const std::system_error& x) {
            // Cancelled (abort_start): the first co_await after it throws.
            e = x.code();
        }
        if (e) impl->shutdown_now();
        co_return e;
    };
    // Spawned from the shard's executor, so that connect's cancellation
    // (abort_start, emitted there) reaches whatever the start awaits: the
    // `starting` slot is bound there too (a cancellation_signal is not
    // thread-safe). A shard stopped before its start began does not start.
    auto token = asio::experimental::as_tuple(asio::use_awaitable);
    auto started = asio::async_initiate<decltype(token), void(std::exception_ptr, std::error_code)>(
        [impl, start = std::move(start)](auto handler) mutable {
            asio::post(impl->ex, [impl, start = std::move(start), h = std::move(handler)]() mutable {
                auto back = asio::get_associated_executor(h);
                if (impl->closed) {
                    asio::dispatch(back, [h = std::move(h)]() mutable {
                        std::move(h)(nullptr, std::error_code(asio::error::operation_aborted));
                    });
                    return;
                }
                asio::co_spawn(impl->ex, std::move(start),
                               asio::bind_cancellation_slot(impl->starting.slot(), asio::bind_executor(back, std::move(h))));
            });
        },
        token);
    auto [e, ec] = co_await std::move(started);  // named, not a temporary in the co_await (GCC 12)
    if (e) std::rethrow_exception(e);  // a bug, not a failure: let it surface
    co_return ec;
}

// What the shards' session_metrics add up to.
void add(session_metrics& into, const session_metrics& m) {
    into.requests += m.requests;
    into.errors += m.errors;
    into.retries += m.retries;
    into.speculative_executions += m.speculative_executions;
    into.timeouts += m.timeouts;
    into.reprepares += m.reprepares;
    into.control_reconnects += m.control_reconnects;
    into.topology_refreshes += m.topology_refreshes;
    into.schema_refreshes += m.schema_refreshes;
    into.latency.merge(m.latency);
    into.throttle.queue_depth += m.throttle.queue_depth;
    into.throttle.in_flight += m.throttle.in_flight;
    into.throttle.queued += m.throttle.queued;
    into.throttle.rejected += m.throttle.rejected;
    into.throttle.expired += m.throttle.expired;
    into.throttle.total_delay += m.throttle.total_delay;
    into.bytes_sent += m.bytes_sent;
    into.bytes_received += m.bytes_received;
    // The shards share their statements: each caches the same ones.
    into.prepared_cache_size = std::max(into.prepared_cache_size, m.prepared_cache_size);
    for (const auto& h : m.hosts) {
        auto it = std::find_if(into.hosts.begin(), into.hosts.end(), [&](const auto& x) { return x.endpoint == h.endpoint; });
        if (it == into.hosts.end()) {
            into.hosts.push_back(h);
            continue;
        }
        auto& x = *it;
        x.up = x.up || h.up;
        x.pool.connections += h.pool.connections;
        x.pool.in_flight += h.pool.in_flight;
        x.pool.orphaned += h.pool.orphaned;
        x.pool.connect_attempts += h.pool.connect_attempts;
        x.pool.connect_failures += h.pool.connect_failures;
        x.pool.reconnects += h.pool.reconnects;
        x.pool.bytes_written += h.pool.bytes_written;
        x.pool.bytes_read += h.pool.bytes_read;
        x.pool.write_syscalls += h.pool.write_syscalls;
        x.available_streams += h.available_streams;
        x.errors.unsent += h.errors.unsent;
        x.errors.aborted += h.errors.aborted;
        x.errors.read_timeouts += h.errors.read_timeouts;
        x.errors.write_timeouts += h.errors.write_timeouts;
        x.errors.unavailables += h.errors.unavailables;
        x.errors.others += h.errors.others;
        x.errors.client_timeouts += h.errors.client_timeouts;
        x.retries += h.retries;
        x.speculative_executions += h.speculative_executions;
    }
    into.connected_nodes = 0;
    for (const auto& h : into.hosts)
        if (h.pool.connections > 0) ++into.connected_nodes;
}

// One shard's figures, from any thread.
session_metrics shard_metrics(const impl_ptr& impl) {
    session_metrics m;
    if (impl->on_executor()) {
        impl->fill_metrics(m);
    } else {
        // The pools, the prepared cache and the throttle belong to the shard's
        // thread: ask it, but never wait long (it may be stopped, or be this
        // caller's own loop under another executor); without an answer the
        // counters come alone.
        auto p = std::make_shared<std::promise<session_metrics>>();
        auto f = p->get_future();
        asio::post(impl->ex, [impl, p] {
            session_metrics part;
            impl->fill_metrics(part);
            p->set_value(std::move(part));
        });
        if (f.wait_for(std::chrono::milliseconds(500)) == std::future_status::ready) m = f.get();
    }
    // The counters are readable from any thread: fresh whichever way the rest came.
    impl->counters.snapshot_into(m);
    return m;
}

// The session's own threads end: joined here, or (asked on one of them, which
// cannot join itself) by a background thread.
void finish_threads(std::shared_ptr<detail::io_thread_set> t) {
    if (!t) return;
    constexpr auto grace = std::chrono::milliseconds(2000);
    if (t->on_own_thread()) {
        std::thread([t = std::move(t), grace] { t->stop_and_join(grace); }).detach();
        return;
    }
    t->stop_and_join(grace);
}

// Shards on the given executors: the first holds the control connection, the
// others share its cluster view.
asio::awaitable<connect_result> connect_shards(std::shared_ptr<connect_op> op, std::vector<session::executor_type> executors,
                                               const session_config& cfg,
                                               const std::shared_ptr<detail::io_thread_set>& threads) {
    if (executors.empty()) {
        diagnostics d;
        d.message = "connect: no executor given";
        co_return connect_result(make_error_code(errc::no_contact_point), std::move(d));
    }
    std::vector<impl_ptr> shards;
    for (auto& ex : executors) {
        shards.push_back(std::make_shared<detail::session_impl>(ex, cfg));
        shards.back()->own_threads = threads;
    }
    if (shards.size() > 1) {
        auto group = std::make_shared<detail::shard_group>();
        for (std::size_t i = 0; i < shards.size(); ++i) {
            group->shards.push_back(shards[i]);
            shards[i]->group = group;
            shards[i]->shard_index = i;
        }
        // The throttle's limits hold for the session, not per shard.
        if (cfg.throttle.enabled()) {
            auto shared = std::make_shared<detail::shared_throttle>(std::chrono::steady_clock::now());
            for (auto& sh : shards) sh->throttle->core.share(shared);
        }
    }
    {
        std::lock_guard l(op->m);
        if (op->cancelled) co_return connect_result(asio::error::operation_aborted, aborted_diag("connect"));
        op->shards = shards;
    }
    for (std::size_t i = 0; i < shards.size(); ++i) {
        diagnostics diag;
        auto ec = co_await start_shard(shards[i], diag);
        if (!ec && op->is_cancelled()) ec = asio::error::operation_aborted;
        if (ec) {
            for (std::size_t j = 0; j < i; ++j) shutdown_on_its_executor(shards[j]);
            if (shards.size() > 1) diag.message = "shard " + std::to_string(i) + ": " + diag.message;
            co_return connect_result(ec, std::move(diag));
        }
    }
    if (shards.size() == 1) co_return connect_result(std::make_shared<session>(shards.front()));
    co_return connect_result(std::make_shared<session>(std::move(shards)));
}

// The whole connect: the session's own threads first (io_threads), then the
// shards; decides, once, between the answer and a cancellation.
asio::awaitable<connect_result> connect_all(std::shared_ptr<connect_op> op, std::vector<session::executor_type> executors,
                                            session_config cfg) {
    std::shared_ptr<detail::io_thread_set> threads;
    if (cfg.io_threads > 0) {
        threads = std::make_shared<detail::io_thread_set>(cfg.io_threads);
        executors = threads->executors();
    }
    auto connecting = connect_shards(op, std::move(executors), cfg, threads);  // named (GCC 12)
    auto r = co_await std::move(connecting);
    bool cancelled = false;
    {
        std::lock_guard l(op->m);
        op->finished = true;
        cancelled = op->cancelled;
        op->shards.clear();
    }
    if (r.ok() && threads) detail::session_internals::own_threads(*r.value(), threads);
    else finish_threads(threads);
    threads.reset();
    // A session connected just as the cancellation came goes again: its
    // destructor shuts it down (and joins its threads) here.
    if (cancelled) r = connect_result(asio::error::operation_aborted, aborted_diag("connect"));
    co_return r;
}

}  // namespace

namespace detail {

io_thread_set::io_thread_set(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        ios.push_back(std::make_unique<asio::io_context>());
        work_.emplace_back(ios.back()->get_executor());
    }
    for (std::size_t i = 0; i < n; ++i) threads.emplace_back([io = ios[i].get()] { io->run(); });
}

io_thread_set::~io_thread_set() {
    // stop_and_join() has run (the session's destructor or connect() saw to
    // it); a thread still joinable here would outlive its io_context.
    for (auto& io : ios) io->stop();
    for (auto& t : threads)
        if (t.joinable()) t.detach();
}

std::vector<asio::any_io_executor> io_thread_set::executors() const {
    std::vector<asio::any_io_executor> out;
    for (const auto& io : ios) out.push_back(io->get_executor());
    return out;
}

bool io_thread_set::on_own_thread() const noexcept {
    const auto me = std::this_thread::get_id();
    return std::any_of(threads.begin(), threads.end(), [&](const std::thread& t) { return t.get_id() == me; });
}

void io_thread_set::stop_and_join(std::chrono::milliseconds grace) {
    {
        std::lock_guard l(m_);
        if (joined_) return;
        joined_ = true;
        for (auto& w : work_) w.reset();
    }
    // Each io_context ends by itself once idle (the shards have shut down);
    // one still busy after the grace period (a connect attempt) is stopped.
    const auto deadline = std::chrono::steady_clock::now() + grace;
    for (auto& io : ios)
        while (!io->stopped() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (auto& io : ios) io->stop();
    for (auto& t : threads)
        if (t.joinable()) t.join();
    // What one shard posted to another after that one's thread had ended
    // (the shards are closed: it finds nothing to do) runs here, so no
    // handler is left holding a shard when the io_contexts go.
    for (int round = 0; round < 10; ++round) {
        std::size_t ran = 0;
        for (auto& io : ios) {
            io->restart();
            ran += io->poll();
        }
        if (ran == 0) break;
    }
}

}  // namespace detail

session::session(std::shared_ptr<detail::session_impl> impl) : impl_(std::move(impl)) { shards_.push_back(impl_); }
session::session(std::vector<std::shared_ptr<detail::session_impl>> shards)
    : impl_(shards.front()), shards_(std::move(shards)) {}

session::~session() {
    // Closing is asynchronous; a session dropped without close() stops at
    // once, each shard on its own executor whichever thread dropped the last handle.
    for (const auto& sh : shards_) shutdown_on_its_executor(sh);
    finish_threads(std::move(threads_));
}

const std::shared_ptr<detail::session_impl>& session::pick() const noexcept {
    if (shards_.size() == 1) return impl_;
    // A request issued on one of the shards' threads stays there; from
    // anywhere else the shards take turns.
    for (const auto& sh : shards_)
        if (sh->on_executor()) return sh;
    return shards_[next_shard_.fetch_add(1, std::memory_order_relaxed) % shards_.size()];
}

asio::awaitable<connect_result> session::connect(executor_type ex, session_config cfg) {
    return async_connect(std::move(ex), std::move(cfg), asio::use_awaitable);
}

asio::awaitable<connect_result> session::connect(std::vector<executor_type> executors, session_config cfg) {
    return async_connect(std::move(executors), std::move(cfg), asio::use_awaitable);
}

std::future<connect_result> session::connect_future(session_config cfg) {
    return async_connect(std::move(cfg), asio::use_future);
}

session::executor_type session::connect_executor(const std::vector<executor_type>& executors) {
    if (!executors.empty()) return executors.front();
    // No executor of the caller's: the connecting runs on a thread of its own,
    // which ends once nothing holds this executor (its work is tracked) and
    // nothing is queued there, i.e. right after the answer is delivered.
    auto io = std::make_shared<asio::io_context>();
    executor_type ex = asio::prefer(io->get_executor(), asio::execution::outstanding_work.tracked);
    std::thread([io] { io->run(); }).detach();
    return ex;
}

void session::start_connect(executor_type runner, std::vector<executor_type> executors, session_config cfg,
                            detail::completion<connect_result> h) {
    auto op = std::make_shared<connect_op>();
    if (auto slot = h.slot(); slot.is_connected()) slot.template emplace<connect_canceller>(connect_canceller{op});
    if (executors.empty() && cfg.io_threads == 0) cfg.io_threads = 1;
    asio::co_spawn(runner, connect_all(op, std::move(executors), std::move(cfg)),
                   [h = std::move(h)](std::exception_ptr e, connect_result r) mutable {
                       if (e) std::rethrow_exception(e);  // a bug, not a failure: let it surface
                       std::move(h).complete(std::move(r));
                   });
}

namespace {

// A prepare in progress, on its shard's executor only: whichever of the
// answer and the cancellation comes first completes it.
struct prepare_call {
    explicit prepare_call(detail::completion<outcome<prepared_statement>> c) : h(std::move(c)) {}
    detail::completion<outcome<prepared_statement>> h;
    asio::cancellation_signal inner;  // cancels the coroutine (its PREPARE request)
    bool done = false;
};

struct prepare_canceller {
    std::shared_ptr<prepare_call> call;
    asio::any_io_executor ex;  // the shard's
    void operator()(asio::cancellation_type t) const {
        if (t == asio::cancellation_type::none) return;
        asio::post(ex, [call = call] {
            if (call->done) return;
            call->done = true;
            // The PREPARE in flight is given up: its stream id stays taken
            // until the late answer arrives, which is then dropped; nothing
            // is cached.
            call->inner.emit(asio::cancellation_type::terminal);
            std::move(call->h).complete(
                outcome<prepared_statement>(asio::error::operation_aborted, aborted_diag("prepare")));
        });
    }
};

// Turns a graceful close into an immediate shutdown: every shard stops now
// (requests in flight fail), and the close completes once that is done.
struct close_canceller {
    std::vector<impl_ptr> shards;
    void operator()(asio::cancellation_type t) const {
        if (t == asio::cancellation_type::none) return;
        // Not shutdown_on_its_executor(): the graceful close has already set
        // `closed`, and it is that close which is cut short.
        for (const auto& sh : shards)
            asio::post(sh->ex, [sh] {
                if (!sh->shut_down) sh->shutdown_now();
            });
    }
};

}  // namespace

void session::start_prepare(const std::shared_ptr<detail::session_impl>& impl, std::string query, std::string keyspace,
                            detail::completion<outcome<prepared_statement>> h) {
    auto call = std::make_shared<prepare_call>(std::move(h));
    if (auto slot = call->h.slot(); slot.is_connected())
        slot.template emplace<prepare_canceller>(prepare_canceller{call, impl->ex});
    // Spawned from the shard's executor: the inner signal is bound (and emitted) there only.
    asio::post(impl->ex, [impl, call, q = std::move(query), k = std::move(keyspace)]() mutable {
        if (call->done) return;  // cancelled before it started
        asio::co_spawn(impl->ex, impl->prepare(std::move(q), std::move(k)),
                       asio::bind_cancellation_slot(
                           call->inner.slot(), [call](std::exception_ptr e, outcome<prepared_statement> r) {
                               if (call->done) return;  // cancelled: the late answer goes nowhere
                               call->done = true;
                               if (e) std::rethrow_exception(e);  // only a cancellation throws, and it set done
                               std::move(call->h).complete(std::move(r));
                           }));
    });
}

void session::start_close(detail::completion<> h) {
    if (auto slot = h.slot(); slot.is_connected()) slot.template emplace<close_canceller>(close_canceller{shards_});
    asio::co_spawn(impl_->ex, close(), [self = shared_from_this(), h = std::move(h)](std::exception_ptr e) mutable {
        if (e) std::rethrow_exception(e);
        std::move(h).complete();
    });
}

void session::start_async(const std::shared_ptr<detail::session_impl>& impl, detail::result_handler h) {
    impl->start_async(std::move(h));
}
session::executor_type session::executor_of(const std::shared_ptr<detail::session_impl>& impl) noexcept {
    return impl->ex;
}

asio::awaitable<result> session::execute(const statement& s) { return pick()->execute(s); }
asio::awaitable<result> session::execute(const bound_statement& s) { return pick()->execute(s); }
asio::awaitable<result> session::execute(const batch& b) { return pick()->execute(b); }
asio::awaitable<result> session::execute(std::string_view cql) {
    statement s{std::string(cql)};
    co_return co_await pick()->execute(s);
}
// The coroutine members run on the shard's executor: awaited from another
// one, the work is spawned there and the caller resumes on its own.
asio::awaitable<outcome<prepared_statement>> session::prepare(std::string query, std::string keyspace) {
    const auto& impl = pick();
    return on_shard(impl, impl->prepare(std::move(query), std::move(keyspace)));
}

std::future<result> session::execute_future(statement s) {
    auto impl = pick();
    return asio::co_spawn(
        impl->ex, [impl, s = std::move(s)]() -> asio::awaitable<result> { co_return co_await impl->execute(s); },
        asio::use_future);
}
std::future<result> session::execute_future(bound_statement s) {
    auto impl = pick();
    return asio::co_spawn(
        impl->ex, [impl, s = std::move(s)]() -> asio::awaitable<result> { co_return co_await impl->execute(s); },
        asio::use_future);
}
void session::execute_async(statement s, std::function<void(result)> done) {
    auto impl = pick();
    asio::co_spawn(
        impl->ex,
        [impl, s = std::move(s), done = std::move(done)]() -> asio::awaitable<void> { done(co_await impl->execute(s)); },
        asio::detached);
}
void session::execute_async(bound_statement s, std::function<void(result)> done) {
    auto impl = pick();
    asio::co_spawn(
        impl->ex,
        [impl, s = std::move(s), done = std::move(done)]() -> asio::awaitable<void> { done(co_await impl->execute(s)); },
        asio::detached);
}
std::future<outcome<prepared_statement>> session::prepare_future(std::string query, std::string keyspace) {
    auto impl = pick();
    return asio::co_spawn(
        impl->ex,
        [impl, q = std::move(query), k = std::move(keyspace)]() -> asio::awaitable<outcome<prepared_statement>> {
            co_return co_await impl->prepare(q, k);
        },
        asio::use_future);
}

asio::awaitable<void> session::close() {
    // Every shard drains, the first (the cluster view's) last. The session's
    // own threads (io_threads) run on: a request made after close() must
    // still be answered (session_closed). The last handle's destructor ends them.
    for (std::size_t i = shards_.size(); i-- > 0;) co_await on_shard(shards_[i], shards_[i]->close());
}
bool session::is_closed() const noexcept { return impl_->closed; }
std::shared_ptr<const cluster_metadata> session::metadata() const noexcept { return std::atomic_load(&impl_->meta); }
asio::awaitable<outcome<void>> session::refresh_metadata() {
    // The first shard reads the cluster; the others adopt its snapshot (each
    // has by the time this returns).
    diagnostics diag;
    auto ec = co_await on_shard(impl_, impl_->refresh(true, true, &diag));
    if (ec) {
        if (diag.message.empty()) diag.message = "metadata refresh failed: " + ec.message();
        co_return outcome<void>(ec, std::move(diag));
    }
    for (std::size_t i = 1; i < shards_.size(); ++i) {
        const auto& sh = shards_[i];
        auto catch_up = [sh]() -> asio::awaitable<void> {
            if (sh->group) sh->adopt(std::atomic_load(&sh->group->latest));
            co_return;
        };
        co_await on_shard(sh, catch_up());
    }
    co_return outcome<void>();
}
const session_config& session::config() const noexcept { return impl_->cfg; }
protocol::protocol_version session::protocol_version() const noexcept { return impl_->version; }
session::executor_type session::get_executor() const noexcept { return impl_->ex; }
std::size_t session::shard_count() const noexcept { return shards_.size(); }

session_metrics session::metrics() const {
    if (shards_.size() == 1) return shard_metrics(impl_);
    session_metrics m;
    for (const auto& sh : shards_) add(m, shard_metrics(sh));
    return m;
}

}  // namespace cqlpp::driver
