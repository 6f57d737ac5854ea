// The cqlsh commands that move data between the cluster and files: COPY TO /
// COPY FROM (CSV, in cqlsh's syntax and defaults), SOURCE and CAPTURE.
//
// COPY TO pages one SELECT of the chosen columns and writes each page as CSV
// (bulk/codec.hpp's text, which COPY FROM and `bulk load` read back). COPY FROM
// maps fields to the chosen columns by position, as cqlsh does (a header line
// is skipped, not matched), and runs bulk::load over the file, so it gets its
// batching, retries and in-flight window.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC 12, Asio's awaitable frames (as cmd_bulk.cpp)
#endif
#include "client.hpp"
#include "client_text.hpp"
#include "commands.hpp"

#include "cqlpp/bulk/codec.hpp"
#include "cqlpp/bulk/csv.hpp"
#include "cqlpp/bulk/operations.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>

namespace cqlpp::tools {

namespace {

namespace fs = std::filesystem;

bool iequal(std::string_view a, std::string_view b) { return upper(a) == upper(b); }

// A '...' literal at the start of s ('' is a quote); the rest after it.
bool take_quoted(std::string_view& s, std::string& out) {
    s = trim(s);
    if (s.empty() || s.front() != '\'') return false;
    out.clear();
    for (std::size_t i = 1; i < s.size(); ++i) {
        if (s[i] != '\'') {
            out += s[i];
        } else if (i + 1 < s.size() && s[i + 1] == '\'') {
            out += '\'';
            ++i;
        } else {
            s = trim(s.substr(i + 1));
            return true;
        }
    }
    fail("unterminated quoted string");
}

// An identifier ("quoted" keeps case) at the start of s.
std::string take_identifier(std::string_view& s) {
    s = trim(s);
    std::size_t i = 0;
    if (!s.empty() && s.front() == '"') {
        for (i = 1; i < s.size(); ++i)
            if (s[i] == '"') {
                if (i + 1 < s.size() && s[i + 1] == '"') ++i;
                else break;
            }
        if (i >= s.size()) fail("unterminated quoted identifier");
        ++i;
    } else {
        while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
    }
    if (i == 0) fail("expected a name at '" + std::string(s.substr(0, 30)) + "'");
    auto id = parse_identifier(s.substr(0, i));
    s = trim(s.substr(i));
    return id;
}

std::string expand_home(std::string path) {
    if (path.size() >= 1 && path[0] == '~' && (path.size() == 1 || path[1] == '/'))
        if (const char* home = std::getenv("HOME")) path = home + path.substr(1);
    return path;
}

struct copy_spec {
    std::string keyspace, table;
    std::vector<std::string> columns;  // empty: all, in table order
    bool to = true;
    std::string file;  // "-" for STDOUT / STDIN
    std::map<std::string, std::string> options;  // upper-cased name -> value
};

copy_spec parse_copy(std::string_view s, const std::string& current_keyspace) {
    copy_spec c;
    auto first = take_identifier(s);
    if (!s.empty() && s.front() == '.') {
        s.remove_prefix(1);
        c.keyspace = first;
        c.table = take_identifier(s);
    } else {
        c.keyspace = current_keyspace;
        c.table = first;
    }
    if (c.keyspace.empty()) fail("COPY: no keyspace given and none in use (USE ks, or COPY ks.t ...)");
    if (!s.empty() && s.front() == '(') {
        s.remove_prefix(1);
        for (;;) {
            c.columns.push_back(take_identifier(s));
            if (s.empty()) fail("COPY: unterminated column list");
            if (s.front() == ')') break;
            if (s.front() != ',') fail("COPY: expected ',' or ')' in the column list");
            s.remove_prefix(1);
        }
        s = trim(s.substr(1));
    }
    auto [dir, rest] = first_word(s);
    if (iequal(dir, "TO")) c.to = true;
    else if (iequal(dir, "FROM")) c.to = false;
    else fail("COPY: expected TO or FROM, not '" + std::string(dir) + "'");
    s = rest;
    if (!take_quoted(s, c.file)) {
        auto [word, after] = first_word(s);
        if (iequal(word, c.to ? "STDOUT" : "STDIN")) c.file = "-";
        else fail(std::string("COPY: expected a quoted file name or ") + (c.to ? "STDOUT" : "STDIN"));
        s = after;
    } else {
        if (c.file.empty()) fail("COPY: empty file name");
        c.file = expand_home(c.file);
    }
    if (s.empty()) return c;
    auto [with, opts] = first_word(s);
    if (!iequal(with, "WITH")) fail("COPY: expected WITH before the options, not '" + std::string(with) + "'");
    s = opts;
    for (;;) {
        auto name = upper(take_identifier(s));
        if (s.empty() || s.front() != '=') fail("COPY: expected '=' after " + name);
        s = trim(s.substr(1));
        std::string value;
        if (!take_quoted(s, value)) {
            auto [word, after] = first_word(s);
            value = std::string(word);
            s = after;
        }
        c.options[name] = value;
        if (s.empty()) break;
        auto [and_, more] = first_word(s);
        if (!iequal(and_, "AND")) fail("COPY: expected AND between options, not '" + std::string(and_) + "'");
        s = more;
    }
    return c;
}

bool bool_option(const std::string& name, const std::string& v) {
    const auto u = upper(v);
    if (u == "TRUE" || u == "YES" || u == "1") return true;
    if (u == "FALSE" || u == "NO" || u == "0") return false;
    fail("COPY: " + name + " must be true or false, not '" + v + "'");
}

long long number_option(const std::string& name, const std::string& v, long long min, long long max) {
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end || errno || n < min || n > max)
        fail("COPY: " + name + " must be a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
             ", not '" + v.substr(0, 30) + "'");
    return n;
}

std::string seconds_text(std::chrono::steady_clock::duration d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", std::chrono::duration<double>(d).count());
    return buf;
}

std::string join_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

}  // namespace

