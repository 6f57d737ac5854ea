#include "client.hpp"
#include "client_text.hpp"

#include "client_output.hpp"
#include "commands.hpp"
#include "util.hpp"

#include "cqlpp/bulk/ranges.hpp"
#include "cqlpp/protocol/common.hpp"
#include "cqlpp/protocol/literal.hpp"
#include "cqlpp/protocol/value.hpp"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <functional>
#include <map>
#include <set>
#include <iostream>

namespace cqlpp::tools {

// What system_schema holds and the driver's metadata does not: user types
// (with their field types as the server spells them), clustering order and
// table options.
struct schema_extras {
    std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> types;  // dependency order
    std::set<std::pair<std::string, std::string>> descending;  // (table, column)
    // table -> (option, CQL literal), by option name
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> options;
    // table -> its CREATE [CUSTOM] INDEX statements, by index name
    std::map<std::string, std::vector<std::string>> indexes;
};

namespace {

constexpr std::string_view tool_version = "0.1.0";  // the project's version (CMakeLists.txt)

}  // namespace

// Shared with client_copy.cpp (client_text.hpp).
std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

// The first whitespace-separated word and the (trimmed) rest.
std::pair<std::string_view, std::string_view> first_word(std::string_view s) {
    s = trim(s);
    std::size_t i = 0;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    return {s.substr(0, i), trim(s.substr(i))};
}

std::string_view strip_semicolons(std::string_view s) {
    s = trim(s);
    while (!s.empty() && s.back() == ';') s = trim(s.substr(0, s.size() - 1));
    return s;
}

std::string error_text(std::error_code ec, const driver::diagnostics& d) {
    return d.message.empty() ? ec.message() : d.message;
}

[[noreturn]] void fail(std::string msg) { throw command_error("error: " + std::move(msg)); }

namespace {

// Scans CQL text from `from`: returns the offset just past the first
// top-level ';' (npos when there is none) and appends the statement text,
// comments dropped, to `clean`. `end_state` tells where the scan stopped.
enum class scan_state { normal, single_quote, double_quote, dollar, line_comment, block_comment };

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

// The statement so far (comments dropped) is a BEGIN [UNLOGGED|COUNTER] BATCH
// not yet closed by APPLY BATCH: its inner ';' do not end it (as in cqlsh).
bool open_batch(std::string_view clean) {
    std::vector<std::string_view> head;
    std::size_t i = 0;
    while (head.size() < 3 && i < clean.size()) {
        while (i < clean.size() && std::isspace(static_cast<unsigned char>(clean[i]))) ++i;
        std::size_t j = i;
        while (j < clean.size() && !std::isspace(static_cast<unsigned char>(clean[j]))) ++j;
        if (j > i) head.push_back(clean.substr(i, j - i));
        i = j;
    }
    if (head.size() < 2 || !iequals(head[0], "BEGIN")) return false;
    if (!iequals(head[1], "BATCH") &&
        !(head.size() == 3 && (iequals(head[1], "UNLOGGED") || iequals(head[1], "COUNTER")) && iequals(head[2], "BATCH")))
        return false;
    // Closed when it ends with APPLY BATCH.
    auto t = clean;
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
    if (t.size() < 5 || !iequals(t.substr(t.size() - 5), "BATCH")) return true;
    t.remove_suffix(5);
    if (t.empty() || !std::isspace(static_cast<unsigned char>(t.back()))) return true;
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
    if (t.size() < 5 || !iequals(t.substr(t.size() - 5), "APPLY")) return true;
    const char before = t.size() > 5 ? t[t.size() - 6] : ' ';
    return std::isalnum(static_cast<unsigned char>(before)) || before == '_';
}

std::size_t scan(std::string_view text, std::size_t from, std::string& clean, scan_state& end_state) {
    auto st = scan_state::normal;
    for (std::size_t i = from; i < text.size(); ++i) {
        const char c = text[i];
        const char n = i + 1 < text.size() ? text[i + 1] : '\0';
        switch (st) {
            case scan_state::normal:
                if (c == ';') {
                    if (open_batch(clean)) {
                        clean += c;
                        break;
                    }
                    end_state = st;
                    return i + 1;
                }
                if (c == '\'') st = scan_state::single_quote;
                else if (c == '"') st = scan_state::double_quote;
                else if (c == '$' && n == '$') {
                    st = scan_state::dollar;
                    clean += "$$";
                    ++i;
                    continue;
                } else if ((c == '-' && n == '-') || (c == '/' && n == '/')) {
                    st = scan_state::line_comment;
                    ++i;
                    continue;
                } else if (c == '/' && n == '*') {
                    st = scan_state::block_comment;
                    clean += ' ';
                    ++i;
                    continue;
                }
                clean += c;
                break;
            case scan_state::single_quote:
            case scan_state::double_quote:
                clean += c;
                // A doubled quote is an escaped one: the next iteration reopens.
                if (c == (st == scan_state::single_quote ? '\'' : '"')) st = scan_state::normal;
                break;
            case scan_state::dollar:
                if (c == '$' && n == '$') {
                    clean += "$$";
                    ++i;
                    st = scan_state::normal;
                } else {
                    clean += c;
                }
                break;
            case scan_state::line_comment:
                if (c == '\n') {
                    clean += '\n';
                    st = scan_state::normal;
                }
                break;
            case scan_state::block_comment:
                if (c == '*' && n == '/') {
                    ++i;
                    st = scan_state::normal;
                }
                break;
        }
    }
    end_state = st;
    return std::string_view::npos;
}

std::string replication_literal(const driver::replication_strategy& r) {
    using k = driver::replication_strategy::kind;
    switch (r.strategy) {
        case k::simple:
            return "{'class': 'SimpleStrategy', 'replication_factor': '" + std::to_string(r.replication_factor) + "'}";
        case k::network_topology: {
            std::string s = "{'class': 'NetworkTopologyStrategy'";
            for (const auto& [dc, n] : r.dc_factors) s += ", '" + dc + "': '" + std::to_string(n) + "'";
            return s + "}";
        }
        case k::local: return "{'class': 'LocalStrategy'}";
        case k::everywhere: return "{'class': 'EverywhereStrategy'}";
        case k::unknown: break;
    }
    return "{'class': '" + r.class_name + "'}";
}

std::string create_type_text(const std::string& ks, const std::string& name,
                             const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string s = "CREATE TYPE " + quote_identifier(ks) + '.' + quote_identifier(name) + " (\n";
    for (std::size_t i = 0; i < fields.size(); ++i)
        s += "    " + quote_identifier(fields[i].first) + ' ' + fields[i].second + (i + 1 < fields.size() ? ",\n" : "\n");
    return s + ");\n";
}

std::string create_table_text(const driver::table_metadata& t, const schema_extras* extras = nullptr) {
    std::string s = "CREATE TABLE " + quote_identifier(t.keyspace) + '.' + quote_identifier(t.name) + " (\n";
    const bool simple_key = t.partition_key.size() == 1 && t.clustering.empty();
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
        const auto& c = t.columns[i];
        s += "    " + quote_identifier(c.name) + ' ' + protocol::to_cql_name(c.type);
        if (c.kind == driver::column_metadata::kind::static_) s += " static";
        if (simple_key && i == t.partition_key[0]) s += " PRIMARY KEY";
        if (!simple_key || i + 1 < t.columns.size()) s += ',';
        s += '\n';
    }
    if (!simple_key) {
        auto names = [&](const std::vector<std::size_t>& idx) {
            std::string out;
            for (std::size_t i = 0; i < idx.size(); ++i) out += (i ? ", " : "") + quote_identifier(t.columns[idx[i]].name);
            return out;
        };
        s += "    PRIMARY KEY (";
        s += t.partition_key.size() == 1 ? names(t.partition_key) : '(' + names(t.partition_key) + ')';
        if (!t.clustering.empty()) s += ", " + names(t.clustering);
        s += ")\n";
    }
    s += ')';
    const char* joiner = " WITH ";  // then "\n    AND ", as cqlsh lays options out
    if (extras && !t.clustering.empty()) {
        s += " WITH CLUSTERING ORDER BY (";
        for (std::size_t i = 0; i < t.clustering.size(); ++i) {
            const auto& name = t.columns[t.clustering[i]].name;
            s += (i ? ", " : "") + quote_identifier(name) +
                 (extras->descending.count({t.name, name}) ? " DESC" : " ASC");
        }
        s += ')';
        joiner = "\n    AND ";
    }
    if (extras)
        if (auto it = extras->options.find(t.name); it != extras->options.end())
            for (const auto& [name, literal] : it->second) {
                s += joiner + name + " = " + literal;
                joiner = "\n    AND ";
            }
    s += ";\n";
    if (extras)
        if (auto it = extras->indexes.find(t.name); it != extras->indexes.end())
            for (const auto& create : it->second) s += '\n' + create;
    return s;
}

void setup_logging(bool verbose) {
    // The driver logs through the "cqlpp" logger when there is one: keep
    // stdout for results, and quiet unless --verbose.
    auto l = spdlog::get("cqlpp");
    if (!l) l = spdlog::stderr_logger_mt("cqlpp");
    l->set_pattern("%v");
    l->set_level(verbose ? spdlog::level::info : spdlog::level::err);
}

}  // namespace

