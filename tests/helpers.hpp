#pragma once
// Shared test helpers: float64 options and random inputs, finiteness, gradcheck assertions.
#include <cmath>

#include <doctest/doctest.h>
#include <retrograd/retrograd.hpp>

namespace test {

// Tensor options for float64 test values, optionally requiring grad.
inline rg::TensorOptions f64(bool requires_grad = false) {
    return {.dtype = rg::float64, .requires_grad = requires_grad};
}

// Whether every value of t is finite (no NaN, no infinity).
inline bool all_finite(const rg::Tensor& t) {
    for (double v : t.to_vector())
        if (!std::isfinite(v)) return false;
    return true;
}

inline rg::Tensor rand64(const rg::Shape& shape, bool requires_grad = true) {
    return rg::randn(shape, {.dtype = rg::float64, .requires_grad = requires_grad});
}
// Values in [low, high), for ops defined on part of the line (log, sqrt...).
inline rg::Tensor uniform64(const rg::Shape& shape, double low, double high) {
    return rg::uniform(shape, low, high, {.dtype = rg::float64, .requires_grad = true});
}

// First- and second-order gradcheck, with the report shown on failure.
inline void check_gradients(const rg::Function& f, const rg::TensorList& inputs, bool second_order = true) {
    auto first = rg::gradcheck(f, inputs);
    CHECK_MESSAGE(first.ok, first.report);
    if (second_order) {
        auto second = rg::gradgradcheck(f, inputs);
        CHECK_MESSAGE(second.ok, second.report);
    }
}

inline void check_values(const rg::Tensor& actual, const rg::Tensor& expected, double tol = 1e-6) {
    CHECK_MESSAGE(rg::allclose(actual, expected, tol, tol), "got " << actual << "\nexpected " << expected);
}

}  // namespace test
