// Ring construction and replica placement of the simulated cluster.
#include "cqlpp/sim/topology.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>

using namespace cqlpp::sim;

namespace {
// Reference placement for SimpleStrategy: owner of the range containing t,
// then the next distinct nodes clockwise (brute force over the ring).
std::vector<int> simple_reference(const topology& topo, token t, int rf) {
    const auto& ring = topo.ring();
    std::size_t start = 0;
    while (start < ring.size() && ring[start].t < t) ++start;
    if (start == ring.size()) start = 0;
    std::vector<int> out;
    for (std::size_t i = 0; i < ring.size() && out.size() < static_cast<std::size_t>(rf); ++i) {
        int n = ring[(start + i) % ring.size()].node;
        if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    }
    return out;
}
}  // namespace

TEST_CASE("ring: reproducible, distinct vnode tokens, addresses", "[sim][topology]") {
    topology_config cfg;
    cfg.nodes = 3;
    cfg.num_tokens = 16;
    topology a(cfg), b(cfg);
    REQUIRE(a.ring().size() == 48);
    std::set<token> seen;
    for (std::size_t i = 0; i < a.ring().size(); ++i) {
        CHECK(a.ring()[i].t == b.ring()[i].t);
        CHECK(seen.insert(a.ring()[i].t).second);
        if (i > 0) CHECK(a.ring()[i - 1].t < a.ring()[i].t);
    }
    CHECK(a.node(0).config.address == "127.0.0.1");
    CHECK(a.node(2).config.address == "127.0.0.3");
    CHECK(a.node(0).host_id != a.node(1).host_id);
    CHECK((a.node(1).host_id[6] >> 4) == 4);  // version-4 UUID

    cfg.seed = 7;
    topology c(cfg);
    CHECK(c.ring()[0].t != a.ring()[0].t);

    cfg.base_port = 19042;
    topology d(cfg);
    CHECK(d.node(1).config.address == "127.0.0.1");
    CHECK(d.node(1).config.port == 19043);
}

TEST_CASE("SimpleStrategy: owner is the first token >= t, then clockwise", "[sim][topology]") {
    topology_config cfg;
    cfg.nodes = 5;
    cfg.num_tokens = 8;
    topology topo(cfg);
    replication r;
    r.kind = replication::strategy::simple;
    std::mt19937_64 rng(1);
    for (int rf : {1, 2, 3, 5, 7}) {
        r.replication_factor = rf;
        for (int i = 0; i < 500; ++i) {
            token t = static_cast<token>(rng());
            CHECK(topo.replicas(r, t) == simple_reference(topo, t, rf));
        }
        // Exactly on a vnode token: that vnode's node owns it.
        for (const auto& e : topo.ring()) {
            CHECK(topo.replicas(r, e.t).front() == e.node);
        }
    }
    // Past the last token wraps to the first.
    r.replication_factor = 1;
    CHECK(topo.replicas(r, std::numeric_limits<token>::max()).front() == topo.ring().front().node);
    CHECK(topo.replicas(r, std::numeric_limits<token>::min()).front() == topo.ring().front().node);
}

TEST_CASE("NetworkTopologyStrategy: per-DC factors and rack diversity", "[sim][topology]") {
    topology_config cfg;
    cfg.nodes = 6;
    cfg.num_tokens = 16;
    cfg.datacenters = {{"dc1", 4}, {"dc2", 2}};
    cfg.racks_per_dc = 2;
    topology topo(cfg);
    replication r;
    std::string err;
    REQUIRE(replication::from_options({{"class", "NetworkTopologyStrategy"}, {"dc1", "2"}, {"dc2", "1"}}, r, err));
    std::mt19937_64 rng(2);
    for (int i = 0; i < 1000; ++i) {
        auto reps = topo.replicas(r, static_cast<token>(rng()));
        REQUIRE(reps.size() == 3);
        int in_dc1 = 0;
        std::set<std::string> racks_dc1;
        for (int n : reps) {
            if (topo.node(n).config.datacenter == "dc1") {
                ++in_dc1;
                racks_dc1.insert(topo.node(n).config.rack);
            }
        }
        CHECK(in_dc1 == 2);
        CHECK(racks_dc1.size() == 2);  // RF 2 over 2 racks: one per rack
        CHECK(std::set<int>(reps.begin(), reps.end()).size() == 3);
    }
    // RF above the DC's size is capped at the number of nodes there.
    REQUIRE(replication::from_options({{"class", "org.apache.cassandra.locator.NetworkTopologyStrategy"}, {"dc2", "5"}}, r, err));
    CHECK(topo.replicas(r, 0).size() == 2);
    // Unknown classes and bad factors are refused with Cassandra's wording.
    CHECK_FALSE(replication::from_options({{"class", "NoSuchStrategy"}}, r, err));
    CHECK(err.find("Unable to find replication strategy class") != std::string::npos);
    CHECK_FALSE(replication::from_options({{"class", "SimpleStrategy"}}, r, err));
    CHECK_FALSE(replication::from_options({{"class", "SimpleStrategy"}, {"replication_factor", "-1"}}, r, err));
}