// ---- options ----------------------------------------------------------------

CLI::Validator at_least(long long min) { return whole_number(min); }

void add_client_options(CLI::App& cmd, client_options& o) {
    cmd.add_option("--hosts", o.hosts, "Contact points: H1[:PORT][,H2[:PORT]...]")->capture_default_str();
    cmd.add_option("--protocol", o.protocol, "Protocol version: 5 (falls back to 4) or 4")
        ->check(CLI::IsMember({4, 5}))
        ->capture_default_str();
    cmd.add_option("--compression", o.compression, "lz4 or none")
        ->check(CLI::IsMember({"lz4", "none"}))
        ->capture_default_str();
    cmd.add_option("-k,--keyspace", o.keyspace, "Keyspace to USE");
    cmd.add_option("--consistency", o.consistency, "Consistency level")->capture_default_str();
    cmd.add_option("--page-size", o.page_size, "Rows fetched per page")
        ->check(at_least(1))
        ->capture_default_str();
    cmd.add_option("--format", o.format, "Output: table, csv or json (one object per line)")
        ->check(CLI::IsMember({"table", "csv", "json"}))
        ->capture_default_str();
    auto* user = cmd.add_option("-u,--user", o.user, "User name (PasswordAuthenticator)");
    auto* pass = cmd.add_option("-p,--password", o.password, "Password");
    user->needs(pass);
    pass->needs(user);
    cmd.add_flag("--tls", o.tls, "Connect with TLS");
    cmd.add_option("--tls-ca", o.tls_ca, "PEM file of trusted CAs (implies --tls; default: the system's)");
    cmd.add_option("--tls-cert", o.tls_cert, "PEM client certificate (implies --tls)");
    cmd.add_option("--tls-key", o.tls_key, "PEM private key of --tls-cert");
    cmd.add_flag("--no-hostname-check", o.no_hostname_check, "Do not check the server certificate's name");
    cmd.add_option("--timeout", o.timeout_ms, "Connect and request timeout in milliseconds")
        ->check(at_least(1))
        ->capture_default_str();
    cmd.add_option("--heartbeat", o.heartbeat_ms,
                   "Send OPTIONS on a connection idle for this many milliseconds (0: never)")
        ->check(at_least(0))
        ->capture_default_str();
    cmd.add_flag("-v,--verbose", o.verbose, "Report non-row results, connection and driver events on stderr");
}

