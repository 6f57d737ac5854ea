// A minimal blocking CQL client on the protocol layer, for tests of the
// simulated cluster: it speaks exactly what the test tells it to, so tests
// can check the server's side of the handshake, framing and faults.
#pragma once

#include "cqlpp/protocol/envelope.hpp"
#include "cqlpp/protocol/messages.hpp"

#include <asio.hpp>
#include <asio/ssl.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

namespace cqlpp::test {

namespace proto = cqlpp::protocol;

struct owned_envelope {
    proto::envelope_header header;
    proto::byte_buffer body;

    proto::response decode() const {
        proto::response r;
        proto::body_prefix prefix;
        proto::bytes_view message;
        if (proto::split_body(header, body, prefix, message) != proto::errc::ok)
            throw std::runtime_error("bad body prefix");
        auto ec = proto::decode_response(header.op, message, header.version, r);
        if (ec != proto::errc::ok) throw std::runtime_error("cannot decode response: " + std::string(proto::to_string(ec)));
        return r;
    }
};

class raw_client {
public:
    explicit raw_client(proto::protocol_version v = proto::protocol_version::v5) : version_(v) {}

    // Returns false when the connection is refused or times out.
    bool connect(const std::string& host, std::uint16_t port, asio::ssl::context* tls = nullptr,
                 std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        std::error_code result = asio::error::timed_out;
        sock_.async_connect({asio::ip::make_address(host), port}, [&](std::error_code ec) { result = ec; });
        io_.restart();
        io_.run_for(timeout);
        if (result) {
            sock_.close();
            return false;
        }
        if (tls) {
            ssl_.emplace(std::move(sock_), *tls);
            std::error_code hs = asio::error::timed_out;
            ssl_->async_handshake(asio::ssl::stream_base::client, [&](std::error_code ec) { hs = ec; });
            io_.restart();
            io_.run_for(timeout);
            if (hs) return false;
        }
        return true;
    }

    void set_version(proto::protocol_version v) { version_ = v; }
    // v5: after the reply to STARTUP every byte is framed.
    void enable_framing(proto::segment_format f) {
        framing_ = f;
        encoder_ = proto::segment_encoder(f);
        frames_.set_framing(f);
    }
    void enable_v4_compression() { v4_lz4_ = true; }

    std::int16_t send(const proto::request& r, std::uint8_t flags = 0) {
        proto::envelope_header h;
        h.version = version_;
        h.stream = next_stream_++;
        h.op = proto::opcode_of(r);
        h.flags = flags;
        proto::byte_buffer env;
        if (v4_lz4_) {
            proto::byte_buffer body;
            proto::byte_writer w(body);
            proto::encode(r, w, version_);
            h.flags |= proto::envelope_flags::compression;
            proto::encode_envelope(env, h, [&](proto::byte_writer& out) { proto::lz4_compress_body(body, out.buffer()); });
        } else {
            proto::encode_envelope(env, h, [&](proto::byte_writer& w) { proto::encode(r, w, version_); });
        }
        send_raw_envelope(env);
        return h.stream;
    }

    void send_raw_envelope(proto::bytes_view env) {
        proto::byte_buffer wire;
        if (framing_) {
            encoder_.add_envelope(env, wire);
            encoder_.flush(wire);
        } else {
            wire.assign(env.begin(), env.end());
        }
        write(wire);
    }

    void write(proto::bytes_view bytes) {
        std::error_code ec;
        if (ssl_) asio::write(*ssl_, asio::buffer(bytes.data(), bytes.size()), ec);
        else asio::write(sock_, asio::buffer(bytes.data(), bytes.size()), ec);
        if (ec) throw std::runtime_error("write failed: " + ec.message());
    }

