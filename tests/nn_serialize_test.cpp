// safetensors: round trips, atomic writes, and every kind of corrupt file.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

#include "file_limits.hpp"
#include "helpers.hpp"
#include "temp_dir.hpp"

using namespace rg::nn;
using test::check_values;
namespace fs = std::filesystem;

namespace {

using test::TempDir;

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}
void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }
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

TEST_CASE("BatchNorm's num_batches_tracked round-trips, and files without it still load, as PyTorch's") {
    TempDir dir;
    BatchNorm2d norm(2);
    norm(rg::randn({3, 2, 2, 2}));
    norm(rg::randn({3, 2, 2, 2}));
    save(norm, dir.file("norm.safetensors"));
    BatchNorm2d other(2);
    load(other, dir.file("norm.safetensors"));
    CHECK(other.num_batches_tracked.dtype() == rg::int64);
    CHECK(other.num_batches_tracked.item() == 2);
    // A file from before the buffer existed (written by PyTorch before 0.4.1, or by retrograd before it
    // had the buffer): everything else loads, the count stays as it was.
    TensorMap old = load_tensors(dir.file("norm.safetensors"));
    old.erase("num_batches_tracked");
    save_tensors(old, dir.file("old.safetensors"));
    BatchNorm2d fresh(2);
    load(fresh, dir.file("old.safetensors"));
    check_values(fresh.running_mean, norm.running_mean, 0);
    CHECK(fresh.num_batches_tracked.item() == 0);
    Sequential net{Conv2d(1, 2, 3), BatchNorm2d(2)};
    TensorMap weights;
    for (auto& [name, t] : net.named_parameters()) weights[name] = t;
    for (auto& [name, t] : net.named_buffers())
        if (name != "1.num_batches_tracked") weights[name] = t;
    load_weights(net, weights, "weights");
    // Only that buffer may be missing, and a count that is not an integer is refused.
    old.erase("running_var");
    save_tensors(old, dir.file("older.safetensors"));
    CHECK_THROWS_WITH_AS(load(fresh, dir.file("older.safetensors")),
                         doctest::Contains(
                             "the file has no tensor 'running_var' (BatchNorm2d(2) expects (2,) float32)"),
                         rg::Error);
    TensorMap fractional = load_tensors(dir.file("norm.safetensors"));
    fractional["num_batches_tracked"] = rg::full(rg::IntList{}, 2.5);
    save_tensors(fractional, dir.file("fractional.safetensors"));
    CHECK_THROWS_WITH_AS(load(fresh, dir.file("fractional.safetensors")),
                         doctest::Contains("tensor 'num_batches_tracked' is float32 in the file but int64"), rg::Error);
}

TEST_CASE("save_tensors and load_tensors keep dtypes, shapes and values") {
    TempDir dir;
    TensorMap tensors{{"f32", rg::tensor({{1.5, -2.0}})},    {"f64", rg::tensor({3.25}, {.dtype = rg::float64})},
                      {"i64", rg::from_indices({7, -1, 3})}, {"mask", rg::tensor({{true, false}, {false, true}})},
                      {"scalar", rg::tensor(2.0)},           {"empty", rg::zeros({0, 3})}};
    save_tensors(tensors, dir.file("t.safetensors"), {{"note", "hello"}});
    auto back = load_tensors(dir.file("t.safetensors"));
    REQUIRE(back.size() == tensors.size());
    for (auto& entry : tensors) {
        const std::string& name = entry.first;  // not a structured binding: CAPTURE's lambda (clang 14)
        const rg::Tensor& t = entry.second;
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
    const std::string header =
        R"({"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}})";
    float a[2] = {1.0f, 2.0f};
    std::int64_t b = 5;
    std::string data(reinterpret_cast<const char*>(a), 8);
    data += std::string(reinterpret_cast<const char*>(&b), 8);
    write(dir.file("ref.safetensors"), safetensors(header, data));
    auto t = load_tensors(dir.file("ref.safetensors"));
    check_values(t["a"], rg::tensor({{1.0, 2.0}}));
    CHECK(t["b"].to_vector() == std::vector<double>{5});
}

