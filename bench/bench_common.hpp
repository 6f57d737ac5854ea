// Pieces shared by the C++ contenders of bench/run (cqlpp_bench.cpp and
// limit_client.cpp), so that both measure CPU time and run-queue wait the same way.
// Header-only: the two programs link different libraries (driver vs protocol only).
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define CQLPP_BENCH_HAVE_CALLGRIND 1
#endif

namespace cqlpp::bench {

// The process's user + system CPU seconds.
inline double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// The calling thread's run-queue wait (ns runnable but not running): field 2
// of /proc/thread-self/schedstat, a kept-open fd and one pread per reading.
// Open it on the thread it measures (thread-self resolves at open). A stall
// ticker takes this wait off its lateness, since the OS running another
// process (the sim shares the cores) is not the event loop's fault.
struct runqueue_clock {
    int fd = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    runqueue_clock() = default;
    ~runqueue_clock() {
        if (fd >= 0) ::close(fd);
    }
    runqueue_clock(const runqueue_clock&) = delete;
    runqueue_clock& operator=(const runqueue_clock&) = delete;
    bool ok() const { return fd >= 0; }
    std::int64_t wait_ns() const {
        char buf[128];
        auto n = fd >= 0 ? ::pread(fd, buf, sizeof buf - 1, 0) : -1;
        if (n <= 0) return 0;
        buf[n] = 0;
        char* end = nullptr;
        std::strtoll(buf, &end, 10);  // field 1: time on CPU
        return std::strtoll(end, nullptr, 10);
    }
};

// --ops N (bench/instr): a fixed number of answers is measured instead of a
// time window, so that callgrind's figures cover exactly `count` requests: its
// counters (instructions and calls, allocations included) are zeroed at the
// `warmup`-th answer and dumped at the (warmup + count)-th. Outside valgrind
// these requests cost nothing.
struct fixed_count {
    std::uint64_t warmup = 1, count = 0, seen = 0;
    bool enabled() const noexcept { return count > 0; }
    bool done() const noexcept { return enabled() && seen >= warmup + count; }
    // Counts one answer; false once the run should stop sending.
    bool on_answer() noexcept {
        ++seen;
        if (seen == warmup) {
#ifdef CQLPP_BENCH_HAVE_CALLGRIND
            CALLGRIND_ZERO_STATS;
#endif
        }
        if (seen == warmup + count) {
#ifdef CQLPP_BENCH_HAVE_CALLGRIND
            CALLGRIND_DUMP_STATS_AT("measured");
#endif
            return false;
        }
        return seen < warmup + count;
    }
};

}  // namespace cqlpp::bench
