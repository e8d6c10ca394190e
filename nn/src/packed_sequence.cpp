// Packing and unpacking are index_select on the batch's rows, so the tape
// carries each step's gradient to its position; nothing here has a backward.
#include "argument_checks.hpp"

#include <retrograd/nn/packed_sequence.hpp>
#include <retrograd/nn/utils.hpp>
#include <retrograd/ops.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <string>

namespace rg::nn::utils::rnn {
namespace {

using detail::int64_values;

// "undefined", or "float32 of shape (2, 3)".
std::string dtype_and_shape(const Tensor& t) {
    return t.defined() ? fmt::format("{} of shape {}", dtype_name(t.dtype()), shape_str(t.shape())) : "undefined";
}

bool is_int64_vector(const Tensor& t) { return t.defined() && t.dtype() == Dtype::int64 && t.dim() == 1; }

// Rows before step t in the packed data.
std::vector<std::int64_t> step_offsets(const std::vector<std::int64_t>& batch_sizes) {
    std::vector<std::int64_t> offsets(batch_sizes.size(), 0);
    std::exclusive_scan(batch_sizes.begin(), batch_sizes.end(), offsets.begin(), std::int64_t{0});
    return offsets;
}

}  // namespace

PackedSequence::PackedSequence(Tensor data, Tensor batch_sizes, Tensor sorted_indices, Tensor unsorted_indices)
    : data_(std::move(data)),
      batch_sizes_(std::move(batch_sizes)),
      sorted_indices_(std::move(sorted_indices)),
      unsorted_indices_(std::move(unsorted_indices)) {
    if (!data_.defined() || data_.dim() == 0)
        fail("PackedSequence: data is {}, expected a tensor of shape (sum of the lengths, *)",
             data_.defined() ? "a scalar" : "undefined");
    if (!is_int64_vector(batch_sizes_) || batch_sizes_.numel() == 0)
        fail("PackedSequence: batch_sizes is {}, expected a non-empty 1-D int64 tensor", dtype_and_shape(batch_sizes_));
    const std::vector<std::int64_t> sizes = int64_values(batch_sizes_);
    for (std::size_t t = 0; t < sizes.size(); ++t)
        if (sizes[t] < 1 || (t > 0 && sizes[t] > sizes[t - 1]))
            fail("PackedSequence: batch_sizes[{}] is {}, expected positive sizes that never grow (the sequences "
                 "run longest first)",
                 t, sizes[t]);
    const std::int64_t rows = std::accumulate(sizes.begin(), sizes.end(), std::int64_t{0});
    if (static_cast<std::int64_t>(data_.shape()[0]) != rows)
        fail("PackedSequence: data has shape {}, expected {} rows, the sum of batch_sizes", shape_str(data_.shape()),
             rows);
    if (sorted_indices_.defined() != unsorted_indices_.defined())
        fail("PackedSequence: sorted_indices is {} but unsorted_indices is {}; give both or neither",
             sorted_indices_.defined() ? "given" : "undefined", unsorted_indices_.defined() ? "given" : "undefined");
    if (!sorted_indices_.defined()) return;
    const auto batch = static_cast<std::size_t>(sizes[0]);
    for (const Tensor* indices : {&sorted_indices_, &unsorted_indices_})
        if (!is_int64_vector(*indices) || indices->numel() != batch)
            fail("PackedSequence: {} is {}, expected a 1-D int64 tensor of {} indices (batch_sizes[0])",
                 indices == &sorted_indices_ ? "sorted_indices" : "unsorted_indices", dtype_and_shape(*indices), batch);
    const std::vector<std::int64_t> sorted = int64_values(sorted_indices_), unsorted = int64_values(unsorted_indices_);
    for (std::size_t j = 0; j < batch; ++j) {
        const std::int64_t i = sorted[j];
        if (i < 0 || i >= static_cast<std::int64_t>(batch) ||
            unsorted[static_cast<std::size_t>(i)] != static_cast<std::int64_t>(j))
            fail("PackedSequence: sorted_indices and unsorted_indices are not a permutation of 0..{} and its inverse",
                 batch - 1);
    }
}

PackedSequence PackedSequence::with_data(Tensor data) const {
    return {std::move(data), batch_sizes_, sorted_indices_, unsorted_indices_};
}

PackedSequence pack_padded_sequence(const Tensor& input, const std::vector<std::int64_t>& lengths, bool batch_first,
                                    bool enforce_sorted) {
    if (!input.defined() || input.dim() < 2)
        fail("pack_padded_sequence: input is {}, expected (T, B, *){}", dtype_and_shape(input),
             batch_first ? ", batch first: (B, T, *)" : "");
    const Tensor x = batch_first ? transpose(input, 0, 1) : input;  // (T, B, *)
    const auto steps = static_cast<std::int64_t>(x.shape()[0]);
    const std::size_t batch = x.shape()[1];
    if (batch == 0)
        fail("pack_padded_sequence: input of shape {} holds no sequence{}, expected at least one",
             shape_str(input.shape()), batch_first ? " (batch first)" : "");
    if (lengths.size() != batch)
        fail("pack_padded_sequence: {} lengths for a batch of {} (input of shape {}{}), expected one per sequence",
             lengths.size(), batch, shape_str(input.shape()), batch_first ? ", batch first" : "");
    for (std::size_t i = 0; i < batch; ++i)
        if (lengths[i] < 1 || lengths[i] > steps)
            fail("pack_padded_sequence: lengths[{}] is {}, expected a length in [1, {}] (the input's {} steps)", i,
                 lengths[i], steps, steps);
    // order[j]: the batch index of packed column j, longest first; ties keep the batch order.
    std::vector<std::int64_t> order(batch);
    std::iota(order.begin(), order.end(), std::int64_t{0});
    if (enforce_sorted) {
        for (std::size_t i = 1; i < batch; ++i)
            if (lengths[i] > lengths[i - 1])
                fail("pack_padded_sequence: lengths[{}] = {} follows lengths[{}] = {}; with enforce_sorted the lengths "
                     "must not grow (pass enforce_sorted = false to sort them)",
                     i, lengths[i], i - 1, lengths[i - 1]);
    } else {
        std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
            return lengths[static_cast<std::size_t>(a)] > lengths[static_cast<std::size_t>(b)];
        });
    }
    const std::int64_t longest = lengths[static_cast<std::size_t>(order[0])];
    std::vector<std::int64_t> batch_sizes, rows;
    for (std::int64_t t = 0; t < longest; ++t) {
        std::int64_t running = 0;
        for (std::int64_t i : order) {
            if (lengths[static_cast<std::size_t>(i)] <= t) break;
            rows.push_back(t * static_cast<std::int64_t>(batch) + i);
            ++running;
        }
        batch_sizes.push_back(running);
    }
    Shape flat{static_cast<std::size_t>(steps) * batch};
    for (std::size_t axis = 2; axis < x.dim(); ++axis) flat.push_back(x.shape()[axis]);
    Tensor data = index_select(reshape(x, flat), 0, from_indices(rows));
    if (enforce_sorted) return {data, from_indices(batch_sizes)};
    std::vector<std::int64_t> inverse(batch);
    for (std::size_t j = 0; j < batch; ++j) inverse[static_cast<std::size_t>(order[j])] = static_cast<std::int64_t>(j);
    return {data, from_indices(batch_sizes), from_indices(order), from_indices(inverse)};
}

