// Conv2d forward+backward against the BLAS bound: the three GEMMs of the same
// im2col products (forward, weight gradient, column gradient), per image.
// And each pass of a float32 convolution on both kernels, oneDNN's and
// im2col + GEMM, over the shape classes the choice between them is made on
// (docs/performance.md, "Convolutions").
#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.h>
#include <retrograd/detail/conv_kernel.hpp>
#include <retrograd/retrograd.hpp>

#include <string>

namespace {

struct ConvCase {
    std::size_t n, c, h, w, o, k;
    std::size_t oh() const { return h - k + 1; }
    std::size_t ow() const { return w - k + 1; }
    double flops() const { return 3.0 * 2.0 * n * o * (c * k * k) * oh() * ow(); }  // fwd + 2 bwd GEMMs
};

const ConvCase cases[] = {{64, 1, 28, 28, 32, 3}, {64, 32, 13, 13, 64, 3}};

void BM_Conv2dForwardBackward(benchmark::State& state) {
    const ConvCase& c = cases[state.range(0)];
    auto x = rg::randn({c.n, c.c, c.h, c.w}, {.requires_grad = true});
    rg::nn::Conv2d conv(c.c, c.o, c.k);
    for (auto _ : state) {
        rg::sum(conv(x)).backward();  // as in training: the gradient arrives from a scalar loss
        conv.zero_grad();
        x.zero_grad();
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(c.flops(), benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::OneK::kIs1000);
}

void BM_Conv2dGemmBound(benchmark::State& state) {
    const ConvCase& c = cases[state.range(0)];
    const int m = static_cast<int>(c.o), k = static_cast<int>(c.c * c.k * c.k), l = static_cast<int>(c.oh() * c.ow());
    std::vector<float> w(m * k, 0.5f), cols(k * l, 0.25f), out(m * l), gw(m * k), gcols(k * l), g(m * l, 1.0f);
    for (auto _ : state) {
        for (std::size_t i = 0; i < c.n; ++i) {
            dnnl_sgemm('N', 'N', m, l, k, 1.0f, w.data(), k, cols.data(), l, 0.0f, out.data(), l);
            dnnl_sgemm('N', 'T', m, k, l, 1.0f, g.data(), l, cols.data(), l, 1.0f, gw.data(), k);
            dnnl_sgemm('T', 'N', k, l, m, 1.0f, w.data(), k, g.data(), l, 0.0f, gcols.data(), l);
        }
        benchmark::DoNotOptimize(gcols.data());
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(c.flops(), benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::OneK::kIs1000);
}

struct PassCase {
    const char* name;
    std::size_t n, c, h, w, o, k, stride, padding, groups;
};
const PassCase pass_cases[] = {
    {"CNN conv1 1->32 3x3 28x28", 64, 1, 28, 28, 32, 3, 1, 0, 1},
    {"CNN conv2 32->64 3x3 13x13", 64, 32, 13, 13, 64, 3, 1, 0, 1},
    {"3x3 pad 1 64->64 28x28", 16, 64, 28, 28, 64, 3, 1, 1, 1},
    {"1x1 64->64 14x14", 64, 64, 14, 14, 64, 1, 1, 0, 1},
    {"7x7 stride 2 pad 3 3->16 56x56", 8, 3, 56, 56, 16, 7, 2, 3, 1},
    {"batch 1 13->7 3x3 pad 1 20x20", 1, 13, 20, 20, 7, 3, 1, 1, 1},
    {"depthwise 3x3 pad 1 32 groups 14x14", 16, 32, 14, 14, 32, 3, 1, 1, 32},
    {"3x3 pad 1 3->32 32x32", 32, 3, 32, 32, 32, 3, 1, 1, 1},
    {"3x3 stride 2 pad 1 32->64 28x28", 32, 32, 28, 28, 64, 3, 2, 1, 1},
    {"5x5 pad 2 3->16 32x32", 32, 3, 32, 32, 16, 5, 1, 2, 1},
    {"5x5 16->32 14x14", 32, 16, 14, 14, 32, 5, 1, 0, 1},
    {"3x3 pad 1 128->128 7x7", 64, 128, 7, 7, 128, 3, 1, 1, 1},
    {"2 groups 3x3 32->64 13x13", 64, 32, 13, 13, 64, 3, 1, 0, 2},
};

// range(0): the case; range(1): 0 forward, 1 input gradient, 2 weight
// gradient; range(2): 0 im2col + GEMM, 1 oneDNN's direct convolution, 2 the
// automatic choice (which runs oneDNN's Winograd convolution where it pays).
void BM_Conv2dPass(benchmark::State& state) {
    const PassCase& c = pass_cases[state.range(0)];
    const rg::Conv2dOptions o{.stride = {c.stride, c.stride}, .padding = {c.padding, c.padding}, .groups = c.groups};
    auto x = rg::randn({c.n, c.c, c.h, c.w}), w = rg::randn({c.o, c.c / c.groups, c.k, c.k}), b = rg::randn({c.o});
    rg::NoGrad off;
    auto g = rg::randn(rg::conv2d(x, w, b, o).shape());
    const rg::detail::ConvKernel kernels[] = {rg::detail::ConvKernel::own, rg::detail::ConvKernel::onednn,
                                              rg::detail::ConvKernel::automatic};
    rg::detail::force_conv_kernel(kernels[state.range(2)]);
    for (auto _ : state) {
        rg::Tensor r = state.range(1) == 0   ? rg::conv2d(x, w, b, o)
                       : state.range(1) == 1 ? rg::conv2d_input_grad(g, w, x.shape(), o)
                                             : rg::conv2d_weight_grad(g, x, w.shape(), o);
        benchmark::DoNotOptimize(r.data_ptr<float>());
    }
    rg::detail::force_conv_kernel(rg::detail::ConvKernel::automatic);
    static const char* passes[] = {"forward", "input grad", "weight grad"};
    static const char* kernel_names[] = {", im2col", ", oneDNN direct", ", automatic (Winograd where it pays)"};
    state.SetLabel(std::string(c.name) + ", " + passes[state.range(1)] + kernel_names[state.range(2)]);
}

void pass_arguments(benchmark::internal::Benchmark* b) {
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(std::size(pass_cases)); ++i)
        for (std::int64_t pass = 0; pass < 3; ++pass)
            for (std::int64_t kernel = 0; kernel < 3; ++kernel) b->Args({i, pass, kernel});
}

BENCHMARK(BM_Conv2dPass)->Apply(pass_arguments)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();
BENCHMARK(BM_Conv2dGemmBound)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Conv2dForwardBackward)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