TEST_CASE("bool tensors are BOOL in safetensors, one byte each; any other byte is refused") {
    TempDir dir;
    const std::string header = R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})";
    write(dir.file("ok.safetensors"), safetensors(header, std::string("\x01\x00\x01", 3)));
    auto t = load_tensors(dir.file("ok.safetensors"));
    CHECK(t["m"].dtype() == rg::bool_);
    CHECK(t["m"].to_vector() == std::vector<double>{1, 0, 1});
    save_tensors({{"m", rg::tensor({true, false, true})}}, dir.file("saved.safetensors"));
    std::ifstream in(dir.file("saved.safetensors"), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(bytes.find(R"("dtype":"BOOL")") != std::string::npos);
    CHECK(bytes.substr(bytes.size() - 3) == std::string("\x01\x00\x01", 3));
    write(dir.file("bad.safetensors"), safetensors(header, std::string("\x01\x02\x00", 3)));
    CHECK_THROWS_WITH_AS(load_tensors(dir.file("bad.safetensors")),
                         doctest::Contains("tensor 'm': BOOL element [1] is the byte 2, expected 0 or 1; the file is "
                                           "damaged"),
                         rg::Error);
}

TEST_CASE("bfloat16 tensors are BF16 in safetensors, two little-endian bytes each, as PyTorch writes them") {
    TempDir dir;
    // 1.0 is 0x3f80, -2.0 is 0xc000, 0.1 rounds to 0x3dcd: bytes low first.
    const std::string header = R"({"h":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]}})";
    const std::string data("\x80\x3f\x00\xc0\xcd\x3d", 6);
    write(dir.file("ref.safetensors"), safetensors(header, data));
    auto t = load_tensors(dir.file("ref.safetensors"));
    CHECK(t["h"].dtype() == rg::bfloat16);
    CHECK(t["h"].to_vector() == std::vector<double>{1.0, -2.0, 0.10009765625});
    const rg::Tensor h = rg::tensor({{1.0, -2.0, 0.1}, {std::nan(""), 1e-40, -1e30}}, {.dtype = rg::bfloat16});
    save_tensors({{"h", h}}, dir.file("saved.safetensors"));
    const std::string bytes = read(dir.file("saved.safetensors"));
    CHECK(bytes.find(R"("dtype":"BF16")") != std::string::npos);
    CHECK(bytes.substr(bytes.size() - 12, 6) == data);
    auto back = load_tensors(dir.file("saved.safetensors"))["h"];
    CHECK(back.dtype() == rg::bfloat16);
    CHECK(back.shape() == h.shape());
    for (std::size_t i = 0; i < 6; ++i)
        CHECK(back.data_ptr<rg::BFloat16>()[i].bits == h.contiguous().data_ptr<rg::BFloat16>()[i].bits);
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
    CHECK_THROWS_WITH_AS(save(fc, dir.file("missing-dir/model.safetensors")), doctest::Contains("cannot create"),
                         rg::Error);
    std::size_t leftovers = 0;
    for (auto& e : fs::directory_iterator(dir.path)) leftovers += e.path().string().find(".tmp-") != std::string::npos;
    CHECK(leftovers == 0);
}

