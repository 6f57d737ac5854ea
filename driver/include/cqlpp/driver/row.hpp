// Typed, zero-copy access to the rows of a RESULT Rows page.
//
// Lifetimes (read this before keeping anything):
//   - rows_view holds a reference-counted handle to its page, and the page holds
//     the owner of the response buffer (type-erased, e.g. the transport's
//     response_ptr). While any rows_view, result_set or row of the page lives,
//     its bytes stay valid.
//   - row_view is a (page pointer, index) pair and owns nothing: it is valid while
//     the rows_view / result_set / row it came from (or a copy of it) is alive.
//   - Values read as views (std::string_view, blob_view, protocol::bytes_view,
//     udt_view, containers of those) point into the page's bytes and have the
//     same lifetime as the page, not as the row_view.
//   - to_owned() copies only the cell bytes that are kept, into one buffer per
//     copy, so the (possibly large) response buffer can be released; the column
//     metadata is shared by every copy.
//
// Column metadata is copied out of the response once per page (column_set) and
// carries a name -> index table, so get<T>("name") costs a binary search, not a
// per-row scan (measured: ~6 ns per int/bigint/text-view cell by index, ~15 ns
// by name with 3 columns; hoist rows.columns()->find() out of hot loops). Pages
// of the same query may share one column_set.
#pragma once

