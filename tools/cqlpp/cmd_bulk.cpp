// cqlpp bulk count|unload|load|checksum|merge: token-range bulk operations
// (cqlpp::bulk) from the command line, with a live progress display and a
// final summary (--json-summary for machines).
// GCC 12 warns falsely on Asio's awaitable frame operator delete in some
// coroutines (as the test targets note with -Wno-mismatched-new-delete).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
#include "commands.hpp"
#include "util.hpp"

#include "cqlpp/bulk/detail/json.hpp"
#include "cqlpp/bulk/iceberg.hpp"
#include "cqlpp/bulk/journal.hpp"
#include "cqlpp/bulk/operations.hpp"
#include "cqlpp/driver/session.hpp"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <ctime>
#include <optional>
#include <random>
#include <cstdlib>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <sstream>

namespace cqlpp::tools {

namespace {

namespace fs = std::filesystem;

struct bulk_cli {
    std::string hosts = "127.0.0.1";
    std::uint16_t port = 9042;
    std::string keyspace, table;
    std::size_t splits = 0;
    std::size_t concurrency = 0;
    std::string format = "csv";
    std::string compression = "zstd";      // parquet
    std::size_t row_group_rows = 131072;  // parquet
    std::string row_group_bytes = "32MiB";  // parquet: parse_byte_size
    std::string varint_as;                  // parquet: decimal (default) | string; iceberg: string only
    std::string output;
    std::vector<std::string> inputs;
    std::string resume;
    std::string consistency;
    std::vector<std::string> where;
    std::string worker;
    bool json_summary = false;
    int page_size = 5000;
    std::uint64_t max_errors = 100;
    std::uint64_t max_ranges = 0;
    std::uint64_t max_records = 0;
    std::string progress = "auto";
    double progress_interval = 1.0;
    std::string count_mode = "server";
    bool no_header = false;
    std::string delimiter = ",";
    std::size_t batch_rows = 32;
    int timeout_ms = 30000;
    int max_retries = 5;
    std::vector<std::string> merge_dirs;
    // --format iceberg (docs/iceberg.md)
    std::string warehouse, ns, table_name, mode = "append", as_of;
    std::optional<std::int64_t> snapshot_id;
    std::string info_table;
    std::string partition_by;
    std::size_t max_open_partitions = 64;
    std::string job = "unload";  // --worker staging: DATA/job-<job>/worker-I-of-N
    std::size_t workers = 0;     // bulk commit
};

std::string json_escape(std::string_view s) {
    std::string out;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += ch;
        }
    }
    return out;
}

std::string with_commas(std::uint64_t v) {
    auto s = std::to_string(v);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
    return s;
}

std::string fmt_seconds(double s) {
    char buf[32];
    if (s < 60) std::snprintf(buf, sizeof buf, "%.0fs", s);
    else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
    else std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
    return buf;
}

class progress_display {
public:
    progress_display(std::string mode) {
        if (mode == "auto") mode = ::isatty(2) ? "bar" : "lines";
        bar_ = mode == "bar";
        off_ = mode == "none";
    }
    void operator()(const bulk::progress& p) {
        if (off_) return;
        const bool ranges = p.ranges_total > 0;
        std::ostringstream line;
        if (bar_) {
            const int width = 24;
            double frac = p.fraction ? *p.fraction : ranges ? double(p.ranges_done) / double(p.ranges_total) : 0;
            int filled = static_cast<int>(std::lround(frac * width));
            line << '\r' << p.operation << " [" << std::string(std::size_t(filled), '#')
                 << std::string(std::size_t(width - filled), '.') << "] ";
        } else {
            line << p.operation << ": ";
        }
        if (ranges) line << p.ranges_done << '/' << p.ranges_total << (p.operation == "load" ? " files, " : " ranges, ");
        line << with_commas(p.rows) << " rows, " << with_commas(static_cast<std::uint64_t>(p.rows_per_second))
             << " rows/s";
        if (p.errors) line << ", " << p.errors << " errors";
        if (p.retries) line << ", " << p.retries << " retries";
        if (p.final) line << (p.stopped ? ", interrupted after " : ", done in ") << fmt_seconds(p.elapsed_seconds);
        else if (p.eta_seconds) line << ", ETA " << fmt_seconds(*p.eta_seconds);
        if (bar_) {
            line << "   ";
            if (p.final) line << '\n';
        } else {
            line << '\n';
        }
        std::cerr << line.str() << std::flush;
    }

private:
    bool bar_ = false;
    bool off_ = false;
};

void print_summary(const bulk::operation_result& r, bool json, std::ostream& out) {
    const auto& s = r.summary;
    const double rate = s.elapsed_seconds > 0 ? double(r.rows_this_run) / s.elapsed_seconds : 0;
    if (json) {
        auto j = s.to_json();
        if (!j.empty() && j.back() == '}') j.pop_back();
        std::ostringstream o;
        o << j << ",\"ok\":" << (r.ok() ? "true" : "false") << ",\"error\":\""
          << json_escape(r.ok()                                      ? std::string()
                         : r.ec.category() == bulk::bulk_category() ? std::string(bulk::to_string(static_cast<bulk::errc>(r.ec.value())))
                                                                    : r.ec.message())
          << "\",\"message\":\"" << json_escape(r.message) << "\",\"rows_this_run\":" << r.rows_this_run
          << ",\"rows_per_second\":" << static_cast<std::uint64_t>(rate) << ",\"ranges_resumed\":" << r.ranges_resumed
          << ",\"ranges_planned\":" << r.ranges_planned << ",\"per_host\":{";
        bool first = true;
        for (const auto& [h, n] : r.rows_per_host) {
            o << (first ? "" : ",") << '"' << json_escape(h) << "\":" << n;
            first = false;
        }
        o << "}}";
        out << o.str() << '\n';
        return;
    }
    out << s.operation << ": " << with_commas(s.rows) << " rows";
    if (r.ranges_resumed) out << " (" << with_commas(s.rows - r.rows_this_run) << " from earlier runs)";
    out << ", " << s.ranges << (s.operation == "load" ? " files" : " ranges");
    if (r.ranges_resumed) out << " (" << r.ranges_resumed << " resumed)";
    out << '\n';
    char buf[160];
    std::snprintf(buf, sizeof buf, "elapsed: %.3f s, %s rows/s, %s bytes\n", s.elapsed_seconds,
                  with_commas(static_cast<std::uint64_t>(rate)).c_str(), with_commas(s.bytes).c_str());
    out << buf;
    out << "errors: " << s.errors << ", retries: " << s.retries << '\n';
    if (s.range_latency.count) {
        std::snprintf(buf, sizeof buf, "range latency ms: min %.2f, avg %.2f, max %.2f (%llu ranges)\n",
                      s.range_latency.min_ms, s.range_latency.avg_ms(), s.range_latency.max_ms,
                      static_cast<unsigned long long>(s.range_latency.count));
        out << buf;
    }
    for (const auto& [h, n] : r.rows_per_host) out << "host " << h << ": " << with_commas(n) << " rows\n";
    if (s.operation != "count") out << "checksum: " << s.checksum.to_string() << '\n';
}