driver::session_config make_session_config(const client_options& o) {
    driver::session_config cfg;
    cfg.contact_points.clear();
    for (const auto& h : split_top_level(o.hosts, ',')) {
        auto t = trim(h);
        if (!t.empty()) cfg.contact_points.emplace_back(t);
    }
    if (cfg.contact_points.empty()) throw command_error("--hosts: no host given");
    cfg.connection.version = o.protocol == 4 ? protocol::protocol_version::v4 : protocol::protocol_version::v5;
    cfg.connection.allow_version_fallback = o.protocol != 4;
    cfg.connection.lz4 = o.compression == "lz4";
    if (!o.keyspace.empty()) cfg.keyspace = parse_identifier(o.keyspace);
    auto cl = protocol::parse_consistency(o.consistency);
    if (!cl) throw command_error("--consistency: unknown consistency level '" + o.consistency + "'");
    cfg.consistency = *cl;
    cfg.page_size = o.page_size;
    if (!o.user.empty()) cfg.connection.auth = transport::credentials{o.user, o.password};
    if (o.tls || !o.tls_ca.empty() || !o.tls_cert.empty() || !o.tls_key.empty()) {
        if (o.tls_cert.empty() != o.tls_key.empty()) throw command_error("--tls-cert and --tls-key go together");
        transport::tls_config tls;
        tls.ca_file = o.tls_ca;
        tls.cert_file = o.tls_cert;
        tls.key_file = o.tls_key;
        tls.verify_hostname = !o.no_hostname_check;
        cfg.connection.tls = std::move(tls);
    }
    const std::chrono::milliseconds timeout(o.timeout_ms);
    cfg.request_timeout = timeout;
    cfg.connection.request_timeout = timeout;
    cfg.connection.connect_timeout = timeout;
    cfg.connection.heartbeat_interval = std::chrono::milliseconds(o.heartbeat_ms);
    // A command-line client needs no speculative work at exit.
    cfg.drain_timeout = std::chrono::milliseconds(2000);
    return cfg;
}

void run_on_io(std::function<asio::awaitable<void>(asio::any_io_executor)> body) {
    asio::io_context io;
    std::exception_ptr failure;
    asio::co_spawn(io, body(io.get_executor()), [&](std::exception_ptr e) {
        failure = e;
        io.stop();  // background work of a session that could not close cleanly
    });
    io.run();
    if (failure) std::rethrow_exception(failure);
}

// ---- statement splitting -------------------------------------------------------

std::optional<std::string> statement_splitter::next() {
    for (;;) {
        std::string clean;
        scan_state st;
        auto end = scan(pending_, pos_, clean, st);
        if (end == std::string_view::npos) return std::nullopt;
        pos_ = end;
        if (pos_ > 65536 && pos_ * 2 > pending_.size()) {  // drop what was consumed, now and then
            pending_.erase(0, pos_);
            pos_ = 0;
        }
        auto t = trim(clean);
        if (!t.empty()) return std::string(t);
    }
}

bool statement_splitter::blank() const {
    std::string clean;
    scan_state st;
    std::size_t pos = pos_;
    // Several empty statements (";;") are blank too.
    while ((pos = scan(pending_, pos, clean, st)) != std::string_view::npos)
        if (!trim(clean).empty()) return false;
    return trim(clean).empty() && st != scan_state::single_quote && st != scan_state::double_quote &&
           st != scan_state::dollar;
}

std::string statement_splitter::take_rest() {
    std::string clean;
    scan_state st;
    scan(pending_, pos_, clean, st);
    pending_.clear();
    pos_ = 0;
    return std::string(trim(clean));
}

std::string parse_identifier(std::string_view s) {
    s = trim(s);
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
        std::string out;
        for (std::size_t i = 1; i + 1 < s.size(); ++i) {
            out += s[i];
            if (s[i] == '"' && i + 2 < s.size() && s[i + 1] == '"') ++i;
        }
        return out;
    }
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// bulk's quoting also quotes reserved keywords ("select", "table", ...).
std::string quote_identifier(std::string_view s) { return bulk::quote_identifier(s); }

// ---- client -------------------------------------------------------------------

client::client(client_options o) : opts_(std::move(o)) {
    cfg_ = make_session_config(opts_);
    if (opts_.format == "csv") format_ = output_format::csv;
    else if (opts_.format == "json") format_ = output_format::json;
    consistency_ = cfg_.consistency;
    page_size_ = cfg_.page_size;
    setup_logging(opts_.verbose);
}

client::~client() {
    if (saved_cout_) std::cout.rdbuf(saved_cout_);
}

asio::awaitable<void> client::connect(asio::any_io_executor ex) {
    ex_ = ex;
    auto r = co_await driver::session::connect(ex, cfg_);
    if (r.error() && protocol::server_errc_of(r.error())) fail(error_text(r.error(), r.diag()));  // the server's answer, e.g. to -k's USE
    if (r.error()) fail("cannot connect to " + opts_.hosts + ": " + error_text(r.error(), r.diag()));
    session_ = std::move(r.value());
    keyspace_ = cfg_.keyspace;
    if (opts_.verbose)
        std::cerr << "cqlpp: connected to " << session_->metadata()->cluster_name << " through " << opts_.hosts
                  << " (protocol v" << static_cast<int>(session_->protocol_version()) << ")\n";
}

