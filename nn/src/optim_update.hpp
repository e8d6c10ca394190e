#pragma once
// The parameter loop every optimizer's step shares (optim.cpp,
// optim_adaptive.cpp, optim_more.cpp): dense arrays, version bumps, strided
// parameters written back, maximize's negated gradient.
#include <retrograd/autograd.hpp>
#include <retrograd/nn/optim.hpp>
#include <retrograd/ops.hpp>

#include <algorithm>
#include <cmath>

namespace rg::optim::internal {

// The elements of a dense tensor (a parameter, its gradient or a state
// buffer, as for_each_update hands them over) that the update writes: the
// version counter is bumped, so a retained graph that saved the old values
// refuses them in backward, as after an in-place op.
template <class T> T* written(Tensor& t) {
    increment_version(t);
    return t.data_ptr<T>();
}

// Calls f.template operator()<T>(group, index, param, grad) for every
// parameter of every group that has a gradient. The updates index the
// parameter, its gradient and its state (made by zeros_like: dense) as dense
// row-major arrays: a parameter or gradient with other strides (a transposed
// view made a leaf, a set_grad of one) is updated through a dense copy,
// written back into the parameter with its strides. When the optimizer's
// options have `maximize` and a group sets it, f gets the negated gradient.
template <class Opt, class F> void for_each_update(const Opt& opt, F&& f) {
    for (std::size_t g = 0; g < opt.group_count(); ++g) {
        const TensorList& params = opt.params(g);
        for (std::size_t i = 0; i < params.size(); ++i) {
            Tensor p = params[i];
            Tensor grad = p.grad();
            if (!grad.defined()) continue;
            // Every PyTorch 1.13 optimizer with `maximize` starts its update with
            // grad = -grad, before weight decay, momentum or anything else: so here,
            // once for all of them, and the updates themselves know nothing of it.
            if constexpr (requires { opt.options(g).maximize; })
                if (opt.options(g).maximize) grad = -grad;
            if (!grad.is_contiguous()) grad = grad.contiguous();
            Tensor dense = p.is_contiguous() ? p : p.contiguous();
            if (p.dtype() == Dtype::float32) {
                f.template operator()<float>(g, i, dense, grad);
            } else {
                f.template operator()<double>(g, i, dense, grad);
            }
            if (!dense.same(p)) p.copy_(dense);
        }
    }
}

// "<optimizer>: invalid <what> <value>", as the options of optim.cpp say it.
inline void require(bool ok, const char* name, const char* what, double value) {
    if (!ok) fail("{}: invalid {} {}", name, what, value);
}

}  // namespace rg::optim::internal
