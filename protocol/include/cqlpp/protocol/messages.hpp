// All message bodies of the native protocol (v4, v5), both directions.
//
// A body is what follows the envelope header and its optional prefix
// (tracing id / warnings / custom payload, see envelope.hpp). Nothing here
// knows about envelopes, streams or compression.
//
// Lifetimes: decoded requests and the cells of a RESULT Rows borrow the body
// buffer; everything else in a decoded response is owned. See requests.hpp
// and result.hpp.
#pragma once

#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/common.hpp"
#include "cqlpp/protocol/error.hpp"
#include "cqlpp/protocol/error_response.hpp"
#include "cqlpp/protocol/requests.hpp"
#include "cqlpp/protocol/responses.hpp"
#include "cqlpp/protocol/result.hpp"

#include <string>
#include <variant>

namespace cqlpp::protocol {

using request = std::variant<startup_request, options_request, query_request, prepare_request, execute_request,
                             batch_request, register_request, auth_response_request>;

using response = std::variant<error_response, ready_response, authenticate_response, supported_response,
                              result_response, event_response, auth_challenge_response, auth_success_response>;

opcode opcode_of(const request& r) noexcept;
opcode opcode_of(const response& r) noexcept;

// Decodes a body whose opcode came from the envelope header. A response
// opcode passed to decode_request (or the reverse) is errc::unexpected_opcode;
// a value that is no opcode at all is errc::unknown_opcode. On failure `out`
// holds a valid but unspecified message.
errc decode_request(opcode op, bytes_view body, protocol_version v, request& out);
errc decode_response(opcode op, bytes_view body, protocol_version v, response& out);

// Appends the body (only the body) to `w`.
void encode(const request& r, byte_writer& w, protocol_version v);
void encode(const response& r, byte_writer& w, protocol_version v);

// Readable multi-line dump: first line is the opcode name, then indented
// fields. Values are shown in hex; types by to_cql_name().
std::string describe(const request& r);
std::string describe(const response& r);

}  // namespace cqlpp::protocol
