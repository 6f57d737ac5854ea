// Token-range planning: exact coverage of the ring on random rings, replicas
// per piece, restriction, worker shares, resume subtraction, CQL text.
#include "cqlpp/bulk/journal.hpp"
#include "cqlpp/bulk/ranges.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>

using namespace cqlpp;
using bulk::token_range;
using driver::host;
using driver::token;

namespace {

constexpr token tmin = bulk::min_token;
constexpr token tmax = bulk::max_token;

std::shared_ptr<host> make_host(std::vector<token> tokens, std::uint8_t last, std::string rack = "r1") {
    auto h = std::make_shared<host>();
    h->address.addr[0] = 10;
    h->address.addr[3] = last;
    h->datacenter = "dc1";
    h->rack = std::move(rack);
    std::sort(tokens.begin(), tokens.end());
    h->tokens = std::move(tokens);
    h->pool_index = last;
    return h;
}

driver::replication_strategy simple(int rf) {
    driver::replication_strategy r;
    r.strategy = driver::replication_strategy::kind::simple;
    r.replication_factor = rf;
    return r;
}

// A random ring: 1..12 nodes, 1..256 vnodes each, with extreme tokens mixed in.
driver::token_map random_ring(std::mt19937_64& rng) {
    const int nodes = std::uniform_int_distribution<int>(1, 12)(rng);
    const token extremes[] = {tmin + 1, tmax, -1, 0, 1, tmin, tmax - 1};
    std::vector<std::shared_ptr<host>> hosts;
    for (int n = 0; n < nodes; ++n) {
        const int vnodes = std::uniform_int_distribution<int>(1, std::uniform_int_distribution<int>(0, 3)(rng) == 0 ? 256 : 16)(rng);
        std::vector<token> ts;
        for (int v = 0; v < vnodes; ++v) {
            if (std::uniform_int_distribution<int>(0, 9)(rng) == 0)
                ts.push_back(extremes[std::uniform_int_distribution<int>(0, 6)(rng)]);
            else
                ts.push_back(static_cast<token>(rng()));
        }
        hosts.push_back(make_host(std::move(ts), static_cast<std::uint8_t>(n + 1), "r" + std::to_string(n % 3)));
    }
    driver::token_map map(std::move(hosts));
    map.set_keyspace("ks", simple(std::min(nodes, 3)));
    return map;
}

// Sorted interval arithmetic: the ranges, ordered, tile [lo, hi] with no gap or overlap.
void require_tiles(std::vector<token_range> ranges, token lo, token hi) {
    std::sort(ranges.begin(), ranges.end());
    REQUIRE_FALSE(ranges.empty());
    for (const auto& r : ranges) {
        REQUIRE_FALSE(r.empty());
        // Canonical form: inclusive start only at the ring's minimum, so ranges
        // covering the same tokens compare equal.
        if (r.start_inclusive) REQUIRE(r.start == tmin);
        REQUIRE(token_range::closed(r.first(), r.end) == r);
    }
    REQUIRE(ranges.front().first() == lo);
    REQUIRE(ranges.back().end == hi);
    bulk::token_count total = 0;
    for (std::size_t i = 0; i < ranges.size(); ++i) {
        total += ranges[i].size();
        if (i == 0) continue;
        INFO(ranges[i - 1].to_string() << " then " << ranges[i].to_string());
        REQUIRE(ranges[i - 1].end != tmax);
        REQUIRE(ranges[i].first() == ranges[i - 1].end + 1);
    }
    REQUIRE(total == bulk::token_range::closed(lo, hi).size());
}

std::vector<token_range> just_ranges(const std::vector<bulk::replica_range>& v) {
    std::vector<token_range> out;
    for (const auto& r : v) out.push_back(r.range);
    return out;
}

std::vector<const host*> raw(const std::vector<bulk::host_ptr>& hs) {
    std::vector<const host*> out;
    for (const auto& h : hs) out.push_back(h.get());
    return out;
}

std::size_t containing(const std::vector<token_range>& ranges, token t) {
    return static_cast<std::size_t>(std::count_if(ranges.begin(), ranges.end(), [&](const token_range& r) { return r.contains(t); }));
}

}  // namespace