asio::awaitable<void> client::close() {
    if (session_) {
        auto s = std::move(session_);
        co_await s->close();
    }
}

bool client::is_line_command(std::string_view line) {
    auto w = upper(first_word(line).first);
    while (!w.empty() && w.back() == ';') w.pop_back();
    return w == "DESCRIBE" || w == "DESC" || w == "CONSISTENCY" || w == "SERIAL" || w == "PAGING" ||
           w == "EXPAND" || w == "TRACING" || w == "HELP" || w == "?" || w == "EXIT" || w == "QUIT" || w == "SHOW" ||
           w == "COPY" || w == "SOURCE" || w == "CAPTURE";
}

asio::awaitable<void> client::run(std::string_view stmt) {
    auto s = strip_semicolons(stmt);
    if (s.empty()) co_return;
    auto [word, rest] = first_word(s);
    const auto w = upper(word);
    if (w == "USE" && !rest.empty()) {
        co_await use_keyspace(parse_identifier(rest));
    } else if (w == "DESCRIBE" || w == "DESC") {
        co_await describe(rest);
    } else if (w == "CONSISTENCY") {
        consistency_command(rest, false);
    } else if (w == "SERIAL" && upper(first_word(rest).first) == "CONSISTENCY") {
        consistency_command(first_word(rest).second, true);
    } else if (w == "PAGING") {
        paging_command(rest);
    } else if (w == "EXPAND") {
        expand_command(rest);
    } else if (w == "TRACING") {
        tracing_command(rest);
    } else if (w == "SHOW") {
        co_await show_command(rest);
    } else if (w == "COPY") {
        co_await copy_command(rest);
    } else if (w == "SOURCE") {
        co_await source_command(rest);
    } else if (w == "CAPTURE") {
        capture_command(rest);
    } else if (w == "HELP" || w == "?") {
        help();
    } else if ((w == "EXIT" || w == "QUIT") && rest.empty()) {
        quit_ = true;
    } else {
        co_await run_cql(std::string(s));
    }
}

asio::awaitable<void> client::run_cql(std::string cql) {
    driver::statement st(std::move(cql));
    st.options().consistency = consistency_;
    st.options().serial_consistency = serial_consistency_;
    st.options().page_size = paging_ ? page_size_ : 0;
    st.options().tracing = tracing_;
    auto stream = session_->stream(std::move(st));
    std::unique_ptr<row_printer> printer;
    std::vector<protocol::uuid_bytes> traces;  // one per page, printed after the result (as cqlsh)
    for (;;) {
        driver::result page = co_await stream.next_page();
        if (!page.ok()) {
            std::cout.flush();
            fail(error_text(page.error(), page.diag()));
        }
        if (auto id = page.tracing_id()) traces.push_back(*id);
        for (auto w : page.warnings()) std::cerr << "cqlpp: warning: " << w << '\n';
        if (page.kind() != protocol::result_kind::rows) {
            if (opts_.verbose) {
                std::cerr << "cqlpp: ";
                if (const auto* sc = page.schema_change()) {
                    std::cerr << protocol::to_string(sc->change) << ' ' << protocol::to_string(sc->target) << ' '
                              << quote_identifier(sc->keyspace);
                    if (!sc->name.empty()) std::cerr << '.' << quote_identifier(sc->name);
                } else {
                    std::cerr << "OK (" << protocol::to_string(page.kind()) << ")";
                }
                std::cerr << " from " << page.coordinator() << '\n';
            }
            break;
        }
        const bool pause = paging_ && more_;
        if (!printer) printer = make_row_printer(format_, expand_, std::cout, pause);
        printer->page(page.rows());
        if (stream.done()) break;
        if (pause) {
            std::cout.flush();
            if (!co_await more_()) break;
        }
    }
    if (printer) printer->end();
    for (const auto& id : traces) co_await print_trace(id);
}

namespace {

// "2024-01-02 03:04:05.123000" in local time, as cqlsh prints a trace's times
// (Python's str(datetime): no fraction when it is zero).
std::string trace_time(std::int64_t unix_us) {
    const auto secs = static_cast<std::time_t>(unix_us >= 0 ? unix_us / 1000000 : (unix_us - 999999) / 1000000);
    const auto us = static_cast<int>(unix_us - static_cast<std::int64_t>(secs) * 1000000);
    std::tm tm{};
    localtime_r(&secs, &tm);
    char buf[64];
    auto n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    std::string out(buf, n);
    if (us) {
        std::snprintf(buf, sizeof buf, ".%06d", us);
        out += buf;
    }
    return out;
}

// Cells of a trace row, decoded leniently: a wrong size reads as absent.
std::optional<std::int64_t> cell_i64(const driver::row_view& r, std::size_t i) {
    auto v = r.raw(i);
    if (!v.is_set() || v.bytes.size() != 8) return std::nullopt;
    return static_cast<std::int64_t>(protocol::detail::load_be64(v.bytes.data()));
}
std::optional<std::int32_t> cell_i32(const driver::row_view& r, std::size_t i) {
    auto v = r.raw(i);
    if (!v.is_set() || v.bytes.size() != 4) return std::nullopt;
    return static_cast<std::int32_t>(protocol::detail::load_be32(v.bytes.data()));
}
std::string cell_text(const driver::rows_view& rows, const driver::row_view& r, std::size_t i) {
    const auto* cols = rows.columns();
    if (!cols) return {};
    return display_value((*cols)[i].type, r.raw(i), "null");
}
// A time-based uuid's time (100 ns since 1582-10-15) in microseconds since 1970.
std::optional<std::int64_t> timeuuid_us(const driver::row_view& r, std::size_t i) {
    auto v = r.raw(i);
    if (!v.is_set() || v.bytes.size() != 16) return std::nullopt;
    const auto* b = v.bytes.data();
    const std::uint64_t t = (std::uint64_t(protocol::detail::load_be16(b + 6) & 0x0FFF) << 48) |
                            (std::uint64_t(protocol::detail::load_be16(b + 4)) << 32) | protocol::detail::load_be32(b);
    constexpr std::uint64_t gregorian_to_unix = 0x01B21DD213814000ULL;  // 100 ns intervals
    return (static_cast<std::int64_t>(t) - static_cast<std::int64_t>(gregorian_to_unix)) / 10;
}

}  // namespace

