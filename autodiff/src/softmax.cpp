// softmax and log_softmax along one axis, shifted by the maximum so that large
// inputs (1000, 5000...) give exact probabilities rather than inf / inf.
#include "op_defs.hpp"

#include <cmath>

namespace rg {
namespace {

// Writes the (log) softmax of `a` along `axis` to the row-major values at `out`.
template <class T> void softmax_values(const detail::Dense<T>& a, std::size_t axis, bool log_space, T* out) {
    const detail::AxisSplit s = detail::split_at(a.shape(), axis);
    for (std::size_t o = 0; o < s.outer; ++o) {
        for (std::size_t i = 0; i < s.inner; ++i) {
            const std::size_t base = o * s.size * s.inner + i;
            const T* in = a.data() + base;
            T* r = out + base;
            if (s.size == 0) continue;  // an empty axis: nothing to normalise
            T top = in[0];
            for (std::size_t k = 1; k < s.size; ++k) top = std::max(top, in[k * s.inner]);
            if (!std::isfinite(top)) top = 0;  // all -inf, or inf present: no shift helps
            double total = 0;
            for (std::size_t k = 0; k < s.size; ++k) {
                const T e = std::exp(in[k * s.inner] - top);
                total += e;
                if (!log_space) r[k * s.inner] = e;
            }
            if (log_space) {
                const T log_total = static_cast<T>(std::log(total)) + top;
                for (std::size_t k = 0; k < s.size; ++k) r[k * s.inner] = in[k * s.inner] - log_total;
            } else {
                const T scale = static_cast<T>(1.0 / total);
                for (std::size_t k = 0; k < s.size; ++k) r[k * s.inner] *= scale;
            }
        }
    }
}

Tensor softmax_op(const Tensor& x, int axis, bool log_space) {
    const char* op = log_space ? "log_softmax" : "softmax";
    detail::defined_or_fail(x, op);
    const std::size_t ax = normalize_axis(axis, x.dim(), op);
    return detail::visit_float(x, op, [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        Tensor out = detail::empty_dense<T>(a.shape(), op);
        softmax_values(a, ax, log_space, out.data_ptr<T>());
        return out;
    });
}

}  // namespace

const OpDef& softmax_def =
    define_op({.name = "softmax",
               .signature = "softmax(x, axis = -1)",
               .doc = "e^x / sum(e^x) along an axis, shifted by the maximum",
               .rule = "dx = y * (g - sum(g * y) along the axis)",
               .kind = OpKind::nn,
               .call = [](const TensorList& v) { return softmax(v[0], 1); },
               .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{4, 1}}, -2.0, 2.0}, {{Shape{2, 0}}, -2.0, 2.0}}});
Tensor softmax(const Tensor& x, int axis) {
    Tensor out = softmax_op(x, axis, false);
    if (!needs_grad(x)) return out;
    // J^T g = s * (g - <g, s>) along the axis, from the saved output s.
    return record(softmax_def, out, {x}, [saved = SavedTensor::output(out, "softmax"), axis](const Tensor& g) {
        const Tensor s = saved.unpack();
        return GradList{s * (g - sum(g * s, {axis}, true))};
    });
}

const OpDef& log_softmax_def = define_op({.name = "log_softmax",
                                          .signature = "log_softmax(x, axis = -1)",
                                          .doc = "x - logsumexp(x) along an axis",
                                          .rule = "dx = g - exp(y) * sum(g) along the axis",
                                          .kind = OpKind::nn,
                                          .call = [](const TensorList& v) { return log_softmax(v[0], 0); },
                                          .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{4}}, -2.0, 2.0}}});
Tensor log_softmax(const Tensor& x, int axis) {
    Tensor out = softmax_op(x, axis, true);
    if (!needs_grad(x)) return out;
    // g - softmax(x) * sum(g), with softmax(x) = exp(y) from the saved output y.
    return record(log_softmax_def, out, {x}, [saved = SavedTensor::output(out, "log_softmax"), axis](const Tensor& g) {
        return GradList{g - exp(saved.unpack()) * sum(g, {axis}, true)};
    });
}

void detail::link_softmax() {}  // see registry.cpp

}  // namespace rg
