// The fault suite at load (issue 11): a mixed workload (prepared reads,
// idempotent writes at QUORUM, batches, LWTs, paged scans, speculative reads
// and writes) at a few hundred requests in flight from one thread, against a
// 3-node simulated cluster (RF 3) while a scripted schedule stops, pauses,
// restarts and slows nodes, cuts responses, corrupts CRCs and injects server
// errors, several faults overlapping. Then the cluster heals and the suite
// checks what users rely on:
//   * no request receives another request's answer (every value is tagged
//     with its request's id or key, and every answer is checked);
//   * every write the driver acknowledged is there (read back at ALL);
//   * every request succeeds or fails with a reason, never "succeeds" with a
//     server ERROR, and ends within its deadline plus a small slack;
//   * in-flight and orphaned stream ids return to idle; close() is prompt.
//
// Environment:
//   CQLPP_FAULT_SECONDS    load duration (default 5; scripts/fault_suite.sh runs 60)
//   CQLPP_FAULT_IN_FLIGHT  concurrent requests (default 256)
//   CQLPP_FAULT_DEADLINE_MS  every request's deadline (default 2000)
//   CQLPP_FAULT_SLACK_MS   allowed lateness past a request's deadline (default 1000)
//   CQLPP_FAULT_SEED       workload and schedule seed (default 11)
//   CQLPP_FAULT_BASE_PORT  first port of the simulated nodes (default 21000-21999)
//   CQLPP_FAULT_PROTOCOL   4 or 5 (default): the sessions' protocol version
//   CQLPP_FAULT_LZ4        1: LZ4 compression (default 0)
//   CQLPP_FAULT_IO_THREADS sessions on N I/O threads of their own (default 0:
//                          on the test's thread)
//   CQLPP_FAULT_STRICT     1 (default): every check fails the test. 0: the two
//                          failures issue 11 reports on the current driver
//                          (acknowledged writes lost to SERVER_ERROR, requests
//                          past their deadline) are printed as warnings only.
//                          Meant for merging before the engine fix; remove then.
#include "transport_test_util.hpp"

#include "cqlpp/driver/session.hpp"

#include <asio/post.hpp>

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
// From the sanitizer runtime (GCC does not install its header).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

using namespace cqlpp::test;
namespace drv = cqlpp::driver;

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

long env_long(const char* name, long fallback) {
    const char* v = std::getenv(name);
    if (!v || !*v) return fallback;
    char* end = nullptr;
    long n = std::strtol(v, &end, 10);
    return end && *end == '\0' ? n : fallback;
}

double env_double(const char* name, double fallback) {
    const char* v = std::getenv(name);
    if (!v || !*v) return fallback;
    char* end = nullptr;
    double d = std::strtod(v, &end);
    return end && *end == '\0' && d > 0 ? d : fallback;
}

