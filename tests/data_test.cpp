// The data layer: IDX files (plain and gzip, and every way they can be
// broken), Fashion-MNIST loading, DataLoader, splits and one-hot rows.
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.hpp"
#include "sanitizers.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using test::check_values;

namespace {

using test::TempDir;

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
void write_gz(const std::string& path, const std::string& bytes, const char* mode = "wb") {
    gzFile f = gzopen(path.c_str(), mode);
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
    expect(idx_bytes({4}, {1, 2}),
           "the header claims 4 bytes of data of shape (4,) but the file holds 2 after the header");
    expect(idx_bytes({2}, {1, 2, 3}), "trailing bytes after the 2 values of shape (2,)");
    expect(std::string("\0\0\x08\x02\0\0", 6), "of the sizes");
    CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("missing.idx")), doctest::Contains("cannot open"), rg::Error);
    write_gz(dir.file("t.idx.gz"), idx_bytes({3}, {1, 2, 3}).substr(0, 9));
    CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("t.idx.gz")), doctest::Contains("truncated"), rg::Error);
}

// A header claiming far more data than the file holds fails before anything is
// allocated (plain files: against the file size; gzip: the buffer grows only
// as bytes arrive). Before, a 12-byte file made the reader ask for 16 GiB and a
// 19-byte one threw std::bad_alloc.
TEST_CASE("read_idx never allocates more than the file holds") {
    TempDir dir;
    const long peak_before = test::peak_resident_kib();
    // 12 bytes: int32 values of shape (65536, 65536), 16 GiB, and no data.
    write(dir.file("12.idx"), idx_bytes({65536, 65536}, {}, 0x0C));
    CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("12.idx")),
                         doctest::Contains("the header claims 17179869184 bytes of data of shape (65536, 65536) but "
                                           "the file holds 0 after the header"),
                         rg::Error);
    // 19 bytes: float64 values of shape (4096, 4096, 1024), 128 GiB, and 3 bytes.
    const std::string nineteen = idx_bytes({4096, 4096, 1024}, {1, 2, 3}, 0x0E);
    REQUIRE(nineteen.size() == 19);
    write(dir.file("19.idx"), nineteen);
    CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("19.idx")),
                         doctest::Contains("the header claims 137438953472 bytes of data of shape (4096, 4096, 1024) "
                                           "but the file holds 3 after the header"),
                         rg::Error);
    write_gz(dir.file("19.idx.gz"), nineteen);
    CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("19.idx.gz")),
                         doctest::Contains("the file ends after 3 of the 137438953472 bytes of the data of shape "
                                           "(4096, 4096, 1024) (truncated?)"),
                         rg::Error);
    // 1 GiB claimed by a gzip file of a few bytes: the buffer stays at its first chunk.
    write_gz(dir.file("1g.idx.gz"), idx_bytes({1024, 1024, 1024}, {7}));
    CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("1g.idx.gz")),
                         doctest::Contains("the file ends after 1 of the 1073741824 bytes"), rg::Error);
    if (test::under_sanitizer) {
        MESSAGE("peak resident size not checked under sanitizers (their allocator and shadow memory distort it)");
    } else {
        const long grown = test::peak_resident_kib() - peak_before;
        MESSAGE("peak resident size grew by " << grown << " KiB");
        CHECK(grown < 64 * 1024);
    }
}

TEST_CASE("read_idx refuses sizes whose product overflows, zero sizes included") {
    TempDir dir;
    // (0, 2^32 - 1, 2^32 - 1, 2^32 - 1): no values, but the other sizes' product overflows 64 bits.
    write(dir.file("zero.idx"), idx_bytes({0, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}));
    CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("zero.idx")),
                         doctest::Contains("describe more than 2^62 bytes (zero sizes aside)"), rg::Error);
    write(dir.file("big.idx"), idx_bytes({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}, 0x0E));
    CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("big.idx")), doctest::Contains("describe more than 2^62 bytes"),
                         rg::Error);
    // An empty array whose other sizes are reasonable is fine.
    write(dir.file("empty.idx"), idx_bytes({0, 28, 28}, {}));
    CHECK(rg::data::read_idx(dir.file("empty.idx")).shape() == rg::Shape{0, 28, 28});
}

