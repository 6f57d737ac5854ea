// Token parsing, replica placement (cross-checked against the simulator's
// independent implementation) and routing-key tokens.
#include "cqlpp/driver/token_map.hpp"
#include "cqlpp/protocol/murmur3.hpp"
#include "cqlpp/sim/topology.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <random>

using namespace cqlpp;
using driver::host;
using driver::replication_strategy;
using driver::token_map;

namespace {

constexpr std::int64_t tmin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t tmax = std::numeric_limits<std::int64_t>::max();

std::shared_ptr<host> make_host(std::string dc, std::string rack, std::vector<driver::token> tokens, std::uint8_t last = 1) {
    auto h = std::make_shared<host>();
    h->address.addr[0] = 10;
    h->address.addr[3] = last;
    h->datacenter = std::move(dc);
    h->rack = std::move(rack);
    h->tokens = std::move(tokens);
    return h;
}

// Feeds a simulated cluster's nodes into a token_map, as the session would
// from system.local/system.peers (tokens go through the text parser).
token_map map_from_sim(const sim::topology& topo) {
    std::vector<std::shared_ptr<host>> hosts;
    for (const auto& n : topo.nodes()) {
        auto h = std::make_shared<host>();
        h->host_id = n.host_id;
        h->address = n.inet();
        h->port = n.config.port;
        h->datacenter = n.config.datacenter;
        h->rack = n.config.rack;
        std::vector<std::string> texts;
        for (auto t : n.tokens) texts.push_back(std::to_string(t));
        auto parsed = driver::parse_tokens(std::span<const std::string>(texts));
        REQUIRE(parsed);
        h->tokens = *parsed;
        h->pool_index = static_cast<std::size_t>(n.id);
        hosts.push_back(std::move(h));
    }
    return token_map(std::move(hosts));
}

std::vector<int> ids(std::span<const host* const> hs) {
    std::vector<int> out;
    for (const host* h : hs) out.push_back(static_cast<int>(h->pool_index));
    return out;
}

}  // namespace

TEST_CASE("token text parsing", "[driver]") {
    CHECK(driver::parse_token("0") == 0);
    CHECK(driver::parse_token("-9223372036854775808") == tmin);
    CHECK(driver::parse_token("9223372036854775807") == tmax);
    CHECK(driver::parse_token("-42") == -42);
    CHECK_FALSE(driver::parse_token(""));
    CHECK_FALSE(driver::parse_token("9223372036854775808"));
    CHECK_FALSE(driver::parse_token("+1"));
    CHECK_FALSE(driver::parse_token(" 1"));
    CHECK_FALSE(driver::parse_token("1x"));
    CHECK_FALSE(driver::parse_token("-"));

    std::vector<std::string_view> texts{"5", "-3", "5", "100"};
    auto parsed = driver::parse_tokens(std::span<const std::string_view>(texts));
    REQUIRE(parsed);
    CHECK(*parsed == std::vector<driver::token>{-3, 5, 100});
    std::vector<std::string_view> bad{"1", "two"};
    CHECK_FALSE(driver::parse_tokens(std::span<const std::string_view>(bad)));
}

