#include "cqlpp/transport/connection.hpp"

#include "cqlpp/transport/detail/handshake_fsm.hpp"
#include "cqlpp/transport/detail/read_time.hpp"

#include "cqlpp/protocol/detail/block_cache.hpp"

#include <asio/connect.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <openssl/ssl.h>

#include <cstring>

namespace cqlpp::transport {

namespace proto = cqlpp::protocol;
namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
}

connection::connection(executor_type ex, connection_config cfg)
    : ex_(ex), cfg_(std::move(cfg)), sock_(ex), wake_(ex), heartbeat_timer_(ex), drain_timer_(ex), sweep_timer_(ex),
      streams_(cfg_.max_streams) {}

connection::~connection() = default;

connection_metrics connection::metrics() const noexcept {
    auto m = m_;
    m.in_flight = in_flight_;
    m.orphaned = streams_.orphaned();
    return m;
}

// ---- connect / handshake -----------------------------------------------------

asio::awaitable<connect_result> connection::async_connect(executor_type ex, connection_config cfg) {
    auto v = cfg.version;
    for (;;) {
        std::shared_ptr<connection> c(new connection(ex, cfg));
        bool got_reply = false;
        auto ec = co_await c->open(v, got_reply);
        if (!ec) {
            c->start();
            if (!cfg.keyspace.empty()) {
                // Like cqlsh's USE: quoted, so any keyspace name works.
                std::string use = "USE \"";
                for (char ch : cfg.keyspace) {
                    if (ch == '"') use += '"';
                    use += ch;
                }
                use += '"';
                auto env = c->encode(proto::query_request{use, {}});
                auto r = co_await c->async_request(env, cfg.connect_timeout);
                if (r.ec) {
                    std::optional<proto::error_response> err;
                    if (r.response && r.response->server_error()) err = *r.response->server_error();
                    c->close();
                    co_return connect_result{errc::handshake_failed, nullptr, std::move(err)};
                }
            }
            co_return connect_result{{}, std::move(c), std::nullopt};
        }
        auto server_error = c->handshake_error_;
        c->fail(ec);
        const bool refused = ec == errc::unsupported_version || (ec == errc::connection_closed && !got_reply);
        if (v == proto::protocol_version::v5 && cfg.allow_version_fallback && refused) {
            v = proto::protocol_version::v4;
            continue;
        }
        co_return connect_result{ec, nullptr, std::move(server_error)};
    }
}

asio::awaitable<std::error_code> connection::open(proto::protocol_version v, bool& got_reply) {
    version_ = v;
    // One deadline for the whole logical connect: on expiry close the socket,
    // which fails whatever step is pending (Beast's basic_stream idea).
    connect_timer_ = std::make_shared<asio::steady_timer>(ex_, cfg_.connect_timeout);
    auto timed_out = std::make_shared<bool>(false);
    connect_timer_->async_wait([self = shared_from_this(), timed_out](std::error_code ec) {
        if (ec) return;
        *timed_out = true;
        std::error_code ignored;
        self->sock_.close(ignored);
    });
    auto result = [&](std::error_code ec) -> std::error_code {
        connect_timer_->cancel();
        if (ec && *timed_out) return errc::connect_timeout;
        return ec;
    };
    // A cancelled caller (a closed pool, a cancelled session connect) leaves
    // by an exception at its next co_await: the timer, which holds this
    // connection, must not outlive it until connect_timeout.
    struct timer_guard {
        asio::steady_timer& t;
        ~timer_guard() { t.cancel(); }
    } guard{*connect_timer_};

    asio::ip::tcp::resolver resolver(ex_);
    auto [rec, endpoints] = co_await resolver.async_resolve(cfg_.host, std::to_string(cfg_.port), use_tuple);
    if (rec) co_return result(errc::connect_failed);
    auto [cec, ep] = co_await asio::async_connect(sock_, endpoints, use_tuple);
    if (cec) co_return result(errc::connect_failed);
    std::error_code ignored;
    sock_.set_option(asio::ip::tcp::no_delay(true), ignored);

    if (cfg_.tls) {
        const auto& t = *cfg_.tls;
        tls_ctx_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
        std::error_code ec;
        tls_ctx_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                                  asio::ssl::context::no_tlsv1_1,
                              ec);
        if (t.ca_file.empty()) tls_ctx_->set_default_verify_paths(ec);
        else tls_ctx_->load_verify_file(t.ca_file, ec);
        if (!ec && !t.cert_file.empty()) tls_ctx_->use_certificate_chain_file(t.cert_file, ec);
        if (!ec && !t.key_file.empty()) tls_ctx_->use_private_key_file(t.key_file, asio::ssl::context::pem, ec);
        if (ec) co_return result(errc::tls_error);
        tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(sock_, *tls_ctx_);
        const std::string name = t.server_name.empty() ? cfg_.host : t.server_name;
        tls_->set_verify_mode(asio::ssl::verify_peer, ec);
        if (t.verify_hostname) tls_->set_verify_callback(asio::ssl::host_name_verification(name), ec);
        asio::ip::make_address(name, ec);
        if (ec) SSL_set_tlsext_host_name(tls_->native_handle(), name.c_str());  // SNI for names only
        auto [hec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_tuple);
        if (hec) co_return result(*timed_out ? std::error_code(errc::connect_timeout) : std::error_code(errc::tls_error));
    }
    auto hec = co_await run_handshake(v, got_reply);
    co_return result(hec);
}

