// Writes the fuzzers' seed corpora with the library itself (safetensors files
// through rg::nn::save / save_tensors) and a few lines of IDX writing, so that
// no binary seed is checked in.
//   make_seeds <dir>   creates <dir>/safetensors and <dir>/idx
#include <retrograd/retrograd.hpp>

#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}
void write(const fs::path& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

void safetensors_seeds(const fs::path& dir) {
    rg::manual_seed(1);
    // The module and optimizers fuzz_safetensors.cpp loads into.
    rg::nn::Linear linear(2, 3);
    rg::nn::save(linear, (dir / "linear.safetensors").string());
    rg::optim::Adam adam(linear.parameters());
    rg::optim::SGD sgd(linear.parameters(), {.lr = 0.1, .momentum = 0.9});
    rg::sum(linear(rg::randn({4, 2}))).backward();
    adam.step();
    sgd.step();
    rg::nn::save(adam, (dir / "adam.safetensors").string());
    rg::nn::save(sgd, (dir / "sgd.safetensors").string());
    rg::nn::save_tensors({{"f32", rg::tensor({{1.5, -2.0}, {0.25, 8.0}})},
                          {"f64", rg::tensor({3.25, -1e300}, {.dtype = rg::float64})},
                          {"i64", rg::from_indices({7, -1, 3})},
                          {"scalar", rg::tensor(2.0)},
                          {"empty", rg::zeros({0, 3})}},
                         (dir / "dtypes.safetensors").string(), {{"format", "retrograd"}, {"note", "seed"}});
    rg::nn::save_tensors({}, (dir / "nothing.safetensors").string());
    // A seed the loader refused would start the fuzzer from a rejected input:
    // each must load (an rg::Error fails make_seeds, and so CI).
    for (const auto& entry : fs::directory_iterator(dir)) (void)rg::nn::load_tensors(entry.path().string());
}

// IDX: magic (0, 0, type, rank), big-endian 32-bit sizes, big-endian values.
std::string idx(unsigned char type, const std::vector<std::uint32_t>& dims, const std::string& values) {
    std::string out{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
    for (auto d : dims)
        for (int shift : {24, 16, 8, 0}) out += static_cast<char>((d >> shift) & 0xFF);
    return out + values;
}
std::string big_endian(std::uint64_t bits, int bytes) {
    std::string out;
    for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((bits >> (8 * i)) & 0xFF);
    return out;
}
std::string gzip(const std::string& bytes, const fs::path& scratch) {
    gzFile f = gzopen(scratch.c_str(), "wb9");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
    return read(scratch);
}

void idx_seeds(const fs::path& dir) {
    std::vector<std::string> files;
    files.push_back(idx(0x08, {2, 3}, std::string("\x00\x01\x02\xfd\xfe\xff", 6)));
    files.push_back(idx(0x08, {2, 2, 2}, std::string(8, '\x07')));
    files.push_back(idx(0x09, {3}, std::string("\x80\x00\x7f", 3)));
    files.push_back(idx(0x0B, {2}, big_endian(0x0102, 2) + big_endian(0xFFFE, 2)));
    files.push_back(idx(0x0C, {2}, big_endian(256, 4) + big_endian(0xFFFFFFFE, 4)));
    float f = 2.5f;
    std::uint32_t fbits;
    std::memcpy(&fbits, &f, 4);
    files.push_back(idx(0x0D, {1, 1}, big_endian(fbits, 4)));
    double d = -3.0;
    std::uint64_t dbits;
    std::memcpy(&dbits, &d, 8);
    files.push_back(idx(0x0E, {1}, big_endian(dbits, 8)));
    files.push_back(idx(0x08, {0, 28, 28}, ""));
    // The first byte of a seed is the harness's mode: 0 plain, 1 gzip-compressed
    // by the harness (+2, +4: other dtypes asked for); plain gzip bytes too.
    const fs::path scratch = dir / "scratch.gz";
    int n = 0;
    for (const std::string& file : files) {
        for (char mode : {'\x00', '\x01', '\x04', '\x05'})
            write(dir / fmt::format("idx-{:02}-{}", n, int(mode)), mode + file);
        write(dir / fmt::format("idx-{:02}-gz", n), '\x00' + gzip(file, scratch));
        ++n;
    }
    fs::remove(scratch);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_seeds <dir>\n");
        return 2;
    }
    const fs::path root = argv[1];
    fs::create_directories(root / "safetensors");
    fs::create_directories(root / "idx");
    try {
        safetensors_seeds(root / "safetensors");
        idx_seeds(root / "idx");
    } catch (const rg::Error& e) {
        std::fprintf(stderr, "make_seeds: %s\n", e.what());
        return 1;
    }
    return 0;
}
