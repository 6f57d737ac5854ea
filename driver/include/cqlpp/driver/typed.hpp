// Rows and values as C++ types: rows as tuples or described structs, statements
// bound from them, UDTs to and from described structs.
//
//   struct user { std::int32_t id; std::string name; std::optional<std::int64_t> score; };
//   CQLPP_DESCRIBE(user, id, name, score)          // at namespace scope, next to the struct
//
//   for (const user& u : cqlpp::driver::as<user>(r.rows())) ...          // columns by name
//   auto pairs = cqlpp::driver::as<std::tuple<std::int32_t, std::string>>(r.rows());  // by position
//   auto u = cqlpp::driver::row_as<user>(r.first_row());
//   s->execute(cqlpp::driver::bind_from(insert_user, u));  // markers by name (or a tuple by position)
//
// A described struct is also a UDT value: a `frozen<address>` column reads into
// (and binds from) a described `address` struct whose members are named after
// the UDT's fields; UDT fields missing from the struct bind as null.
//
// Checking: typed_rows<T> matches T against the page's column metadata once
// (column names, CQL types against C++ types), then reads rows without any
// lookup. A mismatch is a conversion_error naming the column and both types:
//   column "id" (bigint) cannot be read as int (user::id)
// Struct members take their column by name (case rules of column_set::find);
// tuple elements take columns 0..n-1 and the page may have more columns.
//
// Views (std::string_view, blob_view, udt_view) borrow the page's bytes as with
// row_view::get (row.hpp): keep the rows_view alive or read into owning types.
#pragma once

#include "cqlpp/driver/row.hpp"
#include "cqlpp/driver/statement.hpp"
#include "cqlpp/driver/value_codec.hpp"

#include <array>
#include <cstddef>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace cqlpp::driver {

// ---- Descriptions ---------------------------------------------------------------

template <class T, class M>
struct described_field {
    std::string_view name;
    M T::*member;
};

namespace detail {

// The described members of T as a tuple of described_field, found by ADL.
template <class T>
concept has_description = requires(const T* p) { cqlpp_describe(p); };

template <class T>
constexpr auto fields_of() {
    return cqlpp_describe(static_cast<const T*>(nullptr));
}

template <class T>
constexpr std::string_view short_type_name() {
    std::string_view f = __PRETTY_FUNCTION__;  // "... [with T = user; ...]"
    auto b = f.find("T = ");
    if (b == std::string_view::npos) return "?";
    b += 4;
    auto e = f.find_first_of(";]", b);
    return f.substr(b, e - b);
}

}  // namespace detail

template <class T>
inline constexpr bool is_described_v = detail::has_description<T>;

template <class T>
struct is_row_tuple : std::false_type {};
template <class... Ts>
struct is_row_tuple<std::tuple<Ts...>> : std::true_type {};

// A readable name for T in error messages ("int", "std::optional<long int>").
template <class T>
std::string type_name() {
    if constexpr (std::is_same_v<T, std::int32_t>) return "int";
    else if constexpr (std::is_same_v<T, std::int64_t>) return "int64_t";
    else if constexpr (std::is_same_v<T, std::string>) return "std::string";
    else if constexpr (std::is_same_v<T, std::string_view>) return "std::string_view";
    else return std::string(detail::short_type_name<T>());
}

// ---- Typed pages ------------------------------------------------------------------

namespace detail {

[[noreturn]] inline void throw_typed(conversion_errc e, std::string message) {
    throw conversion_error(make_error_code(e), std::move(message));
}

template <class T, class M>
void plan_one(const column_set& cols, std::size_t col, std::string_view label, std::size_t& slot) {
    const auto& spec = cols[col];
    if (!can_read<M>(spec.type))
        throw_typed(conversion_errc::type_mismatch, "column \"" + std::string(spec.name) + "\" (" +
                                                        protocol::to_cql_name(spec.type) + ") cannot be read as " +
                                                        type_name<M>() + " (" + std::string(label) + ")");
    slot = col;
}

template <class T, class M>
[[noreturn]] void throw_read(const column_set& cols, std::size_t col, conversion_errc e, std::size_t row) {
    const auto& spec = cols[col];
    throw_typed(e, "row " + std::to_string(row) + ", column \"" + std::string(spec.name) + "\" (" +
                       protocol::to_cql_name(spec.type) + ") as " + type_name<M>());
}

}  // namespace detail

