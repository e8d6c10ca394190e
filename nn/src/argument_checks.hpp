#pragma once
// The float-input checks that nn's functions share, so that the same mistake
// gets the same message whichever function it reaches, and the read of an
// int64 input once checked.
#include <retrograd/tensor.hpp>

#include <cstdint>
#include <vector>

namespace rg::nn::detail {

// x, one unnamed input of `op`, must be defined and float32 or float64.
inline void floating_or_fail(const Tensor& x, const char* op) {
    if (!x.defined()) fail("{}: got an undefined tensor", op);
    if (!x.is_floating()) fail("{}: expected a float32 or float64 tensor, got {}", op, dtype_name(x.dtype()));
}

// The input called `name` of `op` must be defined and float32 or float64.
inline void named_floating_or_fail(const Tensor& x, const char* op, const char* name) {
    if (!x.defined()) fail("{}: {} is an undefined tensor", op, name);
    if (!x.is_floating())
        fail("{}: {} must be float32 or float64, got {}; convert it with .to(rg::float32)", op, name,
             dtype_name(x.dtype()));
}

// A row of a table of `count` rows, the argument `name` of `op` (padding_idx):
// in [-count, count), negative counting from the end, as PyTorch; returned in [0, count).
inline std::int64_t row_or_fail(std::int64_t row, std::size_t count, const char* op, const char* name) {
    const auto n = static_cast<std::int64_t>(count);
    if (row < -n || row >= n)
        fail("{}: {} {} is out of range for {} rows, expected [-{}, {})", op, name, row, count, count, count);
    return row < 0 ? row + n : row;
}

// The values of t, which the caller has checked is a defined int64 tensor, row-major.
inline std::vector<std::int64_t> int64_values(const Tensor& t) {
    const Tensor dense = t.contiguous();
    const std::int64_t* first = dense.data_ptr<std::int64_t>();
    return {first, first + dense.numel()};
}

}  // namespace rg::nn::detail
