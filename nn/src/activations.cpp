// prelu and identity, the two activations not already ops of autodiff.
#include <retrograd/ops.hpp>
#include <retrograd/nn/activations.hpp>

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

PReLU::PReLU(std::size_t num_parameters, double init) {
    if (num_parameters == 0) fail("PReLU: num_parameters must be positive");
    alpha = register_parameter("alpha", full({num_parameters}, init));
}

}  // namespace rg::nn
