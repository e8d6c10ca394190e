// Text corpora, their vocabulary and training windows for character models.
#include <retrograd/data/text.hpp>
#include <retrograd/error.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace rg::data {

namespace fs = std::filesystem;

namespace {

// U+XXXX, or the character itself when printable ASCII.
std::string character_name(char32_t c) {
    if (c >= 0x21 && c < 0x7f) return fmt::format("'{}' (U+{:04X})", static_cast<char>(c), static_cast<unsigned>(c));
    return fmt::format("U+{:04X}", static_cast<unsigned>(c));
}

std::string read_bytes(const fs::path& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) fail("read_text_corpus: cannot read '{}'", path.string());
    std::string bytes((std::istreambuf_iterator<char>(file)), {});
    if (file.bad()) fail("read_text_corpus: cannot read '{}'", path.string());
    return bytes;
}

}  // namespace

std::u32string utf8_decode(const std::string& bytes, const std::string& source) {
    std::u32string text;
    text.reserve(bytes.size());
    const auto at = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
    for (std::size_t i = 0; i < bytes.size();) {
        const unsigned char lead = at(i);
        if (lead == 0) fail("{} holds a NUL byte at offset {}: it is binary data, not text", source, i);
        std::size_t extra = 0;
        char32_t c = lead;
        char32_t least = 0;  // overlong encodings are not UTF-8
        if (lead < 0x80) {
        } else if ((lead & 0xe0) == 0xc0) {
            extra = 1, c = lead & 0x1f, least = 0x80;
        } else if ((lead & 0xf0) == 0xe0) {
            extra = 2, c = lead & 0x0f, least = 0x800;
        } else if ((lead & 0xf8) == 0xf0) {
            extra = 3, c = lead & 0x07, least = 0x10000;
        } else {
            fail("{} is not UTF-8 text: byte 0x{:02x} at offset {} cannot start a character", source, lead, i);
        }
        for (std::size_t k = 1; k <= extra; ++k) {
            if (i + k >= bytes.size()) fail("{} is not UTF-8 text: it ends inside a character (offset {})", source, i);
            if ((at(i + k) & 0xc0) != 0x80)
                fail("{} is not UTF-8 text: byte 0x{:02x} at offset {} does not continue the character at offset {}",
                     source, at(i + k), i + k, i);
            c = (c << 6) | (at(i + k) & 0x3f);
        }
        if (c < least || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            fail("{} is not UTF-8 text: the bytes at offset {} encode no character (overlong, surrogate or beyond "
                 "U+10FFFF)",
                 source, i);
        text.push_back(c);
        i += extra + 1;
    }
    return text;
}

std::string utf8_encode(const std::u32string& text) {
    std::string bytes;
    bytes.reserve(text.size());
    for (const char32_t c : text) {
        if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            fail("utf8_encode: U+{:X} is not a Unicode scalar value", static_cast<unsigned>(c));
        if (c < 0x80) {
            bytes.push_back(static_cast<char>(c));
        } else if (c < 0x800) {
            bytes.push_back(static_cast<char>(0xc0 | (c >> 6)));
            bytes.push_back(static_cast<char>(0x80 | (c & 0x3f)));
        } else if (c < 0x10000) {
            bytes.push_back(static_cast<char>(0xe0 | (c >> 12)));
            bytes.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
            bytes.push_back(static_cast<char>(0x80 | (c & 0x3f)));
        } else {
            bytes.push_back(static_cast<char>(0xf0 | (c >> 18)));
            bytes.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3f)));
            bytes.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
            bytes.push_back(static_cast<char>(0x80 | (c & 0x3f)));
        }
    }
    return bytes;
}

TextCorpus read_text_corpus(const std::string& path) {
    std::error_code error;
    const fs::file_status status = fs::status(path, error);
    if (error || !fs::exists(status))
        fail("read_text_corpus: '{}' does not exist{}", path,
             path == default_fortunes_dir ? " (Debian: sudo apt-get install fortunes)" : "");
    TextCorpus corpus;
    if (fs::is_directory(status)) {
        for (const auto& entry : fs::directory_iterator(path)) {
            const std::string name = entry.path().filename().string();
            if (entry.is_regular_file() && name.find('.') == std::string::npos)
                corpus.files.push_back(entry.path().string());
        }
        std::sort(corpus.files.begin(), corpus.files.end());
        if (corpus.files.empty())
            fail("read_text_corpus: the directory '{}' holds no text file (files without a '.' in their names are "
                 "read)",
                 path);
    } else {
        corpus.files.push_back(path);
    }
    std::uint64_t hash = 14695981039346656037ull;  // FNV-1a
    for (const std::string& file : corpus.files) {
        const std::string bytes = read_bytes(file);
        for (const char b : bytes) hash = (hash ^ static_cast<unsigned char>(b)) * 1099511628211ull;
        const std::u32string text = utf8_decode(bytes, fmt::format("'{}'", file));
        corpus.text += text;
    }
    corpus.fingerprint = hash;
    if (corpus.text.empty()) fail("read_text_corpus: '{}' is empty: a corpus needs text to learn from", path);
    return corpus;
}

Vocabulary::Vocabulary(const std::u32string& text) : characters_(text) {
    if (text.empty()) fail("Vocabulary: the text is empty, so there are no characters");
    std::sort(characters_.begin(), characters_.end());
    characters_.erase(std::unique(characters_.begin(), characters_.end()), characters_.end());
    for (std::size_t i = 0; i < characters_.size(); ++i) ids_.emplace(characters_[i], static_cast<std::int64_t>(i));
}

std::vector<std::int64_t> Vocabulary::encode(const std::u32string& text) const {
    std::vector<std::int64_t> ids;
    ids.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto it = ids_.find(text[i]);
        if (it == ids_.end())
            fail("Vocabulary::encode: character {} at position {} is not in the vocabulary of {} characters",
                 character_name(text[i]), i, characters_.size());
        ids.push_back(it->second);
    }
    return ids;
}

std::u32string Vocabulary::decode(const std::vector<std::int64_t>& ids) const {
    std::u32string text;
    text.reserve(ids.size());
    for (const std::int64_t id : ids) {
        if (id < 0 || static_cast<std::size_t>(id) >= characters_.size())
            fail("Vocabulary::decode: id {} is outside [0, {})", id, characters_.size());
        text.push_back(characters_[static_cast<std::size_t>(id)]);
    }
    return text;
}

TensorDataset char_windows(const std::vector<std::int64_t>& ids, std::size_t length, const std::string& what) {
    if (length == 0) fail("char_windows: the window length must be at least 1");
    if (ids.size() < length + 1)
        fail("char_windows: a window of {} characters and its next one need {} characters, but {} has {}", length,
             length + 1, what, ids.size());
    const std::size_t n = (ids.size() - 1) / length;
    std::vector<std::int64_t> inputs(n * length), targets(n * length);
    for (std::size_t i = 0; i < n * length; ++i) {
        inputs[i] = ids[i];
        targets[i] = ids[i + 1];
    }
    const auto rows = static_cast<std::int64_t>(n), cols = static_cast<std::int64_t>(length);
    return TensorDataset(from_indices(inputs, {rows, cols}), from_indices(targets, {rows, cols}));
}

}  // namespace rg::data
