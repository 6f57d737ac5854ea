// Engine tests: paging, token range scans, consistency and routing.
#include "test_engine_util.hpp"

#include <map>
#include <set>

using namespace engine_test;

namespace {

std::int64_t token_of(std::int32_t k) {
    proto::byte_buffer b(4);
    proto::detail::store_be32(b.data(), static_cast<std::uint32_t>(k));
    return proto::murmur3_token(b);
}

std::int64_t as_bigint(const reply& r, std::size_t row, std::size_t col) {
    const auto& c = r.rows().cell(row, col);
    REQUIRE(c.bytes.size() == 8);
    return static_cast<std::int64_t>(proto::detail::load_be64(c.bytes.data()));
}
std::int32_t as_int(const reply& r, std::size_t row, std::size_t col) {
    const auto& c = r.rows().cell(row, col);
    REQUIRE(c.bytes.size() == 4);
    return static_cast<std::int32_t>(proto::detail::load_be32(c.bytes.data()));
}

}  // namespace

TEST_CASE("engine: paging through 10,000 rows in token order", "[sim][engine]") {
    fixture f;
    f.schema();
    f.ok("CREATE TABLE t (k int PRIMARY KEY, v int)");
    auto ins = f.prepared("INSERT INTO t (k, v) VALUES (?, ?)");
    for (int k = 0; k < 10000; ++k) REQUIRE(f.execute(ins, values().i(k).i(k * 2)).ok());

    std::set<int> seen;
    std::int64_t last_token = std::numeric_limits<std::int64_t>::min();
    options o;
    o.page_size = 100;
    int pages = 0;
    for (;;) {
        auto r = f.ok("SELECT k, v, token(k) FROM t", {}, o);
        ++pages;
        for (std::size_t i = 0; i < r.row_count(); ++i) {
            int k = as_int(r, i, 0);
            CHECK(as_int(r, i, 1) == k * 2);
            auto t = as_bigint(r, i, 2);
            CHECK(t == token_of(k));
            CHECK(t > last_token);
            last_token = t;
            CHECK(seen.insert(k).second);
        }
        const auto& ps = r.rows().metadata.paging_state;
        if (!ps) {
            CHECK(r.row_count() <= 100);
            break;
        }
        CHECK(r.row_count() == 100);
        o.paging_state = *ps;
        REQUIRE(pages < 200);
    }
    CHECK(seen.size() == 10000);
    CHECK(pages == 100);

    // LIMIT across pages.
    options lo;
    lo.page_size = 30;
    std::size_t total = 0;
    for (int i = 0; i < 10; ++i) {
        auto r = f.ok("SELECT k FROM t LIMIT 75", {}, lo);
        total += r.row_count();
        if (!r.rows().metadata.paging_state) break;
        lo.paging_state = *r.rows().metadata.paging_state;
    }
    CHECK(total == 75);
}

TEST_CASE("engine: paging within a partition, reversed, and bad paging states", "[sim][engine]") {
    fixture f;
    f.schema();
    f.ok("CREATE TABLE t (k int, c int, v int, PRIMARY KEY (k, c))");
    for (int k = 0; k < 3; ++k)
        for (int c = 0; c < 50; ++c) f.ok("INSERT INTO t (k, c, v) VALUES (?, ?, ?)", values().i(k).i(c).i(c));
    for (bool reversed : {false, true}) {
        options o;
        o.page_size = 7;
        std::vector<int> got;
        for (int i = 0; i < 20; ++i) {
            auto r = f.ok(reversed ? "SELECT c FROM t WHERE k = 1 ORDER BY c DESC" : "SELECT c FROM t WHERE k = 1", {}, o);
            for (std::size_t j = 0; j < r.row_count(); ++j) got.push_back(as_int(r, j, 0));
            if (!r.rows().metadata.paging_state) break;
            o.paging_state = *r.rows().metadata.paging_state;
        }
        REQUIRE(got.size() == 50);
        for (int i = 0; i < 50; ++i) CHECK(got[static_cast<std::size_t>(i)] == (reversed ? 49 - i : i));
    }
    // PER PARTITION LIMIT across pages.
    options o;
    o.page_size = 4;
    std::size_t total = 0;
    for (int i = 0; i < 20; ++i) {
        auto r = f.ok("SELECT k, c FROM t PER PARTITION LIMIT 5", {}, o);
        total += r.row_count();
        if (!r.rows().metadata.paging_state) break;
        o.paging_state = *r.rows().metadata.paging_state;
    }
    CHECK(total == 15);

    // A page that ends exactly at the last row has no paging state.
    options exact;
    exact.page_size = 50;
    CHECK_FALSE(f.ok("SELECT c FROM t WHERE k = 0", {}, exact).rows().metadata.paging_state);

    options bad;
    bad.page_size = 10;
    bad.paging_state = proto::byte_buffer{1, 2, 3};
    auto r = f.q("SELECT * FROM t", {}, bad);
    CHECK(r.code() == proto::server_errc::protocol_error);
    bad.paging_state = proto::byte_buffer(64, 0xC5);
    CHECK(f.q("SELECT * FROM t", {}, bad).code() == proto::server_errc::protocol_error);
    // Corrupt one byte of a real state.
    auto real = f.ok("SELECT * FROM t", {}, exact);
    REQUIRE(real.rows().metadata.paging_state);
    auto state = *real.rows().metadata.paging_state;
    state[3] ^= 0x40;
    bad.paging_state = state;
    CHECK(f.q("SELECT * FROM t", {}, bad).code() == proto::server_errc::protocol_error);
}

