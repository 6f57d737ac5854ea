// The "limit" contender of bench/run: a client with no driver logic at all.
//
// One connection per node, a hand-rolled handshake (STARTUP, then v5 segments
// from the READY on), PREPARE once, then exactly N pre-encoded EXECUTE
// envelopes in flight: each reply frees its stream id and sends the next
// pre-encoded request (stream id patched in place) to the node that owns its
// key (Murmur3 token + the ring read from system.local). What it measures is
// the ceiling: the simulated cluster's speed plus the cost of a socket.
//
// Same CLI and one-line JSON output as every contender (see bench/README.md):
//   cqlpp_bench_limit --hosts 127.0.0.1:PORT[,127.0.0.2:PORT..] --keyspace bench
//                     --workload read|write|mix|scan|stall|load --concurrency N --seconds S
//                     [--rows R] [--warmup S] [--page-size 5000]
// `load` (used by the harness, not a contender figure) creates the keyspace and
// table and inserts rows 0..R-1 with 100-byte blobs, N in flight.
#include "cqlpp/protocol/envelope.hpp"
#include "cqlpp/protocol/messages.hpp"
#include "cqlpp/protocol/murmur3.hpp"
#include "cqlpp/protocol/segment.hpp"

#include <asio.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <vector>

namespace proto = cqlpp::protocol;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

// ---- options ------------------------------------------------------------------

struct options {
    std::vector<std::pair<std::string, std::uint16_t>> hosts;
    std::string keyspace = "bench";
    std::string workload = "read";
    int concurrency = 1;
    double seconds = 5;
    double warmup = 0.5;
    std::int64_t rows = 100000;
    int page_size = 5000;
};

[[noreturn]] void usage(const char* argv0) {
    std::fprintf(stderr,
                 "usage: %s --hosts H:P[,H:P..] [--keyspace bench] --workload read|write|mix|scan|stall|load\n"
                 "          --concurrency N --seconds S [--rows R] [--warmup S] [--page-size N]\n",
                 argv0);
    std::exit(2);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) usage(argv[0]);
        std::string v = argv[++i];
        if (a == "--hosts") {
            std::size_t pos = 0;
            while (pos <= v.size()) {
                auto comma = v.find(',', pos);
                auto item = v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
                auto colon = item.rfind(':');
                if (colon == std::string::npos) usage(argv[0]);
                o.hosts.emplace_back(item.substr(0, colon), static_cast<std::uint16_t>(std::stoi(item.substr(colon + 1))));
                if (comma == std::string::npos) break;
                pos = comma + 1;
            }
        } else if (a == "--keyspace") o.keyspace = v;
        else if (a == "--workload") o.workload = v;
        else if (a == "--concurrency") o.concurrency = std::max(1, std::stoi(v));
        else if (a == "--seconds") o.seconds = std::stod(v);
        else if (a == "--warmup") o.warmup = std::stod(v);
        else if (a == "--rows") o.rows = std::stoll(v);
        else if (a == "--page-size") o.page_size = std::stoi(v);
        else usage(argv[0]);
    }
    if (o.hosts.empty()) usage(argv[0]);
    static const char* known[] = {"read", "write", "mix", "scan", "stall", "load"};
    if (std::find(std::begin(known), std::end(known), o.workload) == std::end(known)) usage(argv[0]);
    return o;
}

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// ---- latency histogram: log-linear buckets, 1/128 relative precision ----------

class histogram {
public:
    histogram() : counts_(256 + 64 * 128, 0) {}
    void record(std::uint64_t v) {
        ++counts_[index(v)];
        ++total_;
        max_ = std::max(max_, v);
    }
    std::uint64_t total() const { return total_; }
    std::uint64_t max() const { return max_; }
    // Value at quantile q (0..1): the middle of the bucket holding it.
    double quantile(double q) const {
        if (total_ == 0) return 0;
        auto rank = static_cast<std::uint64_t>(std::ceil(q * double(total_)));
        if (rank == 0) rank = 1;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::min(double(max_), middle(i));
        }
        return double(max_);
    }
    void reset() {
        std::fill(counts_.begin(), counts_.end(), 0);
        total_ = 0;
        max_ = 0;
    }

