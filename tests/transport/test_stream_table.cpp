// The stream table: allocation, exhaustion, orphans, rotating start.
#include "cqlpp/transport/detail/stream_table.hpp"

#include <catch2/catch.hpp>

#include <set>

using cqlpp::transport::detail::stream_table;

namespace {
int owner_a, owner_b;
}

TEST_CASE("stream table hands out all 32768 ids, then reports exhaustion", "[transport][stream_table]") {
    stream_table t;
    std::set<int> ids;
    for (int i = 0; i < 32768; ++i) {
        auto id = t.allocate(&owner_a);
        REQUIRE(id);
        REQUIRE(*id >= 0);
        ids.insert(*id);
    }
    CHECK(ids.size() == 32768);
    CHECK(t.available() == 0);
    CHECK_FALSE(t.allocate(&owner_a));
    CHECK(t.release(1234) == &owner_a);
    auto again = t.allocate(&owner_b);
    REQUIRE(again);
    CHECK(*again == 1234);  // the only free one
    CHECK(t.owner(1234) == &owner_b);
}

TEST_CASE("stream table rotates: a freed id is not reused before the others", "[transport][stream_table]") {
    stream_table t;
    auto a = t.allocate(&owner_a);
    REQUIRE(a);
    CHECK(*a == 0);
    t.release(*a);
    auto b = t.allocate(&owner_a);
    REQUIRE(b);
    CHECK(*b == 1);  // not 0 again
    // Wraps around after the last id.
    stream_table small(100);
    for (int i = 0; i < 99; ++i) small.release(*small.allocate(&owner_a));
    auto last = small.allocate(&owner_a);
    REQUIRE(last);
    CHECK(*last == 99);
    small.release(*last);
    CHECK(*small.allocate(&owner_a) == 0);
}

TEST_CASE("stream table orphans keep their id until the response arrives", "[transport][stream_table]") {
    stream_table t(4);
    auto a = *t.allocate(&owner_a);
    auto b = *t.allocate(&owner_b);
    t.orphan(a);
    CHECK(t.state(a) == stream_table::slot_state::orphaned);
    CHECK(t.owner(a) == nullptr);
    CHECK(t.orphaned() == 1);
    CHECK(t.in_use() == 2);
    // The orphan is never handed out again while orphaned.
    std::set<int> others;
    while (auto id = t.allocate(&owner_b)) others.insert(*id);
    CHECK(others.count(a) == 0);
    CHECK(t.available() == 0);
    // Its late response frees it, with no owner to deliver to.
    CHECK(t.release(a) == nullptr);
    CHECK(t.state(a) == stream_table::slot_state::free);
    CHECK(t.orphaned() == 0);
    CHECK(t.release(b) == &owner_b);
    CHECK(t.state(-1) == stream_table::slot_state::free);
    CHECK(t.state(4) == stream_table::slot_state::free);
    // release_all frees owned and orphaned ids, reporting only the owned ones.
    t.orphan(*others.begin());
    int reported = 0;
    t.release_all([&](void*) { ++reported; });
    CHECK(reported == 1);
    CHECK(t.in_use() == 0);
    CHECK(t.available() == 4);
}
