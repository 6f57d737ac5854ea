// Statements: simple (CQL text plus values), prepared and bound, and batches.
//
// Values are encoded when they are bound, once, into one buffer per
// statement; executing (and re-executing, retrying, paging) reuses those
// bytes. A bound statement checks every value against its marker's CQL type
// when it is bound (value_codec.hpp), so a wrong arity or type is reported
// with a clear message before anything is sent:
//
//   auto ps = co_await session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)");
//   auto b = ps.value().bind(42, std::string("hello"));   // checked here
//   auto r = co_await session.execute(b);                 // b.error() would be returned here
//
// Simple statements have no marker types: values bind with the CQL type
// natural to their C++ type (int32_t -> int, int64_t -> bigint,
// std::string -> text, ...; see natural_type). Use a prepared statement when
// the column types differ (e.g. a smallint column), or pass a protocol::cql_value
// with an explicit type via bind_typed().
#pragma once

#include "cqlpp/driver/error.hpp"
#include "cqlpp/driver/row.hpp"
#include "cqlpp/driver/value_codec.hpp"
#include "cqlpp/protocol/common.hpp"
#include "cqlpp/protocol/requests.hpp"
#include "cqlpp/protocol/result.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cqlpp::driver {

// Per-statement settings. Unset fields take the statement's execution profile's
// value, then the session's default.
struct statement_options {
    std::optional<protocol::consistency> consistency;
    std::optional<protocol::consistency> serial_consistency;
    // Rows per page; <= 0 asks for everything in one page.
    std::optional<std::int32_t> page_size;
    // Client timestamp in microseconds; unset: the session's generator (if enabled).
    std::optional<std::int64_t> timestamp;
    // v5: run against this keyspace instead of the connection's.
    std::string keyspace;
    // v5: the "current time" the server uses for TTLs and now() (testing).
    std::optional<std::int32_t> now_in_seconds;
    // Safe to retry and to execute speculatively. Unset: the session's default (false).
    std::optional<bool> idempotent;
    // Deadline of the whole request (every attempt included); unset: the session's.
    std::optional<std::chrono::milliseconds> timeout;
    bool tracing = false;
    // Sent as the envelope's custom payload (the server's QueryHandler sees it).
    std::vector<std::pair<std::string, protocol::byte_buffer>> custom_payload;
    // Resume a query where an earlier page ended (result::paging_state()).
    protocol::byte_buffer paging_state;
    // Route as if the partition key had this Murmur3 token (e.g. the end of a
    // token range being scanned); overrides the key from bound values. Needs a
    // keyspace (the prepared statement's, options().keyspace or the session's).
    std::optional<std::int64_t> routing_token;
    // A profile of session_config::execution_profiles (empty: none). A name the
    // session does not define fails the request with errc::unknown_execution_profile.
    std::string execution_profile;
};

// The CQL type a C++ value binds to when no marker type is known.
template <class T>
struct natural_type;

#define CQLPP_NATURAL(T, K) \
    template <>             \
    struct natural_type<T> { static protocol::cql_type get() { return protocol::cql_type(protocol::type_kind::K); } }
CQLPP_NATURAL(bool, boolean);
CQLPP_NATURAL(std::int8_t, tinyint);
CQLPP_NATURAL(std::int16_t, smallint);
CQLPP_NATURAL(std::int32_t, int_);
CQLPP_NATURAL(std::int64_t, bigint);
CQLPP_NATURAL(float, float_);
CQLPP_NATURAL(double, double_);
CQLPP_NATURAL(std::string, text);
CQLPP_NATURAL(std::string_view, text);
CQLPP_NATURAL(blob, blob);
CQLPP_NATURAL(blob_view, blob);
CQLPP_NATURAL(protocol::byte_buffer, blob);
CQLPP_NATURAL(uuid, uuid);
CQLPP_NATURAL(inet, inet);
CQLPP_NATURAL(date, date);
CQLPP_NATURAL(time, time);
CQLPP_NATURAL(timestamp, timestamp);
CQLPP_NATURAL(duration, duration);
CQLPP_NATURAL(varint, varint);
CQLPP_NATURAL(decimal, decimal);
#undef CQLPP_NATURAL
template <std::size_t N>
struct natural_type<char[N]> {
    static protocol::cql_type get() { return protocol::cql_type(protocol::type_kind::text); }
};
template <class T>
struct natural_type<std::optional<T>> {
    static protocol::cql_type get() { return natural_type<T>::get(); }
};
template <class T>
struct natural_type<std::vector<T>> {
    static protocol::cql_type get() { return protocol::cql_type::list_of(natural_type<T>::get()); }
};
template <class T>
struct natural_type<std::set<T>> {
    static protocol::cql_type get() { return protocol::cql_type::set_of(natural_type<T>::get()); }
};
template <class K, class V>
struct natural_type<std::map<K, V>> {
    static protocol::cql_type get() { return protocol::cql_type::map_of(natural_type<K>::get(), natural_type<V>::get()); }
};