// "N", "NKiB", "NMiB" or "NGiB" (also K, M, G; powers of 1024) from `min` to
// `max` bytes; anything else is one command_error naming the option.
std::size_t parse_byte_size(const std::string& opt, const std::string& text, std::uint64_t min, std::uint64_t max) {
    auto fail = [&]() -> std::size_t {
        throw command_error(opt + ": expected a size from " + std::to_string(min) + " to " + std::to_string(max) +
                            " bytes (or with a KiB, MiB or GiB suffix), got '" + text + "'");
    };
    std::size_t i = 0;
    std::uint64_t v = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        if (v > max) return fail();  // also keeps v * 10 from overflowing
        v = v * 10 + static_cast<std::uint64_t>(text[i] - '0');
        ++i;
    }
    if (i == 0) return fail();
    const std::string unit = text.substr(i);
    int shift = 0;
    if (unit.empty() || unit == "B") shift = 0;
    else if (unit == "K" || unit == "k" || unit == "KiB") shift = 10;
    else if (unit == "M" || unit == "MiB") shift = 20;
    else if (unit == "G" || unit == "GiB") shift = 30;
    else return fail();
    if (v > (max >> shift)) return fail();
    v <<= shift;
    if (v < min) return fail();
    return static_cast<std::size_t>(v);
}

bulk::operation_options make_options(const bulk_cli& c) {
    bulk::operation_options o;
    o.keyspace = c.keyspace;
    o.table = c.table;
    o.plan.splits = c.splits;
    for (const auto& w : c.where) {
        if (auto st = bulk::parse_token_range(w, o.plan.where); !st) throw command_error("--where-token-range: " + st.message);
    }
    if (!c.worker.empty()) {
        bulk::worker_id w;
        if (auto st = bulk::parse_worker(c.worker, w); !st) throw command_error("--worker: " + st.message);
        o.plan.worker = w;
    }
    o.concurrency = c.concurrency;
    if (!c.consistency.empty()) {
        auto cl = protocol::parse_consistency(c.consistency);
        if (!cl) throw command_error("--consistency: unknown consistency level '" + c.consistency + "'");
        o.consistency = *cl;
    }
    o.page_size = c.page_size;
    o.request_timeout = std::chrono::milliseconds(c.timeout_ms);
    if (c.count_mode != "server" && c.count_mode != "rows")
        throw command_error("--count-mode: expected server or rows, got '" + c.count_mode + "'");
    o.server_side_count = c.count_mode == "server";
    if (c.format == "csv") o.format = bulk::data_format::csv;
    else if (c.format == "json") o.format = bulk::data_format::json;
    else if (c.format == "parquet" || c.format == "iceberg") o.format = bulk::data_format::parquet;
    else throw command_error("--format: expected csv, json, parquet or iceberg, got '" + c.format + "'");
    if (!bulk::parse_parquet_compression(c.compression, o.parquet.compression))
        throw command_error("--compression: expected zstd, snappy or none, got '" + c.compression + "'");
    if (c.row_group_rows == 0) throw command_error("--row-group-rows: must be at least 1");
    o.parquet.row_group_rows = c.row_group_rows;
    // At most 1 GiB: the reader's default decoded budget per row group (parquet_read_options).
    o.parquet.row_group_bytes = parse_byte_size("--row-group-bytes", c.row_group_bytes, 1024, std::uint64_t(1) << 30);
    if (c.varint_as == "string") o.parquet.varint_as_text = true;
    else if (!c.varint_as.empty() && c.varint_as != "decimal")
        throw command_error("--varint-as: expected decimal or string, got '" + c.varint_as + "'");
    if (c.delimiter.size() != 1) throw command_error("--delimiter: expected one character");
    o.delimiter = c.delimiter[0];
    o.header = !c.no_header;
    o.max_batch_rows = c.batch_rows;
    o.max_errors = c.max_errors;
    o.max_ranges = c.max_ranges;
    o.max_records = c.max_records;
    o.max_retries = c.max_retries;
    o.output_dir = c.output;
    for (const auto& i : c.inputs) o.inputs.emplace_back(i);
    if (!c.resume.empty()) {
        o.run_dir = c.resume;
        o.resume = true;
    }
    o.progress_interval = std::chrono::milliseconds(std::max<long>(10, std::lround(c.progress_interval * 1000)));
    return o;
}

std::string random_hex(int bytes) {
    std::random_device rd;
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < bytes; ++i) {
        auto b = rd() & 0xFF;
        s += hex[b >> 4];
        s += hex[b & 15];
    }
    return s;
}

fs::path worker_dir(const fs::path& table_dir, const std::string& job, bulk::worker_id w) {
    return table_dir / "data" / ("job-" + job) /
           ("worker-" + std::to_string(w.index) + "-of-" + std::to_string(w.count));
}

