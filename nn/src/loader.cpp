// TensorDataset, DataLoader and their helpers.
#include <retrograd/data/loader.hpp>
#include <retrograd/ops.hpp>

#include <algorithm>
#include <numeric>
#include <random>

namespace rg::data {

TensorDataset::TensorDataset(Tensor inputs, Tensor targets) : inputs_(std::move(inputs)), targets_(std::move(targets)) {
    if (!inputs_.defined() || !targets_.defined() || inputs_.dim() == 0 || targets_.dim() == 0 ||
        inputs_.shape()[0] != targets_.shape()[0])
        fail("TensorDataset: inputs {} and targets {} need the same number of samples along axis 0",
             inputs_.defined() ? shape_str(inputs_.shape()) : "undefined",
             targets_.defined() ? shape_str(targets_.shape()) : "undefined");
}

Batch TensorDataset::get(const std::vector<std::int64_t>& indices) const {
    Tensor rows = from_indices(indices);
    return {index_select(inputs_, 0, rows), index_select(targets_, 0, rows)};
}

Subset::Subset(std::shared_ptr<const Dataset> data, std::vector<std::int64_t> indices)
    : data_(std::move(data)), indices_(std::move(indices)) {
    if (!data_) fail("Subset: no data set given (null)");
    const auto n = static_cast<std::int64_t>(data_->size());
    for (std::size_t i = 0; i < indices_.size(); ++i)
        if (indices_[i] < 0 || indices_[i] >= n)
            fail("Subset: index {} (at position {}) is not a sample of a data set of {}", indices_[i], i, n);
}

Batch Subset::get(const std::vector<std::int64_t>& indices) const {
    std::vector<std::int64_t> rows(indices.size());
    const auto n = static_cast<std::int64_t>(indices_.size());
    for (std::size_t i = 0; i < indices.size(); ++i) {
        if (indices[i] < 0 || indices[i] >= n)
            fail("Subset::get: index {} is not a sample of a subset of {}", indices[i], n);
        rows[i] = indices_[static_cast<std::size_t>(indices[i])];
    }
    return data_->get(rows);
}

namespace {

// The seeded permutation of train_val_split: (training rows, validation rows).
std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> split_rows(std::size_t n, double fraction,
                                                                           std::uint64_t seed) {
    if (!(fraction > 0 && fraction < 1)) fail("train_val_split: fraction must be in (0, 1), got {}", fraction);
    const auto val = static_cast<std::size_t>(static_cast<double>(n) * fraction);
    if (val == 0 || val == n) fail("train_val_split: {} samples cannot be split with fraction {}", n, fraction);
    std::vector<std::int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 engine(seed);
    std::shuffle(order.begin(), order.end(), engine);
    return {std::vector<std::int64_t>(order.begin(), order.end() - static_cast<long>(val)),
            std::vector<std::int64_t>(order.end() - static_cast<long>(val), order.end())};
}

}  // namespace

std::pair<TensorDataset, TensorDataset> train_val_split(const TensorDataset& data, double fraction,
                                                        std::uint64_t seed) {
    const auto [train_rows, val_rows] = split_rows(data.size(), fraction, seed);
    Batch t = data.get(train_rows), v = data.get(val_rows);
    return {TensorDataset(t.inputs, t.targets), TensorDataset(v.inputs, v.targets)};
}

std::pair<Subset, Subset> train_val_split(const std::shared_ptr<const Dataset>& data, double fraction,
                                          std::uint64_t seed) {
    if (!data) fail("train_val_split: no data set given (null)");
    auto [train_rows, val_rows] = split_rows(data->size(), fraction, seed);
    return {Subset(data, std::move(train_rows)), Subset(data, std::move(val_rows))};
}

DataLoader::DataLoader(TensorDataset data, LoaderOptions options)
    : DataLoader(std::make_shared<const TensorDataset>(std::move(data)), options) {}

DataLoader::DataLoader(std::shared_ptr<const Dataset> data, LoaderOptions options)
    : data_(std::move(data)), options_(options) {
    if (!data_) fail("DataLoader: no data set given (null)");
    if (options.batch_size == 0) fail("DataLoader: batch_size must be positive");
    if (options.world_size == 0) fail("DataLoader: world_size must be positive (1 without sharding)");
    if (options.rank >= options.world_size)
        fail("DataLoader: rank {} is not a rank of a world of size {}; ranks go from 0 to {}", options.rank,
             options.world_size, options.world_size - 1);
    const std::size_t n = data_->size(), w = options.world_size;
    shard_size_ = options.drop_remainder ? n / w : (n + w - 1) / w;
    reset();
}

std::size_t DataLoader::batches() const {
    const std::size_t n = shard_size_, b = options_.batch_size;
    return options_.drop_last ? n / b : (n + b - 1) / b;
}

void DataLoader::reset(std::uint64_t epoch) {
    epoch_ = epoch;
    reset();
}

void DataLoader::reset() {
    position_ = 0;
    // The order depends on (seed, epoch) only, so every rank draws the same one.
    std::vector<std::int64_t> order(data_->size());
    std::iota(order.begin(), order.end(), 0);
    if (options_.shuffle) {
        std::mt19937_64 engine(options_.seed * 1000003u + epoch_);
        std::shuffle(order.begin(), order.end(), engine);
    }
    ++epoch_;
    const std::size_t w = options_.world_size, total = shard_size_ * w;
    if (w == 1) {
        order_ = std::move(order);
        return;
    }
    // Pad by cycling through the order's first samples (as DistributedSampler), or cut it to total.
    for (std::size_t i = order.size(); i < total; ++i) order.push_back(order[i % data_->size()]);
    order.resize(total);
    order_.clear();
    for (std::size_t i = options_.rank; i < total; i += w) order_.push_back(order[i]);
}

bool DataLoader::next(Batch& batch) {
    const std::size_t n = order_.size();
    if (position_ >= n) return false;
    const std::size_t stop = std::min(n, position_ + options_.batch_size);
    if (options_.drop_last && stop - position_ < options_.batch_size) return false;
    batch = data_->get(std::vector<std::int64_t>(order_.begin() + static_cast<long>(position_),
                                                 order_.begin() + static_cast<long>(stop)));
    position_ = stop;
    return true;
}

Tensor one_hot(const Tensor& labels, std::size_t classes, Dtype dtype) {
    if (!labels.defined() || labels.dtype() != Dtype::int64 || labels.dim() != 1)
        fail("one_hot: expected 1-D int64 labels, got {}",
             labels.defined() ? fmt::format("{} {}", shape_str(labels.shape()), dtype_name(labels.dtype()))
                              : "undefined");
    Tensor out = zeros({labels.numel(), classes}, {dtype});
    return scatter_add(ones({labels.numel(), 1}, {dtype}), out.shape(), 1, reshape(labels, Shape{labels.numel(), 1}));
}

}  // namespace rg::data