// The rows of a page read as T: a std::tuple (columns by position) or a
// described struct (columns by name). Construction checks T against the
// page's metadata (conversion_error on mismatch); reading a row then only
// decodes (conversion_error for a null into a non-optional, or bad bytes).
template <class T>
class typed_rows {
    static_assert(is_row_tuple<T>::value || is_described_v<T>,
                  "typed_rows<T>: T must be a std::tuple or a struct described with CQLPP_DESCRIBE");

public:
    static constexpr std::size_t width = [] {
        if constexpr (is_row_tuple<T>::value) return std::tuple_size_v<T>;
        else return std::tuple_size_v<decltype(detail::fields_of<T>())>;
    }();

    explicit typed_rows(rows_view rows) : rows_(std::move(rows)) {
        const column_set* cols = rows_.columns();
        if (!cols) {
            if (rows_.empty()) return;
            detail::throw_typed(conversion_errc::missing_metadata, "typed rows: the page has no column metadata");
        }
        if constexpr (is_row_tuple<T>::value) {
            if (cols->size() < width)
                detail::throw_typed(conversion_errc::no_such_column,
                                    "typed rows: " + type_name<T>() + " has " + std::to_string(width) +
                                        " elements, the result " + std::to_string(cols->size()) + " columns");
            plan_tuple(*cols, std::make_index_sequence<width>{});
        } else {
            std::apply([&](const auto&... f) { std::size_t j = 0; (plan_field(*cols, f, j++), ...); },
                       detail::fields_of<T>());
        }
    }

    std::size_t size() const noexcept { return rows_.size(); }
    bool empty() const noexcept { return rows_.empty(); }

    T operator[](std::size_t i) const {
        T out{};
        read(rows_[i], i, out);
        return out;
    }
    // Reads row i into out (reusing its strings and containers).
    void read(std::size_t i, T& out) const { read(rows_[i], i, out); }

    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using reference = T;
        using pointer = void;
        iterator() = default;
        iterator(const typed_rows* r, std::size_t i) noexcept : r_(r), i_(i) {}
        T operator*() const { return (*r_)[i_]; }
        iterator& operator++() noexcept { ++i_; return *this; }
        iterator operator++(int) noexcept { auto c = *this; ++i_; return c; }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.i_ == b.i_; }

    private:
        const typed_rows* r_ = nullptr;
        std::size_t i_ = 0;
    };
    iterator begin() const noexcept { return {this, 0}; }
    iterator end() const noexcept { return {this, size()}; }

    std::vector<T> to_vector() const {
        std::vector<T> v;
        v.reserve(size());
        for (std::size_t i = 0; i < size(); ++i) v.push_back((*this)[i]);
        return v;
    }

private:
    template <std::size_t... I>
    void plan_tuple(const column_set& cols, std::index_sequence<I...>) {
        (detail::plan_one<T, std::tuple_element_t<I, T>>(cols, I, "element " + std::to_string(I) + " of " +
                                                                         type_name<T>(), slot_[I]),
         ...);
    }
    template <class M>
    void plan_field(const column_set& cols, const described_field<T, M>& f, std::size_t j) {
        auto col = cols.find(f.name);
        if (!col)
            detail::throw_typed(conversion_errc::no_such_column, "typed rows: no column \"" + std::string(f.name) +
                                                                    "\" for " + type_name<T>() + "::" +
                                                                    std::string(f.name));
        detail::plan_one<T, M>(cols, *col, type_name<T>() + "::" + std::string(f.name), slot_[j]);
    }

    template <class M>
    void read_one(const row_view& r, std::size_t row, std::size_t col, M& out) const {
        const auto& type = (*rows_.columns())[col].type;
        const auto& v = r.raw(col);
        // The type was checked when the page was planned: only null and bytes remain.
        auto e = detail::read_nullable(type, !v.is_set(), v.bytes, out);
        if (e != conversion_errc::ok) detail::throw_read<T, M>(*rows_.columns(), col, e, row);
    }
    void read(const row_view& r, std::size_t row, T& out) const {
        if constexpr (is_row_tuple<T>::value) {
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                (read_one(r, row, slot_[I], std::get<I>(out)), ...);
            }(std::make_index_sequence<width>{});
        } else {
            std::apply([&](const auto&... f) { std::size_t j = 0; (read_one(r, row, slot_[j++], out.*(f.member)), ...); },
                       detail::fields_of<T>());
        }
    }

    rows_view rows_;
    std::array<std::size_t, width> slot_{};
};

