// Request throttling (session_config::throttle): the sans-I/O core on a
// made-up clock, then the session against the simulated cluster.
#include "transport_test_util.hpp"
#include "session_test_util.hpp"

#include "throttle.hpp"

#include "cqlpp/driver/session.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include <algorithm>
#include <deque>
#include <random>
#include <vector>

using namespace cqlpp::test;
namespace drv = cqlpp::driver;
using drv::detail::request_throttle;
using drv::detail::throttle_waiter;
using tp = std::chrono::steady_clock::time_point;

namespace {

drv::throttle_config limits(std::size_t in_flight, double per_second, std::size_t queue, std::size_t burst = 1) {
    drv::throttle_config c;
    c.max_in_flight = in_flight;
    c.max_per_second = per_second;
    c.max_queue_size = queue;
    c.rate_burst = burst;
    return c;
}

// What the engine does with a new request: start it, else queue it, else refuse it.
enum class verdict { start, queued, full };
verdict admit(request_throttle& t, throttle_waiter& w, tp now) {
    if (t.try_start(now)) return verdict::start;
    return t.enqueue(w, now) ? verdict::queued : verdict::full;
}

throttle_waiter waiter(tp deadline) {
    throttle_waiter w;
    w.deadline = deadline;
    return w;
}

}  // namespace

TEST_CASE("throttle core: shards sharing their limits hold them for the session", "[driver][throttle][shards]") {
    const tp t0{};
    auto shared = std::make_shared<drv::detail::shared_throttle>(t0);
    request_throttle a(limits(2, 0, 10), t0), b(limits(2, 0, 10), t0);
    a.share(shared);
    b.share(shared);
    std::vector<throttle_waiter> w(4, waiter(t0 + 10s));
    CHECK(admit(a, w[0], t0) == verdict::start);
    CHECK(admit(b, w[1], t0) == verdict::start);
    CHECK(admit(b, w[2], t0) == verdict::queued);  // two in flight in the session
    CHECK(admit(a, w[3], t0) == verdict::queued);
    CHECK(shared->in_flight == 2);
    // b's waiter is held by the session's limit: b looks again in a moment.
    CHECK(b.next_wake(t0) == t0 + request_throttle::shared_poll);
    CHECK(b.pop_ready(t0) == nullptr);
    // A's request ends: the slot is the session's, b's waiter may take it.
    a.release();
    CHECK(shared->in_flight == 1);
    CHECK(b.next_wake(t0) == t0);
    CHECK(b.pop_ready(t0) == &w[2]);
    CHECK(a.pop_ready(t0) == nullptr);
    b.release();
    CHECK(a.pop_ready(t0) == &w[3]);
    CHECK(a.metrics().in_flight == 1);
    CHECK(b.metrics().in_flight == 1);
    a.release();
    b.release();
    CHECK(shared->in_flight == 0);

    // A rate shared by two shards: 10 per second in all.
    auto rate = std::make_shared<drv::detail::shared_throttle>(t0);
    request_throttle c(limits(0, 10, 10), t0), d(limits(0, 10, 10), t0);
    c.share(rate);
    d.share(rate);
    std::vector<throttle_waiter> v(3, waiter(t0 + 10s));
    CHECK(admit(c, v[0], t0) == verdict::start);
    CHECK(admit(d, v[1], t0) == verdict::queued);
    CHECK(d.next_wake(t0) == t0 + 100ms);
    CHECK(d.pop_ready(t0 + 99ms) == nullptr);
    CHECK(d.pop_ready(t0 + 100ms) == &v[1]);
    CHECK(admit(c, v[2], t0 + 150ms) == verdict::queued);
    CHECK(c.pop_ready(t0 + 200ms) == &v[2]);
}

