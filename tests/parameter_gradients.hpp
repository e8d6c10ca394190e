#pragma once
// A module's parameter gradients against finite differences. gradcheck
// perturbs copies of its inputs, so a module's own weights cannot be its
// inputs: here each weight is moved in place along a random direction v, and
// the central difference of the loss is compared with sum(grad * v).
#include <functional>

#include "helpers.hpp"

namespace test {

// loss: the module's scalar loss, recomputed from the module's current weights.
inline void check_parameter_gradients(rg::nn::Module& module, const std::function<rg::Tensor()>& loss,
                                      double eps = 1e-6, double tolerance = 1e-6) {
    module.zero_grad();
    loss().backward();
    // No structured binding: clang 14 cannot capture one in CAPTURE's lambda.
    for (const auto& entry : module.named_parameters()) {
        const std::string& name = entry.first;
        CAPTURE(name);
        rg::Tensor w = entry.second;  // a handle: set_values_ writes the module's own weight
        REQUIRE(w.grad().defined());
        const rg::Tensor v = rg::randn(w.shape(), {.dtype = w.dtype()}), saved = w.detach().clone();
        const double analytic = rg::sum(w.grad() * v).item();
        const auto loss_at = [&](double step) {
            rg::NoGrad off;
            w.set_values_(saved + step * v);
            return loss().item();
        };
        const double numeric = (loss_at(eps) - loss_at(-eps)) / (2 * eps);
        {
            rg::NoGrad off;
            w.set_values_(saved);
        }
        CHECK(analytic == doctest::Approx(numeric).epsilon(tolerance));
    }
}

}  // namespace test
