// Query plans of the default (token/DC/rack-aware, least-busy) policy, a
// custom policy, and the allocation-free fast path.
#include "cqlpp/driver/load_balancing.hpp"

#include <catch2/catch.hpp>

#include <malloc.h>

#include <map>
#include <set>
#include <type_traits>

using namespace cqlpp;
using driver::default_policy;
using driver::default_policy_config;
using driver::host;
using driver::plan_buffer;
using driver::request_info;
using driver::token_map;
using protocol::consistency;

// The fast-path check below cannot replace operator new: test_rows.cpp in
// this executable already does (one replacement per program). So it checks
// that a plan owns no heap memory, and that the heap does not grow.
static_assert(std::is_trivially_destructible_v<plan_buffer>, "a plan must own no heap memory");
static_assert(std::is_trivially_destructible_v<request_info>);

namespace {

struct cluster {
    std::vector<std::shared_ptr<host>> hosts;
    token_map map;

    // dc1: 4 hosts on racks r1,r2,r1,r2; dc2: 3 hosts; tokens interleave
    // (host i owns token i * 100) so replicas are easy to predict.
    explicit cluster(std::size_t dc1 = 4, std::size_t dc2 = 3) {
        for (std::size_t i = 0; i < dc1 + dc2; ++i) {
            auto h = std::make_shared<host>();
            h->address.addr = {10, 0, 0, static_cast<std::uint8_t>(i + 1)};
            h->datacenter = i < dc1 ? "dc1" : "dc2";
            h->rack = i % 2 == 0 ? "r1" : "r2";
            h->tokens = {static_cast<driver::token>(i) * 100};
            h->pool_index = i;
            hosts.push_back(h);
        }
        map = token_map(hosts);
        driver::replication_strategy nts;
        nts.strategy = driver::replication_strategy::kind::network_topology;
        nts.replication_factor = 0;
        nts.dc_factors = {{"dc1", 2}, {"dc2", 2}};
        map.set_keyspace("ks", nts);
    }
    const host* at(std::size_t i) const { return hosts[i].get(); }
};

std::vector<const host*> walk(plan_buffer& p) {
    std::vector<const host*> out;
    while (const host* h = p.next()) out.push_back(h);
    return out;
}

std::vector<std::size_t> indices(const std::vector<const host*>& hs) {
    std::vector<std::size_t> out;
    for (const host* h : hs) out.push_back(h->pool_index);
    return out;
}

request_info routed(const token_map& map, driver::token t, consistency cl = consistency::local_one) {
    request_info info;
    info.map = &map;
    info.keyspace = "ks";
    info.routing_token = t;
    info.consistency = cl;
    return info;
}

}  // namespace

TEST_CASE("plans: local replicas first, then the local DC, never remote for LOCAL_ONE", "[driver]") {
    cluster c;
    default_policy policy({.local_dc = "dc1"});
    plan_buffer p;
    // Token 50 -> ring from host 1 (token 100): dc1 replicas are hosts 1 and 2 (racks r2, r1).
    auto reps = c.map.replicas("ks", 50);
    REQUIRE(indices({reps.begin(), reps.end()}) == std::vector<std::size_t>{1, 2, 4, 5});
    for (int round = 0; round < 10; ++round) {
        policy.plan(routed(c.map, 50), p);
        auto plan = indices(walk(p));
        REQUIRE(plan.size() == 4);
        CHECK(std::set<std::size_t>(plan.begin(), plan.begin() + 2) == std::set<std::size_t>{1, 2});
        CHECK(std::set<std::size_t>(plan.begin() + 2, plan.end()) == std::set<std::size_t>{0, 3});
    }
}

TEST_CASE("plans: remote DCs after the local one, replicas first, bounded per DC", "[driver]") {
    cluster c;
    default_policy policy({.local_dc = "dc1", .used_hosts_per_remote_dc = 2});
    plan_buffer p;
    policy.plan(routed(c.map, 50, consistency::quorum), p);
    auto plan = indices(walk(p));
    REQUIRE(plan.size() == 6);
    CHECK(std::set<std::size_t>(plan.begin(), plan.begin() + 4) == std::set<std::size_t>{0, 1, 2, 3});
    CHECK(std::vector<std::size_t>(plan.begin() + 4, plan.end()) == std::vector<std::size_t>{4, 5});  // dc2 replicas

    // LOCAL_* never leaves the DC, even when remote hosts are configured...
    for (auto cl : {consistency::local_one, consistency::local_quorum, consistency::local_serial}) {
        policy.plan(routed(c.map, 50, cl), p);
        for (const host* h : walk(p)) CHECK(h->datacenter == "dc1");
    }
    // ...unless explicitly allowed.
    default_policy permissive({.local_dc = "dc1", .used_hosts_per_remote_dc = 1, .allow_remote_dcs_for_local_consistency = true});
    permissive.plan(routed(c.map, 50), p);
    CHECK(walk(p).size() == 5);

    // Without a routing token, remote hosts are round robin.
    request_info plain;
    plain.map = &c.map;
    plain.consistency = consistency::one;
    std::map<std::size_t, int> remote_first;
    for (int i = 0; i < 300; ++i) {
        policy.plan(plain, p);
        auto all = indices(walk(p));
        REQUIRE(all.size() == 6);
        ++remote_first[all[4]];
    }
    CHECK(remote_first.size() == 3);
}