TEST_CASE("throttle core: concurrency limit, FIFO queue, full queue", "[driver][throttle]") {
    const tp t0{};
    request_throttle t(limits(2, 0, 3), t0);
    std::vector<throttle_waiter> w(6, waiter(t0 + 10s));
    CHECK(admit(t, w[0], t0) == verdict::start);
    CHECK(admit(t, w[1], t0) == verdict::start);
    CHECK(admit(t, w[2], t0) == verdict::queued);
    CHECK(admit(t, w[3], t0) == verdict::queued);
    CHECK(admit(t, w[4], t0) == verdict::queued);
    CHECK(admit(t, w[5], t0) == verdict::full);
    CHECK(t.in_flight() == 2);
    CHECK(t.queue_depth() == 3);
    CHECK(t.pop_ready(t0) == nullptr);  // both slots taken
    CHECK(t.next_wake(t0) == t0 + 10s);  // only the deadline: slots come back with release()

    t.release();
    CHECK(t.pop_ready(t0 + 1s) == &w[2]);  // oldest first
    CHECK(t.pop_ready(t0 + 1s) == nullptr);
    CHECK(t.in_flight() == 2);
    CHECK_FALSE(w[2].queued());
    // A newcomer never overtakes a waiter, even with a free slot.
    t.release();
    throttle_waiter late = waiter(t0 + 10s);
    CHECK(admit(t, late, t0 + 2s) == verdict::queued);
    CHECK(t.pop_ready(t0 + 2s) == &w[3]);
    t.remove(w[4], t0 + 3s);  // cancelled
    CHECK(t.pop_front(t0 + 3s) == &late);
    CHECK(t.pop_front(t0 + 3s) == nullptr);

    const auto m = t.metrics();
    CHECK(m.queued == 4);
    CHECK(m.rejected == 1);
    CHECK(m.queue_depth == 0);
    CHECK(m.in_flight == 2);
    // w2 waited 1 s, w3 2 s, w4 3 s, late 1 s.
    CHECK(m.total_delay == std::chrono::seconds(7));
}

TEST_CASE("throttle core: waiters expire in deadline order, whatever their queue order", "[driver][throttle]") {
    const tp t0{};
    request_throttle t(limits(1, 0, 100), t0);
    throttle_waiter running = waiter(t0 + 1h);
    REQUIRE(admit(t, running, t0) == verdict::start);
    std::vector<int> deadlines_ms = {50, 10, 40, 10, 30, 20, 60};
    std::vector<throttle_waiter> w;
    for (int d : deadlines_ms) w.push_back(waiter(t0 + std::chrono::milliseconds(d)));
    for (auto& x : w) REQUIRE(admit(t, x, t0) == verdict::queued);
    CHECK(t.next_wake(t0) == t0 + 10ms);
    CHECK(t.pop_expired(t0 + 9ms) == nullptr);
    std::vector<int> order;
    while (auto* x = t.pop_expired(t0 + 35ms)) order.push_back(static_cast<int>(x - w.data()));
    CHECK(order.size() == 4);  // the 10, 10, 20, 30 ms ones
    for (int i : order) CHECK(deadlines_ms[static_cast<std::size_t>(i)] <= 35);
    CHECK(t.next_wake(t0 + 35ms) == t0 + 40ms);
    // The FIFO skipped the expired ones: the oldest left is the 50 ms one.
    t.release();
    CHECK(t.pop_ready(t0 + 36ms) == &w[0]);
    CHECK(t.metrics().expired == 4);
}

