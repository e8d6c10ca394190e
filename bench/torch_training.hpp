#pragma once
// LibTorch's side of the training-step workloads (torch.cpp,
// torch_sequence.cpp): the batches as tensors and the step loop.
#include "suite.hpp"

#include <torch/torch.h>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

namespace bench::libtorch {

struct Batch {
    torch::Tensor images, labels;  // (batch, image...), (batch,)
};

// Each batch's images as (batch, image...) and its labels as int64 class indices.
inline std::vector<Batch> batches_as_tensors(const Batches& b, const std::vector<std::int64_t>& image) {
    std::vector<std::int64_t> shape{static_cast<std::int64_t>(b.batch)};
    shape.insert(shape.end(), image.begin(), image.end());
    std::vector<Batch> out;
    for (std::size_t i = 0; i < b.count; ++i) {
        // from_blob shares the memory; clone so each side owns its copy, as ours does.
        out.push_back({torch::from_blob(const_cast<float*>(b.images_of(i)), shape).clone(),
                       torch::from_blob(const_cast<std::int64_t*>(b.labels_of(i)), {shape[0]}, torch::kLong).clone()});
    }
    return out;
}

// One cross-entropy training step per iteration, cycling through the batches;
// `model` is a module holder (torch::nn::Sequential, a TORCH_MODULE).
template <class Model>
void train_steps(benchmark::State& state, Model& model, torch::optim::Optimizer& optimizer,
                 const std::vector<Batch>& batches) {
    std::size_t i = 0;
    for (auto _ : state) {
        const Batch& b = batches[i++ % batches.size()];
        auto loss = torch::nn::functional::cross_entropy(model->forward(b.images), b.labels);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }
}

}  // namespace bench::libtorch