private:
    static std::size_t index(std::uint64_t v) {
        if (v < 256) return static_cast<std::size_t>(v);
        int bits = 64 - __builtin_clzll(v);  // v >> shift lands in [128, 256)
        int shift = bits - 8;
        return 256 + static_cast<std::size_t>(shift - 1) * 128 + static_cast<std::size_t>((v >> shift) - 128);
    }
    static double middle(std::size_t i) {
        if (i < 256) return double(i);
        std::size_t shift = (i - 256) / 128 + 1;
        double low = double((i - 256) % 128 + 128) * double(1ull << shift);
        return low + double(1ull << shift) / 2;
    }
    std::vector<std::uint64_t> counts_;
    std::uint64_t total_ = 0;
    std::uint64_t max_ = 0;
};

// ---- encoding helpers ---------------------------------------------------------

proto::byte_buffer envelope_of(proto::opcode op, std::int16_t stream, const auto& write_body) {
    proto::envelope_header h;
    h.version = proto::protocol_version::v5;
    h.op = op;
    h.stream = stream;
    proto::byte_buffer env;
    proto::encode_envelope(env, h, write_body);
    return env;
}

struct prepared {
    proto::byte_buffer id, md_id;
};

proto::byte_buffer execute_envelope(const prepared& p, std::span<const proto::value_view> values,
                                    std::optional<std::int32_t> page_size = std::nullopt,
                                    std::optional<proto::bytes_view> paging_state = std::nullopt) {
    proto::query_parameters qp;
    qp.cl = proto::consistency::one;
    qp.values = proto::view_list<proto::value_view>(values);
    qp.skip_metadata = true;
    qp.page_size = page_size;
    qp.paging_state = paging_state;
    return envelope_of(proto::opcode::execute, 0, [&](proto::byte_writer& w) {
        proto::encode_execute(w, proto::protocol_version::v5, p.id, p.md_id, qp);
    });
}

std::array<std::uint8_t, 4> int_key(std::int32_t k) {
    std::array<std::uint8_t, 4> b{};
    proto::detail::store_be32(b.data(), static_cast<std::uint32_t>(k));
    return b;
}

// ---- one connection -----------------------------------------------------------

struct connection;
using reply_fn = void (*)(void* ctx, connection& c, int tag, const proto::envelope_view& ev, steady::time_point sent);

struct connection {
    explicit connection(asio::io_context& io) : sock(io) {}
    tcp::socket sock;
    int node = 0;
    proto::segment_encoder enc{proto::segment_format::uncompressed};
    proto::frame_reader frames;
    std::vector<std::uint8_t> rbuf = std::vector<std::uint8_t>(256 * 1024);
    proto::byte_buffer out, writing;
    bool write_busy = false;
    bool dirty = false;
    std::vector<std::int16_t> free_streams;
    std::vector<steady::time_point> sent_at = std::vector<steady::time_point>(32768);
    std::vector<int> tag_of = std::vector<int>(32768, 0);
    bool failed = false;

    // ---- blocking setup ----
    void connect(const std::string& host, std::uint16_t port) {
        sock.connect({asio::ip::make_address(host), port});
        sock.set_option(tcp::no_delay(true));
        for (int s = 32767; s >= 1; --s) free_streams.push_back(static_cast<std::int16_t>(s));
        // STARTUP is sent and answered unframed; every byte after READY is in segments.
        std::vector<proto::string_pair> opts{{"CQL_VERSION", "3.0.0"}, {"DRIVER_NAME", "cqlpp-bench-limit"}};
        proto::startup_request s;
        s.options = proto::view_list<proto::string_pair>::owning(opts);
        auto env = envelope_of(proto::opcode::startup, 0, [&](proto::byte_writer& w) { s.encode(w, proto::protocol_version::v5); });
        asio::write(sock, asio::buffer(env));
        auto ready = next_envelope_blocking();
        if (ready.header.op != proto::opcode::ready) throw std::runtime_error("STARTUP: no READY");
        frames.set_framing(proto::segment_format::uncompressed);
    }

