#pragma once
// Copy and conversion kernels: a tensor's values cast to another element
// type or read out as doubles (tensor.cpp says when each runs), and the
// fills of creation.cpp (a constant, the caller's values, random draws in
// order);
// contiguous_values and copy_values (kernels.hpp) are in kernels/copy.cpp.
#include "../kernels.hpp"

#include <cmath>
#include <optional>

namespace rg::detail {

// out[i] = in[i] as To for i < n: to bool, nonzero is true (NaN included, as
// in PyTorch). A floating value without an int64 (NaN, Inf, out of range)
// stops the copy: its index is returned, the elements after it unwritten.
template <class From, class To> std::optional<std::size_t> cast_into(const From* in, To* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const From v = in[i];
        if constexpr (std::is_same_v<To, bool>) {
            out[i] = v != From{0};
            continue;
        } else if constexpr (std::is_integral_v<To> && !std::is_integral_v<From>) {
            // The cast of such a value would be undefined behaviour.
            if (!std::isfinite(v) || v < From(-9.2233720368547758e18) || v >= From(9.2233720368547758e18)) return i;
        }
        out[i] = static_cast<To>(v);
    }
    return std::nullopt;
}

// The values as doubles, in row-major order.
template <class T> std::vector<double> values_as_double(const Dense<T>& values) {
    std::vector<double> out(values.size());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(values.data()[i]);
    return out;
}

// out[i] = value for i < n (on several threads when large).
template <class T> void fill_values(T* out, std::size_t n, T value) {
    elementwise(n, [out, value](std::size_t i) { out[i] = value; });
}

// out[i] = in[i] as T for i < n: values given by the caller (a std::vector's).
template <class T, class From> void values_from(const From* in, std::size_t n, T* out) {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(in[i]);
}

// out[i] = next() for i < n, in order of i: values drawn from one generator
// (which the caller holds locked), so never split among threads.
template <class T, class F> void fill_in_order(T* out, std::size_t n, F next) {
    for (std::size_t i = 0; i < n; ++i) out[i] = next();
}

}  // namespace rg::detail
