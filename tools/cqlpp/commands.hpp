// Subcommands of the `cqlpp` tool. Each registers itself on the CLI11 app and
// runs when selected; a failure is reported by throwing command_error, which
// main() prints as one line on stderr with a non-zero exit status.
#pragma once

#include <CLI/CLI.hpp>

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

}  // namespace cqlpp::tools
