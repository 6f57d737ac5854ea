// cqlpp shell: an interactive CQL shell (libedit line editing and history),
// or a reader of statements from stdin when stdin is not a terminal.
#include "client.hpp"
#include "commands.hpp"

#include <editline/readline.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

namespace cqlpp::tools {

namespace {

struct shell_options {
    client_options client;
    std::string history_file;  // empty: ~/.cqlpp_history
};

// Reads one line; false at end of input.
class line_reader {
public:
    line_reader(bool interactive, std::string history) : interactive_(interactive), history_(std::move(history)) {
        if (!interactive_) return;
        using_history();
        stifle_history(1000);
        if (!history_.empty()) read_history(history_.c_str());
    }
    ~line_reader() {
        if (interactive_ && !history_.empty()) write_history(history_.c_str());
    }

    bool read(const std::string& prompt, std::string& line) {
        if (!interactive_) return static_cast<bool>(std::getline(std::cin, line));
        char* raw = readline(prompt.c_str());
        if (!raw) {
            std::cout << '\n';
            return false;
        }
        line = raw;
        std::free(raw);
        return true;
    }
    void remember(const std::string& entry) {
        if (interactive_ && !entry.empty()) add_history(entry.c_str());
    }

private:
    bool interactive_;
    std::string history_;
};

void run_shell(const shell_options& o) {
    const bool interactive = isatty(STDIN_FILENO) != 0;
    std::string history = o.history_file;
    if (history.empty())
        if (const char* home = std::getenv("HOME")) history = std::string(home) + "/.cqlpp_history";

    client c(o.client);
    int failures = 0;
    run_on_io([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        co_await c.connect(ex);
        if (interactive)
            std::cout << "Connected to " << o.client.hosts << ". Type HELP for help, EXIT to leave.\n";
        line_reader reader(interactive, history);
        statement_splitter splitter;
        std::string entry;  // the lines of the statement being typed, for the history
        std::string line;
        std::exception_ptr internal;
        try {
            while (!c.quit_requested()) {
                const bool fresh = splitter.blank();
                std::string prompt = !fresh ? "   ... " : c.keyspace().empty() ? "cqlpp> " : "cqlpp:" + c.keyspace() + "> ";
                if (!reader.read(prompt, line)) break;
                std::vector<std::string> todo;
                if (fresh && client::is_line_command(line)) {
                    // Ends at the end of its line (or at a ';', like whatever follows it there).
                    reader.remember(line);
                    splitter.take_rest();
                    splitter.feed(line);
                    while (auto s = splitter.next()) todo.push_back(std::move(*s));
                    if (auto rest = splitter.take_rest(); !rest.empty()) todo.push_back(std::move(rest));
                } else {
                    entry += (entry.empty() ? "" : " ") + line;
                    splitter.feed(line);
                    splitter.feed("\n");
                    while (auto s = splitter.next()) todo.push_back(std::move(*s));
                    if (splitter.blank()) {
                        reader.remember(entry);
                        entry.clear();
                    }
                }
                for (const auto& s : todo) {
                    std::string error;
                    try {
                        co_await c.run(s);
                    } catch (const command_error& e) {
                        error = e.what();
                    }
                    if (!error.empty()) {
                        std::cout.flush();
                        std::cerr << "cqlpp: " << error << '\n';
                        ++failures;
                    }
                    if (c.quit_requested()) break;
                }
            }
            // Input ended inside a statement: run what there is, as exec does.
            if (!c.quit_requested()) {
                auto rest = splitter.take_rest();
                if (!rest.empty()) {
                    std::string error;
                    try {
                        co_await c.run(rest);
                    } catch (const command_error& e) {
                        error = e.what();
                    }
                    if (!error.empty()) {
                        std::cout.flush();
                        std::cerr << "cqlpp: " << error << '\n';
                        ++failures;
                    }
                }
            }
        } catch (...) {
            internal = std::current_exception();
        }
        co_await c.close();
        if (internal) std::rethrow_exception(internal);
    });
    // Piped input: a script's failures show in the exit status.
    if (failures && !interactive) throw command_error(std::to_string(failures) + " statement(s) failed");
}

}  // namespace

void add_shell_command(CLI::App& app) {
    auto o = std::make_shared<shell_options>();
    auto* cmd = app.add_subcommand("shell", "Interactive CQL shell (reads stdin when it is not a terminal)");
    add_client_options(*cmd, o->client);
    cmd->add_option("--history", o->history_file, "History file (default ~/.cqlpp_history)");
    cmd->callback([o] { run_shell(*o); });
}

}  // namespace cqlpp::tools