std::size_t heap_in_use() {
#if defined(__SANITIZE_ADDRESS__)
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

// Three nodes on 127.0.0.1, consecutive ports in this suite's range.
std::unique_ptr<sim::cluster> start_three_nodes() {
    const long first = env_long("CQLPP_FAULT_BASE_PORT", 21000 + (::getpid() % 50) * 20);
    for (int attempt = 0; attempt < 40; ++attempt) {
        sim::cluster_config cfg;
        cfg.topology.nodes = 3;
        cfg.topology.num_tokens = 8;
        cfg.topology.base_port = static_cast<std::uint16_t>(21000 + (first - 21000 + attempt * 20) % 1000);
        cfg.threads = 1;
        auto c = std::make_unique<sim::cluster>(cfg);
        try {
            c->start();
            return c;
        } catch (const std::system_error&) {
        }
    }
    FAIL("no free loopback ports in 21000-21999");
    return nullptr;
}

enum class op_kind { read, write, batch, lwt_new, lwt_existing, scan_page, spec_read, spec_write, count_ };
constexpr const char* op_names[] = {"read",        "write",      "batch",     "lwt_new",
                                    "lwt_existing", "scan_page", "spec_read", "spec_write"};
constexpr std::size_t op_count = static_cast<std::size_t>(op_kind::count_);

constexpr std::int64_t seeded_keys = 2000;   // fs.kv 0..1999: v = "seed-<k>"
constexpr std::int64_t lwt_seeded = 200;     // fs.lwt 0..199: v = "lwt-seed-<k>"
constexpr int wide_partitions = 8;           // fs.wide p 0..7, c 0..119: v = "p<p>c<c>"
constexpr int wide_rows = 120;
constexpr std::int32_t scan_page_size = 25;

// Everything the workers record; lives outside the io_context so that nothing
// a coroutine frame points to dies before the frame.
struct suite_state {
    milliseconds deadline{2000};
    milliseconds slack{1000};
    clock_type::time_point stop_at;
    std::int64_t next_id = 1'000'000;  // request ids, also the keys of new rows
    std::mt19937_64 rng{11};

    std::array<std::uint64_t, op_count> issued{}, ok{}, failed{};
    std::uint64_t requests_plain = 0, requests_spec = 0;  // driver-level requests issued per session
    std::map<std::string, std::uint64_t> failures_by_cause;
    std::vector<std::string> misdelivered;            // an answer that belongs to another request
    std::vector<std::string> error_as_success;        // ok() with an ERROR frame inside
    std::uint64_t error_as_success_count = 0;
    std::vector<std::string> reasonless;              // failed with an empty message
    std::vector<std::string> late;                    // over deadline + slack
    std::uint64_t late_count = 0;
    milliseconds max_latency{0};
    op_kind max_latency_op = op_kind::read;
    std::string max_latency_outcome;
    std::uint64_t lwt_applied_earlier = 0;  // LWT answered "not applied" with our own value (an earlier attempt won)
    std::uint64_t scans_complete = 0;

    std::unordered_map<std::int64_t, std::string> acked_kv;     // fs.kv k -> v
    std::unordered_map<std::int64_t, std::string> acked_lwt;    // fs.lwt k -> v
    std::unordered_map<std::int64_t, std::string> acked_batch;  // fs.b p -> v (c = 0..2)

    std::vector<std::string> faults;  // what the schedule did, in order
    int running = 0;
    std::unique_ptr<asio::steady_timer> all_done;

    void note(std::vector<std::string>& v, std::string s) {
        if (v.size() < 20) v.push_back(std::move(s));
        else if (v.size() == 20) v.push_back("...");
    }
    void count_failure(op_kind k, const drv::result& r) {
        ++failed[static_cast<std::size_t>(k)];
        const auto ec = r.error();
        ++failures_by_cause[std::string(ec.category().name()) + ": " + ec.message()];
        if (r.diag().message.empty()) note(reasonless, std::string(op_names[static_cast<int>(k)]) + " " + ec.message());
    }
    // Latency of one driver request against its deadline.
    void timed(op_kind k, clock_type::time_point t0, const drv::result& r) {
        const auto d = std::chrono::duration_cast<milliseconds>(clock_type::now() - t0);
        if (d > max_latency) {
            max_latency = d;
            max_latency_op = k;
            max_latency_outcome = r.ok() ? "ok" : r.diag().message;
        }
        if (d > deadline + slack) {
            ++late_count;
            note(late, std::string(op_names[static_cast<int>(k)]) + " took " + std::to_string(d.count()) + " ms: " +
                           (r.ok() ? std::string("ok") : r.diag().message));
        }
    }
};

bool server_error_inside(const drv::result& r) {
    return r.response() && r.response()->server_error() != nullptr;
}

std::string tag_of(std::int64_t id) { return "w" + std::to_string(id); }

// The prepared statements of one session.
struct statements {
    drv::prepared_statement read, write, batch_row, lwt, scan;
};

asio::awaitable<drv::prepared_statement> prep(drv::session& s, std::string q) {
    auto p = co_await s.prepare(q);
    INFO(q << ": " << p.diag().message);
    REQUIRE(p.ok());
    co_return p.value();
}

asio::awaitable<statements> prepare_all(drv::session& s) {
    statements st;
    st.read = co_await prep(s, "SELECT k, v FROM fs.kv WHERE k = ?");
    st.write = co_await prep(s, "INSERT INTO fs.kv (k, v) VALUES (?, ?)");
    st.batch_row = co_await prep(s, "INSERT INTO fs.b (p, c, v) VALUES (?, ?, ?)");
    st.lwt = co_await prep(s, "INSERT INTO fs.lwt (k, v) VALUES (?, ?) IF NOT EXISTS");
    st.scan = co_await prep(s, "SELECT p, c, v FROM fs.wide WHERE p = ?");
    co_return st;
}

// A read of a seeded key: the one row, with that key and its value.
void check_read(suite_state& S, op_kind k, std::int64_t key, const drv::result& r) {
    if (r.row_count() != 1) {
        S.note(S.misdelivered, std::string(op_names[static_cast<int>(k)]) + " of key " + std::to_string(key) + ": " +
                                   std::to_string(r.row_count()) + " rows");
        return;
    }
    auto row = r.first_row();
    std::int64_t got_k = -1;
    std::string got_v;
    if (row.try_get("k", got_k) || row.try_get("v", got_v) || got_k != key || got_v != "seed-" + std::to_string(key))
        S.note(S.misdelivered, std::string(op_names[static_cast<int>(k)]) + " of key " + std::to_string(key) +
                                   " answered with key " + std::to_string(got_k) + " value '" + got_v + "'");
}

// A write's answer is VOID, with no rows.
bool check_void(suite_state& S, op_kind k, std::int64_t id, const drv::result& r) {
    if (r.kind() == proto::result_kind::void_ && r.row_count() == 0) return true;
    S.note(S.misdelivered, std::string(op_names[static_cast<int>(k)]) + " " + std::to_string(id) +
                               " answered with a non-void result (" + std::to_string(r.row_count()) + " rows)");
    return false;
}

// One request of the mix; returns after its answer is checked.
// Returns how many driver requests it made (a scan makes one per page).
asio::awaitable<std::uint64_t> one_request(suite_state& S, drv::session& s, const statements& ps, op_kind k) {
    std::uint64_t driver_requests = 0;
    const auto ki = static_cast<std::size_t>(k);
    const auto q = proto::consistency::quorum;
    // True when the driver reports success (what the application acts on).
    auto finish = [&](const drv::result& r, clock_type::time_point t0) -> bool {
        ++driver_requests;
        S.timed(k, t0, r);
        if (!r.ok()) {
            S.count_failure(k, r);
            return false;
        }
        ++S.ok[ki];
        if (server_error_inside(r)) {
            ++S.error_as_success_count;
            S.note(S.error_as_success, std::string(op_names[ki]) + ": ERROR " +
                                           std::string(proto::to_string(r.response()->server_error()->code)) + " '" +
                                           r.response()->server_error()->message + "' delivered as a success");
        }
        return true;
    };
    // A read's rows are checked only when the answer is one.
    auto has_rows = [](const drv::result& r) { return !server_error_inside(r); };

    switch (k) {
    case op_kind::read:
    case op_kind::spec_read: {
        const auto key = static_cast<std::int64_t>(S.rng() % seeded_keys);
        auto b = ps.read.bind(key);
        b.options().consistency = (S.rng() & 1) ? q : proto::consistency::one;
        b.options().idempotent = true;
        ++S.issued[ki];
        const auto t0 = clock_type::now();
        auto r = co_await s.execute(b);
        if (finish(r, t0) && has_rows(r)) check_read(S, k, key, r);
        break;
    }
    case op_kind::write:
    case op_kind::spec_write: {
        const auto id = S.next_id++;
        auto v = tag_of(id);
        auto b = ps.write.bind(id, v);
        b.options().consistency = q;
        b.options().idempotent = true;
        ++S.issued[ki];
        const auto t0 = clock_type::now();
        auto r = co_await s.execute(b);
        if (finish(r, t0)) {
            S.acked_kv.emplace(id, v);
            if (has_rows(r)) check_void(S, k, id, r);
        }
        break;
    }
    case op_kind::batch: {
        const auto id = S.next_id++;
        auto v = tag_of(id);
        drv::batch bt(proto::batch_type::logged);
        for (int c = 0; c < 3; ++c) bt.add(ps.batch_row.bind(id, c, v));
        bt.options().consistency = q;
        bt.options().idempotent = true;
        ++S.issued[ki];
        const auto t0 = clock_type::now();
        auto r = co_await s.execute(bt);
        if (finish(r, t0)) {
            S.acked_batch.emplace(id, v);
            if (has_rows(r)) check_void(S, k, id, r);
        }
        break;
    }
    case op_kind::lwt_new:
    case op_kind::lwt_existing: {
        const bool fresh = k == op_kind::lwt_new;
        const auto id = S.next_id++;
        const auto key = fresh ? id : static_cast<std::int64_t>(S.rng() % lwt_seeded);
        auto v = tag_of(id);
        auto b = ps.lwt.bind(key, v);
        b.options().consistency = q;  // not idempotent: never retried after it may have run
        ++S.issued[ki];
        const auto t0 = clock_type::now();
        auto r = co_await s.execute(b);
        if (!finish(r, t0)) break;
        if (!has_rows(r)) {
            if (fresh) S.acked_lwt.emplace(key, v);  // the driver said it was done
            break;
        }
        bool applied = false;
        std::int64_t got_k = -1;
        std::string got_v;
        if (r.row_count() != 1 || r.first_row().try_get("[applied]", applied)) {
            S.note(S.misdelivered, std::string(op_names[ki]) + " " + std::to_string(key) + ": no [applied] row");
            break;
        }
        if (applied) {
            if (!fresh) S.note(S.misdelivered, "lwt on existing key " + std::to_string(key) + " answered applied");
            else S.acked_lwt.emplace(key, std::move(v));
            break;
        }
        // Not applied: the row that exists comes back, and it must be the one asked for.
        if (r.first_row().try_get("k", got_k) || r.first_row().try_get("v", got_v) || got_k != key) {
            S.note(S.misdelivered, std::string(op_names[ki]) + " " + std::to_string(key) + " answered with key " +
                                       std::to_string(got_k));
        } else if (!fresh && got_v != "lwt-seed-" + std::to_string(key)) {
            S.note(S.misdelivered, "lwt on existing key " + std::to_string(key) + " answered value '" + got_v + "'");
        } else if (fresh) {
            if (got_v == v) ++S.lwt_applied_earlier;  // our own earlier attempt applied it
            else S.note(S.misdelivered, "lwt on new key " + std::to_string(key) + " found value '" + got_v + "'");
        }
        break;
    }
    case op_kind::scan_page: {
        // A paged scan of one partition; every page is one driver request.
        const int p = static_cast<int>(S.rng() % wide_partitions);
        auto b = ps.scan.bind(p);
        b.options().page_size = scan_page_size;
        b.options().idempotent = true;
        b.options().consistency = (S.rng() & 1) ? q : proto::consistency::one;
        auto stream = s.stream(std::move(b));
        int expect_c = 0;
        auto t0 = clock_type::now();
        for (;;) {
            ++S.issued[ki];
            auto r = co_await stream.next_page();
            // The page was requested when the previous one was handed out.
            const bool good = finish(r, t0);
            t0 = clock_type::now();
            if (!good || !has_rows(r)) break;
            for (std::size_t i = 0; i < r.row_count(); ++i) {
                auto row = r.rows()[i];
                std::int64_t got_p = -1;
                std::int32_t got_c = -1;
                std::string got_v;
                if (row.try_get("p", got_p) || row.try_get("c", got_c) || row.try_get("v", got_v) || got_p != p ||
                    got_c != expect_c || got_v != "p" + std::to_string(p) + "c" + std::to_string(expect_c)) {
                    S.note(S.misdelivered, "scan of partition " + std::to_string(p) + " expected row " +
                                               std::to_string(expect_c) + ", got p=" + std::to_string(got_p) +
                                               " c=" + std::to_string(got_c) + " v='" + got_v + "'");
                    expect_c = -1000000;
                    break;
                }
                ++expect_c;
            }
            if (stream.done()) {
                if (expect_c == wide_rows) ++S.scans_complete;
                else if (expect_c >= 0)
                    S.note(S.misdelivered, "scan of partition " + std::to_string(p) + " ended after " +
                                               std::to_string(expect_c) + " rows");
                break;
            }
            if (expect_c < 0) {
                // Drain the page fetched ahead so no request outlives the stream.
                ++S.issued[ki];
                auto rest = co_await stream.next_page();
                finish(rest, t0);
                break;
            }
        }
        break;
    }
    case op_kind::count_: break;
    }
    co_return driver_requests;
}

// Plain session mix (weights out of 100) and the speculative session's.
op_kind pick_plain(std::mt19937_64& rng) {
    const auto x = rng() % 100;
    if (x < 35) return op_kind::read;
    if (x < 70) return op_kind::write;
    if (x < 82) return op_kind::batch;
    if (x < 89) return op_kind::lwt_new;
    if (x < 93) return op_kind::lwt_existing;
    return op_kind::scan_page;
}
op_kind pick_spec(std::mt19937_64& rng) { return rng() % 100 < 75 ? op_kind::spec_read : op_kind::spec_write; }

asio::awaitable<void> worker(std::shared_ptr<suite_state> S, std::shared_ptr<drv::session> s, const statements* ps,
                             bool spec) {
    std::uint64_t& issued_by_session = spec ? S->requests_spec : S->requests_plain;
    while (clock_type::now() < S->stop_at) {
        const auto k = spec ? pick_spec(S->rng) : pick_plain(S->rng);
        issued_by_session += co_await one_request(*S, *s, *ps, k);
    }
    if (--S->running == 0) S->all_done->cancel();
}

// The fault schedule of one cycle: (fraction of the cycle, action). Several
// faults overlap; at most one node is down or paused at a time, so QUORUM
// stays reachable except when errors are injected on purpose.
struct fault_step {
    double at;
    std::string what;
    std::function<void(sim::cluster&)> act;
};

std::vector<fault_step> schedule(milliseconds deadline) {
    using fe = sim::fault_error;
    const auto slow = deadline + deadline / 4;  // answers arrive after the requests gave up
    std::vector<fault_step> s;
    auto add = [&](double at, std::string what, std::function<void(sim::cluster&)> f) {
        s.push_back({at, std::move(what), std::move(f)});
    };
    add(0.00, "node 2: fail_next 50 SERVER_ERROR", [](sim::cluster& c) { c.fail_next(2, 50, fe::server_error); });
    add(0.05, "node 0: latency 150 ms", [](sim::cluster& c) { c.set_latency(0, 150ms); });
    add(0.10, "node 1: down", [](sim::cluster& c) { c.stop_node(1); });
    add(0.18, "node 2: fail_next 40 OVERLOADED", [](sim::cluster& c) { c.fail_next(2, 40, fe::overloaded); });
    add(0.25, "node 1: up", [](sim::cluster& c) { c.start_node(1); });
    add(0.28, "node 0: latency 0, close_mid_response 1", [](sim::cluster& c) {
        c.set_latency(0, 0ms);
        c.close_mid_response(0, 1);
    });
    add(0.33, "node 2: corrupt_crc 1", [](sim::cluster& c) { c.corrupt_crc(2, 1); });
    add(0.38, "node 2: down; node 0: fail_next 30 UNAVAILABLE", [](sim::cluster& c) {
        c.stop_node(2);
        c.fail_next(0, 30, fe::unavailable);
    });
    add(0.43, "node 1: close_mid_response 2", [](sim::cluster& c) { c.close_mid_response(1, 2); });
    add(0.48, "node 2: up", [](sim::cluster& c) { c.start_node(2); });
    add(0.52, "node 0: paused; node 1: fail_next 30 WRITE_TIMEOUT", [](sim::cluster& c) {
        c.pause_node(0, true);
        c.fail_next(1, 30, fe::write_timeout);
    });
    add(0.60, "node 0: resumed; node 1: latency " + std::to_string(slow.count()) + " ms",
        [slow](sim::cluster& c) {
            c.pause_node(0, false);
            c.set_latency(1, slow);
        });
    add(0.68, "node 1: latency 0; node 2: fail_next 30 READ_TIMEOUT; node 0: close_mid_response 1",
        [](sim::cluster& c) {
            c.set_latency(1, 0ms);
            c.fail_next(2, 30, fe::read_timeout);
            c.close_mid_response(0, 1);
        });
    add(0.73, "node 0: down", [](sim::cluster& c) { c.stop_node(0); });
    add(0.78, "node 0: up; node 1: corrupt_crc 1", [](sim::cluster& c) {
        c.start_node(0);
        c.corrupt_crc(1, 1);
    });
    add(0.83, "node 2: fail_next 50 SERVER_ERROR; node 1: latency 80 ms", [](sim::cluster& c) {
        c.fail_next(2, 50, fe::server_error);
        c.set_latency(1, 80ms);
    });
    add(0.88, "node 1: paused", [](sim::cluster& c) { c.pause_node(1, true); });
    add(0.94, "node 1: resumed, latency 0", [](sim::cluster& c) {
        c.pause_node(1, false);
        c.set_latency(1, 0ms);
    });
    return s;
}

void heal(sim::cluster& c) {
    for (int n = 0; n < 3; ++n) {
        if (c.state(n) != sim::node_state::up) c.pause_node(n, false);  // paused or down -> up
        c.set_latency(n, 0ms);
        c.fail_next(n, 0, sim::fault_error::overloaded);
        c.close_mid_response(n, 0);
        c.corrupt_crc(n, 0);
    }
}

asio::awaitable<void> fault_schedule(std::shared_ptr<suite_state> S, sim::cluster& c, double seconds) {
    const int cycles = std::max(1, static_cast<int>(seconds / 6.0 + 0.5));
    const auto cycle = std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds / cycles));
    const auto steps = schedule(S->deadline);
    const auto t0 = clock_type::now();
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (int i = 0; i < cycles; ++i) {
        for (const auto& st : steps) {
            const auto at = t0 + cycle * i + std::chrono::duration_cast<clock_type::duration>(cycle * st.at);
            if (at >= S->stop_at) co_return;
            t.expires_at(at);
            co_await t.async_wait(use_tuple);
            st.act(c);  // the sim's API waits for its own threads only briefly
            S->faults.push_back(st.what);
        }
    }
}

