#pragma once
/// @file
/// Plain text for character language models: a corpus read from a file or a
/// directory of fortune files (Debian's `fortunes` package), its vocabulary of
/// Unicode characters, and windows of character ids to train on.
#include <retrograd/data/loader.hpp>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace rg::data {

/// Where Debian's `fortunes` package puts its fortune files.
inline constexpr const char* default_fortunes_dir = "/usr/share/games/fortunes";

/// UTF-8 text as Unicode code points.
/// @param bytes the text
/// @param source what to call it in errors (a file name)
/// @throws rg::Error when the bytes are not UTF-8 (naming the byte offset), or
///         hold a NUL byte (binary data, not text)
std::u32string utf8_decode(const std::string& bytes, const std::string& source);

/// Code points as UTF-8.
/// @param text code points, each a Unicode scalar value
/// @throws rg::Error for a surrogate or a value above U+10FFFF
std::string utf8_encode(const std::u32string& text);

/// A text corpus and where it came from.
struct TextCorpus {
    std::u32string text;  ///< the characters, in reading order
    std::vector<std::string> files;  ///< the files read, in order
    std::uint64_t fingerprint = 0;  ///< FNV-1a of the bytes read, to tell corpora apart
};

/// Reads a corpus. A file is read whole. A directory is read as a directory of
/// fortune files: its regular files whose names have no '.' (so not the .dat
/// and .u8 indexes strfile writes), in byte order of their names, concatenated
/// as they are (the "%" lines that separate fortunes included).
/// @param path a file or a directory
/// @throws rg::Error when the path does not exist, a directory holds no such
///         file, a file cannot be read, the text is empty, or it is not UTF-8
///         text (utf8_decode())
TextCorpus read_text_corpus(const std::string& path);

/// The characters of a text, each with an id: its rank in code-point order.
class Vocabulary {
public:
    /// The distinct characters of `text`.
    /// @param text the corpus
    /// @throws rg::Error when `text` is empty
    explicit Vocabulary(const std::u32string& text);
    /// The number of characters.
    std::size_t size() const { return characters_.size(); }
    /// The characters, sorted: id i is characters()[i].
    const std::u32string& characters() const { return characters_; }
    /// Each character's id.
    /// @param text characters of the vocabulary
    /// @throws rg::Error naming the first character that is not in it
    std::vector<std::int64_t> encode(const std::u32string& text) const;
    /// The characters of ids.
    /// @param ids ids below size()
    /// @throws rg::Error for an id out of range
    std::u32string decode(const std::vector<std::int64_t>& ids) const;

private:
    std::u32string characters_;
    std::unordered_map<char32_t, std::int64_t> ids_;
};

/// Non-overlapping windows of `length` ids for next-character prediction:
/// sample i holds ids[i·length, (i+1)·length) as input and the same window
/// moved one character on as target, both (N, length) int64. The ids left over
/// at the end (fewer than length + 1) are not used.
/// @param ids character ids
/// @param length the window's length (>= 1)
/// @param what what to call the ids in errors ("the training text")
/// @throws rg::Error when length is 0 or the ids hold fewer than length + 1
TensorDataset char_windows(const std::vector<std::int64_t>& ids, std::size_t length, const std::string& what);

}  // namespace rg::data
