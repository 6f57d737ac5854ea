#include "throttle.hpp"

#include <algorithm>

namespace cqlpp::driver::detail {

request_throttle::request_throttle(const throttle_config& cfg, time_point now)
    : max_in_flight_(cfg.max_in_flight), max_queue_(cfg.max_queue_size), rate_limited_(cfg.max_per_second > 0) {
    if (rate_limited_) {
        interval_ = std::chrono::round<duration>(std::chrono::duration<double>(1.0 / cfg.max_per_second));
        if (interval_.count() <= 0) interval_ = duration(1);
        tolerance_ = interval_ * static_cast<duration::rep>(std::max<std::size_t>(cfg.rate_burst, 1) - 1);
        tat_ = now;
    }
}

bool request_throttle::may_start(time_point now) const noexcept {
    if (shared_) return true;  // decided by take_shared()
    if (max_in_flight_ > 0 && in_flight_ >= max_in_flight_) return false;
    return !rate_limited_ || now >= tat_ - tolerance_;
}

void request_throttle::take(time_point now) noexcept {
    ++in_flight_;
    if (rate_limited_ && !shared_) tat_ = std::max(tat_, now) + interval_;
}

bool request_throttle::slot_free() const noexcept {
    if (max_in_flight_ == 0) return true;
    return (shared_ ? shared_->in_flight.load(std::memory_order_relaxed) : in_flight_) < max_in_flight_;
}

bool request_throttle::take_shared(time_point now) noexcept {
    if (max_in_flight_ > 0) {
        auto cur = shared_->in_flight.load(std::memory_order_relaxed);
        do {
            if (cur >= max_in_flight_) return false;
        } while (!shared_->in_flight.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
    }
    if (rate_limited_) {
        const auto n = now.time_since_epoch().count();
        auto cur = shared_->tat.load(std::memory_order_relaxed);
        for (;;) {
            if (n < cur - tolerance_.count()) {
                if (max_in_flight_ > 0) shared_->in_flight.fetch_sub(1, std::memory_order_relaxed);
                return false;
            }
            const auto next = std::max(cur, n) + interval_.count();
            if (shared_->tat.compare_exchange_weak(cur, next, std::memory_order_relaxed)) break;
        }
    }
    return true;
}

bool request_throttle::try_start(time_point now) {
    if (oldest_ || !may_start(now)) return false;
    if (shared_ && !take_shared(now)) return false;
    take(now);
    return true;
}

bool request_throttle::enqueue(throttle_waiter& w, time_point now) {
    if (heap_.size() >= max_queue_) {
        ++stats_.rejected;
        return false;
    }
    w.queued_at = now;
    w.prev = newest_;
    w.next = nullptr;
    if (newest_) newest_->next = &w;
    else oldest_ = &w;
    newest_ = &w;
    heap_.push_back(&w);
    place(heap_.size() - 1, &w);
    sift_up(heap_.size() - 1);
    ++stats_.queued;
    return true;
}

void request_throttle::release() noexcept {
    if (in_flight_ == 0) return;
    --in_flight_;
    if (shared_ && max_in_flight_ > 0) shared_->in_flight.fetch_sub(1, std::memory_order_relaxed);
}

throttle_waiter* request_throttle::pop_ready(time_point now) {
    if (!oldest_ || !may_start(now)) return nullptr;
    if (shared_ && !take_shared(now)) return nullptr;
    auto* w = oldest_;
    unlink(*w, now);
    take(now);
    return w;
}

throttle_waiter* request_throttle::pop_expired(time_point now) {
    if (heap_.empty() || heap_.front()->deadline > now) return nullptr;
    auto* w = heap_.front();
    unlink(*w, now);
    ++stats_.expired;
    return w;
}

throttle_waiter* request_throttle::pop_front(time_point now) {
    auto* w = oldest_;
    if (w) unlink(*w, now);
    return w;
}

void request_throttle::remove(throttle_waiter& w, time_point now) {
    if (w.queued()) unlink(w, now);
}

std::optional<request_throttle::time_point> request_throttle::next_wake(time_point now) const {
    if (heap_.empty()) return std::nullopt;
    time_point wake = heap_.front()->deadline;
    if (shared_) {
        // The other shards' releases and starts do not reach this queue: look
        // again soon, or when the rate allows, whichever is later.
        time_point again = now + shared_poll;  // every slot is taken
        if (slot_free()) {
            const time_point slot{duration(shared_->tat.load(std::memory_order_relaxed)) - tolerance_};
            again = rate_limited_ ? std::max(now, slot) : now;
        }
        return std::min(wake, again);
    }
    if (slot_free()) {
        // Only the rate can hold the oldest back (or nothing: it may start now).
        const time_point slot = rate_limited_ ? std::max(now, tat_ - tolerance_) : now;
        wake = std::min(wake, slot);
    }
    return wake;
}

throttle_metrics request_throttle::metrics() const {
    auto m = stats_;
    m.queue_depth = heap_.size();
    m.in_flight = in_flight_;
    return m;
}

void request_throttle::unlink(throttle_waiter& w, time_point now) {
    if (w.prev) w.prev->next = w.next;
    else oldest_ = w.next;
    if (w.next) w.next->prev = w.prev;
    else newest_ = w.prev;
    w.prev = w.next = nullptr;

    const std::size_t i = w.heap_index;
    const std::size_t last = heap_.size() - 1;
    if (i != last) {
        auto* moved = heap_[last];
        place(i, moved);
        heap_.pop_back();
        // The moved waiter may belong above or below its new place.
        sift_up(i);
        sift_down(moved->heap_index);
    } else {
        heap_.pop_back();
    }
    w.heap_index = throttle_waiter::not_queued;
    stats_.total_delay += std::chrono::duration_cast<std::chrono::nanoseconds>(now - w.queued_at);
}

void request_throttle::sift_up(std::size_t i) noexcept {
    while (i > 0) {
        const std::size_t parent = (i - 1) / 2;
        if (!earlier(i, parent)) break;
        auto* up = heap_[i];
        place(i, heap_[parent]);
        place(parent, up);
        i = parent;
    }
}

void request_throttle::sift_down(std::size_t i) noexcept {
    const std::size_t n = heap_.size();
    while (true) {
        std::size_t best = i;
        const std::size_t l = 2 * i + 1, r = 2 * i + 2;
        if (l < n && earlier(l, best)) best = l;
        if (r < n && earlier(r, best)) best = r;
        if (best == i) return;
        auto* down = heap_[i];
        place(i, heap_[best]);
        place(best, down);
        i = best;
    }
}

}  // namespace cqlpp::driver::detail
