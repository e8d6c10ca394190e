// The MLP and CNN training steps of the side-by-side suite (784-256-128-10
// with Adam, batch 128; conv32-pool-conv64-pool-128-10 with SGD, batch 64)
// and products from 128x784x256 to 1024^3 (around the size below which a
// bfloat16 product runs on one thread, kernels/onednn.cpp), in float32 and
// under rg::Autocast on each of its kernels, interleaved:
//
//   micro_bench --benchmark_filter=Autocast --benchmark_repetitions=5
//               --benchmark_enable_random_interleaving=true
//
// "native" runs oneDNN's bfloat16 kernels: on a CPU without bfloat16
// instructions (AVX-512 alone), their emulation; below AVX-512 it is the
// rounded kernel again (the run's label says which ran).
#include <benchmark/benchmark.h>
#include <retrograd/detail/autocast_kernel.hpp>
#include <retrograd/retrograd.hpp>

#include <optional>

namespace {

enum Precision { float32, rounded, native };

// For its lifetime, the calling thread's products run in `precision`:
// float32 as usual, or inside rg::Autocast on the kernel asked for.
class InPrecision {
public:
    explicit InPrecision(Precision precision) {
        if (precision == float32) return;
        rg::detail::force_autocast_kernel(precision == native ? rg::AutocastKernel::native
                                                              : rg::AutocastKernel::rounded);
        autocast_.emplace();
    }
    ~InPrecision() {
        autocast_.reset();
        rg::detail::force_autocast_kernel(std::nullopt);
    }
    InPrecision(const InPrecision&) = delete;
    InPrecision& operator=(const InPrecision&) = delete;

private:
    std::optional<rg::Autocast> autocast_;
};

void BM_AutocastStep(benchmark::State& state) {
    const bool cnn = state.range(0) == 1;
    const auto precision = static_cast<Precision>(state.range(1));
    rg::manual_seed(0);
    const std::size_t batch = cnn ? 64 : 128;
    std::shared_ptr<rg::nn::Sequential> model = cnn ? rg::nn::models::fashion_cnn() : rg::nn::models::fashion_mlp();
    std::unique_ptr<rg::optim::Optimizer> optimizer;
    if (cnn)
        optimizer =
            std::make_unique<rg::optim::SGD>(model->parameters(), rg::optim::SGDOptions{.lr = 0.01, .momentum = 0.9});
    else
        optimizer = std::make_unique<rg::optim::Adam>(model->parameters(), rg::optim::AdamOptions{.lr = 1e-3});
    const rg::Tensor images = rg::randn({batch, 1, 28, 28}), labels = rg::randint(0, 10, {batch});
    const InPrecision in_precision(precision);
    for (auto _ : state) {
        auto loss = rg::nn::cross_entropy((*model)(images), labels);
        optimizer->zero_grad();
        loss.backward();
        optimizer->step();
    }
    state.SetLabel(precision == float32 ? "float32" : rg::autocast_kernel_description());
}

// One product, m x k by k x n, as the suite's "matmul" rows.
void BM_AutocastMatmul(benchmark::State& state) {
    const auto precision = static_cast<Precision>(state.range(3));
    const rg::Tensor a = rg::randn({std::size_t(state.range(0)), std::size_t(state.range(1))});
    const rg::Tensor b = rg::randn({std::size_t(state.range(1)), std::size_t(state.range(2))});
    const InPrecision in_precision(precision);
    for (auto _ : state) benchmark::DoNotOptimize(rg::matmul(a, b).value().data());
}

// One of the CNN step's two Conv-ReLU-MaxPool layers (conv2d_relu_max_pool2d,
// batch 64): the first (1 to 32 channels, 28x28) or the second (32 to 64,
// 13x13), forward alone or forward and backward, to see where a step's time goes.
void BM_AutocastConvReluPool(benchmark::State& state) {
    const bool second = state.range(0) == 1, backward = state.range(1) == 1;
    const auto precision = static_cast<Precision>(state.range(2));
    rg::manual_seed(0);
    const std::size_t in = second ? 32 : 1, out = second ? 64 : 32, side = second ? 13 : 28;
    const rg::Tensor x = rg::randn({64, in, side, side}).requires_grad_(second);
    const rg::Tensor weight = (rg::randn({out, in, 3, 3}) * 0.1).requires_grad_();
    const rg::Tensor bias = rg::zeros({out}).requires_grad_();
    const InPrecision in_precision(precision);
    for (auto _ : state) {
        if (backward) {
            rg::conv2d_relu_max_pool2d(x, weight, bias, {}, {2, 2}).sum().backward();
        } else {
            const rg::NoGrad no_grad;
            benchmark::DoNotOptimize(rg::conv2d_relu_max_pool2d(x, weight, bias, {}, {2, 2}).data_ptr<float>());
        }
    }
}

}  // namespace

BENCHMARK(BM_AutocastConvReluPool)
    ->ArgNames({"layer", "backward", "precision"})
    ->ArgsProduct({{0, 1}, {0, 1}, {float32, native}})
    ->Unit(benchmark::kMicrosecond)
    ->MeasureProcessCPUTime();

BENCHMARK(BM_AutocastMatmul)
    ->ArgNames({"m", "k", "n", "precision"})
    ->Args({128, 784, 256, float32})
    ->Args({128, 784, 256, rounded})
    ->Args({128, 784, 256, native})
    ->Args({256, 784, 256, float32})
    ->Args({256, 784, 256, native})
    ->Args({512, 512, 512, float32})
    ->Args({512, 512, 512, native})
    ->Args({256, 1024, 1024, float32})
    ->Args({256, 1024, 1024, native})
    ->Args({1024, 1024, 1024, float32})
    ->Args({1024, 1024, 1024, rounded})
    ->Args({1024, 1024, 1024, native})
    ->Unit(benchmark::kMicrosecond)
    ->MeasureProcessCPUTime();

BENCHMARK(BM_AutocastStep)
    ->ArgNames({"cnn", "precision"})
    ->ArgsProduct({{0, 1}, {float32, rounded, native}})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();
