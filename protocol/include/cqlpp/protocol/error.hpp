// Error codes of the protocol layer.
//
// Decoders never throw on wire data: they report one of these codes.
// `errc::need_more_data` is not a failure, it means "feed me more bytes".
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace cqlpp::protocol {

enum class errc : int {
    ok = 0,
    need_more_data,          // incremental decoder: not enough bytes yet (not a failure)

    // Primitive reader
    truncated,               // a field runs past the end of its message
    trailing_bytes,          // bytes left over after a complete message / value
    negative_length,         // a length field is negative where that is not allowed
    length_too_large,        // a length field exceeds a configured bound
    bad_vint,                // malformed [vint] / [unsigned vint]
    bad_inet,                // [inet] with an address size other than 4 or 16
    bad_consistency,         // unknown [consistency] value

    // Envelopes
    bad_version,             // version byte names no protocol we speak
    version_mismatch,        // envelope version differs from the negotiated one
    bad_direction,           // request where a response was expected, or the reverse
    unknown_opcode,          // opcode not defined by the protocol
    unexpected_opcode,       // valid opcode, but not valid in this direction / state
    envelope_too_large,      // body length above the configured maximum
    bad_flags,               // envelope flags the decoder cannot honour

    // Segments (v5 framing)
    bad_header_crc,          // CRC24 of a segment header does not match
    bad_payload_crc,         // CRC32 of a segment payload does not match
    segment_too_large,       // payload or uncompressed length above 131071
    bad_segment_sequence,    // self-contained segment while a large envelope is being reassembled, etc.
    incomplete_envelope,     // self-contained segment payload ends in the middle of an envelope

    // Compression
    compression_error,       // LZ4 data is corrupt or decompresses to the wrong size
    uncompressed_too_large,  // announced uncompressed length above the configured bound

    // Type system
    unknown_type_option,     // [option] id not defined by the protocol
    type_nesting_too_deep,   // type or value nested deeper than the decoder allows
    bad_type_name,           // text form of a type cannot be parsed
    bad_custom_type,         // custom/marshal class string cannot be parsed

    // Values
    bad_value_size,          // wrong byte count for a fixed-size type
    bad_value,               // value bytes are invalid for the type (e.g. bad UTF-8 in text)
    null_not_allowed,        // null where the encoding forbids it (e.g. vector element)
    bad_literal,             // text literal cannot be parsed for the type
    value_out_of_range,      // literal or native value does not fit the CQL type
    type_mismatch,           // value does not match the CQL type it is encoded as

    // Messages
    bad_result_kind,         // RESULT kind not defined by the protocol
    bad_error_code,          // ERROR body with fields that do not match its code
    bad_event,               // EVENT body with an unknown type or change
    bad_message,             // any other structural error in a message body
};

const std::error_category& protocol_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), protocol_category()};
}

// Short, stable name of an error code ("bad_header_crc"), for logs and tools.
std::string_view to_string(errc e) noexcept;

}  // namespace cqlpp::protocol

template <>
struct std::is_error_code_enum<cqlpp::protocol::errc> : std::true_type {};
