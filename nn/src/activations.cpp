// prelu, identity and torch.nn.functional's other activations (celu, glu,
// softmin, the shrinks, threshold, rrelu), composed from ops, and the checks
// of the modules' arguments.
#include "argument_checks.hpp"

#include <retrograd/ops.hpp>
#include <retrograd/nn/activations.hpp>

#include <cmath>

namespace rg::nn {

Tensor identity(const Tensor& x) { return x; }

Tensor prelu(const Tensor& x, const Tensor& alpha) {
    if (alpha.dim() != 1 || (alpha.numel() != 1 && (x.dim() < 2 || x.shape()[1] != alpha.numel())))
        fail("prelu: alpha has shape {}; expected (1,) or one value per channel of input {}", shape_str(alpha.shape()),
             shape_str(x.shape()));
    Tensor slope = alpha;
    if (alpha.numel() > 1) {
        Shape s(x.dim(), 1);
        s[1] = alpha.numel();
        slope = reshape(alpha, s);
    }
    return where(gt(x, 0.0), x, x * slope);
}

GELU::GELU(std::string approximate) : approximate_(std::move(approximate)) {
    if (approximate_ != "none" && approximate_ != "tanh")
        fail("GELU: approximate must be \"none\" or \"tanh\", got \"{}\"", approximate_);
}

Hardtanh::Hardtanh(double min_val, double max_val) : min_val_(min_val), max_val_(max_val) {
    if (std::isnan(min_val) || std::isnan(max_val) || min_val > max_val)
        fail("Hardtanh: min_val {} must not exceed max_val {}", min_val, max_val);
}

PReLU::PReLU(std::size_t num_parameters, double init) {
    if (num_parameters == 0) fail("PReLU: num_parameters must be positive");
    weight = register_parameter("weight", full({num_parameters}, init));
}

namespace {

using detail::floating_or_fail;

void positive_alpha_or_fail(double alpha, const char* op) {
    if (alpha == 0 || std::isnan(alpha)) fail("{}: alpha must not be 0 or NaN, got {}", op, alpha);
}

void shrink_lambda_or_fail(double lambda, const char* op) {
    if (!(lambda >= 0)) fail("{}: lambda must be >= 0, got {}", op, lambda);
}

void slopes_or_fail(double lower, double upper, const char* op) {
    if (!(lower <= upper)) fail("{}: lower {} must not exceed upper {}", op, lower, upper);
}

}  // namespace

Tensor celu(const Tensor& x, double alpha) {
    floating_or_fail(x, "celu");
    positive_alpha_or_fail(alpha, "celu");
    // The negative branch reads min(x, 0): for a large x its exponential would overflow, and
    // where's zero gradient times an infinite one is NaN.
    return where(gt(x, 0.0), x, expm1(clamp_max(x, 0.0) / alpha) * alpha);
}

Tensor glu(const Tensor& x, int dim) {
    floating_or_fail(x, "glu");
    const auto rank = static_cast<int>(x.dim());
    if (rank == 0 || dim < -rank || dim >= rank)
        fail("glu: dim {} is out of range for input {}", dim, shape_str(x.shape()));
    const auto axis = static_cast<std::size_t>(dim < 0 ? dim + rank : dim);
    if (x.shape()[axis] % 2 != 0)
        fail("glu: the size {} of axis {} of input {} is odd; expected halves of one size", x.shape()[axis], axis,
             shape_str(x.shape()));
    const auto half = static_cast<std::int64_t>(x.shape()[axis] / 2);
    const int a = static_cast<int>(axis);
    return narrow(x, a, 0, half) * sigmoid(narrow(x, a, half, half));
}

Tensor softmin(const Tensor& x, int dim) {
    floating_or_fail(x, "softmin");
    return softmax(neg(x), dim);
}

Tensor softshrink(const Tensor& x, double lambda) {
    floating_or_fail(x, "softshrink");
    shrink_lambda_or_fail(lambda, "softshrink");
    // clamp passes the gradient on [-lambda, lambda] (PyTorch's rule): 1 - 1 = 0 there, as softshrink's.
    return x - clamp(x, -lambda, lambda);
}

Tensor hardshrink(const Tensor& x, double lambda) {
    floating_or_fail(x, "hardshrink");
    return where(gt(abs(x), lambda), x, 0.0);
}

Tensor tanhshrink(const Tensor& x) {
    floating_or_fail(x, "tanhshrink");
    return x - tanh(x);
}

Tensor threshold(const Tensor& x, double threshold, double value) {
    floating_or_fail(x, "threshold");
    return where(gt(x, threshold), x, value);
}

Tensor rrelu(const Tensor& x, double lower, double upper, bool training) {
    floating_or_fail(x, "rrelu");
    slopes_or_fail(lower, upper, "rrelu");
    if (!training) return leaky_relu(x, (lower + upper) / 2);
    const Tensor slopes = uniform(x.shape(), lower, upper, {.dtype = x.dtype()});
    return where(gt(x, 0.0), x, x * slopes);  // PyTorch draws a slope for x <= 0
}

CELU::CELU(double alpha) : alpha_(alpha) { positive_alpha_or_fail(alpha, "CELU"); }

Tensor Softmax2d::forward(const Tensor& x) {
    if (!x.defined() || (x.dim() != 3 && x.dim() != 4))
        fail("Softmax2d: expected (N, C, H, W) or (C, H, W), got {}",
             x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
    return softmax(x, -3);
}

Softshrink::Softshrink(double lambda) : lambda_(lambda) { shrink_lambda_or_fail(lambda, "Softshrink"); }

RReLU::RReLU(double lower, double upper) : lower_(lower), upper_(upper) { slopes_or_fail(lower, upper, "RReLU"); }

}  // namespace rg::nn
