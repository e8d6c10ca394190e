#pragma once
// The mask of inverted dropout (dropout.cpp), made from the random
// generator's 64-bit draws: each element takes 32 bits, element 2j the low
// half of draw j and element 2j + 1 its high half, and is dropped (0) when
// they fall below the threshold p · 2^32, kept (1 / (1 - p)) otherwise. An
// integer comparison per element: no conversion to a float.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace rg::detail {

// out[0, count) from draws[0, (count + 1) / 2).
template <class T>
void dropout_mask_from_draws(const std::uint64_t* draws, std::size_t count, std::uint32_t threshold, T kept, T* out) {
    if constexpr (std::endian::native == std::endian::little) {
        // In memory, a draw's low half comes first: reading 32-bit words in
        // order is one comparison per element, a loop that vectorises.
        const auto* bytes = reinterpret_cast<const unsigned char*>(draws);
        for (std::size_t i = 0; i < count; ++i) {
            std::uint32_t bits;
            std::memcpy(&bits, bytes + 4 * i, 4);
            out[i] = bits < threshold ? T{0} : kept;
        }
    } else {
        for (std::size_t i = 0; i < count; ++i) {
            const std::uint64_t draw = draws[i / 2];
            const auto bits = static_cast<std::uint32_t>(i % 2 == 0 ? draw : draw >> 32);
            out[i] = bits < threshold ? T{0} : kept;
        }
    }
}

}  // namespace rg::detail
