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
/// Fills `t` with ones.
/// @param t the tensor to fill, in place
void ones_(Tensor& t);
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
/// The identity matrix, ones on the main diagonal and zeros elsewhere, also when
/// `t` is not square (torch.nn.init.eye_).
/// @param t a tensor of rank 2, filled in place
/// @throws rg::Error when `t` is not of rank 2
void eye_(Tensor& t);
/// The Dirac delta of a convolution's weight (out, in, k...): a convolution
/// with it returns its input's channels unchanged (torch.nn.init.dirac_). With
/// groups, each group of out / groups output channels gets its own identity.
/// @param t a weight of rank 3, 4 or 5, filled in place
/// @param groups the convolution's groups, > 0, dividing t's first size
/// @throws rg::Error when `t`'s rank is not 3, 4 or 5, groups is 0, or does not
/// divide the first size
void dirac_(Tensor& t, std::size_t groups = 1);
/// A (semi-)orthogonal matrix times `gain` (Saxe et al. 2013, torch.nn.init.orthogonal_):
/// the Q of the QR factorisation of a standard normal matrix, its columns' signs
/// those of R's diagonal, so that Q is uniformly distributed. A weight of rank
/// more than 2 is seen as (size 0, the product of the others); with more rows
/// than columns the columns are orthonormal (WᵀW = gain² I), else the rows (WWᵀ = gain² I).
/// @param t a floating tensor of rank 2 or more, filled in place
/// @param gain the factor of the orthonormal matrix
/// @throws rg::Error when `t` has rank 0 or 1, or is not floating
void orthogonal_(Tensor& t, double gain = 1.0);
/// The normal distribution N(mean, std²) truncated to [a, b], by PyTorch
/// 1.13's inverse-CDF method: uniform values between the CDF at a and at b,
/// mapped back through the inverse CDF (torch.nn.init.trunc_normal_). Every
/// value is inside [a, b]. Accurate while [a, b] is not far in one tail.
/// @param t a floating tensor, filled in place
/// @param mean the mean of the normal before truncation
/// @param std its standard deviation, >= 0
/// @param a the lower bound
/// @param b the upper bound, >= a
/// @throws rg::Error when std is negative, a > b, a bound is NaN, or `t` is not floating
void trunc_normal_(Tensor& t, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0);
/// A sparse matrix (Martens 2010, torch.nn.init.sparse_): N(0, std²) values, and in
/// each column ceil(sparsity · rows) of them, at rows drawn at random, set to zero.
/// @param t a floating tensor of rank 2, filled in place
/// @param sparsity the fraction of each column that is zero, in [0, 1]
/// @param std the standard deviation of the values that are not zero, >= 0
/// @throws rg::Error when `t` is not of rank 2 or not floating, sparsity is
/// outside [0, 1], or std is negative
void sparse_(Tensor& t, double sparsity, double std = 0.01);
/// The course's initialisation (*Réseaux de neurones en pratique*, part V): uniform in [-0.5, 0.5).
/// @param t the tensor to fill, in place
void course_uniform_(Tensor& t);

}  // namespace rg::nn::init
