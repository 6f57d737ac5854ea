// cqlpp shell: an interactive CQL shell (libedit line editing and history),
// or a reader of statements from stdin when stdin is not a terminal.
#include "client.hpp"
#include "commands.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/signal_set.hpp>
#include <editline/readline.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>

#include <condition_variable>
#include <clocale>
#include <cstdlib>
#include <functional>
#include <system_error>
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

// The reader's end of the pipe a Ctrl-C is signalled through (see shell_getc).
int cancel_fd = -1;
// Set by shell_getc when the line was cancelled; read and reset by the reader's thread.
bool line_cancelled = false;

// libedit's input function: waits on the terminal and the cancel pipe, so
// that a Ctrl-C (SIGINT, handled on the io thread, or a raw ^C byte) ends
// readline() at once; the line it returns is then thrown away. Returns a
// code point (libedit stores it as a wchar_t), so UTF-8 input decodes.
int shell_getc(FILE*) {
    auto byte = [](unsigned char& c) {
        for (;;) {
            pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {cancel_fd, POLLIN, 0}};
            if (::poll(p, 2, -1) < 0) {
                if (errno == EINTR) continue;
                return -1;
            }
            if (p[1].revents & POLLIN) {
                char drain[64];
                while (::read(cancel_fd, drain, sizeof drain) > 0) {
                }
                return 1;
            }
            const auto n = ::read(STDIN_FILENO, &c, 1);
            if (n == 1) return c == 0x03 ? 1 : 0;
            if (n < 0 && errno == EINTR) continue;
            return -1;
        }
    };
    unsigned char c = 0;
    int r = byte(c);
    if (r < 0) return EOF;
    if (r == 1) {
        line_cancelled = true;
        return '\n';
    }
    const int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    if (len == 1) return c;
    int cp = c & (0x7F >> len);
    for (int i = 1; i < len; ++i) {
        unsigned char next = 0;
        r = byte(next);
        if (r < 0) return EOF;
        if (r == 1) {
            line_cancelled = true;
            return '\n';
        }
        cp = (cp << 6) | (next & 0x3F);
    }
    return cp;
}

enum class read_status { line, cancelled, end };

// Reads lines on a thread of its own, one when asked, so the io_context
// keeps running while the user types: heartbeats, server events and
// reconnection go on. libedit is only ever called from that thread.
class line_reader {
public:
    line_reader(asio::any_io_executor ex, bool interactive, std::string history)
        : ex_(ex), ready_(ex), interactive_(interactive), history_(std::move(history)) {
        if (interactive_) {
            if (::pipe2(pipe_, O_CLOEXEC | O_NONBLOCK) != 0) throw command_error("cannot create a pipe");
            cancel_fd = pipe_[0];
        }
        thread_ = std::thread([this] { loop(); });
    }
    ~line_reader() {
        {
            std::lock_guard lock(m_);
            stop_ = true;
        }
        cv_.notify_one();
        interrupt();  // a readline() still waiting (the shell is leaving)
        thread_.join();
        if (interactive_) {
            cancel_fd = -1;
            ::close(pipe_[0]);
            ::close(pipe_[1]);
        }
    }
    line_reader(const line_reader&) = delete;
    line_reader& operator=(const line_reader&) = delete;

    // One line (without its newline), a line cancelled by Ctrl-C, or the end of input.
    asio::awaitable<read_status> read(std::string prompt, std::string& line) {
        {
            std::lock_guard lock(m_);
            prompt_ = std::move(prompt);
            asked_ = true;
        }
        cv_.notify_one();
        // The answer is posted to this executor, so it cannot arrive before we wait.
        ready_.expires_at(asio::steady_timer::time_point::max());
        co_await ready_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        line = std::move(answer_);
        co_return status_;
    }
    // Ends the readline() under way, if any (Ctrl-C; called on the io thread).
    void interrupt() {
        if (interactive_) {
            const char b = 1;
            [[maybe_unused]] auto n = ::write(pipe_[1], &b, 1);  // full pipe: a cancel is pending anyway
        }
    }
    // Added to the history, and the history file written, at once (on the reader's thread).
    void remember(const std::string& entry) {
        if (!interactive_ || entry.empty()) return;
        {
            std::lock_guard lock(m_);
            remember_.push_back(entry);
        }
        cv_.notify_one();
    }

private:
    void save(std::vector<std::string>& entries) {
        for (const auto& e : entries) add_history(e.c_str());
        // Written as it goes: a killed shell or terminal keeps what was typed.
        if (!entries.empty() && !history_.empty()) write_history(history_.c_str());
        entries.clear();
    }

