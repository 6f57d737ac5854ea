// Thrift compact protocol, the subset Parquet metadata uses (structs, i8..i64,
// bool, binary, list), both directions. Private to bulk/.
//
// Compact encoding (thrift doc/specs/thrift-compact-protocol.md): a field
// header is one byte (delta << 4 | type) when the id is 1..15 above the
// previous one, else the type byte and the id as a zigzag varint; booleans
// live in the header's type (1 true, 2 false); integers are zigzag varints;
// binary is a varint length and the bytes; a list header is one byte
// (size << 4 | element type) for size < 15, else 0xF0 | type and a varint size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace cqlpp::bulk::thrift {

enum ctype : std::uint8_t {
    t_stop = 0, t_true = 1, t_false = 2, t_byte = 3, t_i16 = 4, t_i32 = 5, t_i64 = 6,
    t_double = 7, t_binary = 8, t_list = 9, t_set = 10, t_map = 11, t_struct = 12,
};

class writer {
public:
    explicit writer(std::string& out) : out_(out) {}

    void begin_struct() { last_.push_back(last_id_); last_id_ = 0; }
    void end_struct() {
        out_.push_back(0);
        last_id_ = last_.back();
        last_.pop_back();
    }
    void field_i32(int id, std::int64_t v) { header(id, t_i32); varint(zigzag(v)); }
    void field_i64(int id, std::int64_t v) { header(id, t_i64); varint(zigzag(v)); }
    void field_i16(int id, std::int64_t v) { header(id, t_i16); varint(zigzag(v)); }
    void field_i8(int id, std::int8_t v) { header(id, t_byte); out_.push_back(static_cast<char>(v)); }
    void field_bool(int id, bool v) { header(id, v ? t_true : t_false); }
    void field_binary(int id, std::string_view s) { header(id, t_binary); binary(s); }
    // A struct field: begin_struct() follows.
    void field_struct(int id) { header(id, t_struct); }
    void field_list(int id, ctype elem, std::size_t n) { header(id, t_list); list_header(elem, n); }
    // List elements.
    void elem_i32(std::int64_t v) { varint(zigzag(v)); }
    void elem_binary(std::string_view s) { binary(s); }

private:
    static std::uint64_t zigzag(std::int64_t v) {
        return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
    }
    void varint(std::uint64_t v) {
        while (v >= 0x80) {
            out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
            v >>= 7;
        }
        out_.push_back(static_cast<char>(v));
    }
    void header(int id, ctype t) {
        const int delta = id - last_id_;
        if (delta > 0 && delta <= 15) {
            out_.push_back(static_cast<char>((delta << 4) | t));
        } else {
            out_.push_back(static_cast<char>(t));
            varint(zigzag(id));
        }
        last_id_ = id;
    }
    void list_header(ctype elem, std::size_t n) {
        if (n < 15) out_.push_back(static_cast<char>((n << 4) | elem));
        else {
            out_.push_back(static_cast<char>(0xF0 | elem));
            varint(n);
        }
    }
    void binary(std::string_view s) {
        varint(s.size());
        out_.append(s);
    }

    std::string& out_;
    int last_id_ = 0;
    std::vector<int> last_;
};

// Pull reader over untrusted bytes: every read is bounds-checked; after an
// error (ok() false) every read returns zero values, so callers check once.
class reader {
public:
    reader(const char* p, std::size_t n) : p_(p), end_(p + n) {}

    bool ok() const noexcept { return ok_; }
    std::size_t consumed(const char* start) const noexcept { return static_cast<std::size_t>(p_ - start); }
    const char* pos() const noexcept { return p_; }

