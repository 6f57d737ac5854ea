// Scripted handshake conversations: no socket, just bytes in and out.
#include "cqlpp/transport/detail/handshake_fsm.hpp"
#include "cqlpp/transport/error.hpp"

#include "cqlpp/protocol/messages.hpp"

#include <catch2/catch.hpp>

namespace proto = cqlpp::protocol;
using cqlpp::transport::errc;
using cqlpp::transport::detail::handshake_fsm;
using cqlpp::transport::detail::handshake_params;
using kind = handshake_fsm::action_kind;

namespace {

// What the client wrote: decoded with the framing the server would use.
struct client_msg {
    proto::envelope_header header;
    proto::byte_buffer body;  // the request's views borrow it
    proto::request req;
};

client_msg decode_written(const handshake_fsm::action& a, std::optional<proto::segment_format> framing) {
    REQUIRE(a.kind == kind::write);
    proto::frame_reader fr;
    fr.set_framing(framing);
    fr.append(a.bytes);
    proto::envelope_view ev;
    REQUIRE(fr.next(ev) == proto::errc::ok);
    client_msg m;
    m.header = ev.header;
    m.body.assign(ev.body.begin(), ev.body.end());
    proto::body_prefix prefix;
    proto::bytes_view body;
    REQUIRE(proto::split_body(ev.header, m.body, prefix, body) == proto::errc::ok);
    REQUIRE(proto::decode_request(ev.header.op, body, ev.header.version, m.req) == proto::errc::ok);
    CHECK(fr.buffered() == 0);
    return m;
}

// A server reply as an envelope (the buffer lives in the returned struct).
struct server_msg {
    proto::byte_buffer bytes;
    proto::envelope_view view() const {
        proto::envelope_view ev;
        std::size_t used = 0;
        REQUIRE(proto::read_envelope(bytes, ev, used) == proto::errc::ok);
        return ev;
    }
};

server_msg reply(const proto::response& r, proto::protocol_version v = proto::protocol_version::v5) {
    server_msg m;
    proto::envelope_header h;
    h.version = v;
    h.response = true;
    h.op = proto::opcode_of(r);
    proto::encode_envelope(m.bytes, h, [&](proto::byte_writer& w) { proto::encode(r, w, v); });
    return m;
}

proto::supported_response supported(bool lz4) {
    proto::supported_response s;
    s.options.push_back({"CQL_VERSION", {"3.4.7"}});
    s.options.push_back({"COMPRESSION", lz4 ? std::vector<std::string>{"snappy", "LZ4"} : std::vector<std::string>{}});
    s.options.push_back({"PROTOCOL_VERSIONS", {"3/v3", "4/v4", "5/v5"}});
    return s;
}

handshake_params params(bool lz4 = false) {
    handshake_params p;
    p.lz4 = lz4;
    return p;
}

}  // namespace

TEST_CASE("handshake v5 without auth: OPTIONS, STARTUP, READY, then segments", "[transport][handshake]") {
    for (bool offered : {false, true}) {
        handshake_fsm fsm(params(true));
        auto opts = decode_written(fsm.start(), std::nullopt);
        CHECK(opts.header.op == proto::opcode::options);
        CHECK(opts.header.version == proto::protocol_version::v5);
        CHECK((opts.header.flags & proto::envelope_flags::use_beta) == 0);
        CHECK_FALSE(fsm.read_framing());

        auto act = fsm.on_envelope(reply(supported(offered)).view());
        auto st = decode_written(act, std::nullopt);  // STARTUP is unframed
        REQUIRE(st.header.op == proto::opcode::startup);
        const auto& s = std::get<proto::startup_request>(st.req);
        CHECK(s.find("CQL_VERSION") == std::optional<std::string_view>("3.0.0"));
        CHECK(s.find("DRIVER_NAME") == std::optional<std::string_view>("cqlpp"));
        CHECK(s.find("DRIVER_VERSION").has_value());
        // lz4 only when asked for AND offered.
        CHECK(s.find("COMPRESSION").has_value() == offered);
        CHECK_FALSE(fsm.read_framing());

        act = fsm.on_envelope(reply(proto::ready_response{}).view());
        CHECK(act.kind == kind::done);
        CHECK(fsm.compression() == offered);
        REQUIRE(fsm.read_framing());
        CHECK(*fsm.read_framing() == (offered ? proto::segment_format::lz4 : proto::segment_format::uncompressed));
    }
}

TEST_CASE("handshake never asks for lz4 unless configured", "[transport][handshake]") {
    handshake_fsm fsm(params(false));
    fsm.start();
    auto st = decode_written(fsm.on_envelope(reply(supported(true)).view()), std::nullopt);
    CHECK_FALSE(std::get<proto::startup_request>(st.req).find("COMPRESSION"));
}