// An fd closed at scope exit; here: the worker lock's, whose POSIX lock lasts as long as it is open.
struct fd_guard {
    int fd = -1;
    fd_guard() = default;
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

// One process at a time per worker directory. Kubernetes may run two pods of
// one index at once (a node lost while its pod still runs; a retry), and two
// runs resuming one journal would both redo its missing ranges: the journal
// would then list them twice and the job could never commit. A POSIX record
// lock (NFS has them) on DIR/worker.lock, held until this process exits. A
// second run waits for the first rather than failing: a scheduler's retries
// are not spent meanwhile, and it then finds the worker finished (or resumes it).
void lock_worker_dir(const fs::path& dir, const std::string& who, fd_guard& lock) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw command_error(dir.string() + ": " + ec.message());
    const fs::path p = dir / "worker.lock";
    lock.fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock.fd < 0) throw command_error(p.string() + ": " + std::strerror(errno));
    struct flock fl{};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(lock.fd, F_SETLK, &fl) == 0) return;
    int err = errno;
    if (err == EACCES || err == EAGAIN) {
        std::cerr << "cqlpp: " << who << " is running in another process (" << p.string()
                  << " is locked): waiting for it to end\n";
        int rc = 0;
        while ((rc = ::fcntl(lock.fd, F_SETLKW, &fl)) != 0 && errno == EINTR) {
        }
        if (rc == 0) return;
        err = errno;
    }
    // A filesystem without locks: run unguarded rather than not at all.
    std::cerr << "cqlpp: warning: " << p.string() << ": cannot lock (" << std::strerror(err)
              << "); run each worker once at a time\n";
}

void write_file_atomically(const fs::path& p, const std::string& text) {
    // A name of this process's own: two commands writing p at once must not share it.
    const fs::path tmp = p.string() + "." + std::to_string(::getpid()) + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        out.flush();
        if (!out) throw command_error(tmp.string() + ": cannot write");
    }
    std::error_code ec;
    fs::rename(tmp, p, ec);
    if (ec) throw command_error(p.string() + ": " + ec.message());
}

