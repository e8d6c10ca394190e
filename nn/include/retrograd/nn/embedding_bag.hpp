#pragma once
/// @file
/// EmbeddingBag, PyTorch 1.13's: the sums, means or maxima of bags of rows of
/// a lookup table, without the (bags, indices, dim) tensor of an Embedding
/// followed by a reduction. Composed from tape ops (index_select, index_add,
/// gather); it has no backward of its own.
#include <retrograd/nn/module.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace rg::nn {

/// How embedding_bag reduces each bag, as PyTorch's mode strings.
enum class EmbeddingBagMode {
    sum,  ///< "sum": the rows added up, each scaled by its per_sample_weights entry if given
    mean,  ///< "mean": the sum divided by the bag's number of rows
    max,  ///< "max": the largest value of each column; its gradient goes to that row alone
};

/// The options of embedding_bag and EmbeddingBag, as torch.nn.EmbeddingBag's
/// (without max_norm, norm_type, scale_grad_by_freq and sparse, which are not offered).
struct EmbeddingBagOptions {
    EmbeddingBagMode mode = EmbeddingBagMode::mean;  ///< PyTorch's default is mean
    /// Indices equal to this row are left out of their bag (and of the mean's
    /// count); negative counts from the end, as PyTorch. EmbeddingBag starts
    /// this row at zeros.
    std::optional<std::int64_t> padding_idx;
    /// offsets has B + 1 entries, the last the end of the last bag, as CSR
    /// row pointers; otherwise B, the last bag running to the input's end.
    bool include_last_offset = false;
};

/// Bags of rows of weight reduced to one row each, as
/// torch.nn.functional.embedding_bag: a 2-D input (B, N) is B bags of N
/// indices (offsets undefined); a 1-D input (N,) is split into bags at the
/// int64 offsets, bag b spanning [offsets[b], offsets[b + 1]). An empty bag
/// (or one of padding only) gives a row of zeros.
/// @param input int64 indices into weight's rows, (B, N) or (N,)
/// @param weight the table (num_embeddings, dim), float32 or float64
/// @param offsets undefined for a 2-D input; for a 1-D one, int64 (B,) (or (B + 1,)
///   with include_last_offset), starting at 0, non-decreasing, at most N
/// @param options mode, padding_idx, include_last_offset
/// @param per_sample_weights undefined, or (mode sum only) a float tensor of
///   input's shape and weight's dtype that scales each row before the sum
/// @return (B, dim)
/// @throws rg::Error if input is not int64 1-D or 2-D, offsets is missing,
///   present for a 2-D input, not int64 1-D or not as above, an index or
///   padding_idx is out of range, or per_sample_weights is given for mean or
///   max, or has another shape or dtype
Tensor embedding_bag(const Tensor& input, const Tensor& weight, const Tensor& offsets = {},
                     EmbeddingBagOptions options = {}, const Tensor& per_sample_weights = {});

/// A lookup table whose forward reduces bags of rows, as torch.nn.EmbeddingBag:
/// weight (num_embeddings, dim) initialised from N(0, 1), the padding_idx row zeros.
class EmbeddingBag : public Module {
public:
    /// @param num_embeddings the number of rows, > 0
    /// @param embedding_dim each row's size, > 0
    /// @param options mode, padding_idx, include_last_offset
    /// @throws rg::Error when a size is 0 or padding_idx is outside [-num_embeddings, num_embeddings)
    EmbeddingBag(std::size_t num_embeddings, std::size_t embedding_dim, EmbeddingBagOptions options = {});
    /// The bags of a 2-D input (B, N) -> (B, dim).
    /// @param input int64 indices (B, N)
    /// @throws rg::Error as embedding_bag
    Tensor forward(const Tensor& input) override { return forward(input, Tensor{}); }
    /// embedding_bag(input, weight, offsets, options, per_sample_weights).
    /// @param input int64 indices, (N,) with offsets or (B, N) without
    /// @param offsets int64 starts of the bags of a 1-D input, undefined for a 2-D one
    /// @param per_sample_weights undefined, or (mode sum) input's shape
    /// @throws rg::Error as embedding_bag
    Tensor forward(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights = {});
    /// "EmbeddingBag(num_embeddings, dim, mode=\"mean\")", and padding_idx and include_last_offset when set.
    std::string describe() const override;
    Tensor weight;  ///< (num_embeddings, dim)
    EmbeddingBagOptions options;  ///< as given, padding_idx made non-negative
};

}  // namespace rg::nn
