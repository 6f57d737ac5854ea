// Network layer of the simulated cluster: listeners, connections, the
// handshake (version negotiation, STARTUP, PLAIN auth, v5 framing switch),
// request dispatch to the engine, pushed events and fault injection.
#include "cqlpp/sim/cluster.hpp"

#include "cqlpp/protocol/envelope.hpp"
#include "cqlpp/protocol/messages.hpp"
#include "cqlpp/sim/version.hpp"
#include "observer.hpp"

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ssl.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <csignal>
#include <future>
#include <list>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include <pthread.h>
#include <time.h>

namespace cqlpp::sim {

namespace {

namespace proto = cqlpp::protocol;
using tcp = asio::ip::tcp;
using strand_type = asio::strand<asio::io_context::executor_type>;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

struct atomic_counters {
    std::atomic<std::uint64_t> requests{0};
    std::array<std::atomic<std::uint64_t>, 17> by_opcode{};
    std::atomic<std::uint64_t> non_replica{0}, replica{0};
    std::atomic<std::uint64_t> connections_open{0}, connections_total{0};
    std::atomic<std::uint64_t> bytes_in{0}, bytes_out{0};
    std::atomic<std::uint64_t> errors_injected{0};
    std::atomic<std::uint64_t> primed{0};
};

// Takes one unit from a fault budget, if any is left.
bool take(std::atomic<int>& budget) noexcept {
    int v = budget.load(std::memory_order_relaxed);
    while (v > 0)
        if (budget.compare_exchange_weak(v, v - 1, std::memory_order_relaxed)) return true;
    return false;
}

std::string upper(std::string_view s) {
    std::string r(s);
    for (auto& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return r;
}

}  // namespace

std::optional<fault_error> parse_fault_error(std::string_view s) noexcept {
    auto u = upper(s);
    if (u == "OVERLOADED") return fault_error::overloaded;
    if (u == "UNAVAILABLE") return fault_error::unavailable;
    if (u == "READ_TIMEOUT") return fault_error::read_timeout;
    if (u == "WRITE_TIMEOUT") return fault_error::write_timeout;
    if (u == "SERVER_ERROR") return fault_error::server_error;
    if (u == "IS_BOOTSTRAPPING") return fault_error::is_bootstrapping;
    return std::nullopt;
}

std::string_view to_string(fault_error e) noexcept {
    switch (e) {
        case fault_error::overloaded: return "OVERLOADED";
        case fault_error::unavailable: return "UNAVAILABLE";
        case fault_error::read_timeout: return "READ_TIMEOUT";
        case fault_error::write_timeout: return "WRITE_TIMEOUT";
        case fault_error::server_error: return "SERVER_ERROR";
        case fault_error::is_bootstrapping: return "IS_BOOTSTRAPPING";
    }
    return "SERVER_ERROR";
}

class connection_base;

struct node_runtime {
    int id = 0;
    std::optional<strand_type> strand;
    std::unique_ptr<tcp::acceptor> acceptor;
    std::atomic<int> state{static_cast<int>(node_state::up)};
    std::atomic<int> latency_ms{0};
    std::atomic<int> fail_next{0};
    std::atomic<int> fail_error{static_cast<int>(fault_error::overloaded)};
    std::atomic<int> close_mid{0};
    std::atomic<int> corrupt_crc{0};
    std::atomic<bool> removed{false};  // decommissioned: gone for good
    std::atomic<bool> echo_payload{false};  // answer with the request's custom payload
    atomic_counters counters;
    std::mutex conns_mu;
    std::list<std::weak_ptr<connection_base>> conns;

    node_state current() const noexcept { return static_cast<node_state>(state.load(std::memory_order_relaxed)); }
};

// The nodes' runtimes, indexed by id. Nodes join at run time while I/O
// threads walk the list, so storage is fixed (never reallocated) and the
// count is published after the new slot is filled.
class node_slots {
public:
    using slot = std::unique_ptr<node_runtime>;
    const slot* begin() const noexcept { return slots_.data(); }
    const slot* end() const noexcept { return slots_.data() + size(); }
    std::size_t size() const noexcept { return count_.load(std::memory_order_acquire); }
    const slot& at(std::size_t i) const {
        if (i >= size()) throw std::out_of_range("no such node");
        return slots_[i];
    }
    // One writer at a time (the engine's exclusive lock, or construction).
    void push_back(slot s) {
        const auto n = size();
        if (n >= slots_.size()) throw std::length_error("too many nodes");
        slots_[n] = std::move(s);
        count_.store(n + 1, std::memory_order_release);
    }

private:
    std::array<slot, topology::max_nodes> slots_{};
    std::atomic<std::size_t> count_{0};
};

// What system_views.clients shows of a connection, read from other threads.
struct client_state {
    std::mutex mu;
    control_plane::client_row row;  // guarded by mu (request_count aside)
    std::atomic<std::uint64_t> requests{0};
    std::atomic<bool> closed{false};
};

class connection_base : public std::enable_shared_from_this<connection_base> {
public:
    virtual ~connection_base() = default;
    client_state client;
    // Both thread-safe: they post to the connection's strand.
    virtual void close() = 0;
    virtual void push_event(const proto::event_response& ev, proto::event_type type) = 0;
};

struct cluster::impl : control_plane {
    cluster_config cfg;
    topology topo;
    engine db;
    observer obs;  // priming and the activity log
    std::atomic<std::uint64_t> next_connection_id{1};
    asio::io_context io;
    std::optional<asio::ssl::context> tls;
    node_slots runtimes;
    std::vector<std::thread> threads;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    bool bound = false;  // listeners open (listen() before run())
    bool started = false;

    explicit impl(cluster_config c)
        : cfg(std::move(c)), topo(cfg.topology), db(topo, cfg.engine), obs(db, topo.size(), topology::max_nodes),
          io(std::max(1, cfg.threads)) {
        obs.set_activity_capacity(cfg.activity_log_capacity);
        for (std::size_t i = 0; i < topo.size(); ++i) add_runtime(static_cast<int>(i));
        if (cfg.tls) {
            tls.emplace(asio::ssl::context::tls_server);
            tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                             asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
            tls->use_certificate_chain_file(cfg.tls->cert_file);
            tls->use_private_key_file(cfg.tls->key_file, asio::ssl::context::pem);
        }
        db.set_control_plane(this);
    }