// The data files of every journaled range of an Iceberg unload directory,
// from each range's range_<first>_<last>.files.json (a directory written
// before those lists: the range's one file, without metrics).
void collect_data_files(const fs::path& dir, const bulk::journal_contents& j, std::vector<bulk::iceberg_data_file>& out) {
    for (const auto& r : j.ranges) {
        auto name = bulk::range_file_name(r.range, bulk::data_format::parquet);
        const auto list = dir / (name.substr(0, name.size() - 8) + ".files.json");
        std::error_code ec;
        if (fs::exists(list, ec)) {
            std::ifstream in(list, std::ios::binary);
            std::string text((std::istreambuf_iterator<char>(in)), {});
            std::vector<bulk::iceberg_data_file> files;
            if (auto st = bulk::iceberg_parse_files_json(text, dir, files); !st)
                throw command_error(list.string() + ": " + st.message);
            std::uint64_t rows = 0;
            for (auto& f : files) {
                rows += f.rows;
                const auto size = fs::file_size(f.path, ec);
                if (ec || size != f.bytes)
                    throw command_error(f.path.string() + ": missing or not the size its list says (" +
                                        std::to_string(f.bytes) + " bytes)");
                out.push_back(std::move(f));
            }
            if (rows != r.rows)
                throw command_error(list.string() + ": lists " + std::to_string(rows) + " rows, the journal " +
                                    std::to_string(r.rows));
            continue;
        }
        auto p = dir / name;
        if (r.rows == 0) {  // no data file for an empty range
            fs::remove(p, ec);
            continue;
        }
        auto size = fs::file_size(p, ec);
        if (ec) throw command_error(p.string() + ": " + ec.message());
        out.push_back({p, r.rows, size, {}});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
}

void run_operation(const bulk_cli& c, const std::string& op) {
    if (c.keyspace.empty() || c.table.empty()) throw command_error("--keyspace and --table are required");
    auto o = make_options(c);
    const bool iceberg = c.format == "iceberg" && (op == "unload" || op == "load");
    fs::path table_dir;
    fd_guard worker_lock;  // --worker: held to the end (worker.json written)
    bulk::iceberg_mode mode = bulk::iceberg_mode::append;
    if (iceberg) {
        if (c.warehouse.empty()) throw command_error("--format iceberg needs --warehouse DIR");
        if (!c.output.empty() || !c.inputs.empty())
            throw command_error("--format iceberg takes --warehouse (and --namespace, --table-name), not --output/--input");
        table_dir = bulk::iceberg_table_location(c.warehouse, c.ns.empty() ? c.keyspace : c.ns,
                                                 c.table_name.empty() ? c.table : c.table_name);
        if (c.mode == "overwrite") mode = bulk::iceberg_mode::overwrite;
        else if (c.mode != "append") throw command_error("--mode: expected append or overwrite, got '" + c.mode + "'");
        if (op == "unload") {
            if (c.varint_as == "decimal")
                throw command_error("--varint-as decimal: Iceberg data files keep varint as string "
                                    "(Iceberg's decimal(38, 0) would cap the digits)");
            o.parquet.iceberg = true;
            o.max_open_partitions = c.max_open_partitions;
            // A directory of this run's files; only those the commit lists are in the table.
            // --resume DIR: an interrupted unload's directory, finished and then committed.
            // --worker I/N: the job's staging directory of this worker, resumed if it has a
            // journal (a retried pod), committed later by `bulk commit`.
            if (o.plan.worker) {
                if (!c.resume.empty()) throw command_error("--worker with --format iceberg resumes by itself; no --resume");
                o.output_dir = worker_dir(table_dir, c.job, *o.plan.worker);
                // Locked first: what the directory holds is then this run's to read and extend.
                lock_worker_dir(o.output_dir, "worker " + c.worker + " of job '" + c.job + "'", worker_lock);
                std::error_code ec;
                if (fs::exists(o.output_dir / "worker.json", ec)) {
                    // A retried pod of a worker that finished: nothing to do (idempotent for schedulers).
                    std::cout << "iceberg: worker " << c.worker << " of job '" << c.job << "' already finished ("
                              << (o.output_dir / "worker.json").string() << "); nothing to do\n";
                    return;
                }
                if (fs::exists(o.output_dir / "journal.jsonl", ec)) {
                    o.run_dir = o.output_dir;
                    o.resume = true;
                }
            } else {
                o.output_dir = !c.resume.empty() ? fs::path(c.resume)
                                                 : table_dir / "data" / ("unload-" + std::to_string(std::time(nullptr)) + "-" +
                                                                         random_hex(8));
            }
        } else {
            if (!c.resume.empty()) throw command_error("--format iceberg: --resume is for unload only");
            bulk::iceberg_table_info info;
            if (auto st = bulk::iceberg_read_table(table_dir, info); !st) throw command_error(st.message);
            std::optional<std::int64_t> as_of;
            if (!c.as_of.empty()) {
                std::int64_t ms = 0;
                if (!bulk::parse_iceberg_time(c.as_of, ms))
                    throw command_error("--as-of: expected milliseconds since the epoch or an ISO 8601 time, got '" +
                                        c.as_of + "'");
                as_of = ms;
            }
            if (as_of && c.snapshot_id) throw command_error("--snapshot-id and --as-of exclude each other");
            std::int64_t sid = 0;
            if (auto st = bulk::iceberg_select_snapshot(info, c.snapshot_id, as_of, sid); !st) throw command_error(st.message);
            std::vector<bulk::iceberg_data_file> files;
            if (auto st = bulk::iceberg_snapshot_files(table_dir, info, sid, files); !st) throw command_error(st.message);
            if (!c.json_summary) std::cout << "iceberg: snapshot " << sid << ", " << files.size() << " data file(s)\n";
            for (auto& f : files) o.inputs.push_back(f.path);
            if (o.inputs.empty()) {
                std::cout << "nothing to load: the snapshot has no data files\n";
                return;
            }
        }
    }
    if (op == "unload" && o.output_dir.empty()) throw command_error("unload needs --output DIR");
    // Any other worker with a directory (an unload's output, a count's or
    // checksum's --resume): the same guard as an Iceberg worker's, on the
    // directory of its journal. Two runs of one share would both redo its
    // missing ranges: files written twice, a journal `bulk commit` refuses,
    // or a count that `bulk merge` adds twice.
    if (!iceberg && o.plan.worker) {
        const fs::path dir = !o.run_dir.empty() ? o.run_dir : op == "unload" ? o.output_dir : fs::path{};
        if (!dir.empty())
            lock_worker_dir(dir, "worker " + c.worker + " (" + (op == "unload" ? c.format : op) + ")", worker_lock);
    }
    if (op == "load" && o.inputs.empty()) throw command_error("load needs --input PATH");
    o.stop = std::make_shared<std::atomic<bool>>(false);

    driver::session_config cfg;
    cfg.contact_points.clear();
    std::stringstream hs(c.hosts);
    for (std::string h; std::getline(hs, h, ',');)
        if (!h.empty()) cfg.contact_points.push_back(h);
    cfg.default_port = c.port;
    cfg.request_timeout = std::chrono::milliseconds(c.timeout_ms);
    cfg.page_size = c.page_size;
    if (o.consistency) cfg.consistency = *o.consistency;

    asio::io_context io(1);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer grace(io);
    auto stop = o.stop;
    // The operation stops at its next check of the flag; a request in flight,
    // a connect or a metadata read may take longer: after a grace period or a
    // second signal, leave at once (the journal holds whole lines only).
    auto abandon = [&op] {
        std::cout.flush();
        if (::isatty(2)) std::cerr << '\n';  // end the progress bar's line
        std::cerr << "cqlpp: " << op << " interrupted (stopped waiting for requests in flight)\n";
        std::_Exit(1);
    };
    signals.async_wait([&, stop](std::error_code ec, int) {
        if (ec) return;
        stop->store(true);
        grace.expires_after(std::chrono::seconds(3));
        grace.async_wait([&](std::error_code e) {
            if (!e) abandon();
        });
        signals.async_wait([&](std::error_code e, int) {
            if (!e) abandon();
        });
    });
    progress_display display(c.progress);
    bulk::operation_result result;
    bulk::iceberg_write_plan plan;
    std::string connect_error;
    std::exception_ptr crash;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto cr = co_await driver::session::connect(io.get_executor(), cfg);
            if (cr.error()) {
                connect_error = "cannot connect to " + c.hosts + ": " +
                                (cr.diag().message.empty() ? cr.error().message() : cr.diag().message);
                co_return;
            }
            const bulk::progress_callback cb = [&display](const bulk::progress& p) { display(p); };
            if (op == "count") result = co_await bulk::count(*cr.value(), o, cb);
            else if (op == "unload" && iceberg) {
                // The field ids go into the Parquet schema: plan them from the
                // table's columns (the unload resolves the same) before writing.
                std::vector<protocol::column_spec> cols;
                if (auto st = co_await bulk::resolve_columns(*cr.value(), c.keyspace, c.table, cols); !st) {
                    result.ec = st.code;
                    result.message = st.message;
                } else if (st = bulk::iceberg_plan_write(table_dir, cols, plan, c.partition_by); !st) {
                    result.ec = st.code;
                    result.message = st.message;
                } else {
                    o.parquet.field_ids = plan.field_ids;
                    o.iceberg = std::make_shared<const bulk::iceberg_write_plan>(plan);
                    result = co_await bulk::unload(*cr.value(), o, cb);
                }
            } else if (op == "unload") result = co_await bulk::unload(*cr.value(), o, cb);
            else if (op == "load") result = co_await bulk::load(*cr.value(), o, cb);
            else result = co_await bulk::checksum(*cr.value(), o, cb);
            co_await cr.value()->close();
        },
        [&](std::exception_ptr e) {
            crash = e;
            signals.cancel();
            grace.cancel();
            io.stop();
        });
    io.run();
    if (crash) std::rethrow_exception(crash);
    if (!connect_error.empty()) throw command_error(connect_error);
    if (op == "checksum" && !c.json_summary && result.ok()) {
        std::cout << "checksum: " << result.summary.checksum.to_string() << " rows: " << result.summary.rows << '\n';
    } else if (result.started || c.json_summary) {  // an error before any work: just the error
        print_summary(result, c.json_summary, std::cout);
    }
    // A worker resumes its staging directory by itself (--resume is refused with --worker).
    if (iceberg && op == "unload" && !result.ok() && result.started && o.plan.worker)
        std::cerr << "cqlpp: nothing committed; worker " << c.worker << "'s data files so far are in "
                  << o.output_dir.string() << " (run the same command again to resume it)\n";
    else if (iceberg && op == "unload" && !result.ok() && result.started)
        std::cerr << "cqlpp: nothing committed; the data files so far are in " << o.output_dir.string()
                  << " (run again with --resume " << o.output_dir.string() << " to finish and commit)\n";
    if (iceberg && op == "unload" && result.ok() && o.plan.worker) {
        // Staged, not committed: the worker manifest says this share is complete.
        bulk::journal_contents j;
        if (auto st = bulk::read_journal(o.output_dir / "journal.jsonl", j); !st) throw command_error(st.message);
        std::vector<bulk::iceberg_data_file> files;
        collect_data_files(o.output_dir, j, files);
        std::string wj = "{\"worker\":" + std::to_string(o.plan.worker->index) + ",\"workers\":" +
                         std::to_string(o.plan.worker->count) + ",\"rows\":" + std::to_string(result.summary.rows) +
                         ",\"checksum\":\"" + result.summary.checksum.to_string() + "\",\"ranges\":" +
                         std::to_string(j.ranges.size()) + ",\"files\":" + std::to_string(files.size()) +
                         ",\"plan\":" + bulk::iceberg_plan_json(plan) + "}\n";
        write_file_atomically(o.output_dir / "worker.json", wj);
        if (!c.json_summary)
            std::cout << "iceberg: worker " << c.worker << " of job '" << c.job << "' staged " << files.size()
                      << " file(s), " << result.summary.rows << " rows in " << o.output_dir.string()
                      << " (not committed: run `cqlpp bulk commit --workers " << o.plan.worker->count << "`)\n";
    } else if (iceberg && op == "unload" && result.ok()) {
        // Every range of the job, this run's and (resumed) earlier runs', from the journal.
        bulk::journal_contents j;
        if (auto st = bulk::read_journal(o.output_dir / "journal.jsonl", j); !st) throw command_error(st.message);
        std::vector<bulk::iceberg_data_file> files;
        collect_data_files(o.output_dir, j, files);
        bulk::iceberg_commit_result cr;
        // The unload itself is complete: say where its files are. Only a commit that lost the race too often may
        // be resumed; after a schema or spec conflict the files' field ids are the old plan's: unload again.
        if (auto st = bulk::iceberg_commit(plan, files, mode, cr); !st) {
            const bool busy = cr.lost_to_writers;
            throw command_error("iceberg commit failed (" + std::string(bulk::to_string(static_cast<bulk::errc>(st.code.value()))) +
                                "): " + st.message + "; nothing committed" +
                                (busy ? " (run again with --resume " + o.output_dir.string() + " to commit its files)"
                                      : " (its files in " + o.output_dir.string() + " are not in the table)"));
        }
        if (!c.json_summary)
            std::cout << "iceberg: " << table_dir.string() << " snapshot " << cr.snapshot_id << " (sequence "
                      << cr.sequence_number << ", v" << cr.version << ".metadata.json, schema " << plan.schema_id
                      << "): " << files.size() << " file(s) added; table " << cr.total_files << " file(s), "
                      << cr.total_rows << " rows\n";
    }
    if (!result.ok()) {
        std::string code = result.ec.category() == bulk::bulk_category()
                               ? std::string(bulk::to_string(static_cast<bulk::errc>(result.ec.value())))
                               : result.ec.message();
        throw command_error(op + " failed (" + code + "): " + result.message);
    }
}

