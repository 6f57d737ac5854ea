#include "live_metrics.hpp"


#include <bit>
#include <cstdio>
#include <string>
#include <utility>

namespace cqlpp::driver {

// Values below 2^sub_bits get their own bucket; above, each power of two is
// split into 2^sub_bits equal buckets.
int latency_histogram::index_of(std::uint64_t v) noexcept {
    if (v < (1u << sub_bits)) return static_cast<int>(v);
    const int msb = 63 - std::countl_zero(v);
    const int shift = msb - sub_bits;
    const int sub = static_cast<int>((v >> shift) & ((1u << sub_bits) - 1));
    const int idx = ((shift + 1) << sub_bits) + sub;
    return idx < buckets ? idx : buckets - 1;
}

std::uint64_t latency_histogram::value_of(int index) noexcept {
    if (index < (1 << sub_bits)) return static_cast<std::uint64_t>(index);
    const int shift = (index >> sub_bits) - 1;
    const std::uint64_t sub = static_cast<std::uint64_t>(index & ((1 << sub_bits) - 1));
    // Middle of the bucket.
    const std::uint64_t lo = ((1ull << sub_bits) | sub) << shift;
    return lo + ((1ull << shift) >> 1);
}

void latency_histogram::record(std::chrono::nanoseconds d) noexcept {
    const auto v = static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count());
    ++counts_[static_cast<std::size_t>(index_of(v))];
    ++count_;
    sum_ += v;
    if (v > max_) max_ = v;
}

std::chrono::nanoseconds latency_histogram::percentile(double q) const noexcept {
    if (count_ == 0) return std::chrono::nanoseconds(0);
    if (q < 0) q = 0;
    if (q > 1) q = 1;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_));
    if (rank >= count_) rank = count_ - 1;
    std::uint64_t seen = 0;
    for (int i = 0; i < buckets; ++i) {
        seen += counts_[static_cast<std::size_t>(i)];
        if (seen > rank) {
            auto v = value_of(i);
            return std::chrono::nanoseconds(static_cast<std::int64_t>(v < max_ ? v : max_));
        }
    }
    return std::chrono::nanoseconds(static_cast<std::int64_t>(max_));
}

void latency_histogram::merge(const latency_histogram& o) noexcept {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    if (o.max_ > max_) max_ = o.max_;
}

}  // namespace cqlpp::driver

namespace cqlpp::driver::detail {

latency_histogram live_histogram::snapshot() const noexcept {
    latency_histogram h;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        h.counts_[i] = counts_[i].load(std::memory_order_relaxed);
        total += h.counts_[i];
    }
    // The sum of the buckets copied, so percentiles stay consistent with them
    // even while requests complete during the copy.
    h.count_ = total;
    h.max_ = max_.load(std::memory_order_relaxed);
    h.sum_ = sum_.get();
    return h;
}

void live_metrics::snapshot_into(session_metrics& m) const noexcept {
    m.requests = requests.get();
    m.errors = errors.get();
    m.retries = retries.get();
    m.speculative_executions = speculative_executions.get();
    m.timeouts = timeouts.get();
    m.reprepares = reprepares.get();
    m.control_reconnects = control_reconnects.get();
    m.topology_refreshes = topology_refreshes.get();
    m.schema_refreshes = schema_refreshes.get();
    m.latency = latency.snapshot();
}

}  // namespace cqlpp::driver::detail

namespace cqlpp::driver {

namespace {

// Prometheus text format: label values escape backslash, quote and newline.
void append_label_value(std::string& out, std::string_view v) {
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
}

struct exposition {
    std::string out;
    std::string_view prefix;

