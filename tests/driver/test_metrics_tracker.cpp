// Metrics in the Java driver's vocabulary, their Prometheus exposition, and
// the per-request hook (session_config::tracker), against the simulated cluster.
#include "transport_test_util.hpp"
#include "session_test_util.hpp"

#include "cqlpp/driver/session.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>

#include <map>
#include <optional>
#include <regex>
#include <sstream>

using namespace cqlpp::test;
namespace drv = cqlpp::driver;

namespace {

// Everything the hook saw, in order.
struct recorder final : drv::request_tracker {
    struct entry {
        std::string query;
        std::vector<drv::request_attempted> attempts;
        std::vector<std::string> attempt_hosts;
        std::optional<drv::request_ended> end;
        std::string coordinator;
        int starts = 0;
    };
    std::map<std::uint64_t, entry> by_id;
    std::vector<std::uint64_t> order;
    void on_start(const drv::request_started& e) override {
        auto& x = by_id[e.id];
        ++x.starts;
        x.query = std::string(e.query);
        order.push_back(e.id);
    }
    void on_attempt(const drv::request_attempted& e) override {
        auto& x = by_id[e.id];
        x.attempts.push_back(e);
        x.attempt_hosts.emplace_back(e.host);
    }
    void on_end(const drv::request_ended& e) override {
        auto& x = by_id[e.id];
        REQUIRE_FALSE(x.end);  // once
        x.end = e;
        x.coordinator = std::string(e.coordinator);
    }
    const entry& last() const { return by_id.at(order.back()); }
};

drv::session_config cfg_for(const sim::cluster& c, std::shared_ptr<recorder> r) {
    drv::session_config cfg;
    cfg.contact_points = {"127.0.0.1:" + std::to_string(c.topo().node(0).config.port)};
    cfg.connection.connect_timeout = 10s;
    cfg.request_timeout = 5s;
    cfg.tracker = std::move(r);
    return cfg;
}

std::uint64_t sample_value(const std::string& text, const std::string& series) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(series + " ", 0) == 0) return std::stoull(line.substr(series.size() + 1));
    FAIL("no sample " << series << " in:\n" << text);
    return 0;
}

}  // namespace

