#include "cqlpp/driver/version.hpp"

namespace cqlpp::driver {

std::string_view driver_name() noexcept { return "cqlpp"; }
std::string_view driver_version() noexcept { return "0.1.0"; }

}  // namespace cqlpp::driver
