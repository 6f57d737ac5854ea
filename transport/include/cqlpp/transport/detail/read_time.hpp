#pragma once
// While a connection hands out the answers of one socket read, the time that
// read completed: completions read it instead of the clock (one clock read per
// batch of answers, not one per answer).
#include <chrono>

namespace cqlpp::transport::detail {

inline thread_local std::chrono::steady_clock::time_point current_read_time{};

// Sets current_read_time for a scope with no suspension point in it.
class read_time_scope {
public:
    explicit read_time_scope(std::chrono::steady_clock::time_point t) noexcept : saved_(current_read_time) {
        current_read_time = t;
    }
    ~read_time_scope() { current_read_time = saved_; }
    read_time_scope(const read_time_scope&) = delete;
    read_time_scope& operator=(const read_time_scope&) = delete;

private:
    std::chrono::steady_clock::time_point saved_;
};

// The time of the read being handed out, or now when there is none or it is
// older than `not_before`.
inline std::chrono::steady_clock::time_point answer_time(std::chrono::steady_clock::time_point not_before) noexcept {
    const auto t = current_read_time;
    return t >= not_before ? t : std::chrono::steady_clock::now();
}

}  // namespace cqlpp::transport::detail
