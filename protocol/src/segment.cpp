#include "cqlpp/protocol/segment.hpp"

#include "crc32.hpp"

#include <lz4.h>

#include <array>

namespace cqlpp::protocol {

namespace {

constexpr std::uint32_t crc24_init = 0x875060;
constexpr std::uint32_t crc24_poly = 0x1974F0B;

constexpr std::array<std::uint32_t, 256> make_crc24_table() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t b = 0; b < 256; ++b) {
        std::uint32_t crc = b << 16;
        for (int i = 0; i < 8; ++i) {
            crc <<= 1;
            if (crc & 0x1000000) crc ^= crc24_poly;
        }
        t[b] = crc & 0xFFFFFF;
    }
    return t;
}
constexpr auto crc24_table = make_crc24_table();

// The running CRC after the four seed bytes Cassandra feeds first.
const std::uint32_t crc32_seed = [] {
    static const std::uint8_t seed[4] = {0xFA, 0x2D, 0x55, 0xCA};
    return detail::crc32_update(0, seed, 4);
}();

void store_le(std::uint8_t* p, std::uint64_t v, int n) noexcept {
    for (int i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint64_t load_le(const std::uint8_t* p, int n) noexcept {
    std::uint64_t v = 0;
    for (int i = n; i-- > 0;) v = (v << 8) | p[i];
    return v;
}

void append_crc32(byte_buffer& out, std::size_t from) {
    auto crc = segment_crc32(bytes_view(out.data() + from, out.size() - from));
    std::uint8_t t[4];
    store_le(t, crc, 4);
    out.insert(out.end(), t, t + 4);
}

}  // namespace

std::uint32_t crc24(const std::uint8_t* data, std::size_t n) noexcept {
    std::uint32_t crc = crc24_init;
    for (std::size_t i = 0; i < n; ++i) crc = ((crc << 8) & 0xFFFFFF) ^ crc24_table[((crc >> 16) ^ data[i]) & 0xFF];
    return crc;
}

std::uint32_t segment_crc32(bytes_view payload) noexcept {
    return detail::crc32_update(crc32_seed, payload.data(), payload.size());
}

void write_segment_header(std::uint8_t* out, segment_format f, const segment_header& h) noexcept {
    if (f == segment_format::uncompressed) {
        std::uint64_t v = (h.payload_length & 0x1FFFF) | (h.self_contained ? (1u << 17) : 0u);
        store_le(out, v, 3);
        store_le(out + 3, crc24(out, 3), 3);
    } else {
        std::uint64_t v = (std::uint64_t(h.payload_length) & 0x1FFFF) |
                          ((std::uint64_t(h.uncompressed_length) & 0x1FFFF) << 17) |
                          (h.self_contained ? (std::uint64_t(1) << 34) : 0);
        store_le(out, v, 5);
        store_le(out + 5, crc24(out, 5), 3);
    }
}

errc read_segment_header(bytes_view in, segment_format f, segment_header& h) noexcept {
    const int n = f == segment_format::uncompressed ? 3 : 5;
    if (in.size() < static_cast<std::size_t>(n + 3)) return errc::need_more_data;
    std::uint64_t v = load_le(in.data(), n);
    auto expected = static_cast<std::uint32_t>(load_le(in.data() + n, 3));
    if (crc24(in.data(), static_cast<std::size_t>(n)) != expected) return errc::bad_header_crc;
    h.payload_length = static_cast<std::uint32_t>(v & 0x1FFFF);
    if (f == segment_format::uncompressed) {
        h.uncompressed_length = 0;
        h.self_contained = (v >> 17) & 1;
    } else {
        h.uncompressed_length = static_cast<std::uint32_t>((v >> 17) & 0x1FFFF);
        h.self_contained = (v >> 34) & 1;
    }
    return errc::ok;
}

// ---------------------------------------------------------------------------

segment_encoder::segment_encoder(segment_format f, std::size_t max_payload) noexcept
    : format_(f), max_payload_(max_payload == 0 || max_payload > max_segment_payload ? max_segment_payload : max_payload) {}

void segment_encoder::write_lz4_segment(bytes_view payload, bool self_contained, byte_buffer& out) {
    const std::size_t start = out.size();
    out.resize(start + lz4_segment_header_size + payload.size());
    auto* dst = out.data() + start + lz4_segment_header_size;
    int compressed = 0;
    if (payload.size() > 1) {
        // A destination one byte short of the input makes LZ4 give up (return 0)
        // exactly when compression would not shrink the data: then store raw.
        compressed = LZ4_compress_default(reinterpret_cast<const char*>(payload.data()), reinterpret_cast<char*>(dst),
                                          static_cast<int>(payload.size()), static_cast<int>(payload.size() - 1));
    }
    segment_header h;
    h.self_contained = self_contained;
    if (compressed > 0) {
        h.payload_length = static_cast<std::uint32_t>(compressed);
        h.uncompressed_length = static_cast<std::uint32_t>(payload.size());
        out.resize(start + lz4_segment_header_size + static_cast<std::size_t>(compressed));
    } else {
        h.payload_length = static_cast<std::uint32_t>(payload.size());
        h.uncompressed_length = 0;
        if (!payload.empty()) std::memcpy(dst, payload.data(), payload.size());
    }
    write_segment_header(out.data() + start, segment_format::lz4, h);
    append_crc32(out, start + lz4_segment_header_size);
}

void segment_encoder::write_segment(bytes_view payload, bool self_contained, byte_buffer& out) {
    if (format_ == segment_format::lz4) {
        write_lz4_segment(payload, self_contained, out);
        return;
    }
    const std::size_t start = out.size();
    out.resize(start + uncompressed_segment_header_size);
    segment_header h;
    h.payload_length = static_cast<std::uint32_t>(payload.size());
    h.self_contained = self_contained;
    write_segment_header(out.data() + start, segment_format::uncompressed, h);
    out.insert(out.end(), payload.begin(), payload.end());
    append_crc32(out, start + uncompressed_segment_header_size);
}

void segment_encoder::add_envelope(bytes_view envelope, byte_buffer& out) {
    if (envelope.size() > max_payload_) {
        flush(out);
        while (!envelope.empty()) {
            auto n = std::min(envelope.size(), max_payload_);
            write_segment(envelope.first(n), false, out);
            envelope = envelope.subspan(n);
        }
        return;
    }
    if (pending_ + envelope.size() > max_payload_) flush(out);
    if (format_ == segment_format::lz4) {
        staging_.insert(staging_.end(), envelope.begin(), envelope.end());
    } else {
        if (pending_ == 0) {
            // Header space now, filled in at flush once the length is known.
            open_pos_ = out.size();
            out.resize(open_pos_ + uncompressed_segment_header_size);
        }
        out.insert(out.end(), envelope.begin(), envelope.end());
    }
    pending_ += envelope.size();
}

void segment_encoder::flush(byte_buffer& out) {
    if (pending_ == 0) return;
    if (format_ == segment_format::lz4) {
        write_lz4_segment(staging_, true, out);
        staging_.clear();
    } else {
        segment_header h;
        h.payload_length = static_cast<std::uint32_t>(pending_);
        h.self_contained = true;
        write_segment_header(out.data() + open_pos_, segment_format::uncompressed, h);
        append_crc32(out, open_pos_ + uncompressed_segment_header_size);
    }
    pending_ = 0;
}

// ---------------------------------------------------------------------------

errc segment_decoder::decode(bytes_view in, std::size_t& consumed, segment& out) {
    consumed = 0;
    segment_header h;
    if (auto ec = read_segment_header(in, format_, h); ec != errc::ok) return ec;
    const std::size_t hs = segment_header_size(format_);
    const std::size_t total = hs + h.payload_length + segment_trailer_size;
    if (in.size() < total) return errc::need_more_data;
    bytes_view wire = in.subspan(hs, h.payload_length);
    auto expected = static_cast<std::uint32_t>(load_le(in.data() + hs + h.payload_length, 4));
    if (segment_crc32(wire) != expected) return errc::bad_payload_crc;

    out.self_contained = h.self_contained;
    if (format_ == segment_format::uncompressed || h.uncompressed_length == 0) {
        out.payload = wire;
    } else {
        // The 17-bit field bounds the allocation to 128 KiB.
        scratch_.resize(h.uncompressed_length);
        int n = LZ4_decompress_safe(reinterpret_cast<const char*>(wire.data()), reinterpret_cast<char*>(scratch_.data()),
                                    static_cast<int>(wire.size()), static_cast<int>(scratch_.size()));
        if (n < 0 || static_cast<std::uint32_t>(n) != h.uncompressed_length) return errc::compression_error;
        out.payload = bytes_view(scratch_.data(), scratch_.size());
    }
    consumed = total;
    return errc::ok;
}

errc envelope_assembler::envelope_size(bytes_view header, std::size_t& total) const noexcept {
    auto len = static_cast<std::int32_t>(detail::load_be32(header.data() + 5));
    if (len < 0) return errc::negative_length;
    if (static_cast<std::size_t>(len) > max_body_) return errc::envelope_too_large;
    total = 9 + static_cast<std::size_t>(len);
    return errc::ok;
}

}  // namespace cqlpp::protocol