// Every row of the page as T (checked once, see typed_rows).
template <class T>
std::vector<T> as(const rows_view& rows) {
    return typed_rows<T>(rows).to_vector();
}
// A typed view over the page, to iterate without building a vector.
template <class T>
typed_rows<T> typed(const rows_view& rows) {
    return typed_rows<T>(rows);
}

// One row as T. Checks this row's metadata each call: prefer typed_rows for pages.
template <class T>
T row_as(const row_view& row) {
    const column_set* cols = row.columns();
    if (!cols) detail::throw_typed(conversion_errc::missing_metadata, "typed row: no column metadata");
    T out{};
    auto one = [&]<class M>(std::size_t col, std::string_view label, M& m) {
        std::size_t slot = 0;
        detail::plan_one<T, M>(*cols, col, label, slot);
        const auto& v = row.raw(col);
        auto e = detail::read_nullable((*cols)[col].type, !v.is_set(), v.bytes, m);
        if (e != conversion_errc::ok) detail::throw_read<T, M>(*cols, col, e, 0);
    };
    if constexpr (is_row_tuple<T>::value) {
        constexpr std::size_t n = std::tuple_size_v<T>;
        if (cols->size() < n)
            detail::throw_typed(conversion_errc::no_such_column, "typed row: " + type_name<T>() + " has " +
                                                                     std::to_string(n) + " elements, the row " +
                                                                     std::to_string(cols->size()) + " columns");
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (one(I, "element " + std::to_string(I), std::get<I>(out)), ...);
        }(std::make_index_sequence<n>{});
    } else {
        static_assert(is_described_v<T>, "row_as<T>: T must be a std::tuple or a described struct");
        std::apply(
            [&](const auto&... f) {
                auto field = [&](const auto& fd) {
                    auto col = cols->find(fd.name);
                    if (!col)
                        detail::throw_typed(conversion_errc::no_such_column,
                                            "typed row: no column \"" + std::string(fd.name) + "\" for " +
                                                type_name<T>() + "::" + std::string(fd.name));
                    one(*col, type_name<T>() + "::" + std::string(fd.name), out.*(fd.member));
                };
                (field(f), ...);
            },
            detail::fields_of<T>());
    }
    return out;
}

// ---- Binding ------------------------------------------------------------------------

// A bound statement from a tuple (markers by position: the same as
// ps.bind(elements...)) or a described struct (each member to the markers of
// its name; a marker no member names stays unset, an error at execution as
// for any unbound marker). Errors are the statement's binding errors.
template <class T>
bound_statement bind_from(const prepared_statement& ps, const T& value) {
    if constexpr (is_row_tuple<T>::value) {
        return std::apply([&](const auto&... v) { return ps.bind(v...); }, value);
    } else {
        static_assert(is_described_v<T>, "bind_from: T must be a std::tuple or a described struct");
        auto b = ps.bind_empty();
        std::apply([&](const auto&... f) { (b.set(f.name, value.*(f.member)), ...); }, detail::fields_of<T>());
        return b;
    }
}

// ---- UDTs as described structs ----------------------------------------------------

template <class T>
    requires is_described_v<T> && (!is_row_tuple<T>::value)
