#include "cqlpp/protocol/envelope.hpp"

#include <lz4.h>

namespace cqlpp::protocol {

void write_envelope_header(std::uint8_t* out, const envelope_header& h) noexcept {
    out[0] = static_cast<std::uint8_t>(static_cast<std::uint8_t>(h.version) | (h.response ? 0x80 : 0x00));
    out[1] = h.flags;
    detail::store_be16(out + 2, static_cast<std::uint16_t>(h.stream));
    out[4] = static_cast<std::uint8_t>(h.op);
    detail::store_be32(out + 5, h.body_length);
}

errc read_envelope_header(bytes_view in, envelope_header& h, std::size_t max_body) noexcept {
    if (in.size() < envelope_header_size) return errc::need_more_data;
    const std::uint8_t v = in[0] & 0x7F;
    if (!is_supported_version(v)) return errc::bad_version;
    if (!is_request_opcode(in[4])) return errc::unknown_opcode;
    auto len = static_cast<std::int32_t>(detail::load_be32(in.data() + 5));
    if (len < 0) return errc::negative_length;
    if (static_cast<std::size_t>(len) > max_body) return errc::envelope_too_large;
    h.version = static_cast<protocol_version>(v);
    h.response = (in[0] & 0x80) != 0;
    h.flags = in[1];
    h.stream = static_cast<std::int16_t>(detail::load_be16(in.data() + 2));
    h.op = static_cast<opcode>(in[4]);
    h.body_length = static_cast<std::uint32_t>(len);
    return errc::ok;
}

errc read_envelope(bytes_view in, envelope_view& out, std::size_t& consumed, std::size_t max_body) noexcept {
    consumed = 0;
    if (auto ec = read_envelope_header(in, out.header, max_body); ec != errc::ok) return ec;
    const std::size_t total = envelope_header_size + out.header.body_length;
    if (in.size() < total) return errc::need_more_data;
    out.body = in.subspan(envelope_header_size, out.header.body_length);
    consumed = total;
    return errc::ok;
}

errc split_body(const envelope_header& h, bytes_view body, body_prefix& prefix, bytes_view& message) noexcept {
    byte_reader r(body);
    prefix = body_prefix{};
    if (h.response && (h.flags & envelope_flags::tracing)) prefix.tracing_id = r.uuid();
    if (h.response && (h.flags & envelope_flags::warning)) {
        auto n = r.u16();
        // Each [string] takes at least 2 bytes: bound the count before reserving.
        if (r.ok() && std::size_t(n) * 2 > r.remaining()) r.fail(errc::truncated);
        for (std::uint16_t i = 0; i < n && r.ok(); ++i) prefix.warnings.push_back(r.string());
    }
    if (h.flags & envelope_flags::custom_payload) {
        auto n = r.u16();
        if (r.ok() && std::size_t(n) * 6 > r.remaining()) r.fail(errc::truncated);
        for (std::uint16_t i = 0; i < n && r.ok(); ++i) {
            auto key = r.string();
            auto value = r.bytes();
            prefix.custom_payload.emplace_back(key, value);
        }
    }
    if (!r.ok()) return r.error();
    message = r.rest();
    return errc::ok;
}

void write_body_prefix(byte_writer& w, const envelope_header& h, const body_prefix& prefix) {
    if (h.response && (h.flags & envelope_flags::tracing)) w.uuid(prefix.tracing_id.value_or(uuid_bytes{}));
    if (h.response && (h.flags & envelope_flags::warning)) {
        w.u16(static_cast<std::uint16_t>(prefix.warnings.size()));
        for (auto s : prefix.warnings) w.string(s);
    }
    if (h.flags & envelope_flags::custom_payload) {
        w.u16(static_cast<std::uint16_t>(prefix.custom_payload.size()));
        for (const auto& [k, v] : prefix.custom_payload) {
            w.string(k);
            w.bytes(v);
        }
    }
}

void lz4_compress_body(bytes_view body, byte_buffer& out) {
    const std::size_t start = out.size();
    const int bound = LZ4_compressBound(static_cast<int>(body.size()));
    out.resize(start + 4 + static_cast<std::size_t>(bound));
    detail::store_be32(out.data() + start, static_cast<std::uint32_t>(body.size()));
    int n = LZ4_compress_default(reinterpret_cast<const char*>(body.data()), reinterpret_cast<char*>(out.data() + start + 4),
                                 static_cast<int>(body.size()), bound);
    out.resize(start + 4 + static_cast<std::size_t>(n > 0 ? n : 0));
}

errc lz4_decompress_body(bytes_view body, byte_buffer& out, std::size_t max_uncompressed) {
    if (body.size() < 4) return errc::truncated;
    const std::uint32_t n = detail::load_be32(body.data());
    // Checked before allocating: the length comes from the wire.
    if (n > max_uncompressed || n > 0x7FFFFFFFu) return errc::uncompressed_too_large;
    const std::size_t start = out.size();
    out.resize(start + n);
    if (n == 0) return body.size() == 4 || (body.size() == 5 && body[4] == 0) ? errc::ok : errc::compression_error;
    int got = LZ4_decompress_safe(reinterpret_cast<const char*>(body.data() + 4), reinterpret_cast<char*>(out.data() + start),
                                  static_cast<int>(body.size() - 4), static_cast<int>(n));
    if (got < 0 || static_cast<std::uint32_t>(got) != n) {
        out.resize(start);
        return errc::compression_error;
    }
    return errc::ok;
}

// ---------------------------------------------------------------------------

void frame_reader::set_framing(std::optional<segment_format> f) {
    framing_ = f;
    if (f) segments_.emplace(*f);
    else segments_.reset();
}

void frame_reader::append(bytes_view data) {
    if (!borrowed_.empty()) {
        // Bytes appended before every envelope was read: the rest of the
        // borrowed segment moves to ready_ (consumed, as borrowing requires),
        // since growing in_ may move it.
        ready_.assign(borrowed_.begin(), borrowed_.end());
        ready_pos_ = 0;
        borrowed_ = {};
    }
    // Drop consumed bytes first so the buffer does not grow without bound.
    if (in_pos_ > 0 && (in_pos_ == in_.size() || in_pos_ > 64 * 1024)) {
        in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(in_pos_));
        in_pos_ = 0;
    }
    in_.insert(in_.end(), data.begin(), data.end());
}