TEST_CASE("token_range canonical form and sizes", "[bulk][ranges]") {
    CHECK(token_range::full_ring().size() == bulk::ring_size);
    CHECK(token_range::closed(tmin, tmin).size() == 1);
    CHECK(token_range::closed(tmin, tmin) == token_range{tmin, tmin, true});
    CHECK(token_range::closed(5, 10) == token_range{4, 10, false});
    CHECK(token_range::closed(5, 10).size() == 6);
    CHECK(token_range{tmax, tmax, false}.empty());
    CHECK(token_range{3, 3, false}.empty());
    CHECK_FALSE(token_range{3, 3, true}.empty());
    CHECK(token_range{-5, 10, false}.to_string() == "(-5, 10]");
    const token_range r{-5, 10, false};
    CHECK_FALSE(r.contains(-5));
    CHECK(r.contains(-4));
    CHECK(r.contains(10));
    CHECK_FALSE(r.contains(11));
    CHECK(token_range::full_ring().contains(tmin));
    CHECK(token_range::full_ring().contains(tmax));
}

TEST_CASE("vnode ranges of a small ring, wraparound split in two", "[bulk][ranges]") {
    auto a = make_host({-100, 200}, 1);
    auto b = make_host({0}, 2);
    driver::token_map map({a, b});
    map.set_keyspace("ks", simple(1));
    auto v = bulk::vnode_ranges(map, "ks");
    REQUIRE(v.size() == 4);
    CHECK(v[0].range == token_range{tmin, -100, true});
    CHECK(v[1].range == token_range{-100, 0, false});
    CHECK(v[2].range == token_range{0, 200, false});
    CHECK(v[3].range == token_range{200, tmax, false});
    // The wrapping range (200, -100] belongs to the owner of -100 on both sides.
    CHECK(raw(v[0].replicas) == std::vector<const host*>{a.get()});
    CHECK(raw(v[1].replicas) == std::vector<const host*>{b.get()});
    CHECK(raw(v[2].replicas) == std::vector<const host*>{a.get()});
    CHECK(raw(v[3].replicas) == std::vector<const host*>{a.get()});
    // Unknown keyspace: same ranges, no replicas.
    auto u = bulk::vnode_ranges(map, "nope");
    REQUIRE(u.size() == 4);
    CHECK(u[0].replicas.empty());
    // Empty ring: the whole ring, once.
    auto e = bulk::vnode_ranges(driver::token_map{}, "ks");
    REQUIRE(e.size() == 1);
    CHECK(e[0].range == token_range::full_ring());
}

TEST_CASE("vnode ranges at the ring's extremes", "[bulk][ranges]") {
    // A token at INT64_MAX: no (max, max] piece. A token at INT64_MIN: [min, min].
    driver::token_map map({make_host({tmin, tmax}, 1)});
    map.set_keyspace("ks", simple(1));
    auto v = just_ranges(bulk::vnode_ranges(map, "ks"));
    REQUIRE(v.size() == 2);
    CHECK(v[0] == token_range{tmin, tmin, true});
    CHECK(v[1] == token_range{tmin, tmax, false});
    require_tiles(v, tmin, tmax);
}

