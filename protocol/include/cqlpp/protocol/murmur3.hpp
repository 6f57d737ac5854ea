// Murmur3 tokens exactly as Cassandra's Murmur3Partitioner computes them.
#pragma once

#include "cqlpp/protocol/bytes.hpp"

#include <cstdint>
#include <limits>
#include <span>

namespace cqlpp::protocol {

inline constexpr std::int64_t min_token = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t max_token = std::numeric_limits<std::int64_t>::max();

// The first 64 bits (h1) of Cassandra's MurmurHash3_x64_128 with seed 0.
// Cassandra's variant sign-extends the tail bytes; so does this one.
std::int64_t murmur3_h1(bytes_view key) noexcept;

// The token of a serialized partition key: the empty key is the minimum
// token, and a hash equal to the minimum token is moved to the maximum
// (the minimum is reserved for the ring's start).
std::int64_t murmur3_token(bytes_view key) noexcept;

// Serializes a composite partition key: each component as a 2-byte
// big-endian length, the bytes, and a 0x00 end-of-component byte.
void composite_key(std::span<const bytes_view> components, byte_buffer& out);

}  // namespace cqlpp::protocol
