// The data layer: IDX files (plain and gzip, and every way they can be
// broken), Fashion-MNIST loading, DataLoader, splits and one-hot rows.
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

#include "helpers.hpp"

namespace fs = std::filesystem;
using test::check_values;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("retrograd-data-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

// An IDX file of unsigned bytes with the given sizes.
std::string idx_bytes(const std::vector<std::uint32_t>& dims, const std::vector<unsigned char>& values,
                      unsigned char type = 0x08) {
    std::string out{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
    for (auto d : dims)
        for (int shift : {24, 16, 8, 0}) out += static_cast<char>((d >> shift) & 0xFF);
    out.append(values.begin(), values.end());
    return out;
}
void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }
void write_gz(const std::string& path, const std::string& bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
}

}  // namespace

TEST_CASE("read_idx reads plain and gzip IDX files") {
    TempDir dir;
    const std::string bytes = idx_bytes({2, 3}, {0, 1, 2, 253, 254, 255});
    write(dir.file("a.idx"), bytes);
    write_gz(dir.file("a.idx.gz"), bytes);
    for (const auto& name : {"a.idx", "a.idx.gz"}) {
        CAPTURE(name);
        auto t = rg::data::read_idx(dir.file(name));
        CHECK(t.shape() == rg::Shape{2, 3});
        CHECK(t.to_vector() == std::vector<double>{0, 1, 2, 253, 254, 255});
    }
    CHECK(rg::data::read_idx(dir.file("a.idx"), rg::int64).dtype() == rg::int64);
    // 32-bit big-endian integers (type 0x0C).
    write(dir.file("i.idx"), idx_bytes({2}, {0, 0, 1, 0, 0xFF, 0xFF, 0xFF, 0xFE}, 0x0C));
    CHECK(rg::data::read_idx(dir.file("i.idx"), rg::float64).to_vector() == std::vector<double>{256, -2});
}

TEST_CASE("read_idx rejects truncated, corrupt and mismatched files, naming them") {
    TempDir dir;
    auto expect = [&](const std::string& bytes, const std::string& message) {
        write(dir.file("bad.idx"), bytes);
        CAPTURE(message);
        CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("bad.idx")), doctest::Contains(message.c_str()), rg::Error);
    };
    expect("", "the file ends after 0 of the 4 bytes of the magic number");
    expect(std::string("\x01\x02\x08\x01", 4), "bad magic number 01 02 08 01");
    expect(std::string("\0\0\x42\x01", 4), "this is not an IDX file");
    expect(std::string("\0\0\x08\x00", 4), "rank 0 is not supported");
    expect(idx_bytes({4}, {1, 2}), "the file ends after 2 of the 4 bytes of the data of shape (4,)");
    expect(idx_bytes({2}, {1, 2, 3}), "trailing bytes after the 2 values of shape (2,)");
    expect(std::string("\0\0\x08\x02\0\0", 6), "of the sizes");
    CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("missing.idx")), doctest::Contains("cannot open"), rg::Error);
    write_gz(dir.file("t.idx.gz"), idx_bytes({3}, {1, 2, 3}).substr(0, 9));
    CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("t.idx.gz")), doctest::Contains("truncated"), rg::Error);
}

TEST_CASE("load_fashion_mnist reads a directory of IDX files and says how to install the real one") {
    TempDir dir;
    std::vector<unsigned char> pixels(2 * 28 * 28, 0);
    pixels[0] = 255;
    write_gz(dir.file("t10k-images-idx3-ubyte.gz"), idx_bytes({2, 28, 28}, pixels));
    write_gz(dir.file("t10k-labels-idx1-ubyte.gz"), idx_bytes({2}, {9, 0}));
    auto set = rg::data::load_fashion_mnist(false, dir.path.string());
    CHECK(set.images.shape() == rg::Shape{2, 1, 28, 28});
    CHECK(set.images.value()(0, 0, 0, 0) == 1.0f);
    CHECK(set.labels.to_vector() == std::vector<double>{9, 0});
    CHECK_THROWS_WITH_AS(rg::data::load_fashion_mnist(true, dir.path.string()),
                         doctest::Contains("sudo apt-get install dataset-fashion-mnist"), rg::Error);
    write_gz(dir.file("t10k-labels-idx1-ubyte.gz"), idx_bytes({2}, {9, 12}));
    CHECK_THROWS_WITH_AS(rg::data::load_fashion_mnist(false, dir.path.string()),
                         doctest::Contains("label 12 is not a class"), rg::Error);
    write_gz(dir.file("t10k-labels-idx1-ubyte.gz"), idx_bytes({3}, {9, 1, 2}));
    CHECK_THROWS_WITH_AS(rg::data::load_fashion_mnist(false, dir.path.string()), doctest::Contains("do not match"), rg::Error);
}

