// Initialisers: each draws a fresh tensor and copies it into place.
#include <retrograd/ops.hpp>
#include <retrograd/autograd.hpp>
#include <retrograd/nn/init.hpp>

#include <cmath>

namespace rg::nn::init {
namespace {
void assign(Tensor& t, const Tensor& values) {
    NoGrad off;
    t.copy_(values);
}
double fan(const Tensor& t, FanMode mode) {
    auto [in, out] = fans(t);
    return static_cast<double>(mode == FanMode::fan_in ? in : out);
}
}  // namespace

std::pair<std::size_t, std::size_t> fans(const Tensor& weight) {
    if (weight.dim() < 2) fail("init: fans need a weight of rank 2 or more, got shape {}", shape_str(weight.shape()));
    std::size_t receptive = 1;
    for (std::size_t i = 2; i < weight.dim(); ++i) receptive *= weight.shape()[i];
    return {weight.shape()[1] * receptive, weight.shape()[0] * receptive};
}

double gain(const std::string& nonlinearity, double slope) {
    if (nonlinearity == "linear" || nonlinearity == "sigmoid" || nonlinearity == "identity") return 1.0;
    if (nonlinearity == "tanh") return 5.0 / 3.0;
    if (nonlinearity == "relu") return std::sqrt(2.0);
    if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1.0 + slope * slope));
    fail("init::gain: unknown nonlinearity '{}' (expected linear, sigmoid, tanh, relu or leaky_relu)", nonlinearity);
}

void zeros_(Tensor& t) { constant_(t, 0.0); }
void constant_(Tensor& t, double value) { assign(t, full(t.shape(), value, {t.dtype()})); }
void uniform_(Tensor& t, double low, double high) { assign(t, uniform(t.shape(), low, high, {t.dtype()})); }
void normal_(Tensor& t, double mean, double std) {
    if (std < 0) fail("init::normal_: std {} must not be negative", std);
    assign(t, randn(t.shape(), {t.dtype()}) * std + mean);
}
void xavier_uniform_(Tensor& t, double g) {
    auto [in, out] = fans(t);
    const double bound = g * std::sqrt(6.0 / static_cast<double>(in + out));
    uniform_(t, -bound, bound);
}
void xavier_normal_(Tensor& t, double g) {
    auto [in, out] = fans(t);
    normal_(t, 0.0, g * std::sqrt(2.0 / static_cast<double>(in + out)));
}
void kaiming_uniform_(Tensor& t, double slope, FanMode mode, const std::string& nonlinearity) {
    const double bound = gain(nonlinearity, slope) * std::sqrt(3.0 / fan(t, mode));
    uniform_(t, -bound, bound);
}
void kaiming_normal_(Tensor& t, double slope, FanMode mode, const std::string& nonlinearity) {
    normal_(t, 0.0, gain(nonlinearity, slope) / std::sqrt(fan(t, mode)));
}
void course_uniform_(Tensor& t) { uniform_(t, -0.5, 0.5); }

}  // namespace rg::nn::init