asio::awaitable<void> client::print_trace(const protocol::uuid_bytes& id) {
    const auto id_text = protocol::format_literal(protocol::cql_type(protocol::type_kind::uuid), protocol::cql_value::uuid(id));
    // A trace is written as the request runs: wait (briefly) until its session has a duration.
    driver::result session;
    asio::steady_timer pause(ex_);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (;;) {
        session = co_await session_->execute(
            "SELECT request, coordinator, started_at, duration, client FROM system_traces.sessions WHERE session_id = " +
            id_text);
        if (!session.ok()) fail("reading the trace " + id_text + ": " + error_text(session.error(), session.diag()));
        const bool complete = !session.rows().empty() && cell_i32(session.rows()[0], 3);
        if (complete || std::chrono::steady_clock::now() >= give_up) break;
        pause.expires_after(std::chrono::milliseconds(50));
        co_await pause.async_wait(asio::use_awaitable);
    }
    if (session.rows().empty()) {
        std::cout.flush();
        std::cerr << "cqlpp: Session " << id_text << " wasn't found.\n";
        co_return;
    }
    auto events = co_await session_->execute(
        "SELECT activity, event_id, source, source_elapsed, thread FROM system_traces.events WHERE session_id = " + id_text);
    if (!events.ok()) fail("reading the trace " + id_text + ": " + error_text(events.error(), events.diag()));

    const auto& srows = session.rows();
    const auto s = srows[0];
    const std::string coordinator = cell_text(srows, s, 1), client_addr = cell_text(srows, s, 4);
    const auto started_us = cell_i64(s, 2).value_or(0) * 1000;
    std::vector<std::vector<std::string>> rows;
    rows.push_back({cell_text(srows, s, 0), trace_time(started_us), coordinator, "0", client_addr});
    const auto& erows = events.rows();
    for (auto e : erows) {
        std::string activity = cell_text(erows, e, 0);
        if (e.raw(4).is_set()) activity += " [" + cell_text(erows, e, 4) + "]";
        const auto at = timeuuid_us(e, 1);
        rows.push_back({std::move(activity), at ? trace_time(*at) : "null", cell_text(erows, e, 2),
                        std::to_string(cell_i32(e, 3).value_or(0)), client_addr});
    }
    if (auto d = cell_i32(s, 3))
        rows.push_back({"Request complete", trace_time(started_us + *d), coordinator, std::to_string(*d), client_addr});
    // With --format csv|json stdout is data for a program: the trace, a table for people, goes to stderr.
    std::cout.flush();
    std::ostream& out = format_ == output_format::table ? std::cout : std::cerr;
    out << "\nTracing session: " << id_text << "\n\n";
    print_text_table({"activity", "timestamp", "source", "source_elapsed", "client"}, rows, out);
    out << '\n';
    out.flush();
}

asio::awaitable<void> client::use_keyspace(std::string ks) {
    // The server's answer names a keyspace that does not exist; then a new
    // session whose connections all USE it (works on v4, unlike a per-statement keyspace).
    {
        auto r = co_await session_->execute("USE " + quote_identifier(ks));
        if (!r.ok()) fail(error_text(r.error(), r.diag()));
    }
    auto cfg = cfg_;
    cfg.keyspace = ks;
    auto c = co_await driver::session::connect(ex_, cfg);
    if (c.error()) fail("cannot connect to " + opts_.hosts + " with keyspace " + ks + ": " + error_text(c.error(), c.diag()));
    auto old = std::move(session_);
    session_ = std::move(c.value());
    cfg_ = std::move(cfg);
    keyspace_ = ks;
    if (opts_.verbose) std::cerr << "cqlpp: now using keyspace " << quote_identifier(ks) << '\n';
    co_await old->close();
}