    // Next envelope, or nullopt on timeout / connection closed. `error` gets
    // the framing error or the socket error that ended the wait.
    std::optional<owned_envelope> recv(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            proto::envelope_view ev;
            auto e = frames_.next(ev);
            if (e == proto::errc::ok) {
                owned_envelope out{ev.header, proto::byte_buffer(ev.body.begin(), ev.body.end())};
                if ((out.header.flags & proto::envelope_flags::compression) && version_ == proto::protocol_version::v4) {
                    proto::byte_buffer plain;
                    if (proto::lz4_decompress_body(out.body, plain) != proto::errc::ok) throw std::runtime_error("bad lz4 body");
                    out.body = std::move(plain);
                    out.header.flags &= static_cast<std::uint8_t>(~proto::envelope_flags::compression);
                }
                return out;
            }
            if (e != proto::errc::need_more_data) {
                framing_error = e;
                return std::nullopt;
            }
            auto now = std::chrono::steady_clock::now();
            if (now >= deadline || closed) return std::nullopt;
            std::size_t got = 0;
            std::error_code result = asio::error::timed_out;
            auto handler = [&](std::error_code ec, std::size_t n) {
                result = ec;
                got = n;
            };
            if (ssl_) ssl_->async_read_some(asio::buffer(buf_), handler);
            else sock_.async_read_some(asio::buffer(buf_), handler);
            io_.restart();
            io_.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
            if (result == asio::error::timed_out) {
                // Abandon the read: cancel and drain the handler.
                if (ssl_) ssl_->lowest_layer().cancel();
                else sock_.cancel();
                io_.restart();
                io_.run();
                if (got > 0) frames_.append(proto::bytes_view(buf_.data(), got));
                if (got == 0) return std::nullopt;
                continue;
            }
            if (got > 0) frames_.append(proto::bytes_view(buf_.data(), got));
            if (result) {
                socket_error = result;
                closed = true;
            }
        }
    }

    // Receives the response (skipping events on stream -1). Views in the
    // result (e.g. Rows cells) stay valid until the next expect()/request().
    proto::response expect(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        for (;;) {
            auto env = recv(timeout);
            if (!env) throw std::runtime_error("no response");
            if (env->header.stream == -1) {
                events.push_back(*env);
                continue;
            }
            last_ = std::move(*env);
            return last_.decode();
        }
    }

    proto::response request(const proto::request& r) {
        send(r);
        return expect();
    }

    // OPTIONS + STARTUP (+ PLAIN auth); switches to framing on v5.
    void handshake(bool lz4 = false, const std::string& user = {}, const std::string& password = {}) {
        auto sup = request(proto::options_request{});
        if (!std::holds_alternative<proto::supported_response>(sup)) throw std::runtime_error("no SUPPORTED");
        std::vector<proto::string_pair> opts{{"CQL_VERSION", "3.0.0"}};
        if (lz4) opts.push_back({"COMPRESSION", "lz4"});
        proto::startup_request s;
        s.options = proto::view_list<proto::string_pair>::owning(opts);
        auto r = request(s);
        if (version_ == proto::protocol_version::v5) enable_framing(lz4 ? proto::segment_format::lz4 : proto::segment_format::uncompressed);
        else if (lz4) enable_v4_compression();
        if (std::holds_alternative<proto::authenticate_response>(r)) {
            std::string token = std::string(1, '\0') + user + std::string(1, '\0') + password;
            proto::auth_response_request a;
            a.token = proto::as_bytes(token);
            r = request(a);
            if (!std::holds_alternative<proto::auth_success_response>(r)) throw std::runtime_error("authentication failed");
        } else if (!std::holds_alternative<proto::ready_response>(r)) {
            throw std::runtime_error("no READY");
        }
    }

    std::vector<owned_envelope> events;
    proto::errc framing_error = proto::errc::ok;
    std::error_code socket_error;
    bool closed = false;

private:
    proto::protocol_version version_;
    asio::io_context io_;
    asio::ip::tcp::socket sock_{io_};
    std::optional<asio::ssl::stream<asio::ip::tcp::socket>> ssl_;
    std::optional<proto::segment_format> framing_;
    proto::segment_encoder encoder_{proto::segment_format::uncompressed};
    proto::frame_reader frames_;
    std::array<std::uint8_t, 65536> buf_{};
    std::int16_t next_stream_ = 0;
    owned_envelope last_;
    bool v4_lz4_ = false;
};

}  // namespace cqlpp::test
