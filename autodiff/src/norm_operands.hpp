#pragma once
// What layer_norm and batch_norm share: their optional weight and bias made
// dense for the kernels, and the check of eps.
#include "op_defs.hpp"

#include <cmath>

namespace rg::detail {

// t's values made dense (a copy only when t is strided); undefined stays so.
template <class T> Tensor dense_or_none(const Tensor& t) { return t.defined() ? Dense<T>(t).tensor() : Tensor{}; }
template <class T> const T* data_or_null(const Tensor& t) { return t.defined() ? t.data_ptr<T>() : nullptr; }

inline void check_eps(const char* op, double eps) {
    if (!(eps >= 0.0) || !std::isfinite(eps)) fail("{}: eps must be finite and >= 0, got {}", op, eps);
}

}  // namespace rg::detail