TEST_CASE("throttle core: the rate spaces starts evenly, with the burst allowed after idling", "[driver][throttle]") {
    const tp t0{};
    SECTION("burst 1: one start every 10 ms at 100/s") {
        request_throttle t(limits(0, 100, 1000), t0);
        std::vector<throttle_waiter> w(20, waiter(t0 + 1h));
        CHECK(admit(t, w[0], t0) == verdict::start);
        for (std::size_t i = 1; i < w.size(); ++i) REQUIRE(admit(t, w[i], t0) == verdict::queued);
        for (std::size_t i = 1; i < w.size(); ++i) {
            const auto slot = t0 + std::chrono::milliseconds(10 * i);
            CHECK(t.next_wake(slot - 1ms) == slot);
            CHECK(t.pop_ready(slot - 1us) == nullptr);
            CHECK(t.pop_ready(slot) == &w[i]);
        }
    }
    SECTION("burst 3 at 100/s: three at once, then every 10 ms; idling refills it") {
        request_throttle b(limits(0, 100, 1000, 3), t0);
        std::vector<throttle_waiter> w(5, waiter(t0 + 1h));
        CHECK(admit(b, w[0], t0) == verdict::start);
        CHECK(admit(b, w[1], t0) == verdict::start);
        CHECK(admit(b, w[2], t0) == verdict::start);
        CHECK(admit(b, w[3], t0) == verdict::queued);
        CHECK(b.next_wake(t0) == t0 + 10ms);
        CHECK(b.pop_ready(t0 + 10ms) == &w[3]);
        CHECK(admit(b, w[4], t0 + 10ms) == verdict::queued);
        CHECK(b.pop_ready(t0 + 20ms) == &w[4]);
        // A second later the burst is back, no more.
        std::vector<throttle_waiter> x(4, waiter(t0 + 1h));
        for (int i = 0; i < 3; ++i) CHECK(admit(b, x[static_cast<std::size_t>(i)], t0 + 1s) == verdict::start);
        CHECK(admit(b, x[3], t0 + 1s) == verdict::queued);
    }
    SECTION("rate and concurrency together: a free rate slot does not start a request without a free slot") {
        request_throttle t(limits(1, 100, 10), t0);
        std::vector<throttle_waiter> w(2, waiter(t0 + 1h));
        CHECK(admit(t, w[0], t0) == verdict::start);
        CHECK(admit(t, w[1], t0) == verdict::queued);
        CHECK(t.pop_ready(t0 + 50ms) == nullptr);
        CHECK(t.next_wake(t0 + 50ms) == t0 + 1h);  // only a release helps now
        t.release();
        CHECK(t.pop_ready(t0 + 50ms) == &w[1]);
    }
}

TEST_CASE("throttle core: random admits, removals, expiries and starts match a plain model", "[driver][throttle]") {
    std::mt19937 rng(7);
    const tp t0{};
    request_throttle t(limits(3, 0, 40), t0);
    std::vector<throttle_waiter> pool(2000);
    std::deque<throttle_waiter*> model;  // FIFO of waiters
    std::size_t next = 0, running = 0;
    tp now = t0;
    for (int step = 0; step < 20000 && next < pool.size(); ++step) {
        now += std::chrono::milliseconds(rng() % 3);
        switch (rng() % 5) {
            case 0:
            case 1: {
                auto& w = pool[next++];
                w.deadline = now + std::chrono::milliseconds(rng() % 200);
                const auto v = admit(t, w, now);
                if (model.empty() && running < 3) {
                    REQUIRE(v == verdict::start);
                    ++running;
                } else if (model.size() >= 40) {
                    REQUIRE(v == verdict::full);
                } else {
                    REQUIRE(v == verdict::queued);
                    model.push_back(&w);
                }
                break;
            }
            case 2:
                if (running > 0) {
                    t.release();
                    --running;
                    while (auto* w = t.pop_ready(now)) {
                        REQUIRE(!model.empty());
                        REQUIRE(w == model.front());
                        model.pop_front();
                        ++running;
                    }
                }
                break;
            case 3:
                if (!model.empty()) {
                    auto it = model.begin() + static_cast<std::ptrdiff_t>(rng() % model.size());
                    t.remove(**it, now);
                    model.erase(it);
                }
                break;
            default: {
                tp earliest = tp::max();
                for (auto* w : model) earliest = std::min(earliest, w->deadline);
                auto* w = t.pop_expired(now);
                if (earliest <= now) {
                    REQUIRE(w != nullptr);
                    REQUIRE(w->deadline == earliest);
                    model.erase(std::find(model.begin(), model.end(), w));
                } else {
                    REQUIRE(w == nullptr);
                }
            }
        }
        REQUIRE(t.queue_depth() == model.size());
        REQUIRE(t.in_flight() == running);
        for (auto* w : model) REQUIRE(w->queued());
    }
}

