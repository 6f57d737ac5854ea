// Testing your own code against failures without a real cluster: cqlpp::sim
// as a Catch2 fixture. A 3-node simulated cluster runs in the test process on
// free ports (parallel runs never collide); the test loads a schema through
// the driver, injects faults per node, primes canned answers (an UNAVAILABLE
// from one node), reads the nodes' counters and their activity log (what the
// driver actually sent). See docs/sim_fixture.md.
//
// Build against an installed cqlpp: target_link_libraries(t cqlpp::driver cqlpp::sim).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <cqlpp/driver/session.hpp>
#include <cqlpp/driver/typed.hpp>
#include <cqlpp/sim/cluster.hpp>

#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include <cstdint>
#include <string>
#include <thread>

namespace drv = cqlpp::driver;
namespace sim = cqlpp::sim;

namespace shop {
struct item {
    std::int32_t id = 0;
    std::string name;
    std::int64_t stock = 0;
};
CQLPP_DESCRIBE(item, id, name, stock)
}  // namespace shop

namespace {

// The cluster (127.0.0.1-3, each on a free port), an io_context on its own
// thread and a connected session; run() waits for a coroutine on the
// session's executor.
class cluster_fixture {
public:
    cluster_fixture() : sim_(make_config()), work_(io_.get_executor()), thread_([this] { io_.run(); }) {
        sim_.start();
        drv::session_config cfg;
        cfg.contact_points = sim_.contact_points();
        auto c = run(drv::session::connect(io_.get_executor(), cfg));
        if (c.error()) FAIL("connect: " << c.diag().message);
        session_ = c.value();
        must(run(session_->execute("CREATE KEYSPACE shop WITH replication = "
                                   "{'class': 'SimpleStrategy', 'replication_factor': 3}")));
        must(run(session_->execute("CREATE TABLE shop.items (id int PRIMARY KEY, name text, stock bigint)")));
    }
    ~cluster_fixture() {
        if (session_) run(session_->close());
        work_.reset();
        io_.stop();
        thread_.join();
        sim_.stop();
    }

    template <class T>
    T run(asio::awaitable<T> op) {
        return asio::co_spawn(io_, std::move(op), asio::use_future).get();
    }
    static void must(const drv::result& r) {
        if (!r.ok()) FAIL(r.diag().message);
    }
    drv::session& session() { return *session_; }
    sim::cluster& sim() { return sim_; }

private:
    static sim::cluster_config make_config() {
        sim::cluster_config c;
        c.topology.nodes = 3;
        c.topology.port = 0;              // a free port per node: contact_points() has the real ones
        c.activity_log_capacity = 100;    // the last 100 requests per node (off by default)
        return c;
    }

    sim::cluster sim_;
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::thread thread_;
    std::shared_ptr<drv::session> session_;
};

std::uint64_t total(sim::cluster& c, std::uint64_t sim::node_counters::*field) {
    std::uint64_t n = 0;
    for (int i = 0; i < 3; ++i) n += c.counters(i).*field;
    return n;
}

}  // namespace

TEST_CASE_METHOD(cluster_fixture, "writes and reads rows as structs") {
    auto ins = run(session().prepare("INSERT INTO shop.items (id, name, stock) VALUES (?, ?, ?)")).value_or_throw();
    for (int i = 0; i < 10; ++i) must(run(session().execute(drv::bind_from(ins, shop::item{i, "item" + std::to_string(i), i * 10}))));
    auto r = run(session().execute("SELECT id, name, stock FROM shop.items"));
    must(r);
    auto items = drv::as<shop::item>(r.rows());
    REQUIRE(items.size() == 10);
    std::int64_t stock = 0;
    for (const auto& it : items) stock += it.stock;
    CHECK(stock == 450);
}

TEST_CASE_METHOD(cluster_fixture, "an OVERLOADED node fails a non-idempotent write, and the test sees it") {
    for (int n = 0; n < 3; ++n) sim().fail_next(n, 1, sim::fault_error::overloaded);
    auto r = run(session().execute("INSERT INTO shop.items (id, name, stock) VALUES (1, 'x', 1)"));
    CHECK(r.error() == cqlpp::protocol::server_errc::overloaded);  // not retried: the write is not idempotent
    CHECK(total(sim(), &sim::node_counters::errors_injected) == 1);
    for (int n = 0; n < 3; ++n) sim().fail_next(n, 0, sim::fault_error::overloaded);
    must(run(session().execute("INSERT INTO shop.items (id, name, stock) VALUES (1, 'x', 1)")));
}