TEST_CASE("replication map parsing", "[driver]") {
    auto simple = replication_strategy::parse(
        std::map<std::string, std::string>{{"class", "org.apache.cassandra.locator.SimpleStrategy"}, {"replication_factor", "3"}});
    REQUIRE(simple);
    CHECK(simple->strategy == replication_strategy::kind::simple);
    CHECK(simple->replication_factor == 3);

    auto nts = replication_strategy::parse(
        std::map<std::string, std::string>{{"class", "NetworkTopologyStrategy"}, {"dc1", "3"}, {"dc2", "2/1"}});
    REQUIRE(nts);
    CHECK(nts->strategy == replication_strategy::kind::network_topology);
    CHECK(nts->dc_factors.at("dc1") == 3);
    CHECK(nts->dc_factors.at("dc2") == 2);
    CHECK(nts->replication_factor == 0);

    auto nts_default = replication_strategy::parse(
        std::map<std::string, std::string>{{"class", "NetworkTopologyStrategy"}, {"replication_factor", "2"}});
    REQUIRE(nts_default);
    CHECK(nts_default->replication_factor == 2);

    CHECK(replication_strategy::parse(std::map<std::string, std::string>{{"class", "org.apache.cassandra.locator.LocalStrategy"}})
              ->strategy == replication_strategy::kind::local);
    CHECK(replication_strategy::parse(std::map<std::string, std::string>{{"class", "EverywhereStrategy"}})->strategy ==
          replication_strategy::kind::everywhere);
    CHECK(replication_strategy::parse(std::map<std::string, std::string>{{"class", "com.example.MyStrategy"}})->strategy ==
          replication_strategy::kind::unknown);
    CHECK_FALSE(replication_strategy::parse(std::map<std::string, std::string>{{"replication_factor", "3"}}));
    CHECK_FALSE(replication_strategy::parse(
        std::map<std::string, std::string>{{"class", "SimpleStrategy"}, {"replication_factor", "-1"}}));
    CHECK_FALSE(replication_strategy::parse(
        std::map<std::string, std::string>{{"class", "NetworkTopologyStrategy"}, {"dc1", "x"}}));
}

TEST_CASE("token of a routing key matches the murmur3 vectors", "[driver]") {
    int checked = 0;
    for (const auto& v : test::vectors().at("murmur3")) {
        if (!v.contains("token") || v.value("kind", "single") != "single") continue;
        auto key = test::unhex(v.at("input_hex").get<std::string>());
        CHECK(driver::token_of(key) == v.at("token").get<std::int64_t>());
        ++checked;
    }
    CHECK(checked > 3);
    CHECK(driver::token_of({}) == tmin);
}

TEST_CASE("small ring: wraparound, exact tokens and extremes", "[driver]") {
    // Three nodes owning tokens -100, 0, 100 (one rack, one DC).
    auto a = make_host("dc1", "r1", {-100}, 1);
    auto b = make_host("dc1", "r1", {0}, 2);
    auto c = make_host("dc1", "r1", {100}, 3);
    token_map map({a, b, c});
    replication_strategy rf2;
    rf2.replication_factor = 2;
    map.set_keyspace("ks", rf2);

    auto check = [&](driver::token t, std::vector<const host*> want) {
        auto got = map.replicas("ks", t);
        CHECK(std::vector<const host*>(got.begin(), got.end()) == want);
    };
    check(-100, {a.get(), b.get()});       // exact token: that node is primary
    check(-99, {b.get(), c.get()});
    check(0, {b.get(), c.get()});
    check(100, {c.get(), a.get()});
    check(101, {a.get(), b.get()});        // past the last token wraps to the first
    check(tmax, {a.get(), b.get()});
    check(tmin, {a.get(), b.get()});
    CHECK(map.primary(50) == c.get());
    CHECK(map.replicas("nope", 0).empty());

    replication_strategy rf5;
    rf5.replication_factor = 5;  // more than nodes: every node once
    map.set_keyspace("ks5", rf5);
    CHECK(map.replicas("ks5", 1).size() == 3);

    replication_strategy everywhere;
    everywhere.strategy = replication_strategy::kind::everywhere;
    map.set_keyspace("ev", everywhere);
    CHECK(map.replicas("ev", 1).size() == 3);
    CHECK(map.replicas("ev", 1)[0] == c.get());

    replication_strategy local;
    local.strategy = replication_strategy::kind::local;
    map.set_keyspace("sys", local);
    CHECK(map.replicas("sys", 1).empty());

    map.drop_keyspace("ks");
    CHECK_FALSE(map.has_keyspace("ks"));
    CHECK(map.replicas("ks", 1).empty());

    token_map empty;
    CHECK(empty.replicas("ks", 0).empty());
    CHECK(empty.primary(0) == nullptr);
}

