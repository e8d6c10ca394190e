// Backward through slices and selects of one tensor: each step's gradient is
// added into its slice of the input's gradient, not scattered into a zero
// tensor of the input's size per step.
#include "helpers.hpp"

#include <doctest/doctest.h>

namespace {
// Buffers of 64 KiB and more handed out so far (the caching allocator serves them all).
std::size_t large_buffers() {
    const auto s = rg::cache_stats();
    return s.hits + s.misses;
}
}  // namespace

TEST_CASE("a loop over the steps of a tensor sends each step's gradient to its slice") {
    constexpr std::int64_t steps = 64;
    // (64, 8, 512) float32: a full-size gradient is 1 MiB, counted by the
    // cache; each step's buffers are 16 KiB, below what it counts.
    const rg::Tensor x = rg::randn({steps, 8, 512}, {.requires_grad = true});
    rg::Tensor loss = rg::zeros({});
    for (std::int64_t t = 0; t < steps; ++t)
        loss = loss + rg::sum(rg::select(x, 0, t) * static_cast<double>(t)) +
               rg::sum(rg::narrow(rg::select(x, 0, t), 1, 0, 256));
    const std::size_t before = large_buffers();
    loss.backward();
    // One full-size gradient for x, not one per step.
    CHECK(large_buffers() - before <= 2);
    // Per step t: t everywhere, plus 1 on the first 256 columns.
    const rg::Tensor step = rg::arange(steps).to(rg::float32).reshape({steps, 1, 1});
    const rg::Tensor columns = rg::cat({rg::ones({1, 1, 256}), rg::zeros({1, 1, 256})}, 2);
    test::check_values(x.grad(), rg::expand(step + columns, {steps, 8, 512}).contiguous());
}

TEST_CASE("slices of a slice, strided slices and selects of a negative axis get their gradients") {
    auto f = [](const rg::TensorList& in) {
        const rg::Tensor& x = in[0];
        return rg::select(x, -1, 1) * 2.0 + rg::slice(x, 2, 0, 4, 2).sum(2) +
               rg::select(rg::narrow(x, 0, 1, 2), 0, 0).sum(1);
    };
    test::check_gradients(f, {test::rand64({3, 2, 4})});
}