struct idle_figures {
    std::uint64_t in_flight = 0, orphaned = 0, connections = 0, up = 0;
};
idle_figures idle_of(const drv::session& s) {
    idle_figures f;
    for (const auto& h : s.metrics().hosts) {
        f.in_flight += h.pool.in_flight;
        f.orphaned += h.pool.orphaned;
        f.connections += h.pool.connections;
        f.up += h.up ? 1 : 0;
    }
    return f;
}

asio::awaitable<drv::result> run_until_ok(drv::session& s, const drv::statement& st) {
    drv::result r;
    for (int i = 0; i < 5; ++i) {
        r = co_await s.execute(st);
        if (r.ok()) break;
        co_await sleep_for(200ms);
    }
    co_return r;
}

// Reads a whole table at ALL, page by page.
asio::awaitable<bool> read_all(drv::session& s, std::string cql,
                               const std::function<void(const drv::row_view&)>& each) {
    drv::statement st(std::move(cql));
    st.options().consistency = proto::consistency::all;
    st.options().page_size = 5000;
    st.options().idempotent = true;
    for (;;) {
        auto r = co_await run_until_ok(s, st);
        INFO(r.diag().message);
        if (!r.ok()) co_return false;
        for (std::size_t i = 0; i < r.row_count(); ++i) each(r.rows()[i]);
        if (!r.has_more_pages()) co_return true;
        auto ps = r.paging_state();
        st.options().paging_state.assign(ps.begin(), ps.end());
    }
}

