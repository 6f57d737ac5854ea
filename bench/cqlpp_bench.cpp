// bench/run's cqlpp contender: the driver's own session API, prepared
// statements, N coroutines keeping N requests in flight. --threads T runs T
// io_contexts on T threads and ONE session over them (a shard per thread:
// session::connect with T executors); each thread's workers issue their
// requests on their own thread, so they stay on its shard. The concurrency is
// split between the threads. --rate R (read/write/mix) runs open loop:
// request i of a global schedule is due at start + i/R, at most N in flight,
// and latency counts from the due time (coordinated omission corrected).
// Prints one JSON line (bench/README.md).
#include "cqlpp/driver/session.hpp"

#include "bench_common.hpp"

#include <CLI/CLI.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <deque>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace drv = cqlpp::driver;
namespace proto = cqlpp::protocol;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
using cqlpp::bench::cpu_seconds;
using cqlpp::bench::runqueue_clock;

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// Log-linear histogram of microseconds with 1/128 relative precision.
struct histogram {
    static constexpr int sub_bits = 7;
    std::vector<std::uint64_t> counts = std::vector<std::uint64_t>(64 << sub_bits);
    std::uint64_t n = 0;
    double max = 0;
    static int index(std::uint64_t v) {
        if (v < (1u << sub_bits)) return static_cast<int>(v);
        int msb = 63 - std::countl_zero(v);
        int shift = msb - sub_bits;
        return ((shift + 1) << sub_bits) + static_cast<int>((v >> shift) & ((1u << sub_bits) - 1));
    }
    static double value(int i) {
        if (i < (1 << sub_bits)) return i;
        int shift = (i >> sub_bits) - 1;
        std::uint64_t lo = ((1ull << sub_bits) | static_cast<std::uint64_t>(i & ((1 << sub_bits) - 1))) << shift;
        return static_cast<double>(lo) + static_cast<double>(1ull << shift) / 2;
    }
    void record_ns(std::int64_t ns) {
        auto v = static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0) / 100);  // 0.1 µs units
        ++counts[static_cast<std::size_t>(std::min<int>(index(v), static_cast<int>(counts.size()) - 1))];
        ++n;
        max = std::max(max, static_cast<double>(ns) / 1000.0);
    }
    void merge(const histogram& o) {
        for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
        n += o.n;
        max = std::max(max, o.max);
    }
    double percentile_us(double q) const {
        if (n == 0) return 0;
        auto rank = static_cast<std::uint64_t>(q * static_cast<double>(n));
        if (rank >= n) rank = n - 1;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts.size(); ++i) {
            seen += counts[i];
            if (seen > rank) return std::min(value(static_cast<int>(i)) / 10.0, max);
        }
        return max;
    }
};

// VmHWM, not ru_maxrss: the latter keeps the RSS of whatever forked us.
long peak_rss_kib() {
    FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    long kib = 0;
    while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
    std::fclose(f);
    return kib;
}

struct options {
    std::string hosts = "127.0.0.1:9042";
    std::string keyspace = "bench";
    std::string workload = "read";
    int concurrency = 64;
    double seconds = 3;
    double warmup = 0.5;
    long rows = 100000;
    int page_size = 5000;
    int threads = 1;
    bool lz4 = false;
    int protocol = 5;
    double rate = 0;  // requests/s over all shards; 0: closed loop
    long ops = 0;          // > 0: measure exactly this many answers (bench/instr), not a time window
    long warmup_ops = 2000;
};

// Shared between shards: when to start and stop measuring.
struct timeline {
    clock_type::time_point start;  // fixed rate: request i is due at start + i/rate
    clock_type::time_point measure_from;
    clock_type::time_point stop_at;
};

struct shard_result {
    histogram lat;
    histogram service;      // fixed rate: from the actual send (lat: from the due time)
    histogram ticker;       // stall workload: tick lateness
    histogram ticker_loop;  // the lateness not explained by run-queue wait
    bool runqueue_known = false;
    std::uint64_t ops = 0, errors = 0, rows = 0, ticks = 0, ticks_over_2ms = 0, loop_ticks_over_2ms = 0;
    std::uint64_t issued = 0, late_starts = 0;  // fixed rate: all requests sent; measured ones sent > 1 ms late
    std::string first_error;
    cqlpp::bench::fixed_count fixed;  // --ops
};