TEST_CASE("plans: a request limited to the local DC (an execution profile's limit) never leaves it", "[driver]") {
    cluster c;
    default_policy policy({.local_dc = "dc1", .used_hosts_per_remote_dc = 2});
    plan_buffer p;
    auto info = routed(c.map, 50, consistency::quorum);
    policy.plan(info, p);
    CHECK(walk(p).size() == 6);  // the limit is what keeps dc2 out below
    info.local_dc_only = true;
    policy.plan(info, p);
    auto plan = walk(p);
    CHECK(plan.size() == 4);
    for (const host* h : plan) CHECK(h->datacenter == "dc1");
    // Without a routing token too.
    request_info plain;
    plain.map = &c.map;
    plain.consistency = consistency::one;
    plain.local_dc_only = true;
    policy.plan(plain, p);
    CHECK(indices(walk(p)).size() == 4);
}

TEST_CASE("plans: down hosts are left out", "[driver]") {
    cluster c;
    default_policy policy({.local_dc = "dc1", .used_hosts_per_remote_dc = 3});
    plan_buffer p;
    c.hosts[1]->set_up(false);
    c.hosts[3]->set_up(false);
    c.hosts[4]->set_up(false);
    policy.plan(routed(c.map, 50, consistency::one), p);
    auto plan = indices(walk(p));
    CHECK(plan.front() == 2);  // the only live local replica
    CHECK(std::set<std::size_t>(plan.begin(), plan.end()) == std::set<std::size_t>{0, 2, 5, 6});
    CHECK(plan.size() == 4);

    for (auto& h : c.hosts) h->set_up(false);
    policy.plan(routed(c.map, 50, consistency::one), p);
    CHECK(p.next() == nullptr);
    c.hosts[0]->set_up(true);  // back up: used by the next plan
    policy.plan(routed(c.map, 50, consistency::one), p);
    CHECK(indices(walk(p)) == std::vector<std::size_t>{0});
}

TEST_CASE("plans: the least busy replica comes first", "[driver]") {
    cluster c;
    std::vector<std::size_t> load(c.hosts.size(), 10);
    default_policy policy(
        {.local_dc = "dc1", .in_flight = [&](const host& h) { return load[h.pool_index]; }});
    plan_buffer p;
    load[2] = 3;
    for (int i = 0; i < 20; ++i) {
        policy.plan(routed(c.map, 50), p);
        CHECK(p.next()->pool_index == 2);
    }
    load[2] = 50;
    load[0] = 0;  // not a replica: replicas still come first
    for (int i = 0; i < 20; ++i) {
        policy.plan(routed(c.map, 50), p);
        CHECK(p.next()->pool_index == 1);
    }
    // Equal loads: spread over both replicas.
    load.assign(load.size(), 7);
    std::map<std::size_t, int> first;
    for (int i = 0; i < 100; ++i) {
        policy.plan(routed(c.map, 50), p);
        ++first[p.next()->pool_index];
    }
    CHECK(first[1] == 50);
    CHECK(first[2] == 50);
}

TEST_CASE("plans: round robin over the local DC without a routing token", "[driver]") {
    cluster c(5, 2);
    default_policy policy({.local_dc = "dc1"});
    plan_buffer p;
    request_info info;
    info.map = &c.map;
    std::map<std::size_t, int> first;
    std::map<std::size_t, int> second;
    for (int i = 0; i < 5000; ++i) {
        policy.plan(info, p);
        auto plan = indices(walk(p));
        REQUIRE(plan.size() == 5);
        REQUIRE(std::set<std::size_t>(plan.begin(), plan.end()).size() == 5);
        ++first[plan[0]];
        ++second[plan[1]];
    }
    REQUIRE(first.size() == 5);
    for (auto [h, n] : first) CHECK(n == 1000);
    for (auto [h, n] : second) CHECK(n == 1000);

    // An unknown keyspace or a policy that is not token aware: the same.
    default_policy blind({.local_dc = "dc1", .token_aware = false});
    first.clear();
    for (int i = 0; i < 500; ++i) {
        blind.plan(routed(c.map, 50), p);
        ++first[p.next()->pool_index];
    }
    CHECK(first.size() == 5);
}

TEST_CASE("plans: replicas in the local rack first", "[driver]") {
    cluster c;
    plan_buffer p;
    // Token 50: dc1 replicas 1 (r2) and 2 (r1).
    default_policy r1({.local_dc = "dc1", .local_rack = "r1"});
    default_policy r2({.local_dc = "dc1", .local_rack = "r2"});
    for (int i = 0; i < 10; ++i) {
        r1.plan(routed(c.map, 50), p);
        CHECK(indices(walk(p)).at(0) == 2);
        r2.plan(routed(c.map, 50), p);
        auto plan = indices(walk(p));
        CHECK(plan.at(0) == 1);
        CHECK(plan.at(1) == 2);  // the other local replica before non-replicas
    }
}

