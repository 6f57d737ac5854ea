// view_list<T>: the element list of a request message (bound values, names,
// batch statements, STARTUP options).
//
// Encoding borrows a caller's array (std::span), so building a request costs
// no allocation. Decoding has nowhere to borrow the array from, so the list
// then owns a std::vector; copies of an owning list copy that vector and point
// at the copy. Either way the elements themselves are views (value_view,
// string_view) that borrow the caller's buffers or the decoded body.
#pragma once

#include "cqlpp/protocol/bytes.hpp"

#include <concepts>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <ranges>
#include <span>
#include <utility>
#include <vector>

namespace cqlpp::protocol {

// value_view has no operator== of its own; this compares state and bytes.
inline bool same_value(const value_view& a, const value_view& b) noexcept {
    if (a.st != b.st) return false;
    if (!a.is_set()) return true;
    return a.bytes.size() == b.bytes.size() &&
           (a.bytes.empty() || std::memcmp(a.bytes.data(), b.bytes.data(), a.bytes.size()) == 0);
}
inline bool same_bytes(bytes_view a, bytes_view b) noexcept {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

template <class T>
class view_list {
public:
    view_list() noexcept = default;
    // Borrows: the caller keeps the array alive until encoding is done.
    // Implicit so that `params.values = my_array;` reads naturally.
    template <class R>
        requires std::convertible_to<R&&, std::span<const T>> && std::ranges::borrowed_range<R>
    view_list(R&& r) noexcept : view_(std::forward<R>(r)) {}
    // A temporary container or braced list would dangle at the end of the statement.
    template <class R>
        requires std::convertible_to<R&&, std::span<const T>> && (!std::ranges::borrowed_range<R>)
    view_list(R&& r) = delete;
    view_list(std::initializer_list<T>) = delete;

    // Owns the vector (what decoders produce).
    static view_list owning(std::vector<T> v) {
        view_list l;
        l.owned_ = std::move(v);
        l.owning_ = true;
        l.view_ = l.owned_;
        return l;
    }

    view_list(const view_list& o) : owned_(o.owned_), owning_(o.owning_) {
        view_ = owning_ ? std::span<const T>(owned_) : o.view_;
    }
    view_list(view_list&& o) noexcept { take(o); }
    view_list& operator=(const view_list& o) {
        if (this != &o) *this = view_list(o);
        return *this;
    }
    view_list& operator=(view_list&& o) noexcept {
        if (this != &o) take(o);
        return *this;
    }
    ~view_list() = default;

    std::span<const T> span() const noexcept { return view_; }
    std::size_t size() const noexcept { return view_.size(); }
    bool empty() const noexcept { return view_.empty(); }
    const T& operator[](std::size_t i) const noexcept { return view_[i]; }
    auto begin() const noexcept { return view_.begin(); }
    auto end() const noexcept { return view_.end(); }
    bool is_owning() const noexcept { return owning_; }

    friend bool operator==(const view_list& a, const view_list& b) noexcept {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i) {
            if constexpr (std::same_as<T, value_view>) {
                if (!same_value(a[i], b[i])) return false;
            } else {
                if (!(a[i] == b[i])) return false;
            }
        }
        return true;
    }

private:
    // Steals o's storage (or view) and leaves o empty, never pointing at ours.
    void take(view_list& o) noexcept {
        owned_ = std::move(o.owned_);
        owning_ = o.owning_;
        view_ = owning_ ? std::span<const T>(owned_) : o.view_;
        o.owned_.clear();
        o.view_ = {};
        o.owning_ = false;
    }

    std::vector<T> owned_;
    std::span<const T> view_;
    bool owning_ = false;
};

}  // namespace cqlpp::protocol
