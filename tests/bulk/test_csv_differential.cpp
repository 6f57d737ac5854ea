// Differential test of the CSV reader: thousands of random inputs, built from
// the bytes that matter to a CSV parser (delimiters, quotes, CR, LF, a BOM,
// long runs, multibyte UTF-8), fed in random chunks (down to one byte) with
// random options, must give exactly what the byte-at-a-time reference reader
// (reference_csv_reader.hpp) gives: every record, field, quoted flag, raw
// text, offset, line and index, every error and its message, and what is
// ready after each feed().
#include "reference_csv_reader.hpp"

#include "cqlpp/bulk/csv.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace cqlpp;

namespace {

std::string escaped(std::string_view s) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f && c != '\\') out += static_cast<char>(c);
        else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// One line per observable event.
template <class Reader>
void drain(Reader& r, std::vector<std::string>& trace, std::size_t limit = std::size_t(-1)) {
    for (std::size_t taken = 0; taken < limit; ++taken) {
        bulk::csv_record rec;
        bulk::status st;
        auto res = r.next(rec, st);
        if (res == bulk::read_result::need_more) {
            trace.push_back("need_more consumed=" + std::to_string(r.bytes_consumed()));
            return;
        }
        if (res == bulk::read_result::end) {
            trace.push_back("end consumed=" + std::to_string(r.bytes_consumed()));
            return;
        }
        std::string line = res == bulk::read_result::record ? "record" : "error";
        if (res == bulk::read_result::error)
            line += " code=" + std::to_string(st.code.value()) + " [" + st.code.category().name() + "] msg=" + st.message;
        else if (!st.ok())
            line += " status-not-cleared";
        line += " offset=" + std::to_string(rec.offset) + " end=" + std::to_string(rec.end_offset) +
                " line=" + std::to_string(rec.line) + " index=" + std::to_string(rec.index) + " raw=" + escaped(rec.raw) +
                " fields=" + std::to_string(rec.fields.size());
        for (const auto& f : rec.fields) line += (f.quoted ? " q:" : " u:") + escaped(f.text);
        trace.push_back(std::move(line));
    }
}

// drain_mode: 0 reads nothing until finish(), 1 all that is ready after each
// feed(), 2 a few records (random, from `seed`) after each feed().
template <class Reader>
std::vector<std::string> run(const std::string& text, const std::vector<std::size_t>& chunks, bulk::csv_options opt,
                             int drain_mode, std::uint64_t seed) {
    Reader r(opt);
    std::mt19937_64 rng(seed);
    std::vector<std::string> trace;
    std::size_t pos = 0;
    for (std::size_t n : chunks) {
        r.feed(std::string_view(text).substr(pos, n));
        pos += n;
        if (drain_mode == 1) drain(r, trace);
        else if (drain_mode == 2) {
            trace.push_back("take");
            drain(r, trace, rng() % 4);
        }
    }
    r.finish();
    drain(r, trace);
    r.finish();  // a second finish() and a feed() after it change nothing
    r.feed("x,y\n");
    drain(r, trace);
    return trace;
}