// ---- the session against the simulated cluster ------------------------------------

namespace {

drv::session_config throttled_cfg(const sim::cluster& c) {
    drv::session_config cfg;
    cfg.contact_points = {"127.0.0.1:" + std::to_string(c.topo().node(0).config.port)};
    cfg.connection.connect_timeout = 10s;
    cfg.refresh_debounce = 20ms;
    return cfg;
}

// ks.t with k = 0..9 and its SELECT by key, prepared.
asio::awaitable<drv::prepared_statement> table(drv::session& s) {
    co_await ok(s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    co_await ok(s, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)");
    for (int k = 0; k < 10; ++k) co_await ok(s, "INSERT INTO ks.t (k, v) VALUES (" + std::to_string(k) + ", " + std::to_string(k) + ")");
    co_return co_await prepare(s, "SELECT v FROM ks.t WHERE k = ?");
}

std::uint64_t executes(const sim::cluster& c) { return c.counters(0).requests_of(proto::opcode::execute); }

using ms = std::chrono::milliseconds;
ms since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() - t0);
}

}  // namespace

TEST_CASE("throttle: 50 concurrent requests never have more than max_in_flight at the server, and all succeed",
          "[driver][throttle]") {
    auto cc = nodes(1);
    cc.activity_log_capacity = 200;
    auto cluster = start_cluster(cc);
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = throttled_cfg(*cluster);
        cfg.throttle.max_in_flight = 4;
        auto s = co_await open(ex, cfg);
        auto sel = co_await table(*s);
        constexpr auto latency = 50ms;
        cluster->clear_activity();
        cluster->set_latency(0, latency);

        constexpr int n = 50;
        latch done(ex);
        done.add(n);
        int succeeded = 0;
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < n; ++i)
            asio::co_spawn(
                ex,
                [&, i]() -> asio::awaitable<void> {
                    auto r = co_await s->execute(sel.bind(i % 10));
                    INFO(r.diag().message);
                    if (r.ok() && r.first_row().get<std::int32_t>(0) == i % 10) ++succeeded;
                    done.done();
                },
                asio::detached);
        // The driver's view while they run: what the throttle let through and
        // what the connection pool has outstanding.
        std::size_t most_let_through = 0, most_on_the_wire = 0, deepest_queue = 0;
        while (done.pending > 0 && since(t0) < 20s) {
            const auto m = s->metrics();
            most_let_through = std::max(most_let_through, m.throttle.in_flight);
            deepest_queue = std::max(deepest_queue, m.throttle.queue_depth);
            std::size_t wire = 0;
            for (const auto& h : m.hosts) wire += h.pool.in_flight;
            most_on_the_wire = std::max(most_on_the_wire, wire);
            co_await sleep_for(2ms);
        }
        REQUIRE(co_await done.wait(20s));
        const auto elapsed = since(t0);
        cluster->set_latency(0, 0ms);
        CHECK(succeeded == n);
        CHECK(most_let_through <= 4);
        CHECK(most_on_the_wire <= 4);
        CHECK(deepest_queue >= 40);  // sampled after the first 4 started: the rest waited
        // 13 rounds of at most 4, each answered no sooner than the latency.
        CHECK(elapsed >= 13 * latency);

        // The server's view: every request is answered `latency` after it
        // arrives and the next may only be sent once an answer is in, so any
        // requests that arrived within `latency` of each other were all
        // outstanding at once. (A window 2 ms short of it only errs low.)
        std::vector<std::chrono::system_clock::time_point> arrivals;
        for (const auto& e : cluster->activity(0))
            if (e.op == proto::opcode::execute) arrivals.push_back(e.received);
        std::sort(arrivals.begin(), arrivals.end());
        CHECK(arrivals.size() == std::size_t(n));
        std::size_t most_at_once = 0;
        for (std::size_t i = 0; i < arrivals.size(); ++i) {
            std::size_t k = i;
            while (k < arrivals.size() && arrivals[k] < arrivals[i] + latency - 2ms) ++k;
            most_at_once = std::max(most_at_once, k - i);
        }
        INFO("most requests arriving within " << latency.count() << " ms: " << most_at_once);
        CHECK(most_at_once <= 4);
        CHECK(most_at_once >= 2);  // the limit, not a lone request at a time

        const auto m = s->metrics();
        CHECK(m.throttle.queue_depth == 0);
        CHECK(m.throttle.in_flight == 0);
        CHECK(m.throttle.queued >= 40);
        CHECK(m.throttle.rejected == 0);
        // 46 waits of up to 12 rounds each: well over a second in all.
        CHECK(m.throttle.total_delay >= 1s);
        co_await s->close();
    });
}

