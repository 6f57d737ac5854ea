// Integration tests against a real cluster: they run when CQLPP_CONTACT_POINTS
// ("host:port[,host:port...]") is set, e.g. by docker/run-tests.sh, and are
// skipped otherwise. The same checks run against the simulated cluster in
// test_session.cpp; here nothing may assume the simulator's internals.
#include "transport_test_util.hpp"

#include "cqlpp/driver/session.hpp"

#include <cstdlib>
#include <sstream>

using namespace cqlpp::test;
namespace drv = cqlpp::driver;

namespace {

std::vector<std::string> real_contact_points() {
    std::vector<std::string> out;
    const char* env = std::getenv("CQLPP_CONTACT_POINTS");
    if (!env) return out;
    std::stringstream ss(env);
    for (std::string h; std::getline(ss, h, ',');)
        if (!h.empty()) out.push_back(h);
    return out;
}

asio::awaitable<drv::result> ok(asio::awaitable<drv::result> a) {
    auto r = co_await std::move(a);
    INFO(r.diag().message);
    REQUIRE(r.ok());
    co_return r;
}

}  // namespace

TEST_CASE("real cluster: metadata, prepared statements, routing, paging, batches", "[real]") {
    const auto points = real_contact_points();
    if (points.empty()) {
        WARN("CQLPP_CONTACT_POINTS is not set: skipping the real-cluster tests");
        return;
    }
    run_async(
        [&](asio::any_io_executor ex) -> asio::awaitable<void> {
            drv::session_config cfg;
            cfg.contact_points = points;
            cfg.request_timeout = 30s;
            auto c = co_await drv::session::connect(ex, cfg);
            INFO(c.diag().message);
            REQUIRE_FALSE(c.error());
            auto s = c.value();
            auto meta = s->metadata();
            CHECK(meta->tokens.hosts().size() >= 1);
            CHECK_FALSE(meta->tokens.ring().empty());
            CHECK(meta->keyspace("system_schema") != nullptr);

            co_await ok(s->execute("DROP KEYSPACE IF EXISTS cqlpp_it"));
            co_await ok(s->execute(
                "CREATE KEYSPACE cqlpp_it WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"));
            co_await ok(s->execute("CREATE TABLE cqlpp_it.t (k int, c int, v text, PRIMARY KEY (k, c))"));
            REQUIRE(s->metadata()->table("cqlpp_it", "t") != nullptr);

            auto ins = co_await s->prepare("INSERT INTO cqlpp_it.t (k, c, v) VALUES (?, ?, ?)");
            REQUIRE(ins.ok());
            auto sel = co_await s->prepare("SELECT c, v FROM cqlpp_it.t WHERE k = ?");
            REQUIRE(sel.ok());
            for (int k = 0; k < 50; ++k)
                for (int cc = 0; cc < 20; ++cc)
                    co_await ok(s->execute(ins.value().bind(k, cc, "v" + std::to_string(k * 100 + cc))));
            for (int k = 0; k < 50; ++k) {
                auto r = co_await ok(s->execute(sel.value().bind(k)));
                REQUIRE(r.row_count() == 20);
                CHECK(r.first_row().get<std::string>("v") == "v" + std::to_string(k * 100));
                // Token-aware: with RF 1 the coordinator is the owner of k.
                const auto* t = s->metadata()->tokens.primary(drv::token_of(sel.value().bind(k).values().view(0).bytes));
                REQUIRE(t != nullptr);
                CHECK(r.coordinator() == t->endpoint_string());
            }

            drv::statement all("SELECT k, c FROM cqlpp_it.t");
            all.options().page_size = 70;
            auto stream = s->stream(all);
            std::size_t n = 0;
            drv::row_view row;
            while (co_await stream.next(row)) ++n;
            CHECK_FALSE(stream.error());
            CHECK(n == 1000);

            drv::batch b(cqlpp::protocol::batch_type::unlogged);
            for (int cc = 100; cc < 110; ++cc) b.add(ins.value().bind(7, cc, std::string("batch")));
            co_await ok(s->execute(b));
            auto r7 = co_await ok(s->execute(sel.value().bind(7)));
            CHECK(r7.row_count() == 30);

            auto bad = co_await s->execute("SELECT * FROM cqlpp_it.nope");
            CHECK(bad.error() == cqlpp::protocol::server_errc::invalid);

            co_await ok(s->execute("DROP KEYSPACE cqlpp_it"));
            co_await s->close();
        },
        300s);
}
