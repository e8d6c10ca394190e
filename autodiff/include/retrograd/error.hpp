#pragma once
// rg::Error: every bad input to retrograd ends up here, with a message that
// names the operation, the shapes or values involved and what was expected.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace rg {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

template <class... Args> [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
    throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace rg