TEST_CASE("split is proportional and exact", "[bulk][ranges]") {
    std::vector<bulk::replica_range> in{{token_range::closed(0, 99), {}}, {token_range::closed(100, 399), {}}};
    auto out = just_ranges(bulk::split_ranges(in, 4));
    REQUIRE(out.size() == 4);  // 1 + 3
    CHECK(out[0] == token_range::closed(0, 99));
    CHECK(out[1] == token_range::closed(100, 199));
    CHECK(out[2] == token_range::closed(200, 299));
    CHECK(out[3] == token_range::closed(300, 399));
    // A range never splits into more parts than tokens; every range keeps at least one part.
    std::vector<bulk::replica_range> tiny{{token_range::closed(7, 8), {}}, {token_range::closed(10, 1'000'000), {}}};
    auto t = just_ranges(bulk::split_ranges(tiny, 1000));
    CHECK(t.front() == token_range::closed(7, 8));
    CHECK(t.size() == 1001);
    // The whole ring in 3: sizes differ by at most one.
    auto ring = just_ranges(bulk::split_ranges(std::vector<bulk::replica_range>{{token_range::full_ring(), {}}}, 3));
    REQUIRE(ring.size() == 3);
    require_tiles(ring, tmin, tmax);
    auto [mn, mx] = std::minmax({ring[0].size(), ring[1].size(), ring[2].size()});
    CHECK(mx - mn <= 1);
    CHECK(bulk::split_ranges({}, 10).empty());
}

TEST_CASE("default split count", "[bulk][ranges]") {
    CHECK(bulk::default_split_count(10, 2) == 16);
    CHECK(bulk::default_split_count(768, 2) == 768);
    CHECK(bulk::default_split_count(0, 0) >= 8);
}

TEST_CASE("property: plans cover the ring exactly on random rings", "[bulk][ranges]") {
    std::mt19937_64 rng(0xB01C);
    const token probes[] = {tmin, tmin + 1, -1, 0, 1, tmax - 1, tmax};
    for (int iter = 0; iter < 60; ++iter) {
        auto map = random_ring(rng);
        auto vnodes = bulk::vnode_ranges(map, "ks");
        require_tiles(just_ranges(vnodes), tmin, tmax);

        const std::size_t splits = std::uniform_int_distribution<std::size_t>(1, 3000)(rng);
        bulk::plan_options opt;
        opt.splits = splits;
        auto plan = bulk::plan_ranges(map, "ks", opt);
        INFO("iteration " << iter << ", ring " << map.ring().size() << ", splits " << splits);
        CHECK(plan.size() >= std::max<std::size_t>(vnodes.size(), 1));
        CHECK(plan.size() <= splits + vnodes.size());
        auto ranges = just_ranges(plan);
        require_tiles(ranges, tmin, tmax);

        // Random and extreme tokens: in exactly one range, whose replicas are the token's.
        std::vector<token> samples(std::begin(probes), std::end(probes));
        for (const auto& e : map.ring()) {
            samples.push_back(e.t);
            if (e.t != tmax) samples.push_back(e.t + 1);
            if (samples.size() > 60) break;
        }
        for (int s = 0; s < 100; ++s) samples.push_back(static_cast<token>(rng()));
        for (token t : samples) {
            INFO("token " << t);
            REQUIRE(containing(ranges, t) == 1);
            auto it = std::find_if(plan.begin(), plan.end(), [&](const auto& r) { return r.range.contains(t); });
            const auto want = map.replicas("ks", t);
            CHECK(raw(it->replicas) == std::vector<const host*>(want.begin(), want.end()));
        }

        // Grouping keeps every range, in order, and each group has one replica set.
        auto groups = bulk::group_by_replicas(plan);
        std::vector<token_range> regrouped;
        for (const auto& g : groups) regrouped.insert(regrouped.end(), g.ranges.begin(), g.ranges.end());
        CHECK(regrouped == ranges);
    }
}

TEST_CASE("property: worker shares are disjoint and cover the plan", "[bulk][ranges]") {
    std::mt19937_64 rng(77);
    for (int iter = 0; iter < 20; ++iter) {
        auto map = random_ring(rng);
        const unsigned n = std::uniform_int_distribution<unsigned>(1, 9)(rng);
        std::vector<token_range> all;
        for (unsigned i = 1; i <= n; ++i) {
            bulk::plan_options opt;
            opt.worker = bulk::worker_id{i, n};
            // Each worker may pick its own split count (different machines).
            opt.splits = std::uniform_int_distribution<std::size_t>(1, 500)(rng);
            auto share = just_ranges(bulk::plan_ranges(map, "ks", opt));
            const auto slice = bulk::worker_slice({i, n});
            for (const auto& r : share) {
                REQUIRE(slice.contains(r.first()));
                REQUIRE(slice.contains(r.end));
            }
            all.insert(all.end(), share.begin(), share.end());
        }
        INFO("workers " << n);
        require_tiles(all, tmin, tmax);
    }
}