TEST_CASE("handshake v5 with PLAIN auth: AUTH_* travel in segments", "[transport][handshake]") {
    auto p = params(true);
    p.auth = cqlpp::transport::credentials{"alice", "s3cret"};
    handshake_fsm fsm(p);
    fsm.start();
    fsm.on_envelope(reply(supported(true)).view());
    auto act = fsm.on_envelope(reply(proto::authenticate_response{"org.apache.cassandra.auth.PasswordAuthenticator"}).view());
    // Switched after AUTHENTICATE: the reply must be framed with LZ4.
    REQUIRE(fsm.read_framing() == proto::segment_format::lz4);
    auto ar = decode_written(act, proto::segment_format::lz4);
    REQUIRE(ar.header.op == proto::opcode::auth_response);
    const auto& tok = std::get<proto::auth_response_request>(ar.req).token;
    REQUIRE(tok);
    CHECK(std::string(proto::as_chars(*tok)) == std::string("\0alice\0s3cret", 13));
    CHECK(fsm.authenticator() == "org.apache.cassandra.auth.PasswordAuthenticator");

    SECTION("success") {
        CHECK(fsm.on_envelope(reply(proto::auth_success_response{}).view()).kind == kind::done);
        CHECK_FALSE(fsm.error());
    }
    SECTION("a challenge is answered again, then success") {
        auto again = fsm.on_envelope(reply(proto::auth_challenge_response{}).view());
        CHECK(decode_written(again, proto::segment_format::lz4).header.op == proto::opcode::auth_response);
        CHECK(fsm.on_envelope(reply(proto::auth_success_response{}).view()).kind == kind::done);
    }
    SECTION("bad credentials") {
        auto bad = fsm.on_envelope(
            reply(proto::error_response::make(proto::server_errc::auth_error, "Provided username alice and/or password are incorrect"))
                .view());
        CHECK(bad.kind == kind::failed);
        CHECK(fsm.error() == errc::auth_failed);
        REQUIRE(fsm.server_error());
        CHECK(fsm.server_error()->code == proto::server_errc::auth_error);
    }
}

TEST_CASE("handshake: AUTHENTICATE without credentials fails with auth_failed", "[transport][handshake]") {
    handshake_fsm fsm(params());
    fsm.start();
    fsm.on_envelope(reply(supported(false)).view());
    CHECK(fsm.on_envelope(reply(proto::authenticate_response{"x"}).view()).kind == kind::failed);
    CHECK(fsm.error() == errc::auth_failed);
}

TEST_CASE("handshake v5 refused with the exact PROTOCOL_ERROR text: unsupported_version", "[transport][handshake]") {
    handshake_fsm fsm(params());
    fsm.start();
    // Cassandra 3.x answers in its own newest version (v4).
    auto act = fsm.on_envelope(reply(proto::error_response::make(
                                         proto::server_errc::protocol_error,
                                         "Invalid or unsupported protocol version (5); supported versions are (3/v3, 4/v4)"),
                                     proto::protocol_version::v4)
                                   .view());
    CHECK(act.kind == kind::failed);
    CHECK(fsm.error() == errc::unsupported_version);

    // Another PROTOCOL_ERROR is not a version refusal.
    handshake_fsm other(params());
    other.start();
    other.on_envelope(reply(proto::error_response::make(proto::server_errc::protocol_error, "Something else")).view());
    CHECK(other.error() == errc::handshake_failed);
}

TEST_CASE("handshake v4: no segments; lz4 means envelope body compression", "[transport][handshake]") {
    auto p = params(true);
    p.version = proto::protocol_version::v4;
    handshake_fsm fsm(p);
    auto o = decode_written(fsm.start(), std::nullopt);
    CHECK(o.header.version == proto::protocol_version::v4);
    auto st = decode_written(fsm.on_envelope(reply(supported(true), proto::protocol_version::v4).view()), std::nullopt);
    CHECK(std::get<proto::startup_request>(st.req).find("COMPRESSION") == std::optional<std::string_view>("lz4"));
    CHECK(fsm.on_envelope(reply(proto::ready_response{}, proto::protocol_version::v4).view()).kind == kind::done);
    CHECK_FALSE(fsm.read_framing());
    CHECK(fsm.compression());
}

TEST_CASE("handshake rejects unexpected replies", "[transport][handshake]") {
    handshake_fsm fsm(params());
    fsm.start();
    CHECK(fsm.on_envelope(reply(proto::ready_response{}).view()).kind == kind::failed);  // READY before SUPPORTED
    CHECK(fsm.error() == errc::handshake_failed);
    handshake_fsm wrong_version(params());
    wrong_version.start();
    CHECK(wrong_version.on_envelope(reply(supported(false), proto::protocol_version::v4).view()).kind == kind::failed);
}
