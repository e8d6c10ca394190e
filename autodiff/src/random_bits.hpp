#pragma once
// Raw draws of the random generator behind rand/randn (creation.cpp), many at
// once under one lock: for masks drawn a bit pattern at a time (dropout).
#include "kernels/threads.hpp"

#include <cstddef>
#include <cstdint>

namespace rg::detail {

// Calls consume(draws, count) with the generator's next n 64-bit draws, in
// order, a chunk at a time (a few KiB, so that they are used while in cache),
// all under one lock: no other thread draws in between.
void for_random_u64s(std::size_t n, FunctionRef<void(const std::uint64_t*, std::size_t)> consume);

}  // namespace rg::detail
