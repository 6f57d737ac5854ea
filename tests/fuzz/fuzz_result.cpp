// libFuzzer target: message body decoders.
//
// The input is decoded as a RESULT body (the largest attack surface: rows,
// metadata, types) and as every other response and request opcode, in v4 and
// v5. Whatever decodes must describe() without crashing, re-encode, decode
// again to an equal message, and re-encode to the same bytes.
#include "cqlpp/protocol/messages.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

using namespace cqlpp::protocol;

namespace {

constexpr opcode request_ops[] = {opcode::startup, opcode::options,   opcode::query,    opcode::prepare,
                                  opcode::execute, opcode::batch,     opcode::register_, opcode::auth_response};
constexpr opcode response_ops[] = {opcode::result, opcode::error, opcode::ready,          opcode::authenticate,
                                   opcode::supported, opcode::event, opcode::auth_challenge, opcode::auth_success};

[[noreturn]] void fail(const char* what, opcode op, protocol_version v) {
    std::fprintf(stderr, "fuzz_result: %s (opcode %s, v%d)\n", what, std::string(to_string(op)).c_str(), int(v));
    std::abort();
}

template <class Message, class Decode>
void round_trip(opcode op, bytes_view in, protocol_version v, Decode decode) {
    Message first;
    if (decode(op, in, v, first) != errc::ok) return;
    if (describe(first).empty()) fail("empty describe()", op, v);

    byte_buffer once;
    byte_writer w1(once);
    encode(first, w1, v);

    Message second;
    if (decode(op, bytes_view(once), v, second) != errc::ok) fail("re-encoded body does not decode", op, v);
    if (!(second == first)) fail("decode(encode(m)) != m", op, v);

    byte_buffer twice;
    byte_writer w2(twice);
    encode(second, w2, v);
    if (twice != once) fail("encoding is not stable", op, v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const bytes_view in(data, size);
    for (auto v : {protocol_version::v4, protocol_version::v5}) {
        for (auto op : response_ops) round_trip<response>(op, in, v, decode_response);
        for (auto op : request_ops) round_trip<request>(op, in, v, decode_request);
    }
    return 0;
}
