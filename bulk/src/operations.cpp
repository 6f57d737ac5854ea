// count / unload / checksum (token-range scans) and load, over a session.
// GCC 12 warns falsely on Asio's awaitable frame operator delete in some
// coroutines (as the test targets note with -Wno-mismatched-new-delete).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
#include "cqlpp/bulk/operations.hpp"

#include "cqlpp/bulk/checksum.hpp"
#include "cqlpp/bulk/codec.hpp"
#include "cqlpp/bulk/csv.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <system_error>

namespace cqlpp::bulk {

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

double seconds_since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

asio::awaitable<void> sleep_ms(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(use_tuple);
}

std::chrono::milliseconds backoff(const operation_options& o, int attempt) {
    auto d = o.retry_backoff;
    for (int i = 1; i < attempt && d < std::chrono::milliseconds(2000); ++i) d *= 2;
    return std::min(d, std::chrono::milliseconds(2000));
}

// Errors that a retry cannot cure (the request itself is wrong or not allowed).
bool retry_cannot_help(const std::error_code& ec) {
    if (ec.category() == driver::driver_category())
        return ec == driver::errc::bind_count_mismatch || ec == driver::errc::no_such_marker ||
               ec == driver::errc::bind_type_mismatch;
    const auto code = protocol::server_errc_of(ec);
    if (!code) return false;
    switch (*code) {
        case protocol::server_errc::syntax_error:
        case protocol::server_errc::unauthorized:
        case protocol::server_errc::invalid:
        case protocol::server_errc::config_error:
        case protocol::server_errc::already_exists:
        case protocol::server_errc::protocol_error:
        case protocol::server_errc::auth_error: return true;
        default: return false;
    }
}

std::string describe(const driver::result& r) {
    std::string m = r.error().message();
    if (!r.diag().message.empty()) m += ": " + r.diag().message;
    return m;
}

// Wakes coroutines waiting on one executor for a condition to change.
// A notify() while nobody waits is kept for the next wait().
struct notifier {
    explicit notifier(asio::any_io_executor ex) : timer(ex) {}
    asio::steady_timer timer;
    bool pending = false;
    void notify() {
        pending = true;
        timer.cancel();
    }
    // Returns after a notify() or `limit`, whichever comes first.
    asio::awaitable<void> wait(std::chrono::milliseconds limit) {
        if (!pending) {
            timer.expires_after(limit);
            co_await timer.async_wait(use_tuple);
        }
        pending = false;
    }
};

status write_all(int fd, std::string_view data, const fs::path& p) {
    while (!data.empty()) {
        auto n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return {errc::io_error, p.string() + ": cannot write: " + std::strerror(errno)};
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

// What both scans and loads share: options, run directory files, counters.
struct run_base {
    driver::session* s = nullptr;
    operation_options o;
    progress_callback cb;
    clock_type::time_point started = clock_type::now();
    std::string operation;

    fs::path run_dir;
    journal_writer journal;
    bad_records_writer bad;
    journal_contents previous;  // the journal as it was when the run started
    fs::path bad_path;          // where rejected records go (empty until known)

    std::uint64_t rows = 0, bytes = 0, errors = 0, retries = 0;
    std::uint64_t rows_rejected = 0;  // unload: rows of finished ranges left out of the files
    latency_stats latency;
    table_checksum sum;
    std::map<std::string, std::uint64_t> per_host;
    std::vector<range_entry> done;

    // The whole job's rows and checksum, when not from ranges (loads).
    std::optional<std::pair<std::uint64_t, table_checksum>> job_total;

    bool stopping = false;
    status fatal;        // first reason to stop (too_many_errors, io_error ...)
    bool interrupted = false;
    std::exception_ptr crash;

    bool should_stop() {
        if (!stopping && o.stop && o.stop->load(std::memory_order_relaxed)) {
            stopping = true;
            interrupted = true;
        }
        return stopping;
    }
    void fail(status st) {
        if (fatal.ok()) fatal = std::move(st);
        stopping = true;
    }
    // Without a run directory, rejects go to a new directory under the
    // temporary directory, made on the first one (a clean run leaves nothing).
    status open_temp_bad() {
        std::error_code ec;
        auto base = fs::temp_directory_path(ec);
        if (ec) base = ".";
        std::string tmpl = (base / ("cqlpp-" + operation + "-XXXXXX")).string();
        if (!::mkdtemp(tmpl.data()))
            return {errc::io_error, tmpl + ": cannot create a directory for rejected records: " + std::strerror(errno)};
        bad_path = fs::path(tmpl) / "bad_records.jsonl";
        return bad.open(bad_path);
    }
    void reject(bad_record r) {
        ++errors;
        if (bad.count() < 100000) {
            status st;
            if (bad_path.empty()) st = open_temp_bad();
            if (st) st = bad.append(r);
            if (!st) fail(st);
        }
        if (errors > o.max_errors)
            fail({errc::too_many_errors, "error budget exceeded: " + std::to_string(errors) + " errors (max " +
                                             std::to_string(o.max_errors) + "); last: " + r.reason});
    }

    status open_run_dir(bool want_journal) {
        if (run_dir.empty()) return {};
        std::error_code ec;
        fs::create_directories(run_dir, ec);
        if (ec) return {errc::io_error, run_dir.string() + ": cannot create: " + ec.message()};
        if (want_journal) {
            auto jf = run_dir / "journal.jsonl";
            if (fs::exists(jf, ec) && !o.resume && fs::file_size(jf, ec) > 0)
                return {errc::journal_exists, jf.string() + " exists: resume that run, or use another directory"};
            if (o.resume) {
                if (auto st = read_journal(jf, previous); !st) return st;
            }
            if (auto st = journal.open(jf, o.sync_journal); !st) return st;
        }
        bad_path = run_dir / "bad_records.jsonl";
        return bad.open(bad_path);
    }

    progress snapshot(std::uint64_t ranges_done, std::uint64_t ranges_total, std::optional<double> fraction) {
        progress p;
        p.operation = operation;
        p.ranges_done = ranges_done;
        p.ranges_total = ranges_total;
        p.rows = rows;
        p.bytes = bytes;
        p.errors = errors;
        p.retries = retries;
        p.elapsed_seconds = seconds_since(started);
        p.rows_per_second = p.elapsed_seconds > 0 ? static_cast<double>(rows) / p.elapsed_seconds : 0;
        if (fraction) p.fraction = std::clamp(*fraction, 0.0, 1.0);
        if (fraction && *fraction > 0.001 && *fraction <= 1.0)
            p.eta_seconds = p.elapsed_seconds * (1.0 - *fraction) / *fraction;
        p.stopped = stopping || interrupted;
        return p;
    }

    // The summary and status of the run (also writes summary.json).
    operation_result finish(std::uint64_t ranges_this_run, std::uint64_t ranges_resumed, std::uint64_t planned,
                            bool complete) {
        operation_result r;
        r.started = true;
        r.rows_this_run = rows;
        r.ranges_resumed = ranges_resumed;
        r.ranges_planned = planned;
        r.ranges = std::move(done);
        r.rows_per_host = std::move(per_host);
        auto& s = r.summary;
        s.operation = operation;
        s.rows = rows;
        s.bytes = bytes;
        s.errors = errors;
        s.retries = retries;
        s.ranges = ranges_this_run;
        s.elapsed_seconds = seconds_since(started);
        s.range_latency = latency;
        s.checksum = sum;
        if (!previous.ranges.empty()) {
            // Earlier runs' ranges (deduplicated; what this run skipped).
            merge_result m;
            std::vector<journal_contents> one{previous};
            if (merge_journals(one, m).ok()) {
                s.rows += m.rows;
                s.checksum.merge(m.checksum);
                s.ranges += m.ranges.size();
                s.bytes += m.bytes;
            }
        }
        if (job_total) {
            s.rows = job_total->first;
            s.checksum = job_total->second;
        }
        if (crash) {
            try {
                std::rethrow_exception(crash);
            } catch (const std::exception& e) {
                fail({errc::request_failed, std::string("internal error: ") + e.what()});
            } catch (...) {
                fail({errc::request_failed, "internal error"});
            }
        }
        if (!fatal.ok()) {
            r.ec = fatal.code;
            r.message = fatal.message;
        } else if (interrupted) {
            r.ec = make_error_code(errc::interrupted);
            r.message = "stopped before the end; resume with the same run directory to finish";
        } else if (!complete) {
            r.ec = make_error_code(errc::request_failed);
            r.message = std::to_string(errors) + " error(s)";
        }
        if (errors > 0 && !bad_path.empty() && bad.count() > 0) {
            r.message += (r.message.empty() ? "" : "; ") + ("rejected records in " + bad_path.string());
            // Resuming a scan re-reads its failed ranges; a load's rejects are past its journal,
            // and so are an unload's rejected rows (their ranges are done).
            if (operation != "load" && !run_dir.empty() && errors > rows_rejected)
                r.message += "; resume with the same run directory to retry the failed ranges";
        }
        if (!run_dir.empty()) {
            if (auto st = write_summary(run_dir / "summary.json", s); !st && r.ok()) {
                r.ec = st.code;
                r.message = st.message;
            }
        }
        return r;
    }
};

// ---- Scans ------------------------------------------------------------------

enum class scan_kind { count_server, count_rows, unload, checksum };

struct scan_run : run_base {
    scan_kind kind = scan_kind::count_server;
    std::vector<replica_range> plan;
    std::size_t next = 0;
    std::uint64_t started_ranges = 0;
    std::uint64_t ranges_done_total = 0;  // resumed + done here
    std::uint64_t ranges_total = 0;
    driver::prepared_statement select_excl, select_incl;
    std::vector<protocol::column_spec> columns;
    row_hasher hasher;
    std::vector<protocol::cql_value> values;
    std::string out_buf;
    std::size_t active = 0;
    // Parquet/Iceberg unload: one thread that encodes, compresses and writes
    // the full row groups, so that the I/O thread goes on reading pages (and
    // sending the next page requests) meanwhile. A range waits for its row
    // group, so memory stays at one row group per range in flight.
    std::unique_ptr<asio::thread_pool> encoder;
};

// f() on the unload's encoder thread, resumed here when it returns (inline
// when there is none). f must not touch what the I/O thread uses meanwhile.
template <class F>
asio::awaitable<status> off_thread(asio::thread_pool* pool, F f) {
    if (!pool) co_return f();
    co_return co_await asio::co_spawn(
        pool->get_executor(), [&f]() -> asio::awaitable<status> { co_return f(); }, asio::use_awaitable);
}

struct part_file {
    int fd = -1;
    fs::path part, final_path;
    ~part_file() {
        if (fd >= 0) ::close(fd);
    }
};

status flush(part_file& f, std::string& buf) {
    if (buf.empty()) return {};
    auto st = write_all(f.fd, buf, f.part);
    buf.clear();
    return st;
}

// One output file of a range being unloaded: the file, its pending bytes,
// and for Parquet/Iceberg its writer (and Iceberg partition and metrics).
struct range_output {
    part_file file;
    std::string buf;
    std::unique_ptr<parquet_writer> pw;
    std::unique_ptr<iceberg_metrics_builder> metrics;
    std::vector<iceberg_partition_value> partition;
    std::uint64_t rows = 0;
};

status open_output(range_output& out, const fs::path& dir, const std::string& name) {
    out.file.final_path = dir / name;
    out.file.part = dir / (name + ".part");
    out.file.fd = ::open(out.file.part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out.file.fd < 0) return {errc::io_error, out.file.part.string() + ": cannot create: " + std::strerror(errno)};
    return {};
}

void discard_outputs(std::vector<std::unique_ptr<range_output>>& outs) {
    for (auto& o : outs)
        if (o->file.fd >= 0) {
            ::close(o->file.fd);
            o->file.fd = -1;
            std::error_code ec;
            fs::remove(o->file.part, ec);
        }
}

// Reads one range, page by page; returns when it is finished, failed or abandoned.
asio::awaitable<void> scan_range(scan_run& c, const replica_range& rr) {
    const auto t0 = clock_type::now();
    range_entry e;
    e.range = rr.range;
    const iceberg_write_plan* ice = c.kind == scan_kind::unload ? c.o.iceberg.get() : nullptr;
    const bool partitioned = ice && !ice->partition.empty();
    // Outputs: one per range (CSV, JSON, Parquet: created now, so an empty range
    // has its file), or for Iceberg one per partition value, created by the first row.
    std::vector<std::unique_ptr<range_output>> outs;
    std::map<std::string, std::size_t> by_partition;
    std::vector<iceberg_partition_value> pv, last_pv;
    range_output* last_out = nullptr;  // the output of last_pv: rows come partition key by partition key
    std::string pkey;
    const auto base_name = range_file_name(rr.range, c.o.format);
    auto writer_options = c.o.parquet;
    writer_options.auto_flush = false;  // full row groups are flushed by off_thread() below
    if (partitioned)  // several writers per range: keep their row groups small enough together
        writer_options.row_group_bytes =
            std::max<std::size_t>(1u << 20, writer_options.row_group_bytes / std::max<std::size_t>(1, c.o.max_open_partitions));
    auto new_output = [&](std::string name) -> status {
        auto o = std::make_unique<range_output>();
        if (auto st = open_output(*o, c.o.output_dir, name); !st) return st;
        if (ice) o->metrics = std::make_unique<iceberg_metrics_builder>(*ice);
        if (c.o.format == data_format::parquet) {
            auto wo = writer_options;
            // Iceberg column metrics from the writer's row groups, as they are flushed
            // (on the encoder thread), rather than from every row here.
            if (o->metrics)
                wo.on_chunk = [m = o->metrics.get()](const parquet_chunk_view& ch) { m->add_chunk(ch); };
            o->pw = std::make_unique<parquet_writer>(c.columns, std::move(wo));
        }
        if (c.o.format == data_format::csv) {
            csv_write_options wo;
            wo.delimiter = c.o.delimiter;
            append_csv_header(o->buf, c.columns, wo);
        }
        outs.push_back(std::move(o));
        return {};
    };
    if (c.kind == scan_kind::unload && !ice) {
        if (auto st = new_output(base_name); !st) {
            c.fail(st);
            co_return;
        }
    }
    const auto& prepared = rr.range.start_inclusive ? c.select_incl : c.select_excl;
    auto base = prepared.bind(static_cast<std::int64_t>(rr.range.start), static_cast<std::int64_t>(rr.range.end));
    base.options().page_size = c.o.page_size;
    base.options().idempotent = true;
    base.options().timeout = c.o.request_timeout;
    base.options().routing_token = rr.range.end;
    if (c.o.consistency) base.options().consistency = *c.o.consistency;

    protocol::byte_buffer paging;
    int attempts = 0;
    bool finished = false;
    std::string last_error;
    bool hopeless = false;  // an error no retry can cure
    csv_write_options wo;
    wo.delimiter = c.o.delimiter;
    while (!finished) {
        if (c.should_stop()) {
            discard_outputs(outs);
            co_return;
        }
        auto b = base;
        b.options().paging_state = paging;
        auto stream = c.s->stream(std::move(b));
        bool failed = false;
        while (true) {
            auto r = co_await stream.next_page();
            if (!r.ok()) {
                last_error = describe(r);
                failed = true;
                hopeless = retry_cannot_help(r.error());
                break;
            }
            attempts = 0;
            const auto n = r.row_count();
            std::uint64_t page_rows = 0;
            if (c.kind == scan_kind::count_server) {
                if (n > 0) {
                    std::int64_t v = 0;
                    if (!r.rows()[0].try_get(0, v)) page_rows = static_cast<std::uint64_t>(v);
                }
            } else if (c.kind == scan_kind::count_rows) {
                page_rows = n;
            } else {
                // Parquet and Iceberg take the cells as the server sent them: no
                // cql_values for scalar columns, partitions and metrics read from
                // the cells of the columns they need.
                bool cells = false;
                if (c.kind == scan_kind::unload && c.o.format == data_format::parquet && n > 0) {
                    const driver::column_set* cols = r.rows()[0].columns();
                    cells = cols && cols->specs().size() == c.columns.size() &&
                            std::equal(c.columns.begin(), c.columns.end(), cols->specs().begin(),
                                       [](const auto& a, const auto& b) { return a.type == b.type; });
                }
                // An unload's rejected rows (bad records) are not in its files: neither
                // counted nor in its checksum, which stays that of the files.
                std::uint64_t rejected = 0;
                for (std::size_t i = 0; i < n; ++i) {
                    auto row = r.rows()[i];
                    const auto row_hash = c.hasher.hash_row(row);
                    if (c.kind != scan_kind::unload) e.checksum.add_row_hash(row_hash);
                    if (c.kind == scan_kind::unload) {
                        std::span<const protocol::value_view> rc;
                        if (cells) {
                            rc = cells_of(row);
                        } else if (auto st = decode_row(row, c.values); !st) {
                            c.reject({"unload " + rr.range.to_string(), 0, 0, st.message, {}});
                            ++rejected;
                            continue;
                        }
                        range_output* out = outs.empty() ? nullptr : outs.front().get();
                        if (ice) {
                            if (!cells) {
                                iceberg_partition_of(*ice, c.values, pv);
                            } else if (!iceberg_partition_of(*ice, rc, pv)) {
                                // decode_row() fails too, and says why as the other paths do.
                                auto st = decode_row(row, c.values);
                                c.reject({"unload " + rr.range.to_string(), 0, 0,
                                          st ? "undecodable partition source cell" : st.message, {}});
                                ++rejected;
                                continue;
                            }
                            // Rows come partition key by partition key, so mostly in the
                            // partition of the row before: no key to build or look up then.
                            if (!last_out || pv != last_pv) {
                                pkey.clear();
                                for (const auto& x : pv) {
                                    pkey += x.null ? 'n' : 'v';
                                    pkey.append(reinterpret_cast<const char*>(&x.i), sizeof x.i);
                                    const auto len = x.s.size();
                                    pkey.append(reinterpret_cast<const char*>(&len), sizeof len);
                                    pkey += x.s;
                                }
                                auto it = by_partition.find(pkey);
                                if (it == by_partition.end()) {
                                    // A partition's first row: the cells path checks the whole row
                                    // here, so a row decode_row() rejects opens no file (as on the
                                    // values path).
                                    if (cells) {
                                        if (auto st = decode_row(row, c.values); !st) {
                                            c.reject({"unload " + rr.range.to_string(), 0, 0, st.message, {}});
                                            ++rejected;
                                            continue;
                                        }
                                    }
                                    if (outs.size() >= c.o.max_open_partitions) {
                                        discard_outputs(outs);
                                        c.fail({errc::bad_iceberg,
                                                "range " + rr.range.to_string() + " has more than " +
                                                    std::to_string(c.o.max_open_partitions) +
                                                    " partition values (--max-open-partitions); use a coarser --partition-by or more --splits"});
                                        co_return;
                                    }
                                    std::string name = base_name;
                                    if (partitioned)
                                        name = name.substr(0, name.size() - 8) + ".p" + std::to_string(outs.size()) + ".parquet";
                                    if (auto st = new_output(std::move(name)); !st) {
                                        discard_outputs(outs);
                                        c.fail(st);
                                        co_return;
                                    }
                                    outs.back()->partition = pv;
                                    it = by_partition.emplace(pkey, outs.size() - 1).first;
                                }
                                last_out = outs[it->second].get();
                                last_pv = pv;  // copy-assigned: keeps its strings' capacity
                            }
                            out = last_out;
                        }
                        auto& buf = out->buf;
                        const auto before = buf.size();
                        if (out->pw) {
                            if (auto pst = cells ? out->pw->add_row(rc, buf) : out->pw->add_row(c.values, buf); !pst) {
                                c.reject({"unload " + rr.range.to_string(), 0, 0, pst.message, {}});
                                ++rejected;
                                continue;
                            }
                            if (out->pw->row_group_full()) {
                                // Encoded, compressed and written by the encoder thread.
                                std::size_t added = 0;
                                auto st = co_await off_thread(c.encoder.get(), [out, &added]() -> status {
                                    const auto at = out->buf.size();
                                    auto fst = out->pw->flush_row_group(out->buf);
                                    added = out->buf.size() - at;
                                    return fst ? flush(out->file, out->buf) : fst;
                                });
                                e.bytes += added;
                                if (!st) {
                                    discard_outputs(outs);
                                    c.fail(st);
                                    co_return;
                                }
                            }
                        } else if (c.o.format == data_format::csv) {
                            append_csv_row(buf, c.columns, c.values, wo);
                        } else {
                            append_json_row(buf, c.columns, c.values);
                        }
                        if (out->metrics && !out->pw) {
                            if (cells) out->metrics->add(rc);
                            else out->metrics->add(c.values);
                        }
                        ++out->rows;
                        e.checksum.add_row_hash(row_hash);
                        e.bytes += buf.size() - before;
                        if (buf.size() >= (partitioned ? std::size_t(64) << 10 : std::size_t(1) << 20)) {
                            if (auto st = flush(out->file, buf); !st) {
                                discard_outputs(outs);
                                c.fail(st);
                                co_return;
                            }
                        }
                    }
                }
                page_rows = n - rejected;
                c.rows_rejected += rejected;
            }
            e.rows += page_rows;
            c.rows += page_rows;
            c.per_host[r.coordinator()] += page_rows;
            auto ps = r.paging_state();
            paging.assign(ps.begin(), ps.end());
            if (stream.done() || ps.empty()) {
                finished = true;
                break;
            }
            if (c.should_stop()) break;
        }
        if (finished || !failed) continue;
        if (hopeless || ++attempts > c.o.max_retries) break;
        ++c.retries;
        co_await sleep_ms(backoff(c.o, attempts));
    }
    if (!finished) {
        discard_outputs(outs);
        // The rows counted so far are not kept: the range is not done.
        c.rows -= e.rows;
        c.reject({"range " + rr.range.to_string(), 0, 0,
                  (hopeless ? "failed (not retryable): " : "failed after " + std::to_string(c.o.max_retries) + " retries: ") +
                      last_error,
                  {}});
        co_return;
    }
    std::vector<iceberg_data_file> written;
    {
        // The last row groups and footers (Parquet: on the encoder thread), and the files' last bytes.
        std::uint64_t added = 0;
        auto tail = [&outs, &added]() -> status {
            for (auto& op : outs) {
                auto& out = *op;
                if (out.pw) {
                    const auto before = out.buf.size();
                    if (auto st = out.pw->finish(out.buf); !st) return st;
                    added += out.buf.size() - before;
                }
                if (auto st = flush(out.file, out.buf); !st) return st;
            }
            return {};
        };
        const bool any_pw = std::any_of(outs.begin(), outs.end(), [](const auto& op) { return op->pw != nullptr; });
        status st;
        if (any_pw) st = co_await off_thread(c.encoder.get(), tail);  // (GCC 12: no co_await in ?:)
        else st = tail();
        e.bytes += added;
        if (!st) {
            discard_outputs(outs);
            c.fail(st);
            co_return;
        }
    }
    for (auto& op : outs) {
        auto& out = *op;
        ::close(out.file.fd);
        out.file.fd = -1;
        std::error_code ec;
        fs::rename(out.file.part, out.file.final_path, ec);
        if (ec) {
            discard_outputs(outs);
            c.fail({errc::io_error, out.file.final_path.string() + ": cannot rename: " + ec.message()});
            co_return;
        }
        if (ice) {
            iceberg_data_file d;
            d.path = out.file.final_path;
            d.rows = out.rows;
            d.bytes = out.pw ? out.pw->bytes_written() : 0;
            d.stats.partition = std::move(out.partition);
            if (out.metrics) d.stats.metrics = out.metrics->finish();
            if (out.pw) d.stats.column_sizes = out.pw->column_sizes();
            written.push_back(std::move(d));
        }
    }
    if (ice) {
        // The range's data files, listed before the range is journaled: a
        // resumed or committed run takes exactly these (stray files of an
        // abandoned attempt are not listed).
        const auto list = c.o.output_dir / (base_name.substr(0, base_name.size() - 8) + ".files.json");
        const auto tmp = fs::path(list.string() + ".part");
        int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        std::string text = iceberg_files_json(written, c.o.output_dir);
        status st = fd < 0 ? status{errc::io_error, tmp.string() + ": cannot create: " + std::strerror(errno)}
                           : write_all(fd, text, tmp);
        if (fd >= 0) ::close(fd);
        std::error_code ec;
        if (st) fs::rename(tmp, list, ec);
        if (!st || ec) {
            c.fail(st ? status{errc::io_error, list.string() + ": cannot rename: " + ec.message()} : st);
            co_return;
        }
    }
    if (c.kind == scan_kind::unload) c.bytes += e.bytes;
    e.ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
    c.latency.add(e.ms);
    c.sum.merge(e.checksum);
    if (c.journal.is_open()) {
        if (auto st = c.journal.append(e); !st) c.fail(st);
    }
    ++c.ranges_done_total;
    c.done.push_back(std::move(e));
}

asio::awaitable<void> scan_worker(scan_run& c) {
    while (!c.should_stop() && c.next < c.plan.size()) {
        if (c.o.max_ranges && c.started_ranges >= c.o.max_ranges) {
            c.interrupted = true;
            break;
        }
        ++c.started_ranges;
        const auto& rr = c.plan[c.next++];
        co_await scan_range(c, rr);
    }
}

std::size_t default_concurrency(const driver::session& s) {
    auto m = s.metadata();
    std::size_t hosts = m ? m->tokens.hosts().size() : 1;
    return std::max<std::size_t>(2, 2 * hosts);
}

const driver::table_metadata* find_table(const driver::session& s, const operation_options& o) {
    auto m = s.metadata();
    return m ? m->table(o.keyspace, o.table) : nullptr;
}

asio::awaitable<const driver::table_metadata*> lookup_table(driver::session& s, const operation_options& o,
                                                           std::shared_ptr<const driver::cluster_metadata>& keep) {
    if (!find_table(s, o)) co_await s.refresh_metadata();
    keep = s.metadata();
    co_return keep ? keep->table(o.keyspace, o.table) : nullptr;
}

asio::awaitable<operation_result> run_scan(driver::session& s, const operation_options& o, const progress_callback& cb,
                                           scan_kind kind, const char* name) {
    scan_run c;
    c.s = &s;
    c.o = o;
    c.cb = cb;
    c.kind = kind;
    c.operation = name;
    std::shared_ptr<const driver::cluster_metadata> meta;
    const auto* table = co_await lookup_table(s, c.o, meta);
    if (!table) {
        operation_result r;
        r.ec = make_error_code(errc::no_such_table);
        r.message = "no table " + c.o.keyspace + "." + c.o.table + " in the cluster's schema";
        r.summary.operation = name;
        co_return r;
    }
    c.columns = table_columns(*table);
    std::vector<std::string> pk;
    for (auto i : table->partition_key) pk.push_back(table->columns[i].name);

    c.run_dir = c.o.run_dir;
    if (kind == scan_kind::unload) {
        if (c.run_dir.empty()) c.run_dir = c.o.output_dir;
        std::error_code ec;
        fs::create_directories(c.o.output_dir, ec);
        if (ec) {
            operation_result r;
            r.ec = make_error_code(errc::io_error);
            r.message = c.o.output_dir.string() + ": cannot create: " + ec.message();
            co_return r;
        }
    }
    if (auto st = c.open_run_dir(true); !st) {
        operation_result r;
        r.ec = st.code;
        r.message = st.message;
        r.summary.operation = name;
        co_return r;
    }

    auto full_plan = plan_ranges(meta->tokens, c.o.keyspace, c.o.plan);
    std::uint64_t resumed = 0;
    if (!c.previous.ranges.empty()) {
        auto done = done_ranges(c.previous);
        c.plan = subtract_ranges(full_plan, done);
        // Ranges of the plan already covered (for progress only).
        for (const auto& pr : full_plan) {
            std::vector<replica_range> one{pr};
            if (subtract_ranges(one, done).empty()) ++resumed;
        }
    } else {
        c.plan = full_plan;
    }
    c.ranges_total = resumed + c.plan.size();
    c.ranges_done_total = resumed;

    // Prepare the two forms of the range query.
    std::vector<std::string> cols;
    if (kind == scan_kind::count_rows) cols = pk;
    else
        for (const auto& col : c.columns) cols.push_back(col.name);
    for (bool incl : {false, true}) {
        std::string q = kind == scan_kind::count_server ? range_count_cql(c.o.keyspace, c.o.table, pk, incl)
                                                        : range_select_cql(c.o.keyspace, c.o.table, cols, pk, incl);
        auto p = co_await s.prepare(q);
        if (!p.ok()) {
            operation_result r;
            r.ec = make_error_code(errc::request_failed);
            r.message = "cannot prepare " + q + ": " + p.error().message() + (p.diag().message.empty() ? "" : ": " + p.diag().message);
            r.summary.operation = name;
            co_return r;
        }
        (incl ? c.select_incl : c.select_excl) = p.value();
    }
    if (kind == scan_kind::unload || kind == scan_kind::checksum) {
        // Types as the server describes them (user types with their fields).
        auto rc = c.select_excl.result_columns();
        if (rc && rc->size() == c.columns.size())
            for (std::size_t i = 0; i < c.columns.size(); ++i) c.columns[i].type = (*rc)[i].type;
    }

    const std::size_t conc = c.o.concurrency ? c.o.concurrency : default_concurrency(s);
    if (kind == scan_kind::unload && c.o.format == data_format::parquet) c.encoder = std::make_unique<asio::thread_pool>(1);
    auto ex = co_await asio::this_coro::executor;
    notifier wake(ex);
    const std::size_t workers = std::min(conc, std::max<std::size_t>(1, c.plan.size()));
    c.active = workers;
    for (std::size_t i = 0; i < workers; ++i) {
        asio::co_spawn(ex, scan_worker(c), [&c, &wake](std::exception_ptr e) {
            if (e && !c.crash) {
                c.crash = e;
                c.stopping = true;
            }
            --c.active;
            wake.notify();
        });
    }
    auto fraction = [&c]() -> std::optional<double> {
        if (!c.ranges_total) return std::nullopt;
        return static_cast<double>(c.ranges_done_total) / static_cast<double>(c.ranges_total);
    };
    while (c.active > 0) {
        co_await wake.wait(c.o.progress_interval);
        if (c.active > 0 && c.cb) c.cb(c.snapshot(c.ranges_done_total, c.ranges_total, fraction()));
    }
    // Rows rejected (bad records) make it incomplete, as they make a load (exit 1).
    const bool complete = c.ranges_done_total == c.ranges_total && c.errors == 0;
    if (c.cb) {
        auto p = c.snapshot(c.ranges_done_total, c.ranges_total, fraction());
        p.final = true;
        c.cb(p);
    }
    const auto this_run = static_cast<std::uint64_t>(c.done.size());
    co_return c.finish(this_run, resumed, full_plan.size(), complete);
}

// ---- Load -------------------------------------------------------------------

struct window {
    std::string file;
    std::uint64_t end_offset = 0;
    std::uint64_t record = 0;  // records consumed up to end_offset
    std::uint64_t rows = 0;    // rows of this window's records loaded
    table_checksum sum;        // ... and their checksum
    std::size_t pending = 0;   // units in flight
    bool sealed = false;
    bool complete = false;     // the file's last window
};

// What a unit must tell of each record if its write fails (its file is the
// window's): where it was, and for text input (CSV, JSON lines) its text, kept
// side by side in the unit's `raw` (raw_end: where the record's text ends).
// A Parquet row's text (JSON) is only made then, from its bound values.
struct unit_record {
    std::uint64_t line = 0;
    std::uint64_t offset = 0;
    std::size_t raw_end = 0;
};

struct load_unit {
    std::vector<driver::bound_statement> stmts;
    std::vector<unit_record> records;  // to reject if the write fails, one per statement
    std::string raw;
    std::vector<std::uint64_t> hashes;
    std::shared_ptr<window> w;
};

struct load_run : run_base {
    driver::prepared_statement insert;
    std::vector<protocol::column_spec> columns;
    // Counter table: the statement is UPDATE ... SET n = n + ? ... WHERE key = ?
    // (counters can only be incremented), its markers in that order; marker[i]
    // is column i's. Increments are not idempotent: never retried.
    bool counter = false;
    std::vector<std::size_t> marker;
    std::vector<bool> is_counter;  // by column (the markers' types may say bigint)
    std::vector<std::size_t> pk;  // column indexes
    std::deque<std::shared_ptr<window>> windows;
    std::size_t in_flight = 0;
    std::size_t max_in_flight = 1;
    std::unique_ptr<notifier> slot;
    std::uint64_t records_this_run = 0;
    std::uint64_t files_done = 0;
    std::uint64_t input_total = 0;
    // Per file, rows loaded (and their checksum) up to its last journaled
    // window, earlier runs included: the whole job, resumed or not.
    std::map<std::string, std::uint64_t> file_rows;
    std::map<std::string, table_checksum> file_sums;

    void advance_journal() {
        while (!windows.empty() && windows.front()->sealed && windows.front()->pending == 0) {
            auto w = windows.front();
            windows.pop_front();
            file_rows[w->file] += w->rows;
            file_sums[w->file].merge(w->sum);
            if (journal.is_open()) {
                input_entry ie;
                ie.file = w->file;
                ie.offset = w->end_offset;
                ie.record = w->record;
                ie.rows = file_rows[w->file];
                ie.checksum = file_sums[w->file];
                ie.complete = w->complete;
                if (auto st = journal.append(ie); !st) fail(st);
            }
            if (w->complete) ++files_done;
        }
    }
};

// A row as a JSON object, from the values bound for it (a column not bound,
// unset, is null, as it was in the row): what the bad-records file has for a
// Parquet row whose write failed.
std::string row_json(const load_run& c, const driver::bound_statement& b, std::vector<protocol::value_view>& cells,
                     std::vector<protocol::cql_value>& row) {
    cells.resize(c.columns.size());
    for (std::size_t i = 0; i < c.columns.size(); ++i) cells[i] = b.values().view(c.marker[i]);
    std::string out;
    if (auto st = decode_row(c.columns, cells, row); !st) return out;  // cannot be: the values were encoded from a row
    append_json_row(out, c.columns, row);
    return out;
}

asio::awaitable<void> run_unit(load_run& c, load_unit u) {
    std::string last_error;
    bool ok = false;
    for (int attempt = 0;; ++attempt) {
        driver::result r;
        if (u.stmts.size() == 1) {
            r = co_await c.s->execute(u.stmts[0]);
        } else {
            driver::batch b(c.counter ? protocol::batch_type::counter : protocol::batch_type::unlogged);
            for (const auto& st : u.stmts) b.add(st);
            b.options() = u.stmts[0].options();
            r = co_await c.s->execute(b);
        }
        if (r.ok()) {
            ok = true;
            break;
        }
        last_error = describe(r);
        if (attempt >= c.o.max_retries || c.counter || c.stopping || retry_cannot_help(r.error())) break;
        ++c.retries;
        co_await sleep_ms(backoff(c.o, attempt + 1));
    }
    if (ok) {
        c.rows += u.stmts.size();
        u.w->rows += u.stmts.size();
        for (auto h : u.hashes) {
            c.sum.add_row_hash(h);
            u.w->sum.add_row_hash(h);
        }
    } else {
        const bool is_parquet = c.o.format == data_format::parquet;
        std::vector<protocol::value_view> cells;
        std::vector<protocol::cql_value> row;
        std::size_t raw_begin = 0;
        for (std::size_t i = 0; i < u.records.size(); ++i) {
            const auto& ur = u.records[i];
            bad_record rec{u.w->file, ur.line, ur.offset, "write failed: " + last_error, {}};
            if (is_parquet) rec.data = row_json(c, u.stmts[i], cells, row);
            else rec.data.assign(u.raw, raw_begin, ur.raw_end - raw_begin);
            raw_begin = ur.raw_end;
            c.reject(std::move(rec));
        }
    }
    --u.w->pending;
    --c.in_flight;
    c.advance_journal();
    c.slot->notify();
}

asio::awaitable<void> send_unit(load_run& c, load_unit u) {
    while (c.in_flight >= c.max_in_flight) co_await c.slot->wait(std::chrono::milliseconds(1000));
    ++c.in_flight;
    ++u.w->pending;
    auto ex = co_await asio::this_coro::executor;
    asio::co_spawn(ex, run_unit(c, std::move(u)), [&c](std::exception_ptr e) {
        if (e && !c.crash) {
            c.crash = e;
            c.stopping = true;
        }
    });
}

std::string file_key(const fs::path& p) {
    std::error_code ec;
    auto a = fs::absolute(p, ec);
    return (ec ? p : a).lexically_normal().string();
}

// Loads one file (from where an earlier run stopped); stops early when the run must stop.
asio::awaitable<void> load_file(load_run& c, const fs::path& path, const input_entry* prior) {
    const auto key = file_key(path);
    const std::uint64_t skip_to = prior ? prior->offset : 0;
    if (prior) {
        c.file_rows[key] = prior->rows;
        c.file_sums[key] = prior->checksum;
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        c.fail({errc::io_error, path.string() + ": cannot open: " + std::strerror(errno)});
        co_return;
    }
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } close_fd{fd};

    csv_options copt;
    copt.delimiter = c.o.delimiter;
    csv_reader csv(copt);
    line_reader lines;
    const bool is_csv = c.o.format == data_format::csv;
    // Parquet: a record is a row; its "offset" is the row index (journal: rows done).
    const bool is_parquet = c.o.format == data_format::parquet;
    parquet_reader pq;
    std::string pq_error;
    if (is_parquet) {
        struct stat sb{};
        if (::fstat(fd, &sb) != 0) {
            c.fail({errc::io_error, path.string() + ": cannot stat: " + std::strerror(errno)});
            co_return;
        }
        auto src = [fd, &path](std::uint64_t off, std::size_t len, std::string& out) -> status {
            out.resize(len);
            std::size_t got = 0;
            while (got < len) {
                auto n = ::pread(fd, out.data() + got, len - got, static_cast<off_t>(off + got));
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) return {errc::io_error, path.string() + ": cannot read: " + std::strerror(errno)};
                got += static_cast<std::size_t>(n);
            }
            return {};
        };
        if (auto st = pq.open(src, static_cast<std::uint64_t>(sb.st_size), c.columns); !st) {
            c.fail({st.code, path.string() + ": " + st.message});
            co_return;
        }
        if (skip_to && !pq.skip(skip_to)) {
            c.fail({pq.error().code, path.string() + ": " + pq.error().message});
            co_return;
        }
    }
    field_mapping mapping = positional_mapping(c.columns.size());
    std::vector<bool> mapped(c.columns.size(), true);
    if (is_parquet) mapped = pq.present();
    bool header_done = !is_csv || !c.o.header;

    auto w = std::make_shared<window>();
    w->file = key;
    c.windows.push_back(w);
    std::uint64_t window_records = 0;

    load_unit cur;
    protocol::byte_buffer cur_key, key_buf;
    std::vector<protocol::cql_value> row;
    row_hasher hasher;
    // Not zeroed: read() fills it (a zeroed 1 MiB per file was ~1,650 instr/row
    // of a 64-file CSV load under callgrind, where rep stosb counts per byte).
    constexpr std::size_t chunk_size = std::size_t(1) << 20;
    auto chunk = std::make_unique_for_overwrite<char[]>(chunk_size);
    bool eof = false;
    std::uint64_t consumed_to = 0;  // end offset of the last record consumed
    std::uint64_t record_no = 0;

    auto flush_unit = [&]() -> asio::awaitable<void> {
        if (cur.stmts.empty()) co_return;
        cur.w = w;
        load_unit u = std::move(cur);
        cur = load_unit{};
        // Units of a table tend to be alike (rows a partition): room for one
        // like the last, rather than growing each vector row by row.
        cur.stmts.reserve(u.stmts.size());
        cur.hashes.reserve(u.hashes.size());
        cur.records.reserve(u.records.size());
        cur.raw.reserve(u.raw.size());
        cur_key.clear();
        co_await send_unit(c, std::move(u));
    };

    csv_record rec;  // one for the whole file: its buffers are reused from row to row
    while (!c.should_stop()) {
        status err;
        read_result rr;
        if (is_parquet) {
            if (!pq.next(row, pq_error)) {
                if (!pq.error().ok()) {
                    c.fail({pq.error().code, path.string() + ": " + pq.error().message});
                    co_return;
                }
                break;
            }
            rec.index = pq.row_index();
            rec.line = pq.row_index() + 1;
            rec.offset = pq.row_index();
            rec.end_offset = pq.row_index() + 1;
            rr = pq_error.empty() ? read_result::record : read_result::error;
            if (!pq_error.empty()) {
                err = {errc::bad_value, pq_error};
                rec.raw.clear();
                // The offending value as the file has it (not the null it converted to).
                append_json_row(rec.raw, c.columns, row, pq.error_column(), pq.error_value());
            }
        } else if (is_csv) rr = csv.next(rec, err);
        else rr = lines.next(rec);
        if (rr == read_result::need_more) {
            if (eof) break;
            auto n = ::read(fd, chunk.get(), chunk_size);
            if (n < 0) {
                if (errno == EINTR) continue;
                c.fail({errc::io_error, path.string() + ": cannot read: " + std::strerror(errno)});
                co_return;
            }
            if (n == 0) {
                eof = true;
                if (is_csv) csv.finish();
                else lines.finish();
            } else {
                std::string_view sv(chunk.get(), static_cast<std::size_t>(n));
                if (is_csv) csv.feed(sv);
                else lines.feed(sv);
            }
            continue;
        }
        if (rr == read_result::end) break;
        record_no = rec.index + 1;
        consumed_to = rec.end_offset;
        if (!header_done) {
            header_done = true;
            if (rr == read_result::error) {
                c.fail({errc::bad_csv, path.string() + ": header: " + err.message});
                co_return;
            }
            if (auto st = map_header(c.columns, rec, mapping); !st) {
                c.fail({st.code, path.string() + ": header: " + st.message});
                co_return;
            }
            std::fill(mapped.begin(), mapped.end(), false);
            for (auto col : mapping.column_of_field) mapped[col] = true;
            continue;
        }
        if (rec.end_offset <= skip_to) continue;  // loaded by an earlier run
        c.bytes += rec.end_offset - rec.offset;
        ++c.records_this_run;
        ++window_records;
        if (rr == read_result::error) {
            c.reject({key, rec.line, rec.offset, err.message, rec.raw});
        } else {
            status st = is_parquet ? status{}
                        : is_csv   ? parse_csv_row(c.columns, mapping, rec, row)
                                   : parse_json_row(c.columns, rec.raw, row);
            std::uint64_t h = 0;
            if (st) st = hasher.hash_values(c.columns, row, h);
            // A rejected record's text: as read, or for a Parquet row (converted) the row as JSON.
            auto data = [&]() {
                if (!is_parquet) return rec.raw;
                std::string json;
                append_json_row(json, c.columns, row);
                return json;
            };
            if (!st) {
                c.reject({key, rec.line, rec.offset, st.message, data()});
            } else {
                auto b = c.insert.bind_empty();
                for (std::size_t i = 0; i < c.columns.size(); ++i) {
                    const std::size_t m = c.marker[i];
                    if (!mapped[i]) b.set(m, driver::unset);
                    // A null counter was never incremented in its row: add nothing.
                    else if (row[i].is_null() && c.is_counter[i]) b.set(m, driver::unset);
                    else if (row[i].is_null()) b.set(m, std::nullopt);
                    else b.set(m, row[i]);
                }
                if (b.error()) {
                    c.reject({key, rec.line, rec.offset, b.error_message(), data()});
                } else {
                    b.options().idempotent = !c.counter;
                    b.options().timeout = c.o.request_timeout;
                    if (c.o.consistency) b.options().consistency = *c.o.consistency;
                    key_buf.clear();
                    for (auto i : c.pk) protocol::encode_value(c.columns[i].type, row[i], key_buf);
                    if (!cur.stmts.empty() && (key_buf != cur_key || cur.stmts.size() >= c.o.max_batch_rows))
                        co_await flush_unit();
                    if (cur.stmts.empty()) cur_key = key_buf;
                    cur.stmts.push_back(std::move(b));
                    cur.hashes.push_back(h);
                    // A Parquet row's text is made only if its write fails (run_unit).
                    if (!is_parquet) cur.raw += rec.raw;
                    cur.records.push_back({rec.line, rec.offset, cur.raw.size()});
                }
            }
        }
        if (c.o.max_records && c.records_this_run >= c.o.max_records) {
            c.interrupted = true;
            c.stopping = true;
        }
        if (window_records >= 2048 || c.stopping) {
            co_await flush_unit();
            w->end_offset = consumed_to;
            w->record = record_no;
            w->sealed = true;
            w = std::make_shared<window>();
            w->file = key;
            c.windows.push_back(w);
            window_records = 0;
            c.advance_journal();
        }
    }
    const bool whole = !c.stopping;
    co_await flush_unit();
    w->end_offset = consumed_to;
    w->record = record_no;
    w->sealed = true;
    w->complete = whole;
    if (!whole && window_records == 0) w->end_offset = std::max(w->end_offset, skip_to);
    c.advance_journal();
}

}  // namespace

