#include "cqlpp/bulk/csv.hpp"

#include <algorithm>
#include <utility>

namespace cqlpp::bulk {

namespace {
constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";
}

csv_reader::csv_reader(csv_options options) : opt_(options) {
    for (unsigned char c : {static_cast<unsigned char>(opt_.delimiter), static_cast<unsigned char>('"'),
                            static_cast<unsigned char>('\r'), static_cast<unsigned char>('\n')})
        stop_[c] |= stop_unquoted;
    for (unsigned char c : {'"', '\r', '\n'}) stop_[c] |= stop_quoted;
}

void csv_reader::feed(std::string_view chunk) {
    if (finished_) return;
    if (!bom_checked_) {
        // Hold back up to three bytes until we know whether they are a BOM.
        while (!chunk.empty() && bom_.size() < utf8_bom.size()) {
            bom_ += chunk.front();
            chunk.remove_prefix(1);
            if (!utf8_bom.starts_with(bom_)) break;
        }
        if (bom_.size() < utf8_bom.size() && utf8_bom.starts_with(bom_)) return;  // undecided yet
        bom_checked_ = true;
        if (bom_ == utf8_bom) {
            offset_ += bom_.size();
        } else {
            for (char c : bom_) {
                byte(c);
                ++offset_;
            }
        }
        bom_.clear();
    }
    consume(chunk.data(), chunk.size());
}

// Runs of ordinary bytes (no delimiter, quote or line break) inside a field
// or a line being skipped are appended at once; every other byte goes
// through the state machine in byte().
void csv_reader::consume(const char* p, std::size_t n) {
    std::size_t i = 0;
    while (i < n) {
        unsigned char stop;
        switch (st_) {
            case state::field_start:
            case state::unquoted:
            case state::skip_line: stop = stop_unquoted; break;
            case state::quoted: stop = stop_quoted; break;
            default: stop = 0; break;
        }
        if (stop) {
            std::size_t j = i;
            while (j < n && !(stop_[static_cast<unsigned char>(p[j])] & stop)) ++j;
            if (j > i) {
                ordinary_run(p + i, j - i);
                offset_ += j - i;
                i = j;
                if (i == n) return;
            }
        }
        byte(p[i]);
        ++offset_;
        ++i;
    }
}

// What byte() does for each of these bytes in turn: all go into the raw
// text; into the field too until the record grows past max_record_bytes,
// where the record is rejected (and skipped to the end of its line).
void csv_reader::ordinary_run(const char* p, std::size_t n) {
    if (st_ == state::skip_line) {
        cur_.raw.append(p, n);
        return;
    }
    const std::size_t room = cur_.raw.size() >= opt_.max_record_bytes ? 0 : opt_.max_record_bytes - cur_.raw.size();
    cur_.raw.append(p, n);
    if (n <= room) {
        field_.text.append(p, n);
        if (st_ == state::field_start) st_ = state::unquoted;
        return;
    }
    reject_too_long();
}

void csv_reader::reject_too_long() {
    reject("record longer than " + std::to_string(opt_.max_record_bytes) + " bytes");
}

void csv_reader::byte(char c) {
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
        // cur_ is a new record here (end_record left it so): room for one like
        // the last, capped so that one huge record does not make all big.
        cur_.fields.clear();
        cur_.raw.clear();
        cur_.raw.reserve(std::min<std::size_t>(last_raw_size_ + last_raw_size_ / 8 + 8, 4096));
        cur_.fields.reserve(std::min<std::size_t>(last_fields_, 256));
        cur_.offset = offset_;
        cur_.line = line_;
        field_ = csv_field{};
        reject_reason_.clear();
        st_ = state::field_start;
    }
    if (c != '\n' && c != '\r') {
        cur_.raw += c;
        if (cur_.raw.size() > opt_.max_record_bytes && st_ != state::skip_line)
            reject_too_long();
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

void csv_reader::end_field() {
    cur_.fields.push_back(std::move(field_));
    field_.text.clear();  // (moved from: empty, no buffer)
    field_.quoted = false;
}

void csv_reader::reject(std::string why) {
    if (reject_reason_.empty()) reject_reason_ = std::move(why);
    st_ = state::skip_line;
}

void csv_reader::end_record(std::uint64_t end_offset) {
    in_record_ = false;
    cur_.end_offset = end_offset;
    cur_.index = index_++;
    last_raw_size_ = cur_.raw.size();
    last_fields_ = cur_.fields.size();
    if (ready_head_ > 0 && ready_head_ >= ready_.size() / 2) {
        // Taken records are the larger part: drop them (amortised O(1)).
        ready_.erase(ready_.begin(), ready_.begin() + static_cast<std::ptrdiff_t>(ready_head_));
        ready_head_ = 0;
    }
    item& it = ready_.emplace_back();
    if (!reject_reason_.empty()) {
        it.error = status(errc::bad_csv, "line " + std::to_string(cur_.line) + ": " + reject_reason_);
        cur_.fields.clear();
        reject_reason_.clear();
    }
    it.record = std::move(cur_);
    cur_ = csv_record{};
}

void csv_reader::finish() {
    if (finished_) return;
    if (!bom_checked_) {
        bom_checked_ = true;
        std::string held = std::move(bom_);
        bom_.clear();
        if (held != utf8_bom)
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

read_result csv_reader::next(csv_record& out, status& error) {
    if (ready_head_ == ready_.size()) return finished_ ? read_result::end : read_result::need_more;
    item& it = ready_[ready_head_++];
    out = std::move(it.record);
    const bool bad = !it.error.ok();
    if (bad) error = std::move(it.error);
    else error = {};
    if (ready_head_ == ready_.size()) {
        ready_.clear();  // all taken: the room is kept for the next chunk's records
        ready_head_ = 0;
    }
    return bad ? read_result::error : read_result::record;
}

void append_csv_field(std::string& out, std::string_view text, char delimiter, bool force_quotes) {
    bool quote = force_quotes || text.empty() || text.front() == ' ' || text.front() == '\t' || text.back() == ' ' ||
                 text.back() == '\t';
    if (!quote)
        for (char c : text)
            if (c == delimiter || c == '"' || c == '\n' || c == '\r') {
                quote = true;
                break;
            }
    if (!quote) {
        out += text;
        return;
    }
    out += '"';
    for (char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

// ---- line_reader ------------------------------------------------------------

void line_reader::feed(std::string_view chunk) {
    if (finished_) return;
    // Drop consumed bytes once they are the larger part, so appends stay amortised O(1).
    if (head_ > 0 && head_ >= pending_.size() / 2) {
        pending_.erase(0, head_);
        scan_ -= head_;
        head_ = 0;
    }
    pending_.append(chunk);
}

void line_reader::finish() { finished_ = true; }

read_result line_reader::next(csv_record& out) {
    for (;;) {
        if (head_ >= pending_.size()) return finished_ ? read_result::end : read_result::need_more;
        std::size_t lf = pending_.find('\n', scan_);
        std::size_t len;
        std::size_t consumed;
        if (lf == std::string::npos) {
            scan_ = pending_.size();
            if (!finished_) return read_result::need_more;
            len = pending_.size() - head_;  // last line without a line break
            consumed = len;
        } else {
            len = lf - head_;
            consumed = len + 1;
        }
        std::string_view text(pending_.data() + head_, len);
        if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
        const std::uint64_t start = offset_;
        const std::uint64_t line = line_;
        head_ += consumed;
        scan_ = head_;
        offset_ += consumed;
        ++line_;
        if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // blank line
        out.fields.clear();  // the caller's buffers are kept (one record object for a whole file)
        out.offset = start;
        out.end_offset = offset_;
        out.line = line;
        out.index = index_++;
        out.raw.assign(text);
        return read_result::record;
    }
}

}  // namespace cqlpp::bulk