TEST_CASE("worker and token range options", "[bulk][ranges]") {
    bulk::worker_id w;
    CHECK(bulk::parse_worker("2/3", w).ok());
    CHECK(w == bulk::worker_id{2, 3});
    CHECK_FALSE(bulk::parse_worker("0/3", w).ok());
    CHECK_FALSE(bulk::parse_worker("4/3", w).ok());
    CHECK_FALSE(bulk::parse_worker("1/0", w).ok());
    CHECK_FALSE(bulk::parse_worker("1-3", w).ok());
    CHECK_FALSE(bulk::parse_worker("/3", w).ok());
    CHECK(bulk::parse_worker("x/3", w).code == bulk::errc::bad_token_range);
    CHECK(bulk::worker_slice({1, 1}) == token_range::full_ring());
    CHECK(bulk::worker_slice({1, 2}) == token_range{tmin, -1, true});
    CHECK(bulk::worker_slice({2, 2}) == token_range{-1, tmax, false});

    std::vector<token_range> out;
    REQUIRE(bulk::parse_token_range("-10:20", out).ok());
    REQUIRE(out.size() == 1);
    CHECK(out[0] == token_range{-10, 20, false});
    out.clear();
    REQUIRE(bulk::parse_token_range("100:-100", out).ok());  // wraps
    REQUIRE(out.size() == 2);
    CHECK(out[0] == token_range{100, tmax, false});
    CHECK(out[1] == token_range{tmin, -100, true});
    out.clear();
    REQUIRE(bulk::parse_token_range("9223372036854775807:0", out).ok());
    REQUIRE(out.size() == 1);
    CHECK(out[0] == token_range{tmin, 0, true});
    out.clear();
    // A == B: CQL's `token > 5 AND token <= 5` is empty, and so is the range.
    REQUIRE(bulk::parse_token_range("5:5", out).ok());
    REQUIRE(out.size() == 1);
    CHECK(out[0].empty());
    out.clear();
    CHECK_FALSE(bulk::parse_token_range("5", out).ok());
    CHECK_FALSE(bulk::parse_token_range("a:5", out).ok());
    CHECK_FALSE(bulk::parse_token_range("1:9223372036854775808", out).ok());
    CHECK(out.empty());
}

TEST_CASE("restricting a plan to --where-token-range", "[bulk][ranges]") {
    std::mt19937_64 rng(5);
    for (int iter = 0; iter < 20; ++iter) {
        auto map = random_ring(rng);
        token a = static_cast<token>(rng()), b = static_cast<token>(rng());
        if (a == b) continue;
        std::vector<token_range> where;
        REQUIRE(bulk::parse_token_range(std::to_string(a) + ":" + std::to_string(b), where).ok());
        bulk::plan_options opt;
        opt.where = where;
        opt.splits = 64;
        auto ranges = just_ranges(bulk::plan_ranges(map, "ks", opt));
        // Exactly the where-set: compare the normalized forms.
        CHECK(bulk::normalize(ranges) == bulk::normalize(where));
        CHECK(containing(ranges, b) == 1);
        CHECK(containing(ranges, a) == 0);
    }
}

