#pragma once
/// @file
/// Parameter initialisers (in place, not recorded), drawing from the generator
/// that rg::manual_seed seeds. Fans follow PyTorch: for a weight of shape
/// (out, in, k...) fan_in = in * k..., fan_out = out * k...
#include <retrograd/tensor.hpp>

namespace rg::nn::init {

/// Which fan Kaiming initialisation keeps the variance of.
enum class FanMode {
    fan_in,  ///< the forward pass's (PyTorch's default)
    fan_out,  ///< the backward pass's
};

/// (fan_in, fan_out) of a weight of shape (out, in, k...).
/// @param weight a tensor of rank 2 or more
/// @throws rg::Error when `weight` has rank 0 or 1
std::pair<std::size_t, std::size_t> fans(const Tensor& weight);
/// The gain recommended for a nonlinearity: "linear"/"sigmoid" 1, "tanh" 5/3,
/// "relu" √2, "leaky_relu" √(2 / (1 + slope²)).
/// @param nonlinearity linear, sigmoid, tanh, relu or leaky_relu
/// @param slope leaky_relu's negative slope
/// @throws rg::Error for another nonlinearity
double gain(const std::string& nonlinearity, double slope = 0.01);

/// Fills `t` with zeros.
/// @param t the tensor to fill, in place
void zeros_(Tensor& t);
/// Fills `t` with `value`.
/// @param t the tensor to fill, in place
/// @param value the value of every element
void constant_(Tensor& t, double value);
/// Fills `t` uniformly from [low, high).
/// @param t the tensor to fill, in place
/// @param low the lower bound
/// @param high the upper bound (excluded)
void uniform_(Tensor& t, double low, double high);
/// Fills `t` from the normal distribution N(mean, std²).
/// @param t the tensor to fill, in place
/// @param mean the mean
/// @param std the standard deviation
/// @throws rg::Error when `std` is negative
void normal_(Tensor& t, double mean = 0.0, double std = 1.0);
/// Glorot: uniform in ±gain √(6 / (fan_in + fan_out)).
/// @param t a weight of rank 2 or more, filled in place
/// @param gain a factor, e.g. gain("tanh")
/// @throws rg::Error when `t` has rank 0 or 1
void xavier_uniform_(Tensor& t, double gain = 1.0);
/// Glorot: normal with std gain √(2 / (fan_in + fan_out)).
/// @param t a weight of rank 2 or more, filled in place
/// @param gain a factor, e.g. gain("tanh")
/// @throws rg::Error when `t` has rank 0 or 1
void xavier_normal_(Tensor& t, double gain = 1.0);
/// He: uniform in ±gain(nonlinearity, slope) √(3 / fan), as PyTorch's.
/// @param t a weight of rank 2 or more, filled in place
/// @param slope the negative slope of leaky_relu
/// @param mode which fan keeps its variance
/// @param nonlinearity what follows the layer (see gain())
/// @throws rg::Error when `t` has rank 0 or 1, or for an unknown nonlinearity
void kaiming_uniform_(Tensor& t, double slope = 0.0, FanMode mode = FanMode::fan_in,
                      const std::string& nonlinearity = "leaky_relu");
/// He: normal with std gain(nonlinearity, slope) / √fan, as PyTorch's.
/// @param t a weight of rank 2 or more, filled in place
/// @param slope the negative slope of leaky_relu
/// @param mode which fan keeps its variance
/// @param nonlinearity what follows the layer (see gain())
/// @throws rg::Error when `t` has rank 0 or 1, or for an unknown nonlinearity
void kaiming_normal_(Tensor& t, double slope = 0.0, FanMode mode = FanMode::fan_in,
                     const std::string& nonlinearity = "leaky_relu");
/// The course's initialisation (*Réseaux de neurones en pratique*, part V): uniform in [-0.5, 0.5).
/// @param t the tensor to fill, in place
void course_uniform_(Tensor& t);

}  // namespace rg::nn::init
