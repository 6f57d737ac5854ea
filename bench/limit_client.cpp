// The "limit" contender of bench/run: a client with no driver logic at all.
//
// One connection per node, a hand-rolled handshake (STARTUP, then v5 segments
// from the READY on), PREPARE once, then exactly N pre-encoded EXECUTE
// envelopes in flight: each reply frees its stream id and sends the next
// pre-encoded request (stream id patched in place) to the node that owns its
// key (Murmur3 token + the ring read from system.local). What it measures is
// the ceiling: the simulated cluster's speed plus the cost of a socket.
// --rate R runs open loop instead: request i is due at start + i/R, at most N
// in flight, latency counted from the due time (coordinated omission corrected).
//
// Same CLI and one-line JSON output as every contender (see bench/README.md):
//   cqlpp_bench_limit --hosts 127.0.0.1:PORT[,127.0.0.2:PORT..] --keyspace bench
//                     --workload read|write|mix|scan|stall|load --concurrency N --seconds S
//                     [--rows R] [--warmup S] [--page-size 5000] [--rate R]
// `load` (used by the harness, not a contender figure) creates the keyspace and
// table and inserts rows 0..R-1 with 100-byte blobs, N in flight.
#include "cqlpp/protocol/envelope.hpp"
#include "cqlpp/protocol/messages.hpp"
#include "cqlpp/protocol/murmur3.hpp"
#include "cqlpp/protocol/segment.hpp"

#include "bench_common.hpp"

#include <asio.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fcntl.h>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace proto = cqlpp::protocol;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using cqlpp::bench::cpu_seconds;
using cqlpp::bench::runqueue_clock;

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
    double rate = 0;  // fixed rate (requests/s) for read/write/mix; 0: closed loop
    std::int64_t ops = 0;  // > 0: measure exactly this many answers (bench/instr), not a time window
    std::int64_t warmup_ops = 2000;
};

