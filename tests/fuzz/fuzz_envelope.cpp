// Fuzzes plain envelope decoding (v4 / pre-STARTUP v5): the header, the
// flag-selected body prefix and v4 LZ4 body decompression.
#include "cqlpp/protocol/envelope.hpp"

#include <cstdlib>

using namespace cqlpp::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    bytes_view in(data, size);
    frame_reader reader(1 << 20);
    reader.append(in);
    envelope_view ev;
    while (reader.next(ev) == errc::ok) {
        body_prefix prefix;
        bytes_view message;
        if (split_body(ev.header, ev.body, prefix, message) == errc::ok) {
            // Re-encoding the prefix and reading it back gives the same fields
            // (bytes may differ: any negative [bytes] length means null).
            byte_buffer out;
            byte_writer w(out);
            write_body_prefix(w, ev.header, prefix);
            body_prefix again;
            bytes_view rest;
            if (split_body(ev.header, out, again, rest) != errc::ok || !rest.empty()) std::abort();
            if (again.tracing_id != prefix.tracing_id || again.warnings != prefix.warnings) std::abort();
            if (again.custom_payload.size() != prefix.custom_payload.size()) std::abort();
            for (std::size_t i = 0; i < prefix.custom_payload.size(); ++i) {
                const auto& a = prefix.custom_payload[i];
                const auto& b = again.custom_payload[i];
                if (a.first != b.first || a.second.has_value() != b.second.has_value()) std::abort();
                if (a.second && !std::equal(a.second->begin(), a.second->end(), b.second->begin(), b.second->end())) std::abort();
            }
        }
        if (ev.header.flags & envelope_flags::compression) {
            byte_buffer plain;
            if (lz4_decompress_body(ev.body, plain, 1 << 20) == errc::ok) {
                byte_buffer again, back;
                lz4_compress_body(plain, again);
                if (lz4_decompress_body(again, back, 1 << 20) != errc::ok || back != plain) std::abort();
            }
        }
    }
    return 0;
}