std::string random_input(std::mt19937_64& rng) {
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    std::string s;
    switch (pick(6)) {
        case 0: s = "\xEF\xBB\xBF"; break;  // BOM
        case 1: s = std::string("\xEF\xBB\xBF").substr(0, 1 + pick(2)); break;  // a BOM's first bytes only
        default: break;
    }
    static const std::vector<std::string> atoms = {
        ",", ",", ",", "\"", "\"", "\"", "\"\"", "\r", "\r", "\n", "\n", "\n", "\r\n", "\r\n", ";", ";", "\t", "|",
        "a", "b", "x", " ", "0", "7", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xEF", "\xBB\xBF", "\xEF\xBB\xBF",
        ",,", "\n\n", "\r\r", "\"\"\"",
    };
    const std::size_t pieces = pick(8) == 0 ? pick(400) : pick(60);
    for (std::size_t i = 0; i < pieces; ++i) {
        switch (pick(10)) {
            case 0: {  // a long unquoted run
                const std::size_t n = 1 + pick(pick(4) == 0 ? 300 : 40);
                for (std::size_t k = 0; k < n; ++k) s += static_cast<char>('a' + pick(26));
                break;
            }
            case 1: {  // a long quoted run, with the odd delimiter, line break or doubled quote inside
                s += '"';
                const std::size_t n = pick(pick(4) == 0 ? 300 : 40);
                for (std::size_t k = 0; k < n; ++k) {
                    switch (pick(12)) {
                        case 0: s += ','; break;
                        case 1: s += "\"\""; break;
                        case 2: s += '\n'; break;
                        case 3: s += "\r\n"; break;
                        case 4: s += ';'; break;
                        case 5: s += "\xC3\xA9"; break;
                        default: s += static_cast<char>('A' + pick(26));
                    }
                }
                if (pick(8) != 0) s += '"';
                break;
            }
            case 2: {  // a plain record
                const std::size_t nf = 1 + pick(6);
                for (std::size_t f = 0; f < nf; ++f) {
                    if (f) s += ',';
                    if (pick(3) == 0) s += "\"q" + std::to_string(pick(1000)) + "\"";
                    else if (pick(4) != 0) s += std::to_string(pick(100000));
                }
                s += pick(3) == 0 ? "\r\n" : "\n";
                break;
            }
            default: s += atoms[pick(atoms.size())];
        }
    }
    return s;
}

std::vector<std::size_t> random_chunks(std::mt19937_64& rng, std::size_t size) {
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    std::vector<std::size_t> chunks;
    const std::size_t mode = pick(6);
    std::size_t pos = 0;
    while (pos < size) {
        std::size_t n;
        switch (mode) {
            case 0: n = 1; break;
            case 1: n = 1 + pick(4); break;
            case 2: n = 1 + pick(64); break;
            case 3: n = size; break;
            default: n = pick(5) == 0 ? 0 : (pick(2) ? 1 + pick(3) : 1 + pick(200)); break;  // mixed, empty chunks too
        }
        n = std::min(n, size - pos);
        chunks.push_back(n);
        pos += n;
    }
    return chunks;
}

bulk::csv_options random_options(std::mt19937_64& rng) {
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    bulk::csv_options opt;
    static const char delimiters[] = {',', ',', ',', ';', '\t', '|', 'a', '"', '\n', '\r', '\xC3'};
    opt.delimiter = delimiters[pick(sizeof delimiters)];
    static const std::size_t limits[] = {0, 1, 2, 3, 4, 5, 8, 13, 16, 40, 100, 1000};
    if (pick(2) == 0) opt.max_record_bytes = limits[pick(sizeof limits / sizeof limits[0])];
    return opt;
}

}  // namespace

TEST_CASE("CSV reader gives what the byte-at-a-time reference gives, for random input, chunks and options",
          "[bulk][csv]") {
    std::mt19937_64 rng(20261206);
    for (int iter = 0; iter < 6000; ++iter) {
        const std::string text = random_input(rng);
        const auto chunks = random_chunks(rng, text.size());
        const auto opt = random_options(rng);
        const int drain_mode = static_cast<int>(rng() % 3);
        const std::uint64_t seed = rng();
        const auto want = run<bulk::testing::reference_csv_reader>(text, chunks, opt, drain_mode, seed);
        const auto got = run<bulk::csv_reader>(text, chunks, opt, drain_mode, seed);
        if (got == want) continue;
        std::size_t i = 0;
        while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
        std::string chunk_list;
        for (auto n : chunks) chunk_list += std::to_string(n) + " ";
        INFO("iteration " << iter << ", delimiter " << escaped(std::string(1, opt.delimiter)) << ", max_record_bytes "
                          << opt.max_record_bytes << ", drain mode " << drain_mode);
        INFO("input: " << escaped(text));
        INFO("chunks: " << chunk_list);
        INFO("first difference at event " << i);
        CHECK((i < got.size() ? got[i] : "<none>") == (i < want.size() ? want[i] : "<none>"));
        FAIL("the reader and the reference disagree");
    }
}
