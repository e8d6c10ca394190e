#pragma once
// Parameter initialisers (in place, not recorded), drawing from the generator
// that rg::manual_seed seeds. Fans follow PyTorch: for a weight of shape
// (out, in, k...) fan_in = in * k..., fan_out = out * k...
#include <retrograd/tensor.hpp>

namespace rg::nn::init {

enum class FanMode { fan_in, fan_out };

std::pair<std::size_t, std::size_t> fans(const Tensor& weight);  // (fan_in, fan_out)
// The gain recommended for a nonlinearity: "linear"/"sigmoid" 1, "tanh" 5/3,
// "relu" √2, "leaky_relu" √(2 / (1 + slope²)).
double gain(const std::string& nonlinearity, double slope = 0.01);

void zeros_(Tensor& t);
void constant_(Tensor& t, double value);
void uniform_(Tensor& t, double low, double high);
void normal_(Tensor& t, double mean = 0.0, double std = 1.0);
void xavier_uniform_(Tensor& t, double gain = 1.0);
void xavier_normal_(Tensor& t, double gain = 1.0);
void kaiming_uniform_(Tensor& t, double slope = 0.0, FanMode mode = FanMode::fan_in,
                      const std::string& nonlinearity = "leaky_relu");
void kaiming_normal_(Tensor& t, double slope = 0.0, FanMode mode = FanMode::fan_in,
                     const std::string& nonlinearity = "leaky_relu");
// The course's initialisation (*Réseaux de neurones en pratique*, part V): uniform in [-0.5, 0.5).
void course_uniform_(Tensor& t);

}  // namespace rg::nn::init
