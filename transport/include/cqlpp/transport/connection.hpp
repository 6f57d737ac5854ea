// One multiplexed CQL connection (TCP or TLS).
//
// Threading: a connection lives on ONE executor (pass a strand, or an
// io_context run by one thread). Its reader, writer and heartbeat coroutines
// run there, and every member function must be called / co_awaited from that
// executor (co_spawn onto get_executor() from elsewhere). Nothing blocks.
//
// Data path:
//   * submit() queues a caller-owned pending_request holding an already
//     encoded envelope (stream id patched by the writer when an id is free,
//     G2); its completion function runs when the response arrives, straight
//     from the reader (no timer, no post, no allocation per request).
//     Deadlines are kept in one list swept by one timer, re-armed only when an
//     earlier deadline arrives, so a request costs no timer syscall.
//   * async_request() is the coroutine form of the same (a per-request timer
//     is its deadline and wake-up); the driver's hot path uses submit().
//   * One writer coroutine drains the whole queue into one buffer: v5 packs
//     the envelopes into self-contained segments, v4 concatenates them; then
//     ONE async_write (write coalescing, no artificial delay).
//   * One reader coroutine decodes frames and hands each response to its
//     waiter as an owned, ref-counted response_frame (G4); stream -1 EVENTs go
//     to the listeners; a response for an id nobody holds closes the connection.
//   * A timed-out or cancelled request orphans its id (G9); more than
//     max_orphans orphans close the connection (too_many_orphans).
//
// Call close() (or async_close()) when done: the background coroutines keep
// the connection alive until it is closed.
#pragma once

#include "cqlpp/protocol/envelope.hpp"
#include "cqlpp/protocol/messages.hpp"
#include "cqlpp/transport/config.hpp"
#include "cqlpp/transport/detail/stream_table.hpp"
#include "cqlpp/transport/error.hpp"
#include "cqlpp/transport/metrics.hpp"
#include "cqlpp/transport/pending_request.hpp"
#include "cqlpp/transport/response.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace cqlpp::transport {

class connection;

struct connect_result {
    std::error_code ec;
    std::shared_ptr<connection> conn;
    // The server's ERROR when the handshake was refused (bad credentials, ...).
    std::optional<protocol::error_response> server_error;
};

class connection : public std::enable_shared_from_this<connection> {
public:
    using executor_type = asio::any_io_executor;
    using event_listener = std::function<void(const protocol::event_response&)>;
    using close_listener = std::function<void(std::error_code)>;

    // Resolves, connects (TCP, then TLS if configured), runs the handshake
    // and starts the reader/writer/heartbeat. Tries cfg.version; a v5 attempt
    // refused with "Invalid or unsupported protocol version" (or closed before
    // any reply) is retried on a new connection with v4.
    static asio::awaitable<connect_result> async_connect(executor_type ex, connection_config cfg);

    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // Encodes `r` once for this connection's version (and v4 LZ4 body
    // compression), stream 0: async_request() patches the id.
    protocol::byte_buffer encode(const protocol::request& r) const;
    // Same, appending to `out` (whose capacity is reused), with the envelope's
    // tracing flag and custom payload.
    struct encode_options {
        bool tracing = false;
        std::span<const std::pair<std::string_view, std::optional<protocol::bytes_view>>> custom_payload{};
    };
    void encode(const protocol::request& r, const encode_options& o, protocol::byte_buffer& out) const;
    // The same for a message body written by `body(w, version, ctx)` (the
    // per-request path: no request variant built and copied).
    using body_writer = void (*)(protocol::byte_writer& w, protocol::protocol_version v, const void* ctx);
    void encode(protocol::opcode op, body_writer body, const void* ctx, const encode_options& o,
                protocol::byte_buffer& out) const;

    // Sends one whole envelope (as encode() returns; its stream id bytes are
    // overwritten, so keep it alive and untouched until this returns) and
    // waits for ITS response, at most `timeout` (the config's default when
    // omitted; zero or negative: no deadline).
    asio::awaitable<request_result> async_request(std::span<std::uint8_t> envelope);
    asio::awaitable<request_result> async_request(std::span<std::uint8_t> envelope, std::chrono::milliseconds timeout);

    // Callback form (the driver's hot path): queues `p` (envelope, deadline
    // and on_complete set; see pending_request) and returns; on_complete runs
    // later, exactly once, unless abandon() comes first. An error here (the
    // connection is closed or closing, or the envelope is too short) means p
    // was not queued and on_complete will not run.
    std::error_code submit(pending_request& p);
    // The owner gives p up (cancellation): it completes never. A queued
    // request is simply dropped; a written one orphans its stream id (G9).
    void abandon(pending_request& p) noexcept;