PackedSequence pack_padded_sequence(const Tensor& input, const Tensor& lengths, bool batch_first, bool enforce_sorted) {
    if (!is_int64_vector(lengths))
        fail("pack_padded_sequence: lengths is {}, expected a 1-D int64 tensor", dtype_and_shape(lengths));
    return pack_padded_sequence(input, int64_values(lengths), batch_first, enforce_sorted);
}

PaddedSequence pad_packed_sequence(const PackedSequence& sequence, bool batch_first, double padding_value,
                                   std::optional<std::size_t> total_length) {
    if (!sequence.defined()) fail("pad_packed_sequence: the packed sequence is empty (undefined data)");
    const std::vector<std::int64_t> sizes = int64_values(sequence.batch_sizes());
    const std::vector<std::int64_t> offsets = step_offsets(sizes);
    const std::size_t longest = sizes.size(), batch = static_cast<std::size_t>(sizes[0]);
    if (total_length && *total_length < longest)
        fail("pad_packed_sequence: total_length is {}, expected at least the longest length, {}", *total_length,
             longest);
    std::vector<std::int64_t> column(batch);  // the packed column of each original batch index
    std::iota(column.begin(), column.end(), std::int64_t{0});
    if (sequence.unsorted_indices().defined()) column = int64_values(sequence.unsorted_indices());

    const Tensor& data = sequence.data();
    const auto padding_row = static_cast<std::int64_t>(data.shape()[0]);
    std::vector<std::int64_t> rows(longest * batch), lengths(batch, 0);
    for (std::size_t t = 0; t < longest; ++t)
        for (std::size_t i = 0; i < batch; ++i) {
            const std::int64_t j = column[i];
            const bool running = j < sizes[t];
            rows[t * batch + i] = running ? offsets[t] + j : padding_row;
            if (running) ++lengths[i];
        }
    Shape row_shape = data.shape();
    row_shape[0] = 1;
    const Tensor padded_rows = concat({data, full(row_shape, padding_value, {data.dtype()})});
    Shape shape{longest, batch};
    for (std::size_t axis = 1; axis < data.dim(); ++axis) shape.push_back(data.shape()[axis]);
    Tensor padded = reshape(index_select(padded_rows, 0, from_indices(rows)), shape);
    if (total_length && *total_length > longest) {  // a block of padding below; full() checks its size
        shape[0] = *total_length - longest;
        padded = concat({padded, full(shape, padding_value, {data.dtype()})});
    }
    return {batch_first ? transpose(padded, 0, 1) : padded, from_indices(lengths)};
}

PackedSequence pack_sequence(const TensorList& sequences, bool enforce_sorted) {
    std::vector<std::int64_t> lengths;
    for (const Tensor& s : sequences)
        lengths.push_back(s.defined() && s.dim() > 0 ? static_cast<std::int64_t>(s.shape()[0]) : 0);
    return pack_padded_sequence(pad_sequence(sequences), lengths, false, enforce_sorted);
}

}  // namespace rg::nn::utils::rnn
