#include "cqlpp/sim/version.hpp"

namespace cqlpp::sim {

std::string_view release_version() noexcept { return "5.0.2"; }
std::string_view cql_version() noexcept { return "3.4.7"; }

}  // namespace cqlpp::sim
