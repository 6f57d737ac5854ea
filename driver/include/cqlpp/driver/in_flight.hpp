// The loop most programs need: run an asynchronous step for every input of a
// range with at most N of them in flight at once, and go on when all are done.
//
//   co_await cqlpp::driver::for_each_in_flight(keys, 128,
//       [&](int k) -> asio::awaitable<void> { auto r = co_await s->execute(sel.bind(k)); ... });
//
// The steps run on the awaiting coroutine's executor, started in the range's
// order. If a step throws, no new step starts, the ones in flight finish, and
// the first exception is rethrown. The range must outlive the call.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <iterator>
#include <memory>
#include <type_traits>
#include <utility>

namespace cqlpp::driver {

template <class Range, class Step>
asio::awaitable<void> for_each_in_flight(Range& inputs, std::size_t max_in_flight, Step step) {
    using iterator = decltype(std::begin(inputs));
    struct shared {
        shared(asio::any_io_executor ex, iterator b, iterator e) : next(b), end(e), all_done(ex) {}
        iterator next, end;
        std::size_t running = 0;
        std::exception_ptr first_error;
        asio::steady_timer all_done;  // cancelled when the last worker ends
    };
    auto ex = co_await asio::this_coro::executor;
    auto st = std::make_shared<shared>(ex, std::begin(inputs), std::end(inputs));
    st->all_done.expires_at(asio::steady_timer::time_point::max());
    if (max_in_flight == 0) max_in_flight = 1;
    // Workers pull the next input in turn: one coroutine per slot, not per input.
    for (std::size_t w = 0; w < max_in_flight && st->next != st->end; ++w) {
        ++st->running;
        asio::co_spawn(
            ex,
            [st, &step]() -> asio::awaitable<void> {
                using reference = std::iter_reference_t<iterator>;
                while (st->next != st->end && !st->first_error) {
                    try {
                        // No reference to a temporary held across co_await:
                        // a pointer into the range, or a copy of a computed value.
                        if constexpr (std::is_lvalue_reference_v<reference>) {
                            auto* item = std::addressof(*st->next);
                            ++st->next;
                            co_await step(*item);
                        } else {
                            auto item = *st->next;
                            ++st->next;
                            co_await step(std::move(item));
                        }
                    } catch (...) {
                        if (!st->first_error) st->first_error = std::current_exception();
                    }
                }
                if (--st->running == 0) st->all_done.cancel();
            },
            asio::detached);
    }
    if (st->running > 0) co_await st->all_done.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (st->first_error) std::rethrow_exception(st->first_error);
}

}  // namespace cqlpp::driver
