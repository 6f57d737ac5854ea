// cqlpp exec: run CQL statements (-e, or a file) and print every page of their results.
#include "client.hpp"
#include "commands.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace cqlpp::tools {

namespace {

struct exec_options {
    client_options client;
    std::vector<std::string> statements;
    std::string file;
};

std::string read_file(const std::string& path) {
    if (path == "-") return {std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    std::error_code ec;
    // An ifstream opens a directory and reads nothing: that would run nothing and succeed.
    if (std::filesystem::is_directory(path, ec)) throw command_error("cannot read " + path + ": is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw command_error("cannot read " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void run_exec(const exec_options& o) {
    if (o.statements.empty() && o.file.empty()) throw command_error("give statements with -e, or a file with -f");
    // Split everything first: a syntax slip at the end should not leave half a script run.
    statement_splitter splitter;
    if (!o.file.empty()) {
        splitter.feed(read_file(o.file));
        splitter.feed("\n;");  // a last statement without ';' still runs
    }
    for (const auto& e : o.statements) {
        splitter.feed(e);
        splitter.feed("\n;");
    }
    std::vector<std::string> statements;
    while (auto s = splitter.next()) statements.push_back(std::move(*s));
    if (auto rest = splitter.take_rest(); !rest.empty()) {
        rest = rest.substr(0, rest.find_last_not_of("\n;") + 1);  // the ';' fed above
        for (auto& ch : rest)
            if (ch == '\n' || ch == '\r') ch = ' ';
        if (rest.size() > 60) rest = rest.substr(0, 60) + "...";
        throw command_error("unterminated quote or comment in: " + rest);
    }

    client c(o.client);
    run_on_io([&](asio::any_io_executor ex) -> asio::awaitable<void> {
        co_await c.connect(ex);
        std::exception_ptr failure;
        try {
            for (const auto& s : statements) {
                co_await c.run(s);
                if (c.quit_requested()) break;
            }
        } catch (...) {
            failure = std::current_exception();
        }
        co_await c.close();
        if (failure) std::rethrow_exception(failure);
    });
}

}  // namespace

void add_exec_command(CLI::App& app) {
    auto o = std::make_shared<exec_options>();
    auto* cmd = app.add_subcommand("exec", "Run CQL statements against a cluster and print their results");
    add_client_options(*cmd, o->client);
    auto* e = cmd->add_option("-e,--execute", o->statements, "A statement (repeatable; run in order)");
    auto* f = cmd->add_option("-f,--file", o->file, "A file of statements separated by ';' (- for stdin)");
    e->excludes(f);
    cmd->callback([o] { run_exec(*o); });
}

}  // namespace cqlpp::tools
