#include "cqlpp/driver/version.hpp"

#include <catch2/catch.hpp>

TEST_CASE("driver name and version for STARTUP", "[driver]") {
    CHECK(cqlpp::driver::driver_name() == "cqlpp");
    CHECK(cqlpp::driver::driver_version().find('.') != std::string_view::npos);
}
