// Segment framing throughput: encode + decode with CRC24/CRC32, raw and LZ4.
// Run: build/release/bench/cqlpp_micro_bench --benchmark_filter=Segment
#include "cqlpp/protocol/envelope.hpp"
#include "cqlpp/protocol/segment.hpp"

#include <benchmark/benchmark.h>

#include <random>

using namespace cqlpp::protocol;

namespace {

// Envelopes that look like real traffic: a 9-byte header and a body of
// CQL-ish values (lengths, small ints, text, some random bytes).
std::vector<byte_buffer> make_traffic(std::size_t envelope_size, std::size_t total) {
    std::mt19937 rng(7);
    std::vector<byte_buffer> envs;
    for (std::size_t sent = 0; sent < total; sent += envelope_size) {
        byte_buffer e;
        envelope_header h;
        h.response = true;
        h.op = opcode::result;
        h.stream = static_cast<std::int16_t>(envs.size() & 0x7FFF);
        encode_envelope(e, h, [&](byte_writer& w) {
            while (w.size() + 40 < envelope_size) {
                w.i32(4);
                w.i32(static_cast<std::int32_t>(rng() % 1000));
                w.long_string("user-name-");
                w.i32(8);
                w.i64(static_cast<std::int64_t>(rng()));
            }
        });
        envs.push_back(std::move(e));
    }
    return envs;
}

void run_roundtrip(benchmark::State& state, segment_format f) {
    const auto envelope_size = static_cast<std::size_t>(state.range(0));
    auto envs = make_traffic(envelope_size, 1 << 20);
    std::size_t bytes = 0;
    for (auto& e : envs) bytes += e.size();

    segment_encoder enc(f);
    segment_decoder dec(f);
    envelope_assembler asmb(default_max_envelope_body);
    byte_buffer wire;
    wire.reserve(bytes + bytes / 8 + 1024);
    for (auto _ : state) {
        wire.clear();
        for (auto& e : envs) enc.add_envelope(e, wire);
        enc.flush(wire);
        std::size_t pos = 0, got = 0;
        while (pos < wire.size()) {
            segment seg;
            std::size_t consumed = 0;
            if (dec.decode(bytes_view(wire).subspan(pos), consumed, seg) != errc::ok) {
                state.SkipWithError("decode failed");
                return;
            }
            pos += consumed;
            (void)asmb.feed(seg, [&](bytes_view env) { got += env.size(); });
        }
        if (got != bytes) state.SkipWithError("lost bytes");
        benchmark::DoNotOptimize(wire.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
    state.counters["wire_ratio"] = static_cast<double>(wire.size()) / static_cast<double>(bytes);
}

void run_one_way(benchmark::State& state, segment_format f, bool encode) {
    auto envs = make_traffic(static_cast<std::size_t>(state.range(0)), 1 << 20);
    std::size_t bytes = 0;
    for (auto& e : envs) bytes += e.size();
    segment_encoder enc(f);
    byte_buffer wire;
    for (auto& e : envs) enc.add_envelope(e, wire);
    enc.flush(wire);
    segment_decoder dec(f);
    byte_buffer out;
    out.reserve(wire.capacity() * 2);
    for (auto _ : state) {
        if (encode) {
            out.clear();
            for (auto& e : envs) enc.add_envelope(e, out);
            enc.flush(out);
        } else {
            std::size_t pos = 0;
            while (pos < wire.size()) {
                segment seg;
                std::size_t consumed = 0;
                if (dec.decode(bytes_view(wire).subspan(pos), consumed, seg) != errc::ok) {
                    state.SkipWithError("decode failed");
                    return;
                }
                benchmark::DoNotOptimize(seg.payload.data());
                pos += consumed;
            }
        }
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

void BM_SegmentRoundTrip(benchmark::State& s) { run_roundtrip(s, segment_format::uncompressed); }
void BM_SegmentLz4RoundTrip(benchmark::State& s) { run_roundtrip(s, segment_format::lz4); }
void BM_SegmentEncode(benchmark::State& s) { run_one_way(s, segment_format::uncompressed, true); }
void BM_SegmentDecode(benchmark::State& s) { run_one_way(s, segment_format::uncompressed, false); }
void BM_SegmentLz4Encode(benchmark::State& s) { run_one_way(s, segment_format::lz4, true); }
void BM_SegmentLz4Decode(benchmark::State& s) { run_one_way(s, segment_format::lz4, false); }

void BM_SegmentCrc32(benchmark::State& state) {
    byte_buffer payload(max_segment_payload, 0x5A);
    for (auto _ : state) benchmark::DoNotOptimize(segment_crc32(payload));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload.size()));
}

}  // namespace

// Envelope sizes: small requests (100 B), typical responses (2 KiB), large pages (300 KiB, sliced).
BENCHMARK(BM_SegmentRoundTrip)->Arg(100)->Arg(2048)->Arg(300 * 1024);
BENCHMARK(BM_SegmentLz4RoundTrip)->Arg(100)->Arg(2048)->Arg(300 * 1024);
BENCHMARK(BM_SegmentEncode)->Arg(2048);
BENCHMARK(BM_SegmentDecode)->Arg(2048);
BENCHMARK(BM_SegmentLz4Encode)->Arg(2048);
BENCHMARK(BM_SegmentLz4Decode)->Arg(2048);
BENCHMARK(BM_SegmentCrc32);
