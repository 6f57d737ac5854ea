// Typed row access over decoded RESULT Rows pages (driver/row.hpp).
#include "cqlpp/driver/result_set.hpp"
#include "cqlpp/driver/row.hpp"
#include "cqlpp/protocol/result.hpp"

#include <catch2/catch.hpp>

#include "alloc_counter.hpp"
#include "type_name.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

// Heap allocations on this thread (alloc_counter.cpp), to check the hot read path allocates nothing.
#define g_allocations ::cqlpp::test::alloc::allocations

using namespace cqlpp;
using driver::conversion_errc;
using protocol::byte_buffer;
using protocol::cql_type;
using protocol::type_kind;
using test::T;

namespace {

// Builds a RESULT Rows body with protocol::encode_rows from typed cells
// (encoded with the driver's encoder; std::nullopt gives a null cell).
struct page_builder {
    protocol::result_metadata metadata;
    std::vector<std::optional<byte_buffer>> cells;

    page_builder& column(std::string name, cql_type type) {
        metadata.columns.push_back({"ks", "tbl", std::move(name), std::move(type)});
        metadata.column_count = static_cast<std::int32_t>(metadata.columns.size());
        return *this;
    }
    template <class... Vs>
    page_builder& row(const Vs&... vs) {
        REQUIRE(sizeof...(Vs) == metadata.columns.size());
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
    byte_buffer body(protocol::protocol_version v = protocol::protocol_version::v5) const {
        std::vector<protocol::value_view> views;
        for (const auto& c : cells) views.push_back(c ? protocol::value_view::of(*c) : protocol::value_view::null());
        byte_buffer out;
        protocol::byte_writer w(out);
        protocol::encode_rows(w, v, metadata, views);
        return out;
    }
};

// What the transport hands over: an owned body with the decoded message borrowing it.
struct decoded_page {
    byte_buffer body;
    protocol::result_response result;
};

driver::rows_view decode(const page_builder& pb, protocol::protocol_version v = protocol::protocol_version::v5) {
    auto page = std::make_shared<decoded_page>();
    page->body = pb.body(v);
    REQUIRE(protocol::result_response::decode(page->body, v, page->result) == protocol::errc::ok);
    const auto& rows = std::get<protocol::rows_result>(page->result.value);
    return driver::rows_view(rows, page);
}

page_builder people() {
    page_builder pb;
    pb.column("id", T("int"))
        .column("name", T("text"))
        .column("Score", T("bigint"))
        .column("avatar", T("blob"))
        .column("tags", T("set<text>"));
    pb.row(std::int32_t{1}, std::string("ada"), std::int64_t{100}, driver::blob{std::byte{1}, std::byte{2}},
           std::set<std::string>{"x"});
    pb.row(std::int32_t{2}, std::string("bob"), std::nullopt, std::nullopt, std::set<std::string>{});
    pb.row(std::int32_t{3}, std::nullopt, std::int64_t{-5}, driver::blob{}, std::nullopt);
    return pb;
}

}  // namespace

TEST_CASE("rows: read by index and by name, range-for", "[driver]") {
    for (auto v : {protocol::protocol_version::v4, protocol::protocol_version::v5}) {
        auto rows = decode(people(), v);
        REQUIRE(rows.size() == 3);
        REQUIRE(rows.column_count() == 5);
        CHECK(rows.columns()->find("name") == 1u);

        auto r0 = rows[0];
        CHECK(r0.get<std::int32_t>(0) == 1);
        CHECK(r0.get<std::string_view>("name") == "ada");
        CHECK(r0.get<std::string>(1) == "ada");
        CHECK(r0.get<std::int64_t>("Score") == 100);
        CHECK(r0.get<driver::blob>("avatar") == driver::blob{std::byte{1}, std::byte{2}});
        CHECK(r0.get<driver::blob_view>("avatar").size() == 2);
        CHECK(r0.get<std::set<std::string>>("tags") == std::set<std::string>{"x"});
        CHECK(r0.get<std::vector<std::string_view>>("tags") == std::vector<std::string_view>{"x"});

        std::vector<std::int32_t> ids;
        std::vector<std::optional<std::string>> names;
        for (driver::row_view r : rows) {
            ids.push_back(r.get<std::int32_t>("id"));
            names.push_back(r.get<std::optional<std::string>>("name"));
        }
        CHECK(ids == std::vector<std::int32_t>{1, 2, 3});
        CHECK(names == std::vector<std::optional<std::string>>{"ada", "bob", std::nullopt});
        static_assert(std::random_access_iterator<driver::row_iterator>);
        CHECK(rows.end() - rows.begin() == 3);
        CHECK(rows.at(2).get<std::int32_t>("id") == 3);
        CHECK_THROWS_AS(rows.at(3), std::out_of_range);
        CHECK((*(rows.begin() + 2)).get<std::int32_t>(0) == 3);
    }
}

TEST_CASE("rows: name lookup is exact first, then case-insensitive", "[driver]") {
    page_builder pb;
    pb.column("value", T("int")).column("Value", T("text")).column("x", T("int")).column("x", T("bigint"));
    pb.row(std::int32_t{1}, std::string("upper"), std::int32_t{7}, std::int64_t{8});
    auto rows = decode(pb);
    auto r = rows[0];
    CHECK(r.get<std::int32_t>("value") == 1);
    CHECK(r.get<std::string>("Value") == "upper");  // exact beats case-insensitive
    CHECK(r.get<std::int32_t>("VALUE") == 1);       // folded: first of the folded matches
    CHECK(r.get<std::int32_t>("x") == 7);           // duplicate names: the first column
    CHECK(r.get<std::int32_t>("X") == 7);
    CHECK(r.column_index("nope") == std::nullopt);
    CHECK(r.column_index("") == std::nullopt);
}

TEST_CASE("rows: nulls, type mismatch and range errors name the column", "[driver]") {
    auto rows = decode(people());
    auto r1 = rows[1];

    // Null: optional reads nullopt, a plain T is an error.
    CHECK(r1.is_null(2));
    CHECK_FALSE(r1.get<std::optional<std::int64_t>>("score"));
    std::int64_t score = 0;
    driver::conversion_diagnostics diag;
    CHECK(r1.try_get("score", score, &diag) == conversion_errc::unexpected_null);
    CHECK(diag.column == 2);
    CHECK(diag.column_name == "Score");
    CHECK(diag.cql_type == "bigint");
    CHECK(diag.message == "column 2 \"Score\" (bigint): unexpected_null");
    // A collection with zero elements is a value, not null.
    CHECK(r1.get<std::set<std::string>>("tags").empty());
    CHECK(rows[2].get<std::optional<std::vector<std::string>>>("tags") == std::nullopt);
    CHECK(rows[2].get<driver::blob>("avatar").empty());  // zero bytes: an empty blob, not null

    // Type mismatch: int32 on a bigint column is refused, not truncated.
    std::int32_t narrow = 0;
    CHECK(rows[0].try_get(2, narrow, &diag) == conversion_errc::type_mismatch);
    CHECK(diag.message == "column 2 \"Score\" (bigint): type_mismatch");
    CHECK(rows[0].try_get("tags", narrow, &diag) == conversion_errc::type_mismatch);
    CHECK(diag.cql_type == "set<text>");
    try {
        (void)rows[0].get<std::string>("id");
        FAIL("expected a conversion_error");
    } catch (const driver::conversion_error& e) {
        CHECK(e.code() == conversion_errc::type_mismatch);
        CHECK(std::string(e.what()).find("column 0 \"id\" (int): type_mismatch") != std::string::npos);
    }

    // Unknown columns.
    CHECK(rows[0].try_get("missing", narrow, &diag) == conversion_errc::no_such_column);
    CHECK(diag.message == "column \"missing\" of a 5-column result: no_such_column");
    CHECK(rows[0].try_get(5, narrow, &diag) == conversion_errc::no_such_column);
    CHECK(diag.message == "column 5 of a 5-column result: no_such_column");
    CHECK_THROWS_AS(rows[0].get<std::int32_t>("missing"), driver::conversion_error);

    // Out of range: varint into a narrow integer.
    page_builder pb;
    pb.column("big", T("varint")).column("t", T("time"));
    pb.row(std::int64_t{1} << 40, driver::time(5));
    auto vr = decode(pb);
    CHECK(vr[0].try_get("big", narrow, &diag) == conversion_errc::out_of_range);
    CHECK(diag.message == "column 0 \"big\" (varint): out_of_range");
    CHECK(vr[0].get<std::int64_t>("big") == (std::int64_t{1} << 40));
    CHECK(vr[0].get<driver::time>("t") == driver::time(5));
}

TEST_CASE("rows: malformed cell bytes are bad_bytes, not a crash", "[driver]") {
    page_builder pb;
    pb.column("i", T("int")).column("s", T("text")).column("l", T("list<int>"));
    pb.cells = {byte_buffer{1, 2, 3}, byte_buffer{0xC3}, byte_buffer{0, 0, 0, 5}};
    auto rows = decode(pb);
    std::int32_t i = 0;
    std::string_view s;
    std::vector<std::int32_t> l;
    CHECK(rows[0].try_get(0, i) == conversion_errc::bad_bytes);
    CHECK(rows[0].try_get(1, s) == conversion_errc::bad_bytes);
    CHECK(rows[0].try_get(2, l) == conversion_errc::bad_bytes);
}

TEST_CASE("rows: every CQL type through a page", "[driver]") {
    using namespace std::chrono;
    const cql_type udt = cql_type::udt_of("ks", "pt", {"x", "y"}, {cql_type(type_kind::int_), cql_type(type_kind::int_)});
    page_builder pb;
    pb.column("a", T("ascii")).column("b", T("bigint")).column("c", T("blob")).column("d", T("boolean"));
    pb.column("e", T("counter")).column("f", T("decimal")).column("g", T("double")).column("h", T("float"));
    pb.column("i", T("inet")).column("j", T("int")).column("k", T("timestamp")).column("l", T("uuid"));
    pb.column("m", T("text")).column("n", T("varint")).column("o", T("timeuuid")).column("p", T("date"));
    pb.column("q", T("time")).column("r", T("smallint")).column("s", T("tinyint")).column("t", T("duration"));
    pb.column("u", T("list<int>")).column("v", T("map<text, int>")).column("w", T("set<uuid>"));
    pb.column("x", T("tuple<int, text>")).column("y", udt).column("z", T("vector<float, 2>"));

    driver::decimal dec;
    REQUIRE(driver::decimal::from_string("3.14", dec) == protocol::errc::ok);
    const auto tu = *driver::uuid::from_string("e7b1e2c0-3b5e-11ef-8000-000000000001");
    const driver::uuid u4 = *driver::uuid::from_string("550e8400-e29b-41d4-a716-446655440000");
    const driver::timestamp ts = sys_days(2020y / 2 / 29) + milliseconds(1);
    pb.row(std::string("asc"), std::int64_t{-9}, driver::blob{std::byte{7}}, true, std::int64_t{3}, dec, 2.5, 1.25f,
           driver::inet::v4(127, 0, 0, 1), std::int32_t{42}, ts, u4, std::string("txt"), driver::varint::from_int64(-300),
           tu, driver::date(sys_days(2000y / 1 / 1)), driver::time(hours(1)), std::int16_t{-2}, std::int8_t{9},
           driver::duration{1, 2, 3}, std::vector<std::int32_t>{1, 2}, std::map<std::string, std::int32_t>{{"k", 1}},
           std::set<driver::uuid>{u4}, std::tuple<std::int32_t, std::string>{1, "t"},
           driver::udt_value().set("x", std::int32_t{1}).set("y", std::int32_t{2}), std::array<float, 2>{0.5f, 1.5f});
    auto rows = decode(pb);
    auto r = rows[0];
    CHECK(r.get<std::string_view>("a") == "asc");
    CHECK(r.get<std::int64_t>("b") == -9);
    CHECK(r.get<driver::blob>("c") == driver::blob{std::byte{7}});
    CHECK(r.get<bool>("d"));
    CHECK(r.get<std::int64_t>("e") == 3);
    CHECK(r.get<driver::decimal>("f").to_string() == "3.14");
    CHECK(r.get<double>("g") == 2.5);
    CHECK(r.get<float>("h") == 1.25f);
    CHECK(r.get<driver::inet>("i").to_string() == "127.0.0.1");
    CHECK(r.get<std::int32_t>("j") == 42);
    CHECK(r.get<driver::timestamp>("k") == ts);
    CHECK(r.get<driver::uuid>("l") == u4);
    CHECK(r.get<std::string>("m") == "txt");
    CHECK(r.get<driver::varint>("n").to_string() == "-300");
    CHECK(r.get<driver::uuid>("o").version() == 1);
    CHECK(r.get<sys_days>("p") == sys_days(2000y / 1 / 1));
    CHECK(r.get<driver::time>("q") == hours(1));
    CHECK(r.get<std::int16_t>("r") == -2);
    CHECK(r.get<std::int8_t>("s") == 9);
    CHECK(r.get<driver::duration>("t") == driver::duration{1, 2, 3});
    CHECK(r.get<std::vector<std::int32_t>>("u") == std::vector<std::int32_t>{1, 2});
    CHECK(r.get<std::map<std::string_view, std::int32_t>>("v").at("k") == 1);
    CHECK(r.get<std::set<driver::uuid>>("w").count(u4) == 1);
    CHECK(r.get<std::tuple<std::int32_t, std::string>>("x") == std::tuple<std::int32_t, std::string>{1, "t"});
    CHECK(r.get<driver::udt_view>("y").get<std::int32_t>("y") == 2);
    CHECK(r.get<std::array<float, 2>>("z") == std::array<float, 2>{0.5f, 1.5f});
    // Generic fallback reads anything.
    CHECK(r.get<protocol::cql_value>("v").entries().size() == 1);
}

TEST_CASE("rows: owning copies outlive the response buffer", "[driver]") {
    driver::result_set all;
    driver::row second;
    std::weak_ptr<const void> watch;
    {
        auto page = std::make_shared<decoded_page>();
        page->body = people().body();
        REQUIRE(protocol::result_response::decode(page->body, protocol::protocol_version::v5, page->result) ==
                protocol::errc::ok);
        watch = page;
        driver::rows_view rows(std::get<protocol::rows_result>(page->result.value), page);
        page.reset();
        CHECK_FALSE(watch.expired());  // the view keeps the response alive
        all = rows.to_owned();
        second = rows[1].to_owned();
        CHECK(all.shared_columns() == rows.shared_columns());  // metadata shared, not copied per row
    }
    // Every borrowing handle is gone: the response buffer is freed (ASan would flag any read of it).
    CHECK(watch.expired());
    REQUIRE(all.size() == 3);
    CHECK(all[0].get<std::string_view>("name") == "ada");
    CHECK(all[2].get<std::int64_t>("score") == -5);
    CHECK(all[1].is_null(2));
    CHECK(all[0].get<driver::blob_view>("avatar").size() == 2);
    CHECK(second.get<std::string>("name") == "bob");
    CHECK(second.get<std::optional<std::int64_t>>(2) == std::nullopt);
    CHECK(second.size() == 5);
    std::int32_t id = 0;
    CHECK(second.try_get("id", id) == std::error_code());
    CHECK(id == 2);
    std::vector<std::int32_t> ids;
    for (auto r : all.view()) ids.push_back(r.get<std::int32_t>(0));
    CHECK(ids == std::vector<std::int32_t>{1, 2, 3});
    CHECK(driver::rows_view().to_owned().empty());
}

TEST_CASE("rows: transport response frames and no_metadata pages", "[driver]") {
    auto frame = std::make_shared<transport::response_frame>();
    frame->owned = people().body();
    frame->body = frame->owned;
    protocol::result_response rr;
    REQUIRE(protocol::result_response::decode(frame->body, protocol::protocol_version::v5, rr) == protocol::errc::ok);
    frame->message = std::move(rr);  // the cells still point into frame->body
    transport::response_ptr response = frame;
    frame.reset();

    driver::rows_view rows;
    REQUIRE_FALSE(driver::rows_of(response, rows));
    std::weak_ptr<const transport::response_frame> watch = response;
    response.reset();
    CHECK_FALSE(watch.expired());
    CHECK(rows[0].get<std::string>("name") == "ada");
    auto columns = rows.shared_columns();
    rows = {};
    CHECK(watch.expired());

    CHECK(driver::rows_of(nullptr, rows) == conversion_errc::not_a_rows_result);
    auto void_frame = std::make_shared<transport::response_frame>();
    void_frame->message = protocol::result_response{protocol::void_result{}};
    CHECK(driver::rows_of(void_frame, rows) == conversion_errc::not_a_rows_result);

    // A page sent without metadata (skip_metadata): typed access needs the
    // prepared statement's columns; raw cells are there regardless.
    page_builder pb = people();
    pb.metadata.no_metadata = true;
    auto page = std::make_shared<decoded_page>();
    page->body = pb.body();
    REQUIRE(protocol::result_response::decode(page->body, protocol::protocol_version::v5, page->result) ==
            protocol::errc::ok);
    const auto& raw_rows = std::get<protocol::rows_result>(page->result.value);
    driver::rows_view bare(raw_rows, page);
    std::int32_t id = 0;
    CHECK(bare[0].try_get(0, id) == conversion_errc::missing_metadata);
    CHECK(bare[0].try_get("id", id) == conversion_errc::missing_metadata);
    CHECK(bare[0].raw(0).is_set());
    driver::rows_view with_columns(raw_rows, page, columns);
    CHECK(with_columns[2].get<std::int32_t>("id") == 3);
}

TEST_CASE("rows: reading int, text and blob views allocates nothing", "[driver]") {
    auto rows = decode(people());
    auto r = rows[0];
    std::int64_t sum = 0;
    std::size_t chars = 0;
    const std::size_t before = g_allocations;
    for (auto row : rows) {
        sum += row.get<std::int32_t>(0);
        sum += row.get<std::int32_t>("id");
        chars += row.get<std::optional<std::string_view>>("name").value_or("").size();
        chars += row.get<std::optional<driver::blob_view>>(3).value_or(driver::blob_view{}).size();
        sum += row.get<std::optional<std::int64_t>>("SCORE").value_or(0);  // case-folded lookup too
        std::int32_t x = 0;
        sum += row.try_get("id", x) ? 0 : x;
    }
    driver::uuid u;
    (void)r.try_get(0, u);  // a type mismatch without diagnostics does not allocate either
    const std::size_t after = g_allocations;
    CHECK(after == before);
    CHECK(sum == 1 + 2 + 3 + 1 + 2 + 3 + 100 - 5 + 1 + 2 + 3);
    CHECK(chars == 3 + 3 + 2);
}