TEST_CASE("replicas() remembers its last keyspace per map state, never across changes or copies", "[driver]") {
    auto a = make_host("dc1", "r1", {-100}, 1);
    auto b = make_host("dc1", "r1", {0}, 2);
    auto c = make_host("dc1", "r1", {100}, 3);
    replication_strategy rf1, rf2, rf3;
    rf1.replication_factor = 1;
    rf2.replication_factor = 2;
    rf3.replication_factor = 3;
    auto original = std::make_unique<token_map>(std::vector<std::shared_ptr<host>>{a, b, c});
    original->set_keyspace("ks", rf1);
    CHECK(original->replicas("ks", 1).size() == 1);  // now remembered
    original->set_keyspace("ks", rf2);               // a change: a new state
    CHECK(original->replicas("ks", 1).size() == 2);

    token_map copy = *original;  // a copy is its own state, even unchanged
    CHECK(copy.replicas("ks", 1).size() == 2);
    copy.set_keyspace("ks", rf3);
    for (int i = 0; i < 3; ++i) {  // alternating: each lookup must see its own map
        CHECK(copy.replicas("ks", 1).size() == 3);
        CHECK(original->replicas("ks", 1).size() == 2);
    }
    // The remembered name belonged to the original's node: the copy must not
    // read it once the original is gone (ASan reports it if it does).
    original.reset();
    CHECK(copy.replicas("ks", 1).size() == 3);
    CHECK(copy.replicas("other", 1).empty());

    token_map moved = std::move(copy);
    CHECK(moved.replicas("ks", 1).size() == 3);
    moved.drop_keyspace("ks");
    CHECK(moved.replicas("ks", 1).empty());
}

TEST_CASE("ring_position finds the first ring token >= t, whatever the ring's size and spread", "[driver]") {
    std::mt19937_64 rng(7);
    for (std::size_t n : {1u, 2u, 3u, 5u, 48u, 256u, 1000u, 70000u}) {
        std::vector<driver::token> tokens;
        for (std::size_t i = 0; i < n; ++i) tokens.push_back(static_cast<driver::token>(rng()));
        if (n == 48) {  // clustered at both ends: most buckets empty, a few crowded
            for (std::size_t i = 0; i < n; ++i) tokens[i] = (i % 2 ? tmax - 1000 : tmin + 1000) + static_cast<driver::token>(i);
        }
        token_map map({make_host("dc1", "r1", tokens, 1)});
        std::vector<driver::token> sorted(map.ring().size());
        for (std::size_t i = 0; i < sorted.size(); ++i) sorted[i] = map.ring()[i].t;
        auto expect = [&](driver::token t) {
            auto it = std::lower_bound(sorted.begin(), sorted.end(), t);
            return it == sorted.end() ? std::size_t{0} : static_cast<std::size_t>(it - sorted.begin());
        };
        std::vector<driver::token> probes = {tmin, tmin + 1, -1, 0, 1, tmax - 1, tmax};
        for (auto t : sorted) {
            probes.push_back(t);
            if (t != tmin) probes.push_back(t - 1);
            if (t != tmax) probes.push_back(t + 1);
        }
        for (int i = 0; i < 2000; ++i) probes.push_back(static_cast<driver::token>(rng()));
        std::size_t wrong = 0;
        for (auto t : probes) wrong += map.ring_position(t) != expect(t);
        INFO("ring of " << n << " tokens");
        CHECK(wrong == 0);
    }
}