    struct owned {
        proto::envelope_header header;
        proto::byte_buffer body;
    };
    owned next_envelope_blocking() {
        for (;;) {
            proto::envelope_view ev;
            auto e = frames.next(ev);
            if (e == proto::errc::ok) return owned{ev.header, proto::byte_buffer(ev.body.begin(), ev.body.end())};
            if (e != proto::errc::need_more_data) throw std::runtime_error("framing error");
            auto n = sock.read_some(asio::buffer(rbuf));
            frames.append(proto::bytes_view(rbuf.data(), n));
        }
    }
    proto::response request_blocking(proto::byte_buffer env) {
        proto::patch_stream(env.data(), 0);
        proto::byte_buffer wire;
        enc.add_envelope(env, wire);
        enc.flush(wire);
        asio::write(sock, asio::buffer(wire));
        auto got = next_envelope_blocking();
        proto::body_prefix prefix;
        proto::bytes_view message;
        proto::response r;
        if (proto::split_body(got.header, got.body, prefix, message) != proto::errc::ok ||
            proto::decode_response(got.header.op, message, got.header.version, r) != proto::errc::ok)
            throw std::runtime_error("undecodable response");
        if (auto* e = std::get_if<proto::error_response>(&r)) throw std::runtime_error("server error: " + e->message);
        return r;
    }
    proto::response query_blocking(const std::string& q) {
        proto::query_request r;
        r.query = q;
        return request_blocking(envelope_of(proto::opcode::query, 0, [&](proto::byte_writer& w) { r.encode(w, proto::protocol_version::v5); }));
    }
    prepared prepare_blocking(const std::string& q) {
        proto::prepare_request r;
        r.query = q;
        auto resp = request_blocking(
            envelope_of(proto::opcode::prepare, 0, [&](proto::byte_writer& w) { r.encode(w, proto::protocol_version::v5); }));
        auto& p = std::get<proto::prepared_result>(std::get<proto::result_response>(resp).value);
        return prepared{p.id, p.result_metadata_id};
    }

    // ---- asynchronous phase ----
    // Queues a pre-encoded envelope (its stream id is patched in place).
    bool send(proto::byte_buffer& env, int tag) {
        if (free_streams.empty()) return false;
        auto s = free_streams.back();
        free_streams.pop_back();
        proto::patch_stream(env.data(), s);
        sent_at[static_cast<std::size_t>(s)] = steady::now();
        tag_of[static_cast<std::size_t>(s)] = tag;
        enc.add_envelope(env, out);
        dirty = true;
        return true;
    }
    void flush() {
        dirty = false;
        if (write_busy || failed) return;
        if (enc.has_pending()) enc.flush(out);
        if (out.empty()) return;
        std::swap(out, writing);
        write_busy = true;
        asio::async_write(sock, asio::buffer(writing), [this](std::error_code ec, std::size_t) {
            write_busy = false;
            writing.clear();
            if (ec) {
                failed = true;
                return;
            }
            flush();
        });
    }
};

// ---- the run ------------------------------------------------------------------

struct request_slot {
    int node;
    proto::byte_buffer env;
    bool write;
};

struct runner {
    options o;
    asio::io_context io{1};
    std::vector<std::unique_ptr<connection>> conns;
    std::vector<std::pair<std::int64_t, int>> ring;  // token -> node
    std::vector<request_slot> pool;                  // pre-encoded requests, sent in order
    std::size_t next_slot = 0;
    prepared read_stmt, write_stmt, scan_stmt;

    // Measurement state.
    bool measuring = false, stopping = false;
    std::uint64_t ops = 0, errors = 0, rows = 0;
    histogram hist;
    double cpu0 = 0, cpu1 = 0;
    steady::time_point t0, t1;
    std::int64_t in_flight = 0;
    // scan state
    proto::byte_buffer scan_paging;
    bool scan_has_more = false;
    bool scan_enabled = false;
    proto::result_response page;  // reused between pages
    // stall ticker
    std::optional<asio::steady_timer> ticker;
    histogram ticker_hist;  // lateness in microseconds
    steady::time_point tick_due;
    // load state
    std::int64_t load_next = 0;
    std::vector<std::uint8_t> blob = std::vector<std::uint8_t>(100, 0xab);