// What a worker sends: its workload's bound statement, rebound per request (no
// allocation for the values), and for the mix a second one for the writes.
// Kept small: a worker's frame is application memory per request in flight,
// which the memory-per-request figure includes.
struct request_maker {
    request_maker(const drv::prepared_statement& read, const drv::prepared_statement& write, const options& o,
                  unsigned seed)
        : rng(seed), key(0, std::max<long>(o.rows - 1, 0)), writes(o.workload == "write"),
          main(writes ? write.bind_empty() : read.bind_empty()) {
        if (o.workload == "mix") mixed = std::make_unique<drv::bound_statement>(write.bind_empty());
    }
    // One shared 100-byte value: what is written does not matter, its size does.
    static drv::blob_view blob() {
        static const auto bytes = [] {
            std::array<std::byte, 100> b{};
            std::minstd_rand r(7);
            for (auto& x : b) x = static_cast<std::byte>(r());
            return b;
        }();
        return drv::blob_view(bytes.data(), bytes.size());
    }
    const drv::bound_statement& next() {
        const auto k = static_cast<std::int32_t>(key(rng));
        drv::bound_statement& b = mixed && rng() % 10 == 0 ? *mixed : main;
        b.clear();
        b.set(0, k);
        if (&b == mixed.get() || writes) b.set(1, blob());
        return b;
    }
    std::minstd_rand rng;
    std::uniform_int_distribution<long> key;
    bool writes;
    drv::bound_statement main;
    std::unique_ptr<drv::bound_statement> mixed;
};

// Counts a measured answer as an op or an error (keeping the first error).
bool counted_ok(shard_result& r, const drv::result& res) {
    if (!res.ok()) {
        ++r.errors;
        if (r.first_error.empty()) r.first_error = res.diag().message;
        return false;
    }
    ++r.ops;
    return true;
}

asio::awaitable<void> worker(std::shared_ptr<drv::session> s, const drv::prepared_statement& read,
                             const drv::prepared_statement& write, const options& o, const timeline& tl, shard_result& r,
                             unsigned seed, int* running, asio::steady_timer* done) {
    request_maker m(read, write, o, seed);
    while (clock_type::now() < tl.stop_at && !r.fixed.done()) {
        const auto& b = m.next();
        const auto t0 = clock_type::now();
        auto res = co_await s->execute(b);
        const auto t1 = clock_type::now();
        if (r.fixed.enabled()) {
            r.fixed.on_answer();
            if (r.fixed.seen > r.fixed.warmup && r.fixed.seen <= r.fixed.warmup + r.fixed.count) counted_ok(r, res);
            continue;
        }
        if (t0 < tl.measure_from || t1 > tl.stop_at || !counted_ok(r, res)) continue;
        r.lat.record_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    }
    if (--*running == 0) done->cancel();
}

// Fixed rate: the shard's requests are slots shard, shard+T, shard+2T.. of the
// global schedule (due at start + slot/rate). As in the limit client, ONE timer
// per shard paces them: when a slot is due it goes to an idle worker, or waits
// in the backlog while all N are busy (sent as soon as one is free, its latency
// still counted from its due time).
struct pacer {
    std::uint64_t next = 0;  // the shard's next slot, in shard-local numbering
    std::uint64_t shard = 0, shards = 1;
    double rate = 1;
    clock_type::time_point due(const timeline& tl, std::uint64_t j) const {
        const double at = static_cast<double>(j * shards + shard) / rate;
        return tl.start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(at));
    }
    std::deque<clock_type::time_point> backlog;  // due, not yet sent
    std::vector<asio::steady_timer*> idle;        // workers waiting for a slot
    bool over = false;                            // no more slots

    void wake_one() {
        if (idle.empty()) return;
        idle.back()->cancel();
        idle.pop_back();
    }
};

asio::awaitable<void> pace_slots(const timeline& tl, pacer& p) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        const auto due = p.due(tl, p.next++);
        // Slots due after the end are not sent; nor is a backlog left at the
        // end (those count as unissued).
        if (due >= tl.stop_at || clock_type::now() >= tl.stop_at) break;
        if (clock_type::now() < due) {
            timer.expires_at(due);
            co_await timer.async_wait(use_tuple);
        }
        p.backlog.push_back(due);
        p.wake_one();
    }
    p.over = true;
    p.backlog.clear();
    while (!p.idle.empty()) p.wake_one();
}

