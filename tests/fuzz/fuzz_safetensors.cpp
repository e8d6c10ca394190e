// libFuzzer harness for the safetensors reader (rg::nn::load_tensors,
// load_metadata, nn::load into a module and an optimizer). An rg::Error is the
// expected answer to a bad file; any other exception, a crash, a leak, an
// allocation beyond libFuzzer's -malloc_limit_mb or undefined behaviour is a
// finding. Whatever loads must save and load again to the same tensors.
#include <retrograd/retrograd.hpp>

#include <cstdio>

#include "fuzz_file.hpp"

namespace {

// The parameters the seeds' module and optimizer files describe (make_seeds.cpp).
struct Targets {
    rg::nn::Linear linear{2, 3};
    rg::optim::Adam adam{linear.parameters()};
    rg::optim::SGD sgd{linear.parameters(), {.lr = 0.1, .momentum = 0.9}};
};

// What loaded saves, and what save_tensors writes loads: an rg::Error here is a finding too.
void round_trip(const rg::nn::TensorMap& tensors, const std::map<std::string, std::string>& metadata) {
    const std::string path = fuzz::scratch_path("-copy.safetensors");
    rg::nn::TensorMap back;
    try {
        rg::nn::save_tensors(tensors, path, metadata);
        back = rg::nn::load_tensors(path);
    } catch (const rg::Error& e) {
        std::fprintf(stderr, "round trip failed: %s\n", e.what());
        __builtin_trap();
    }
    if (back.size() != tensors.size()) __builtin_trap();
    for (const auto& entry : tensors) {
        const rg::Tensor& again = back.at(entry.first);
        if (again.dtype() != entry.second.dtype() || again.shape() != entry.second.shape()) __builtin_trap();
        const auto a = again.to_vector(), b = entry.second.to_vector();
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!(a[i] == b[i] || (a[i] != a[i] && b[i] != b[i]))) __builtin_trap();  // NaN == NaN here
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Targets targets;
    const std::string path = fuzz::scratch_path(".safetensors");
    fuzz::write_file(path, data, size);
    rg::nn::TensorMap tensors;
    std::map<std::string, std::string> metadata;
    bool loaded = false;
    try {
        tensors = rg::nn::load_tensors(path);
        metadata = rg::nn::load_metadata(path);
        loaded = true;
    } catch (const rg::Error&) {
    }
    if (loaded) round_trip(tensors, metadata);
    try {
        rg::nn::load(targets.linear, path);
    } catch (const rg::Error&) {
    }
    for (rg::optim::Optimizer* opt :
         {static_cast<rg::optim::Optimizer*>(&targets.adam), static_cast<rg::optim::Optimizer*>(&targets.sgd)}) {
        try {
            rg::nn::load(*opt, path);
        } catch (const rg::Error&) {
        }
    }
    return 0;
}
