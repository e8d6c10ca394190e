// safetensors: round trips, atomic writes, and every kind of corrupt file.
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

#include "helpers.hpp"

using namespace rg::nn;
using test::check_values;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    // Unique per process and call: ctest runs test cases in parallel processes,
    // whose rg generators all start from the same seed.
    TempDir() {
        std::random_device rd;
        path = fs::temp_directory_path() /
               ("retrograd-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}
void write(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}
// A file with the given JSON header and data bytes.
std::string safetensors(const std::string& header, const std::string& data) {
    std::uint64_t n = header.size();
    return std::string(reinterpret_cast<const char*>(&n), 8) + header + data;
}

}  // namespace

TEST_CASE("a module saves and loads its parameters and buffers") {
    TempDir dir;
    rg::manual_seed(8);
    Sequential net{Linear(3, 4), BatchNorm1d(4), ReLU(), Linear(4, 2)};
    net(rg::randn({5, 3}));  // moves the running statistics
    save(net, dir.file("model.safetensors"));
    Sequential other{Linear(3, 4), BatchNorm1d(4), ReLU(), Linear(4, 2)};
    load(other, dir.file("model.safetensors"));
    auto a = net.named_parameters(), b = other.named_parameters();
    for (std::size_t i = 0; i < a.size(); ++i) check_values(b[i].second, a[i].second, 0);
    check_values(other.named_buffers()[0].second, net.named_buffers()[0].second, 0);
    auto x = rg::randn({2, 3});
    net.eval();
    other.eval();
    check_values(other(x), net(x), 0);
    CHECK(load_metadata(dir.file("model.safetensors")).at("format") == "retrograd");
    // The layout is the reference one: 8-byte length, JSON, data.
    const std::string bytes = read(dir.file("model.safetensors"));
    std::uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    CHECK(bytes[8] == '{');
    CHECK(n % 8 == 0);
    CHECK(bytes.find("\"0.weight\":{\"data_offsets\":[") != std::string::npos);
}

TEST_CASE("save_tensors and load_tensors keep dtypes, shapes and values") {
    TempDir dir;
    TensorMap tensors{{"f32", rg::tensor({{1.5, -2.0}})},
                      {"f64", rg::tensor({3.25}, {.dtype = rg::float64})},
                      {"i64", rg::from_indices({7, -1, 3})},
                      {"scalar", rg::tensor(2.0)},
                      {"empty", rg::zeros({0, 3})}};
    save_tensors(tensors, dir.file("t.safetensors"), {{"note", "hello"}});
    auto back = load_tensors(dir.file("t.safetensors"));
    REQUIRE(back.size() == tensors.size());
    for (auto& [name, t] : tensors) {
        CAPTURE(name);
        CHECK(back[name].dtype() == t.dtype());
        CHECK(back[name].shape() == t.shape());
        CHECK(back[name].to_vector() == t.to_vector());
    }
    CHECK(load_metadata(dir.file("t.safetensors")).at("note") == "hello");
}

TEST_CASE("a file written by the reference implementation loads") {
    // Bytes as Python's safetensors writes {"a": float32 [[1, 2]], "b": int64 [5]}.
    TempDir dir;
    const std::string header = R"({"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}})";
    float a[2] = {1.0f, 2.0f};
    std::int64_t b = 5;
    std::string data(reinterpret_cast<const char*>(a), 8);
    data += std::string(reinterpret_cast<const char*>(&b), 8);
    write(dir.file("ref.safetensors"), safetensors(header, data));
    auto t = load_tensors(dir.file("ref.safetensors"));
    check_values(t["a"], rg::tensor({{1.0, 2.0}}));
    CHECK(t["b"].to_vector() == std::vector<double>{5});
}

TEST_CASE("saving is atomic: a failed save leaves the old checkpoint intact") {
    TempDir dir;
    Linear fc(2, 2);
    const std::string path = dir.file("model.safetensors");
    save(fc, path);
    const std::string before = read(path);
    TensorMap bad{{"ok", rg::ones({2})}, {"broken", rg::Tensor{}}};
    CHECK_THROWS_WITH_AS(save_tensors(bad, path), doctest::Contains("tensor 'broken' is undefined"), rg::Error);
    CHECK(read(path) == before);
    CHECK_THROWS_WITH_AS(save(fc, dir.file("missing-dir/model.safetensors")), doctest::Contains("cannot create"), rg::Error);
    std::size_t leftovers = 0;
    for (auto& e : fs::directory_iterator(dir.path)) leftovers += e.path().string().find(".tmp-") != std::string::npos;
    CHECK(leftovers == 0);
}

