#pragma once
/// @file
/// Functional helpers of torch.nn.functional that are not layers nor losses:
/// cosine_similarity, normalize, pairwise_distance, one_hot, and the modules
/// CosineSimilarity and PairwiseDistance. Each is built from tape ops.
#include <retrograd/nn/module.hpp>
#include <retrograd/tensor.hpp>

#include <cstdint>
#include <string>

namespace rg::nn {

/// The cosine of the angle between x1 and x2 along dim (torch::nn::functional::cosine_similarity,
/// PyTorch 1.13), x1 and x2 broadcast to a common shape first: Σ (x1 / max(‖x1‖, eps)) (x2 / max(‖x2‖, eps))
/// over dim. This is the form PyTorch computes since 1.12 (before, x1·x2 / sqrt(max(‖x1‖² ‖x2‖², eps²)));
/// as there, each norm's floor is a value only: its gradient stays the norm's.
/// @param x1 a float tensor
/// @param x2 a float tensor of x1's dtype, broadcasting with x1
/// @param dim the axis of the vectors, in the broadcast shape; removed from the result
/// @param eps the smallest norm divided by
/// @throws rg::Error when x1 or x2 is not float32 or float64, their dtypes differ, their shapes do not
/// broadcast, or dim is out of range
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int dim = 1, double eps = 1e-8);

/// x divided by its p-norm along dim, the norm raised to eps first (torch::nn::functional::normalize):
/// x / max(‖x‖_p, eps), an all-zero vector staying zero.
/// @param x a float tensor
/// @param p the norm's degree, as rg::norm's: p >= 0, inf or -inf
/// @param dim the axis normalised
/// @param eps the smallest norm divided by
/// @throws rg::Error when p is another value, x is not float32 or float64, or dim is out of range
Tensor normalize(const Tensor& x, double p = 2.0, int dim = 1, double eps = 1e-12);

/// The p-norm of x1 - x2 + eps over the last axis of their broadcast shape
/// (torch::nn::functional::pairwise_distance, PyTorch 1.13: eps is added to every difference).
/// @param x1 a float tensor
/// @param x2 a float tensor of x1's dtype, broadcasting with x1
/// @param p the norm's degree, as rg::norm's: p >= 0, inf or -inf
/// @param eps added to each difference, keeping the 2-norm's gradient finite where x1 = x2
/// @param keepdim keep the last axis with size 1
/// @throws rg::Error when p is another value, x1 or x2 is not float32 or float64, their dtypes differ,
/// or their shapes do not broadcast
Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, double p = 2.0, double eps = 1e-6, bool keepdim = false);

/// int64 class indices as one-hot rows (torch::nn::functional::one_hot): an int64 tensor of the
/// indices' shape with a trailing axis of num_classes, 1 at each index and 0 elsewhere. Not
/// differentiable. rg::data::one_hot gives float rows for 1-D labels.
/// @param indices int64 class indices, each in [0, num_classes)
/// @param num_classes the trailing axis's size; -1: the largest index + 1
/// @throws rg::Error when indices is not int64, an index is negative or at least num_classes,
/// num_classes is below -1, or num_classes is -1 and indices is empty
Tensor one_hot(const Tensor& indices, std::int64_t num_classes = -1);

/// The options of CosineSimilarity (torch::nn::CosineSimilarityOptions).
struct CosineSimilarityOptions {
    /// The axis of the vectors.
    int dim = 1;
    /// The smallest norm divided by.
    double eps = 1e-8;
};
/// cosine_similarity as a module (torch::nn::CosineSimilarity); no parameters.
class CosineSimilarity : public Callable<CosineSimilarity> {
public:
    /// @param options dim and eps
    explicit CosineSimilarity(CosineSimilarityOptions options = {}) : options_(options) {}
    /// cosine_similarity(x1, x2, dim, eps).
    /// @param x1 a float tensor
    /// @param x2 a float tensor broadcasting with x1
    /// @throws rg::Error as cosine_similarity
    Tensor forward(const Tensor& x1, const Tensor& x2);
    /// "CosineSimilarity(dim=..., eps=...)".
    std::string describe() const override;

private:
    CosineSimilarityOptions options_;
};

/// The options of PairwiseDistance (torch::nn::PairwiseDistanceOptions).
struct PairwiseDistanceOptions {
    /// The norm's degree: p >= 0, inf or -inf.
    double p = 2.0;
    /// Added to each difference.
    double eps = 1e-6;
    /// Keep the last axis with size 1.
    bool keepdim = false;
};
/// pairwise_distance as a module (torch::nn::PairwiseDistance); no parameters.
class PairwiseDistance : public Callable<PairwiseDistance> {
public:
    /// @param options p, eps and keepdim
    explicit PairwiseDistance(PairwiseDistanceOptions options = {}) : options_(options) {}
    /// pairwise_distance(x1, x2, p, eps, keepdim).
    /// @param x1 a float tensor
    /// @param x2 a float tensor broadcasting with x1
    /// @throws rg::Error as pairwise_distance
    Tensor forward(const Tensor& x1, const Tensor& x2);
    /// "PairwiseDistance(p=..., eps=..., keepdim=...)".
    std::string describe() const override;

private:
    PairwiseDistanceOptions options_;
};

}  // namespace rg::nn