// ---- Public -----------------------------------------------------------------

std::vector<protocol::column_spec> table_columns(const driver::table_metadata& t) {
    std::vector<protocol::column_spec> out;
    out.reserve(t.columns.size());
    for (const auto& c : t.columns) out.push_back({t.keyspace, t.name, c.name, c.type});
    return out;
}

asio::awaitable<status> resolve_columns(driver::session& s, const std::string& keyspace, const std::string& table,
                                        std::vector<protocol::column_spec>& out) {
    operation_options o;
    o.keyspace = keyspace;
    o.table = table;
    std::shared_ptr<const driver::cluster_metadata> meta;
    const auto* t = co_await lookup_table(s, o, meta);
    if (!t) co_return status{errc::no_such_table, "no table " + keyspace + "." + table + " in the cluster's schema"};
    out = table_columns(*t);
    std::string q = "SELECT ";
    for (std::size_t i = 0; i < out.size(); ++i) q += (i ? ", " : "") + quote_identifier(out[i].name);
    q += " FROM " + quote_identifier(keyspace) + "." + quote_identifier(table);
    auto p = co_await s.prepare(q);
    if (!p.ok()) co_return status{errc::request_failed, "cannot prepare " + q + ": " + p.error().message()};
    auto rc = p.value().result_columns();
    if (rc && rc->size() == out.size())
        for (std::size_t i = 0; i < out.size(); ++i) out[i].type = (*rc)[i].type;
    co_return status{};
}