asio::awaitable<std::error_code> connection::run_handshake(proto::protocol_version v, bool& got_reply) {
    detail::handshake_params p;
    p.version = v;
    p.lz4 = cfg_.lz4;
    p.auth = cfg_.auth;
    p.cql_version = cfg_.cql_version;
    p.driver_name = cfg_.driver_name;
    p.driver_version = cfg_.driver_version;
    detail::handshake_fsm fsm(std::move(p));
    std::vector<std::uint8_t> buf(16 * 1024);
    auto act = fsm.start();
    for (;;) {
        using kind = detail::handshake_fsm::action_kind;
        if (act.kind == kind::write) {
            if (auto ec = co_await write_all(act.bytes)) co_return errc::connection_closed;
            m_.bytes_written += act.bytes.size();
            act.kind = kind::read;
        }
        if (act.kind == kind::done) break;
        if (act.kind == kind::failed) {
            handshake_error_ = fsm.server_error();
            co_return fsm.error();
        }
        proto::envelope_view env;
        proto::errc e;
        while ((e = frames_.next(env)) == proto::errc::need_more_data) {
            auto [ec, n] = co_await read_some(buf);
            if (ec) co_return errc::connection_closed;
            m_.bytes_read += n;
            frames_.append(proto::bytes_view(buf.data(), n));
        }
        if (e != proto::errc::ok) co_return errc::framing_error;
        got_reply = true;
        act = fsm.on_envelope(env);
        if (fsm.read_framing() != frames_.framing()) frames_.set_framing(fsm.read_framing());
    }
    lz4_ = fsm.compression();
    if (auto f = fsm.read_framing()) encoder_.emplace(*f);
    co_return std::error_code{};
}

void connection::start() {
    open_ = true;
    last_read_ = std::chrono::steady_clock::now();
    wake_.expires_at(asio::steady_timer::time_point::max());
    auto self = shared_from_this();
    asio::co_spawn(ex_, [self] { return self->reader(); }, asio::detached);
    asio::co_spawn(ex_, [self] { return self->writer(); }, asio::detached);
    asio::co_spawn(ex_, [self] { return self->sweeper(); }, asio::detached);
    if (cfg_.heartbeat_interval.count() > 0) {
        proto::request hb = proto::options_request{};
        heartbeat_envelope_ = encode(hb);
        asio::co_spawn(ex_, [self] { return self->heartbeat(); }, asio::detached);
    }
}

// ---- socket helpers ----------------------------------------------------------

asio::awaitable<std::pair<std::error_code, std::size_t>> connection::read_some(std::span<std::uint8_t> buf) {
    auto b = asio::buffer(buf.data(), buf.size());
    auto [ec, n] = tls_ ? co_await tls_->async_read_some(b, use_tuple) : co_await sock_.async_read_some(b, use_tuple);
    co_return std::pair{ec, n};
}