asio::awaitable<std::shared_ptr<const schema_extras>> client::schema_extras_for(const std::string& ks) {
    auto extras = std::make_shared<schema_extras>();
    std::string lit = "'";
    for (char ch : ks) lit += ch == '\'' ? "''" : std::string(1, ch);
    lit += '\'';
    auto types = co_await session_->execute(
        "SELECT type_name, field_names, field_types FROM system_schema.types WHERE keyspace_name = " + lit);
    if (!types.ok()) fail("reading system_schema.types: " + error_text(types.error(), types.diag()));
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> defs;
    for (auto row : types.rows()) {
        std::string name;
        std::vector<std::string> names, field_types;
        if (row.try_get(0, name) || row.try_get(1, names) || row.try_get(2, field_types) ||
            names.size() != field_types.size())
            fail("unexpected row in system_schema.types for keyspace '" + ks + "'");
        auto& fields = defs[name];
        for (std::size_t i = 0; i < names.size(); ++i) fields.emplace_back(names[i], field_types[i]);
    }
    // A type is created after the types its fields use (identifiers in their type text).
    std::set<std::string> done, visiting;
    std::function<void(const std::string&)> visit = [&](const std::string& name) {
        if (done.count(name) || visiting.count(name)) return;
        visiting.insert(name);
        for (const auto& [field, type] : defs[name]) {
            std::string word;
            auto flush = [&] {
                auto id = parse_identifier(word);
                if (!word.empty() && id != name && defs.count(id)) visit(id);
                word.clear();
            };
            for (char ch : type) {
                if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '"') word += ch;
                else flush();
            }
            flush();
        }
        visiting.erase(name);
        done.insert(name);
        extras->types.emplace_back(name, defs[name]);
    };
    for (const auto& [name, fields] : defs) visit(name);

    auto cols = co_await session_->execute(
        "SELECT table_name, column_name, clustering_order FROM system_schema.columns WHERE keyspace_name = " + lit);
    if (!cols.ok()) fail("reading system_schema.columns: " + error_text(cols.error(), cols.diag()));
    for (auto row : cols.rows()) {
        std::string table, column, order;
        if (row.try_get(0, table) || row.try_get(1, column)) continue;
        if (!row.try_get(2, order) && upper(order) == "DESC") extras->descending.emplace(table, column);
    }

    // Table options, every one the server reports but identity and the options
    // Cassandra 4.0 removed (a CREATE TABLE naming them fails there).
    auto tables = co_await session_->execute("SELECT * FROM system_schema.tables WHERE keyspace_name = " + lit);
    if (!tables.ok()) fail("reading system_schema.tables: " + error_text(tables.error(), tables.diag()));
    static const std::set<std::string, std::less<>> not_options{
        "keyspace_name", "table_name", "id", "flags", "dclocal_read_repair_chance", "read_repair_chance"};
    const auto* tcols = tables.rows().columns();
    std::optional<std::size_t> name_col;
    std::vector<std::size_t> option_cols;
    if (tcols)
        for (std::size_t i = 0; i < tcols->size(); ++i) {
            const auto& n = (*tcols)[i].name;
            if (n == "table_name") name_col = i;
            else if (!not_options.count(n)) option_cols.push_back(i);
        }
    std::sort(option_cols.begin(), option_cols.end(),
              [&](std::size_t a, std::size_t b) { return (*tcols)[a].name < (*tcols)[b].name; });
    if (name_col)
        for (auto row : tables.rows()) {
            std::string table;
            if (row.try_get(*name_col, table)) continue;
            auto& opts = extras->options[table];
            for (auto i : option_cols) {
                const auto& col = (*tcols)[i];
                protocol::cql_value v;
                if (!row.raw(i).is_set() ||
                    protocol::decode_value(col.type, row.raw(i).bytes, v) != protocol::errc::ok)
                    continue;
                auto text = protocol::format_literal(col.type, v);
                // Cassandra's DESCRIBE prints doubles as Java does: 1.0, not 1.
                if (col.type.kind == protocol::type_kind::double_ &&
                    text.find_first_of(".eEIN") == std::string::npos)
                    text += ".0";
                opts.emplace_back(col.name, std::move(text));
            }
        }

    // Indexes, as CREATE statements after their table (cqlsh prints them so).
    auto idx = co_await session_->execute(
        "SELECT table_name, index_name, kind, options FROM system_schema.indexes WHERE keyspace_name = " + lit);
    if (!idx.ok()) fail("reading system_schema.indexes: " + error_text(idx.error(), idx.diag()));
    auto text_literal = [](std::string_view v) {
        std::string out = "'";
        for (char ch : v) out += ch == '\'' ? "''" : std::string(1, ch);
        return out + '\'';
    };
    std::map<std::string, std::map<std::string, std::string>> by_table;  // table -> name -> statement
    for (auto row : idx.rows()) {
        std::string table, name, kind;
        std::map<std::string, std::string> options;
        if (row.try_get(0, table) || row.try_get(1, name) || row.try_get(2, kind) || row.try_get(3, options))
            fail("unexpected row in system_schema.indexes for keyspace '" + ks + "'");
        const bool custom = upper(kind) == "CUSTOM";
        std::string create = std::string(custom ? "CREATE CUSTOM INDEX " : "CREATE INDEX ") + quote_identifier(name) +
                             " ON " + quote_identifier(ks) + '.' + quote_identifier(table) + " (" + options["target"] +
                             ')';
        if (custom) {
            create += " USING " + text_literal(options["class_name"]);
            std::string rest;
            for (const auto& [k, v] : options)
                if (k != "target" && k != "class_name")
                    rest += (rest.empty() ? "" : ", ") + text_literal(k) + ": " + text_literal(v);
            if (!rest.empty()) create += " WITH OPTIONS = {" + rest + '}';
        }
        by_table[table][name] = create + ";\n";
    }
    for (auto& [table, named] : by_table)
        for (auto& [name, create] : named) extras->indexes[table].push_back(std::move(create));
    co_return extras;
}