TEST_CASE("throttle: a full queue fails exactly the overflow at once with request_throttled", "[driver][throttle]") {
    auto cluster = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = throttled_cfg(*cluster);
        cfg.throttle.max_in_flight = 4;
        cfg.throttle.max_queue_size = 10;
        auto s = co_await open(ex, cfg);
        auto sel = co_await table(*s);
        cluster->set_latency(0, 200ms);
        const auto before = executes(*cluster);

        constexpr int n = 20;
        latch done(ex);
        done.add(n);
        std::vector<drv::result> results(n);
        std::vector<ms> took(n);
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < n; ++i)
            asio::co_spawn(
                ex,
                [&, i]() -> asio::awaitable<void> {
                    results[static_cast<std::size_t>(i)] = co_await s->execute(sel.bind(i % 10));
                    took[static_cast<std::size_t>(i)] = since(t0);
                    done.done();
                },
                asio::detached);
        REQUIRE(co_await done.wait(20s));
        cluster->set_latency(0, 0ms);

        // Started in order: 4 run, 10 wait, the last 6 find the queue full.
        for (int i = 0; i < n; ++i) {
            const auto& r = results[static_cast<std::size_t>(i)];
            INFO("request " << i << ": " << r.diag().message);
            if (i < 14) {
                CHECK(r.ok());
            } else {
                CHECK(r.error() == drv::errc::request_throttled);
                CHECK(r.error() == drv::condition::overloaded);
                CHECK(drv::is_retryable(r.error()));
                CHECK(r.diag().message == "request throttled: queue of 10 full");
                CHECK(took[static_cast<std::size_t>(i)] < 150ms);  // at once, not after the others' answers
            }
        }
        CHECK(executes(*cluster) - before == 14);
        const auto m = s->metrics();
        CHECK(m.throttle.rejected == 6);
        CHECK(m.throttle.queued == 10);
        co_await s->close();
    });
}

TEST_CASE("throttle: a queued request whose deadline passes fails with the timeout by its deadline, never sent",
          "[driver][throttle][timeout]") {
    auto cluster = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = throttled_cfg(*cluster);
        cfg.throttle.max_in_flight = 1;
        auto s = co_await open(ex, cfg);
        auto sel = co_await table(*s);
        cluster->set_latency(0, 400ms);
        const auto before = executes(*cluster);
        const auto timeouts_before = s->metrics().timeouts;

        bool first_done = false;
        drv::result first;
        asio::co_spawn(
            ex,
            [&]() -> asio::awaitable<void> {
                first = co_await s->execute(sel.bind(1));
                first_done = true;
            },
            asio::detached);
        auto q = sel.bind(2);
        q.options().timeout = 100ms;
        const auto t0 = std::chrono::steady_clock::now();
        auto r = co_await s->execute(q);
        const auto waited = since(t0);
        INFO(r.diag().message);
        CHECK(r.error() == drv::errc::request_timeout);
        CHECK(r.diag().message.find("waiting in the throttle queue") != std::string::npos);
        CHECK(waited >= 100ms);
        CHECK(waited < 300ms);  // at its deadline, long before the slot came free
        CHECK_FALSE(first_done);
        auto m = s->metrics();
        CHECK(m.throttle.queue_depth == 0);
        CHECK(m.throttle.expired == 1);
        CHECK(m.timeouts == timeouts_before + 1);

        REQUIRE(co_await eventually([&] { return first_done; }, 5s));
        CHECK(first.ok());
        co_await sleep_for(50ms);
        CHECK(executes(*cluster) - before == 1);  // the expired one never reached the server
        cluster->set_latency(0, 0ms);
        co_await s->close();
    });
}