asio::awaitable<std::error_code> connection::write_all(std::span<const std::uint8_t> buf) {
    auto b = asio::buffer(buf.data(), buf.size());
    auto [ec, n] = tls_ ? co_await asio::async_write(*tls_, b, use_tuple) : co_await asio::async_write(sock_, b, use_tuple);
    (void)n;
    co_return ec;
}

// ---- requests ----------------------------------------------------------------

proto::byte_buffer connection::encode(const proto::request& r) const {
    proto::byte_buffer out;
    encode(r, encode_options{}, out);
    return out;
}

void connection::encode(const proto::request& r, const encode_options& o, proto::byte_buffer& out) const {
    encode(
        proto::opcode_of(r),
        [](proto::byte_writer& w, proto::protocol_version v, const void* ctx) {
            proto::encode(*static_cast<const proto::request*>(ctx), w, v);
        },
        &r, o, out);
}

void connection::encode(proto::opcode op, body_writer body, const void* ctx, const encode_options& o,
                        proto::byte_buffer& out) const {
    proto::envelope_header h;
    h.version = version_;
    h.op = op;
    if (o.tracing) h.flags |= proto::envelope_flags::tracing;
    if (!o.custom_payload.empty()) h.flags |= proto::envelope_flags::custom_payload;
    auto write = [&](proto::byte_writer& w) {
        if (!o.custom_payload.empty()) {
            // Rare: the prefix (two vectors) is built only when there is one.
            proto::body_prefix prefix;
            prefix.custom_payload.assign(o.custom_payload.begin(), o.custom_payload.end());
            proto::write_body_prefix(w, h, prefix);
        }
        body(w, version_, ctx);
    };
    if (lz4_ && version_ == proto::protocol_version::v4) {
        // v4: the envelope body is compressed (flag 0x01); the stream id is in
        // the header, so it can still be patched later.
        proto::byte_buffer body;
        proto::byte_writer w(body);
        write(w);
        h.flags |= proto::envelope_flags::compression;
        proto::encode_envelope(out, h, [&](proto::byte_writer& bw) { proto::lz4_compress_body(body, bw.buffer()); });
        return;
    }
    proto::encode_envelope(out, h, write);
}

asio::awaitable<request_result> connection::async_request(std::span<std::uint8_t> envelope) {
    return async_request(envelope, cfg_.request_timeout);  // not a coroutine: no extra frame
}

