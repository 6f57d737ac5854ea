// Protocol v5 framing: segments ("frames" in the spec, §2), as Cassandra and
// the Java/Python/Go drivers implement them. See tests/data/vectors.json and
// the errata in the project notes: every header field is little-endian, the
// CRC32 is seeded with FA 2D 55 CA, the LZ4 header is 5 + 3 bytes, and an LZ4
// payload whose uncompressed length is 0 is stored raw.
#pragma once

#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/error.hpp"

#include <cstddef>
#include <cstdint>

namespace cqlpp::protocol {

inline constexpr std::size_t max_segment_payload = 131071;  // 17-bit length field
inline constexpr std::size_t uncompressed_segment_header_size = 6;
inline constexpr std::size_t lz4_segment_header_size = 8;
inline constexpr std::size_t segment_trailer_size = 4;

enum class segment_format : std::uint8_t { uncompressed, lz4 };

inline constexpr std::size_t segment_header_size(segment_format f) noexcept {
    return f == segment_format::lz4 ? lz4_segment_header_size : uncompressed_segment_header_size;
}

// CRC24 of `n` header bytes in wire order (polynomial 0x1974F0B, init 0x875060).
std::uint32_t crc24(const std::uint8_t* data, std::size_t n) noexcept;
// CRC-32/IEEE of the payload, seeded with the bytes FA 2D 55 CA as Cassandra does.
std::uint32_t segment_crc32(bytes_view payload) noexcept;

struct segment_header {
    std::uint32_t payload_length = 0;       // bytes on the wire
    std::uint32_t uncompressed_length = 0;  // lz4 only; 0 = payload stored raw
    bool self_contained = true;
};

// Writes segment_header_size(f) bytes (fields + CRC24) at `out`.
void write_segment_header(std::uint8_t* out, segment_format f, const segment_header& h) noexcept;
// Reads and checks a header from the first segment_header_size(f) bytes of `in`.
errc read_segment_header(bytes_view in, segment_format f, segment_header& h) noexcept;

// Packs outgoing envelopes into segments (appended to a caller's buffer).
//
// Envelopes that fit are packed together into one self-contained segment
// until the next one would not fit; an envelope larger than the maximum
// payload is cut into non-self-contained slices. Call flush() before handing
// the buffer to the socket. The same `out` must be passed from the first
// add_envelope() to the flush() that closes the segment.
class segment_encoder {
public:
    explicit segment_encoder(segment_format f, std::size_t max_payload = max_segment_payload) noexcept;

    void add_envelope(bytes_view envelope, byte_buffer& out);
    void flush(byte_buffer& out);
    bool has_pending() const noexcept { return pending_ != 0; }
    segment_format format() const noexcept { return format_; }

    // One segment with exactly this payload (<= max payload), for tests and tools.
    void write_segment(bytes_view payload, bool self_contained, byte_buffer& out);

private:
    void write_lz4_segment(bytes_view payload, bool self_contained, byte_buffer& out);

    segment_format format_;
    std::size_t max_payload_;
    std::size_t open_pos_ = 0;  // uncompressed: where the open segment's header starts in `out`
    std::size_t pending_ = 0;   // payload bytes in the open segment
    byte_buffer staging_;       // lz4: payload of the open segment, compressed at flush
};

// A decoded segment. `payload` points into the caller's input (raw payloads)
// or into the decoder's scratch buffer (LZ4): valid until the next decode().
struct segment {
    bytes_view payload;
    bool self_contained = true;
};

class segment_decoder {
public:
    explicit segment_decoder(segment_format f) noexcept : format_(f) {}

    // Decodes the segment at the front of `in`. Returns need_more_data (and
    // consumed = 0) while the segment is incomplete, an error for corrupt
    // input, or ok with `consumed` = the segment's size on the wire.
    errc decode(bytes_view in, std::size_t& consumed, segment& out);
    segment_format format() const noexcept { return format_; }

private:
    segment_format format_;
    byte_buffer scratch_;
};

// Rebuilds envelopes from segment payloads: several whole envelopes per
// self-contained segment, or one large envelope spread over consecutive
// non-self-contained segments (whatever slice size the peer used).
class envelope_assembler {
public:
    explicit envelope_assembler(std::size_t max_body_size) noexcept : max_body_(max_body_size) {}

    // Calls on_envelope(bytes_view) with each complete envelope (9-byte header
    // + body). Views into `seg` or into the assembler's buffer: valid during the call.
    template <class F>
    errc feed(const segment& seg, F&& on_envelope);

    bool in_progress() const noexcept { return !large_.empty(); }

private:
    errc envelope_size(bytes_view header, std::size_t& total) const noexcept;

    std::size_t max_body_;
    byte_buffer large_;        // bytes of the large envelope received so far
    std::size_t large_total_ = 0;  // its full size once the header is known
};

template <class F>
errc envelope_assembler::feed(const segment& seg, F&& on_envelope) {
    bytes_view p = seg.payload;
    if (seg.self_contained) {
        if (in_progress()) return errc::bad_segment_sequence;
        while (!p.empty()) {
            std::size_t total = 0;
            if (p.size() < 9) return errc::incomplete_envelope;
            if (auto ec = envelope_size(p.first(9), total); ec != errc::ok) return ec;
            if (total > p.size()) return errc::incomplete_envelope;
            on_envelope(p.first(total));
            p = p.subspan(total);
        }
        return errc::ok;
    }
    // Non-self-contained: slices of one envelope, never shared with another.
    if (p.empty()) return errc::bad_segment_sequence;
    large_.insert(large_.end(), p.begin(), p.end());
    if (large_total_ == 0 && large_.size() >= 9) {
        if (auto ec = envelope_size(bytes_view(large_).first(9), large_total_); ec != errc::ok) {
            large_.clear();
            return ec;
        }
    }
    if (large_total_ == 0) return errc::ok;  // header not complete yet
    if (large_.size() > large_total_) {
        large_.clear();
        large_total_ = 0;
        return errc::bad_segment_sequence;
    }
    if (large_.size() == large_total_) {
        on_envelope(bytes_view(large_));
        large_.clear();
        large_total_ = 0;
        if (large_.capacity() > 4 * max_segment_payload) byte_buffer().swap(large_);
    }
    return errc::ok;
}

}  // namespace cqlpp::protocol
