// Subcommands of the `cqlpp` tool. Each registers itself on the CLI11 app and
// runs when selected; a failure is reported by throwing command_error, which
// main() prints as one line on stderr with a non-zero exit status.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace cqlpp::tools {

struct command_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

void add_token_command(CLI::App& app);
void add_wire_command(CLI::App& app);
void add_sim_command(CLI::App& app);
void add_bulk_command(CLI::App& app);
void add_exec_command(CLI::App& app);
void add_shell_command(CLI::App& app);
void add_iceberg_command(CLI::App& app);

// Milliseconds since the epoch as UTC ISO 8601, "2026-12-05T08:00:00.123Z" (earlier times too).
std::string utc_ms_text(std::int64_t ms);

}  // namespace cqlpp::tools