    node_runtime& node(int id) { return *runtimes.at(static_cast<std::size_t>(id)); }
    node_runtime& add_runtime(int id) {
        auto n = std::make_unique<node_runtime>();
        n->id = id;
        n->strand.emplace(asio::make_strand(io));
        auto& ref = *n;
        runtimes.push_back(std::move(n));
        return ref;
    }

    void listen(node_runtime& n);
    void close_node(node_runtime& n);
    void set_state(int node, node_state st);

    // Runs `f` on the node's strand and waits, so the caller sees it done.
    // Must not be called from an io_context thread.
    template <class F>
    void on_node(int id, F&& f) {
        if (!started) {
            f();
            return;
        }
        std::promise<void> done;
        asio::post(*node(id).strand, [&] {
            f();
            done.set_value();
        });
        done.get_future().wait();
    }
    asio::awaitable<void> accept_loop(node_runtime& n);
    void broadcast(const proto::event_response& ev, proto::event_type type, int except_node);
    void broadcast_status(int node, bool up);
    void broadcast_topology(int node, bool added);

    // control_plane
    std::vector<node_row> nodes() override;
    std::string update_node(int node, const std::string& column, const proto::cql_value& value) override;
    std::vector<counter_row> counters() override;
    std::string node_added(int node) override;
    void node_removed(int node) override;
    std::vector<client_row> clients(int node) override;
    std::string add_prime(const prime_spec& spec, std::uint64_t& id) override {
        try {
            id = obs.add_prime(to_prime_rule(spec));
            return "";
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
    }
    std::vector<prime_info> primes() override { return obs.primes(); }
    void remove_prime(std::uint64_t id) override { obs.remove_prime(id); }
    void clear_primes() override { obs.clear_primes(); }
    std::vector<activity_entry> activity(int node) override { return obs.activity(node); }
    void clear_activity() override { obs.clear_activity(); }
    std::string set_activity_log(std::int64_t capacity) override {
        if (capacity < 0 || capacity > max_activity_log)
            return "activity_log must be 0 (off) to " + std::to_string(max_activity_log) + " requests per node";
        obs.set_activity_capacity(static_cast<std::size_t>(capacity));
        return "";
    }
    std::size_t activity_log_capacity() override { return obs.activity_capacity(); }
    // Bounds what a CQL client can make every node keep.
    static constexpr std::int64_t max_activity_log = 1'000'000;
};

// ---------------------------------------------------------------------------

namespace {

template <class Stream>
class connection final : public connection_base {
public:
    connection(cluster::impl& c, node_runtime& n, Stream stream, strand_type strand)
        : cluster_(c), node_(n), id_(c.next_connection_id.fetch_add(1, std::memory_order_relaxed)),
          stream_(std::move(stream)), strand_(std::move(strand)), wake_(strand_),
          frames_(proto::default_max_envelope_body) {
        wake_.expires_at(asio::steady_timer::time_point::max());
    }

    void start() {
        auto self = std::static_pointer_cast<connection>(shared_from_this());
        asio::co_spawn(strand_, [self]() { return self->run(); }, asio::detached);
    }

    void close() override {
        auto self = std::static_pointer_cast<connection>(shared_from_this());
        asio::post(strand_, [self] { self->do_close(); });
    }

    void push_event(const proto::event_response& ev, proto::event_type type) override {
        auto self = std::static_pointer_cast<connection>(shared_from_this());
        asio::post(strand_, [self, ev, type] {
            if (self->closed_ || !self->ready_ || !(self->registered_ & (1u << static_cast<int>(type)))) return;
            proto::envelope_header h;
            h.version = self->session_.version;
            h.response = true;
            h.stream = -1;
            h.op = proto::opcode::event;
            self->send(h, [&](proto::byte_writer& w) { ev.encode(w, self->session_.version); }, {});
        });
    }

private:
    asio::awaitable<void> run() {
        if constexpr (!std::is_same_v<Stream, tcp::socket>) {
            auto [ec] = co_await stream_.async_handshake(asio::ssl::stream_base::server, use_tuple);
            if (ec) {
                do_close();
                co_return;
            }
        }
        {
            std::error_code ec;
            auto peer = stream_.lowest_layer().remote_endpoint(ec);
            if (!ec && peer.address().is_v4()) {
                proto::inet_address a;
                auto b = peer.address().to_v4().to_bytes();
                std::copy(b.begin(), b.end(), a.addr.begin());
                session_.client_address = a;
            }
            std::lock_guard lock(client.mu);
            auto& row = client.row;
            if (!ec) {
                row.address = session_.client_address.value_or(proto::inet_address{});
                row.port = peer.port();
                // Cassandra shows the reverse lookup; loopback resolves to localhost.
                row.hostname = peer.address().is_loopback() ? "localhost" : peer.address().to_string();
            }
            row.connection_stage = "established";
            if constexpr (!std::is_same_v<Stream, tcp::socket>) {
                row.ssl_enabled = true;
                if (const char* v = SSL_get_version(stream_.native_handle())) row.ssl_protocol = v;
                if (const char* c = SSL_get_cipher_name(stream_.native_handle())) row.ssl_cipher_suite = c;
            }
        }
        auto self = shared_from_this();
        asio::co_spawn(strand_, [self, this]() { return writer(); }, asio::detached);
        std::vector<std::uint8_t> buf(64 * 1024);
        for (;;) {
            auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buf), use_tuple);
            if (ec || closed_) break;
            node_.counters.bytes_in.fetch_add(n, std::memory_order_relaxed);
            // Paused like a stopped process: what was read waits, the rest stays
            // in the socket, and everything is answered once resumed.
            if (node_.current() == node_state::paused) co_await while_paused();
            if (closed_) break;
            if (!version_fixed_ && frames_.buffered() == 0 && !version_supported(buf[0] & 0x7F)) {
                reject_version(proto::bytes_view(buf.data(), n));
                break;
            }
            frames_.append(proto::bytes_view(buf.data(), n));
            proto::envelope_view ev;
            proto::errc e;
            while (!closing_ && (e = frames_.next(ev)) == proto::errc::ok) handle(ev);
            if (!closing_ && e != proto::errc::need_more_data) {
                // Framing is broken: say why on stream 0, then hang up.
                protocol_error(0, "Error decoding frame: " + std::string(proto::to_string(e)), session_.version);
                closing_ = true;
            }
            if (closing_) break;
        }
        if (closing_) {
            // Let the writer flush the last error before closing.
            finish_after_flush_ = true;
            wake_.cancel();
        } else {
            do_close();
        }
    }