TEST_CASE("throttle: 200 requests per second: N requests take at least (N - 1) / 200 s", "[driver][throttle]") {
    auto cluster = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = throttled_cfg(*cluster);
        cfg.throttle.max_per_second = 200;
        auto s = co_await open(ex, cfg);
        auto sel = co_await table(*s);
        constexpr int n = 60;
        latch done(ex);
        done.add(n);
        int succeeded = 0;
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < n; ++i)
            asio::co_spawn(
                ex,
                [&, i]() -> asio::awaitable<void> {
                    if ((co_await s->execute(sel.bind(i % 10))).ok()) ++succeeded;
                    done.done();
                },
                asio::detached);
        REQUIRE(co_await done.wait(20s));
        const auto elapsed = since(t0);
        INFO(elapsed.count() << " ms");
        CHECK(succeeded == n);
        // The first may start at once, each other 5 ms after the one before.
        CHECK(elapsed >= 295ms);
        CHECK(elapsed < 5s);  // generous: a loaded machine only adds
        co_await s->close();
    });
}

TEST_CASE("throttle: cancelling a queued request takes it out of the queue", "[driver][throttle]") {
    auto cluster = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto cfg = throttled_cfg(*cluster);
        cfg.throttle.max_in_flight = 1;
        auto s = co_await open(ex, cfg);
        auto sel = co_await table(*s);
        cluster->set_latency(0, 300ms);
        const auto before = executes(*cluster);

        bool first_done = false;
        asio::co_spawn(
            ex,
            [&]() -> asio::awaitable<void> {
                auto r = co_await s->execute(sel.bind(1));
                CHECK(r.ok());
                first_done = true;
            },
            asio::detached);
        co_await sleep_for(10ms);

        // Given up on after 50 ms by the caller's race.
        auto q = sel.bind(2);
        asio::steady_timer give_up(ex, 50ms);
        auto raced = co_await (s->execute(q) || give_up.async_wait(asio::use_awaitable));
        CHECK(raced.index() == 1);
        CHECK(s->metrics().throttle.queue_depth == 0);

        // Cancelled through the handler's slot: the caller gets `cancelled`.
        asio::cancellation_signal cancel;
        std::optional<drv::result> got;
        auto q2 = sel.bind(3);
        asio::co_spawn(ex, s->execute(q2),
                       asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr, drv::result r) { got = std::move(r); }));
        co_await sleep_for(20ms);
        CHECK(s->metrics().throttle.queue_depth == 1);
        cancel.emit(asio::cancellation_type::terminal);
        REQUIRE(co_await eventually([&] { return got.has_value(); }, 2s));
        CHECK(got->error() == cqlpp::transport::errc::cancelled);
        CHECK(got->error() == drv::condition::cancelled);
        CHECK(got->diag().message == "request cancelled while waiting in the throttle queue");
        CHECK(s->metrics().throttle.queue_depth == 0);
        CHECK_FALSE(first_done);

        REQUIRE(co_await eventually([&] { return first_done; }, 5s));
        co_await sleep_for(50ms);
        CHECK(executes(*cluster) - before == 1);  // neither cancelled request was sent
        CHECK(s->metrics().throttle.in_flight == 0);
        cluster->set_latency(0, 0ms);
        // The slot is free again: a request now starts at once.
        CHECK((co_await s->execute(sel.bind(4))).ok());
        co_await s->close();
    });
}