TEST_CASE("--where-token-range A:A plans no range at all", "[bulk][ranges]") {
    std::mt19937_64 rng(6);
    auto map = random_ring(rng);
    for (const char* w : {"1:1", "-9223372036854775808:-9223372036854775808", "9223372036854775807:9223372036854775807"}) {
        bulk::plan_options opt;
        REQUIRE(bulk::parse_token_range(w, opt.where).ok());
        CHECK(bulk::plan_ranges(map, "ks", opt).empty());
        // With a non-empty range beside it, just that one.
        REQUIRE(bulk::parse_token_range("-10:20", opt.where).ok());
        CHECK(bulk::normalize(just_ranges(bulk::plan_ranges(map, "ks", opt))) == std::vector{token_range{-10, 20, false}});
    }
    // A merge scoped to an empty range expects nothing and misses nothing.
    std::vector<token_range> expected;
    REQUIRE(bulk::parse_token_range("1:1", expected).ok());
    bulk::merge_result m;
    REQUIRE(bulk::merge_journals({}, m, expected).ok());
    CHECK(m.missing.empty());
}

TEST_CASE("resume: subtracting done ranges leaves exactly the rest", "[bulk][ranges]") {
    std::mt19937_64 rng(9);
    for (int iter = 0; iter < 20; ++iter) {
        auto map = random_ring(rng);
        bulk::plan_options opt;
        opt.splits = 200;
        auto plan = bulk::plan_ranges(map, "ks", opt);
        std::vector<token_range> done;
        for (const auto& r : plan)
            if (rng() % 3 == 0) done.push_back(r.range);
        // A resumed run may re-plan with another split count: subtraction is by tokens.
        opt.splits = 77;
        auto rest = just_ranges(bulk::subtract_ranges(bulk::plan_ranges(map, "ks", opt), done));
        for (token t : {tmin, tmax, token(0)}) CHECK(containing(rest, t) + containing(done, t) == 1);
        auto all = rest;
        all.insert(all.end(), done.begin(), done.end());
        require_tiles(all, tmin, tmax);
    }
    // Everything done: nothing left.
    std::vector<bulk::replica_range> whole{{token_range::full_ring(), {}}};
    const token_range all_done[] = {token_range::full_ring()};
    CHECK(bulk::subtract_ranges(whole, all_done).empty());
}

TEST_CASE("normalize merges overlapping and adjacent ranges", "[bulk][ranges]") {
    std::vector<token_range> v{token_range::closed(10, 20), token_range::closed(21, 30), token_range::closed(5, 12),
                               token_range::closed(40, 50), {tmax, tmax, false}};
    CHECK(bulk::normalize(v) == std::vector<token_range>{token_range::closed(5, 30), token_range::closed(40, 50)});
    std::vector<token_range> ends{token_range::closed(tmin, 0), token_range::closed(1, tmax)};
    CHECK(bulk::normalize(ends) == std::vector<token_range>{token_range::full_ring()});
}

TEST_CASE("range queries and identifier quoting", "[bulk][ranges]") {
    CHECK(bulk::quote_identifier("users") == "users");
    CHECK(bulk::quote_identifier("user_id2") == "user_id2");
    CHECK(bulk::quote_identifier("userId") == "\"userId\"");
    CHECK(bulk::quote_identifier("select") == "\"select\"");
    CHECK(bulk::quote_identifier("token") == "\"token\"");
    CHECK(bulk::quote_identifier("2col") == "\"2col\"");
    CHECK(bulk::quote_identifier("a\"b") == "\"a\"\"b\"");
    CHECK(bulk::quote_identifier("") == "\"\"");

    const std::vector<std::string> pk{"id", "Region"};
    const std::vector<std::string> cols{"id", "Region", "v"};
    CHECK(bulk::range_select_cql("ks", "t", cols, pk, false) ==
          "SELECT id, \"Region\", v FROM ks.t WHERE token(id, \"Region\") > ? AND token(id, \"Region\") <= ?");
    CHECK(bulk::range_select_cql("ks", "Order", {}, std::vector<std::string>{"k"}, true) ==
          "SELECT * FROM ks.\"Order\" WHERE token(k) >= ? AND token(k) <= ?");
    CHECK(bulk::range_count_cql("ks", "t", std::vector<std::string>{"k"}, false) ==
          "SELECT count(*) FROM ks.t WHERE token(k) > ? AND token(k) <= ?");
}