// zlib reports a CRC or length mismatch at the end of the stream as -1 from
// gzread, and a cut-off trailer as Z_BUF_ERROR; both were ignored before, so a
// damaged archive was read as valid.
TEST_CASE("read_idx checks the gzip CRC and trailer") {
    TempDir dir;
    std::vector<unsigned char> values(4096);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<unsigned char>(i * 7);
    const std::string idx = idx_bytes({4096}, values);
    // Stored (uncompressed) blocks: a flipped data byte breaks nothing but the CRC.
    write_gz(dir.file("good.idx.gz"), idx, "wb0");
    CHECK(rg::data::read_idx(dir.file("good.idx.gz")).numel() == 4096);
    std::ifstream in(dir.file("good.idx.gz"), std::ios::binary);
    const std::string gz{std::istreambuf_iterator<char>(in), {}};
    auto expect = [&](const std::string& bytes, const std::string& message) {
        write(dir.file("bad.idx.gz"), bytes);
        CAPTURE(message);
        CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("bad.idx.gz")),
                             doctest::Contains(("read_idx '" + dir.file("bad.idx.gz") + "': ").c_str()), rg::Error);
        CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("bad.idx.gz")), doctest::Contains(message.c_str()), rg::Error);
    };
    std::string flipped = gz;
    flipped[gz.size() / 2] = static_cast<char>(flipped[gz.size() / 2] ^ 0x10);  // one data byte
    expect(flipped, "the gzip data is corrupt: incorrect data check (a damaged download? fetch the file again)");
    std::string crc = gz;
    crc[gz.size() - 8] = static_cast<char>(crc[gz.size() - 8] ^ 1);
    expect(crc, "the gzip data is corrupt: incorrect data check");
    std::string length = gz;
    length[gz.size() - 4] = static_cast<char>(length[gz.size() - 4] ^ 1);
    expect(length, "the gzip data is corrupt: incorrect length check");
    expect(gz.substr(0, gz.size() - 6), "(truncated file?)");
    // Compressed data cut in the middle.
    write_gz(dir.file("z.idx.gz"), idx);
    std::ifstream zin(dir.file("z.idx.gz"), std::ios::binary);
    const std::string z{std::istreambuf_iterator<char>(zin), {}};
    expect(z.substr(0, z.size() / 2), "of the 4096 bytes of the data of shape (4096,) (truncated file?)");
    // The installed test labels with one byte flipped halfway through.
    const std::string labels = std::string(rg::data::default_fashion_mnist_dir) + "/t10k-labels-idx1-ubyte.gz";
    if (!fs::exists(labels)) {
        MESSAGE("dataset-fashion-mnist is not installed; the real-file case is skipped");
        return;
    }
    std::ifstream lin(labels, std::ios::binary);
    std::string real{std::istreambuf_iterator<char>(lin), {}};
    real[real.size() / 2] = static_cast<char>(real[real.size() / 2] ^ 0x01);
    write(dir.file("bad.idx.gz"), real);
    CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("bad.idx.gz"), rg::int64),
                         doctest::Contains("the gzip data is corrupt"), rg::Error);
}