asio::awaitable<void> client::describe(std::string_view what) {
    auto meta = session_->metadata();
    auto [word, rest] = first_word(strip_semicolons(what));
    const auto w = upper(word);
    std::string out;

    auto find_keyspace = [&](std::string_view name) -> const driver::keyspace_metadata& {
        std::string ks = name.empty() ? keyspace_ : parse_identifier(name);
        if (ks.empty()) fail("no keyspace given and none in use");
        const auto* k = meta->keyspace(ks);
        if (!k) fail("keyspace '" + ks + "' not found");
        return *k;
    };
    // [ks.]name: the keyspace (the one in use when not given) and the name.
    auto qualified = [&](std::string_view name, const char* what_kind) {
        auto parts = split_top_level(name, '.');
        std::string ks = keyspace_, n;
        if (parts.size() == 2) {
            ks = parse_identifier(parts[0]);
            n = parse_identifier(parts[1]);
        } else if (parts.size() == 1) {
            n = parse_identifier(parts[0]);
        }
        if (n.empty()) fail(std::string("DESCRIBE ") + what_kind + " needs a name");
        if (ks.empty()) fail("no keyspace given for " + std::string(what_kind) + " '" + n + "' and none in use");
        return std::pair{ks, n};
    };
    auto find_table = [&](std::string_view name) -> const driver::table_metadata& {
        auto [ks, table] = qualified(name, "TABLE");
        const auto* t = meta->table(ks, table);
        if (!t) fail("table '" + table + "' not found in keyspace '" + ks + "'");
        return *t;
    };
    auto extras_of = [this](const std::string& ks) { return schema_extras_for(ks); };
    // CREATE KEYSPACE, its types (in dependency order), then its tables: a script that rebuilds it.
    auto keyspace_text = [&](const driver::keyspace_metadata& k) -> asio::awaitable<std::string> {
        auto extras = co_await extras_of(k.name);
        std::string s = "\nCREATE KEYSPACE " + quote_identifier(k.name) + " WITH replication = " +
                        replication_literal(k.replication) + ";\n";
        for (const auto& [name, fields] : extras->types) s += '\n' + create_type_text(k.name, name, fields);
        for (const auto& [name, t] : k.tables) s += '\n' + create_table_text(t, extras.get());
        co_return s + '\n';
    };
    auto table_list = [&](const driver::keyspace_metadata& k) {
        std::string s;
        for (const auto& [name, t] : k.tables) s += (s.empty() ? "" : "  ") + quote_identifier(name);
        return s;
    };
    // As cqlsh: DESCRIBE SCHEMA is the user's schema (the sim keeps its own in `sim`).
    auto system_keyspace = [](std::string_view name) { return name.starts_with("system") || name == "sim"; };

    if (w == "KEYSPACES") {
        std::string names;
        for (const auto& [name, k] : meta->keyspaces) names += (names.empty() ? "" : "  ") + quote_identifier(name);
        out = '\n' + names + "\n\n";
    } else if (w == "KEYSPACE") {
        out = co_await keyspace_text(find_keyspace(rest));
    } else if (w == "SCHEMA") {
        for (const auto& [name, k] : meta->keyspaces)
            if (!system_keyspace(name)) out += co_await keyspace_text(k);
    } else if (w == "FULL" && upper(rest) == "SCHEMA") {
        for (const auto& [name, k] : meta->keyspaces) out += co_await keyspace_text(k);
    } else if (w == "TYPES") {
        const auto& k = find_keyspace({});
        auto extras = co_await extras_of(k.name);
        std::string names;
        for (const auto& [name, fields] : extras->types) names += (names.empty() ? "" : "  ") + quote_identifier(name);
        out = '\n' + names + "\n\n";
    } else if (w == "TYPE") {
        auto [ks, name] = qualified(rest, "TYPE");
        find_keyspace(quote_identifier(ks));
        auto extras = co_await extras_of(ks);
        auto it = std::find_if(extras->types.begin(), extras->types.end(), [&](const auto& t) { return t.first == name; });
        if (it == extras->types.end()) fail("type '" + name + "' not found in keyspace '" + ks + "'");
        out = '\n' + create_type_text(ks, name, it->second) + '\n';
    } else if (w == "TABLES") {
        out = "\n";
        if (!keyspace_.empty()) {
            out += table_list(find_keyspace({})) + "\n\n";
        } else {
            for (const auto& [name, k] : meta->keyspaces) {
                const auto header = "Keyspace " + quote_identifier(name);
                out += header + '\n' + std::string(header.size(), '-') + '\n' + table_list(k) + "\n\n";
            }
        }
    } else if (w == "TABLE" || w == "COLUMNFAMILY") {
        const auto& t = find_table(rest);
        auto extras = co_await extras_of(t.keyspace);
        out = '\n' + create_table_text(t, extras.get()) + '\n';
    } else if (w == "CLUSTER") {
        out = "\nCluster: " + meta->cluster_name + "\nPartitioner: " + meta->partitioner + "\n\n";
    } else if (w.empty()) {
        fail("DESCRIBE what? KEYSPACES, KEYSPACE [ks], TABLES, TABLE [ks.]t, TYPES, TYPE [ks.]t, CLUSTER or SCHEMA");
    } else if (rest.empty() && word.find('.') == std::string_view::npos && meta->keyspace(parse_identifier(word))) {
        out = co_await keyspace_text(find_keyspace(word));
    } else {
        const auto& t = find_table(strip_semicolons(what));
        auto extras = co_await extras_of(t.keyspace);
        out = '\n' + create_table_text(t, extras.get()) + '\n';
    }
    std::cout << out;
    std::cout.flush();
}

// A switch's acknowledgement is not a row: with --format csv|json it goes to
// stderr so stdout stays machine-readable.
std::ostream& client::notice() const { return format_ == output_format::table ? console() : std::cerr; }
std::ostream& client::console() const { return console_ ? *console_ : std::cout; }

