#pragma once
// retrograd's side of the training-step workloads (ours.cpp, ours_sequence.cpp):
// the batches as tensors and the step loop.
#include "suite.hpp"

#include <retrograd/retrograd.hpp>

#include <xtensor/xadapt.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

namespace bench::ours {

// A float32 tensor holding a copy of `data`, of `shape`.
inline rg::Tensor float_tensor(const float* data, const rg::Shape& shape) {
    std::size_t count = 1;
    for (auto d : shape) count *= d;
    xt::xarray<float> values = xt::adapt(data, count, xt::no_ownership(), shape);
    return rg::Tensor(std::move(values));
}

struct Batch {
    rg::Tensor images, labels;  // (batch, image...), (batch,)
};

// Each batch's images as (batch, image...) and its labels as class indices.
inline std::vector<Batch> batches_as_tensors(const Batches& b, const rg::Shape& image) {
    rg::Shape shape{b.batch};
    shape.insert(shape.end(), image.begin(), image.end());
    std::vector<Batch> out;
    for (std::size_t i = 0; i < b.count; ++i)
        out.push_back({float_tensor(b.images_of(i), shape),
                       rg::from_indices(std::vector<std::int64_t>(b.labels_of(i), b.labels_of(i) + b.batch))});
    return out;
}

// One cross-entropy training step per iteration, cycling through the batches.
inline void train_steps(benchmark::State& state, rg::nn::Module& model, rg::optim::Optimizer& optimizer,
                        const std::vector<Batch>& batches) {
    std::size_t i = 0;
    for (auto _ : state) {
        const Batch& b = batches[i++ % batches.size()];
        auto loss = rg::nn::cross_entropy(model(b.images), b.labels);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }
}

}  // namespace bench::ours