drv::session_config session_cfg(const sim::cluster& c, milliseconds deadline, bool speculative) {
    drv::session_config cfg;
    cfg.contact_points = c.contact_points();
    cfg.connection.connect_timeout = 2s;
    cfg.reconnect.base_delay = 50ms;
    cfg.reconnect.max_delay = 500ms;
    cfg.refresh_debounce = 50ms;
    cfg.request_timeout = deadline;
    cfg.consistency = proto::consistency::quorum;
    cfg.connection.version = env_long("CQLPP_FAULT_PROTOCOL", 5) == 4 ? proto::protocol_version::v4
                                                                       : proto::protocol_version::v5;
    cfg.connection.lz4 = env_long("CQLPP_FAULT_LZ4", 0) != 0;
    cfg.io_threads = static_cast<std::size_t>(std::clamp(env_long("CQLPP_FAULT_IO_THREADS", 0), 0L, 16L));
    if (speculative) {
        cfg.speculative.max_executions = 3;
        cfg.speculative.delay = 40ms;
    }
    return cfg;
}

__attribute__((format(printf, 1, 2))) void report(const char* fmt, ...) {
    std::va_list args;
    va_start(args, fmt);
    std::printf("fault-suite: ");
    std::vprintf(fmt, args);
    std::printf("\n");
    std::fflush(stdout);
    va_end(args);
}

}  // namespace