void run_merge(const bulk_cli& c) {
    if (c.merge_dirs.empty()) throw command_error("merge needs run directories (or journal files)");
    std::vector<bulk::journal_contents> journals;
    bulk::run_summary total;
    bool have_summary = false;
    for (const auto& d : c.merge_dirs) {
        fs::path p(d);
        fs::path jf = fs::is_directory(p) ? p / "journal.jsonl" : p;
        if (!fs::exists(jf)) throw command_error(jf.string() + ": no journal");
        bulk::journal_contents j;
        if (auto st = bulk::read_journal(jf, j); !st) throw command_error(st.message);
        journals.push_back(std::move(j));
        auto sf = jf.parent_path() / "summary.json";
        bulk::run_summary s;
        if (fs::exists(sf) && bulk::read_summary(sf, s).ok()) {
            total.merge(s);
            have_summary = true;
        }
    }
    std::vector<bulk::token_range> expected;
    for (const auto& w : c.where)
        if (auto st = bulk::parse_token_range(w, expected); !st) throw command_error("--where-token-range: " + st.message);
    bulk::merge_result m;
    if (auto st = bulk::merge_journals(journals, m, expected); !st) throw command_error(st.message);
    const bool ranges = !m.ranges.empty();
    bulk::operation_result r;
    r.summary.operation = have_summary ? total.operation : "merge";
    r.summary.errors = total.errors;
    r.summary.retries = total.retries;
    r.summary.elapsed_seconds = total.elapsed_seconds;
    if (ranges) {
        r.summary.rows = m.rows;
        r.summary.checksum = m.checksum;
        r.summary.ranges = m.ranges.size();
        r.summary.bytes = m.bytes;
        r.summary.range_latency = m.range_latency;
    } else {
        for (const auto& [f, e] : m.inputs) r.summary.rows += e.rows;
        r.summary.ranges = m.inputs.size();
        // The journal's per-file checksums cover every run; summaries before
        // they were journaled (no checksum with rows) only their last run.
        bool journaled = true;
        for (const auto& [f, e] : m.inputs) {
            if (e.rows && !e.checksum.rows) journaled = false;
            r.summary.checksum.merge(e.checksum);
        }
        if (!journaled) r.summary.checksum = total.checksum;
        r.summary.bytes = total.bytes;
    }
    r.rows_this_run = r.summary.rows;
    print_summary(r, c.json_summary, std::cout);
    if (!c.json_summary) std::cout << "duplicates: " << m.duplicates << " (inconsistent: " << m.inconsistent << ")\n";
    if (ranges && !m.complete()) {
        std::string first = m.missing.front().to_string();
        throw command_error("incomplete: " + std::to_string(m.missing.size()) + " token range(s) missing, first " + first);
    }
    if (m.inconsistent) throw command_error(std::to_string(m.inconsistent) + " range(s) recorded with different data");
}

