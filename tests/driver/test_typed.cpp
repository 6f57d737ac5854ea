// Rows and values as C++ types (driver/typed.hpp): tuples and described
// structs from pages, binding from them, UDTs as described structs.
#include "cqlpp/driver/typed.hpp"
#include "cqlpp/protocol/result.hpp"

#include <catch2/catch.hpp>

#include "type_name.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace cqlpp;
using driver::conversion_errc;
using protocol::byte_buffer;
using protocol::cql_type;
using test::T;

namespace app {
struct address {
    std::string street;
    std::int32_t zip = 0;
};
CQLPP_DESCRIBE(address, street, zip)

struct user {
    std::int32_t id = 0;
    std::string name;
    std::optional<std::int64_t> score;
    std::optional<address> home;
};
CQLPP_DESCRIBE(user, id, name, score, home)

struct wrong_type {
    std::string id;  // an int column
};
CQLPP_DESCRIBE(wrong_type, id)

struct unknown_column {
    std::int32_t id = 0;
    std::string nickname;
};
CQLPP_DESCRIBE(unknown_column, id, nickname)
}  // namespace app

namespace {

cql_type address_udt() {
    return cql_type::udt_of("ks", "address", {"street", "zip", "country"}, {T("text"), T("int"), T("text")});
}

// A RESULT Rows page built from typed cells (std::nullopt: a null cell).
struct page_builder {
    protocol::result_metadata metadata;
    std::vector<std::optional<byte_buffer>> cells;

    page_builder& column(std::string name, cql_type type) {
        metadata.columns.push_back({"ks", "users", std::move(name), std::move(type)});
        metadata.column_count = static_cast<std::int32_t>(metadata.columns.size());
        return *this;
    }
    template <class... Vs>
    page_builder& row(const Vs&... vs) {
        std::size_t i = 0;
        auto one = [&](const auto& v) {
            const cql_type& t = metadata.columns[i++].type;
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::nullopt_t>) {
                cells.emplace_back(std::nullopt);
            } else {
                byte_buffer b;
                REQUIRE(driver::encode_value(v, t, b) == conversion_errc::ok);
                cells.emplace_back(std::move(b));
            }
        };
        (one(vs), ...);
        return *this;
    }
};

struct decoded_page {
    byte_buffer body;
    protocol::result_response result;
};

driver::rows_view decode(const page_builder& pb) {
    auto page = std::make_shared<decoded_page>();
    std::vector<protocol::value_view> views;
    for (const auto& c : pb.cells) views.push_back(c ? protocol::value_view::of(*c) : protocol::value_view::null());
    protocol::byte_writer w(page->body);
    protocol::encode_rows(w, protocol::protocol_version::v5, pb.metadata, views);
    REQUIRE(protocol::result_response::decode(page->body, protocol::protocol_version::v5, page->result) ==
            protocol::errc::ok);
    return driver::rows_view(std::get<protocol::rows_result>(page->result.value), page);
}

driver::rows_view users() {
    driver::udt_value home;
    home.set("street", std::string("Main St")).set("zip", std::int32_t{1234}).set("country", std::string("NZ"));
    page_builder pb;
    // Columns in another order than the struct's members: structs map by name.
    pb.column("name", T("text")).column("ID", T("int")).column("score", T("bigint")).column("home", address_udt());
    pb.row(std::string("ada"), std::int32_t{1}, std::int64_t{100}, home);
    pb.row(std::string("bob"), std::int32_t{2}, std::nullopt, std::nullopt);
    return decode(pb);
}