namespace detail {
// Encoded [value]s of a statement, bound in any order.
class value_list {
public:
    static constexpr std::uint32_t not_bound = 0xFFFFFFFFu;

    void reset(std::size_t n) {
        bytes_.clear();
        offsets_.assign(n, not_bound);
    }
    std::size_t size() const noexcept { return offsets_.size(); }
    bool is_bound(std::size_t i) const noexcept { return offsets_[i] != not_bound; }
    // Starts value i at the end of the buffer (the caller appends its [value]).
    protocol::byte_buffer& begin_value(std::size_t i) {
        if (i >= offsets_.size()) offsets_.resize(i + 1, not_bound);
        offsets_[i] = static_cast<std::uint32_t>(bytes_.size());
        return bytes_;
    }
    void cancel_value(std::size_t i) {
        bytes_.resize(offsets_[i]);
        offsets_[i] = not_bound;
    }
    // The [value] at index i (unset when never bound). Inline: it runs for
    // every bound value of every request.
    protocol::value_view view(std::size_t i) const noexcept {
        if (i >= offsets_.size()) return protocol::value_view::unset();
        const std::size_t at = offsets_[i];
        if (at == not_bound || bytes_.size() - at < 4) return protocol::value_view::unset();
        const auto len = static_cast<std::int32_t>(protocol::detail::load_be32(bytes_.data() + at));
        if (len == -1) return protocol::value_view::null();
        if (len < 0 || bytes_.size() - at - 4 < static_cast<std::size_t>(len)) return protocol::value_view::unset();
        return protocol::value_view::of(protocol::bytes_view(bytes_.data() + at + 4, static_cast<std::size_t>(len)));
    }
    protocol::byte_buffer& buffer() noexcept { return bytes_; }

private:
    protocol::byte_buffer bytes_;
    std::vector<std::uint32_t> offsets_;
};

// A prepared statement's immutable description, plus the parts the server
// may change (v5 result metadata id and columns: METADATA_CHANGED).
struct prepared_data {
    std::string query;
    std::string keyspace;  // the keyspace of its table (markers' table spec), for routing
    // The keyspace sent with PREPARE (v5) / the connection's: part of the
    // statement's id on the server, so re-preparing must use the same one.
    std::string prepare_keyspace;
    protocol::byte_buffer id;
    std::vector<protocol::column_spec> markers;
    std::vector<std::uint16_t> pk_indices;
    std::shared_ptr<const column_set> marker_names;  // name -> marker index
    bool is_lwt = false;    // IF ... : plans keep replica order (fewer Paxos contentions)
    bool is_write = false;  // INSERT / UPDATE / DELETE (for the retry policy)

    // What the statement's rows look like. A session that sees METADATA_CHANGED
    // (v5) replaces it as a whole while other threads encode from it (a
    // prepared statement may be shared by every thread of an application), so
    // it is published through an atomic pointer. Replaced shapes are kept
    // until the statement goes: a reader may still hold one, and a table's
    // schema changes rarely.
    struct result_shape {
        protocol::byte_buffer metadata_id;
        std::shared_ptr<const column_set> columns;  // null: the result has no rows (or no_metadata)
    };
    const result_shape& shape() const noexcept { return *shape_.load(std::memory_order_acquire); }
    void set_shape(protocol::byte_buffer metadata_id, std::shared_ptr<const column_set> columns) {
        auto next = std::make_unique<const result_shape>(result_shape{std::move(metadata_id), std::move(columns)});
        std::lock_guard lock(shapes_mutex_);
        shape_.store(next.get(), std::memory_order_release);
        shapes_.push_back(std::move(next));
    }

    prepared_data() { set_shape({}, nullptr); }
    prepared_data(const prepared_data&) = delete;
    prepared_data& operator=(const prepared_data&) = delete;

private:
    std::atomic<const result_shape*> shape_{nullptr};
    std::mutex shapes_mutex_;
    std::vector<std::unique_ptr<const result_shape>> shapes_;
};
}  // namespace detail

class session;
class prepared_statement;

// CQL text with optional positional (or named) values.
class statement {
public:
    statement() = default;
    explicit statement(std::string query) : query_(std::move(query)) {}
    template <class... Args>
    explicit statement(std::string query, const Args&... values) : query_(std::move(query)) {
        values_.reset(0);
        (add(values), ...);
    }

