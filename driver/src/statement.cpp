#include "cqlpp/driver/statement.hpp"

#include <cctype>

namespace cqlpp::driver {

namespace detail {
protocol::value_view value_list::view(std::size_t i) const noexcept {
    if (i >= offsets_.size() || offsets_[i] == not_bound) return protocol::value_view::unset();
    protocol::byte_reader r(protocol::bytes_view(bytes_).subspan(offsets_[i]));
    const auto len = r.i32();
    if (len == -1) return protocol::value_view::null();
    if (len < 0) return protocol::value_view::unset();
    return protocol::value_view::of(protocol::bytes_view(bytes_).subspan(offsets_[i] + 4, static_cast<std::size_t>(len)));
}
}  // namespace detail

// Marker names as Cassandra reports them are lower case unless quoted; match
// exactly first, then ignoring ASCII case (like column_set::find).
bool bound_statement::names_equal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

}  // namespace cqlpp::driver
