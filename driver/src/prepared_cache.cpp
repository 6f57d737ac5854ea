// Prepared statements: the bounded LRU cache, PREPARE (and on every host),
// and re-preparing on a host that comes back.
#include "request_encoding.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include <algorithm>

namespace cqlpp::driver::detail {

asio::awaitable<std::error_code> session_impl::reprepare(transport::connection& c, std::size_t pool_index,
                                                         const prepared_data& p_, std::chrono::milliseconds timeout) {
    const auto* p = &p_;
    auto key = std::make_pair(p->id, pool_index);
    if (auto it = repreparing.find(key); it != repreparing.end()) {
        // Someone is already preparing it there: wait for them.
        auto t = it->second;
        co_await t->async_wait(use_tuple);
        co_return std::error_code{};
    }
    auto t = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
    repreparing.emplace(key, t);
    proto::prepare_request pr;
    pr.query = p->query;
    if (!p->prepare_keyspace.empty() && c.version() == proto::protocol_version::v5) pr.keyspace = p->prepare_keyspace;
    auto env = c.encode(proto::request(pr));
    auto r = co_await c.async_request(env, timeout);
    repreparing.erase(key);
    t->cancel();
    if (r.ec) co_return r.ec;
    const auto* res = std::get_if<proto::result_response>(&r.response->message);
    const auto* prep = res ? std::get_if<proto::prepared_result>(&res->value) : nullptr;
    if (!prep) co_return make_error_code(driver::errc::unexpected_response);
    if (prep->id != p->id) {
        log()->warn("cqlpp: re-prepare of \"{}\" returned another id (schema changed?)", p->query);
    }
    co_return std::error_code{};
}

std::shared_ptr<prepared_data> session_impl::cache_prepared(const std::string& key, std::shared_ptr<prepared_data> p) {
    if (auto it = prepared.find(key); it != prepared.end()) {
        prepared_lru.splice(prepared_lru.begin(), prepared_lru, it->second.lru);
        return it->second.data;
    }
    prepared_lru.push_front(key);
    prepared.emplace(key, prepared_entry{p, prepared_lru.begin()});
    prepared_by_id[p->id] = p;
    while (prepared.size() > std::max<std::size_t>(cfg.prepared_cache_size, 1)) {
        auto& victim = prepared_lru.back();
        auto it = prepared.find(victim);
        if (it != prepared.end()) {
            prepared_by_id.erase(it->second.data->id);
            prepared.erase(it);
        }
        prepared_lru.pop_back();
    }
    return p;
}

asio::awaitable<outcome<prepared_statement>> session_impl::prepare(std::string query, std::string keyspace) {
    auto self = shared_from_this();
    using out_t = outcome<prepared_statement>;
    if (keyspace.empty()) keyspace = cfg.keyspace;
    std::string key = keyspace + '\n' + query;
    if (auto it = prepared.find(key); it != prepared.end()) {
        prepared_lru.splice(prepared_lru.begin(), prepared_lru, it->second.lru);
        co_return out_t(prepared_statement(it->second.data));
    }
    const prepare_spec spec{query, keyspace != cfg.keyspace ? std::string_view(keyspace) : std::string_view()};
    const auto deadline = clock_type::now() + cfg.request_timeout;
    auto r = co_await run(spec);
    if (!r.ok()) {
        co_return out_t(r.error(), r.diag());
    }
    const auto* res = r.response() ? std::get_if<proto::result_response>(&r.response()->message) : nullptr;
    const auto* prep = res ? std::get_if<proto::prepared_result>(&res->value) : nullptr;
    if (!prep) {
        diagnostics d;
        d.message = "PREPARE was not answered with RESULT Prepared";
        co_return out_t(driver::errc::unexpected_response, std::move(d));
    }
    auto p = std::make_shared<prepared_data>();
    p->query = query;
    // The connection's USE keyspace is the session's, so only an explicit one is sent.
    if (keyspace != cfg.keyspace) p->prepare_keyspace = keyspace;
    p->id = prep->id;

    p->markers = prep->variables.columns;
    p->pk_indices = prep->variables.pk_indices;
    if (prep->variables.global_table) p->keyspace = prep->variables.global_table->keyspace;
    else if (!p->markers.empty()) p->keyspace = p->markers.front().keyspace;
    else if (prep->result.global_table) p->keyspace = prep->result.global_table->keyspace;
    if (p->keyspace.empty()) p->keyspace = keyspace;
    p->marker_names = std::make_shared<const column_set>(p->markers);
    p->set_shape(prep->result_metadata_id, !prep->result.no_metadata && !prep->result.columns.empty()
                                               ? std::make_shared<const column_set>(prep->result.columns)
                                               : nullptr);
    p->is_lwt = is_lwt_query(query);
    p->is_write = is_write_query(query);
    p = cache_prepared(key, std::move(p));
    // The other shards cache the same statement (one cached statement per
    // session): preparing the text again there sends nothing, and their
    // re-prepare when a host comes back covers it. A PREPARE holds per node,
    // not per connection, so theirs already work with it.
    for_other_shards([key, p](session_impl& o) { o.cache_prepared(key, p); });
    if (cfg.prepare_on_all_hosts) {
        std::size_t except = pools.size();
        for (std::size_t i = 0; i < pools.size(); ++i)
            if (pools[i].endpoint == r.coordinator()) except = i;
        // Before returning (as the Java driver does): a statement executed
        // right away on another host must find it there, or a batch of it
        // fails with UNPREPARED. Failures are only logged: the coordinator has it.
        co_await prepare_everywhere(p, except, deadline);
    }
    co_return out_t(prepared_statement(p));
}

// PREPAREs on every other host with an open connection, in parallel, until all
// have answered or the deadline passes (a straggler finishes in the background).
asio::awaitable<void> session_impl::prepare_everywhere(std::shared_ptr<prepared_data> p, std::size_t except_pool,
                                                       clock_type::time_point deadline) {
    auto self = shared_from_this();
    struct waiter {
        explicit waiter(const executor_type& e) : timer(e, asio::steady_timer::time_point::max()) {}
        asio::steady_timer timer;
        std::size_t pending = 0;
    };
    auto w = std::make_shared<waiter>(ex);
    for (std::size_t i = 0; i < pools.size() && !closed; ++i) {
        if (i == except_pool || !pools[i].pool || !pools[i].h || !pools[i].h->is_up()) continue;
        auto c = pools[i].pool->pick();
        if (!c) continue;  // re-prepared when it comes up
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        if (left.count() <= 0) break;
        ++w->pending;
        asio::co_spawn(
            ex,
            [self, w, c, p, i, left]() -> asio::awaitable<void> {
                if (auto ec = co_await self->reprepare(*c, i, *p, left))
                    log()->debug("cqlpp: preparing \"{}\" on {} failed: {}", p->query, self->pools[i].endpoint,
                                 ec.message());
                if (--w->pending == 0) w->timer.cancel();
            },
            asio::detached);
    }
    if (w->pending == 0) co_return;
    w->timer.expires_at(deadline);
    co_await w->timer.async_wait(use_tuple);
}

asio::awaitable<void> session_impl::reprepare_all(std::size_t pool_index) {
    auto self = shared_from_this();
    std::vector<std::shared_ptr<prepared_data>> all;
    for (const auto& [k, e] : prepared) all.push_back(e.data);
    for (const auto& p : all) {
        if (closed || pool_index >= pools.size() || !pools[pool_index].pool) co_return;
        auto c = pools[pool_index].pool->pick();
        if (!c) co_return;
        co_await reprepare(*c, pool_index, *p, cfg.connection.request_timeout);
    }
    log()->debug("cqlpp: re-prepared {} statements on {}", all.size(), pools[pool_index].endpoint);
}

}  // namespace cqlpp::driver::detail