TEST_CASE("engine: token range scans over a split ring equal a full scan", "[sim][engine]") {
    fixture f;
    f.schema();
    f.ok("CREATE TABLE t (k int PRIMARY KEY, v int)");
    for (int k = 0; k < 2000; ++k) f.ok("INSERT INTO t (k, v) VALUES (?, ?)", values().i(k).i(k));
    std::vector<int> full;
    {
        auto r = f.ok("SELECT k FROM t");
        for (std::size_t i = 0; i < r.row_count(); ++i) full.push_back(as_int(r, i, 0));
    }
    REQUIRE(full.size() == 2000);
    // Split by the ring's tokens: (min, t0], (t0, t1], ..., (tn, max]; scan each with paging.
    std::vector<std::int64_t> bounds{std::numeric_limits<std::int64_t>::min()};
    for (const auto& e : f.topo->ring()) bounds.push_back(e.t);
    bounds.push_back(std::numeric_limits<std::int64_t>::max());
    std::vector<int> pieced;
    auto stmt = f.prepared("SELECT k FROM t WHERE token(k) > ? AND token(k) <= ?");
    CHECK(stmt.variables.columns.size() == 2);
    CHECK(stmt.variables.columns[0].type.kind == proto::type_kind::bigint);
    for (std::size_t i = 0; i + 1 < bounds.size(); ++i) {
        options o;
        o.page_size = 37;
        for (;;) {
            auto r = f.execute(stmt, values().big(bounds[i]).big(bounds[i + 1]), o);
            REQUIRE(r.ok());
            for (std::size_t j = 0; j < r.row_count(); ++j) pieced.push_back(as_int(r, j, 0));
            if (!r.rows().metadata.paging_state) break;
            o.paging_state = *r.rows().metadata.paging_state;
        }
    }
    CHECK(pieced == full);
    // Upper bound at the minimum token means "to the end of the ring".
    auto r = f.ok("SELECT count(*) FROM t WHERE token(k) > 0 AND token(k) <= -9223372036854775808");
    std::size_t positives = 0;
    for (int k : full) positives += token_of(k) > 0;
    CHECK(r.text(0, 0) == std::to_string(positives));
    r = f.ok("SELECT k FROM t WHERE token(k) = ?", values().big(token_of(5)));
    REQUIRE(r.row_count() == 1);
    CHECK(as_int(r, 0, 0) == 5);
}