TEST_CASE_METHOD(cluster_fixture, "reads go on while a replica is down") {
    auto ins = run(session().prepare("INSERT INTO shop.items (id, name, stock) VALUES (?, ?, ?)")).value_or_throw();
    auto sel = run(session().prepare("SELECT id, name, stock FROM shop.items WHERE id = ?")).value_or_throw();
    for (int i = 0; i < 20; ++i) must(run(session().execute(ins.bind(i, std::string("n"), std::int64_t{i}))));
    sim().stop_node(1);
    const auto before = sim().counters(1).requests;
    for (int i = 0; i < 20; ++i) {
        // Idempotent: a read caught on a connection the stop closed may go to another replica.
        auto b = sel.bind(i);
        b.options().idempotent = true;
        auto r = run(session().execute(b));
        must(r);
        CHECK(drv::row_as<shop::item>(r.first_row()).stock == i);
    }
    CHECK(sim().counters(1).requests == before);  // nothing reached the stopped node
    CHECK(total(sim(), &sim::node_counters::requests) > 40);
}

TEST_CASE_METHOD(cluster_fixture, "a primed UNAVAILABLE from node 1: the driver tries the next host, as its retry policy says") {
    const std::string query = "SELECT name FROM shop.items WHERE id = 1";
    must(run(session().execute("INSERT INTO shop.items (id, name, stock) VALUES (1, 'apple', 5)")));
    sim::prime_rule rule;
    rule.query = query;
    rule.node = 1;
    rule.then = sim::unavailable_error(cqlpp::protocol::consistency::quorum, 2, 1);
    rule.times = 1;
    sim().prime(rule);
    sim().clear_activity();
    // Round robin: within three requests one starts at node 1, which answers
    // UNAVAILABLE once; the default policy then tries the next host.
    for (int i = 0; i < 3; ++i) {
        drv::statement st(query);
        st.options().consistency = cqlpp::protocol::consistency::quorum;
        auto r = run(session().execute(st));
        must(r);
        CHECK(r.first_row().get<std::string>("name") == "apple");
    }
    CHECK(sim().counters(1).primed_responses == 1);
    CHECK(sim().prime_count() == 0);  // the one-shot rule is used up
    // Node 1's log: the request it refused, at the consistency the driver sent.
    bool seen = false;
    for (const auto& e : sim().activity(1))
        if (e.query == query) {
            seen = true;
            CHECK(e.primed);
            CHECK(e.consistency == cqlpp::protocol::consistency::quorum);
        }
    CHECK(seen);
}

TEST_CASE_METHOD(cluster_fixture, "UNAVAILABLE from every node reaches the caller after one retry") {
    const std::string query = "SELECT name FROM shop.items WHERE id = 2";
    sim::prime_rule rule;
    rule.query = query;
    rule.then = sim::unavailable_error(cqlpp::protocol::consistency::local_one, 1, 0);
    sim().prime(rule);
    sim().clear_activity();
    auto r = run(session().execute(query));
    CHECK(r.error() == cqlpp::protocol::server_errc::unavailable);
    int attempts = 0;
    for (int n = 0; n < 3; ++n)
        for (const auto& e : sim().activity(n)) attempts += e.query == query;
    CHECK(attempts == 2);  // the first host, then the next one once
    sim().clear_primes();
}

TEST_CASE_METHOD(cluster_fixture, "the activity log shows what the driver sent for a prepared statement") {
    auto sel = run(session().prepare("SELECT id, name, stock FROM shop.items WHERE id = ?")).value_or_throw();
    sim().clear_activity();
    auto b = sel.bind(7);
    b.options().consistency = cqlpp::protocol::consistency::local_quorum;
    b.options().page_size = 10;
    must(run(session().execute(b)));
    int executes = 0;
    for (int n = 0; n < 3; ++n)
        for (const auto& e : sim().activity(n)) {
            if (e.op != cqlpp::protocol::opcode::execute) continue;
            ++executes;
            CHECK(e.query == "SELECT id, name, stock FROM shop.items WHERE id = ?");  // the prepared id, resolved
            CHECK(e.consistency == cqlpp::protocol::consistency::local_quorum);
            CHECK(e.page_size == 10);
            CHECK(e.decoded_values == std::vector<std::string>{"7"});
        }
    CHECK(executes == 1);
}