TEST_CASE("fault suite: mixed load through overlapping node, connection and server faults", "[driver][faults]") {
    const double seconds = env_double("CQLPP_FAULT_SECONDS", 5.0);
    const auto in_flight = static_cast<int>(std::clamp(env_long("CQLPP_FAULT_IN_FLIGHT", 256), 8L, 5000L));
    const bool strict = env_long("CQLPP_FAULT_STRICT", 1) != 0;
    auto S = std::make_shared<suite_state>();
    S->slack = milliseconds(env_long("CQLPP_FAULT_SLACK_MS", 1000));
    S->deadline = milliseconds(std::max(100L, env_long("CQLPP_FAULT_DEADLINE_MS", 2000)));
    S->rng.seed(static_cast<std::uint64_t>(env_long("CQLPP_FAULT_SEED", 11)));

    auto cluster = start_three_nodes();
    std::size_t heap_before = 0, heap_after = 0;
    idle_figures idle_plain0, idle_spec0, idle_plain1, idle_spec1;
    std::uint64_t driver_requests_plain = 0, driver_requests_spec = 0;
    std::uint64_t injected_by_sim = 0;
    std::size_t hung = 0;
    milliseconds close_plain{0}, close_spec{0}, settle_time{0};
    bool all_up = false, settled = false, read_back_ok = false;
    int negotiated = 0;
    std::size_t missing_kv = 0, missing_lwt = 0, missing_batch = 0, wrong_kv = 0, wrong_lwt = 0, wrong_batch = 0;
    std::vector<std::string> missing_examples;
    double load_seconds = 0;

    // Hard bound: the load, the drain, healing, read-back and close.
    const auto hard_bound = std::chrono::seconds(static_cast<long>(seconds) + 120) + 3 * S->deadline;
    asio::io_context ioc;
    bool finished = false;
    std::exception_ptr failure;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            auto connect = [&](bool spec) -> asio::awaitable<std::shared_ptr<drv::session>> {
                auto r = co_await drv::session::connect(ex, session_cfg(*cluster, S->deadline, spec));
                INFO(r.diag().message);
                REQUIRE_FALSE(r.error());
                co_return r.value();
            };
            auto plain = co_await connect(false);
            auto spec = co_await connect(true);
            negotiated = static_cast<int>(plain->protocol_version());

            // Schema and seed rows, before any fault.
            for (const char* ddl :
                 {"CREATE KEYSPACE fs WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
                  "CREATE TABLE fs.kv (k bigint PRIMARY KEY, v text)",
                  "CREATE TABLE fs.lwt (k bigint PRIMARY KEY, v text)",
                  "CREATE TABLE fs.b (p bigint, c int, v text, PRIMARY KEY (p, c))",
                  "CREATE TABLE fs.wide (p bigint, c int, v text, PRIMARY KEY (p, c))"}) {
                auto r = co_await plain->execute(ddl);
                INFO(ddl << ": " << r.diag().message);
                REQUIRE(r.ok());
            }
            REQUIRE((co_await spec->refresh_metadata()).ok());
            const auto ps_plain = co_await prepare_all(*plain);
            const auto ps_spec = co_await prepare_all(*spec);
            {
                std::vector<drv::bound_statement> seeds;
                for (std::int64_t k = 0; k < seeded_keys; ++k)
                    seeds.push_back(ps_plain.write.bind(k, "seed-" + std::to_string(k)));
                auto lwt_seed = co_await prep(*plain, "INSERT INTO fs.lwt (k, v) VALUES (?, ?)");
                for (std::int64_t k = 0; k < lwt_seeded; ++k)
                    seeds.push_back(lwt_seed.bind(k, "lwt-seed-" + std::to_string(k)));
                auto wide = co_await prep(*plain, "INSERT INTO fs.wide (p, c, v) VALUES (?, ?, ?)");
                for (int p = 0; p < wide_partitions; ++p)
                    for (int c = 0; c < wide_rows; ++c)
                        seeds.push_back(wide.bind(std::int64_t(p), c, "p" + std::to_string(p) + "c" + std::to_string(c)));
                latch l(ex);
                std::size_t next = 0, bad = 0;
                std::string why;
                for (int w = 0; w < 128; ++w) {
                    l.add();
                    asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
                        while (next < seeds.size()) {
                            auto& b = seeds[next++];
                            b.options().consistency = proto::consistency::all;
                            auto r = co_await plain->execute(b);
                            if (!r.ok()) {
                                ++bad;
                                why = r.diag().message;
                            }
                        }
                        l.done();
                    }, asio::detached);
                }
                REQUIRE(co_await l.wait());
                INFO(why);
                REQUIRE(bad == 0);
            }

            // Idle figures before the load.
            REQUIRE(co_await eventually([&] { return idle_of(*plain).in_flight == 0 && idle_of(*spec).in_flight == 0; }));
            idle_plain0 = idle_of(*plain);
            idle_spec0 = idle_of(*spec);
            const auto m_plain0 = plain->metrics().requests;
            const auto m_spec0 = spec->metrics().requests;
            heap_before = heap_in_use();

            // The load and the schedule.
            const auto load_start = clock_type::now();
            S->stop_at = load_start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
            S->all_done = std::make_unique<asio::steady_timer>(ex, clock_type::time_point::max());
            const int spec_workers = std::max(1, in_flight / 5);
            for (int w = 0; w < in_flight; ++w) {
                const bool sp = w < spec_workers;
                ++S->running;
                asio::co_spawn(ex, worker(S, sp ? spec : plain, sp ? &ps_spec : &ps_plain, sp), asio::detached);
            }
            asio::co_spawn(ex, fault_schedule(S, *cluster, seconds), asio::detached);

            // Drain: every request must end within its deadline plus slack of the load's end.
            asio::steady_timer wait_load(ex, S->stop_at);
            co_await wait_load.async_wait(use_tuple);
            S->all_done->expires_at(S->stop_at + S->deadline + S->slack + 2s);
            if (S->running > 0) co_await S->all_done->async_wait(use_tuple);
            load_seconds = std::chrono::duration<double>(clock_type::now() - load_start).count();
            hung = static_cast<std::size_t>(S->running);

            // Heal, then wait for both sessions to see every node with a connection.
            heal(*cluster);
            for (int n = 0; n < 3; ++n) injected_by_sim += cluster->counters(n).errors_injected;
            all_up = co_await eventually(
                [&] {
                    auto a = idle_of(*plain), b = idle_of(*spec);
                    return a.up == 3 && b.up == 3 && a.connections >= 3 && b.connections >= 3;
                },
                30s);
            if (!all_up) {
                // Which host did not come back, in which session (the check below fails).
                for (const auto* s : {plain.get(), spec.get()})
                    for (const auto& h : s->metrics().hosts)
                        report("not all up: %s session, host %s up=%d connections=%zu", s == plain.get() ? "plain" : "spec",
                               h.endpoint.c_str(), h.up ? 1 : 0, static_cast<std::size_t>(h.pool.connections));
            }
            // In-flight ids return to zero and orphaned ids are released as their late answers arrive.
            const auto settle_start = clock_type::now();
            settled = co_await eventually(
                [&] {
                    auto a = idle_of(*plain), b = idle_of(*spec);
                    return a.in_flight + b.in_flight + a.orphaned + b.orphaned == 0;
                },
                10s);
            settle_time = std::chrono::duration_cast<milliseconds>(clock_type::now() - settle_start);
            idle_plain1 = idle_of(*plain);
            idle_spec1 = idle_of(*spec);
            driver_requests_plain = plain->metrics().requests - m_plain0;
            driver_requests_spec = spec->metrics().requests - m_spec0;
            heap_after = heap_in_use();

            // Every acknowledged write, read back at ALL.
            std::unordered_map<std::int64_t, std::string> kv, lwt;
            std::unordered_map<std::int64_t, std::array<std::string, 3>> b;
            bool ok1 = co_await read_all(*plain, "SELECT k, v FROM fs.kv", [&](const drv::row_view& r) {
                kv[r.get<std::int64_t>("k")] = r.get<std::string>("v");
            });
            bool ok2 = co_await read_all(*plain, "SELECT k, v FROM fs.lwt", [&](const drv::row_view& r) {
                lwt[r.get<std::int64_t>("k")] = r.get<std::string>("v");
            });
            bool ok3 = co_await read_all(*plain, "SELECT p, c, v FROM fs.b", [&](const drv::row_view& r) {
                const auto c = r.get<std::int32_t>("c");
                if (c >= 0 && c < 3) b[r.get<std::int64_t>("p")][static_cast<std::size_t>(c)] = r.get<std::string>("v");
            });
            read_back_ok = ok1 && ok2 && ok3;
            auto missing = [&](const char* table, std::int64_t k, const std::string& want, const std::string* got) {
                if (missing_examples.size() < 10)
                    missing_examples.push_back(std::string(table) + " " + std::to_string(k) + ": acknowledged '" + want +
                                               "', read back " + (got ? "'" + *got + "'" : std::string("nothing")));
            };
            for (const auto& [k, v] : S->acked_kv) {
                auto it = kv.find(k);
                if (it == kv.end()) ++missing_kv, missing("fs.kv", k, v, nullptr);
                else if (it->second != v) ++wrong_kv, missing("fs.kv", k, v, &it->second);
            }
            for (const auto& [k, v] : S->acked_lwt) {
                auto it = lwt.find(k);
                if (it == lwt.end()) ++missing_lwt, missing("fs.lwt", k, v, nullptr);
                else if (it->second != v) ++wrong_lwt, missing("fs.lwt", k, v, &it->second);
            }
            for (const auto& [p, v] : S->acked_batch) {
                auto it = b.find(p);
                if (it == b.end()) {
                    ++missing_batch, missing("fs.b", p, v, nullptr);
                    continue;
                }
                for (const auto& got : it->second)
                    if (got != v) {
                        ++wrong_batch, missing("fs.b", p, v, &got);
                        break;
                    }
            }

            auto t0 = clock_type::now();
            co_await plain->close();
            close_plain = std::chrono::duration_cast<milliseconds>(clock_type::now() - t0);
            t0 = clock_type::now();
            co_await spec->close();
            close_spec = std::chrono::duration_cast<milliseconds>(clock_type::now() - t0);
        },
        [&](std::exception_ptr e) {
            finished = true;
            failure = e;
            ioc.stop();
        });
    ioc.run_for(hard_bound);
    S->all_done.reset();  // its io_context goes first
    REQUIRE(finished);  // nothing hangs: the whole run has a hard bound
    if (failure) std::rethrow_exception(failure);

    // ---- figures ----
    std::uint64_t issued = 0, ok = 0, failed = 0;
    for (std::size_t i = 0; i < op_count; ++i) {
        issued += S->issued[i];
        ok += S->ok[i];
        failed += S->failed[i];
    }
    report("%.1f s of load at %d in flight (%.1f s with the drain), seed %ld, deadline %lld ms + slack %lld ms",
           seconds, in_flight, load_seconds, env_long("CQLPP_FAULT_SEED", 11), (long long)S->deadline.count(),
           (long long)S->slack.count());
    report("sessions: protocol v%d (v%ld asked), lz4 %s, %ld I/O thread(s) of their own", negotiated,
           env_long("CQLPP_FAULT_PROTOCOL", 5), env_long("CQLPP_FAULT_LZ4", 0) != 0 ? "on" : "off",
           env_long("CQLPP_FAULT_IO_THREADS", 0));
    report("requests: %" PRIu64 " issued, %" PRIu64 " ok, %" PRIu64 " failed, %zu never ended", issued, ok, failed, hung);
    for (std::size_t i = 0; i < op_count; ++i)
        report("  %-13s %8" PRIu64 " issued %8" PRIu64 " ok %8" PRIu64 " failed", op_names[i], S->issued[i], S->ok[i],
               S->failed[i]);
    report("scans: %" PRIu64 " complete; LWTs found applied by an earlier attempt: %" PRIu64, S->scans_complete,
           S->lwt_applied_earlier);
    report("faults: %zu scheduled actions, %" PRIu64 " errors injected by the sim", S->faults.size(), injected_by_sim);
    for (const auto& f : S->faults) report("  %s", f.c_str());
    report("failures by cause:");
    for (const auto& [cause, n] : S->failures_by_cause) report("  %8" PRIu64 "  %s", n, cause.c_str());
    report("max latency %lld ms (%s: %s) vs deadline %lld ms; %" PRIu64 " requests over deadline + slack",
           (long long)S->max_latency.count(), op_names[static_cast<int>(S->max_latency_op)],
           S->max_latency_outcome.c_str(), (long long)S->deadline.count(), S->late_count);
    for (const auto& l : S->late) report("  late: %s", l.c_str());
    report("driver requests counted by the sessions: plain %" PRIu64 " (issued %" PRIu64 "), speculative %" PRIu64
           " (issued %" PRIu64 ")",
           driver_requests_plain, S->requests_plain, driver_requests_spec, S->requests_spec);
    report("in flight / orphaned ids before: plain %" PRIu64 "/%" PRIu64 ", spec %" PRIu64 "/%" PRIu64
           "; after (settled in %lld ms): plain %" PRIu64 "/%" PRIu64 ", spec %" PRIu64 "/%" PRIu64,
           idle_plain0.in_flight, idle_plain0.orphaned, idle_spec0.in_flight, idle_spec0.orphaned,
           (long long)settle_time.count(), idle_plain1.in_flight, idle_plain1.orphaned, idle_spec1.in_flight,
           idle_spec1.orphaned);
    report("heap in use (driver + sim in one process): before load %.1f MiB, after %.1f MiB", heap_before / 1048576.0,
           heap_after / 1048576.0);
    report("acknowledged writes: kv %zu, lwt %zu, batch %zu; missing at ALL: kv %zu, lwt %zu, batch %zu; "
           "other value: kv %zu, lwt %zu, batch %zu",
           S->acked_kv.size(), S->acked_lwt.size(), S->acked_batch.size(), missing_kv, missing_lwt, missing_batch,
           wrong_kv, wrong_lwt, wrong_batch);
    for (const auto& m : missing_examples) report("  %s", m.c_str());
    report("server ERRORs delivered as success: %" PRIu64, S->error_as_success_count);
    for (const auto& m : S->error_as_success) report("  error as success: %s", m.c_str());
    for (const auto& m : S->misdelivered) report("  wrong answer: %s", m.c_str());
    report("close(): plain %lld ms, speculative %lld ms", (long long)close_plain.count(), (long long)close_spec.count());

    // ---- checks ----
    // The load really ran through the faults.
    CHECK(negotiated == (env_long("CQLPP_FAULT_PROTOCOL", 5) == 4 ? 4 : 5));
    CHECK(S->faults.size() >= 10);
    CHECK(injected_by_sim > 0);
    CHECK(S->ok[static_cast<std::size_t>(op_kind::write)] > 0);
    CHECK(S->ok[static_cast<std::size_t>(op_kind::read)] > 0);
    CHECK(S->ok[static_cast<std::size_t>(op_kind::spec_read)] > 0);
    CHECK(S->scans_complete > 0);
    // No request got another request's answer.
    CHECK(S->misdelivered.empty());
    // Every failure carries a reason.
    CHECK(S->reasonless.empty());
    // Nothing hangs; everything is accounted for exactly once.
    CHECK(hung == 0);
    CHECK(ok + failed == issued);
    CHECK(driver_requests_plain == S->requests_plain);
    CHECK(driver_requests_spec == S->requests_spec);
    // Idle again: no request in flight, every orphaned id released.
    CHECK(all_up);
    CHECK(settled);
    CHECK(idle_plain1.in_flight == 0);
    CHECK(idle_spec1.in_flight == 0);
    CHECK(idle_plain1.orphaned == 0);
    CHECK(idle_spec1.orphaned == 0);
    CHECK(read_back_ok);
    CHECK(wrong_kv + wrong_lwt + wrong_batch == 0);
    CHECK(close_plain < 1000ms);
    CHECK(close_spec < 1000ms);
    // The two failures issue 11 reports on the current driver; CQLPP_FAULT_STRICT=0 only warns.
    const std::size_t lost = missing_kv + missing_lwt + missing_batch;
    if (strict) {
        CHECK(S->error_as_success_count == 0);  // a server ERROR is never a success
        CHECK(lost == 0);                     // every acknowledged write is there
        CHECK(S->late_count == 0);            // nothing outlives its deadline (+ slack)
    } else if (S->error_as_success_count > 0 || lost > 0 || S->late_count > 0) {
        WARN("CQLPP_FAULT_STRICT=0: tolerating " << S->error_as_success_count << " errors delivered as success, "
                                                 << lost << " lost acknowledged writes, " << S->late_count
                                                 << " requests past deadline + slack (issue 11)");
    }
}
