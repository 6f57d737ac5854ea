// RFC 4180 CSV, streaming and sans-I/O, plus a line reader for JSON lines.
//
// Readers are push parsers: feed() them chunks as they arrive from a file or a
// pipe (any split, even inside a quoted field or a CRLF), finish() at end of
// input, and pull records with next(). Each record carries its byte offsets
// and line number, for error messages, the bad-records file and the load
// journal (resume = skip to the end_offset of the last loaded record).
//
// Reading rules: fields are separated by the delimiter, records by LF, CRLF
// or a lone CR; a field that starts with '"' is quoted ("" is a quote inside
// it, and it may span lines); a quote anywhere else, or text after a closing
// quote, is an error (bad_csv) that rejects that record only: the reader
// skips to the end of the line and goes on. Blank lines are skipped; a UTF-8
// BOM at the start is dropped. Whether a field was quoted is kept: an empty
// unquoted field is null, "" is an empty string (see codec.hpp).
#pragma once

#include "cqlpp/bulk/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cqlpp::bulk {

struct csv_field {
    std::string text;
    bool quoted = false;
    friend bool operator==(const csv_field&, const csv_field&) = default;
};

struct csv_record {
    std::vector<csv_field> fields;
    std::uint64_t offset = 0;      // byte offset of the record's first byte in the stream
    std::uint64_t end_offset = 0;  // byte offset just past its line break
    std::uint64_t line = 0;        // 1-based line number of its first byte
    std::uint64_t index = 0;       // 0-based record number (the header, if any, is record 0)
    std::string raw;               // the record's text as read (no final line break), for bad-records files
};

struct csv_options {
    char delimiter = ',';
    // A record longer than this is rejected (an unbalanced quote would
    // otherwise swallow the rest of the file into memory).
    std::size_t max_record_bytes = std::size_t(64) << 20;
};

enum class read_result {
    record,     // `out` holds the next record
    error,      // `out` holds the rejected text (raw, offsets); `error` says why
    need_more,  // feed more input (or finish())
    end,        // finish() was called and everything was returned
};

class csv_reader {
public:
    explicit csv_reader(csv_options options = {});

    void feed(std::string_view chunk);
    // End of input: a last record without a line break is complete; an open
    // quoted field is an error.
    void finish();
    read_result next(csv_record& out, status& error);

    std::uint64_t bytes_consumed() const noexcept { return offset_; }

private:
    enum class state { line_start, field_start, unquoted, quoted, quote_in_quoted, after_cr, skip_line };
    struct item {
        csv_record record;
        status error;
    };
    void consume(const char* p, std::size_t n);
    void ordinary_run(const char* p, std::size_t n);
    void byte(char c);
    void end_field();
    void end_record(std::uint64_t end_offset);
    void reject(std::string why);
    void reject_too_long();

    csv_options opt_;
    state st_ = state::line_start;
    bool in_record_ = false;
    bool bom_checked_ = false;
    std::string bom_;  // bytes held back while deciding whether the stream starts with a BOM
    bool finished_ = false;
    std::uint64_t offset_ = 0;  // stream offset of the next byte
    std::uint64_t line_ = 1;
    std::uint64_t index_ = 0;
    csv_record cur_;
    csv_field field_;
    std::string reject_reason_;
    // Records not yet taken by next(): ready_[ready_head_, size). A vector,
    // not a deque: a deque of these allocates a block every few records.
    std::vector<item> ready_;
    std::size_t ready_head_ = 0;
    // stop_[b] & stop_unquoted: byte b ends a run of ordinary bytes outside
    // quotes (delimiter, quote, CR, LF); & stop_quoted: inside quotes.
    static constexpr unsigned char stop_unquoted = 1, stop_quoted = 2;
    unsigned char stop_[256] = {};
    std::size_t last_raw_size_ = 0;  // of the previous record, to reserve room for the next
    std::size_t last_fields_ = 0;
};

// Appends one field with RFC 4180 quoting: quoted when `force_quotes`, when the
// text is empty (so it reads back as "" rather than null), or when it contains
// the delimiter, a quote, CR, LF, or leading/trailing spaces or tabs.
void append_csv_field(std::string& out, std::string_view text, char delimiter = ',', bool force_quotes = false);

// Lines of a JSON-lines stream (LF or CRLF), with the same offsets as CSV
// records; lines holding only whitespace are skipped. `raw` is the line.
class line_reader {
public:
    void feed(std::string_view chunk);
    void finish();
    read_result next(csv_record& out);

private:
    std::string pending_;
    std::size_t head_ = 0;      // pending_[head_] is the next unread byte
    std::size_t scan_ = 0;      // no LF in pending_[head_, scan_)
    std::uint64_t offset_ = 0;  // stream offset of pending_[head_]
    std::uint64_t line_ = 1;
    std::uint64_t index_ = 0;
    bool finished_ = false;
};

}  // namespace cqlpp::bulk