#include "cqlpp/driver/value_codec.hpp"
#include "cqlpp/protocol/result.hpp"

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace cqlpp::driver {

// Keeps the bytes a page borrows alive; any shared_ptr converts to it.
using owner_ptr = std::shared_ptr<const void>;

// The columns of a result and their name -> index table. Immutable once built;
// shared by the pages of a query and by owning copies of their rows.
class column_set {
public:
    explicit column_set(std::vector<protocol::column_spec> columns);
    column_set(const column_set&) = delete;  // the name table points into columns_
    column_set& operator=(const column_set&) = delete;

    std::size_t size() const noexcept { return columns_.size(); }
    const protocol::column_spec& operator[](std::size_t i) const noexcept { return columns_[i]; }
    std::span<const protocol::column_spec> specs() const noexcept { return columns_; }
    // Exact (case-sensitive) match first, then ASCII case-insensitive, so both
    // "userName" as written with quotes and "username" as Cassandra stores an
    // unquoted name are found. With duplicate names, the first column wins.
    std::optional<std::size_t> find(std::string_view name) const noexcept;

private:
    std::vector<protocol::column_spec> columns_;
    std::vector<std::pair<std::string_view, std::uint32_t>> exact_;  // sorted by name, then index
    std::vector<std::pair<std::string, std::uint32_t>> folded_;      // lower-cased, sorted
};

// Filled on conversion failure (only then, so the success path never allocates).
struct conversion_diagnostics {
    std::size_t column = 0;
    std::string column_name;  // the requested name for no_such_column
    std::string cql_type;     // "bigint", "map<text, int>"; empty when unknown
    std::string message;      // column 2 "v" (bigint): type_mismatch
};

class row;
class result_set;

namespace detail {
// One page: the cells, what keeps their bytes alive, and the columns.
struct page {
    owner_ptr owner;                            // null for owning copies (bytes below)
    std::shared_ptr<const column_set> columns;  // may be empty for a no_metadata page
    std::span<const protocol::value_view> cells;
    std::size_t rows = 0;
    std::size_t width = 0;
    protocol::byte_buffer own_bytes;                // owning copies only
    std::vector<protocol::value_view> own_cells;    // owning copies only
};

// Copies rows [first, first + count) into a self-contained page.
std::shared_ptr<const page> copy_page(const page& src, std::size_t first, std::size_t count);
// Builds the message and fills `diag`.
void describe(const page& p, std::size_t column, std::string_view requested, conversion_errc e,
              conversion_diagnostics& diag);
[[noreturn]] void throw_conversion_error(const page& p, std::size_t column, std::string_view requested,
                                         conversion_errc e);
}  // namespace detail

// One row of a page. Cheap to copy (two words); see the lifetime notes above.
class row_view {
public:
    row_view() = default;
    row_view(const detail::page* p, std::size_t index) noexcept : page_(p), index_(index) {}

    std::size_t size() const noexcept { return page_->width; }
    // Column metadata; null when the page came without metadata and none was supplied.
    const column_set* columns() const noexcept { return page_->columns.get(); }
    std::optional<std::size_t> column_index(std::string_view name) const noexcept {
        return page_->columns ? page_->columns->find(name) : std::nullopt;
    }
    // The raw cell, i < size().
    const protocol::value_view& raw(std::size_t i) const noexcept { return page_->cells[index_ * page_->width + i]; }
    bool is_null(std::size_t i) const noexcept { return !raw(i).is_set(); }

    // Non-throwing access. Errors: no_such_column, missing_metadata, type_mismatch,
    // unexpected_null (use std::optional<T> for nullable columns), out_of_range, bad_bytes.
    template <class T>
    std::error_code try_get(std::size_t i, T& out, conversion_diagnostics* diag = nullptr) const {
        auto e = get_impl(i, out);
        if (e == conversion_errc::ok) return {};  // a plain empty error_code, comparable to std::error_code()
        if (diag) detail::describe(*page_, i, {}, e, *diag);
        return e;
    }
    template <class T>
    std::error_code try_get(std::string_view name, T& out, conversion_diagnostics* diag = nullptr) const {
        auto i = column_index(name);
        if (!i) {
            auto e = page_->columns ? conversion_errc::no_such_column : conversion_errc::missing_metadata;
            if (diag) detail::describe(*page_, page_->width, name, e, *diag);
            return e;
        }
        return try_get(*i, out, diag);
    }

    // Throwing access (conversion_error, whose what() names the column and its type).
    template <class T>
    T get(std::size_t i) const {
        T out{};
        if (auto e = get_impl(i, out); e != conversion_errc::ok) detail::throw_conversion_error(*page_, i, {}, e);
        return out;
    }
    template <class T>
    T get(std::string_view name) const {
        auto i = column_index(name);
        if (!i)
            detail::throw_conversion_error(*page_, page_->width, name,
                                           page_->columns ? conversion_errc::no_such_column
                                                          : conversion_errc::missing_metadata);
        return get<T>(*i);
    }

    // A copy that owns its bytes (and shares the column metadata).
    row to_owned() const;

private:
    template <class T>
    conversion_errc get_impl(std::size_t i, T& out) const {
        if (i >= page_->width) return conversion_errc::no_such_column;
        if (!page_->columns) return conversion_errc::missing_metadata;
        return decode_value((*page_->columns)[i].type, raw(i), out);
    }

    const detail::page* page_ = nullptr;
    std::size_t index_ = 0;
};

// Random access over the rows of a page; dereferences to row_view by value.
class row_iterator {
public:
    using iterator_category = std::random_access_iterator_tag;
    using iterator_concept = std::random_access_iterator_tag;
    using value_type = row_view;
    using difference_type = std::ptrdiff_t;
    using reference = row_view;
    using pointer = void;

    row_iterator() = default;
    row_iterator(const detail::page* p, std::size_t i) noexcept : page_(p), index_(i) {}

    row_view operator*() const noexcept { return {page_, index_}; }
    row_view operator[](difference_type n) const noexcept { return {page_, index_ + static_cast<std::size_t>(n)}; }
    row_iterator& operator++() noexcept { ++index_; return *this; }
    row_iterator operator++(int) noexcept { auto r = *this; ++index_; return r; }
    row_iterator& operator--() noexcept { --index_; return *this; }
    row_iterator operator--(int) noexcept { auto r = *this; --index_; return r; }
    row_iterator& operator+=(difference_type n) noexcept { index_ += static_cast<std::size_t>(n); return *this; }
    row_iterator& operator-=(difference_type n) noexcept { index_ -= static_cast<std::size_t>(n); return *this; }
    friend row_iterator operator+(row_iterator a, difference_type n) noexcept { return a += n; }
    friend row_iterator operator+(difference_type n, row_iterator a) noexcept { return a += n; }
    friend row_iterator operator-(row_iterator a, difference_type n) noexcept { return a -= n; }
    friend difference_type operator-(const row_iterator& a, const row_iterator& b) noexcept {
        return static_cast<difference_type>(a.index_) - static_cast<difference_type>(b.index_);
    }
    friend bool operator==(const row_iterator& a, const row_iterator& b) noexcept { return a.index_ == b.index_; }
    friend auto operator<=>(const row_iterator& a, const row_iterator& b) noexcept { return a.index_ <=> b.index_; }

private:
    const detail::page* page_ = nullptr;
    std::size_t index_ = 0;
};

// The rows of one page, borrowing the response buffer (kept alive by `owner`).
class rows_view {
public:
    rows_view() = default;
    // `rows` and the bytes its cells point into must stay alive and unchanged as long
    // as `owner` does (typically both live inside the owner's response frame).
    // `columns`: metadata to use instead of the page's own (required when the page
    // has no_metadata, e.g. a prepared statement executed with skip_metadata).
    rows_view(const protocol::rows_result& rows, owner_ptr owner, std::shared_ptr<const column_set> columns = nullptr);

    std::size_t size() const noexcept { return page_ ? page_->rows : 0; }
    bool empty() const noexcept { return size() == 0; }
    std::size_t column_count() const noexcept { return page_ ? page_->width : 0; }
    const column_set* columns() const noexcept { return page_ ? page_->columns.get() : nullptr; }
    // The shared metadata, to reuse for the next pages of the same query.
    std::shared_ptr<const column_set> shared_columns() const noexcept { return page_ ? page_->columns : nullptr; }

    row_view operator[](std::size_t i) const noexcept { return {page_.get(), i}; }  // i < size()
    row_view at(std::size_t i) const {
        if (i >= size()) throw std::out_of_range("cqlpp::driver::rows_view::at");
        return (*this)[i];
    }
    row_iterator begin() const noexcept { return {page_.get(), 0}; }
    row_iterator end() const noexcept { return {page_.get(), size()}; }

    // A copy of every row that owns its bytes; the response buffer can then go.
    result_set to_owned() const;

protected:
    explicit rows_view(std::shared_ptr<const detail::page> p) noexcept : page_(std::move(p)) {}
    std::shared_ptr<const detail::page> page_;
};

// An owning copy of a whole page (rows_view::to_owned). Same interface as rows_view.
class result_set : public rows_view {
public:
    result_set() = default;
    rows_view view() const noexcept { return *this; }

private:
    friend class rows_view;
    explicit result_set(std::shared_ptr<const detail::page> p) noexcept : rows_view(std::move(p)) {}
};

// An owning copy of one row (row_view::to_owned).
class row {
public:
    row() = default;
    row_view view() const noexcept { return {page_.get(), 0}; }
    std::size_t size() const noexcept { return page_ ? page_->width : 0; }
    template <class T>
    T get(std::size_t i) const { return view().get<T>(i); }
    template <class T>
    T get(std::string_view name) const { return view().get<T>(name); }
    template <class T>
    std::error_code try_get(std::size_t i, T& out, conversion_diagnostics* diag = nullptr) const {
        return view().try_get(i, out, diag);
    }
    template <class T>
    std::error_code try_get(std::string_view name, T& out, conversion_diagnostics* diag = nullptr) const {
        return view().try_get(name, out, diag);
    }

private:
    friend class row_view;
    explicit row(std::shared_ptr<const detail::page> p) noexcept : page_(std::move(p)) {}
    std::shared_ptr<const detail::page> page_;
};

}  // namespace cqlpp::driver