    // Appends a positional value with its natural CQL type.
    template <class T>
    statement& add(const T& value) {
        return add_typed(value, natural_type<std::remove_cvref_t<T>>::get());
    }
    statement& add(std::nullopt_t) {
        protocol::byte_writer(values_.begin_value(values_.size())).i32(-1);
        return *this;
    }
    statement& add(unset_t) {
        protocol::byte_writer(values_.begin_value(values_.size())).i32(-2);
        return *this;
    }
    statement& add(const char* s) { return add(std::string_view(s)); }
    // Appends a value with an explicit CQL type (e.g. smallint, or a UDT).
    template <class T>
    statement& add_typed(const T& value, const protocol::cql_type& type) {
        const auto i = values_.size();
        auto e = write_value(value, type, values_.begin_value(i));
        if (e != conversion_errc::ok) {
            values_.cancel_value(i);
            fail(make_error_code(errc::bind_type_mismatch),
                 "value " + std::to_string(i) + " cannot be sent as " + protocol::to_cql_name(type) + ": " +
                     std::string(to_string(e)));
        }
        return *this;
    }
    // Named values (flag 0x40): every value of the statement must then be named.
    template <class T>
    statement& add_named(std::string name, const T& value) {
        names_.push_back(std::move(name));
        return add(value);
    }

    const std::string& query() const noexcept { return query_; }
    std::size_t value_count() const noexcept { return values_.size(); }
    const std::vector<std::string>& names() const noexcept { return names_; }
    statement_options& options() noexcept { return options_; }
    const statement_options& options() const noexcept { return options_; }
    // Token-aware routing for a simple statement: its serialized partition key
    // (protocol::composite_key for several columns) and the keyspace.
    statement& set_routing_key(protocol::byte_buffer key, std::string keyspace = {}) {
        routing_key_ = std::move(key);
        routing_keyspace_ = std::move(keyspace);
        return *this;
    }
    const std::optional<protocol::byte_buffer>& routing_key() const noexcept { return routing_key_; }
    // Runs with the named execution profile (options().execution_profile).
    statement& set_execution_profile(std::string name) {
        options_.execution_profile = std::move(name);
        return *this;
    }
    const std::string& routing_keyspace() const noexcept { return routing_keyspace_; }

    // The first binding error (empty when every value bound).
    std::error_code error() const noexcept { return error_; }
    const std::string& error_message() const noexcept { return error_message_; }
    const detail::value_list& values() const noexcept { return values_; }

private:
    void fail(std::error_code ec, std::string msg) {
        if (!error_) {
            error_ = ec;
            error_message_ = std::move(msg);
        }
    }

    std::string query_;
    detail::value_list values_;
    std::vector<std::string> names_;
    statement_options options_;
    std::optional<protocol::byte_buffer> routing_key_;
    std::string routing_keyspace_;
    std::error_code error_;
    std::string error_message_;
};

// A prepared statement with its values. Values are checked against the
// markers as they are bound; the first error is kept and returned by
// session::execute before anything is sent.
class bound_statement {
public:
    bound_statement() = default;
    explicit bound_statement(std::shared_ptr<detail::prepared_data> p) : prepared_(std::move(p)) {
        values_.reset(prepared_->markers.size());
    }

    // By marker index (any integer type, so set(0, v) is not taken for a name).
    template <class I, class T>
        requires std::is_integral_v<I>
    bound_statement& set(I index, const T& value) {
        const auto i = static_cast<std::size_t>(index);
        if (!check_index(i)) return *this;  // negative indexes wrap to huge ones
        const auto& type = prepared_->markers[i].type;
        if constexpr (std::is_same_v<T, unset_t> || std::is_same_v<T, std::nullopt_t>) {
            write_value(value, type, values_.begin_value(i));
        } else if constexpr (std::is_convertible_v<const T&, std::string_view> && !std::is_same_v<T, std::string> &&
                             !std::is_same_v<T, std::string_view>) {
            return set(i, std::string_view(value));
        } else {
            auto e = write_value(value, type, values_.begin_value(i));
            if (e != conversion_errc::ok) {
                values_.cancel_value(i);
                fail(make_error_code(errc::bind_type_mismatch),
                     "marker " + std::to_string(i) + " \"" + prepared_->markers[i].name + "\" (" +
                         protocol::to_cql_name(type) + "): " + std::string(to_string(e)));
            }
        }
        return *this;
    }
    // By marker name (all markers of that name: `k = :k OR ... :k`).
    template <class T>
    bound_statement& set(std::string_view name, const T& value) {
        bool any = false;
        for (std::size_t i = 0; i < prepared_->markers.size(); ++i) {
            if (names_equal(prepared_->markers[i].name, name)) {
                set(i, value);
                any = true;
            }
        }
        if (!any) fail(make_error_code(errc::no_such_marker), "no bind marker named \"" + std::string(name) + "\"");
        return *this;
    }
    template <class T>
    bound_statement& set(const char* name, const T& value) {
        return set(std::string_view(name), value);
    }

