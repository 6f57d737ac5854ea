#include "cqlpp/bulk/journal.hpp"

#include "cqlpp/bulk/detail/json.hpp"
#include "cqlpp/protocol/detail/text.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace cqlpp::bulk {

using detail::json_value;

namespace {

constexpr int journal_version = 1;

status io_error(const std::filesystem::path& p, std::string_view what, int err) {
    return {errc::io_error, std::string(what) + " " + p.string() + ": " + std::strerror(err)};
}

status read_whole(const std::filesystem::path& p, std::string& out, bool& exists) {
    std::error_code ec;
    exists = std::filesystem::exists(p, ec);
    out.clear();
    if (!exists) return {};
    std::ifstream in(p, std::ios::binary);
    if (!in) return io_error(p, "cannot open", errno);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return io_error(p, "cannot read", errno);
    out = std::move(ss).str();
    return {};
}

status write_all(int fd, std::string_view data, const std::filesystem::path& p) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return io_error(p, "cannot write", errno);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

status open_append(const std::filesystem::path& p, int& fd) {
    std::error_code ec;
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) return {errc::io_error, "cannot create " + p.parent_path().string() + ": " + ec.message()};
    fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return io_error(p, "cannot open", errno);
    return {};
}

// The complete lines of a file; a last line without '\n' is torn (written
// only in part when the process died) and left out.
std::vector<std::string_view> complete_lines(std::string_view text, bool& torn) {
    std::vector<std::string_view> lines;
    std::size_t start = 0;
    for (;;) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) break;
        lines.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    torn = start < text.size();
    return lines;
}

void append_double(std::string& out, double v) {
    if (!std::isfinite(v)) v = 0;
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

// Field readers: absent fields keep their default; a present field of the wrong shape is an error.
bool get_u64(const json_value& o, std::string_view key, std::uint64_t& out) {
    const json_value* v = o.find(key);
    if (!v) return true;
    if (v->type != json_value::kind::number) return false;
    auto [p, ec] = std::from_chars(v->text.data(), v->text.data() + v->text.size(), out);
    return ec == std::errc{} && p == v->text.data() + v->text.size();
}
bool get_token(const json_value& o, std::string_view key, token& out) {
    const json_value* v = o.find(key);
    if (!v || v->type != json_value::kind::number) return false;
    auto t = driver::parse_token(v->text);
    if (!t) return false;
    out = *t;
    return true;
}
bool get_double(const json_value& o, std::string_view key, double& out) {
    const json_value* v = o.find(key);
    if (!v) return true;
    if (v->type != json_value::kind::number) return false;
    auto [p, ec] = std::from_chars(v->text.data(), v->text.data() + v->text.size(), out);
    return ec == std::errc{} && p == v->text.data() + v->text.size();
}
bool get_bool(const json_value& o, std::string_view key, bool& out) {
    const json_value* v = o.find(key);
    if (!v) return true;
    if (v->type != json_value::kind::boolean) return false;
    out = v->boolean;
    return true;
}
bool get_string(const json_value& o, std::string_view key, std::string& out) {
    const json_value* v = o.find(key);
    if (!v) return true;
    if (v->type != json_value::kind::string) return false;
    out = v->text;
    return true;
}
bool get_checksum(const json_value& o, std::string_view key, table_checksum& out) {
    const json_value* v = o.find(key);
    if (!v) return true;
    return v->type == json_value::kind::string && table_checksum::parse(v->text, out).ok();
}

void append_key(std::string& out, std::string_view key) {
    out += ',';
    detail::append_json_string(out, key);
    out += ':';
}
void append_u64(std::string& out, std::string_view key, std::uint64_t v) {
    append_key(out, key);
    out += std::to_string(v);
}

std::string range_line(const range_entry& e) {
    std::string s = "{\"type\":\"range\"";
    append_key(s, "start");
    s += std::to_string(e.range.start);
    append_key(s, "inclusive");
    s += e.range.start_inclusive ? "true" : "false";
    append_key(s, "end");
    s += std::to_string(e.range.end);
    append_u64(s, "rows", e.rows);
    append_key(s, "checksum");
    s += '"' + e.checksum.to_string() + '"';
    append_u64(s, "bytes", e.bytes);
    append_key(s, "ms");
    append_double(s, e.ms);
    s += "}\n";
    return s;
}

std::string input_line(const input_entry& e) {
    std::string s = "{\"type\":\"input\"";
    append_key(s, "file");
    detail::append_json_string(s, e.file);
    append_u64(s, "offset", e.offset);
    append_u64(s, "record", e.record);
    append_u64(s, "rows", e.rows);
    append_key(s, "checksum");
    s += '"' + e.checksum.to_string() + '"';
    append_key(s, "complete");
    s += e.complete ? "true" : "false";
    s += "}\n";
    return s;
}

bool further(const input_entry& a, const input_entry& b) noexcept {
    if (a.complete != b.complete) return a.complete;
    return a.offset > b.offset;
}

}  // namespace