struct value_codec<T> {
    // Every described member names a field of the UDT, of a type it can read.
    static bool can_decode(const protocol::cql_type& t) noexcept {
        if (t.kind != protocol::type_kind::udt) return false;
        return std::apply([&](const auto&... f) { return (readable(t, f) && ...); }, detail::fields_of<T>());
    }
    static bool can_encode(const protocol::cql_type& t) noexcept {
        if (t.kind != protocol::type_kind::udt) return false;
        return std::apply([&](const auto&... f) { return (bindable(t, f) && ...); }, detail::fields_of<T>());
    }
    static conversion_errc decode(const protocol::cql_type& t, protocol::bytes_view b, T& out) {
        udt_view u;
        if (auto e = value_codec<udt_view>::decode(t, b, u); e != conversion_errc::ok) return e;
        conversion_errc e = conversion_errc::ok;
        std::apply(
            [&](const auto&... f) {
                auto one = [&](const auto& fd) {
                    if (e != conversion_errc::ok) return;
                    auto i = index_of(t, fd.name);
                    if (!i) return void(e = conversion_errc::type_mismatch);
                    e = u.decode_field(*i, out.*(fd.member));
                };
                (one(f), ...);
            },
            detail::fields_of<T>());
        return e;
    }
    static conversion_errc encode(const T& v, const protocol::cql_type& t, protocol::byte_buffer& out) {
        // Fields in the UDT's order; a field no member names is null.
        for (std::size_t i = 0; i < t.params.size(); ++i) {
            conversion_errc e = conversion_errc::ok;
            bool found = false;
            std::apply(
                [&](const auto&... f) {
                    auto one = [&](const auto& fd) {
                        if (found || !names_match(t.field_names[i], fd.name)) return;
                        found = true;
                        e = detail::write_element(v.*(fd.member), t.params[i], out, true);
                    };
                    (one(f), ...);
                },
                detail::fields_of<T>());
            if (!found) protocol::byte_writer(out).i32(-1);
            if (e != conversion_errc::ok) return e;
        }
        return conversion_errc::ok;
    }

private:
    static bool names_match(std::string_view a, std::string_view b) noexcept {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i) {
            auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
            if (lower(a[i]) != lower(b[i])) return false;
        }
        return true;
    }
    static std::optional<std::size_t> index_of(const protocol::cql_type& t, std::string_view name) noexcept {
        for (std::size_t i = 0; i < t.field_names.size(); ++i)
            if (names_match(t.field_names[i], name)) return i;
        return std::nullopt;
    }
    template <class F>
    static bool readable(const protocol::cql_type& t, const F& f) noexcept {
        auto i = index_of(t, f.name);
        return i && can_read<std::remove_cvref_t<decltype(std::declval<T&>().*(f.member))>>(t.params[*i]);
    }
    template <class F>
    static bool bindable(const protocol::cql_type& t, const F& f) noexcept {
        auto i = index_of(t, f.name);
        return i && can_bind<std::remove_cvref_t<decltype(std::declval<T&>().*(f.member))>>(t.params[*i]);
    }
};

}  // namespace cqlpp::driver

// CQLPP_DESCRIBE(type, member, member, ...): at namespace scope, in the
// struct's namespace; up to 32 members. Declares the description (a function
// found by argument-dependent lookup): no code runs.
#define CQLPP_DETAIL_FIELD(T, m) ::cqlpp::driver::described_field<T, decltype(T::m)>{#m, &T::m}
#define CQLPP_DETAIL_FIELDS_1(T, a) CQLPP_DETAIL_FIELD(T, a)
#define CQLPP_DETAIL_FIELDS_2(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_1(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_3(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_2(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_4(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_3(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_5(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_4(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_6(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_5(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_7(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_6(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_8(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_7(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_9(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_8(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_10(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_9(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_11(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_10(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_12(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_11(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_13(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_12(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_14(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_13(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_15(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_14(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_16(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_15(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_17(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_16(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_18(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_17(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_19(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_18(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_20(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_19(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_21(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_20(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_22(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_21(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_23(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_22(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_24(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_23(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_25(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_24(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_26(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_25(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_27(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_26(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_28(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_27(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_29(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_28(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_30(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_29(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_31(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_30(T, __VA_ARGS__)
#define CQLPP_DETAIL_FIELDS_32(T, a, ...) CQLPP_DETAIL_FIELD(T, a), CQLPP_DETAIL_FIELDS_31(T, __VA_ARGS__)
#define CQLPP_DETAIL_COUNT_(T, _1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, N, ...) N
#define CQLPP_DETAIL_COUNT(...) CQLPP_DETAIL_COUNT_(__VA_ARGS__, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define CQLPP_DETAIL_CAT_(a, b) a##b
#define CQLPP_DETAIL_CAT(a, b) CQLPP_DETAIL_CAT_(a, b)
#define CQLPP_DESCRIBE(T, ...)                                                                         \
    [[maybe_unused]] inline constexpr auto cqlpp_describe(const T*) noexcept {                         \
        return std::make_tuple(CQLPP_DETAIL_CAT(CQLPP_DETAIL_FIELDS_, CQLPP_DETAIL_COUNT(T, __VA_ARGS__))( \
            T, __VA_ARGS__));                                                                          \
    }
