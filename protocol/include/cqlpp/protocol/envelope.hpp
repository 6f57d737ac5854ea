// Envelopes (spec §2): the 9-byte header + body unit of v4, carried inside
// segments in v5. Also the optional body prefix selected by the header flags
// (tracing id, warnings, custom payload) and v4's LZ4 body compression.
#pragma once

#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/common.hpp"
#include "cqlpp/protocol/error.hpp"
#include "cqlpp/protocol/segment.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace cqlpp::protocol {

inline constexpr std::size_t envelope_header_size = 9;
// Cassandra's default native_transport_max_frame_size is 16 MiB; allow more by config.
inline constexpr std::size_t default_max_envelope_body = 256u * 1024 * 1024;

namespace envelope_flags {
inline constexpr std::uint8_t compression = 0x01;
inline constexpr std::uint8_t tracing = 0x02;
inline constexpr std::uint8_t custom_payload = 0x04;
inline constexpr std::uint8_t warning = 0x08;
inline constexpr std::uint8_t use_beta = 0x10;
}  // namespace envelope_flags

struct envelope_header {
    protocol_version version = protocol_version::v5;
    bool response = false;
    std::uint8_t flags = 0;
    std::int16_t stream = 0;
    opcode op = opcode::options;
    std::uint32_t body_length = 0;
};

void write_envelope_header(std::uint8_t* out, const envelope_header& h) noexcept;

// Decodes the header at the front of `in`: need_more_data with fewer than 9
// bytes; bad_version for versions other than 4/5; unknown_opcode;
// envelope_too_large when the body length exceeds `max_body`.
errc read_envelope_header(bytes_view in, envelope_header& h, std::size_t max_body = default_max_envelope_body) noexcept;

struct envelope_view {
    envelope_header header;
    bytes_view body;  // exactly header.body_length bytes
};

// Decodes one whole envelope from the front of `in` (need_more_data if incomplete).
errc read_envelope(bytes_view in, envelope_view& out, std::size_t& consumed,
                   std::size_t max_body = default_max_envelope_body) noexcept;

// Appends an envelope whose body is produced by write_body(byte_writer&).
// The stream id can be patched later with patch_stream() (encode once, send
// on whatever stream is free).
template <class F>
std::size_t encode_envelope(byte_buffer& out, envelope_header h, F&& write_body) {
    const std::size_t start = out.size();
    out.resize(start + envelope_header_size);
    byte_writer w(out);
    write_body(w);
    h.body_length = static_cast<std::uint32_t>(out.size() - start - envelope_header_size);
    write_envelope_header(out.data() + start, h);
    return start;
}
inline void patch_stream(std::uint8_t* envelope, std::int16_t stream) noexcept {
    detail::store_be16(envelope + 2, static_cast<std::uint16_t>(stream));
}

// The parts of a body that precede the message itself, selected by flags.
struct body_prefix {
    std::optional<uuid_bytes> tracing_id;                      // responses with the tracing flag
    std::vector<std::string_view> warnings;                    // responses with the warning flag
    std::vector<std::pair<std::string_view, std::optional<bytes_view>>> custom_payload;
};

// Splits `body` into its prefix and the message body proper. Views borrow `body`.
errc split_body(const envelope_header& h, bytes_view body, body_prefix& prefix, bytes_view& message) noexcept;
void write_body_prefix(byte_writer& w, const envelope_header& h, const body_prefix& prefix);

// v4 body compression (STARTUP COMPRESSION=lz4 without v5 framing): a 4-byte
// big-endian uncompressed length followed by a raw LZ4 block.
void lz4_compress_body(bytes_view body, byte_buffer& out);
errc lz4_decompress_body(bytes_view body, byte_buffer& out, std::size_t max_uncompressed = default_max_envelope_body);

// Turns a byte stream into envelopes: plain envelopes (v4, and v5 before the
// reply to STARTUP) or v5 segments, switchable mid-stream with set_framing().
// Convenience for tools, tests and the simulated server.
class frame_reader {
public:
    explicit frame_reader(std::size_t max_body = default_max_envelope_body) : max_body_(max_body), assembler_(max_body) {}

    // nullopt: plain envelopes. Applies to every byte not yet consumed.
    void set_framing(std::optional<segment_format> f);
    std::optional<segment_format> framing() const noexcept { return framing_; }

    void append(bytes_view data);
    // Next complete envelope (views valid until the next call to next() or
    // append()), need_more_data, or a framing error (the stream is then unusable).
    errc next(envelope_view& out);
    std::size_t buffered() const noexcept { return in_.size() - in_pos_; }

private:
    errc pump_segments();

    std::size_t max_body_;
    std::optional<segment_format> framing_;
    std::optional<segment_decoder> segments_;
    envelope_assembler assembler_;
    byte_buffer in_;           // raw bytes from the peer
    std::size_t in_pos_ = 0;
    byte_buffer ready_;        // framed mode: reassembled envelopes waiting to be read
    std::size_t ready_pos_ = 0;
    // Framed mode: the unread envelopes of the current self-contained segment,
    // read where they lie (in in_, or in the decoder's LZ4 output) rather than
    // copied to ready_: most responses arrive this way.
    bytes_view borrowed_;
    errc failed_ = errc::ok;
};

}  // namespace cqlpp::protocol