std::string range_file_name(const token_range& r, data_format format) {
    return "range_" + std::to_string(r.first()) + "_" + std::to_string(r.last()) +
           (format == data_format::csv ? ".csv" : format == data_format::parquet ? ".parquet" : ".json");
}

status list_input_files(const std::vector<fs::path>& inputs, data_format format, std::vector<fs::path>& out) {
    for (const auto& in : inputs) {
        std::error_code ec;
        if (fs::is_directory(in, ec)) {
            std::vector<fs::path> found;
            for (const auto& de : fs::directory_iterator(in, ec)) {
                if (!de.is_regular_file()) continue;
                auto fname = de.path().filename().string();
                // A run directory's own files are not data.
                if (fname == "journal.jsonl" || fname == "bad_records.jsonl" || fname == "summary.json") continue;
                auto ext = de.path().extension().string();
                bool want = format == data_format::csv       ? ext == ".csv"
                            : format == data_format::parquet ? ext == ".parquet"
                                                             : (ext == ".json" || ext == ".jsonl");
                if (want) found.push_back(de.path());
            }
            if (ec) return {errc::io_error, in.string() + ": cannot list: " + ec.message()};
            std::sort(found.begin(), found.end());
            out.insert(out.end(), found.begin(), found.end());
        } else if (fs::is_regular_file(in, ec)) {
            out.push_back(in);
        } else {
            return {errc::io_error, in.string() + ": no such file or directory"};
        }
    }
    return {};
}