std::string error_of(auto&& f) {
    try {
        f();
    } catch (const driver::conversion_error& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST_CASE("typed: rows as tuples, by position", "[driver][typed]") {
    auto rows = users();
    auto v = driver::as<std::tuple<std::string, std::int32_t, std::optional<std::int64_t>>>(rows);
    REQUIRE(v.size() == 2);
    CHECK(v[0] == std::tuple{std::string("ada"), 1, std::optional<std::int64_t>(100)});
    CHECK(v[1] == std::tuple{std::string("bob"), 2, std::optional<std::int64_t>()});
    // Views borrow the page.
    auto names = driver::typed<std::tuple<std::string_view>>(rows);
    std::vector<std::string_view> got;
    for (auto [n] : names) got.push_back(n);
    CHECK(got == std::vector<std::string_view>{"ada", "bob"});
    CHECK(std::get<0>(driver::row_as<std::tuple<std::string, std::int32_t>>(rows[1])) == "bob");
}

TEST_CASE("typed: rows as described structs, by column name, UDT members", "[driver][typed]") {
    auto v = driver::as<app::user>(users());
    REQUIRE(v.size() == 2);
    CHECK(v[0].id == 1);
    CHECK(v[0].name == "ada");
    CHECK(v[0].score == 100);
    REQUIRE(v[0].home.has_value());
    CHECK(v[0].home->street == "Main St");
    CHECK(v[0].home->zip == 1234);
    CHECK(v[1].id == 2);
    CHECK(!v[1].score);
    CHECK(!v[1].home);
    auto one = driver::row_as<app::user>(users()[0]);
    CHECK(one.home->zip == 1234);
}

TEST_CASE("typed: mismatches are found once per page and name the column and both types", "[driver][typed]") {
    auto rows = users();
    CHECK(error_of([&] { driver::typed<app::wrong_type>(rows); }) ==
          "column \"ID\" (int) cannot be read as std::string (app::wrong_type::id): type_mismatch");
    CHECK(error_of([&] { driver::typed<std::tuple<std::int64_t, std::int32_t>>(rows); })
              .starts_with("column \"name\" (text) cannot be read as int64_t (element 0 of "));
    CHECK(error_of([&] { driver::typed<app::unknown_column>(rows); }) ==
          "typed rows: no column \"nickname\" for app::unknown_column::nickname: no_such_column");
    CHECK(error_of([&] { driver::as<std::tuple<int, int, int, int, int>>(rows); }).find("5 elements") !=
          std::string::npos);
    // A null in a non-optional member fails when that row is read, naming it.
    auto nonnull = driver::typed<std::tuple<std::string, std::int32_t, std::int64_t>>(rows);
    CHECK(std::get<2>(nonnull[0]) == 100);
    CHECK(error_of([&] { (void)nonnull[1]; }) ==
          "row 1, column \"score\" (bigint) as int64_t: unexpected_null");
    // An empty page without metadata is fine; one with rows is not.
    CHECK(driver::typed<app::user>(driver::rows_view()).empty());
}

TEST_CASE("typed: UDTs to and from described structs", "[driver][typed]") {
    const cql_type address_type = address_udt();
    app::address a{"High St", 42};
    byte_buffer b;
    REQUIRE(driver::encode_value(a, address_type, b) == conversion_errc::ok);
    driver::udt_view u;
    REQUIRE(driver::decode_value(address_type, protocol::value_view::of(b), u) == conversion_errc::ok);
    CHECK(u.get<std::string>("street") == "High St");
    CHECK(u.get<std::int32_t>("zip") == 42);
    CHECK(u.get<std::optional<std::string>>("country") == std::nullopt);  // no member: null
    app::address back;
    REQUIRE(driver::decode_value(address_type, protocol::value_view::of(b), back) == conversion_errc::ok);
    CHECK(back.street == "High St");
    CHECK(back.zip == 42);
    // A UDT lacking a member's field, or with another field type, is a type mismatch.
    const cql_type other = cql_type::udt_of("ks", "address", {"street"}, {T("text")});
    const cql_type retyped = cql_type::udt_of("ks", "address", {"street", "zip"}, {T("text"), T("text")});
    CHECK(!driver::can_read<app::address>(other));
    CHECK(!driver::can_bind<app::address>(retyped));
    CHECK(driver::encode_value(a, other, b) == conversion_errc::type_mismatch);
}

TEST_CASE("typed: binding a statement from a tuple or a described struct", "[driver][typed]") {
    auto data = std::make_shared<driver::detail::prepared_data>();
    data->query = "INSERT INTO ks.users (id, name, score, home) VALUES (?, ?, ?, ?)";
    for (auto [n, t] : {std::pair{"id", T("int")}, {"name", T("text")}, {"score", T("bigint")}, {"home", address_udt()}})
        data->markers.push_back({"ks", "users", n, t});
    driver::prepared_statement ps(data);

    app::user u{7, "eve", std::nullopt, app::address{"Low Rd", 9}};
    auto by_struct = driver::bind_from(ps, u);
    REQUIRE(!by_struct.error());
    auto by_args = ps.bind(7, std::string("eve"), std::nullopt, app::address{"Low Rd", 9});
    REQUIRE(!by_args.error());
    REQUIRE(by_struct.values().size() == 4);
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(by_struct.values().view(i).is_set() == by_args.values().view(i).is_set());
        CHECK(std::ranges::equal(by_struct.values().view(i).bytes, by_args.values().view(i).bytes));
    }
    auto by_tuple = driver::bind_from(ps, std::tuple{7, std::string("eve"), std::optional<std::int64_t>(5),
                                                     std::optional<app::address>()});
    REQUIRE(!by_tuple.error());
    CHECK(!by_tuple.values().view(3).is_set());

    // A member of the wrong type is the statement's binding error, naming the marker.
    std::tuple<std::string, std::string, std::optional<std::int64_t>, std::optional<app::address>> bad{"x", "y", 1, {}};
    auto b = driver::bind_from(ps, bad);
    CHECK(b.error() == driver::errc::bind_type_mismatch);
    CHECK(b.error_message().find("\"id\" (int)") != std::string::npos);
}
