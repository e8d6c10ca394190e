#pragma once
/// @file
/// torch.nn.utils' helpers: the parameters as one vector and back, and the
/// padding of sequences of different lengths into one batch.
#include <retrograd/tensor.hpp>

namespace rg::nn::utils {

/// The parameters flattened and joined into one 1-D tensor, in order
/// (torch.nn.utils.parameters_to_vector). Recorded: a gradient of the vector
/// reaches each parameter.
/// @param parameters one or more tensors of one dtype, e.g. module.parameters()
/// @return a 1-D tensor of the parameters' total number of elements
/// @throws rg::Error when the list is empty, a tensor is undefined, or the dtypes differ
Tensor parameters_to_vector(const TensorList& parameters);
/// Copies consecutive slices of `vector` into the parameters, in place and not
/// recorded (torch.nn.utils.vector_to_parameters, which swaps the data instead).
/// @param vector a 1-D tensor with exactly as many elements as the parameters together
/// @param parameters the tensors written, e.g. module.parameters(); converted to their dtypes
/// @throws rg::Error when `vector` is not 1-D, its length is not the parameters'
/// total number of elements, or a parameter is undefined
void vector_to_parameters(const Tensor& vector, const TensorList& parameters);

namespace rnn {

/// Sequences of different lengths (L_i, *) padded with `padding_value` to the
/// longest length and stacked into (L_max, B, *), or (B, L_max, *) with
/// batch_first (torch.nn.utils.rnn.pad_sequence). Recorded: each sequence gets
/// the gradient of its own positions.
/// @param sequences one or more tensors of rank 1 or more, of one dtype, equal after the first axis
/// @param batch_first put the batch axis first
/// @param padding_value the value of the positions past each sequence's end
/// @throws rg::Error when the list is empty, a sequence is undefined or a scalar,
/// or the dtypes or the sizes after the first axis differ
Tensor pad_sequence(const TensorList& sequences, bool batch_first = false, double padding_value = 0.0);

}  // namespace rnn
}  // namespace rg::nn::utils