TEST_CASE("NTS: rack diversity first, repeats only while rf exceeds racks", "[driver]") {
    // dc1 ring order: n1(r1) n2(r1) n3(r2) n4(r2); rf 2 -> n1, n3 (skip rack repeat n2).
    auto n1 = make_host("dc1", "r1", {10}, 1);
    auto n2 = make_host("dc1", "r1", {20}, 2);
    auto n3 = make_host("dc1", "r2", {30}, 3);
    auto n4 = make_host("dc1", "r2", {40}, 4);
    auto m1 = make_host("dc2", "r1", {15}, 5);
    token_map map({n1, n2, n3, n4, m1});
    replication_strategy r;
    r.strategy = replication_strategy::kind::network_topology;
    r.replication_factor = 0;
    r.dc_factors = {{"dc1", 2}, {"dc2", 3}, {"dc3", 1}};  // dc2 capped at 1 node; dc3 absent
    map.set_keyspace("ks", r);
    auto got = map.replicas("ks", 5);
    CHECK(std::vector<const host*>(got.begin(), got.end()) == std::vector<const host*>{n1.get(), m1.get(), n3.get()});

    r.dc_factors = {{"dc1", 3}};  // 2 racks, rf 3: one repeat allowed, taken at the first chance (n2)
    map.set_keyspace("ks3", r);
    got = map.replicas("ks3", 5);
    CHECK(std::vector<const host*>(got.begin(), got.end()) == std::vector<const host*>{n1.get(), n2.get(), n3.get()});
}

TEST_CASE("replicas agree with the simulator's placement on random rings", "[driver]") {
    std::mt19937_64 rng(20240601);
    auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    int rings = 0;
    std::size_t compared = 0;
    for (int round = 0; round < 24; ++round) {
        sim::topology_config cfg;
        int dcs = uniform(1, 3);
        cfg.nodes = 0;
        for (int d = 0; d < dcs; ++d) {
            int n = uniform(1, 4);
            cfg.datacenters.emplace_back("dc" + std::to_string(d + 1), n);
            cfg.nodes += n;
        }
        // Rings with few vnodes are the interesting ones; a few go up to 256.
        cfg.num_tokens = round % 6 == 0 ? uniform(128, 256) : uniform(1, 8);
        cfg.racks_per_dc = uniform(1, 3);
        cfg.seed = rng();
        sim::topology topo(cfg);
        token_map map = map_from_sim(topo);
        REQUIRE(map.ring().size() == topo.ring().size());

        std::vector<std::pair<std::string, sim::replication>> strategies;
        for (int rf = 1; rf <= 3; ++rf) {
            sim::replication s;
            s.kind = sim::replication::strategy::simple;
            s.replication_factor = rf;
            strategies.emplace_back("simple" + std::to_string(rf), s);
        }
        for (int k = 0; k < 3; ++k) {
            sim::replication s;
            s.kind = sim::replication::strategy::network_topology;
            s.replication_factor = 0;
            for (const auto& [dc, n] : cfg.datacenters)
                if (uniform(0, 3) != 0) s.dc_factors[dc] = uniform(1, 4);
            if (k == 2) s.replication_factor = uniform(1, 3);  // default for unlisted DCs
            strategies.emplace_back("nts" + std::to_string(k), s);
        }

        for (const auto& [name, s] : strategies) {
            auto options = s.to_options();
            // The sim's to_options() lists only explicit DCs; keep its default too.
            if (s.kind == sim::replication::strategy::network_topology && s.replication_factor > 0)
                options["replication_factor"] = std::to_string(s.replication_factor);
            auto parsed = replication_strategy::parse(options);
            REQUIRE(parsed);
            map.set_keyspace(name, *parsed);

            std::vector<driver::token> probes{tmin, tmin + 1, tmax, tmax - 1, 0};
            for (const auto& e : topo.ring()) {
                probes.push_back(e.t);
                if (probes.size() > 200) break;
            }
            while (probes.size() < 1000) probes.push_back(static_cast<driver::token>(rng()));
            for (auto t : probes) {
                auto want = topo.replicas(s, t);
                auto got = ids(map.replicas(name, t));
                if (got != want) {
                    INFO("ring " << round << " keyspace " << name << " token " << t);
                    CHECK(got == want);
                }
                ++compared;
            }
        }
        ++rings;
    }
    CHECK(rings == 24);
    CHECK(compared == 24u * 6u * 1000u);
}
