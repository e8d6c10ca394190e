// Conv2d forward+backward against the BLAS bound: the three GEMMs of the same
// im2col products (forward, weight gradient, column gradient), per image.
#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.h>
#include <retrograd/retrograd.hpp>

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

BENCHMARK(BM_Conv2dGemmBound)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Conv2dForwardBackward)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
