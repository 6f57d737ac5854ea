// One error model: portable conditions over every category a request can end with.
#include "cqlpp/driver/error.hpp"
#include "cqlpp/driver/outcome.hpp"
#include "cqlpp/driver/value_codec.hpp"
#include "cqlpp/protocol/error_response.hpp"
#include "cqlpp/transport/error.hpp"

#include <asio/error.hpp>
#include <catch2/catch.hpp>

namespace drv = cqlpp::driver;
namespace proto = cqlpp::protocol;
namespace tr = cqlpp::transport;
using drv::condition;

TEST_CASE("conditions: a timeout is a timeout whichever layer produced it", "[driver][errors]") {
    for (std::error_code ec : {std::error_code(drv::errc::request_timeout), std::error_code(tr::errc::timeout),
                               std::error_code(tr::errc::connect_timeout), make_error_code(proto::server_errc::read_timeout),
                               make_error_code(proto::server_errc::write_timeout), std::make_error_code(std::errc::timed_out)}) {
        INFO(ec.category().name() << " " << ec.message());
        CHECK(ec == condition::timeout);
        CHECK(drv::is_retryable(ec));
        CHECK_FALSE(drv::is_fatal(ec));
        CHECK(ec != condition::cancelled);
    }
}

TEST_CASE("conditions: every server code maps to exactly one condition", "[driver][errors]") {
    const condition all[] = {condition::timeout,       condition::cancelled,      condition::unavailable,
                             condition::overloaded,    condition::unprepared,     condition::invalid_query,
                             condition::authentication, condition::connection_lost, condition::server_failure,
                             condition::protocol};
    for (auto code : proto::all_server_errcs) {
        auto ec = make_error_code(code);
        int matches = 0;
        for (auto c : all) matches += ec == c;
        INFO(proto::to_string(code));
        CHECK(matches == 1);
    }
    CHECK(make_error_code(proto::server_errc::server_error) == condition::server_failure);
    CHECK(make_error_code(proto::server_errc::unavailable) == condition::unavailable);
    CHECK(make_error_code(proto::server_errc::overloaded) == condition::overloaded);
    CHECK(make_error_code(proto::server_errc::is_bootstrapping) == condition::overloaded);
    CHECK(make_error_code(proto::server_errc::unprepared) == condition::unprepared);
    CHECK(make_error_code(proto::server_errc::syntax_error) == condition::invalid_query);
    CHECK(make_error_code(proto::server_errc::invalid) == condition::invalid_query);
    CHECK(make_error_code(proto::server_errc::unauthorized) == condition::authentication);
    CHECK(make_error_code(proto::server_errc::auth_error) == condition::authentication);
    CHECK(make_error_code(static_cast<proto::server_errc>(0x7777)) == condition::server_failure);
    CHECK(drv::is_fatal(make_error_code(proto::server_errc::syntax_error)));
    CHECK_FALSE(drv::is_retryable(make_error_code(proto::server_errc::invalid)));
    CHECK(drv::is_retryable(make_error_code(proto::server_errc::overloaded)));
}

TEST_CASE("conditions: transport, driver, conversion and asio errors", "[driver][errors]") {
    CHECK(std::error_code(tr::errc::cancelled) == condition::cancelled);
    CHECK(std::error_code(asio::error::operation_aborted) == condition::cancelled);
    CHECK(std::error_code(drv::errc::session_closed) == condition::cancelled);
    CHECK(drv::is_fatal(drv::errc::session_closed));
    for (std::error_code ec : {std::error_code(tr::errc::connection_closed), std::error_code(tr::errc::connect_failed),
                               std::error_code(tr::errc::no_connection), std::error_code(asio::error::eof),
                               std::error_code(asio::error::connection_reset)}) {
        INFO(ec.message());
        CHECK(ec == condition::connection_lost);
        CHECK(drv::is_retryable(ec));
    }
    CHECK(std::error_code(tr::errc::auth_failed) == condition::authentication);
    CHECK(drv::is_fatal(tr::errc::auth_failed));
    CHECK(std::error_code(tr::errc::framing_error) == condition::protocol);
    CHECK(std::error_code(drv::errc::no_host_available) == condition::unavailable);
    CHECK(std::error_code(drv::errc::bind_type_mismatch) == condition::invalid_query);
    CHECK(drv::make_error_code(drv::conversion_errc::type_mismatch) == condition::invalid_query);
    CHECK_FALSE(std::error_code() == condition::timeout);
    CHECK_FALSE(drv::is_retryable({}));
    CHECK_FALSE(drv::is_fatal({}));
    CHECK(std::error_condition(condition::timeout).message() == "timeout");
}

// connect(), prepare() and refresh_metadata() answer in outcome<T>, which asks
// the same questions as a query's result.
TEST_CASE("outcome: one shape with result's accessors, and structured bindings", "[driver][errors]") {
    drv::outcome<std::string> good(std::string("value"));
    CHECK(good.ok());
    CHECK(static_cast<bool>(good));
    CHECK_FALSE(good.error());
    CHECK(good.diag().message.empty());
    CHECK(good.value() == "value");
    CHECK(good.value_or_throw() == "value");

    drv::diagnostics d;
    d.message = "Keyspace 'nope' does not exist";
    drv::outcome<std::string> bad(make_error_code(proto::server_errc::invalid), d);
    CHECK_FALSE(bad.ok());
    CHECK_FALSE(static_cast<bool>(bad));
    CHECK(bad.error() == condition::invalid_query);
    CHECK(drv::is_fatal(bad.error()));
    CHECK(bad.diag().message == d.message);
    CHECK(bad.value().empty());
    try {
        (void)bad.value_or_throw();
        FAIL("value_or_throw did not throw");
    } catch (const drv::request_error& e) {
        CHECK(e.code() == proto::server_errc::invalid);
        CHECK(e.diag().message == d.message);
    }

    auto [ec, value, diag] = std::move(bad);
    CHECK(ec == proto::server_errc::invalid);
    CHECK(value.empty());
    CHECK(diag.message == d.message);
    auto& [gec, gvalue, gdiag] = good;
    gvalue += "!";
    CHECK(good.value() == "value!");
    CHECK_FALSE(gec);
    CHECK(gdiag.message.empty());

    drv::outcome<void> done;
    CHECK(done.ok());
    (void)done.value_or_throw();
    drv::outcome<void> failed(make_error_code(drv::errc::metadata_error), d);
    CHECK(failed.error() == drv::errc::metadata_error);
    CHECK_THROWS_AS(failed.value_or_throw(), drv::request_error);
}
