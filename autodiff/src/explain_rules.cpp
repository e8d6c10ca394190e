// The local backward rule of every recorded op, in words: g is the gradient
// arriving at the op's output y, and each d<input> the gradient it sends. An op
// whose inputs were broadcast sends each input its gradient summed over the
// broadcast axes (written "summed to a's shape"). tests/explain_test.cpp fails
// when an op recorded in autodiff/src has no row here.
#include <retrograd/explain.hpp>

#include "explain_rules.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace rg {
namespace detail {
namespace {

const std::vector<BackwardRule>& rules() {
    static const std::vector<BackwardRule> table = {
        // Elementwise, two tensors.
        {"add", {"a", "b"}, "da = g, db = g (each summed to its input's shape)"},
        {"sub", {"a", "b"}, "da = g, db = -g (each summed to its input's shape)"},
        {"mul", {"a", "b"}, "da = g * b, db = g * a (each summed to its input's shape)"},
        {"div", {"a", "b"}, "da = g / b, db = -g * a / b^2 (each summed to its input's shape)"},
        {"pow", {"a", "b"}, "da = g * b * a^(b - 1), db = g * a^b * log(a), taken as 0 where a <= 0"},
        {"minimum", {"a", "b"}, "da = g where a < b, db = g where b < a; ties share g / 2"},
        {"maximum", {"a", "b"}, "da = g where a > b, db = g where b > a; ties share g / 2"},
        {"where", {"a", "b"}, "da = g where the mask holds, db = g elsewhere"},
        {"addcmul", {"x", "t1", "t2"}, "y = x + v * t1 * t2: dx = g, dt1 = v * g * t2, dt2 = v * g * t1"},
        // With a scalar c.
        {"add_scalar", {"x"}, "y = x + c: dx = g"},
        {"mul_scalar", {"x"}, "y = c * x: dx = c * g"},
        {"rsub_scalar", {"x"}, "y = c - x: dx = -g"},
        {"pow_scalar", {"x"}, "y = x^p: dx = g * p * x^(p - 1)"},
        {"rpow_scalar", {"x"}, "y = c^x: dx = g * y * log(c)"},
        // Elementwise, one tensor.
        {"neg", {"x"}, "dx = -g"},
        {"exp", {"x"}, "dx = g * y"},
        {"log", {"x"}, "dx = g / x"},
        {"sqrt", {"x"}, "dx = g / (2 * y)"},
        {"abs", {"x"}, "dx = g * sign(x)"},
        {"sign", {"x"}, "dx = 0 (piecewise constant)"},
        {"sin", {"x"}, "dx = g * cos(x)"},
        {"cos", {"x"}, "dx = -g * sin(x)"},
        {"tanh", {"x"}, "dx = g * (1 - y^2)"},
        {"sigmoid", {"x"}, "dx = g * y * (1 - y)"},
        {"relu", {"x"}, "dx = g where x > 0, else 0"},
        {"leaky_relu", {"x"}, "dx = g where x > 0, else slope * g"},
        {"elu", {"x"}, "dx = g where x > 0, else g * alpha * e^x"},
        {"softplus", {"x"}, "dx = g * sigmoid(x)"},
        {"atan", {"x"}, "dx = g / (1 + x^2)"},
        {"step", {"x"}, "dx = 0 (piecewise constant)"},
        {"clamp", {"x"}, "dx = g where low <= x <= high, else 0"},
        {"clone", {"x"}, "dx = g"},
        {"to", {"x"}, "dx = g converted back to x's dtype"},
        // The backward of activations, recorded when a gradient is differentiated again.
        {"tanh_backward", {"u", "x"}, "y = u * (1 - tanh(x)^2): du = g * (1 - tanh(x)^2), dx = -2 * g * u * tanh(x) * (1 - tanh(x)^2)"},
        {"sigmoid_backward", {"u", "x"}, "y = u * s * (1 - s), s = sigmoid(x): du = g * s * (1 - s), dx = g * u * s * (1 - s) * (1 - 2s)"},
        {"relu_backward", {"u"}, "y = u where x > 0: du = g where x > 0, else 0"},
        // Reductions and normalisations.
        {"sum", {"x"}, "dx = g broadcast back to x's shape"},
        {"max", {"x"}, "dx = g at the largest elements (ties share it), 0 elsewhere"},
        {"min", {"x"}, "dx = g at the smallest elements (ties share it), 0 elsewhere"},
        {"softmax", {"x"}, "dx = y * (g - sum(g * y) along the axis)"},
        {"log_softmax", {"x"}, "dx = g - softmax(x) * sum(g) along the axis"},
        // Products.
        {"matmul", {"A", "B"},
         "Y = A B: dA = G B^T, dB = A^T G (summed over broadcast batches; for Y = A W^T, as in Linear, dW = G^T A)"},
        {"gemm_sum", {"A", "B"}, "Y = sum over the batch of A_i B_i: dA_i = G B_i^T, dB_i = A_i^T G"},
        // Shapes and indexing.
        {"reshape", {"x"}, "dx = g reshaped to x's shape"},
        {"permute", {"x"}, "dx = g permuted back by the inverse order"},
        {"broadcast_to", {"x"}, "dx = g summed over the broadcast axes"},
        {"slice", {"x"}, "dx = zeros of x's shape with g in the slice"},
        {"slice_scatter", {"x"}, "dx = the slice of g"},
        {"index_select", {"x"}, "dx = zeros of x's shape with g added at the indices (repeats add up)"},
        {"index_add", {"x"}, "dx = g selected at the indices"},
        {"gather", {"x"}, "dx = zeros of x's shape with g added at the index (repeats add up)"},
        {"scatter_add", {"x"}, "dx = g gathered at the index"},
        {"concat", {"x"}, "each input gets its own slice of g"},
        {"pad", {"x"}, "dx = g without the padding"},
        // Convolution and pooling.
        {"im2col", {"x"}, "dx = col2im(g): each patch's gradient added back to its pixels"},
        {"col2im", {"cols"}, "dcols = im2col(g)"},
        {"conv2d", {"X", "W", "b"},
         "dX = conv2d_input_grad(G, W) (the transposed convolution), dW = conv2d_weight_grad(G, X) (G times the "
         "patches of X), db = G summed over images and pixels"},
        {"conv2d_input_grad", {"u", "W"}, "y = conv2d_input_grad(u, W): du = conv2d(g, W), dW = conv2d_weight_grad(u, g)"},
        {"conv2d_weight_grad", {"u", "X"}, "y = conv2d_weight_grad(u, X): du = conv2d(X, g), dX = conv2d_input_grad(u, g)"},
        {"max_pool2d", {"x"}, "dx = g routed to the largest element of each window, 0 elsewhere"},
        // Leaves.
        {"accumulate_grad", {}, "leaf.grad += g"},
    };
    return table;
}

}  // namespace

const BackwardRule* find_backward_rule(std::string_view op) {
    const auto& table = rules();
    auto it = std::find_if(table.begin(), table.end(), [op](const BackwardRule& r) { return r.op == op; });
    return it == table.end() ? nullptr : &*it;
}

}  // namespace detail

bool has_backward_rule(std::string_view op) { return detail::find_backward_rule(op) != nullptr; }

std::string backward_rule(std::string_view op) {
    if (const detail::BackwardRule* r = detail::find_backward_rule(op)) return fmt::format("{}: {}", op, r->rule);
    return fmt::format("{} (custom op): each input gets what its vjp returns for g", op);
}

}  // namespace rg
