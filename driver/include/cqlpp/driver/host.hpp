// A cluster node as the driver sees it: identity, location, tokens and
// liveness. Sans-I/O: the session fills these from system.local/system.peers
// and events; the pool and the policies only read them.
#pragma once

#include "cqlpp/protocol/bytes.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cqlpp::driver {

using token = std::int64_t;

// Identity, location and tokens are fixed once a host is placed in a
// token_map (a topology change builds a new host and a new map); only the
// up/down flag changes in place, so readers of a published map never race
// with writers except on that atomic.
struct host {
    protocol::uuid_bytes host_id{};
    protocol::inet_address address{};
    std::uint16_t port = 9042;
    std::string datacenter;
    std::string rack;
    std::vector<token> tokens;
    // Opaque to the driver's metadata: the session stores whatever lets the
    // pool layer find this host's pool (e.g. an index into its pool table).
    std::size_t pool_index = 0;

    host() = default;
    host(const host& o)
        : host_id(o.host_id), address(o.address), port(o.port), datacenter(o.datacenter), rack(o.rack),
          tokens(o.tokens), pool_index(o.pool_index), up_(o.is_up()) {}
    host& operator=(const host& o) {
        host_id = o.host_id;
        address = o.address;
        port = o.port;
        datacenter = o.datacenter;
        rack = o.rack;
        tokens = o.tokens;
        pool_index = o.pool_index;
        set_up(o.is_up());
        return *this;
    }

    bool is_up() const noexcept { return up_.load(std::memory_order_relaxed); }
    void set_up(bool up) noexcept { up_.store(up, std::memory_order_relaxed); }

    // "10.0.0.1:9042" / "[::1]:9042", for logs and errors.
    std::string endpoint_string() const;

private:
    std::atomic<bool> up_{true};
};

// A token as system.local/system.peers store it: a decimal int64 in text
// (the `tokens set<text>` column). Rejects signs other than '-', spaces,
// trailing junk and out-of-range values.
std::optional<token> parse_token(std::string_view text) noexcept;
// All of them, or nullopt if any is malformed. The result is sorted and
// deduplicated (a set<text> has no order the ring could rely on).
std::optional<std::vector<token>> parse_tokens(std::span<const std::string_view> texts);
std::optional<std::vector<token>> parse_tokens(std::span<const std::string> texts);

}  // namespace cqlpp::driver
