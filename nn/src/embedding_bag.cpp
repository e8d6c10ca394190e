// EmbeddingBag. The bags' layout (which lookups are kept, and in which bag)
// is worked out on the host from the int64 indices and offsets, all checked
// before anything is allocated from them; the values go through tape ops
// only (index_select, index_add, gather), so that gradients reach weight and
// per_sample_weights at every order.
#include "argument_checks.hpp"

#include <retrograd/nn/embedding_bag.hpp>
#include <retrograd/ops.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace rg::nn {
namespace {

constexpr const char* op = "embedding_bag";

const char* mode_name(EmbeddingBagMode mode) {
    switch (mode) {
        case EmbeddingBagMode::sum: return "sum";
        case EmbeddingBagMode::mean: return "mean";
        case EmbeddingBagMode::max: return "max";
    }
    return "?";
}

// Where each bag starts in the flattened input, followed by where the last one ends.
std::vector<std::int64_t> bag_bounds(const Tensor& input, const Tensor& offsets, bool include_last_offset) {
    const auto length = static_cast<std::int64_t>(input.numel());
    if (input.dim() == 2) {
        if (offsets.defined())
            fail("embedding_bag: a 2-D input {} holds one bag per row, so offsets must be undefined, got {}",
                 shape_str(input.shape()), shape_str(offsets.shape()));
        // A (B, 0) input would make B bounds out of no data; PyTorch refuses it too.
        if (input.shape()[1] == 0)
            fail("embedding_bag: a 2-D input {} must have at least one index per bag", shape_str(input.shape()));
        const auto width = static_cast<std::int64_t>(input.shape()[1]);
        std::vector<std::int64_t> bounds;
        bounds.reserve(input.shape()[0] + 1);
        for (std::int64_t start = 0; start <= length; start += width) bounds.push_back(start);
        return bounds;
    }
    if (!offsets.defined())
        fail("embedding_bag: a 1-D input {} needs offsets, the int64 start of each bag", shape_str(input.shape()));
    if (offsets.dtype() != Dtype::int64 || offsets.dim() != 1)
        fail("embedding_bag: offsets must be a 1-D int64 tensor, got {} {}", dtype_name(offsets.dtype()),
             shape_str(offsets.shape()));
    std::vector<std::int64_t> bounds = detail::int64_values(offsets);
    if (include_last_offset && bounds.empty())
        fail("embedding_bag: with include_last_offset, offsets needs at least one entry, the end of the last bag");
    if (!bounds.empty() && bounds[0] != 0)
        fail("embedding_bag: offsets[0] must be 0, the start of the first bag, got {}", bounds[0]);
    for (std::size_t i = 1; i < bounds.size(); ++i) {
        if (bounds[i] < bounds[i - 1])
            fail("embedding_bag: offsets must not decrease, got offsets[{}] = {} after offsets[{}] = {}", i, bounds[i],
                 i - 1, bounds[i - 1]);
        if (bounds[i] > length)
            fail("embedding_bag: offsets[{}] = {} is beyond the input's {} indices", i, bounds[i], length);
    }
    if (!include_last_offset) bounds.push_back(length);  // the last bag runs to the input's end
    return bounds;
}

// The lookups that count: padding_idx ones are left out of their bags.
struct Lookups {
    std::vector<std::int64_t> positions;  // in the flattened input
    std::vector<std::int64_t> rows;  // of the table
    std::vector<std::int64_t> bags;
    std::vector<std::size_t> bag_sizes;  // lookups kept per bag
};

Lookups kept_lookups(const Tensor& input, const std::vector<std::int64_t>& bounds, std::size_t table_rows,
                     std::optional<std::int64_t> padding_idx) {
    const std::vector<std::int64_t> indices = detail::int64_values(input);
    const auto rows = static_cast<std::int64_t>(table_rows);
    for (std::size_t p = 0; p < indices.size(); ++p)
        if (indices[p] < 0 || indices[p] >= rows)
            fail("embedding_bag: index {} at position {} is out of range for a table of {} rows, expected [0, {})",
                 indices[p], p, rows, rows);
    Lookups kept;
    kept.bag_sizes.assign(bounds.size() - 1, 0);
    for (std::size_t bag = 0; bag + 1 < bounds.size(); ++bag)
        for (std::int64_t p = bounds[bag]; p < bounds[bag + 1]; ++p) {
            const std::int64_t row = indices[static_cast<std::size_t>(p)];
            if (padding_idx && row == *padding_idx) continue;
            kept.positions.push_back(p);
            kept.rows.push_back(row);
            kept.bags.push_back(static_cast<std::int64_t>(bag));
            ++kept.bag_sizes[bag];
        }
    return kept;
}

// Each bag's maximum, column by column: segment_argmax picks the lookup that
// holds it (the first, on ties) and gather takes it, so the gradient goes to
// that lookup alone, as PyTorch's. Empty bags read an appended row of zeros.
Tensor bag_maxima(const Tensor& picked, const Lookups& kept) {
    const auto lookups = static_cast<std::int64_t>(kept.rows.size());
    const Tensor with_zero_row =
        concat({picked, zeros({1, static_cast<std::int64_t>(picked.shape()[1])}, {.dtype = picked.dtype()})});
    return gather(with_zero_row, 0, segment_argmax(picked, from_indices(kept.bags), kept.bag_sizes.size(), lookups));
}

void check_per_sample_weights(const Tensor& weights, const Tensor& input, const Tensor& table, EmbeddingBagMode mode) {
    if (mode != EmbeddingBagMode::sum)
        fail("embedding_bag: per_sample_weights is only supported for mode \"sum\", as PyTorch, got mode \"{}\"",
             mode_name(mode));
    detail::named_floating_or_fail(weights, op, "per_sample_weights");
    if (weights.shape() != input.shape())
        fail("embedding_bag: per_sample_weights {} must have the input's shape {}", shape_str(weights.shape()),
             shape_str(input.shape()));
    if (weights.dtype() != table.dtype())
        fail("embedding_bag: per_sample_weights is {} but weight is {}; they must match", dtype_name(weights.dtype()),
             dtype_name(table.dtype()));
}

}  // namespace

