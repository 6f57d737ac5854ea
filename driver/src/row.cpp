#include "cqlpp/driver/row.hpp"

#include "cqlpp/protocol/detail/block_cache.hpp"

#include <algorithm>

namespace cqlpp::driver {

namespace {

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// a < lower(b), without building lower(b).
bool less_folded(std::string_view folded, std::string_view b) noexcept {
    const std::size_t n = std::min(folded.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        const char x = folded[i], y = lower(b[i]);
        if (x != y) return static_cast<unsigned char>(x) < static_cast<unsigned char>(y);
    }
    return folded.size() < b.size();
}
bool equal_folded(std::string_view folded, std::string_view b) noexcept {
    if (folded.size() != b.size()) return false;
    for (std::size_t i = 0; i < b.size(); ++i)
        if (folded[i] != lower(b[i])) return false;
    return true;
}

}  // namespace

// ---- column_set --------------------------------------------------------------

column_set::column_set(std::vector<protocol::column_spec> columns) : columns_(std::move(columns)) {
    exact_.reserve(columns_.size());
    folded_.reserve(columns_.size());
    for (std::size_t i = 0; i < columns_.size(); ++i) {
        const auto idx = static_cast<std::uint32_t>(i);
        exact_.emplace_back(columns_[i].name, idx);
        std::string f = columns_[i].name;
        for (auto& c : f) c = lower(c);
        folded_.emplace_back(std::move(f), idx);
    }
    std::sort(exact_.begin(), exact_.end());  // (name, index): the first duplicate sorts first
    std::sort(folded_.begin(), folded_.end());
}

std::optional<std::size_t> column_set::find(std::string_view name) const noexcept {
    auto e = std::lower_bound(exact_.begin(), exact_.end(), name,
                              [](const auto& entry, std::string_view n) { return entry.first < n; });
    if (e != exact_.end() && e->first == name) return e->second;
    auto f = std::lower_bound(folded_.begin(), folded_.end(), name,
                              [](const auto& entry, std::string_view n) { return less_folded(entry.first, n); });
    if (f != folded_.end() && equal_folded(f->first, name)) return f->second;
    return std::nullopt;
}

// ---- pages -------------------------------------------------------------------

rows_view::rows_view(const protocol::rows_result& rows, owner_ptr owner, std::shared_ptr<const column_set> columns) {
    // One per response: from the thread's block cache.
    auto p = std::allocate_shared<detail::page>(protocol::detail::cached_allocator<detail::page>{});
    p->owner = std::move(owner);
    if (columns) p->columns = std::move(columns);
    else if (!rows.metadata.no_metadata) p->columns = std::make_shared<const column_set>(rows.metadata.columns);
    p->width = rows.column_count();
    p->rows = rows.size();
    p->cells = rows.cells;
    page_ = std::move(p);
}

result_set rows_view::to_owned() const {
    if (!page_) return {};
    return result_set(detail::copy_page(*page_, 0, page_->rows));
}

row row_view::to_owned() const { return row(detail::copy_page(*page_, index_, 1)); }

namespace detail {

std::shared_ptr<const page> copy_page(const page& src, std::size_t first, std::size_t count) {
    auto p = std::make_shared<page>();
    p->columns = src.columns;
    p->width = src.width;
    p->rows = count;
    const auto cells = src.cells.subspan(first * src.width, count * src.width);
    std::size_t total = 0;
    for (const auto& c : cells) total += c.bytes.size();
    // One buffer for all the bytes; reserved up front so the views below stay put.
    p->own_bytes.reserve(total);
    p->own_cells.reserve(cells.size());
    for (const auto& c : cells) {
        if (!c.is_set()) {
            p->own_cells.push_back(c);
            continue;
        }
        const std::size_t at = p->own_bytes.size();
        p->own_bytes.insert(p->own_bytes.end(), c.bytes.begin(), c.bytes.end());
        p->own_cells.push_back(protocol::value_view::of(protocol::bytes_view(p->own_bytes.data() + at, c.bytes.size())));
    }
    p->cells = p->own_cells;
    return p;
}

void describe(const page& p, std::size_t column, std::string_view requested, conversion_errc e,
              conversion_diagnostics& diag) {
    diag = conversion_diagnostics{};
    diag.column = column;
    std::string& m = diag.message;
    if (!requested.empty() || column >= p.width) {
        diag.column_name = std::string(requested);
        m = "column ";
        if (requested.empty()) m += std::to_string(column);
        else (m += '"').append(requested) += '"';
        m += " of a ";
        m += std::to_string(p.width);
        m += "-column result";
    } else {
        m = "column " + std::to_string(column);
        if (p.columns) {
            const auto& spec = (*p.columns)[column];
            diag.column_name = spec.name;
            diag.cql_type = protocol::to_cql_name(spec.type);
            m += " \"" + spec.name + "\" (" + diag.cql_type + ")";
        }
    }
    m += ": ";
    m += to_string(e);
}

void throw_conversion_error(const page& p, std::size_t column, std::string_view requested, conversion_errc e) {
    conversion_diagnostics d;
    describe(p, column, requested, e, d);
    throw conversion_error(make_error_code(e), d.message);
}

}  // namespace detail

}  // namespace cqlpp::driver