[[noreturn]] void usage(const char* argv0) {
    std::fprintf(stderr,
                 "usage: %s --hosts H:P[,H:P..] [--keyspace bench] --workload read|write|mix|scan|stall|load\n"
                 "          --concurrency N --seconds S [--rows R] [--warmup S] [--page-size N] [--rate R]\n"
                 "          [--ops N [--warmup-ops W]]   (read|write|mix, closed loop: N answers counted)\n",
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
        else if (a == "--rate") o.rate = std::max(0.0, std::stod(v));
        else if (a == "--ops") o.ops = std::max<std::int64_t>(0, std::stoll(v));
        else if (a == "--warmup-ops") o.warmup_ops = std::max<std::int64_t>(1, std::stoll(v));
        else usage(argv[0]);
    }
    if (o.hosts.empty()) usage(argv[0]);
    static const char* known[] = {"read", "write", "mix", "scan", "stall", "load"};
    if (std::find(std::begin(known), std::end(known), o.workload) == std::end(known)) usage(argv[0]);
    if (o.workload == "scan" || o.workload == "stall" || o.workload == "load") o.rate = 0;
    if (o.ops > 0 && (o.rate > 0 || (o.workload != "read" && o.workload != "write" && o.workload != "mix"))) usage(argv[0]);
    return o;
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
    std::vector<steady::time_point> due_at = std::vector<steady::time_point>(32768);  // fixed rate
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
    bool send(proto::byte_buffer& env, int tag, steady::time_point due = {}) {
        if (free_streams.empty()) return false;
        auto s = free_streams.back();
        free_streams.pop_back();
        proto::patch_stream(env.data(), s);
        sent_at[static_cast<std::size_t>(s)] = steady::now();
        due_at[static_cast<std::size_t>(s)] = due;
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
    histogram ticker_hist;       // lateness in microseconds
    histogram ticker_loop_hist;  // lateness minus the run-queue wait over the tick
    std::uint64_t ticks_over_2ms = 0, loop_ticks_over_2ms = 0;
    std::optional<runqueue_clock> runqueue;
    std::int64_t tick_wait0 = 0;
    steady::time_point tick_due;
    // fixed rate: slot i due at pace_start + i/rate; measured when answered in [pace_from, pace_end]
    steady::time_point pace_start, pace_from, pace_end;
    std::uint64_t next_due = 0;
    std::optional<asio::steady_timer> pace_timer;
    bool pace_timer_armed = false, pacing_over = false, window_closed = false;
    histogram service_hist;
    std::uint64_t issued = 0, late_starts = 0;  // all requests sent; measured ones sent > 1 ms late
    // load state
    std::int64_t load_next = 0;
    std::vector<std::uint8_t> blob = std::vector<std::uint8_t>(100, 0xab);
    cqlpp::bench::fixed_count fixed;  // --ops

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

    steady::time_point due_of(std::uint64_t i) const {
        return pace_start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(double(i) / o.rate));
    }

    // Fixed rate: sends every slot that is due while fewer than N are in flight
    // (a backlog goes out at once, still measured from its due time), then
    // sleeps until the next due slot. Called by its timer and by each reply.
    void pace() {
        auto now = steady::now();
        if (now >= pace_end) pacing_over = true;  // a backlog left at the end is not sent (unissued)
        while (!pacing_over && in_flight < o.concurrency) {
            auto due = due_of(next_due);
            if (due >= pace_end) {
                pacing_over = true;
                break;
            }
            if (due > now) {
                if (!pace_timer_armed) {
                    pace_timer_armed = true;
                    pace_timer->expires_at(due);
                    pace_timer->async_wait([this](std::error_code ec) {
                        pace_timer_armed = false;
                        if (ec || stopping) return;
                        pace();
                        for (auto& c : conns)
                            if (c->dirty) c->flush();
                    });
                }
                break;
            }
            ++next_due;
            auto& slot = pool[next_slot++ % pool.size()];
            conns[static_cast<std::size_t>(slot.node)]->send(slot.env, 0, due);
            ++in_flight;
            ++issued;
        }
        if (pacing_over && in_flight == 0) finish();
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
        auto due = c.due_at[s];
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
        } else if (o.rate > 0) {
            // Measured: answered within the window, whenever due (a backlog from
            // the warm-up counts, with its whole wait).
            if (now >= pace_from && now <= pace_end) {
                if (sent - due > std::chrono::milliseconds(1)) ++late_starts;
                if (ok) {
                    ++ops;
                    hist.record(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - due).count()));
                    service_hist.record(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent).count()));
                } else {
                    ++errors;
                }
            }
            pace();
            return;
        } else if (fixed.enabled()) {
            fixed.on_answer();
            if (fixed.seen > fixed.warmup && fixed.seen <= fixed.warmup + fixed.count) ok ? ++ops : ++errors;
            if (!fixed.done()) send_next();
            else if (in_flight == 0) finish();
            return;
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

    // The run-queue wait over the tick's interval is taken off its lateness:
    // the rest is the loop's own doing, not the OS running someone else.
    void tick() {
        tick_wait0 = runqueue->wait_ns();
        ticker->expires_at(tick_due);
        ticker->async_wait([this](std::error_code ec) {
            if (ec || stopping) return;
            auto now = steady::now();
            auto waited = runqueue->wait_ns() - tick_wait0;
            if (measuring) {
                auto late = std::chrono::duration_cast<std::chrono::microseconds>(now - tick_due).count();
                auto loop_late = std::max<std::int64_t>(0, late - waited / 1000);
                ticker_hist.record(static_cast<std::uint64_t>(late));
                ticker_loop_hist.record(static_cast<std::uint64_t>(loop_late));
                if (late > 2000) ++ticks_over_2ms;
                if (loop_late > 2000) ++loop_ticks_over_2ms;
            }
            tick_due = now + std::chrono::milliseconds(1);
            tick();
        });
    }

    bool finished = false;
    // The end of the measured window (fixed rate: replies still drain after it).
    void close_window() {
        if (window_closed) return;
        window_closed = true;
        measuring = false;
        t1 = steady::now();
        cpu1 = cpu_seconds();
    }
    void finish() {
        if (finished) return;
        finished = true;
        stopping = true;
        close_window();
        io.stop();
    }

    void begin_measuring() {
        measuring = true;
        rows = 0;
        if (o.rate <= 0) {  // fixed rate selects by due time instead
            ops = errors = 0;
            hist.reset();
        }
        ticker_hist.reset();
        ticker_loop_hist.reset();
        ticks_over_2ms = loop_ticks_over_2ms = 0;
        cpu0 = cpu_seconds();
        t0 = steady::now();
    }

    int run() {
        setup();
        bool is_scan = o.workload == "scan";
        bool is_load = o.workload == "load";
        double warm = (is_scan || is_load) ? 0 : o.warmup;
        asio::steady_timer warm_timer(io), end_timer(io);
        if (o.ops > 0) {
            fixed.count = static_cast<std::uint64_t>(o.ops);
            fixed.warmup = static_cast<std::uint64_t>(o.warmup_ops);
            begin_measuring();
            t1 = steady::time_point::max();
            for (int i = 0; i < o.concurrency; ++i) send_next();
        } else if (is_load) {
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
            pace_start = steady::now();
            t1 = pace_start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(warm + o.seconds));
            pace_from = pace_start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(warm));
            pace_end = t1;
            if (!is_scan) {
                end_timer.expires_at(t1);
                end_timer.async_wait([this](std::error_code ec) {
                    if (ec) return;
                    if (o.rate <= 0) return finish();
                    close_window();
                    pace();  // stops pacing; finishes once the last reply is in
                });
            }
            if (is_scan || o.workload == "stall") send_scan_page();
            if (o.rate > 0) {
                pace_timer.emplace(io);
                pace();
            } else if (!is_scan) {
                for (int i = 0; i < o.concurrency; ++i) send_next();
            }
            if (o.workload == "stall") {
                runqueue.emplace();
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
        // Fixed rate: the nominal window, which the measured requests' due times span exactly.
        double secs = o.rate > 0 ? o.seconds : std::chrono::duration<double>(t1 - t0).count();
        double cpu = cpu1 - cpu0;
        std::string extra;
        char buf[512];
        if (o.workload == "scan" || o.workload == "stall" || o.workload == "load") {
            std::snprintf(buf, sizeof buf, ",\"rows\":%llu,\"rows_per_s\":%.1f", static_cast<unsigned long long>(o.workload == "load" ? ops : rows),
                          double(o.workload == "load" ? ops : rows) / (secs > 0 ? secs : 1));
            extra += buf;
        }
        if (o.workload == "stall") {
            std::snprintf(buf, sizeof buf, ",\"ticker_max_delay_ms\":%.3f,\"ticker_p99_delay_ms\":%.3f,\"ticks\":%llu,\"ticks_over_2ms\":%llu",
                          double(ticker_hist.max()) / 1000.0, ticker_hist.quantile(0.99) / 1000.0,
                          static_cast<unsigned long long>(ticker_hist.total()), static_cast<unsigned long long>(ticks_over_2ms));
            extra += buf;
            if (runqueue && runqueue->ok())
                std::snprintf(buf, sizeof buf, ",\"ticker_loop_max_ms\":%.3f,\"ticker_loop_p99_ms\":%.3f,\"loop_ticks_over_2ms\":%llu",
                              double(ticker_loop_hist.max()) / 1000.0, ticker_loop_hist.quantile(0.99) / 1000.0,
                              static_cast<unsigned long long>(loop_ticks_over_2ms));
            else
                std::snprintf(buf, sizeof buf, ",\"ticker_loop_max_ms\":null,\"ticker_loop_p99_ms\":null,\"loop_ticks_over_2ms\":null");
            extra += buf;
        }
        if (o.rate > 0) {
            // Slots due before the end that were never sent: the backlog left.
            double due_slots = std::ceil(o.rate * (o.warmup + o.seconds));
            std::snprintf(buf, sizeof buf,
                          ",\"rate\":%.1f,\"achieved_rate\":%.1f,\"late_starts\":%llu,\"unissued\":%.0f,"
                          "\"service_p50_us\":%.1f,\"service_p99_us\":%.1f,\"service_p999_us\":%.1f",
                          o.rate, double(ops) / (secs > 0 ? secs : 1), static_cast<unsigned long long>(late_starts),
                          std::max(0.0, due_slots - double(issued)), service_hist.quantile(0.5) / 1000.0,
                          service_hist.quantile(0.99) / 1000.0, service_hist.quantile(0.999) / 1000.0);
            extra += buf;
        } else {
            extra += ",\"rate\":0";
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