    asio::awaitable<void> writer() {
        while (!closed_) {
            if (framed_) encoder_.flush(out_);
            if (out_.empty()) {
                if (finish_after_flush_) break;
                wake_.expires_at(asio::steady_timer::time_point::max());
                co_await wake_.async_wait(use_tuple);
                continue;
            }
            if (node_.current() == node_state::paused) {
                co_await while_paused();
                continue;
            }
            if (framed_ && take(node_.corrupt_crc)) out_.back() ^= 0x01;  // the last segment's CRC32 trailer
            std::swap(out_, writing_);
            out_.clear();
            std::size_t n = writing_.size();
            bool cut = take(node_.close_mid);
            if (cut) n = std::max<std::size_t>(1, n / 2);
            auto [ec, written] = co_await asio::async_write(stream_, asio::buffer(writing_.data(), n), use_tuple);
            node_.counters.bytes_out.fetch_add(written, std::memory_order_relaxed);
            if (ec || cut) break;
        }
        do_close();
    }

    asio::awaitable<void> while_paused() {
        asio::steady_timer t(strand_);
        while (!closed_ && node_.current() == node_state::paused) {
            t.expires_after(std::chrono::milliseconds(2));
            co_await t.async_wait(use_tuple);
        }
    }

    void do_close() {
        if (closed_) return;
        closed_ = true;
        client.closed.store(true, std::memory_order_relaxed);
        std::error_code ignored;
        if constexpr (std::is_same_v<Stream, tcp::socket>) {
            stream_.shutdown(tcp::socket::shutdown_both, ignored);
            stream_.close(ignored);
        } else {
            stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
            stream_.lowest_layer().close(ignored);
        }
        wake_.cancel();
        node_.counters.connections_open.fetch_sub(1, std::memory_order_relaxed);
    }

    // Builds a response envelope in scratch_: write_body(writer, header) writes
    // the body and may set the header's opcode (the engine decides RESULT or ERROR).
    template <class F>
    void build(proto::envelope_header h, F&& write_body) {
        h.response = true;
        h.flags = 0;
        scratch_.clear();
        scratch_.resize(proto::envelope_header_size);
        const bool compress = compression_v4_;
        if (!compress) {
            proto::byte_writer w(scratch_);
            write_body(w, h);
        } else {
            body_.clear();
            proto::byte_writer w(body_);
            write_body(w, h);
            proto::lz4_compress_body(body_, scratch_);
            h.flags |= proto::envelope_flags::compression;
        }
        h.body_length = static_cast<std::uint32_t>(scratch_.size() - proto::envelope_header_size);
        proto::write_envelope_header(scratch_.data(), h);
    }

    // Queues the envelope in scratch_, after `delay` if non-zero.
    void dispatch(std::chrono::microseconds delay) {
        if (delay.count() > 0) {
            auto bytes = std::make_shared<proto::byte_buffer>(scratch_);
            auto timer = std::make_shared<asio::steady_timer>(strand_, delay);
            auto self = std::static_pointer_cast<connection>(shared_from_this());
            timer->async_wait([self, bytes, timer](std::error_code) {
                if (!self->closed_) self->enqueue(*bytes);
            });
            return;
        }
        enqueue(scratch_);
    }

    template <class F>
    void send(const proto::envelope_header& h, F&& write_body, std::chrono::microseconds delay) {
        build(h, [&](proto::byte_writer& w, proto::envelope_header&) { write_body(w); });
        dispatch(delay);
    }

    void enqueue(proto::bytes_view envelope) {
        if (framed_) encoder_.add_envelope(envelope, out_);
        else out_.insert(out_.end(), envelope.begin(), envelope.end());
        wake_.cancel();
    }

    void send_response(const proto::envelope_header& req, const proto::response& r,
                       std::chrono::microseconds delay = {}) {
        proto::envelope_header h = req;
        h.op = proto::opcode_of(r);
        send(h, [&](proto::byte_writer& w) { proto::encode(r, w, h.version); }, delay);
    }

    void protocol_error(std::int16_t stream, std::string message, proto::protocol_version v) {
        proto::envelope_header h;
        h.version = v;
        h.stream = stream;
        send_response(h, proto::error_response::make(proto::server_errc::protocol_error, std::move(message)));
    }

    bool version_supported(std::uint8_t v) const noexcept {
        return v == 4 || (v == 5 && !cluster_.cfg.v4_only);
    }

    // Version negotiation: a version this node does not speak gets
    // Cassandra's PROTOCOL_ERROR, in the newest version it does speak, and
    // drivers retry with a lower one (the Python driver starts at DSE_V2 = 0x42).
    void reject_version(proto::bytes_view first) {
        std::int16_t stream = first.size() >= 4 ? static_cast<std::int16_t>(proto::detail::load_be16(first.data() + 2)) : 0;
        const auto newest = cluster_.cfg.v4_only ? proto::protocol_version::v4 : proto::protocol_version::v5;
        protocol_error(stream,
                       "Invalid or unsupported protocol version (" + std::to_string(int(first[0] & 0x7F)) +
                           "); supported versions are (" + (cluster_.cfg.v4_only ? "4/v4" : "4/v4, 5/v5") + ")",
                       newest);
        closing_ = true;
    }

    std::chrono::microseconds node_latency() const noexcept {
        return std::chrono::milliseconds(node_.latency_ms.load(std::memory_order_relaxed));
    }

