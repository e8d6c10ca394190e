#pragma once
// Datasets and batching: a TensorDataset pairs inputs with targets along
// axis 0; a DataLoader cuts it into (optionally shuffled) batches.
#include <retrograd/tensor.hpp>

#include <cstdint>
#include <utility>
#include <vector>

namespace rg::data {

struct Batch {
    Tensor inputs;
    Tensor targets;
};

class TensorDataset {
public:
    TensorDataset(Tensor inputs, Tensor targets);
    std::size_t size() const { return inputs_.shape()[0]; }
    Batch get(const std::vector<std::int64_t>& indices) const;  // rows gathered in that order
    const Tensor& inputs() const { return inputs_; }
    const Tensor& targets() const { return targets_; }

private:
    Tensor inputs_, targets_;
};

// Splits off the last `fraction` of a (seeded) permutation as validation.
std::pair<TensorDataset, TensorDataset> train_val_split(const TensorDataset& data, double fraction,
                                                        std::uint64_t seed = 0);

struct LoaderOptions {
    std::size_t batch_size = 64;
    bool shuffle = false;
    bool drop_last = false;  // drop a final batch smaller than batch_size
    std::uint64_t seed = 0;  // shuffling is repeatable for a seed; each epoch draws a new order
    // Sharding for data-parallel training (as PyTorch's DistributedSampler):
    // every rank draws the same order for an epoch and keeps the positions
    // rank, rank + world_size, rank + 2 world_size... so the ranks' parts are
    // disjoint, and together their k-th batches (of batch_size each) are the
    // k-th batch of world_size * batch_size of the unsharded order.
    std::size_t rank = 0;
    std::size_t world_size = 1;
    // When the sample count is not a multiple of world_size: false pads the
    // order with its first samples so that every rank gets as many (some
    // samples are seen twice per epoch), true drops its last samples instead.
    // Either way every rank has the same number of batches.
    bool drop_remainder = false;
};

class DataLoader {
public:
    DataLoader(TensorDataset data, LoaderOptions options = {});
    std::size_t batches() const;  // per epoch
    std::size_t samples() const { return shard_size_; }  // per epoch, on this rank
    // Starts an epoch: a new order when shuffling. The order depends only on
    // the seed and the epoch number, so a resumed run replays the same batches.
    void reset();
    void reset(std::uint64_t epoch);
    // The next batch of the epoch, or false at its end.
    bool next(Batch& batch);
    const TensorDataset& dataset() const { return data_; }

private:
    TensorDataset data_;
    LoaderOptions options_;
    std::vector<std::int64_t> order_;
    std::size_t position_ = 0;
    std::uint64_t epoch_ = 0;
    std::size_t shard_size_ = 0;
};

// int64 class indices (N,) -> (N, classes) rows of 0 and 1.
Tensor one_hot(const Tensor& labels, std::size_t classes, Dtype dtype = Dtype::float32);

}  // namespace rg::data
