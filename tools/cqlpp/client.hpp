// What `cqlpp exec` and `cqlpp shell` share: connection options, the session
// they drive on one io_context, statement splitting, result printing (table,
// csv, json) and the cqlsh-like commands (USE, DESCRIBE, CONSISTENCY, ...).
#pragma once

#include "cqlpp/driver/session.hpp"

#include <CLI/CLI.hpp>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include <cstdint>
#include <fstream>
#include <iosfwd>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cqlpp::tools {

struct client_options {
    std::string hosts = "127.0.0.1:9042";
    int protocol = 5;
    std::string compression = "none";
    std::string keyspace;
    std::string consistency = "ONE";
    std::int32_t page_size = 5000;
    std::string format = "table";
    std::string user, password;
    bool tls = false;
    std::string tls_ca, tls_cert, tls_key;
    bool no_hostname_check = false;
    int timeout_ms = 12000;
    int heartbeat_ms = 30000;
    bool verbose = false;
};

// A whole number >= min, with a short message ("must be >= 1, not 0").
CLI::Validator at_least(long long min);
// Registers --hosts, --protocol, ... on a subcommand.
void add_client_options(CLI::App& cmd, client_options& o);
// The session configuration for these options (throws command_error on a bad value).
driver::session_config make_session_config(const client_options& o);

// Runs `body` to completion on a fresh io_context driven by this thread, and
// rethrows what it threw.
void run_on_io(std::function<asio::awaitable<void>(asio::any_io_executor)> body);

// Splits CQL text into statements on ';' outside quotes ('...', "...",
// $$...$$) and comments (--, //, /* */). Comments are dropped from the
// statements; text may arrive in pieces (a shell's lines).
class statement_splitter {
public:
    void feed(std::string_view text) { pending_.append(text); }
    // The next complete statement (trimmed, without its ';'), if any.
    std::optional<std::string> next();
    // Nothing but blanks and comments is pending.
    bool blank() const;
    // Whatever is pending (an unterminated last statement), trimmed, and clears it.
    std::string take_rest();
private:
    std::string pending_;
    std::size_t pos_ = 0;  // pending_[0, pos_) is consumed
};

// Identifiers: "Quoted" keeps its case, unquoted is lower-cased.
std::string parse_identifier(std::string_view s);
// Quotes a name when CQL needs it to keep its case or characters.
std::string quote_identifier(std::string_view s);

enum class output_format { table, csv, json };
struct schema_extras;

// A connected session plus what a shell remembers between statements.
class client {
public:
    explicit client(client_options o);
    ~client();

    // Throws command_error ("cannot connect to H: ...") on failure.
    asio::awaitable<void> connect(asio::any_io_executor ex);
    asio::awaitable<void> close();

    // Runs one statement (without ';'): CQL, printing every page of its rows,
    // or a command (USE, DESCRIBE, CONSISTENCY, SERIAL CONSISTENCY, PAGING,
    // EXPAND, HELP, EXIT/QUIT). Throws command_error("error: ...") on failure.
    asio::awaitable<void> run(std::string_view stmt);

    // A shell command that ends at the end of its line (no ';' needed).
    static bool is_line_command(std::string_view line);

    // With paging on, asked after each page that has a next one ("---MORE---");
    // false stops the result there. The shell sets it when stdin and stdout
    // are a terminal (cqlsh pauses only then); a paged table then prints each
    // page as a table of its own, as cqlsh does.
    void set_pager(std::function<asio::awaitable<bool>()> more) { more_ = std::move(more); }

    const std::string& keyspace() const noexcept { return keyspace_; }
    bool quit_requested() const noexcept { return quit_; }

private:
    asio::awaitable<void> run_cql(std::string cql);
    asio::awaitable<void> use_keyspace(std::string ks);
    asio::awaitable<void> describe(std::string_view what);
    // The keyspace's user types and clustering order, from system_schema.
    asio::awaitable<std::shared_ptr<const schema_extras>> schema_extras_for(const std::string& ks);
    std::ostream& notice() const;
    // Where output goes that CAPTURE must not take (cqlsh captures query results only).
    std::ostream& console() const;
    // COPY [ks.]t [(cols)] TO|FROM 'file' [WITH opt = v AND ...], SOURCE 'file', CAPTURE ['file' | OFF].
    asio::awaitable<void> copy_command(std::string_view rest);
    asio::awaitable<void> source_command(std::string_view rest);
    void capture_command(std::string_view rest);
    void consistency_command(std::string_view arg, bool serial);
    void paging_command(std::string_view arg);
    void expand_command(std::string_view arg);
    void tracing_command(std::string_view arg);
    // Prints the trace of one request from system_traces, as cqlsh does.
    asio::awaitable<void> print_trace(const protocol::uuid_bytes& id);
    asio::awaitable<void> show_command(std::string_view arg);
    void help();

    client_options opts_;
    driver::session_config cfg_;
    asio::any_io_executor ex_;
    std::shared_ptr<driver::session> session_;
    std::string keyspace_;
    output_format format_ = output_format::table;
    protocol::consistency consistency_ = protocol::consistency::one;
    protocol::consistency serial_consistency_ = protocol::consistency::serial;
    std::int32_t page_size_ = 5000;
    bool paging_ = true;
    bool expand_ = false;
    bool tracing_ = false;
    std::function<asio::awaitable<bool>()> more_;
    bool quit_ = false;
    // CAPTURE: std::cout's buffer goes to the file; console_ keeps the terminal's.
    std::unique_ptr<std::ofstream> capture_;
    std::string capture_path_;
    std::streambuf* saved_cout_ = nullptr;
    std::unique_ptr<std::ostream> console_;
    int source_depth_ = 0;  // SOURCE inside SOURCE, bounded
};

}  // namespace cqlpp::tools
