// cqlpp shell: an interactive CQL shell (libedit line editing and history),
// or a reader of statements from stdin when stdin is not a terminal.
#include "client.hpp"
#include "commands.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <editline/readline.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

namespace cqlpp::tools {

namespace {

struct shell_options {
    client_options client;
    std::string history_file;  // empty: ~/.cqlpp_history
};

// Reads lines on a thread of its own, one when asked, so the io_context
// keeps running while the user types: heartbeats, server events and
// reconnection go on. libedit is only ever called from that thread.
class line_reader {
public:
    line_reader(asio::any_io_executor ex, bool interactive, std::string history)
        : ex_(ex), ready_(ex), interactive_(interactive), history_(std::move(history)) {
        thread_ = std::thread([this] { loop(); });
    }
    ~line_reader() {
        {
            std::lock_guard lock(m_);
            stop_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }
    line_reader(const line_reader&) = delete;
    line_reader& operator=(const line_reader&) = delete;

    // One line (without its newline); false at end of input.
    asio::awaitable<bool> read(std::string prompt, std::string& line) {
        {
            std::lock_guard lock(m_);
            prompt_ = std::move(prompt);
            asked_ = true;
        }
        cv_.notify_one();
        // The answer is posted to this executor, so it cannot arrive before we wait.
        ready_.expires_at(asio::steady_timer::time_point::max());
        co_await ready_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        if (!got_line_) co_return false;
        line = std::move(answer_);
        co_return true;
    }
    // Added to the history before the next line is read (on the reader's thread).
    void remember(const std::string& entry) {
        if (!interactive_ || entry.empty()) return;
        std::lock_guard lock(m_);
        remember_.push_back(entry);
    }

private:
    void loop() {
        if (interactive_) {
            using_history();
            stifle_history(1000);
            if (!history_.empty()) read_history(history_.c_str());
        }
        for (;;) {
            std::string prompt;
            std::vector<std::string> entries;
            {
                std::unique_lock lock(m_);
                cv_.wait(lock, [this] { return asked_ || stop_; });
                if (stop_) break;
                asked_ = false;
                prompt = std::move(prompt_);
                entries.swap(remember_);
            }
            for (const auto& e : entries) add_history(e.c_str());
            std::string line;
            bool ok = false;
            if (!interactive_) {
                ok = static_cast<bool>(std::getline(std::cin, line));
            } else if (char* raw = readline(prompt.c_str())) {
                line = raw;
                std::free(raw);
                ok = true;
            } else {
                std::cout << '\n';
            }
            asio::post(ex_, [this, ok, line = std::move(line)]() mutable {
                got_line_ = ok;
                answer_ = std::move(line);
                ready_.cancel();
            });
        }
        if (interactive_) {
            for (const auto& e : remember_) add_history(e.c_str());
            if (!history_.empty()) write_history(history_.c_str());
        }
    }

    asio::any_io_executor ex_;
    asio::steady_timer ready_;  // cancelled when the answer is in
    bool interactive_;
    std::string history_;
    // io side
    bool got_line_ = false;
    std::string answer_;
    // shared with the reader's thread
    std::mutex m_;
    std::condition_variable cv_;
    bool asked_ = false, stop_ = false;
    std::string prompt_;
    std::vector<std::string> remember_;
    std::thread thread_;
};

// Runs one statement or command; a failure is reported on stderr and counted.
asio::awaitable<void> run_and_report(client& c, const std::string& s, int& failures) {
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
}

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
        line_reader reader(ex, interactive, history);
        statement_splitter splitter;
        std::string entry;  // the lines of the statement being typed, for the history
        std::string line;
        std::exception_ptr internal;
        try {
            while (!c.quit_requested()) {
                const bool fresh = splitter.blank();
                std::string prompt = !fresh ? "   ... " : c.keyspace().empty() ? "cqlpp> " : "cqlpp:" + c.keyspace() + "> ";
                const bool got = co_await reader.read(std::move(prompt), line);
                if (!got) break;
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
                    co_await run_and_report(c, s, failures);
                    if (c.quit_requested()) break;
                }
            }
            // Input ended inside a statement: a terminal's Ctrl-D discards it (as
            // cqlsh does); piped input runs what there is, as exec does.
            if (!c.quit_requested()) {
                auto rest = splitter.take_rest();
                if (!rest.empty() && !interactive) co_await run_and_report(c, rest, failures);
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