    void header(std::string_view name, std::string_view type, std::string_view help) {
        out += "# HELP ";
        out += prefix;
        out += '_';
        out += name;
        out += ' ';
        out += help;
        out += "\n# TYPE ";
        out += prefix;
        out += '_';
        out += name;
        out += ' ';
        out += type;
        out += '\n';
    }
    void sample(std::string_view name, std::string_view labels, double v) {
        out += prefix;
        out += '_';
        out += name;
        if (!labels.empty()) {
            out += '{';
            out += labels;
            out += '}';
        }
        out += ' ';
        char buf[64];
        const int n = std::snprintf(buf, sizeof buf, "%.17g", v);
        out.append(buf, static_cast<std::size_t>(n > 0 ? n : 0));
        out += '\n';
    }
    void one(std::string_view name, std::string_view type, std::string_view help, double v) {
        header(name, type, help);
        sample(name, {}, v);
    }
};

std::string node_labels(const host_metrics& h) {
    std::string l = "node=\"";
    append_label_value(l, h.endpoint);
    l += "\",dc=\"";
    append_label_value(l, h.datacenter);
    l += '"';
    return l;
}

double secs(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

std::string to_prometheus(const session_metrics& m, std::string_view prefix) {
    exposition e{{}, prefix};
    e.one("session_requests_total", "counter", "Logical requests completed (retries and speculative executions count once).",
          static_cast<double>(m.requests));
    e.one("session_request_errors_total", "counter", "Logical requests that failed.", static_cast<double>(m.errors));
    e.one("session_client_timeouts_total", "counter", "Requests whose deadline passed.", static_cast<double>(m.timeouts));
    e.one("session_retries_total", "counter", "Attempts retried after an error.", static_cast<double>(m.retries));
    e.one("session_speculative_executions_total", "counter", "Speculative attempts started.",
          static_cast<double>(m.speculative_executions));
    e.one("session_reprepares_total", "counter", "UNPREPARED answers handled by preparing again.",
          static_cast<double>(m.reprepares));
    e.one("session_control_reconnects_total", "counter", "Control connection reconnections.",
          static_cast<double>(m.control_reconnects));
    e.one("session_connected_nodes", "gauge", "Nodes with at least one open connection.",
          static_cast<double>(m.connected_nodes));
    e.one("session_bytes_sent_total", "counter", "Bytes written to the cluster.", static_cast<double>(m.bytes_sent));
    e.one("session_bytes_received_total", "counter", "Bytes read from the cluster.", static_cast<double>(m.bytes_received));
    e.one("session_prepared_cache_size", "gauge", "Prepared statements in the session's cache.",
          static_cast<double>(m.prepared_cache_size));
    e.one("session_throttling_queue_size", "gauge", "Requests waiting in the throttle's queue.",
          static_cast<double>(m.throttle.queue_depth));
    e.one("session_throttling_rejected_total", "counter", "Requests refused because the throttle's queue was full.",
          static_cast<double>(m.throttle.rejected));
    e.one("session_throttling_expired_total", "counter", "Requests whose deadline passed in the throttle's queue.",
          static_cast<double>(m.throttle.expired));
    e.one("session_throttling_delay_seconds_total", "counter", "Time requests spent waiting in the throttle's queue.",
          secs(m.throttle.total_delay));

    e.header("session_cql_requests_seconds", "summary", "Latency of successful requests, execute() to answer.");
    for (double q : {0.5, 0.75, 0.95, 0.98, 0.99, 0.999}) {
        char label[32];
        std::snprintf(label, sizeof label, "quantile=\"%g\"", q);
        e.sample("session_cql_requests_seconds", label, secs(m.latency.percentile(q)));
    }
    e.sample("session_cql_requests_seconds_sum", {}, secs(m.latency.sum()));
    e.sample("session_cql_requests_seconds_count", {}, static_cast<double>(m.latency.count()));

    // Per node: one family at a time, as the format requires.
    const auto per_node = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
        if (m.hosts.empty()) return;
        e.header(name, type, help);
        for (const auto& h : m.hosts) e.sample(name, node_labels(h), static_cast<double>(value(h)));
    };
    per_node("node_up", "gauge", "1 when the driver sees the node up.", [](const host_metrics& h) { return h.up ? 1 : 0; });
    per_node("node_open_connections", "gauge", "Open connections to the node.",
             [](const host_metrics& h) { return h.pool.connections; });
    per_node("node_in_flight", "gauge", "Requests written to the node and not answered.",
             [](const host_metrics& h) { return h.pool.in_flight; });
    per_node("node_orphaned_streams", "gauge", "Stream ids held by requests that gave up.",
             [](const host_metrics& h) { return h.pool.orphaned; });
    per_node("node_available_streams", "gauge", "Free stream ids on the node's open connections.",
             [](const host_metrics& h) { return h.available_streams; });
    per_node("node_bytes_sent_total", "counter", "Bytes written to the node.",
             [](const host_metrics& h) { return h.pool.bytes_written; });
    per_node("node_bytes_received_total", "counter", "Bytes read from the node.",
             [](const host_metrics& h) { return h.pool.bytes_read; });
    per_node("node_retries_total", "counter", "Attempts retried after this node's answer.",
             [](const host_metrics& h) { return h.retries; });
    per_node("node_speculative_executions_total", "counter", "Speculative attempts sent to the node.",
             [](const host_metrics& h) { return h.speculative_executions; });
    if (!m.hosts.empty()) {
        e.header("node_errors_total", "counter", "Failed attempts on the node, by kind.");
        for (const auto& h : m.hosts) {
            const auto labels = node_labels(h);
            const std::pair<const char*, std::uint64_t> kinds[] = {
                {"unsent", h.errors.unsent},
                {"aborted", h.errors.aborted},
                {"read_timeout", h.errors.read_timeouts},
                {"write_timeout", h.errors.write_timeouts},
                {"unavailable", h.errors.unavailables},
                {"other", h.errors.others},
                {"client_timeout", h.errors.client_timeouts},
            };
            for (const auto& [kind, n] : kinds)
                e.sample("node_errors_total", labels + ",kind=\"" + kind + "\"", static_cast<double>(n));
        }
    }
    return std::move(e.out);
}

}  // namespace cqlpp::driver
