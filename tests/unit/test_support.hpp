// Helpers shared by the unit tests.
#pragma once

#include "cqlpp/protocol/bytes.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <stdexcept>
#include <string>

namespace cqlpp::test {

// The golden vectors (tests/data/vectors.json, a copy of shared/vectors/vectors.json).
inline const nlohmann::json& vectors() {
    static const nlohmann::json v = [] {
        std::ifstream in(std::string(CQLPP_TEST_DATA_DIR) + "/vectors.json");
        if (!in) throw std::runtime_error("cannot open tests/data/vectors.json");
        return nlohmann::json::parse(in);
    }();
    return v;
}

inline protocol::byte_buffer unhex(std::string_view hex) {
    protocol::byte_buffer out;
    if (!protocol::from_hex(hex, out)) throw std::invalid_argument("bad hex in test: " + std::string(hex));
    return out;
}

inline std::string hex(protocol::bytes_view b) { return protocol::to_hex(b); }

}  // namespace cqlpp::test