TEST_CASE("read_idx reads floating-point IDX data as int64 only when the values are whole numbers") {
    TempDir dir;
    auto floats = [](const std::vector<float>& v) {
        std::vector<unsigned char> bytes;
        for (float f : v) {
            std::uint32_t bits;
            std::memcpy(&bits, &f, 4);
            for (int shift : {24, 16, 8, 0}) bytes.push_back(static_cast<unsigned char>((bits >> shift) & 0xFF));
        }
        return bytes;
    };
    write(dir.file("ok.idx"), idx_bytes({2}, floats({3.0f, -4.0f}), 0x0D));
    CHECK(rg::data::read_idx(dir.file("ok.idx"), rg::int64).to_vector() == std::vector<double>{3, -4});
    write(dir.file("nan.idx"), idx_bytes({2}, floats({1.0f, std::nanf("")}), 0x0D));
    CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("nan.idx"), rg::int64),
                         doctest::Contains("value nan at index [1] is not an integer int64 can hold; read the file as "
                                           "float32 or float64"),
                         rg::Error);
    CHECK(std::isnan(rg::data::read_idx(dir.file("nan.idx")).to_vector()[1]));
    write(dir.file("inf.idx"), idx_bytes({1}, floats({-INFINITY}), 0x0D));
    CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("inf.idx"), rg::int64),
                         doctest::Contains("value -inf at index [0]"), rg::Error);
    write(dir.file("half.idx"), idx_bytes({1}, floats({2.5f}), 0x0D));
    CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("half.idx"), rg::int64),
                         doctest::Contains("value 2.5 at index [0]"), rg::Error);
    write(dir.file("huge.idx"), idx_bytes({1}, floats({1e19f}), 0x0D));
    CHECK_THROWS_AS(rg::data::read_idx(dir.file("huge.idx"), rg::int64), rg::Error);
}

TEST_CASE("read_idx refuses directories and FIFOs") {
    TempDir dir;
    CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.path.string()),
                         ("read_idx: '" + dir.path.string() + "' is a directory, expected an IDX file").c_str(),
                         rg::Error);
    REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);  // opening it would block until a writer comes
    CHECK_THROWS_WITH_AS(rg::data::read_idx(dir.file("fifo")),
                         ("read_idx: '" + dir.file("fifo") + "' is not a regular file, expected an IDX file").c_str(),
                         rg::Error);
}

TEST_CASE("load_fashion_mnist reads a directory of IDX files and says how to install the real one") {
    TempDir dir;
    std::vector<unsigned char> pixels(std::size_t{2} * 28 * 28, 0);
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
    CHECK_THROWS_WITH_AS(rg::data::load_fashion_mnist(false, dir.path.string()), doctest::Contains("do not match"),
                         rg::Error);
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
    CHECK(first == order(c));  // same seed, same order
    CHECK(order(a) != first);  // a new order each epoch
    auto sorted = first;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == y.to_vector());  // a permutation
    CHECK_THROWS_WITH_AS(rg::data::DataLoader({x, y}, {.batch_size = 0}),
                         doctest::Contains("batch_size must be positive"), rg::Error);
    CHECK_THROWS_WITH_AS(rg::data::TensorDataset(x, rg::from_indices({1})), doctest::Contains("same number of samples"),
                         rg::Error);
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
    CHECK_THROWS_WITH_AS(rg::data::train_val_split({x, y}, 1.5), doctest::Contains("fraction must be in (0, 1)"),
                         rg::Error);
}

TEST_CASE("read_idx_bytes keeps the bytes and reads only the rows asked for") {
    TempDir dir;
    const std::string bytes = idx_bytes({3, 2}, {1, 2, 3, 4, 5, 6});
    write_gz(dir.file("a.idx.gz"), bytes);
    write(dir.file("a.idx"), bytes);
    for (const char* name : {"a.idx.gz", "a.idx"}) {
        const auto all = rg::data::read_idx_bytes(dir.file(name));
        CHECK(all.shape == rg::Shape{3, 2});
        CHECK(all.values == std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6});
        const auto two = rg::data::read_idx_bytes(dir.file(name), 2);
        CHECK(two.shape == rg::Shape{2, 2});
        CHECK(two.values == std::vector<std::uint8_t>{1, 2, 3, 4});
        CHECK(rg::data::read_idx_bytes(dir.file(name), 7).shape == rg::Shape{3, 2});
    }
    // The first rows of a gzip file cut short are there; all of it is not.
    write_gz(dir.file("cut.idx.gz"), bytes.substr(0, bytes.size() - 1));
    CHECK(rg::data::read_idx_bytes(dir.file("cut.idx.gz"), 2).values.size() == 4);
    CHECK_THROWS_WITH_AS(rg::data::read_idx_bytes(dir.file("cut.idx.gz")), doctest::Contains("truncated"), rg::Error);
    write(dir.file("f.idx"), idx_bytes({1}, {0, 0, 0, 0}, 0x0D));
    CHECK_THROWS_WITH_AS(rg::data::read_idx_bytes(dir.file("f.idx")),
                         ("read_idx_bytes '" + dir.file("f.idx") +
                          "': the values are of type code 0d, not unsigned bytes (08); read the file with read_idx")
                             .c_str(),
                         rg::Error);
}

