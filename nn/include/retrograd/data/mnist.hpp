#pragma once
/// @file
/// Fashion-MNIST (and MNIST, same files): Debian's dataset-fashion-mnist puts
/// it in /usr/share/datasets/fashion-mnist.
#include <retrograd/tensor.hpp>

#include <array>
#include <optional>
#include <string>

namespace rg::data {

/// Where Debian's dataset-fashion-mnist puts the files.
inline constexpr const char* default_fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";
/// The ten classes' names, by label.
inline constexpr std::array<const char*, 10> fashion_mnist_classes = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                                      "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                                      "Bag",         "Ankle boot"};

/// Images and their labels.
struct ImageSet {
    Tensor images;  ///< (N, 1, 28, 28) float32 in [0, 1]
    Tensor labels;  ///< (N,) int64, 0 to 9
};

/// The directory to read: `dir` when given, else $RETROGRAD_DATA, else the
/// Debian location.
/// @param dir a directory chosen by the user, if any
std::string fashion_mnist_dir(const std::optional<std::string>& dir = std::nullopt);
/// Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] from the directory.
/// @param train the 60000 training images, else the 10000 test images
/// @param dir the directory (see fashion_mnist_dir())
/// @throws rg::Error when a file is missing (saying how to install the data
///         set), invalid (see read_idx()), or images and labels do not match
ImageSet load_fashion_mnist(bool train, const std::optional<std::string>& dir = std::nullopt);

/// (x - mean) / std with Fashion-MNIST's training statistics.
/// @param images images in [0, 1]
Tensor normalize_fashion_mnist(const Tensor& images);

}  // namespace rg::data
