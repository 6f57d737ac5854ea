#pragma once
// CRC-32 (the zlib/IEEE polynomial) for v5 segment payloads: carry-less
// multiplication folding where the CPU has PCLMULQDQ, zlib otherwise.
#include <cstddef>
#include <cstdint>

namespace cqlpp::protocol::detail {

// zlib's crc32() contract: takes and returns the finished CRC, so calls chain.
std::uint32_t crc32_update(std::uint32_t crc, const std::uint8_t* data, std::size_t n) noexcept;

// The zlib path only (tests compare the two).
std::uint32_t crc32_update_portable(std::uint32_t crc, const std::uint8_t* data, std::size_t n) noexcept;

}  // namespace cqlpp::protocol::detail
