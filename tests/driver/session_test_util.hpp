// Session steps that must succeed for a driver test to mean anything: each
// REQUIREs success and shows the driver's diagnostic when it fails.
#pragma once

#include "cqlpp/driver/session.hpp"

#include <asio.hpp>
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace cqlpp::test {

inline asio::awaitable<std::shared_ptr<driver::session>> open(asio::any_io_executor ex, driver::session_config cfg) {
    auto r = co_await driver::session::connect(ex, std::move(cfg));
    INFO(r.diag().message);
    REQUIRE_FALSE(r.error());
    co_return r.value();
}

inline asio::awaitable<void> ok(driver::session& s, std::string_view cql) {
    auto r = co_await s.execute(cql);
    INFO(cql << ": " << r.diag().message);
    REQUIRE(r.ok());
}

inline asio::awaitable<driver::prepared_statement> prepare(driver::session& s, std::string q) {
    auto p = co_await s.prepare(std::move(q));
    INFO(p.diag().message);
    REQUIRE(p.ok());
    co_return p.value();
}

}  // namespace cqlpp::test
