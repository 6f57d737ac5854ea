// What the simulated cluster claims to be, as reported in system.local/peers
// and SUPPORTED. Drivers read these to pick features.
#pragma once

#include <string_view>

namespace cqlpp::sim {

// Cassandra release the simulator imitates (5.0: v5 framing, vectors).
std::string_view release_version() noexcept;
// CQL language version announced in SUPPORTED and system.local.
std::string_view cql_version() noexcept;

}  // namespace cqlpp::sim
