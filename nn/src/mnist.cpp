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

ImageSet load_fashion_mnist(bool train, const std::optional<std::string>& dir) {
    namespace fs = std::filesystem;
    const std::string root = fashion_mnist_dir(dir);
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
    Tensor images = read_idx(locate(prefix + "-images-idx3-ubyte"));
    Tensor labels = read_idx(locate(prefix + "-labels-idx1-ubyte"), Dtype::int64);
    if (images.dim() != 3 || labels.dim() != 1 || images.shape()[0] != labels.shape()[0])
        fail("Fashion-MNIST in '{}': images {} and labels {} do not match (expected (N, H, W) and (N,))", root,
             shape_str(images.shape()), shape_str(labels.shape()));
    for (double v : labels.to_vector())
        if (v < 0 || v > 9) fail("Fashion-MNIST in '{}': label {} is not a class (0 to 9)", root, v);
    const Shape s = images.shape();
    images = reshape(images * (1.0 / 255.0), Shape{s[0], 1, s[1], s[2]});
    return {images, labels};
}

Tensor normalize_fashion_mnist(const Tensor& images) { return (images - 0.2860) * (1.0 / 0.3530); }

}  // namespace rg::data