asio::awaitable<void> paced_worker(std::shared_ptr<drv::session> s, const drv::prepared_statement& read,
                                   const drv::prepared_statement& write, const options& o, const timeline& tl,
                                   shard_result& r, pacer& p, unsigned seed, int* running, asio::steady_timer* done) {
    request_maker m(read, write, o, seed);
    asio::steady_timer slot(co_await asio::this_coro::executor);
    for (;;) {
        while (p.backlog.empty() && !p.over) {
            p.idle.push_back(&slot);
            slot.expires_at(asio::steady_timer::time_point::max());
            co_await slot.async_wait(use_tuple);
        }
        if (p.backlog.empty()) break;
        const auto due = p.backlog.front();
        p.backlog.pop_front();
        const auto& b = m.next();
        const auto t0 = clock_type::now();
        auto res = co_await s->execute(b);
        const auto t1 = clock_type::now();
        ++r.issued;
        // Measured: answered within the window, whenever due (a backlog from
        // the warm-up counts, with its whole wait).
        if (t1 < tl.measure_from || t1 > tl.stop_at) continue;
        if (t0 - due > 1ms) ++r.late_starts;
        if (!counted_ok(r, res)) continue;
        r.lat.record_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - due).count());
        r.service.record_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    }
    if (--*running == 0) done->cancel();
}

asio::awaitable<void> scanner(std::shared_ptr<drv::session> s, const options& o, const timeline& tl, shard_result& r,
                              bool* stop_flag, int* running, asio::steady_timer* done) {
    bool first_pass = true;
    while (first_pass || clock_type::now() < tl.stop_at) {
        first_pass = false;
        drv::statement q("SELECT k, v FROM kv");
        q.options().page_size = o.page_size;
        auto stream = s->stream(std::move(q));
        while (!stream.done()) {
            const auto t0 = clock_type::now();
            auto page = co_await stream.next_page();
            const auto t1 = clock_type::now();
            if (!page.ok()) {
                ++r.errors;
                if (r.first_error.empty()) r.first_error = page.diag().message;
                break;
            }
            r.rows += page.row_count();
            // Touch every cell, as an application would.
            for (auto row : page.rows()) {
                std::int32_t k = 0;
                if (row.try_get(0, k)) ++r.errors;
            }
            if (o.workload == "scan") {
                ++r.ops;
                r.lat.record_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
            }
        }
        if (stop_flag && *stop_flag) break;
    }
    if (--*running == 0) done->cancel();
}

// The run-queue wait over each tick's interval is subtracted from its lateness:
// what remains is the loop's own doing, not the OS giving the CPU to another
// process (the sim shares the cores). One pread per tick.
asio::awaitable<void> ticker(asio::any_io_executor ex, const timeline& tl, shard_result& r, bool* stop) {
    asio::steady_timer t(ex);
    runqueue_clock rq;
    r.runqueue_known = rq.ok();
    while (!*stop && clock_type::now() < tl.stop_at) {
        const auto w0 = rq.wait_ns();
        const auto due = clock_type::now() + 1ms;
        t.expires_at(due);
        co_await t.async_wait(use_tuple);
        const auto woke = clock_type::now();
        const auto w1 = rq.wait_ns();
        if (woke >= tl.measure_from) {
            const auto late = std::chrono::duration_cast<std::chrono::nanoseconds>(woke - due).count();
            const auto loop_late = std::max<std::int64_t>(0, late - (w1 - w0));
            r.ticker.record_ns(late);
            r.ticker_loop.record_ns(loop_late);
            if (late > 2'000'000) ++r.ticks_over_2ms;
            if (loop_late > 2'000'000) ++r.loop_ticks_over_2ms;
            ++r.ticks;
        }
    }
}

// The one session every thread shares, once connected (or the reason it is not).
struct shared_session {
    std::shared_ptr<drv::session> s;
    std::atomic<int> state{0};  // 0 connecting, 1 connected, -1 failed
    std::atomic<int> finished{0};  // threads whose workers are done
};