asio::awaitable<operation_result> count(driver::session& s, const operation_options& o, const progress_callback& cb) {
    const auto kind = o.server_side_count ? scan_kind::count_server : scan_kind::count_rows;
    co_return co_await run_scan(s, o, cb, kind, "count");
}

asio::awaitable<operation_result> unload(driver::session& s, const operation_options& o, const progress_callback& cb) {
    if (o.output_dir.empty()) {
        operation_result r;
        r.ec = make_error_code(errc::io_error);
        r.message = "unload needs an output directory";
        r.summary.operation = "unload";
        co_return r;
    }
    co_return co_await run_scan(s, o, cb, scan_kind::unload, "unload");
}

asio::awaitable<operation_result> checksum(driver::session& s, const operation_options& o, const progress_callback& cb) {
    co_return co_await run_scan(s, o, cb, scan_kind::checksum, "checksum");
}

asio::awaitable<operation_result> load(driver::session& s, const operation_options& o, const progress_callback& cb) {
    load_run c;
    c.s = &s;
    c.o = o;
    c.cb = cb;
    c.operation = "load";
    auto fail_early = [](status st) {
        operation_result r;
        r.ec = st.code;
        r.message = st.message;
        r.summary.operation = "load";
        return r;
    };
    std::shared_ptr<const driver::cluster_metadata> meta;
    const auto* table = co_await lookup_table(s, c.o, meta);
    if (!table) co_return fail_early({errc::no_such_table, "no table " + c.o.keyspace + "." + c.o.table + " in the cluster's schema"});
    c.columns = table_columns(*table);
    c.pk.assign(table->partition_key.begin(), table->partition_key.end());
    std::vector<fs::path> files;
    if (auto st = list_input_files(c.o.inputs, c.o.format, files); !st) co_return fail_early(st);
    c.run_dir = c.o.run_dir;
    if (auto st = c.open_run_dir(true); !st) co_return fail_early(st);
    // Loads resume by input position, not by range: keep `previous` for that only.
    auto progress_by_file = input_progress(c.previous);
    c.previous.ranges.clear();

    for (const auto& col : c.columns) {
        c.is_counter.push_back(col.type.kind == protocol::type_kind::counter);
        c.counter = c.counter || c.is_counter.back();
    }
    std::string q;
    c.marker.resize(c.columns.size());
    if (!c.counter) {
        q = "INSERT INTO " + quote_identifier(c.o.keyspace) + "." + quote_identifier(c.o.table) + " (";
        for (std::size_t i = 0; i < c.columns.size(); ++i) q += (i ? ", " : "") + quote_identifier(c.columns[i].name);
        q += ") VALUES (";
        for (std::size_t i = 0; i < c.columns.size(); ++i) q += i ? ", ?" : "?";
        q += ")";
        for (std::size_t i = 0; i < c.columns.size(); ++i) c.marker[i] = i;
    } else {
        // Every non-key column of a counter table is a counter (CQL allows no mix).
        std::vector<bool> is_key(c.columns.size(), false);
        for (auto i : table->partition_key) is_key[i] = true;
        for (auto i : table->clustering) is_key[i] = true;
        q = "UPDATE " + quote_identifier(c.o.keyspace) + "." + quote_identifier(c.o.table) + " SET ";
        std::size_t m = 0;
        for (std::size_t i = 0; i < c.columns.size(); ++i) {
            if (is_key[i]) continue;
            const auto name = quote_identifier(c.columns[i].name);
            q += (m ? ", " : "") + name + " = " + name + " + ?";
            c.marker[i] = m++;
        }
        q += " WHERE ";
        const std::size_t first_key = m;
        for (std::size_t i = 0; i < c.columns.size(); ++i) {
            if (!is_key[i]) continue;
            q += (m > first_key ? " AND " : "") + quote_identifier(c.columns[i].name) + " = ?";
            c.marker[i] = m++;
        }
    }
    auto p = co_await s.prepare(q);
    if (!p.ok())
        co_return fail_early({errc::request_failed, "cannot prepare " + q + ": " + p.error().message() + ": " + p.diag().message});
    c.insert = p.value();
    if (auto mk = c.insert.markers(); mk.size() == c.columns.size())
        for (std::size_t i = 0; i < c.columns.size(); ++i) c.columns[i].type = mk[c.marker[i]].type;

    auto ex = co_await asio::this_coro::executor;
    c.slot = std::make_unique<notifier>(ex);
    c.max_in_flight = c.o.concurrency ? c.o.concurrency : 16 * default_concurrency(s);
    if (c.o.max_batch_rows == 0) c.o.max_batch_rows = 1;
    std::uint64_t already = 0;
    for (const auto& f : files) {
        std::error_code ec;
        auto size = fs::file_size(f, ec);
        if (!ec) c.input_total += size;
        auto it = progress_by_file.find(file_key(f));
        if (it != progress_by_file.end()) already += it->second.complete ? size : it->second.offset;
    }
    // Progress reporter: a timer loop beside the reader.
    bool reading = true;
    notifier tick(ex);
    std::size_t reporters = 0;
    if (c.cb) {
        ++reporters;
        asio::co_spawn(
            ex,
            [&]() -> asio::awaitable<void> {
                while (reading) {
                    co_await tick.wait(c.o.progress_interval);
                    if (!reading) break;
                    std::optional<double> frac;
                    if (c.input_total) frac = static_cast<double>(already + c.bytes) / static_cast<double>(c.input_total);
                    c.cb(c.snapshot(c.files_done, files.size(), frac));
                }
            },
            [&](std::exception_ptr) {
                --reporters;
                c.slot->notify();
            });
    }
    std::uint64_t resumed_files = 0;
    for (const auto& f : files) {
        if (c.should_stop()) break;
        auto it = progress_by_file.find(file_key(f));
        const input_entry* prior = it == progress_by_file.end() ? nullptr : &it->second;
        if (prior && prior->complete) {
            ++resumed_files;
            ++c.files_done;
            c.file_rows[file_key(f)] = prior->rows;
            c.file_sums[file_key(f)] = prior->checksum;
            continue;
        }
        co_await load_file(c, f, prior);
    }
    while (c.in_flight > 0) co_await c.slot->wait(std::chrono::milliseconds(100));
    c.advance_journal();
    reading = false;
    tick.notify();
    while (reporters > 0) co_await c.slot->wait(std::chrono::milliseconds(10));
    if (c.cb) {
        std::optional<double> frac;
        if (c.input_total) frac = static_cast<double>(already + c.bytes) / static_cast<double>(c.input_total);
        auto pr = c.snapshot(c.files_done, files.size(), frac);
        pr.final = true;
        c.cb(pr);
    }
    const bool complete = c.files_done == files.size() && c.errors == 0;
    // The whole job (earlier runs too), like scans report.
    c.job_total.emplace();
    for (const auto& [k, v] : c.file_rows) c.job_total->first += v;
    for (const auto& [k, v] : c.file_sums) c.job_total->second.merge(v);
    co_return c.finish(c.files_done - resumed_files, resumed_files, files.size(), complete);
}

}  // namespace cqlpp::bulk
