#include "cqlpp/protocol/error.hpp"

#include <string>

namespace cqlpp::protocol {

std::string_view to_string(errc e) noexcept {
    switch (e) {
        case errc::ok: return "ok";
        case errc::need_more_data: return "need_more_data";
        case errc::truncated: return "truncated";
        case errc::trailing_bytes: return "trailing_bytes";
        case errc::negative_length: return "negative_length";
        case errc::length_too_large: return "length_too_large";
        case errc::bad_vint: return "bad_vint";
        case errc::bad_inet: return "bad_inet";
        case errc::bad_consistency: return "bad_consistency";
        case errc::bad_version: return "bad_version";
        case errc::version_mismatch: return "version_mismatch";
        case errc::bad_direction: return "bad_direction";
        case errc::unknown_opcode: return "unknown_opcode";
        case errc::unexpected_opcode: return "unexpected_opcode";
        case errc::envelope_too_large: return "envelope_too_large";
        case errc::bad_flags: return "bad_flags";
        case errc::bad_header_crc: return "bad_header_crc";
        case errc::bad_payload_crc: return "bad_payload_crc";
        case errc::segment_too_large: return "segment_too_large";
        case errc::bad_segment_sequence: return "bad_segment_sequence";
        case errc::incomplete_envelope: return "incomplete_envelope";
        case errc::compression_error: return "compression_error";
        case errc::uncompressed_too_large: return "uncompressed_too_large";
        case errc::unknown_type_option: return "unknown_type_option";
        case errc::type_nesting_too_deep: return "type_nesting_too_deep";
        case errc::bad_type_name: return "bad_type_name";
        case errc::bad_custom_type: return "bad_custom_type";
        case errc::bad_value_size: return "bad_value_size";
        case errc::bad_value: return "bad_value";
        case errc::null_not_allowed: return "null_not_allowed";
        case errc::bad_literal: return "bad_literal";
        case errc::value_out_of_range: return "value_out_of_range";
        case errc::type_mismatch: return "type_mismatch";
        case errc::bad_result_kind: return "bad_result_kind";
        case errc::bad_error_code: return "bad_error_code";
        case errc::bad_event: return "bad_event";
        case errc::bad_message: return "bad_message";
    }
    return "unknown";
}

namespace {

std::string describe(errc e) {
    switch (e) {
        case errc::ok: return "success";
        case errc::need_more_data: return "more bytes are needed";
        case errc::truncated: return "message truncated: a field runs past its end";
        case errc::trailing_bytes: return "unexpected bytes after the end of the message";
        case errc::negative_length: return "negative length field";
        case errc::length_too_large: return "length field exceeds the configured bound";
        case errc::bad_vint: return "malformed variable-length integer";
        case errc::bad_inet: return "inet address must be 4 or 16 bytes";
        case errc::bad_consistency: return "unknown consistency level";
        case errc::bad_version: return "unsupported protocol version";
        case errc::version_mismatch: return "envelope version differs from the negotiated version";
        case errc::bad_direction: return "envelope direction (request/response) is wrong";
        case errc::unknown_opcode: return "unknown opcode";
        case errc::unexpected_opcode: return "opcode not valid here";
        case errc::envelope_too_large: return "envelope body exceeds the configured maximum size";
        case errc::bad_flags: return "unsupported envelope flags";
        case errc::bad_header_crc: return "segment header CRC24 mismatch";
        case errc::bad_payload_crc: return "segment payload CRC32 mismatch";
        case errc::segment_too_large: return "segment payload exceeds 131071 bytes";
        case errc::bad_segment_sequence: return "segments arrived in an invalid sequence";
        case errc::incomplete_envelope: return "self-contained segment ends inside an envelope";
        case errc::compression_error: return "LZ4 data is corrupt";
        case errc::uncompressed_too_large: return "uncompressed length exceeds the configured bound";
        case errc::unknown_type_option: return "unknown type option id";
        case errc::type_nesting_too_deep: return "type or value nested too deeply";
        case errc::bad_type_name: return "cannot parse type name";
        case errc::bad_custom_type: return "cannot parse custom type class";
        case errc::bad_value_size: return "wrong value size for the type";
        case errc::bad_value: return "invalid value bytes for the type";
        case errc::null_not_allowed: return "null is not allowed here";
        case errc::bad_literal: return "cannot parse literal for the type";
        case errc::value_out_of_range: return "value out of range for the type";
        case errc::type_mismatch: return "value does not match the type";
        case errc::bad_result_kind: return "unknown RESULT kind";
        case errc::bad_error_code: return "malformed ERROR body";
        case errc::bad_event: return "malformed EVENT body";
        case errc::bad_message: return "malformed message body";
    }
    return "unknown protocol error " + std::to_string(static_cast<int>(e));
}

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "cqlpp.protocol"; }
    std::string message(int ev) const override { return describe(static_cast<errc>(ev)); }
};

}  // namespace

const std::error_category& protocol_category() noexcept {
    static const category cat;
    return cat;
}

}  // namespace cqlpp::protocol