Tensor embedding_bag(const Tensor& input, const Tensor& weight, const Tensor& offsets, EmbeddingBagOptions options,
                     const Tensor& per_sample_weights) {
    detail::named_floating_or_fail(weight, op, "weight");
    if (weight.dim() != 2)
        fail("embedding_bag: weight must be a table (num_embeddings, dim), got {}", shape_str(weight.shape()));
    if (!input.defined() || input.dtype() != Dtype::int64)
        fail("embedding_bag: expected int64 indices, got {}",
             input.defined() ? std::string(dtype_name(input.dtype())) : "an undefined tensor");
    if (input.dim() != 1 && input.dim() != 2)
        fail("embedding_bag: expected input (B, N), or (N,) with offsets, got {}", shape_str(input.shape()));
    if (per_sample_weights.defined()) check_per_sample_weights(per_sample_weights, input, weight, options.mode);
    const std::size_t table_rows = weight.shape()[0], dim = weight.shape()[1];
    std::optional<std::int64_t> padding_idx;
    if (options.padding_idx) padding_idx = detail::row_or_fail(*options.padding_idx, table_rows, op, "padding_idx");

    const Lookups kept =
        kept_lookups(input, bag_bounds(input, offsets, options.include_last_offset), table_rows, padding_idx);
    const std::size_t bags = kept.bag_sizes.size();
    Tensor picked = index_select(weight, 0, from_indices(kept.rows));
    if (options.mode == EmbeddingBagMode::max) return bag_maxima(picked, kept);
    if (per_sample_weights.defined()) {
        const Tensor flat = reshape(per_sample_weights, Shape{per_sample_weights.numel()});
        picked = picked * unsqueeze(index_select(flat, 0, from_indices(kept.positions)), 1);
    }
    Tensor sums = index_add(picked, Shape{bags, dim}, 0, from_indices(kept.bags));
    if (options.mode == EmbeddingBagMode::sum) return sums;
    // The mean over the kept lookups; an empty bag's sum, zeros, stays zeros.
    std::vector<double> counts(bags);
    std::transform(kept.bag_sizes.begin(), kept.bag_sizes.end(), counts.begin(),
                   [](std::size_t n) { return static_cast<double>(std::max<std::size_t>(n, 1)); });
    return sums / from_vector(counts, {static_cast<std::int64_t>(bags), 1}, {.dtype = weight.dtype()});
}

EmbeddingBag::EmbeddingBag(std::size_t num_embeddings, std::size_t embedding_dim, EmbeddingBagOptions opts)
    : options(opts) {
    if (num_embeddings == 0 || embedding_dim == 0)
        fail("EmbeddingBag: num_embeddings and embedding_dim must be positive, got {} and {}", num_embeddings,
             embedding_dim);
    if (opts.padding_idx)
        options.padding_idx = detail::row_or_fail(*opts.padding_idx, num_embeddings, "EmbeddingBag", "padding_idx");
    Tensor table = randn({num_embeddings, embedding_dim});
    if (options.padding_idx) select(table, 0, *options.padding_idx).fill_(0.0);
    weight = register_parameter("weight", table);
}

Tensor EmbeddingBag::forward(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights) {
    return embedding_bag(input, weight, offsets, options, per_sample_weights);
}

std::string EmbeddingBag::describe() const {
    std::string extra;
    if (options.padding_idx) extra += fmt::format(", padding_idx={}", *options.padding_idx);
    if (options.include_last_offset) extra += ", include_last_offset=true";
    return fmt::format("EmbeddingBag({}, {}, mode=\"{}\"{})", weight.shape()[0], weight.shape()[1],
                       mode_name(options.mode), extra);
}

}  // namespace rg::nn