TEST_CASE("a save that fails writing or renaming leaves the old file and no temporary file") {
    TempDir dir;
    const std::string path = dir.file("model.safetensors");
    Linear fc(2, 2);
    save(fc, path);
    const std::string before = read(path);
    auto leftovers = [&] {
        std::size_t n = 0;
        for (auto& e : fs::directory_iterator(dir.path)) n += e.path().string().find(".tmp-") != std::string::npos;
        return n;
    };
    // A write that fails half-way (a file size limit, as a full disk would);
    // the error names the temporary file it was writing.
    const std::string message = test::error_with_file_size_limit(100, [&] {
        save_tensors({{"big", rg::zeros({1000})}}, path);
    });
    const std::string start = fmt::format("save: cannot write '{}.tmp-{}-", path, ::getpid());
    const std::string end = "': File too large";
    CHECK_MESSAGE(message.rfind(start, 0) == 0, message);
    CHECK_MESSAGE(message.size() > end.size(), message);
    CHECK(message.substr(message.size() - std::min(message.size(), end.size())) == end);
    CHECK(read(path) == before);
    CHECK(leftovers() == 0);
    // The rename fails (a directory is in the way): the error names the target.
    const std::string blocked = dir.file("blocked.safetensors");
    fs::create_directories(fs::path(blocked) / "inside");
    CHECK_THROWS_WITH_AS(save(fc, blocked),
                         ("save: cannot move the new file over '" + blocked + "': Is a directory").c_str(), rg::Error);
    CHECK(leftovers() == 0);
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
    expect(bytes.substr(0, bytes.size() - 4), "the file is truncated or corrupt: its header describes");
    expect(bytes.substr(0, 20), "the file is truncated or not safetensors");
    expect(safetensors("{not json", ""), "the header is not valid JSON");
    expect(safetensors("[1, 2]", ""), "the header must be a JSON object");
    expect(safetensors(R"({"weight":{"dtype":"F16","shape":[3,2],"data_offsets":[0,12]}})", std::string(12, '\0')),
           "unsupported dtype F16 (expected F32, F64, I64, BOOL or BF16)");
    expect(safetensors(R"({"weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,20]}})", std::string(24, '\0')),
           "data_offsets span 20 bytes but shape (3, 2) of F32 needs 24");
    expect(safetensors(R"({"weight":{"dtype":"F32","shape":[-3,2],"data_offsets":[0,24]}})", std::string(24, '\0')),
           "shape entries must be non-negative integers");
    expect(safetensors(R"({"weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},"bias":{"dtype":"F32","shape":[3],"data_offsets":[20,32]}})",
                       std::string(32, '\0')),
           "overlap in the data section");
    expect(safetensors(R"({"weight":{"dtype":"F32","shape":[3,2]}})", ""),
           "expected an object with dtype, shape and data_offsets");
    expect(safetensors(R"({"weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]}})", std::string(24, '\0')),
           "the file has no tensor 'bias'");
    expect(safetensors(R"({"weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]}})",
                       std::string(36, '\0')),
           "tensor 'weight' has shape (2, 3) in the file but (3, 2) in the module");
    Sequential bigger{Linear(2, 3), Linear(3, 1)};
    save(bigger, dir.file("bigger.safetensors"));
    CHECK_THROWS_WITH_AS(load(fc, dir.file("bigger.safetensors")), doctest::Contains("the file has no tensor 'weight'"),
                         rg::Error);
    CHECK_THROWS_WITH_AS(load(fc, dir.file("nope.safetensors")), doctest::Contains("cannot open"), rg::Error);
    // Extra tensors in the file are reported too.
    TensorMap extra{{"weight", fc.weight}, {"bias", fc.bias}, {"stray", rg::ones({1})}};
    save_tensors(extra, dir.file("extra.safetensors"));
    CHECK_THROWS_WITH_AS(load(fc, dir.file("extra.safetensors")),
                         doctest::Contains("tensor 'stray', which the module does not"), rg::Error);
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

// Before, a tensor with no values was memcpy'd from or to a null pointer
// (undefined, UBSan's finding) and an empty tensor starting where another one
// starts was taken for an overlap.
TEST_CASE("tensors with no values save and load, wherever their empty range sits") {
    TempDir dir;
    TensorMap tensors{{"a", rg::zeros({0})},
                      {"b", rg::zeros({2, 0, 3}, {.dtype = rg::float64})},
                      {"c", rg::from_indices(std::vector<std::int64_t>{})},
                      {"d", rg::tensor({1.0, 2.0})}};
    save_tensors(tensors, dir.file("e.safetensors"));
    auto back = load_tensors(dir.file("e.safetensors"));
    for (auto& entry : tensors) {
        CAPTURE(entry.first);
        CHECK(back.at(entry.first).shape() == entry.second.shape());
        CHECK(back.at(entry.first).dtype() == entry.second.dtype());
    }
    check_values(back.at("d"), rg::tensor({1.0, 2.0}), 0);
    float two[2] = {3.0f, 4.0f};
    write(dir.file("tie.safetensors"),
          safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})",
                      std::string(reinterpret_cast<const char*>(two), 8)));
    auto tie = load_tensors(dir.file("tie.safetensors"));
    CHECK(tie.at("e").numel() == 0);
    check_values(tie.at("a"), rg::tensor({3.0, 4.0}), 0);
}

