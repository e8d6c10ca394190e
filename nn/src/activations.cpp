// prelu and identity, the two activations not already ops of autodiff, and
// the checks of the modules' arguments.
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
    alpha = register_parameter("alpha", full({num_parameters}, init));
}

}  // namespace rg::nn