    // All values at once, in marker order; the count must match.
    template <class... Args>
    bound_statement& bind_all(const Args&... values) {
        if (sizeof...(Args) != prepared_->markers.size()) {
            fail(make_error_code(errc::bind_count_mismatch),
                 "statement has " + std::to_string(prepared_->markers.size()) + " bind markers, " +
                     std::to_string(sizeof...(Args)) + " values given");
            return *this;
        }
        std::size_t i = 0;
        (set(i++, values), ...);
        return *this;
    }

    statement_options& options() noexcept { return options_; }
    const statement_options& options() const noexcept { return options_; }
    bound_statement& set_execution_profile(std::string name) {
        options_.execution_profile = std::move(name);
        return *this;
    }
    std::error_code error() const noexcept { return error_; }
    const std::string& error_message() const noexcept { return error_message_; }
    const detail::value_list& values() const noexcept { return values_; }
    const std::shared_ptr<detail::prepared_data>& prepared() const noexcept { return prepared_; }
    // Clears values and errors (keeps options) to bind the next row.
    void clear() {
        values_.reset(prepared_->markers.size());
        error_ = {};
        error_message_.clear();
    }

private:
    static bool names_equal(std::string_view a, std::string_view b) noexcept;
    bool check_index(std::size_t i) {
        if (i < prepared_->markers.size()) return true;
        fail(make_error_code(errc::bind_count_mismatch),
             "bind index " + std::to_string(i) + " out of range: statement has " +
                 std::to_string(prepared_->markers.size()) + " bind markers");
        return false;
    }
    void fail(std::error_code ec, std::string msg) {
        if (!error_) {
            error_ = ec;
            error_message_ = std::move(msg);
        }
    }

    std::shared_ptr<detail::prepared_data> prepared_;
    detail::value_list values_;
    statement_options options_;
    std::error_code error_;
    std::string error_message_;
};

// The result of session::prepare: cheap to copy (shared), usable from any
// session connected to the same cluster.
class prepared_statement {
public:
    prepared_statement() = default;
    explicit prepared_statement(std::shared_ptr<detail::prepared_data> p) : p_(std::move(p)) {}

    template <class... Args>
    bound_statement bind(const Args&... values) const {
        bound_statement b(p_);
        if constexpr (sizeof...(Args) > 0) b.bind_all(values...);
        return b;
    }
    // An empty statement to fill with set(i, v) / set("name", v).
    bound_statement bind_empty() const { return bound_statement(p_); }

    const std::string& query() const noexcept { return p_->query; }
    const std::string& keyspace() const noexcept { return p_->keyspace; }
    std::span<const protocol::column_spec> markers() const noexcept { return p_->markers; }
    std::span<const std::uint16_t> partition_key_indices() const noexcept { return p_->pk_indices; }
    std::shared_ptr<const column_set> result_columns() const noexcept { return p_->shape().columns; }
    const protocol::byte_buffer& id() const noexcept { return p_->id; }
    explicit operator bool() const noexcept { return p_ != nullptr; }

private:
    std::shared_ptr<detail::prepared_data> p_;
};

// LOGGED / UNLOGGED / COUNTER batch of simple and bound statements. Options
// (consistency, timestamp, ...) are the batch's; the statements' own are ignored.
class batch {
public:
    explicit batch(protocol::batch_type type = protocol::batch_type::logged) : type_(type) {}
    batch& add(statement s) {
        simple_.push_back(std::move(s));
        order_.push_back({false, simple_.size() - 1});
        return *this;
    }
    batch& add(bound_statement b) {
        bound_.push_back(std::move(b));
        order_.push_back({true, bound_.size() - 1});
        return *this;
    }
    protocol::batch_type type() const noexcept { return type_; }
    std::size_t size() const noexcept { return order_.size(); }
    statement_options& options() noexcept { return options_; }
    const statement_options& options() const noexcept { return options_; }
    // The batch's profile; its statements' own profiles are ignored, like their other options.
    batch& set_execution_profile(std::string name) {
        options_.execution_profile = std::move(name);
        return *this;
    }

    struct entry {
        bool bound;
        std::size_t index;
    };
    const std::vector<entry>& entries() const noexcept { return order_; }
    const statement& simple_at(std::size_t i) const noexcept { return simple_[i]; }
    const bound_statement& bound_at(std::size_t i) const noexcept { return bound_[i]; }

private:
    protocol::batch_type type_;
    std::vector<statement> simple_;
    std::vector<bound_statement> bound_;
    std::vector<entry> order_;
    statement_options options_;
};

}  // namespace cqlpp::driver