TEST_CASE("load_tensors refuses shapes whose product overflows, zero sizes included") {
    TempDir dir;
    auto expect = [&](const std::string& header, const std::string& message) {
        write(dir.file("big.safetensors"), safetensors(header, ""));
        CAPTURE(message);
        CHECK_THROWS_WITH_AS(load_tensors(dir.file("big.safetensors")), doctest::Contains(message.c_str()), rg::Error);
    };
    // 0 x 2^40 x 2^40: no values, but strides no index type holds (accepted before).
    expect(R"({"t":{"dtype":"F32","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]}})",
           "tensor 't': shape (0, 1099511627776, 1099511627776) describes more than 2^62 bytes (zero sizes aside)");
    expect(R"({"t":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}})",
           "describes more than 2^62 bytes");
    std::string deep = "[";
    for (int i = 0; i < 65; ++i) deep += i ? ",1" : "1";
    expect(R"({"t":{"dtype":"F32","shape":)" + deep + R"(],"data_offsets":[0,4]}})",
           "shape has 65 sizes; at most 64 are supported");
}

// Before, bytes that belonged to no tensor (a gap, data appended) were
// accepted; the reference implementation refuses them (InvalidOffset,
// MetadataIncompleteBuffer), and so does load_tensors now.
TEST_CASE("load_tensors refuses data bytes that belong to no tensor: gaps and trailing bytes") {
    TempDir dir;
    const std::string path = dir.file("layout.safetensors");
    auto expect = [&](const std::string& header, std::size_t data_bytes, const std::string& problem) {
        write(path, safetensors(header, std::string(data_bytes, '\0')));
        CAPTURE(header);
        CHECK_THROWS_WITH_AS(load_tensors(path), ("load '" + path + "': " + problem).c_str(), rg::Error);
    };
    expect(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8,
           "the data section starts with 4 bytes belonging to no tensor (the first tensor, 'a', starts at data byte "
           "4, expected 0); safetensors stores tensors back to back, so the file is damaged");
    expect(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F64","shape":[1],"data_offsets":[16,24]}})",
           24,
           "the data section has 12 bytes belonging to no tensor: tensor 'a' ends at data byte 4 but the next one, "
           "'b', starts at 16; safetensors stores tensors back to back, so the file is damaged");
    // An empty tensor does not fill a gap.
    expect(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
           12,
           "the data section has 4 bytes belonging to no tensor: tensor 'a' ends at data byte 4 but the next one, "
           "'e', starts at 8; safetensors stores tensors back to back, so the file is damaged");
    expect(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 7,
           "the data section has 3 bytes after the last tensor ('a' ends at data byte 4 of 7); a safetensors file "
           "ends with its last tensor, so the file is damaged or has bytes appended");
    expect(R"({"__metadata__":{"format":"x"}})", 5,
           "the header names no tensor but the data section has 5 bytes; a safetensors file ends with its last "
           "tensor, so the file is damaged or has bytes appended");

    // What save_tensors writes loads (empty tensors first, last and between
    // others included); one byte appended to it does not.
    const TensorMap tensors{{"a", rg::zeros({0})},
                            {"m", rg::tensor({1.0, 2.0, 3.0})},
                            {"n", rg::zeros({2, 0})},
                            {"w", rg::tensor({4.0}, {.dtype = rg::float64})},
                            {"z", rg::from_indices(std::vector<std::int64_t>{})}};
    save_tensors(tensors, path, {{"format", "test"}});
    CHECK(load_tensors(path).size() == 5);
    write(path, read(path) + "x");
    CHECK_THROWS_WITH_AS(load_tensors(path),
                         doctest::Contains("': the data section has 1 byte after the last tensor ('"), rg::Error);
    // A module's file: the same rule through nn::load.
    Linear fc(3, 2);
    save(fc, path);
    load(fc, path);
    write(path, read(path) + std::string(16, '\0'));
    CHECK_THROWS_WITH_AS(load(fc, path),
                         doctest::Contains(
                             "the data section has 16 bytes after the last tensor ('weight' ends at data byte"),
                         rg::Error);
}

