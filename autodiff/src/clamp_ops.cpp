// clamp with one bound or with tensor bounds (clamp(x, low, high) with two
// numbers is in unary_ops.cpp). All are built from registered ops (clamp,
// where, comparisons), so their gradients follow: x gets g where
// low <= x <= high, as PyTorch; a tensor bound gets g where it is the result.
#include "op_defs.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rg {
namespace {
constexpr double inf = std::numeric_limits<double>::infinity();

Tensor tensor_bound(const Tensor& x, const Tensor& bound, const char* op) {
    detail::check_same_dtype(x, bound, op);
    if (!x.is_floating()) fail("{}: expected float32 or float64 tensors, got {}", op, dtype_name(x.dtype()));
    broadcast_shapes(x.shape(), bound.shape(), op);
    return bound;
}
}  // namespace

const OpDef& clamp_min_def = define_op({.name = "clamp_min",
                                        .signature = "clamp_min(x, low)",
                                        .doc = "max(x, low) for a number or a tensor low (broadcasting)",
                                        .rule = "composite: clamp(x, low, inf), or where(x < low, low, x)",
                                        .kind = OpKind::elementwise,
                                        .call = [](const TensorList& v) { return clamp_min(v[0], 0.25); },
                                        .samples = detail::unary_samples(),
                                        .reference1 = [](double x) { return std::max(x, 0.25); },
                                        .composite = true});
const OpDef& clamp_max_def = define_op({.name = "clamp_max",
                                        .signature = "clamp_max(x, high)",
                                        .doc = "min(x, high) for a number or a tensor high (broadcasting)",
                                        .rule = "composite: clamp(x, -inf, high), or where(x > high, high, x)",
                                        .kind = OpKind::elementwise,
                                        .call = [](const TensorList& v) { return clamp_max(v[0], v[1]); },
                                        .samples = {{{Shape{2, 3}, Shape{2, 3}}},
                                                    {{Shape{2, 3}, Shape{3}}},
                                                    {{Shape{2, 1}, Shape{1, 3}}},
                                                    {{Shape{0, 3}, Shape{3}}}},
                                        .reference2 = [](double x, double high) { return std::min(x, high); },
                                        .composite = true,
                                        .bad_shapes = {Shape{2, 3}, Shape{4}}});
const OpDef& clamp_tensor_def =
    define_op({.name = "clamp_tensor",
               .signature = "clamp(x, low, high) with tensors",
               .doc = "x limited to [low, high] by tensor bounds (broadcasting all three); high wins if low > high",
               .rule = "composite: where(y > high, high, y), y = where(x < low, low, x)",
               .kind = OpKind::elementwise,
               .call = [](const TensorList& v) { return clamp(v[0], v[1] - 0.5, v[2] + 0.5); },
               .samples = {{{Shape{2, 3}, Shape{2, 3}, Shape{2, 3}}},
                           {{Shape{2, 3}, Shape{3}, Shape{2, 1}}},
                           {{Shape{}, Shape{2}, Shape{}}}},
               .composite = true});

Tensor clamp_min(const Tensor& x, double low) {
    if (std::isnan(low)) fail("clamp_min: low is NaN");
    return clamp(x, low, inf);
}
Tensor clamp_max(const Tensor& x, double high) {
    if (std::isnan(high)) fail("clamp_max: high is NaN");
    return clamp(x, -inf, high);
}
Tensor clamp(const Tensor& x, std::optional<double> low, std::optional<double> high) {
    if (!low && !high) fail("clamp: at least one of low and high must be given");
    return clamp(x, low.value_or(-inf), high.value_or(inf));
}

Tensor clamp_min(const Tensor& x, const Tensor& low) {
    detail::defined_or_fail(low, "clamp_min");
    const Tensor bound = tensor_bound(x, low, "clamp_min");
    return where(lt(x, bound), bound, x);
}
Tensor clamp_max(const Tensor& x, const Tensor& high) {
    detail::defined_or_fail(high, "clamp_max");
    const Tensor bound = tensor_bound(x, high, "clamp_max");
    return where(gt(x, bound), bound, x);
}
Tensor clamp(const Tensor& x, const Tensor& low, const Tensor& high) {
    detail::defined_or_fail(x, "clamp");
    if (!low.defined() && !high.defined()) fail("clamp: at least one of low and high must be given");
    if (low.defined()) tensor_bound(x, low, "clamp");
    if (high.defined()) {
        tensor_bound(x, high, "clamp");
        if (low.defined()) broadcast_shapes(broadcast_shapes(x.shape(), low.shape(), "clamp"), high.shape(), "clamp");
    }
    const Tensor floored = low.defined() ? clamp_min(x, low) : x;
    return high.defined() ? clamp_max(floored, high) : floored;
}

Tensor Tensor::clamp_min(double low) const { return rg::clamp_min(*this, low); }
Tensor Tensor::clamp_max(double high) const { return rg::clamp_max(*this, high); }

void detail::link_clamp_ops() {}  // see registry.cpp

}  // namespace rg
