#pragma once
/// @file
/// rg::Error: every bad input to retrograd ends up here, with a message that
/// names the operation, the shapes or values involved and what was expected.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace rg {

/// The one exception type retrograd throws for bad input, e.g.
/// `matmul: cannot multiply (3, 4) by (5, 2): inner sizes 4 and 5 differ`.
/// Catch it as `const rg::Error&` (or `std::runtime_error`); what() is the message.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Throws an rg::Error whose message is formatted by fmt.
/// @param format an fmt format string, checked at compile time
/// @param args the values it formats
/// @throws rg::Error always
template <class... Args> [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
    throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace rg