// Before: std::ios_base::failure for a directory, and nlohmann's type_error for
// a name that is not UTF-8. Every error from these functions is an rg::Error
// naming the file.
TEST_CASE("directories, FIFOs and names that are not UTF-8 are rg::Errors naming the file") {
    TempDir dir;
    CHECK_THROWS_WITH_AS(load_tensors(dir.path.string()),
                         ("load '" + dir.path.string() + "': this is a directory, expected a safetensors file").c_str(),
                         rg::Error);
    Linear fc(2, 2);
    CHECK_THROWS_WITH_AS(load(fc, dir.path.string()), doctest::Contains("this is a directory"), rg::Error);
    CHECK_THROWS_WITH_AS(load_metadata(dir.path.string()), doctest::Contains("this is a directory"), rg::Error);
    REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);
    CHECK_THROWS_WITH_AS(load_tensors(dir.file("fifo")), doctest::Contains("this is not a regular file"), rg::Error);

    const std::string path = dir.file("names.safetensors");
    save(fc, path);
    const std::string before = read(path);
    CHECK_THROWS_WITH_AS(save_tensors({{"bad\xff", rg::ones({1})}}, path),
                         ("save '" + path +
                          "': tensor name \"bad\xEF\xBF\xBD\" is not valid UTF-8; safetensors "
                          "headers are JSON, whose strings must be UTF-8")
                             .c_str(),
                         rg::Error);
    CHECK_THROWS_WITH_AS(save_tensors({{"ok", rg::ones({1})}}, path, {{"note", "\xc3("}}),
                         doctest::Contains("metadata value \""), rg::Error);
    CHECK(read(path) == before);
    std::size_t leftovers = 0;
    for (auto& e : fs::directory_iterator(dir.path)) leftovers += e.path().string().find(".tmp-") != std::string::npos;
    CHECK(leftovers == 0);
    // UTF-8 names are fine.
    save_tensors({{"poids.\xC3\xA9t\xC3\xA9", rg::ones({1})}}, path);
    CHECK(load_tensors(path).count("poids.\xC3\xA9t\xC3\xA9") == 1);
}

TEST_CASE("optimizer files say which optimizer wrote them; errors name the file") {
    TempDir dir;
    auto w = rg::tensor({1.0, -2.0}, {.requires_grad = true});
    rg::optim::SGD sgd({w}, {.lr = 0.1, .momentum = 0.9});
    rg::sum(w * w).backward();
    sgd.step();
    const std::string path = dir.file("sgd.safetensors");
    save(sgd, path);
    CHECK(load_metadata(path).at("optimizer") == "SGD");
    CHECK(load_metadata(path).at("format") == "retrograd-optimizer");
    rg::optim::Adam adam({w});
    CHECK_THROWS_WITH_AS(load(adam, path),
                         ("load '" + path +
                          "': load_state_dict: the state was written by SGD, but this optimizer is "
                          "Adam; load it into SGD (with the same parameters), or start Adam from scratch")
                             .c_str(),
                         rg::Error);
    Linear fc(2, 2);
    save(fc, dir.file("model.safetensors"));
    CHECK_THROWS_WITH_AS(load(adam, dir.file("model.safetensors")),
                         doctest::Contains("this file holds 'retrograd' data, not an optimizer state"), rg::Error);
    rg::optim::SGD again({w}, {.lr = 0.1, .momentum = 0.9});
    load(again, path);
    CHECK(again.state_dict().at("step.0.0").item() == 1);
}
