// cqlpp wire: encode and decode values, envelopes and v5 segments by hand.
#include "commands.hpp"
#include "util.hpp"

#include "cqlpp/protocol/envelope.hpp"
#include "cqlpp/protocol/literal.hpp"
#include "cqlpp/protocol/messages.hpp"
#include "cqlpp/protocol/segment.hpp"
#include "cqlpp/protocol/value.hpp"

#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

namespace cqlpp::tools {

namespace {

using namespace cqlpp::protocol;

std::string error_text(errc ec) { return std::string(to_string(ec)) + " (" + make_error_code(ec).message() + ")"; }

std::string hex_preview(bytes_view b, std::size_t limit = 4096) {
    if (b.size() <= limit) return to_hex(b);
    return to_hex(b.first(limit)) + "... (" + std::to_string(b.size()) + " bytes)";
}

void ensure_newline(std::ostream& os, const std::string& s) {
    if (!s.empty() && s.back() != '\n') os << '\n';
}

// Prints one envelope: header fields, body prefix and the decoded message.
// Returns false (after printing what it could) when the body does not decode.
bool print_envelope(std::ostream& os, const envelope_view& ev, std::string& problem) {
    const auto& h = ev.header;
    char flags[8];
    std::snprintf(flags, sizeof flags, "0x%02x", h.flags);
    os << "envelope: version=" << int(h.version) << " direction=" << (h.response ? "response" : "request")
       << " flags=" << flags << " stream=" << h.stream << " opcode=" << to_string(h.op) << " length=" << h.body_length
       << '\n';

    bytes_view body = ev.body;
    byte_buffer decompressed;
    if ((h.flags & envelope_flags::compression) && h.version == protocol_version::v4) {
        if (auto ec = lz4_decompress_body(body, decompressed); ec != errc::ok) {
            problem = "LZ4 body: " + error_text(ec);
            return false;
        }
        os << "body: LZ4-compressed " << body.size() << " -> " << decompressed.size() << " bytes\n";
        body = decompressed;
    }
    body_prefix prefix;
    bytes_view message;
    if (auto ec = split_body(h, body, prefix, message); ec != errc::ok) {
        problem = "body prefix: " + error_text(ec);
        return false;
    }
    if (prefix.tracing_id) os << "tracing_id: " << to_hex(*prefix.tracing_id) << '\n';
    for (auto w : prefix.warnings) os << "warning: " << w << '\n';
    for (const auto& [k, v] : prefix.custom_payload)
        os << "custom_payload: " << k << '=' << (v ? "0x" + to_hex(*v) : std::string("null")) << '\n';

    if (h.response) {
        response r;
        if (auto ec = decode_response(h.op, message, h.version, r); ec != errc::ok) {
            problem = std::string(to_string(h.op)) + " body: " + error_text(ec);
            return false;
        }
        auto text = describe(r);
        os << text;
        ensure_newline(os, text);
    } else {
        request r;
        if (auto ec = decode_request(h.op, message, h.version, r); ec != errc::ok) {
            problem = std::string(to_string(h.op)) + " body: " + error_text(ec);
            return false;
        }
        auto text = describe(r);
        os << text;
        ensure_newline(os, text);
    }
    return true;
}

// ---- subcommands ---------------------------------------------------------------

struct value_options {
    std::string type;
    std::string input;
};

void run_encode_value(const value_options& o) {
    auto t = parse_type(o.type);
    std::cout << to_hex(encode_literal(t, o.input)) << '\n';
}

void run_decode_value(const value_options& o) {
    auto t = parse_type(o.type);
    auto bytes = parse_hex_arg(o.input, "value");
    cql_value v;
    if (auto ec = decode_value(t, bytes, v); ec != errc::ok)
        throw command_error("cannot decode " + std::to_string(bytes.size()) + " byte(s) as " + to_cql_name(t) + ": " +
                            error_text(ec));
    std::cout << format_literal(t, v) << '\n';
}

struct envelope_options {
    std::string hex;
};

void run_decode_envelope(const envelope_options& o) {
    auto wire = parse_hex_arg(o.hex, "envelope");
    bytes_view rest = wire;
    int count = 0;
    do {
        envelope_view ev;
        std::size_t consumed = 0;
        auto ec = read_envelope(rest, ev, consumed);
        if (ec == errc::need_more_data) {
            envelope_header h;
            std::size_t need = read_envelope_header(rest, h) == errc::ok ? envelope_header_size + h.body_length
                                                                          : envelope_header_size;
            throw command_error("incomplete envelope: " + std::to_string(rest.size()) + " of " + std::to_string(need) +
                                " bytes");
        }
        if (ec != errc::ok) throw command_error("bad envelope header: " + error_text(ec));
        if (count++ > 0) std::cout << '\n';
        std::ostringstream os;
        std::string problem;
        bool ok = print_envelope(os, ev, problem);
        std::cout << os.str();
        ensure_newline(std::cout, os.str());
        if (!ok) throw command_error(problem);
        rest = rest.subspan(consumed);
    } while (!rest.empty());
}

struct segment_options {
    std::string hex;
    bool lz4 = false;
};

void run_decode_segment(const segment_options& o) {
    auto wire = parse_hex_arg(o.hex, "segment");
    const auto fmt = o.lz4 ? segment_format::lz4 : segment_format::uncompressed;
    segment_decoder dec(fmt);
    envelope_assembler assembler(default_max_envelope_body);
    bytes_view rest = wire;
    int index = 0;
    while (!rest.empty()) {
        segment seg;
        std::size_t consumed = 0;
        auto ec = dec.decode(rest, consumed, seg);
        if (ec == errc::need_more_data) {
            segment_header h;
            if (read_segment_header(rest, fmt, h) == errc::ok) {
                std::size_t need = segment_header_size(fmt) + h.payload_length + segment_trailer_size;
                throw command_error("segment " + std::to_string(index + 1) + " incomplete: " + std::to_string(rest.size()) +
                                    " of " + std::to_string(need) + " bytes");
            }
            throw command_error("segment " + std::to_string(index + 1) + " incomplete: header needs " +
                                std::to_string(segment_header_size(fmt)) + " bytes, got " + std::to_string(rest.size()));
        }
        if (ec != errc::ok) throw command_error("segment " + std::to_string(index + 1) + ": " + error_text(ec));
        segment_header h;
        (void)read_segment_header(rest, fmt, h);
        ++index;
        std::cout << "segment " << index << ": " << (o.lz4 ? "lz4" : "uncompressed") << ", "
                  << (seg.self_contained ? "self-contained" : "not self-contained (slice of a large envelope)") << ", ";
        if (o.lz4 && h.uncompressed_length != 0)
            std::cout << "compressed " << h.payload_length << " -> " << seg.payload.size() << " bytes";
        else
            std::cout << "payload " << seg.payload.size() << " bytes" << (o.lz4 ? " (stored uncompressed)" : "");
        std::cout << ", crc24 ok, crc32 ok\n";
        std::cout << "payload: " << hex_preview(seg.payload) << '\n';

        std::string problem;
        std::vector<byte_buffer> envelopes;
        ec = assembler.feed(seg, [&](bytes_view env) { envelopes.emplace_back(env.begin(), env.end()); });
        if (ec != errc::ok) {
            std::cout << "payload is not a sequence of whole envelopes: " << error_text(ec) << '\n';
            assembler = envelope_assembler(default_max_envelope_body);
        }
        for (const auto& e : envelopes) {
            envelope_view ev;
            std::size_t c = 0;
            if (auto eec = read_envelope(e, ev, c); eec != errc::ok) {
                std::cout << "payload is not a sequence of whole envelopes: " << error_text(eec) << '\n';
                continue;
            }
            std::ostringstream os;
            bool ok = print_envelope(os, ev, problem);
            std::cout << os.str();
            ensure_newline(std::cout, os.str());
            if (!ok) std::cout << "undecodable body: " << problem << '\n';
        }
        rest = rest.subspan(consumed);
    }
    if (assembler.in_progress()) std::cout << "note: the last large envelope is incomplete (more slices expected)\n";
}

}  // namespace

void add_wire_command(CLI::App& app) {
    auto* wire = app.add_subcommand("wire", "Encode and decode protocol bytes (values, envelopes, v5 segments)");
    wire->require_subcommand(1);

    auto enc = std::make_shared<value_options>();
    auto* e = wire->add_subcommand("encode-value", "Print a CQL literal's serialized bytes as hex (protocol v5)");
    e->add_option("--type", enc->type, "CQL type, e.g. 'map<text, frozen<list<int>>>'")->required();
    e->add_option("literal", enc->input, "The value as a CQL literal, e.g. \"{'a': [1, 2]}\"")->required();
    e->callback([enc] { run_encode_value(*enc); });

    auto dec = std::make_shared<value_options>();
    auto* d = wire->add_subcommand("decode-value", "Print serialized value bytes as a CQL literal");
    d->add_option("--type", dec->type, "CQL type of the value")->required();
    d->add_option("hex", dec->input, "The value's bytes in hex (no length prefix)")->required();
    d->callback([dec] { run_decode_value(*dec); });

    auto seg = std::make_shared<segment_options>();
    auto* s = wire->add_subcommand("decode-segment", "Check and decode v5 segments and the envelopes they carry");
    s->add_flag("--lz4", seg->lz4, "Segments use the LZ4 format (8-byte header)");
    s->add_option("hex", seg->hex, "One or more segments in hex")->required();
    s->callback([seg] { run_decode_segment(*seg); });

    auto env = std::make_shared<envelope_options>();
    auto* v = wire->add_subcommand("decode-envelope", "Decode envelopes (header and message body)");
    v->add_option("hex", env->hex, "One or more envelopes in hex")->required();
    v->callback([env] { run_decode_envelope(*env); });
}

}  // namespace cqlpp::tools