    void handle(const proto::envelope_view& ev) {
        auto& c = node_.counters;
        c.requests.fetch_add(1, std::memory_order_relaxed);
        client.requests.fetch_add(1, std::memory_order_relaxed);
        c.by_opcode[static_cast<std::size_t>(ev.header.op) & 0x0F].fetch_add(1, std::memory_order_relaxed);
        const auto& h = ev.header;

        if (!version_fixed_) {
            session_.version = h.version;
            version_fixed_ = true;
        } else if (h.version != session_.version) {
            protocol_error(h.stream,
                           "Invalid message version. Got " + std::to_string(int(h.version)) +
                               " but previous messages on this connection had version " +
                               std::to_string(int(session_.version)),
                           session_.version);
            return;
        }
        if (h.response) {
            protocol_error(h.stream, "Unexpected response message " + std::string(proto::to_string(h.op)), session_.version);
            return;
        }

        proto::bytes_view body = ev.body;
        if ((h.flags & proto::envelope_flags::compression) && session_.version == proto::protocol_version::v4) {
            if (!compression_v4_) {
                protocol_error(h.stream, "Compressed frame received without compression negotiated", session_.version);
                return;
            }
            decompressed_.clear();
            if (auto e = proto::lz4_decompress_body(body, decompressed_); e != proto::errc::ok) {
                protocol_error(h.stream, "Cannot decompress frame body: " + std::string(proto::to_string(e)), session_.version);
                return;
            }
            body = decompressed_;
        }
        proto::body_prefix prefix;
        proto::bytes_view message;
        if (auto e = proto::split_body(h, body, prefix, message); e != proto::errc::ok) {
            protocol_error(h.stream, "Invalid message: " + std::string(proto::to_string(e)), session_.version);
            return;
        }
        proto::request req;
        if (auto e = proto::decode_request(h.op, message, h.version, req); e != proto::errc::ok) {
            protocol_error(h.stream,
                           "Invalid " + std::string(proto::to_string(h.op)) + " message: " +
                               std::string(proto::make_error_code(e).message()),
                           session_.version);
            return;
        }

        switch (h.op) {
            case proto::opcode::options: {
                proto::supported_response s;
                s.options.push_back({"CQL_VERSION", {std::string(cql_version())}});
                s.options.push_back({"COMPRESSION", cluster_.cfg.allow_lz4 ? std::vector<std::string>{"lz4"}
                                                                           : std::vector<std::string>{}});
                s.options.push_back({"PROTOCOL_VERSIONS", cluster_.cfg.v4_only
                                                              ? std::vector<std::string>{"3/v3", "4/v4"}
                                                              : std::vector<std::string>{"3/v3", "4/v4", "5/v5"}});
                send_response(h, s);
                return;
            }
            case proto::opcode::startup: return handle_startup(h, std::get<proto::startup_request>(req));
            case proto::opcode::auth_response: return handle_auth(h, std::get<proto::auth_response_request>(req));
            default: break;
        }
        if (!ready_) {
            protocol_error(h.stream,
                           std::string("Unexpected message ") + std::string(proto::to_string(h.op)) +
                               (authenticating_ ? ", expecting AUTH_RESPONSE" : ", expecting STARTUP or OPTIONS"),
                           session_.version);
            return;
        }
        if (h.op == proto::opcode::register_) {
            for (auto t : std::get<proto::register_request>(req).events) registered_ |= 1u << static_cast<int>(t);
            send_response(h, proto::ready_response{});
            return;
        }

        // QUERY / PREPARE / EXECUTE / BATCH
        if (cluster_.obs.active() && observed(h, req)) return;
        if (h.op != proto::opcode::prepare && take(node_.fail_next)) {
            c.errors_injected.fetch_add(1, std::memory_order_relaxed);
            send_response(h, injected_error(req), node_latency());
            return;
        }
        execution_info info;
        // BATCH too: Cassandra traces batches although the spec lists only QUERY, PREPARE, EXECUTE.
        info.trace = (h.flags & proto::envelope_flags::tracing) != 0;
        // Cassandra's default query handler ignores custom payloads; echoing
        // them (a sim setting) lets clients test their payload path.
        const auto* echo = (h.flags & proto::envelope_flags::custom_payload) &&
                                   node_.echo_payload.load(std::memory_order_relaxed)
                               ? &prefix.custom_payload
                               : nullptr;
        build(h, [&](proto::byte_writer& w, proto::envelope_header& rh) {
            const std::size_t start = w.size();
            rh.op = cluster_.db.execute(node_.id, session_, req, w, info);
            if (session_.keyspace != shown_keyspace_) {  // USE changed it
                shown_keyspace_ = session_.keyspace;
                std::lock_guard lock(client.mu);
                client.row.keyspace = shown_keyspace_;
            }
            if (!info.warnings.empty() || info.tracing_id || echo) {
                // The tracing id, warnings, then the custom payload precede the
                // message body (spec 2.2, flags 0x02, 0x08, 0x04).
                if (info.tracing_id) rh.flags |= proto::envelope_flags::tracing;
                if (!info.warnings.empty()) rh.flags |= proto::envelope_flags::warning;
                if (echo) rh.flags |= proto::envelope_flags::custom_payload;
                proto::body_prefix out_prefix;
                out_prefix.tracing_id = info.tracing_id;
                for (const auto& wn : info.warnings) out_prefix.warnings.emplace_back(wn);
                if (echo) out_prefix.custom_payload = *echo;
                proto::byte_buffer pre;
                proto::byte_writer pw(pre);
                proto::write_body_prefix(pw, rh, out_prefix);
                auto& buf = w.buffer();
                buf.insert(buf.begin() + static_cast<std::ptrdiff_t>(start), pre.begin(), pre.end());
            }
        });
        auto delay = node_latency();
        if (info.routing_token) {
            if (info.coordinator_is_replica) {
                c.replica.fetch_add(1, std::memory_order_relaxed);
            } else {
                c.non_replica.fetch_add(1, std::memory_order_relaxed);
                delay += cluster_.cfg.non_replica_delay;
            }
        }
        dispatch(delay);
        for (auto& e : info.events) {
            proto::event_response ev;
            ev.value = e.change;
            cluster_.broadcast(ev, proto::event_type::schema_change, -1);
        }
    }