drv::session_config session_cfg(const options& o) {
    drv::session_config cfg;
    cfg.contact_points.clear();
    std::stringstream ss(o.hosts);
    for (std::string h; std::getline(ss, h, ',');) cfg.contact_points.push_back(h);
    cfg.keyspace = o.keyspace;
    cfg.consistency = proto::consistency::one;
    cfg.connection.lz4 = o.lz4;
    if (o.protocol == 4) cfg.connection.version = proto::protocol_version::v4;
    cfg.page_size = o.page_size;
    cfg.client_timestamps = true;
    return cfg;
}

// One thread: its io_context (the session's shard there) and its share of the concurrency.
void run_shard(const options& o, asio::io_context& io, shared_session& shared, int index, int concurrency,
               std::atomic<int>& ready, std::atomic<bool>& go, timeline& tl, shard_result& r, std::string& fatal) {
    pacer pace;
    pace.shard = static_cast<std::uint64_t>(index);
    pace.shards = static_cast<std::uint64_t>(o.threads);
    pace.rate = o.rate;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            while (shared.state.load() == 0) {
                asio::steady_timer t(io, 1ms);
                co_await t.async_wait(use_tuple);
            }
            if (shared.state.load() < 0) {
                ++ready;
                ++shared.finished;
                co_return;
            }
            auto s = shared.s;
            // Prepared from this thread: on this thread's shard.
            auto rp = co_await s->prepare("SELECT v FROM kv WHERE k = ?");
            auto wp = co_await s->prepare("INSERT INTO kv (k, v) VALUES (?, ?)");
            if (!rp.ok() || !wp.ok()) {
                fatal = "prepare: " + (rp.ok() ? wp.diag().message : rp.diag().message);
                ++ready;
                ++shared.finished;
                co_return;
            }
            ++ready;
            while (!go.load()) {
                asio::steady_timer t(io, 1ms);
                co_await t.async_wait(use_tuple);
            }
            int running = 0;
            bool stop_scan = false;
            bool stop_ticker = false;
            asio::steady_timer done(io, asio::steady_timer::time_point::max());
            if (o.workload == "scan") {
                if (index == 0) {
                    ++running;
                    asio::co_spawn(io, scanner(s, o, tl, r, nullptr, &running, &done), asio::detached);
                }
            } else {
                const bool paced = o.rate > 0 && o.workload != "stall";
                for (int i = 0; i < concurrency; ++i) {
                    ++running;
                    const auto seed = static_cast<unsigned>(index * 100003 + i + 1);
                    if (paced)
                        asio::co_spawn(io, paced_worker(s, rp.value(), wp.value(), o, tl, r, pace, seed, &running, &done),
                                       asio::detached);
                    else
                        asio::co_spawn(io, worker(s, rp.value(), wp.value(), o, tl, r, seed, &running, &done),
                                       asio::detached);
                }
                if (paced) asio::co_spawn(io, pace_slots(tl, pace), asio::detached);
                if (o.workload == "stall" && index == 0) {
                    ++running;
                    asio::co_spawn(io, scanner(s, o, tl, r, &stop_scan, &running, &done), asio::detached);
                    asio::co_spawn(io, ticker(io.get_executor(), tl, r, &stop_ticker), asio::detached);
                }
            }
            if (running > 0) co_await done.async_wait(use_tuple);
            stop_scan = true;
            stop_ticker = true;
            ++shared.finished;
        },
        asio::detached);
    io.run();
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    CLI::App app{"cqlpp contender for bench/run"};
    app.add_option("--hosts", o.hosts);
    app.add_option("--keyspace", o.keyspace);
    app.add_option("--workload", o.workload)->check(CLI::IsMember({"read", "write", "mix", "scan", "stall"}));
    app.add_option("--concurrency", o.concurrency);
    app.add_option("--seconds", o.seconds);
    app.add_option("--warmup", o.warmup);
    app.add_option("--rows", o.rows);
    app.add_option("--page-size", o.page_size);
    app.add_option("--threads", o.threads)->check(CLI::Range(1, 256));
    app.add_flag("--lz4", o.lz4);
    app.add_option("--protocol", o.protocol)->check(CLI::IsMember({4, 5}));
    app.add_option("--ops", o.ops, "measure exactly N answers after --warmup-ops (one thread, closed loop; for bench/instr)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--warmup-ops", o.warmup_ops)->check(CLI::PositiveNumber);
    app.add_option("--rate", o.rate, "fixed rate, requests/s over all threads (read/write/mix); 0: closed loop")
        ->check(CLI::NonNegativeNumber);
    CLI11_PARSE(app, argc, argv);
    if (o.workload == "scan") o.threads = 1;
    if (o.workload == "scan" || o.workload == "stall") o.rate = 0;
    if (o.ops > 0 && (o.threads != 1 || o.rate > 0 || o.workload == "scan" || o.workload == "stall")) {
        std::cerr << "cqlpp_bench: --ops needs --threads 1, a closed loop and read, write or mix\n";
        return 2;
    }

    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    timeline tl;
    std::vector<shard_result> results(static_cast<std::size_t>(o.threads));
    std::vector<std::string> fatal(static_cast<std::size_t>(o.threads));
    std::vector<std::thread> threads;
    std::vector<std::unique_ptr<asio::io_context>> ios;
    std::vector<asio::any_io_executor> executors;
    for (int i = 0; i < o.threads; ++i) {
        ios.push_back(std::make_unique<asio::io_context>());
        executors.push_back(ios.back()->get_executor());
    }
    shared_session shared;
    for (int i = 0; i < o.threads; ++i) {
        int share = o.concurrency / o.threads + (i < o.concurrency % o.threads ? 1 : 0);
        results[static_cast<std::size_t>(i)].fixed.count = static_cast<std::uint64_t>(o.ops);
        results[static_cast<std::size_t>(i)].fixed.warmup = static_cast<std::uint64_t>(o.warmup_ops);
        threads.emplace_back([&, i, share] {
            run_shard(o, *ios[static_cast<std::size_t>(i)], shared, i, share, ready, go, tl,
                      results[static_cast<std::size_t>(i)], fatal[static_cast<std::size_t>(i)]);
        });
    }
    // Connected from this thread, once, over every thread's executor.
    {
        asio::io_context cio;
        auto f = asio::co_spawn(cio, drv::session::connect(executors, session_cfg(o)), asio::use_future);
        cio.run();
        auto c = f.get();
        if (c.ok()) {
            shared.s = c.value();
            shared.state = 1;
        } else {
            fatal[0] = "connect: " + c.diag().message;
            shared.state = -1;
        }
    }
    // Waits for every thread's workers, closes the session, stops the loops.
    const auto join_all = [&] {
        while (shared.finished.load() < o.threads) std::this_thread::sleep_for(1ms);
        if (shared.s) {
            asio::io_context cio;
            asio::co_spawn(cio, shared.s->close(), asio::detached);
            cio.run();
            shared.s.reset();
        }
        for (auto& io : ios) io->stop();
        for (auto& t : threads) t.join();
    };
    while (ready.load() < o.threads) std::this_thread::sleep_for(1ms);
    for (const auto& f : fatal)
        if (!f.empty()) {
            std::cerr << "cqlpp_bench: " << f << "\n";
            go = true;
            join_all();
            return 1;
        }
    const auto start = clock_type::now();
    tl.start = start;
    double cpu0 = 0, cpu1 = 0, elapsed = 0;
    if (o.ops > 0) {
        // Counted, not timed: the whole run's CPU and time (instructions are what bench/instr reads).
        tl.measure_from = start;
        tl.stop_at = clock_type::time_point::max();
        cpu0 = cpu_seconds();
        go = true;
        join_all();
        cpu1 = cpu_seconds();
        elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    } else {
        tl.measure_from = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.warmup));
        tl.stop_at = tl.measure_from + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.seconds));
        go = true;
        std::this_thread::sleep_until(tl.measure_from);
        cpu0 = cpu_seconds();
        std::this_thread::sleep_until(tl.stop_at);
        cpu1 = cpu_seconds();
        join_all();
        // Fixed rate: the nominal window, which the measured requests' due times span exactly.
        elapsed = o.rate > 0 ? o.seconds
                             : std::max(o.seconds, std::chrono::duration<double>(std::min(clock_type::now(), tl.stop_at) - tl.measure_from).count());
    }

    shard_result all;
    for (auto& r : results) {
        all.lat.merge(r.lat);
        all.service.merge(r.service);
        all.ticker.merge(r.ticker);
        all.ticker_loop.merge(r.ticker_loop);
        all.runqueue_known = all.runqueue_known || r.runqueue_known;
        all.ticks_over_2ms += r.ticks_over_2ms;
        all.loop_ticks_over_2ms += r.loop_ticks_over_2ms;
        all.issued += r.issued;
        all.late_starts += r.late_starts;
        all.ops += r.ops;
        all.errors += r.errors;
        all.rows += r.rows;
        all.ticks += r.ticks;
        if (all.first_error.empty()) all.first_error = r.first_error;
    }
    if (!all.first_error.empty()) std::cerr << "cqlpp_bench: first error: " << all.first_error << "\n";
    const double cpu = cpu1 - cpu0;
    char buf[2048];
    int n = std::snprintf(buf, sizeof buf,
                          "{\"contender\": \"cqlpp\", \"mode\": \"%s\", \"workload\": \"%s\", \"concurrency\": %d, "
                          "\"ops\": %llu, \"errors\": %llu, \"seconds\": %.3f, \"ops_per_s\": %.1f, \"p50_us\": %.1f, "
                          "\"p99_us\": %.1f, \"p999_us\": %.1f, \"max_us\": %.1f, \"cpu_s\": %.3f, \"ops_per_cpu_s\": %.1f, "
                          "\"peak_rss_kib\": %ld, \"threads\": %d",
                          o.threads == 1 ? "1thread" : "per-core", o.workload.c_str(), o.concurrency,
                          static_cast<unsigned long long>(all.ops), static_cast<unsigned long long>(all.errors), elapsed,
                          static_cast<double>(all.ops) / elapsed, all.lat.percentile_us(0.5), all.lat.percentile_us(0.99),
                          all.lat.percentile_us(0.999), all.lat.max, cpu, cpu > 0 ? static_cast<double>(all.ops) / cpu : 0.0,
                          peak_rss_kib(), o.threads + 1);
    std::string out(buf, static_cast<std::size_t>(n));
    if (o.workload == "scan" || o.workload == "stall") {
        n = std::snprintf(buf, sizeof buf, ", \"rows\": %llu, \"rows_per_s\": %.1f", static_cast<unsigned long long>(all.rows),
                          static_cast<double>(all.rows) / elapsed);
        out.append(buf, static_cast<std::size_t>(n));
    }
    if (o.workload == "stall") {
        n = std::snprintf(buf, sizeof buf,
                          ", \"ticker_max_delay_ms\": %.3f, \"ticker_p99_delay_ms\": %.3f, \"ticks\": %llu, "
                          "\"ticks_over_2ms\": %llu",
                          all.ticker.max / 1000.0, all.ticker.percentile_us(0.99) / 1000.0,
                          static_cast<unsigned long long>(all.ticks), static_cast<unsigned long long>(all.ticks_over_2ms));
        out.append(buf, static_cast<std::size_t>(n));
        if (all.runqueue_known)
            n = std::snprintf(buf, sizeof buf,
                              ", \"ticker_loop_max_ms\": %.3f, \"ticker_loop_p99_ms\": %.3f, \"loop_ticks_over_2ms\": %llu",
                              all.ticker_loop.max / 1000.0, all.ticker_loop.percentile_us(0.99) / 1000.0,
                              static_cast<unsigned long long>(all.loop_ticks_over_2ms));
        else
            n = std::snprintf(buf, sizeof buf,
                              ", \"ticker_loop_max_ms\": null, \"ticker_loop_p99_ms\": null, \"loop_ticks_over_2ms\": null");
        out.append(buf, static_cast<std::size_t>(n));
    }
    if (o.rate > 0) {
        // Slots due before the end that were never sent: the backlog left.
        const double due_slots = std::ceil(o.rate * (o.warmup + o.seconds));
        n = std::snprintf(buf, sizeof buf,
                          ", \"rate\": %.1f, \"achieved_rate\": %.1f, \"late_starts\": %llu, \"unissued\": %.0f, "
                          "\"service_p50_us\": %.1f, \"service_p99_us\": %.1f, \"service_p999_us\": %.1f",
                          o.rate, static_cast<double>(all.ops) / elapsed,
                          static_cast<unsigned long long>(all.late_starts),
                          std::max(0.0, due_slots - static_cast<double>(all.issued)), all.service.percentile_us(0.5),
                          all.service.percentile_us(0.99), all.service.percentile_us(0.999));
    } else {
        n = std::snprintf(buf, sizeof buf, ", \"rate\": 0");
    }
    out.append(buf, static_cast<std::size_t>(n));
    std::cout << out << "}" << std::endl;
    return 0;
}
