// An out-of-tree program built against an installed cqlpp (find_package or
// pkg-config): writes and reads rows through the driver, against a cluster
// given on the command line, or against a cqlpp::sim cluster it starts itself.
//
//   consumer 127.0.0.1:26042        a running cluster (or `cqlpp sim`)
//   consumer --in-process 26043      an in-process simulated node on that port (0: a free one),
//                                    with a primed answer the driver must get
#include <cqlpp/driver/session.hpp>
#include <cqlpp/sim/cluster.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace drv = cqlpp::driver;

static asio::awaitable<int> run(asio::any_io_executor ex, std::string contact_point, bool primed) {
    drv::session_config cfg;
    cfg.contact_points = {contact_point};
    auto [ec, s, diag] = co_await drv::session::connect(ex, cfg);
    if (ec) {
        std::fprintf(stderr, "consumer: connect: %s\n", diag.message.c_str());
        co_return 1;
    }
    for (const char* cql : {"CREATE KEYSPACE IF NOT EXISTS consumer WITH replication = "
                            "{'class': 'SimpleStrategy', 'replication_factor': 1}",
                            "CREATE TABLE IF NOT EXISTS consumer.t (k int PRIMARY KEY, v text)"}) {
        auto r = co_await s->execute(cql);
        if (!r.ok()) {
            std::fprintf(stderr, "consumer: %s\n", r.diag().message.c_str());
            co_return 1;
        }
    }
    auto ins = (co_await s->prepare("INSERT INTO consumer.t (k, v) VALUES (?, ?)")).value_or_throw();
    for (int k = 0; k < 10; ++k) (co_await s->execute(ins.bind(k, "v" + std::to_string(k)))).value_or_throw();
    auto sel = (co_await s->prepare("SELECT v FROM consumer.t WHERE k = ?")).value_or_throw();
    auto r = co_await s->execute(sel.bind(7));
    r.value_or_throw();
    std::string v = r.row_count() ? r.first_row().get<std::string>("v") : "";
    if (primed) {
        // The in-process sim was primed with this answer (no such row exists).
        auto p = co_await s->execute("SELECT v FROM consumer.t WHERE k = 1000");
        p.value_or_throw();
        if (p.row_count() != 1 || p.first_row().get<std::string>("v") != "primed") {
            std::fprintf(stderr, "consumer: the primed answer did not arrive\n");
            co_return 1;
        }
    }
    co_await s->close();
    std::printf("consumer: protocol v%d, read back '%s'\n", static_cast<int>(s->protocol_version()), v.c_str());
    co_return v == "v7" ? 0 : 1;
}

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: consumer HOST:PORT | consumer --in-process PORT\n");
        return 2;
    }
    std::string contact_point = argv[1];
    std::unique_ptr<cqlpp::sim::cluster> sim;
    if (contact_point == "--in-process" && argc > 2) {
        cqlpp::sim::cluster_config cc;
        cc.topology.nodes = 1;
        const int port = std::atoi(argv[2]);
        if (port == 0) cc.topology.port = 0;  // 127.0.0.1, a free port
        else cc.topology.base_port = static_cast<std::uint16_t>(port);
        sim = std::make_unique<cqlpp::sim::cluster>(cc);
        cqlpp::sim::prime_rule rule;
        rule.query = "SELECT v FROM consumer.t WHERE k = 1000";
        rule.then = cqlpp::sim::prime_rows{{{"v", "text"}}, {{"'primed'"}}};
        sim->prime(rule);
        sim->start();
        contact_point = sim->contact_points().at(0);
    }
    asio::io_context io;
    auto done = asio::co_spawn(io, run(io.get_executor(), contact_point, sim != nullptr), asio::use_future);
    io.run();
    try {
        return done.get();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "consumer: %s\n", e.what());
        return 1;
    }
}