TEST_CASE("tracker: one start, its attempts and one end per request, on every way out", "[driver][metrics]") {
    auto cluster = start_cluster(nodes(1));
    auto rec = std::make_shared<recorder>();
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto s = co_await open(ex, cfg_for(*cluster, rec));
        co_await ok(*s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
        co_await ok(*s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
        const std::string host = "127.0.0.1:" + std::to_string(cluster->topo().node(0).config.port);

        // Success.
        auto sel = co_await prepare(*s, "SELECT v FROM ks.t WHERE k = ?");
        auto r = co_await s->execute(sel.bind(1));
        REQUIRE(r.ok());
        {
            const auto& e = rec->last();
            CHECK(e.query == "SELECT v FROM ks.t WHERE k = ?");
            CHECK(e.starts == 1);
            REQUIRE(e.attempts.size() == 1);
            CHECK_FALSE(e.attempts[0].error);
            CHECK(e.attempt_hosts[0] == host);
            CHECK(e.attempts[0].latency.count() > 0);
            REQUIRE(e.end);
            CHECK_FALSE(e.end->error);
            CHECK(e.end->attempts == 1);
            CHECK(e.coordinator == host);
            CHECK(e.end->latency >= e.attempts[0].latency);
        }

        // A server error: the attempt and the end carry it.
        cluster->fail_next(0, 1, sim::fault_error::unavailable);
        auto bad = co_await s->execute(sel.bind(2));
        CHECK(bad.error() == cqlpp::protocol::server_errc::unavailable);
        {
            const auto& e = rec->last();
            REQUIRE(e.attempts.size() == 1);
            CHECK(e.attempts[0].error == cqlpp::protocol::server_errc::unavailable);
            REQUIRE(e.end);
            CHECK(e.end->error == cqlpp::protocol::server_errc::unavailable);
            CHECK(e.coordinator.empty());
        }

        // A batch is named by its size.
        drv::batch b(cqlpp::protocol::batch_type::unlogged);
        b.add(drv::statement("INSERT INTO ks.t (k, v) VALUES (1, 1)"));
        b.add(drv::statement("INSERT INTO ks.t (k, v) VALUES (2, 2)"));
        REQUIRE((co_await s->execute(b)).ok());
        CHECK(rec->last().query == "BATCH of 2 statements");

        // Cancelled: still exactly one end, with the cancellation.
        cluster->set_latency(0, 300ms);
        asio::cancellation_signal sig;
        std::optional<drv::result> got;
        s->async_execute(sel.bind(3), asio::bind_cancellation_slot(sig.slot(), [&](drv::result x) { got = std::move(x); }));
        co_await sleep_for(20ms);
        sig.emit(asio::cancellation_type::terminal);
        REQUIRE(co_await eventually([&] { return got.has_value(); }, 2s));
        CHECK(got->error() == drv::condition::cancelled);
        REQUIRE(rec->last().end);
        CHECK(rec->last().end->error == drv::condition::cancelled);
        cluster->set_latency(0, 0ms);

        // The per-node and session figures in the Java driver's vocabulary.
        const auto m = s->metrics();
        REQUIRE(m.hosts.size() == 1);
        CHECK(m.hosts[0].errors.unavailables == 1);
        CHECK(m.hosts[0].errors.others == 0);
        CHECK(m.hosts[0].available_streams == m.hosts[0].pool.connections * 32768 - m.hosts[0].pool.in_flight -
                                                  m.hosts[0].pool.orphaned);
        CHECK(m.connected_nodes == 1);
        CHECK(m.bytes_sent > 0);
        CHECK(m.bytes_received > 0);
        CHECK(m.prepared_cache_size == 1);
        co_await s->close();

        // Every request seen: one start, one end, unique ids.
        CHECK(rec->by_id.size() == rec->order.size());
        for (const auto& [id, e] : rec->by_id) {
            INFO(e.query);
            CHECK(e.starts == 1);
            CHECK(e.end.has_value());
        }
        CHECK(rec->by_id.size() == m.requests);

        // The Prometheus text says the same.
        const auto text = drv::to_prometheus(m);
        CHECK(sample_value(text, "cqlpp_session_requests_total") == m.requests);
        CHECK(sample_value(text, "cqlpp_session_request_errors_total") == m.errors);
        CHECK(sample_value(text, "cqlpp_session_connected_nodes") == 1);
        CHECK(sample_value(text, "cqlpp_session_cql_requests_seconds_count") == m.latency.count());
        const std::string node = "node=\"" + host + "\",dc=\"" + m.hosts[0].datacenter + "\"";
        CHECK(sample_value(text, "cqlpp_node_errors_total{" + node + ",kind=\"unavailable\"}") == 1);
        CHECK(sample_value(text, "cqlpp_node_up{" + node + "}") == 1);
    });
}

TEST_CASE("prometheus: the text format's grammar, families once, escaped labels", "[driver][metrics]") {
    drv::session_metrics m;
    m.requests = 7;
    m.errors = 2;
    m.latency.record(std::chrono::milliseconds(3));
    m.latency.record(std::chrono::milliseconds(5));
    drv::host_metrics h;
    h.endpoint = "10.0.0.1:9042";
    h.datacenter = "dc \"east\"\\1\n";
    h.up = true;
    h.errors.write_timeouts = 4;
    m.hosts = {h, h};
    m.hosts[1].endpoint = "10.0.0.2:9042";
    const auto text = drv::to_prometheus(m, "app");

    const std::regex comment(R"(# (HELP|TYPE) app_[a-z_]+ .+)");
    const std::regex sample(R"(app_[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? -?[0-9.e+-]+)");
    std::istringstream in(text);
    std::string line;
    std::map<std::string, int> types;
    int samples = 0;
    while (std::getline(in, line)) {
        INFO(line);
        if (line.rfind("# TYPE ", 0) == 0) ++types[line.substr(7, line.find(' ', 7) - 7)];
        if (line[0] == '#') CHECK(std::regex_match(line, comment));
        else {
            CHECK(std::regex_match(line, sample));
            ++samples;
        }
    }
    for (const auto& [family, n] : types) {
        INFO(family);
        CHECK(n == 1);  // each family declared once
    }
    CHECK(samples > 30);
    CHECK(text.find("app_session_requests_total 7\n") != std::string::npos);
    CHECK(text.find("app_session_cql_requests_seconds_count 2\n") != std::string::npos);
    CHECK(text.find("app_session_cql_requests_seconds_sum 0.008") != std::string::npos);
    CHECK(text.find(R"(app_node_errors_total{node="10.0.0.2:9042",dc="dc \"east\"\\1\n",kind="write_timeout"} 4)") !=
          std::string::npos);
}