asio::awaitable<void> client::copy_command(std::string_view rest) {
    auto c = parse_copy(strip_semicolons(rest), keyspace_);
    const auto t0 = std::chrono::steady_clock::now();
    auto meta = session_->metadata();
    const auto* table = meta ? meta->table(c.keyspace, c.table) : nullptr;
    if (!table) fail("COPY: table " + quote_identifier(c.keyspace) + '.' + quote_identifier(c.table) + " does not exist");
    if (c.columns.empty())
        for (const auto& col : table->columns) c.columns.push_back(col.name);
    for (const auto& name : c.columns)
        if (!table->find(name)) fail("COPY: table " + c.table + " has no column '" + name + "'");

    // cqlsh's options that mean something here, with its defaults.
    bool header = false;
    char delimiter = ',';
    long long page_size = 1000, max_rows = -1;
    for (const auto& [name, value] : c.options) {
        if (name == "HEADER") header = bool_option(name, value);
        else if (name == "DELIMITER") {
            if (value.size() != 1 || value[0] == '"' || value[0] == '\n' || value[0] == '\r')
                fail("COPY: DELIMITER must be one character (not a quote or a line break)");
            delimiter = value[0];
        } else if (name == "PAGESIZE" && c.to) page_size = number_option(name, value, 1, 1000000);
        else if (name == "MAXROWS" && c.to) max_rows = number_option(name, value, -1, std::numeric_limits<long long>::max());
        else
            fail(std::string("COPY ") + (c.to ? "TO" : "FROM") + ": unrecognized option '" + name + "' (supported: HEADER, DELIMITER" +
                 (c.to ? ", PAGESIZE, MAXROWS" : "") + ")");
    }
    const auto full_name = quote_identifier(c.keyspace) + '.' + quote_identifier(c.table);
    std::vector<std::string> quoted;
    for (const auto& n : c.columns) quoted.push_back(quote_identifier(n));
    // Progress words go where they do not mix with the data (STDOUT is the data).
    std::ostream& info = (c.to && c.file == "-") ? std::cerr : notice();
    info << "Starting copy of " << full_name << " with columns [" << join_names(quoted) << "].\n";

    if (c.to) {
        std::ofstream file;
        std::ostream* out = &std::cout;
        if (c.file != "-") {
            file.open(c.file, std::ios::binary | std::ios::trunc);
            if (!file) fail("COPY TO: cannot write " + c.file + ": " + std::strerror(errno));
            out = &file;
        }
        driver::statement st("SELECT " + join_names(quoted) + " FROM " + full_name);
        st.options().consistency = consistency_;
        st.options().page_size = static_cast<std::int32_t>(page_size);
        auto stream = session_->stream(std::move(st));
        std::string buf;
        std::vector<protocol::cql_value> row;
        std::vector<protocol::column_spec> specs;
        const bulk::csv_write_options wopt{delimiter};
        if (header) {
            for (const auto& n : c.columns) specs.push_back({c.keyspace, c.table, n, table->find(n)->type});
            bulk::append_csv_header(buf, specs, wopt);
        }
        std::uint64_t rows = 0;
        bool done = false;
        while (!done) {
            auto page = co_await stream.next_page();
            if (!page.ok()) fail(error_text(page.error(), page.diag()));
            const auto* cols = page.rows().columns();
            for (auto r : page.rows()) {
                if (max_rows >= 0 && rows >= static_cast<std::uint64_t>(max_rows)) {
                    done = true;
                    break;
                }
                if (auto st = bulk::decode_row(r, row); !st) fail("COPY TO: " + st.message);
                bulk::append_csv_row(buf, cols->specs(), row, wopt);
                ++rows;
            }
            out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
            buf.clear();
            if (!*out) fail("COPY TO: writing " + (c.file == "-" ? std::string("stdout") : c.file) + " failed");
            if (stream.done()) done = true;
        }
        out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
        out->flush();
        if (!*out) fail("COPY TO: writing " + (c.file == "-" ? std::string("stdout") : c.file) + " failed");
        info << rows << " rows exported to 1 files in " << seconds_text(std::chrono::steady_clock::now() - t0)
             << " seconds.\n";
        co_return;
    }

    // COPY FROM: a private copy of the input whose first line names the chosen
    // columns, so bulk::load maps fields by position as cqlsh does.
    std::error_code ec;
    const auto work = fs::temp_directory_path(ec) / ("cqlpp-copy-" + std::to_string(::getpid()) + '-' +
                                                     std::to_string(t0.time_since_epoch().count()));
    if (ec || !fs::create_directories(work, ec)) fail("COPY FROM: cannot create a work directory: " + ec.message());
    struct remove_dir {
        fs::path p;
        bool keep = false;
        ~remove_dir() {
            std::error_code e;
            if (!keep) fs::remove_all(p, e);
        }
    } cleanup{work};
    const auto input = work / "input.csv";
    {
        std::ifstream file;
        std::istream* in = &std::cin;
        if (c.file != "-") {
            if (fs::is_directory(c.file, ec)) fail("COPY FROM: " + c.file + " is a directory");
            file.open(c.file, std::ios::binary);
            if (!file) fail("COPY FROM: cannot read " + c.file + ": " + std::strerror(errno));
            in = &file;
        }
        std::ofstream out(input, std::ios::binary);
        std::string head;
        bulk::append_csv_header(head, [&] {
            std::vector<protocol::column_spec> specs;
            for (const auto& n : c.columns) specs.push_back({c.keyspace, c.table, n, table->find(n)->type});
            return specs;
        }(), bulk::csv_write_options{delimiter});
        out << head;
        // Skip the file's own header record (which may span lines inside quotes).
        bulk::csv_reader reader(bulk::csv_options{delimiter});
        bool skipping = header;
        std::uint64_t fed = 0;
        std::string chunk(1 << 16, '\0');
        while (*in) {
            in->read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
            std::string_view got(chunk.data(), static_cast<std::size_t>(in->gcount()));
            if (got.empty()) break;
            const auto before = fed;
            fed += got.size();
            if (skipping) {
                // Feed until the first record ends; write what follows it.
                reader.feed(got);
                bulk::csv_record rec;
                bulk::status st;
                auto r = reader.next(rec, st);
                if (r == bulk::read_result::need_more) continue;
                if (r != bulk::read_result::record) fail("COPY FROM: the header line of " + c.file + " is not CSV: " + st.message);
                skipping = false;
                const auto cut = static_cast<std::size_t>(rec.end_offset - before);
                // Earlier chunks of the header were not written; this one is written from its end.
                got = cut <= got.size() ? got.substr(cut) : std::string_view{};
            }
            out.write(got.data(), static_cast<std::streamsize>(got.size()));
        }
        out.flush();
        if (!out) fail("COPY FROM: cannot write " + input.string());
    }
    bulk::operation_options o;
    o.keyspace = c.keyspace;
    o.table = c.table;
    o.format = bulk::data_format::csv;
    o.inputs = {input};
    o.header = true;
    o.delimiter = delimiter;
    o.consistency = consistency_;
    o.run_dir = work / "run";
    o.progress_interval = std::chrono::hours(24);
    bulk::progress_callback no_progress;
    auto r = co_await bulk::load(*session_, o, no_progress);
    const auto rejected = r.summary.errors;
    info << r.rows_this_run << " rows imported from 1 files in " << seconds_text(std::chrono::steady_clock::now() - t0)
         << " seconds (" << rejected << " skipped).\n";
    if (rejected) {
        cleanup.keep = true;  // the user reads why
        fail("COPY FROM: " + std::to_string(rejected) + " rows were not imported; each with its reason in " +
             (o.run_dir / "bad_records.jsonl").string());
    }
    if (!r.ok()) fail("COPY FROM: " + r.message);
}

