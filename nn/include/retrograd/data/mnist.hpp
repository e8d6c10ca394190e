#pragma once
// Fashion-MNIST (and MNIST, same files): Debian's dataset-fashion-mnist puts
// it in /usr/share/datasets/fashion-mnist.
#include <retrograd/tensor.hpp>

#include <array>
#include <optional>
#include <string>

namespace rg::data {

inline constexpr const char* default_fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";
inline constexpr std::array<const char*, 10> fashion_mnist_classes = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                                      "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                                      "Bag",         "Ankle boot"};

struct ImageSet {
    Tensor images;  // (N, 1, 28, 28) float32 in [0, 1]
    Tensor labels;  // (N,) int64
};

// The directory to read: `dir` when given, else $RETROGRAD_DATA, else the
// Debian location.
std::string fashion_mnist_dir(const std::optional<std::string>& dir = std::nullopt);
// Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] from the directory;
// a missing file gives an error saying how to install the data set.
ImageSet load_fashion_mnist(bool train, const std::optional<std::string>& dir = std::nullopt);

// (x - mean) / std with Fashion-MNIST's training statistics.
Tensor normalize_fashion_mnist(const Tensor& images);

}  // namespace rg::data
