#pragma once
/// @file
/// Fashion-MNIST (and MNIST, same files): Debian's dataset-fashion-mnist puts
/// it in /usr/share/datasets/fashion-mnist.
#include <retrograd/data/loader.hpp>
#include <retrograd/tensor.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

/// How rg::data::FashionMNIST reads and serves the images.
struct FashionMNISTOptions {
    std::optional<std::string> dir{};  ///< the directory (see fashion_mnist_dir())
    std::size_t limit = 0;  ///< keep only the first `limit` images (0: all); only those are read
    bool normalize = true;  ///< batches as normalize_fashion_mnist() gives them, else in [0, 1]
};

/// Fashion-MNIST as a Dataset (as LibTorch's torch::data::datasets::MNIST):
/// the images stay in memory as the files' bytes, one per pixel (47 MB for
/// the 60,000 training images instead of 188 MB as float32), and each batch
/// get() returns is converted to float32 (N, 1, 28, 28), normalised unless
/// the options say otherwise. Share it with a DataLoader or a Subset through
/// a std::shared_ptr: nothing is copied.
class FashionMNIST : public Dataset {
public:
    /// Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
    /// @param train the 60000 training images, else the 10000 test images
    /// @param options the directory, a limit, normalisation
    /// @throws rg::Error as load_fashion_mnist()
    explicit FashionMNIST(bool train, const FashionMNISTOptions& options = {});
    /// The number of images.
    std::size_t size() const override { return labels_.numel(); }
    /// The images at `indices` as float32 (N, 1, 28, 28), and their int64 labels.
    /// @param indices image positions, each below size()
    /// @throws rg::Error when an index is out of range
    Batch get(const std::vector<std::int64_t>& indices) const override;
    /// Every label, (N,) int64.
    const Tensor& labels() const { return labels_; }
    /// The directory the files were read from.
    const std::string& dir() const { return dir_; }

private:
    std::vector<std::uint8_t> pixels_;
    Shape image_shape_;  // (1, H, W)
    Tensor labels_;
    bool normalize_ = true;
    std::string dir_;
};

}  // namespace rg::data
