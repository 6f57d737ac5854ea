// The driver's name and version, as sent in STARTUP (DRIVER_NAME / DRIVER_VERSION).
#pragma once

#include <string_view>

namespace cqlpp::driver {

std::string_view driver_name() noexcept;
std::string_view driver_version() noexcept;

}  // namespace cqlpp::driver
