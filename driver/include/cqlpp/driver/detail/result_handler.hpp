// Completion handlers with their type erased, so the library (compiled once)
// can complete an operation for any Asio completion token: result_handler for
// session::async_execute (it owns the statement: the caller need not keep it
// alive, a callback or a future may outlive the caller's copy), completion<>
// for async_connect / async_prepare / async_close.
#pragma once

#include "cqlpp/driver/result.hpp"
#include "cqlpp/driver/statement.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/dispatch.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>

#include <exception>
#include <tuple>

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

// The handler's own executor when it is an I/O executor; otherwise (a plain
// callback has none, a future's promise has a special one) `fallback`:
// setting a promise may happen on any thread.
template <class Handler>
asio::any_io_executor executor_for(const Handler& h, const asio::any_io_executor& fallback) {
    using ex_t = asio::associated_executor_t<Handler, asio::any_io_executor>;
    if constexpr (std::is_convertible_v<ex_t, asio::any_io_executor>) return asio::get_associated_executor(h, fallback);
    else return fallback;
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

// Any completion handler of signature void(Args...) (async_connect,
// async_prepare, async_close). It keeps the handler's executor busy (work
// tracked) until it completes, so an io_context whose only business is
// this operation does not run out of work meanwhile.
template <class... Args>
class completion {
public:
    template <class Handler>
    completion(Handler&& h, const asio::any_io_executor& fallback)
        : work_(asio::prefer(executor_for(h, fallback), asio::execution::outstanding_work.tracked)),
          slot_(asio::get_associated_cancellation_slot(h)),
          fn_(std::make_unique<holder<std::decay_t<Handler>>>(std::forward<Handler>(h))) {}

    // Where a canceller may be installed (on the initiating thread only).
    asio::cancellation_slot slot() const noexcept { return slot_; }

    // Calls the handler on its executor, always posted (never inside the
    // caller's initiation or a canceller). The slot is cleared there first:
    // it belongs to that thread.
    void complete(Args... args) && {
        auto ex = std::move(work_);
        asio::post(ex, [slot = slot_, f = std::move(fn_), t = std::make_tuple(std::move(args)...)]() mutable {
            if (slot.is_connected()) slot.clear();
            std::apply([&f](auto&&... a) { f->call(std::move(a)...); }, std::move(t));
        });
    }

private:
    struct base {
        virtual ~base() = default;
        virtual void call(Args... a) = 0;
    };
    template <class H>
    struct holder final : base {
        template <class HH>
        explicit holder(HH&& handler) : h(std::forward<HH>(handler)) {}
        void call(Args... a) override { std::move(h)(std::move(a)...); }
        H h;
    };

    asio::any_io_executor work_;
    asio::cancellation_slot slot_;
    std::unique_ptr<base> fn_;
};

}  // namespace cqlpp::driver::detail
