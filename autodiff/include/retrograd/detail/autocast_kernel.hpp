#pragma once
// Which kernel rg::Autocast's products run (retrograd/autocast.hpp,
// autocast_kernel()), for tests and benchmarks that compare the kernels in
// one process.
#include <retrograd/autocast.hpp>

#include <optional>

namespace rg::detail {

// Every thread's autocast products run `kernel` from now on, as if
// RETROGRAD_AUTOCAST_KERNEL named it (native where oneDNN has no bfloat16
// kernels gives rounded); nullopt goes back to the process's own choice.
void force_autocast_kernel(std::optional<AutocastKernel> kernel);

// RETROGRAD_AUTOCAST_KERNEL's value: nullopt when unset or empty; an
// rg::Error naming the value for anything but "native" or "rounded".
std::optional<AutocastKernel> parse_autocast_kernel(const char* value);

}  // namespace rg::detail