    void loop() {
        if (interactive_) {
            // Before anything initialises libedit: it reads these then.
            rl_catch_signals = 0;  // SIGINT is the io thread's (asio::signal_set)
            rl_getc_function = shell_getc;
            using_history();
            stifle_history(1000);
            if (!history_.empty()) read_history(history_.c_str());
        }
        for (;;) {
            std::string prompt;
            std::vector<std::string> entries;
            bool ask = false;
            {
                std::unique_lock lock(m_);
                cv_.wait(lock, [this] { return asked_ || stop_ || !remember_.empty(); });
                entries.swap(remember_);
                if (stop_) {
                    lock.unlock();
                    save(entries);
                    break;
                }
                ask = asked_;
                asked_ = false;
                prompt = std::move(prompt_);
            }
            save(entries);
            if (!ask) continue;
            std::string line;
            auto status = read_status::end;
            if (!interactive_) {
                if (std::getline(std::cin, line)) status = read_status::line;
            } else {
                line_cancelled = false;
                if (char* raw = readline(prompt.c_str())) {
                    line = raw;
                    std::free(raw);
                    status = line_cancelled ? read_status::cancelled : read_status::line;
                    if (line_cancelled) line.clear();
                } else {
                    std::cout << '\n';
                }
            }
            asio::post(ex_, [this, status, line = std::move(line)]() mutable {
                status_ = status;
                answer_ = std::move(line);
                ready_.cancel();
            });
        }
    }

    asio::any_io_executor ex_;
    asio::steady_timer ready_;  // cancelled when the answer is in
    bool interactive_;
    std::string history_;
    int pipe_[2] = {-1, -1};  // Ctrl-C: io thread -> shell_getc
    // io side
    read_status status_ = read_status::end;
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
    // libedit converts what is typed with the terminal's character set (UTF-8 text).
    if (interactive) std::setlocale(LC_CTYPE, "");
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
        // Ctrl-C on a terminal: cancels the line being typed or the statement
        // running, and the shell goes on. (The SIGINT may land on any thread:
        // asio's handler only wakes the io_context, which decides here.)
        asio::signal_set sigint(ex);
        asio::cancellation_signal cancel_run;
        bool running = false;
        bool paused = false;  // at ---MORE---: the reader has the terminal
        std::function<void()> arm = [&] {
            sigint.async_wait([&](std::error_code ec, int) {
                if (ec) return;
                if (running && !paused) cancel_run.emit(asio::cancellation_type::terminal);
                else reader.interrupt();
                arm();
            });
        };
        // cqlsh pauses a paged result on a terminal: Enter shows the next page;
        // q (or Ctrl-C, Ctrl-D) ends the result there.
        if (interactive && isatty(STDOUT_FILENO)) {
            c.set_pager([&reader, &paused]() -> asio::awaitable<bool> {
                std::string answer;
                paused = true;
                const auto got = co_await reader.read("---MORE---", answer);
                paused = false;
                co_return got == read_status::line && answer.find_first_of("qQ") == std::string::npos;
            });
        }
        if (interactive) {
            sigint.add(SIGINT);
            arm();
        }
        statement_splitter splitter;
        std::string entry;  // the lines of the statement being typed, for the history
        std::string line;
        std::exception_ptr internal;
        try {
            while (!c.quit_requested()) {
                const bool fresh = splitter.blank();
                std::string prompt = !fresh ? "   ... " : c.keyspace().empty() ? "cqlpp> " : "cqlpp:" + c.keyspace() + "> ";
                const auto got = co_await reader.read(std::move(prompt), line);
                if (got == read_status::end) break;
                if (got == read_status::cancelled) {  // the statement being typed is dropped
                    splitter.take_rest();
                    entry.clear();
                    continue;
                }
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
                    if (!interactive) {
                        co_await run_and_report(c, s, failures);
                    } else {
                        // Its own coroutine, so that a Ctrl-C cancels what it awaits.
                        running = true;
                        auto [e] = co_await asio::co_spawn(
                            ex, run_and_report(c, s, failures),
                            asio::bind_cancellation_slot(cancel_run.slot(),
                                                         asio::experimental::as_tuple(asio::use_awaitable)));
                        running = false;
                        if (e) {
                            try {
                                std::rethrow_exception(e);
                            } catch (const std::system_error& se) {
                                if (se.code() != asio::error::operation_aborted) throw;
                            }
                            std::cout.flush();
                            std::cerr << "cqlpp: cancelled\n";
                            ++failures;
                            break;  // and the rest of the line with it
                        }
                    }
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
