// How fast the simulated cluster serves: one node on one I/O thread, driven
// by pipelining clients that send pre-encoded prepared single-partition reads
// (no driver logic). Prints requests/s and the server thread's CPU time.
//
//   build/release/bench/cqlpp_sim_bench [--seconds 5] [--connections 4] [--depth 128]
#include "raw_client.hpp"

#include "cqlpp/sim/cluster.hpp"

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <sys/resource.h>
#include <thread>

using namespace cqlpp;
namespace proto = cqlpp::protocol;
using tcp = asio::ip::tcp;

namespace {

struct options {
    double seconds = 5;
    int connections = 4;
    int depth = 128;  // requests in flight per connection
    int keys = 10000;
    std::uint16_t port = 19900;
};

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

proto::byte_buffer execute_envelope(proto::bytes_view id, proto::bytes_view md_id, std::int32_t key) {
    std::uint8_t kb[4];
    proto::detail::store_be32(kb, static_cast<std::uint32_t>(key));
    proto::value_view values[1] = {proto::value_view::of(proto::bytes_view(kb, 4))};
    proto::query_parameters p;
    p.cl = proto::consistency::one;
    p.values = values;
    p.skip_metadata = true;
    proto::envelope_header h;
    h.op = proto::opcode::execute;
    proto::byte_buffer env;
    proto::encode_envelope(env, h, [&](proto::byte_writer& w) { proto::encode_execute(w, h.version, id, md_id, p); });
    return env;
}

// One pipelining connection: keeps `depth` requests in flight, framing each
// batch of requests into segments, counting responses.
struct load_connection {
    load_connection(tcp::socket s, std::vector<proto::byte_buffer>* r, std::atomic<std::uint64_t>* d,
                    std::atomic<bool>* st, int dep)
        : sock(std::move(s)), requests(r), done(d), stop(st), depth(dep) {}
    tcp::socket sock;
    proto::segment_encoder enc{proto::segment_format::uncompressed};
    proto::frame_reader frames;
    std::vector<proto::byte_buffer>* requests;
    std::atomic<std::uint64_t>* done;
    std::atomic<bool>* stop;
    int depth;
    std::size_t next = 0;