errc frame_reader::pump_segments() {
    while (in_pos_ < in_.size()) {
        segment seg;
        std::size_t consumed = 0;
        auto ec = segments_->decode(bytes_view(in_).subspan(in_pos_), consumed, seg);
        if (ec == errc::need_more_data) return errc::ok;
        if (ec != errc::ok) return ec;
        in_pos_ += consumed;
        if (seg.self_contained && !assembler_.in_progress() && ready_pos_ == ready_.size()) {
            // Nothing queued before it: its envelopes are read in place by
            // next() (checked there as the assembler would check them).
            borrowed_ = seg.payload;
            if (!borrowed_.empty()) return errc::ok;
            continue;
        }
        ec = assembler_.feed(seg, [&](bytes_view env) { ready_.insert(ready_.end(), env.begin(), env.end()); });
        if (ec != errc::ok) return ec;
    }
    return errc::ok;
}

errc frame_reader::next(envelope_view& out) {
    if (failed_ != errc::ok) return failed_;
    std::size_t consumed = 0;
    if (!framing_) {
        auto ec = read_envelope(bytes_view(in_).subspan(in_pos_), out, consumed, max_body_);
        if (ec == errc::ok) in_pos_ += consumed;
        else if (ec != errc::need_more_data) failed_ = ec;
        return ec;
    }
    if (borrowed_.empty() && ready_pos_ == ready_.size()) {
        ready_.clear();
        ready_pos_ = 0;
        if (auto ec = pump_segments(); ec != errc::ok) return failed_ = ec;
    }
    const bool borrowed = !borrowed_.empty();
    if (!borrowed && ready_pos_ == ready_.size()) return errc::need_more_data;
    const bytes_view from = borrowed ? borrowed_ : bytes_view(ready_).subspan(ready_pos_);
    auto ec = read_envelope(from, out, consumed, max_body_);
    if (ec == errc::need_more_data) ec = errc::incomplete_envelope;  // segments carry whole envelopes only
    if (ec != errc::ok) return failed_ = ec;
    if (borrowed) borrowed_ = borrowed_.subspan(consumed);
    else ready_pos_ += consumed;
    return errc::ok;
}

}  // namespace cqlpp::protocol
