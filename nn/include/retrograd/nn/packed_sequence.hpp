#pragma once
/// @file
/// Batches of sequences of different lengths, as torch.nn.utils.rnn: a
/// PackedSequence holds only the real steps, time-major, so that RNN, LSTM and
/// GRU run each sequence to its own end (the final state is the one after its
/// last step, and a bidirectional layer's reverse direction starts there).
#include <retrograd/tensor.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace rg::nn::utils::rnn {

/// Sequences of different lengths packed time-major, as
/// torch.nn.utils.rnn.PackedSequence: step t holds batch_sizes[t] rows, one per
/// sequence still running, longest sequence first. Made by pack_padded_sequence
/// or pack_sequence; RNN, LSTM and GRU take and return one.
class PackedSequence {
public:
    /// An empty packed sequence (undefined tensors).
    PackedSequence() = default;
    /// Checks that the four tensors describe a packed batch.
    /// @param data (sum of the lengths, *), the steps of every sequence
    /// @param batch_sizes 1-D int64, positive and non-increasing, summing to data's first size
    /// @param sorted_indices 1-D int64, the original batch index of each packed
    /// column (longest first), or undefined when the batch came sorted
    /// @param unsorted_indices its inverse permutation, undefined with it
    /// @throws rg::Error when a tensor is of the wrong dtype or shape, the batch
    /// sizes are not positive and non-increasing or do not sum to data's rows, or
    /// the indices are not a permutation and its inverse
    PackedSequence(Tensor data, Tensor batch_sizes, Tensor sorted_indices = {}, Tensor unsorted_indices = {});

    /// (sum of the lengths, *): the rows of step 0, then step 1...
    const Tensor& data() const { return data_; }
    /// 1-D int64: how many sequences run at each step.
    const Tensor& batch_sizes() const { return batch_sizes_; }
    /// 1-D int64: the original batch index of each packed column; undefined when the batch came sorted.
    const Tensor& sorted_indices() const { return sorted_indices_; }
    /// 1-D int64: the packed column of each original batch index; undefined when the batch came sorted.
    const Tensor& unsorted_indices() const { return unsorted_indices_; }
    /// The same batch around other data (an RNN's output), with these sizes and indices.
    /// @param data (sum of the lengths, *)
    /// @throws rg::Error when data's first size is not the sum of the batch sizes
    PackedSequence with_data(Tensor data) const;
    /// Whether data() is defined.
    bool defined() const { return data_.defined(); }

private:
    Tensor data_, batch_sizes_, sorted_indices_, unsorted_indices_;
};

/// pad_packed_sequence's result: the padded batch and each sequence's length.
struct PaddedSequence {
    /// (T, B, *), or (B, T, *) with batch_first, in the original batch order.
    Tensor padded;
    /// 1-D int64, each sequence's length, in the original batch order.
    Tensor lengths;
};

/// Packs a padded batch (torch.nn.utils.rnn.pack_padded_sequence). Recorded:
/// each step of each sequence gets the gradient of its packed row; the padding none.
/// @param input (T, B, *), or (B, T, *) with batch_first
/// @param lengths B lengths in [1, T]: a 1-D int64 tensor or a vector
/// @param batch_first whether input's batch axis comes first
/// @param enforce_sorted require lengths in non-increasing order (then no indices
/// are kept); false sorts the batch, longest first, and keeps the permutation
/// @throws rg::Error when input is undefined or has fewer than 2 axes, the number
/// of lengths is not B, a length is outside [1, T], or enforce_sorted finds them unsorted
PackedSequence pack_padded_sequence(const Tensor& input, const Tensor& lengths, bool batch_first = false,
                                    bool enforce_sorted = true);
/// pack_padded_sequence with the lengths as a vector.
/// @param input (T, B, *), or (B, T, *) with batch_first
/// @param lengths B lengths in [1, T]
/// @param batch_first whether input's batch axis comes first
/// @param enforce_sorted require lengths in non-increasing order
/// @throws rg::Error as the tensor overload
PackedSequence pack_padded_sequence(const Tensor& input, const std::vector<std::int64_t>& lengths,
                                    bool batch_first = false, bool enforce_sorted = true);

/// Unpacks into a padded batch (torch.nn.utils.rnn.pad_packed_sequence), in the
/// batch order before packing. Recorded: each packed row gets the gradient of its position.
/// @param sequence a packed batch
/// @param batch_first return (B, T, *) instead of (T, B, *)
/// @param padding_value the value past each sequence's end
/// @param total_length pad to this many steps instead of the longest length
/// @throws rg::Error when the sequence is undefined or total_length is below the longest length
PaddedSequence pad_packed_sequence(const PackedSequence& sequence, bool batch_first = false, double padding_value = 0.0,
                                   std::optional<std::size_t> total_length = std::nullopt);

/// Packs sequences of shape (L_i, *) (torch.nn.utils.rnn.pack_sequence):
/// pad_sequence, then pack_padded_sequence with their lengths.
/// @param sequences one or more tensors of rank 1 or more, of one dtype, equal after the first axis, none empty
/// @param enforce_sorted require the sequences longest first
/// @throws rg::Error as pad_sequence and pack_padded_sequence
PackedSequence pack_sequence(const TensorList& sequences, bool enforce_sorted = true);

}  // namespace rg::nn::utils::rnn