void add_common(CLI::App* sub, bulk_cli& c, bool scan) {
    sub->add_option("--hosts", c.hosts, "contact points, comma-separated (host or host:port)")->capture_default_str();
    sub->add_option("--port", c.port, "port of hosts given without one (deprecated: give --hosts H:PORT, as exec does)")
        ->check(whole_number(1, 65535))
        ->capture_default_str();
    sub->add_option("-k,--keyspace", c.keyspace, "keyspace")->required();
    sub->add_option("-t,--table", c.table, "table")->required();
    sub->add_option("--concurrency", c.concurrency, "ranges (load: requests) in flight; 0 = 2 x nodes (load: 16 x that)")
        ->check(whole_number(0, 100000))
        ->capture_default_str();
    sub->add_option("--consistency", c.consistency, "consistency level (default LOCAL_ONE)");
    sub->add_option("--resume", c.resume, "run directory for the journal: continue the run recorded there");
    sub->add_flag("--json-summary", c.json_summary, "print the summary as one JSON object");
    sub->add_option("--page-size", c.page_size, "rows per page")->check(whole_number(1))->capture_default_str();
    sub->add_option("--max-errors", c.max_errors, "error budget: stop after more errors than this")
        ->check(whole_number(0))
        ->capture_default_str();
    sub->add_option("--max-retries", c.max_retries, "retries of a failed page or write")
        ->check(whole_number(0, 1000))
        ->capture_default_str();
    sub->add_option("--request-timeout-ms", c.timeout_ms, "per-request deadline")->check(whole_number(1))->capture_default_str();
    sub->add_option("--progress", c.progress, "auto | bar | lines | none")
        ->check(CLI::IsMember({"auto", "bar", "lines", "none"}))
        ->capture_default_str();
    sub->add_option("--progress-interval", c.progress_interval, "seconds between progress updates")
        ->check(CLI::Range(0.01, 86400.0))
        ->capture_default_str();
    if (scan) {
        sub->add_option("--splits", c.splits, "token ranges to split the ring into (0: max(8 x cores, vnode ranges))")
            // Each range is a task, a journal line and a page at least: beyond a million only overhead.
            ->check(whole_number(0, 1000000))
            ->capture_default_str();
        sub->add_option("--where-token-range", c.where, "only tokens A < t <= B (A:B; repeatable)");
        sub->add_option("--worker", c.worker, "I/N: do only the I-th of N disjoint shares of the ring");
        sub->add_option("--max-ranges", c.max_ranges, "stop after this many ranges (then --resume)");
    }
}

void add_iceberg_options(CLI::App* sub, bulk_cli& c) {
    sub->add_option("--warehouse", c.warehouse, "iceberg: warehouse directory (the table is WAREHOUSE/NAMESPACE/TABLE)");
    sub->add_option("--namespace", c.ns, "iceberg: namespace, dotted for nesting (default: the keyspace)");
    sub->add_option("--table-name", c.table_name, "iceberg: table name (default: the Cassandra table's)");
}

// One worker's share, checked: its journal covers exactly its slice of the
// ring (every range once), and for Iceberg its worker.json agrees.
struct worker_share {
    bulk::merge_result m;
    bulk::journal_contents j;
    std::string plan;  // iceberg: the worker's plan JSON
};

worker_share check_worker(const fs::path& dir, bulk::worker_id w, bool iceberg) {
    worker_share out;
    const std::string who = "worker " + std::to_string(w.index) + "/" + std::to_string(w.count);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw command_error(who + " is missing (no " + dir.string() + "): nothing committed");
    if (iceberg && !fs::exists(dir / "worker.json", ec))
        throw command_error(who + " has not finished (no " + (dir / "worker.json").string() + "): nothing committed");
    if (auto st = bulk::read_journal(dir / "journal.jsonl", out.j); !st)
        throw command_error(who + ": " + st.message + ": nothing committed");
    const bulk::token_range slice = bulk::worker_slice(w);
    const std::vector<bulk::token_range> expected{slice};
    const std::vector<bulk::journal_contents> js{out.j};
    if (auto st = bulk::merge_journals(js, out.m, expected); !st)
        throw command_error(who + ": " + st.message + ": nothing committed");
    if (!out.m.complete() || out.m.inconsistent)
        throw command_error(who + " is incomplete: " + std::to_string(out.m.missing.size()) +
                            " part(s) of its share " + slice.to_string() + " not unloaded (first: " +
                            (out.m.missing.empty() ? std::string("-") : out.m.missing.front().to_string()) +
                            "): nothing committed");
    for (const auto& r : out.m.ranges)  // merge_journals says the slice is covered; nothing may lie outside it
        if (r.range.first() < slice.first() || r.range.end > slice.end)
            throw command_error(who + ": range " + r.range.to_string() + " is outside its share " + slice.to_string() +
                                ": nothing committed");
    if (iceberg) {
        std::ifstream in(dir / "worker.json", std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), {});
        bulk::detail::json_value v;
        std::string err;
        if (!bulk::detail::parse_json(text, v, err) || v.type != bulk::detail::json_value::kind::object)
            throw command_error((dir / "worker.json").string() + ": " + err);
        auto num = [&](const char* k) {
            const auto* x = v.find(k);
            return x && x->type == bulk::detail::json_value::kind::number ? x->text : std::string();
        };
        const auto* cs = v.find("checksum");
        const auto* plan = v.find("plan");
        if (num("worker") != std::to_string(w.index) || num("workers") != std::to_string(w.count))
            throw command_error((dir / "worker.json").string() + ": not " + who);
        if (num("rows") != std::to_string(out.m.rows) || !cs || cs->text != out.m.checksum.to_string())
            throw command_error(who + ": its journal (" + std::to_string(out.m.rows) + " rows, checksum " +
                                out.m.checksum.to_string() + ") disagrees with its worker.json: nothing committed");
        if (!plan) throw command_error((dir / "worker.json").string() + ": no plan");
        bulk::detail::append_json(out.plan, *plan);
    }
    return out;
}

