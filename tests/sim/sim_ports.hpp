// Loopback base ports for the sim tests that put every node on 127.0.0.1
// (base_port mode). They stay below Linux's ephemeral range (32768-60999),
// where any process's outgoing socket may hold a port for a while, and a
// cluster whose port is taken moves on to the next base instead of failing.
#pragma once

#include "cqlpp/sim/cluster.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <memory>
#include <system_error>

namespace cqlpp::test {

// Bases 30000-32699 in steps of `span` (a cluster's nodes, plus any it adds).
inline std::uint16_t next_sim_base_port(int span = 10) {
    static int port = 30000 + (::getpid() % 50) * 50;
    port += span;
    if (port + span > 32700) port = 30000;
    return static_cast<std::uint16_t>(port);
}

// Starts `cfg` on the next free base (cfg.topology.base_port is replaced).
inline std::unique_ptr<sim::cluster> start_sim(sim::cluster_config cfg, int span = 10) {
    for (int attempt = 0; attempt < 30; ++attempt) {
        cfg.topology.base_port = next_sim_base_port(span);
        auto c = std::make_unique<sim::cluster>(cfg);
        try {
            c->start();
            return c;
        } catch (const std::system_error&) {
        }
    }
    FAIL("no free loopback base port in 30000-32699");
    return nullptr;
}

}  // namespace cqlpp::test