    int owner(std::int32_t key) const {
        auto kb = int_key(key);
        auto t = proto::murmur3_token(proto::bytes_view(kb.data(), kb.size()));
        auto it = std::lower_bound(ring.begin(), ring.end(), std::make_pair(t, -1));
        if (it == ring.end()) it = ring.begin();
        return it->second;
    }

    void setup() {
        for (std::size_t i = 0; i < o.hosts.size(); ++i) {
            auto c = std::make_unique<connection>(io);
            c->node = static_cast<int>(i);
            c->connect(o.hosts[i].first, o.hosts[i].second);
            conns.push_back(std::move(c));
        }
        auto& c0 = *conns[0];
        if (o.workload == "load") {
            c0.query_blocking("CREATE KEYSPACE IF NOT EXISTS " + o.keyspace +
                              " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
            c0.query_blocking("CREATE TABLE IF NOT EXISTS " + o.keyspace + ".kv (k int PRIMARY KEY, v blob)");
        }
        // The ring: each node's own tokens from system.local, on its own connection.
        for (auto& c : conns) {
            auto resp = c->query_blocking("SELECT tokens FROM system.local");
            auto& rs = std::get<proto::rows_result>(std::get<proto::result_response>(resp).value);
            if (rs.size() != 1) throw std::runtime_error("system.local: expected one row");
            proto::byte_reader r(rs.cell(0, 0).bytes);
            auto n = r.i32();
            for (std::int32_t i = 0; i < n; ++i) {
                auto len = r.i32();
                auto b = r.raw(static_cast<std::size_t>(len));
                std::string s(reinterpret_cast<const char*>(b.data()), b.size());
                ring.emplace_back(std::stoll(s), c->node);
            }
        }
        std::sort(ring.begin(), ring.end());
        for (auto& c : conns) {
            read_stmt = c->prepare_blocking("SELECT v FROM " + o.keyspace + ".kv WHERE k = ?");
            write_stmt = c->prepare_blocking("INSERT INTO " + o.keyspace + ".kv (k, v) VALUES (?, ?)");
            scan_stmt = c->prepare_blocking("SELECT k, v FROM " + o.keyspace + ".kv");
        }
        // Pre-encoded requests for uniformly random keys (fixed seed), routed by token.
        if (o.workload == "read" || o.workload == "write" || o.workload == "mix" || o.workload == "stall") {
            std::mt19937_64 rng(12345);
            std::uniform_int_distribution<std::int64_t> key(0, std::max<std::int64_t>(o.rows, 1) - 1);
            std::uniform_int_distribution<int> pct(0, 99);
            const std::size_t n = 65536;
            pool.reserve(n);
            for (std::size_t i = 0; i < n; ++i) {
                auto k = static_cast<std::int32_t>(key(rng));
                bool write = o.workload == "write" || (o.workload == "mix" && pct(rng) < 10);
                pool.push_back({owner(k), encode_kv(k, write), write});
            }
        }
    }

    proto::byte_buffer encode_kv(std::int32_t k, bool write) {
        auto kb = int_key(k);
        if (write) {
            proto::value_view v[2] = {proto::value_view::of(proto::bytes_view(kb.data(), 4)),
                                      proto::value_view::of(proto::bytes_view(blob.data(), blob.size()))};
            return execute_envelope(write_stmt, v);
        }
        proto::value_view v[1] = {proto::value_view::of(proto::bytes_view(kb.data(), 4))};
        return execute_envelope(read_stmt, v);
    }

    // tag 0: a pooled request; 1: a scan page; 2: a load insert.
    void send_next() {
        if (stopping) return;
        if (o.workload == "load") {
            if (load_next >= o.rows) return;
            auto k = static_cast<std::int32_t>(load_next++);
            auto env = encode_kv(k, true);
            conns[static_cast<std::size_t>(owner(k))]->send(env, 2);
        } else {
            auto& slot = pool[next_slot++ % pool.size()];
            conns[static_cast<std::size_t>(slot.node)]->send(slot.env, 0);
        }
        ++in_flight;
    }

    void send_scan_page() {
        if (stopping) return;
        proto::value_view none[1];
        auto env = scan_has_more ? execute_envelope(scan_stmt, std::span<const proto::value_view>(none, 0), o.page_size,
                                                    proto::bytes_view(scan_paging))
                                 : execute_envelope(scan_stmt, std::span<const proto::value_view>(none, 0), o.page_size);
        conns[0]->send(env, 1);
        ++in_flight;
    }

    void on_reply(connection& c, const proto::envelope_view& ev) {
        auto s = static_cast<std::size_t>(static_cast<std::uint16_t>(ev.header.stream));
        if (s == 0 || s >= 32768) return;  // events, or setup replies
        auto now = steady::now();
        int tag = c.tag_of[s];
        auto sent = c.sent_at[s];
        c.free_streams.push_back(static_cast<std::int16_t>(s));
        --in_flight;
        bool ok = ev.header.op == proto::opcode::result;
        if (!ok && errors < 5) {
            proto::body_prefix prefix;
            proto::bytes_view message;
            proto::response r;
            if (proto::split_body(ev.header, ev.body, prefix, message) == proto::errc::ok &&
                proto::decode_response(ev.header.op, message, ev.header.version, r) == proto::errc::ok)
                if (auto* e = std::get_if<proto::error_response>(&r)) std::fprintf(stderr, "limit: error reply: %s\n", e->message.c_str());
        }
        if (tag == 1) {
            // A scan page: the only reply this client decodes (for the paging state and the row count).
            std::int64_t got = 0;
            scan_has_more = false;
            proto::body_prefix prefix;
            proto::bytes_view message;
            if (ok && proto::split_body(ev.header, ev.body, prefix, message) == proto::errc::ok &&
                proto::result_response::decode(message, ev.header.version, page) == proto::errc::ok) {
                if (auto* rs = std::get_if<proto::rows_result>(&page.value)) {
                    got = rs->row_count;
                    if (rs->metadata.paging_state) {
                        scan_has_more = true;
                        scan_paging = *rs->metadata.paging_state;
                    }
                }
            } else {
                ok = false;
            }
            if (measuring) rows += static_cast<std::uint64_t>(got);
            bool pass_done = !scan_has_more;
            if (!ok) scan_has_more = false;
            if (o.workload == "scan" && pass_done && steady::now() >= t1) finish();
            else if (ok || !stopping) send_scan_page();
        } else if (tag == 2) {
            if (ok) ++ops;
            else ++errors;
            if (load_next < o.rows) send_next();
            else if (in_flight == 0) finish();
        } else {
            send_next();
        }
        if (measuring && tag != 2 && !(tag == 1 && o.workload == "stall")) {
            if (ok) {
                ++ops;
                hist.record(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent).count()));
            } else {
                ++errors;
            }
        }
    }

    void read_loop(connection& c) {
        c.sock.async_read_some(asio::buffer(c.rbuf), [this, &c](std::error_code ec, std::size_t n) {
            if (ec) {
                if (!stopping) {
                    std::fprintf(stderr, "limit: connection to node %d: %s\n", c.node, ec.message().c_str());
                    c.failed = true;
                    finish();
                }
                return;
            }
            c.frames.append(proto::bytes_view(c.rbuf.data(), n));
            proto::envelope_view ev;
            proto::errc e;
            while ((e = c.frames.next(ev)) == proto::errc::ok) on_reply(c, ev);
            if (e != proto::errc::need_more_data) {
                std::fprintf(stderr, "limit: framing error from node %d\n", c.node);
                c.failed = true;
                finish();
                return;
            }
            for (auto& x : conns)
                if (x->dirty) x->flush();
            read_loop(c);
        });
    }

    void tick() {
        ticker->expires_at(tick_due);
        ticker->async_wait([this](std::error_code ec) {
            if (ec || stopping) return;
            auto now = steady::now();
            if (measuring)
                ticker_hist.record(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now - tick_due).count()));
            tick_due = now + std::chrono::milliseconds(1);
            tick();
        });
    }

    bool finished = false;
    void finish() {
        if (finished) return;
        finished = true;
        stopping = true;
        measuring = false;
        t1 = steady::now();
        cpu1 = cpu_seconds();
        io.stop();
    }

    void begin_measuring() {
        measuring = true;
        ops = errors = rows = 0;
        hist.reset();
        ticker_hist.reset();
        cpu0 = cpu_seconds();
        t0 = steady::now();
    }

    int run() {
        setup();
        bool is_scan = o.workload == "scan";
        bool is_load = o.workload == "load";
        double warm = (is_scan || is_load) ? 0 : o.warmup;
        asio::steady_timer warm_timer(io), end_timer(io);
        if (is_load) {
            begin_measuring();
            t1 = steady::time_point::max();
            for (int i = 0; i < o.concurrency && load_next < o.rows; ++i) send_next();
            if (in_flight == 0) finish();
        } else {
            if (warm > 0) {
                warm_timer.expires_after(std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(warm)));
                warm_timer.async_wait([this](std::error_code ec) {
                    if (!ec) begin_measuring();
                });
            } else {
                begin_measuring();
            }
            t1 = steady::now() + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(warm + o.seconds));
            if (!is_scan) {
                end_timer.expires_at(t1);
                end_timer.async_wait([this](std::error_code ec) {
                    if (!ec) finish();
                });
            }
            if (is_scan || o.workload == "stall") send_scan_page();
            if (!is_scan)
                for (int i = 0; i < o.concurrency; ++i) send_next();
            if (o.workload == "stall") {
                ticker.emplace(io);
                tick_due = steady::now() + std::chrono::milliseconds(1);
                tick();
            }
        }
        for (auto& c : conns) c->flush();
        for (auto& c : conns) read_loop(*c);
        io.run();
        if (!finished) finish();
        report();
        for (auto& c : conns)
            if (c->failed) return 1;
        return 0;
    }

    void report() {
        double secs = std::chrono::duration<double>(t1 - t0).count();
        double cpu = cpu1 - cpu0;
        std::string extra;
        char buf[512];
        if (o.workload == "scan" || o.workload == "stall" || o.workload == "load") {
            std::snprintf(buf, sizeof buf, ",\"rows\":%llu,\"rows_per_s\":%.1f", static_cast<unsigned long long>(o.workload == "load" ? ops : rows),
                          double(o.workload == "load" ? ops : rows) / (secs > 0 ? secs : 1));
            extra += buf;
        }
        if (o.workload == "stall") {
            std::snprintf(buf, sizeof buf, ",\"ticker_max_delay_ms\":%.3f,\"ticker_p99_delay_ms\":%.3f,\"ticks\":%llu",
                          double(ticker_hist.max()) / 1000.0, ticker_hist.quantile(0.99) / 1000.0,
                          static_cast<unsigned long long>(ticker_hist.total()));
            extra += buf;
        }
        rusage ru{};
        getrusage(RUSAGE_SELF, &ru);
        std::printf("{\"contender\":\"limit\",\"mode\":\"pipelined\",\"workload\":\"%s\",\"concurrency\":%d,"
                    "\"ops\":%llu,\"errors\":%llu,\"seconds\":%.3f,\"ops_per_s\":%.1f,"
                    "\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
                    "\"cpu_s\":%.3f,\"ops_per_cpu_s\":%.1f,\"peak_rss_kib\":%ld,\"threads\":1,\"connections\":%zu%s}\n",
                    o.workload.c_str(), o.workload == "scan" ? 1 : o.concurrency, static_cast<unsigned long long>(ops),
                    static_cast<unsigned long long>(errors), secs, double(ops) / (secs > 0 ? secs : 1),
                    hist.quantile(0.5) / 1000.0, hist.quantile(0.99) / 1000.0, hist.quantile(0.999) / 1000.0,
                    double(hist.max()) / 1000.0, cpu, cpu > 0 ? double(ops) / cpu : 0.0, ru.ru_maxrss, conns.size(),
                    extra.c_str());
        std::fflush(stdout);
    }
};

}  // namespace

int main(int argc, char** argv) {
    runner r;
    r.o = parse(argc, argv);
    try {
        return r.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "limit: %s\n", e.what());
        return 1;
    }
}
