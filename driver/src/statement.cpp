#include "cqlpp/driver/statement.hpp"

#include <cctype>

namespace cqlpp::driver {


// Marker names as Cassandra reports them are lower case unless quoted; match
// exactly first, then ignoring ASCII case (like column_set::find).
bool bound_statement::names_equal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

}  // namespace cqlpp::driver
