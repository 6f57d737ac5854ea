// Enumerations shared by envelopes and message bodies.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace cqlpp::protocol {

enum class protocol_version : std::uint8_t { v4 = 4, v5 = 5 };

inline bool is_supported_version(std::uint8_t v) noexcept { return v == 4 || v == 5; }

enum class opcode : std::uint8_t {
    error = 0x00,
    startup = 0x01,
    ready = 0x02,
    authenticate = 0x03,
    options = 0x05,
    supported = 0x06,
    query = 0x07,
    result = 0x08,
    prepare = 0x09,
    execute = 0x0A,
    register_ = 0x0B,
    event = 0x0C,
    batch = 0x0D,
    auth_challenge = 0x0E,
    auth_response = 0x0F,
    auth_success = 0x10,
};

// True for opcodes a client sends; false for opcodes a server sends.
// Returns nullopt for values that are not opcodes.
std::optional<bool> is_request_opcode(std::uint8_t op) noexcept;
std::string_view to_string(opcode op) noexcept;

enum class consistency : std::uint16_t {
    any = 0x0000,
    one = 0x0001,
    two = 0x0002,
    three = 0x0003,
    quorum = 0x0004,
    all = 0x0005,
    local_quorum = 0x0006,
    each_quorum = 0x0007,
    serial = 0x0008,
    local_serial = 0x0009,
    local_one = 0x000A,
};

bool is_valid_consistency(std::uint16_t v) noexcept;
std::string_view to_string(consistency c) noexcept;  // "LOCAL_QUORUM"
// Case-insensitive; accepts "LOCAL_QUORUM" and "local-quorum".
std::optional<consistency> parse_consistency(std::string_view s) noexcept;

}  // namespace cqlpp::protocol
