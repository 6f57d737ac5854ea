// Fuzzes the v5 segment decoder and envelope reassembly: arbitrary bytes in
// arbitrary chunks must give envelopes or a clean error, never a crash.
// Whatever decodes is re-framed and must decode to the same envelopes.
#include "cqlpp/protocol/envelope.hpp"
#include "cqlpp/protocol/segment.hpp"

#include <cstdlib>
#include <vector>

using namespace cqlpp::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const auto format = (data[0] & 1) ? segment_format::lz4 : segment_format::uncompressed;
    const std::size_t chunk = 1 + data[1] % 64;
    bytes_view wire(data + 2, size - 2);

    frame_reader reader(1 << 20);
    reader.set_framing(format);
    std::vector<byte_buffer> envelopes;
    for (std::size_t pos = 0; pos < wire.size();) {
        std::size_t n = std::min(chunk, wire.size() - pos);
        reader.append(wire.subspan(pos, n));
        pos += n;
        envelope_view ev;
        errc ec;
        while ((ec = reader.next(ev)) == errc::ok) {
            if (ev.body.size() != ev.header.body_length) std::abort();
            byte_buffer e(envelope_header_size);
            write_envelope_header(e.data(), ev.header);
            e.insert(e.end(), ev.body.begin(), ev.body.end());
            envelopes.push_back(std::move(e));
        }
        if (ec != errc::need_more_data) break;
    }

    // Round trip what was decoded through our own encoder.
    segment_encoder enc(format);
    byte_buffer out;
    for (auto& e : envelopes) enc.add_envelope(e, out);
    enc.flush(out);
    frame_reader again(1 << 20);
    again.set_framing(format);
    again.append(out);
    for (auto& e : envelopes) {
        envelope_view ev;
        if (again.next(ev) != errc::ok) std::abort();
        if (ev.body.size() + envelope_header_size != e.size()) std::abort();
        if (!std::equal(ev.body.begin(), ev.body.end(), e.begin() + envelope_header_size)) std::abort();
    }
    return 0;
}
