// What a request gets back: an owned, reference-counted frame (G4).
//
// Each response owns its body buffer; the decoded message (rows cells,
// warnings, custom payload) are views that BORROW that buffer, so they stay
// valid exactly as long as the caller holds the response_ptr, independently
// of the connection and of other responses.
#pragma once

#include "cqlpp/protocol/envelope.hpp"
#include "cqlpp/protocol/messages.hpp"

#include <memory>
#include <system_error>
#include <utility>

namespace cqlpp::transport {

struct response_frame {
    protocol::envelope_header header;
    // The envelope body, owned by the frame: the bytes follow the frame in its
    // own allocation, or live in `owned` (v4 LZ4 bodies, frames built by hand).
    protocol::bytes_view body;
    protocol::byte_buffer owned;
    protocol::body_prefix prefix;   // tracing id / warnings / custom payload: borrows body
    // Rows cells borrow body. Starts as a RESULT, what nearly every answer
    // is, so decoding one builds the message once (the default alternative,
    // an ERROR with its strings, would be built and torn down first).
    protocol::response message{std::in_place_type<protocol::result_response>};

    const protocol::error_response* server_error() const noexcept {
        return std::get_if<protocol::error_response>(&message);
    }
};

using response_ptr = std::shared_ptr<const response_frame>;

// ec is empty on success; a protocol::server_errc when the server answered
// ERROR (response then holds the decoded error_response); a transport::errc
// otherwise (response is null).
struct request_result {
    std::error_code ec;
    response_ptr response;
};

}  // namespace cqlpp::transport
