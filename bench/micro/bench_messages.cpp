// Message body codecs: the EXECUTE encode hot path and RESULT Rows decoding.
#include "cqlpp/protocol/messages.hpp"

#include <benchmark/benchmark.h>

#include <string>

using namespace cqlpp::protocol;

namespace {

// EXECUTE v5 with a 16-byte id, 8-byte result metadata id and two values
// (int + 100-byte blob), into a reused buffer.
void BM_ExecuteEncode(benchmark::State& state) {
    const byte_buffer id(16, 0x11);
    const byte_buffer md(8, 0x22);
    const byte_buffer int_value = {0, 0, 0, 42};
    const byte_buffer blob(100, 0xAB);
    const value_view values[] = {value_view::of(int_value), value_view::of(blob)};
    query_parameters p;
    p.cl = consistency::local_quorum;
    p.values = values;
    p.skip_metadata = true;
    p.page_size = 5000;

    byte_buffer out;
    out.reserve(512);
    for (auto _ : state) {
        out.clear();
        byte_writer w(out);
        encode_execute(w, protocol_version::v5, id, md, p);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
    state.counters["body_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_ExecuteEncode);

// A RESULT Rows page of 1,000 rows (int, ~20-byte text, ~100-byte blob),
// decoded again and again into the same response (cell vector reused).
byte_buffer make_rows_body(int rows) {
    result_metadata m;
    m.global_table = table_spec{"bench_ks", "bench_table"};
    m.columns = {{"bench_ks", "bench_table", "id", cql_type(type_kind::int_)},
                 {"bench_ks", "bench_table", "name", cql_type(type_kind::text)},
                 {"bench_ks", "bench_table", "payload", cql_type(type_kind::blob)}};
    m.paging_state = byte_buffer(24, 0x07);

    std::vector<byte_buffer> storage;
    storage.reserve(static_cast<std::size_t>(rows) * 3);
    std::vector<value_view> cells;
    cells.reserve(static_cast<std::size_t>(rows) * 3);
    for (int i = 0; i < rows; ++i) {
        byte_buffer& id = storage.emplace_back(4);
        detail::store_be32(id.data(), static_cast<std::uint32_t>(i));
        std::string name = "user-name-" + std::to_string(1000000000 + i);  // 20 bytes
        storage.emplace_back(name.begin(), name.end());
        storage.emplace_back(100 + i % 8, static_cast<std::uint8_t>(i));
        for (std::size_t k = storage.size() - 3; k < storage.size(); ++k) cells.push_back(value_view::of(storage[k]));
    }
    byte_buffer body;
    byte_writer w(body);
    encode_rows(w, protocol_version::v5, m, cells);
    return body;
}

void BM_RowsDecode(benchmark::State& state) {
    const int rows = static_cast<int>(state.range(0));
    const byte_buffer body = make_rows_body(rows);
    response r;
    for (auto _ : state) {
        errc e = decode_response(opcode::result, body, protocol_version::v5, r);
        if (e != errc::ok) {
            state.SkipWithError("decode failed");
            break;
        }
        benchmark::DoNotOptimize(&r);
    }
    state.SetItemsProcessed(state.iterations() * rows);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
    state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_RowsDecode)->Arg(1000);

}  // namespace
