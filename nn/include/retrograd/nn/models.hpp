#pragma once
/// @file
/// The two Fashion-MNIST models of the main job and the benchmarks.
#include <retrograd/nn/activations.hpp>
#include <retrograd/nn/layers.hpp>

#include <memory>
#include <string>

namespace rg::nn::models {

/// The MLP: 784-256-128-10 with ReLU; takes (N, 1, 28, 28) or (N, 784).
inline std::shared_ptr<Sequential> fashion_mlp() {
    return std::make_shared<Sequential>(Flatten(), Linear(784, 256), ReLU(), Linear(256, 128), ReLU(), Linear(128, 10));
}

/// The CNN: conv(1->32, 3x3)-ReLU-maxpool2-conv(32->64,
/// 3x3)-ReLU-maxpool2-flatten-linear(1600->128)-ReLU-linear(128->10).
inline std::shared_ptr<Sequential> fashion_cnn() {
    return std::make_shared<Sequential>(Conv2d(1, 32, 3), ReLU(), MaxPool2d(2), Conv2d(32, 64, 3), ReLU(), MaxPool2d(2),
                                        Flatten(), Linear(1600, 128), ReLU(), Linear(128, 10));
}

/// One of the two by name.
/// @param name "mlp" or "cnn"
/// @throws rg::Error for another name
inline std::shared_ptr<Sequential> by_name(const std::string& name) {
    if (name == "mlp") return fashion_mlp();
    if (name == "cnn") return fashion_cnn();
    fail("unknown model '{}' (expected mlp or cnn)", name);
}

}  // namespace rg::nn::models
