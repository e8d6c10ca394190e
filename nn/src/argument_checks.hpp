#pragma once
// The float-input checks that nn's functions share, so that the same mistake
// gets the same message whichever function it reaches.
#include <retrograd/tensor.hpp>

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

}  // namespace rg::nn::detail