TEST_CASE("the installed Fashion-MNIST has 60,000 + 10,000 labelled images") {
    if (!fs::exists(std::string(rg::data::default_fashion_mnist_dir) + "/t10k-labels-idx1-ubyte.gz")) {
        MESSAGE("dataset-fashion-mnist is not installed; skipped");
        return;
    }
    auto test_set = rg::data::load_fashion_mnist(false);
    CHECK(test_set.images.shape() == rg::Shape{10000, 1, 28, 28});
    CHECK(rg::max(test_set.images).item() <= 1.0);
    CHECK(rg::sum(rg::eq(test_set.labels, rg::full({10000}, 3, {.dtype = rg::int64}))).item() == 1000);
}

TEST_CASE("DataLoader batches, shuffles reproducibly and drops the last batch on request") {
    auto x = rg::reshape(rg::arange(10), rg::Shape{10, 1});
    auto y = rg::from_indices({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    rg::data::DataLoader plain({x, y}, {.batch_size = 4});
    CHECK(plain.batches() == 3);
    rg::data::Batch b;
    std::vector<std::size_t> sizes;
    while (plain.next(b)) sizes.push_back(b.inputs.shape()[0]);
    CHECK(sizes == std::vector<std::size_t>{4, 4, 2});
    rg::data::DataLoader dropping({x, y}, {.batch_size = 4, .drop_last = true});
    CHECK(dropping.batches() == 2);
    auto order = [](rg::data::DataLoader& loader) {
        std::vector<double> seen;
        loader.reset();
        rg::data::Batch batch;
        while (loader.next(batch)) {
            auto v = batch.targets.to_vector();
            seen.insert(seen.end(), v.begin(), v.end());
        }
        return seen;
    };
    rg::data::DataLoader a({x, y}, {.batch_size = 3, .shuffle = true, .seed = 5});
    rg::data::DataLoader c({x, y}, {.batch_size = 3, .shuffle = true, .seed = 5});
    const auto first = order(a);
    CHECK(first == order(c));                   // same seed, same order
    CHECK(order(a) != first);                   // a new order each epoch
    auto sorted = first;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == y.to_vector());             // a permutation
    CHECK_THROWS_WITH_AS(rg::data::DataLoader({x, y}, {.batch_size = 0}), doctest::Contains("batch_size must be positive"), rg::Error);
    CHECK_THROWS_WITH_AS(rg::data::TensorDataset(x, rg::from_indices({1})), doctest::Contains("same number of samples"), rg::Error);
}

TEST_CASE("train_val_split and one_hot") {
    auto x = rg::reshape(rg::arange(20), rg::Shape{20, 1});
    auto y = rg::from_indices(std::vector<std::int64_t>(20, 1));
    auto [train, val] = rg::data::train_val_split({x, y}, 0.25, 3);
    CHECK(train.size() == 15);
    CHECK(val.size() == 5);
    auto all = train.inputs().to_vector();
    auto v = val.inputs().to_vector();
    all.insert(all.end(), v.begin(), v.end());
    std::sort(all.begin(), all.end());
    CHECK(all == x.to_vector());
    check_values(rg::data::one_hot(rg::from_indices({2, 0}), 3), rg::tensor({{0.0, 0.0, 1.0}, {1.0, 0.0, 0.0}}));
    CHECK_THROWS_AS(rg::data::one_hot(rg::from_indices({3}), 3), rg::Error);
    CHECK_THROWS_WITH_AS(rg::data::train_val_split({x, y}, 1.5), doctest::Contains("fraction must be in (0, 1)"), rg::Error);
}