// ---- Journal ----------------------------------------------------------------

status read_journal(const std::filesystem::path& file, journal_contents& out) {
    out = {};
    std::string text;
    bool exists = false;
    if (auto s = read_whole(file, text, exists); !s) return s;
    auto lines = complete_lines(text, out.torn_tail);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].empty()) continue;
        auto bad = [&](std::string_view why) {
            return status(errc::bad_journal, file.string() + ", line " + std::to_string(i + 1) + ": " + std::string(why));
        };
        json_value o;
        std::string error;
        if (!detail::parse_json(lines[i], o, error)) return bad(error);
        std::string type;
        if (o.type != json_value::kind::object || !get_string(o, "type", type)) return bad("not a journal entry");
        if (type == "journal") {
            std::uint64_t version = 0;
            if (!get_u64(o, "version", version) || version != journal_version) return bad("unsupported journal version");
        } else if (type == "range") {
            range_entry e;
            if (!get_token(o, "start", e.range.start) || !get_token(o, "end", e.range.end) ||
                !get_bool(o, "inclusive", e.range.start_inclusive) || !get_u64(o, "rows", e.rows) ||
                !get_checksum(o, "checksum", e.checksum) || !get_u64(o, "bytes", e.bytes) || !get_double(o, "ms", e.ms))
                return bad("malformed range entry");
            out.ranges.push_back(e);
        } else if (type == "input") {
            input_entry e;
            if (!get_string(o, "file", e.file) || e.file.empty() || !get_u64(o, "offset", e.offset) ||
                !get_u64(o, "record", e.record) || !get_u64(o, "rows", e.rows) || !get_checksum(o, "checksum", e.checksum) ||
                !get_bool(o, "complete", e.complete))
                return bad("malformed input entry");
            out.inputs.push_back(std::move(e));
        }
        // Other types are from a newer writer and do not affect resuming: skipped.
    }
    return {};
}

std::vector<token_range> done_ranges(const journal_contents& j) {
    std::vector<token_range> out;
    out.reserve(j.ranges.size());
    for (const auto& e : j.ranges) out.push_back(e.range);
    return out;
}

std::map<std::string, input_entry> input_progress(const journal_contents& j) {
    std::map<std::string, input_entry> out;
    for (const auto& e : j.inputs) {
        auto [it, inserted] = out.try_emplace(e.file, e);
        if (!inserted && further(e, it->second)) it->second = e;
    }
    return out;
}

journal_writer::~journal_writer() { close(); }