    // Next field of the current struct: false at its stop byte (or error).
    bool next_field(int& id, ctype& type) {
        if (!need(1)) return false;
        const auto b = static_cast<std::uint8_t>(*p_++);
        if (b == 0) return false;
        type = static_cast<ctype>(b & 0x0F);
        const int delta = b >> 4;
        // Field ids are i16: kept to 16 bits, so adding a delta cannot overflow.
        if (delta) id = static_cast<std::int16_t>(last_id_ + delta);
        else id = static_cast<std::int16_t>(unzigzag(varint()));
        last_id_ = id;
        if (type > t_struct) return fail();
        bool_value_ = type == t_true;
        return ok_;
    }
    void enter_struct() {
        if (++depth_ > 64) fail();
        last_.push_back(last_id_);
        last_id_ = 0;
    }
    void leave_struct() {
        --depth_;
        if (!last_.empty()) {
            last_id_ = last_.back();
            last_.pop_back();
        }
    }
    // Value of the field just announced.
    bool read_bool() const noexcept { return bool_value_; }
    std::int64_t read_int() { return static_cast<std::int64_t>(unzigzag(varint())); }
    std::int8_t read_i8() {
        if (!need(1)) return 0;
        return static_cast<std::int8_t>(*p_++);
    }
    std::string_view read_binary() {
        const auto n = varint();
        if (!ok_ || n > static_cast<std::uint64_t>(end_ - p_)) {
            fail();
            return {};
        }
        std::string_view s(p_, static_cast<std::size_t>(n));
        p_ += n;
        return s;
    }
    // List header: element type and count (count checked against the bytes left).
    std::size_t read_list(ctype& elem) {
        if (!need(1)) return 0;
        const auto b = static_cast<std::uint8_t>(*p_++);
        elem = static_cast<ctype>(b & 0x0F);
        std::uint64_t n = b >> 4;
        if (n == 15) n = varint();
        // Every element takes at least one byte, except bool-less empty structs (also one: stop).
        if (!ok_ || n > static_cast<std::uint64_t>(end_ - p_)) {
            fail();
            return 0;
        }
        return static_cast<std::size_t>(n);
    }
    // Skips a value of type t (a field's or a list element's).
    void skip(ctype t, bool in_list = false) {
        if (!ok_) return;
        if (++depth_ > 64) {
            fail();
            return;
        }
        switch (t) {
            case t_true:
            case t_false:
                if (in_list) read_i8();
                break;
            case t_byte: read_i8(); break;
            case t_i16:
            case t_i32:
            case t_i64: varint(); break;
            case t_double:
                if (need(8)) p_ += 8;
                break;
            case t_binary: read_binary(); break;
            case t_list:
            case t_set: {
                ctype e{};
                const auto n = read_list(e);
                for (std::size_t i = 0; i < n && ok_; ++i) skip(e, true);
                break;
            }
            case t_map: {
                const auto n = varint();
                if (n == 0) break;
                if (!need(1) || n > static_cast<std::uint64_t>(end_ - p_)) {
                    fail();
                    break;
                }
                const auto kv = static_cast<std::uint8_t>(*p_++);
                for (std::uint64_t i = 0; i < n && ok_; ++i) {
                    skip(static_cast<ctype>(kv >> 4), true);
                    skip(static_cast<ctype>(kv & 0x0F), true);
                }
                break;
            }
            case t_struct: {
                enter_struct();
                int id = 0;
                ctype ft{};
                while (next_field(id, ft)) skip(ft);
                leave_struct();
                break;
            }
            default: fail();
        }
        --depth_;
    }
    bool fail() {
        ok_ = false;
        p_ = end_;
        return false;
    }

private:
    static std::uint64_t unzigzag(std::uint64_t v) { return (v >> 1) ^ (~(v & 1) + 1); }
    bool need(std::size_t n) {
        if (!ok_ || static_cast<std::size_t>(end_ - p_) < n) return fail();
        return true;
    }
    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (!need(1)) return 0;
            const auto b = static_cast<std::uint8_t>(*p_++);
            v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
            if (!(b & 0x80)) return v;
        }
        fail();
        return 0;
    }

    const char* p_;
    const char* end_;
    bool ok_ = true;
    bool bool_value_ = false;
    int last_id_ = 0;
    int depth_ = 0;
    std::vector<int> last_;
};

}  // namespace cqlpp::bulk::thrift