TEST_CASE("throttle: close() fails the queued requests at once; the one in flight completes", "[driver][throttle]") {
    auto cluster = start_cluster(nodes(1));
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        auto cfg = throttled_cfg(*cluster);
        cfg.throttle.max_in_flight = 1;
        auto s = co_await open(ex, cfg);
        auto sel = co_await table(*s);
        cluster->set_latency(0, 300ms);
        const auto before = executes(*cluster);

        constexpr int n = 4;
        std::vector<std::optional<drv::result>> results(n);
        std::vector<ms> took(n);
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < n; ++i)
            asio::co_spawn(
                ex,
                [&, i]() -> asio::awaitable<void> {
                    auto r = co_await s->execute(sel.bind(i));
                    took[static_cast<std::size_t>(i)] = since(t0);
                    results[static_cast<std::size_t>(i)] = std::move(r);
                },
                asio::detached);
        co_await sleep_for(20ms);
        CHECK(s->metrics().throttle.queue_depth == 3);
        co_await s->close();
        for (int i = 0; i < n; ++i) {
            INFO("request " << i);
            REQUIRE(results[static_cast<std::size_t>(i)].has_value());
        }
        CHECK(results[0]->ok());
        CHECK(took[0] >= 300ms);
        for (int i = 1; i < n; ++i) {
            const auto& r = *results[static_cast<std::size_t>(i)];
            INFO("request " << i << ": " << r.diag().message);
            CHECK(r.error() == drv::errc::session_closed);
            CHECK(took[static_cast<std::size_t>(i)] < 250ms);  // at close(), not after the drain
        }
        CHECK(executes(*cluster) - before == 1);
        // After close, a request fails as on any closed session.
        auto late = co_await s->execute(sel.bind(1));
        CHECK(late.error() == drv::errc::session_closed);
        cluster->set_latency(0, 0ms);
    });
}

TEST_CASE("throttle: max_in_flight holds for a session on two I/O threads, not per shard", "[driver][throttle][shards]") {
    auto cc = nodes(1);
    cc.activity_log_capacity = 200;
    auto cluster = start_cluster(cc);
    auto cfg = throttled_cfg(*cluster);
    cfg.io_threads = 2;
    cfg.throttle.max_in_flight = 4;
    auto r = drv::session::connect_future(cfg).get();
    INFO(r.diag().message);
    REQUIRE(r.ok());
    auto s = r.value();
    REQUIRE(s->shard_count() == 2);
    constexpr auto latency = 50ms;
    cluster->clear_activity();
    cluster->set_latency(0, latency);

    // From this thread the requests are spread over both shards.
    constexpr int n = 40;
    const std::string q = "SELECT release_version FROM system.local";
    std::vector<std::future<drv::result>> fs;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) fs.push_back(s->async_execute(drv::statement(q), asio::use_future));
    int succeeded = 0;
    for (auto& f : fs) succeeded += f.get().ok() ? 1 : 0;
    const auto elapsed = since(t0);
    cluster->set_latency(0, 0ms);
    CHECK(succeeded == n);
    CHECK(elapsed >= 10 * latency);  // 10 rounds of at most 4 in the session

    // The server's view, as in the single-shard test above.
    std::vector<std::chrono::system_clock::time_point> arrivals;
    for (const auto& e : cluster->activity(0))
        if (e.op == proto::opcode::query && e.query == q) arrivals.push_back(e.received);
    std::sort(arrivals.begin(), arrivals.end());
    CHECK(arrivals.size() == std::size_t(n));
    std::size_t most_at_once = 0;
    for (std::size_t i = 0; i < arrivals.size(); ++i) {
        std::size_t k = i;
        while (k < arrivals.size() && arrivals[k] < arrivals[i] + latency - 2ms) ++k;
        most_at_once = std::max(most_at_once, k - i);
    }
    INFO("most requests arriving within " << latency.count() << " ms: " << most_at_once);
    CHECK(most_at_once <= 4);
    const auto m = s->metrics();
    CHECK(m.throttle.in_flight == 0);
    CHECK(m.throttle.queued >= 30);
    s->async_close(asio::use_future).get();
}