    // Logs the request and answers it from a prime, if one matches (true).
    bool observed(const proto::envelope_header& h, const proto::request& req) {
        auto p = cluster_.obs.on_request({node_.id, id_, h.stream}, req, session_);
        if (!p) return false;
        if (p->from_rule) node_.counters.primed.fetch_add(1, std::memory_order_relaxed);
        switch (p->what) {
            case primed_response::action::respond: send_response(h, p->response, p->delay); break;
            case primed_response::action::close: {
                if (p->delay.count() <= 0) {
                    do_close();
                    break;
                }
                auto timer = std::make_shared<asio::steady_timer>(strand_, p->delay);
                auto self = std::static_pointer_cast<connection>(shared_from_this());
                timer->async_wait([self, timer](std::error_code) { self->do_close(); });
                break;
            }
            case primed_response::action::no_answer: break;
        }
        return true;
    }

    proto::response injected_error(const proto::request& req) {
        auto kind = static_cast<fault_error>(node_.fail_error.load(std::memory_order_relaxed));
        proto::consistency cl = proto::consistency::one;
        if (auto* q = std::get_if<proto::query_request>(&req)) cl = q->params.cl;
        else if (auto* e = std::get_if<proto::execute_request>(&req)) cl = e->params.cl;
        else if (auto* b = std::get_if<proto::batch_request>(&req)) cl = b->cl;
        using proto::server_errc;
        switch (kind) {
            case fault_error::overloaded:
                return proto::error_response::make(server_errc::overloaded, "Server is in overloaded state. Cannot accept more requests at this point");
            case fault_error::unavailable:
                return proto::error_response::make(server_errc::unavailable, "Cannot achieve consistency level " + std::string(proto::to_string(cl)),
                                                   proto::unavailable_info{cl, 2, 1});
            case fault_error::read_timeout:
                return proto::error_response::make(server_errc::read_timeout, "Operation timed out - received only 0 responses.",
                                                   proto::read_timeout_info{cl, 0, 1, false});
            case fault_error::write_timeout: {
                proto::write_timeout_info w;
                w.cl = cl;
                w.received = 0;
                w.block_for = 1;
                w.write_type = std::holds_alternative<proto::batch_request>(req) ? "BATCH" : "SIMPLE";
                return proto::error_response::make(server_errc::write_timeout, "Operation timed out - received only 0 responses.", w);
            }
            case fault_error::is_bootstrapping:
                return proto::error_response::make(server_errc::is_bootstrapping, "Cannot read from a bootstrapping node");
            case fault_error::server_error: break;
        }
        return proto::error_response::make(server_errc::server_error, "Injected server error");
    }

    void handle_startup(const proto::envelope_header& h, const proto::startup_request& s) {
        if (ready_ || authenticating_) {
            protocol_error(h.stream, "Unexpected message STARTUP, the connection is already started", session_.version);
            return;
        }
        std::optional<proto::segment_format> fmt = proto::segment_format::uncompressed;
        if (auto comp = s.find("COMPRESSION")) {
            auto c = upper(*comp);
            if (c == "LZ4" && cluster_.cfg.allow_lz4) {
                if (session_.version == proto::protocol_version::v5) fmt = proto::segment_format::lz4;
                else pending_v4_compression_ = true;
            } else {
                protocol_error(h.stream, "Unsupported compression type: " + std::string(*comp), session_.version);
                return;
            }
        }
        {
            std::lock_guard lock(client.mu);
            auto& row = client.row;
            row.protocol_version = static_cast<int>(session_.version);
            for (const auto& [k, v] : s.options) row.client_options[std::string(k)] = std::string(v);
            if (auto d = s.find("DRIVER_NAME")) row.driver_name = std::string(*d);
            if (auto d = s.find("DRIVER_VERSION")) row.driver_version = std::string(*d);
            row.connection_stage = cluster_.cfg.users.empty() ? "ready" : "authenticating";
            if (cluster_.cfg.users.empty()) row.username = "anonymous";
        }
        if (!cluster_.cfg.users.empty()) {
            authenticating_ = true;
            send_response(h, proto::authenticate_response{"org.apache.cassandra.auth.PasswordAuthenticator"});
        } else {
            ready_ = true;
            send_response(h, proto::ready_response{});
        }
        // The reply to STARTUP went out unframed; everything after is framed (v5).
        if (session_.version == proto::protocol_version::v5) {
            framed_ = true;
            encoder_ = proto::segment_encoder(*fmt);
            frames_.set_framing(*fmt);
        }
        compression_v4_ = pending_v4_compression_;
    }

    void handle_auth(const proto::envelope_header& h, const proto::auth_response_request& a) {
        if (!authenticating_) {
            protocol_error(h.stream, "Unexpected message AUTH_RESPONSE", session_.version);
            return;
        }
        // SASL PLAIN: [authzid] NUL authcid NUL password
        std::string token = a.token ? std::string(proto::as_chars(*a.token)) : std::string();
        auto p1 = token.find('\0');
        auto p2 = p1 == std::string::npos ? std::string::npos : token.find('\0', p1 + 1);
        std::string user, password;
        if (p2 != std::string::npos) {
            user = token.substr(p1 + 1, p2 - p1 - 1);
            password = token.substr(p2 + 1);
        }
        auto it = cluster_.cfg.users.find(user);
        if (p2 == std::string::npos || it == cluster_.cfg.users.end() || it->second != password) {
            send_response(h, proto::error_response::make(proto::server_errc::auth_error,
                                                         "Provided username " + user + " and/or password are incorrect"));
            return;
        }
        authenticating_ = false;
        ready_ = true;
        {
            std::lock_guard lock(client.mu);
            client.row.username = user;
            client.row.connection_stage = "ready";
        }
        send_response(h, proto::auth_success_response{});
    }

