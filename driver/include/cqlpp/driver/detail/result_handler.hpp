// session::async_execute's completion handler with its type erased, so the
// request engine (compiled once, in the library) can run a request for any
// Asio completion token. It owns the statement: the caller need not keep it
// alive (a callback or a future may outlive the caller's copy).
#pragma once

#include "cqlpp/driver/result.hpp"
#include "cqlpp/driver/statement.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/dispatch.hpp>

#include <exception>

#include <memory>
#include <type_traits>
#include <utility>

namespace cqlpp::driver::detail {

enum class statement_kind : unsigned char { simple, bound, batch };

template <class S>
constexpr statement_kind kind_of() noexcept {
    if constexpr (std::is_same_v<S, statement>) return statement_kind::simple;
    else if constexpr (std::is_same_v<S, bound_statement>) return statement_kind::bound;
    else return statement_kind::batch;
}

class result_handler {
public:
    // The handler's executor: where the answer is delivered (the session's
    // when the handler names none, as for a plain callback).
    using executor_type = asio::any_io_executor;
    using cancellation_slot_type = asio::cancellation_slot;

    template <class Handler, class Statement>
    result_handler(Handler&& h, Statement&& s, const asio::any_io_executor& fallback)
        : ex_(executor_for(h, fallback)),
          slot_(asio::get_associated_cancellation_slot(h)),
          kind_(kind_of<std::decay_t<Statement>>()) {
        auto p = std::make_unique<holder<std::decay_t<Handler>, std::decay_t<Statement>>>(std::forward<Handler>(h),
                                                                                         std::forward<Statement>(s));
        stmt_ = &p->stmt;
        fn_ = std::move(p);
    }

    executor_type get_executor() const noexcept { return ex_; }
    cancellation_slot_type get_cancellation_slot() const noexcept { return slot_; }
    statement_kind kind() const noexcept { return kind_; }
    // Alive until the handler is called (it lives with the handler on the heap).
    const void* statement_ptr() const noexcept { return stmt_; }

    void operator()(result r) {
        auto f = std::move(fn_);
        f->call(std::move(r));
    }

private:
    // The handler's own executor when it is an I/O executor; otherwise (a
    // future's promise has a special one) the session's: setting a promise
    // may happen on any thread.
    template <class Handler>
    static asio::any_io_executor executor_for(const Handler& h, const asio::any_io_executor& fallback) {
        using ex_t = asio::associated_executor_t<Handler, asio::any_io_executor>;
        if constexpr (std::is_convertible_v<ex_t, asio::any_io_executor>) return asio::get_associated_executor(h, fallback);
        else return fallback;
    }

    struct base {
        virtual ~base() = default;
        virtual void call(result r) = 0;
    };
    template <class H, class S>
    struct holder final : base {
        template <class HH, class SS>
        holder(HH&& handler, SS&& s) : h(std::forward<HH>(handler)), stmt(std::forward<SS>(s)) {}
        void call(result r) override { std::move(h)(std::move(r)); }
        H h;
        S stmt;
    };

    asio::any_io_executor ex_;
    asio::cancellation_slot slot_;
    statement_kind kind_;
    const void* stmt_ = nullptr;
    std::unique_ptr<base> fn_;
};

// co_spawn's completion for async_prepare / async_close: drops the
// exception_ptr (the coroutines report failures in their result, and do not
// throw) and calls the user's handler on its own executor.
template <class Handler, class T>
struct deliver_to {
    Handler h;
    template <class U>
    void operator()(std::exception_ptr e, U&& value) {
        if (e) std::rethrow_exception(e);  // a bug, not a failure: let it surface
        auto ex = asio::get_associated_executor(h);
        asio::dispatch(ex, [h = std::move(h), v = std::forward<U>(value)]() mutable { std::move(h)(std::move(v)); });
    }
};
template <class Handler>
struct deliver_to<Handler, void> {
    Handler h;
    void operator()(std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
        auto ex = asio::get_associated_executor(h);
        asio::dispatch(ex, [h = std::move(h)]() mutable { std::move(h)(); });
    }
};

}  // namespace cqlpp::driver::detail