void journal_writer::close() noexcept {
    std::lock_guard lock(mutex_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

status journal_writer::open(const std::filesystem::path& file, bool sync) {
    close();
    std::lock_guard lock(mutex_);
    std::string text;
    bool exists = false;
    if (auto s = read_whole(file, text, exists); !s) return s;
    // Cut a torn last line off, or the next entry would continue it.
    std::size_t keep = text.size();
    if (!text.empty() && text.back() != '\n') {
        auto nl = text.rfind('\n');
        keep = nl == std::string::npos ? 0 : nl + 1;
        std::error_code ec;
        std::filesystem::resize_file(file, keep, ec);
        if (ec) return {errc::io_error, "cannot truncate " + file.string() + ": " + ec.message()};
    }
    if (auto s = open_append(file, fd_); !s) return s;
    path_ = file;
    sync_ = sync;
    if (keep == 0) {
        std::string header = "{\"type\":\"journal\",\"version\":" + std::to_string(journal_version) + "}\n";
        if (auto s = write_all(fd_, header, path_); !s) return s;
    }
    return {};
}

status journal_writer::write_line(std::string line) {
    std::lock_guard lock(mutex_);
    if (fd_ < 0) return {errc::io_error, "journal is not open"};
    // One write() per line: a crash leaves whole lines plus at most one torn one.
    if (auto s = write_all(fd_, line, path_); !s) return s;
    if (sync_ && ::fdatasync(fd_) != 0) return io_error(path_, "cannot sync", errno);
    return {};
}

status journal_writer::append(const range_entry& e) { return write_line(range_line(e)); }
status journal_writer::append(const input_entry& e) { return write_line(input_line(e)); }

// ---- Summaries ----------------------------------------------------------------

void latency_stats::add(double ms) noexcept {
    if (count == 0 || ms < min_ms) min_ms = ms;
    if (count == 0 || ms > max_ms) max_ms = ms;
    sum_ms += ms;
    ++count;
}

void latency_stats::merge(const latency_stats& o) noexcept {
    if (o.count == 0) return;
    if (count == 0) {
        *this = o;
        return;
    }
    min_ms = std::min(min_ms, o.min_ms);
    max_ms = std::max(max_ms, o.max_ms);
    sum_ms += o.sum_ms;
    count += o.count;
}

void run_summary::merge(const run_summary& o) {
    if (operation.empty()) operation = o.operation;
    else if (!o.operation.empty() && o.operation != operation) operation = "mixed";
    rows += o.rows;
    bytes += o.bytes;
    errors += o.errors;
    retries += o.retries;
    ranges += o.ranges;
    elapsed_seconds = std::max(elapsed_seconds, o.elapsed_seconds);
    range_latency.merge(o.range_latency);
    checksum.merge(o.checksum);
}

std::string run_summary::to_json() const {
    std::string s = "{\"operation\":";
    detail::append_json_string(s, operation);
    append_u64(s, "rows", rows);
    append_u64(s, "bytes", bytes);
    append_u64(s, "errors", errors);
    append_u64(s, "retries", retries);
    append_u64(s, "ranges", ranges);
    append_key(s, "elapsed_seconds");
    append_double(s, elapsed_seconds);
    s += ",\"range_latency\":{\"count\":" + std::to_string(range_latency.count);
    append_key(s, "min_ms");
    append_double(s, range_latency.min_ms);
    append_key(s, "avg_ms");
    append_double(s, range_latency.avg_ms());
    append_key(s, "max_ms");
    append_double(s, range_latency.max_ms);
    append_key(s, "sum_ms");
    append_double(s, range_latency.sum_ms);
    s += "},\"checksum\":\"" + checksum.to_string() + "\"}";
    return s;
}

status run_summary::from_json(std::string_view text, run_summary& out) {
    json_value o;
    std::string error;
    if (!detail::parse_json(text, o, error)) return {errc::bad_json, "summary: " + error};
    run_summary s;
    const json_value* lat = o.find("range_latency");
    if (o.type != json_value::kind::object || !get_string(o, "operation", s.operation) || !get_u64(o, "rows", s.rows) ||
        !get_u64(o, "bytes", s.bytes) || !get_u64(o, "errors", s.errors) || !get_u64(o, "retries", s.retries) ||
        !get_u64(o, "ranges", s.ranges) || !get_double(o, "elapsed_seconds", s.elapsed_seconds) ||
        !get_checksum(o, "checksum", s.checksum) ||
        (lat && (lat->type != json_value::kind::object || !get_u64(*lat, "count", s.range_latency.count) ||
                 !get_double(*lat, "min_ms", s.range_latency.min_ms) ||
                 !get_double(*lat, "max_ms", s.range_latency.max_ms) ||
                 !get_double(*lat, "sum_ms", s.range_latency.sum_ms))))
        return {errc::bad_json, "summary: a field has the wrong type"};
    out = std::move(s);
    return {};
}

status write_summary(const std::filesystem::path& file, const run_summary& s) {
    auto tmp = file;
    tmp += ".tmp";
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    int fd = -1;
    if (auto st = open_append(tmp, fd); !st) return st;
    auto st = write_all(fd, s.to_json() + "\n", tmp);
    if (st && ::fsync(fd) != 0) st = io_error(tmp, "cannot sync", errno);
    ::close(fd);
    if (!st) return st;
    std::filesystem::rename(tmp, file, ec);
    if (ec) return {errc::io_error, "cannot rename " + tmp.string() + ": " + ec.message()};
    return {};
}

status read_summary(const std::filesystem::path& file, run_summary& out) {
    std::string text;
    bool exists = false;
    if (auto s = read_whole(file, text, exists); !s) return s;
    if (!exists) return {errc::io_error, "no summary " + file.string()};
    return run_summary::from_json(text, out);
}

// ---- Merge ------------------------------------------------------------------

status merge_journals(std::span<const journal_contents> journals, merge_result& out, std::span<const token_range> expected) {
    merge_result r;
    std::map<std::pair<token, token>, std::size_t> seen;  // (first, end) -> index in r.ranges
    for (const auto& j : journals) {
        for (const auto& e : j.ranges) {
            if (e.range.empty()) continue;
            auto [it, inserted] = seen.try_emplace({e.range.first(), e.range.end}, r.ranges.size());
            if (!inserted) {
                ++r.duplicates;
                const auto& first = r.ranges[it->second];
                if (first.rows != e.rows || first.checksum != e.checksum) ++r.inconsistent;
                continue;
            }
            r.ranges.push_back(e);
        }
        for (const auto& [file, e] : input_progress(j)) {
            auto [it, inserted] = r.inputs.try_emplace(file, e);
            if (!inserted && further(e, it->second)) it->second = e;
        }
    }
    std::sort(r.ranges.begin(), r.ranges.end(), [](const range_entry& a, const range_entry& b) { return a.range < b.range; });
    for (std::size_t i = 1; i < r.ranges.size(); ++i)
        if (r.ranges[i].range.first() <= r.ranges[i - 1].range.end)
            return {errc::range_conflict, "journals record overlapping ranges " + r.ranges[i - 1].range.to_string() +
                                              " and " + r.ranges[i].range.to_string()};
    for (const auto& e : r.ranges) {
        r.rows += e.rows;
        r.bytes += e.bytes;
        r.checksum.merge(e.checksum);
        r.range_latency.add(e.ms);
    }
    std::vector<replica_range> universe;
    if (expected.empty()) universe.push_back({token_range::full_ring(), {}});
    for (const auto& t : expected) universe.push_back({t, {}});
    std::vector<token_range> done;
    for (const auto& e : r.ranges) done.push_back(e.range);
    for (auto& m : subtract_ranges(universe, done)) r.missing.push_back(m.range);
    r.missing = normalize(r.missing);
    out = std::move(r);
    return {};
}

// ---- Bad records ----------------------------------------------------------------

bad_records_writer::~bad_records_writer() { close(); }

void bad_records_writer::close() noexcept {
    std::lock_guard lock(mutex_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

status bad_records_writer::open(const std::filesystem::path& file) {
    close();
    std::lock_guard lock(mutex_);
    path_ = file;
    count_ = 0;
    return open_append(file, fd_);
}

status bad_records_writer::append(const bad_record& r) {
    std::string s = "{\"source\":";
    detail::append_json_string(s, r.source);
    append_u64(s, "line", r.line);
    append_u64(s, "offset", r.offset);
    append_key(s, "reason");
    detail::append_json_string(s, r.reason);
    append_key(s, "data");
    detail::append_json_string(s, r.data);
    if (!protocol::detail::is_valid_utf8(r.data)) {
        append_key(s, "data_hex");
        s += '"' + protocol::to_hex(protocol::as_bytes(r.data)) + '"';
    }
    s += "}\n";
    std::lock_guard lock(mutex_);
    if (fd_ < 0) return {errc::io_error, "bad-records file is not open"};
    if (auto st = write_all(fd_, s, path_); !st) return st;
    ++count_;
    return {};
}

status read_bad_records(const std::filesystem::path& file, std::vector<bad_record>& out) {
    out.clear();
    std::string text;
    bool exists = false;
    if (auto s = read_whole(file, text, exists); !s) return s;
    bool torn = false;
    auto lines = complete_lines(text, torn);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        json_value o;
        std::string error;
        bad_record r;
        std::string hex;
        if (!detail::parse_json(lines[i], o, error) || o.type != json_value::kind::object ||
            !get_string(o, "source", r.source) || !get_u64(o, "line", r.line) || !get_u64(o, "offset", r.offset) ||
            !get_string(o, "reason", r.reason) || !get_string(o, "data", r.data) || !get_string(o, "data_hex", hex))
            return {errc::bad_json, file.string() + ", line " + std::to_string(i + 1) + ": not a bad-record entry"};
        if (!hex.empty()) {
            protocol::byte_buffer b;
            if (!protocol::from_hex(hex, b)) return {errc::bad_json, file.string() + ": bad data_hex"};
            r.data.assign(b.begin(), b.end());
        }
        out.push_back(std::move(r));
    }
    return {};
}

}  // namespace cqlpp::bulk
