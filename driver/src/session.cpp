// The public facade: session's members, each a thin call into a shard (a
// session_impl on one executor). Most sessions have one shard; connect() with
// several executors gives one per executor.
#include "session_impl.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include <map>
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

asio::awaitable<std::error_code> start_shard(impl_ptr impl, diagnostics& diag) {
    // Named, not a temporary inside the co_await: GCC 12 destroys such
    // temporaries twice.
    auto start = [impl, d = &diag]() -> asio::awaitable<std::error_code> {
        auto e = co_await impl->start(*d);
        if (e) impl->shutdown_now();
        co_return e;
    };
    if (impl->on_executor()) co_return co_await start();
    co_return co_await asio::co_spawn(impl->ex, std::move(start), asio::use_awaitable);
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
asio::awaitable<connect_result> connect_shards(std::vector<session::executor_type> executors, const session_config& cfg,
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
    for (std::size_t i = 0; i < shards.size(); ++i) {
        diagnostics diag;
        auto ec = co_await start_shard(shards[i], diag);
        if (ec) {
            for (std::size_t j = 0; j < i; ++j) shutdown_on_its_executor(shards[j]);
            if (shards.size() > 1) diag.message = "shard " + std::to_string(i) + ": " + diag.message;
            co_return connect_result(ec, std::move(diag));
        }
    }
    if (shards.size() == 1) co_return connect_result(std::make_shared<session>(shards.front()));
    co_return connect_result(std::make_shared<session>(std::move(shards)));
}

// session_config::io_threads: the threads first, then the shards on them.
asio::awaitable<connect_result> connect_owned(session_config cfg) {
    auto threads = std::make_shared<detail::io_thread_set>(std::max<std::size_t>(cfg.io_threads, 1));
    auto executors = threads->executors();  // named, not a temporary in the co_await (GCC 12)
    auto connecting = connect_shards(std::move(executors), cfg, threads);
    auto r = co_await std::move(connecting);
    if (!r.ok()) {
        finish_threads(std::move(threads));
        co_return r;
    }
    detail::session_internals::own_threads(*r.value(), std::move(threads));
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
    if (cfg.io_threads > 0) {
        auto connecting = connect_owned(std::move(cfg));
        co_return co_await std::move(connecting);
    }
    auto impl = std::make_shared<detail::session_impl>(ex, std::move(cfg));
    diagnostics diag;
    auto ec = co_await start_shard(impl, diag);
    if (ec) co_return connect_result(ec, std::move(diag));
    co_return connect_result(std::make_shared<session>(impl));
}

asio::awaitable<connect_result> session::connect(std::vector<executor_type> executors, session_config cfg) {
    auto connecting = cfg.io_threads > 0 ? connect_owned(std::move(cfg)) : connect_shards(std::move(executors), cfg, nullptr);
    co_return co_await std::move(connecting);
}

std::future<connect_result> session::connect_future(session_config cfg) {
    if (cfg.io_threads == 0) cfg.io_threads = 1;
    // The connecting runs on a thread of its own (it ends with it).
    auto io = std::make_shared<asio::io_context>();
    auto f = asio::co_spawn(*io, connect_owned(std::move(cfg)), asio::use_future);
    std::thread([io] { io->run(); }).detach();
    return f;
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