void client::consistency_command(std::string_view arg, bool serial) {
    auto& level = serial ? serial_consistency_ : consistency_;
    const std::string what = serial ? "serial consistency level" : "consistency level";
    if (arg.empty()) {
        notice() << "Current " << what << " is " << protocol::to_string(level) << ".\n";
        return;
    }
    auto cl = protocol::parse_consistency(arg);
    if (!cl) fail("unknown consistency level '" + std::string(arg) + "'");
    if (serial && *cl != protocol::consistency::serial && *cl != protocol::consistency::local_serial)
        fail("serial consistency must be SERIAL or LOCAL_SERIAL");
    level = *cl;
    notice() << (serial ? "Serial consistency level" : "Consistency level") << " set to " << protocol::to_string(level)
              << ".\n";
}

void client::paging_command(std::string_view arg) {
    const auto a = upper(arg);
    if (a.empty()) {
        if (paging_)
            notice() << "Query paging is currently enabled. Use PAGING OFF to disable\nPage size: " << page_size_
                      << '\n';
        else
            notice() << "Query paging is currently disabled. Use PAGING ON to enable.\n";
    } else if (a == "OFF") {
        paging_ = false;
        notice() << "Disabled Query paging.\n";
    } else if (a == "ON") {
        paging_ = true;
        notice() << "Now Query paging is enabled\nPage size: " << page_size_ << '\n';
    } else {
        int n = 0;
        auto [p, ec] = std::from_chars(a.data(), a.data() + a.size(), n);
        if (ec != std::errc() || p != a.data() + a.size() || n <= 0)
            fail("PAGING takes ON, OFF or a page size, not '" + std::string(arg) + "'");
        paging_ = true;
        page_size_ = n;
        notice() << "Page size: " << page_size_ << '\n';
    }
}

asio::awaitable<void> client::show_command(std::string_view arg) {
    const auto a = upper(arg);
    if (a == "HOST") {
        std::cout << "Connected to " << session_->metadata()->cluster_name << " at " << opts_.hosts << ".\n";
    } else if (a == "VERSION") {
        // As cqlsh: [tool | Cassandra release | CQL spec | Native protocol vN], from the node answering.
        auto r = co_await session_->execute("SELECT release_version, cql_version FROM system.local");
        if (!r.ok()) fail(error_text(r.error(), r.diag()));
        std::string release = "unknown", cql = "unknown";
        if (!r.rows().empty()) {
            std::string_view v;
            if (!r.rows()[0].try_get(0, v)) release = v;
            if (!r.rows()[0].try_get(1, v)) cql = v;
        }
        std::cout << "[cqlpp " << tool_version << " | Cassandra " << release << " | CQL spec " << cql
                  << " | Native protocol v" << static_cast<int>(session_->protocol_version()) << "]\n";
    } else {
        fail("SHOW takes VERSION or HOST, not '" + std::string(arg) + "'");
    }
}

void client::expand_command(std::string_view arg) {
    const auto a = upper(arg);
    if (a.empty())
        notice() << "Expanded output is currently " << (expand_ ? "enabled. Use EXPAND OFF to disable\n"
                                                                 : "disabled. Use EXPAND ON to enable.\n");
    else if (a == "ON") {
        expand_ = true;
        notice() << "Now Expanded output is enabled\n";
    } else if (a == "OFF") {
        expand_ = false;
        notice() << "Disabled Expanded output.\n";
    } else {
        fail("EXPAND takes ON or OFF, not '" + std::string(arg) + "'");
    }
}

void client::tracing_command(std::string_view arg) {
    // cqlsh's words for its switches.
    const auto a = upper(arg);
    if (a.empty())
        notice() << "Tracing is currently " << (tracing_ ? "enabled. Use TRACING OFF to disable\n"
                                                        : "disabled. Use TRACING ON to enable.\n");
    else if (a == "ON") {
        if (tracing_) {
            notice() << "TRACING is already enabled. Use TRACING OFF to disable.\n";
        } else {
            tracing_ = true;
            notice() << "Now Tracing is enabled\n";
        }
    } else if (a == "OFF") {
        if (!tracing_) {
            notice() << "TRACING is not enabled.\n";
        } else {
            tracing_ = false;
            notice() << "Disabled Tracing.\n";
        }
    } else {
        fail("TRACING takes ON or OFF, not '" + std::string(arg) + "'");
    }
}

void client::help() {
    std::cout << "\nCQL statements end with ';' and may span lines. Commands (no ';' needed):\n"
                 "  USE ks;                          switch keyspace\n"
                 "  DESCRIBE KEYSPACES | KEYSPACE [ks] | TABLES | TABLE [ks.]t | TYPES | TYPE [ks.]t | CLUSTER | SCHEMA\n"
                 "  CONSISTENCY [LEVEL]              show or set the consistency level\n"
                 "  SERIAL CONSISTENCY [LEVEL]       show or set the serial consistency level\n"
                 "  PAGING [ON | OFF | N]            show or set paging (rows per page)\n"
                 "  EXPAND [ON | OFF]                one line per column\n"
                 "  TRACING [ON | OFF]               print each statement's trace (system_traces)\n"
                 "  SHOW VERSION | HOST              versions of the tool, server and protocol; the host\n"
                 "  COPY [ks.]t [(c, ...)] TO|FROM 'file' | STDOUT | STDIN [WITH HEADER = true AND DELIMITER = '|' ...]\n"
                 "                                   export a table to CSV, or import CSV into it\n"
                 "  SOURCE 'file'                    run the statements in a file\n"
                 "  CAPTURE ['file' | OFF]           append query results to a file instead of the screen\n"
                 "  HELP                             this text\n"
                 "  EXIT | QUIT                      leave\n\n";
}

}  // namespace cqlpp::tools
