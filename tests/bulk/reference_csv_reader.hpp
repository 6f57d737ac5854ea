// The CSV reader as it was before it learnt to scan runs of bytes (one byte at
// a time through a state machine), kept as the reference for the differential
// test in test_csv_differential.cpp. Test-only: not built into the library.
#pragma once

#include "cqlpp/bulk/csv.hpp"

#include <deque>
#include <string>
#include <string_view>
#include <utility>

namespace cqlpp::bulk::testing {

inline constexpr std::string_view reference_utf8_bom = "\xEF\xBB\xBF";

class reference_csv_reader {
public:
    explicit reference_csv_reader(csv_options options = {}) : opt_(options) {}

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
    void byte(char c);
    void end_field();
    void end_record(std::uint64_t end_offset);
    void reject(std::string why);

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
    std::deque<item> ready_;
};

inline void reference_csv_reader::feed(std::string_view chunk) {
    if (finished_) return;
    if (!bom_checked_) {
        // Hold back up to three bytes until we know whether they are a BOM.
        while (!chunk.empty() && bom_.size() < reference_utf8_bom.size()) {
            bom_ += chunk.front();
            chunk.remove_prefix(1);
            if (!reference_utf8_bom.starts_with(bom_)) break;
        }
        if (bom_.size() < reference_utf8_bom.size() && reference_utf8_bom.starts_with(bom_)) return;  // undecided yet
        bom_checked_ = true;
        if (bom_ == reference_utf8_bom) {
            offset_ += bom_.size();
        } else {
            for (char c : bom_) {
                byte(c);
                ++offset_;
            }
        }
        bom_.clear();
    }
    for (char c : chunk) {
        byte(c);
        ++offset_;
    }
}

inline void reference_csv_reader::byte(char c) {
    const char d = opt_.delimiter;
    if (st_ == state::after_cr) {
        // The CR ended a line: a following LF belongs to that line break.
        if (c == '\n') {
            if (in_record_) end_record(offset_ + 1);
            st_ = state::line_start;
            return;
        }
        if (in_record_) end_record(offset_);
        st_ = state::line_start;
    }
    if (st_ == state::line_start) {
        if (c == '\n') {
            ++line_;
            return;
        }
        if (c == '\r') {
            ++line_;
            st_ = state::after_cr;
            return;
        }
        in_record_ = true;
        cur_ = csv_record{};
        cur_.offset = offset_;
        cur_.line = line_;
        field_ = csv_field{};
        reject_reason_.clear();
        st_ = state::field_start;
    }
    if (c != '\n' && c != '\r') {
        cur_.raw += c;
        if (cur_.raw.size() > opt_.max_record_bytes && st_ != state::skip_line)
            reject("record longer than " + std::to_string(opt_.max_record_bytes) + " bytes");
    }
    auto line_break = [&] {
        if (c == '\n') {
            ++line_;
            end_record(offset_ + 1);
            st_ = state::line_start;
        } else {
            ++line_;
            st_ = state::after_cr;
        }
    };
    switch (st_) {
        case state::field_start:
            if (c == '"') {
                field_.quoted = true;
                st_ = state::quoted;
            } else if (c == d) {
                end_field();
            } else if (c == '\n' || c == '\r') {
                end_field();
                line_break();
            } else {
                field_.text += c;
                st_ = state::unquoted;
            }
            return;
        case state::unquoted:
            if (c == d) {
                end_field();
                st_ = state::field_start;
            } else if (c == '\n' || c == '\r') {
                end_field();
                line_break();
            } else if (c == '"') {
                reject("quote inside an unquoted field (field " + std::to_string(cur_.fields.size() + 1) +
                       "); quote the whole field and double the quote");
            } else {
                field_.text += c;
            }
            return;
        case state::quoted:
            if (c == '"') {
                st_ = state::quote_in_quoted;
            } else {
                field_.text += c;
                if (c == '\n') {
                    ++line_;
                    cur_.raw += c;  // part of the record's text
                } else if (c == '\r') {
                    cur_.raw += c;
                }
            }
            return;
        case state::quote_in_quoted:
            if (c == '"') {
                field_.text += '"';
                st_ = state::quoted;
            } else if (c == d) {
                end_field();
                st_ = state::field_start;
            } else if (c == '\n' || c == '\r') {
                end_field();
                line_break();
            } else {
                reject("text after the closing quote of field " + std::to_string(cur_.fields.size() + 1));
            }
            return;
        case state::skip_line:
            if (c == '\n' || c == '\r') line_break();
            return;
        case state::line_start:
        case state::after_cr: return;  // handled above
    }
}

inline void reference_csv_reader::end_field() {
    cur_.fields.push_back(std::move(field_));
    field_ = csv_field{};
}

inline void reference_csv_reader::reject(std::string why) {
    if (reject_reason_.empty()) reject_reason_ = std::move(why);
    st_ = state::skip_line;
}

inline void reference_csv_reader::end_record(std::uint64_t end_offset) {
    in_record_ = false;
    cur_.end_offset = end_offset;
    cur_.index = index_++;
    item it;
    if (!reject_reason_.empty()) {
        it.error = status(errc::bad_csv, "line " + std::to_string(cur_.line) + ": " + reject_reason_);
        cur_.fields.clear();
        reject_reason_.clear();
    }
    it.record = std::move(cur_);
    cur_ = csv_record{};
    ready_.push_back(std::move(it));
}

inline void reference_csv_reader::finish() {
    if (finished_) return;
    if (!bom_checked_) {
        bom_checked_ = true;
        std::string held = std::move(bom_);
        bom_.clear();
        if (held != reference_utf8_bom)
            for (char c : held) {
                byte(c);
                ++offset_;
            }
        else
            offset_ += held.size();
    }
    finished_ = true;
    switch (st_) {
        case state::line_start: break;
        case state::after_cr:
            if (in_record_) end_record(offset_);
            break;
        case state::quoted:
            reject("unterminated quoted field at end of input");
            end_record(offset_);
            break;
        case state::field_start:
        case state::unquoted:
        case state::quote_in_quoted:
            end_field();
            end_record(offset_);
            break;
        case state::skip_line: end_record(offset_); break;
    }
    st_ = state::line_start;
}

inline read_result reference_csv_reader::next(csv_record& out, status& error) {
    if (ready_.empty()) return finished_ ? read_result::end : read_result::need_more;
    item it = std::move(ready_.front());
    ready_.pop_front();
    out = std::move(it.record);
    if (!it.error.ok()) {
        error = std::move(it.error);
        return read_result::error;
    }
    error = {};
    return read_result::record;
}

}  // namespace cqlpp::bulk::testing