    cluster::impl& cluster_;
    node_runtime& node_;
    std::uint64_t id_;
    Stream stream_;
    strand_type strand_;
    asio::steady_timer wake_;
    proto::frame_reader frames_;
    proto::segment_encoder encoder_{proto::segment_format::uncompressed};
    proto::byte_buffer out_, writing_, scratch_, body_, decompressed_;
    session_state session_;
    std::uint32_t registered_ = 0;
    bool version_fixed_ = false;
    bool ready_ = false;
    bool authenticating_ = false;
    bool framed_ = false;
    bool compression_v4_ = false;
    bool pending_v4_compression_ = false;
    bool closing_ = false;
    bool finish_after_flush_ = false;
    bool closed_ = false;
    std::string shown_keyspace_;  // last keyspace published to system_views.clients
};

}  // namespace

// ---------------------------------------------------------------------------

void cluster::impl::listen(node_runtime& n) {
    const auto& cfg = topo.node(n.id).config;
    auto acc = std::make_unique<tcp::acceptor>(*n.strand);
    tcp::endpoint ep(asio::ip::make_address(cfg.address), cfg.port);
    acc->open(ep.protocol());
    acc->set_option(tcp::acceptor::reuse_address(true));
    acc->bind(ep);
    acc->listen(asio::socket_base::max_listen_connections);
    // Port 0: the node keeps the free port it got (peers, events and restarts use it).
    if (cfg.port == 0) topo.set_port(n.id, acc->local_endpoint().port());
    n.acceptor = std::move(acc);
    asio::co_spawn(*n.strand, accept_loop(n), asio::detached);
}

asio::awaitable<void> cluster::impl::accept_loop(node_runtime& n) {
    tcp::acceptor* acc = n.acceptor.get();
    for (;;) {
        auto strand = asio::make_strand(io);
        auto [ec, sock] = co_await acc->async_accept(strand, use_tuple);
        if (ec) {
            if (ec == asio::error::operation_aborted || !acc->is_open()) co_return;
            continue;  // e.g. too many open files: keep serving the others
        }
        sock.set_option(tcp::no_delay(true));
        n.counters.connections_open.fetch_add(1, std::memory_order_relaxed);
        n.counters.connections_total.fetch_add(1, std::memory_order_relaxed);
        std::shared_ptr<connection_base> conn;
        if (tls) {
            using ssl_stream = asio::ssl::stream<tcp::socket>;
            auto c = std::make_shared<connection<ssl_stream>>(*this, n, ssl_stream(std::move(sock), *tls), strand);
            c->start();
            conn = c;
        } else {
            auto c = std::make_shared<connection<tcp::socket>>(*this, n, std::move(sock), strand);
            c->start();
            conn = c;
        }
        std::lock_guard lock(n.conns_mu);
        n.conns.remove_if([](const auto& w) { return w.expired(); });
        n.conns.push_back(conn);
    }
}

// Runs on the node's strand (or with the io_context stopped).
void cluster::impl::close_node(node_runtime& n) {
    if (n.acceptor) {
        std::error_code ignored;
        n.acceptor->close(ignored);
    }
    std::lock_guard lock(n.conns_mu);
    for (auto& w : n.conns)
        if (auto c = w.lock()) c->close();
    n.conns.clear();
}

void cluster::impl::broadcast(const proto::event_response& ev, proto::event_type type, int except_node) {
    for (auto& n : runtimes) {
        if (n->id == except_node || n->current() == node_state::down || n->removed.load()) continue;
        std::lock_guard lock(n->conns_mu);
        for (auto& w : n->conns)
            if (auto c = w.lock()) c->push_event(ev, type);
    }
}

void cluster::impl::broadcast_status(int node_id, bool up) {
    proto::status_change_event s;
    s.change = up ? proto::status_change_type::up : proto::status_change_type::down;
    s.node.address = topo.node(node_id).inet();
    s.node.port = topo.node(node_id).config.port;
    proto::event_response ev;
    ev.value = s;
    broadcast(ev, proto::event_type::status_change, node_id);
}

void cluster::impl::broadcast_topology(int node_id, bool added) {
    proto::topology_change_event t;
    t.change = added ? proto::topology_change_type::new_node : proto::topology_change_type::removed_node;
    t.node.address = topo.node(node_id).inet();
    t.node.port = topo.node(node_id).config.port;
    proto::event_response ev;
    ev.value = t;
    broadcast(ev, proto::event_type::topology_change, node_id);
}

// Under the engine's exclusive lock: the node is in the ring already.
std::string cluster::impl::node_added(int node_id) {
    if (static_cast<std::size_t>(node_id) != runtimes.size()) return "node ids out of step";
    auto& n = add_runtime(node_id);
    obs.set_node_count(runtimes.size());
    if (bound) {
        try {
            listen(n);
        } catch (const std::system_error& e) {
            // The slot stays, marked removed: ids are never reused.
            n.removed.store(true);
            n.state.store(static_cast<int>(node_state::down));
            return "cannot listen on " + topo.node(node_id).config.address + ":" +
                   std::to_string(topo.node(node_id).config.port) + ": " + e.what();
        }
    }
    // Listening before the announcement: drivers connect as soon as they hear of it.
    broadcast_topology(node_id, true);
    return "";
}

// Under the engine's exclusive lock: the node has left the ring.
void cluster::impl::node_removed(int node_id) {
    auto& n = node(node_id);
    n.removed.store(true);
    broadcast_topology(node_id, false);
    // Like a stopped process, after the current request (it may be this node's own) is answered.
    asio::post(*n.strand, [this, &n] {
        n.state.store(static_cast<int>(node_state::down));
        close_node(n);
    });
}

std::vector<control_plane::client_row> cluster::impl::clients(int node_id) {
    std::vector<client_row> rows;
    if (node_id < 0 || static_cast<std::size_t>(node_id) >= runtimes.size()) return rows;
    auto& n = node(node_id);
    std::lock_guard lock(n.conns_mu);
    for (auto& w : n.conns) {
        auto c = w.lock();
        if (!c || c->client.closed.load(std::memory_order_relaxed)) continue;
        std::lock_guard row_lock(c->client.mu);
        rows.push_back(c->client.row);
        rows.back().request_count = static_cast<std::int64_t>(c->client.requests.load(std::memory_order_relaxed));
    }
    return rows;
}

std::vector<control_plane::node_row> cluster::impl::nodes() {
    std::vector<node_row> rows;
    for (auto& n : runtimes) {
        if (n->removed.load()) continue;
        const auto& cfg = topo.node(n->id).config;
        node_row r;
        r.node = n->id;
        r.address = cfg.address;
        r.port = cfg.port;
        r.datacenter = cfg.datacenter;
        r.rack = cfg.rack;
        switch (n->current()) {
            case node_state::up: r.state = "up"; break;
            case node_state::down: r.state = "down"; break;
            case node_state::paused: r.state = "paused"; break;
        }
        r.latency_ms = n->latency_ms.load();
        r.fail_next = n->fail_next.load();
        r.fail_error = std::string(to_string(static_cast<fault_error>(n->fail_error.load())));
        r.close_mid_response = n->close_mid.load();
        r.corrupt_crc = n->corrupt_crc.load();
        r.echo_payload = n->echo_payload.load();
        rows.push_back(std::move(r));
    }
    return rows;
}

std::string cluster::impl::update_node(int node_id, const std::string& column, const proto::cql_value& v) {
    if (node_id < 0 || static_cast<std::size_t>(node_id) >= runtimes.size())
        return "No node " + std::to_string(node_id) + " (nodes are 0.." + std::to_string(runtimes.size() - 1) + ")";
    auto& n = node(node_id);
    if (n.removed.load()) return "Node " + std::to_string(node_id) + " was removed";
    auto as_int = [&](std::atomic<int>& dst) -> std::string {
        if (v.kind() != proto::value_kind::integer || v.as_int() < 0) return column + " must be a non-negative int";
        dst.store(static_cast<int>(v.as_int()));
        return "";
    };
    if (column == "latency_ms") return as_int(n.latency_ms);
    if (column == "fail_next") return as_int(n.fail_next);
    if (column == "close_mid_response") return as_int(n.close_mid);
    if (column == "corrupt_crc") return as_int(n.corrupt_crc);
    if (column == "echo_payload") {
        if (v.kind() != proto::value_kind::boolean) return "echo_payload must be a boolean";
        n.echo_payload.store(v.as_bool());
        return "";
    }
    if (column == "fail_error") {
        if (v.kind() != proto::value_kind::string) return "fail_error must be text";
        auto e = parse_fault_error(v.as_string());
        if (!e) return "Unknown fail_error '" + v.as_string() + "' (OVERLOADED, UNAVAILABLE, READ_TIMEOUT, WRITE_TIMEOUT, SERVER_ERROR, IS_BOOTSTRAPPING)";
        n.fail_error.store(static_cast<int>(*e));
        return "";
    }
    if (column == "state") {
        if (v.kind() != proto::value_kind::string) return "state must be text";
        auto s = v.as_string();
        // Applied after the current request completes: stopping a node closes
        // the very connection this UPDATE may have arrived on.
        if (s == "up") asio::post(*n.strand, [this, node_id] { set_state(node_id, node_state::up); });
        else if (s == "down") asio::post(*n.strand, [this, node_id] { set_state(node_id, node_state::down); });
        else if (s == "paused") asio::post(*n.strand, [this, node_id] { set_state(node_id, node_state::paused); });
        else return "state must be 'up', 'down' or 'paused'";
        return "";
    }
    return "Column " + column + " of sim.nodes cannot be updated";
}

std::vector<control_plane::counter_row> cluster::impl::counters() {
    std::vector<counter_row> rows;
    for (auto& n : runtimes) {
        auto add = [&](std::string name, std::uint64_t v) {
            rows.push_back({n->id, std::move(name), static_cast<std::int64_t>(v)});
        };
        const auto& c = n->counters;
        add("requests", c.requests.load());
        for (int op = 0; op < 17; ++op) {
            auto name = proto::to_string(static_cast<proto::opcode>(op));
            if (name == "UNKNOWN" || !proto::is_request_opcode(static_cast<std::uint8_t>(op)).value_or(false)) continue;
            add("requests_" + std::string(name), c.by_opcode[static_cast<std::size_t>(op)].load());
        }
        add("replica_requests", c.replica.load());
        add("non_replica_requests", c.non_replica.load());
        add("connections_open", c.connections_open.load());
        add("connections_total", c.connections_total.load());
        add("bytes_in", c.bytes_in.load());
        add("bytes_out", c.bytes_out.load());
        add("errors_injected", c.errors_injected.load());
        add("primed_responses", c.primed.load());
    }
    return rows;
}

// Runs on the node's strand.
void cluster::impl::set_state(int node_id, node_state st) {
    auto& n = node(node_id);
    if (n.removed.load()) return;
    auto before = n.current();
    if (before == st) return;
    if (st == node_state::paused) {
        if (before == node_state::down) return;  // a stopped node stays stopped
        n.state.store(static_cast<int>(st));
        return;
    }
    if (st == node_state::up && before == node_state::paused) {
        n.state.store(static_cast<int>(st));
        return;
    }
    if (st == node_state::down) {
        n.state.store(static_cast<int>(node_state::down));
        topo.set_up(node_id, false);
        close_node(n);
        db.forget_prepared(node_id);
        if (cfg.down_event_delay.count() <= 0) {
            broadcast_status(node_id, false);
            return;
        }
        auto timer = std::make_shared<asio::steady_timer>(*n.strand, cfg.down_event_delay);
        timer->async_wait([this, node_id, timer](std::error_code ec) {
            // Skip it if the node came back meanwhile.
            if (!ec && node(node_id).current() == node_state::down) broadcast_status(node_id, false);
        });
        return;
    }
    // down -> up
    listen(n);
    n.state.store(static_cast<int>(node_state::up));
    topo.set_up(node_id, true);
    broadcast_status(node_id, true);
}

// ---------------------------------------------------------------------------

cluster::cluster(cluster_config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}

cluster::~cluster() { stop(); }

void cluster::start() {
    if (impl_->started) return;
    listen();
    impl_->started = true;
    impl_->work.emplace(asio::make_work_guard(impl_->io));
    for (int i = 0; i < std::max(1, impl_->cfg.threads); ++i) impl_->threads.emplace_back([this] { impl_->io.run(); });
}

void cluster::listen() {
    if (impl_->bound) return;
    for (auto& n : impl_->runtimes)
        if (!n->removed.load()) impl_->listen(*n);
    impl_->bound = true;
}

void cluster::run(bool handle_signals) {
    listen();
    impl_->started = true;
    std::optional<asio::signal_set> signals;
    if (handle_signals) {
        signals.emplace(impl_->io, SIGINT, SIGTERM);
        signals->async_wait([this](std::error_code ec, int) {
            if (!ec) impl_->io.stop();
        });
    }
    for (int i = 1; i < std::max(1, impl_->cfg.threads); ++i) impl_->threads.emplace_back([this] { impl_->io.run(); });
    impl_->io.run();
    for (auto& t : impl_->threads) t.join();
    impl_->threads.clear();
    impl_->started = false;
    impl_->bound = false;
}

void cluster::stop() {
    if (!impl_->started) return;
    for (auto& n : impl_->runtimes) impl_->on_node(n->id, [&] { impl_->close_node(*n); });
    impl_->work.reset();
    impl_->io.stop();
    for (auto& t : impl_->threads) t.join();
    impl_->threads.clear();
    impl_->started = false;
    impl_->bound = false;
}

const cluster_config& cluster::config() const noexcept { return impl_->cfg; }
const topology& cluster::topo() const noexcept { return impl_->topo; }
engine& cluster::db() noexcept { return impl_->db; }

std::vector<std::string> cluster::contact_points() const {
    std::vector<std::string> out;
    for (const auto& n : impl_->runtimes) {
        if (n->removed.load()) continue;
        const auto& cfg = impl_->topo.node(n->id).config;
        out.push_back(cfg.address + ":" + std::to_string(cfg.port));
    }
    return out;
}

int cluster::add_node(const std::string& datacenter, const std::string& rack) {
    std::string error;
    int id = impl_->db.add_node(datacenter, rack, error);
    if (id < 0) throw std::runtime_error(error);
    return id;
}

void cluster::remove_node(int node) {
    auto err = impl_->db.remove_node(node);
    if (!err.empty()) throw std::runtime_error(err);
    // Return once its connections are closed, as stop_node does.
    impl_->on_node(node, [] {});
}

bool cluster::is_removed(int node) const { return impl_->node(node).removed.load(); }

node_endpoint cluster::endpoint(int node) const {
    const auto& cfg = impl_->topo.node(node).config;
    return {cfg.address, cfg.port};
}

std::uint64_t cluster::prime(prime_rule rule) { return impl_->obs.add_prime(std::move(rule)); }
void cluster::clear_primes() { impl_->obs.clear_primes(); }
std::size_t cluster::prime_count() const { return impl_->obs.prime_count(); }
void cluster::set_activity_log(std::size_t capacity) { impl_->obs.set_activity_capacity(capacity); }
std::vector<activity_entry> cluster::activity(int node) const { return impl_->obs.activity(node); }
void cluster::clear_activity() { impl_->obs.clear_activity(); }
std::size_t cluster::activity_log_capacity() const { return impl_->obs.activity_capacity(); }
std::vector<prime_info> cluster::primes() const { return impl_->obs.primes(); }
bool cluster::remove_prime(std::uint64_t id) { return impl_->obs.remove_prime(id); }

std::vector<std::uint64_t> cluster::prime_json(std::string_view json) {
    auto specs = parse_prime_specs_json(json);
    std::vector<prime_rule> rules;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        try {
            rules.push_back(to_prime_rule(specs[i]));
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("rule " + std::to_string(i) + ": " + e.what());
        }
    }
    std::vector<std::uint64_t> ids;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        try {
            ids.push_back(impl_->obs.add_prime(std::move(rules[i])));
        } catch (const std::invalid_argument& e) {
            for (auto id : ids) impl_->obs.remove_prime(id);  // all or none
            throw std::invalid_argument("rule " + std::to_string(i) + ": " + e.what());
        }
    }
    return ids;
}