asio::awaitable<void> client::source_command(std::string_view rest) {
    std::string path;
    auto s = strip_semicolons(rest);
    if (!take_quoted(s, path) || !s.empty()) fail("SOURCE takes one quoted file name: SOURCE 'file.cql'");
    path = expand_home(path);
    if (source_depth_ >= 16) fail("SOURCE: files nested more than 16 deep (does " + path + " source itself?)");
    std::error_code ec;
    if (fs::is_directory(path, ec)) fail("SOURCE: " + path + " is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("SOURCE: cannot read " + path + ": " + std::strerror(errno));
    statement_splitter splitter;
    splitter.feed(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
    splitter.feed("\n;");  // a last statement without ';' still runs
    std::vector<std::string> statements;
    while (auto st = splitter.next()) statements.push_back(std::move(*st));
    if (!splitter.take_rest().empty()) fail("SOURCE: " + path + " ends inside a quote or comment");
    ++source_depth_;
    struct depth_guard {
        int& d;
        ~depth_guard() { --d; }
    } guard{source_depth_};
    for (std::size_t i = 0; i < statements.size() && !quit_; ++i) {
        try {
            co_await run(statements[i]);
        } catch (const command_error& e) {
            throw command_error(std::string(e.what()) + " (" + path + ", statement " + std::to_string(i + 1) + ")");
        }
    }
}

void client::capture_command(std::string_view rest) {
    auto s = strip_semicolons(rest);
    if (s.empty()) {
        if (capture_) console() << "Currently capturing query output to '" << capture_path_ << "'.\n";
        else console() << "Currently not capturing query output.\n";
        return;
    }
    if (iequal(s, "OFF")) {
        if (!capture_) {
            console() << "Not currently capturing output.\n";
            return;
        }
        std::cout.flush();
        std::cout.rdbuf(saved_cout_);
        saved_cout_ = nullptr;
        console_.reset();
        capture_.reset();
        std::cout << "Stopped capture. Output saved to '" << capture_path_ << "'.\n";
        capture_path_.clear();
        return;
    }
    std::string path;
    if (!take_quoted(s, path) || !s.empty() || path.empty()) fail("CAPTURE takes a quoted file name or OFF");
    path = expand_home(path);
    auto file = std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::app);
    if (!*file) fail("CAPTURE: cannot write " + path + ": " + std::strerror(errno));
    std::cout.flush();
    if (!saved_cout_) {
        saved_cout_ = std::cout.rdbuf();
        console_ = std::make_unique<std::ostream>(saved_cout_);
    }
    console() << "Now capturing query output to '" << path << "'.\n";
    capture_ = std::move(file);
    capture_path_ = path;
    std::cout.rdbuf(capture_->rdbuf());
}

}  // namespace cqlpp::tools
