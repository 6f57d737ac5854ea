// page_stream: async paging with one page fetched ahead.
#include "session_impl.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/this_coro.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace cqlpp::driver {

namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
}

struct page_stream::state : std::enable_shared_from_this<page_stream::state> {
    state(std::shared_ptr<detail::session_impl> s) : impl(std::move(s)) {}

    std::shared_ptr<detail::session_impl> impl;
    std::optional<statement> simple;
    std::optional<bound_statement> bound;
    // The stream lives on the executor of the coroutine that reads it (its
    // "home", which may be another thread than the session's): the fetch
    // runs there and its execute() hands the request to the session.
    std::optional<asio::steady_timer> ready;  // cancelled when a fetch completes
    asio::any_io_executor home;
    bool started = false;
    bool fetching = false;
    bool done = false;
    std::optional<result> ahead;
    result current;
    std::size_t row = 0;
    protocol::byte_buffer paging_state;
    std::error_code ec;
    diagnostics diag;
    std::uint64_t rows_seen = 0;

    statement_options& options() { return simple ? simple->options() : bound->options(); }

    void start_fetch() {
        fetching = true;
        asio::co_spawn(
            home,
            [self = shared_from_this()]() -> asio::awaitable<void> {
                // Not a ?: around co_await: GCC 12 mishandles the temporaries.
                if (self->simple) self->ahead = co_await self->impl->execute(*self->simple);
                else self->ahead = co_await self->impl->execute(*self->bound);
                self->fetching = false;
                self->ready->cancel();
            },
            asio::detached);
    }
};

page_stream::page_stream(page_stream&&) noexcept = default;
page_stream& page_stream::operator=(page_stream&&) noexcept = default;
page_stream::~page_stream() = default;

asio::awaitable<result> page_stream::next_page() {
    auto s = s_;
    if (!s || s->done) co_return result();
    if (!s->started) {
        s->started = true;
        s->home = co_await asio::this_coro::executor;
        s->ready.emplace(s->home);
        s->start_fetch();
    }
    while (s->fetching) {
        s->ready->expires_at(asio::steady_timer::time_point::max());
        co_await s->ready->async_wait(use_tuple);
    }
    result r = std::move(*s->ahead);
    s->ahead.reset();
    if (!r.ok()) {
        s->done = true;
        s->ec = r.error();
        s->diag = r.diag();
        co_return r;
    }
    auto ps = r.paging_state();
    s->paging_state.assign(ps.begin(), ps.end());
    s->options().paging_state = s->paging_state;
    s->rows_seen += r.row_count();
    if (ps.empty()) s->done = true;
    else s->start_fetch();  // the next page comes while the caller reads this one
    co_return r;
}

asio::awaitable<bool> page_stream::next(row_view& out) {
    auto s = s_;
    if (!s) co_return false;
    for (;;) {
        if (s->row < s->current.row_count()) {
            out = s->current.rows()[s->row++];
            co_return true;
        }
        if (s->done) co_return false;
        s->current = co_await next_page();
        s->row = 0;
        if (!s->current.ok()) co_return false;
    }
}

bool page_stream::done() const noexcept { return !s_ || (s_->done && s_->row >= s_->current.row_count()); }
std::error_code page_stream::error() const noexcept { return s_ ? s_->ec : std::error_code(); }
const diagnostics& page_stream::diag() const noexcept {
    static const diagnostics empty;
    return s_ ? s_->diag : empty;
}
std::span<const std::uint8_t> page_stream::paging_state() const noexcept {
    return s_ ? std::span<const std::uint8_t>(s_->paging_state) : std::span<const std::uint8_t>();
}
std::uint64_t page_stream::rows_seen() const noexcept { return s_ ? s_->rows_seen : 0; }

page_stream session::stream(statement st) {
    auto s = std::make_shared<page_stream::state>(pick());
    s->simple = std::move(st);
    return page_stream(std::move(s));
}
page_stream session::stream(bound_statement st) {
    auto s = std::make_shared<page_stream::state>(pick());
    s->bound = std::move(st);
    return page_stream(std::move(s));
}

}  // namespace cqlpp::driver