void run_commit(const bulk_cli& c) {
    const bool iceberg = c.format == "iceberg";
    if (!iceberg && c.format != "parquet") throw command_error("--format: commit takes iceberg or parquet");
    const auto n = static_cast<std::uint32_t>(c.workers);
    fs::path base;
    if (iceberg) {
        if (c.warehouse.empty()) throw command_error("--format iceberg needs --warehouse DIR");
        if ((c.ns.empty() && c.keyspace.empty()) || (c.table_name.empty() && c.table.empty()))
            throw command_error("name the table: --namespace (or -k) and --table-name (or -t)");
        base = bulk::iceberg_table_location(c.warehouse, c.ns.empty() ? c.keyspace : c.ns,
                                            c.table_name.empty() ? c.table : c.table_name);
    } else {
        if (c.output.empty()) throw command_error("--format parquet needs --output DIR (the dataset directory)");
        base = c.output;
    }
    const fs::path job = iceberg ? base / "data" / ("job-" + c.job) : base;
    std::error_code ec;
    if (iceberg && fs::exists(job / "_COMMITTED", ec))
        throw command_error("job '" + c.job + "' is already committed (" + (job / "_COMMITTED").string() + ")");
    if (!iceberg && fs::exists(job / "_SUCCESS", ec)) throw command_error(job.string() + " is already complete (_SUCCESS)");
    // Workers of another N in the same job would be left out silently: refuse.
    for (const auto& e : fs::directory_iterator(job, ec)) {
        const auto name = e.path().filename().string();
        if (name.starts_with("worker-") && !name.ends_with("-of-" + std::to_string(n)))
            throw command_error(e.path().string() + ": a worker of another --workers count in this job");
    }
    std::vector<bulk::journal_contents> all;
    std::vector<bulk::iceberg_data_file> files;
    std::vector<std::string> parquet_files;
    std::string plan_text;
    bulk::table_checksum sum;
    std::uint64_t rows = 0;
    for (std::uint32_t i = 1; i <= n; ++i) {
        const bulk::worker_id w{i, n};
        const fs::path dir = job / ("worker-" + std::to_string(i) + "-of-" + std::to_string(n));
        auto share = check_worker(dir, w, iceberg);
        if (iceberg) {
            if (i == 1) plan_text = share.plan;
            else if (share.plan != plan_text)
                throw command_error("worker " + std::to_string(i) + "/" + std::to_string(n) +
                                    " planned another schema or partition spec than worker 1 (the table changed while "
                                    "they ran): nothing committed; run the job again");
            collect_data_files(dir, share.j, files);
        } else {
            for (const auto& r : share.m.ranges)
                parquet_files.push_back((fs::path(dir.filename()) / bulk::range_file_name(r.range, bulk::data_format::parquet))
                                            .string());
        }
        rows += share.m.rows;
        sum.merge(share.m.checksum);
        all.push_back(std::move(share.j));
    }
    bulk::merge_result whole;
    if (auto st = bulk::merge_journals(all, whole); !st) throw command_error(st.message + ": nothing committed");
    if (!whole.complete() || whole.duplicates || whole.inconsistent)
        throw command_error("the workers' shares do not cover the ring exactly once: nothing committed");
    if (iceberg) {
        bulk::iceberg_write_plan plan;
        if (auto st = bulk::iceberg_parse_plan_json(plan_text, plan); !st) throw command_error(st.message);
        if (fs::absolute(base, ec).lexically_normal() != plan.location)
            throw command_error("the workers wrote for table " + plan.location.string() + ", not " + base.string());
        bulk::iceberg_commit_result cr;
        const auto mode = c.mode == "overwrite" ? bulk::iceberg_mode::overwrite : bulk::iceberg_mode::append;
        // The job's name goes into the snapshot: the table itself says whether
        // the job is committed, so two commits of it at once, or a commit run
        // again after one that stopped before writing _COMMITTED, add nothing.
        if (auto st = bulk::iceberg_commit(plan, files, mode, cr, "job-" + c.job); !st)
            throw command_error("iceberg commit failed (" +
                                std::string(bulk::to_string(static_cast<bulk::errc>(st.code.value()))) + "): " + st.message);
        write_file_atomically(job / "_COMMITTED", std::to_string(cr.snapshot_id) + "\n");
        if (cr.already_committed)
            throw command_error("job '" + c.job + "' is already committed (snapshot " + std::to_string(cr.snapshot_id) +
                                " of the table)");
        if (c.json_summary)
            std::cout << "{\"snapshot_id\":" << cr.snapshot_id << ",\"rows\":" << rows << ",\"checksum\":\""
                      << sum.to_string() << "\",\"files\":" << files.size() << ",\"workers\":" << n << "}\n";
        else
            std::cout << "iceberg: " << base.string() << " snapshot " << cr.snapshot_id << " (sequence "
                      << cr.sequence_number << ", v" << cr.version << ".metadata.json) from " << n << " worker(s): "
                      << files.size() << " file(s), " << rows << " rows, checksum " << sum.to_string() << "; table "
                      << cr.total_files << " file(s), " << cr.total_rows << " rows\n";
        return;
    }
    std::string js = "{\"format\":\"parquet\",\"workers\":" + std::to_string(n) + ",\"rows\":" + std::to_string(rows) +
                     ",\"checksum\":\"" + sum.to_string() + "\",\"ranges\":" + std::to_string(whole.ranges.size()) +
                     ",\"files\":[";
    std::sort(parquet_files.begin(), parquet_files.end());
    for (std::size_t i = 0; i < parquet_files.size(); ++i)
        js += (i ? ",\"" : "\"") + json_escape(parquet_files[i]) + "\"";
    js += "]}\n";
    write_file_atomically(base / "_summary.json", js);
    write_file_atomically(base / "_SUCCESS", "");
    if (c.json_summary) std::cout << js;
    else
        std::cout << "parquet: " << base.string() << " complete from " << n << " worker(s): " << parquet_files.size()
                  << " file(s), " << rows << " rows, checksum " << sum.to_string() << " (_SUCCESS, _summary.json)\n";
}

void run_iceberg_info(const bulk_cli& c) {
    bulk::iceberg_table_info t;
    if (auto st = bulk::iceberg_read_table(c.info_table, t); !st) throw command_error(st.message);
    std::cout << "table: " << t.location << "\nuuid: " << t.uuid << "\nformat-version: " << t.format_version
              << "\nmetadata: v" << t.version << ".metadata.json\ncurrent snapshot: "
              << (t.current_snapshot ? std::to_string(*t.current_snapshot) : "none") << "\nsnapshots:\n";
    for (const auto& s : t.snapshots) {
        auto get = [&](const char* k) {
            for (const auto& [key, v] : s.summary)
                if (key == k) return v;
            return std::string("?");
        };
        std::cout << "  " << s.id << "  " << utc_ms_text(s.timestamp_ms) << " (" << s.timestamp_ms << ")  " << s.operation
                  << "  added " << get("added-records") << " records, total " << get("total-records") << " records in "
                  << get("total-data-files") << " files"
                  << (s.schema_id ? "  schema " + std::to_string(*s.schema_id) : std::string()) << "\n";
    }
    std::cout << "current schema (id " << t.current_schema_id << ", " << t.schema_count << " schema(s) in all):\n"
              << t.current_schema << "\n";
}

}  // namespace

