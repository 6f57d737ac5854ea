#include "cqlpp/protocol/common.hpp"

#include <array>
#include <cctype>

namespace cqlpp::protocol {

std::optional<bool> is_request_opcode(std::uint8_t op) noexcept {
    switch (static_cast<opcode>(op)) {
        case opcode::startup:
        case opcode::options:
        case opcode::query:
        case opcode::prepare:
        case opcode::execute:
        case opcode::register_:
        case opcode::batch:
        case opcode::auth_response: return true;
        case opcode::error:
        case opcode::ready:
        case opcode::authenticate:
        case opcode::supported:
        case opcode::result:
        case opcode::event:
        case opcode::auth_challenge:
        case opcode::auth_success: return false;
    }
    return std::nullopt;
}

std::string_view to_string(opcode op) noexcept {
    switch (op) {
        case opcode::error: return "ERROR";
        case opcode::startup: return "STARTUP";
        case opcode::ready: return "READY";
        case opcode::authenticate: return "AUTHENTICATE";
        case opcode::options: return "OPTIONS";
        case opcode::supported: return "SUPPORTED";
        case opcode::query: return "QUERY";
        case opcode::result: return "RESULT";
        case opcode::prepare: return "PREPARE";
        case opcode::execute: return "EXECUTE";
        case opcode::register_: return "REGISTER";
        case opcode::event: return "EVENT";
        case opcode::batch: return "BATCH";
        case opcode::auth_challenge: return "AUTH_CHALLENGE";
        case opcode::auth_response: return "AUTH_RESPONSE";
        case opcode::auth_success: return "AUTH_SUCCESS";
    }
    return "UNKNOWN";
}

namespace {
constexpr std::array<std::string_view, 11> consistency_names = {
    "ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "SERIAL", "LOCAL_SERIAL", "LOCAL_ONE",
};
}

bool is_valid_consistency(std::uint16_t v) noexcept { return v < consistency_names.size(); }

std::string_view to_string(consistency c) noexcept {
    auto i = static_cast<std::size_t>(c);
    return i < consistency_names.size() ? consistency_names[i] : std::string_view("UNKNOWN");
}

std::optional<consistency> parse_consistency(std::string_view s) noexcept {
    for (std::size_t i = 0; i < consistency_names.size(); ++i) {
        auto name = consistency_names[i];
        if (name.size() != s.size()) continue;
        bool eq = true;
        for (std::size_t j = 0; j < s.size() && eq; ++j) {
            char c = static_cast<char>(std::toupper(static_cast<unsigned char>(s[j])));
            if (c == '-') c = '_';
            eq = c == name[j];
        }
        if (eq) return static_cast<consistency>(i);
    }
    return std::nullopt;
}

}  // namespace cqlpp::protocol