TEST_CASE("corrupt, truncated and mismatched files give clear errors and never half-load") {
    TempDir dir;
    rg::manual_seed(9);
    Linear fc(2, 3);
    const std::string good = dir.file("good.safetensors");
    save(fc, good);
    const std::string bytes = read(good);
    const auto weight_before = fc.weight.to_vector();
    auto expect = [&](const std::string& file_bytes, const std::string& message) {
        const std::string path = dir.file("bad.safetensors");
        write(path, file_bytes);
        CAPTURE(message);
        CHECK_THROWS_WITH_AS(load(fc, path), doctest::Contains(message.c_str()), rg::Error);
        CHECK(fc.weight.to_vector() == weight_before);  // untouched
    };
    expect(bytes.substr(0, 5), "too few for the 8-byte header length");
    expect(bytes.substr(0, bytes.size() - 4), "fall outside the");
    expect(bytes.substr(0, 20), "the file is truncated or not safetensors");
    expect(safetensors("{not json", ""), "the header is not valid JSON");
    expect(safetensors("[1, 2]", ""), "the header must be a JSON object");
    expect(safetensors(R"({"weight":{"dtype":"BF16","shape":[3,2],"data_offsets":[0,12]}})", std::string(12, '\0')),
           "unsupported dtype BF16");
    expect(safetensors(R"({"weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,20]}})", std::string(24, '\0')),
           "data_offsets span 20 bytes but shape (3, 2) of F32 needs 24");
    expect(safetensors(R"({"weight":{"dtype":"F32","shape":[-3,2],"data_offsets":[0,24]}})", std::string(24, '\0')),
           "shape entries must be non-negative integers");
    expect(safetensors(R"({"weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},"bias":{"dtype":"F32","shape":[3],"data_offsets":[20,32]}})",
                       std::string(32, '\0')),
           "overlap in the data section");
    expect(safetensors(R"({"weight":{"dtype":"F32","shape":[3,2]}})", ""), "expected an object with dtype, shape and data_offsets");
    expect(safetensors(R"({"weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]}})", std::string(24, '\0')),
           "the file has no tensor 'bias'");
    expect(safetensors(R"({"weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]}})",
                       std::string(36, '\0')),
           "tensor 'weight' has shape (2, 3) in the file but (3, 2) in the module");
    Sequential bigger{Linear(2, 3), Linear(3, 1)};
    save(bigger, dir.file("bigger.safetensors"));
    CHECK_THROWS_WITH_AS(load(fc, dir.file("bigger.safetensors")), doctest::Contains("the file has no tensor 'weight'"), rg::Error);
    CHECK_THROWS_WITH_AS(load(fc, dir.file("nope.safetensors")), doctest::Contains("cannot open"), rg::Error);
    // Extra tensors in the file are reported too.
    TensorMap extra{{"weight", fc.weight}, {"bias", fc.bias}, {"stray", rg::ones({1})}};
    save_tensors(extra, dir.file("extra.safetensors"));
    CHECK_THROWS_WITH_AS(load(fc, dir.file("extra.safetensors")), doctest::Contains("tensor 'stray', which the module does not"),
                         rg::Error);
}

TEST_CASE("optimizer state saves and loads") {
    TempDir dir;
    auto w = rg::tensor({1.0, -2.0}, {.requires_grad = true});
    rg::optim::Adam opt({w}, {.lr = 0.1});
    (rg::sum(w * w)).backward();
    opt.step();
    save(opt, dir.file("opt.safetensors"));
    rg::optim::Adam fresh({w}, {.lr = 0.1});
    load(fresh, dir.file("opt.safetensors"));
    auto a = opt.state_dict(), b = fresh.state_dict();
    REQUIRE(a.size() == b.size());
    for (auto& [k, v] : a) CHECK(b[k].to_vector() == v.to_vector());
}