TEST_CASE("FashionMNIST keeps bytes and normalises each batch, Subset and the split share it") {
    TempDir dir;
    std::vector<unsigned char> pixels(std::size_t{3} * 28 * 28, 0);
    pixels[0] = 255;
    pixels[28 * 28] = 51;  // the second image's first pixel: 0.2
    write_gz(dir.file("t10k-images-idx3-ubyte.gz"), idx_bytes({3, 28, 28}, pixels));
    write_gz(dir.file("t10k-labels-idx1-ubyte.gz"), idx_bytes({3}, {9, 0, 4}));
    const auto data =
        std::make_shared<const rg::data::FashionMNIST>(false, rg::data::FashionMNISTOptions{.dir = dir.path.string()});
    CHECK(data->size() == 3);
    const auto batch = data->get({1, 0});
    CHECK(batch.inputs.shape() == rg::Shape{2, 1, 28, 28});
    CHECK(batch.inputs.dtype() == rg::float32);
    CHECK(batch.targets.to_vector() == std::vector<double>{0, 9});
    // As normalize_fashion_mnist of load_fashion_mnist's images.
    const auto reference =
        rg::data::normalize_fashion_mnist(rg::data::load_fashion_mnist(false, dir.path.string()).images);
    CHECK(batch.inputs.value()(0, 0, 0, 0) == doctest::Approx(reference.value()(1, 0, 0, 0)).epsilon(1e-6));
    CHECK(batch.inputs.value()(1, 0, 0, 0) == doctest::Approx(reference.value()(0, 0, 0, 0)).epsilon(1e-6));
    CHECK(batch.inputs.value()(1, 0, 0, 1) == doctest::Approx(reference.value()(0, 0, 0, 1)).epsilon(1e-6));
    const rg::data::FashionMNIST raw(false, {.dir = dir.path.string(), .limit = 2, .normalize = false});
    CHECK(raw.size() == 2);
    CHECK(raw.get({0}).inputs.value()(0, 0, 0, 0) == 1.0f);
    CHECK_THROWS_WITH_AS(raw.get({2}), "FashionMNIST::get: index 2 is not an image of a data set of 2", rg::Error);

    const auto split = rg::data::train_val_split(data, 1.0 / 3, 0);
    const rg::data::Subset& train = split.first;
    const rg::data::Subset& val = split.second;
    CHECK(train.size() == 2);
    CHECK(val.size() == 1);
    std::vector<std::int64_t> all = train.indices();
    all.push_back(val.indices().at(0));
    std::sort(all.begin(), all.end());
    CHECK(all == std::vector<std::int64_t>{0, 1, 2});
    CHECK(val.get({0}).targets.to_vector() == data->get(val.indices()).targets.to_vector());
    rg::data::DataLoader loader(std::make_shared<rg::data::Subset>(train), {.batch_size = 1});
    CHECK(loader.batches() == 2);
    CHECK_THROWS_WITH_AS(rg::data::Subset(data, {0, 3}),
                         "Subset: index 3 (at position 1) is not a sample of a data set of 3", rg::Error);
    CHECK_THROWS_WITH_AS(train.get({2}), "Subset::get: index 2 is not a sample of a subset of 2", rg::Error);
    CHECK_THROWS_WITH_AS(rg::data::DataLoader(std::shared_ptr<const rg::data::Dataset>{}),
                         "DataLoader: no data set given (null)", rg::Error);
}
