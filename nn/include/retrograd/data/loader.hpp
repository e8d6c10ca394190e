#pragma once
/// @file
/// Datasets and batching: a Dataset gives the samples at some indices as one
/// batch; a TensorDataset pairs inputs with targets along axis 0, a Subset
/// picks samples of another data set without copying them; a DataLoader cuts
/// a data set into (optionally shuffled) batches.
#include <retrograd/tensor.hpp>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace rg::data {

/// A batch: inputs and their targets, samples along axis 0.
struct Batch {
    Tensor inputs;  ///< the batch's inputs
    Tensor targets;  ///< their targets
};

/// What a DataLoader batches: samples by index, a batch at a time (as
/// LibTorch's BatchDataset::get_batch). A data set may keep its samples in any
/// form (bytes on disk, compressed...) and convert only the batch asked for.
class Dataset {
public:
    /// Destroys the data set.
    virtual ~Dataset() = default;
    /// The number of samples.
    virtual std::size_t size() const = 0;
    /// The samples at `indices`, stacked along axis 0 in that order.
    /// @param indices sample positions, each below size()
    /// @throws rg::Error when an index is out of range
    virtual Batch get(const std::vector<std::int64_t>& indices) const = 0;

protected:
    /// For derived classes only.
    Dataset() = default;
    /// Copies (a derived data set's copy).
    Dataset(const Dataset&) = default;
    /// Assigns (a derived data set's assignment).
    /// @return this
    Dataset& operator=(const Dataset&) = default;
};

/// Inputs paired with targets along axis 0 (as PyTorch's TensorDataset).
class TensorDataset : public Dataset {
public:
    /// @param inputs the samples, along axis 0
    /// @param targets one target per sample, along axis 0
    /// @throws rg::Error when they differ in sample count
    TensorDataset(Tensor inputs, Tensor targets);
    /// The number of samples.
    std::size_t size() const override { return inputs_.shape()[0]; }
    /// The samples at `indices`, gathered in that order.
    /// @param indices sample positions, each below size()
    Batch get(const std::vector<std::int64_t>& indices) const override;
    /// All the inputs.
    const Tensor& inputs() const { return inputs_; }
    /// All the targets.
    const Tensor& targets() const { return targets_; }

private:
    Tensor inputs_, targets_;
};

/// Some samples of another data set, by position (as PyTorch's
/// torch.utils.data.Subset): nothing is copied, get() reads the shared data set.
class Subset : public Dataset {
public:
    /// @param data the data set the samples are read from (shared)
    /// @param indices positions in `data`, each below data->size()
    /// @throws rg::Error when `data` is null or an index is out of range
    Subset(std::shared_ptr<const Dataset> data, std::vector<std::int64_t> indices);
    /// The number of samples picked.
    std::size_t size() const override { return indices_.size(); }
    /// The picked samples at `indices` (positions in the subset).
    /// @param indices positions in the subset, each below size()
    /// @throws rg::Error when an index is out of range
    Batch get(const std::vector<std::int64_t>& indices) const override;
    /// The positions in the underlying data set.
    const std::vector<std::int64_t>& indices() const { return indices_; }

private:
    std::shared_ptr<const Dataset> data_;
    std::vector<std::int64_t> indices_;
};

/// Splits off the last `fraction` of a (seeded) permutation as validation.
/// @param data the data set
/// @param fraction the validation part, in (0, 1)
/// @param seed the permutation's seed
/// @return (training, validation), copies of the rows
/// @throws rg::Error when `fraction` is outside (0, 1) or leaves either part empty
std::pair<TensorDataset, TensorDataset> train_val_split(const TensorDataset& data, double fraction,
                                                        std::uint64_t seed = 0);
/// The same split (the same permutation for the same seed) as two Subsets of
/// `data`: no sample is copied.
/// @param data the data set (shared by both parts)
/// @param fraction the validation part, in (0, 1)
/// @param seed the permutation's seed
/// @return (training, validation)
/// @throws rg::Error when `data` is null, or `fraction` is outside (0, 1) or leaves either part empty
std::pair<Subset, Subset> train_val_split(const std::shared_ptr<const Dataset>& data, double fraction,
                                          std::uint64_t seed = 0);

/// How a DataLoader batches.
struct LoaderOptions {
    std::size_t batch_size = 64;  ///< samples per batch
    bool shuffle = false;  ///< a new order each epoch
    bool drop_last = false;  ///< drop a final batch smaller than batch_size
    std::uint64_t seed = 0;  ///< shuffling is repeatable for a seed; each epoch draws a new order
    /// Sharding for data-parallel training (as PyTorch's DistributedSampler):
    /// every rank draws the same order for an epoch and keeps the positions
    /// rank, rank + world_size, rank + 2 world_size... so the ranks' parts are
    /// disjoint, and together their k-th batches (of batch_size each) are the
    /// k-th batch of world_size * batch_size of the unsharded order.
    std::size_t rank = 0;
    std::size_t world_size = 1;  ///< the number of ranks sharing the data (1: no sharding)
    /// When the sample count is not a multiple of world_size: false pads the
    /// order with its first samples so that every rank gets as many (some
    /// samples are seen twice per epoch), true drops its last samples instead.
    /// Either way every rank has the same number of batches.
    bool drop_remainder = false;
};

/// Cuts a data set into (optionally shuffled, optionally sharded) batches.
///
///     rg::data::DataLoader loader(dataset, {.batch_size = 128, .shuffle = true});
///     for (rg::data::Batch b; loader.next(b);) { ... }
class DataLoader {
public:
    /// @param data the data set (shared, not copied)
    /// @param options batch size, shuffling, sharding
    /// @throws rg::Error when batch_size or world_size is 0, or rank >= world_size
    DataLoader(TensorDataset data, LoaderOptions options = {});
    /// @param data any data set (shared, not copied), e.g. a Subset or rg::data::FashionMNIST
    /// @param options batch size, shuffling, sharding
    /// @throws rg::Error when `data` is null, batch_size or world_size is 0, or rank >= world_size
    DataLoader(std::shared_ptr<const Dataset> data, LoaderOptions options = {});
    /// Batches per epoch.
    std::size_t batches() const;
    /// Samples per epoch, on this rank.
    std::size_t samples() const { return shard_size_; }
    /// Starts the next epoch: a new order when shuffling.
    void reset();
    /// Starts epoch `epoch`. The order depends only on the seed and the epoch
    /// number, so a resumed run replays the same batches.
    /// @param epoch the epoch's number
    void reset(std::uint64_t epoch);
    /// The next batch of the epoch.
    /// @param batch filled with the batch
    /// @return false at the end of the epoch (`batch` untouched)
    bool next(Batch& batch);
    /// The data set batched.
    const Dataset& dataset() const { return *data_; }

private:
    std::shared_ptr<const Dataset> data_;
    LoaderOptions options_;
    std::vector<std::int64_t> order_;
    std::size_t position_ = 0;
    std::uint64_t epoch_ = 0;
    std::size_t shard_size_ = 0;
};

/// int64 class indices (N,) -> (N, classes) rows of 0 and 1.
/// @param labels 1-D int64 class indices, each below `classes`
/// @param classes the number of classes
/// @param dtype the result's dtype
/// @throws rg::Error when `labels` is not 1-D int64, or a label is out of range
Tensor one_hot(const Tensor& labels, std::size_t classes, Dtype dtype = Dtype::float32);

}  // namespace rg::data