TEST_CASE("plans: LWT keeps replica order deterministic", "[driver]") {
    cluster c;
    std::vector<std::size_t> load(c.hosts.size(), 0);
    load[1] = 100;  // would lose the least-busy choice
    default_policy policy({.local_dc = "dc1", .local_rack = "r1", .in_flight = [&](const host& h) { return load[h.pool_index]; }});
    plan_buffer p;
    for (int i = 0; i < 10; ++i) {
        auto info = routed(c.map, 50, consistency::local_serial);
        info.is_lwt = true;
        policy.plan(info, p);
        auto plan = indices(walk(p));
        CHECK(std::vector<std::size_t>(plan.begin(), plan.begin() + 2) == std::vector<std::size_t>{1, 2});
    }
}

TEST_CASE("plans: local DC from the contact point; distances", "[driver]") {
    cluster c;
    default_policy inferred({.used_hosts_per_remote_dc = 1});
    inferred.init(c.map, c.at(5));
    CHECK(inferred.local_dc() == "dc2");
    CHECK(inferred.distance(*c.at(5)) == driver::host_distance::local);
    CHECK(inferred.distance(*c.at(0)) == driver::host_distance::remote);
    default_policy configured({.local_dc = "dc1"});
    configured.init(c.map, c.at(5));  // configuration wins
    CHECK(configured.local_dc() == "dc1");
    CHECK(configured.distance(*c.at(5)) == driver::host_distance::ignored);

    plan_buffer p;
    inferred.plan(routed(c.map, 50), p);
    auto plan = indices(walk(p));
    REQUIRE(plan.size() == 3);
    CHECK(std::set<std::size_t>(plan.begin(), plan.begin() + 2) == std::set<std::size_t>{4, 5});

    // Unknown local DC: every host is local.
    default_policy anywhere;
    anywhere.plan(routed(c.map, 50), p);
    plan = indices(walk(p));
    CHECK(plan.size() == 7);
    CHECK(std::set<std::size_t>(plan.begin(), plan.begin() + 4) == std::set<std::size_t>{1, 2, 4, 5});

    // No metadata yet: an empty plan.
    request_info none;
    anywhere.plan(none, p);
    CHECK(p.next() == nullptr);
}

TEST_CASE("plans: longer than the inline buffer continue lazily", "[driver]") {
    cluster c(20, 5);
    default_policy policy({.local_dc = "dc1", .used_hosts_per_remote_dc = 2});
    plan_buffer p;
    policy.plan(routed(c.map, 50, consistency::one), p);
    // Only the replicas are chosen up front; the walk goes on lazily.
    CHECK(p.picked().size() == 2);  // dc1 keeps 2 replicas
    auto plan = walk(p);
    CHECK(plan.size() == 22);
    CHECK(std::set<const host*>(plan.begin(), plan.end()).size() == 22);
    CHECK(p.next() == nullptr);  // stays exhausted
}

namespace {
// A user policy: only hosts whose address ends in an even byte, in address order.
class even_hosts_policy final : public driver::load_balancing_policy {
protected:
    void pick(const request_info& info, plan_buffer& out) const override {
        out.state.index = 0;
        while (const host* h = fallback(info, out))
            if (!out.push(h)) break;
    }
    const host* fallback(const request_info& info, plan_buffer& out) const override {
        auto hosts = info.map->hosts();
        while (out.state.index < hosts.size()) {
            const host* h = hosts[out.state.index++].get();
            if (h->address.addr[3] % 2 == 0) return h;
        }
        return nullptr;
    }
};
}  // namespace

TEST_CASE("plans: a custom policy plugs in", "[driver]") {
    cluster c;
    even_hosts_policy custom;
    const driver::load_balancing_policy& policy = custom;
    plan_buffer p;
    policy.plan(routed(c.map, 50), p);
    CHECK(indices(walk(p)) == std::vector<std::size_t>{1, 3, 5});
    CHECK(policy.distance(*c.at(0)) == driver::host_distance::local);
}

TEST_CASE("plans: the fast path does not allocate", "[driver]") {
    cluster c(10, 3);  // 12-host plans: 8 inline, 4 lazy
    std::vector<std::size_t> load(c.hosts.size(), 1);
    default_policy policy({.local_dc = "dc1", .local_rack = "r1", .used_hosts_per_remote_dc = 2,
                           .in_flight = [&](const host& h) { return load[h.pool_index]; }});
    plan_buffer p;
    auto info = routed(c.map, 250, consistency::quorum);
    policy.plan(info, p);  // warm-up
    const auto before = ::mallinfo2().uordblks;
    std::size_t seen = 0, short_fast_paths = 0;
    for (int i = 0; i < 100000; ++i) {
        policy.plan(info, p);
        if (p.picked().empty()) ++short_fast_paths;
        while (p.next() != nullptr) ++seen;  // the lazy part too
    }
    const auto after = ::mallinfo2().uordblks;  // before any Catch2 assertion allocates
    CHECK(after == before);
    CHECK(short_fast_paths == 0);
    CHECK(seen == 100000u * 12u);
}
