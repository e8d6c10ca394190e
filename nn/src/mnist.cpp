// Fashion-MNIST files and their layout.
#include <retrograd/data/idx.hpp>
#include <retrograd/data/mnist.hpp>
#include <retrograd/ops.hpp>

#include <cstdlib>
#include <filesystem>

namespace rg::data {

std::string fashion_mnist_dir(const std::optional<std::string>& dir) {
    if (dir && !dir->empty()) return *dir;
    if (const char* env = std::getenv("RETROGRAD_DATA"); env && *env) return env;
    return default_fashion_mnist_dir;
}

namespace {

// Fashion-MNIST's training statistics (normalize_fashion_mnist).
constexpr double pixel_mean = 0.2860, pixel_std = 0.3530;

// One part of the data set as stored: (N, H, W) bytes and N labels in 0..9.
struct Part {
    IdxBytes images;
    Tensor labels;
    std::string root;
};

Part read_part(bool train, const std::optional<std::string>& dir, std::size_t limit) {
    namespace fs = std::filesystem;
    Part part;
    part.root = fashion_mnist_dir(dir);
    const std::string& root = part.root;
    const std::string prefix = train ? "train" : "t10k";
    auto locate = [&](const std::string& stem) {
        for (const char* suffix : {".gz", ""}) {
            fs::path p = fs::path(root) / (stem + suffix);
            std::error_code error;  // an unreadable directory is "not found" here, not an exception
            if (fs::exists(p, error)) return p.string();
        }
        fail("Fashion-MNIST: {}[.gz] not found in '{}'. Install the data set with "
             "`sudo apt-get install dataset-fashion-mnist` (it goes to {}), or point --data or "
             "RETROGRAD_DATA at a directory holding the four IDX files",
             stem, root, default_fashion_mnist_dir);
    };
    part.images = read_idx_bytes(locate(prefix + "-images-idx3-ubyte"), limit);
    const IdxBytes labels = read_idx_bytes(locate(prefix + "-labels-idx1-ubyte"), limit);
    const Shape& s = part.images.shape;
    if (s.size() != 3 || labels.shape.size() != 1 || s[0] != labels.shape[0])
        fail("Fashion-MNIST in '{}': images {} and labels {} do not match (expected (N, H, W) and (N,))", root,
             shape_str(s), shape_str(labels.shape));
    part.labels = empty({labels.values.size()}, {Dtype::int64});
    auto* out = part.labels.data_ptr<std::int64_t>();
    for (std::size_t i = 0; i < labels.values.size(); ++i) {
        if (labels.values[i] > 9)
            fail("Fashion-MNIST in '{}': label {} is not a class (0 to 9)", root, labels.values[i]);
        out[i] = labels.values[i];
    }
    return part;
}

}  // namespace

ImageSet load_fashion_mnist(bool train, const std::optional<std::string>& dir) {
    Part part = read_part(train, dir, 0);
    const Shape& s = part.images.shape;
    // Converted straight from the bytes: the float32 tensor is the only other copy.
    Tensor images = empty({s[0], 1, s[1], s[2]}, {Dtype::float32});
    float* out = images.data_ptr<float>();
    const std::vector<std::uint8_t>& bytes = part.images.values;
    for (std::size_t i = 0; i < bytes.size(); ++i) out[i] = static_cast<float>(bytes[i]) * (1.0f / 255.0f);
    return {images, part.labels};
}

FashionMNIST::FashionMNIST(bool train, const FashionMNISTOptions& options) : normalize_(options.normalize) {
    Part part = read_part(train, options.dir, options.limit);
    const Shape& s = part.images.shape;
    image_shape_ = {1, s[1], s[2]};
    pixels_ = std::move(part.images.values);
    labels_ = part.labels;
    dir_ = part.root;
}

Batch FashionMNIST::get(const std::vector<std::int64_t>& indices) const {
    const std::size_t n = size(), pixels = image_shape_[0] * image_shape_[1] * image_shape_[2];
    Tensor images = empty({indices.size(), image_shape_[0], image_shape_[1], image_shape_[2]}, {Dtype::float32});
    float* out = images.data_ptr<float>();
    // x / 255, then (x - mean) / std: one multiply and one add per pixel.
    const auto scale = static_cast<float>(normalize_ ? 1.0 / (255.0 * pixel_std) : 1.0 / 255.0);
    const auto shift = static_cast<float>(normalize_ ? -pixel_mean / pixel_std : 0.0);
    for (std::size_t r = 0; r < indices.size(); ++r) {
        const std::int64_t i = indices[r];
        if (i < 0 || static_cast<std::size_t>(i) >= n)
            fail("FashionMNIST::get: index {} is not an image of a data set of {}", i, n);
        const std::uint8_t* row = pixels_.data() + static_cast<std::size_t>(i) * pixels;
        float* dst = out + r * pixels;
        for (std::size_t k = 0; k < pixels; ++k) dst[k] = static_cast<float>(row[k]) * scale + shift;
    }
    return {images, index_select(labels_, 0, from_indices(indices))};
}

Tensor normalize_fashion_mnist(const Tensor& images) { return (images - 0.2860) * (1.0 / 0.3530); }

}  // namespace rg::data
