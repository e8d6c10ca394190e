#pragma once
// What convolution and pooling share: the geometry of sliding windows over
// NCHW images, and a branch-free select.
#include <retrograd/conv.hpp>

#include "op_defs.hpp"

#include <bit>
#include <cstdint>
#include <type_traits>

namespace rg::detail {

// One window sweep: images (n, c, h, w), a kh x kw window, output oh x ow.
struct Geometry {
    std::size_t n, c, h, w, kh, kw, oh, ow;
    Conv2dOptions o;
};

// `take ? a : b` through bit masks: compilers turn the ternary on floats
// into a branch, which mispredicts half the time on max-pooled activations.
template <class T> T select(bool take, T a, T b) {
    using Bits = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
    static_assert(sizeof(T) == sizeof(Bits));
    const Bits mask = Bits{0} - static_cast<Bits>(take);
    return std::bit_cast<T>(static_cast<Bits>((std::bit_cast<Bits>(a) & mask) | (std::bit_cast<Bits>(b) & ~mask)));
}

inline Geometry geometry(const Shape& image, Size2 kernel, const Conv2dOptions& o, const char* op) {
    if (image.size() != 4) fail("{}: expected an NCHW tensor of rank 4, got shape {}", op, shape_str(image));
    if (kernel[0] == 0 || kernel[1] == 0 || o.stride[0] == 0 || o.stride[1] == 0 || o.dilation[0] == 0 ||
        o.dilation[1] == 0)
        fail("{}: kernel ({}, {}), stride ({}, {}) and dilation ({}, {}) must be positive", op, kernel[0], kernel[1],
             o.stride[0], o.stride[1], o.dilation[0], o.dilation[1]);
    Geometry g{image[0], image[1], image[2], image[3], kernel[0], kernel[1], 0, 0, o};
    g.oh = conv_output_size(g.h, g.kh, o.stride[0], o.padding[0], o.dilation[0], op);
    g.ow = conv_output_size(g.w, g.kw, o.stride[1], o.padding[1], o.dilation[1], op);
    return g;
}

}  // namespace rg::detail
