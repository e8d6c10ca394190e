// The strided copies every kernel reads through (kernels.hpp): a tensor's
// values made contiguous, and values written into a strided destination.
#include "../kernels.hpp"

namespace rg::detail {

Tensor contiguous_values(const Tensor& t) {
    return visit_dtype(t.dtype(), "contiguous", [&](auto zero) {
        using T = decltype(zero);
        // Allocation errors name contiguous(): the ops that read a strided
        // input through Dense<T> make this same copy.
        Tensor out = empty_dense<T>(t.shape(), "contiguous");
        const T* in = t.data_ptr<T>();
        T* o = out.data_ptr<T>();
        const std::array<Strides, 2> st{t.strides(), contiguous_strides(t.shape())};
        // Rows on several threads when large: each writes its own row.
        for_each_row_parallel(t.shape(), st, [&](const auto& off, const auto& inner, std::size_t count) {
            const T* row = in + off[0];
            T* dst = o + off[1];
            for (std::size_t k = 0; k < count; ++k) dst[k] = row[static_cast<std::ptrdiff_t>(k) * inner[0]];
        });
        return out;
    });
}

void copy_values(const Tensor& dst, const Tensor& src) {
    visit_dtype(dst.dtype(), "copy_", [&](auto zero) {
        using T = decltype(zero);
        // A source that shares dst's storage is read from a copy first, so an
        // overlapping write never reads what it already overwrote.
        const Tensor from = src.shares_storage(dst) ? contiguous_values(src) : src;
        const T* in = from.data_ptr<T>();
        T* out = dst.data_ptr<T>();
        const std::array<Strides, 2> st{broadcast_strides(from.shape(), from.strides(), dst.shape()), dst.strides()};
        for_each_row(dst.shape(), st, [&](const auto& off, const auto& inner, std::size_t count) {
            const T* row = in + off[0];
            T* target = out + off[1];
            for (std::size_t k = 0; k < count; ++k)
                target[static_cast<std::ptrdiff_t>(k) * inner[1]] = row[static_cast<std::ptrdiff_t>(k) * inner[0]];
        });
        return 0;
    });
}

}  // namespace rg::detail
