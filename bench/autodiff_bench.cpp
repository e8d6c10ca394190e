// Core-engine benchmarks: the tape's per-op overhead on tiny tensors, and
// matmul against the BLAS call it wraps. Run through `make bench`
// (single-threaded BLAS).
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <retrograd/retrograd.hpp>

#include <vector>

namespace {

// 1000 steps of y = tanh(y * 0.5 + 0.1) on 4 elements, forward + backward:
// 3000 recorded ops, so time / 3000 is the cost of one op both ways.
void BM_TapeOverhead(benchmark::State& state) {
    auto x = rg::randn({4}, {.requires_grad = true});
    constexpr int steps = 1000;
    for (auto _ : state) {
        rg::Tensor y = x;
        for (int i = 0; i < steps; ++i) y = rg::tanh(y * 0.5 + 0.1);
        rg::sum(y).backward();
        benchmark::DoNotOptimize(x.grad().value().data());
        x.zero_grad();
    }
    state.counters["ns_per_op"] =
        benchmark::Counter(static_cast<double>(steps * 3),
                           benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_TapeOverhead)->Unit(benchmark::kMicrosecond);

// The same chain forward only, with recording off: the cost of the kernels alone.
void BM_TapeOverheadNoGrad(benchmark::State& state) {
    auto x = rg::randn({4});
    for (auto _ : state) {
        rg::Tensor y = x;
        for (int i = 0; i < 1000; ++i) y = rg::tanh(y * 0.5 + 0.1);
        benchmark::DoNotOptimize(y.value().data());
    }
}
BENCHMARK(BM_TapeOverheadNoGrad)->Unit(benchmark::kMicrosecond);

void BM_MatmulRetrograd(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto k = static_cast<std::size_t>(state.range(1));
    const auto m = static_cast<std::size_t>(state.range(2));
    auto a = rg::randn({n, k});
    auto b = rg::randn({k, m});
    for (auto _ : state) benchmark::DoNotOptimize(rg::matmul(a, b).value().data());
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * k * m, benchmark::Counter::kIsIterationInvariantRate,
                                                   benchmark::Counter::OneK::kIs1000);
}

void BM_MatmulBlas(benchmark::State& state) {
    const auto n = static_cast<int>(state.range(0));
    const auto k = static_cast<int>(state.range(1));
    const auto m = static_cast<int>(state.range(2));
    auto a = rg::randn({std::size_t(n), std::size_t(k)});
    auto b = rg::randn({std::size_t(k), std::size_t(m)});
    std::vector<float> c(static_cast<std::size_t>(n) * m);
    for (auto _ : state) {
        dnnl_sgemm('N', 'N', n, m, k, 1.0f, a.value().data(), k, b.value().data(), m, 0.0f, c.data(), m);
        benchmark::DoNotOptimize(c.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * k * m, benchmark::Counter::kIsIterationInvariantRate,
                                                   benchmark::Counter::OneK::kIs1000);
}

BENCHMARK(BM_MatmulBlas)->Args({128, 784, 256})->Args({1024, 1024, 1024})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MatmulRetrograd)->Args({128, 784, 256})->Args({1024, 1024, 1024})->Unit(benchmark::kMicrosecond);

// Forward + backward of the matmul, against the three BLAS calls it needs.
void BM_MatmulBackward(benchmark::State& state) {
    auto a = rg::randn({128, 784}, {.requires_grad = true});
    auto b = rg::randn({784, 256}, {.requires_grad = true});
    auto g = rg::ones({128, 256});
    for (auto _ : state) {
        rg::matmul(a, b).backward(g);
        a.zero_grad();
        b.zero_grad();
    }
}
BENCHMARK(BM_MatmulBackward)->Unit(benchmark::kMicrosecond);

// The product library, compared on the shapes that made us choose it: the 128
// (64 x 32) x (32 x 64) products of one attention block's scores (batch 32,
// 4 heads), one of its projections and a large square product, each through oneDNN's
// sgemm (what retrograd calls) and OpenBLAS's (what Debian's LibTorch calls).
template <bool onednn> void BM_Sgemm(benchmark::State& state) {
    const auto batch = static_cast<int>(state.range(0)), m = static_cast<int>(state.range(1)),
               n = static_cast<int>(state.range(2)), k = static_cast<int>(state.range(3));
    std::vector<float> a(static_cast<std::size_t>(batch) * m * k, 0.5f),
        b(static_cast<std::size_t>(batch) * k * n, 0.25f), c(static_cast<std::size_t>(batch) * m * n);
    for (auto _ : state) {
        for (int i = 0; i < batch; ++i) {
            const float* ai = a.data() + static_cast<std::size_t>(i) * m * k;
            const float* bi = b.data() + static_cast<std::size_t>(i) * k * n;
            float* ci = c.data() + static_cast<std::size_t>(i) * m * n;
            if constexpr (onednn)
                dnnl_sgemm('N', 'T', m, n, k, 1.0f, ai, k, bi, k, 0.0f, ci, n);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, ai, k, bi, k, 0.0f, ci, n);
        }
        benchmark::DoNotOptimize(c.data());
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * batch * m * n * k, benchmark::Counter::kIsIterationInvariantRate,
                           benchmark::Counter::OneK::kIs1000);
}
// (batch, m, n, k) of each compared product.
void sgemm_shapes(benchmark::internal::Benchmark* b) {
    b->Args({128, 64, 64, 32})->Args({1, 2048, 128, 128})->Args({1, 1024, 1024, 1024})->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_Sgemm<true>)->Name("sgemm/oneDNN")->Apply(sgemm_shapes);
BENCHMARK(BM_Sgemm<false>)->Name("sgemm/OpenBLAS")->Apply(sgemm_shapes);

}  // namespace

BENCHMARK_MAIN();
