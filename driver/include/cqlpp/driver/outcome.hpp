// What every operation returns that is not a query's result: connect(),
// prepare(), refresh_metadata(). It asks the same questions as result does
// (error(), ok(), diag(), value_or_throw()), so code handles both alike:
//
//   auto ps = co_await s->prepare("SELECT v FROM ks.t WHERE k = ?");
//   if (!ps) { log(ps.diag().message); co_return; }
//   auto r = co_await s->execute(ps.value().bind(42));
//
// Structured bindings give the three parts: auto [ec, s, diag] = co_await connect(...).
#pragma once

#include "cqlpp/driver/error.hpp"

#include <cstddef>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

namespace cqlpp::driver {

namespace detail {
// What outcome<void> holds as its value, so one template serves both.
struct no_value {};
}  // namespace detail

template <class T>
class outcome {
public:
    using value_type = std::conditional_t<std::is_void_v<T>, detail::no_value, T>;

    outcome() = default;
    // A success.
    outcome(value_type v) : value_(std::move(v)) {}
    // A failure: ec must not be empty.
    outcome(std::error_code ec, diagnostics d) : ec_(ec), diag_(std::move(d)) {}

    // Empty on success.
    std::error_code error() const noexcept { return ec_; }
    bool ok() const noexcept { return !ec_; }
    explicit operator bool() const noexcept { return ok(); }
    // Empty on success.
    const diagnostics& diag() const noexcept { return diag_; }

    // The value; default-constructed on failure (check ok() first, or use value_or_throw()).
    value_type& value() & noexcept { return value_; }
    const value_type& value() const& noexcept { return value_; }
    value_type&& value() && noexcept { return std::move(value_); }

    // Throws request_error on failure.
    const value_type& value_or_throw() const& {
        if (ec_) throw request_error(ec_, diag_);
        return value_;
    }
    value_type&& value_or_throw() && {
        if (ec_) throw request_error(ec_, diag_);
        return std::move(value_);
    }

    // Structured bindings: [error_code, value, diagnostics].
    template <std::size_t I>
    decltype(auto) get() & {
        if constexpr (I == 0) return (ec_);
        else if constexpr (I == 1) return (value_);
        else return (diag_);
    }
    template <std::size_t I>
    decltype(auto) get() const& {
        if constexpr (I == 0) return (ec_);
        else if constexpr (I == 1) return (value_);
        else return (diag_);
    }
    template <std::size_t I>
    decltype(auto) get() && {
        if constexpr (I == 0) return std::move(ec_);
        else if constexpr (I == 1) return std::move(value_);
        else return std::move(diag_);
    }

private:
    std::error_code ec_;
    value_type value_{};
    diagnostics diag_;
};

}  // namespace cqlpp::driver

template <class T>
struct std::tuple_size<cqlpp::driver::outcome<T>> : std::integral_constant<std::size_t, 3> {};
template <std::size_t I, class T>
struct std::tuple_element<I, cqlpp::driver::outcome<T>> {
    using type = std::tuple_element_t<I, std::tuple<std::error_code, typename cqlpp::driver::outcome<T>::value_type,
                                                    cqlpp::driver::diagnostics>>;
};
