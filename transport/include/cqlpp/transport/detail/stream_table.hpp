// Stream id allocation and ownership (sans-I/O; no Asio).
//
// A bitmap of free ids, searched from a cursor that moves past the last id
// handed out, so an id freed now is the last one to be reused (the same
// rotating-start idea as cpp-driver's StreamManager). Each allocated id has an
// owner pointer; a request that times out or is cancelled ORPHANS its id: the
// id stays allocated, without an owner, until its response arrives or the
// connection dies, so a late response can never reach the next request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace cqlpp::transport::detail {

class stream_table {
public:
    static constexpr std::size_t max_streams = 32768;  // ids 0..32767 (stream -1 is for events)

    enum class slot_state : std::uint8_t { free, owned, orphaned };

    explicit stream_table(std::size_t capacity = max_streams);

    // A free id bound to `owner` (non-null), or nullopt when all are in use.
    std::optional<std::int16_t> allocate(void* owner) noexcept;
    slot_state state(std::int16_t id) const noexcept;
    void* owner(std::int16_t id) const noexcept;
    // The response for `id` arrived: frees it and returns its owner (nullptr if orphaned).
    void* release(std::int16_t id) noexcept;
    // The owner gave up waiting: keep the id allocated without owner.
    void orphan(std::int16_t id) noexcept;
    // Frees every id (the connection died), calling f(owner) for each owned one.
    template <class F>
    void release_all(F&& f);

    std::size_t capacity() const noexcept { return owners_.size(); }
    std::size_t in_use() const noexcept { return in_use_; }  // owned + orphaned
    std::size_t orphaned() const noexcept { return orphaned_; }
    std::size_t available() const noexcept { return capacity() - in_use_; }

private:
    static void* orphan_marker() noexcept;
    bool valid(std::int16_t id) const noexcept { return id >= 0 && static_cast<std::size_t>(id) < owners_.size(); }

    std::vector<std::uint64_t> free_bits_;  // 1 = free
    std::vector<void*> owners_;             // nullptr = free, orphan_marker() = orphaned
    std::size_t cursor_ = 0;                // where the next search starts
    std::size_t in_use_ = 0;
    std::size_t orphaned_ = 0;
};

template <class F>
void stream_table::release_all(F&& f) {
    for (std::size_t i = 0; i < owners_.size(); ++i) {
        void* o = owners_[i];
        if (o == nullptr) continue;
        owners_[i] = nullptr;
        free_bits_[i / 64] |= std::uint64_t(1) << (i % 64);
        if (o != orphan_marker()) f(o);
    }
    in_use_ = 0;
    orphaned_ = 0;
}

}  // namespace cqlpp::transport::detail
