// Connection and pool settings (plain aggregates).
#pragma once

#include "cqlpp/protocol/common.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace cqlpp::transport {

struct credentials {
    std::string username;
    std::string password;
};

struct tls_config {
    std::string ca_file;    // PEM trust anchors; empty: the system default paths
    std::string cert_file;  // optional client certificate chain (PEM)
    std::string key_file;   // its private key (PEM)
    bool verify_hostname = true;
    // Name checked against the certificate (and sent as SNI when not an IP);
    // empty: the host connected to.
    std::string server_name;
};

struct connection_config {
    std::string host = "127.0.0.1";
    std::uint16_t port = 9042;
    // Newest version to try; v5 falls back to v4 when the server refuses it.
    protocol::protocol_version version = protocol::protocol_version::v5;
    bool allow_version_fallback = true;
    bool lz4 = false;  // used only when the server offers it in SUPPORTED
    std::optional<credentials> auth;  // PLAIN SASL
    std::optional<tls_config> tls;
    // USE this keyspace right after the handshake (empty: none). A keyspace
    // that does not exist fails the connect with the server's error.
    std::string keyspace;
    std::string cql_version = "3.0.0";
    std::string driver_name = "cqlpp";
    std::string driver_version = "0.1.0";

    // Covers TCP connect, TLS handshake and the CQL handshake.
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds request_timeout{12000};
    // OPTIONS when nothing was read for this long; 0 disables heartbeats.
    std::chrono::milliseconds heartbeat_interval{30000};
    std::chrono::milliseconds heartbeat_timeout{10000};
    // Close (defunct) the connection when more ids than this are orphaned.
    std::size_t max_orphans = 1024;
    std::size_t max_streams = 32768;
    std::size_t max_write_batch = 1024 * 1024;  // bytes coalesced into one write
    std::size_t read_buffer_size = 64 * 1024;
};

struct reconnect_policy {
    std::chrono::milliseconds base_delay{1000};
    std::chrono::milliseconds max_delay{60000};
};

struct pool_config {
    connection_config connection;
    std::size_t connections_per_host = 2;
    reconnect_policy reconnect;
};

}  // namespace cqlpp::transport
