// torch.nn.functional's similarity, normalisation and one-hot helpers, from tape ops.
#include "argument_checks.hpp"

#include <retrograd/nn/functional.hpp>
#include <retrograd/ops.hpp>

#include <algorithm>
#include <cstddef>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace rg::nn {
namespace {

using detail::named_floating_or_fail;

// The two operands of a binary helper, checked and broadcast to their common shape.
std::pair<Tensor, Tensor> common(const Tensor& x1, const Tensor& x2, const char* op) {
    named_floating_or_fail(x1, op, "x1");
    named_floating_or_fail(x2, op, "x2");
    if (x1.dtype() != x2.dtype())
        fail("{}: x1 is {} but x2 is {}; convert one with .to()", op, dtype_name(x1.dtype()), dtype_name(x2.dtype()));
    const Shape shape = broadcast_shapes(x1.shape(), x2.shape(), op);
    return {broadcast_to(x1, shape), broadcast_to(x2, shape)};
}

void supported_norm(double p, const char* op) {
    const double inf = std::numeric_limits<double>::infinity();
    if (std::isnan(p) || (p < 0 && p != -inf))
        fail("{}: p = {} is not supported; expected p >= 0, inf or -inf (std::numeric_limits<double>::infinity())", op,
             p);
}

// ‖x‖ along axis (kept), its value raised to eps while its gradient stays the
// norm's: PyTorch clamps the norm in place under no_grad.
Tensor norm_at_least(const Tensor& x, int axis, double eps) {
    Tensor n = norm(x, 2, {axis}, true);
    Tensor floor = n.detach();
    return n + (clamp_min(floor, eps) - floor);
}

}  // namespace

Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int dim, double eps) {
    const char* op = "cosine_similarity";
    const auto [a, b] = common(x1, x2, op);
    const int axis = static_cast<int>(normalize_axis(dim, a.dim(), op));
    return sum(a / norm_at_least(a, axis, eps) * (b / norm_at_least(b, axis, eps)), {axis});
}

Tensor normalize(const Tensor& x, double p, int dim, double eps) {
    const char* op = "normalize";
    supported_norm(p, op);
    named_floating_or_fail(x, op, "x");
    const int axis = static_cast<int>(normalize_axis(dim, x.dim(), op));
    return x / clamp_min(norm(x, p, {axis}, true), eps);
}

Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, double p, double eps, bool keepdim) {
    const char* op = "pairwise_distance";
    supported_norm(p, op);
    const auto [a, b] = common(x1, x2, op);
    Tensor d = a - b + eps;
    // 0-D operands: PyTorch's last axis of a scalar is the scalar itself.
    return d.dim() == 0 ? norm(d, p) : norm(d, p, {-1}, keepdim);
}

Tensor one_hot(const Tensor& indices, std::int64_t num_classes) {
    if (!indices.defined()) fail("one_hot: got an undefined tensor");
    if (indices.dtype() != Dtype::int64)
        fail("one_hot: indices must be int64, got {}; convert them with .to(rg::int64)", dtype_name(indices.dtype()));
    if (num_classes < -1)
        fail("one_hot: num_classes must be -1 (the largest index + 1) or at least 0, got {}", num_classes);
    // The indices are data: checked on the host to name the first bad one (exact as doubles below 2^53).
    const std::vector<double> values = indices.to_vector();
    if (num_classes == -1 && values.empty())
        fail("one_hot: cannot take num_classes from an empty tensor of shape {}; pass num_classes",
             shape_str(indices.shape()));
    double largest = -1;
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (values[i] < 0) fail("one_hot: index {} at position {} is negative; class indices start at 0", values[i], i);
        if (num_classes != -1 && values[i] >= static_cast<double>(num_classes))
            fail("one_hot: index {} at position {} is out of range: expected a value in [0, {}) for num_classes {}",
                 values[i], i, num_classes, num_classes);
        largest = std::max(largest, values[i]);
    }
    const double classes = num_classes == -1 ? largest + 1 : static_cast<double>(num_classes);
    // Past 2^53 elements no size is exact, nor could the memory be addressed.
    const double elements = static_cast<double>(values.size()) * classes;
    if (elements > 0x1p53)
        fail("one_hot: {} indices of {} classes would make {} elements, more than can be allocated", values.size(),
             classes, elements);
    // Each index against every class: 1 where they are equal.
    return eq(unsqueeze(indices, -1), arange(classes, {.dtype = Dtype::int64})).to(Dtype::int64);
}

Tensor CosineSimilarity::forward(const Tensor& x1, const Tensor& x2) {
    return cosine_similarity(x1, x2, options_.dim, options_.eps);
}

std::string CosineSimilarity::describe() const {
    return fmt::format("CosineSimilarity(dim={}, eps={:g})", options_.dim, options_.eps);
}

Tensor PairwiseDistance::forward(const Tensor& x1, const Tensor& x2) {
    return pairwise_distance(x1, x2, options_.p, options_.eps, options_.keepdim);
}

std::string PairwiseDistance::describe() const {
    return fmt::format("PairwiseDistance(p={:g}, eps={:g}, keepdim={})", options_.p, options_.eps, options_.keepdim);
}

}  // namespace rg::nn