    asio::awaitable<void> run() {
        constexpr auto tok = asio::experimental::as_tuple(asio::use_awaitable);
        frames.set_framing(proto::segment_format::uncompressed);
        proto::byte_buffer out;
        auto send = [&](int n) {
            for (int i = 0; i < n; ++i) {
                auto& env = (*requests)[next++ % requests->size()];
                proto::patch_stream(env.data(), static_cast<std::int16_t>(next & 0x7FFF));
                enc.add_envelope(env, out);
            }
            enc.flush(out);
        };
        send(depth);
        std::vector<std::uint8_t> buf(256 * 1024);
        while (!stop->load(std::memory_order_relaxed)) {
            if (!out.empty()) {
                auto [ec, n] = co_await asio::async_write(sock, asio::buffer(out), tok);
                if (ec) co_return;
                out.clear();
            }
            auto [ec, n] = co_await sock.async_read_some(asio::buffer(buf), tok);
            if (ec) co_return;
            frames.append(proto::bytes_view(buf.data(), n));
            proto::envelope_view ev;
            int got = 0;
            while (frames.next(ev) == proto::errc::ok) {
                if (ev.header.op != proto::opcode::result) {
                    std::fprintf(stderr, "unexpected response opcode %d\n", int(ev.header.op));
                    std::exit(1);
                }
                ++got;
            }
            done->fetch_add(static_cast<std::uint64_t>(got), std::memory_order_relaxed);
            send(got);
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--seconds") o.seconds = std::stod(argv[i + 1]);
        else if (a == "--connections") o.connections = std::stoi(argv[i + 1]);
        else if (a == "--depth") o.depth = std::stoi(argv[i + 1]);
        else if (a == "--port") o.port = static_cast<std::uint16_t>(std::stoi(argv[i + 1]));
        else {
            std::fprintf(stderr, "usage: %s [--seconds S] [--connections N] [--depth D] [--port P]\n", argv[0]);
            return 2;
        }
    }

    sim::cluster_config cfg;
    cfg.topology.nodes = 1;
    cfg.topology.base_port = o.port;
    cfg.threads = 1;
    sim::cluster cluster(cfg);
    cluster.start();

    // Schema and data through an ordinary connection.
    test::raw_client setup;
    if (!setup.connect("127.0.0.1", o.port)) return 1;
    setup.handshake();
    auto q = [&](const char* text) {
        proto::query_request r;
        r.query = text;
        auto resp = setup.request(r);
        if (auto* e = std::get_if<proto::error_response>(&resp)) {
            std::fprintf(stderr, "setup failed: %s: %s\n", text, e->message.c_str());
            std::exit(1);
        }
    };
    q("CREATE KEYSPACE bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    q("CREATE TABLE bench.kv (k int PRIMARY KEY, v blob)");
    // 200 rows (about 21 KB) a batch: Cassandra, and so the sim, refuses batches over 50 KiB.
    for (int k = 0; k < o.keys; k += 200) {
        std::string batch = "BEGIN UNLOGGED BATCH ";
        for (int i = k; i < std::min(k + 200, o.keys); ++i)
            batch += "INSERT INTO bench.kv (k, v) VALUES (" + std::to_string(i) + ", 0x" + std::string(200, 'a') + "); ";
        batch += "APPLY BATCH";
        q(batch.c_str());
    }
    proto::prepare_request prep;
    prep.query = "SELECT v FROM bench.kv WHERE k = ?";
    auto pr = setup.request(prep);
    auto& prepared = std::get<proto::prepared_result>(std::get<proto::result_response>(pr).value);

    // Check once that the prepared read returns the row, so the figures are for real work.
    {
        auto env = execute_envelope(prepared.id, prepared.result_metadata_id, 7);
        setup.send_raw_envelope(env);
        auto resp = setup.expect();
        auto* res = std::get_if<proto::result_response>(&resp);
        auto* rows = res ? std::get_if<proto::rows_result>(&res->value) : nullptr;
        if (!rows || rows->size() != 1 || rows->cell(0, 0).bytes.size() != 100) {
            std::fprintf(stderr, "prepared read did not return the expected row\n");
            return 1;
        }
    }

    std::vector<proto::byte_buffer> requests;
    for (int k = 0; k < o.keys; ++k) requests.push_back(execute_envelope(prepared.id, prepared.result_metadata_id, k));

    asio::io_context io(1);
    std::atomic<std::uint64_t> done{0};
    std::atomic<bool> stop{false};
    std::vector<std::unique_ptr<load_connection>> conns;
    for (int i = 0; i < o.connections; ++i) {
        auto c = std::make_unique<load_connection>(tcp::socket(io), &requests, &done, &stop, o.depth);
        c->sock.connect({asio::ip::make_address("127.0.0.1"), o.port});
        c->sock.set_option(tcp::no_delay(true));
        // OPTIONS is skipped: STARTUP directly, unframed, then READY.
        proto::byte_buffer env;
        proto::envelope_header h;
        h.op = proto::opcode::startup;
        std::vector<proto::string_pair> opts{{"CQL_VERSION", "3.0.0"}};
        proto::startup_request s;
        s.options = proto::view_list<proto::string_pair>::owning(opts);
        proto::encode_envelope(env, h, [&](proto::byte_writer& w) { s.encode(w, h.version); });
        asio::write(c->sock, asio::buffer(env));
        std::uint8_t ready[9];
        asio::read(c->sock, asio::buffer(ready));
        if (ready[4] != static_cast<std::uint8_t>(proto::opcode::ready)) return 1;
        conns.push_back(std::move(c));
    }
    for (auto& c : conns) asio::co_spawn(io, c->run(), asio::detached);

    std::thread client([&] { io.run(); });
    // Warm up, then measure.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto n0 = done.load();
    auto cpu0 = cpu_seconds();
    auto server_cpu0 = cluster.io_cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
    auto n1 = done.load();
    auto cpu1 = cpu_seconds();
    auto server_cpu1 = cluster.io_cpu_seconds();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stop = true;
    io.stop();
    client.join();

    double rate = double(n1 - n0) / wall;
    std::printf("sim: 1 node, 1 I/O thread, %d connection(s) x %d in flight, prepared single-partition reads\n",
                o.connections, o.depth);
    std::printf("  requests: %llu in %.2f s\n", static_cast<unsigned long long>(n1 - n0), wall);
    std::printf("  throughput: %.0f requests/s\n", rate);
    double server_cpu = server_cpu1 - server_cpu0;
    std::printf("  server I/O thread CPU: %.2f s over %.2f s wall -> %.0f requests per server CPU-second\n", server_cpu,
                wall, double(n1 - n0) / (server_cpu > 0 ? server_cpu : 1));
    std::printf("  process CPU (server + load client): %.2f s\n", cpu1 - cpu0);
    std::printf("  server counters: %llu EXECUTE\n",
                static_cast<unsigned long long>(cluster.counters(0).requests_of(proto::opcode::execute)));
    cluster.stop();
    return 0;
}
