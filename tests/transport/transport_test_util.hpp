// Helpers for transport tests: a simulated cluster on free loopback base
// ports, a bounded io_context runner, and query helpers.
#pragma once

#include "cqlpp/sim/cluster.hpp"
#include "cqlpp/transport/connection.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

namespace cqlpp::test {

namespace proto = cqlpp::protocol;
namespace tr = cqlpp::transport;
namespace sim = cqlpp::sim;
using namespace std::chrono_literals;
inline constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

inline std::uint16_t next_transport_port() {
    // CQLPP_TEST_PORT_BASE=N keeps every cluster within [N, N + 100) (a
    // machine whose ports are shared out between several runs).
    static const int base = [] {
        const char* e = std::getenv("CQLPP_TEST_PORT_BASE");
        return e ? std::atoi(e) : 0;
    }();
    if (base > 0) {
        static int next = 0;
        const int p = base + next;
        next = (next + 10) % 100;
        return static_cast<std::uint16_t>(p);
    }
    static std::uint16_t port = static_cast<std::uint16_t>(21000 + (::getpid() % 100) * 80);
    port = static_cast<std::uint16_t>(port + 10);
    return port;
}

// Starts a cluster, moving to other base ports if one is taken. Nodes share
// 127.0.0.1 on ports base, base+1, ...; with `own_addresses`, each node has
// its own address (127.0.0.1, .2, ...) on one port, as in a real cluster.
inline std::unique_ptr<sim::cluster> start_cluster(sim::cluster_config cfg, bool own_addresses = false) {
    if (cfg.topology.num_tokens > 8) cfg.topology.num_tokens = 8;
    for (int attempt = 0; attempt < 20; ++attempt) {
        if (own_addresses) {
            cfg.topology.base_port = 0;
            cfg.topology.port = next_transport_port();
        } else {
            cfg.topology.base_port = next_transport_port();
        }
        auto c = std::make_unique<sim::cluster>(cfg);
        try {
            c->start();
            return c;
        } catch (const std::system_error&) {
        }
    }
    FAIL("no free loopback ports");
    return nullptr;
}

inline sim::cluster_config nodes(int n) {
    sim::cluster_config cfg;
    cfg.topology.nodes = n;
    return cfg;
}

inline tr::connection_config conn_cfg(const sim::cluster& c, int node = 0) {
    tr::connection_config cfg;
    cfg.host = "127.0.0.1";
    cfg.port = c.topo().node(node).config.port;
    cfg.connect_timeout = 10s;
    return cfg;
}

// Runs `f(executor)` (a coroutine) on a fresh io_context, at most `limit`.
template <class F>
void run_async(F&& f, std::chrono::seconds limit = 90s) {
    asio::io_context ioc;
    bool done = false;
    std::exception_ptr err;
    asio::co_spawn(ioc, f(ioc.get_executor()), [&](std::exception_ptr e) {
        done = true;
        err = e;
        ioc.stop();
    });
    ioc.run_for(limit);
    REQUIRE(done);
    if (err) std::rethrow_exception(err);
}

inline asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(use_tuple);
}

// Waits until pred() or the deadline; returns pred().
template <class P>
asio::awaitable<bool> eventually(P pred, std::chrono::milliseconds limit = 20s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < deadline) co_await sleep_for(10ms);
    co_return pred();
}

inline proto::request query(std::string_view q) {
    proto::query_request r;
    r.query = q;
    r.params.cl = proto::consistency::one;
    return r;
}

inline const proto::rows_result* rows_of(const tr::request_result& r) {
    if (r.ec || !r.response) return nullptr;
    auto* res = std::get_if<proto::result_response>(&r.response->message);
    return res ? std::get_if<proto::rows_result>(&res->value) : nullptr;
}

inline std::string text(proto::value_view v) { return std::string(proto::as_chars(v.bytes)); }

// Encodes and runs one request (the buffer lives across the await).
inline asio::awaitable<tr::request_result> run(tr::connection& c, const proto::request& r,
                                               std::chrono::milliseconds timeout = 20s) {
    auto env = c.encode(r);
    co_return co_await c.async_request(env, timeout);
}

// Counts finished tasks; wait() returns once `n` are done (or the deadline).
struct latch {
    explicit latch(asio::any_io_executor ex) : timer(ex) {}
    asio::steady_timer timer;
    std::size_t pending = 0;
    void add(std::size_t n = 1) { pending += n; }
    void done() {
        if (--pending == 0) timer.cancel();
    }
    asio::awaitable<bool> wait(std::chrono::milliseconds limit = 60s) {
        if (pending == 0) co_return true;
        timer.expires_after(limit);
        co_await timer.async_wait(use_tuple);
        co_return pending == 0;
    }
};

}  // namespace cqlpp::test