void add_bulk_command(CLI::App& app) {
    auto c = std::make_shared<bulk_cli>();
    auto* bulk_cmd = app.add_subcommand("bulk", "token-range count, unload, load and checksum of a whole table");
    bulk_cmd->require_subcommand(1);

    auto* count = bulk_cmd->add_subcommand("count", "count the rows of a table (total, per range, per host)");
    add_common(count, *c, true);
    count->add_option("--count-mode", c->count_mode, "server: SELECT count(*) per range; rows: read keys and count")
        ->capture_default_str();
    count->callback([c] { run_operation(*c, "count"); });

    auto* unload = bulk_cmd->add_subcommand("unload", "write every row to CSV or JSON-lines files, one per range");
    add_common(unload, *c, true);
    unload->add_option("--format", c->format, "csv | json | parquet | iceberg")->capture_default_str();
    unload->add_option("--compression", c->compression, "parquet, iceberg: zstd | snappy | none")->capture_default_str();
    unload->add_option("--row-group-rows", c->row_group_rows, "parquet, iceberg: rows per row group")->capture_default_str();
    unload->add_option("--row-group-bytes", c->row_group_bytes,
                       "parquet, iceberg: a row group is written when its buffered values reach this size "
                       "(1KiB to 1GiB; bytes, or a KiB, MiB or GiB suffix)")
        ->capture_default_str();
    unload->add_option("--varint-as", c->varint_as,
                       "parquet: varint as decimal (DECIMAL(38, 0); wider values are bad records) or string "
                       "(decimal digits, any width); iceberg: string only (default: decimal for parquet)");
    unload->add_option("--output", c->output, "output directory (journal and summary beside the files)");
    add_iceberg_options(unload, *c);
    unload->add_option("--mode", c->mode, "iceberg: append (a snapshot adding files) | overwrite (replacing them)")
        ->check(CLI::IsMember({"append", "overwrite"}))
        ->capture_default_str();
    unload->add_option("--partition-by", c->partition_by,
                       "iceberg: partition spec, e.g. 'bucket(16, k)', 'day(ts)', 'month(ts), k' (identity)");
    unload->add_option("--max-open-partitions", c->max_open_partitions,
                       "iceberg: partition values (open data files) per range at most; more is an error")
        ->check(whole_number(1, 4096))
        ->capture_default_str();
    unload->add_option("--job", c->job, "iceberg --worker: job name of the staging directory DATA/job-NAME")
        ->capture_default_str();
    unload->add_option("--delimiter", c->delimiter, "CSV field delimiter")->capture_default_str();
    unload->callback([c] { run_operation(*c, "unload"); });

    auto* load = bulk_cmd->add_subcommand("load", "insert rows from CSV or JSON-lines files");
    add_common(load, *c, false);
    load->add_option("--format", c->format, "csv | json | parquet | iceberg")->capture_default_str();
    load->add_option("--input", c->inputs, "input files or directories (repeatable)");
    add_iceberg_options(load, *c);
    load->add_option("--snapshot-id", c->snapshot_id, "iceberg: load this snapshot (default: the current one)");
    load->add_option("--as-of", c->as_of, "iceberg: load the snapshot current at this time (ms since epoch or ISO 8601)");
    load->add_option("--delimiter", c->delimiter, "CSV field delimiter")->capture_default_str();
    load->add_flag("--no-header", c->no_header, "CSV without a header line (fields in table column order)");
    load->add_option("--batch-rows", c->batch_rows, "rows of one partition per UNLOGGED batch (1: no batches)")
        ->check(whole_number(1, 65535))
        ->capture_default_str();
    load->add_option("--max-records", c->max_records, "stop after this many records (then --resume)");
    load->callback([c] { run_operation(*c, "load"); });

    auto* sum = bulk_cmd->add_subcommand("checksum", "order-independent checksum of every row of a table");
    add_common(sum, *c, true);
    sum->callback([c] { run_operation(*c, "checksum"); });

    auto* info = bulk_cmd->add_subcommand("iceberg-info", "show an Iceberg table's snapshots and current schema "
                                                          "(`cqlpp iceberg` has more)");
    info->add_option("table", c->info_table, "table directory (WAREHOUSE/NAMESPACE/TABLE)")->required();
    info->callback([c] { run_iceberg_info(*c); });

    auto* commit = bulk_cmd->add_subcommand(
        "commit", "check that N --worker unloads are all complete, then commit them as one Iceberg snapshot "
                  "(or mark a Parquet dataset complete)");
    commit->add_option("--format", c->format, "iceberg | parquet")->capture_default_str();
    commit->add_option("--workers", c->workers, "N of the workers' --worker I/N")->required()->check(whole_number(1, 100000));
    add_iceberg_options(commit, *c);
    commit->add_option("-k,--keyspace", c->keyspace, "iceberg: default namespace");
    commit->add_option("-t,--table", c->table, "iceberg: default table name");
    commit->add_option("--job", c->job, "iceberg: the workers' --job")->capture_default_str();
    commit->add_option("--mode", c->mode, "iceberg: append | overwrite")
        ->check(CLI::IsMember({"append", "overwrite"}))
        ->capture_default_str();
    commit->add_option("--output", c->output, "parquet: the dataset directory (workers wrote DIR/worker-I-of-N)");
    commit->add_flag("--json-summary", c->json_summary, "print the result as one JSON object");
    commit->callback([c] { run_commit(*c); });

    auto* merge = bulk_cmd->add_subcommand("merge", "combine the journals of --worker runs (or resumed runs) into one result");
    merge->add_option("dirs", c->merge_dirs, "run directories or journal files")->required();
    merge->add_flag("--json-summary", c->json_summary, "print the summary as one JSON object");
    merge->add_option("--where-token-range", c->where, "the scope the runs covered (default: the whole ring)");
    merge->callback([c] { run_merge(*c); });
}

}  // namespace cqlpp::tools
