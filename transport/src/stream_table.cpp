#include "cqlpp/transport/detail/stream_table.hpp"

#include <algorithm>

namespace cqlpp::transport::detail {

stream_table::stream_table(std::size_t capacity) {
    capacity = std::clamp<std::size_t>(capacity, 1, max_streams);
    owners_.assign(capacity, nullptr);
    free_bits_.assign((capacity + 63) / 64, ~std::uint64_t(0));
    if (capacity % 64) free_bits_.back() = (std::uint64_t(1) << (capacity % 64)) - 1;
}

void* stream_table::orphan_marker() noexcept {
    static char marker;
    return &marker;
}

std::optional<std::int16_t> stream_table::allocate(void* owner) noexcept {
    if (in_use_ == owners_.size() || owner == nullptr) return std::nullopt;
    const std::size_t words = free_bits_.size();
    std::size_t w = cursor_ / 64;
    // First word: only ids at or after the cursor; then whole words, wrapping
    // around to the cursor's word again (its low part).
    std::uint64_t bits = free_bits_[w] & (~std::uint64_t(0) << (cursor_ % 64));
    for (std::size_t step = 0; step <= words; ++step) {
        if (bits) {
            const std::size_t id = w * 64 + static_cast<std::size_t>(__builtin_ctzll(bits));
            free_bits_[w] &= ~(std::uint64_t(1) << (id % 64));
            owners_[id] = owner;
            ++in_use_;
            cursor_ = id + 1 == owners_.size() ? 0 : id + 1;
            return static_cast<std::int16_t>(id);
        }
        w = (w + 1) % words;
        bits = free_bits_[w];
    }
    return std::nullopt;  // unreachable while in_use_ < capacity
}

stream_table::slot_state stream_table::state(std::int16_t id) const noexcept {
    if (!valid(id) || owners_[id] == nullptr) return slot_state::free;
    return owners_[id] == orphan_marker() ? slot_state::orphaned : slot_state::owned;
}

void* stream_table::owner(std::int16_t id) const noexcept {
    if (!valid(id) || owners_[id] == orphan_marker()) return nullptr;
    return owners_[id];
}

void* stream_table::release(std::int16_t id) noexcept {
    if (!valid(id) || owners_[id] == nullptr) return nullptr;
    void* o = owners_[id];
    owners_[id] = nullptr;
    free_bits_[id / 64] |= std::uint64_t(1) << (id % 64);
    --in_use_;
    if (o == orphan_marker()) {
        --orphaned_;
        return nullptr;
    }
    return o;
}

void stream_table::orphan(std::int16_t id) noexcept {
    if (!valid(id) || owners_[id] == nullptr || owners_[id] == orphan_marker()) return;
    owners_[id] = orphan_marker();
    ++orphaned_;
}

}  // namespace cqlpp::transport::detail