    // REGISTER for events; listeners get every EVENT (stream -1) from then on.
    asio::awaitable<std::error_code> async_register(std::vector<protocol::event_type> events);
    void on_event(event_listener l) { event_listeners_.push_back(std::move(l)); }
    // Called once, when the connection closes or becomes defunct (with why).
    void on_close(close_listener l) { close_listeners_.push_back(std::move(l)); }

    // Immediate close: pending requests fail with connection_closed.
    void close() { fail(errc::connection_closed); }
    // Graceful close: refuse new requests, wait (at most drain_timeout) for
    // the in-flight ones to complete, then close.
    asio::awaitable<void> async_close(std::chrono::milliseconds drain_timeout);

    bool is_open() const noexcept { return open_ && !closing_; }
    std::error_code close_reason() const noexcept { return close_reason_; }
    const std::string& close_detail() const noexcept { return close_detail_; }
    protocol::protocol_version version() const noexcept { return version_; }
    bool compression() const noexcept { return lz4_; }
    std::size_t in_flight() const noexcept { return in_flight_; }
    connection_metrics metrics() const noexcept;
    const connection_config& config() const noexcept { return cfg_; }
    executor_type get_executor() const noexcept { return ex_; }
    // The peer's address and port (default-constructed if the socket is gone).
    asio::ip::tcp::endpoint remote_endpoint() const noexcept {
        std::error_code ec;
        auto ep = sock_.remote_endpoint(ec);
        return ec ? asio::ip::tcp::endpoint{} : ep;
    }

private:
    connection(executor_type ex, connection_config cfg);

    asio::awaitable<std::error_code> open(protocol::protocol_version v, bool& got_reply);
    asio::awaitable<std::error_code> run_handshake(protocol::protocol_version v, bool& got_reply);
    void start();
    asio::awaitable<void> reader();
    asio::awaitable<void> writer();
    asio::awaitable<void> heartbeat();
    asio::awaitable<void> sweeper();
    void enqueue(pending_request& p);
    void orphan_written(pending_request& p);
    void give_up(pending_request& p, bool timed_out) noexcept;
    void untime(pending_request& p) noexcept;
    asio::awaitable<std::pair<std::error_code, std::size_t>> read_some(std::span<std::uint8_t> buf);
    asio::awaitable<std::error_code> write_all(std::span<const std::uint8_t> buf);

    bool dispatch(const protocol::envelope_view& env);
    void complete(pending_request* p, std::error_code ec, response_ptr r);
    void fail(std::error_code ec, std::string detail = {});
    void notify_writer();
    void unlink(pending_request* p) noexcept;

    executor_type ex_;
    connection_config cfg_;
    asio::ip::tcp::socket sock_;
    std::unique_ptr<asio::ssl::context> tls_ctx_;
    std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
    asio::steady_timer wake_;       // writer's wake-up signal
    asio::steady_timer heartbeat_timer_;
    asio::steady_timer drain_timer_;
    asio::steady_timer sweep_timer_;  // the earliest deadline of the timed requests
    std::shared_ptr<asio::steady_timer> connect_timer_;

    protocol::protocol_version version_ = protocol::protocol_version::v5;
    bool lz4_ = false;
    bool open_ = false;
    bool closing_ = false;
    bool closed_ = false;
    std::error_code close_reason_;
    std::string close_detail_;
    std::optional<protocol::error_response> handshake_error_;

    protocol::frame_reader frames_;
    std::optional<protocol::segment_encoder> encoder_;  // v5 only
    protocol::byte_buffer out_;
    detail::stream_table streams_;
    pending_request* head_ = nullptr;  // writer queue (intrusive, FIFO)
    pending_request* tail_ = nullptr;
    pending_request* timed_ = nullptr;  // requests with a deadline (intrusive, unordered)
    std::chrono::steady_clock::time_point sweep_at_ = std::chrono::steady_clock::time_point::max();
    std::size_t in_flight_ = 0;
    std::chrono::steady_clock::time_point last_read_;
    protocol::byte_buffer heartbeat_envelope_;

    connection_metrics m_;
    std::vector<event_listener> event_listeners_;
    std::vector<close_listener> close_listeners_;
};

}  // namespace cqlpp::transport
