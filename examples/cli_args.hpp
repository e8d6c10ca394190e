#pragma once
// Command-line helpers of the retrograd tool: numbers read from option text
// with messages that say what was expected ("--lr must be > 0 (got 0)"), and
// the nearest known option for a mistyped one.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace cli {

// A mistake in the command line: main prints it after the command's name and exits with 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <class... Args> [[noreturn]] void usage_error(fmt::format_string<Args...> format, Args&&... args) {
    throw UsageError(fmt::format(format, std::forward<Args>(args)...));
}

// An integer in [min, max]; text that is not one says so.
inline std::uint64_t integer(const std::string& flag, const std::string& text, std::uint64_t min, std::uint64_t max) {
    const bool negative = !text.empty() && text[0] == '-';
    const std::string digits = negative ? text.substr(1) : text;
    std::uint64_t value = 0;
    const char* first = digits.data();
    const char* last = first + digits.size();
    const auto [end, error] = std::from_chars(first, last, value);
    if (digits.empty() || end != last || (error != std::errc() && error != std::errc::result_out_of_range))
        usage_error("{} must be an integer (got '{}')", flag, text);
    if (negative && value != 0) usage_error("{} must be >= {} (got {})", flag, min, text);
    if (error == std::errc::result_out_of_range || value > max)
        usage_error("{} must be <= {} (got {})", flag, max, text);
    if (value < min) usage_error("{} must be >= {} (got {})", flag, min, text);
    return value;
}

// A finite number; `above` is exclusive, [at_least, at_most] inclusive.
struct RealBounds {
    double above = -HUGE_VAL, at_least = -HUGE_VAL, at_most = HUGE_VAL;
};

inline double real(const std::string& flag, const std::string& text, RealBounds bounds) {
    // Decimal only (no hexadecimal), as Python's float() reads it; nan and inf are refused below.
    double value = 0;
    const char* first = text.data();
    const char* last = first + text.size();
    const auto [end, error] = std::from_chars(first, last, value, std::chars_format::general);
    if (text.empty() || end != last || error == std::errc::invalid_argument)
        usage_error("{} must be a number (got '{}')", flag, text);
    if (error == std::errc::result_out_of_range)
        usage_error("{} is too large or too small for a double (got {})", flag, text);
    if (!std::isfinite(value)) usage_error("{} must be a finite number (got {})", flag, text);
    if (!(value > bounds.above)) usage_error("{} must be > {} (got {})", flag, bounds.above, text);
    if (bounds.at_most < HUGE_VAL && !(value >= bounds.at_least && value <= bounds.at_most))
        usage_error("{} must be between {} and {} (got {})", flag, bounds.at_least, bounds.at_most, text);
    if (!(value >= bounds.at_least)) usage_error("{} must be >= {} (got {})", flag, bounds.at_least, text);
    return value;
}

// One of `choices`.
inline std::string choice(const std::string& flag, const std::string& text, const std::vector<std::string>& choices) {
    if (std::find(choices.begin(), choices.end(), text) != choices.end()) return text;
    std::string list;
    for (std::size_t i = 0; i < choices.size(); ++i)
        list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
    usage_error("{} must be {} (got '{}')", flag, list, text);
}

// Edit distance counting insertions, deletions, substitutions and swaps of
// two neighbouring letters ("trian" is 1 from "train").
inline std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
        for (std::size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

// The known name closest to `name`, or "" when none is plausibly meant
// (more than a third of the letters, or 3, differ).
inline std::string nearest(const std::string& name, const std::vector<std::string>& known) {
    std::string best;
    std::size_t best_distance = std::min<std::size_t>(3, std::max<std::size_t>(1, name.size() / 3)) + 1;
    for (const auto& k : known) {
        const std::size_t d = edit_distance(name, k);
        if (d < best_distance) best = k, best_distance = d;
    }
    return best;
}

}  // namespace cli
