#pragma once
// Raw draws of the random generator behind rand/randn (creation.cpp), many at
// once under one lock: for masks drawn a bit pattern at a time (dropout).
#include <cstddef>
#include <cstdint>

namespace rg::detail {

// Fills out[0, n) with the generator's next n 64-bit draws.
void random_u64s(std::uint64_t* out, std::size_t n);

}  // namespace rg::detail