TEST_CASE("engine: UNAVAILABLE with nodes down", "[sim][engine]") {
    fixture f;
    f.ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}");
    f.session.keyspace = "ks";
    f.ok("CREATE TABLE t (k int PRIMARY KEY, v int)");
    f.ok("INSERT INTO t (k, v) VALUES (1, 1)");
    f.topo->set_up(1, false);
    options quorum;
    quorum.cl = proto::consistency::quorum;
    CHECK(f.q("SELECT * FROM t WHERE k = 1", {}, quorum).ok());
    options all;
    all.cl = proto::consistency::all;
    auto r = f.q("SELECT * FROM t WHERE k = 1", {}, all);
    CHECK(r.code() == proto::server_errc::unavailable);
    CHECK(r.message() == "Cannot achieve consistency level ALL");
    auto info = std::get<proto::unavailable_info>(r.error().details);
    CHECK(info.cl == proto::consistency::all);
    CHECK(info.required == 3);
    CHECK(info.alive == 2);
    CHECK_FALSE(r.info.routing_token);
    f.topo->set_up(2, false);
    r = f.q("INSERT INTO t (k, v) VALUES (2, 2)", {}, quorum);
    CHECK(r.code() == proto::server_errc::unavailable);
    CHECK(std::get<proto::unavailable_info>(r.error().details).required == 2);
    CHECK(std::get<proto::unavailable_info>(r.error().details).alive == 1);
    CHECK(f.q("SELECT * FROM t", {}, quorum).code() == proto::server_errc::unavailable);  // range scan
    CHECK(f.q("INSERT INTO t (k, v) VALUES (2, 2)").ok());                                  // ONE
    options any;
    any.cl = proto::consistency::any;
    f.topo->set_up(0, false);
    CHECK(f.q("INSERT INTO t (k, v) VALUES (2, 2)", {}, any).ok());
    CHECK(f.q("SELECT * FROM t WHERE k = 1", {}, any).code() == proto::server_errc::invalid);
    CHECK(f.q("SELECT * FROM t WHERE k = 1").code() == proto::server_errc::unavailable);
    // LWT needs a quorum for SERIAL.
    f.topo->set_up(0, true);
    r = f.q("INSERT INTO t (k, v) VALUES (3, 3) IF NOT EXISTS");
    CHECK(r.code() == proto::server_errc::unavailable);
    CHECK(std::get<proto::unavailable_info>(r.error().details).cl == proto::consistency::serial);
    // System tables are local.
    CHECK(f.q("SELECT * FROM system.local", {}, all).ok());
}

TEST_CASE("engine: LOCAL_QUORUM counts the coordinator's datacenter", "[sim][engine]") {
    topology_config cfg;
    cfg.nodes = 4;
    cfg.num_tokens = 4;
    cfg.datacenters = {{"dc1", 2}, {"dc2", 2}};
    fixture f(cfg);
    f.ok("CREATE KEYSPACE ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 2, 'dc2': 2}");
    f.session.keyspace = "ks";
    f.ok("CREATE TABLE t (k int PRIMARY KEY, v int)");
    f.topo->set_up(2, false);  // dc2
    options lq;
    lq.cl = proto::consistency::local_quorum;
    CHECK(f.q("SELECT * FROM t WHERE k = 1", {}, lq, 0).ok());
    auto r = f.q("SELECT * FROM t WHERE k = 1", {}, lq, 3);
    CHECK(r.code() == proto::server_errc::unavailable);
    CHECK(std::get<proto::unavailable_info>(r.error().details).required == 2);
    CHECK(std::get<proto::unavailable_info>(r.error().details).alive == 1);
    options each;
    each.cl = proto::consistency::each_quorum;
    CHECK(f.q("INSERT INTO t (k, v) VALUES (1, 1)", {}, each).code() == proto::server_errc::unavailable);
}

TEST_CASE("engine: routing token and coordinator_is_replica", "[sim][engine]") {
    fixture f;
    f.ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    f.session.keyspace = "ks";
    f.ok("CREATE TABLE t (k int PRIMARY KEY, v int)");
    cqlpp::sim::replication rep;
    rep.replication_factor = 1;
    auto sel = f.prepared("SELECT v FROM t WHERE k = ?");
    f.prepared("SELECT v FROM t WHERE k = ?", 1);
    f.prepared("SELECT v FROM t WHERE k = ?", 2);
    REQUIRE(sel.variables.pk_indices == std::vector<std::uint16_t>{0});
    for (int k = 0; k < 20; ++k) {
        auto t = token_of(k);
        auto owners = f.topo->replicas(rep, t);
        REQUIRE(owners.size() == 1);
        for (int node = 0; node < 3; ++node) {
            auto r = f.execute(sel, values().i(k), {}, node);
            REQUIRE(r.ok());
            REQUIRE(r.info.routing_token);
            CHECK(*r.info.routing_token == t);
            CHECK(r.info.coordinator_is_replica == (owners[0] == node));
        }
        auto w = f.q("INSERT INTO t (k, v) VALUES (?, 1)", values().i(k), {}, owners[0] == 0 ? 1 : 0);
        REQUIRE(w.info.routing_token);
        CHECK_FALSE(w.info.coordinator_is_replica);
    }
    CHECK_FALSE(f.ok("SELECT * FROM t").info.routing_token);
    CHECK_FALSE(f.ok("SELECT * FROM t WHERE k IN (1, 2)").info.routing_token);
    CHECK(f.ok("SELECT * FROM t WHERE k IN (1, 1)").info.routing_token);
    CHECK_FALSE(f.ok("SELECT * FROM system.local").info.routing_token);
}
