// cqlpp: command-line tool of the cqlpp driver.
#include "commands.hpp"

#include <cstdio>
#include <iostream>

int main(int argc, char** argv) {
    CLI::App app{"cqlpp: a C++20 driver for Apache Cassandra's CQL native protocol v5/v4", "cqlpp"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "cqlpp 0.1.0");
    cqlpp::tools::add_token_command(app);
    cqlpp::tools::add_wire_command(app);
    cqlpp::tools::add_sim_command(app);
    cqlpp::tools::add_bulk_command(app);
    cqlpp::tools::add_exec_command(app);
    cqlpp::tools::add_shell_command(app);
    cqlpp::tools::add_iceberg_command(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {
        return app.exit(e);  // --help / --version, for the selected subcommand
    } catch (const CLI::ParseError& e) {
        // One line, as for every other failure; --help has the details.
        std::cerr << "cqlpp: " << e.what() << " (run with --help for usage)\n";
        return 2;
    } catch (const cqlpp::tools::command_error& e) {
        std::cout.flush();
        std::cerr << "cqlpp: " << e.what() << '\n';
        return 1;
    } catch (const std::exception& e) {
        std::cout.flush();
        std::cerr << "cqlpp: internal error: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