void cluster::stop_node(int node) {
    impl_->on_node(node, [this, node] { impl_->set_state(node, node_state::down); });
}
void cluster::start_node(int node) {
    impl_->on_node(node, [this, node] { impl_->set_state(node, node_state::up); });
}
void cluster::pause_node(int node, bool paused) {
    impl_->on_node(node, [this, node, paused] { impl_->set_state(node, paused ? node_state::paused : node_state::up); });
}
node_state cluster::state(int node) const { return impl_->node(node).current(); }
void cluster::set_latency(int node, std::chrono::milliseconds latency) {
    impl_->node(node).latency_ms.store(static_cast<int>(latency.count()));
}
void cluster::fail_next(int node, int count, fault_error error) {
    auto& n = impl_->node(node);
    n.fail_error.store(static_cast<int>(error));
    n.fail_next.store(count);
}
void cluster::close_mid_response(int node, int count) { impl_->node(node).close_mid.store(count); }
void cluster::echo_payload(int node, bool on) { impl_->node(node).echo_payload.store(on); }
void cluster::corrupt_crc(int node, int count) { impl_->node(node).corrupt_crc.store(count); }

double cluster::io_cpu_seconds() const {
    double total = 0;
    for (auto& t : impl_->threads) {
        clockid_t cid;
        timespec ts{};
        if (pthread_getcpuclockid(const_cast<std::thread&>(t).native_handle(), &cid) == 0 && clock_gettime(cid, &ts) == 0)
            total += double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
    }
    return total;
}

node_counters cluster::counters(int node) const {
    const auto& c = impl_->node(node).counters;
    node_counters out;
    out.requests = c.requests.load();
    for (std::size_t i = 0; i < 17; ++i) out.requests_by_opcode[i] = c.by_opcode[i].load();
    out.non_replica_requests = c.non_replica.load();
    out.replica_requests = c.replica.load();
    out.connections_open = c.connections_open.load();
    out.connections_total = c.connections_total.load();
    out.bytes_in = c.bytes_in.load();
    out.bytes_out = c.bytes_out.load();
    out.errors_injected = c.errors_injected.load();
    out.primed_responses = c.primed.load();
    return out;
}

}  // namespace cqlpp::sim