namespace {
// The coroutine form's request: its timer is both its deadline and its wake-up.
struct waiting_request : pending_request {
    explicit waiting_request(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
};
}  // namespace

asio::awaitable<request_result> connection::async_request(std::span<std::uint8_t> envelope,
                                                          std::chrono::milliseconds timeout) {
    waiting_request p(ex_);
    p.envelope = envelope;
    p.on_complete = [](pending_request& r) { static_cast<waiting_request&>(r).timer.cancel(); };
    if (timeout.count() > 0) p.timer.expires_after(timeout);
    else p.timer.expires_at(asio::steady_timer::time_point::max());
    if (auto ec = submit(p)) co_return request_result{ec, {}};

    auto [ec] = co_await p.timer.async_wait(use_tuple);
    if (p.done) co_return request_result{p.ec, std::move(p.response)};

    // Timed out or cancelled before the response: give the request up.
    const bool cancelled = ec == asio::error::operation_aborted;
    give_up(p, !cancelled);
    co_return request_result{cancelled ? errc::cancelled : errc::timeout, {}};
}

std::error_code connection::submit(pending_request& p) {
    if (!open_ || closing_ || closed_) return close_reason_ ? close_reason_ : make_error_code(errc::connection_closed);
    if (p.envelope.size() < proto::envelope_header_size) return errc::protocol_error;
    p.reset();
    if (p.deadline != pending_request::clock_type::time_point::max()) {
        p.timed = true;
        p.tnext = timed_;
        if (timed_) timed_->tprev = &p;
        timed_ = &p;
        if (p.deadline < sweep_at_) {
            // Earlier than what the sweeper waits for (rare: deadlines mostly
            // grow): wake it to re-arm.
            sweep_at_ = p.deadline;
            sweep_timer_.cancel();
        }
    }
    enqueue(p);
    return {};
}

void connection::enqueue(pending_request& p) {
    p.queued = true;
    p.prev = tail_;
    if (tail_) tail_->next = &p;
    else head_ = &p;
    tail_ = &p;
    ++in_flight_;
    notify_writer();
}

void connection::untime(pending_request& p) noexcept {
    if (!p.timed) return;
    if (p.tprev) p.tprev->tnext = p.tnext;
    else timed_ = p.tnext;
    if (p.tnext) p.tnext->tprev = p.tprev;
    p.tprev = p.tnext = nullptr;
    p.timed = false;
}

// Written but given up: the id stays taken until its response arrives (G9).
void connection::orphan_written(pending_request& p) {
    if (p.queued) {
        unlink(&p);  // never written: nothing to orphan
    } else if (p.stream >= 0) {
        streams_.orphan(p.stream);
    }
}

// Safe while fail() is completing the others (a completion may cancel a
// sibling): p leaves every list, so fail() will not complete it.
void connection::abandon(pending_request& p) noexcept { give_up(p, false); }

void connection::give_up(pending_request& p, bool timed_out) noexcept {
    if (p.done) return;
    p.done = true;
    untime(p);
    --in_flight_;
    ++(timed_out ? m_.timeouts : m_.cancellations);
    orphan_written(p);
    if (closed_) return;
    if (streams_.orphaned() > cfg_.max_orphans) fail(errc::too_many_orphans, "too many orphaned stream ids");
    else if (closing_ && in_flight_ == 0) drain_timer_.cancel();
}

// One timer for every deadline: it sleeps until the earliest deadline it knows
// of; requests that complete first are simply unlinked, so the common case
// (deadlines far in the future, growing) never touches the timer.
asio::awaitable<void> connection::sweeper() {
    auto self = shared_from_this();
    std::vector<pending_request*> expired;
    while (!closed_) {
        sweep_timer_.expires_at(sweep_at_);
        co_await sweep_timer_.async_wait(use_tuple);
        if (closed_) break;
        const auto now = std::chrono::steady_clock::now();
        if (now < sweep_at_) continue;  // woken to re-arm for an earlier deadline
        sweep_at_ = std::chrono::steady_clock::time_point::max();
        for (auto* p = timed_; p; p = p->tnext) {
            if (p->deadline <= now) expired.push_back(p);
            else sweep_at_ = std::min(sweep_at_, p->deadline);
        }
        // Unlink them all before any completion runs: a completion may submit
        // or abandon other requests.
        for (auto* p : expired) {
            untime(*p);
            orphan_written(*p);
            p->done = true;
            --in_flight_;
            ++m_.timeouts;
        }
        for (auto* p : expired) {  // even if a completion closed the connection: they are out of its lists
            p->ec = errc::timeout;
            p->on_complete(*p);
        }
        expired.clear();
        if (!closed_ && streams_.orphaned() > cfg_.max_orphans) fail(errc::too_many_orphans, "too many orphaned stream ids");
        if (!closed_ && closing_ && in_flight_ == 0) drain_timer_.cancel();
    }
}

asio::awaitable<std::error_code> connection::async_register(std::vector<proto::event_type> events) {
    proto::register_request r;
    r.events = proto::view_list<proto::event_type>::owning(std::move(events));
    auto env = encode(proto::request(std::move(r)));
    auto res = co_await async_request(env);
    if (res.ec) co_return res.ec;
    if (!std::holds_alternative<proto::ready_response>(res.response->message)) co_return errc::protocol_error;
    co_return std::error_code{};
}

void connection::unlink(pending_request* p) noexcept {
    if (p->prev) p->prev->next = p->next;
    else head_ = p->next;
    if (p->next) p->next->prev = p->prev;
    else tail_ = p->prev;
    p->prev = p->next = nullptr;
    p->queued = false;
}

void connection::notify_writer() { wake_.cancel(); }

void connection::complete(pending_request* p, std::error_code ec, response_ptr r) {
    p->done = true;
    p->ec = ec;
    p->response = std::move(r);
    untime(*p);
    --in_flight_;
    p->on_complete(*p);  // may run the requester's code inline
    // After the completion, so a draining close() resumes after the last requester.
    if (closing_ && in_flight_ == 0) drain_timer_.cancel();
}

// ---- writer ------------------------------------------------------------------

asio::awaitable<void> connection::writer() {
    auto self = shared_from_this();
    proto::byte_buffer writing;
    while (!closed_) {
        if (!head_ || streams_.available() == 0) {
            wake_.expires_at(asio::steady_timer::time_point::max());
            co_await wake_.async_wait(use_tuple);
            continue;
        }
        // Drain the queue into one buffer: the stream id is patched into the
        // caller's encoded envelope, then the envelope is copied out once.
        out_.clear();
        std::size_t batch = 0;
        while (head_ && out_.size() < cfg_.max_write_batch) {
            pending_request* p = head_;
            auto id = streams_.allocate(p);
            if (!id) break;
            unlink(p);
            p->stream = *id;
            proto::patch_stream(p->envelope.data(), *id);
            if (encoder_) encoder_->add_envelope(p->envelope, out_);
            else out_.insert(out_.end(), p->envelope.begin(), p->envelope.end());
            ++batch;
        }
        if (encoder_) encoder_->flush(out_);
        if (out_.empty()) continue;
        std::swap(out_, writing);
        m_.requests_sent += batch;
        ++m_.write_syscalls;
        m_.bytes_written += writing.size();
        auto ec = co_await write_all(writing);
        if (ec) {
            fail(errc::connection_closed, "write failed: " + ec.message());
            break;
        }
        if (writing.capacity() > 4 * cfg_.max_write_batch) proto::byte_buffer().swap(writing);
    }
}

// ---- reader ------------------------------------------------------------------

asio::awaitable<void> connection::reader() {
    auto self = shared_from_this();
    std::vector<std::uint8_t> buf(cfg_.read_buffer_size);
    // Bytes that arrived with the handshake's last reply.
    proto::envelope_view env;
    proto::errc e;
    while (!closed_ && (e = frames_.next(env)) == proto::errc::ok)
        if (!dispatch(env)) co_return;
    while (!closed_) {
        auto [ec, n] = co_await read_some(buf);
        if (closed_) break;
        if (ec) {
            fail(errc::connection_closed, ec == asio::error::eof ? "closed by the server" : "read failed: " + ec.message());
            break;
        }
        m_.bytes_read += n;
        last_read_ = std::chrono::steady_clock::now();
        frames_.append(proto::bytes_view(buf.data(), n));
        {
            detail::read_time_scope answers_read_at(last_read_);  // no co_await inside
            while (!closed_ && (e = frames_.next(env)) == proto::errc::ok)
                if (!dispatch(env)) co_return;
        }
        if (!closed_ && e != proto::errc::need_more_data) {
            fail(errc::framing_error, "framing error: " + std::string(proto::to_string(e)));
            break;
        }
    }
}

bool connection::dispatch(const proto::envelope_view& env) {
    const auto& h = env.header;
    if (!h.response || h.version != version_) {
        fail(errc::protocol_error, "unexpected envelope (direction or version)");
        return false;
    }
    pending_request* p = nullptr;
    if (h.stream >= 0) {
        switch (streams_.state(h.stream)) {
            case detail::stream_table::slot_state::free: {
                std::string detail = "response for unknown stream id " + std::to_string(h.stream);
                proto::response r;
                proto::body_prefix prefix;
                proto::bytes_view msg;
                if (h.op == proto::opcode::error && proto::split_body(h, env.body, prefix, msg) == proto::errc::ok &&
                    proto::decode_response(h.op, msg, h.version, r) == proto::errc::ok)
                    detail += ": " + std::get<proto::error_response>(r).message;
                fail(errc::protocol_error, std::move(detail));
                return false;
            }
            case detail::stream_table::slot_state::orphaned:
                streams_.release(h.stream);  // its waiter is gone: drop the late response
                ++m_.responses;
                if (head_) notify_writer();
                return true;
            case detail::stream_table::slot_state::owned:
                p = static_cast<pending_request*>(streams_.release(h.stream));
                break;
        }
    } else if (h.stream != -1 || h.op != proto::opcode::event) {
        fail(errc::protocol_error, "negative stream id without an EVENT");
        return false;
    }

    // The frame gets its own buffer: rows views borrow it for as long as the
    // caller keeps the response (G4).
    // One allocation from the thread's block cache holds the shared_ptr's
    // control block, the frame and a copy of the body.
    std::error_code ec;
    std::shared_ptr<response_frame> frame;
    if ((h.flags & proto::envelope_flags::compression) && h.version == proto::protocol_version::v4) {
        frame = std::allocate_shared<response_frame>(proto::detail::cached_allocator<response_frame>{});
        if (proto::lz4_decompress_body(env.body, frame->owned) != proto::errc::ok) ec = errc::framing_error;
        frame->body = frame->owned;
    } else {
        unsigned char* tail = nullptr;
        frame = std::allocate_shared<response_frame>(proto::detail::tail_allocator<response_frame>{env.body.size(), &tail});
        if (!env.body.empty()) std::memcpy(tail, env.body.data(), env.body.size());
        frame->body = proto::bytes_view(tail, env.body.size());
    }
    frame->header = h;
    proto::bytes_view msg;
    if (!ec && proto::split_body(h, frame->body, frame->prefix, msg) != proto::errc::ok) ec = errc::bad_response;
    if (!ec && proto::decode_response(h.op, msg, h.version, frame->message) != proto::errc::ok) ec = errc::bad_response;

    if (!p) {  // EVENT
        ++m_.events;
        if (ec) return true;  // an event we cannot read is not worth the connection
        if (auto* ev = std::get_if<proto::event_response>(&frame->message))
            for (auto& l : event_listeners_) l(*ev);
        return true;
    }
    ++m_.responses;
    if (head_) notify_writer();  // an id was freed
    if (ec) {
        complete(p, ec, nullptr);
        return true;
    }
    if (auto* err = frame->server_error()) ec = proto::make_error_code(err->code);
    complete(p, ec, std::move(frame));
    return true;
}

// ---- heartbeat, close ----------------------------------------------------------

asio::awaitable<void> connection::heartbeat() {
    auto self = shared_from_this();
    const auto interval = cfg_.heartbeat_interval;
    while (!closed_) {
        heartbeat_timer_.expires_after(interval);
        co_await heartbeat_timer_.async_wait(use_tuple);
        if (closed_) break;
        if (std::chrono::steady_clock::now() - last_read_ < interval) continue;
        ++m_.heartbeats;
        auto r = co_await async_request(heartbeat_envelope_, cfg_.heartbeat_timeout);
        if (closed_) break;
        if (r.ec == errc::timeout) {
            fail(errc::heartbeat_timeout, "no reply to heartbeat");
            break;
        }
    }
}

asio::awaitable<void> connection::async_close(std::chrono::milliseconds drain_timeout) {
    auto self = shared_from_this();
    if (closed_) co_return;
    closing_ = true;
    if (in_flight_ > 0) {
        drain_timer_.expires_after(drain_timeout);
        co_await drain_timer_.async_wait(use_tuple);
    }
    fail(errc::connection_closed, "closed by the client");
}

void connection::fail(std::error_code ec, std::string detail) {
    if (closed_) return;
    closed_ = true;
    open_ = false;
    close_reason_ = ec;
    close_detail_ = std::move(detail);
    std::error_code ignored;
    if (connect_timer_) connect_timer_->cancel();
    sock_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    sock_.close(ignored);
    wake_.cancel();
    heartbeat_timer_.cancel();
    drain_timer_.cancel();
    sweep_timer_.cancel();
    // Every waiter learns why; ids are free again only because the connection is gone.
    while (head_) {
        pending_request* p = head_;
        unlink(p);
        complete(p, ec, nullptr);
    }
    streams_.release_all([&](void* o) { complete(static_cast<pending_request*>(o), ec, nullptr); });
    auto listeners = std::move(close_listeners_);
    close_listeners_.clear();
    for (auto& l : listeners) l(ec);
}

}  // namespace cqlpp::transport
